"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture()
def nbdir(tmp_path, monkeypatch):
    """A folder for notebooks made by a test (trusted: params files may name its notebooks)."""
    d = tmp_path / "nb"
    d.mkdir()
    monkeypatch.setenv("WORKBENCH_NOTEBOOKS", str(d))
    return d


class DemoReports:
    """Each demo params file run once per test session (PDF, HTML and deck), shared by every test."""

    def __init__(self, out):
        self.out = out
        self._done = {}
        self._renderer = None

    def __call__(self, params_name: str):
        """Run ``params/demo/<params_name>.yaml`` (once) and return its ``RunResult``."""
        from workbench import PROJECT_ROOT
        from workbench.export import PDFRenderer
        from workbench.runner import run

        if params_name not in self._done:
            if self._renderer is None:
                self._renderer = PDFRenderer()
            self._done[params_name] = run(params_file=PROJECT_ROOT / "params" / "demo" / f"{params_name}.yaml",
                                          out=self.out, renderer=self._renderer, formats=("html", "pdf", "pptx"))
        return self._done[params_name]

    def text(self, params_name: str) -> str:
        """The PDF's text (``pdftotext -layout``)."""
        import subprocess

        res = self(params_name)
        pdf = res.files["pdf"]
        return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout

    def close(self):
        if self._renderer is not None:
            self._renderer.close()


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory):
    """Run demo params files once per session: ``demo_reports("waves")`` → RunResult."""
    reports = DemoReports(tmp_path_factory.mktemp("demo-reports"))
    yield reports
    reports.close()
