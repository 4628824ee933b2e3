"""Study codebooks: questions, scales, labels (en/zh), missing codes, constructs, SERVQUAL map.

A codebook is one YAML file per study (format and a full example: ``docs/codebook.md``).
:func:`load_codebook` reads it, validates it with pydantic and checks its cross-references
(construct items, outcomes and dataset columns must be defined questions).  A malformed codebook
raises :class:`~workbench.errors.CodebookError` whose message names the file and the key path, e.g.
``codebook.yaml: questions.csat.max: expected a number, got 'five'``.

The returned :class:`Codebook` is a frozen pydantic model; treat its mappings as read-only.

Examples
--------
>>> from workbench.codebook import load_codebook
>>> cb = load_codebook("demo")
>>> cb.label("nps", "zh")
'推荐可能性'
>>> cb.servqual_dimensions()["tangibles"]
['tan1', 'tan2', 'tan3', 'tan4']
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from workbench import PACKAGE_DIR
from workbench._safeyaml import PlainLoader, YamlLimits, load_yaml_file
from workbench.errors import CodebookError
from workbench.i18n import LANGUAGES, t

__all__ = [
    "Codebook",
    "Question",
    "Dataset",
    "Construct",
    "Servqual",
    "ServqualDimension",
    "Antecedent",
    "Brand",
    "CodingFrame",
    "CodingTheme",
    "CodingNet",
    "QUESTION_TYPES",
    "SCALE_TYPES",
    "ROLES",
    "load_codebook",
    "bundled_codebook_path",
]

#: Every question type a codebook may use.
QUESTION_TYPES = ("nps", "likert", "categorical", "numeric", "id", "weight", "text", "date")
#: Question types whose values are scale points (missing codes apply, values must lie in min..max).
SCALE_TYPES = ("nps", "likert")

Labels = dict[str, str]



def _derived_label(key: str, labels, fallback: str) -> dict[str, str]:
    """Labels of a question the codebook derives (``Expectation: <item>``) in every language, from
    the label table and the item's own labels (English, else its name, where a language lacks one)."""
    labels = labels or {}
    return {lang: t(key, lang, label=labels.get(lang) or labels.get("en") or fallback) for lang in LANGUAGES}

class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _norm_level_key(key: Any, qtype: str) -> str:
    """Level keys are stored as text; scale anchors as the integer's text ("7")."""
    if isinstance(key, bool):
        raise ValueError(
            f"levels: {key!r} was read by YAML as true/false; quote the level (\"yes\", \"no\", \"on\")"
        )
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    if qtype in SCALE_TYPES and not isinstance(key, int):
        try:
            key = int(str(key))
        except ValueError:
            raise ValueError(f"levels: {key!r}: expected a whole-number scale point") from None
    return str(key)


def _norm_labels(value: Any) -> Any:
    """A label may be written as plain text (English) or as {lang: text}."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    return value


def _labels_normalised(data: dict) -> dict:
    """A copy of a raw mapping whose ``label`` (if any) is ``{lang: text}``."""
    data = dict(data)
    if "label" in data:
        data["label"] = _norm_labels(data["label"])
    return data


class QuestionNet(_Model):
    """A net of a question's answers: its id, labels and the level codes it adds up."""

    net: str
    label: Labels = Field(default_factory=dict)
    codes: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = _labels_normalised(data)
            codes = data.get("codes")
            if isinstance(codes, list):
                data["codes"] = [_norm_level_key(c, "categorical") for c in codes]  # 5, 5.0 -> "5"
            if "net" in data and not isinstance(data["net"], bool):
                data["net"] = str(data["net"])
        return data


