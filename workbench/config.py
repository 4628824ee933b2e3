"""Parameters: load a params file, validate it against a notebook, resolve paths.

A params file is YAML with one reserved key, ``notebook`` (which notebook it runs), an optional
``run`` (the run id; default: notebook name plus ``period``), and the notebook's parameters::

    notebook: 02_wave_analysis
    run: waves-2026-06
    study: acme
    client: ACME Telecom
    period: 2026-06          # dates and periods stay text (no YAML timestamps)
    language: zh
    data: data/acme/          # relative paths are relative to the project root
    codebook: data/acme/codebook.yaml

Validation is pydantic, in two parts: the keys every notebook shares (:class:`CommonParams`,
strict: a study id that could escape ``reports/`` is refused) and the notebook's own keys,
whose types are taken from the literal defaults of its ``parameters`` cell (``n = 1000`` is an
integer; an annotation ``wave: int | str = "latest"`` or a ``(type: int | str)`` tag in the
comment says otherwise) and whose allowed values from a trailing ``# one of: a, b, c`` comment.
The cell is parsed with ``ast`` (papermill's line-based reader drops a line whose comment holds
``=`` and annotations with ``|``).  So a notebook
declares its parameters once, in the place papermill reads them, and unknown or mistyped keys
fail before any kernel starts, naming the file and the key.
"""

from __future__ import annotations

import ast
import difflib
import datetime as _dt
import functools
import io
import json
import operator
import re
import tokenize
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from . import PROJECT_ROOT
from ._safeyaml import TextLoader, YamlLimits, load_yaml_file
from .errors import ParamsError

__all__ = [
    "CommonParams",
    "RunSpec",
    "notebook_path",
    "notebook_parameters",
    "load_params",
    "validate_params",
    "resolve_path",
    "parse_value",
    "RESERVED_KEYS",
    "PATH_KEYS",
]

#: Keys of a params file that are not notebook parameters: which notebook, the run id, and the
#: client's PowerPoint template for the deck (``deck_template: clients/acme/acme.pptx``; ``""``
#: for none; relative paths are relative to the project root, like every path parameter).
RESERVED_KEYS = ("notebook", "run", "deck_template")
#: Parameters that hold a path (besides keys ending in _path, _file or _dir).
PATH_KEYS = ("data", "codebook")
#: Parameters the runner sets; a params file may not.
RUNNER_KEYS = ("output_dir",)

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
#: A params file is a few lines: 1 MB, 50 levels and 100,000 values are far beyond any.
PARAMS_LIMITS = YamlLimits(max_bytes=1 << 20, max_depth=50, max_nodes=100_000)


def _slug(value: str, what: str) -> str:
    # fullmatch, not "$": "$" also matches before a trailing newline ("demo\n")
    if not isinstance(value, str) or not _SLUG.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{what} must be letters, digits, '-', '_' or '.', start with a letter or digit and "
            f"contain no '..' (it names a folder under reports/), got {value!r}"
        )
    return value


class LowBaseParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    caution: float = Field(50, ge=0)
    min_test: float = Field(30, ge=0)


class CommonParams(BaseModel):
    """Parameters every analysis notebook has."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    study: str = "demo"
    client: str = "Demo Client"
    period: str = ""
    language: Literal["en", "zh"] = "en"
    data: str = "demo"
    codebook: str = "demo"
    report_date: str = ""
    low_base: LowBaseParams = LowBaseParams()

    @field_validator("study")
    @classmethod
    def _study(cls, v):
        return _slug(v, "study")

    @field_validator("report_date")
    @classmethod
    def _date(cls, v):
        if v:
            try:
                _dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"expected an ISO date such as '2026-06-30' (quoted), got {v!r}") from None
        return v


# --------------------------------------------------------------------------------------------
# notebooks and their parameters
# --------------------------------------------------------------------------------------------
def notebook_path(name: str | Path) -> Path:
    """Find a notebook by path or by name (``02_wave_analysis``) in the project's notebooks/."""
    p = Path(name)
    candidates = [p, p.with_suffix(".ipynb")] if p.suffix != ".ipynb" else [p]
    candidates += [PROJECT_ROOT / "notebooks" / c.name for c in candidates]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    known = sorted(q.stem for q in (PROJECT_ROOT / "notebooks").glob("*.ipynb"))
    raise ParamsError(f"notebook {str(name)!r} not found; known notebooks: {', '.join(known) or 'none'}")


