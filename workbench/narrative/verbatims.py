"""Words of the verbatims (open-ended answers) section of the wave report, in English or Chinese.

Everything is written from a :class:`workbench.verbatims.WaveThemes` (and the wave report's
:class:`workbench.waves.WaveAnalysis` for period names and whose answers they are).  The
``*_table`` functions return the keyword arguments of :func:`workbench.report.table` with the
numbers as numbers, significance in ``sig`` and low bases in ``base_flags``::

    for vt in verbatims.for_wave_report(inputs, res, codebook=ctx.codebook):
        with vstory.section(vt, res, "themes", **kw):
            report.table(**vstory.theme_table(vt, res, **kw))

A study whose codebook has no coding frame for a text question of the dataset has no
``WaveThemes``, so the section is not shown at all (no empty heading).  Every visible word comes
from ``workbench/data/i18n/verbatims.yaml`` and the codebook's labels (theme labels from the
coding frame).
"""

from __future__ import annotations

import math
import sys
import traceback
from contextlib import contextmanager

import numpy as np
import pandas as pd

from . import fmt_num, fmt_pct, fmt_signed, join_list, level_label, md_escape, t

__all__ = [
    "Skip",
    "section",
    "theme_name",
    "question_words",
    "who_words",
    "scope_text",
    "summary_findings",
    "theme_findings",
    "theme_table",
    "trend_findings",
    "trend_table",
    "group_findings",
    "group_table",
    "quotes_table",
    "followup_notes",
]

#: Heading level of each part of the section.
_LEVELS = {"themes": 1, "trend": 2, "groups": 2, "quotes": 2}
_GROUP_KEYS = {"detractors": "verbatims.group.detractors", "passives": "verbatims.group.passives",
               "promoters": "verbatims.group.promoters"}


class Skip(Exception):
    """A part of the section this study cannot fill; ``key`` names the note shown instead
    (None: nothing is shown)."""

    def __init__(self, key=None, **fields):
        super().__init__(key or "")
        self.key = key
        self.fields = fields


def _need(vt, part=None):
    if vt is None:
        raise Skip()
    if part == "trend" and len(vt.waves) < 2:
        raise Skip("verbatims.msg.one_wave")
    if part == "trend" and not vt.top:
        raise Skip("verbatims.msg.no_themes")
    if part == "groups" and vt.groups is None:
        raise Skip("verbatims.msg.no_nps")
    if part == "quotes" and (vt.quotes is None or vt.quotes.empty):
        raise Skip("verbatims.msg.no_themes")


@contextmanager
def section(vt, res=None, name="themes", *, lang="en", codebook=None, level=None):
    """Show one part of the verbatims section: its heading, then the block.

    Without themes (``vt`` None: no coding frame for a text question) nothing is shown, not even
    the heading.  A part the study cannot fill (one wave for the trend, no NPS question for the
    groups) shows a note in place of its content; any other failure becomes a note in the
    report's language (the traceback goes to stderr) and the run goes on.

    Parameters
    ----------
    vt : WaveThemes or None
    res : WaveAnalysis or None
    name : {"themes", "trend", "groups", "quotes"}
    lang, codebook
    level : int or None
        Heading level (default: 1 for ``themes``, else 2).
    """
    from .. import report

    if vt is None:
        try:
            yield
        except Skip:
            pass
        return
    report.heading(t(f"verbatims.h.{name}", lang, question=question_words(vt, lang, codebook)),
                   level or _LEVELS.get(name, 2))
    try:
        yield
    except Skip as exc:
        if exc.key:
            report.note(t(exc.key, lang, **exc.fields))
    except Exception as exc:  # noqa: BLE001 - one failing part is a note, not a lost report
        traceback.print_exc(file=sys.stderr)
        report.note(t("verbatims.msg.failed", lang, detail=str(exc).strip() or type(exc).__name__))


# ---- small pieces ------------------------------------------------------------------------------
def _nan(x):
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def _sep(lang):
    return "" if lang == "zh" else " "


def _short(label, lang):
    """A question label cut to its topic: without a closing parenthesis ("(open end)") and, when
    long, before a colon."""
    label = str(label).strip()
    for op, cl in (("(", ")"), ("（", "）")):
        if label.endswith(cl) and op in label[1:]:
            label = label[: label.rindex(op)].rstrip()
    limit = 48 if lang == "en" else 20
    if len(label) <= limit:
        return label
    for mark in (": ", "："):
        i = label.find(mark)
        if 2 < i <= limit:
            return label[:i].rstrip()
    return label


