"""The report model: what a report says, as typed objects every output format renders.

A notebook shows its report through :mod:`workbench.report` (``heading``, ``md``, ``table``,
``figure``, ``note``, ``findings``); each call also records one block here, in order.  The blocks
are data, not markup:

- :class:`Table` keeps numbers as numbers.  Significance (``"up"``/``"down"`` or column letters)
  and base flags (``"caution"``, ``"no_test"``) live in frames of their own, beside named number
  formats, so HTML marks them with classes, the workbook with columns and conditional formats and
  the deck with footnotes, and nobody reads marks back out of cell text.
- :class:`Figure` is the chart as a picture plus, where the chart is a plain bar, line or scatter
  chart, the :class:`Chart` data behind it, so the deck can draw a native, editable chart.
- :class:`Finding` (key-findings box), :class:`Text` (a paragraph), :class:`Note` (a caution),
  :class:`Heading` (starts a section).

:class:`Report` holds the blocks and the run's metadata (title, study, client, period,
language), groups them into :class:`Section` s, and saves/loads itself as JSON (pictures as
base64), so the process that executed the notebook and the one that builds the deck need share
nothing but the file.  This module imports nothing of the workbench but :mod:`workbench.tables`
(display formats), so every layer may use it.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .tables import FORMATS, fmt

__all__ = ["Table", "Chart", "Series", "Figure", "Finding", "Text", "Note", "Heading", "Section",
           "Report", "attach_chart", "chart_of", "SIG_UP", "SIG_DOWN", "BASE_CAUTION", "BASE_NO_TEST", "MODEL_FILE"]

SIG_UP, SIG_DOWN = "up", "down"
BASE_CAUTION, BASE_NO_TEST = "caution", "no_test"
#: Name of the model file a run leaves in its scratch folder for the exporters.
MODEL_FILE = ".report-model.json"

_ARROWS = {SIG_UP: "▲", SIG_DOWN: "▼"}


def _frame_to_json(df: pd.DataFrame | None):
    if df is None:
        return None
    return json.loads(df.to_json(orient="split", date_format="iso", default_handler=str))


def _frame_from_json(obj) -> pd.DataFrame | None:
    if obj is None:
        return None
    frame = pd.DataFrame(obj["data"], columns=obj["columns"])
    index = obj["index"]
    frame.index = pd.Index(index) if index and not isinstance(index[0], list) else (
        pd.MultiIndex.from_tuples([tuple(i) for i in index]) if index else pd.RangeIndex(0))
    return frame


@dataclass
class Table:
    """A table of a report.

    Parameters
    ----------
    data : DataFrame
        The values, numbers as numbers (text columns as text).  Row order is display order.
    formats : dict
        Column → a named format of :data:`workbench.tables.FORMATS` (``pct1``, ``num2``...).
        Numeric columns without one are shown with ``num1``.
    labels : dict
        Column → header text in the report's language.
    sig : DataFrame, optional
        Same index as ``data``, some of its columns: the mark shown beside a value — ``"up"``,
        ``"down"``, column letters (``"AB"``), a note mark the table's note explains (``"†"``)
        — or ``""``.
    base_flags : DataFrame, optional
        Same index as ``data``, some of its columns: ``"caution"`` or ``"no_test"`` (both shown
        with ``*``; ``no_test`` cells are also never marked significant) or ``""``.
    cell_formats : DataFrame, optional
        Same index as ``data``, some of its columns: a named format for single cells, overriding
        the column's (a KPI column holding an NPS to one decimal and means to two).
    caption, note : str, optional
        Title above and the note below (bases, legend).
    text_columns : list, optional
        Columns aligned left (default: the non-numeric ones).
    """

    data: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    sig: pd.DataFrame | None = None
    base_flags: pd.DataFrame | None = None
    caption: str | None = None
    note: str | None = None
    text_columns: list[str] | None = None
    cell_formats: pd.DataFrame | None = None
    kind: Literal["table"] = "table"

    def __post_init__(self):
        for name in ("sig", "base_flags", "cell_formats"):
            extra = getattr(self, name)
            if extra is None:
                continue
            unknown = [c for c in extra.columns if c not in self.data.columns]
            if unknown:
                raise ValueError(f"Table.{name}: columns {unknown} are not in the table")
            if not extra.index.equals(self.data.index):
                raise ValueError(f"Table.{name}: its rows must be the table's rows")
        unknown = [c for c in self.formats if c not in self.data.columns]
        if unknown:
            raise ValueError(f"Table.formats: columns {unknown} are not in the table")
        bad = [f for f in self.formats.values() if isinstance(f, str) and f not in FORMATS]
        if self.cell_formats is not None:
            bad += sorted({str(f) for f in self.cell_formats.stack().tolist() if f and f not in FORMATS})
        if bad:
            raise ValueError(f"Table.formats: unknown formats {bad}; known: {', '.join(FORMATS)}")

    def is_text(self, column) -> bool:
        s = self.data[column]
        return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)

    def format_of(self, column) -> str:
        return self.formats.get(column) or ("text" if self.is_text(column) else "num1")

    def formats_of(self, column) -> list[str]:
        """The named format of each cell of ``column`` (its own where ``cell_formats`` sets one)."""
        default = self.format_of(column)
        if self.cell_formats is None or column not in self.cell_formats.columns:
            return [default] * len(self.data)
        return [f if isinstance(f, str) and f else default for f in self.cell_formats[column].tolist()]

    def header(self, column) -> str:
        return str(self.labels.get(column, column))

    def sig_of(self, column) -> list[str]:
        if self.sig is None or column not in self.sig.columns:
            return [""] * len(self.data)
        return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                for v in self.sig[column].tolist()]

    def flags_of(self, column) -> list[str]:
        if self.base_flags is None or column not in self.base_flags.columns:
            return [""] * len(self.data)
        return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                for v in self.base_flags[column].tolist()]

    def cells(self) -> pd.DataFrame:
        """Display text of every cell: the formatted value, its significance mark and ``*``."""
        out = {}
        for c in self.data.columns:
            text = [fmt([v], f)[0] for v, f in zip(self.data[c].tolist(), self.formats_of(c))]
            marks = self.sig_of(c)
            flags = self.flags_of(c)
            shown = []
            for v, s, f in zip(text, marks, flags):
                if s and v not in ("", "–"):
                    v = f"{v} {_ARROWS.get(s, s)}"
                if f in (BASE_CAUTION, BASE_NO_TEST) and v not in ("", "–"):
                    v = f"{v}*"
                shown.append(v)
            out[c] = shown
        return pd.DataFrame(out, index=self.data.index, columns=self.data.columns)

    def to_json(self) -> dict:
        return {"kind": "table", "data": _frame_to_json(self.data), "formats": dict(self.formats),
                "labels": {str(k): v for k, v in self.labels.items()}, "sig": _frame_to_json(self.sig),
                "base_flags": _frame_to_json(self.base_flags), "caption": self.caption, "note": self.note,
                "text_columns": self.text_columns, "cell_formats": _frame_to_json(self.cell_formats)}

    @classmethod
    def from_json(cls, obj: dict) -> Table:
        return cls(data=_frame_from_json(obj["data"]), formats=obj["formats"], labels=obj["labels"],
                   sig=_frame_from_json(obj["sig"]), base_flags=_frame_from_json(obj["base_flags"]),
                   caption=obj["caption"], note=obj["note"], text_columns=obj["text_columns"],
                   cell_formats=_frame_from_json(obj.get("cell_formats")))


@dataclass
class Series:
    """One series of a chart: a name and one value per category (``x`` for scatter charts), and
    the colour (``#rrggbb``) the report draws it in, so every format keeps one colour per group."""

    name: str
    values: list[float | None]
    x: list[float | None] | None = None
    color: str | None = None


@dataclass
class Chart:
    """The data behind a plain chart, for formats that draw their own (native deck charts).

    ``kind``: ``bar`` (vertical), ``barh`` (horizontal), ``stacked_barh``, ``line`` or ``scatter``;
    categories in drawing order (horizontal bars bottom first, as matplotlib and PowerPoint draw
    them).  ``number_format`` is an Excel number format for the values (``0.0``, ``0%``); ``note``
    the base and significance line a format shows under the chart.
    """

    kind: Literal["bar", "barh", "stacked_barh", "line", "scatter"]
    categories: list[str]
    series: list[Series]
    title: str | None = None
    x_title: str | None = None
    y_title: str | None = None
    number_format: str = "0.0"
    note: str | None = None

    def __post_init__(self):
        self.series = [s if isinstance(s, Series) else Series(**s) for s in self.series]
        for s in self.series:
            n = len(s.x) if self.kind == "scatter" and s.x is not None else len(self.categories)
            if len(s.values) != n:
                raise ValueError(f"Chart series {s.name!r}: {len(s.values)} values for {n} points")
            s.values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                        for v in s.values]
            if s.color is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", str(s.color)):
                raise ValueError(f"Chart series {s.name!r}: colour {s.color!r} is not #rrggbb")


