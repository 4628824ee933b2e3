"""Words for the reports: labels and key findings in English or Chinese.

Labels live in YAML tables under ``workbench/data/i18n/`` (one file per area) and are looked up
with :func:`t`.  Number formats used in sentences are here too, so a finding reads the same in
every notebook.  Each analysis area writes its key findings in ``narrative.<area>``.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import yaml

from .. import PACKAGE_DIR

__all__ = ["t", "strings", "fmt_num", "fmt_pct", "fmt_signed", "fmt_p", "join_list", "level_label",
           "md_escape", "LANGUAGES"]

LANGUAGES = ("en", "zh")
_I18N = PACKAGE_DIR / "data" / "i18n"


@functools.lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    """Every label of every area: ``{key: {"en": ..., "zh": ...}}``."""
    table: dict[str, dict[str, str]] = {}
    for path in sorted(_I18N.glob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in loaded.items():
            if key in table:
                raise ValueError(f"{path.name}: label {key!r} is defined twice")
            if not isinstance(value, dict) or "en" not in value:
                raise ValueError(f"{path.name}: label {key!r} needs at least an 'en' text")
            table[key] = value
    return table


def t(key: str, lang: str = "en", /, **fields) -> str:
    """The label ``key`` in ``lang`` (falling back to English), with ``{fields}`` filled in.

    Fields are inserted as they are: the result is plain text that may go to a chart, a table,
    a spreadsheet or Markdown.  Each sink escapes for itself (:mod:`workbench.report` renders
    Markdown with raw HTML, links and images inert); a narrative that wraps a client's label in
    Markdown markup of its own (``**{label}**``) escapes the label with :func:`md_escape`.
    """
    try:
        entry = strings()[key]
    except KeyError:
        raise KeyError(f"no label {key!r} in workbench/data/i18n/*.yaml") from None
    text = entry.get(lang) or entry["en"]
    return text.format(**fields) if fields else text


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&])")


def md_escape(text) -> str:
    """``text`` (a label, a data value) made literal inside Markdown: a backslash before each
    character Markdown could read as markup, so ``"*Gold* [tier]"`` shows as typed.

    >>> md_escape("*Gold* <tier>")
    '\\\\*Gold\\\\* \\\\<tier\\\\>'
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def level_label(codebook, column: str, code, lang: str = "en") -> str:
    """Label of a level of ``column`` from the codebook; the code itself when there is no
    codebook or the column is not in it."""
    if codebook is not None and column in codebook:
        return codebook.level_label(column, code, lang)
    return str(code)


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
