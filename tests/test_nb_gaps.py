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
    # side files in the report's language, rounded, with words instead of internal codes
    side = pd.read_csv(res.folder / "five_gap_actions.csv")
    words = strings()
    dim, source = words["gaps.file.dimension"][lang], words["gaps.file.source"][lang]
    assert side.loc[0, dim] == ("Reliability" if lang == "en" else "可靠性")
    assert side.loc[0, source] == words["gaps.gap3.short"][lang]
    diag = pd.read_csv(res.folder / "five_gap_diagnosis.csv").set_index(dim)
    assert diag.loc["Responsiveness" if lang == "en" else "响应性", words["gaps.file.main_source"][lang]] == \
        words["gaps.gap1.short"][lang]
    for frame in (side, diag):
        text = frame.to_csv()
        assert not re.search(r"\d\.\d{4,}", text), "unrounded numbers in a side file"
        assert not re.search(r"no_shortfall|shortfall_|_internal|,(knowledge|standards|delivery|communication|"
                             r"none|ok|caution|reliability)(,|\n)", text)
        if lang == "zh":
            assert all(CJK.search(str(c)) for c in frame.columns)


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
    from workbench.tables import table_of, to_html

    spec = getattr(story, fn)(res, lang=lang, codebook=cb)
    df = spec["df"]
    assert 0 < len(df) <= 40 and df.shape[1] <= 8
    assert spec["caption"] and set(spec["text_columns"]) <= set(df.columns)
    table = table_of(**spec)  # what every format shows: numbers formatted, marks from the frames
    heads = [table.header(c) for c in df.columns]
    cells = table.cells().to_numpy().ravel().tolist() + heads
    assert not [c for c in cells if c.lower() in ("nan", "none") or "nan " in c.lower()]
    # no mark is baked into a number: numeric columns are numbers, marks live in sig / base_flags
    for c in df.columns:
        if spec.get("formats", {}).get(c) not in (None, "text"):
            assert pd.api.types.is_numeric_dtype(df[c]), (fn, c)
    if lang == "zh":
        assert all(CJK.search(str(h)) or h in ("#", "n") for h in heads), heads
    html = to_html(**spec)
    assert "<table" in html


def _shown(spec):
    """A table's cells as every format shows them, indexed by its first column."""
    from workbench.tables import table_of

    cells = table_of(**spec).cells()
    return cells.set_index(cells.columns[0])


def test_dimension_table_marks_significance_and_low_base(res, cb):
    spec = story.dimension_table(res, lang="en", codebook=cb)
    gap = spec["df"]["Gap (P − E)"]
    assert pd.api.types.is_numeric_dtype(gap)  # the number itself, not "−1.41 ▼"
    assert gap.tolist() == res.gap5[res.gap5["level"] != "item"]["gap"].tolist()
    df = _shown(spec)
    assert df.loc["Reliability", "Gap (P − E)"].endswith("▼")
    assert not df.loc["Tangibles", "Gap (P − E)"].endswith(("▼", "▲"))
    spec = story.diagnosis_table(res, lang="en", codebook=cb)
    assert set(spec["sig"]["Gap 1"]) <= {"up", "down", ""} and set(spec["base_flags"]["Gap 1"]) == {"caution"}
    diag = _shown(spec)
    assert diag.loc["Responsiveness", "Gap 1"] == f"{res.diagnosis.loc[2, 'gap1']:+.2f}".replace("-", "−") + " ▼*"
    assert diag.loc["Empathy", "Main internal source"] == "Gap 2 · service standards"
    spec = story.compare_table(res, lang="en", codebook=cb)
    cmp = _shown(spec)
    assert cmp.loc["Responsiveness", "Consumer postpaid (B)"].endswith(" A")  # a smaller shortfall than business
    assert spec["sig"].loc[2, "Consumer postpaid (B)"] == "A"
    ov = res.gap5_by[res.gap5_by["level"] == "overall"].set_index("segment")["n"]
    assert spec["labels"]["Business (A)"] == f"Business (A) n={int(ov['business']):,}"


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
    # ... but the internal gaps that fall short untested are named, not ruled out ("look beyond gaps 1-4")
    first = story.first_actions(res, lang="en", codebook=cb)[0]
    assert first.startswith("**1. Reliability**: Check Gap 3 · delivery (−"), first
    assert "too few answered to test" in first and "Look beyond" not in first
    verdicts = dict(zip(res.diagnosis["dimension"], story.diagnosis_sentences(res, lang="en", codebook=cb)))
    assert "no tested gap 1–4 explains; Gap 3 · delivery (−" in verdicts["reliability"]
    acts = story.action_table(res, lang="zh", codebook=cb)["df"]
    assert acts["改进行动"].iloc[0].startswith("扩大管理人员和员工样本以核查差距3")


