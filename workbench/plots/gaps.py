"""Charts of the 5-GAP analysis (one function per chart type).

Each function takes tables of :mod:`workbench.gaps` (usually parts of a
:class:`~workbench.gaps.FiveGapResult`) and the report language and returns a finished figure:
title, axis labels, legend and base line in that language. Dimension, item, scale and group
names come from the codebook when one is given, else from the bundled SERVQUAL item bank.

Axes follow the study's answer scale (``scale=(min, max)``, default the codebook's
``servqual.scale``, else the range of the data), never a fixed 1-7. A chart without data raises
:class:`~workbench.errors.DataError` (a report section shows a note instead).

Conventions shared by the charts: a gap is "achieved minus target" (negative = shortfall);
significant shortfalls are red, significant surpluses green, differences that are not significant
pale; estimates on a low base (below the caution threshold of the low-base rule) are drawn hollow
or hatched and named in the legend with the report's low-base marker.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..narrative import fmt_signed, t
from ..narrative.gaps import gap_label, group_label, label
from ..reportmodel import Chart, Series, attach_chart
from ._labels import spread_labels
from ._theme import PALETTE, SIG_COLORS, base_text, finish, level_colours

__all__ = [
    "GAP_COLORS",
    "dimension_gap_chart",
    "snake_chart",
    "zone_chart",
    "diagnosis_chart",
    "priority_chart",
    "antecedents_chart",
    "gap_model_chart",
]

#: One colour per gap of the model (gap 5, the customer's gap, in the house blue).
GAP_COLORS = {1: PALETTE[1], 2: PALETTE[3], 3: PALETTE[2], 4: PALETTE[4], 5: PALETTE[0]}
_PALE = "#c5ccd3"
_MUTED = "#6b7785"
_BAND = "#f1f4f7"


def _foot(*parts):
    """A native chart's footer line (base first, then notes), as :func:`finish` joins them."""
    return " · ".join(x for x in parts if x) or None


def _low(flags):
    return np.asarray(pd.Series(flags).astype(object).fillna("ok").to_numpy() != "ok")


def _lowbase_handle(lang, hatch=True):
    return (Patch(facecolor="white", edgecolor=_MUTED, hatch="///" if hatch else None),
            t("lowbase.marker", lang).lstrip("* "))


def _sig_color(est, p, sig_level):
    if not np.isfinite(p) or p >= sig_level:
        return _PALE
    return SIG_COLORS["down"] if est < 0 else SIG_COLORS["up"]


def _customer_base(table, lang, by=None):
    """Base line of a customer table: its overall row (summed over the groups of ``by``)."""
    rows = table[table["level"] == "overall"] if "level" in table.columns else table
    if len(rows) == 0:
        rows = table
    if by:
        per_group = rows.groupby(by, sort=False)["n"].max()
        return base_text(float(per_group.sum()), what=t("gaps.base.customers", lang), lang=lang)
    r = rows.iloc[int(np.nanargmax(rows["n"].to_numpy(dtype=float)))]
    n_eff = r["n_eff"] if "n_eff" in rows.columns and abs(r["n_eff"] - r["n"]) > 0.5 else None
    return base_text(r["n"], what=t("gaps.base.customers", lang), lang=lang, n_eff=n_eff)


def _answer_scale(scale, codebook, values):
    """``(lo, hi)`` of the answer scale: given, the codebook's ``servqual.scale``, else the data's."""
    if scale is not None:
        return float(scale[0]), float(scale[1])
    sq = getattr(codebook, "servqual", None) if codebook is not None else None
    if sq is not None and getattr(sq, "scale", None) is not None:
        return float(sq.scale.min), float(sq.scale.max)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.floor(v.min())), float(np.ceil(v.max()))


def _num(x):
    return f"{float(x):g}"


def _need_data(values, what):
    """Raise DataError when a chart has nothing to draw."""
    from ..errors import DataError

    if not np.isfinite(np.asarray(values, dtype=float)).any():
        raise DataError(f"{what}: no data to draw")


def _wrap(text, lang, width=30):
    """Wrap a long English label on two lines (Chinese labels are short)."""
    if lang == "zh" or len(text) <= width:
        return text
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _finite(values):
    """Values for chart data: floats, ``None`` where there is no estimate."""
    return [float(v) if v is not None and np.isfinite(float(v)) else None for v in values]


