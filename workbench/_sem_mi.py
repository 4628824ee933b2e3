"""Modification indices (lavaan's ``modindices()``) for :mod:`workbench.drivers`.

Why this module exists.  A key-driver model is a hypothesis; the data can say where it is wrong —
most often a direct path from a driver to the final outcome that the default model leaves out.
The standard diagnostic is the modification index (Sörbom 1989): for every parameter the model
fixes (at zero, or at a value), the 1-df score (Lagrange multiplier) test of freeing it, with the
expected parameter change (EPC) it would take.  semopy has no score tests, so they are computed
here; the numbers reproduce lavaan's ``modindices()`` (validated in ``tests/test_sem_mi.py``
against ``tests/results/r/drivers_modindices.R``).

Candidate parameters (lavaan ``lav_partable_full`` with ``free = TRUE``, then
``lav_object_extended(all.free = TRUE)``): with lv the latent variables, ov.nox the observed
variables that are not fixed.x covariates, ov.ind the indicators and eqs the variables of the
structural part (either side of a ``~``),

* loadings ``lv =~ ov`` for every ov in ov.nox that is not in eqs;
* (residual) covariances ``a ~~ b`` among the indicators, and among the latent variables;
* regressions ``y ~ x`` for every ordered pair of distinct variables in eqs, except an indicator
  regressed on a latent variable (that is a loading);
* under FIML (mean structure) the intercepts ``v ~1`` of every variable;
* every parameter the model fixes (marker loadings, values such as ``0*x``, covariates'
  variances under fixed.x);

minus those already in the model.  A candidate whose information, net of the model's parameters,
is below ε^(1/3) (ε the machine epsilon; lavaan's rule) cannot be identified when freed (e.g. a
marker loading, or ``SAT ~~ PRD`` next to a free ``SAT ~ PRD``) and is dropped, as lavaan's
``na.remove`` does.

Statistic.  With s the per-case score of the log-likelihood at θ̂ and I the per-case expected
information of the model extended by the candidates (θ̂ and the candidates at their fixed values),
for a candidate e and the model's free parameters m:

    V_e  = I_ee − I_em I_mm⁻¹ I_me,     MI_e = N s_e² / V_e,     EPC_e = s_e / V_e.

Labelled (equal) parameters are one parameter.  sepc.all is lavaan's ``std.all`` of the EPC with
``cov.std = TRUE``: loadings and regressions scaled by the model-implied standard deviations,
covariances by the residual variances' estimates.

* Complete data (listwise, optionally weighted): I = Δ'WΔ with W = ½ D'(Σ⁻¹⊗Σ⁻¹)D on vech(Σ),
  the rows and columns of covariates' moments set to zero under fixed.x (lavaan
  ``lav_mvnorm_information_expected``); s_k = ½ tr(Σ⁻¹(S − Σ)Σ⁻¹ ∂Σ/∂θ_k) with S the (weighted)
  covariance matrix, divisor N.
* FIML: the expected information summed over missing-data patterns (lavaan
  ``lav_mvnorm_missing_information_expected``: per pattern, Σ_oo⁻¹ for the means and
  ½ D'(Σ_oo⁻¹⊗Σ_oo⁻¹)D for the covariances, weighted by the pattern's share of the rows), and the
  score of the casewise likelihood; the mean structure μ = F(I − A)⁻¹m enters Δ.

The model is written in RAM form (McArdle & McDonald 1984) over all variables, latent then
observed: A holds loadings and regressions, P the (residual) (co)variances, m the intercepts;
Σ = F B P B'F' with B = (I − A)⁻¹.  Derivatives: ∂Σ/∂A_ij = u v' + v u' with u = F B e_i and
v = F G e_j (G = B P B'), ∂μ/∂A_ij = u (B m)_j, ∂Σ/∂P_ij = F B (e_i e_j' + e_j e_i') B'F' (once on
the diagonal), ∂μ/∂m_i = F B e_i.  A RAM form needs no semopy matrices, so candidates semopy
cannot place (an indicator regressed on a structural variable) are handled as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__: list[str] = []

#: lavaan's threshold on the net information V of a candidate (``.Machine$double.eps^(1/3)``)
V_MIN = np.finfo(float).eps ** (1.0 / 3.0)
#: lavaan's threshold below which an EPC used for standardising counts as zero
SMALL = np.sqrt(np.finfo(float).eps)

COLUMNS = ["lhs", "op", "rhs", "mi", "epc", "sepc_all", "p_val"]


# --------------------------------------------------------------------------------------------
# candidate set (lavaan lav_partable_full + lav_object_extended)
# --------------------------------------------------------------------------------------------
def _unique(seq):
    out = []
    for v in seq:
        if v not in out:
            out.append(v)
    return out


def _key(lhs, op, rhs):
    if op == "~~":
        return ("~~", *sorted((lhs, rhs)))
    return (op, lhs, rhs)


@dataclass
class Names:
    """lavaan's variable lists (``lav_partable_vnames``), in lavaan's order."""

    lv: list
    ov: list
    ov_x: list
    ov_nox: list
    ov_ind: list
    eqs: list


def names_of(pt) -> Names:
    rows = pt.rows
    lv = _unique(r.lhs for r in rows if r.op == "=~")
    eqs_y = _unique(r.lhs for r in rows if r.op == "~")
    eqs_x = _unique(r.rhs for r in rows if r.op == "~")
    v_ind = _unique(r.rhs for r in rows if r.op == "=~")
    ov_ind = [v for v in v_ind if v not in lv]
    ov_y = [v for v in eqs_y if v not in lv and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lv and v not in ov_ind and v not in ov_y]
    extra = _unique([r.lhs for r in rows if r.op == "~~" and r.lhs not in lv]
                    + [r.rhs for r in rows if r.op == "~~" and r.rhs not in lv])
    ov = ov_ind + ov_y + ov_x
    ov += [v for v in extra if v not in ov]
    x = [v for v in ov if v in pt.ov_x]
    return Names(lv=lv, ov=ov, ov_x=x, ov_nox=[v for v in ov if v not in x], ov_ind=ov_ind,
                 eqs=_unique(eqs_y + eqs_x))


def _pairs(names):
    """lavaan's lower triangle with the diagonal: (a, b) with a at or before b."""
    return [(a, b) for i, a in enumerate(names) for b in names[i:]]


