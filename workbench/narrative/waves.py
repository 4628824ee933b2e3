"""Words of the wave (tracking) report, written from results in English or Chinese.

Findings are sentences built from a :class:`workbench.waves.WaveAnalysis`: numbers, the direction
of a change and whether it is significant at the report's confidence level.  The ``*_table``
functions return the keyword arguments of :func:`workbench.report.table` (a display frame with
translated headers, number formats, caption and note), so a notebook shows a table with one
call::

    report.table(**story.trend_table(res, lang=ctx.lang, codebook=ctx.codebook))

Every visible word comes from ``workbench/data/i18n/waves.yaml`` (and the codebook's labels).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import fmt_num, fmt_pct, fmt_signed, join_list, level_label, t

__all__ = [
    "brand_name",
    "segment_name",
    "no_comparison",
    "reference_words",
    "sig_words",
    "scope_text",
    "key_findings",
    "kpi_table",
    "trend_table",
    "volatility_findings",
    "control_note",
    "kpi_trend_table",
    "kpi_findings",
    "segment_table",
    "segment_findings",
    "mix_findings",
    "decomposition_table",
    "components_table",
    "mix_note",
    "benchmark_table",
    "benchmark_findings",
    "xo_findings",
    "xo_table",
    "xo_segment_table",
    "survivorship_findings",
    "survivorship_table",
    "followup_text",
    "followup_table",
    "followup_sample",
    "weighting_text",
    "weights_table",
    "margins_table",
    "sensitivity_table",
    "sensitivity_findings",
    "method_notes",
]


# --------------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------------
def _nan(x):
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def brand_name(code, *, lang="en", codebook=None):
    """Display name of a brand code."""
    return level_label(codebook, "brand", code, lang)


def segment_name(res, code, *, lang="en", codebook=None):
    """Display name of a level of the mix column."""
    return level_label(codebook, res.mix_by, code, lang)


def _conf(res):
    return f"{100 * res.conf:g}"


def _alpha(res):
    return 1.0 - res.conf


def _minus(text):
    return text.replace("-", "−") if text.startswith("-") else text


def _pts(x):
    return _minus(fmt_num(float(x), 1)) if not _nan(x) else "–"


def _signed(x, digits=1):
    return fmt_signed(float(x), digits) if not _nan(x) else "–"


def _wave(res, w, lang):
    """``wave 6 (2026-06)``."""
    if w is None:
        return "–"
    p = res.periods.get(int(w))
    return t("waves.wave_period", lang, wave=int(w), period=p) if p else t("waves.wave_only", lang, wave=int(w))


def sig_words(p_val, *, conf=0.95, lang="en", flag=None):
    """``"significant at 95%"`` / ``"not significant at 95%"`` / ``"not tested: low base"``."""
    c = f"{100 * conf:g}"
    if flag == "no_test" or _nan(p_val):
        return t("waves.sig.no_test", lang)
    return t("waves.sig.yes" if p_val < 1 - conf else "waves.sig.no", lang, conf=c)


def _arrow(sig):
    return {"up": "▲", "down": "▼"}.get(sig, "")


def _cell(value, sig="", digits=1, flag="ok", signed=False):
    if _nan(value):
        return "–"
    text = _signed(value, digits) if signed else _minus(fmt_num(float(value), digits))
    mark = _arrow(sig)
    text = f"{text} {mark}" if mark else text
    return text + ("*" if flag not in ("ok", "", None) else "")


def _table(df, labels, formats=None, caption=None, note=None):
    return {"df": df, "labels": labels, "formats": formats or {}, "caption": caption, "note": note}


def no_comparison(res, lang="en"):
    """The sentence shown where a section needs an earlier wave and there is none."""
    return t("waves.msg.no_earlier", lang, wave=_wave(res, res.wave, lang))


def _message_table(res, lang, caption=None):
    return _table(pd.DataFrame({"message": [no_comparison(res, lang)]}), {"message": ""}, caption=caption)


def _sig_note(res, lang, low=False):
    parts = [t("sig.note", lang, conf=_conf(res))]
    if res.fdr:
        parts.append(t("waves.note.fdr", lang))
    if low:
        parts.append(t("lowbase.marker", lang))
    return " · ".join(parts)


def _seg_words(res, code, lang, codebook):
    """A segment's name inside a sentence (lower case in English: "business customers")."""
    name = segment_name(res, code, lang=lang, codebook=codebook)
    return name[:1].lower() + name[1:] if lang == "en" else name


def reference_words(res, lang="en"):
    """How the reference mix of the standardisation is described (``"the mix of 2026-01"``)."""
    spec = res.reference_mix_spec
    if isinstance(spec, dict):
        return t("waves.ref.target", lang)
    waves = sorted(w for w in res.periods) or [res.base_wave]
    upto = [w for w in waves if w <= res.wave] or waves
    if spec == "first":
        return t("waves.ref.first", lang, period=res.period(upto[0]))
    if spec == "last":
        return t("waves.ref.first", lang, period=res.period(res.wave))
    if spec == "pooled":
        return t("waves.ref.pooled", lang)
    return t("waves.ref.first", lang, period=res.period(int(spec)))