# --------------------------------------------------------------------------------------------
# gap 5 by dimension
# --------------------------------------------------------------------------------------------
def dimension_gap_chart(gap5, *, lang="en", codebook=None, by=None, sig_level=0.05, title=None):
    """Gap 5 (perception − expectation) per dimension with its confidence interval.

    Parameters
    ----------
    gap5 : DataFrame
        :func:`workbench.gaps.servqual` output (its ``dimension`` rows are drawn), with by-columns
        when ``by`` is given.
    by : str, optional
        Draw one bar per group of this column within each dimension.
    sig_level : float
        Significance level for the colours (1 − confidence).
    """
    rows = gap5[gap5["level"] == "dimension"].reset_index(drop=True)
    _need_data(rows["gap"], "dimension_gap_chart")
    dims = list(dict.fromkeys(rows["dimension"]))
    groups = list(dict.fromkeys(rows[by])) if by else [None]
    k = len(groups)
    # a group keeps its colour in every chart of every report (the codebook's level order)
    colours = level_colours(codebook, by, groups) if by else {}
    group_colour = [colours.get(str(g), PALETTE[gi % len(PALETTE)]) for gi, g in enumerate(groups)]
    height = max(3.3, 0.8 + 0.42 * len(dims) * (1 if k == 1 else 0.55 * k + 0.45))
    fig, ax = plt.subplots(figsize=(7.2, min(height, 8.5)))
    bar_h = 0.62 if k == 1 else 0.8 / k
    low_any = False
    ends = np.abs(rows[["gap", "ci_low", "ci_high"]].to_numpy(dtype=float))
    span = max(float(np.nanmax(ends)), 0.1)
    for gi, g in enumerate(groups):
        sub = rows if g is None else rows[rows[by] == g]
        sub = sub.set_index("dimension").reindex(dims)
        y = np.arange(len(dims)) + (0 if k == 1 else (gi - (k - 1) / 2) * bar_h)
        est = sub["gap"].to_numpy(dtype=float)
        p = sub["p_val"].to_numpy(dtype=float)
        low = _low(sub["base_flag"])
        low_any |= bool(low.any())
        for j in range(len(dims)):
            if k == 1:
                face = _sig_color(est[j], p[j], sig_level)
                alpha = 1.0
            else:
                face = group_colour[gi]
                alpha = 1.0 if np.isfinite(p[j]) and p[j] < sig_level else 0.35
            ax.barh(y[j], est[j], height=bar_h * 0.92, color="white" if low[j] else face, alpha=alpha,
                    edgecolor=face if low[j] else "none", hatch="///" if low[j] else None, lw=1.0)
        err = np.vstack([est - sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float) - est])
        ax.errorbar(est, y, xerr=np.nan_to_num(err), fmt="none", ecolor="#3b4652", elinewidth=0.9, capsize=2.5)
        for j in range(len(dims)):
            if not np.isfinite(est[j]):
                continue
            edge = sub["ci_low"].iloc[j] if est[j] < 0 else sub["ci_high"].iloc[j]
            edge = est[j] if not np.isfinite(edge) else edge
            ax.text(edge + (-0.03 if est[j] < 0 else 0.03) * span, y[j], fmt_signed(est[j], 2),
                    va="center", ha="right" if est[j] < 0 else "left", fontsize=7.5 if k > 1 else 8.5,
                    color="#1f2a36")
    ax.axvline(0, color="#1f2a36", lw=0.9)
    ax.set_yticks(np.arange(len(dims)))
    ax.set_yticklabels([label(d, lang, codebook) for d in dims])
    ax.invert_yaxis()
    lo_v = min(float(np.nanmin(rows[["gap", "ci_low"]].to_numpy(dtype=float))), 0.0)
    hi_v = max(float(np.nanmax(rows[["gap", "ci_high"]].to_numpy(dtype=float))), 0.0)
    ax.set_xlim(lo_v - 0.3 * span - 0.05, max(hi_v + 0.3 * span + 0.05, span * 0.45, 0.35))
    ax.set_xlabel(t("gaps.chart.gap_axis", lang))
    ax.grid(axis="y", visible=False)
    conf = f"{100 * (1 - sig_level):g}"
    if k == 1:
        sig = rows["p_val"].to_numpy(dtype=float) < sig_level
        g = rows["gap"].to_numpy(dtype=float)
        handles, texts = [], []
        for present, colour, key in ((sig & (g < 0), SIG_COLORS["down"], "gaps.chart.sig_short"),
                                     (sig & (g > 0), SIG_COLORS["up"], "gaps.chart.sig_surplus"),
                                     (~sig, _PALE, "gaps.chart.not_sig")):
            if present.any():
                handles.append(Patch(color=colour))
                texts.append(t(key, lang, conf=conf))
    else:
        handles = [Patch(color=group_colour[gi]) for gi in range(k)]
        texts = [group_label(by, g, lang, codebook) for g in groups]
        handles.append(Patch(color=_MUTED, alpha=0.35))
        texts.append(t("gaps.chart.pale_not_sig", lang, conf=conf))
    if low_any:
        h, x = _lowbase_handle(lang)
        handles.append(h)
        texts.append(x)
    ax.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, -0.5 / (fig.get_figheight() - 1.0)),
              ncol=min(len(handles), 4), fontsize=7.5)
    if title is None:
        title = t("gaps.chart.dim_gap.title", lang) if not by else \
            t("gaps.chart.dim_gap_by.title", lang, by=label(by, lang, codebook, kind="question"))
    base = _customer_base(gap5, lang, by)
    fig = finish(fig, title=title, base=base, note=t("gaps.chart.ci_note", lang, conf=conf))
    names = [label(d, lang, codebook) for d in dims]
    if k == 1:
        series = [Series(t("gaps.chart.gap_axis", lang), _finite(rows.set_index("dimension")["gap"].reindex(dims)))]
    else:
        series = [Series(group_label(by, g, lang, codebook),
                         _finite(rows[rows[by] == g].set_index("dimension")["gap"].reindex(dims))) for g in groups]
    # drawn top to bottom; a native horizontal bar chart draws its first category at the bottom
    return attach_chart(fig, Chart(kind="barh", categories=names[::-1],
                                   series=[Series(s.name, s.values[::-1]) for s in series], title=title,
                                   x_title=t("gaps.chart.gap_axis", lang), number_format="+0.00;-0.00;0.00",
                                   note=_foot(base, t("gaps.chart.native_sig_note", lang, conf=conf))))


