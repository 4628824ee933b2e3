"""The built-in demo study: a mobile-telecom CX tracker with known ground truth.

:func:`make_demo` writes the whole study (frame, penetration, tracking waves, margins, O-data,
SERVQUAL data when the 5-GAP generator is installed, ``truth.json``, a copy of the codebook and a
``VERSION`` marker).  :func:`demo_dir` returns the cached copy under ``<project>/data/demo``
(``WORKBENCH_DATA_DIR`` overrides ``data/``), regenerating it when it is missing or stale.

How each piece is generated, and what ``truth.json`` holds, is documented in
``docs/methods/demo_study.md``.  The generator is written here (not taken from a library)
because the planted effects (SEM paths, segment-mix drift, O-data links) are specific to the
demo and must be exactly known.

Determinism: one ``numpy.random.SeedSequence`` spawns an independent stream per piece (frame,
sample, answers, O-data, SERVQUAL), nothing depends on dict or hash order, and files are written
with fixed number formats; the same seed gives byte-identical files with the same library
versions.

Examples
--------
>>> from workbench.synth import demo_dir, load_truth
>>> folder = demo_dir()
>>> (folder / "tracking.csv").exists()
True
>>> load_truth()["sem"]["paths"]["SAT~PRD"]
0.35
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from workbench import PACKAGE_DIR, PROJECT_ROOT
from workbench.codebook import bundled_codebook_path
from workbench.errors import DataError

__all__ = [
    "GENERATOR_VERSION",
    "DEFAULT_SEED",
    "make_demo",
    "demo_dir",
    "load_truth",
    "data_root",
]

#: Bump when the generated study changes on purpose (the cached demo is then regenerated).
GENERATOR_VERSION = "2"
#: Seed of the shipped demo study.
DEFAULT_SEED = 20261123

BRANDS = ("aurora", "beacon", "cirrus", "delta")
FRAME_BRANDS = (*BRANDS, "other")
REGIONS = ("north", "south", "east", "west", "central")
SEGMENTS = ("consumer_prepaid", "consumer_postpaid", "business")
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
N_WAVES = 6
PERIODS = tuple(f"2026-{m:02d}" for m in range(1, N_WAVES + 1))
DRIVERS = ("PRD", "SRV", "VAL", "DIG")

# ---- population frame ------------------------------------------------------------------------
FRAME_SIZE = 200_000
REGION_SHARE = (0.22, 0.24, 0.20, 0.14, 0.20)
#: brand shares (aurora, beacon, cirrus, delta, other) by region
BRAND_BY_REGION = {
    "north": (0.34, 0.26, 0.18, 0.14, 0.08),
    "south": (0.28, 0.30, 0.20, 0.14, 0.08),
    "east": (0.30, 0.24, 0.22, 0.16, 0.08),
    "west": (0.38, 0.20, 0.16, 0.18, 0.08),
    "central": (0.32, 0.28, 0.18, 0.12, 0.10),
}
#: segment shares (prepaid, postpaid, business) by brand
SEGMENT_BY_BRAND = {
    "aurora": (0.46, 0.32, 0.22),
    "beacon": (0.40, 0.38, 0.22),
    "cirrus": (0.48, 0.34, 0.18),
    "delta": (0.55, 0.30, 0.15),
    "other": (0.60, 0.30, 0.10),
}
#: age-band shares by segment
AGE_BY_SEGMENT = {
    "consumer_prepaid": (0.34, 0.30, 0.22, 0.14),
    "consumer_postpaid": (0.20, 0.34, 0.28, 0.18),
    "business": (0.12, 0.42, 0.36, 0.10),
}
FEMALE_BY_SEGMENT = {"consumer_prepaid": 0.51, "consumer_postpaid": 0.51, "business": 0.38}

# ---- tracking design -------------------------------------------------------------------------
#: completes per region per wave (equal allocation over regions; aurora boosted)
PER_REGION = {"aurora": 200, "beacon": 100, "cirrus": 100, "delta": 100}
#: completes short of target per cell are drawn from 0..MAX_SHORTFALL (fieldwork reality)
MAX_SHORTFALL = 5
#: aurora's sample share of business respondents by wave (a drifting sample source)
AURORA_BUSINESS_SHARE = (0.20, 0.23, 0.26, 0.29, 0.32, 0.35)

# ---- latent model (standardised within brand x segment x wave groups) ----------------------------
DRIVER_CORR = np.array([
    [1.00, 0.50, 0.45, 0.40],
    [0.50, 1.00, 0.45, 0.50],
    [0.45, 0.45, 1.00, 0.35],
    [0.40, 0.50, 0.35, 1.00],
])
SAT_PATHS = {"PRD": 0.35, "SRV": 0.30, "VAL": 0.20, "DIG": 0.10}
LOY_PATHS = {"SAT": 0.60, "VAL": 0.20}
LOADINGS = {
    "prd1": 0.85, "prd2": 0.80, "prd3": 0.75,
    "srv1": 0.82, "srv2": 0.78, "srv3": 0.72,
    "val1": 0.88, "val2": 0.80, "val3": 0.74,
    "dig1": 0.84, "dig2": 0.80, "dig3": 0.70,
    "sat1": 0.90, "sat2": 0.85, "sat3": 0.80,
}
ITEM_CONSTRUCT = {item: item[:3].upper() for item in LOADINGS}
#: item-specific shift of the latent response before cutting (items differ in difficulty)
ITEM_SHIFT = {
    "prd1": 0.10, "prd2": -0.05, "prd3": 0.15,
    "srv1": -0.10, "srv2": -0.20, "srv3": 0.10,
    "val1": -0.15, "val2": -0.05, "val3": 0.05,
    "dig1": 0.10, "dig2": -0.10, "dig3": 0.00,
    "sat1": 0.05, "sat2": 0.00, "sat3": -0.10,
}
#: cumulative probabilities of a 1..7 answer at latent mean 0 (cut points = normal quantiles)
LIKERT7_CUM = (0.03, 0.08, 0.17, 0.33, 0.58, 0.83)
#: csat (1..5): csat* = CSAT_LOADING * SAT + error
CSAT_LOADING = 0.85
CSAT_CUM = (0.05, 0.12, 0.35, 0.75)
#: ces (1..7, higher = easier): ces* = weights . (DIG, SRV) + error, unit variance within group
CES_WEIGHTS = {"DIG": 0.45, "SRV": 0.30}
#: nps (0..10) is the likelihood-to-recommend latent LOY cut at these cumulative probabilities
NPS_CUM = (0.02, 0.03, 0.05, 0.08, 0.12, 0.19, 0.27, 0.44, 0.65, 0.80)
#: true NPS (points) by brand and segment, waves 1-6 (before the planted change)
TARGET_NPS = {
    "aurora": {"consumer_prepaid": -12.0, "consumer_postpaid": 2.0, "business": 24.0},
    "beacon": {"consumer_prepaid": 2.0, "consumer_postpaid": 16.0, "business": 36.0},
    "cirrus": {"consumer_prepaid": -11.0, "consumer_postpaid": 3.0, "business": 24.0},
    "delta": {"consumer_prepaid": -24.0, "consumer_postpaid": -10.0, "business": 12.0},
}
#: direction of each brand's driver-mean profile (PRD, SRV, VAL, DIG): where it is strong
BRAND_PROFILE = {
    "aurora": (1.0, 1.0, 1.0, 1.0),
    "beacon": (1.6, 1.0, 0.6, 1.0),
    "cirrus": (0.8, 1.0, 1.3, 0.9),
    "delta": (1.0, 0.8, 1.4, 0.6),
}
#: the one planted change: aurora consumer_postpaid gains this many NPS points in wave 6,
#: delivered through its service (SRV) driver
PLANTED_CHANGE = {"brand": "aurora", "segment": "consumer_postpaid", "wave": 6,
                  "nps_points": 5.0, "driver": "SRV"}
#: driver items get the missing codes 99 (don't know) and 98 (refused) completely at random
MISSING_RATE = {99: 0.03, 98: 0.01}
DRIVER_ITEMS = tuple(i for i in LOADINGS if ITEM_CONSTRUCT[i] in DRIVERS)

# ---- O-data --------------------------------------------------------------------------------------
RETENTION = {"detractor": 0.70, "passive": 0.82, "promoter": 0.90}
TICKET_RATE = {"detractor": 2.0, "passive": 1.0, "promoter": 0.6}
TICKET_SEGMENT_FACTOR = {"consumer_prepaid": 1.0, "consumer_postpaid": 1.0, "business": 1.3}
MONTHLY_SPEND_MEDIAN = {"consumer_prepaid": 15.0, "consumer_postpaid": 42.0, "business": 110.0}
MONTHLY_SPEND_SDLOG = 0.35
SPEND_MULTIPLIER = {"detractor": 0.94, "passive": 1.00, "promoter": 1.06}
NON_RESPONDENTS = 2_000

_STREAMS = ("frame", "sample", "answers", "missing", "verbatim", "odata", "gaps", "spare")


# ---- small helpers ---------------------------------------------------------------------------------
def _cuts(cum) -> np.ndarray:
    from scipy import stats  # only the generator needs scipy

    return stats.norm.ppf(np.asarray(cum, dtype=float))


def _cut(latent: np.ndarray, cuts: np.ndarray, low: int) -> np.ndarray:
    return low + np.searchsorted(cuts, latent, side="right")


def _draw_categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1) by inverse CDF; vectorised."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] >= cum).sum(axis=1)


def _nps_of_mean(mean: float | np.ndarray) -> np.ndarray:
    """True NPS (points) of a unit-variance normal LOY with this mean, cut at NPS_CUM."""
    from scipy import stats  # only the generator needs scipy

    c = _cuts(NPS_CUM)
    promoters = 1.0 - stats.norm.cdf(c[8] - np.asarray(mean, dtype=float))
    detractors = stats.norm.cdf(c[6] - np.asarray(mean, dtype=float))
    return 100.0 * (promoters - detractors)


def _loy_mean_for(nps_points: float) -> float:
    from scipy import optimize  # only the generator needs scipy

    return float(optimize.brentq(lambda m: _nps_of_mean(m) - nps_points, -5, 5, xtol=1e-14))


def _loy_weights() -> np.ndarray:
    """a in E[LOY] = a . E[drivers]."""
    gamma = np.array([SAT_PATHS[d] for d in DRIVERS])
    a = LOY_PATHS["SAT"] * gamma
    a[DRIVERS.index("VAL")] += LOY_PATHS["VAL"]
    return a


def _driver_means() -> dict[tuple[str, str, int], np.ndarray]:
    """Mean of the four drivers for every brand x segment x wave group."""
    a = _loy_weights()
    out = {}
    for brand in BRANDS:
        d = np.array(BRAND_PROFILE[brand], dtype=float)
        for seg in SEGMENTS:
            m = _loy_mean_for(TARGET_NPS[brand][seg])
            base = m * d / float(a @ d)
            for wave in range(1, N_WAVES + 1):
                mu = base.copy()
                pc = PLANTED_CHANGE
                if (brand, seg) == (pc["brand"], pc["segment"]) and wave >= pc["wave"]:
                    m2 = _loy_mean_for(TARGET_NPS[brand][seg] + pc["nps_points"])
                    k = DRIVERS.index(pc["driver"])
                    mu[k] += (m2 - m) / a[k]
                out[(brand, seg, wave)] = mu
    return out


def _true_nps(brand: str, seg: str, wave: int, means=None) -> float:
    means = _driver_means() if means is None else means
    return float(_nps_of_mean(_loy_weights() @ means[(brand, seg, wave)]))


def _psi() -> tuple[float, float]:
    """Residual variances of SAT and LOY that make both unit-variance within a group."""
    gamma = np.array([SAT_PATHS[d] for d in DRIVERS])
    psi_sat = 1.0 - gamma @ DRIVER_CORR @ gamma
    v = DRIVERS.index("VAL")
    cov_sat_val = gamma @ DRIVER_CORR[:, v]
    bs, bv = LOY_PATHS["SAT"], LOY_PATHS["VAL"]
    psi_loy = 1.0 - (bs**2 + bv**2 + 2 * bs * bv * cov_sat_val)
    return float(psi_sat), float(psi_loy)


def _ces_error_sd() -> float:
    w = np.array([CES_WEIGHTS.get(d, 0.0) for d in DRIVERS])
    return float(np.sqrt(1.0 - w @ DRIVER_CORR @ w))


def _nps_group(score: np.ndarray) -> np.ndarray:
    return np.where(score >= 9, "promoter", np.where(score <= 6, "detractor", "passive"))


# ---- frame -------------------------------------------------------------------------------------------
def _make_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    brand = _draw_categorical(rng, np.array([BRAND_BY_REGION[r] for r in REGIONS])[region])
    segment = _draw_categorical(rng, np.array([SEGMENT_BY_BRAND[b] for b in FRAME_BRANDS])[brand])
    age = _draw_categorical(rng, np.array([AGE_BY_SEGMENT[s] for s in SEGMENTS])[segment])
    female = rng.random(n) < np.array([FEMALE_BY_SEGMENT[s] for s in SEGMENTS])[segment]
    numbers = rng.choice(9_000_000, size=n, replace=False) + 1_000_000
    digits = np.char.zfill(numbers.astype(str), 7)
    phone = np.char.add(np.char.add("555-", _slice(digits, 0, 3)), np.char.add("-", _slice(digits, 3, 7)))
    return pd.DataFrame({
        "unit_id": np.char.add("U", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object),
        "region": np.array(REGIONS, dtype=object)[region],
        "brand": np.array(FRAME_BRANDS, dtype=object)[brand],
        "segment": np.array(SEGMENTS, dtype=object)[segment],
        "age_band": np.array(AGE_BANDS, dtype=object)[age],
        "gender": np.where(female, "f", "m").astype(object),
        "phone": phone.astype(object),
    })


def _slice(a: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Vectorised ``s[start:stop]`` over an array of equal-length strings."""
    width = a.dtype.itemsize // 4
    chars = a.view("U1").reshape(len(a), width)[:, start:stop]
    return np.ascontiguousarray(chars).view(f"U{stop - start}").ravel()


