"""Wave (tracking) analysis: trends, significance, mix adjustment, volatility, X+O, closed loop.

The questions a tracking report answers, one function each:

* **Which wave?** :func:`resolve_wave` (``"latest"`` or a number) and :func:`reference_wave`
  (previous wave, the same wave a year earlier, the first wave).
* **Weights per wave.** :func:`rake_by_wave` rakes each wave separately to population margins
  from its design weights (optionally trimmed); :func:`wave_weights` returns the weights a report
  uses plus the efficiency table per wave; :func:`margin_table` checks margins against targets.
* **Did fieldwork meet its targets?** :func:`quota_attainment` (achieved against target mix per
  wave, off target beyond a tolerance) and :func:`fieldwork` (per wave and per brand);
  :func:`mix_shares` and :func:`brand_mix` describe a sample's mix.
* **Is the move real?** :func:`trend` estimates a metric per wave (and group) with the test
  against the reference wave on effective bases; :func:`benchmark` compares our brand with
  competitors (arrows vs ours, letters between all); :func:`benchmark_standardized` compares the
  brands at one segment mix; :func:`segment_vs_rest`.  Benjamini-Hochberg
  across a table with ``fdr=True``.  No test where an effective base is below ``rule.min_test``.
* **Or did we interview different people?** :func:`standardize` (direct standardisation to a
  reference mix, with SEs) and :func:`decompose` (Kitagawa's mix / rate / interaction split of
  a change, with delta-method SEs).
* **Beyond noise?** :func:`control_limits` (±2 / ±3 SE around the mean of the previous waves or
  the long-run weighted mean).
* **X + O.** :func:`link_odata`, :func:`xo_table`, :func:`xo_tests` and :func:`survivorship`
  (does NPS rise because detractors left?).
* **Closed loop.** :func:`followup_list` (PII masked, with the region the call is routed to) and
  :func:`followup_sheet` / :func:`write_followup`: the file the call-back team works from, in the
  report's language, with owner, status and due-date columns.
* :func:`analyze` runs all of it for a report and returns a frozen :class:`WaveAnalysis`.

Formulas, choices and references: ``docs/methods/waves.md``.  Standardised estimates and the
decomposition are validated against R's ``survey`` package (``tests/results/r/waves.R``).

Build or borrow
---------------
Estimates and tests come from :mod:`workbench.metrics` (validated against R ``survey``).  The
delta-method variances of the mix analysis are written here (``workbench._waves``) on the same
per-domain moments, because no Python survey package offers direct standardisation or a
decomposition with design-based SEs; R's ``svystandardize`` / ``svycontrast`` give the same
numbers (tested).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import _survey as sv
from workbench._safeyaml import PlainLoader, YamlLimits, load_yaml_file
from workbench import _waves as _w
from workbench import metrics, weighting
from workbench.errors import DataError, ParamsError, WorkbenchWarning
from workbench.i18n import t

__all__ = [
    "resolve_wave",
    "reference_wave",
    "reference_map",
    "load_margins",
    "rake_by_wave",
    "WaveWeights",
    "wave_weights",
    "margin_table",
    "mix_shares",
    "quota_attainment",
    "Fieldwork",
    "fieldwork",
    "brand_mix",
    "benchmark_standardized",
    "trend",
    "control_limits",
    "pairwise_tests",
    "benchmark",
    "segment_vs_rest",
    "reference_mix",
    "standardize",
    "MixDecomposition",
    "decompose",
    "nps_group",
    "link_odata",
    "xo_table",
    "xo_tests",
    "SurvivorshipCheck",
    "survivorship",
    "followup_list",
    "followup_sheet",
    "followup_summary",
    "write_followup",
    "weighting_sensitivity",
    "followup_columns",
    "tracking_dataset",
    "WaveInputs",
    "load_inputs",
    "kpi_specs",
    "Unavailable",
    "SECTIONS",
    "WaveAnalysis",
    "kpi_changes",
    "analyze",
    "WeightingAppendix",
    "weighting_appendix",
]

COMPARE_TO = ("previous", "year_ago", "first")
CENTRES = ("previous", "overall")
NPS_GROUPS = ("detractor", "passive", "promoter")
#: Limits of a population margins file (bounded read, no alias bombs, no deep nesting).
MARGINS_LIMITS = YamlLimits(max_bytes=4 << 20, max_depth=20, max_nodes=200_000)


# --------------------------------------------------------------------------------------------
# which wave
# --------------------------------------------------------------------------------------------
def _waves_in(data, wave_col):
    sv.check_frame(data)
    sv.check_columns(data, [wave_col], "wave")
    values = pd.to_numeric(data[wave_col], errors="coerce").dropna()
    if not len(values):
        raise DataError(f"wave column {wave_col!r} has no values.")
    if (np.floor(values) != values).any():
        raise DataError(f"wave column {wave_col!r} must hold whole wave numbers, found "
                        f"{sv.show_values(np.unique(values[np.floor(values) != values]))}.")
    return sorted(int(v) for v in np.unique(values))


def resolve_wave(data, wave="latest", *, wave_col="wave"):
    """The wave number a report is about.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent with a wave column.
    wave : "latest", int or str of digits, default "latest"
        ``"latest"`` is the newest wave present in ``data``; a number must be present.
    wave_col : str, default "wave"

    Returns
    -------
    int

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1, 1, 2, 3]})
    >>> waves.resolve_wave(df), waves.resolve_wave(df, 2), waves.resolve_wave(df, "2")
    (3, 2, 2)
    """
    present = _waves_in(data, wave_col)
    if isinstance(wave, str) and wave.strip().lower() == "latest":
        return present[-1]
    if isinstance(wave, bool):
        chosen = None
    elif isinstance(wave, (int, np.integer)):
        chosen = int(wave)
    elif isinstance(wave, str) and wave.strip().isdigit():
        chosen = int(wave.strip())
    else:
        chosen = None
    if chosen is None:
        raise ParamsError(f"`wave` must be 'latest' or a wave number, but {wave!r} was passed.")
    if chosen not in present:
        raise ParamsError(
            f"`wave` {chosen} is not in the data; waves present in {wave_col!r}: "
            f"{sv.show_values(present, 12)}."
        )
    return chosen


def _wave_periods(data, wave_col, period_col):
    """``{wave: period text}`` (the most common period of each wave), or {} without periods."""
    if period_col is None or period_col not in data.columns:
        return {}
    sub = data[[wave_col, period_col]].dropna()
    out = {}
    for w, grp in sub.groupby(wave_col, sort=True):
        out[int(w)] = str(grp[period_col].astype(str).mode().iloc[0])
    return out


def _year_ago_map(waves, periods):
    parsed = {}
    for w in waves:
        p = periods.get(w)
        try:
            parsed[w] = pd.Period(p, freq="M") if p is not None else None
        except (ValueError, TypeError):
            parsed[w] = None
    by_period = {p: w for w, p in parsed.items() if p is not None}
    return {w: (by_period.get(p - 12) if p is not None else None) for w, p in parsed.items()}


def reference_map(data, compare_to="previous", *, wave_col="wave", period_col="period"):
    """The reference wave of every wave present: ``{wave: reference wave or None}``.

    Parameters
    ----------
    data : pandas.DataFrame
    compare_to : {"previous", "year_ago", "first"} or int
        ``"previous"``: the wave before (in wave order); ``"year_ago"``: the wave whose period
        (``YYYY-MM``) is 12 months earlier, None where there is none; ``"first"``: the first
        wave; a number: that wave.
    wave_col, period_col : str

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1, 2, 3], "period": ["2025-03", "2025-09", "2026-03"]})
    >>> waves.reference_map(df, "year_ago")
    {1: None, 2: None, 3: 1}
    """
    present = _waves_in(data, wave_col)
    if isinstance(compare_to, str) and compare_to == "previous":
        return {w: (present[i - 1] if i else None) for i, w in enumerate(present)}
    if isinstance(compare_to, str) and compare_to == "first":
        return {w: (present[0] if w != present[0] else None) for w in present}
    if isinstance(compare_to, str) and compare_to == "year_ago":
        return _year_ago_map(present, _wave_periods(data, wave_col, period_col))
    if isinstance(compare_to, (int, np.integer)) and not isinstance(compare_to, bool):
        if int(compare_to) not in present:
            raise ParamsError(f"`compare_to` wave {compare_to} is not in the data "
                              f"(waves: {sv.show_values(present, 12)}).")
        return {w: (int(compare_to) if w != int(compare_to) else None) for w in present}
    raise ParamsError(
        f"`compare_to` must be one of {sv.show_values(COMPARE_TO)} or a wave number, "
        f"but {compare_to!r} was passed."
    )


def reference_wave(data, wave, compare_to="previous", *, wave_col="wave", period_col="period"):
    """The wave that ``wave`` is compared with (None when there is none, e.g. no year-ago wave).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1, 2, 3], "period": ["2026-01", "2026-02", "2026-03"]})
    >>> waves.reference_wave(df, 3), waves.reference_wave(df, 3, "year_ago")
    (2, None)
    """
    return reference_map(data, compare_to, wave_col=wave_col, period_col=period_col).get(int(wave))


# --------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------
def load_margins(path):
    """Read population margins ``{column: {level: share}}`` from a YAML file.

    Examples
    --------
    >>> from workbench import synth, waves
    >>> sorted(waves.load_margins(synth.demo_dir() / "margins.yaml"))
    ['age_band', 'gender', 'region', 'segment']
    """
    if "\x00" not in str(path) and not Path(path).exists():
        raise DataError(f"margins file {path} does not exist; raking needs population margins "
                        "{column: {level: share}}.")
    path = Path(path) if "\x00" not in str(path) else path
    loaded = load_yaml_file(path, what="margins file", limits=MARGINS_LIMITS, loader=PlainLoader,
                            error=DataError, source=f"margins file {path}")
    if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
        raise DataError(f"margins file {path} must map each raking column to {{level: share}}, "
                        f"but holds {type(loaded).__name__}.")
    return {str(k): {str(lv): v for lv, v in levels.items()} for k, levels in loaded.items()}


def _rows_mask(data, rows):
    if rows is None:
        return np.ones(len(data), bool)
    mask = np.asarray(rows, dtype=bool)
    if mask.shape != (len(data),):
        raise ParamsError(f"`rows` must be one True/False per row ({len(data)}), got shape {mask.shape}.")
    return mask


def rake_by_wave(data, margins, *, wave_col="wave", base_weight=None, rows=None, trim_upper=None,
                 max_iter=100, tol=1e-10):
    """Rake every wave separately to the same population margins.

    Each wave's respondents (those selected by ``rows``) are raked with
    :func:`workbench.weighting.rake` from their base weights; with ``trim_upper`` the raked weights
    of a wave are then capped at ``trim_upper`` times their mean and the excess is spread over the
    others (:func:`workbench.weighting.trim` with ``strict=True``, R's ``trimWeights``), so the
    wave's total is unchanged (trimming moves the margins slightly off target).  Rows not
    selected keep their base weight (e.g. competitors' respondents, for whom the margins do not
    hold).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.  Not changed.
    margins : dict or path
        ``{column: {level: share}}`` (as for :func:`~workbench.weighting.rake`) or a YAML file.
    wave_col : str, default "wave"
    base_weight : str, array-like or None
        Design weights (``None`` = 1).
    rows : array of bool or None
        Respondents to rake (default all).
    trim_upper : float or None
        Cap as a multiple of the wave's mean raked weight (e.g. 5); None or 0 = no trimming.
    max_iter, tol
        As in :func:`~workbench.weighting.rake`.

    Returns
    -------
    pandas.Series
        Weights named ``"weight"``, aligned to ``data.index``.

    Raises
    ------
    DataError
        Bad margins or a level without respondents in a wave -- the message names the wave.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1, 1, 1, 2, 2, 2], "sex": list("ffmfmm")})
    >>> w = waves.rake_by_wave(df, {"sex": {"f": 0.5, "m": 0.5}})
    >>> w.round(2).tolist()
    [0.75, 0.75, 1.5, 1.5, 0.75, 0.75]
    """
    sv.check_frame(data)
    if not isinstance(margins, Mapping):
        margins = load_margins(margins)
    mask = _rows_mask(data, rows)
    base = np.ones(len(data)) if base_weight is None else sv.weight_array(data, base_weight, "base weight")
    if trim_upper is not None and not (isinstance(trim_upper, (int, float)) and not isinstance(trim_upper, bool)
                                       and (trim_upper == 0 or trim_upper > 1)):
        raise ParamsError(f"`trim_upper` must be a multiple of the mean weight above 1 (e.g. 5) or 0 "
                          f"for no trimming, but {trim_upper!r} was passed.")
    out = base.astype(np.float64).copy()
    waves = _waves_in(data.loc[mask] if mask.any() else data, wave_col)
    wv = data[wave_col].to_numpy()
    for w in waves:
        sel = mask & (wv == w)
        if not sel.any():
            continue
        sub = data.loc[sel]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                raked = weighting.rake(sub, margins, base_weight=base[sel], max_iter=max_iter, tol=tol)
            except DataError as exc:
                raise DataError(f"wave {w}: {exc}") from None
            except ParamsError as exc:
                raise ParamsError(f"wave {w}: {exc}") from None
        for c in caught:
            warnings.warn(f"wave {w}: {c.message}", c.category, stacklevel=2)
        values = raked.to_numpy()
        if trim_upper:
            pos = values > 0
            cap = float(trim_upper) * values[pos].mean()
            values = weighting.trim(values, upper=cap, strict=True)
        out[sel] = values
    return pd.Series(out, index=data.index, name="weight")


@dataclass(frozen=True)
class WaveWeights:
    """Weights for a tracking report and how they were made.

    Attributes
    ----------
    weight : pandas.Series
        The weights the report uses (``method``).
    design : pandas.Series
        The starting weights: the design weights, or 1 for every respondent when the study has
        none (``base`` says which).
    raked : pandas.Series or None
        Weights raked per wave to population margins (trimmed when asked), for the raked rows;
        None without margins.
    method : str
        ``"design"``, ``"raked"`` or ``"none"`` (unweighted).
    diagnostics : pandas.DataFrame
        Per wave, raked (or described) rows only: ``wave, n, deff_design, n_eff_design`` -- Kish's
        design effect and effective base of the starting weights -- and, with raking, ``n_eff,
        deff, min, max, trimmed``: those of the raked weights, the smallest / largest raked weight
        (relative to the wave's mean weight) and the number of weights capped by trimming.
    trim_upper : float or None
    base : str
        ``"design"`` (design weights) or ``"none"`` (the starting weights are all 1).
    margins : dict or None
        The population margins ``{column: {level: share}}`` used for raking.
    problem : str or None
        Why the comparison raking could not be made (the report then shows its starting
        weights only); None when it was made or not asked for.
    """

    weight: pd.Series
    design: pd.Series
    raked: pd.Series | None
    method: str
    diagnostics: pd.DataFrame
    trim_upper: float | None = None
    base: str = "design"
    margins: dict | None = None
    problem: str | None = None


WEIGHTINGS = ("design", "raked", "none")


def wave_weights(data, margins=None, *, method="design", base_weight="design_weight", wave_col="wave",
                 rows=None, trim_upper=None):
    """Starting (design) and per-wave raked weights, with the efficiency table of each wave.

    With margins, raking is always done (for the weighting appendix); ``method`` picks which
    weights the report uses.

    Parameters
    ----------
    data : pandas.DataFrame
    margins : dict, path or None
        Population margins (or a YAML file) for :func:`rake_by_wave`; None = no raking.
    method : {"design", "raked", "none"}
        ``"none"``: unweighted (every weight 1).
    base_weight : str or None, default "design_weight"
        Design weight column; None = the study has no design weights (raking starts from 1).
    wave_col : str, default "wave"
    rows : array of bool or None
        Rows to rake (e.g. our brand's respondents); the others keep their design weight.
    trim_upper : float or None
        See :func:`rake_by_wave`.

    Returns
    -------
    WaveWeights

    Raises
    ------
    ParamsError
        ``method="raked"`` without margins, or ``"design"`` without a design weight column.

    Examples
    --------
    >>> from workbench import io, synth, waves
    >>> d = synth.demo_dir()
    >>> tr = io.read_survey(d / "tracking.csv", "demo", dataset="tracking")
    >>> ww = waves.wave_weights(tr, d / "margins.yaml", method="raked",
    ...                         rows=tr["brand"].eq("aurora"), trim_upper=5)
    >>> ww.diagnostics.columns.tolist()
    ['wave', 'n', 'deff_design', 'n_eff_design', 'n_eff', 'deff', 'min', 'max', 'trimmed']
    """
    if method not in WEIGHTINGS:
        raise ParamsError(f"`weighting` must be one of {sv.show_values(WEIGHTINGS)}, but {method!r} was passed.")
    if method == "raked" and margins is None:
        raise ParamsError("`weighting` is 'raked' but no `margins` file is given; raking needs population "
                          "margins {column: {level: share}} (or use weighting: design or none).")
    if method == "design" and not base_weight:
        raise ParamsError("`weighting` is 'design' but the data have no design weight column; use "
                          "weighting: none (unweighted) or raked with `margins`.")
    mask = _rows_mask(data, rows)
    if base_weight and method != "none":
        design = pd.Series(sv.weight_array(data, base_weight, "design weight"), index=data.index, name="weight")
        base = "design"
    else:
        design = pd.Series(np.ones(len(data)), index=data.index, name="weight")
        base, base_weight = "none", None
    if margins is not None and not isinstance(margins, Mapping):
        margins = load_margins(margins)
    raked = untrimmed = None
    if margins is not None:
        start = design.to_numpy()
        untrimmed = rake_by_wave(data, margins, wave_col=wave_col, base_weight=start, rows=mask)
        raked = untrimmed if not trim_upper else rake_by_wave(
            data, margins, wave_col=wave_col, base_weight=start, rows=mask, trim_upper=trim_upper)
    frame = pd.DataFrame({"wave": data[wave_col].to_numpy(), "d": design.to_numpy()})
    if raked is not None:
        frame["r"], frame["u"] = raked.to_numpy(), untrimmed.to_numpy()
    frame = frame[mask]
    rows_out = []
    for w, grp in frame.groupby("wave", sort=True):
        ed = weighting.efficiency(grp["d"])
        row = {"wave": int(w), "n": ed["n"], "deff_design": ed["deff"], "n_eff_design": ed["n_eff"]}
        if raked is not None:
            er = weighting.efficiency(grp["r"])
            mean = grp["r"][grp["r"] > 0].mean()
            capped = int(((grp["u"] - grp["r"]) > 1e-9 * mean).sum()) if trim_upper else 0
            row.update({"n_eff": er["n_eff"], "deff": er["deff"], "min": er["min"] / mean, "max": er["max"] / mean,
                        "trimmed": capped})
        rows_out.append(row)
    diag = pd.DataFrame(rows_out)
    used = raked.rename("weight") if method == "raked" else design
    return WaveWeights(weight=used, design=design, raked=raked, method=method, diagnostics=diag,
                       trim_upper=float(trim_upper) if trim_upper else None, base=base,
                       margins=dict(margins) if margins is not None else None)


def margin_table(data, margins, weights, *, rows=None):
    """Weighted shares of the raking variables against their targets.

    Parameters
    ----------
    data : pandas.DataFrame
    margins : dict or path
    weights : dict
        ``{name: weights}`` (Series or arrays aligned to ``data``), e.g.
        ``{"design": ww.design, "raked": ww.raked}``.
    rows : array of bool or None
        Rows to describe (e.g. one wave of our brand).

    Returns
    -------
    pandas.DataFrame
        ``variable, level, target`` and one column of shares per entry of ``weights``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"sex": list("ffm")})
    >>> waves.margin_table(df, {"sex": {"f": .5, "m": .5}}, {"unweighted": [1, 1, 1]})["unweighted"].round(3).tolist()
    [0.667, 0.333]
    """
    if not isinstance(margins, Mapping):
        margins = load_margins(margins)
    mask = _rows_mask(data, rows)
    out = []
    for var, targets in margins.items():
        sv.check_columns(data, [var], "raking")
        col = data[var].astype(str).to_numpy()[mask]
        total = float(sum(targets.values()))
        for level, target in targets.items():
            row = {"variable": var, "level": level, "target": float(target) / total}
            for name, w in weights.items():
                wv = np.asarray(w, dtype=float)[mask]
                row[name] = float(wv[col == str(level)].sum() / wv.sum())
            out.append(row)
    return pd.DataFrame(out)


def _levels_of(data, col, known=()):
    """Levels of ``col`` in display order: ``known`` first (e.g. the targets' order), then the
    categorical order or sorted."""
    present = [str(v) for v in _level_order(data[col])]
    known = [str(k) for k in known]
    return known + [lv for lv in present if lv not in known]


def mix_shares(data, columns, *, weight=None, by=None, levels=None):
    """Weighted shares of the levels of each of ``columns`` (per ``by`` group): the sample's mix.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : list of str
        Categorical columns whose mix is described.
    weight : str, array-like or None
        Weights (None = unweighted).
    by : str, list or None
        Group columns (e.g. wave, brand); shares are taken within each group.
    levels : dict or None
        ``{column: [levels]}``: levels to list first and keep even when no respondent has them
        (e.g. the levels of a target).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``variable, level, n`` (respondents), ``share`` (weighted share of the
        group's respondents with a value of the column).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1, 1, 2, 2], "sex": list("ffmf")})
    >>> waves.mix_shares(df, ["sex"], by="wave")[["wave", "level", "share"]].values.tolist()
    [[1, 'f', 1.0], [1, 'm', 0.0], [2, 'f', 0.5], [2, 'm', 0.5]]
    """
    sv.check_frame(data)
    by_cols = sv.as_list(by)
    sv.check_columns(data, by_cols + list(columns), "mix")
    w = np.ones(len(data)) if weight is None else sv.weight_array(data, weight)
    levels = levels or {}
    groups = [((), np.ones(len(data), bool))] if not by_cols else [
        ((k if isinstance(k, tuple) else (k,)), data.index.isin(g.index))
        for k, g in data.groupby(by_cols, sort=True, observed=True)]
    rows = []
    for key, sel in groups:
        for col in columns:
            values = data[col].astype(object).where(data[col].notna(), None).to_numpy()
            has = sel & pd.notna(data[col]).to_numpy()
            total = float(w[has].sum())
            text = np.array([str(v) for v in values], dtype=object)
            for lv in _levels_of(data, col, levels.get(col, ())):
                hit = has & (text == lv)
                row = dict(zip(by_cols, key))
                row.update({"variable": col, "level": lv, "n": int(hit.sum()),
                            "share": float(w[hit].sum() / total) if total > 0 else np.nan})
                rows.append(row)
    return pd.DataFrame(rows, columns=by_cols + ["variable", "level", "n", "share"])


def quota_attainment(data, margins, *, weight=None, wave_col="wave", by=None, tolerance=0.05):
    """The achieved sample mix against population targets, per wave (and group): fieldwork drift.

    A group is *off target* where its (design-)weighted share of the wave's sample differs from
    its target share by more than ``tolerance`` (an absolute difference of shares, 0.05 = 5
    percentage points).  Attainment is the achieved share over the target share (100% = on
    target): with the wave's sample size ``n``, the achieved count over the implied quota
    ``target * n``.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents to describe (e.g. our brand's), all waves.
    margins : dict or path
        Population targets ``{column: {level: share}}`` (shares are normalised per column).
    weight : str, array-like or None
        The starting (design) weights, which correct for a planned disproportionate allocation;
        None = unweighted.
    wave_col : str
    by : str, list or None
        Further group columns (e.g. the brand).
    tolerance : float, default 0.05
        Largest difference of shares still on target.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``wave``, ``variable, level, n, share, target, diff`` (share minus
        target), ``attainment`` (share / target) and ``off_target`` (``|diff| > tolerance``).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1] * 4 + [2] * 4, "sex": list("ffmm") + list("fffm")})
    >>> q = waves.quota_attainment(df, {"sex": {"f": .5, "m": .5}})
    >>> q[q["level"] == "f"][["wave", "share", "diff", "off_target"]].values.tolist()
    [[1, 0.5, 0.0, False], [2, 0.75, 0.25, True]]
    """
    if not isinstance(margins, Mapping):
        margins = load_margins(margins)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise ParamsError(f"`tolerance` must be a difference of shares between 0 and 1 (0.05 = 5 points), "
                          f"but {tolerance!r} was passed.")
    by_cols = sv.as_list(by)
    mix = mix_shares(data, list(margins), weight=weight, by=by_cols + [wave_col],
                     levels={k: list(v) for k, v in margins.items()})
    targets = {}
    for var, lv in margins.items():
        total = float(sum(float(x) for x in lv.values()))
        for level, share in lv.items():
            targets[(var, str(level))] = float(share) / total if total > 0 else np.nan
    mix["target"] = [targets.get((v, lv), np.nan) for v, lv in zip(mix["variable"], mix["level"])]
    mix["diff"] = mix["share"] - mix["target"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mix["attainment"] = mix["share"] / mix["target"]
    mix["off_target"] = (mix["diff"].abs() > tolerance + 1e-12).to_numpy()
    if wave_col != "wave":
        mix = mix.rename(columns={wave_col: "wave"})
    return mix


@dataclass(frozen=True)
class Fieldwork:
    """Fieldwork against the population targets: the sample's mix per wave and per brand.

    Attributes
    ----------
    wave, base_wave : int
        The report's wave and the first wave of the trend.
    tolerance : float
        Largest difference of shares still on target (0.05 = 5 points).
    weights : str
        What the achieved shares are weighted by: ``"design"`` or ``"none"``.
    attainment : pandas.DataFrame
        :func:`quota_attainment` of the sample described (our brand's), every wave up to the
        report's.
    brands : pandas.DataFrame or None
        The report's wave, every brand (ours first): ``brand, variable, level, n, share, target``
        (the targets describe our customers), ``diff`` (share minus target), ``diff_ours`` (share
        minus our brand's share); None without brands.
    """

    wave: int
    base_wave: int
    tolerance: float
    weights: str
    attainment: pd.DataFrame
    brands: pd.DataFrame | None = None

    @property
    def off_target(self) -> pd.DataFrame:
        """Groups off target in the report's wave, the furthest first."""
        a = self.attainment
        hit = a[(a["wave"] == self.wave) & a["off_target"]]
        return hit.reindex(hit["diff"].abs().sort_values(ascending=False).index)

    @property
    def waves_off(self) -> list:
        """Waves in which at least one group is off target."""
        return sorted(int(w) for w in self.attainment.loc[self.attainment["off_target"], "wave"].unique())

    def share(self, variable, level, wave):
        """The achieved share of one group in one wave (NaN when absent)."""
        a = self.attainment
        hit = a[(a["variable"] == variable) & (a["level"] == str(level)) & (a["wave"] == wave)]
        return float(hit["share"].iloc[0]) if len(hit) else float("nan")


def fieldwork(data, margins, *, wave, base_wave=None, weight=None, wave_col="wave", brand_col=None,
              our_brand="", brands=None, tolerance=0.05):
    """The fieldwork page's numbers: achieved against target mix per wave and per brand.

    Parameters
    ----------
    data : pandas.DataFrame
        Tracking data, all brands and waves.
    margins : dict or path
        Population targets (of our brand's customers when ``our_brand`` is set).
    wave, base_wave : int
        The report's wave (waves after it are left out) and the first wave of the trend.
    weight : str, array-like or None
        Starting (design) weights; None = unweighted.
    wave_col, brand_col : str
    our_brand : str
        Our brand's code ("" = the whole sample is described).
    brands : list of str or None
        Brands of the per-brand table (ours first); None = every brand present.
    tolerance : float

    Returns
    -------
    Fieldwork

    Examples
    --------
    >>> from workbench import io, synth, waves
    >>> d = synth.demo_dir()
    >>> tr = io.read_survey(d / "tracking.csv", "demo", dataset="tracking")
    >>> fw = waves.fieldwork(tr, d / "margins.yaml", wave=6, weight="design_weight", brand_col="brand",
    ...                      our_brand="aurora")
    >>> fw.off_target[["variable", "level"]].values.tolist()[0]
    ['segment', 'business']
    """
    if not isinstance(margins, Mapping):
        margins = load_margins(margins)
    w = np.ones(len(data)) if weight is None else sv.weight_array(data, weight)
    upto = data[wave_col].to_numpy() <= wave
    ours = upto.copy()
    if our_brand:
        ours &= data[brand_col].astype(str).eq(our_brand).to_numpy()
    present = _waves_in(data.loc[ours], wave_col)
    base = present[0] if base_wave is None else int(base_wave)
    att = quota_attainment(data.loc[ours], margins, weight=w[ours], wave_col=wave_col, tolerance=tolerance)
    per_brand = None
    if our_brand and brand_col:
        now = data[wave_col].to_numpy() == wave
        have = list(dict.fromkeys(data.loc[now, brand_col].dropna().astype(str)))
        order = [our_brand] + [b for b in (brands if brands is not None else sorted(have)) if b != our_brand]
        order = [b for b in order if b in have]
        sel = now & data[brand_col].astype(str).isin(order).to_numpy()
        sub = data.loc[sel].assign(_brand=data.loc[sel, brand_col].astype(str))
        pb = quota_attainment(sub, margins, weight=w[sel], wave_col=wave_col, by="_brand", tolerance=tolerance)
        pb = pb.rename(columns={"_brand": "brand"}).drop(columns=["wave", "attainment", "off_target"])
        pb["brand"] = pd.Categorical(pb["brand"], categories=order, ordered=True)
        pb = pb.sort_values(["brand"], kind="stable").reset_index(drop=True)
        pb["brand"] = pb["brand"].astype(str)
        mine = pb[pb["brand"] == our_brand].set_index(["variable", "level"])["share"]
        pb["diff_ours"] = [s - mine.get((v, lv), np.nan) for s, v, lv in zip(pb["share"], pb["variable"], pb["level"])]
        per_brand = pb
    return Fieldwork(wave=int(wave), base_wave=base, tolerance=float(tolerance),
                     weights="none" if weight is None else "design", attainment=att, brands=per_brand)


def brand_mix(data, by, *, ours, brands, brand_col="brand", weight=None, score=None):
    """The mix by ``by`` of each brand's (weighted) respondents: are the brands' samples alike?

    Parameters
    ----------
    data : pandas.DataFrame
        One wave's respondents of all brands.
    by : str
        Segment column.
    ours : str
    brands : list of str
        Brands in display order (ours among them).
    brand_col : str
    weight : str, array-like or None
    score : str or None
        When given, only respondents who answered it (the base of the brand estimates).

    Returns
    -------
    pandas.DataFrame
        ``brand, level, n, share`` and ``diff`` (share minus our brand's share of that level).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"brand": list("aaabbb"), "seg": list("xxyxyy")})
    >>> waves.brand_mix(df, "seg", ours="a", brands=["a", "b"])["diff"].round(3).tolist()
    [0.0, 0.0, -0.333, 0.333]
    """
    sel = data[brand_col].astype(str).isin(brands).to_numpy().copy()
    if score is not None:
        sel &= _answered(data, score)
    w = np.ones(len(data)) if weight is None else sv.weight_array(data, weight)
    sub = data.loc[sel].assign(_brand=data.loc[sel, brand_col].astype(str))
    out = mix_shares(sub, [by], weight=w[sel], by="_brand").drop(columns="variable").rename(columns={"_brand": "brand"})
    out["brand"] = pd.Categorical(out["brand"], categories=list(brands), ordered=True)
    out = out.sort_values("brand", kind="stable").reset_index(drop=True)
    out["brand"] = out["brand"].astype(str)
    mine = out[out["brand"] == ours].set_index("level")["share"]
    out["diff"] = [s - mine.get(lv, np.nan) for s, lv in zip(out["share"], out["level"])]
    return out


# --------------------------------------------------------------------------------------------
# trends and tests
# --------------------------------------------------------------------------------------------
def _alpha(conf):
    sv.conf_quantile(conf)
    return 1.0 - conf


def _sig(p, diff, alpha):
    p = np.asarray(p, dtype=float)
    d = np.asarray(diff, dtype=float)
    hit = np.where(np.isnan(p), False, p < alpha)
    return np.where(hit & (d > 0), "up", np.where(hit & (d < 0), "down", ""))


def _p_adj(p, fdr):
    return metrics.adjust_p(np.asarray(p, dtype=float)) if fdr else np.asarray(p, dtype=float)


def trend(data, score, *, metric="nps", wave_col="wave", period_col="period", weight=None, by=None,
          compare_to="previous", conf=0.95, rule=None, fdr=False, **options):
    """A metric per wave (and group) with the test of each wave against its reference wave.

    Waves are independent samples (or disjoint domains of one design), so a difference has
    ``se = sqrt(se^2 + se_ref^2)`` (:func:`workbench.metrics.diff_test`).  No test where either
    effective base is below ``rule.min_test``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, all waves.
    score : str
        Score column.
    metric : {"nps", "top_box", "bottom_box", "mean_score"}
        With ``top``/``scale_max`` or ``bottom``/``scale_min`` for the box metrics.
    wave_col, period_col : str
        Wave column; period column (``YYYY-MM``, for ``compare_to="year_ago"`` and the output).
    weight, by, conf, rule
        As in :func:`workbench.metrics.nps`.
    compare_to : {"previous", "year_ago", "first"} or int
        Reference wave of each wave (:func:`reference_map`).
    fdr : bool, default False
        Adjust the p-values of the table by Benjamini-Hochberg.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``wave``, ``period`` (when present), ``n, n_eff, est, se, ci_low,
        ci_high, base_flag``, ``ref_wave`` (nullable integer), ``est_ref, diff, diff_se, p_val,
        p_adj`` (the p-value behind the mark: BH-adjusted when ``fdr``, else ``p_val``),
        ``sig`` (``"up"``, ``"down"`` or ``""``) and ``test_flag`` (low-base status of the pair;
        ``""`` without a reference).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1] * 4 + [2] * 4, "ltr": [10, 9, 3, 8, 10, 10, 9, 2]})
    >>> waves.trend(df, "ltr")[["wave", "est", "diff"]]
       wave   est  diff
    0     1  25.0   NaN
    1     2  50.0  25.0
    """
    rule = sv.get_rule(rule)
    alpha = _alpha(conf)
    by_cols = sv.as_list(by)
    if wave_col in by_cols:
        raise ParamsError(f"`by` must not contain the wave column {wave_col!r}.")
    refmap = reference_map(data, compare_to, wave_col=wave_col, period_col=period_col)
    est = _w.estimates(data, score, metric, weight=weight, by=by_cols + [wave_col], conf=conf, rule=rule,
                       options=options)
    periods = _wave_periods(data, wave_col, period_col)
    if periods:
        est.insert(len(by_cols) + 1, "period", est[wave_col].map(periods))
    est["ref_wave"] = pd.array([refmap.get(int(w)) for w in est[wave_col]], dtype="Int64")
    ref = est[by_cols + [wave_col, "est", "se", "n_eff"]].rename(
        columns={wave_col: "ref_wave", "est": "est_ref", "se": "se_ref", "n_eff": "n_eff_ref"})
    ref["ref_wave"] = ref["ref_wave"].astype("Int64")
    merged = est.merge(ref, on=by_cols + ["ref_wave"], how="left")
    has_ref = merged["est_ref"].notna().to_numpy()
    test = metrics.diff_test(merged["est"].to_numpy(), merged["se"].to_numpy(),
                             merged["est_ref"].to_numpy(dtype=float), merged["se_ref"].to_numpy(dtype=float),
                             n_eff1=merged["n_eff"].to_numpy(),
                             n_eff2=merged["n_eff_ref"].fillna(0).to_numpy(dtype=float), conf=conf, rule=rule)
    out = merged.drop(columns=["se_ref", "n_eff_ref"])
    out["diff"] = test["diff"].to_numpy()
    out["diff_se"] = test["se"].to_numpy()
    p = np.where(has_ref, test["p_val"].to_numpy(), np.nan)
    out["p_val"] = p
    out["p_adj"] = _p_adj(p, fdr)
    out["sig"] = _sig(out["p_adj"], out["diff"], alpha)
    out["test_flag"] = np.where(has_ref, test["base_flag"].to_numpy(), "")
    return out


def control_limits(trend_table, *, wave_col="wave", by=None, est="est", se="se", centre="previous",
                   k=3, inner=2.0, outer=3.0):
    """Control limits around the trend: is a wave's move beyond sampling noise?

    For each wave the *centre line* is either the mean of the estimates of the ``k`` waves
    before it (``centre="previous"``; fewer at the start, none for the first wave) or the
    long-run inverse-variance weighted mean of all waves of the group (``centre="overall"``).
    The limits are ``centre ± z * dev_se`` with ``z = inner`` (2) and ``outer`` (3), where
    ``dev_se`` is the standard error of ``est - centre``:

    * previous: ``dev_se^2 = se_w^2 + sum_j se_j^2 / m^2`` (the ``m`` previous waves are
      independent of wave ``w``);
    * overall: ``dev_se^2 = se_w^2 - 1 / sum_j (1 / se_j^2)`` (wave ``w`` is part of the mean).

    Parameters
    ----------
    trend_table : pandas.DataFrame
        One row per wave (and group), e.g. from :func:`trend`; needs ``est`` and ``se``.
    wave_col : str
    by : str, list or None
        Group columns (limits are computed within each group).
    est, se : str
        Estimate and SE columns.
    centre : {"previous", "overall"}
    k : int, default 3
    inner, outer : float, default 2 and 3

    Returns
    -------
    pandas.DataFrame
        The input with ``centre``, ``centre_n`` (how many waves' estimates the centre line is
        built from: fewer than ``k`` for the first waves with ``"previous"``; 0 without a
        centre), ``dev_se, lower_inner, upper_inner, lower_outer, upper_outer, z_dev``
        (``(est - centre) / dev_se``) and ``signal``: ``"beyond_outer"``, ``"beyond_inner"``,
        ``"within"``, or ``""`` (no centre, or ``base_flag`` says no test).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> t = pd.DataFrame({"wave": [1, 2, 3], "est": [10.0, 10.0, 22.0], "se": [3.0, 3.0, 3.0]})
    >>> waves.control_limits(t, k=2)[["centre", "signal"]].values.tolist()
    [[nan, ''], [10.0, 'within'], [10.0, 'beyond_outer']]
    """
    sv.check_frame(trend_table, "trend_table")
    by_cols = sv.as_list(by)
    sv.check_columns(trend_table, by_cols + [wave_col, est, se], "trend")
    if centre not in CENTRES:
        raise ParamsError(f"`centre` must be one of {sv.show_values(CENTRES)}, but {centre!r} was passed.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParamsError(f"`k` must be a whole number of waves >= 1, but {k!r} was passed.")
    if not (0 < inner < outer):
        raise ParamsError(f"`inner` and `outer` must satisfy 0 < inner < outer, got {inner!r}, {outer!r}.")
    out = trend_table.copy()
    n = len(out)
    c = np.full(n, np.nan)
    dse = np.full(n, np.nan)
    cn = np.zeros(n, dtype=int)
    keys = [tuple(r) for r in out[by_cols].itertuples(index=False)] if by_cols else [()] * n
    order = pd.DataFrame({"key": keys, "wave": out[wave_col].to_numpy(), "pos": np.arange(n)})
    y_all = out[est].to_numpy(dtype=float)
    s_all = out[se].to_numpy(dtype=float)
    for _, grp in order.groupby("key", sort=False):
        pos = grp.sort_values("wave")["pos"].to_numpy()
        y, s = y_all[pos], s_all[pos]
        ok = np.isfinite(y) & np.isfinite(s) & (s > 0)
        if centre == "overall":
            if ok.any():
                prec = np.sum(1.0 / s[ok] ** 2)
                mean = np.sum(y[ok] / s[ok] ** 2) / prec
                c[pos[ok]] = mean
                cn[pos[ok]] = int(ok.sum())
                dse[pos[ok]] = np.sqrt(np.maximum(s[ok] ** 2 - 1.0 / prec, 0.0))
        else:
            for i in range(len(pos)):
                prev = [j for j in range(i) if ok[j]][-k:]
                if not prev or not ok[i]:
                    continue
                m = len(prev)
                c[pos[i]] = y[prev].mean()
                cn[pos[i]] = m
                dse[pos[i]] = np.sqrt(s[i] ** 2 + np.sum(s[prev] ** 2) / m**2)
    out["centre"] = c
    out["centre_n"] = cn
    out["dev_se"] = dse
    out["lower_inner"] = c - inner * dse
    out["upper_inner"] = c + inner * dse
    out["lower_outer"] = c - outer * dse
    out["upper_outer"] = c + outer * dse
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y_all - c) / dse
    out["z_dev"] = z
    signal = np.where(np.abs(z) > outer, "beyond_outer", np.where(np.abs(z) > inner, "beyond_inner", "within"))
    signal = np.where(np.isfinite(z), signal, "")
    if "base_flag" in out.columns:
        signal = np.where(out["base_flag"].to_numpy() == "no_test", "", signal)
    out["signal"] = signal
    return out


def pairwise_tests(data, score, *, between, levels=None, metric="nps", weight=None, by=None, conf=0.95,
                   rule=None, fdr=False, **options):
    """Every pair of levels of ``between`` (within each ``by`` group) tested against each other.

    Levels are disjoint domains, so ``se = sqrt(se_1^2 + se_2^2)``; with ``fdr=True`` the p-values
    of all pairs of the table are adjusted together (Benjamini-Hochberg).  No test where an
    effective base is below ``rule.min_test``.

    Parameters
    ----------
    data : pandas.DataFrame
    score : str
    between : str
        Column whose levels are compared (e.g. ``"brand"``).
    levels : list or None
        Levels in display order (None = every level, sorted); others are left out.
    metric, weight, by, conf, rule, fdr, **options
        As in :func:`trend`.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``level_1, level_2`` (``level_1`` comes first in ``levels``),
        ``est_1, est_2, diff`` (``est_1 - est_2``), ``se, z, p_val, p_adj, base_flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"brand": ["a"] * 50 + ["b"] * 50,
    ...                    "ltr": [10] * 30 + [3] * 20 + [10] * 10 + [3] * 40})
    >>> waves.pairwise_tests(df, "ltr", between="brand")[["level_1", "level_2", "diff"]]
      level_1 level_2  diff
    0       a       b  80.0
    """
    rule = sv.get_rule(rule)
    sv.check_columns(data, [between], "between")
    by_cols = sv.as_list(by)
    est = _w.estimates(data, score, metric, weight=weight, by=by_cols + [between], conf=conf, rule=rule,
                       options=options)
    lv = est[between].astype(str)
    if levels is None:
        levels = sorted(lv.unique())
    levels = [str(x) for x in levels]
    est = est[lv.isin(levels).to_numpy()].copy()
    est["_order"] = est[between].astype(str).map({b: i for i, b in enumerate(levels)})
    est = est.sort_values(by_cols + ["_order"], kind="stable").reset_index(drop=True)
    keys = [tuple(r) for r in est[by_cols].itertuples(index=False)] if by_cols else [()] * len(est)
    est["_key"] = keys
    pi, pj = [], []
    for _, grp in est.groupby("_key", sort=False):
        idx = grp.index.to_numpy()
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                pi.append(idx[a])
                pj.append(idx[b])
    pi = np.asarray(pi, dtype=np.int64)
    pj = np.asarray(pj, dtype=np.int64)
    e, s_, ne = (est[c].to_numpy(dtype=float) for c in ("est", "se", "n_eff"))
    test = metrics.diff_test(e[pi], s_[pi], e[pj], s_[pj], n_eff1=ne[pi], n_eff2=ne[pj], conf=conf, rule=rule)
    out = est.loc[pi, by_cols].reset_index(drop=True)
    out["level_1"] = est[between].astype(str).to_numpy()[pi]
    out["level_2"] = est[between].astype(str).to_numpy()[pj]
    out["est_1"] = e[pi]
    out["est_2"] = e[pj]
    for c in ("diff", "se", "z", "p_val"):
        out[c] = test[c].to_numpy() if len(pi) else np.array([], dtype=float)
    out["p_adj"] = _p_adj(out["p_val"], fdr)
    out["base_flag"] = test["base_flag"].to_numpy() if len(pi) else np.array([], dtype=object)
    return out


def benchmark(data, score, *, ours, competitors=None, brand_col="brand", metric="nps", weight=None,
              by=None, conf=0.95, rule=None, fdr=False, **options):
    """Our brand against competitors: arrows against ours, letters between all brands.

    Each brand's customers are a separate domain; every pair is tested by
    :func:`pairwise_tests` (BH across all pairs of the table with ``fdr=True``).  A pair with an
    effective base below ``rule.min_test`` is not tested.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents of all brands (e.g. one wave, or all waves with ``by="wave"``).
    score : str
    ours : str
        Our brand's code.
    competitors : list of str or None
        Competitors in display order (None = every other brand in the data, sorted).
    brand_col : str, default "brand"
    metric, weight, conf, rule, **options
        As in :func:`trend`.
    by : str, list or None
        Separate tables per group (e.g. per wave).
    fdr : bool, default False

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``brand``, ``letter`` (A for ours, then B, C, ...), ``n, n_eff, est, se,
        ci_low, ci_high, base_flag``, ``diff`` (brand minus ours), ``diff_se, p_val, p_adj``,
        ``sig`` (``"up"``: the brand is significantly above ours, ``"down"`` below),
        ``sig_letters`` (letters of the brands this one is significantly above).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"brand": ["a"] * 50 + ["b"] * 50,
    ...                    "ltr": [10] * 30 + [3] * 20 + [10] * 10 + [3] * 40})
    >>> waves.benchmark(df, "ltr", ours="a")[["brand", "letter", "est", "sig_letters"]]
      brand letter   est sig_letters
    0     a      A  20.0           B
    1     b      B -60.0
    """
    from workbench.tables import LETTERS

    rule = sv.get_rule(rule)
    alpha = _alpha(conf)
    sv.check_columns(data, [brand_col], "brand")
    by_cols = sv.as_list(by)
    present = set(data[brand_col].dropna().astype(str))
    if ours not in present:
        raise DataError(f"our brand {ours!r} has no respondents in column {brand_col!r} "
                        f"(brands: {sv.show_values(sorted(present))}).")
    if competitors is None:
        competitors = sorted(present - {ours})
    competitors = list(competitors)
    missing = [c for c in competitors if c not in present]
    if missing:
        raise DataError(f"competitor(s) {sv.show_values(missing)} have no respondents in column "
                        f"{brand_col!r} (brands: {sv.show_values(sorted(present))}).")
    brands = [ours] + [c for c in competitors if c != ours]
    if len(brands) > len(LETTERS):
        raise ParamsError(f"at most {len(LETTERS)} brands can be lettered, got {len(brands)}.")
    est = _w.estimates(data, score, metric, weight=weight, by=by_cols + [brand_col], conf=conf, rule=rule,
                       options=options)
    est = est.rename(columns={brand_col: "brand"}) if brand_col != "brand" else est
    est["brand"] = est["brand"].astype(str)
    est = est[est["brand"].isin(brands)].copy()
    est["_order"] = est["brand"].map({b: i for i, b in enumerate(brands)})
    est = est.sort_values(by_cols + ["_order"], kind="stable").reset_index(drop=True)
    est["letter"] = [LETTERS[i] for i in est["_order"]]
    pairs = pairwise_tests(data, score, between=brand_col, levels=brands, metric=metric, weight=weight,
                           by=by_cols or None, conf=conf, rule=rule, fdr=fdr, **options)
    key_of = (lambda r: tuple(r[c] for c in by_cols))
    p_use, p_raw = {}, {}
    for _, r in pairs.iterrows():
        k = key_of(r)
        for a, b in ((r["level_1"], r["level_2"]), (r["level_2"], r["level_1"])):
            p_use[(k, a, b)] = r["p_adj"]
            p_raw[(k, a, b)] = r["p_val"]
    est_of = {(key_of(r), r["brand"]): (r["est"], r["se"]) for _, r in est.iterrows()}
    letter_of = dict(zip(brands, [LETTERS[i] for i in range(len(brands))]))
    diff, dse, pv, pa, letters = [], [], [], [], []
    for _, r in est.iterrows():
        k, b = key_of(r), r["brand"]
        mine = est_of.get((k, ours))
        if b == ours or mine is None:
            diff.append(np.nan), dse.append(np.nan), pv.append(np.nan), pa.append(np.nan)
        else:
            diff.append(r["est"] - mine[0])
            dse.append(math.hypot(r["se"], mine[1]))
            pv.append(p_raw.get((k, b, ours), np.nan))
            pa.append(p_use.get((k, b, ours), np.nan))
        marks = ""
        for other in brands:
            if other == b or (k, other) not in est_of:
                continue
            p = p_use.get((k, b, other), np.nan)
            if np.isfinite(p) and p < alpha and r["est"] > est_of[(k, other)][0]:
                marks += letter_of[other]
        letters.append(marks)
    cols = by_cols + ["brand", "letter", "n", "n_eff", "est", "se", "ci_low", "ci_high", "base_flag"]
    out = est[cols].copy()
    out["diff"] = diff
    out["diff_se"] = dse
    out["p_val"] = pv
    out["p_adj"] = pa
    out["sig"] = _sig(out["p_adj"], out["diff"], alpha)
    out["sig_letters"] = letters
    return out


def benchmark_standardized(data, score, *, ours, competitors=None, brand_col="brand", by="segment",
                           reference=None, metric="nps", weight=None, conf=0.95, rule=None, fdr=False,
                           **options):
    """Brands compared at one segment mix: each brand's estimate directly standardised to the
    same reference shares, so a difference between brands is not a difference in their mix.

    ``std_b = sum_s r_s est_{b,s}`` with ``se = sqrt(sum_s r_s^2 se_{b,s}^2)`` (as
    :func:`standardize`, with brands in place of waves); brands are disjoint domains, so a
    brand's difference from ours has ``se = sqrt(se_b^2 + se_ours^2)``.  A brand lacking a
    segment with a positive reference share has no standardised estimate; a pair is not tested
    where a segment used has an effective base below ``rule.min_test``.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents of all brands (one wave).
    score : str
    ours : str
    competitors : list of str or None
        Competitors in display order (None = every other brand, sorted).
    brand_col : str
    by : str
        Segment column.
    reference : dict or None
        ``{level: share}`` (normalised); None = our brand's weighted mix (so our standardised
        estimate is our crude estimate).
    metric, weight, conf, rule, fdr, **options
        As in :func:`benchmark`.

    Returns
    -------
    pandas.DataFrame
        ``brand, n, n_eff, est, se`` (crude), ``std_est, std_se, std_ci_low, std_ci_high,
        std_flag``, ``diff`` (standardised, brand minus ours), ``diff_se, p_val, p_adj, sig``.
        The reference shares are in ``.attrs["reference_mix"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"brand": ["a"] * 4 + ["b"] * 4, "seg": list("xxxy") + list("xyyy"),
    ...                    "ltr": [10, 10, 10, 0, 10, 0, 0, 0]})
    >>> waves.benchmark_standardized(df, "ltr", ours="a", by="seg")[["brand", "est", "std_est"]]
      brand   est  std_est
    0     a  50.0     50.0
    1     b -50.0     50.0
    """
    rule = sv.get_rule(rule)
    alpha = _alpha(conf)
    zc = sv.conf_quantile(conf)
    _w.check_metric(metric, options)
    sv.check_columns(data, [brand_col, by], "benchmark")
    present = set(data[brand_col].dropna().astype(str))
    if ours not in present:
        raise DataError(f"our brand {ours!r} has no respondents in column {brand_col!r}.")
    comps = sorted(present - {ours}) if competitors is None else [str(c) for c in competitors if str(c) != ours]
    brands = [ours] + [c for c in comps if c in present]
    d = data[data[brand_col].astype(str).isin(brands).to_numpy()]
    d = d.assign(_brand=d[brand_col].astype(str))
    if weight is not None and not isinstance(weight, str):
        w_all = sv.weight_array(data, weight)
        d = d.assign(_bw=w_all[data[brand_col].astype(str).isin(brands).to_numpy()])
        weight = "_bw"
    if reference is None:
        mine = d[d["_brand"].to_numpy() == ours]
        w = np.ones(len(mine)) if weight is None else sv.weight_array(mine, weight)
        ok = _answered(mine, score) & mine[by].notna().to_numpy()
        sums = pd.Series(w[ok]).groupby(mine[by].astype(str).to_numpy()[ok]).sum()
        r = sums / sums.sum()
    else:
        r = pd.Series({str(k): float(v) for k, v in reference.items()}, dtype=float)
        r = r / r.sum()
    crude = _w.estimates(d, score, metric, weight=weight, by="_brand", conf=conf, rule=rule, options=options)
    crude["_brand"] = crude["_brand"].astype(str)
    crude = crude.set_index("_brand")
    c = _w.cells(d, score, metric, ["_brand", by], weight=weight, options=options)
    segs = c.keys[by].astype(str).to_numpy()
    order = {"ok": 0, "caution": 1, "no_test": 2}
    rows = []
    for b in brands:
        pos_b = c.index(_brand=b)
        std, var, flag = 0.0, 0.0, "ok"
        for lv, share in r.items():
            if share <= 0:
                continue
            hit = pos_b[segs[pos_b] == str(lv)]
            if not len(hit):
                std, var, flag = np.nan, np.nan, "no_test"
                break
            p = hit[0]
            std += share * c.m[p]
            var += share**2 * c.f * c.A[p] / c.W[p] ** 2
            st = str(rule.status(c.W[p] ** 2 / c.W2[p]))
            flag = st if order[st] > order[flag] else flag
        se = math.sqrt(var) if np.isfinite(var) else np.nan
        cr = crude.loc[b] if b in crude.index else None
        rows.append({"brand": b, "n": int(cr["n"]) if cr is not None else 0,
                     "n_eff": float(cr["n_eff"]) if cr is not None else np.nan,
                     "est": float(cr["est"]) if cr is not None else np.nan,
                     "se": float(cr["se"]) if cr is not None else np.nan,
                     "std_est": std, "std_se": se, "std_ci_low": std - zc * se, "std_ci_high": std + zc * se,
                     "std_flag": flag})
    out = pd.DataFrame(rows)
    mine = out.iloc[0]
    diff = out["std_est"] - mine["std_est"]
    dse = np.hypot(out["std_se"], mine["std_se"])
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / dse
    p = 2 * stats.norm.sf(np.abs(z))
    testable = (out["std_flag"] != "no_test").to_numpy() & (mine["std_flag"] != "no_test")
    p = np.where(testable & np.isfinite(z), p, np.nan)
    p[0] = np.nan
    out["diff"] = np.where(np.arange(len(out)) == 0, np.nan, diff)
    out["diff_se"] = np.where(np.arange(len(out)) == 0, np.nan, dse)
    out["p_val"] = p
    out["p_adj"] = _p_adj(p, fdr)
    out["sig"] = _sig(out["p_adj"], out["diff"], alpha)
    out.attrs["reference_mix"] = {str(k): float(v) for k, v in r.items()}
    return out


def segment_vs_rest(data, score, *, segment="segment", metric="nps", weight=None, by=None, conf=0.95,
                    rule=None, fdr=False, **options):
    """Each segment against all other respondents (of its ``by`` group).

    :func:`workbench.metrics.compare` with ``reference="rest"`` plus ``p_adj`` (BH when ``fdr``)
    and ``sig`` (``"up"`` / ``"down"`` / ``""``).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"seg": ["x"] * 40 + ["y"] * 40, "ltr": [10] * 30 + [3] * 10 + [10] * 10 + [3] * 30})
    >>> waves.segment_vs_rest(df, "ltr", segment="seg")[["seg", "diff", "sig"]]
      seg   diff   sig
    0   x  100.0    up
    1   y -100.0  down
    """
    _w.check_metric(metric, options)
    rule = sv.get_rule(rule)
    alpha = _alpha(conf)
    res = metrics.compare(data, score, metric=metric, between=segment, reference="rest", weight=weight,
                          by=by, conf=conf, rule=rule, **options)
    res["p_adj"] = _p_adj(res["p_val"], fdr)
    res["sig"] = _sig(res["p_adj"], res["diff"], alpha)
    return res


# --------------------------------------------------------------------------------------------
# mix: standardisation and decomposition
# --------------------------------------------------------------------------------------------
def _answered(data, score):
    y = sv.float_column(data, score, "score")
    return ~np.isnan(y)


def reference_mix(data, *, by="segment", wave_col="wave", reference="first", weight=None, score=None):
    """The reference segment mix for standardisation: ``{level: share}`` as a Series.

    Parameters
    ----------
    data : pandas.DataFrame
    by : str
        Segment column.
    wave_col : str
    reference : "first", "last", "pooled", int or dict
        The weighted segment shares of the first / last wave / a given wave / all waves, or a
        target structure ``{level: share}`` (shares are normalised to sum to 1; every level must
        occur in the data).
    weight : str, array-like or None
    score : str or None
        When given, shares are taken among respondents who answered it (so that the standardised
        estimate of the reference wave equals its crude estimate).

    Returns
    -------
    pandas.Series
        Shares indexed by level, summing to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1, 1, 1, 2], "segment": ["a", "a", "b", "b"]})
    >>> waves.reference_mix(df).round(3).to_dict()
    {'a': 0.667, 'b': 0.333}
    """
    sv.check_frame(data)
    sv.check_columns(data, [by], "mix")
    levels_present = [lv for lv in pd.unique(data[by].dropna())]
    if isinstance(reference, Mapping):
        try:
            shares = pd.Series({k: float(v) for k, v in reference.items()}, dtype=float)
        except (TypeError, ValueError):
            raise ParamsError(f"`reference_mix` must map each level of {by!r} to a share, but got "
                              f"{dict(reference)!r} (in YAML write `level: 0.3`, with a space after the colon)."
                              ) from None
        if (shares < 0).any() or not np.isfinite(shares).all() or shares.sum() <= 0:
            raise ParamsError(f"`reference_mix` shares must be non-negative numbers, got {dict(reference)!r}.")
        present = {str(v) for v in levels_present}
        unknown = [k for k in shares.index if str(k) not in present]
        if unknown:
            raise DataError(f"reference mix level(s) {sv.show_values(unknown)} do not occur in column "
                            f"{by!r} (levels: {sv.show_values(sorted(present))}).")
        if abs(shares.sum() - 1.0) > 1e-6:
            raise ParamsError(f"`reference_mix` shares must sum to 1, but they sum to {shares.sum():.6g}.")
        return shares / shares.sum()
    waves = _waves_in(data, wave_col)
    if isinstance(reference, str) and reference in ("first", "last", "pooled"):
        chosen = {"first": [waves[0]], "last": [waves[-1]], "pooled": waves}[reference]
    elif isinstance(reference, (int, np.integer)) and not isinstance(reference, bool):
        if int(reference) not in waves:
            raise ParamsError(f"`reference_mix` wave {reference} is not in the data (waves: {sv.show_values(waves, 12)}).")
        chosen = [int(reference)]
    else:
        raise ParamsError("`reference_mix` must be 'first', 'last', 'pooled', a wave number or a dict "
                          f"of shares, but {reference!r} was passed.")
    w = np.ones(len(data)) if weight is None else sv.weight_array(data, weight)
    sel = data[wave_col].isin(chosen).to_numpy() & data[by].notna().to_numpy()
    if score is not None:
        sel &= _answered(data, score)
    sums = pd.Series(w[sel], index=data.index[sel]).groupby(data[by][sel].to_numpy()).sum()
    order = [lv for lv in _level_order(data[by]) if lv in sums.index]
    sums = sums.reindex(order)
    if sums.sum() <= 0:
        raise DataError(f"reference wave(s) {chosen} have no weighted respondents with a {by!r} value.")
    return sums / sums.sum()


def _level_order(col):
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return sorted(pd.unique(col.dropna()), key=str)


def standardize(data, score, *, metric="nps", by="segment", wave_col="wave", reference="first",
                weight=None, conf=0.95, rule=None, **options):
    """Direct standardisation: each wave's estimate at a fixed reference segment mix.

    ``std_est_w = sum_s r_s * est_{w,s}`` with reference shares ``r`` (:func:`reference_mix`),
    treated as fixed (a standard population).  Segments are disjoint domains, so
    ``std_se_w = sqrt(sum_s r_s^2 se_{w,s}^2)`` (R: ``svyby`` + ``svycontrast``; equal to
    ``svystandardize``).  A wave lacking a segment with a positive reference share has no
    standardised estimate.

    Parameters
    ----------
    data : pandas.DataFrame
    score : str
    metric, weight, conf, rule, **options
        As in :func:`trend`.
    by : str, default "segment"
        Segment column defining the mix.
    wave_col : str
    reference : "first", "last", "pooled", int or dict
        See :func:`reference_mix`.

    Returns
    -------
    pandas.DataFrame
        One row per wave: ``wave, n, n_eff, est, se`` (crude), ``std_est, std_se, std_ci_low,
        std_ci_high``, ``std_flag`` (the worst low-base status of the segments used).  The
        reference shares are in ``.attrs["reference_mix"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1] * 4 + [2] * 4, "segment": list("aabb") + list("abbb"),
    ...                    "ltr": [10, 10, 0, 0, 10, 0, 0, 0]})
    >>> waves.standardize(df, "ltr")[["wave", "est", "std_est"]]
       wave   est  std_est
    0     1   0.0      0.0
    1     2 -50.0      0.0
    """
    rule = sv.get_rule(rule)
    zc = sv.conf_quantile(conf)
    _w.check_metric(metric, options)
    r = reference_mix(data, by=by, wave_col=wave_col, reference=reference, weight=weight, score=score)
    crude = _w.estimates(data, score, metric, weight=weight, by=wave_col, conf=conf, rule=rule, options=options)
    c = _w.cells(data, score, metric, [wave_col, by], weight=weight, options=options)
    seg_keys = c.keys[by].astype(str).to_numpy()
    rows = []
    order = {"ok": 0, "caution": 1, "no_test": 2}
    for w in crude[wave_col]:
        pos_w = c.index(**{wave_col: w})
        std, var, flag = 0.0, 0.0, "ok"
        for lv, share in r.items():
            if share <= 0:
                continue
            hit = pos_w[seg_keys[pos_w] == str(lv)]
            if not len(hit):
                std, var = np.nan, np.nan
                flag = "no_test"
                break
            p = hit[0]
            std += share * c.m[p]
            var += share**2 * c.f * c.A[p] / c.W[p] ** 2
            st = str(rule.status(c.W[p] ** 2 / c.W2[p]))
            flag = st if order[st] > order[flag] else flag
        se = math.sqrt(var) if np.isfinite(var) else np.nan
        rows.append({"std_est": std, "std_se": se, "std_ci_low": std - zc * se, "std_ci_high": std + zc * se,
                     "std_flag": flag})
    out = pd.concat([crude[[wave_col, "n", "n_eff", "est", "se"]].reset_index(drop=True),
                     pd.DataFrame(rows)], axis=1)
    out.attrs["reference_mix"] = {str(k): float(v) for k, v in r.items()}
    return out


@dataclass(frozen=True)
class MixDecomposition:
    """The change of a metric between two waves split into mix, rate and interaction.

    With segment shares ``s`` and segment estimates ``N`` of the base wave ``a`` and the target
    wave ``b`` (Kitagawa 1955)::

        total       = sum s_b N_b - sum s_a N_a
        mix         = sum (s_b - s_a) N_a          (composition, at base-wave rates)
        rate        = sum s_a (N_b - N_a)          (within-segment change, at base-wave mix)
        interaction = sum (s_b - s_a)(N_b - N_a)
        mix_mid     = mix + interaction / 2  = sum (s_b - s_a)(N_a + N_b) / 2
        rate_mid    = rate + interaction / 2 = sum (N_b - N_a)(s_a + s_b) / 2

    ``total = mix + rate + interaction = mix_mid + rate_mid``.  The symmetric split
    (``mix_mid``, ``rate_mid``; Das Gupta 1993) is what a report quotes: "of the change, X is
    composition, Y is like-for-like".

    Attributes
    ----------
    base, target : int
        The two waves.
    by : str
        Segment column.
    metric : str
    conf : float
    est_base, est_target : float
        Crude estimates (``sum s N``) of the two waves.
    segments : pandas.DataFrame
        Per segment: ``by, share_base, share_target, est_base, est_target, n_base, n_target,
        n_eff_base, n_eff_target, base_flag`` (worse of the two waves), and its contributions
        ``mix`` (centred: ``(s_b - s_a)(N_a - est_base)``, so a shift toward a segment above
        average adds), ``rate``, ``interaction``, ``mix_mid`` (centred at the mean of both
        waves' crude estimates) and ``rate_mid``.  Columns sum to the totals.
    summary : pandas.DataFrame
        One row per component (``total, mix, rate, interaction, mix_mid, rate_mid``): ``est, se,
        z, p_val, ci_low, ci_high`` -- delta-method SEs that include the sampling variance of the
        shares (waves independent).
    """

    base: int
    target: int
    by: str
    metric: str
    conf: float
    est_base: float
    est_target: float
    segments: pd.DataFrame
    summary: pd.DataFrame

    def component(self, name):
        """One row of :attr:`summary` as a dict (``est, se, z, p_val, ci_low, ci_high``)."""
        hit = self.summary[self.summary["component"] == name]
        if not len(hit):
            raise KeyError(f"no component {name!r}; known: {', '.join(self.summary['component'])}")
        return hit.iloc[0].to_dict()

    @property
    def total(self) -> float:
        return float(self.component("total")["est"])

    @property
    def mix_share(self) -> float:
        """``mix_mid / total`` (NaN when the total is 0)."""
        t = self.total
        return float(self.component("mix_mid")["est"] / t) if t != 0 else float("nan")

    def waterfall(self):
        """Steps of a waterfall chart: base estimate, mix per segment, rate per segment,
        interaction, target estimate.

        Returns
        -------
        pandas.DataFrame
            ``kind`` (``"base"``, ``"mix"``, ``"rate"``, ``"interaction"``, ``"target"``),
            ``segment`` (None for base/interaction/target), ``value``, ``start``, ``end``.
        """
        rows = [{"kind": "base", "segment": None, "value": self.est_base, "start": 0.0, "end": self.est_base}]
        level = self.est_base
        for kind in ("mix", "rate"):
            for _, r in self.segments.iterrows():
                v = float(r[kind])
                rows.append({"kind": kind, "segment": r[self.by], "value": v, "start": level, "end": level + v})
                level += v
        inter = float(self.segments["interaction"].sum())
        rows.append({"kind": "interaction", "segment": None, "value": inter, "start": level, "end": level + inter})
        level += inter
        rows.append({"kind": "target", "segment": None, "value": self.est_target, "start": 0.0,
                     "end": self.est_target})
        return pd.DataFrame(rows)


def decompose(data, score, *, base, target, metric="nps", by="segment", wave_col="wave", weight=None,
              conf=0.95, rule=None, **options):
    """Split the change between two waves into mix (composition), rate and interaction.

    See :class:`MixDecomposition` for the formulas.  SEs are by linearisation (delta method) of
    the shares and segment estimates of both waves, whose covariance comes from the same domain
    moments as :func:`workbench.metrics.nps` (``workbench._waves``); validated against R
    ``svycontrast`` on ``svytotal`` (tests/results/r/waves.R).  Respondents without a segment or
    a score are left out.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents of (at least) both waves.
    score : str
    base, target : int
        Waves compared (change = target - base).
    metric, weight, conf, rule, **options
        As in :func:`trend`.
    by : str, default "segment"
    wave_col : str

    Returns
    -------
    MixDecomposition

    Raises
    ------
    DataError
        A segment present in one wave has no respondents in the other.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1] * 4 + [2] * 4, "segment": list("aabb") + list("abbb"),
    ...                    "ltr": [10, 10, 0, 0, 10, 0, 0, 0]})
    >>> d = waves.decompose(df, "ltr", base=1, target=2)
    >>> d.summary.set_index("component")["est"].round(1).to_dict()
    {'total': -50.0, 'mix': -50.0, 'rate': 0.0, 'interaction': 0.0, 'mix_mid': -50.0, 'rate_mid': 0.0}
    """
    rule = sv.get_rule(rule)
    waves = _waves_in(data, wave_col)
    for name, w in (("base", base), ("target", target)):
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or int(w) not in waves:
            raise ParamsError(f"`{name}` must be a wave in the data ({sv.show_values(waves, 12)}), got {w!r}.")
    base, target = int(base), int(target)
    if base == target:
        raise ParamsError(f"`base` and `target` are the same wave ({base}); nothing to decompose.")
    c = _w.cells(data, score, metric, [wave_col, by], weight=weight, options=options)
    order = [lv for lv in _level_order(data[by])]
    segs_a = set(c.keys[by][c.keys[wave_col] == base])
    segs_b = set(c.keys[by][c.keys[wave_col] == target])
    labels = [lv for lv in order if lv in segs_a | segs_b]
    only = [(lv, base if lv not in segs_a else target) for lv in labels if (lv in segs_a) != (lv in segs_b)]
    if only:
        lv, w = only[0]
        raise DataError(f"segment {lv!r} of {by!r} has no respondents with a {score!r} answer in wave {w}; "
                        "a mix decomposition needs every segment in both waves (merge small segments).")
    ga = _w.group_of(c, by, labels, **{wave_col: base})
    gb = _w.group_of(c, by, labels, **{wave_col: target})
    sa, Na, Wa = ga.values(c)
    sb, Nb, Wb = gb.values(c)
    summary = _w.contrast_frame(c, ga, gb, conf)
    est_a, est_b = float(sa @ Na), float(sb @ Nb)
    ds, dN = sb - sa, Nb - Na
    n_a = np.array([int(c.n[p].sum()) for p in ga.pools])
    n_b = np.array([int(c.n[p].sum()) for p in gb.pools])
    ne_a = np.array([c.W[p].sum() ** 2 / c.W2[p].sum() for p in ga.pools])
    ne_b = np.array([c.W[p].sum() ** 2 / c.W2[p].sum() for p in gb.pools])
    status = np.where(np.minimum(ne_a, ne_b) < rule.min_test, "no_test",
                      np.where(np.minimum(ne_a, ne_b) < rule.caution, "caution", "ok"))
    segments = pd.DataFrame({
        by: labels, "share_base": sa, "share_target": sb, "est_base": Na, "est_target": Nb,
        "n_base": n_a, "n_target": n_b, "n_eff_base": ne_a, "n_eff_target": ne_b, "base_flag": status,
        "mix": ds * (Na - est_a), "rate": sa * dN, "interaction": ds * dN,
        "mix_mid": ds * ((Na + Nb) / 2.0 - (est_a + est_b) / 2.0), "rate_mid": (sa + sb) / 2.0 * dN,
    })
    return MixDecomposition(base=base, target=target, by=by, metric=metric, conf=conf, est_base=est_a,
                            est_target=est_b, segments=segments, summary=summary)


# --------------------------------------------------------------------------------------------
# X + O
# --------------------------------------------------------------------------------------------
def nps_group(data, score="nps"):
    """Promoter (9-10) / passive (7-8) / detractor (0-6) of each respondent, as an ordered
    categorical Series (NaN where the score is missing).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> waves.nps_group(pd.DataFrame({"nps": [10, 7, 3, None]})).tolist()
    ['promoter', 'passive', 'detractor', nan]
    """
    y = sv.float_column(data, score, "score")
    codes = np.where(np.isnan(y), -1, (y >= 7).astype(int) + (y >= 9).astype(int))
    cat = pd.Categorical.from_codes(codes, categories=list(NPS_GROUPS), ordered=True)
    return pd.Series(cat, index=data.index, name="nps_group")


def link_odata(tracking, odata, *, key="customer_id", suffix="_odata"):
    """Join operational data (O-data) to survey respondents (X-data) by customer id.

    Respondents without an id are left out; an id may appear in several waves (one row each).
    Columns of ``odata`` that also exist in ``tracking`` get ``suffix``.

    Parameters
    ----------
    tracking, odata : pandas.DataFrame
    key : str, default "customer_id"
    suffix : str

    Returns
    -------
    pandas.DataFrame
        One row per respondent with an id found in ``odata`` (tracking index kept).

    Raises
    ------
    DataError
        Duplicate ids in ``odata`` or no respondent with an id.

    Warns
    -----
    WorkbenchWarning
        Some respondents' ids are not in ``odata``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> x = pd.DataFrame({"customer_id": ["c1", "c2", None], "nps": [10, 3, 8]})
    >>> o = pd.DataFrame({"customer_id": ["c1", "c2"], "retained_6m": [1, 0]})
    >>> waves.link_odata(x, o)["retained_6m"].tolist()
    [1, 0]
    """
    sv.check_frame(tracking, "tracking")
    sv.check_frame(odata, "odata")
    sv.check_columns(tracking, [key], "id")
    sv.check_columns(odata, [key], "id")
    dup = odata[key].dropna().duplicated()
    if dup.any():
        raise DataError(f"O-data column {key!r} has duplicate ids, e.g. "
                        f"{sv.show_values(odata[key].dropna()[dup].unique())}; one row per customer is expected.")
    x = tracking[tracking[key].notna()]
    if not len(x):
        raise DataError(f"no respondent has a {key!r}; O-data cannot be linked.")
    o = odata.rename(columns={c: c + suffix for c in odata.columns if c != key and c in tracking.columns})
    merged = x.reset_index().merge(o, on=key, how="left", validate="many_to_one", indicator=True)
    missing = int((merged["_merge"] == "left_only").sum())
    if missing:
        warnings.warn(f"{missing} of {len(merged)} respondents with a {key!r} have no O-data row and are "
                      "left out of the X+O analysis.", WorkbenchWarning, stacklevel=2)
    merged = merged[merged["_merge"] == "both"].drop(columns="_merge")
    index_name = tracking.index.name or "index"
    return merged.set_index(index_name).rename_axis(tracking.index.name)


def xo_table(linked, *, score="nps", outcomes=("retained_6m", "spend_6m", "tickets_6m"), by=None,
             weight=None, conf=0.95, rule=None):
    """O-data outcomes (retention, spend, tickets) by NPS group (and ``by``).

    Each outcome is a weighted mean (a share for a 0/1 outcome) per NPS group with its
    design-based SE (:func:`workbench.metrics.mean_score`).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``outcome``, ``nps_group``, ``n, n_eff, est, se, ci_low, ci_high,
        base_flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"nps": [10, 9, 3, 2], "retained_6m": [1, 1, 0, 1]})
    >>> waves.xo_table(df, outcomes=["retained_6m"])[["nps_group", "est"]]
       nps_group  est
    0  detractor  0.5
    1    promoter  1.0
    """
    by_cols = sv.as_list(by)
    d = linked.assign(nps_group=nps_group(linked, score))
    frames = []
    for oc in outcomes:
        res = metrics.mean_score(d, oc, weight=weight, by=by_cols + ["nps_group"], conf=conf, rule=rule)
        res = res.rename(columns={"mean": "est"})
        res.insert(len(by_cols), "outcome", oc)
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    out["nps_group"] = out["nps_group"].astype(str)
    return out


def xo_tests(linked, *, score="nps", outcomes=("retained_6m", "spend_6m", "tickets_6m"), by=None,
             high="promoter", low="detractor", weight=None, conf=0.95, rule=None, fdr=False):
    """Promoters against detractors on each O-data outcome (and ``by`` group).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``outcome``, ``est_high, est_low, diff`` (high minus low), ``se, z,
        p_val, p_adj, ci_low, ci_high, n_high, n_low, base_flag, sig``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"nps": [10] * 40 + [3] * 40, "retained_6m": [1] * 36 + [0] * 4 + [1] * 28 + [0] * 12})
    >>> round(float(waves.xo_tests(df, outcomes=["retained_6m"])["diff"].iloc[0]), 2)
    0.2
    """
    by_cols = sv.as_list(by)
    alpha = _alpha(conf)
    d = linked.assign(nps_group=nps_group(linked, score))
    frames = []
    for oc in outcomes:
        res = metrics.compare(d, oc, metric="mean_score", between="nps_group", reference=low, weight=weight,
                              by=by_cols or None, conf=conf, rule=rule)
        res = res[res["nps_group"].astype(str) == high]
        res = res.rename(columns={"est": "est_high", "est_ref": "est_low", "n": "n_high", "n_ref": "n_low"})
        res.insert(len(by_cols), "outcome", oc)
        frames.append(res.drop(columns=["nps_group", "reference", "n_eff", "n_eff_ref"]))
    out = pd.concat(frames, ignore_index=True)
    out["p_adj"] = _p_adj(out["p_val"], fdr)
    out["sig"] = _sig(out["p_adj"], out["diff"], alpha)
    return out


@dataclass(frozen=True)
class SurvivorshipCheck:
    """Does the metric rise because detractors left?  (See :func:`survivorship`.)

    Attributes
    ----------
    base_wave, latest_wave : int
    churn : pandas.DataFrame
        Base-wave respondents by NPS group: ``nps_group, n, n_eff, est`` (share who had left by
        the latest wave), ``se, ci_low, ci_high, base_flag``.
    churn_test : dict
        Detractors minus promoters: ``diff, se, z, p_val, ci_low, ci_high, base_flag``.
    est_all, est_stayed : float
        Base-wave estimate of all respondents and of those still customers at the latest wave.
    shares : pandas.DataFrame
        Segment shares: ``segment, share_all, share_stayed`` (base wave) and ``share_latest``
        (when the observed decomposition is given).
    churn_effect : pandas.DataFrame
        Decomposition of ``est_stayed - est_all`` (what churn alone does to the base wave):
        ``component, est, se, z, p_val, ci_low, ci_high`` for ``total, mix_mid, rate_mid`` ...
    observed : dict
        Observed change base -> latest: ``total, mix_mid, rate_mid`` (and their p-values).
    explained : float
        Most of the observed rise churn can account for: for the mix and the like-for-like part
        separately, the smaller of the observed and the churn-implied rise (0 where either is not
        a rise), summed.  Descriptive; the verdict does not use it.
    verdict : str
        ``"no_rise"`` (the metric did not rise), ``"no_churn_gap"`` (detractors do not leave
        significantly more often than promoters: ``churn_test``), ``"unlikely"`` (the latest
        wave is significantly above the base wave's stayers: ``beyond_churn``) or ``"possible"``
        (it is not: churn alone could produce a rise as large as the one observed).
    conf : float
    beyond_churn : dict
        The test behind the verdict: the latest wave's estimate against the base wave's estimate
        among those still customers at the latest wave (what the metric would be if churn were
        the only change).  ``est_latest, se_latest, est_stayed, se_stayed, diff`` (latest minus
        stayed), ``se, z, p_val, ci_low, ci_high``; the two are disjoint respondents, so
        ``se = sqrt(se_latest^2 + se_stayed^2)``.  Empty without the latest wave's estimate.
    """

    base_wave: int
    latest_wave: int
    churn: pd.DataFrame
    churn_test: dict
    est_all: float
    est_stayed: float
    shares: pd.DataFrame
    churn_effect: pd.DataFrame
    observed: dict
    explained: float
    verdict: str
    conf: float
    beyond_churn: dict = field(default_factory=dict)

    @property
    def explained_share(self) -> float:
        t = self.observed.get("total", float("nan"))
        return self.explained / t if t and t > 0 else float("nan")

    def effect(self, name):
        hit = self.churn_effect[self.churn_effect["component"] == name]
        return hit.iloc[0].to_dict()


def survivorship(linked, *, score="nps", base_wave, latest_wave, wave_col="wave", by="segment",
                 churn="churned_before_wave", weight=None, observed=None, latest=None, conf=0.95, rule=None):
    """Survivorship check: could the rise come from detractors leaving rather than improving?

    Later waves are drawn from the customers who are still customers.  If detractors leave more
    often, a later sample holds fewer of them even when nobody's experience changed.  The check
    uses the base wave's respondents and their churn record:

    1. *Do detractors leave faster?*  The share of base-wave respondents who had churned by the
       latest wave, by NPS group, and the test detractors vs promoters.
    2. *How much can churn move the metric?*  The base-wave estimate among those still customers
       at the latest wave against all base-wave respondents, decomposed like an observed change
       (:class:`MixDecomposition`) into a mix part (churn changes the segment mix only through
       different churn rates) and a like-for-like part.  Stayers are a subset of the base wave;
       the SEs allow for that overlap (delta method on disjoint stayer / leaver cells).
    3. *Is the latest wave beyond what churn alone produces?*  Had churn been the only change,
       the latest wave would score what the base wave's stayers scored.  The verdict is the z
       test of the latest wave's estimate against the stayers' (``beyond_churn``; disjoint
       respondents): significantly above -- the rise is more than survivorship (``"unlikely"``);
       otherwise survivorship cannot be ruled out (``"possible"``).  For the mix and the
       like-for-like part separately, the smaller of the churn-implied and the observed rise is
       also given (``explained``, descriptive).

    Parameters
    ----------
    linked : pandas.DataFrame
        Respondents linked to O-data (:func:`link_odata`), with ``wave_col``, ``by``, ``score``
        and ``churn`` (the first wave in which the customer had left; NaN if still a customer).
    score : str, default "nps"
    base_wave, latest_wave : int
    wave_col, by, churn : str
    weight : str, array-like or None
    observed : MixDecomposition or None
        The observed decomposition base -> latest (for the verdict).
    latest : tuple of float or None
        ``(estimate, se)`` of the latest wave as the report shows it (all its respondents);
        None: estimated from the linked respondents of the latest wave.
    conf, rule
        As elsewhere.

    Returns
    -------
    SurvivorshipCheck
    """
    rule = sv.get_rule(rule)
    alpha = _alpha(conf)
    sv.check_columns(linked, [wave_col, by, score, churn], "survivorship")
    if weight is not None and not isinstance(weight, str):
        linked = linked.assign(_sw=np.asarray(weight, dtype=float))
        weight = "_sw"
    in_base = linked[wave_col].to_numpy() == base_wave
    if not in_base.any():
        raise DataError(f"no linked respondents in base wave {base_wave}; the survivorship check needs O-data "
                        "for the base wave's respondents.")
    ch = pd.to_numeric(linked[churn], errors="coerce").to_numpy()
    left = (~np.isnan(ch)) & (ch <= latest_wave)
    # every linked respondent stays in the design; the base wave is a domain of it
    base = linked.assign(_left=np.where(in_base, left.astype(float), np.nan),
                         _stay=pd.array(np.where(in_base, np.where(left, "left", "stayed"), None), dtype=object),
                         nps_group=nps_group(linked, score))
    churn_tab = metrics.mean_score(base, "_left", weight=weight, by="nps_group", conf=conf, rule=rule)
    churn_tab = churn_tab.rename(columns={"mean": "est"})
    churn_tab["nps_group"] = churn_tab["nps_group"].astype(str)
    cmp = metrics.compare(base, "_left", metric="mean_score", between="nps_group", reference="promoter",
                          weight=weight, conf=conf, rule=rule)
    det = cmp[cmp["nps_group"].astype(str) == "detractor"]
    keys = ("diff", "se", "z", "p_val", "ci_low", "ci_high", "base_flag")
    churn_test = {k: (det.iloc[0][k] if len(det) else np.nan) for k in keys}
    # churn-implied change: all base respondents -> stayers
    metric = "nps"
    c = _w.cells(base, score, metric, ["_stay", by], weight=weight)
    labels = [lv for lv in _level_order(base[by]) if lv in set(c.keys[by])]
    g_all = _w.group_of(c, by, labels)
    stay_labels = [lv for lv in labels if ((c.keys["_stay"] == "stayed") & (c.keys[by] == lv)).any()]
    g_stay = _w.group_of(c, by, stay_labels, _stay="stayed")
    if stay_labels != labels:
        raise DataError(f"segment(s) {sv.show_values([lv for lv in labels if lv not in stay_labels])} have no "
                        f"base-wave respondents left at wave {latest_wave}; merge segments.")
    effect = _w.contrast_frame(c, g_all, g_stay, conf)
    s_all, N_all, _ = g_all.values(c)
    s_stay, N_stay, _ = g_stay.values(c)
    # the stayers' estimate and its SE (a domain of the linked design)
    gW, gm = _w.zeros(c)
    g_stay.chain(c, N_stay, s_stay, gW, gm)
    est_stay, se_stay = float(s_stay @ N_stay), math.sqrt(max(c.var(gW, gm), 0.0))
    if latest is None:
        now = linked[linked[wave_col].to_numpy() == latest_wave]
        if len(now):
            e = _w.estimates(now, score, metric, weight=weight, conf=conf, rule=rule).iloc[0]
            latest = (float(e["est"]), float(e["se"]))
    beyond = {}
    if latest is not None and np.isfinite(latest[0]) and np.isfinite(latest[1]):
        from scipy import stats

        zc = sv.conf_quantile(conf)
        d_est = float(latest[0]) - est_stay
        d_se = math.hypot(float(latest[1]), se_stay)
        zval = d_est / d_se if d_se > 0 else np.nan
        beyond = {"est_latest": float(latest[0]), "se_latest": float(latest[1]), "est_stayed": est_stay,
                  "se_stayed": se_stay, "diff": d_est, "se": d_se, "z": zval,
                  "p_val": float(2 * stats.norm.sf(abs(zval))) if np.isfinite(zval) else np.nan,
                  "ci_low": d_est - zc * d_se, "ci_high": d_est + zc * d_se}
    shares = pd.DataFrame({"segment": labels, "share_all": s_all, "share_stayed": s_stay})
    obs = {}
    explained = np.nan
    if observed is not None:
        seg = observed.segments.set_index(observed.by)
        shares["share_latest"] = [float(seg["share_target"].get(lv, np.nan)) for lv in labels]
        for name in ("total", "mix_mid", "rate_mid"):
            row = observed.component(name)
            obs[name] = float(row["est"])
            obs[name + "_p"] = float(row["p_val"])
        explained = 0.0
        for name in ("mix_mid", "rate_mid"):
            o = obs[name]
            e = float(effect.loc[effect["component"] == name, "est"].iloc[0])
            if o > 0 and e > 0:
                explained += min(o, e)
    # verdict
    total = obs.get("total", np.nan)
    p_gap = churn_test["p_val"]
    gap_sig = bool(np.isfinite(p_gap) and p_gap < alpha and churn_test["diff"] > 0)
    if observed is None:
        verdict = "possible" if gap_sig else "no_churn_gap"
    elif not total > 0:
        verdict = "no_rise"
    elif not gap_sig:
        verdict = "no_churn_gap"
    elif beyond and np.isfinite(beyond["p_val"]) and beyond["p_val"] < alpha and beyond["diff"] > 0:
        verdict = "unlikely"
    else:
        verdict = "possible"
    return SurvivorshipCheck(base_wave=int(base_wave), latest_wave=int(latest_wave), churn=churn_tab,
                             churn_test=churn_test, est_all=float(s_all @ N_all),
                             est_stayed=float(s_stay @ N_stay), shares=shares, churn_effect=effect,
                             observed=obs, explained=float(explained), verdict=verdict, conf=conf,
                             beyond_churn=beyond)


# --------------------------------------------------------------------------------------------
# closed loop
# --------------------------------------------------------------------------------------------
def followup_columns(codebook, dataset=None, *, score="nps"):
    """Which columns a follow-up list holds, from the codebook.

    ``id_col``: the dataset's id (None when it has none or a composite key); ``verbatim``: its
    first free-text question that is not personal data (None when there is none); ``extra``:
    its other id columns (e.g. a customer id for the CRM team) and its personal-data columns
    (masked in the list).

    Parameters
    ----------
    codebook : Codebook, str or Path
    dataset : str or None
        The dataset (None: the first that lists ``score``).
    score : str

    Returns
    -------
    dict
        ``{"id_col", "verbatim", "extra", "region"}``; ``region`` is the column that says where
        the customer is, so the list can be routed to the regional team: the dataset's
        ``region`` role when the codebook defines that role, else its categorical question
        named ``region``, else None.

    Examples
    --------
    >>> from workbench import waves
    >>> waves.followup_columns("demo", "tracking")
    {'id_col': 'resp_id', 'verbatim': 'verbatim', 'extra': ['customer_id', 'email'], 'region': 'region'}
    """
    from workbench.codebook import load_codebook

    cb = load_codebook(codebook)
    if dataset is None:
        found = cb.datasets_with([score])
        if not found:
            return {"id_col": None, "verbatim": None, "extra": [], "region": None}
        dataset = found[0]
    ds = cb.dataset(dataset)
    known = cb.all_questions()
    cols = [c for c in ds.columns if c in known]
    ids = ds.id_columns
    id_col = ids[0] if len(ids) == 1 else None
    pii = set(cb.pii_columns(dataset))
    verbatim = next((c for c in cols if known[c].type == "text" and c not in pii), None)
    extra = [c for c in cols if known[c].type == "id" and c != id_col]
    extra += [c for c in cols if c in pii and c not in extra]
    return {"id_col": id_col, "verbatim": verbatim, "extra": extra, "region": _region_column(cb, dataset, cols, pii)}


def _region_column(cb, dataset, cols, pii):
    from workbench.codebook import ROLES

    if "region" in ROLES:
        col = cb.role(dataset, "region")
        if col:
            return col
    q = cb.all_questions().get("region")
    return "region" if "region" in cols and "region" not in pii and q is not None and q.levels else None


#: Days after the end of fieldwork by which a detractor is to be called back, unless a due date is
#: given (:func:`followup_sheet`).
FOLLOWUP_DUE_DAYS = 14
#: Closed-loop columns of the follow-up file, after the list's own columns.
FOLLOWUP_LOOP = ("owner", "status", "due")


_AUTO = "auto"


def followup_list(data, codebook, *, score="nps", threshold=6, id_col=None, columns=("wave",),
                  verbatim=_AUTO, extra=_AUTO, waves=None, wave_col="wave", dataset=None, region=_AUTO,
                  period_col="period"):
    """Detractors to call back: one row per respondent scoring ``threshold`` or below.

    Personal data (columns the codebook marks ``pii: true``, e.g. e-mail) are masked with
    :func:`workbench.io.mask_pii`; an id such as a customer id (not personal data in itself) lets
    the CRM team find the customer.

    Parameters
    ----------
    data : pandas.DataFrame
    codebook : Codebook, str or Path
        For the PII flags (and the columns left as default).
    score : str, default "nps"
    threshold : int, default 6
        Highest score on the list (0-6 = detractors).
    id_col : str or None
        Respondent id (None: the dataset's id from the codebook).
    columns : sequence of str
        Context columns after the id (those present are kept).
    verbatim : str, None or "auto"
        Open-end column (empty answers become ""); "auto": the dataset's first free-text
        question that is not personal data (:func:`followup_columns`).
    extra : sequence of str or "auto"
        Further columns, e.g. a customer id and e-mail (masked if PII); "auto": the dataset's
        other ids and its personal-data columns.
    waves : int, list or None
        Only these waves (None = all).
    wave_col : str
    dataset : str or None
        The codebook dataset of ``data`` (for the defaults).
    region : str, None or "auto"
        The column saying where the customer is (routes the call to a regional team), placed
        after the context columns; "auto": the codebook's (:func:`followup_columns`).
    period_col : str or None
        The fieldwork period of each row (``2026-06``, a date...): the end of the latest period
        on the list is kept as ``attrs["fieldwork_end"]`` (ISO date; None when the data have no
        readable period), from which :func:`followup_sheet` sets the due date.

    Returns
    -------
    pandas.DataFrame
        Sorted by score (lowest first), then id; RangeIndex.  ``attrs``: ``id_col``, ``score``,
        ``verbatim``, ``region``, ``fieldwork_end``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"resp_id": ["a", "b"], "nps": [3, 9], "email": ["a@x.org", "b@x.org"]})
    >>> waves.followup_list(df, "demo", columns=(), verbatim=None)[["resp_id", "nps", "email"]].values.tolist()
    [['a', 3.0, '***']]
    """
    from workbench.io import mask_pii

    if id_col is None or verbatim == _AUTO or (isinstance(extra, str) and extra == _AUTO) or region == _AUTO:
        auto = followup_columns(codebook, dataset, score=score)
        id_col = auto["id_col"] if id_col is None else id_col
        verbatim = auto["verbatim"] if verbatim == _AUTO else verbatim
        extra = auto["extra"] if isinstance(extra, str) and extra == _AUTO else extra
        region = auto["region"] if region == _AUTO else region
    if id_col is None:
        raise DataError("the follow-up list needs a respondent id, but the dataset has no single id column.")
    sv.check_columns(data, [id_col, score], "follow-up")
    y = sv.float_column(data, score, "score")
    sel = (~np.isnan(y)) & (y <= threshold)
    if waves is not None:
        wl = [waves] if np.isscalar(waves) else list(waves)
        sel &= data[wave_col].isin(wl).to_numpy()
    cols = [id_col] + [c for c in columns if c in data.columns and c != id_col]
    if region is not None and region in data.columns and region not in cols:
        cols.append(region)
    cols.append(score)
    if verbatim is not None and verbatim in data.columns:
        cols.append(verbatim)
    cols += [c for c in extra if c in data.columns and c not in cols]
    out = data.loc[sel, cols].copy()
    out[score] = y[sel]
    if verbatim is not None and verbatim in out.columns:
        out[verbatim] = out[verbatim].fillna("").astype(str).str.strip()
    out = mask_pii(out, codebook)
    out = out.sort_values([score, id_col], kind="stable").reset_index(drop=True)
    out.attrs.update({"id_col": id_col, "score": score, "verbatim": verbatim if verbatim in out.columns else None,
                      "region": region if region in out.columns else None,
                      "fieldwork_end": _fieldwork_end(data.loc[sel, period_col]) if period_col in data.columns
                      else None})
    return out


def followup_summary(frame, *, by=None, low=3):
    """How many detractors a follow-up list holds, per group of ``by`` and in all.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`followup_list` (its ``attrs`` name the score and verbatim columns).
    by : str or None
        Group column (rows in codebook order of the list's values, sorted); None or absent: the
        total only.
    low : int, default 3
        Scores up to ``low`` are counted apart (the most unhappy customers).

    Returns
    -------
    pandas.DataFrame
        ``group`` (the level; None on the total row), ``total`` (bool), ``n``, ``n_low`` and
        ``with_verbatim`` (share of the rows with a verbatim; NaN without a verbatim column or
        rows).
    """
    score = frame.attrs.get("score") or "nps"
    verbatim = frame.attrs.get("verbatim")
    has = (frame[verbatim].astype(str).str.len() > 0) if verbatim is not None and verbatim in frame.columns \
        else None

    def row(sub, group, total):
        share = float(has.loc[sub.index].mean()) if has is not None and len(sub) else np.nan
        return {"group": group, "total": total, "n": int(len(sub)), "n_low": int((sub[score] <= low).sum()),
                "with_verbatim": share}

    rows = []
    if by and by in frame.columns:
        rows = [row(grp, lv, False) for lv, grp in frame.groupby(by, sort=True)]
    rows.append(row(frame, None, True))
    out = pd.DataFrame(rows, columns=["group", "total", "n", "n_low", "with_verbatim"])
    out.attrs.update({"by": by, "low": low, "has_verbatim": has is not None,
                      "n_verbatim": int(has.sum()) if has is not None else 0})
    return out


def _fieldwork_end(periods):
    """The last day of the latest period (``2026-06`` -> ``2026-06-30``; a date is its own day),
    as an ISO date string; None when no value reads as a period or date."""
    ends = []
    for value in pd.unique(periods.dropna()):
        try:
            if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
                ends.append(pd.Timestamp(value).normalize())
            else:
                ends.append(pd.Period(str(value).strip()).end_time.normalize())
        except (ValueError, TypeError, OverflowError):
            continue
    return max(ends).date().isoformat() if ends else None


def followup_sheet(frame, codebook, *, lang=None, owner="", status="open", due=None,
                   due_days=FOLLOWUP_DUE_DAYS):
    """The follow-up list as the team that calls customers back reads it.

    Personal data masked again; categories shown by their labels in ``lang`` (no internal
    codes); scores as whole numbers and other numbers rounded to two decimals; headers are the
    codebook's labels (or the workbench's words) in ``lang``; and three closed-loop columns are
    added for the team to fill: **owner** (``owner``, empty by default: assigned by the team),
    **status** (``status``, ``"open"`` by default, shown in ``lang``) and **due date**.

    The due date is ``due`` when given (a date or ISO date text), else the end of fieldwork of
    the list's latest period (``frame.attrs["fieldwork_end"]``, :func:`followup_list`) plus
    ``due_days`` days (default :data:`FOLLOWUP_DUE_DAYS` = 14: a fortnight after the wave's
    fieldwork ends); empty when neither is known.  The region, when the study has one, is a
    column of the list itself (:func:`followup_columns`).

    ``lang`` None: the language of the report the list was made for (``frame.attrs["lang"]``,
    set by :func:`analyze`), else English.

    Returns
    -------
    pandas.DataFrame
        Localised headers; column order: the list's columns, then owner, status, due date.
    """
    from workbench.codebook import load_codebook
    from workbench.io import mask_pii

    cb = load_codebook(codebook)
    if isinstance(due_days, bool) or not isinstance(due_days, (int, np.integer)) or not 0 <= due_days <= 3660:
        raise ParamsError(f"`due_days` must be a whole number of days (0 to 3660), but {due_days!r} was passed.")
    out = mask_pii(frame, cb).copy()
    attrs = dict(frame.attrs)
    lang = lang or attrs.get("lang") or "en"
    score = attrs.get("score")
    questions = cb.all_questions()
    headers = {}
    for c in out.columns:
        q = questions.get(c)
        col = out[c]
        if q is not None and q.levels and not q.is_scale and not q.pii:
            out[c] = [v if _missing(v) else cb.level_label(c, v, lang) for v in col]
        elif pd.api.types.is_bool_dtype(col):
            pass
        elif pd.api.types.is_numeric_dtype(col):
            vals = col.astype(float)
            whole = vals.dropna().apply(float.is_integer).all()
            out[c] = vals.round().astype("Int64") if (whole or c == score) else vals.round(2)
        # a column the codebook does not know keeps its name (columns added for the reader, such as
        # the themes of verbatims.followup_themes, are named in the report's language already)
        headers[c] = cb.label(c, lang) if c in cb else str(c)
    if due is None:
        end = attrs.get("fieldwork_end")
        due_date = (pd.Timestamp(end) + pd.Timedelta(days=int(due_days))).date().isoformat() if end else ""
    else:
        try:
            due_date = pd.Timestamp(due).date().isoformat()
        except (ValueError, TypeError):
            raise ParamsError(f"`due` must be a date (YYYY-MM-DD), but {due!r} was passed.") from None
    status_key = f"waves.followup.status.{status}"
    loop = {"owner": str(owner or ""), "status": t(status_key, lang) if status_key in _i18n_keys() else str(status),
            "due": due_date}
    for name in FOLLOWUP_LOOP:
        col = f"_{name}"
        out[col] = loop[name]
        headers[col] = t(f"waves.followup.col.{name}", lang)
    out = out.rename(columns=headers)
    if out.columns.duplicated().any():  # two labels alike: keep both, told apart by their column names
        out.columns = [f"{h} ({c.lstrip('_')})" if list(headers.values()).count(h) > 1 else h
                       for c, h in headers.items()]
    return out


def _missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _i18n_keys():
    from workbench.i18n import strings

    return strings()


def write_followup(frame, path, codebook, *, lang=None, owner="", status="open", due=None,
                   due_days=FOLLOWUP_DUE_DAYS):
    """Write a follow-up list atomically (CSV, parquet or xlsx by extension) as
    :func:`followup_sheet` makes it: PII masked again, labels and headers in ``lang``, numbers
    rounded, and the closed-loop columns owner, status and due date.

    Parameters
    ----------
    frame : pandas.DataFrame or None
        :func:`followup_list` (themes may be added, :func:`workbench.verbatims.followup_themes`).
    path : str or Path
    codebook : Codebook, str or Path
    lang : {"en", "zh"} or None
        Language of the headers, labels and status: the report's language (None: the language
        :func:`analyze` was given, kept in ``frame.attrs``, else English).
    owner, status, due, due_days
        The closed-loop columns (:func:`followup_sheet`).

    Returns
    -------
    pathlib.Path or None
        None when there is no list (``frame`` None: the study has no NPS question or no id).
    """
    from workbench.io import atomic_write_frame

    if frame is None:
        return None
    csv = Path(path).suffix.lower() == ".csv"  # for people: with the byte-order mark spreadsheets need
    return atomic_write_frame(followup_sheet(frame, codebook, lang=lang, owner=owner, status=status, due=due,
                                             due_days=due_days), path, **({"encoding": "utf-8-sig"} if csv else {}))


def weighting_sensitivity(data, weights, *, score="nps", base_wave, wave, metric="nps", wave_col="wave",
                          ref_wave=None, conf=0.95, rule=None, **options):
    """The change between two waves under several weightings (e.g. design and raked).

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents to describe (e.g. our brand).
    weights : dict
        ``{name: weights}`` aligned to ``data`` (Series with ``data``'s index, or arrays).
    score, metric, conf, rule, **options
        As in :func:`trend`.
    base_wave, wave : int
        The change is ``wave`` minus ``base_wave`` (none when they are the same wave).
    wave_col : str
    ref_wave : int or None
        A second comparison wave (e.g. the previous wave): adds ``est_ref, diff_ref, se_ref,
        p_ref, sig_ref``.

    Returns
    -------
    pandas.DataFrame
        One row per weighting: ``weighting, est_base, est, diff, se, p_val, sig, n_eff``
        (``n_eff`` of ``wave``), and the ``*_ref`` columns with ``ref_wave``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import waves
    >>> df = pd.DataFrame({"wave": [1] * 4 + [2] * 4, "ltr": [10, 9, 3, 8, 10, 10, 9, 2]})
    >>> waves.weighting_sensitivity(df, {"none": [1.0] * 8}, score="ltr", base_wave=1, wave=2)["diff"].tolist()
    [25.0]
    """
    rows = []
    for name, w in weights.items():
        wv = np.asarray(w.reindex(data.index) if isinstance(w, pd.Series) else w, dtype=float)
        tr = trend(data, score, metric=metric, wave_col=wave_col, period_col=None, weight=wv,
                   compare_to=int(base_wave), conf=conf, rule=rule, **options)
        hit = tr[tr[wave_col] == wave]
        base_hit = tr[tr[wave_col] == base_wave]
        if not len(hit) or not len(base_hit):
            raise DataError(f"waves {base_wave} and {wave} must both be in the data.")
        r = hit.iloc[0]
        row = {"weighting": name, "est_base": float(base_hit["est"].iloc[0]), "est": float(r["est"]),
               "diff": float(r["diff"]), "se": float(r["diff_se"]), "p_val": float(r["p_val"]),
               "sig": r["sig"], "n_eff": float(r["n_eff"])}
        if ref_wave is not None:
            tr2 = trend(data, score, metric=metric, wave_col=wave_col, period_col=None, weight=wv,
                        compare_to=int(ref_wave), conf=conf, rule=rule, **options)
            r2 = tr2[tr2[wave_col] == wave].iloc[0]
            row.update({"est_ref": float(r2["est_ref"]), "diff_ref": float(r2["diff"]), "se_ref": float(r2["diff_se"]),
                        "p_ref": float(r2["p_val"]), "sig_ref": r2["sig"]})
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# a study's inputs
# --------------------------------------------------------------------------------------------
def tracking_dataset(codebook):
    """The first dataset of the codebook with a wave role (None when no dataset has waves).

    Examples
    --------
    >>> from workbench import waves
    >>> waves.tracking_dataset("demo")
    'tracking'
    """
    from workbench.codebook import load_codebook

    cb = load_codebook(codebook)
    return next((name for name in cb.datasets if cb.role(name, "wave")), None)


@dataclass(frozen=True)
class WaveInputs:
    """The data of a wave report: tracking data, O-data (or None), the weights and the columns
    playing each role.

    ``columns`` holds the keyword arguments of :func:`analyze` that describe the data
    (``dataset, wave_col, period_col, brand_col, customer_id``), so a notebook passes them on
    with ``**inputs.columns``.
    """

    tracking: pd.DataFrame
    odata: pd.DataFrame | None
    weights: WaveWeights
    columns: dict = field(default_factory=dict)
    margins_file: str | None = None


def load_inputs(ctx, *, dataset=None, margins="", method="design", our_brand="", trim_upper=None):
    """Read a study's tracking data (and O-data) and make the weights (for the wave notebook).

    Columns come from the codebook's roles of ``dataset`` (wave, period, brand, weight); a role
    played by a column of another name is read under the role's name (``ctx.data``).  O-data are
    read when the codebook has an ``odata`` dataset whose id column is also a column of the
    tracking data (the linkage key).

    Parameters
    ----------
    ctx : workbench.report.Context
        The notebook's context (``ctx.data``, ``ctx.data_dir``, ``ctx.codebook``).
    dataset : str or None
        The codebook dataset with the waves (None: the first with a wave role).
    margins : str
        Margins file name in the study's data folder (or an absolute path); "" = none.
    method : {"design", "raked", "none"}
    our_brand : str
        Only our brand's respondents are raked (the margins describe our customers); "" = the
        whole sample.
    trim_upper : float or None

    Returns
    -------
    WaveInputs

    Raises
    ------
    ParamsError
        The dataset has no wave column; ``weighting`` raked without ``margins``, design without
        a weight column; ``our_brand`` set for a dataset without brands.
    """
    cb = ctx.codebook
    dataset = dataset or tracking_dataset(cb)
    if dataset not in cb.datasets:
        raise ParamsError(f"`dataset` {dataset!r} is not in codebook {cb.source}; datasets: "
                          f"{sv.show_values(list(cb.datasets), 12)}.")
    if not cb.role(dataset, "wave"):
        with_waves = [n for n in cb.datasets if cb.role(n, "wave")]
        raise ParamsError(f"`dataset` {dataset!r} has no wave column (no wave role in codebook {cb.source}); "
                          + (f"datasets with waves: {sv.show_values(with_waves)}." if with_waves
                             else "a wave report needs a dataset with waves."))
    if method not in WEIGHTINGS:
        raise ParamsError(f"`weighting` must be one of {sv.show_values(WEIGHTINGS)}, but {method!r} was passed.")
    if method == "raked" and not margins:
        raise ParamsError("`weighting` is 'raked' but `margins` is empty; name the population margins file "
                          "in the data folder (margins: margins.yaml) or use weighting: design or none.")
    weight_col = cb.role(dataset, "weight")
    if method == "design" and not weight_col:
        raise ParamsError(f"`weighting` is 'design' but dataset {dataset!r} has no weight column; use "
                          "weighting: none (unweighted), or raked with `margins`.")
    brand_col = "brand" if cb.role(dataset, "brand") else None
    if our_brand and brand_col is None:
        raise ParamsError(f"`our_brand` is {our_brand!r} but dataset {dataset!r} has no brand column; "
                          "leave our_brand empty to report on the whole sample.")
    tracking = ctx.data(dataset)
    period_col = "period" if cb.role(dataset, "period") and "period" in tracking.columns else None
    odata = key = None
    if "odata" in cb.datasets:
        ids = cb.dataset("odata").id_columns
        if len(ids) == 1 and ids[0] in tracking.columns:
            key = ids[0]
            odata = ctx.data("odata")
    path = None
    if margins:
        path = Path(margins)
        if not path.is_absolute():
            path = Path(ctx.data_dir) / path
    rows = tracking[brand_col].astype(str).eq(our_brand).to_numpy() if our_brand else None
    try:
        ww = wave_weights(tracking, path, method=method, base_weight=weight_col, rows=rows,
                          trim_upper=trim_upper or None)
    except (DataError, ParamsError) as exc:
        if method == "raked" or path is None:
            raise
        # the comparison raking of the appendix failed: report with the starting weights, say why
        ww = wave_weights(tracking, None, method=method, base_weight=weight_col, rows=rows)
        ww = dataclasses.replace(ww, problem=str(exc))
    columns = {"dataset": dataset, "wave_col": "wave", "period_col": period_col, "brand_col": brand_col or "brand",
               "customer_id": key}
    return WaveInputs(tracking=tracking, odata=odata, weights=ww, columns=columns,
                      margins_file=path.name if path is not None else None)


# --------------------------------------------------------------------------------------------
# the whole analysis
# --------------------------------------------------------------------------------------------
#: Keys of a KPI spec that are not options of the metric.
_SPEC_KEYS = ("kpi", "score", "metric", "scale")
#: O-data outcomes the X+O section describes (those present), and the churn record of the
#: survivorship check.
XO_OUTCOMES = ("retained_6m", "spend_6m", "tickets_6m")
CHURN_COL = "churned_before_wave"


def _opts(spec):
    return {k: v for k, v in spec.items() if k not in _SPEC_KEYS}


def kpi_specs(codebook, dataset=None):
    """The KPIs of a tracking report, from the codebook.

    The dataset's NPS (``nps``-type) question first, then its rating (``likert``) questions that
    are not items of a construct, in the dataset's column order.  A rating question with
    ``top_box`` is reported as its top-box share (that many top points of its own scale), one
    without as its mean on its scale.

    Parameters
    ----------
    codebook : Codebook, str or Path
    dataset : str or None
        The tracking dataset (None: the first dataset with a wave role).

    Returns
    -------
    list of dict
        ``{"kpi", "score", "metric", "scale": (min, max), **options}`` for :func:`analyze`.

    Examples
    --------
    >>> from workbench import waves
    >>> [(k["kpi"], k["metric"]) for k in waves.kpi_specs("demo")]
    [('nps', 'nps'), ('csat', 'top_box'), ('ces', 'mean_score')]
    """
    from workbench.codebook import load_codebook

    cb = load_codebook(codebook)
    dataset = dataset or tracking_dataset(cb)
    if dataset is None:
        raise ParamsError(f"codebook {cb.source} has no dataset with waves.")
    items = {i for its in cb.construct_items().values() for i in its}
    cols = [c for c in cb.dataset(dataset).columns if c in cb.questions and c not in items]
    specs = []
    for c in cols:
        q = cb.questions[c]
        if q.type == "nps" and not any(s["metric"] == "nps" for s in specs):
            specs.insert(0, {"kpi": c, "score": c, "metric": "nps", "scale": (q.min, q.max)})
    for c in cols:
        q = cb.questions[c]
        if q.type != "likert":
            continue
        if q.top_box:
            specs.append({"kpi": c, "score": c, "metric": "top_box", "top": int(q.top_box),
                          "scale_max": q.max, "scale": (q.min, q.max)})
        else:
            specs.append({"kpi": c, "score": c, "metric": "mean_score", "scale": (q.min, q.max)})
    return specs


class Unavailable(Exception):
    """A report section (or part) that this study's data cannot fill.

    ``key`` is the label of the note the report shows in its language (None: show nothing, a
    note elsewhere says it); ``fields`` fill the label (wave numbers, column names, a reason).
    """

    def __init__(self, key=None, **fields):
        super().__init__(key or "")
        self.key = key
        self.fields = fields


#: Sections of the wave report, in report order.
SECTIONS = ("fieldwork", "trend", "kpis", "segments", "mix", "mix_waterfall", "benchmark", "benchmark_std",
            "benchmark_trend", "xo", "xo_segments", "survivorship", "followup")


@dataclass(frozen=True)
class WaveAnalysis:
    """Everything a wave report shows (built by :func:`analyze`).

    Attributes
    ----------
    wave, ref_wave, base_wave : int (ref_wave may be None)
        The report's wave, the wave it is compared with, and the wave the trend change and its
        mix decomposition start from.
    waves : list of int
        The waves up to the report's wave (one: the report's wave is the first).
    periods : dict
        ``{wave: period}`` (empty when the data have no period).
    compare_to : str
        The comparison actually used (``"previous"`` when a year-ago wave was asked for but is
        not in the data; see ``compare_requested``).
    compare_requested : str
    year_ago_wave : int or None
    our_brand, competitors, mix_by, weighting, conf, fdr, rule
        Settings (``our_brand`` "": no brands, the whole sample is reported; ``mix_by`` "": no
        segment analysis).
    headline : dict
        The KPI spec of the headline metric: the NPS question, else the first KPI.
    kpi_specs : list of dict
        Every KPI (:func:`kpi_specs`), the headline among them.
    kpis : pandas.DataFrame
        :func:`trend` of every KPI for our brand, with a ``kpi`` column first.
    kpi_changes : pandas.DataFrame
        The report's wave of every KPI against the year-ago wave and the base wave (beside the
        reference wave, which ``kpis`` tests): ``kpi, vs ("year_ago" / "base"), wave, est,
        est_ref, diff, se, z, p_val, ci_low, ci_high, base_flag, sig`` (:func:`metrics.diff_test`
        on effective bases; ``sig`` ``"up"`` / ``"down"`` / ``""``).  Empty when there is no
        such wave.
    trend : pandas.DataFrame
        The headline metric of our brand per wave with :func:`control_limits`.
    change : dict
        Latest against the base wave: ``est, est_ref, diff, se, p_val, sig`` ... (empty when
        they are the same wave).
    segments : pandas.DataFrame or None
        Headline trend by segment (our brand).
    segment_rest : pandas.DataFrame or None
        Latest wave: each segment against the rest.
    standardized : pandas.DataFrame or None
        Crude and mix-standardised headline metric per wave.
    decomposition : MixDecomposition or None
        Base wave -> latest wave.
    decomposition_ref : MixDecomposition or None
        Reference wave -> latest wave.
    benchmark : pandas.DataFrame or None
        Latest wave, our brand and competitors.
    benchmark_trend : pandas.DataFrame or None
        Headline metric per brand and wave (:func:`trend` by brand, wave-on-wave tests).
    xo, xo_tests, xo_segments, survivorship, link
        X+O results (None without O-data); ``link`` = ``{"respondents", "with_id", "linked"}``.
    followup : pandas.DataFrame or None
        Detractor follow-up list of the latest wave (PII masked).
    followup_summary : pandas.DataFrame or None
        :func:`followup_summary` of ``followup`` by ``mix_by``.
    reference_mix : dict
        The shares of the standardisation (``reference_mix_spec`` = what was asked).
    control_centre, control_k
        Settings of :func:`control_limits`.
    fieldwork : Fieldwork or None
        The sample's mix against the population targets per wave and brand (None without
        targets).
    mix_tolerance : float
        Largest difference of shares from a target still on target (0.05 = 5 points).
    targets : dict or None
        The population targets ``{column: {level: share}}`` (the margins file), None without.
    weighting_base : str
        The starting weights: ``"design"`` or ``"none"`` (all 1).
    sensitivity : pandas.DataFrame or None
        :func:`weighting_sensitivity` of the headline metric, starting and raked weights (base
        and reference wave); None without raking.
    design_decomposition : MixDecomposition or None
        Base -> latest wave on the starting weights, when the report's weights are raked and
        hold the ``mix_by`` mix at its targets (what the sample's drift did to unraked figures).
    brand_mix : pandas.DataFrame or None
        :func:`brand_mix` of the report's wave by ``mix_by`` (the report's weights).
    benchmark_std : pandas.DataFrame or None
        :func:`benchmark_standardized`: every brand at one mix by ``mix_by`` (the target mix
        when the targets hold it, else our brand's).
    unavailable : dict
        ``{section: (label key or None, fields)}`` for the sections of :data:`SECTIONS` this
        study cannot fill (no brands, one wave, no NPS question, ...) or whose computation failed
        (``waves.msg.failed`` with the reason).  :meth:`need` raises :class:`Unavailable` for them.
    """

    wave: int
    ref_wave: int | None
    base_wave: int
    periods: dict
    compare_to: str
    compare_requested: str
    year_ago_wave: int | None
    our_brand: str
    competitors: list
    mix_by: str
    weighting: str
    conf: float
    fdr: bool
    rule: object
    kpis: pd.DataFrame
    trend: pd.DataFrame
    change: dict
    segments: pd.DataFrame | None = None
    segment_rest: pd.DataFrame | None = None
    standardized: pd.DataFrame | None = None
    decomposition: MixDecomposition | None = None
    decomposition_ref: MixDecomposition | None = None
    benchmark: pd.DataFrame | None = None
    benchmark_trend: pd.DataFrame | None = None
    xo: pd.DataFrame | None = None
    xo_tests: pd.DataFrame | None = None
    xo_segments: pd.DataFrame | None = None
    survivorship: SurvivorshipCheck | None = None
    link: dict | None = None
    followup: pd.DataFrame | None = None
    reference_mix: dict = field(default_factory=dict)
    reference_mix_spec: object = "first"
    control_centre: str = "previous"
    control_k: int = 3
    headline: dict = field(default_factory=lambda: {"kpi": "nps", "score": "nps", "metric": "nps"})
    kpi_specs: list = field(default_factory=list)
    waves: list = field(default_factory=list)
    unavailable: dict = field(default_factory=dict)
    fieldwork: Fieldwork | None = None
    mix_tolerance: float = 0.05
    targets: dict | None = None
    weighting_base: str = "design"
    sensitivity: pd.DataFrame | None = None
    design_decomposition: MixDecomposition | None = None
    brand_mix: pd.DataFrame | None = None
    benchmark_std: pd.DataFrame | None = None
    kpi_changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=KPI_CHANGE_COLUMNS))
    followup_summary: pd.DataFrame | None = None

    @property
    def has_targets(self) -> bool:
        """Population targets exist (a margins file): the report can be population-representative."""
        return bool(self.targets)

    @property
    def mix_held(self) -> bool:
        """The report's weights are raked to targets that include the ``mix_by`` column, so
        every wave's mix by it is held at its target."""
        return self.weighting == "raked" and bool(self.mix_by) and self.mix_by in (self.targets or {})

    @property
    def brands_differ(self) -> list:
        """Competitors whose mix by ``mix_by`` differs from ours by more than ``mix_tolerance``
        in some group (report's wave, report's weights)."""
        bm = self.brand_mix
        if bm is None or not len(bm):
            return []
        off = bm[(bm["brand"] != self.our_brand) & (bm["diff"].abs() > self.mix_tolerance + 1e-12)]
        return list(dict.fromkeys(off["brand"]))

    @property
    def brands(self) -> bool:
        """Whether the report is about one brand among others (else: the whole sample)."""
        return bool(self.our_brand)

    @property
    def first_wave(self) -> bool:
        """The report's wave is the first: no change, trend or control limits to speak of."""
        return len(self.waves) <= 1

    @property
    def has_nps(self) -> bool:
        """The headline metric is an NPS."""
        return self.headline.get("metric") == "nps"

    def period(self, wave):
        """The period text of a wave (or the wave number as text)."""
        return self.periods.get(wave, str(wave)) if wave is not None else ""

    def kpi(self, name, wave=None):
        """The row of KPI ``name`` at ``wave`` (default: the report's wave) as a dict."""
        wave = self.wave if wave is None else wave
        hit = self.kpis[(self.kpis["kpi"] == name) & (self.kpis["wave"] == wave)]
        return hit.iloc[0].to_dict() if len(hit) else {}

    def kpi_change(self, name, vs):
        """The test of KPI ``name`` in the report's wave against the ``vs`` wave (``"year_ago"`` or
        ``"base"``) as a dict (empty when there is no such comparison)."""
        kc = self.kpi_changes
        hit = kc[(kc["kpi"] == name) & (kc["vs"] == vs)] if len(kc) else kc
        return hit.iloc[0].to_dict() if len(hit) else {}

    def spec(self, name):
        """The KPI spec of ``name`` (``{"kpi", "score", "metric", ...}``)."""
        return next((s for s in self.kpi_specs if s["kpi"] == name), self.headline if name == self.headline["kpi"]
                    else {"kpi": name, "score": name, "metric": "mean_score"})

    def need(self, section):
        """Raise :class:`Unavailable` when ``section`` cannot be shown for this study."""
        if section in self.unavailable:
            key, fields = self.unavailable[section]
            raise Unavailable(key, **fields)


