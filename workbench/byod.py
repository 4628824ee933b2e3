"""Bring your own data: draft a study's codebook and params files from its raw data files.

``workbench init STUDY --data FILE ...`` calls :func:`init_study`, which reads each file
(``.csv``, ``.xlsx``, ``.parquet``, SPSS ``.sav``), infers what every column is, and writes

* ``params/STUDY/codebook.yaml`` -- a draft codebook that :func:`~workbench.codebook.load_codebook`
  accepts as written (configuration is versioned; the data stay where they are, out of git);
* ``params/STUDY/<notebook>.yaml`` -- a params file for each notebook the data can feed, holding
  the study's own names only (no demo values): ``study``, ``client``, ``data`` (the data
  folder), ``codebook``, ``notebook`` and the few keys that pick a dataset.  Every other
  parameter takes its default from the codebook at run time.

Every guess is returned as a :class:`Guess` (what was inferred, from what, and what the user must
confirm) and listed on screen by the command.  Constructs, outcomes and SERVQUAL maps are never
invented: items sharing a name prefix (``srv1, srv2, srv3``) and ``E_``/``P_`` column pairs are
suggested in *commented* blocks of the codebook that the user confirms by uncommenting.

Why the inference is written here
---------------------------------
General type-inference tools (pandas' ``infer_objects``/``convert_dtypes``, frictionless, visions)
infer *storage* types -- integer, string, datetime.  A survey codebook needs *survey* types: that
whole numbers 1..7 are a scale with its end points, that -99 in it is a "don't know" code, that a
0..10 column named ``ltr`` is the recommendation question, that a column of e-mail addresses is
personal data, that ``wave_no`` numbers the waves.  Those rules are short, specific to this
codebook format, and each one must be explained to the user, so they are plain functions here
(one per decision, below).  SPSS metadata -- variable and value labels, user-missing values,
measurement levels -- is read with pyreadstat, the reader :mod:`workbench.io` already uses.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"resp_id": range(1, 21), "q1": [1, 2, 3, 4, 5] * 4}).to_csv(folder / "s.csv", index=False)
>>> draft = infer_study("acme", [folder / "s.csv"])
>>> draft.codebook["questions"]["q1"]["type"], draft.codebook["questions"]["q1"]["max"]
('likert', 5)
"""

from __future__ import annotations

import math
import re
import subprocess
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from workbench import PROJECT_ROOT
from workbench.errors import DataError, ParamsError, WorkbenchError

__all__ = [
    "Guess",
    "Draft",
    "InitResult",
    "NOTEBOOKS",
    "infer_study",
    "codebook_yaml",
    "params_yaml",
    "init_study",
    "report_lines",
]

#: Notebooks ``init`` can draft a params file for, with what each needs from the data.
NOTEBOOKS = {
    "01_sampling_frame": "a sampling frame (one row per population unit with its strata) and brand "
                         "penetration per stratum",
    "02_wave_analysis": "a wave column (whole numbers numbering the survey waves)",
    "03_key_drivers": "at least two groups of scale items (e.g. srv1..srv3 and sat1..sat3)",
    "04_five_gap": "SERVQUAL expectation and perception column pairs (E_<item>, P_<item>)",
    "05_tab_book": "questions to tabulate and a banner: a brand column or a categorical question of 2-12 "
                   "levels",
}

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")

#: Values that surveys use as "refused / don't know / not asked" codes.
_SENTINELS = frozenset({-1, -2, -3, -7, -8, -9, -97, -98, -99, -999, -9999,
                        97, 98, 99, 997, 998, 999, 9997, 9998, 9999})
#: Scale end points a whole-number column is matched against, in order of preference.
_SCALES = ((1, 5), (1, 7), (1, 10))

# ---- name hints (tokens of a column name, lower case) ------------------------------------------
_ID_TOKENS = {"id", "rid", "uuid", "guid", "respid", "respondent", "respondentid", "caseid", "serial",
              "record", "recordid", "responseid", "uid", "case", "caseno", "respno", "resp"}
_NPS_TOKENS = {"nps", "ltr", "recommend", "recommendation", "recommended", "likelihoodtorecommend"}
_WEIGHT_TOKENS = {"weight", "weights", "wt", "wgt", "wght", "pweight", "weighting"}
_WAVE_TOKENS = {"wave", "waveno", "wavenum", "wavenumber", "waveid", "round"}
_PERIOD_TOKENS = {"period", "month", "yearmonth", "yyyymm", "quarter", "fieldwork", "fieldworkmonth"}
_DATE_TOKENS = {"date", "time", "day", "datetime", "timestamp", "interviewdate", "dob", "birthday"}
_BRAND_TOKENS = {"brand", "bank", "operator", "provider", "company", "carrier", "supplier", "insurer",
                 "airline", "retailer", "store", "hotel", "vendor", "network", "manufacturer"}
_CATEGORY_TOKENS = {"gender", "sex", "region", "segment", "age", "agegroup", "ageband", "group",
                    "city", "country", "province", "state", "channel", "education", "income",
                    "occupation", "area", "tier", "plan", "status", "type", "cluster", "zone",
                    "branch", "market", "category", "class", *_BRAND_TOKENS}
#: Words of a rating question; a column named "brand_image" rates the brand, it does not name one.
_RATING_TOKENS = {"image", "rating", "rate", "score", "sat", "satisfaction", "csat", "quality", "value",
                  "trust", "loyalty", "agree", "perception", "expectation", "importance", "likely",
                  "overall", "performance", "experience", "reputation", "effort"}
_PII_NAMES = {"name", "fullname", "firstname", "lastname", "surname", "givenname", "familyname",
              "respondentname", "customername", "contactname", "email", "emailaddress", "mail",
              "phone", "phonenumber", "phoneno", "telephone", "tel", "telno", "mobile",
              "mobilenumber", "mobileno", "mobilephone", "cell", "cellphone", "address",
              "streetaddress", "homeaddress", "postaddress", "street", "postcode", "zipcode",
              "ssn", "passport", "idcard", "idnumber", "nationalid", "ip", "ipaddress"}
_PII_CJK = ("姓名", "名字", "电话", "手机", "邮箱", "地址", "身份证", "联系方式")
_CJK_HINTS = {
    "id": ("编号", "序号"), "nps": ("推荐",), "weight": ("权重", "加权"), "wave": ("波次", "轮次"),
    "period": ("月份", "期间", "季度"), "date": ("日期", "时间"), "brand": ("品牌", "运营商", "银行", "公司"),
    "category": ("性别", "地区", "年龄", "城市", "省份", "渠道", "学历", "收入", "职业"),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,20}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m", "%Y/%m/%d", "%Y/%m", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
_ITEM = re.compile(r"^(.*?[A-Za-z\u3400-\u9fff])[_.\-]?(\d+)$")


# ---- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Guess:
    """One inference, as listed on screen.

    Attributes
    ----------
    dataset : str
        Dataset (file) the column is in; ``""`` for study-wide guesses.
    column : str
        Column name; ``""`` for study-wide guesses.
    what : str
        What was inferred (``"likert 1-5"``, ``"missing code -99"``, ``"wave role"``).
    why : str
        The evidence.
    confirm : str
        What the user must check in the codebook.
    """

    dataset: str
    column: str
    what: str
    why: str
    confirm: str = ""


