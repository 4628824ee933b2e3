"""Excel workbooks from typed tables: numbers as numbers, formats, letters and flags in their own cells.

A workbook is described as data -- :class:`Sheet` objects holding :class:`Table` objects made of
:class:`Cell` objects -- and written by :func:`write_workbook` (openpyxl, already a dependency).
The writer knows nothing of any analysis: the tab book's words and layout are made in
:mod:`workbench.narrative.tabs`; other reports can hand it their own tables.

* **Numbers stay numbers.** A cell's ``value`` is written as it is (never rounded) and shown
  through its Excel number ``fmt`` (``"0%"``, ``"0.00"``, ``"#,##0"``), so a client can compute
  with it.  Letters, arrows and labels are text cells of their own.
* **Styles are names**, combined with spaces (``"value low"``): ``title``, ``subtitle``,
  ``group``, ``column``, ``letter``, ``label``, ``base_label``, ``base``, ``value``, ``letters``,
  ``flag``, ``note``, ``key`` and the modifiers ``low`` (a low base: grey), ``no_test`` (grey,
  italic), ``higher`` / ``lower`` (green / red fill).
* **Untrusted text is inert.**  Labels come from clients' codebooks and data.  A text cell that
  starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is written as a string with
  Excel's quote prefix, so it is never read as a formula (CSV/formula injection);
  :func:`neutralise_frame` does the same for a CSV side file by prefixing ``'``.
* **Sheet names** are made valid (no ``[]:*?/\\``, at most 31 characters, unique).
"""

from __future__ import annotations

import io as _io
import re
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Cell", "Table", "Sheet", "write_workbook", "workbook_bytes", "sheet_name", "safe_csv_text",
           "neutralise_frame", "FORMULA_START"]

#: First characters that make a spreadsheet read text as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Cell:
    """One cell: a value (number, text or None), an Excel number format, style names, and optionally
    a column span (header cells) and an internal link (``"Sheet name!A1"``)."""

    value: Any = None
    fmt: str | None = None
    style: str = ""
    span: int = 1
    link: str | None = None


@dataclass(frozen=True)
class Table:
    """A block of a sheet: a title line, header rows, body rows and a note line.

    ``anchor`` names the table for links from the index (:func:`write_workbook` returns where each
    anchor landed).
    """

    title: str
    header: tuple = ()  # rows of Cells (with spans)
    rows: tuple = ()  # rows of Cells
    note: str = ""
    anchor: str | None = None


@dataclass(frozen=True)
class Sheet:
    """A worksheet: a title, tables one below the other, column widths (characters) and the
    number of leading columns kept in view when scrolling right."""

    name: str
    title: str = ""
    subtitle: str = ""
    tables: tuple = ()
    widths: tuple = ()
    freeze_columns: int = 0
    landscape: bool = True
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# text safety
# --------------------------------------------------------------------------------------------
def _needs_quote(text: str) -> bool:
    return bool(text) and text[0] in FORMULA_START