# ------------------------------------------------------------------------------------------
# any study: other dimensions and scales, the customer survey only, comparisons that cannot be shown
# ------------------------------------------------------------------------------------------
from test_gaps import make_study  # noqa: E402 - the generated SERVQUAL study of test_gaps

DEMO_WORDS = re.compile(r"aurora|telecom|mobile|tangibles|responsiveness|assurance|empathy|"
                        r"postpaid|prepaid|business|segment|1–7|1-7|\b7 =|five dimensions|100 points|极光|"
                        r"有形性|响应性|保证性|移情性|1–7分", re.IGNORECASE)  # "reliability" is also a statistic


def _all_words(res, cb, lang):
    """Every sentence, table cell, caption and note the report would show, as one text."""
    parts = story.key_findings(res, lang=lang, codebook=cb) + story.first_actions(res, lang=lang, codebook=cb)
    parts += story.summary_notes(res, lang=lang) + story.method_notes(res, lang=lang, codebook=cb)
    parts += story.diagnosis_sentences(res, lang=lang, codebook=cb) + story.notes(res, lang=lang, codebook=cb)
    parts += [story.section_text(res, k, lang=lang, codebook=cb) for k in ("intro", "gap5", "actions")]
    for fn in ("bases_table", "gap_definitions_table", "dimension_table", "item_table", "action_table",
               "reliability_table"):
        spec = getattr(story, fn)(res, lang=lang, codebook=cb)
        shown = _shown(spec).reset_index()  # the cells as shown (formatted numbers, marks)
        parts += [spec["caption"], spec["note"] or ""] + list(spec["df"].columns)
        parts += shown.astype(str).to_numpy().ravel().tolist()
    return "\n".join(parts)


@pytest.fixture(scope="module")
def alone():
    """A customer survey only: three dimensions of other names (one single-item), 1-5, unweighted."""
    cb, cust, _ = make_study()
    return cb, gaps.five_gap_report(cust, None, cb)


@pytest.mark.parametrize("lang", LANGS)
def test_customer_survey_only_speaks_of_gap5_alone(alone, lang):
    cb, res = alone
    text = _all_words(res, cb, lang)
    assert not DEMO_WORDS.search(text), DEMO_WORDS.search(text)
    assert not re.search(r"\bnan\b|None|\{|\}", text)
    if lang == "en":
        assert "Access quality" in text and "Item acc1" in text  # words from the codebook
        assert "1–5 scale" in text and "3 dimensions" in text
        assert "The management and staff survey was not part of this study" in text
        assert "Gaps 1–4 were not measured" in story.section_text(res, "actions", lang=lang) and "counts equally" in text
        for bad in ("managers underestimate", "Gap 3 · delivery", "importance points", "Look beyond",
                    "weighted shortfall", "zone of tolerance", "front-line staff n="):
            assert bad not in text, bad
        assert "no management and staff survey" in text  # the gap definitions say gaps 1-4 were not measured
        assert "undefined for a dimension measured by a single item" in text
    else:
        names = {"SERVQUAL", "Parasuraman", "Zeithaml", "Berry", "Churchill", "Brown", "Peter", "Feldt"}
        latin = [w for w in re.findall(r"[A-Za-z]{5,}", text) if w not in names]  # authors and the method's name
        assert not latin, latin[:10]
        assert "本研究未包含管理层与员工问卷" in text and "1–5分量表" in text
    acts = story.first_actions(res, lang=lang, codebook=cb)
    assert len(acts) == 3  # two dimensions with a shortfall, then the remedy said once
    if lang == "en":
        assert acts[0].startswith("**1. Access quality** (gap −") and "start with “Item acc" in acts[0]
        assert acts[-1].startswith("In each case: improve first")
    assert story.diagnosis_sentences(res, lang=lang, codebook=cb) == []
    assert story.summary_notes(res, lang=lang) == [strings()["gaps.note.no_staff"][lang]]


