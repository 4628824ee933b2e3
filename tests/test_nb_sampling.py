"""The sampling-frame notebook (01_sampling_frame): its report read back from the PDF in English
and Chinese, its side files, and the words and charts it is made of.

The end-to-end tests run ``params/demo/sampling.yaml`` and ``sampling_zh.yaml`` once per session
(the shared ``demo_reports`` fixture) and compare the report with the design computed here
directly from :mod:`workbench.sampling`.
"""

from __future__ import annotations

import re
import warnings

import matplotlib
import mistune
import numpy as np
import pandas as pd
import pytest
import yaml

from workbench import PACKAGE_DIR, plots, sampling
from workbench.codebook import load_codebook
from workbench.config import notebook_parameters, validate_params
from workbench.errors import ParamsError
from workbench.narrative import sampling as story

from _nbfactory import HAS_PDF

matplotlib.use("Agg")

NOTEBOOK = "01_sampling_frame"
E2E = [pytest.mark.e2e, pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")]


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


@pytest.fixture(scope="module")
def inputs(cb):
    from workbench.synth import demo_dir

    return sampling.read_inputs(demo_dir(), cb)


@pytest.fixture(scope="module")
def design(inputs):
    """The demo design with the notebook's default parameters."""
    p = {k: v["default"] for k, v in notebook_parameters(NOTEBOOK).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the demo design raises no caution
        return sampling.design_sample(
            inputs.frame, p["strata"], ours=p["our_brand"], competitors=p["competitors"],
            n_ours=p["n_ours"], n_competitor=p["n_competitor"], penetration=inputs.penetration,
            method=p["method"], min_n=p["min_base"], promoters=p["promoters"],
            detractors=p["detractors"], p=p["proportion"], conf=p["confidence"], power=p["power"])


@pytest.fixture(scope="module")
def options(design):
    return sampling.boost_options(design, notebook_parameters(NOTEBOOK)["boost_levels"]["default"])


def _flat(text):
    """PDF text with all whitespace removed (pdftotext breaks lines inside sentences)."""
    return re.sub(r"\s+", "", text)


# ------------------------------------------------------------------------------------------
# end to end: the PDF in English and Chinese
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sampling", "sampling_zh"])
@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
def test_report_sections_and_planted_numbers(demo_reports, design, name):
    text = demo_reports.text(name)
    flat = _flat(text)
    zh = name.endswith("_zh")
    heads = (["执行摘要", "抽样设计概要", "精度：样本量与误差范围", "样本分配", "加量抽样的取舍", "配额表",
              "样本抽取与备用样本", "检验效能与最小可检测变化", "建议"] if zh else
             ["Executive summary", "Design summary", "Precision: what a base buys",
              "Allocation across strata", "The boost trade-off", "Quota sheet",
              "Sample draw and reserve", "Power and minimum detectable change", "Recommendations"])
    for h in heads:
        assert _flat(h) in flat, f"{name}: heading {h!r} missing"
    # the executive summary states the design's numbers (computed here from the package)
    tot, br = design.total, design.brands
    ours = br.iloc[0]
    nums = [f"{tot['n']:,.0f}", f"±{tot['moe_nps']:.1f}", f"±{ours['moe_nps']:.1f}",
            f"{tot['deff']:.2f}", f"{tot['n_eff']:,.0f}", f"{ours['mdc_nps']:.1f}"]
    assert nums == ["2,500", "±3.0", "±4.6", "1.05", "2,377", "9.4"]
    summary = flat[: flat.index(_flat(heads[1]))]
    for x in nums:
        assert x in summary, f"{name}: {x} not in the executive summary"
    if zh:
        for term in ("样本框", "样本量", "误差范围", "置信水平", "有限总体校正", "层", "样本分配",
                     "品牌渗透率", "配额", "备用样本", "设计效应", "有效样本量", "对标竞品", "极光通信"):
            assert term in flat, f"zh report lacks the glossary term {term}"
        assert "Executive" not in text and "Interviews" not in text
    else:
        assert "Each wave has 2,500 interviews: 1,000 for Aurora and 500 for each of Beacon, Cirrus and Delta" \
            in re.sub(r"\s+", " ", text)
    for bad in ("Traceback", "report.setup", "import ", "Warning", "NaN", " nan", "{", "**"):
        assert bad not in text, f"{name}: {bad!r} in the PDF"
    pages = int(re.findall(r"\d+ / (\d+)", text)[-1])
    assert 8 <= pages <= 14, pages


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
def test_side_files_quota_and_draw(demo_reports, design, inputs):
    res = demo_reports("sampling")
    folder = res.folder
    for f in ("quota_sheet.csv", "quota_sheet.xlsx", "sample_draw.csv"):
        assert (folder / f).is_file(), f
    import json

    assert {"quota_sheet.csv", "quota_sheet.xlsx", "sample_draw.csv"} <= set(
        json.loads((folder / "manifest.json").read_text())["outputs"])
    # quota sheet (headers in the report language, shares as percentages): interlocked targets
    # equal the allocation; each marginal table sums to n
    from workbench.i18n import t

    h = {k: t(f"sampling.file.{k}", "en") for k in ("table", "target", "min", "max", "share")}
    q = pd.read_csv(folder / "quota_sheet.csv", encoding="utf-8-sig", dtype={h["share"]: str})
    tables = list(dict.fromkeys(q[h["table"]]))
    assert tables == ["Main brand used × Region", "Age × Gender", "Customer segment"]
    inter = q[q[h["table"]] == tables[0]]
    assert inter[h["target"]].tolist() == design.allocation["n"].tolist()
    assert (inter[h["min"]] <= inter[h["target"]]).all() and (inter[h["target"]] <= inter[h["max"]]).all()
    assert q.groupby(h["table"], sort=False)[h["target"]].sum().tolist() == [2500, 2500, 2500]
    assert q[h["share"]].str.fullmatch(r"\d{1,3}\.\d%").all()  # no 0.8185328185328186
    from openpyxl import load_workbook

    wb = load_workbook(folder / "quota_sheet.xlsx", read_only=True)
    assert wb.sheetnames == tables
    # the draw: phones masked, main sample = allocation, same units as a direct seeded draw
    d = pd.read_csv(folder / "sample_draw.csv", dtype=str, encoding="utf-8-sig")
    cb = load_codebook("demo")
    assert (d[cb.label("phone", "en")] == "***").all()
    assert (d[t("sampling.draw.sample", "en")] == t("sampling.draw.main", "en")).sum() == 2500
    assert "selected" not in d.columns and "True" not in d.to_numpy()
    seed = notebook_parameters(NOTEBOOK)["seed"]["default"]
    direct = sampling.stratified_draw(inputs.frame, design.allocation, strata=design.strata, seed=seed,
                                      reserve=0.2, id_col="unit_id")
    assert d[cb.label("unit_id", "en")].tolist() == direct["unit_id"].tolist()
    # the Chinese run draws the very same sample (same seed); its quota sheet speaks Chinese
    zh = demo_reports("sampling_zh").folder
    dz = pd.read_csv(zh / "sample_draw.csv", dtype=str, encoding="utf-8-sig")
    assert dz.iloc[:, 3].tolist() == d.iloc[:, 3].tolist()
    qz = pd.read_csv(zh / "quota_sheet.csv", encoding="utf-8-sig")
    hz = {k: t(f"sampling.file.{k}", "zh") for k in ("table", "cell", "target")}
    assert qz[hz["table"]].iloc[0] == "主要使用品牌 × 区域" and qz[hz["cell"]].iloc[0] == "极光通信 / 北部"
    assert qz[hz["target"]].tolist() == q[h["target"]].tolist()


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
def test_chinese_sample_draw_speaks_chinese(demo_reports):
    from workbench.i18n import t

    dz = pd.read_csv(demo_reports("sampling_zh").folder / "sample_draw.csv", dtype=str, encoding="utf-8-sig")
    assert dz.columns[0] == t("sampling.draw.sample", "zh")
    assert set(dz.iloc[:, 0]) == {t("sampling.draw.main", "zh"), t("sampling.draw.reserve", "zh")}


# ------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------
def test_parameters_are_declared_and_validated():
    params = notebook_parameters(NOTEBOOK)
    # papermill skips a parameter line with two '=' signs; every line must be read
    for key in ("report_date", "frame_file", "penetration_file", "target_moe", "max_base",
                "detect_proportion", "quota_tolerance", "seed"):
        assert key in params, key
    assert params["method"]["choices"] == ("penetration", "proportional", "equal")
    assert all(params[k]["help"] for k in params)
    with pytest.raises(ParamsError, match="key 'method'"):
        validate_params(NOTEBOOK, {"method": "neyman"})
    with pytest.raises(ParamsError, match="key 'n_ours'"):
        validate_params(NOTEBOOK, {"n_ours": "many"})
    ok = validate_params(NOTEBOOK, {"frame_file": "data/acme/frame.csv"})
    assert ok["frame_file"].endswith("data/acme/frame.csv") and ok["penetration_file"] == ""


# ------------------------------------------------------------------------------------------
# words
# ------------------------------------------------------------------------------------------
def test_every_label_has_english_and_chinese():
    table = yaml.safe_load((PACKAGE_DIR / "data" / "i18n" / "sampling.yaml").read_text(encoding="utf-8"))
    for key, value in table.items():
        assert key.startswith("sampling."), key
        assert set(value) == {"en", "zh"}, key
        fields = lambda s: sorted(re.findall(r"\{(\w+)\}", s))  # noqa: E731
        assert fields(value["en"]) == fields(value["zh"]), f"{key}: placeholders differ"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_narrative_renders_in_both_languages(design, options, inputs, cb, lang):
    words = {"lang": lang, "codebook": cb}
    texts = [story.executive_summary(design, **words)]
    texts += story.key_findings(design, options, **words)
    texts += story.boost_findings(options, design, **words)
    texts += story.power_findings(design, **words)
    texts += story.recommendations(design, options, **words)
    texts += [story.intro(s, design, seed=1, reserve=0.2, **words)
              for s in ("design", "precision", "allocation", "boost", "quota", "draw", "power")]
    for text in texts:
        html = mistune.html(text)
        assert "**" not in html and "{" not in text, text  # bold renders (CJK punctuation next to **)
        assert not re.search(r"\bnan\b", text.lower()), text
    summary = texts[0]
    if lang == "zh":
        assert "净推荐值" in summary and "设计效应为**1.05**" in summary and "±**3.0分**" in summary
    else:
        assert "design effect of **1.05**" in summary and "**±3.0 points**" in summary
    for tab in _all_tables(design, options, inputs, words):
        assert set(tab["df"].columns) <= set(tab["labels"]), tab["caption"]
        assert len(tab["df"].columns) <= 8 and len(tab["df"]) <= 40
        assert tab["caption"]


def _all_tables(design, options, inputs, words):
    return [story.glance_table(design, **words),
            story.settings_table(design, inputs=inputs, seed=1, reserve=0.2, **words),
            story.brand_table(design, **words), story.precision_table(design, **words),
            story.allocation_table(design, **words), story.boost_table(options, design, **words),
            story.power_table(design, **words)]


def test_tables_are_report_model_tables_with_numbers(design, options, inputs, cb):
    """Every sampling table becomes a report-model Table: numbers as numbers, named formats, no
    mark or unit baked into a cell (the ± lives in the header)."""
    from workbench.reportmodel import Table
    from workbench.tables import FORMATS

    for kw in _all_tables(design, options, inputs, {"lang": "en", "codebook": cb}):
        tab = Table(data=kw["df"], formats=kw["formats"], labels=kw["labels"], sig=kw.get("sig"),
                    base_flags=kw.get("base_flags"), caption=kw["caption"], note=kw["note"])
        assert all(isinstance(f, str) and f in FORMATS for f in kw["formats"].values()), kw["caption"]
        for c, f in kw["formats"].items():
            if f != "text":
                assert pd.api.types.is_numeric_dtype(kw["df"][c]), (kw["caption"], c)
        cells = tab.cells().to_numpy().ravel().tolist()
        assert not any(isinstance(v, str) and ("±" in v or v.endswith("*")) for v in cells), kw["caption"]
    glance = story.glance_table(design, lang="en", codebook=cb)
    assert glance["df"]["moe_nps"].iloc[-1] == pytest.approx(design.total["moe_nps"])
    prec = story.precision_table(design, lang="en", codebook=cb)
    tab = design.precision()
    assert prec["df"]["moe"].tolist() == pytest.approx((100 * tab["moe"]).tolist())
    assert prec["df"]["mdc"].tolist() == pytest.approx((100 * tab["mdc"]).tolist())


@pytest.mark.parametrize("strata,competitors", [(["brand"], ["beacon"]), (["brand", "region"], []),
                                                (["brand", "region"], ["beacon", "cirrus"])])
def test_every_table_of_any_design_is_a_valid_model_table(inputs, cb, strata, competitors):
    """Single-stratum and no-competitor designs too: each table builds a report-model Table
    that survives its JSON round trip (the file the deck and workbook are made from)."""
    from workbench.reportmodel import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = sampling.design_sample(inputs.frame, strata, ours="aurora", competitors=competitors, n_ours=400,
                                   n_competitor=200, penetration=inputs.penetration, min_n=30)
        opts = sampling.boost_options(d, [0, 100])
    q = sampling.quota_sheet(d.allocation, interlock=d.strata, marginal=[["age_band", "gender"]], frame=inputs.frame)
    drawn = sampling.stratified_draw(inputs.frame, d.allocation, strata=d.strata, seed=1, reserve=0.2,
                                     id_col="unit_id")
    words = {"lang": "en", "codebook": cb}
    kws = [*_all_tables(d, opts, inputs, words), story.quota_grid_table(q, d, **words),
           story.quota_marginal_table(q, d, **words),
           story.draw_table(sampling.draw_summary(drawn, d.strata), d, **words)]
    for kw in kws:
        kw = dict(kw)
        tab = Table(data=kw.pop("df"), **kw)
        back = Table.from_json(tab.to_json())
        assert back.cells().to_numpy().tolist() == tab.cells().to_numpy().tolist(), tab.caption


def test_power_table_reads_the_design(design, cb):
    kw = story.power_table(design, detect_nps=5.0, detect_proportion=0.05, lang="en", codebook=cb)
    plan = design.power_plan(5.0, 0.05)
    df = kw["df"]
    assert df["power"].tolist() == plan["power_nps"].tolist()
    assert df["need_nps"].tolist() == plan["need_nps"].tolist()
    assert df["mdc"].tolist() == pytest.approx((100 * plan["mdc"]).tolist())
    from workbench.i18n import t

    assert df["brand"].tolist() == ["Aurora", "Beacon", "Cirrus", "Delta", t("sampling.total_weighted", "en")]


def test_low_base_strata_are_flagged_in_their_own_frame(inputs, cb):
    from workbench.reportmodel import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = sampling.design_sample(inputs.frame, ["brand", "region"], ours="aurora", competitors=["beacon"],
                                   n_ours=150, n_competitor=150, penetration=inputs.penetration)
    kw = story.allocation_table(d, lang="en", codebook=cb)
    low = (d.allocation["base_status"] != "ok").to_numpy()
    assert low.any()
    flags = kw["base_flags"]
    assert flags.index.equals(kw["df"].index) and flags.columns.tolist() == ["moe_nps"]
    assert (flags["moe_nps"] == "caution").to_numpy().tolist() == low.tolist()
    assert kw["df"]["moe_nps"].tolist() == pytest.approx(d.allocation["moe_nps"].tolist())
    cells = Table(data=kw["df"], formats=kw["formats"], labels=kw["labels"], base_flags=flags).cells()
    assert [v.endswith("*") for v in cells["moe_nps"]] == low.tolist()
    from dataclasses import replace

    all_ok = replace(d, allocation=d.allocation.assign(base_status="ok"))
    assert "base_flags" not in story.allocation_table(all_ok, lang="en", codebook=cb)


def test_findings_follow_the_numbers(design, options, cb):
    # tracking: 9.4 points detectable; a 5-point target needs ~3,517 per wave (sample_size_two_nps)
    need = sampling.sample_size_two_nps(5, promoters=0.4, detractors=0.2, deff=design.brands["deff"].iloc[0])
    f = story.key_findings(design, options, detect_nps=5, lang="en", codebook=cb)
    assert "9.4 points" in f[0] and f"{int(np.ceil(need)):,}" in f[0]
    relaxed = story.key_findings(design, options, detect_nps=10, lang="en", codebook=cb)
    assert "within the planned 10 points" in relaxed[0]
    recs = story.recommendations(design, options, detect_nps=10, lang="en", codebook=cb)
    assert recs[1].startswith("**Track Aurora wave on wave.**")


def test_target_margin_design_words(inputs, cb):
    d = sampling.design_sample(inputs.frame, ["brand", "region"], ours="aurora",
                               competitors=["beacon"], target_moe=5.0, penetration=inputs.penetration,
                               min_n=60)
    text = story.executive_summary(d, lang="en", codebook=cb)
    assert "set so that every brand's NPS is measured to ±5.0 points" in text
    zh = story.executive_summary(d, lang="zh", codebook=cb)
    assert "误差范围不超过±5.0分" in zh


# ------------------------------------------------------------------------------------------
# charts
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_charts_have_title_base_and_render_chinese(design, options, cb, lang):
    import matplotlib.pyplot as plt

    plots.apply_theme(lang)
    figs = [plots.moe_curve(design, lang=lang, codebook=cb),
            plots.allocation_chart(design, lang=lang, codebook=cb),
            plots.boost_chart(options, design, lang=lang, codebook=cb),
            plots.power_chart(design, lang=lang, codebook=cb)]
    for fig in figs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert not missing, missing
        assert fig._suptitle is not None and fig._suptitle.get_text()
        foot = [t.get_text() for t in fig.texts if t is not fig._suptitle]
        assert any(("Base" in x or "Assumptions" in x) if lang == "en" else ("样本基数" in x or "假设" in x)
                   for x in foot), foot
        w, h = fig.get_size_inches()
        assert 7.0 <= w <= 7.4 and h <= 4.0
        plt.close(fig)
    plots.apply_theme("en")


def test_line_charts_carry_exactly_the_data_they_draw(design, options, cb):
    """Plain line charts hand the report their data (for native deck charts): the same values,
    the same series names as the legend; annotated or two-panel charts stay pictures."""
    import matplotlib.pyplot as plt

    from workbench.reportmodel import chart_of

    def drawn_lines(fig):
        ax = fig.axes[0]
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        lines = [ln for ln in ax.get_lines() if ln.get_label() in legend]
        return legend, lines

    for fig in (plots.boost_chart(options, design, lang="en", codebook=cb),
                plots.power_chart(design, lang="en", codebook=cb)):
        chart = chart_of(fig)
        assert chart is not None and chart.kind == "line" and chart.title == fig._suptitle.get_text()
        legend, lines = drawn_lines(fig)
        assert [s.name for s in chart.series] == [ln.get_label() for ln in lines]
        assert set(s.name for s in chart.series) <= set(legend)
        for s, ln in zip(chart.series, lines):
            assert s.values == pytest.approx(ln.get_ydata().astype(float).tolist())
            assert len(chart.categories) == len(ln.get_xdata())
        plt.close(fig)
    # the power curves are the design's
    fig = plots.power_chart(design, lang="en", codebook=cb)
    chart = chart_of(fig)
    x = [float(c) for c in chart.categories]
    assert chart.series[0].values == pytest.approx((100 * design.power_curves(x)["aurora"]).tolist())
    plt.close(fig)
    for fig in (plots.moe_curve(design, lang="en", codebook=cb), plots.allocation_chart(design, lang="en", codebook=cb)):
        assert chart_of(fig) is None
        plt.close(fig)


# ------------------------------------------------------------------------------------------
# the deck: slides titled with findings, not labels
# ------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_deck_slide_titles_are_findings(demo_reports, design, cb):
    """The slides of the summary table, precision, allocation and recommendations are titled
    with the design's numbers (the report model's figure titles, caption and findings box)."""
    from _decktitles import deck_titles, labels_absent, shown

    titles = deck_titles(demo_reports, "sampling")
    assert not labels_absent(titles, "en", "sampling.h.precision", "sampling.h.allocation",
                             "sampling.h.recommendations", "sampling.cap.glance"), titles
    detect = notebook_parameters(NOTEBOOK)["detect_nps"]["default"]
    words = {"lang": "en", "codebook": cb}
    findings = [story.glance_caption(design, **words), story.precision_title(design, **words),
                story.allocation_title(design, **words),
                story.recommendations_headline(design, detect_nps=detect, **words)]
    ours = design.brands.iloc[0]
    assert f"±{ours['moe_nps']:.1f}" in findings[0] and f"±{ours['moe_nps']:.1f}" in findings[1]
    assert f"{100 * ours['share']:.0f}%" in findings[2] and f"{ours['mdc_nps']:.1f}" in findings[3]
    for f in findings:
        assert "Aurora" in f and shown(titles, f), (f, titles)


def test_slide_findings_in_chinese(design, cb):
    words = {"lang": "zh", "codebook": cb}
    for f in (story.glance_caption(design, **words), story.precision_title(design, **words),
              story.allocation_title(design, **words), story.recommendations_headline(design, **words)):
        assert "极光通信" in f and re.search(r"\d", f) and not re.search(r"[A-Za-z]{3,}", f.replace("NPS", "")), f