class Question(_Model):
    """One column of a dataset.

    Attributes
    ----------
    type : str
        One of :data:`QUESTION_TYPES`.
    label : dict
        ``{language: text}``.
    min, max : float, optional
        Scale end points (``nps`` defaults to 0..10; ``likert`` requires both) or bounds of a
        numeric column.
    top_box : int, optional
        Number of top scale points counted as "top box" (e.g. 2 for top-2-box).
    integer : bool
        Values must be whole numbers (default true for scales).
    levels : dict
        Categorical levels (or scale anchor labels) ``{level: {language: text}}`` in display order.
    ordered : bool
        Categorical levels have a natural order.
    nets : list, optional
        Nets of answers shown as rows of the question's tables (tab book), each
        ``{net: id, label: {language: text}, codes: [level codes or scale points]}``; e.g. a
        "North + South" net of a region, "Very/fairly satisfied" of a scale.
    pii : bool
        Personal data; masked by :func:`workbench.io.mask_pii`.
    missing_codes : list of int, optional
        Codes read as missing; default: the study's codes for scale questions, none otherwise.
    format : str, optional
        ``strftime`` format of a date column (default ISO ``%Y-%m-%d``).
    note : str, optional
        Free documentation (e.g. the direction of a scale).
    """

    type: Literal["nps", "likert", "categorical", "numeric", "id", "weight", "text", "date"]
    label: Labels = Field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    top_box: int | None = None
    integer: bool | None = None
    levels: dict[str, Labels] = Field(default_factory=dict)
    ordered: bool = False
    nets: list[QuestionNet] = Field(default_factory=list)
    pii: bool = False
    missing_codes: list[int] | None = None
    format: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = _labels_normalised(data)
        qtype = data.get("type")
        levels = data.get("levels")
        if isinstance(levels, dict) and isinstance(qtype, str):
            data["levels"] = {
                _norm_level_key(k, qtype): _norm_labels(v) for k, v in levels.items()
            }
        elif isinstance(levels, list) and isinstance(qtype, str):
            data["levels"] = {_norm_level_key(k, qtype): {} for k in levels}
        if qtype == "nps":
            data.setdefault("min", 0)
            data.setdefault("max", 10)
        return data

    @model_validator(mode="after")
    def _check(self) -> "Question":
        t = self.type
        if t == "likert" and (self.min is None or self.max is None):
            raise ValueError("a likert question needs both min and max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        if t in SCALE_TYPES:
            if self.integer is False:
                raise ValueError(f"a {t} scale has whole-number points; integer cannot be false")
            for name in ("min", "max"):
                v = getattr(self, name)
                if not float(v).is_integer():
                    raise ValueError(f"{name}: expected a whole-number scale point, got {v:g}")
        if self.top_box is not None:
            if t not in SCALE_TYPES:
                raise ValueError(f"top_box applies to scale questions (nps, likert), not {t}")
            points = int(self.max - self.min + 1)
            if not 1 <= self.top_box < points:
                raise ValueError(f"top_box: expected 1..{points - 1} scale points, got {self.top_box}")
        if t == "categorical" and not self.levels:
            raise ValueError("a categorical question needs levels")
        if self.levels and t not in ("categorical", *SCALE_TYPES):
            raise ValueError(f"levels apply to categorical and scale questions, not {t}")
        if t in SCALE_TYPES and self.levels:
            for k in self.levels:
                if not self.min <= int(k) <= self.max:
                    raise ValueError(
                        f"levels: scale point {k} lies outside {self.min:g}..{self.max:g}"
                    )
        if self.nets:
            if t not in ("categorical", *SCALE_TYPES):
                raise ValueError(f"nets apply to categorical and scale questions, not {t}")
            known = (set(self.levels) if t == "categorical"
                     else {str(int(v)) for v in range(int(self.min), int(self.max) + 1)})
            ids = [n.net for n in self.nets]
            if len(set(ids)) < len(ids):
                raise ValueError(f"nets: an id is used twice ({', '.join(sorted({i for i in ids if ids.count(i) > 1}))})")
            for n in self.nets:
                bad = [c for c in n.codes if c not in known]
                if bad:
                    raise ValueError(f"nets: net {n.net!r}: {', '.join(map(repr, bad))} "
                                     f"{'is not a level' if len(bad) == 1 else 'are not levels'} of the question")
        if self.ordered and t != "categorical":
            raise ValueError("ordered applies to categorical questions only")
        if self.format is not None and t != "date":
            raise ValueError("format applies to date questions only")
        if self.missing_codes and t not in ("nps", "likert", "numeric"):
            raise ValueError(f"missing_codes apply to scale and numeric questions, not {t}")
        return self

    @property
    def is_scale(self) -> bool:
        """True for nps and likert questions."""
        return self.type in SCALE_TYPES

    @property
    def is_integer(self) -> bool:
        """True when values must be whole numbers."""
        if self.integer is None:
            return self.type in SCALE_TYPES
        return bool(self.integer)


#: Roles a dataset's columns can play; the notebooks take their defaults from them.
ROLES = ("wave", "period", "brand", "weight")
#: Question types each role accepts.
_ROLE_TYPES = {"wave": ("numeric",), "period": ("date", "categorical", "text"),
               "brand": ("categorical",), "weight": ("weight",)}


class Dataset(_Model):
    """One data file of the study: its file name, id column(s), required columns and roles.

    ``id`` is written in YAML as one column name or a list (composite key); it is stored as a list.
    ``roles`` names the column that plays each of :data:`ROLES` (``{wave: wave_no, brand: bank,
    weight: wt}``); a role left out is played by a column of the role's own name when the dataset
    has one (``wave``, ``period``, ``brand``) or, for ``weight``, by the dataset's only weight
    column.  A dataset without a wave role has no waves; without a brand role, no brands.
    """

    file: str
    id: list[str] = Field(default_factory=list)
    label: Labels = Field(default_factory=dict)
    columns: list[str] = Field(default_factory=list)
    roles: dict[Literal["wave", "period", "brand", "weight"], str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = _labels_normalised(data)
            if data.get("columns") is None and "columns" in data:
                data["columns"] = []
            if isinstance(data.get("id"), str):
                data["id"] = [data["id"]]
            elif data.get("id") is None:
                data["id"] = []
        return data

    @property
    def id_columns(self) -> list[str]:
        """The id column(s) as a list (empty when the dataset has no id)."""
        return list(self.id)


class _Labelled(_Model):
    """A model with a ``label`` written as plain text (English) or ``{lang: text}``."""

    label: Labels = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict) and "label" in data:
            data = {**data, "label": _norm_labels(data["label"])}
        return data


class Construct(_Labelled):
    """A latent construct measured by several items."""

    items: list[str] = Field(min_length=1)


class ServqualDimension(Construct):
    """A SERVQUAL dimension and its item codes."""


class ServqualScale(_Model):
    min: int = 1
    max: int = 7


class Antecedent(_Labelled):
    """An antecedent scale of gaps 1-4 (Zeithaml, Berry & Parasuraman 1988).

    ``direction`` is +1 when more of it narrows the gap, -1 when it widens it; ``scale`` is
    ``agreement`` (items on the SERVQUAL scale) or ``count`` (a whole number >= 0).
    """

    gap: Literal[1, 2, 3, 4]
    direction: Literal[1, -1] = 1
    scale: Literal["agreement", "count"] = "agreement"
    items: list[str] = Field(min_length=1)


def _check_pattern(key: str, pattern: str, placeholder: str) -> None:
    """A column-name pattern holds ``{placeholder}`` and nothing else in braces (no other name,
    no index, attribute, conversion or format: ``{item.x}`` or ``{0}`` would fail or misname)."""
    import string

    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(pattern) if f is not None
                  for f in [(f, spec, conv)]]
    except ValueError as exc:
        raise ValueError(f"{key}: the pattern {pattern!r} is not valid ({exc}); write literal braces "
                         "as {{ and }}") from None
    if not any(f == placeholder for f, _, _ in fields):
        raise ValueError(f"{key}: the pattern must contain {{{placeholder}}}, got {pattern!r}")
    for f, spec, conv in fields:
        if f != placeholder or spec or conv:
            shown = "{" + f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"{key}: the pattern {pattern!r} has the placeholder {shown}; only "
                             f"{{{placeholder}}} can be used here")