#: Columns of :attr:`WaveAnalysis.kpi_changes`.
KPI_CHANGE_COLUMNS = ("kpi", "vs", "wave", "est", "est_ref", "diff", "se", "z", "p_val", "ci_low", "ci_high",
                      "base_flag", "sig")


def kpi_changes(kpi_table, wave, others, *, wave_col="wave", conf=0.95, rule=None):
    """Every KPI of ``kpi_table`` (:func:`trend` rows with a ``kpi`` column) in ``wave`` against
    each wave of ``others`` (``{name: wave}``, e.g. ``{"year_ago": 2, "base": 1}``; None or
    ``wave`` itself: skipped): the z test of independent waves on effective bases.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KPI_CHANGE_COLUMNS`.
    """
    rule = sv.get_rule(rule)
    rows = []
    for name, other in others.items():
        if other is None or other == wave:
            continue
        for kpi, d in kpi_table.groupby("kpi", sort=False):
            d = d.set_index(wave_col)
            if wave not in d.index or other not in d.index:
                continue
            cur, ref = d.loc[wave], d.loc[other]
            dt = metrics.diff_test(cur["est"], cur["se"], ref["est"], ref["se"], n_eff1=cur["n_eff"],
                                   n_eff2=ref["n_eff"], conf=conf, rule=rule).iloc[0]
            rows.append({"kpi": kpi, "vs": name, "wave": other, "est": float(cur["est"]),
                         "est_ref": float(ref["est"]), "diff": float(dt["diff"]), "se": float(dt["se"]),
                         "z": float(dt["z"]), "p_val": float(dt["p_val"]), "ci_low": float(dt["ci_low"]),
                         "ci_high": float(dt["ci_high"]), "base_flag": dt["base_flag"],
                         "sig": str(_sig([dt["p_val"]], [dt["diff"]], 1 - conf)[0])})
    return pd.DataFrame(rows, columns=list(KPI_CHANGE_COLUMNS))