def _penetration(frame: pd.DataFrame) -> pd.DataFrame:
    counts = frame.groupby(["region", "brand"]).size()
    users = frame.groupby("region").size()
    rows = []
    for region in REGIONS:
        n = int(users.get(region, 0))
        for brand in FRAME_BRANDS:
            rows.append({
                "region": region,
                "category_users": n,
                "brand": brand,
                "penetration": float(counts.get((region, brand), 0)) / n if n else 0.0,
            })
    return pd.DataFrame(rows)


def _margins(frame: pd.DataFrame, brand: str) -> dict[str, dict[str, float]]:
    users = frame[frame["brand"] == brand]
    out = {}
    for col, levels in (("region", REGIONS), ("segment", SEGMENTS), ("age_band", AGE_BANDS),
                        ("gender", ("f", "m"))):
        counts = users[col].value_counts()
        out[col] = {lv: float(counts.get(lv, 0)) / len(users) for lv in levels}
    return out


# ---- tracking sample -------------------------------------------------------------------------------
def _largest_remainder(n: int, shares) -> np.ndarray:
    raw = n * np.asarray(shares, dtype=float)
    base = np.floor(raw).astype(int)
    short = n - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:short]] += 1
    return base


def _draw_sample(rng: np.random.Generator, frame: pd.DataFrame, size: float):
    """Pick respondents from the frame: without replacement over all waves; returns rows + pools."""
    f_region = pd.Categorical(frame["region"], categories=REGIONS).codes
    f_brand = pd.Categorical(frame["brand"], categories=FRAME_BRANDS).codes
    f_seg = pd.Categorical(frame["segment"], categories=SEGMENTS).codes
    pools: dict[tuple, np.ndarray] = {}
    for b, brand in enumerate(BRANDS):
        for r, region in enumerate(REGIONS):
            keys = [(brand, region, s) for s in SEGMENTS] if brand == "aurora" else [(brand, region)]
            for key in keys:
                mask = (f_brand == b) & (f_region == r)
                if len(key) == 3:
                    mask &= f_seg == SEGMENTS.index(key[2])
                idx = np.flatnonzero(mask)
                pools[key] = rng.permutation(idx)
    used = {k: 0 for k in pools}
    rows, wave_of = [], []  # frame indices and their wave, cell by cell
    for wave in range(1, N_WAVES + 1):
        for brand in BRANDS:
            for region in REGIONS:
                target = max(1, round(PER_REGION[brand] * size))
                n = target - int(rng.integers(0, MAX_SHORTFALL + 1)) if target > 20 else target
                if brand == "aurora":
                    b = AURORA_BUSINESS_SHARE[wave - 1]
                    pre, post, _ = SEGMENT_BY_BRAND["aurora"]
                    shares = ((1 - b) * pre / (pre + post), (1 - b) * post / (pre + post), b)
                    counts = _largest_remainder(n, shares)
                    keys = [((brand, region, s), c) for s, c in zip(SEGMENTS, counts)]
                else:
                    keys = [((brand, region), n)]
                for key, c in keys:
                    start = used[key]
                    if start + c > len(pools[key]):
                        raise DataError(
                            f"demo generator: frame cell {key} has {len(pools[key])} units, "
                            f"{start + c} needed; use a larger size"
                        )
                    rows.append(pools[key][start:start + c])
                    wave_of.append(np.full(c, wave))
                    used[key] = start + c
    chosen = np.concatenate(rows).astype(np.int64)
    waves = np.concatenate(wave_of).astype(np.int64)
    leftover = {k: v[used[k]:] for k, v in pools.items() if k[0] == "aurora"}
    return chosen, waves, leftover