def _type_of(default: Any, annotation: str | None):
    if annotation and annotation != "None":
        return {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}.get(
            annotation.split("[")[0], Any
        )
    if default is None:
        return Any
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return type(default)


_ONE_OF = re.compile(r"one of:\s*([^;()]+)", re.I)
_TYPE_TAG = re.compile(r"\(type:\s*([a-z |]+)\)", re.I)
_NAMED_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}


def _parameters_cell(path: str) -> str:
    """Source of the cell tagged ``parameters``.

    Read as plain JSON (the nbformat 4 layout): importing nbformat costs over a second through
    jsonschema, and `workbench batch` reads every notebook of a batch before it starts a worker.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
        cells = nb["cells"]
        if not isinstance(cells, list) or nb.get("nbformat", 4) < 4:
            raise ValueError("not an nbformat 4 notebook")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParamsError(f"{path}: not a readable notebook: {exc}") from exc
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        tags = (cell.get("metadata") or {}).get("tags") or []
        if "parameters" in tags:
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else str(source)
    raise ParamsError(f"{path}: no cell is tagged 'parameters'")


def _parse_parameters(source: str, path: str) -> list[tuple[str, str | None, str, str]]:
    """``(name, annotation, default source, help comment)`` for each top-level assignment.

    Parsed with ``ast`` and ``tokenize`` rather than papermill's line regex, which drops lines
    whose comment contains ``=`` and annotations with ``|``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParamsError(f"{path}: parameters cell line {exc.lineno}: {exc.msg}") from None
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation, value = node.targets[0].id, None, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        else:
            raise ParamsError(f"{path}: parameters cell line {node.lineno}: expected `name = literal`, "
                              f"got {ast.unparse(node)!r}")
        out.append((name, annotation, ast.get_source_segment(source, value), comments.get(node.end_lineno, "")))
    return out


def _annotation_type(annotation: str | None, path: str, name: str):
    if not annotation:
        return None
    names = [t.strip() for t in annotation.replace("Optional[", "").rstrip("]").split("|")]
    if "None" in names:
        names.remove("None")
    unknown = [t for t in names if t not in _NAMED_TYPES]
    if unknown:
        raise ParamsError(f"{path}: parameter {name!r}: unsupported type {unknown[0]!r} "
                          f"(use {', '.join(_NAMED_TYPES)} or a union of them)")
    return functools.reduce(operator.or_, (_NAMED_TYPES[t] for t in names))


@functools.lru_cache(maxsize=64)
def _parameters_cached(path: str, mtime: float) -> dict[str, dict]:
    out = {}
    for name, annotation, default_src, helptext in _parse_parameters(_parameters_cell(path), path):
        try:
            default = ast.literal_eval(default_src)
        except (ValueError, SyntaxError):
            raise ParamsError(
                f"{path}: parameter {name!r} default {default_src!r} is not a literal; the "
                "parameters cell holds literal defaults only (derive values in the next cell)"
            ) from None
        choices = None
        m = _ONE_OF.search(helptext)
        if m:
            choices = tuple(c.strip().strip("'\"") for c in m.group(1).split(",") if c.strip())
        typ = _annotation_type(annotation, path, name) or _type_of(default, None)
        tag = _TYPE_TAG.search(helptext)
        if tag:  # e.g. "# wave number or latest (type: int | str)"
            typ = _annotation_type(tag.group(1), path, name)
        out[name] = {"default": default, "type": typ, "help": helptext, "choices": choices}
    return out


def notebook_parameters(notebook: str | Path) -> dict[str, dict]:
    """The notebook's parameters: ``{name: {default, type, help, choices}}`` in cell order."""
    p = notebook_path(notebook)
    return _parameters_cached(str(p), p.stat().st_mtime)


def _model_for(notebook: Path):
    fields = {}
    for name, spec in notebook_parameters(notebook).items():
        if name in CommonParams.model_fields:
            continue
        typ = spec["type"]
        if spec["choices"]:
            typ = Literal[spec["choices"]]  # type: ignore[valid-type]
            if spec["default"] is None:
                typ = typ | None
        elif typ is not Any and spec["default"] is None:
            typ = typ | None
        fields[name] = (typ, spec["default"])
    return create_model(f"Params_{notebook.stem}", __base__=CommonParams, **fields)


