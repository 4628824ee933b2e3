"""Warm kernels (workbench.kernels): the next run's kernel starts while this run exports, serves
that one run only, starts where the run's notebook is, and never outlives the process; kernels
forked from a process that imported everything once (workbench.forkserver) keep those promises."""

from __future__ import annotations

import json
import os

import signal
import sys
import time

import psutil
import pytest

from workbench import forkserver, kernels
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


def _is_server(p: psutil.Process) -> bool:
    try:
        return "workbench.forkserver" in " ".join(p.cmdline())
    except psutil.Error:
        return False


def _kernels_of_this_process() -> list[psutil.Process]:
    """Kernels started by this process, and kernels forked by its fork servers."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "ipykernel" in " ".join(p.cmdline()) or (_is_server(psutil.Process(p.ppid())) and
                                                          p.status() != psutil.STATUS_ZOMBIE):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _servers_of_this_process() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if _is_server(p)]


def _kernel_line(folder) -> list[str]:
    nb = json.loads(next(folder.glob("*.ipynb")).read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            if text.startswith("KERNEL"):
                return [s.strip() for s in text[len("KERNEL"):].split("|")]
    raise AssertionError("the notebook printed no KERNEL line")


@pytest.fixture()
def two_runs(nbdir, tmp_path, monkeypatch):
    """Warm kernels started and imported the usual way (forking is tested on its own below)."""
    monkeypatch.setenv("WORKBENCH_FORK_KERNELS", "0")
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


# --- kernels forked from a pre-imported server ----------------------------------------------

FORKED_BODY = """
import os, sys
import numpy as np, pandas as pd, matplotlib.pyplot as plt
import workbench
seen = sorted(k for k in globals() if k.startswith("_wb_"))
left = getattr(workbench, "_left_by_the_run_before", "-")
workbench._left_by_the_run_before = period  # the next run must not see it
fig, ax = plt.subplots()
ax.plot([1, 2, 3])
plt.show()
print("KERNEL", os.getcwd(), "|", ",".join(seen) or "-", "|", os.getpid(), "|", os.getppid(), "|",
      left, "|", np.random.random())
