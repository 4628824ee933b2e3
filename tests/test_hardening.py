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


def test_cover_and_footer_fields_are_escaped():
    """Client, study title and period reach the cover and the PDF footer as text."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from workbench.export import _footer, html_report

    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output("display_data", data={
        "text/html": "<p>body</p>", "text/plain": "body"})])])
    nb.metadata["workbench"] = {"cover": {"client": evil, "title": evil, "study": evil,
                                          "meta": [[evil, evil]], "lang": "en", "footer": evil}}
    html = html_report(nbformat.from_dict(nb))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;") >= 5
    assert "<script" not in _footer(evil) and "&lt;script&gt;" in _footer(evil)


def test_note_and_findings_show_markup_words_as_words(shown):
    report.note("**not bold** <b>x</b>")
    report.findings(["<b>x</b> and `code`"])
    assert "**not bold** &lt;b&gt;x&lt;/b&gt;" in shown[0]
    assert "&lt;b&gt;x&lt;/b&gt; and <code>code</code>" in shown[1]


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


# ============================================================================ 2. input failures
def _validate(capsys, *files, extra=()):
    code = main(["validate", *map(str, files), *extra])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _params(tmp_path, body: bytes | str, name="p.yaml") -> Path:
    f = tmp_path / name
    f.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return f


BOMB = ('a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)))


@pytest.mark.parametrize("body, words", [
    (b"notebook: NB\nclient: Soci\xe9t\xe9 G\xe9n\xe9rale\n", ["line 2, column 13", "0xE9", "save the file as UTF-8"]),
    ("notebook: NB\nclient: 上海客户\n".encode("gbk"), ["line 2", "not UTF-8", "UTF-8"]),
    ("notebook: NB\nclient: x\n".encode("utf-16-le"), ["UTF-16 without a byte-order mark"]),
    (bytes(range(256)) * 4, ["NUL bytes", "binary"]),
    (b"notebook: NB\n" + BOMB.encode(), ["alias bomb"]),
    (b"notebook: NB\nx: &a [*a]\n", ["recursive alias", "line 2"]),
    (b"notebook: NB\nx: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", ["nested deeper than 50 levels", "line 2"]),
    (b"notebook: NB\nclient: a\nclient: b\n", ["key 'client' appears twice", "line 3", "first on line 2"]),
    (b"notebook: NB\nlow_base: {caution: 1, caution: 2}\n", ["'caution' appears twice"]),
    (b"notebook: 123\n", ["key 'notebook'", "got 123"]),
    (b"notebook: [a, b]\n", ["key 'notebook'", "got ['a', 'b']"]),
    (b"notebook: NB\nrun: [a]\n", ["key 'run'"]),
    (b"notebook: NB\nrun: true\n", ["key 'run'"]),
    (b'notebook: NB\nstudy: "demo\\n"\n', ["key 'study'", "'demo\\n'"]),
    (b'notebook: NB\nrun: "ok\\n"\n', ["key 'run'"]),
    (b'notebook: NB\ncodebook: "a\\0b"\n', ["key 'codebook'", "NUL"]),
    (b'notebook: NB\nclient: "a\\0b"\n', ["key 'client'", "NUL"]),
    (b"notebook: NB\ncodebook: /dev/zero\n", ["key 'codebook'", "/dev/zero", "not a regular file"]),
    (b"notebook: NB\ncodebook: [1, 2]\n", ["key 'codebook'", "expected a path"]),
    (b"notebook: NB\nlow_base: {caution: .inf}\n", ["low_base.caution", "finite"]),
    (b"notebook: NB\nlow_base: {caution: .nan}\n", ["low_base.caution"]),
    (b"notebook: NB\nlow_base: {[1]: 2}\n", ["line 2", "unhashable key"]),
    (b"notebook: NB\nlow_base: 3\n", ["low_base"]),
    (b"notebook: NB\nn: 1e400\n", ["key 'n'"]),
    (b"notebook: NB\n? [a]\n: 1\n", ["line 2", "unhashable key"]),
    (b"notebook: NB\nreport_date: 2026-02-30\n", ["report_date", "ISO date"]),
    (b"notebook: NB\nlanguage: null\n", ["key 'language'"]),
    (b"notebook: NB\n\t- tab\n", ["not valid YAML"]),
    (b"notebook: NB\nx: !!python/object/apply:os.system ['true']\n", ["not valid YAML", "python/object"]),
], ids=["latin1", "gbk", "utf16-nobom", "binary", "alias-bomb", "recursive-alias", "deep-nesting",
        "duplicate-key", "duplicate-nested-key", "notebook-int", "notebook-list", "run-list", "run-bool",
        "study-newline", "run-newline", "nul-in-path", "nul-in-text", "dev-zero", "codebook-list",
        "inf", "nan", "list-key", "low-base-scalar", "huge-int", "complex-key", "bad-date",
        "null-language", "tab", "python-tag"])
def test_params_file_refused_with_file_and_place(nbdir, tmp_path, capsys, body, words):
    import time

    nb = make_notebook(nbdir, "ok", BODY)
    f = _params(tmp_path, body.replace(b"NB", str(nb).encode()))
    t0 = time.time()
    code, err = _validate(capsys, f)
    assert code == 2, err
    assert time.time() - t0 < 20
    assert "unexpected error" not in err and "Traceback" not in err
    assert str(f) in err, err
    for w in words:
        assert w in err, err


def test_utf16_and_bom_params_files_are_read(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    text = f"notebook: {nb}\nclient: 客户\n"
    for enc, data in (("utf-16", text.encode("utf-16")), ("bom", b"\xef\xbb\xbf" + text.encode())):
        f = _params(tmp_path, data, name=f"{enc}.yaml")
        code, err = _validate(capsys, f)
        assert code == 0, err


def test_yaml_anchors_within_limits_still_work(nbdir, tmp_path):
    from workbench.config import load_params

    nb = make_notebook(nbdir, "ok", BODY)
    f = _params(tmp_path, f"notebook: {nb}\nlow_base: &lb {{caution: 40, min_test: 20}}\n")
    assert load_params(f).params["low_base"] == {"caution": 40, "min_test": 20}


def test_big_params_file_refused_without_reading_it_all(nbdir, tmp_path, capsys):
    nb = make_notebook(nbdir, "ok", BODY)
    f = _params(tmp_path, f"notebook: {nb}\n# " + "x" * (2 << 20) + "\n")
    code, err = _validate(capsys, f)
    assert code == 2 and "larger than 1 MB" in err


@pytest.mark.parametrize("target, words", [
    ("folder", ["is a folder"]),
    ("/dev/zero", ["not a regular file"]),
    ("missing.yaml", ["does not exist"]),
], ids=["folder", "device", "missing"])
def test_params_path_that_is_not_a_file(tmp_path, capsys, target, words):
    (tmp_path / "folder").mkdir()
    path = target if target.startswith("/") else tmp_path / target
    code, err = _validate(capsys, path)
    assert code == 2 and all(w in err for w in words), err


def test_notebook_outside_the_project_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORKBENCH_NOTEBOOKS", raising=False)
    elsewhere = tmp_path / "evil"
    elsewhere.mkdir()
    nb = make_notebook(elsewhere, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb)
    code, err = _validate(capsys, f)
    assert code == 2 and "not one of the project's notebooks" in err and "--trust-notebooks" in err
    code, err = _validate(capsys, f, extra=["--trust-notebooks"])
    assert code == 0, err
    monkeypatch.setenv("WORKBENCH_NOTEBOOKS", str(elsewhere))
    code, err = _validate(capsys, f)
    assert code == 0, err


def test_notebook_named_on_the_command_line_is_the_callers_choice(tmp_path, monkeypatch):
    from workbench.config import load_params

    monkeypatch.delenv("WORKBENCH_NOTEBOOKS", raising=False)
    (tmp_path / "x").mkdir()
    nb = make_notebook(tmp_path / "x", "ok", BODY)
    assert load_params(notebook=nb).notebook == nb.resolve()


def test_notebook_symlink_out_of_the_project_is_refused(tmp_path, capsys, monkeypatch):
    from workbench import PROJECT_ROOT

    monkeypatch.delenv("WORKBENCH_NOTEBOOKS", raising=False)
    (tmp_path / "x").mkdir()
    nb = make_notebook(tmp_path / "x", "ok", BODY)
    link = tmp_path / "link.ipynb"
    link.symlink_to(nb)
    f = write_params(tmp_path / "p.yaml", link)
    code, err = _validate(capsys, f)
    assert code == 2 and "not one of the project's notebooks" in err
    f = _params(tmp_path, f"notebook: {PROJECT_ROOT / 'notebooks' / '..' / '..' / nb}\n", name="q.yaml")
    code, err = _validate(capsys, f)
    assert code == 2


@pytest.mark.parametrize("args, words", [
    (["batch", "X", "--scheduler", "garbage"], ["--scheduler", "tcp://host:8786"]),
    (["batch", "X", "--scheduler", "http://h:1"], ["--scheduler"]),
    (["batch", "X", "--scheduler", "tcp://h:99999"], ["--scheduler"]),
    (["run", "x\x00y"], ["NUL"]),
    (["run", "ok", "-p", "n\x00", "1"], ["NUL"]),
    (["run", "ok", "--out", "a\x00b"], ["NUL"]),
    (["run", "ok", "--formats", "docx"], ["pdf, html"]),
    (["validate", "a\x00b.yaml"], ["NUL"]),
], ids=["scheduler-garbage", "scheduler-http", "scheduler-port", "nul-notebook", "nul-param",
        "nul-out", "formats", "nul-params-file"])
def test_command_line_refusals(tmp_path, capsys, args, words):
    code = main([a.replace("X", str(tmp_path / "none.yaml")) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "unexpected error" not in err
    for w in words:
        assert w in err, err


# ---------------------------------------------------------------------------- codebooks and data
SMALL_CODEBOOK = """\
version: 1
study: {id: small, client: Small Client, title: {en: Small study}}
missing_codes: [99]
datasets:
  survey:
    file: survey.csv
    id: resp_id
    columns: [resp_id, region, answer, score, w]