def full_candidates(pt, meanstructure: bool = False) -> list[tuple[str, str, str]]:
    """lavaan's ``lav_partable_full`` (one group, one level, continuous indicators)."""
    nm = names_of(pt)
    out = []
    for lv in nm.lv:
        for ov in nm.ov_nox:
            if ov not in nm.eqs:
                out.append((lv, "=~", ov))
    other = [v for v in nm.ov if v not in nm.ov_ind]
    out += [(a, "~~", b) for a, b in _pairs(nm.ov_nox) if a not in other and b not in other]
    out += [(a, "~~", b) for a, b in _pairs(nm.ov_x)]
    out += [(a, "~~", b) for a, b in _pairs(nm.lv)]
    for y in nm.eqs:
        for x in nm.eqs:
            if y != x and not (y in nm.ov_ind and x in nm.lv):
                out.append((y, "~", x))
    if meanstructure:
        out += [(v, "~1", "") for v in nm.ov + nm.lv]
    return out


# --------------------------------------------------------------------------------------------
# RAM representation and derivatives
# --------------------------------------------------------------------------------------------
@dataclass
class Ram:
    names: list               # all variables: latent, then observed (in ``obs`` order)
    obs: list                 # observed variables, in the data's column order
    A: np.ndarray             # A[i, j]: effect of j on i (loadings, regressions)
    P: np.ndarray             # (residual) variances and covariances
    m: np.ndarray             # intercepts (0 without a mean structure)

    def __post_init__(self):
        self.idx = {v: i for i, v in enumerate(self.names)}
        self.oi = np.array([self.idx[v] for v in self.obs], dtype=int)

    def entry(self, lhs, op, rhs):
        """(matrix, i, j) of a partable row."""
        ix = self.idx
        if op == "=~":
            return ("A", ix[rhs], ix[lhs])
        if op == "~":
            return ("A", ix[lhs], ix[rhs])
        if op == "~~":
            return ("P", ix[lhs], ix[rhs])
        if op == "~1":
            return ("m", ix[lhs], ix[lhs])
        raise ValueError(op)

    def set(self, entry, value):
        mat, i, j = entry
        if mat == "A":
            self.A[i, j] = value
        elif mat == "P":
            self.P[i, j] = self.P[j, i] = value
        else:
            self.m[i] = value

    def moments(self):
        """B = (I − A)⁻¹, G = B P B' (all variables), Σ (observed) and μ (observed), B m."""
        B = np.linalg.inv(np.eye(len(self.names)) - self.A)
        G = B @ self.P @ B.T
        Bm = B @ self.m
        o = self.oi
        return B, G, G[np.ix_(o, o)], Bm[o], Bm

    def derivatives(self, params):
        """∂Σ/∂θ_k (K × p × p) and ∂μ/∂θ_k (K × p); ``params``: list of lists of entries."""
        B, G, _, _, Bm = self.moments()
        o = self.oi
        FB, FG = B[o, :], G[o, :]
        K, p = len(params), len(o)
        dS = np.zeros((K, p, p))
        dmu = np.zeros((K, p))
        for k, entries in enumerate(params):
            for mat, i, j in entries:
                if mat == "A":
                    u, v = FB[:, i], FG[:, j]
                    uv = np.outer(u, v)
                    dS[k] += uv + uv.T
                    dmu[k] += u * Bm[j]
                elif mat == "P":
                    uv = np.outer(FB[:, i], FB[:, j])
                    dS[k] += uv if i == j else uv + uv.T
                else:
                    dmu[k] += FB[:, i]
        return dS, dmu


