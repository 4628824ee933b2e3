"""Synthetic SERVQUAL customer survey and management/staff survey with planted 5-GAP results.

:func:`make_gaps` is called by :mod:`workbench.synth` with its own random stream and the tracking
sample; it returns ``({"servqual": DataFrame, "mgmt_survey": DataFrame}, truth)``.

Generating model (latent normal scores, then rounded and clipped to the 1-7 scale):

* customer items: ``E = mu_E + s + g_E + u_E[dim] + e``, ``P = mu_P + s + g_P + u_P[dim] + e``,
  desired ``DES`` shares ``g_E`` and ``u_E`` with ``E``, adequate ``ADQ`` has its own factors;
  ``s`` is a response-style factor common to all four. Business customers expect more
  responsiveness (``+0.45`` on ``E``).
* importance: 100 points from a Dirichlet allocation, rounded by largest remainder.
* managers answer the expectation items as they think customers would (``ME``) and rate the
  level their service standards set per dimension (``SPEC``); front-line staff rate ``SPEC``,
  the level they deliver (``DEL``) and the level communications promise (``PROM``).
* antecedent scales: three items per scale around a latent score per respondent.

Because every latent score is normal with a known mean and sd, the expected value of each rounded
item is exact (sum over the seven categories), so the truth is the population value of what the
functions of :mod:`workbench.gaps` estimate, not the latent value.

Planted: gap 5 largest on reliability and responsiveness; gap 1 on responsiveness (managers
underestimate), gap 2 on empathy (standards ignore individual attention), gap 3 on reliability
(staff cannot deliver), gap 4 on assurance (overpromising); reliability and responsiveness below
the zone of tolerance, tangible item ``tan1`` above it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["make_gaps", "N_CUSTOMERS", "N_MANAGERS", "N_FRONTLINE"]

N_CUSTOMERS = 600
N_MANAGERS = 40
N_FRONTLINE = 160
LO, HI = 1, 7

DIMS = {
    "tangibles": ["tan1", "tan2", "tan3", "tan4"],
    "reliability": ["rel1", "rel2", "rel3", "rel4", "rel5"],
    "responsiveness": ["res1", "res2", "res3", "res4"],
    "assurance": ["asu1", "asu2", "asu3", "asu4"],
    "empathy": ["emp1", "emp2", "emp3", "emp4", "emp5"],
}
ITEMS = [i for items in DIMS.values() for i in items]
DIM_OF = {i: d for d, items in DIMS.items() for i in items}
SEGMENTS = ("consumer_prepaid", "consumer_postpaid", "business")
REGIONS = ("north", "south", "east", "west", "central")

# ---- customer survey: latent means per dimension (items get a fixed offset) ---------------------
ITEM_OFFSET = {1: 0.10, 2: -0.10, 3: 0.05, 4: -0.05, 5: 0.0}
MU_E = {"tangibles": 5.4, "reliability": 6.3, "responsiveness": 6.0, "assurance": 6.0, "empathy": 5.6}
MU_P = {"tangibles": 5.3, "reliability": 4.8, "responsiveness": 4.8, "assurance": 5.4, "empathy": 5.1}
MU_DES = {"tangibles": 5.5, "reliability": 6.4, "responsiveness": 6.1, "assurance": 6.1, "empathy": 5.8}
MU_ADQ = {"tangibles": 4.0, "reliability": 5.3, "responsiveness": 5.0, "assurance": 4.7, "empathy": 4.3}
#: item-specific departures: modern-looking equipment is perceived above the desired level
ITEM_SHIFT_P = {"tan1": 0.8}
ITEM_SHIFT_DES = {"tan1": -0.1}
#: business customers expect more responsiveness
SEGMENT_SHIFT_E = {("business", "responsiveness"): 0.45}
# latent standard deviations
SD_STYLE, SD_GE, SD_UE, SD_GP, SD_UP, SD_GA, SD_UA, SD_E = 0.3, 0.3, 0.5, 0.5, 0.45, 0.4, 0.45, 0.55
SD_E_ITEM = float(np.sqrt(SD_STYLE**2 + SD_GE**2 + SD_UE**2 + SD_E**2))
SD_P_ITEM = float(np.sqrt(SD_STYLE**2 + SD_GP**2 + SD_UP**2 + SD_E**2))
SD_ADQ_ITEM = float(np.sqrt(SD_STYLE**2 + SD_GA**2 + SD_UA**2 + SD_E**2))
SD_DES_ITEM = SD_E_ITEM
#: expected importance points (Dirichlet mean x 100) and concentration
IMPORTANCE = {"tangibles": 12.0, "reliability": 32.0, "responsiveness": 22.0, "assurance": 18.0, "empathy": 16.0}
IMPORTANCE_CONCENTRATION = 20.0
#: share of missing answers ("don't know" left blank)
MISSING = {"E": 0.01, "P": 0.015, "ADQ": 0.01, "DES": 0.01, "imp": 0.02}

# ---- management / staff survey: planted gaps on the latent scale --------------------------------
GAP1 = {"tangibles": 0.1, "reliability": -0.2, "responsiveness": -1.3, "assurance": -0.1, "empathy": -0.3}
GAP2 = {"tangibles": 0.0, "reliability": -0.1, "responsiveness": -0.2, "assurance": 0.0, "empathy": -0.8}
GAP3 = {"tangibles": -0.1, "reliability": -1.3, "responsiveness": -0.3, "assurance": -0.2, "empathy": -0.2}
GAP4 = {"tangibles": 0.0, "reliability": -0.3, "responsiveness": -0.2, "assurance": -1.1, "empathy": -0.1}
SD_GM, SD_UM, SD_ME, SD_SPEC_M = 0.3, 0.45, 0.5, 0.6
SD_GF, SD_UF, SD_SPEC_F, SD_DEL, SD_PROM = 0.35, 0.4, 0.55, 0.6, 0.7
SD_ME_ITEM = float(np.sqrt(SD_GM**2 + SD_UM**2 + SD_ME**2))
SD_SPEC_MGR = float(np.sqrt(SD_GM**2 + SD_UM**2 + SD_SPEC_M**2))
SD_SPEC_FL = float(np.sqrt(SD_GF**2 + SD_UF**2 + SD_SPEC_F**2))
SD_DEL_FL = float(np.sqrt(SD_GF**2 + SD_UF**2 + SD_DEL**2))
SD_PROM_FL = float(np.sqrt(SD_GF**2 + SD_PROM**2))

#: antecedent scales: (who answers, latent mean); items = latent (sd 0.8) + error (sd 0.6)
ANTECEDENTS = {
    "mro": ("manager", 4.6), "upc": ("manager", 3.2), "mcq": ("manager", 4.8), "gls": ("manager", 4.5),
    "tsd": ("manager", 4.9), "feas": ("manager", 4.4),
    "team": ("frontline", 5.3), "ejf": ("frontline", 5.2), "tjf": ("frontline", 3.6),
    "pco": ("frontline", 3.4), "scs": ("frontline", 3.9), "rcf": ("frontline", 4.9),
    "ram": ("frontline", 4.6), "hco": ("frontline", 3.1), "ovp": ("frontline", 5.5),
}
SD_ANTE_LATENT, SD_ANTE_ERR = 0.8, 0.6
#: levels of management between front line and top: 3 + Poisson(1.5), capped at 8
LEVELS_BASE, LEVELS_RATE, LEVELS_CAP = 3, 1.5, 8


def _disc(x):
    """Round latent scores to the 1-7 scale."""
    return np.clip(np.floor(x + 0.5), LO, HI)


def _disc_mean(mu, sd):
    """Expected value of ``_disc(X)`` for ``X ~ N(mu, sd)``."""
    k = np.arange(LO, HI + 1, dtype=float)
    upper = np.where(k == HI, np.inf, k + 0.5)
    lower = np.where(k == LO, -np.inf, k - 0.5)
    p = stats.norm.cdf((upper - mu) / sd) - stats.norm.cdf((lower - mu) / sd)
    return float((k * p).sum())


def _item_mu(table, item, shift=None):
    mu = table[DIM_OF[item]] + ITEM_OFFSET[int(item[-1])]
    return mu + (shift or {}).get(item, 0.0)


def _mu_e(item, segment):
    return _item_mu(MU_E, item) + SEGMENT_SHIFT_E.get((segment, DIM_OF[item]), 0.0)


def _int_col(x):
    """Whole numbers with missing values (written to CSV as ``5`` and an empty field)."""
    return pd.Series(np.asarray(x, dtype=float)).astype("Int64").array


def _largest_remainder(shares, total=100):
    raw = shares * total
    base = np.floor(raw)
    short = (total - base.sum(axis=1)).astype(int)
    order = np.argsort(-(raw - base), axis=1, kind="stable")
    for i in range(len(raw)):
        base[i, order[i, : short[i]]] += 1
    return base.astype(int)


def _customers(rng, tracking, n):
    """Respondent ids and profile: a random subsample of the last tracking wave's aurora sample."""
    usable = (
        tracking is not None
        and {"resp_id", "wave", "segment", "region", "design_weight"} <= set(tracking.columns)
    )
    if usable:
        t = tracking
        if "brand" in t.columns:
            t = t[t["brand"] == "aurora"]
        if len(t):
            last = t["wave"].max()
            t = t[t["wave"] == last].sort_values("resp_id", kind="stable")
            take = np.sort(rng.choice(len(t), size=min(n, len(t)), replace=False))
            t = t.iloc[take]
            out = pd.DataFrame({
                "resp_id": t["resp_id"].to_numpy(),
                "wave": t["wave"].to_numpy(),
                "segment": t["segment"].astype(str).to_numpy(),
                "region": t["region"].astype(str).to_numpy(),
                "design_weight": np.round(t["design_weight"].to_numpy(dtype=float), 8),
            })
            if "period" in t.columns:
                out.insert(2, "period", t["period"].astype(str).to_numpy())
            return out
    seg = rng.choice(len(SEGMENTS), size=n, p=[0.45, 0.30, 0.25])
    reg = rng.choice(len(REGIONS), size=n)
    return pd.DataFrame({
        "resp_id": [f"SQ{i:05d}" for i in range(1, n + 1)],
        "wave": np.ones(n, dtype=int),
        "segment": np.array(SEGMENTS)[seg],
        "region": np.array(REGIONS)[reg],
        "design_weight": np.ones(n),
    })


