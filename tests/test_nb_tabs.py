"""The tab book notebook (05_tab_book): the Excel deliverable, its words in English and Chinese, the
study-aware defaults and the spec checks, and the PDF guide read back end to end.

The fast tests build books directly (on the demo study and on a small bank study of the user's own,
with no demo column names); the end-to-end tests run ``params/demo/tabs.yaml`` and ``tabs_zh.yaml``
once per session (the shared ``demo_reports`` fixture) and a bank study through ``workbench run``.
"""

from __future__ import annotations

import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from workbench import PROJECT_ROOT, tabs, xlsx
from workbench.cli import main
from workbench.tables import table_of
from workbench.codebook import Codebook, load_codebook
from workbench.config import load_params, notebook_parameters
from workbench.io import read_survey
from workbench.narrative import strings
from workbench.narrative import tabs as story
from workbench.study import check_params
from workbench.synth import demo_dir

from _nbfactory import HAS_PDF

NOTEBOOK = "05_tab_book"
DEMO_WORDS = ("aurora", "tracking", "design_weight", "segment", "2026-06", "Demo Client")
CJK = re.compile(r"[\u4e00-\u9fff]")


# ------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_book():
    cb = load_codebook("demo")
    df = read_survey(demo_dir() / "tracking.csv", cb, dataset="tracking")
    p = notebook_parameters(NOTEBOOK)
    book = tabs.study_book(df, cb, dataset="tracking", banner=p["banner"]["default"], stubs="all",
                           nets=p["nets"]["default"], weight="design_weight", wave="latest", adjust="holm")
    return book, cb


