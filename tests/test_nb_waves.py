"""The wave-analysis notebook end to end (en and zh PDFs), and its charts and words.

The end-to-end tests run ``notebooks/02_wave_analysis.ipynb`` through ``workbench.runner.run`` on
the demo params and read the PDF back with ``pdftotext -layout``.  The other tests build the
charts and sentences directly from a :class:`workbench.waves.WaveAnalysis` of the demo study.
"""

from __future__ import annotations

import json
import re
import string
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from workbench import PROJECT_ROOT, io, plots, synth, waves  # noqa: E402
from workbench.codebook import load_codebook  # noqa: E402
from workbench.narrative import strings  # noqa: E402
from workbench.narrative import waves as story  # noqa: E402

from _nbfactory import HAS_PDF  # noqa: E402

PARAMS = PROJECT_ROOT / "params" / "demo"
CB = load_codebook("demo")


@pytest.fixture(scope="module")
def res():
    d = synth.demo_dir()
    tr = io.read_survey(d / "tracking.csv", CB, dataset="tracking")
    od = io.read_survey(d / "odata.csv", CB, dataset="odata")
    return waves.analyze(tr, weight="design_weight", our_brand="aurora", competitors=["beacon", "cirrus", "delta"],
                         mix_by="segment", odata=od, codebook=CB)


# --------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------
def test_every_label_has_both_languages_with_the_same_fields():
    fmt = string.Formatter()
    for key, entry in strings().items():
        if not key.startswith("waves."):
            continue
        assert entry.get("en") and entry.get("zh"), key
        fields = [{f for _, f, _, _ in fmt.parse(entry[lang]) if f} for lang in ("en", "zh")]
        if key == "waves.group_of":  # zh level labels read as groups already (企业客户): no variable
            assert fields[1] <= fields[0], key
            continue
        assert fields[0] == fields[1], key


def test_every_label_used_exists():
    used = set()
    for path in [PROJECT_ROOT / "workbench" / p for p in ("narrative/waves.py", "plots/waves.py", "_waves.py",
                                                        "waves.py")] + [PROJECT_ROOT / "notebooks" / "02_wave_analysis.ipynb"]:
        used |= set(re.findall(r"[\"'](waves\.[a-z_0-9.]+[a-z_0-9])[\"']", path.read_text()))
    known = set(strings())
    dynamic = {k for k in used if k.endswith(".")}
    assert not (used - known - dynamic), sorted(used - known - dynamic)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_key_findings_state_the_planted_effects(res, lang):
    text = " ".join(story.key_findings(res, lang=lang, codebook=CB))
    mix = res.decomposition.component("mix_mid")["est"]
    rate = res.decomposition.component("rate_mid")["est"]
    assert f"{mix:.1f}" in text and f"+{rate:.1f}" in text
    if lang == "en":
        assert "due to a shift in the sample toward Business (customer segment)" in text
        assert "like-for-like, at a constant mix by customer segment" in text
        assert "Survivorship: cannot be ruled out." in text
        assert "89.0% against 68.7%" in text and "(20.3 pp" in text  # 89.0 − 68.7
    else:
        assert "样本结构向企业客户倾斜" in text and "幸存者偏差检验：不能排除" in text
    for bad in ("nan", "None", "{", "}"):
        assert bad not in text, bad


def test_sentences_follow_significance(res):
    assert story.sig_words(0.01, conf=0.95) == "significant at 95%"
    assert story.sig_words(0.2, conf=0.9, lang="zh") == "在90%置信水平下不显著"
    assert story.sig_words(float("nan")) == "not tested: base too low"
    head = story.key_findings(res, lang="en", codebook=CB)[0]
    assert "up 2.1 points on wave 5 (2026-05): not significant at 95%" in head  # 5.7 − 3.6, as printed
    bench = " ".join(story.benchmark_findings(res, lang="en", codebook=CB))
    assert "Delta significantly below Aurora" in bench and "Beacon leads" in bench


