"""The PowerPoint deck: reopened with python-pptx, its slides, native charts and tables, fonts,
text fit, client templates and hostile labels."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from pptx import Presentation  # noqa: E402
from pptx.enum.chart import XL_CHART_TYPE  # noqa: E402
from pptx.oxml.ns import qn  # noqa: E402

from workbench import deck  # noqa: E402
from workbench.deck import CJK_FONT, MAX_TABLE_ROWS, action_title, build_deck, clean_text, text_lines  # noqa: E402
from workbench.reportmodel import (Chart, Figure, Finding, Heading, Note, Report, Series, Table,  # noqa: E402
                                   Text, chart_of)

EMU = 914400


def _png(w=720, h=380, colour=(31, 95, 139)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, format="PNG")
    return buf.getvalue()


def _figure(chart=None, title=None, alt="A chart", w=7.2, h=3.8):
    return Figure(png=_png(int(w * 100), int(h * 100)), alt=alt, width_in=w, height_in=h, chart=chart, title=title)


CHARTS = {
    "bar": Chart("bar", ["Detractors", "Passives", "Promoters"], [Series("Retained", [68.8, 82.7, 89.2])],
                 y_title="Share (%)"),
    "barh": Chart("barh", ["Delta (D)", "Cirrus (C)", "Beacon (B)", "Aurora (A)"],  # bottom first
                  [Series("NPS", [-20.5, -0.2, 12.4, 2.3])], x_title="NPS (points)",
                  number_format='0.0;"−"0.0'),
    "stacked_barh": Chart("stacked_barh", ["North", "South"],
                          [Series("Detractors", [30.0, 25.0]), Series("Passives", [40.0, 45.0]),
                           Series("Promoters", [30.0, 30.0])], number_format="0"),
    "line": Chart("line", ["2026-01", "2026-02", "2026-03"],
                  [Series("Aurora", [0.8, None, 2.3]), Series("Beacon", [15.1, 18.7, 12.4]),
                   Series("Cirrus", [5.5, 0.4, -0.2])]),
    "scatter": Chart("scatter", [], [Series("Drivers", [55.0, 70.0, 62.0], x=[0.1, 0.3, 0.2])],
                     x_title="Importance", y_title="Performance"),
}


def _report(lang="en", n_long=20) -> Report:
    long = pd.DataFrame({"region": [f"Region {i}" for i in range(n_long)], "share": np.linspace(0.1, 0.9, n_long),
                         "n": np.arange(n_long) * 10 + 50})
    small = pd.DataFrame({"kpi": ["NPS", "Satisfaction"], "latest": [2.3, 0.603], "change": [2.0, 0.011]})
    sig = pd.DataFrame({"latest": ["up", ""], "change": ["", "down"]}, index=small.index)
    flags = pd.DataFrame({"latest": ["", "caution"]}, index=small.index)
    words = {"en": ("Executive summary", "Brand health", "Appendix"),
             "zh": ("执行摘要", "品牌健康", "附录")}[lang]
    blocks = [
        Heading(words[0], 1),
        Text("This report covers wave 6."),
        Finding(["Aurora's NPS is **2.3**, up 2.0 points on wave 5." if lang == "en"
                 else "极光通信净推荐值为**2.3**，较上波上升2.0分。",
                 "Beacon leads at 12.4.", "Promoters are retained more often than detractors."]),
        Table(small, formats={"latest": "num1", "change": "num1"}, labels={"kpi": "KPI", "latest": "Latest",
                                                                          "change": "Change"},
              sig=sig, base_flags=flags, caption="KPIs at a glance", note="▲/▼ significant at 95%"),
        Heading(words[1], 1),
        Finding(["**Beacon leads the market**: 12.4 against 2.3 for Aurora.", "Delta is last."]),
        _figure(CHARTS["barh"], alt="NPS by brand"),
        Note("Low base for Delta in one wave."),
        Table(long, formats={"share": "pct1", "n": "int"}, labels={"region": "Region", "share": "Share", "n": "n"},
              caption="Shares by region"),
        Heading("Trend", 2),
        _figure(CHARTS["line"], title="Aurora recovers after a dip in February"),
        Heading("Outcomes", 2),
        _figure(CHARTS["bar"]),
        _figure(CHARTS["stacked_barh"]),
        _figure(CHARTS["scatter"]),
        Heading("Picture", 2),
        Finding(["The path diagram shows value driving recommendation."]),
        _figure(None, alt="Path diagram", w=7.2, h=5.0),
        Finding(["**Value** first: act on price.", "**Digital** later."], title="What to do first"),
        Heading("Recommendations", 1),
        Text("Three things follow.\n\n- Raise the sample to **1,000**.\n- Keep the quotas.\n  Check them monthly."),
        Heading(words[2], 1),
        Finding(["Weights are raked.", "Tests are z tests."], title="How the numbers were made"),
    ]
    return Report(meta={"title": "Wave report" if lang == "en" else "波次报告", "study": "CX tracker",
                        "study_id": "demo_internal_id", "client": "Client Co", "period": "2026-06",
                        "language": lang, "report_date": "2026-07-01"}, blocks=blocks)


def _charts(prs):
    return [sh for s in prs.slides for sh in s.shapes if sh.has_chart]


def _tables(prs):
    return [sh for s in prs.slides for sh in s.shapes if sh.has_table]


def _slide_with_table(prs, first_header):
    return next(s for s in prs.slides if any(sh.has_table and sh.table.cell(0, 0).text == first_header
                                             for sh in s.shapes))


def _title(slide) -> str:
    t = slide.shapes.title
    return t.text_frame.text if t is not None else ""


@pytest.fixture(scope="module")
def en_deck(tmp_path_factory):
    path = tmp_path_factory.mktemp("deck") / "deck.pptx"
    report = _report("en")
    assert build_deck(report, path) == path
    return report, Presentation(str(path))


def test_title_and_summary_slides(en_deck):
    report, prs = en_deck
    assert prs.slide_width / prs.slide_height == pytest.approx(16 / 9, rel=0.01)
    texts = " ".join(sh.text_frame.text for sh in prs.slides[0].shapes if sh.has_text_frame)
    assert "Wave report" in texts and "Client Co" in texts and "2026-06" in texts and "2026-07-01" in texts
    assert "demo_internal_id" not in texts  # internal ids never on the cover
    # the executive summary's title is the headline finding, its body the other findings
    assert _title(prs.slides[1]) == "Aurora's NPS is 2.3, up 2.0 points on wave 5"  # a headline, no full stop
    body = " ".join(sh.text_frame.text for sh in prs.slides[1].shapes if sh.has_text_frame)
    assert "Beacon leads at 12.4." in body and "Promoters are retained" in body
    titles = [_title(s) for s in prs.slides]
    assert "Beacon leads the market" in titles  # the bold lead of a finding is its slide's title
    assert "Aurora recovers after a dip in February" in titles  # a figure's own title wins
    assert "How the numbers were made" in titles
    # a titled box inside the report is a slide where it stands; the one closing it follows the appendix
    assert titles.index("What to do first") < titles.index("Appendix") < titles.index("How the numbers were made")
    # a part in words only becomes bullets, list marks dropped
    rec = prs.slides[titles.index("Recommendations")]
    paras = [p.text for sh in rec.shapes if sh.has_text_frame and sh.name != "Title 1"
             for p in sh.text_frame.paragraphs]
    assert paras[:3] == ["Three things follow.", "Raise the sample to 1,000.", "Keep the quotas. Check them monthly."]
    assert 8 <= len(prs.slides) <= deck.MAX_SLIDES


def test_charts_are_native_with_embedded_values(en_deck):
    _, prs = en_deck
    charts = _charts(prs)
    kinds = {sh.chart.chart_type for sh in charts}
    assert kinds == {XL_CHART_TYPE.COLUMN_CLUSTERED, XL_CHART_TYPE.BAR_CLUSTERED, XL_CHART_TYPE.BAR_STACKED,
                     XL_CHART_TYPE.LINE_MARKERS, XL_CHART_TYPE.XY_SCATTER}
    by_type = {sh.chart.chart_type: sh.chart for sh in charts}
    line = by_type[XL_CHART_TYPE.LINE_MARKERS]
    assert list(line.plots[0].categories) == ["2026-01", "2026-02", "2026-03"]
    assert [s.name for s in line.plots[0].series] == ["Aurora", "Beacon", "Cirrus"]
    assert list(line.plots[0].series[0].values) == [0.8, None, 2.3]
    assert list(line.plots[0].series[1].values) == [15.1, 18.7, 12.4]
    bars = by_type[XL_CHART_TYPE.BAR_CLUSTERED]  # categories bottom first, as given
    assert list(bars.plots[0].categories) == CHARTS["barh"].categories
    assert list(bars.plots[0].series[0].values) == [-20.5, -0.2, 12.4, 2.3]
    col = by_type[XL_CHART_TYPE.COLUMN_CLUSTERED]
    assert list(col.plots[0].series[0].values) == [68.8, 82.7, 89.2]
    scatter = by_type[XL_CHART_TYPE.XY_SCATTER]
    assert list(scatter.plots[0].series[0].values) == [55.0, 70.0, 62.0]
    # the workbook embedded in the chart holds the numbers (the client edits them in PowerPoint)
    assert line.part.chart_workbook.xlsx_part is not None
    # a figure without chart data stays a picture, at its aspect ratio
    pics = [sh for s in prs.slides for sh in s.shapes if sh.shape_type == 13]
    assert len(pics) == 1
    assert pics[0].width / pics[0].height == pytest.approx(7.2 / 5.0, rel=0.01)
    assert pics[0]._element.nvPicPr.cNvPr.get("descr") == "Path diagram"


def test_tables_are_native_with_headers_marks_and_trimming(en_deck):
    report, prs = en_deck
    tables = {sh.table.cell(0, 0).text: sh.table for sh in _tables(prs)}
    kpi = tables["KPI"]
    src = report.blocks[3]
    assert [kpi.cell(0, j).text for j in range(3)] == ["KPI", "Latest", "Change"]
    cells = src.cells()
    for i in range(len(cells)):
        assert [kpi.cell(i + 1, j).text for j in range(3)] == list(cells.iloc[i])
    assert "▲" in kpi.cell(1, 1).text and kpi.cell(2, 1).text.endswith("*")
    long = tables["Region"]
    assert len(long.rows) - 1 <= MAX_TABLE_ROWS
    slide = _slide_with_table(prs, "Region")
    foot = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    assert f"of {20}" in foot and "workbook" in foot
    # the low-base marker and the table's note are in the footer of the KPI slide
    slide = _slide_with_table(prs, "KPI")
    foot = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    assert "significant at 95%" in foot and "low base" in foot


def _frames(prs):
    for s in prs.slides:
        for sh in s.shapes:
            if sh.has_text_frame and sh.text_frame.text.strip():
                yield s, sh


def _estimated_height(shape) -> float:
    """Height the text of ``shape`` needs by the deck's estimate, read back from the file."""
    tf = shape.text_frame
    height = (tf.margin_top + tf.margin_bottom) / EMU
    width = shape.width / EMU
    for i, p in enumerate(tf.paragraphs):
        runs = [r for r in p.runs if r.text]
        if not runs:
            continue
        size = max(r.font.size.pt for r in runs)
        bold = any(r.font.bold for r in runs)
        indent = int(p._p.pPr.get("marL", "0")) / EMU if p._p.pPr is not None else 0
        lines = text_lines("".join(r.text for r in runs), size, width - indent, bold=bold)
        height += lines * size * deck._line_factor("".join(r.text for r in runs)) / 72
        if i and p.space_before is not None:
            height += p.space_before.pt / 72
    return height


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_text_frame_overflows_by_estimate(tmp_path, lang):
    path = build_deck(_report(lang), tmp_path / "d.pptx")
    prs = Presentation(str(path))
    checked = 0
    for _, sh in _frames(prs):
        assert _estimated_height(sh) <= sh.height / EMU + 0.01, (sh.name, sh.text_frame.text[:80])
        assert sh.left >= 0 and sh.top >= 0 and sh.left + sh.width <= prs.slide_width + 1
        assert sh.top + sh.height <= prs.slide_height + 1
        checked += 1
    assert checked > 10