questions:
  resp_id: {type: id, label: Respondent}
  region: {type: categorical, label: Region, levels: {NA: North America, EU: Europe, AS: Asia}}
  answer: {type: text, label: Answer}
  score: {type: likert, min: 1, max: 5, label: Score}
  w: {type: weight, label: Weight}
"""

SMALL_ROWS = "resp_id,region,answer,score,w\n1,NA,null,5,1.0\n2,EU,None,4,1.5\n3,AS,n/a,NA,0.5\n4,NA,,99,1\n"


@pytest.fixture()
def small(tmp_path):
    """A four-row study whose data hold the words pandas reads as missing by default."""
    d = tmp_path / "small"
    d.mkdir()
    (d / "codebook.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    (d / "survey.csv").write_text(SMALL_ROWS, encoding="utf-8")
    return d


def test_na_words_stay_text_and_only_blanks_and_codes_are_missing(small):
    from workbench.io import read_survey

    df = read_survey(small / "survey.csv", small / "codebook.yaml", "survey")
    assert df["region"].tolist() == ["NA", "EU", "AS", "NA"]  # North America, not missing
    assert df["answer"].tolist()[:3] == ["null", "None", "n/a"]
    assert pd.isna(df["answer"].iloc[3])  # the empty cell
    assert df["score"].isna().tolist() == [False, False, True, True]  # "NA" in a number column; code 99


def test_na_words_in_xlsx_stay_text(small):
    from workbench.io import read_survey

    pd.read_csv(small / "survey.csv", dtype=str, keep_default_na=False).to_excel(small / "survey.xlsx", index=False)
    df = read_survey(small / "survey.xlsx", small / "codebook.yaml", "survey")
    assert df["region"].tolist() == ["NA", "EU", "AS", "NA"]


@pytest.mark.parametrize("encoding, prefix", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("gb18030", b""), ("cp1252", b""),
    ("latin-1", b""),
], ids=["utf8", "utf8-bom", "utf16-bom", "gb18030", "cp1252", "latin1"])
def test_csv_encodings_are_detected(small, encoding, prefix):
    from workbench.io import read_survey

    text = {"gb18030": "上海的客户说：很好，谢谢", "cp1252": "Société Générale – “très bien”",
            "latin-1": "Société Générale, très bien"}.get(encoding, "Société 上海")
    rows = SMALL_ROWS.replace("null", text.replace(",", " "))
    (small / "survey.csv").write_bytes(prefix + rows.encode(encoding))
    df = read_survey(small / "survey.csv", small / "codebook.yaml", "survey")
    assert df["answer"].iloc[0] == text.replace(",", " ")
    assert df.columns[0] == "resp_id"  # no BOM glued to the first name


@pytest.mark.parametrize("data, words", [
    (b"PK\x03\x04" + b"\x00" * 40, ["Excel workbook", "CSV UTF-8"]),
    (b"resp_id,region\n1,\x00\x01\x02\n", ["binary data", "CSV UTF-8"]),
    (b"resp_id,answer\n1,caf\xe9 \x81\x8d\x90\n", ["line 2", "not UTF-8", "CSV UTF-8"]),
], ids=["xlsx-renamed", "binary", "undecodable"])
def test_unreadable_csv_says_what_to_do(small, capsys, nbdir, data, words):
    (small / "survey.csv").write_bytes(data)
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(small / "p.yaml", nb, data=str(small), codebook=str(small / "codebook.yaml"))
    code, err = _validate(capsys, f)
    assert code == 2 and "unexpected" not in err
    assert "survey.csv" in err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("weights, words", [
    (["1e308", "1", "1", "1"], ["column 'w'", "above 1e+15"]),
    (["inf", "1", "1", "1"], ["column 'w'", "not finite"]),
    (["-inf", "1", "1", "1"], ["column 'w'", "not finite"]),
    (["nan", "1", "1", "1"], ["column 'w'", "without a weight"]),
    (["0", "1", "1", "1"], ["column 'w'", "<= 0"]),
    (["-2", "1", "1", "1"], ["column 'w'", "<= 0"]),
    (["1,5", "1", "1", "1"], ["column 'w'", "not numeric"]),
], ids=["huge", "inf", "minus-inf", "nan", "zero", "negative", "comma-decimal"])
def test_bad_weights_are_refused_by_validate(small, capsys, nbdir, weights, words):
    rows = pd.read_csv(small / "survey.csv", dtype=str, keep_default_na=False)
    rows["w"] = weights
    rows.to_csv(small / "survey.csv", index=False)
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(small / "p.yaml", nb, data=str(small), codebook=str(small / "codebook.yaml"))
    code, err = _validate(capsys, f)
    assert code == 2, err
    for w in words:
        assert w in err, err
    assert "first resp_id: 1" in err


def test_validate_names_unflagged_personal_data_without_quoting_it(small, capsys, nbdir):
    rows = pd.read_csv(small / "survey.csv", dtype=str, keep_default_na=False)
    rows["answer"] = [f"person{i}@example.org" for i in range(len(rows))]
    rows.to_csv(small / "survey.csv", index=False)
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(small / "p.yaml", nb, data=str(small), codebook=str(small / "codebook.yaml"))
    code, out = _validate(capsys, f)
    assert code == 0, out
    assert "likely personal data" in out and "survey.answer (values look like e-mail addresses)" in out
    assert "pii: true" in out and "@example.org" not in out
    (small / "codebook.yaml").write_text(SMALL_CODEBOOK.replace("label: Answer}", "label: Answer, pii: false}"),
                                         encoding="utf-8")
    code, out = _validate(capsys, f)
    assert code == 0 and "likely personal data" not in out, out


def test_non_finite_scale_value_is_refused(small):
    from workbench.errors import DataError
    from workbench.io import read_survey

    (small / "survey.csv").write_text(SMALL_ROWS.replace(",5,1.0", ",inf,1.0"), encoding="utf-8")
    with pytest.raises(DataError, match="score.*not finite"):
        read_survey(small / "survey.csv", small / "codebook.yaml", "survey")


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace("levels: {NA:", "levels: &lv {NA:") + "  r2: {type: categorical, levels: *lv}\n", None),
    (lambda t: t + "  r3: &x [*x]\n", ["recursive alias"]),
    (lambda t: t + "  score: {type: likert, min: 1, max: 7}\n", ["'score' appears twice"]),
    (lambda t: t.encode("latin-1", "replace").decode("latin-1").replace("Small Client", "Soci\xe9t\xe9"), ["0xE9", "UTF-8"]),
    (lambda t: t + "  deep: " + "[" * 5000 + "]" * 5000 + "\n", ["nested deeper than 50"]),
    (lambda t: BOMB, ["alias bomb"]),
], ids=["anchor-ok", "recursive", "duplicate", "latin1", "deep", "bomb"])
def test_codebook_loading_limits(small, edit, words):
    from workbench.codebook import load_codebook
    from workbench.errors import CodebookError

    text = edit(SMALL_CODEBOOK)
    (small / "codebook.yaml").write_bytes(text.encode("latin-1") if "Soci\xe9t\xe9" in text else text.encode())
    if words is None:
        assert load_codebook(small / "codebook.yaml").levels("r2") == ["NA", "EU", "AS"]
        return
    with pytest.raises(CodebookError) as err:
        load_codebook(small / "codebook.yaml")
    assert "codebook.yaml" in str(err.value)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("target, words", [
    ("/dev/zero", ["not a regular file"]),
    (123, ["expected a file path"]),
    ("a\x00b", ["NUL"]),
], ids=["dev-zero", "int", "nul"])
def test_codebook_argument_that_is_not_a_file(target, words):
    from workbench.codebook import load_codebook
    from workbench.errors import CodebookError

    with pytest.raises(CodebookError) as err:
        load_codebook(target)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("pattern, words", [
    ("P_{item}_{wave}", ["perception", "{wave}", "only {item}"]),
    ("P_{item", ["perception", "not valid", "{{"]),
    ("P_{item.__class__}", ["perception", "must contain {item}"]),
    ("P_{0}", ["perception", "must contain {item}"]),
    ("P_{item!r}", ["perception", "{item!r}"]),
    ("P_{item:>9}", ["perception", "{item:>9}"]),
], ids=["unknown-placeholder", "unclosed", "attribute", "index", "conversion", "format-spec"])
def test_servqual_pattern_placeholders(pattern, words):
    from workbench.codebook import Codebook, load_codebook
    from workbench.errors import CodebookError

    data = load_codebook("demo").model_dump(mode="python")
    data["servqual"]["perception"] = pattern
    with pytest.raises(CodebookError) as err:
        Codebook.from_dict(data, source="cb.yaml")
    assert "cb.yaml" in str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)


@pytest.mark.parametrize("notebook, key, value, words", [
    ("04_five_gap", "confidence", 1.5, ["between 0 and 1"]),
    ("04_five_gap", "top_actions", -1, ["of at least 1", "got -1"]),
    ("04_five_gap", "min_answered", 2, ["between 0 and 1"]),
    ("03_key_drivers", "conf", 0, ["between 0 and 1"]),
    ("03_key_drivers", "bootstrap", -5, ["of at least 0"]),
    ("02_wave_analysis", "control_k", 0, ["of at least 1"]),
    ("02_wave_analysis", "trim_upper", -1.0, ["above 0"]),
    ("01_sampling_frame", "power", 1.0, ["between 0 and 1"]),
    ("01_sampling_frame", "reserve", -0.2, ["between 0 and 1"]),
], ids=lambda v: str(v))
def test_out_of_range_parameters_are_refused_before_a_run(tmp_path, capsys, notebook, key, value, words):
    f = _params(tmp_path, f"notebook: {notebook}\n{key}: {value}\n")
    code, err = _validate(capsys, f)
    assert code == 2 and f"key {key!r}" in err and str(f) in err, err
    for w in words:
        assert w in err, err


def test_a_notebook_can_tag_its_own_range(nbdir, tmp_path, capsys):
    params = WAVE_PARAMS.replace("n = 100", "n = 100  # draws (range: 10..500)")
    nb = make_notebook(nbdir, "ranged", BODY, params=params.replace('dataset = "survey"\n', "").replace(
        'wave: int | str = "latest"\n', ""))
    for n, ok in ((5, False), (10, True), (501, False)):
        f = write_params(tmp_path / "p.yaml", nb, n=n)
        code, err = _validate(capsys, f)
        assert (code == 0) is ok, err
        if not ok:
            assert "between 10 and 500" in err


@pytest.mark.parametrize("data, problem", [
    ("unit_id,区域\n1,北\n".encode("gbk"), None),
    (b"PK\x03\x04\x00\x00", "Excel workbook"),
], ids=["gbk-frame", "xlsx-named-csv"])
def test_sampling_frame_header_in_any_encoding(tmp_path, data, problem):
    frame = tmp_path / "frame.csv"
    frame.write_bytes(data)
    msg = _check("01_sampling_frame", {"codebook": "demo", "data": "demo", "frame_file": str(frame),
                                       "strata": ["区域"], "quota_marginal": []})
    if problem is None:
        assert msg == ""
    else:
        assert "key 'frame_file'" in msg and problem in msg


# ============================================================================ 3. batch isolation, bounded waits
def test_plan_isolates_any_failure_of_one_file(nbdir, tmp_path, monkeypatch):
    from workbench import batch, config

    nb = make_notebook(nbdir, "ok", BODY)
    good = write_params(tmp_path / "good.yaml", nb, period="2026-01")
    bug = write_params(tmp_path / "bug.yaml", nb, period="2026-02")
    real = config.load_params

    def flaky(f, **kw):
        if Path(f).name == "bug.yaml":
            raise TypeError("a bug somewhere")
        return real(f, **kw)

    monkeypatch.setattr(batch, "load_params", flaky)
    todo, done = batch.plan([good, bug], out=tmp_path / "o", force=True)
    assert [f.name for f, _ in todo] == ["good.yaml"]
    assert done[0]["status"] == "failed" and "bug.yaml" in done[0]["error"]
    assert "TypeError: a bug somewhere" in done[0]["error"]


def test_batch_of_bad_files_is_one_failed_line_each(nbdir, tmp_path, capsys):
    import json

    nb = make_notebook(nbdir, "ok", BODY)
    files = [
        _params(tmp_path, f"notebook: {nb}\n" + BOMB, name="bomb.yaml"),
        _params(tmp_path, b"notebook: 123\n", name="int.yaml"),
        _params(tmp_path, b"notebook: x\nclient: \xe9\n", name="latin1.yaml"),
        _params(tmp_path, f"notebook: {nb}\ncodebook: /dev/zero\n", name="zero.yaml"),
        _params(tmp_path, bytes(range(256)), name="binary.yaml"),
    ]
    code = main(["batch", *map(str, files), "--out", str(tmp_path / "o"), "--no-progress"])
    out = capsys.readouterr()
    assert code == 1 and "0 ok, 0 skipped (unchanged), 5 failed" in out.out
    assert "unexpected" not in out.out + out.err
    log = [json.loads(line) for line in (tmp_path / "o" / "batch-log.jsonl").read_text().splitlines()]
    assert [r["status"] for r in log] == ["failed"] * 5
    assert all(Path(r["params_file"]).name in r["error"] for r in log)


@pytest.fixture()
def silent_server():
    """A TCP server that accepts connections and never says a word (or says the wrong one)."""
    import socket

    servers = []

    def make(greeting: bytes = b""):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        conns = []

        def accept():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                conns.append(c)
                if greeting:
                    c.sendall(greeting)

        threading.Thread(target=accept, daemon=True).start()
        servers.append((srv, conns))
        return f"tcp://127.0.0.1:{srv.getsockname()[1]}"

    yield make
    for srv, conns in servers:
        for c in conns:
            c.close()
        srv.close()


@pytest.mark.parametrize("greeting", [b"", b"SSH-2.0-OpenSSH_9.2\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n"],
                         ids=["silent", "ssh", "http"])
def test_scheduler_that_is_not_dask_fails_fast(nbdir, tmp_path, capsys, monkeypatch, silent_server, greeting):
    import time

    from workbench import batch

    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", 3)
    nb = make_notebook(nbdir, "ok", BODY)
    f = write_params(tmp_path / "p.yaml", nb)
    t0 = time.time()
    code = main(["batch", str(f), "--out", str(tmp_path / "o"), "--formats", "html", "--no-progress",
                 "--scheduler", silent_server(greeting)])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the dask scheduler" in err, err
    assert time.time() - t0 < 25


def test_chromium_that_hangs_at_launch_is_bounded(tmp_path):
    import time

    from workbench.errors import ExportError
    from workbench.export import PDFRenderer

    hang = tmp_path / "chromium"
    hang.write_text("#!/bin/sh\nsleep 600\n")
    hang.chmod(0o755)
    renderer = PDFRenderer(str(hang), launch_timeout_ms=2_000)
    t0 = time.time()
    with pytest.raises(ExportError, match="did not start within 2 s"):
        renderer.start()
    assert time.time() - t0 < 30
    renderer.close()


def test_default_launch_timeout_is_bounded():
    from workbench.export import LAUNCH_TIMEOUT_MS, PDFRenderer

    assert PDFRenderer("/bin/true").launch_timeout_ms == LAUNCH_TIMEOUT_MS <= 60_000


def _wait_for(predicate, seconds=300):
    import time

    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


@pytest.mark.parametrize("sig, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_kernel_run_stopped_by_a_signal_leaves_no_scratch(nbdir, tmp_path, sig, code):
    import signal
    import subprocess
    import sys

    nb, out, folder, before = _good_report(nbdir, tmp_path)
    slow = make_notebook(nbdir, "ok", "import time\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(slow), "--out", str(out),
                             "--formats", "html"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the executed notebook is written only at the end, so wait for the kernel to be running instead
    assert _wait_for(lambda: _kernel_started(proc.pid) and list(folder.parent.glob(".tmp-ok_2026-06~*/")))
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert not list(folder.parent.glob(".tmp-*"))
    assert _sha(folder / "ok.html") == before


def _kernel_started(pid):
    import psutil

    try:
        return any("ipykernel" in " ".join(c.cmdline()) for c in psutil.Process(pid).children(recursive=True))
    except psutil.Error:  # a child came and went while we looked
        return False


def _good_report(nbdir, tmp_path):
    from workbench.runner import run

    nb = make_notebook(nbdir, "ok", BODY)
    out = tmp_path / "reports"
    res = run(nb, out=out, formats=("html",))
    return nb, out, res.folder, _sha(res.folder / "ok.html")


def test_kernel_batch_ctrl_c_logs_what_finished_and_cleans_up(nbdir, tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys

    fast = make_notebook(nbdir, "fast", BODY)
    slow = make_notebook(nbdir, "slow", "import time\ntime.sleep(300)\n")
    pdir = tmp_path / "params"
    pdir.mkdir()
    write_params(pdir / "a_fast.yaml", fast)
    write_params(pdir / "b_slow.yaml", slow)
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "batch", str(pdir / "*.yaml"), "--out",
                             str(out), "--formats", "html", "--workers", "2", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert _wait_for(lambda: (out / "demo" / "fast_2026-06" / "fast.html").exists()
                     and list((out / "demo").glob(".tmp-slow_2026-06~*")), 400)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.count("Traceback") == 0, err
    assert "a_fast.yaml" in stdout and "ok" in stdout
    log = [json.loads(line) for line in (out / "batch-log.jsonl").read_text().splitlines()]
    assert {Path(r["params_file"]).name: r["status"] for r in log} == {"a_fast.yaml": "ok",
                                                                       "b_slow.yaml": "interrupted"}
    assert not list((out / "demo").glob(".tmp-*"))
    assert (out / "demo" / "fast_2026-06" / "fast.html").exists()


@pytest.mark.parametrize("errno_, code, words", [
    (28, 1, ["no space left on the disk", "report.pdf"]),
    (122, 1, ["disk quota exceeded"]),
    (13, 2, ["Permission denied", "data.csv"]),
], ids=["disk-full", "quota", "permission"])
def test_file_system_errors_are_said_in_words(nbdir, tmp_path, capsys, monkeypatch, errno_, code, words):
    import os

    from workbench import runner

    nb = make_notebook(nbdir, "ok", BODY)
    name = "data.csv" if errno_ == 13 else "report.pdf"

    def fail(*a, **kw):
        raise OSError(errno_, os.strerror(errno_), name)

    monkeypatch.setattr(runner, "run_spec", fail)
    got = main(["run", str(nb), "--out", str(tmp_path / "o"), "--formats", "html"])
    err = capsys.readouterr().err
    assert got == code and "unexpected" not in err and "Traceback" not in err
    for w in words:
        assert w in err, err


# ============================================================================ 4. nothing good is lost
def _scratch(folder: Path, run_id: str, pid: int = 4_000_000, *, locked: bool):
    """A scratch folder as the runner makes it; ``locked``: its run is alive (a lock is held)."""
    import fcntl
    import os

    p = folder / f".tmp-{run_id}~{pid}~abcdef12"
    p.mkdir(parents=True)
    (p / "half.ipynb").write_text("{}")
    lock = p.with_name(p.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    if locked:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return p, fd
    os.close(fd)
    return p, None


def test_stale_sweep_matches_exact_run_ids_only(tmp_path):
    import os

    from workbench.runner import _remove_stale

    other, fd = _scratch(tmp_path, "wave-2026-06", pid=1, locked=True)  # a live run (PID 1 is alive)
    other_dead, _ = _scratch(tmp_path, "wave-2026-07", locked=False)
    legacy = tmp_path / ".tmp-wave-2026-06-1234-abcdef12"  # the old naming: "wave" + "-2026-..."
    legacy.mkdir()
    mine, _ = _scratch(tmp_path, "wave", locked=False)
    _remove_stale(tmp_path, "wave")
    assert not mine.exists()
    assert other.exists() and other_dead.exists() and legacy.exists()
    os.close(fd)


def test_stale_sweep_respects_a_held_lock_whatever_the_pid(tmp_path):
    import os

    from workbench.runner import _remove_stale

    live, fd = _scratch(tmp_path, "wave", pid=4_000_001, locked=True)  # PID dead, lock held
    _remove_stale(tmp_path, "wave")
    assert live.exists()
    os.close(fd)  # the run ends without cleaning up (killed): its lock is free now
    _remove_stale(tmp_path, "wave")
    assert not live.exists() and not live.with_name(live.name + ".lock").exists()


WAVE_CODEBOOK = """\
version: 1
study: {id: waves, client: Wave Client}
datasets:
  survey:
    file: survey.csv
    id: resp_id
    columns: [resp_id, wave, period, region, email, score]
