"""Key findings and tables of the key-driver report, written from results in English or Chinese.

Table builders return the keyword arguments of :func:`workbench.report.table` (a display frame
with translated headers), so the notebook shows each table with one call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..drivers import FIT_THRESHOLDS, QUADRANTS
from . import fmt_num, fmt_pct, join_list, level_label, t

__all__ = [
    "label",
    "intro",
    "base_what",
    "used_text",
    "key_findings",
    "fit_table",
    "measurement_table",
    "paths_table",
    "effects_table",
    "views_table",
    "views_note",
    "ipma_table",
    "action_items",
    "group_table",
    "method_text",
    "sem_warnings",
]


def label(codebook, code: str, lang: str) -> str:
    """A construct's or question's label, falling back to its code."""
    try:
        return codebook.label(code, lang)
    except Exception:  # codes without a label show as they are
        return code


def _brand(codebook, brand, lang):
    if brand in (None, "", "all"):
        return ""
    try:
        return codebook.level_label("brand", brand, lang)
    except Exception:
        return str(brand)


def intro(kda, codebook, brand, lang: str) -> str:
    return t("drivers.intro", lang, n_drivers=len(kda.drivers), brand=_brand(codebook, brand, lang))


def base_what(codebook, brand, wave, lang: str) -> str:
    scope = t("drivers.scope.all", lang) if wave in (None, "", "all") else t("drivers.scope.wave", lang, wave=wave)
    return t("drivers.base", lang, brand=_brand(codebook, brand, lang), scope=scope)


def used_text(kda, lang: str) -> str:
    res = kda.sem
    rows = res.n + res.n_dropped
    return t("drivers.used", lang, used=res.n, rows=rows, dropped=res.n_dropped,
             share=fmt_pct(res.n_dropped / rows if rows else np.nan))


def _paths_to(res, target):
    est = res.estimates
    return est[(est.op == "~") & (est.lhs == target)].sort_values("std_est", ascending=False)


def key_findings(kda, codebook, lang: str) -> list[str]:
    """The executive summary's bullets: drivers in order, satisfaction → recommendation, fit,
    agreement of the four views, and what to act on first."""
    res = kda.sem
    paths = _paths_to(res, kda.satisfaction)
    names = [label(codebook, d, lang) for d in paths.rhs]
    sep = "、" if lang == "zh" else ", "
    r2 = res.r2().get(kda.satisfaction, np.nan) if hasattr(res, "r2") else np.nan
    out = [t("drivers.f.order", lang, order=join_list(names, lang),
             effects=sep.join(fmt_num(v, 2) for v in paths.std_est), r2=fmt_pct(r2))]
    loy = _paths_to(res, kda.loyalty)
    eff = res.effects[(res.effects["to"] == kda.loyalty) & res.effects["from"].isin(kda.drivers)]
    if len(loy) and len(eff):
        top = eff.sort_values("total_std", ascending=False).iloc[0]
        out.append(t("drivers.f.loyalty", lang, b=fmt_num(loy.std_est.iloc[0], 2),
                     top=label(codebook, top["from"], lang), te=fmt_num(top.total_std, 2)))
    failed = [k.upper() for k, (rule, cut) in FIT_THRESHOLDS.items()
              if not (res.fit[k] >= cut if rule == ">=" else res.fit[k] <= cut)]
    if failed:
        out.append(t("drivers.f.fit_poor", lang, failed=", ".join(failed)))
    else:
        out.append(t("drivers.f.fit", lang, cfi=fmt_num(res.fit["cfi"], 3), rmsea=fmt_num(res.fit["rmsea"], 3),
                     srmr=fmt_num(res.fit["srmr"], 3)))
    v = kda.views
    ranks = v[["rank_r", "rank_beta", "rank_lmg", "rank_sem"]].to_numpy()
    top_rows = v[(ranks == 1).all(axis=1)]
    if len(top_rows):
        agree = (ranks == ranks[:, [0]]).all()
        out.append(t("drivers.f.views", lang, top=label(codebook, top_rows.driver.iloc[0], lang),
                     agree=t("drivers.f.views_agree" if agree else "drivers.f.views_differ", lang)))
    ip = kda.ipma.sort_values("priority")
    conc = ip[ip.quadrant == "concentrate"]
    if len(conc):
        first = conc.iloc[0]
        out.append(t("drivers.f.act", lang, first=label(codebook, first.driver, lang),
                     perf=fmt_num(first.performance, 0)))
    else:
        keep = ip[ip.quadrant == "keep_up"]
        keep_names = join_list([label(codebook, d, lang) for d in keep.driver], lang) or "–"
        out.append(t("drivers.f.no_concentrate", lang, keep=keep_names))
    return out


def fit_table(res, lang: str) -> dict:
    f = res.fit
    rows = [(t("drivers.fit.chisq", lang), f"{fmt_num(f['chisq'], 1)} ({int(f['df'])}), p {_p(f['p_val'])}",
             "–", t("drivers.fit.info", lang))]
    for key, name in (("cfi", "CFI"), ("tli", "TLI"), ("rmsea", "RMSEA"), ("srmr", "SRMR")):
        rule, cut = FIT_THRESHOLDS[key]
        ok = f[key] >= cut if rule == ">=" else f[key] <= cut
        value = fmt_num(f[key], 3)
        if key == "rmsea":
            value += f" ({fmt_num(f['rmsea_ci_low'], 3)}–{fmt_num(f['rmsea_ci_high'], 3)})"
        rows.append((name, value, f"{'≥' if rule == '>=' else '≤'} {cut:g}",
                     t("drivers.fit.good" if ok else "drivers.fit.poor", lang)))
    df = pd.DataFrame(rows, columns=["index", "value", "threshold", "verdict"])
    return {"df": df, "labels": {c: t(f"drivers.fit.{c}", lang) for c in df.columns},
            "caption": t("drivers.fit.caption", lang), "note": t("drivers.fit.note", lang),
            "text_columns": list(df.columns)}


def _p(p) -> str:
    return "–" if p is None or np.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def measurement_table(res, codebook, lang: str) -> dict:
    r = res.reliability
    yes, no = t("drivers.m.pass", lang), t("drivers.m.fail", lang)
    df = pd.DataFrame({
        "construct": [label(codebook, c, lang) for c in r.construct],
        "alpha": r.alpha, "cr": r.cr, "ave": r.ave,
        "fl": [yes if v else no for v in r.fornell_larcker],
        "htmt": r.max_htmt,
    })
    return {"df": df, "formats": {"alpha": "num2", "cr": "num2", "ave": "num2", "htmt": "num2"},
            "labels": {c: t(f"drivers.m.{c}", lang) for c in df.columns},
            "caption": t("drivers.m.caption", lang), "note": t("drivers.m.note", lang)}


def _sig(p) -> str:
    return "▲" if p is not None and not np.isnan(p) and p < 0.05 else ""


def paths_table(res, codebook, lang: str) -> dict:
    est = res.estimates[res.estimates.op == "~"]
    df = pd.DataFrame({
        "path": [f"{label(codebook, a, lang)} → {label(codebook, b, lang)}" for a, b in zip(est.rhs, est.lhs)],
        "est": est.est.to_numpy(),
        "std": [f"{fmt_num(v, 3)} {_sig(p)}".strip() for v, p in zip(est.std_est, est.p_val)],
        "ci": [f"{fmt_num(lo, 3)} – {fmt_num(hi, 3)}" for lo, hi in zip(est.ci_low, est.ci_high)],
        "p": [_p(p) for p in est.p_val],
    })
    return {"df": df, "formats": {"est": "num3"}, "labels": {c: t(f"drivers.p.{c}", lang) for c in df.columns},
            "caption": t("drivers.p.caption", lang), "note": t("drivers.p.note", lang),
            "text_columns": ["path"]}


def effects_table(kda, codebook, lang: str) -> dict:
    e = kda.sem.effects
    e = e[(e["to"] == kda.loyalty)].sort_values("total_std", ascending=False)
    df = pd.DataFrame({
        "driver": [label(codebook, d, lang) for d in e["from"]],
        "direct": e.direct_std.to_numpy(), "indirect": e.indirect_std.to_numpy(),
        "total": [f"{fmt_num(v, 3)} {_sig(p)}".strip() for v, p in zip(e.total_std, e.total_p_val)],
    })
    return {"df": df, "formats": {"direct": "num3", "indirect": "num3"},
            "labels": {c: t(f"drivers.e.{c}", lang) for c in df.columns},
            "caption": t("drivers.e.caption", lang), "note": t("drivers.p.note", lang)}


def views_table(kda, codebook, lang: str) -> dict:
    v = kda.views
    df = pd.DataFrame({
        "driver": [label(codebook, d, lang) for d in v.driver],
        "r": v.r.to_numpy(), "beta": v.beta.to_numpy(), "lmg": v.lmg_share.to_numpy(),
        "sem": v.sem_total_std.to_numpy(),
        "rank": [f"{a} / {b} / {c} / {d}" for a, b, c, d in zip(v.rank_r, v.rank_beta, v.rank_lmg, v.rank_sem)],
    })
    labels = {"driver": t("drivers.e.driver", lang), "r": t("drivers.v.r", lang), "beta": t("drivers.v.beta", lang),
              "lmg": t("drivers.v.lmg", lang), "sem": t("drivers.v.sem", lang), "rank": t("drivers.v.rank", lang)}
    return {"df": df, "formats": {"r": "num2", "beta": "num2", "lmg": "pct0", "sem": "num2"}, "labels": labels,
            "caption": t("drivers.v.caption", lang), "text_columns": ["driver", "rank"]}


def views_note(kda, lang: str, conf: float = 0.95) -> str:
    imp = kda.importance
    return t("drivers.v.note", lang, r2=fmt_num(imp.attrs.get("r2", np.nan), 2), conf=fmt_pct(conf),
             b=imp.attrs.get("bootstrap", 0))


def ipma_table(kda, codebook, lang: str) -> dict:
    ip = kda.ipma.sort_values("priority")
    df = pd.DataFrame({
        "rank": ip.priority.to_numpy(), "driver": [label(codebook, d, lang) for d in ip.driver],
        "quadrant": [t(f"drivers.q.{q}", lang) for q in ip.quadrant],
        "importance": ip.importance.to_numpy(), "performance": ip.performance.to_numpy(),
    })
    labels = {"rank": t("drivers.i.rank", lang), "driver": t("drivers.e.driver", lang),
              "quadrant": t("drivers.i.quadrant", lang), "importance": t("drivers.i.importance", lang),
              "performance": t("drivers.i.performance", lang)}
    return {"df": df, "formats": {"rank": "int", "importance": "num3", "performance": "num1"}, "labels": labels,
            "caption": t("drivers.i.caption", lang), "note": t("drivers.i.note", lang)}


def action_items(kda, codebook, lang: str) -> list[str]:
    ip = kda.ipma.sort_values("priority")
    return [t(f"drivers.a.{q}", lang, driver=label(codebook, d, lang), imp=fmt_num(i, 2), perf=fmt_num(p, 0))
            for d, q, i, p in zip(ip.driver, ip.quadrant, ip.importance, ip.performance) if q in QUADRANTS]


def group_table(paths: pd.DataFrame, by: str, codebook, lang: str, rule) -> dict:
    """Groups side by side: one row per path, one column per group (standardised, * low base)."""
    fitted = paths.dropna(subset=["lhs"])
    cols = {}
    for level, part in fitted.groupby(by, sort=False):
        flag = part.base_flag.iloc[0]
        name = level_label(codebook, by, level, lang)
        cols[name] = {f"{label(codebook, r.rhs, lang)} → {label(codebook, r.lhs, lang)}":
                      f"{fmt_num(r.std_est, 2)}{_sig(r.p_val)}{'*' if flag != 'ok' else ''}"
                      for r in part.itertuples()}
    df = pd.DataFrame(cols)
    df.insert(0, "path", df.index)
    group = label(codebook, by, lang)
    return {"df": df.reset_index(drop=True), "labels": {"path": t("drivers.g.path", lang)},
            "caption": t("drivers.g.caption", lang, group=group), "text_columns": list(df.columns),
            "note": t("drivers.g.note", lang, caution=int(rule.caution), min_test=int(rule.min_test))}


def method_text(kda, lang: str) -> str:
    method = t("drivers.method.weighted" if kda.sem.weighted else "drivers.method.unweighted", lang)
    model = "; ".join(line.strip() for line in kda.model.strip().splitlines())
    return t("drivers.method.text", lang, method=method, model=model)


def sem_warnings(kda, lang: str) -> list[str]:
    return [t("drivers.warn.sem", lang, msg=w) for w in kda.sem.warnings]