_CHART_ATTR = "_cx_chart"


def attach_chart(fig, chart: Chart):
    """Attach the data behind a plain chart to its matplotlib figure; returns the figure.

    Plot functions call this for bar, line and scatter charts, so :func:`workbench.report.figure`
    records a :class:`Figure` the deck can redraw as a native, editable chart.
    """
    setattr(fig, _CHART_ATTR, chart)
    return fig


def chart_of(fig) -> Chart | None:
    """The chart data attached to ``fig`` (``None`` for charts that stay pictures)."""
    return getattr(fig, _CHART_ATTR, None)


@dataclass
class Figure:
    """A chart: the picture (PNG) every format can show, and its data where it is a plain chart."""

    png: bytes
    alt: str
    width_in: float
    height_in: float
    chart: Chart | None = None
    title: str | None = None
    kind: Literal["figure"] = "figure"

    def to_json(self) -> dict:
        return {"kind": "figure", "png": base64.b64encode(self.png).decode("ascii"), "alt": self.alt,
                "width_in": self.width_in, "height_in": self.height_in, "title": self.title,
                "chart": None if self.chart is None else asdict(self.chart)}

    @classmethod
    def from_json(cls, obj: dict) -> Figure:
        chart = obj.get("chart")
        return cls(png=base64.b64decode(obj["png"]), alt=obj["alt"], width_in=obj["width_in"],
                   height_in=obj["height_in"], title=obj.get("title"),
                   chart=None if chart is None else Chart(**chart))


