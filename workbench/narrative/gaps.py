"""Words of the 5-GAP report, written from results in English or Chinese.

The key findings, the "what to do first" list, the plain-word diagnosis and the cautions are
sentences built from a :class:`workbench.gaps.FiveGapResult`; the ``*_table`` functions return
the keyword arguments of :func:`workbench.report.table` (numbers as numbers under translated
headers, with named formats, a ``sig`` frame for significance and a ``base_flags`` frame for low
bases, and a caption), so a notebook shows a table with one call::

    report.table(**story.dimension_table(res, lang=ctx.lang, codebook=ctx.codebook))

A study gives what it has: with the customer survey only there are no gaps 1-4, and a survey
without adequate/desired or importance questions has no zone of tolerance or weighted score.
:func:`section` and :func:`require` let a notebook show each optional section, or one note in the
report's language saying why it is not there (and a note instead of a lost report when a section
fails)::

    with story.section(res, **words):
        story.require(res, "zone")
        report.heading(ctx.t("gaps.h.zone"), 1)
        ...

Every visible word comes from ``workbench/data/i18n/gaps.yaml`` (or the codebook's labels and the
SERVQUAL item bank for dimension, item, scale and group names); scales, point totals and the
number of dimensions come from the result. Numbers are never rounded before they reach this
module; it formats them for reading.
"""

from __future__ import annotations

import contextlib
import math
import sys
import traceback

import numpy as np
import pandas as pd

from . import fmt_num, fmt_p, fmt_signed, join_list, md_escape, t

__all__ = [
    "label",
    "group_label",
    "gap_label",
    "MAX_GROUPS",
    "Unavailable",
    "require",
    "section",
    "section_text",
    "summary_notes",
    "key_findings",
    "first_actions",
    "diagnosis_sentences",
    "segment_findings",
    "notes",
    "emit_notes",
    "NOTE_PARTS",
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
    "actions_file",
    "diagnosis_file",
]

#: Most groups a comparison section shows (a chart and table stay readable).
MAX_GROUPS = 8


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
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
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
    """``text`` (a label or a number) in Markdown bold, its own markup characters shown as typed."""
    return f"**{md_escape(text)}**"


def _lowmark(flag):
    return "*" if isinstance(flag, str) and flag != "ok" else ""


def _lowmark_md(flag):
    """The low-base mark inside Markdown text (escaped, so it is not read as emphasis)."""
    return "\\*" if isinstance(flag, str) and flag != "ok" else ""


def _sig_mark(est, p_val, sig_level):
    """``"up"``/``"down"`` for a significant surplus/shortfall (a table's ``sig`` frame), else ``""``."""
    if _nan(est) or _nan(p_val) or p_val >= sig_level:
        return ""
    return "down" if est < 0 else "up"


def _flag(flag):
    """A base flag for a table's ``base_flags`` frame: ``"caution"`` for every low base (shown with
    ``*``, as the legend says), ``""`` otherwise."""
    return "caution" if isinstance(flag, str) and flag not in ("ok", "") else ""


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


def _r2(x):
    """Two decimals with a true minus sign: ``-0.07`` -> ``"−0.07"``."""
    return "–" if _nan(x) else f"{x:.2f}".replace("-", "−")


def _num(x):
    """A scale end or point total as written: ``7.0`` -> ``"7"``, ``2.5`` -> ``"2.5"``."""
    return f"{float(x):g}"


def _scale(res):
    """``{lo, hi, mid}`` of the SERVQUAL answer scale, as text for labels."""
    lo, hi = res.scale
    return {"lo": _num(lo), "hi": _num(hi), "mid": _num((lo + hi) / 2)}


def _total(res):
    return _num(res.settings.get("importance_total", 100))


def _weighted(res):
    """Whether the shortfall is weighted by the customers' importance points."""
    return res.weighted is not None


def _n_dims(n, lang):
    return t("gaps.n_dims_one" if n == 1 else "gaps.n_dims", lang, n=str(n))


def _of_shortfall(res, lang):
    """"the weighted shortfall" or "the shortfall" (dimensions counted equally)."""
    return t("gaps.word.shortfall_weighted" if _weighted(res) else "gaps.word.shortfall_equal", lang)


def _loss_col(res, lang):
    return t("gaps.col.loss_share" if _weighted(res) else "gaps.col.loss_share_equal", lang)


# --------------------------------------------------------------------------------------------
# optional sections
# --------------------------------------------------------------------------------------------
class Unavailable(Exception):
    """Raised by :func:`require` inside :func:`section`: the section is not part of this report.

    ``key`` names the note that says why (None: nothing to say, e.g. a comparison nobody asked
    for, or the antecedents of a study without a staff survey, already said once).
    """

    def __init__(self, key=None, **fields):
        super().__init__(key or "")
        self.key = key
        self.fields = fields


def _compare_problem(res):
    """Why the comparison section cannot be shown: ``(key, fields)``, or None when it can."""
    if not res.by:
        return (None, {})
    skip = res.skipped.get("compare")
    if skip:
        return (f"gaps.skip.compare.{skip[0]}", dict(skip[1]))
    rows = res.gap5_by[res.gap5_by["level"] == "overall"]
    n_groups = len(rows)
    if n_groups > MAX_GROUPS:
        return ("gaps.skip.compare.too_many", {"n": str(n_groups), "max": str(MAX_GROUPS)})
    if res.comparisons is None or res.comparisons["p_val"].isna().all():
        return ("gaps.skip.compare.untested", {"min_test": f"{res.settings['low_base']['min_test']:g}"})
    return None


def require(res, part):
    """Raise :class:`Unavailable` when ``part`` is not in this study's result.

    Parts: ``weighted``, ``zone``, ``diagnosis`` (gaps 1-4; silent without a staff survey: the
    summary says so once), ``antecedents``, ``compare`` (silent when no comparison was asked
    for; a note when there is one group, too many, or every group is below the base for tests).
    """
    if part in ("weighted", "zone"):
        if getattr(res, part) is None:
            reason, fields = res.skipped.get(part, ("absent", {}))
            raise Unavailable(f"gaps.skip.{part}.{reason}", **fields)
    elif part == "diagnosis":
        if not res.has_staff:
            raise Unavailable(None)
    elif part == "antecedents":
        if res.antecedents is None:
            reason = res.skipped.get("antecedents", ("no_staff", {}))[0]
            raise Unavailable(None if reason == "no_staff" else f"gaps.skip.antecedents.{reason}")
    elif part == "compare":
        problem = _compare_problem(res)
        if problem is not None:
            key, fields = problem
            with_scope = {"by": _by_name(res, "en", None), **fields}
            raise Unavailable(key, **with_scope)
    else:
        raise ValueError(f"require: unknown part {part!r}; expected weighted, zone, diagnosis, "
                         "antecedents or compare")


