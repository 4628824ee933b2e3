"""Casewise maximum likelihood for :mod:`workbench.drivers`: FIML, EM, robust (sandwich) statistics.

Why written here: semopy's FIML objective takes no sampling weights, estimates no saturated (h1)
model — without which there is no χ² test or fit index — and reports neither lavaan's
observed-information standard errors nor the robust (Huber–White) ones lavaan uses with sampling
weights.  The covariance structure Σ(θ) and its derivatives still come from semopy through
:class:`workbench._sem.Engine`; this module adds the likelihood of incomplete, weighted data.

Model.  Every observed variable that is not an exogenous covariate has a free mean μ_j (lavaan's
free intercepts; latent means are 0), so μ is saturated and the covariance structure carries the
model.  Observed covariates under ``fixed.x`` keep their sample means and (co)variances; rows with
a missing covariate are dropped, as lavaan does.

Likelihood (Arbuckle 1996; lavaan ``missing = "ml"``).  Rows are grouped by their pattern of
observed variables o; a pattern k with weight total W_k, weighted mean x̄_k and covariance S_k
(divisor W_k) contributes

    log L_k = −½ W_k [ p_k log 2π + log|Σ_oo| + tr(Σ_oo⁻¹ (S_k + (x̄_k − μ_o)(x̄_k − μ_o)')) ]

Sampling weights are rescaled to sum to the number of rows used (lavaan's convention); unweighted
rows have weight 1.  With dℓ = g_μ'dμ + ½ tr(G dΣ), G = Σ_k W_k [Σ_oo⁻¹ M_k Σ_oo⁻¹ − Σ_oo⁻¹] (padded
with zeros), M_k = S_k + d_k d_k', the gradient in θ is ½ tr(G ∂Σ/∂θ_a).

Saturated model (h1).  EM for the multivariate normal with missing values (Dempster, Laird &
Rubin 1977; Little & Rubin 2002, §11.2), weighted, finished with Newton steps on the analytic
observed information so that the h1 log-likelihood is exact.

Standard errors.  Unweighted: the inverse observed information (numerical derivative of the
analytic gradient), lavaan's default for ``missing = "ml"``.  Weighted: the sandwich
A⁻¹BA⁻¹/N with A the observed information per case and B = Σ_i w_i² s_i s_i'/N from the casewise
scores s_i (lavaan's ``se = "robust.huber.white"``, the default with sampling weights).

Scaled test (weighted).  Yuan & Bentler (2000) in the form lavaan calls ``"yuan.bentler.mplus"``:
c = [tr(A₁⁻¹B₁) − tr(A₀⁻¹B₀)]/df with A₁, B₁ the observed information and weighted score
cross-products of the saturated model at its own estimates (sample moments, or the EM estimates
under FIML) and A₀, B₀ those of the model at θ̂; χ²_scaled = χ²/c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._sem import armijo_step
from .errors import DataError

__all__: list[str] = []

LOG2PI = math.log(2 * math.pi)
GRAD_TOL = 1e-9          # max |∂(−ℓ/N)/∂φ| at the FIML optimum
SOFT_TOL = 1e-6
EM_TOL = 1e-7            # EM stops here, Newton finishes
MAX_EM = 2000


# --------------------------------------------------------------------------------------------
# missing-data patterns
# --------------------------------------------------------------------------------------------
@dataclass
class Pattern:
    obs: np.ndarray           # indices of the observed variables
    rows: np.ndarray          # row indices into X
    W: float                  # weight total
    xbar: np.ndarray          # weighted mean of the observed variables
    S: np.ndarray             # weighted covariance (divisor W)


@dataclass
class Batch:
    """Patterns with the same number m of observed variables, stacked for vectorised algebra."""

    obs: np.ndarray           # P × m variable indices
    W: np.ndarray             # P weight totals
    xbar: np.ndarray          # P × m
    S: np.ndarray             # P × m × m


@dataclass
class Patterns:
    """Rows of X (NaN = missing) grouped by pattern; weights rescaled to sum to the row count."""

    X: np.ndarray
    w: np.ndarray
    groups: list = field(default_factory=list)
    batches: list = field(default_factory=list)

    @classmethod
    def from_data(cls, X: np.ndarray, w: np.ndarray | None) -> "Patterns":
        n, p = X.shape
        w = np.ones(n) if w is None else np.asarray(w, dtype=float) * (n / np.sum(w))
        seen = ~np.isnan(X)
        _, inverse = np.unique(seen, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        groups = []
        for k in range(inverse.max() + 1):
            rows = np.where(inverse == k)[0]
            obs = np.where(seen[rows[0]])[0]
            Xo = X[np.ix_(rows, obs)]
            wk = w[rows]
            W = float(wk.sum())
            xbar = wk @ Xo / W
            Xc = Xo - xbar
            groups.append(Pattern(obs, rows, W, xbar, (Xc * wk[:, None]).T @ Xc / W))
        groups.sort(key=lambda g: (-len(g.obs), g.obs.tolist()))
        batches = []
        for m in sorted({len(g.obs) for g in groups}, reverse=True):
            gs = [g for g in groups if len(g.obs) == m]
            batches.append(Batch(np.array([g.obs for g in gs]), np.array([g.W for g in gs]),
                                 np.array([g.xbar for g in gs]), np.array([g.S for g in gs])))
        return cls(X, w, groups, batches)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def p(self) -> int:
        return self.X.shape[1]


# --------------------------------------------------------------------------------------------
# log-likelihood, gradient, casewise scores for given moments
# --------------------------------------------------------------------------------------------
def _inv_logdet(A):
    L = np.linalg.cholesky(A)
    Li = np.linalg.inv(L)
    return Li.T @ Li, 2.0 * float(np.log(np.diag(L)).sum())


def _batch_inv(sigma, b: Batch):
    """Σ_oo of every pattern in the batch, its inverse and log-determinant (None if not p.d.)."""
    sub = sigma[b.obs[:, :, None], b.obs[:, None, :]]
    try:
        L = np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:
        return None, None
    eye = np.broadcast_to(np.eye(sub.shape[1]), sub.shape)
    Li = np.linalg.solve(L, eye)
    inv = np.swapaxes(Li, 1, 2) @ Li
    logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    return inv, logdet


def loglik(pat: Patterns, mu: np.ndarray, sigma: np.ndarray) -> float:
    """Weighted normal log-likelihood of the incomplete data (−inf if Σ is not positive definite)."""
    total = 0.0
    for b in pat.batches:
        inv, logdet = _batch_inv(sigma, b)
        if inv is None:
            return -np.inf
        d = b.xbar - mu[b.obs]
        quad = np.einsum("pij,pji->p", inv, b.S) + np.einsum("pi,pij,pj->p", d, inv, d)
        total += float(np.sum(-0.5 * b.W * (b.obs.shape[1] * LOG2PI + logdet + quad)))
    return total


def moment_gradient(pat: Patterns, mu, sigma):
    """(ℓ, g_μ, G) with dℓ = g_μ'dμ + ½ tr(G dΣ) for a symmetric perturbation dΣ."""
    p = pat.p
    g_mu = np.zeros(p)
    G = np.zeros((p, p))
    total = 0.0
    for b in pat.batches:
        inv, logdet = _batch_inv(sigma, b)
        if inv is None:
            return -np.inf, None, None
        d = b.xbar - mu[b.obs]
        M = b.S + d[:, :, None] * d[:, None, :]
        iM = inv @ M
        total += float(np.sum(-0.5 * b.W * (b.obs.shape[1] * LOG2PI + logdet
                                             + np.trace(iM, axis1=1, axis2=2))))
        np.add.at(g_mu, b.obs, b.W[:, None] * np.einsum("pij,pj->pi", inv, d))
        np.add.at(G, (b.obs[:, :, None], b.obs[:, None, :]), b.W[:, None, None] * (iM @ inv - inv))
    return total, g_mu, 0.5 * (G + G.T)


