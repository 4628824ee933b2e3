"""Maximum-likelihood SEM with lavaan's numbers (private engine of :mod:`workbench.drivers`).

semopy parses the explicit model description produced by :mod:`workbench._sem_syntax`, builds the
LISREL-type matrices (Beta, Lambda, Psi, Theta), supplies starting values, the model-implied
covariance matrix and its derivatives, and runs its SLSQP solver.  Everything a consultant reads
off the result is then computed here, because semopy's own output differs from lavaan's:

* **Optimum.**  semopy's SLSQP stops at a loose tolerance and bounds variances at zero.  We polish
  the optimum with unbounded Fisher-scoring steps (expected-information Newton steps with
  step-halving) until the largest gradient element of F_ML is below ``GRAD_TOL``, so estimates agree
  with lavaan's ``nlminb`` optimum to ~1e-6 and negative variances (Heywood cases) show up as they
  do in lavaan instead of being hidden at the bound.  When constructs are almost collinear (small
  groups), SLSQP can stop on the far side of a ridge along which the structural paths grow without
  bound; scoring from there crawls along the ridge and never converges.  Then we score again from
  semopy's starting values, of lavaan's kind (paths 0, latent variances 0.05, residual variances
  half the item variances) — where lavaan's ``nlminb`` starts — and keep the converged (or lower)
  optimum.
* **Failed steps.**  A trial point whose implied Σ is singular or not positive definite (or whose
  I − B cannot be inverted) has F_ML = ∞: the line search halves the step instead of failing.
* **Discrepancy.**  F_ML = log|Σ| + tr(S Σ⁻¹) − log|S| − p with S the covariance matrix with divisor
  N (lavaan's ``likelihood = "normal"``); χ² = N·F_ML.
* **Standard errors.**  Expected information, Cov(θ̂) = (2/N)·H⁻¹ with
  H_kl = tr(Σ⁻¹ ∂Σ/∂θ_k Σ⁻¹ ∂Σ/∂θ_l) (lavaan's default ``information = "expected"``).
* **Fit indices.**  lavaan's definitions (``lav_fit_*``): CFI/TLI against the independence
  baseline (observed covariates saturated when ``fixed.x``), RMSEA with divisor N·df and its 90%
  interval by inverting the non-central χ² distribution, Bentler's SRMR on residuals scaled by
  sample SDs, AIC/BIC from the normal log-likelihood, npar without the fixed.x parameters.
* **Standardised solution.**  lavaan's ``std.all``; covariances are scaled by the (residual)
  variances (``cov.std = TRUE``), so a residual covariance becomes a residual correlation.
* **Effects.**  Total effects T = (I − B)⁻¹ − I over the structural (``~``) paths, indirect = T − B,
  with delta-method standard errors (numerical Jacobian), as lavaan's ``:=``.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ._sem_syntax import ParTable
from .errors import DataError, ModelError

__all__: list[str] = []

GRAD_TOL = 1e-10         # max |dF/dθ| at the polished optimum
SOFT_TOL = 1e-6          # accepted when no further descent is numerically possible
MAX_POLISH = 500         # Fisher-scoring iterations
STALL_STEP = 1 / 64      # a scoring step shortened below this fraction of its length ...
STALL_RUN = 25           # ... this many times in a row: crawling along a ridge, try another start
FAST_RATE = 0.1          # scoring that shrinks max|g| by this factor a step needs no Newton step


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    names: list[str]          # observed variables of the model, partable order
    X: np.ndarray             # complete rows, n x p
    w: np.ndarray | None      # weights of those rows (None = unweighted)
    S: np.ndarray             # covariance matrix, divisor sum(w) (N when unweighted)
    means: np.ndarray
    n_rows: int               # rows used
    n_eff: float              # Kish effective n (= n_rows when unweighted)
    n_dropped: int            # rows dropped (missing values or zero weight)
    index: pd.Index           # index labels of the rows used


def weighted_moments(X: np.ndarray, w: np.ndarray | None):
    """Mean vector and covariance matrix with divisor sum(w) (N when unweighted)."""
    if w is None:
        mu = X.mean(axis=0)
        Xc = X - mu
        return mu, Xc.T @ Xc / X.shape[0]
    ws = w / w.sum()
    mu = ws @ X
    Xc = X - mu
    return mu, (Xc * ws[:, None]).T @ Xc


def kish_n_eff(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / (w ** 2).sum())


def resolve_weight(data: pd.DataFrame, weight) -> pd.Series | None:
    """Return the weight as a float Series aligned to ``data.index`` (None when unweighted)."""
    if weight is None:
        return None
    if isinstance(weight, str):
        if weight not in data.columns:
            raise DataError(f"weight: column {weight!r} is not in the data (columns: "
                            f"{', '.join(map(str, data.columns[:20]))}{' ...' if data.shape[1] > 20 else ''})")
        w = data[weight]
        name = weight
    elif isinstance(weight, pd.Series):
        name = weight.name or "weight"
        w = weight
        if not w.index.equals(data.index):
            missing = data.index.difference(w.index)
            if len(missing):
                raise DataError(f"weight {name!r}: no weight for rows {missing[:5].tolist()} of data "
                                "(the weight Series must be indexed like data)")
            w = w.reindex(data.index)
    else:
        try:
            vals = np.asarray(weight, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError("weight: expected a column name or numbers, one per row of data") from exc
        if vals.ndim != 1 or len(vals) != len(data):
            raise DataError(f"weight: expected {len(data)} values (one per row of data), got "
                            f"{vals.size}")
        w = pd.Series(vals, index=data.index)
        name = "weight"
    try:
        w = pd.to_numeric(w, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"weight {name!r}: expected numbers, found non-numeric values") from exc
    if (w < 0).any():
        bad = w.index[w < 0][:5].tolist()
        raise DataError(f"weight {name!r}: expected non-negative weights, found negative values "
                        f"in rows {bad}")
    return w


def check_columns(data: pd.DataFrame, pt: ParTable) -> None:
    """Raise if ``data`` is not a DataFrame holding every observed variable of the model."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    missing = [v for v in pt.observed if v not in data.columns]
    if missing:
        v = missing[0]
        hint = difflib.get_close_matches(v, [str(c) for c in data.columns], n=3)
        hint_txt = f"; did you mean {', '.join(map(repr, hint))}?" if hint else ""
        where = "; ".join(repr(s) for s in pt.lines.get(v, []))
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise ModelError(f"model: variable {v!r} in model line {where} is not a column of the data"
                         f"{hint_txt}{more}. Latent variables must appear on the left of '=~'.")


