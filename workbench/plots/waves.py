"""Charts of the wave (tracking) report, one function per chart type.

Each function takes a :class:`workbench.waves.WaveAnalysis` (or one of its parts) and the report
language, and returns a finished figure: title, axis labels, legend and base line in that
language.  The metric, its scale, brand and segment names come from the study (codebook labels
when one is given); waves without a period are labelled "Wave N".  Estimates with an effective
base below the caution threshold are drawn hollow.  A chart of a section the study cannot fill
raises :class:`workbench.waves.Unavailable` (the notebook's section shows a note instead).
"""

from __future__ import annotations

import math
import re
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..narrative import level_label, t
from ..narrative.waves import (_bounds, _digits, _factor, _metric_mid, _metric_short, _var_words, centre_words,
                               metric_axis, metric_name, period_name, reference_words)
from ..reportmodel import Chart, Series, attach_chart
from ._theme import BRAND_COLORS, PALETTE, SIG_COLORS, finish, level_colours

__all__ = [
    "fieldwork_mix",
    "wave_trend",
    "kpi_panels",
    "segment_trend",
    "mix_trend",
    "mix_waterfall",
    "benchmark_bars",
    "benchmark_trend",
    "xo_chart",
]

_MUTED = "#6b7785"
_LIGHT = "#9aa5b1"
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _number_format(digits):
    """Excel number format of a chart's values with ``digits`` decimals and a true minus sign."""
    core = "0" if digits <= 0 else "0." + "0" * digits
    return f'{core};"−"{core}'


def _with_data(fig, chart, *, base=None, note=None):
    """Attach ``chart`` (the values the figure shows) with the figure's base line and note, which
    a native chart shows in its slide's footer."""
    chart.note = " · ".join(x for x in (base, note) if x) or None
    return attach_chart(fig, chart)


def _values(frame, waves, column, scale):
    """``column`` of ``frame`` (one row per wave) at each of ``waves``, scaled; None where missing."""
    by_wave = dict(zip(frame["wave"].astype(int), scale(frame[column])))
    out = []
    for w in waves:
        v = by_wave.get(int(w))
        out.append(None if v is None or not np.isfinite(v) else float(v))
    return out


def _spread_labels(ax, points, *, digits, gap_frac=0.055, dx=0.08):
    """Value labels at the right end of lines, pushed apart vertically so none overlap.

    ``points`` are ``(x, y, colour)``; labels that would print the same text at nearly the same
    height (two lines ending at −0.2) are drawn once, in the first line's colour.
    """
    lo, hi = ax.get_ylim()
    gap = gap_frac * (hi - lo)
    pts = sorted(points, key=lambda p: p[1])
    shown, seen = [], []
    for x, y, colour in pts:
        text = _fmt(y, digits)
        if any(text == t_ and abs(y - y_) < gap for t_, y_ in seen):
            continue
        seen.append((text, y))
        shown.append((x, y, colour, text))
    for (x, y, colour, text), yl in zip(shown, _spread([p[1] for p in shown], gap)):
        ax.annotate(text, (x, y), xytext=(x + dx, yl), textcoords="data", va="center", fontsize=8, color=colour,
                    fontweight="bold")
    return shown


def _wave_labels(res, waves, lang="en"):
    return [period_name(res, int(w), lang) for w in waves]


def _fmt(x, digits=1):
    return f"{x:.{digits}f}".replace("-", "−")


def _ours_name(res, codebook, lang):
    return level_label(codebook, "brand", res.our_brand, lang)


def _subject(res, codebook, lang, spec=None):
    """``Aurora NPS`` (or the metric alone for a study without brands)."""
    metric = metric_name(res, spec, lang=lang, codebook=codebook)
    if res.brands:
        return t("waves.chart.subject", lang, brand=_ours_name(res, codebook, lang), metric=metric)
    return metric


def _who(res, codebook, lang):
    """``Aurora customers`` / ``all respondents``."""
    if res.brands:
        return t("waves.base.ours", lang, brand=_ours_name(res, codebook, lang))
    return t("waves.base.all", lang)


def _scaled(res, values, spec=None, clip=True):
    """Values of the metric as displayed (shares in %), clipped to the valid range."""
    spec = spec or res.headline
    v = _factor(spec) * np.asarray(values, dtype=float)
    lo, hi = _bounds(spec)
    if clip and lo is not None:
        v = np.clip(v, lo, hi)
    return v


