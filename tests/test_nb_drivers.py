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
        assert abs(got - truth[f"SAT~{d}"]) < 0.03, (d, got, truth[f"SAT~{d}"])  # FIML, n=5,925: SE about .015


def test_all_views_use_the_sem_respondents_and_agree_on_the_demo(kda):
    assert kda.importance.attrs["n"] == kda.sem.n
    assert kda.views.driver.tolist() == ["PRD", "SRV", "VAL", "DIG"]
    assert (kda.views[["rank_r", "rank_beta", "rank_lmg", "rank_sem"]].to_numpy().T == [1, 2, 3, 4]).all()
    assert abs(kda.importance.share.sum() - 1) < 1e-12
    assert set(kda.ipma.quadrant) <= set(drivers.QUADRANTS)


def test_findings_state_the_order_and_the_first_action(kda, cb):
    en = re.sub(r"\\(.)", r"\1", " ".join(words.key_findings(kda, cb, "en")))  # Markdown escapes
    assert "Product \\& network" in " ".join(words.key_findings(kda, cb, "en"))  # labels are Markdown-safe
    assert re.search(r"Product & network \(\+0\.3\d\), Service \(\+0\.[23]\d\), Value for money \(\+0\.[12]\d\) "
                     r"and Digital \(\+0\.[01]\d\)", en)
    assert kda.ranking.driver.tolist() == ["PRD", "SRV", "VAL", "DIG"]
    first = kda.ipma.sort_values("priority").iloc[0]
    assert first.quadrant == "concentrate" and first.action == "act"
    assert f"Act first on {cb.label(first.driver, 'en')}" in en
    assert "Likelihood to recommend" in en  # the demo's loyalty outcome, by its codebook label
    zh = " ".join(words.key_findings(kda, cb, "zh"))
    assert re.search("产品与网络（\\+0\\.3\\d）、服务（\\+0\\.[23]\\d）、性价比（\\+0\\.[12]\\d）和数字化渠道", zh)
    assert "优先改进" in zh
    assert "NPS" in words.intro(kda, cb, "en")  # the demo has an NPS question and names it


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
    assert words.group_table(g, "segment", cb, "en", rule) is None  # nothing fitted: no table ...
    notes = words.group_notes(g, "segment", cb, "en", rule)
    assert notes[0] == "No group could be fitted on its own."  # ... but a note for each group
    assert any("Business (n=40) is not shown" in n for n in notes)


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
                 "Act first on Value for money", "Key paths by Customer segment", "Method notes",
                 "Value for money → Likelihood to recommend was added", "Largest modification indices",
                 "Four views of the drivers of Likelihood to recommend", "On the line"]),
    ("drivers_zh", ["执行摘要", "模型拟合度", "四种重要性视角", "重要性-表现矩阵", "优先改进性价比", "重点改进区",
                    "修正指数", "处于分界线上"]),
])
def test_report(demo_reports, name, heads):
    text = re.sub(r"\s+", " ", demo_reports.text(name))
    for h in heads:
        assert h in text, h
    assert "5,925" in text and ("full-information" in text or "完全信息最大似然" in text)  # FIML: nobody dropped


def test_groups_that_cannot_be_fitted_become_notes(cb):
    import pandas as pd

    rule = LowBaseRule(caution=50, min_test=30)
    rows = pd.DataFrame([
        {"segment": "business", "lhs": "SAT", "rhs": "PRD", "std_est": 0.3, "p_val": 0.01, "n": 300,
         "n_eff": 280.0, "base_flag": "ok", "status": "ok"},
        {"segment": "consumer_prepaid", "lhs": None, "rhs": None, "std_est": float("nan"),
         "p_val": float("nan"), "n": 124, "n_eff": 120.0, "base_flag": "ok", "status": "failed"},
    ])
    table = words.group_table(rows, "segment", cb, "en", rule)
    assert list(table["df"].columns) == ["path", "Business"]
    notes = words.group_notes(rows, "segment", cb, "zh", rule)
    assert len(notes) == 1 and "124" in notes[0] and "无法拟合" in notes[0]
    # group_paths' own words for a group it did not fit: status not_fitted and a reason key
    rows.loc[1, ["status", "reason"]] = ["not_fitted", "drivers.group.not_converged"]
    assert "did not converge" in words.group_notes(rows, "segment", cb, "en", rule)[0]
    rows.loc[1, "reason"] = "drivers.group.low_base"
    assert "base is too low" in words.group_notes(rows, "segment", cb, "en", rule)[0]