def _make_servqual(rng, tracking):
    prof = _customers(rng, tracking, N_CUSTOMERS)
    n = len(prof)
    seg = prof["segment"].to_numpy()
    k = len(DIMS)
    style = rng.normal(0, SD_STYLE, n)
    gE, gP, gA = rng.normal(0, SD_GE, n), rng.normal(0, SD_GP, n), rng.normal(0, SD_GA, n)
    uE, uP, uA = (rng.normal(0, s, (n, k)) for s in (SD_UE, SD_UP, SD_UA))
    cols = {}
    for item in ITEMS:
        d = list(DIMS).index(DIM_OF[item])
        muE = np.array([_mu_e(item, s) for s in seg])
        e = rng.normal(0, SD_E, (4, n))
        cols[f"E_{item}"] = _disc(muE + style + gE + uE[:, d] + e[0])
        cols[f"P_{item}"] = _disc(_item_mu(MU_P, item, ITEM_SHIFT_P) + style + gP + uP[:, d] + e[1])
        cols[f"ADQ_{item}"] = _disc(_item_mu(MU_ADQ, item) + style + gA + uA[:, d] + e[2])
        cols[f"DES_{item}"] = _disc(_item_mu(MU_DES, item, ITEM_SHIFT_DES) + style + gE + uE[:, d] + e[3])
    for col in cols:
        cols[col][rng.random(n) < MISSING[col.split("_")[0]]] = np.nan
    m = np.array([IMPORTANCE[d] for d in DIMS]) / 100.0
    pts = _largest_remainder(rng.dirichlet(m * IMPORTANCE_CONCENTRATION, size=n)).astype(float)
    pts[rng.random(n) < MISSING["imp"]] = np.nan
    order = [f"{r}_{i}" for r in ("E", "P", "ADQ", "DES") for i in ITEMS]
    out = prof.copy()
    for col in order:
        out[col] = _int_col(cols[col])
    for j, d in enumerate(DIMS):
        out[f"imp_{d}"] = _int_col(pts[:, j])
    return out