# --------------------------------------------------------------------------------------------
# items: snake chart and zone of tolerance
# --------------------------------------------------------------------------------------------
def _item_axis(ax, items, lang, codebook, *, x_text):
    """Item tick labels, alternating bands per dimension and dimension names at the right."""
    dims = items["dimension"].tolist()
    y = np.arange(len(items))
    ax.set_yticks(y)
    ax.set_yticklabels([label(i, lang, codebook, kind="item") for i in items["item"]], fontsize=8)
    start = 0
    blocks = []
    for j in range(1, len(dims) + 1):
        if j == len(dims) or dims[j] != dims[start]:
            blocks.append((dims[start], start, j - 1))
            start = j
    for b, (dim, a, z) in enumerate(blocks):
        if b % 2 == 0:
            ax.axhspan(a - 0.5, z + 0.5, color=_BAND, zorder=0, lw=0)
        ax.text(x_text, a, label(dim, lang, codebook), va="center", ha="left", fontsize=7.5, color=_MUTED,
                fontweight="bold")
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)


def snake_chart(gap5, *, lang="en", codebook=None, sig_level=0.05, title=None, scale=None):
    """The "snake": expectation and perception of every item, in item order.

    Perception markers are red where the item's gap is a significant shortfall, green for a
    significant surplus, white where it is not significant; the area between the two lines is
    shaded where perception falls short. The axis ends at the top of the answer scale
    (``scale``, default the codebook's).
    """
    items = gap5[gap5["level"] == "item"].reset_index(drop=True)
    _need_data(items[["expectation", "perception"]].to_numpy(dtype=float), "snake_chart")
    fig, ax = plt.subplots(figsize=(7.2, max(0.22 * len(items) + 1.4, 3.0)))
    y = np.arange(len(items))
    e = items["expectation"].to_numpy(dtype=float)
    p = items["perception"].to_numpy(dtype=float)
    s_lo, s_hi = _answer_scale(scale, codebook, np.r_[e, p])
    lo, hi = _axis_range(np.r_[e, p], s_lo, s_hi)
    ax.fill_betweenx(y, e, p, where=p < e, color=SIG_COLORS["down"], alpha=0.10, lw=0, interpolate=True)
    ax.plot(e, y, color=_MUTED, lw=1.4, ls="--", marker="o", ms=4.5, mfc=_MUTED, mec=_MUTED,
            label=t("gaps.expectation", lang), zorder=3)
    ax.plot(p, y, color=PALETTE[0], lw=1.8, zorder=3, label=t("gaps.perception", lang))
    colors = [_sig_color(g, pv, sig_level) for g, pv in zip(items["gap"], items["p_val"])]
    faces = ["white" if c == _PALE else c for c in colors]
    ax.scatter(p, y, s=34, c=faces, edgecolors=[PALETTE[0] if c == _PALE else c for c in colors],
               linewidths=1.2, zorder=4)
    low = _low(items["base_flag"])
    if low.any():
        ax.scatter(p[low], y[low], s=80, facecolors="none", edgecolors=_MUTED, linewidths=0.8, zorder=5)
    ax.set_xlim(lo, hi)
    _item_axis(ax, items, lang, codebook, x_text=lo + 0.01 * (hi - lo))
    ax.set_xlabel(t("gaps.chart.score_axis", lang, lo=_num(s_lo), hi=_num(s_hi)))
    handles, texts = ax.get_legend_handles_labels()
    conf = f"{100 * (1 - sig_level):g}"
    handles.append(Line2D([], [], ls="none", marker="o", mfc=SIG_COLORS["down"], mec=SIG_COLORS["down"]))
    texts.append(t("gaps.chart.sig_short", lang, conf=conf))
    if SIG_COLORS["up"] in colors:
        handles.append(Line2D([], [], ls="none", marker="o", mfc=SIG_COLORS["up"], mec=SIG_COLORS["up"]))
        texts.append(t("gaps.chart.sig_surplus", lang, conf=conf))
    handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec=PALETTE[0]))
    texts.append(t("gaps.chart.not_sig", lang))
    ax.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, _legend_y(fig)),
              ncol=3, fontsize=7.5)
    title = title or t("gaps.chart.snake.title", lang)
    base = _customer_base(gap5, lang)
    fig = finish(fig, title=title, base=base)
    return attach_chart(fig, Chart(
        kind="line", categories=[label(i, lang, codebook, kind="item") for i in items["item"]],
        series=[Series(t("gaps.expectation", lang), _finite(e)), Series(t("gaps.perception", lang), _finite(p))],
        title=title, y_title=t("gaps.chart.score_axis", lang, lo=_num(s_lo), hi=_num(s_hi)), number_format="0.00",
        note=_foot(base, t("gaps.chart.native_sig_note", lang, conf=conf))))