# --------------------------------------------------------------------------------------------
# executive summary
# --------------------------------------------------------------------------------------------
def scope_text(res, *, lang="en", codebook=None):
    """One paragraph: which wave, compared with what, weighting and confidence level."""
    parts = [t("waves.scope.wave", lang, wave=_wave(res, res.wave, lang),
               brand=brand_name(res.our_brand, lang=lang, codebook=codebook))]
    if res.ref_wave is not None:
        parts.append(t(f"waves.scope.compare.{res.compare_to}", lang, ref=_wave(res, res.ref_wave, lang)))
    if res.compare_requested == "year_ago" and res.compare_to != "year_ago":
        parts.append(t("waves.scope.no_year_ago", lang))
    parts.append(t(f"waves.scope.weighting.{res.weighting}", lang))
    parts.append(t("waves.scope.conf", lang, conf=_conf(res)))
    return " ".join(parts)


def _headline(res, lang, codebook):
    k = res.kpi("nps")
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    if res.ref_wave is None or _nan(k.get("diff")):
        return t("waves.find.headline_only", lang, brand=brand, nps=_pts(k["est"]), wave=_wave(res, res.wave, lang))
    key = "waves.find.headline_up" if k["diff"] > 0 else "waves.find.headline_down"
    if round(k["diff"], 1) == 0:
        key = "waves.find.headline_flat"
    return t(key, lang, brand=brand, nps=_pts(k["est"]), wave=_wave(res, res.wave, lang),
             diff=_pts(abs(k["diff"])), ref=_wave(res, res.ref_wave, lang),
             sig=sig_words(k["p_val"], conf=res.conf, lang=lang, flag=k.get("test_flag")))


def mix_findings(res, *, lang="en", codebook=None, decomposition=None):
    """Sentences on how much of the move since the base wave is composition (mix)."""
    dec = decomposition or res.decomposition
    if dec is None:
        return [no_comparison(res, lang)]
    total = dec.component("total")
    mix = dec.component("mix_mid")
    rate = dec.component("rate_mid")
    seg = dec.segments
    up = total["est"] >= 0
    change = t("waves.find.since_up" if up else "waves.find.since_down", lang,
               base=_wave(res, dec.base, lang), diff=_pts(abs(total["est"])), nps=_pts(dec.est_target),
               sig=sig_words(total["p_val"], conf=res.conf, lang=lang))
    # the segment whose change in share moved the total most (in the direction of the mix effect)
    sign = 1.0 if mix["est"] >= 0 else -1.0
    drive = seg.loc[(sign * seg["mix"]).idxmax()]
    direction = "toward" if drive["share_target"] > drive["share_base"] else "away"
    out = [change]
    same_sign = (mix["est"] >= 0) == up and abs(total["est"]) > 0
    if same_sign and abs(mix["est"]) >= 0.05:
        share = min(abs(mix["est"]) / abs(total["est"]), 9.99)
        out.append(t(f"waves.find.mix_{direction}", lang, mix=_pts(abs(mix["est"])), share=fmt_pct(share),
                     segment=_seg_words(res, drive[dec.by], lang, codebook),
                     s1=fmt_pct(drive["share_base"]), s2=fmt_pct(drive["share_target"]),
                     sig=sig_words(mix["p_val"], conf=res.conf, lang=lang)))
    else:
        out.append(t("waves.find.mix_small", lang, mix=_signed(mix["est"]),
                     sig=sig_words(mix["p_val"], conf=res.conf, lang=lang)))
    out.append(t("waves.find.like_for_like", lang, rate=_signed(rate["est"]),
                 sig=sig_words(rate["p_val"], conf=res.conf, lang=lang),
                 lo=_signed(rate["ci_low"]), hi=_signed(rate["ci_high"]), conf=_conf(res)))
    ref = res.decomposition_ref
    if decomposition is None and ref is not None and ref is not dec:
        out.append(t("waves.find.mix_ref", lang, ref=_wave(res, ref.base, lang), total=_signed(ref.total),
                     mix=_signed(ref.component("mix_mid")["est"]), rate=_signed(ref.component("rate_mid")["est"]),
                     sig=sig_words(ref.component("rate_mid")["p_val"], conf=res.conf, lang=lang)))
    return out


def _mix_sentence(res, lang, codebook):
    """The brief's headline sentence: change, its mix part and the like-for-like change."""
    dec = res.decomposition
    if dec is None:
        return None
    total, mix, rate = (dec.component(c) for c in ("total", "mix_mid", "rate_mid"))
    seg = dec.segments
    sign = 1.0 if mix["est"] >= 0 else -1.0
    drive = seg.loc[(sign * seg["mix"]).idxmax()]
    direction = "toward" if drive["share_target"] > drive["share_base"] else "away"
    up = total["est"] >= 0
    same = (mix["est"] >= 0) == up and abs(mix["est"]) >= 0.05
    key = ("waves.find.exec_mix_up" if up else "waves.find.exec_mix_down") if same else \
        ("waves.find.exec_nomix_up" if up else "waves.find.exec_nomix_down")
    return t(key, lang, base=_wave(res, dec.base, lang), diff=_pts(abs(total["est"])), nps=_pts(dec.est_target),
             sig=sig_words(total["p_val"], conf=res.conf, lang=lang), mix=_pts(abs(mix["est"])),
             mix_signed=_signed(mix["est"]),
             shift=t(f"waves.find.shift_{direction}", lang, segment=_seg_words(res, drive[dec.by], lang, codebook)),
             rate=_signed(rate["est"]), rate_sig=sig_words(rate["p_val"], conf=res.conf, lang=lang))


