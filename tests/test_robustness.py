"""Bad inputs and faults: each gives a clear message, a non-zero exit, and never a partial or
corrupted report in place of a good one.

Spine faults (params, files, browser, kernel, output folder, interruption) are here; data and
model faults of each analysis are tested through the public functions in this file too, so the
whole list is in one place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.errors import ParamsError, RunError
from workbench.runner import run

from _nbfactory import BODY, HAS_PDF, make_notebook, write_params


def _good(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    out = tmp_path / "reports"
    res = run(nb, out=out, formats=("html",))
    return nb, out, res.folder, (res.folder / "ok.html").read_bytes()


# ---------------------------------------------------------------------------------- params
@pytest.mark.parametrize(
    "text, words",
    [
        ("notebook: NB\nn: [1, 2\n", ["not valid YAML", "line"]),
        ("notebook: NB\n- just\n- a list\n", ["not valid YAML"]),
        ("- a\n- b\n", ["expected a mapping"]),
        ("notebook: NB\nunknown_key: 1\n", ["unknown key 'unknown_key'"]),
        ("notebook: NB\nn: 2.5\n", ["key 'n'", "integer"]),
        ("notebook: NB\nboom: maybe\n", ["key 'boom'", "boolean"]),
        ("notebook: NB\nlanguage: de\n", ["key 'language'", "'en' or 'zh'"]),
        ("notebook: NB\nstudy: ../../etc\n", ["key 'study'"]),
        ("notebook: NB\nstudy: /etc\n", ["key 'study'"]),
        ("notebook: NB\nrun: ../escape\n", ["key 'run'"]),
        ("notebook: NB\nreport_date: 2026-13-01\n", ["report_date"]),
        ("notebook: NB\nlow_base: {caution: -1}\n", ["low_base.caution"]),
        ("notebook: missing_notebook\n", ["notebook 'missing_notebook' not found"]),
        ("n: 3\n", ["'notebook' is missing"]),
    ],
)
def test_bad_params_file(nbdir, tmp_path, capsys, text, words):
    nb = make_notebook(nbdir, "ok", BODY)
    f = tmp_path / "bad.yaml"
    f.write_text(text.replace("NB", str(nb)))
    code = main(["validate", str(f)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def test_missing_params_file(capsys):
    assert main(["validate", "no/such/file.yaml"]) == 2
    assert "no/such/file.yaml does not exist" in capsys.readouterr().err


def test_missing_data_folder_and_codebook(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, data=str(tmp_path / "nowhere"))
    assert main(["validate", str(f)]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    f = write_params(tmp_path / "p.yaml", nb, codebook=str(tmp_path / "cb.yaml"))
    assert main(["validate", str(f)]) == 2
    assert "cb.yaml" in capsys.readouterr().err


def test_validate_demo_ok(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb)
    assert main(["validate", str(f)]) == 0
    assert "datasets valid" in capsys.readouterr().out


# ---------------------------------------------------------------------------------- faults
def test_notebook_error_keeps_good_report(nbdir, tmp_path):
    nb, out, folder, before = _good(nbdir, tmp_path)
    with pytest.raises(RunError, match="ValueError: planted failure"):
        run(nb, overrides={"boom": True}, out=out, formats=("html",))
    assert (folder / "ok.html").read_bytes() == before


def test_kernel_dies_mid_run(nbdir, tmp_path):
    nb, out, folder, before = _good(nbdir, tmp_path)
    dying = make_notebook(nbdir, "ok", "import os\nos._exit(3)\n")
    with pytest.raises(RunError, match="execution failed|died|Dead"):
        run(dying, out=out, formats=("html",))
    assert (folder / "ok.html").read_bytes() == before
    assert (folder.with_name(folder.name + ".failed") / "manifest.json").exists()


@pytest.mark.skipif(not HAS_PDF, reason="needs chromium")
def test_chromium_missing_gives_html_and_clear_error(nbdir, tmp_path, monkeypatch, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    monkeypatch.setenv("WORKBENCH_CHROMIUM", str(tmp_path / "no-chromium"))
    code = main(["run", str(nb), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "needs Chromium" in err and "apt-get install chromium" in err
    failed = tmp_path / "o" / "demo" / "ok_2026-06.failed"
    assert (failed / "ok.html").exists() and not (failed / "ok.pdf").exists()
    assert not (tmp_path / "o" / "demo" / "ok_2026-06").exists()


def test_chromium_that_fails_to_launch_in_the_background(tmp_path):
    """A batch worker launches Chromium while its first notebook runs; a launch that fails is
    reported by the export, as one clear error, and the next export tries again."""
    from workbench.errors import ExportError
    from workbench.export import PDFRenderer

    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    renderer = PDFRenderer(str(broken), timeout_ms=20_000)
    renderer.start(wait=False)  # returns at once
    for _ in range(2):
        with pytest.raises(ExportError, match="could not start Chromium at .*chromium"):
            renderer.render("<p>x</p>", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
    renderer.close()


def test_unwritable_output_folder(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["run", str(nb), "--out", str(blocker / "reports"), "--formats", "html"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write reports under" in err


def test_interrupted_run_leaves_good_report_and_is_cleaned_up(nbdir, tmp_path):
    nb, out, folder, before = _good(nbdir, tmp_path)
    slow = make_notebook(nbdir, "ok", "import time\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(slow), "--out", str(out),
                             "--formats", "html"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(folder.parent.glob(".tmp-ok_2026-06~*/ok.ipynb")):
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (folder / "ok.html").read_bytes() == before  # untouched
    assert list(folder.parent.glob(".tmp-*"))  # the dead run's scratch folder
    nb2 = make_notebook(nbdir, "ok", BODY)
    run(nb2, out=out, formats=("html",))  # the next run removes the dead run's scratch
    assert not list(folder.parent.glob(".tmp-*"))


def test_study_cannot_escape_reports(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    for bad in ("../../etc", "..", "a/b", ".hidden"):
        with pytest.raises(ParamsError):
            run(nb, overrides={"study": bad}, out=tmp_path / "o", formats=("html",))
    assert not (tmp_path / "o").exists()


def test_manifest_records_failure(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    with pytest.raises(RunError):
        run(nb, overrides={"boom": True}, out=tmp_path / "o", formats=("html",))
    m = json.loads((tmp_path / "o" / "demo" / "ok_2026-06.failed" / "manifest.json").read_text())
    assert m["status"] == "failed" and "planted failure" in m["error"]
    assert Path(m["params_file"]).name == "<defaults>" or m["params_file"]


# ---------------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory):
    """A private copy of the demo study's files (small CSVs only) to corrupt."""
    import shutil

    from workbench.synth import demo_dir

    src = demo_dir()
    dst = tmp_path_factory.mktemp("study")
    for p in src.iterdir():
        if p.is_file():
            shutil.copy(p, dst / p.name)
    return dst


