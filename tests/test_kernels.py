"""Warm kernels (workbench.kernels): the next run's kernel starts while this run exports, serves
that one run only, starts where the run's notebook is, and never outlives the process."""

from __future__ import annotations

import json
import os

import psutil
import pytest

from workbench import kernels
from workbench.config import load_params
from workbench.runner import run_spec

from _nbfactory import make_notebook, write_params

BODY = """
import os, sys
import pandas as pd
seen = sorted(k for k in globals() if k.startswith("_wb_") or k in ("importlib", "os_"))
report.table(pd.DataFrame({"what": ["cwd", "names left by warm-up", "kernel pid"],
                           "value": [os.getcwd(), ",".join(seen) or "-", str(os.getpid())]}),
             caption="Kernel")
print("KERNEL", os.getcwd(), "|", ",".join(seen) or "-", "|", os.getpid(), "|",
      "seaborn" in sys.modules)
"""


def _kernels_of_this_process() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if "ipykernel" in " ".join(p.cmdline())]


def _kernel_line(folder) -> list[str]:
    nb = json.loads(next(folder.glob("*.ipynb")).read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            if text.startswith("KERNEL"):
                return [s.strip() for s in text[len("KERNEL"):].split("|")]
    raise AssertionError("the notebook printed no KERNEL line")


@pytest.fixture()
def two_runs(nbdir, tmp_path):
    nb = make_notebook(nbdir, "warm", BODY)
    files = [write_params(tmp_path / f"p{i}.yaml", nb, period=f"2026-0{i + 1}") for i in range(3)]
    yield nb, [load_params(f) for f in files], tmp_path / "reports"
    kernels.shutdown_all()


@pytest.mark.e2e
def test_next_run_takes_the_kernel_started_while_this_one_exported(two_runs):
    nb, specs, out = two_runs
    first = run_spec(specs[0], out=out, formats=("html",), warm_next=True)
    assert len(_kernels_of_this_process()) == 1  # the warm kernel, started as the first exported
    second = run_spec(specs[1], out=out, formats=("html",), warm_next=lambda: False)
    m1 = json.loads((first.folder / "manifest.json").read_text())
    m2 = json.loads((second.folder / "manifest.json").read_text())
    assert m1["warm_kernel"] is False and m2["warm_kernel"] is True
    cwd1, names1, pid1, _ = _kernel_line(first.folder)
    cwd2, names2, pid2, warm_imports = _kernel_line(second.folder)
    # the warm kernel runs where the notebook is (the published notebook shows a folder outside
    # the project by its name), with nothing of the warm-up in its namespace, and is a kernel of
    # its own (isolation: one run per kernel)
    assert cwd1 == cwd2 == nb.parent.name
    assert names1 == names2 == "-"
    assert pid1 != pid2
    assert warm_imports == "True"  # what the warm-up imported is there before the first cell
    # execution counts start at 1 as in a cold kernel (the warm-up is not a cell of the run)
    cells = json.loads(next(second.folder.glob("*.ipynb")).read_text())["cells"]
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert _kernels_of_this_process() == []  # used and shut down; no new one was asked for


@pytest.mark.e2e
def test_warm_kernel_moves_to_the_next_notebooks_folder(two_runs, tmp_path, nbdir):
    _, specs, out = two_runs
    other = nbdir / "elsewhere"
    other.mkdir()
    nb2 = make_notebook(other, "warm", BODY)
    spec2 = load_params(write_params(tmp_path / "q.yaml", nb2, period="2026-09"))
    run_spec(specs[0], out=out, formats=("html",), warm_next=True)
    res = run_spec(spec2, out=out, formats=("html",))
    assert json.loads((res.folder / "manifest.json").read_text())["warm_kernel"] is True
    assert _kernel_line(res.folder)[0].endswith("elsewhere")  # not the first notebook's folder


@pytest.mark.e2e
def test_warm_kernel_of_another_environment_is_not_used(two_runs, monkeypatch):
    _, specs, out = two_runs
    run_spec(specs[0], out=out, formats=("html",), warm_next=True)
    (warm,) = _kernels_of_this_process()
    monkeypatch.setenv("WB_SOMETHING_NEW", "1")  # the next run would see another environment
    res = run_spec(specs[1], out=out, formats=("html",))
    assert json.loads((res.folder / "manifest.json").read_text())["warm_kernel"] is False
    assert not warm.is_running() or warm.status() == psutil.STATUS_ZOMBIE
    assert _kernels_of_this_process() == []


@pytest.mark.e2e
def test_unused_warm_kernel_is_shut_down(two_runs):
    _, specs, out = two_runs
    run_spec(specs[0], out=out, formats=("html",), warm_next=True)
    (warm,) = _kernels_of_this_process()
    kernels.shutdown_all()
    warm.wait(timeout=30)
    assert _kernels_of_this_process() == []


def test_no_kernel_is_handed_without_one_prepared():
    assert kernels.take(os.getcwd()) is False
    cls = kernels.manager_class()
    km = cls(kernel_name="python3")
    assert not km.has_kernel  # a fresh manager: nbclient starts its kernel as usual


@pytest.mark.e2e
def test_warm_kernels_can_be_turned_off(two_runs, monkeypatch):
    _, specs, out = two_runs
    monkeypatch.setenv("WORKBENCH_WARM_KERNELS", "0")
    run_spec(specs[0], out=out, formats=("html",), warm_next=True)
    assert _kernels_of_this_process() == []
    res = run_spec(specs[1], out=out, formats=("html",))
    assert json.loads((res.folder / "manifest.json").read_text())["warm_kernel"] is False
