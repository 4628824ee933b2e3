"""Benchmark: drivers.fit_sem against a bare semopy fit, and LMG against per-subset least squares.

SEM.  The baseline is what a semopy user runs for the same model: ``semopy.Model(desc)``,
``.fit(data)`` (SLSQP), ``.inspect()`` (estimates and SEs) and ``semopy.calc_stats`` (fit
indices).  ``fit_sem`` does that work too (semopy parses and solves), then polishes the optimum,
recomputes SEs, lavaan's fit indices, the standardised solution, effects with delta-method SEs,
reliability, HTMT and the checks.  The table also shows how far each is from lavaan 0.6-14
(max |estimate − lavaan|, reference files in tests/results/) where a reference exists.

LMG.  The baseline computes the R² of every subset of drivers by ``numpy.linalg.lstsq`` on the
raw data (one least-squares fit per subset, 2^p of them) and then the same Shapley sums.  Ours
solves each subset once from the correlation matrix, batched by subset size.  Both must agree.

``--against REV`` also times ``fit_sem`` as it was at git revision REV (its ``workbench`` package
extracted to a temporary directory and imported as ``workbench_ref``), alternating with the other
two in the same run, for before/after ratios of a change.

Usage::

    OPENBLAS_NUM_THREADS=1 python bench/bench_drivers.py [--quick] [--json PATH] [--against REV]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench import _relimp, _sem, drivers  # noqa: E402

from _common import best_of, best_of_pair  # noqa: E402

RES = ROOT / "tests" / "results"

PD_MODEL = """ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8"""
HS_MODEL = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"""
CX_MODEL = """PRD =~ prd1 + prd2 + prd3
SRV =~ srv1 + srv2 + srv3
VAL =~ val1 + val2 + val3
DIG =~ dig1 + dig2 + dig3
SAT =~ sat1 + sat2 + sat3
SAT ~ PRD + SRV + VAL + DIG
nps ~ SAT"""


def cx_data(n, seed=3):
    rng = np.random.default_rng(seed)
    Phi = np.full((4, 4), 0.4) + 0.6 * np.eye(4)
    eta = rng.multivariate_normal(np.zeros(4), Phi, n)
    g = np.array([0.35, 0.30, 0.20, 0.10])
    sat = eta @ g + np.sqrt(1 - g @ Phi @ g) * rng.standard_normal(n)
    cols = {}
    for k, lv in zip(["prd", "srv", "val", "dig", "sat"], list(eta.T) + [sat]):
        for i, lam in enumerate([0.9, 0.8, 0.7], 1):
            cols[f"{k}{i}"] = 4 + 1.2 * (lam * lv + np.sqrt(1 - lam ** 2) * rng.standard_normal(n))
    cols["nps"] = 6 + 2 * (0.6 * sat + 0.8 * rng.standard_normal(n))
    return pd.DataFrame(cols)


def _fit_slsqp_first(self, max_iter=_sem.MAX_POLISH):
    """The optimiser of fit_sem before 2026-12: semopy's SLSQP, then Fisher scoring/Newton
    polish; when that stalls, scoring from the starting values.  Kept here to measure against."""
    start = self.start()
    note = ""
    try:
        theta0, _ = self.semopy_fit()
    except Exception as exc:  # noqa: BLE001
        theta0, note = start, f" (semopy's solver failed: {exc})"
    if not np.all(np.isfinite(theta0)) or not np.isfinite(self.fml(theta0)):
        theta0 = start
    retry = max_iter > 0 and theta0 is not start and np.isfinite(self.fml(start))
    best = self.polish(theta0, max_iter=max_iter, stall=retry)
    if retry and not best[1]:
        alt = self.polish(start, max_iter=max_iter)
        if alt[1] or self.fml(alt[0]) < self.fml(best[0]):
            best = alt
    return (*best, note)


def fit_sem_before(data, desc):
    """fit_sem with the SLSQP-first optimiser (same run, same machine: the speed-up it gained)."""
    new = _sem.Engine.fit
    _sem.Engine.fit = _fit_slsqp_first
    try:
        return drivers.fit_sem(data, desc)
    finally:
        _sem.Engine.fit = new


