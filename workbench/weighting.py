"""Survey weighting: raking (iterative proportional fitting), bounded raking, trimming, efficiency.

* :func:`rake` adjusts base (design) weights so that the weighted sample matches population
  margins of several variables at once -- R's ``survey::rake`` / ``calibrate(calfun = "raking")``.
  With ``bounds`` the ratio of final to base weight is kept within ``[lo, hi]`` (R's
  ``calibrate(calfun = "raking", bounds = c(lo, hi))``, "truncated raking").
* :func:`trim` caps extreme weights and spreads the trimmed amount over the other respondents
  (R's ``survey::trimWeights``).
* :func:`efficiency` and :func:`efficiency_table` report Kish's design effect of weighting.

Formulas and references: ``docs/methods/weighting.md``.

Build or borrow
---------------
Written here in vectorised numpy rather than borrowed: ``weightipy`` cannot start from base
(design) weights, ``balance`` pins older numpy/pandas, and ``svy`` was about 40 times slower.
Raking only depends on the base-weight totals of the cells of the raking variables' cross
classification, so the iterations run on that small table (usually tens to thousands of cells)
and the respondents' weights are filled in once at the end -- the same fixed point as
row-by-row IPF, reached in a fraction of the time.  Results are checked against R's ``survey``
package in ``tests/test_weighting.py`` (reference weights in ``tests/results/``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from workbench import _survey as sv
from workbench.errors import ConvergenceWarning, DataError, ParamsError

__all__ = ["rake", "trim", "efficiency", "efficiency_table"]

#: Relative curvature given to cells at a bound in the bounded-raking Newton matrix.
_BOUND_CURVATURE = 1e-2

#: Margins whose values sum to 1 within this relative tolerance are shares; totals of different
#: variables must agree within it.
_SUM_TOL = 1e-9


# --------------------------------------------------------------------------- margins and cells
def _check_margins(margins):
    if not isinstance(margins, Mapping) or not margins:
        raise ParamsError(
            "`margins` must be a non-empty mapping {column: {level: share or total}}, "
            f"but {type(margins).__name__} was passed."
        )
    out = {}
    for var, targets in margins.items():
        if isinstance(targets, pd.Series):
            targets = targets.to_dict()
        if not isinstance(targets, Mapping) or not targets:
            raise ParamsError(
                f"margins[{var!r}] must be a non-empty mapping {{level: share or total}}, "
                f"but {type(targets).__name__} was passed."
            )
        levels = list(targets)
        try:
            values = np.array([float(targets[k]) for k in levels])
        except (TypeError, ValueError):
            raise ParamsError(
                f"margins[{var!r}] must map levels to numbers; found {sv.show_values(targets.values())}."
            ) from None
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise ParamsError(
                f"margins[{var!r}] must be finite and non-negative; level(s) "
                f"{sv.show_values([lv for lv, b in zip(levels, bad) if b])} have {sv.show_values(values[bad])}."
            )
        if values.sum() <= 0:
            raise ParamsError(f"margins[{var!r}] are all zero.")
        out[var] = (levels, values)
    return out


def _scaled_targets(margins, base_total):
    """Shares -> totals scaled to the base weights' total; totals must agree across variables."""
    sums = {v: vals.sum() for v, (_, vals) in margins.items()}
    if all(abs(s - 1.0) <= _SUM_TOL for s in sums.values()):
        total = base_total
    else:
        first = next(iter(sums.values()))
        if any(abs(s - first) > _SUM_TOL * first for s in sums.values()):
            listing = ", ".join(f"{v!r}: {s:.10g}" for v, s in sums.items())
            raise DataError(
                "margins are inconsistent: shares must sum to 1 for every variable, and totals "
                f"must agree across variables, but the margins sum to {listing}."
            )
        total = first
    # rescale each variable exactly to the common total (differences are within _SUM_TOL)
    return {v: (lv, vals * (total / vals.sum())) for v, (lv, vals) in margins.items()}, total


