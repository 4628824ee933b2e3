"""Words of the 5-GAP report, written from results in English or Chinese.

The key findings, the "what to do first" list, the plain-word diagnosis and the cautions are
sentences built from a :class:`workbench.gaps.FiveGapResult`; the ``*_table`` functions return
the keyword arguments of :func:`workbench.report.table` (a display frame with translated headers,
significance arrows, low-base marks and a caption), so a notebook shows a table with one call::

    report.table(**story.dimension_table(res, lang=ctx.lang, codebook=ctx.codebook))

Every visible word comes from ``workbench/data/i18n/gaps.yaml`` (or the codebook's labels and the
SERVQUAL item bank for dimension, item, scale and group names). Numbers are never rounded before
they reach this module; it formats them for reading.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import fmt_num, fmt_p, fmt_signed, join_list, t

__all__ = [
    "label",
    "group_label",
    "gap_label",
    "key_findings",
    "first_actions",
    "diagnosis_sentences",
    "segment_findings",
    "notes",
    "emit_notes",
    "as_markdown",
    "method_notes",
    "bases_table",
    "gap_definitions_table",
    "dimension_table",
    "weighted_table",
    "item_table",
    "zone_table",
    "diagnosis_table",
    "antecedents_table",
    "action_table",
    "reliability_table",
    "compare_table",
]


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------
def _bank(lang):
    from ..gaps import load_item_bank

    return load_item_bank(lang)


def label(code, lang="en", codebook=None, *, kind="dimension"):
    """Display label of a dimension, item (``kind="item"``), antecedent scale (``"scale"``) or
    question (``"question"``): the codebook's label first, then the bundled item bank's."""
    if codebook is not None:
        try:
            text = codebook.label(code, lang)
        except Exception:  # noqa: BLE001 - a codebook without servqual labels: use the bank
            text = code
        if text != code:
            return text
    if kind == "question":
        return str(code)
    bank = _bank(lang)
    if kind == "dimension":
        hit = bank.dimensions.loc[bank.dimensions["dimension"] == code, "label"]
    elif kind == "item":
        hit = bank.items.loc[bank.items["item"] == code, "short"]
    else:
        hit = bank.antecedents.loc[bank.antecedents["scale"] == code, "scale_label"]
    return str(hit.iloc[0]) if len(hit) else str(code)


def group_label(column, level, lang="en", codebook=None):
    """Display label of a level of a comparison column (the codebook's level labels if any)."""
    if codebook is not None and column in codebook:
        try:
            return codebook.level_label(column, level, lang)
        except Exception:  # noqa: BLE001 - not a categorical question: show the value
            pass
    return str(level)


def gap_label(no, lang="en", *, short=True):
    """Label of gap 1-5: short (``"Gap 3 · delivery"``) or the model's full wording."""
    return t(f"gaps.gap{int(no)}.{'short' if short else 'long'}", lang)


# --------------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------------
def _nan(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def _g(x):
    """A gap in points with its sign: ``-1.4088`` -> ``"−1.41"``."""
    return fmt_signed(x, 2)


def _a(x):
    """An absolute gap: ``-1.4088`` -> ``"1.41"``."""
    return "–" if _nan(x) else f"{abs(x):.2f}"


def _ptext(p):
    """A p value in a sentence: ``p < 0.001`` or ``p = 0.012``."""
    if _nan(p):
        return "p –"
    return t("gaps.p_lt", "en", p="0.001") if p < 0.001 else t("gaps.p_eq", "en", p=f"{p:.3f}")


def _pct(share):
    return "–" if _nan(share) else f"{100 * share:.0f}%"


def _conf(res):
    return f"{100 * res.settings.get('conf', 0.95):g}"


def _sig(res):
    return res.settings.get("sig_level", 0.05)


def _bold(text):
    return f"**{text}**"


def _lowmark(flag):
    return "*" if isinstance(flag, str) and flag != "ok" else ""


def _lowmark_md(flag):
    """The low-base mark inside Markdown text (escaped, so it is not read as emphasis)."""
    return "\\*" if isinstance(flag, str) and flag != "ok" else ""


def _cell(est, p_val, flag, sig_level, *, digits=2):
    """A gap cell for tables: signed value, ▼/▲ when significant, * on a low base."""
    if _nan(est):
        return "–"
    text = fmt_signed(est, digits)
    if not _nan(p_val) and p_val < sig_level:
        text += " ▼" if est < 0 else " ▲"
    return text + _lowmark(flag)


def _ci(lo, hi, lang, digits=2):
    return t("gaps.ci_range", lang, lo=fmt_signed(lo, digits), hi=fmt_signed(hi, digits))


def _paren(text, lang):
    """`` (text)`` in English, ``(text)`` without the space in Chinese."""
    return f"({text})" if lang == "zh" else f" ({text})"


def _space(lang):
    """Space between sentences: none in Chinese."""
    return "" if lang == "zh" else " "


def _join(items, lang):
    return join_list(items, lang)


def _sep(lang):
    return "；" if lang == "zh" else "; "


def _sig_legend(res, lang, *, low=True):
    text = t("gaps.table.sig_legend", lang, conf=_conf(res))
    if low:
        text += _space(lang) + t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}")
    return text


def _dims(res):
    return res.diagnosis["dimension"].tolist()


def _row(table, **keys):
    m = np.ones(len(table), dtype=bool)
    for k, v in keys.items():
        m &= (table[k] == v).to_numpy()
    return table[m].iloc[0]


# --------------------------------------------------------------------------------------------
# sentences
# --------------------------------------------------------------------------------------------
def _source_clause(key, value, flag, lang):
    """Plain words for one internal gap, e.g. managers underestimate expectations by 1.44 points."""
    return t(f"gaps.source.{key}", lang, x=_a(value)) + _lowmark_md(flag)


def _main_source_clause(row, lang):
    key = row["main_source"]
    if key == "none":
        return t("gaps.source.none", lang)
    no = {"knowledge": 1, "standards": 2, "delivery": 3, "communication": 4}[key]
    return _source_clause(key, row[f"gap{no}"], row.get(f"gap{no}_base_flag"), lang)


def key_findings(res, *, lang="en", codebook=None):
    """The executive summary's key findings: overall gap, largest shortfalls, where the provider
    loses most, where each shortfall comes from, dimensions without a shortfall and (when a
    comparison was asked for) the largest group difference.

    Parameters
    ----------
    res : FiveGapResult
    lang : {"en", "zh"}
    codebook : Codebook, optional
        For dimension and group labels.

    Returns
    -------
    list of str
        Markdown-bold sentences for :func:`workbench.report.findings`.
    """
    sig = _sig(res)
    conf = _conf(res)
    out = []
    ov = res.overall("gap5")
    wov = res.overall("weighted")
    fields = dict(x=_a(ov["gap"]), gap=_g(ov["gap"]), ci=_ci(ov["ci_low"], ov["ci_high"], lang),
                  p=_ptext(ov["p_val"]), conf=conf, w=_g(wov["weighted_gap"]))
    if not _nan(ov["p_val"]) and ov["p_val"] < sig:
        out.append(t("gaps.f.overall_short" if ov["gap"] < 0 else "gaps.f.overall_surplus", lang, **fields))
    else:
        out.append(t("gaps.f.overall_ns", lang, **fields))

    diag = res.diagnosis
    zone = res.dimension_rows("zone").set_index("dimension")
    short = diag[diag["gap5_sig"] & (diag["gap5"] < 0)].sort_values("gap5")
    name = {d: label(d, lang, codebook) for d in _dims(res)}
    if len(short) == 0:
        out.append(t("gaps.f.no_shortfall_anywhere", lang, conf=conf))
    else:
        top = short.head(2)
        parts = [_bold(name[d]) + _paren(_g(g), lang) for d, g in zip(top["dimension"], top["gap5"])]
        key = "gaps.f.largest_one" if len(short) == 1 else "gaps.f.largest_two"
        text = t(key, lang, list=_join(parts, lang), conf=conf)
        below = [name[d] for d in top["dimension"] if zone.loc[d, "position_sig"] == "below"]
        if below:
            text += _space(lang) + t("gaps.f.below_zone", lang, list=_join(below, lang))
        out.append(text)

    total = float(diag["loss"].sum())
    if total > 0:
        ranked = diag[diag["loss"] > 0].sort_values("priority")
        r1 = ranked.iloc[0]
        fields = dict(d1=_bold(name[r1["dimension"]]), imp1=fmt_num(r1["importance"], 0),
                      s1=_bold(_pct(r1["loss"] / total)))
        if len(ranked) > 1:
            r2 = ranked.iloc[1]
            out.append(t("gaps.f.loss_two", lang, d2=name[r2["dimension"]], imp2=fmt_num(r2["importance"], 0),
                         s2=_pct(r2["loss"] / total), s12=_pct((r1["loss"] + r2["loss"]) / total), **fields))
        else:
            out.append(t("gaps.f.loss_one", lang, **fields))

    explained = diag[(diag["shortfall"] > 0) & diag["gap5_sig"]].sort_values("priority")
    if len(explained):
        parts = [t("gaps.f.source_item", lang, dim=_bold(name[r["dimension"]]), clause=_main_source_clause(r, lang))
                 for _, r in explained.iterrows()]
        out.append(t("gaps.f.sources", lang, list=_sep(lang).join(parts)))

    fine = diag[~(diag["gap5_sig"] & (diag["gap5"] < 0))]
    for _, r in fine.iterrows():
        zpos = zone.loc[r["dimension"], "position_sig"]
        fields = dict(dim=_bold(name[r["dimension"]]), gap=_g(r["gap5"]))
        if r["gap5_sig"] and r["gap5"] > 0:
            text = t("gaps.f.surplus_dim", lang, **fields)
        else:
            text = t("gaps.f.no_shortfall_dim", lang, **fields)
        if zpos == "within":
            text += t("gaps.f.within_zone", lang)
        elif zpos == "above":
            text += t("gaps.f.above_zone", lang)
        if r["verdict"] == "no_shortfall_internal_risk":
            text += t("gaps.f.internal_risk", lang, clause=_main_source_clause(r, lang))
        out.append(text + t("gaps.f.end", lang))

    out.extend(segment_findings(res, lang=lang, codebook=codebook, top=1))
    return out


def first_actions(res, *, lang="en", codebook=None, top=3):
    """What to do first: the ``top`` actions of the prioritised list, in plain words.

    Each names the dimension, the remedy (Zeithaml, Parasuraman & Berry 1990), the internal gap
    it addresses with its size, and the share of the importance-weighted shortfall attributed to
    it (descriptively).
    """
    acts = res.actions
    if len(acts) == 0:
        return [t("gaps.act.none", lang)]
    total = float(res.diagnosis["loss"].sum())
    out = []
    for _, r in acts.head(int(top)).iterrows():
        key = "gaps.act.item_unexplained" if int(r["gap_no"]) == 5 else "gaps.act.item"
        flag = None
        if int(r["gap_no"]) < 5:
            flag = _row(res.diagnosis, dimension=r["dimension"]).get(f"gap{int(r['gap_no'])}_base_flag")
        out.append(t(key, lang, rank=int(r["rank"]), dim=label(r["dimension"], lang, codebook),
                     action=r[f"action_text_{lang}"], gap=gap_label(r["gap_no"], lang) + _lowmark_md(flag),
                     x=_g(r["gap"]), share=_pct(r["loss"] / total if total > 0 else np.nan)))
    return out


def diagnosis_sentences(res, *, lang="en", codebook=None):
    """One plain-word verdict per dimension (gap 5 and what lies behind it)."""
    out = []
    for _, r in res.diagnosis.iterrows():
        others = [k for k in str(r["sources"]).split(";") if k and k != r["main_source"]]
        nos = {"knowledge": 1, "standards": 2, "delivery": 3, "communication": 4}
        also = ""
        if others:
            also = t("gaps.v.also", lang, list=_join([gap_label(nos[k], lang) + _paren(_g(r[f"gap{nos[k]}"]), lang)
                                                      for k in others], lang))
        out.append(t(f"gaps.v.{r['verdict']}", lang, dim=_bold(label(r["dimension"], lang, codebook)),
                     gap=_g(r["gap5"]), clause=_main_source_clause(r, lang), also=also))
    return out


def segment_findings(res, *, lang="en", codebook=None, top=3):
    """Findings of the group comparison: for the ``top`` dimensions with a significant difference
    between groups (largest first), the group that stands out and the groups it differs from;
    a sentence that no difference is significant; nothing without a comparison."""
    if res.comparisons is None or not len(res.by):
        return []
    by = res.by[0] if len(res.by) == 1 else None
    by_name = label(by, lang, codebook, kind="question") if by else " × ".join(res.by)
    cmp = res.comparisons[res.comparisons["level"] == "dimension"]
    if cmp["p_val"].isna().all():
        return [t("gaps.f.seg_untested", lang, by=by_name,
                  min_test=f"{res.settings['low_base']['min_test']:g}")]
    sig = cmp[cmp["p_val"] < _sig(res)]
    if len(sig) == 0:
        return [t("gaps.f.seg_none", lang, by=by_name, conf=_conf(res))]

    def name(g):
        return group_label(by, g, lang, codebook) if by else str(g)

    order = sig.assign(_abs=sig["diff"].abs()).groupby("dimension", sort=False)["_abs"].max()
    out = []
    for dim in order.sort_values(ascending=False).index[: int(top)]:
        pairs = sig[sig["dimension"] == dim]
        counts = pd.concat([pairs["group_a"], pairs["group_b"]]).value_counts()
        g = counts.index[0]  # the group in most significant differences stands out
        mine = pairs[(pairs["group_a"] == g) | (pairs["group_b"] == g)]
        est = {**dict(zip(mine["group_a"], mine["est_a"])), **dict(zip(mine["group_b"], mine["est_b"]))}
        others = [o for o in dict.fromkeys(list(mine["group_a"]) + list(mine["group_b"])) if o != g]
        big = mine.loc[mine["diff"].abs().idxmax()]
        out.append(t("gaps.f.seg_diff", lang, by=by_name, dim=_bold(label(dim, lang, codebook)), g=name(g),
                     e=_g(est[g]), list=_join([name(o) + _paren(_g(est[o]), lang) for o in others], lang),
                     diff=_a(big["diff"]), p=_ptext(big["p_val"])))
    return out


def _notes(res, lang, codebook=None):
    """``[(is_low_base, key, fields)]`` behind :func:`notes` (``key`` an i18n label)."""
    out = []
    caution = f"{res.settings['low_base']['caution']:g}"
    min_test = f"{res.settings['low_base']['min_test']:g}"
    for key in ("managers", "staff"):
        b = res.bases.get(key)
        if b and b["base_flag"] != "ok":
            out.append((True, f"gaps.note.low_{key}_{b['base_flag']}",
                        {"n": f"{b['n']:,}", "caution": caution, "min_test": min_test}))
    if res.gap5_by is not None:
        rows = res.gap5_by[res.gap5_by["level"] == "overall"]
        low = rows[rows["base_flag"] != "ok"]
        if len(low):
            by = list(res.by)
            names = [(group_label(by[0], r[by[0]], lang, codebook) if len(by) == 1
                      else " · ".join(str(v) for v in r[by])) + _paren(f"n={int(r['n'])}", lang)
                     for _, r in low.iterrows()]
            out.append((True, "gaps.note.low_groups",
                        {"list": _join(names, lang), "caution": caution, "min_test": min_test}))
    for cat, msg in res.warnings:
        if cat != "LowBaseWarning":  # low bases are covered above, in the report's language
            out.append((False, "gaps.note.other", {"msg": msg}))
    return out


def notes(res, *, lang="en", codebook=None):
    """Cautions for the report in its language: low bases (managers, staff, groups) and any other
    workbench warning raised during the analysis (shown as it was raised)."""
    return [t(key, lang, **fields) for _, key, fields in _notes(res, lang, codebook)]


def emit_notes(res, *, lang="en", codebook=None):
    """Raise :func:`notes` as workbench warnings, which a report shows as caution boxes.

    Low-base cautions are :class:`~workbench.errors.LowBaseWarning`, the others
    :class:`~workbench.errors.WorkbenchWarning`; each carries its label key, so ``report.setup``
    shows it in the report's language (the message itself is English).
    """
    import warnings

    from ..errors import LowBaseWarning, WorkbenchWarning

    for low, key, fields in _notes(res, lang, codebook):
        category = LowBaseWarning if low else WorkbenchWarning
        warnings.warn(category(t(key, "en", **fields), key=key, **fields), stacklevel=2)


def as_markdown(items):
    """A list of sentences as a Markdown bullet list."""
    return "\n".join("- " + str(x).replace("*", "\\*") for x in items)


def method_notes(res, *, lang="en", codebook=None):
    """Short method notes (scale, tests, weighting, zone, importance, attribution, reliability)."""
    w = res.settings.get("weight")
    weight = t("gaps.m.weighted", lang, weight=w) if w else t("gaps.m.unweighted", lang)
    keys = ["gaps.m.scale", "gaps.m.tests", None, "gaps.m.zone", "gaps.m.importance", "gaps.m.gaps14",
            "gaps.m.reliability", "gaps.m.lowbase"]
    out = []
    for k in keys:
        if k is None:
            out.append(weight)
        else:
            out.append(t(k, lang, conf=_conf(res), caution=f"{res.settings['low_base']['caution']:g}",
                         min_test=f"{res.settings['low_base']['min_test']:g}",
                         min_answered=f"{100 * res.settings['min_answered']:.0f}"))
    if res.comparisons is not None:
        out.append(t("gaps.m.compare", lang, conf=_conf(res)))
    return out


# --------------------------------------------------------------------------------------------
# tables (keyword arguments of report.table)
# --------------------------------------------------------------------------------------------
def _spec(df, caption, note=None, text_columns=None):
    """Keyword arguments of ``report.table``: cells are formatted here already (text); the
    ``text_columns`` are left-aligned, the others (numbers) right-aligned."""
    return {"df": df.reset_index(drop=True), "caption": caption, "note": note,
            "formats": {c: "text" for c in df.columns},
            "text_columns": text_columns if text_columns is not None else [df.columns[0]]}


def bases_table(res, *, lang="en", codebook=None):
    """Who answered what: customers, managers and front-line staff with their bases."""
    rows = []
    for key in ("customers", "managers", "staff"):
        b = res.bases.get(key)
        if not b:
            continue
        mark = _lowmark(b["base_flag"])
        rows.append({t("gaps.col.respondents", lang): t(f"gaps.base.{key}_name", lang),
                     t("gaps.col.n", lang): f"{b['n']:,}" + mark,
                     t("gaps.col.n_eff", lang): f"{b['n_eff']:,.0f}" + mark,
                     t("gaps.col.used_for", lang): t(f"gaps.base.{key}_use", lang)})
    df = pd.DataFrame(rows)
    note = t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}")
    return _spec(df, t("gaps.cap.bases", lang), note, text_columns=[df.columns[0], df.columns[3]])


