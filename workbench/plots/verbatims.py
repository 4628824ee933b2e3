"""Charts of the verbatims (open-ended answers) section of the wave report.

Each function takes a :class:`workbench.verbatims.WaveThemes` (and the wave report's
:class:`workbench.waves.WaveAnalysis` for period names and whose comments they are) and returns a
finished figure with its title, axis, base line and legend in the report language.  The plain bar
and line charts carry their data (:func:`workbench.reportmodel.attach_chart`), the values exactly
as drawn (shares in %), so the deck can redraw them as native charts.  Shares with an effective
base below the caution threshold are drawn hollow.  Without themes (``vt`` None) a chart raises
:class:`workbench.narrative.verbatims.Skip`, which the section ends quietly.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..narrative import t
from ..narrative.verbatims import _GROUP_KEYS, _need, _period, _themes_only, theme_name, who_words
from ..reportmodel import Chart, Series, attach_chart
from ._theme import LEVEL_COLORS, PALETTE, SIG_COLORS, finish

__all__ = ["theme_bars", "theme_trend", "group_bars"]

_GROUP_COLOURS = {"detractors": SIG_COLORS["down"], "passives": "#9aa5b1", "promoters": SIG_COLORS["up"]}


def _foot(*parts):
    """A native chart's footer line (base first, then notes), as :func:`finish` joins them."""
    return " · ".join(x for x in parts if x) or None


def _lower(word: str) -> str:
    """A group's name inside a sentence ("Detractors" → "detractors"; Chinese unchanged)."""
    return word[:1].lower() + word[1:]


def _low(flag) -> bool:
    return str(flag) in ("caution", "no_test")


def _pct(x) -> str:
    return f"{x:.0f}%"