def volatility_findings(res, *, lang="en"):
    """Is the latest wave's NPS beyond the control limits?"""
    tr = res.trend
    row = tr[tr["wave"] == res.wave].iloc[0]
    if not row["signal"]:
        return [t("waves.find.vol_none", lang)]
    centre = t(f"waves.centre.{res.control_centre}", lang, k=res.control_k)
    out = [t(f"waves.find.vol_{row['signal']}", lang, wave=_wave(res, res.wave, lang), nps=_pts(row["est"]),
             centre=centre, c=_pts(row["centre"]), lo=_pts(row["lower_inner"]), hi=_pts(row["upper_inner"]))]
    beyond = tr[(tr["signal"].isin(["beyond_inner", "beyond_outer"])) & (tr["wave"] != res.wave)]
    if len(beyond):
        out.append(t("waves.find.vol_other", lang, waves=join_list([_wave(res, w, lang) for w in beyond["wave"]], lang)))
    else:
        out.append(t("waves.find.vol_all_within", lang))
    return out


def kpi_findings(res, *, lang="en"):
    """CSAT top-box and CES at the latest wave against the reference wave."""
    out = []
    for k in ("csat", "ces"):
        r = res.kpi(k)
        if not r:
            continue
        if k == "csat":
            value, diff = fmt_pct(r["est"]), _signed(100 * r["diff"]) if not _nan(r.get("diff")) else "–"
        else:
            value, diff = fmt_num(r["est"], 2), _signed(r["diff"], 2) if not _nan(r.get("diff")) else "–"
        out.append(t(f"waves.find.kpi_{k}", lang, value=value, diff=diff, ref=res.period(res.ref_wave),
                     sig=sig_words(r.get("p_val"), conf=res.conf, lang=lang, flag=r.get("test_flag"))))
    return out


def benchmark_findings(res, *, lang="en", codebook=None):
    """Where our brand stands against each competitor in the latest wave."""
    bm = res.benchmark
    ours = bm[bm["brand"] == res.our_brand].iloc[0]
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    comp = bm[bm["brand"] != res.our_brand]
    above = [brand_name(b, lang=lang, codebook=codebook) for b in comp[comp["sig"] == "up"]["brand"]]
    below = [brand_name(b, lang=lang, codebook=codebook) for b in comp[comp["sig"] == "down"]["brand"]]
    same = [brand_name(b, lang=lang, codebook=codebook) for b in comp[comp["sig"] == ""]["brand"]]
    leader = bm.loc[bm["est"].idxmax()]
    out = [t("waves.find.bench_rank", lang, brand=brand, nps=_pts(ours["est"]),
             rank=int((bm["est"] > ours["est"]).sum()) + 1, k=len(bm),
             leader=brand_name(leader["brand"], lang=lang, codebook=codebook), lnps=_pts(leader["est"]))]
    if above:
        out.append(t("waves.find.bench_above", lang, brands=join_list(above, lang), brand=brand))
    if below:
        out.append(t("waves.find.bench_below", lang, brands=join_list(below, lang), brand=brand))
    if same:
        out.append(t("waves.find.bench_same", lang, brands=join_list(same, lang), brand=brand, conf=_conf(res)))
    return out


def xo_findings(res, *, lang="en"):
    """Retention, spend and tickets of promoters against detractors."""
    if res.xo is None:
        return [t("waves.find.xo_none", lang)]
    tests = res.xo_tests.set_index("outcome")
    out = []
    if "retained_6m" in tests.index:
        r = tests.loc["retained_6m"]
        out.append(t("waves.find.xo_retention", lang, p=fmt_pct(r["est_high"]), d=fmt_pct(r["est_low"]),
                     diff=_pts(100 * r["diff"]), sig=sig_words(r["p_val"], conf=res.conf, lang=lang)))
    if "spend_6m" in tests.index:
        r = tests.loc["spend_6m"]
        out.append(t("waves.find.xo_spend", lang, p=fmt_num(r["est_high"], 0), d=fmt_num(r["est_low"], 0),
                     sig=sig_words(r["p_val"], conf=res.conf, lang=lang)))
    if "tickets_6m" in tests.index:
        r = tests.loc["tickets_6m"]
        out.append(t("waves.find.xo_tickets", lang, p=fmt_num(r["est_high"], 1), d=fmt_num(r["est_low"], 1),
                     sig=sig_words(r["p_val"], conf=res.conf, lang=lang)))
    return out


def survivorship_findings(res, *, lang="en", codebook=None):
    """The survivorship check in words: does NPS rise because detractors left?"""
    s = res.survivorship
    if s is None:
        return [no_comparison(res, lang) if res.decomposition is None else t("waves.find.xo_none", lang)]
    ch = s.churn.set_index("nps_group")
    base, latest = _wave(res, s.base_wave, lang), _wave(res, s.latest_wave, lang)
    out = []
    gap = s.churn_test
    key = "waves.find.surv_gap" if (not _nan(gap["p_val"]) and gap["p_val"] < _alpha(res) and gap["diff"] > 0) \
        else "waves.find.surv_no_gap"
    out.append(t(key, lang, base=base, latest=latest, d=fmt_pct(ch.loc["detractor", "est"]),
                 p=fmt_pct(ch.loc["promoter", "est"]), sig=sig_words(gap["p_val"], conf=res.conf, lang=lang)))
    eff = s.effect("total")
    out.append(t("waves.find.surv_potential", lang, base=base, latest=latest, eff=_signed(eff["est"]),
                 mix=_signed(s.effect("mix_mid")["est"]), rate=_signed(s.effect("rate_mid")["est"])))
    seg = s.shares.copy()
    if "share_latest" in seg.columns:
        seg["move"] = (seg["share_latest"] - seg["share_all"]).abs()
        top = seg.loc[seg["move"].idxmax()]
        out.append(t("waves.find.surv_mix", lang, segment=_seg_words(res, top["segment"], lang, codebook),
                     a=fmt_pct(top["share_all"]), s=fmt_pct(top["share_stayed"]), l=fmt_pct(top["share_latest"]),
                     latest=latest))
    verdict_key = f"waves.find.surv_verdict.{s.verdict}"
    out.append(t(verdict_key, lang, explained=_pts(s.explained), total=_pts(s.observed.get("total", float("nan"))),
                 share=fmt_pct(s.explained_share) if not _nan(s.explained_share) else "–"))
    return out


