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
"""

from __future__ import annotations

import html as _html
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from . import PROJECT_ROOT
from .config import notebook_parameters, validate_params
from .errors import WorkbenchWarning
from .lowbase import LowBaseRule
from .narrative import t as _t

__all__ = ["Context", "setup", "md", "heading", "table", "figure", "note", "findings", "show_warnings",
           "render_markdown"]


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
    return Context(notebook, MappingProxyType(params), out_dir, rule)


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

    _display(HTML(f'<div class="cx-md">{render_markdown(text)}</div>'))


def heading(text: str, level: int = 2) -> None:
    """Show a section heading (level 1 starts a new page in the PDF)."""
    from IPython.display import HTML

    level = min(max(int(level), 1), 6)
    _display(HTML(f"<h{level}>{render_markdown(text, inline=True)}</h{level}>"))


def table(df: pd.DataFrame, **kwargs) -> None:
    """Show a DataFrame as a report table (see :func:`workbench.tables.to_html`)."""
    from IPython.display import HTML

    from .tables import to_html

    _display(HTML(to_html(df, **kwargs)))


def figure(fig, alt: str | None = None) -> None:
    """Show a matplotlib figure once, as a PNG whose alternative text is its title, and release it.

    The image is sized to the figure's width in inches, so an A4 page shows it at print size.
    """
    import base64
    import io as _io

    import matplotlib.pyplot as plt
    from IPython.display import HTML

    if alt is None:
        titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
        titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
        alt = titles[0] if titles else "chart"
    alt = str(alt)
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    width_px = round(fig.get_figwidth() * 96)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    plt.close(fig)
    _display(HTML(f'<img class="cx-figure" alt="{_html.escape(alt, quote=True)}" '
                  f'style="width: {width_px}px; max-width: 100%;" src="data:image/png;base64,{data}">'))


def note(text: str) -> None:
    """A caution box in the report (low bases, convergence, data notes)."""
    from IPython.display import HTML

    title = _t("note.title", _CURRENT["lang"])
    _display(HTML(f'<div class="cx-note"><b>{_html.escape(title)}:</b> {_html.escape(str(text))}</div>'))


def findings(items: list[str], title: str | None = None) -> None:
    """A key-findings box: one bullet per finding (plain text, Markdown bold allowed)."""
    from IPython.display import HTML

    title = title or _t("findings.title", _CURRENT["lang"])
    body = "".join(f"<li>{render_markdown(i, inline=True)}</li>" for i in items)
    _display(HTML(f'<div class="cx-finding"><b>{_html.escape(title)}</b><ul>{body}</ul></div>'))


def show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Show warnings collected with ``warnings.catch_warnings(record=True)`` as notes."""
    for w in caught:
        if issubclass(w.category, WorkbenchWarning):
            msg = w.message
            note(msg.text(_CURRENT["lang"]) if isinstance(msg, WorkbenchWarning) else str(msg))