@contextlib.contextmanager
def section(res=None, *, lang="en", codebook=None):
    """Run one optional section of the report; what stops it becomes a note, not a lost report.

    :class:`Unavailable` (from :func:`require`) shows its note in ``lang``; any other error shows
    a note that the section could not be produced for this study, and its traceback goes to
    stderr (kept in the executed notebook, left out of the report).
    """
    from .. import report

    try:
        yield
    except Unavailable as exc:
        if exc.key:
            fields = dict(exc.fields)
            if "by" in fields and res is not None:  # the comparison column's label in the report language
                fields["by"] = _by_name(res, lang, codebook)
            report.note(t(exc.key, lang, **fields))
    except Exception as exc:  # noqa: BLE001 - one failing section must not lose the report
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        report.note(t("gaps.note.section_failed", lang))


def _by_name(res, lang, codebook):
    by = list(res.by)
    if not by:
        return ""
    return label(by[0], lang, codebook, kind="question") if len(by) == 1 else " × ".join(by)


def section_text(res, name, *, lang="en", codebook=None):
    """The short text that opens a section (``intro``, ``gap5``, ``weighted``, ``actions``),
    worded for what this study measured (number of dimensions, point total, staff survey)."""
    n = len(_dims(res))
    if name == "intro":
        return t("gaps.intro" if res.has_staff else "gaps.intro_alone", lang)
    if name == "gap5":
        return t("gaps.txt.gap5", lang, dims=_n_dims(n, lang))
    if name == "weighted":
        return t("gaps.txt.weighted", lang, total=_total(res), dims=_n_dims(n, lang))
    if name == "actions":
        key = "gaps.txt.actions" if res.has_staff else "gaps.txt.actions_alone"
        text = t(key, lang, of=_of_shortfall(res, lang))
        if not _weighted(res):
            text += _space(lang) + t("gaps.txt.equal", lang)
        return text
    raise ValueError(f"section_text: unknown section {name!r}; expected intro, gap5, weighted or actions")


def summary_notes(res, *, lang="en", codebook=None):
    """The notes under the executive summary: what the attribution to gaps 1-4 means, or that
    the staff survey was not part of the study (so gaps 1-4 and their antecedents are not in the
    report and the actions rest on gap 5 alone)."""
    if res.has_staff:
        return [t("gaps.note.descriptive", lang)]
    return [t("gaps.note.no_staff", lang)]


# --------------------------------------------------------------------------------------------
# sentences
# --------------------------------------------------------------------------------------------
_SOURCE_NO = {"knowledge": 1, "standards": 2, "delivery": 3, "communication": 4}


def _source_clause(key, value, flag, lang):
    """Plain words for one internal gap, e.g. managers underestimate expectations by 1.44 points."""
    return t(f"gaps.source.{key}", lang, x=_a(value)) + _lowmark_md(flag)


def _untested(row, lang):
    """The internal gaps that fall short but rest on too few respondents to test, as text
    (``"Gap 2 · service standards (−1.12)"``), or ``""`` when there are none."""
    parts = []
    for k in (1, 2, 3, 4):
        g, p = row.get(f"gap{k}"), row.get(f"gap{k}_p_val")
        if not _nan(g) and g < 0 and _nan(p):
            parts.append((g, gap_label(k, lang) + _paren(_g(g), lang)))
    return _join([text for _, text in sorted(parts, key=lambda x: x[0])], lang)  # largest shortfall first


def _main_source_clause(row, lang):
    key = row["main_source"]
    if key == "none":
        untested = _untested(row, lang)
        if untested:
            return t("gaps.source.none_untested", lang, list=untested)
        return t("gaps.source.none", lang)
    no = _SOURCE_NO[key]
    return _source_clause(key, row[f"gap{no}"], row.get(f"gap{no}_base_flag"), lang)


def _zone_positions(res):
    """``{dimension: position_sig}`` (empty without a zone of tolerance)."""
    if res.zone is None:
        return {}
    z = res.dimension_rows("zone")
    return dict(zip(z["dimension"], z["position_sig"]))


