"""The display helpers record the report model; tables render marks from their frames."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from _nbfactory import BODY, make_notebook  # noqa: E402
from workbench import PROJECT_ROOT, report  # noqa: E402
from workbench.reportmodel import (  # noqa: E402
    MODEL_FILE, Chart, Figure, Finding, Heading, Note, Report, Series, Table, Text, attach_chart,
)
from workbench.tables import to_html  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    """What the helpers display (HTML strings), instead of an IPython display."""
    out = []
    monkeypatch.setattr(report, "_display", lambda obj: out.append(obj.data))
    return out


@pytest.fixture
def restore_warnings():
    hook, filters = warnings.showwarning, list(warnings.filters)
    yield
    warnings.showwarning = hook
    warnings.filters[:] = filters


def _frame():
    data = pd.DataFrame({"brand": ["Aurora", "Beacon", "Comet"], "nps": [42.1, 35.0, -3.25]})
    sig = pd.DataFrame({"nps": ["up", "", "down"]})
    flags = pd.DataFrame({"nps": ["", "caution", ""]})
    return data, sig, flags


def test_table_html_classes_come_from_the_frames_not_the_text():
    data, sig, flags = _frame()
    # a label that looks like a mark must not be classed: the text is never searched
    data.loc[0, "brand"] = "Plan ▲ *"
    html = to_html(Table(data, formats={"nps": "num1"}, labels={"nps": "NPS"}, sig=sig, base_flags=flags,
                         caption="NPS by brand", note="Base: all"))
    assert '<td class="cx-up">42.1 ▲</td>' in html
    assert '<td class="cx-lowbase">35.0*</td>' in html
    assert '<td class="cx-down">−3.2 ▼</td>' in html or '<td class="cx-down">−3.3 ▼</td>' in html
    assert '<td class="cx-text">Plan ▲ *</td>' in html
    assert "<th>NPS</th>" in html and "<caption>NPS by brand</caption>" in html


def test_legacy_text_marks_still_classed():
    html = to_html(pd.DataFrame({"v": ["42.1 ▲", "35*", "1.0 ▼"]}))
    assert 'class="cx-text cx-up"' in html and 'class="cx-text cx-lowbase"' in html
    assert 'class="cx-text cx-down"' in html


def test_helpers_record_blocks_in_order(shown):
    report._RECORDER[0] = report._Recorder()
    data, sig, flags = _frame()
    report.heading("Results")
    report.md("Some **text**")
    report.table(data, formats={"nps": "num1"}, labels={"nps": "NPS"}, sig=sig, base_flags=flags,
                 caption="NPS")
    report.table(Table(data, caption="again"))
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ax.set_title("Chart title")
    attach_chart(fig, Chart("bar", ["a", "b"], [Series("n", [1, 2])]))
    report.figure(fig, title="B leads A")
    report.note("Low base")
    report.findings(["Headline", "Second"])
    rep = report.current_report()
    assert [type(b) for b in rep.blocks] == [Heading, Text, Table, Table, Figure, Note, Finding]
    t = rep.blocks[2]
    assert t.data["nps"].tolist() == [42.1, 35.0, -3.25]  # numbers stay numbers
    assert t.sig_of("nps") == ["up", "", "down"] and t.flags_of("nps") == ["", "caution", ""]
    assert t.header("nps") == "NPS"
    f = rep.blocks[4]
    assert f.title == "B leads A" and f.alt == "Chart title" and f.png.startswith(b"\x89PNG")
    assert f.chart.kind == "bar" and f.chart.series[0].values == [1.0, 2.0]
    assert rep.blocks[6].items[0] == "Headline"
    assert 'class="cx-up"' in shown[2]  # the table with frames is classed from them


def test_index_and_callable_formats_are_recorded(shown):
    report._RECORDER[0] = report._Recorder()
    df = pd.DataFrame({"v": [0.5, 0.25]}, index=pd.Index(["x", "y"], name="k"))
    sig = pd.DataFrame({"v": ["up", ""]}, index=df.index)
    report.table(df, index=True, formats={"v": "pct1"}, sig=sig)
    report.table(df, formats={"v": lambda x: f"<{x}>"})
    a, b = report.current_report().tables()
    assert list(a.data.columns) == ["k", "v"] and a.sig_of("v") == ["up", ""]
    assert b.data["v"].tolist() == ["<0.5>", "<0.25>"] and b.formats == {}
    assert "&lt;0.5&gt;" in shown[1]


def test_setup_under_runner_saves_the_model_and_interactive_does_not(nbdir, tmp_path, shown,
                                                                     restore_warnings):
    nb = make_notebook(nbdir, "rm", BODY)
    out = tmp_path / "out"
    ctx = report.setup({"output_dir": str(out), "period": "2026-06"}, str(nb))
    path = out / MODEL_FILE
    saved = Report.load(path)
    assert saved.meta["title"] == "Test report" and saved.meta["notebook"] == "rm"
    assert saved.meta["study_id"] == "demo" and saved.meta["study"] and saved.meta["study"] != "demo"
    assert saved.meta["language"] == "en" and saved.meta["period"] == "2026-06"
    data, sig, flags = _frame()
    report.table(data, sig=sig, base_flags=flags)
    report.findings(["One"])
    saved = Report.load(path)
    assert [type(b) for b in saved.blocks][-2:] == [Table, Finding]
    assert saved.tables()[-1].sig_of("nps") == ["up", "", "down"]
    assert not list(out.glob("*.part"))
    assert ctx.out_dir == out

    report.setup({}, str(nb))  # interactive: nothing written
    report.md("x")
    assert report._RECORDER[0].path is None
    assert json.loads(path.read_text())["blocks"][-1]["kind"] == "finding"  # the run's file untouched


# --------------------------------------------------------------------------------------------
# the formats registry
# --------------------------------------------------------------------------------------------
def test_registry_parses_formats_and_refuses_unknown_names():
    from workbench.formats import EXPORTERS, KNOWN_FORMATS, needs_model, needs_renderer, parse_formats

    assert set(KNOWN_FORMATS) == {"pdf", "html", "pptx", "xlsx"} == set(EXPORTERS)
    assert parse_formats(" PDF, html,pdf ,xlsx") == ("pdf", "html", "xlsx")
    with pytest.raises(ValueError, match=r"unknown formats 'docx', 'odt'; known: pdf, html, pptx, xlsx"):
        parse_formats("pdf,docx,odt")
    with pytest.raises(ValueError, match="no format"):
        parse_formats(" , ")
    assert needs_renderer(["html", "pdf"]) and not needs_renderer(["html", "xlsx", "pptx"])
    assert needs_model(["pptx"]) and needs_model(["xlsx"]) and not needs_model(["pdf", "html"])
    assert EXPORTERS["xlsx"].path(Path("a/b")) == Path("a/b.xlsx")


def test_cli_refuses_unknown_formats_with_exit_2(capsys):
    from workbench.cli import main

    assert main(["run", "x", "--formats", "pdf,docx"]) == 2
    err = capsys.readouterr().err
    assert "'docx'" in err and "pdf, html, pptx, xlsx" in err


def test_export_needs_the_model_for_model_formats_and_writes_the_others(tmp_path):
    import nbformat

    from workbench.errors import ExportError
    from workbench.export import export_notebook

    nb = nbformat.v4.new_notebook(metadata={"workbench": {"title": {"en": "Brand <health>"}}})
    with pytest.raises(ExportError, match="report model"):
        export_notebook(nb, tmp_path / "r", formats=("html", "xlsx"))
    html = (tmp_path / "r.html").read_text()  # written although the workbook failed
    assert "<title>Brand &lt;health&gt;</title>" in html


def test_deck_template_is_a_checked_run_key(nbdir, tmp_path):
    import zipfile

    from _nbfactory import write_params
    from workbench.config import load_params
    from workbench.errors import ParamsError

    nb = make_notebook(nbdir, "tpl", BODY)
    good = tmp_path / "client.pptx"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    spec = load_params(write_params(tmp_path / "p.yaml", nb, deck_template=str(good)))
    assert spec.deck_template == str(good.resolve()) and "deck_template" not in spec.params
    assert load_params(write_params(tmp_path / "p.yaml", nb, deck_template="")).deck_template == ""
    (tmp_path / "fake.pptx").write_text("not a zip")
    for bad, words in ((str(tmp_path / "missing.pptx"), "not found"), (str(tmp_path / "x.potx"), ".pptx"),
                       (str(tmp_path / "fake.pptx"), "zip"), (3, "path")):
        with pytest.raises(ParamsError, match=f"deck_template.*{words}"):
            load_params(write_params(tmp_path / "p.yaml", nb, deck_template=bad))


# --------------------------------------------------------------------------------------------
# a run: the model feeds the workbook and is not published; titles, cover and manifest
# --------------------------------------------------------------------------------------------
def test_run_writes_the_workbook_from_the_model_and_publishes_no_model(nbdir, tmp_path):
    import openpyxl

    from _nbfactory import write_params
    from workbench.runner import run

    nb = make_notebook(nbdir, "wb", BODY)
    res = run(params_file=write_params(tmp_path / "p.yaml", nb, n=40), out=tmp_path / "o",
              formats=("html", "xlsx"))
    assert set(res.files) >= {"html", "xlsx", "ipynb", "manifest"}
    assert not (res.folder / MODEL_FILE).exists() and not list(res.folder.glob(".*"))
    book = openpyxl.load_workbook(res.files["xlsx"])
    assert book.worksheets[0]["A1"].value == "Test report"
    ws = book.worksheets[1]
    assert ws["A1"].value == "NPS by brand" and ws["B3"].value == pytest.approx(12.34)
    html = res.files["html"].read_text(encoding="utf-8")
    assert "<title>Test report</title>" in html
    cover = html[html.index('<section class="cx-cover"'):html.index("</section>")]
    assert ">demo<" not in cover and "Test Client" in cover  # no internal study id on the cover
    manifest = json.loads(res.files["manifest"].read_text())
    assert manifest["formats"] == ["html", "xlsx"]
    assert set(manifest["timings"]["export_by_format_s"]) == {"html", "xlsx"}
    text = json.dumps({k: manifest[k] for k in ("params_file", "parameters", "inputs")})
    assert str(tmp_path) not in text and str(PROJECT_ROOT) not in text  # no machine paths
    assert manifest["params_file"] == "p.yaml"  # relative to the params file's folder


def test_manifest_paths_are_relative(tmp_path):
    from workbench import PROJECT_ROOT
    from workbench.runner import _relative

    root = PROJECT_ROOT.resolve()
    assert _relative(root / "data" / "acme" / "x.csv", root, tmp_path) == "data/acme/x.csv"
    assert _relative(tmp_path / "client.pptx", root, tmp_path) == "client.pptx"
    outside = _relative("/elsewhere/y.csv", root, tmp_path)
    assert not outside.startswith("/") and outside.endswith("elsewhere/y.csv")
    assert _relative("demo", root) == "demo" and _relative("", root) == ""


def test_a_figure_titled_on_the_left_keeps_its_title_as_alt_text():
    """The report theme puts titles on the left (axes.titlelocation); the alt text still finds them."""
    import matplotlib

    from workbench.report import _figure_title

    with matplotlib.rc_context({"axes.titlelocation": "left"}):
        fig, ax = plt.subplots()
        ax.set_title("Chart title")
    assert _figure_title(fig) == "Chart title"
    plt.close(fig)
