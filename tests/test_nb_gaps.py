"""The 5-GAP notebook (04_five_gap): its report read back from the PDF in English and Chinese, and
the words, tables and charts it is made of.

The end-to-end tests run ``params/demo/gaps.yaml`` and ``gaps_zh.yaml`` once per session (the
shared ``demo_reports`` fixture). The other tests build the same analysis directly on the demo
study's 5-GAP surveys (``workbench._synth_gaps.make_gaps``), whose planted truth is known:
reliability and responsiveness carry the largest shortfalls; responsiveness comes from gap 1,
reliability from gap 3, assurance from gap 4, empathy from gap 2; tangibles has no shortfall;
the 40 managers are a low base.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from workbench import gaps, plots
from workbench._synth_gaps import make_gaps
from workbench.codebook import load_codebook
from workbench.config import notebook_parameters
from workbench.errors import LowBaseWarning, WorkbenchWarning
from workbench.lowbase import LowBaseRule
from workbench.narrative import gaps as story
from workbench.narrative import strings

from _nbfactory import HAS_PDF

matplotlib.use("Agg")

NOTEBOOK = "04_five_gap"
LANGS = ("en", "zh")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


@pytest.fixture(scope="module")
def frames():
    out, _ = make_gaps(np.random.default_rng(20261123))
    return out


@pytest.fixture(scope="module")
def res(frames, cb):
    with warnings.catch_warnings():
        warnings.simplefilter("error", WorkbenchWarning)  # five_gap_report keeps them in the result
        return gaps.five_gap_report(frames["servqual"], frames["mgmt_survey"], cb, weight="design_weight",
                                    by="segment")


def _flat(text):
    """Text with all whitespace removed (pdftotext breaks lines inside sentences)."""
    return re.sub(r"\s+", "", text)


def _plain(items):
    """Findings as plain text: Markdown bold and escapes removed."""
    return " ".join(items).replace("**", "").replace("\\*", "*")


# ------------------------------------------------------------------------------------------
# end to end: the PDF in English and Chinese
# ------------------------------------------------------------------------------------------
HEADINGS = {
    "en": ["Executive summary", "Key findings", "What to do first", "The study", "The service quality gap model",
           "Gap 5: expected vs perceived service", "Weighted SERVQUAL: what matters most to customers",
           "Item profile: expectations vs perceptions", "Zone of tolerance",
           "Where the gaps come from: gaps 1–4 behind gap 5", "Diagnosis in plain words",
           "Antecedents of gaps 1–4", "Prioritised actions", "Comparison by Customer segment",
           "Measurement quality", "Method notes"],
    "zh": ["执行摘要", "主要发现", "优先行动", "研究概况", "服务质量差距模型(5GAP模型)", "差距5：客户期望与实际感知的差距",
           "加权SERVQUAL：客户最看重什么", "题项剖面：期望与感知", "容忍区间", "差距来源：差距1–4与差距5", "诊断结论",
           "差距1–4的前因", "优先改进行动", "按客户类型比较", "测量质量", "方法说明"],
}
PLANTED = {
    "en": ["The largest shortfalls are in Reliability (−1.", "and Responsiveness (−1.",
           "Reliability: service delivered falls", "short of the standards (gap 3)",
           "Responsiveness: managers underestimate customers' expectations", "(gap 1)*",
           "Assurance: communications promise", "more than is delivered (gap 4)",
           "Empathy: service standards are set", "(gap 2)*",
           "Tangibles shows no significant shortfall", "outside the zone of tolerance",
           "descriptive, not causal", "40 managers: a low base", "1. Reliability: Equip, train and empower staff"],
    "zh": ["差距最大的维度是可靠性(−1.", "和响应性(−1.", "可靠性，实际交付比服务标准低", "(差距3)",
           "响应性，管理层低估客户期望", "(差距1)*", "保证性，对客承诺比实际交付高", "(差距4)",
           "移情性，服务标准比管理层所认知的客户期望低", "(差距2)*", "有形性不存在显著差距", "落在容忍区间之外",
           "描述性的，并非因果推断", "40位管理人员", "1.可靠性：为员工提供工具、培训和授权"],
}
GLOSSARY_ZH = ["期望", "感知", "有形性", "可靠性", "响应性", "保证性", "移情性", "容忍区间", "适当服务", "理想服务",
               "服务充分度", "服务优越度", "差距1：了解客户期望方面的差距", "差距5：客户期望与实际感知的差距"]


@pytest.mark.parametrize("name", ["gaps", "gaps_zh"])
@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
def test_report_sections_planted_findings_and_cleanliness(demo_reports, name):
    lang = "zh" if name.endswith("_zh") else "en"
    text = demo_reports.text(name)
    flat = _flat(text)
    for h in HEADINGS[lang]:
        assert _flat(h) in flat, f"{name}: heading {h!r} missing"
    for s in PLANTED[lang]:
        assert _flat(s) in flat, f"{name}: planted statement {s!r} missing"
    if lang == "zh":
        for term in GLOSSARY_ZH:
            assert _flat(term) in flat, f"glossary term {term!r} missing"
        assert "5-GAP" not in text  # the Chinese report uses 5GAP模型
    for bad in ("Traceback", "Warning", "report.setup", "import ", "gaps.five_gap_report", " nan", "NaN",
                "None", "{", "}"):
        assert bad not in text, f"{name}: {bad!r} in the PDF"
    if lang == "en":
        assert not CJK.search(text), "Chinese characters in the English report"
    res = demo_reports(name)
    manifest = json.loads((res.folder / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    pages = int(re.findall(r"(\d+) / (\d+)", text)[-1][1])
    assert 10 <= pages <= 20
    side = pd.read_csv(res.folder / "five_gap_actions.csv")
    assert side.loc[0, "dimension"] == "reliability" and side.loc[0, "gap_key"] == "delivery"
    diag = pd.read_csv(res.folder / "five_gap_diagnosis.csv").set_index("dimension")
    assert diag.loc["responsiveness", "main_source"] == "knowledge"


# ------------------------------------------------------------------------------------------
# the notebook's parameters
# ------------------------------------------------------------------------------------------
def test_parameters_default_to_the_demo_study():
    p = notebook_parameters(NOTEBOOK)
    assert list(p)[:8] == ["study", "client", "period", "language", "data", "codebook", "report_date", "low_base"]
    assert list(p)[-1] == "output_dir"
    assert p["weight"]["default"] == "design_weight" and p["compare_by"]["default"] == ""
    assert p["confidence"]["default"] == 0.95 and p["min_answered"]["default"] == 0.5
    assert p["customers"]["default"] == "servqual" and p["staff"]["default"] == "mgmt_survey"
    assert all(v["help"] for k, v in p.items()), "every parameter has a help comment"


# ------------------------------------------------------------------------------------------
# words
# ------------------------------------------------------------------------------------------
def test_every_gaps_label_has_english_and_chinese():
    labels = {k: v for k, v in strings().items() if k.startswith("gaps.")}
    assert len(labels) > 150
    for key, v in labels.items():
        assert v.get("en") and v.get("zh"), key
        assert set(re.findall(r"{(\w+)}", v["en"])) == set(re.findall(r"{(\w+)}", v["zh"])), key
        words = re.sub(r"{\w+}", "", v["en"])
        if len(re.findall(r"[A-Za-z]{3,}", words)) > 1:  # a sentence or label, not a pattern such as "{dim}: {clause}"
            assert CJK.search(v["zh"]), f"{key}: zh text has no Chinese"


@pytest.mark.parametrize("lang", LANGS)
def test_key_findings_state_the_planted_gaps(res, cb, lang):
    found = story.key_findings(res, lang=lang, codebook=cb)
    text = _plain(found)
    if lang == "en":
        assert found[0].startswith("Overall, customers' perceptions fall **0.7")
        assert "The largest shortfalls are in Reliability (−1.4" in text and "Responsiveness (−1.3" in text
        assert "Reliability: service delivered falls" in text
        assert "Responsiveness: managers underestimate" in text
        assert "Assurance: communications promise" in text
        assert "Empathy: service standards are set" in text
        assert "Tangibles shows no significant shortfall" in text
        assert "By Customer segment: on Responsiveness, Business" in text
    else:
        assert "差距最大的维度是可靠性(−1.4" in text and "响应性(−1.3" in text
        assert "响应性，管理层低估客户期望" in text and "有形性不存在显著差距" in text
    # the numbers are those of the result, formatted
    ov = res.overall("gap5")
    assert f"{abs(ov['gap']):.2f}" in found[0]
    share = res.diagnosis.set_index("dimension")["loss"]
    assert f"{100 * share['reliability'] / share.sum():.0f}%" in text


@pytest.mark.parametrize("lang", LANGS)
def test_first_actions_and_verdicts(res, cb, lang):
    acts = story.first_actions(res, lang=lang, codebook=cb, top=2)
    assert len(acts) == 2
    assert acts[0].startswith("**1. Reliability**" if lang == "en" else "**1. 可靠性**")
    assert ("Gap 3" if lang == "en" else "差距3") in acts[0]
    assert "\\*" in acts[1]  # gap 1 rests on the managers' low base: an escaped mark in Markdown
    verdicts = story.diagnosis_sentences(res, lang=lang, codebook=cb)
    assert len(verdicts) == 5
    assert verdicts[0].startswith("**Tangibles**: no significant shortfall" if lang == "en" else "**有形性**：")
    assert verdicts[2].startswith("**Responsiveness**: a significant shortfall" if lang == "en" else "**响应性**：存在显著差距")


def test_notes_name_the_low_base_and_become_low_base_warnings(res):
    en = story.notes(res, lang="en")
    assert en == ["Gaps 1 and 2 and their antecedents rest on 40 managers: a low base (below 50); read them "
                  "with caution (marked *)."]
    assert story.notes(res, lang="zh")[0].startswith("差距1、差距2及其前因基于40位管理人员的回答")
    with pytest.warns(LowBaseWarning, match="40 managers") as caught:
        story.emit_notes(res, lang="zh")
    assert caught[0].message.text("zh") == story.notes(res, lang="zh")[0]  # the report shows it in Chinese


def test_words_follow_the_data_not_the_demo(frames, cb):
    """No shortfall anywhere: the findings say so and there is nothing to do first."""
    sq = frames["servqual"]
    mirror = sq.copy()  # every respondent twice, once with E and P swapped: every gap is exactly 0
    for item in cb.servqual_items():
        mirror[f"E_{item}"], mirror[f"P_{item}"] = sq[f"P_{item}"], sq[f"E_{item}"]
    mirror["resp_id"] = mirror["resp_id"] + "m"
    both = pd.concat([sq, mirror], ignore_index=True)
    res = gaps.five_gap_report(both, frames["mgmt_survey"], cb)
    assert np.allclose(res.dimension_rows()["gap"], 0)
    sig_short = res.diagnosis["gap5_sig"] & (res.diagnosis["gap5"] < 0)
    assert not sig_short.any()
    text = _plain(story.key_findings(res, lang="en", codebook=cb))
    assert "No dimension shows a significant shortfall" in text
    assert "of the total shortfall" not in text  # no loss to share out
    assert story.first_actions(res, lang="en") == [strings()["gaps.act.none"]["en"]]
    assert story.segment_findings(res, lang="en") == []  # no comparison asked for
    assert res.actions.empty
    spec = story.action_table(res, lang="zh", codebook=cb)
    assert len(spec["df"]) == 1


def test_segment_findings_without_significant_differences(res, cb):
    flat = dataclasses.replace(res, comparisons=res.comparisons.assign(p_val=0.5))
    assert story.segment_findings(flat, lang="en", codebook=cb) == [
        "By Customer segment: no dimension's gap differs significantly between groups at 95%."]


# ------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------
TABLES = ["bases_table", "gap_definitions_table", "dimension_table", "weighted_table", "item_table", "zone_table",
          "diagnosis_table", "antecedents_table", "action_table", "reliability_table", "compare_table"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fn", TABLES)
def test_tables_fit_the_page_and_speak_the_language(res, cb, fn, lang):
    spec = getattr(story, fn)(res, lang=lang, codebook=cb)
    df = spec["df"]
    assert 0 < len(df) <= 40 and df.shape[1] <= 8
    assert spec["caption"] and set(spec["text_columns"]) <= set(df.columns)
    cells = df.astype(str).to_numpy().ravel().tolist() + list(df.columns)
    assert not [c for c in cells if c.lower() in ("nan", "none") or "nan " in c.lower()]
    if lang == "zh":
        assert all(CJK.search(str(c)) or c in ("#", "n") for c in df.columns), list(df.columns)
    from workbench.tables import to_html

    html = to_html(**spec)
    assert "<table" in html


def test_dimension_table_marks_significance_and_low_base(res, cb):
    df = story.dimension_table(res, lang="en", codebook=cb)["df"].set_index("Dimension")
    assert df.loc["Reliability", "Gap (P − E)"].endswith("▼")
    assert not df.loc["Tangibles", "Gap (P − E)"].endswith(("▼", "▲"))
    diag = story.diagnosis_table(res, lang="en", codebook=cb)["df"].set_index("Dimension")
    assert diag.loc["Responsiveness", "Gap 1"] == f"{res.diagnosis.loc[2, 'gap1']:+.2f}".replace("-", "−") + " ▼*"
    assert diag.loc["Empathy", "Main internal source"] == "Gap 2 · service standards"
    cmp = story.compare_table(res, lang="en", codebook=cb)["df"].set_index("Dimension")
    assert cmp.loc["Responsiveness", "Consumer postpaid (B)"].endswith(" A")  # a smaller shortfall than business
    assert cmp.loc["Base (n)"].tolist() == ["207", "158", "235"] or len(cmp.columns) == 3


# ------------------------------------------------------------------------------------------
# charts
# ------------------------------------------------------------------------------------------
def _texts(fig):
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts + ax.get_yticklabels() + ax.get_xticklabels()]
        leg = ax.get_legend()
        if leg:
            out += [t.get_text() for t in leg.get_texts()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    return [t for t in out if t]


def _charts(res, cb, lang):
    plots.apply_theme(lang)  # as report.setup does: a CJK font for Chinese
    words = {"lang": lang, "codebook": cb}
    return {
        "model": plots.gap_model_chart(res.gap5, res.gaps14, lang=lang, bases=res.bases),
        "dimension": plots.dimension_gap_chart(res.gap5, **words),
        "by": plots.dimension_gap_chart(res.gap5_by, by="segment", **words),
        "snake": plots.snake_chart(res.gap5, **words),
        "zone": plots.zone_chart(res.zone, **words),
        "diagnosis": plots.diagnosis_chart(res.diagnosis, bases=res.bases, **words),
        "priority": plots.priority_chart(res.diagnosis, res.actions, bases=res.bases, **words),
        "antecedents": plots.antecedents_chart(res.antecedents, bases=res.bases, **words),
    }


@pytest.mark.parametrize("lang", LANGS)
def test_charts_have_titles_bases_and_translated_labels(res, cb, lang):
    import matplotlib.pyplot as plt

    for name, fig in _charts(res, cb, lang).items():
        texts = _texts(fig)
        title = fig._suptitle.get_text() if fig._suptitle else ""
        assert title, name
        foot = " ".join(t.get_text() for t in fig.texts)
        assert ("Base" in foot) if lang == "en" else ("样本基数" in foot), (name, foot)
        assert not [t for t in texts if re.search(r"\bnan\b|\bNone\b|gaps\.", t)], (name, texts)
        if lang == "zh":
            assert CJK.search(title), name
        else:
            assert not [t for t in texts if CJK.search(t)], (name, texts)
        plt.close(fig)


def test_charts_show_the_planted_pattern(res, cb):
    import matplotlib.pyplot as plt

    figs = _charts(res, cb, "en")
    # diagnosis: gaps 1-2 rest on the managers' low base: hatched bars and the low-base legend entry
    diag = figs["diagnosis"]
    hatched = [p for ax in diag.axes for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 2 * 5
    assert any("low base" in t for t in _texts(diag))
    # priority: bars in priority order, reliability first with its share of the shortfall
    prio = figs["priority"].axes[0]
    assert [t.get_text() for t in prio.get_yticklabels()][:2] == ["Reliability", "Responsiveness"]
    share = res.diagnosis.set_index("dimension")["loss"]
    assert f"{100 * share['reliability'] / share.sum():.0f}%" in [t.get_text() for t in prio.texts]
    # zone: reliability and responsiveness items are below the zone (red markers)
    zone = figs["zone"]
    assert any("significantly below adequate" in t for t in _texts(zone))
    # model: every gap is labelled with its overall value
    model_texts = " ".join(_texts(figs["model"]))
    for k in (1, 2, 3, 4, 5):
        assert f"Gap {k}\n" in model_texts
    for fig in figs.values():
        plt.close(fig)


def test_low_bases_everywhere_are_said_not_tested(frames, cb):
    rule = LowBaseRule(caution=250, min_test=200)
    res = gaps.five_gap_report(frames["servqual"], frames["mgmt_survey"], cb, by="region", low_base=rule)
    en = story.notes(res, lang="en", codebook=cb)
    assert en[0].startswith("Gaps 1 and 2 and their antecedents rest on 40 managers, fewer than 200")
    assert en[1].startswith("Gaps 3 and 4 and their antecedents rest on 160 front-line staff, fewer than 200")
    assert "North (n=" in en[2] or "north (n=" in en[2].lower()
    assert story.segment_findings(res, lang="en", codebook=cb) == [
        "By Region: every group's effective base is below 200, too low to test differences between groups."]
    # no internal gap can be tested, so no shortfall is explained by one
    assert set(res.diagnosis["verdict"]) <= {"shortfall_unexplained", "no_shortfall"}
    assert story.first_actions(res, lang="en", codebook=cb)[0].startswith("**1. Reliability**: Look beyond gaps 1–4")
