"""Words and layout of the tab book (05_tab_book): the Excel book and the PDF guide, in English or Chinese.

The Excel workbook is the deliverable: :func:`write_book` lays a :class:`workbench.tabs.TabBook` out
as typed tables (:mod:`workbench.xlsx`) -- an index sheet with links, one sheet per stub group, a
notes sheet with the test and its settings -- with labels from the codebook in the report's
language.  The PDF is a short guide (:func:`key_findings`, :func:`read_bullets`) and the headline
tables (:func:`headline_table`).  Nothing here computes a statistic: every number is read from the
book.  Every visible word comes from ``workbench/data/i18n/tabs.yaml`` or the codebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import xlsx
from . import fmt_num, join_list, level_label, md_escape, t

__all__ = [
    "column_label",
    "group_label",
    "row_label",
    "stub_label",
    "stub_group_label",
    "test_names",
    "book_meta",
    "scope_text",
    "workbook_sheets",
    "write_book",
    "write_cells",
    "labelled_cells",
    "key_findings",
    "deliverable_text",
    "read_bullets",
    "banner_table",
    "headline_stubs",
    "headline_table",
    "method_table",
    "notes",
]

#: Excel number formats per row kind.
_FMT = {"level": "0%", "net": "0%", "top_box": "0%", "bottom_box": "0%", "promoters": "0%", "passives": "0%",
        "detractors": "0%", "mean": "0.00", "sd": "0.00", "se": "0.000", "nps": "0.0"}
_BASE_FMT = "#,##0"
_ARROW = {"higher": "▲", "lower": "▼", "": ""}
#: Report-table number format of each Excel format of a row kind (headline tables).
_VALUE_FORMAT = {"0%": "pct0", "0.0": "num1", "0.00": "num2", "0.000": "num3"}


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------
def _question_label(codebook, q, lang):
    if codebook is not None and q in codebook:
        return codebook.label(q, lang)
    return str(q)


def _columns_by_key(book):
    return {c.key: c for c in book.spec.columns}


def _code_label(book, variable, code, lang, codebook):
    if variable is not None and variable == book.settings.get("wave"):
        return t("tabs.wave", lang, wave=code)
    return level_label(codebook, variable, code, lang)


def _net_label(label, codes, lang, labeller):
    if isinstance(label, dict) and label:
        return label.get(lang) or label.get("en") or next(iter(label.values()))
    return t("tabs.net_join", lang).join(labeller(c) for c in codes)


def column_label(book, key, *, lang="en", codebook=None):
    """Display label of a banner column: Total, a level's codebook label, a net's label."""
    col = _columns_by_key(book).get(key)
    if col is None or col.variable is None:
        return t("tabs.total", lang)
    if col.net is not None:
        return _net_label(col.label, col.codes, lang, lambda c: _code_label(book, col.variable, c, lang, codebook))
    return _code_label(book, col.variable, col.codes[0], lang, codebook)


def group_label(book, group, *, lang="en", codebook=None):
    """Display label of a banner group (the variable's codebook label)."""
    if group == "total":
        return t("tabs.total", lang)
    return _question_label(codebook, group, lang)


def _range(codes):
    return f"{codes[0]}–{codes[-1]}" if len(codes) > 1 else str(codes[0])


def row_label(stub, row, *, lang="en", codebook=None):
    """Display label of a stub row (an answer, a net, a box, a statistic)."""
    q = stub.question

    def one(code):
        lab = level_label(codebook, q, code, lang)
        if stub.kind in ("scale", "nps"):
            return str(code) if lab == str(code) else f"{code} – {lab}"
        return lab

    if row.kind == "level":
        return one(row.codes[0])
    if row.kind == "net":
        return _net_label(row.label, row.codes, lang, lambda c: level_label(codebook, q, c, lang))
    if row.kind in ("top_box", "bottom_box"):
        return t(f"tabs.row.{row.kind}", lang, k=len(row.codes), codes=_range(row.codes))
    if row.kind in ("promoters", "passives", "detractors"):
        return t(f"tabs.row.{row.kind}", lang, codes=_range(row.codes))
    return t(f"tabs.row.{row.kind}", lang)


def stub_label(stub_or_question, *, lang="en", codebook=None):
    """The stub's own label (coded themes) or else its question's codebook label."""
    own = getattr(stub_or_question, "label", None)
    if isinstance(own, dict) and own:
        return str(own.get(lang) or own.get("en") or next(iter(own.values())))
    q = getattr(stub_or_question, "question", stub_or_question)
    return _question_label(codebook, q, lang)


def stub_group_label(key, *, lang="en", codebook=None):
    """Label of a stub group: a construct's label, Questions / Profile, or the group's own name."""
    if key in ("questions", "profile"):
        return t(f"tabs.group.{key}", lang)
    if codebook is not None and key in codebook.constructs:
        return codebook.label(key, lang)
    return str(key)


def test_names(book, *, lang="en"):
    """``(percentages test, means test, adjustment, confidence)`` in words."""
    s = book.settings
    if s["proportions_test"] == "pooled":
        prop = t("tabs.test.pooled_eff" if s["weighted"] else "tabs.test.pooled", lang)
    else:
        prop = t("tabs.test.design", lang)
    mean = t("tabs.test.welch" if s["means_test"] == "welch" else "tabs.test.design", lang)
    conf = f"{100 * (1 - s['sig_level']):g}"
    return prop, mean, t(f"tabs.adjust.{s['adjust']}", lang), t("tabs.level", lang, conf=conf)


def book_meta(book, *, lang="en", codebook=None, dataset=None, client="", period=""):
    """Words about the whole book: ``title``, ``subtitle``, ``respondents``, ``weighting``
    (keyword arguments of :func:`write_book` and :func:`method_table`)."""
    study = ""
    if codebook is not None and codebook.study.title:
        study = codebook.study.title.get(lang) or codebook.study.title.get("en") or ""
    title = f"{study} – {t('tabs.title', lang)}" if study else t("tabs.title", lang)
    subtitle = " · ".join(x for x in (client, period) if x)
    ds = _question_label(codebook, dataset, lang) if dataset else ""
    if codebook is not None and dataset in getattr(codebook, "datasets", {}):
        ds = codebook.label(dataset, lang)
    s = book.settings
    if s["current"] is not None:
        who = t("tabs.txt.scope_wave", lang, dataset=ds, wave=s["current"])
    else:
        who = t("tabs.txt.scope_all", lang, dataset=ds)
    if s["weighted"]:
        weighting = t("tabs.txt.weighted", lang, weight=_question_label(codebook, s["weight"], lang)
                      if s["weight"] else "")
    else:
        weighting = t("tabs.txt.unweighted", lang)
    return {"title": title, "subtitle": subtitle, "respondents": who, "weighting": weighting}


def scope_text(meta, *, lang="en"):
    """One sentence: who is in the tables and how they are weighted."""
    return t("tabs.txt.scope", lang, who=md_escape(meta["respondents"]), weighting=md_escape(meta["weighting"]))


# --------------------------------------------------------------------------------------------
# the Excel book
# --------------------------------------------------------------------------------------------
_LOW = {"caution": " low", "no_test": " no_test"}


def _low(flag):
    return _LOW.get(flag, "")


def _blocks(book):
    """Per stub: (rows slice of cells arrays), arrays of cells and bases reshaped (rows x columns)."""
    C = len(book.columns)
    cells = book.cells
    arr = {c: cells[c].to_numpy() for c in ("value", "letters", "vs_total", "vs_previous", "base_flag")}
    b = book.bases
    barr = {c: b[c].to_numpy() for c in ("n", "weighted", "n_eff", "base_flag")}
    start = 0
    out = {}
    for si, stub in enumerate(book.spec.stubs):
        R = len(stub.rows)
        sl = slice(start * C, (start + R) * C)
        out[stub.question] = ({k: v[sl].reshape(R, C) for k, v in arr.items()},
                              {k: v[si * C:(si + 1) * C] for k, v in barr.items()})
        start += R
    return out


def _header(book, *, lang, codebook, with_prev):
    """The three header rows of every stub table: groups, columns, letters."""
    k = 3 if with_prev else 2
    h1, h2, h3 = [xlsx.Cell(None, style="group")], [xlsx.Cell(None, style="column")], [xlsx.Cell(None)]
    for g in book.spec.groups:
        text = None if g.variable is None else group_label(book, g.key, lang=lang, codebook=codebook)
        h1.append(xlsx.Cell(text, style="group", span=k * len(g.columns)))
        for c in g.columns:
            h2.append(xlsx.Cell(column_label(book, c.key, lang=lang, codebook=codebook), style="column", span=k))
            h3.append(xlsx.Cell(f"({c.letter})" if c.letter else None, style="letter", span=k))
    return (tuple(h1), tuple(h2), tuple(h3))


def _stub_table(book, stub, block, header, *, lang, codebook, with_prev):
    cells, bases = block
    cols = book.spec.columns
    k = 3 if with_prev else 2
    rows = []
    for key, fmt_key in (("n", "tabs.base.n"), ("weighted", "tabs.base.weighted"), ("n_eff", "tabs.base.n_eff")):
        if key != "n" and not book.settings["weighted"]:
            continue
        line = [xlsx.Cell(t(fmt_key, lang), style="base_label")]
        for j in range(len(cols)):
            line.append(xlsx.Cell(bases[key][j], fmt=_BASE_FMT, style="base" + _low(bases["base_flag"][j])))
            line += [None] * (k - 1)
        rows.append(tuple(line))
    for i, r in enumerate(stub.rows):
        line = [xlsx.Cell(row_label(stub, r, lang=lang, codebook=codebook), style="label")]
        fmt = _FMT.get(r.kind, "0.00")
        for j in range(len(cols)):
            vt = cells["vs_total"][i, j]
            style = "value" + _low(cells["base_flag"][i, j]) + (f" {vt}" if vt else "")
            line.append(xlsx.Cell(cells["value"][i, j], fmt=fmt, style=style))
            line.append(xlsx.Cell(cells["letters"][i, j] or None, style="letters"))
            if with_prev:
                vp = cells["vs_previous"][i, j]
                line.append(xlsx.Cell(_ARROW[vp] or None, style=f"flag {vp}".strip()))
        rows.append(tuple(line))
    title = f"{stub.question} – {stub_label(stub, lang=lang, codebook=codebook)}"
    return xlsx.Table(title, header=header, rows=tuple(rows),
                      note=t("tabs.table.note", lang), anchor=f"stub:{stub.question}")


def _widths(book, with_prev):
    k = 3 if with_prev else 2
    per = (9, 5, 3)[:k]
    return (46,) + per * len(book.columns)


def workbook_sheets(book, *, lang="en", codebook=None, title="", subtitle="", respondents="", weighting=""):
    """The book as :class:`workbench.xlsx.Sheet` objects: index, one sheet per stub group, notes."""
    with_prev = book.settings["previous"] is not None
    blocks = _blocks(book)
    stubs = {s.question: s for s in book.spec.stubs}
    group_sheets, names = [], [t("tabs.sheet.index", lang)]
    header = _header(book, lang=lang, codebook=codebook, with_prev=with_prev)
    for key, _, questions in book.spec.stub_groups:
        if not questions:
            continue
        name = xlsx.sheet_name(stub_group_label(key, lang=lang, codebook=codebook), names)
        names.append(name)
        tables = tuple(_stub_table(book, stubs[q], blocks[q], header, lang=lang, codebook=codebook,
                                   with_prev=with_prev)
                       for q in questions)
        group_sheets.append(xlsx.Sheet(name, title=stub_group_label(key, lang=lang, codebook=codebook),
                                       subtitle=title, tables=tables, widths=_widths(book, with_prev),
                                       freeze_columns=1))
    total = book.bases[book.bases["column"] == "total"].set_index("stub")["n"]
    head = (xlsx.Cell(t("tabs.index.sheet", lang), style="column"), xlsx.Cell(t("tabs.index.code", lang), style="column"),
            xlsx.Cell(t("tabs.index.question", lang), style="column"),
            xlsx.Cell(t("tabs.index.base", lang), style="column"))
    rows = []
    for sheet, (key, _, questions) in zip(group_sheets, [g for g in book.spec.stub_groups if g[2]]):
        for q in questions:
            rows.append((xlsx.Cell(sheet.name, style="text"), xlsx.Cell(q, style="text"),
                         xlsx.Cell(stub_label(q, lang=lang, codebook=codebook), style="text", link=f"@stub:{q}"),
                         xlsx.Cell(total.get(q), fmt=_BASE_FMT, style="value")))
    index = xlsx.Sheet(t("tabs.sheet.index", lang), title=title or t("tabs.title", lang), subtitle=subtitle,
                       tables=(xlsx.Table(t("tabs.index.go", lang), header=(head,), rows=tuple(rows)),),
                       widths=(28, 14, 70, 14), landscape=False)
    items = method_items(book, lang=lang, respondents=respondents, weighting=weighting)
    notes_sheet = xlsx.Sheet(t("tabs.sheet.notes", lang), title=t("tabs.notes.title", lang), subtitle=title,
                             tables=(xlsx.Table("", header=((xlsx.Cell(t("tabs.notes.item", lang), style="column"),
                                                             xlsx.Cell(t("tabs.notes.value", lang), style="column")),),
                                                rows=tuple((xlsx.Cell(k, style="key"), xlsx.Cell(v, style="text"))
                                                           for k, v in items)),),
                             widths=(34, 110), landscape=False)
    return [index] + group_sheets + [notes_sheet]


def write_book(book, path, *, lang="en", codebook=None, title="", subtitle="", respondents="", weighting=""):
    """Write the Excel tab book to ``path`` (atomically); return the path."""
    sheets = workbook_sheets(book, lang=lang, codebook=codebook, title=title, subtitle=subtitle,
                             respondents=respondents, weighting=weighting)
    return xlsx.write_workbook(path, sheets, properties={"title": title or t("tabs.title", lang),
                                                         "subject": t("tabs.title", lang),
                                                         "creator": "CX Workbench"})


def labelled_cells(book, *, lang="en", codebook=None) -> pd.DataFrame:
    """The book's cells as one tidy frame with labels in ``lang`` and the bases of each cell."""
    stubs = {s.question: s for s in book.spec.stubs}
    rows = {(s.question, r.key): r for s in book.spec.stubs for r in s.rows}
    col_lab = {k: column_label(book, k, lang=lang, codebook=codebook) for k in book.columns["column"]}
    grp = dict(zip(book.columns["column"], book.columns["group"]))
    cells = book.cells.merge(book.bases[["stub", "column", "n", "weighted", "n_eff"]], on=["stub", "column"])
    out = pd.DataFrame({
        "question": cells["stub"],
        "question_label": cells["stub"].map(lambda q: stub_label(q, lang=lang, codebook=codebook)),
        "row": cells["row"],
        "row_label": [row_label(stubs[q], rows[(q, r)], lang=lang, codebook=codebook)
                      for q, r in zip(cells["stub"], cells["row"])],
        "group": cells["column"].map(grp),
        "group_label": cells["column"].map(grp).map(lambda g: group_label(book, g, lang=lang, codebook=codebook)),
        "column": cells["column"],
        "column_label": cells["column"].map(col_lab),
    })
    for c in ("value", "previous", "letters", "vs_total", "vs_previous", "base_flag", "n", "weighted", "n_eff"):
        out[c] = cells[c].to_numpy()
    return out


def write_cells(book, path, *, lang="en", codebook=None):
    """Write :func:`labelled_cells` as a UTF-8 CSV, text cells made safe to open in a spreadsheet
    (:func:`workbench.xlsx.neutralise_frame`); return the path."""
    from ..io import atomic_write_frame

    frame = xlsx.neutralise_frame(labelled_cells(book, lang=lang, codebook=codebook))
    return atomic_write_frame(frame, path)


# --------------------------------------------------------------------------------------------
# the PDF guide
# --------------------------------------------------------------------------------------------
def _n(x):
    return fmt_num(float(x), 0)


def deliverable_text(book, *, file, lang="en"):
    """The paragraph naming the Excel deliverable and what is in it."""
    n_sheets = 2 + sum(1 for g in book.spec.stub_groups if g[2])
    return (t("tabs.txt.deliverable", lang, file=md_escape(file), n_stubs=len(book.spec.stubs),
              n_columns=len(book.columns), n_sheets=n_sheets) + " " + t("tabs.txt.pdf_scope", lang))


def _has_nps(book) -> bool:
    return any(st.kind == "nps" for st in book.spec.stubs)


def key_findings(book, *, lang="en", codebook=None, files=None):
    """Bullets: size (the headline), Total base, tests, files."""
    out = []
    out.append(t("tabs.finding.size", lang, n_stubs=len(book.spec.stubs), n_columns=len(book.columns),
                 n_tests=_n(int(book.tests["p_val"].notna().sum()))))
    cbases = book.column_bases.set_index("column")
    out.append(t("tabs.finding.base", lang, n=_n(cbases.loc["total", "n"]), n_eff=_n(cbases.loc["total", "n_eff"])))
    prop, mean, adjust, _ = test_names(book, lang=lang)
    out.append(t("tabs.finding.tests" if _has_nps(book) else "tabs.finding.tests_no_nps", lang,
                 prop=prop, mean=mean, adjust=adjust))
    if files:  # last: a file pointer is not a headline
        out.append(t("tabs.finding.files", lang, file=md_escape(files["xlsx"]), csv=md_escape(files["csv"])))
    return out


def read_bullets(book, *, lang="en"):
    """How to read a table of the book."""
    s = book.settings
    prop, _, _, level = test_names(book, lang=lang)
    short = t("tabs.test.short_pooled" if s["proportions_test"] == "pooled" else "tabs.test.short_design", lang)
    out = [t("tabs.read.columns", lang), t("tabs.read.bases", lang), t("tabs.read.letters", lang, test=short, level=level)]
    if s["vs_total"]:
        out.append(t("tabs.read.total", lang))
    if s["previous"] is not None:
        out.append(t("tabs.read.previous", lang, wave=s["previous"]))
    out.append(t("tabs.read.lowbase", lang, caution=f"{s['caution']:g}", min_test=f"{s['min_test']:g}"))
    if any(c.net for c in book.spec.columns) or any(r.kind == "net" for st in book.spec.stubs for r in st.rows):
        out.append(t("tabs.read.nets", lang))
    return out


def banner_table(book, *, lang="en", codebook=None):
    """``report.table`` arguments: the banner's columns with their letters and bases."""
    cb = book.column_bases
    frame = pd.DataFrame({
        "group": [group_label(book, g, lang=lang, codebook=codebook) for g in book.columns["group"]],
        "column": [column_label(book, k, lang=lang, codebook=codebook) for k in book.columns["column"]],
        "letter": book.columns["letter"].to_numpy(),
        "n": cb["n"].to_numpy(),
    })
    labels = {"group": t("tabs.head.group", lang), "column": t("tabs.head.column", lang),
              "letter": t("tabs.head.letter", lang), "n": t("tabs.head.base", lang)}
    formats = {"n": "int"}
    if book.settings["weighted"]:
        frame["n_eff"] = cb["n_eff"].to_numpy()
        labels["n_eff"] = t("tabs.head.n_eff", lang)
        formats["n_eff"] = "int"
    return {"df": frame, "labels": labels, "formats": formats, "caption": t("tabs.banner.caption" if book.settings.get("current") is not None
                                                   else "tabs.banner.caption_nowave", lang)}


#: Rows a headline table shows, per stub kind.
_HEADLINE_ROWS = {"nps": ("nps", "promoters", "detractors"), "scale": ("top_box", "mean"), "numeric": ("mean",)}


def headline_stubs(book, headline=None):
    """The questions of the headline tables: ``headline`` (those in the book), else the NPS and
    rating questions outside the constructs (at most three), else the first three rating questions."""
    stubs = [s for s in book.spec.stubs]
    names = [s.question for s in stubs]
    if headline:
        return [q for q in headline if q in names]
    first = [s.question for s in stubs if s.kind in ("nps", "scale", "numeric") and s.group == "questions"]
    if not first:
        first = [s.question for s in stubs if s.kind in ("nps", "scale", "numeric")]
    return first[:3]


def headline_table(book, question, *, lang="en", codebook=None):
    """``report.table`` arguments: one headline question by banner column (columns down the page),
    each value with its letters, ▲/▼ against the previous wave and ``*`` for a low base."""
    stub = book.stub(question)
    keys = _HEADLINE_ROWS.get(stub.kind) or tuple(r.key for r in stub.rows if r.kind in ("level", "net"))[:6]
    rows = [r for r in stub.rows if r.key in keys]
    rows.sort(key=lambda r: keys.index(r.key))
    part = book.cells[book.cells["stub"] == question].set_index(["row", "column"])
    bases = book.bases[book.bases["stub"] == question].set_index("column")
    frame = pd.DataFrame({
        "group": [group_label(book, g, lang=lang, codebook=codebook) for g in book.columns["group"]],
        "column": [column_label(book, k, lang=lang, codebook=codebook) + (f" ({ltr})" if ltr else "")
                   for k, ltr in zip(book.columns["column"], book.columns["letter"])],
        "n": [bases.loc[k, "n"] for k in book.columns["column"]],
    })
    labels = {"group": t("tabs.head.group", lang), "column": t("tabs.head.column", lang),
              "n": t("tabs.head.base", lang)}
    sig, flags, formats = {}, {}, {"n": "int"}
    for r in rows:
        values, marks, lows = [], [], []
        for k in book.columns["column"]:
            c = part.loc[(r.key, k)]
            values.append(c["value"])
            marks.append((c["letters"] or "") + _ARROW[c["vs_previous"] or ""])
            lows.append("" if c["base_flag"] == "ok" else str(c["base_flag"]))
        frame[r.key] = pd.to_numeric(pd.Series(values, index=frame.index, dtype=object), errors="coerce")
        sig[r.key], flags[r.key] = marks, lows
        formats[r.key] = _VALUE_FORMAT.get(_FMT.get(r.kind, "0.00"), "num2")
        labels[r.key] = row_label(stub, r, lang=lang, codebook=codebook)
    s = book.settings
    _, _, _, level = test_names(book, lang=lang)
    legend = (t("tabs.head.legend", lang, level=level, wave=s["previous"]) if s["previous"] is not None
              else t("tabs.head.legend_nowave", lang, level=level))
    caption = t("tabs.head.caption", lang, question=stub_label(stub, lang=lang, codebook=codebook))
    return {"df": frame, "labels": labels, "formats": formats, "caption": caption, "note": legend,
            "sig": pd.DataFrame(sig, index=frame.index) if sig else None,
            "base_flags": pd.DataFrame(flags, index=frame.index) if any(any(v) for v in flags.values()) else None}


def method_items(book, *, lang="en", respondents="", weighting=""):
    """``[(item, setting)]`` of the notes sheet and the PDF's method table."""
    s = book.settings
    prop, mean, adjust, level = test_names(book, lang=lang)
    items = []
    if respondents:
        items.append((t("tabs.notes.respondents", lang), respondents))
    if weighting:
        items.append((t("tabs.notes.weight", lang), weighting))
    items += [
        (t("tabs.notes.proportions", lang), prop),
        (t("tabs.notes.means" if _has_nps(book) else "tabs.notes.means_no_nps", lang), mean),
        (t("tabs.notes.level", lang), f"{level} (α = {s['sig_level']:g})"),
        (t("tabs.notes.adjust", lang), adjust),
        (t("tabs.notes.family", lang), t("tabs.notes.family_text", lang)),
        (t("tabs.notes.letters", lang), t("tabs.notes.letters_text", lang)),
        (t("tabs.notes.total", lang), t("tabs.notes.total_text", lang) if s["vs_total"]
         else t("tabs.notes.total_off", lang)),
    ]
    if s["previous"] is not None:
        prev = t("tabs.notes.previous_text", lang, wave=s["previous"])
    elif s["compare_previous"]:
        prev = t("tabs.notes.previous_none", lang)
    else:
        prev = t("tabs.notes.previous_off", lang)
    items += [
        (t("tabs.notes.previous", lang), prev),
        (t("tabs.notes.lowbase", lang), t("tabs.notes.lowbase_text", lang, caution=f"{s['caution']:g}",
                                          min_test=f"{s['min_test']:g}")),
        (t("tabs.notes.bases", lang), t("tabs.notes.bases_text", lang)),
        (t("tabs.notes.design", lang), t("tabs.notes.design_text", lang, n=_n(s["design_n"]))),
        (t("tabs.notes.nets", lang), t("tabs.notes.nets_text", lang)),
        (t("tabs.notes.references", lang), t("tabs.notes.references_text", lang)),
    ]
    return items


def method_table(book, *, lang="en", respondents="", weighting=""):
    """``report.table`` arguments: the tests and settings of the book."""
    items = method_items(book, lang=lang, respondents=respondents, weighting=weighting)
    frame = pd.DataFrame({"item": [k for k, _ in items], "value": [v for _, v in items]})
    return {"df": frame, "labels": {"item": t("tabs.notes.item", lang), "value": t("tabs.notes.value", lang)}}


def notes(book, *, lang="en", codebook=None):
    """Notes for the report: no previous wave, low-base banner columns."""
    s = book.settings
    out = []
    if s["compare_previous"] and s["previous"] is None and s["current"] is not None:
        out.append(t("tabs.note.no_previous", lang, wave=s["current"]))
    cb = book.column_bases
    low = [column_label(book, k, lang=lang, codebook=codebook) for k, e in zip(cb["column"], cb["n_eff"])
           if e < s["caution"]]
    if low:
        out.append(t("tabs.note.low_columns", lang, columns=join_list(low, lang), min_test=f"{s['min_test']:g}"))
    return out