"""


def _images(folder) -> int:
    nb = json.loads(next(folder.glob("*.ipynb")).read_text())
    return sum("image/png" in out.get("data", {}) for c in nb["cells"] for out in c.get("outputs", []))


@pytest.fixture()
def forked_runs(nbdir, tmp_path, monkeypatch):
    if not forkserver.enabled():
        pytest.skip("kernels are forked on Linux with pidfds only")
    monkeypatch.delenv("WORKBENCH_FORK_KERNELS", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # ipykernel's inline backend, as in the Lab
    nb = make_notebook(nbdir, "forked", FORKED_BODY)
    files = [write_params(tmp_path / f"f{i}.yaml", nb, period=f"2026-0{i + 1}") for i in range(4)]
    yield nb, [load_params(f) for f in files], tmp_path / "reports"
    kernels.shutdown_all()


@pytest.mark.e2e
def test_queued_runs_get_kernels_forked_from_one_pre_imported_server(forked_runs):
    nb, specs, out = forked_runs
    results = [run_spec(s, out=out, formats=("html",), warm_next=i < 3) for i, s in enumerate(specs)]
    manifests = [json.loads((r.folder / "manifest.json").read_text()) for r in results]
    # the first run starts its kernel as ever; as it exports the server starts importing, the
    # second run's kernel is forked from it, and from then on the next kernel is forked while
    # the run before exports
    assert [m["forked_kernel"] for m in manifests] == [False, True, True, True]
    assert [m["warm_kernel"] for m in manifests] == [False, False, True, True]
    assert all(m["status"] == "ok" for m in manifests)
    lines = [_kernel_line(r.folder) for r in results]
    (server,) = _servers_of_this_process()
    cwds, names, pids, ppids, left, draws = zip(*lines)
    assert set(cwds) == {nb.parent.name} and set(names) == {"-"}
    assert len(set(pids)) == 4  # a process of its own for every run
    assert ppids[1:] == (str(server.pid),) * 3  # forked by the server
    # isolation: what a run leaves in an imported module is gone for the next one
    assert left == ("-",) * 4
    assert len(set(draws)) == 4  # each kernel its own random stream, as a fresh kernel has
    assert [_images(r.folder) for r in results] == [1, 1, 1, 1]  # the inline backend draws
    cells = json.loads(next(results[2].folder.glob("*.ipynb")).read_text())["cells"]
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert _kernels_of_this_process() == []  # every kernel shut down after its run
    kernels.shutdown_all()
    server.wait(timeout=30)  # the server ends with its client's pipe


@pytest.mark.e2e
def test_a_run_in_another_environment_is_not_forked(forked_runs, monkeypatch):
    _, specs, out = forked_runs
    run_spec(specs[0], out=out, formats=("html",), warm_next=True)
    monkeypatch.setenv("WB_SOMETHING_NEW", "1")  # the server imported under another environment
    res = run_spec(specs[1], out=out, formats=("html",))
    m = json.loads((res.folder / "manifest.json").read_text())
    assert m["status"] == "ok" and m["forked_kernel"] is False


@pytest.mark.e2e
def test_forking_can_be_turned_off(forked_runs, monkeypatch):
    _, specs, out = forked_runs
    monkeypatch.setenv("WORKBENCH_FORK_KERNELS", "0")
    for i, s in enumerate(specs[:2]):
        res = run_spec(s, out=out, formats=("html",), warm_next=i == 0)
    m = json.loads((res.folder / "manifest.json").read_text())
    assert m["warm_kernel"] is True and m["forked_kernel"] is False
    assert _servers_of_this_process() == []


def test_only_ipykernel_launcher_commands_are_forked():
    py = sys.executable
    assert forkserver.split_kernel_cmd([py, "-m", "ipykernel_launcher", "-f", "c.json"]) == (
        [py], ["-f", "c.json"])
    assert forkserver.split_kernel_cmd([py, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "c"]) == (
        [py, "-Xfrozen_modules=off"], ["-f", "c"])
    for other in ([py, "-m", "other_kernel", "-f", "c"], [py, "-c", "x", "-m", "ipykernel_launcher"],
                  ["R", "--slave"], [py]):
        assert forkserver.split_kernel_cmd(other) is None


def _server(tmp_path):
    server = forkserver.ForkServer([sys.executable], dict(os.environ), str(tmp_path))
    assert server.ready(forkserver.READY_TIMEOUT_S)
    return server


def test_server_refuses_bad_requests_and_a_kernel_that_cannot_start_just_ends(tmp_path):
    if not forkserver.enabled():
        pytest.skip("kernels are forked on Linux with pidfds only")
    server = _server(tmp_path)
    try:
        server.proc.stdin.write(b'{"argv": "not a list"}\n[1]\nnot json\n')
        server.proc.stdin.flush()
        assert server._read(30) == {"error": "bad request"}  # answered, still serving
        assert server._read(30) == {"error": "bad request"}
        assert server._read(30) == {"error": "bad request"}
        # a kernel that cannot start (its folder is gone) ends; its handle sees it end
        kernel = server.fork(["-f", str(tmp_path / "k.json")], dict(os.environ), str(tmp_path / "gone"))
        assert kernel is not None
        assert kernel.wait(timeout=30) is not None
        kernel.kill()  # signalling an ended kernel is harmless (pidfd: never another process)
        assert server.accepts([sys.executable], os.environ)
    finally:
        server.close()
    assert server.proc.poll() is not None and not server.accepts([sys.executable], os.environ)


def test_server_ends_when_its_client_goes_and_its_kernels_follow(tmp_path):
    if not forkserver.enabled():
        pytest.skip("kernels are forked on Linux with pidfds only")
    from jupyter_client.connect import write_connection_file

    server = _server(tmp_path)
    conn, _ = write_connection_file(str(tmp_path / "k.json"))
    kernel = server.fork(["-f", conn], dict(os.environ), str(tmp_path))
    assert kernel is not None
    time.sleep(1)
    assert kernel.poll() is None  # a kernel, up and serving
    os.kill(server.proc.pid, signal.SIGKILL)  # the server dies without a word
    server.proc.wait(timeout=10)
    assert kernel.wait(timeout=60) is not None  # its parent poller ends it
    server.close()