def question_words(vt, lang="en", codebook=None):
    """The text question, by its codebook label cut to its topic."""
    if codebook is not None and vt.column in codebook:
        return _short(codebook.label(vt.column, lang), lang)
    return str(vt.column)


def theme_name(vt, col, lang="en"):
    """Label of a theme, net or ``other`` column in ``lang`` (from the coding frame)."""
    code = col[len("theme_"):] if str(col).startswith("theme_") else str(col)
    fr = vt.frame
    spec = fr.themes.get(code) or fr.nets.get(code)
    if spec is not None:
        return spec.label.get(lang) or spec.label.get("en") or code
    if code == "other":
        return fr.other.get(lang) or fr.other.get("en") or t("verbatims.other", lang)
    return code


def _theme_md(vt, col, lang):
    return md_escape(theme_name(vt, col, lang))


def _period(res, w, lang):
    if w is None:
        return "–"
    if res is not None:
        p = getattr(res, "periods", {}).get(int(w))
        if p:
            return str(p)
    return t("verbatims.wave_name", lang, wave=int(w))


def _pmd(res, w, lang):
    return md_escape(_period(res, w, lang))


def who_words(res, lang="en", codebook=None):
    """``Aurora customers`` / ``all respondents``."""
    brand = getattr(res, "our_brand", "") if res is not None else ""
    if brand:
        return t("verbatims.who.ours", lang, brand=level_label(codebook, "brand", brand, lang))
    return t("verbatims.who.all", lang)


def _conf(vt):
    return f"{100 * vt.conf:g}"


def _whole(x):
    """A number rounded to a whole, never "−0"."""
    return fmt_num(float(round(float(x))) + 0.0, 0) if not _nan(x) else "–"


def _pts(x):
    return fmt_signed(100 * x, 1) if not _nan(x) else "–"


def _flag(x):
    x = "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)
    return x if x in ("caution", "no_test") else ""


def _sig_note(vt, lang, low=False, what="verbatims.note.sig_prev"):
    parts = [t(what, lang, conf=_conf(vt))]
    if vt.fdr:
        parts.append(t("verbatims.note.fdr", lang))
    if low and vt.rule is not None:
        parts.append(t("verbatims.note.low_base", lang, caution=f"{vt.rule.caution:g}",
                       min_test=f"{vt.rule.min_test:g}"))
    return _sep(lang).join(parts)


# ---- scope and the theme shares ----------------------------------------------------------------
def scope_text(vt, res=None, *, lang="en", codebook=None):
    """Whose comments, how many say something, and what the shares are of."""
    _need(vt)
    st = vt.status.set_index("status")["n"]
    n_said = vt.n_base
    n_wrote = n_said + int(st.get("non_answer", 0) + st.get("too_short", 0))
    text = t("verbatims.scope", lang, who=md_escape(who_words(res, lang, codebook)), period=_pmd(res, vt.wave, lang),
             n=f"{vt.n_total:,}", wrote=f"{n_wrote:,}", said=f"{n_said:,}",
             question=md_escape(question_words(vt, lang, codebook)))
    return text + _sep(lang) + t("verbatims.scope_base", lang)


def _themes_only(vt):
    s = vt.shares
    return s[s["theme"].isin(vt.themes)].sort_values("share", ascending=False, kind="stable")


def theme_findings(vt, res=None, *, lang="en", codebook=None, limit=2):
    """What the comments are about and what changed since the comparison wave."""
    _need(vt)
    out = []
    th = _themes_only(vt)
    if th.empty or not (th["share"] > 0).any():
        return [t("verbatims.find.none", lang)]
    first = th.iloc[0]
    out.append(t("verbatims.find.top", lang, theme=_theme_md(vt, first["theme"], lang), share=fmt_pct(first["share"]),
                 period=_pmd(res, vt.wave, lang)))
    if vt.ref_wave is not None and vt.shares["p_val"].notna().any():
        moved = vt.shares[vt.shares["sig"] != ""]
        moved = moved.reindex(moved["diff"].abs().sort_values(ascending=False).index).head(limit)
        for _, r in moved.iterrows():
            key = "verbatims.find.up" if r["sig"] == "up" else "verbatims.find.down"
            out.append(t(key, lang, theme=_theme_md(vt, r["theme"], lang), share=fmt_pct(r["share"]),
                         ref_share=fmt_pct(r["ref_share"]), diff=_pts(r["diff"]),
                         ref=_pmd(res, vt.ref_wave, lang), conf=_conf(vt)))
        if moved.empty:
            out.append(t("verbatims.find.no_change", lang, ref=_pmd(res, vt.ref_wave, lang), conf=_conf(vt)))
    return out


