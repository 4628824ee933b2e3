"""Charts of the key-driver report: the path diagram, the four views, relative importance and the
importance–performance matrix."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..narrative import t
from ..narrative.drivers import label
from ._theme import PALETTE, finish

__all__ = ["path_diagram", "four_views_chart", "importance_chart", "ipma_chart"]

QUADRANT_COLORS = {"concentrate": "#c0392b", "keep_up": "#1a7f37", "low_priority": "#9aa5b1",
                   "overkill": "#c9a227"}


def _box(ax, x, y, text, color, w=0.2, h=0.1):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.012,rounding_size=0.03",
                                fc=color, ec="none", alpha=0.95, zorder=2))
    ax.text(x, y, text, ha="center", va="center", color="white", fontsize=8.5, fontweight="bold", zorder=3,
            wrap=True)


def _arrow(ax, p0, p1, value, p_val, *, offset=0.0):
    sig = p_val is not None and not np.isnan(p_val) and p_val < 0.05
    width = 0.8 + 4.0 * min(abs(value), 1.0)
    ax.add_patch(FancyArrowPatch(p0, p1, arrowstyle="-|>", mutation_scale=12, lw=width,
                                 ls="-" if sig else "--", color="#4b5a68" if sig else "#9aa5b1", zorder=1,
                                 shrinkA=0, shrinkB=0))
    mx, my = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2 + offset
    ax.text(mx, my, f"{value:.2f}", ha="center", va="center", fontsize=8.5, zorder=4,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#d5dbe1", "lw": 0.6})


def path_diagram(kda, codebook, *, lang="en", base=None):
    """Drivers on the left, satisfaction in the middle, the loyalty outcome on the right; arrows
    carry the standardised paths (solid where significant at 95%)."""
    res = kda.sem
    est = res.estimates[res.estimates.op == "~"]
    fig, ax = plt.subplots(figsize=(7.2, 3.9))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    drivers = list(kda.drivers)
    ys = np.linspace(0.88, 0.12, len(drivers)) if len(drivers) > 1 else np.array([0.5])
    pos = {d: (0.13, y) for d, y in zip(drivers, ys)}
    pos[kda.satisfaction] = (0.52, 0.5)
    pos[kda.loyalty] = (0.87, 0.5)
    for d in drivers:
        _box(ax, *pos[d], label(codebook, d, lang), PALETTE[0])
    _box(ax, *pos[kda.satisfaction], label(codebook, kda.satisfaction, lang), PALETTE[1], w=0.2, h=0.12)
    _box(ax, *pos[kda.loyalty], label(codebook, kda.loyalty, lang), PALETTE[2], w=0.2, h=0.12)
    for r in est.itertuples():
        if r.rhs in pos and r.lhs in pos:
            x0, y0 = pos[r.rhs]
            x1, y1 = pos[r.lhs]
            _arrow(ax, (x0 + 0.1, y0), (x1 - 0.1, y1 + (y0 - y1) * 0.08), r.std_est, r.p_val)
    r2 = res.r2() if hasattr(res, "r2") else {}
    for node in (kda.satisfaction, kda.loyalty):
        if node in r2:
            x, y = pos[node]
            ax.text(x, y - 0.11, t("drivers.c.r2", lang, r2=f"{r2[node]:.2f}"), ha="center", fontsize=8,
                    color="#6b7785")
    return finish(fig, title=t("drivers.c.diagram", lang), base=base, note=t("drivers.c.diagram_note", lang))


def four_views_chart(kda, codebook, *, lang="en", base=None):
    """Each view as a share of its total, drivers side by side, so the rankings can be compared."""
    v = kda.views
    views = {"r": v.r.abs(), "beta": v.beta.abs(), "lmg": v.lmg_share, "sem": v.sem_total_std.abs()}
    names = [label(codebook, d, lang) for d in v.driver]
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    k = len(views)
    width = 0.8 / k
    x = np.arange(len(names))
    for i, (key, values) in enumerate(views.items()):
        share = values / values.sum()
        ax.bar(x + (i - (k - 1) / 2) * width, share, width, label=t(f"drivers.v.{key}", lang), color=PALETTE[i])
    ax.set_xticks(x, names)
    ax.set_ylabel(t("drivers.c.share", lang))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{100 * y:.0f}%"))
    ax.legend(ncols=4, loc="upper right", fontsize=8)
    ax.set_ylim(0, max(0.5, ax.get_ylim()[1] * 1.12))
    return finish(fig, title=t("drivers.c.views", lang), base=base)


def importance_chart(kda, codebook, *, lang="en", base=None):
    """LMG share of R² per driver with bootstrap intervals."""
    imp = kda.importance.sort_values("share")
    names = [label(codebook, d, lang) for d in imp.driver]
    fig, ax = plt.subplots(figsize=(7.2, 2.9))
    ax.barh(names, imp.share, color=PALETTE[0])
    if "share_ci_low" in imp:
        ax.errorbar(imp.share, names, xerr=[imp.share - imp.share_ci_low, imp.share_ci_high - imp.share],
                    fmt="none", ecolor="#1f2a36", capsize=3, lw=1)
    for y, v in enumerate(imp.share):
        ax.text(v + 0.01, y + 0.22, f"{100 * v:.0f}%", va="bottom", fontsize=8.5)
    ax.set_xlabel(t("drivers.c.share_r2", lang))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{100 * x:.0f}%"))
    ax.grid(axis="y", visible=False)
    return finish(fig, title=t("drivers.c.importance", lang), base=base)


def ipma_chart(kda, codebook, *, lang="en", base=None):
    """Importance (total effect) against performance (0–100), quadrants at the means."""
    ip = kda.ipma
    cut_i, cut_p = ip.attrs.get("importance_cut", ip.importance.mean()), ip.attrs.get(
        "performance_cut", ip.performance.mean())
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    ax.axvline(cut_i, color="#9aa5b1", lw=1, ls="--")
    ax.axhline(cut_p, color="#9aa5b1", lw=1, ls="--")
    for r in ip.itertuples():
        ax.scatter(r.importance, r.performance, s=140, color=QUADRANT_COLORS.get(r.quadrant, PALETTE[0]), zorder=3)
        ax.annotate(label(codebook, r.driver, lang), (r.importance, r.performance), textcoords="offset points",
                    xytext=(9, 5), fontsize=9)
    xi = np.array(ax.get_xlim())
    yi = np.array(ax.get_ylim())
    span_x, span_y = xi[1] - xi[0], yi[1] - yi[0]
    ax.set_xlim(xi[0] - 0.15 * span_x, xi[1] + 0.25 * span_x)
    ax.set_ylim(yi[0] - 0.2 * span_y, yi[1] + 0.2 * span_y)
    xl, yl = ax.get_xlim(), ax.get_ylim()
    corners = {"concentrate": (xl[1], yl[0], "right", "bottom"), "keep_up": (xl[1], yl[1], "right", "top"),
               "low_priority": (xl[0], yl[0], "left", "bottom"), "overkill": (xl[0], yl[1], "left", "top")}
    for q, (x, y, ha, va) in corners.items():
        ax.text(x, y, t(f"drivers.q.{q}", lang), ha=ha, va=va, fontsize=9, color=QUADRANT_COLORS[q],
                fontweight="bold", alpha=0.9)
    ax.set_xlabel(t("drivers.c.importance_axis", lang))
    ax.set_ylabel(t("drivers.c.performance_axis", lang))
    return finish(fig, title=t("drivers.c.ipma", lang), base=base)