def _corrupt(demo_copy, tmp_path, dataset_file, edit):
    import shutil

    import pandas as pd

    study = tmp_path / "study"
    shutil.copytree(demo_copy, study)
    path = study / dataset_file
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(path, index=False)
    return study


@pytest.mark.parametrize(
    "file, edit, words",
    [
        ("tracking.csv", lambda d: d.rename(columns={"nps": "nps_score"}), ["tracking.csv", "nps"]),
        ("tracking.csv", lambda d: d.assign(nps=d["nps"].where(d.index > 2, "11")), ["tracking.csv", "nps", "3 row(s)", "R0100001"]),
        ("tracking.csv", lambda d: d.iloc[:0], ["tracking.csv", "no rows"]),
        ("tracking.csv", lambda d: d.assign(resp_id=d["resp_id"].where(d.index != 5, d["resp_id"][4])), ["resp_id", "duplicate"]),
        ("tracking.csv", lambda d: d.assign(csat=d["csat"].where(d.index != 0, "five")), ["csat", "five"]),
        ("tracking.csv", lambda d: d.assign(brand=d["brand"].where(d.index != 0, "zeta")), ["brand", "zeta"]),
        ("odata.csv", lambda d: d.drop(columns=["retained_6m"]), ["odata.csv", "retained_6m"]),
        ("servqual.csv", lambda d: d.assign(P_rel1=d["P_rel1"].where(d.index != 0, "8")), ["servqual.csv", "P_rel1"]),
    ],
    ids=["renamed-column", "out-of-range", "empty", "duplicate-id", "text-in-scale", "unknown-level",
         "odata-column", "servqual-range"],
)
def test_bad_data_is_named(nbdir, tmp_path, capsys, demo_copy, file, edit, words):
    study = _corrupt(demo_copy, tmp_path, file, edit)
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, data=str(study), codebook=str(study / "codebook.yaml"))
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for w in words:
        assert w.lower() in err.lower(), err


def test_missing_dataset_file(nbdir, tmp_path, capsys, demo_copy):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(demo_copy, study)
    (study / "odata.csv").unlink()
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, data=str(study), codebook=str(study / "codebook.yaml"))
    assert main(["validate", str(f)]) == 2
    assert "odata.csv" in capsys.readouterr().err