class Servqual(_Model):
    """SERVQUAL item map and column-name patterns (``{item}`` / ``{dimension}`` placeholders).

    Customer survey: ``expectation``, ``perception``, ``adequate``, ``desired`` (per item) and
    ``importance`` (per dimension).  Management/staff survey (gaps 1-4): ``mgmt_expectation``
    (per item: management's view of customers' expectations), ``specification``, ``delivery``
    and ``promise`` (per dimension), and the ``antecedents`` scales.
    """

    dimensions: dict[str, ServqualDimension] = Field(min_length=1)
    expectation: str = "E_{item}"
    perception: str = "P_{item}"
    adequate: str = "ADQ_{item}"
    desired: str = "DES_{item}"
    importance: str = "imp_{dimension}"
    mgmt_expectation: str = "ME_{item}"
    specification: str = "SPEC_{dimension}"
    delivery: str = "DEL_{dimension}"
    promise: str = "PROM_{dimension}"
    importance_total: float = 100
    scale: ServqualScale = Field(default_factory=ServqualScale)
    items: dict[str, Labels] = Field(default_factory=dict)
    antecedents: dict[str, Antecedent] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("items"), dict):
            data = {**data, "items": {k: _norm_labels(v) for k, v in data["items"].items()}}
        return data

    @model_validator(mode="after")
    def _check(self) -> "Servqual":
        for key in ("expectation", "perception", "adequate", "desired", "mgmt_expectation"):
            _check_pattern(key, getattr(self, key), "item")
        for key in ("importance", "specification", "delivery", "promise"):
            _check_pattern(key, getattr(self, key), "dimension")
        if self.scale.min >= self.scale.max:
            raise ValueError(f"scale: min ({self.scale.min}) must be below max ({self.scale.max})")
        return self


class Study(_Model):
    id: str
    client: str = ""
    title: Labels = Field(default_factory=dict)
    category: Labels = Field(default_factory=dict)
    our_brand: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["en"])

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("title", "category"):
                if key in data:
                    data[key] = _norm_labels(data[key])
        return data


class CodingTheme(_Model):
    """One theme of a coding frame: its label and the rules that find it in an answer.

    ``keywords`` and ``patterns`` are keyed by language (``en``, ``zh``, …).  A keyword matches
    whole words: English keywords and answers are lower-cased and stemmed (``charges`` finds
    *charge*, *charged*, *charging*; several words must follow one another), Chinese keywords
    must be words of the answer as ``jieba`` segments it.  A pattern is a regular expression
    searched in the lower-cased answer.
    """

    label: Labels = Field(default_factory=dict)
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    patterns: dict[str, list[str]] = Field(default_factory=dict)
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = _labels_normalised(data)
            for key in ("keywords", "patterns"):  # a plain list is English
                if isinstance(data.get(key), list):
                    data[key] = {"en": data[key]}
        return data

    @model_validator(mode="after")
    def _check(self) -> "CodingTheme":
        for lang, words in self.keywords.items():
            for i, word in enumerate(words):
                if not word.strip():
                    raise ValueError(f"keywords.{lang}[{i}]: a keyword cannot be blank")
        for lang, pats in self.patterns.items():
            for i, pat in enumerate(pats):
                try:
                    re.compile(pat)
                except re.error as exc:
                    raise ValueError(f"patterns.{lang}[{i}]: {pat!r} is not a regular expression "
                                     f"({exc})") from None
        if not any(self.keywords.values()) and not any(self.patterns.values()):
            raise ValueError("a theme needs at least one keyword or pattern")
        return self


class CodingNet(_Labelled):
    """A net: a group of themes counted once (an answer in any of them is in the net)."""

    themes: list[str] = Field(min_length=1)


_CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Names a theme or net cannot take (they name the coder's own columns).
CODING_RESERVED = ("other", "status")


class CodingFrame(_Model):
    """The coding frame of one open-ended (text) question (used by :mod:`workbench.verbatims`).

    Attributes
    ----------
    themes : dict
        ``{theme: CodingTheme}``, in display order; an answer may fall in several themes.
    nets : dict
        ``{net: CodingNet}``: groups of themes.
    other : dict
        Label of the answers that say something but fall in no theme.
    min_chars : int
        Answers shorter than this (letters and digits, after trimming) are coded "too short".
    non_answers : dict
        ``{lang: [answers]}`` read as "no answer" (``no comment``, ``无``), besides the built-in ones.
    """

    themes: dict[str, CodingTheme] = Field(min_length=1)
    nets: dict[str, CodingNet] = Field(default_factory=dict)
    other: Labels = Field(default_factory=lambda: {lang: t("codebook.coding.other", lang) for lang in LANGUAGES})
    min_chars: int = Field(default=2, ge=0)
    non_answers: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "other" in data:
                data["other"] = _norm_labels(data["other"])
            if isinstance(data.get("non_answers"), list):
                data["non_answers"] = {"en": data["non_answers"]}
        return data

    @model_validator(mode="after")
    def _check(self) -> "CodingFrame":
        for kind, names in (("themes", self.themes), ("nets", self.nets)):
            for name in names:
                if not _CODE_RE.fullmatch(name):
                    raise ValueError(f"{kind}.{name}: a name is a letter then letters, digits or _")
                if name in CODING_RESERVED:
                    raise ValueError(f"{kind}.{name}: {name!r} is reserved; choose another name")
        for name, net in self.nets.items():
            if name in self.themes:
                raise ValueError(f"nets.{name}: a theme has the same name")
            for i, theme in enumerate(net.themes):
                if theme not in self.themes:
                    raise ValueError(f"nets.{name}.themes[{i}]: {theme!r} is not a theme"
                                     + _suggest(theme, self.themes))
        return self


#: Image files a brand logo may be (those every output format can embed).
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
#: Largest logo file read (bytes).
LOGO_MAX_BYTES = 5_000_000
_COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_FONT_RE = re.compile(r"[^\x00-\x1f\x7f<>&\"'\\/;{}]{1,64}")


class Brand(_Model):
    """The client's look, used by the PDF, the deck and the workbook alike.

    ``logo`` is an image file (PNG, JPEG, GIF, BMP) given relative to the codebook's folder and
    inside it; ``palette`` the colours of charts and table headers (``#RRGGBB``, the client's
    main colour first); ``font`` a font family name for Latin text (Chinese text keeps its CJK
    font).
    """

    logo: str | None = None
    palette: list[str] = Field(default_factory=list)
    font: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "Brand":
        for i, colour in enumerate(self.palette):
            if not _COLOUR_RE.fullmatch(colour):
                raise ValueError(f"palette[{i}]: expected a colour as #RRGGBB (e.g. #1f5f8b), got {colour!r}")
        if len(self.palette) > 24:
            raise ValueError(f"palette: at most 24 colours, got {len(self.palette)}")
        if self.font is not None and not _FONT_RE.fullmatch(self.font):
            raise ValueError(f"font: expected a font family name (up to 64 characters, no markup), got "
                             f"{self.font[:80]!r}")
        if self.logo is not None:
            logo = self.logo.replace("\\", "/")
            parts = logo.split("/")
            if (not logo.strip() or logo.startswith("/") or re.match(r"[A-Za-z]:", logo) or ".." in parts
                    or "\x00" in logo):
                raise ValueError(f"logo: expected a file name relative to the codebook's folder (inside it), "
                                 f"got {self.logo!r}")
            if not logo.lower().endswith(LOGO_SUFFIXES):
                raise ValueError(f"logo: expected an image file ({', '.join(LOGO_SUFFIXES)}), got {self.logo!r}")
        return self


class Codebook(_Model):
    """A validated study codebook.

    Build one with :func:`load_codebook` (or :meth:`from_dict`); both validate the
    cross-references as well as each entry.

    Examples
    --------
    >>> cb = load_codebook("demo")
    >>> cb.question("csat").max
    5.0
    >>> cb.level_label("brand", "aurora", "zh")
    '极光通信'
    >>> cb.construct_items()["PRD"]
    ['prd1', 'prd2', 'prd3']
    """

    version: int = 1
    study: Study
    missing_codes: dict[int, Labels] = Field(default_factory=dict)
    datasets: dict[str, Dataset] = Field(default_factory=dict)
    questions: dict[str, Question] = Field(default_factory=dict)
    constructs: dict[str, Construct] = Field(default_factory=dict)
    outcomes: dict[str, str] = Field(default_factory=dict)
    servqual: Servqual | None = None
    coding_frames: dict[str, CodingFrame] = Field(default_factory=dict)
    brand: Brand | None = None

    _source: str = PrivateAttr(default="<codebook>")
    _folder: Path | None = PrivateAttr(default=None)
    _implied: dict[str, Question] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            codes = data.get("missing_codes")
            if isinstance(codes, list):
                data = {**data, "missing_codes": {c: {} for c in codes}}
            elif isinstance(codes, dict):
                data = {**data, "missing_codes": {k: _norm_labels(v) for k, v in codes.items()}}
            elif codes is None and "missing_codes" in data:
                data = {**data, "missing_codes": {}}
        return data

    def model_post_init(self, __context: Any) -> None:
        self._implied = self._implied_questions()

    def brand_logo_path(self) -> Path | None:
        """The brand logo's file (``None`` without one, or for a codebook not read from a file).

        Raises :class:`~workbench.errors.CodebookError` when the logo is missing, outside the
        codebook's folder (a link pointing away) or larger than :data:`LOGO_MAX_BYTES`.
        """
        if self.brand is None or not self.brand.logo or self._folder is None:
            return None
        folder = self._folder.resolve()
        path = (folder / self.brand.logo.replace("\\", "/")).resolve()
        where = f"{self._source}: brand.logo"
        if not path.is_relative_to(folder):
            raise CodebookError(f"{where}: {self.brand.logo!r} points outside the codebook's folder")
        if not path.is_file():
            raise CodebookError(f"{where}: file {self.brand.logo!r} not found next to the codebook")
        if path.stat().st_size > LOGO_MAX_BYTES:
            raise CodebookError(f"{where}: {self.brand.logo!r} is larger than {LOGO_MAX_BYTES // 1_000_000} MB")
        return path

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "<codebook>") -> "Codebook":
        """Validate a parsed codebook mapping; errors name ``source`` and the key path."""
        if not isinstance(data, dict):
            raise CodebookError(
                f"{source}: expected a mapping of codebook sections at the top level, "
                f"got {type(data).__name__}"
            )
        try:
            cb = cls.model_validate(data)
        except ValidationError as exc:
            raise CodebookError(_format_validation_error(exc, source)) from None
        cb._source = source
        problems = cb._reference_problems()
        if problems:
            raise CodebookError("\n".join(f"{source}: {p}" for p in problems))
        return cb

    def _implied_questions(self) -> dict[str, Question]:
        out: dict[str, Question] = {}
        # a role played by a column of another name is also known by the role's name, so the
        # analyses' own names (wave, period, brand) find the study's question and its labels
        for ds in self.datasets.values():
            for role, col in ds.roles.items():
                if role != "weight" and role != col and role not in self.questions and col in self.questions:
                    out[role] = self.questions[col]
        sq = self.servqual
        if sq is None:
            return out
        for dim, spec in sq.dimensions.items():
            for item in spec.items:
                label = sq.items.get(item, {})
                for key in ("expectation", "perception", "adequate", "desired", "mgmt_expectation"):
                    col = getattr(sq, key).format(item=item)
                    out[col] = Question(type="likert", min=sq.scale.min, max=sq.scale.max,
                                        label=_derived_label(f"codebook.servqual.{key}", label, item))
            dl = spec.label
            for key in ("specification", "delivery", "promise"):
                out[getattr(sq, key).format(dimension=dim)] = Question(
                    type="likert", min=sq.scale.min, max=sq.scale.max,
                    label=_derived_label(f"codebook.servqual.{key}", dl, dim),
                )
            col = sq.importance.format(dimension=dim)
            out[col] = Question(type="numeric", min=0, max=sq.importance_total,
                                label=_derived_label("codebook.servqual.importance", dl, dim))
        for name, ante in sq.antecedents.items():
            for item in ante.items:
                label = sq.items.get(item) or ante.label
                if ante.scale == "count":
                    out[item] = Question(type="numeric", integer=True, min=0, label=label)
                else:
                    out[item] = Question(type="likert", min=sq.scale.min, max=sq.scale.max,
                                         label=label)
        return out

    def _reference_problems(self) -> list[str]:
        problems = []
        known = self.all_questions()
        for name, con in self.constructs.items():
            for i, item in enumerate(con.items):
                q = known.get(item)
                if q is None:
                    problems.append(
                        f"constructs.{name}.items[{i}]: {item!r} is not a defined question"
                        + _suggest(item, known)
                    )
                elif q.type not in ("nps", "likert", "numeric"):
                    problems.append(
                        f"constructs.{name}.items[{i}]: {item!r} must be a scale or numeric "
                        f"question, got type {q.type}"
                    )
        for key, ref in self.outcomes.items():
            if ref not in self.constructs and ref not in known:
                problems.append(
                    f"outcomes.{key}: {ref!r} is neither a construct nor a question"
                    + _suggest(ref, {**self.constructs, **known})
                )
        for name, ds in self.datasets.items():
            for i, col in enumerate(ds.columns):
                if col not in known:
                    problems.append(
                        f"datasets.{name}.columns[{i}]: {col!r} is not a defined question"
                        + _suggest(col, known)
                    )
            for role, col in ds.roles.items():
                q = known.get(col)
                if q is None:
                    problems.append(f"datasets.{name}.roles.{role}: {col!r} is not a defined question"
                                    + _suggest(col, known))
                elif q.type not in _ROLE_TYPES[role]:
                    problems.append(f"datasets.{name}.roles.{role}: {col!r} is a {q.type} question; "
                                    f"a {role} column must be of type {' or '.join(_ROLE_TYPES[role])}")
                elif ds.columns and col not in ds.columns:
                    problems.append(f"datasets.{name}.roles.{role}: {col!r} is not among the "
                                    "dataset's columns")
            for col in ds.id_columns:
                if ds.columns and col not in ds.columns:
                    problems.append(f"datasets.{name}.id: {col!r} is not among the dataset's columns")
                elif col not in known:
                    problems.append(f"datasets.{name}.id: {col!r} is not a defined question")
        if len(set(ds.file for ds in self.datasets.values())) < len(self.datasets):
            problems.append("datasets: two datasets name the same file")
        for dim_name, dim in (self.servqual.dimensions.items() if self.servqual else []):
            for i, item in enumerate(dim.items):
                if sum(item in d.items for d in self.servqual.dimensions.values()) > 1:
                    problems.append(
                        f"servqual.dimensions.{dim_name}.items[{i}]: {item!r} belongs to more "
                        "than one dimension"
                    )
        brand = self.study.our_brand
        if brand is not None and "brand" in self.questions:
            if brand not in self.questions["brand"].levels:
                problems.append(f"study.our_brand: {brand!r} is not a level of question 'brand'")
        return problems

    # ---- lookup -----------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The file the codebook was read from (for messages)."""
        return self._source

    def all_questions(self) -> dict[str, Question]:
        """Defined questions plus the columns implied by the SERVQUAL section."""
        return {**self._implied, **self.questions}

    def __contains__(self, column: object) -> bool:
        return isinstance(column, str) and (column in self.questions or column in self._implied)

    def question(self, column: str) -> Question:
        """The :class:`Question` of ``column`` (SERVQUAL item columns included).

        Raises
        ------
        CodebookError
            When the codebook does not define the column.
        """
        q = self.questions.get(column) or self._implied.get(column)
        if q is None:
            raise CodebookError(
                f"{self._source}: questions.{column}: not defined in the codebook"
                + _suggest(column, self.all_questions())
            )
        return q

    def dataset(self, name: str) -> Dataset:
        """The :class:`Dataset` entry ``name``."""
        if name not in self.datasets:
            raise CodebookError(
                f"{self._source}: datasets.{name}: no such dataset; expected one of "
                f"{sorted(self.datasets)}"
            )
        return self.datasets[name]

    def role(self, dataset: str, role: str) -> str | None:
        """The column playing ``role`` (one of :data:`ROLES`) in ``dataset``, or None.

        An explicit ``datasets.<name>.roles`` entry wins; otherwise a column named after the role
        (``wave``, ``period``, ``brand``) of a fitting type, or for ``weight`` the dataset's only
        weight column.  A dataset that lists no columns is searched over every question.

        Examples
        --------
        >>> cb = load_codebook("demo")
        >>> cb.role("tracking", "weight"), cb.role("tracking", "brand"), cb.role("servqual", "brand")
        ('design_weight', 'brand', None)
        """
        if role not in ROLES:
            raise CodebookError(f"{self._source}: unknown role {role!r}; roles are {', '.join(ROLES)}")
        ds = self.dataset(dataset)
        if role in ds.roles:
            return ds.roles[role]
        known = self.all_questions()
        cols = ds.columns or list(self.questions)
        if role == "weight":
            weights = [c for c in cols if c in known and known[c].type == "weight"]
            return weights[0] if len(weights) == 1 else None
        if role in cols and role in known and known[role].type in _ROLE_TYPES[role]:
            return role
        return None

    def role_aliases(self, dataset: str) -> dict[str, str]:
        """``{role name: column}`` for roles played by a column of another name (not weight)."""
        return {r: c for r, c in self.dataset(dataset).roles.items()
                if r != "weight" and r != c and r not in self.questions}

    def with_role_columns(self, frame, dataset: str):
        """``frame`` with a copy of each role column under the role's name (:meth:`role_aliases`),
        so analyses can use ``wave``, ``period`` and ``brand`` whatever the study calls them."""
        for role, col in self.role_aliases(dataset).items():
            if role not in frame.columns and col in frame.columns:
                frame[role] = frame[col]
        return frame

    def datasets_with(self, columns) -> list[str]:
        """Datasets that list every one of ``columns`` (in codebook order)."""
        wanted = set(columns)
        return [k for k, ds in self.datasets.items() if wanted and wanted <= set(ds.columns)]

    def has_nps(self, dataset: str | None = None) -> bool:
        """Whether the study (or ``dataset``) has a 0–10 recommendation (NPS) question."""
        cols = self.dataset(dataset).columns if dataset else list(self.questions)
        return any(c in self.questions and self.questions[c].type == "nps" for c in cols)

    def items_scale(self, items) -> tuple[float, float] | None:
        """The common ``(min, max)`` of scale items, or None when they differ or are not scales."""
        scales = set()
        for item in items:
            q = self.all_questions().get(item)
            if q is None or q.min is None or q.max is None:
                return None
            scales.add((q.min, q.max))
        return scales.pop() if len(scales) == 1 else None

    def dataset_for_file(self, path: str | Path) -> str | None:
        """Name of the dataset whose ``file`` matches the file name of ``path``, if any."""
        name = Path(path).name
        for key, ds in self.datasets.items():
            if Path(ds.file).name == name:
                return key
        return None

    def label(self, code: str, lang: str = "en") -> str:
        """Label of a question, construct, SERVQUAL dimension/item, dataset or outcome key.

        Falls back to English, then to ``code`` itself.
        """
        for labels in self._label_sources(code):
            if labels:
                return labels.get(lang) or labels.get("en") or code
        return code

    def _label_sources(self, code: str):
        if code in self.questions:
            yield self.questions[code].label
        if code in self._implied:
            yield self._implied[code].label
        if code in self.constructs:
            yield self.constructs[code].label
        if self.servqual is not None:
            if code in self.servqual.dimensions:
                yield self.servqual.dimensions[code].label
            if code in self.servqual.items:
                yield self.servqual.items[code]
            if code in self.servqual.antecedents:
                yield self.servqual.antecedents[code].label
        if code in self.datasets:
            yield self.datasets[code].label
        if code in self.outcomes:
            yield from self._label_sources(self.outcomes[code])

    def levels(self, column: str) -> list[str]:
        """Levels of a categorical column in codebook (display) order."""
        return list(self.question(column).levels)

    def level_label(self, column: str, level: Any, lang: str = "en") -> str:
        """Label of one level (or scale point) of ``column``; falls back to English, then the level."""
        q = self.question(column)
        key = level
        if isinstance(key, float) and not math.isnan(key) and key.is_integer():
            key = int(key)
        key = str(key)
        labels = q.levels.get(key, {})
        return labels.get(lang) or labels.get("en") or key

    def scale(self, column: str) -> tuple[float, float]:
        """``(min, max)`` of a scale question."""
        q = self.question(column)
        if q.min is None or q.max is None:
            raise CodebookError(f"{self._source}: questions.{column}: has no min/max scale")
        return (q.min, q.max)

    def missing_codes_for(self, column: str) -> tuple[int, ...]:
        """Codes read as missing in ``column`` (study codes for scales unless overridden)."""
        q = self.question(column)
        if q.missing_codes is not None:
            return tuple(q.missing_codes)
        return tuple(self.missing_codes) if q.is_scale else ()

    def pii_columns(self, dataset: str | None = None) -> list[str]:
        """Columns flagged ``pii: true`` (restricted to a dataset's columns when given)."""
        cols = [c for c, q in self.questions.items() if q.pii]
        if dataset is not None:
            wanted = set(self.dataset(dataset).columns)
            cols = [c for c in cols if c in wanted]
        return cols

    def coding_frame(self, column: str) -> CodingFrame | None:
        """The coding frame of the text question ``column`` (``coding_frames.<column>``), or None.

        Raises
        ------
        CodebookError
            When the frame is keyed by a column that is not a text question of the codebook.
        """
        frame = self.coding_frames.get(column)
        if frame is None:
            return None
        q = self.all_questions().get(column)
        if q is None or q.type != "text":
            got = "not a defined question" if q is None else f"a {q.type} question"
            raise CodebookError(f"{self._source}: coding_frames.{column}: a coding frame codes a text "
                                f"question, and {column!r} is {got}"
                                + (_suggest(column, self.questions) if q is None else ""))
        return frame

    def columns_of_type(self, *types: str) -> list[str]:
        """Defined questions of the given type(s), in codebook order."""
        return [c for c, q in self.questions.items() if q.type in types]

    def construct_items(self) -> dict[str, list[str]]:
        """``{construct: [items]}`` for every construct."""
        return {k: list(v.items) for k, v in self.constructs.items()}

    def driver_constructs(self) -> list[str]:
        """Constructs that are not named as outcomes."""
        outs = set(self.outcomes.values())
        return [k for k in self.constructs if k not in outs]

    def measurement_model(self, constructs: list[str] | None = None) -> str:
        """lavaan-style measurement lines ``PRD =~ prd1 + prd2 + prd3``, one per construct."""
        names = list(self.constructs) if constructs is None else list(constructs)
        lines = []
        for name in names:
            if name not in self.constructs:
                raise CodebookError(f"{self._source}: constructs.{name}: no such construct")
            lines.append(f"{name} =~ " + " + ".join(self.constructs[name].items))
        return "\n".join(lines)

    # ---- SERVQUAL -----------------------------------------------------------------------------------
    def _sq(self) -> Servqual:
        if self.servqual is None:
            raise CodebookError(f"{self._source}: servqual: the codebook has no servqual section")
        return self.servqual

    def servqual_dimensions(self) -> dict[str, list[str]]:
        """``{dimension: [item codes]}`` in codebook order."""
        return {k: list(v.items) for k, v in self._sq().dimensions.items()}

    def servqual_items(self) -> list[str]:
        """All SERVQUAL item codes in codebook order."""
        return [i for items in self.servqual_dimensions().values() for i in items]

    def servqual_dimension_of(self, item: str) -> str:
        """The dimension an item belongs to."""
        for dim, items in self.servqual_dimensions().items():
            if item in items:
                return dim
        raise CodebookError(f"{self._source}: servqual: item {item!r} is in no dimension")

    def expectation_col(self, item: str) -> str:
        """Column holding the expectation score of ``item`` (e.g. ``E_tan1``)."""
        return self._sq().expectation.format(item=item)

    def perception_col(self, item: str) -> str:
        """Column holding the perception score of ``item`` (e.g. ``P_tan1``)."""
        return self._sq().perception.format(item=item)

    def adequate_col(self, item: str) -> str:
        """Column holding the adequate-service score of ``item`` (e.g. ``ADQ_tan1``)."""
        return self._sq().adequate.format(item=item)

    def desired_col(self, item: str) -> str:
        """Column holding the desired-service score of ``item`` (e.g. ``DES_tan1``)."""
        return self._sq().desired.format(item=item)

    def importance_col(self, dimension: str) -> str:
        """Column holding the importance points of ``dimension`` (e.g. ``imp_tangibles``)."""
        return self._sq().importance.format(dimension=dimension)

    def mgmt_expectation_col(self, item: str) -> str:
        """Column holding management's view of customers' expectation of ``item`` (``ME_tan1``)."""
        return self._sq().mgmt_expectation.format(item=item)

    def specification_col(self, dimension: str) -> str:
        """Column holding the level the service standards set for ``dimension`` (``SPEC_...``)."""
        return self._sq().specification.format(dimension=dimension)

    def delivery_col(self, dimension: str) -> str:
        """Column holding the level of service delivered on ``dimension`` (``DEL_...``)."""
        return self._sq().delivery.format(dimension=dimension)

    def promise_col(self, dimension: str) -> str:
        """Column holding the level of service promised on ``dimension`` (``PROM_...``)."""
        return self._sq().promise.format(dimension=dimension)

    def antecedents(self, gap: int | None = None) -> dict[str, list[str]]:
        """``{antecedent scale: [items]}`` of gaps 1-4 (only those of ``gap`` when given)."""
        return {k: list(v.items) for k, v in self._sq().antecedents.items()
                if gap is None or v.gap == gap}

    def antecedent(self, name: str) -> Antecedent:
        """The :class:`Antecedent` entry ``name`` (gap, direction, scale, items)."""
        ants = self._sq().antecedents
        if name not in ants:
            raise CodebookError(f"{self._source}: servqual.antecedents.{name}: no such scale; "
                                f"expected one of {sorted(ants)}")
        return ants[name]


