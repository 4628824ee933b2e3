"""Key findings and tables of the key-driver report, written from results in English or Chinese.

Every concept comes from the study: outcome names are the codebook's labels of the model's
variables, brand and wave words appear only when the dataset has those roles, scales are the
codebook's.  Nothing here computes a statistic: the ranking, significance, the guards and the
recommendations are decided in :func:`workbench.drivers.key_driver_analysis` and only worded here.

Table builders return the keyword arguments of :func:`workbench.report.table`: numbers as numbers
with named formats and translated headers, significance in a ``sig`` frame (``"up"``/``"down"``)
and low bases in a ``base_flags`` frame, so the notebook shows each table with one call and
every output format draws the marks itself.
"""

from __future__ import annotations

import sys
import traceback

import numpy as np
import pandas as pd

from ..drivers import CALLS, FIT_THRESHOLDS
from . import fmt_num, fmt_p, fmt_pct, fmt_signed, join_list, level_label, md_escape, t

__all__ = [
    "label",
    "intro",
    "base_what",
    "used_text",
    "key_findings",
    "check_lines",
    "model_heading",
    "groups_heading",
    "fit_table",
    "added_paths_text",
    "mi_table",
    "measurement_table",
    "paths_table",
    "effects_table",
    "no_loyalty_note",
    "views_table",
    "views_note",
    "ipma_table",
    "ipma_note",
    "action_items",
    "group_table",
    "group_notes",
    "method_text",
    "problem_notes",
    "section_failed",
]


def label(codebook, code: str, lang: str) -> str:
    """A construct's or question's label, falling back to its code."""
    try:
        return codebook.label(code, lang)
    except Exception:  # codes without a label show as they are
        return code


def _md(codebook, code: str, lang: str) -> str:
    """A label for Markdown text (findings, headings): its markup characters shown as typed."""
    return md_escape(label(codebook, code, lang))


def _names(codebook, codes, lang, md: bool = False) -> str:
    name = _md if md else label
    return join_list([name(codebook, c, lang) for c in codes], lang)


def _conf(kda) -> str:
    return fmt_pct(kda.conf)


def _brand(kda, codebook, lang) -> str:
    """The brand selected, as its label; "" when the study has no brands or all are kept."""
    if kda.brand is None or kda.brand_col is None:
        return ""
    return level_label(codebook, kda.brand_col, kda.brand, lang)


def intro(kda, codebook, lang: str) -> str:
    """What the report models, in the study's own terms."""
    brand = md_escape(_brand(kda, codebook, lang))
    who = t("drivers.who.brand", lang, brand=brand) if brand else t("drivers.who.all", lang)
    sat = _md(codebook, kda.satisfaction, lang)
    parts = [t("drivers.intro", lang, n=len(kda.drivers), sat=sat, who=who)]
    if kda.successors:
        names = [_md(codebook, v, lang) + (t("drivers.nps_question", lang) if _is_nps(codebook, v) else "")
                 for v in kda.successors]
        parts.append(t("drivers.intro.outcomes", lang, sat=sat, outcomes=join_list(names, lang)))
    parts.append(t("drivers.intro.sem", lang))
    return _sentences(parts, lang)


def _sentences(parts, lang) -> str:
    return ("" if lang == "zh" else " ").join(parts)


def _is_nps(codebook, code) -> bool:
    """Whether ``code`` is the study's recommendation (NPS) question, per the codebook."""
    try:
        return code in codebook and codebook.question(code).type == "nps"
    except Exception:  # not a question (a construct)
        return False


def base_what(kda, codebook, lang: str) -> str:
    """Who the charts are based on: the brand's customers (when one is selected) and the wave
    (only when the study has waves)."""
    brand = _brand(kda, codebook, lang)
    who = t("drivers.base.brand", lang, brand=brand) if brand else t("base.all", lang)
    if kda.wave_col is None:
        return who
    scope = (t("drivers.scope.wave", lang, wave=kda.wave) if kda.wave is not None
             else t("drivers.scope.all", lang))
    return t("drivers.base.scoped", lang, who=who, scope=scope)


def used_text(kda, lang: str) -> str:
    res = kda.sem
    rows = res.n + res.n_dropped
    fiml = getattr(res, "missing", "listwise") == "fiml"
    key = ("drivers.used.fiml" if fiml and res.n_dropped else "drivers.used.all" if res.n_dropped == 0
           else "drivers.used")
    text = t(key, lang, used=res.n, rows=rows, dropped=res.n_dropped,
             share=fmt_pct(res.n_dropped / rows if rows else np.nan))
    partial = getattr(kda, "n_partial", 0)
    if fiml and partial:
        text = _sentences([text, t("drivers.used.partial", lang, partial=partial,
                                   share=fmt_pct(partial / res.n if res.n else np.nan))], lang)
    return text


def _effect_list(rows, codebook, lang, value="total_std") -> str:
    parts = []
    for r in rows.itertuples():
        v = fmt_signed(getattr(r, value), 2)
        note = "" if r.significant else t("drivers.f.ns", lang)
        parts.append(t("drivers.f.item", lang, name=_md(codebook, getattr(r, "driver", None)
                                                            or r.source, lang), value=v, note=note))
    return join_list(parts, lang)