def casewise_moment_scores(pat: Patterns, mu, sigma):
    """Per-row scores (unweighted) ∂ℓ_i/∂μ (n × p) and the matrices G_i (n × p × p) with
    ∂ℓ_i = s_μ,i'dμ + ½ tr(G_i dΣ); zero where the variable is missing."""
    n, p = pat.n, pat.p
    s_mu = np.zeros((n, p))
    Gi = np.zeros((n, p, p))
    for g in pat.groups:
        o = g.obs
        inv, _ = _inv_logdet(sigma[np.ix_(o, o)])
        E = pat.X[np.ix_(g.rows, o)] - mu[o]
        U = E @ inv
        s_mu[np.ix_(g.rows, o)] = U
        Gi[np.ix_(g.rows, o, o)] = U[:, :, None] * U[:, None, :] - inv[None]
    return s_mu, Gi


# --------------------------------------------------------------------------------------------
# the saturated model: EM, then Newton on the analytic observed information
# --------------------------------------------------------------------------------------------
def _vech_index(p, keep=None):
    """Index pairs (i, j), i <= j, of the free covariances (``keep``: variables with free moments)."""
    keep = np.ones(p, bool) if keep is None else keep
    return [(i, j) for j in range(p) for i in range(j + 1) if keep[i] or keep[j]]