def check_numeric(data: pd.DataFrame, names) -> None:
    """Raise DataError naming the first model variable that is not numeric."""
    for v in names:
        col = data[v]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise DataError(f"column {v!r}: expected numeric item scores, found dtype {col.dtype} "
                            f"(example value {col.dropna().iloc[0]!r})"
                            if col.notna().any() else
                            f"column {v!r}: expected numeric item scores, found only missing values")


def prepare(data: pd.DataFrame, pt: ParTable, weight=None) -> Prepared:
    """Select the model's observed variables, drop incomplete rows, compute S (checks included)."""
    check_columns(data, pt)
    names = pt.observed
    w = resolve_weight(data, weight)
    check_numeric(data, names)
    frame = data[names]
    X = frame.to_numpy(dtype=float)
    ok = np.isfinite(X).all(axis=1)
    if w is not None:
        wv = w.to_numpy()
        ok &= np.isfinite(wv) & (wv > 0)
    n_rows = int(ok.sum())
    p = len(names)
    if n_rows <= p:
        raise DataError(f"data: {n_rows} complete rows for {p} observed variables "
                        f"({', '.join(names)}); expected more rows than variables")
    X = X[ok]
    wk = None if w is None else w.to_numpy()[ok]
    mu, S = weighted_moments(X, wk)
    sd = np.sqrt(np.diag(S))
    scale = np.maximum(1.0, np.abs(mu))
    flat = np.where(sd <= 1e-10 * scale)[0]
    if flat.size:
        v = names[flat[0]]
        raise DataError(f"column {v!r}: zero variance among the {n_rows} rows used (every answer is "
                        f"{X[0, flat[0]]:g}); an item without variation cannot be modelled — drop it "
                        "from the model")
    n_eff = float(n_rows) if wk is None else kish_n_eff(wk)
    return Prepared(names=list(names), X=X, w=wk, S=S, means=mu, n_rows=n_rows, n_eff=n_eff,
                    n_dropped=int(len(data) - n_rows), index=data.index[ok])


# --------------------------------------------------------------------------------------------
# semopy bridge
# --------------------------------------------------------------------------------------------
class _SemopyFilter(logging.Filter):
    def filter(self, record):  # pragma: no cover - trivial
        return "semopy" not in (record.pathname or "")


@contextlib.contextmanager
def _quiet_semopy():
    """semopy logs through the root logger; keep its messages out of notebooks (we report our own)."""
    flt = _SemopyFilter()
    root = logging.getLogger()
    root.addFilter(flt)
    handlers = list(root.handlers)
    for h in handlers:
        h.addFilter(flt)
    try:
        yield
    finally:
        root.removeFilter(flt)
        for h in handlers:
            h.removeFilter(flt)


def _fmt(x: float) -> str:
    return repr(float(x))


def armijo_step(fun, x, step, f0: float, slope: float, tries: int = 40):
    """``x - t * step`` for the largest ``t`` in 1, 1/2, 1/4, … that decreases ``fun`` enough
    (Armijo's rule, with room for rounding in ``f0``); None when no such ``t`` is found.

    ``slope`` is ``g @ step``, the decrease predicted at ``t = 1``.  A trial point at which ``fun``
    cannot be evaluated (singular or indefinite matrices) is a failed trial: the step is halved.
    """
    t = 1.0
    for _ in range(tries):
        cand = x - t * step
        try:
            fc = fun(cand)
        except (np.linalg.LinAlgError, FloatingPointError):
            fc = np.inf
        if np.isfinite(fc) and fc <= f0 - 1e-4 * t * slope + 1e-15 * abs(f0):
            return cand
        t *= 0.5
    return None


def _start_lambda(model, lval: str, rval: str):
    """semopy's ``start_lambda`` (the loading's starting value: slope of the item on the
    construct's first item) with ``linregress``'s slope computed as ``linregress`` computes it,
    ``np.cov(x, y, bias=1)``, without scipy's argument-checking wrapper around it, which cost
    a third of setting up a model.  Edge cases go to semopy's own rule."""
    from semopy import startingvalues

    if rval not in model.vars["latent"]:
        return 0.0
    obs = model.vars["observed"]
    first = rval
    while first not in obs:
        try:
            first = model.first_manifs[first]
            if first == rval:
                return 0.0
        except KeyError:
            return 0.0
    if first is None or not hasattr(model, "mx_data"):
        return 0.0
    i, j = obs.index(first), obs.index(lval)
    data = model.mx_data
    x, y = data[:, i], data[:, j]
    mask = np.isfinite(x) & np.isfinite(y)
    x, y = x[mask], y[mask]
    if len(x) < 3 or x.dtype != np.float64 or y.dtype != np.float64 or np.amax(x) == np.amin(x):
        return startingvalues.start_lambda(model, lval, rval)
    ssxm, ssxym, _, _ = np.cov(x, y, bias=1).flat
    return ssxym / ssxm