# ---- loading ------------------------------------------------------------------------------------------
def bundled_codebook_path(name: str) -> Path:
    """Path of a codebook bundled with the package (``workbench/data/<name>/codebook.yaml``)."""
    return PACKAGE_DIR / "data" / name / "codebook.yaml"


_NAME_RE = re.compile(r"[A-Za-z0-9_\-]+")
#: A large study's codebook (thousands of questions, two languages) stays well inside these.
CODEBOOK_LIMITS = YamlLimits(max_bytes=16 << 20, max_depth=50, max_nodes=2_000_000)


def load_codebook(path_or_name: str | Path | Codebook) -> Codebook:
    """Read and validate a codebook.

    Parameters
    ----------
    path_or_name : str, Path or Codebook
        A YAML file, a folder holding ``codebook.yaml``, or the name of a bundled study
        (``"demo"``).  A :class:`Codebook` is returned unchanged.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        When the file is missing, is not YAML, or breaks the format; the message names the file
        and the key path.

    Examples
    --------
    >>> cb = load_codebook("demo")
    >>> cb.study.client
    'Demo Client'
    """
    if isinstance(path_or_name, Codebook):
        return path_or_name
    if not isinstance(path_or_name, (str, Path)):
        raise CodebookError(f"codebook: expected a file path or a bundled study name, got "
                            f"{type(path_or_name).__name__} {path_or_name!r}")
    if "\x00" in str(path_or_name):
        raise CodebookError(f"codebook path {str(path_or_name)!r} contains a NUL character")
    path = Path(path_or_name)
    if isinstance(path_or_name, str) and _NAME_RE.fullmatch(path_or_name) and not path.exists():
        bundled = bundled_codebook_path(path_or_name)
        if bundled.exists():
            path = bundled
    if path.is_dir():
        path = path / "codebook.yaml"
    # bundled files are named by file name only (no machine path in messages of shipped data)
    source = path.name if path.resolve().is_relative_to(PACKAGE_DIR) else str(path)
    if not path.exists():
        raise CodebookError(f"codebook not found: {source} (expected a YAML file, a folder with "
                            "codebook.yaml, or a bundled study name such as 'demo')")
    data = load_yaml_file(path, what="codebook", limits=CODEBOOK_LIMITS, loader=PlainLoader,
                          error=CodebookError, source=source)
    if data is None:
        raise CodebookError(f"{source}: the file is empty")
    cb = Codebook.from_dict(data, source=source)
    cb._folder = path.parent
    cb.brand_logo_path()  # a logo that is missing or outside the folder is a codebook error now
    return cb