def saturated_information(pat: Patterns, mu, sigma, mean_idx, cov_idx):
    """Observed information per case (−∂²ℓ/∂ψ∂ψ' / N) of the saturated model, ψ = (μ[mean_idx],
    σ_ij for (i, j) in cov_idx), at the given moments.

    With J = Σ_oo⁻¹ and M = S_k + d d' of a pattern (padded with zeros to p × p) and E_r the
    symmetric unit perturbation of σ_r: −∂²ℓ/∂μ∂μ' = W J, −∂²ℓ/∂μ∂σ_r = W J E_r J d,
    −∂²ℓ/∂σ_r∂σ_s = W [tr(E_r J E_s JMJ) − ½ tr(E_r J E_s J)] (Savalei 2010).
    """
    p = pat.p
    mean_idx = np.asarray(mean_idx, dtype=int)
    ci = np.array([i for i, _ in cov_idx], dtype=int)
    cj = np.array([j for _, j in cov_idx], dtype=int)
    nm, nc = len(mean_idx), len(cov_idx)
    off_r, off_s = (ci != cj)[:, None], (ci != cj)[None, :]

    def pair_terms(X, Y, W):
        # Σ_k W_k tr(E_r X_k E_s Y_k) for symmetric X, Y: each of E_r's terms e_a e_b' with each
        # of E_s's terms e_c e_d' gives X[b, c] Y[d, a]
        def term(a, b, c, d):
            return np.einsum("k,krs,krs->rs", W, X[:, b[:, None], c[None, :]], Y[:, d[None, :], a[:, None]])
        t = term(ci, cj, ci, cj)
        t = t + np.where(off_r, term(cj, ci, ci, cj), 0)
        t = t + np.where(off_s, term(ci, cj, cj, ci), 0)
        t = t + np.where(off_r & off_s, term(cj, ci, cj, ci), 0)
        return t

    A = np.zeros((nm + nc, nm + nc))
    for b in pat.batches:
        inv, _ = _batch_inv(sigma, b)
        P = len(b.W)
        J = np.zeros((P, p, p))
        rows = np.arange(P)[:, None, None]
        J[rows, b.obs[:, :, None], b.obs[:, None, :]] = inv
        d = np.zeros((P, p))
        d[np.arange(P)[:, None], b.obs] = b.xbar - mu[b.obs]
        M = np.zeros((P, p, p))
        dd = b.xbar - mu[b.obs]
        M[rows, b.obs[:, :, None], b.obs[:, None, :]] = b.S + dd[:, :, None] * dd[:, None, :]
        JMJ = J @ M @ J
        Jd = np.einsum("kij,kj->ki", J, d)
        A[:nm, :nm] += np.einsum("k,kij->ij", b.W, J[:, mean_idx[:, None], mean_idx[None, :]])
        A[nm:, nm:] += -0.5 * pair_terms(J, J, b.W) + pair_terms(J, JMJ, b.W)
        cross = np.einsum("k,kmr,kr->mr", b.W, J[:, mean_idx[:, None], ci[None, :]], Jd[:, cj])
        cross = cross + np.where(off_s, np.einsum("k,kmr,kr->mr", b.W, J[:, mean_idx[:, None], cj[None, :]],
                                                  Jd[:, ci]), 0)
        A[:nm, nm:] += cross
    A[nm:, :nm] = A[:nm, nm:].T
    return A / pat.n


