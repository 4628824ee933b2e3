"""The one chart theme: seaborn's whitegrid with a CJK-capable font and the house palette."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import font_manager

__all__ = ["apply_theme", "PALETTE", "BRAND_COLORS", "SIG_COLORS", "LEVEL_COLORS", "level_colours", "font_family",
           "finish", "base_text"]

#: House palette: our brand first, then competitors, then neutrals.
PALETTE = ["#1f5f8b", "#e07b39", "#5b9e4d", "#8e6bb8", "#c9a227", "#4bacc6", "#9aa5b1", "#c0392b"]
BRAND_COLORS = {"ours": "#1f5f8b", "competitor": "#9aa5b1"}
SIG_COLORS = {"up": "#1a7f37", "down": "#c0392b", "none": "#6b7785"}
#: Colours of the levels of a grouping (brands, segments, groups), taken in the codebook's level
#: order: distinct hues first, the neutral grey last (the significance red and green are left out).
LEVEL_COLORS = ["#1f5f8b", "#e07b39", "#5b9e4d", "#8e6bb8", "#c9a227", "#4bacc6", "#b5577b", "#7f6b50",
                "#3d8c84", "#9aa5b1"]


def level_colours(codebook, column: str, levels=None) -> dict[str, str]:
    """One colour per level of ``column``, the same in every chart of every report.

    Colours follow the codebook's level order of the column (:meth:`Codebook.levels`), so a
    brand, segment or group keeps its colour whichever subset a chart shows and whichever
    report draws it.  Levels the codebook does not list (or every level, without a codebook or
    when the column is not a categorical question) follow in sorted order.  More levels than
    colours reuse them in turn.

    Parameters
    ----------
    codebook : Codebook, str, Path or None
    column : str
        The grouping column (``brand``, ``segment``, ...).
    levels : iterable or None
        Levels present in the data (to colour those the codebook does not list).

    Returns
    -------
    dict
        ``{level (str): colour}``; look a level up with ``colours[str(level)]``.

    Examples
    --------
    >>> from workbench.plots import level_colours
    >>> c = level_colours("demo", "segment")
    >>> list(c) == ["consumer_prepaid", "consumer_postpaid", "business"]
    True
    >>> level_colours("demo", "segment", ["business"])["business"] == c["business"]
    True
    """
    order: list[str] = []
    if codebook is not None:
        from ..codebook import load_codebook

        try:
            cb = load_codebook(codebook)
            if column in cb:
                order = [str(lv) for lv in cb.levels(column)]
        except Exception:  # noqa: BLE001 - no usable codebook: colour by the data's levels
            order = []
    extra = sorted({str(lv) for lv in (list(levels) if levels is not None else []) if str(lv) not in order
                    and str(lv) != "nan"})
    order += extra
    return {lv: LEVEL_COLORS[i % len(LEVEL_COLORS)] for i, lv in enumerate(order)}

_CJK = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei"]
_LATIN = ["Noto Sans", "DejaVu Sans"]


def font_family(lang: str = "en") -> list[str]:
    """Installed fonts to use, CJK-capable first for Chinese (and as fallback for English)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [f for f in _CJK if f in installed]
    latin = [f for f in _LATIN if f in installed] or ["DejaVu Sans"]
    return (cjk + latin) if lang == "zh" else (latin + cjk)


def apply_theme(lang: str = "en") -> None:
    """Set seaborn/matplotlib defaults for report charts (idempotent)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": font_family(lang),
            "axes.unicode_minus": False,
            "figure.figsize": (7.2, 3.8),
            "figure.dpi": 110,
            "savefig.dpi": 160,
            "savefig.bbox": "tight",
            "axes.titlesize": 11.5,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": 9.5,
            "xtick.labelsize": 8.5,
            "ytick.labelsize": 8.5,
            "legend.fontsize": 8.5,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def base_text(n, *, what: str | None = None, lang: str = "en", n_eff=None) -> str:
    """``"Base: all respondents, n=812"`` in the report language."""
    from ..i18n import t

    what = what or t("base.all", lang)
    text = t("base", lang, what=what, n=f"{int(round(n)):,}")
    if n_eff is not None:
        text += "; " + t("base.eff", lang, n_eff=f"{int(round(n_eff)):,}")
    return text


def finish(fig, *, title: str | None = None, base: str | None = None, note: str | None = None):
    """Give a figure its title and a base line under the plot; return the figure."""
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=11.5, fontweight="bold")
    foot = " · ".join(x for x in (base, note) if x)
    if foot:
        fig.text(0.01, -0.01, foot, ha="left", va="top", fontsize=7.5, color="#6b7785")
    fig.tight_layout()
    return fig
