"""Benchmark: a tab book of 200 stubs x 30 banner columns on 100,000 weighted rows, with every test,
against pandas.crosstab computing only the weighted column percentages of the same stubs.

The book (``tabs.tab_book``) gives, per stub and banner column, the unweighted, weighted and
effective bases, the column percentages of every answer code, top-/bottom-box nets, mean, SD and SE
of the rating scales, promoters/passives/detractors and the NPS, significance letters of every
pair of columns within each banner group (pooled column-proportions z-test on effective bases;
design-based test of means), the test of every column against the rest of the total, and Holm's
adjustment within each family.  The baseline computes, in the same run and on the same rows, only
the weighted column percentages of the same stubs: one ``pd.crosstab(stub, variable,
values=weight, aggfunc="sum", normalize="columns")`` per stub and banner variable, plus the
Total column.  The target is at most 3x the baseline.

Two rows for information: the same book against a faster baseline (one ``groupby`` per stub and
variable: ``pd.crosstab`` with weights goes through ``pivot_table``), and the book with a previous
wave of 100,000 rows whose every cell is tested against it (baseline: the crosstabs of the reported
wave).

Usage::

    python bench/bench_tabs.py [--quick] [--json PATH]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import tabs  # noqa: E402
from workbench.codebook import Codebook  # noqa: E402

from _common import best_of_pair, main, report  # noqa: E402

TARGET = 3.0
# banner: Total + 29 columns in 6 groups (one of them with a net) = 30 columns
BANNER_VARS = {"brand": 6, "region": 5, "segment": 4, "age": 5, "gender": 2, "channel": 6}
N_STUBS = {"likert5": 80, "likert7": 60, "nps": 10, "cat": 50}  # 200 stubs


def make_study(n, waves=1, seed=7):
    rng = np.random.default_rng(seed)
    rows = n * waves
    cols = {"wave": np.repeat(np.arange(1, waves + 1), n)}
    questions = {"wave": {"type": "numeric", "integer": True}, "w": {"type": "weight"}}
    for var, k in BANNER_VARS.items():
        levels = [f"{var}{i}" for i in range(1, k + 1)]
        cols[var] = pd.Categorical.from_codes(rng.integers(0, k, rows), categories=levels).astype(str)
        questions[var] = {"type": "categorical", "levels": levels}
    lat = rng.normal(size=rows)
    stubs = []
    for kind, count in N_STUBS.items():
        for i in range(count):
            name = f"{kind}_{i}"
            stubs.append(name)
            if kind == "cat":
                k = 4 + i % 5
                levels = [f"c{j}" for j in range(k)]
                v = np.asarray(levels, dtype=object)[rng.integers(0, k, rows)]
                v[rng.random(rows) < 0.05] = None
                cols[name] = pd.array(v, dtype="str")
                questions[name] = {"type": "categorical", "levels": levels}
                continue
            hi = {"likert5": 5, "likert7": 7, "nps": 10}[kind]
            lo = 0 if kind == "nps" else 1
            y = np.clip(np.round((hi + lo) / 2 + (hi - lo) / 4 * (lat + rng.normal(size=rows))), lo, hi)
            y[rng.random(rows) < 0.05] = np.nan
            cols[name] = y
            questions[name] = {"type": "nps" if kind == "nps" else "likert", "min": lo, "max": hi}
    cols["w"] = rng.lognormal(0.0, 0.4, rows)
    df = pd.DataFrame(cols)
    cb = Codebook.from_dict({"version": 1, "study": {"id": "bench"},
                             "datasets": {"d": {"file": "d.csv", "columns": list(cols)}},
                             "questions": questions}, source="<bench>")
    return df, cb, stubs


BANNER = [{"brand": "all"}, {"region": ["region1", "region2", "region3", "region4", "region5",
                                         {"net": "r12", "codes": ["region1", "region2"]}]},
          {"segment": "all"}, {"age": "all"}, {"gender": "all"}]
# channel: the remaining 6 columns -> 1 + 6 + 6 + 4 + 5 + 2 + 6 = 30
BANNER.append({"channel": "all"})


def baseline(df, stubs):
    """Weighted column percentages of every stub by every banner variable, and the Total."""
    out = {}
    w = df["w"]
    for s in stubs:
        col = df[s]
        out[(s, "total")] = w.groupby(col).sum() / w[col.notna()].sum()
        for var in BANNER_VARS:
            out[(s, var)] = pd.crosstab(col, df[var], values=w, aggfunc="sum", normalize="columns")
    return out


def groupby_baseline(df, stubs):
    """For information: the same percentages with one groupby per stub and variable (faster than
    pd.crosstab, which goes through pivot_table)."""
    out = {}
    w = df["w"]
    for s in stubs:
        col = df[s]
        out[(s, "total")] = w.groupby(col).sum() / w[col.notna()].sum()
        for var in BANNER_VARS:
            t = w.groupby([col, df[var]], observed=True).sum().unstack(var)
            out[(s, var)] = t / t.sum()
    return out


def ours(df, cb, stubs, *, waves=False):
    return tabs.tab_book(df, cb, banner=BANNER, stubs=stubs, weight="w", wave="wave" if waves else None,
                         current="latest" if waves else None, compare_previous=waves, vs_total=True,
                         method="pooled", adjust="holm")


def check(book, ref, stubs):
    """The book's column percentages equal the crosstab's (a few stubs and columns)."""
    cells = book.cells.set_index(["stub", "column", "row"])["value"]
    for s in stubs[::37]:
        if s.startswith("nps"):
            continue
        tab = ref[(s, "brand")]
        for lev in tab.columns:
            for code in tab.index:
                key = f"level:{int(code) if isinstance(code, float) else code}"
                np.testing.assert_allclose(cells[(s, f"brand:{lev}", key)], tab.loc[code, lev], rtol=1e-9)


def run(quick=False):
    n = 100_000
    repeat = 1 if quick else 3
    df, cb, stubs = make_study(n)
    assert len(stubs) == 200
    t_base, ref, t_ours, book = best_of_pair(lambda: baseline(df, stubs), lambda: ours(df, cb, stubs), repeat)
    assert len(book.columns) == 30, len(book.columns)
    check(book, ref, stubs)
    n_tests = int(book.tests["p_val"].notna().sum())
    rows = [{"benchmark": f"tab_book 200 stubs x 30 columns, letters + vs total, Holm ({n_tests:,} tests)",
             "rows": n, "baseline": "pd.crosstab % only", "baseline_s": t_base, "ours_s": t_ours,
             "ratio": t_ours / t_base, "target": TARGET, "pass": t_ours / t_base <= TARGET}]
    if not quick:
        t_gb, gb, t_ours_gb, _ = best_of_pair(lambda: groupby_baseline(df, stubs), lambda: ours(df, cb, stubs), 1)
        pd.testing.assert_frame_equal(gb[(stubs[0], "brand")], ref[(stubs[0], "brand")], check_names=False,
                                      check_index_type=False, check_column_type=False, check_dtype=False)
        rows.append({"benchmark": "the same book against groupby percentages, for information", "rows": n,
                     "baseline": "groupby % only", "baseline_s": t_gb, "ours_s": t_ours_gb,
                     "ratio": t_ours_gb / t_gb, "target": None, "pass": None})
        df2, cb2, _ = make_study(n, waves=2)
        cur = df2[df2["wave"] == 2].reset_index(drop=True)
        t_base2, _, t_ours2, book2 = best_of_pair(lambda: baseline(cur, stubs),
                                                  lambda: ours(df2, cb2, stubs, waves=True), 3)
        n2 = int(book2.tests["p_val"].notna().sum())
        rows.append({"benchmark": f"... and vs the previous wave (2 waves in the data; {n2:,} tests), "
                                  "for information", "rows": 2 * n, "baseline": "pd.crosstab % only (1 wave)",
                     "baseline_s": t_base2, "ours_s": t_ours2, "ratio": t_ours2 / t_base2, "target": None,
                     "pass": None})
    return report("tabs", quick, repeat, rows)


if __name__ == "__main__":
    sys.exit(main(run, __doc__, quick_help="1 repeat, no previous-wave row (for CI)"))
