"""The runner and CLI: params validation before any kernel, atomic publish, the failure path,
and an end-to-end report read back from its PDF.

Notebooks here are made in a temporary folder, so the tests do not depend on the analysis
notebooks; `tests/test_notebooks.py` runs those.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import config
from workbench.cli import main
from workbench.errors import ParamsError, RunError
from workbench.runner import run

from _nbfactory import BODY, HAS_PDF, make_notebook, write_params


# ------------------------------------------------------------------------------------------
# params validation (no kernel)
# ------------------------------------------------------------------------------------------
def test_parameters_are_inferred_from_the_cell(nbdir):
    nb = make_notebook(nbdir, "ok", BODY)
    spec = config.notebook_parameters(nb)
    assert spec["n"]["type"] is int and spec["n"]["default"] == 100
    assert spec["language"]["choices"] == ("en", "zh")
    assert spec["boom"]["help"] == "raise an error on purpose"


@pytest.mark.parametrize(
    "params, words",
    [
        ({"nn": 5}, ["unknown key 'nn'", "did you mean 'n'"]),
        ({"n": "many"}, ["key 'n'", "integer", "'many'"]),
        ({"language": "fr"}, ["key 'language'", "'fr'"]),
        ({"study": "../../etc"}, ["key 'study'", "'..'"]),
        ({"output_dir": "/elsewhere"}, ["'output_dir' is set by the runner"]),
        ({"low_base": {"caution": 50, "mintest": 3}}, ["low_base.mintest"]),
    ],
)
def test_bad_params_name_file_and_key(nbdir, tmp_path, params, words):
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, **params)
    with pytest.raises(ParamsError) as err:
        config.load_params(f)
    msg = str(err.value)
    assert str(f) in msg
    for w in words:
        assert w in msg, msg


def test_yaml_errors_and_unquoted_dates(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"notebook: {nb}\nn: [1, 2\n")
    with pytest.raises(ParamsError, match=r"bad.yaml:.*line \d+.*not valid YAML"):
        config.load_params(bad)
    dated = tmp_path / "dated.yaml"  # unquoted dates stay text, as papermill needs
    dated.write_text(f"notebook: {nb}\nreport_date: 2026-06-30\nperiod: 2026-06\n")
    spec = config.load_params(dated)
    assert spec.params["report_date"] == "2026-06-30" and spec.params["period"] == "2026-06"
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ParamsError, match="does not exist"):
        config.load_params(missing)
    nonb = tmp_path / "nonb.yaml"
    nonb.write_text("n: 3\n")
    with pytest.raises(ParamsError, match="'notebook' is missing"):
        config.load_params(nonb)


def test_run_id_and_paths(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, period="2026-05", language="zh", data="some/folder")
    spec = config.load_params(f)
    assert spec.run == "ok_2026-05_zh"
    assert Path(spec.params["data"]).is_absolute()
    assert spec.params["n"] == 100  # default filled in


def test_cli_params_lists_parameters(nbdir, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    assert main(["params", str(nb)]) == 0
    out = capsys.readouterr().out
    assert "language" in out and "one of: en, zh" in out and "output_dir" not in out


def test_cli_bad_params_exit_code_without_traceback(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb, n="many")
    assert main(["run", str(nb), "-f", str(f), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "key 'n'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing started


def test_every_subcommand_has_help():
    for sub in ([], ["demo"], ["run"], ["validate"], ["params"]):
        r = subprocess.run([sys.executable, "-m", "workbench.cli", *sub, "--help"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "Usage:" in r.stdout, (sub, r.stderr)


# ------------------------------------------------------------------------------------------
# execution (a kernel; no browser)
# ------------------------------------------------------------------------------------------
def test_run_html_publishes_report_and_manifest(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    out = tmp_path / "reports"
    res = run(nb, overrides={"n": 50}, out=out, formats=("html",))
    assert res.folder == (out / "demo" / "ok_2026-06").resolve()
    html = (res.folder / "ok.html").read_text()
    assert "NPS by brand" in html and "Aurora 极光" in html
    assert "Base is low for segment X" in html  # workbench warnings become notes
    assert "raw warning" not in html and "report.setup" not in html  # no stderr, no code
    manifest = json.loads((res.folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["parameters"]["n"] == 50
    assert manifest["inputs"] and all(len(h) == 64 for h in manifest["inputs"].values())
    assert {"execute_s", "export_s", "total_s"} <= set(manifest["timings"])
    assert manifest["versions"]["pandas"]
    assert not [p for p in res.folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_failed_run_keeps_notebook_and_leaves_good_report_intact(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    out = tmp_path / "reports"
    good = run(nb, out=out, formats=("html",))
    before = (good.folder / "ok.html").read_bytes()
    with pytest.raises(RunError, match="planted failure") as err:
        run(nb, overrides={"boom": True}, out=out, formats=("html",))
    assert "cell" in str(err.value)
    failed = good.folder.with_name(good.folder.name + ".failed")
    assert (failed / "ok.ipynb").exists()
    assert json.loads((failed / "manifest.json").read_text())["status"] == "failed"
    assert not (failed / "ok.pdf").exists()
    assert (good.folder / "ok.html").read_bytes() == before


def test_cli_failure_exit_code(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    code = main(["run", str(nb), "-p", "boom", "true", "--out", str(tmp_path / "o"), "--formats", "html"])
    assert code == 1
    err = capsys.readouterr().err
    assert "planted failure" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------
# the PDF (a browser)
# ------------------------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext (make setup installs them)")
def test_cli_run_pdf_end_to_end(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    out = tmp_path / "reports"
    assert main(["run", str(nb), "-p", "language", "zh", "--out", str(out)]) == 0
    pdf = out / "demo" / "ok_2026-06_zh" / "ok.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "测试报告" in text  # cover title in Chinese
    assert "Test Client" in text and "NPS by brand" in text and "极光" in text
    for bad in ("Traceback", "report.setup", "import ", "Warning", "raw warning"):
        assert bad not in text, bad
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "Pages:" in info and int(info.split("Pages:")[1].split()[0]) >= 2


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext (make setup installs them)")
def test_demo_runs_a_params_folder_concurrently_with_one_browser(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    pdir = tmp_path / "params"
    pdir.mkdir()
    for i in range(3):
        write_params(pdir / f"p{i}.yaml", nb, period=f"2026-0{i + 1}", n=10 * (i + 1))
    out = tmp_path / "reports"
    assert main(["demo", "--params-dir", str(pdir), "--out", str(out), "--jobs", "3"]) == 0
    assert "3 of 3 reports built" in capsys.readouterr().out
    for i in range(3):
        assert (out / "demo" / f"ok_2026-0{i + 1}" / "ok.pdf").stat().st_size > 10_000


def test_type_tag_and_latest_wave_resolution(nbdir, tmp_path):
    params = (
        'study = "demo"\nperiod = "2026-01"\nlanguage = "en"  # one of: en, zh\ndata = "demo"\n'
        'codebook = "demo"\nwave = "latest"  # wave number or latest (type: int | str)\noutput_dir = ""\n'
    )
    nb = make_notebook(nbdir, "tr", "print(wave)", params=params)
    assert config.notebook_parameters(nb)["wave"]["type"] == int | str
    spec = config.load_params(write_params(tmp_path / "a.yaml", nb))
    assert spec.params["wave"] == 6 and spec.params["period"] == "2026-06"  # the demo's newest wave
    assert spec.run == "tr_2026-06"
    spec = config.load_params(write_params(tmp_path / "b.yaml", nb, wave=3))
    assert spec.params["wave"] == 3 and spec.params["period"] == "2026-03"  # the period follows the wave
    with pytest.raises(ParamsError, match=r"wave 9 is not in .*tracking.csv \(waves present: 1, 2, 3, 4, 5, 6\)"):
        config.load_params(write_params(tmp_path / "d.yaml", nb, wave=9))
    with pytest.raises(ParamsError, match=r"key 'wave': expected integer or string \(got \[1\]\)"):
        config.load_params(write_params(tmp_path / "c.yaml", nb, wave=[1]))


def test_parameters_cell_parsing_keeps_every_line(nbdir):
    params = (
        'study = "demo"  # study id\nreport_date = ""  # ISO date; empty = today\n'
        'wave: int | str = "latest"  # wave number\nlow_base = {"caution": 50,\n            "min_test": 30}\n'
        'output_dir = ""\n'
    )
    nb = make_notebook(nbdir, "pp", "pass", params=params)
    spec = config.notebook_parameters(nb)
    assert spec["report_date"]["help"] == "ISO date; empty = today"  # papermill drops this line
    assert spec["wave"]["type"] == int | str
    assert spec["low_base"]["default"] == {"caution": 50, "min_test": 30}
    bad = make_notebook(nbdir, "bad", "pass", params='study = "demo"\nn = len("ab")\n')
    with pytest.raises(ParamsError, match="not a literal"):
        config.notebook_parameters(bad)


def test_workbench_warnings_are_translated_in_reports(nbdir, tmp_path):
    body = (
        "import warnings\nfrom workbench.errors import LowBaseWarning\n"
        "warnings.warn(LowBaseWarning('Low base', key='lowbase.caution', caution=50))\n"
    )
    nb = make_notebook(nbdir, "tw", body)
    res = run(nb, overrides={"language": "zh"}, out=tmp_path / "o", formats=("html",))
    html = res.files["html"].read_text()
    assert "样本量过低（有效样本量低于50）" in html and "Low base" not in html


def test_empty_override_is_an_empty_string():
    assert config.parse_value("") == "" and config.parse_value("3") == 3 and config.parse_value("[a, b]") == ["a", "b"]


def test_figures_carry_their_title_as_alt_text(nbdir, tmp_path):
    nb = make_notebook(nbdir, "ok", BODY)
    res = run(nb, out=tmp_path / "o", formats=("html",))
    html = res.files["html"].read_text()
    assert 'alt="Distribution 分布"' in html and "No description has been provided" not in html


def test_published_notebook_names_no_machine_folders(nbdir, tmp_path):
    """Papermill injects absolute paths (parameters, its metadata) and outputs may print them: the
    published notebook shows them as the manifest does, relative to the project or params file."""
    import shutil

    from workbench import PACKAGE_DIR, PROJECT_ROOT

    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(PACKAGE_DIR / "data" / "demo" / "codebook.yaml", study / "codebook.yaml")
    nb = make_notebook(nbdir, "ok", BODY + "\nprint('written to', output_dir, 'with', codebook)\n")
    params = write_params(study / "ok.yaml", nb, codebook=str(study / "codebook.yaml"))
    res = run(params_file=params, out=tmp_path / "reports", formats=("html",))
    text = (res.folder / "ok.ipynb").read_text(encoding="utf-8")
    html = (res.folder / "ok.html").read_text(encoding="utf-8")
    for folder in (str(tmp_path), str(PROJECT_ROOT)):
        assert folder not in text and folder not in html
    published = json.loads(text)
    injected = next(c for c in published["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert 'codebook = "codebook.yaml"' in "".join(injected["source"])
    assert "written to . with codebook.yaml" in text
