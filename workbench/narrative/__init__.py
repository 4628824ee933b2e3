"""Words for the reports: labels and key findings in English or Chinese.

Labels live in YAML tables under ``workbench/data/i18n/`` (one file per area) and are looked up
with :func:`t`, which lives in :mod:`workbench.i18n` (the ground floor every layer may use) and is
re-exported here.  Number formats used in sentences are here too, so a finding reads the same in
every notebook.  Each analysis area writes its key findings in ``narrative.<area>``.
"""

from __future__ import annotations

import math
import re

from ..i18n import LANGUAGES, level_label, strings, t

__all__ = ["t", "strings", "fmt_num", "fmt_pct", "fmt_signed", "fmt_p", "join_list", "level_label",
           "md_escape", "LANGUAGES"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&])")


def md_escape(text) -> str:
    """``text`` (a label, a data value) made literal inside Markdown: a backslash before each
    character Markdown could read as markup, so ``"*Gold* [tier]"`` shows as typed.

    >>> md_escape("*Gold* <tier>")
    '\\\\*Gold\\\\* \\\\<tier\\\\>'
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_num(x, digits: int = 1) -> str:
    """``1234.5`` → ``"1,234.5"``, ``-0.5`` → ``"−0.5"`` (true minus); NaN → ``"–"``."""
    return "–" if _nan(x) else f"{x:,.{digits}f}".replace("-", "\u2212")


def fmt_pct(share, digits: int = 0) -> str:
    """A share 0..1 as a percentage: ``0.423`` → ``"42%"``."""
    return "–" if _nan(share) else f"{100 * share:.{digits}f}%"


def fmt_signed(x, digits: int = 1) -> str:
    """A change with its sign: ``4.2`` → ``"+4.2"``, ``-0.04`` → ``"−0.0"`` is shown as ``"0.0"``."""
    if _nan(x):
        return "–"
    s = f"{x:+.{digits}f}"
    return s[1:] if float(s) == 0 else s.replace("-", "−")


def fmt_p(p) -> str:
    """A p-value for tables: ``<0.001`` or three decimals."""
    return "–" if _nan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def join_list(items, lang: str = "en") -> str:
    """``[a, b, c]`` → ``"a, b and c"`` (en) or ``"a、b和c"`` (zh)."""
    items = [str(i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if lang == "zh":
        return "、".join(items[:-1]) + "和" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]