def test_chinese_deck_sets_the_cjk_font_on_every_run(tmp_path):
    prs = Presentation(str(build_deck(_report("zh"), tmp_path / "zh.pptx")))
    runs = 0
    for s in prs.slides:
        for r in s._element.iter(qn("a:r")):
            rpr = r.find(qn("a:rPr"))
            assert rpr is not None and rpr.find(qn("a:ea")) is not None, r.findtext(qn("a:t"))
            assert rpr.find(qn("a:ea")).get("typeface") == CJK_FONT
            runs += 1
        for end in s._element.iter(qn("a:endParaRPr")):
            assert end.find(qn("a:ea")).get("typeface") == CJK_FONT
    assert runs > 50
    for sh in _charts(prs):  # chart text too
        assert sh.chart.font._rPr.find(qn("a:ea")).get("typeface") == CJK_FONT
    assert _title(prs.slides[1]) == "极光通信净推荐值为2.3，较上波上升2.0分"
    assert "附录" in [_title(s) for s in prs.slides]


def test_english_deck_has_no_east_asian_font(en_deck):
    _, prs = en_deck
    assert not any(True for s in prs.slides for _ in s._element.iter(qn("a:ea")))


def _template(path, *, width=12192000, height=6858000):
    prs = Presentation()
    prs.slide_width, prs.slide_height = width, height
    master = prs.slide_masters[0]
    master._element.cSld.set("name", "Client master")
    for layout in master.slide_layouts:  # the client's own layout names
        layout.name = {"Title Slide": "Cover", "Title Only": "Headline only"}.get(layout.name, layout.name + " X")
    prs.slides.add_slide(master.slide_layouts[0]).shapes.title.text = "Template sample slide"
    prs.save(str(path))
    return path