def test_malformed_codebook(nbdir, tmp_path, capsys, demo_copy):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(demo_copy, study)
    cb = study / "codebook.yaml"
    cb.write_text(cb.read_text().replace("max: 10", "max: ten", 1))
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, data=str(study), codebook=str(cb))
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "codebook.yaml" in err and "max" in err and "ten" in err


# ---------------------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def tracking():
    from workbench.io import read_survey
    from workbench.synth import demo_dir

    return read_survey(demo_dir() / "tracking.csv", "demo", "tracking")


def test_zero_variance_item_is_named(tracking):
    from workbench import drivers
    from workbench.errors import DataError, ModelError

    d = tracking[tracking.brand == "aurora"].assign(prd2=4.0)
    with pytest.raises((DataError, ModelError), match="prd2"):
        drivers.fit_sem(d, "PRD =~ prd1 + prd2 + prd3\nSAT =~ sat1 + sat2 + sat3\nSAT ~ PRD")


def test_singular_covariance_is_a_clear_error(tracking):
    from workbench import drivers
    from workbench.errors import DataError, ModelError

    d = tracking[tracking.brand == "aurora"].assign(prd3=lambda x: x.prd1)  # an exact copy
    with pytest.raises((DataError, ModelError)) as err:
        drivers.relative_importance(d.dropna(subset=["prd1", "prd3", "sat1"]), "sat1", ["prd1", "prd3"])
    assert "prd" in str(err.value)


def test_non_converging_sem_warns_or_fails_loudly(tracking):
    import warnings

    from workbench import drivers
    from workbench.errors import ConvergenceWarning, ModelError

    d = tracking[tracking.brand == "aurora"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = drivers.fit_sem(d, "PRD =~ prd1 + prd2 + prd3\nSAT =~ sat1 + sat2 + sat3\nSAT ~ PRD", max_iter=0)
        except ModelError:
            return
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert not res.converged and res.warnings


def test_misspelled_variable_in_model(tracking):
    from workbench import drivers
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="prd4"):
        drivers.fit_sem(tracking, "PRD =~ prd1 + prd2 + prd4\nSAT =~ sat1 + sat2 + sat3\nSAT ~ PRD")


def test_tiny_bases_get_no_test(tracking):
    from workbench import metrics

    tiny = tracking[(tracking.brand == "aurora") & (tracking.wave.isin([5, 6]))]
    tiny = tiny.groupby("wave").head(12)  # 12 respondents per wave
    res = metrics.compare(tiny, "nps", metric="nps", between="wave", reference="previous")
    assert res["p_val"].isna().all() and (res["base_flag"] == "no_test").all()
    est = metrics.nps(tiny, "nps", by="wave")
    assert (est["base_flag"] == "no_test").all() and est["nps"].notna().all()


def test_single_wave_study_has_nothing_to_compare(tracking):
    from workbench import metrics

    one = tracking[tracking.wave == 1]
    res = metrics.compare(one, "nps", metric="nps", between="wave", reference="previous")
    assert len(res) == 0 or res["p_val"].isna().all()


def test_bad_margins_are_named(tracking):
    from workbench import weighting
    from workbench.errors import DataError

    d = tracking[tracking.wave == 6]
    with pytest.raises(DataError, match="region"):
        weighting.rake(d, {"region": {"north": 0.5, "south": 0.5}})  # data levels without a target
    with pytest.raises(DataError, match="segment"):
        weighting.rake(d, {"segment": {"business": 100, "consumer_prepaid": 100, "consumer_postpaid": 100},
                           "gender": {"f": 50, "m": 60}})  # totals differ


def test_stratum_too_small_for_the_draw():
    import pandas as pd

    from workbench import sampling
    from workbench.errors import DataError

    frame = pd.DataFrame({"unit_id": range(30), "region": ["n"] * 10 + ["s"] * 20})
    alloc = pd.DataFrame({"region": ["n", "s"], "n": [15, 10]})
    with pytest.raises(DataError) as err:
        sampling.stratified_draw(frame, alloc, strata="region", seed=1, id_col="unit_id")
    assert "n" in str(err.value) and "10" in str(err.value) and "15" in str(err.value)


def test_servqual_bad_map_names_the_item(tracking):
    from workbench import gaps
    from workbench.errors import WorkbenchError
    from workbench.io import read_survey
    from workbench.synth import demo_dir

    sq = read_survey(demo_dir() / "servqual.csv", "demo", "servqual")
    with pytest.raises(WorkbenchError, match="rel9"):
        gaps.servqual(sq, {"reliability": ["rel1", "rel9"]})
    with pytest.raises(WorkbenchError, match="empathy"):
        gaps.servqual(sq, {"empathy": []})