_MAX_LISTED = 4  # items of one kind of failed check named in the summary; the rest are counted


def _listed(items, lang) -> str:
    sep = "、" if lang == "zh" else ", "
    shown = sep.join(items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        shown += t("drivers.check.more", lang, n=len(items) - _MAX_LISTED)
    return shown


def check_lines(kda, codebook, lang: str) -> list[str]:
    """The failed guards in words, one phrase per kind (non-convergence, standardised paths beyond
    ±1, latent R² ≥ .95, Heywood cases, reliability, discriminant validity), naming what failed."""
    ch = kda.checks
    if ch.empty:
        return []
    lab = lambda c: _md(codebook, c, lang)  # noqa: E731
    item = lambda name, value: t("drivers.check.item", lang, name=name, value=value)  # noqa: E731
    out = []
    if (ch.check == "converged").any():
        out.append(t("drivers.check.converged", lang))
    rows = ch[ch.check == "std_path"]
    if len(rows):
        out.append(t("drivers.check.std_path", lang, items=_listed(
            [item(f"{lab(s)} → {lab(tg)}", fmt_signed(v, 2)) for (s, tg), v in zip(rows.subject, rows.value)], lang)))
    rows = ch[ch.check == "r2"]
    if len(rows):
        out.append(t("drivers.check.r2", lang, threshold=fmt_num(rows.threshold.iloc[0], 2), items=_listed(
            [item(lab(sub[0]), fmt_num(v, 2)) for sub, v in zip(rows.subject, rows.value)], lang)))
    rows = ch[ch.check == "heywood"]
    if len(rows):
        out.append(t("drivers.check.heywood", lang, items=_listed(
            [item(lab(sub[0]), fmt_signed(v, 3)) for sub, v in zip(rows.subject, rows.value)], lang)))
    rows = ch[ch.check == "std_loading"]
    if len(rows):
        out.append(t("drivers.check.std_loading", lang, items=_listed(
            [item(t("drivers.check.loading", lang, item=md_escape(sub[1]), construct=lab(sub[0])), fmt_num(v, 2))
             for sub, v in zip(rows.subject, rows.value)], lang)))
    rows = ch[ch.check.isin(["alpha", "cr", "ave"])]
    if len(rows):
        per: dict[str, list[str]] = {}
        for sub, k, v in zip(rows.subject, rows.check, rows.value):
            per.setdefault(sub[0], []).append(f"{t(f'drivers.check.{k}', lang)} {fmt_num(v, 2)}")
        sep = "，" if lang == "zh" else ", "
        out.append(t("drivers.check.reliability", lang, items=_listed(
            [item(lab(c), sep.join(parts)) for c, parts in per.items()], lang)))
    rows = ch[ch.check.isin(["fornell_larcker", "htmt"])]
    if len(rows):
        per = {}
        for sub, k, v in zip(rows.subject, rows.check, rows.value):
            what = f"HTMT {fmt_num(v, 2)}" if k == "htmt" else t("drivers.check.fornell_larcker", lang)
            per.setdefault(tuple(sub), []).append(what)
        sep = "，" if lang == "zh" else ", "
        out.append(t("drivers.check.discriminant", lang, items=_listed(
            [item(f"{lab(a)}–{lab(b)}", sep.join(parts)) for (a, b), parts in per.items()], lang)))
    return out


def _path(kda, source, target):
    p = kda.paths
    hit = p[(p.source == source) & (p.target == target)]
    return hit.iloc[0] if len(hit) else None


def key_findings(kda, codebook, lang: str) -> list[str]:
    """The executive summary's bullets: drivers in ranking order with their signed effects, what
    satisfaction drives, fit, failed checks, agreement of the views, and what to act on first."""
    res = kda.sem
    sat = _md(codebook, kda.satisfaction, lang)
    r2 = res.r2().get(kda.satisfaction, np.nan)
    order = _effect_list(kda.ranking, codebook, lang)
    top = kda.ranking.iloc[0] if len(kda.ranking) else None
    sound = top is not None and bool(top.significant) and top.driver not in kda.flags \
        and kda.satisfaction not in kda.flags
    if sound:  # the headline is a finding, not a label (only where the checks let it be said)
        out = [t("drivers.f.order_lead", lang, sat=sat, order=order, r2=fmt_pct(r2),
                 top=_md(codebook, top.driver, lang), value=fmt_signed(top.total_std, 2))]
    else:
        out = [t("drivers.f.order", lang, sat=sat, order=order, r2=fmt_pct(r2), conf=_conf(kda))]
    flagged = [d for d in kda.ranking.driver if d in kda.flags or kda.satisfaction in kda.flags]
    if flagged:
        out[0] += t("drivers.f.order_flagged", lang, drivers=_names(codebook, flagged, lang, md=True))
    if kda.loyalty:
        loy = _md(codebook, kda.loyalty, lang)
        direct = _path(kda, kda.satisfaction, kda.loyalty)
        if direct is not None:
            key = ("drivers.f.loyalty_flagged" if abs(direct.std_est) > 1 else
                   "drivers.f.loyalty" if direct.significant else "drivers.f.loyalty_ns")
            out.append(t(key, lang, sat=sat, loy=loy, b=fmt_signed(direct.std_est, 2), conf=_conf(kda)))
        among = kda.outcome_effects[kda.outcome_effects.source.isin(kda.drivers)]
        top = among.iloc[0] if len(among) else None
        sig = among[among.significant.astype(bool)]
        if top is not None and not top.significant and len(sig):
            # the largest effect is not significant, a smaller one is: say both, never "no driver"
            first = sig.iloc[0]
            out.append(t("drivers.f.loyalty_top_sig", lang, loy=loy, top=_md(codebook, top.source, lang),
                         te=fmt_signed(top.total_std, 2), sig=_md(codebook, first.source, lang),
                         sig_te=fmt_signed(first.total_std, 2), conf=_conf(kda)))
        elif top is not None:
            key = "drivers.f.loyalty_top" if top.significant else "drivers.f.loyalty_top_ns"
            out.append(t(key, lang, loy=loy, top=_md(codebook, top.source, lang),
                         te=fmt_signed(top.total_std, 2), conf=_conf(kda)))
    others = [s for s in kda.successors if s != kda.loyalty]
    if others:
        rows = kda.paths[(kda.paths.source == kda.satisfaction) & kda.paths.target.isin(others)]
        items = [t("drivers.f.item", lang, name=_md(codebook, r.target, lang),
                   value=fmt_signed(r.std_est, 2), note="" if r.significant else t("drivers.f.ns", lang))
                 for r in rows.itertuples()]
        out.append(t("drivers.f.successors", lang, sat=sat, items=join_list(items, lang)))
    failed = [k.upper() for k, (rule, cut) in FIT_THRESHOLDS.items()
              if not (res.fit[k] >= cut if rule == ">=" else res.fit[k] <= cut)]
    measurement_ok = not kda.checks.check.isin(["alpha", "cr", "ave", "fornell_larcker", "htmt"]).any()
    if failed:
        out.append(t("drivers.f.fit_poor", lang, failed=", ".join(failed)))
    else:
        out.append(t("drivers.f.fit", lang, cfi=fmt_num(res.fit["cfi"], 3), rmsea=fmt_num(res.fit["rmsea"], 3),
                     srmr=fmt_num(res.fit["srmr"], 3))
                   + t("drivers.f.measurement_ok" if measurement_ok else "drivers.f.measurement_see", lang))
    lines = check_lines(kda, codebook, lang)
    if lines:
        withheld = [] if kda.ipma is None else list(kda.ipma.driver[kda.ipma.withheld])
        text = t("drivers.f.checks", lang, checks=("；" if lang == "zh" else "; ").join(lines))
        if withheld:
            text = _sentences([text, t("drivers.f.checks_withheld", lang, drivers=_names(codebook, withheld, lang, md=True))],
                              lang)
        out.append(text)
    for outcome, v in ((kda.satisfaction, kda.views), (kda.loyalty, getattr(kda, "views_loyalty", None))):
        if v is None or len(v) < 2:
            continue
        cols = ["rank_r", "rank_beta", "rank_lmg", "rank_sem"]
        firsts = {c: v.driver[v[c] == 1].tolist() for c in cols}
        top = v.driver.iloc[0]                 # the SEM ranking on this outcome
        name = _md(codebook, outcome, lang)
        if all(f == [top] for f in firsts.values()):
            agree = (v[cols].to_numpy() == v[cols[:1]].to_numpy()).all()
            out.append(t("drivers.f.views", lang, top=_md(codebook, top, lang), outcome=name,
                         agree=t("drivers.f.views_agree" if agree else "drivers.f.views_differ", lang)))
        else:
            parts = [t("drivers.f.view_first", lang, view=t(f"drivers.v.{c[5:]}", lang),
                       name=_names(codebook, firsts[c], lang, md=True)) for c in cols]
            sep = "；" if lang == "zh" else "; "
            out.append(t("drivers.f.views_split", lang, firsts=sep.join(parts), outcome=name))
    out.append(_act_first(kda, codebook, lang))
    return out


def _call(ip) -> pd.Series:
    """The quadrant call of each driver: a quadrant only where significantly off both splits."""
    return ip["call"] if "call" in ip else ip["quadrant"]


def _by_call(ip) -> pd.DataFrame:
    """Drivers in action-list order: by call (concentrate, keep up, on the line, low priority,
    overkill), then by importance."""
    order = {c: i for i, c in enumerate(CALLS)}
    return ip.assign(_c=_call(ip).map(order)).sort_values(["_c", "importance"], ascending=[True, False],
                                                           kind="stable").drop(columns="_c")


def _act_first(kda, codebook, lang) -> str:
    ip = kda.ipma
    if ip is None:
        return t("drivers.f.no_ipma", lang)
    target = _md(codebook, kda.ipma_target, lang)
    ip = _by_call(ip).assign(quadrant=lambda d: _call(d))
    act = ip[ip.action == "act"]
    conc = act[act.quadrant == "concentrate"]
    if len(conc):
        first = conc.iloc[0]
        return t("drivers.f.act", lang, first=_md(codebook, first.driver, lang), target=target,
                 perf=fmt_num(first.performance, 0), conf=_conf(kda))
    keep = act[act.quadrant == "keep_up"]
    if len(keep):
        return t("drivers.f.no_concentrate", lang, keep=_names(codebook, keep.driver, lang, md=True))
    line = act[act.quadrant == "on_the_line"]
    if len(line):
        return t("drivers.f.on_the_line", lang, drivers=_names(codebook, line.driver, lang, md=True),
                 target=target, conf=_conf(kda))
    if ip.withheld.any() and not (ip.action == "act").any():
        return t("drivers.f.no_action_withheld", lang)
    return t("drivers.f.no_action", lang, target=target, conf=_conf(kda))


def model_heading(kda, codebook, lang: str) -> str:
    sat = _md(codebook, kda.satisfaction, lang)
    if kda.loyalty:
        return t("drivers.h.model_loyalty", lang, sat=sat, loy=_md(codebook, kda.loyalty, lang))
    return t("drivers.h.model", lang, sat=sat)


def groups_heading(codebook, by: str, lang: str) -> str:
    """The heading of the comparison by ``by`` (Markdown)."""
    return t("drivers.h.groups", lang, group=_md(codebook, by, lang))


def fit_table(res, lang: str) -> dict:
    """Fit indices as numbers (χ² to one decimal, the indices to three), what qualifies them (df
    and p, RMSEA's interval) as text beside them, the standard and the verdict."""
    f = res.fit
    rows = [(t("drivers.fit.chisq", lang), float(f["chisq"]),
             t("drivers.fit.chisq_detail", lang, df=int(f["df"]), p=fmt_p(f["p_val"])), "–",
             t("drivers.fit.info", lang))]
    for key, name in (("cfi", "CFI"), ("tli", "TLI"), ("rmsea", "RMSEA"), ("srmr", "SRMR")):
        rule, cut = FIT_THRESHOLDS[key]
        ok = f[key] >= cut if rule == ">=" else f[key] <= cut
        detail = ""
        if key == "rmsea":
            detail = t("drivers.fit.rmsea_detail", lang, lo=fmt_num(f["rmsea_ci_low"], 3),
                       hi=fmt_num(f["rmsea_ci_high"], 3))
        rows.append((name, float(f[key]), detail, f"{'≥' if rule == '>=' else '≤'} {cut:g}",
                     t("drivers.fit.good" if ok else "drivers.fit.poor", lang)))
    df = pd.DataFrame(rows, columns=["index", "value", "detail", "threshold", "verdict"])
    return {"df": df, "labels": {c: t(f"drivers.fit.{c}", lang) for c in df.columns},
            "formats": {"value": "num3"},
            "cell_formats": pd.DataFrame({"value": ["num1"] + ["num3"] * (len(df) - 1)}, index=df.index),
            "caption": t("drivers.fit.caption", lang), "note": t("drivers.fit.note", lang),
            "text_columns": ["index", "detail", "threshold", "verdict"]}


def _mi_param(codebook, lhs, op, rhs, lang) -> str:
    return t(f"drivers.mi.op.{op}", lang, lhs=label(codebook, lhs, lang), rhs=label(codebook, rhs, lang))


def added_paths_text(kda, codebook, lang: str) -> str:
    """Which direct paths were added to the default model and why (modification index, expected
    change), or that none was called for; for a user's model, that it is used as given."""
    if kda.model_given:
        return t("drivers.added.user", lang)
    if kda.loyalty is None:
        return ""
    from .. import _sem_mi

    sat = _md(codebook, kda.satisfaction, lang)
    target = _md(codebook, kda.loyalty, lang)
    if kda.added_paths is None or kda.added_paths.empty:
        return t("drivers.added.none", lang, target=target, min_mi=fmt_num(_sem_mi.MIN_MI, 0),
                 min_sepc=fmt_num(_sem_mi.MIN_SEPC, 2))
    parts = [t("drivers.added.one", lang, path=f"{_md(codebook, r.rhs, lang)} → {_md(codebook, r.lhs, lang)}",
               mi=fmt_num(r.mi, 1), p=fmt_p(r.p_val), sepc=fmt_signed(r.sepc_all, 2),
               source=_md(codebook, r.rhs, lang), target=_md(codebook, r.lhs, lang), sat=sat)
             for r in kda.added_paths.itertuples()]
    return _sentences(parts, lang)


def mi_table(kda, codebook, lang: str) -> dict | None:
    """The largest modification indices of the final model (None when there are none)."""
    mi = kda.mod_indices
    if mi is None or mi.empty:
        return None
    df = pd.DataFrame({
        "param": [_mi_param(codebook, a, o, b, lang) for a, o, b in zip(mi.lhs, mi.op, mi.rhs)],
        "mi": mi.mi.to_numpy(float), "sepc": mi.sepc_all.to_numpy(float), "p": mi.p_val.to_numpy(float),
    })
    return {"df": df, "formats": {"mi": "num1", "sepc": "signed2", "p": "pval"},
            "labels": {c: t(f"drivers.mi.{c}", lang) for c in df.columns},
            "caption": t("drivers.mi.caption", lang), "note": t("drivers.mi.note", lang),
            "text_columns": ["param"]}


def measurement_table(res, codebook, lang: str) -> dict:
    r = res.reliability
    yes, no = t("drivers.m.pass", lang), t("drivers.m.fail", lang)
    df = pd.DataFrame({
        "construct": [label(codebook, c, lang) for c in r.construct],
        "alpha": r.alpha.to_numpy(float), "cr": r.cr.to_numpy(float), "ave": r.ave.to_numpy(float),
        "fl": [yes if v else no for v in r.fornell_larcker],
        "htmt": r.max_htmt.to_numpy(float),
    })
    return {"df": df, "formats": {"alpha": "num2", "cr": "num2", "ave": "num2", "htmt": "num2"},
            "labels": {c: t(f"drivers.m.{c}", lang) for c in df.columns},
            "caption": t("drivers.m.caption", lang), "note": t("drivers.m.note", lang)}


def _sig(flag, value) -> str:
    """A significance mark for a table's ``sig`` frame: ``"up"``/``"down"`` for a significant
    positive/negative coefficient, ``""`` otherwise."""
    if not bool(flag) or not np.isfinite(value):
        return ""
    return "up" if value >= 0 else "down"


def _sig_note(kda, lang) -> str:
    return t("drivers.p.note", lang, conf=_conf(kda))


def paths_table(kda, codebook, lang: str) -> dict:
    p = kda.paths
    df = pd.DataFrame({
        "path": [f"{label(codebook, a, lang)} → {label(codebook, b, lang)}" for a, b in zip(p.source, p.target)],
        "est": p.est.to_numpy(float),
        "ci": [f"{fmt_signed(lo, 3)} – {fmt_signed(hi, 3)}" for lo, hi in zip(p.ci_low, p.ci_high)],
        "p": p.p_val.to_numpy(float), "std": p.std_est.to_numpy(float),
    })
    labels = {c: t(f"drivers.p.{c}", lang) for c in df.columns}
    labels["ci"] = t("drivers.p.ci", lang, conf=_conf(kda))
    sig = pd.DataFrame({"std": [_sig(s, v) for v, s in zip(p.std_est, p.significant)]}, index=df.index)
    return {"df": df, "formats": {"est": "num3", "p": "pval", "std": "num3"}, "labels": labels,
            "caption": t("drivers.p.caption", lang), "note": _sig_note(kda, lang),
            "text_columns": ["path", "ci"], "sig": sig}


def effects_table(kda, codebook, lang: str) -> dict:
    """Effects on loyalty of every variable with a path to it, in ranking order (absolute total)."""
    e = kda.outcome_effects
    none = "–"
    df = pd.DataFrame({
        "driver": [label(codebook, d, lang) for d in e.source],
        "direct": e.direct_std.to_numpy(float), "indirect": e.indirect_std.to_numpy(float),
        "total": e.total_std.to_numpy(float),
        "via": [_names(codebook, v, lang) or none for v in e.via],
    })
    sig = pd.DataFrame({"total": [_sig(s, v) for v, s in zip(e.total_std, e.significant)]}, index=df.index)
    return {"df": df, "formats": {"direct": "num3", "indirect": "num3", "total": "num3"},
            "labels": {c: t(f"drivers.e.{c}", lang) for c in df.columns},
            "caption": t("drivers.e.caption", lang, loy=label(codebook, kda.loyalty, lang)),
            "note": _sig_note(kda, lang), "text_columns": ["driver", "via"], "sig": sig}


def no_loyalty_note(kda, codebook, lang: str) -> str:
    """The one note that replaces the loyalty table and bullets when the model has no loyalty."""
    return t("drivers.note.no_loyalty", lang, sat=label(codebook, kda.satisfaction, lang))


def views_table(kda, codebook, lang: str, outcome: str | None = None) -> dict:
    """The four views of the drivers on ``outcome`` (satisfaction by default, or loyalty)."""
    outcome = outcome or kda.satisfaction
    v = kda.views_loyalty if outcome == kda.loyalty and outcome != kda.satisfaction else kda.views
    df = pd.DataFrame({
        "driver": [label(codebook, d, lang) for d in v.driver],
        "r": v.r.to_numpy(float), "beta": v.beta.to_numpy(float), "lmg": v.lmg_share.to_numpy(float),
        "sem": v.sem_total_std.to_numpy(float),
        "rank": [f"{a} / {b} / {c} / {d}" for a, b, c, d in zip(v.rank_r, v.rank_beta, v.rank_lmg, v.rank_sem)],
    })
    labels = {"driver": t("drivers.e.driver", lang), "r": t("drivers.v.r", lang), "beta": t("drivers.v.beta", lang),
              "lmg": t("drivers.v.lmg", lang), "sem": t("drivers.v.sem", lang), "rank": t("drivers.v.rank", lang)}
    return {"df": df, "formats": {"r": "num2", "beta": "num2", "lmg": "pct0", "sem": "num2"}, "labels": labels,
            "caption": t("drivers.v.caption", lang, sat=label(codebook, outcome, lang)),
            "note": t("drivers.v.order" if outcome == kda.satisfaction else "drivers.v.order_loyalty", lang,
                      loy=label(codebook, outcome, lang)),
            "text_columns": ["driver", "rank"]}


def views_note(kda, lang: str, conf: float | None = None) -> str:
    imp = kda.importance
    return t("drivers.v.note", lang, r2=fmt_num(imp.attrs.get("r2", np.nan), 2),
             conf=fmt_pct(kda.conf if conf is None else conf), b=imp.attrs.get("bootstrap", 0))


def views_title(kda, codebook, lang: str, outcome: str | None = None) -> str:
    """The finding of the four-views chart (the deck's slide title): the driver most views rank
    first on ``outcome`` (satisfaction by default, or loyalty), and in how many of the four."""
    outcome = outcome or kda.satisfaction
    v = kda.views_loyalty if outcome == kda.loyalty and outcome != kda.satisfaction else kda.views
    cols = ["rank_r", "rank_beta", "rank_lmg", "rank_sem"]
    firsts = {d: int(sum(int(v[c].iloc[i]) == 1 for c in cols)) for i, d in enumerate(v.driver)}
    top = max(v.driver, key=lambda d: firsts[d])  # ties: the SEM ranking's order (the rows' order)
    fields = dict(top=label(codebook, top, lang), outcome=label(codebook, outcome, lang), k=str(firsts[top]))
    return t("drivers.t.views_all" if firsts[top] == len(cols) else "drivers.t.views_most", lang, **fields)


def importance_title(kda, codebook, lang: str) -> str:
    """The finding of the relative-importance chart (the deck's slide title): the drivers with
    the largest and the smallest share of the explained variation in satisfaction."""
    imp = kda.importance
    hi, lo = imp.loc[imp.share.idxmax()], imp.loc[imp.share.idxmin()]
    fields = dict(top=label(codebook, hi.driver, lang), s1=fmt_pct(float(hi.share), 0),
                  sat=label(codebook, kda.satisfaction, lang))
    if len(imp) < 2 or hi.driver == lo.driver:
        return t("drivers.t.importance_one", lang, **fields)
    return t("drivers.t.importance", lang, low=label(codebook, lo.driver, lang), s2=fmt_pct(float(lo.share), 0),
             **fields)


def ipma_title(kda, codebook, lang: str) -> str:
    """The finding of the importance–performance matrix (the deck's slide title): where to act
    first, from the same calls as the action list."""
    ip = _by_call(kda.ipma).assign(quadrant=lambda d: _call(d))
    target = label(codebook, kda.ipma_target, lang)
    act = ip[ip.action == "act"]
    names = lambda d: join_list([label(codebook, x, lang) for x in d.driver], lang)  # noqa: E731
    conc = act[act.quadrant == "concentrate"]
    if len(conc):
        first = conc.iloc[0]
        return t("drivers.t.ipma_act", lang, first=label(codebook, first.driver, lang), target=target,
                 perf=fmt_num(first.performance, 0))
    keep = act[act.quadrant == "keep_up"]
    if len(keep):
        return t("drivers.t.ipma_keep", lang, keep=names(keep), target=target)
    line = act[act.quadrant == "on_the_line"]
    if len(line):
        return t("drivers.t.ipma_line", lang, drivers=names(line), target=target)
    if ip.withheld.any():
        return t("drivers.t.ipma_withheld", lang, n=str(int(ip.withheld.sum())), target=target)
    return t("drivers.t.ipma_none", lang, target=target, conf=_conf(kda))


def _action_word(row, call, lang) -> str:
    """The action column, as the "what to do first" list says it: a significant driver whose
    quadrant cannot be told apart from the split is watched, not acted on."""
    if row.action == "act" and call == "on_the_line":
        return t("drivers.i.action.watch", lang)
    return t(f"drivers.i.action.{row.action}", lang)


def _interval(lo, hi, digits) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "–"
    num = lambda v: fmt_num(v, digits).replace("-", "−")  # noqa: E731  (typographic minus)
    return f"{num(lo)} – {num(hi)}"


def ipma_table(kda, codebook, lang: str) -> dict:
    ip = _by_call(kda.ipma)
    nan = np.full(len(ip), np.nan)
    lo_i, hi_i = ip.get("ci_low", nan), ip.get("ci_high", nan)
    lo_p, hi_p = ip.get("perf_ci_low", nan), ip.get("perf_ci_high", nan)
    df = pd.DataFrame({
        "rank": np.arange(1, len(ip) + 1), "driver": [label(codebook, d, lang) for d in ip.driver],
        "quadrant": [t(f"drivers.q.{q}", lang) for q in _call(ip)],
        "importance": ip.importance.to_numpy(float),
        "imp_ci": [_interval(a, b, 3) for a, b in zip(lo_i, hi_i)],
        "performance": ip.performance.to_numpy(float),
        "perf_ci": [_interval(a, b, 1) for a, b in zip(lo_p, hi_p)],
        "action": [_action_word(r, c, lang) for r, c in zip(ip.itertuples(), _call(ip))],
    })
    labels = {"rank": t("drivers.i.rank", lang), "driver": t("drivers.e.driver", lang),
              "quadrant": t("drivers.i.quadrant", lang), "importance": t("drivers.i.importance", lang),
              "imp_ci": t("drivers.i.ci", lang, conf=_conf(kda)),
              "performance": t("drivers.i.performance", lang),
              "perf_ci": t("drivers.i.ci", lang, conf=_conf(kda)), "action": t("drivers.i.action", lang)}
    return {"df": df, "formats": {"rank": "int", "importance": "num3", "performance": "num1"}, "labels": labels,
            "caption": t("drivers.i.caption", lang), "note": ipma_note(kda, codebook, lang),
            "text_columns": ["driver", "quadrant", "imp_ci", "perf_ci", "action"]}


def _scale_words(kda, codebook, lang) -> str:
    items = [i for d in kda.ipma.driver for i in kda.sem.constructs.get(d, [d])]
    scale = codebook.items_scale(items) if hasattr(codebook, "items_scale") else None
    if scale is None:
        return t("drivers.i.scale_own", lang)
    return t("drivers.i.scale", lang, lo=fmt_num(scale[0], 0), hi=fmt_num(scale[1], 0))


def ipma_note(kda, codebook, lang: str) -> str:
    ip = kda.ipma
    return _sentences([t("drivers.i.note", lang, target=label(codebook, kda.ipma_target, lang),
                         scale=_scale_words(kda, codebook, lang), conf=_conf(kda)),
                       t("drivers.i.line_note", lang, conf=_conf(kda),
                         icut=fmt_num(ip.attrs.get("importance_cut", np.nan), 3),
                         pcut=fmt_num(ip.attrs.get("performance_cut", np.nan), 1))], lang)


def _reasons(reasons, codebook, lang) -> str:
    """``((construct, check), ...)``: the constructs on the route whose checks fail, and which."""
    keys = list(dict.fromkeys(k for _, k in reasons))
    return t("drivers.reason", lang, constructs=_names(codebook, list(dict.fromkeys(c for c, _ in reasons)), lang),
             checks=join_list(list(dict.fromkeys(t(f"drivers.reason.{k}", lang) for k in keys)), lang))


def action_items(kda, codebook, lang: str) -> list[str]:
    """The action list in priority order: a recommendation only for a significant effect with no
    failed guard on its route; otherwise why there is none."""
    if kda.ipma is None:
        return [t("drivers.f.no_ipma", lang)]
    ip = _by_call(kda.ipma)
    ip = ip.assign(quadrant=_call(ip))
    target = _md(codebook, kda.ipma_target, lang)
    out = []
    for r in ip.itertuples():
        name = _md(codebook, r.driver, lang)
        if r.action == "withheld":
            out.append(t("drivers.a.withheld", lang, driver=name, why=_reasons(r.reasons, codebook, lang)))
        elif r.action == "not_significant":
            out.append(t("drivers.a.not_significant", lang, driver=name, target=target, conf=_conf(kda),
                         p=fmt_p(r.p_val)))
        elif r.quadrant == "on_the_line":
            axes = [t(f"drivers.a.line.{a}", lang) for a, side in
                    (("importance", getattr(r, "importance_side", "")),
                     ("performance", getattr(r, "performance_side", ""))) if side == "line"]
            out.append(t("drivers.a.on_the_line", lang, driver=name, imp=fmt_num(r.importance, 2),
                         perf=fmt_num(r.performance, 0), axes=join_list(axes, lang), conf=_conf(kda)))
        else:
            out.append(t(f"drivers.a.{r.quadrant}", lang, driver=name, imp=fmt_num(r.importance, 2),
                         perf=fmt_num(r.performance, 0), target=target))
    return out


_GROUP_REASONS = {"drivers.group.low_base": "low_base", "drivers.group.not_converged": "not_converged",
                  "drivers.group.fit_failed": "failed"}


def _group_status(part) -> str:
    """``ok`` for a fitted group, else why it was not fitted: ``low_base``, ``not_converged`` or
    ``failed`` (from ``group_paths``' ``status``/``reason`` columns, or its base flag)."""
    if "status" in part.columns:
        st = str(part.status.iloc[0])
        if st in ("ok", "fitted", "caution"):
            return "ok"
        reason = part.reason.iloc[0] if "reason" in part.columns else None
        if reason in _GROUP_REASONS:
            return _GROUP_REASONS[reason]
        if st in ("no_test", "low_base"):
            return "low_base"
        return "failed"
    if part.lhs.isna().all():
        flag = str(part.base_flag.iloc[0]) if "base_flag" in part.columns else ""
        return "low_base" if flag == "no_test" else "failed"
    return "ok"


def group_table(paths: pd.DataFrame, by: str, codebook, lang: str, rule, conf: float = 0.95) -> dict | None:
    """Groups side by side: one row per path, one column per fitted group (standardised; ▲
    significant at ``conf``; * low base); None when no group could be fitted.  Groups that could
    not be fitted get a note each (:func:`group_notes`)."""
    cols, sig, flags = {}, {}, {}
    for level, part in paths.groupby(by, sort=False):
        if _group_status(part) != "ok":
            continue
        part = part.dropna(subset=["lhs"])
        flag = part.base_flag.iloc[0] if "base_flag" in part.columns else "ok"
        name = level_label(codebook, by, level, lang)
        keys = [f"{label(codebook, r.rhs, lang)} → {label(codebook, r.lhs, lang)}" for r in part.itertuples()]
        cols[name] = dict(zip(keys, part.std_est.astype(float)))
        sig[name] = dict(zip(keys, [_sig(np.isfinite(r.p_val) and r.p_val < 1 - conf, r.std_est)
                                    for r in part.itertuples()]))
        flags[name] = dict.fromkeys(keys, "" if flag in ("ok", None) else "caution")
    if not cols:
        return None
    df = pd.DataFrame(cols)
    order = list(df.index)
    sig_df = pd.DataFrame(sig).reindex(order).fillna("")
    flag_df = pd.DataFrame(flags).reindex(order).fillna("")
    df.insert(0, "path", df.index)
    df = df.reset_index(drop=True)
    group = label(codebook, by, lang)
    note = t("drivers.g.note", lang, caution=int(rule.caution), min_test=int(rule.min_test), conf=fmt_pct(conf))
    out = {"df": df, "labels": {"path": t("drivers.g.path", lang)}, "formats": {c: "signed2" for c in cols},
           "caption": t("drivers.g.caption", lang, group=group), "text_columns": ["path"], "note": note,
           "sig": sig_df.reset_index(drop=True)}
    if (flag_df != "").to_numpy().any():
        out["base_flags"] = flag_df.reset_index(drop=True)
    return out


def group_notes(paths: pd.DataFrame, by: str, codebook, lang: str, rule) -> list[str]:
    """One note per group that could not be fitted (too small a base, or the fit failed)."""
    out = []
    if len(paths) == 0 or all(_group_status(part) != "ok" for _, part in paths.groupby(by, sort=False)):
        out.append(t("drivers.g.none", lang))
    for level, part in paths.groupby(by, sort=False):
        status = _group_status(part)
        if status == "ok":
            continue
        n = int(part.n.iloc[0]) if "n" in part.columns and pd.notna(part.n.iloc[0]) else 0
        key = {"low_base": "drivers.g.low_base", "not_converged": "drivers.g.not_converged"}.get(
            status, "drivers.g.failed")
        out.append(t(key, lang, group=level_label(codebook, by, level, lang), n=f"{n:,}",
                     min_test=int(rule.min_test)))
    return out


def method_text(kda, codebook, lang: str) -> str:
    """How the numbers were made: estimation, weight, missing answers, model, ranking and rules."""
    res = kda.sem
    missing = "fiml" if getattr(res, "missing", "listwise") == "fiml" else "listwise"
    if res.weighted and kda.weight:
        method = t(f"drivers.method.weighted.{missing}", lang, weight=_md(codebook, kda.weight, lang))
    else:
        method = t(f"drivers.method.unweighted.{missing}", lang)
    model = "; ".join(line.strip() for line in kda.model.strip().splitlines() if line.strip())
    outcomes = getattr(codebook, "outcomes", {}) or {}
    sat_rule = "drivers.method.sat_codebook" if outcomes.get("satisfaction") else "drivers.method.sat_model"
    parts = [t("drivers.method.text", lang, method=method, model=model),
             t(sat_rule, lang, sat=_md(codebook, kda.satisfaction, lang),
               drivers=_names(codebook, kda.drivers, lang, md=True)),
             t("drivers.method.rules", lang, conf=_conf(kda))]
    return _sentences(parts, lang)


def problem_notes(kda, sections, lang: str) -> list[str]:
    """Notes for the optional parts of the analysis that could not be computed (``kda.problems``)."""
    out = []
    for sec in sections:
        if sec in kda.problems:
            name = t(f"drivers.section.{sec}", lang)
            out.append(t("drivers.note.section_failed_why", lang, section=name, why=kda.problems[sec])
                       if lang == "en" else t("drivers.note.section_failed", lang, section=name))
    return out


def section_failed(section: str, exc: BaseException, lang: str) -> str:
    """The note that replaces an optional section that could not be computed for this study.

    The details go to stderr (kept in the executed notebook, left out of the report); the note
    names the section in the report's language, and in English adds the reason.
    """
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    name = t(f"drivers.section.{section}", lang)
    if lang == "en":
        return t("drivers.note.section_failed_why", lang, section=name, why=str(exc).strip() or type(exc).__name__)
    return t("drivers.note.section_failed", lang, section=name)