def _legend_y(fig):
    """Axes-fraction y that puts a legend about 0.55 inch below the axis (clear of its label)."""
    return -0.62 / max(fig.get_figheight() - 1.1, 0.8)


def _axis_range(values, s_lo, s_hi):
    """x-limits of a score chart: from a half point below the lowest mean (not below the scale's
    bottom) to the top of the scale, with room for the dimension names on the left."""
    width = s_hi - s_lo
    lo = np.floor(np.nanmin(values) * 2) / 2 - 0.1 * width
    return max(lo, s_lo - 0.05 * width), s_hi + 0.02 * width


_POSITION_COLORS = {"below": SIG_COLORS["down"], "within": PALETTE[0], "above": SIG_COLORS["up"]}


def zone_chart(zone, *, lang="en", codebook=None, title=None, scale=None):
    """Zone of tolerance per item: a band from adequate to desired service and the perception.

    The perception marker is coloured by ``position_sig`` (significantly below the adequate
    level, within the zone, significantly above the desired level); grey hollow where the base is
    too low to test.
    """
    items = zone[zone["level"] == "item"].reset_index(drop=True)
    _need_data(items[["adequate", "desired", "perception"]].to_numpy(dtype=float), "zone_chart")
    fig, ax = plt.subplots(figsize=(7.2, max(0.22 * len(items) + 1.4, 3.0)))
    y = np.arange(len(items))
    adq = items["adequate"].to_numpy(dtype=float)
    des = items["desired"].to_numpy(dtype=float)
    per = items["perception"].to_numpy(dtype=float)
    ax.barh(y, des - adq, left=adq, height=0.55, color="#cfe0ee", edgecolor="#8fb3d1", lw=0.6,
            label=t("gaps.chart.zone_band", lang), zorder=2)
    pos = items["position_sig"].astype(object)
    for key, colour in _POSITION_COLORS.items():
        m = (pos == key).to_numpy()
        if m.any():
            ax.scatter(per[m], y[m], s=38, color=colour, edgecolors="white", linewidths=0.8, zorder=4,
                       label=t(f"gaps.chart.position.{key}", lang))
    untested = pos.isna().to_numpy()
    if untested.any():
        ax.scatter(per[untested], y[untested], s=38, facecolors="white", edgecolors=_MUTED, zorder=4,
                   label=t("lowbase.marker", lang).lstrip("* "))
    s_lo, s_hi = _answer_scale(scale, codebook, np.r_[adq, des, per])
    lo, hi = _axis_range(np.r_[adq, per], s_lo, s_hi)
    ax.set_xlim(lo, hi)
    _item_axis(ax, items, lang, codebook, x_text=lo + 0.01 * (hi - lo))
    ax.set_xlabel(t("gaps.chart.score_axis", lang, lo=_num(s_lo), hi=_num(s_hi)))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, _legend_y(fig)), ncol=2, fontsize=7.5)
    return finish(fig, title=title or t("gaps.chart.zone.title", lang), base=_customer_base(zone, lang))


