"""Charts of the wave (tracking) report, one function per chart type.

Each function takes a :class:`workbench.waves.WaveAnalysis` (or one of its parts) and the report
language, and returns a finished figure: title, axis labels, legend and base line in that
language.  Brand and segment names come from the codebook when one is given.  Estimates with an
effective base below the caution threshold are drawn hollow.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..narrative import level_label, t
from ._theme import BRAND_COLORS, PALETTE, SIG_COLORS, finish

__all__ = [
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


def _wave_labels(res, waves):
    return [res.periods.get(int(w), f"W{int(w)}") for w in waves]


def _fmt(x, digits=1):
    return f"{x:.{digits}f}".replace("-", "−")


def _ours_name(res, codebook, lang):
    return level_label(codebook, "brand", res.our_brand, lang)


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


def _base_latest(res, table, lang, what_key, **fields):
    row = table[table["wave"] == res.wave]
    n = int(row["n"].sum()) if len(row) else 0
    return t("base", lang, what=t(what_key, lang, **fields), n=f"{n:,}")


def wave_trend(res, *, lang="en", codebook=None):
    """Our NPS by wave with its confidence band, the centre line and the ±2 / ±3 SE control limits.

    Waves beyond the inner limits are marked amber, beyond the outer limits red.
    """
    tr = res.trend.sort_values("wave")
    x = np.arange(len(tr))
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ours = BRAND_COLORS["ours"]
    ax.fill_between(x, tr["ci_low"], tr["ci_high"], color=ours, alpha=0.13, lw=0,
                    label=t("waves.chart.ci_band", lang, conf=f"{100 * res.conf:g}"))
    ax.plot(x, tr["est"], color=ours, lw=2.2, label=t("waves.chart.nps_line", lang, brand=_ours_name(res, codebook, lang)))
    has = tr["centre"].notna().to_numpy()
    if has.any():
        xc = x[has]
        ax.plot(xc, tr["centre"][has], color=_MUTED, lw=1.2, ls="--", label=t(f"waves.chart.centre.{res.control_centre}", lang, k=res.control_k))
        ax.plot(xc, tr["upper_inner"][has], color="#c58b00", lw=1, ls=":")
        ax.plot(xc, tr["lower_inner"][has], color="#c58b00", lw=1, ls=":", label=t("waves.chart.inner", lang))
        ax.plot(xc, tr["upper_outer"][has], color=SIG_COLORS["down"], lw=0.9, ls=(0, (5, 3)))
        ax.plot(xc, tr["lower_outer"][has], color=SIG_COLORS["down"], lw=0.9, ls=(0, (5, 3)),
                label=t("waves.chart.outer", lang))
    colours = {"beyond_outer": SIG_COLORS["down"], "beyond_inner": "#c58b00"}
    low = False
    for xi, (_, r) in zip(x, tr.iterrows()):
        colour = colours.get(r["signal"], ours)
        low |= _hollow(ax, [xi], [r["est"]], [r["base_flag"]], colour)
        ax.annotate(_fmt(r["est"]), (xi, r["est"]), xytext=(0, 8), textcoords="offset points", ha="center",
                    fontsize=8.5, fontweight="bold", color=colour)
    ax.set_xticks(x, _wave_labels(res, tr["wave"]))
    ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(t("waves.chart.nps_axis", lang))
    lo = np.nanmin(np.r_[tr["ci_low"], tr["lower_outer"].dropna()])
    hi = np.nanmax(np.r_[tr["ci_high"], tr["upper_outer"].dropna()])
    pad = 0.08 * (hi - lo)
    ax.set_ylim(lo - pad, hi + 2 * pad)
    _legend_below(ax, low, lang, y=-0.1, ncol=3)
    return finish(fig, title=t("waves.chart.trend_title", lang, brand=_ours_name(res, codebook, lang)),
                  base=_base_latest(res, tr, lang, "waves.base.ours_latest", brand=_ours_name(res, codebook, lang)))


def kpi_panels(res, *, lang="en", codebook=None):
    """NPS, CSAT top-box share and mean CES side by side, by wave, with confidence bands."""
    kpis = list(dict.fromkeys(res.kpis["kpi"]))
    fig, axes = plt.subplots(1, len(kpis), figsize=(7.2, 2.9), squeeze=False)
    low = False
    for i, (ax, k) in enumerate(zip(axes[0], kpis)):
        d = res.kpis[res.kpis["kpi"] == k].sort_values("wave")
        scale = 100.0 if k == "csat" else 1.0
        x = np.arange(len(d))
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(x, scale * d["ci_low"], scale * d["ci_high"], color=colour, alpha=0.15, lw=0)
        ax.plot(x, scale * d["est"], color=colour, lw=2)
        low |= _hollow(ax, x, scale * d["est"], d["base_flag"], colour, size=5)
        last = d.iloc[-1]
        digits = 2 if k == "ces" else 1
        arrow = {"up": " ▲", "down": " ▼"}.get(last["sig"], "")
        ax.annotate(_fmt(scale * last["est"], digits) + arrow, (x[-1], scale * last["est"]), xytext=(-4, 9),
                    textcoords="offset points", ha="right", fontsize=8.5, fontweight="bold", color=colour)
        ax.set_title(t(f"waves.kpi.{k}", lang), fontsize=9.5)
        labels = _wave_labels(res, d["wave"])
        ax.set_xticks(x, [lab[-2:] if len(lab) == 7 else lab for lab in labels])
        ax.tick_params(axis="both", labelsize=7.5)
        lo, hi = scale * d["ci_low"].min(), scale * d["ci_high"].max()
        pad = 0.15 * (hi - lo)
        ax.set_ylim(lo - pad, hi + 2 * pad)
    axes[0][0].set_xlabel(t("waves.chart.month_axis", lang), fontsize=8)
    note = t("lowbase.marker", lang) if low else None
    return finish(fig, title=t("waves.chart.kpi_title", lang, brand=_ours_name(res, codebook, lang)),
                  base=_base_latest(res, res.kpis[res.kpis["kpi"] == kpis[0]], lang, "waves.base.ours_latest",
                                    brand=_ours_name(res, codebook, lang)),
                  note=note)


def segment_trend(res, *, lang="en", codebook=None):
    """NPS by segment and wave (our brand), with confidence bands; low bases hollow."""
    seg = res.segments
    col = res.mix_by
    waves = sorted(seg["wave"].unique())
    xmap = {w: i for i, w in enumerate(waves)}
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    low = False
    for i, (lv, d) in enumerate(seg.groupby(col, sort=False, observed=True)):
        d = d.sort_values("wave")
        x = d["wave"].map(xmap).to_numpy()
        colour = PALETTE[(i + 1) % len(PALETTE)]
        ax.fill_between(x, d["ci_low"], d["ci_high"], color=colour, alpha=0.1, lw=0)
        ax.plot(x, d["est"], color=colour, lw=1.8, label=level_label(codebook, col, lv, lang))
        low |= _hollow(ax, x, d["est"], d["base_flag"], colour, size=5)
        last = d.iloc[-1]
        ax.annotate(_fmt(last["est"]), (x[-1], last["est"]), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=8, color=colour, fontweight="bold")
    ax.set_xticks(range(len(waves)), _wave_labels(res, waves))
    ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(t("waves.chart.nps_axis", lang))
    ax.set_xlim(-0.3, len(waves) - 0.4)
    _legend_below(ax, low, lang, y=-0.12, ncol=4)
    return finish(fig, title=t("waves.chart.segment_title", lang, brand=_ours_name(res, codebook, lang),
                               segment=_var(codebook, col, lang)),
                  base=_base_latest(res, res.trend, lang, "waves.base.ours_latest", brand=_ours_name(res, codebook, lang)))


def _var(codebook, column, lang):
    label = codebook.label(column, lang) if codebook is not None and column in codebook else str(column)
    return label[:1].lower() + label[1:] if lang == "en" else label


def mix_trend(res, *, lang="en", codebook=None):
    """Reported NPS against NPS at the reference segment mix (direct standardisation), by wave."""
    st = res.standardized.sort_values("wave")
    x = np.arange(len(st))
    fig, ax = plt.subplots(figsize=(7.2, 3.5))
    ours = BRAND_COLORS["ours"]
    adj = PALETTE[2]
    ax.fill_between(x, st["est"] - 1.959964 * st["se"], st["est"] + 1.959964 * st["se"], color=ours, alpha=0.1, lw=0)
    ax.plot(x, st["est"], "-o", color=ours, lw=2, ms=5, label=t("waves.chart.reported", lang))
    ax.fill_between(x, st["std_ci_low"], st["std_ci_high"], color=adj, alpha=0.13, lw=0)
    ax.plot(x, st["std_est"], "-s", color=adj, lw=2, ms=5, label=t("waves.chart.adjusted", lang,
                                                                     ref=_reference_words(res, lang, codebook)))
    for xi, a, b in zip(x[[0, -1]], st["est"].to_numpy()[[0, -1]], st["std_est"].to_numpy()[[0, -1]]):
        ax.annotate(_fmt(a), (xi, a), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=8,
                    color=ours, fontweight="bold")
        if xi == x[-1]:
            ax.annotate(_fmt(b), (xi, b), xytext=(0, -14), textcoords="offset points", ha="center", fontsize=8,
                        color=adj, fontweight="bold")
    ax.set_xticks(x, _wave_labels(res, st["wave"]))
    ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(t("waves.chart.nps_axis", lang))
    ax.legend(loc="upper left", fontsize=7.8)
    return finish(fig, title=t("waves.chart.mix_trend_title", lang, brand=_ours_name(res, codebook, lang)),
                  base=_base_latest(res, res.trend, lang, "waves.base.ours_latest", brand=_ours_name(res, codebook, lang)),
                  note=t("waves.chart.band_note", lang, conf=f"{100 * res.conf:g}"))


def _reference_words(res, lang, codebook):
    from ..narrative.waves import reference_words

    return reference_words(res, lang)


def mix_waterfall(res, *, lang="en", codebook=None, decomposition=None):
    """Waterfall of the change from the base wave to the latest: mix effect per segment,
    like-for-like (rate) effect per segment, interaction."""
    dec = decomposition or res.decomposition
    if dec is None:
        from ..narrative.waves import no_comparison

        fig, ax = plt.subplots(figsize=(7.2, 1.2))
        ax.axis("off")
        ax.text(0.0, 0.5, no_comparison(res, lang), fontsize=9.5, color=_MUTED, va="center")
        return finish(fig, title=t("waves.chart.waterfall_none", lang, brand=_ours_name(res, codebook, lang)))
    wf = dec.waterfall()
    fig, ax = plt.subplots(figsize=(7.2, 3.9))
    colours = {"base": BRAND_COLORS["ours"], "target": BRAND_COLORS["ours"], "mix": PALETTE[1],
               "rate": PALETTE[2], "interaction": _LIGHT}
    labels = []
    x = np.arange(len(wf))
    for xi, (_, r) in zip(x, wf.iterrows()):
        kind = r["kind"]
        if kind in ("base", "target"):
            bottom, height = min(0.0, r["end"]), abs(r["end"])
            lab = res.period(dec.base if kind == "base" else dec.target)
            text = _fmt(r["end"])
            ypos = max(r["end"], 0.0)
        else:
            bottom, height = min(r["start"], r["end"]), abs(r["value"])
            lab = (t("waves.chart.interaction", lang) if kind == "interaction"
                   else level_label(codebook, dec.by, r["segment"], lang))
            text = ("+" if r["value"] >= 0 else "") + _fmt(r["value"])
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
    ax.set_ylabel(t("waves.chart.nps_axis", lang))
    top = max(wf["start"].max(), wf["end"].max())
    bot = min(0.0, wf["start"].min(), wf["end"].min())
    ax.set_ylim(bot - 0.1 * (top - bot), top + 0.22 * (top - bot))
    handles = [Patch(color=PALETTE[1], label=t("waves.chart.mix_part", lang)),
               Patch(color=PALETTE[2], label=t("waves.chart.rate_part", lang)),
               Patch(color=_LIGHT, label=t("waves.chart.interaction", lang))]
    ax.legend(handles=handles, loc="upper left", ncol=3, fontsize=7.5)
    return finish(fig, title=t("waves.chart.waterfall_title", lang, brand=_ours_name(res, codebook, lang),
                               base=res.period(dec.base), target=res.period(dec.target)),
                  base=t("waves.chart.waterfall_base", lang, n1=f"{int(dec.segments['n_base'].sum()):,}",
                         n2=f"{int(dec.segments['n_target'].sum()):,}"),
                  note=t("waves.chart.waterfall_note", lang))


def benchmark_bars(res, *, lang="en", codebook=None):
    """Latest wave: NPS of our brand and the competitors with confidence intervals and letters."""
    bm = res.benchmark
    y = np.arange(len(bm))[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(bm) + 1.2))
    low = False
    for yi, (_, r) in zip(y, bm.iterrows()):
        ours = r["brand"] == res.our_brand
        colour = BRAND_COLORS["ours"] if ours else BRAND_COLORS["competitor"]
        lowb = r["base_flag"] != "ok"
        low |= lowb
        ax.barh(yi, r["est"], color="white" if lowb else colour, edgecolor=colour, height=0.6, lw=1.2)
        ax.errorbar(r["est"], yi, xerr=[[r["est"] - r["ci_low"]], [r["ci_high"] - r["est"]]], color="#1f2a36",
                    lw=1, capsize=3)
        mark = {"up": " ▲", "down": " ▼"}.get(r["sig"], "")
        letters = f"  {r['sig_letters']}" if r["sig_letters"] else ""
        xt = r["ci_high"] if r["est"] >= 0 else r["ci_low"]
        ax.annotate(f"{_fmt(r['est'])}{mark}{letters}", (xt, yi), xytext=(5 if r["est"] >= 0 else -5, 0),
                    textcoords="offset points", va="center", ha="left" if r["est"] >= 0 else "right",
                    fontsize=8.5, fontweight="bold" if ours else None)
    names = [f"{level_label(codebook, 'brand', b, lang)} ({letter})" for b, letter in zip(bm["brand"], bm["letter"])]
    ax.set_yticks(y, names)
    ax.axvline(0, color="#9aa5b1", lw=0.8)
    lo, hi = bm["ci_low"].min(), bm["ci_high"].max()
    span = hi - lo
    ax.set_xlim(min(0, lo) - 0.25 * span, max(0, hi) + 0.3 * span)
    ax.set_xlabel(t("waves.chart.nps_axis", lang))
    note = t("waves.chart.letters_note", lang, conf=f"{100 * res.conf:g}")
    if low:
        note += " · " + t("lowbase.marker", lang)
    return finish(fig, title=t("waves.chart.bench_title", lang, period=res.period(res.wave)),
                  base=t("base", lang, what=t("waves.base.each_brand", lang),
                         n="/".join(f"{int(n):,}" for n in bm["n"])),
                  note=note)


def benchmark_trend(res, *, lang="en", codebook=None):
    """NPS by brand and wave: our brand bold, competitors thinner."""
    bt = res.benchmark_trend
    waves = sorted(bt["wave"].unique())
    xmap = {w: i for i, w in enumerate(waves)}
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    order = [res.our_brand] + list(res.competitors)
    low = False
    for i, b in enumerate(order):
        d = bt[bt["brand"].astype(str) == b].sort_values("wave")
        if not len(d):
            continue
        x = d["wave"].map(xmap).to_numpy()
        ours = b == res.our_brand
        colour = BRAND_COLORS["ours"] if ours else PALETTE[(i % (len(PALETTE) - 1)) + 1]
        ax.plot(x, d["est"], color=colour, lw=2.6 if ours else 1.5, label=level_label(codebook, "brand", b, lang),
                zorder=4 if ours else 3)
        low |= _hollow(ax, x, d["est"], d["base_flag"], colour, size=5 if not ours else 6)
        last = d.iloc[-1]
        ax.annotate(_fmt(last["est"]), (x[-1], last["est"]), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=8, color=colour, fontweight="bold")
    ax.set_xticks(range(len(waves)), _wave_labels(res, waves))
    ax.set_xlim(-0.3, len(waves) - 0.4)
    ax.axhline(0, color="#cfd6dd", lw=0.8, zorder=0)
    ax.set_ylabel(t("waves.chart.nps_axis", lang))
    _legend_below(ax, low, lang, y=-0.12, ncol=5)
    return finish(fig, title=t("waves.chart.bench_trend_title", lang),
                  base=t("base", lang, what=t("waves.base.per_brand_wave", lang),
                         n=f"{int(bt['n'].min()):,}–{int(bt['n'].max()):,}"))


def xo_chart(res, *, lang="en", codebook=None):
    """O-data outcomes by NPS group: retention, spend and tickets with confidence intervals."""
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
    return finish(fig, title=t("waves.chart.xo_title", lang, brand=_ours_name(res, codebook, lang)),
                  base=t("base", lang, what=t("waves.base.linked", lang, brand=_ours_name(res, codebook, lang)),
                         n=f"{n:,}"),
                  note=t("waves.chart.ci_note", lang, conf=f"{100 * res.conf:g}"))