def key_findings(res, *, lang="en", codebook=None):
    """The executive summary's key findings: overall gap, largest shortfalls, where the provider
    loses most, where each shortfall comes from (with a staff survey), dimensions without a
    shortfall and (when a comparison was asked for) the largest group difference.

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
    fields = dict(x=_a(ov["gap"]), gap=_g(ov["gap"]), ci=_ci(ov["ci_low"], ov["ci_high"], lang),
                  p=_ptext(ov["p_val"]), conf=conf, scale=t("gaps.scale_range", lang, **_scale(res)))
    if _nan(ov["p_val"]):
        text = t("gaps.f.overall_untested", lang, min_test=f"{res.settings['low_base']['min_test']:g}", **fields)
    elif ov["p_val"] < sig:
        text = t("gaps.f.overall_short" if ov["gap"] < 0 else "gaps.f.overall_surplus", lang, **fields)
    else:
        text = t("gaps.f.overall_ns", lang, **fields)
    if _weighted(res):
        text += _space(lang) + t("gaps.f.overall_weighted", lang, w=_g(res.overall("weighted")["weighted_gap"]))
    out.append(text)

    diag = res.diagnosis
    zone = _zone_positions(res)
    short = diag[diag["gap5_sig"] & (diag["gap5"] < 0)].sort_values("gap5")
    name = {d: label(d, lang, codebook) for d in _dims(res)}
    if len(short) == 0:
        out.append(t("gaps.f.no_shortfall_anywhere", lang, conf=conf))
    else:
        top = short.head(2)
        parts = [_bold(name[d]) + _paren(_g(g), lang) for d, g in zip(top["dimension"], top["gap5"])]
        key = "gaps.f.largest_one" if len(short) == 1 else "gaps.f.largest_two"
        text = t(key, lang, list=_join(parts, lang), conf=conf)
        below = [md_escape(name[d]) for d in top["dimension"] if zone.get(d) == "below"]
        if below:
            text += _space(lang) + t("gaps.f.below_zone", lang, list=_join(below, lang))
        out.append(text)

    total = float(diag["loss"].sum())
    if total > 0:
        ranked = diag[diag["loss"] > 0].sort_values("priority")
        r1 = ranked.iloc[0]
        fields = dict(d1=_bold(name[r1["dimension"]]), imp1=fmt_num(r1["importance"], 0),
                      s1=_bold(_pct(r1["loss"] / total)), total=_total(res))
        suffix = "" if _weighted(res) else "_equal"
        if len(ranked) > 1:
            r2 = ranked.iloc[1]
            pair = "pair" if len(ranked) == 2 else "two"  # two dimensions only: "together 100%" says nothing
            out.append(t(f"gaps.f.loss_{pair}{suffix}", lang, d2=md_escape(name[r2["dimension"]]),
                         imp2=fmt_num(r2["importance"], 0), s2=_pct(r2["loss"] / total),
                         s12=_pct((r1["loss"] + r2["loss"]) / total), **fields))
        else:
            out.append(t(f"gaps.f.loss_one{suffix}", lang, **fields))

    if res.has_staff:
        explained = diag[(diag["shortfall"] > 0) & diag["gap5_sig"]].sort_values("priority")
        if len(explained):
            parts = [t("gaps.f.source_item", lang, dim=_bold(name[r["dimension"]]),
                       clause=_main_source_clause(r, lang)) for _, r in explained.iterrows()]
            out.append(t("gaps.f.sources", lang, list=_sep(lang).join(parts)))

    fine = diag[~(diag["gap5_sig"] & (diag["gap5"] < 0))]
    for _, r in fine.iterrows():
        zpos = zone.get(r["dimension"])
        fields = dict(dim=_bold(name[r["dimension"]]), gap=_g(r["gap5"]))
        if r["gap5_sig"] and r["gap5"] > 0:
            text = t("gaps.f.surplus_dim", lang, **fields)
        elif _nan(r["gap5_p_val"]):
            text = t("gaps.f.untested_dim", lang, **fields)
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


def _check_top(top):
    from ..errors import ParamsError

    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ParamsError(f"first_actions: top must be a whole number of at least 1 (how many actions to "
                          f"list), but {top!r} was passed")
    return int(top)


def first_actions(res, *, lang="en", codebook=None, top=None):
    """What to do first: the ``top`` actions of the prioritised list, in plain words.

    With a staff survey each action names the dimension, the remedy (Zeithaml, Parasuraman &
    Berry 1990), the internal gap it addresses with its size, and the share of the shortfall
    attributed to it (descriptively). Without one (gap 5 alone) it names the dimension, the item
    with the largest shortfall and the dimension's share of the shortfall.

    Parameters
    ----------
    top : int, optional
        How many actions (at least 1); default: ``res.settings["top_actions"]``.
    """
    top = _check_top(res.settings.get("top_actions", 3) if top is None else top)
    acts = res.actions
    if len(acts) == 0:
        return [t("gaps.act.none", lang)]
    total = float(res.diagnosis["loss"].sum())
    of = _of_shortfall(res, lang)
    out = []
    for _, r in acts.head(top).iterrows():
        share = _pct(r["loss"] / total if total > 0 else np.nan)
        fields = dict(rank=int(r["rank"]), dim=md_escape(label(r["dimension"], lang, codebook)),
                      action=r[f"action_text_{lang}"], share=share, of=of)
        if not res.has_staff:
            d = _row(res.diagnosis, dimension=r["dimension"])
            if _nan(d.get("worst_item")):
                start = t("gaps.act.whole", lang)
            else:
                start = t("gaps.act.worst", lang, item=md_escape(label(d["worst_item"], lang, codebook, kind="item")),
                          x=_g(d["worst_item_gap"]))
            out.append(t("gaps.act.item_alone", lang, start=start, gap=_g(r["gap5"]), **fields))
            continue
        key = "gaps.act.item_unexplained" if int(r["gap_no"]) == 5 else "gaps.act.item"
        if int(r["gap_no"]) == 5:
            untested = _untested(_row(res.diagnosis, dimension=r["dimension"]), lang)
            if untested:  # an internal gap may explain it, but could not be tested
                fields["action"] = t("gaps.act.check_untested", lang, list=untested)
        flag = None
        if int(r["gap_no"]) < 5:
            flag = _row(res.diagnosis, dimension=r["dimension"]).get(f"gap{int(r['gap_no'])}_base_flag")
        out.append(t(key, lang, gap=gap_label(r["gap_no"], lang) + _lowmark_md(flag), x=_g(r["gap"]), **fields))
    if not res.has_staff:  # one remedy for every dimension: said once
        out.append(t("gaps.act.alone_how", lang, action=_alone_action(lang)))
    return out


# --------------------------------------------------------------------------------------------
# findings that title the charts (the deck's slide titles)
# --------------------------------------------------------------------------------------------
def model_title(res, *, lang="en", codebook=None):
    """The gap model's finding: the overall gap 5 and, with a staff survey, the widest of gaps 1-4."""
    ov = res.overall("gap5")
    fields = dict(x=_a(ov["gap"]), g=_g(ov["gap"]))
    if _nan(ov["p_val"]):
        text = t("gaps.t.model_untested", lang, **fields)
    elif ov["p_val"] < _sig(res):
        text = t("gaps.t.model_short" if ov["gap"] < 0 else "gaps.t.model_surplus", lang, **fields)
    else:
        text = t("gaps.t.model_ns", lang, **fields)
    if res.has_staff:
        g14 = res.gaps14[(res.gaps14["level"] == "overall") & (res.gaps14["gap"] < 0)]
        if len(g14):
            w = g14.loc[g14["gap"].idxmin()]
            text += t("gaps.t.model_widest", lang, gap=gap_label(w["gap_no"], lang), g=_g(w["gap"]))
    return text


def gap5_title(res, *, lang="en", codebook=None):
    """The dimension chart's finding: the dimension furthest short of expectations and how many
    fall significantly short."""
    d = res.dimension_rows("gap5")
    short = d[(d["p_val"] < _sig(res)) & (d["gap"] < 0)].sort_values("gap")
    if not len(short):
        return t("gaps.t.gap5_none", lang, n=str(len(d)))
    top = short.iloc[0]
    return t("gaps.t.gap5", lang, dim=label(top["dimension"], lang, codebook), g=_g(top["gap"]),
             k=str(len(short)), n=str(len(d)))


def items_title(res, *, lang="en", codebook=None):
    """The item profile's finding: the item with the widest shortfall and how many items fall
    significantly short."""
    d = res.item_rows("gap5")
    short = d[(d["p_val"] < _sig(res)) & (d["gap"] < 0)]
    worst = d.loc[d["gap"].idxmin()]
    fields = dict(item=label(worst["item"], lang, codebook, kind="item"),
                  dim=label(worst["dimension"], lang, codebook), g=_g(worst["gap"]), k=str(len(short)),
                  n=str(len(d)))
    return t("gaps.t.items" if worst["gap"] < 0 else "gaps.t.items_none", lang, **fields)


def zone_title(res, *, lang="en", codebook=None):
    """The zone of tolerance's finding: the dimensions significantly below the adequate level."""
    z = res.dimension_rows("zone")
    below = z[z["position_sig"] == "below"]
    names = _join([label(d, lang, codebook) for d in below["dimension"]], lang)
    if not len(below):
        return t("gaps.t.zone_none", lang, n=str(len(z)))
    return t("gaps.t.zone_one" if len(below) == 1 else "gaps.t.zone", lang, list=names,
             m=str(len(z) - len(below)), n=str(len(z)))


def diagnosis_title(res, *, lang="en", codebook=None):
    """The diagnosis chart's finding: the main internal source of the largest shortfalls."""
    diag = res.diagnosis
    short = diag[diag["gap5_sig"] & (diag["gap5"] < 0)].sort_values("priority")
    if not len(short):
        return t("gaps.t.diagnosis_none", lang)
    traced = short[short["main_source"].isin(list(_SOURCE_NO))]
    if not len(traced):
        return t("gaps.t.diagnosis_unexplained", lang)
    parts = []
    for k, (_, r) in enumerate(traced.head(2).iterrows()):
        no = _SOURCE_NO[r["main_source"]]
        parts.append(t("gaps.t.diagnosis_first" if k == 0 else "gaps.t.diagnosis_next", lang,
                       dim=label(r["dimension"], lang, codebook), gap=gap_label(no, lang),
                       share=_pct(r[f"share_gap{no}"])))
    return t("gaps.t.diagnosis_sep", lang).join(parts)


