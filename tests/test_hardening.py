"""Hardening (issue 13): untrusted codebooks, params and data; concurrent runs; faults.

Each case asserts the message a user sees, the exit code, and — where a good report exists —
that it is unchanged (hash).  Categories, in the order of the issue's list:

1. markup is data (escaping, the PDF sandbox)
2. every input failure is a clear error with exit 2 naming the file and place
3. batch isolation and bounded waits
4. nothing good is lost
5. no leaks

Most cases need no kernel; the few that run a notebook say so in their name.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pandas as pd
import pytest

from workbench import report
from workbench.cli import main
from workbench.export import REPORT_CSP, with_csp

from _nbfactory import BODY, HAS_PDF, make_notebook, write_params

IFRAME = '<iframe src="file:///etc/hostname"></iframe>'


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture()
def shown(monkeypatch):
    """What the report helpers display, as HTML strings."""
    out: list[str] = []
    monkeypatch.setattr(report, "_display", lambda obj: out.append(obj.data))
    return out


# ============================================================================ 1. markup is data
@pytest.mark.parametrize("text, present, absent", [
    (IFRAME, ["&lt;iframe"], ["<iframe"]),
    ("<img src=x onerror=alert(1)>", ["&lt;img src=x onerror=alert(1)&gt;"], ["<img"]),
    ("[click](javascript:alert(1))", ["click"], ["href", "javascript:"]),
    ("[site](https://evil.example/)", ["site"], ["href", "evil.example"]),
    ("![pixel](https://evil.example/p.png)", ["pixel"], ["<img", "evil.example"]),
    ("<https://evil.example/auto>", [], ["href"]),
    ("<script>alert(1)</script>", ["&lt;script&gt;"], ["<script"]),
    ("**bold** and \\*star", ["<strong>bold</strong>", "*star"], ["\\*"]),
], ids=["iframe", "img-onerror", "js-link", "link", "image", "autolink", "script", "template-bold"])
def test_markdown_keeps_client_text_as_text(text, present, absent):
    html = report.render_markdown(text)
    for p in present:
        assert p in html, html
    for a in absent:
        assert a not in html, html


def test_every_helper_escapes_a_label(shown):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report.md(f"**{IFRAME}** leads")
    report.heading(IFRAME, 1)
    report.findings([f"{IFRAME} grew", "**ok**"], title=IFRAME)
    report.note(IFRAME)
    report.table(pd.DataFrame({IFRAME: [IFRAME]}), caption=IFRAME, note=IFRAME, labels={IFRAME: IFRAME})
    fig, ax = plt.subplots()
    ax.set_title('"><iframe src=x>')
    report.figure(fig)
    assert len(shown) == 6
    for html in shown:
        assert "<iframe" not in html, html
    assert 'alt="&quot;&gt;&lt;iframe src=x&gt;"' in shown[-1]
    assert shown[1].startswith("<h1>")


def test_heading_level_is_bounded(shown):
    report.heading("x", 99)
    report.heading("y", "0")
    assert shown == ["<h6>x</h6>", "<h1>y</h1>"]


def test_md_escape_makes_a_label_literal():
    from workbench.narrative import md_escape

    label = "*Gold* [tier](https://x) <b>_x_</b> `c`"
    html = report.render_markdown(f"**{md_escape(label)}**", inline=True)
    assert html == "<strong>*Gold* [tier](https://x) &lt;b&gt;_x_&lt;/b&gt; `c`</strong>"


def test_dollar_signs_in_labels_are_not_tex(nbdir, tmp_path):
    """After setup, a label with "$" is text in a chart, not TeX (which fails on "$\\foo$")."""
    import io
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    nb = make_notebook(nbdir, "ok", BODY)
    old, hook = matplotlib.rcParams["text.parse_math"], warnings.showwarning
    try:
        report.setup({"output_dir": str(tmp_path)}, str(nb))
        assert matplotlib.rcParams["text.parse_math"] is False
        fig, ax = plt.subplots()
        ax.set_title(r"Plan $\foo$ and $5")
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    finally:
        matplotlib.rcParams["text.parse_math"] = old
        warnings.showwarning = hook


def test_html_report_carries_a_strict_csp():
    html = with_csp("<html><head><title>x</title></head><body></body></html>")
    assert html.index("Content-Security-Policy") < html.index("<title>")
    assert with_csp(html) == html  # once
    assert "default-src 'none'" in REPORT_CSP and "img-src data:" in REPORT_CSP
    assert "script-src" not in REPORT_CSP  # default-src 'none' forbids scripts
    assert with_csp("<p>no head</p>").startswith("<head><meta http-equiv")


@pytest.fixture()
def listener():
    """A local HTTP server that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"NETWORK-CONTENT")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.mark.skipif(not HAS_PDF, reason="needs chromium")
