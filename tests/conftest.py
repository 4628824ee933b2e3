"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture()
def nbdir(tmp_path):
    """A folder for notebooks made by a test."""
    d = tmp_path / "nb"
    d.mkdir()
    return d