def saturated_scores(pat: Patterns, mu, sigma, mean_idx, cov_idx):
    """Casewise scores (n × dim ψ) of the saturated model at the given moments."""
    s_mu, Gi = casewise_moment_scores(pat, mu, sigma)
    ci = np.array([i for i, _ in cov_idx], dtype=int)
    cj = np.array([j for _, j in cov_idx], dtype=int)
    s_cov = np.where(ci == cj, 0.5, 1.0)[None, :] * Gi[:, ci, cj]
    return np.column_stack([s_mu[:, mean_idx], s_cov])


def em(pat: Patterns, *, fixed_mean=None, tol=EM_TOL, max_iter=MAX_EM):
    """EM estimates of the saturated mean vector and covariance matrix, polished by Newton steps.

    ``fixed_mean`` (boolean mask) marks complete covariates; their moments are the sample ones
    either way.  Returns ``(mu, sigma, logl, converged)``.
    """
    X, w, p, n = pat.X, pat.w, pat.p, pat.n
    mu = np.array([np.average(X[~np.isnan(X[:, j]), j], weights=w[~np.isnan(X[:, j])]) for j in range(p)])
    var = np.array([np.average((X[~np.isnan(X[:, j]), j] - mu[j]) ** 2, weights=w[~np.isnan(X[:, j])])
                    for j in range(p)])
    sigma = np.diag(var)
    if len(pat.groups) == 1 and len(pat.groups[0].obs) == p:
        g = pat.groups[0]
        return g.xbar.copy(), g.S.copy(), loglik(pat, g.xbar, g.S), True
    for _ in range(max_iter):
        T1 = np.zeros(p)
        T2 = np.zeros((p, p))
        for g in pat.groups:
            o = g.obs
            m = np.setdiff1d(np.arange(p), o)
            Q = g.S + np.outer(g.xbar, g.xbar)
            if not len(m):
                T1 += g.W * g.xbar
                T2 += g.W * Q
                continue
            B = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)]).T      # m × o
            C = sigma[np.ix_(m, m)] - B @ sigma[np.ix_(o, m)]
            a = mu[m] - B @ mu[o]
            xm = a + B @ g.xbar
            T1[o] += g.W * g.xbar
            T1[m] += g.W * xm
            T2[np.ix_(o, o)] += g.W * Q
            mo = np.outer(a, g.xbar) + B @ Q
            T2[np.ix_(m, o)] += g.W * mo
            T2[np.ix_(o, m)] += g.W * mo.T
            T2[np.ix_(m, m)] += g.W * (np.outer(a, a) + np.outer(a, B @ g.xbar) + np.outer(B @ g.xbar, a)
                                       + B @ Q @ B.T + C)
        new_mu = T1 / n
        new_sigma = T2 / n - np.outer(new_mu, new_mu)
        new_sigma = 0.5 * (new_sigma + new_sigma.T)
        change = max(np.max(np.abs(new_mu - mu)), np.max(np.abs(new_sigma - sigma)))
        mu, sigma = new_mu, new_sigma
        if change < tol:
            break
    # Newton on (μ, vech Σ) with the analytic observed information
    mean_idx = np.arange(p)
    cov_idx = _vech_index(p)
    ci = np.array([i for i, _ in cov_idx])
    cj = np.array([j for _, j in cov_idx])
    converged = False
    for _ in range(50):
        ll, g_mu, G = moment_gradient(pat, mu, sigma)
        grad = np.concatenate([g_mu, np.where(ci == cj, 0.5, 1.0) * G[ci, cj]]) / n
        if np.max(np.abs(grad)) < 1e-11:
            converged = True
            break
        A = saturated_information(pat, mu, sigma, mean_idx, cov_idx)
        step = np.linalg.solve(A, grad)
        t = 1.0
        for _ in range(30):
            mu2 = mu + t * step[:p]
            s2 = sigma.copy()
            s2[ci, cj] += t * step[p:]
            s2[cj, ci] = s2[ci, cj]
            if loglik(pat, mu2, s2) >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
        mu, sigma = mu2, s2
    else:
        ll, g_mu, G = moment_gradient(pat, mu, sigma)
        converged = np.max(np.abs(np.concatenate([g_mu, G[ci, cj]]))) / n < SOFT_TOL
    return mu, sigma, loglik(pat, mu, sigma), bool(converged)


