"""Charts of the sampling design (one function per chart type).

Each function takes a result of :mod:`workbench.sampling` and the report language, and returns a
finished figure (title, axis labels and base line in that language).  Brand and stratum names
come from the codebook when one is given.  Every number drawn comes from the design (its views and
power methods); plain line charts carry their data (:func:`workbench.reportmodel.attach_chart`) so
a deck can redraw them as native charts.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..i18n import level_label, t
from ..narrative import fmt_num
from ..reportmodel import Chart, Series, attach_chart
from ._theme import BRAND_COLORS, PALETTE, finish

__all__ = ["moe_curve", "allocation_chart", "boost_chart", "power_chart"]

_MUTED = "#6b7785"


def _foot(*parts):
    """A native chart's footer line (base first, then notes), as :func:`finish` joins them."""
    return " · ".join(x for x in parts if x) or None


def _assumptions(design, lang):
    s = design.settings
    return t("sampling.chart.assumptions", lang, promoters=f"{100 * s['promoters']:.0f}",
             detractors=f"{100 * s['detractors']:.0f}", conf=f"{100 * s['conf']:g}")


def _brand_groups(design, codebook, lang):
    """[(label, n, key, moe_nps, mdc_nps, colour)] for our brand, the competitors (grouped when
    their bases are equal: the widest margin stands for them) and the total; ``key`` names the
    group's column of :meth:`~workbench.sampling.SampleDesign.power_curves`."""
    br = design.brands
    col = design.brand_col
    ours = br[br["role"] == "ours"].iloc[0]
    out = [(level_label(codebook, col, ours[col], lang), float(ours["n"]), str(ours[col]),
            float(ours["moe_nps"]), float(ours["mdc_nps"]), BRAND_COLORS["ours"])]
    comp = br[br["role"] == "competitor"]
    if len(comp):
        if comp["n"].nunique() == 1:
            label = t("sampling.chart.each_competitor", lang) if len(comp) > 1 else \
                level_label(codebook, col, comp[col].iloc[0], lang)
            widest = comp.loc[comp["mdc_nps"].idxmax()]
            out.append((label, float(widest["n"]), str(widest[col]), float(comp["moe_nps"].max()),
                        float(widest["mdc_nps"]), PALETTE[1]))
        else:
            for i, (_, r) in enumerate(comp.iterrows()):
                out.append((level_label(codebook, col, r[col], lang), float(r["n"]), str(r[col]),
                            float(r["moe_nps"]), float(r["mdc_nps"]), PALETTE[1 + (i % 6)]))
    tot = design.total
    out.append((t("sampling.total_market", lang), float(tot["n"]), "total",
                float(tot["moe_nps"]), float(tot["mdc_nps"]), PALETTE[2]))
    return out