# --------------------------------------------------------------------------------------------
# params files
# --------------------------------------------------------------------------------------------
class RunSpec(BaseModel):
    """A validated run: which notebook, which run id, which parameters (JSON-compatible)."""

    model_config = ConfigDict(frozen=True)

    notebook: Path
    run: str
    params: dict[str, Any]
    source: str  # the params file, or "<defaults>"
    deck_template: str = ""  # the client's .pptx for the deck (absolute), "" for none


def parse_value(text: str) -> Any:
    """Parse a ``-p KEY VALUE`` value as YAML (``3`` → 3, ``true`` → True, ``[a, b]`` → list).

    An empty value stays the empty string (``-p weight ""`` means "no weight"), not None.
    """
    if text.strip() == "":
        return ""
    try:
        return yaml.load(text, Loader=type("_L", (TextLoader,), {"limits": PARAMS_LIMITS}))  # noqa: S506
    except yaml.YAMLError:
        return text


#: Safe YAML without timestamp conversion: ``2026-06-30`` stays the string papermill can pass.
_Loader = TextLoader


def _read_yaml(path: Path) -> dict:
    """A params file as a mapping: bounded, UTF-8, safe YAML with limits (:mod:`._safeyaml`)."""
    loaded = load_yaml_file(path, what="params file", limits=PARAMS_LIMITS, error=ParamsError,
                            place_first=True)
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter: value, got a {type(loaded).__name__}")
    return loaded