# --------------------------------------------------------------------------------------------
# data preparation for FIML
# --------------------------------------------------------------------------------------------
@dataclass
class FimlData:
    names: list
    X: np.ndarray             # rows used, NaN = missing
    w: np.ndarray | None      # their sampling weights (None = unweighted)
    pat: Patterns
    n_rows: int
    n_eff: float
    n_dropped: int
    n_complete: int           # rows complete on every model variable
    dropped: dict             # reason -> rows
    index: pd.Index
    x_mask: np.ndarray        # True for observed exogenous covariates (fixed.x)
    mu_h1: np.ndarray = None
    S_h1: np.ndarray = None
    logl_h1: float = np.nan
    h1_converged: bool = True


def prepare(data: pd.DataFrame, pt, weight) -> FimlData:
    """Rows for FIML: every row with at least one model variable answered, complete covariates
    and a positive weight; the saturated moments by EM."""
    from ._sem import check_columns, check_numeric, resolve_weight

    check_columns(data, pt)
    names = pt.observed
    w = resolve_weight(data, weight)
    check_numeric(data, names)
    X = np.array(data[names].to_numpy(dtype=float), dtype=float, copy=True)
    X[~np.isfinite(X)] = np.nan
    x_mask = np.array([v in pt.ov_x for v in names])
    ok = np.ones(len(X), bool)
    dropped = {}
    if w is not None:
        wv = w.to_numpy()
        bad_w = ~(np.isfinite(wv) & (wv > 0))
        dropped["weight"] = int(bad_w.sum())
        ok &= ~bad_w
    if x_mask.any():
        miss_x = np.isnan(X[:, x_mask]).any(axis=1) & ok
        dropped["covariate"] = int(miss_x.sum())
        ok &= ~miss_x
    empty = np.isnan(X[:, ~x_mask]).all(axis=1) & ok
    dropped["empty"] = int(empty.sum())
    ok &= ~empty
    Xk = X[ok]
    wk = None if w is None else w.to_numpy()[ok]
    n_rows, p = Xk.shape
    if n_rows <= p:
        raise DataError(f"data: {n_rows} usable rows for {p} observed variables "
                        f"({', '.join(names)}); expected more rows than variables")
    for j, v in enumerate(names):
        col = Xk[:, j]
        seen = col[~np.isnan(col)]
        if len(seen) < 2:
            raise DataError(f"column {v!r}: answered in {len(seen)} of the {n_rows} rows used; an item "
                            "needs answers to be modelled — drop it from the model")
        if np.ptp(seen) <= 1e-10 * max(1.0, abs(seen).max()):
            raise DataError(f"column {v!r}: zero variance among the {len(seen)} rows that answer it "
                            f"(every answer is {seen[0]:g}); an item without variation cannot be "
                            "modelled — drop it from the model")
    pat = Patterns.from_data(Xk, wk)
    n_eff = float(n_rows) if wk is None else float(wk.sum() ** 2 / (wk ** 2).sum())
    out = FimlData(names=list(names), X=Xk, w=wk, pat=pat, n_rows=n_rows, n_eff=n_eff,
                   n_dropped=int(len(data) - n_rows), n_complete=int((~np.isnan(Xk)).all(axis=1).sum()),
                   dropped=dropped, index=data.index[ok], x_mask=x_mask)
    mu, S, ll, conv = em(pat)
    out.mu_h1, out.S_h1, out.logl_h1, out.h1_converged = mu, S, ll, conv
    return out


