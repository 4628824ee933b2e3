"""Export executed notebooks to client-ready HTML and PDF.

HTML comes from nbconvert's ``HTMLExporter`` with the package's ``cxreport`` template (cover
page, no input cells, no markdown cells, no prompts, no stderr, print CSS): a notebook's markdown
cells narrate it for the analyst in the Lab, while the report's words come from its code cells, in
the report's language.  PDF is that HTML printed by the system's Chromium through Playwright —
the same route as nbconvert's ``webpdf`` exporter, but with the browser launched once per
:class:`PDFRenderer` and reused for every report of a run (``webpdf`` launches a browser per
notebook and cannot be pointed at a system Chromium).
Playwright's own browser download is not used: the system package (Debian ``chromium``) is.

Reports carry text from clients (codebook labels, data values, params), so the printing page is
a sandbox: the HTML is loaded with ``set_content`` into an ``about:blank`` page (no ``file:``
origin, so a ``file:`` iframe or image is refused), every request the page makes is aborted by
Playwright's router (the report's images are embedded ``data:`` URIs, which make no request),
JavaScript is off, and the page carries a Content Security Policy (:data:`REPORT_CSP`) that the
HTML report keeps too, so a browser opening it loads nothing and runs nothing either.
"""

from __future__ import annotations

import concurrent.futures
import html as _html
import os
import re
import shutil
import threading
import time
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from . import PACKAGE_DIR
from .errors import ExportError
from .io import atomic_write_bytes

__all__ = ["find_chromium", "html_report", "PDFRenderer", "export_notebook", "CHROMIUM_ARGS", "REPORT_CSP"]

#: What a report page may load: inline styles, embedded (``data:``) images and fonts; no scripts,
#: no frames, no network, no ``file:``.
REPORT_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
              "frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")
_CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{REPORT_CSP}">'
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.I)
#: How long Chromium may take to start (Playwright's own default is three minutes).
LAUNCH_TIMEOUT_MS = 30_000

#: Flags for a headless Chromium on a machine without a display or network access.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--font-render-hinting=none",
]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of the Chromium to print with: ``$WORKBENCH_CHROMIUM`` or the first on ``PATH``."""
    env = os.environ.get("WORKBENCH_CHROMIUM")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _DropStderr(Preprocessor):
    """Remove stderr streams (warnings, logging) from report outputs; the .ipynb keeps them."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                and o.get("output_type") != "error"
            ]
        return cell, resources


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name="cxreport",
        extra_template_basedirs=[str(PACKAGE_DIR / "templates")],
        exclude_input=True,
        exclude_markdown=True,  # notebooks' markdown cells narrate for the analyst, not the client
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    tags = TagRemovePreprocessor(remove_cell_tags={"remove", "remove_cell"},
                                 remove_all_outputs_tags={"remove_output"})
    exporter.register_preprocessor(tags, enabled=True)
    exporter.register_preprocessor(_DropStderr(), enabled=True)
    return exporter


def with_csp(html: str) -> str:
    """``html`` with :data:`REPORT_CSP` as the first element of its ``<head>`` (added once)."""
    if _CSP_META in html:
        return html
    m = _HEAD.search(html)
    if m is None:
        return f"<head>{_CSP_META}</head>{html}"
    return html[:m.end()] + _CSP_META + html[m.end():]


def html_report(nb: nbformat.NotebookNode) -> str:
    """Render an executed notebook to the report's HTML (a full, self-contained page that loads
    nothing from outside itself: see :data:`REPORT_CSP`)."""
    if not nb.metadata.get("title"):  # the page's <title> (and the PDF's): the report's, not "Notebook"
        wb = nb.metadata.get("workbench", {})
        titles = wb.get("title", {}) or {}
        cover = wb.get("cover", {}) or {}
        title = cover.get("title") or titles.get(cover.get("lang", "en")) or titles.get("en")
        if title:
            nb = nbformat.from_dict(nb)  # a copy: the caller's notebook is left as it was
            nb.metadata["title"] = title
    try:
        body, _ = _exporter().from_notebook_node(nb)
    except Exception as exc:  # nbconvert raises many types; report them as one
        raise ExportError(f"HTML export failed: {type(exc).__name__}: {exc}") from exc
    return with_csp(body)