def test_text_and_tables_quote_the_same_numbers(alone):
    cb, res = alone
    found = _plain(story.key_findings(res, lang="en", codebook=cb))
    dim = _shown(story.dimension_table(res, lang="en", codebook=cb))
    for name in ("Access quality", "Care quality"):
        value = dim.loc[name, "Gap (P − E)"].split(" ")[0]
        assert f"{name} ({value})" in found
    overall = dim.loc["Overall (SERVQUAL score)", "Gap (P − E)"].split(" ")[0]
    assert f"P − E = {overall}" in found
    acts = _shown(story.action_table(res, lang="en", codebook=cb)).reset_index()
    assert list(acts.columns) == ["#", "Dimension", "Gap 5 (points)", "Share of shortfall", "Start with (item gap)"]
    share = acts.set_index("Dimension").loc["Access quality", "Share of shortfall"]
    assert f"Access quality accounts for {share}" in found
    assert f"{share} of the shortfall" in story.first_actions(res, lang="en", codebook=cb)[0]


def test_sections_say_why_they_are_missing(alone, monkeypatch):
    from workbench import report

    cb, res = alone
    shown = []
    monkeypatch.setattr(report, "note", shown.append)
    for part in ("weighted", "zone", "diagnosis", "antecedents", "compare"):
        with story.section(res, lang="zh", codebook=cb):
            story.require(res, part)
            shown.append(f"{part} shown")  # never reached
    assert len(shown) == 2  # weighted and zone say why; gaps 1-4 were said once; no comparison asked for
    assert shown[0].startswith("客户问卷未询问各维度的重要性") and "imp_access" in shown[0]
    assert shown[1].startswith("客户问卷未询问适当服务和理想服务水平")
    # a section that fails is a note, not a lost report; the traceback goes to stderr
    with story.section(res, lang="en"):
        raise ZeroDivisionError("boom")
    assert shown[-1] == strings()["gaps.note.section_failed"]["en"]
    with pytest.raises(ValueError, match="unknown part"):
        story.require(res, "zones")


def test_comparisons_that_cannot_be_shown_are_notes(monkeypatch):
    from workbench import report

    shown = []
    monkeypatch.setattr(report, "note", shown.append)
    cb, cust, _ = make_study(groups=[("east", 0.5), ("west", 0.3), ("north", 0.2)], n=60)
    res = gaps.five_gap_report(cust, None, cb, by="branch")  # every group below 30: nothing to test
    with story.section(res, lang="en", codebook=cb):
        story.require(res, "compare")
    assert shown == ["Every group of Branch has an effective base below 30: the groups are too small to compare."]
    one = gaps.five_gap_report(cust.assign(branch="east"), None, cb, by="branch")
    with story.section(one, lang="zh", codebook=cb):
        story.require(one, "compare")
    assert shown[-1] == "所有作答客户的网点均为同一组(east)，无法进行比较。"
    many = cust.assign(branch=[f"b{i % 12}" for i in range(len(cust))])
    res = gaps.five_gap_report(many, None, cb, by="branch")
    with story.section(res, lang="en", codebook=cb):
        story.require(res, "compare")
    assert "has 12 groups, more than the 8" in shown[-1]
    big = make_study(groups=[("east", 0.6), ("west", 0.4)], n=400)
    res = gaps.five_gap_report(big[1], None, big[0], by="branch")
    story.require(res, "compare")  # two groups large enough: the section is shown


