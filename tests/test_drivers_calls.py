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
