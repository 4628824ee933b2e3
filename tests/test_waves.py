"""Tests for workbench.waves.

References: ``tests/results/waves_reference.csv`` from ``tests/results/r/waves.R`` (R survey 4.1.1,
design ``svydesign(ids=~1, weights=~w)`` on every row of ``tests/results/waves_data.csv``), hand
computations, identities of the decomposition, and recovery of the demo study's planted truth
(``truth.json``, docs/methods/demo_study.md).
"""

from __future__ import annotations

import doctest
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from workbench import PROJECT_ROOT, io, metrics, synth, waves, weighting
from workbench.errors import DataError, LowBaseWarning, ParamsError, WorkbenchWarning
from workbench.lowbase import LowBaseRule

RESULTS = PROJECT_ROOT / "tests" / "results"

# Tolerances (relative unless said): R and we compute the same sums in a different order;
# observed agreement is about 1e-14.
TOL_EST = 1e-10  # estimates (absolute, in NPS points or shares)
TOL_SE = 1e-9  # standard errors (relative)


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(RESULTS / "waves_data.csv", comment="#")


@pytest.fixture(scope="module")
def ref():
    r = pd.read_csv(RESULTS / "waves_reference.csv", comment="#", dtype={"key": str})
    return {(c, k, s): v for c, k, s, v in r[["check", "key", "stat", "value"]].itertuples(index=False)}


@pytest.fixture(scope="module")
def demo():
    d = synth.demo_dir()
    tr = io.read_survey(d / "tracking.csv", "demo", dataset="tracking")
    od = io.read_survey(d / "odata.csv", "demo", dataset="odata")
    truth = json.loads((d / "truth.json").read_text())
    return d, tr, od, truth


@pytest.fixture(scope="module")
def demo_result(demo):
    _, tr, od, _ = demo
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowBaseWarning)
        return waves.analyze(tr, weight="design_weight", our_brand="aurora", mix_by="segment",
                             competitors=["beacon", "cirrus", "delta"], odata=od, codebook="demo")


# --------------------------------------------------------------------------------------------
# against R
# --------------------------------------------------------------------------------------------
def test_trend_matches_svyby_and_svycontrast(data, ref):
    tr = waves.trend(data, "nps", weight="w", period_col=None)
    for _, r in tr.iterrows():
        k = str(int(r["wave"]))
        assert r["est"] == pytest.approx(ref[("trend", k, "est")], abs=TOL_EST)
        assert r["se"] == pytest.approx(ref[("trend", k, "se")], rel=TOL_SE)
        if k != "1":
            assert r["diff"] == pytest.approx(ref[("trend_diff", k, "diff")], abs=TOL_EST)
            assert r["diff_se"] == pytest.approx(ref[("trend_diff", k, "se")], rel=TOL_SE)


@pytest.mark.parametrize("name, reference", [("first", "first"), ("target", {"a": 0.5, "b": 0.3, "c": 0.2})])
def test_standardize_matches_svycontrast_and_svystandardize(data, ref, name, reference):
    st = waves.standardize(data, "nps", weight="w", reference=reference)
    for _, r in st.iterrows():
        k = str(int(r["wave"]))
        for check in (f"std_{name}", f"std_svystandardize_{name}"):
            assert r["std_est"] == pytest.approx(ref[(check, k, "est")], abs=TOL_EST)
            assert r["std_se"] == pytest.approx(ref[(check, k, "se")], rel=TOL_SE)
    if name == "first":
        for s, share in st.attrs["reference_mix"].items():
            assert share == pytest.approx(ref[("std_first_share", s, "share")], abs=1e-13)


@pytest.mark.parametrize("base, target", [(1, 3), (1, 2)])
def test_decompose_matches_delta_method_in_r(data, ref, base, target):
    dec = waves.decompose(data, "nps", base=base, target=target, weight="w")
    assert len(dec.summary) == 6
    for _, r in dec.summary.iterrows():
        key = f"{base}-{target}:{r['component']}"
        assert r["est"] == pytest.approx(ref[("dec", key, "est")], abs=TOL_EST)
        assert r["se"] == pytest.approx(ref[("dec", key, "se")], rel=TOL_SE)


def test_survivorship_matches_r(data, ref):
    s = waves.survivorship(data, base_wave=1, latest_wave=3, weight="w")
    for _, r in s.churn.iterrows():
        g = r["nps_group"]
        assert r["est"] == pytest.approx(ref[("surv_churn", g, "est")], abs=TOL_EST)
        assert r["se"] == pytest.approx(ref[("surv_churn", g, "se")], rel=TOL_SE)
    assert s.churn_test["diff"] == pytest.approx(ref[("surv_churn_test", "detractor-promoter", "diff")], abs=TOL_EST)
    assert s.churn_test["se"] == pytest.approx(ref[("surv_churn_test", "detractor-promoter", "se")], rel=TOL_SE)
    for name in ("total", "mix_mid", "rate_mid"):
        e = s.effect(name)
        assert e["est"] == pytest.approx(ref[("surv_effect", name, "est")], abs=TOL_EST)
        assert e["se"] == pytest.approx(ref[("surv_effect", name, "se")], rel=TOL_SE)
    assert s.est_stayed - s.est_all == pytest.approx(s.effect("total")["est"], abs=1e-12)


def test_xo_matches_r(data, ref):
    tab = waves.xo_table(data, outcomes=["retained_6m"], weight="w")
    for _, r in tab.iterrows():
        assert r["est"] == pytest.approx(ref[("xo_retained", r["nps_group"], "est")], abs=TOL_EST)
        assert r["se"] == pytest.approx(ref[("xo_retained", r["nps_group"], "se")], rel=TOL_SE)
    t = waves.xo_tests(data, outcomes=["retained_6m"], weight="w").iloc[0]
    assert t["diff"] == pytest.approx(ref[("xo_test", "promoter-detractor", "diff")], abs=TOL_EST)
    assert t["se"] == pytest.approx(ref[("xo_test", "promoter-detractor", "se")], rel=TOL_SE)
    # a tiny p-value: compare on the log scale (the tail is computed by different libraries)
    assert np.log(t["p_val"]) == pytest.approx(np.log(ref[("xo_test", "promoter-detractor", "p_val")]), rel=1e-8)


def test_pairwise_and_bh_match_r(data, ref):
    pw = waves.pairwise_tests(data, "nps", between="brand", weight="w", by="wave", fdr=True)
    assert len(pw) == 9
    for _, r in pw.iterrows():
        key = f"{int(r['wave'])}:{r['level_1']}-{r['level_2']}"
        assert r["diff"] == pytest.approx(ref[("bench_pair", key, "diff")], abs=TOL_EST)
        assert r["se"] == pytest.approx(ref[("bench_pair", key, "se")], rel=TOL_SE)
        assert r["p_val"] == pytest.approx(ref[("bench_pair", key, "p_val")], rel=1e-9)
        assert r["p_adj"] == pytest.approx(ref[("bench_pair", key, "p_bh")], rel=1e-9)  # p.adjust "BH"
    bm = waves.benchmark(data, "nps", ours="x", weight="w", by="wave", fdr=True)
    for _, r in bm.iterrows():
        key = f"{int(r['wave'])}:{r['brand']}"
        assert r["est"] == pytest.approx(ref[("bench", key, "est")], abs=TOL_EST)
        assert r["se"] == pytest.approx(ref[("bench", key, "se")], rel=TOL_SE)