def gap_definitions_table(res, *, lang="en", codebook=None):
    """The five gaps of the model in the field's wording, each with how this report measures it
    and who answered, with their bases (low bases marked)."""
    bank = _bank(lang)

    def base(key):
        b = res.bases.get(key)
        if not b:
            return ""
        text = f"n={b['n']:,}"
        if abs(b["n_eff"] - b["n"]) > 0.5:
            text += t("gaps.base.eff_short", lang, n_eff=f"{b['n_eff']:,.0f}")
        return text + _lowmark(b["base_flag"])

    who = {1: ("managers", "customers"), 2: ("managers",), 3: ("staff",), 4: ("staff",), 5: ("customers",)}
    rows = []
    for _, r in bank.gaps.iterrows():
        names = [t(f"gaps.base.{k}_name", lang) + _paren(base(k), lang) for k in who[int(r["gap_no"])]]
        rows.append({t("gaps.col.gap_short", lang): r["label"], t("gaps.col.measured_as", lang): r["measure"],
                     t("gaps.col.respondents", lang): _join(names, lang)})
    df = pd.DataFrame(rows)
    note = t("gaps.table.negative", lang) + _space(lang) + t(
        "gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}")
    return _spec(df, t("gaps.cap.gap_defs", lang), note, text_columns=list(df.columns))