def moe_curve(design, *, lang="en", codebook=None):
    """Margin of error against the base, with the design's bases marked.

    Lines: NPS margin (points) and the margin of a proportion (percentage points) for a simple
    random sample; points: the design's brands and total, with their design effect and FPC.
    """
    cur = design.curve()
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ax.plot(cur["n"], cur["moe_nps"], color=PALETTE[0], lw=2, label=t("sampling.chart.moe_nps", lang))
    p_pct = f"{100 * design.settings['p']:.0f}"
    ax.plot(cur["n"], 100 * cur["moe"], color=PALETTE[6], lw=1.6, ls="--",
            label=t("sampling.chart.moe_prop", lang, p=p_pct))
    top = float(cur["moe_nps"].iloc[0])
    for label, n, _, moe, _, colour in _brand_groups(design, codebook, lang):
        ax.plot([n], [moe], "o", ms=7, color=colour, mec="white", mew=1.2, zorder=5)
        ax.vlines(n, 0, moe, color=colour, lw=0.8, ls=":")
        ax.annotate(f"{label}\nn={n:,.0f}: ±{moe:.1f}", (n, moe), xytext=(10, 12),
                    textcoords="offset points", fontsize=8, color=colour, fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_xlim(0, float(cur["n"].max()))
    ax.set_ylim(0, top * 0.75)
    ax.set_xlabel(t("sampling.chart.n_per_wave", lang))
    ax.set_ylabel(t("sampling.chart.moe_axis", lang))
    ax.legend(loc="upper right")
    return finish(fig, title=t("sampling.chart.moe_title", lang), base=_assumptions(design, lang),
                  note=t("sampling.chart.moe_note", lang))


def allocation_chart(design, *, lang="en", codebook=None):
    """Left: each brand's share of the population and of the sample; right: interviews per
    stratum within each brand (stacked; low-base strata hatched)."""
    al = design.allocation
    br = design.brands
    bcol = design.brand_col
    scol = design.strata[1] if len(design.strata) > 1 else None
    labels = [level_label(codebook, bcol, b, lang) for b in br[bcol]]
    y = np.arange(len(br))[::-1]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.6), gridspec_kw={"width_ratios": [1, 1.45]})
    h = 0.38
    ax1.barh(y + h / 2, 100 * br["population_share"], h, color=PALETTE[6],
             label=t("sampling.chart.pop_share", lang))
    ax1.barh(y - h / 2, 100 * br["share"], h, color=PALETTE[0], label=t("sampling.chart.sample_share", lang))
    for yi, a, b in zip(y, br["population_share"], br["share"]):
        ax1.text(100 * a + 0.8, yi + h / 2, f"{100 * a:.0f}%", va="center", fontsize=7.5, color=_MUTED)
        ax1.text(100 * b + 0.8, yi - h / 2, f"{100 * b:.0f}%", va="center", fontsize=7.5, color=PALETTE[0])
    ax1.set_yticks(y, labels)
    ax1.set_xlim(0, 100 * max(br["population_share"].max(), br["share"].max()) * 1.3)
    ax1.set_xlabel(t("sampling.chart.share_axis", lang))
    ax1.legend(loc="lower right", fontsize=7.5)
    ax1.set_title(t("sampling.chart.alloc_left", lang), fontsize=9.5)

    low_seen = False
    if scol is None:
        ax2.barh(y, br["n"], color=PALETTE[0])
        for yi, v in zip(y, br["n"]):
            ax2.text(v + 0.02 * br["n"].max(), yi, f"{v:,.0f}", va="center", fontsize=8, fontweight="bold")
        ax2.set_xlim(0, br["n"].max() * 1.2)
        levels = []
    else:
        levels = list(dict.fromkeys(al[scol].astype(object).tolist()))
        left = np.zeros(len(br))
        for j, lev in enumerate(levels):
            vals, low = [], []
            for b in br[bcol].astype(object):
                row = al[(al[bcol].astype(object) == b) & (al[scol].astype(object) == lev)]
                vals.append(float(row["n"].sum()))
                low.append(bool((row["base_status"] != "ok").any()))
            vals = np.array(vals)
            colour = PALETTE[(j + 2) % len(PALETTE)] if j + 2 < len(PALETTE) else PALETTE[j % len(PALETTE)]
            bars = ax2.barh(y, vals, left=left, color=colour, edgecolor="white", lw=0.6,
                            label=level_label(codebook, scol, lev, lang))
            for bar, v, lo, l0 in zip(bars, vals, low, left):
                if lo:
                    bar.set_hatch("///")
                    bar.set_alpha(0.45)
                    low_seen = True
                if v >= 75:
                    ax2.text(l0 + v / 2, bar.get_y() + bar.get_height() / 2, f"{v:.0f}", ha="center",
                             va="center", fontsize=7, color="white")
            left = left + vals
        for yi, tot in zip(y, left):
            ax2.text(tot + 0.02 * left.max(), yi, f"{tot:,.0f}", va="center", fontsize=8,
                     fontweight="bold")
        ax2.set_xlim(0, left.max() * 1.2)
    ax2.set_yticks(y, [""] * len(y))
    ax2.set_xlabel(t("sampling.chart.interviews", lang))
    title2 = (t("sampling.chart.alloc_right", lang, strata=_var_label(codebook, scol, lang)) if scol
              else t("sampling.chart.alloc_right_brand", lang))
    ax2.set_title(title2, fontsize=9.5)
    handles, texts = ax2.get_legend_handles_labels()
    if low_seen:
        handles.append(Patch(facecolor="white", edgecolor=_MUTED, hatch="///"))
        texts.append(t("lowbase.marker", lang).lstrip("* "))
    if levels:
        ax2.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                   ncol=min(len(texts), 6), fontsize=7.5, handlelength=1.2, columnspacing=0.9)
    return finish(fig, title=t("sampling.chart.alloc_title", lang),
                  base=t("sampling.chart.alloc_base", lang, n=f"{design.total['n']:,.0f}"))


def _var_label(codebook, column, lang):
    if codebook is not None and column in codebook:
        return codebook.label(column, lang)
    return str(column)


