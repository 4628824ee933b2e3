"""What a notebook calls to become a report: one setup call, then display helpers.

A notebook's ``parameters`` cell holds literal defaults; the next cell is::

    ctx = report.setup(globals(), "02_wave_analysis")

which validates the parameters with the same rules as ``workbench run`` (so "Run all" in
JupyterLab checks them too), resolves paths, applies the chart theme in the report language,
and routes the workbench's statistical warnings into the report as plain-language notes (other
warnings go to stderr, which the exported report leaves out).  Display helpers (:func:`md`,
:func:`table`, :func:`figure`, :func:`note`, :func:`findings`) keep notebooks free of HTML.

**Markup is data.** Text reaching these helpers carries codebook labels, params values and data
values, which come from clients.  The helpers are the one place every such text passes, so they
are where it is escaped: the same label also goes to charts, tables, spreadsheets and side files,
each with its own rules, so escaping where a label is made (``narrative.t``) would show ``&lt;``
in a chart title.  :func:`md`, :func:`heading` and :func:`findings` render Markdown themselves
(:func:`render_markdown`): the templates' own ``**bold**`` and ``\\*`` escapes work, while raw
HTML in the text is shown as text, links keep their words but lose their address, and images
become their alternative text, so nothing in a report loads or runs.  :func:`table` and
:func:`note` escape every cell and word.  A narrative that bolds a label should escape the label's
Markdown first (:func:`workbench.narrative.md_escape`), so a label's ``*`` stays a character.

**Every helper also records a block** of the run's :class:`workbench.reportmodel.Report` (headings,
text, tables with numbers and their significance / base-flag frames, figures with the data behind
plain charts, notes, findings), which the other formats (deck, workbook) are built from.  Under
the runner (``output_dir`` set) the model is saved to ``<output_dir>/MODEL_FILE`` after every
block: a kernel's exit hooks are not a dependable moment (the kernel manager may kill a kernel
that is slow to stop), while a file rewritten after each block is always whole and current when
papermill returns — also after a failing cell.  Each block is serialised once and kept, so a save
only joins and writes text (a rename makes it atomic).  Interactive runs (``output_dir`` empty)
write nothing.
"""

from __future__ import annotations

import html as _html
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from . import PROJECT_ROOT
from .config import notebook_parameters, validate_params
from .errors import WorkbenchError, WorkbenchWarning
from .lowbase import LowBaseRule
from .narrative import t as _t
from .reportmodel import MODEL_FILE, Figure, Finding, Heading, Note, Report, Table, Text, chart_of

__all__ = ["Context", "setup", "md", "heading", "table", "figure", "note", "findings", "show_warnings",
           "render_markdown", "current_report", "report_title", "study_title", "report_meta"]