def _latent(rng: np.random.Generator, brand, segment, wave, means):
    """Driver, SAT and LOY latent scores for respondents of the given groups."""
    n = len(brand)
    mu = np.array([means[(b, s, int(w))] for b, s, w in zip(brand, segment, wave)]).reshape(n, 4)
    chol = np.linalg.cholesky(DRIVER_CORR)
    eta = mu + rng.standard_normal((n, 4)) @ chol.T
    psi_sat, psi_loy = _psi()
    gamma = np.array([SAT_PATHS[d] for d in DRIVERS])
    sat = eta @ gamma + np.sqrt(psi_sat) * rng.standard_normal(n)
    loy = (LOY_PATHS["SAT"] * sat + LOY_PATHS["VAL"] * eta[:, DRIVERS.index("VAL")]
           + np.sqrt(psi_loy) * rng.standard_normal(n))
    return eta, sat, loy


def _verbatims(rng: np.random.Generator, eta, means_rows, nps_score, waves) -> tuple[list, dict]:
    """Comments from planted themes (``workbench._synth_verbatims``) and their per-row truth."""
    from workbench import _synth_verbatims as sv_

    n = len(nps_score)
    rel = eta - means_rows
    empty = rng.random(n) < sv_.P_EMPTY
    coin = rng.random(n)
    rng.integers(0, 1_000_000, size=n)  # drawn as before, so later draws of this stream keep their values
    return sv_.make_verbatims(rng.spawn(1)[0], empty=empty, group=_nps_group(nps_score),
                              best=rel.argmax(axis=1), worst=rel.argmin(axis=1), wave=waves,
                              neutral_coin=coin, drivers=DRIVERS)