# --------------------------------------------------------------------------------------------
# gaps 1-4 -> 5
# --------------------------------------------------------------------------------------------
def diagnosis_chart(diag, *, lang="en", codebook=None, bases=None, sig_level=0.05, title=None):
    """Gaps 1-4 beside gap 5 for every dimension (one panel per dimension).

    Parameters
    ----------
    diag : DataFrame
        :func:`workbench.gaps.diagnosis` output.
    bases : dict, optional
        ``FiveGapResult.bases`` for the base line (customers, managers, staff).
    sig_level : float
        The level the diagnosis flags were made with (for the legend).
    """
    from ..gaps import diagnosis_long

    long = diagnosis_long(diag)
    _need_data(long.loc[long["gap_no"] < 5, "gap"], "diagnosis_chart")
    dims = list(diag["dimension"])
    fig, axes = plt.subplots(1, len(dims), figsize=(7.2, 3.5), sharey=True)
    axes = np.atleast_1d(axes)
    vals = long["gap"].to_numpy(dtype=float)
    lo, hi = min(np.nanmin(vals), 0.0), max(np.nanmax(vals), 0.0)
    pad = 0.22 * (hi - lo)
    low_any = False
    value_labels = {}
    for ax, dim in zip(axes, dims):
        sub = long[long["dimension"] == dim]
        value_labels[ax] = []
        for _, r in sub.iterrows():
            if not np.isfinite(r["gap"]):
                continue
            colour = GAP_COLORS[int(r["gap_no"])]
            low = r["base_flag"] not in ("ok", None) and isinstance(r["base_flag"], str)
            low_any |= low
            ax.bar(r["gap_no"], r["gap"], width=0.72, color="white" if low else colour,
                   alpha=1.0 if r["sig"] else 0.35, edgecolor=colour if low else "none",
                   hatch="///" if low else None, lw=1.0)
            up = 1 if r["gap"] >= 0 else -1
            txt = ax.text(r["gap_no"], r["gap"] + (0.04 * (hi - lo)) * up,
                          fmt_signed(r["gap"], 1), ha="center", va="bottom" if up > 0 else "top",
                          fontsize=6.5, color="#1f2a36")
            value_labels[ax].append((txt, up))
        ax.axhline(0, color="#1f2a36", lw=0.8)
        ax.axvline(4.5, color=_MUTED, lw=0.6, ls=":")
        ax.set_xticks([1, 2, 3, 4, 5])
        ax.set_xticklabels(["1", "2", "3", "4", "5"], fontsize=8)
        ax.set_xlim(0.4, 5.6)
        ax.set_title(label(dim, lang, codebook), fontsize=9, loc="center", fontweight="bold")
        ax.grid(axis="x", visible=False)
        ax.set_xlabel(t("gaps.chart.gap_no_axis", lang), fontsize=8)
    axes[0].set_ylim(lo - pad, hi + pad)
    axes[0].yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.1f}".replace("-", "−")))
    axes[0].set_ylabel(t("gaps.chart.points_axis", lang))
    handles = [Patch(color=GAP_COLORS[k]) for k in (1, 2, 3, 4, 5)]
    texts = [gap_label(k, lang) for k in (1, 2, 3, 4, 5)]
    handles.append(Patch(color=_MUTED, alpha=0.35))
    texts.append(t("gaps.chart.pale_not_sig", lang, conf=f"{100 * (1 - sig_level):g}"))
    if low_any:
        h, x = _lowbase_handle(lang)
        handles.append(h)
        texts.append(x)
    # the legend ends above the base line (which hangs below the figure's bottom edge)
    fig.legend(handles, texts, loc="lower center", ncol=4, fontsize=7.2, bbox_to_anchor=(0.5, 0.0))
    base = _staff_base(bases, lang)
    fig = finish(fig, title=title or t("gaps.chart.diagnosis.title", lang), base=base,
                 note=t("gaps.chart.descriptive", lang))
    fig.subplots_adjust(bottom=0.31)
    for ax, labels in value_labels.items():  # neighbouring bars of similar size: labels stacked, not overprinted
        spread_labels(ax, labels)
    order = [1, 2, 3, 4, 5]
    per = {(d, int(k)): g for d, k, g in zip(long["dimension"], long["gap_no"], long["gap"])}
    attach_chart(fig, Chart(
        kind="bar", categories=[label(d, lang, codebook) for d in dims],
        series=[Series(gap_label(k, lang), _finite([per.get((d, k), np.nan) for d in dims])) for k in order],
        title=title or t("gaps.chart.diagnosis.title", lang), y_title=t("gaps.chart.points_axis", lang),
        number_format="+0.0;-0.0;0.0", note=_foot(base, t("gaps.chart.descriptive", lang))))
    return fig


def _staff_base(bases, lang):
    if not bases:
        return None
    parts = []
    for key in ("customers", "managers", "staff"):
        if key in bases:
            b = bases[key]
            mark = "*" if b["base_flag"] != "ok" else ""
            parts.append(t(f"gaps.base.{key}_short", lang, n=f"{b['n']:,}") + mark)
    return t("gaps.base.bases", lang, list="; ".join(parts) if lang == "en" else ";".join(parts))