def antecedents_title(res, *, lang="en", codebook=None):
    """The antecedents chart's finding: the agreement scale that narrows its gap scoring lowest."""
    a = res.antecedents
    if a is None or not len(a):
        return None
    a = a[(a["kind"] == "agreement") if "kind" in a.columns else a["mean"].notna()]
    a = a[(a["direction"] > 0) & a["mean"].notna()]
    if not len(a):
        return None
    r = a.loc[a["mean"].idxmin()]
    return t("gaps.t.antecedents", lang, scale=label(r["scale"], lang, codebook, kind="scale"),
             mean=fmt_num(r["mean"], 2), gap=gap_label(r["gap_no"], lang), **_scale(res))


def actions_title(res, *, lang="en", codebook=None):
    """The priority chart's finding: the first action and its share of the shortfall."""
    acts = res.actions
    if len(acts) == 0:
        return t("gaps.act.none", lang)
    r = acts.iloc[0]
    total = float(res.diagnosis["loss"].sum())
    fields = dict(dim=label(r["dimension"], lang, codebook), share=_pct(r["loss"] / total if total > 0 else np.nan),
                  of=_of_shortfall(res, lang))
    if int(r["gap_no"]) == 5:
        return t("gaps.t.actions_alone", lang, **fields)
    return t("gaps.t.actions", lang, gap=gap_label(r["gap_no"], lang), **fields)


def _alone_action(lang):
    """The remedy for a gap 5 shortfall when gaps 1-4 were not measured (item bank wording)."""
    text = str(_bank(lang).gaps.set_index("gap_no").loc[5, "action_alone"])
    return text[:1].lower() + text[1:] if lang == "en" else text  # it follows a colon


def diagnosis_sentences(res, *, lang="en", codebook=None):
    """One plain-word verdict per dimension (gap 5 and what lies behind it); empty without a
    staff survey (there is nothing behind gap 5 to say)."""
    if not res.has_staff:
        return []
    out = []
    for _, r in res.diagnosis.iterrows():
        others = [k for k in str(r["sources"]).split(";") if k and k != r["main_source"]]
        also = ""
        if others:
            also = t("gaps.v.also", lang, list=_join([gap_label(_SOURCE_NO[k], lang)
                                                      + _paren(_g(r[f"gap{_SOURCE_NO[k]}"]), lang)
                                                      for k in others], lang))
        verdict = r["verdict"]
        if verdict == "shortfall_unexplained" and _untested(r, lang):
            verdict = "shortfall_untested"
        out.append(t(f"gaps.v.{verdict}", lang, dim=_bold(label(r["dimension"], lang, codebook)),
                     gap=_g(r["gap5"]), clause=_main_source_clause(r, lang), also=also,
                     list=_untested(r, lang)))
    return out


def segment_findings(res, *, lang="en", codebook=None, top=3, say_untested=False):
    """Findings of the group comparison: for the ``top`` dimensions with a significant difference
    between groups (largest first), the group that stands out and the groups it differs from;
    a sentence that no difference is significant, or that the groups are too small to test;
    nothing without a comparison. ``say_untested`` adds which groups were too small to test."""
    if res.comparisons is None or not len(res.by):
        return []
    by = res.by[0] if len(res.by) == 1 else None
    by_name = md_escape(_by_name(res, lang, codebook))
    cmp = res.comparisons[res.comparisons["level"] == "dimension"]
    min_test = f"{res.settings['low_base']['min_test']:g}"
    if cmp["p_val"].isna().all():
        return [t("gaps.f.seg_untested", lang, by=by_name, min_test=min_test)]

    def name(g):
        return md_escape(group_label(by, g, lang, codebook) if by else str(g))

    tail = []
    if say_untested:
        ov = res.gap5_by[res.gap5_by["level"] == "overall"]
        small = ov[ov["base_flag"] == "no_test"]
        if len(small):
            keys = small[list(res.by)].astype(str).agg(" · ".join, axis=1) if len(res.by) > 1 else small[res.by[0]]
            names = [name(g) + _paren(f"n={int(n)}", lang) for g, n in zip(keys, small["n"])]
            tail = [t("gaps.f.seg_small", lang, list=_join(names, lang), min_test=min_test)]
    sig = cmp[cmp["p_val"] < _sig(res)]
    if len(sig) == 0:
        return [t("gaps.f.seg_none", lang, by=by_name, conf=_conf(res))] + tail

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
    return out + tail


def _warning_note(label_spec, msg, lang, codebook):
    """``(key, fields)`` of an analysis warning, in the report's language when it has a label."""
    if label_spec is None:
        return "gaps.note.other", {"msg": msg}
    key, fields = label_spec
    fields = dict(fields)
    if key == "gaps.warn.zone_inverted":
        dims = [label(d, lang, codebook) if d else t("gaps.overall", lang) for d in fields.get("dims", ())]
        fields["where"] = _join(dims, lang)
    return key, fields


NOTE_PARTS = ("bases", "groups", "other")


def _notes(res, lang, codebook=None, parts=NOTE_PARTS):
    """``[(is_low_base, key, fields)]`` behind :func:`notes` (``key`` an i18n label)."""
    unknown = set(parts) - set(NOTE_PARTS)
    if unknown:
        raise ValueError(f"notes: unknown part(s) {sorted(unknown)}; expected some of {NOTE_PARTS}")
    out = []
    caution = f"{res.settings['low_base']['caution']:g}"
    min_test = f"{res.settings['low_base']['min_test']:g}"
    if "bases" in parts:
        for key in ("customers", "managers", "staff"):
            b = res.bases.get(key)
            if b and b["base_flag"] != "ok":
                out.append((True, f"gaps.note.low_{key}_{b['base_flag']}",
                            {"n": f"{b['n']:,}", "caution": caution, "min_test": min_test}))
    if "groups" in parts and res.gap5_by is not None:
        rows = res.gap5_by[res.gap5_by["level"] == "overall"]
        low = rows[rows["base_flag"] != "ok"]
        if len(low) and len(rows) <= MAX_GROUPS:
            by = list(res.by)
            names = [(group_label(by[0], r[by[0]], lang, codebook) if len(by) == 1
                      else " · ".join(str(v) for v in r[by])) + _paren(f"n={int(r['n'])}", lang)
                     for _, r in low.iterrows()]
            out.append((True, "gaps.note.low_groups",
                        {"list": _join(names, lang), "caution": caution, "min_test": min_test}))
    if "other" in parts:
        labels = res.warning_labels or (None,) * len(res.warnings)
        for (cat, msg), spec in zip(res.warnings, labels):
            if cat != "LowBaseWarning":  # low bases are covered above, in the report's language
                key, fields = _warning_note(spec, msg, lang, codebook)
                out.append((False, key, fields))
    return out


def notes(res, *, lang="en", codebook=None, parts=NOTE_PARTS):
    """Cautions for the report in its language: low bases of customers, managers and staff
    (``"bases"``), of comparison groups (``"groups"``) and any other workbench warning raised
    during the analysis (``"other"``)."""
    return [t(key, lang, **fields) for _, key, fields in _notes(res, lang, codebook, parts)]