def test_client_template_masters_and_layouts_are_used(tmp_path):
    tpl = _template(tmp_path / "client.pptx")
    prs = Presentation(str(build_deck(_report("en"), tmp_path / "t.pptx", template=tpl)))
    assert prs.slide_width == 12192000
    titles = [_title(s) for s in prs.slides]
    assert "Template sample slide" not in titles  # the template's own slides are dropped
    for s in prs.slides:
        assert s.slide_layout.slide_master._element.cSld.get("name") == "Client master"
    assert prs.slides[0].slide_layout.name == "Cover"
    assert {s.slide_layout.name for s in list(prs.slides)[1:]} == {"Headline only"}
    # no empty placeholders left ("Click to add text")
    for s in prs.slides:
        for ph in s.placeholders:
            assert ph.has_text_frame and ph.text_frame.text.strip(), (s.slide_layout.name, ph.name)
    for _, sh in _frames(prs):
        assert _estimated_height(sh) <= sh.height / EMU + 0.01


def test_a_template_that_is_not_a_deck_is_an_export_error(tmp_path):
    from workbench.errors import ExportError

    bad = tmp_path / "client.pptx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ExportError, match="client.pptx is not a PowerPoint presentation"):
        build_deck(_report("en"), tmp_path / "x.pptx", template=bad)
    with pytest.raises(ExportError, match="missing.pptx not found"):
        build_deck(_report("en"), tmp_path / "x.pptx", template=tmp_path / "missing.pptx")
    assert not (tmp_path / "x.pptx").exists()