def dimension_table(res, *, lang="en", codebook=None):
    """Gap 5 per dimension and overall: expectation, perception, gap with CI and p value, base."""
    sig = _sig(res)
    rows = res.gap5[res.gap5["level"] != "item"]
    out = []
    for _, r in rows.iterrows():
        name = label(r["dimension"], lang, codebook) if r["level"] == "dimension" else t("gaps.overall", lang)
        out.append({
            t("gaps.col.dimension", lang): name,
            t("gaps.col.expectation", lang): fmt_num(r["expectation"], 2),
            t("gaps.col.perception", lang): fmt_num(r["perception"], 2),
            t("gaps.col.gap", lang): _cell(r["gap"], r["p_val"], r["base_flag"], sig),
            t("gaps.col.ci", lang, conf=_conf(res)): _ci(r["ci_low"], r["ci_high"], lang),
            t("gaps.col.p", lang): fmt_p(r["p_val"]),
            t("gaps.col.n", lang): f"{int(r['n']):,}",
        })
    return _spec(pd.DataFrame(out), t("gaps.cap.dimensions", lang), _sig_legend(res, lang))


def weighted_table(res, *, lang="en", codebook=None):
    """Weighted SERVQUAL: importance points, gap, weighted contribution and share of the shortfall."""
    sig = _sig(res)
    w = res.weighted
    diag = res.diagnosis.set_index("dimension")
    total = float(diag["loss"].sum())
    out = []
    for _, r in w.iterrows():
        dim = r["dimension"]
        is_dim = r["level"] == "dimension"
        out.append({
            t("gaps.col.dimension", lang): label(dim, lang, codebook) if is_dim else t("gaps.overall_weighted", lang),
            t("gaps.col.importance", lang): fmt_num(r["importance"], 1),
            t("gaps.col.gap", lang): _g(r["gap"]),
            t("gaps.col.weighted_gap", lang): _cell(r["weighted_gap"], r["p_val"], r["base_flag"], sig, digits=3),
            t("gaps.col.loss_share", lang): (_pct(diag.loc[dim, "loss"] / total) if total > 0 else "–") if is_dim
            else ("100%" if total > 0 else "–"),
            t("gaps.col.priority", lang): str(int(diag.loc[dim, "priority"])) if is_dim and diag.loc[dim, "loss"] > 0
            else "–",
        })
    n = int(w["n"].max())
    return _spec(pd.DataFrame(out), t("gaps.cap.weighted", lang, n=f"{n:,}"),
                 _sig_legend(res, lang) + _space(lang) + t("gaps.table.weighted_note", lang))


