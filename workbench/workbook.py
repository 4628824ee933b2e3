"""The Excel workbook of a report: every table of the report model as a sheet, numbers as numbers.

:func:`build_workbook` writes one ``.xlsx`` per report from its :class:`~workbench.reportmodel.Report`:

* an **index sheet** (report title, study, client, period, date) with one hyperlink per table;
* one **sheet per table**: the caption above, the headers in the report's language
  (``Table.labels``, frozen with the caption so they stay in view), the values as numbers shown
  through Excel number formats taken from the table's named formats (``pct1`` → ``0.0%``,
  ``num1`` → ``#,##0.0``, ``signed1`` → ``+0.0;−0.0``...), and the note below;
* **significance and base flags** in columns of their own next to the value column they mark
  (``▲``/``▼``/column letters; "* low base"), and the same marks as conditional formatting of
  the value cells (green: significantly higher, red: lower, grey italics: low base), so a client
  who sorts or filters keeps them and one who reads sees them;
* column widths fitted to the text (CJK characters count double), text that looks like a formula
  written as text (:func:`workbench.io.mark_formula_text`), sheet names made valid and unique
  (:func:`workbench.xlsx.sheet_name`).

openpyxl, not xlsxwriter: it is already a dependency (the tab book's writer and the data readers
use it), it is what tests and clients' tooling reopen workbooks with, and a report's tables are
small (at most a few hundred rows), so xlsxwriter's faster streaming buys nothing here.  The
module computes nothing: every value, mark and label comes from the model.
"""

from __future__ import annotations

import io as _io
import math
import re
import unicodedata
from pathlib import Path

from .i18n import t
from .reportmodel import BASE_CAUTION, BASE_NO_TEST, SIG_DOWN, SIG_UP, Report, Table

__all__ = ["build_workbook", "EXCEL_FORMATS", "excel_format"]

#: Excel number format of each named display format (:data:`workbench.tables.FORMATS`).
EXCEL_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "num0": "#,##0",
    "num1": "#,##0.0",
    "num2": "#,##0.00",
    "num3": "#,##0.000",
    "pct0": "0%",
    "pct1": "0.0%",
    "signed1": '+0.0;"−"0.0;0.0',
    "signed2": '+0.00;"−"0.00;0.00',
    "signed3": '+0.000;"−"0.000;0.000',
    "pval": '[<0.001]"<0.001";0.000',
}

_UP_FILL, _UP_FONT = "C6EFCE", "006100"
_DOWN_FILL, _DOWN_FONT = "FFC7CE", "9C0006"
_GREY = "808080"
_SIG_TEXT = {SIG_UP: "▲", SIG_DOWN: "▼"}
_MAX_WIDTH, _MIN_WIDTH = 60, 6


def excel_format(name: str | None) -> str | None:
    """The Excel number format for a named display format (``None`` for text)."""
    return EXCEL_FORMATS.get(name or "")