# --------------------------------------------------------------------------------------------
# identities and hand values
# --------------------------------------------------------------------------------------------
def test_decomposition_identities(data):
    dec = waves.decompose(data, "nps", base=1, target=3, weight="w")
    c = dec.summary.set_index("component")["est"]
    assert c["mix"] + c["rate"] + c["interaction"] == pytest.approx(c["total"], abs=1e-12)
    assert c["mix_mid"] + c["rate_mid"] == pytest.approx(c["total"], abs=1e-12)
    for col in ("mix", "rate", "interaction", "mix_mid", "rate_mid"):
        assert dec.segments[col].sum() == pytest.approx(c[col], abs=1e-12), col
    # the total and its SE are exactly the crude wave-on-wave difference and its domain SE
    tr = waves.trend(data, "nps", weight="w", compare_to="first", period_col=None).set_index("wave")
    assert c["total"] == pytest.approx(tr.loc[3, "diff"], abs=1e-12)
    assert dec.est_base == pytest.approx(tr.loc[1, "est"], abs=1e-12)
    assert dec.component("total")["se"] == pytest.approx(tr.loc[3, "diff_se"], rel=1e-12)
    wf = dec.waterfall()
    assert wf["end"].iloc[-2] == pytest.approx(dec.est_target, abs=1e-12)
    assert list(wf["kind"]) == ["base"] + ["mix"] * 3 + ["rate"] * 3 + ["interaction", "target"]


def test_decomposition_by_hand():
    # base: a 50% at NPS 100, b 50% at -100; target: a 25% at 100, b 75% at -60 (unweighted)
    df = pd.DataFrame({
        "wave": [1] * 4 + [2] * 20,
        "segment": ["a", "a", "b", "b"] + ["a"] * 5 + ["b"] * 15,
        "ltr": [10, 10, 0, 0] + [10] * 5 + [10] * 3 + [0] * 9 + [8] * 3,
    })
    dec = waves.decompose(df, "ltr", base=1, target=2)
    c = dec.summary.set_index("component")["est"]
    # shares (.5,.5) -> (.25,.75); N_a 100 -> 100, N_b -100 -> -40
    assert c["total"] == pytest.approx(0.25 * 100 + 0.75 * -40 - 0.0)
    assert c["mix"] == pytest.approx(-0.25 * 100 + 0.25 * -100)
    assert c["rate"] == pytest.approx(0.5 * 0 + 0.5 * 60)
    assert c["interaction"] == pytest.approx(0.25 * 60)
    assert c["mix_mid"] == pytest.approx(-0.25 * 100 + 0.25 * -70)


def test_standardized_reference_wave_equals_crude(data):
    st = waves.standardize(data, "nps", weight="w", reference="first")
    assert st["std_est"].iloc[0] == pytest.approx(st["est"].iloc[0], abs=1e-12)
    st = waves.standardize(data, "nps", weight="w", reference=3)
    assert st["std_est"].iloc[2] == pytest.approx(st["est"].iloc[2], abs=1e-12)


def test_control_limits_previous_by_hand():
    t = pd.DataFrame({"wave": [1, 2, 3, 4, 5], "est": [0.0, 2.0, 4.0, 1.0, 20.0],
                      "se": [2.0, 2.0, 2.0, 2.0, 3.0]})
    cl = waves.control_limits(t, k=3)
    # wave 5: mean of waves 2-4 = 7/3; dev_se^2 = 9 + (4+4+4)/9
    assert cl["centre"].iloc[4] == pytest.approx(7 / 3)
    assert cl["dev_se"].iloc[4] == pytest.approx(np.sqrt(9 + 12 / 9))
    assert cl["upper_outer"].iloc[4] == pytest.approx(7 / 3 + 3 * np.sqrt(9 + 12 / 9))
    assert cl["signal"].iloc[4] == "beyond_outer"
    # wave 2: only wave 1 before it
    assert cl["dev_se"].iloc[1] == pytest.approx(np.sqrt(8))
    assert cl["signal"].iloc[0] == ""


def test_control_limits_overall_equals_explicit_variance():
    rng = np.random.default_rng(3)
    se = rng.uniform(1, 4, 6)
    t = pd.DataFrame({"wave": np.arange(1, 7), "est": rng.normal(0, 3, 6), "se": se})
    cl = waves.control_limits(t, centre="overall")
    v = (1 / se**2) / np.sum(1 / se**2)
    assert cl["centre"].iloc[0] == pytest.approx(np.sum(v * t["est"]))
    for w in range(6):
        coef = -v.copy()
        coef[w] += 1.0  # est_w - sum_j v_j est_j, estimates independent
        assert cl["dev_se"].iloc[w] == pytest.approx(np.sqrt(np.sum(coef**2 * se**2)), rel=1e-12)


def test_control_limits_skip_untestable_waves():
    t = pd.DataFrame({"wave": [1, 2], "est": [0.0, 50.0], "se": [2.0, 2.0], "base_flag": ["ok", "no_test"]})
    assert waves.control_limits(t)["signal"].tolist() == ["", ""]


def test_trend_fdr_uses_bh(data):
    tr = waves.trend(data, "nps", weight="w", by="segment", fdr=True, period_col=None)
    np.testing.assert_allclose(tr["p_adj"], metrics.adjust_p(tr["p_val"].to_numpy()), equal_nan=True)
    raw = waves.trend(data, "nps", weight="w", by="segment", period_col=None)
    np.testing.assert_array_equal(raw["p_adj"], raw["p_val"])
    assert (tr["p_adj"].dropna() >= tr["p_val"].dropna() - 1e-15).all()


def test_benchmark_letters_and_arrows():
    df = pd.DataFrame({"brand": ["a"] * 200 + ["b"] * 200 + ["c"] * 200,
                       "ltr": [10] * 120 + [3] * 80 + [10] * 60 + [3] * 140 + [10] * 100 + [3] * 100})
    bm = waves.benchmark(df, "ltr", ours="b", competitors=["a", "c"])
    assert bm["brand"].tolist() == ["b", "a", "c"] and bm["letter"].tolist() == ["A", "B", "C"]
    assert bm.set_index("brand")["sig"].to_dict() == {"b": "", "a": "up", "c": "up"}
    assert bm.set_index("brand")["sig_letters"].to_dict() == {"b": "", "a": "AC", "c": "A"}


# --------------------------------------------------------------------------------------------
# waves, weights, errors
# --------------------------------------------------------------------------------------------
def test_resolve_wave():
    df = pd.DataFrame({"wave": [3, 1, 2, 2]})
    assert waves.resolve_wave(df) == 3 and waves.resolve_wave(df, "latest") == 3
    assert waves.resolve_wave(df, 1) == 1 and waves.resolve_wave(df, " 2 ") == 2
    with pytest.raises(ParamsError, match=r"`wave` 7 is not in the data.*1, 2, 3"):
        waves.resolve_wave(df, 7)
    with pytest.raises(ParamsError, match="'latest' or a wave number"):
        waves.resolve_wave(df, "newest")
    with pytest.raises(ParamsError, match="'latest' or a wave number"):
        waves.resolve_wave(df, True)