def priority_chart(diag, actions, *, lang="en", codebook=None, bases=None, title=None):
    """Where the provider loses most: each dimension's share of the importance-weighted shortfall,
    split by the internal gap it is attributed to (descriptively).

    Parameters
    ----------
    diag, actions : DataFrame
        :func:`workbench.gaps.diagnosis` and :func:`workbench.gaps.action_list` outputs.
    """
    total = float(diag["loss"].sum())
    alone = "verdict" in diag.columns and not diag["verdict"].isin(
        ["shortfall_explained", "shortfall_unexplained", "no_shortfall_internal_risk"]).any() \
        and diag[[f"gap{k}" for k in (1, 2, 3, 4)]].isna().all().all()  # gap 5 only: no staff survey
    weighted = diag["importance"].notna().any()
    order = diag.sort_values("priority")["dimension"].tolist()
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(order) + 1.5))
    y = {d: i for i, d in enumerate(order)}
    left = dict.fromkeys(order, 0.0)
    used = []
    shares: dict[int, dict[str, float]] = {}
    for _, r in actions.sort_values(["priority", "gap_no"]).iterrows():
        share = 100 * r["loss"] / total if total > 0 else 0.0
        k = int(r["gap_no"])
        shares.setdefault(k, {})[r["dimension"]] = shares.get(k, {}).get(r["dimension"], 0.0) + share
        colour = GAP_COLORS[k] if k < 5 else (GAP_COLORS[5] if alone else _PALE)
        ax.barh(y[r["dimension"]], share, left=left[r["dimension"]], height=0.6, color=colour,
                edgecolor="white", lw=0.8)
        if share >= 6 and not alone:  # with one segment per bar the total beside it says it all
            ax.text(left[r["dimension"]] + share / 2, y[r["dimension"]], f"{share:.0f}%", ha="center",
                    va="center", fontsize=7.5, color="white" if k in (1, 2, 3) or alone else "#1f2a36")
        left[r["dimension"]] += share
        if k not in used:
            used.append(k)
    for d in order:
        txt = f"{left[d]:.0f}%" if left[d] > 0 else t("gaps.chart.no_shortfall", lang)
        ax.text(left[d] + 1.0, y[d], txt, va="center", ha="left", fontsize=8.5,
                fontweight="bold" if left[d] > 0 else "normal", color="#1f2a36" if left[d] > 0 else _MUTED)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([label(d, lang, codebook) for d in order])
    ax.set_ylim(len(order) - 0.5, -0.5)  # every dimension has its row, with a bar or not
    ax.set_xlim(0, max(max(left.values()) * 1.22, 10))
    ax.set_xlabel(t("gaps.chart.loss_axis" if weighted else "gaps.chart.loss_axis_equal", lang))
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=GAP_COLORS[k] if k < 5 else _PALE) for k in sorted(used)]
    texts = [gap_label(k, lang) if k < 5 else t("gaps.chart.unexplained", lang) for k in sorted(used)]
    if handles and not alone:
        ax.legend(handles, texts, loc="lower right", fontsize=7.5, title=t("gaps.chart.main_source", lang),
                  title_fontsize=7.5)
    note = t("gaps.chart.model_alone", lang) if alone else t("gaps.chart.descriptive", lang)
    title = title or t("gaps.chart.priority.title", lang)
    base = _staff_base(bases, lang)
    fig = finish(fig, title=title, base=base, note=note)
    rev = order[::-1]  # a native horizontal bar chart draws its first category at the bottom
    series = [Series(gap_label(k, lang) if k < 5 else t("gaps.chart.unexplained", lang),
                     [shares[k].get(d) for d in rev]) for k in sorted(used)]
    if alone and series:
        series = [Series(t("gaps.chart.loss_axis" if weighted else "gaps.chart.loss_axis_equal", lang),
                         [left[d] for d in rev])]
    if series:
        # a dimension without a bar says why, as the picture does beside its empty row
        cats = [label(d, lang, codebook) if left[d] > 0
                else f"{label(d, lang, codebook)} ({t('gaps.chart.no_shortfall', lang)})" for d in rev]
        attach_chart(fig, Chart(kind="stacked_barh", categories=cats, series=series,
                                title=title, x_title=t("gaps.chart.loss_axis" if weighted
                                                       else "gaps.chart.loss_axis_equal", lang), number_format="0",
                                note=_foot(base, note)))
    return fig