@dataclass
class Finding:
    """A key-findings box: bullets (Markdown bold allowed) under a title."""

    items: list[str]
    title: str | None = None
    kind: Literal["finding"] = "finding"


@dataclass
class Text:
    """A paragraph of Markdown."""

    text: str
    kind: Literal["text"] = "text"


@dataclass
class Note:
    """A caution box (low bases, convergence, data notes)."""

    text: str
    kind: Literal["note"] = "note"


@dataclass
class Heading:
    """A heading; level 1 and 2 start a section."""

    text: str
    level: int = 2
    kind: Literal["heading"] = "heading"


Block = Table | Figure | Finding | Text | Note | Heading
_SIMPLE = {"finding": Finding, "text": Text, "note": Note, "heading": Heading}


@dataclass
class Section:
    """A heading and the blocks under it (the blocks before any heading have ``heading=None``)."""

    heading: Heading | None
    blocks: list[Any]

    @property
    def title(self) -> str:
        return self.heading.text if self.heading else ""

    def of(self, kind: type) -> list:
        return [b for b in self.blocks if isinstance(b, kind)]


@dataclass
class Report:
    """A report's blocks in order and the run's metadata (``title``, ``study``, ``client``...)."""

    meta: dict[str, Any] = field(default_factory=dict)
    blocks: list[Any] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.meta.get("language", "en")

    def add(self, block) -> None:
        self.blocks.append(block)

    def sections(self, *, level: int = 2) -> list[Section]:
        """Blocks grouped under headings of ``level`` or higher (1 is highest)."""
        out: list[Section] = [Section(None, [])]
        for b in self.blocks:
            if isinstance(b, Heading) and b.level <= level:
                out.append(Section(b, []))
            else:
                out[-1].blocks.append(b)
        return [s for s in out if s.heading is not None or s.blocks]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    def findings(self) -> list[Finding]:
        return [b for b in self.blocks if isinstance(b, Finding)]

    def to_json(self) -> dict:
        blocks = []
        for b in self.blocks:
            blocks.append(b.to_json() if hasattr(b, "to_json") else asdict(b))
        return {"meta": self.meta, "blocks": blocks}

    @classmethod
    def from_json(cls, obj: dict) -> Report:
        blocks = []
        for b in obj.get("blocks", []):
            kind = b.get("kind")
            if kind == "table":
                blocks.append(Table.from_json(b))
            elif kind == "figure":
                blocks.append(Figure.from_json(b))
            elif kind in _SIMPLE:
                blocks.append(_SIMPLE[kind](**{k: v for k, v in b.items() if k != "kind"}))
            else:
                raise ValueError(f"report model: unknown block kind {kind!r}")
        return cls(meta=dict(obj.get("meta", {})), blocks=blocks)

    def save(self, path: Path) -> None:
        """Write the model as JSON (atomically: a reader never sees half a file)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Report:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
