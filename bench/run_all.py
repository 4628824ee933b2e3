"""Run every benchmark in bench/ and write bench/RESULTS.md.

Each `bench/bench_*.py` prints a markdown table whose figures are ratios against a baseline
measured in the same run (machines are noisy; absolute seconds are for scale only).

    python bench/run_all.py [--quick] [--only NAME ...]

With --only, the other sections of an existing RESULTS.md are kept as they were.  Each section
records the date, machine and versions it was measured with.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    mem = ""
    try:
        kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = []
    for name in ("cx-workbench", "numpy", "pandas", "scipy", "semopy", "papermill", "nbconvert", "playwright",
                 "dask", "distributed"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return (f"- Date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n"
            f"- Machine: {os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}\n"
            f"- Python {platform.python_version()}; {', '.join(versions)}\n")


def _sections(text: str) -> dict[str, str]:
    """``{name: "## name ..." block}`` of an existing RESULTS.md."""
    parts = text.split("\n## ")
    preamble = "".join(line + "\n" for line in parts[0].splitlines() if line.startswith("- "))
    out = {}
    for block in parts[1:]:
        name, _, rest = block.partition("\n")
        if "- Date:" not in rest.split("\n|", 1)[0]:  # older layout: one machine block on top
            rest = "\n" + preamble + rest
        out[name.strip()] = f"## {name.strip()}\n" + rest.rstrip("\n") + "\n"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes where a benchmark offers them")
    ap.add_argument("--only", nargs="*", default=None, help="benchmark names, e.g. demo metrics")
    args = ap.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    sections: dict[str, str] = {}
    failed = []
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        print(f"== {name}", flush=True)
        t0 = time.time()
        cmd = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        res = subprocess.run(cmd, capture_output=True, text=True)
        took = time.time() - t0
        if res.returncode != 0 and res.stdout.strip():  # ran, but missed a target
            failed.append(name)
            body = res.stdout.strip() + "\n\n**A target was missed.**\n"
        elif res.returncode != 0:
            failed.append(name)
            body = f"Failed (exit {res.returncode}):\n\n```\n{res.stderr[-2000:]}\n```\n"
        else:
            body = res.stdout.strip() + "\n"
        print(body)
        sections[name] = (f"## {name}\n\n" + machine() + ("- Mode: quick\n" if args.quick else "") + "\n"
                          + f"{body}\n_{took:.0f} s including set-up; `python bench/{script.name}`_\n")
    results = HERE / "RESULTS.md"
    if args.only and results.exists():
        kept = _sections(results.read_text())
        kept.update(sections)
        sections = dict(sorted(kept.items()))
    doc = ("# Benchmark results\n\nEvery figure is a ratio against a baseline measured in the same run "
           "(`make bench`).\n\n" + "\n".join(sections.values()))
    results.write_text(doc)
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