def _raking_codes(data, var, levels, targets, base):
    """Row codes into the target levels of one raking variable, with its checks."""
    col = data[var]
    miss = col.isna().to_numpy()
    if miss.any():
        raise DataError(
            f"raking variable {var!r} has missing values in rows {sv.show_rows(data.index, miss)}; "
            "give them a level (e.g. 'unknown') with its own target, or impute them first."
        )
    codes, uniques = pd.factorize(col, sort=False)
    uniques = list(uniques)
    lookup = {}
    for i, lv in enumerate(levels):
        lookup.setdefault(lv, i)
    plain = [u.item() if isinstance(u, np.generic) else u for u in uniques]
    idx = np.array([lookup.get(u, -1) for u in plain], dtype=np.int64)
    if (idx < 0).any():
        extra = [u for u, i in zip(uniques, idx) if i < 0]
        kinds = sorted({type(u).__name__ for u in uniques})
        tkinds = sorted({type(lv).__name__ for lv in levels})
        hint = ""
        if kinds != tkinds:
            hint = f" (the data's levels are {', '.join(kinds)}, the targets' {', '.join(tkinds)})"
        raise DataError(
            f"raking variable {var!r}: data level(s) {sv.show_values(extra)} have no target; targets are "
            f"given for {sv.show_values(levels)}{hint}."
        )
    row_lev = idx[codes]
    pos_total = np.bincount(row_lev, weights=base, minlength=len(levels))
    counts = np.bincount(row_lev, minlength=len(levels))
    empty = (pos_total <= 0) & (targets > 0)
    if empty.any():
        raise DataError(
            f"raking variable {var!r}: target level(s) "
            f"{sv.show_values([levels[i] for i in np.flatnonzero(empty)])} "
            "have no respondents (with a positive base weight); merge them with a neighbouring level."
        )
    zero_hit = (targets <= 0) & (counts > 0)
    if zero_hit.any():
        raise DataError(
            f"raking variable {var!r}: level(s) "
            f"{sv.show_values([levels[i] for i in np.flatnonzero(zero_hit)])} have a target of 0 but "
            "respondents in the data; drop those respondents or give a positive target."
        )
    return row_lev


def _cells(level_codes, sizes, base):
    """Cross-classification cells: row -> cell, cell -> level per variable, base total per cell."""
    n = len(base)
    combined = level_codes[0].astype(np.int64)
    for codes, k in zip(level_codes[1:], sizes[1:]):
        combined = combined * k + codes
    space = int(np.prod(sizes, dtype=object))
    if space <= max(4 * n, 1 << 22):
        present = np.bincount(combined, minlength=space) > 0
        cell_ids = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        row_cell = remap[combined]
    else:
        row_cell, cell_ids = pd.factorize(combined, sort=True)
        cell_ids = np.asarray(cell_ids, dtype=np.int64)
    cell_levels = np.unravel_index(cell_ids, sizes)
    cell_base = np.bincount(row_cell, weights=base, minlength=len(cell_ids))
    return row_cell, [np.asarray(c, dtype=np.int64) for c in cell_levels], cell_base


def _margin_gap(cell_levels, cell_w, targets):
    """Largest relative gap |achieved / target - 1| over all levels with a positive target."""
    worst, where = 0.0, None
    for v, (lv, t) in enumerate(targets):
        got = np.bincount(cell_levels[v], weights=cell_w, minlength=len(t))
        pos = t > 0
        gap = np.abs(got[pos] / t[pos] - 1.0)
        if gap.size and gap.max() > worst:
            worst = float(gap.max())
            where = (v, lv[np.flatnonzero(pos)[np.argmax(gap)]])
    return worst, where