def key_findings(res, *, lang="en", codebook=None, followup_file=None):
    """The executive summary: one bullet per finding, written from the results."""
    out = [_headline(res, lang, codebook)]
    mix = _mix_sentence(res, lang, codebook)
    if mix:
        out.append(mix)
    out.append(volatility_findings(res, lang=lang)[0])
    kf = kpi_findings(res, lang=lang)
    if kf:
        out.append(" ".join(kf))
    out.append(" ".join(benchmark_findings(res, lang=lang, codebook=codebook)[:3]))
    if res.xo is not None:
        out.append(xo_findings(res, lang=lang)[0])
    if res.survivorship is not None:
        sf = survivorship_findings(res, lang=lang, codebook=codebook)
        out.append(sf[-1])
    if res.followup is not None:
        out.append(t("waves.find.followup", lang, n=f"{len(res.followup):,}", wave=_wave(res, res.wave, lang),
                     file=followup_file or "detractor_followup.csv"))
    return out


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
def _change_vs(res, d, cur, wave):
    """Difference of the KPI row ``cur`` against ``wave`` of the KPI table ``d`` and its mark."""
    from ..metrics import diff_test

    if wave is None or wave not in d.index or wave == res.wave:
        return np.nan, ""
    other = d.loc[wave]
    dt = diff_test(cur["est"], cur["se"], other["est"], other["se"], n_eff1=cur["n_eff"],
                   n_eff2=other["n_eff"], conf=res.conf, rule=res.rule).iloc[0]
    hit = not _nan(dt["p_val"]) and dt["p_val"] < _alpha(res)
    return dt["diff"], ("up" if hit and dt["diff"] > 0 else "down" if hit and dt["diff"] < 0 else "")


def kpi_table(res, *, lang="en"):
    """KPIs at a glance: latest, reference wave, change (arrow), change a year earlier (when that
    wave exists and is not the reference) and since the base wave."""
    rows = []
    low = False
    yoy = res.year_ago_wave if res.year_ago_wave not in (None, res.ref_wave) else None
    for k in dict.fromkeys(res.kpis["kpi"]):
        d = res.kpis[res.kpis["kpi"] == k].set_index("wave")
        cur = d.loc[res.wave]
        scale, digits = (100.0, 1) if k == "csat" else (1.0, 2 if k == "ces" else 1)
        ref = d.loc[res.ref_wave] if res.ref_wave in d.index else None
        low |= cur["base_flag"] != "ok"
        row = {
            "kpi": t(f"waves.kpi.{k}", lang),
            "latest": _cell(scale * cur["est"], digits=digits, flag=cur["base_flag"]),
            "ref": _cell(scale * ref["est"], digits=digits) if ref is not None else "–",
            "diff": _cell(scale * cur["diff"], cur["sig"], digits=digits, signed=True) if ref is not None else "–",
        }
        if yoy is not None:
            diff, sig = _change_vs(res, d, cur, yoy)
            row["yoy"] = _cell(scale * diff, sig, digits=digits, signed=True)
        diff, sig = _change_vs(res, d, cur, res.base_wave)
        row["since"] = _cell(scale * diff, sig, digits=digits, signed=True)
        row["n_eff"] = cur["n_eff"]
        rows.append(row)
    df = pd.DataFrame(rows)
    labels = {"kpi": t("waves.col.kpi", lang), "latest": res.period(res.wave),
              "ref": res.period(res.ref_wave) if res.ref_wave is not None else "–",
              "diff": t("waves.col.change_vs", lang, period=res.period(res.ref_wave)),
              "yoy": t("waves.col.change_vs", lang, period=res.period(yoy)),
              "since": t("waves.col.change_vs", lang, period=res.period(res.base_wave)),
              "n_eff": t("waves.col.n_eff", lang)}
    note = _sig_note(res, lang, low) + " · " + t("waves.note.kpi_units", lang)
    return _table(df, labels, {"n_eff": "int"}, caption=t("waves.cap.kpis", lang), note=note)


def _interval(lo, hi) -> str:
    """``"−3.1 – 7.4"``: a confidence interval with true minus signs and an en dash."""
    return f"{fmt_num(lo, 1)} – {fmt_num(hi, 1)}".replace("-", "−").replace(" − ", " – ")


def trend_table(res, *, lang="en"):
    """NPS per wave: estimate, CI, change vs reference (arrow), bases and the control-limit signal."""
    tr = res.trend.sort_values("wave")
    low = bool((tr["base_flag"] != "ok").any())
    df = pd.DataFrame({
        "period": [res.period(w) for w in tr["wave"]],
        "nps": [_cell(e, flag=f) for e, f in zip(tr["est"], tr["base_flag"])],
        "ci": [_interval(a, b) for a, b in zip(tr["ci_low"], tr["ci_high"])],
        "diff": [_cell(d, s, signed=True) for d, s in zip(tr["diff"], tr["sig"])],
        "p": tr["p_adj"],
        "n": tr["n"],
        "n_eff": tr["n_eff"],
        "signal": [t(f"waves.signal.{s}", lang) if s else "–" for s in tr["signal"]],
    })
    labels = {"period": t("waves.col.period", lang), "nps": t("waves.col.nps", lang),
              "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "diff": t(f"waves.col.change_{res.compare_to}", lang), "p": t("waves.col.p", lang),
              "n": t("waves.col.n", lang), "n_eff": t("waves.col.n_eff", lang),
              "signal": t("waves.col.signal", lang)}
    return _table(df, labels, {"p": "pval", "n": "int", "n_eff": "int"}, caption=t("waves.cap.trend", lang),
                  note=_sig_note(res, lang, low))