def _make_tracking(rng_sample, rng_answers, rng_missing, rng_verbatim, frame, size, means):
    chosen, waves, leftover = _draw_sample(rng_sample, frame, size)
    sub = frame.iloc[chosen].reset_index(drop=True)
    # fieldwork order within wave: shuffle, then number respondents
    order = np.lexsort((rng_sample.random(len(sub)), waves))
    sub = sub.iloc[order].reset_index(drop=True)
    waves = waves[order]
    seq = np.zeros(len(sub), dtype=int)
    for w in range(1, N_WAVES + 1):
        m = waves == w
        seq[m] = np.arange(1, m.sum() + 1)
    resp_id = [f"R{w:02d}{s:05d}" for w, s in zip(waves, seq)]

    brand = sub["brand"].to_numpy()
    region = sub["region"].to_numpy()
    segment = sub["segment"].to_numpy()

    # design weight: population (frame) count of brand x region over sample count, per wave,
    # scaled so weights average 1 within each wave
    pop = frame[frame["brand"].isin(BRANDS)].groupby(["brand", "region"]).size()
    cells = pd.DataFrame({"wave": waves, "brand": brand, "region": region})
    n_cell = cells.groupby(["wave", "brand", "region"])["wave"].transform("size").to_numpy(float)
    big_n = pd.MultiIndex.from_arrays([brand, region]).map(pop.to_dict()).to_numpy(float)
    wt = big_n / n_cell
    weight = np.empty(len(sub))
    for w in range(1, N_WAVES + 1):
        m = waves == w
        weight[m] = wt[m] * m.sum() / wt[m].sum()

    eta, sat, loy = _latent(rng_answers, brand, segment, waves, means)
    n = len(sub)
    answers: dict[str, np.ndarray] = {}
    cuts7 = _cuts(LIKERT7_CUM)
    lat = {**{d: eta[:, k] for k, d in enumerate(DRIVERS)}, "SAT": sat}
    noise = rng_answers.standard_normal((n, len(LOADINGS)))
    for j, item in enumerate(LOADINGS):
        lam = LOADINGS[item]
        star = lam * lat[ITEM_CONSTRUCT[item]] + np.sqrt(1 - lam**2) * noise[:, j] + ITEM_SHIFT[item]
        answers[item] = _cut(star, cuts7, 1)
    nps = _cut(loy, _cuts(NPS_CUM), 0)
    csat_star = CSAT_LOADING * sat + np.sqrt(1 - CSAT_LOADING**2) * rng_answers.standard_normal(n)
    csat = _cut(csat_star, _cuts(CSAT_CUM), 1)
    ces_star = (sum(wt * lat[d] for d, wt in CES_WEIGHTS.items())
                + _ces_error_sd() * rng_answers.standard_normal(n))
    ces = _cut(ces_star, cuts7, 1)

    u = rng_missing.random((n, len(DRIVER_ITEMS)))
    for j, item in enumerate(DRIVER_ITEMS):
        col = answers[item].copy()
        col[u[:, j] < MISSING_RATE[99]] = 99
        col[(u[:, j] >= MISSING_RATE[99]) & (u[:, j] < MISSING_RATE[99] + MISSING_RATE[98])] = 98
        answers[item] = col

    mu_rows = np.array([means[(b, s, int(w))] for b, s, w in zip(brand, segment, waves)])
    verbatim, verbatim_truth = _verbatims(rng_verbatim, eta, mu_rows, nps, waves)
    no_email = rng_verbatim.random(n) < 0.08
    customer_id = np.where(brand == "aurora",
                           np.array(["C" + u_[1:] for u_ in sub["unit_id"]], dtype=object), None)
    tracking = pd.DataFrame({
        "resp_id": resp_id,
        "wave": waves.astype(int),
        "period": np.array(PERIODS)[waves - 1],
        "brand": brand,
        "region": region,
        "segment": segment,
        "age_band": sub["age_band"].to_numpy(),
        "gender": sub["gender"].to_numpy(),
        "design_weight": weight,
        "customer_id": customer_id,
        "nps": nps.astype(int),
        "csat": csat.astype(int),
        "ces": ces.astype(int),
        **{item: answers[item].astype(int) for item in LOADINGS},
        "verbatim": verbatim,
        "email": [None if ne else f"{r.lower()}@example.com" for r, ne in zip(resp_id, no_email)],
    })
    hidden = {"loy": loy, "sat": sat, "unit_index": chosen[order], "verbatim": verbatim_truth}
    return tracking, hidden, leftover


