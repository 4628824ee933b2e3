"""What every demo deliverable must (not) contain: read back from the PDF and HTML."""

from __future__ import annotations

import re

import pytest

from workbench import PROJECT_ROOT

from _nbfactory import HAS_PDF

PARAMS = sorted(p.stem for p in (PROJECT_ROOT / "params" / "demo").glob("*.yaml"))
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")]


@pytest.mark.parametrize("name", PARAMS)
def test_report_is_clean(demo_reports, name):
    text = demo_reports.text(name)
    html = demo_reports(name).files["html"].read_text()
    for bad in ("Traceback", "Error:", "Warning", "report.setup", "import ", "nan%", " nan ", "NaN"):
        assert bad not in text, f"{name}: {bad!r} in the PDF"
    assert not re.search(r"[\w.+-]+@example\.com", html), f"{name}: an e-mail address reached the report"
    lang_zh = name.endswith("_zh")
    if lang_zh:
        assert re.search(r"[\u4e00-\u9fff]{4,}", text), f"{name}: no Chinese text in the PDF"
    pages = re.findall(r"(\d+)\s*/\s*(\d+)\s*$", text, re.M)
    assert pages and pages[-1][0] == pages[-1][1], f"{name}: no page numbers in the footer"


@pytest.mark.parametrize("name", PARAMS)
def test_side_files_mask_pii(demo_reports, name):
    folder = demo_reports(name).folder
    for f in folder.glob("*.csv"):
        body = f.read_text(encoding="utf-8-sig")
        assert not re.search(r"[\w.+-]+@example\.com", body), f"{f.name}: e-mail addresses in a side file"
        assert "phone" not in body.splitlines()[0] or "***" in body, f"{f.name}: phone numbers in a side file"
