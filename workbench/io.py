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

**What counts as missing.**  Only empty cells and the codebook's missing codes.  pandas would also
read the words ``NA``, ``null``, ``None``, ``n/a`` (and a dozen more) as missing: a region code
``NA`` (North America) or an answer "null" would silently disappear.  Those words are kept as
text; only in a numeric column (where they cannot be numbers) they mean missing, as R writes them.

**Encodings of CSV files.**  UTF-8 (with or without Excel's byte-order mark) and UTF-16 with a
mark are read as they are.  A file that is not UTF-8 is read as GB18030 (GBK) when its
multi-byte sequences are those of Chinese text, else as Windows-1252/Latin-1; a binary file (an
Excel workbook saved with a ``.csv`` name) or one that fits none of these is refused with the
advice to save it as "CSV UTF-8".

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

import codecs
import contextlib
import contextvars
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
    "csv_encoding",
    "neutralise_formulas",
    "likely_pii",
    "mark_formula_text",
]

#: File types :func:`read_survey`, :func:`read_table` and :func:`atomic_write_frame` handle.
SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".sav", ".xlsx")
#: What :func:`mask_pii` writes in place of personal data.
MASK_TOKEN = "***"
#: How many offending ids an error message lists.
_MAX_IDS = 5

_TEXT_TYPES = ("id", "text", "categorical", "date")
#: Words pandas reads as missing by default; only a numeric column reads them so here.
_NA_WORDS = frozenset({"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                       "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
#: Largest weight taken for a survey weight (a larger one overflows sums of squares, or is a typo).
MAX_WEIGHT = 1e15


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
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a device, pipe or socket cannot be read)")


def csv_encoding(path: str | Path) -> str:
    """The encoding to read a CSV file with (see the module docstring); refuses binary files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes("region,name\\nNA,上海\\n".encode("gb18030"))
    >>> csv_encoding(p)
    'gb18030'
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{path}: this is an Excel workbook (or another zip file), not a CSV text file; "
                        "save it as .xlsx, or from Excel as \"CSV UTF-8\"")
    if b"\x00" in head:
        raise DataError(f"{path}: holds binary data (NUL bytes), not CSV text; UTF-16 needs a "
                        "byte-order mark — save the file as \"CSV UTF-8\"")
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        data.decode("gb18030")
        if _looks_chinese(data):
            return "gb18030"
    except UnicodeDecodeError:
        pass
    for enc in ("cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "latin-1" and any("\x80" <= ch <= "\x9f" for ch in text):
            break  # control characters: not Latin-1 text either
        return enc
    line = data.count(b"\n", 0, first_bad) + 1
    raise DataError(f"{path}: line {line}: byte 0x{data[first_bad]:02X} is not UTF-8, and the file is not "
                    "GB18030 (GBK) or Latin-1 text either; save it as \"CSV UTF-8\"")


def _looks_chinese(data: bytes) -> bool:
    """Multi-byte sequences are those of GB2312 Chinese text (both bytes 0xA1..0xFE), not
    Latin-1 accents followed by ASCII letters (which GB18030 would also decode)."""
    pairs = core = 0
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if i + 1 < n and 0x30 <= data[i + 1] <= 0x39:  # a four-byte GB18030 sequence
            pairs += 1
            i += 4
            continue
        pairs += 1
        core += b >= 0xA1 and i + 1 < n and data[i + 1] >= 0xA1
        i += 2
    return pairs > 0 and core >= 0.8 * pairs


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
            # empty cells are missing; "NA", "null", "None"... are text (see the module docstring)
            return pd.read_csv(path, dtype={c: str for c in text_columns}, low_memory=False,
                               encoding=csv_encoding(path), keep_default_na=False, na_values=[""])
        if ext == ".parquet":
            return pd.read_parquet(path)
        if ext == ".xlsx":
            return pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet,
                dtype={c: str for c in text_columns}, engine="openpyxl",
                keep_default_na=False, na_values=[""],
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
    if id_cols and not any(c in questions and questions[c].pii for c in id_cols):
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


_HIDE_VALUES = contextvars.ContextVar("hide_values", default=False)


def _values(s: pd.Series, n: int = 3) -> str:
    if _HIDE_VALUES.get():  # a personal-data column: its values stay out of every message
        return "values not shown: personal data"
    vals = pd.unique(s.dropna())[:n]
    return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in vals)


def _numeric(raw: pd.Series, col, key, problems) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    txt = raw.astype("str").str.strip().replace("", np.nan)
    txt = txt.where(~txt.isin(_NA_WORDS))  # in a numeric column "NA" / "null" can only mean missing
    num = pd.to_numeric(txt, errors="coerce").astype(float)
    bad = txt.notna() & num.isna()
    if bad.any():
        problems.append(_problem(
            col, f"{int(bad.sum())} row(s) not numeric (found {_values(txt[bad])})",
            int(bad.sum()), _first_unique(key[bad]),
        ))
    return num


def _convert(raw, col, q: Question, cb: Codebook, key, problems, categories) -> pd.Series:
    token = _HIDE_VALUES.set(bool(q.pii))
    try:
        return _convert_checked(raw, col, q, cb, key, problems, categories)
    finally:
        _HIDE_VALUES.reset(token)


def _convert_checked(raw, col, q: Question, cb: Codebook, key, problems, categories) -> pd.Series:
    t = q.type
    if t in ("nps", "likert", "numeric", "weight"):
        num = _numeric(raw, col, key, problems)
        inf = np.isinf(num)
        if inf.any():
            problems.append(_problem(col, f"{int(inf.sum())} row(s) not finite numbers (found "
                                     f"{_values(num[inf])})", int(inf.sum()), _first_unique(key[inf])))
            num = num.where(~inf)
        codes = cb.missing_codes_for(col)
        if codes:
            num = num.where(~num.isin(codes))
        if t == "weight":
            absent = num.isna() & ~inf
            if absent.any():
                problems.append(_problem(col, f"{int(absent.sum())} row(s) without a weight",
                                         int(absent.sum()), _first_unique(key[absent])))
            bad = num <= 0
            if bad.any():
                problems.append(_problem(
                    col, f"{int(bad.sum())} row(s) with a weight <= 0 (found {_values(num[bad])})",
                    int(bad.sum()), _first_unique(key[bad]),
                ))
            huge = num > MAX_WEIGHT
            if huge.any():
                problems.append(_problem(
                    col, f"{int(huge.sum())} row(s) with a weight above {MAX_WEIGHT:g}, too large for a "
                    f"survey weight (found {_values(num[huge])})", int(huge.sum()), _first_unique(key[huge]),
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
_PII_NAMES = frozenset({
    "email", "emailaddress", "mail", "phone", "phonenumber", "mobile", "mobilephone", "cellphone", "cell",
    "tel", "telephone", "fax", "name", "fullname", "firstname", "lastname", "surname", "givenname",
    "familyname", "address", "streetaddress", "street", "postcode", "zipcode", "ssn", "nationalid",
    "idcard", "idnumber", "passport", "ipaddress", "wechat", "weixin", "qq", "birthdate", "dateofbirth", "dob",
})
_PII_NAME_PARTS = ("email", "phone", "mobile", "wechat", "passport", "fullname")
_PII_CJK = ("姓名", "名字", "手机", "电话", "邮箱", "地址", "身份证", "微信", "护照", "生日")
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
_PHONE = r"\+?\(?\d[\d\s\-().]{5,18}\d"  # with a separator or "+": plain digit runs are ids
_CN_MOBILE = r"1[3-9]\d{9}"
_NATIONAL_ID = r"\d{17}[\dXx]|\d{3}-\d{2}-\d{4}"  # Chinese resident id; US social security number


def likely_pii(data: pd.DataFrame, codebook: Codebook | str | Path | None = None) -> dict[str, str]:
    """Columns that look like personal data although the codebook does not flag them.

    A column is suspect by its name (``email``, ``mobile``, ``full_name``, ``手机`` …) or by its
    values (half are e-mail addresses; 80 % are phone numbers, Chinese mobile numbers or national
    ids).  Columns the codebook flags ``pii: true`` are not listed (they are masked anyway), nor
    those it declares safe with an explicit ``pii: false``; id columns are judged by name only.

    Returns
    -------
    dict
        ``{column: why}``; the reasons never quote a value.
    """
    cb = load_codebook(codebook) if codebook is not None else None
    questions = cb.all_questions() if cb is not None else {}
    out: dict[str, str] = {}
    for col in data.columns:
        name = str(col)
        q = questions.get(name)
        if q is not None and (q.pii or "pii" in q.model_fields_set):
            continue  # flagged (masked anyway) or declared safe
        norm = "".join(ch for ch in name.lower() if ch.isalnum())
        if norm in _PII_NAMES or any(p in norm for p in _PII_NAME_PARTS) or any(h in name for h in _PII_CJK):
            out[name] = "named like personal data"
            continue
        if q is not None and q.type != "text":
            continue
        s = data[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        sample = s.dropna().astype(str).str.strip()
        sample = sample[sample != ""].iloc[:2000]
        if len(sample) == 0:
            continue
        if sample.str.fullmatch(_EMAIL).mean() >= 0.5:
            out[name] = "values look like e-mail addresses"
        elif (sample.str.fullmatch(_PHONE) & (sample.str.count(r"[\s\-().+]") > 0)).mean() >= 0.8 \
                or sample.str.fullmatch(_CN_MOBILE).mean() >= 0.8:
            out[name] = "values look like phone numbers"
        elif sample.str.fullmatch(_NATIONAL_ID).mean() >= 0.8:
            out[name] = "values look like national id numbers"
    return out


def mask_pii(
    data: pd.DataFrame, codebook: Codebook | str | Path, *, token: str = MASK_TOKEN,
    guess: bool = True,
) -> pd.DataFrame:
    """Replace the values of personal-data columns with ``token``.

    Personal data are the columns the codebook flags ``pii: true`` and, with ``guess``, the
    columns that look like personal data although the codebook does not say so
    (:func:`likely_pii`); those are masked too, with a :class:`~workbench.errors.PIIWarning`
    naming them (never their values), until the codebook flags them or declares them safe
    (``pii: false``).  Columns are kept (so layouts do not change); missing values stay missing.
    The input is not changed.

    Parameters
    ----------
    data : DataFrame
    codebook : Codebook, str or Path
    token : str, default "***"
    guess : bool, default True
        Also mask the columns :func:`likely_pii` finds.

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
    cols = [c for c in cb.pii_columns() if c in out.columns]
    if guess:
        guessed = likely_pii(out, cb)
        if guessed:
            import warnings

            from workbench.errors import PIIWarning

            names = ", ".join(guessed)
            warnings.warn(PIIWarning(
                f"Column(s) {names} look like personal data but the codebook does not flag them; they "
                "were masked (flag them pii: true, or pii: false if they are safe)",
                key="io.pii_guess", columns=names), stacklevel=2)
            cols += [c for c in guessed if c not in cols]
    for col in cols:
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
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; a report file follows the umask
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else by setting it back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: First characters that make a spreadsheet read a cell as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(data: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``data`` in which text cells and column names that a spreadsheet would run as a
    formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) start with ``'``.

    Numbers are left alone (``-3`` stays a number).  This is the OWASP advice for CSV files a
    client opens in Excel; :func:`atomic_write_frame` applies it to every CSV it writes (an XLSX
    file keeps the text and marks such cells as text instead).

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok"], "n": [-1, 2]}))["a"].tolist()
    ["'=1+1", 'ok']
    """
    out = data.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        out[col] = s.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_TRIGGERS) else v)
    out.columns = ["'" + c if isinstance(c, str) and c.startswith(FORMULA_TRIGGERS) else c for c in out.columns]
    return out


def mark_formula_text(sheet) -> None:
    """In an openpyxl sheet, cells whose text starts like a formula stay text (quote prefix):
    openpyxl would store ``"=..."`` as a formula that Excel runs."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                cell.data_type = "s"
                cell.quotePrefix = True


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

    CSV is UTF-8 with ``\\n`` line ends (``encoding="utf-8-sig"`` adds the byte-order mark a
    spreadsheet needs to read Chinese: use it for files written for people); other keyword
    arguments go to the pandas writer (e.g. ``float_format`` for CSV) or to ``pyreadstat.write_sav``.  Text that a spreadsheet would run
    as a formula is neutralised in CSV and XLSX files (:func:`neutralise_formulas`).  The file's
    permissions follow the umask.

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
            frame = neutralise_formulas(data.reset_index() if index else data)
            for col in frame.columns:  # a bare CR is not quoted by the csv writer: it would split the row
                if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                    frame[col] = frame[col].map(
                        lambda v: v.replace("\r\n", "\n").replace("\r", "\n") if isinstance(v, str) else v)
            kwargs.setdefault("encoding", "utf-8")
            frame.to_csv(tmp, index=False, **kwargs)
        elif ext == ".parquet":
            data.to_parquet(tmp, index=index, **kwargs)
        elif ext == ".xlsx":
            sheet = kwargs.pop("sheet_name", "Sheet1")
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                data.to_excel(xw, index=index, sheet_name=sheet, **kwargs)
                mark_formula_text(xw.sheets[sheet])
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
