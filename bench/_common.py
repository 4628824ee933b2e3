"""Shared pieces of the benchmarks: timing against a baseline in the same run, the report table,
and the command line every `bench_*.py` offers (`--quick`, `--json PATH`)."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd


def best_of(fn, repeat):
    """Best wall time of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def best_of_pair(base_fn, ours_fn, repeat):
    """Best of ``repeat`` runs each, alternating baseline and ours so that load changes on the
    machine hit both alike."""
    tb, to = [], []
    ref = res = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ref = base_fn()
        tb.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = ours_fn()
        to.append(time.perf_counter() - t0)
    return min(tb), ref, min(to), res


def report(suite, quick, repeat, rows):
    """The JSON report of one suite, with the versions that matter for its figures."""
    return {"suite": suite, "quick": quick, "repeat": repeat, "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__, "machine": platform.machine(), "results": rows}


def markdown(rep):
    lines = [
        f"### {rep['suite']} ({'quick' if rep['quick'] else 'full'}, best of {rep['repeat']})",
        "",
        "| benchmark | rows | baseline | baseline s | ours s | ratio | target | pass |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rep["results"]:
        target = f"<= {r['target']}x" if r["target"] else "-"
        ok = "-" if r["pass"] is None else ("yes" if r["pass"] else "NO")
        lines.append(f"| {r['benchmark']} | {r['rows']:,} | {r['baseline']} | {r['baseline_s']:.3f} | "
                     f"{r['ours_s']:.3f} | {r['ratio']:.2f} | {target} | {ok} |")
    return "\n".join(lines)


def main(run, doc, argv=None, quick_help="fewer repeats (for CI)"):
    """Parse the shared options, run, print the markdown table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", type=Path, help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    rep = run(quick=args.quick)
    print(markdown(rep))
    if args.json:
        args.json.write_text(json.dumps(rep, indent=2))
    return 0 if all(r["pass"] is not False for r in rep["results"]) else 1
