"""Private helpers of :mod:`workbench.sampling`.

Argument checks that name the parameter, broadcasting of scalar/array inputs, the finite-population
factor, the box-constrained allocation solver, largest-remainder rounding and atomic file writes.

Why written here rather than taken from a library: the allocation solver and the rounding are a
few lines of numpy each, and no maintained Python package offers box-constrained Neyman/optimal
allocation with exact integer totals (R's ``stratification``/``SamplingStrata`` are R-only).
"""

from __future__ import annotations

import os
import uuid
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from workbench.errors import ParamsError

FPC_CONVENTIONS = ("cochran", "simple")
ALTERNATIVES = ("two-sided", "one-sided")


# --------------------------------------------------------------------------------------------
# scalars and arrays
# --------------------------------------------------------------------------------------------
def as_float_array(name, value):
    """Convert ``value`` to a float ndarray, naming ``name`` when it is not numeric."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParamsError(f"`{name}` must be a number or an array of numbers, got {value!r}") from None
    if np.isnan(arr).any():
        raise ParamsError(f"`{name}` must not contain missing values (NaN), got {value!r}")
    return arr


def check_range(name, arr, lo=None, hi=None, *, lo_open=False, hi_open=False, allow_inf=False):
    """Raise ParamsError naming ``name`` if any element of ``arr`` lies outside the interval."""
    a = np.asarray(arr, dtype=float)
    bad = np.zeros(a.shape, dtype=bool)
    if not allow_inf:
        bad |= ~np.isfinite(a)
    if lo is not None:
        bad |= (a <= lo) if lo_open else (a < lo)
    if hi is not None:
        bad |= (a >= hi) if hi_open else (a > hi)
    if bad.any():
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        first = a[bad].ravel()[0]
        raise ParamsError(f"`{name}` must lie in {left}{lo_s}, {hi_s}{right}, got {first!r}")


def check_choice(name, value, options):
    if value not in options:
        raise ParamsError(
            f"The value for `{name}` must be one of {list(options)}, but {value!r} was passed."
        )


def out(x):
    """Return a Python float for 0-d results, the ndarray otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def z_value(conf, tside=2):
    """Normal quantile for confidence ``conf`` with ``tside`` tails (2 = two-sided)."""
    conf = as_float_array("conf", conf)
    check_range("conf", conf, 0, 1, lo_open=True, hi_open=True)
    return norm.isf((1.0 - conf) / tside)


def population_array(population, fpc):
    """Validated population (None -> inf) and the fpc convention."""
    check_choice("fpc", fpc, FPC_CONVENTIONS)
    if population is None:
        return np.asarray(np.inf)
    pop = as_float_array("population", population)
    check_range("population", pop, 1, None, lo_open=True, allow_inf=True)
    return pop