def _make_mgmt(rng):
    nm, nf = N_MANAGERS, N_FRONTLINE
    n = nm + nf
    role = np.array(["manager"] * nm + ["frontline"] * nf)
    region = np.array(REGIONS)[rng.choice(len(REGIONS), size=n)]
    mgr, fl = role == "manager", role == "frontline"
    k = len(DIMS)
    out = {"staff_id": [f"S{i:04d}" for i in range(1, n + 1)], "role": role, "region": region}
    cols = {}
    # managers: expectations as they believe customers hold them, and the standards' level
    gM = rng.normal(0, SD_GM, nm)
    uM = rng.normal(0, SD_UM, (nm, k))
    for item in ITEMS:
        d = list(DIMS).index(DIM_OF[item])
        x = np.full(n, np.nan)
        x[mgr] = _disc(_mu_me(item) + gM + uM[:, d] + rng.normal(0, SD_ME, nm))
        cols[f"ME_{item}"] = x
    spec = np.full((n, k), np.nan)
    for d, dim in enumerate(DIMS):
        spec[mgr, d] = _disc(_mu_spec(dim) + gM + uM[:, d] + rng.normal(0, SD_SPEC_M, nm))
    # front line: standards, delivery, promises
    gF = rng.normal(0, SD_GF, nf)
    uF = rng.normal(0, SD_UF, (nf, k))
    dlv = np.full((n, k), np.nan)
    prom = np.full((n, k), np.nan)
    for d, dim in enumerate(DIMS):
        spec[fl, d] = _disc(_mu_spec(dim) + gF + uF[:, d] + rng.normal(0, SD_SPEC_F, nf))
        dlv[fl, d] = _disc(_mu_del(dim) + gF + uF[:, d] + rng.normal(0, SD_DEL, nf))
        prom[fl, d] = _disc(_mu_prom(dim) + gF + rng.normal(0, SD_PROM, nf))
    for d, dim in enumerate(DIMS):
        cols[f"SPEC_{dim}"] = spec[:, d]
    for d, dim in enumerate(DIMS):
        cols[f"DEL_{dim}"] = dlv[:, d]
    for d, dim in enumerate(DIMS):
        cols[f"PROM_{dim}"] = prom[:, d]
    # antecedents
    lvl = np.full(n, np.nan)
    lvl[mgr] = np.minimum(LEVELS_BASE + rng.poisson(LEVELS_RATE, nm), LEVELS_CAP)
    for scale, (who, mu) in ANTECEDENTS.items():
        rows = mgr if who == "manager" else fl
        m = int(rows.sum())
        lat = mu + rng.normal(0, SD_ANTE_LATENT, m)
        for j in (1, 2, 3):
            x = np.full(n, np.nan)
            x[rows] = _disc(lat + rng.normal(0, SD_ANTE_ERR, m))
            cols[f"{scale}{j}"] = x
        if scale == "upc":
            cols["lvl1"] = lvl
    df = pd.DataFrame(out)
    for col, x in cols.items():
        df[col] = _int_col(x)
    return df


