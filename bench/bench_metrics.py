"""Benchmark: metrics.nps by wave x segment on 10 million rows against bare numpy.

The baseline is the fastest plain-numpy computation of the same numbers we know: one integer
key per row (group x answer category), three ``numpy.bincount`` calls (count, sum of weights,
sum of squared weights) and the closed-form estimates and linearised SEs.  It gets the group
codes for free (wave offset, segment categorical codes) and checks nothing.  ``metrics.nps``
additionally validates its input (0-10 whole numbers, weights finite and non-negative), groups
any column type and builds the result table.  Both must give the same numbers.

Usage::

    python bench/bench_metrics.py [--quick] [--json PATH]

Prints a markdown table (baseline s, ours s, ratio, target, pass) and the same as JSON.
Timings are the best of N runs in one process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import metrics  # noqa: E402

from _common import best_of, best_of_pair, main, report  # noqa: E402

TARGET = 1.5


def make_data(n, seed=1):
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 11, n).astype(np.float64)
    score[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame({
        "wave": rng.integers(1, 9, n),
        "segment": pd.Categorical.from_codes(rng.integers(0, 6, n), categories=list("ABCDEF")),
        "ltr": score,
        "w": rng.lognormal(0.0, 0.4, n),
    })


def baseline(df, conf=0.95):
    """Bare numpy: NPS, shares, n, n_eff, SE and CI per wave x segment."""
    s = df["ltr"].to_numpy()
    w = df["w"].to_numpy()
    wave = df["wave"].to_numpy()
    seg = df["segment"].cat.codes.to_numpy()
    n_seg = len(df["segment"].cat.categories)
    lo = wave.min()
    n_groups = (wave.max() - lo + 1) * n_seg
    cat = (s >= 7).view(np.int8) + (s >= 9).view(np.int8)
    cat += np.isnan(s).view(np.int8) * np.int8(3)
    key = ((wave - lo) * n_seg + seg) * 4 + cat
    size = n_groups * 4
    cnt = np.bincount(key, minlength=size).reshape(-1, 4)[:, :3]
    sw = np.bincount(key, weights=w, minlength=size).reshape(-1, 4)[:, :3]
    sw2 = np.bincount(key, weights=w * w, minlength=size).reshape(-1, 4)[:, :3]
    W = sw.sum(1)
    keep = cnt.sum(1) > 0
    nps = 100.0 * (sw[:, 2] - sw[:, 0]) / W
    m = nps / 100.0
    a = sw2[:, 2] * (1 - m) ** 2 + sw2[:, 1] * m**2 + sw2[:, 0] * (1 + m) ** 2
    N = len(s)
    se = 100.0 * np.sqrt(N / (N - 1) * a) / W
    z = 1.959963984540054
    return {
        "n": cnt.sum(1)[keep], "n_eff": (W**2 / sw2.sum(1))[keep],
        "promoters": (sw[:, 2] / W)[keep], "detractors": (sw[:, 0] / W)[keep],
        "nps": nps[keep], "se": se[keep], "ci_low": (nps - z * se)[keep], "ci_high": (nps + z * se)[keep],
    }


def pandas_groupby(df):
    """For information: the same with pandas groupby (no SE shortcut)."""
    s = df["ltr"]
    d = df.assign(
        v=np.select([s >= 9, s <= 6], [100.0, -100.0], 0.0), ok=s.notna()
    )[lambda x: x.ok]
    d = d.assign(wv=d.w * d.v)
    g = d.groupby(["wave", "segment"], observed=True, sort=True)
    agg = g.agg(W=("w", "sum"), S=("wv", "sum"), n=("w", "size"))
    agg["nps"] = agg.S / agg.W
    d = d.join(agg["nps"], on=["wave", "segment"])
    d["a"] = (d.w * (d.v - d.nps)) ** 2
    agg["a"] = d.groupby(["wave", "segment"], observed=True, sort=True)["a"].sum()
    N = len(df)
    agg["se"] = np.sqrt(N / (N - 1) * agg.a) / agg.W
    return agg



def run(quick=False):
    # the target is stated for 10M rows, where fixed costs do not matter; --quick keeps the size
    # and skips the slow pandas comparison
    n = 10_000_000
    repeat = 3 if quick else 7
    df = make_data(n)
    t_base, ref, t_ours, res = best_of_pair(
        lambda: baseline(df), lambda: metrics.nps(df, "ltr", weight="w", by=["wave", "segment"]), repeat)
    for col, vals in ref.items():
        np.testing.assert_allclose(res[col].to_numpy(), vals, rtol=1e-9, err_msg=col)
    rows = [
        {"benchmark": "metrics.nps(weight, by=[wave, segment])", "rows": n, "baseline": "numpy bincount",
         "baseline_s": t_base, "ours_s": t_ours, "ratio": t_ours / t_base, "target": TARGET,
         "pass": t_ours / t_base <= TARGET},
    ]
    if not quick:
        t_pd, agg = best_of(lambda: pandas_groupby(df), 1)
        np.testing.assert_allclose(agg["se"].to_numpy(), res["se"].to_numpy(), rtol=1e-6)
        rows.append(
            {"benchmark": "pandas groupby, same numbers (for information)", "rows": n, "baseline": "numpy bincount",
             "baseline_s": t_base, "ours_s": t_pd, "ratio": t_pd / t_base, "target": None, "pass": None})
    return report("metrics", quick, repeat, rows)




if __name__ == "__main__":
    sys.exit(main(run, __doc__, quick_help="3 repeats, no pandas comparison (for CI)"))