def summary_findings(themes, res=None, *, lang="en", codebook=None):
    """One item for the executive summary per coded question: the largest significant change of
    a theme since the comparison wave (else the most mentioned theme) and what detractors talk
    about most."""
    out = []
    for vt in themes or []:
        th = _themes_only(vt)
        if th.empty or not (th["share"] > 0).any():
            continue
        moved = vt.shares[vt.shares["theme"].isin(vt.themes) & (vt.shares["sig"] != "")]
        if len(moved):
            r = moved.loc[moved["diff"].abs().idxmax()]
            key = "verbatims.find.up" if r["sig"] == "up" else "verbatims.find.down"
            parts = [t(key, lang, theme=_theme_md(vt, r["theme"], lang), share=fmt_pct(r["share"]),
                       ref_share=fmt_pct(r["ref_share"]), diff=_pts(r["diff"]), ref=_pmd(res, vt.ref_wave, lang),
                       conf=_conf(vt))]
        else:
            r = th.iloc[0]
            parts = [t("verbatims.find.top", lang, theme=_theme_md(vt, r["theme"], lang), share=fmt_pct(r["share"]),
                       period=_pmd(res, vt.wave, lang))]
        if vt.groups is not None:
            pv = _group_pivot(vt)
            if "detractors" in pv.columns and pv["detractors"].max() > 0:
                top = pv["detractors"].sort_values(ascending=False).head(2)
                parts.append(t("verbatims.find.detractors", lang, themes=join_list(
                    [t("verbatims.find.theme_share", lang, theme=_theme_md(vt, c, lang), share=fmt_pct(v))
                     for c, v in top.items()], lang)))
        out.append(_sep(lang).join(parts))
    return out


def theme_table(vt, res=None, *, lang="en", codebook=None):
    """Every theme (largest share first), then the nets and "other": the share with its
    interval, the comparison wave's share and the change in points with its test."""
    _need(vt)
    s = vt.shares.set_index("theme")
    order = list(_themes_only(vt)["theme"]) + list(vt.nets) + [c for c in s.index if c.endswith("_other")]
    s = s.loc[[c for c in order if c in s.index]]
    names = []
    for c in s.index:
        name = theme_name(vt, c, lang)
        names.append(t("verbatims.net", lang, name=name) if c in vt.nets else name)
    compare = vt.ref_wave is not None and s["p_val"].notna().any()
    data = {"theme": names, "share": s["share"].to_numpy(), "ci_low": s["ci_low"].to_numpy(),
            "ci_high": s["ci_high"].to_numpy()}
    if compare:
        data["ref_share"] = s["ref_share"].to_numpy()
        data["diff"] = 100 * s["diff"].to_numpy()
    df = pd.DataFrame(data)
    flags = pd.DataFrame({"share": [_flag(x) for x in s["base_flag"]]}, index=df.index)
    sig = None
    if compare:
        flags["ref_share"] = [_flag(x) for x in s.get("ref_base_flag", pd.Series([""] * len(s), index=s.index))]
        sig = pd.DataFrame({"diff": list(s["sig"])}, index=df.index)
    labels = {"theme": t("verbatims.col.theme", lang), "share": _period(res, vt.wave, lang),
              "ci_low": t("verbatims.col.ci_low", lang, conf=_conf(vt)),
              "ci_high": t("verbatims.col.ci_high", lang, conf=_conf(vt)),
              "ref_share": _period(res, vt.ref_wave, lang), "diff": t("verbatims.col.diff", lang)}
    formats = {"share": "pct1", "ci_low": "pct1", "ci_high": "pct1", "ref_share": "pct1", "diff": "signed1"}
    formats = {k: v for k, v in formats.items() if k in df.columns}
    low = any(f for f in flags.to_numpy().ravel())
    note = t("verbatims.note.shares", lang, n=f"{vt.n_base:,}") + _sep(lang) + t("verbatims.note.multi", lang)
    if compare:
        note += _sep(lang) + _sig_note(vt, lang, low=low, what="verbatims.note.sig_ref")
    elif low:
        note += _sep(lang) + t("verbatims.note.low_base", lang, caution=f"{vt.rule.caution:g}",
                               min_test=f"{vt.rule.min_test:g}")
    return {"df": df, "labels": labels, "formats": formats, "sig": sig, "base_flags": flags,
            "caption": t("verbatims.cap.themes", lang, who=who_words(res, lang, codebook),
                         period=_period(res, vt.wave, lang)),
            "note": note, "text_columns": ["theme"]}