def control_note(res, *, lang="en"):
    """How the control limits are drawn."""
    return t("waves.note.control", lang, centre=t(f"waves.centre.{res.control_centre}", lang, k=res.control_k))


def kpi_trend_table(res, *, lang="en"):
    """NPS, CSAT top-box and CES per wave, with arrows against the reference wave."""
    piv = {}
    flags = False
    for k in dict.fromkeys(res.kpis["kpi"]):
        d = res.kpis[res.kpis["kpi"] == k].sort_values("wave")
        scale, digits = (100.0, 1) if k == "csat" else (1.0, 2 if k == "ces" else 1)
        piv[k] = [_cell(scale * e, s, digits=digits, flag=f) for e, s, f in zip(d["est"], d["sig"], d["base_flag"])]
        flags |= bool((d["base_flag"] != "ok").any())
        waves = d["wave"].tolist()
    df = pd.DataFrame({"period": [res.period(w) for w in waves], **piv})
    labels = {"period": t("waves.col.period", lang), **{k: t(f"waves.kpi.{k}", lang) for k in piv}}
    return _table(df, labels, caption=t("waves.cap.kpi_trend", lang),
                  note=_sig_note(res, lang, flags) + " · " + t(f"waves.note.arrows_{res.compare_to}", lang))


def segment_table(res, *, lang="en", codebook=None):
    """Latest wave by segment: NPS, change vs reference, vs the rest of the sample, share, bases."""
    seg = res.segments
    cur = seg[seg["wave"] == res.wave].set_index(res.mix_by)
    rest = res.segment_rest.set_index(res.mix_by)
    dec = res.decomposition
    share = dec.segments.set_index(dec.by)["share_target"] if dec is not None else None
    rows = []
    low = False
    for lv, r in cur.iterrows():
        rr = rest.loc[lv] if lv in rest.index else None
        low |= r["base_flag"] != "ok"
        rows.append({
            "segment": segment_name(res, lv, lang=lang, codebook=codebook),
            "nps": _cell(r["est"], flag=r["base_flag"]),
            "diff": _cell(r["diff"], r["sig"], signed=True),
            "rest": _cell(rr["diff"], rr["sig"], signed=True) if rr is not None else "–",
            "share": share.get(lv, np.nan) if share is not None else np.nan,
            "n": r["n"],
            "n_eff": r["n_eff"],
        })
    df = pd.DataFrame(rows)
    labels = {"segment": t("waves.col.segment", lang), "nps": t("waves.col.nps_at", lang, period=res.period(res.wave)),
              "diff": t(f"waves.col.change_{res.compare_to}", lang), "rest": t("waves.col.vs_rest", lang),
              "share": t("waves.col.share_sample", lang), "n": t("waves.col.n", lang),
              "n_eff": t("waves.col.n_eff", lang)}
    return _table(df, labels, {"share": "pct0", "n": "int", "n_eff": "int"}, caption=t("waves.cap.segments", lang),
                  note=_sig_note(res, lang, low))


def segment_findings(res, *, lang="en", codebook=None):
    """Which segments moved significantly, and which differ from the rest."""
    cur = res.segments[res.segments["wave"] == res.wave]
    moved = cur[cur["sig"] != ""]
    out = []
    if len(moved):
        out.append(t("waves.find.seg_moved", lang, segs=join_list(
            [f"{segment_name(res, r[res.mix_by], lang=lang, codebook=codebook)} ({_signed(r['diff'])})"
             for _, r in moved.iterrows()], lang)))
    else:
        out.append(t("waves.find.seg_none_moved", lang, ref=_wave(res, res.ref_wave, lang)))
    rest = res.segment_rest
    hi = rest[rest["sig"] == "up"]
    lo = rest[rest["sig"] == "down"]
    if len(hi) or len(lo):
        out.append(t("waves.find.seg_rest", lang,
                     hi=join_list([segment_name(res, v, lang=lang, codebook=codebook) for v in hi[res.mix_by]], lang) or "–",
                     lo=join_list([segment_name(res, v, lang=lang, codebook=codebook) for v in lo[res.mix_by]], lang) or "–"))
    return out


