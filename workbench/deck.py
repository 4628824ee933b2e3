"""The editable PowerPoint deck of a report, built from its :class:`~workbench.reportmodel.Report`.

A consultancy's client reads a deck, not a PDF: a title slide, an executive summary whose title
is the headline finding, then one slide per key finding with an *action title* (the finding
itself, not a label), the chart that carries it, the takeaways beside it and the base and
significance notes in the footer.  The PDF stays the technical appendix and the workbook holds
every number, so the deck does not show every block: small tables back the findings in an
appendix, long ones are trimmed with a pointer to the workbook.

**Charts are native where the chart is plain.**  A :class:`~workbench.reportmodel.Figure` whose
plot function attached its :class:`~workbench.reportmodel.Chart` data (bar, horizontal bar,
stacked bar, line, scatter) becomes a PowerPoint chart with its data embedded, so the client can
restyle it, change its colours or read the numbers; every other figure (bands, control limits,
error bars, waterfalls, path diagrams, multi-panel charts) is placed as its picture at its
aspect ratio.  Horizontal bar charts list their categories bottom first, as PowerPoint draws
them, so the embedded data is the chart's data as given.

**Text never overflows its frame.**  Each text is measured by estimate (characters × font size
against the frame's width, lines × leading against its height; CJK characters a full em,
Latin ones by class), the font shrinks to a floor, and what still does not fit is cut with an
ellipsis — the full text goes to the slide's notes.  Text from clients (labels, findings, data
values) is stripped of control characters, which PowerPoint files cannot hold.

**Language and brand.**  A Chinese deck sets a CJK font (``Noto Sans CJK SC``) as the east-asian
font of every run and paragraph.  ``template`` is a client ``.pptx`` whose masters and layouts
are used (layouts are chosen by their placeholder types, so any naming works; its own slides are
dropped); ``brand`` (the codebook's ``brand:`` block: palette, logo, font) colours the charts and
tables and puts the logo on the title slide.

Examples
--------
>>> from workbench.reportmodel import Report, Finding  # doctest: +SKIP
>>> build_deck(Report.load("run/.report-model.json"), Path("deck.pptx"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import functools
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pptx import Presentation
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import (XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION, XL_MARKER_STYLE,
                             XL_TICK_LABEL_POSITION)
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from .i18n import t
from .reportmodel import BASE_CAUTION, Chart, Figure, Finding, Note, Report, Section, Table

__all__ = ["build_deck", "action_title", "clean_text", "text_lines", "text_height", "fit_text", "DeckBrand", "CJK_FONT",
           "MAX_TABLE_ROWS", "MAX_SLIDES", "NATIVE_KINDS"]

#: East-asian font of Chinese decks.
CJK_FONT = "Noto Sans CJK SC"
#: Latin font when neither the brand nor a template names one.
LATIN_FONT = "Arial"
#: Rows of a table on one slide; longer tables are trimmed with a pointer to the workbook.
MAX_TABLE_ROWS = 12
#: Slides of a deck before appendix tables give way to a list of the tables in the workbook.
MAX_SLIDES = 25
#: Chart kinds drawn as native PowerPoint charts.
NATIVE_KINDS = ("bar", "barh", "stacked_barh", "line", "scatter")

_SLIDE_W, _SLIDE_H = 13.333, 7.5  # 16:9 in inches
_MARGIN = 0.5
_INK = RGBColor(0x1F, 0x2A, 0x36)
_MUTED = RGBColor(0x6B, 0x77, 0x85)
_RULE = RGBColor(0xD5, 0xDB, 0xE1)
_BAND = RGBColor(0xF3, 0xF5, 0xF7)
_LINE = 1.2  # leading: line height / font size
_PAD = 0.1  # inner margin of a text frame (left/right), inches
_PAD_V = 0.05


# --------------------------------------------------------------------------------------------
# brand
# --------------------------------------------------------------------------------------------
@dataclass
class DeckBrand:
    """What the deck takes of a brand: chart and table colours, a logo file and a font."""

    palette: list[str] = field(default_factory=list)
    logo: Path | None = None
    font: str | None = None

    @classmethod
    def of(cls, brand) -> DeckBrand:
        """A :class:`DeckBrand` from ``None``, a mapping, a codebook's ``brand`` block or a
        :class:`~workbench.codebook.Codebook` (whose logo path is resolved in its folder)."""
        if brand is None:
            return cls()
        if isinstance(brand, DeckBrand):
            return brand
        logo = None
        if hasattr(brand, "brand_logo_path") and hasattr(brand, "brand"):  # a Codebook
            logo = brand.brand_logo_path()
            brand = brand.brand
            if brand is None:
                return cls()
        get = brand.get if isinstance(brand, dict) else (lambda k, d=None: getattr(brand, k, d))
        if logo is None and get("logo"):
            logo = Path(str(get("logo")))
        palette = [str(c) for c in (get("palette") or []) if _HEX.fullmatch(str(c))]
        return cls(palette=palette, logo=logo, font=get("font") or None)


_HEX = re.compile(r"#?[0-9A-Fa-f]{6}")


def _integer_format(fmt: str) -> str:
    """``fmt`` without decimals (axis ticks of values of 10 and more)."""
    return re.sub(r"0\.0+", "0", fmt)


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#").upper())


#: The house palette of :mod:`workbench.plots` (kept equal by a test; importing the plots package
#: would load matplotlib and seaborn into a process that only writes a deck).
HOUSE_PALETTE = ["#1f5f8b", "#e07b39", "#5b9e4d", "#8e6bb8", "#c9a227", "#4bacc6", "#9aa5b1", "#c0392b"]


def _house_palette() -> list[str]:
    return list(HOUSE_PALETTE)


# --------------------------------------------------------------------------------------------
# text: cleaning, measuring, fitting
# --------------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_MD_ESC = re.compile(r"\\([\\`*_\[\]<>|~#!&])")


def clean_text(text: Any) -> str:
    """``text`` as a string a slide can hold: control characters (and lone surrogates) removed,
    tabs and carriage returns as spaces, ``None`` as ``""``."""
    if text is None:
        return ""
    s = str(text).replace("\r\n", "\n").replace("\r", " ").replace("\t", " ")
    return _CONTROL.sub("", s)


def _md_runs(text: str) -> list[tuple[str, bool]]:
    """Markdown ``**bold**`` split into ``(text, bold)`` runs, backslash escapes undone."""
    out: list[tuple[str, bool]] = []
    parts = re.split(r"(?<!\\)\*\*", clean_text(text))
    for i, part in enumerate(parts):
        part = _MD_ESC.sub(r"\1", part)
        if part:
            out.append((part, i % 2 == 1 and i < len(parts) - 1))
    return out


def _plain(text: str) -> str:
    return "".join(p for p, _ in _md_runs(text))


#: Set while a Chinese deck is built: every run there carries the CJK font, so LibreOffice sets
#: each line at that font's height and draws ambiguous-width symbols (◀ ± × ·) from it.
_CJK_DECK: contextvars.ContextVar[bool] = contextvars.ContextVar("cjk_deck", default=False)


@functools.lru_cache(maxsize=8192)
def _em(ch: str, cjk_deck: bool = False) -> float:
    """Width of a character in ems (Arial's metrics by class, a little generous; CJK full width;
    in a Chinese deck, ambiguous-width symbols full width too)."""
    width = unicodedata.east_asian_width(ch)
    if width in ("W", "F") or (cjk_deck and width == "A" and not ch.isalnum()):
        return 1.0
    if ch in "%@MWmw—▲▼":
        return 0.95
    if ch in " .,;:'|!ijlftI()[]-/":
        return 0.3
    if ch.isupper():
        return 0.72
    if ch.isdigit():
        return 0.56
    return 0.53


def _ems(text: str) -> float:
    """Width of ``text`` in ems, with the space added where Chinese and Latin text meet."""
    meets = sum(1 for a, b in zip(text, text[1:]) if not a.isspace() and not b.isspace() and _is_cjk(a) != _is_cjk(b))
    cjk_deck = _CJK_DECK.get()
    return sum(_em(ch, cjk_deck) for ch in text) + _AUTOSPACE * meets


def _tokens(text: str) -> list[str]:
    """Break opportunities: words with their trailing space, and each CJK character."""
    return re.findall(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+\s*|\s+",
                      text)


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


#: Space a renderer adds where Chinese and Latin text meet (LibreOffice's autospacing), in ems.
_AUTOSPACE = 0.25


def text_lines(text: str, size_pt: float, width_in: float, *, bold: bool = False) -> int:
    """Lines ``text`` takes at ``size_pt`` in a frame ``width_in`` wide (inner margins included)."""
    avail = max((width_in - 2 * _PAD) * 72.0, 1.0)
    factor = size_pt * (1.07 if bold else 1.0)
    lines = 0
    for para in clean_text(text).split("\n"):
        lines += 1
        used = 0.0
        prev = ""
        for tok in _tokens(para):
            w = _ems(tok) * factor
            w_vis = _ems(tok.rstrip()) * factor
            if used and prev and not tok[0].isspace() and _is_cjk(prev) != _is_cjk(tok[0]):
                w += _AUTOSPACE * factor
                w_vis += _AUTOSPACE * factor
            if used and used + w_vis > avail:
                lines += 1
                used = 0.0
            while w_vis > avail:  # a token longer than the line breaks anywhere
                lines += 1
                w_vis -= avail
                w -= avail
            used += w
            prev = tok.rstrip()[-1:] or ""
    return lines


def text_height(paragraphs: list[str], size_pt: float, width_in: float, *, bold: bool = False,
                space_pt: float = 0.0) -> float:
    """Height in inches of ``paragraphs`` at ``size_pt`` in a frame ``width_in`` wide, with
    ``space_pt`` before each paragraph after the first and the frame's inner margins."""
    lines = sum(text_lines(p, size_pt, width_in, bold=bold) * _line_factor(p) for p in paragraphs)
    gaps = max(len(paragraphs) - 1, 0) * space_pt
    return (lines * size_pt + gaps) / 72.0 + 2 * _PAD_V