def item_table(res, *, lang="en", codebook=None):
    """Every item: expectation, perception, gap (with significance) and its zone position."""
    sig = _sig(res)
    items = res.item_rows("gap5")
    zone = res.item_rows("zone").set_index("item")
    out = []
    for _, r in items.iterrows():
        pos = zone.loc[r["item"], "position_sig"]
        out.append({
            t("gaps.col.item", lang): label(r["item"], lang, codebook, kind="item"),
            t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook),
            t("gaps.col.expectation", lang): fmt_num(r["expectation"], 2),
            t("gaps.col.perception", lang): fmt_num(r["perception"], 2),
            t("gaps.col.gap", lang): _cell(r["gap"], r["p_val"], r["base_flag"], sig),
            t("gaps.col.zone", lang): "–" if _nan(pos) else t(f"gaps.position.{pos}", lang),
        })
    df = pd.DataFrame(out)
    return _spec(df, t("gaps.cap.items", lang), _sig_legend(res, lang, low=False),
                 text_columns=[df.columns[0], df.columns[1], df.columns[5]])


def zone_table(res, *, lang="en", codebook=None):
    """Zone of tolerance per dimension: adequate, desired, perception, MSA, MSS and position."""
    sig = _sig(res)
    z = res.zone[res.zone["level"] != "item"]
    out = []
    for _, r in z.iterrows():
        pos = r["position_sig"]
        out.append({
            t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook) if r["level"] == "dimension"
            else t("gaps.overall", lang),
            t("gaps.col.adequate", lang): fmt_num(r["adequate"], 2),
            t("gaps.col.desired", lang): fmt_num(r["desired"], 2),
            t("gaps.col.perception", lang): fmt_num(r["perception"], 2),
            t("gaps.col.msa", lang): _cell(r["msa"], r["msa_p_val"], r["base_flag"], sig),
            t("gaps.col.mss", lang): _cell(r["mss"], r["mss_p_val"], r["base_flag"], sig),
            t("gaps.col.zone", lang): "–" if _nan(pos) else t(f"gaps.position.{pos}", lang),
        })
    df = pd.DataFrame(out)
    return _spec(df, t("gaps.cap.zone", lang), _sig_legend(res, lang) + _space(lang) + t("gaps.table.zone_note", lang),
                 text_columns=[df.columns[0], df.columns[6]])


