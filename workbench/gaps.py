"""SERVQUAL and the 5-GAP model: gap 5, weighted SERVQUAL, zone of tolerance, gaps 1-4, diagnosis.

The service quality gap model (Parasuraman, Zeithaml & Berry 1985) explains the customer's
quality shortfall -- gap 5, perception minus expectation, measured with SERVQUAL (Parasuraman,
Zeithaml & Berry 1988; Parasuraman, Berry & Zeithaml 1991) -- by four gaps inside the provider:
not knowing what customers expect (gap 1), the wrong service standards (gap 2), not delivering to
the standards (gap 3) and promises that do not match delivery (gap 4) (Zeithaml, Berry &
Parasuraman 1988). Every gap here is "what the next step achieves minus what the previous step
set", so a negative value is a shortfall throughout.

Functions
---------
``load_item_bank``      the bundled 22-item SERVQUAL bank (en/zh) with gap labels and antecedents
``servqual``            gap 5 per item, dimension and overall with paired tests
``weighted_servqual``   the importance-weighted SERVQUAL score (100-point allocation)
``reliability``         Cronbach's alpha per dimension of expectations, perceptions and gaps
``zone_of_tolerance``   MSA and MSS against adequate and desired service
``gaps_1_to_4``         gaps 1-4 per dimension from the management/staff survey
``antecedents``         scores and alpha of the gap 1-4 antecedent scales
``diagnosis``           how gaps 1-4 line up with gap 5, with a priority per dimension
``action_list``         the prioritised list of remedies behind ``diagnosis``
``compare_groups``      pairwise differences between the groups of a by-grouped table
``diagnosis_long``      the diagnosis in long form (one row per dimension and gap), for charts
``five_gap_report``     all of the above in one call (a frozen ``FiveGapResult``)

The standard errors and tests are computed in :mod:`workbench._gaps_stats` (classical paired and
Welch t tests when unweighted; linearisation, as R ``survey``, when weighted). Formulas and
references are in ``docs/methods/gaps.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from . import PACKAGE_DIR
from ._gaps_stats import column_stats, feldt_ci, t_inference, welch
from .errors import DataError, LowBaseWarning, ParamsError, WorkbenchWarning
from .lowbase import DEFAULT_RULE, LowBaseRule

__all__ = [
    "ItemBank",
    "load_item_bank",
    "servqual",
    "weighted_servqual",
    "reliability",
    "zone_of_tolerance",
    "gaps_1_to_4",
    "antecedents",
    "diagnosis",
    "action_list",
    "compare_groups",
    "diagnosis_long",
    "five_gap_report",
    "FiveGapResult",
    "GAP_KEYS",
]

ITEM_BANK_PATH = PACKAGE_DIR / "data" / "servqual_items.yaml"

#: Plain-word key of each gap, as used in result tables.
GAP_KEYS = {
    1: "knowledge",
    2: "standards",
    3: "delivery",
    4: "communication",
    5: "perceived_quality",
}

_LANGS = ("en", "zh")


# ---------------------------------------------------------------------------------------------
# Item bank
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ItemBank:
    """The bundled SERVQUAL item bank.

    Attributes
    ----------
    items : DataFrame
        One row per item: ``item, dimension, order`` and the texts ``short, expectation,
        perception`` (suffixed ``_en``/``_zh`` when no language was chosen).
    dimensions : DataFrame
        One row per dimension: ``dimension, n_items, label, description``.
    gaps : DataFrame
        One row per gap 1-5: ``gap_no, gap_key, label, measure, action`` and ``action_alone`` (the
        remedy for a gap 5 shortfall when gaps 1-4 were not measured).
    antecedents : DataFrame
        One row per antecedent item: ``scale, gap_no, gap_key, direction, kind, scale_label,
        item, text``.
    stems : dict
        Question stems ``{name: text}`` (or ``{name: {lang: text}}``).
    lang : str or None
    """

    items: pd.DataFrame
    dimensions: pd.DataFrame
    gaps: pd.DataFrame
    antecedents: pd.DataFrame
    stems: dict = field(default_factory=dict)
    lang: str | None = None

    def servqual_dimensions(self):
        """``{dimension: [item codes]}`` in bank order (so the bank can be passed as ``dimensions``)."""
        out: dict[str, list[str]] = {}
        for dim, item in zip(self.items["dimension"], self.items["item"]):
            out.setdefault(dim, []).append(item)
        return out

    def antecedent_scales(self):
        """``{scale: [item codes]}`` of the gap 1-4 antecedent scales."""
        out: dict[str, list[str]] = {}
        for scale, item in zip(self.antecedents["scale"], self.antecedents["item"]):
            out.setdefault(scale, []).append(item)
        return out


@lru_cache(maxsize=1)
def _raw_bank():
    with open(ITEM_BANK_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _text(value, lang, fill):
    """Pick one language (or both, suffixed) from a ``{en:, zh:}`` mapping and fill placeholders."""

    def f(s):
        for key, val in fill.items():
            s = s.replace("{" + key + "}", val)
        return s

    if lang is None:
        return {f"_{k}": f(value[k]) for k in _LANGS}
    return {"": f(value[lang])}


def load_item_bank(lang=None, *, company=None, category=None):
    """Load the bundled SERVQUAL item bank (22 items in five dimensions, English and Chinese).

    Items follow the refined SERVQUAL wording (Parasuraman, Berry & Zeithaml 1991), adapted to
    a generic provider. Item codes: ``tan1-4`` (tangibles), ``rel1-5`` (reliability),
    ``res1-4`` (responsiveness), ``asu1-4`` (assurance), ``emp1-5`` (empathy).

    Parameters
    ----------
    lang : {None, "en", "zh"}
        One language, or None for both (text columns suffixed ``_en`` and ``_zh``).
    company, category : str, optional
        Fill the ``{company}`` and ``{category}`` placeholders of the item texts
        (e.g. ``company="Aurora", category="mobile telecom"``); left in place when None.

    Returns
    -------
    ItemBank
        ``.items``, ``.dimensions``, ``.gaps``, ``.antecedents``, ``.stems``; pass the bank as
        ``dimensions`` to any function of this module.

    Examples
    --------
    >>> from workbench import gaps
    >>> bank = gaps.load_item_bank("en", company="Aurora", category="mobile telecom")
    >>> bank.items.loc[0, "perception"]
    'Aurora has modern-looking equipment.'
    >>> list(bank.servqual_dimensions())
    ['tangibles', 'reliability', 'responsiveness', 'assurance', 'empathy']
    """
    if lang is not None and lang not in _LANGS:
        raise ParamsError(f"load_item_bank: lang must be one of None, 'en', 'zh', but {lang!r} was passed")
    fill = {k: v for k, v in (("company", company), ("category", category)) if v is not None}
    raw = _raw_bank()
    rows, order = [], 0
    for dim, spec in raw["dimensions"].items():
        for item in spec["items"]:
            order += 1
            it = raw["items"][item]
            row = {"item": item, "dimension": dim, "order": order}
            for key in ("short", "expectation", "perception"):
                row.update({key + s: v for s, v in _text(it[key], lang, fill).items()})
            rows.append(row)
    items = pd.DataFrame(rows)
    dims = []
    for dim, spec in raw["dimensions"].items():
        row = {"dimension": dim, "n_items": len(spec["items"])}
        for key in ("label", "description"):
            row.update({key + s: v for s, v in _text(spec[key], lang, fill).items()})
        dims.append(row)
    gap_rows = []
    for no, spec in raw["gaps"].items():
        row = {"gap_no": int(no), "gap_key": spec["key"]}
        for key in ("label", "measure", "action"):
            row.update({key + s: v for s, v in _text(spec[key], lang, fill).items()})
        # the remedy when gaps 1-4 were not measured (only gap 5 has its own)
        row.update({"action_alone" + s: v for s, v in _text(spec.get("action_alone", spec["action"]), lang,
                                                              fill).items()})
        gap_rows.append(row)
    ante = []
    for scale, spec in raw["antecedents"].items():
        for item, text in spec["items"].items():
            row = {
                "scale": scale,
                "gap_no": int(spec["gap"]),
                "gap_key": GAP_KEYS[int(spec["gap"])],
                "direction": int(spec["direction"]),
                "kind": spec.get("scale", "agreement"),
            }
            row.update({"scale_label" + s: v for s, v in _text(spec["label"], lang, fill).items()})
            row["item"] = item
            row.update({"text" + s: v for s, v in _text(text, lang, fill).items()})
            ante.append(row)
    stems = {k: (_text(v, lang, fill)[""] if lang else {g: _text(v, g, fill)[""] for g in _LANGS})
             for k, v in raw["stems"].items()}
    return ItemBank(
        items=items,
        dimensions=pd.DataFrame(dims),
        gaps=pd.DataFrame(gap_rows),
        antecedents=pd.DataFrame(ante),
        stems=stems,
        lang=lang,
    )


# ---------------------------------------------------------------------------------------------
# Input checks shared by the analysis functions
# ---------------------------------------------------------------------------------------------
def _dimension_map(dimensions, fn):
    """Normalise ``dimensions`` to ``{dimension: [items]}`` and check it."""
    dims = dimensions.servqual_dimensions() if callable(getattr(dimensions, "servqual_dimensions", None)) else dimensions
    if not isinstance(dims, Mapping):
        raise ParamsError(
            f"{fn}: dimensions must be a mapping {{dimension: [item codes]}} or a codebook with "
            f"servqual_dimensions(), but a {type(dimensions).__name__} was passed"
        )
    if len(dims) == 0:
        raise ParamsError(f"{fn}: dimensions is empty; expected at least one dimension with items")
    out: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for dim, items in dims.items():
        if isinstance(items, Mapping) and "items" in items:
            items = items["items"]
        if isinstance(items, str) or not hasattr(items, "__iter__"):
            raise ParamsError(
                f"{fn}: dimension {dim!r} must list its item codes, e.g. [{items!r}], but {items!r} was passed"
            )
        items = list(items)
        if not items:
            raise ParamsError(f"{fn}: dimension {dim!r} has no items; expected a list of item codes")
        for item in items:
            if not isinstance(item, str) or not item:
                raise ParamsError(f"{fn}: dimension {dim!r} has an item code {item!r}; expected a non-empty string")
            if item in seen:
                where = "twice in dimension" if seen[item] == dim else f"in dimension {seen[item]!r} and in dimension"
                raise ParamsError(
                    f"{fn}: item {item!r} is listed {where} {dim!r}; each item belongs to exactly one dimension"
                )
            seen[item] = dim
        out[str(dim)] = items
    return out


_CODEBOOK_PATTERN = {
    "expectation": ("expectation_col", "{item}"),
    "perception": ("perception_col", "{item}"),
    "adequate": ("adequate_col", "{item}"),
    "desired": ("desired_col", "{item}"),
    "importance": ("importance_col", "{dimension}"),
    "mgmt_expectation": ("mgmt_expectation_col", "{item}"),
    "specification": ("specification_col", "{dimension}"),
    "delivery": ("delivery_col", "{dimension}"),
    "promise": ("promise_col", "{dimension}"),
}
_DEFAULT_PATTERN = {
    "expectation": "E_{item}",
    "perception": "P_{item}",
    "adequate": "ADQ_{item}",
    "desired": "DES_{item}",
    "importance": "imp_{dimension}",
    "mgmt_expectation": "ME_{item}",
    "specification": "SPEC_{dimension}",
    "delivery": "DEL_{dimension}",
    "promise": "PROM_{dimension}",
}


def _pattern(dimensions, role, given):
    """The column pattern for ``role``: the codebook's when the caller kept the default."""
    method, placeholder = _CODEBOOK_PATTERN[role]
    if given == _DEFAULT_PATTERN[role] and callable(getattr(dimensions, method, None)):
        try:
            return str(getattr(dimensions, method)(placeholder))
        except Exception:  # noqa: BLE001 - a codebook without a servqual section keeps the default
            return given
    return given


