"""The Excel workbook of a report, reopened with openpyxl: types, formats, links, flags."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from workbench.reportmodel import Finding, Heading, Report, Table
from workbench.workbook import EXCEL_FORMATS, build_workbook


def _report(lang="en"):
    data = pd.DataFrame({"brand": ["Aurora 极光", "=HYPERLINK(\"http://x\")", "Comet"],
                         "nps": [42.123, 35.0, -3.25], "share": [0.5, np.nan, 0.125], "n": [120, 40, 300]})
    sig = pd.DataFrame({"nps": ["up", "", "down"], "share": ["", "", "AB"]})
    flags = pd.DataFrame({"nps": ["", "caution", ""]})
    t1 = Table(data, formats={"nps": "num1", "share": "pct1", "n": "int"},
               labels={"brand": "品牌" if lang == "zh" else "Brand", "nps": "NPS", "share": "Share", "n": "Base"},
               sig=sig, base_flags=flags, caption="NPS by brand: a caption that is far longer than 31 characters",
               note="Base: all respondents")
    t2 = Table(pd.DataFrame({"x": [1.5]}), caption="NPS by brand: a caption that is far longer than 31 characters")
    t3 = Table(pd.DataFrame({"p": [0.0004, 0.2], "d": [1.25, -0.5]}), formats={"p": "pval", "d": "signed2"})
    meta = {"title": "Brand health report", "study": "Demo telecom tracker", "client": "Demo Client",
            "period": "2026-06", "language": lang}
    return Report(meta=meta, blocks=[Heading("A"), t1, Finding(["x"]), t2, t3])


@pytest.fixture
def book(tmp_path):
    path = build_workbook(_report(), tmp_path / "r.xlsx")
    return openpyxl.load_workbook(path)


def test_index_sheet_links_every_table(book):
    index = book.worksheets[0]
    assert index.title == "Contents" and index["A1"].value == "Brand health report"
    cells = {c.value: c for row in index.iter_rows() for c in row if c.value is not None}
    assert "Demo telecom tracker" in cells and "2026-06" in cells and "Demo Client" in cells
    links = [c for row in index.iter_rows() for c in row if c.hyperlink is not None]
    assert len(links) == 3 == len(book.worksheets) - 1
    for link, ws in zip(links, book.worksheets[1:]):
        sheet = link.hyperlink.location.split("!")[0].strip("'")
        assert sheet == ws.title
    names = [ws.title for ws in book.worksheets]
    assert len(set(n.lower() for n in names)) == len(names) and all(len(n) <= 31 for n in names)
    assert names[1] == "1 NPS by brand a caption that…" and names[2].startswith("2 NPS by brand")


def test_numbers_are_numbers_with_excel_formats(book):
    ws = book.worksheets[1]
    headers = [c.value for c in ws[2]]
    assert headers[:4] == ["Brand", "NPS", "NPS: significance", "NPS: base"]
    col = {h: i + 1 for i, h in enumerate(headers)}
    nps = ws.cell(row=3, column=col["NPS"])
    assert nps.value == pytest.approx(42.123) and nps.data_type == "n" and nps.number_format == EXCEL_FORMATS["num1"]
    share = ws.cell(row=5, column=col["Share"])
    assert share.value == pytest.approx(0.125) and share.number_format == "0.0%"
    assert ws.cell(row=4, column=col["Share"]).value is None  # NaN is an empty cell
    base = ws.cell(row=3, column=col["Base"])
    assert base.value == 120 and base.number_format == "#,##0"
    ws3 = book.worksheets[3]
    assert ws3["A3"].number_format == EXCEL_FORMATS["pval"] and ws3["B4"].value == pytest.approx(-0.5)


def test_flags_are_columns_and_conditional_formats(book):
    ws = book.worksheets[1]
    headers = [c.value for c in ws[2]]
    col = {h: i + 1 for i, h in enumerate(headers)}
    sig = [ws.cell(row=r, column=col["NPS: significance"]).value for r in (3, 4, 5)]
    assert sig == ["▲", None, "▼"]
    assert [ws.cell(row=r, column=col["Share: significance"]).value for r in (3, 4, 5)] == [None, None, "AB"]
    assert ws.cell(row=4, column=col["NPS: base"]).value == "* low base"
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in ws.conditional_formatting}
    nps_col = openpyxl.utils.get_column_letter(col["NPS"])
    sig_col = openpyxl.utils.get_column_letter(col["NPS: significance"])
    flag_col = openpyxl.utils.get_column_letter(col["NPS: base"])
    assert rules[f"{nps_col}3:{nps_col}5"] == [f'${sig_col}3="▲"', f'${sig_col}3="▼"', f"LEN(${flag_col}3)>0"]
    styles = {r.formula[0]: r.dxf for rng in ws.conditional_formatting for r in rng.rules}
    assert styles[f'${sig_col}3="▲"'].font.color.rgb.endswith("006100")
    assert styles[f'${sig_col}3="▼"'].font.color.rgb.endswith("9C0006")
    assert styles[f"LEN(${flag_col}3)>0"].font.i


def test_layout_caption_note_freeze_widths_and_formula_text(book):
    ws = book.worksheets[1]
    assert ws["A1"].value.startswith("NPS by brand") and ws.freeze_panes == "B3"
    texts = [c.value for row in ws.iter_rows(min_row=6) for c in row if isinstance(c.value, str)]
    assert "Base: all respondents" in texts
    formula = ws["A4"]
    assert formula.value.startswith("=HYPERLINK") and formula.data_type == "s" and formula.quotePrefix
    assert 12 <= ws.column_dimensions["A"].width <= 62  # fitted to "Aurora 极光"/the formula text
    assert book.worksheets[2].freeze_panes == "A3"  # one numeric column: only the header rows


def test_headers_and_words_in_the_report_language(tmp_path):
    wb = openpyxl.load_workbook(build_workbook(_report("zh"), tmp_path / "zh.xlsx"))
    assert wb.worksheets[0].title == "目录"
    ws = wb.worksheets[1]
    assert ws["A2"].value == "品牌" and ws.cell(row=2, column=3).value == "NPS：显著性"
    assert ws.cell(row=4, column=4).value == "* 样本量过低"


def test_a_report_without_tables_has_an_index(tmp_path):
    wb = openpyxl.load_workbook(build_workbook(Report(meta={"title": "T"}), tmp_path / "e.xlsx"))
    assert wb.sheetnames == ["Contents"]


def test_brand_palette_colours_the_headers(tmp_path):
    wb = openpyxl.load_workbook(build_workbook(_report(), tmp_path / "b.xlsx", brand={"palette": ["#1F5F8B"]}))
    head = wb.worksheets[1]["A2"]
    assert head.fill.fgColor.rgb.endswith("1F5F8B") and head.font.color.rgb.endswith("FFFFFF")
    wb = openpyxl.load_workbook(build_workbook(_report(), tmp_path / "c.xlsx", brand={"palette": ["#F0E68C"]}))
    assert wb.worksheets[1]["A2"].font.color.rgb.endswith("000000")  # dark text on a light colour


def test_a_column_mixing_formats_keeps_numbers_with_a_format_per_cell(tmp_path):
    """An NPS to one decimal and a mean to two in one KPI column: numbers, each with its format."""
    import openpyxl
    import pandas as pd

    from workbench.reportmodel import Report, Table
    from workbench.workbook import build_workbook

    table = Table(pd.DataFrame({"kpi": ["NPS", "CSAT"], "value": [12.345, 3.456]}),
                  cell_formats=pd.DataFrame({"value": ["num1", "num2"]}), caption="KPIs")
    assert table.cells()["value"].tolist() == ["12.3", "3.46"]
    path = build_workbook(Report({"title": "T", "language": "en"}, [table]), tmp_path / "w.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[wb.sheetnames[1]]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, float)]
    assert [(c.value, c.number_format) for c in cells] == [(12.345, "#,##0.0"), (3.456, "#,##0.00")]


def test_a_note_mark_is_not_called_significance(tmp_path):
    import openpyxl
    import pandas as pd

    from workbench.reportmodel import Report, Table
    from workbench.workbook import build_workbook

    table = Table(pd.DataFrame({"level": ["a", "b"], "share": [0.2, 0.4], "nps": [1.0, 2.0]}),
                  formats={"share": "pct1"}, sig=pd.DataFrame({"share": ["†", ""], "nps": ["up", ""]}))
    path = build_workbook(Report({"title": "T", "language": "en"}, [table]), tmp_path / "w.xlsx")
    ws = openpyxl.load_workbook(path).worksheets[1]
    headers = [c.value for c in ws[2]]
    assert "share: mark" in headers and "nps: significance" in headers
    assert table.cells()["share"].tolist() == ["20.0% †", "40.0%"]