def test_year_ago_and_fallback():
    df = pd.DataFrame({"wave": [1, 2, 3, 4], "period": ["2025-01", "2025-06", "2026-01", "2026-06"]})
    assert waves.reference_map(df, "year_ago") == {1: None, 2: None, 3: 1, 4: 2}
    assert waves.reference_map(df, "previous") == {1: None, 2: 1, 3: 2, 4: 3}
    assert waves.reference_map(df, 2) == {1: 2, 2: None, 3: 2, 4: 2}
    with pytest.raises(ParamsError, match="`compare_to`"):
        waves.reference_map(df, "last_year")


def test_analyze_falls_back_to_previous_without_year_ago(demo_result):
    res = demo_result
    assert res.wave == 6 and res.ref_wave == 5 and res.compare_to == "previous"
    assert res.year_ago_wave is None and res.compare_requested == "previous"


def test_rake_by_wave_meets_margins_each_wave(demo):
    d, tr, _, _ = demo
    margins = waves.load_margins(d / "margins.yaml")
    ours = tr["brand"].eq("aurora").to_numpy()
    w = waves.rake_by_wave(tr, margins, base_weight="design_weight", rows=ours)
    for wave in range(1, 7):
        sel = ours & (tr["wave"] == wave).to_numpy()
        for var, targets in margins.items():
            got = pd.Series(w[sel].to_numpy()).groupby(tr.loc[sel, var].to_numpy()).sum()
            for level, share in targets.items():
                assert got[level] / got.sum() == pytest.approx(share, abs=1e-9)
        # each wave keeps its design-weight total
        assert w[sel].sum() == pytest.approx(tr.loc[sel, "design_weight"].sum(), rel=1e-12)
    np.testing.assert_array_equal(w[~ours], tr.loc[~ours, "design_weight"])


@pytest.mark.parametrize("text, says", [
    ("a: &a [1, 2]\n" + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
                                   for p, n in zip("abcdef", "bcdefg")), "alias bomb"),
    ("x: {a: 0.5}\nx: {a: 0.5}\n", "appears twice"),
    ("x: " + "[" * 60 + "]" * 60 + "\n", "nested deeper"),
    ("- 1\n- 2\n", "must map each raking column"),
])
def test_load_margins_refuses_unsafe_yaml_naming_the_file(tmp_path, text, says):
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=says) as err:
        waves.load_margins(path)
    assert "margins file" in str(err.value) and "targets.yaml" in str(err.value)