def _footer(text: str) -> str:
    return (
        '<div style="font-family: \'Noto Sans\', \'Noto Sans CJK SC\', sans-serif; font-size: 7.5px; '
        'color: #6b7785; width: 100%; padding: 0 14mm; display: flex; justify-content: space-between;">'
        f"<span>{_html.escape(text)}</span>"
        '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>'
    )


class PDFRenderer:
    """One headless Chromium, reused to print many HTML reports to PDF.

    Use as a context manager::

        with PDFRenderer() as pdf:
            pdf.render(html, "report.pdf", footer="Demo Client · CX tracker")

    Playwright's synchronous API is bound to the thread that started it and refuses to run
    inside an asyncio loop (as in Jupyter), so all browser work happens on one private thread.
    """

    def __init__(self, executable: str | None = None, *, timeout_ms: int = 120_000,
                 launch_timeout_ms: int = LAUNCH_TIMEOUT_MS):
        self.executable = executable or find_chromium()
        self.timeout_ms = timeout_ms
        self.launch_timeout_ms = launch_timeout_ms
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pw = None
        self._browser = None
        self._launching: concurrent.futures.Future | None = None
        self._lock = threading.Lock()  # start/close from several run threads at once

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, *, wait: bool = True):
        """Launch Chromium.  ``wait=False`` returns at once and lets the launch overlap other
        work (a batch worker executes its first notebook meanwhile); a launch error is then
        raised by the next :meth:`start` or :meth:`render`."""
        with self._lock:
            self._start()
            future = self._launching
        if wait and future is not None:
            self._check_launch(future)

    def _start(self):
        if self._pool is not None:
            return
        if not self.executable:
            raise ExportError(
                "PDF export needs Chromium, and none was found (looked for "
                f"{', '.join(_CANDIDATES)} on PATH and $WORKBENCH_CHROMIUM). Install it with "
                "`sudo apt-get install chromium` (or run `make setup`); HTML reports are still written."
            )
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
        self._launching = self._pool.submit(self._launch)

    def _check_launch(self, future):
        try:
            future.result(timeout=self.launch_timeout_ms / 1000 + 30)
        except Exception as exc:
            with self._lock:
                if self._launching is future:
                    self._close(wait=not isinstance(exc, concurrent.futures.TimeoutError))
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, concurrent.futures.TimeoutError) or "Timeout" in why:
                why = f"it did not start within {self.launch_timeout_ms / 1000:g} s"
            raise ExportError(f"could not start Chromium at {self.executable}: {why}") from exc

    def _launch(self):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=self.executable,
            args=CHROMIUM_ARGS,
            timeout=self.launch_timeout_ms,
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
        )

    def close(self):
        with self._lock:
            self._close()

    def _close(self, wait: bool = True):
        if self._pool is None:
            return
        if not wait:  # the browser thread is stuck: abandon it (its browser dies with the process)
            self._pool.shutdown(wait=False)
            self._pool, self._browser, self._pw, self._launching = None, None, None, None
            return

        def _stop():
            try:
                if self._browser is not None:
                    self._browser.close()
            finally:
                if self._pw is not None:
                    self._pw.stop()

        try:
            self._pool.submit(_stop).result(timeout=60)
        except Exception:  # closing is best effort; the process exit reaps the browser
            pass
        finally:
            self._pool.shutdown(wait=False)
            self._pool, self._browser, self._pw, self._launching = None, None, None, None

    # -- work ------------------------------------------------------------------------------
    def render(self, html: str, path: str | os.PathLike, *, footer: str = "") -> Path:
        """Print ``html`` to the PDF file ``path`` (written atomically)."""
        self.start()
        path = Path(path)
        with self._lock:
            pool = self._pool
        future = pool.submit(self._print, with_csp(html), footer)
        try:
            data = future.result(timeout=2 * self.timeout_ms / 1000 + 30)
        except concurrent.futures.TimeoutError:
            with self._lock:  # a hung browser: the next render launches a new one
                if self._pool is pool:
                    self._close(wait=False)
            raise ExportError(f"PDF export of {path.name} failed: Chromium did not finish within "
                              f"{2 * self.timeout_ms / 1000 + 30:g} s") from None
        except Exception as exc:
            raise ExportError(f"PDF export of {path.name} failed: {type(exc).__name__}: {exc}") from exc
        atomic_write_bytes(path, data)
        return path

    def _print(self, html: str, footer: str) -> bytes:
        # A fresh context per report: JavaScript off, every request aborted (embedded data: URIs
        # make none), and the page is about:blank, whose documents may not load file: URLs.
        context = self._browser.new_context(java_script_enabled=False, offline=True)
        try:
            context.route("**/*", lambda route: route.abort("blockedbyclient"))
            page = context.new_page()
            page.set_default_timeout(self.timeout_ms)
            page.emulate_media(media="print")
            page.set_content(html, wait_until="load")
            page.evaluate("document.fonts.ready")  # runs in Playwright's own world, not the page's
            return page.pdf(
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=_footer(footer),
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        finally:
            context.close()


def export_notebook(
    nb: nbformat.NotebookNode | str | os.PathLike,
    out_stem: str | os.PathLike,
    *,
    formats=("html", "pdf"),
    renderer: PDFRenderer | None = None,
    footer: str = "",
    model=None,
    model_path: str | os.PathLike | None = None,
    deck_template: str | os.PathLike | None = None,
    brand=None,
    timings: dict | None = None,
) -> dict[str, Path]:
    """Write ``<out_stem>.<suffix>`` for each of ``formats`` (names of
    :data:`workbench.formats.EXPORTERS`) from an executed notebook and its report model.

    Formats are written in the registry's order (HTML first, PDF last), and one format failing
    does not stop the others: every failure is raised together afterwards as one
    :class:`ExportError`, so a missing browser still leaves the HTML, workbook and deck.  A
    renderer passed in is reused (and left open); otherwise one is started and closed here.
    ``model`` (a :class:`~workbench.reportmodel.Report`) or ``model_path`` (its saved file) feeds
    the formats built from the model (xlsx, pptx); ``deck_template`` is the client's .pptx and
    ``brand`` the study's codebook (or its ``brand`` block: palette, logo, font).  ``timings``,
    if given, receives the seconds each format took (``{"pdf": 2.1, ...}``).
    """
    from .formats import EXPORTERS, ExportJob, parse_formats

    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    try:
        wanted = parse_formats(tuple(formats))
    except ValueError as exc:
        raise ExportError(f"formats: {exc}") from None
    job = ExportJob(nb=nb, out_stem=Path(out_stem), renderer=renderer, footer=footer, model=model,
                    model_path=None if model_path is None else Path(model_path),
                    deck_template=None if not deck_template else Path(deck_template), brand=brand)
    written: dict[str, Path] = {}
    errors: list[str] = []
    for name, exporter in EXPORTERS.items():
        if name not in wanted:
            continue
        t0 = time.perf_counter()
        try:
            written[name] = exporter.write(job)
        except ExportError as exc:
            errors.append(str(exc))
        except OSError:
            raise
        except Exception as exc:  # an exporter's own failure is that format's, said in one line
            errors.append(f"{name} export failed: {type(exc).__name__}: {exc}")
        finally:
            if timings is not None:
                timings[name] = round(time.perf_counter() - t0, 3)
    if errors:
        raise ExportError("; ".join(errors))
    return written