def emit_notes(res, *, lang="en", codebook=None, parts=NOTE_PARTS):
    """Raise :func:`notes` as workbench warnings, which a report shows as caution boxes.

    Low-base cautions are :class:`~workbench.errors.LowBaseWarning`, the others
    :class:`~workbench.errors.WorkbenchWarning`; each carries its label key, so ``report.setup``
    shows it in the report's language (the message itself is English). ``parts`` picks the
    notes, e.g. the groups' low bases in the comparison section and the others in the summary.
    """
    import warnings

    from ..errors import LowBaseWarning, WorkbenchWarning

    for low, key, fields in _notes(res, lang, codebook, parts):
        category = LowBaseWarning if low else WorkbenchWarning
        fields = {k: v for k, v in fields.items() if k != "dims"}  # labels are already in the report's language
        warnings.warn(category(t(key, "en", **fields), key=key, **fields), stacklevel=2)


def as_markdown(items):
    """A list of sentences as a Markdown bullet list."""
    return "\n".join("- " + str(x).replace("*", "\\*") for x in items)


def method_notes(res, *, lang="en", codebook=None):
    """Short method notes for what this study measured: scale, tests, weighting, zone,
    importance, gaps 1-4, reliability, low bases and group comparisons."""
    sc = _scale(res)
    common = dict(conf=_conf(res), caution=f"{res.settings['low_base']['caution']:g}",
                  min_test=f"{res.settings['low_base']['min_test']:g}",
                  min_answered=f"{100 * res.settings['min_answered']:.0f}", total=_total(res), **sc)
    out = [t("gaps.m.scale", lang, **common), t("gaps.m.tests", lang, **common)]
    w = res.settings.get("weight")
    staff = "" if res.has_staff else "_alone"
    out.append(t(f"gaps.m.weighted{staff}", lang, weight=w) if w else t(f"gaps.m.unweighted{staff}", lang))
    if res.zone is not None:
        out.append(t("gaps.m.zone", lang, **common))
    if _weighted(res):
        out.append(t("gaps.m.importance", lang, **common))
    else:
        out.append(t("gaps.m.equal", lang, **common))
    if res.has_staff:
        out.append(t("gaps.m.gaps14", lang, **common))
    out.append(t("gaps.m.reliability", lang, **common))
    out.append(t("gaps.m.lowbase", lang, **common))
    if res.comparisons is not None:
        out.append(t("gaps.m.compare", lang, **common))
    return out


# --------------------------------------------------------------------------------------------
# tables (keyword arguments of report.table)
# --------------------------------------------------------------------------------------------
def _spec(df, caption, note=None, text_columns=None, *, formats=None, sig=None, flags=None):
    """Keyword arguments of ``report.table``: numbers stay numbers with a named format each
    (``formats``; text columns are shown as they are), significance in a ``sig`` frame and low
    bases in a ``base_flags`` frame (``sig`` / ``flags``: column → one mark per row), so no
    mark is baked into a cell; the ``text_columns`` are left-aligned, the others right-aligned."""
    df = df.reset_index(drop=True)
    out = {"df": df, "caption": caption, "note": note, "formats": dict(formats or {}),
           "text_columns": text_columns if text_columns is not None else [df.columns[0]]}
    for key, marks in (("sig", sig), ("base_flags", flags)):
        marks = {c: list(v) for c, v in (marks or {}).items() if any(v)}
        if marks:
            out[key] = pd.DataFrame(marks, index=df.index)
    return out


def _customers_use(res, lang):
    parts = [t("gaps.use.gap5", lang)]
    if res.zone is not None:
        parts.append(t("gaps.use.zone", lang))
    if _weighted(res):
        parts.append(t("gaps.use.weighted", lang))
    return _join(parts, lang)


def bases_table(res, *, lang="en", codebook=None):
    """Who answered what: customers, managers and front-line staff with their bases."""
    rows = []
    for key in ("customers", "managers", "staff"):
        b = res.bases.get(key)
        if not b:
            continue
        use = _customers_use(res, lang) if key == "customers" else t(f"gaps.base.{key}_use", lang)
        rows.append({t("gaps.col.respondents", lang): t(f"gaps.base.{key}_name", lang),
                     t("gaps.col.n", lang): float(b["n"]), t("gaps.col.n_eff", lang): float(b["n_eff"]),
                     t("gaps.col.used_for", lang): use, "_flag": _flag(b["base_flag"])})
    df = pd.DataFrame(rows)
    flags = df.pop("_flag").tolist()
    n, n_eff = t("gaps.col.n", lang), t("gaps.col.n_eff", lang)
    note = t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}")
    return _spec(df, t("gaps.cap.bases", lang), note, text_columns=[df.columns[0], df.columns[3]],
                 formats={n: "int", n_eff: "int"}, flags={n: flags, n_eff: flags})


def gap_definitions_table(res, *, lang="en", codebook=None):
    """The five gaps of the model in the field's wording, each with how this report measures it
    and who answered, with their bases (low bases marked); gaps 1-4 are marked as not measured
    when the study has no staff survey."""
    bank = _bank(lang)

    def base(key):
        b = res.bases.get(key)
        if not b:
            return ""
        text = f"n={b['n']:,}"
        if abs(b["n_eff"] - b["n"]) > 0.5:
            text += t("gaps.base.eff_short", lang, n_eff=f"{b['n_eff']:,.0f}")
        return text + _lowmark(b["base_flag"])

    measured = set()
    if res.has_staff:
        measured = set(int(k) for k in res.gaps14["gap_no"].unique())
    who = {1: ("managers", "customers"), 2: ("managers",), 3: ("staff",), 4: ("staff",), 5: ("customers",)}
    rows = []
    for _, r in bank.gaps.iterrows():
        no = int(r["gap_no"])
        if no == 5 or no in measured:
            names = [t(f"gaps.base.{k}_name", lang) + _paren(base(k), lang) for k in who[no] if k in res.bases]
            resp = _join(names, lang)
        else:
            resp = t("gaps.not_measured" if res.has_staff else "gaps.not_in_study", lang)
        rows.append({t("gaps.col.gap_short", lang): r["label"], t("gaps.col.measured_as", lang): r["measure"],
                     t("gaps.col.respondents", lang): resp})
    df = pd.DataFrame(rows)
    note = t("gaps.table.negative", lang) + _space(lang) + t(
        "gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}")
    return _spec(df, t("gaps.cap.gap_defs", lang), note, text_columns=list(df.columns))