def test_load_margins_refuses_devices_legacy_encodings_and_missing_files(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("région: {Île: 1.0}\n".encode("latin-1"))
    for path, says in [(latin, "not UTF-8"), ("/dev/zero", "not a regular file"),
                       (tmp_path / "none.yaml", "does not exist")]:
        with pytest.raises(DataError, match=says) as err:
            waves.load_margins(path)
        assert "margins file" in str(err.value)


def test_rake_by_wave_trims_and_reports(demo):
    d, tr, _, _ = demo
    ours = tr["brand"].eq("aurora")
    ww = waves.wave_weights(tr, d / "margins.yaml", method="raked", rows=ours, trim_upper=1.3)
    for wave, grp in tr[ours].groupby("wave"):
        r = ww.raked[grp.index]
        assert r.max() <= 1.3 * r.mean() * (1 + 1e-12)
        assert r.sum() == pytest.approx(grp["design_weight"].sum(), rel=1e-12)
    assert ww.diagnostics["trimmed"].sum() > 0
    assert (ww.diagnostics["max"] <= 1.3 + 1e-9).all()
    e = weighting.efficiency(ww.raked[ours & tr["wave"].eq(6)])
    assert ww.diagnostics.set_index("wave").loc[6, "deff"] == pytest.approx(e["deff"], rel=1e-12)
    assert ww.weight is ww.raked or ww.weight.equals(ww.raked)


def test_bad_margins_name_the_wave(demo):
    _, tr, _, _ = demo
    ours = tr["brand"].eq("aurora").to_numpy()
    bad = {"segment": {"consumer_prepaid": 0.5, "business": 0.5}}  # postpaid has no target
    with pytest.raises(DataError, match=r"wave 1: raking variable 'segment'.*'consumer_postpaid'"):
        waves.rake_by_wave(tr, bad, base_weight="design_weight", rows=ours)
    with pytest.raises(DataError, match="inconsistent"):
        waves.rake_by_wave(tr, {"segment": {"consumer_prepaid": 0.5, "consumer_postpaid": 0.3, "business": 0.4},
                                "gender": {"f": 0.5, "m": 0.5}}, rows=ours)
    with pytest.raises(ParamsError, match="trim_upper"):
        waves.rake_by_wave(tr, {"gender": {"f": .5, "m": .5}}, rows=ours, trim_upper=0.5)


def test_decompose_errors(data):
    with pytest.raises(DataError, match="segment 'c'.*wave 1"):
        waves.decompose(data[~((data["wave"] == 1) & (data["segment"] == "c"))], "nps", base=1, target=3,
                        weight="w")
    with pytest.raises(ParamsError, match="same wave"):
        waves.decompose(data, "nps", base=2, target=2)
    with pytest.raises(ParamsError, match="`target` must be a wave"):
        waves.decompose(data, "nps", base=1, target=9)
    with pytest.raises(ParamsError, match="`metric`"):
        waves.decompose(data, "nps", base=1, target=2, metric="median")


def test_reference_mix_checks(data):
    with pytest.raises(ParamsError, match="sum to 1"):
        waves.reference_mix(data, reference={"a": 0.5, "b": 0.6, "c": 0.2})
    with pytest.raises(DataError, match="'d'"):
        waves.reference_mix(data, reference={"a": 0.5, "d": 0.5})
    r = waves.reference_mix(data, reference="pooled", weight="w", score="nps")
    assert r.sum() == pytest.approx(1.0) and list(r.index) == ["a", "b", "c"]


def test_low_base_segment_gets_no_arrow_and_a_warning():
    rng = np.random.default_rng(11)
    rows = []
    for wave in (1, 2):
        for seg, n in (("big", 400), ("tiny", 12)):
            rows.append(pd.DataFrame({"wave": wave, "period": f"2026-0{wave}", "brand": "us", "segment": seg,
                                      "nps": rng.integers(0, 11, n) if seg == "big" or wave == 1
                                      else np.full(n, 10), "w": 1.0}))
        rows.append(pd.DataFrame({"wave": wave, "period": f"2026-0{wave}", "brand": "them", "segment": "big",
                                  "nps": rng.integers(0, 11, 200), "w": 1.0}))
    df = pd.concat(rows, ignore_index=True)
    tr = waves.trend(df[df.brand == "us"], "nps", by="segment")
    tiny = tr[(tr["segment"] == "tiny") & (tr["wave"] == 2)].iloc[0]
    assert tiny["base_flag"] == "no_test" and tiny["test_flag"] == "no_test"
    assert np.isnan(tiny["p_val"]) and tiny["sig"] == ""  # +100 points, but no test
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = waves.analyze(df, weight="w", our_brand="us", mix_by="segment", kpis=[{"kpi": "nps", "score": "nps", "metric": "nps"}])
    low = [w for w in caught if issubclass(w.category, LowBaseWarning)]
    assert len(low) == 1, [str(w.message) for w in caught]  # one per table: only the segment table
    msg = str(low[0].message)
    assert "tiny" in msg and "below 30 no significance test" in msg
    seg = res.decomposition.segments.set_index("segment")
    assert seg.loc["tiny", "base_flag"] == "no_test"
    assert res.standardized["std_flag"].tolist() == ["no_test", "no_test"]
    rule = LowBaseRule(caution=5, min_test=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowBaseWarning)
        waves.analyze(df, weight="w", our_brand="us", mix_by="segment", rule=rule,
                      kpis=[{"kpi": "nps", "score": "nps", "metric": "nps"}])


def _model(tab):
    """A narrative table's keyword arguments as the report model's Table."""
    from workbench.reportmodel import Table

    return Table(data=tab["df"], formats=tab["formats"], labels=tab["labels"], sig=tab["sig"],
                 base_flags=tab["base_flags"], caption=tab["caption"], note=tab["note"])


def test_low_base_tables_carry_numbers_and_flags_not_marks():
    from workbench.narrative import waves as story
    from workbench.tables import to_html

    rng = np.random.default_rng(11)
    rows = []
    for wave in (1, 2):
        for seg, n in (("big", 600), ("mid", 40), ("tiny", 12)):
            scores = np.clip(rng.integers(0, 11, n) + (3 if wave == 2 and seg == "big" else 0), 0, 10)
            rows.append(pd.DataFrame({"wave": wave, "period": f"2026-0{wave}", "brand": "us", "segment": seg,
                                      "nps": scores, "w": 1.0}))
    df = pd.concat(rows, ignore_index=True)
    with pytest.warns(LowBaseWarning, match="tiny"):
        res = waves.analyze(df, weight="w", our_brand="us", mix_by="segment",
                            kpis=[{"kpi": "nps", "score": "nps", "metric": "nps"}])
    for name in ("kpi_table", "trend_table", "segment_table", "decomposition_table", "kpi_trend_table"):
        try:
            tab = getattr(story, name)(res)
        except waves.Unavailable:
            continue
        data = tab["df"]
        for col, f in tab["formats"].items():
            if f != "text":
                assert pd.api.types.is_numeric_dtype(data[col]), (name, col)
        text = data.select_dtypes(exclude="number").astype(str)
        assert not text.apply(lambda c: c.str.contains("▲|▼|\\*$", regex=True)).any().any(), name
        for frame, allowed in ((tab["sig"], {"", "up", "down"}), (tab["base_flags"], {"", "caution", "no_test"})):
            if frame is not None:
                assert frame.index.equals(data.index) and set(frame.to_numpy().ravel()) <= allowed, name
    seg = story.segment_table(res)
    seg_cur = res.segments[res.segments["wave"] == 2].set_index("segment")
    flags = dict(zip(seg["df"]["segment"], seg["base_flags"]["est"]))
    assert flags == {lv: ("" if seg_cur.loc[lv, "base_flag"] == "ok" else seg_cur.loc[lv, "base_flag"])
                     for lv in flags}
    assert flags["tiny"] == "no_test" and flags["mid"] == "caution" and flags["big"] == ""
    sig = dict(zip(seg["df"]["segment"], seg["sig"]["diff"]))
    assert sig["big"] == "up" and sig["tiny"] == ""  # a move of the low base is not tested
    shown = _model(seg).cells().set_index(seg["df"]["segment"])
    assert shown.loc["big", "diff"].endswith(" ▲") and shown.loc["mid", "est"].endswith("*")
    assert seg["df"].set_index("segment").loc["big", "diff"] == pytest.approx(
        round(seg_cur.loc["big", "est"], 1) - round(seg_cur.loc["big", "est_ref"], 1))
    html = to_html(_model(seg))
    assert "cx-up" in html and "cx-lowbase" in html


def test_kpi_changes_test_the_report_wave_against_year_ago_and_base(demo_result):
    res = demo_result
    kc = res.kpi_changes
    assert set(kc["vs"]) == {"base"} and set(kc["kpi"]) == set(res.kpis["kpi"])  # no year-ago wave in the demo
    for r in kc.itertuples():
        d = res.kpis[res.kpis["kpi"] == r.kpi].set_index("wave")
        a, b = d.loc[res.wave], d.loc[r.wave]
        dt = metrics.diff_test(a["est"], a["se"], b["est"], b["se"], n_eff1=a["n_eff"], n_eff2=b["n_eff"],
                               conf=res.conf, rule=res.rule).iloc[0]
        assert r.wave == res.base_wave and r.diff == pytest.approx(a["est"] - b["est"], abs=1e-12)
        assert r.p_val == pytest.approx(dt["p_val"], rel=1e-12)
        assert r.sig == ("" if r.p_val >= 1 - res.conf else ("up" if r.diff > 0 else "down"))
    assert res.kpi_change("nps", "base")["wave"] == res.base_wave and res.kpi_change("nps", "year_ago") == {}


def test_link_odata_checks():
    x = pd.DataFrame({"customer_id": ["c1", "c2", "c3", None], "segment": "s", "nps": [10, 3, 8, 9]})
    o = pd.DataFrame({"customer_id": ["c1", "c2"], "segment": ["s", "s"], "retained_6m": [1, 0]})
    with pytest.warns(WorkbenchWarning, match="1 of 3 respondents"):
        linked = waves.link_odata(x, o)
    assert linked.index.tolist() == [0, 1] and "segment_odata" in linked.columns
    with pytest.raises(DataError, match="duplicate ids.*'c1'"):
        waves.link_odata(x, pd.concat([o, o.iloc[:1]]))


def test_followup_list_masks_pii_and_writes_atomically(demo, tmp_path):
    _, tr, _, _ = demo
    fl = waves.followup_list(tr, "demo", waves=6, columns=("wave", "segment"))
    assert (fl["nps"] <= 6).all() and (fl["wave"] == 6).all()
    assert len(fl) == int(((tr["wave"] == 6) & (tr["nps"] <= 6)).sum())
    assert set(fl["email"].dropna()) == {"***"}
    assert list(fl.columns) == ["resp_id", "wave", "segment", "region", "nps", "verbatim", "customer_id", "email"]
    assert fl.attrs["region"] == "region" and fl.attrs["fieldwork_end"] == "2026-06-30"
    path = waves.write_followup(fl.assign(email="leak@example.com"), tmp_path / "f.csv", "demo")
    text = path.read_text()
    assert "@example.com" not in text and "R06" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_followup_file_is_ready_for_the_closed_loop(demo, tmp_path, lang):
    from workbench.codebook import load_codebook
    from workbench.i18n import t

    _, tr, _, _ = demo
    cb = load_codebook("demo")
    fl = waves.followup_list(tr, cb, waves=6, columns=("wave", "segment"))
    path = waves.write_followup(fl, tmp_path / "f.csv", cb, lang=lang)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    heads = {c: cb.label(c, lang) for c in fl.columns}
    loop = [t(f"waves.followup.col.{c}", lang) for c in ("owner", "status", "due")]
    assert list(back.columns) == [heads[c] for c in fl.columns] + loop
    # labels, not codes; whole scores; no personal data
    assert set(back[heads["segment"]]) <= {cb.level_label("segment", lv, lang) for lv in cb.levels("segment")}
    assert set(back[heads["region"]]) <= {cb.level_label("region", lv, lang) for lv in cb.levels("region")}
    assert not set(back[heads["segment"]]) & set(cb.levels("segment"))
    assert back[heads["nps"]].str.fullmatch(r"[0-6]").all()
    assert set(back[heads["email"]]) <= {"***", ""}
    # closed loop: open, owner to assign, due a fortnight after the wave's fieldwork ends
    owner, status, due = loop
    assert set(back[status]) == {t("waves.followup.status.open", lang)} and set(back[owner]) == {""}
    assert set(back[due]) == {"2026-07-14"}
    sheet = waves.followup_sheet(fl, cb, lang=lang, owner="CX team", status="in_progress", due="2026-07-03")
    assert set(sheet[owner]) == {"CX team"} and set(sheet[due]) == {"2026-07-03"}
    assert set(sheet[status]) == {t("waves.followup.status.in_progress", lang)}
    assert set(waves.followup_sheet(fl, cb, due_days=0)["Due date"]) == {"2026-06-30"}
    with pytest.raises(ParamsError, match="due_days"):
        waves.followup_sheet(fl, cb, due_days=-3)
    with pytest.raises(ParamsError, match="`due`"):
        waves.followup_sheet(fl, cb, due="next week")


def test_followup_file_speaks_the_report_language_by_default(demo, tmp_path):
    from workbench.codebook import load_codebook

    _, tr, _, _ = demo
    cb = load_codebook("demo")
    res = waves.analyze(tr, weight="design_weight", our_brand="aurora", mix_by="segment", codebook=cb, lang="zh")
    assert res.followup.attrs["lang"] == "zh"
    path = waves.write_followup(res.followup, tmp_path / "f.csv", cb)  # the notebook's call, no lang
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark a spreadsheet needs to read Chinese
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:2] == [cb.label("resp_id", "zh"), cb.label("wave", "zh")] and header[-1] == "截止日期"
    assert waves.followup_sheet(res.followup, cb, lang="en").columns[-1] == "Due date"


