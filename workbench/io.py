"""Reading survey data against a codebook, and atomic writes.

:func:`read_survey` reads ``.csv``, ``.parquet``, ``.sav`` (SPSS, via pyreadstat) and ``.xlsx``
files and checks them against the study codebook.  Every problem found is collected and reported
in one :class:`~workbench.errors.DataError` naming the file, the column, how many rows are at
fault and the first (up to five) respondent ids.

What the returned frame holds (one row per respondent, columns in file order, extra columns that
the codebook does not define are passed through untouched):

=============  ==================================================================================
type           values after reading
=============  ==================================================================================
nps, likert    ``float64`` scale points; the study's missing codes (98/99) and blanks become NaN
numeric        ``int64`` when ``integer: true`` and nothing is missing, else ``float64``
weight         ``float64``; must be present and > 0
categorical    text (pandas ``str`` dtype) holding the codebook level keys; a value written as a
               level's label (any language, any case, e.g. SPSS value labels) is mapped to its
               key.  ``categories=True`` returns ordered-as-codebook ``Categorical`` instead.
id             text (``"00123"`` keeps its zeros; numeric ids read as ``"123"``)
text           text; blanks are NaN
date           text, checked against the question's ``format``
=============  ==================================================================================

Text rather than ``category`` is the default for categoricals because it behaves the same in
every pandas operation (merges, ``groupby``, ``isin``, concatenation across waves); the codebook
keeps the level order (:meth:`Codebook.levels`) for tables and charts.

Atomic writes (:func:`atomic_write_text`, :func:`atomic_write_bytes`, :func:`atomic_write_frame`)
write a temporary file in the target's folder, flush and fsync it, then ``os.replace`` it onto the
target, so a reader sees either the old file or the new one, never half of one.

Examples
--------
>>> from workbench.io import read_survey
>>> from workbench.synth import demo_dir
>>> df = read_survey(demo_dir() / "tracking.csv", "demo")
>>> df["wave"].dtype
dtype('int64')
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.codebook import Codebook, Question, load_codebook
from workbench.errors import DataError

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "read_survey",
    "read_table",
    "atomic_write_text",
    "atomic_write_bytes",
    "atomic_write_frame",
    "sha256_file",
    "mask_pii",
    "MASK_TOKEN",
]

#: File types :func:`read_survey`, :func:`read_table` and :func:`atomic_write_frame` handle.
SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".sav", ".xlsx")
#: What :func:`mask_pii` writes in place of personal data.
MASK_TOKEN = "***"
#: How many offending ids an error message lists.
_MAX_IDS = 5

_TEXT_TYPES = ("id", "text", "categorical", "date")


# ---- reading -------------------------------------------------------------------------------------
def _check_path(path: Path) -> None:
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"{path}: unsupported file type {ext or '(none)'!r}; expected one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: expected a file, found a folder")


def _read_raw(
    path: Path,
    *,
    text_columns: set[str] = frozenset(),
    label_columns: set[str] = frozenset(),
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a file; ``text_columns`` are read as text, SPSS value labels applied to ``label_columns``."""
    ext = path.suffix.lower()
    try:
        if ext == ".csv":
            # utf-8-sig also reads the byte-order mark Excel puts at the start of UTF-8 CSVs
            return pd.read_csv(path, dtype={c: str for c in text_columns}, low_memory=False,
                               encoding="utf-8-sig")
        if ext == ".parquet":
            return pd.read_parquet(path)
        if ext == ".xlsx":
            return pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet,
                dtype={c: str for c in text_columns}, engine="openpyxl",
            )
        if ext == ".sav":
            import pyreadstat

            df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
            labels = meta.variable_value_labels or {}
            for col in label_columns:
                if col in df.columns and col in labels:
                    mapping = {_num_key(k): v for k, v in labels[col].items()}
                    df[col] = df[col].map(lambda v, m=mapping: m.get(_num_key(v), v))
            return df
    except DataError:
        raise
    except Exception as exc:  # parser errors of four libraries; report them uniformly
        raise DataError(f"{path}: cannot be read as {ext[1:]}: {type(exc).__name__}: {exc}") from exc
    raise DataError(f"{path}: unsupported file type {ext!r}")  # pragma: no cover


