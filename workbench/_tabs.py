"""Lower-level computation of the tab book: no input checks, just arrays.

:mod:`workbench.tabs` checks the spec and the data and calls these functions; they assume clean
input (integer codes, float weights) and never round.

Atoms and slots
---------------
Every banner group sorts the rows into *atoms*: the levels of its variable, times the wave period
(0 = the wave reported, 1 = the previous wave) when the book compares waves.  A row outside the
group (other waves, a missing or unlisted level) goes to the group's extra "excluded" atom.  The
atoms of all groups are numbered one after the other, and the atom numbers of every row in every
group are *stacked* into one array of length ``groups x rows``, so that one :func:`numpy.bincount`
per stub and statistic gives the sums of every atom of every group at once.

A banner column is a sum of atoms (a level, or a net of levels); a *slot* is a column in one
period, or the rest of the total (total minus the column).  Slot sums are the product of a
membership matrix ``(slots x atoms)`` with the atom sums: sums are linear, so nets, the rest of the
total and the previous wave cost one matrix product and no second pass over the data.

Per slot and answer category the sums are the count of respondents with a positive weight, the sum
of the weights and the sum of the squared weights.  Every estimate and its variance is a function
of these, with no cancellation: a category's deviation from the slot's estimate is known exactly
(see :mod:`workbench._survey` for the linearisation).

Tests
-----
``pair_tests`` compares slots ``a`` and ``b`` for every stat row at once:

* ``pooled`` (proportions): ``p = (n_a p_a + n_b p_b) / (n_a + n_b)``,
  ``se = sqrt(p (1 - p) (1/n_a + 1/n_b))`` with effective bases ``n`` -- SPSS's column-proportions
  test, R ``prop.test(correct = FALSE)`` when unweighted; normal p-value.
* ``welch`` (means): ``se = sqrt(s_a^2/n_a + s_b^2/n_b)``, Welch-Satterthwaite ``df``, Student t
  p-value -- R ``t.test``.
* ``design`` (both): ``se = sqrt(v_a + v_b)`` from linearised domain variances; disjoint domains
  of one with-replacement design have covariance 0 -- R ``svyby(covmat = TRUE)`` +
  ``svycontrast``; normal p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__: list[str] = []

PROP, MEAN, NONE = 0, 1, 2  # test kind of a stat row


# --------------------------------------------------------------------------------------------
# atoms
# --------------------------------------------------------------------------------------------
@dataclass
class Stack:
    """Atom numbers of every row in every group, stacked (see the module docstring)."""

    codes: np.ndarray  # int64, len groups * rows; global atom number
    n_rows: int
    n_groups: int
    size: int  # number of atoms of all groups, excluded bins included
    offsets: np.ndarray  # first atom number of each group
    weights: np.ndarray | None  # tiled weights (None: unweighted)
    weights2: np.ndarray | None  # tiled squared weights
    positive: np.ndarray | None  # tiled 1.0 where the weight is > 0 (None: all are)
    _scaled: dict = None  # K -> codes * (K + 1), cached

    def key(self, cat, k):
        """Key ``atom * (k + 1) + category`` of every stacked row (``cat == k``: missing)."""
        if self._scaled is None:
            self._scaled = {}
        base = self._scaled.get(k)
        if base is None:
            base = self.codes * (k + 1)
            if len(self._scaled) < 8:
                self._scaled[k] = base
        key = np.empty_like(base)
        n = self.n_rows
        for g in range(self.n_groups):
            np.add(base[g * n:(g + 1) * n], cat, out=key[g * n:(g + 1) * n])
        return key


def stack(group_codes, group_sizes, weights):
    """Stack the atom codes of the groups (each an int64 array, ``size`` = excluded)."""
    n = len(weights) if weights is not None else (len(group_codes[0]) if group_codes else 0)
    sizes = np.asarray([s + 1 for s in group_sizes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out = np.empty(len(group_codes) * n, dtype=np.int64)
    for g, (c, off) in enumerate(zip(group_codes, offsets)):
        np.add(c, off, out=out[g * n:(g + 1) * n])
    G = len(group_codes)
    if weights is None:
        w = w2 = pos = None
    else:
        w = np.tile(weights, G)
        w2 = w * w
        pos = None if (len(weights) == 0 or weights.min() > 0) else (w > 0).astype(np.float64)
    return Stack(out, n, G, int(sizes.sum()), offsets, w, w2, pos)


def category_sums(st, cat, k):
    """``(count, sum w, sum w^2)`` per atom and category, each ``(atoms, k)``.

    ``cat`` holds category numbers ``0..k-1`` and ``k`` for a missing answer (any integer dtype).
    """
    key = st.key(cat, k)
    length = st.size * (k + 1)
    if st.weights is None:
        cnt = np.bincount(key, minlength=length).reshape(st.size, k + 1)[:, :k].astype(np.float64)
        return cnt, cnt, cnt
    if st.positive is None:
        cnt = np.bincount(key, minlength=length).astype(np.float64)
    else:
        cnt = np.bincount(key, weights=st.positive, minlength=length)
    sw = np.bincount(key, weights=st.weights, minlength=length)
    sw2 = np.bincount(key, weights=st.weights2, minlength=length)
    shape = (st.size, k + 1)
    return (cnt.reshape(shape)[:, :k], sw.reshape(shape)[:, :k], sw2.reshape(shape)[:, :k])


def numeric_sums(st, y):
    """Per atom: ``count, W, W2, Swy, Swy2, Sw2y, Sw2y2`` of a numeric answer (NaN = missing),
    with ``y`` centred on its overall mean (fewer digits lost in the sums of squares)."""
    ok = ~np.isnan(y)
    centre = float(y[ok].mean()) if ok.any() else 0.0
    yc = np.where(ok, y - centre, 0.0)
    okf = ok.astype(np.float64)
    G = st.n_groups
    yt = np.tile(yc, G)
    okt = np.tile(okf, G)
    if st.weights is None:
        w = okt
        w2 = okt
        cntw = okt
    else:
        w = st.weights * okt
        w2 = st.weights2 * okt
        cntw = okt if st.positive is None else okt * st.positive
    out = np.empty((st.size, 7))
    for j, wts in enumerate((cntw, w, w2, w * yt, w * yt * yt, w2 * yt, w2 * yt * yt)):
        out[:, j] = np.bincount(st.codes, weights=wts, minlength=st.size)
    return out, centre


# --------------------------------------------------------------------------------------------
# statistics per slot
# --------------------------------------------------------------------------------------------
def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def base_stats(cnt, sw, sw2):
    """Bases of the slots: ``n`` (respondents who answered, weight > 0), ``W``, ``W2``, ``n_eff``."""
    n = cnt.sum(axis=1)
    W = sw.sum(axis=1)
    W2 = sw2.sum(axis=1)
    return n, W, W2, np.nan_to_num(_div(W * W, W2))


def share_stats(cnt, sw, sw2, rowmat, design_n):
    """Shares of the category sets ``rowmat`` (rows x categories, 0/1) per slot.

    Returns ``est`` (slots x rows) and its linearised variance ``var`` (R ``svymean`` of the
    indicator on the domain): ``N/(N-1) [S2 (1-p)^2 + (W2 - S2) p^2] / W^2``.
    """
    _, W, W2, _ = base_stats(cnt, sw, sw2)
    S = sw @ rowmat.T
    S2 = sw2 @ rowmat.T
    p = _div(S, W[:, None])
    f = design_n / (design_n - 1.0) if design_n > 1 else np.nan
    rest = np.clip(W2[:, None] - S2, 0.0, None)
    var = f * _div(S2 * (1 - p) ** 2 + rest * p * p, (W * W)[:, None])
    return p, var


def mean_stats(cnt, sw, sw2, values, design_n):
    """Mean of the category values ``values`` per slot, with

    ``var`` linearised variance of the mean (design), ``var_classic`` ``s^2 / n`` with the
    unweighted sample variance (Welch; meaningful for unweighted data), and ``sd`` the square root
    of R ``svyvar`` (``sum w (y - m)^2 / W * n / (n - 1)``; the sample SD when unweighted).
    """
    n, W, W2, _ = base_stats(cnt, sw, sw2)
    m = _div(sw @ values, W)
    dev = values[None, :] - np.where(np.isnan(m), 0.0, m)[:, None]
    A = (sw2 * dev * dev).sum(axis=1)
    ssw = (sw * dev * dev).sum(axis=1)
    f = design_n / (design_n - 1.0) if design_n > 1 else np.nan
    var = f * _div(A, W * W)
    svyvar = _div(ssw, W) * _div(n, n - 1.0)
    ss = (cnt * dev * dev).sum(axis=1)  # unweighted: the same as ssw
    var_classic = _div(_div(ss, n - 1.0), n)
    return m, var, var_classic, np.sqrt(svyvar)


def numeric_stats(sums, centre, design_n):
    """As :func:`mean_stats` from the :func:`numeric_sums` columns of the slots."""
    cnt, W, W2, swy, swy2, sw2y, sw2y2 = (sums[:, j] for j in range(7))
    mc = _div(swy, W)
    m0 = np.where(np.isnan(mc), 0.0, mc)
    A = np.clip(sw2y2 - 2 * m0 * sw2y + m0 * m0 * W2, 0.0, None)
    ssw = np.clip(swy2 - m0 * m0 * W, 0.0, None)
    f = design_n / (design_n - 1.0) if design_n > 1 else np.nan
    var = f * _div(A, W * W)
    svyvar = _div(ssw, W) * _div(cnt, cnt - 1.0)
    var_classic = _div(_div(ssw, cnt - 1.0), cnt)  # unweighted data: W = n, ssw = sum of squares
    return mc + centre, var, var_classic, np.sqrt(svyvar), (cnt, W, W2, np.nan_to_num(_div(W * W, W2)))


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------
def pair_tests(est, var, var_classic, n, n_eff, kind, a, b, *, pooled, welch, min_test):
    """Tests of slot ``a[k]`` against slot ``b[k]`` for every stat row (rows x pairs).

    ``kind`` (rows) is :data:`PROP`, :data:`MEAN` or :data:`NONE`; ``pooled`` chooses the pooled
    z-test for proportions (else design-based), ``welch`` Welch's t for means (else design-based).
    Returns ``diff, se, stat, df, p_val`` (NaN where not tested: no test kind, a base below
    ``min_test``, a standard error of 0).
    """
    ea, eb = est[:, a], est[:, b]
    diff = ea - eb
    na, nb = n_eff[:, a], n_eff[:, b]
    prop = (kind == PROP)[:, None]
    mean = (kind == MEAN)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        se_design = np.sqrt(var[:, a] + var[:, b])
        if pooled:
            pp = (na * ea + nb * eb) / (na + nb)
            se_prop = np.sqrt(pp * (1 - pp) * (1 / na + 1 / nb))
        else:
            se_prop = se_design
        if welch:
            va, vb = var_classic[:, a], var_classic[:, b]
            se_mean = np.sqrt(va + vb)
            df = (va + vb) ** 2 / (va * va / (n[:, a] - 1) + vb * vb / (n[:, b] - 1))
        else:
            se_mean = se_design
            df = np.full(diff.shape, np.inf)
        se = np.where(prop, se_prop, np.where(mean, se_mean, np.nan))
        stat = diff / se
    df = np.where(mean, df, np.inf)
    testable = (prop | mean) & (na >= min_test) & (nb >= min_test) & (se > 0) & np.isfinite(stat)
    stat = np.where(testable, stat, np.nan)
    t_rows = mean & welch
    p = np.where(t_rows, 2 * special.stdtr(np.where(t_rows, df, 1.0), -np.abs(stat)),
                 2 * special.ndtr(-np.abs(stat)))
    p = np.where(testable, p, np.nan)
    df = np.where(testable, df, np.nan)
    return diff, np.where(prop | mean, se, np.nan), stat, df, p


def adjust_rows(p, method):
    """Adjust the p-values of each row of ``p`` (one family per row; NaN = not tested, left out).

    ``method``: ``none``, ``bonferroni``, ``holm`` or ``fdr`` (Benjamini-Hochberg), as R
    ``p.adjust`` applied to the non-missing p-values of the row.
    """
    p = np.asarray(p, dtype=np.float64)
    if method == "none" or p.size == 0:
        return p.copy()
    ok = ~np.isnan(p)
    m = ok.sum(axis=1, keepdims=True).astype(np.float64)
    if method == "bonferroni":
        return np.where(ok, np.minimum(1.0, p * m), np.nan)
    order = np.argsort(np.where(ok, p, np.inf), axis=1, kind="stable")
    ps = np.take_along_axis(p, order, axis=1)
    rank = np.arange(1, p.shape[1] + 1, dtype=np.float64)[None, :]
    valid = rank <= m
    if method == "holm":
        q = np.where(valid, np.minimum(1.0, (m - rank + 1) * ps), 0.0)
        q = np.maximum.accumulate(q, axis=1)
    elif method == "fdr":
        q = np.where(valid, m / rank * ps, np.inf)
        q = np.minimum.accumulate(q[:, ::-1], axis=1)[:, ::-1]
        q = np.minimum(1.0, q)
    else:
        raise ValueError(method)
    out = np.empty_like(p)
    np.put_along_axis(out, order, np.where(valid, q, np.nan), axis=1)
    return out


def letter_strings(bits, letters):
    """Strings of the letters whose bits are set (bit ``j`` = ``letters[j]``), for an int64 array."""
    uniq, inv = np.unique(bits, return_inverse=True)
    words = np.array(["".join(letters[j] for j in range(len(letters)) if (int(u) >> j) & 1) for u in uniq],
                     dtype=object)
    return words[inv].reshape(bits.shape)