def build_ram(pt, est: dict, obs: list, meanstructure: bool) -> Ram:
    """RAM matrices at the estimates ``est`` ({(lhs, op, rhs): value})."""
    names = list(pt.latent) + list(obs)
    n = len(names)
    ram = Ram(names=names, obs=list(obs), A=np.zeros((n, n)), P=np.zeros((n, n)), m=np.zeros(n))
    for r in pt.rows:
        ram.set(ram.entry(r.lhs, r.op, r.rhs), est[(r.lhs, r.op, r.rhs)])
    if meanstructure:
        for v in obs:
            ram.set(ram.entry(v, "~1", ""), est[(v, "~1", "")])
    return ram


# --------------------------------------------------------------------------------------------
# information and score
# --------------------------------------------------------------------------------------------
def _vech_pairs(p):
    """Index pairs (i, j), i ≥ j, of vech in column order (lavaan's ``lav_matrix_vech``)."""
    pairs = [(i, j) for j in range(p) for i in range(j, p)]
    return pairs, np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])


def _w_cov(Q, ii, jj):
    """½ D'(Q⊗Q)D on vech, D the duplication matrix, without forming the Kronecker product:
    element (ab, cd) is ½ c_ab c_cd (Q_ac Q_bd + Q_ad Q_bc) / 2 with c = 1 on the diagonal and 2
    off it."""
    c = np.where(ii == jj, 1.0, 2.0)
    M = Q[np.ix_(ii, ii)] * Q[np.ix_(jj, jj)] + Q[np.ix_(ii, jj)] * Q[np.ix_(jj, ii)]
    return 0.25 * np.outer(c, c) * M