@dataclass(frozen=True)
class Context:
    """A notebook run's validated parameters and the things derived from them."""

    notebook: str
    params: MappingProxyType
    out_dir: Path
    rule: LowBaseRule
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def lang(self) -> str:
        return self.params["language"]

    def __getattr__(self, name: str) -> Any:  # ctx.study, ctx.period, ...
        params = object.__getattribute__(self, "params")
        if name in params:
            return params[name]
        raise AttributeError(name)

    def t(self, key: str, **fields) -> str:
        """A label in the report language."""
        return _t(key, self.lang, **fields)

    @property
    def codebook(self):
        """The study codebook (loaded once)."""
        if "codebook" not in self._cache:
            from .codebook import load_codebook

            self._cache["codebook"] = load_codebook(self.params["codebook"])
        return self._cache["codebook"]

    @property
    def data_dir(self) -> Path:
        """The study's data folder (the built-in demo study is generated on first use)."""
        if self.params["data"] == "demo":
            from .synth import demo_dir

            return demo_dir()
        return Path(self.params["data"])

    def data(self, dataset: str) -> pd.DataFrame:
        """A dataset of the study, read and checked against the codebook (read once per run)."""
        key = ("data", dataset)
        if key not in self._cache:
            from .io import read_survey

            known = self.codebook.datasets
            if dataset not in known:
                from .errors import ParamsError

                raise ParamsError(f"dataset {dataset!r} is not in codebook {self.codebook.source}; "
                                  f"known datasets: {', '.join(known)}")
            spec = known[dataset]
            file = spec["file"] if isinstance(spec, dict) else spec.file
            frame = read_survey(self.data_dir / file, self.codebook, dataset=dataset)
            self._cache[key] = self.codebook.with_role_columns(frame, dataset)
        return self._cache[key].copy()

    def output(self, name: str) -> Path:
        """Path for a side file (quota sheet, follow-up list) in the run's report folder."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / name


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def _warning_hook(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, WorkbenchWarning):
        note(message.text(_CURRENT["lang"]) if isinstance(message, WorkbenchWarning) else str(message))
    else:  # goes to stderr: kept in the executed notebook, left out of the report
        _original_showwarning(message, category, filename, lineno, file, line)


_original_showwarning = warnings.showwarning
_CURRENT: dict[str, str] = {"lang": "en"}


# --------------------------------------------------------------------------------------------
# the run's report model
# --------------------------------------------------------------------------------------------
def report_title(notebook: str | Path, lang: str) -> str:
    """The report title a notebook shows (its ``workbench.title`` metadata, in ``lang``)."""
    from .config import notebook_path

    try:
        meta = json.loads(notebook_path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, WorkbenchError):
        return ""
    titles = meta.get("workbench", {}).get("title", {}) or {}
    return titles.get(lang) or titles.get("en") or meta.get("title") or ""


def study_title(params, lang: str | None = None, codebook=None) -> str:
    """The study's title in words (``study_title`` parameter, else the codebook's title), never
    its internal id; ``""`` when neither says one."""
    lang = lang or params.get("language", "en")
    given = params.get("study_title") or ""
    if given:
        return str(given)
    try:
        if codebook is None:
            from .codebook import load_codebook

            codebook = load_codebook(params.get("codebook", "demo"))
        titles = codebook.study.title or {}
        return titles.get(lang) or titles.get("en") or ""
    except Exception:  # a report still has a title page without a readable codebook
        return ""


def report_meta(notebook: str | Path, params, *, codebook=None, title: str | None = None) -> dict:
    """Metadata of a report: ``title``, ``study`` (words), ``study_id``, ``client``, ``period``,
    ``language``, ``report_date``, ``notebook``."""
    lang = params.get("language", "en")
    return {
        "title": title if title is not None else report_title(notebook, lang),
        "study": study_title(params, lang, codebook),
        "study_id": params.get("study", ""),
        "client": params.get("client", ""),
        "period": params.get("period", ""),
        "language": lang,
        "report_date": params.get("report_date", ""),
        "notebook": Path(str(notebook)).stem,
    }


class _Recorder:
    """The report model of the current run, and where (if anywhere) it is saved."""

    def __init__(self, meta: dict | None = None, path: Path | None = None):
        self.report = Report(meta=dict(meta or {}))
        self.path = path
        self._blocks: list[str] = []  # each block's JSON, made once

    def add(self, block) -> None:
        self.report.add(block)
        if self.path is None:
            return
        obj = block.to_json() if hasattr(block, "to_json") else _asdict(block)
        self._blocks.append(json.dumps(obj, ensure_ascii=False, default=str))
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        meta = json.dumps(self.report.meta, ensure_ascii=False, default=str)
        text = '{"meta": ' + meta + ', "blocks": [' + ", ".join(self._blocks) + "]}"
        # A rename makes the write atomic for a reader; no fsync: the file lives for this run only.
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)


def _asdict(block) -> dict:
    from dataclasses import asdict

    return asdict(block)


_RECORDER = [_Recorder()]


def current_report() -> Report:
    """The report model the display helpers have recorded in this run so far."""
    return _RECORDER[0].report


def _record(block=None) -> None:
    """Record ``block`` (or only save the model) without ever stopping the report being shown."""
    try:
        if block is None:
            _RECORDER[0].save()
        else:
            _RECORDER[0].add(block)
    except (OSError, TypeError, ValueError) as exc:  # the formats that need the model will say so
        warnings.warn(f"report model not saved: {exc}", RuntimeWarning, stacklevel=3)


def setup(namespace: dict, notebook: str) -> Context:
    """Validate the notebook's parameters from ``namespace`` and prepare the report.

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()`` (the parameters cell has run; papermill may have injected
        new values after it).
    notebook : str
        The notebook's name, e.g. ``"02_wave_analysis"``.
    """
    declared = notebook_parameters(notebook)
    out = namespace.get("output_dir") or ""
    given = {k: namespace[k] for k in declared if k in namespace and k != "output_dir"}
    if not out:  # in the Lab: values left at the cell's (demo) defaults come from the study
        given = {k: v for k, v in given.items() if v != declared[k]["default"] or k in ("data", "codebook")}
    params = validate_params(notebook, given, source=f"{notebook} parameters")
    out_dir = Path(out) if out else PROJECT_ROOT / "reports" / params["study"] / "interactive"
    rule = LowBaseRule(**params["low_base"])
    _CURRENT["lang"] = params["language"]
    ctx = Context(notebook, MappingProxyType(params), out_dir, rule)
    model_path = None
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        model_path = Path(out) / MODEL_FILE
    _RECORDER[0] = _Recorder({}, model_path)

    from .plots import apply_theme

    apply_theme(params["language"])
    import matplotlib

    # "$" in a label or data value is a character, not TeX: a brand "Plan $5 / $10" must not
    # turn into math (or fail to draw).
    matplotlib.rcParams["text.parse_math"] = False
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # not in IPython
        pass
    warnings.showwarning = _warning_hook
    warnings.simplefilter("always", WorkbenchWarning)
    codebook = None
    try:  # the study's title for the model; cached in ctx, where the notebook reads it too
        codebook = ctx.codebook
    except Exception:  # the notebook's own first use reports it
        pass
    _RECORDER[0].report.meta.update(report_meta(notebook, params, codebook=codebook))
    _record()
    return ctx


# --------------------------------------------------------------------------------------------
# display helpers
# --------------------------------------------------------------------------------------------
def _markdown_renderer():
    import mistune
    from mistune.renderers.html import HTMLRenderer

    class _DataRenderer(HTMLRenderer):
        """Markdown for text that holds client data: raw HTML is escaped (``escape=True``), a
        link keeps its words and loses its address, an image becomes its alternative text."""

        def link(self, text, url, title=None):
            return text

        def image(self, text, url, title=None):
            return text

    return mistune.create_markdown(escape=True, renderer=_DataRenderer(escape=True),
                                   plugins=["table", "strikethrough"])


_MARKDOWN = []


def render_markdown(text: str, *, inline: bool = False) -> str:
    """HTML of Markdown ``text`` in which nothing is code: raw HTML shows as text, links and
    images carry no address.  ``inline`` drops the paragraph around a single line."""
    if not _MARKDOWN:
        _MARKDOWN.append(_markdown_renderer())
    html = _MARKDOWN[0](str(text)).strip()
    if inline and html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html


def md(text: str) -> None:
    """Show Markdown text (rendered here, so labels inside it stay text: :func:`render_markdown`)."""
    from IPython.display import HTML

    _record(Text(str(text)))
    _display(HTML(f'<div class="cx-md">{render_markdown(text)}</div>'))


def heading(text: str, level: int = 2) -> None:
    """Show a section heading (level 1 starts a new page in the PDF)."""
    from IPython.display import HTML

    level = min(max(int(level), 1), 6)
    _record(Heading(str(text), level))
    _display(HTML(f"<h{level}>{render_markdown(text, inline=True)}</h{level}>"))


def table(df: pd.DataFrame | Table | None = None, *, formats=None, labels=None, caption=None, note=None,
          index: bool = False, text_columns=None, sig: pd.DataFrame | None = None,
          base_flags: pd.DataFrame | None = None, cell_formats: pd.DataFrame | None = None,
          **kwargs) -> None:
    """Show a report table and record it in the report model.

    Either a :class:`~workbench.reportmodel.Table`, or a DataFrame with the keyword arguments of
    :func:`workbench.tables.to_html` plus ``sig`` (``"up"``/``"down"``/letters per cell) and
    ``base_flags`` (``"caution"``/``"no_test"``) frames with the data's rows and some of its
    columns, and ``cell_formats`` (a named format per cell, where a column mixes them).
    Numbers stay numbers; the marks are drawn from the frames.  A DataFrame without
    frames whose cells carry marks as text takes the legacy route of :func:`to_html`.
    """
    from IPython.display import HTML

    from .tables import table_of, to_html

    if isinstance(df, Table):
        block = df
        html = to_html(df, **{k: v for k, v in kwargs.items() if k == "max_rows"})
    else:
        if df is None:
            raise TypeError("report.table: give a DataFrame (df=) or a Table")
        if sig is None and base_flags is None and cell_formats is None:  # legacy: marks may be text
            html = to_html(df, formats=formats, labels=labels, caption=caption, note=note, index=index,
                           text_columns=text_columns, **kwargs)
            try:
                block = table_of(df, formats=formats, labels=labels, caption=caption, note=note,
                                 index=index, text_columns=text_columns)
            except (ValueError, TypeError) as exc:  # shown, but other formats will lack it
                warnings.warn(f"table {caption or ''!r} not recorded in the report model: {exc}",
                              RuntimeWarning, stacklevel=2)
                block = None
        else:
            block = table_of(df, formats=formats, labels=labels, caption=caption, note=note, index=index,
                             text_columns=text_columns, sig=sig, base_flags=base_flags,
                             cell_formats=cell_formats)
            html = to_html(block, **kwargs)
    if block is not None:
        _record(block)
    _display(HTML(html))


def _figure_title(fig) -> str | None:
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    # a title sits left under the report theme (axes.titlelocation): ask every place
    titles += [ax.get_title(loc) for ax in fig.axes for loc in ("center", "left", "right")]
    titles = [x for x in titles if x]
    return titles[0] if titles else None


def figure(fig, alt: str | None = None, title: str | None = None) -> None:
    """Show a matplotlib figure once, as a PNG whose alternative text is its title, and release it.

    The image is sized to the figure's width in inches, so an A4 page shows it at print size.
    The figure is recorded with the chart data a plot function attached to it
    (:func:`workbench.reportmodel.attach_chart`); ``title`` is the finding the chart shows, used
    by the deck as the slide's title (default: the chart's own title).
    """
    import base64
    import io as _io

    import matplotlib.pyplot as plt
    from IPython.display import HTML

    own_title = _figure_title(fig)
    if alt is None:
        alt = own_title or title or "chart"
    alt = str(alt)
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    png = buf.getvalue()
    width_px = round(fig.get_figwidth() * 96)
    _record(Figure(png=png, alt=alt, width_in=float(fig.get_figwidth()), height_in=float(fig.get_figheight()),
                   chart=chart_of(fig), title=None if title is None else str(title)))
    data = base64.b64encode(png).decode("ascii")
    plt.close(fig)
    _display(HTML(f'<img class="cx-figure" alt="{_html.escape(alt, quote=True)}" '
                  f'style="width: {width_px}px; max-width: 100%;" src="data:image/png;base64,{data}">'))


def note(text: str) -> None:
    """A caution box in the report (low bases, convergence, data notes)."""
    from IPython.display import HTML

    _record(Note(str(text)))
    title = _t("note.title", _CURRENT["lang"])
    _display(HTML(f'<div class="cx-note"><b>{_html.escape(title)}:</b> {_html.escape(str(text))}</div>'))


def findings(items: list[str], title: str | None = None) -> None:
    """A key-findings box: one bullet per finding (plain text, Markdown bold allowed).

    The first findings box of a report is its executive summary; its first item the headline."""
    from IPython.display import HTML

    items = [str(i) for i in items]
    _record(Finding(items, title))
    title = title or _t("findings.title", _CURRENT["lang"])
    body = "".join(f"<li>{render_markdown(i, inline=True)}</li>" for i in items)
    _display(HTML(f'<div class="cx-finding"><b>{_html.escape(title)}</b><ul>{body}</ul></div>'))


def show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Show warnings collected with ``warnings.catch_warnings(record=True)`` as notes."""
    for w in caught:
        if issubclass(w.category, WorkbenchWarning):
            msg = w.message
            note(msg.text(_CURRENT["lang"]) if isinstance(msg, WorkbenchWarning) else str(msg))