#: Line height of a line holding Chinese: the CJK font's ascent and descent (Noto Sans CJK:
#: 1.16 + 0.29 em) set the line, taller than Arial's 1.2.
_LINE_CJK = 1.45


def _line_factor(text: str) -> float:
    """Line height / font size of a paragraph: taller when it holds Chinese, and every line of a
    Chinese deck (its runs carry the CJK font, which LibreOffice lets set the line)."""
    return _LINE_CJK if _CJK_DECK.get() or any(_is_cjk(ch) for ch in str(text)) else _LINE


@dataclass
class Fitted:
    """Paragraphs fitted to a frame: the size, the paragraphs shown, and the full text of what
    was cut (for the slide's notes)."""

    size: float
    paragraphs: list[str]
    cut: list[str]


def _truncate(text: str, fits) -> str:
    """The longest prefix of ``text`` + ``…`` for which ``fits`` holds (at word ends if possible)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[:mid].rstrip() + "…"):
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > 0.6 * lo:  # end at a word, not inside one
        cut = cut[:space]
    # never end inside a **bold** pair
    if cut.count("**") % 2:
        cut = cut[:cut.rfind("**")]
    return cut.rstrip(" ,;:·") + "…" if cut.strip() else "…"


def fit_text(paragraphs: list[str], width_in: float, height_in: float, *, max_size: float, min_size: float,
             bold: bool = False, space_pt: float = 0.0, indent_in: float = 0.0) -> Fitted:
    """The largest size from ``max_size`` down to ``min_size`` at which ``paragraphs`` fit the
    frame; at the floor, the paragraphs that fit, the last one cut with an ellipsis."""
    paragraphs = [clean_text(p) for p in paragraphs if clean_text(p).strip()]
    width = width_in - indent_in

    def height(ps, size):
        return text_height([_plain(p) for p in ps], size, width, bold=bold, space_pt=space_pt * size / max_size)

    size = max_size
    while size >= min_size:
        if height(paragraphs, size) <= height_in:
            return Fitted(size, paragraphs, [])
        size -= 1 if size > 12 else 0.5
    size = min_size
    shown: list[str] = []
    for i, p in enumerate(paragraphs):
        if height(shown + [p], size) <= height_in:
            shown.append(p)
            continue
        if height(shown + ["…"], size) <= height_in:
            shown.append(_truncate(p, lambda s: height(shown + [s], size) <= height_in))
        return Fitted(size, shown, paragraphs[i:])
    return Fitted(size, shown, [])


# --------------------------------------------------------------------------------------------
# writing text into shapes
# --------------------------------------------------------------------------------------------
_AFTER_EA = ("a:cs", "a:sym", "a:hlinkClick", "a:hlinkMouseOver", "a:rtl", "a:extLst")


def _set_ea(rpr, font: str) -> None:
    """Set the east-asian font of a run-properties element (``a:rPr``, ``a:defRPr``, ``a:endParaRPr``)."""
    for old in rpr.findall(qn("a:ea")):
        rpr.remove(old)
    ea = rpr.makeelement(qn("a:ea"), {"typeface": font})
    latin = rpr.find(qn("a:latin"))
    if latin is not None:
        latin.addnext(ea)
        return
    for tag in _AFTER_EA:
        nxt = rpr.find(qn(tag))
        if nxt is not None:
            nxt.addprevious(ea)
            return
    rpr.append(ea)


@dataclass
class _Style:
    lang: str
    latin: str | None  # None: the template's theme font
    palette: list[str]

    @property
    def ea(self) -> str | None:
        return CJK_FONT if self.lang == "zh" else None

    def font(self, font, size=None, bold=None, colour=None) -> None:
        if size is not None:
            font.size = Pt(size)
        if bold is not None:
            font.bold = bold
        if colour is not None:
            font.color.rgb = colour
        if self.latin:
            font.name = self.latin
        if self.ea:
            _set_ea(font._rPr, self.ea)

    @property
    def primary(self) -> RGBColor:
        return _rgb(self.palette[0])


def _end_para(p, style: _Style, size: float) -> None:
    end = p._p.get_or_add_endParaRPr()
    end.set("sz", str(int(round(size * 100))))
    if style.ea:
        _set_ea(end, style.ea)


def _bullet(p, indent_in: float) -> None:
    ppr = p._p.get_or_add_pPr()
    ppr.set("marL", str(int(Inches(indent_in))))
    ppr.set("indent", str(-int(Inches(indent_in))))
    for tag in ("a:buNone", "a:buChar", "a:buFont", "a:buAutoNum"):
        for old in ppr.findall(qn(tag)):
            ppr.remove(old)
    bufont = ppr.makeelement(qn("a:buFont"), {"typeface": "Arial"})
    buchar = ppr.makeelement(qn("a:buChar"), {"char": "•"})
    anchor = None
    for tag in ("a:tabLst", "a:defRPr", "a:extLst"):
        anchor = ppr.find(qn(tag))
        if anchor is not None:
            break
    if anchor is not None:
        anchor.addprevious(bufont)
        anchor.addprevious(buchar)
    else:
        ppr.append(bufont)
        ppr.append(buchar)


def _no_bullet(p) -> None:
    ppr = p._p.get_or_add_pPr()
    ppr.set("marL", "0")
    ppr.set("indent", "0")
    if ppr.find(qn("a:buNone")) is None:
        el = ppr.makeelement(qn("a:buNone"), {})
        anchor = next((ppr.find(qn(x)) for x in ("a:tabLst", "a:defRPr", "a:extLst") if ppr.find(qn(x)) is not None),
                      None)
        if anchor is not None:
            anchor.addprevious(el)
        else:
            ppr.append(el)


def _write(frame, paragraphs: list[str], style: _Style, size: float, *, bold: bool = False,
           colour: RGBColor | None = None, bullets: bool = False, indent_in: float = 0.22,
           space_pt: float = 0.0, align=None, anchor=MSO_ANCHOR.TOP, markdown: bool = True) -> None:
    """Replace the text of ``frame`` with ``paragraphs`` (Markdown bold as bold runs)."""
    frame.clear()
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.margin_left = frame.margin_right = Inches(_PAD)
    frame.margin_top = frame.margin_bottom = Inches(_PAD_V)
    frame.vertical_anchor = anchor
    for i, text in enumerate(paragraphs or [""]):
        p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        if i and space_pt:
            p.space_before = Pt(space_pt)
        p.line_spacing = _LINE * 0.83  # PowerPoint's single spacing is ~1.2 × size already
        if bullets:
            _bullet(p, indent_in)
        else:
            _no_bullet(p)
        if align is not None:
            p.alignment = align
        runs = _md_runs(text) if markdown else [(clean_text(text), False)]
        for part, strong in runs or [("", False)]:
            r = p.add_run()
            r.text = part
            style.font(r.font, size, bold or strong, colour)
        _end_para(p, style, size)


def _textbox(slide, x, y, w, h, paragraphs, style, *, max_size, min_size, notes: list[str], bold=False,
             colour=None, bullets=False, space_pt=0.0, align=None, anchor=MSO_ANCHOR.TOP, name=None):
    """A text box fitted to its frame; what does not fit goes to ``notes``."""
    indent = 0.22 if bullets else 0.0
    fitted = fit_text(paragraphs, w, h, max_size=max_size, min_size=min_size, bold=bold, space_pt=space_pt,
                      indent_in=indent)
    box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
    if name:
        box.name = name
    _write(box.text_frame, fitted.paragraphs, style, fitted.size, bold=bold, colour=colour, bullets=bullets,
           indent_in=indent, space_pt=space_pt * fitted.size / max_size, align=align, anchor=anchor)
    _note_cut(notes, paragraphs, fitted)
    return box


def _note_cut(notes: list[str], paragraphs: list[str], fitted: Fitted) -> None:
    if fitted.cut or any(p.endswith("…") for p in fitted.paragraphs):
        notes.extend(_plain(p) for p in paragraphs if _plain(p).strip())


# --------------------------------------------------------------------------------------------
# templates and layouts
# --------------------------------------------------------------------------------------------
_FURNITURE = (PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER)
_TITLE_TYPES = (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)


def _ph_types(layout) -> list:
    out = []
    for ph in layout.placeholders:
        try:
            out.append(ph.placeholder_format.type)
        except ValueError:
            continue
    return out


@dataclass
class _Layouts:
    title: Any
    content: Any
    custom: bool


def _pick_layouts(prs, custom: bool) -> _Layouts:
    """The title-slide layout and a 'title only' layout, found by placeholder types and names."""
    layouts = [lay for master in prs.slide_masters for lay in master.slide_layouts]

    def content_score(lay):
        types = _ph_types(lay)
        has_title = any(tp in _TITLE_TYPES for tp in types)
        others = [tp for tp in types if tp not in _FURNITURE and tp not in _TITLE_TYPES]
        name = (lay.name or "").lower()
        return (0 if has_title else 1, len(others), 0 if "title only" in name else 1)

    def title_score(lay):
        types = _ph_types(lay)
        name = (lay.name or "").lower()
        return (0 if PP_PLACEHOLDER.CENTER_TITLE in types else 1,
                0 if PP_PLACEHOLDER.SUBTITLE in types else 1,
                0 if "title slide" in name or name == "title" else 1)

    content = min(layouts, key=content_score)
    title = min(layouts, key=title_score)
    return _Layouts(title=title, content=content, custom=custom)


def _open_template(path: Path):
    """The client's template, or :class:`~workbench.errors.ExportError` naming it (a missing
    file, a file that is not a PowerPoint presentation, one without slide layouts)."""
    from .errors import ExportError

    name = Path(path).name
    if not Path(path).is_file():
        raise ExportError(f"deck_template: {name} not found")
    try:
        prs = Presentation(str(path))
    except Exception as exc:  # noqa: BLE001 - zip, XML and package errors all mean "not a deck"
        raise ExportError(f"deck_template: {name} is not a PowerPoint presentation (.pptx/.potx): "
                          f"{type(exc).__name__}: {exc}") from None
    if not any(len(m.slide_layouts) for m in prs.slide_masters):
        raise ExportError(f"deck_template: {name} has no slide layouts")
    return prs


def _drop_slides(prs) -> None:
    """Remove the slides a template came with (its masters and layouts stay)."""
    ids = prs.slides._sldIdLst
    for sld in list(ids):
        prs.part.drop_rel(sld.rId)
        ids.remove(sld)


def _new_slide(prs, layout, *, keep=_TITLE_TYPES):
    """A slide of ``layout`` with its placeholders other than ``keep`` removed."""
    slide = prs.slides.add_slide(layout)
    for ph in list(slide.placeholders):
        try:
            tp = ph.placeholder_format.type
        except ValueError:
            tp = None
        if tp not in keep:
            ph._element.getparent().remove(ph._element)
    return slide


def _title_ph(slide):
    for ph in slide.placeholders:
        if ph.placeholder_format.type in _TITLE_TYPES:
            return ph
    return None


# --------------------------------------------------------------------------------------------
# the deck
# --------------------------------------------------------------------------------------------
def _column_widths(headers: list[str], rows: list[list[str]], w: float, h: float) -> tuple[list[float], float]:
    """Column widths (inches) and font size of a table in a ``w`` × ``h`` box: each column as wide
    as its longest cell (a long text column wraps beyond 3 inches), no narrower than its longest
    word; narrower columns and then a smaller font when the table does not fit."""
    cols = range(len(headers))
    size = 16.0 if len(rows) <= 6 else 14.0  # a short table reads at slide size
    while True:
        def inches(em, bold=False):
            return em * size * (1.07 if bold else 1.0) * 1.04 / 72 + 2 * _PAD + 0.03

        least = [max([inches(_ems(tok.strip()), True) for tok in _tokens(headers[j])] +
                     [inches(_ems(tok.strip())) for r in rows for tok in _tokens(r[j])] + [0.45]) for j in cols]
        # a header on one line up to 1.6 inches, on two beyond
        head = [min(inches(_ems(hd), True), max(1.6, inches(0.5 * _ems(hd), True))) for hd in headers]
        natural = [max(least[j], min(max([inches(_ems(r[j])) for r in rows] + [head[j]]), max(3.0, least[j])))
                   for j in cols]
        if sum(least) <= w:
            k = 1.0 if sum(natural) <= w else (w - sum(least)) / max(sum(natural) - sum(least), 1e-9)
            widths = [lo + (na - lo) * k for lo, na in zip(least, natural)]
        else:
            widths = [lo * w / sum(least) for lo in least]
        if sum(widths) < 0.6 * w:  # a small table is not squeezed into a corner
            widths = [v * 0.6 * w / sum(widths) for v in widths]
        height = (max([text_height([hd], size, cw, bold=True) for hd, cw in zip(headers, widths)] + [0.3]) +
                  sum(max([text_height([c], size, cw) for c, cw in zip(r, widths)] + [0.3]) for r in rows))
        if (height <= h and sum(least) <= w) or size <= 9:
            return widths, size
        size -= 0.5


class _Deck:
    def __init__(self, report: Report, template: Path | None, brand: DeckBrand):
        self.report = report
        self.lang = report.lang if report.lang in ("en", "zh") else "en"
        custom = template is not None
        self.prs = _open_template(template) if custom else Presentation()
        if custom:
            _drop_slides(self.prs)
        else:
            self.prs.slide_width, self.prs.slide_height = Inches(_SLIDE_W), Inches(_SLIDE_H)
        self.W = self.prs.slide_width / 914400
        self.H = self.prs.slide_height / 914400
        self.layouts = _pick_layouts(self.prs, custom)
        latin = brand.font or (None if custom else LATIN_FONT)
        self.style = _Style(self.lang, latin, brand.palette or _house_palette())
        self.brand = brand
        self._geometry()

    # ---- geometry -----------------------------------------------------------------------------
    def _geometry(self) -> None:
        """Title frame and content area: the template's title placeholder where it has one."""
        m = _MARGIN * self.W / _SLIDE_W
        self.title_box = (m, 0.3, self.W - 2 * m, 1.0)
        if self.layouts.custom:
            for ph in self.layouts.content.placeholders:
                if ph.placeholder_format.type in _TITLE_TYPES and ph.width and ph.height:
                    self.title_box = (ph.left / 914400, ph.top / 914400, ph.width / 914400, ph.height / 914400)
                    break
        tx, ty, tw, th = self.title_box
        self.left, self.width = tx, tw
        self.top = ty + th + 0.15
        # two lines of 8-point notes (Chinese lines are taller)
        self.footer_h = max(0.42, 2 * 8 * (_LINE_CJK if self.lang == "zh" else _LINE) / 72 + 2 * _PAD_V + 0.02)
        self.bottom = self.H - 0.2 - self.footer_h - 0.08

    # ---- slides -------------------------------------------------------------------------------
    def slide(self, title: str, *, notes: list[str] | None = None):
        """A content slide with its action title fitted to the title frame."""
        s = _new_slide(self.prs, self.layouts.content)
        notes = notes if notes is not None else []
        x, y, w, h = self.title_box
        ph = _title_ph(s)
        if ph is None:
            ph = s.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        elif not self.layouts.custom:
            ph.left, ph.top, ph.width, ph.height = Inches(x), Inches(y), Inches(w), Inches(h)
        fitted = fit_text([_plain(title)], w, h, max_size=26, min_size=17, bold=True)
        colour = None if self.layouts.custom else _INK
        _write(ph.text_frame, fitted.paragraphs, self.style, fitted.size, bold=True, colour=colour,
               anchor=MSO_ANCHOR.BOTTOM if not self.layouts.custom else MSO_ANCHOR.MIDDLE, markdown=False,
               align=None if self.layouts.custom else PP_ALIGN.LEFT)
        _note_cut(notes, [title], fitted)
        if not self.layouts.custom:
            line = s.shapes.add_connector(1, Inches(x + _PAD), Inches(y + h + 0.05), Inches(x + w - _PAD),
                                          Inches(y + h + 0.05))
            line.line.color.rgb = self.style.primary
            line.line.width = Pt(1.5)
        s._cx_notes = notes
        return s

    def footer(self, s, parts: list[str]) -> None:
        parts = [clean_text(p).strip() for p in parts if p and clean_text(p).strip()]
        if not parts:
            return
        text = " · ".join(dict.fromkeys(parts))
        _textbox(s, self.left, self.H - 0.2 - self.footer_h, self.width, self.footer_h, [text], self.style,
                 max_size=10, min_size=8, notes=s._cx_notes, colour=_MUTED, anchor=MSO_ANCHOR.BOTTOM,
                 name="Footer notes")

    def finish_notes(self, s, extra: list[str] = ()) -> None:
        lines = list(extra)
        if s._cx_notes:
            lines = [t("deck.full_text", self.lang)] + list(dict.fromkeys(s._cx_notes)) + lines
        lines = [clean_text(x) for x in lines if x and clean_text(x).strip()]
        if not lines:
            return
        frame = s.notes_slide.notes_text_frame
        frame.clear()
        for i, line in enumerate(lines):
            p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            r = p.add_run()
            r.text = line
            self.style.font(r.font)

    # ---- title slide ---------------------------------------------------------------------------
    def title_slide(self) -> None:
        meta = self.report.meta
        title = clean_text(meta.get("title") or meta.get("study") or "")
        lines = []
        study = clean_text(meta.get("study") or "")
        if study and study != title:
            lines.append(study)
        if meta.get("client"):
            lines.append(t("deck.prepared_for", self.lang, client=clean_text(meta["client"])))
        if meta.get("period"):
            lines.append(f"{t('cover.period', self.lang)}: {clean_text(meta['period'])}")
        date = clean_text(meta.get("report_date") or "") or _dt.date.today().isoformat()
        lines.append(f"{t('cover.date', self.lang)}: {date}")
        keep = _TITLE_TYPES + (PP_PLACEHOLDER.SUBTITLE,)
        s = _new_slide(self.prs, self.layouts.title, keep=keep)
        notes: list[str] = []
        s._cx_notes = notes
        ph_title = _title_ph(s)
        ph_sub = next((p for p in s.placeholders if p.placeholder_format.type == PP_PLACEHOLDER.SUBTITLE), None)
        W, H = self.W, self.H
        if not self.layouts.custom:
            band = s.shapes.add_shape(1, 0, 0, Inches(0.28), self.prs.slide_height)
            band.fill.solid()
            band.fill.fore_color.rgb = self.style.primary
            band.line.fill.background()
            band.shadow.inherit = False
            tb = (0.9, 2.0, W - 1.8, 1.9)
            sb = (0.9, 4.05, W - 1.8, 1.7)
        else:
            tb = ((ph_title.left / 914400, ph_title.top / 914400, ph_title.width / 914400, ph_title.height / 914400)
                  if ph_title is not None else (0.9, 2.0, W - 1.8, 1.9))
            sb = ((ph_sub.left / 914400, ph_sub.top / 914400, ph_sub.width / 914400, ph_sub.height / 914400)
                  if ph_sub is not None else (tb[0], tb[1] + tb[3] + 0.1, tb[2], 1.5))
        for ph, box, parts, big, small, bold in ((ph_title, tb, [title], 36, 22, True),
                                                 (ph_sub, sb, lines, 18, 11, False)):
            if ph is None:
                ph = s.shapes.add_textbox(*(Inches(v) for v in box))
            elif not self.layouts.custom:
                ph.left, ph.top, ph.width, ph.height = (Inches(v) for v in box)
            fitted = fit_text(parts, box[2], box[3], max_size=big, min_size=small, bold=bold, space_pt=4)
            colour = None if self.layouts.custom else (_INK if bold else _MUTED)
            _write(ph.text_frame, fitted.paragraphs, self.style, fitted.size, bold=bold, colour=colour,
                   space_pt=4, align=PP_ALIGN.LEFT if not self.layouts.custom else None,
                   anchor=MSO_ANCHOR.BOTTOM if bold else MSO_ANCHOR.TOP, markdown=False)
            _note_cut(notes, parts, fitted)
        self.logo(s)
        self.finish_notes(s)

    def logo(self, s) -> None:
        path = self.brand.logo
        if not path:
            return
        try:
            from PIL import Image

            data = Path(path).read_bytes()
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
            with Image.open(io.BytesIO(data)) as im:
                w_px, h_px = im.size
        except Exception:  # noqa: BLE001 - a logo that cannot be read leaves the title slide without one
            return
        box_w, box_h = 2.2, 0.9
        scale = min(box_w / w_px, box_h / h_px)
        w, h = w_px * scale, h_px * scale
        s.shapes.add_picture(io.BytesIO(data), Inches(self.W - 0.5 - w), Inches(0.45), Inches(w), Inches(h))

    # ---- content ------------------------------------------------------------------------------
    def bullets_slide(self, title: str, items: list[str], *, footer: list[str] = (), extra_notes=(),
                      part: str | None = None, min_size: float = 13) -> None:
        """Findings as bullets; items that do not fit continue on the next slide (titled
        ``part (continued)`` when a part name is given, else the title continued)."""
        items = [i for i in items if clean_text(i).strip()]
        title, more = split_title(title, self.title_box[2])
        items = ([more] if more else []) + items
        h = self.bottom - self.top
        trial = fit_text(items, self.width, h, max_size=18, min_size=min_size, space_pt=9, indent_in=0.22)
        if 0 < len(trial.cut) <= 2 and len(items) > 4:
            # a last item or two would make a near-empty slide: smaller type keeps them on this one
            smaller = fit_text(items, self.width, h, max_size=18, min_size=max(min_size - 2, 10), space_pt=9,
                               indent_in=0.22)
            if not smaller.cut:
                min_size = smaller.size
        first = True
        while first or items:
            s = self.slide(title if first else t("deck.continued", self.lang, title=_plain(part or title)))
            h = self.bottom - self.top
            fitted = fit_text(items, self.width, h, max_size=18, min_size=min_size, space_pt=9, indent_in=0.22)
            shown = fitted.paragraphs
            rest = fitted.cut
            if rest and shown and shown[-1].endswith("…"):  # cut item moves whole to the next slide
                shown = shown[:-1]
            if not shown and items:  # one item alone longer than a slide: shown cut, in full in the notes
                shown, rest = fitted.paragraphs[:1], items[1:]
                s._cx_notes.append(_plain(items[0]))
            box = s.shapes.add_textbox(Inches(self.left), Inches(self.top), Inches(self.width), Inches(h))
            _write(box.text_frame, shown, self.style, fitted.size, bullets=True, space_pt=9 * fitted.size / 18,
                   colour=_INK)
            self.footer(s, list(footer))
            self.finish_notes(s, extra_notes)
            items = rest if rest != items else items[1:]
            first = False

    def visual_slide(self, title: str, visual, *, takeaways: list[str] = (), footer: list[str] = (),
                     extra_notes=()) -> None:
        """A chart, picture or table with its takeaways in a panel at the right."""
        title, more = split_title(title, self.title_box[2])
        s = self.slide(title)
        takeaways = ([more] if more else []) + [x for x in takeaways if clean_text(x).strip()][:4]
        x, y, w, h = self.left, self.top, self.width, self.bottom - self.top
        if takeaways:
            panel_w = min(4.2, 0.33 * w)
            vis_w = w - panel_w - 0.25
            px = x + vis_w + 0.25
            bg = s.shapes.add_shape(1, Inches(px), Inches(y), Inches(panel_w), Inches(h))
            bg.fill.solid()
            bg.fill.fore_color.rgb = _BAND
            bg.line.fill.background()
            bg.shadow.inherit = False
            bg.name = "Takeaways panel"
            _textbox(s, px + 0.1, y + 0.1, panel_w - 0.2, h - 0.2, takeaways, self.style, max_size=14, min_size=10,
                     notes=s._cx_notes, bullets=True, space_pt=8, colour=_INK, name="Takeaways")
        else:
            vis_w = w
        foot = list(footer)
        if isinstance(visual, Figure):
            foot = self.figure(s, visual, x, y, vis_w, h) + foot
        elif isinstance(visual, Table):
            foot = self.table(s, visual, x, y, vis_w, h) + foot
        self.footer(s, foot)
        self.finish_notes(s, extra_notes)

    # ---- figures ------------------------------------------------------------------------------
    def figure(self, s, fig: Figure, x, y, w, h) -> list[str]:
        """Draw ``fig`` in the box: native chart when it has chart data, else its picture.
        Returns footer parts (the chart's base line and notes)."""
        chart = fig.chart
        if chart is not None and chart.kind in NATIVE_KINDS and chart.series:
            try:
                self.native_chart(s, chart, fig.alt, x, y, w, h)
                note = getattr(chart, "note", None)
                return [note] if note else []
            except (ValueError, TypeError, KeyError):  # data python-pptx cannot chart: the picture instead
                pass
        self.picture(s, fig, x, y, w, h)
        return []

    def picture(self, s, fig: Figure, x, y, w, h) -> None:
        ratio = (fig.width_in / fig.height_in) if fig.width_in and fig.height_in else 16 / 9
        pw, ph = (w, w / ratio) if w / ratio <= h else (h * ratio, h)
        pic = s.shapes.add_picture(io.BytesIO(fig.png), Inches(x + (w - pw) / 2), Inches(y + (h - ph) / 2),
                                   Inches(pw), Inches(ph))
        pic._element.nvPicPr.cNvPr.set("descr", clean_text(fig.alt))
        pic.name = "Chart picture"

    def native_chart(self, s, chart: Chart, alt: str, x, y, w, h) -> None:
        kind = chart.kind
        fmt = chart.number_format or "General"
        if kind == "scatter":
            data = XyChartData()
            for ser in chart.series:
                xs = ser.x if ser.x is not None else list(range(1, len(ser.values) + 1))
                sd = data.add_series(clean_text(ser.name) or " ", number_format=fmt)
                for xv, yv in zip(xs, ser.values):
                    if xv is not None and yv is not None:
                        sd.add_data_point(float(xv), float(yv))
            ctype = XL_CHART_TYPE.XY_SCATTER
        else:
            # horizontal bars: the categories come bottom first, as PowerPoint draws them (and as
            # the plot functions attach them), so the embedded data is the chart's data as given
            data = CategoryChartData(number_format=fmt)
            data.categories = [clean_text(c) or " " for c in chart.categories]
            for ser in chart.series:
                data.add_series(clean_text(ser.name) or " ", list(ser.values))
            ctype = {"bar": XL_CHART_TYPE.COLUMN_CLUSTERED, "barh": XL_CHART_TYPE.BAR_CLUSTERED,
                     "stacked_barh": XL_CHART_TYPE.BAR_STACKED, "line": XL_CHART_TYPE.LINE_MARKERS}[kind]
        gf = s.shapes.add_chart(ctype, Inches(x), Inches(y), Inches(w), Inches(h), data)
        gf.name = "Chart"
        gf._element.nvGraphicFramePr.cNvPr.set("descr", clean_text(alt))
        ch = gf.chart
        style = self.style
        style.font(ch.font, 12, colour=_INK)
        multi = len(chart.series) > 1
        ch.has_title = False  # the slide's action title says what the chart shows
        ch.has_legend = multi
        if multi:
            ch.legend.position = XL_LEGEND_POSITION.BOTTOM
            ch.legend.include_in_layout = False
            style.font(ch.legend.font, 11)
        plot = ch.plots[0]
        if kind != "scatter":
            plot.vary_by_categories = False
        if kind in ("bar", "barh", "stacked_barh"):
            plot.gap_width = 60 if kind != "bar" else 80
            if kind == "stacked_barh":
                plot.overlap = 100
        palette = style.palette
        for i, ser in enumerate(plot.series):
            colour = getattr(chart.series[i], "color", None)  # the colour the report draws the group in
            colour = colour if colour and _HEX.fullmatch(str(colour)) else palette[i % len(palette)]
            rgb = _rgb(colour)
            if kind in ("line", "scatter"):
                ser.format.line.color.rgb = rgb
                ser.format.line.width = Pt(2.25 if kind == "line" else 0.75)
                if kind == "scatter":
                    ser.format.line.fill.background()
                dense = kind == "line" and len(chart.categories) > 12  # a curve: no marker at each point
                ser.marker.style = XL_MARKER_STYLE.NONE if dense else XL_MARKER_STYLE.CIRCLE
                ser.marker.size = 7
                ser.marker.format.fill.solid()
                ser.marker.format.fill.fore_color.rgb = rgb
                ser.marker.format.line.color.rgb = rgb
                ser.smooth = False
            else:
                ser.format.fill.solid()
                ser.format.fill.fore_color.rgb = rgb
        points = max((len(se.values) for se in chart.series), default=0)
        labels = ((kind in ("bar", "barh") and len(chart.series) <= 3 and points * len(chart.series) <= 24)
                  or (kind == "stacked_barh" and points <= 12)
                  or (kind == "line" and len(chart.series) <= 2 and points <= 14))
        if kind == "scatter" and len(chart.series) > 1 and all(len(se.values) == 1 for se in chart.series):
            # one point per series (drivers on a matrix): each point named, as in the picture
            xs = [float(se.x[0]) if se.x is not None else 1.0 for se in chart.series]
            mid = (min(xs) + max(xs)) / 2
            for ser, xv in zip(plot.series, xs):
                dl = ser.points[0].data_label
                dl.has_text_frame = False
                # a name beside its point, towards the middle: the right-most names stay on the chart
                dl.position = XL_LABEL_POSITION.LEFT if xv > mid else XL_LABEL_POSITION.RIGHT
                style.font(dl.font, 11, colour=_INK)
                _label_shows_name(dl)
        if not labels and kind == "line":  # many lines: each labelled at its last value, as in the picture
            values = [v for se in chart.series for v in se.values if v is not None]
            near = 0.045 * ((max(values) - min(values)) if values else 1.0)
            placed: list[float] = []  # labels closer than that would print over each other
            for i, ser in enumerate(plot.series):
                vals = chart.series[i].values
                last = max((k for k, v in enumerate(vals) if v is not None), default=None)
                if last is None or (last == len(vals) - 1 and any(abs(vals[last] - p) < near for p in placed)):
                    continue
                if last == len(vals) - 1:
                    placed.append(vals[last])
                dl = ser.points[last].data_label
                dl.has_text_frame = False
                dl.show_value = True
                dl.number_format = fmt
                dl.number_format_is_linked = False
                dl.position = XL_LABEL_POSITION.RIGHT
                style.font(dl.font, 10, bold=True)
        if labels:
            plot.has_data_labels = True
            dl = plot.data_labels
            dl.number_format = fmt
            dl.number_format_is_linked = False
            dl.show_value = True
            inside = kind == "stacked_barh"  # labels on the bars' colour
            style.font(dl.font, 10 if len(chart.series) > 1 else 11,
                       colour=RGBColor(0xFF, 0xFF, 0xFF) if inside else _INK, bold=inside or None)
            if kind == "line":
                dl.position = XL_LABEL_POSITION.ABOVE
            elif kind in ("bar", "barh"):
                dl.position = XL_LABEL_POSITION.OUTSIDE_END
            else:
                dl.position = XL_LABEL_POSITION.CENTER
        value_axis = ch.value_axis
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = _RULE
        value_axis.format.line.fill.background()
        values = [abs(v) for se in chart.series for v in se.values if v is not None]
        value_axis.tick_labels.number_format = _integer_format(fmt) if values and max(values) >= 10 else fmt
        value_axis.tick_labels.number_format_is_linked = False
        signed = [v for se in chart.series for v in se.values if v is not None]
        if fmt.endswith("%") and kind != "stacked_barh" and signed and 0 <= min(signed) and max(signed) <= 1:
            value_axis.minimum_scale, value_axis.maximum_scale = 0.0, 1.0  # a share never reads above 100%
        style.font(value_axis.tick_labels.font, 11, colour=_MUTED)
        cat_axis = ch.category_axis
        style.font(cat_axis.tick_labels.font, 11, colour=_INK)
        cat_axis.format.line.color.rgb = _RULE
        if kind != "scatter":  # category names beside the plot, not at the zero line
            cat_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW
        horizontal = kind in ("barh", "stacked_barh")  # x is the value axis
        titles = ((value_axis, chart.x_title), (cat_axis, chart.y_title)) if horizontal else \
            ((cat_axis, chart.x_title), (value_axis, chart.y_title))
        for axis, text in titles:
            if text and clean_text(text).strip():
                axis.has_title = True
                _write(axis.axis_title.text_frame, [clean_text(text)], style, 11, colour=_MUTED, markdown=False)

    # ---- tables -------------------------------------------------------------------------------
    def table(self, s, table: Table, x, y, w, h, *, start: int = 0) -> list[str]:
        """A native table of at most :data:`MAX_TABLE_ROWS` rows from ``start``; returns the
        footer parts (the table's note, the low-base and trimming notes)."""
        cells = table.cells()
        cols = list(table.data.columns)
        n = len(cells)
        headers = [clean_text(table.header(c)) for c in cols]
        body = [[clean_text(v) for v in row] for row in cells.itertuples(index=False, name=None)]
        rows = body[start:start + MAX_TABLE_ROWS]
        numeric = [not table.is_text(c) and c not in (table.text_columns or []) for c in cols]
        widths, size = _column_widths(headers, rows, w, h)
        foot = []
        cut_cells = []

        def heights():
            head = max(text_height([hd], size, cw, bold=True) for hd, cw in zip(headers, widths)) if cols else 0.3
            return head, [max(text_height([c], size, cw) for c, cw in zip(r, widths)) for r in rows]

        head_h, row_h = heights()
        if head_h + sum(row_h) > h:  # at the floor: over-long cells cut to three lines, headers to four
            leading = _line_factor("")
            max_cell = 3 * size * leading / 72 + 2 * _PAD_V
            max_head = 4 * size * leading / 72 + 2 * _PAD_V
            for r in rows:
                for j, (c, cw) in enumerate(zip(r, widths)):
                    if text_height([c], size, cw) > max_cell:
                        cut_cells.append(c)
                        r[j] = _truncate(c, lambda t_, cw=cw: text_height([t_], size, cw) <= max_cell)
            headers = [hd if text_height([hd], size, cw, bold=True) <= max_head else
                       _truncate(hd, lambda t_, cw=cw: text_height([t_], size, cw, bold=True) <= max_head)
                       for hd, cw in zip(headers, widths)]
            head_h, row_h = heights()
        while rows and head_h + sum(row_h) > h:
            rows, row_h = rows[:-1], row_h[:-1]
        shown_to = start + len(rows)
        if start > 0 or shown_to < n:
            foot.append(t("deck.rows_shown", self.lang, first=start + 1, last=shown_to, n=n))
        shape = s.shapes.add_table(len(rows) + 1, len(cols), Inches(x), Inches(y), Inches(sum(widths)),
                                   Inches(head_h + sum(row_h)))
        shape.name = "Table"
        tbl = shape.table
        tbl.first_row = True
        tbl.horz_banding = True
        for j, cw in enumerate(widths):
            tbl.columns[j].width = Inches(cw)
        tbl.rows[0].height = Inches(head_h)
        for i, rh in enumerate(row_h):
            tbl.rows[i + 1].height = Inches(rh)
        for j, hd in enumerate(headers):
            cell = tbl.cell(0, j)
            cell.fill.solid()
            cell.fill.fore_color.rgb = self.style.primary
            self._cell(cell, hd, size, bold=True, colour=RGBColor(0xFF, 0xFF, 0xFF),
                       align=PP_ALIGN.RIGHT if numeric[j] else PP_ALIGN.LEFT)
        for i, r in enumerate(rows):
            for j, c in enumerate(r):
                cell = tbl.cell(i + 1, j)
                cell.fill.solid()
                cell.fill.fore_color.rgb = _BAND if i % 2 else RGBColor(0xFF, 0xFF, 0xFF)
                self._cell(cell, c, size, colour=_INK, align=PP_ALIGN.RIGHT if numeric[j] else PP_ALIGN.LEFT)
        s._cx_notes.extend(cut_cells)
        notes = []
        if table.note:
            notes.append(table.note)
        flags = set()
        for c in cols:
            flags.update(table.flags_of(c))
        if BASE_CAUTION in flags and not any("*" in (table.note or "") for _ in [0]):
            notes.append(t("lowbase.marker", self.lang))
        return notes + foot

    def _cell(self, cell, text, size, *, bold=False, colour=None, align=None) -> None:
        frame = cell.text_frame
        cell.margin_left = cell.margin_right = Inches(_PAD)
        cell.margin_top = cell.margin_bottom = Inches(_PAD_V)
        cell.vertical_anchor = MSO_ANCHOR.MIDDLE
        frame.word_wrap = True
        p = frame.paragraphs[0]
        p.alignment = align
        r = p.add_run()
        r.text = text
        self.style.font(r.font, size, bold, colour)
        _end_para(p, self.style, size)

    def divider(self, title: str, subtitle: str = "") -> None:
        s = _new_slide(self.prs, self.layouts.content)
        s._cx_notes = []
        ph = _title_ph(s)
        box = (self.left, self.H * 0.38, self.width, 1.2)
        if ph is None:
            ph = s.shapes.add_textbox(*(Inches(v) for v in box))
        elif not self.layouts.custom:
            ph.left, ph.top, ph.width, ph.height = (Inches(v) for v in box)
        else:
            box = (ph.left / 914400, ph.top / 914400, ph.width / 914400, ph.height / 914400)
        fitted = fit_text([title], box[2], box[3], max_size=34, min_size=20, bold=True)
        _write(ph.text_frame, fitted.paragraphs, self.style, fitted.size, bold=True,
               colour=None if self.layouts.custom else self.style.primary, anchor=MSO_ANCHOR.BOTTOM, markdown=False)
        if subtitle:
            _textbox(s, self.left, box[1] + box[3] + 0.15, self.width, 1.2, [subtitle], self.style, max_size=16,
                     min_size=11, notes=s._cx_notes, colour=_MUTED)
        self.finish_notes(s)

    def save(self, path: Path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        self.prs.save(str(tmp))
        tmp.replace(path)
        return path


# --------------------------------------------------------------------------------------------
# what goes on the slides
# --------------------------------------------------------------------------------------------
def _label_shows_name(dl) -> None:
    """A point's data label shows its series' name, not its value (python-pptx's single-point
    label has no such switch: its ``c:dLbl`` is written with the value shown)."""
    dlbl = dl._get_or_add_dLbl()
    for tag, val in (("c:showVal", "0"), ("c:showSerName", "1")):
        el = dlbl.find(qn(tag))
        if el is not None:
            el.set("val", val)


def _key_items(section: Section) -> list[str]:
    """The section's findings (untitled boxes: titled ones are method notes)."""
    return [i for b in section.of(Finding) if not b.title for i in b.items if clean_text(i).strip()]


_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


def _paragraphs(markdown: str) -> list[str]:
    """Paragraphs and list items of Markdown text, list marks and heading marks removed."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", clean_text(markdown)):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if lines and all(_LIST_MARK.match(ln) or ln.startswith("  ") for ln in lines):
            for ln in lines:
                if _LIST_MARK.match(ln):
                    out.append(_LIST_MARK.sub("", ln).strip())
                elif out:
                    out[-1] += " " + ln.strip()
        elif lines:
            out.append(" ".join(ln.strip().lstrip("#").strip() for ln in lines))
    return out


def _footer_notes(section: Section) -> list[str]:
    return [b.text for b in section.of(Note)]


_SPLIT = re.compile(r"(: |; |\. |：|；|。)")


def _leading_aside(after: str, rest: str) -> tuple[str, str]:
    """The bracketed aside that opens ``after`` (the text after a bold lead) when it closes the
    lead's sentence, and what follows that sentence; else ``("", rest)``."""
    if not after.startswith(("(", "（")):
        return "", rest
    depth = 0
    for k, ch in enumerate(after):
        depth += ch in "(（["
        depth -= ch in ")）]"
        if depth == 0:
            tail = after[k + 1:]
            if tail.strip() and not tail.lstrip().startswith((".", "。", ";", "；", ":", "：")):
                return "", rest  # the sentence goes on after the bracket: it is not an aside
            return after[:k + 1], tail.lstrip(" :：.。;；,，")
    return "", rest


def action_title(item: str, lang: str = "en") -> tuple[str, str | None]:
    """A finding as an action title and the rest of it: a bold lead (``**Lead**: rest``) is the
    title; a long finding is split at its first top-level colon, semicolon or full stop.

    >>> action_title("**Fieldwork missed its targets**: two groups off target.")
    ('Fieldwork missed its targets', 'Two groups off target.')
    >>> action_title("NPS is 2.3, up 2.0 points.")
    ('NPS is 2.3, up 2.0 points.', None)
    >>> action_title("**Strata:** the region strata have 60–233 interviews each.")
    ('Strata: the region strata have 60–233 interviews each.', None)
    >>> action_title("**Product & network moves Satisfaction most** (+0.36). All drivers, strongest first.")
    ('Product & network moves Satisfaction most (+0.36)', 'All drivers, strongest first.')
    """
    runs = _md_runs(item)
    plain = "".join(p for p, _ in runs)
    if len(runs) > 1 and runs[0][1] and len(runs[0][0].strip()) >= 4:
        lead = runs[0][0].strip()
        rest = clean_text(item)
        rest = rest[rest.index("**", 2) + 2:] if rest.startswith("**") and "**" in rest[2:] else ""
        after = rest.lstrip()
        rest = rest.lstrip(" :：.。;；,，")
        label = (lead.endswith((":", "：")) or after.startswith((":", "："))) and \
            (len(lead) <= 8 if lang == "zh" else len(lead.split()) <= 3)
        if label and rest:  # a label ("Strata:") names the subject; the finding follows it
            head, more = action_title(rest, lang)
            sep = "：" if lang == "zh" else ": "
            return lead.rstrip(":：").strip() + sep + head, more
        if len(lead) >= 8:
            title = lead.rstrip(":：.。;；,，")
            aside, rest = _leading_aside(after, rest)
            if aside:  # "**Lead** (+0.36). More": the figure in brackets belongs to the title
                title += ("" if aside.startswith("（") else " ") + aside
            return (title, rest[:1].upper() + rest[1:]) if rest else (title, None)
    limit = 48 if lang == "zh" else 100
    if len(plain) <= limit:
        return plain, None
    depth = 0
    for i, ch in enumerate(plain):
        depth += ch in "(（[" 
        depth -= ch in ")）]" 
        if depth == 0 and _SPLIT.match(plain, i) and limit // 5 <= i <= 1.4 * limit:
            sep = _SPLIT.match(plain, i).group(0)
            title = plain[:i].strip()
            rest = plain[i + len(sep):].strip()
            if rest:
                return title, rest[:1].upper() + rest[1:]
            break
    return plain, None


#: An action title takes at most two lines at this size; a longer one is split (:func:`split_title`).
TITLE_SIZE = 20
_STRONG = re.compile(r"(: |; |\. |：|；|。)")
_PAREN = re.compile(r"( \(|（)")
_WEAK = re.compile(r"(, |，)")


def _closes_at_end(text: str) -> bool:
    """Whether ``text`` (what follows an opening bracket) closes that bracket at its last character."""
    depth = 1
    for k, ch in enumerate(text):
        depth += ch in "(（["
        depth -= ch in ")）]"
        if depth == 0:
            return k == len(text) - 1
    return False


def split_title(title: str, width_in: float) -> tuple[str, str | None]:
    """An action title that fits two lines at :data:`TITLE_SIZE` in a frame ``width_in`` wide,
    and the rest of it for the slide's body: cut at the last top-level clause end (colon,
    semicolon, full stop) that keeps the head on two lines, else before the last such
    parenthesis (its contents go to the body), else at the last such comma. A head is never a
    bare label ("By segment:"). The closing full stop is dropped (titles are headlines).

    >>> split_title("NPS rose 2.0 points.", 12.3)
    ('NPS rose 2.0 points', None)
    """
    plain = _plain(title).strip()
    if plain.endswith((".", "。")) and not plain.endswith(("..", "...")):
        plain = plain[:-1].rstrip()

    def fits(text):
        return text_lines(text, TITLE_SIZE, width_in, bold=True) <= 2

    if fits(plain):
        return plain, None
    least = 14 if any(_is_cjk(ch) for ch in plain) else 40  # a head that says something
    for pattern in (_STRONG, _PAREN, _WEAK):
        best = None
        depth = 0
        for i, ch in enumerate(plain):
            m = pattern.match(plain, i) if depth == 0 and i >= least else None
            depth += ch in "(（["
            depth -= ch in ")）]"
            if m and pattern is _PAREN and not _closes_at_end(plain[i + len(m.group(0)):]):
                m = None  # only a closing aside moves to the body, never half a parenthesis
            if m:
                if not fits(plain[:i].strip()):
                    break
                best = (i, m.group(0))
        if best:
            i, sep = best
            rest = plain[i + len(sep):].strip()
            if pattern is _PAREN and rest.endswith((")", "）")):
                rest = rest[:-1].rstrip()  # the parenthesis's contents, not its brackets
            if rest:
                return plain[:i].strip().rstrip(",，"), rest[:1].upper() + rest[1:]
    return plain, None


def _section_slides(deck: _Deck, sec: Section, summary: Finding | None, appendix: list) -> None:
    """The slides of one section (the executive summary when it holds ``summary``); the tables
    that back its findings go to ``appendix``."""
    lang = deck.lang
    items = _key_items(sec)
    figs = sec.of(Figure)
    tables = sec.of(Table)
    notes = _footer_notes(sec)
    if summary is not None and any(b is summary for b in sec.blocks):
        head, *rest = [i for i in summary.items if clean_text(i).strip()] or [sec.title]
        head, more = action_title(head, lang)
        rest = ([more] if more else []) + rest
        texts = [b.text for b in sec.blocks if type(b).__name__ == "Text"]
        deck.bullets_slide(head, rest, footer=notes, extra_notes=[_plain(x) for x in texts],
                           part=t("deck.summary", lang))
        small = [tb for tb in tables if len(tb.data) <= MAX_TABLE_ROWS]
        for tb in small[:1]:
            deck.visual_slide(tb.caption or sec.title, tb)
        appendix.extend(tb for tb in tables if all(tb is not x for x in small[:1]))
        return
    if figs:
        for k, fig in enumerate(figs):
            if fig.title:
                title, take = fig.title, (items if k == 0 else [])
            elif k == 0 and items:
                title, more = action_title(items[0], lang)
                take = ([more] if more else []) + items[1:]
            elif len(figs) > 1 and clean_text(fig.alt).strip():  # several charts: each by its own title
                title, take = fig.alt, []
            else:
                title, take = (sec.title or fig.alt), []
            deck.visual_slide(title, fig, takeaways=take, footer=notes if k == 0 else [])
        appendix.extend(tables)
    elif items and tables:
        title, more = action_title(items[0], lang)
        deck.visual_slide(title, tables[0], takeaways=([more] if more else []) + items[1:], footer=notes)
        appendix.extend(tables[1:])
    elif items:
        title, more = action_title(items[0], lang)
        deck.bullets_slide(title, ([more] if more else []) + items[1:], footer=notes)
        appendix.extend(tables)
    else:
        appendix.extend(tables)
        texts = [b.text for b in sec.blocks if type(b).__name__ == "Text"]
        paras = [p for x in texts for p in _paragraphs(x)]
        if len(paras) >= 2 and not tables and sec.heading is not None and sec.heading.level <= 1:
            # a part in words only (recommendations): its paragraphs and list items as bullets
            deck.bullets_slide(sec.title, paras, footer=notes)


def build_deck(report: Report, path: Path, *, template: Path | None = None, brand=None) -> Path:
    """Write the editable PowerPoint deck of ``report`` to ``path``; returns ``path``.

    Parameters
    ----------
    report : Report
        The report model (``Report.load(".report-model.json")``).
    path : Path
        The ``.pptx`` to write (atomically: written beside and renamed).
    template : Path, optional
        A client ``.pptx`` whose slide masters and layouts the deck uses (its slides are dropped).
    brand : optional
        The codebook's ``brand`` block (or the :class:`~workbench.codebook.Codebook`, or a
        mapping): ``palette`` (hex colours: chart series that carry no colour of their own, table
        headers, title accents), ``logo`` (title slide) and ``font`` (the deck's Latin font).

    Returns
    -------
    Path
    """
    deck = _Deck(report, Path(template) if template else None, DeckBrand.of(brand))
    token = _CJK_DECK.set(deck.lang == "zh")
    try:
        return _build(deck, report, path)
    finally:
        _CJK_DECK.reset(token)


def _build(deck: _Deck, report: Report, path: Path) -> Path:
    lang = deck.lang
    deck.title_slide()
    sections = report.sections(level=2)
    first_finding = next((b for b in report.blocks if isinstance(b, Finding) and b.items), None)
    appendix: list[Table] = []
    owner = {id(tb): clean_text(sec.title).strip() for sec in sections for tb in sec.of(Table) if sec.title}
    methods: list[Finding] = []
    summary_done = False
    boxes_done: set = set()
    last = report.blocks[-1] if report.blocks else None
    for sec in sections:
        titled = [b for b in sec.of(Finding) if b.title and b is not first_finding and b.items]
        # a titled box closing the report (how the numbers were made) follows the appendix
        methods.extend(b for b in titled if b is last)
        _section_slides(deck, sec, first_finding if not summary_done else None, appendix)
        summary_done = summary_done or any(b is first_finding for b in sec.blocks)
        for b in titled:  # a titled box of its own (what to do first): its title and its bullets
            key = (clean_text(b.title), tuple(clean_text(i) for i in b.items))
            if key in boxes_done:  # the same box again later in the report: one slide is enough
                continue
            boxes_done.add(key)
            if b is not last:
                deck.bullets_slide(b.title, b.items, footer=_footer_notes(sec) if not sec.of(Figure) else [])
    # appendix: the tables behind the findings, as many as the deck has room for
    room = MAX_SLIDES - len(deck.prs.slides) - 1 - (1 if methods else 0)
    if appendix and room > 1:
        deck.divider(t("deck.appendix", lang), t("deck.appendix_note", lang))
        room -= 1
        shown = appendix[: max(room - 1, 0) if len(appendix) > room else room]
        for tb in shown:
            # a table without a caption is named by its part of the report, not "Appendix" again
            deck.visual_slide(tb.caption or owner.get(id(tb)) or t("deck.appendix", lang), tb)
        rest = appendix[len(shown):]
        if rest:
            names = [tb.caption for tb in rest if tb.caption]
            deck.bullets_slide(t("deck.more_tables", lang), names, footer=[t("deck.more_tables_body", lang)])
    for m in methods:  # back matter: smaller type before a second slide
        deck.bullets_slide(m.title, m.items, min_size=10)
    return deck.save(path)