def _mu_me(item):
    """Managers' latent mean for an expectation item: consumers' expectation plus gap 1."""
    return _item_mu(MU_E, item) + GAP1[DIM_OF[item]]


def _mu_spec(dim):
    return float(np.mean([_mu_me(i) for i in DIMS[dim]])) + GAP2[dim]


def _mu_del(dim):
    return _mu_spec(dim) + GAP3[dim]


def _mu_prom(dim):
    return _mu_del(dim) - GAP4[dim]


# ---- truth --------------------------------------------------------------------------------------
def _customer_truth(mix):
    """Population values of the customer measures for a segment mix ``{segment: share}``."""
    items = {}
    for item in ITEMS:
        e = sum(sh * _disc_mean(_mu_e(item, s), SD_E_ITEM) for s, sh in mix.items())
        p = _disc_mean(_item_mu(MU_P, item, ITEM_SHIFT_P), SD_P_ITEM)
        adq = _disc_mean(_item_mu(MU_ADQ, item), SD_ADQ_ITEM)
        des = _disc_mean(_item_mu(MU_DES, item, ITEM_SHIFT_DES), SD_DES_ITEM)
        items[item] = {"dimension": DIM_OF[item], "expectation": e, "perception": p, "gap": p - e,
                       "adequate": adq, "desired": des, "msa": p - adq, "mss": p - des}
    dims = {}
    for dim, its in DIMS.items():
        dims[dim] = {key: float(np.mean([items[i][key] for i in its]))
                     for key in ("expectation", "perception", "gap", "adequate", "desired", "msa", "mss")}
    overall = {key: float(np.mean([dims[d][key] for d in DIMS])) for key in dims["tangibles"]}
    for rec in list(items.values()) + list(dims.values()) + [overall]:
        rec["position"] = ("below" if rec["perception"] < rec["adequate"]
                           else "above" if rec["perception"] > rec["desired"] else "within")
    weighted = sum(IMPORTANCE[d] / 100.0 * dims[d]["gap"] for d in DIMS)
    return {"items": items, "dimensions": dims, "overall": overall, "weighted_servqual": weighted}


def _mgmt_truth(customer):
    me_item = {i: _disc_mean(_mu_me(i), SD_ME_ITEM) for i in ITEMS}
    me = {d: float(np.mean([me_item[i] for i in DIMS[d]])) for d in DIMS}
    spec_m = {d: _disc_mean(_mu_spec(d), SD_SPEC_MGR) for d in DIMS}
    spec_f = {d: _disc_mean(_mu_spec(d), SD_SPEC_FL) for d in DIMS}
    dlv = {d: _disc_mean(_mu_del(d), SD_DEL_FL) for d in DIMS}
    prom = {d: _disc_mean(_mu_prom(d), SD_PROM_FL) for d in DIMS}
    ce = customer["dimensions"]
    return {
        "gap1": {d: me[d] - ce[d]["expectation"] for d in DIMS},
        "gap1_items": {i: me_item[i] - customer["items"][i]["expectation"] for i in ITEMS},
        "gap2": {d: spec_m[d] - me[d] for d in DIMS},
        "gap3": {d: dlv[d] - spec_f[d] for d in DIMS},
        "gap4": {d: dlv[d] - prom[d] for d in DIMS},
        "mgmt_expectation": me, "specification_managers": spec_m, "specification_frontline": spec_f,
        "delivery": dlv, "promise": prom,
    }


