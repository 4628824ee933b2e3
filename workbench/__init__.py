"""CX Workbench: sampling design, wave tracking, key drivers and 5-GAP diagnosis for CX research."""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("cx-workbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

#: The folder holding the package.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The project root (the folder with notebooks/, params/, reports/) when run from a checkout.
PROJECT_ROOT = PACKAGE_DIR.parent