def safe_csv_text(value):
    """``value`` for a CSV cell: text starting with ``= + - @`` (tab, CR) gets a leading ``'`` so a
    spreadsheet opening the file shows it as text; other values are returned unchanged.

    >>> safe_csv_text("=HYPERLINK(\\"http://x\\")"), safe_csv_text("North"), safe_csv_text(-3)
    ('\\'=HYPERLINK("http://x")', 'North', -3)
    """
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are safe to open in a spreadsheet
    (:func:`safe_csv_text`); numbers are left alone."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(safe_csv_text, na_action="ignore")
    out.columns = [safe_csv_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def sheet_name(name: str, taken=()) -> str:
    """A valid, unique Excel sheet name from ``name`` (31 characters, no ``[]:*?/\\``)."""
    base = _BAD_SHEET.sub(" ", str(name)).strip().strip("'") or "Sheet"
    base = base[:31]
    taken_l = {t.lower() for t in taken}
    out, i = base, 2
    while out.lower() in taken_l:
        suffix = f" ({i})"
        out = base[:31 - len(suffix)] + suffix
        i += 1
    return out


# --------------------------------------------------------------------------------------------
# styles
# --------------------------------------------------------------------------------------------
_GREY = "808080"


def _style_factory():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="BFBFBF")
    base = {
        "title": dict(font=dict(bold=True, size=13)),
        "subtitle": dict(font=dict(italic=True, color="595959")),
        "table_title": dict(font=dict(bold=True, size=11)),
        "group": dict(font=dict(bold=True), align=dict(horizontal="center", vertical="center", wrap_text=True),
                      fill="DDEBF7", border="bottom"),
        "column": dict(font=dict(bold=True), align=dict(horizontal="center", vertical="center", wrap_text=True),
                       fill="F2F2F2"),
        "letter": dict(font=dict(color="1F4E79", bold=True), align=dict(horizontal="center")),
        "label": dict(align=dict(horizontal="left", vertical="top", wrap_text=True)),
        "base_label": dict(font=dict(italic=True), align=dict(horizontal="left")),
        "base": dict(font=dict(italic=True), align=dict(horizontal="right"), fill="FAFAFA"),
        "value": dict(align=dict(horizontal="right")),
        "letters": dict(font=dict(bold=True, color="1F4E79", size=9), align=dict(horizontal="left")),
        "flag": dict(font=dict(bold=True), align=dict(horizontal="center")),
        "note": dict(font=dict(italic=True, color="595959", size=9), align=dict(horizontal="left", wrap_text=False)),
        "key": dict(font=dict(bold=True), align=dict(horizontal="left", vertical="top", wrap_text=True)),
        "text": dict(align=dict(horizontal="left", vertical="top", wrap_text=True)),
        "link": dict(font=dict(color="0563C1", underline="single")),
        "across": dict(align=dict(horizontal="centerContinuous")),
    }
    cache = {}

    def resolve(style: str):
        if style in cache:
            return cache[style]
        tokens = style.split()
        font, align, fill, border = {}, {}, None, None
        for tok in tokens:
            spec = base.get(tok)
            if spec:
                font.update(spec.get("font", {}))
                align.update(spec.get("align", {}))
                fill = spec.get("fill", fill)
                border = spec.get("border", border)
        if "low" in tokens or "no_test" in tokens:
            font["color"] = _GREY
        if "no_test" in tokens:
            font["italic"] = True
        if "higher" in tokens:
            fill, font["color"] = "C6EFCE", "006100"
        if "lower" in tokens:
            fill, font["color"] = "FFC7CE", "9C0006"
        out = (Font(**font) if font else None, Alignment(**align) if align else None,
               PatternFill("solid", fgColor=fill) if fill else None,
               Border(bottom=thin) if border == "bottom" else None)
        cache[style] = out
        return out

    resolve.saved = {}
    return resolve


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def _link(x, sheet, ref):
    from openpyxl.worksheet.hyperlink import Hyperlink

    x.hyperlink = Hyperlink(ref=x.coordinate, location=f"'{sheet}'!{ref}")


def _apply(x, style, fmt, resolve, quote=False):
    """Style a cell.  openpyxl looks every font, fill and format up by hash on each assignment;
    a cell styled once with the same (style, format) lends its style record to the others."""
    if not style and not fmt and not quote:
        return
    key = (style, fmt, quote)
    saved = resolve.saved.get(key)
    if saved is not None and hasattr(x, "_style"):
        x._style = copy(saved)
        return
    if style:
        font, align, fill, border = resolve(style)
        if font is not None:
            x.font = font
        if align is not None:
            x.alignment = align
        if fill is not None:
            x.fill = fill
        if border is not None:
            x.border = border
    if fmt:
        x.number_format = fmt
    if quote:
        x.quotePrefix = True  # Excel shows the text as typed and never reads it as a formula
    if hasattr(x, "_style"):
        resolve.saved[key] = copy(x._style)


def _put(ws, r, c, cell: Cell, resolve, pending):
    v = cell.value
    if isinstance(v, (np.floating, float)):
        v = None if np.isnan(v) or np.isinf(v) else float(v)
    elif isinstance(v, np.integer):
        v = int(v)
    elif isinstance(v, np.bool_):
        v = bool(v)
    elif v is not None and not isinstance(v, (str, int, float, bool)):
        v = str(v)
    x = ws.cell(row=r, column=c)
    x.value = v
    quote = isinstance(v, str) and (_needs_quote(v) or x.data_type == "f")
    if quote:
        x.data_type = "s"  # text, never a formula
    style = (cell.style + (" link" if cell.link else "")).strip()
    if cell.span > 1:  # "centre across selection": no merged cells to get in a user's way
        style = (style + " across").strip()
    _apply(x, style, cell.fmt if (cell.fmt and v is not None and not isinstance(v, str)) else None, resolve, quote)
    if cell.link:
        if cell.link.startswith("@"):
            pending.append((x, cell.link[1:]))
        else:
            sheet, _, ref = cell.link.rpartition("!")
            _link(x, sheet or ws.title, ref)
    for k in range(1, cell.span):
        _apply(ws.cell(row=r, column=c + k), style, None, resolve)
    return x