def test_followup_summary_counts_the_list(demo_result):
    res = demo_result
    fl, summ = res.followup, res.followup_summary
    assert summ is not None and summ["total"].tolist() == [False] * (len(summ) - 1) + [True]
    tot = summ.iloc[-1]
    assert tot["n"] == len(fl) and tot["n_low"] == int((fl["nps"] <= 3).sum())
    has = fl["verbatim"].astype(str).str.len() > 0
    assert tot["with_verbatim"] == pytest.approx(has.mean()) and summ.attrs["n_verbatim"] == int(has.sum())
    groups = summ[~summ["total"]].set_index("group")
    assert groups["n"].sum() == len(fl)
    for lv, r in groups.iterrows():
        sub = fl[fl[res.mix_by] == lv]
        assert r["n"] == len(sub) and r["with_verbatim"] == pytest.approx(has[sub.index].mean())
    bare = waves.followup_summary(fl.drop(columns="verbatim"), by=None)
    assert len(bare) == 1 and math.isnan(bare["with_verbatim"].iloc[0]) and not bare.attrs["has_verbatim"]
    assert math.isnan(waves.followup_summary(fl.iloc[:0], by=None)["with_verbatim"].iloc[0])


def test_followup_without_period_or_region_has_an_empty_due_date(tmp_path):
    df = pd.DataFrame({"resp_id": ["a", "b", "c"], "nps": [3.0, 9.0, 6.0], "email": ["a@x.org", "b@x.org", ""]})
    fl = waves.followup_list(df, "demo", columns=(), verbatim=None, extra=["email"], region=None)
    assert fl.attrs["fieldwork_end"] is None and fl.attrs["region"] is None
    sheet = waves.followup_sheet(fl, "demo")
    assert list(sheet.columns) == ["Respondent ID", "Likelihood to recommend", "Email address", "Owner", "Status",
                                   "Due date"]
    assert sheet["Due date"].tolist() == ["", ""] and sheet["Likelihood to recommend"].tolist() == [3, 6]


# --------------------------------------------------------------------------------------------
# planted truth of the demo study
# --------------------------------------------------------------------------------------------
def test_demo_mix_shift_is_attributed_to_mix(demo_result, demo):
    truth = demo[3]["nps"]["mix_rate"]
    dec = demo_result.decomposition
    assert (dec.base, dec.target) == (truth["wave_from"], truth["wave_to"])
    mix, rate = dec.component("mix_mid"), dec.component("rate_mid")
    # sampling noise: within 3 SE of the planted (expected) split; mix SE about 0.9 points
    assert abs(mix["est"] - truth["mix_midpoint"]) < 3 * mix["se"]
    assert abs(rate["est"] - truth["rate_midpoint"]) < 3 * rate["se"]
    assert mix["p_val"] < 0.001 and rate["p_val"] > 0.05
    assert dec.mix_share > 0.6  # most of the move is composition (truth: 4.4 of 5.9)
    seg = dec.segments.set_index("segment")
    assert seg["mix"].idxmax() == "business"  # the shift toward business customers
    # realised sample shares are the truth's (design weights vary by region only, within a brand)
    assert seg.loc["business", "share_target"] == pytest.approx(truth["segment_share_to"]["business"], abs=0.02)


def test_demo_raking_removes_the_mix_shift(demo):
    d, tr, od, truth = demo
    ours = tr["brand"].eq("aurora")
    ww = waves.wave_weights(tr, d / "margins.yaml", method="raked", rows=ours)
    dec = waves.decompose(tr[ours], "nps", base=1, target=6, weight=ww.weight[ours])
    assert abs(dec.component("mix_mid")["est"]) < 1e-6
    planted = truth["nps"]["aurora_population_mix_nps"]
    assert abs(dec.total - (planted[5] - planted[0])) < 3 * dec.component("total")["se"]


def test_demo_brand_order_beacon_aurora_delta(demo_result, demo):
    bt = demo_result.benchmark_trend
    _, tr, _, _ = demo
    pooled = waves.benchmark(tr, "nps", ours="aurora", competitors=["beacon", "cirrus", "delta"],
                             weight="design_weight").set_index("brand")
    assert pooled.loc["beacon", "est"] > pooled.loc["aurora", "est"] > pooled.loc["delta", "est"]
    assert "A" in pooled.loc["beacon", "sig_letters"] and "D" in pooled.loc["aurora", "sig_letters"]
    latest = demo_result.benchmark.set_index("brand")
    assert latest.loc["beacon", "est"] > latest.loc["aurora", "est"] > latest.loc["delta", "est"]
    assert latest.loc["delta", "sig"] == "down"
    assert set(bt["brand"]) == {"aurora", "beacon", "cirrus", "delta"} and len(bt) == 24


def test_demo_promoters_retain_better(demo_result, demo):
    xo = demo_result.xo.set_index(["outcome", "nps_group"])
    truth = demo[3]["odata"]["by_nps_group"]
    for g in ("promoter", "detractor"):
        r = xo.loc[("retained_6m", g)]
        assert abs(r["est"] - truth[g]["retention"]) < 3 * r["se"]
    t = demo_result.xo_tests.set_index("outcome")
    assert t.loc["retained_6m", "diff"] > 0 and t.loc["retained_6m", "sig"] == "up"
    assert t.loc["tickets_6m", "sig"] == "down"