def theme_bars(vt, res=None, *, lang="en", codebook=None):
    """The report's wave: each theme's share of the comments with its confidence interval,
    largest first."""
    _need(vt)
    th = _themes_only(vt)
    names = [theme_name(vt, c, lang) for c in th["theme"]]
    est = 100 * th["share"].to_numpy(dtype=float)
    lo = 100 * th["ci_low"].to_numpy(dtype=float)
    hi = 100 * th["ci_high"].to_numpy(dtype=float)
    y = np.arange(len(th))[::-1]
    fig, ax = plt.subplots(figsize=(7.2, max(0.36 * len(th) + 1.3, 2.4)))
    colour = PALETTE[0]
    low_any = False
    for yi, e, a, b, flag in zip(y, est, lo, hi, th["base_flag"]):
        low = _low(flag)
        low_any |= low
        ax.barh(yi, e, color="white" if low else colour, edgecolor=colour, height=0.62, lw=1.2)
        ax.errorbar(e, yi, xerr=[[max(e - a, 0)], [max(b - e, 0)]], color="#1f2a36", lw=0.9, capsize=2.5)
        ax.annotate(_pct(e), (b, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8.5)
    ax.set_yticks(y, names)
    ax.set_xlim(0, max(float(np.nanmax(hi)) if len(hi) else 1.0, 1.0) * 1.18)
    ax.set_xlabel(t("verbatims.chart.share_axis", lang))
    ax.grid(axis="y", visible=False)
    who = who_words(res, lang, codebook)
    period = _period(res, vt.wave, lang)
    title = t("verbatims.chart.themes", lang, theme=names[0], who=who, period=period) if len(names) else \
        t("verbatims.chart.themes_alt", lang, period=period)
    note = t("verbatims.chart.interval", lang, conf=f"{100 * vt.conf:g}")
    base = t("verbatims.chart.base", lang, who=who, n=f"{vt.n_base:,}")
    fig = finish(fig, title=title, base=base, note=note)
    # horizontal bars: categories bottom first, as drawn (and as a native bar chart lists them)
    return attach_chart(fig, Chart(kind="barh", categories=names[::-1],
                                   series=[Series(name=period, values=[round(float(v)) for v in est[::-1]])],
                                   title=title, x_title=t("verbatims.chart.share_axis", lang), number_format="0",
                                   note=_foot(base)))


def theme_trend(vt, res=None, *, lang="en", codebook=None):
    """The main themes' shares by wave; a filled marker where a share differs significantly from
    the wave before."""
    _need(vt, "trend")
    tr = vt.trend
    wcol = tr.columns[0]
    x = np.arange(len(vt.waves))
    cats = [_period(res, w, lang) for w in vt.waves]
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    series = []
    for i, col in enumerate(vt.top):
        rows = tr[tr["theme"] == col].set_index(wcol).reindex(vt.waves)
        v = 100 * rows["share"].to_numpy(dtype=float)
        colour = LEVEL_COLORS[i % len(LEVEL_COLORS)]
        name = theme_name(vt, col, lang)
        ax.plot(x, v, color=colour, lw=1.8, label=name)
        sig = rows["sig"].fillna("").astype(str).to_numpy() != ""
        low = np.array([_low(f) for f in rows["base_flag"]])
        ax.scatter(x[~sig], v[~sig], s=26, facecolor="white", edgecolor=colour, zorder=3, lw=1.2)
        ax.scatter(x[sig], v[sig], s=34, color=colour, zorder=4)
        if low.any():
            ax.scatter(x[low], v[low], s=60, facecolor="none", edgecolor="#9aa5b1", zorder=2, lw=0.8, ls=":")
        series.append(Series(name=name, values=[None if np.isnan(u) else float(u) for u in v]))
    ax.set_xticks(x, cats)
    ax.set_xlim(-0.3, len(x) - 0.4)
    ax.set_ylim(0, None)
    ax.set_ylabel(t("verbatims.chart.share_axis", lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    title = t("verbatims.chart.trend", lang)
    last = tr[(tr[wcol] == vt.waves[-1]) & (tr["sig"] != "")]
    if len(last):  # the chart's finding: the main theme that moved significantly in the report's wave
        r = last.set_index("theme").loc[[c for c in vt.top if c in set(last["theme"])][0]]
        title = t(f"verbatims.chart.trend_{r['sig']}", lang, theme=theme_name(vt, r.name, lang),
                  share=_pct(100 * r["share"]), period=cats[-1])
    # the base of each wave's shares: theme_shares' n (the same for every theme of a wave)
    per_wave = tr[tr["theme"].isin(vt.top)].groupby(wcol)["n"].first().reindex(vt.waves).dropna()
    n_text = (f"{int(per_wave.min()):,}" if per_wave.min() == per_wave.max()
              else f"{int(per_wave.min()):,}–{int(per_wave.max()):,}") if len(per_wave) else "–"
    base = t("verbatims.chart.base_waves", lang, who=who_words(res, lang, codebook), n=n_text)
    conf = f"{100 * vt.conf:g}"
    fig = finish(fig, title=title, base=base, note=t("verbatims.chart.trend_note", lang, conf=conf))
    # the native lines have no filled markers: the footer names the test behind the title instead
    sig = t("verbatims.chart.trend_sig_note", lang, conf=conf) if len(last) else None
    return attach_chart(fig, Chart(kind="line", categories=cats, series=series, title=title,
                                   y_title=t("verbatims.chart.share_axis", lang), number_format="0.0",
                                   note=_foot(base, sig)))


def group_bars(vt, res=None, *, lang="en", codebook=None):
    """The report's wave: each theme's share of the detractors' and the promoters' comments."""
    _need(vt, "groups")
    g = vt.groups
    pv = g.pivot(index="theme", columns="group", values="share").reindex(vt.themes)
    fl = g.pivot(index="theme", columns="group", values="base_flag").reindex(vt.themes)
    groups = [x for x in ("detractors", "promoters") if x in pv.columns]
    order = pv[groups[0]].sort_values(ascending=True, kind="stable").index if groups else pv.index
    y = np.arange(len(order))
    h = 0.8 / max(len(groups), 1)
    fig, ax = plt.subplots(figsize=(7.2, max(0.42 * len(order) + 1.3, 2.6)))
    series = []
    names = [theme_name(vt, c, lang) for c in order]
    for j, grp in enumerate(groups):
        v = 100 * pv.loc[order, grp].to_numpy(dtype=float)
        colour = _GROUP_COLOURS[grp]
        low = [_low(f) for f in fl.loc[order, grp]]
        yy = y + (len(groups) - 1 - 2 * j) * h / 2
        label = t(_GROUP_KEYS[grp], lang)
        ax.barh(yy, v, height=h * 0.92, color=["white" if lw else colour for lw in low], edgecolor=colour,
                lw=1.1, label=label)
        for yi, vi in zip(yy, v):
            ax.annotate(_pct(vi), (vi, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7.5)
        series.append(Series(name=label, values=[round(float(u)) for u in v]))
    ax.set_yticks(y, names)
    ax.set_xlim(0, float(np.nanmax(100 * pv[groups].to_numpy(dtype=float))) * 1.18 if groups else 1)
    ax.set_xlabel(t("verbatims.chart.share_axis", lang))
    ax.grid(axis="y", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower right")
    title = t("verbatims.chart.groups", lang, period=_period(res, vt.wave, lang))
    imp = vt.impact
    title_is_finding = False
    pain = imp[imp["sig"] == "down"] if imp is not None else None
    if pain is not None and len(pain) and set(groups) == {"detractors", "promoters"}:
        # the chart's finding: the theme whose mentioners' NPS is lowest (significantly)
        c = pain.loc[pain["diff"].idxmin(), "theme"]
        title = t("verbatims.chart.groups_pain", lang, theme=theme_name(vt, c, lang),
                  det=_pct(100 * pv.loc[c, "detractors"]), pro=_pct(100 * pv.loc[c, "promoters"]))
        title_is_finding = True
    # each group's base: theme_shares' n of the group (the same for every theme)
    ns = g.groupby("group")["n"].first()
    base = t("verbatims.chart.base_groups", lang,
             groups=" / ".join(_lower(t(_GROUP_KEYS[grp], lang)) for grp in groups),
             n="/".join(f"{int(ns[grp]):,}" for grp in groups)) if groups else None
    sig = t("verbatims.chart.groups_sig_note", lang, conf=f"{100 * vt.conf:g}") if title_is_finding else None
    fig = finish(fig, title=title, base=base, note=sig)
    # horizontal bars: categories bottom first, as drawn (and as a native bar chart lists them)
    return attach_chart(fig, Chart(kind="barh", categories=names, series=series,
                                   title=title, x_title=t("verbatims.chart.share_axis", lang), number_format="0",
                                   note=_foot(base, sig)))
