"""`workbench batch` on 2 workers against the same batch on 1 worker (sequential), same run.

The batch is N runs of the demo notebooks (the params files in params/demo, repeated with
distinct run ids), with PDF and HTML. Both sides go through the same code path; the only
difference is the number of dask workers, so the ratio is what fanning out buys.

    python bench/bench_batch.py [--quick] [--runs N] [--json PATH]

Target: >= 1.8x with 2 workers (on a machine with at least 2 cores).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_batch(folder: Path, runs: int) -> list[Path]:
    sources = sorted((ROOT / "params" / "demo").glob("*.yaml"))
    if not sources:
        raise SystemExit("no params files in params/demo")
    files = []
    for i in range(runs):
        src = sources[i % len(sources)]
        data = yaml.safe_load(src.read_text())
        data["run"] = f"{src.stem}-{i:02d}"
        f = folder / f"{i:02d}_{src.name}"
        f.write_text(yaml.safe_dump(data, allow_unicode=True))
        files.append(f)
    return files


def batch(pattern: str, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "workbench"), "batch", pattern, "--out", str(out), "--workers", str(workers),
                    "--force", "--no-progress"], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 runs instead of 20")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = ap.parse_args(argv)
    runs = args.runs or (8 if args.quick else 20)
    with tempfile.TemporaryDirectory(prefix="cxwb-batch-") as tmp:
        work = Path(tmp)
        (work / "params").mkdir()
        make_batch(work / "params", runs)
        pattern = str(work / "params" / "*.yaml")
        subprocess.run([str(BIN / "workbench"), "demo", "--formats", "html", "--params-dir",
                        str(ROOT / "params" / "demo"), "--out", str(work / "warm")],
                       check=True, capture_output=True)  # demo data and caches warm for both sides
        t_seq = batch(pattern, work / "seq", 1)
        t_par = batch(pattern, work / "par", 2)
    ratio = t_seq / t_par
    result = {"runs": runs, "sequential_s": round(t_seq, 1), "two_workers_s": round(t_par, 1),
              "ratio": round(ratio, 2), "target": 1.8, "pass": ratio >= 1.8}
    print("| benchmark | runs | 1 worker (s) | 2 workers (s) | ratio | target | pass |")
    print("|---|---|---|---|---|---|---|")
    print(f"| workbench batch, PDF + HTML | {runs} | {t_seq:.1f} | {t_par:.1f} | {ratio:.2f}x | >= 1.8x | "
          f"{'yes' if result['pass'] else 'no'} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