def decomposition_table(res, *, lang="en", codebook=None, decomposition=None):
    """Per segment: shares and NPS in both waves and the mix / rate / interaction contributions."""
    dec = decomposition or res.decomposition
    if dec is None:
        return _message_table(res, lang)
    s = dec.segments
    low = bool((s["base_flag"] != "ok").any())
    df = pd.DataFrame({
        "segment": [segment_name(res, v, lang=lang, codebook=codebook) + ("*" if f != "ok" else "")
                    for v, f in zip(s[dec.by], s["base_flag"])],
        "s1": s["share_base"], "s2": s["share_target"], "n1": s["est_base"], "n2": s["est_target"],
        "mix": s["mix"], "rate": s["rate"], "inter": s["interaction"],
    })
    total = {"segment": t("waves.col.total", lang), "s1": s["share_base"].sum(), "s2": s["share_target"].sum(),
             "n1": dec.est_base, "n2": dec.est_target, "mix": s["mix"].sum(), "rate": s["rate"].sum(),
             "inter": s["interaction"].sum()}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    p1, p2 = res.period(dec.base), res.period(dec.target)
    labels = {"segment": t("waves.col.segment", lang), "s1": t("waves.col.share_at", lang, period=p1),
              "s2": t("waves.col.share_at", lang, period=p2), "n1": t("waves.col.nps_at", lang, period=p1),
              "n2": t("waves.col.nps_at", lang, period=p2), "mix": t("waves.col.mix", lang),
              "rate": t("waves.col.rate", lang), "inter": t("waves.col.interaction", lang)}
    note = t("waves.note.decomposition", lang)
    if low:
        note += " · " + t("lowbase.marker", lang)
    return _table(df, labels, {"s1": "pct0", "s2": "pct0", "n1": "num1", "n2": "num1", "mix": "signed1",
                               "rate": "signed1", "inter": "signed1"},
                  caption=t("waves.cap.decomposition", lang, p1=p1, p2=p2), note=note)


