"""The key-driver report: the one-call analysis, its words and charts, and the PDF in both languages.

The demo study plants SAT = .35 PRD + .30 SRV + .20 VAL + .10 DIG (standardised; truth.json
`sem.paths`); the report must state that order and recover the paths.
"""

from __future__ import annotations

import re

import matplotlib
import pytest

from workbench import drivers, plots
from workbench.codebook import load_codebook
from workbench.errors import DataError
from workbench.io import read_survey
from workbench.lowbase import LowBaseRule
from workbench.narrative import drivers as words
from workbench.narrative import strings
from workbench.synth import demo_dir, load_truth

from _nbfactory import HAS_PDF

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


@pytest.fixture(scope="module")
def tracking(cb):
    return read_survey(demo_dir() / "tracking.csv", cb, "tracking")


@pytest.fixture(scope="module")
def kda(tracking, cb):
    return drivers.key_driver_analysis(tracking, cb, weight="design_weight", brand="aurora", bootstrap=100, seed=7)


def test_planted_paths_come_out(kda):
    truth = load_truth()["sem"]["pooled_std"]["aurora"]["paths"]  # standardised, aurora's pooled sample
    est = kda.sem.estimates
    for d in ("PRD", "SRV", "VAL", "DIG"):
        got = est[(est.op == "~") & (est.lhs == "SAT") & (est.rhs == d)].std_est.iloc[0]
        assert abs(got - truth[f"SAT~{d}"]) < 0.03, (d, got, truth[f"SAT~{d}"])  # n=3,694: SE about .02


def test_all_views_use_the_sem_respondents_and_agree_on_the_demo(kda):
    assert kda.importance.attrs["n"] == kda.sem.n
    assert kda.views.driver.tolist() == ["PRD", "SRV", "VAL", "DIG"]
    assert (kda.views[["rank_r", "rank_beta", "rank_lmg", "rank_sem"]].to_numpy().T == [1, 2, 3, 4]).all()
    assert abs(kda.importance.share.sum() - 1) < 1e-12
    assert set(kda.ipma.quadrant) <= set(drivers.QUADRANTS)


def test_findings_state_the_order_and_the_first_action(kda, cb):
    en = " ".join(words.key_findings(kda, cb, "en"))
    assert "Product & network, Service, Value for money and Digital" in en
    first = kda.ipma.sort_values("priority").iloc[0]
    assert first.quadrant == "concentrate"
    assert f"Act first on {cb.label(first.driver, 'en')}" in en
    zh = " ".join(words.key_findings(kda, cb, "zh"))
    assert "产品与网络、服务、性价比和数字化渠道" in zh and "优先改进" in zh


def test_selection_errors_are_named(tracking, cb):
    with pytest.raises(DataError, match="'zeta' is not in column 'brand'"):
        drivers.key_driver_analysis(tracking, cb, brand="zeta", bootstrap=0)
    with pytest.raises(DataError, match="no respondents in wave 9"):
        drivers.key_driver_analysis(tracking, cb, brand="aurora", wave=9, bootstrap=0)
    with pytest.raises(DataError, match="compare_by: column 'nope'"):
        drivers.group_paths(tracking, cb, "nope", brand="aurora")


def test_group_paths_respect_the_low_base_rule(tracking, cb):
    small = tracking[(tracking.brand == "aurora")].groupby("segment").head(40)
    rule = LowBaseRule(caution=50, min_test=30)
    g = drivers.group_paths(small, cb, "segment", rule=rule)
    assert set(g.base_flag) == {"caution"}  # 40 per group: fitted, flagged
    g = drivers.group_paths(small, cb, "segment", rule=LowBaseRule(caution=100, min_test=60))
    assert g.lhs.isna().all() and set(g.base_flag) == {"no_test"}  # below min_test: not fitted
    table = words.group_table(drivers.group_paths(tracking[tracking.brand == "aurora"], cb, "segment"),
                              "segment", cb, "en", rule)
    assert list(table["df"].columns) == ["path", "Business", "Consumer postpaid", "Consumer prepaid"]


def test_every_label_has_both_languages():
    missing = [k for k, v in strings().items() if k.startswith("drivers.") and not v.get("zh")]
    assert not missing


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_charts_have_titles(kda, cb, lang):
    plots.apply_theme(lang)
    for fn in (plots.path_diagram, plots.four_views_chart, plots.importance_chart, plots.ipma_chart):
        fig = fn(kda, cb, lang=lang, base="Base")
        assert fig._suptitle is not None and fig._suptitle.get_text()
        matplotlib.pyplot.close(fig)


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
@pytest.mark.parametrize("name, heads", [
    ("drivers", ["Executive summary", "Model fit", "Four views of importance", "Importance–performance matrix",
                 "Act first on Service", "Key paths by Customer segment", "Method notes"]),
    ("drivers_zh", ["执行摘要", "模型拟合度", "四种重要性视角", "重要性-表现矩阵", "优先改进服务", "重点改进区"]),
])
def test_report(demo_reports, name, heads):
    text = re.sub(r"\s+", " ", demo_reports.text(name))
    for h in heads:
        assert h in text, h
    assert "3,694" in text  # respondents used, stated
