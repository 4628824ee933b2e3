"""Key driver analysis: correlations, regression, relative importance, SEM, reliability, IPMA.

Four views of "what drives the outcome", from the simplest to the most structural:

* :func:`correlations` — (weighted) Pearson correlation of each driver with the outcome;
* :func:`standardized_regression` — multiple regression, standardised coefficients;
* :func:`relative_importance` — LMG (Shapley decomposition of R²) or Johnson's relative weights,
  with bootstrap intervals;
* :func:`fit_sem` — a structural equation model in lavaan syntax, estimated by maximum likelihood
  with lavaan's defaults and numbers (semopy underneath, see :mod:`workbench._sem`), with
  reliability and validity checks and total/indirect effects.

:func:`four_views` puts them side by side; :func:`ipma` turns importance and performance into the
importance–performance matrix (Martilla & James 1977) and an action list; :func:`default_model`
writes the standard CX model from a codebook (driver constructs → satisfaction → loyalty).

Why some of this is written here rather than taken from a library: semopy's estimates, standard
errors and fit indices differ from lavaan's (loose solver tolerance, bounded variances, no SRMR,
different AIC/BIC), so the numbers are recomputed from its matrices; Python has no relaimpo, so the
LMG decomposition is computed exactly over all subsets (:mod:`workbench._relimp`).  Formulas and
references: ``docs/methods/drivers.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import _relimp, _sem, _sem_fiml, _sem_mi
from ._sem_syntax import parse_model
from .errors import ConvergenceWarning, DataError, ModelError, WorkbenchError, WorkbenchWarning

__all__ = [
    "SEMResult",
    "fit_sem",
    "default_model",
    "construct_scores",
    "correlations",
    "standardized_regression",
    "relative_importance",
    "four_views",
    "ipma",
    "htmt_matrix",
    "FIT_THRESHOLDS",
    "QUALITY_THRESHOLDS",
    "QUADRANTS",
    "KeyDriverAnalysis",
    "GUARDS",
    "key_driver_analysis",
    "group_paths",
    "modification_indices",
    "release_direct_paths",
]

#: Cut-offs for acceptable fit (Hu & Bentler 1999, combination rules for ML; CFI/TLI ≥ .95,
#: RMSEA ≤ .06, SRMR ≤ .08).  ``(direction, cut-off)``.
FIT_THRESHOLDS = {
    "cfi": (">=", 0.95),
    "tli": (">=", 0.95),
    "rmsea": ("<=", 0.06),
    "srmr": ("<=", 0.08),
}
#: Measurement-quality cut-offs: Cronbach's α ≥ .70 (Nunnally 1978), composite reliability ≥ .70
#: (Hair et al. 2010; Bagozzi & Yi 1988), AVE ≥ .50 (Fornell & Larcker 1981), HTMT < .85
#: (Henseler, Ringle & Sarstedt 2015, conservative criterion).
QUALITY_THRESHOLDS = {
    "alpha": (">=", 0.70),
    "cr": (">=", 0.70),
    "ave": (">=", 0.50),
    "htmt": ("<", 0.85),
}
_SOURCES = {
    "cfi": "Hu & Bentler (1999)", "tli": "Hu & Bentler (1999)",
    "rmsea": "Hu & Bentler (1999)", "srmr": "Hu & Bentler (1999)",
    "alpha": "Nunnally (1978)", "cr": "Hair et al. (2010)", "ave": "Fornell & Larcker (1981)",
    "htmt": "Henseler, Ringle & Sarstedt (2015)",
    "fornell_larcker": "Fornell & Larcker (1981)",
    "converged": "lavaan convention: gradient at the optimum ~ 0",
    "heywood": "Dillon, Kumar & Mulani (1987)",
    "std_loading": "Jöreskog (1999)",
}
#: IPMA quadrant keys, in the order of the action list (Martilla & James 1977).
QUADRANTS = ("concentrate", "keep_up", "low_priority", "overkill")
#: IPMA calls: a quadrant, or "on_the_line" when the point is not significantly off a split;
#: in the order of the action list.
CALLS = ("concentrate", "keep_up", "on_the_line", "low_priority", "overkill")

_Z975 = stats.norm.ppf(0.975)


# ============================================================================================
# SEM
# ============================================================================================
@dataclass(frozen=True)
class SEMResult:
    """A fitted structural equation model (lavaan conventions).

    Attributes
    ----------
    model : str
        The lavaan model syntax as given.
    estimates : DataFrame
        One row per parameter in lavaan's ``parameterEstimates()`` order and convention:
        ``lhs, op, rhs`` (``=~`` latent first, ``~`` regression, ``~~`` (co)variance; under FIML
        also ``~1`` intercepts, latent means fixed at 0), ``label``,
        ``free`` (False for fixed parameters, including covariates' variances under fixed.x),
        ``est, se, z, p_val, ci_low, ci_high`` (95% Wald interval), ``std_est`` (lavaan's
        ``std.all``) and ``std_se`` (its delta-method standard error, as lavaan's
        ``standardizedSolution``; NaN for intercept rows).  Fixed parameters have NaN ``se, z, p_val, ci_low, ci_high`` (lavaan prints
        ``se = 0``).
    fit : dict
        ``chisq, df, p_val, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high`` (90%), ``srmr``
        (Bentler; with the mean residuals under FIML, as lavaan), ``aic, bic, n`` (rows used,
        lavaan's ``ntotal``), plus ``npar, logl, unrestricted_logl, baseline_chisq, baseline_df,
        fmin``; FIML adds ``srmr_nomean``; weighted fits add the Yuan–Bentler scaled test
        ``chisq_scaled, p_val_scaled, scaling_factor`` (and ``scaling_factor_h1/_h0``).
    effects : DataFrame
        One row per (``from``, ``to``) pair of structural variables joined by a directed path:
        ``from, to, direct, indirect, total`` (unstandardised), ``direct_std, indirect_std,
        total_std`` (std.all metric) and delta-method ``direct_se, indirect_se, total_se,
        indirect_p_val, total_p_val`` and ``direct_std_se, indirect_std_se, total_std_se``.
    reliability : DataFrame
        One row per construct (latent variable with ≥ 2 observed indicators): ``construct,
        n_items, alpha, cr, ave, sqrt_ave, max_r, fornell_larcker, max_htmt``.
    discriminant : DataFrame
        One row per pair of constructs: ``construct_a, construct_b, latent_r, htmt,
        fornell_larcker``.
    checks : DataFrame
        Every quality check: ``check, target, value, rule, threshold, passed, source``.
    warnings : tuple of str
        Problems in plain words (non-convergence, Heywood cases); empty when none.
    n, n_eff : int, float
        Rows used (complete on the model's variables, positive weight) and Kish effective base.
    n_dropped : int
        Rows of ``data`` not used: listwise, every row with a missing value; FIML, rows with no
        answer on any model variable or a missing covariate; and rows with zero weight.
    n_complete : int
        Rows used that answer every model variable (= ``n`` under listwise deletion).
    missing : str
        ``"listwise"`` or ``"fiml"``.
    weighted : bool
    method : str
        How the model was estimated, in one sentence (for the report's method note).
    converged : bool
    constructs : dict
        ``{latent: [observed indicators]}``.
    """

    model: str
    estimates: pd.DataFrame
    fit: dict
    effects: pd.DataFrame
    reliability: pd.DataFrame
    discriminant: pd.DataFrame
    checks: pd.DataFrame
    warnings: tuple
    n: int
    n_eff: float
    n_dropped: int
    weighted: bool
    method: str
    converged: bool
    constructs: dict = field(default_factory=dict)
    missing: str = "listwise"
    n_complete: int = 0

    def effect(self, source: str, target: str, *, kind: str = "total", std: bool = False) -> float:
        """One effect of ``source`` on ``target`` (``kind`` = direct/indirect/total); 0 if no path."""
        if kind not in ("direct", "indirect", "total"):
            raise ModelError(f"kind: expected 'direct', 'indirect' or 'total', got {kind!r}")
        col = f"{kind}_std" if std else kind
        hit = self.effects[(self.effects["from"] == source) & (self.effects["to"] == target)]
        return float(hit[col].iloc[0]) if len(hit) else 0.0

    def r2(self) -> pd.Series:
        """R² of every endogenous variable (1 − standardised residual variance)."""
        est = self.estimates
        dep = set(est.loc[est["op"] == "~", "lhs"])
        ind = set(est.loc[est["op"] == "=~", "rhs"])
        rows = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].isin(dep | ind)]
        return pd.Series(1.0 - rows["std_est"].to_numpy(), index=rows["lhs"].to_numpy(), name="r2")

    def summary(self) -> str:
        """A plain-text summary (fit, parameters, effects, measurement quality, checks)."""
        f = self.fit
        out = []
        out.append(f"Structural equation model — {self.method}")
        out.append(f"N = {self.n} rows used ({self.n_dropped} dropped)"
                   + (f", effective base {self.n_eff:.1f}" if self.weighted else ""))
        out.append(f"chi2({f['df']:.0f}) = {f['chisq']:.3f}, p = {f['p_val']:.4f};  "
                   f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                   f"[{f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], SRMR = {f['srmr']:.3f};  "
                   f"AIC = {f['aic']:.1f}, BIC = {f['bic']:.1f}")
        out.append("")
        cols = ["lhs", "op", "rhs", "est", "se", "z", "p_val", "std_est"]
        out.append(self.estimates[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        if len(self.effects):
            out.append("")
            out.append("Effects")
            ecols = ["from", "to", "direct", "indirect", "total", "total_std", "total_se"]
            out.append(self.effects[ecols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        if len(self.reliability):
            out.append("")
            out.append("Measurement quality")
            out.append(self.reliability.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        bad = self.checks[~self.checks["passed"]]
        out.append("")
        out.append("Checks: all passed" if bad.empty else "Checks not passed:")
        for _, r in bad.iterrows():
            out.append(f"  {r['check']} ({r['target']}): {r['value']:.3f}, expected {r['rule']} "
                       f"{r['threshold']:g} [{r['source']}]")
        for w in self.warnings:
            out.append(f"Warning: {w}")
        return "\n".join(out)

    def __repr__(self):
        f = self.fit
        return (f"SEMResult(n={self.n}, chisq={f['chisq']:.3f}, df={f['df']:.0f}, cfi={f['cfi']:.3f}, "
                f"rmsea={f['rmsea']:.3f}, srmr={f['srmr']:.3f}, converged={self.converged})")


def _row_name(r) -> str:
    return f"{r.lhs} {r.op} {r.rhs}"


_MISSING = {"listwise": "listwise", "fiml": "fiml", "ml": "fiml"}


def fit_sem(data: pd.DataFrame, model: str, *, weight=None, missing: str = "listwise",
            max_iter: int = _sem.MAX_POLISH) -> SEMResult:
    """Fit a structural equation model by maximum likelihood, with lavaan's defaults and numbers.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; the model's observed variables are columns.
    model : str
        lavaan model syntax: ``=~`` (measurement), ``~`` (regression), ``~~`` (covariance);
        modifiers ``1*x`` (fixed), ``NA*x`` (free), ``a*x`` (label, equal when shared).
        Defaults added as lavaan's ``sem()`` does: first loading fixed to 1, residual and latent
        variances free, exogenous latent variables correlated, residuals of observed outcomes
        correlated, covariates' (co)variances fixed at their sample values; a factor with a single
        indicator (``Complaints =~ cusco``) has that indicator's residual variance fixed to 0
        (``auto.fix.single``: the factor is the item, measured without error).  Such one-item
        constructs have no row in ``.reliability`` or ``.discriminant`` (α, CR, AVE and HTMT need
        two items or more) and so no measurement-quality checks.
    weight : str or array-like, optional
        Sampling weights (column name or values), as lavaan's ``sampling.weights``: point
        estimates maximise the weighted likelihood, standard errors are robust (Huber–White
        sandwich) and the χ² test is Yuan–Bentler scaled (see Notes).
    missing : {"listwise", "fiml"}
        ``"listwise"`` (lavaan's default): rows with a missing value on any model variable are
        dropped.  ``"fiml"`` (lavaan ``missing = "ml"``, alias ``"ml"``): full-information
        maximum likelihood — every answered item of every row is used, under the assumption
        that values are missing at random; rows with no answer at all (or a missing covariate)
        are dropped.
    max_iter : int
        Iterations allowed to polish semopy's optimum (0 = semopy's optimum as is).

    Returns
    -------
    SEMResult
        ``.estimates``, ``.fit``, ``.effects``, ``.reliability``, ``.discriminant``, ``.checks``,
        ``.warnings``, ``.summary()``; ``.n``, ``.n_dropped``, ``.n_complete`` and ``.method``
        say which rows were used and how.

    Raises
    ------
    ModelError
        Syntax error (including a factor measured by itself, ``X =~ X``), a variable not in the
        data, a model that is not identified (negative df or a singular information matrix,
        naming the parameters involved) or not estimable from these data (no convergence along
        almost collinear constructs), or a fit that fails.
    DataError
        Non-numeric or zero-variance items, too few usable rows, invalid weights.

    Notes
    -----
    Unweighted listwise fits reproduce lavaan's ``sem(model, data)`` (ML, expected information,
    N in the likelihood); unweighted FIML fits ``sem(model, data, missing = "ml")`` (free
    intercepts, observed-information standard errors, χ² against the EM-estimated saturated
    model).  Weighted fits reproduce ``sem(..., sampling.weights = "w")``: estimates, robust
    standard errors (``robust.huber.white``) and the scaled test (``yuan.bentler.mplus``), which
    treat the sample as drawn with replacement with unequal probabilities (no strata or
    clusters).  See ``docs/methods/drivers.md``.

    Examples
    --------
    >>> from semopy.examples import political_democracy
    >>> res = fit_sem(political_democracy.get_data(), '''
    ...     ind60 =~ x1 + x2 + x3
    ...     dem60 =~ y1 + y2 + y3 + y4
    ...     dem60 ~ ind60''')
    >>> bool(res.fit["cfi"] > 0.9)
    True
    """
    try:
        return _fit_sem(data, model, weight=weight, missing=missing, max_iter=max_iter)
    except (np.linalg.LinAlgError, FloatingPointError) as exc:
        # the optimiser treats a singular Σ as a failed step; this catches what comes after it
        raise ModelError(f"model: the fit failed — a matrix the estimates depend on is singular or not "
                         f"positive definite ({exc}); constructs may be almost perfectly correlated "
                         "in these data (merge or drop constructs, or use a larger sample)") from exc


def _fit_sem(data, model, *, weight, missing, max_iter) -> SEMResult:
    key = str(missing).lower() if isinstance(missing, str) else missing
    if key not in _MISSING:
        raise ModelError(f"missing: expected 'listwise' or 'fiml' (or lavaan's 'ml'), got {missing!r}")
    missing = _MISSING[key]
    pt = parse_model(model)
    fd = None
    if missing == "listwise":
        prep = _sem.prepare(data, pt, weight)
    else:
        fd = _sem_fiml.prepare(data, pt, weight)
        prep = _sem.Prepared(names=fd.names, X=_sem_fiml.imputed(fd), w=fd.w, S=fd.S_h1,
                             means=fd.mu_h1, n_rows=fd.n_rows, n_eff=fd.n_eff,
                             n_dropped=fd.n_dropped, index=fd.index)
    N = float(prep.n_rows)
    names_free = []
    for r in pt.rows:
        if r.free:
            key = ("label", r.label) if r.label else ("row", _row_name(r))
            if key not in names_free:
                names_free.append(key)
    npar = len(names_free)
    p, kx = len(pt.observed), len(pt.ov_x)
    moments = p * (p + 1) // 2 - kx * (kx + 1) // 2
    if npar > moments:
        raise ModelError(f"model: not identified — {npar} free parameters but only {moments} "
                         f"sample variances/covariances (df = {moments - npar}); fix or remove "
                         "parameters, or add indicators")
    eng = _sem.Engine(pt, prep)
    theta, converged, gmax, iters, semopy_note = eng.fit(max_iter=max_iter)
    f, g, H = eng.grad_info(theta)
    if not np.isfinite(f) or H is None:
        raise ModelError("model: the fit failed — the model-implied covariance matrix is not "
                         f"positive definite at the solution{semopy_note}; check the model and the "
                         "data (e.g. items coded in opposite directions, too few cases)")
    row_by_param: dict[str, list[str]] = {}
    for r, nm in zip(pt.rows, eng.row_param):
        if nm is not None:
            row_by_param.setdefault(nm, []).append(_row_name(r))
    dH = np.sqrt(np.clip(np.diag(H), 0, None))
    zero = [eng.active[i] for i in np.where(dH <= 1e-12 * max(1.0, dH.max(initial=0)))[0]]
    if zero:
        raise ModelError("model: not identified — these parameters do not affect the model-implied "
                         f"covariances: {'; '.join(', '.join(row_by_param[z]) for z in zero)}")
    Hs = H / np.outer(dH, dH)
    evals, evecs = np.linalg.eigh(Hs)
    if evals[0] < 1e-10:
        v = evecs[:, 0]
        involved = [eng.active[i] for i in np.argsort(-np.abs(v)) if abs(v[i]) > 0.2]
        rows_involved = [r for r, nm in zip(pt.rows, eng.row_param) if nm in involved]
        paths_only = all(r.op == "~" or (r.op == "~~" and r.lhs != r.rhs and r.lhs in pt.latent
                                         and r.rhs in pt.latent) for r in rows_involved)
        if not converged or paths_only:
            # identified in principle, but not by these data (empirical under-identification): the
            # fit wandered along a ridge, or the paths of almost collinear constructs are confounded
            raise ModelError("model: not identified from these data — "
                             + ("the fit did not converge and " if not converged else "")
                             + "the information matrix is singular; the parameters involved are: "
                             f"{'; '.join(', '.join(row_by_param[z]) for z in involved)}. Constructs "
                             f"that are almost perfectly correlated in {prep.n_rows} rows cannot be told "
                             "apart: merge or drop constructs, or fit a larger group.")
        raise ModelError("model: not identified — the information matrix is singular; the "
                         "parameters involved are: "
                         f"{'; '.join(', '.join(row_by_param[z]) for z in involved)}. "
                         "Fix a loading or a variance for each latent variable, or add constraints.")
    K = len(eng.active)
    x_mask = np.array([v in pt.ov_x for v in prep.names])
    cw = phi = A0 = B0 = None
    mean_vcov = None
    if fd is not None or prep.w is not None:
        pat = fd.pat if fd is not None else _sem_fiml.Patterns.from_data(prep.X, prep.w)
        cw = _sem_fiml.Casewise(eng, pat, x_mask, prep.means)
        phi = np.concatenate([theta, prep.means[cw.free]])
        if fd is not None:
            if max_iter > 0:
                phi, converged, gmax, iters = cw.fit(phi)
            else:
                gmax = float(np.max(np.abs(cw.grad(phi)[1])))
                converged = gmax < _sem_fiml.GRAD_TOL
            theta = phi[:K]
        try:
            vcov_full, A0, B0 = cw.vcov(phi, prep.w)
        except np.linalg.LinAlgError as exc:
            raise ModelError("model: the information matrix at the solution is singular; the model "
                             "is not identified from these data") from exc
        vcov = vcov_full[:K, :K]
        mean_vcov = vcov_full[K:, K:] if fd is not None else None
    else:
        vcov = 2.0 / N * np.linalg.inv(H)
    est = eng.row_values(theta)
    se = np.full(len(est), np.nan)
    for k, nm in enumerate(eng.row_param):
        if nm is not None:
            i = eng.pindex[nm]
            se[k] = math.sqrt(vcov[i, i]) if vcov[i, i] > 0 else np.nan
    var, cov_inner = eng.implied_variances(theta)
    std = _sem.standardize(pt, est, var)
    std_se = _std_se(eng, pt, theta, vcov)
    var, cov_inner = eng.implied_variances(theta)
    rows = {"lhs": [r.lhs for r in pt.rows], "op": [r.op for r in pt.rows],
            "rhs": [r.rhs for r in pt.rows], "label": [r.label for r in pt.rows],
            "free": [r.free for r in pt.rows]}
    if fd is not None:
        # lavaan's ~1 rows: observed intercepts (covariates' means fixed), latent means fixed at 0
        _, mu_hat = cw.split(phi)
        nu = _sem_fiml.intercepts(eng, theta, mu_hat, prep.names, x_mask)
        nu_se = np.full(p, np.nan)
        if not x_mask.any():
            nu_se[cw.free] = np.sqrt(np.clip(np.diag(mean_vcov), 0, None))
        else:
            J = np.zeros((p, len(phi)))
            for k in range(len(phi)):
                h = 1e-6 * max(1.0, abs(phi[k]))
                tp, tm = phi.copy(), phi.copy()
                tp[k] += h
                tm[k] -= h
                J[:, k] = (_sem_fiml.intercepts(eng, tp[:K], cw.split(tp)[1], prep.names, x_mask)
                           - _sem_fiml.intercepts(eng, tm[:K], cw.split(tm)[1], prep.names, x_mask)) / (2 * h)
            eng.set(theta)
            full = np.zeros((len(phi), len(phi)))
            full[:K, :K] = vcov
            full[K:, K:] = mean_vcov
            full[:K, K:] = vcov_full[:K, K:]
            full[K:, :K] = vcov_full[K:, :K]
            nu_se = np.sqrt(np.clip(np.diag(J @ full @ J.T), 0, None))
            nu_se[x_mask] = np.nan
        for j, v in enumerate(prep.names):
            rows["lhs"].append(v)
            rows["op"].append("~1")
            rows["rhs"].append("")
            rows["label"].append("")
            rows["free"].append(not x_mask[j])
        for lv in pt.latent:
            rows["lhs"].append(lv)
            rows["op"].append("~1")
            rows["rhs"].append("")
            rows["label"].append("")
            rows["free"].append(False)
        est = np.concatenate([est, nu, np.zeros(len(pt.latent))])
        se = np.concatenate([se, nu_se, np.full(len(pt.latent), np.nan)])
        sd_obs = np.sqrt([var[v] for v in prep.names])
        std = np.concatenate([std, nu / sd_obs, np.zeros(len(pt.latent))])
        std_se = np.concatenate([std_se, np.full(p + len(pt.latent), np.nan)])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = est / se
    pval = 2 * stats.norm.sf(np.abs(z))
    estimates = pd.DataFrame({**rows, "est": est, "se": se, "z": z, "p_val": pval,
                              "ci_low": est - _Z975 * se, "ci_high": est + _Z975 * se, "std_est": std,
                              "std_se": std_se})
    if fd is None:
        fit = _sem.fit_measures(eng, theta, N, npar)
    else:
        fit = _sem_fiml.fit_measures(cw, phi, fd, npar, moments)
    if prep.w is not None:
        fit.update(_sem_fiml.scaled_test(cw, A0, B0, fit["chisq"], fit["df"], x_mask, prep.means, prep.S,
                                         means=fd is not None))
        fit["p_val_scaled"] = (float(stats.chi2.sf(fit["chisq_scaled"], fit["df"]))
                               if fit["df"] > 0 else np.nan)
    effects = _effects_table(eng, pt, theta, vcov)
    eng.set(theta)

    msgs: list[str] = []
    if not converged:
        msg = (f"the model did not converge (largest gradient {gmax:.2g} after {iters} polishing "
               "iterations); estimates are unreliable — simplify the model or check the data")
        msgs.append(msg)
        warnings.warn(ConvergenceWarning(msg, key="drivers.warn.converge", gmax=f"{gmax:.2g}"),
                      stacklevel=3)
    if fd is not None and not fd.h1_converged:
        msg = ("the saturated model (EM) did not converge; the chi-square and the fit indices that "
               "depend on it are unreliable")
        msgs.append(msg)
        warnings.warn(ConvergenceWarning(msg, key="drivers.warn.h1"), stacklevel=3)
    constructs = {lv: [i for i in inds if i in pt.observed] for lv, inds in pt.indicators.items()}
    # the columns the checks read, as arrays (reading them back from the frame costs more)
    ecols = {"lhs": np.array(rows["lhs"], dtype=object), "op": np.array(rows["op"], dtype=object),
             "rhs": np.array(rows["rhs"], dtype=object), "est": est, "std_est": std}
    rel_cols, dis_cols = _measurement_quality_cols(prep, pt, ecols, cov_inner, eng, constructs,
                                                   from_cov=fd is not None)
    reliability, discriminant = _quality_frames(rel_cols, dis_cols)
    checks, heywood_msgs = _checks(ecols, fit, rel_cols, dis_cols, converged, gmax)
    for m, (k, fields) in heywood_msgs:
        msgs.append(m)
        warnings.warn(WorkbenchWarning(m, key=k, **fields), stacklevel=3)
    method = _method_text(missing, prep, fd)
    return SEMResult(
        model=model, estimates=estimates, fit=fit, effects=effects, reliability=reliability,
        discriminant=discriminant, checks=checks, warnings=tuple(msgs), n=prep.n_rows,
        n_eff=prep.n_eff, n_dropped=prep.n_dropped, weighted=prep.w is not None, method=method,
        converged=bool(converged), constructs=constructs, missing=missing,
        n_complete=fd.n_complete if fd is not None else prep.n_rows,
    )


def _method_text(missing, prep, fd) -> str:
    if prep.w is None:
        est = ("full-information maximum likelihood (FIML, lavaan missing = \"ml\"; observed-information "
               "standard errors)" if fd is not None else
               "maximum likelihood (lavaan defaults; expected-information standard errors), listwise "
               "deletion")
        return f"{est}, N = {prep.n_rows}"
    est = ("weighted full-information maximum likelihood (FIML, lavaan missing = \"ml\" with sampling "
           "weights)" if fd is not None else
           "weighted maximum likelihood (lavaan sampling weights), listwise deletion")
    return (f"{est}; robust (Huber-White sandwich) standard errors and Yuan-Bentler scaled "
            f"chi-square; N = {prep.n_rows} rows, Kish effective base {prep.n_eff:.1f}; "
            "with-replacement design without strata or clusters")


_EMPTY: dict[tuple, pd.DataFrame] = {}


def _empty_frame(cols) -> pd.DataFrame:
    """A new empty frame with these (object) columns, as ``pd.DataFrame(columns=cols)``: a copy
    of one built once, which costs a twentieth of building it."""
    key = tuple(cols)
    if key not in _EMPTY:
        _EMPTY[key] = pd.DataFrame(columns=list(cols))
    return _EMPTY[key].copy()


def _effects_values(eng, pt, theta):
    est = eng.row_values(theta)
    names, B, pattern = _sem.structural_effects(pt, est)
    if not names:
        return names, None, None
    var, _ = eng.implied_variances(theta)
    n = len(names)
    T = np.linalg.inv(np.eye(n) - B) - np.eye(n)
    sd = np.sqrt(np.array([var[v] for v in names]))
    scale = np.outer(1.0 / sd, sd)          # [to, from] -> sd(from)/sd(to)
    return names, pattern, np.stack([B, T - B, T, B * scale, (T - B) * scale, T * scale])


def _effects_many(eng, pt, thetas) -> np.ndarray:
    """The six effect matrices of :func:`_effects_values` for many θ at once (N × 6 × n × n)."""
    rows, var_names, var = eng.values_many(thetas)
    names, _, _ = _sem.structural_effects(pt, rows[0])
    idx = {v: i for i, v in enumerate(names)}
    N, n = len(rows), len(names)
    B = np.zeros((N, n, n))
    for k, r in enumerate(pt.rows):
        if r.op == "~":
            B[:, idx[r.lhs], idx[r.rhs]] = rows[:, k]
    T = np.linalg.inv(np.eye(n) - B) - np.eye(n)
    pos = {v: i for i, v in enumerate(var_names)}
    sd = np.sqrt(var[:, [pos[v] for v in names]])
    scale = (1.0 / sd)[:, :, None] * sd[:, None, :]          # [to, from] -> sd(from)/sd(to)
    return np.stack([B, T - B, T, B * scale, (T - B) * scale, T * scale], axis=1)


def _effects_table(eng, pt, theta, vcov):
    names, pattern, vals = _effects_values(eng, pt, theta)
    cols = ["from", "to", "direct", "indirect", "total", "direct_std", "indirect_std", "total_std",
            "direct_se", "indirect_se", "total_se", "indirect_p_val", "total_p_val",
            "direct_std_se", "indirect_std_se", "total_std_se"]
    if not names:
        return _empty_frame(cols)
    reach = _sem.reachability(pattern)
    via = (pattern.astype(int) @ reach.astype(int)) > 0     # a path of length >= 2 exists
    pairs = [(t, s) for t in range(len(names)) for s in range(len(names)) if reach[t, s]]
    # delta method with a central-difference Jacobian (lavaan uses a numerical Jacobian for ':='
    # and for the standardised solution); the standardised effects depend on θ through the
    # model-implied variances as well
    theta = np.asarray(theta, dtype=float)
    K = len(theta)
    h = 1e-6 * np.maximum(1.0, np.abs(theta))
    step = np.diag(h)
    many = _effects_many(eng, pt, np.vstack([theta + step, theta - step]))
    dv = (many[:K] - many[K:]) / (2 * h)[:, None, None, None]      # K × 6 × n × n
    tt = np.array([t for t, _ in pairs], dtype=int)
    ss = np.array([s for _, s in pairs], dtype=int)
    J = np.concatenate([dv[:, q, tt, ss].T for q in range(6)])    # (6 · pairs) × K
    eng.set(theta)
    cov = J @ vcov @ J.T
    se_all = np.sqrt(np.clip(np.diag(cov), 0, None)).reshape(6, len(pairs))
    tt, ss = tt.tolist(), ss.tolist()
    d, ind, tot, ds, inds, tots = (vals[q][tt, ss] for q in range(6))
    se_d, se_i, se_t, se_ds, se_is, se_ts = se_all
    direct = pattern[tt, ss]
    single = ~via[tt, ss]
    ind, inds = np.where(single, 0.0, ind), np.where(single, 0.0, inds)
    se_i, se_is = np.where(single, np.nan, se_i), np.where(single, np.nan, se_is)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_ind = np.where(se_i > 0, 2 * stats.norm.sf(np.abs(ind / se_i)), np.nan)
        p_tot = np.where(se_t > 0, 2 * stats.norm.sf(np.abs(tot / se_t)), np.nan)
    return pd.DataFrame({
        "from": [names[s] for s in ss], "to": [names[t] for t in tt], "direct": d, "indirect": ind,
        "total": tot, "direct_std": ds, "indirect_std": inds, "total_std": tots,
        "direct_se": np.where(direct, se_d, np.nan), "indirect_se": se_i, "total_se": se_t,
        "indirect_p_val": p_ind, "total_p_val": p_tot,
        "direct_std_se": np.where(direct, se_ds, np.nan), "indirect_std_se": se_is,
        "total_std_se": se_ts,
    }, columns=cols)


def _std_se(eng, pt, theta, vcov) -> np.ndarray:
    """Delta-method standard errors of every row's ``std_est`` (lavaan's standardizedSolution),
    with a central-difference Jacobian evaluated for all perturbed θ at once."""
    theta = np.asarray(theta, dtype=float)
    K = len(theta)
    h = 1e-6 * np.maximum(1.0, np.abs(theta))
    step = np.diag(h)
    rows, names, var = eng.values_many(np.vstack([theta[None, :], theta + step, theta - step]))
    std = _sem.standardize_many(pt, rows, names, var)
    base = std[0]
    J = ((std[1:K + 1] - std[K + 1:]) / (2 * h)[:, None]).T
    eng.set(theta)
    se = np.sqrt(np.clip(np.einsum("ik,kl,il->i", J, vcov, J), 0, None))
    se[~np.isfinite(base)] = np.nan
    return se


def _std_se_loop(eng, pt, theta, vcov) -> np.ndarray:
    """:func:`_std_se` one θ at a time (the reference the batched Jacobian is tested against)."""
    def std_of(th):
        var, _ = eng.implied_variances(th)
        return _sem.standardize(pt, eng.row_values(th), var)

    K = len(theta)
    base = std_of(theta)
    J = np.zeros((len(base), K))
    for k in range(K):
        h = 1e-6 * max(1.0, abs(theta[k]))
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        J[:, k] = (std_of(tp) - std_of(tm)) / (2 * h)
    eng.set(theta)
    se = np.sqrt(np.clip(np.einsum("ik,kl,il->i", J, vcov, J), 0, None))
    se[~np.isfinite(base)] = np.nan
    return se


def _alpha(X: np.ndarray, w: np.ndarray | None, C: np.ndarray | None = None) -> float:
    """Cronbach's α; pingouin when unweighted, the same formula on the (weighted, or FIML/EM)
    covariance matrix ``C`` otherwise."""
    k = X.shape[1] if C is None else C.shape[0]
    if C is None and w is None:
        if np.isnan(X).any():  # pingouin's pairwise covariances
            import pingouin

            return float(pingouin.cronbach_alpha(data=pd.DataFrame(X))[0])
        C = np.cov(X, rowvar=False)  # pingouin's formula on complete rows (the divisor cancels)
    if C is None:
        _, C = _sem.weighted_moments(X, w)
    return float(k / (k - 1) * (1 - np.trace(C) / C.sum()))


def htmt_matrix(R: np.ndarray, blocks: dict[str, list[int]], absolute: bool = True) -> pd.DataFrame:
    """Heterotrait–monotrait ratio (Henseler et al. 2015) from an item correlation matrix.

    HTMT_ij = mean(r between items of i and j) / sqrt(mean(r within i) · mean(r within j)),
    within-construct means over distinct pairs; absolute correlations by default (as semTools).
    """
    return pd.DataFrame(_htmt_array(R, blocks, absolute), index=list(blocks), columns=list(blocks))


def _htmt_array(R: np.ndarray, blocks: dict[str, list[int]], absolute: bool = True) -> np.ndarray:
    """:func:`htmt_matrix` as an array (rows and columns in the order of ``blocks``)."""
    A = np.abs(R) if absolute else R
    names = list(blocks)
    mono = {}
    for c, idx in blocks.items():
        sub = A[np.ix_(idx, idx)]
        iu = np.triu_indices(len(idx), 1)
        mono[c] = sub[iu].mean() if len(idx) > 1 else np.nan
    out = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if a == b:
                out[i, j] = 1.0
                continue
            het = A[np.ix_(blocks[a], blocks[b])].mean()
            out[i, j] = het / math.sqrt(mono[a] * mono[b]) if mono[a] > 0 and mono[b] > 0 else np.nan
    return out


_REL_COLS = ["construct", "n_items", "alpha", "cr", "ave", "sqrt_ave", "max_r", "fornell_larcker",
             "max_htmt"]
_DIS_COLS = ["construct_a", "construct_b", "latent_r", "htmt", "fornell_larcker"]


def _measurement_quality(prep, pt, estimates, cov_inner, eng, constructs, from_cov=False):
    """The ``reliability`` and ``discriminant`` tables."""
    return _quality_frames(*_measurement_quality_cols(prep, pt, estimates, cov_inner, eng, constructs,
                                                      from_cov))


def _quality_frames(rows, dis):
    # one frame from columns (a list of row dicts costs pandas a type inference per cell)
    return (pd.DataFrame(rows, columns=_REL_COLS) if rows["construct"] else _empty_frame(_REL_COLS),
            pd.DataFrame(dis, columns=_DIS_COLS) if dis["construct_a"] else _empty_frame(_DIS_COLS))


def _measurement_quality_cols(prep, pt, estimates, cov_inner, eng, constructs, from_cov=False):
    """:func:`_measurement_quality` as two dicts of columns (lists)."""
    names = prep.names
    cons = {c: items for c, items in constructs.items() if len(items) >= 2}
    rel_cols, dis_cols = _REL_COLS, _DIS_COLS
    if not cons:
        return {c: [] for c in rel_cols}, {c: [] for c in dis_cols}
    std = dict(zip(zip(*(np.asarray(estimates[c]).tolist() for c in ("lhs", "op", "rhs"))),
                   np.asarray(estimates["std_est"], dtype=float)))
    sd = np.sqrt(np.diag(prep.S))
    R = prep.S / np.outer(sd, sd)
    lat = list(cons)
    blocks = {c: [names.index(i) for i in items] for c, items in cons.items()}
    H = _htmt_array(R, blocks)
    # latent correlations (model-implied)
    inner = eng.inner_names
    pos = [inner.index(c) for c in lat]
    sub = cov_inner[np.ix_(pos, pos)]
    d = np.sqrt(np.clip(np.diag(sub), 1e-300, None))
    latr = sub / np.outer(d, d)
    info = {}
    for c, items in cons.items():
        lam = np.array([std[(c, "=~", i)] for i in items])
        th = np.array([std[(i, "~~", i)] for i in items])
        Cb = prep.S[np.ix_(blocks[c], blocks[c])] if from_cov else None
        info[c] = dict(alpha=_alpha(prep.X[:, blocks[c]], prep.w, Cb),
                       cr=float(lam.sum() ** 2 / (lam.sum() ** 2 + th.sum())),
                       ave=float(np.mean(lam ** 2)))
    sq = {c: math.sqrt(info[c]["ave"]) if info[c]["ave"] >= 0 else np.nan for c in lat}
    dis = {c: [] for c in dis_cols}
    for a in range(len(lat)):
        for b in range(a + 1, len(lat)):
            r = float(latr[a, b])
            ok = sq[lat[a]] > abs(r) and sq[lat[b]] > abs(r)
            for c, v in zip(dis_cols, (lat[a], lat[b], r, float(H[a, b]), bool(ok))):
                dis[c].append(v)
    rows = {c: [] for c in rel_cols}
    for a, c in enumerate(lat):
        others = [b for b in range(len(lat)) if b != a]
        max_r = float(np.max(np.abs(latr[a, others]))) if others else np.nan
        row = {"construct": c, "n_items": len(cons[c]), **info[c], "sqrt_ave": sq[c],
               "max_r": max_r, "fornell_larcker": bool(not others or sq[c] > max_r),
               "max_htmt": float(np.max(H[a, others])) if others else np.nan}
        for k in rel_cols:
            rows[k].append(row[k])
    return rows, dis


def _passes(value, rule, cut):
    if value is None or not np.isfinite(value):
        return False
    return {">=": value >= cut, "<=": value <= cut, "<": value < cut, ">": value > cut}[rule]


def _checks(estimates, fit, reliability, discriminant, converged, gmax):
    cols = ["check", "target", "value", "rule", "threshold", "passed", "source"]
    out = {c: [] for c in cols}
    msgs = []

    def add(check, target, value, rule, threshold, passed=None, source=None):
        for c, v in zip(cols, (check, target, float(value), rule, float(threshold),
                               bool(_passes(value, rule, threshold) if passed is None else passed),
                               source or _SOURCES.get(check, ""))):
            out[c].append(v)

    add("converged", "model", gmax, "<=", _sem.SOFT_TOL, passed=converged)
    # estimates: the frame or its columns as arrays
    op, lhs, rhs = (np.asarray(estimates[c], dtype=object) for c in ("op", "lhs", "rhs"))
    est, std_est = (np.asarray(estimates[c], dtype=float) for c in ("est", "std_est"))
    neg = np.flatnonzero((op == "~~") & (lhs == rhs) & (est < 0))
    add("heywood", "variances", len(neg), "<=", 0)
    for k in neg:
        v, e = lhs[k], est[k]
        msgs.append((f"Heywood case: the variance of {v} is negative ({e:.4g}); the "
                     "model is misspecified or the construct is over-extracted — do not interpret "
                     "its estimates", ("drivers.warn.heywood_var", {"var": v, "value": f"{e:.3g}"})))
    loads = np.flatnonzero(op == "=~")
    max_std = float(np.nanmax(np.abs(std_est[loads]))) if len(loads) else 0.0
    add("std_loading", "max |standardised loading|", max_std, "<=", 1.0)
    for k in loads[np.abs(std_est[loads]) > 1]:
        msgs.append((f"Heywood case: the standardised loading of {rhs[k]} on {lhs[k]} is "
                     f"{std_est[k]:.3f} (above 1)",
                     ("drivers.warn.heywood_loading", {"item": rhs[k], "construct": lhs[k],
                                                       "value": f"{std_est[k]:.3f}"})))
    for key, (rule, cut) in FIT_THRESHOLDS.items():
        add(key, "model", fit[key], rule, cut)
    # reliability, discriminant: the tables or their columns
    rel = {c: list(reliability[c]) for c in ("construct", "alpha", "cr", "ave")}
    for j, construct in enumerate(rel["construct"]):
        for key in ("alpha", "cr", "ave"):
            rule, cut = QUALITY_THRESHOLDS[key]
            add(key, construct, rel[key][j], rule, cut)
    rule, cut = QUALITY_THRESHOLDS["htmt"]
    for a, b, htmt, r, fl in zip(*(list(discriminant[c]) for c in
                                   ("construct_a", "construct_b", "htmt", "latent_r", "fornell_larcker"))):
        tgt = f"{a}-{b}"
        add("htmt", tgt, htmt, rule, cut)
        add("fornell_larcker", tgt, abs(r), "<", np.nan, passed=fl)
    return pd.DataFrame(out, columns=cols), msgs


# ============================================================================================
# default model
# ============================================================================================
def default_model(codebook, *, satisfaction: str | None = None, loyalty: str | None = None,
                  drivers: Sequence[str] | None = None, direct: bool = False) -> str:
    """The standard CX driver model in lavaan syntax: driver constructs → satisfaction → loyalty.

    Parameters
    ----------
    codebook : Codebook or dict
        A :class:`workbench.codebook.Codebook` (``construct_items()`` and ``outcomes``), or a plain
        dict ``{"constructs": {name: [items]}, "outcomes": {"satisfaction": ..., "loyalty": ...}}``
        (or just ``{name: [items]}`` with ``satisfaction=``/``loyalty=`` given).
    satisfaction, loyalty : str, optional
        Override the codebook's ``outcomes``.  ``satisfaction`` names a construct; ``loyalty`` an
        observed outcome (e.g. ``nps``) or a construct.  ``loyalty=None`` and no codebook outcome:
        the model stops at satisfaction.
    drivers : list of str, optional
        Driver constructs (default: every construct not named in the codebook's ``outcomes``).
        A construct named under another outcome key (e.g. ``complaints: CUSCO``) becomes an
        outcome of satisfaction (``CUSCO ~ SAT``), never a driver of it.
    direct : bool
        Also add direct paths from the drivers to loyalty (partial mediation).

    Returns
    -------
    str
        lavaan syntax, e.g.::

            PRD =~ prd1 + prd2 + prd3
            ...
            SAT =~ sat1 + sat2 + sat3
            SAT ~ PRD + SRV + VAL + DIG
            nps ~ SAT

    Examples
    --------
    >>> print(default_model({"constructs": {"A": ["a1", "a2", "a3"], "S": ["s1", "s2", "s3"]},
    ...                      "outcomes": {"satisfaction": "S", "loyalty": "nps"}}))
    A =~ a1 + a2 + a3
    S =~ s1 + s2 + s3
    S ~ A
    nps ~ S
    """
    if hasattr(codebook, "construct_items"):
        items = codebook.construct_items()
        outcomes = dict(getattr(codebook, "outcomes", {}) or {})
    elif isinstance(codebook, Mapping):
        if "constructs" in codebook:
            raw = codebook["constructs"]
            items = {k: list(v["items"] if isinstance(v, Mapping) else v) for k, v in raw.items()}
            outcomes = dict(codebook.get("outcomes", {}) or {})
        else:
            items = {k: list(v) for k, v in codebook.items()}
            outcomes = {}
    else:
        raise ModelError(f"codebook: expected a Codebook or a dict of constructs, got "
                         f"{type(codebook).__name__}")
    sat = satisfaction or outcomes.get("satisfaction")
    loy = loyalty if loyalty is not None else outcomes.get("loyalty")
    if not sat:
        raise ModelError("default_model: no satisfaction construct — give satisfaction= or "
                         "outcomes.satisfaction in the codebook")
    if sat not in items:
        raise ModelError(f"default_model: satisfaction construct {sat!r} is not among the "
                         f"constructs ({', '.join(items)})")
    others = [o for k, o in outcomes.items() if o in items and o not in (sat, loy)
              and k not in ("satisfaction", "loyalty")]
    if drivers is None:
        drivers = [c for c in items if c not in (sat, loy) and c not in others]
    else:
        for d in drivers:
            if d not in items:
                raise ModelError(f"default_model: driver construct {d!r} is not among the "
                                 f"constructs ({', '.join(items)})")
    if not drivers:
        raise ModelError("default_model: no driver constructs left besides the outcomes")
    others = [o for o in others if o not in drivers]
    used = list(drivers) + [sat] + others + ([loy] if loy in items else [])
    lines = []
    for c in used:
        if len(items[c]) < 1:
            raise ModelError(f"default_model: construct {c!r} has no items")
        lines.append(f"{c} =~ " + " + ".join(items[c]))
    lines.append(f"{sat} ~ " + " + ".join(drivers))
    lines.extend(f"{o} ~ {sat}" for o in others)
    if loy:
        lines.append(f"{loy} ~ {sat}" + ("".join(f" + {d}" for d in drivers) if direct else ""))
    return "\n".join(lines)


# ============================================================================================
# simple views
# ============================================================================================
def _frame(data, outcome, drivers, weight):
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    if isinstance(drivers, str):
        drivers = [drivers]
    drivers = list(drivers)
    if not drivers:
        raise DataError("drivers: expected at least one driver column, got none")
    if outcome in drivers:
        raise DataError(f"drivers: the outcome {outcome!r} is also listed as a driver")
    if len(set(drivers)) != len(drivers):
        dup = sorted({d for d in drivers if drivers.count(d) > 1})
        raise DataError(f"drivers: listed more than once: {', '.join(dup)}")
    cols = [outcome] + drivers
    for c in cols:
        if c not in data.columns:
            import difflib

            hint = difflib.get_close_matches(str(c), [str(x) for x in data.columns], n=3)
            raise DataError(f"column {c!r} is not in the data"
                            + (f"; did you mean {', '.join(map(repr, hint))}?" if hint else ""))
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise DataError(f"column {c!r}: expected numeric scores, found dtype {data[c].dtype}")
    w = _sem.resolve_weight(data, weight)
    X = data[cols].to_numpy(dtype=float)
    ok = np.isfinite(X).all(axis=1)
    if w is not None:
        wv = w.to_numpy()
        ok &= np.isfinite(wv) & (wv > 0)
    X = X[ok]
    wk = None if w is None else w.to_numpy()[ok]
    if X.shape[0] <= len(drivers) + 1:
        raise DataError(f"data: {X.shape[0]} complete rows for {len(drivers)} drivers; expected "
                        "more rows than drivers + 1")
    _, C = _sem.weighted_moments(X, wk)
    sd = np.sqrt(np.diag(C))
    flat = [cols[i] for i in np.where(sd <= 1e-12 * np.maximum(1, np.abs(X).max(axis=0)))[0]]
    if flat:
        raise DataError(f"column {flat[0]!r}: zero variance among the {X.shape[0]} rows used; "
                        "it cannot explain or be explained")
    return drivers, X, wk, C


def _corr(C):
    sd = np.sqrt(np.diag(C))
    return C / np.outer(sd, sd)


def correlations(data: pd.DataFrame, outcome: str, drivers, *, weight=None,
                 conf: float = 0.95) -> pd.DataFrame:
    """(Weighted) Pearson correlation of each driver with the outcome.

    Parameters
    ----------
    data : DataFrame
    outcome : str
    drivers : list of str
    weight : str or array-like, optional
    conf : float
        Confidence level of the Fisher-z interval.

    Returns
    -------
    DataFrame
        One row per driver: ``driver, r, p_val, ci_low, ci_high, n, n_eff``.  Intervals and p-values
        use the Fisher z transform with the (effective) base: se = 1/sqrt(n_eff − 3); the test is
        the t test with n_eff − 2 degrees of freedom (unweighted: identical to ``cor.test``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1, 2, 3, 4, 5], "a": [1, 3, 2, 5, 4]})
    >>> float(round(correlations(df, "y", ["a"])["r"].iloc[0], 2))
    0.8
    """
    drivers, X, w, C = _frame(data, outcome, drivers, weight)
    R = _corr(C)
    n = X.shape[0]
    n_eff = float(n) if w is None else _sem.kish_n_eff(w)
    r = R[0, 1:]
    dfree = n_eff - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt(dfree / (1 - r ** 2))
    p = 2 * stats.t.sf(np.abs(t), dfree)
    zc = stats.norm.ppf(0.5 + conf / 2)
    zr = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    se = 1 / math.sqrt(n_eff - 3) if n_eff > 3 else np.nan
    return pd.DataFrame({"driver": drivers, "r": r, "p_val": p, "ci_low": np.tanh(zr - zc * se),
                         "ci_high": np.tanh(zr + zc * se), "n": n, "n_eff": n_eff})


def standardized_regression(data: pd.DataFrame, outcome: str, drivers, *, weight=None,
                            conf: float = 0.95) -> pd.DataFrame:
    """Multiple linear regression of the outcome on the drivers, with standardised coefficients.

    Parameters
    ----------
    data : DataFrame
    outcome : str
    drivers : list of str
    weight : str or array-like, optional
        Unweighted: OLS with classical standard errors (R ``lm``).  Weighted: weighted least
        squares with linearisation (sandwich) standard errors and n − p − 1 degrees of freedom,
        as R ``survey::svyglm`` with ``svydesign(ids = ~1, weights = ~w)``.
    conf : float

    Returns
    -------
    DataFrame
        One row per driver: ``driver, b, se, t, p_val, ci_low, ci_high`` (unstandardised) and
        ``beta`` (b · sd(driver) / sd(outcome), weighted SDs when weighted).  ``attrs["r2"]``
        holds the model R².

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1, 2, 4, 4, 6, 7], "a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 2, 1, 2, 1]})
    >>> float(round(standardized_regression(df, "y", ["a", "b"])["beta"].iloc[0], 3))
    1.026
    """
    drivers, X, w, C = _frame(data, outcome, drivers, weight)
    y, Z = X[:, 0], X[:, 1:]
    n, k = Z.shape
    A = np.column_stack([np.ones(n), Z])
    if w is None:
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        e = y - A @ coef
        s2 = e @ e / (n - k - 1)
        V = s2 * np.linalg.inv(A.T @ A)
    else:
        ws = w / w.mean()
        Aw = A * ws[:, None]
        XtWX = A.T @ Aw
        coef = np.linalg.solve(XtWX, Aw.T @ y)
        e = y - A @ coef
        bread = np.linalg.inv(XtWX)
        U = Aw * e[:, None]
        Uc = U - U.mean(axis=0)
        meat = n / (n - 1) * (Uc.T @ Uc)
        V = bread @ meat @ bread
    b = coef[1:]
    se = np.sqrt(np.diag(V))[1:]
    t = b / se
    dfree = n - k - 1
    p = 2 * stats.t.sf(np.abs(t), dfree)
    tc = stats.t.ppf(0.5 + conf / 2, dfree)
    sd = np.sqrt(np.diag(C))
    beta = b * sd[1:] / sd[0]
    R = _corr(C)
    r2 = float(R[0, 1:] @ np.linalg.solve(R[1:, 1:], R[0, 1:]))
    out = pd.DataFrame({"driver": drivers, "b": b, "se": se, "t": t, "p_val": p,
                        "ci_low": b - tc * se, "ci_high": b + tc * se, "beta": beta})
    out.attrs["r2"] = r2
    out.attrs["n"] = n
    return out


def relative_importance(data: pd.DataFrame, outcome: str, drivers, *, method: str = "lmg",
                        weight=None, bootstrap: int = 0, conf: float = 0.95, seed=None,
                        client=None) -> pd.DataFrame:
    """Relative importance of drivers: LMG (Shapley R² decomposition) or Johnson's relative weights.

    Parameters
    ----------
    data : DataFrame
    outcome : str
    drivers : list of str
    method : {"lmg", "relative_weights"}
        ``"lmg"``: Lindeman, Merenda & Gold (1980) — each driver's R² gain averaged over all
        orderings (the Shapley value of R²; relaimpo's ``type = "lmg"``), computed exactly from the
        correlation matrix over all 2^p subsets.  ``"relative_weights"``: Johnson (2000).
    weight : str or array-like, optional
        Weighted correlation matrix.
    bootstrap : int
        Number of bootstrap resamples for percentile intervals (0 = none).  Rows are resampled with
        replacement, carrying their weights.
    conf : float
        Interval level.
    seed : int, optional
        Seed of the bootstrap; the result does not depend on whether dask is used.
    client : dask.distributed.Client, optional
        Run the bootstrap on this client; by default an active client is used if there is one,
        else the bootstrap runs serially with numpy.

    Returns
    -------
    DataFrame
        One row per driver: ``driver, importance`` (share of variance explained; sums to R²),
        ``share`` (importance / R², sums to 1), and with ``bootstrap`` ``ci_low, ci_high`` (of
        ``importance``) and ``share_ci_low, share_ci_high``.  ``attrs``: ``r2, n, n_eff, method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    >>> df["y"] = df.a + 0.5 * df.b + rng.normal(size=200)
    >>> ri = relative_importance(df, "y", ["a", "b", "c"])
    >>> bool(abs(ri["share"].sum() - 1) < 1e-12)
    True
    """
    if method not in ("lmg", "relative_weights"):
        raise DataError(f"method: expected 'lmg' or 'relative_weights', got {method!r}")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise DataError(f"bootstrap: expected a non-negative whole number, got {bootstrap!r}")
    if not 0 < conf < 1:
        raise DataError(f"conf: expected a level between 0 and 1, got {conf!r}")
    drivers, X, w, C = _frame(data, outcome, drivers, weight)
    if len(drivers) > _relimp.MAX_LMG and method == "lmg":
        raise DataError(f"drivers: LMG over {len(drivers)} drivers needs 2^{len(drivers)} subset "
                        f"regressions; at most {_relimp.MAX_LMG} are supported — group drivers into "
                        "constructs or use method='relative_weights'")
    R = _corr(C)
    _relimp.check_collinear(R[1:, 1:], drivers)
    imp = _relimp.importance(R, method)
    r2 = float(imp.sum())
    out = pd.DataFrame({"driver": drivers, "importance": imp, "share": imp / r2})
    if bootstrap:
        boots = _relimp.bootstrap(X, w, method, int(bootstrap), seed, client)
        a = (1 - conf) / 2
        out["ci_low"] = np.nanquantile(boots, a, axis=0)
        out["ci_high"] = np.nanquantile(boots, 1 - a, axis=0)
        shares = boots / boots.sum(axis=1, keepdims=True)
        out["share_ci_low"] = np.nanquantile(shares, a, axis=0)
        out["share_ci_high"] = np.nanquantile(shares, 1 - a, axis=0)
    out.attrs.update(r2=r2, n=int(X.shape[0]),
                     n_eff=float(X.shape[0]) if w is None else _sem.kish_n_eff(w), method=method,
                     bootstrap=int(bootstrap))
    return out


def construct_scores(data: pd.DataFrame, constructs) -> pd.DataFrame:
    """Construct scores as the mean of their items (row-wise, ignoring missing items).

    Parameters
    ----------
    data : DataFrame
    constructs : dict or Codebook
        ``{construct: [items]}`` or an object with ``construct_items()``.

    Returns
    -------
    DataFrame
        One column per construct, aligned to ``data.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> construct_scores(pd.DataFrame({"a1": [1, 3], "a2": [3, 5]}), {"A": ["a1", "a2"]})["A"].tolist()
    [2.0, 4.0]
    """
    items = constructs.construct_items() if hasattr(constructs, "construct_items") else constructs
    out = {}
    for c, cols in items.items():
        missing = [i for i in cols if i not in data.columns]
        if missing:
            raise DataError(f"construct {c!r}: item column {missing[0]!r} is not in the data")
        out[c] = data[list(cols)].astype(float).mean(axis=1)
    return pd.DataFrame(out, index=data.index)


def four_views(data: pd.DataFrame, outcome: str, drivers, sem_result: SEMResult | None = None, *,
               weight=None, sem_target: str | None = None) -> pd.DataFrame:
    """Correlation, standardised regression, LMG and SEM total effect side by side.

    Parameters
    ----------
    data : DataFrame
        Holds the outcome and the driver scores (e.g. from :func:`construct_scores`).
    outcome : str
    drivers : list of str
        Driver columns; to show the SEM view they must be named as the model's latent variables.
    sem_result : SEMResult, optional
    weight : str or array-like, optional
    sem_target : str, optional
        Variable of the SEM whose total effects are shown (default: ``outcome``).

    Returns
    -------
    DataFrame
        One row per driver: ``driver, r, beta, lmg, lmg_share`` and, with a SEM,
        ``sem_total, sem_total_std``; plus ``rank_r, rank_beta, rank_lmg, rank_sem`` (1 = most
        important, by absolute value).
    """
    cor = correlations(data, outcome, drivers, weight=weight)
    reg = standardized_regression(data, outcome, drivers, weight=weight)
    ri = relative_importance(data, outcome, drivers, weight=weight)
    out = pd.DataFrame({"driver": cor["driver"], "r": cor["r"], "beta": reg["beta"],
                        "lmg": ri["importance"], "lmg_share": ri["share"]})
    if sem_result is not None:
        tgt = sem_target or outcome
        out["sem_total"] = [sem_result.effect(d, tgt) for d in out["driver"]]
        out["sem_total_std"] = [sem_result.effect(d, tgt, std=True) for d in out["driver"]]
    for col, key in (("r", "rank_r"), ("beta", "rank_beta"), ("lmg", "rank_lmg"),
                     ("sem_total_std", "rank_sem")):
        if col in out:
            out[key] = out[col].abs().rank(ascending=False, method="min").astype(int)
    return out


# ============================================================================================
# IPMA
# ============================================================================================
def _rescale(x, lo, hi):
    return (x - lo) / (hi - lo) * 100.0


def _marker(res: SEMResult, latent: str) -> str | None:
    """The indicator whose loading is fixed to 1 (the latent's metric), else the first one."""
    est = res.estimates
    rows = est[(est.op == "=~") & (est.lhs == latent)]
    fixed = rows[~rows["free"].astype(bool) & np.isclose(rows["est"].astype(float), 1.0)]
    if len(fixed):
        return str(fixed["rhs"].iloc[0])
    return str(rows["rhs"].iloc[0]) if len(rows) else None


def _item_scale(item, scale_min, scale_max, codebook, what):
    """``(min, max)`` of one column: the explicit scale, else the codebook's; never a default."""
    if scale_min is not None and scale_max is not None:
        lo, hi = float(scale_min), float(scale_max)
    else:
        found = codebook.items_scale([item]) if codebook is not None else None
        if found is None:
            raise DataError(f"ipma: no scale for {what} {item!r} — give scale_min/scale_max, or a "
                            "codebook that defines the question's min and max")
        lo, hi = map(float, found)
    if not hi > lo:
        raise DataError(f"ipma: the scale of {item!r} runs from {lo:g} to {hi:g}; expected max above min")
    return lo, hi


def quadrant_calls(importance, importance_se, performance, performance_se, importance_cut,
                   performance_cut, conf: float = 0.95) -> pd.DataFrame:
    """Which side of each split a point lies on, where the difference is significant.

    A point is above (``"high"``) or below (``"low"``) a split only when the z test of its
    distance from the split (``|x − cut| / se``, the split taken as fixed) is significant at
    ``conf``; otherwise it is ``"line"``.  The ``call`` is the quadrant when both sides are
    known, else ``"on_the_line"`` (a point with no standard error is called on its position).

    Returns
    -------
    DataFrame
        ``importance_side, performance_side, z_importance, z_performance, call``.

    Examples
    --------
    >>> quadrant_calls([0.30, 0.20], [0.02, 0.02], [60.0, 63.8], [0.4, 0.4], 0.25, 63.5)["call"].tolist()
    ['concentrate', 'on_the_line']
    """
    zc = stats.norm.ppf(0.5 + conf / 2)

    def side(x, se, cut):
        x, se = np.asarray(x, float), np.asarray(se, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (x - cut) / se
        known = np.isfinite(z)
        out = np.where(x >= cut, "high", "low").astype(object)
        out[known & (np.abs(z) < zc)] = "line"
        return out, np.where(known, z, np.nan)

    si, zi = side(importance, importance_se, importance_cut)
    sp, zp = side(performance, performance_se, performance_cut)
    quad = {("high", "low"): "concentrate", ("high", "high"): "keep_up",
            ("low", "low"): "low_priority", ("low", "high"): "overkill"}
    call = [quad.get((a, b), "on_the_line") for a, b in zip(si, sp)]
    return pd.DataFrame({"importance_side": si, "performance_side": sp, "z_importance": zi,
                         "z_performance": zp, "call": call})


def ipma(result_or_frame, target: str, *, data: pd.DataFrame | None = None, weight=None,
         scale_min: float | None = None, scale_max: float | None = None,
         target_scale: tuple | None = None, constructs: Mapping | None = None,
         drivers: Sequence[str] | None = None, cut: str = "mean", codebook=None,
         conf: float = 0.95) -> pd.DataFrame:
    """Importance–performance map analysis (IPMA) with Martilla & James quadrants.

    Parameters
    ----------
    result_or_frame : SEMResult or DataFrame
        A fitted SEM: importance = the driver's unstandardised total effect on ``target``,
        expressed on 0–100 rescaled scores (SmartPLS IPMA convention, Ringle & Sarstedt 2016),
        i.e. total effect × (driver scale range / target scale range), the ranges being those of
        each latent variable's marker indicator (the one whose loading is fixed to 1); the two
        ranges are equal when driver and target items share a scale, and the importance is the
        total effect.  Or a DataFrame with a ``driver`` column and an ``importance`` column (e.g.
        from :func:`relative_importance`) and optionally ``performance`` (0–100).
    target : str
        The outcome the importance refers to (a latent or observed variable of the SEM).
    data : DataFrame, optional
        Respondent data for performance (needed unless the frame has ``performance``).
    weight : str or array-like, optional
        Weighted performance means.
    scale_min, scale_max : float, optional
        One item scale for every driver item (performance 0 = ``scale_min``, 100 =
        ``scale_max``).  Default: each item's own scale from ``codebook``; there is no built-in
        scale — a driver item whose scale is known from neither raises :class:`DataError`.
    target_scale : (min, max), optional
        Scale of the target's marker item (default: ``scale_min``/``scale_max`` when given, else
        the codebook's); only used to rescale SEM effects.
    constructs : dict, optional
        ``{construct: [items]}`` for performance (default: the SEM's measurement model; for a
        frame, each driver is a data column).
    drivers : list of str, optional
        Restrict to these drivers (default: every construct/variable with a path to ``target``).
    cut : {"mean", "median"}
        Where the quadrants are split: the mean (default) or median of importance and of
        performance across the drivers shown.
    codebook : Codebook, optional
        Source of the item scales (``items_scale``).
    conf : float
        Level of the importance interval (SEM input).

    Returns
    -------
    DataFrame
        One row per driver, ordered by ``priority``: ``driver, importance, performance,
        quadrant`` (``concentrate`` = high importance / low performance, ``keep_up``,
        ``low_priority``, ``overkill``), ``priority`` (1 = act first: concentrate, then keep_up,
        low_priority, overkill; by importance within a quadrant), and for SEM input
        ``total_effect, total_effect_std, ci_low, ci_high`` (interval of ``importance`` at
        ``conf``, delta method) and ``p_val`` (of the total effect).  Plus ``importance_se``,
        ``performance_se`` and ``perf_ci_low, perf_ci_high`` (linearised standard error of the
        (weighted) mean, interval at ``conf``) when known, and :func:`quadrant_calls`' columns:
        ``call`` is the quadrant only where the point is significantly off both splits, else
        ``"on_the_line"``.  ``attrs``: ``importance_cut, performance_cut, cut``.  Performance is the (weighted) mean over
        respondents of each respondent's mean item score, every item rescaled to 0–100 with its
        own scale; it always lies within 0–100 — a value outside means data outside the
        codebook's scale, and raises :class:`DataError` rather than being clipped.
    """
    if cut not in ("mean", "median"):
        raise DataError(f"cut: expected 'mean' or 'median', got {cut!r}")
    if (scale_min is None) != (scale_max is None):
        raise DataError("ipma: give both scale_min and scale_max, or neither (scales from the codebook)")
    if scale_min is not None and not scale_max > scale_min:
        raise DataError(f"scale_max ({scale_max!r}) must be above scale_min ({scale_min!r})")
    if not 0 < conf < 1:
        raise DataError(f"conf: expected a level between 0 and 1, got {conf!r}")
    if isinstance(result_or_frame, SEMResult):
        res = result_or_frame
        eff = res.effects[res.effects["to"] == target]
        if eff.empty:
            known = sorted(set(res.effects["to"]))
            raise ModelError(f"ipma: no structural path leads to {target!r} (targets in the model: "
                             f"{', '.join(known)})")
        if drivers is None:
            drivers = list(eff["from"])
        cons = dict(constructs) if constructs is not None else dict(res.constructs)
        tmarker = _marker(res, target) if target in res.constructs else target
        if target_scale is not None:
            tmin, tmax = map(float, target_scale)
        else:
            tmin, tmax = _item_scale(tmarker, scale_min, scale_max, codebook, "target item")
        zc = stats.norm.ppf(0.5 + conf / 2)
        rows = []
        for d in drivers:
            hit = eff[eff["from"] == d]
            if hit.empty:
                raise ModelError(f"ipma: driver {d!r} has no path to {target!r}")
            dmarker = _marker(res, d) if d in res.constructs else d
            dmin, dmax = _item_scale(dmarker, scale_min, scale_max, codebook, "driver item")
            factor = (dmax - dmin) / (tmax - tmin)
            tot, se = float(hit["total"].iloc[0]), float(hit["total_se"].iloc[0])
            rows.append({"driver": d, "total_effect": tot,
                         "total_effect_std": float(hit["total_std"].iloc[0]),
                         "importance": tot * factor, "importance_se": se * abs(factor),
                         "ci_low": (tot - zc * se) * factor, "ci_high": (tot + zc * se) * factor,
                         "p_val": float(hit["total_p_val"].iloc[0])})
        out = pd.DataFrame(rows)
        if data is None:
            raise DataError("ipma: data= is needed to compute performance (construct means)")
        perf_items = {d: cons.get(d, [d]) for d in drivers}
    elif isinstance(result_or_frame, pd.DataFrame):
        fr = result_or_frame
        if "driver" not in fr.columns or "importance" not in fr.columns:
            raise DataError("ipma: expected a frame with 'driver' and 'importance' columns, got "
                            f"{', '.join(map(str, fr.columns))}")
        keep = ["driver", "importance"] + [c for c in ("performance", "ci_low", "ci_high", "p_val")
                                           if c in fr.columns]
        out = fr[keep].copy()
        if drivers is not None:
            out = out[out["driver"].isin(drivers)]
        out = out.reset_index(drop=True)
        perf_items = {d: (constructs or {}).get(d, [d]) for d in out["driver"]}
    else:
        raise DataError(f"ipma: expected a SEMResult or a DataFrame, got {type(result_or_frame).__name__}")
    if "performance" not in out:
        if data is None:
            raise DataError("ipma: data= is needed to compute performance")
        w = _sem.resolve_weight(data, weight)
        perf, perf_se = [], []
        for d in out["driver"]:
            items = list(perf_items[d])
            miss = [i for i in items if i not in data.columns]
            if miss:
                raise DataError(f"ipma: performance of {d!r} needs column {miss[0]!r}, not in the data")
            cols = []
            for i in items:
                lo, hi = _item_scale(i, scale_min, scale_max, codebook, "driver item")
                cols.append(_rescale(data[i].astype(float).to_numpy(), lo, hi))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # rows with no answer: NaN
                score = np.nanmean(np.column_stack(cols), axis=1)
            ok = np.isfinite(score)
            if w is not None:
                wv = w.to_numpy()
                ok &= np.isfinite(wv) & (wv > 0)
                m = float(np.average(score[ok], weights=wv[ok]))
                wk = wv[ok]
            else:
                m = float(score[ok].mean())
                wk = np.ones(int(ok.sum()))
            # linearised SE of a (weighted) mean: sqrt(Σ w²(x − m)²) / Σ w (× n/(n−1))
            nk = len(wk)
            perf_se.append(float(np.sqrt((wk ** 2 * (score[ok] - m) ** 2).sum() * nk / max(nk - 1, 1)) / wk.sum())
                           if nk > 1 else np.nan)
            if not -1e-9 <= m <= 100 + 1e-9:
                raise DataError(f"ipma: performance of {d!r} is {m:.1f} on 0–100 — its items hold "
                                "values outside their scale (check the codebook's min/max and the "
                                "missing codes)")
            perf.append(m)
        out["performance"] = perf
        out["performance_se"] = perf_se
    agg = np.mean if cut == "mean" else np.median
    icut, pcut = float(agg(out["importance"])), float(agg(out["performance"]))
    hi_i = out["importance"] >= icut
    hi_p = out["performance"] >= pcut
    out["quadrant"] = np.select([hi_i & ~hi_p, hi_i & hi_p, ~hi_i & ~hi_p],
                                ["concentrate", "keep_up", "low_priority"], "overkill")
    zc = stats.norm.ppf(0.5 + conf / 2)
    if "performance_se" in out:
        out["perf_ci_low"] = out["performance"] - zc * out["performance_se"]
        out["perf_ci_high"] = out["performance"] + zc * out["performance_se"]
    isd = out["importance_se"] if "importance_se" in out else np.full(len(out), np.nan)
    psd = out["performance_se"] if "performance_se" in out else np.full(len(out), np.nan)
    calls = quadrant_calls(out["importance"], isd, out["performance"], psd, icut, pcut, conf)
    for c in calls.columns:
        out[c] = calls[c].to_numpy()
    order = {q: i for i, q in enumerate(QUADRANTS)}
    out = out.assign(_q=out["quadrant"].map(order)).sort_values(
        ["_q", "importance"], ascending=[True, False], kind="stable").drop(columns="_q").reset_index(drop=True)
    out["priority"] = np.arange(1, len(out) + 1)
    cols = ["driver", "importance", "performance", "quadrant", "priority"]
    cols += [c for c in out.columns if c not in cols]
    out = out[cols]
    out.attrs.update(importance_cut=icut, performance_cut=pcut, cut=cut)
    return out


# --------------------------------------------------------------------------------------------
# the whole key-driver analysis in one call (what the notebook shows)
# --------------------------------------------------------------------------------------------
#: Guards of a key-driver analysis: a failed one is said in the summary and withholds the action
#: list for the constructs it affects.  ``check -> (rule, threshold)``.
GUARDS = {
    "converged": ("", np.nan),
    "std_path": ("<=", 1.0),        # |standardised path| (Jöreskog 1999)
    "r2": ("<", 0.95),              # latent R² (collinear predictors)
    "heywood": (">=", 0.0),         # residual variances (Dillon, Kumar & Mulani 1987)
    "std_loading": ("<=", 1.0),     # |standardised loading|
    "alpha": QUALITY_THRESHOLDS["alpha"],
    "cr": QUALITY_THRESHOLDS["cr"],
    "ave": QUALITY_THRESHOLDS["ave"],
    "fornell_larcker": ("", np.nan),
    "htmt": QUALITY_THRESHOLDS["htmt"],
}


@dataclass(frozen=True)
class KeyDriverAnalysis:
    """Every view of one key-driver analysis, computed on the same respondents.

    The report's words, tables and charts read these frames and compute nothing themselves: one
    ranking (:attr:`ranking`) orders the drivers everywhere, significance is decided here at
    ``conf``, and the guards (:attr:`checks`) decide which recommendations are withheld.

    Attributes
    ----------
    sem : SEMResult
        The structural equation model.
    views : DataFrame or None
        ``four_views`` of the drivers on satisfaction (correlation, standardised regression, LMG
        share, SEM total effect) with per-view ranks, rows in :attr:`ranking` order; None when it
        could not be computed (see :attr:`problems`).
    importance : DataFrame or None
        ``relative_importance`` (LMG) of the drivers on satisfaction with bootstrap CIs, rows in
        :attr:`ranking` order.
    ipma : DataFrame or None
        Importance–performance of the drivers on :attr:`ipma_target`, in ``priority`` order, plus
        ``significant`` (total effect at ``conf``), ``withheld`` (a guard affects the driver or
        its route to the target), ``reasons`` (tuple of ``(construct, check)``) and ``action``:
        ``"act"``, ``"not_significant"`` or ``"withheld"``.
    drivers : tuple
        The model's predecessors of satisfaction (its ``~`` rows), in model order.
    satisfaction : str
        ``outcomes.satisfaction`` of the codebook; without one, the model's endogenous variable
        with the most predictors (the first such in model order).
    loyalty : str or None
        ``outcomes.loyalty`` when the model has paths into it, else None (no loyalty sections).
    n_rows : int
        Respondents in the selection (before the model's listwise deletion).
    model : str
    ranking : DataFrame
        The drivers of satisfaction ranked by the absolute standardised SEM total effect: ``rank,
        driver, total_std`` (signed), ``ci_low, ci_high`` (at ``conf``), ``p_val, significant,
        direct_std, indirect_std, total``.
    paths : DataFrame
        Structural paths: ``source, target, est, se, std_est, std_se, p_val, ci_low, ci_high``
        (interval at ``conf``), ``significant``; by target, then absolute standardised estimate.
    outcome_effects : DataFrame
        Effects on loyalty of every variable with a path to it: ``rank, source, direct_std,
        indirect_std, total_std, p_val, significant, via`` (tuple of the variables the indirect
        effect passes through); empty without loyalty.
    successors : tuple
        Variables the model lets satisfaction act on (e.g. loyalty, complaints).
    ipma_target : str or None
        Loyalty when the drivers reach it, else satisfaction.
    checks : DataFrame
        Failed guards, one row each: ``check`` (a key of :data:`GUARDS`), ``subject`` (tuple of
        the variables it names: a path's source and target, a construct, a pair), ``value, rule,
        threshold, affects`` (tuple of constructs whose recommendations are withheld).
    flags : dict
        ``{construct: (check, ...)}`` for every construct a failed guard affects.
    problems : dict
        ``{section: message}`` for optional parts that could not be computed (``views``,
        ``importance``, ``ipma``).
    dataset, brand, wave, brand_col, wave_col, weight, conf
        The selection: the dataset, the brand and wave asked for (None = all), the columns that
        play the brand and wave roles in the dataset (None = the study has none), the weight
        column (None = unweighted) and the confidence level.
    model_given : bool
        Whether the user gave the model (never changed) or it was built by :func:`default_model`.
    added_paths : DataFrame
        Direct paths driver → loyalty added to the default model because the data call for them
        (:func:`release_direct_paths`): ``step, lhs, op, rhs, mi, epc, sepc_all, p_val, model``;
        empty for a user's model, without loyalty, or when none qualified.
    mod_indices : DataFrame
        The largest modification indices of the final model (:func:`modification_indices`, at
        most :data:`MI_SHOWN` rows); empty when they could not be computed (see ``problems``).
    missing : str
        How missing answers were handled in the SEM: ``"fiml"`` or ``"listwise"``.
    views_n : int
        Respondents the four views and the LMG shares are computed on (every driver score and
        the outcome known).
    n_partial : int
        Respondents the SEM used who left at least one model question unanswered (FIML keeps
        their other answers; 0 for a listwise fit).
    views_loyalty : DataFrame or None
        ``four_views`` of the drivers on loyalty (their correlation, joint regression and LMG on
        the loyalty question, and their SEM total effect on it), rows in the order of their total
        effect on loyalty (:attr:`outcome_effects`); None without loyalty (or see ``problems``).
    """

    sem: SEMResult
    views: pd.DataFrame | None
    importance: pd.DataFrame | None
    ipma: pd.DataFrame | None
    drivers: tuple
    satisfaction: str
    loyalty: str | None
    n_rows: int
    model: str
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    outcome_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    successors: tuple = ()
    ipma_target: str | None = None
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)
    dataset: str | None = None
    brand: str | None = None
    wave: object = None
    brand_col: str | None = None
    wave_col: str | None = None
    weight: str | None = None
    conf: float = 0.95
    model_given: bool = False
    added_paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    mod_indices: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: str = "listwise"
    views_n: int = 0
    n_partial: int = 0
    views_loyalty: pd.DataFrame | None = None


def _given(value) -> bool:
    """A selection parameter that selects: not None, "" or "all" (those mean "not in this study")."""
    return value is not None and str(value).strip() not in ("", "all")


def _select(data, *, brand=None, wave=None, brand_col="brand", wave_col="wave", codebook=None,
            dataset=None):
    """Respondents of one brand and/or wave.

    With ``codebook`` and ``dataset`` the brand and wave columns are the dataset's ``brand`` and
    ``wave`` roles (``codebook.role``); a study without the role has no such selection.
    """
    if codebook is not None and dataset:
        brand_col = codebook.role(dataset, "brand")
        wave_col = codebook.role(dataset, "wave")
    where = f" of dataset {dataset!r}" if dataset else ""
    sel = data
    if _given(brand):
        if brand_col is None:
            raise DataError(f"brand: {brand!r} asked for, but the data{where} have no brand column "
                            "(no brand role in the codebook); use brand: all")
        if brand_col not in data.columns:
            raise DataError(f"brand: the data have no {brand_col!r} column to select {brand!r}")
        if brand not in set(data[brand_col].dropna()):
            raise DataError(f"brand: {brand!r} is not in column {brand_col!r} "
                            f"(found: {', '.join(sorted(map(str, data[brand_col].dropna().unique())))})")
        sel = sel[sel[brand_col] == brand]
    if _given(wave):
        if wave_col is None:
            raise DataError(f"wave: {wave!r} asked for, but the data{where} have no wave column "
                            "(no wave role in the codebook); use wave: all")
        if wave_col not in data.columns:
            raise DataError(f"wave: the data have no {wave_col!r} column")
        try:
            wv = int(wave)
        except (TypeError, ValueError):
            raise DataError(f"wave: expected a wave number or all, got {wave!r}") from None
        sel = sel[sel[wave_col] == wv]
        if sel.empty:
            raise DataError(f"wave: no respondents in wave {wave!r}")
    return sel


def _predecessors(sem: SEMResult) -> dict:
    """``{target: [sources]}`` from the model's ``~`` rows, in model order."""
    est = sem.estimates
    out: dict[str, list[str]] = {}
    for lhs, rhs in zip(est.loc[est.op == "~", "lhs"], est.loc[est.op == "~", "rhs"]):
        out.setdefault(lhs, []).append(rhs)
    return out


def _descendants(preds: dict) -> dict:
    """``{variable: set of variables it has a directed path to}``."""
    succ: dict[str, set] = {}
    for t, srcs in preds.items():
        for s in srcs:
            succ.setdefault(s, set()).add(t)
    out = {}
    for v in set(succ) | set(preds):
        seen, stack = set(), list(succ.get(v, ()))
        while stack:
            x = stack.pop()
            if x not in seen:
                seen.add(x)
                stack.extend(succ.get(x, ()))
        out[v] = seen
    return out


def _causal_order(preds: dict) -> dict:
    """``{variable: position}``: by the longest chain of paths into it, then model order."""
    nodes = list(dict.fromkeys([v for t, srcs in preds.items() for v in (*srcs, t)]))
    depth: dict[str, int] = {}

    def d(v, seen=()):
        if v not in depth:
            ps = [p for p in preds.get(v, []) if p not in seen]  # a feedback loop stops here
            depth[v] = 1 + max((d(p, (*seen, v)) for p in ps), default=-1)
        return depth[v]

    ranked = sorted(nodes, key=lambda v: (d(v), nodes.index(v)))
    return {v: i for i, v in enumerate(ranked)}


def _via(desc: dict, source: str, target: str, order: dict | None = None) -> tuple:
    """Variables an effect of ``source`` on ``target`` passes through, in causal order."""
    found = [m for m in desc.get(source, ()) if m != target and target in desc.get(m, ())]
    order = order or {}
    return tuple(sorted(found, key=lambda m: (order.get(m, len(order)), m)))


def _outcome_roles(codebook, preds: dict) -> tuple[str, str | None]:
    outcomes = dict(getattr(codebook, "outcomes", {}) or {})
    if not preds:
        raise ModelError("model: no structural paths (~ rows); a key-driver analysis needs paths "
                         "from the drivers into satisfaction")
    sat = outcomes.get("satisfaction")
    if sat:
        if sat not in preds:
            raise ModelError(f"model: the codebook's outcomes.satisfaction {sat!r} has no paths into "
                             f"it; outcomes of the model: {', '.join(preds)}")
    else:  # the endogenous variable most others point to (first in model order on a tie)
        sat = max(preds, key=lambda k: len(preds[k]))
    loy = outcomes.get("loyalty")
    if not loy or loy == sat or loy not in preds:
        loy = None
    return sat, loy


def _ranking(sem, drivers, target, conf):
    zc = stats.norm.ppf(0.5 + conf / 2)
    eff = sem.effects
    rows = []
    for d in drivers:
        hit = eff[(eff["from"] == d) & (eff["to"] == target)]
        r = hit.iloc[0]
        p = float(r["total_p_val"])
        rows.append({"driver": d, "total_std": float(r["total_std"]),
                     "ci_low": float(r["total_std"] - zc * r["total_std_se"]),
                     "ci_high": float(r["total_std"] + zc * r["total_std_se"]),
                     "p_val": p, "significant": bool(np.isfinite(p) and p < 1 - conf),
                     "direct_std": float(r["direct_std"]), "indirect_std": float(r["indirect_std"]),
                     "total": float(r["total"])})
    cols = ["rank", "driver", "total_std", "ci_low", "ci_high", "p_val", "significant",
            "direct_std", "indirect_std", "total"]
    out = pd.DataFrame(rows, columns=cols[1:])
    if out.empty:
        return pd.DataFrame(columns=cols)
    out = out.assign(_a=out["total_std"].abs()).sort_values("_a", ascending=False, kind="stable")
    out = out.drop(columns="_a").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _paths(sem, conf):
    zc = stats.norm.ppf(0.5 + conf / 2)
    est = sem.estimates[sem.estimates.op == "~"]
    out = pd.DataFrame({"source": est.rhs.to_numpy(), "target": est.lhs.to_numpy(),
                        "est": est.est.to_numpy(float), "se": est.se.to_numpy(float),
                        "std_est": est.std_est.to_numpy(float), "std_se": est.std_se.to_numpy(float),
                        "p_val": est.p_val.to_numpy(float)})
    out["ci_low"] = out.est - zc * out.se
    out["ci_high"] = out.est + zc * out.se
    out["significant"] = np.isfinite(out.p_val) & (out.p_val < 1 - conf)
    order = {t: i for i, t in enumerate(dict.fromkeys(out.target))}
    out = out.assign(_t=out.target.map(order), _a=-out.std_est.abs()).sort_values(
        ["_t", "_a"], kind="stable").drop(columns=["_t", "_a"]).reset_index(drop=True)
    return out


def _outcome_effects(sem, target, desc, conf):
    cols = ["rank", "source", "direct_std", "indirect_std", "total_std", "p_val", "significant", "via"]
    if target is None:
        return pd.DataFrame(columns=cols)
    e = sem.effects[sem.effects["to"] == target]
    out = pd.DataFrame({"source": e["from"].to_numpy(), "direct_std": e.direct_std.to_numpy(float),
                        "indirect_std": e.indirect_std.to_numpy(float),
                        "total_std": e.total_std.to_numpy(float), "p_val": e.total_p_val.to_numpy(float)})
    out["significant"] = np.isfinite(out.p_val) & (out.p_val < 1 - conf)
    order = _causal_order(_predecessors(sem))
    out["via"] = [_via(desc, s, target, order) for s in out.source]
    out = out.assign(_a=out.total_std.abs()).sort_values("_a", ascending=False, kind="stable")
    out = out.drop(columns="_a").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[cols]


def _guards(sem: SEMResult, preds: dict) -> pd.DataFrame:
    """Failed guards of the fitted model (see :data:`GUARDS`), one row each."""
    rows = []
    est = sem.estimates
    structural = list(dict.fromkeys([*preds, *(s for v in preds.values() for s in v)]))
    constructs = sem.constructs

    def add(check, subject, value, affects):
        rule, thr = GUARDS[check]
        rows.append({"check": check, "subject": tuple(subject), "value": float(value), "rule": rule,
                     "threshold": float(thr), "affects": tuple(dict.fromkeys(affects))})

    if not sem.converged:
        add("converged", (), np.nan, structural)
    for r in est[est.op == "~"].itertuples():
        if np.isfinite(r.std_est) and abs(r.std_est) > GUARDS["std_path"][1]:
            add("std_path", (r.rhs, r.lhs), r.std_est, (r.rhs,))
    r2 = sem.r2()
    for v in preds:
        if v in constructs and v in r2.index and np.isfinite(r2[v]) and r2[v] >= GUARDS["r2"][1]:
            add("r2", (v,), r2[v], (v, *preds[v]))
    var = est[(est.op == "~~") & (est.lhs == est.rhs)]
    for r in var[var.est < 0].itertuples():
        owners = [c for c, items in constructs.items() if r.lhs in items] if r.lhs not in constructs else [r.lhs]
        add("heywood", (r.lhs,), r.est, owners or [r.lhs])
    for r in est[(est.op == "=~")].itertuples():
        if np.isfinite(r.std_est) and abs(r.std_est) > GUARDS["std_loading"][1]:
            add("std_loading", (r.lhs, r.rhs), r.std_est, (r.lhs,))
    chk = sem.checks
    for r in chk[chk.check.isin(["alpha", "cr", "ave"]) & ~chk.passed.astype(bool)].itertuples():
        add(r.check, (r.target,), r.value, (r.target,))
    for r in sem.discriminant.itertuples():
        if not bool(r.fornell_larcker):
            add("fornell_larcker", (r.construct_a, r.construct_b), abs(r.latent_r),
                (r.construct_a, r.construct_b))
        if not _passes(r.htmt, *QUALITY_THRESHOLDS["htmt"]) and np.isfinite(r.htmt):
            add("htmt", (r.construct_a, r.construct_b), r.htmt, (r.construct_a, r.construct_b))
    return pd.DataFrame(rows, columns=["check", "subject", "value", "rule", "threshold", "affects"])


def _model_columns(sem: SEMResult) -> list[str]:
    est = sem.estimates
    latent = set(sem.constructs)
    cols = list(est.loc[est.op == "=~", "rhs"]) + [v for v in est.loc[est.op == "~", "lhs"]] \
        + [v for v in est.loc[est.op == "~", "rhs"]]
    return list(dict.fromkeys(c for c in cols if c not in latent))


#: modification indices listed in the report (largest first)
MI_SHOWN = 5


def key_driver_analysis(data, codebook, *, model="", weight=None, brand=None, wave=None,
                        bootstrap=500, seed=None, conf=0.95, client=None,
                        dataset=None, missing="fiml") -> KeyDriverAnalysis:
    """Fit the SEM and compute the ranking, the four views and the importance–performance matrix.

    Parameters
    ----------
    data : DataFrame
        Respondents (missing codes already NaN, as ``io.read_survey`` returns them).
    codebook : Codebook
        Constructs, their items and scales, ``outcomes`` (``satisfaction``, ``loyalty``) and the
        dataset's roles.
    model : str
        lavaan syntax; empty builds :func:`default_model` from the codebook.
    weight : str, optional
        Weight column (empty or None: unweighted).
    brand, wave : optional
        Select one brand and/or one wave, in the columns playing the dataset's ``brand`` and
        ``wave`` roles; None, "" or "all" keep everyone (and are the only values a study without
        brands or waves accepts).
    bootstrap, seed, conf, client
        Bootstrap CIs of the LMG shares (seeded; on a dask client when there is one); ``conf`` is
        also the level at which effects are called significant and recommendations made.
    dataset : str, optional
        The codebook dataset the data come from (default: the first dataset listing every item of
        the model, if any); it tells which columns play the brand and wave roles.
    missing : {"fiml", "listwise"}
        Missing answers in the SEM: full-information maximum likelihood (default; every
        respondent with any answer is used) or listwise deletion.  With no missing answer in the
        model's columns both give the same fit, and the (faster) listwise fit is made.

    Notes
    -----
    Satisfaction is ``outcomes.satisfaction``, or without it the model's endogenous variable with
    the most predictors; its drivers are its predecessors in the model (never "every construct
    not named as an outcome", so an outcome of satisfaction is not taken for a driver).  Loyalty is
    ``outcomes.loyalty`` when the model has paths into it.  The importance–performance matrix
    targets loyalty when the drivers reach it, else satisfaction; item scales come from the
    codebook.  Drivers are ranked by their absolute standardised total effect on satisfaction
    (sign kept).  A recommendation is made only for a total effect significant at ``conf`` and
    only when no guard (:data:`GUARDS`) fails for the driver or for a variable its effect passes
    through.

    A default model (no ``model`` given) is made to fit the data: direct paths from the drivers
    of satisfaction to loyalty are added, one at a time, where their modification index is large
    and the path has the sign of the driver's indirect effect (:func:`release_direct_paths`);
    they are kept in ``added_paths``.  A user's model is never changed.
    """
    weight = weight or None
    key = str(missing or "fiml").strip().lower()
    if key not in ("fiml", "listwise"):
        raise ModelError(f"missing: expected fiml or listwise, got {missing!r}")
    model_given = bool(str(model or "").strip())
    model = model or default_model(codebook)
    if not dataset and hasattr(codebook, "datasets_with"):
        try:
            found = codebook.datasets_with(parse_model(model).observed)
        except WorkbenchError:  # a malformed model is reported by fit_sem below
            found = []
        dataset = found[0] if found else None
    if dataset and hasattr(codebook, "role"):
        sel = _select(data, brand=brand, wave=wave, codebook=codebook, dataset=dataset)
        brand_col, wave_col = codebook.role(dataset, "brand"), codebook.role(dataset, "wave")
    else:
        sel = _select(data, brand=brand, wave=wave)
        brand_col = "brand" if "brand" in data.columns else None
        wave_col = "wave" if "wave" in data.columns else None
    if key == "fiml":
        try:
            cols = [c for c in parse_model(model).observed if c in sel.columns]
        except WorkbenchError:
            cols = []
        if not sel[cols].isna().to_numpy().any():
            key = "listwise"                          # nothing missing: the same fit, faster
    sem = fit_sem(sel, model, weight=weight, missing=key)
    preds = _predecessors(sem)
    sat, loy = _outcome_roles(codebook, preds)
    drv = tuple(preds[sat])
    problems: dict[str, str] = {}
    added = pd.DataFrame(columns=["step", "lhs", "op", "rhs", "mi", "epc", "sepc_all", "p_val", "model"])
    if not model_given and loy and sem.converged:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                refit, added = release_direct_paths(sem, sel, loy, weight=weight, sources=list(drv))
        except WorkbenchError as exc:
            problems["release"] = str(exc)
        else:
            if len(added):
                sem, model = refit, refit.model
                preds = _predecessors(sem)
    mi = pd.DataFrame()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mi = modification_indices(sem, sel, weight=weight).head(MI_SHOWN).reset_index(drop=True)
    except WorkbenchError as exc:
        problems["mi"] = str(exc)
    desc = _descendants(preds)
    successors = tuple(t for t, srcs in preds.items() if sat in srcs)
    ranking = _ranking(sem, drv, sat, conf)
    order = list(ranking.driver)
    checks = _guards(sem, preds)
    flags: dict[str, tuple] = {}
    for r in checks.itertuples():
        for c in r.affects:
            flags[c] = tuple(dict.fromkeys([*flags.get(c, ()), r.check]))

    # the views on the respondents the SEM used: listwise, those complete on the model's observed
    # variables; FIML, everyone, each construct scored from the items answered (rows without a
    # driver score or the outcome are left out of the regression-based views)
    observed = [c for c in _model_columns(sem) if c in sel.columns]
    complete = sel if sem.missing == "fiml" else sel.dropna(subset=observed)
    answered = sel[observed].notna()
    n_partial = int((answered.any(axis=1) & ~answered.all(axis=1)).sum()) if sem.missing == "fiml" else 0
    if weight:
        complete = complete[complete[weight].astype(float) > 0]
    scores = construct_scores(complete, sem.constructs)
    extra = [v for v in [sat, *drv] if v not in scores.columns and v in complete.columns]
    frame = scores.join(complete[extra + ([weight] if weight else [])])
    views = imp = None
    frame = frame.dropna(subset=[sat, *order])
    try:
        views = four_views(frame, sat, order, sem_result=sem, weight=weight)
    except WorkbenchError as exc:
        problems["views"] = str(exc)
    try:
        imp = relative_importance(frame, sat, order, weight=weight,
                                  bootstrap=bootstrap, conf=conf, seed=seed, client=client)
    except WorkbenchError as exc:
        problems["importance"] = str(exc)

    views_loy = None
    reach = [d for d in _outcome_effects(sem, loy, desc, conf).source if d in drv] if loy else []
    if reach and loy in complete.columns:
        frame_l = scores.join(complete[[c for c in [loy, weight] if c and c not in scores.columns]])
        frame_l = frame_l.dropna(subset=[loy, *reach])
        try:
            views_loy = four_views(frame_l, loy, reach, sem_result=sem, weight=weight)
        except WorkbenchError as exc:
            problems["views_loyalty"] = str(exc)

    target = loy if loy and any(loy in desc.get(d, ()) for d in drv) else sat
    ip_drivers = [d for d in order if target in desc.get(d, ())]
    ip = None
    try:
        ip = ipma(sem, target, data=complete, weight=weight, codebook=codebook, drivers=ip_drivers,
                  conf=conf)
        sig, withheld, reasons, action = [], [], [], []
        for d, p in zip(ip.driver, ip.p_val):
            route = (d, *_via(desc, d, target), target)
            why = tuple((c, k) for c in route for k in flags.get(c, ()))
            s = bool(np.isfinite(p) and p < 1 - conf)
            sig.append(s)
            withheld.append(bool(why))
            reasons.append(why)
            action.append("withheld" if why else ("act" if s else "not_significant"))
        ip = ip.assign(significant=sig, withheld=withheld, reasons=reasons, action=action)
    except WorkbenchError as exc:
        problems["ipma"] = str(exc)
    return KeyDriverAnalysis(
        sem=sem, views=views, importance=imp, ipma=ip, drivers=drv, satisfaction=sat, loyalty=loy,
        n_rows=len(sel), model=model, ranking=ranking, paths=_paths(sem, conf),
        outcome_effects=_outcome_effects(sem, loy, desc, conf), successors=successors,
        ipma_target=target if ip is not None else None, checks=checks, flags=flags,
        problems=problems, dataset=dataset or None, brand=brand if _given(brand) else None,
        wave=wave if _given(wave) else None, brand_col=brand_col, wave_col=wave_col,
        weight=weight, conf=conf, model_given=model_given, added_paths=added, mod_indices=mi,
        missing=sem.missing, views_n=len(frame), n_partial=n_partial, views_loyalty=views_loy)


def group_paths(data, codebook, by, *, model="", weight=None, brand=None, wave=None,
                rule=None) -> pd.DataFrame:
    """Standardised structural paths fitted separately in each group of ``by``.

    Groups whose effective base is below the low-base rule's ``min_test`` are not fitted; groups
    below ``caution`` are flagged.  A group the model cannot be fitted to (not identified from its
    data — typically constructs almost perfectly correlated in a small group —, no convergence, an
    item without variation) does not stop the others: its row says why, and a keyed
    :class:`~workbench.errors.WorkbenchWarning` names it.  Errors of the call itself (model syntax,
    a variable or the weight missing from the data) are raised.

    Returns one row per fitted group × path, and one row per group not fitted (``lhs`` and
    ``rhs`` None, ``std_est`` and ``p_val`` NaN):
    ``by, lhs, rhs, std_est, p_val, n, n_eff, base_flag, status, reason, note`` where ``status``
    is ``"fitted"`` or ``"not_fitted"``, ``reason`` a label key (``drivers.group.low_base``,
    ``drivers.group.not_converged``, ``drivers.group.fit_failed``; None when fitted) and
    ``note`` the reason in English (empty when fitted).
    """
    from .lowbase import DEFAULT_RULE

    rule = rule or DEFAULT_RULE
    weight = weight or None
    sel = _select(data, brand=brand, wave=wave)
    if by not in sel.columns:
        raise DataError(f"compare_by: column {by!r} is not in the data")
    model = model or default_model(codebook)
    _sem.check_columns(sel, parse_model(model))      # the call's own errors, before any group
    _sem.resolve_weight(sel, weight)
    rows = []

    def not_fitted(level, n, n_eff, flag, reason, note):
        rows.append({by: level, "lhs": None, "rhs": None, "std_est": np.nan, "p_val": np.nan,
                     "n": n, "n_eff": n_eff, "base_flag": flag, "status": "not_fitted",
                     "reason": reason, "note": note})

    for level, part in sel.groupby(by, sort=True):
        w = part[weight].to_numpy(float) if weight else np.ones(len(part))
        n_eff = w.sum() ** 2 / (w ** 2).sum() if len(part) else 0.0
        flag = str(rule.status(n_eff))
        if flag == "no_test":
            not_fitted(level, len(part), n_eff, flag, "drivers.group.low_base",
                       f"effective base {n_eff:.1f} is below {rule.min_test:g}")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = fit_sem(part, model, weight=weight)
        except WorkbenchError as exc:
            reason, note, n, n_eff_fit = "drivers.group.fit_failed", str(exc), len(part), n_eff
        else:
            if res.converged:
                for r in res.estimates[res.estimates.op == "~"].itertuples():
                    rows.append({by: level, "lhs": r.lhs, "rhs": r.rhs, "std_est": r.std_est,
                                 "p_val": r.p_val, "n": res.n, "n_eff": res.n_eff, "base_flag": flag,
                                 "status": "fitted", "reason": None, "note": ""})
                continue
            reason, note, n, n_eff_fit = "drivers.group.not_converged", res.warnings[0], res.n, res.n_eff
        not_fitted(level, n, n_eff_fit, flag, reason, note)
        warnings.warn(WorkbenchWarning(f"{by} = {level}: the model could not be fitted in this group, "
                                       f"so its paths are not shown — {note}",
                                       key="drivers.warn.group_not_fitted", group=str(level),
                                       reason=note), stacklevel=2)
    cols = [by, "lhs", "rhs", "std_est", "p_val", "n", "n_eff", "base_flag", "status", "reason", "note"]
    return pd.DataFrame(rows, columns=cols)


# ============================================================================================
# modification indices
# ============================================================================================
def _mi_sample(result: SEMResult, data, weight, pt):
    """The moments (listwise) or missing-data patterns (FIML) the result was fitted to."""
    if result.weighted and weight is None:
        raise ModelError("weight: the model was fitted with sampling weights; pass the same weight= "
                         "to modification_indices")
    if not result.weighted and weight is not None:
        raise ModelError("weight: the model was fitted without weights; call modification_indices "
                         "without weight= (or refit the model with the weight)")
    if result.missing == "fiml":
        fd = _sem_fiml.prepare(data, pt, weight)
        sample = _sem_mi.Sample(names=fd.names, n=float(fd.n_rows), pat=fd.pat)
    else:
        prep = _sem.prepare(data, pt, weight)
        sample = _sem_mi.Sample(names=prep.names, n=float(prep.n_rows), S=prep.S)
    if int(sample.n) != result.n:
        raise DataError(f"data: {int(sample.n)} rows are usable for this model, but it was fitted to "
                        f"{result.n}; pass the data (and weight) the model was fitted to")
    return sample


def modification_indices(result: SEMResult, data: pd.DataFrame, *, weight=None) -> pd.DataFrame:
    """Modification indices: a score test for every parameter the model leaves out (lavaan ``modindices()``).

    For each candidate parameter — a cross-loading (``=~``), a regression between variables of
    the structural part (``~``), a residual covariance between indicators or a covariance between
    latent variables (``~~``), and every parameter the model fixes (lavaan's default candidate
    set) — the 1-df Lagrange-multiplier test of freeing it, and the expected parameter change.
    Computed as lavaan does (expected information) for every fit :func:`fit_sem` makes: listwise
    or FIML, weighted or not; formulas in :mod:`workbench._sem_mi`.

    Parameters
    ----------
    result : SEMResult
        A model fitted by :func:`fit_sem`.
    data : DataFrame
        The data the model was fitted to (the result keeps estimates, not data).
    weight : str or array-like, optional
        The same ``weight`` as in the fit (required when the fit was weighted).

    Returns
    -------
    DataFrame
        One row per candidate that could be freed, sorted by ``mi`` (largest first):
        ``lhs, op, rhs`` (lavaan syntax of the parameter), ``mi`` (χ² with 1 df: the drop in the
        model χ² expected from freeing it), ``epc`` (expected value of the parameter when freed;
        the change from its fixed value), ``sepc_all`` (the EPC in lavaan's ``std.all`` metric:
        a standardised loading or path, a residual correlation) and ``p_val`` (of ``mi`` on χ²₁).
        Candidates that cannot be identified when freed (e.g. a marker loading) are left out,
        as lavaan's ``na.remove`` does.

    Raises
    ------
    ModelError
        ``result`` is not an SEMResult, or ``weight`` does not match the fit.
    DataError
        ``data`` is not the data the model was fitted to (another number of usable rows, or
        estimates that are not its maximum-likelihood estimates).

    Notes
    -----
    An index is a local, one-parameter-at-a-time statement: freeing one parameter changes the
    others' indices, so release at most one parameter per refit, and only where the parameter
    makes substantive sense (:func:`release_direct_paths` does both for direct paths to the
    final outcome).  Matches lavaan's ``modindices()`` (0.6) to ~1e-3, the precision of lavaan's
    optimum (``tests/test_sem_mi.py``).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> res = fit_sem(hs, "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9")
    >>> mi = modification_indices(res, hs)
    >>> mi.iloc[0][["lhs", "op", "rhs"]].tolist(), round(float(mi["mi"].iloc[0]), 1)
    (['visual', '=~', 'x9'], 36.4)
    """
    if not isinstance(result, SEMResult):
        raise ModelError(f"result: expected an SEMResult from fit_sem, got {type(result).__name__}")
    pt = parse_model(result.model)
    sample = _mi_sample(result, data, weight, pt)
    est_tab = result.estimates
    est = {(lhs, op, rhs if isinstance(rhs, str) else ""): float(e)
           for lhs, op, rhs, e in est_tab[["lhs", "op", "rhs", "est"]].itertuples(index=False)}
    if not result.converged:
        warnings.warn(ConvergenceWarning("modification indices of a model that did not converge are "
                                         "unreliable", key="drivers.check.converged"), stacklevel=2)
    table, model_score = _sem_mi.modindices(pt, est, sample)
    if result.converged and model_score > _MI_SCORE_TOL:
        raise DataError("data: the model's estimates are not the maximum-likelihood estimates for these "
                        f"data (largest score {model_score:.2g}); pass the data (and weight) the model "
                        "was fitted to")
    return table


#: largest per-case score of the model's own parameters accepted as "estimated on these data"
#: (fits converge to |score| ≤ 1e-6; another sample of the same size moves it by ~1e-2)
_MI_SCORE_TOL = 1e-4


def release_direct_paths(result: SEMResult, data: pd.DataFrame, outcome: str, *, weight=None,
                         sources=None, min_mi: float = _sem_mi.MIN_MI,
                         min_sepc: float = _sem_mi.MIN_SEPC, sign: str = "consistent",
                         max_paths: int | None = None) -> tuple[SEMResult, pd.DataFrame]:
    """Add the direct paths to ``outcome`` that the data call for, one at a time.

    A path ``outcome ~ source`` is admissible when ``source`` already drives ``outcome``
    indirectly (it is an ancestor through the model's ``~`` paths, e.g. a driver construct of
    satisfaction when ``outcome`` is recommendation) — it then points the way the model's theory
    does and keeps the model recursive; ``sources`` narrows them further (e.g. to the drivers).
    It is released when its modification index is at least ``min_mi`` (default 10, p ≈ .002), its
    standardised expected change at least ``min_sepc`` in size (default .10: with thousands of
    respondents trivial misspecifications reach MI = 10) and its expected change has the sign of
    the source's current (indirect) effect on ``outcome`` (``sign="consistent"``; a direct path
    against it is a suppression artefact; ``"positive"`` or ``"any"`` to change that).  The
    largest such path is added, the model refitted (same ``missing`` and weight) and the indices
    recomputed, until none qualifies or ``max_paths`` were added.

    Returns
    -------
    (SEMResult, DataFrame)
        The final fit (``result`` itself when nothing was added) and one row per added path, in
        order: ``step, lhs, op, rhs, mi, epc, sepc_all, p_val`` (the index when it was added),
        plus ``model`` (the syntax after the step).

    Examples
    --------
    >>> from workbench import io, synth
    >>> from workbench.codebook import load_codebook
    >>> cb = load_codebook("demo")
    >>> data = io.read_survey(synth.demo_dir() / "tracking.csv", cb, dataset="tracking")
    >>> res = fit_sem(data, default_model(cb))                            # doctest: +SKIP
    >>> final, added = release_direct_paths(res, data, "nps")             # doctest: +SKIP
    >>> added[["lhs", "op", "rhs"]].values.tolist()                       # doctest: +SKIP
    [['nps', '~', 'VAL']]
    """
    cols = ["step", "lhs", "op", "rhs", "mi", "epc", "sepc_all", "p_val", "model"]
    rows = []
    current = result
    while max_paths is None or len(rows) < max_paths:
        table = modification_indices(current, data, weight=weight)
        pt = parse_model(current.model)
        eff = current.effects
        totals = dict(zip(eff.loc[eff["to"] == outcome, "from"], eff.loc[eff["to"] == outcome, "total"]))
        ok = _sem_mi.admissible_direct_paths(table, pt, outcome, min_mi=min_mi, min_sepc=min_sepc,
                                             sign=sign, totals=totals, sources=sources)
        if ok.empty:
            break
        top = ok.iloc[0]
        model = _sem_mi.with_path(current.model, outcome, top["rhs"])
        current = fit_sem(data, model, weight=weight, missing=current.missing)
        rows.append({"step": len(rows) + 1, **{c: top[c] for c in _sem_mi.COLUMNS}, "model": model})
    return current, pd.DataFrame(rows, columns=cols)