def dimension_table(res, *, lang="en", codebook=None):
    """Gap 5 per dimension and overall: expectation, perception, gap with CI and p value, base."""
    sig = _sig(res)
    rows = res.gap5[res.gap5["level"] != "item"]
    col = {k: t(f"gaps.col.{k}", lang) for k in ("dimension", "expectation", "perception", "gap", "p", "n")}
    ci = t("gaps.col.ci", lang, conf=_conf(res))
    out = []
    for _, r in rows.iterrows():
        name = label(r["dimension"], lang, codebook) if r["level"] == "dimension" else t("gaps.overall", lang)
        out.append({col["dimension"]: name, col["expectation"]: r["expectation"], col["perception"]: r["perception"],
                    col["gap"]: r["gap"], ci: _ci(r["ci_low"], r["ci_high"], lang), col["p"]: r["p_val"],
                    col["n"]: float(r["n"])})
    note = _sig_legend(res, lang) + _space(lang) + t("gaps.table.scale_note", lang, **_scale(res))
    return _spec(pd.DataFrame(out), t("gaps.cap.dimensions", lang), note, text_columns=[col["dimension"], ci],
                 formats={col["expectation"]: "num2", col["perception"]: "num2", col["gap"]: "signed2",
                          col["p"]: "pval", col["n"]: "int"},
                 sig={col["gap"]: [_sig_mark(g, p, sig) for g, p in zip(rows["gap"], rows["p_val"])]},
                 flags={col["gap"]: [_flag(f) for f in rows["base_flag"]]})


def weighted_table(res, *, lang="en", codebook=None):
    """Weighted SERVQUAL: importance points, gap, weighted contribution and share of the shortfall."""
    if res.weighted is None:
        raise ValueError("weighted_table: the result has no weighted SERVQUAL (no importance columns)")
    sig = _sig(res)
    w = res.weighted
    diag = res.diagnosis.set_index("dimension")
    total = float(diag["loss"].sum())
    col = {k: t(f"gaps.col.{k}", lang) for k in ("dimension", "importance", "gap", "weighted_gap", "loss_share",
                                                 "priority")}
    out = []
    for _, r in w.iterrows():
        dim = r["dimension"]
        is_dim = r["level"] == "dimension"
        out.append({
            col["dimension"]: label(dim, lang, codebook) if is_dim else t("gaps.overall_weighted", lang),
            col["importance"]: r["importance"], col["gap"]: r["gap"], col["weighted_gap"]: r["weighted_gap"],
            col["loss_share"]: (diag.loc[dim, "loss"] / total if is_dim else 1.0) if total > 0 else np.nan,
            col["priority"]: float(diag.loc[dim, "priority"]) if is_dim and diag.loc[dim, "loss"] > 0 else np.nan,
        })
    n = int(w["n"].max())
    return _spec(pd.DataFrame(out), t("gaps.cap.weighted", lang, n=f"{n:,}"),
                 _sig_legend(res, lang) + _space(lang) + t("gaps.table.weighted_note", lang, total=_total(res)),
                 formats={col["importance"]: "num1", col["gap"]: "signed2", col["weighted_gap"]: "num3",
                          col["loss_share"]: "pct0", col["priority"]: "int"},
                 sig={col["weighted_gap"]: [_sig_mark(g, p, sig) for g, p in zip(w["weighted_gap"], w["p_val"])]},
                 flags={col["weighted_gap"]: [_flag(f) for f in w["base_flag"]]})


def item_table(res, *, lang="en", codebook=None):
    """Every item: expectation, perception, gap (with significance) and, when the study asked for
    adequate and desired service, its zone position."""
    sig = _sig(res)
    items = res.item_rows("gap5")
    zone = res.item_rows("zone").set_index("item") if res.zone is not None else None
    col = {k: t(f"gaps.col.{k}", lang) for k in ("item", "dimension", "expectation", "perception", "gap", "zone")}
    out = []
    for _, r in items.iterrows():
        row = {col["item"]: label(r["item"], lang, codebook, kind="item"),
               col["dimension"]: label(r["dimension"], lang, codebook),
               col["expectation"]: r["expectation"], col["perception"]: r["perception"], col["gap"]: r["gap"]}
        if zone is not None:
            pos = zone.loc[r["item"], "position_sig"]
            row[col["zone"]] = "–" if _nan(pos) else t(f"gaps.position.{pos}", lang)
        out.append(row)
    df = pd.DataFrame(out)
    text = [df.columns[0], df.columns[1]] + ([df.columns[5]] if zone is not None else [])
    return _spec(df, t("gaps.cap.items", lang), _sig_legend(res, lang, low=False), text_columns=text,
                 formats={col["expectation"]: "num2", col["perception"]: "num2", col["gap"]: "signed2"},
                 sig={col["gap"]: [_sig_mark(g, p, sig) for g, p in zip(items["gap"], items["p_val"])]},
                 flags={col["gap"]: [_flag(f) for f in items["base_flag"]]})


def zone_table(res, *, lang="en", codebook=None):
    """Zone of tolerance per dimension: adequate, desired, perception, MSA, MSS and position."""
    if res.zone is None:
        raise ValueError("zone_table: the result has no zone of tolerance (no adequate/desired columns)")
    sig = _sig(res)
    z = res.zone[res.zone["level"] != "item"]
    col = {k: t(f"gaps.col.{k}", lang) for k in ("dimension", "adequate", "desired", "perception", "msa", "mss",
                                                 "zone")}
    out = []
    for _, r in z.iterrows():
        pos = r["position_sig"]
        out.append({
            col["dimension"]: label(r["dimension"], lang, codebook) if r["level"] == "dimension"
            else t("gaps.overall", lang),
            col["adequate"]: r["adequate"], col["desired"]: r["desired"], col["perception"]: r["perception"],
            col["msa"]: r["msa"], col["mss"]: r["mss"],
            col["zone"]: "–" if _nan(pos) else t(f"gaps.position.{pos}", lang),
        })
    df = pd.DataFrame(out)
    flags = [_flag(f) for f in z["base_flag"]]
    return _spec(df, t("gaps.cap.zone", lang), _sig_legend(res, lang) + _space(lang) + t("gaps.table.zone_note", lang),
                 text_columns=[df.columns[0], df.columns[6]],
                 formats={col["adequate"]: "num2", col["desired"]: "num2", col["perception"]: "num2",
                          col["msa"]: "signed2", col["mss"]: "signed2"},
                 sig={col[k]: [_sig_mark(g, p, sig) for g, p in zip(z[k], z[f"{k}_p_val"])] for k in ("msa", "mss")},
                 flags={col["msa"]: flags, col["mss"]: flags})


def diagnosis_table(res, *, lang="en", codebook=None):
    """Gaps 1-4 beside gap 5 per dimension, with the main internal source."""
    if not res.has_staff:
        raise ValueError("diagnosis_table: the result has no gaps 1-4 (no staff survey)")
    sig = _sig(res)
    d = res.diagnosis
    out = []
    for _, r in d.iterrows():
        row = {t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook)}
        for k in (5, 1, 2, 3, 4):
            row[t(f"gaps.col.gap{k}", lang)] = r[f"gap{k}"]
        key = r["main_source"]
        row[t("gaps.col.main_source", lang)] = gap_label(_SOURCE_NO[key], lang) if key in _SOURCE_NO \
            else t("gaps.none", lang)
        out.append(row)
    df = pd.DataFrame(out)
    cols = {k: t(f"gaps.col.gap{k}", lang) for k in (5, 1, 2, 3, 4)}
    none = [None] * len(d)
    note = _sig_legend(res, lang) + _space(lang) + t("gaps.table.gap_defs", lang)
    return _spec(df, t("gaps.cap.diagnosis", lang), note,
                 text_columns=[df.columns[0], df.columns[6]], formats={c: "signed2" for c in cols.values()},
                 sig={c: [_sig_mark(g, p, sig) for g, p in zip(d[f"gap{k}"], d[f"gap{k}_p_val"])]
                      for k, c in cols.items()},
                 flags={c: [_flag(f) for f in d.get(f"gap{k}_base_flag", none)] for k, c in cols.items()})