def test_demo_survivorship_answer(demo_result, demo):
    s = demo_result.survivorship
    truth = demo[3]["odata"]["by_nps_group"]
    churn = s.churn.set_index("nps_group")
    for g in ("promoter", "detractor"):
        assert abs(churn.loc[g, "est"] - truth[g]["churn_before_wave6_given_wave1"]) < 3 * churn.loc[g, "se"]
    assert s.churn_test["p_val"] < 0.001
    # churn barely moves the segment mix, so it cannot explain the mix part of the rise
    assert abs(s.effect("mix_mid")["est"]) < 1.0
    # but churn alone lifts wave 1 by more than the observed rise, so the verdict -- a z test of
    # wave 6 against wave 1's stayers -- cannot rule survivorship out (never "no" in this case)
    assert s.effect("total")["est"] > s.observed["total"]
    b = s.beyond_churn
    assert b["est_latest"] == pytest.approx(demo_result.trend["est"].iloc[-1])
    assert b["diff"] == pytest.approx(b["est_latest"] - b["est_stayed"])
    assert b["se"] == pytest.approx(np.hypot(b["se_latest"], b["se_stayed"]))
    assert not (b["p_val"] < 0.05 and b["diff"] > 0) and s.verdict == "possible"


def test_demo_kpis_and_standardized(demo_result):
    k = demo_result.kpis
    assert set(k["kpi"]) == {"nps", "csat", "ces"}
    assert k[k.kpi == "csat"]["est"].between(0, 1).all() and k[k.kpi == "ces"]["est"].between(1, 7).all()
    st = demo_result.standardized
    # like-for-like (standardised) change is far smaller than the crude change
    assert (st["std_est"].iloc[-1] - st["std_est"].iloc[0]) < 0.5 * (st["est"].iloc[-1] - st["est"].iloc[0])
    assert demo_result.trend["signal"].iloc[-1] in ("within", "beyond_inner", "beyond_outer")
    assert demo_result.link == {"respondents": 5925, "with_id": 5925, "linked": 5925}


