"""The report formats a run can write: one registry, :data:`EXPORTERS`.

Every place that chooses formats (``workbench run/batch/demo --formats``, :func:`workbench.runner.run_spec`,
:func:`workbench.export.export_notebook`) asks this module which names exist and what each needs:

========  ========  ==========================  =============================================
name      suffix    needs                       made from
========  ========  ==========================  =============================================
``html``  .html     the executed notebook       nbconvert with the ``cxreport`` template
``pdf``   .pdf      the HTML and a PDF renderer the HTML printed by Chromium (:class:`~workbench.export.PDFRenderer`)
``xlsx``  .xlsx     the report model            :func:`workbench.workbook.build_workbook`
``pptx``  .pptx     the report model            :func:`workbench.deck.build_deck` (optional client template)
========  ========  ==========================  =============================================

The report model is the :class:`~workbench.reportmodel.Report` the notebook's display helpers
recorded (saved by the kernel as :data:`~workbench.reportmodel.MODEL_FILE` in the run's scratch
folder); the exporters read it and it is not published with the report.  Exporters are imported
only when they run, so choosing formats costs nothing and a missing optional exporter is an
error of that format alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ExportError

__all__ = ["Exporter", "ExportJob", "EXPORTERS", "parse_formats", "needs_renderer", "needs_model",
           "DEFAULT_FORMATS", "KNOWN_FORMATS"]

#: What a run writes when nobody says otherwise.
DEFAULT_FORMATS = ("pdf", "html")


@dataclass
class ExportJob:
    """Everything an exporter may need, shared by the formats of one report.

    ``html`` is made once (the PDF prints it); ``model`` is loaded once from ``model_path``.
    """

    nb: Any  # nbformat.NotebookNode, executed
    out_stem: Path
    renderer: Any = None  # PDFRenderer for formats that print
    footer: str = ""
    model: Any = None  # Report
    model_path: Path | None = None
    deck_template: Path | None = None
    brand: Any = None  # the codebook (or its brand block): palette, logo, font
    _html: Any = field(default=None, repr=False)

    def html(self) -> str:
        if isinstance(self._html, ExportError):  # failed once: the PDF says so without trying again
            raise ExportError(f"pdf needs the HTML, which failed ({self._html})")
        if self._html is None:
            from .export import html_report

            try:
                self._html = html_report(self.nb)
            except ExportError as exc:
                self._html = exc
                raise
        return self._html

    def report(self):
        """The report model (loaded from ``model_path`` the first time)."""
        if self.model is None:
            from .reportmodel import MODEL_FILE, Report

            if self.model_path is None or not Path(self.model_path).is_file():
                raise ExportError(
                    f"there is no report model ({MODEL_FILE}) for {self.out_stem.name}: the notebook "
                    "must show its report through workbench.report (report.setup, report.table, ...)")
            try:
                self.model = Report.load(self.model_path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ExportError(f"the report model of {self.out_stem.name} cannot be read: {exc}") from exc
        return self.model


@dataclass(frozen=True)
class Exporter:
    """One output format: file suffix, what it needs, and the function that writes it."""

    name: str
    suffix: str
    needs_renderer: bool
    needs_model: bool
    write: Callable[[ExportJob], Path]
    description: str = ""

    def path(self, out_stem: Path) -> Path:
        return Path(out_stem).with_suffix(self.suffix)


def _html(job: ExportJob) -> Path:
    from .io import atomic_write_bytes

    return atomic_write_bytes(job.out_stem.with_suffix(".html"), job.html().encode("utf-8"))


def _pdf(job: ExportJob) -> Path:
    from .export import PDFRenderer

    own = job.renderer is None
    renderer = job.renderer or PDFRenderer()
    try:
        return renderer.render(job.html(), job.out_stem.with_suffix(".pdf"), footer=job.footer)
    finally:
        if own:
            renderer.close()


def _xlsx(job: ExportJob) -> Path:
    model = job.report()
    from .workbook import build_workbook

    return build_workbook(model, job.out_stem.with_suffix(".xlsx"), brand=job.brand)


def _pptx(job: ExportJob) -> Path:
    model = job.report()
    try:
        from .deck import build_deck
    except ImportError as exc:
        raise ExportError(f"the PowerPoint deck cannot be made: its exporter (workbench.deck.build_deck) "
                          f"is not available ({exc})") from exc
    return build_deck(model, job.out_stem.with_suffix(".pptx"), template=job.deck_template, brand=job.brand)


#: Name → exporter, in the order a run writes them: HTML first and PDF last, so a missing
#: browser still leaves every other format.
EXPORTERS: dict[str, Exporter] = {
    "html": Exporter("html", ".html", False, False, _html, "HTML report (self-contained page)"),
    "xlsx": Exporter("xlsx", ".xlsx", False, True, _xlsx, "Excel workbook, one sheet per table"),
    "pptx": Exporter("pptx", ".pptx", False, True, _pptx, "PowerPoint deck with native charts"),
    "pdf": Exporter("pdf", ".pdf", True, False, _pdf, "PDF report (the HTML printed by Chromium)"),
}


#: The names as users are shown them (the usual deliverables first).
KNOWN_FORMATS = tuple(sorted(EXPORTERS, key=("pdf", "html", "pptx", "xlsx").index))


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """Format names from ``"pdf,html"`` or a sequence; duplicates dropped, order kept.

    Raises ``ValueError`` naming the unknown names and the known ones (callers turn it into their
    own usage error), or when no name is given.
    """
    parts = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for p in parts:
        p = str(p).strip().lower()
        if p and p not in names:
            names.append(p)
    unknown = [p for p in names if p not in EXPORTERS]
    if unknown:
        raise ValueError(f"unknown format{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(KNOWN_FORMATS)}")
    if not names:
        raise ValueError(f"no format given; known: {', '.join(KNOWN_FORMATS)}")
    return tuple(names)


def needs_renderer(formats: Iterable[str]) -> bool:
    """True when one of ``formats`` prints through a PDF renderer (start one to share)."""
    return any(EXPORTERS[f].needs_renderer for f in formats if f in EXPORTERS)


def needs_model(formats: Iterable[str]) -> bool:
    """True when one of ``formats`` is built from the report model."""
    return any(EXPORTERS[f].needs_model for f in formats if f in EXPORTERS)