def _not_x(pairs, x_mask, meanstructure):
    """Elements of (μ, vech Σ) that are not covariates' moments (lavaan eliminate.pstar.idx)."""
    keep = [not (x_mask[i] and x_mask[j]) for i, j in pairs]
    if meanstructure:
        keep = [not x for x in x_mask] + keep
    return np.array(keep, dtype=bool)


def info_complete(sigma, dS, x_mask):
    """Per-case expected information Δ'WΔ of complete-data ML (no mean structure)."""
    pairs, ii, jj = _vech_pairs(sigma.shape[0])
    W = _w_cov(np.linalg.inv(sigma), ii, jj)
    keep = _not_x(pairs, x_mask, False)
    W[~keep, :] = 0.0
    W[:, ~keep] = 0.0
    Delta = dS[:, ii, jj].T
    return Delta.T @ W @ Delta


def score_complete(sigma, S, dS):
    """Per-case score ½ tr(Σ⁻¹(S − Σ)Σ⁻¹ ∂Σ/∂θ_k) of the normal log-likelihood."""
    Q = np.linalg.inv(sigma)
    C = Q @ (S - sigma) @ Q
    return 0.5 * np.einsum("ij,kij->k", C, dS)


def info_missing(pat, sigma, dS, dmu, x_mask):
    """Per-case expected information of FIML summed over patterns (structured: model moments)."""
    p = sigma.shape[0]
    pairs, ii, jj = _vech_pairs(p)
    I11 = np.zeros((p, p))
    I22 = np.zeros((len(pairs), len(pairs)))
    for g in pat.groups:
        o = g.obs
        J = np.zeros((p, p))
        J[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
        I11 += g.W * J
        I22 += g.W * _w_cov(J, ii, jj)
    N = float(sum(g.W for g in pat.groups))
    A1 = np.zeros((p + len(pairs), p + len(pairs)))
    A1[:p, :p] = I11 / N
    A1[p:, p:] = I22 / N
    keep = _not_x(pairs, x_mask, True)
    A1[~keep, :] = 0.0
    A1[:, ~keep] = 0.0
    Delta = np.hstack([dmu, dS[:, ii, jj]]).T
    return Delta.T @ A1 @ Delta


def score_missing(pat, mu, sigma, dS, dmu):
    """Per-case score of the casewise (FIML) log-likelihood."""
    from ._sem_fiml import moment_gradient

    _, g_mu, G = moment_gradient(pat, mu, sigma)
    N = float(sum(g.W for g in pat.groups))
    return (dmu @ g_mu + 0.5 * np.einsum("ij,kij->k", G, dS)) / N


# --------------------------------------------------------------------------------------------
# modification indices
# --------------------------------------------------------------------------------------------
@dataclass
class Sample:
    """What the score test needs from the data the model was fitted to."""

    names: list               # observed variables (column order of S / the patterns)
    n: float                  # N of the likelihood (rows used)
    S: np.ndarray | None = None   # complete data: (weighted) covariance, divisor N
    pat: object = None        # FIML: _sem_fiml.Patterns


def modindices(pt, est: dict, sample: Sample) -> tuple[pd.DataFrame, float]:
    """Modification indices of every admissible candidate (no input checks; see drivers).

    ``est`` maps every partable row ``(lhs, op, rhs)`` (and, under FIML, every observed
    ``(v, "~1", "")``) to its estimate or fixed value.  Returns the table (columns ``COLUMNS``,
    sorted by ``mi``, descending) and the largest per-case score of the model's own free
    parameters — zero at the maximum-likelihood estimates of these data, so a large value says
    the estimates do not belong to the data.
    """
    meanstructure = sample.pat is not None
    obs = list(sample.names)
    ram = build_ram(pt, est, obs, meanstructure)
    x_mask = np.array([v in pt.ov_x for v in obs], dtype=bool)

    # the model's free parameters (a shared label is one parameter)
    groups: dict = {}
    for r in pt.rows:
        if r.free:
            groups.setdefault(("label", r.label) if r.label else ("row", r.lhs, r.op, r.rhs),
                              []).append(ram.entry(r.lhs, r.op, r.rhs))
    model_params = list(groups.values())
    if meanstructure:
        model_params += [[ram.entry(v, "~1", "")] for v, x in zip(obs, x_mask) if not x]

    # candidates: lavaan's full table minus the model's rows, then the model's fixed rows
    existing = {_key(r.lhs, r.op, r.rhs) for r in pt.rows}
    if meanstructure:
        existing |= {(v, "~1", "") for v in obs}
    cands = []
    for lhs, op, rhs in full_candidates(pt, meanstructure):
        k = (lhs, op, rhs) if op == "~1" else _key(lhs, op, rhs)
        if k not in existing:
            existing.add(k)
            cands.append((lhs, op, rhs, 0.0, False))
    for r in pt.rows:
        if not r.free:
            cands.append((r.lhs, r.op, r.rhs, est[(r.lhs, r.op, r.rhs)], r.exo))
    if meanstructure:
        for v, x in zip(obs, x_mask):
            if x:
                cands.append((v, "~1", "", est[(v, "~1", "")], True))
        for lv in pt.latent:
            cands.append((lv, "~1", "", 0.0, False))
    params = model_params + [[ram.entry(lhs, op, rhs)] for lhs, op, rhs, _, _ in cands]
    dS, dmu = ram.derivatives(params)
    _, G, sigma, mu, _ = ram.moments()
    if meanstructure:
        info = info_missing(sample.pat, sigma, dS, dmu, x_mask)
        score = score_missing(sample.pat, mu, sigma, dS, dmu)
    else:
        info = info_complete(sigma, dS, x_mask)
        score = score_complete(sigma, sample.S, dS)
    K = len(model_params)
    model_score = float(np.max(np.abs(score[:K]))) if K else 0.0
    if not cands:
        return _empty(), model_score
    I22 = info[:K, :K]
    I12 = info[K:, :K]
    I11 = np.diag(info)[K:]
    if K:
        sol = np.linalg.solve(I22, I12.T)
        V = I11 - np.einsum("ek,ke->e", I12, sol)
    else:
        V = I11.copy()
    s = score[K:]
    ok = V >= V_MIN
    with np.errstate(invalid="ignore", divide="ignore"):
        mi = np.where(ok, sample.n * s ** 2 / V, np.nan)
        epc = np.where(ok, s / V, np.nan)

    # sepc.all (lavaan lav_standardize_all with cov.std = TRUE on |EPC|, sign restored)
    total_var = np.diag(G)
    var_row = {}
    for r in pt.rows:
        if r.op == "~~" and r.lhs == r.rhs:
            var_row[r.lhs] = (est[(r.lhs, r.op, r.rhs)], r.exo)
    cand_epc = {(lhs, op, rhs): e for (lhs, op, rhs, _, _), e in zip(cands, epc)}

    def sd(v):
        t = total_var[ram.idx[v]]
        return np.sqrt(t) if t > 0 else np.nan

    def rv(v):
        if v not in var_row:
            return np.nan
        value, exo = var_row[v]
        if exo:
            value = cand_epc.get((v, "~~", v), np.nan)
        return np.sqrt(abs(value))

    sepc = np.full(len(cands), np.nan)
    for k, ((lhs, op, rhs, fixed, exo), e) in enumerate(zip(cands, epc)):
        if not np.isfinite(e):
            continue
        if op == "=~":
            sepc[k] = e * sd(lhs) / sd(rhs)
        elif op == "~":
            sepc[k] = e * sd(rhs) / sd(lhs)
        elif op == "~~" and lhs == rhs:
            value = e if exo else fixed
            sepc[k] = 0.0 if abs(value) < SMALL else np.sign(e) * abs(value) / total_var[ram.idx[lhs]]
        elif op == "~~":
            sepc[k] = e / (rv(lhs) * rv(rhs))
        else:   # intercepts: std.all divides observed intercepts by the sd (latent: by the sd)
            sepc[k] = e / sd(lhs)
    # a residual covariance of an indicator whose residual variance is fixed at 0 (a one-item
    # construct) has no standardised value: lavaan prints Inf, a report shows it as missing
    sepc[~np.isfinite(sepc)] = np.nan
    out = pd.DataFrame({
        "lhs": [c[0] for c in cands], "op": [c[1] for c in cands], "rhs": [c[2] for c in cands],
        "mi": mi, "epc": epc, "sepc_all": sepc,
        "p_val": stats.chi2.sf(mi, 1),
    })
    out = out[np.isfinite(out["mi"])]
    order = np.argsort(-out["mi"].to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)[COLUMNS], model_score


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("lhs", "op", "rhs") else float)
                         for c in COLUMNS})


