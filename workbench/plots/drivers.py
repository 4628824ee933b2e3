"""Charts of the key-driver report: the path diagram, the four views, relative importance and the
importance–performance matrix.

Every chart reads the :class:`~workbench.drivers.KeyDriverAnalysis` result: drivers in the order
of its one ranking (``kda.ranking``), significance as decided there (at ``kda.conf``), names from
the codebook.  Nothing is computed here.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.transforms import offset_copy

from ..narrative import fmt_pct, t
from ..narrative.drivers import label
from ..reportmodel import Chart, Series, attach_chart
from ._labels import spread_labels
from ._theme import PALETTE, finish

__all__ = ["path_diagram", "four_views_chart", "importance_chart", "ipma_chart"]

LINE_COLOR = "#6b7785"  # a driver on the line: no quadrant called
QUADRANT_COLORS = {"concentrate": "#c0392b", "keep_up": "#1a7f37", "low_priority": "#9aa5b1",
                   "overkill": "#c9a227"}


def _foot(*parts):
    """A native chart's footer line (base first, then notes), as :func:`finish` joins them."""
    return " · ".join(x for x in parts if x) or None


def _text_width(text: str, fontsize: float) -> float:
    """Width in inches of ``text`` in the theme's bold font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    try:
        path = TextPath((0, 0), text, size=fontsize, prop=FontProperties(weight="bold"))
        return path.get_extents().width / 72
    except Exception:  # a glyph the font cannot draw: estimate
        return len(text) * fontsize / 72 * 0.66


def _wrap(text: str, width_in: float, fontsize: float, lang: str) -> str:
    """Wrap a box label to the box width (at most three lines), measuring the bold text."""
    if _text_width(text, fontsize) <= width_in:
        return text
    units = text.split() if lang != "zh" and " " in text else list(text)
    joiner = " " if lang != "zh" and " " in text else ""
    lines, cur = [], ""
    for u in units:
        trial = f"{cur}{joiner}{u}" if cur else u
        if cur and _text_width(trial, fontsize) > width_in:
            lines.append(cur)
            cur = u
        else:
            cur = trial
    lines.append(cur)
    if len(lines) > 4:  # the rest on the last line; the box's label then shrinks to fit (_fit_in_box)
        lines = lines[:3] + [joiner.join(lines[3:])]
    return "\n".join(lines)


def _fit_in_box(txt, width: float, height: float, min_size: float = 4.5) -> None:
    """Shrink a box label until the renderer's measure of it fits its box (``width`` × ``height``
    in data units; a word too long to wrap, a font wider than estimated): a label is never clipped
    by, or spills out of, its box."""
    ax = txt.axes
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    for _ in range(16):
        bb = txt.get_window_extent(renderer).transformed(to_data)
        if (bb.width <= width and bb.height <= height) or txt.get_fontsize() <= min_size:
            return
        txt.set_fontsize(max(min_size, txt.get_fontsize() - 0.5))


def _depths(nodes, preds) -> dict:
    """Length of the longest chain of paths into each node (causal order)."""
    depth: dict[str, int] = {}

    def d(v, seen=()):
        if v in depth:
            return depth[v]
        if v in seen:  # a feedback loop: stop here
            return 0
        ps = preds.get(v, [])
        depth[v] = 0 if not ps else 1 + max(d(p, (*seen, v)) for p in ps)
        return depth[v]

    for v in nodes:
        d(v)
    return depth


def _arrow_style(std_est, significant):
    width = 0.8 + 3.2 * min(abs(std_est), 1.0) if np.isfinite(std_est) else 0.8
    return {"arrowstyle": "-|>", "mutation_scale": 11, "lw": width, "ls": "-" if significant else "--",
            "color": "#4b5a68" if significant else "#9aa5b1", "zorder": 1, "shrinkA": 0, "shrinkB": 0}


def _value_label(ax, x, y, value):
    return ax.text(x, y, f"{value:.2f}".replace("-", "−"), ha="center", va="center", fontsize=7.5, zorder=4,
                   bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#d5dbe1", "lw": 0.6})


def path_diagram(kda, codebook, *, lang="en", base=None):
    """The structural model in three bands: the drivers of satisfaction on the left (in causal
    order, then the ranking's), satisfaction in the middle, what it drives on the right.  Arrows
    carry the standardised paths (solid where significant at the report's confidence); paths
    within a band arc beside it, paths from a driver straight to an outcome arc around
    satisfaction."""
    p = kda.paths
    preds: dict[str, list[str]] = {}
    for s, tg in zip(p.source, p.target):
        preds.setdefault(tg, []).append(s)
    sat = kda.satisfaction
    nodes = list(dict.fromkeys([*kda.ranking.driver, *p.source, *p.target]))
    up = {sat}
    frontier = [sat]
    while frontier:  # ancestors of satisfaction
        for s in preds.get(frontier.pop(), []):
            if s not in up:
                up.add(s)
                frontier.append(s)
    rank = {d: i for i, d in enumerate(kda.ranking.driver)}
    depth = _depths(nodes, preds)
    left = sorted((v for v in nodes if v in up and v != sat), key=lambda v: (depth[v], rank.get(v, len(rank))))
    right = sorted((v for v in nodes if v not in up), key=lambda v: depth[v])
    W = 7.2
    biggest = max(len(left), len(right), 1)
    H = max(3.6, min(6.0, 0.62 * biggest + 1.0))
    # taller than the drawing by the title and base lines, so the axes keep (nearly) the full width
    # and a data unit stays (nearly) an inch: box sizes and font sizes then match
    fig, ax = plt.subplots(figsize=(W, H + 0.45))
    ax.set_xlim(0, W)
    ax.set_ylim(0, H)
    ax.set_aspect("equal")
    ax.axis("off")
    bw = 1.45
    bh = min(0.5, 0.72 * (H - 0.5) / biggest)
    xs = (1.55, 3.6, 5.65) if right else (1.8, 4.9, None)
    pos = {}
    for x, members in ((xs[0], left), (xs[2], right)):
        ys = np.linspace(H - 0.4 - bh / 2, 0.4 + bh / 2, len(members)) if len(members) > 1 else [H / 2]
        for v, y in zip(members, ys):
            pos[v] = (x, float(y))
    pos[sat] = (xs[1], H / 2)
    r2 = kda.sem.r2()
    fs = 8.5
    fits = []  # (label, box width, box height) in data units, checked once the layout is final
    for v, (x, y) in pos.items():
        color = PALETTE[1] if v == sat else PALETTE[2] if v in right else PALETTE[0]
        name = _wrap(label(codebook, v, lang), 0.93 * (bw - 0.12), fs, lang)
        lines = name.count("\n") + 1
        lh = fs / 72 * 1.15
        has_r2 = v in preds and v in r2.index
        r2h = 0.17 if has_r2 else 0.0
        h = max(bh, lines * lh + r2h + 0.14)
        ax.add_patch(FancyBboxPatch((x - bw / 2, y - h / 2), bw, h,
                                    boxstyle="round,pad=0.02,rounding_size=0.08", fc=color, ec="none",
                                    alpha=0.95, zorder=2))
        txt = ax.text(x, y + r2h / 2 + 0.01, name, ha="center", va="center", color="white", fontsize=fs,
                      fontweight="bold", zorder=3, linespacing=1.0)
        fits.append((txt, bw - 0.1, h - r2h - 0.06))
        if has_r2:
            ax.text(x, y - lines * lh / 2 - 0.03, t("drivers.c.r2", lang, r2=f"{r2[v]:.2f}"), ha="center",
                    va="center", color="white", fontsize=6.5, zorder=3)
    values = []  # the paths' value labels, kept apart once the layout is final
    for r in p.itertuples():
        s, tg = r.source, r.target
        (x0, y0), (x1, y1) = pos[s], pos[tg]
        style = _arrow_style(r.std_est, bool(r.significant))
        if x0 == x1:  # within a band: arc beside it (left band to the left, right band to the right)
            out = -1 if x0 == xs[0] else 1
            ex = x0 + out * bw / 2
            p0, p1 = (ex, y0 - np.sign(y1 - y0) * bh * 0.25), (ex, y1 + np.sign(y1 - y0) * bh * 0.25)
            dy = p1[1] - p0[1]
            span = abs(dy) / max(bh, 1e-9)
            h = min(0.18 + 0.12 * span, 0.62)
            rad = out * 2 * h / dy
            ax.add_patch(FancyArrowPatch(p0, p1, connectionstyle=f"arc3,rad={rad:.4f}", **style))
            values.append(_value_label(ax, ex + out * h, (p0[1] + p1[1]) / 2, r.std_est))
        elif s in left and tg in right:  # driver straight to an outcome: around satisfaction
            p0, p1 = (x0 + bw / 2, y0), (x1 - bw / 2, y1)
            mid = (y0 + y1) / 2
            above = mid >= H / 2
            clear = (H / 2 + bh / 2 + 0.5 - mid) if above else (mid - (H / 2 - bh / 2 - 0.5))
            h = max(0.25, clear)
            h = min(h, (H - 0.1 - mid) if above else (mid - 0.1))
            dx = p1[0] - p0[0]
            rad = (-1 if above else 1) * 2 * h / dx
            ax.add_patch(FancyArrowPatch(p0, p1, connectionstyle=f"arc3,rad={rad:.4f}", **style))
            values.append(_value_label(ax, (p0[0] + p1[0]) / 2 + 0.5 * rad * (p1[1] - p0[1]), mid - 0.5 * rad * dx,
                                       r.std_est))
        else:
            sgn = 1 if x1 > x0 else -1
            p0, p1 = (x0 + sgn * bw / 2, y0), (x1 - sgn * bw / 2, y1)
            ax.add_patch(FancyArrowPatch(p0, p1, **style))
            values.append(_value_label(ax, p0[0] + 0.45 * (p1[0] - p0[0]), p0[1] + 0.45 * (p1[1] - p0[1]),
                                       r.std_est))
    note = t("drivers.c.diagram_note", lang, conf=fmt_pct(kda.conf))
    fig = finish(fig, title=t("drivers.c.diagram", lang), base=base, note=note)
    for txt, width, height in fits:
        _fit_in_box(txt, width, height)
    # labels of paths converging on one box may meet: move them apart, away from the middle
    spread_labels(ax, [(v, 1 if v.get_position()[1] >= H / 2 else -1) for v in values])
    return fig


def four_views_chart(kda, codebook, *, lang="en", base=None, outcome=None):
    """Each view as a share of its total (absolute values), drivers in the ranking's order, so the
    rankings can be compared; ``outcome`` is satisfaction (default) or loyalty
    (``kda.views_loyalty``), named in the title."""
    outcome = outcome or kda.satisfaction
    v = kda.views_loyalty if outcome == kda.loyalty and outcome != kda.satisfaction else kda.views
    views = {"r": v.r.abs(), "beta": v.beta.abs(), "lmg": v.lmg_share, "sem": v.sem_total_std.abs()}
    names = [label(codebook, d, lang) for d in v.driver]
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    k = len(views)
    width = 0.8 / k
    x = np.arange(len(names))
    series = []
    for i, (key, values) in enumerate(views.items()):
        total = values.sum()
        share = values / total if total > 0 else values * 0
        ax.bar(x + (i - (k - 1) / 2) * width, share, width, label=t(f"drivers.v.{key}", lang), color=PALETTE[i])
        series.append(Series(t(f"drivers.v.{key}", lang), [float(v) for v in share]))
    ax.set_xticks(x, ["\n".join(textwrap.wrap(n, 16)) for n in names])
    ax.set_ylabel(t("drivers.c.share", lang))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{100 * y:.0f}%"))
    ax.legend(ncols=4, loc="upper right", fontsize=8)
    ax.set_ylim(0, max(0.5, ax.get_ylim()[1] * 1.12))
    sat = label(codebook, outcome, lang)
    title = t("drivers.c.views", lang, sat=sat)
    loyalty = v is kda.views_loyalty and outcome != kda.satisfaction
    order = t("drivers.v.order_loyalty", lang, loy=sat) if loyalty else t("drivers.v.order", lang)
    fig = finish(fig, title=title, base=base, note=order)
    return attach_chart(fig, Chart(kind="bar", categories=names, series=series, title=title,
                                   y_title=t("drivers.c.share", lang), number_format="0%",
                                   note=_foot(base, order)))


def importance_chart(kda, codebook, *, lang="en", base=None):
    """LMG share of R² per driver with bootstrap intervals, drivers in the ranking's order (first
    at the top)."""
    imp = kda.importance.iloc[::-1]
    names = [label(codebook, d, lang) for d in imp.driver]
    fig, ax = plt.subplots(figsize=(7.2, max(2.2, 0.55 * len(names) + 0.8)))
    ax.barh(names, imp.share, color=PALETTE[0])
    if "share_ci_low" in imp:
        ax.errorbar(imp.share, names, xerr=[imp.share - imp.share_ci_low, imp.share_ci_high - imp.share],
                    fmt="none", ecolor="#1f2a36", capsize=3, lw=1)
    for y, v in enumerate(imp.share):
        ax.text(v + 0.01, y + 0.22, f"{100 * v:.0f}%", va="bottom", fontsize=8.5)
    ax.set_xlabel(t("drivers.c.share_r2", lang))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{100 * x:.0f}%"))
    ax.grid(axis="y", visible=False)
    sat = label(codebook, kda.satisfaction, lang)
    title = t("drivers.c.importance", lang, sat=sat)
    fig = finish(fig, title=title, base=base)
    # categories as drawn: the first at the bottom, as a native horizontal bar chart draws them
    return attach_chart(fig, Chart(kind="barh", categories=names,
                                   series=[Series(t("drivers.c.share_r2", lang), [float(v) for v in imp.share])],
                                   title=title, x_title=t("drivers.c.share_r2", lang), number_format="0%",
                                   note=_foot(base)))


def ipma_chart(kda, codebook, *, lang="en", base=None):
    """Importance (total effect on the target, 0–100 scores) against performance (0–100),
    quadrants at the means; hollow markers for effects that are not significant, × where the
    recommendation is withheld."""
    ip = kda.ipma
    cut_i, cut_p = ip.attrs.get("importance_cut", ip.importance.mean()), ip.attrs.get(
        "performance_cut", ip.performance.mean())
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    names = []  # the drivers' labels beside their points
    ax.axvline(cut_i, color="#9aa5b1", lw=1, ls="--")
    ax.axhline(cut_p, color="#9aa5b1", lw=1, ls="--")
    for r in ip.itertuples():
        call = getattr(r, "call", r.quadrant)
        color = QUADRANT_COLORS.get(call, LINE_COLOR)
        lo_i, hi_i = getattr(r, "ci_low", np.nan), getattr(r, "ci_high", np.nan)
        lo_p, hi_p = getattr(r, "perf_ci_low", np.nan), getattr(r, "perf_ci_high", np.nan)
        if np.isfinite(lo_i) and np.isfinite(hi_i) and np.isfinite(lo_p) and np.isfinite(hi_p):
            ax.errorbar(r.importance, r.performance, xerr=[[r.importance - lo_i], [hi_i - r.importance]],
                        yerr=[[r.performance - lo_p], [hi_p - r.performance]], fmt="none", ecolor=color,
                        elinewidth=1, capsize=3, zorder=2)
        sig = bool(getattr(r, "significant", True))
        ax.scatter(r.importance, r.performance, s=140, zorder=3, linewidths=2,
                   facecolors=color if sig else "white", edgecolors=color)
        if bool(getattr(r, "withheld", False)):
            ax.scatter(r.importance, r.performance, s=70, marker="x", color="#1f2a36", zorder=4, linewidths=1.5)
        names.append(ax.text(r.importance, r.performance, label(codebook, r.driver, lang), fontsize=9,
                             transform=offset_copy(ax.transData, fig=fig, x=9, y=5, units="points")))
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
    target = label(codebook, kda.ipma_target, lang)
    ax.set_xlabel(t("drivers.c.importance_axis", lang, target=target))
    ax.set_ylabel(t("drivers.c.performance_axis", lang))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.2f}".replace("-", "−")))
    title = t("drivers.c.ipma", lang, target=target)
    conf = fmt_pct(kda.conf)
    fig = finish(fig, title=title, base=base, note=t("drivers.c.ipma_note", lang, conf=conf))
    spread_labels(ax, [(n, 1) for n in names])  # drivers close together: their names stacked, not overprinted
    # one series per driver (its name is the point's label), importance on x, performance on y, in
    # the colour of the quadrant called (as in the picture); the native points are all filled, so
    # the footer says where significance is shown instead of "hollow: not significant"
    return attach_chart(fig, Chart(
        kind="scatter", categories=[label(codebook, d, lang) for d in ip.driver],
        series=[Series(label(codebook, r.driver, lang), [float(r.performance)], x=[float(r.importance)],
                       color=QUADRANT_COLORS.get(getattr(r, "call", r.quadrant), LINE_COLOR))
                for r in ip.itertuples()],
        title=title, x_title=t("drivers.c.importance_axis", lang, target=target),
        y_title=t("drivers.c.performance_axis", lang), number_format="0.0",
        note=_foot(base, t("drivers.c.ipma_native_note", lang, conf=conf))))