def test_tables_fit_the_page(res):
    ww = waves.wave_weights(res_data(), synth.demo_dir() / "margins.yaml", rows=res_data()["brand"].eq("aurora"))
    tables = [story.kpi_table(res), story.trend_table(res), story.kpi_trend_table(res),
              story.segment_table(res, codebook=CB), story.decomposition_table(res, codebook=CB),
              story.components_table(res), story.benchmark_table(res, codebook=CB), story.xo_table(res),
              story.xo_segment_table(res, codebook=CB), story.survivorship_table(res, codebook=CB),
              story.followup_table(res, codebook=CB), story.followup_sample(res, codebook=CB),
              story.weights_table(ww, res)]
    for tab in tables:
        df = tab["df"]
        assert df.shape[1] <= 8 and len(df) <= 40, tab["caption"]
        assert set(df.columns) <= set(tab["labels"]), tab["caption"]
        cells = _shown(tab).astype(str).to_numpy().ravel()
        assert not [c for c in cells if c in ("nan", "None")], tab["caption"]
    sample = story.followup_sample(res, codebook=CB)["df"]
    assert "email" not in sample.columns and not sample.astype(str).apply(lambda c: c.str.contains("@")).any().any()


def _shown(tab):
    """The cells of a narrative table as the report prints them (numbers formatted, marks added)."""
    return _model(tab).cells()


def _model(tab):
    from workbench.reportmodel import Table

    return Table(data=tab["df"], formats=tab["formats"], labels=tab["labels"], sig=tab["sig"],
                 base_flags=tab["base_flags"], caption=tab["caption"], note=tab["note"])


def res_data():
    return io.read_survey(synth.demo_dir() / "tracking.csv", CB, dataset="tracking")