# ---- O-data ----------------------------------------------------------------------------------------
def _make_odata(rng, frame, tracking, hidden, leftover, size, means):
    aur = (tracking["brand"] == "aurora").to_numpy()
    resp = pd.DataFrame({
        "customer_id": tracking.loc[aur, "customer_id"].to_numpy(),
        "segment": tracking.loc[aur, "segment"].to_numpy(),
        "ref_wave": tracking.loc[aur, "wave"].to_numpy(),
        "nps": tracking.loc[aur, "nps"].to_numpy(),
    })
    # non-respondents: aurora customers never sampled, observed from wave 1 on
    n_non = max(1, round(NON_RESPONDENTS * size))
    rest = np.concatenate([np.asarray(leftover[k], dtype=int) for k in sorted(leftover)])
    pick = np.sort(rng.choice(rest, size=min(n_non, len(rest)), replace=False))
    seg = frame["segment"].to_numpy()[pick]
    ones = np.ones(len(pick), dtype=int)
    _, _, loy = _latent(rng, np.array(["aurora"] * len(pick)), seg, ones, means)
    non = pd.DataFrame({
        "customer_id": ["C" + u[1:] for u in frame["unit_id"].to_numpy()[pick]],
        "segment": seg,
        "ref_wave": ones,
        "nps": _cut(loy, _cuts(NPS_CUM), 0),
    })
    od = pd.concat([resp, non], ignore_index=True)
    od = od.sort_values("customer_id", kind="stable").reset_index(drop=True)
    n = len(od)
    group = _nps_group(od["nps"].to_numpy())
    p_keep = np.array([RETENTION[g] for g in group])
    retained = rng.random(n) < p_keep
    churn_month = np.where(retained, 0, rng.integers(1, 7, size=n))
    months = np.where(retained, 6, churn_month)
    ref = od["ref_wave"].to_numpy()
    before = ref + churn_month
    churned_before = np.where(~retained & (before <= N_WAVES), before, 0)
    med = np.array([MONTHLY_SPEND_MEDIAN[s] for s in od["segment"]])
    mult = np.array([SPEND_MULTIPLIER[g] for g in group])
    monthly = med * mult * np.exp(MONTHLY_SPEND_SDLOG * rng.standard_normal(n))
    rate = (np.array([TICKET_RATE[g] for g in group])
            * np.array([TICKET_SEGMENT_FACTOR[s] for s in od["segment"]]) * months / 6.0)
    tickets = rng.poisson(rate)
    return pd.DataFrame({
        "customer_id": od["customer_id"].to_numpy(),
        "segment": od["segment"].to_numpy(),
        "ref_period": np.array(PERIODS)[ref - 1],
        "retained_6m": retained.astype(int),
        "churn_month": pd.array(
            [pd.NA if r else int(c) for r, c in zip(retained, churn_month)], dtype="Int64"),
        "churned_before_wave": pd.array(
            [int(c) if c > 0 else pd.NA for c in churned_before], dtype="Int64"),
        "spend_6m": monthly * months,
        "tickets_6m": tickets.astype(int),
    })


# ---- truth ---------------------------------------------------------------------------------------------
def _pooled_std(groups_mu: np.ndarray) -> dict[str, Any]:
    """Model-implied standardised estimates for a sample pooled over groups with these means."""
    sigma = DRIVER_CORR + np.cov(groups_mu.T, bias=True)
    gamma = np.array([SAT_PATHS[d] for d in DRIVERS])
    psi_sat, psi_loy = _psi()
    var_sat = gamma @ sigma @ gamma + psi_sat
    v = DRIVERS.index("VAL")
    cov_sat_val = gamma @ sigma[:, v]
    bs, bv = LOY_PATHS["SAT"], LOY_PATHS["VAL"]
    var_loy = bs**2 * var_sat + bv**2 * sigma[v, v] + 2 * bs * bv * cov_sat_val + psi_loy
    sd = np.sqrt(np.diag(sigma))
    paths = {f"SAT~{d}": float(gamma[k] * sd[k] / np.sqrt(var_sat)) for k, d in enumerate(DRIVERS)}
    paths["LOY~SAT"] = float(bs * np.sqrt(var_sat / var_loy))
    paths["LOY~VAL"] = float(bv * sd[v] / np.sqrt(var_loy))
    lat_sd = {**{d: sd[k] for k, d in enumerate(DRIVERS)}, "SAT": np.sqrt(var_sat)}
    loadings = {}
    for item, lam in LOADINGS.items():
        s = lat_sd[ITEM_CONSTRUCT[item]]
        loadings[item] = float(lam * s / np.sqrt(lam**2 * s**2 + 1 - lam**2))
    corr = sigma / np.outer(sd, sd)
    return {
        "paths": paths,
        "loadings": loadings,
        "driver_corr": {f"{a}~~{b}": float(corr[i, j]) for i, a in enumerate(DRIVERS)
                        for j, b in enumerate(DRIVERS) if i < j},
        "r2": {"SAT": float(1 - psi_sat / var_sat), "LOY": float(1 - psi_loy / var_loy)},
    }


