"""The Lab: `make lab` / `workbench open` start JupyterLab whose kernels draw inline (as root too),
a params file opens as a parametrised copy that leaves the notebook's defaults alone, and notebook
outputs never reach git (the committed pre-commit hook, and the tracked notebooks themselves).

Waits are bounded: kernels and servers get at most a minute to start.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench import PROJECT_ROOT, lab
from workbench.cli import main
from workbench.config import load_params
from workbench.errors import ParamsError

DEMO_GAPS = PROJECT_ROOT / "params" / "demo" / "gaps.yaml"
HOOK = PROJECT_ROOT / ".githooks" / "pre-commit"
START_S = 60  # a kernel or a server that has not started by then has failed


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hook():
    loader = importlib.machinery.SourceFileLoader("wb_pre_commit", str(HOOK))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def _env_without_mplbackend() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}


# ============================================================================================
# make lab: root, token URL, the kernel's own backend
# ============================================================================================
def test_make_lab_unsets_mplbackend_and_goes_through_workbench_open():
    text = (PROJECT_ROOT / "Makefile").read_text()
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "Makefile has a lab target"
    assert "env -u MPLBACKEND" in recipe.group(1) and "workbench open" in recipe.group(1)
    assert "export MPLBACKEND := Agg" in text  # still headless for demo, tests and bench


def test_kernelspec_sets_no_matplotlib_backend():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert "MPLBACKEND" not in (spec.env or {})
    installed = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    if installed.exists():  # the one `make setup` installs with --sys-prefix
        assert "MPLBACKEND" not in json.loads(installed.read_text()).get("env", {})


def test_lab_command_as_root_with_a_token_url_and_no_mplbackend(tmp_path):
    env = {"MPLBACKEND": "Agg", "PATH": "/usr/bin"}
    as_root = lab.lab_command(root=True, port=8899, env=env, browser=False)
    assert "--allow-root" in as_root.argv and "--no-browser" in as_root.argv
    assert "--ServerApp.port=8899" in as_root.argv and "--ServerApp.port_retries=0" in as_root.argv
    assert "MPLBACKEND" not in as_root.env and as_root.env["JUPYTER_TOKEN"] == as_root.token
    assert as_root.url == f"http://localhost:8899/lab?token={as_root.token}"
    assert len(as_root.token) >= 32 and as_root.cwd == lab.NOTEBOOKS.resolve()
    assert "env -u MPLBACKEND" in as_root.shell() and as_root.token in as_root.shell()

    user = lab.lab_command(root=False, port=8899, env=env)
    assert "--allow-root" not in user.argv and "--no-browser" not in user.argv
    assert user.token != as_root.token

    nb = tmp_path / "scratch" / "x.ipynb"
    nb.parent.mkdir()
    nb.write_text("{}")
    outside = lab.lab_command(nb, port=8899, env=env)
    assert outside.cwd == nb.parent.resolve() and outside.argv[-1] == str(nb.resolve())
    assert outside.url.startswith("http://localhost:8899/lab/tree/x.ipynb?token=")
    with pytest.raises(ParamsError, match="no such notebook"):
        lab.lab_command(tmp_path / "missing.ipynb")


def test_free_port_prefers_the_default_and_steps_aside_when_taken():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        other = lab.free_port("127.0.0.1", taken)
        assert other != taken and 0 < other < 65536


# ============================================================================================
# workbench open: a parametrised copy, never the notebook
# ============================================================================================
def _injected_cell(nb: dict) -> str:
    cells = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1
    return "".join(cells[0]["source"])


def test_prepare_writes_a_copy_with_the_validated_parameters(tmp_path):
    spec = load_params(DEMO_GAPS)
    before = _sha(spec.notebook)
    prep = lab.prepare(DEMO_GAPS, folder=tmp_path, out=tmp_path / "side")
    assert prep.status == "new" and prep.path == tmp_path / "demo" / f"{spec.run}.ipynb"
    assert _sha(spec.notebook) == before, "the notebook itself is never edited"
    nb = json.loads(prep.path.read_text())
    injected = nb["metadata"]["papermill"]["parameters"]
    assert injected == {**spec.params, "output_dir": str((tmp_path / "side").resolve())}
    assert 'compare_by = "segment"' in _injected_cell(nb)  # the params file's value, not the cell's ""
    original = json.loads(spec.notebook.read_text())
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert first_code["source"] == next(c for c in original["cells"] if c["cell_type"] == "code")["source"]
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_prepare_keeps_edits_and_backs_up_a_copy_with_other_parameters(tmp_path):
    first = lab.prepare(DEMO_GAPS, folder=tmp_path)
    first.path.write_text(first.path.read_text().replace("# Parameters", "# Parameters (my edit)"))
    again = lab.prepare(DEMO_GAPS, folder=tmp_path)
    assert again.status == "kept" and "my edit" in again.path.read_text()

    other = lab.prepare(DEMO_GAPS, folder=tmp_path, overrides={"top_actions": 5})
    assert other.status == "replaced" and other.backup is not None and other.path == first.path
    assert "my edit" in other.backup.read_text() and "top_actions = 5" in other.path.read_text()

    fresh = lab.prepare(DEMO_GAPS, folder=tmp_path, overrides={"top_actions": 5}, fresh=True)
    assert fresh.status == "replaced" and fresh.backup is None
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted([first.path.name, other.backup.name])


def test_prepare_refuses_bad_parameters_before_writing(tmp_path):
    with pytest.raises(ParamsError, match="top_action"):
        lab.prepare(DEMO_GAPS, folder=tmp_path, overrides={"top_action": 5})
    assert not any(tmp_path.iterdir())


def test_open_print_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(lab, "SCRATCH", tmp_path)
    assert main(["open", "-f", str(DEMO_GAPS), "--print-only", "--port", "8898"]) == 0
    out = capsys.readouterr().out
    spec = load_params(DEMO_GAPS)
    assert f"{spec.notebook.name} is unchanged" in out
    assert (tmp_path / "demo" / f"{spec.run}.ipynb").is_file()
    url = re.search(r"^http://localhost:8898/lab/tree/(\S+)\?token=(\w+)$", out, re.M)
    assert url and url.group(1) == f"{spec.run}.ipynb"  # a scratch folder outside notebooks/ is the Lab's root
    assert ("--allow-root" in out) == (os.geteuid() == 0)
    assert "env -u MPLBACKEND" in out

    assert main(["open", "--print-only", "--port", "8898"]) == 0  # make lab: notebooks/ itself
    assert re.search(r"^http://localhost:8898/lab\?token=\w+$", capsys.readouterr().out, re.M)
    assert main(["open", "-p", "language", "zh", "--print-only"]) == 2


def test_markdown_cells_stay_out_of_the_client_report():
    import nbformat

    from workbench.export import html_report

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Analyst's note\n\n*How to read it:* NOT-FOR-CLIENTS"),
                nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/html": "<p>REPORT-TEXT</p>", "text/plain": "x"})])]
    html = html_report(nb)
    assert "REPORT-TEXT" in html and "NOT-FOR-CLIENTS" not in html and "Analyst" not in html


# ============================================================================================
# the kernel draws inline (nbclient with the project's kernelspec, no MPLBACKEND)
# ============================================================================================
_PLOT = """\
import os, matplotlib, seaborn as sns
print("backend", matplotlib.get_backend(), "env", os.environ.get("MPLBACKEND"))
ax = sns.barplot(x=["a", "b"], y=[1, 2])
"""


def _run(nb: dict, cwd: Path, timeout: int = 120):
    import nbformat
    from nbclient import NotebookClient

    node = nbformat.reads(json.dumps(nb), as_version=4)
    client = NotebookClient(node, kernel_name="python3", timeout=timeout, startup_timeout=START_S,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env=_env_without_mplbackend())
    return node


def _code_cell(source: str, nb: dict) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):
        cell["id"] = f"test-{len(nb['cells'])}"
    return cell


def test_a_prepared_copy_draws_seaborn_inline_after_setup(tmp_path):
    prep = lab.prepare(DEMO_GAPS, folder=tmp_path, out=tmp_path / "side")
    nb = json.loads(prep.path.read_text())
    setup = next(i for i, c in enumerate(nb["cells"]) if "report.setup(" in "".join(c["source"]))
    nb["cells"] = nb["cells"][:setup + 1] + [_code_cell(_PLOT, nb)]
    out = _run(nb, tmp_path).cells[-1].outputs
    text = "".join(o.get("text", "") for o in out if o.output_type == "stream")
    assert "inline" in text.split("backend", 1)[1].split("env")[0].lower(), text
    assert "Agg" not in text  # ipykernel chose the backend (and set MPLBACKEND to it)
    assert any("image/png" in o.get("data", {}) for o in out if o.output_type == "display_data"), out


# ============================================================================================
# outputs never reach git
# ============================================================================================
def test_tracked_notebooks_carry_no_outputs():
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files", "-z", "*.ipynb"], cwd=PROJECT_ROOT, capture_output=True,
                           check=True, timeout=30).stdout.decode().split("\0")
    files = [f for f in files if f]
    assert files
    hook = _hook()
    bad = {f: found for f in files if (found := hook.problems((PROJECT_ROOT / f).read_text()))}
    assert not bad, f"{bad}: clear them with `jupyter nbconvert --clear-output --inplace <file>`"


def _git(repo: Path, *args, check=True):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          capture_output=True, text=True, check=check, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_hook_refuses_outputs_and_prints_the_fix(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "core.hooksPath", str(HOOK.parent))
    nb = json.loads((PROJECT_ROOT / "notebooks" / "04_five_gap.ipynb").read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code" and "report.setup" in "".join(c["source"]))
    code["execution_count"] = 3
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "respondent 4711 said ...\n"}]
    path = repo / "notebooks" / "a b.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb, indent=1))
    _git(repo, "add", ".")
    refused = _git(repo, "commit", "-q", "-m", "outputs", check=False)
    assert refused.returncode != 0
    assert "has outputs" in refused.stderr and "jupyter nbconvert --clear-output --inplace 'notebooks/a b.ipynb'" \
        in refused.stderr

    # the printed fix works
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--clear-output", "--inplace", str(path)],
                   capture_output=True, check=True, timeout=120)
    _git(repo, "add", ".")
    assert _git(repo, "commit", "-q", "-m", "clean", check=False).returncode == 0

    # a prepared copy (papermill's injected-parameters cell) is refused too
    prep = lab.prepare(DEMO_GAPS, folder=tmp_path / "scratch")
    shutil.copy(prep.path, path)
    _git(repo, "add", ".")
    refused = _git(repo, "commit", "-q", "-m", "copy", check=False)
    assert refused.returncode != 0 and "injected-parameters" in refused.stderr


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_make_hooks_activates_the_committed_hooks(tmp_path):
    _git(tmp_path, "init", "-q")
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path / "Makefile")
    subprocess.run(["make", "-s", "hooks"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert _git(tmp_path, "config", "core.hooksPath").stdout.strip() == ".githooks"
    _git(tmp_path, "config", "core.hooksPath", "elsewhere")
    res = subprocess.run(["make", "-s", "hooks"], cwd=tmp_path, check=True, capture_output=True, text=True,
                         timeout=60)
    assert "not active" in res.stdout and _git(tmp_path, "config", "core.hooksPath").stdout.strip() == "elsewhere"


# ============================================================================================
# end to end: a real JupyterLab server, and prepared copies run through ("Run all")
# ============================================================================================
def _wait_for(predicate, what: str, seconds: float = START_S):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.25)
    raise AssertionError(f"{what} within {seconds:g} s (last error: {last})")


@pytest.mark.e2e
def test_workbench_open_serves_a_lab_whose_kernels_draw_inline(tmp_path):
    """As `make lab` does (MPLBACKEND=Agg in the caller's environment; root if the tests are)."""
    from jupyter_client import BlockingKernelClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MPLBACKEND": "Agg", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    log = (tmp_path / "lab.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "open", "--no-browser", "--ip", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = _wait_for(lambda: re.search(r"JupyterLab: (http://127\.0\.0\.1:\d+/lab\?token=(\w+))",
                                          (tmp_path / "lab.log").read_text()), "the URL is printed")
        token = url.group(2)
        api = f"http://127.0.0.1:{port}/api"
        _wait_for(lambda: urllib.request.urlopen(f"{api}/status?token={token}", timeout=5).status == 200,
                  "the server answers")
        assert urllib.request.urlopen(url.group(1), timeout=30).status == 200  # the printed URL opens the Lab
        req = urllib.request.Request(f"{api}/kernels?token={token}", data=b'{"name": "python3"}', method="POST",
                                     headers={"Content-Type": "application/json"})
        kernel = json.loads(urllib.request.urlopen(req, timeout=START_S).read())
        conn = _wait_for(lambda: next((tmp_path / "runtime").glob(f"kernel-{kernel['id']}.json"), None),
                         "the kernel's connection file appears")
        kc = BlockingKernelClient(connection_file=str(conn))
        kc.load_connection_file()
        kc.start_channels(hb=False)  # heartbeats miss on a busy machine; readiness is the kernel_info reply
        try:
            kc.wait_for_ready(timeout=START_S)
            outputs = []
            reply = kc.execute_interactive(_PLOT, timeout=120, output_hook=outputs.append)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        assert "inline" in text.lower() and "Agg" not in text, text
        assert any("image/png" in m["content"].get("data", {}) for m in outputs if m["msg_type"] == "display_data")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


_PARAMS_OUT = "import json\nprint(json.dumps(dict(ctx.params), sort_keys=True))\n"


def _run_all(params_file, tmp_path):
    spec = load_params(params_file)
    prep = lab.prepare(params_file, folder=tmp_path / "scratch", out=tmp_path / "side")
    nb = json.loads(prep.path.read_text())
    nb["cells"].append(_code_cell(_PARAMS_OUT, nb))
    done = _run(nb, prep.path.parent, timeout=600)
    errors = [o for c in done.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    used = json.loads("".join(o.get("text", "") for o in done.cells[-1].outputs if o.output_type == "stream"))
    assert used == json.loads(json.dumps(spec.params))  # the params file's run, value for value
    return tmp_path / "side"


@pytest.mark.e2e
def test_a_prepared_copy_runs_all_for_the_demo(tmp_path):
    side = _run_all(DEMO_GAPS, tmp_path)
    assert (side / "five_gap_actions.csv").is_file()  # side files go where the copy says


@pytest.mark.e2e
def test_a_prepared_copy_runs_all_for_a_study_that_is_not_the_demo(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from _studygen import make_study

    study = make_study(tmp_path / "study", "library_gaps")
    side = _run_all(study["params"]["04_five_gap"], tmp_path)
    assert (side / "five_gap_diagnosis.csv").is_file()