def _jsonable(value: Any, key: str, source: str):
    if isinstance(value, str) and "\x00" in value:
        raise ParamsError(f"{source}: key {key!r}: contains a NUL character")
    if isinstance(value, float) and value != value:
        raise ParamsError(f"{source}: key {key!r}: expected a number, got .nan")
    if isinstance(value, (_dt.date, _dt.datetime)):
        raise ParamsError(
            f"{source}: key {key!r}: YAML read {value!r} as a date; quote it ({key}: \"{value}\")"
        )
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise ParamsError(f"{source}: key {key!r}: {k!r} cannot be a key here (use text)")
        return {str(k): _jsonable(v, f"{key}.{k}", source) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise ParamsError(f"{source}: key {key!r}: unsupported value type {type(value).__name__}")


def _format_pydantic(exc: ValidationError, source: str, params: dict) -> str:
    grouped: dict[str, list[str]] = {}
    got_of: dict[str, Any] = {}
    for err in exc.errors():
        loc = list(err["loc"])
        while len(loc) > 1 and str(loc[-1]) in _NAMED_TYPES:  # branches of a union: one key
            loc.pop()
        key = ".".join(str(x) for x in loc)
        got = params
        for part in loc:
            got = got.get(part, None) if isinstance(got, dict) else None
        got_of[key] = got
        grouped.setdefault(key, []).append(err["msg"].removeprefix("Value error, "))
    lines = []
    for key, msgs in grouped.items():
        msg = msgs[0] if len(msgs) == 1 else "expected " + " or ".join(
            m.removeprefix("Input should be ").removeprefix("a valid ") for m in msgs)
        got = f" (got {got_of[key]!r})" if f"got {got_of[key]!r}" not in msg else ""
        lines.append(f"{source}: key {key!r}: {msg}{got}")
    return "\n".join(lines)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(value) -> bool:
    """True for ``scheme://…`` values (fsspec URLs such as ``s3://bucket/key``)."""
    return isinstance(value, str) and _URL.match(value) is not None


def _refuse_url(key: str, value, source: str) -> None:
    if is_url(value):
        raise ParamsError(
            f"{source}: key {key!r}: {value} is a URL; data, codebooks and other inputs are read from "
            "files: copy it to a folder and give that path (`workbench batch` on a cluster sends the "
            "files to its workers itself)")


def resolve_path(value: str, *, base: Path | None = None) -> str:
    """Absolute path for a path parameter; ``demo`` stays ``demo`` (the built-in study)."""
    if value in ("", "demo") or value is None:
        return value
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = (base or PROJECT_ROOT) / p
    return str(p.resolve())


def _is_path_key(key: str) -> bool:
    return key in PATH_KEYS or key.endswith(("_path", "_file", "_dir"))


def _study_defaults(nb: Path, params: dict, declared: dict, source: str) -> dict:
    """The defaults a user's own study implies (:mod:`workbench.study`); all missing keys at once."""
    from .errors import CodebookError, DataError
    from .study import Required, study_defaults

    for k, v in params.items():
        if _is_path_key(k):
            _refuse_url(k, v, source)
    paths = {k: resolve_path(v) if isinstance(v, str) else v for k, v in params.items() if k in PATH_KEYS}
    for key in PATH_KEYS:
        if key in paths and not isinstance(paths[key], str):
            raise ParamsError(f"{source}: key {key!r}: expected a path (text), got {paths[key]!r}")
    try:
        derived = study_defaults(nb.stem, {**params, **paths}, declared)
    except (CodebookError, DataError) as exc:
        key = "codebook" if isinstance(exc, CodebookError) else "data"
        raise ParamsError(f"{source}: key {key!r}: {exc}") from None
    missing = [f"{source}: key {k!r} is missing: give {v.why}" for k, v in derived.items()
               if isinstance(v, Required)]
    if missing:
        raise ParamsError("\n".join(missing) + f"\n(this study is not the demo, so notebook {nb.stem} "
                          "cannot use its demo defaults for these keys)")
    return derived


def validate_params(notebook: str | Path, params: dict, *, source: str = "<parameters>") -> dict:
    """Check ``params`` against the notebook; return the full, JSON-compatible parameter dict.

    Unknown keys, wrong types, values outside a ``one of:`` list, unsafe study ids and unquoted
    dates raise :class:`ParamsError` naming ``source`` and the key.  Path parameters come back
    absolute.  Missing keys get the notebook's defaults for the demo study; for any other study
    they get the defaults its codebook implies (:func:`workbench.study.study_defaults`), and a key
    the study cannot supply must be given.
    """
    nb = notebook_path(notebook)
    declared = notebook_parameters(nb)
    params = {k: _jsonable(v, k, source) for k, v in params.items()}
    for key in params:
        if key in RUNNER_KEYS:
            raise ParamsError(f"{source}: key {key!r} is set by the runner and cannot be given")
        if key not in declared:
            close = difflib.get_close_matches(key, [d for d in declared if d not in RUNNER_KEYS], n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParamsError(
                f"{source}: unknown key {key!r} for notebook {nb.stem}{hint} "
                f"(known: {', '.join(k for k in declared if k not in RUNNER_KEYS)})"
            )
    model = _model_for(nb)
    merged = {k: spec["default"] for k, spec in declared.items() if k not in RUNNER_KEYS}
    merged.update(_study_defaults(nb, params, declared, source))
    merged.update(params)
    try:
        validated = model.model_validate(merged)
    except ValidationError as exc:
        raise ParamsError(_format_pydantic(exc, source, merged)) from None
    out = {}
    for key in declared:
        if key in RUNNER_KEYS:
            continue
        value = getattr(validated, key, declared[key]["default"])
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if _is_path_key(key) and isinstance(value, str):
            value = resolve_path(value)
        out[key] = value
    bad = [f"{source}: key {k!r}: {msg}" for k in out
           if (msg := _out_of_range(k, out[k], declared[k]["help"]))]
    if bad:
        raise ParamsError("\n".join(bad))
    return out


#: Ranges of the parameters every notebook means the same by (one vocabulary): (low, high,
#: low excluded, high excluded).  A notebook may give any parameter its own with a
#: ``(range: LOW..HIGH)`` tag in its help comment (either end may be left out).
PARAM_RANGES: dict[str, tuple] = {
    "conf": (0, 1, True, True), "confidence": (0, 1, True, True), "power": (0, 1, True, True),
    "promoters": (0, 1, False, False), "detractors": (0, 1, False, False),
    "proportion": (0, 1, False, False), "detect_proportion": (0, 1, True, False),
    "reserve": (0, 1, False, False), "quota_tolerance": (0, 1, False, False),
    "min_answered": (0, 1, False, False), "target_moe": (0, 1, False, True),
    "detect_nps": (0, 200, True, False), "trim_upper": (0, None, True, False),
    "n_ours": (0, None, False, False), "n_competitor": (0, None, False, False),
    "min_base": (0, None, False, False), "max_base": (0, None, False, False),
    "bootstrap": (0, None, False, False), "seed": (0, None, False, False),
    "control_k": (1, None, False, False), "top_actions": (1, None, False, False),
}
_RANGE_TAG = re.compile(r"\(range:\s*(-?[\d.eE+]*)\s*\.\.\s*(-?[\d.eE+]*)\s*\)")


def _out_of_range(key: str, value: Any, helptext: str) -> str | None:
    """Why a number is outside its parameter's range, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    m = _RANGE_TAG.search(helptext or "")
    if m:
        lo, hi = (float(x) if x else None for x in m.groups())
        rng = (lo, hi, False, False)
    elif key in PARAM_RANGES:
        rng = PARAM_RANGES[key]
    else:
        return None
    lo, hi, lo_open, hi_open = rng
    below = lo is not None and (value <= lo if lo_open else value < lo)
    above = hi is not None and (value >= hi if hi_open else value > hi)
    if not (below or above):
        return None
    if hi is None:
        want = f"{'above' if lo_open else 'of at least'} {lo:g}"
    elif lo is None:
        want = f"{'below' if hi_open else 'of at most'} {hi:g}"
    else:
        want = f"between {lo:g} and {hi:g}" + (" (both excluded)" if lo_open and hi_open else
                                                " (excluded)" if lo_open or hi_open else "")
    return f"expected a value {want}, got {value!r}"


def resolve_latest_wave(params: dict, *, source: str = "<parameters>") -> dict:
    """Resolve ``wave`` against the data: ``latest`` becomes the newest wave, and ``period``
    becomes that wave's period (for a numbered wave too, so the cover never shows a stale period).

    The wave column is the wave role of the ``dataset`` parameter's dataset, else of the first
    codebook dataset with a wave role (:meth:`Codebook.role`).  Resolving before the
    run gives each wave its own run id (``<notebook>_<period>``), so a scheduled run never
    overwrites the report of an earlier wave.  A wave that is not in the data is refused.
    """
    wave = params.get("wave")
    if wave is None or isinstance(wave, bool) or not (wave == "latest" or isinstance(wave, int)):
        return params
    from .codebook import load_codebook
    from .io import read_table

    cb = load_codebook(params.get("codebook", "demo"))
    name = params.get("dataset") if params.get("dataset") in cb.datasets else None
    name = name or next((n for n in cb.datasets if cb.role(n, "wave")), None)
    wave_col = cb.role(name, "wave") if name else None
    if wave_col is None:
        if wave == "latest":
            raise ParamsError(f"{source}: key 'wave' is 'latest' but no dataset of codebook {cb.source} "
                              "has a wave column")
        return params
    if params.get("data", "demo") == "demo":
        from .synth import demo_dir

        folder = demo_dir()
    else:
        folder = Path(params["data"])
    path = folder / cb.datasets[name].file
    table = read_table(path)
    if wave_col not in table.columns:
        raise ParamsError(f"{source}: key 'wave': {path} has no column {wave_col!r} (the wave role of "
                          f"dataset {name!r})")
    waves = pd.to_numeric(table[wave_col], errors="coerce")
    present = sorted(int(w) for w in waves.dropna().unique())
    if not present:
        raise ParamsError(f"{source}: key 'wave': {path} has no waves")
    chosen = present[-1] if wave == "latest" else int(wave)
    if chosen not in present:
        raise ParamsError(f"{source}: key 'wave': wave {chosen} is not in {path} "
                          f"(waves present: {', '.join(map(str, present))})")
    out = dict(params, wave=chosen)
    period_col = cb.role(name, "period")
    if period_col in table.columns:
        periods = table.loc[waves == chosen, period_col].dropna().astype(str)
        if len(periods):
            out["period"] = periods.iloc[0]
            # the run id carries the period: a label shared with another wave would make this
            # wave's report replace that wave's good one
            labels = table[period_col].astype(str).where(table[period_col].notna())
            shared = sorted(int(w) for w in waves[(labels == out["period"]) & (waves != chosen)].dropna().unique())
            if shared:
                raise ParamsError(
                    f"{source}: key 'wave': {path}: wave {chosen}'s rows carry period {out['period']!r} in "
                    f"column {period_col!r}, which is also the period of wave(s) {', '.join(map(str, shared))}; "
                    "each wave needs its own period label (it names the report folder)")
    return out


def _trusted_notebook_dirs() -> list[Path]:
    """Folders a params file's ``notebook:`` may point into: the project's notebooks/, and the
    folders listed in ``$WORKBENCH_NOTEBOOKS`` (separated by ``os.pathsep``)."""
    import os

    dirs = [PROJECT_ROOT / "notebooks"]
    dirs += [Path(d) for d in os.environ.get("WORKBENCH_NOTEBOOKS", "").split(os.pathsep) if d.strip()]
    return [d.resolve() for d in dirs]


def _check_notebook_key(value: Any, source: str, *, trusted: bool) -> Path:
    """The notebook a params file names: text, and (unless trusted) one of the project's."""
    if not isinstance(value, str) or not value.strip():
        raise ParamsError(f"{source}: key 'notebook': expected a notebook name such as "
                          f"02_wave_analysis, got {value!r}")
    if "\x00" in value:
        raise ParamsError(f"{source}: key 'notebook': contains a NUL character")
    try:
        nb = notebook_path(value)
    except ParamsError as exc:
        raise ParamsError(f"{source}: key 'notebook': {exc}") from None
    if not trusted and not any(nb.is_relative_to(d) for d in _trusted_notebook_dirs()):
        raise ParamsError(
            f"{source}: key 'notebook': {value!r} is not one of the project's notebooks (notebooks/); "
            "a params file may only run those. To run a notebook from elsewhere, name it on the "
            "command line (workbench run NOTEBOOK -f FILE), add its folder to $WORKBENCH_NOTEBOOKS, "
            "or pass --trust-notebooks")
    return nb


def load_params(
    params_file: str | Path | None = None,
    *,
    notebook: str | Path | None = None,
    overrides: dict | None = None,
    trusted: bool = False,
) -> RunSpec:
    """Read a params file (optional), apply overrides, validate against its notebook.

    A ``notebook`` given here is the caller's choice; a ``notebook:`` key in the params file must
    name one of the project's notebooks (or one in ``$WORKBENCH_NOTEBOOKS``) unless ``trusted``,
    so a params file from elsewhere cannot run code from elsewhere.
    """
    raw: dict = {}
    source = "<defaults>"
    if params_file is not None:
        path = Path(params_file)
        raw = _read_yaml(path)
        source = str(path)
    raw = dict(raw)
    file_nb = raw.pop("notebook", None)
    if notebook is not None:
        if "\x00" in str(notebook):
            raise ParamsError(f"notebook {str(notebook)!r} contains a NUL character")
        nb_name = notebook
    elif file_nb is None:
        raise ParamsError(f"{source}: key 'notebook' is missing (which notebook does this file run?)")
    else:
        nb_name = _check_notebook_key(file_nb, source, trusted=trusted)
    run = raw.pop("run", None)
    if run is not None and not isinstance(run, (str, int)) or isinstance(run, bool):
        raise ParamsError(f"{source}: key 'run': expected a run id (text), got {run!r}")
    raw.update(overrides or {})
    deck_template = _check_deck_template(raw.pop("deck_template", ""), source)
    params = validate_params(nb_name, raw, source=source)
    params = resolve_latest_wave(params, source=source)
    nb = notebook_path(nb_name)
    if run is None:
        run = nb.stem + (f"_{params['period']}" if params.get("period") else "")
        run += "" if params.get("language", "en") == "en" else f"_{params['language']}"
    try:
        run = _slug(str(run), "run")
    except ValueError as exc:
        raise ParamsError(f"{source}: key 'run': {exc}") from None
    return RunSpec(notebook=nb, run=run, params=params, source=source, deck_template=deck_template)


def _check_deck_template(value: Any, source: str) -> str:
    """The ``deck_template`` key: ``""`` (none) or an existing PowerPoint file (.pptx); absolute."""
    if value is None or value == "":
        return ""
    where = f"{source}: key 'deck_template'"
    if not isinstance(value, str):
        raise ParamsError(f"{where}: expected the path of a .pptx file (text), got {value!r}")
    if "\x00" in value:
        raise ParamsError(f"{where}: contains a NUL character")
    _refuse_url("deck_template", value, source)
    path = Path(resolve_path(value))
    if path.suffix.lower() != ".pptx":
        raise ParamsError(f"{where}: expected a PowerPoint file ending in .pptx, got {value!r}")
    if not path.is_file():
        raise ParamsError(f"{where}: file not found: {value}")
    import zipfile

    if not zipfile.is_zipfile(path):
        raise ParamsError(f"{where}: {value} is not a PowerPoint file (a .pptx is a zip package)")
    return str(path)
