"""Tests of the verbatims section of the wave report (workbench.verbatims.wave_themes and friends,
narrative.verbatims, plots.verbatims), themes on the detractor follow-up list, and coded themes
as stubs of the tab book."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from workbench import report, tabs, verbatims  # noqa: E402
from workbench.codebook import load_codebook  # noqa: E402
from workbench.errors import ParamsError  # noqa: E402
from workbench.io import read_survey  # noqa: E402
from workbench.lowbase import LowBaseRule  # noqa: E402
from workbench.narrative import t  # noqa: E402
from workbench.narrative import verbatims as vstory  # noqa: E402
from workbench.plots import verbatims as vplots  # noqa: E402
from workbench.reportmodel import Table, chart_of  # noqa: E402
from workbench.synth import demo_dir  # noqa: E402

RULE = LowBaseRule(caution=50, min_test=30)
HAN = re.compile(r"[\u4e00-\u9fff]")


class _Res:
    """The parts of a WaveAnalysis the section reads (period names, our brand)."""

    periods = {w: f"2026-0{w}" for w in range(1, 7)}
    our_brand = "aurora"


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


@pytest.fixture(scope="module")
def data(cb):
    return read_survey(demo_dir() / "tracking.csv", cb, dataset="tracking")


@pytest.fixture(scope="module")
def ours(data):
    return (data["brand"] == "aurora").to_numpy()


@pytest.fixture(scope="module")
def vt(data, cb, ours):
    return verbatims.wave_themes(data, "verbatim", cb, weight="design_weight", wave=6, ref_wave=5, score="nps",
                                 rows=ours, rule=RULE, lang="en")


@pytest.fixture(scope="module")
def coded(data, ours):
    d = data[ours]
    return d.join(verbatims.code_answers(d, "verbatim", "demo"))


# ---- the analysis ------------------------------------------------------------------------------
def test_shares_and_changes_are_the_survey_estimators(vt, coded):
    now = coded[coded["wave"] == 6]
    cols = vt.themes + vt.nets + ["theme_other"]
    direct = verbatims.theme_shares(now, cols, weight="design_weight", rule=RULE).set_index("theme")
    got = vt.shares.set_index("theme")
    assert list(got.index) == cols
    np.testing.assert_allclose(got["share"], direct.loc[cols, "share"], rtol=1e-12)
    np.testing.assert_allclose(got["ci_low"], direct.loc[cols, "ci_low"], rtol=1e-12)
    ch = verbatims.theme_changes(coded[coded["wave"].isin([5, 6])], cols, between="wave", reference=5,
                                 weight="design_weight", rule=RULE).set_index("theme")
    np.testing.assert_allclose(got["diff"], ch.loc[cols, "diff"], rtol=1e-12)
    sig = (ch["p_val"] < 0.05) & (ch["base_flag"] != "no_test")
    expect = np.where(sig & (ch["diff"] > 0), "up", np.where(sig & (ch["diff"] < 0), "down", ""))
    assert list(got["sig"]) == list(expect[[list(ch.index).index(c) for c in cols]])
    # the demo plants a rise of billing comments in the latest wave
    assert got.loc["theme_billing", "sig"] == "up"
    assert vt.n_base == int(now["theme_status"].isin(["coded", "other"]).sum())


def test_top_themes_trend_and_groups(vt, coded):
    th = vt.shares[vt.shares["theme"].isin(vt.themes)].sort_values("share", ascending=False)
    assert vt.top == list(th["theme"].head(5))
    assert vt.waves == [1, 2, 3, 4, 5, 6]
    assert set(vt.trend["theme"]) == set(vt.top) and len(vt.trend) == 5 * 6
    first = vt.trend[vt.trend["wave"] == 1]
    assert first["diff"].isna().all() and (first["sig"] == "").all()
    ch = verbatims.theme_changes(coded, vt.top, between="wave", reference="previous", weight="design_weight",
                                 rule=RULE).set_index(["theme", "wave"])
    tr = vt.trend.set_index(["theme", "wave"])
    later = tr.index[tr.index.get_level_values(1) > 1]
    np.testing.assert_allclose(tr.loc[later, "p_val"], ch.loc[later, "p_val"], rtol=1e-12)
    # NPS groups: detractors (0-6) talk about price more than promoters, as planted in the demo
    g = vt.groups.pivot(index="theme", columns="group", values="share")
    assert list(vt.groups["group"].unique()) == ["detractors", "passives", "promoters"]
    assert g.loc["theme_price", "detractors"] > g.loc["theme_price", "promoters"]
    imp = vt.impact.set_index("theme")
    assert imp.loc["theme_price", "diff"] < 0 and imp.loc["theme_price", "sig"] == "down"


def test_nps_group():
    assert verbatims.nps_group([0, 6, 7, 8, 9, 10, np.nan]).astype(object).tolist()[:6] == [
        "detractors", "detractors", "passives", "passives", "promoters", "promoters"]
    assert pd.isna(verbatims.nps_group([np.nan]).iloc[0])


def test_no_frame_no_themes(data, cb):
    bare = cb.model_copy(update={"coding_frames": {}})
    assert verbatims.coded_columns(bare, "tracking") == []
    assert verbatims.wave_themes(data, "verbatim", bare) is None
    assert verbatims.coded_columns(cb, "tracking", data) == ["verbatim"]
    assert verbatims.coded_columns(cb, "tracking", data.drop(columns=["verbatim"])) == []


def test_quotes_follow_the_report_language_and_mask_personal_data(data, cb, ours):
    d = data.copy()
    rows = np.flatnonzero(ours & (d["wave"] == 6).to_numpy())
    # every billing comment of the wave written by a named customer with an e-mail in the text
    d["name"] = "Jane Doe"
    d.loc[d.index[rows], "verbatim"] = [f"Jane Doe here, jane.doe@example.com: billing error {i} on my bill"
                                        for i in range(len(rows))]
    cb2 = cb.model_copy(deep=True)
    from workbench.codebook import Question

    cb2.questions["name"] = Question(type="text", label={"en": "Name"}, pii=True)
    vt = verbatims.wave_themes(d, "verbatim", cb2, wave=6, rows=ours, top=2, k=2, lang="en")
    assert len(vt.quotes) and not vt.quotes["text"].str.contains("Jane|Doe|example.com").any()
    assert vt.quotes["text"].str.contains(r"\*\*\*").all()
    zh = verbatims.wave_themes(data, "verbatim", cb, wave=6, rows=ours, top=3, k=2, lang="zh")
    en = verbatims.wave_themes(data, "verbatim", cb, wave=6, rows=ours, top=3, k=2, lang="en")
    assert zh.quotes["text"].map(lambda s: bool(HAN.search(s))).all()
    assert not en.quotes["text"].map(lambda s: bool(HAN.search(s))).any()


# ---- the follow-up list ------------------------------------------------------------------------
def test_followup_themes_column_in_the_report_language(cb):
    fl = pd.DataFrame({"resp_id": ["a", "b", "c", "d"],
                       "verbatim": ["Hidden charges on my bill.", "价格太贵，账单乱扣费", "", "No comment"]})
    fl.attrs["verbatim"] = "verbatim"
    en = verbatims.followup_themes(fl, cb, lang="en")
    zh = verbatims.followup_themes(fl, cb, lang="zh", themes=["billing", "theme_price"])
    assert list(fl.columns) == ["resp_id", "verbatim"]  # not changed
    assert en["themes"].tolist() == ["Bills and charges", "Price and value; Bills and charges", "", ""]
    assert zh["主题"].tolist() == ["账单与扣费", "价格与性价比；账单与扣费", "", ""]
    assert zh["theme_billing"].tolist() == [1, 1, 0, 0] and zh["theme_price"].tolist() == [0, 1, 0, 0]
    assert en.attrs["theme_counts"] == {"Bills and charges": 2, "Price and value": 1}
    assert en.attrs["n_comments"] == 2
    assert verbatims.followup_themes(None, cb) is None
    bare = cb.model_copy(update={"coding_frames": {}})
    assert verbatims.followup_themes(fl, bare) is fl
    with pytest.raises(ParamsError, match="not a theme"):
        verbatims.followup_themes(fl, cb, themes=["nope"])
    notes = vstory.followup_notes(en, lang="en")
    assert len(notes) == 1 and "Bills and charges (2)" in notes[0] and "“themes”" in notes[0]
    assert vstory.followup_notes(fl, lang="en") == []


# ---- words, tables and charts ------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tables_hold_numbers_with_sig_and_flag_frames(vt, lang):
    for build in (vstory.theme_table, vstory.trend_table, vstory.group_table, vstory.quotes_table):
        kw = build(vt, _Res(), lang=lang, codebook=load_codebook("demo"))
        df = kw["df"]
        table = Table(df, formats=kw["formats"], labels=kw["labels"], sig=kw.get("sig"),
                      base_flags=kw.get("base_flags"), caption=kw["caption"], note=kw["note"],
                      text_columns=kw["text_columns"])
        for c in df.columns:
            if c not in kw["text_columns"]:
                assert pd.api.types.is_float_dtype(df[c]), (build.__name__, c)
        text = " ".join(str(x) for x in df.to_numpy().ravel())
        assert "▲" not in text and "▼" not in text
        assert all(kw["labels"].get(c) is not None for c in df.columns)
        table.cells()
    kw = vstory.theme_table(vt, _Res(), lang=lang)
    billing = kw["df"]["theme"].tolist().index("Bills and charges" if lang == "en" else "账单与扣费")
    assert kw["sig"].loc[billing, "diff"] == "up"
    change = vt.shares.set_index("theme").loc["theme_billing", "diff"]
    assert kw["df"].loc[billing, "diff"] == pytest.approx(100 * change)
    tr = vstory.trend_table(vt, _Res(), lang=lang)
    assert list(tr["df"].columns) == ["theme", "w1", "w2", "w3", "w4", "w5", "w6"]
    assert tr["labels"]["w6"] == "2026-06"


def test_findings_in_both_languages(vt):
    for lang in ("en", "zh"):
        items = (vstory.theme_findings(vt, _Res(), lang=lang) + vstory.trend_findings(vt, _Res(), lang=lang)
                 + vstory.group_findings(vt, _Res(), lang=lang))
        assert items and all("{" not in x for x in items)
    en = vstory.theme_findings(vt, _Res(), lang="en")
    assert en[0] == ("**Bills and charges is the theme mentioned most**: 22% of the comments that say something "
                     "in 2026-06.")
    assert any(x.startswith("**Bills and charges is mentioned more than in 2026-05**: 22% against 16%") for x in en)
    pain = [x for x in vstory.group_findings(vt, _Res(), lang="en") if "pain point" in x]
    assert pain and "Price and value" in pain[0] and "−0" not in pain[0]
    # each finding that leads with a claim in bold gives the deck a whole sentence as its action title
    from workbench.deck import action_title

    for lang in ("en", "zh"):
        for item in (vstory.theme_findings(vt, _Res(), lang=lang) + vstory.trend_findings(vt, _Res(), lang=lang)
                     + vstory.group_findings(vt, _Res(), lang=lang)):
            title, _ = action_title(item, lang)
            assert len(title) >= (8 if lang == "zh" else 25), title


def _bottom_up(fig):
    """The y tick labels of a horizontal bar chart, bottom first."""
    labels = sorted(fig.axes[0].get_yticklabels(), key=lambda lab: lab.get_position()[1])
    return [lab.get_text() for lab in labels]


def test_charts_carry_the_values_they_draw(vt):
    fig = vplots.theme_bars(vt, _Res(), lang="en")
    ch = chart_of(fig)
    th = vt.shares[vt.shares["theme"].isin(vt.themes)].sort_values("share", ascending=False)
    ticks = _bottom_up(fig)
    assert ch.kind == "barh" and ch.categories == ticks and ch.categories[-1] == "Bills and charges"  # bottom first
    assert ch.series[0].values == [float(round(100 * x)) for x in th["share"]][::-1]
    assert ch.title == fig._suptitle.get_text()
    from workbench.plots import apply_theme

    apply_theme("zh")
    fig = vplots.theme_trend(vt, _Res(), lang="zh")
    ch = chart_of(fig)
    assert ch.kind == "line" and ch.categories == [f"2026-0{w}" for w in range(1, 7)]
    assert [s.name for s in ch.series] == [vstory.theme_name(vt, c, "zh") for c in vt.top]
    got = vt.trend[vt.trend["theme"] == vt.top[0]].sort_values("wave")["share"]
    np.testing.assert_allclose(ch.series[0].values, 100 * got.to_numpy())
    legend = [x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    assert legend == [s.name for s in ch.series]
    fig = vplots.group_bars(vt, _Res(), lang="en")
    ch = chart_of(fig)
    assert [s.name for s in ch.series] == ["Detractors", "Promoters"]
    g = vt.groups.pivot(index="theme", columns="group", values="share")
    assert ch.categories == _bottom_up(fig)  # bottom first, as drawn
    top = [c for c in vt.themes if vstory.theme_name(vt, c, "en") == ch.categories[-1]][0]
    assert ch.series[0].values[-1] == round(100 * g.loc[top, "detractors"])
    assert ch.series[0].values[-1] == max(ch.series[0].values)  # most mentioned by detractors on top
    apply_theme("en")
    matplotlib.pyplot.close("all")


def test_section_without_themes_shows_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr(report, "heading", lambda *a, **k: shown.append(("heading", a)))
    monkeypatch.setattr(report, "note", lambda *a, **k: shown.append(("note", a)))
    ran = []
    with vstory.section(None, _Res(), "themes", lang="en"):
        ran.append(vstory.theme_table(None, _Res(), lang="en"))
    with vstory.section(None, _Res(), "trend", lang="en"):
        ran.append(vplots.theme_trend(None, _Res(), lang="en"))
    assert shown == [] and ran == []


def test_section_parts_the_study_cannot_fill_are_notes(monkeypatch, vt):
    import dataclasses

    shown = []
    monkeypatch.setattr(report, "heading", lambda text, level=2: shown.append(("heading", text, level)))
    monkeypatch.setattr(report, "note", lambda text: shown.append(("note", text)))
    one = dataclasses.replace(vt, waves=[6], groups=None)
    with vstory.section(one, _Res(), "trend", lang="en", codebook=load_codebook("demo")):
        vstory.trend_table(one, _Res(), lang="en")
    with vstory.section(one, _Res(), "groups", lang="zh"):
        vstory.group_table(one, _Res(), lang="zh")
    assert shown[0] == ("heading", t("verbatims.h.trend", "en"), 2)
    assert shown[1] == ("note", t("verbatims.msg.one_wave", "en"))
    assert shown[3] == ("note", t("verbatims.msg.no_nps", "zh"))
    shown.clear()
    with vstory.section(vt, _Res(), "themes", lang="en", codebook=load_codebook("demo")):
        raise ValueError("boom")
    assert shown[0] == ("heading", "What customers say: Main reason for your score", 1)
    assert shown[1][0] == "note" and "boom" in shown[1][1]


# ---- tab book stubs ----------------------------------------------------------------------------
def test_theme_stubs_of_the_tab_book(data, cb):
    book = tabs.study_book(data, cb, dataset="tracking", banner=["brand"], stubs=["nps", "themes:verbatim"],
                           weight="design_weight")
    assert "themes:verbatim" not in data.columns  # the caller's frame is not changed
    tab = book.table("themes:verbatim")
    fr = cb.coding_frame("verbatim")
    assert list(tab.index) == [f"theme:{c}" for c in [*fr.themes, *fr.nets, "other"]]
    d = data[data["wave"] == 6]
    d = d.join(verbatims.code_answers(d, "verbatim", cb))
    cols = [f"theme_{c}" for c in [*fr.themes, *fr.nets, "other"]]
    ref = verbatims.theme_shares(d, cols, weight="design_weight", by="brand")
    for brand in ("aurora", "delta"):
        r = ref[ref["brand"] == brand].set_index("theme")["share"]
        np.testing.assert_allclose(tab[f"brand:{brand}"].to_numpy(), r.loc[cols].to_numpy(), rtol=1e-9)
    tot = verbatims.theme_shares(d, cols, weight="design_weight").set_index("theme")["share"]
    np.testing.assert_allclose(tab["total"].to_numpy(), tot.loc[cols].to_numpy(), rtol=1e-9)
    stub = next(s for s in book.spec.stubs if s.question == "themes:verbatim")
    assert stub.label["zh"].startswith("主题：") and stub.rows[0].label["en"] == "Coverage and signal"
    from workbench.narrative.tabs import stub_label  # the sheet title is the stub's own label
    assert stub_label(stub, lang="zh", codebook=cb) == stub.label["zh"]
    assert stub_label(next(s for s in book.spec.stubs if s.question == "nps"), lang="en", codebook=cb) \
        == cb.label("nps", "en")
    # the stub's base: respondents whose answer says something
    bases = book.bases
    b = bases[(bases["stub"] == "themes:verbatim") & (bases["column"] == "total")]
    assert int(b["n"].iloc[0]) == int(d["theme_status"].isin(["coded", "other"]).sum())


def test_theme_stub_problems(cb):
    probs = tabs.spec_problems(["brand"], {"Comments": ["themes:email", "themes:nope"]}, codebook=cb)
    assert [k for k, _ in probs] == ["stubs", "stubs"]
    assert "no coding frame for 'email'" in probs[0][1] and "'nope' is not a text question" in probs[1][1]
    assert tabs.spec_problems(["brand"], ["themes:verbatim"], codebook=cb) == []
    assert "needs the codebook" in tabs.spec_problems(["brand"], ["themes:verbatim"], codebook=None,
                                                      data=pd.DataFrame({"brand": ["a"], "verbatim": ["x"]}))[0][1]


def test_summary_item_per_coded_question(vt):
    assert vstory.summary_findings([], _Res(), lang="en") == []
    (item,) = vstory.summary_findings([vt], _Res(), lang="en")
    assert item.startswith("**Bills and charges is mentioned more than in 2026-05**")
    assert "Detractors talk most about" in item
    (zh,) = vstory.summary_findings([vt], _Res(), lang="zh")
    assert zh.startswith("**账单与扣费的提及率高于2026-05**") and "贬损者谈论最多的是" in zh


# ---- the wave report end to end ----------------------------------------------------------------
def _flat(text, lang):
    return re.sub(r"\s+", "", text) if lang == "zh" else re.sub(r"\s+", " ", text)


E2E = {
    "en": ["What customers say: Main reason for your score", "How the main themes move from wave to wave",
           "What detractors and promoters talk about", "In their own words",
           "Bills and charges is mentioned more than in 2026-05: 22% against 16%",
           "Customers who mention Price and value give a lower NPS", "Each row of the file also lists the themes"],
    "zh": ["客户怎么说：打分的主要原因", "主要主题的波次变化", "贬损者与推荐者在谈论什么", "客户原话",
           "账单与扣费的提及率高于2026-05", "提及价格与性价比的客户净推荐值更低",
           "文件每一行还列出该贬损者评论所涉及的主题"],
}


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wave_report_shows_the_verbatims_section(demo_reports, lang):
    from _nbfactory import HAS_PDF

    if not HAS_PDF:
        pytest.skip("needs chromium and pdftotext")
    text = _flat(demo_reports.text("waves" if lang == "en" else "waves_zh"), lang)
    for want in E2E[lang]:
        assert _flat(want, lang) in text, want
    for bad in ("could not be computed", "此部分无法计算", "@example", "verbatims."):
        assert bad not in text, bad
    result = demo_reports("waves" if lang == "en" else "waves_zh")
    follow = pd.read_csv(result.folder / "detractor_followup.csv", keep_default_na=False)
    col = t("verbatims.col.themes", lang)
    assert col in follow.columns and (follow[col] != "").mean() > 0.3
    assert follow[col].str.contains("Bills and charges" if lang == "en" else "账单与扣费").any()


@pytest.mark.e2e
def test_wave_report_without_a_coding_frame_has_no_verbatims_section(tmp_path):
    import yaml

    from _nbfactory import HAS_PDF
    from workbench import PROJECT_ROOT
    from workbench.runner import run

    if not HAS_PDF:
        pytest.skip("needs chromium and pdftotext")
    cb = yaml.safe_load((PROJECT_ROOT / "workbench" / "data" / "demo" / "codebook.yaml").read_text(encoding="utf-8"))
    cb.pop("coding_frames")
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(cb, allow_unicode=True, sort_keys=False), encoding="utf-8")
    params = yaml.safe_load((PROJECT_ROOT / "params" / "demo" / "waves.yaml").read_text(encoding="utf-8"))
    params.update(codebook=str(tmp_path / "codebook.yaml"), study="noframe")
    (tmp_path / "waves.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    result = run(params_file=tmp_path / "waves.yaml", out=tmp_path / "reports", formats=("pdf",))
    import subprocess

    text = subprocess.run(["pdftotext", str(result.files["pdf"]), "-"], capture_output=True, text=True).stdout
    for absent in ("What customers say", "main themes", "In their own words", "Detractors talk most",
                   "themes of the detractor"):
        assert absent not in text, absent
    assert "Closed loop: detractor follow-up" in _flat(text, "en")
    follow = pd.read_csv(result.folder / "detractor_followup.csv")
    assert "themes" not in follow.columns


def test_chart_titles_state_the_finding(vt):
    fig = vplots.theme_trend(vt, _Res(), lang="en")
    assert fig._suptitle.get_text() == "Bills and charges rises to 22% of comments in 2026-06"
    fig = vplots.group_bars(vt, _Res(), lang="en")
    g = vt.groups.pivot(index="theme", columns="group", values="share").loc["theme_price"]
    assert fig._suptitle.get_text() == (f"Price and value weighs on NPS: {100 * g['detractors']:.0f}% of detractors "
                                        f"mention it, {100 * g['promoters']:.0f}% of promoters")
    matplotlib.pyplot.close("all")