def _width(text: str) -> int:
    """Display width of ``text`` in Excel's character units (wide East Asian characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


def _short_name(text: str, limit: int = 31) -> str:
    """``text`` cut to a sheet name's 31 characters at a word boundary, with "…" for the rest."""
    text = " ".join(re.sub(r"[\[\]:*?/\\]", " ", str(text)).split())  # what a sheet name may not hold
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut[limit // 2:]:  # a word cut in two goes
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-–") + "…"


def _cell_value(v):
    """A value as Excel stores it: numbers as numbers (NaN/inf as empty), everything else as text."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return str(v)


class _Columns:
    """The sheet's columns for one table: each data column, then its significance and flag columns."""

    def __init__(self, table: Table, lang: str):
        self.items: list[tuple[str, str, object]] = []  # (kind, header, column)
        for c in table.data.columns:
            header = table.header(c)
            self.items.append(("value", header, c))
            marks = [m for m in table.sig_of(c) if m]
            if marks:  # arrows and column letters are significance; other marks (†) the note explains
                sig = all(m in (SIG_UP, SIG_DOWN) or re.fullmatch(r"[A-Z]*[▲▼]?", m) for m in marks)
                key = "workbook.sig_col" if sig else "workbook.mark_col"
                self.items.append(("sig", t(key, lang, header=header), c))
            if any(table.flags_of(c)):
                self.items.append(("flag", t("workbook.flag_col", lang, header=header), c))

    def index_of(self, kind: str, column) -> int | None:
        for i, (k, _, c) in enumerate(self.items, start=1):
            if k == kind and c == column:
                return i
        return None


def _write_table(ws, table: Table, lang: str, index_name: str, styles: dict) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    cols = _Columns(table, lang)
    shown = table.cells()  # display text, for widths only
    widths = [_width(h) for _, h, _ in cols.items]
    r = 1
    ws.cell(row=r, column=1, value=table.caption or ws.title).font = styles["caption"]
    header_row = r + 1
    for j, (kind, header, c) in enumerate(cols.items, start=1):
        x = ws.cell(row=header_row, column=j, value=header)
        x.font, x.fill, x.border = styles["header_font"], styles["header_fill"], styles["header_border"]
        x.alignment = Alignment(horizontal="left" if kind == "value" and table.is_text(c) else "center",
                                vertical="center", wrap_text=True)
    first = header_row + 1
    n = len(table.data)
    for j, (kind, _, c) in enumerate(cols.items, start=1):
        if kind == "value":
            values = table.data[c].tolist()
            numbers = [None if table.is_text(c) else excel_format(f) for f in table.formats_of(c)]
            texts = shown[c].tolist()
            for i, v in enumerate(values):
                x = ws.cell(row=first + i, column=j, value=_cell_value(v))
                if numbers[i] and isinstance(x.value, (int, float)) and not isinstance(x.value, bool):
                    x.number_format = numbers[i]
                widths[j - 1] = max(widths[j - 1], _width(texts[i]))
        else:
            marks = table.sig_of(c) if kind == "sig" else table.flags_of(c)
            for i, m in enumerate(marks):
                text = (_SIG_TEXT.get(m, m) if kind == "sig"
                        else t(f"workbook.flag.{m}", lang) if m in (BASE_CAUTION, BASE_NO_TEST) else m)
                if text:
                    x = ws.cell(row=first + i, column=j, value=text)
                    x.font = styles["mark_font"]
                    x.alignment = Alignment(horizontal="center")
                    widths[j - 1] = max(widths[j - 1], _width(text))
    last = first + n - 1
    # the marks as conditional formatting of the value cells (formulas read the mark columns)
    if n:
        for j, (kind, _, c) in enumerate(cols.items, start=1):
            if kind != "value":
                continue
            rng = f"{get_column_letter(j)}{first}:{get_column_letter(j)}{last}"
            sig_j, flag_j = cols.index_of("sig", c), cols.index_of("flag", c)
            if sig_j:
                ref = f"${get_column_letter(sig_j)}{first}"
                ws.conditional_formatting.add(rng, FormulaRule(formula=[f'{ref}="{_SIG_TEXT[SIG_UP]}"'],
                                                               font=styles["up_font"], fill=styles["up_fill"]))
                ws.conditional_formatting.add(rng, FormulaRule(formula=[f'{ref}="{_SIG_TEXT[SIG_DOWN]}"'],
                                                               font=styles["down_font"], fill=styles["down_fill"]))
            if flag_j:
                ref = f"${get_column_letter(flag_j)}{first}"
                ws.conditional_formatting.add(rng, FormulaRule(formula=[f'LEN({ref})>0'], font=styles["low_font"]))
    r = last + 2 if n else first + 1
    if table.note:
        ws.cell(row=r, column=1, value=table.note).font = styles["note"]
        r += 1
    if table.sig is not None or table.base_flags is not None:
        ws.cell(row=r, column=1, value=t("workbook.legend", lang)).font = styles["note"]
        r += 1
    back = ws.cell(row=r + 1, column=1, value=t("workbook.back", lang))
    back.hyperlink = Hyperlink(ref=back.coordinate, location=f"'{index_name}'!A1")
    back.font = styles["link"]
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(_MIN_WIDTH, min(_MAX_WIDTH, w + 2))
    freeze_col = 2 if len(cols.items) > 1 and table.is_text(cols.items[0][2]) else 1
    ws.freeze_panes = ws.cell(row=first, column=freeze_col)
    _print_setup(ws)


def _print_setup(ws) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_view.showGridLines = False


def _palette(brand) -> list[str]:
    """The brand's colours (``#RRGGBB``) from a codebook, its ``brand`` block or a mapping."""
    if brand is None:
        return []
    if hasattr(brand, "brand") and not isinstance(brand, dict):  # a Codebook
        brand = brand.brand
    if brand is None:
        return []
    palette = brand.get("palette") if isinstance(brand, dict) else getattr(brand, "palette", None)
    return [str(c) for c in (palette or []) if re.fullmatch(r"#[0-9A-Fa-f]{6}", str(c))]


def _on(colour: str) -> str:
    """Black or white text, whichever reads on ``colour`` (RRGGBB)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return "000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "FFFFFF"


def _styles(brand=None) -> dict:
    from openpyxl.styles import Border, Font, PatternFill, Side

    palette = _palette(brand)
    head = palette[0][1:].upper() if palette else "F2F2F2"
    return {
        "title": Font(bold=True, size=14, color=head if palette else None),
        "caption": Font(bold=True, size=12),
        "label": Font(bold=True),
        "header_font": Font(bold=True, color=_on(head)),
        "header_fill": PatternFill("solid", fgColor=head),
        "header_border": Border(bottom=Side(style="thin", color="808080")),
        "mark_font": Font(color="1F4E79", bold=True),
        "note": Font(italic=True, color="595959", size=9),
        "link": Font(color="0563C1", underline="single"),
        "up_font": Font(color=_UP_FONT, bold=True),
        "up_fill": PatternFill(start_color=_UP_FILL, end_color=_UP_FILL, fill_type="solid"),
        "down_font": Font(color=_DOWN_FONT, bold=True),
        "down_fill": PatternFill(start_color=_DOWN_FILL, end_color=_DOWN_FILL, fill_type="solid"),
        "low_font": Font(color=_GREY, italic=True),
    }


def build_workbook(report: Report, path: str | Path, *, brand=None) -> Path:
    """Write the report's tables to the workbook ``path`` (``.xlsx``, atomically); return it.

    ``brand`` (the study's codebook, its ``brand`` block or a mapping) gives the header colour:
    the palette's first colour, with black or white text, whichever reads.  A report without
    tables still gets its index sheet.
    """
    from openpyxl import Workbook
    from openpyxl.worksheet.hyperlink import Hyperlink

    from .io import atomic_write_bytes, mark_formula_text
    from .xlsx import sheet_name

    lang = report.lang
    meta = report.meta
    styles = _styles(brand)
    wb = Workbook()
    index = wb.active
    index.title = sheet_name(t("workbook.index", lang))
    taken = [index.title]
    tables = report.tables()
    names = []
    for i, table in enumerate(tables, start=1):
        label = table.caption or t("workbook.table", lang, n=i)
        name = sheet_name(_short_name(f"{i} {label}"), taken)
        taken.append(name)
        names.append(name)
        _write_table(wb.create_sheet(name), table, lang, index.title, styles)

    # index: what the report is, then one link per table
    r = 1
    index.cell(row=r, column=1, value=meta.get("title") or t("workbook.report", lang)).font = styles["title"]
    r += 2
    facts = [("cover.study_id", meta.get("study")), ("workbook.client", meta.get("client")),
             ("cover.period", meta.get("period")), ("cover.date", meta.get("report_date"))]
    for key, value in facts:
        if value:
            index.cell(row=r, column=1, value=t(key, lang)).font = styles["label"]
            index.cell(row=r, column=2, value=str(value))
            r += 1
    r += 1
    index.cell(row=r, column=1, value=t("workbook.tables", lang)).font = styles["caption"]
    index.cell(row=r, column=2, value=t("workbook.rows", lang)).font = styles["label"]
    r += 1
    widths = [_width(t("workbook.tables", lang)), _width(t("workbook.rows", lang))]
    for table, name in zip(tables, names):
        x = index.cell(row=r, column=1, value=table.caption or name)
        x.hyperlink = Hyperlink(ref=x.coordinate, location=f"'{name}'!A1")
        x.font = styles["link"]
        index.cell(row=r, column=2, value=len(table.data))
        widths[0] = max(widths[0], _width(x.value))
        r += 1
    for key, value in facts:
        if value:
            widths[0] = max(widths[0], _width(t(key, lang)))
            widths[1] = max(widths[1], _width(str(value)))
    index.column_dimensions["A"].width = max(_MIN_WIDTH, min(_MAX_WIDTH + 20, widths[0] + 2))
    index.column_dimensions["B"].width = max(_MIN_WIDTH, min(_MAX_WIDTH, widths[1] + 2))
    _print_setup(index)
    index.page_setup.orientation = "portrait"

    for ws in wb.worksheets:  # client text that looks like a formula stays text
        mark_formula_text(ws)
    props = wb.properties
    props.title = str(meta.get("title") or "")
    props.subject = str(meta.get("study") or "")
    props.creator = "CX Workbench"
    props.language = lang
    buf = _io.BytesIO()
    wb.save(buf)
    return atomic_write_bytes(Path(path), buf.getvalue())
