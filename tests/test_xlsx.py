"""Tests of workbench.xlsx: typed tables written as numbers with formats, text kept inert, links."""

from __future__ import annotations

import doctest

import numpy as np
import openpyxl
import pandas as pd

from workbench import xlsx
from workbench.xlsx import Cell, Sheet, Table


def test_doctests():
    assert doctest.testmod(xlsx).failed == 0


def _book(tmp_path, sheets):
    return openpyxl.load_workbook(xlsx.write_workbook(tmp_path / "b.xlsx", sheets))


def test_numbers_stay_numbers_with_their_formats(tmp_path):
    rows = ((Cell("share", style="label"), Cell(np.float64(0.4567), fmt="0%", style="value"),
             Cell(np.int64(12), fmt="#,##0"), Cell(float("nan"), fmt="0%"), Cell(np.bool_(True))),)
    ws = _book(tmp_path, [Sheet("S", tables=(Table("t", rows=rows),))])["S"]
    assert ws["B2"].value == 0.4567 and ws["B2"].number_format == "0%"
    assert ws["C2"].value == 12 and ws["C2"].number_format == "#,##0"
    assert ws["D2"].value is None  # NaN: an empty cell, not text
    assert ws["E2"].value is True


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    risky = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "=HYPERLINK(\"http://x\",\"y\")"]
    rows = tuple((Cell(v),) for v in risky)
    ws = _book(tmp_path, [Sheet("S", tables=(Table("", rows=rows),))])["S"]
    for i, v in enumerate(risky, start=1):
        c = ws.cell(row=i, column=1)
        assert c.value == v and c.data_type == "s" and c.quotePrefix, v
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_csv_text_is_neutralised():
    frame = pd.DataFrame({"label": ["=cmd", "ok", "-x", None], "n": [-1, 2, 3, 4]})
    out = xlsx.neutralise_frame(frame)
    assert out["label"].tolist()[:3] == ["'=cmd", "ok", "'-x"] and pd.isna(out["label"].iloc[3])
    assert out["n"].tolist() == [-1, 2, 3, 4]
    assert frame["label"].iloc[0] == "=cmd"  # the input is not changed


def test_spans_centre_across_without_merging(tmp_path):
    header = ((Cell("Brand", style="group", span=3), Cell("Region", style="group", span=2)),)
    ws = _book(tmp_path, [Sheet("S", tables=(Table("", header=header),))])["S"]
    assert not ws.merged_cells.ranges
    assert ws["A1"].value == "Brand" and ws["D1"].value == "Region"
    assert all(ws.cell(row=1, column=c).alignment.horizontal == "centerContinuous" for c in range(1, 6))


def test_links_to_anchors_and_sheet_names(tmp_path):
    index = Sheet("Index", tables=(Table("", rows=((Cell("go", link="@t2"),),)),))
    body = Sheet("Index", title="Second", tables=(Table("first", rows=((Cell(1),),)),
                                                  Table("second", rows=((Cell(2),),), anchor="t2")))
    wb = _book(tmp_path, [index, body])
    assert wb.sheetnames == ["Index", "Index (2)"]
    loc = wb["Index"]["A1"].hyperlink.location
    sheet, ref = loc.rsplit("!", 1)
    assert wb[sheet.strip("'")][ref].value == "second"
