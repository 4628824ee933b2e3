"""`workbench batch --scheduler`: workers that share no disk with the client.

The workers here run on this machine, but they cannot see the client's folder: each worker
process and each kernel it starts carries an audit hook that refuses to open or list anything
under the client's project folder (the test's folder, and the project's notebooks/, params/
and reports/), and each worker starts in an empty folder of its own.  A run only succeeds if its
notebook, parameters and inputs travel to the worker as bytes and the report travels back.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path

import pytest

from workbench import PROJECT_ROOT
from workbench.batch import run_batch
from workbench.config import RunSpec, load_params
from workbench.io import sha256_file
from workbench.runner import _manifest_paths, fingerprint, input_files
from workbench.errors import RunError

from _nbfactory import make_notebook, write_params

PARAMS = """\
study = "demo"  # study id
client = "Test Client"
period = "2026-06"
language = "en"  # one of: en, zh
data = "demo"
codebook = "demo"
report_date = ""
low_base = {"caution": 50, "min_test": 30}
extra_file = ""
lookup_dir = ""
die = False  # kill the worker process on purpose
boom = False  # raise an error on purpose
output_dir = ""
"""

BODY = """
import os, signal
from pathlib import Path
import pandas as pd
if die:
    os.kill(os.getppid(), signal.SIGKILL)
if boom:
    raise ValueError("planted failure")
rows = [{"file": "extra", "text": Path(extra_file).read_text()}]
rows += [{"file": p.name, "text": p.read_text()} for p in sorted(Path(lookup_dir).iterdir())]
report.table(pd.DataFrame(rows), caption="Shipped inputs")
print("cwd-is-private", not str(Path.cwd()).startswith(os.environ["WB_TEST_CLIENT"]))
"""

SITECUSTOMIZE = '''
import os, sys
_roots = [r for r in os.environ.get("WB_TEST_FORBID", "").split(os.pathsep) if r]
if _roots:
    def _hook(event, args, _roots=tuple(_roots)):
        if event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None \\
                and not isinstance(args[0], int):
            p = os.path.abspath(os.fsdecode(args[0]))
            if any(p == r or p.startswith(r + os.sep) for r in _roots):
                raise PermissionError(13, "this worker cannot see the client's folder", p)
    sys.addaudithook(_hook)
'''


@pytest.fixture()
def blind_cluster(tmp_path_factory, tmp_path):
    """A local cluster whose worker processes (and their kernels) cannot see ``tmp_path`` nor the
    project's notebooks/, params/ and reports/, and start in an empty folder with their own TMPDIR."""
    import dask
    from distributed import Client, LocalCluster

    home = tmp_path_factory.mktemp("worker-home")
    hooks, cwd, tmp = home / "hooks", home / "cwd", home / "tmp"
    for d in (hooks, cwd, tmp):
        d.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    forbid = [str(tmp_path.resolve())] + [str(PROJECT_ROOT / d) for d in ("notebooks", "params", "reports")]
    env = {"PYTHONPATH": os.pathsep.join([str(hooks)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
           "WB_TEST_FORBID": os.pathsep.join(forbid), "TMPDIR": str(tmp),
           "WB_TEST_CLIENT": str(tmp_path.resolve()), "MPLBACKEND": "Agg"}
    # The nanny writes pre-spawn-environ into this process's os.environ and leaves it there: put it
    # back, or every kernel the later tests start would inherit the blind hook.
    saved = dict(os.environ)

    def restore_environ():
        os.environ.clear()
        os.environ.update(saved)

    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": env,
                              "distributed.scheduler.allowed-failures": 0,
                              "distributed.worker.daemon": False}):
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=50, local_directory=str(tmp))
    finally:
        restore_environ()
    try:
        with Client(cluster) as c:  # each worker starts in an empty folder
            c.run(os.chdir, str(cwd))
        yield cluster, home
    finally:
        cluster.close()
        restore_environ()