def diagnosis_table(res, *, lang="en", codebook=None):
    """Gaps 1-4 beside gap 5 per dimension, with the main internal source."""
    sig = _sig(res)
    out = []
    for _, r in res.diagnosis.iterrows():
        row = {t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook),
               t("gaps.col.gap5", lang): _cell(r["gap5"], r["gap5_p_val"], r.get("gap5_base_flag"), sig)}
        for k in (1, 2, 3, 4):
            row[t(f"gaps.col.gap{k}", lang)] = _cell(r[f"gap{k}"], r[f"gap{k}_p_val"], r.get(f"gap{k}_base_flag"), sig)
        key = r["main_source"]
        nos = {"knowledge": 1, "standards": 2, "delivery": 3, "communication": 4}
        row[t("gaps.col.main_source", lang)] = gap_label(nos[key], lang) if key in nos else t("gaps.none", lang)
        out.append(row)
    df = pd.DataFrame(out)
    note = _sig_legend(res, lang) + _space(lang) + t("gaps.table.gap_defs", lang)
    return _spec(df, t("gaps.cap.diagnosis", lang), note,
                 text_columns=[df.columns[0], df.columns[6]])


def antecedents_table(res, *, lang="en", codebook=None):
    """The antecedent scales of gaps 1-4: mean with CI, Cronbach's alpha, base, direction."""
    a = res.antecedents.sort_values("gap_no", kind="stable")
    out = []
    for _, r in a.iterrows():
        mark = _lowmark(r.get("base_flag"))
        out.append({
            t("gaps.col.gap_short", lang): t("gaps.gap_no", lang, k=int(r["gap_no"])) if not _nan(r["gap_no"]) else "–",
            t("gaps.col.scale", lang): label(r["scale"], lang, codebook, kind="scale"),
            t("gaps.col.mean", lang): fmt_num(r["mean"], 2) + mark,
            t("gaps.col.ci", lang, conf=_conf(res)): t("gaps.ci_range", lang, lo=fmt_num(r["ci_low"], 2),
                                                       hi=fmt_num(r["ci_high"], 2)),
            t("gaps.col.alpha", lang): fmt_num(r["alpha"], 2),
            t("gaps.col.n", lang): f"{int(r['n']):,}" + mark,
            t("gaps.col.effect", lang): t("gaps.effect.narrows" if r["direction"] > 0 else "gaps.effect.widens", lang)
            if not _nan(r["direction"]) else "–",
        })
    df = pd.DataFrame(out)
    return _spec(df, t("gaps.cap.antecedents", lang),
                 t("gaps.table.antecedents_note", lang) + _space(lang) +
                 t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}"),
                 text_columns=[df.columns[0], df.columns[1], df.columns[6]])


