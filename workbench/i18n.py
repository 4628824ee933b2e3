"""Wording on the ground floor: label tables, :func:`t` and level labels in English or Chinese.

Labels live in YAML tables under ``workbench/data/i18n/`` (one file per area).  This module may be
imported by every layer: analysis modules use it only to word keyed warnings and side files, the
display layer (:mod:`workbench.narrative`, :mod:`workbench.plots`) for everything it shows.  It
imports nothing of the workbench but the package root.
"""

from __future__ import annotations

import functools

import yaml

from . import PACKAGE_DIR

__all__ = ["t", "strings", "level_label", "LANGUAGES"]

#: The languages a report can be written in.
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
    Markdown markup of its own (``**{label}**``) escapes the label with
    :func:`workbench.narrative.md_escape`.
    """
    try:
        entry = strings()[key]
    except KeyError:
        raise KeyError(f"no label {key!r} in workbench/data/i18n/*.yaml") from None
    text = entry.get(lang) or entry["en"]
    return text.format(**fields) if fields else text


def level_label(codebook, column: str, code, lang: str = "en") -> str:
    """Label of a level of ``column`` from the codebook; the code itself when there is no
    codebook or the column is not in it."""
    if codebook is not None and column in codebook:
        return codebook.level_label(column, code, lang)
    return str(code)
