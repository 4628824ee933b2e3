"""Benchmark: weighting.rake on 800,000 rows, 3 margins, to convergence, against bare numpy IPF.

The baseline is textbook row-level iterative proportional fitting in numpy: the raking variables
arrive as integer codes (no validation, no level matching), and each pass scales the rows'
weights level by level (``bincount`` of the weights, then ``w *= ratio[codes]``) until every
margin is within 1e-10 of its target -- the same stopping rule as ``rake(tol=1e-10)``.
``weighting.rake`` starts from a DataFrame with categorical columns and a margins dict, checks
everything, and iterates on the cells of the cross-classification.  Both must give the same
weights.

Usage::

    python bench/bench_weighting.py [--quick] [--json PATH]

Prints a markdown table (baseline s, ours s, ratio, target, pass) and the same as JSON.
Timings are the best of N runs in one process, baseline and ours alternating.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import weighting  # noqa: E402

from _common import best_of, best_of_pair, main, report  # noqa: E402

TARGET = 2.0
TOL = 1e-10

LEVELS = {
    "age": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
    "region": [f"r{i:02d}" for i in range(10)],
    "gender": ["female", "male"],
}


def make_problem(n, seed=2):
    rng = np.random.default_rng(seed)
    sample_p = {
        "age": [0.10, 0.14, 0.18, 0.20, 0.20, 0.18],
        "region": rng.dirichlet(np.full(10, 4.0)),
        "gender": [0.55, 0.45],
    }
    pop_p = {
        "age": [0.12, 0.18, 0.18, 0.18, 0.17, 0.17],
        "region": rng.dirichlet(np.full(10, 4.0)),
        "gender": [0.51, 0.49],
    }
    cols = {
        v: pd.Categorical.from_codes(rng.choice(len(lv), n, p=sample_p[v]), categories=lv)
        for v, lv in LEVELS.items()
    }
    df = pd.DataFrame(cols)
    df["base"] = rng.lognormal(0.0, 0.3, n)
    margins = {v: dict(zip(lv, pop_p[v])) for v, lv in LEVELS.items()}
    return df, margins


def baseline(codes, base, targets, tol=TOL, max_iter=100):
    """Bare numpy IPF on rows; ``targets`` are totals per variable (arrays)."""
    w = base.copy()
    for _ in range(max_iter):
        for c, t in zip(codes, targets):
            got = np.bincount(c, weights=w, minlength=len(t))
            w *= (t / got)[c]
        gap = max(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) / t - 1))
                  for c, t in zip(codes, targets))
        if gap <= tol:
            break
    return w



def run(quick=False):
    n = 800_000
    repeat = 3 if quick else 7
    df, margins = make_problem(n)
    base = df["base"].to_numpy()
    codes = [df[v].cat.codes.to_numpy().astype(np.intp) for v in LEVELS]
    total = base.sum()
    targets = [np.array([margins[v][lv] for lv in lv_list]) * total for v, lv_list in LEVELS.items()]
    t_base, ref, t_ours, res = best_of_pair(
        lambda: baseline(codes, base, targets),
        lambda: weighting.rake(df, margins, base_weight="base"),
        repeat,
    )
    np.testing.assert_allclose(res.to_numpy(), ref, rtol=1e-8)
    # bounds just outside the range of the levels' average adjustments: feasible, and binding
    need = np.concatenate([t / np.bincount(c, weights=base, minlength=len(t)) for c, t in zip(codes, targets)])
    bounds = (min(0.95 * need.min(), 1.0), max(1.05 * need.max(), 1.0))
    t_bnd, wb = best_of(lambda: weighting.rake(df, margins, base_weight="base", bounds=bounds), repeat)
    rows = [
        {"benchmark": "weighting.rake(3 margins, base weights, tol=1e-10)", "rows": n,
         "baseline": "numpy row-level IPF", "baseline_s": t_base, "ours_s": t_ours,
         "ratio": t_ours / t_base, "target": TARGET, "pass": t_ours / t_base <= TARGET},
        {"benchmark": f"weighting.rake(..., bounds=({bounds[0]:.2f}, {bounds[1]:.2f})) (for information)",
         "rows": n, "baseline": "numpy row-level IPF (unbounded)", "baseline_s": t_base, "ours_s": t_bnd,
         "ratio": t_bnd / t_base, "target": None, "pass": None},
    ]
    return report("weighting", quick, repeat, rows)




if __name__ == "__main__":
    sys.exit(main(run, __doc__, quick_help="3 repeats (for CI)"))
