"""Tests of workbench.verbatims: coding rules, recovery of the demo's planted themes, the
suggester, sentiment, and themes as survey variables (estimators of workbench.metrics)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from workbench import _verbatims as _v
from workbench import metrics, verbatims
from workbench.codebook import load_codebook
from workbench.errors import CodebookError, DataError, ParamsError
from workbench.io import read_survey
from workbench.synth import demo_dir

THEMES = ("coverage", "speed", "price", "billing", "staff", "wait_time", "app", "plan")


@pytest.fixture(scope="module")
def demo():
    folder = demo_dir()
    data = read_survey(folder / "tracking.csv", "demo")
    truth = pd.read_csv(folder / "verbatim_truth.csv", keep_default_na=False)
    assert (truth["resp_id"].to_numpy() == data["resp_id"].to_numpy()).all()
    return data, truth


@pytest.fixture(scope="module")
def coded(demo):
    data, _ = demo
    return data.join(verbatims.code_answers(data, "verbatim", "demo"))


# ---- rules ------------------------------------------------------------------------------------
FRAME = {"themes": {
    "price": {"keywords": {"en": ["expensive", "hidden charges"], "zh": ["贵", "太贵", "隐藏收费"]}},
    "app": {"keywords": {"en": ["app", "log in"], "zh": ["应用"]}, "patterns": {"en": [r"\bweb ?site"]}},
    "fee": {"keywords": {"zh": ["费"]}},
}, "nets": {"money": {"themes": ["price", "fee"]}}, "non_answers": {"en": ["nothing to declare"]}}


def test_whole_stemmed_words_and_non_answers():
    df = pd.DataFrame({"why": ["HIDDEN CHARGING!", "so happy", "Charges hidden", "I logged in fine",
                               "the website", "No comment.", "n/a", "Nothing to declare", "k", "  ", None,
                               "apps are expensive"]},
                      index=list("abcdefghijkl"))
    out = verbatims.code_answers(df, "why", FRAME)
    assert list(out.index) == list("abcdefghijkl")
    assert list(out.columns) == ["theme_status", "theme_price", "theme_app", "theme_fee", "theme_money",
                                 "theme_other"]
    assert out["theme_status"].tolist() == ["coded", "other", "other", "coded", "coded", "non_answer",
                                            "non_answer", "non_answer", "too_short", "missing", "missing",
                                            "coded"]
    assert out["theme_price"].tolist() == [True] + [False] * 10 + [True]
    assert out["theme_app"].tolist() == [False, False, False, True, True] + [False] * 6 + [True]  # not in "happy"
    assert out["theme_money"].equals(out["theme_price"] | out["theme_fee"])
    assert out["theme_other"].tolist() == [False, True, True] + [False] * 9


def test_chinese_words_not_substrings():
    df = pd.DataFrame({"why": ["价格太贵", "免费的应用", "隐藏收费很多", "费用太高", "无", "没有", "收费"]})
    out = verbatims.code_answers(df, "why", FRAME)
    assert out["theme_price"].tolist() == [True, False, True, False, False, False, False]
    assert out["theme_app"].tolist() == [False, True, False, False, False, False, False]
    assert out["theme_fee"].tolist() == [False] * 7          # 费 is inside 免费, 收费, 费用: no word
    assert out["theme_status"].tolist()[4:6] == ["non_answer", "non_answer"]


def test_fast_chinese_matching_equals_full_segmentation(demo):
    data, _ = demo
    fr = verbatims.load_frame("demo", "verbatim")
    comp = verbatims._compile(fr)
    tk = _v.keyword_tokenizer(tuple(sorted(comp.zh)))
    rx = re.compile(_v.trie_regex(comp.zh))
    texts = [t for t in data["verbatim"].dropna().unique() if _v.HAN_RE.search(t)]
    texts += ["免费的应用很好用", "太贵了真的太贵", "宝贵的意见", "隐藏收费和收费标准", "网上营业厅经常登录不上去",
              "价格合理，资费便宜，不贵", "等待时间太长了", "覆盖范围广，信号好", "信号信号信号"]
    for t in texts:
        s = _v.normalise(t)
        full = 0
        for w in _v.segment(tk, s):
            full |= comp.zh.get(w, 0)
        assert _v.chinese_hits(s, rx, tk, comp.zh) == full, t


def test_input_not_changed_and_errors():
    df = pd.DataFrame({"why": ["expensive"]})
    before = df.copy()
    verbatims.code_answers(df, "why", FRAME)
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(DataError, match="not found"):
        verbatims.code_answers(df, "nope", FRAME)
    with pytest.raises(ParamsError, match="no coding frame"):
        verbatims.code_answers(df.rename(columns={"why": "email"}), "email", "demo")
    with pytest.raises(ParamsError, match="not a theme"):
        verbatims.load_frame({"themes": {"a": {"keywords": ["x"]}}, "nets": {"n": {"themes": ["b"]}}})


def test_codebook_frame_checks():
    cb = load_codebook("demo")
    fr = cb.coding_frame("verbatim")
    assert list(fr.themes) == list(THEMES) and set(fr.nets) == {"network", "cost", "support"}
    assert cb.coding_frame("email") is None
    raw = cb.model_dump()
    raw["coding_frames"] = {"nps": raw["coding_frames"]["verbatim"]}
    bad = type(cb).from_dict(raw)
    with pytest.raises(CodebookError, match="codes a text question"):
        bad.coding_frame("nps")


# ---- recovery of the planted themes -------------------------------------------------------------
def test_coding_recovers_planted_themes(coded, demo):
    _, truth = demo
    planted = truth["themes"].str.split(";")
    for theme in THEMES:
        t = planted.map(lambda ts, th=theme: th in ts).to_numpy()
        p = coded[f"theme_{theme}"].to_numpy()
        tp = (t & p).sum()
        assert tp / p.sum() >= 0.9 and tp / t.sum() >= 0.9, theme    # precision, recall
    kind = truth["kind"].map({"themed": "coded", "no_theme": "other", "non_answer": "non_answer",
                              "too_short": "too_short", "empty": "missing"})
    assert (coded["theme_status"].astype(str) == kind).mean() >= 0.99


def test_planted_billing_rise_is_found(coded):
    shares = verbatims.theme_shares(coded, ["theme_billing", "theme_price"], weight="design_weight", by="wave")
    bill = shares[shares["theme"] == "theme_billing"].set_index("wave")["share"]
    assert bill.loc[6] > bill.loc[1] + 0.05
    ch = verbatims.theme_changes(coded, ["theme_billing"], between="wave", reference="first",
                                 weight="design_weight")
    assert ch.loc[ch["wave"] == 6, "p_val"].iloc[0] < 0.001


def test_suggester_finds_planted_themes(demo):
    data, truth = demo
    sug = verbatims.suggest_themes(data, "verbatim", n_themes=10)
    assert set(sug.themes["lang"]) == {"en", "zh"}
    single = (truth["kind"] == "themed") & ~truth["themes"].str.contains(";")
    found = {"en": 0, "zh": 0}
    for lang in found:
        for theme in THEMES:
            mine = (single & (truth["lang"] == lang) & (truth["themes"] == theme)).to_numpy()
            best = sug.assignment[mine].value_counts().index[0]
            members = (sug.assignment == best).to_numpy() & single.to_numpy()
            purity = (members & (truth["themes"] == theme).to_numpy()).sum() / members.sum()
            found[lang] += purity >= 0.6
    assert found["en"] >= 4 and found["zh"] >= 4, found
    text = sug.to_yaml()
    draft = __import__("yaml").safe_load(text)
    fr = verbatims.load_frame(draft["coding_frames"]["verbatim"])      # the draft is a valid frame
    assert len(fr.themes) == len(sug.themes)


def test_sentiment_sanity(demo):
    data, truth = demo
    sub = data[truth["kind"].eq("themed").to_numpy()]
    s = verbatims.sentiment(sub, "verbatim")
    promoter = (sub["nps"] >= 9).to_numpy()        # promoters praise, the others complain
    for method in ("vader", "snownlp"):
        m = (s["sentiment_method"] == method).to_numpy()
        assert s["sentiment"][m & promoter].mean() > s["sentiment"][m & ~promoter].mean() + 0.3, method
    df = pd.DataFrame({"why": ["Great service, very helpful staff", "Terrible signal, awful", None]})
    out = verbatims.sentiment(df, "why")
    assert out["sentiment_label"].tolist()[:2] == ["positive", "negative"]
    assert np.isnan(out["sentiment"].iloc[2])


# ---- survey variables: the estimators are metrics' (validated against R survey) ---------------
def test_shares_are_metrics_top_box_of_the_indicator(coded):
    res = verbatims.theme_shares(coded, ["theme_price"], weight="design_weight", by="brand")
    ind = np.where(coded["theme_status"].isin(["coded", "other"]), coded["theme_price"].astype(float), np.nan)
    ref = metrics.top_box(coded.assign(ind=ind), "ind", top=1, scale_max=1, weight="design_weight", by="brand")
    for col in ("n", "n_eff", "share", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(res[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-12)
    allres = verbatims.theme_shares(coded, ["theme_price"], base="all")
    assert allres["n"].iloc[0] == len(coded)


def test_theme_impact_mentioners_vs_not(coded):
    res = verbatims.theme_impact(coded, ["theme_billing", "theme_staff"], "nps", weight="design_weight")
    assert list(res["theme"]) == ["theme_billing", "theme_staff"]
    base = coded[coded["theme_status"].isin(["coded", "other"])]
    m = base["theme_billing"]
    a = metrics.nps(base[m], "nps", weight="design_weight")["nps"].iloc[0]
    b = metrics.nps(base[~m], "nps", weight="design_weight")["nps"].iloc[0]
    row = res.iloc[0]
    assert row["est"] == pytest.approx(a) and row["est_ref"] == pytest.approx(b)
    assert row["diff"] == pytest.approx(a - b) and 0 <= row["p_val"] <= 1
    assert row["se"] > 0 and row["ci_low"] < row["diff"] < row["ci_high"]


def test_representative_verbatims_cover_and_mask():
    df = pd.DataFrame({
        "why": ["Too expensive, call me on 0123 456 7890", "too expensive", "Too expensive!",
                "Expensive and hidden charges, ask Ann Lee", "Expensive roaming abroad", "ok"],
        "name": ["Ann Lee", "Bo Chan", "Cy Dee", "Ann Lee", "Ed Fox", "Flo Gu"]})
    coded = df.join(verbatims.code_answers(df, "why", FRAME))
    cb = load_codebook("demo").model_dump()
    cb["questions"]["name"] = {"type": "text", "pii": True}
    cb["questions"]["why"] = {"type": "text"}
    cbk = type(load_codebook("demo")).from_dict(cb)
    rep = verbatims.representative_verbatims(coded, "why", ["theme_price"], k=3, codebook=cbk)
    assert len(rep) == 3
    assert rep["text"].map(_v.core).nunique() == 3          # no wording repeated
    assert not rep["text"].str.contains("Ann|Lee|7890").any()
    assert verbatims.mask_text("mail a.b@example.com", names=[]) == "mail ***"
