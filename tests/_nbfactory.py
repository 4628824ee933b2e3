"""Build small notebooks for tests of the spine (runner, export, batch, robustness)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.export import find_chromium

HAS_PDF = find_chromium() is not None and shutil.which("pdftotext") is not None


def make_notebook(folder: Path, name: str, body: str, *, params: str | None = None) -> Path:
    params = params or textwrap.dedent(
        """\
        study = "demo"  # study id
        client = "Test Client"
        period = "2026-06"
        language = "en"  # one of: en, zh
        data = "demo"
        codebook = "demo"
        report_date = ""
        low_base = {"caution": 50, "min_test": 30}
        n = 100  # how many draws
        boom = False  # raise an error on purpose
        output_dir = ""
        """
    )
    nb = new_notebook(
        cells=[
            new_code_cell(params, metadata={"tags": ["parameters"]}),
            new_code_cell(f'from workbench import report\nctx = report.setup(globals(), "{name}.ipynb")'),
            new_markdown_cell("# Test report\n\nSome narrative."),
            new_code_cell(textwrap.dedent(body)),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "workbench": {"title": {"en": "Test report", "zh": "测试报告"}},
        },
    )
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


BODY = """
import warnings
import numpy as np, pandas as pd, matplotlib.pyplot as plt
from workbench import plots
from workbench.errors import LowBaseWarning
if boom:
    raise ValueError("planted failure")
warnings.warn("a raw warning that must not reach the report")
warnings.warn("Base is low for segment X", LowBaseWarning)
x = np.random.default_rng(1).normal(size=n)
report.table(pd.DataFrame({"brand": ["Aurora 极光", "Beacon"], "nps": [12.34, -3.0]}), caption="NPS by brand")
fig, ax = plt.subplots()
ax.hist(x)
report.figure(plots.finish(fig, title="Distribution 分布", base=plots.base_text(n, lang=ctx.lang)))
print("computed", round(float(x.mean()), 3))
"""


def write_params(path: Path, notebook: Path, **params) -> Path:
    path.write_text(yaml.safe_dump({"notebook": str(notebook), **params}, allow_unicode=True))
    return path