@pytest.mark.parametrize("scale", [(1, 5), (1, 9), (0, 10)])
def test_charts_and_words_follow_the_answer_scale(scale):
    import matplotlib.pyplot as plt

    cb, cust, mg = make_study(scale=scale, staff=True, zone=True, importance=True)
    res = gaps.five_gap_report(cust, mg, cb)
    lo, hi = (f"{v:g}" for v in scale)
    words = {"lang": "en", "codebook": cb}
    for fig in (plots.snake_chart(res.gap5, **words), plots.zone_chart(res.zone, **words)):
        ax = fig.axes[0]
        assert ax.get_xlabel() == f"Mean score ({lo}–{hi})"
        left, right = ax.get_xlim()
        assert scale[0] - 0.06 * (scale[1] - scale[0]) <= left and right <= scale[1] + 0.03 * (scale[1] - scale[0])
        plt.close(fig)
    fig = plots.antecedents_chart(res.antecedents, **words)
    texts = _texts(fig)
    mid = f"{(scale[0] + scale[1]) / 2:g}"
    assert f"({lo} = strongly disagree, {hi} = strongly agree)" in fig.axes[0].get_xlabel()
    assert any(f"bad/good side of {mid}" in x for x in texts)
    assert fig.axes[0].get_xlim()[1] <= scale[1] + 0.11 * (scale[1] - scale[0])
    plt.close(fig)
    fig = plots.dimension_gap_chart(res.gap5, **words)
    left, right = fig.axes[0].get_xlim()
    assert -1.5 * (scale[1] - scale[0]) < left and right < 1.5 * (scale[1] - scale[0])
    plt.close(fig)
    text = "\n".join(story.method_notes(res, lang="en", codebook=cb)
                     + [story.antecedents_table(res, lang="en", codebook=cb)["note"],
                        story.dimension_table(res, lang="en", codebook=cb)["note"]])
    assert f"{lo}–{hi} scale" in text and "1–7" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_customer_survey_only_charts(alone, lang):
    import matplotlib.pyplot as plt

    cb, res = alone
    plots.apply_theme(lang)
    words = {"lang": lang, "codebook": cb}
    figs = {"model": plots.gap_model_chart(res.gap5, res.gaps14, lang=lang, bases=res.bases),
            "dimension": plots.dimension_gap_chart(res.gap5, **words),
            "snake": plots.snake_chart(res.gap5, **words),
            "priority": plots.priority_chart(res.diagnosis, res.actions, bases=res.bases, **words)}
    for name, fig in figs.items():
        texts = " ".join(_texts(fig))
        assert not DEMO_WORDS.search(texts), (name, DEMO_WORDS.search(texts))
        assert not re.search(r"\bnan\b|None|gaps\.", texts), (name, texts)
        if lang == "en":
            assert not CJK.search(texts)
    model = " ".join(_texts(figs["model"]))
    assert ("gaps 1–4 not measured" if lang == "en" else "未测量差距1–4") in model
    prio = figs["priority"].axes[0]
    assert prio.get_legend() is None and [t.get_text() for t in prio.get_yticklabels()][0] == \
        story.label("access", lang, cb)
    assert ("dimensions counted equally" if lang == "en" else "各维度同等计权") in prio.get_xlabel()
    for fig in figs.values():
        plt.close(fig)


def test_charts_without_data_raise_a_data_error(alone):
    from workbench.errors import DataError

    cb, res = alone
    empty = res.gap5.assign(gap=np.nan, expectation=np.nan, perception=np.nan)
    with pytest.raises(DataError, match="no data to draw"):
        plots.dimension_gap_chart(empty, lang="en", codebook=cb)
    with pytest.raises(DataError, match="no data to draw"):
        plots.snake_chart(empty, lang="en", codebook=cb)


def test_first_actions_refuses_a_count_below_one(alone):
    from workbench.errors import ParamsError

    cb, res = alone
    with pytest.raises(ParamsError, match="top must be a whole number of at least 1"):
        story.first_actions(res, lang="en", top=0)
    assert len(story.first_actions(res, lang="en", codebook=cb, top=1)) == 2  # one action + the remedy


def test_small_groups_are_named_in_the_comparison_section():
    cb, cust, _ = make_study(groups=[("east", 0.55), ("west", 0.4), ("north", 0.05)], n=400, seed=8)
    res = gaps.five_gap_report(cust, None, cb, by="branch")
    story.require(res, "compare")  # two groups can be tested: the section is shown
    found = story.segment_findings(res, lang="en", codebook=cb, top=5, say_untested=True)
    n_north = int(res.gap5_by.query("level == 'overall' and branch == 'north'")["n"].iloc[0])
    assert found[-1] == f"Too small to test (effective base below 30): North (n={n_north})."
    assert story.notes(res, lang="en", codebook=cb, parts=("groups",))[0].startswith("Groups with a low base")
    assert story.notes(res, lang="en", codebook=cb, parts=("bases", "other")) == []
    with pytest.raises(ValueError, match="unknown part"):
        story.notes(res, parts=("group",))