def test_a_failed_section_is_a_note_in_the_reports_language():
    exc = DataError("drivers: LMG needs at least two rows")
    assert words.section_failed("views", exc, "en").startswith("The four views of importance could not be")
    assert words.section_failed("views", exc, "zh") == "本研究无法计算四种重要性视角。"


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_of_a_study_that_is_not_the_demo(tmp_path, lang):
    """A CSI-like study (1–10 scales, no waves, brands, weight or NPS question, Complaints an
    outcome of satisfaction, a driver with no effect): the report builds, speaks of the study's
    own constructs, keeps 0–100 scores within 0–100 and quotes the table's figures."""
    import subprocess

    import yaml

    from test_drivers import csi_study
    from workbench.runner import run

    data, spec, model = csi_study(raw=True)
    data.to_csv(tmp_path / "csi.csv", index=False)
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    params = {"notebook": "03_key_drivers", "study": "csi", "client": "Phone Co", "period": "2025",
              "language": lang, "data": str(tmp_path), "codebook": str(tmp_path / "codebook.yaml"),
              "dataset": "survey", "brand": "all", "wave": "all", "weight": "", "compare_by": "",
              "model": model, "bootstrap": 50, "seed": 1}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    res = run(params_file=tmp_path / "p.yaml", out=tmp_path / "out")
    text = subprocess.run(["pdftotext", "-layout", str(res.files["pdf"]), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    banned = (["NPS", "recommend", "wave", "brand", "Aurora", "Demo"] if lang == "en"
              else ["NPS", "推荐", "波次", "品牌", "极光"])
    for w in banned:
        assert w.lower() not in flat.lower(), w
    assert ("Customer satisfaction" if lang == "en" else "Customer satisfaction（中）") in flat
    # performance on 0–100: every number of the action list's performance column
    cb = load_codebook(tmp_path / "codebook.yaml")
    kda = drivers.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey")
    for d, perf in zip(kda.ipma.driver, kda.ipma.performance):
        assert 0 <= perf <= 100
        assert f"{perf:.1f}" in flat, (d, perf)  # the table shows the analysis' figure
    if lang == "en":
        # significant effects, but no point significantly off both splits of the small sample
        assert "on the line" in flat and "Perceived value — no action advised" in flat
        assert "unweighted" in flat and "Effects on Loyalty" in flat



class _LongLabels:
    """The demo codebook with long labels (and one unbreakable word) for the model's variables."""

    def __init__(self, cb):
        self._cb = cb

    def __getattr__(self, name):
        return getattr(self._cb, name)

    def __contains__(self, code):
        return code in self._cb

    def label(self, code, lang="en"):
        base = self._cb.label(code, lang)
        return f"{base} among customers who use the service every day" if code != "SRV" else \
            "Serviceexcellenceandfriendliness"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_path_diagram_boxes_hold_their_labels(kda, cb, lang):
    """Every box label, measured by the renderer, lies inside its box (long labels wrap or shrink)."""
    from matplotlib.patches import FancyBboxPatch

    plots.apply_theme(lang)
    for book in (cb, _LongLabels(cb)):
        fig = plots.path_diagram(kda, book, lang=lang, base="Base")
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
        names = [t for t in ax.texts if t.get_fontweight() == "bold"]
        assert len(names) == len(boxes) >= 5
        for t in names:
            bb = t.get_window_extent(renderer)
            home = [b for b in boxes if b.contains(*bb.get_points().mean(axis=0))]
            assert home, t.get_text()
            assert home[0].x0 <= bb.x0 and bb.x1 <= home[0].x1 and home[0].y0 <= bb.y0 and bb.y1 <= home[0].y1, \
                (t.get_text(), bb, home[0])
        matplotlib.pyplot.close(fig)


def test_plain_charts_carry_the_data_they_show(kda, cb):
    """Importance bars, the four views and the IPMA scatter hand their exact values to the report
    model (native deck charts); the path diagram stays a picture."""
    from workbench.reportmodel import chart_of

    plots.apply_theme("en")
    fig = plots.importance_chart(kda, cb, lang="en")
    ch = chart_of(fig)
    bars = sorted(fig.axes[0].patches, key=lambda p: p.get_y())
    assert ch.kind == "barh" and ch.categories == [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ch.series[0].values == pytest.approx([b.get_width() for b in bars])
    fig = plots.four_views_chart(kda, cb, lang="en")
    ch = chart_of(fig)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert ch.kind == "bar" and [s.name for s in ch.series] == legend
    for s in ch.series:
        assert sum(s.values) == pytest.approx(1.0)
    fig = plots.ipma_chart(kda, cb, lang="en")
    ch = chart_of(fig)
    ip = kda.ipma.set_index("driver")
    assert ch.kind == "scatter" and len(ch.series) == len(ip)
    for s, d in zip(ch.series, kda.ipma.driver):
        assert s.name == cb.label(d, "en") and s.x == [pytest.approx(ip.loc[d, "importance"])]
        assert s.values == [pytest.approx(ip.loc[d, "performance"])]
    assert chart_of(plots.path_diagram(kda, cb, lang="en")) is None
    matplotlib.pyplot.close("all")


def test_findings_show_a_label_as_typed(kda, cb):
    """A construct label holding Markdown or HTML reaches the findings escaped: bold markers stay
    balanced and the label's own characters show as typed."""
    from workbench import report

    nasty = "Va*lue_ <b>x</b> [x](http://e)"

    class Book(_LongLabels):
        def label(self, code, lang="en"):
            return nasty if code == "VAL" else self._cb.label(code, lang)

    items = words.key_findings(kda, Book(cb), "en") + words.action_items(kda, Book(cb), "en")
    shown = [report.render_markdown(i, inline=True) for i in items if "Va\\*lue" in i]
    assert shown
    for html in shown:
        assert "<b>x</b>" not in html and "<a " not in html and "<em>" not in html
        assert "Va*lue_ &lt;b&gt;x&lt;/b&gt; [x](http://e)" in html


def test_tables_hold_numbers_and_marks_apart(kda, cb, tracking):
    """Path, effect, modification-index and group tables hand the report numbers with named
    formats; significance sits in a sig frame (▲/▼ by sign) and low bases in base_flags, and
    the cells every format shows are made from them."""
    import pandas as pd

    from workbench.tables import table_of

    spec = words.paths_table(kda, cb, "en")
    assert pd.api.types.is_numeric_dtype(spec["df"]["std"]) and pd.api.types.is_numeric_dtype(spec["df"]["p"])
    assert spec["df"]["std"].tolist() == kda.paths.std_est.tolist()
    want = ["" if not s else ("up" if v >= 0 else "down") for v, s in zip(kda.paths.std_est, kda.paths.significant)]
    assert spec["sig"]["std"].tolist() == want
    shown = table_of(**spec).cells()
    first = kda.paths.iloc[0]
    assert shown["std"].iloc[0] == f"{first.std_est:.3f}".replace("-", "−") + (" ▲" if want[0] == "up" else "")
    if kda.loyalty:
        eff = words.effects_table(kda, cb, "zh")
        assert pd.api.types.is_numeric_dtype(eff["df"]["total"]) and set(eff["sig"]["total"]) <= {"up", "down", ""}
    mi = words.mi_table(kda, cb, "en")
    assert mi["formats"]["sepc"] == "signed2" and mi["df"]["sepc"].tolist() == kda.mod_indices.sepc_all.tolist()
    small = tracking[(tracking.brand == "aurora")].groupby("segment").head(40)
    rule = LowBaseRule(caution=50, min_test=30)
    g = words.group_table(drivers.group_paths(small, cb, "segment", rule=rule), "segment", cb, "en", rule)
    groups = [c for c in g["df"].columns if c != "path"]
    assert all(pd.api.types.is_numeric_dtype(g["df"][c]) for c in groups)
    assert (g["base_flags"][groups] == "caution").all().all()  # 40 per group: every estimate flagged
    assert all(v.endswith("*") for v in table_of(**g).cells()[groups].to_numpy().ravel())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_driver_chart_labels_never_overprint(kda, cb, lang):
    """The path values of the diagram and the drivers' names in the importance–performance matrix,
    measured by the renderer, do not overlap one another — also when two drivers sit on one point."""
    import dataclasses

    plots.apply_theme(lang)
    close = kda.ipma.copy()
    cols = [c for c in ("importance", "performance", "ci_low", "ci_high", "perf_ci_low", "perf_ci_high")
            if c in close.columns]
    close.loc[close.index[1], cols] = close.loc[close.index[0], cols].to_numpy()  # two drivers on one point
    for fig, pick in ((plots.path_diagram(kda, cb, lang=lang), lambda t: t.get_bbox_patch() is not None),
                      (plots.ipma_chart(dataclasses.replace(kda, ipma=close), cb, lang=lang),
                       lambda t: t.get_text() in {cb.label(d, lang) for d in kda.ipma.driver})):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts if pick(t)]
        assert len(boxes) >= 4
        for i, a in enumerate(boxes):
            assert not [b for b in boxes[i + 1:] if a.overlaps(b)]
        matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------------------------------
# the deck: slides titled with findings, not labels
# --------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_deck_slide_titles_are_findings(demo_reports, kda, cb):
    """The four-views, relative-importance and importance–performance slides are titled with
    what the charts show (the figures' titles in the report model), not with the charts' labels."""
    from _decktitles import deck_titles, shown, titled

    titles = deck_titles(demo_reports, "drivers")
    sat, loy = cb.label(kda.satisfaction, "en"), cb.label(kda.loyalty, "en")
    labels = {strings()["drivers.c.views"]["en"].format(sat=sat), strings()["drivers.c.views"]["en"].format(sat=loy),
              strings()["drivers.c.importance"]["en"].format(sat=sat), strings()["drivers.h.ipma"]["en"]}
    assert not labels & set(titles), titles
    # the same data and model as the demo run: the views and importance are the fixture's
    for f in (words.views_title(kda, cb, "en"), words.views_title(kda, cb, "en", outcome=kda.loyalty),
              words.importance_title(kda, cb, "en")):
        assert shown(titles, f), (f, titles)
    top = kda.importance.loc[kda.importance.share.idxmax()]
    assert f"{100 * top.share:.0f}%" in words.importance_title(kda, cb, "en")
    ipma = titled(titles, "en", *[k for k in strings() if k.startswith("drivers.t.ipma_")])
    names = [cb.label(d, "en") for d in kda.ipma.driver]
    assert len(ipma) == 1 and any(n in ipma[0] for n in names), titles


def test_slide_findings_in_chinese(kda, cb):
    sat = cb.label(kda.satisfaction, "zh")
    assert sat in words.views_title(kda, cb, "zh") and sat in words.importance_title(kda, cb, "zh")
    assert re.search(r"\d+%", words.importance_title(kda, cb, "zh"))
    assert any(cb.label(d, "zh") in words.ipma_title(kda, cb, "zh") for d in kda.ipma.driver) or \
        cb.label(kda.ipma_target, "zh") in words.ipma_title(kda, cb, "zh")