def boost_chart(options, design, *, lang="en", codebook=None):
    """NPS margins (total, our brand, widest competitor) against the smallest competitor base,
    for the boost options (:func:`workbench.sampling.boost_options`); the design is starred."""
    ours_label = level_label(codebook, design.brand_col, design.ours, lang)
    xcol = "n_competitor_min" if len(design.competitors) else "n_ours"
    opt = options[~options["design"]].sort_values(xcol, kind="stable")
    opt = opt.drop_duplicates(xcol, keep="first")
    des = options[options["design"]].iloc[0]
    fig, ax = plt.subplots(figsize=(7.2, 3.1))
    x = opt[xcol].to_numpy(dtype=float)
    series = [
        ("moe_nps_competitor_max", PALETTE[1], t("sampling.chart.boost_comp", lang)),
        ("moe_nps_ours", BRAND_COLORS["ours"], ours_label),
        ("moe_nps", PALETTE[2], t("sampling.total_market", lang)),
    ]
    if not len(design.competitors):
        series = series[1:]
    chart_series = []
    for col, colour, label in series:
        ax.plot(x, opt[col], "-o", color=colour, lw=1.8, ms=4.5, label=label)
        chart_series.append(Series(label, [float(v) for v in opt[col]]))
        ax.plot([des[xcol]], [des[col]], marker="*", ms=13, color=colour, mec="black",
                mew=0.6, ls="none", zorder=6)
    for xi, d, m in zip(x, opt["deff"], opt["moe_nps"]):
        ax.annotate(t("sampling.chart.deff_short", lang, deff=f"{d:.2f}"), (xi, m), xytext=(0, -14),
                    textcoords="offset points", ha="center", fontsize=7, color=_MUTED,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], marker="*", ms=11, color="white", mec="black", mfc="#cccccc", ls="none"))
    labels.append(t("sampling.chart.boost_design", lang))
    ax.legend(handles, labels, loc="upper center", ncol=4, fontsize=7.5)
    top = float(np.nanmax(np.r_[opt[[c for c, _, _ in series]].to_numpy(dtype=float).ravel(),
                                [float(des[c]) for c, _, _ in series]]))
    ax.set_ylim(0, top * 1.45)
    lo, hi = min(x.min(), des[xcol]), max(x.max(), des[xcol])
    span = hi - lo if hi > lo else 100.0
    ax.set_xlim(lo - 0.08 * span, hi + 0.08 * span)
    ax.set_xlabel(t("sampling.chart.boost_x" if len(design.competitors) else "sampling.chart.n_per_wave", lang))
    ax.set_ylabel(t("sampling.chart.moe_axis_nps", lang))
    base = t("sampling.chart.boost_base", lang, n=f"{des['n']:,.0f}")
    # the native chart's footer: the base, and what the stars of the picture say
    attach_chart(fig, Chart("line", [f"{v:,.0f}" for v in x], chart_series,
                            title=t("sampling.chart.boost_title", lang), x_title=ax.get_xlabel(),
                            y_title=ax.get_ylabel(), number_format="0.0",
                            note=_foot(base, t("sampling.chart.boost_design_note", lang,
                                                n=f"{des[xcol]:,.0f}"))))
    return finish(fig, title=t("sampling.chart.boost_title", lang), base=base)


def power_chart(design, *, lang="en", codebook=None, max_change=None):
    """Power to detect a true NPS change between two waves, by base; dotted lines mark each
    base's minimum detectable change at the design's power."""
    s = design.settings
    groups = _brand_groups(design, codebook, lang)
    worst = max(g[4] for g in groups)
    top = max_change or float(np.ceil(worst * 1.6 / 5.0) * 5.0)
    step = 0.25 if top <= 20 else 0.5 if top <= 50 else 1.0  # exact categories for a native chart
    x = np.arange(0, top + step / 2, step)
    curves = design.power_curves(x)
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    chart_series = []
    for label, n, key, _, mdc, colour in groups:
        pw = 100 * curves[key].to_numpy(dtype=float)
        name = f"{label} (n={n:,.0f})"
        ax.plot(x, pw, color=colour, lw=2, label=name)
        chart_series.append(Series(name, [float(v) for v in pw]))
        ax.vlines(mdc, 0, 100 * s["power"], color=colour, lw=0.9, ls=":")
        ax.annotate(fmt_num(mdc, 1), (mdc, 2), xytext=(3, 0), textcoords="offset points",
                    fontsize=7.5, color=colour, fontweight="bold")
    ax.axhline(100 * s["power"], color=_MUTED, lw=0.8, ls="--")
    ax.text(top, 100 * s["power"] + 1.5, t("sampling.chart.power_line", lang, power=f"{100 * s['power']:.0f}"),
            ha="right", fontsize=7.5, color=_MUTED)
    ax.set_xlim(0, top)
    ax.set_ylim(0, 102)
    ax.set_xlabel(t("sampling.chart.power_x", lang))
    ax.set_ylabel(t("sampling.chart.power_y", lang))
    ax.legend(loc="lower right", fontsize=7.5)
    # the native chart's footer: the design's base and the assumptions (each curve's base is in
    # its name; the dotted minimum-detectable-change lines stay in the picture and the table)
    attach_chart(fig, Chart("line", [f"{v:g}" for v in x], chart_series,
                            title=t("sampling.chart.power_title", lang), x_title=ax.get_xlabel(),
                            y_title=ax.get_ylabel(), number_format="0",
                            note=_foot(t("sampling.chart.alloc_base", lang, n=f"{design.total['n']:,.0f}"),
                                       _assumptions(design, lang))))
    return finish(fig, title=t("sampling.chart.power_title", lang), base=_assumptions(design, lang),
                  note=t("sampling.chart.power_note", lang))