def imputed(fd: FimlData) -> np.ndarray:
    """Rows with missing values replaced by their conditional means under the h1 moments
    (only used by semopy for starting values)."""
    X = fd.X.copy()
    mu, S = fd.mu_h1, fd.S_h1
    p = X.shape[1]
    for g in fd.pat.groups:
        o = g.obs
        m = np.setdiff1d(np.arange(p), o)
        if not len(m):
            continue
        B = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T
        X[np.ix_(g.rows, m)] = mu[m] + (X[np.ix_(g.rows, o)] - mu[o]) @ B.T
    return X


# --------------------------------------------------------------------------------------------
# the structured model
# --------------------------------------------------------------------------------------------
class Casewise:
    """−ℓ/N of the structured model over φ = (θ, μ_free), its gradient, Hessian and scores.

    ``eng`` is a :class:`workbench._sem.Engine` (Σ(θ) and ∂Σ/∂θ in ``names`` order); ``pat`` the
    patterns; ``x_mask`` the covariates whose means stay at their sample values ``mu_fixed``.
    """

    def __init__(self, eng, pat: Patterns, x_mask: np.ndarray, mu_fixed: np.ndarray):
        self.eng = eng
        self.pat = pat
        self.K = len(eng.active)
        self.free = np.where(~x_mask)[0]
        self.mu_fixed = np.asarray(mu_fixed, dtype=float)
        self.dim = self.K + len(self.free)

    def split(self, phi):
        mu = self.mu_fixed.copy()
        mu[self.free] = phi[self.K:]
        return np.asarray(phi[:self.K]), mu

    def f(self, phi) -> float:
        """−ℓ/N; ∞ where Σ(θ) cannot be computed or a pattern's Σ_oo is not positive definite."""
        theta, mu = self.split(phi)
        try:
            sig, _, _ = self.eng.sigma(theta)
        except np.linalg.LinAlgError:
            return np.inf
        f = -loglik(self.pat, mu, sig) / self.pat.n
        return f if np.isfinite(f) else np.inf

    def grad(self, phi):
        """(−ℓ/N, its gradient); ``(inf, None)`` where the likelihood is not defined."""
        theta, mu = self.split(phi)
        try:
            sig, D = self.eng.sigma_and_grad(theta)
        except np.linalg.LinAlgError:
            return np.inf, None
        ll, g_mu, G = moment_gradient(self.pat, mu, sig)
        if g_mu is None:
            return np.inf, None
        g_theta = 0.5 * np.einsum("ij,kij->k", G, D)
        return -ll / self.pat.n, -np.concatenate([g_theta, g_mu[self.free]]) / self.pat.n

    def hessian(self, phi):
        """Observed information per case: central differences of the analytic gradient (NaN
        columns where a difference point leaves the region where the likelihood is defined)."""
        H = np.empty((self.dim, self.dim))
        for k in range(self.dim):
            h = 1e-5 * max(1.0, abs(phi[k]))
            tp, tm = phi.copy(), phi.copy()
            tp[k] += h
            tm[k] -= h
            gp, gm = self.grad(tp)[1], self.grad(tm)[1]
            H[:, k] = np.nan if gp is None or gm is None else (gp - gm) / (2 * h)
        self.eng.set(phi[:self.K])
        return 0.5 * (H + H.T)

    def scores(self, phi):
        """Casewise scores ∂ℓ_i/∂φ (n × dim), unweighted."""
        theta, mu = self.split(phi)
        sig, D = self.eng.sigma_and_grad(theta)
        s_mu, Gi = casewise_moment_scores(self.pat, mu, sig)
        s_theta = 0.5 * np.einsum("nij,kij->nk", Gi, D)
        return np.column_stack([s_theta, s_mu[:, self.free]])

    def fit(self, phi, max_iter=100, tol=GRAD_TOL):
        """Newton steps with the observed information and step-halving from ``phi``."""
        phi = np.array(phi, dtype=float)
        f, g = self.grad(phi)
        if g is None or not np.isfinite(f):
            return phi, False, np.inf, 0
        it = 0
        for it in range(1, max_iter + 1):
            gmax = float(np.max(np.abs(g)))
            if gmax < tol:
                return phi, True, gmax, it - 1
            H = self.hessian(phi)
            try:
                if not np.all(np.isfinite(H)):
                    raise np.linalg.LinAlgError
                step = np.linalg.solve(H, g)
                if not float(g @ step) > 0:
                    raise np.linalg.LinAlgError
            except np.linalg.LinAlgError:
                d = np.abs(np.diag(H))
                d[~np.isfinite(d)] = 1.0
                step = g / np.maximum(d, 1e-8)
            cand = armijo_step(self.f, phi, step, f, float(g @ step))
            if cand is None:
                return phi, bool(gmax < SOFT_TOL), gmax, it
            phi = cand
            f, g = self.grad(phi)
            if g is None:
                break
        gmax = float(np.max(np.abs(g))) if g is not None else np.inf
        return phi, bool(gmax < tol), gmax, it

    def vcov(self, phi, weights):
        """Covariance matrix of φ̂: inverse observed information (unweighted) or the sandwich
        A⁻¹BA⁻¹/N with B = Σ w_i² s_i s_i'/N (weighted).  Returns (vcov, A, B)."""
        n = self.pat.n
        A = self.hessian(phi)
        if not np.all(np.isfinite(A)):
            raise np.linalg.LinAlgError("the information matrix could not be computed at the solution")
        Ainv = np.linalg.inv(A)
        if weights is None:
            return Ainv / n, A, None
        s = self.scores(phi) * self.pat.w[:, None]
        B = s.T @ s / n
        return Ainv @ B @ Ainv / n, A, B