# --------------------------------------------------------------------------- solvers
def _ipf(cell_levels, cell_base, targets, max_iter, tol):
    f = cell_base.copy()
    gap, where = _margin_gap(cell_levels, f, targets)
    it = 0
    while gap > tol and it < max_iter:
        it += 1
        for v, (_, t) in enumerate(targets):
            got = np.bincount(cell_levels[v], weights=f, minlength=len(t))
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(got > 0, t / got, 1.0)
            f *= ratio[cell_levels[v]]
        gap, where = _margin_gap(cell_levels, f, targets)
    return f, gap, where, it


def _bounded(cell_levels, cell_base, targets, bounds, max_iter, tol):
    """Truncated raking: damped Newton on the convex dual (R's ``grake`` plus a line search).

    Solves ``sum_c W_c g(x_c' eta) x_c = t`` with ``g(u) = clip(exp(u), lo, hi)`` and ``x_c`` the
    intercept and the dummies of all but the first level of each variable (R's model matrix).
    The equations are the gradient of the convex function
    ``phi(eta) = sum_c W_c G(x_c' eta) - t' eta`` with ``G' = g``; each Newton step is shortened
    until ``phi`` decreases enough (Armijo), so the iteration cannot cycle where bounds bind.
    """
    lo, hi = bounds
    a = np.log(lo) if lo > 0 else -np.inf
    b = np.log(hi) if np.isfinite(hi) else np.inf
    cols = [np.ones(len(cell_base))]
    t = [targets[0][1].sum()]
    for v, (_, tv) in enumerate(targets):
        for j in range(1, len(tv)):
            cols.append((cell_levels[v] == j).astype(np.float64))
            t.append(tv[j])
    keep = cell_base > 0
    X = np.column_stack(cols)[keep]
    W = cell_base[keep]
    t = np.asarray(t)

    def g_of(u):
        with np.errstate(over="ignore"):
            return np.exp(np.clip(u, a, b))

    def phi_of(eta):
        u = X @ eta
        big = g_of(u)
        if np.isfinite(a):
            big = big + lo * np.minimum(u - a, 0.0)
        if np.isfinite(b):
            big = big + hi * np.maximum(u - b, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            return float(W @ big - t @ eta)

    def cells_of(eta):
        f = np.zeros(len(cell_base))
        f[keep] = W * g_of(X @ eta)
        return f

    eta = np.zeros(X.shape[1])
    phi = phi_of(eta)
    f = cells_of(eta)
    gap, where = _margin_gap(cell_levels, f, targets)
    it = 0
    eye = np.eye(X.shape[1])
    while gap > tol and it < max_iter:
        it += 1
        u = X @ eta
        g = g_of(u)
        grad = X.T @ (W * g) - t
        free = (u > a) & (u < b)  # where the bounds do not bind, g' = g
        # Cells at a bound have g' = 0; giving them a small curvature keeps the matrix positive
        # definite, so that a level whose cells all sit at a bound can still move (a pure Newton
        # step ignores that direction and stalls).  The line search keeps every step a descent.
        curv = W * g * np.where(free, 1.0, _BOUND_CURVATURE)
        hess = (X * curv[:, None]).T @ X
        step, slope = None, 0.0
        for mu in (0.0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0):
            level = max(np.trace(hess) / len(eye), 1e-300)
            cand = -np.linalg.lstsq(hess + mu * level * eye, grad, rcond=None)[0]
            slope = float(grad @ cand)
            if slope < 0:
                step = cand
                break
        if step is None:
            break
        s, accepted = 1.0, False
        while s > 1e-14:
            new = eta + s * step
            val = phi_of(new)
            if np.isfinite(val) and val <= phi + 1e-4 * s * slope:
                accepted = True
                break
            if s == 1.0 and np.isfinite(val) and abs(val - phi) <= 1e-12 * abs(phi):
                # the change in phi is at rounding level: judge the full step by the margins
                if _margin_gap(cell_levels, cells_of(new), targets)[0] < gap:
                    accepted = True
                    break
            s /= 2
        if not accepted:
            break
        eta, phi = new, val
        f = cells_of(eta)
        gap, where = _margin_gap(cell_levels, f, targets)
    return f, gap, where, it


# --------------------------------------------------------------------------- public API
def rake(data, margins, *, base_weight=None, max_iter=100, tol=1e-10, bounds=None):
    """Rake weights to population margins (iterative proportional fitting).

    Starting from the base (design) weights, the weights of each level of each raking variable
    are scaled in turn to the level's target, until every weighted margin matches its target to
    a relative error of ``tol``.  The limit is R's ``survey::rake`` and
    ``survey::calibrate(calfun = "raking")`` (the raking-ratio calibration estimator of Deville &
    Särndal, 1992).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, with the raking variables as columns.  Not changed.
    margins : dict
        ``{column: {level: target}}``.  Targets are population **shares** (each variable's
        targets sum to 1; they are scaled to the total of the base weights) or population
        **totals** (every variable's targets must sum to the same total).  Every level present in
        the data needs a target; a level with a positive target needs respondents; levels are
        matched by value (``1`` and ``"1"`` differ).
    base_weight : str, array-like or None, default None
        Column (or one value per row) of base / design weights; ``None`` starts from 1.
        Respondents with base weight 0 keep weight 0.
    max_iter : int, default 100
        Most passes over all margins (Newton steps when ``bounds`` is given).
    tol : float, default 1e-10
        Largest accepted relative gap ``|weighted margin / target - 1|`` over all levels.
    bounds : tuple (lo, hi) or None, default None
        Keep every ratio ``weight / base weight`` within ``[lo, hi]`` (``lo <= 1 <= hi``):
        truncated raking, R's ``calibrate(calfun = "raking", bounds = c(lo, hi))``.

    Returns
    -------
    pandas.Series
        Weights named ``"weight"``, aligned to ``data.index``.

    Raises
    ------
    DataError
        Inconsistent margins (shares not summing to 1 / totals that differ between variables), a
        data level without target, a target level without respondents, missing values in a
        raking variable, bounds that no weights can satisfy for some level.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached first; the message gives the largest remaining gap.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import weighting
    >>> df = pd.DataFrame({"sex": ["f", "f", "m", "m", "m"], "age": ["y", "o", "y", "o", "o"]})
    >>> w = weighting.rake(df, {"sex": {"f": 0.5, "m": 0.5}, "age": {"y": 0.4, "o": 0.6}})
    >>> float(round(w[df.sex == "f"].sum(), 9)), float(round(w[df.age == "y"].sum(), 9))
    (2.5, 2.0)
    """
    sv.check_frame(data)
    spec = _check_margins(margins)
    sv.check_columns(data, list(spec), "raking")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ParamsError(f"`max_iter` must be a whole number >= 1, but {max_iter!r} was passed.")
    if not isinstance(tol, (int, float, np.floating)) or not tol > 0:
        raise ParamsError(f"`tol` must be a positive number, but {tol!r} was passed.")
    if bounds is not None:
        try:
            lo, hi = (float(x) for x in bounds)
        except (TypeError, ValueError):
            raise ParamsError(f"`bounds` must be a pair (lo, hi), but {bounds!r} was passed.") from None
        if not (0 <= lo <= 1 <= hi and lo < hi):
            raise ParamsError(
                f"`bounds` must satisfy 0 <= lo <= 1 <= hi and lo < hi, but {bounds!r} was passed."
            )
        if lo <= 0 and np.isinf(hi):
            bounds = None
        else:
            bounds = (lo, hi)
    if len(data) == 0:
        raise DataError("raking: the data have no rows.")
    if base_weight is None:
        base = np.ones(len(data))
    else:
        base = sv.weight_array(data, base_weight, "base weight")
    if not base.sum() > 0:
        raise DataError("raking: every base weight is 0.")
    spec, _ = _scaled_targets(spec, float(base.sum()))

    level_codes, sizes, targets = [], [], []
    for var, (levels, vals) in spec.items():
        level_codes.append(_raking_codes(data, var, levels, vals, base))
        sizes.append(len(levels))
        targets.append((levels, vals))
    if bounds is not None:
        lo, hi = bounds
        for var, codes, (levels, vals) in zip(spec, level_codes, targets):
            have = np.bincount(codes, weights=base, minlength=len(levels))
            with np.errstate(divide="ignore", invalid="ignore"):
                need = vals / have
            bad = (have > 0) & ((need < lo) | (need > hi))
            if bad.any():
                i = np.flatnonzero(bad)[0]
                raise DataError(
                    f"bounds {bounds!r} cannot be met: level {levels[i]!r} of {var!r} needs its weights "
                    f"multiplied by {need[i]:.4g} on average; widen the bounds or merge levels."
                )

    row_cell, cell_levels, cell_base = _cells(level_codes, sizes, base)
    if bounds is None:
        cell_w, gap, where, it = _ipf(cell_levels, cell_base, targets, max_iter, tol)
    else:
        cell_w, gap, where, it = _bounded(cell_levels, cell_base, targets, bounds, max_iter, tol)
    if gap > tol:
        var = list(spec)[where[0]] if where else "?"
        warnings.warn(
            f"raking stopped after {it} iteration(s) without converging: the largest relative gap "
            f"between a weighted margin and its target is {gap:.3g} (tol {tol:g}), at level "
            f"{where[1] if where else '?'!r} of {var!r}. The margins may be nearly inconsistent "
            "(a cross-classification with no respondents) or the bounds too tight.",
            ConvergenceWarning,
            stacklevel=2,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(cell_base > 0, cell_w / cell_base, 0.0)
    return pd.Series(base * g[row_cell], index=data.index, name="weight")


def _weights_in(weights, what="weights"):
    if isinstance(weights, pd.DataFrame):
        raise DataError(f"`{what}` must be one column of weights (a Series or array), not a DataFrame.")
    values = weights.to_numpy(dtype=np.float64, na_value=np.nan) if isinstance(weights, pd.Series) else None
    if values is None:
        try:
            values = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"`{what}` must be numeric.") from None
    if values.ndim != 1 or values.size == 0:
        raise DataError(f"`{what}` must be a non-empty one-dimensional array of weights.")
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        index = weights.index if isinstance(weights, pd.Series) else np.arange(len(values))
        raise DataError(
            f"`{what}` must be finite and non-negative, but rows {sv.show_rows(index, bad)} have "
            f"{sv.show_values(values[bad])}."
        )
    return values


def trim(weights, *, upper=None, lower=None, strict=False, redistribute="equal", max_iter=10_000):
    """Trim extreme weights and spread the trimmed amount over the untrimmed respondents.

    R's ``survey::trimWeights``: weights above ``upper`` are set to ``upper`` and weights below
    ``lower`` to ``lower``; the net amount removed is added to the *untrimmed* weights -- in
    equal parts (R's rule, ``redistribute="equal"``) or in proportion to their weights
    (``redistribute="proportional"``, which keeps their relative sizes).  The total is unchanged.
    Redistribution can push a weight past a bound again; ``strict=True`` repeats the step until
    no weight is outside (R's ``strict = TRUE``).  With a single bound the repetitions have a
    closed-form limit, which is computed directly (R recurses, and can take thousands of rounds
    when the bound is close to the mean weight).

    Respondents with weight 0 (excluded) stay at 0 and take no share of the trimmed amount; R
    would give them a share (and raise them to ``lower``).  Otherwise the result is R's.

    Parameters
    ----------
    weights : pandas.Series or array-like
        Non-negative weights, e.g. from :func:`rake`.  Not changed.
    upper, lower : float or None
        Bounds on the weights themselves (not on ratios); ``None`` = no bound.  For a cap of
        five times the mean weight use ``upper=5 * w.mean()``.
    strict : bool, default False
        Repeat until every positive weight is within the bounds.
    redistribute : {"equal", "proportional"}, default "equal"
        How the trimmed amount is spread over the untrimmed respondents.
    max_iter : int, default 10000
        Most repetitions with ``strict=True`` and both bounds.

    Returns
    -------
    pandas.Series or numpy.ndarray
        Trimmed weights, same type, index and name as ``weights``.

    Examples
    --------
    >>> from workbench import weighting
    >>> weighting.trim([1.0, 1.0, 1.0, 5.0], upper=3.0).tolist()
    [1.6666666666666665, 1.6666666666666665, 1.6666666666666665, 3.0]
    """
    w = _weights_in(weights)
    up = np.inf if upper is None else float(upper)
    low = -np.inf if lower is None else float(lower)
    if redistribute not in ("equal", "proportional"):
        raise ParamsError(
            f"`redistribute` must be 'equal' or 'proportional', but {redistribute!r} was passed."
        )
    if not low < up:
        raise ParamsError(f"`lower` ({lower!r}) must be below `upper` ({upper!r}).")
    pos = w > 0
    m, total = int(pos.sum()), float(w.sum())
    if strict and (total > up * m or total < low * m):
        raise DataError(
            f"trim: {m} positive weights summing to {total:.6g} cannot all lie within "
            f"[{low:g}, {up:g}]; their mean {total / m:.6g} is outside the bounds."
        )
    out = w.copy()
    if strict and (upper is None) != (lower is None):
        # one bound: R's repetitions converge to a closed form (water filling), computed exactly
        bound, side = (up, "upper") if upper is not None else (low, "lower")
        if (out[pos] > up).any() or (out[pos] < low).any():
            out[pos] = _water_fill(out[pos], bound, side, redistribute)
    else:
        for _ in range(max_iter):
            outside = pos & ((out < low) | (out > up))
            if not outside.any():
                break
            inside = pos & ~outside
            if not inside.any():
                raise DataError(
                    f"trim: every weight is outside [{low:g}, {up:g}]; nothing is left to redistribute to."
                )
            new = np.where(outside, np.clip(out, low, up), out)
            excess = float(np.sum(out - new))
            if redistribute == "equal":
                new[inside] += excess / inside.sum()
            else:
                new[inside] *= 1.0 + excess / new[inside].sum()
            out = new
            if not strict:
                break
        else:
            if (pos & ((out < low) | (out > up))).any():
                warnings.warn(
                    f"trim: weights still outside [{low:g}, {up:g}] after {max_iter} rounds.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
    if isinstance(weights, pd.Series):
        return pd.Series(out, index=weights.index, name=weights.name)
    return out


def _water_fill(w, bound, side, redistribute):
    """Limit of repeated trimming to one bound (R's ``trimWeights(strict = TRUE)``).

    With only an upper bound every round adds a non-negative amount to the free weights, so a
    weight once capped stays capped and the limit is ``min(w + d, upper)`` (equal shares) or
    ``min(c w, upper)`` (proportional), with ``d`` or ``c`` fixed by the unchanged total; with only
    a lower bound, ``max(...)`` likewise.  Capping the ``k`` most extreme weights, the parameter
    follows from the total; the answer is the smallest ``k`` whose first free weight is inside.
    """
    total = w.sum()
    m = len(w)
    order = np.argsort(-w if side == "upper" else w, kind="stable")
    v = w[order]
    k = np.arange(m)
    rest = np.cumsum(v[::-1])[::-1]  # sum of v[k:]
    if redistribute == "equal":
        param = (total - k * bound - rest) / (m - k)
        first_free = v + param
    else:
        param = (total - k * bound) / rest
        first_free = v * param
    ok = first_free <= bound if side == "upper" else first_free >= bound
    j = int(np.argmax(ok))
    p = param[j]
    res = v + p if redistribute == "equal" else v * p
    res[:j] = bound
    res = np.minimum(res, bound) if side == "upper" else np.maximum(res, bound)
    out = np.empty_like(w)
    out[order] = res
    return out


def _efficiency_arrays(w):
    pos = w > 0
    n = int(pos.sum())
    if n == 0:
        raise DataError("weights: every weight is 0.")
    s, s2 = w.sum(), np.sum(w * w)
    wp = w[pos]
    return {
        "n": n,
        "n_eff": float(s * s / s2),
        "deff": float(n * s2 / (s * s)),
        "efficiency": float(s * s / (n * s2)),
        "min": float(wp.min()),
        "max": float(wp.max()),
        "ratio": float(wp.max() / wp.min()),
    }


def efficiency(weights):
    """Kish's design effect of weighting and the effective base.

    ``deff = n * sum(w^2) / (sum w)^2 = 1 + cv^2`` (``cv`` with the population variance, divisor
    ``n``), ``n_eff = (sum w)^2 / sum(w^2) = n / deff``, ``efficiency = 1 / deff`` (Kish 1965,
    sec. 11.7).  Computed over the positive weights (weight 0 = excluded respondent).

    Parameters
    ----------
    weights : pandas.Series or array-like
        Non-negative weights.

    Returns
    -------
    dict
        ``n, n_eff, deff, efficiency, min, max, ratio`` (``ratio = max / min``).

    Examples
    --------
    >>> from workbench import weighting
    >>> e = weighting.efficiency([1.0, 1.0, 2.0, 4.0])
    >>> e["n"], e["n_eff"], e["deff"], e["ratio"]
    (4, 2.909090909090909, 1.375, 4.0)
    """
    return _efficiency_arrays(_weights_in(weights))


def efficiency_table(data, weight, *, by=None):
    """:func:`efficiency` for every group of ``by`` (and the whole sample when ``by`` is None).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    weight : str or array-like
        Weight column (or one weight per row).
    by : str, list of str or None
        Grouping columns; rows with a missing ``by`` value are left out.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, then ``n, n_eff, deff, efficiency, min, max, ratio``; groups whose
        weights are all 0 have ``n = 0`` and NaN elsewhere.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import weighting
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "w": [1.0, 3.0, 2.0, 2.0]})
    >>> weighting.efficiency_table(df, "w", by="g")[["g", "n", "deff"]]
       g  n    deff
    0  a  2  1.25
    1  b  2  1.00
    """
    sv.check_frame(data)
    if weight is None:
        raise ParamsError("`weight` is required: the column (or array) of weights to describe.")
    w = sv.weight_array(data, weight)
    cols = ["n", "n_eff", "deff", "efficiency", "min", "max", "ratio"]
    groups = sv.group_codes(data, by, reserved=cols)
    size = groups.size + 1
    codes = groups.codes if groups.codes is not None else np.zeros(len(w), dtype=np.int64)
    pos = w > 0
    present = np.bincount(codes, minlength=size)[:-1] > 0
    n = np.bincount(codes[pos], minlength=size)[:-1]
    s = np.bincount(codes, weights=w, minlength=size)[:-1]
    s2 = np.bincount(codes, weights=w * w, minlength=size)[:-1]
    wmin = np.full(size, np.inf)
    wmax = np.zeros(size)
    np.minimum.at(wmin, codes[pos], w[pos])
    np.maximum.at(wmax, codes[pos], w[pos])
    wmin, wmax = wmin[:-1], wmax[:-1]
    keep = np.flatnonzero(present)
    out = groups.keys(keep)
    with np.errstate(divide="ignore", invalid="ignore"):
        nz = n > 0
        out["n"] = n[keep]
        out["n_eff"] = np.where(nz, s * s / s2, np.nan)[keep]
        out["deff"] = np.where(nz, n * s2 / (s * s), np.nan)[keep]
        out["efficiency"] = np.where(nz, s * s / (n * s2), np.nan)[keep]
        out["min"] = np.where(nz, wmin, np.nan)[keep]
        out["max"] = np.where(nz, wmax, np.nan)[keep]
        out["ratio"] = np.where(nz, wmax / wmin, np.nan)[keep]
    return out