def _truth(seed, size, frame, tracking, odata, means) -> dict[str, Any]:
    from scipy import stats  # only the generator needs scipy

    a = _loy_weights()
    gamma = np.array([SAT_PATHS[d] for d in DRIVERS])
    psi_sat, psi_loy = _psi()
    waves = list(range(1, N_WAVES + 1))
    seg_nps = {b: {s: [_true_nps(b, s, w, means) for w in waves] for s in SEGMENTS}
               for b in BRANDS}
    c_csat = _cuts(CSAT_CUM)
    csat_top2 = {
        b: {s: [float(1 - stats.norm.cdf(c_csat[2] - CSAT_LOADING * gamma @ means[(b, s, w)]))
                for w in waves] for s in SEGMENTS}
        for b in BRANDS
    }
    share = {}
    for b in BRANDS:
        t = tracking[tracking["brand"] == b]
        share[b] = {s: [float(np.mean(t.loc[t["wave"] == w, "segment"] == s)) for w in waves]
                    for s in SEGMENTS}
    expected = {b: [sum(share[b][s][w - 1] * seg_nps[b][s][w - 1] for s in SEGMENTS)
                    for w in waves] for b in BRANDS}
    pop_share = _margins(frame, "aurora")["segment"]
    aurora_pop = [sum(pop_share[s] * seg_nps["aurora"][s][w - 1] for s in SEGMENTS) for w in waves]

    s1 = np.array([share["aurora"][s][0] for s in SEGMENTS])
    s6 = np.array([share["aurora"][s][-1] for s in SEGMENTS])
    n1 = np.array([seg_nps["aurora"][s][0] for s in SEGMENTS])
    n6 = np.array([seg_nps["aurora"][s][-1] for s in SEGMENTS])
    mix_rate = {
        "brand": "aurora", "wave_from": 1, "wave_to": N_WAVES,
        "segment_share_from": dict(zip(SEGMENTS, s1.tolist())),
        "segment_share_to": dict(zip(SEGMENTS, s6.tolist())),
        "total": float(s6 @ n6 - s1 @ n1),
        "mix_midpoint": float((s6 - s1) @ (n1 + n6) / 2),
        "rate_midpoint": float((n6 - n1) @ (s1 + s6) / 2),
        "mix_base_rates": float((s6 - s1) @ n1),
        "rate_end_shares": float(s6 @ (n6 - n1)),
        "note": "shares are the realised unweighted sample shares; NPS are the true segment NPS",
    }

    aurora = tracking["brand"].to_numpy() == "aurora"
    mu_rows = np.array([means[(b, s, int(w))] for b, s, w in zip(
        tracking["brand"], tracking["segment"], tracking["wave"])])

    od_group_truth = {}
    for g in ("detractor", "passive", "promoter"):
        od_group_truth[g] = {
            "retention": RETENTION[g],
            "churn_before_wave6_given_wave1": (1 - RETENTION[g]) * 5 / 6,
            "tickets_rate_consumer": TICKET_RATE[g],
        }

    a_list = dict(zip(DRIVERS, a.tolist()))
    planted = dict(PLANTED_CHANGE)
    k = DRIVERS.index(PLANTED_CHANGE["driver"])
    planted["driver_mean_shift"] = float(
        means[("aurora", "consumer_postpaid", 6)][k] - means[("aurora", "consumer_postpaid", 5)][k])

    comp = {}
    for b in BRANDS[1:]:
        comp[b] = {
            "segment_gap_vs_aurora": {s: TARGET_NPS[b][s] - TARGET_NPS["aurora"][s]
                                      for s in SEGMENTS},
            "expected_gap_vs_aurora_by_wave": [expected[b][w - 1] - expected["aurora"][w - 1]
                                               for w in waves],
        }

    n_by = tracking.groupby(["wave", "brand"]).size()
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "size": float(size),
        "study": {
            "brands": list(BRANDS), "our_brand": "aurora", "regions": list(REGIONS),
            "segments": list(SEGMENTS), "waves": waves, "periods": list(PERIODS),
            "n": {b: [int(n_by.get((w, b), 0)) for w in waves] for b in BRANDS},
            "frame_units": int(len(frame)),
        },
        "frame": {
            "region_share": dict(zip(REGIONS, REGION_SHARE)),
            "brand_by_region": {r: dict(zip(FRAME_BRANDS, v)) for r, v in BRAND_BY_REGION.items()},
            "segment_by_brand": {b: dict(zip(SEGMENTS, v)) for b, v in SEGMENT_BY_BRAND.items()},
            "aurora_margins": _margins(frame, "aurora"),
        },
        "design": {
            "per_region_target": dict(PER_REGION),
            "aurora_business_share_planned": list(AURORA_BUSINESS_SHARE),
            "design_weight": "frame count of brand x region / sample count, scaled to mean 1 per wave",
        },
        "sem": {
            "driver_corr": {f"{a_}~~{b_}": float(DRIVER_CORR[i, j])
                            for i, a_ in enumerate(DRIVERS) for j, b_ in enumerate(DRIVERS) if i < j},
            "paths": {**{f"SAT~{d}": SAT_PATHS[d] for d in DRIVERS},
                      **{f"LOY~{d}": v for d, v in LOY_PATHS.items()}},
            "loadings": dict(LOADINGS),
            "residual_variance": {"SAT": psi_sat, "LOY": psi_loy},
            "r2": {"SAT": 1 - psi_sat, "LOY": 1 - psi_loy},
            "indirect": {f"LOY~{d}": LOY_PATHS["SAT"] * SAT_PATHS[d] for d in DRIVERS},
            "total": {f"LOY~{d}": float(a_list[d]) for d in DRIVERS},
            "nps_indicator": "nps = LOY cut at nps_cut_points (no further error)",
            "pooled_std": {
                "aurora": _pooled_std(mu_rows[aurora]),
                "all": _pooled_std(mu_rows),
            },
            "item_shift": dict(ITEM_SHIFT),
            "likert7_cut_points": _cuts(LIKERT7_CUM).tolist(),
            "csat": {"loading_on_SAT": CSAT_LOADING, "cut_points": _cuts(CSAT_CUM).tolist()},
            "ces": {"weights": dict(CES_WEIGHTS), "error_sd": _ces_error_sd(),
                    "direction": "higher = easier (agreement that the company made it easy)"},
        },
        "nps": {
            "cut_points": _cuts(NPS_CUM).tolist(),
            "target_segment_nps": TARGET_NPS,
            "segment_nps": seg_nps,
            "segment_share": share,
            "expected_nps": expected,
            "aurora_population_segment_share": pop_share,
            "aurora_population_mix_nps": aurora_pop,
            "planted_change": planted,
            "mix_rate": mix_rate,
            "driver_means": {f"{b}|{s}|{w}": dict(zip(DRIVERS, means[(b, s, w)].tolist()))
                             for b in BRANDS for s in SEGMENTS for w in waves},
        },
        "csat_top2": csat_top2,
        "competitors": comp,
        "missing": {"driver_items": list(DRIVER_ITEMS),
                    "rates": {str(k): v for k, v in MISSING_RATE.items()},
                    "mechanism": "completely at random"},
        "odata": {
            "by_nps_group": od_group_truth,
            "ticket_segment_factor": dict(TICKET_SEGMENT_FACTOR),
            "monthly_spend_median": dict(MONTHLY_SPEND_MEDIAN),
            "monthly_spend_sdlog": MONTHLY_SPEND_SDLOG,
            "spend_multiplier": dict(SPEND_MULTIPLIER),
            "churn_month": "uniform on 1..6 for churned customers",
            "churned_before_wave": "ref wave + churn_month when <= 6, else empty; so "
                                   "P(churned_before_wave <= W | ref wave w) = "
                                   "(1 - retention) * min(W - w, 6) / 6",
            "respondents": int(aurora.sum()),
            "non_respondents": int(len(odata) - aurora.sum()),
        },
    }


