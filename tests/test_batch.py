"""`workbench batch`: fan-out on a local dask cluster, isolation, skip-if-unchanged, run log."""

from __future__ import annotations

import json

import pytest

from workbench.batch import expand, plan, run_batch
from workbench.cli import main
from workbench.errors import ParamsError

from _nbfactory import BODY, make_notebook, write_params


@pytest.fixture()
def study(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    pdir = tmp_path / "params" / "acme"
    pdir.mkdir(parents=True)
    for i, period in enumerate(["2026-04", "2026-05", "2026-06"]):
        write_params(pdir / f"p{i}.yaml", nb, study="acme", period=period, n=20 + i)
    write_params(pdir / "bad.yaml", nb, study="acme", period="2026-07", boom=True)
    (pdir / "typo.yaml").write_text(f"notebook: {nb}\nnn: 1\n")
    return tmp_path, pdir


def test_batch_isolates_failures_logs_and_skips_unchanged(study, capsys):
    root, pdir = study
    out = root / "reports"
    code = main(["batch", str(pdir / "*.yaml"), "--out", str(out), "--formats", "html",
                 "--workers", "2", "--no-progress"])
    text = capsys.readouterr()
    assert code == 1  # bad.yaml and typo.yaml failed
    assert "3 ok, 0 skipped (unchanged), 2 failed" in text.out
    assert "planted failure" in text.out and "unknown key 'nn'" in text.out
    for period in ("2026-04", "2026-05", "2026-06"):
        assert (out / "acme" / f"ok_{period}" / "ok.html").exists()  # one folder per wave
    log = [json.loads(line) for line in (out / "batch-log.jsonl").read_text().splitlines()]
    assert len(log) == 5 and {r["status"] for r in log} == {"ok", "failed"}
    assert all({"params_file", "notebook", "status", "seconds", "folder", "error"} <= set(r) for r in log)

    # unchanged inputs and params: skipped; a changed params file reruns that one only
    write_params(pdir / "p0.yaml", root / "nb" / "ok.ipynb", study="acme", period="2026-04", n=99)
    recs = run_batch([pdir / "p*.yaml"], out=out, formats=("html",), workers=2, progress=False)
    assert {r["params_file"].split("/")[-1]: r["status"] for r in recs} == {
        "p0.yaml": "ok", "p1.yaml": "skipped", "p2.yaml": "skipped"}
    recs = run_batch([pdir / "p1.yaml"], out=out, formats=("html",), force=True, workers=1, progress=False)
    assert recs[0]["status"] == "ok"
    make_notebook(root / "nb", "ok", BODY)  # the notebook changed: every run is due again
    recs = run_batch([pdir / "p2.yaml"], out=out, formats=("html",), workers=1, progress=False)
    assert recs[0]["status"] == "ok"


def test_batch_retries_and_duplicate_run_ids(study):
    root, pdir = study
    recs = run_batch([pdir / "bad.yaml"], out=root / "o", formats=("html",), retries=1, workers=1,
                     progress=False)
    assert recs[0]["status"] == "failed" and recs[0]["attempts"] == 2
    dup = pdir / "dup.yaml"
    dup.write_text((pdir / "p0.yaml").read_text())
    recs = run_batch([pdir / "p0.yaml", dup], out=root / "o", formats=("html",), workers=1, progress=False)
    statuses = sorted(r["status"] for r in recs)
    assert statuses == ["failed", "ok"]
    assert "also produced by" in next(r["error"] for r in recs if r["status"] == "failed")


def test_expand_patterns(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yaml").write_text("")
    (tmp_path / "y.yaml").write_text("")
    found = expand([tmp_path / "**" / "*.yaml", tmp_path / "y.yaml"])
    assert sorted(p.name for p in found) == ["x.yaml", "y.yaml"]
    with pytest.raises(ParamsError, match="no params files match"):
        expand([tmp_path / "nothing*.yaml"])


def test_unreachable_scheduler(study, capsys):
    root, pdir = study
    code = main(["batch", str(pdir / "p0.yaml"), "--out", str(root / "o"), "--formats", "html",
                 "--scheduler", "tcp://127.0.0.1:1", "--no-progress"])
    assert code == 1
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:1" in capsys.readouterr().err


def test_plan_hands_out_longest_runs_first(study):
    """Order by last known duration: own manifest, else the batch log (same file, else the
    notebook's median); runs never seen go first; failed runs' durations are not used."""
    root, pdir = study
    out = root / "reports"
    other = make_notebook(root / "nb", "other", BODY)
    for i, period in ((3, "2026-07"), (4, "2026-08")):
        write_params(pdir / f"p{i}.yaml", root / "nb" / "ok.ipynb", study="acme", period=period)
    write_params(pdir / "p5.yaml", other, study="acme", period="2026-09")

    def manifest(run, seconds, status="ok"):
        folder = out / "acme" / run
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"status": status, "timings": {"total_s": seconds}}))

    manifest("ok_2026-04", 5.0)
    manifest("ok_2026-05", 20.0)
    manifest("ok_2026-06", 99.0, status="failed")  # not a duration to trust
    log = [{"params_file": str(pdir / "p2.yaml"), "notebook": "ok.ipynb", "status": "ok", "seconds": 12.0},
           {"params_file": "elsewhere.yaml", "notebook": "ok.ipynb", "status": "ok", "seconds": 8.0},
           {"params_file": "elsewhere2.yaml", "notebook": "ok.ipynb", "status": "ok", "seconds": 9.0},
           {"params_file": "x.yaml", "notebook": "ok.ipynb", "status": "failed", "seconds": 500.0}]
    (out / "batch-log.jsonl").write_text("partial line from a cut tail\n"
                                         + "".join(json.dumps(r) + "\n" for r in log))
    files = [pdir / f"p{i}.yaml" for i in range(6)]
    todo, done = plan(files, out=out, force=True)
    assert done == []
    # p5: never seen; p1: 20 s; p2: 12 s (its own log line); p3, p4: 9 s (median of ok.ipynb
    # 8, 9, 12), file order kept; p0: 5 s
    assert [f.name for f, _ in todo] == ["p5.yaml", "p1.yaml", "p2.yaml", "p3.yaml", "p4.yaml", "p0.yaml"]
    # without any history the files keep their order
    todo, _ = plan(files, out=root / "fresh", force=True)
    assert [f.name for f, _ in todo] == [f.name for f in files]


def test_local_cluster_leaves_the_cpu_to_the_runs():
    """The cluster `workbench batch` starts runs its workers without dask's sampling profiler,
    work stealing or fast monitors (they took CPU from the runs), one run per worker at a time."""
    import dask

    from workbench.batch import LOCAL_CLUSTER_CONFIG, _client

    client, cluster = _client(None, 1)
    try:
        seen = client.run(lambda: {k: dask.config.get(k) for k in LOCAL_CLUSTER_CONFIG})
        assert list(seen.values()) == [LOCAL_CLUSTER_CONFIG]
        assert LOCAL_CLUSTER_CONFIG["distributed.worker.profile.enabled"] is False
        assert LOCAL_CLUSTER_CONFIG["distributed.scheduler.worker-saturation"] == 1.0
    finally:
        client.close()
        cluster.close()