def _num_key(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a ``.csv``, ``.parquet``, ``.sav`` or ``.xlsx`` file without a codebook.

    SPSS files are returned with their numeric codes (value labels not applied).

    Parameters
    ----------
    path : str or Path
    sheet : str or int, optional
        Excel sheet (default: the first).

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        When the file is missing, of an unsupported type or cannot be parsed.

    Examples
    --------
    >>> from workbench.synth import demo_dir
    >>> read_table(demo_dir() / "penetration.csv").columns.tolist()
    ['region', 'category_users', 'brand', 'penetration']
    """
    path = Path(path)
    _check_path(path)
    return _read_raw(path, sheet=sheet)


def read_survey(
    path: str | Path,
    codebook: Codebook | str | Path,
    dataset: str | None = None,
    *,
    categories: bool = False,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a survey file and check it against the codebook.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.parquet``, ``.sav`` or ``.xlsx`` file.
    codebook : Codebook, str or Path
        A loaded codebook, a codebook file, or a bundled study name (``"demo"``).
    dataset : str, optional
        The codebook's dataset entry describing the file (its id and required columns).  By
        default the dataset whose ``file`` has the same file name; when none matches, only the
        columns present are checked (no required columns, no id check).
    categories : bool, default False
        Return categorical columns as pandas ``Categorical`` with the codebook's levels (in
        codebook order, ordered when the codebook says so) instead of text.
    sheet : str or int, optional
        Excel sheet (default: the first).

    Returns
    -------
    DataFrame
        A new frame; see the module docstring for the dtype of each question type.

    Raises
    ------
    DataError
        Missing file, unsupported file type, missing required columns, non-numeric values in a
        numeric column, values outside the scale, non-whole scale points, unknown categorical
        levels, missing or non-positive weights, unparsable dates, missing or duplicated ids.
        All problems of a file are reported together; ``err.problems`` lists them as dicts
        (``column, problem, n, ids``).

    Examples
    --------
    >>> from workbench.synth import demo_dir
    >>> df = read_survey(demo_dir() / "tracking.csv", "demo", "tracking")
    >>> float(df["prd1"].max()) <= 7   # the 98/99 codes became NaN
    True
    """
    path = Path(path)
    _check_path(path)
    cb = load_codebook(codebook)
    if dataset is None:
        dataset = cb.dataset_for_file(path)
    ds = cb.dataset(dataset) if dataset is not None else None
    questions = cb.all_questions()
    text_cols = {c for c, q in questions.items() if q.type in _TEXT_TYPES}
    label_cols = {c for c, q in questions.items() if q.type == "categorical"}
    raw = _read_raw(path, text_columns=text_cols, label_columns=label_cols, sheet=sheet)
    raw.columns = [str(c) for c in raw.columns]

    problems: list[dict] = []
    if len(raw) == 0:
        raise DataError(f"{path}: no rows (expected one row per respondent; is this the right file?)")
    if raw.columns.duplicated().any():
        dup = sorted(set(raw.columns[raw.columns.duplicated()]))
        problems.append(_problem(None, f"duplicated column name(s) {dup}", 0, []))
        raise _data_error(path, problems, cb)

    if ds is not None:
        missing = [c for c in ds.columns if c not in raw.columns]
        missing += [c for c in ds.id_columns if c not in raw.columns and c not in missing]
        if missing:
            problems.append(_problem(
                None, f"required column(s) missing: {', '.join(missing)}", len(missing), []
            ))

    id_cols = [c for c in (ds.id_columns if ds is not None else []) if c in raw.columns]
    if id_cols:
        id_label = "/".join(id_cols)
        key = _as_text(raw[id_cols[0]]) if len(id_cols) == 1 else (
            pd.Series([_join_key(r) for r in zip(*(_as_text(raw[c]) for c in id_cols))],
                      index=raw.index)
        )
    else:
        id_label = "row"
        key = pd.Series([str(i + 1) for i in range(len(raw))], index=raw.index)

    out = {}
    for col in raw.columns:
        q = questions.get(col)
        if q is None:
            out[col] = raw[col]
            continue
        out[col] = _convert(raw[col], col, q, cb, key, problems, categories)

    if id_cols:
        keycols = pd.DataFrame({c: out[c] for c in id_cols})
        absent = keycols.isna().any(axis=1).to_numpy()
        if absent.any():
            problems.append(_problem(
                id_label, f"missing id ({id_label})", int(absent.sum()),
                [f"row {i + 1}" for i in np.flatnonzero(absent)[:_MAX_IDS]],
            ))
        dup = keycols.duplicated(keep=False).to_numpy() & ~absent
        if dup.any():
            problems.append(_problem(
                id_label, "duplicated id", int(dup.sum()), _first_unique(key[dup]),
            ))

    if problems:
        raise _data_error(path, problems, cb, id_label)
    return pd.DataFrame(out, index=raw.index)


def _join_key(values) -> str:
    return "|".join("" if (isinstance(v, float) and np.isnan(v)) else str(v) for v in values)


def _first_unique(s: pd.Series) -> list[str]:
    out: list[str] = []
    for v in s:
        if v not in out:
            out.append(v)
        if len(out) == _MAX_IDS:
            break
    return out


def _problem(column: str | None, problem: str, n: int, ids: list[str]) -> dict:
    return {"column": column, "problem": problem, "n": int(n), "ids": [str(i) for i in ids]}


def _data_error(path: Path, problems: list[dict], cb: Codebook, id_label: str = "row") -> DataError:
    lines = [f"{path}: {len(problems)} problem(s) against codebook {cb.source}:"]
    for p in problems:
        where = f"column {p['column']!r}: " if p["column"] else ""
        ids = f"; first {id_label}: {', '.join(p['ids'])}" if p["ids"] else ""
        lines.append(f"  - {where}{p['problem']}{ids}")
    err = DataError("\n".join(lines))
    err.problems = problems
    err.path = str(path)
    return err


def _as_text(s: pd.Series) -> pd.Series:
    """Text version of a column: whole floats lose their '.0', missing stays missing."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("str")
    if pd.api.types.is_integer_dtype(s):
        return s.astype("str").where(s.notna())
    if pd.api.types.is_float_dtype(s):
        vals = s.to_numpy(dtype=float)
        txt = [
            (str(int(v)) if v.is_integer() else repr(v)) if not np.isnan(v) else np.nan
            for v in vals
        ]
        return pd.Series(txt, index=s.index, dtype="str")
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").astype("str")
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return s.astype("str")

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return pd.Series([one(v) for v in s], index=s.index, dtype="str")


def _values(s: pd.Series, n: int = 3) -> str:
    vals = pd.unique(s.dropna())[:n]
    return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in vals)


def _numeric(raw: pd.Series, col, key, problems) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    txt = raw.astype("str").str.strip().replace("", np.nan)
    num = pd.to_numeric(txt, errors="coerce").astype(float)
    bad = txt.notna() & num.isna()
    if bad.any():
        problems.append(_problem(
            col, f"{int(bad.sum())} row(s) not numeric (found {_values(txt[bad])})",
            int(bad.sum()), _first_unique(key[bad]),
        ))
    return num


def _convert(raw, col, q: Question, cb: Codebook, key, problems, categories) -> pd.Series:
    t = q.type
    if t in ("nps", "likert", "numeric", "weight"):
        num = _numeric(raw, col, key, problems)
        codes = cb.missing_codes_for(col)
        if codes:
            num = num.where(~num.isin(codes))
        if t == "weight":
            absent = num.isna()
            if absent.any():
                problems.append(_problem(col, f"{int(absent.sum())} row(s) without a weight",
                                         int(absent.sum()), _first_unique(key[absent])))
            bad = num <= 0
            if bad.any():
                problems.append(_problem(
                    col, f"{int(bad.sum())} row(s) with a weight <= 0 (found {_values(num[bad])})",
                    int(bad.sum()), _first_unique(key[bad]),
                ))
            return num
        if q.is_integer:
            frac = num.notna() & (num != np.round(num))
            if frac.any():
                what = "scale points" if q.is_scale else "values"
                problems.append(_problem(
                    col, f"{int(frac.sum())} row(s) not whole-number {what} "
                    f"(found {_values(num[frac])})", int(frac.sum()), _first_unique(key[frac]),
                ))
        lo = -np.inf if q.min is None else q.min
        hi = np.inf if q.max is None else q.max
        out = num.notna() & ((num < lo) | (num > hi))
        if out.any():
            rng = f"{_fmt(q.min)}..{_fmt(q.max)}"
            where = "the scale" if q.is_scale else "the range"
            codes_note = f", missing codes {list(codes)}" if codes else ""
            problems.append(_problem(
                col, f"{int(out.sum())} row(s) outside {where} {rng}{codes_note} "
                f"(found {_values(num[out])})", int(out.sum()), _first_unique(key[out]),
            ))
        if t == "numeric" and q.is_integer and num.notna().all():
            return num.astype("int64")
        return num
    if t == "categorical":
        txt = _as_text(raw).str.strip().replace("", np.nan)
        levels = list(q.levels)
        lookup = {lv: lv for lv in levels}
        for lv, labels in q.levels.items():
            for text in (lv, *labels.values()):
                lookup.setdefault(str(text).strip().casefold(), lv)
        uniq = pd.unique(txt.dropna())
        mapping = {}
        for v in uniq:
            mapping[v] = lookup.get(v, lookup.get(str(v).strip().casefold()))
        mapped = txt.map(mapping)
        bad = txt.notna() & mapped.isna()
        if bad.any():
            problems.append(_problem(
                col, f"{int(bad.sum())} row(s) with unknown level(s) {_values(txt[bad], 5)}; "
                f"expected one of {levels}", int(bad.sum()), _first_unique(key[bad]),
            ))
        mapped = mapped.astype("str")
        if categories:
            return pd.Series(
                pd.Categorical(mapped, categories=levels, ordered=q.ordered), index=raw.index
            )
        return mapped
    if t == "date":
        if pd.api.types.is_datetime64_any_dtype(raw):
            return raw.dt.strftime(q.format or "%Y-%m-%d").astype("str")
        txt = _as_text(raw).str.strip().replace("", np.nan)
        parsed = pd.to_datetime(txt, format=q.format or "%Y-%m-%d", errors="coerce")
        bad = txt.notna() & parsed.isna()
        if bad.any():
            problems.append(_problem(
                col, f"{int(bad.sum())} row(s) not dates in the format {q.format or '%Y-%m-%d'} "
                f"(found {_values(txt[bad])})", int(bad.sum()), _first_unique(key[bad]),
            ))
        return txt
    # id, text
    txt = _as_text(raw)
    if t == "id":
        txt = txt.str.strip()
    return txt.replace("", np.nan)


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:g}"


# ---- PII -------------------------------------------------------------------------------------------
def mask_pii(
    data: pd.DataFrame, codebook: Codebook | str | Path, *, token: str = MASK_TOKEN
) -> pd.DataFrame:
    """Replace the values of personal-data columns (``pii: true``) with ``token``.

    Columns are kept (so layouts do not change); missing values stay missing.  The input is not
    changed.

    Parameters
    ----------
    data : DataFrame
    codebook : Codebook, str or Path
    token : str, default "***"

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> mask_pii(pd.DataFrame({"email": ["a@example.com", None]}), "demo")["email"].tolist()
    ['***', nan]
    """
    cb = load_codebook(codebook)
    out = data.copy()
    for col in cb.pii_columns():
        if col in out.columns:
            s = out[col]
            out[col] = pd.Series(token, index=s.index, dtype="str").where(s.notna())
    return out


# ---- atomic writes --------------------------------------------------------------------------------
@contextlib.contextmanager
def _atomic_target(path: Path):
    """Yield a temporary path next to ``path``; on success move it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be opened on Windows
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "x.bin", b"abc")
    >>> p.read_bytes()
    b'abc'
    """
    path = Path(path)
    with _atomic_target(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; newlines are written as ``\\n`` on every system."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_frame(data: pd.DataFrame, path: str | Path, *, index: bool = False,
                       **kwargs: Any) -> Path:
    """Write a DataFrame atomically as ``.csv``, ``.parquet``, ``.xlsx`` or ``.sav`` (by extension).

    CSV is UTF-8 with ``\\n`` line ends; other keyword arguments go to the pandas writer (e.g.
    ``float_format`` for CSV) or to ``pyreadstat.write_sav``.

    Raises
    ------
    DataError
        For an unsupported extension (checked before anything is written).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = atomic_write_frame(pd.DataFrame({"a": [1, 2]}), p)
    >>> p.read_text()
    'a\\n1\\n2\\n'
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"{path}: unsupported file type {ext or '(none)'!r}; expected one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)}"
        )
    with _atomic_target(path) as tmp:
        if ext == ".csv":
            kwargs.setdefault("lineterminator", "\n")
            data.to_csv(tmp, index=index, encoding="utf-8", **kwargs)
        elif ext == ".parquet":
            data.to_parquet(tmp, index=index, **kwargs)
        elif ext == ".xlsx":
            data.to_excel(tmp, index=index, engine="openpyxl", **kwargs)
        else:
            import pyreadstat

            frame = data.reset_index() if index else data
            pyreadstat.write_sav(frame, str(tmp), **kwargs)
    return path


def sha256_file(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"")
    >>> sha256_file(p)[:12]
    'e3b0c44298fc'
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()