@pytest.fixture()
def bank(tmp_path):
    """A bank study of the user's own: a wave column `round`, brand `bank`, weight `wt`, 1-10 scales,
    no NPS question, one label that looks like a spreadsheet formula."""
    rng = np.random.default_rng(11)
    n = 600
    f = rng.normal(size=n)
    df = pd.DataFrame({"rid": np.arange(n), "round": np.repeat([1, 2], n // 2),
                       "bank": rng.choice(["north", "south", "west"], n), "wt": rng.uniform(0.5, 1.5, n),
                       "area": rng.choice(["city", "rural"], n, p=[0.8, 0.2])})
    for i in range(1, 4):
        df[f"st{i}"] = np.clip(np.round(6 + 1.5 * f + rng.normal(scale=0.8, size=n)), 1, 10).astype(int)
    df.to_csv(tmp_path / "bank.csv", index=False)
    cb = {
        "study": {"id": "bank-2026", "client": "First Bank", "our_brand": "north",
                  "title": {"en": "Bank CX 2026", "zh": "银行客户体验2026"}},
        "datasets": {"survey": {"file": "bank.csv", "id": "rid", "columns": list(df.columns),
                                "roles": {"wave": "round", "brand": "bank"}}},
        "questions": {
            "rid": {"type": "id"}, "round": {"type": "numeric", "integer": True, "label": "Round"},
            "bank": {"type": "categorical", "label": {"en": "=HYPERLINK(\"http://x\")", "zh": "银行"},
                     "levels": {"north": "North Bank", "south": "+South Bank", "west": "@West Bank"}},
            "wt": {"type": "weight"},
            "area": {"type": "categorical", "levels": {"city": "City", "rural": "-Rural"}},
            **{f"st{i}": {"type": "likert", "min": 1, "max": 10, "label": f"Staff item {i}"} for i in range(1, 4)},
        },
        "constructs": {"Staff": {"label": {"en": "Staff", "zh": "员工"}, "items": ["st1", "st2", "st3"]}},
    }
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    return tmp_path


def _params(folder, **extra):
    body = {"notebook": NOTEBOOK, "data": str(folder), "codebook": str(folder / "codebook.yaml"), **extra}
    path = folder / "tabs.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# words and parameters
# ------------------------------------------------------------------------------------------
def test_every_tabs_label_has_english_and_chinese():
    keys = [k for k in strings() if k.startswith("tabs.")]
    assert len(keys) > 60
    for k in keys:
        assert strings()[k].get("en") and strings()[k].get("zh"), k


def test_parameters_declare_the_spec_keys():
    p = notebook_parameters(NOTEBOOK)
    for key in ("dataset", "weight", "wave", "compare_previous", "banner", "stubs", "nets", "method", "adjust",
                "sig_level", "vs_total", "headline"):
        assert key in p and p[key]["help"], key
    assert p["method"]["choices"] == tabs.METHODS
    assert p["adjust"]["choices"] == tabs.ADJUSTMENTS


def test_workbench_params_lists_the_spec_keys(capsys):
    assert main(["params", NOTEBOOK]) == 0
    out = capsys.readouterr().out
    for key in ("banner", "stubs", "nets", "method", "adjust"):
        assert key in out


# ------------------------------------------------------------------------------------------
# a study of the user's own
# ------------------------------------------------------------------------------------------
def test_defaults_come_from_the_study(bank):
    p = load_params(_params(bank)).params
    assert (p["dataset"], p["weight"], p["wave"], p["compare_previous"]) == ("survey", "wt", 2, True)
    assert p["banner"] == ["bank", "area"] and p["stubs"] == "all" and p["nets"] == {}
    assert not any(w in repr(p) for w in DEMO_WORDS)
    assert check_params(NOTEBOOK, p) == []


def test_a_bad_spec_is_refused_naming_each_item(bank, capsys):
    f = _params(bank, banner=[{"bnak": "all"}, {"bank": ["north", {"net": "big", "codes": ["north", "east"]}]}],
                stubs=["st1", "st9"], nets={"st1": [{"net": "hi", "codes": [9, 10, 11]}]})
    problems = check_params(NOTEBOOK, load_params(f).params)
    text = "\n".join(problems)
    assert "'bnak' is not a variable" in text
    assert "net 'big': 'east' is not a level of 'bank'" in text
    assert "'st9' is not a question" in text
    assert "net 'hi': '11' is not a level of 'st1'" in text
    assert len(problems) == 4
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "key 'banner'" in err and "key 'stubs'" in err and "key 'nets'" in err


def test_an_empty_banner_is_refused(bank):
    problems = check_params(NOTEBOOK, load_params(_params(bank, banner=[])).params)
    assert problems == ["key 'banner': the banner is empty: give at least one variable (e.g. banner: [segment])"]


def test_no_wave_role_means_every_respondent(bank):
    cb = yaml.safe_load((bank / "codebook.yaml").read_text(encoding="utf-8"))
    del cb["datasets"]["survey"]["roles"]["wave"]
    (bank / "codebook.yaml").write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    p = load_params(_params(bank)).params
    assert (p["wave"], p["compare_previous"]) == ("all", False)
    assert check_params(NOTEBOOK, p) == []
    assert check_params(NOTEBOOK, load_params(_params(bank, wave=2)).params) == [
        "key 'wave': dataset 'survey' has no wave column (add datasets.survey.roles.wave to the codebook), so "
        "there is no wave to pick; use all"]


# ------------------------------------------------------------------------------------------
# the Excel book
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_layout(demo_book, tmp_path, lang):
    book, cb = demo_book
    meta = story.book_meta(book, lang=lang, codebook=cb, dataset="tracking", client="Demo Client", period="2026-06")
    path = story.write_book(book, tmp_path / "book.xlsx", lang=lang, codebook=cb, **meta)
    wb = openpyxl.load_workbook(path)
    names = wb.sheetnames
    assert names[0] == story.t("tabs.sheet.index", lang) and names[-1] == story.t("tabs.sheet.notes", lang)
    assert len(names) == 2 + sum(1 for g in book.spec.stub_groups if g[2])
    # the index links every stub to its table's title
    index = wb[names[0]]
    links = [(c.value, c.hyperlink.location) for row in index.iter_rows() for c in row if c.hyperlink]
    assert len(links) == len(book.spec.stubs)
    for label, loc in links:
        sheet, ref = loc.rsplit("!", 1)
        title = wb[sheet.strip("'")][ref].value
        assert title.endswith(label), (label, title)
    # a stub table: numbers are numbers with formats, letters in their own text cells
    ws = wb[names[1]]
    values = [c for row in ws.iter_rows() for c in row if isinstance(c.value, float)]
    assert values and {c.number_format for c in values} >= {"0%", "#,##0"}
    letters = [c.value for row in ws.iter_rows() for c in row
               if isinstance(c.value, str) and re.fullmatch(r"[A-Z]+", c.value)]
    assert letters, "no letter cells"
    assert any(c.value in ("▲", "▼") for row in ws.iter_rows() for c in row)
    if lang == "zh":
        assert any(isinstance(c.value, str) and CJK.search(c.value) for row in ws.iter_rows() for c in row)
    # vs total: green and red fills
    fills = {c.fill.fgColor.rgb for row in ws.iter_rows() for c in row if c.fill is not None and c.fill.fill_type}
    assert any(f.endswith("C6EFCE") for f in fills) and any(f.endswith("FFC7CE") for f in fills)
    notes = wb[names[-1]]
    text = " ".join(str(c.value) for row in notes.iter_rows() for c in row if c.value)
    assert "SPSS" in text and "svycontrast" in text


def test_low_bases_are_grey(tmp_path):
    d = pd.read_csv(PROJECT_ROOT / "tests" / "results" / "tabs_data.csv", comment="#")
    cb = Codebook.from_dict({"version": 1, "study": {"id": "t"},
                             "datasets": {"d": {"file": "d.csv", "columns": ["brand", "sat", "w"]}},
                             "questions": {"brand": {"type": "categorical", "levels": ["a", "b", "c", "d"]},
                                           "sat": {"type": "likert", "min": 1, "max": 5}, "w": {"type": "weight"}}})
    book = tabs.tab_book(d, cb, banner=["brand"], stubs=["sat"], weight="w", wave="wave", current=2)
    path = story.write_book(book, tmp_path / "b.xlsx", codebook=cb)
    ws = openpyxl.load_workbook(path)[story.t("tabs.group.questions", "en")]
    header = next(r for r in ws.iter_rows() if any(c.value == "(D)" for c in r))
    col = next(c.column for c in header if c.value == "(D)")
    body = [ws.cell(row=r, column=col) for r in range(header[0].row + 1, header[0].row + 9)]
    assert all(c.font.color is not None and c.font.color.rgb.endswith("808080") for c in body if c.value is not None)
    assert all(c.font.i for c in body if isinstance(c.value, float))  # below min_test: italic, not tested


def test_formula_looking_labels_stay_text(bank, tmp_path):
    cb = load_codebook(bank / "codebook.yaml")
    df = read_survey(bank / "bank.csv", cb, dataset="survey")
    book = tabs.study_book(df, cb, dataset="survey", banner=["bank", "area"], weight="wt")
    path = story.write_book(book, tmp_path / "b.xlsx", codebook=cb)
    wb = openpyxl.load_workbook(path)
    risky = [c for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {"+South Bank", "@West Bank", "-Rural"} <= {c.value for c in risky}
    assert any(c.value.startswith("=HYPERLINK") for c in risky)
    for c in risky:
        assert c.data_type == "s" and c.quotePrefix, c.value
    csv = story.write_cells(book, tmp_path / "cells.csv", codebook=cb)
    body = pd.read_csv(csv)
    text = [body[c].dropna().astype(str) for c in body.columns if not pd.api.types.is_numeric_dtype(body[c])]
    assert not any(s.str.match(r"^[=+\-@]").any() for s in text)
    assert "'+South Bank" in set(body["column_label"])


def test_sheet_names_are_valid_and_unique():
    assert xlsx.sheet_name("Product: quality/price [2026]?") == "Product  quality price  2026"
    assert xlsx.sheet_name("x" * 40) == "x" * 31
    assert xlsx.sheet_name("Index", ["index"]) == "Index (2)"


def test_headline_and_guide(demo_book):
    book, cb = demo_book
    assert story.headline_stubs(book) == ["nps", "csat", "ces"]
    h = story.headline_table(book, "nps", lang="zh", codebook=cb)
    assert list(h["df"].columns) == ["group", "column", "n", "nps", "promoters", "detractors"]
    assert h["labels"]["promoters"] == "推荐者（9–10）" and len(h["df"]) == len(book.columns)
    assert pd.api.types.is_float_dtype(h["df"]["nps"]) and h["formats"]["promoters"] == "pct0"
    assert any(re.fullmatch(r"[A-Z]+[▲▼]?", m) for m in h["sig"]["nps"])     # letters beside the value
    shown = table_of(**h).cells()["nps"]
    assert any(re.search(r"\d [A-Z]+", v) for v in shown)
    bullets = story.read_bullets(book, lang="en")
    assert any("wave 5" in b for b in bullets) and any("net" in b for b in bullets)


# ------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------
HEADINGS = {"en": ["The tab book", "How to read the tables", "Banner", "Headline tables", "Method and settings"],
            "zh": ["交叉分析表说明", "如何阅读表格", "核心指标表", "方法与设置"]}


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
@pytest.mark.parametrize("name,lang", [("tabs", "en"), ("tabs_zh", "zh")])
def test_demo_report(demo_reports, name, lang):
    res = demo_reports(name)
    text = re.sub(r"\s+", "", demo_reports.text(name))
    for h in HEADINGS[lang]:
        assert re.sub(r"\s+", "", h) in text, h
    book = res.folder / "tab_book.xlsx"
    assert book.is_file() and (res.folder / "tab_book_cells.csv").is_file()
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[0] == story.t("tabs.sheet.index", lang)
    if lang == "zh":
        assert "极光通信" in text and any("极光通信" == c.value for ws in wb for row in ws.iter_rows() for c in row)


@pytest.mark.e2e
@pytest.mark.skipif(not HAS_PDF, reason="needs chromium and pdftotext")
def test_own_study_runs_end_to_end(bank, tmp_path):
    from workbench.runner import run

    res = run(params_file=_params(bank, language="zh"), out=tmp_path / "reports")
    assert (res.folder / "tab_book.xlsx").is_file()
    wb = openpyxl.load_workbook(res.folder / "tab_book.xlsx")
    assert "员工" in wb.sheetnames  # the construct's Chinese label names its sheet