# ------------------------------------------------------------------------------------------
# layout, colours and chart data
# ------------------------------------------------------------------------------------------
def test_diagnosis_value_labels_never_overprint(res, cb):
    """Neighbouring bars of similar size get their labels stacked, measured by the renderer: no two
    value labels of a panel touch ("−0.2−0.2"), and every label stays inside its panel."""
    import matplotlib.pyplot as plt

    for lang in LANGS:
        plots.apply_theme(lang)
        fig = plots.diagnosis_chart(res.diagnosis, bases=res.bases, lang=lang, codebook=cb)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            labels = [t.get_window_extent(renderer) for t in ax.texts]
            assert labels
            for i, a in enumerate(labels):
                assert not [b for b in labels[i + 1:] if a.overlaps(b)], ax.get_title()
                box = ax.get_window_extent(renderer)
                assert box.y0 - 1 <= a.y0 and a.y1 <= box.y1 + 1
        plt.close(fig)


def test_groups_keep_their_colour_and_charts_carry_their_data(res, cb):
    """The comparison chart colours each segment as every other report does (``level_colours``);
    plain bar and line charts hand exactly the values they draw to the report model."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from workbench.plots import level_colours
    from workbench.reportmodel import chart_of

    plots.apply_theme("en")
    fig = plots.dimension_gap_chart(res.gap5_by, by="segment", lang="en", codebook=cb)
    colours = level_colours(cb, "segment")
    leg = fig.axes[0].get_legend()
    for text, handle in zip(leg.get_texts(), leg.legend_handles):
        level = [lv for lv in cb.levels("segment") if cb.level_label("segment", lv, "en") == text.get_text()]
        if level:
            assert to_hex(handle.get_facecolor()) == colours[str(level[0])]
    ch = chart_of(fig)
    assert ch.kind == "barh" and [s.name for s in ch.series] == [t.get_text() for t in leg.get_texts()][:3]
    rows = res.gap5_by[res.gap5_by["level"] == "dimension"]
    biz = rows[rows["segment"] == "business"].set_index("dimension")["gap"]
    names = {story.label(d, "en", cb): d for d in biz.index}
    got = dict(zip(ch.categories, ch.series[[s.name for s in ch.series].index("Business")].values))
    assert {names[k]: v for k, v in got.items()} == pytest.approx(biz.to_dict())
    prio = chart_of(plots.priority_chart(res.diagnosis, res.actions, bases=res.bases, lang="en", codebook=cb))
    total = res.diagnosis["loss"].sum()
    shown = sum(v for s in prio.series for v in s.values if v is not None)
    assert prio.kind == "stacked_barh" and shown == pytest.approx(100 * res.actions["loss"].sum() / total)
    diag = chart_of(plots.diagnosis_chart(res.diagnosis, bases=res.bases, lang="en", codebook=cb))
    assert [s.name for s in diag.series] == [story.gap_label(k, "en") for k in (1, 2, 3, 4, 5)]
    assert diag.series[2].values == pytest.approx(res.diagnosis["gap3"].tolist())
    snake = chart_of(plots.snake_chart(res.gap5, lang="en", codebook=cb))
    assert snake.kind == "line" and len(snake.categories) == len(res.item_rows("gap5"))
    assert chart_of(plots.gap_model_chart(res.gap5, res.gaps14, lang="en", bases=res.bases)) is None
    plt.close("all")


NASTY = "Reli*ability_ <b>x</b> [x](http://e)"


def test_labels_in_findings_show_as_typed(res, cb):
    """A dimension or group label holding Markdown or HTML is escaped wherever a finding, an action
    or a verdict puts it (bold or not): rendered, it shows as typed and adds no markup."""
    from workbench import report

    class Book:
        def __init__(self, cb):
            self._cb = cb

        def __getattr__(self, name):
            return getattr(self._cb, name)

        def __contains__(self, code):
            return code in self._cb

        def label(self, code, lang="en"):
            return NASTY if code in ("reliability", "segment") else self._cb.label(code, lang)

        def level_label(self, column, level, lang="en"):
            return NASTY if level == "business" else self._cb.level_label(column, level, lang)

    book = Book(cb)
    items = (story.key_findings(res, lang="en", codebook=book) + story.first_actions(res, lang="en", codebook=book)
             + story.diagnosis_sentences(res, lang="en", codebook=book)
             + story.segment_findings(res, lang="en", codebook=book))
    hits = [i for i in items if "Reli" in i]
    assert len(hits) >= 4
    for item in hits:
        html = report.render_markdown(item, inline=True)
        assert "<b>x</b>" not in html and "<a " not in html and "<em>" not in html, html
        assert "Reli*ability_ &lt;b&gt;x&lt;/b&gt; [x](http://e)" in html, html


@pytest.mark.parametrize("lang", LANGS)
def test_side_files_speak_the_reports_language(res, cb, lang):
    """The actions and diagnosis files: headers and words in the report's language, numbers
    rounded for reading, no internal codes; the values are the analysis's, rounded."""
    acts = story.actions_file(res, lang=lang, codebook=cb)
    diag = story.diagnosis_file(res, lang=lang, codebook=cb)
    words = strings()
    for frame in (acts, diag):
        text = frame.to_csv(index=False)
        assert not re.search(r"\d\.\d{4,}", text)
        assert not re.search(r"no_shortfall|shortfall_|_key|\bnan\b|,(knowledge|standards|delivery|communication|"
                             r"none|ok|caution|reliability|tangibles)(,|\n)", text)
        if lang == "zh":
            assert all(CJK.search(str(c)) for c in frame.columns), list(frame.columns)
    gap = acts[words["gaps.file.gap"][lang]].to_numpy(dtype=float)
    assert gap == pytest.approx(res.actions["gap"].round(2).to_numpy())
    share = acts.filter(like="%").iloc[:, 1].to_numpy(dtype=float)
    assert share.sum() == pytest.approx(100 * res.actions["loss"].sum() / res.diagnosis["loss"].sum(), abs=0.5)
    verdicts = diag[words["gaps.file.verdict"][lang]].tolist()
    assert verdicts == [words[f"gaps.file.verdict.{v}"][lang] for v in res.diagnosis["verdict"]]
    low = acts[words["gaps.file.base"][lang]]
    assert (low == words["gaps.file.base.caution"][lang]).any()  # gaps 1-2 rest on the 40 managers