# ---- trend -------------------------------------------------------------------------------------
def trend_findings(vt, res=None, *, lang="en", codebook=None):
    """Which top themes moved significantly wave on wave, and where they started."""
    _need(vt, "trend")
    tr = vt.trend
    first, last = vt.waves[0], vt.waves[-1]
    out = []
    for col in vt.top:
        rows = tr[tr["theme"] == col].set_index(tr.columns[0])
        a, b = rows["share"].get(first, np.nan), rows["share"].get(last, np.nan)
        moves = rows[rows["sig"] != ""]
        if moves.empty:
            continue
        steps = join_list([t("verbatims.find.step", lang, period=_pmd(res, w, lang), diff=_pts(r["diff"]))
                           for w, r in moves.iterrows()], lang)
        out.append(t("verbatims.find.trend", lang, theme=_theme_md(vt, col, lang), start=fmt_pct(a),
                     first=_pmd(res, first, lang), end=fmt_pct(b), last=_pmd(res, last, lang), steps=steps))
    if not out:
        out.append(t("verbatims.find.trend_flat", lang, n=len(vt.top), conf=_conf(vt)))
    return out


def trend_table(vt, res=None, *, lang="en", codebook=None):
    """Top themes (rows) by wave (columns): the share, marked where it differs significantly
    from the wave before."""
    _need(vt, "trend")
    tr = vt.trend
    wcol = tr.columns[0]
    cols = [f"w{w}" for w in vt.waves]
    data, sig, flags = {c: [] for c in cols}, {c: [] for c in cols}, {c: [] for c in cols}
    for col in vt.top:
        rows = tr[tr["theme"] == col].set_index(wcol)
        for w, c in zip(vt.waves, cols):
            r = rows.loc[w] if w in rows.index else None
            data[c].append(np.nan if r is None else float(r["share"]))
            sig[c].append("" if r is None else str(r["sig"]))
            flags[c].append("" if r is None else _flag(r["base_flag"]))
    df = pd.DataFrame({"theme": [theme_name(vt, c, lang) for c in vt.top], **data})
    sig_df = pd.DataFrame(sig, index=df.index)
    flag_df = pd.DataFrame(flags, index=df.index)
    labels = {"theme": t("verbatims.col.theme", lang), **{c: _period(res, w, lang) for w, c in zip(vt.waves, cols)}}
    low = any(f for f in flag_df.to_numpy().ravel())
    return {"df": df, "labels": labels, "formats": {c: "pct0" for c in cols}, "sig": sig_df, "base_flags": flag_df,
            "caption": t("verbatims.cap.trend", lang, n=len(vt.top), who=who_words(res, lang, codebook)),
            "note": t("verbatims.note.trend_base", lang) + _sep(lang) + _sig_note(vt, lang, low=low),
            "text_columns": ["theme"]}


# ---- detractors and promoters ------------------------------------------------------------------
def _group_pivot(vt):
    g = vt.groups
    return g.pivot(index="theme", columns="group", values="share").reindex(vt.themes)


def group_findings(vt, res=None, *, lang="en", codebook=None):
    """What detractors and promoters talk about, and which themes go with a lower or higher NPS."""
    _need(vt, "groups")
    out = []
    pv = _group_pivot(vt)
    for grp in ("detractors", "promoters"):
        if grp in pv.columns and pv[grp].notna().any() and pv[grp].max() > 0:
            top = pv[grp].sort_values(ascending=False).head(2)
            out.append(t(f"verbatims.find.{grp}", lang,
                         themes=join_list([t("verbatims.find.theme_share", lang, theme=_theme_md(vt, c, lang),
                                             share=fmt_pct(v)) for c, v in top.items()], lang)))
    imp = vt.impact
    if imp is not None and len(imp):
        sig = imp[imp["sig"] != ""].sort_values("diff", kind="stable")
        for _, r in pd.concat([sig.head(1), sig[sig["diff"] > 0].tail(1)]).drop_duplicates("theme").iterrows():
            key = "verbatims.find.pain" if r["diff"] < 0 else "verbatims.find.strength"
            out.append(t(key, lang, theme=_theme_md(vt, r["theme"], lang), est=_whole(r["est"]),
                         ref=_whole(r["est_ref"]), diff=fmt_signed(float(round(float(r["diff"]))), 0), conf=_conf(vt)))
        if sig.empty:
            out.append(t("verbatims.find.no_impact", lang, conf=_conf(vt)))
    return out


