"""Tests of workbench.synth: determinism, publishing, and that the data carry the planted truth.

The data are generated with a fixed seed, so every check is deterministic; the tolerances are
nevertheless sampling-based (a few standard errors) so that they hold for any seed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.codebook import bundled_codebook_path, load_codebook
from workbench.errors import DataError
from workbench.io import mask_pii, read_survey
from workbench.synth import DEFAULT_SEED, _gaps_module, demo_dir, load_truth, make_demo


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_demo(tmp_path_factory.mktemp("synth") / "demo")


@pytest.fixture(scope="module")
def truth(study):
    return load_truth(study)


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


@pytest.fixture(scope="module")
def tracking(study, cb):
    return read_survey(study / "tracking.csv", cb)


@pytest.fixture(scope="module")
def odata(study, cb):
    return read_survey(study / "odata.csv", cb)


def nps(scores):
    s = scores.dropna().to_numpy()
    return 100 * (np.mean(s >= 9) - np.mean(s <= 6))


def nps_se(scores):
    """SE (points) of an unweighted NPS: sqrt((p + d - (p - d)^2) / n)."""
    s = scores.dropna().to_numpy()
    p, d = np.mean(s >= 9), np.mean(s <= 6)
    return 100 * np.sqrt((p + d - (p - d) ** 2) / len(s))


# ---- determinism and publishing --------------------------------------------------------------------
def test_same_seed_byte_identical(tmp_path):
    a = make_demo(tmp_path / "a", size=0.05)
    b = make_demo(tmp_path / "b", size=0.05)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = make_demo(tmp_path / "c", seed=DEFAULT_SEED + 1, size=0.05)
    assert (c / "tracking.csv").read_bytes() != (a / "tracking.csv").read_bytes()


def test_files_written(study):
    names = {p.name for p in study.iterdir()}
    assert {"frame.parquet", "penetration.csv", "tracking.csv", "margins.yaml", "odata.csv",
            "truth.json", "codebook.yaml", "VERSION"} <= names
    assert not [n for n in names if n.startswith(".")]
    assert (study / "codebook.yaml").read_bytes() == bundled_codebook_path("demo").read_bytes()


def test_make_demo_replaces_old_demo_but_not_other_folders(tmp_path):
    out = make_demo(tmp_path / "d", size=0.05)
    (out / "stale.txt").write_text("x")
    make_demo(out, size=0.05)
    assert not (out / "stale.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["d"]           # no build or trash folders left
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(DataError, match="not a demo study folder"):
        make_demo(other, size=0.05)
    assert (other / "notes.txt").read_text() == "keep"
    with pytest.raises(DataError, match="size must be in"):
        make_demo(tmp_path / "e", size=2)
    assert sorted(os.listdir(tmp_path)) == ["d", "mine"]


def test_demo_dir_generates_caches_and_regenerates(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    folder = demo_dir()
    assert folder == tmp_path / "demo"
    stamp = (folder / "tracking.csv").stat().st_mtime_ns
    assert demo_dir() == folder
    assert (folder / "tracking.csv").stat().st_mtime_ns == stamp   # cached, not rebuilt
    (folder / "VERSION").write_text("generator 0\n")                   # stale marker
    demo_dir()
    assert (folder / "VERSION").read_text().startswith("workbench demo study")
    assert load_truth()["seed"] == DEFAULT_SEED
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith(".demo.lock")) == ["demo"]


def test_demo_dir_concurrent_processes(tmp_path):
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path)}
    code = "from workbench.synth import demo_dir; print(demo_dir())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert {Path(o[0].strip()) for o in outs} == {tmp_path / "demo"}
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith(".demo.lock")) == ["demo"]
    truth = json.loads((tmp_path / "demo" / "truth.json").read_text())
    assert truth["generator_version"]


# ---- the data validate ---------------------------------------------------------------------------------
def test_every_dataset_validates(study, cb):
    checked = []
    for name, ds in cb.datasets.items():
        if name in ("servqual", "mgmt_survey") and _gaps_module() is None:
            continue
        df = read_survey(study / ds.file, cb, name)
        assert len(df) > 0
        checked.append(name)
    assert {"frame", "penetration", "tracking", "odata"} <= set(checked)


def test_gaps_files_when_generator_present(study, truth):
    if _gaps_module() is None:
        pytest.skip("workbench._synth_gaps not installed")
    assert (study / "servqual.csv").exists() and (study / "mgmt_survey.csv").exists()
    assert "gaps" in truth


# ---- design ------------------------------------------------------------------------------------------------
def test_sizes_and_ids(tracking, truth):
    n = tracking.groupby(["brand", "wave"]).size().unstack()
    assert n.loc["aurora"].between(970, 1000).all()
    assert n.loc[["beacon", "cirrus", "delta"]].stack().between(475, 500).all()
    assert truth["study"]["n"]["aurora"] == n.loc["aurora"].tolist()
    assert tracking["wave"].tolist() == sorted(tracking["wave"])
    assert set(tracking["period"]) == {f"2026-0{w}" for w in range(1, 7)}
    aur = tracking["brand"] == "aurora"
    assert tracking.loc[aur, "customer_id"].notna().all()
    assert tracking.loc[~aur, "customer_id"].isna().all()


def test_frame_penetration_and_margins(study, cb, truth):
    frame = read_survey(study / "frame.parquet", cb)
    assert len(frame) == 200_000 == truth["study"]["frame_units"]
    pen = read_survey(study / "penetration.csv", cb)
    counts = frame.groupby(["region", "brand"]).size()
    for row in pen.itertuples():
        assert row.category_users == (frame["region"] == row.region).sum()
        # penetration written with 8 decimals
        assert row.penetration == pytest.approx(counts[(row.region, row.brand)] / row.category_users,
                                                abs=5e-9)
    # brand shares differ by region as planted (aurora leads in the west, beacon in the south)
    shares = pen.pivot(index="region", columns="brand", values="penetration")
    assert shares.loc["west", "aurora"] > shares.loc["south", "aurora"] + 0.05
    assert shares.loc["south", "beacon"] > shares.loc["south", "aurora"]
    margins = yaml.safe_load((study / "margins.yaml").read_text(encoding="utf-8"))
    aur = frame[frame["brand"] == "aurora"]
    for col, shares_ in margins.items():
        assert sum(shares_.values()) == pytest.approx(1, abs=1e-12)
        for level, share in shares_.items():
            assert share == pytest.approx(np.mean(aur[col] == level), abs=1e-12)


def test_design_weights(study, cb, tracking):
    frame = read_survey(study / "frame.parquet", cb)
    pop = frame[frame["brand"] != "other"].groupby(["brand", "region"]).size()
    for _, wave in tracking.groupby("wave"):
        assert wave["design_weight"].mean() == pytest.approx(1, abs=1e-7)
        weighted = wave.groupby(["brand", "region"])["design_weight"].sum() / len(wave)
        assert np.allclose(weighted.sort_index(), (pop / pop.sum()).sort_index(), atol=1e-6)
    # aurora is boosted: its sample share is above its population share (weights below 1)
    w1 = tracking[tracking["wave"] == 1]
    aurora_pop = pop["aurora"].sum() / pop.sum()
    assert np.mean(w1["brand"] == "aurora") > aurora_pop + 0.05
    assert w1.loc[w1["brand"] == "aurora", "design_weight"].mean() < 0.9
    assert tracking.groupby(["brand", "region"])["design_weight"].mean().std() > 0.1


def test_missing_codes_only_in_driver_items(study, truth):
    raw = pd.read_csv(study / "tracking.csv")
    drivers = truth["missing"]["driver_items"]
    coded = raw[drivers].isin([98, 99]).to_numpy().mean()
    assert coded == pytest.approx(0.04, abs=0.004)       # 3 % + 1 %; SE ~ 0.0005
    assert (raw[drivers] == 99).to_numpy().mean() > (raw[drivers] == 98).to_numpy().mean()
    others = ["nps", "csat", "ces", "sat1", "sat2", "sat3"]
    assert not raw[others].isin([98, 99]).any().any()


def test_pii_columns_present_and_maskable(study, cb, tracking):
    frame = read_survey(study / "frame.parquet", cb)
    assert frame["phone"].is_unique
    assert tracking["email"].dropna().str.endswith("@example.com").all()
    assert (mask_pii(tracking, cb)["email"].dropna() == "***").all()


# ---- planted NPS structure ---------------------------------------------------------------------------------
def test_aurora_business_share_rises(tracking, truth):
    aur = tracking[tracking["brand"] == "aurora"]
    share = aur.groupby("wave")["segment"].apply(lambda s: np.mean(s == "business"))
    assert share.iloc[0] == pytest.approx(0.20, abs=0.01)
    assert share.iloc[-1] == pytest.approx(0.35, abs=0.01)
    assert share.is_monotonic_increasing
    assert truth["nps"]["segment_share"]["aurora"]["business"] == pytest.approx(share.tolist())


def test_brand_ordering(tracking, truth):
    pooled = tracking.groupby("brand")["nps"].apply(nps)
    assert pooled["beacon"] > pooled["aurora"] + 5 > pooled["delta"] + 5
    assert abs(pooled["cirrus"] - pooled["aurora"]) < 5
    seg = truth["nps"]["segment_nps"]
    for s in seg["aurora"]:
        assert seg["beacon"][s][0] > seg["aurora"][s][0] > seg["delta"][s][0]
        assert abs(seg["cirrus"][s][0] - seg["aurora"][s][0]) <= 1 + 1e-9


def test_truth_segment_nps_flat_except_planted_change(truth):
    seg = truth["nps"]["segment_nps"]
    planted = truth["nps"]["planted_change"]
    for brand, by_seg in seg.items():
        for s, values in by_seg.items():
            assert values[0] == pytest.approx(truth["nps"]["target_segment_nps"][brand][s], abs=1e-9)
            if (brand, s) == (planted["brand"], planted["segment"]):
                assert values[:5] == pytest.approx([values[0]] * 5, abs=1e-9)
                assert values[5] - values[4] == pytest.approx(5.0, abs=1e-9)
            else:
                assert values == pytest.approx([values[0]] * 6, abs=1e-9)


def test_observed_segment_nps_matches_truth(tracking, truth):
    seg = truth["nps"]["segment_nps"]
    for (brand, s), g in tracking.groupby(["brand", "segment"]):
        early = g[g["wave"] <= 5]["nps"]
        assert abs(nps(early) - seg[brand][s][0]) < 3 * nps_se(early), (brand, s)
    post6 = tracking[(tracking["brand"] == "aurora") & (tracking["segment"] == "consumer_postpaid")
                     & (tracking["wave"] == 6)]["nps"]
    assert abs(nps(post6) - seg["aurora"]["consumer_postpaid"][5]) < 3 * nps_se(post6)


def test_planted_change_shows_in_service_items(tracking, truth):
    post = tracking[(tracking["brand"] == "aurora") & (tracking["segment"] == "consumer_postpaid")]
    srv = post[["srv1", "srv2", "srv3"]].mean(axis=1)
    prd = post[["prd1", "prd2", "prd3"]].mean(axis=1)
    late, early = post["wave"] == 6, post["wave"] <= 5
    assert srv[late].mean() - srv[early].mean() > 0.25     # ~0.4 SD latent shift
    assert abs(prd[late].mean() - prd[early].mean()) < 0.15
    assert truth["nps"]["planted_change"]["driver_mean_shift"] > 0.3


def test_headline_nps_follows_expected_and_mix_split(tracking, truth):
    aur = tracking[tracking["brand"] == "aurora"]
    expected = truth["nps"]["expected_nps"]["aurora"]
    for w, g in aur.groupby("wave"):
        assert abs(nps(g["nps"]) - expected[w - 1]) < 3 * nps_se(g["nps"])
    mr = truth["nps"]["mix_rate"]
    assert mr["mix_midpoint"] + mr["rate_midpoint"] == pytest.approx(mr["total"], abs=1e-9)
    assert mr["mix_base_rates"] + mr["rate_end_shares"] == pytest.approx(mr["total"], abs=1e-9)
    assert mr["total"] > 4 and mr["mix_midpoint"] > 2 * mr["rate_midpoint"] > 0
    pop = truth["nps"]["aurora_population_mix_nps"]
    assert pop[5] - pop[0] == pytest.approx(
        5 * truth["nps"]["aurora_population_segment_share"]["consumer_postpaid"], abs=1e-9)


# ---- SEM -------------------------------------------------------------------------------------------------------
def test_sem_truth_is_consistent(truth):
    sem = truth["sem"]
    assert sem["paths"]["SAT~PRD"] == 0.35 and sem["paths"]["LOY~SAT"] == 0.6
    assert all(0.7 <= v <= 0.9 for v in sem["loadings"].values())
    assert 0.5 < sem["r2"]["SAT"] < 0.7
    corr = sem["driver_corr"].values()
    assert all(0.3 <= r <= 0.5 for r in corr)
    pooled = sem["pooled_std"]["aurora"]
    for key, value in sem["paths"].items():
        assert pooled["paths"][key] == pytest.approx(value, abs=0.03)


def test_item_correlations_follow_loadings(tracking, truth):
    """Pearson r of two items of a construct ~ product of pooled std loadings, attenuated a
    little by cutting the latent response into 7 points (tolerance 0.08 for that)."""
    aur = tracking[tracking["brand"] == "aurora"]
    lam = truth["sem"]["pooled_std"]["aurora"]["loadings"]
    for a, b in [("prd1", "prd2"), ("srv1", "srv3"), ("val1", "val2"), ("dig1", "dig2"),
                 ("sat1", "sat2")]:
        r = aur[[a, b]].dropna().corr().iloc[0, 1]
        assert r == pytest.approx(lam[a] * lam[b], abs=0.08), (a, b)
        assert r < lam[a] * lam[b] + 0.02


def test_satisfaction_regression_recovers_driver_order(tracking):
    """OLS of the SAT item mean on the driver item means: PRD > SRV > VAL > DIG as planted."""
    cols = {d: [f"{d}{i}" for i in (1, 2, 3)] for d in ("prd", "srv", "val", "dig", "sat")}
    means = pd.DataFrame({d: tracking[c].mean(axis=1, skipna=False) for d, c in cols.items()})
    means = means.dropna()
    z = (means - means.mean()) / means.std()
    x = np.column_stack([np.ones(len(z)), z[["prd", "srv", "val", "dig"]]])
    beta = np.linalg.lstsq(x, z["sat"], rcond=None)[0][1:]
    assert list(np.argsort(-beta)) == [0, 1, 2, 3]


# ---- O-data ---------------------------------------------------------------------------------------------------
def test_odata_links_and_relationships(tracking, odata, truth):
    aur = tracking[tracking["brand"] == "aurora"]
    assert set(aur["customer_id"]) <= set(odata["customer_id"])
    assert len(odata) - len(aur) == truth["odata"]["non_respondents"] > 0
    m = aur.merge(odata, on="customer_id", validate="one_to_one")
    group = np.where(m["nps"] >= 9, "promoter", np.where(m["nps"] <= 6, "detractor", "passive"))
    ret = m.groupby(group)["retained_6m"].mean()
    tickets = m.groupby(group)["tickets_6m"].mean()
    assert ret["promoter"] > ret["passive"] > ret["detractor"]
    assert tickets["detractor"] > tickets["passive"] > tickets["promoter"]
    by = truth["odata"]["by_nps_group"]
    for g in ("detractor", "passive", "promoter"):
        n = np.sum(group == g)
        p = by[g]["retention"]
        assert abs(ret[g] - p) < 3 * np.sqrt(p * (1 - p) / n), g
    churned = m["retained_6m"] == 0
    assert m.loc[churned, "churn_month"].between(1, 6).all()
    assert m.loc[~churned, "churn_month"].isna().all()
    assert m.loc[~churned, "churned_before_wave"].isna().all()
    assert (m["ref_period"] == m["period"]).all()


def test_survivorship_early_detractors_churned(tracking, odata, truth):
    w1 = tracking[(tracking["brand"] == "aurora") & (tracking["wave"] == 1)].merge(
        odata, on="customer_id")
    gone = w1["churned_before_wave"].le(6).fillna(False)
    det, pro = gone[w1["nps"] <= 6].mean(), gone[w1["nps"] >= 9].mean()
    assert det > 2 * pro
    expected = truth["odata"]["by_nps_group"]["detractor"]["churn_before_wave6_given_wave1"]
    n = int((w1["nps"] <= 6).sum())
    assert abs(det - expected) < 3 * np.sqrt(expected * (1 - expected) / n)