class Engine:
    """A parameter table bound to semopy matrices and a data set."""

    def __init__(self, pt: ParTable, prep: Prepared):
        import semopy  # local import: semopy is slow to import

        self.pt = pt
        self.prep = prep
        allvars = pt.latent + pt.observed
        self.alias = {v: f"v{i}" for i, v in enumerate(allvars)}
        self.unalias = {a: v for v, a in self.alias.items()}
        label_alias: dict[str, str] = {}
        self.row_param: list[str | None] = []
        lines = []
        k = 0
        for r in pt.rows:
            if r.exo:
                self.row_param.append(None)
                continue
            if r.fixed is not None:
                mult = _fmt(r.fixed)
                self.row_param.append(None)
            else:
                if r.label:
                    mult = label_alias.setdefault(r.label, f"_lab{len(label_alias)}")
                else:
                    mult = f"_p{k}"
                    k += 1
                self.row_param.append(mult)
            a, b = self.alias[r.lhs], self.alias[r.rhs]
            lines.append(f"{a} {r.op} {mult}*{b}")
        self.description = "\n".join(lines)
        try:
            with _quiet_semopy():
                self.model = semopy.Model(self.description, mimic_lavaan=True, cov_diag=True)
        except Exception as exc:  # semopy raises plain Exceptions
            raise ModelError(f"model: the model could not be set up ({exc})") from exc
        m = self.model
        from semopy import startingvalues

        m.start_rules = [_start_lambda if f is startingvalues.start_lambda else f for f in m.start_rules]
        # object labels: semopy looks them up with .loc, which pandas does faster than on its
        # default (arrow) string index; the values are the same
        obs_alias = pd.Index([self.alias[v] for v in prep.names], dtype=object)
        df = pd.DataFrame(prep.X, columns=obs_alias)
        S = pd.DataFrame(prep.S, index=obs_alias, columns=obs_alias)
        self._data_alias = df
        self._cov_alias = S
        # semopy loops forever computing starting values for a latent variable without a fixed
        # loading (NA* on the marker, variance fixed instead); point it at the first indicator
        fm = getattr(m, "first_manifs", None)
        if fm is not None:
            for lv, inds in pt.indicators.items():
                if fm.get(self.alias[lv]) is None:
                    fm[self.alias[lv]] = self.alias[inds[0]]
        try:
            with _quiet_semopy():
                m.load(data=df, cov=S)
        except np.linalg.LinAlgError as exc:
            raise ModelError("model: starting values could not be computed — a covariance matrix of "
                             f"the items is singular ({exc}); check for duplicated or constant items "
                             f"among {', '.join(prep.names)}") from exc
        self.active = [name for name, par in m.parameters.items() if par.active]
        # starting values of lavaan's kind (paths 0, latent variances 0.05, residual variances half
        # the item variances), kept before semopy's solver overwrites the parameter values
        self.theta_start = np.array(m.param_vals, dtype=float)
        self.pindex = {name: i for i, name in enumerate(self.active)}
        # locate every partable row in the semopy matrices
        inner = m.vars["inner"]
        obs = m.vars["observed"]
        mats = {"beta": 0, "lambda": 1, "psi": 2, "theta": 3}
        self.loc = []
        for r in pt.rows:
            a, b = self.alias[r.lhs], self.alias[r.rhs]
            if r.op == "=~":
                y, x = b, a
            else:
                y, x = a, b
            if r.op in ("=~", "~"):
                if y in inner:
                    self.loc.append((mats["beta"], inner.index(y), inner.index(x)))
                else:
                    self.loc.append((mats["lambda"], obs.index(y), inner.index(x)))
            else:
                if a in inner and b in inner:
                    self.loc.append((mats["psi"], inner.index(a), inner.index(b)))
                elif a not in inner and b not in inner:
                    self.loc.append((mats["theta"], obs.index(a), obs.index(b)))
                else:
                    raise ModelError(
                        f"model line {r.line!r}: a covariance between an indicator ({r.lhs if a not in inner else r.rhs!r}) "
                        f"and a structural variable ({r.rhs if a not in inner else r.lhs!r}) is not supported")
        self.inner_names = [self.unalias[v] for v in inner]
        self.obs_names = [self.unalias[v] for v in obs]
        # permutation from semopy's observed order to prep.names order
        self.perm = np.array([obs.index(self.alias[v]) for v in prep.names])
        self.S = prep.S  # in prep.names order
        self.p = len(prep.names)
        sign, self.logdet_S = np.linalg.slogdet(self.S)
        if sign <= 0:
            raise DataError("data: the covariance matrix of the model's observed variables is singular "
                            "(some items are exact linear combinations of others); check for duplicated "
                            f"or derived items among {', '.join(prep.names)}")

    # -- model-implied moments ---------------------------------------------------------------
    def set(self, theta):
        t = np.asarray(theta, dtype=float)
        last = getattr(self, "_last_set", None)
        if last is not None and last.shape == t.shape and np.array_equal(last, t):
            return  # the matrices hold these values already
        m = self.model
        setter = getattr(self, "_setter", None)
        if setter is None or setter[0] is not m.matrices:
            # semopy's update_matrices with its index lists made arrays once (it converts them
            # on every call, which cost more than the assignment)
            setter = self._setter = (m.matrices, [
                (mx, np.asarray(r1[0], dtype=int), np.asarray(r1[1], dtype=int), np.asarray(r2, dtype=int))
                for mx, (r1, r2) in zip(m.matrices, m.param_ranges) if r1])
        for mx, ii, jj, k in setter[1]:
            mx[ii, jj] = t[k]
        self._last_set = t.copy()

    def _inner(self, beta):
        """C = (I − B)⁻¹; I itself when B = 0 (a CFA), as the inverse would give it."""
        if not beta.any():
            return self._eye_in
        return np.linalg.inv(self._eye_in - beta)

    def sigma(self, theta=None):
        """Σ(θ) in ``prep.names`` order, ΛC and C (semopy's ``calc_sigma``, same arithmetic)."""
        if theta is not None:
            self.set(theta)
        if not hasattr(self, "_owner"):
            self._jacobian_setup()
        beta, lam, psi, th = self.model.matrices[:4]
        c = self._inner(beta)
        mm = lam @ c if c is not self._eye_in else lam
        sig = mm @ psi @ mm.T + th
        return sig[self._Pr, self._Pc], mm, c

    def _jacobian_setup(self):
        """Where each free parameter sits in the semopy matrices (for the vectorised ∂Σ/∂θ)."""
        m = self.model
        owner, kind, ii, jj, half = [], [], [], [], []
        for k, name in enumerate(self.active):
            for loc in m.parameters[name].locations:
                t = next(n for n, mx in enumerate(m.matrices) if mx is loc.matrix)
                i, j = loc.indices
                owner.append(k)
                kind.append(t)
                ii.append(i)
                jj.append(j)
                half.append(0.5 if (t >= 2 and i == j) else 1.0)
        self._owner = np.array(owner, dtype=int)
        self._kind = np.array(kind, dtype=int)
        self._ii = np.array(ii, dtype=int)
        self._jj = np.array(jj, dtype=int)
        self._half = np.array(half)
        self._onehot = np.zeros((len(owner), len(self.active)))
        self._onehot[np.arange(len(owner)), self._owner] = 1.0
        # index arrays for the hot loop (np.ix_ and boolean selections cost more than the
        # arithmetic on matrices this small): Σ in prep.names order, and the rows of U and V
        # picked from [M'; I] and [Q; M'; I] (M' has one row per inner variable)
        P = self.perm
        self._Pr, self._Pc = P[:, None], P[None, :]
        n_in = m.matrices[0].shape[0]
        p_all = m.matrices[1].shape[0]
        self._eye_in = np.eye(n_in)
        self._eye_obs = np.eye(p_all)
        k, i, j = self._kind, self._ii, self._jj
        self._urow = np.where((k == 0) | (k == 2), i, n_in + i)[:, None]
        self._vrow = np.select([k == 0, k == 2, k == 1], [j, n_in + j, j], 2 * n_in + j)[:, None]

    def _sigma_uv(self, theta):
        """Σ(θ) and the rank-one pieces of ∂Σ/∂θ: location l of parameter ``_owner[l]``
        contributes U_l V_l' + V_l U_l' (``prep.names`` order).

        Rows of U: M_·i' for B_ij and Ψ_ij, e_i for Λ_ij and Θ_ij; rows of V: Q_j· for B_ij and
        Λ_ij, M_·j' for Ψ_ij, e_j for Θ_ij (halved on the diagonals of Ψ and Θ)."""
        self.set(theta)
        if not hasattr(self, "_owner"):
            self._jacobian_setup()
        beta, lam, psi, th = self.model.matrices[:4]
        C = self._inner(beta)
        M = lam @ C if C is not self._eye_in else lam
        sig_sem = M @ psi @ M.T + th
        Q = C @ psi @ M.T
        sig = sig_sem[self._Pr, self._Pc]
        Mt = M.T
        U = np.concatenate([Mt, self._eye_obs])[self._urow, self._Pc]
        V = np.concatenate([Q, Mt, self._eye_obs])[self._vrow, self._Pc]
        V *= self._half[:, None]
        return sig, U, V

    def sigma_and_grad(self, theta):
        """Σ(θ) and ∂Σ/∂θ_k for every free parameter (K × p × p), in ``prep.names`` order.

        With M = ΛC, C = (I − B)⁻¹ and Q = CΨM': ∂Σ/∂B_ij = M_·i Q_j· + transpose,
        ∂Σ/∂Λ_ij = e_i Q_j· + transpose, ∂Σ/∂Ψ_ij = M_·i M_·j' + transpose (halved on the
        diagonal), ∂Σ/∂Θ_ij = e_i e_j' + transpose (halved on the diagonal).
        """
        K = len(self.active)
        if K == 0:
            self.set(theta)
            return self.sigma()[0], np.zeros((0, self.p, self.p))
        sig, U, V = self._sigma_uv(theta)
        L, p = U.shape
        D = (self._onehot.T @ (U[:, :, None] * V[:, None, :]).reshape(L, p * p)).reshape(K, p, p)
        return sig, D + D.transpose(0, 2, 1)

    def fml(self, theta) -> float:
        """F_ML at ``theta``; ∞ where Σ(θ) is not positive definite (or cannot be computed)."""
        try:
            sig, _, _ = self.sigma(theta)
            L = np.linalg.cholesky(sig)
            inv = np.linalg.inv(sig)
        except np.linalg.LinAlgError:
            return np.inf
        logdet = 2.0 * np.log(np.diag(L)).sum()
        f = float(logdet + np.sum(self.S * inv) - self.logdet_S - self.p)
        return f if np.isfinite(f) else np.inf

    def grad_info(self, theta):
        """F_ML, its gradient and H_kl = tr(Σ⁻¹Σ_kΣ⁻¹Σ_l) (twice the unit expected information);
        ``(inf, None, None)`` where Σ(θ) is not positive definite.

        From the rank-one pieces of :meth:`_sigma_uv` (∂Σ/∂θ_k = Σ_l∈k U_l V_l' + V_l U_l'),
        without forming the K × p × p derivatives: with A = Σ⁻¹,
        tr(A(u v' + v u')A(x y' + y x')) = 2[(u'Ay)(x'Av) + (u'Ax)(v'Ay)], so over locations
        H = 2 E'[(UAV')∘(UAV')' + (UAU')∘(VAV')]E with E the location-to-parameter indicator,
        and g_k = Σ_l∈k 2 U_l'(A − ASA)V_l.  The last result is kept: the fit ends on the point
        its last step evaluated, and the caller asks for it again."""
        key = np.asarray(theta, dtype=float).tobytes()
        last = getattr(self, "_grad_info_last", None)
        if last is not None and last[0] == key:
            return last[1]
        out = self._grad_info(theta)
        self._grad_info_last = (key, out)
        return out

    def _grad_info(self, theta):
        K = len(self.active)
        try:
            if K == 0:
                self.set(theta)
                sig = self.sigma()[0]
                U = V = np.zeros((0, self.p))
            else:
                sig, U, V = self._sigma_uv(theta)
            np.linalg.cholesky(sig)
            inv = np.linalg.inv(sig)
        except np.linalg.LinAlgError:
            return np.inf, None, None
        if not (np.all(np.isfinite(sig)) and np.all(np.isfinite(U)) and np.all(np.isfinite(V))):
            return np.inf, None, None
        sign, logdet = np.linalg.slogdet(sig)
        f = float(logdet + np.sum(self.S * inv) - self.logdet_S - self.p)
        if K == 0:
            return f, np.zeros(0), np.zeros((0, 0))
        cs = inv - inv @ self.S @ inv
        E = self._onehot
        g = E.T @ (2.0 * np.einsum("li,li->l", U @ cs, V))
        UA = U @ inv
        Guv = UA @ V.T
        Hl = 2.0 * (Guv * Guv.T + (UA @ U.T) * ((V @ inv) @ V.T))
        H = E.T @ Hl @ E
        return f, g, 0.5 * (H + H.T)

    # -- fitting -----------------------------------------------------------------------------
    def start(self):
        """semopy's (lavaan-type) starting values."""
        return self.theta_start.copy()

    def semopy_fit(self):
        with _quiet_semopy():
            self._last_set = None  # semopy's solver writes the matrices itself
            res = self.model.fit(obj="MLW", solver="SLSQP")
        return np.array(res.x, dtype=float), res

    def polish(self, theta, max_iter=MAX_POLISH, tol=GRAD_TOL, stall=False):
        """Fisher-scoring Newton steps with step-halving; returns (theta, converged, max|g|, iters).

        ``stall=True`` gives up after ``STALL_RUN`` consecutive steps shortened below ``STALL_STEP``
        (used when another start is left to try).
        """
        theta = np.array(theta, dtype=float)
        f, g, H = self.grad_info(theta)
        if not np.isfinite(f):
            return theta, False, np.inf, 0
        it = 0
        short = 0
        rate = None  # max|g| after the last scoring step over max|g| before it
        prev = None
        for it in range(1, max_iter + 1):
            gmax = float(np.max(np.abs(g))) if g.size else 0.0
            if gmax < tol:
                return theta, True, gmax, it - 1
            if prev is not None:
                rate = gmax / prev if prev > 0 else None
            newton = gmax < 1e-5 and (rate is None or rate > FAST_RATE)
            # near the optimum: Newton with the observed Hessian (numerical derivative of the
            # analytic gradient) converges quadratically where scoring is only linear; while
            # scoring itself shrinks the gradient fast, its steps are cheaper than a Hessian
            step = self._newton_step(theta, g) if newton else None
            if step is None:
                try:
                    step = np.linalg.solve(H, g)
                except np.linalg.LinAlgError:
                    try:
                        step = np.linalg.lstsq(H, g, rcond=None)[0]
                    except np.linalg.LinAlgError:
                        break
            if not np.all(np.isfinite(step)):
                break
            decrement = float(g @ step)
            tiny = 0 <= decrement < 1e-14 * max(1.0, abs(f)) and gmax < SOFT_TOL
            if tiny and not newton:
                # scoring sees no more to gain; the Newton step decides, as it always did
                newton = True
                nstep = self._newton_step(theta, g)
                if nstep is not None and np.all(np.isfinite(nstep)):
                    step = nstep
                    decrement = float(g @ step)
                    tiny = 0 <= decrement < 1e-14 * max(1.0, abs(f)) and gmax < SOFT_TOL
            if tiny:
                # the predicted improvement of F is below its rounding error: this is the optimum
                # to machine precision (the gradient itself cannot get smaller in floating point)
                return theta, True, gmax, it - 1
            cand = armijo_step(self.fml, theta, step, f, decrement)
            if cand is None:
                # no descent along the scoring direction: either we sit at the optimum to machine
                # precision (the Newton decrement g'H^-1 g is at rounding level) or the fit failed
                gmax = float(np.max(np.abs(g)))
                return theta, bool(decrement < 1e-13 * max(1.0, abs(f)) and gmax < SOFT_TOL), gmax, it
            # scoring takes full steps near an optimum; a long run of heavily shortened steps means
            # it is crawling along a ridge (almost collinear constructs) and will not get there
            shortened = np.max(np.abs(cand - theta)) < STALL_STEP * np.max(np.abs(step))
            short = short + 1 if shortened else 0
            if stall and short >= STALL_RUN:
                theta = cand
                f, g, H = self.grad_info(theta)
                break
            theta = cand
            prev = None if shortened else gmax
            f, g, H = self.grad_info(theta)
            if not np.isfinite(f):
                break
        if g is None:
            return theta, False, np.inf, it
        gmax = float(np.max(np.abs(g))) if g.size else 0.0
        return theta, bool(gmax < tol), gmax, it

    def fit(self, max_iter=MAX_POLISH):
        """The ML optimum: Fisher scoring (then Newton) from semopy's starting values; when that
        stalls or fails, semopy's SLSQP solution polished the same way, keeping the converged
        (or lower) optimum.  ``max_iter=0``: semopy's SLSQP optimum as it is.

        Scoring uses the analytic gradient and expected information, so from lavaan's kind of
        starting values it reaches the optimum in a few steps; SLSQP (dozens of iterations with
        semopy's own gradient) is only the fallback for the rare model where scoring crawls along
        a ridge (almost collinear constructs).

        Returns ``(theta, converged, max|g|, iters, note)``; ``note`` says if semopy's solver failed.
        """
        start = self.start()
        first = None
        if max_iter > 0 and np.all(np.isfinite(start)) and np.isfinite(self.fml(start)):
            first = self.polish(start, max_iter=max_iter, stall=True)
            if first[1]:
                return (*first, "")
        note = ""
        try:
            theta0, _ = self.semopy_fit()
        except Exception as exc:  # semopy / scipy failures: polish from the starting values
            theta0, note = start, f" (semopy's solver failed: {exc})"
        if not np.all(np.isfinite(theta0)) or not np.isfinite(self.fml(theta0)):
            theta0 = start
        if first is None:
            return (*self.polish(theta0, max_iter=max_iter), note)

        def from_start():  # scoring from the start, carried on where it gave up (no early stop)
            rest = self.polish(first[0], max_iter=max(max_iter - first[3], 0))
            return (rest[0], rest[1], rest[2], first[3] + rest[3])

        if theta0 is start:
            return (*from_start(), note)
        best = self.polish(theta0, max_iter=max_iter, stall=True)
        if not best[1]:
            alt = from_start()
            if alt[1] or self.fml(alt[0]) < self.fml(best[0]):
                best = alt
        return (*best, note)

    def gradient(self, theta):
        """∂F_ML/∂θ (NaN where Σ(θ) cannot be inverted).

        tr(A(UV' + VU')) = 2 U'AV for the symmetric A = Σ⁻¹ − Σ⁻¹SΣ⁻¹, location by location,
        without forming the K × p × p derivatives."""
        if len(self.active) == 0:
            return np.zeros(0)
        try:
            sig, U, V = self._sigma_uv(theta)
            inv = np.linalg.inv(sig)
        except np.linalg.LinAlgError:
            return np.full(len(self.active), np.nan)
        cs = inv - inv @ self.S @ inv
        return self._onehot.T @ (2.0 * np.einsum("li,li->l", U @ cs, V))

    def _matrices_many(self, thetas: np.ndarray) -> list[np.ndarray]:
        """semopy's Beta, Lambda, Psi and Theta for each row of ``thetas`` (N × K), stacked as
        N × rows × columns arrays, from semopy's own map of parameters to matrix entries."""
        m = self.model
        mats = []
        for mx, (r1, r2) in zip(m.matrices[:4], m.param_ranges[:4]):
            b = np.broadcast_to(mx, (len(thetas),) + mx.shape).copy()
            if r1:
                b[:, np.asarray(r1[0], dtype=int), np.asarray(r1[1], dtype=int)] = thetas[:, np.asarray(r2, dtype=int)]
            mats.append(b)
        return mats

    def gradient_many(self, thetas):
        """:meth:`gradient` at many θ at once (one per row; N × K), the matrices of all θ built
        together from semopy's map of parameters to matrix entries (as :meth:`values_many`)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        N, K = thetas.shape
        if K == 0:
            return np.zeros((N, 0))
        if not hasattr(self, "_owner"):
            self._jacobian_setup()
        beta, lam, psi, th = self._matrices_many(thetas)
        try:
            C = np.linalg.inv(self._eye_in - beta)
            M = lam @ C
            Mt = M.transpose(0, 2, 1)
            sig = (M @ psi @ Mt + th)[:, self._Pr, self._Pc]
            Q = C @ psi @ Mt
            inv = np.linalg.inv(sig)
        except np.linalg.LinAlgError:  # one of them singular: each on its own (NaN for that one)
            out = np.array([self.gradient(t) for t in thetas])
            self._last_set = None
            return out
        eye = np.broadcast_to(self._eye_obs, (N,) + self._eye_obs.shape)
        U = np.concatenate([Mt, eye], axis=1)[:, self._urow, self._Pc]
        V = np.concatenate([Q, Mt, eye], axis=1)[:, self._vrow, self._Pc]
        V *= self._half[:, None]
        cs = inv - inv @ self.S @ inv
        return (2.0 * np.einsum("nli,nli->nl", U @ cs, V)) @ self._onehot

    def _newton_step(self, theta, g):
        """H⁻¹g with the observed Hessian (forward differences of the analytic gradient from
        ``g``, the gradient at ``theta``), or None where that Hessian is not positive definite.
        Its O(h) error only slows Newton's final convergence, not where it converges."""
        K = len(theta)
        h = 1e-6 * np.maximum(1.0, np.abs(theta))
        Hn = ((self.gradient_many(theta + np.diag(h)) - g) / h[:, None]).T
        self.set(theta)
        Hn = 0.5 * (Hn + Hn.T)
        if not np.all(np.isfinite(Hn)) or np.linalg.eigvalsh(Hn)[0] <= 0:
            return None
        return np.linalg.solve(Hn, g)

    def hessian(self, theta):
        """Observed Hessian of F_ML by central differences of the analytic gradient."""
        K = len(theta)
        Hn = np.empty((K, K))
        for k in range(K):
            h = 1e-5 * max(1.0, abs(theta[k]))
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            Hn[:, k] = (self.gradient(tp) - self.gradient(tm)) / (2 * h)
        self.set(theta)
        return 0.5 * (Hn + Hn.T)

    # -- parameter values --------------------------------------------------------------------
    def _memo(self, kind: str, theta):
        """The cache of a pure function of θ (the delta-method Jacobians of the effects and of
        the standardised solution evaluate the same perturbed points)."""
        cache = self.__dict__.setdefault("_memo_cache", {})
        key = (kind, np.asarray(theta, dtype=float).tobytes())
        return cache, key

    def row_values(self, theta):
        cache, key = self._memo("rows", theta)
        if key in cache:  # (the matrices keep whatever θ they hold: callers set θ when they need it)
            return cache[key].copy()
        self.set(theta)
        out = self._row_values(theta)
        if len(cache) > 1024:
            cache.clear()
        cache[key] = out.copy()
        return out

    def _row_values(self, theta):
        mats = self.model.matrices
        if not hasattr(self, "_loc_idx"):
            loc = np.array(self.loc, dtype=int).reshape(-1, 3)
            self._loc_idx = [(m, np.flatnonzero(loc[:, 0] == m), loc[loc[:, 0] == m, 1], loc[loc[:, 0] == m, 2])
                             for m in range(4) if (loc[:, 0] == m).any()]
        out = np.empty(len(self.loc))
        for m, rows, ii, jj in self._loc_idx:
            out[rows] = mats[m][ii, jj]
        return out

    def implied_variances(self, theta):
        """Model-implied total variances of every variable (latent and observed), by name."""
        cache, key = self._memo("var", theta)
        if key in cache:
            var, cov_inner = cache[key]
            return dict(var), cov_inner.copy()
        self.set(theta)
        var, cov_inner = self._implied_variances()
        if len(cache) > 1024:
            cache.clear()
        cache[key] = (dict(var), cov_inner.copy())
        return var, cov_inner

    def values_many(self, thetas: np.ndarray):
        """:meth:`row_values` and :meth:`implied_variances` of many θ at once (one per row).

        Returns ``(rows, names, variances)``: an N × rows array, the variables' names in the
        order :meth:`implied_variances` gives them, and an N × variables array.  The matrices
        are built for all θ together from semopy's own map of parameters to matrix entries.
        """
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        N = len(thetas)
        mats = self._matrices_many(thetas)
        beta, lam, psi, theta_m = mats
        c = np.linalg.inv(np.eye(beta.shape[1]) - beta)
        cov_inner = c @ psi @ c.transpose(0, 2, 1)
        sig = lam @ cov_inner @ lam.transpose(0, 2, 1) + theta_m
        names = list(dict.fromkeys(self.obs_names + self.inner_names))
        pos = {v: i for i, v in enumerate(names)}
        var = np.empty((N, len(names)))
        var[:, [pos[v] for v in self.obs_names]] = np.diagonal(sig, axis1=1, axis2=2)
        var[:, [pos[v] for v in self.inner_names]] = np.diagonal(cov_inner, axis1=1, axis2=2)
        if not hasattr(self, "_loc_idx"):
            self._row_values(self._last_set if getattr(self, "_last_set", None) is not None else thetas[0])
        rows = np.empty((N, len(self.loc)))
        for t, idx, ii, jj in self._loc_idx:
            rows[:, idx] = mats[t][:, ii, jj]
        return rows, names, var

    def _implied_variances(self):
        beta, lam, psi, theta_m = self.model.matrices[:4]
        c = np.linalg.inv(np.eye(beta.shape[0]) - beta)
        cov_inner = c @ psi @ c.T
        sig = lam @ cov_inner @ lam.T + theta_m
        out = {}
        for i, v in enumerate(self.obs_names):
            out[v] = sig[i, i]
        for i, v in enumerate(self.inner_names):
            out[v] = cov_inner[i, i]
        return out, cov_inner


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------
class _StdPlan:
    """Which rows of a parameter table standardise how (built once per table and variables)."""

    def __init__(self, pt: ParTable, names: tuple):
        rows = pt.rows
        self.n = len(rows)
        self.names = names
        pos = {v: i for i, v in enumerate(names)}
        missing = len(names)  # index of a NaN appended to the variances
        self.il = np.array([pos.get(r.lhs, missing) for r in rows], dtype=int)
        self.ir = np.array([pos.get(r.rhs, missing) for r in rows], dtype=int)
        own_var = {}
        for k, r in enumerate(rows):
            if r.op == "~~" and r.lhs == r.rhs:
                own_var[r.lhs] = k  # the last such row wins, as in a dict built row by row
        self.pl = np.array([own_var.get(r.lhs, self.n) for r in rows], dtype=int)
        self.pr = np.array([own_var.get(r.rhs, self.n) for r in rows], dtype=int)
        self.load = np.array([r.op == "=~" for r in rows], dtype=bool)
        self.path = np.array([r.op == "~" for r in rows], dtype=bool)
        self.own = np.array([r.op not in ("=~", "~") and r.lhs == r.rhs for r in rows], dtype=bool)
        self.cov = ~(self.load | self.path | self.own)