def semopy_bare(data, desc):
    import semopy

    m = semopy.Model(desc)
    m.fit(data)
    est = m.inspect()
    stats = semopy.calc_stats(m)
    return m, est, stats


def lavaan_gap(est_ours, est_semopy, name):
    """max |estimate − lavaan| for ours and for semopy (free loadings, paths, variances)."""
    ref = pd.read_csv(RES / "drivers_lavaan_estimates.csv")
    ref = ref[ref.model == name]
    key = ref.set_index(["lhs", "op", "rhs"])["est"]
    ours = est_ours.set_index(["lhs", "op", "rhs"])["est"]
    g_ours = float(np.max(np.abs(ours.loc[key.index].to_numpy() - key.to_numpy())))
    # semopy writes loadings as 'indicator ~ latent'
    sem = {}
    for _, r in est_semopy.iterrows():
        op = r["op"]
        lhs, rhs = r["lval"], r["rval"]
        if op == "~" and (rhs, "=~", lhs) in key.index:
            sem[(rhs, "=~", lhs)] = float(r["Estimate"])
        elif op == "~~" and (lhs, op, rhs) not in key.index and (rhs, op, lhs) in key.index:
            sem[(rhs, op, lhs)] = float(r["Estimate"])
        else:
            sem[(lhs, op, rhs)] = float(r["Estimate"])
    g_sem = float(np.max([abs(sem[k] - v) for k, v in key.items() if k in sem]))
    return g_ours, g_sem


def load_revision(rev):
    """``workbench.drivers`` as of git revision ``rev``, imported as ``workbench_ref.drivers``."""
    import importlib
    import io
    import subprocess
    import tarfile
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench_ref_"))
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "workbench"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(tmp, filter="data")
    (tmp / "workbench").rename(tmp / "workbench_ref")
    sys.path.insert(0, str(tmp))
    return importlib.import_module("workbench_ref.drivers")