@pytest.fixture()
def shipped_study(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ship", BODY, params=PARAMS)
    inputs = tmp_path / "inputs"
    (inputs / "lookup").mkdir(parents=True)
    (inputs / "extra.txt").write_text("extra-7f3a")
    (inputs / "lookup" / "a.txt").write_text("alpha-91c2")
    (inputs / "lookup" / "b.txt").write_text("beta-55d0")
    pdir = tmp_path / "params"
    pdir.mkdir()
    common = dict(study="acme", extra_file=str(inputs / "extra.txt"), lookup_dir=str(inputs / "lookup"))
    write_params(pdir / "good.yaml", nb, period="2026-05", **common)
    write_params(pdir / "bad.yaml", nb, period="2026-06", boom=True, **common)
    return tmp_path, pdir, nb


@pytest.mark.e2e
def test_workers_without_the_clients_disk(blind_cluster, shipped_study):
    cluster, home = blind_cluster
    root, pdir, _ = shipped_study
    from distributed import Client

    with Client(cluster) as c:  # the workers really are blind to the client's folder
        with pytest.raises(PermissionError):
            c.submit(Path.read_text, pdir / "good.yaml", pure=False).result(timeout=60)
        assert c.submit(os.getcwd, pure=False).result(timeout=60) == str(home / "cwd")

    out = root / "reports"
    recs = run_batch([pdir / "*.yaml"], out=out, scheduler=cluster.scheduler_address, formats=("html",),
                     progress=False)
    by = {Path(r["params_file"]).name: r for r in recs}
    assert by["good.yaml"]["status"] == "ok", by["good.yaml"]["error"]
    folder = out / "acme" / "ship_2026-05"
    assert by["good.yaml"]["folder"] == str(folder.resolve())
    html = (folder / "ship.html").read_text()
    for text in ("extra-7f3a", "alpha-91c2", "beta-55d0"):  # the inputs reached the worker
        assert text in html
    assert "cwd-is-private True" in html
    for name in ("ship.html", "ship.ipynb"):  # the worker's private folder is named nowhere
        assert "workbench-task-" not in (folder / name).read_text()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["executed_on"]["shipped"] is True
    # the client's params file, parameters and inputs, written as a local run writes them
    spec = load_params(pdir / "good.yaml")
    hashes = {str(p): sha256_file(p) for p in input_files(spec.params)}
    source, shown, inputs = _manifest_paths(spec, dict(spec.params), hashes)
    assert manifest["params_file"] == source and manifest["parameters"] == shown
    assert manifest["inputs"] == inputs and len(inputs) >= 3
    assert manifest["fingerprint"] == fingerprint(spec.notebook, spec.params, hashes)
    assert "workbench-task-" not in json.dumps(manifest)
    for name, digest in manifest["output_sha256"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert not list(folder.parent.glob(".tmp-*"))  # published atomically, no scratch left

    # the failed run: its executed notebook lands in <run>.failed on the client, named there
    bad = by["bad.yaml"]
    assert bad["status"] == "failed" and "planted failure" in bad["error"]
    assert str(out.resolve() / "acme") in bad["error"] and "\x00" not in bad["error"]
    assert (out / "acme" / "ship_2026-06.failed" / "ship.ipynb").is_file()

    # nothing of the runs stays on the worker's side
    left = [p for p in home.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".txt", ".json")]
    assert left == [], left
    assert not list((home / "tmp").glob("workbench-task-*"))

    # the manifest names the client's inputs: unchanged runs are skipped, a changed input reruns
    recs = run_batch([pdir / "good.yaml"], out=out, scheduler=cluster.scheduler_address, formats=("html",),
                     progress=False)
    assert recs[0]["status"] == "skipped"
    (root / "inputs" / "lookup" / "b.txt").write_text("beta-changed")
    recs = run_batch([pdir / "good.yaml"], out=out, scheduler=cluster, formats=("html",),  # a cluster object
                     progress=False)
    assert recs[0]["status"] == "ok" and "beta-changed" in (folder / "ship.html").read_text()


@pytest.mark.e2e
def test_a_worker_that_dies_is_a_failed_record(blind_cluster, shipped_study):
    cluster, home = blind_cluster
    root, pdir, nb = shipped_study
    write_params(pdir / "die.yaml", nb, study="acme", period="2026-07", die=True,
                 extra_file=str(root / "inputs" / "extra.txt"), lookup_dir=str(root / "inputs" / "lookup"))
    recs = run_batch([pdir / "die.yaml"], out=root / "reports", scheduler=cluster.scheduler_address,
                     formats=("html",), progress=False)
    assert recs[0]["status"] == "failed" and "worker lost" in recs[0]["error"]
    assert not (root / "reports" / "acme" / "ship_2026-07").exists()


def _spec(tmp_path, **params) -> RunSpec:
    nb = tmp_path / "x.ipynb"
    nb.write_text("{}")
    return RunSpec(notebook=nb, run="x", params={"study": "acme", **params}, source="p.yaml")


def test_pack_sends_files_and_passes_urls(tmp_path):
    from workbench import remote

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one.csv").write_text("1")
    (tmp_path / "d" / ".hidden").write_text("no")
    (tmp_path / "cb.yaml").write_text("cb")
    spec = _spec(tmp_path, data=str(tmp_path / "d"), codebook=str(tmp_path / "cb.yaml"),
                 frame_file="s3://bucket/frame.csv", weights_path="demo", n=3)
    payload, files = remote.pack(spec)
    assert payload["paths"] == {"data": "d", "codebook": "cb.yaml"}  # places relative to each other
    assert sorted(i["path"] for i in payload["inputs"]) == ["cb.yaml", "d/one.csv"]
    assert payload["params"]["frame_file"] == "s3://bucket/frame.csv"  # workers read URLs themselves
    assert set(files.values()) == {tmp_path / "d" / "one.csv", tmp_path / "cb.yaml", tmp_path / "x.ipynb"}
    json.dumps(payload)
    with pytest.raises(RunError, match="exceed 0 MB.*WORKBENCH_SHARED_DISK"):
        remote.pack(spec, max_bytes=1)


def test_shipped_run_in_a_private_folder_and_publish_checks(tmp_path, monkeypatch):
    """run_shipped unpacks into its own temporary folder and removes it; publish refuses damaged
    or unsafe files."""
    from workbench import remote

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "wtmp"))
    (tmp_path / "wtmp").mkdir()
    (tmp_path / "in.txt").write_text("hello")
    spec = _spec(tmp_path, extra_file=str(tmp_path / "in.txt"))
    payload, files = remote.pack(spec)
    blobs = {d: p.read_bytes() for d, p in files.items()}
    blobs[payload["inputs"][0]["sha256"]] = b"tampered"
    res = remote.run_shipped(payload, blobs, ("html",), 0)
    assert res["status"] == "failed" and "damaged" in res["error"] and res["files"] == {}
    assert list((tmp_path / "wtmp").iterdir()) == []

    bad = {"status": "ok", "files": {"../x.html": b"x"}, "sha256": {"../x.html": hashlib.sha256(b"x").hexdigest()}}
    with pytest.raises(RunError, match="unsafe name"):
        remote.publish(bad, spec, tmp_path / "out", {})
    bad = {"status": "ok", "files": {"x.html": b"x"}, "sha256": {"x.html": "0" * 64}}
    with pytest.raises(RunError, match="damaged"):
        remote.publish(bad, spec, tmp_path / "out", {})
    assert not (tmp_path / "out" / "acme" / "x").exists()
    payload["inputs"][0]["path"] = "../../escape.txt"
    res = remote.run_shipped(payload, {d: p.read_bytes() for d, p in files.items()}, ("html",), 0)
    assert res["status"] == "failed" and "leave the run's folder" in res["error"]
    assert not (tmp_path / "escape.txt").exists()