def action_table(res, *, lang="en", codebook=None):
    """The prioritised action list: dimension, internal gap, its size, share of the weighted
    shortfall attributed to it, and the remedy."""
    acts = res.actions
    total = float(res.diagnosis["loss"].sum())
    out = []
    for _, r in acts.iterrows():
        k = int(r["gap_no"])
        flag = _row(res.diagnosis, dimension=r["dimension"]).get(f"gap{k}_base_flag") if k < 5 else None
        out.append({
            "#": str(int(r["rank"])),
            t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook),
            t("gaps.col.source", lang): gap_label(k, lang) + _lowmark(flag),
            t("gaps.col.gap_pts", lang): _g(r["gap"]),
            t("gaps.col.loss_share", lang): _pct(r["loss"] / total) if total > 0 else "–",
            t("gaps.col.action", lang): r[f"action_text_{lang}"],
        })
    if not out:
        df = pd.DataFrame({t("gaps.col.action", lang): [t("gaps.act.none", lang)]})
        return _spec(df, t("gaps.cap.actions", lang))
    df = pd.DataFrame(out)
    return _spec(df, t("gaps.cap.actions", lang), t("gaps.table.actions_note", lang),
                 text_columns=[df.columns[1], df.columns[2], df.columns[5]])


def reliability_table(res, *, lang="en", codebook=None):
    """Cronbach's alpha (with Feldt interval) of expectations, perceptions and gaps per dimension."""
    rel = res.reliability
    out = []
    for dim in _dims(res):
        sub = rel[rel["dimension"] == dim].set_index("measure")
        row = {t("gaps.col.dimension", lang): label(dim, lang, codebook),
               t("gaps.col.n_items", lang): str(int(sub["n_items"].iloc[0]))}
        for m in ("expectation", "perception", "gap"):
            r = sub.loc[m]
            row[t(f"gaps.col.alpha_{m}", lang)] = "–" if _nan(r["alpha"]) else \
                f"{r['alpha']:.2f} ({r['ci_low']:.2f}–{r['ci_high']:.2f})"
        row[t("gaps.col.n", lang)] = f"{int(sub['n'].max()):,}"
        out.append(row)
    return _spec(pd.DataFrame(out), t("gaps.cap.reliability", lang),
                 t("gaps.table.reliability_note", lang, conf=_conf(res)))


