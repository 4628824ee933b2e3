"""Private helpers shared by :mod:`workbench.metrics` and :mod:`workbench.weighting`.

Input checks (columns, scores, weights), fast grouping by integer codes, and the domain moments
from which every design-based estimate and its linearised variance is computed.

Grouping
--------
``pandas.DataFrame.groupby`` is convenient but slow on tens of millions of rows.  Here every
``by`` column becomes integer codes (categorical codes as they are, small-range integers by
offset, anything else through :func:`pandas.factorize`), the codes are combined into one group
number by mixed-radix arithmetic, and sums are taken with :func:`numpy.bincount`.  Rows with a
missing value in a ``by`` column get the extra group number ``size`` and are dropped from the
output (they remain part of the design).

Moments
-------
For a domain ``g`` (a group, restricted to rows whose score is not missing) and a variable ``y``
with weights ``w``::

    W   = sum w            W2 = sum w^2             m = sum(w y) / W
    A   = sum w^2 (y - m)^2                         B = sum w^2 (y - m)

The with-replacement (one stage, no strata) linearisation variance of the ratio mean ``m`` is
``N / (N - 1) * A / W^2`` where ``N`` is the number of rows of the whole design (R:
``survey::svyrecvar`` pads a domain's influence values with zeros up to the number of PSUs; the
influence values of a domain ratio mean sum to zero, so the centring term vanishes).  ``B`` lets
disjoint domains be pooled exactly without a second pass over the data (see
:func:`pool_moments`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_integer_dtype,
    is_numeric_dtype,
)
from scipy import stats

from workbench.errors import DataError, ParamsError
from workbench.lowbase import DEFAULT_RULE, LowBaseRule

__all__: list[str] = []

#: Product spaces of group codes larger than this are compressed to the observed groups.
_MAX_DENSE_GROUPS = 1 << 22


# --------------------------------------------------------------------------- small checks
def show_values(values, limit=5):
    """Short, readable list of values for error messages."""
    values = list(values)
    head = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in values[:limit])
    return head + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def check_frame(data, what="data"):
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"`{what}` must be a pandas DataFrame with one row per respondent, "
            f"but {type(data).__name__} was passed."
        )


def check_columns(data, columns, role):
    """Raise DataError naming every column of ``columns`` that ``data`` lacks."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"{role} column(s) {show_values(missing)} not found in the data; "
            f"available columns: {show_values(data.columns, 12)}."
        )


def as_list(by, what="by"):
    if by is None:
        return []
    if isinstance(by, (str, int)) or not np.iterable(by):
        cols = [by]
    else:
        cols = list(by)
    if len(set(cols)) != len(cols):
        raise ParamsError(f"`{what}` lists a column more than once: {show_values(cols)}.")
    return cols


def conf_quantile(conf):
    """Two-sided normal quantile for confidence level ``conf`` (R: ``qnorm((1 + conf) / 2)``)."""
    if not isinstance(conf, (int, float, np.floating)) or not 0 < conf < 1:
        raise ParamsError(f"`conf` must be a number between 0 and 1 (e.g. 0.95), but {conf!r} was passed.")
    return float(stats.norm.ppf(0.5 + conf / 2.0))


def get_rule(rule):
    if rule is None:
        return DEFAULT_RULE
    if not isinstance(rule, LowBaseRule):
        raise ParamsError(
            f"`rule` must be a workbench.lowbase.LowBaseRule (or None for the default), "
            f"but {type(rule).__name__} was passed."
        )
    return rule


def show_rows(data_index, mask, limit=5):
    return show_values(np.asarray(data_index)[np.flatnonzero(mask)], limit)


def float_column(data, column, role="score"):
    """The column as float64 (NaN = missing; no copy when it already is float64)."""
    check_columns(data, [column], role)
    col = data[column]
    if isinstance(col, pd.DataFrame):
        raise DataError(f"{role} column {column!r} appears more than once in the data.")
    if isinstance(col.dtype, pd.CategoricalDtype) or is_bool_dtype(col.dtype) or not is_numeric_dtype(col.dtype):
        example = col.dropna()
        example = f" (e.g. {example.iloc[0]!r})" if len(example) else ""
        raise DataError(
            f"{role} column {column!r} must be numeric, but has dtype {col.dtype}{example}; "
            "convert it (e.g. with pandas.to_numeric) or map its labels to codes first."
        )
    if col.dtype == np.float64:
        return col.to_numpy()
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def numeric_column(data, column, role="score"):
    """``(values, lowest, highest)`` of a numeric column, ignoring NaN; DataError if infinite."""
    values = float_column(data, column, role)
    if not len(values):
        return values, np.nan, np.nan
    lo, hi = np.fmin.reduce(values), np.fmax.reduce(values)
    if np.isinf(lo) or np.isinf(hi):
        bad = np.isinf(values)
        raise DataError(f"{role} column {column!r} has infinite values in rows {show_rows(data.index, bad)}.")
    return values, lo, hi