def antecedents_table(res, *, lang="en", codebook=None):
    """The antecedent scales of gaps 1-4: mean with CI, Cronbach's alpha, base, direction."""
    if res.antecedents is None:
        raise ValueError("antecedents_table: the result has no antecedent scales")
    a = res.antecedents.sort_values("gap_no", kind="stable")
    out = []
    mean_c, alpha_c, n_c = t("gaps.col.mean", lang), t("gaps.col.alpha", lang), t("gaps.col.n", lang)
    ci_c = t("gaps.col.ci", lang, conf=_conf(res))
    for _, r in a.iterrows():
        out.append({
            t("gaps.col.gap_short", lang): t("gaps.gap_no", lang, k=int(r["gap_no"])) if not _nan(r["gap_no"]) else "–",
            t("gaps.col.scale", lang): label(r["scale"], lang, codebook, kind="scale"),
            mean_c: r["mean"],
            ci_c: t("gaps.ci_range", lang, lo=fmt_num(r["ci_low"], 2), hi=fmt_num(r["ci_high"], 2)),
            alpha_c: r["alpha"], n_c: float(r["n"]),
            t("gaps.col.effect", lang): t("gaps.effect.narrows" if r["direction"] > 0 else "gaps.effect.widens", lang)
            if not _nan(r["direction"]) else "–",
        })
    df = pd.DataFrame(out)
    flags = [_flag(f) for f in (a["base_flag"] if "base_flag" in a.columns else [None] * len(a))]
    counts = "kind" in a.columns and (a["kind"] == "count").any()
    note = t("gaps.table.antecedents_note", lang, **_scale(res))
    if counts:
        note += _space(lang) + t("gaps.table.antecedents_count", lang)
    return _spec(df, t("gaps.cap.antecedents", lang),
                 note + _space(lang) + t("gaps.table.antecedents_effect", lang) + _space(lang) +
                 t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}"),
                 text_columns=[df.columns[0], df.columns[1], df.columns[3], df.columns[6]],
                 formats={mean_c: "num2", alpha_c: "num2", n_c: "int"}, flags={mean_c: flags, n_c: flags})


def action_table(res, *, lang="en", codebook=None):
    """The prioritised action list: dimension, internal gap, its size, share of the shortfall
    attributed to it, and the remedy; without a staff survey, the dimension's gap 5, its item
    with the largest shortfall, its share of the shortfall and the remedy."""
    acts = res.actions
    total = float(res.diagnosis["loss"].sum())
    out = []
    flags = []
    for _, r in acts.iterrows():
        k = int(r["gap_no"])
        share = r["loss"] / total if total > 0 else np.nan
        if not res.has_staff:
            d = _row(res.diagnosis, dimension=r["dimension"])
            worst = "–" if _nan(d.get("worst_item")) else \
                label(d["worst_item"], lang, codebook, kind="item") + _paren(_g(d["worst_item_gap"]), lang)
            out.append({
                "#": float(r["rank"]),
                t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook),
                t("gaps.col.gap5_pts", lang): r["gap5"],
                _loss_col(res, lang): share,
                t("gaps.col.worst_item", lang): worst,
            })
            continue
        flag = _row(res.diagnosis, dimension=r["dimension"]).get(f"gap{k}_base_flag") if k < 5 else None
        action = r[f"action_text_{lang}"]
        if k == 5:
            untested = _untested(_row(res.diagnosis, dimension=r["dimension"]), lang)
            if untested:  # an internal gap may explain it, but could not be tested
                action = t("gaps.act.check_untested", lang, list=untested)
        out.append({
            "#": float(r["rank"]),
            t("gaps.col.dimension", lang): label(r["dimension"], lang, codebook),
            t("gaps.col.source", lang): gap_label(k, lang),
            t("gaps.col.gap_pts", lang): r["gap"],
            _loss_col(res, lang): share,
            t("gaps.col.action", lang): action,
        })
        flags.append(_flag(flag))
    if not out:
        df = pd.DataFrame({t("gaps.col.action", lang): [t("gaps.act.none", lang)]})
        return _spec(df, t("gaps.cap.actions", lang))
    df = pd.DataFrame(out)
    formats = {"#": "int", _loss_col(res, lang): "pct0"}
    if res.has_staff:
        note = t("gaps.table.actions_note", lang, of=_of_shortfall(res, lang))
        text = [df.columns[1], df.columns[2], df.columns[5]]
        formats[t("gaps.col.gap_pts", lang)] = "signed2"
        marks = {t("gaps.col.source", lang): flags}
    else:
        note = t("gaps.table.actions_note_alone", lang, of=_of_shortfall(res, lang), action=_alone_action(lang))
        text = [df.columns[1], df.columns[4]]
        formats[t("gaps.col.gap5_pts", lang)] = "signed2"
        marks = {}
    return _spec(df, t("gaps.cap.actions", lang), note, text_columns=text, formats=formats, flags=marks)


def reliability_table(res, *, lang="en", codebook=None):
    """Cronbach's alpha (with Feldt interval) of expectations, perceptions and gaps per dimension;
    "–" where alpha is undefined (a dimension with one item), with a note saying so."""
    rel = res.reliability
    out = []
    single = False
    low = []
    for dim in _dims(res):
        sub = rel[rel["dimension"] == dim].set_index("measure")
        n_items = int(sub["n_items"].iloc[0])
        single |= n_items < 2
        row = {t("gaps.col.dimension", lang): label(dim, lang, codebook),
               t("gaps.col.n_items", lang): str(n_items)}
        for m in ("expectation", "perception", "gap"):
            r = sub.loc[m]
            row[t(f"gaps.col.alpha_{m}", lang)] = "–" if _nan(r["alpha"]) else \
                f"{_r2(r['alpha'])} ({_r2(r['ci_low'])}–{_r2(r['ci_high'])})"
        if (sub.loc[["expectation", "perception"], "alpha"] < 0.7).any():
            low.append(label(dim, lang, codebook))
        row[t("gaps.col.n", lang)] = f"{int(sub['n'].max()):,}"
        out.append(row)
    note = t("gaps.table.reliability_note", lang, conf=_conf(res))
    if low:
        note += _space(lang) + t("gaps.table.low_alpha", lang, list=_join(low, lang))
    if single:
        note += _space(lang) + t("gaps.table.single_item", lang)
    return _spec(pd.DataFrame(out), t("gaps.cap.reliability", lang), note)


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
    ov = rows[rows["level"] == "overall"].set_index("_g").reindex(groups)
    heads = [f"{n} ({LETTERS[i]})" for i, n in enumerate(names)]
    labels = {h: t("gaps.col.group_base", lang, group=h, n="–" if _nan(n) else f"{int(n):,}")
              for h, n in zip(heads, ov["n"])}
    cmp = res.comparisons
    sig = _sig(res)
    out = []
    sig_marks = {h: [] for h in heads}
    flag_marks = {h: [] for h in heads}
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
                i, j = pos[r["group_a"]], pos[r["group_b"]]
                p[i, j] = p[j, i] = r["p_val"]
        letters = sig_letters(est, p, alpha=sig)
        name = label(k["dimension"], lang, codebook) if k["level"] == "dimension" else t("gaps.overall", lang)
        row = {t("gaps.col.dimension", lang): name}
        for h, e, lt, flag in zip(heads, est, letters, sub["base_flag"]):
            row[h] = e
            sig_marks[h].append(lt or "")
            flag_marks[h].append(_flag(flag))
        out.append(row)
    spec = _spec(pd.DataFrame(out), t("gaps.cap.compare", lang, by=_by_name(res, lang, codebook)),
                 t("gaps.table.letters_note", lang, conf=_conf(res)) + _space(lang) +
                 t("gaps.table.low_legend", lang, caution=f"{res.settings['low_base']['caution']:g}"),
                 formats={h: "signed2" for h in heads}, sig=sig_marks, flags=flag_marks)
    spec["labels"] = labels  # each group's base under its name
    return spec


