"""Benchmark: what the deck and the workbook add to a run, against the same run with PDF only.

Baseline: ``run_spec(spec, formats=("pdf",))`` — execute the notebook, save the report model,
print the PDF.  Ours: the same run with ``formats=("pdf", "html", "pptx", "xlsx")``.  Both runs
share one PDF renderer (one Chromium, as ``workbench demo`` and ``batch`` do), alternate (so load
changes on the machine hit both alike) and go to fresh output folders.  The figure is the ratio
of wall times ours / baseline; the target is at most 1.25 (deck and workbook add at most 25%).

The notebook's execution dominates both runs and varies from run to run, so the table also
gives, for information, the export step alone (the manifests' ``export_s``) for each, and each
run's seconds by format go to stderr (the manifests' ``export_by_format_s``).

Usage::

    python bench/bench_formats.py [--quick] [--json PATH]

``--quick`` runs one params file once (the sampling report); the full run takes the sampling and
key-driver reports, best of 2.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.config import load_params  # noqa: E402
from workbench.export import PDFRenderer  # noqa: E402
from workbench.runner import run_spec  # noqa: E402

from _common import main, report  # noqa: E402

ALL = ("pdf", "html", "pptx", "xlsx")
TARGET = 1.25


def _one(spec, out: Path, formats, renderer) -> tuple[float, float]:
    t0 = time.perf_counter()
    res = run_spec(spec, out=out, formats=formats, renderer=renderer)
    wall = time.perf_counter() - t0
    timings = json.loads((res.folder / "manifest.json").read_text(encoding="utf-8"))["timings"]
    by_format = ", ".join(f"{k} {v:.2f}s" for k, v in timings.get("export_by_format_s", {}).items())
    print(f"  {spec.notebook.stem} {','.join(formats)}: {wall:.1f}s (export: {by_format})", file=sys.stderr)
    return wall, float(timings.get("export_s", 0.0))


def run(quick: bool = False) -> dict:
    names = ["sampling"] if quick else ["sampling", "drivers"]
    repeat = 1 if quick else 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="cxwb-bench-formats-") as tmp, PDFRenderer() as renderer:
        work = Path(tmp)
        for name in names:
            spec = load_params(ROOT / "params" / "demo" / f"{name}.yaml")
            _one(spec, work / "warm", ("pdf",), renderer)  # demo data, imports, fonts, the browser
            base, ours, base_exp, ours_exp = [], [], [], []
            for i in range(repeat):
                w, e = _one(spec, work / f"pdf-{i}", ("pdf",), renderer)
                base.append(w)
                base_exp.append(e)
                w, e = _one(spec, work / f"all-{i}", ALL, renderer)
                ours.append(w)
                ours_exp.append(e)
            b, o = min(base), min(ours)
            rows.append({"benchmark": f"run {spec.notebook.stem}: pdf,html,pptx,xlsx", "rows": 1,
                         "baseline": "same run, pdf only", "baseline_s": b, "ours_s": o,
                         "ratio": o / b, "target": TARGET, "pass": o / b <= TARGET})
            be, oe = min(base_exp), min(ours_exp)
            rows.append({"benchmark": f"export step of {spec.notebook.stem} (for information)", "rows": 1,
                         "baseline": "pdf only", "baseline_s": be, "ours_s": oe,
                         "ratio": oe / be if be else float("nan"), "target": None, "pass": None})
    return report("formats", quick, repeat, rows)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