def _write_sheet(ws, sheet: Sheet, resolve, anchors, pending):
    from openpyxl.utils import get_column_letter

    r = 1
    if sheet.title:
        _put(ws, r, 1, Cell(sheet.title, style="title"), resolve, pending)
        r += 1
    if sheet.subtitle:
        _put(ws, r, 1, Cell(sheet.subtitle, style="subtitle"), resolve, pending)
        r += 1
    if sheet.title or sheet.subtitle:
        r += 1
    first_header = None
    for table in sheet.tables:
        if table.anchor:
            anchors[table.anchor] = (ws.title, f"A{r}")
        if table.title:
            _put(ws, r, 1, Cell(table.title, style="table_title"), resolve, pending)
            r += 1
        for row in list(table.header) + list(table.rows):
            c = 1
            for cell in row:
                if cell is not None:
                    _put(ws, r, c, cell, resolve, pending)
                c += cell.span if cell is not None else 1
            if first_header is None and table.header:
                first_header = r
            r += 1
        if table.note:
            _put(ws, r, 1, Cell(table.note, style="note"), resolve, pending)
            r += 1
        r += 1
    for i, w in enumerate(sheet.widths, start=1):
        if w:
            ws.column_dimensions[get_column_letter(i)].width = w
    if sheet.freeze_columns:
        ws.freeze_panes = ws.cell(row=1, column=sheet.freeze_columns + 1)
    ws.page_setup.orientation = "landscape" if sheet.landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_view.showGridLines = False


def workbook_bytes(sheets, *, links=None, properties=None) -> tuple[bytes, dict]:
    """The ``.xlsx`` file of ``sheets`` as bytes, and ``{anchor: (sheet, cell)}`` of its tables.

    ``links`` maps a cell link written as ``"@anchor"`` (a :class:`Cell` ``link``) to the table
    with that anchor: the index sheet can link to tables before their place is known.  Sheet names
    are made valid and unique first (:func:`sheet_name`); ``properties`` sets the document's title,
    subject and creator.
    """
    from openpyxl import Workbook

    resolve = _style_factory()
    wb = Workbook()
    wb.remove(wb.active)
    names, anchors, pending = [], {}, []
    for sheet in sheets:
        name = sheet_name(sheet.name, names)
        names.append(name)
        ws = wb.create_sheet(name)
        _write_sheet(ws, sheet, resolve, anchors, pending)
    for x, anchor in pending:  # links to tables, now that every table has its place
        if anchor in anchors:
            _link(x, *anchors[anchor])
    if properties:
        for key in ("title", "subject", "creator", "description"):
            if properties.get(key):
                setattr(wb.properties, key, str(properties[key]))
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), anchors


def write_workbook(path, sheets, *, properties=None) -> Path:
    """Write ``sheets`` to ``path`` (``.xlsx``) atomically; return the path.

    A cell link ``"@anchor"`` points at the table whose ``anchor`` it names (see
    :func:`workbook_bytes`); any other link is ``"Sheet name!A1"``.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> from workbench.xlsx import Cell, Sheet, Table, write_workbook
    >>> t = Table("NPS by region", header=((Cell("Region", style="column"), Cell("NPS", style="column")),),
    ...           rows=((Cell("=North", style="label"), Cell(0.123, fmt="0.0%", style="value")),))
    >>> p = write_workbook(pathlib.Path(tempfile.mkdtemp()) / "b.xlsx", [Sheet("Tables", tables=(t,))])
    >>> ws = openpyxl.load_workbook(p)["Tables"]
    >>> ws["A3"].value, ws["A3"].data_type, ws["B3"].value, ws["B3"].number_format
    ('=North', 's', 0.123, '0.0%')
    """
    from .io import atomic_write_bytes

    data, _ = workbook_bytes(sheets, properties=properties)
    return atomic_write_bytes(Path(path), data)