def scaled_test(cw: Casewise, A0, B0, chisq, df, x_mask, mu_h1, S_h1, *, means=True):
    """Yuan–Bentler ("mplus") scaling factor and scaled χ² of a weighted fit; the saturated
    model's information and scores are evaluated at its own estimates ``mu_h1, S_h1`` (sample
    moments, or EM under FIML), as lavaan does.  ``means=False`` (complete data, no mean
    structure, as lavaan's listwise fits) leaves the means out of both traces."""
    mu, sig = mu_h1, S_h1
    keep = ~x_mask
    mean_idx = np.where(keep)[0] if means else np.array([], dtype=int)
    if not means:
        A0, B0 = A0[:cw.K, :cw.K], B0[:cw.K, :cw.K]
    cov_idx = _vech_index(cw.pat.p, keep)
    A1 = saturated_information(cw.pat, mu, sig, mean_idx, cov_idx)
    s1 = saturated_scores(cw.pat, mu, sig, mean_idx, cov_idx) * cw.pat.w[:, None]
    B1 = s1.T @ s1 / cw.pat.n
    tr_h1 = float(np.sum(B1 * np.linalg.inv(A1).T))
    tr_h0 = float(np.sum(B0 * np.linalg.inv(A0).T))
    c = (tr_h1 - tr_h0) / df if df > 0 else np.nan
    return {"scaling_factor": c, "chisq_scaled": chisq / c if df > 0 else np.nan,
            "scaling_factor_h1": tr_h1 / (len(mean_idx) + len(cov_idx)),
            "scaling_factor_h0": tr_h0 / A0.shape[0]}