def standardize_many(pt: ParTable, est: np.ndarray, names, var: np.ndarray) -> np.ndarray:
    """:func:`standardize` for many solutions at once: ``est`` N × rows, ``var`` N × variables
    (in the order of ``names``)."""
    names = tuple(names)
    plan = pt.__dict__.get("_std_plan")
    if plan is None or plan.names != names or plan.n != len(pt.rows):
        plan = pt.__dict__["_std_plan"] = _StdPlan(pt, names)
    est = np.atleast_2d(np.asarray(est, dtype=float))
    nan = np.full((len(est), 1), np.nan)
    v = np.hstack([np.atleast_2d(var), nan])
    e = np.hstack([est, nan])
    vl, vr, pl, pr = v[:, plan.il], v[:, plan.ir], e[:, plan.pl], e[:, plan.pr]
    out = np.full(est.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        both = (vl > 0) & (vr > 0)
        k = plan.load & both
        out[k] = est[k] * np.sqrt(vl[k]) / np.sqrt(vr[k])
        k = plan.path & both
        out[k] = est[k] * np.sqrt(vr[k]) / np.sqrt(vl[k])
        k = plan.own & (vl > 0)
        out[k] = est[k] / vl[k]
        k = plan.cov & (pl > 0) & (pr > 0)
        out[k] = est[k] / np.sqrt(pl[k] * pr[k])
    return out


def standardize(pt: ParTable, est: np.ndarray, var: dict) -> np.ndarray:
    """lavaan's std.all for every row (``cov.std = TRUE``)."""
    values = np.fromiter(var.values(), dtype=float, count=len(var))
    return standardize_many(pt, np.asarray(est, dtype=float)[None, :], tuple(var), values[None, :])[0]


def rmsea_ci(chisq: float, df: float, n: float, level: float = 0.90):
    """RMSEA confidence interval by inverting the non-central χ² cdf (lavaan ``lav_fit_rmsea_ci``)."""
    if df < 1 or not np.isfinite(chisq):
        return np.nan, np.nan
    lo_p, hi_p = 1 - (1 - level) / 2, (1 - level) / 2   # 0.95, 0.05

    def cdf(lam):
        # scipy's chi2.cdf and ncx2.cdf are chdtr and chndtr for x > 0, behind a generic wrapper
        # that costs a hundred times the function itself (brentq calls this dozens of times)
        if chisq > 0:
            return float(special.chdtr(df, chisq)) if lam <= 0 else float(special.chndtr(chisq, df, lam))
        return stats.chi2.cdf(chisq, df) if lam <= 0 else stats.ncx2.cdf(chisq, df, lam)

    if cdf(0.0) < lo_p:
        lower = 0.0
    else:
        hi = max(chisq, 1.0)
        while cdf(hi) - lo_p > 0:
            hi *= 2
        lam = optimize.brentq(lambda L: cdf(L) - lo_p, 0.0, hi, xtol=1e-12, rtol=1e-14)
        lower = math.sqrt(lam / (n * df))
    if cdf(0.0) < hi_p:
        upper = 0.0
    else:
        hi = max(n, 4 * chisq, 1.0)
        while cdf(hi) - hi_p > 0:
            hi *= 2
        lam = optimize.brentq(lambda L: cdf(L) - hi_p, 0.0, hi, xtol=1e-12, rtol=1e-14)
        upper = math.sqrt(lam / (n * df))
    return lower, upper


def fit_indices(chisq: float, df: float, chisq_b: float, df_b: float, n: float):
    """CFI, TLI, RMSEA and its 90% interval from the model and baseline χ² (lavaan's formulas)."""
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, chisq_b - df_b, 0.0)
    cfi = 1.0 if (abs(t1) < 1e-12 and abs(t2) < 1e-12) else 1.0 - t1 / t2
    if df > 0:
        a = chisq_b / df_b - chisq / df
        b = chisq_b / df_b - 1.0
        tli = 1.0 if (a < 0 and b < 0) else a / b
        rmsea = math.sqrt(max(chisq - df, 0.0) / (df * n))
    else:
        tli, rmsea = 1.0, 0.0
    lo, hi = rmsea_ci(chisq, df, n)
    return cfi, tli, rmsea, lo, hi


