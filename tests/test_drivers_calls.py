"""The calls of the key-driver analysis on the demo, held against the generator's truth.

The demo generator plants Value → recommendation (direct .20, total .32 on loyalty — the largest
total effect of any driver) and no direct path from the other drivers; the default model built
from the codebook has none, so the analysis must find it through the modification indices.  About
38% of the demo's respondents skip or answer "don't know" to some model question: FIML keeps them.
"""

from __future__ import annotations

import warnings

import pytest

from workbench import drivers as dr
from workbench import io, synth
from workbench.codebook import load_codebook
from workbench.narrative import drivers as words


@pytest.fixture(scope="module")
def demo():
    cb = load_codebook("demo")
    data = io.read_survey(synth.demo_dir() / "tracking.csv", cb, dataset="tracking")
    return cb, data


@pytest.fixture(scope="module")
def kda(demo):
    cb, data = demo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dr.key_driver_analysis(data, cb, dataset="tracking", weight="design_weight", brand="aurora",
                                      bootstrap=20, seed=1)


def test_default_model_finds_value_to_recommendation(kda):
    added = kda.added_paths
    assert [(r.lhs, r.op, r.rhs) for r in added.itertuples()] == [("nps", "~", "VAL")]
    assert added.mi.iloc[0] > 50 and added.sepc_all.iloc[0] > 0.1
    assert "nps ~ VAL" in kda.model and not kda.model_given
    assert 0 < len(kda.mod_indices) <= dr.MI_SHOWN
    # the released path is no longer among the indices of the final model
    assert not ((kda.mod_indices.lhs == "nps") & (kda.mod_indices.rhs == "VAL")).any()


def test_value_ranks_first_on_recommendation(kda):
    """Generator truth: Value → loyalty direct .20, total .32, the largest of the drivers."""
    eff = kda.outcome_effects[kda.outcome_effects.source.isin(kda.drivers)]
    top = eff.iloc[0]
    assert top.source == "VAL"
    assert 0.12 < top.direct_std < 0.28 and 0.22 < top.total_std < 0.40
    assert kda.ipma_target == "nps"
    assert kda.ipma.sort_values("importance", ascending=False).driver.iloc[0] == "VAL"


def test_fiml_is_the_default_on_the_demo(kda):
    assert kda.missing == "fiml"
    assert kda.sem.n == kda.n_rows            # nobody dropped (listwise dropped 38%)
    assert kda.n_partial > 0.3 * kda.n_rows
    text = words.used_text(kda, "en")
    assert "full-information" in text and "left out" not in text
    assert "完全信息最大似然" in words.used_text(kda, "zh")


def test_report_says_which_paths_were_added(kda, demo):
    cb, _ = demo
    en = words.added_paths_text(kda, cb, "en")
    assert "Value for money → Likelihood to recommend" in en and "modification index" in en
    zh = words.added_paths_text(kda, cb, "zh")
    assert "修正指数" in zh
    for lang in ("en", "zh"):
        table = words.mi_table(kda, cb, lang)
        assert len(table["df"]) == len(kda.mod_indices)


def test_user_model_is_never_changed(demo):
    cb, data = demo
    model = dr.default_model(cb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = dr.key_driver_analysis(data, cb, dataset="tracking", model=model, brand="aurora", bootstrap=0,
                                   missing="listwise")
    assert k.model == model and k.model_given and k.added_paths.empty
    assert k.missing == "listwise" and k.sem.n < k.n_rows
    assert len(k.mod_indices)                  # the hint is still there
    assert ((k.mod_indices.lhs == "nps") & (k.mod_indices.rhs == "VAL")).any()
    assert "as given" in words.added_paths_text(k, cb, "en")


def test_missing_must_be_fiml_or_listwise(demo):
    cb, data = demo
    with pytest.raises(dr.ModelError):
        dr.key_driver_analysis(data, cb, dataset="tracking", brand="aurora", missing="pairwise")


def test_four_views_on_the_final_outcome(kda, demo):
    cb, _ = demo
    v = kda.views_loyalty
    assert v is not None and list(v.driver)[0] == "VAL"   # ordered by the total effect on recommendation
    assert set(v.driver) == set(kda.drivers)
    assert (v.rank_sem.iloc[0] == 1)
    en = words.views_table(kda, cb, "en", outcome=kda.loyalty)
    assert "Likelihood to recommend" in en["caption"]
    lines = " ".join(words.key_findings(kda, cb, "en"))
    assert "On Satisfaction" in lines or "On Overall satisfaction" in lines or "On " in lines
    assert lines.count("four views") >= 2


def test_quadrant_calls_on_the_line():
    calls = dr.quadrant_calls(importance=[0.30, 0.30, 0.20, 0.10, 0.251],
                              importance_se=[0.01, 0.01, 0.01, 0.01, 0.01],
                              performance=[60.0, 70.0, 63.8, 70.0, 60.0],
                              performance_se=[0.4, 0.4, 0.4, 0.4, 0.4],
                              importance_cut=0.25, performance_cut=63.5)
    assert calls.call.tolist() == ["concentrate", "keep_up", "on_the_line", "overkill", "on_the_line"]
    assert calls.importance_side.tolist() == ["high", "high", "low", "low", "line"]
    assert calls.performance_side.tolist()[2] == "line"
    # the case: 0.3 above the split with SE 0.4 is on the line
    one = dr.quadrant_calls([0.1], [0.01], [63.8], [0.4], 0.3, 63.5)
    assert one.call.iloc[0] == "on_the_line" and one.importance_side.iloc[0] == "low"
    # no standard error: the point's position decides
    assert dr.quadrant_calls([0.3], [float("nan")], [60.0], [float("nan")], 0.25, 63.5).call.iloc[0] == "concentrate"


def test_ipma_intervals_and_action_list_respect_the_line(kda, demo):
    cb, _ = demo
    ip = kda.ipma
    for c in ("importance_se", "performance_se", "perf_ci_low", "perf_ci_high", "call"):
        assert c in ip
    assert ((ip.perf_ci_low < ip.performance) & (ip.performance < ip.perf_ci_high)).all()
    line = ip[ip.call == "on_the_line"]
    assert (line.importance_side.eq("line") | line.performance_side.eq("line")).all()
    items = words.action_items(kda, cb, "en")
    for d in line.driver:
        assert any("on the line" in s and words.label(cb, d, "en") in s for s in items)
    assert ip.loc[ip.driver == "VAL", "call"].iloc[0] == "concentrate"
    assert any("处于分界线上" in s for s in words.action_items(kda, cb, "zh")) == (len(line) > 0)
    table = words.ipma_table(kda, cb, "en")["df"]
    assert list(table.columns) == ["rank", "driver", "quadrant", "importance", "imp_ci", "performance", "perf_ci",
                                   "action"]
    # the table's action column says what the action list says: a driver on the line is watched
    assert len(line) > 0
    for d in line.driver:
        row = table[table.driver == words.label(cb, d, "en")].iloc[0]
        assert row.action in ("watch: on the line", "no: not significant", "withheld: checks not passed")
    assert table.loc[table.driver == words.label(cb, "VAL", "en"), "action"].iloc[0] == "yes"