def weight_array(data, weight, role="weight"):
    """Validated weights as float64 (None when ``weight`` is None).

    ``weight`` is a column name, or an array / Series of one value per row (a Series must carry
    the same index as ``data``).  Weights must be finite and non-negative.
    """
    if weight is None:
        return None
    if isinstance(weight, str):
        w = float_column(data, weight, role)
        name = repr(weight)
    else:
        if isinstance(weight, pd.Series):
            if not weight.index.equals(data.index):
                raise DataError(
                    f"{role} Series must have the same index as the data (one weight per row)."
                )
        try:
            w = np.asarray(weight, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{role} values must be numeric: {exc}") from None
        if w.shape != (len(data),):
            raise DataError(
                f"{role} must be a column name or one value per row ({len(data)}), "
                f"but an array of shape {w.shape} was passed."
            )
        name = "(array)"
    if len(w):
        lo, hi = w.min(), w.max()  # NaN propagates through min/max
        if not (lo >= 0 and np.isfinite(hi)):
            bad = ~(np.isfinite(w) & (w >= 0))
            found = "missing" if np.isnan(w[bad]).all() else "negative, missing or infinite"
            raise DataError(
                f"{role} {name} must be finite and non-negative, but has {found} values in rows "
                f"{show_rows(data.index, bad)}."
            )
    return w


# --------------------------------------------------------------------------- grouping
#: Rows per block in the chunked passes: the temporaries of a block stay in the CPU cache.
CHUNK = 1 << 16


@dataclass
class Groups:
    """Group numbers of the rows (``size`` means "in no group") and how to label them.

    The group number of a row is the mixed-radix number of its ``by`` codes; it is computed block
    by block (:meth:`block`) so that callers can stream over the data, or for every row at once
    (:attr:`codes`).
    """

    size: int
    columns: list
    n: int = 0
    _parts: list = field(repr=False, default_factory=list)  # per column: (array, may have -1)
    _radix: tuple = ()
    _offset: int = 0  # subtracted from the mixed-radix sum of the raw arrays
    _labels: list = field(repr=False, default_factory=list)  # per column: (kind, payload)
    _observed: tuple | None = None  # compressed spaces: per column, the code of each group
    _full: np.ndarray | None = None  # compressed spaces: group number per row

    def block(self, i, j):
        """Group numbers of rows ``i:j`` (a new int64 array), or None without ``by``."""
        if not self.columns:
            return None
        if self._full is not None:
            return self._full[i:j].copy()
        comb = miss = None
        for (arr, may_miss), r in zip(self._parts, self._radix):
            c = arr[i:j]
            if may_miss:
                m = c < 0
                miss = m if miss is None else (miss | m)
            if comb is None:
                comb = c.astype(np.int64)
            else:
                comb *= r
                comb += c
        if self._offset:
            comb -= self._offset
        if miss is not None:
            comb[miss] = self.size
        return comb

    @property
    def codes(self):
        """Group number of every row (None without ``by``)."""
        return self.block(0, self.n)

    def keys(self, idx):
        """DataFrame of the ``by`` values of groups ``idx`` (RangeIndex)."""
        idx = np.asarray(idx, dtype=np.int64)
        frame = pd.DataFrame(self.key_columns(idx))
        frame.index = pd.RangeIndex(len(idx))
        return frame

    def key_columns(self, idx):
        """Dict of the ``by`` values of groups ``idx`` (column name -> values)."""
        idx = np.asarray(idx, dtype=np.int64)
        if not self.columns:
            return {}
        if self._observed is not None:
            parts = tuple(obs[idx] for obs in self._observed)
        else:
            parts = np.unravel_index(idx, self._radix)
        out = {}
        for col, (kind, payload), code in zip(self.columns, self._labels, parts):
            if kind == "cat":
                out[col] = pd.Categorical.from_codes(code, dtype=payload)
            elif kind == "int":
                lo, dtype = payload
                out[col] = (code + lo).astype(dtype)
            else:
                out[col] = payload.take(code)
        return out


def _column_codes(col):
    """(array, offset, may hold -1 for missing), number of levels, and how to label a code."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        may_miss = bool(len(codes)) and codes.min() < 0
        return codes, 0, may_miss, len(dtype.categories), ("cat", dtype)
    if is_integer_dtype(dtype) and isinstance(dtype, np.dtype) and len(col):
        arr = col.to_numpy()
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < max(4 * len(arr), 1 << 16):
            return arr, lo, False, hi - lo + 1, ("int", (lo, dtype))
    codes, uniques = pd.factorize(col, sort=True, use_na_sentinel=True)
    if not isinstance(uniques, pd.Index):
        uniques = pd.Index(uniques)
    may_miss = bool(len(codes)) and codes.min() < 0
    return codes, 0, may_miss, len(uniques), ("take", uniques)


def group_codes(data, by, reserved=()):
    """Group the rows of ``data`` by the columns ``by`` (None, a name or a list of names)."""
    cols = as_list(by)
    check_columns(data, cols, "by")
    clash = [c for c in cols if c in reserved]
    if clash:
        raise ParamsError(
            f"by column(s) {show_values(clash)} have the same name as result columns; rename them first."
        )
    n = len(data)
    if not cols:
        return Groups(size=1, columns=[], n=n)
    parts, labels, radix, offsets = [], [], [], []
    for c in cols:
        arr, off, may_miss, k, label = _column_codes(data[c])
        parts.append((arr, may_miss))
        labels.append(label)
        radix.append(max(k, 1))
        offsets.append(off)
    offset = 0
    for off, r in zip(offsets, radix):
        offset = offset * r + off
    size = int(np.prod(radix, dtype=object))
    groups = Groups(size=size, columns=cols, n=n, _parts=parts, _radix=tuple(radix),
                    _offset=offset, _labels=labels)
    if size > max(_MAX_DENSE_GROUPS, 4 * n):
        # too many possible combinations for a dense table: number the observed ones
        codes = [np.asarray(a, dtype=np.int64) - o for (a, _), o in zip(parts, offsets)]
        valid = np.ones(n, bool)
        for (a, may_miss), c in zip(parts, codes):
            if may_miss:
                valid &= c >= 0
        tuples = pd.MultiIndex.from_arrays([c[valid] for c in codes])
        comp, uniq = tuples.factorize(sort=True)
        full = np.full(n, len(uniq), dtype=np.int64)
        full[valid] = comp
        groups.size = len(uniq)
        groups._observed = tuple(np.asarray(uniq.get_level_values(i), dtype=np.int64) for i in range(len(cols)))
        groups._full = full
    return groups


# --------------------------------------------------------------------------- moments
@dataclass
class Moments:
    """Per-domain sums (see the module docstring). Arrays have one entry per domain."""

    n: np.ndarray  # respondents with a score and a positive weight
    w: np.ndarray  # sum of weights
    w2: np.ndarray  # sum of squared weights
    est: np.ndarray  # weighted mean (NaN where w == 0)
    a: np.ndarray  # sum w^2 (y - est)^2
    b: np.ndarray  # sum w^2 (y - est)
    present: np.ndarray  # the domain's group has at least one row (score missing or not)
    shares: np.ndarray | None = None  # (domains, categories) weighted category shares

    def var(self, design_n):
        """Linearised with-replacement variance of ``est`` (R ``svymean`` on a domain)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            f = design_n / (design_n - 1.0) if design_n > 1 else np.nan
            return np.where(self.w > 0, f * self.a / self.w**2, np.nan)

    def n_eff(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.w2 > 0, self.w**2 / self.w2, 0.0)


def categorical_moments(y, categorize, values, groups, weights):
    """Moments of a score recoded to categories with values ``values``, per group.

    ``categorize(block)`` maps a block of scores to int8 category numbers ``0..len(values)-1``,
    and ``len(values)`` for a missing score.  The data are streamed in blocks of :data:`CHUNK`
    rows; per group and category the count and the sums of ``w`` and ``w^2`` are accumulated, so
    ``A`` and ``B`` are exact sums of non-negative terms (no cancellation).
    """
    values = np.asarray(values, dtype=np.float64)
    k = len(values) + 1  # with the "missing" category
    size = groups.size + 1  # with the "no group" bin
    length = size * k
    n = len(y)
    rows = np.zeros(length, dtype=np.int64)
    pos_rows = None
    if weights is not None:
        sw = np.zeros(length)
        sw2 = np.zeros(length)
        if not weights.min() > 0:
            pos_rows = np.zeros(length, dtype=np.int64)
    for i in range(0, n, CHUNK):
        j = min(i + CHUNK, n)
        cat = categorize(y[i:j])
        key = groups.block(i, j)
        if key is None:
            key = cat
        else:
            key *= k
            key += cat
        rows += np.bincount(key, minlength=length)
        if weights is not None:
            wc = weights[i:j]
            sw += np.bincount(key, weights=wc, minlength=length)
            sw2 += np.bincount(key, weights=wc * wc, minlength=length)
            if pos_rows is not None:
                pos_rows += np.bincount(key[wc > 0], minlength=length)
    rows = rows.reshape(size, k)[:-1]
    if weights is None:
        cnt = rows
        sw = rows.astype(np.float64)
        sw2 = sw
    else:
        cnt = rows if pos_rows is None else pos_rows.reshape(size, k)[:-1]
        sw = sw.reshape(size, k)[:-1]
        sw2 = sw2.reshape(size, k)[:-1]
    cnt, sw, sw2 = cnt[:, :-1], sw[:, :-1], sw2[:, :-1]
    w = sw.sum(axis=1)
    w2 = sw2.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = sw / w[:, None]
        est = (sw @ values) / w
    dev = values[None, :] - np.where(w > 0, est, 0.0)[:, None]
    a = (sw2 * dev**2).sum(axis=1)
    b = (sw2 * dev).sum(axis=1)
    return Moments(n=cnt.sum(axis=1).astype(np.int64), w=w, w2=w2, est=est, a=a, b=b,
                   present=rows.sum(axis=1) > 0, shares=shares)


def continuous_moments(y, groups, weights):
    """Moments of a continuous score ``y`` (NaN = missing) per group; two passes over the data."""
    size = groups.size + 1
    miss = np.isnan(y)
    base = groups.codes if groups.codes is not None else np.zeros(len(y), dtype=np.int64)
    present = np.bincount(base, minlength=size)[:-1] > 0
    code = np.where(miss, groups.size, base)
    yz = np.where(miss, 0.0, y)
    if weights is None:
        cnt = np.bincount(code, minlength=size)
        w = cnt.astype(np.float64)
        w2 = w
        sy = np.bincount(code, weights=yz, minlength=size)
    else:
        pos = weights > 0
        cnt = np.bincount(code[pos], minlength=size) if not pos.all() else np.bincount(code, minlength=size)
        w = np.bincount(code, weights=weights, minlength=size)
        w2 = np.bincount(code, weights=weights * weights, minlength=size)
        sy = np.bincount(code, weights=weights * yz, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = sy / w
    centre = np.where(w > 0, est, 0.0)
    dev = np.where(miss, 0.0, yz - centre[code])
    wdev = dev if weights is None else weights * weights * dev
    a = np.bincount(code, weights=wdev * dev, minlength=size)
    b = np.bincount(code, weights=wdev, minlength=size)
    return Moments(n=cnt[:-1].astype(np.int64), w=w[:-1], w2=w2[:-1], est=est[:-1], a=a[:-1],
                   b=b[:-1], present=present)


def pool_moments(m, members):
    """Moments of unions of disjoint domains.

    ``members`` is a boolean matrix (unions x domains).  With ``m_U = sum(S_g) / sum(W_g)``,
    ``A_U = sum_g [A_g + 2 (m_g - m_U) B_g + (m_g - m_U)^2 W2_g]`` and
    ``B_U = sum_g [B_g + (m_g - m_U) W2_g]`` -- exact, and free of cancellation because every
    term is built from deviations.
    """
    members = np.asarray(members, dtype=bool)
    mf = members.astype(np.float64)
    w = mf @ m.w
    w2 = mf @ m.w2
    est_g = np.where(m.w > 0, m.est, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (mf @ (m.w * est_g)) / w
    d = est_g[None, :] - np.where(w > 0, est, 0.0)[:, None]
    d = np.where(members & (m.w > 0)[None, :], d, 0.0)
    a = (mf * m.a[None, :]).sum(axis=1) + (2 * d * m.b[None, :] + d**2 * m.w2[None, :]).sum(axis=1)
    b = (mf * m.b[None, :]).sum(axis=1) + (d * m.w2[None, :]).sum(axis=1)
    shares = None
    if m.shares is not None:
        sw = np.where(m.w[:, None] > 0, m.shares * m.w[:, None], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = (mf @ sw) / w[:, None]
    return Moments(n=members.astype(np.int64) @ m.n, w=w, w2=w2, est=est, a=a, b=b,
                   present=(members & m.present[None, :]).any(axis=1), shares=shares)
