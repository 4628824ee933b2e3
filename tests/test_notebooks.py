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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_parameters_and_metadata(path):
    nb = _nb(path)
    first = nb["cells"][0]
    assert "parameters" in first["metadata"].get("tags", []), "first cell must be tagged parameters"
    params = notebook_parameters(path)
    for key in CommonParams.model_fields:
        assert key in params, f"{path.name}: common parameter {key!r} missing"
    assert "output_dir" in params
    assert params["data"]["default"] == "demo" and params["codebook"]["default"] == "demo"
    assert params["language"]["choices"] == ("en", "zh")
    title = nb["metadata"]["workbench"]["title"]
    assert title.get("en") and title.get("zh")
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    setup = "".join(nb["cells"][1]["source"])
    assert f'report.setup(globals(), "{path.stem}")' in setup


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