def test_pdf_renderer_loads_nothing_and_runs_nothing(tmp_path, listener):
    """Raw HTML straight into the renderer (as if a helper forgot to escape): no file:, no
    network, no script reaches the PDF."""
    import subprocess

    from workbench.export import PDFRenderer

    base, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FILE-CONTENT")
    html = (f'<html><head></head><body><p>visible</p><iframe src="{secret.as_uri()}"></iframe>'
            f'<img src="{base}/pixel.png"><iframe src="{base}/frame"></iframe>'
            f'<link rel="stylesheet" href="{base}/x.css"><object data="{secret.as_uri()}"></object>'
            '<script>document.write("SCRIPT-RAN")</script>'
            '<img src="x" onerror="document.body.append(\'HANDLER-RAN\')"></body></html>')
    with PDFRenderer() as pdf:
        pdf.render(html, tmp_path / "x.pdf")
    text = subprocess.run(["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "visible" in text
    for leaked in ("SECRET-FILE-CONTENT", "NETWORK-CONTENT", "SCRIPT-RAN", "HANDLER-RAN"):
        assert leaked not in text
    assert hits == []
    assert not list(Path(tmp_path).glob("cxwb-pdf-*"))


LABEL_BODY = """
import pandas as pd, matplotlib.pyplot as plt
cb = ctx.codebook
lab = cb.level_label("brand", "aurora", ctx.lang)
report.heading(lab, 1)
report.md(f"**{lab}** leads the market")
report.findings([f"{lab} grew"])
report.table(pd.DataFrame({"brand": [lab], "nps": [1.0]}), caption=lab)
fig, ax = plt.subplots()
ax.set_title(lab)
report.figure(fig)
"""


@pytest.mark.skipif(not HAS_PDF, reason="needs chromium")
def test_kernel_pdf_from_a_codebook_label_with_an_iframe_shows_it_as_text(nbdir, tmp_path):
    """Done-when case of issue 13: the label is printed as text; the file it names is not."""
    import subprocess

    import yaml

    from workbench.codebook import bundled_codebook_path
    from workbench.runner import run

    secret = tmp_path / "hostname"
    secret.write_text("SECRET-HOST-4711")
    label = f'<iframe src="{secret.as_uri()}"></iframe> Aurora'
    cb = yaml.safe_load(bundled_codebook_path("demo").read_text(encoding="utf-8"))
    cb["questions"]["brand"]["levels"]["aurora"] = {"en": label, "zh": label}
    cb_file = tmp_path / "codebook.yaml"
    cb_file.write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    nb = make_notebook(nbdir, "labels", LABEL_BODY)
    res = run(nb, overrides={"codebook": str(cb_file)}, out=tmp_path / "o", formats=("html", "pdf"))
    text = subprocess.run(["pdftotext", str(res.files["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "SECRET-HOST-4711" not in text
    assert text.count("<iframe") >= 4, text  # heading, text, finding, table (the chart is an image)
    html = res.files["html"].read_text(encoding="utf-8")
    assert "<iframe" not in html and "Content-Security-Policy" in html