def components_table(res, *, lang="en", decomposition=None):
    """The totals of the decomposition with SEs, intervals and p-values."""
    dec = decomposition or res.decomposition
    if dec is None:
        return _message_table(res, lang)
    sm = dec.summary.set_index("component")
    names = ["total", "mix_mid", "rate_mid", "mix", "rate", "interaction"]
    df = pd.DataFrame({
        "component": [t(f"waves.comp.{c}", lang) for c in names],
        "est": [sm.loc[c, "est"] for c in names],
        "se": [sm.loc[c, "se"] for c in names],
        "ci": [f"{_signed(sm.loc[c, 'ci_low'])} – {_signed(sm.loc[c, 'ci_high'])}" for c in names],
        "p": [sm.loc[c, "p_val"] for c in names],
        "sig": [t("waves.yes", lang) if sm.loc[c, "p_val"] < _alpha(res) else t("waves.no", lang) for c in names],
    })
    labels = {"component": t("waves.col.component", lang), "est": t("waves.col.points", lang),
              "se": t("waves.col.se", lang), "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "p": t("waves.col.p", lang), "sig": t("waves.col.sig", lang, conf=_conf(res))}
    return _table(df, labels, {"est": "signed1", "se": "num2", "p": "pval"},
                  caption=t("waves.cap.components", lang, p1=res.period(dec.base), p2=res.period(dec.target)),
                  note=t("waves.note.components", lang))


def mix_note(res, *, lang="en"):
    """How the mix adjustment is done (reference mix, fixed shares)."""
    return t("waves.note.mix", lang, ref=reference_words(res, lang))


def benchmark_table(res, *, lang="en", codebook=None):
    """Latest wave: brands with letters, NPS, CI, difference to ours (arrow) and letters."""
    bm = res.benchmark
    low = bool((bm["base_flag"] != "ok").any())
    df = pd.DataFrame({
        "brand": [f"{brand_name(b, lang=lang, codebook=codebook)}" for b in bm["brand"]],
        "letter": bm["letter"],
        "nps": [_cell(e, flag=f) for e, f in zip(bm["est"], bm["base_flag"])],
        "ci": [_interval(a, b) for a, b in zip(bm["ci_low"], bm["ci_high"])],
        "diff": [_cell(d, s, signed=True) for d, s in zip(bm["diff"], bm["sig"])],
        "letters": bm["sig_letters"],
        "n": bm["n"],
        "n_eff": bm["n_eff"],
    })
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    labels = {"brand": t("waves.col.brand", lang), "letter": t("waves.col.letter", lang),
              "nps": t("waves.col.nps", lang), "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "diff": t("waves.col.vs_ours", lang, brand=brand), "letters": t("waves.col.higher_than", lang),
              "n": t("waves.col.n", lang), "n_eff": t("waves.col.n_eff", lang)}
    note = t("waves.note.letters", lang, conf=_conf(res), brand=brand)
    if res.fdr:
        note += " · " + t("waves.note.fdr", lang)
    if low:
        note += " · " + t("lowbase.marker", lang)
    return _table(df, labels, {"n": "int", "n_eff": "int"},
                  caption=t("waves.cap.benchmark", lang, period=res.period(res.wave)), note=note)


def xo_table(res, *, lang="en"):
    """Retention, spend and tickets by NPS group (one row per group)."""
    xo = res.xo
    groups = ["promoter", "passive", "detractor"]
    rows = []
    for g in groups:
        row = {"group": t(f"waves.group.{g}", lang)}
        for oc in dict.fromkeys(xo["outcome"]):
            r = xo[(xo["outcome"] == oc) & (xo["nps_group"] == g)]
            if not len(r):
                row[oc] = "–"
                continue
            r = r.iloc[0]
            if oc == "retained_6m":
                row[oc] = f"{fmt_pct(r['est'], 1)} (±{100 * (r['ci_high'] - r['est']):.1f})"
            elif oc == "spend_6m":
                row[oc] = f"{fmt_num(r['est'], 0)} (±{r['ci_high'] - r['est']:.0f})"
            else:
                row[oc] = f"{fmt_num(r['est'], 2)} (±{r['ci_high'] - r['est']:.2f})"
            row["n"] = r["n"]
        rows.append(row)
    df = pd.DataFrame(rows)
    labels = {"group": t("waves.col.group", lang), "n": t("waves.col.n", lang),
              **{oc: t(f"waves.xo.{oc}", lang) for oc in dict.fromkeys(xo["outcome"])}}
    tests = res.xo_tests
    marks = "; ".join(
        f"{t(f'waves.xo.{r.outcome}', lang)}: {_diff_words(r, lang)} ({sig_words(r.p_val, conf=res.conf, lang=lang)})"
        for r in tests.itertuples())
    return _table(df, labels, {"n": "int"}, caption=t("waves.cap.xo", lang),
                  note=t("waves.note.xo", lang, conf=_conf(res), tests=marks))


def _diff_words(r, lang):
    if r.outcome == "retained_6m":
        return t("waves.diff_pp", lang, x=_signed(100 * r.diff))
    digits = 0 if r.outcome == "spend_6m" else 2
    return _signed(r.diff, digits)


def xo_segment_table(res, *, lang="en", codebook=None):
    """Retention by segment and NPS group."""
    xs = res.xo_segments
    col = res.mix_by
    rows = []
    low = False
    for lv in dict.fromkeys(xs[col]):
        row = {"segment": segment_name(res, lv, lang=lang, codebook=codebook)}
        for g in ("promoter", "passive", "detractor"):
            r = xs[(xs[col] == lv) & (xs["nps_group"] == g)]
            if len(r):
                r = r.iloc[0]
                low |= r["base_flag"] != "ok"
                row[g] = fmt_pct(r["est"], 1) + ("*" if r["base_flag"] != "ok" else "")
            else:
                row[g] = "–"
        sub = xs[xs[col] == lv]
        row["n"] = int(sub["n"].sum())
        rows.append(row)
    df = pd.DataFrame(rows)
    labels = {"segment": t("waves.col.segment", lang), "n": t("waves.col.n", lang),
              **{g: t(f"waves.group.{g}", lang) for g in ("promoter", "passive", "detractor")}}
    note = t("lowbase.marker", lang) if low else None
    return _table(df, labels, {"n": "int"}, caption=t("waves.cap.xo_segments", lang), note=note)


def survivorship_table(res, *, lang="en", codebook=None):
    """Survivorship check: what churn alone does to the base wave against the observed change."""
    s = res.survivorship
    if s is None:
        return _message_table(res, lang)
    names = ["total", "mix_mid", "rate_mid"]
    eff = s.churn_effect.set_index("component")
    obs = s.observed
    df = pd.DataFrame({
        "component": [t(f"waves.comp.{c}", lang) for c in names],
        "churn": [eff.loc[c, "est"] for c in names],
        "churn_ci": [f"{_signed(eff.loc[c, 'ci_low'])} – {_signed(eff.loc[c, 'ci_high'])}" for c in names],
        "observed": [obs.get(c, np.nan) for c in names],
        "obs_sig": [sig_words(obs.get(c + "_p"), conf=res.conf, lang=lang) for c in names],
    })
    labels = {"component": t("waves.col.component", lang),
              "churn": t("waves.col.churn_effect", lang, base=res.period(s.base_wave), latest=res.period(s.latest_wave)),
              "churn_ci": t("waves.col.ci", lang, conf=_conf(res)),
              "observed": t("waves.col.observed", lang, base=res.period(s.base_wave), latest=res.period(s.latest_wave)),
              "obs_sig": t("waves.col.sig", lang, conf=_conf(res))}
    return _table(df, labels, {"churn": "signed1", "observed": "signed1"}, caption=t("waves.cap.survivorship", lang),
                  note=t("waves.note.survivorship", lang, base=res.period(s.base_wave), latest=res.period(s.latest_wave)))


def followup_text(res, *, lang="en", file="detractor_followup.csv"):
    """What the follow-up list holds and where it is."""
    fl = res.followup
    n_verb = int((fl["verbatim"].astype(str).str.len() > 0).sum()) if "verbatim" in fl.columns else 0
    return t("waves.followup.text", lang, n=f"{len(fl):,}", wave=_wave(res, res.wave, lang), file=file,
             verb=f"{n_verb:,}")


def followup_table(res, *, lang="en", codebook=None):
    """Detractors to follow up, by segment (counts and share with a verbatim)."""
    fl = res.followup
    col = res.mix_by
    rows = []
    for lv, grp in fl.groupby(col, sort=True):
        has = grp["verbatim"].astype(str).str.len() > 0 if "verbatim" in grp.columns else pd.Series(False, index=grp.index)
        rows.append({"segment": segment_name(res, lv, lang=lang, codebook=codebook), "n": len(grp),
                     "zero_to_three": int((grp["nps"] <= 3).sum()), "verbatim": float(has.mean())})
    has_all = fl["verbatim"].astype(str).str.len() > 0 if "verbatim" in fl.columns else pd.Series(False, index=fl.index)
    rows.append({"segment": t("waves.col.total", lang), "n": len(fl), "zero_to_three": int((fl["nps"] <= 3).sum()),
                 "verbatim": float(has_all.mean()) if len(fl) else np.nan})
    df = pd.DataFrame(rows)
    labels = {"segment": t("waves.col.segment", lang), "n": t("waves.col.detractors", lang),
              "zero_to_three": t("waves.col.score_0_3", lang), "verbatim": t("waves.col.with_verbatim", lang)}
    return _table(df, labels, {"n": "int", "zero_to_three": "int", "verbatim": "pct0"},
                  caption=t("waves.cap.followup", lang, period=res.period(res.wave)))


def followup_sample(res, *, lang="en", codebook=None, k=8):
    """The first ``k`` entries of the list, without contact data (id, segment, score, verbatim)."""
    fl = res.followup
    has = fl[fl["verbatim"].astype(str).str.len() > 0] if "verbatim" in fl.columns else fl
    sample = has.head(k)
    df = pd.DataFrame({
        "id": sample.iloc[:, 0].astype(str),
        "segment": [segment_name(res, v, lang=lang, codebook=codebook) for v in sample[res.mix_by]],
        "score": sample["nps"],
        "verbatim": sample["verbatim"] if "verbatim" in sample.columns else "",
    })
    labels = {"id": t("waves.col.resp_id", lang), "segment": t("waves.col.segment", lang),
              "score": t("waves.col.score", lang), "verbatim": t("waves.col.verbatim", lang)}
    return _table(df, labels, {"score": "int"}, caption=t("waves.cap.followup_sample", lang, k=len(df)),
                  note=t("waves.note.followup_sample", lang))


def weighting_text(ww, *, lang="en"):
    """Which weights the report uses and how the raked weights were made."""
    trim = t("waves.weights.trim", lang, x=f"{ww.trim_upper:g}") if ww.trim_upper else t("waves.weights.no_trim", lang)
    return t(f"waves.weights.text.{ww.method}", lang, trim=trim)


def weights_table(ww, res, *, lang="en"):
    """Efficiency of the weights per wave (our brand): n, design deff, raked n_eff and deff, range."""
    dg = ww.diagnostics
    df = pd.DataFrame({
        "period": [res.period(w) for w in dg["wave"]], "n": dg["n"], "deff_design": dg["deff_design"],
        "n_eff": dg["n_eff"], "deff": dg["deff"], "min": dg["min"], "max": dg["max"], "trimmed": dg["trimmed"],
    })
    labels = {"period": t("waves.col.period", lang), "n": t("waves.col.n", lang),
              "deff_design": t("waves.col.deff_design", lang), "n_eff": t("waves.col.n_eff_raked", lang),
              "deff": t("waves.col.deff_raked", lang), "min": t("waves.col.w_min", lang),
              "max": t("waves.col.w_max", lang), "trimmed": t("waves.col.trimmed", lang)}
    return _table(df, labels, {"n": "int", "deff_design": "num3", "n_eff": "int", "deff": "num3", "min": "num2",
                               "max": "num2", "trimmed": "int"},
                  caption=t("waves.cap.weights", lang), note=t("waves.note.weights", lang))


def margins_table(margins, *, lang="en", codebook=None, period=""):
    """Weighted shares against the raking targets (from :func:`workbench.waves.margin_table`)."""
    df = pd.DataFrame({
        "variable": [(codebook.label(v, lang) if codebook is not None and v in codebook else v) for v in margins["variable"]],
        "level": [level_label(codebook, v, lv, lang) for v, lv in zip(margins["variable"], margins["level"])],
        "target": margins["target"], "design": margins["design"], "raked": margins["raked"],
    })
    labels = {"variable": t("waves.col.variable", lang), "level": t("waves.col.level", lang),
              "target": t("waves.col.target", lang), "design": t("waves.col.design_w", lang),
              "raked": t("waves.col.raked_w", lang)}
    return _table(df, labels, {"target": "pct1", "design": "pct1", "raked": "pct1"},
                  caption=t("waves.cap.margins", lang, period=period))


def sensitivity_table(sens, res, *, lang="en"):
    """NPS of the base and latest wave and the change, under each weighting."""
    df = pd.DataFrame({
        "weighting": [t(f"waves.weighting.{w}", lang) for w in sens["weighting"]],
        "base": sens["est_base"], "latest": sens["est"],
        "diff": [_cell(d, s, signed=True) for d, s in zip(sens["diff"], sens["sig"])],
        "p": sens["p_val"], "n_eff": sens["n_eff"],
    })
    labels = {"weighting": t("waves.col.weighting", lang), "base": t("waves.col.nps_at", lang, period=res.period(res.base_wave)),
              "latest": t("waves.col.nps_at", lang, period=res.period(res.wave)), "diff": t("waves.col.change", lang),
              "p": t("waves.col.p", lang), "n_eff": t("waves.col.n_eff_latest", lang)}
    return _table(df, labels, {"base": "num1", "latest": "num1", "p": "pval", "n_eff": "int"},
                  caption=t("waves.cap.sensitivity", lang), note=_sig_note(res, lang))


def sensitivity_findings(sens, res, *, lang="en"):
    """What raking to the population mix does to the change since the base wave."""
    s = sens.set_index("weighting")
    if res.base_wave == res.wave:
        return [no_comparison(res, lang)]
    if not {"design", "raked"} <= set(s.index):
        return []
    d, r = s.loc["design"], s.loc["raked"]
    return [t("waves.find.sensitivity", lang, base=_wave(res, res.base_wave, lang), d=_signed(d["diff"]),
              r=_signed(r["diff"]), dsig=sig_words(d["p_val"], conf=res.conf, lang=lang),
              rsig=sig_words(r["p_val"], conf=res.conf, lang=lang))]


def method_notes(res, *, lang="en"):
    """Bullets on how the numbers were made (tests, multiplicity, low bases, mix, limits)."""
    keys = ["waves.method.design", "waves.method.tests", "waves.method.fdr_on" if res.fdr else "waves.method.fdr_off",
            "waves.method.lowbase", "waves.method.mix", "waves.method.control", "waves.method.xo",
            "waves.method.survivorship"]
    return [t(k, lang, conf=_conf(res), caution=f"{res.rule.caution:g}", min_test=f"{res.rule.min_test:g}",
              centre=t(f"waves.centre.{res.control_centre}", lang, k=res.control_k), ref=reference_words(res, lang))
            for k in keys]
