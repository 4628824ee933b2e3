"""House rules every analysis notebook keeps (cheap checks, no kernel).

Each notebook's own end-to-end test (tests/test_nb_<area>.py) runs it and reads its PDF.
"""

from __future__ import annotations

import ast
import json

import pytest

from workbench import PROJECT_ROOT
from workbench.config import CommonParams, load_params, notebook_parameters

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
PARAMS = sorted(p for p in (PROJECT_ROOT / "params").glob("**/*.yaml") if p.name != "codebook.yaml")


def _nb(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    for cell in _nb(path)["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, path.name


def _code(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_parameters_and_metadata(path):
    nb = _nb(path)
    first = _code(nb)[0]  # markdown cells (the title, the parameters' use) may come before it
    assert "parameters" in first["metadata"].get("tags", []), "first code cell must be tagged parameters"
    params = notebook_parameters(path)
    for key in CommonParams.model_fields:
        assert key in params, f"{path.name}: common parameter {key!r} missing"
    assert "output_dir" in params
    assert params["data"]["default"] == "demo" and params["codebook"]["default"] == "demo"
    assert params["language"]["choices"] == ("en", "zh")
    title = nb["metadata"]["workbench"]["title"]
    assert title.get("en") and title.get("zh")
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    setup = "".join(_code(nb)[1]["source"])
    assert f'report.setup(globals(), "{path.stem}")' in setup


#: notebooks whose markdown narrative is still to be written (the test reminds, without failing)
NARRATIVE_PENDING: set[str] = set()


def _top_headings(cell) -> bool:
    """Whether a code cell starts a report section (``report.heading(..., 1)``)."""
    for node in ast.walk(ast.parse("".join(cell["source"]))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "heading"
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value == 1):
            return True
    return False


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(p.stem in NARRATIVE_PENDING, reason="narrative not written yet",
                                            strict=False)) for p in NOTEBOOKS], ids=lambda p: p.stem)
def test_notebook_reads_as_a_narrative_before_it_runs(path):
    """A title cell first (the Lab's table of contents starts with it), a markdown cell before the
    parameters and before every code cell that opens a report section (the question it answers)."""
    cells = _nb(path)["cells"]
    first = "".join(cells[0]["source"]) if cells[0]["cell_type"] == "markdown" else ""
    assert first.startswith("# "), f"{path.name}: the first cell is a markdown title (# ...)"
    params_cell = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or not (i == params_cell or _top_headings(cell)):
            continue
        before = cells[i - 1] if i else None
        assert before is not None and before["cell_type"] == "markdown" and "".join(before["source"]).strip(), (
            f"{path.name} cell {i}: a markdown cell saying what this section answers comes before it")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_narrates_and_the_package_computes(path):
    for i, cell in enumerate(_nb(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), (
                f"{path.name} cell {i}: no def/class/lambda in notebooks; put it in the package"
            )


@pytest.mark.parametrize("path", PARAMS, ids=lambda p: str(p.relative_to(PROJECT_ROOT / "params")))
def test_params_files_validate(path):
    spec = load_params(path)
    assert spec.notebook.exists()