@dataclass
class Draft:
    """A drafted study: the codebook mapping, the guesses and the notebooks the data can feed.

    ``notebooks`` maps notebook name to the keys its params file states beyond the common ones
    (e.g. ``{"03_key_drivers": {"dataset": "survey"}}``); ``skipped`` maps the other notebooks to
    the reason.  ``suggestions`` holds the commented blocks (``constructs``, ``outcomes``,
    ``servqual``) the user confirms.
    """

    study: str
    client: str
    language: str
    files: dict[str, Path]
    codebook: dict
    guesses: list[Guess] = field(default_factory=list)
    suggestions: dict[str, dict] = field(default_factory=dict)
    notebooks: dict[str, dict] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_study` wrote."""

    draft: Draft
    codebook: Path
    params: dict[str, Path]
    data: str
    warnings: tuple[str, ...] = ()


# ---- small helpers --------------------------------------------------------------------------------
def _clean(text: Any, limit: int = 60) -> str:
    """Untrusted text for one screen line or YAML comment: no control characters, bounded."""
    s = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _tokens(name: str) -> list[str]:
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(name))
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", s.lower()) if p]
    out = []
    for p in parts:
        out.append(p)
        stripped = p.rstrip("0123456789")
        if stripped and stripped != p:
            out.append(stripped)
    joined = "".join(re.split(r"[^a-z0-9]+", str(name).lower()))
    if joined and joined not in out:
        out.append(joined)
    return out


def _hint(name: str, tokens: set[str], cjk_key: str | None = None) -> bool:
    """Whether a column name hints at a meaning: one of its tokens, a long hint word inside a
    run-together name (``serviceprovider``), or a Chinese hint word."""
    toks = _tokens(name)
    if set(toks) & tokens:
        return True
    long_words = [t for t in tokens if len(t) >= 5]
    if any(w in tok for tok in toks for w in long_words):
        return True
    return bool(cjk_key) and any(h in str(name) for h in _CJK_HINTS.get(cjk_key, ()))


def _is_pii_name(name: str) -> bool:
    norm = re.sub(r"[^a-z0-9]", "", str(name).lower())
    if norm in _PII_NAMES or "email" in norm:
        return True
    return any(h in str(name) for h in _PII_CJK)


def _lang_of(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def _labels(text: Any) -> dict | None:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = str(text).strip()
    return {_lang_of(s): s} if s else None


def _num(v: float) -> int | float:
    """A whole float as int (for YAML and messages)."""
    return int(v) if float(v).is_integer() else float(v)


def _fmt_range(lo: float, hi: float) -> str:
    return f"{_num(lo)}..{_num(hi)}"


def _slug_name(stem: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    if not s or not s[0].isalpha():
        s = "data_" + s if s else "data"
    return s


def _construct_name(prefix: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", prefix).strip("_").upper()
    if not s or not s[0].isalpha():
        s = "C_" + s
    return s


# ---- reading ---------------------------------------------------------------------------------------
@dataclass
class _Source:
    frame: pd.DataFrame
    labels: dict = field(default_factory=dict)        # column -> variable label
    value_labels: dict = field(default_factory=dict)  # column -> {code: label}
    user_missing: dict = field(default_factory=dict)  # column -> [codes]
    measure: dict = field(default_factory=dict)       # column -> nominal | ordinal | scale
    skipped_ranges: dict = field(default_factory=dict)  # column -> "lo..hi" too wide to list
    ext: str = ""


def _read(path: Path) -> _Source:
    from workbench.io import read_table

    if path.suffix.lower() != ".sav":
        df = read_table(path)
        df.columns = [str(c) for c in df.columns]
        return _Source(df, ext=path.suffix.lower())
    if not path.is_file():
        read_table(path)  # raises the uniform "file not found" / "expected a file" errors
    try:
        import pyreadstat

        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat raises its own ReadstatError and OSErrors
        raise DataError(f"{path}: cannot be read as sav: {type(exc).__name__}: {exc}") from exc
    src = _Source(df, ext=".sav")
    src.labels = {c: lab for c, lab in (meta.column_names_to_labels or {}).items() if lab}
    src.value_labels = {c: dict(v) for c, v in (meta.variable_value_labels or {}).items()}
    src.measure = {c: m for c, m in (meta.variable_measure or {}).items()
                   if m in ("nominal", "ordinal", "scale")}
    for col, ranges in (meta.missing_ranges or {}).items():
        codes = []
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
                continue  # string user-missing values: text columns take no missing codes
            if not (float(lo).is_integer() and float(hi).is_integer()):
                continue
            if hi - lo > 50:
                src.skipped_ranges[col] = _fmt_range(lo, hi)
                continue
            codes.extend(range(int(lo), int(hi) + 1))
        if codes:
            src.user_missing[col] = sorted(set(codes))
    return src


# ---- one column ------------------------------------------------------------------------------------
@dataclass
class _Col:
    """What was inferred for one column."""

    spec: dict
    what: str
    why: str
    confirm: str = ""
    codes: list[int] = field(default_factory=list)   # missing codes found in this column
    code_labels: dict = field(default_factory=dict)  # code -> labels (SPSS)
    pii_why: str = ""
    role: str | None = None                          # wave | period | brand | weight candidate
    unique: bool = False


def _as_numbers(s: pd.Series) -> pd.Series | None:
    """The column as floats when every non-blank value is a number; else None."""
    if pd.api.types.is_bool_dtype(s):
        return None
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return None
    txt = s.dropna().astype(str).str.strip()
    txt = txt[txt != ""]
    if txt.empty:
        return None
    num = pd.to_numeric(txt, errors="coerce")
    if num.isna().any():
        return None
    return pd.to_numeric(s.astype(str).str.strip().replace({"": np.nan, "nan": np.nan}),
                         errors="coerce").astype(float)


def _date_values(s: pd.Series) -> bool:
    vals = s.dropna()
    if vals.empty:
        return False
    import datetime as dt

    return all(isinstance(v, (dt.date, dt.datetime, pd.Timestamp)) for v in vals.iloc[:200])


def _date_format(txt: pd.Series) -> str | None:
    """The first of :data:`_DATE_FORMATS` every value parses with, or None."""
    vals = txt.dropna().astype(str).str.strip()
    vals = vals[vals != ""]
    if vals.empty or not vals.str.contains(r"\d").all():
        return None
    uniq = pd.Series(pd.unique(vals))
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(uniq, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None


def _sentinels(values: pd.Series, declared: list[int]) -> tuple[list[int], pd.Series]:
    """Missing codes among the values and the values without them.

    A code is a value from :data:`_SENTINELS` that lies outside the range of the other values
    and is clearly apart from them: below a range that starts at 0 or above, or above
    ``max(10, 1.5 * largest other value)`` (so the 99 of an age column is kept as an age).
    Codes declared as user-missing in SPSS are always codes.
    """
    codes = list(declared)
    body = values[~values.isin(declared)] if declared else values
    if not (body == np.round(body)).all():
        return sorted(set(declared)), body
    candidates = sorted(int(v) for v in pd.unique(body) if int(v) in _SENTINELS)
    rest = body[~body.isin(candidates)]
    if rest.empty:
        return sorted(set(declared)), body
    lo, hi = rest.min(), rest.max()
    for c in candidates:
        if (c < 0 <= lo) or (c > hi and c > max(10.0, 1.5 * hi)):
            codes.append(c)
    codes = sorted(set(codes))
    return codes, values[~values.isin(codes)]


def _scale_for(lo: float, hi: float) -> tuple[int, int] | None:
    if lo >= 1:
        for a, b in _SCALES:
            if hi <= b:
                return (a, b)
        return None
    if lo == 0 and 6 <= hi <= 10:
        return (0, 10)
    return None


def _infer_column(name: str, s: pd.Series, src: _Source, n_rows: int) -> _Col:
    values = s.dropna()
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        blank = values.astype(str).str.strip() == ""
        values = values[~blank]
    label = _labels(src.labels.get(name))
    pii_name = _is_pii_name(name)

    def make(spec: dict, what: str, why: str, confirm: str = "", **kw) -> _Col:
        spec = {"type": spec.pop("type"), **({"label": label} if label else {}), **spec}
        return _Col(spec=spec, what=what, why=why, confirm=confirm, **kw)

    if values.empty:
        return make({"type": "text"}, "text", "the column is empty", "what it holds")

    n = len(values)
    unique = values.nunique() == n and n == n_rows
    if _hint(name, _ID_TOKENS, "id") and unique and not pii_name:
        return make({"type": "id"}, "id", "unique in every row, named like an id",
                    "it identifies the respondent", unique=True)

    if pd.api.types.is_datetime64_any_dtype(s) or _date_values(values):
        # the format is that of the text read_survey sees: Excel date cells read as text carry a
        # time ("2025-03-01 00:00:00"), and so do SPSS date-times
        import datetime as dt

        if src.ext == ".xlsx":
            fmt = "%Y-%m-%d %H:%M:%S"
        elif pd.api.types.is_datetime64_any_dtype(s):
            fmt = "%Y-%m-%d"  # read_survey writes real datetimes in the question's format itself
        else:
            timed = any(isinstance(v, dt.datetime) for v in values.iloc[:200])
            fmt = "%Y-%m-%d %H:%M:%S" if timed else "%Y-%m-%d"
        spec = {"type": "date"} if fmt == "%Y-%m-%d" else {"type": "date", "format": fmt}
        col = make(spec, "date", "stored as dates", "")
        col.role = "period" if _hint(name, _PERIOD_TOKENS, "period") else None
        return col

    nums = _as_numbers(s)
    if nums is not None and not pii_name:
        return _infer_number(name, nums.dropna(), s, src, n_rows, make)
    return _infer_text(name, values, s, n_rows, make, pii_name)


def _infer_number(name, values: pd.Series, raw: pd.Series, src: _Source, n_rows: int, make) -> _Col:
    declared = src.user_missing.get(name, [])
    vlabels = {_num(k): v for k, v in src.value_labels.get(name, {}).items()
               if isinstance(k, (int, float)) and not (isinstance(k, float) and math.isnan(k))}
    measure = src.measure.get(name)
    codes, body = _sentinels(values, declared)
    code_labels = {c: _labels(vlabels[c]) for c in codes if c in vlabels and _labels(vlabels[c])}
    code_note = f"; {', '.join(map(str, codes))} read as missing" if codes else ""
    kw = {"codes": codes, "code_labels": code_labels}
    if body.empty:
        return make({"type": "numeric"}, "numeric", "only missing codes" + code_note,
                    "what it holds", **kw)
    whole = bool((body == np.round(body)).all())
    lo, hi = float(body.min()), float(body.max())
    distinct = int(body.nunique())
    rng = _fmt_range(lo, hi)
    complete = raw.notna().all() and len(values) == n_rows

    # weight: named so, positive, present in every row
    if _hint(name, _WEIGHT_TOKENS, "weight"):
        if lo > 0 and complete and not codes:
            mean = float(body.mean())
            col = make({"type": "weight"}, "weight", f"named like a weight, positive, mean {mean:.2f}",
                       "it is the weight to use" + ("" if 0.5 <= mean <= 2 else
                                                    " (its mean is far from 1: a grossing-up weight?)"))
            col.role = "weight"
            return col
    # wave: named so, whole numbers
    if _hint(name, _WAVE_TOKENS, "wave") and whole and lo >= 0 and distinct <= 100:
        col = make({"type": "numeric", "integer": True, "min": 1 if lo >= 1 else 0},
                   "numeric (wave)", f"named like a wave, whole numbers {rng}" + code_note,
                   "it numbers the survey waves", **kw)
        col.role = "wave"
        return col
    # periods written as numbers (202406)
    if whole and _hint(name, _PERIOD_TOKENS | _DATE_TOKENS, "period") and lo >= 190001 and hi <= 210012:
        fmt = _date_format(pd.Series([str(int(v)) for v in pd.unique(body)]))
        if fmt is None:
            fmt = "%Y%m" if pd.to_datetime(pd.Series([str(int(v)) for v in pd.unique(body)]),
                                           format="%Y%m", errors="coerce").notna().all() else None
        if fmt is not None:
            col = make({"type": "date", "format": fmt}, "date", f"named like a period, values such as "
                       f"{int(lo)} read with {fmt}", "the date format", **kw)
            col.role = "period" if _hint(name, _PERIOD_TOKENS, "period") else None
            return col

    # phone numbers stored as numbers
    if whole and lo >= 1e9:
        share = float(pd.Series([str(int(v)) for v in body.iloc[:2000]]).str.match(_CN_MOBILE).mean())
        if share >= 0.8:
            col = make({"type": "text", "pii": True}, "text, pii", "values look like phone numbers",
                       "it is personal data (masked in every output)")
            col.pii_why = col.why
            return col

    nominal = measure == "nominal"
    category_name = ((_hint(name, _CATEGORY_TOKENS, "category") or _hint(name, _BRAND_TOKENS, "brand"))
                     and not _hint(name, _RATING_TOKENS))
    nps_name = _hint(name, _NPS_TOKENS, "nps") or _recommend_label(src.labels.get(name))
    body_keys = sorted(_num(v) for v in pd.unique(body))
    labelled_all = bool(vlabels) and all(k in vlabels for k in body_keys)
    # the scale the values (and any SPSS labels, e.g. anchors of unused end points) lie on
    ends = [k for k in vlabels if k not in codes and 0 <= k <= 10]
    scale = _scale_for(min([lo] + ends), max([hi] + ends)) if whole else None
    scale_labels = _anchors_only(vlabels, codes) or _scale_words(vlabels, codes)
    scale_evidence = scale is not None and (distinct >= 4 or measure in ("ordinal", "scale") or nps_name
                                            or scale_labels)
    # SPSS marks many rating questions "nominal" (survey tools export them so): labels that read
    # like a rating scale ("Strongly agree", "非常满意") or anchor only its ends outweigh the measure
    nominal = nominal and not (scale is not None and scale_labels)
    if whole and (nominal or (category_name and (distinct <= 12 or labelled_all))
                  or (labelled_all and distinct <= 50 and not scale_evidence)):
        return _categorical_codes(name, body_keys, vlabels, measure, make, kw, category_name, nominal)

    # scales: whole numbers on a known scale
    if scale_evidence:
        a, b = scale
        anchors = {k: _labels(v) for k, v in sorted(vlabels.items())
                   if k not in codes and a <= k <= b and _labels(v)}
        spec = {"min": a, "max": b}
        if anchors:
            spec["levels"] = anchors
        why = f"whole numbers {rng}" + (f"; SPSS value labels as anchors" if anchors else "") + code_note
        if measure == "nominal":
            why += "; SPSS measure nominal, but the labels read like a rating scale"
        if scale == (0, 10) and nps_name:
            return make({"type": "nps", **spec}, "nps 0-10", why + ", named or labelled like a recommendation question",
                        "it asks how likely the respondent is to recommend", **kw)
        if scale == (0, 10):
            return make({"type": "likert", **spec}, "likert 0-10",
                        why + "; not named like a recommendation question, so not nps",
                        "the scale; make it type nps if it is the likelihood-to-recommend question", **kw)
        extra = "; named like a recommendation question but NPS needs 0-10" if nps_name else ""
        return make({"type": "likert", **spec}, f"likert {a}-{b}", why + extra,
                    f"the scale ends {a} and {b}", **kw)
    if whole and distinct <= 12 and not (lo >= 0 and hi > 20) and not (lo == 0 and distinct >= 3):
        return _categorical_codes(name, body_keys, vlabels, measure, make, kw, category_name, nominal)
    spec: dict = {"type": "numeric"}
    if whole:
        spec["integer"] = True
    return make(spec, "numeric", f"{'whole numbers' if whole else 'numbers'} {rng}" + code_note,
                "", **kw)


def _recommend_label(label: Any) -> bool:
    """An SPSS variable label asking about recommending ("How likely ... to recommend ...")."""
    return isinstance(label, str) and bool(re.search(r"recommend|推荐", label, re.I))


_SCALE_WORDS = re.compile(
    r"agree|satisf|likely|poor|excellent|good|bad|important|very|extremely|strongly|never|always|"
    r"neutral|neither|fair|often|rarely|worst|best|满意|同意|非常|一般|重要|可能|好|差|从不|总是", re.I)


def _scale_words(vlabels, codes) -> bool:
    """Most value labels read like the points of a rating scale."""
    texts = [str(v) for k, v in vlabels.items() if k not in codes and v is not None]
    return len(texts) >= 3 and sum(bool(_SCALE_WORDS.search(t)) for t in texts) * 2 >= len(texts)


def _anchors_only(vlabels, codes) -> bool:
    """SPSS labels on the two ends of a range only: scale anchors ("1 = poor ... 7 = excellent")."""
    keys = sorted(k for k in vlabels if k not in codes)
    return len(keys) == 2 and keys[-1] - keys[0] >= 3


def _categorical_codes(name, keys, vlabels, measure, make, kw, category_name, nominal) -> _Col:
    # a categorical question takes no missing codes: its codes stay levels (labelled when SPSS
    # labels them), so reading the data never fails on them; the user may drop them
    codes = kw.pop("codes")
    keys = sorted(set(keys) | set(codes))
    kw["code_labels"] = {}
    levels = {k: (_labels(vlabels.get(k)) or {}) for k in keys}
    # labelled codes that no respondent chose are still levels of the question
    for k, v in sorted(vlabels.items()):
        if k not in levels and _labels(v):
            levels[k] = _labels(v)
    levels = dict(sorted(levels.items()))
    spec: dict = {"type": "categorical", "levels": levels if any(levels.values()) else list(levels)}
    if measure == "ordinal":
        spec["ordered"] = True
    why = (f"{len(keys)} codes" + (" with SPSS value labels" if vlabels else "")
           + (", SPSS measure nominal" if nominal else "")
           + (", named like a grouping" if category_name else "")
           + (f"; {', '.join(map(str, codes))} kept as level(s): categorical questions take no missing "
              "codes" if codes else ""))
    col = make(spec, "categorical", why, "the levels (and their labels)", **kw)
    if _hint(name, _BRAND_TOKENS, "brand") and not _hint(name, _RATING_TOKENS):
        col.role = "brand"
    return col


def _infer_text(name, values: pd.Series, raw: pd.Series, n_rows: int, make, pii_name: bool) -> _Col:
    txt = values.astype(str).str.strip()
    n = len(txt)
    distinct = int(txt.nunique())
    sample = txt.iloc[:2000]
    emails = float(sample.str.match(_EMAIL).mean())
    phones = float((sample.str.match(_PHONE) & (sample.str.count(r"\d") >= 7)).mean())
    mobiles = float(sample.str.match(_CN_MOBILE).mean())
    if pii_name or emails >= 0.5 or phones >= 0.8 or mobiles >= 0.8:
        if emails >= 0.5:
            why = "values look like e-mail addresses"
        elif phones >= 0.8 or mobiles >= 0.8:
            why = "values look like phone numbers"
        else:
            why = "named like personal data"
        if pii_name and not why.startswith("named"):
            why = "named like personal data; " + why
        col = make({"type": "text", "pii": True}, "text, pii", why,
                   "it is personal data (masked in every output)")
        col.pii_why = why
        return col
    fmt = _date_format(txt)
    if fmt is not None and (distinct > 1 or _hint(name, _DATE_TOKENS | _PERIOD_TOKENS, "date")):
        col = make({"type": "date", "format": fmt}, "date", f"every value reads as a date with {fmt}",
                   "the date format" + (" (day/month or month/day?)" if fmt in ("%d/%m/%Y", "%m/%d/%Y")
                                        else ""))
        col.role = "period" if _hint(name, _PERIOD_TOKENS, "period") else None
        return col
    unique = distinct == n and n == n_rows
    if unique and _hint(name, _ID_TOKENS, "id"):
        return make({"type": "id"}, "id", "unique in every row, named like an id",
                    "it identifies the respondent", unique=True)
    mean_len = float(txt.str.len().mean())
    if unique and n >= 20 and mean_len <= 24 and bool(sample.str.fullmatch(r"[A-Za-z0-9_\-.:/#]*\d[A-Za-z0-9_\-.:/#]*").all()):
        return make({"type": "id"}, "id", "unique in every row, short codes with digits and no spaces",
                    "it identifies the respondent (else make it type text)", unique=True)
    few = distinct <= 30 and (distinct <= max(2, n // 2) or _hint(name, _CATEGORY_TOKENS, "category"))
    if few and mean_len <= 40:
        levels = sorted(pd.unique(txt), key=_natural)
        col = make({"type": "categorical", "levels": levels}, "categorical",
                   f"{distinct} distinct values", "the levels (and their order)")
        if _hint(name, _BRAND_TOKENS, "brand") and not _hint(name, _RATING_TOKENS):
            col.role = "brand"
        if _hint(name, _PERIOD_TOKENS, "period"):
            col.role = "period"
        return col
    col = make({"type": "text"}, "text", f"{distinct} distinct values, {mean_len:.0f} characters on average",
               "it is free text (verbatims)" + ("; mark pii: true if answers may name people" if mean_len > 20 else ""))
    if _hint(name, _PERIOD_TOKENS, "period"):
        col.role = "period"
    return col


def _natural(v: str):
    return [int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", str(v))]


# ---- the study -------------------------------------------------------------------------------------
def _check_study(study: str) -> None:
    if not isinstance(study, str) or not _SLUG.match(study) or ".." in study:
        raise ParamsError(
            f"study {study!r}: expected letters, digits, '-', '_' or '.', starting with a letter or "
            "digit and without '..' (it names the folders params/STUDY and reports/STUDY)")


def infer_study(study: str, files, *, client: str | None = None, lang: str = "en") -> Draft:
    """Infer a draft codebook and the notebooks the data can feed.

    Parameters
    ----------
    study : str
        Study id (letters, digits, ``-``, ``_``, ``.``).
    files : list of str or Path
        Data files (``.csv``, ``.xlsx``, ``.parquet``, ``.sav``); one dataset each, named after
        the file.
    client : str, optional
        Client name; default the study id.
    lang : {"en", "zh"}
        Language of the reports.

    Returns
    -------
    Draft

    Raises
    ------
    ParamsError
        Bad study id or language, no files, the same file twice.
    DataError
        A file that is missing, of an unsupported type, unreadable or empty (named).
    """
    _check_study(study)
    if lang not in ("en", "zh"):
        raise ParamsError(f"language: expected en or zh, got {lang!r}")
    paths = [Path(f) for f in files]
    if not paths:
        raise ParamsError("no data files given (use --data FILE, once per file)")
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) < len(resolved):
        dup = next(p for p, r in zip(paths, resolved) if resolved.count(r) > 1)
        raise ParamsError(f"{dup}: given twice")

    draft = Draft(study=study, client=client or study, language=lang, files={}, codebook={})
    sources: dict[str, _Source] = {}
    for p in paths:
        src = _read(p)
        if len(src.frame) == 0:
            raise DataError(f"{p}: no rows (expected one row per respondent; is this the right file?)")
        if src.frame.columns.duplicated().any():
            dup = sorted(set(src.frame.columns[src.frame.columns.duplicated()]))
            raise DataError(f"{p}: duplicated column name(s) {dup}")
        name = _slug_name(p.stem)
        base, i = name, 2
        while name in sources:
            name, i = f"{base}_{i}", i + 1
        sources[name] = src
        draft.files[name] = p
        draft.rows[name] = len(src.frame)

    folder = Path(_common_folder(resolved))
    questions: dict[str, dict] = {}
    datasets: dict[str, dict] = {}
    inferred: dict[str, dict[str, _Col]] = {}
    for name, src in sources.items():
        cols: dict[str, _Col] = {}
        for col in src.frame.columns:
            cols[col] = _infer_column(col, src.frame[col], src, len(src.frame))
            if col in src.skipped_ranges:
                draft.guesses.append(Guess(name, col, "user-missing range not listed",
                                           f"SPSS range {src.skipped_ranges[col]} is too wide to list "
                                           "as codes", "add the codes that occur to missing_codes"))
        inferred[name] = cols
        ds: dict[str, Any] = {"file": draft.files[name].resolve().relative_to(folder).as_posix()}
        ids = [c for c, info in cols.items() if info.spec["type"] == "id" and info.unique]
        if ids:
            ds["id"] = ids[0]
        ds["columns"] = list(src.frame.columns)
        datasets[name] = ds
        for col, info in cols.items():
            if col in questions:
                if questions[col]["type"] != info.spec["type"]:
                    draft.guesses.append(Guess(name, col, f"kept as {questions[col]['type']}",
                                               f"typed {info.spec['type']} in this file but "
                                               f"{questions[col]['type']} in an earlier one",
                                               "one codebook entry serves every file; check the type"))
                continue
            questions[col] = info.spec
            draft.guesses.append(Guess(name, col, info.what, info.why, info.confirm))
        ds["roles"] = _roles(name, cols, questions, draft)
        if not ds["roles"]:
            del ds["roles"]
        _suggest_frames(name, src.frame, cols, questions, draft)

    study_codes = _missing_codes(inferred, questions, draft)
    cb: dict[str, Any] = {"version": 1,
                          "study": {"id": study, "client": draft.client, "languages": [lang]}}
    if study_codes:
        cb["missing_codes"] = study_codes
    cb["datasets"] = datasets
    cb["questions"] = questions
    draft.codebook = cb
    _suggest(draft, inferred)
    _choose_notebooks(draft, inferred)
    return draft


def _common_folder(paths: list[Path]) -> str:
    import os

    return os.path.commonpath([str(p.parent) for p in paths])


_ROLE_TYPES = {"wave": ("numeric",), "period": ("date", "categorical", "text"), "brand": ("categorical",)}


def _roles(dataset: str, cols: dict[str, _Col], questions: dict, draft: Draft) -> dict[str, str]:
    """Columns playing the wave, period, brand and weight of a dataset (their kept type fits)."""
    roles: dict[str, str] = {}
    for role in ("wave", "period", "brand"):
        found = [c for c, info in cols.items() if info.role == role
                 and questions[c]["type"] in _ROLE_TYPES[role]]
        if found:
            roles[role] = found[0]
            info = cols[found[0]]
            extra = f"; also candidates: {', '.join(map(_clean, found[1:]))}" if len(found) > 1 else ""
            draft.guesses.append(Guess(dataset, found[0], f"{role} role", f"{info.why}{extra}",
                                       {"wave": "reports compare these waves",
                                        "period": "it labels the waves' periods",
                                        "brand": "reports compare these brands; set study.our_brand"}[role]))
    weights = [c for c in cols if questions[c]["type"] == "weight"]
    if weights:
        pick = next((w for w in weights if re.sub(r"[^a-z]", "", w.lower()) in ("weight", "wt", "wgt")),
                    weights[0])
        roles["weight"] = pick
        extra = f"; other weight columns: {', '.join(map(_clean, weights[1:]))}" if len(weights) > 1 else ""
        draft.guesses.append(Guess(dataset, pick, "weight role", f"the weight column{extra}",
                                   "results are weighted by it"))
    return roles


def _missing_codes(inferred: dict[str, dict[str, _Col]], questions: dict, draft: Draft) -> dict:
    """Study-level codes (found in two or more columns) and per-question overrides."""
    seen: Counter = Counter()
    labels: dict[int, dict] = {}
    for cols in inferred.values():
        for col, info in cols.items():
            if questions.get(col) is info.spec:
                seen.update(set(info.codes))
                for c, lab in info.code_labels.items():
                    labels.setdefault(c, lab)
    study = sorted(c for c, k in seen.items() if k >= 2)
    where: dict[int, list[str]] = defaultdict(list)
    for cols in inferred.values():
        for col, info in cols.items():
            spec = questions.get(col)
            if spec is not info.spec or not info.codes:
                continue
            for c in info.codes:
                where[c].append(col)
            qtype = spec["type"]
            if qtype in ("nps", "likert"):
                own = sorted(set(info.codes) - set(study))
                if own:
                    spec["missing_codes"] = sorted(set(study) | set(own))
            elif qtype == "numeric":
                spec["missing_codes"] = sorted(info.codes)
    for c in sorted(where):
        cols = where[c]
        shown = ", ".join(_clean(x, 20) for x in cols[:4]) + (f" and {len(cols) - 4} more" if len(cols) > 4 else "")
        level = "study missing_codes" if c in study else "the question's missing_codes"
        draft.guesses.append(Guess("", "", f"missing code {c}", f"outside the answers of {shown}; "
                                   f"written to {level}", "it means no answer (refused, don't know)"))
    return {c: labels.get(c, {}) for c in study} if any(labels.get(c) for c in study) else (
        list(study) if study else {})


def _scale_items(cols: dict[str, _Col]) -> list[str]:
    return [c for c, info in cols.items() if info.spec["type"] in ("likert", "nps")]


_SQ_PREFIXES = ("E_", "P_", "ADQ_", "DES_", "ME_", "e_", "p_", "adq_", "des_", "me_")


def _servqual_columns(inferred) -> set[str]:
    """Columns of any dataset holding a SERVQUAL item (``E_/P_/ADQ_/DES_/ME_<item>``): not constructs."""
    items = {i for cols in inferred.values() for i in ((_servqual_pairs(cols) or ("", "", "", []))[3])}
    return {c for cols in inferred.values() for c in cols
            if c.startswith(_SQ_PREFIXES) and c.split("_", 1)[1] in items}


def _servqual_pairs(cols) -> tuple[str, str, str, list[str]] | None:
    """``(expectation pattern, perception pattern, me pattern, items)`` for E_/P_ column pairs."""
    names = set(cols)
    for e, p in (("E_", "P_"), ("e_", "p_")):
        items = [c[len(e):] for c in cols if c.startswith(e) and p + c[len(e):] in names
                 and cols[c].spec["type"] in ("likert", "nps") and cols[p + c[len(e):]].spec["type"] in ("likert", "nps")]
        if len(items) >= 2:
            return e + "{item}", p + "{item}", ("ME_" if e == "E_" else "me_") + "{item}", items
    return None


def _groups(items: list[str], cols, min_size: int = 2) -> dict[str, list[str]]:
    """Items grouped by name prefix (``srv1, srv2`` -> ``SRV``) and scale; groups of ``min_size`` up."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for c in items:
        m = _ITEM.match(c)
        if not m:
            continue
        spec = cols[c].spec
        groups[(m.group(1).rstrip("_.-"), spec.get("min"), spec.get("max"))].append(c)
    out: dict[str, list[str]] = {}
    for (prefix, _, _), members in groups.items():
        if len(members) >= min_size:
            name = _construct_name(prefix)
            base, i = name, 2
            while name in out:
                name, i = f"{base}_{i}", i + 1
            out[name] = members
    return out


#: Open-ended answers needed before a coding frame is proposed, and at most this many are read.
_FRAME_MIN_ANSWERS, _FRAME_SAMPLE = 60, 5000


def _suggest_frames(dataset: str, frame: pd.DataFrame, cols: dict[str, _Col], questions: dict,
                    draft: Draft) -> None:
    """A draft coding frame for each free-text question (TF-IDF + NMF over its answers).

    The draft goes into the codebook commented out, themes with their keywords only: example
    answers stay out of the codebook, which is versioned, because answers can carry personal data.
    """
    from . import verbatims

    for col, info in cols.items():
        spec = questions.get(col)
        if spec is not info.spec or spec.get("type") != "text" or spec.get("pii") or info.role:
            continue
        answers = frame[col].dropna().astype(str)
        answers = answers[answers.str.strip().str.len() > 0]
        if len(answers) < _FRAME_MIN_ANSWERS or answers.str.len().mean() < 12:
            continue
        sample = answers.sample(_FRAME_SAMPLE, random_state=0) if len(answers) > _FRAME_SAMPLE else answers
        try:
            with warnings.catch_warnings():  # NMF's loss on near-identical answers: a 0/0 it handles
                warnings.simplefilter("ignore", RuntimeWarning)
                sug = verbatims.suggest_themes(sample.to_frame(col), col, n_themes=6)
        except (ValueError, WorkbenchError):  # too few distinct words for a factorisation
            continue
        if sug.themes.empty:
            continue
        draft.suggestions.setdefault("coding_frames", {})[col] = sug.draft_frame()
        draft.guesses.append(Guess(dataset, col, "coding frame?",
                                   f"{len(sug.themes)} themes proposed from {len(sample):,} answers",
                                   "rename, label and merge the themes, move keywords (commented "
                                   "coding_frames section: edit, then uncomment)"))


def _suggest(draft: Draft, inferred) -> None:
    constructs: dict[str, dict] = {}
    outcomes: dict[str, str] = {}
    sq_cols = _servqual_columns(inferred)
    for name, cols in inferred.items():
        sq = _servqual_pairs(cols)
        items = [c for c in _scale_items(cols) if c not in sq_cols and draft.codebook["questions"].get(c) is cols[c].spec]
        for cname, members in _groups(items, cols).items():
            if cname not in constructs:
                constructs[cname] = {"items": members}
                draft.guesses.append(Guess(name, "", f"construct {cname}?",
                                           f"items {', '.join(_clean(m, 20) for m in members)} share a name "
                                           "prefix and a scale", "they measure one construct (commented "
                                           "in the codebook: uncomment, name and label it)"))
        for cname in constructs:
            low = cname.lower()
            if "satisfaction" not in outcomes and re.match(r"^(c?sat|cusa|satisf)", low):
                outcomes["satisfaction"] = cname
            if "loyalty" not in outcomes and re.match(r"^(loy|cusl)", low):
                outcomes["loyalty"] = cname
        singles = [c for c in _scale_items(cols) if draft.codebook["questions"].get(c) is cols[c].spec
                   and not any(c in m["items"] for m in constructs.values())]
        for key, pattern in (("satisfaction", r"^(c?sat|cusa|satisf)"), ("loyalty", r"^(loy|cusl)")):
            hit = next((c for c in singles if re.match(pattern, c.lower())), None)
            if hit and key not in outcomes:
                outcomes[key] = hit
        nps = [c for c in _scale_items(cols) if cols[c].spec["type"] == "nps"]
        if nps and "loyalty" not in outcomes:
            outcomes["loyalty"] = nps[0]
        if sq is not None and "servqual" not in draft.suggestions:
            e_pat, p_pat, me_pat, items = sq
            dims = _groups(items, {i: _Col(spec={"type": "likert"}, what="", why="") for i in items}, 1)
            grouped = {i for m in dims.values() for i in m}
            lone = [i for i in items if i not in grouped]
            dimensions = {d.lower(): {"items": m} for d, m in dims.items()}
            if lone:
                dimensions["other"] = {"items": lone}
            scale = [cols[e_pat.format(item=i)].spec for i in items]
            block: dict[str, Any] = {"scale": {"min": min(s["min"] for s in scale), "max": max(s["max"] for s in scale)}}
            if e_pat != "E_{item}":
                block.update(expectation=e_pat, perception=p_pat, mgmt_expectation=me_pat)
            block["dimensions"] = dimensions
            draft.suggestions["servqual"] = block
            draft.guesses.append(Guess(name, "", "SERVQUAL items",
                                       f"{len(items)} expectation/perception pairs ({_clean(e_pat, 12)}, "
                                       f"{_clean(p_pat, 12)})", "which dimension each item measures "
                                       "(commented servqual section: assign, label, uncomment)"))
    if constructs:
        draft.suggestions["constructs"] = constructs
    if outcomes:
        draft.suggestions["outcomes"] = outcomes


def _choose_notebooks(draft: Draft, inferred) -> None:
    draft.skipped["01_sampling_frame"] = ("it designs a sample from a sampling frame and brand "
                                          "penetration, not from survey answers; write its params by "
                                          "hand (workbench params 01_sampling_frame)")
    waves = [n for n, ds in draft.codebook["datasets"].items() if "wave" in ds.get("roles", {})]
    if waves:
        draft.notebooks["02_wave_analysis"] = {}
        draft.reasons["02_wave_analysis"] = f"{waves[0]} has a wave column ({draft.codebook['datasets'][waves[0]]['roles']['wave']})"
    else:
        draft.skipped["02_wave_analysis"] = "no wave column found (a whole-number column named wave, round, ...)"
    best, best_groups = None, {}
    for name, cols in inferred.items():
        skip = _servqual_columns(inferred)
        groups = _groups([c for c in _scale_items(cols) if c not in skip], cols)
        if len(groups) > len(best_groups):
            best, best_groups = name, groups
    if best is not None and len(best_groups) >= 2:
        draft.notebooks["03_key_drivers"] = {"dataset": best}
        draft.reasons["03_key_drivers"] = (f"{best} has {len(best_groups)} groups of scale items; confirm the "
                                           "constructs and add outcomes in the codebook before the first run")
    else:
        draft.skipped["03_key_drivers"] = "fewer than two groups of scale items sharing a name prefix"
    customers = next((n for n, cols in inferred.items() if _servqual_pairs(cols)), None)
    if customers is not None:
        staff = next((n for n, cols in inferred.items() if n != customers
                      and any(c.startswith(("ME_", "me_")) for c in cols)), "")
        draft.notebooks["04_five_gap"] = {"customers": customers, "staff": staff}
        draft.reasons["04_five_gap"] = (f"{customers} has SERVQUAL expectation/perception pairs; confirm the "
                                        "servqual section of the codebook before the first run")
    else:
        draft.skipped["04_five_gap"] = "no SERVQUAL expectation/perception column pairs (E_<item>, P_<item>)"
    tabbed = _tab_dataset(draft.codebook)
    if tabbed is not None:
        name, banner = tabbed
        draft.notebooks["05_tab_book"] = {"dataset": name}
        draft.reasons["05_tab_book"] = (f"{name} has banner columns ({', '.join(_clean(c, 24) for c in banner)}); "
                                        "the banner and stubs come from the codebook")
    else:
        draft.skipped["05_tab_book"] = ("no banner column (a brand column or a categorical question of 2-12 "
                                        "levels)")


def _tab_dataset(codebook: dict) -> tuple[str, list[str]] | None:
    """The dataset a tab book tabulates, with its banner columns, by the rule the notebook's
    defaults follow (:func:`workbench.study._tabs_defaults`): the brand role and categorical
    questions of 2-12 levels; a dataset with a wave role first."""
    questions = codebook["questions"]
    found = []
    for name, ds in codebook["datasets"].items():
        roles = ds.get("roles", {})
        banner = [roles["brand"]] if roles.get("brand") else []
        banner += [c for c in ds["columns"] if c not in banner and (q := questions.get(c)) is not None
                   and q.get("type") == "categorical" and not q.get("pii") and 2 <= len(q.get("levels") or {}) <= 12]
        if banner:
            found.append((not roles.get("wave"), name, banner[:4]))
    if not found:
        return None
    _, name, banner = min(found, key=lambda f: f[0])
    return name, banner


# ---- writing ---------------------------------------------------------------------------------------
class _FlowDict(dict):
    pass


class _FlowList(list):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_FlowDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                                    flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v,
                                                                     flow_style=True))


def _flowify(obj: Any, depth: int = 0) -> Any:
    """Mappings and lists of scalars nested two levels deep are written on one line."""
    if isinstance(obj, dict):
        inner = {k: _flowify(v, depth + 1) for k, v in obj.items()}
        leaf = all(not isinstance(v, (dict, list)) for v in obj.values())
        return _FlowDict(inner) if depth >= 2 and leaf else inner
    if isinstance(obj, list):
        inner = [_flowify(v, depth + 1) for v in obj]
        leaf = all(not isinstance(v, (dict, list)) for v in obj)
        return _FlowList(inner) if depth >= 2 and leaf else inner
    return obj


def _dump(obj: Any) -> str:
    """YAML for a value built from untrusted text: PyYAML quotes and escapes, never concatenation."""
    return yaml.dump(_flowify(obj), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def _indent(text: str, by: int) -> str:
    pad = " " * by
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _commented(text: str) -> str:
    return "".join("# " + line for line in text.splitlines(True))


def codebook_yaml(draft: Draft) -> str:
    """The draft codebook as YAML, with a comment on every guess and the suggestions commented."""
    cb = draft.codebook
    files = ", ".join(f"{_clean(p.name, 40)} ({draft.rows[n]} rows)" for n, p in draft.files.items())
    out = [
        f"# Draft codebook of study {draft.study}, written by `workbench init` from {files}.\n",
        "# Every entry below is a guess from the data: check each one (the command listed what to\n",
        "# confirm), then add constructs, outcomes and the SERVQUAL map. Format: docs/codebook.md;\n",
        "# the steps from here to a report: docs/byod.md.\n",
        _dump({"version": cb["version"]}),
        "# Add a title: {en: ..., zh: ...} for the report covers, and our_brand: <a brand level>\n",
        "# when the data compare brands.\n",
        _dump({"study": cb["study"]}),
    ]
    if "missing_codes" in cb:
        out += ["# Codes read as missing in every scale question (nps, likert); found in two or more columns.\n",
                _dump({"missing_codes": cb["missing_codes"]})]
    out += ["# One dataset per file; `file` is relative to the params files' `data` folder. `roles` names\n",
            "# the columns playing the wave, period, brand and weight (docs/codebook.md).\n",
            _dump({"datasets": cb["datasets"]}), "questions:\n"]
    why = {(g.column): g for g in draft.guesses if g.column and not g.what.endswith("role")
           and g.dataset and g.column in cb["questions"] and not g.what.startswith("construct")}
    for col, spec in cb["questions"].items():
        g = why.get(col)
        if g is not None:
            line = f"{g.what}: {g.why}" + (f". Confirm: {g.confirm}" if g.confirm else "")
            out.append(_indent(_commented(_clean(line, 200) + "\n"), 2))
        out.append(_indent(_dump({col: spec}), 2))
    sug = draft.suggestions
    if "constructs" in sug or "outcomes" in sug:
        out += ["\n# Suggested constructs: scale items sharing a name prefix and a scale. Nothing is used\n",
                "# until you confirm it: keep the groups that measure one construct, give them names and\n",
                "# labels, name the outcomes (a construct or a question), then remove the leading '# '.\n",
                "# A single item may be a construct of its own (lavaan fixes its residual variance to 0).\n"]
        if "constructs" in sug:
            out.append(_commented(_dump({"constructs": sug["constructs"]})))
        if "outcomes" in sug:
            out.append(_commented(_dump({"outcomes": sug["outcomes"]})))
    if "servqual" in sug:
        out += ["\n# Suggested SERVQUAL map from the expectation/perception column pairs. Assign each item to\n",
                "# the dimension it measures (tangibles, reliability, responsiveness, assurance, empathy),\n",
                "# label the dimensions, then remove the leading '# ' (docs/codebook.md, servqual).\n",
                _commented(_dump({"servqual": sug["servqual"]}))]
    if "coding_frames" in sug:
        out += ["\n# Suggested coding frames for the open-ended questions, from the answers (TF-IDF + NMF).\n",
                "# Each theme's keywords are its most typical words; rename the themes, write their labels,\n",
                "# merge themes that mean the same, add nets, then remove the leading '# '\n",
                "# (docs/codebook.md, coding frames; `workbench.verbatims.suggest_themes` shows examples).\n",
                _commented(_dump({"coding_frames": sug["coding_frames"]}))]
    text = "".join(out)
    _check_codebook(text, draft)
    return text


def _check_codebook(text: str, draft: Draft) -> None:
    """The draft must load as written (and with its suggestions uncommented, when they are valid)."""
    from workbench.codebook import Codebook

    data = yaml.safe_load(text)
    source = f"params/{draft.study}/codebook.yaml"
    Codebook.from_dict(data, source=source)
    if "coding_frames" in draft.suggestions:  # written by us: uncommented, it must load as it is
        Codebook.from_dict({**data, "coding_frames": draft.suggestions["coding_frames"]}, source=source)


_PARAM_NOTES = {
    "period": "reporting period on the cover, quoted (e.g. \"2025-Q4\"); empty for none",
    "client": "client name on the cover",
    "data": "folder holding the data files (they stay there, out of git)",
    "dataset": "codebook dataset holding the driver questions",
    "customers": "codebook dataset of the SERVQUAL customer survey",
    "staff": "codebook dataset of the management and staff survey (gaps 1-4); empty for none",
}
_PARAM_HEADERS = {
    "02_wave_analysis": ["Wave report of study {study}: the newest wave against the previous one.",
                         "Brands, weights and comparisons come from the codebook's roles; set our_brand",
                         "(and competitors) when the data compare brands."],
    "03_key_drivers": ["Key-driver report of study {study}.",
                       "Before the first run: add constructs and outcomes to the codebook (suggestions",
                       "are commented there); the model is built from them."],
    "04_five_gap": ["5-GAP service-quality report of study {study}.",
                    "Before the first run: confirm the servqual section of the codebook (commented there)."],
    "05_tab_book": ["Tab book of study {study}: every question against the banner, with significance letters.",
                    "The banner (brand and categorical columns) and the stubs come from the codebook; set",
                    "banner, stubs and nets here to choose them (`workbench params 05_tab_book`)."],
}
#: notes of keys whose meaning depends on the notebook
_PARAM_NOTES_BY_NOTEBOOK = {"05_tab_book": {"dataset": "codebook dataset to tabulate"}}


def params_yaml(draft: Draft, notebook: str, *, data: str, codebook: str) -> str:
    """A params file stating the study's own values only; the rest comes from the codebook."""
    head = [h.format(study=draft.study) for h in _PARAM_HEADERS.get(notebook, [])]
    head += [f"Drafted by `workbench init`. Every parameter not set here takes its default from the",
             f"codebook at run time; `workbench params {notebook}` lists them. Check with",
             f"`workbench validate params/{draft.study}/{notebook}.yaml`, run with `workbench run -f` on this file."]
    values: dict[str, Any] = {"notebook": notebook, "study": draft.study, "client": draft.client,
                              "period": "", "language": draft.language, "data": data,
                              "codebook": codebook, **draft.notebooks[notebook]}
    lines = [f"# {h}\n" for h in head]
    for key, value in values.items():
        dumped = _dump({key: value}).rstrip("\n")
        note = _PARAM_NOTES_BY_NOTEBOOK.get(notebook, {}).get(key, _PARAM_NOTES.get(key))
        lines.append(f"{dumped}  # {note}\n" if note and "\n" not in dumped else dumped + "\n")
    return "".join(lines)


def _path_value(path: Path) -> str:
    """A path for a params file: relative to this checkout when inside it, else absolute.

    Path parameters are resolved against this checkout (:func:`workbench.config.resolve_path`),
    whatever ``--root`` the files were written under, so a path is only written relative to it."""
    path, base = path.resolve(), PROJECT_ROOT.resolve()
    if path.is_relative_to(base):
        rel = path.relative_to(base).as_posix()
        return rel if rel != "." else "."
    return path.as_posix()


def _git_ignored(folder: Path, root: Path) -> bool | None:
    """Whether git ignores ``folder`` inside the project (None when it cannot tell)."""
    try:
        res = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", str(folder)],
                             capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: True, 1: False}.get(res.returncode)


def init_study(study: str, files, *, root: str | Path | None = None, force: bool = False,
               client: str | None = None, lang: str = "en") -> InitResult:
    """Infer a study from its data files and write its draft codebook and params files.

    Parameters
    ----------
    study, files, client, lang
        As :func:`infer_study`.
    root : str or Path, optional
        Project folder holding ``params/`` (default: this checkout).  ``data`` and ``codebook``
        are written relative to this checkout when they lie inside it (path parameters are
        resolved against it), else as absolute paths.
    force : bool, default False
        Overwrite existing files.

    Returns
    -------
    InitResult

    Raises
    ------
    ParamsError
        Bad study id, or a file to be written exists and ``force`` is false (named).
    DataError
        A data file cannot be read (named).
    """
    from workbench.io import atomic_write_text

    _check_study(study)
    root = Path(root) if root is not None else PROJECT_ROOT
    draft = infer_study(study, files, client=client, lang=lang)
    folder = Path(_common_folder([p.resolve() for p in draft.files.values()]))
    data = _path_value(folder)
    target = root / "params" / study
    cb_rel = _path_value(target / "codebook.yaml")
    outputs = {"codebook": (target / "codebook.yaml", codebook_yaml(draft))}
    for nb in draft.notebooks:
        outputs[nb] = (target / f"{nb}.yaml", params_yaml(draft, nb, data=data, codebook=cb_rel))
    existing = [p for p, _ in outputs.values() if p.exists()]
    if existing and not force:
        names = ", ".join(_rel(p, root) for p in existing)
        raise ParamsError(f"{names}: already exists; use --force to overwrite "
                          f"({'it' if len(existing) == 1 else 'them'}, losing any edits)")
    warnings = []
    if folder.resolve().is_relative_to(root.resolve()) and _git_ignored(folder, root) is False:
        warnings.append(f"{data} is inside the project and not ignored by git: add it to .gitignore "
                        "(data stay out of git; only the codebook and params files are versioned)")
    written = {}
    for key, (path, text) in outputs.items():
        atomic_write_text(path, text)
        written[key] = path
    codebook = written.pop("codebook")
    return InitResult(draft=draft, codebook=codebook, params=written, data=data, warnings=tuple(warnings))


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def report_lines(result: InitResult, root: str | Path | None = None) -> list[str]:
    """What ``workbench init`` prints: every guess with what to confirm, the files, the next steps."""
    root = Path(root) if root is not None else PROJECT_ROOT
    d = result.draft
    lines = [f"Study {d.study}: {len(d.files)} data file(s) in {result.data}"]
    for name, path in d.files.items():
        ds = d.codebook["datasets"][name]
        lines.append(f"\n  dataset {name}  ({_clean(path.name, 60)}, {d.rows[name]} rows, {len(ds['columns'])} columns)")
        gs = [g for g in d.guesses if g.dataset == name]
        width = min(24, max([len(_clean(g.column, 24)) for g in gs] + [6]))
        for g in gs:
            col = _clean(g.column or "-", 24)
            confirm = f"  -> confirm {g.confirm}" if g.confirm else ""
            lines.append(f"    {col:<{width}}  {g.what:<16}  {_clean(g.why, 90)}{confirm}")
    study_wide = [g for g in d.guesses if not g.dataset]
    if study_wide:
        lines.append("\n  study-wide")
        for g in study_wide:
            lines.append(f"    {g.what:<18}  {_clean(g.why, 100)}  -> confirm {g.confirm}")
    pii = [q for q, spec in d.codebook["questions"].items() if spec.get("pii")]
    lines.append("\n  personal data (pii: true, masked in every output): "
                 + (", ".join(_clean(c, 30) for c in pii) if pii else "none found; mark any with pii: true"))
    lines.append("\nWrote:")
    lines.append(f"  {_rel(result.codebook, root)}  (draft codebook: check every entry)")
    for nb, path in result.params.items():
        lines.append(f"  {_rel(path, root)}  ({d.reasons[nb]})")
    if d.skipped:
        lines.append("No params file for:")
        for nb, why in d.skipped.items():
            lines.append(f"  {nb}: {why}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    files = " ".join(_rel(p, root) for p in result.params.values())
    lines.append("\nNext: edit the codebook (types, scales, constructs, outcomes, roles), then")
    if files:
        lines.append(f"  workbench validate {files}")
    lines.append("Walk-through: docs/byod.md")
    return lines