# ---- error formatting -----------------------------------------------------------------------------
_FRIENDLY = {
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "too_short": "expected at least one entry",
}


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        parts = [p for p in err["loc"] if not _is_type_tag(p)]
        is_key = bool(parts) and parts[-1] == "[key]"
        loc = _join_loc(parts[:-1] if is_key else parts)
        etype = err["type"]
        if etype == "literal_error":
            msg = f"expected one of {err.get('ctx', {}).get('expected', '')}"
        elif etype == "value_error":
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            msg = _FRIENDLY.get(etype, err["msg"])
        if etype == "extra_forbidden":
            where = loc
            lines.append(f"{source}: {where}: {msg}")
            continue
        if etype != "missing" and etype != "value_error":
            msg = f"{msg}, got {err['input']!r}"
        if is_key:
            msg = f"as a key, {msg}"
        lines.append(f"{source}: {loc}: {msg}" if loc else f"{source}: {msg}")
    return "\n".join(lines)


def _join_loc(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _is_type_tag(p: Any) -> bool:
    # pydantic adds union-member / validator tags such as 'str', 'list[str]' or
    # 'function-after[...]' to error locations; they are not keys of the file.
    return isinstance(p, str) and (
        p in ("str", "int", "float", "bool", "dict", "list", "none")
        or p.startswith(("list[", "dict[", "function-", "tagged-union["))
    )


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