def compare_table(res, *, lang="en", codebook=None):
    """Gap 5 per dimension for every group of the comparison, with column letters marking the
    groups a value is significantly higher (a smaller shortfall) than."""
    from ..tables import LETTERS, sig_letters

    if res.gap5_by is None:
        raise ValueError("compare_table: the result has no group comparison (five_gap_report(..., by=...))")
    by = list(res.by)
    rows = res.gap5_by[res.gap5_by["level"] != "item"].copy()
    rows["_g"] = rows[by].astype(str).agg(" · ".join, axis=1) if len(by) > 1 else rows[by[0]]
    groups = list(dict.fromkeys(rows["_g"]))
    if len(groups) > len(LETTERS):
        raise ValueError(f"compare_table: {len(groups)} groups are more than the {len(LETTERS)} column letters")
    names = [group_label(by[0], g, lang, codebook) if len(by) == 1 else str(g) for g in groups]
    heads = [f"{n} ({LETTERS[i]})" for i, n in enumerate(names)]
    cmp = res.comparisons
    sig = _sig(res)
    out = []
    keys = rows[["level", "dimension"]].drop_duplicates()
    for _, k in keys.iterrows():
        sub = rows[(rows["level"] == k["level"]) & (rows["dimension"].fillna("") == ("" if _nan(k["dimension"])
                                                                                      else k["dimension"]))]
        sub = sub.set_index("_g").reindex(groups)
        est = sub["gap"].to_numpy(dtype=float)
        p = np.full((len(groups), len(groups)), np.nan)
        if cmp is not None:
            c = cmp[(cmp["level"] == k["level"]) & (cmp["dimension"].fillna("") == ("" if _nan(k["dimension"])
                                                                                     else k["dimension"]))]
            pos = {g: i for i, g in enumerate(groups)}
            for _, r in c.iterrows():
                i, j = pos[str(r["group_a"])], pos[str(r["group_b"])]
                p[i, j] = p[j, i] = r["p_val"]
        letters = sig_letters(est, p, alpha=sig)
        name = label(k["dimension"], lang, codebook) if k["level"] == "dimension" else t("gaps.overall", lang)
        row = {t("gaps.col.dimension", lang): name}
        for h, e, lt, flag in zip(heads, est, letters, sub["base_flag"]):
            row[h] = ("–" if _nan(e) else fmt_signed(e, 2)) + (f" {lt}" if lt else "") + _lowmark(flag)
        out.append(row)
    base = {t("gaps.col.dimension", lang): t("gaps.col.base_n", lang)}
    ov = rows[rows["level"] == "overall"].set_index("_g").reindex(groups)
    for h, n, flag in zip(heads, ov["n"], ov["base_flag"]):
        base[h] = ("–" if _nan(n) else f"{int(n):,}") + _lowmark(flag)
    out.append(base)
    by_name = label(by[0], lang, codebook, kind="question") if len(by) == 1 else " × ".join(by)
    return _spec(pd.DataFrame(out), t("gaps.cap.compare", lang, by=by_name),
                 t("gaps.table.letters_note", lang, conf=_conf(res)) + _space(lang) +
                 t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}"))