def fpc_factor(n, population, fpc):
    """Finite-population factor on the variance of a mean: (N-n)/(N-1) or (N-n)/N; 1 if N=inf."""
    n = np.asarray(n, dtype=float)
    pop = np.asarray(population, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if fpc == "cochran":
            f = (pop - n) / (pop - 1.0)
        else:
            f = (pop - n) / pop
    return np.where(np.isinf(pop), 1.0, f)


def apply_fpc(n0, population, fpc):
    """Sample size from the infinite-population size ``n0`` (already inflated by deff)."""
    n0 = np.asarray(n0, dtype=float)
    pop = np.asarray(population, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if fpc == "cochran":  # n0 / (1 + (n0 - 1)/N)
            n = n0 * pop / (pop + n0 - 1.0)
        else:  # n0 / (1 + n0/N)
            n = n0 * pop / (pop + n0)
    return np.where(np.isinf(pop), n0, n)


# --------------------------------------------------------------------------------------------
# strata frames
# --------------------------------------------------------------------------------------------
def key_columns(strata, by):
    """Return (keys DataFrame, key names, using_index) for a strata table."""
    if not isinstance(strata, pd.DataFrame):
        raise ParamsError(f"`strata` must be a pandas DataFrame, got {type(strata).__name__}")
    if strata.empty:
        raise ParamsError("`strata` has no rows; expected one row per stratum")
    if by is None:
        names = [nm if nm is not None else ("stratum" if strata.index.nlevels == 1 else f"level_{i}")
                 for i, nm in enumerate(strata.index.names)]
        keys = strata.index.to_frame(index=False)
        keys.columns = names
        using_index = True
    else:
        names = [by] if isinstance(by, str) else list(by)
        missing = [c for c in names if c not in strata.columns]
        if missing:
            raise ParamsError(
                f"`by` names column(s) {missing} that are not in `strata`; "
                f"columns are {list(strata.columns)}"
            )
        keys = strata[names].reset_index(drop=True)
        using_index = False
    dup = keys.duplicated(keep=False)
    if dup.any():
        raise ParamsError(
            f"the stratum keys {names} must be unique; duplicated: "
            f"{stratum_labels(keys[dup], names)[:5]}"
        )
    return keys, names, using_index


def stratum_labels(keys, names):
    """Human-readable stratum names, e.g. ``brand=delta, region=north``."""
    vals = keys[names].astype(object).to_numpy()
    return [", ".join(f"{nm}={v}" for nm, v in zip(names, row)) for row in vals]


def per_stratum(strata, value, name, *, default=None):
    """A per-stratum float array from a column name, a scalar or an array-like."""
    H = len(strata)
    if value is None:
        return None if default is None else np.full(H, float(default))
    if isinstance(value, str):
        if value not in strata.columns:
            raise ParamsError(
                f"`{name}` names column {value!r}, which is not in `strata`; "
                f"columns are {list(strata.columns)}"
            )
        col = strata[value]
        try:
            arr = col.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ParamsError(f"column {value!r} (`{name}`) must be numeric, got {col.dtype}") from None
        if np.isnan(arr).any():
            raise ParamsError(f"column {value!r} (`{name}`) has missing values")
        return arr
    if isinstance(value, Real) and not isinstance(value, bool):
        return np.full(H, float(value))
    arr = as_float_array(name, value)
    if arr.shape != (H,):
        raise ParamsError(
            f"`{name}` must be a column name, a number or one value per stratum ({H}), "
            f"got shape {arr.shape}"
        )
    return arr


# --------------------------------------------------------------------------------------------
# allocation under box constraints
# --------------------------------------------------------------------------------------------
def box_allocation(a, lower, upper, n):
    """Continuous allocation ``x_h = clip(lam * a_h, lower_h, upper_h)`` with ``sum x = n``.

    This is the fixed point of "allocate in proportion to ``a``, fix the strata that break a
    bound at that bound, reallocate the rest" and, for ``a_h = N_h S_h / sqrt(c_h)``, the exact
    minimiser of the stratified variance under box constraints (KKT conditions; Gabler,
    Ganninger & Muennich 2012).  ``g(lam) = sum clip(lam a, l, u)`` is piecewise linear and
    non-decreasing, so ``lam`` is found exactly between two breakpoints.

    Returns (x, lam).  The caller checks feasibility (lower <= upper, sum(lower) <= n).
    """
    a = np.asarray(a, dtype=float)
    lo = np.asarray(lower, dtype=float)
    up = np.asarray(upper, dtype=float)
    pos = a > 0
    if not pos.any():
        raise ParamsError("every stratum has a zero size measure; nothing to allocate in proportion to")
    bps = np.unique(np.concatenate([[0.0], lo[pos] / a[pos], up[pos] / a[pos]]))
    g = np.clip(bps[:, None] * a[None, :], lo, up).sum(axis=1)
    if n > g[-1] * (1 + 1e-12):
        return None, None
    k = int(np.searchsorted(g, n, side="left"))
    if k == 0:
        lam = 0.0
    elif k >= len(bps):
        lam = bps[-1]
    else:
        mid = 0.5 * (bps[k - 1] + bps[k])
        free = pos & (mid * a > lo) & (mid * a < up)
        slope = a[free].sum()
        lam = bps[k - 1] + (n - g[k - 1]) / slope
    x = np.clip(lam * a, lo, up)
    # remove floating-point drift so that sum(x) == n before rounding
    free = (x > lo) & (x < up)
    drift = n - x.sum()
    if free.any() and drift != 0:
        x[free] += drift * a[free] / a[free].sum()
        x = np.clip(x, lo, up)
    return x, lam


def largest_remainder(x, total, upper=None):
    """Integers summing to ``total``: floor(x) plus one unit to the largest remainders (Hamilton).

    Ties are broken by row order.  Units are never given where ``floor(x) + 1 > upper``.
    """
    x = np.asarray(x, dtype=float)
    base = np.floor(x + 1e-9)  # 37.9999999999 -> 38 instead of 37 + remainder
    rem = x - base
    k = int(round(total - base.sum()))
    if k < 0:  # only possible through the 1e-9 snap; take back from the smallest remainders
        order = np.lexsort((np.arange(len(x)), rem))
        base[order[:-k]] -= 1
        return base.astype(np.int64)
    eligible = np.ones(len(x), dtype=bool) if upper is None else base + 1 <= np.asarray(upper) + 1e-9
    order = np.lexsort((np.arange(len(x)), -rem))
    order = order[eligible[order]]
    if k > len(order):
        raise ParamsError(f"cannot round the allocation to a total of {total}; bounds too tight")
    base[order[:k]] += 1
    return base.astype(np.int64)


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def atomic_write(path, write):
    """Call ``write(tmp_path)`` then move the file into place with ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