def intercepts(eng, theta, mu, names, x_mask):
    """Intercepts ν of the observed variables (lavaan's ``~1`` rows): ν = μ − Λ(I − B)⁻¹α with α
    the covariates' means (0 for latent variables), i.e. μ itself when there are no covariates."""
    if not x_mask.any():
        return mu.copy()
    eng.set(theta)
    beta, lam = eng.model.matrices[:2]
    C = np.linalg.inv(np.eye(beta.shape[0]) - beta)
    alpha = np.zeros(beta.shape[0])
    for j, v in enumerate(names):
        if x_mask[j]:
            alpha[eng.inner_names.index(v)] = mu[j]
    implied = lam @ C @ alpha                        # in semopy's observed order
    by_name = dict(zip(eng.obs_names, implied))
    nu = np.array([mu[j] - by_name[v] if not x_mask[j] else mu[j] for j, v in enumerate(names)])
    return nu


def fit_measures(cw: Casewise, phi, fd: FimlData, npar_cov: int, moments_cov: int) -> dict:
    """lavaan's fit measures of a FIML fit (``missing = "ml"``): χ² against the EM saturated model,
    the independence baseline fitted by FIML, SRMR on the EM moments with the mean residuals."""
    from ._sem import fit_indices

    n = float(fd.n_rows)
    x_mask = fd.x_mask
    q = int((~x_mask).sum())
    p = len(x_mask)
    npar = npar_cov + q
    moments = moments_cov + q
    df = moments - npar
    logl = -n * cw.f(phi)
    chisq = 2.0 * (fd.logl_h1 - logl)
    pval = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    # baseline: every non-covariate independent (FIML = each variable's available answers),
    # covariates saturated (complete)
    X, w = fd.pat.X, fd.pat.w
    logl_b = logl_x = 0.0
    for j in np.where(~x_mask)[0]:
        ok = ~np.isnan(X[:, j])
        W = w[ok].sum()
        m = np.average(X[ok, j], weights=w[ok])
        v = np.average((X[ok, j] - m) ** 2, weights=w[ok])
        logl_b += -0.5 * W * (LOG2PI + math.log(v) + 1.0)
    if x_mask.any():
        Xx = X[:, x_mask]
        mx = w @ Xx / w.sum()
        Sx = ((Xx - mx) * w[:, None]).T @ (Xx - mx) / w.sum()
        k = Xx.shape[1]
        logl_x = -0.5 * n * (k * LOG2PI + float(np.linalg.slogdet(Sx)[1]) + k)
        logl_b += logl_x
    chisq_b = 2.0 * (fd.logl_h1 - logl_b)
    df_b = moments - 2 * q
    cfi, tli, rmsea, lo, hi = fit_indices(chisq, df, chisq_b, df_b, n)
    theta, mu = cw.split(phi)
    sig, _, _ = cw.eng.sigma(theta)
    sd = np.sqrt(np.diag(fd.S_h1))
    resid = (fd.S_h1 - sig) / np.outer(sd, sd)
    mres = (fd.mu_h1 - mu) / sd
    iu = np.triu_indices(p)
    srmr = math.sqrt(float((np.sum(resid[iu] ** 2) + np.sum(mres ** 2)) / (len(iu[0]) + p)))
    srmr_nomean = math.sqrt(float(np.mean(resid[iu] ** 2)))
    return {
        "chisq": chisq, "df": float(df), "p_val": pval,
        "cfi": cfi, "tli": tli,
        "rmsea": rmsea, "rmsea_ci_low": lo, "rmsea_ci_high": hi,
        "srmr": srmr, "srmr_nomean": srmr_nomean,
        # fixed.x: lavaan reports the likelihood conditional on the covariates
        "aic": -2 * (logl - logl_x) + 2 * npar, "bic": -2 * (logl - logl_x) + math.log(n) * npar,
        "n": n,
        "npar": float(npar), "logl": logl - logl_x, "unrestricted_logl": fd.logl_h1 - logl_x,
        "baseline_chisq": chisq_b, "baseline_df": float(df_b), "fmin": chisq / (2 * n),
    }