# ---- writing -------------------------------------------------------------------------------------------
def _fmt_float(values, decimals: int) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{decimals}f}"
            for v in values]


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _fingerprint() -> str:
    h = hashlib.sha256()
    files = [Path(__file__), bundled_codebook_path("demo"), PACKAGE_DIR / "_synth_gaps.py",
             PACKAGE_DIR / "_synth_verbatims.py"]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes() if f.exists() else b"-")
    return h.hexdigest()[:16]


def _version_text(seed: int, size: float) -> str:
    return (f"workbench demo study\ngenerator {GENERATOR_VERSION}\nseed {int(seed)}\n"
            f"size {float(size)!r}\nfingerprint {_fingerprint()}\n")


def _gaps_module():
    try:
        from workbench import _synth_gaps  # owned by the 5-GAP generator
    except ImportError:
        return None
    return _synth_gaps if callable(getattr(_synth_gaps, "make_gaps", None)) else None


def _write_study(folder: Path, seed: int, size: float) -> None:
    os.chmod(folder, 0o755)  # mkdtemp makes the folder private; the study is shared data
    if not 0 < size <= 1:
        raise DataError(f"make_demo: size must be in (0, 1], got {size!r}")
    ss = np.random.SeedSequence(int(seed))
    rngs = dict(zip(_STREAMS, (np.random.default_rng(s) for s in ss.spawn(len(_STREAMS)))))
    means = _driver_means()

    frame = _make_frame(rngs["frame"], max(1000, round(FRAME_SIZE * size)))
    frame.to_parquet(folder / "frame.parquet", index=False)

    pen = _penetration(frame)
    pen["penetration"] = _fmt_float(pen["penetration"], 8)
    _write_csv(pen, folder / "penetration.csv")

    tracking, hidden, leftover = _make_tracking(
        rngs["sample"], rngs["answers"], rngs["missing"], rngs["verbatim"], frame, size, means)
    out = tracking.copy()
    out["design_weight"] = _fmt_float(out["design_weight"], 8)
    _write_csv(out, folder / "tracking.csv")

    margins = _margins(frame, "aurora")
    header = ("# Population margins of aurora users (shares from frame.parquet), for\n"
              "# workbench.weighting.rake: {column: {level: share}}.  Each variable sums to 1.\n")
    (folder / "margins.yaml").write_text(
        header + yaml.safe_dump(margins, sort_keys=False, allow_unicode=True), encoding="utf-8")

    odata = _make_odata(rngs["odata"], frame, tracking, hidden, leftover, size, means)
    od = odata.copy()
    od["spend_6m"] = _fmt_float(od["spend_6m"], 2)
    _write_csv(od, folder / "odata.csv")

    truth = _truth(seed, size, frame, tracking, odata, means)
    vt = pd.DataFrame({"resp_id": tracking["resp_id"], **hidden["verbatim"]})
    _write_csv(vt, folder / "verbatim_truth.csv")
    truth["verbatims"] = _verbatim_truth(tracking, vt)
    gaps = _gaps_module()
    if gaps is not None:
        frames, gap_truth = gaps.make_gaps(rngs["gaps"], tracking)
        for name in sorted(frames):
            _write_csv(frames[name], folder / f"{name}.csv")
        truth["gaps"] = gap_truth

    (folder / "truth.json").write_text(
        json.dumps(_jsonable(truth), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8")
    shutil.copyfile(bundled_codebook_path("demo"), folder / "codebook.yaml")
    # the marker goes last: a folder without it is never taken for a finished study
    (folder / "VERSION").write_text(_version_text(seed, size), encoding="utf-8")


def _verbatim_truth(tracking: pd.DataFrame, vt: pd.DataFrame) -> dict[str, Any]:
    """Planted set-up and realised theme shares (of themed + no-theme comments) by wave."""
    from workbench import _synth_verbatims as sv_

    subst = vt["kind"].isin(["themed", "no_theme"]).to_numpy()
    waves = tracking["wave"].to_numpy()
    shares = {}
    for theme in sv_.THEMES:
        has = vt["themes"].str.split(";").map(lambda ts, t=theme: t in ts).to_numpy()
        shares[theme] = [float(has[subst & (waves == w)].mean()) for w in range(1, N_WAVES + 1)]
    return {
        "themes": list(sv_.THEMES),
        "billing_share_of_value_comments": list(sv_.BILLING_SHARE),
        "p_empty": sv_.P_EMPTY, "p_chinese": sv_.P_CHINESE, "p_second_theme": sv_.P_SECOND_THEME,
        "realised_share_by_wave": shares,
        "kinds": {k: int(v) for k, v in vt["kind"].value_counts().sort_index().items()},
        "note": "shares are of comments that say something (themed or no theme), unweighted; "
                "per-comment truth in verbatim_truth.csv",
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _publish(tmp: Path, target: Path, keep_existing) -> Path:
    """Move the finished folder ``tmp`` onto ``target``.

    ``rename`` of a folder is atomic; it fails when ``target`` is a non-empty folder.  Then, if
    ``keep_existing(target)`` (e.g. another process just published a current copy) ours is
    discarded; otherwise the old folder is renamed aside and removed, and we retry.
    """
    for _ in range(10):
        try:
            os.rename(tmp, target)
            return target
        except FileNotFoundError:
            raise
        except OSError:
            if keep_existing(target):
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            trash = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
            try:
                os.rename(target, trash)
            except FileNotFoundError:
                continue
            shutil.rmtree(trash, ignore_errors=True)
    raise DataError(f"{target}: could not publish the generated demo study (folder busy)")


def make_demo(out_dir: str | Path, seed: int = DEFAULT_SEED, *, size: float = 1.0) -> Path:
    """Generate the demo study into ``out_dir``.

    The study is built in a temporary folder next to ``out_dir`` and moved into place in one
    rename, so a half-written study is never visible.  An existing ``out_dir`` is replaced if it
    is empty or holds a previous demo study (a ``VERSION`` marker); anything else is refused.

    Parameters
    ----------
    out_dir : str or Path
    seed : int, default 20261123
        Same seed (and size) -> byte-identical files.
    size : float, default 1.0
        Fraction of the full study (frame units, completes per cell), in (0, 1]; small values
        make quick test studies.

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = make_demo(pathlib.Path(tempfile.mkdtemp()) / "demo", size=0.1)
    >>> (out / "tracking.csv").exists()
    True
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "VERSION").exists())):
        raise DataError(
            f"{out}: exists and is not a demo study folder (no VERSION marker); refusing to "
            "overwrite it"
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    try:
        _write_study(tmp, seed, size)
        _publish(tmp, out, keep_existing=lambda t: False)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def data_root() -> Path:
    """The base data folder: ``$WORKBENCH_DATA_DIR`` or ``<project>/data``."""
    env = os.environ.get("WORKBENCH_DATA_DIR")
    return Path(env) if env else PROJECT_ROOT / "data"


def _is_current(folder: Path, marker: str) -> bool:
    try:
        return (folder / "VERSION").read_text(encoding="utf-8") == marker
    except OSError:
        return False


@contextlib.contextmanager
def _lock(base: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: rely on the rename protocol alone
        yield
        return
    with open(base / ".demo.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def demo_dir() -> Path:
    """The cached demo study folder, generated on first use or when the generator changed.

    ``<project>/data/demo`` (``$WORKBENCH_DATA_DIR/demo`` when set).  Safe to call from several
    processes at once: one generates (under a file lock where the OS has one) into a private
    temporary folder and publishes it with a single rename; the others find it current.

    Returns
    -------
    Path

    Examples
    --------
    >>> (demo_dir() / "codebook.yaml").exists()
    True
    """
    base = data_root()
    target = base / "demo"
    marker = _version_text(DEFAULT_SEED, 1.0)
    if _is_current(target, marker):
        return target
    base.mkdir(parents=True, exist_ok=True)
    with _lock(base):
        if _is_current(target, marker):
            return target
        tmp = Path(tempfile.mkdtemp(prefix=".demo.build-", dir=base))
        try:
            _write_study(tmp, DEFAULT_SEED, 1.0)
            _publish(tmp, target, keep_existing=lambda t: _is_current(t, marker))
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_truth(path: str | Path | None = None) -> dict:
    """The ground truth of a generated study (``truth.json``).

    Parameters
    ----------
    path : str or Path, optional
        ``truth.json`` or the study folder; default the cached demo (:func:`demo_dir`).

    Examples
    --------
    >>> load_truth()["nps"]["planted_change"]["nps_points"]
    5.0
    """
    p = demo_dir() if path is None else Path(path)
    if p.is_dir():
        p = p / "truth.json"
    if not p.exists():
        raise DataError(f"{p}: truth file not found")
    return json.loads(p.read_text(encoding="utf-8"))