# --------------------------------------------------------------------------------------------
# the deck: slides titled with findings, not labels
# --------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_deck_slide_titles_are_findings(demo_reports, cb):
    """Each chart's slide is titled with what it shows (the figure's title in the report model),
    with the planted truth: reliability and responsiveness fall furthest short, reliability's
    shortfall comes from gap 3, which is the first action."""
    from _decktitles import deck_titles, labels_absent, titled

    titles = deck_titles(demo_reports, "gaps")
    assert not labels_absent(titles, "en", "gaps.h2.model", "gaps.h.gap5", "gaps.h.items", "gaps.h.zone",
                             "gaps.h.diagnosis", "gaps.h2.antecedents", "gaps.h.actions"), titles
    words = strings()
    dims = [story.label(d, "en", cb) for d in ("tangibles", "reliability", "responsiveness", "assurance", "empathy")]

    def one(*keys):
        hit = titled(titles, "en", *keys)
        assert len(hit) == 1 and re.search(r"\d", hit[0]), (keys, titles)
        return hit[0]

    assert "short of customers' expectations" in one("gaps.t.model_short", "gaps.t.model_surplus", "gaps.t.model_ns",
                                                      "gaps.t.model_untested")
    assert one("gaps.t.gap5", "gaps.t.gap5_none").startswith(("Reliability", "Responsiveness"))
    assert any(d in one("gaps.t.items", "gaps.t.items_none") for d in dims)
    assert "Reliability" in one("gaps.t.zone", "gaps.t.zone_one", "gaps.t.zone_none")
    diagnosis = one("gaps.t.diagnosis_first")
    assert "Reliability" in diagnosis and words["gaps.gap3.short"]["en"] in diagnosis
    assert re.search(r"\d\.\d\d", one("gaps.t.antecedents"))
    first = one("gaps.t.actions", "gaps.t.actions_alone")
    assert "Reliability" in first and words["gaps.gap3.short"]["en"] in first and "%" in first


def test_slide_findings_in_chinese(res, cb):
    fns = (story.model_title, story.gap5_title, story.items_title, story.zone_title, story.diagnosis_title,
           story.antecedents_title, story.actions_title)
    for fn in fns:
        text = fn(res, lang="zh", codebook=cb)
        assert CJK.search(text) and re.search(r"\d", text) and "{" not in text, (fn.__name__, text)
    assert "可靠性" in story.diagnosis_title(res, lang="zh", codebook=cb)