def fit_measures(eng: Engine, theta: np.ndarray, n: float, npar: int) -> dict:
    """lavaan's fitMeasures (ML, normal likelihood) for the fitted model."""
    S, p = eng.S, eng.p
    sig, _, _ = eng.sigma(theta)
    inv = np.linalg.inv(sig)
    _, logdet = np.linalg.slogdet(sig)
    f = float(logdet + np.sum(S * inv) - eng.logdet_S - p)
    chisq = n * max(f, 0.0) if f > -1e-12 else n * f
    names = eng.prep.names
    ov_x = [names.index(v) for v in eng.pt.ov_x]
    kx = len(ov_x)
    moments = p * (p + 1) // 2 - kx * (kx + 1) // 2
    df = moments - npar
    pval = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    # baseline: independence model, covariates' block saturated (fixed.x)
    d = np.diag(S).copy()
    non_x = [i for i in range(p) if i not in ov_x]
    logdet_b = float(np.log(d[non_x]).sum())
    if kx:
        logdet_b += float(np.linalg.slogdet(S[np.ix_(ov_x, ov_x)])[1])
    chisq_b = n * (logdet_b - eng.logdet_S)
    df_b = moments - len(non_x)
    cfi, tli, rmsea, lo, hi = fit_indices(chisq, df, chisq_b, df_b, n)
    sd = np.sqrt(np.diag(S))
    resid = (S - sig) / np.outer(sd, sd)
    iu = np.triu_indices(p)
    srmr = math.sqrt(float(np.mean(resid[iu] ** 2)))
    logl = -0.5 * n * (logdet + float(np.sum(S * inv)) + p * math.log(2 * math.pi))
    logl_sat = -0.5 * n * (eng.logdet_S + p + p * math.log(2 * math.pi))
    if kx:
        # fixed.x: lavaan reports the likelihood conditional on the covariates, i.e. the joint
        # log-likelihood minus the covariates' own (saturated) marginal log-likelihood
        Sxx = S[np.ix_(ov_x, ov_x)]
        logl_x = -0.5 * n * (float(np.linalg.slogdet(Sxx)[1]) + kx + kx * math.log(2 * math.pi))
        logl -= logl_x
        logl_sat -= logl_x
    return {
        "chisq": chisq, "df": float(df), "p_val": pval,
        "cfi": cfi, "tli": tli,
        "rmsea": rmsea, "rmsea_ci_low": lo, "rmsea_ci_high": hi,
        "srmr": srmr,
        "aic": -2 * logl + 2 * npar, "bic": -2 * logl + math.log(n) * npar,
        "n": float(n),
        "npar": float(npar), "logl": logl, "unrestricted_logl": logl_sat,
        "baseline_chisq": chisq_b, "baseline_df": float(df_b), "fmin": f / 2,
    }


def structural_effects(pt: ParTable, est: np.ndarray):
    """Direct-effect matrix B over the structural variables (variables in '~' rows)."""
    regs = [(k, r) for k, r in enumerate(pt.rows) if r.op == "~"]
    names: list[str] = []
    for _, r in regs:
        for v in (r.rhs, r.lhs):
            if v not in names:
                names.append(v)
    idx = {v: i for i, v in enumerate(names)}
    B = np.zeros((len(names), len(names)))
    pattern = np.zeros_like(B, dtype=bool)
    for k, r in regs:
        B[idx[r.lhs], idx[r.rhs]] = est[k]
        pattern[idx[r.lhs], idx[r.rhs]] = True
    return names, B, pattern


def reachability(pattern: np.ndarray) -> np.ndarray:
    n = pattern.shape[0]
    R = pattern.copy()
    for _ in range(n):
        R2 = R | ((R.astype(int) @ pattern.astype(int)) > 0)
        if (R2 == R).all():
            break
        R = R2
    return R