def _ylim(ax, res, lo, hi, spec=None, top=2.0, bottom=1.0, frac=0.08):
    """Axis limits around ``lo..hi``, not far beyond the metric's valid range."""
    spec = spec or res.headline
    span = (hi - lo) or 1.0
    pad = frac * span
    a, b = lo - bottom * pad, hi + top * pad
    blo, bhi = _bounds(spec)
    if blo is not None:
        a, b = max(a, blo - pad), min(b, bhi + top * pad)
    ax.set_ylim(a, b)


def _hollow(ax, x, y, flags, colour, size=6.5):
    """Markers: filled where the base is ok, hollow where it is low."""
    flags = np.asarray(flags)
    ok = flags == "ok"
    ax.plot(np.asarray(x)[ok], np.asarray(y)[ok], "o", color=colour, ms=size, zorder=5, ls="none")
    if (~ok).any():
        ax.plot(np.asarray(x)[~ok], np.asarray(y)[~ok], "o", mfc="white", mec=colour, mew=1.4, ms=size,
                zorder=5, ls="none")
    return bool((~ok).any())


def _lowbase_handle(lang):
    return (Line2D([], [], marker="o", mfc="white", mec=_MUTED, ls="none"),
            t("lowbase.marker", lang).lstrip("* "))


def _legend_below(ax, low, lang, *, y, ncol):
    """The axes' legend centred below the plot, with the low-base marker when ``low``."""
    handles, labels = ax.get_legend_handles_labels()
    if low:
        h, lab = _lowbase_handle(lang)
        handles.append(h)
        labels.append(lab)
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, y), ncol=ncol, fontsize=7.5)


def _base_latest(res, table, lang, codebook):
    row = table[table["wave"] == res.wave]
    n = int(row["n"].sum()) if len(row) else 0
    return t("base", lang, what=t("waves.base.latest", lang, who=_who(res, codebook, lang)), n=f"{n:,}")


def _wrap(text, lang, width_en=34, width_zh=16):
    return textwrap.fill(text, width_en if lang == "en" else width_zh)


