"""Display tables: number formats, significance arrows and letters, low-base marks, page-fit HTML.

Analysis functions never round; this module does, for display only.  :func:`to_html` renders a
:class:`workbench.reportmodel.Table` (numbers plus significance and base-flag frames; this module
and the model are one display layer, so each imports the other lazily where needed).  :func:`to_html` turns a
tidy result into a compact HTML table that fits an A4 page (the report CSS sets the fonts);
wide tables get a smaller font.  Significance and low-base marks follow the one low-base rule
(:mod:`workbench.lowbase`).
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .lowbase import DEFAULT_RULE, LowBaseRule

__all__ = ["FORMATS", "fmt", "sig_arrow", "sig_letters", "to_html", "table_of", "mark_low_base", "LETTERS"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _isnan(x) -> bool:
    try:
        return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x)) or x is pd.NA
    except TypeError:
        return False


def _f(spec: str) -> Callable:
    def format_one(x):
        if _isnan(x):
            return "–"
        text = spec.format(x)
        if text.startswith("-"):  # a true minus sign; "-0.0" is shown as "0.0"
            text = "−" + text[1:] if text.strip("-0.,") else text[1:]
        return text

    return format_one


#: Named display formats.  ``pct`` formats take shares (0..1).
FORMATS: dict[str, Callable] = {
    "int": _f("{:,.0f}"),
    "num0": _f("{:,.0f}"),
    "num1": _f("{:,.1f}"),
    "num2": _f("{:,.2f}"),
    "num3": _f("{:,.3f}"),
    "pct0": lambda x: "–" if _isnan(x) else f"{100 * x:.0f}%",
    "pct1": lambda x: "–" if _isnan(x) else f"{100 * x:.1f}%",
    "signed1": lambda x: "–" if _isnan(x) else (f"{x:+.1f}".replace("-", "−") if round(x, 1) != 0 else "0.0"),
    "signed2": lambda x: "–" if _isnan(x) else (f"{x:+.2f}".replace("-", "−") if round(x, 2) != 0 else "0.00"),
    "signed3": lambda x: "–" if _isnan(x) else (f"{x:+.3f}".replace("-", "−") if round(x, 3) != 0 else "0.000"),
    "pval": lambda x: "–" if _isnan(x) else ("<0.001" if x < 0.001 else f"{x:.3f}"),
    "text": lambda x: "" if _isnan(x) else str(x),
}


def fmt(values, spec: str | Callable) -> list[str]:
    """Format an iterable of values with a named format or a callable."""
    f = FORMATS[spec] if isinstance(spec, str) else spec
    return [f(v) for v in values]


def sig_arrow(p_val, diff, *, alpha: float = 0.05) -> np.ndarray:
    """``"▲"`` / ``"▼"`` where ``p_val < alpha`` (by the sign of ``diff``), else ``""``; NaN p → ``""``.

    Legacy for marks baked into cell text; a report table carries ``"up"``/``"down"`` in its
    ``sig`` frame instead (:class:`workbench.reportmodel.Table`)."""
    p = np.asarray(p_val, dtype=float)
    d = np.asarray(diff, dtype=float)
    sig = np.where(np.isnan(p), False, p < alpha)
    return np.where(sig & (d > 0), "▲", np.where(sig & (d < 0), "▼", ""))


def sig_letters(est, p_matrix, *, alpha: float = 0.05, letters: str = LETTERS) -> list[str]:
    """Column-letter significance (market-research style).

    ``est`` are k estimates (columns A, B, C…); ``p_matrix[i][j]`` the p-value of i vs j.  Cell i
    gets the letters of the columns it is significantly *higher* than.
    """
    est = np.asarray(est, dtype=float)
    p = np.asarray(p_matrix, dtype=float)
    out = []
    for i in range(len(est)):
        marks = [letters[j] for j in range(len(est))
                 if j != i and not np.isnan(p[i, j]) and p[i, j] < alpha and est[i] > est[j]]
        out.append("".join(marks))
    return out


def mark_low_base(text: list[str], n_eff, rule: LowBaseRule = DEFAULT_RULE) -> list[str]:
    """Append ``*`` to values whose effective base is below the caution threshold.

    Legacy for marks baked into cell text; a report table carries ``"caution"``/``"no_test"`` in
    its ``base_flags`` frame instead (:class:`workbench.reportmodel.Table`)."""
    status = np.atleast_1d(rule.status(np.asarray(n_eff, dtype=float)))
    return [f"{v}*" if s != "ok" and v not in ("", "–") else v for v, s in zip(text, status)]


def to_html(
    df,
    *,
    formats: Mapping[str, str | Callable] | None = None,
    labels: Mapping[str, str] | None = None,
    caption: str | None = None,
    note: str | None = None,
    index: bool = False,
    text_columns: list[str] | None = None,
    max_rows: int = 200,
    sig: pd.DataFrame | None = None,
    base_flags: pd.DataFrame | None = None,
    cell_formats: pd.DataFrame | None = None,
) -> str:
    """A compact HTML table for the report.

    Parameters
    ----------
    df : Table or DataFrame
        A :class:`workbench.reportmodel.Table` (numbers, with significance and base flags in
        frames of their own): cells are marked ``cx-up`` / ``cx-down`` / ``cx-lowbase`` from those
        frames, and the other arguments are ignored (the table carries them).  A DataFrame is the
        legacy route (see below).
    formats : mapping, optional
        Column → named format (see :data:`FORMATS`) or callable; other numeric columns get
        ``num1``, text columns are shown as they are.
    labels : mapping, optional
        Column → header text (e.g. translated labels).
    caption, note : str, optional
        A caption above and a small note below (bases, significance legend).
    index : bool
        Show the index as the first column(s).
    text_columns : list, optional
        Columns aligned left (default: non-numeric ones). Formats follow the data type either way.
    sig, base_flags, cell_formats : DataFrame, optional
        Significance, base-flag and per-cell format frames (see
        :class:`~workbench.reportmodel.Table`): the DataFrame is made a Table and rendered from them.

    Legacy route: a DataFrame whose cells already carry their marks as text (``"42.1 ▲"``,
    ``"35*"``) is classed by searching the text.  It stays for tables not yet built as a
    :class:`~workbench.reportmodel.Table`; new code passes a Table (or ``sig=`` / ``base_flags=``
    frames to :func:`workbench.report.table`) so no format reads marks back out of text.
    """
    from .reportmodel import Table

    if isinstance(df, Table):
        return _table_html(df, max_rows=max_rows)
    if sig is not None or base_flags is not None or cell_formats is not None:
        return _table_html(table_of(df, formats=formats, labels=labels, caption=caption, note=note,
                                     index=index, text_columns=text_columns, sig=sig,
                                     base_flags=base_flags, cell_formats=cell_formats), max_rows=max_rows)
    return _legacy_html(df, formats=formats, labels=labels, caption=caption, note=note, index=index,
                        text_columns=text_columns, max_rows=max_rows)


def table_of(df, *, formats=None, labels=None, caption=None, note=None, index=False,
              text_columns=None, sig=None, base_flags=None, cell_formats=None) -> Table:
    """A :class:`workbench.reportmodel.Table` from :func:`to_html`'s arguments and the ``sig`` /
    ``base_flags`` frames.  Columns with a callable format become their formatted text (a model
    holds named formats only); ``index`` makes the index the first column(s)."""
    from .reportmodel import Table

    data = df
    if index:
        data = df.reset_index()
        sig = None if sig is None else sig.reset_index(drop=True).set_axis(data.index)
        base_flags = None if base_flags is None else base_flags.reset_index(drop=True).set_axis(data.index)
        cell_formats = None if cell_formats is None else cell_formats.reset_index(drop=True).set_axis(data.index)
    named = {}
    for c, spec in dict(formats or {}).items():
        if c not in data.columns:  # to_html ignores formats of columns a table does not have
            continue
        if callable(spec):
            data = data.copy() if data is df else data
            data[c] = fmt(data[c].tolist(), spec)
        else:
            named[c] = spec
    return Table(data=data, formats=named, labels=dict(labels or {}), sig=sig, base_flags=base_flags,
                 caption=caption, note=note, text_columns=None if text_columns is None else list(text_columns),
                 cell_formats=cell_formats)


_SIG_CLASS = {"up": "cx-up", "down": "cx-down"}
_FLAG_CLASS = {"caution": "cx-lowbase", "no_test": "cx-lowbase"}


def _table_html(table, *, max_rows: int = 200) -> str:
    """HTML of a report-model Table: classes come from its ``sig`` and ``base_flags`` frames."""
    data = table.data
    if len(data) > max_rows:
        raise ValueError(f"table has {len(data)} rows; more than {max_rows} do not belong in a report")
    cols = list(data.columns)
    shown = table.cells()
    cells = {c: shown[c].tolist() for c in cols}
    text_cols = set(table.text_columns) if table.text_columns is not None else {c for c in cols if table.is_text(c)}
    classes = {}
    for c in cols:
        sig, flags = table.sig_of(c), table.flags_of(c)
        classes[c] = [[k for k in (_SIG_CLASS.get(s), _FLAG_CLASS.get(f)) if k] for s, f in zip(sig, flags)]
    return _render(cols, {c: table.header(c) for c in cols}, cells, classes, text_cols,
                   caption=table.caption, note=table.note)


def _legacy_html(df, *, formats, labels, caption, note, index, text_columns, max_rows) -> str:
    """Legacy: a DataFrame with marks baked into its text, classed by string search."""
    data = df.reset_index() if index else df
    if len(data) > max_rows:
        raise ValueError(f"table has {len(data)} rows; more than {max_rows} do not belong in a report")
    formats = dict(formats or {})
    labels = dict(labels or {})
    cols = list(data.columns)
    non_numeric = {
        c for c in cols if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])
    }
    text_cols = set(text_columns) if text_columns is not None else non_numeric  # alignment only
    cells = {}
    for c in cols:
        spec = formats.get(c)
        if spec is None:
            spec = "text" if c in non_numeric else "num1"
        cells[c] = fmt(data[c].tolist(), spec)
    classes = {}
    for c in cols:
        row_classes = []
        for v in cells[c]:
            k = []
            if "▲" in v:
                k.append("cx-up")
            elif "▼" in v:
                k.append("cx-down")
            if v.endswith("*"):
                k.append("cx-lowbase")
            row_classes.append(k)
        classes[c] = row_classes
    return _render(cols, {c: str(labels.get(c, c)) for c in cols}, cells, classes, text_cols,
                   caption=caption, note=note)


def _render(cols, headers, cells, classes, text_cols, *, caption, note) -> str:
    n = len(cells[cols[0]]) if cols else 0
    wide = len(cols) > 8 or sum(max((len(x) for x in cells[c]), default=0) for c in cols) > 110
    klass = "cx-table cx-wide" if wide else "cx-table"
    out = [f'<table class="{klass}">']
    if caption:
        out.append(f"<caption>{_html.escape(caption)}</caption>")
    out.append("<thead><tr>")
    for c in cols:
        align = ' class="cx-text"' if c in text_cols else ""
        out.append(f"<th{align}>{_html.escape(headers[c])}</th>")
    out.append("</tr></thead><tbody>")
    for i in range(n):
        out.append("<tr>")
        for c in cols:
            v = cells[c][i]
            klass = (["cx-text"] if c in text_cols else []) + classes[c][i]
            attr = f' class="{" ".join(klass)}"' if klass else ""
            out.append(f"<td{attr}>{_html.escape(v)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    if note:
        out.append(f'<div class="cx-table-note">{_html.escape(note)}</div>')
    return "".join(out)
