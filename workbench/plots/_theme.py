"""The one chart theme: seaborn's whitegrid with a CJK-capable font and the house palette."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import font_manager

__all__ = ["apply_theme", "PALETTE", "BRAND_COLORS", "SIG_COLORS", "font_family", "finish", "base_text"]

#: House palette: our brand first, then competitors, then neutrals.
PALETTE = ["#1f5f8b", "#e07b39", "#5b9e4d", "#8e6bb8", "#c9a227", "#4bacc6", "#9aa5b1", "#c0392b"]
BRAND_COLORS = {"ours": "#1f5f8b", "competitor": "#9aa5b1"}
SIG_COLORS = {"up": "#1a7f37", "down": "#c0392b", "none": "#6b7785"}

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
    from ..narrative import t

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