# --------------------------------------------------------------------------------------------
# direct paths to the final outcome
# --------------------------------------------------------------------------------------------
#: defaults for releasing a direct path: significant at any usual level (χ²₁ = 10 is p ≈ .0016)
#: *and* large enough to matter (standardised EPC ≥ .10, Saris, Satorra & van der Veld 2009 —
#: with thousands of respondents a trivial misspecification reaches MI = 10)
MIN_MI = 10.0
MIN_SEPC = 0.10


def ancestors(pt, target: str) -> list[str]:
    """Variables with a directed path (``~`` rows) to ``target``, nearest first."""
    preds: dict[str, list[str]] = {}
    for r in pt.rows:
        if r.op == "~":
            preds.setdefault(r.lhs, []).append(r.rhs)
    out: list[str] = []
    todo = list(preds.get(target, []))
    while todo:
        v = todo.pop(0)
        if v not in out and v != target:
            out.append(v)
            todo.extend(preds.get(v, []))
    return out


SIGNS = ("consistent", "positive", "any")


def admissible_direct_paths(table: pd.DataFrame, pt, outcome: str, *, min_mi: float = MIN_MI,
                            min_sepc: float = MIN_SEPC, sign: str = "consistent",
                            totals: dict | None = None, sources=None) -> pd.DataFrame:
    """Rows of a modification-index ``table`` that release a direct path ``outcome ~ source``.

    Admissible: ``source`` already drives ``outcome`` indirectly (an ancestor through the
    model's ``~`` paths — the path then points the way the model's theory does and keeps the model
    recursive), ``mi ≥ min_mi`` and ``|sepc_all| ≥ min_sepc``; ``sign`` = ``"consistent"``: the
    EPC has the sign of the source's current total effect on ``outcome`` (``totals``: {source:
    total effect}; a direct path against the indirect one is a suppression artefact, not a
    finding), ``"positive"``: EPC > 0, ``"any"``: no condition.  ``sources`` restricts the sources
    (e.g. to the driver constructs).  Sorted by ``mi``, largest first.
    """
    if sign not in SIGNS:
        raise ValueError(f"sign: expected one of {SIGNS}, got {sign!r}")
    allowed = ancestors(pt, outcome)
    if sources is not None:
        allowed = [v for v in allowed if v in set(sources)]
    t = table
    keep = ((t["op"] == "~") & (t["lhs"] == outcome) & t["rhs"].isin(allowed)
            & (t["mi"] >= min_mi) & (t["sepc_all"].abs() >= min_sepc))
    if sign == "positive":
        keep &= t["epc"] > 0
    elif sign == "consistent":
        tot = t["rhs"].map(totals or {}).astype(float)
        keep &= np.sign(t["epc"]) == np.sign(tot)
    return t[keep].sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)


def with_path(model: str, lhs: str, rhs: str) -> str:
    """``model`` with the regression ``lhs ~ rhs`` added as a line of its own."""
    return model.rstrip("\n") + f"\n{lhs} ~ {rhs}"