def test_pack_ships_the_brand_logo_and_the_deck_template(tmp_path):
    """The codebook's logo (beside it) and the client's deck template travel with the run; the
    worker's spec points at its own copies."""
    import shutil

    from workbench import PACKAGE_DIR, remote

    study = tmp_path / "study"
    (study / "brand").mkdir(parents=True)
    shutil.copy(PACKAGE_DIR / "data" / "demo" / "codebook.yaml", study / "codebook.yaml")
    with open(study / "codebook.yaml", "a", encoding="utf-8") as fh:
        fh.write("\nbrand:\n  logo: brand/logo.png\n")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    (study / "brand" / "logo.png").write_bytes(png)
    (tmp_path / "client.pptx").write_bytes(b"PK template")
    spec = _spec(tmp_path, codebook=str(study / "codebook.yaml")).model_copy(
        update={"deck_template": str(tmp_path / "client.pptx")})
    payload, files = remote.pack(spec)
    shipped = sorted(i["path"] for i in payload["inputs"])
    assert shipped == ["client.pptx", "study/brand/logo.png", "study/codebook.yaml"]
    blobs = {d: p.read_bytes() for d, p in files.items()}
    base = tmp_path / "worker"
    base.mkdir()
    worker = remote._unpack(payload, blobs, base)
    assert Path(worker.deck_template).read_bytes() == b"PK template"
    assert (Path(worker.params["codebook"]).parent / "brand" / "logo.png").read_bytes() == png
    assert "<deck_template>" not in worker.params