def test_docstring_examples():
    failures, tried = doctest.testmod(waves, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 10 and failures == 0


# --------------------------------------------------------------------------------------------
# any study: KPIs from the codebook, no brands, one wave, weighting none, failing parts
# --------------------------------------------------------------------------------------------
_PARKS = """\
version: 1
study: {id: parks, client: City Parks}
datasets:
  visits:
    file: visits.csv
    id: visitor_id
    columns: [visitor_id, round, channel, satisfaction, ease, q1, q2, comment, email]
    roles: {wave: round}
questions:
  visitor_id: {type: id}
  round: {type: numeric, integer: true, min: 1, label: {en: Survey round}}
  channel:
    type: categorical
    label: {en: Visit type, zh: 游览类型}
    levels: {weekday: {en: Weekday visit}, weekend: {en: Weekend visit}}
  satisfaction: {type: likert, min: 1, max: 10, top_box: 3, label: {en: Overall satisfaction, zh: 总体满意度}}
  ease: {type: likert, min: 1, max: 10, label: {en: Ease of finding your way, zh: 寻路便利程度}}
  q1: {type: likert, min: 1, max: 7, label: {en: Item one}}
  q2: {type: likert, min: 1, max: 7, label: {en: Item two}}
  comment: {type: text}
  email: {type: text, pii: true}
constructs:
  QQ: {items: [q1, q2]}
"""


def _parks(tmp_path, waves_=(1, 2, 3), n=300, seed=3):
    """A study without brands, NPS, weights or periods, whose wave column is called ``round``."""
    from workbench.codebook import load_codebook

    path = tmp_path / "codebook.yaml"
    path.write_text(_PARKS)
    rng = np.random.default_rng(seed)
    frames = []
    for w in waves_:
        ch = rng.choice(["weekday", "weekend"], n, p=[0.6 - 0.1 * w, 0.4 + 0.1 * w])
        mu = np.where(ch == "weekend", 7.5, 6.0) + 0.2 * w
        frames.append(pd.DataFrame({
            "visitor_id": [f"V{w}{i:04d}" for i in range(n)], "round": w, "channel": ch,
            "satisfaction": np.clip(np.round(mu + rng.normal(0, 2, n)), 1, 10),
            "ease": np.clip(np.round(mu - 1 + rng.normal(0, 2, n)), 1, 10),
            "q1": rng.integers(1, 8, n), "q2": rng.integers(1, 8, n), "comment": "", "email": "a@b.test"}))
    df = pd.concat(frames, ignore_index=True)
    return load_codebook(path), df.assign(wave=df["round"])  # ctx.data adds the role's name


def test_kpi_specs_come_from_the_codebook(tmp_path):
    assert [(k["kpi"], k["metric"]) for k in waves.kpi_specs("demo", "tracking")] == \
        [("nps", "nps"), ("csat", "top_box"), ("ces", "mean_score")]
    csat = waves.kpi_specs("demo")[1]
    assert (csat["top"], csat["scale_max"], csat["scale"]) == (2, 5, (1, 5))
    cb, _ = _parks(tmp_path)
    specs = waves.kpi_specs(cb)  # the only dataset with a wave role; construct items are not KPIs
    assert [(k["kpi"], k["metric"]) for k in specs] == [("satisfaction", "top_box"), ("ease", "mean_score")]
    assert (specs[0]["top"], specs[0]["scale_max"], specs[1]["scale"]) == (3, 10, (1, 10))
    assert waves.tracking_dataset(cb) == "visits"


def test_study_without_brands_nps_weights_or_periods(tmp_path):
    import re

    from workbench.narrative import waves as story
    from workbench.tables import to_html

    cb, df = _parks(tmp_path)
    res = waves.analyze(df, weight=None, codebook=cb, weighting_label="none", period_col=None)
    assert res.headline["kpi"] == "satisfaction" and not res.has_nps and not res.brands
    assert res.wave == 3 and res.periods == {} and res.waves == [1, 2, 3]
    assert set(res.unavailable) >= {"segments", "mix", "benchmark", "benchmark_trend", "xo", "survivorship",
                                     "followup"}
    assert res.unavailable["benchmark"] == ("waves.msg.no_brands", {})
    assert res.unavailable["followup"] == ("waves.msg.no_followup_nps", {})
    assert "trend" not in res.unavailable and "kpis" not in res.unavailable
    for lang in ("en", "zh"):
        text = " ".join([story.scope_text(res, lang=lang, codebook=cb)]
                        + story.key_findings(res, lang=lang, codebook=cb)
                        + story.method_notes(res, lang=lang, codebook=cb))
        tables = [story.kpi_table(res, lang=lang, codebook=cb), story.trend_table(res, lang=lang, codebook=cb),
                  story.kpi_trend_table(res, lang=lang, codebook=cb)]
        text += " ".join(re.sub(r"<[^>]+>", " ", to_html(_model(tb))) for tb in tables)  # as the report shows them
        for bad in ("NPS", "净推荐值", "Aurora", "brand", "品牌", "competitor", "竞品", "CSAT", "CES", "segment",
                    "nan", "None", "{"):
            assert bad not in text, (lang, bad)
        assert ("Wave 3" in text and "wave 2" in text) if lang == "en" else "第3波" in text
    en = story.key_findings(res, lang="en", codebook=cb)
    k = res.kpi("satisfaction")
    assert en[0].startswith(f"Overall satisfaction (top-3-box) is **{100 * k['est']:.1f}%** in wave 3")
    assert "Ease of finding your way (mean, 1–10) is" in " ".join(en)
    # shares printed as percentages within 0-100, means within the 1-10 scale
    trend = story.trend_table(res, codebook=cb)["df"]
    for cell in trend["ci"]:
        lo, hi = (float(x.replace("−", "-")) for x in cell.split(" – "))
        assert 0 <= lo <= hi <= 100
    assert story.trend_table(res, codebook=cb)["labels"]["est"] == "Top-3-box (%)"
    assert res.kpis.loc[res.kpis.kpi == "ease", "est"].between(1, 10).all()


def test_study_with_a_segment_column_adjusts_a_top_box_share(tmp_path):
    from workbench.narrative import waves as story

    cb, df = _parks(tmp_path)
    res = waves.analyze(df, weight=None, codebook=cb, mix_by="channel", period_col=None)
    dec = res.decomposition
    assert dec.metric == "top_box" and 0 <= dec.est_base <= 1 and 0 <= dec.est_target <= 1
    assert dec.total == pytest.approx(res.change["diff"], abs=1e-12)
    text = " ".join(story.mix_findings(res, codebook=cb))
    assert "pp" in text and "points" not in text and "visit (visit type)" in text


def test_one_wave_study_says_it_is_the_first(tmp_path):
    from workbench.narrative import waves as story

    cb, df = _parks(tmp_path, waves_=(1,))
    res = waves.analyze(df, weight=None, codebook=cb, mix_by="channel", period_col=None)
    assert res.first_wave and res.ref_wave is None and res.change == {} and res.decomposition is None
    assert res.unavailable["trend"][0] == "waves.msg.first_wave"
    assert res.unavailable["mix"][0] == "waves.msg.first_wave_mix"
    assert "segments" not in res.unavailable  # one wave by segment is still a finding
    en = " ".join(story.key_findings(res, codebook=cb))
    assert "first wave of the study" in en
    for claim in (" up ", " down ", "rose", "fell", "control limits", "unchanged"):
        assert claim not in en, claim
    assert list(story.kpi_table(res, codebook=cb)["df"].columns) == ["kpi", "latest", "n_eff"]
    with pytest.raises(waves.Unavailable):
        story.trend_table(res, codebook=cb)
    assert story.note_text(res, *res.unavailable["trend"], codebook=cb).startswith(
        "This is the first wave of the study, wave 1:")


def test_params_problems_name_the_key(tmp_path):
    cb, df = _parks(tmp_path)
    with pytest.raises(ParamsError, match="our_brand"):
        waves.analyze(df, weight=None, codebook=cb, our_brand="aurora")
    with pytest.raises(ParamsError, match="competitors"):
        waves.analyze(df, weight=None, codebook=cb, competitors=["x"])
    with pytest.raises(ParamsError, match="mix_by"):
        waves.analyze(df, weight=None, codebook=cb, mix_by="segment")
    with pytest.raises(ParamsError, match="margins"):
        waves.wave_weights(df, None, method="raked", base_weight=None)
    with pytest.raises(ParamsError, match="weighting"):
        waves.wave_weights(df, None, method="design", base_weight=None)
    ww = waves.wave_weights(df, None, method="none", base_weight=None)
    assert (ww.weight == 1).all() and ww.raked is None and ww.base == "none"


def test_one_competitor_benchmark_reads_correctly():
    from workbench.narrative import waves as story

    rng = np.random.default_rng(8)
    df = pd.concat([pd.DataFrame({"wave": w, "brand": b, "nps": rng.integers(lo, 11, 300), "w": 1.0})
                    for w in (1, 2) for b, lo in (("us", 4), ("them", 0))], ignore_index=True)
    kp = [{"kpi": "nps", "score": "nps", "metric": "nps"}]
    res = waves.analyze(df, weight="w", our_brand="us", competitors=["them"], kpis=kp, period_col=None)
    assert res.competitors == ["them"] and len(res.benchmark) == 2
    text = " ".join(story.benchmark_findings(res))
    assert text.startswith("us leads the 2 brands at") and "them follows at" in text
    assert "them significantly below us" in text
    none = waves.analyze(df, weight="w", our_brand="us", competitors=[], kpis=kp, period_col=None)
    assert none.unavailable["benchmark"] == ("waves.msg.no_competitors", {}) and none.benchmark is None


def test_a_failing_optional_part_is_a_note_not_a_lost_report(tmp_path):
    cb, df = _parks(tmp_path)
    # a group with respondents in the last wave only: the decomposition cannot be made
    df = df.assign(channel=df["channel"].where(~((df["round"] == 3) & (df.index % 7 == 0)), "event"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = waves.analyze(df, weight=None, codebook=cb, mix_by="channel", period_col=None)
    key, fields = res.unavailable["mix"]
    assert key == "waves.msg.failed" and "event" in fields["detail"]
    assert "trend" not in res.unavailable and res.kpis is not None  # the rest of the report stands


def test_section_turns_a_failure_into_a_note(monkeypatch, tmp_path):
    from workbench import report
    from workbench.narrative import waves as story

    shown = []
    monkeypatch.setattr(report, "heading", lambda text, level=2: shown.append(("heading", text)))
    monkeypatch.setattr(report, "note", lambda text: shown.append(("note", text)))
    cb, df = _parks(tmp_path)
    res = waves.analyze(df, weight=None, codebook=cb, period_col=None)
    with story.section(res, "trend", lang="zh", codebook=cb):
        raise np.linalg.LinAlgError("Singular matrix")
    assert shown[0][0] == "heading" and shown[1] == ("note", "本部分无法针对本研究计算：Singular matrix")
    shown.clear()
    with story.section(res, "benchmark", codebook=cb):  # no brands: one note, no heading
        story.benchmark_findings(res, codebook=cb)
    assert shown == [("note", "The study has no brand question: the report covers all respondents.")]
    shown.clear()
    with story.section(res, "segments", codebook=cb):  # no mix_by: nothing (the mix note says it)
        story.segment_table(res, codebook=cb)
    with story.section(res, "margins", needs=None, codebook=cb):
        raise AssertionError("not run")  # the block runs, but its failure is not shown either
    assert shown == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bold_headline_renders_for_a_negative_value(lang):
    import mistune

    from workbench.narrative import waves as story

    rng = np.random.default_rng(2)
    df = pd.DataFrame({"wave": np.repeat([1, 2], 200), "nps": rng.integers(0, 8, 400)})
    res = waves.analyze(df, weight=None, kpis=[{"kpi": "nps", "score": "nps", "metric": "nps"}], period_col=None)
    assert res.kpi("nps")["est"] < 0
    for finding in story.key_findings(res, lang=lang):
        html = mistune.html(finding)
        assert "**" not in html and "nan" not in html, html
    assert "<strong>" in mistune.html(story.key_findings(res, lang=lang)[0])


# --------------------------------------------------------------------------------------------
# population-representative headline, fieldwork drift, brands at one mix (issue 12)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raked_result(demo):
    d, tr, od, _ = demo
    ww = waves.wave_weights(tr, d / "margins.yaml", method="raked", rows=tr["brand"].eq("aurora").to_numpy(),
                            trim_upper=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowBaseWarning)
        res = waves.analyze(tr, weight=ww.weight, weights=ww, our_brand="aurora", mix_by="segment",
                            competitors=["beacon", "cirrus", "delta"], odata=od, codebook="demo")
    return ww, res


def test_raked_headline_is_closer_to_the_population_truth(raked_result, demo_result, demo):
    ww, res = raked_result
    truth = demo[3]["nps"]["aurora_population_mix_nps"]  # Aurora's NPS at its population mix
    raked = res.kpi("nps")
    design = demo_result.kpi("nps")
    # the headline is the raked estimate: the same as metrics.nps with the raked weights
    _, tr, _, _ = demo
    six = tr[tr["brand"].eq("aurora") & tr["wave"].eq(6)]
    direct = metrics.nps(six, "nps", weight=ww.raked[six.index].to_numpy())
    assert raked["est"] == pytest.approx(float(direct["nps"].iloc[0]), abs=1e-10)
    assert res.weighting == "raked" and res.has_targets
    # the figures: raked wave-6 NPS about 2.3 (truth 2.0), design-weighted 5.7
    assert raked["est"] == pytest.approx(2.3, abs=0.05) and design["est"] == pytest.approx(5.7, abs=0.05)
    assert abs(raked["est"] - truth[5]) < abs(design["est"] - truth[5])
    assert abs(raked["est"] - truth[5]) < 2 * raked["se"]
    # the design-weighted figure is kept for the appendix, from the same weights
    sens = res.sensitivity.set_index("weighting")
    assert sens.loc["design", "est"] == pytest.approx(design["est"], abs=1e-10)
    assert sens.loc["raked", "est"] == pytest.approx(raked["est"], abs=1e-10)
    # raking holds the segment mix at the target in every wave: no composition left
    assert res.mix_held and abs(res.decomposition.component("mix_mid")["est"]) < 1e-6
    # ... and the design-weighted decomposition keeps the drift's composition effect
    dd = res.design_decomposition
    assert dd.component("mix_mid")["est"] == pytest.approx(demo_result.decomposition.component("mix_mid")["est"])


def test_fieldwork_flags_the_planted_drift(raked_result, demo):
    _, res = raked_result
    planted = demo[3]["design"]["aurora_business_share_planned"]  # 20% -> 35% business
    target = demo[3]["frame"]["aurora_margins"]["segment"]["business"]  # 22%
    fw = res.fieldwork
    a = fw.attainment[(fw.attainment["variable"] == "segment") & (fw.attainment["level"] == "business")]
    a = a.set_index("wave")
    for w, share in enumerate(planted, start=1):
        assert a.loc[w, "share"] == pytest.approx(share, abs=0.02)
        assert a.loc[w, "target"] == pytest.approx(target)
        assert a.loc[w, "off_target"] == (abs(a.loc[w, "share"] - target) > 0.05)
    top = fw.off_target.iloc[0]
    assert (top["variable"], top["level"]) == ("segment", "business") and top["diff"] > 0.1
    assert a.loc[6, "attainment"] == pytest.approx(a.loc[6, "share"] / target)
    assert 6 in fw.waves_off and 1 not in fw.waves_off
    # regions are held by the design weights (planned over-sampling is undone): on target
    reg = fw.attainment[(fw.attainment["variable"] == "region")]
    assert not reg["off_target"].any()
    # per brand: Aurora's sample 35% business, competitors' 15-26%
    pb = fw.brands[(fw.brands["variable"] == "segment") & (fw.brands["level"] == "business")].set_index("brand")
    assert pb.loc["aurora", "share"] == pytest.approx(0.35, abs=0.01)
    assert pb.drop("aurora")["share"].between(0.12, 0.28).all()
    # a wider tolerance flags nothing
    wide = waves.fieldwork(demo[1], demo[0] / "margins.yaml", wave=6, weight="design_weight", brand_col="brand",
                           our_brand="aurora", tolerance=0.2)
    assert not len(wide.off_target)


def test_brands_at_one_mix_recover_the_planted_segment_gaps(raked_result, demo):
    _, res = raked_result
    truth = demo[3]["competitors"]
    bs = res.benchmark_std.set_index("brand")
    ref = bs.attrs["reference_mix"]
    assert ref == pytest.approx(demo[3]["frame"]["aurora_margins"]["segment"])  # Aurora's population mix
    for b in ("beacon", "cirrus", "delta"):
        planted = sum(ref[s] * g for s, g in truth[b]["segment_gap_vs_aurora"].items())
        assert abs(bs.loc[b, "diff"] - planted) < 3 * bs.loc[b, "diff_se"], b
    assert bs.loc["delta", "sig"] == "down"
    # the brands' samples differ in mix (Delta and Cirrus have fewer business customers)
    assert set(res.brands_differ) >= {"delta"}
    mix = res.brand_mix
    assert mix.groupby("brand")["share"].sum().round(10).eq(1).all()


def test_standardized_brand_se_is_that_of_fixed_shares(demo):
    _, tr, _, _ = demo
    six = tr[tr["wave"] == 6]
    ref = {"business": 0.2, "consumer_postpaid": 0.3, "consumer_prepaid": 0.5}
    bs = waves.benchmark_standardized(six, "nps", ours="aurora", by="segment", reference=ref,
                                      weight="design_weight").set_index("brand")
    cells = metrics.nps(six, "nps", weight="design_weight", by=["brand", "segment"])  # domains of one design
    for b in ("aurora", "delta"):
        seg = cells[cells["brand"] == b].set_index("segment")
        est = sum(ref[s] * seg.loc[s, "nps"] for s in ref)
        se = math.sqrt(sum((ref[s] * seg.loc[s, "se"]) ** 2 for s in ref))
        assert bs.loc[b, "std_est"] == pytest.approx(est, abs=1e-10)
        assert bs.loc[b, "std_se"] == pytest.approx(se, rel=1e-6)


def test_survivorship_stayers_se_is_the_domain_se(demo_result, demo):
    _, tr, od, _ = demo
    s = demo_result.survivorship
    linked = waves.link_odata(tr[tr["brand"].eq("aurora") & (tr["wave"] <= 6)], od)
    ch = pd.to_numeric(linked["churned_before_wave"], errors="coerce")
    stay = linked["wave"].eq(1) & ~(ch <= 6)
    dom = metrics.nps(linked.assign(_d=np.where(stay, "stay", "other")), "nps", weight="design_weight", by="_d")
    dom = dom.set_index("_d")
    assert s.beyond_churn["est_stayed"] == pytest.approx(dom.loc["stay", "nps"], abs=1e-10)
    assert s.beyond_churn["se_stayed"] == pytest.approx(dom.loc["stay", "se"], rel=1e-6)


def test_control_limit_centre_counts_the_waves_it_averages(demo_result):
    tr = demo_result.trend.set_index("wave")
    assert tr["centre_n"].tolist() == [0, 1, 2, 3, 3, 3]
    assert tr.loc[2, "centre"] == pytest.approx(tr.loc[1, "est"])
    assert tr.loc[3, "centre"] == pytest.approx(tr.loc[[1, 2], "est"].mean())
    ov = waves.control_limits(demo_result.trend.drop(columns=["centre", "centre_n"]), centre="overall")
    assert (ov["centre_n"] == 6).all()


def test_quota_attainment_and_mix_shares_by_hand():
    df = pd.DataFrame({"wave": [1] * 4 + [2] * 4, "g": list("aabb") + list("aaab"), "w": [1, 1, 1, 3] + [1] * 4})
    q = waves.quota_attainment(df, {"g": {"a": 2, "b": 2}}, weight="w").set_index(["wave", "level"])
    assert q.loc[(1, "a"), "share"] == pytest.approx(2 / 6) and q.loc[(1, "a"), "target"] == 0.5
    assert q.loc[(2, "a"), "attainment"] == pytest.approx(1.5) and q.loc[(2, "a"), "off_target"]
    assert q.loc[(1, "b"), "n"] == 2
    with pytest.raises(ParamsError, match="tolerance"):
        waves.quota_attainment(df, {"g": {"a": 1}}, tolerance=5)