# --------------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------------
CHARTS = ["wave_trend", "kpi_panels", "segment_trend", "mix_trend", "mix_waterfall", "benchmark_bars",
          "benchmark_trend", "xo_chart"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_charts_have_title_base_and_translated_labels(res, lang):
    plots.apply_theme(lang)  # the report's theme: a CJK font for Chinese
    for name in CHARTS:
        fig = getattr(plots, name)(res, lang=lang, codebook=CB)
        texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        assert fig._suptitle is not None and fig._suptitle.get_text(), name
        joined = " ".join(texts)
        assert ("Base:" in joined) if lang == "en" else ("样本基数" in joined), name
        assert "nan" not in joined and "None" not in joined, name
        if lang == "zh":
            assert "Aurora" not in joined and "Business" not in joined, name
        w, h = fig.get_size_inches()
        assert w == pytest.approx(7.2) and 2.5 <= h <= 4.5, name
        plt.close(fig)


def test_waterfall_bars_add_up(res):
    wf = res.decomposition.waterfall()
    steps = wf[wf["kind"].isin(["mix", "rate", "interaction"])]
    assert res.decomposition.est_base + steps["value"].sum() == pytest.approx(res.decomposition.est_target)


# --------------------------------------------------------------------------------------------
# the notebook end to end
# --------------------------------------------------------------------------------------------
def _pdf_text(pdf):
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


HEADINGS = {
    "en": ["Executive summary", "Fieldwork: the sample against the population targets", "NPS trend and volatility",
           "Other KPIs alongside NPS", "NPS by customer segment", "Competitor benchmark",
           "The brands at one mix by customer segment", "X + O: experience and operational data",
           "Does NPS rise because detractors left?", "Closed loop: detractor follow-up",
           "Appendix: weighting and methods"],
    "zh": ["执行摘要", "样本执行", "净推荐值趋势与波动", "分客户类型的净推荐值", "竞品对标", "运营数据",
           "净推荐值上升是因为贬损者流失了吗", "闭环：贬损者跟进", "附录：加权与方法"],
}
#: the demo report is raked to the population targets: it leads with the raked NPS (2.3; truth 2.0),
#: flags the sample's drift toward business customers, and keeps the design-weighted figure (5.7)
#: and the drift's composition effect for the appendix
PLANTED = {
    "en": ["Aurora's NPS is 2.3 in wave 6 (2026-06)", "Fieldwork missed its targets in wave 6 (2026-06)",
           "Business (customer segment) 35% against a 22% target (+13 points",
           "design-weighted, NPS in this wave would be 5.7", "a shift in the sample toward Business (customer segment)",
           "like-for-like", "Survivorship: cannot be ruled out.", "Promoters are retained more often than detractors",
           "Delta significantly below Aurora", "within ±2 SE of the mean of the previous 3 waves",
           "No mix adjustment is needed"],
    "zh": ["净推荐值为2.3", "样本执行未达总体目标", "企业客户占35%，目标为22%", "样本结构向企业客户倾斜", "同口径",
           "幸存者偏差检验：不能排除", "推荐者的留存率高于贬损者", "三角洲通信显著低于极光通信", "控制限之内"],
}


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext (make setup installs them)")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_notebook_pdf(demo_reports, lang):
    result = demo_reports("waves" if lang == "en" else "waves_zh")
    text = _pdf_text(result.files["pdf"])
    flat = re.sub(r"\s+", "", text) if lang == "zh" else re.sub(r"\s+", " ", text)
    for h in HEADINGS[lang]:
        assert (re.sub(r"\s+", "", h) if lang == "zh" else h) in flat, h
    for p in PLANTED[lang]:
        assert (re.sub(r"\s+", "", p) if lang == "zh" else p) in flat, p
    for bad in ("Traceback", "report.setup", "import ", "Warning", "nan", "@example.com", "could not be computed",
                "本部分无法"):
        assert bad not in text, bad
    # the wave the report is about is named, and the follow-up list was written beside it
    assert ("wave 6 (2026-06)" in flat) if lang == "en" else ("第6波（2026-06）" in flat)
    follow = pd.read_csv(result.folder / "detractor_followup.csv")
    assert len(follow) > 100 and (follow[CB.label("nps", lang)] <= 6).all()
    assert set(follow[CB.label("email", lang)].dropna()) == {"***"}
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["parameters"]["wave"] == 6
    info = subprocess.run(["pdfinfo", str(result.files["pdf"])], capture_output=True, text=True).stdout
    assert 10 <= int(info.split("Pages:")[1].split()[0]) <= 20  # 18 with the demo's four verbatims pages


def test_first_wave_report_says_so_and_makes_no_change_claims():
    tr = res_data()
    first = waves.analyze(tr, weight="design_weight", wave=1, our_brand="aurora", mix_by="segment", codebook=CB)
    assert first.first_wave and first.decomposition is None and first.ref_wave is None
    assert first.survivorship is None and first.change == {}
    assert first.unavailable["trend"] == ("waves.msg.first_wave", {"wave": 1})
    assert first.unavailable["mix"][0] == "waves.msg.first_wave_mix"
    assert story.no_comparison(first, "en") == "There is no earlier wave to compare wave 1 (2026-01) with."
    for fn in (story.mix_findings, story.trend_table, story.decomposition_table, story.kpi_trend_table):
        with pytest.raises(waves.Unavailable):
            fn(first)
    for name in ("wave_trend", "kpi_panels", "mix_trend", "mix_waterfall", "benchmark_trend"):
        with pytest.raises(waves.Unavailable):
            getattr(plots, name)(first, lang="en", codebook=CB)
    for name in ("segment_trend", "benchmark_bars"):  # one wave by segment, one wave by brand
        plt.close(getattr(plots, name)(first, lang="en", codebook=CB))
    en = " ".join(story.key_findings(first, lang="en", codebook=CB))
    assert "first wave of the study" in en and " up " not in en and " down " not in en and "control limits" not in en
    assert "first wave of the study" in story.scope_text(first, lang="en", codebook=CB)
    zh = " ".join(story.key_findings(first, lang="zh", codebook=CB))
    assert "第1波" in zh and "首个波次" in zh and "nan" not in zh
    tab = story.kpi_table(first, codebook=CB)
    assert list(tab["df"].columns) == ["kpi", "latest", "n_eff"]
    seg = story.segment_table(first, codebook=CB)
    assert "diff" not in seg["df"].columns and "rest" in seg["df"].columns


def test_reference_mix_typo_is_explained(res):
    from workbench.errors import ParamsError

    with pytest.raises(ParamsError, match="space after the colon"):
        waves.reference_mix(res_data(), reference={"business:0.3": None})


def test_year_ago_column_when_that_wave_exists():
    import numpy as np

    rng = np.random.default_rng(5)
    frames = []
    for w, period in enumerate(["2025-03", "2025-09", "2026-03"], start=1):
        n = 300
        frames.append(pd.DataFrame({"wave": w, "period": period, "brand": "aurora",
                                    "segment": rng.choice(["business", "consumer_prepaid"], n),
                                    "nps": rng.integers(0, 11, n), "w": 1.0}))
    df = pd.concat(frames, ignore_index=True)
    kp = [{"kpi": "nps", "score": "nps", "metric": "nps"}]
    r = waves.analyze(df, weight="w", our_brand="aurora", mix_by="segment", kpis=kp, trend_from=2)
    assert (r.ref_wave, r.year_ago_wave, r.base_wave) == (2, 1, 2)
    tab = story.kpi_table(r)
    assert list(tab["df"].columns) == ["kpi", "latest", "ref", "diff", "yoy", "n_eff"]  # since = ref: once
    assert tab["labels"]["yoy"] == "Change vs 2025-03"
    est = r.kpis.set_index("wave")["est"]
    assert tab["df"]["yoy"].iloc[0] == pytest.approx(round(est[3], 1) - round(est[1], 1))
    assert _shown(tab)["yoy"].iloc[0].startswith(story._signed(est[3] - est[1]))
    assert tab["formats"]["yoy"] == "signed1" and tab["sig"]["yoy"].iloc[0] in ("", "up", "down")
    yr = waves.analyze(df, weight="w", our_brand="aurora", mix_by="segment", kpis=kp, compare_to="year_ago")
    assert yr.ref_wave == 1 and yr.compare_to == "year_ago"
    assert "yoy" not in story.kpi_table(yr)["df"].columns  # the reference already is the year-ago wave


# --------------------------------------------------------------------------------------------
# a study of another shape, end to end: no brands, no NPS, no weights, waves in a column `round`
# --------------------------------------------------------------------------------------------
_STUDY = """\
version: 1
study: {id: parks, client: City Parks, title: {en: Park visitor tracker, zh: 公园游客跟踪}}
datasets:
  visits:
    file: visits.csv
    id: visitor_id
    columns: [visitor_id, round, satisfaction, ease]
    roles: {wave: round}
questions:
  visitor_id: {type: id}
  round: {type: numeric, integer: true, min: 1, label: {en: Survey round, zh: 调查轮次}}
  satisfaction: {type: likert, min: 1, max: 10, top_box: 3, label: {en: Overall satisfaction, zh: 总体满意度}}
  ease: {type: likert, min: 1, max: 10, label: {en: Ease of finding your way, zh: 寻路便利程度}}
"""


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext (make setup installs them)")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_notebook_on_a_study_without_brands_nps_or_weights(tmp_path, lang):
    import numpy as np

    from workbench.runner import run

    rng = np.random.default_rng(4)
    (tmp_path / "codebook.yaml").write_text(_STUDY)
    pd.DataFrame({"visitor_id": [f"V{i:04d}" for i in range(900)], "round": np.repeat([1, 2, 3], 300),
                  "satisfaction": rng.integers(1, 11, 900), "ease": rng.integers(1, 11, 900)}
                 ).to_csv(tmp_path / "visits.csv", index=False)
    params = tmp_path / "waves.yaml"
    params.write_text(f"notebook: 02_wave_analysis\nstudy: parks\nclient: City Parks\nlanguage: {lang}\n"
                      f"data: {tmp_path}\ncodebook: {tmp_path / 'codebook.yaml'}\n")
    result = run(params_file=params, out=tmp_path / "reports", formats=("pdf",))
    text = _pdf_text(result.files["pdf"])
    flat = re.sub(r"\s+", "", text) if lang == "zh" else re.sub(r"\s+", " ", text)
    for bad in ("Aurora", "极光", "Beacon", "segment", "NPS", "净推荐值", "CSAT", "CES", "Competitor", "竞品",
                "nan", "Traceback", "could not be computed", "本部分无法", "@"):
        assert bad not in flat, bad
    want = {"en": ["Overall satisfaction (top-3-box) is", "Wave 3", "No grouping column is set (mix_by)",
                   "The study has no brand question", "The report is unweighted"],
            "zh": ["总体满意度（前3项占比）为", "第3波", "未设置分组变量", "本研究没有品牌题", "本报告未加权"]}[lang]
    for w in want:
        assert (re.sub(r"\s+", "", w) if lang == "zh" else w) in flat, w
    assert not (result.folder / "detractor_followup.csv").exists()


# --------------------------------------------------------------------------------------------
# the demo's default report: raked to the population targets (issue 12)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raked():
    d = synth.demo_dir()
    tr = res_data()
    od = io.read_survey(d / "odata.csv", CB, dataset="odata")
    ww = waves.wave_weights(tr, d / "margins.yaml", method="raked", rows=tr["brand"].eq("aurora").to_numpy(),
                            trim_upper=5)
    return waves.analyze(tr, weight=ww.weight, weights=ww, our_brand="aurora", competitors=["beacon", "cirrus", "delta"],
                         mix_by="segment", odata=od, codebook=CB)


def _number(cell):
    m = re.search(r"[−+-]?\d[\d,]*\.?\d*", str(cell))
    return float(m.group(0).replace("−", "-").replace(",", "")) if m else None


def _printed_difference_holds(df, a, b, d):
    """Every row: the printed difference ``d`` equals printed ``a`` minus printed ``b``."""
    bad = []
    for _, r in df.iterrows():
        x, y, z = _number(r[a]), _number(r[b]), _number(r[d])
        if None in (x, y, z):
            continue
        if abs((x - y) - z) > 1e-9 + 1e-6 * abs(z):
            bad.append((r[a], r[b], r[d]))
    return bad


@pytest.mark.parametrize("fixture", ["res", "raked"])
def test_printed_differences_are_differences_of_printed_values(fixture, request):
    r = request.getfixturevalue(fixture)
    kpi = _shown(story.kpi_table(r, codebook=CB))
    assert not _printed_difference_holds(kpi, "latest", "ref", "diff")
    tab = _shown(story.trend_table(r, codebook=CB))
    prev = tab.assign(prev=tab["est"].shift(1))
    assert not _printed_difference_holds(prev.iloc[1:], "est", "prev", "diff")
    bm = _shown(story.benchmark_table(r, codebook=CB))
    ours = bm["est"].iloc[0]
    assert not _printed_difference_holds(bm.iloc[1:].assign(ours=ours), "est", "ours", "diff")
    head = story.key_findings(r, lang="en", codebook=CB)[0]
    m = re.search(r"is \*\*([−\d.]+)\*\* in .*?, (up|down) ([\d.]+) points", head)
    value, sign, diff = _number(m.group(1)), m.group(2), float(m.group(3))
    assert value == _number(kpi["latest"].iloc[0]) and (diff if sign == "up" else -diff) == _number(kpi["diff"].iloc[0])
    assert _number(kpi["latest"].iloc[0]) - _number(kpi["ref"].iloc[0]) == pytest.approx(
        diff if sign == "up" else -diff)
    if "mix_waterfall" not in r.unavailable:
        dec = _shown(story.decomposition_table(r, codebook=CB)).iloc[-1]
        assert _number(dec["n2"]) - _number(dec["n1"]) == pytest.approx(_number(kpi["since"].iloc[0]))
    first = _number(tab["est"].iloc[0])
    assert _number(kpi["latest"].iloc[0]) - first == pytest.approx(_number(kpi["since"].iloc[0]))
    if r.sensitivity is not None:
        sens = _shown(story.sensitivity_table(r.sensitivity, r, codebook=CB))
        assert not _printed_difference_holds(sens, "latest", "ref", "diff_ref")
        assert not _printed_difference_holds(sens, "latest", "base", "diff")
        std = _shown(story.benchmark_std_table(r, codebook=CB))
        assert not _printed_difference_holds(std.iloc[1:].assign(ours=std["std"].iloc[0]), "std", "ours", "diff")
    retention = _shown(story.xo_table(r)).set_index("group")["retained_6m"]
    text = " ".join(story.xo_findings(r))
    p, d = _number(retention.iloc[0]), _number(retention.iloc[-1])
    assert f"{p:.1f}% against {d:.1f}%" in text and f"({p - d:.1f} pp" in text


def test_raked_report_leads_with_the_population_figure_and_flags_the_drift(raked):
    scope = story.scope_text(raked, lang="en", codebook=CB)
    assert "raked in each wave to the population targets" in scope and "design-weighted figures are in the appendix" in scope
    summary = story.key_findings(raked, lang="en", codebook=CB)
    assert summary[0].startswith("Aurora's NPS is **2.3** in wave 6 (2026-06)")
    drift = summary[1]
    assert drift.startswith("**Fieldwork missed its targets in wave 6 (2026-06)**")
    assert "Business (customer segment) 35% against a 22% target (+13 points; 20% in 2026-01)" in drift
    assert "design-weighted, NPS in this wave would be 5.7 (appendix)" in drift
    fw = " ".join(story.fieldwork_findings(raked, lang="en", codebook=CB))
    assert "Quota attainment in wave 6 (2026-06)" in fw and "Business 159%" in fw
    assert "Business (customer segment) is 35% of Aurora's sample against Beacon 26%, Cirrus 16% and Delta 15%" in fw
    from workbench.tables import table_of

    table = table_of(**story.fieldwork_table(raked, lang="en", codebook=CB)).cells()
    business = table[table["level"] == "Business"].iloc[0]
    assert business["w6"] == "35.1% †" and business["w1"] == "20.0%"
    brands = story.fieldwork_brand_table(raked, lang="en", codebook=CB)
    assert list(brands["labels"].values())[-4:] == ["Aurora", "Beacon", "Cirrus", "Delta"]
    zh = " ".join(story.key_findings(raked, lang="zh", codebook=CB))
    assert "样本执行未达总体目标" in zh and "企业客户占35%，目标为22%（相差+13个百分点" in zh
    # brands: the mix differs, and the comparison at one mix is offered
    bench = " ".join(story.benchmark_findings(raked, lang="en", codebook=CB))
    assert "The brands' samples differ in mix by customer segment" in bench
    assert "At one mix by customer segment (Aurora's population targets) the gaps to Aurora are" in bench
    note = story.benchmark_table(raked, codebook=CB)["note"]
    assert "competitors design-weighted" in note
    # the appendix keeps the design-weighted figure
    sens = " ".join(story.sensitivity_findings(raked.sensitivity, raked, lang="en", codebook=CB))
    assert "Design-weighted (the sample's own mix), NPS in wave 6 (2026-06) is 5.7" in sens
    assert "+4.4 points is composition from a shift in the sample toward Business" in sens


def test_a_study_without_targets_says_the_figures_describe_the_sample(res):
    assert res.fieldwork is None and not res.has_targets
    scope = story.scope_text(res, lang="en", codebook=CB)
    assert "No population targets are given, so the figures describe the sample." in scope
    assert res.unavailable["fieldwork"] == ("waves.msg.no_targets", {})
    assert "the figures describe the sample" in story.note_text(res, "waves.msg.no_targets", codebook=CB)
    assert "数据描述的是样本本身" in story.scope_text(res, lang="zh", codebook=CB)
    assert story.fieldwork_summary(res, codebook=CB) is None


def test_labels_say_what_they_are(res, raked):
    # centre lines: built from 1, 2, then 3 waves; the words follow
    tab = _shown(story.trend_table(res, codebook=CB))
    assert tab["centre"].tolist()[1:4] == [tab["est"].iloc[0] + " (1)", tab["centre"].iloc[2], tab["centre"].iloc[3]]
    assert tab["centre"].iloc[2].endswith("(2)") and tab["centre"].iloc[5].endswith("(3)")
    assert story.centre_words(res, "en") == "the mean of the previous 3 waves"
    assert story.centre_words(res, "en", chart=True) == "Centre: mean of up to 3 previous waves"
    assert "up to 3 previous waves" in story.control_note(res, codebook=CB)
    # "within sampling noise" with its test
    vol = story.volatility_findings(res, lang="en", codebook=CB)[0]
    z = res.trend["z_dev"].iloc[-1]
    assert f"z = {z:.2f}" in vol and "within sampling noise" in vol and abs(z) < 2
    # the mix-adjusted chart (+1.8 from 2026-01 at its mix) and the text (+1.3) agree or are explained
    note = story.mix_note(res, codebook=CB)
    st = res.standardized.set_index("wave")
    chart = round(st.loc[6, "std_est"], 1) - round(st.loc[1, "std_est"], 1)
    assert f"+{chart:.1f} points" in note and "+1.3 points" in note and "half the interaction" in note
    # raked to targets that hold the segment mix: no mix section, a note says why
    assert raked.unavailable["mix"] == ("waves.msg.mix_held", {"segment": "segment"})
    assert "mix by customer segment at its population targets" in story.note_text(
        raked, *raked.unavailable["mix"], codebook=CB)


def test_survivorship_verdict_follows_from_its_test(res, raked):
    for r in (res, raked):
        b = r.survivorship.beyond_churn
        verdict = story.survivorship_verdict(r, lang="en", codebook=CB)
        assert f"z = {b['z']:.2f}".replace("-", "−") in verdict and f"p = {b['p_val']:.3f}" in verdict
        assert ("Survivorship: no." in verdict) == (b["p_val"] < 0.05 and b["diff"] > 0)
        assert "Survivorship: cannot be ruled out." in verdict
        tab = _shown(story.survivorship_test_table(r, codebook=CB)).iloc[0]
        assert _number(tab["latest"]) - _number(tab["stayed"]) == pytest.approx(_number(tab["diff"]))


def test_one_colour_per_level_across_charts(res, raked):
    from workbench.plots import level_colours

    seg = level_colours(CB, "segment")
    assert list(seg) == CB.levels("segment") and len(set(seg.values())) == 3
    fig = plots.segment_trend(res, lang="en", codebook=CB)
    lines = {ln.get_label(): ln.get_color() for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")}
    assert lines == {CB.level_label("segment", lv): c for lv, c in seg.items()}
    plt.close(fig)
    fig = plots.fieldwork_mix(raked, lang="en", codebook=CB)
    seg_panel = next(ax for ax in fig.axes if "Customer segment" in (ax.get_title(), ax.get_title("left")))
    drawn = {ln.get_color() for ln in seg_panel.get_lines() if ln.get_marker() == "o" and ln.get_linestyle() == "-"}
    assert drawn == set(seg.values())
    assert fig._suptitle.get_text().startswith("Aurora's sample: achieved mix by wave")
    plt.close(fig)
    brand = level_colours(CB, "brand")
    fig = plots.benchmark_trend(res, lang="en", codebook=CB)
    lines = {ln.get_label(): ln.get_color() for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")}
    assert lines == {CB.level_label("brand", b): brand[b] for b in ("aurora", "beacon", "cirrus", "delta")}
    plt.close(fig)
    fig = plots.benchmark_bars(res, lang="en", codebook=CB)
    faces = [matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches]
    assert faces == [brand[b] for b in ("aurora", "beacon", "cirrus", "delta")]
    plt.close(fig)


def test_weighting_parameter_and_study_defaults(tmp_path):
    from workbench import config
    from workbench.study import study_defaults

    declared = config.notebook_parameters(PROJECT_ROOT / "notebooks" / "02_wave_analysis.ipynb")
    assert declared["weighting"]["choices"] == ("raked", "design", "none")
    assert declared["weighting"]["default"] == "raked" and declared["mix_tolerance"]["default"] == 5.0
    for f in ("waves.yaml", "waves_zh.yaml"):
        assert config.load_params(PARAMS / f).params["weighting"] == "raked"
    # another study: raked when its data folder holds margins.yaml, else design (weights) or none
    (tmp_path / "codebook.yaml").write_text(_STUDY)
    params = {"data": str(tmp_path), "codebook": str(tmp_path / "codebook.yaml")}
    assert study_defaults("02_wave_analysis", params, declared)["weighting"] == "none"
    (tmp_path / "margins.yaml").write_text("round: {'1': 1.0}\n")
    got = study_defaults("02_wave_analysis", params, declared)
    assert got["weighting"] == "raked" and got["margins"] == "margins.yaml"
    assert study_defaults("02_wave_analysis", {**params, "margins": ""}, declared)["weighting"] == "none"
    with pytest.raises(Exception, match="mix_tolerance"):
        config.load_params(PARAMS / "waves.yaml", overrides={"mix_tolerance": 80})


# --------------------------------------------------------------------------------------------
# the deck: slides titled with findings, not labels
# --------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_deck_slide_titles_are_findings(demo_reports):
    """The KPI table's slide is titled with which KPIs moved (its caption in the report model)
    and the benchmark trend's with where our brand went and who leads (the figure's title)."""
    from _decktitles import deck_titles, labels_absent, titled

    titles = deck_titles(demo_reports, "waves")
    assert not labels_absent(titles, "en", "waves.cap.kpis", "waves.h.benchmark_trend"), titles
    kpis = titled(titles, "en", "waves.cap.kpis_moved", "waves.cap.kpis_none")  # the demo has a reference wave
    assert len(kpis) == 1 and "2026-05" in kpis[0] and re.search(r"\d+ KPIs", kpis[0]), titles
    trend = titled(titles, "en", "waves.t.bench_trend_lead", "waves.t.bench_trend_rank")
    assert len(trend) == 1 and trend[0].startswith("Aurora's NPS went from"), titles
    assert "2026-01" in trend[0] and "2026-06" in trend[0], trend


def test_slide_findings_and_benchmark_note(res):
    from workbench.reportmodel import chart_of

    for lang in ("en", "zh"):
        cap, trend = story.kpi_caption(res, lang=lang, codebook=CB), story.benchmark_trend_title(res, lang=lang, codebook=CB)
        head = res.kpi(res.headline["kpi"])
        assert story._val(res, head["est"], lang) in cap or re.search(r"[+−]\d", cap), cap
        brand = CB.level_label("brand", "aurora", lang)
        assert trend.startswith(brand) and "2026-01" in trend and "{" not in cap + trend, trend
    chart = chart_of(plots.benchmark_bars(res, lang="en", codebook=CB))
    plt.close("all")
    letters = strings()["waves.chart.letters_note"]["en"].split("{")[0]
    assert letters and letters in chart.note and chart.note.startswith("Base"), chart.note