def _check_pattern(fn, arg, pattern, placeholders):
    if not isinstance(pattern, str):
        raise ParamsError(f"{fn}: {arg} must be a column pattern such as 'E_{{item}}', but {pattern!r} was passed")
    found = [p for p in placeholders if "{" + p + "}" in pattern]
    if len(found) != 1:
        want = " or ".join("{" + p + "}" for p in placeholders)
        raise ParamsError(f"{fn}: {arg} must contain {want} exactly once, but {pattern!r} was passed")
    try:
        pattern.format(**{p: "x" for p in placeholders})
    except (KeyError, IndexError, ValueError) as exc:
        raise ParamsError(f"{fn}: {arg} pattern {pattern!r} has an unknown placeholder ({exc})") from None
    return found[0]


def _check_data(fn, data, name="data"):
    if not isinstance(data, pd.DataFrame):
        raise ParamsError(f"{fn}: {name} must be a pandas DataFrame, but a {type(data).__name__} was passed")
    if len(data) == 0:
        raise DataError(f"{fn}: {name} has no rows")


def _by_list(fn, data, by):
    if by is None:
        return []
    by = [by] if isinstance(by, str) else list(by)
    missing = [b for b in by if b not in data.columns]
    if missing:
        raise DataError(f"{fn}: by column(s) {missing} not found in data; available: {list(data.columns)[:20]}...")
    return by


def _weights(fn, data, weight):
    """Weights as a float array: a column name, a Series aligned on ``data.index`` or an array."""
    if weight is None:
        return None
    if isinstance(weight, str):
        if weight not in data.columns:
            raise DataError(f"{fn}: weight column {weight!r} not found in data")
        w = pd.to_numeric(data[weight], errors="coerce")
    elif isinstance(weight, pd.Series):
        if not weight.index.equals(data.index):
            if weight.index.has_duplicates or not data.index.isin(weight.index).all():
                raise DataError(f"{fn}: the weight Series does not have a value for every row of data "
                                "(its index must match data.index)")
            weight = weight.reindex(data.index)
        w = pd.to_numeric(weight, errors="coerce")
    else:
        w = np.asarray(weight, dtype=float)
        if w.shape != (len(data),):
            raise DataError(f"{fn}: weight has {w.size} values but data has {len(data)} rows")
        w = pd.Series(w)
    w = w.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise DataError(
            f"{fn}: weight {weight if isinstance(weight, str) else '(values)'!r} must be finite and "
            f"non-negative, but {int(bad.sum())} row(s) are "
            f"missing, negative or not numeric (first at row position {int(np.flatnonzero(bad)[0])})"
        )
    return w