def _labeler(codebook, lang):
    if codebook is None:
        return None
    from workbench.codebook import load_codebook

    cb = load_codebook(codebook)

    def label(col, value):
        if col == "wave":
            return t("waves.wave_only", lang, wave=value)
        try:
            return cb.level_label(col, value, lang) if col in cb else str(value)
        except Exception:  # a level the codebook does not list
            return str(value)

    return label


def _failed(exc):
    """The note of a section whose computation failed (the reason is kept for the reader)."""
    warnings.warn(f"wave report section failed: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=3)
    return ("waves.msg.failed", {"detail": str(exc).strip() or type(exc).__name__})


def analyze(data, *, weight, wave="latest", compare_to="previous", trend_from="first", our_brand="",
            competitors=None, brand_col="brand", wave_col="wave", period_col="period", mix_by="",
            reference_mix="first", conf=0.95, fdr=False, rule=None, kpis=None, odata=None,
            customer_id=None, control_centre="previous", control_k=3, codebook=None, dataset=None,
            weighting_label="design", lang="en", weights=None, mix_tolerance=0.05):
    """Run the whole wave analysis for a report.

    The core (the KPIs per wave and the headline trend) must succeed; every other part is
    optional: a part this study cannot fill (no brands, no segment column, one wave, no NPS
    question, no O-data) or whose computation fails is listed in ``unavailable`` with the note
    the report shows instead, and the analysis goes on.

    Parameters
    ----------
    data : pandas.DataFrame
        Tracking data, all brands and waves.
    weight : str, array-like, pandas.Series or None
        Weights (e.g. ``WaveWeights.weight``); None = unweighted.
    wave : "latest" or int
        The report's wave (:func:`resolve_wave`).
    compare_to : {"previous", "year_ago"}
        The comparison of the headline table; ``"year_ago"`` falls back to ``"previous"`` when
        the data have no wave a year earlier (``compare_requested`` keeps what was asked).
    trend_from : "first" or int
        The wave the trend change and its mix decomposition start from.
    our_brand : str
        Our brand's code in ``brand_col``; "" = no brands: the whole sample is reported and
        there is no benchmark.
    competitors : list or None
        Competitors of the benchmark (None: every other brand; []: no benchmark).
    brand_col, wave_col, period_col : str
        ``period_col`` None (or a column not in the data): waves have no period.
    mix_by : str
        Segment column of the segment and mix analysis; "" = none.
    reference_mix : "first", "last", "pooled", int or dict
        Reference structure of the standardised trend.
    conf : float
    fdr : bool
        Benjamini-Hochberg within each table.
    rule : LowBaseRule or None
    kpis : list of dict or None
        :func:`kpi_specs` (default: from ``codebook`` and ``dataset``).
    odata : pandas.DataFrame or None
        Operational data for X+O (linked by ``customer_id``).
    customer_id : str or None
        Linkage key of ``odata`` (None: the codebook's ``odata`` id).
    control_centre : {"previous", "overall"}
    control_k : int
    codebook : Codebook, str or None
        Labels for warnings, KPIs, PII flags and columns of the follow-up list.
    dataset : str or None
        The codebook dataset of ``data`` (None: the first with a wave role).
    weighting_label : str
        How the weights were made (``"design"`` / ``"raked"`` / ``"none"``), for the narrative
        (taken from ``weights`` when given).
    lang : {"en", "zh"}
        Language of the warnings.
    weights : WaveWeights or None
        How ``weight`` was made (:func:`wave_weights`): with population targets, the fieldwork
        check (achieved against target mix, on the starting weights), the headline under the
        starting and the raked weights, and the target mix for the brands' mix-standardised
        comparison.
    mix_tolerance : float, default 0.05
        Largest difference of shares from a target that is still on target (fieldwork drift)
        and between two brands' mixes that is still "alike".

    Returns
    -------
    WaveAnalysis

    Raises
    ------
    ParamsError
        ``our_brand`` or a competitor without respondents, ``mix_by`` not a column, bad
        ``compare_to``.

    Warns
    -----
    LowBaseWarning
        One per table with groups whose effective base is below ``rule.caution``.
    """
    rule = sv.get_rule(rule)
    sv.check_frame(data)
    sv.check_columns(data, [wave_col], "tracking")
    if compare_to not in ("previous", "year_ago"):
        raise ParamsError(f"`compare_to` must be 'previous' or 'year_ago', but {compare_to!r} was passed.")
    cb = None
    if codebook is not None:
        from workbench.codebook import load_codebook

        cb = load_codebook(codebook)
        dataset = dataset or tracking_dataset(cb)
    if period_col is not None and period_col not in data.columns:
        period_col = None
    mix_by = mix_by or ""
    if mix_by and mix_by not in data.columns:
        raise ParamsError(f"`mix_by` column {mix_by!r} is not in the data"
                          + (f" of dataset {dataset!r}" if dataset else "") + ".")
    d = data.assign(_weight=sv.weight_array(data, weight) if weight is not None else 1.0)
    comps = []
    if our_brand:
        if brand_col not in data.columns:
            raise ParamsError(f"`our_brand` is {our_brand!r} but the data have no brand column {brand_col!r}.")
        present_brands = set(d[brand_col].dropna().astype(str))
        if our_brand not in present_brands:
            raise ParamsError(f"`our_brand` {our_brand!r} has no respondents in column {brand_col!r} "
                              f"(brands: {sv.show_values(sorted(present_brands))}).")
        comps = sorted(present_brands - {our_brand}) if competitors is None else \
            [str(c) for c in competitors if str(c) != our_brand]
        unknown = [c for c in comps if c not in present_brands]
        if unknown:
            raise ParamsError(f"`competitors` {sv.show_values(unknown)} have no respondents in column "
                              f"{brand_col!r} (brands: {sv.show_values(sorted(present_brands))}).")
        ours = d[d[brand_col].astype(str).eq(our_brand).to_numpy()]
    else:
        if competitors:
            raise ParamsError("`competitors` are set but `our_brand` is empty; a benchmark needs our brand.")
        ours = d
    if kpis is None:
        if cb is None:
            raise ParamsError("give `kpis` or a codebook to take them from.")
        kpis = kpi_specs(cb, dataset)
    if not kpis:
        raise DataError(f"dataset {dataset!r} has no NPS or rating (likert) question to track; "
                        "mark one in the codebook (type nps or likert).")
    labeler = _labeler(cb, lang)
    unavailable = {}
    targets = None
    weighting_base = "design"
    if weights is not None:
        weighting_label = weights.method
        targets = dict(weights.margins) if weights.margins else None
        weighting_base = weights.base
    if isinstance(mix_tolerance, bool) or not isinstance(mix_tolerance, (int, float)) or not 0 <= mix_tolerance < 1:
        raise ParamsError(f"`mix_tolerance` must be a difference of shares between 0 and 1 (0.05 = 5 points), "
                          f"but {mix_tolerance!r} was passed.")

    latest = resolve_wave(ours, wave, wave_col=wave_col)
    present = _waves_in(ours, wave_col)
    upto_waves = [w for w in present if w <= latest]
    periods = _wave_periods(d, wave_col, period_col)
    year_ago = _year_ago_map(present, periods).get(latest)
    used = compare_to if (compare_to == "previous" or year_ago is not None) else "previous"
    ref = reference_map(ours, used, wave_col=wave_col, period_col=period_col).get(latest)
    if isinstance(trend_from, str) and trend_from == "first":
        base = present[0]
    else:
        base = resolve_wave(ours, trend_from, wave_col=wave_col)
    if base > latest:
        raise ParamsError(f"`trend_from` wave {base} comes after the report's wave {latest}.")
    upto = ours[ours[wave_col].to_numpy() <= latest]
    first = len(upto_waves) == 1

    # core: every KPI per wave, the headline trend with control limits, the change since the base
    frames = []
    for spec in kpis:
        tr = trend(upto, spec["score"], metric=spec["metric"], wave_col=wave_col, period_col=period_col,
                   weight="_weight", compare_to=used, conf=conf, rule=rule, fdr=fdr, **_opts(spec))
        tr.insert(0, "kpi", spec["kpi"])
        frames.append(tr)
    kpi_table = pd.concat(frames, ignore_index=True)
    kchg = kpi_changes(kpi_table, latest, {"year_ago": year_ago, "base": base}, wave_col=wave_col,
                       conf=conf, rule=rule)
    head = next((s for s in kpis if s["metric"] == "nps"), kpis[0])
    score, metric, opts = head["score"], head["metric"], _opts(head)
    nps_spec = next((s for s in kpis if s["metric"] == "nps"), None)
    head_trend = kpi_table[kpi_table["kpi"] == head["kpi"]].drop(columns="kpi").reset_index(drop=True)
    head_trend = control_limits(head_trend, centre=control_centre, k=control_k)
    _w.warn_low_base(kpi_table, ["kpi", wave_col], t("waves.warn.table.kpis", lang), rule, lang=lang,
                     labeler=lambda col, v: (cb.label(v, lang) if cb is not None and v in cb else str(v))
                     if col == "kpi" else (labeler(col, v) if labeler else str(v)))
    change = {}
    if base != latest:
        two = upto[upto[wave_col].isin([base, latest]).to_numpy()]
        chg = metrics.compare(two, score, metric=metric, between=wave_col, reference=base, weight="_weight",
                              conf=conf, rule=rule, **opts)
        if len(chg):
            change = chg.iloc[0].to_dict()
            change["sig"] = str(_sig([change["p_val"]], [change["diff"]], 1 - conf)[0])
    if first:
        unavailable["trend"] = ("waves.msg.first_wave", {"wave": latest})
    if len(kpis) < 2:
        unavailable["kpis"] = ("waves.msg.no_other_kpis", {})
    elif first:
        unavailable["kpis"] = (None, {})

    # fieldwork against the population targets, and the headline under each weighting
    fw = sens = design_dec = None
    if not targets:
        unavailable["fieldwork"] = ("waves.msg.no_targets", {})
    else:
        try:
            fw = fieldwork(d, targets, wave=latest, base_wave=base, weight=weights.design.reindex(d.index).to_numpy()
                           if weights.base == "design" else None, wave_col=wave_col,
                           brand_col=brand_col if our_brand else None, our_brand=our_brand,
                           brands=[our_brand] + comps if our_brand else None, tolerance=mix_tolerance)
        except (DataError, KeyError, ValueError) as exc:
            unavailable["fieldwork"] = _failed(exc)
    if weights is not None and weights.raked is not None:
        try:
            both = {weights.base: weights.design, "raked": weights.raked}
            sens = weighting_sensitivity(upto, both, score=score, metric=metric, base_wave=base, wave=latest,
                                         wave_col=wave_col, ref_wave=ref, conf=conf, rule=rule, **opts)
            if weights.method == "raked" and mix_by and mix_by in targets and base != latest:
                start = upto.assign(_weight=weights.design.reindex(upto.index).to_numpy())
                design_dec = decompose(start, score, base=base, target=latest, metric=metric, by=mix_by,
                                       wave_col=wave_col, weight="_weight", conf=conf, rule=rule, **opts)
        except (DataError, ParamsError, KeyError, ValueError) as exc:
            warnings.warn(f"weighting comparison failed: {exc}", RuntimeWarning, stacklevel=2)
            sens = design_dec = None

    # segments and mix
    seg = rest = std = dec = dec_ref = None
    now = ours[ours[wave_col].to_numpy() == latest]
    if not mix_by:
        unavailable["segments"] = (None, {})
        unavailable["mix"] = ("waves.msg.no_mix_by", {})
    else:
        seg_label = cb.label(mix_by, lang) if cb is not None and mix_by in cb else mix_by
        try:
            seg = trend(upto, score, metric=metric, wave_col=wave_col, period_col=period_col, weight="_weight",
                        by=mix_by, compare_to=used, conf=conf, rule=rule, fdr=fdr, **opts)
            _w.warn_low_base(seg[seg[wave_col] == latest] if first else seg, [mix_by, wave_col],
                             t("waves.warn.table.segments", lang, segment=seg_label), rule, lang=lang,
                             labeler=labeler)
            rest = segment_vs_rest(now, score, segment=mix_by, metric=metric, weight="_weight", conf=conf,
                                   rule=rule, fdr=fdr, **opts)
        except (ParamsError,):
            raise
        except Exception as exc:  # noqa: BLE001 - an optional section becomes a note
            unavailable["segments"] = _failed(exc)
            seg = rest = None
        if first:
            unavailable["mix"] = ("waves.msg.first_wave_mix", {})
        else:
            try:
                std = standardize(upto, score, metric=metric, by=mix_by, wave_col=wave_col, reference=reference_mix,
                                  weight="_weight", conf=conf, rule=rule, **opts)
                dec = decompose(upto, score, base=base, target=latest, metric=metric, by=mix_by, wave_col=wave_col,
                                weight="_weight", conf=conf, rule=rule, **opts) if base != latest else None
                dec_ref = decompose(upto, score, base=ref, target=latest, metric=metric, by=mix_by,
                                    wave_col=wave_col, weight="_weight", conf=conf, rule=rule, **opts) \
                    if ref is not None and ref != base else dec
            except ParamsError:
                raise
            except Exception as exc:  # noqa: BLE001
                unavailable["mix"] = _failed(exc)
                std = dec = dec_ref = None
    if "mix" not in unavailable and weighting_label == "raked" and mix_by and mix_by in (targets or {}):
        # the weights hold every wave's mix by mix_by at its target: nothing is composition (the
        # sample's own drift is on the fieldwork page, its effect on unraked figures in the appendix)
        unavailable["mix"] = ("waves.msg.mix_held", {"segment": mix_by})
    if "mix" in unavailable:
        unavailable["mix_waterfall"] = (None, {})
    elif dec is None:
        unavailable["mix_waterfall"] = ("waves.msg.no_earlier", {"wave": latest})

    # benchmark
    bench = btrend = None
    if not our_brand:
        unavailable["benchmark"] = ("waves.msg.no_brands", {})
    elif not comps:
        unavailable["benchmark"] = ("waves.msg.no_competitors", {})
    else:
        try:
            wave_all = d[d[wave_col].to_numpy() == latest]
            bench = benchmark(wave_all, score, ours=our_brand, competitors=comps, brand_col=brand_col,
                              metric=metric, weight="_weight", conf=conf, rule=rule, fdr=fdr, **opts)
            comps = [b for b in bench["brand"].astype(str) if b != our_brand]
            _w.warn_low_base(bench, ["brand"], t("waves.warn.table.benchmark", lang), rule, lang=lang,
                             labeler=lambda col, v: labeler(brand_col, v) if labeler else str(v))
        except ParamsError:
            raise
        except Exception as exc:  # noqa: BLE001
            unavailable["benchmark"] = _failed(exc)
            bench = None
    bmix = bstd = None
    if "benchmark" in unavailable:
        unavailable["benchmark_std"] = (None, {})
    elif not mix_by:
        unavailable["benchmark_std"] = (None, {})
    else:
        try:
            bmix = brand_mix(wave_all, mix_by, ours=our_brand, brands=[our_brand] + comps, brand_col=brand_col,
                             weight="_weight", score=score)
            reference = targets.get(mix_by) if targets and mix_by in targets else None
            bstd = benchmark_standardized(wave_all, score, ours=our_brand, competitors=comps, brand_col=brand_col,
                                          by=mix_by, reference=reference, metric=metric, weight="_weight",
                                          conf=conf, rule=rule, fdr=fdr, **opts)
        except ParamsError:
            raise
        except Exception as exc:  # noqa: BLE001
            unavailable["benchmark_std"] = _failed(exc)
            bmix = bstd = None
    if "benchmark" in unavailable or first:
        unavailable["benchmark_trend"] = (None, {})
    else:
        try:
            in_bench = d[d[brand_col].astype(str).isin([our_brand] + comps).to_numpy()
                         & (d[wave_col].to_numpy() <= latest)]
            btrend = trend(in_bench, score, metric=metric, wave_col=wave_col, period_col=period_col,
                           weight="_weight", by=brand_col, compare_to=used, conf=conf, rule=rule, fdr=fdr, **opts)
            btrend = btrend.rename(columns={brand_col: "brand"}) if brand_col != "brand" else btrend
        except Exception as exc:  # noqa: BLE001
            unavailable["benchmark_trend"] = _failed(exc)

    # X + O and the survivorship check
    xo = xot = xos = surv = link = None
    if customer_id is None and cb is not None and "odata" in cb.datasets:
        ids = cb.dataset("odata").id_columns
        customer_id = ids[0] if len(ids) == 1 else None
    if odata is None or not customer_id or customer_id not in d.columns or customer_id not in odata.columns:
        unavailable["xo"] = ("waves.msg.no_odata", {})
    elif nps_spec is None:
        unavailable["xo"] = ("waves.msg.xo_no_nps", {})
    else:
        try:
            nscore = nps_spec["score"]
            with_id = int(upto[customer_id].notna().sum())
            linked = link_odata(upto, odata, key=customer_id)
            link = {"respondents": int(len(upto)), "with_id": with_id, "linked": int(len(linked))}
            outcomes = [c for c in XO_OUTCOMES if c in linked.columns]
            if not outcomes:
                raise Unavailable("waves.msg.no_outcomes")
            xo = xo_table(linked, score=nscore, outcomes=outcomes, weight="_weight", conf=conf, rule=rule)
            xot = xo_tests(linked, score=nscore, outcomes=outcomes, weight="_weight", conf=conf, rule=rule, fdr=fdr)
            if mix_by:
                xos = xo_table(linked, score=nscore, outcomes=outcomes[:1], by=mix_by, weight="_weight", conf=conf,
                               rule=rule)
                _w.warn_low_base(xos, [mix_by, "nps_group"], t("waves.warn.table.xo", lang), rule, lang=lang,
                                 labeler=lambda col, v: t(f"waves.group.{v}", lang) if col == "nps_group"
                                 else (labeler(col, v) if labeler else str(v)))
            if CHURN_COL not in linked.columns:
                unavailable["survivorship"] = ("waves.msg.no_churn", {})
            elif not mix_by:
                unavailable["survivorship"] = ("waves.msg.surv_no_mix", {})
            elif base == latest:
                unavailable["survivorship"] = ("waves.msg.no_earlier", {"wave": latest})
            else:
                try:
                    now_row = head_trend[head_trend[wave_col] == latest].iloc[0] if nscore == score else None
                    surv = survivorship(linked, score=nscore, base_wave=base, latest_wave=latest, wave_col=wave_col,
                                        by=mix_by, weight="_weight", observed=dec, conf=conf, rule=rule,
                                        latest=(float(now_row["est"]), float(now_row["se"]))
                                        if now_row is not None else None)
                except Exception as exc:  # noqa: BLE001
                    unavailable["survivorship"] = _failed(exc)
        except Unavailable as exc:
            unavailable["xo"] = (exc.key, exc.fields)
            xo = xot = xos = None
        except Exception as exc:  # noqa: BLE001
            unavailable["xo"] = _failed(exc)
            xo = xot = xos = None
    if "xo" in unavailable:
        unavailable["survivorship"] = (None, {})
    elif xos is None:
        unavailable["xo_segments"] = (None, {})

    # closed loop
    follow = follow_sum = None
    if nps_spec is None:
        unavailable["followup"] = ("waves.msg.no_followup_nps", {})
    elif cb is None:
        unavailable["followup"] = (None, {})
    else:
        cols = followup_columns(cb, dataset, score=nps_spec["score"])
        if cols["id_col"] is None or cols["id_col"] not in now.columns:
            unavailable["followup"] = ("waves.msg.no_followup_id", {})
        else:
            try:
                follow = followup_list(now, cb, score=nps_spec["score"], id_col=cols["id_col"],
                                       columns=tuple(c for c in (wave_col, mix_by) if c),
                                       verbatim=cols["verbatim"], extra=cols["extra"], region=cols["region"],
                                       period_col=period_col)
                follow.attrs["lang"] = lang  # the report's language, for the follow-up file
                follow_sum = followup_summary(follow, by=mix_by or None)
            except Exception as exc:  # noqa: BLE001
                unavailable["followup"] = _failed(exc)

    return WaveAnalysis(
        wave=latest, ref_wave=ref, base_wave=base, periods=periods, compare_to=used,
        compare_requested=compare_to, year_ago_wave=year_ago, our_brand=our_brand or "", competitors=comps,
        mix_by=mix_by, weighting=weighting_label, conf=conf, fdr=fdr, rule=rule, kpis=kpi_table,
        trend=head_trend, change=change, segments=seg, segment_rest=rest, standardized=std, decomposition=dec,
        decomposition_ref=dec_ref, benchmark=bench, benchmark_trend=btrend, xo=xo, xo_tests=xot,
        xo_segments=xos, survivorship=surv, link=link, followup=follow,
        reference_mix=std.attrs.get("reference_mix", {}) if std is not None else {},
        reference_mix_spec=reference_mix, control_centre=control_centre, control_k=control_k,
        headline=dict(head), kpi_specs=[dict(s) for s in kpis], waves=upto_waves, unavailable=unavailable,
        fieldwork=fw, mix_tolerance=float(mix_tolerance), targets=targets, weighting_base=weighting_base,
        sensitivity=sens, design_decomposition=design_dec, brand_mix=bmix, benchmark_std=bstd,
        kpi_changes=kchg, followup_summary=follow_sum,
    )


@dataclass(frozen=True)
class WeightingAppendix:
    """The weighting checks of a report's appendix.

    Attributes
    ----------
    margins : pandas.DataFrame or None
        :func:`margin_table` of the report's wave (our brand), starting and raked weights; None
        without raking.
    sensitivity : pandas.DataFrame or None
        :func:`weighting_sensitivity` of the headline metric (the report's wave against the base
        and the reference wave), starting and raked weights (``WaveAnalysis.sensitivity`` when
        the analysis made it); None without raking.
    weights : WaveWeights or None
        The weights, when there is an efficiency table to show (None: unweighted, no raking).
    """

    margins: pd.DataFrame | None
    sensitivity: pd.DataFrame | None
    weights: WaveWeights | None = None


def weighting_appendix(inputs, res, *, conf=None, rule=None):
    """Weighted shares against the raking targets and the change under each weighting.

    Parameters
    ----------
    inputs : WaveInputs
    res : WaveAnalysis
    conf, rule
        Default: those of ``res``.

    Returns
    -------
    WeightingAppendix
    """
    ww = inputs.weights
    tracking = inputs.tracking
    shown = None if ww.method == "none" and ww.raked is None else ww
    if ww.raked is None or ww.margins is None:
        return WeightingAppendix(margins=None, sensitivity=None, weights=shown)
    brand_col = inputs.columns.get("brand_col") or "brand"
    ours = tracking[brand_col].astype(str).eq(res.our_brand).to_numpy() if res.our_brand \
        else np.ones(len(tracking), bool)
    both = {ww.base: ww.design, "raked": ww.raked}
    latest = ours & tracking["wave"].eq(res.wave).to_numpy()
    margins = margin_table(tracking, ww.margins, both, rows=latest)
    margins.attrs["base"] = ww.base
    sens = res.sensitivity
    if sens is None:
        spec = res.headline
        upto = ours & (tracking["wave"].to_numpy() <= res.wave)
        sens = weighting_sensitivity(tracking[upto], both, score=spec["score"], metric=spec["metric"],
                                     base_wave=res.base_wave, wave=res.wave, ref_wave=res.ref_wave,
                                     conf=res.conf if conf is None else conf,
                                     rule=res.rule if rule is None else rule, **_opts(spec))
    return WeightingAppendix(margins=margins, sensitivity=sens, weights=shown)