def best_of_three(fns, repeat):
    """Best wall time of each of ``fns`` over ``repeat`` rounds, called in turn in every round."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return [min(t) for t in times], outs


def bench_sem(quick, then=None):
    from semopy.examples import holzinger39, political_democracy

    repeat = 3 if quick else 11  # best of many: the machine is shared and timings are noisy
    cases = [("PoliticalDemocracy (75 rows, 31 par.)", political_democracy.get_data(), PD_MODEL,
              "political_democracy"),
             ("HolzingerSwineford CFA (301 rows, 21 par.)", holzinger39.get_data(), HS_MODEL,
              "holzinger_cfa"),
             ("CX driver model (3,000 rows, 37 par.)", cx_data(3000), CX_MODEL, None),
             (f"CX driver model ({2000 if quick else 6000:,} rows, 37 par.)",
              cx_data(2000 if quick else 6000), CX_MODEL, None)]
    rows = []
    # warm-up: imports (semopy, pingouin) are not what we measure
    drivers.fit_sem(political_democracy.get_data(), PD_MODEL)
    semopy_bare(political_democracy.get_data(), PD_MODEL)
    for label, data, model, ref in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if then is None:
                tb, (m, est_s, _), to, res = best_of_pair(
                    lambda: semopy_bare(data, model), lambda: drivers.fit_sem(data, model), repeat)
                tr = np.nan
            else:
                then.fit_sem(data, model)
                (tb, to, tr), ((m, est_s, _), res, _) = best_of_three(
                    [lambda: semopy_bare(data, model), lambda: drivers.fit_sem(data, model),
                     lambda: then.fit_sem(data, model)], repeat)
            tp, old = best_of(lambda: fit_sem_before(data, model), repeat)
        gap = lavaan_gap(res.estimates, est_s, ref) if ref else (np.nan, np.nan)
        same = float(np.max(np.abs(res.estimates["est"].to_numpy() - old.estimates["est"].to_numpy())))
        rows.append({"case": label, "semopy_s": tb, "fit_sem_s": to, "ratio": to / tb,
                     "before_s": tp, "before_ratio": tp / tb, "diff_before": same,
                     "ref_s": tr, "ref_ratio": tr / tb,
                     "gap_ours": gap[0], "gap_semopy": gap[1]})
    return rows


def lmg_naive(X, y):
    """R² of every subset by least squares on the raw data, then the Shapley sums."""
    n, p = X.shape
    yc = y - y.mean()
    tss = yc @ yc
    r2 = np.zeros(1 << p)
    ones = np.ones((n, 1))
    for mask in range(1, 1 << p):
        cols = [j for j in range(p) if mask >> j & 1]
        A = np.hstack([ones, X[:, cols]])
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        e = y - A @ coef
        r2[mask] = 1 - (e @ e) / tss
    return _relimp.lmg_from_r2(r2, p)


def bench_lmg(quick):
    n = 500 if quick else 2000
    rows = []
    for p in (10, 12, 15):
        rng = np.random.default_rng(p)
        X = rng.standard_normal((n, p)) @ rng.uniform(0, 0.4, (p, p)) + rng.standard_normal((n, p))
        y = X @ rng.uniform(0, 1, p) + 2 * rng.standard_normal(n)
        df = pd.DataFrame(X, columns=[f"d{i}" for i in range(p)]).assign(y=y)
        names = [f"d{i}" for i in range(p)]
        repeat = 1 if p == 15 else (2 if quick else 3)
        tb, ref, to, res = best_of_pair(lambda: lmg_naive(X, y),
                                        lambda: drivers.relative_importance(df, "y", names), repeat)
        diff = float(np.max(np.abs(res["importance"].to_numpy() - ref)))
        assert diff < 1e-10, diff
        rows.append({"drivers": p, "subsets": 1 << p, "rows": n, "naive_s": tb, "lmg_s": to,
                     "speed_up": tb / to, "max_diff": diff})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rows and repeats")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--against", metavar="REV", help="also time fit_sem as of this git revision")
    args = ap.parse_args(argv)
    then = load_revision(args.against) if args.against else None
    sem = bench_sem(args.quick, then)
    lmg = bench_lmg(args.quick)
    print("### fit_sem vs bare semopy (fit + inspect + calc_stats)\n")
    print("| model | semopy s | fit_sem s | ratio | before s (SLSQP first) | ratio before | "
          "max abs diff of estimates vs before | max abs diff vs lavaan: fit_sem | semopy |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in sem:
        g1 = "—" if np.isnan(r["gap_ours"]) else f"{r['gap_ours']:.1e}"
        g2 = "—" if np.isnan(r["gap_semopy"]) else f"{r['gap_semopy']:.1e}"
        print(f"| {r['case']} | {r['semopy_s']:.3f} | {r['fit_sem_s']:.3f} | {r['ratio']:.2f} | "
              f"{r['before_s']:.3f} | {r['before_ratio']:.2f} | {r['diff_before']:.1e} | {g1} | {g2} |")
    if then is not None:
        print(f"\n#### fit_sem now and at {args.against} (same run, alternating with semopy)\n")
        print(f"| model | semopy s | fit_sem at {args.against} s | ratio then | fit_sem now s | ratio now |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in sem:
            print(f"| {r['case']} | {r['semopy_s']:.3f} | {r['ref_s']:.3f} | {r['ref_ratio']:.2f} | "
                  f"{r['fit_sem_s']:.3f} | {r['ratio']:.2f} |")
    print("\n\"before\" is fit_sem with the optimiser it had until 2026-12 (semopy's SLSQP, then the "
          "polish) and everything else as now, timed in the same run; the last-but-two column is how far "
          "its estimates are from today's.  Run with OPENBLAS_NUM_THREADS=1 on a shared machine: "
          "BLAS threads competing for two busy cores slow semopy's SLSQP many times over and make "
          "any ratio against it meaningless.")
    print("\n### LMG (exact Shapley over all subsets) vs per-subset least squares\n")
    print("| drivers | subsets | rows | naive s | relative_importance s | speed-up | max abs diff |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in lmg:
        print(f"| {r['drivers']} | {r['subsets']} | {r['rows']} | {r['naive_s']:.3f} | "
              f"{r['lmg_s']:.4f} | {r['speed_up']:.0f}x | {r['max_diff']:.1e} |")
    if args.json:
        args.json.write_text(json.dumps({"sem": sem, "lmg": lmg}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