def _numeric(fn, data, cols, dimensions=None):
    """Columns as a float matrix; non-numeric columns and out-of-scale values raise DataError."""
    out = np.empty((len(data), len(cols)))
    for j, col in enumerate(cols):
        s = data[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            if bad.any():
                raise DataError(
                    f"{fn}: column {col!r} must be numeric, but holds {s[bad].iloc[0]!r} "
                    f"({int(bad.sum())} non-numeric value(s))"
                )
            s = conv
        out[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
    scale = getattr(dimensions, "scale", None)
    if callable(scale):
        for j, col in enumerate(cols):
            try:
                lo, hi = scale(col)
            except Exception:  # noqa: BLE001 - a column the codebook does not know: nothing to check
                continue
            x = out[:, j]
            bad = (x < lo) | (x > hi)
            if np.any(bad):
                raise DataError(
                    f"{fn}: column {col!r} has value {x[bad][0]:g} outside its codebook scale {lo}-{hi} "
                    f"({int(bad.sum())} row(s)); convert missing codes to NaN first (workbench.io.read_survey)"
                )
    return out


def _item_columns(fn, data, dims, patterns):
    """Resolve ``{role: pattern}`` for every item; errors name the item, dimension and column."""
    problems = []
    cols = {role: [] for role in patterns}
    for dim, items in dims.items():
        for item in items:
            names = {role: pat.format(item=item) for role, pat in patterns.items()}
            present = {role: (c in data.columns) for role, c in names.items()}
            if not any(present.values()):
                problems.append(
                    f"item {item!r} (dimension {dim!r}): none of the columns "
                    + ", ".join(repr(c) for c in names.values())
                    + " is in the data (unknown item?)"
                )
            elif not all(present.values()):
                have = ", ".join(f"{r} column {names[r]!r}" for r in names if present[r])
                lack = ", ".join(f"{r} column {names[r]!r}" for r in names if not present[r])
                problems.append(f"item {item!r} (dimension {dim!r}): {have} is present but {lack} is not")
            for role in patterns:
                cols[role].append(names[role])
    if problems:
        raise DataError(f"{fn}: " + "; ".join(problems))
    return cols


def _groups(data, by):
    """Yield ``(key dict, row positions)`` per group, sorted; one group of all rows when no by."""
    if not by:
        yield {}, np.arange(len(data))
        return
    tmp = data[by].reset_index(drop=True)
    for key, sub in tmp.groupby(by, dropna=False, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(by, key)), sub.index.to_numpy()


def _row_mean(x, min_count):
    """Row means of a matrix with NaN, NaN where fewer than ``min_count`` values are present."""
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(ok, x, 0.0).sum(axis=1) / cnt
    return np.where(cnt >= max(min_count, 1), m, np.nan)


def _min_count(k, min_answered):
    return int(np.ceil(min_answered * k - 1e-9))


def _check_common(fn, conf, min_answered, low_base):
    if not (isinstance(conf, (int, float)) and 0 < conf < 1):
        raise ParamsError(f"{fn}: conf must be between 0 and 1 (e.g. 0.95), but {conf!r} was passed")
    if not (isinstance(min_answered, (int, float)) and 0 <= min_answered <= 1):
        raise ParamsError(f"{fn}: min_answered must be a share between 0 and 1, but {min_answered!r} was passed")
    if not isinstance(low_base, LowBaseRule):
        raise ParamsError(f"{fn}: low_base must be a workbench.lowbase.LowBaseRule, but {low_base!r} was passed")


def _warn_low_base(fn, table, rule, by, label_cols):
    low = table[table["base_flag"] == "no_test"]
    if low.empty:
        return
    shown = []
    if by:  # one entry per group, with its smallest effective base
        for key, sub in low.groupby(by, dropna=False, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            shown.append(" ".join(f"{b}={v}" for b, v in zip(by, key)) + f" (n_eff {sub['n_eff'].min():.1f})")
    else:
        for _, r in low.iterrows():
            parts = [str(r[c]) for c in label_cols if isinstance(r[c], str)]
            shown.append(f"{' '.join(parts) or 'all'} (n_eff {r['n_eff']:.1f})")
    more = f" and {len(shown) - 4} more" if len(shown) > 4 else ""
    shown = shown[:4]
    warnings.warn(
        f"{fn}: {len(low)} estimate(s) rest on an effective base below {rule.min_test:g} and are shown "
        f"without a significance test: {'; '.join(shown)}{more}",
        LowBaseWarning,
        stacklevel=3,
    )


def _paired_block(a, b, w, n_design, conf, rule):
    """Paired comparison ``b - a`` for every column (pairs where both are present)."""
    ok = ~np.isnan(a) & ~np.isnan(b)
    a = np.where(ok, a, np.nan)
    b = np.where(ok, b, np.nan)
    d = column_stats(b - a, w, n_design)
    ma = column_stats(a, w, n_design)["mean"]
    mb = column_stats(b, w, n_design)["mean"]
    t, p, lo, hi = t_inference(d["mean"], d["se"], d["df"], conf)
    status = rule.status(d["n_eff"])
    status = np.atleast_1d(status)
    no_test = status == "no_test"
    with np.errstate(invalid="ignore", divide="ignore"):
        dz = d["mean"] / d["sd"]
    return {
        "a": ma, "b": mb, "est": d["mean"], "se": d["se"],
        "t": np.where(no_test, np.nan, t), "df": d["df"], "p_val": np.where(no_test, np.nan, p),
        "ci_low": lo, "ci_high": hi, "n": d["n"].astype(int), "n_eff": d["n_eff"],
        "cohen_d": dz, "base_flag": status,
    }


def _dimension_scores(mats, dims, min_answered):
    """Dimension and overall row means computed over the items present in every matrix of ``mats``.

    ``mats`` is a list of item matrices (rows x items, items in ``dims`` order); an item counts
    for a respondent only where all matrices have it, so the scores of a respondent rest on the
    same items. Returns a list of (rows x (n_dims + 1)) matrices: dimensions, then overall.
    """
    ok = np.logical_and.reduce([~np.isnan(m) for m in mats])
    out = [np.empty((mats[0].shape[0], len(dims) + 1)) for _ in mats]
    j = 0
    for k, (_, items) in enumerate(dims.items()):
        sl = slice(j, j + len(items))
        need = _min_count(len(items), min_answered)
        for m, o in zip(mats, out):
            o[:, k] = _row_mean(np.where(ok[:, sl], m[:, sl], np.nan), need)
        j += len(items)
    have = np.logical_and.reduce([~np.isnan(o[:, : len(dims)]) for o in out])
    need = _min_count(len(dims), min_answered)
    for o in out:
        o[:, -1] = _row_mean(np.where(have, o[:, : len(dims)], np.nan), need)
    return out


def _labels(dims):
    """(level, dimension, item) for item columns, dimension columns and overall."""
    lv, dm, it = [], [], []
    for dim, items in dims.items():
        for item in items:
            lv.append("item"), dm.append(dim), it.append(item)
    for dim in dims:
        lv.append("dimension"), dm.append(dim), it.append(np.nan)
    lv.append("overall"), dm.append(np.nan), it.append(np.nan)
    return lv, dm, it


def _frame(by_key, columns):
    n = len(next(iter(columns.values())))
    head = {b: [v] * n for b, v in by_key.items()}
    return pd.DataFrame({**head, **columns})


# ---------------------------------------------------------------------------------------------
# Gap 5
# ---------------------------------------------------------------------------------------------
def servqual(
    data,
    dimensions,
    *,
    expectation="E_{item}",
    perception="P_{item}",
    weight=None,
    by=None,
    conf=0.95,
    min_answered=0.5,
    low_base=DEFAULT_RULE,
):
    """SERVQUAL gap 5 (perception minus expectation) per item, dimension and overall.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; missing answers are NaN.
    dimensions : dict or codebook
        ``{dimension: [item codes]}``, or an object with ``servqual_dimensions()`` (a codebook or
        :func:`load_item_bank`). When a codebook is passed and the column patterns are left at
        their defaults, the codebook's patterns are used, and values outside the codebook's
        scale raise DataError (unconverted missing codes).
    expectation, perception : str
        Column patterns with ``{item}``.
    weight : str, Series, array or None
        Weight column (or one weight per row, e.g. from :func:`workbench.weighting.rake`);
        None = unweighted. Rows with weight 0 stay in the design but not in ``n``.
    by : str or list of str, optional
        Group columns; one block of rows per group, by-columns first.
    conf : float
        Confidence level of the intervals.
    min_answered : float
        Share of a dimension's items a respondent must have answered (both E and P) for a
        dimension score; the same share of dimensions is needed for the overall score.
    low_base : LowBaseRule
        Rows whose effective base is below ``low_base.min_test`` get no test (``t``, ``p_val``
        NaN) and a :class:`~workbench.errors.LowBaseWarning`.

    Returns
    -------
    DataFrame
        by-columns, then ``level`` (``item``/``dimension``/``overall``), ``dimension, item,
        expectation, perception, gap`` (P - E), ``se, t, df, p_val, ci_low, ci_high, n``,
        ``cohen_dz`` (mean gap / sd of gaps), ``n_eff`` (Kish), ``base_flag``
        (``ok``/``caution``/``no_test``). An item uses the respondents who answered both its E
        and P; a dimension score is the respondent's mean over the items answered in both; the
        overall score is the mean of the dimension scores (each dimension counts equally,
        Zeithaml, Parasuraman & Berry 1990). Unweighted tests are R ``t.test(P, E, paired =
        TRUE)``; weighted ones are design-based (linearisation, R ``survey``), ``df = n - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> res = gaps.servqual(sq, bank, weight="design_weight")
    >>> dims = res[res["level"] == "dimension"]
    >>> dict(zip(dims["dimension"], dims["gap"].round(2)))  # doctest: +NORMALIZE_WHITESPACE
    {'tangibles': 0.04, 'reliability': -1.38, 'responsiveness': -1.26, 'assurance': -0.61,
     'empathy': -0.47}
    """
    fn = "servqual"
    _check_data(fn, data)
    _check_common(fn, conf, min_answered, low_base)
    dims = _dimension_map(dimensions, fn)
    expectation = _pattern(dimensions, "expectation", expectation)
    perception = _pattern(dimensions, "perception", perception)
    _check_pattern(fn, "expectation", expectation, ["item"])
    _check_pattern(fn, "perception", perception, ["item"])
    by = _by_list(fn, data, by)
    w_all = _weights(fn, data, weight)
    cols = _item_columns(fn, data, dims, {"expectation": expectation, "perception": perception})
    E = _numeric(fn, data, cols["expectation"], dimensions)
    P = _numeric(fn, data, cols["perception"], dimensions)
    Ed, Pd = _dimension_scores([E, P], dims, min_answered)
    A = np.hstack([E, Ed])
    B = np.hstack([P, Pd])
    lv, dm, it = _labels(dims)
    blocks = []
    for key, idx in _groups(data, by):
        w = None if w_all is None else w_all[idx]
        r = _paired_block(A[idx], B[idx], w, len(data), conf, low_base)
        blocks.append(_frame(key, {
            "level": lv, "dimension": dm, "item": it,
            "expectation": r["a"], "perception": r["b"], "gap": r["est"],
            "se": r["se"], "t": r["t"], "df": r["df"], "p_val": r["p_val"],
            "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"],
            "cohen_dz": r["cohen_d"], "n_eff": r["n_eff"], "base_flag": r["base_flag"],
        }))
    out = pd.concat(blocks, ignore_index=True)
    _warn_low_base(fn, out, low_base, by, ["level", "dimension", "item"])
    return out


def weighted_servqual(
    data,
    dimensions,
    *,
    importance="imp_{dimension}",
    expectation="E_{item}",
    perception="P_{item}",
    total=100,
    weight=None,
    by=None,
    conf=0.95,
    min_answered=0.5,
    low_base=DEFAULT_RULE,
):
    """Importance-weighted SERVQUAL score from a constant-sum (100-point) allocation.

    Each respondent's score is ``sum_d (imp_d / T_i) * gap_d`` where ``gap_d`` is the
    respondent's dimension gap (P - E, as in :func:`servqual`) and ``T_i`` the points the
    respondent allocated in total -- ``T_i = 100`` when the allocation adds up, otherwise the
    allocation is rescaled to its own total and a WorkbenchWarning says how many respondents
    were rescaled (Zeithaml, Parasuraman & Berry 1990, appendix; Parasuraman et al. 1991).

    Parameters
    ----------
    importance : str
        Column pattern with ``{dimension}``; points allocated to each dimension.
    total : float
        Points to allocate (100). Allocations off by more than 0.5 point are rescaled.
    Other parameters as in :func:`servqual`.

    Returns
    -------
    DataFrame
        by-columns, then ``level`` (``dimension``/``overall``), ``dimension``, ``importance``
        (mean points out of ``total``), ``importance_se``, ``gap`` (mean dimension gap; overall:
        the unweighted SERVQUAL score), ``weighted_gap`` (mean of ``share_d * gap_d``, which sum
        over dimensions to the overall weighted score), and for ``weighted_gap``: ``se, t, df,
        p_val, ci_low, ci_high, n, n_eff, base_flag``. Every row uses the respondents with a
        weighted score (a gap on every dimension they gave points to).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> w = gaps.weighted_servqual(sq, bank, weight="design_weight")
    >>> w["importance"].round(1).tolist()
    [11.9, 32.3, 21.5, 17.9, 16.4, 100.0]
    >>> round(float(w["weighted_gap"].iloc[-1]), 2)
    -0.9
    """
    fn = "weighted_servqual"
    _check_data(fn, data)
    _check_common(fn, conf, min_answered, low_base)
    if not (isinstance(total, (int, float)) and total > 0):
        raise ParamsError(f"{fn}: total must be a positive number of points, but {total!r} was passed")
    dims = _dimension_map(dimensions, fn)
    importance = _pattern(dimensions, "importance", importance)
    expectation = _pattern(dimensions, "expectation", expectation)
    perception = _pattern(dimensions, "perception", perception)
    _check_pattern(fn, "importance", importance, ["dimension"])
    _check_pattern(fn, "expectation", expectation, ["item"])
    _check_pattern(fn, "perception", perception, ["item"])
    by = _by_list(fn, data, by)
    w_all = _weights(fn, data, weight)
    imp_cols = [importance.format(dimension=d) for d in dims]
    missing = [f"{c!r} (dimension {d!r})" for c, d in zip(imp_cols, dims) if c not in data.columns]
    if missing:
        raise DataError(f"{fn}: importance column(s) not found in data: {', '.join(missing)}")
    cols = _item_columns(fn, data, dims, {"expectation": expectation, "perception": perception})
    E = _numeric(fn, data, cols["expectation"], dimensions)
    P = _numeric(fn, data, cols["perception"], dimensions)
    Ed, Pd = _dimension_scores([E, P], dims, min_answered)
    G = (Pd - Ed)[:, : len(dims)]
    unweighted = (Pd - Ed)[:, -1]
    I = _numeric(fn, data, imp_cols)
    neg = np.nan_to_num(I, nan=0.0) < 0
    if neg.any():
        j = int(np.flatnonzero(neg.any(axis=0))[0])
        raise DataError(f"{fn}: importance column {imp_cols[j]!r} has negative points ({int(neg[:, j].sum())} row(s))")
    answered = ~np.isnan(I).all(axis=1)
    I0 = np.nan_to_num(I, nan=0.0)
    row_total = I0.sum(axis=1)
    usable = answered & (row_total > 0)
    off = usable & (np.abs(row_total - total) > 0.5)
    if off.any():
        warnings.warn(WorkbenchWarning(
            f"{fn}: {int(off.sum())} respondent(s) allocated a total other than {total:g} points "
            f"(e.g. {row_total[off][0]:g}); their allocation was rescaled to {total:g}",
            key="gaps.warn.rescaled", n=f"{int(off.sum()):,}", total=f"{total:g}", example=f"{row_total[off][0]:g}",
        ), stacklevel=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(usable[:, None], I0 / row_total[:, None], np.nan)
    contrib = np.where(share > 0, share * G, 0.0)
    contrib = np.where(usable[:, None], contrib, np.nan)
    score = contrib.sum(axis=1)  # NaN when a dimension with points has no gap, or no allocation
    keep = ~np.isnan(score)
    X = np.column_stack([contrib, score])
    X[~keep] = np.nan
    imp_pts = np.column_stack([share * total, np.full(len(data), float(total))])
    imp_pts[~keep] = np.nan
    gap_cols = np.column_stack([G, unweighted])
    gap_cols[~keep] = np.nan
    labels_level = ["dimension"] * len(dims) + ["overall"]
    labels_dim = list(dims) + [np.nan]
    blocks = []
    for key, idx in _groups(data, by):
        w = None if w_all is None else w_all[idx]
        s = column_stats(X[idx], w, len(data))
        si = column_stats(imp_pts[idx], w, len(data))
        sg = column_stats(gap_cols[idx], w, len(data))
        t, p, lo, hi = t_inference(s["mean"], s["se"], s["df"], conf)
        status = np.atleast_1d(low_base.status(s["n_eff"]))
        no_test = status == "no_test"
        imp_se = si["se"].copy()
        imp_se[-1] = np.nan
        blocks.append(_frame(key, {
            "level": labels_level, "dimension": labels_dim,
            "importance": si["mean"], "importance_se": imp_se, "gap": sg["mean"],
            "weighted_gap": s["mean"], "se": s["se"], "t": np.where(no_test, np.nan, t), "df": s["df"],
            "p_val": np.where(no_test, np.nan, p), "ci_low": lo, "ci_high": hi,
            "n": s["n"].astype(int), "n_eff": s["n_eff"], "base_flag": status,
        }))
    out = pd.concat(blocks, ignore_index=True)
    _warn_low_base(fn, out, low_base, by, ["level", "dimension"])
    return out


def reliability(
    data,
    dimensions,
    *,
    expectation="E_{item}",
    perception="P_{item}",
    by=None,
    nan_policy="pairwise",
    conf=0.95,
):
    """Cronbach's alpha per dimension for expectations, perceptions and gaps (P - E).

    Alpha is pingouin's ``cronbach_alpha`` (checked against R ``psych::alpha`` ``raw_alpha``);
    the interval is Feldt's, recomputed here without pingouin's rounding.

    Parameters
    ----------
    nan_policy : {"pairwise", "listwise"}
        Missing answers: pairwise covariances (the default of psych and pingouin) or complete rows.
    Other parameters as in :func:`servqual`. Unweighted only.

    Returns
    -------
    DataFrame
        by-columns, then ``dimension, measure`` (``expectation``/``perception``/``gap``),
        ``alpha, ci_low, ci_high, n`` (respondents used), ``n_items``. Dimensions with one item
        have alpha NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> rel = gaps.reliability(sq, bank)
    >>> rel.loc[rel["measure"] == "gap", "alpha"].round(2).tolist()
    [0.8, 0.84, 0.8, 0.78, 0.82]
    """
    import pingouin as pg

    fn = "reliability"
    _check_data(fn, data)
    if nan_policy not in ("pairwise", "listwise"):
        raise ParamsError(f"{fn}: nan_policy must be 'pairwise' or 'listwise', but {nan_policy!r} was passed")
    if not (isinstance(conf, (int, float)) and 0 < conf < 1):
        raise ParamsError(f"{fn}: conf must be between 0 and 1, but {conf!r} was passed")
    dims = _dimension_map(dimensions, fn)
    expectation = _pattern(dimensions, "expectation", expectation)
    perception = _pattern(dimensions, "perception", perception)
    _check_pattern(fn, "expectation", expectation, ["item"])
    _check_pattern(fn, "perception", perception, ["item"])
    by = _by_list(fn, data, by)
    cols = _item_columns(fn, data, dims, {"expectation": expectation, "perception": perception})
    E = _numeric(fn, data, cols["expectation"], dimensions)
    P = _numeric(fn, data, cols["perception"], dimensions)
    mats = {"expectation": E, "perception": P, "gap": P - E}
    rows = []
    for key, idx in _groups(data, by):
        j = 0
        for dim, items in dims.items():
            sl = slice(j, j + len(items))
            j += len(items)
            for measure, M in mats.items():
                x = pd.DataFrame(M[idx, sl], columns=items)
                if nan_policy == "listwise":
                    x = x.dropna(axis=0, how="any")
                else:
                    x = x.dropna(axis=0, how="all")
                n, k = x.shape
                alpha = lo = hi = np.nan
                if k >= 2 and n >= 2:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        alpha = float(pg.cronbach_alpha(data=x, nan_policy=nan_policy, ci=conf)[0])
                    lo, hi = feldt_ci(alpha, n, k, conf)
                rows.append({**key, "dimension": dim, "measure": measure, "alpha": alpha,
                             "ci_low": lo, "ci_high": hi, "n": int(n), "n_items": len(items)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Zone of tolerance
# ---------------------------------------------------------------------------------------------
def zone_of_tolerance(
    data,
    dimensions,
    *,
    adequate="ADQ_{item}",
    desired="DES_{item}",
    perception="P_{item}",
    weight=None,
    by=None,
    conf=0.95,
    min_answered=0.5,
    low_base=DEFAULT_RULE,
):
    """Perceived service against the zone of tolerance (adequate to desired service).

    Measure of service adequacy ``MSA = P - adequate`` and of service superiority
    ``MSS = P - desired`` (Parasuraman, Zeithaml & Berry 1994), each with a paired test.

    Parameters
    ----------
    adequate, desired, perception : str
        Column patterns with ``{item}``.
    Other parameters as in :func:`servqual`.

    Returns
    -------
    DataFrame
        by-columns, then ``level, dimension, item, adequate, desired, perception, zone_width``
        (desired - adequate), ``msa, msa_se, msa_t, msa_p_val, msa_ci_low, msa_ci_high``, the
        same six for ``mss``, ``df, n, n_eff, base_flag``, ``position`` (from the means:
        ``below`` when P < adequate, ``above`` when P > desired, else ``within``) and
        ``position_sig`` (from the tests at ``conf``: ``below`` when MSA is significantly
        negative, ``above`` when MSS is significantly positive, else ``within``; NaN without a
        test). Rows use respondents who answered P, adequate and desired.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> z = gaps.zone_of_tolerance(sq, bank, weight="design_weight")
    >>> z.loc[z["level"] == "dimension", "position"].tolist()
    ['within', 'below', 'below', 'within', 'within']
    """
    fn = "zone_of_tolerance"
    _check_data(fn, data)
    _check_common(fn, conf, min_answered, low_base)
    dims = _dimension_map(dimensions, fn)
    adequate = _pattern(dimensions, "adequate", adequate)
    desired = _pattern(dimensions, "desired", desired)
    perception = _pattern(dimensions, "perception", perception)
    for arg, pat in (("adequate", adequate), ("desired", desired), ("perception", perception)):
        _check_pattern(fn, arg, pat, ["item"])
    by = _by_list(fn, data, by)
    w_all = _weights(fn, data, weight)
    cols = _item_columns(fn, data, dims, {"adequate": adequate, "desired": desired, "perception": perception})
    Q = _numeric(fn, data, cols["adequate"], dimensions)
    D = _numeric(fn, data, cols["desired"], dimensions)
    P = _numeric(fn, data, cols["perception"], dimensions)
    Qd, Dd, Pd = _dimension_scores([Q, D, P], dims, min_answered)
    Qa, Da, Pa = np.hstack([Q, Qd]), np.hstack([D, Dd]), np.hstack([P, Pd])
    ok = ~np.isnan(Qa) & ~np.isnan(Da) & ~np.isnan(Pa)
    Qa, Da, Pa = (np.where(ok, m, np.nan) for m in (Qa, Da, Pa))
    lv, dm, it = _labels(dims)
    sig = 1.0 - conf
    blocks = []
    for key, idx in _groups(data, by):
        w = None if w_all is None else w_all[idx]
        msa = _paired_block(Qa[idx], Pa[idx], w, len(data), conf, low_base)
        mss = _paired_block(Da[idx], Pa[idx], w, len(data), conf, low_base)
        adq, des, per = msa["a"], mss["a"], msa["b"]
        position = np.where(per < adq, "below", np.where(per > des, "above", "within"))
        tested = msa["base_flag"] != "no_test"
        psig = np.where(
            (msa["est"] < 0) & (msa["p_val"] < sig), "below",
            np.where((mss["est"] > 0) & (mss["p_val"] < sig), "above", "within"),
        ).astype(object)
        psig[~tested | np.isnan(msa["p_val"])] = np.nan
        cols_out = {"level": lv, "dimension": dm, "item": it, "adequate": adq, "desired": des,
                    "perception": per, "zone_width": des - adq}
        for name, r in (("msa", msa), ("mss", mss)):
            cols_out.update({name: r["est"], f"{name}_se": r["se"], f"{name}_t": r["t"],
                             f"{name}_p_val": r["p_val"], f"{name}_ci_low": r["ci_low"],
                             f"{name}_ci_high": r["ci_high"]})
        cols_out.update({"df": msa["df"], "n": msa["n"], "n_eff": msa["n_eff"], "base_flag": msa["base_flag"],
                         "position": position, "position_sig": psig})
        blocks.append(_frame(key, cols_out))
    out = pd.concat(blocks, ignore_index=True)
    inverted = out[(out["zone_width"] < 0) & (out["level"] != "item")]
    if not inverted.empty:
        where = ", ".join(str(d) for d in inverted["dimension"].fillna("overall").unique())
        warnings.warn(WorkbenchWarning(
            f"{fn}: mean desired service is below mean adequate service for {where}; check the "
            "adequate/desired columns are not swapped", key="gaps.warn.zone_inverted", where=where,
            dims=tuple(inverted["dimension"].fillna("").unique()),
        ), stacklevel=2)
    _warn_low_base(fn, out, low_base, by, ["level", "dimension", "item"])
    return out


# ---------------------------------------------------------------------------------------------
# Gaps 1-4
# ---------------------------------------------------------------------------------------------
def _measure(fn, data, dims, pattern, arg, dimensions, min_answered):
    """Scores of one measure: ``(item matrix or None, dimension+overall matrix)``."""
    ph = _check_pattern(fn, arg, pattern, ["item", "dimension"])
    if ph == "item":
        cols = _item_columns(fn, data, dims, {arg: pattern})[arg]
        X = _numeric(fn, data, cols, dimensions)
        (Xd,) = _dimension_scores([X], dims, min_answered)
        return X, Xd
    names = [pattern.format(dimension=d) for d in dims]
    present = [c in data.columns for c in names]
    if not all(present):
        lack = [f"{c!r} (dimension {d!r})" for c, d, p in zip(names, dims, present) if not p]
        hint = "" if any(present) else f"; pass {arg}=None if the survey did not ask it"
        raise DataError(f"{fn}: {arg} column(s) not found in the data: {', '.join(lack)}{hint}")
    X = _numeric(fn, data, names, dimensions)
    overall = _row_mean(X, _min_count(len(dims), min_answered))
    return None, np.column_stack([X, overall])


def gaps_1_to_4(
    mgmt,
    servqual_data,
    dimensions,
    *,
    expectation="E_{item}",
    mgmt_expectation="ME_{item}",
    specification="SPEC_{dimension}",
    delivery="DEL_{dimension}",
    promise="PROM_{dimension}",
    weight=None,
    conf=0.95,
    min_answered=0.5,
    low_base=DEFAULT_RULE,
):
    """Gaps 1-4 of the gap model per dimension (and per item for gap 1) from a management/staff survey.

    Measures (after Zeithaml, Berry & Parasuraman 1988, who define the gaps and their
    antecedents; all on the same seven-point scale, so a gap is in scale points):

    * gap 1 ``knowledge`` = management's view of customers' expectations (``ME_<item>``: managers
      answer the SERVQUAL expectation items as they think customers would) minus customers'
      expectations (``E_<item>`` of ``servqual_data``); Welch t test of independent groups.
    * gap 2 ``standards`` = the level of service the service standards set
      (``SPEC_<dimension>``) minus the respondent's own view of expectations (``ME``); paired
      within respondents who answered both (managers).
    * gap 3 ``delivery`` = the level of service actually delivered (``DEL_<dimension>``)
      minus the standard (``SPEC``); paired within respondents who answered both (staff).
    * gap 4 ``communication`` = delivered (``DEL``) minus promised by advertising, sales and
      other communications (``PROM_<dimension>``); paired within respondents (staff).

    Each pattern may use ``{item}`` (a dimension score is then the row mean of its items) or
    ``{dimension}``; with a codebook as ``dimensions``, patterns left at their defaults come from
    the codebook. Pass None to skip a measure and the gaps that need it.

    Parameters
    ----------
    mgmt : DataFrame
        Management/staff survey, one row per respondent (NaN where a question was not asked).
    servqual_data : DataFrame
        Customer survey holding the expectation columns (gap 1).
    weight : str, optional
        Weight column of ``servqual_data`` (customers); staff answers are unweighted. The Welch
        test then uses the customers' design-based SE and ``df = n - 1`` in the
        Welch-Satterthwaite formula.
    Other parameters as in :func:`servqual`.

    Returns
    -------
    DataFrame
        ``gap_no, gap_key, level`` (``item``/``dimension``/``overall``), ``dimension, item,
        target`` (mean of what was set), ``achieved`` (mean of what followed), ``gap``
        (achieved - target), ``se, t, df, p_val, ci_low, ci_high, n_target, n_achieved``,
        ``n_eff`` (the smaller effective base of the two sides), ``test`` (``welch``/``paired``),
        ``cohen_d`` (Welch: difference over the root mean of the two variances; paired: dz),
        ``base_flag``.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> g = gaps.gaps_1_to_4(mg, sq, bank, weight="design_weight")
    >>> g14 = g[g["level"] == "dimension"]
    >>> g14.loc[g14["dimension"] == "reliability", ["gap_key", "gap"]].round(2).values.tolist()
    [['knowledge', -0.3], ['standards', 0.29], ['delivery', -1.14], ['communication', -0.25]]
    """
    fn = "gaps_1_to_4"
    _check_data(fn, mgmt, "mgmt")
    _check_common(fn, conf, min_answered, low_base)
    dims = _dimension_map(dimensions, fn)
    lv, dm, it = _labels(dims)
    n_items = len(lv) - len(dims) - 1
    dim_lv, dim_dm = lv[n_items:], dm[n_items:]
    dim_it = it[n_items:]
    m = {}
    for arg, pat in (("mgmt_expectation", mgmt_expectation), ("specification", specification),
                     ("delivery", delivery), ("promise", promise)):
        if pat is not None:
            pat = _pattern(dimensions, arg, pat)
            if arg == "mgmt_expectation":
                mgmt_expectation = pat
            m[arg] = _measure(fn, mgmt, dims, pat, arg, dimensions, min_answered)
    blocks = []

    def emit(no, level, dim, item, r, test, n_t, n_a):
        k = len(level)
        blocks.append(pd.DataFrame({
            "gap_no": [no] * k, "gap_key": [GAP_KEYS[no]] * k, "level": level, "dimension": dim,
            "item": item, "target": r["a"], "achieved": r["b"], "gap": r["est"], "se": r["se"],
            "t": r["t"], "df": r["df"], "p_val": r["p_val"], "ci_low": r["ci_low"],
            "ci_high": r["ci_high"], "n_target": n_t, "n_achieved": n_a, "n_eff": r["n_eff"],
            "test": [test] * k, "cohen_d": r["cohen_d"], "base_flag": r["base_flag"],
        }))

    if "mgmt_expectation" in m:
        _check_data(fn, servqual_data, "servqual_data")
        expectation = _pattern(dimensions, "expectation", expectation)
        ME_i, ME_d = m["mgmt_expectation"]
        ph = _check_pattern(fn, "expectation", expectation, ["item", "dimension"])
        if ph != _check_pattern(fn, "mgmt_expectation", mgmt_expectation, ["item", "dimension"]):
            raise ParamsError(
                f"{fn}: expectation ({expectation!r}) and mgmt_expectation ({mgmt_expectation!r}) must "
                "use the same placeholder ({item} or {dimension})"
            )
        CE_i, CE_d = _measure(fn, servqual_data, dims, expectation, "expectation", dimensions, min_answered)
        w = _weights(fn, servqual_data, weight)
        if ME_i is not None:
            A, B, level, dim, item = np.hstack([CE_i, CE_d]), np.hstack([ME_i, ME_d]), lv, dm, it
        else:
            A, B, level, dim, item = CE_d, ME_d, dim_lv, dim_dm, dim_it
        sa = column_stats(A, w, len(servqual_data))
        sb = column_stats(B)
        r = welch(sa, sb)
        t, p, lo, hi = t_inference(r["est"], r["se"], r["df"], conf)
        n_eff = np.minimum(sa["n_eff"], sb["n_eff"])
        status = np.atleast_1d(low_base.status(n_eff))
        no_test = status == "no_test"
        emit(1, level, dim, item, {
            "a": sa["mean"], "b": sb["mean"], "est": r["est"], "se": r["se"],
            "t": np.where(no_test, np.nan, t), "df": r["df"], "p_val": np.where(no_test, np.nan, p),
            "ci_low": lo, "ci_high": hi, "n_eff": n_eff, "cohen_d": r["cohen_d"], "base_flag": status,
        }, "welch", sa["n"].astype(int), sb["n"].astype(int))
    for no, target, achieved in ((2, "mgmt_expectation", "specification"),
                                 (3, "specification", "delivery"),
                                 (4, "promise", "delivery")):
        if target in m and achieved in m:
            r = _paired_block(m[target][1], m[achieved][1], None, len(mgmt), conf, low_base)
            emit(no, dim_lv, dim_dm, dim_it, r, "paired", r["n"], r["n"])
    if not blocks:
        raise ParamsError(f"{fn}: every measure was skipped (None); nothing to compare")
    out = pd.concat(blocks, ignore_index=True)
    _warn_low_base(fn, out, low_base, [], ["gap_key", "level", "dimension", "item"])
    return out


def antecedents(mgmt, scales=None, *, by=None, conf=0.95, nan_policy="pairwise", min_answered=0.5,
                low_base=DEFAULT_RULE, skip_absent=False):
    """Scores and Cronbach's alpha of the antecedent scales of gaps 1-4.

    The constructs are those of Zeithaml, Berry & Parasuraman (1988): marketing research
    orientation, upward communication, levels of management (gap 1); management commitment to
    service quality, goal setting, task standardisation, perception of feasibility (gap 2);
    teamwork, employee-job fit, technology-job fit, perceived control, supervisory control
    systems, role conflict, role ambiguity (gap 3); horizontal communication, propensity to
    overpromise (gap 4).

    Parameters
    ----------
    mgmt : DataFrame
        Management/staff survey; a respondent's scale score is the mean of the answered items
        (at least ``min_answered`` of them); respondents without a score are left out.
    scales : dict, ItemBank, codebook or None
        ``{scale: [item columns]}``, the item bank, a codebook with ``antecedents()``; None = the
        item bank's scales whose items are in ``mgmt``.
    low_base : LowBaseRule
        Sets ``base_flag`` from the number of respondents with a score (unweighted, so
        ``n_eff = n``); scales below ``low_base.min_test`` raise a LowBaseWarning.
    skip_absent : bool
        Leave out scales none of whose items is in ``mgmt`` (e.g. the staff scales of a managers'
        file) instead of raising DataError; a scale with some items missing still raises.
    Other parameters as in :func:`reliability`. Unweighted.

    Returns
    -------
    DataFrame
        by-columns, then ``scale, gap_no, gap_key, direction`` (+1: more of it narrows the gap,
        -1: widens it; from the item bank, NaN for scales it does not know), ``kind``
        (``agreement``: items on the 1-7 agreement scale; ``count``: a number such as levels of
        management), ``mean, sd, se, ci_low, ci_high, n, n_items, alpha, alpha_ci_low,
        alpha_ci_high, n_eff, base_flag``.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> a = gaps.antecedents(mg)
    >>> a.loc[a["scale"] == "upc", ["gap_key", "mean", "n"]].round(2).values.tolist()
    [['knowledge', 3.34, 40]]
    """
    import pingouin as pg

    fn = "antecedents"
    _check_data(fn, mgmt, "mgmt")
    if nan_policy not in ("pairwise", "listwise"):
        raise ParamsError(f"{fn}: nan_policy must be 'pairwise' or 'listwise', but {nan_policy!r} was passed")
    _check_common(fn, conf, min_answered, low_base)
    bank = load_item_bank("en")
    bank_meta = bank.antecedents.drop_duplicates("scale").set_index("scale")
    meta = {s: (int(r["gap_no"]), int(r["direction"])) for s, r in bank_meta.iterrows()}
    kinds = {s: str(r["kind"]) for s, r in bank_meta.iterrows()}
    if scales is None:
        scales = {s: list(items) for s, items in bank.antecedent_scales().items()
                  if any(c in mgmt.columns for c in items)}
        if not scales:
            raise DataError(f"{fn}: none of the item bank's antecedent items (e.g. 'upc1') is in mgmt")
    elif callable(getattr(scales, "antecedent_scales", None)):  # an ItemBank
        scales = scales.antecedent_scales()
    elif callable(getattr(scales, "antecedents", None)):  # a codebook with servqual.antecedents
        source = scales
        scales = source.antecedents()
        for s in scales:
            try:
                spec = source.antecedent(s)
                meta[s] = (int(spec.gap), int(spec.direction))
                kinds[s] = str(spec.scale)
            except Exception:  # noqa: BLE001 - metadata is optional; the bank's (if any) stays
                pass
    if skip_absent and isinstance(scales, Mapping):
        scales = {k: v for k, v in scales.items() if any(c in mgmt.columns for c in v)}
        if not scales:
            raise DataError(f"{fn}: none of the antecedent scales' items is in mgmt")
    scales = _dimension_map(scales, fn)
    by = _by_list(fn, mgmt, by)
    rows = []
    for scale, items in scales.items():
        lack = [c for c in items if c not in mgmt.columns]
        if lack:
            raise DataError(f"{fn}: scale {scale!r}: item column(s) {lack} not found in mgmt")
    for key, idx in _groups(mgmt, by):
        sub = mgmt.iloc[idx]
        for scale, items in scales.items():
            X = _numeric(fn, sub, items)
            score = _row_mean(X, _min_count(len(items), min_answered))
            s = column_stats(score)
            _, _, lo, hi = t_inference(s["mean"], s["se"], s["df"], conf)
            x = pd.DataFrame(X[~np.isnan(score)], columns=items)
            x = x.dropna(how="any") if nan_policy == "listwise" else x.dropna(how="all")
            alpha = a_lo = a_hi = np.nan
            if len(items) >= 2 and len(x) >= 2:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    alpha = float(pg.cronbach_alpha(data=x, nan_policy=nan_policy, ci=conf)[0])
                a_lo, a_hi = feldt_ci(alpha, len(x), len(items), conf)
            known = scale in meta
            rows.append({
                **key, "scale": scale,
                "gap_no": meta[scale][0] if known else np.nan,
                "gap_key": GAP_KEYS[meta[scale][0]] if known else np.nan,
                "direction": meta[scale][1] if known else np.nan,
                "kind": kinds.get(scale, "agreement"),
                "mean": s["mean"][0], "sd": s["sd"][0], "se": s["se"][0], "ci_low": lo[0], "ci_high": hi[0],
                "n": int(s["n"][0]), "n_items": len(items), "alpha": alpha,
                "alpha_ci_low": a_lo, "alpha_ci_high": a_hi,
                "n_eff": float(s["n_eff"][0]), "base_flag": str(np.atleast_1d(low_base.status(s["n_eff"]))[0]),
            })
    out = pd.DataFrame(rows)
    _warn_low_base(fn, out[out["n"] > 0], low_base, by, ["scale"])  # n = 0: the scale was not asked
    return out


# ---------------------------------------------------------------------------------------------
# Diagnosis
# ---------------------------------------------------------------------------------------------
def _importance_map(importance, dims):
    if importance is None:
        return None
    if isinstance(importance, pd.DataFrame):
        if not {"dimension", "importance"} <= set(importance.columns):
            raise ParamsError("diagnosis: importance table needs columns 'dimension' and 'importance' "
                              "(the output of weighted_servqual)")
        t = importance
        if "level" in t.columns:
            t = t[t["level"] == "dimension"]
        if t["dimension"].duplicated().any():
            raise ParamsError("diagnosis: importance has several rows per dimension (by-groups?); "
                              "pass one group's rows")
        importance = dict(zip(t["dimension"], t["importance"]))
    if not isinstance(importance, Mapping):
        raise ParamsError(f"diagnosis: importance must be None, a mapping or a weighted_servqual table, "
                          f"but a {type(importance).__name__} was passed")
    lack = [d for d in dims if d not in importance]
    if lack:
        raise ParamsError(f"diagnosis: importance has no value for dimension(s) {lack}")
    return {d: float(importance[d]) for d in dims}


def diagnosis(gap5, gaps14, *, importance=None, sig_level=0.05, total=100):
    """Line gaps 1-4 up with gap 5 per dimension and rank where the provider loses most.

    Parameters
    ----------
    gap5 : DataFrame
        Output of :func:`servqual` for one group (its ``dimension`` rows are used).
    gaps14 : DataFrame or None
        Output of :func:`gaps_1_to_4` (its ``dimension`` rows are used); None when the study has
        no management/staff survey (gap 5 alone: the ``gap1 .. gap4`` columns are NaN and the
        verdicts are ``shortfall`` or ``no_shortfall``).
    importance : None, dict or DataFrame
        Importance points per dimension (out of ``total``), or the output of
        :func:`weighted_servqual`; None = dimensions count equally.
    sig_level : float
        Significance level for the ``*_sig`` flags.

    Returns
    -------
    DataFrame
        One row per dimension in ``gap5`` order: ``dimension, gap5, gap5_p_val, gap5_sig,
        gap5_base_flag``, ``gap1 .. gap4`` with ``gapK_p_val, gapK_sig, gapK_base_flag`` (the
        low-base status of the input rows; ``ok`` when the input has no ``base_flag``, NaN for a
        gap that was not measured), ``importance``, ``shortfall``
        (``-gap5`` where gap 5 is a significant shortfall, else 0), ``loss`` (the dimension's
        share of the overall SERVQUAL shortfall: ``shortfall * importance / total``, or
        ``shortfall / n_dimensions``),
        ``priority`` (1 = largest loss), ``share_gap1 .. share_gap4`` (each significant
        shortfall among gaps 1-4 as a share of their sum), ``main_source`` (gap key of the
        largest significant shortfall among gaps 1-4; ``none`` when none is), ``sources``
        (all such keys, largest first, ``;``-separated) and ``verdict``:
        ``shortfall_explained`` (significant gap 5 shortfall with at least one internal source),
        ``shortfall_unexplained`` (no measured gap 1-4 accounts for it),
        ``no_shortfall_internal_risk`` (customers see no shortfall yet, but an internal gap is
        significant) or ``no_shortfall``; without ``gaps14``, ``shortfall`` (a significant gap 5
        shortfall whose internal source was not measured) or ``no_shortfall``. Last,
        ``worst_item`` and ``worst_item_gap``: the item of the dimension with the largest
        significant shortfall (NaN when none has one; ``gap5`` needs its item rows for this).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> diag = gaps.diagnosis(gaps.servqual(sq, bank), gaps.gaps_1_to_4(mg, sq, bank),
    ...                       importance=gaps.weighted_servqual(sq, bank))
    >>> diag[["dimension", "main_source", "priority"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['tangibles', 'none', 5], ['reliability', 'delivery', 1], ['responsiveness', 'knowledge', 2],
     ['assurance', 'communication', 3], ['empathy', 'standards', 4]]
    """
    fn = "diagnosis"
    for name, t, need in (("gap5", gap5, {"level", "dimension", "gap", "p_val"}),
                          ("gaps14", gaps14, {"gap_no", "level", "dimension", "gap", "p_val"})):
        if name == "gaps14" and t is None:
            continue
        if not isinstance(t, pd.DataFrame) or not need <= set(t.columns):
            raise ParamsError(f"{fn}: {name} must be the table returned by "
                              f"{'servqual' if name == 'gap5' else 'gaps_1_to_4'} (columns {sorted(need)})")
    if not (0 < sig_level < 1):
        raise ParamsError(f"{fn}: sig_level must be between 0 and 1, but {sig_level!r} was passed")
    g5 = gap5[gap5["level"] == "dimension"]
    if g5["dimension"].duplicated().any():
        raise ParamsError(f"{fn}: gap5 has several rows per dimension (a by-grouped servqual table); "
                          "pass the rows of one group")
    dims = list(g5["dimension"])
    if gaps14 is None:
        g14 = pd.DataFrame(columns=["gap_no", "level", "dimension", "gap", "p_val"])
    else:
        g14 = gaps14[gaps14["level"] == "dimension"]
    unknown = sorted(set(g14["dimension"]) - set(dims))
    if unknown:
        raise ParamsError(f"{fn}: gaps14 has dimension(s) {unknown} that gap5 does not have")
    imp = _importance_map(importance, dims)
    out = pd.DataFrame({"dimension": dims, "gap5": g5["gap"].to_numpy(),
                        "gap5_p_val": g5["p_val"].to_numpy()})
    out["gap5_sig"] = out["gap5_p_val"] < sig_level
    out["gap5_base_flag"] = g5["base_flag"].to_numpy() if "base_flag" in g5.columns else "ok"
    shortfalls = {}
    for no in (1, 2, 3, 4):
        sub = g14[g14["gap_no"] == no].set_index("dimension")
        g = out["dimension"].map(sub["gap"]) if len(sub) else pd.Series(np.nan, index=out.index)
        p = out["dimension"].map(sub["p_val"]) if len(sub) else pd.Series(np.nan, index=out.index)
        out[f"gap{no}"] = g.astype(float).to_numpy()
        out[f"gap{no}_p_val"] = p.astype(float).to_numpy()
        out[f"gap{no}_sig"] = (out[f"gap{no}_p_val"] < sig_level).to_numpy()
        if len(sub) and "base_flag" in sub.columns:
            out[f"gap{no}_base_flag"] = out["dimension"].map(sub["base_flag"]).to_numpy()
        else:
            out[f"gap{no}_base_flag"] = "ok" if len(sub) else np.nan
        shortfalls[no] = np.where(out[f"gap{no}_sig"] & (out[f"gap{no}"] < 0), -out[f"gap{no}"], 0.0)
    out["importance"] = [imp[d] for d in dims] if imp else np.nan
    # only a significant gap 5 is a shortfall the report can claim
    out["shortfall"] = np.where(out["gap5_sig"] & (out["gap5"] < 0), -out["gap5"].to_numpy(), 0.0)
    if imp:
        out["loss"] = out["shortfall"] * out["importance"] / total
    else:
        out["loss"] = out["shortfall"] / len(dims)
    out["priority"] = out["loss"].rank(ascending=False, method="first").astype(int)
    S = np.column_stack([shortfalls[no] for no in (1, 2, 3, 4)])
    tot = S.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(tot[:, None] > 0, S / tot[:, None], 0.0)
    for j, no in enumerate((1, 2, 3, 4)):
        out[f"share_gap{no}"] = shares[:, j]
    main, srcs = [], []
    for row in S:
        order = [j for j in np.argsort(-row, kind="stable") if row[j] > 0]
        keys = [GAP_KEYS[j + 1] for j in order]
        main.append(keys[0] if keys else "none")
        srcs.append(";".join(keys))
    out["main_source"] = main
    out["sources"] = srcs
    short = (out["gap5_sig"] & (out["gap5"] < 0)).to_numpy()
    explained = tot > 0
    if gaps14 is None:
        out["verdict"] = np.where(short, "shortfall", "no_shortfall")
    else:
        out["verdict"] = np.where(
            short,
            np.where(explained, "shortfall_explained", "shortfall_unexplained"),
            np.where(explained, "no_shortfall_internal_risk", "no_shortfall"),
        )
    items = gap5[(gap5["level"] == "item") & (gap5["p_val"] < sig_level) & (gap5["gap"] < 0)]
    if "item" in items.columns and len(items):
        worst = items.loc[items.groupby("dimension", sort=False)["gap"].idxmin()].set_index("dimension")
        out["worst_item"] = out["dimension"].map(worst["item"]).to_numpy(dtype=object)
        out["worst_item_gap"] = out["dimension"].map(worst["gap"]).astype(float).to_numpy()
    else:
        out["worst_item"] = np.full(len(out), np.nan, dtype=object)
        out["worst_item_gap"] = np.nan
    return out


def action_list(diag, *, lang=None, min_share=0.0):
    """The prioritised remedies behind a :func:`diagnosis` table.

    One row per dimension with a gap 5 shortfall and per source (significant gap 1-4 shortfall)
    behind it, ordered by the loss attributed to it (``loss * share``). A dimension whose
    shortfall no measured gap explains gets one row with ``gap_no`` 5 ("look beyond gaps 1-4");
    when gaps 1-4 were not measured (verdict ``shortfall``: a study with the customer survey
    only), every dimension with a shortfall gets one ``gap_no`` 5 row with the remedy for gap 5
    alone, ranked by its share of the shortfall.

    Parameters
    ----------
    diag : DataFrame
        Output of :func:`diagnosis`.
    lang : {None, "en", "zh"}
        Language of ``action_text`` (None: ``action_text_en`` and ``action_text_zh``).
    min_share : float
        Leave out sources with a smaller share of the dimension's internal shortfall.

    Returns
    -------
    DataFrame
        ``rank, dimension, gap_no, gap_key, gap, share, loss`` (attributed), ``gap5, priority``
        and the action text.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> diag = gaps.diagnosis(gaps.servqual(sq, bank), gaps.gaps_1_to_4(mg, sq, bank),
    ...                       importance=gaps.weighted_servqual(sq, bank))
    >>> gaps.action_list(diag, lang="en")[["dimension", "gap_key"]].head(2).values.tolist()
    [['reliability', 'delivery'], ['responsiveness', 'knowledge']]
    """
    fn = "action_list"
    need = {"dimension", "gap5", "shortfall", "loss", "priority"} | {f"share_gap{k}" for k in (1, 2, 3, 4)}
    if not isinstance(diag, pd.DataFrame) or not need <= set(diag.columns):
        raise ParamsError(f"{fn}: diag must be the table returned by diagnosis()")
    bank = load_item_bank(lang)
    suffixes = [""] if lang else [f"_{g}" for g in _LANGS]
    gap_text = bank.gaps.set_index("gap_no")
    text_cols = [f"action{s}" for s in suffixes]
    rows = []
    for _, r in diag.iterrows():
        if not r["shortfall"] > 0:
            continue
        alone = r.get("verdict") == "shortfall"  # gaps 1-4 not measured
        shares = {k: r[f"share_gap{k}"] for k in (1, 2, 3, 4)}
        picked = [(k, s) for k, s in shares.items() if s > 0 and s >= min_share]
        if not picked:
            picked = [(5, 1.0)]
        for k, s in picked:
            row = {"dimension": r["dimension"], "gap_no": k, "gap_key": GAP_KEYS[k],
                   "gap": r["gap5"] if k == 5 else r[f"gap{k}"], "share": s, "loss": r["loss"] * s,
                   "gap5": r["gap5"], "priority": r["priority"]}
            source = "action_alone" if alone else "action"
            row.update({f"action_text{sf}": gap_text.loc[k, f"{source}{sf}"] for sf in suffixes})
            rows.append(row)
    cols = ["rank", "dimension", "gap_no", "gap_key", "gap", "share", "loss", "gap5", "priority"]
    if not rows:
        return pd.DataFrame(columns=cols + [c.replace("action", "action_text") for c in text_cols])
    out = pd.DataFrame(rows).sort_values(["loss", "priority"], ascending=[False, True], kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Group comparisons, chart-ready reshaping and the whole 5-GAP analysis in one call
# ---------------------------------------------------------------------------------------------
_KEY_COLUMNS = ("gap_no", "gap_key", "level", "dimension", "item", "scale", "measure")


def compare_groups(table, by, *, value="gap", se="se", keys=None, reference=None, conf=0.95,
                   low_base=DEFAULT_RULE):
    """Pairwise differences between the groups of a by-grouped result table.

    The groups of a ``by`` table are domains of one sample, so their estimates are independent
    (in the linearisation of a one-stage with-replacement design the influence values of two
    disjoint domains never overlap, so their covariance is zero): the difference ``b - a`` has
    ``se = sqrt(se_a^2 + se_b^2)`` and Welch-Satterthwaite degrees of freedom
    ``(se_a^2 + se_b^2)^2 / (se_a^4/df_a + se_b^4/df_b)`` with ``df = n - 1`` of each group
    (Welch 1947). Unweighted this is R ``t.test(x_b, x_a)`` on the respondents' scores; weighted,
    estimate and SE are those of ``svycontrast(svyby(...))`` in R ``survey``.

    Parameters
    ----------
    table : DataFrame
        A result with by-columns, e.g. ``servqual(..., by="segment")``, with the columns
        ``value``, ``se`` and ``df`` (or ``n``); ``n_eff`` is used for the low-base rule when
        present (else ``n``).
    by : str or list of str
        The by-columns of ``table``.
    value, se : str
        Estimate and standard-error columns (e.g. ``"msa"`` and ``"msa_se"`` for a zone table).
    keys : list of str, optional
        Columns that identify a row within a group; default: those of ``gap_no, gap_key, level,
        dimension, item, scale, measure`` present in ``table``.
    reference : optional
        Compare every group with this one only (for several by-columns, a tuple); default:
        every pair of groups, in table order.
    conf : float
        Confidence level of the intervals.
    low_base : LowBaseRule
        Pairs where either group's effective base is below ``low_base.min_test`` get no test.

    Returns
    -------
    DataFrame
        ``keys``, then ``group_a, group_b`` (the by values; joined with `` · `` for several
        by-columns), ``est_a, est_b, diff`` (b - a), ``se, t, df, p_val, ci_low, ci_high,
        n_eff_a, n_eff_b, base_flag`` (of the smaller effective base).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq = frames["servqual"]
    >>> seg = gaps.servqual(sq, gaps.load_item_bank(), by="segment", weight="design_weight")
    >>> cmp = gaps.compare_groups(seg[seg["level"] == "dimension"], "segment", reference="business")
    >>> cmp.loc[cmp["dimension"] == "responsiveness", ["group_b", "diff"]].round(2).values.tolist()
    [['consumer_postpaid', 0.53], ['consumer_prepaid', 0.39]]
    """
    fn = "compare_groups"
    if not isinstance(table, pd.DataFrame):
        raise ParamsError(f"{fn}: table must be a DataFrame returned with by=..., but a "
                          f"{type(table).__name__} was passed")
    by = _by_list(fn, table, by)
    if not by:
        raise ParamsError(f"{fn}: by must name the group column(s) of table, e.g. 'segment'")
    need = [value, se] + (["df"] if "df" in table.columns else ["n"])
    lack = [c for c in need if c not in table.columns]
    if lack:
        raise ParamsError(f"{fn}: table has no column(s) {lack}; pass value=/se= naming the estimate "
                          f"and its standard error (columns: {list(table.columns)})")
    if not (isinstance(conf, (int, float)) and 0 < conf < 1):
        raise ParamsError(f"{fn}: conf must be between 0 and 1 (e.g. 0.95), but {conf!r} was passed")
    keys = [c for c in _KEY_COLUMNS if c in table.columns] if keys is None else list(keys)
    lack = [c for c in keys if c not in table.columns]
    if lack:
        raise ParamsError(f"{fn}: key column(s) {lack} not in table")
    t = table.reset_index(drop=True)
    label = t[by].astype(str).agg(" · ".join, axis=1) if len(by) > 1 else t[by[0]]
    groups = list(dict.fromkeys(label.tolist()))
    if reference is not None:
        ref = " · ".join(map(str, reference)) if isinstance(reference, tuple) else reference
        if ref not in groups:
            raise ParamsError(f"{fn}: reference group {reference!r} is not among the groups {groups}")
        pairs = [(ref, g) for g in groups if g != ref]
    else:
        pairs = [(a, b) for i, a in enumerate(groups) for b in groups[i + 1:]]
    if not pairs:
        raise ParamsError(f"{fn}: table has only one group ({groups}); nothing to compare")
    key_df = t[keys].astype(object).where(t[keys].notna(), "") if keys else pd.DataFrame(index=t.index)
    key_tuple = key_df.apply(tuple, axis=1) if keys else pd.Series([()] * len(t))
    est = t[value].to_numpy(dtype=float)
    ses = t[se].to_numpy(dtype=float)
    dfs = t["df"].to_numpy(dtype=float) if "df" in t.columns else t["n"].to_numpy(dtype=float) - 1.0
    neff = (t["n_eff"] if "n_eff" in t.columns else t["n"]).to_numpy(dtype=float)
    pos = {(g, k): i for i, (g, k) in enumerate(zip(label, key_tuple))}
    order = list(dict.fromkeys(key_tuple.tolist()))
    rows = []
    for k in order:
        for a, b in pairs:
            ia, ib = pos.get((a, k)), pos.get((b, k))
            if ia is None or ib is None:
                continue
            rows.append((k, a, b, ia, ib))
    if not rows:
        raise ParamsError(f"{fn}: no row is present in two groups; check keys={keys}")
    ia = np.array([r[3] for r in rows])
    ib = np.array([r[4] for r in rows])
    r = welch({"mean": est[ia], "se": ses[ia], "df": dfs[ia], "sd": np.full(len(ia), np.nan)},
              {"mean": est[ib], "se": ses[ib], "df": dfs[ib], "sd": np.full(len(ib), np.nan)})
    tt, p, lo, hi = t_inference(r["est"], r["se"], r["df"], conf)
    small = np.minimum(neff[ia], neff[ib])
    status = np.atleast_1d(low_base.status(small))
    no_test = status == "no_test"
    out = pd.DataFrame([dict(zip(keys, r[0])) for r in rows], columns=keys)
    for c in keys:  # put back the NaN of keys such as item on dimension rows
        out[c] = out[c].where(out[c] != "", np.nan)
    out["group_a"] = [r[1] for r in rows]
    out["group_b"] = [r[2] for r in rows]
    out["est_a"], out["est_b"], out["diff"], out["se"] = est[ia], est[ib], r["est"], r["se"]
    out["t"] = np.where(no_test, np.nan, tt)
    out["df"] = r["df"]
    out["p_val"] = np.where(no_test, np.nan, p)
    out["ci_low"], out["ci_high"] = lo, hi
    out["n_eff_a"], out["n_eff_b"], out["base_flag"] = neff[ia], neff[ib], status
    return out


def diagnosis_long(diag):
    """A :func:`diagnosis` table in long form: one row per dimension and gap 1-5 (for charts).

    Returns
    -------
    DataFrame
        ``dimension, gap_no, gap_key, gap, p_val, sig, base_flag`` (dimensions in ``diag``
        order, gaps 1 to 5 within each; gaps that were not measured have ``gap`` NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> sq, mg = frames["servqual"], frames["mgmt_survey"]
    >>> bank = gaps.load_item_bank()
    >>> diag = gaps.diagnosis(gaps.servqual(sq, bank), gaps.gaps_1_to_4(mg, sq, bank))
    >>> long = gaps.diagnosis_long(diag)
    >>> long.loc[long["dimension"] == "responsiveness", ["gap_key", "sig"]].values.tolist()[:2]
    [['knowledge', True], ['standards', False]]
    """
    need = {"dimension"} | {f"gap{k}" for k in (1, 2, 3, 4, 5)} | {f"gap{k}_p_val" for k in (1, 2, 3, 4, 5)}
    if not isinstance(diag, pd.DataFrame) or not need <= set(diag.columns):
        raise ParamsError("diagnosis_long: diag must be the table returned by diagnosis()")
    parts = []
    for k in (1, 2, 3, 4, 5):
        flag = diag[f"gap{k}_base_flag"] if f"gap{k}_base_flag" in diag.columns else "ok"
        sig = diag[f"gap{k}_sig"] if f"gap{k}_sig" in diag.columns else diag[f"gap{k}_p_val"] < 0.05
        parts.append(pd.DataFrame({
            "dimension": diag["dimension"].to_numpy(), "gap_no": k, "gap_key": GAP_KEYS[k],
            "gap": diag[f"gap{k}"].to_numpy(dtype=float), "p_val": diag[f"gap{k}_p_val"].to_numpy(dtype=float),
            "sig": np.asarray(sig, dtype=bool), "base_flag": flag, "_d": np.arange(len(diag)),
        }))
    out = pd.concat(parts, ignore_index=True).sort_values(["_d", "gap_no"], kind="stable")
    return out.drop(columns="_d").reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class FiveGapResult:
    """Every table of a 5-GAP analysis (see :func:`five_gap_report`).

    A part the study cannot give is None and named in ``skipped`` with the reason, so a report
    can say why it is not there: a study with the customer survey only has no ``gaps14``,
    ``antecedents`` or internal sources in ``diagnosis``; one without adequate/desired questions
    no ``zone``; one without importance points no ``weighted``.

    Attributes
    ----------
    gap5 : DataFrame
        :func:`servqual` (item, dimension and overall rows).
    weighted : DataFrame or None
        :func:`weighted_servqual`; None when the customer survey has no importance columns.
    zone : DataFrame or None
        :func:`zone_of_tolerance`; None when it has no adequate/desired columns.
    reliability : DataFrame
        :func:`reliability` (unweighted).
    gaps14 : DataFrame or None
        :func:`gaps_1_to_4`; None without a management/staff survey.
    antecedents : DataFrame or None
        :func:`antecedents` (unweighted); None without a staff survey or antecedent scales.
    diagnosis : DataFrame
        :func:`diagnosis` with the importance points of ``weighted`` (dimensions counted equally
        without them; gap 5 alone without ``gaps14``).
    actions : DataFrame
        :func:`action_list` (``action_text_en`` and ``action_text_zh``).
    by : tuple of str
        The comparison columns (empty when no comparison was asked for).
    gap5_by, weighted_by, comparisons : DataFrame or None
        :func:`servqual` and :func:`weighted_servqual` per group (respondents without a group
        left out) and :func:`compare_groups` of the ``gap5_by`` dimension and overall rows; None
        without ``by`` (``comparisons`` also None with fewer than two groups).
    bases : dict
        ``customers`` (n, n_eff of the overall gap), ``managers`` (gap 2 pairs, else gap 1's
        managers) and ``staff`` (gap 3 pairs, else gap 4's), each ``{"n": int, "n_eff": float,
        "base_flag": str}``; managers and staff only with a staff survey.
    settings : dict
        ``weight, by, conf, sig_level, min_answered, low_base, scale`` (``(min, max)`` of the
        SERVQUAL answer scale), ``importance_total`` and ``top_actions`` as used.
    warnings : tuple
        ``(category name, message)`` of the workbench warnings raised on the way (low bases,
        rescaled allocations...).
    warning_labels : tuple
        For each entry of ``warnings``, ``(label key, fields)`` or None, for the report to show it
        in its own language.
    skipped : dict
        ``{part: (reason, fields)}`` for each part left out: ``weighted`` and ``zone``
        (``absent``: no such columns; ``incomplete``: some missing, ``fields["missing"]``),
        ``gaps14`` and ``antecedents`` (``no_staff``; antecedents also ``no_scales``),
        ``compare`` (``one_group`` or ``no_groups``).
    """

    gap5: pd.DataFrame
    weighted: pd.DataFrame | None
    zone: pd.DataFrame | None
    reliability: pd.DataFrame
    gaps14: pd.DataFrame | None
    antecedents: pd.DataFrame | None
    diagnosis: pd.DataFrame
    actions: pd.DataFrame
    by: tuple = ()
    gap5_by: pd.DataFrame | None = None
    weighted_by: pd.DataFrame | None = None
    comparisons: pd.DataFrame | None = None
    bases: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    warnings: tuple = ()
    warning_labels: tuple = ()
    skipped: dict = field(default_factory=dict)

    @property
    def has_staff(self):
        """Whether gaps 1-4 were measured (the study has a management/staff survey)."""
        return self.gaps14 is not None

    @property
    def scale(self):
        """``(min, max)`` of the SERVQUAL answer scale."""
        return tuple(self.settings.get("scale", (np.nan, np.nan)))

    def dimension_rows(self, table="gap5"):
        """The ``dimension`` rows of one of the tables (``gap5``, ``zone``, ``weighted``...)."""
        t = self._table(table)
        return t[t["level"] == "dimension"].reset_index(drop=True)

    def item_rows(self, table="gap5"):
        """The ``item`` rows of ``gap5`` or ``zone``."""
        t = self._table(table)
        return t[t["level"] == "item"].reset_index(drop=True)

    def overall(self, table="gap5"):
        """The ``overall`` row of ``gap5``, ``zone`` or ``weighted`` as a Series."""
        t = self._table(table)
        return t[t["level"] == "overall"].iloc[0]

    def _table(self, table):
        t = getattr(self, table)
        if t is None:
            reason = self.skipped.get(table, ("not computed", {}))[0]
            raise ParamsError(f"FiveGapResult: {table!r} is not part of this result ({reason})")
        return t


def _base(row_n, row_neff, rule):
    n_eff = float(row_neff)
    return {"n": int(row_n), "n_eff": n_eff, "base_flag": str(np.atleast_1d(rule.status(n_eff))[0])}


def _role_columns(data, dims, dimensions, role):
    """``(present, missing)`` columns of a measure (its pattern from the codebook when it has one)."""
    pat = _pattern(dimensions, role, _DEFAULT_PATTERN[role])
    if "{item}" in pat:
        names = [pat.format(item=i) for items in dims.values() for i in items]
    else:
        names = [pat.format(dimension=d) for d in dims]
    present = [c for c in names if c in data.columns]
    return present, [c for c in names if c not in data.columns]


def _availability(data, dims, dimensions, roles):
    """None when every column of ``roles`` is in ``data``, else ``(reason, fields)``."""
    present, missing = [], []
    for role in roles:
        p, m = _role_columns(data, dims, dimensions, role)
        present += p
        missing += m
    if not missing:
        return None
    shown = ", ".join(missing[:3])  # a few examples: the note says "such as"
    return ("incomplete" if present else "absent"), {"missing": shown, "n_missing": len(missing)}


def _answer_scale(fn, scale, dimensions, customers, dims):
    """``(min, max)`` of the SERVQUAL answer scale: given, the codebook's, or the data's range."""
    if scale is not None:
        ok = (isinstance(scale, (tuple, list)) and len(scale) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale)
              and scale[0] < scale[1])
        if not ok:
            raise ParamsError(f"{fn}: scale must be (min, max) of the answer scale, e.g. (1, 7), "
                              f"but {scale!r} was passed")
        return float(scale[0]), float(scale[1])
    sq = getattr(dimensions, "servqual", None)
    if sq is not None and getattr(sq, "scale", None) is not None:
        return float(sq.scale.min), float(sq.scale.max)
    cols = [c for role in ("expectation", "perception") for c in _role_columns(customers, dims, dimensions, role)[0]]
    x = _numeric(fn, customers, cols)
    if not np.isfinite(x).any():
        raise DataError(f"{fn}: the expectation and perception columns hold no answers")
    return float(np.floor(np.nanmin(x))), float(np.ceil(np.nanmax(x)))


def _check_top_actions(fn, top_actions):
    if isinstance(top_actions, bool) or not isinstance(top_actions, (int, np.integer)) or top_actions < 1:
        raise ParamsError(f"{fn}: top_actions must be a whole number of at least 1 (how many actions the "
                          f"summary lists under 'what to do first'), but {top_actions!r} was passed")
    return int(top_actions)


_STAFF_MEASURES = ("mgmt_expectation", "specification", "delivery", "promise")


def five_gap_report(
    customers,
    staff,
    dimensions,
    *,
    weight=None,
    by=None,
    conf=0.95,
    min_answered=0.5,
    low_base=DEFAULT_RULE,
    scales=None,
    scale=None,
    top_actions=3,
):
    """Run the whole 5-GAP analysis: gap 5, weighted SERVQUAL, zone of tolerance, reliability,
    gaps 1-4, their antecedents, the diagnosis and the action list (and group comparisons).

    Each part runs when the study has what it needs (see ``FiveGapResult.skipped``): gaps 1-4,
    their antecedents and the internal sources of the diagnosis need ``staff``; the zone of
    tolerance needs the adequate and desired columns, the weighted score the importance columns.

    Parameters
    ----------
    customers : DataFrame
        The SERVQUAL customer survey (expectation and perception columns; adequate, desired and
        importance columns when asked).
    staff : DataFrame or None
        The management/staff survey (gaps 1-4 and the antecedent scales); None or ``""`` when the
        study has none. A measure none of whose columns is in it (e.g. no promise questions) is
        skipped with the gaps that need it.
    dimensions : codebook, ItemBank or dict
        As in :func:`servqual`; a codebook also gives the column patterns, the answer scale, the
        importance total and the antecedent scales.
    weight : str, Series, array or None
        Customer weight; None or ``""`` = unweighted. The staff survey is unweighted.
    by : str, list or None
        Customer column(s) to compare groups on (``""`` = none): adds ``gap5_by``,
        ``weighted_by`` and ``comparisons``.
    conf : float
        Confidence level; significance flags use ``1 - conf``.
    min_answered : float
        As in :func:`servqual`.
    low_base : LowBaseRule
        The low-base rule for every table.
    scales : optional
        Antecedent scales for :func:`antecedents`; default: the codebook's when ``dimensions``
        has them, else the item bank's that are in ``staff``.
    scale : (min, max), optional
        The SERVQUAL answer scale; default: the codebook's ``servqual.scale``, else the whole
        numbers spanning the answers.
    top_actions : int
        How many actions the summary lists first (at least 1); kept in ``settings``.

    Returns
    -------
    FiveGapResult

    Examples
    --------
    >>> import numpy as np
    >>> from workbench import gaps
    >>> from workbench._synth_gaps import make_gaps      # the demo study's 5-GAP surveys
    >>> frames, _ = make_gaps(np.random.default_rng(1))
    >>> res = gaps.five_gap_report(frames["servqual"], frames["mgmt_survey"], gaps.load_item_bank(),
    ...                            weight="design_weight", by="segment")
    >>> res.diagnosis[["dimension", "main_source"]].values.tolist()[1:3]
    [['reliability', 'delivery'], ['responsiveness', 'knowledge']]
    >>> res.bases["managers"]["base_flag"]
    'caution'
    >>> alone = gaps.five_gap_report(frames["servqual"], None, gaps.load_item_bank())
    >>> alone.has_staff, alone.actions["gap_no"].unique().tolist()
    (False, [5])
    """
    fn = "five_gap_report"
    top_actions = _check_top_actions(fn, top_actions)
    _check_data(fn, customers, "customers")
    _check_common(fn, conf, min_answered, low_base)
    if isinstance(staff, str) and staff == "":
        staff = None
    if staff is not None:
        _check_data(fn, staff, "staff")
    weight = None if isinstance(weight, str) and weight == "" else weight
    if isinstance(by, str) and by == "":
        by = None
    by_cols = tuple(_by_list(fn, customers, by)) if by is not None else ()
    dims = _dimension_map(dimensions, fn)
    answer_scale = _answer_scale(fn, scale, dimensions, customers, dims)
    sq_spec = getattr(dimensions, "servqual", None)
    total = float(getattr(sq_spec, "importance_total", 100) or 100)
    skipped = {}
    for part, roles in (("weighted", ("importance",)), ("zone", ("adequate", "desired"))):
        why = _availability(customers, dims, dimensions, roles)
        if why is not None:
            skipped[part] = why
    measures = {}
    if staff is None:
        skipped["gaps14"] = skipped["antecedents"] = ("no_staff", {})
    else:
        for role in _STAFF_MEASURES:
            present, _ = _role_columns(staff, dims, dimensions, role)
            measures[role] = _DEFAULT_PATTERN[role] if present else None  # None: not asked
        if not any(measures.values()):
            example = ", ".join(_role_columns(staff, dims, dimensions, r)[1][0] for r in _STAFF_MEASURES)
            raise DataError(f"{fn}: the staff survey has none of the gap 1-4 columns (e.g. {example}); "
                            "pass staff=None (staff: \"\" in a params file) if the study has no staff survey")
        if scales is None and callable(getattr(dimensions, "antecedents", None)):
            try:
                scales = dimensions if dimensions.antecedents() else None
            except Exception:  # noqa: BLE001 - a codebook without antecedents: the item bank's scales
                scales = None
        if scales is None:
            wanted = load_item_bank("en").antecedent_scales()
        elif callable(getattr(scales, "antecedents", None)):
            wanted = scales.antecedents()
        elif callable(getattr(scales, "antecedent_scales", None)):
            wanted = scales.antecedent_scales()
        else:
            wanted = scales
        if not any(c in staff.columns for items in wanted.values() for c in items):
            skipped["antecedents"] = ("no_scales", {})
    common = {"conf": conf, "min_answered": min_answered, "low_base": low_base}
    weighted = zone = g14 = ante = None
    gap5_by = weighted_by = comparisons = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gap5 = servqual(customers, dimensions, weight=weight, **common)
        if "weighted" not in skipped:
            weighted = weighted_servqual(customers, dimensions, weight=weight, total=total, **common)
        if "zone" not in skipped:
            zone = zone_of_tolerance(customers, dimensions, weight=weight, **common)
        rel = reliability(customers, dimensions, conf=conf)
        if staff is not None:
            g14 = gaps_1_to_4(staff, customers, dimensions, weight=weight, **measures, **common)
            if "antecedents" not in skipped:
                ante = antecedents(staff, scales, conf=conf, min_answered=min_answered, low_base=low_base,
                                   skip_absent=True)
        diag = diagnosis(gap5, g14, importance=weighted, sig_level=1.0 - conf, total=total)
        actions = action_list(diag)
        if by_cols:
            gap5_by = _known_groups(servqual(customers, dimensions, weight=weight, by=list(by_cols), **common),
                                    by_cols)
            if "weighted" not in skipped:
                weighted_by = _known_groups(weighted_servqual(customers, dimensions, weight=weight, total=total,
                                                              by=list(by_cols), **common), by_cols)
            rows = gap5_by[gap5_by["level"] != "item"]
            n_groups = rows[list(by_cols)].drop_duplicates().shape[0]
            if n_groups > 1:
                comparisons = compare_groups(rows, list(by_cols), conf=conf, low_base=low_base)
            elif n_groups == 1:
                skipped["compare"] = ("one_group", {"group": " · ".join(str(v) for v in rows[list(by_cols)].iloc[0])})
            else:
                skipped["compare"] = ("no_groups", {})
    kept, labels = [], []
    for w in caught:
        if issubclass(w.category, WorkbenchWarning):
            kept.append((w.category.__name__, str(w.message)))
            msg = w.message
            labels.append((msg.key, dict(msg.fields)) if isinstance(msg, WorkbenchWarning) and msg.key else None)
        else:  # not ours: let it go where warnings go
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    ov = gap5[gap5["level"] == "overall"].iloc[0]
    bases = {"customers": _base(ov["n"], ov["n_eff"], low_base)}
    if g14 is not None:
        for name, nos in (("managers", (2, 1)), ("staff", (3, 4))):
            for no in nos:
                r = g14[(g14["gap_no"] == no) & (g14["level"] == "overall")]
                if len(r):
                    bases[name] = _base(r["n_achieved"].iloc[0], r["n_eff"].iloc[0] if no != 1
                                        else r["n_achieved"].iloc[0], low_base)
                    break
    settings = {"weight": weight if isinstance(weight, str) or weight is None else "(values)",
                "by": list(by_cols), "conf": conf, "sig_level": 1.0 - conf, "min_answered": min_answered,
                "low_base": {"caution": low_base.caution, "min_test": low_base.min_test},
                "scale": answer_scale, "importance_total": total, "top_actions": top_actions}
    return FiveGapResult(
        gap5=gap5, weighted=weighted, zone=zone, reliability=rel, gaps14=g14, antecedents=ante,
        diagnosis=diag, actions=actions, by=by_cols, gap5_by=gap5_by, weighted_by=weighted_by,
        comparisons=comparisons, bases=bases, settings=settings, warnings=tuple(kept),
        warning_labels=tuple(labels), skipped=skipped,
    )


def _known_groups(table, by_cols):
    """A by-table without the group of respondents whose group is missing (NaN)."""
    keep = table[list(by_cols)].notna().all(axis=1)
    return table[keep].reset_index(drop=True)