def group_table(vt, res=None, *, lang="en", codebook=None):
    """Each theme's share among detractors, passives and promoters, and the NPS of those who
    mention it against those who do not (difference tested)."""
    _need(vt, "groups")
    pv = _group_pivot(vt)
    fl = vt.groups.pivot(index="theme", columns="group", values="base_flag").reindex(vt.themes)
    imp = vt.impact.set_index("theme").reindex(vt.themes)
    order = pv["detractors"].sort_values(ascending=False, kind="stable").index if "detractors" in pv else pv.index
    groups = [g for g in ("detractors", "passives", "promoters") if g in pv.columns]
    df = pd.DataFrame({"theme": [theme_name(vt, c, lang) for c in order],
                       **{g: pv.loc[order, g].to_numpy(dtype=float) for g in groups},
                       "nps_in": imp.loc[order, "est"].to_numpy(dtype=float),
                       "nps_out": imp.loc[order, "est_ref"].to_numpy(dtype=float),
                       "nps_diff": imp.loc[order, "diff"].to_numpy(dtype=float)})
    flags = pd.DataFrame({**{g: [_flag(x) for x in fl.loc[order, g]] for g in groups},
                          "nps_in": [_flag(x) for x in imp.loc[order, "base_flag"]]}, index=df.index)
    sig = pd.DataFrame({"nps_diff": list(imp.loc[order, "sig"])}, index=df.index)
    n = vt.groups.drop_duplicates("group").set_index("group")["n"]
    labels = {"theme": t("verbatims.col.theme", lang),
              **{g: t("verbatims.col.group", lang, group=t(_GROUP_KEYS[g], lang), n=f"{int(n.get(g, 0)):,}")
                 for g in groups},
              "nps_in": t("verbatims.col.nps_in", lang), "nps_out": t("verbatims.col.nps_out", lang),
              "nps_diff": t("verbatims.col.nps_diff", lang)}
    formats = {**{g: "pct0" for g in groups}, "nps_in": "num0", "nps_out": "num0", "nps_diff": "signed1"}
    low = any(f for f in flags.to_numpy().ravel())
    note = _sep(lang).join([t("verbatims.note.groups", lang),
                            _sig_note(vt, lang, low=low, what="verbatims.note.sig_impact")])
    return {"df": df, "labels": labels, "formats": formats, "sig": sig, "base_flags": flags,
            "caption": t("verbatims.cap.groups", lang, period=_period(res, vt.wave, lang)),
            "note": note, "text_columns": ["theme"]}


# ---- quotes ------------------------------------------------------------------------------------
def quotes_table(vt, res=None, *, lang="en", codebook=None):
    """Quotes for each top theme, chosen to cover what its comments say (personal data masked)."""
    _need(vt, "quotes")
    q = vt.quotes
    order = {c: i for i, c in enumerate(vt.top)}
    q = q.assign(_o=q["theme"].map(order)).sort_values(["_o", "rank"], kind="stable")
    shown = []
    prev = None
    for c in q["theme"]:
        shown.append(theme_name(vt, c, lang) if c != prev else "")
        prev = c
    df = pd.DataFrame({"theme": shown, "quote": [f"“{x}”" for x in q["text"]]})
    return {"df": df.reset_index(drop=True),
            "labels": {"theme": t("verbatims.col.theme", lang), "quote": t("verbatims.col.quote", lang)},
            "formats": {}, "caption": t("verbatims.cap.quotes", lang, period=_period(res, vt.wave, lang)),
            "note": t("verbatims.note.quotes", lang), "text_columns": ["theme", "quote"]}


# ---- the follow-up list ------------------------------------------------------------------------
def followup_notes(followup, *, lang="en", codebook=None, limit=3):
    """A sentence on the themes column of the detractor follow-up list
    (:func:`workbench.verbatims.followup_themes`): what it is for and the most frequent themes;
    an empty list when the list has no themes column."""
    if followup is None or not followup.attrs.get("themes_column"):
        return []
    counts = followup.attrs.get("theme_counts") or {}
    if not counts:
        return []
    top = list(counts.items())[:limit]
    themes = join_list([t("verbatims.followup.count", lang, theme=md_escape(k), n=f"{v:,}") for k, v in top], lang)
    return [t("verbatims.followup.themes", lang, column=md_escape(followup.attrs["themes_column"]),
              n=f"{followup.attrs.get('n_comments', 0):,}", themes=themes)]