# --------------------------------------------------------------------------------------------
# antecedents
# --------------------------------------------------------------------------------------------
def antecedents_chart(ante, *, lang="en", codebook=None, bases=None, title=None, midpoint=None, scale=None):
    """Mean (with confidence interval) of each agreement-scale antecedent of gaps 1-4.

    Red: a weakness (a construct that narrows its gap scores significantly below the scale
    midpoint, or one that widens it scores significantly above); green: a strength (the reverse);
    grey: not clearly either. Constructs that widen their gap are marked (−). Count scales (levels
    of management) are left to the table. ``bases`` (``FiveGapResult.bases``) gives the base line.
    ``scale`` (default the codebook's) sets the axis; ``midpoint`` defaults to its middle.
    """
    a = ante[ante["kind"] == "agreement"] if "kind" in ante.columns else ante
    a = a.sort_values("gap_no", kind="stable").reset_index(drop=True)
    _need_data(a["mean"] if len(a) else [], "antecedents_chart")
    s_lo, s_hi = _answer_scale(scale, codebook, a[["ci_low", "ci_high", "mean"]].to_numpy(dtype=float))
    midpoint = (s_lo + s_hi) / 2 if midpoint is None else float(midpoint)
    width = s_hi - s_lo
    fig, ax = plt.subplots(figsize=(7.2, max(0.23 * len(a) + 1.4, 3.0)))
    y = np.arange(len(a))
    weak = np.where(a["direction"] > 0, a["ci_high"] < midpoint, a["ci_low"] > midpoint)
    strong = np.where(a["direction"] > 0, a["ci_low"] > midpoint, a["ci_high"] < midpoint)
    colours = np.where(weak, SIG_COLORS["down"], np.where(strong, SIG_COLORS["up"], _MUTED))
    low = _low(a["base_flag"]) if "base_flag" in a.columns else np.zeros(len(a), bool)
    ax.hlines(y, a["ci_low"], a["ci_high"], color=colours, lw=1.6, zorder=3)
    ax.scatter(a["mean"], y, s=42, c=np.where(low, "white", colours), edgecolors=colours, linewidths=1.4,
               zorder=4)
    ax.axvline(midpoint, color=_MUTED, lw=0.8, ls="--")
    gaps_ = a["gap_no"].tolist()
    start = 0
    for j in range(1, len(a) + 1):
        if j == len(a) or gaps_[j] != gaps_[start]:
            if (int(gaps_[start]) % 2) == 1:
                ax.axhspan(start - 0.5, j - 0.5, color=_BAND, zorder=0, lw=0)
            rows = j - start  # a label along the block when it has room, else across
            ax.text(s_hi + 0.06 * width, (start + j - 1) / 2, t("gaps.gap_no", lang, k=int(gaps_[start])),
                    rotation=90 if rows >= 3 else 0, va="center", ha="center", fontsize=8 if rows >= 3 else 7,
                    color=_MUTED, fontweight="bold")
            start = j
    names = [label(s, lang, codebook, kind="scale") + (" (−)" if d < 0 else "")
             for s, d in zip(a["scale"], a["direction"])]
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7.5)
    ax.set_ylim(len(a) - 0.5, -0.5)
    ax.set_xlim(s_lo, s_hi + 0.1 * width)
    step = 1 if width <= 10 else int(np.ceil(width / 10))
    ax.set_xticks(np.arange(s_lo, s_hi + 1e-9, step))
    ax.set_xlabel(t("gaps.chart.agree_axis", lang, lo=_num(s_lo), hi=_num(s_hi)))
    ax.grid(axis="y", visible=False)
    handles = [Line2D([], [], ls="none", marker="o", color=SIG_COLORS["down"]),
               Line2D([], [], ls="none", marker="o", color=SIG_COLORS["up"]),
               Line2D([], [], ls="none", marker="o", color=_MUTED)]
    texts = [t("gaps.chart.weakness", lang), t("gaps.chart.strength", lang), t("gaps.chart.neutral", lang)]
    if low.any():
        handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec=_MUTED))
        texts.append(t("lowbase.marker", lang).lstrip("* "))
    ax.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, _legend_y(fig)),
              ncol=4, fontsize=7.5)
    if bases:
        base = _staff_base({k: v for k, v in bases.items() if k != "customers"}, lang)
    else:
        base = base_text(int(a["n"].max()) if len(a) else 0, what=t("gaps.base.staff_all", lang), lang=lang)
    return finish(fig, title=title or t("gaps.chart.antecedents.title", lang), base=base,
                  note=t("gaps.chart.widens_note", lang, mid=_num(midpoint)))