# --------------------------------------------------------------------------------------------
# side files (CSV/XLSX next to the report): in the report's language, rounded for reading
# --------------------------------------------------------------------------------------------
def _round(values, digits):
    """Numbers rounded for a reader (NaN stays empty in the file)."""
    return pd.to_numeric(pd.Series(list(values)), errors="coerce").round(digits).to_numpy()


def _low_words(flag, lang):
    """A base flag in words: empty where the base is fine."""
    if not isinstance(flag, str) or flag in ("ok", ""):
        return ""
    return t(f"gaps.file.base.{flag}" if flag in ("caution", "no_test") else "gaps.file.base.caution", lang)


def _source_words(key, lang):
    """An internal gap key (``delivery``) as the gap's name; ``none`` in words."""
    return gap_label(_SOURCE_NO[key], lang) if key in _SOURCE_NO else t("gaps.none", lang)


def actions_file(res, *, lang="en", codebook=None):
    """The prioritised action list as a side file for the client: one row per remedy, headers,
    dimensions, gaps and remedies in the report's language, numbers rounded (points to two
    decimals, shares in per cent to one), no internal codes.

    Returns
    -------
    DataFrame
        Write it with :func:`workbench.io.atomic_write_frame` (CSV or XLSX).
    """
    acts = res.actions
    total = float(res.diagnosis["loss"].sum())
    col = lambda key, **kw: t(f"gaps.file.{key}", lang, **kw)  # noqa: E731
    if len(acts) == 0:
        return pd.DataFrame({col("action"): [t("gaps.act.none", lang)]})
    diag = res.diagnosis.set_index("dimension")
    rows = []
    for _, r in acts.iterrows():
        k = int(r["gap_no"])
        d = diag.loc[r["dimension"]]
        action = r[f"action_text_{lang}"]
        if k == 5 and res.has_staff:
            untested = _untested(d, lang)
            if untested:
                action = t("gaps.act.check_untested", lang, list=untested)
        flag = d.get(f"gap{k}_base_flag") if k < 5 else d.get("gap5_base_flag")
        row = {col("rank"): int(r["rank"]), col("dimension"): label(r["dimension"], lang, codebook)}
        if res.has_staff:  # the internal gap the remedy addresses, and its part of the dimension's shortfall
            row[col("source")] = gap_label(k, lang) if k < 5 else t("gaps.chart.unexplained", lang)
            row[col("gap")] = r["gap"]
            row[col("share_of_dimension")] = 100 * r["share"] if not _nan(r["share"]) else np.nan
        row[col("share_of_total", of=_of_shortfall(res, lang))] = 100 * r["loss"] / total if total > 0 else np.nan
        row[col("gap5")] = r["gap5"]
        if not res.has_staff:
            row[col("worst_item")] = "" if _nan(d.get("worst_item")) else label(d["worst_item"], lang, codebook,
                                                                                 kind="item")
            row[col("worst_item_gap")] = d.get("worst_item_gap")
        row[col("priority")] = int(r["priority"])
        row[col("action")] = action
        row[col("base")] = _low_words(flag, lang)
        rows.append(row)
    out = pd.DataFrame(rows)
    for c, digits in ((col("gap"), 2), (col("gap5"), 2), (col("share_of_dimension"), 1),
                      (col("share_of_total", of=_of_shortfall(res, lang)), 1), (col("worst_item_gap"), 2)):
        if c in out:
            out[c] = _round(out[c], digits)
    return out


def diagnosis_file(res, *, lang="en", codebook=None):
    """The diagnosis per dimension as a side file: gap 5 and gaps 1-4 (points, two decimals),
    significance and base in words, importance, share of the shortfall (per cent), priority, the
    main internal source and the verdict in the report's language, and the item to start with."""
    diag = res.diagnosis
    total = float(diag["loss"].sum())
    sig = _sig(res)
    col = lambda key, **kw: t(f"gaps.file.{key}", lang, **kw)  # noqa: E731
    yes, no = t("gaps.file.yes", lang), t("gaps.file.no", lang)
    out = pd.DataFrame({col("dimension"): [label(d, lang, codebook) for d in diag["dimension"]]})
    gap_nos = (5, 1, 2, 3, 4) if res.has_staff else (5,)
    for k in gap_nos:
        name = gap_label(k, lang)
        out[col("gap_points", gap=name)] = _round(diag[f"gap{k}"], 2)
        out[col("gap_p", gap=name)] = [fmt_p(v) if not _nan(v) else "" for v in diag[f"gap{k}_p_val"]]
        p = diag[f"gap{k}_p_val"].to_numpy(dtype=float)
        out[col("gap_sig", gap=name, conf=_conf(res))] = np.where(np.isnan(p), t("gaps.file.untested", lang),
                                                                  np.where(p < sig, yes, no))
        out[col("gap_base", gap=name)] = [_low_words(f, lang) for f in diag.get(f"gap{k}_base_flag",
                                                                                [None] * len(diag))]
    out[col("importance")] = _round(diag["importance"], 1)
    out[col("share_of_total", of=_of_shortfall(res, lang))] = _round(100 * diag["loss"] / total, 1) if total > 0 \
        else np.nan
    out[col("priority")] = pd.array([int(p) if loss > 0 else None for p, loss in zip(diag["priority"], diag["loss"])],
                                    dtype="Int64")
    if res.has_staff:
        out[col("main_source")] = [_source_words(k, lang) for k in diag["main_source"]]
    out[col("verdict")] = [t(f"gaps.file.verdict.{v}", lang) for v in diag["verdict"]]
    out[col("worst_item")] = ["" if _nan(i) else label(i, lang, codebook, kind="item") for i in diag["worst_item"]]
    out[col("worst_item_gap")] = _round(diag["worst_item_gap"], 2)
    return out