def test_brand_palette_and_logo(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (400, 100), (200, 30, 30)).save(logo)
    brand = {"palette": ["#0B3D91", "#F28C28", "#2E8B57"], "logo": logo, "font": "Georgia"}
    prs = Presentation(str(build_deck(_report("en"), tmp_path / "b.pptx", brand=brand)))
    pics = [sh for sh in prs.slides[0].shapes if sh.shape_type == 13]
    assert len(pics) == 1 and pics[0].width / pics[0].height == pytest.approx(4.0, rel=0.02)
    line = next(sh.chart for sh in _charts(prs) if sh.chart.chart_type == XL_CHART_TYPE.LINE_MARKERS)
    assert [str(s.format.line.color.rgb) for s in line.plots[0].series] == ["0B3D91", "F28C28", "2E8B57"]
    fonts = {r.font.name for s in prs.slides for sh in s.shapes if sh.has_text_frame
             for p in sh.text_frame.paragraphs for r in p.runs}
    assert fonts == {"Georgia"}


def test_brand_from_codebook(tmp_path):
    import yaml

    from workbench.codebook import load_codebook
    from workbench.deck import DeckBrand
    from workbench.errors import CodebookError

    raw = yaml.safe_load((deck.Path(deck.__file__).parent / "data" / "demo" / "codebook.yaml").read_text("utf-8"))
    (tmp_path / "img").mkdir()
    Image.new("RGB", (300, 100), (0, 0, 0)).save(tmp_path / "img" / "logo.png")
    raw["brand"] = {"logo": "img/logo.png", "palette": ["#112233"], "font": "Arial"}
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cb = load_codebook(tmp_path)
    b = DeckBrand.of(cb)
    assert b.logo == (tmp_path / "img" / "logo.png").resolve() and b.palette == ["#112233"] and b.font == "Arial"
    for bad, words in (({"logo": "../logo.png"}, "relative to the codebook"), ({"palette": ["blue"]}, "#RRGGBB"),
                       ({"logo": "missing.png"}, "not found"), ({"font": "<script>"}, "font family")):
        raw["brand"] = bad
        (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        with pytest.raises(CodebookError, match=re.escape(words)):
            load_codebook(tmp_path)


def test_hostile_labels(tmp_path):
    evil = "Brand\x00\x07\x1b[31m <b>&amp;</b> \ufffe"
    long = "Very long finding " * 120
    report = Report(meta={"title": "T\x0b" + "x" * 500, "language": "en", "client": evil}, blocks=[
        Finding([long, evil, "**unclosed bold"]),
        Heading(evil * 3, 1),
        Finding([evil + " leads"]),
        _figure(Chart("bar", [evil, "B" * 300, ""], [Series(evil, [1.0, 2.0, 3.0])])),
        Table(pd.DataFrame({"name": [evil, "y" * 900], "v": [1.0, 2.0]}), labels={"name": evil, "v": "V" * 200}),
    ])
    path = build_deck(report, tmp_path / "h.pptx")
    prs = Presentation(str(path))
    xml = "".join(s._element.xml for s in prs.slides)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", xml)
    assert "<b>&amp;</b>" in clean_text(evil) and "&lt;b&gt;&amp;amp;&lt;/b&gt;" in xml  # text, not markup
    summary = prs.slides[1]
    assert _title(summary).endswith("…")  # a headline longer than the title frame is cut ...
    notes = summary.notes_slide.notes_text_frame.text
    assert long.strip() in notes  # ... and given in full in the notes
    chart = _charts(prs)[0].chart
    assert "Brand" in chart.plots[0].categories[0] and "\x00" not in chart.plots[0].categories[0]
    for _, sh in _frames(prs):
        assert _estimated_height(sh) <= sh.height / EMU + 0.01


def test_action_title_splits_long_findings():
    assert action_title("**Fieldwork missed its targets**: two groups were off.") == \
        ("Fieldwork missed its targets", "Two groups were off.")
    # a bold label is not a finding: the title is the label and the first sentence after it
    assert action_title("**Tracking sensitivity:** Aurora's NPS must move 9.4 points to be detected (80% power). "
                        "Detecting 5 points would take about 3,517 interviews per wave.") == \
        ("Tracking sensitivity: Aurora's NPS must move 9.4 points to be detected (80% power)",
         "Detecting 5 points would take about 3,517 interviews per wave.")
    assert action_title("**账单与扣费**：2026-01为10%，2026-06为22%。", "zh") == ("账单与扣费：2026-01为10%，2026-06为22%。", None)
    assert action_title("**Survivorship: cannot be ruled out.** NPS is not above wave 1.")[0] == \
        "Survivorship: cannot be ruled out"
    short = "NPS is 2.3 (up 2.0 points: not significant)."
    assert action_title(short) == (short, None)
    text = "Detractors do leave faster: " + "27% of the detractors had left by wave 6, against 8% of promoters " * 2
    title, rest = action_title(text)
    assert title == "Detractors do leave faster" and rest.startswith("27% of the detractors")


def test_house_palette_matches_the_charts():
    from workbench.plots._theme import PALETTE

    assert deck.HOUSE_PALETTE == PALETTE


# --------------------------------------------------------------------------------------------
# the wave report's own charts on the demo study
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wave_res():
    from workbench import io as wio
    from workbench import synth, waves
    from workbench.codebook import load_codebook

    cb = load_codebook("demo")
    d = synth.demo_dir()
    tr = wio.read_survey(d / "tracking.csv", cb, dataset="tracking")
    od = wio.read_survey(d / "odata.csv", cb, dataset="odata")
    res = waves.analyze(tr, weight="design_weight", our_brand="aurora", competitors=["beacon", "cirrus", "delta"],
                        mix_by="segment", odata=od, codebook=cb)
    return res, cb


NATIVE = {"segment_trend": "line", "mix_trend": "line", "benchmark_bars": "barh", "benchmark_trend": "line"}
PICTURES = ("wave_trend", "kpi_panels", "mix_waterfall", "xo_chart")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wave_charts_become_native_deck_charts(wave_res, tmp_path, lang):
    from workbench import plots

    res, cb = wave_res
    plots.apply_theme(lang)
    blocks = [Finding(["Headline"])]
    for name in list(NATIVE) + list(PICTURES):
        fig = getattr(plots, name)(res, lang=lang, codebook=cb)
        chart = chart_of(fig)
        if name in PICTURES:
            assert chart is None, name
        else:
            assert chart is not None and chart.kind == NATIVE[name], name
            # the data is what the picture shows: the legend's names, the axis' categories
            legend = fig.axes[0].get_legend()
            if legend is not None and chart.kind == "line":
                shown = [t.get_text() for t in legend.get_texts()]
                assert [s.name for s in chart.series] == shown[:len(chart.series)], name
                drawn = [matplotlib.colors.to_hex(h.get_color()) for h in legend.legend_handles[:len(chart.series)]]
                assert [s.color for s in chart.series] == drawn, name  # the deck keeps each group's colour
            if chart.kind == "barh":  # bottom first, as drawn
                ax = fig.axes[0]
                ticks = [lab.get_text() for _, lab in sorted(zip(ax.get_yticks(), ax.get_yticklabels()),
                                                             key=lambda p: p[0])]
                assert chart.categories == ticks, name
            else:
                assert chart.categories == [lab.get_text() for lab in fig.axes[0].get_xticklabels()], name
            assert chart.note and ("Base" in chart.note or "样本基数" in chart.note), name
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        w, h = fig.get_size_inches()
        blocks += [Heading(name, 1), Figure(buf.getvalue(), name, float(w), float(h), chart=chart)]
        plt.close(fig)
    path = build_deck(Report(meta={"title": "Waves", "language": lang}, blocks=blocks), tmp_path / "w.pptx")
    prs = Presentation(str(path))
    charts = _charts(prs)
    assert len(charts) == len(NATIVE)
    bench = next(sh.chart for sh in charts if sh.chart.chart_type == XL_CHART_TYPE.BAR_CLUSTERED)
    from workbench.plots.waves import _scaled

    expected = _scaled(res, res.benchmark["est"])
    assert np.allclose(list(bench.plots[0].series[0].values), expected[::-1])
    # native charts carry the base line in the slide's footer
    slide = next(s for s in prs.slides if any(sh.has_chart for sh in s.shapes))
    foot = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    assert "n=" in foot


def test_a_long_summary_continues_on_further_slides(tmp_path):
    items = [f"Finding number {i}: " + "the score moved within noise " * 6 for i in range(40)]
    prs = Presentation(str(build_deck(Report(meta={"language": "en"}, blocks=[Finding(items)]), tmp_path / "l.pptx")))
    titles = [_title(s) for s in prs.slides]
    assert titles[1].startswith("Finding number 0:") and len(titles) > 3
    assert set(titles[2:]) == {"Executive summary (continued)"}
    body = [p.text for s in list(prs.slides)[1:] for sh in s.shapes if sh.has_text_frame and sh.name != "Title 1"
            for p in sh.text_frame.paragraphs]
    assert [b.split(":")[0] for b in body] == [f"Finding number {i}" for i in range(1, 40)]  # each once, in order
    for _, sh in _frames(prs):
        assert _estimated_height(sh) <= sh.height / EMU + 0.01


def test_table_rows_holding_chinese_get_the_cjk_line_height(tmp_path):
    # LibreOffice sets a line holding Chinese by the CJK font's height (about 1.45 × size), not
    # Arial's 1.2: rows estimated at 1.2 ran a 12-row table off the slide
    rows = 12
    data = pd.DataFrame({"n": np.arange(rows) * 100 + 100, "note": ["◀ 每个竞品" if i % 3 == 0 else "" for i in range(rows)]})
    tb = Table(data, formats={"n": "int"}, labels={"n": "每波次样本量", "note": "本设计"}, caption="不同样本量下的精度",
               note="95% 置信水平。" * 6, text_columns=["note"])
    prs = Presentation(str(build_deck(Report(meta={"language": "zh"}, blocks=[Heading("精度", 2), tb]),
                                      tmp_path / "zh.pptx")))
    s = _slide_with_table(prs, "每波次样本量")
    shape = next(sh for sh in s.shapes if sh.has_table)
    foot = next(sh for sh in s.shapes if sh.name == "Footer notes")
    size = shape.table.cell(1, 0).text_frame.paragraphs[0].runs[0].font.size.pt
    for i in range(1, len(shape.table.rows)):  # every row, numbers-only ones too: the CJK font sets them
        assert shape.table.rows[i].height / EMU >= size * 1.45 / 72 + 2 * deck._PAD_V - 1e-4
    assert shape.top + sum(r.height for r in shape.table.rows) <= foot.top + 1  # above the footer
    assert deck.text_height(["每个竞品"], 12, 3) > deck.text_height(["abcd"], 12, 3)
    token = deck._CJK_DECK.set(True)  # in a Chinese deck '◀' is drawn full width from the CJK font
    try:
        assert deck._ems("◀ 每个竞品") >= 5.3 and deck._line_factor("1,000") == pytest.approx(1.45)
    finally:
        deck._CJK_DECK.reset(token)
    assert deck._ems("◀") < 0.6 and deck._line_factor("1,000") == pytest.approx(1.2)


def test_drivers_on_a_matrix_are_labelled_by_name(tmp_path):
    chart = Chart("scatter", [], [Series(n, [v], x=[x]) for n, v, x in
                                  [("Value", 62.4, 0.29), ("Service", 62.3, 0.20), ("Digital", 64.0, 0.06)]],
                  x_title="Importance", y_title="Performance")
    prs = Presentation(str(build_deck(Report(meta={"language": "en"}, blocks=[Heading("Matrix", 2),
                                                                              _figure(chart)]), tmp_path / "m.pptx")))
    (sh,) = _charts(prs)
    labels = sh.chart._chartSpace.findall(".//" + qn("c:dLbl"))
    assert len(labels) == 3
    for dl in labels:  # each point shows its driver's name, not its value
        assert dl.find(qn("c:showSerName")).get("val") == "1"
        assert dl.find(qn("c:showVal")).get("val") == "0"
    # the right-most driver is named on its left, so its name stays inside the chart
    assert [dl.find(qn("c:dLblPos")).get("val") for dl in labels] == ["l", "l", "r"]


def test_a_box_repeated_later_in_the_report_gets_one_slide(tmp_path):
    todo = ["**Value** first: act on price.", "**Digital** later."]
    blocks = [Heading("Summary", 1), Finding(["Value drives recommendation most."]),
              Finding(todo, title="What to do first"), Heading("Matrix", 2), _figure(CHARTS["bar"], alt="Matrix"),
              Finding(list(todo), title="What to do first"), Heading("Other", 2), Finding(["Digital is last."]),
              Finding(["Weights are raked."], title="How the numbers were made")]
    prs = Presentation(str(build_deck(Report(meta={"language": "en"}, blocks=blocks), tmp_path / "r.pptx")))
    titles = [_title(s) for s in prs.slides]
    assert titles.count("What to do first") == 1
    assert titles.count("How the numbers were made") == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_long_title_keeps_two_lines_and_moves_the_rest_to_the_body(tmp_path, lang):
    title = {"en": "Raising the smallest competitor base from 397 to 625 narrows the widest competitor margin "
                   "from ±7.3 to ±5.8 points, but the design effect rises from 1.00 to 1.08 (193 fewer "
                   "effective interviews): the total's margin widens from ±2.9 to ±3.0 points and Aurora's "
                   "from ±4.9 to ±5.8.",
             "zh": "按设计权重（样本自身结构）计算，第6波（2026-06）净推荐值为5.7（较2026-05变化+2.1分；自2026-01以来"
                   "变化+5.6分）；按总体目标迭代加权（即本报告采用的口径）为2.3（较2026-05变化+2.0分；自2026-01"
                   "以来变化+1.5分）。"}[lang]
    prs = Presentation(str(build_deck(Report(meta={"language": lang}, blocks=[
        Heading("Boost", 2), _figure(CHARTS["line"], title=title)]), tmp_path / "t.pptx")))
    s = prs.slides[1]
    shown = _title(s)
    width = s.shapes.title.width / EMU
    assert text_lines(shown, deck.TITLE_SIZE, width, bold=True) <= 2
    assert shown and title.startswith(shown) and not shown.endswith(("。", "."))
    panel = next(sh for sh in s.shapes if sh.name == "Takeaways").text_frame.text
    rest = title[len(shown):].lstrip(",，:：;；。. ").rstrip("。.")
    assert rest[1:] in panel  # the rest of the finding is on the slide, not lost
    for _, sh in _frames(prs):
        assert _estimated_height(sh) <= sh.height / EMU + 0.01


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_two_line_footer_note_is_not_cut(tmp_path, lang):
    note = {"en": "Base: Aurora customers, latest wave, n=989; significance at 95% confidence. " * 3,
            "zh": "样本基数：极光通信客户，最新波次，n=989；在95%置信水平下显著。" * 4}[lang]
    prs = Presentation(str(build_deck(Report(meta={"language": lang}, blocks=[
        Heading("Trend", 2), Finding(["Aurora recovers."]), _figure(CHARTS["bar"]), Note(note)]),
        tmp_path / "f.pptx")))
    foot = next(sh for s in prs.slides for sh in s.shapes if sh.name == "Footer notes")
    assert foot.text_frame.text == clean_text(note).strip() and "…" not in foot.text_frame.text


def test_a_summary_does_not_continue_onto_a_near_empty_slide(tmp_path):
    base = "The score moved within sampling noise this wave, as it did in the two waves before it " * 2
    geometry = deck._Deck(Report(meta={"language": "en"}, blocks=[]), None, deck.DeckBrand.of(None))
    h = geometry.bottom - geometry.top

    def items(n):
        return [f"Finding {i}: " + base for i in range(n)]

    def cut_at_floor(n):  # findings left over at the usual 13-point floor
        return len(deck.fit_text(items(n)[1:], geometry.width, h, max_size=18, min_size=13, space_pt=9,
                                 indent_in=0.22).cut)

    n = next(k for k in range(5, 40) if cut_at_floor(k) == 1)  # one finding too many for one slide
    prs = Presentation(str(build_deck(Report(meta={"language": "en"}, blocks=[Finding(items(n))]),
                                      tmp_path / "s.pptx")))
    assert len(prs.slides) == 2  # kept on one slide in smaller type, not one item on a slide of its own
    body = [p.text for sh in prs.slides[1].shapes if sh.has_text_frame and sh.name != "Title 1"
            for p in sh.text_frame.paragraphs]
    assert body[-1].startswith(f"Finding {n - 1}:")  # the last finding too
    for _, sh in _frames(prs):
        assert _estimated_height(sh) <= sh.height / EMU + 0.01


def test_an_uncaptioned_appendix_table_is_named_by_its_part(tmp_path):
    settings = pd.DataFrame({"item": ["Weighting", "Tests"], "setting": ["raked", "z tests"]})
    blocks = [Heading("Summary", 1), Finding(["Twenty questions were tabulated."]),
              Heading("Method and settings", 1), Table(settings, labels={"item": "Item", "setting": "Setting"})]
    prs = Presentation(str(build_deck(Report(meta={"language": "en"}, blocks=blocks), tmp_path / "a.pptx")))
    assert _title(_slide_with_table(prs, "Item")) == "Method and settings"
    assert [_title(s) for s in prs.slides].count("Appendix") == 1  # the divider only


def test_a_long_title_is_not_cut_to_a_bare_label():
    title = ("By Customer segment: on Responsiveness, Business (−1.60) differs significantly from Consumer "
             "postpaid (−1.13) and Consumer prepaid (−1.19) (largest difference 0.47 points, p < 0.001).")
    head, rest = deck.split_title(title, 12.33)
    assert head.startswith("By Customer segment: on Responsiveness, Business") and len(head) > 60
    assert text_lines(head, deck.TITLE_SIZE, 12.33, bold=True) <= 2
    assert rest == "Largest difference 0.47 points, p < 0.001"  # the closing aside, without brackets
    assert deck.split_title("Short title.", 12.33) == ("Short title", None)
    head, rest = deck.split_title(  # a parenthesis in the middle is not an aside: the comma is the cut
        "Raising the smallest competitor base from 397 to 625 narrows the widest competitor margin from ±7.3 "
        "to ±5.8 points, but the design effect rises from 1.00 to 1.08 (193 fewer effective interviews): the "
        "total's margin widens from ±2.9 to ±3.0 points and Aurora's from ±4.9 to ±5.8.", 12.33)
    assert head.endswith("from ±7.3 to ±5.8 points") and rest.startswith("But the design effect rises")


# --------------------------------------------------------------------------------------------
# every native chart carries its base (from the result object) for the slide's footer
# --------------------------------------------------------------------------------------------
def _native_notes(figs):
    """{name: chart note} of the figures that have a native version; the figures are closed."""
    out = {}
    for name, fig in figs.items():
        chart = chart_of(fig)
        plt.close(fig)
        if chart is not None:
            out[name] = chart.note
    return out


BASE_WORD = {"en": "Base", "zh": "样本基数"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sampling_and_verbatims_native_charts_carry_their_base(lang):
    from workbench import plots
    from workbench import sampling as S
    from workbench import verbatims
    from workbench.codebook import load_codebook
    from workbench.io import read_survey
    from workbench.lowbase import LowBaseRule
    from workbench.plots import verbatims as vplots
    from workbench.synth import demo_dir

    plots.apply_theme(lang)
    inputs = S.read_inputs(demo_dir(), "demo")
    design = S.design_sample(inputs.frame, ["brand", "region"], ours="aurora", competitors=["beacon", "cirrus", "delta"],
                             n_ours=1000, n_competitor=500, penetration=inputs.penetration, min_n=60)
    options = S.boost_options(design, [0, 500, 625])
    notes = _native_notes({"boost": plots.boost_chart(options, design, lang=lang),
                           "power": plots.power_chart(design, lang=lang)})
    assert set(notes) == {"boost", "power"}
    total = f"{design.total['n']:,.0f}"
    assert notes["boost"].startswith(BASE_WORD[lang]) and total in notes["boost"]
    assert notes["power"].startswith(BASE_WORD[lang]) and total in notes["power"]

    cb = load_codebook("demo")
    data = read_survey(demo_dir() / "tracking.csv", cb, dataset="tracking")
    ours = (data["brand"] == "aurora").to_numpy()
    vt = verbatims.wave_themes(data, "verbatim", cb, weight="design_weight", wave=6, ref_wave=5, score="nps",
                               rows=ours, rule=LowBaseRule(caution=50, min_test=30), lang=lang)

    class Res:  # the parts of a WaveAnalysis the section reads
        periods = {w: f"2026-0{w}" for w in range(1, 7)}
        our_brand = "aurora"

    notes = _native_notes({name: getattr(vplots, name)(vt, Res(), lang=lang, codebook=cb)
                           for name in ("theme_bars", "theme_trend", "group_bars")})
    assert set(notes) == {"theme_bars", "theme_trend", "group_bars"}
    for name, note in notes.items():
        assert note and note.startswith(BASE_WORD[lang]), name
    assert f"n={vt.n_base:,}" in notes["theme_bars"]
    per_wave = vt.trend["n"]  # theme_shares' base of each wave, the same for every theme
    assert f"n={int(per_wave.min()):,}–{int(per_wave.max()):,}" in notes["theme_trend"]
    for grp in ("detractors", "promoters"):
        assert f"{int(vt.groups.loc[vt.groups['group'] == grp, 'n'].iloc[0]):,}" in notes["group_bars"]
    if lang == "zh":
        assert not re.search(r"\b(Base|whose|wave)\b", " ".join(notes.values()))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gap_native_charts_carry_their_base(lang):
    import warnings

    from workbench import gaps, plots
    from workbench._synth_gaps import make_gaps
    from workbench.codebook import load_codebook
    from workbench.errors import WorkbenchWarning

    cb = load_codebook("demo")
    frames, _ = make_gaps(np.random.default_rng(20261123))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        res = gaps.five_gap_report(frames["servqual"], frames["mgmt_survey"], cb, weight="design_weight", by="segment")
    plots.apply_theme(lang)
    words = {"lang": lang, "codebook": cb}
    notes = _native_notes({
        "dimension": plots.dimension_gap_chart(res.gap5, **words),
        "snake": plots.snake_chart(res.gap5, **words),
        "diagnosis": plots.diagnosis_chart(res.diagnosis, bases=res.bases, **words),
        "priority": plots.priority_chart(res.diagnosis, res.actions, bases=res.bases, **words)})
    assert set(notes) == {"dimension", "snake", "diagnosis", "priority"}
    customers = f"{int(res.bases['customers']['n']):,}"
    for name, note in notes.items():
        assert note and note.startswith(BASE_WORD[lang]) and customers in note, name
    assert f"{int(res.bases['staff']['n']):,}" in notes["diagnosis"]
    # a dimension with no shortfall keeps its row in the native priority chart, and says why
    from workbench.i18n import t
    from workbench.reportmodel import chart_of

    prio = chart_of(plots.priority_chart(res.diagnosis, res.actions, bases=res.bases, **words))
    empty = [c for i, c in enumerate(prio.categories) if not any(se.values[i] for se in prio.series)]
    assert empty and all(c.endswith(f"({t('gaps.chart.no_shortfall', lang)})") for c in empty)


def test_key_driver_native_charts_carry_their_base():
    from workbench import drivers, plots
    from workbench.codebook import load_codebook
    from workbench.io import read_survey
    from workbench.narrative import drivers as words
    from workbench.plots.drivers import QUADRANT_COLORS
    from workbench.synth import demo_dir

    cb = load_codebook("demo")
    kda = drivers.key_driver_analysis(read_survey(demo_dir() / "tracking.csv", cb, "tracking"), cb,
                                      weight="design_weight", brand="aurora", bootstrap=20, seed=7)
    plots.apply_theme("en")
    base = plots.base_text(kda.sem.n, what=words.base_what(kda, cb, "en"), lang="en")  # as the notebook does
    figs = {"views": plots.four_views_chart(kda, cb, lang="en", base=base),
            "views_loyalty": plots.four_views_chart(kda, cb, lang="en", base=base, outcome=kda.loyalty),
            "importance": plots.importance_chart(kda, cb, lang="en", base=base),
            "ipma": plots.ipma_chart(kda, cb, lang="en", base=base)}
    ipma = chart_of(figs["ipma"])
    notes = _native_notes(figs)
    assert set(notes) == set(figs)
    for name, note in notes.items():
        assert note.startswith(base) and f"n={kda.sem.n:,}" in note, name
    loyalty = cb.label(kda.loyalty, "en")
    assert loyalty in notes["views_loyalty"] and loyalty not in notes["views"]
    # the matrix's points keep the colour of the quadrant called, and the footer says so
    calls = kda.ipma["call"] if "call" in kda.ipma.columns else kda.ipma["quadrant"]
    assert [s.color for s in ipma.series] == [QUADRANT_COLORS.get(c, "#6b7785") for c in calls]
    assert "quadrant" in notes["ipma"]


@pytest.mark.parametrize("values, fmt, bounded", [([0.42, 0.81, 0.97], "0%", True),
                                                  ([0.2, 1.3], "0%", False),     # above 100%: data decide
                                                  ([42.0, 81.0], "0.0", False)])  # not shares
def test_a_share_axis_stops_at_100_percent(tmp_path, values, fmt, bounded):
    chart = Chart("line", [str(i) for i in range(len(values))], [Series("Power", values)], number_format=fmt)
    prs = Presentation(str(build_deck(Report(meta={"language": "en"}, blocks=[Heading("Power", 2),
                                                                              _figure(chart)]), tmp_path / "p.pptx")))
    (sh,) = _charts(prs)
    axis = sh.chart.value_axis
    assert (axis.minimum_scale, axis.maximum_scale) == ((0.0, 1.0) if bounded else (None, None))