def _antecedent_truth():
    out = {}
    sd = float(np.sqrt(SD_ANTE_LATENT**2 + SD_ANTE_ERR**2))
    for scale, (who, mu) in ANTECEDENTS.items():
        out[scale] = {"respondents": who, "mean": _disc_mean(mu, sd), "latent_mean": mu,
                      # alpha of three parallel items on the latent scale (before rounding)
                      "latent_alpha": 3 * SD_ANTE_LATENT**2 / (SD_ANTE_LATENT**2 * 3 + SD_ANTE_ERR**2)}
    p = stats.poisson.pmf(np.arange(0, LEVELS_CAP - LEVELS_BASE), LEVELS_RATE)
    vals = LEVELS_BASE + np.arange(0, LEVELS_CAP - LEVELS_BASE)
    out["lvl"] = {"respondents": "manager",
                  "mean": float((vals * p).sum() + LEVELS_CAP * (1 - p.sum())), "latent_mean": np.nan,
                  "latent_alpha": np.nan}
    return out


def make_gaps(rng, tracking=None):
    """Generate the SERVQUAL customer survey and the management/staff survey of the demo study.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (same state, same data).
    tracking : DataFrame or None
        The tracking sample; the customers are a random subsample (600) of aurora's respondents
        in its last wave, with ``resp_id, wave, period, segment, region, design_weight`` copied.
        Without it, ids ``SQ00001..`` and a default profile are generated.

    Returns
    -------
    frames : dict
        ``{"servqual": DataFrame, "mgmt_survey": DataFrame}``.
    truth : dict
        JSON-ready planted values: customer measures (unweighted and design-weighted segment mix,
        and per segment), gaps 1-4, antecedent means, and the expected diagnosis.

    Examples
    --------
    >>> import numpy as np
    >>> frames, truth = make_gaps(np.random.default_rng(1))
    >>> sorted(frames)
    ['mgmt_survey', 'servqual']
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"make_gaps: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    sq = _make_servqual(rng, tracking)
    mg = _make_mgmt(rng)
    w = sq["design_weight"].to_numpy(dtype=float)
    seg = sq["segment"].to_numpy()
    mix_u = {s: float(np.mean(seg == s)) for s in SEGMENTS if np.any(seg == s)}
    mix_w = {s: float(w[seg == s].sum() / w.sum()) for s in mix_u}
    unweighted = _customer_truth(mix_u)
    weighted = _customer_truth(mix_w)
    by_segment = {s: _customer_truth({s: 1.0}) for s in SEGMENTS}
    mgmt_u = _mgmt_truth(unweighted)
    mgmt_w = _mgmt_truth(weighted)
    truth = {
        "description": (
            "SERVQUAL customer survey and management/staff survey. Values are population means of "
            "the rounded 1-7 answers (exact, from the latent normal model). 'unweighted' uses the "
            "sample's segment mix, 'weighted' the design-weighted mix. Gaps are 'achieved minus "
            "target' (negative = shortfall)."
        ),
        "n_customers": int(len(sq)), "n_managers": N_MANAGERS, "n_frontline": N_FRONTLINE,
        "segment_mix": {"unweighted": mix_u, "weighted": mix_w},
        "servqual": {"unweighted": unweighted, "weighted": weighted, "by_segment": by_segment},
        "importance": dict(IMPORTANCE),
        "gaps_1_to_4": {"unweighted_customers": mgmt_u, "weighted_customers": mgmt_w},
        "planted_latent": {"gap1": GAP1, "gap2": GAP2, "gap3": GAP3, "gap4": GAP4,
                           "business_extra_expectation": {"responsiveness": 0.45}},
        "antecedents": _antecedent_truth(),
        "largest_gap5": ["reliability", "responsiveness"],
        "main_source": {"reliability": "delivery", "responsiveness": "knowledge",
                        "assurance": "communication", "empathy": "standards"},
        "zone_position": {"reliability": "below", "responsiveness": "below", "tan1": "above"},
    }
    return {"servqual": sq, "mgmt_survey": mg}, truth