# --------------------------------------------------------------------------------------------
# the model itself
# --------------------------------------------------------------------------------------------
def gap_model_chart(gap5, gaps14, *, lang="en", bases=None, sig_level=0.05, title=None):
    """The service quality gap model (Parasuraman, Zeithaml & Berry 1985) drawn as its classic
    diagram, each gap labelled with this study's overall value (mean over dimensions).

    Parameters
    ----------
    gap5, gaps14 : DataFrame
        :func:`workbench.gaps.servqual` and :func:`workbench.gaps.gaps_1_to_4` outputs (their
        ``overall`` rows are used; a gap that was not measured is labelled "–"); ``gaps14`` None
        when the study has no staff survey (the note says gaps 1-4 were not measured).
    bases : dict, optional
        ``FiveGapResult.bases`` for the base line.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    vals = {}
    ov = gap5[gap5["level"] == "overall"]
    if len(ov):
        r = ov.iloc[0]
        vals[5] = (r["gap"], r["p_val"], r.get("base_flag", "ok"))
    for no in (1, 2, 3, 4) if gaps14 is not None else ():
        r = gaps14[(gaps14["gap_no"] == no) & (gaps14["level"] == "overall")]
        if len(r):
            r = r.iloc[0]
            vals[no] = (r["gap"], r["p_val"], r.get("base_flag", "ok"))

    fig, ax = plt.subplots(figsize=(7.2, 4.5))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    cust, prov = "#e3eef7", "#eef0f2"
    boxes = {  # key: (centre x, centre y, width, fill)
        "expected": (4.2, 9.0, 3.9, cust), "perceived": (4.2, 7.2, 3.9, cust),
        "delivery": (4.2, 5.1, 3.9, prov), "communications": (8.3, 5.1, 3.0, prov),
        "standards": (4.2, 3.1, 3.9, prov), "management": (4.2, 1.1, 3.9, prov),
    }
    h = 0.95
    for key, (x, y, w, fill) in boxes.items():
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                    fc=fill, ec="#8a96a3", lw=0.9))
        ax.text(x, y, _wrap(t(f"gaps.model.{key}", lang), lang, 28), ha="center", va="center", fontsize=8.5,
                color="#1f2a36")
    ax.plot([0.2, 9.9], [6.15, 6.15], ls="--", color=_MUTED, lw=0.9)
    ax.text(9.9, 6.3, t("gaps.model.customer", lang), ha="right", va="bottom", fontsize=8, color=_MUTED,
            fontweight="bold")
    ax.text(9.9, 6.0, t("gaps.model.provider", lang), ha="right", va="top", fontsize=8, color=_MUTED,
            fontweight="bold")

    def arrow(x0, y0, x1, y1, dashed=False):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, lw=1.0,
                                     color="#3b4652", ls="--" if dashed else "-"))

    arrow(4.2, 1.1 + h / 2, 4.2, 3.1 - h / 2)
    arrow(4.2, 3.1 + h / 2, 4.2, 5.1 - h / 2)
    arrow(4.2, 5.1 + h / 2, 4.2, 7.2 - h / 2)
    arrow(4.2 + 3.9 / 2, 5.1, 8.3 - 1.5, 5.1)
    arrow(8.3, 5.1 + h / 2, 4.2 + 3.9 / 2, 9.0 - 0.1, dashed=True)
    arrow(8.3 - 0.6, 5.1 + h / 2, 4.2 + 3.9 / 2, 7.2, dashed=True)

    def gap_text(no, x, y, ha="center"):
        if no in vals:
            g, p, flag = vals[no]
            tested = p == p and p is not None  # NaN = no test
            colour = _sig_color(g, p, sig_level) if tested else _MUTED
            colour = _MUTED if colour == _PALE else colour
            mark = ""
            if tested and p < sig_level:
                mark = " ▼" if g < 0 else " ▲"
            low = "*" if isinstance(flag, str) and flag != "ok" else ""
            value = fmt_signed(g, 2) + mark + low
        else:
            colour, value = _MUTED, "–"
        ax.text(x, y, f"{t('gaps.gap_no', lang, k=no)}\n{value}", ha=ha, va="center", fontsize=9,
                fontweight="bold", color=colour)

    def bracket(x, y0, y1):
        ax.plot([x, x], [y0, y1], color=_MUTED, lw=0.9)
        ax.plot([x, x + 0.12], [y0, y0], color=_MUTED, lw=0.9)
        ax.plot([x, x + 0.12], [y1, y1], color=_MUTED, lw=0.9)

    left = 4.2 - 3.9 / 2
    bracket(left - 0.25, 7.2, 9.0)
    gap_text(5, left - 0.4, 8.1, ha="right")
    bracket(left - 1.45, 1.1, 9.0)
    gap_text(1, left - 1.6, 4.6, ha="right")
    gap_text(2, 4.45, 2.1, ha="left")
    gap_text(3, 4.45, 4.1, ha="left")
    gap_text(4, 7.0, 4.25, ha="center")
    low_any = any(isinstance(v[2], str) and v[2] != "ok" for v in vals.values())
    note = t("gaps.chart.model_note", lang, conf=f"{100 * (1 - sig_level):g}")
    if gaps14 is None:
        note += "; " + t("gaps.chart.model_alone", lang) if lang == "en" else "；" + t("gaps.chart.model_alone", lang)
    if low_any:
        note += "\n" + t("lowbase.marker", lang)
    fig = finish(fig, title=title or t("gaps.chart.model.title", lang), base=_staff_base(bases, lang), note=note)
    return fig