questions:
  resp_id: {type: id}
  wave: {type: numeric, integer: true}
  period: {type: text}
  region: {type: categorical, levels: {NA: North America, EU: Europe}}
  email: {type: text, pii: true}
  score: {type: likert, min: 1, max: 5}
"""

WAVE_PARAMS = """\
study = "demo"
client = "Test Client"
period = ""
language = "en"  # one of: en, zh
data = "demo"
codebook = "demo"
report_date = ""
low_base = {"caution": 50, "min_test": 30}
dataset = "survey"
wave: int | str = "latest"
n = 100
boom = False
output_dir = ""
"""


@pytest.fixture()
def wave_study(tmp_path, nbdir):
    d = tmp_path / "wstudy"
    d.mkdir()
    (d / "codebook.yaml").write_text(WAVE_CODEBOOK, encoding="utf-8")
    rows = ["resp_id,wave,period,region,email,score"]
    for w, per in ((6, "2026-05"), (7, "2026-06")):
        rows += [f"{w}{i},{w},{per},{'NA' if i % 2 else 'EU'},p{i}@example.com,{1 + i % 5}" for i in range(20)]
    (d / "survey.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    nb = make_notebook(nbdir, "wv", BODY, params=WAVE_PARAMS)
    return d, nb


def test_wave_carrying_the_previous_waves_period_is_refused(wave_study, tmp_path, capsys):
    d, nb = wave_study
    text = (d / "survey.csv").read_text().replace(",7,2026-06,", ",7,2026-05,")
    (d / "survey.csv").write_text(text)
    f = write_params(tmp_path / "p.yaml", nb, data=str(d), codebook=str(d / "codebook.yaml"))
    code, err = _validate(capsys, f)
    assert code == 2, err
    assert "wave 7's rows carry period '2026-05'" in err and "also the period of wave(s) 6" in err


def test_run_refuses_to_replace_another_waves_good_report(wave_study, tmp_path):
    import json

    from workbench.config import load_params
    from workbench.errors import ParamsError
    from workbench.runner import run_spec

    d, nb = wave_study
    f = write_params(tmp_path / "p.yaml", nb, data=str(d), codebook=str(d / "codebook.yaml"), run="fixed")
    spec = load_params(f)
    assert spec.params["wave"] == 7
    good = tmp_path / "o" / spec.params["study"] / "fixed"
    good.mkdir(parents=True)
    (good / "wv.html").write_text("wave 6 report")
    (good / "manifest.json").write_text(json.dumps({"status": "ok", "parameters": {"wave": 6}}))
    before = _sha(good / "wv.html")
    with pytest.raises(ParamsError, match="would replace the report of wave 6 with wave 7"):
        run_spec(spec, out=tmp_path / "o", formats=("html",))
    assert _sha(good / "wv.html") == before


def _fake_report(tmp_path, nb, formats=("html",)):
    """A params file and a 'last good report' whose manifest matches it exactly."""
    import json

    from workbench.config import load_params
    from workbench.io import sha256_file
    from workbench.runner import _safe_dest, fingerprint, input_files

    f = write_params(tmp_path / "p.yaml", nb)
    spec = load_params(f)
    out = tmp_path / "o"
    dest = _safe_dest(out, spec.params["study"], spec.run)
    dest.mkdir(parents=True)
    for k in formats:
        (dest / f"ok.{k}").write_text(f"report {k}")
    hashes = {str(p): sha256_file(p) for p in input_files(spec.params)}
    manifest = {"status": "ok", "fingerprint": fingerprint(spec.notebook, spec.params, hashes),
                "formats": sorted(formats), "output_sha256": {p.name: sha256_file(p) for p in dest.iterdir()},
                "timings": {"total_s": 1.0}}
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return f, out, dest


@pytest.mark.parametrize("change, skipped", [
    (None, True),
    ("formats", False),
    ("deleted", False),
    ("edited", False),
    ("old-manifest", False),
], ids=["unchanged", "more-formats", "file-deleted", "file-edited", "manifest-without-hashes"])
def test_skip_only_when_the_report_is_there_whole(nbdir, tmp_path, change, skipped):
    import json

    from workbench.batch import plan

    nb = make_notebook(nbdir, "ok", BODY)
    f, out, dest = _fake_report(tmp_path, nb)
    formats = ("html",)
    if change == "formats":
        formats = ("html", "pdf")
    elif change == "deleted":
        (dest / "ok.html").unlink()
    elif change == "edited":
        (dest / "ok.html").write_text("tampered")
    elif change == "old-manifest":
        m = json.loads((dest / "manifest.json").read_text())
        del m["output_sha256"]
        (dest / "manifest.json").write_text(json.dumps(m))
    todo, done = plan([f], out=out, formats=formats)
    assert (len(done) == 1 and done[0]["status"] == "skipped") is skipped
    assert (len(todo) == 1) is not skipped


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    import os

    from workbench.io import atomic_write_frame, atomic_write_text

    old = os.umask(umask)
    try:
        p = atomic_write_text(tmp_path / "x.txt", "x")
        q = atomic_write_frame(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == mode
    assert q.stat().st_mode & 0o777 == mode


def test_kernel_report_manifest_lists_formats_and_hashes(nbdir, tmp_path):
    import json

    nb, out, folder, before = _good_report(nbdir, tmp_path)
    m = json.loads((folder / "manifest.json").read_text())
    assert m["formats"] == ["html"]
    assert m["output_sha256"]["ok.html"] == before
    assert set(m["outputs"]) == set(m["output_sha256"]) | {"manifest.json"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    assert not list(folder.parent.glob("*.lock"))


# ============================================================================ 5. no leaks
def _check(notebook, params):
    from workbench.study import check_params

    return "\n".join(check_params(notebook, params))


@pytest.mark.parametrize("notebook, key", [
    ("02_wave_analysis", "mix_by"),
    ("03_key_drivers", "compare_by"),
    ("04_five_gap", "compare_by"),
], ids=["waves-mix_by", "drivers-compare_by", "gaps-compare_by"])
def test_pii_column_cannot_group_a_report(wave_study, notebook, key):
    d, _ = wave_study
    params = {"codebook": str(d / "codebook.yaml"), "data": str(d), "dataset": "survey", "customers": "survey",
              "weighting": "none", key: "email", "model": "F =~ score", "wave": "all", "brand": "all"}
    msg = _check(notebook, params)
    assert f"key '{key}': column 'email' holds personal data" in msg
    assert "@example.com" not in msg


def test_pii_column_cannot_be_a_stratum(wave_study, tmp_path):
    d, _ = wave_study
    frame = tmp_path / "frame.csv"
    frame.write_text("unit_id,email,region\n1,a@example.com,NA\n")
    msg = _check("01_sampling_frame", {"codebook": str(d / "codebook.yaml"), "data": str(d),
                                       "frame_file": str(frame), "strata": ["email"], "quota_marginal": []})
    assert "key 'strata': column 'email' holds personal data" in msg and "a@example.com" not in msg


def test_pii_values_never_appear_in_data_errors(tmp_path):
    from workbench.errors import DataError
    from workbench.io import read_survey

    cb = tmp_path / "codebook.yaml"
    cb.write_text("version: 1\nstudy: {id: s}\ndatasets:\n  d: {file: d.csv, id: email, columns: [email, phone]}\n"
                  "questions:\n  email: {type: id, pii: true}\n  phone: {type: numeric, pii: true}\n")
    (tmp_path / "d.csv").write_text("email,phone\nann@example.com,+44 20 7946 0958\nann@example.com,555\n")
    with pytest.raises(DataError) as err:
        read_survey(tmp_path / "d.csv", cb, "d")
    msg = str(err.value)
    assert "phone" in msg and "values not shown: personal data" in msg and "duplicated id" in msg
    assert "example.com" not in msg and "7946" not in msg


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"])
def test_formula_cells_are_neutralised_in_csv_and_xlsx(tmp_path, value):
    import openpyxl

    from workbench.io import atomic_write_frame

    df = pd.DataFrame({"label": [value, "plain"], "n": [-1.5, 2.0], "=head": ["a", "b"]})
    atomic_write_frame(df, tmp_path / "s.csv")
    back = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    assert back["label"][0] == "'" + value.replace("\r", "\n") or back["label"][0].startswith("'")
    assert back["n"].tolist() == [-1.5, 2.0]  # numbers stay numbers
    assert "'=head" in back.columns
    atomic_write_frame(df, tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    cell = ws["A2"]
    assert cell.data_type == "s" and cell.value.endswith(value.lstrip("\r\t"))  # text, not a formula
    assert ws["A1"].data_type == "s" and ws["C1"].data_type == "s"  # the header "=head" too
    assert ws["B2"].value == -1.5


def test_quota_sheets_neutralise_formula_labels(tmp_path):
    import openpyxl

    from workbench import sampling

    sheet = pd.DataFrame({"table": ["region", "region"], "cell": ['=HYPERLINK("http://x")', "south"],
                          "target": [10, 20], "min": [8, 18], "max": [12, 22]})
    out = sampling.write_quota_sheet(sheet, tmp_path / "quota")
    assert "'=HYPERLINK" in out["csv"].read_text(encoding="utf-8-sig")
    ws = openpyxl.load_workbook(out["xlsx"]).active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_undeclared_personal_data_is_masked_in_the_sample_draw(tmp_path):
    import warnings

    from workbench import sampling
    from workbench.errors import PIIWarning

    drawn = pd.DataFrame({"unit_id": ["1000001", "1000002"], "region": ["n", "s"],
                          "mobile": ["13800138000", "13900139000"], "full_name": ["Ann Lee", "Bo Li"],
                          "contact": ["ann@example.com", "bo@example.org"], "selected": [True, True]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = sampling.write_draw(drawn, tmp_path / "sample_draw.csv", codebook="demo")
    text = path.read_text()
    for leaked in ("13800138000", "Ann Lee", "example.com"):
        assert leaked not in text
    assert "1000001" in text  # ids are not phone numbers
    msgs = [str(w.message) for w in caught if issubclass(w.category, PIIWarning)]
    assert len(msgs) == 1 and "mobile" in msgs[0] and "example.com" not in msgs[0]


def test_declared_safe_column_is_kept(tmp_path):
    from workbench.io import likely_pii

    cb = tmp_path / "codebook.yaml"
    cb.write_text("version: 1\nstudy: {id: s}\nquestions:\n  store_phone: {type: text, pii: false}\n"
                  "  contact: {type: text}\n")
    df = pd.DataFrame({"store_phone": ["+44 20 7946 0958"] * 3, "contact": ["+44 20 7946 0958"] * 3})
    assert likely_pii(df, cb) == {"contact": "values look like phone numbers"}


@pytest.mark.parametrize("key, value", [("data", "s3://bucket/survey"), ("codebook", "gcs://b/codebook.yaml"),
                                        ("extra_file", "https://example.com/x.csv")])
def test_urls_in_path_keys_are_refused_by_name(nbdir, tmp_path, key, value):
    """A URL is not mangled into a path under the project: it is refused, naming file and key."""
    from workbench import config

    params = None
    if key == "extra_file":
        params = 'study = "demo"\nclient = "C"\nperiod = "2026-06"\nlanguage = "en"\ndata = "demo"\n' \
                 'codebook = "demo"\nextra_file = ""\noutput_dir = ""\n'
    nb = make_notebook(nbdir, "urls", "print(1)", params=params)
    f = write_params(tmp_path / "p.yaml", nb, **{key: value})
    with pytest.raises(config.ParamsError) as exc:
        config.load_params(f)
    assert f"{f}: key {key!r}: {value} is a URL" in str(exc.value)