def fieldwork_mix(res, *, lang="en", codebook=None, max_panels=4):
    """The sample's achieved mix by wave against the population targets: one panel per target
    variable (those with a group off target first), a line per group in its report-wide colour,
    its target dashed with the tolerance band; groups off target in a wave are ringed."""
    res.need("fieldwork")
    fw = res.fieldwork
    a = fw.attainment
    variables = list(dict.fromkeys(a["variable"]))
    off_vars = [v for v in variables if a[(a["variable"] == v) & (a["wave"] == fw.wave)]["off_target"].any()]
    shown = (off_vars + [v for v in variables if v not in off_vars])[:max_panels]
    ncol = min(len(shown), 2)
    nrow = math.ceil(len(shown) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.2, min(2.15 * nrow + 0.4, 4.5)), squeeze=False)
    waves = sorted(int(w) for w in a["wave"].unique())
    xmap = {w: i for i, w in enumerate(waves)}
    monthly = all(_MONTH.match(str(res.periods.get(w, ""))) for w in waves)
    tol = 100 * fw.tolerance
    for k, var in enumerate(shown):
        ax = axes[k // ncol][k % ncol]
        sub = a[a["variable"] == var]
        colours = level_colours(codebook, var, sub["level"].unique())
        top = 0.0
        ends = []
        for lv, d in sub.groupby("level", sort=False):
            d = d.sort_values("wave")
            colour = colours[str(lv)]
            x = d["wave"].map(xmap).to_numpy()
            y = 100 * d["share"].to_numpy(dtype=float)
            target = 100 * float(d["target"].iloc[0])
            span = [-0.15, len(waves) - 0.85]
            ax.fill_between(span, target - tol, target + tol, color=colour, alpha=0.07, lw=0)
            ax.plot(span, [target, target], color=colour, lw=0.9, ls="--")
            ax.plot(x, y, "-o", color=colour, lw=1.6, ms=3.5)
            off = d["off_target"].to_numpy(dtype=bool)
            if off.any():
                ax.plot(x[off], y[off], "o", mfc="none", mec=SIG_COLORS["down"], mew=1.2, ms=7.5, ls="none")
            ends.append((float(y[-1]), f"{level_label(codebook, var, lv, lang)} {y[-1]:.0f}%", colour, x[-1]))
            top = max(top, float(np.nanmax(y)), target + tol)
        ax.set_title(_var_words(codebook, var, lang)[:1].upper() + _var_words(codebook, var, lang)[1:],
                     fontsize=9)
        ticks = [res.periods[w][-2:] if monthly else str(w) for w in waves]
        ax.set_xticks(range(len(waves)), ticks)
        ax.set_xlim(-0.3, len(waves) - 0.3 + 0.35 * len(waves))
        ymax = min(100, top * 1.15 + 2)
        ax.set_ylim(0, ymax)
        for (y, text, colour, xe), yl in zip(sorted(ends), _spread([e[0] for e in sorted(ends)], 0.1 * ymax)):
            ax.annotate(text, (xe, y), xytext=(xe + 0.25, yl), textcoords="data", va="center", fontsize=7,
                        color=colour)
        ax.tick_params(axis="both", labelsize=7)
        if k % ncol == 0:
            ax.set_ylabel(t("waves.chart.share_axis", lang), fontsize=7.5)
    for j in range(len(shown), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    axes[-1][0].set_xlabel(t("waves.chart.month_axis" if monthly else "waves.chart.wave_axis", lang), fontsize=7.5)
    whose = _ours_name(res, codebook, lang) if res.brands else t("waves.fw.whole_sample", lang)
    if res.brands:
        whose = t("waves.weights.whose_brand", lang, brand=whose)
    n = int(a[(a["wave"] == fw.wave) & (a["variable"] == shown[0])]["n"].sum())
    return finish(fig, title=t("waves.chart.fieldwork_title", lang, whose=whose[:1].upper() + whose[1:]),
                  base=_base_latest_n(res, n, lang, codebook),
                  note=t("waves.chart.tolerance", lang, tol=f"{tol:g}"))


def _spread(ys, gap):
    """Label positions near ``ys`` (sorted ascending) at least ``gap`` apart, centred on them."""
    out = list(ys)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    shift = (sum(out) - sum(ys)) / len(out) if out else 0.0
    out = [y - shift for y in out]
    for i in range(1, len(out)):  # keep the gaps after centring
        out[i] = max(out[i], out[i - 1] + gap)
    return out


def _base_latest_n(res, n, lang, codebook):
    return t("base", lang, what=t("waves.base.latest", lang, who=_who(res, codebook, lang)), n=f"{n:,}")


def wave_trend(res, *, lang="en", codebook=None):
    """The headline metric by wave with its confidence band, the centre line and the ±2 / ±3 SE
    control limits.

    Waves beyond the inner limits are marked amber, beyond the outer limits red.
    """
    res.need("trend")
    tr = res.trend.sort_values("wave")
    spec = res.headline
    digits = _digits(spec)
    x = np.arange(len(tr))
    est = _scaled(res, tr["est"])
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ours = BRAND_COLORS["ours"]
    ax.fill_between(x, _scaled(res, tr["ci_low"]), _scaled(res, tr["ci_high"]), color=ours, alpha=0.13, lw=0,
                    label=t("waves.chart.ci_band", lang, conf=f"{100 * res.conf:g}"))
    ax.plot(x, est, color=ours, lw=2.2, label=_subject(res, codebook, lang))
    has = tr["centre"].notna().to_numpy()
    if has.any():
        xc = x[has]
        ax.plot(xc, _scaled(res, tr["centre"][has]), color=_MUTED, lw=1.2, ls="--",
                label=centre_words(res, lang, chart=True))
        ax.plot(xc, _scaled(res, tr["upper_inner"][has], clip=False), color="#c58b00", lw=1, ls=":")
        ax.plot(xc, _scaled(res, tr["lower_inner"][has], clip=False), color="#c58b00", lw=1, ls=":",
                label=t("waves.chart.inner", lang))
        ax.plot(xc, _scaled(res, tr["upper_outer"][has], clip=False), color=SIG_COLORS["down"], lw=0.9,
                ls=(0, (5, 3)))
        ax.plot(xc, _scaled(res, tr["lower_outer"][has], clip=False), color=SIG_COLORS["down"], lw=0.9,
                ls=(0, (5, 3)), label=t("waves.chart.outer", lang))
    colours = {"beyond_outer": SIG_COLORS["down"], "beyond_inner": "#c58b00"}
    low = False
    for xi, yi, (_, r) in zip(x, est, tr.iterrows()):
        colour = colours.get(r["signal"], ours)
        low |= _hollow(ax, [xi], [yi], [r["base_flag"]], colour)
        ax.annotate(_fmt(yi, digits), (xi, yi), xytext=(0, 8), textcoords="offset points", ha="center",
                    fontsize=8.5, fontweight="bold", color=colour)
    ax.set_xticks(x, _wave_labels(res, tr["wave"], lang))
    if spec.get("metric") == "nps":
        ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(_wrap(metric_axis(res, lang=lang, codebook=codebook), lang, 40, 18))
    lo = np.nanmin(np.r_[_scaled(res, tr["ci_low"]), _scaled(res, tr["lower_outer"].dropna(), clip=False)])
    hi = np.nanmax(np.r_[_scaled(res, tr["ci_high"]), _scaled(res, tr["upper_outer"].dropna(), clip=False)])
    _ylim(ax, res, lo, hi)
    _legend_below(ax, low, lang, y=-0.1, ncol=3)
    return finish(fig, title=t("waves.chart.trend_title", lang, subject=_subject(res, codebook, lang)),
                  base=_base_latest(res, tr, lang, codebook))


def kpi_panels(res, *, lang="en", codebook=None):
    """Every KPI of the study side by side (three to a row), by wave, with confidence bands."""
    res.need("kpis")
    kpis = list(dict.fromkeys(res.kpis["kpi"]))
    ncol = min(len(kpis), 3)
    nrow = math.ceil(len(kpis) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.2, min(2.9 * nrow, 9.0)), squeeze=False)
    low = False
    monthly = all(_MONTH.match(str(res.periods.get(int(w), ""))) for w in res.kpis["wave"].unique())
    for i, k in enumerate(kpis):
        ax = axes[i // ncol][i % ncol]
        spec = res.spec(k)
        d = res.kpis[res.kpis["kpi"] == k].sort_values("wave")
        x = np.arange(len(d))
        colour = PALETTE[i % len(PALETTE)]
        est = _scaled(res, d["est"], spec)
        ax.fill_between(x, _scaled(res, d["ci_low"], spec), _scaled(res, d["ci_high"], spec), color=colour,
                        alpha=0.15, lw=0)
        ax.plot(x, est, color=colour, lw=2)
        low |= _hollow(ax, x, est, d["base_flag"], colour, size=5)
        last = d.iloc[-1]
        arrow = {"up": " ▲", "down": " ▼"}.get(last["sig"], "")
        ax.annotate(_fmt(est[-1], _digits(spec)) + arrow, (x[-1], est[-1]), xytext=(-4, 9),
                    textcoords="offset points", ha="right", fontsize=8.5, fontweight="bold", color=colour)
        ax.set_title(_wrap(metric_name(res, spec, lang=lang, codebook=codebook, table=True), lang,
                           int(40 / ncol) + 6, int(20 / ncol) + 3), fontsize=8.5)
        if monthly:
            ticks = [res.periods[int(w)][-2:] for w in d["wave"]]
        else:
            ticks = [str(int(w)) for w in d["wave"]]
        ax.set_xticks(x, ticks)
        ax.tick_params(axis="both", labelsize=7.5)
        lo = float(np.nanmin(_scaled(res, d["ci_low"], spec)))
        hi = float(np.nanmax(_scaled(res, d["ci_high"], spec)))
        _ylim(ax, res, lo, hi, spec, top=2.0, frac=0.15)
    for j in range(len(kpis), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    axes[-1][0].set_xlabel(t("waves.chart.month_axis" if monthly else "waves.chart.wave_axis", lang), fontsize=8)
    note = t("lowbase.marker", lang) if low else None
    who = _ours_name(res, codebook, lang) if res.brands else t("waves.base.all", lang)
    return finish(fig, title=t("waves.chart.kpi_title", lang, who=who[:1].upper() + who[1:]),
                  base=_base_latest(res, res.kpis[res.kpis["kpi"] == kpis[0]], lang, codebook),
                  note=note)


def segment_trend(res, *, lang="en", codebook=None):
    """The headline metric by segment and wave (our brand), with confidence bands; low bases
    hollow.  With one wave: each segment's estimate with its interval."""
    res.need("segments")
    seg = res.segments
    col = res.mix_by
    spec = res.headline
    waves = sorted(seg["wave"].unique())
    xmap = {w: i for i, w in enumerate(waves)}
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    low = False
    ends = []
    lines = []
    groups = list(seg.groupby(col, sort=False, observed=True))
    colours = level_colours(codebook, col, seg[col].unique())
    for i, (lv, d) in enumerate(groups):
        d = d.sort_values("wave")
        colour = colours[str(lv)]
        est = _scaled(res, d["est"])
        label = level_label(codebook, col, lv, lang)
        if len(waves) == 1:
            xi = np.array([i])
            lo, hi = _scaled(res, d["ci_low"]), _scaled(res, d["ci_high"])
            ax.errorbar(xi, est, yerr=[est - lo, hi - est], fmt="none", color=colour, lw=1.2, capsize=3)
            low |= _hollow(ax, xi, est, d["base_flag"], colour, size=6)
            ax.annotate(_fmt(est[0], _digits(spec)), (xi[0], est[0]), xytext=(8, 0), textcoords="offset points",
                        va="center", fontsize=8, color=colour, fontweight="bold")
            continue
        x = d["wave"].map(xmap).to_numpy()
        ax.fill_between(x, _scaled(res, d["ci_low"]), _scaled(res, d["ci_high"]), color=colour, alpha=0.1, lw=0)
        ax.plot(x, est, color=colour, lw=1.8, label=label)
        low |= _hollow(ax, x, est, d["base_flag"], colour, size=5)
        ends.append((x[-1], est[-1], colour))
        lines.append(Series(label, _values(d, waves, "est", lambda v: _scaled(res, v)), color=colour))
    if len(waves) == 1:
        ax.set_xticks(range(len(groups)), [textwrap.fill(level_label(codebook, col, lv, lang), 14)
                                           for lv, _ in groups])
        ax.set_xlim(-0.6, len(groups) - 0.4)
    else:
        ax.set_xticks(range(len(waves)), _wave_labels(res, waves, lang))
        ax.set_xlim(-0.3, len(waves) - 0.4)
    if spec.get("metric") == "nps":
        ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(_wrap(metric_axis(res, lang=lang, codebook=codebook), lang, 40, 18))
    _ylim(ax, res, float(np.nanmin(_scaled(res, seg["ci_low"]))), float(np.nanmax(_scaled(res, seg["ci_high"]))),
          top=1.0)
    if len(waves) > 1:
        _spread_labels(ax, ends, digits=_digits(spec))
        _legend_below(ax, low, lang, y=-0.12, ncol=4)
    title = t("waves.chart.segment_title", lang, subject=_subject(res, codebook, lang),
              segment=_var_words(codebook, col, lang))
    base = _base_latest(res, res.trend, lang, codebook)
    note = t("lowbase.marker", lang) if low and len(waves) == 1 else None
    fig = finish(fig, title=title, base=base, note=note)
    if len(waves) == 1:  # estimates with intervals: a picture
        return fig
    return _with_data(fig, Chart("line", _wave_labels(res, waves, lang), lines, title=title,
                                 y_title=metric_axis(res, lang=lang, codebook=codebook),
                                 number_format=_number_format(_digits(spec))), base=base, note=note)


def mix_trend(res, *, lang="en", codebook=None):
    """Reported headline metric against the metric at the reference segment mix (direct
    standardisation), by wave."""
    res.need("mix")
    from .. import _survey as sv

    st = res.standardized.sort_values("wave")
    digits = _digits(res.headline)
    z = sv.conf_quantile(res.conf)
    x = np.arange(len(st))
    fig, ax = plt.subplots(figsize=(7.2, 3.5))
    ours = BRAND_COLORS["ours"]
    adj = PALETTE[2]
    metric = _metric_mid(res, lang, codebook)
    est, std = _scaled(res, st["est"]), _scaled(res, st["std_est"])
    ax.fill_between(x, _scaled(res, st["est"] - z * st["se"]), _scaled(res, st["est"] + z * st["se"]), color=ours,
                    alpha=0.1, lw=0)
    ax.plot(x, est, "-o", color=ours, lw=2, ms=5, label=t("waves.chart.reported", lang, metric=metric))
    ax.fill_between(x, _scaled(res, st["std_ci_low"]), _scaled(res, st["std_ci_high"]), color=adj, alpha=0.13, lw=0)
    ax.plot(x, std, "-s", color=adj, lw=2, ms=5,
            label=t("waves.chart.adjusted", lang, metric=metric, ref=reference_words(res, lang, codebook)))
    for xi, a, b in zip(x[[0, -1]], est[[0, -1]], std[[0, -1]]):
        ax.annotate(_fmt(a, digits), (xi, a), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=8,
                    color=ours, fontweight="bold")
        if xi == x[-1]:
            ax.annotate(_fmt(b, digits), (xi, b), xytext=(0, -14), textcoords="offset points", ha="center",
                        fontsize=8, color=adj, fontweight="bold")
    ax.set_xticks(x, _wave_labels(res, st["wave"], lang))
    if res.headline.get("metric") == "nps":
        ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(_wrap(metric_axis(res, lang=lang, codebook=codebook), lang, 40, 18))
    ax.legend(loc="upper left", fontsize=7.8)
    title = t("waves.chart.mix_trend_title", lang, subject=_subject(res, codebook, lang))
    base = _base_latest(res, res.trend, lang, codebook)
    note = t("waves.chart.band_note", lang, conf=f"{100 * res.conf:g}")
    fig = finish(fig, title=title, base=base, note=note)
    lines = [Series(t("waves.chart.reported", lang, metric=metric), [float(v) for v in est], color=ours),
             Series(t("waves.chart.adjusted", lang, metric=metric, ref=reference_words(res, lang, codebook)),
                    [float(v) for v in std], color=adj)]
    return _with_data(fig, Chart("line", _wave_labels(res, st["wave"], lang), lines, title=title,
                                 y_title=metric_axis(res, lang=lang, codebook=codebook),
                                 number_format=_number_format(digits)), base=base)


def mix_waterfall(res, *, lang="en", codebook=None, decomposition=None):
    """Waterfall of the change from the base wave to the latest: mix effect per segment,
    like-for-like (rate) effect per segment, interaction."""
    res.need("mix_waterfall")
    dec = decomposition or res.decomposition
    f = _factor(res.headline)
    digits = _digits(res.headline)
    wf = dec.waterfall()
    for c in ("value", "start", "end"):
        wf[c] = f * wf[c]
    fig, ax = plt.subplots(figsize=(7.2, 3.9))
    colours = {"base": BRAND_COLORS["ours"], "target": BRAND_COLORS["ours"], "mix": PALETTE[1],
               "rate": PALETTE[2], "interaction": _LIGHT}
    labels = []
    x = np.arange(len(wf))
    for xi, (_, r) in zip(x, wf.iterrows()):
        kind = r["kind"]
        if kind in ("base", "target"):
            bottom, height = min(0.0, r["end"]), abs(r["end"])
            lab = period_name(res, dec.base if kind == "base" else dec.target, lang)
            text = _fmt(r["end"], digits)
            ypos = max(r["end"], 0.0)
        else:
            bottom, height = min(r["start"], r["end"]), abs(r["value"])
            lab = (t("waves.chart.interaction", lang) if kind == "interaction"
                   else level_label(codebook, dec.by, r["segment"], lang))
            text = ("+" if r["value"] >= 0 else "") + _fmt(r["value"], digits)
            ypos = max(r["start"], r["end"])
        ax.bar(xi, height, bottom=bottom, color=colours[kind], width=0.62, edgecolor="white")
        ax.annotate(text, (xi, ypos), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8,
                    fontweight="bold" if kind in ("base", "target") else None)
        labels.append(lab if kind in ("base", "target") else textwrap.fill(lab, 11 if lang == "en" else 5))
        if xi < len(wf) - 1:
            nxt = r["end"]
            ax.plot([xi + 0.31, xi + 0.69], [nxt, nxt], color=_LIGHT, lw=0.8)
    ax.set_xticks(x, labels, rotation=0, fontsize=7.2)
    ax.axhline(0, color="#9aa5b1", lw=0.8)
    ax.set_ylabel(_wrap(metric_axis(res, lang=lang, codebook=codebook), lang, 40, 18))
    top = max(wf["start"].max(), wf["end"].max())
    bot = min(0.0, wf["start"].min(), wf["end"].min())
    ax.set_ylim(bot - 0.1 * (top - bot), top + 0.22 * (top - bot))
    handles = [Patch(color=PALETTE[1], label=t("waves.chart.mix_part", lang)),
               Patch(color=PALETTE[2], label=t("waves.chart.rate_part", lang)),
               Patch(color=_LIGHT, label=t("waves.chart.interaction", lang))]
    ax.legend(handles=handles, loc="upper left", ncol=3, fontsize=7.5)
    return finish(fig, title=t("waves.chart.waterfall_title", lang, subject=_subject(res, codebook, lang),
                               base=period_name(res, dec.base, lang), target=period_name(res, dec.target, lang),
                               segment=_var_words(codebook, dec.by, lang)),
                  base=t("waves.chart.waterfall_base", lang, who=_who(res, codebook, lang),
                         n1=f"{int(dec.segments['n_base'].sum()):,}", n2=f"{int(dec.segments['n_target'].sum()):,}"),
                  note=t("waves.chart.waterfall_note", lang, metric=_metric_short(res, lang)))


def benchmark_bars(res, *, lang="en", codebook=None):
    """Latest wave: the headline metric of our brand and the competitors with confidence
    intervals and letters."""
    res.need("benchmark")
    bm = res.benchmark
    digits = _digits(res.headline)
    y = np.arange(len(bm))[::-1]
    fig, ax = plt.subplots(figsize=(7.2, max(0.42 * len(bm) + 1.2, 2.5)))
    low = False
    est, lo_all, hi_all = _scaled(res, bm["est"]), _scaled(res, bm["ci_low"]), _scaled(res, bm["ci_high"])
    colours = level_colours(codebook, "brand", bm["brand"])
    for yi, e, lo, hi, (_, r) in zip(y, est, lo_all, hi_all, bm.iterrows()):
        ours = r["brand"] == res.our_brand
        colour = colours[str(r["brand"])]
        lowb = r["base_flag"] != "ok"
        low |= lowb
        ax.barh(yi, e, color="white" if lowb else colour, edgecolor=colour, height=0.6, lw=1.2)
        ax.errorbar(e, yi, xerr=[[e - lo], [hi - e]], color="#1f2a36", lw=1, capsize=3)
        mark = {"up": " ▲", "down": " ▼"}.get(r["sig"], "")
        letters = f"  {r['sig_letters']}" if r["sig_letters"] else ""
        xt = hi if e >= 0 else lo
        ax.annotate(f"{_fmt(e, digits)}{mark}{letters}", (xt, yi), xytext=(5 if e >= 0 else -5, 0),
                    textcoords="offset points", va="center", ha="left" if e >= 0 else "right",
                    fontsize=8.5, fontweight="bold" if ours else None)
    names = [f"{level_label(codebook, 'brand', b, lang)} ({letter})" for b, letter in zip(bm["brand"], bm["letter"])]
    ax.set_yticks(y, names)
    ax.axvline(0, color="#9aa5b1", lw=0.8)
    lo, hi = float(np.nanmin(lo_all)), float(np.nanmax(hi_all))
    span = (hi - lo) or 1.0
    ax.set_xlim(min(0, lo) - 0.25 * span, max(0, hi) + 0.3 * span)
    ax.set_xlabel(metric_axis(res, lang=lang, codebook=codebook))
    note = t("waves.chart.letters_note", lang, conf=f"{100 * res.conf:g}")
    if low:
        note += " · " + t("lowbase.marker", lang)
    title = t("waves.chart.bench_title", lang, metric=metric_name(res, lang=lang, codebook=codebook),
              period=period_name(res, res.wave, lang))
    base = t("base", lang, what=t("waves.base.each_brand", lang), n="/".join(f"{int(n):,}" for n in bm["n"]))
    fig = finish(fig, title=title, base=base, note=note)
    # the bars as drawn, bottom first (as a native horizontal bar chart lists them); intervals, arrows
    # and letters stay in the picture and the table
    return _with_data(fig, Chart("barh", names[::-1], [Series(metric_name(res, lang=lang, codebook=codebook),
                                                              [float(v) for v in est[::-1]],
                                                              color=colours[str(res.our_brand)])],
                                 title=title, x_title=metric_axis(res, lang=lang, codebook=codebook),
                                 number_format=_number_format(digits)), base=base, note=note)


def benchmark_trend(res, *, lang="en", codebook=None):
    """The headline metric by brand and wave: our brand bold, competitors thinner."""
    res.need("benchmark_trend")
    bt = res.benchmark_trend
    digits = _digits(res.headline)
    waves = sorted(bt["wave"].unique())
    xmap = {w: i for i, w in enumerate(waves)}
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    order = [res.our_brand] + list(res.competitors)
    colours = level_colours(codebook, "brand", order)
    low = False
    ends, lines = [], []
    for i, b in enumerate(order):
        d = bt[bt["brand"].astype(str) == b].sort_values("wave")
        if not len(d):
            continue
        x = d["wave"].map(xmap).to_numpy()
        est = _scaled(res, d["est"])
        ours = b == res.our_brand
        colour = colours[str(b)]
        ax.plot(x, est, color=colour, lw=2.6 if ours else 1.5, label=level_label(codebook, "brand", b, lang),
                zorder=4 if ours else 3)
        low |= _hollow(ax, x, est, d["base_flag"], colour, size=5 if not ours else 6)
        ends.append((x[-1], est[-1], colour))
        lines.append(Series(level_label(codebook, "brand", b, lang),
                            _values(d, waves, "est", lambda v: _scaled(res, v)), color=colour))
    ax.set_xticks(range(len(waves)), _wave_labels(res, waves, lang))
    ax.set_xlim(-0.3, len(waves) - 0.4)
    if res.headline.get("metric") == "nps":
        ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(_wrap(metric_axis(res, lang=lang, codebook=codebook), lang, 40, 18))
    _spread_labels(ax, ends, digits=digits)
    _legend_below(ax, low, lang, y=-0.12, ncol=5)
    title = t("waves.chart.bench_trend_title", lang, metric=metric_name(res, lang=lang, codebook=codebook))
    base = t("base", lang, what=t("waves.base.per_brand_wave", lang),
             n=f"{int(bt['n'].min()):,}–{int(bt['n'].max()):,}")
    fig = finish(fig, title=title, base=base)
    return _with_data(fig, Chart("line", _wave_labels(res, waves, lang), lines, title=title,
                                 y_title=metric_axis(res, lang=lang, codebook=codebook),
                                 number_format=_number_format(digits)), base=base)


def xo_chart(res, *, lang="en", codebook=None):
    """O-data outcomes by NPS group: retention, spend and tickets with confidence intervals."""
    res.need("xo")
    xo = res.xo
    outcomes = list(dict.fromkeys(xo["outcome"]))
    groups = ["detractor", "passive", "promoter"]
    colours = {"detractor": SIG_COLORS["down"], "passive": _LIGHT, "promoter": SIG_COLORS["up"]}
    fig, axes = plt.subplots(1, len(outcomes), figsize=(7.2, 2.9), squeeze=False)
    for ax, oc in zip(axes[0], outcomes):
        d = xo[xo["outcome"] == oc].set_index("nps_group").reindex(groups)
        scale = 100.0 if oc == "retained_6m" else 1.0
        x = np.arange(len(groups))
        vals = scale * d["est"].to_numpy(dtype=float)
        err = scale * (d["est"] - d["ci_low"]).to_numpy(dtype=float)
        ax.bar(x, vals, color=[colours[g] for g in groups], width=0.62)
        ax.errorbar(x, vals, yerr=err, fmt="none", color="#1f2a36", lw=1, capsize=3)
        digits = 0 if oc != "tickets_6m" else 2
        for xi, v in zip(x, vals):
            ax.annotate(f"{v:,.{digits}f}{'%' if oc == 'retained_6m' else ''}", (xi, v), xytext=(0, 6),
                        textcoords="offset points", ha="center", fontsize=8, fontweight="bold")
        ax.set_xticks(x, [t(f"waves.group.{g}", lang) for g in groups], fontsize=7.5)
        ax.set_title(t(f"waves.xo.{oc}", lang), fontsize=9.5)
        ax.set_ylim(0, np.nanmax(vals + err) * 1.25)
        ax.tick_params(axis="y", labelsize=7.5)
    n = int(xo[xo["outcome"] == outcomes[0]]["n"].sum())
    who = _who(res, codebook, lang)
    return finish(fig, title=t("waves.chart.xo_title", lang, who=who[:1].upper() + who[1:]),
                  base=t("base", lang, what=t("waves.base.linked", lang, who=who), n=f"{n:,}"),
                  note=t("waves.chart.ci_note", lang, conf=f"{100 * res.conf:g}"))
