"""Words of the wave (tracking) report, written from results in English or Chinese.

Findings are sentences built from a :class:`workbench.waves.WaveAnalysis`: numbers, the direction
of a change and whether it is significant at the report's confidence level.  The ``*_table``
functions return the keyword arguments of :func:`workbench.report.table`: the numbers (in display
units: shares in %, within the metric's range; a printed change is the difference of the printed
values), their number formats, translated headers, caption and note, and the ``sig``
(``"up"``/``"down"``) and ``base_flags`` (``"caution"``/``"no_test"``) frames the report draws
its marks from, so a notebook shows a table with one call::

    report.table(**story.trend_table(res, lang=ctx.lang, codebook=ctx.codebook))

Concepts come from the study, not from the demo: the headline metric is the study's NPS question
or, without one, its first rating question (named by its codebook label, with its own scale and
top box); waves without a period are "Wave N"; a study without brands speaks of all
respondents.  A section the study cannot fill is shown as a note by :func:`section`::

    with story.section(res, "trend", lang=ctx.lang, codebook=ctx.codebook):
        report.figure(plots.wave_trend(res, lang=ctx.lang, codebook=ctx.codebook))

Every visible word comes from ``workbench/data/i18n/waves.yaml`` (and the codebook's labels).
"""

from __future__ import annotations

import math
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from . import fmt_num, fmt_pct, fmt_signed, join_list, level_label, t

__all__ = [
    "section",
    "heading",
    "note_text",
    "metric_name",
    "metric_axis",
    "centre_words",
    "period_name",
    "brand_name",
    "segment_name",
    "no_comparison",
    "reference_words",
    "sig_words",
    "scope_text",
    "key_findings",
    "kpi_table",
    "trend_table",
    "volatility_findings",
    "control_note",
    "kpi_trend_table",
    "kpi_findings",
    "segment_table",
    "segment_findings",
    "mix_findings",
    "decomposition_table",
    "components_table",
    "mix_note",
    "benchmark_table",
    "benchmark_findings",
    "xo_findings",
    "xo_table",
    "xo_segment_table",
    "survivorship_findings",
    "survivorship_verdict",
    "survivorship_table",
    "survivorship_test_table",
    "fieldwork_summary",
    "fieldwork_findings",
    "fieldwork_table",
    "fieldwork_brand_table",
    "benchmark_mix_findings",
    "benchmark_std_table",
    "followup_text",
    "followup_table",
    "followup_sample",
    "weighting_text",
    "weights_table",
    "margins_table",
    "sensitivity_table",
    "sensitivity_findings",
    "method_notes",
]


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
#: Heading level of each section (1 starts a new page in the PDF).
_LEVELS = {"mix_waterfall": 2, "benchmark_std": 2, "benchmark_trend": 2, "survivorship": 2, "weights": 2,
           "margins": 2, "sensitivity": 2}
_ANY = object()


def _unavailable(name, fields=None):
    from ..waves import Unavailable

    return Unavailable(name, **(fields or {}))


def _need(res, section):
    res.need(section)


def heading(res, name, *, lang="en", codebook=None):
    """The heading of a report section, in the study's words (``"NPS trend and volatility"``)."""
    fields = {"metric": (_metric_mid if name == "kpis" else
                         lambda r, la, cb: metric_name(r, lang=la, codebook=cb))(res, lang, codebook)}
    if res.mix_by:
        fields["segment"] = _var_words(codebook, res.mix_by, lang)
    return t(f"waves.h.{name}", lang, **fields) if fields else t(f"waves.h.{name}", lang)


def note_text(res, key, fields=None, *, lang="en", codebook=None):
    """A section note (``waves.msg.*``) with its fields in the report's words."""
    fields = dict(fields or {})
    if "wave" in fields:
        fields["wave"] = _wave(res, fields["wave"], lang)
    fields.setdefault("metric", _metric_mid(res, lang, codebook))
    if "segment" in fields:
        fields["segment"] = _var_words(codebook, fields["segment"], lang)
    return t(key, lang, **fields)


@contextmanager
def section(res, name, *, lang="en", codebook=None, level=None, needs=_ANY, title=None):
    """Show one report section, or a note in its place when this study cannot fill it.

    Shows the section's heading and runs the block.  When the study cannot fill the section
    (``res.unavailable``, or ``needs`` is None) the heading is left out and the section's note,
    if it has one, is shown instead (the block's functions raise
    :class:`workbench.waves.Unavailable`, which ends the block quietly).  Any other failure in
    the block becomes a note in the report's language; the traceback goes to stderr (kept in
    the executed notebook, left out of the report), and the run goes on.

    Parameters
    ----------
    res : WaveAnalysis
    name : str
        A section of :data:`workbench.waves.SECTIONS`, or ``weights``, ``margins``,
        ``sensitivity``, ``appendix``.
    lang, codebook
    level : int or None
        Heading level (default: 1, or 2 for subsections).
    needs : object
        None: the section is not shown (e.g. the raking checks without margins).
    title : str or None
        Heading text (default: :func:`heading`).
    """
    from .. import report
    from ..waves import Unavailable

    reason = res.unavailable.get(name)
    if needs is None:
        reason = (None, {})
    if reason is None:
        report.heading(title or heading(res, name, lang=lang, codebook=codebook), level or _LEVELS.get(name, 1))
    elif reason[0]:
        report.note(note_text(res, reason[0], reason[1], lang=lang, codebook=codebook))
    try:
        yield
    except Unavailable as exc:
        if reason is None and exc.key:
            report.note(note_text(res, exc.key, exc.fields, lang=lang, codebook=codebook))
    except Exception as exc:  # noqa: BLE001 - one failing section is a note, not a lost report
        if reason is None:
            traceback.print_exc(file=sys.stderr)
            report.note(t("waves.msg.failed", lang, detail=str(exc).strip() or type(exc).__name__))


# --------------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------------
def _nan(x):
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def _mid(text, lang):
    """A label inside an English sentence: first letter lower case unless it is an acronym."""
    if lang != "en" or len(text) < 2 or not text[0].isupper() or not text[1].islower():
        return text
    return text[0].lower() + text[1:]


def _sep(lang):
    """Between two sentences: a space in English, nothing in Chinese."""
    return "" if lang == "zh" else " "


def _cap(text):
    return text[:1].upper() + text[1:]


def _label(codebook, column, lang):
    return codebook.label(column, lang) if codebook is not None and column in codebook else str(column)


def _short(label, lang="en"):
    """A long question label cut to its topic for table headers and chart titles: the part
    before a colon ("Customer effort: the company made it easy ..." -> "Customer effort")."""
    limit = 32 if lang == "en" else 14
    if len(label) <= limit:
        return label
    cuts = [i for i in (label.find(": "), label.find(":"), label.find("：")) if 2 < i <= limit]
    return label[:min(cuts)].rstrip() if cuts else label


def _var_words(codebook, column, lang):
    return _mid(_label(codebook, column, lang), lang)


def brand_name(code, *, lang="en", codebook=None):
    """Display name of a brand code."""
    return level_label(codebook, "brand", code, lang)


def segment_name(res, code, *, lang="en", codebook=None):
    """Display name of a level of the mix column."""
    return level_label(codebook, res.mix_by, code, lang)


def _seg_words(res, code, lang, codebook):
    """A group of the mix column inside a sentence: ``Business (customer segment)``."""
    return t("waves.group_of", lang, level=segment_name(res, code, lang=lang, codebook=codebook),
             variable=_var_words(codebook, res.mix_by, lang))


def _conf(res):
    return f"{100 * res.conf:g}"


def _alpha(res):
    return 1.0 - res.conf


def _minus(text):
    return text.replace("-", "−") if text.startswith("-") else text


def _signed(x, digits=1):
    return fmt_signed(float(x), digits) if not _nan(x) else "–"


# ---- the metric: NPS, a top-box share or a mean, each on its own scale -----------------------
def _spec(res, spec=None):
    if spec is None:
        return res.headline
    return res.spec(spec) if isinstance(spec, str) else spec


def _is_share(spec):
    return spec.get("metric") in ("top_box", "bottom_box")


def _factor(spec):
    """Display factor: shares are shown in %."""
    return 100.0 if _is_share(spec) else 1.0


def _digits(spec):
    return 2 if spec.get("metric") == "mean_score" else 1


def _bounds(spec):
    """Valid display range of the metric (None where unknown)."""
    m = spec.get("metric")
    if m == "nps":
        return (-100.0, 100.0)
    if _is_share(spec):
        return (0.0, 100.0)
    scale = spec.get("scale")
    return (float(scale[0]), float(scale[1])) if scale else (None, None)


def _clip(spec, x):
    """A displayed estimate or interval end kept within the metric's valid range."""
    if _nan(x):
        return x
    lo, hi = _bounds(spec)
    x = float(x)
    if lo is not None:
        x = max(lo, x)
    if hi is not None:
        x = min(hi, x)
    return x


def _scale_words(spec):
    scale = spec.get("scale")
    if not scale:
        return None, None
    return f"{scale[0]:g}", f"{scale[1]:g}"


def metric_name(res, spec=None, *, lang="en", codebook=None, table=False):
    """The name of a KPI: ``NPS``, ``Overall satisfaction (top-2-box)``, ``Effort (mean, 1–7)``.

    ``table=True``: for table rows, headers and chart titles -- the unit added (``... top-2-box,
    %``) and a long label cut to its topic (:func:`_short`).
    """
    spec = _spec(res, spec)
    metric = spec.get("metric")
    if metric == "nps":
        return t("waves.metric.nps", lang)
    label = _label(codebook, spec["score"], lang)
    if table:
        label = _short(label, lang)
    lo, hi = _scale_words(spec)
    suffix = "_table" if table else ""
    if metric == "top_box":
        return t(f"waves.metric.top_box{suffix}", lang, label=label, k=spec.get("top", 2))
    if metric == "bottom_box":
        return t(f"waves.metric.bottom_box{suffix}", lang, label=label, k=spec.get("bottom", 2))
    if lo is None:
        return t(f"waves.metric.mean_noscale{suffix}", lang, label=label)
    return t(f"waves.metric.mean{suffix}", lang, label=label, lo=lo, hi=hi)


def _metric_mid(res, lang, codebook, spec=None):
    """The metric's name inside an English sentence (``overall satisfaction (top-3-box)``)."""
    return _mid(metric_name(res, spec, lang=lang, codebook=codebook), lang)


def _metric_short(res, lang, spec=None):
    """A short word for the metric in formulas: ``NPS``, ``top-3-box share``, ``mean score``."""
    spec = _spec(res, spec)
    metric = spec.get("metric")
    if metric == "nps":
        return t("waves.metric.nps", lang)
    if metric in ("top_box", "bottom_box"):
        return t(f"waves.metric.short_{metric}", lang, k=spec.get("top", spec.get("bottom", 2)))
    return t("waves.metric.short_mean", lang)


def _value_header(res, lang, codebook, spec=None):
    """Header of a column of estimates: ``NPS``, ``Top-3-box (%)``, ``Mean (1–10)`` (the caption
    names the question)."""
    spec = _spec(res, spec)
    metric = spec.get("metric")
    if metric == "nps":
        return t("waves.metric.nps", lang)
    if metric == "top_box":
        return t("waves.col.top_box", lang, k=spec.get("top", 2))
    if metric == "bottom_box":
        return t("waves.col.bottom_box", lang, k=spec.get("bottom", 2))
    lo, hi = _scale_words(spec)
    return t("waves.col.mean", lang, lo=lo, hi=hi) if lo is not None else t("waves.col.mean_noscale", lang)


def _centre_k(res):
    """Waves averaged for the latest wave's centre line (fewer than ``control_k`` early on)."""
    tr = res.trend
    if tr is not None and "centre_n" in tr.columns:
        row = tr[tr["wave"] == res.wave]
        if len(row) and int(row["centre_n"].iloc[0]) > 0:
            return int(row["centre_n"].iloc[0])
    return max(1, min(int(res.control_k), len(res.waves) - 1))


def _centre_counts(res):
    """How many waves the centre lines of the trend are built from (those with a centre)."""
    tr = res.trend
    if tr is None or "centre_n" not in tr.columns:
        return [_centre_k(res)]
    return sorted({int(n) for n in tr["centre_n"] if n > 0}) or [_centre_k(res)]


def centre_words(res, lang="en", chart=False):
    """What a centre line is, built from as many waves as it is: ``the mean of the previous 3
    waves`` / ``the previous wave`` / ``the long-run ... mean``.

    In a sentence: the report's wave's centre line.  On a chart (``chart=True``) the line of
    every wave: "mean of up to 3 previous waves" when the first waves have fewer before them.
    """
    prefix = "waves.chart.centre." if chart else "waves.centre."
    if res.control_centre != "previous":
        return t(prefix + res.control_centre, lang, k=len(res.waves))
    counts = _centre_counts(res) if chart else [_centre_k(res)]
    if len(counts) > 1:
        return t(prefix + "previous_upto", lang, k=max(counts))
    if counts[0] == 1:
        return t(prefix + "previous_one", lang)
    return t(prefix + "previous", lang, k=counts[0])


def _centre_rule(res, lang):
    """The rule of the centre lines for notes: ``the mean of up to the 3 previous waves ...``."""
    if res.control_centre != "previous":
        return t("waves.centre.overall", lang)
    counts = _centre_counts(res)
    if len(counts) > 1:
        return t("waves.centre.rule_upto", lang, k=max(counts))
    return centre_words(res, lang)


def _ref_words(res, w, lang):
    """A reference wave inside a sentence: its period (``2026-05``), else ``wave 2``."""
    p = res.periods.get(int(w)) if w is not None else None
    return str(p) if p else _wave(res, w, lang)


def metric_axis(res, spec=None, *, lang="en", codebook=None):
    """Axis label of a chart of the metric: ``NPS (points)``, ``... top-2-box (%)``."""
    spec = _spec(res, spec)
    if spec.get("metric") == "nps":
        return t("waves.chart.nps_axis", lang)
    return metric_name(res, spec, lang=lang, codebook=codebook, table=True)


def _subject(res, lang, codebook, spec=None):
    """``owner`` ("Aurora's " / "") and ``metric`` of a sentence about the headline metric."""
    name = metric_name(res, spec, lang=lang, codebook=codebook)
    if res.brands:
        return t("waves.owner", lang, brand=brand_name(res.our_brand, lang=lang, codebook=codebook)), \
            _mid(name, lang)
    return "", name


def _num(x, spec):
    """A displayed number of the metric without unit (shares in %)."""
    if _nan(x):
        return "–"
    return _minus(fmt_num(_clip(spec, _factor(spec) * float(x)), _digits(spec)))


def _shown(x, spec):
    """The value a reader sees (scaled, clipped, rounded), as a number."""
    return round(_clip(spec, _factor(spec) * float(x)), _digits(spec))


def _sdiff(res, est, ref, spec=None):
    """A difference between two printed values as printed: the difference of the rounded
    values (so ``5.7`` against ``3.6`` is ``+2.1``), in the metric's raw units (like ``diff``).
    Tests and intervals are computed before rounding."""
    spec = _spec(res, spec)
    if _nan(est) or _nan(ref):
        return float("nan")
    return round(_shown(est, spec) - _shown(ref, spec), _digits(spec)) / _factor(spec)


def _p_words(p):
    """``p = 0.147`` / ``p < 0.001`` in a sentence."""
    if _nan(p):
        return "p = –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct_diff(a, b, digits=0):
    """Difference in percentage points of two shares as printed with ``digits`` decimals."""
    if _nan(a) or _nan(b):
        return float("nan")
    return round(round(100 * float(a), digits) - round(100 * float(b), digits), digits)


def _val(res, x, lang, spec=None):
    """An estimate in a sentence: ``5.7``, ``62.1%``, ``4.86``."""
    spec = _spec(res, spec)
    if _nan(x):
        return "–"
    return _num(x, spec) + ("%" if _is_share(spec) else "")


def _chg(res, x, lang, spec=None, signed=False):
    """A change in a sentence with its unit: ``2.2 points``, ``+1.4 pp``."""
    spec = _spec(res, spec)
    if _nan(x):
        return "–"
    v = _factor(spec) * float(x)
    text = _signed(v, _digits(spec)) if signed else _minus(fmt_num(v, _digits(spec)))
    return t("waves.unit.pp" if _is_share(spec) else "waves.unit.points", lang, x=text)


def _dnum(res, x, spec=None, signed=True):
    """A change as a bare number (tables; the unit is in the header)."""
    spec = _spec(res, spec)
    if _nan(x):
        return "–"
    v = _factor(spec) * float(x)
    return _signed(v, _digits(spec)) if signed else _minus(fmt_num(v, _digits(spec)))


def period_name(res, w, lang="en"):
    """A wave in a table or chart: its period (``2026-06``), or ``Wave 3`` without periods."""
    if w is None or _nan(w):
        return "–"
    p = res.periods.get(int(w))
    return str(p) if p else t("waves.wave_name", lang, wave=int(w))


def _wave(res, w, lang):
    """``wave 6 (2026-06)`` in a sentence."""
    if w is None:
        return "–"
    p = res.periods.get(int(w))
    return t("waves.wave_period", lang, wave=int(w), period=p) if p else t("waves.wave_only", lang, wave=int(w))


def sig_words(p_val, *, conf=0.95, lang="en", flag=None):
    """``"significant at 95%"`` / ``"not significant at 95%"`` / ``"not tested: low base"``."""
    c = f"{100 * conf:g}"
    if flag == "no_test" or _nan(p_val):
        return t("waves.sig.no_test", lang)
    return t("waves.sig.yes" if p_val < 1 - conf else "waves.sig.no", lang, conf=c)


def _v(res, x, spec=None):
    """An estimate as the table holds it: a number in display units (shares in %), within the
    metric's range (the table's number format rounds it)."""
    spec = _spec(res, spec)
    return np.nan if _nan(x) else _clip(spec, _factor(spec) * float(x))


def _d(res, x, spec=None):
    """A change as the table holds it: a number in display units."""
    spec = _spec(res, spec)
    return np.nan if _nan(x) else _factor(spec) * float(x)


def _vfmt(res, spec=None):
    """Number format of an estimate of the metric (``num1``; ``num2`` for means)."""
    return f"num{_digits(_spec(res, spec))}"


def _dfmt(res, spec=None):
    """Number format of a change of the metric, with its sign."""
    return f"signed{_digits(_spec(res, spec))}"


def _flag(f):
    """A low-base flag of the analysis as the table's ``base_flags`` value (``""`` when ok)."""
    return "" if f is None or _nan(f) or f in ("ok", "") else str(f)


def _sig1(s):
    return "" if s is None or _nan(s) else str(s)


def _column(res, values, specs, changes=False):
    """One column of a table whose rows may be different metrics: numbers in display units, the
    column's number format, and a format per row where the rows' digits differ (NPS to one
    decimal, means to two), else None.  Returns ``(values, format, row_formats)``."""
    specs = [_spec(res, sp) for sp in specs]
    conv, fmt_of = (_d, _dfmt) if changes else (_v, _vfmt)
    numbers = [conv(res, x, p) for x, p in zip(values, specs)]
    row_formats = [fmt_of(res, p) for p in specs]
    column = row_formats[0] if row_formats else fmt_of(res, res.headline)
    return numbers, column, (row_formats if len(set(row_formats)) > 1 else None)


def _interval(res, lo, hi, spec=None) -> str:
    """``"−3.1 – 7.4"``: a confidence interval of an estimate, within the metric's range."""
    spec = _spec(res, spec)
    return f"{_num(lo, spec)} – {_num(hi, spec)}"


def _dinterval(res, lo, hi, spec=None) -> str:
    """``"−5.7 – +8.2"``: an interval of a change."""
    return f"{_dnum(res, lo, spec)} – {_dnum(res, hi, spec)}"


def _marks(df, columns):
    """A ``sig`` / ``base_flags`` frame of ``df`` from ``{column: values}`` (columns not in the
    table are left out; None without any)."""
    cols = {c: ["" if v is None or _nan(v) else str(v) for v in vals] for c, vals in (columns or {}).items()
            if c in df.columns}
    return pd.DataFrame(cols, index=df.index, columns=list(cols)) if cols else None


def _table(df, labels, formats=None, caption=None, note=None, sig=None, base_flags=None, cell_formats=None):
    """The keyword arguments of :func:`workbench.report.table`: numbers, their formats, and the
    significance (``"up"`` / ``"down"``), base-flag (``"caution"`` / ``"no_test"``) and, where a
    column mixes number formats, per-cell format frames."""
    formats = {c: f for c, f in (formats or {}).items() if c in df.columns}
    out = {"df": df, "labels": labels, "formats": formats, "caption": caption, "note": note,
           "sig": _marks(df, sig), "base_flags": _marks(df, base_flags)}
    if cell_formats:
        out["cell_formats"] = pd.DataFrame({c: v for c, v in cell_formats.items() if c in df.columns},
                                           index=df.index)
    return out


def no_comparison(res, lang="en", codebook=None):
    """The sentence shown where a section needs an earlier wave and there is none."""
    return t("waves.msg.no_earlier", lang, wave=_wave(res, res.wave, lang))


def _message_table(res, lang, caption=None):
    return _table(pd.DataFrame({"message": [no_comparison(res, lang)]}), {"message": ""}, caption=caption)


def _sig_note(res, lang, low=False):
    parts = [t("sig.note", lang, conf=_conf(res))]
    if res.fdr:
        parts.append(t("waves.note.fdr", lang))
    if low:
        parts.append(t("lowbase.marker", lang))
    return " · ".join(parts)


def reference_words(res, lang="en", codebook=None):
    """How the reference mix of the standardisation is described (``"the ... mix of 2026-01"``)."""
    spec = res.reference_mix_spec
    seg = _var_words(codebook, res.mix_by, lang) if res.mix_by else ""
    if isinstance(spec, dict):
        return t("waves.ref.target", lang, segment=seg)
    waves = sorted(w for w in res.periods) or list(res.waves) or [res.base_wave]
    upto = [w for w in waves if w <= res.wave] or waves
    if spec == "first":
        return t("waves.ref.first", lang, segment=seg, period=_ref_words(res, upto[0], lang))
    if spec == "last":
        return t("waves.ref.first", lang, segment=seg, period=_ref_words(res, res.wave, lang))
    if spec == "pooled":
        return t("waves.ref.pooled", lang, segment=seg)
    return t("waves.ref.first", lang, segment=seg, period=_ref_words(res, int(spec), lang))


# --------------------------------------------------------------------------------------------
# executive summary
# --------------------------------------------------------------------------------------------
def scope_text(res, *, lang="en", codebook=None):
    """One paragraph: which wave, whose respondents, compared with what, weighting, confidence."""
    wave = _wave(res, res.wave, lang)
    if res.brands:
        parts = [t("waves.scope.wave", lang, wave=wave, brand=brand_name(res.our_brand, lang=lang, codebook=codebook))]
    else:
        parts = [t("waves.scope.wave_all", lang, wave=wave)]
    if res.first_wave:
        parts.append(t("waves.scope.first", lang))
    elif res.ref_wave is not None:
        parts.append(t(f"waves.scope.compare.{res.compare_to}", lang, ref=_wave(res, res.ref_wave, lang)))
    if res.compare_requested == "year_ago" and res.compare_to != "year_ago" and not res.first_wave:
        parts.append(t("waves.scope.no_year_ago", lang))
    parts.append(_weighting_scope(res, lang, codebook))
    parts.append(t("waves.scope.conf", lang, conf=_conf(res)))
    return _sep(lang).join(parts)


def _weighting_scope(res, lang, codebook):
    """Which weights the figures use and what they therefore describe: the population (raked to
    targets) or the sample (no targets, or targets not used)."""
    whom = t("waves.scope.whom_brand", lang, brand=brand_name(res.our_brand, lang=lang, codebook=codebook)) \
        if res.brands else t("waves.scope.whom_all", lang)
    if res.weighting == "raked":
        return t("waves.scope.weighting.raked", lang, vars=_target_vars(res, lang, codebook), whom=whom)
    if not res.has_targets:
        return t(f"waves.scope.weighting.{res.weighting}", lang) + _sep(lang) + t("waves.scope.no_targets", lang)
    key = "waves.scope.targets_unused_appendix" if res.sensitivity is not None else "waves.scope.targets_unused"
    return t(f"waves.scope.weighting.{res.weighting}", lang) + _sep(lang) + t(key, lang)


def _target_vars(res, lang, codebook):
    return join_list([_var_words(codebook, v, lang) for v in (res.targets or {})], lang)


def _group_words(res, variable, level, lang, codebook):
    """A group of any column inside a sentence: ``Business (customer segment)``."""
    return t("waves.group_of", lang, level=level_label(codebook, variable, level, lang),
             variable=_var_words(codebook, variable, lang))


def _whose_sample(res, lang, codebook):
    """``Aurora's sample`` / ``the sample``."""
    if res.brands:
        return t("waves.weights.whose_brand", lang, brand=brand_name(res.our_brand, lang=lang, codebook=codebook))
    return t("waves.fw.whole_sample", lang)


def _off_items(res, rows, lang, codebook, with_start=True):
    """``Business (customer segment) 35% against a 22% target (+13 points; 20% in 2026-01)``."""
    fw = res.fieldwork
    items = []
    for _, r in rows.iterrows():
        fields = {"group": _group_words(res, r["variable"], r["level"], lang, codebook),
                  "share": fmt_pct(r["share"]), "target": fmt_pct(r["target"]),
                  "diff": _minus(fmt_signed(_pct_diff(r["share"], r["target"]), 0))}
        start = fw.share(r["variable"], r["level"], fw.base_wave) if with_start and fw.base_wave != fw.wave \
            else float("nan")
        if _nan(start):
            items.append(t("waves.fw.item", lang, **fields))
        else:
            items.append(t("waves.fw.item_start", lang, start=fmt_pct(start),
                           base=_ref_words(res, fw.base_wave, lang), **fields))
    return items


def _sens_row(res, name):
    sens = res.sensitivity
    if sens is None:
        return None
    hit = sens[sens["weighting"] == name]
    return hit.iloc[0] if len(hit) else None


def _fieldwork_consequence(res, lang, codebook):
    """What the drift means for the report's figures, with the other weighting's headline."""
    if res.sensitivity is None:
        return t(f"waves.fw.consequence_{'raked' if res.weighting == 'raked' else 'kept'}_plain", lang)
    other = _sens_row(res, res.weighting_base if res.weighting == "raked" else "raked")
    metric = _metric_mid(res, lang, codebook)
    key = "waves.fw.consequence_raked" if res.weighting == "raked" else "waves.fw.consequence_kept"
    return t(key, lang, metric=metric, value=_val(res, other["est"], lang),
             weights=t(f"waves.fw.weights.{res.weighting_base}", lang),
             reported=t(f"waves.fw.weights.{res.weighting}", lang))


def fieldwork_summary(res, *, lang="en", codebook=None, limit=1):
    """The summary's sentence on fieldwork: did the sample meet its population targets in the
    report's wave, and what that means for the figures (None without targets)."""
    fw = res.fieldwork
    if fw is None or "fieldwork" in res.unavailable:
        return None
    off = fw.off_target
    tol = fmt_num(100 * fw.tolerance, 0)
    wave = _wave(res, res.wave, lang)
    if not len(off):
        return t("waves.fw.ok", lang, wave=wave, whose=_whose_sample(res, lang, codebook), tol=tol)
    items = _off_items(res, off.head(limit), lang, codebook)
    more = len(off) - limit
    groups = join_list(items + ([t("waves.fw.more_one" if more == 1 else "waves.fw.more", lang, k=more)]
                                if more > 0 else []), lang)
    return t("waves.fw.off", lang, wave=wave, whose=_whose_sample(res, lang, codebook), groups=groups, tol=tol) \
        + _sep(lang) + _fieldwork_consequence(res, lang, codebook)


def _headline(res, lang, codebook):
    k = res.kpi(res.headline["kpi"])
    owner, metric = _subject(res, lang, codebook)
    wave = _wave(res, res.wave, lang)
    if res.ref_wave is None or _nan(k.get("diff")):
        return t("waves.find.headline_only", lang, owner=owner, metric=metric, value=_val(res, k["est"], lang),
                 wave=wave)
    diff = _sdiff(res, k["est"], k["est_ref"])
    key = "waves.find.headline_up" if diff > 0 else "waves.find.headline_down"
    if diff == 0:
        key = "waves.find.headline_flat"
    return t(key, lang, owner=owner, metric=metric, value=_val(res, k["est"], lang), wave=wave,
             diff=_chg(res, abs(diff), lang), ref=_wave(res, res.ref_wave, lang),
             sig=sig_words(k["p_val"], conf=res.conf, lang=lang, flag=k.get("test_flag")))


def _drive(dec):
    """The segment whose change in share moved the total most (in the direction of the mix)."""
    mix = dec.component("mix_mid")
    sign = 1.0 if mix["est"] >= 0 else -1.0
    seg = dec.segments
    drive = seg.loc[(sign * seg["mix"]).idxmax()]
    return drive, ("toward" if drive["share_target"] > drive["share_base"] else "away")


def mix_findings(res, *, lang="en", codebook=None, decomposition=None):
    """Sentences on how much of the move since the base wave is composition (mix)."""
    _need(res, "mix")
    dec = decomposition or res.decomposition
    if dec is None:
        return [no_comparison(res, lang)]
    total = dec.component("total")
    mix = dec.component("mix_mid")
    rate = dec.component("rate_mid")
    metric = _metric_mid(res, lang, codebook)
    seg_var = _var_words(codebook, res.mix_by, lang)
    shown_total = _sdiff(res, dec.est_target, dec.est_base)
    up = shown_total >= 0
    change = t("waves.find.since_up" if up else "waves.find.since_down", lang, metric=metric,
               base=_wave(res, dec.base, lang), diff=_chg(res, abs(shown_total), lang),
               value=_val(res, dec.est_target, lang), sig=sig_words(total["p_val"], conf=res.conf, lang=lang))
    drive, direction = _drive(dec)
    out = [change]
    if res.mix_held and decomposition is None:
        # the weights hold the mix at its targets: the mix parts are 0 by construction
        out.append(t("waves.find.mix_held", lang, segment=seg_var, metric=metric))
        return out
    same_sign = (mix["est"] >= 0) == up and abs(total["est"]) > 0
    if same_sign and abs(_factor(res.headline) * mix["est"]) >= 0.05:
        share = min(abs(mix["est"]) / abs(total["est"]), 9.99)
        out.append(t(f"waves.find.mix_{direction}", lang, mix=_chg(res, abs(mix["est"]), lang), share=fmt_pct(share),
                     segment=_seg_words(res, drive[dec.by], lang, codebook), metric=metric,
                     s1=fmt_pct(drive["share_base"]), s2=fmt_pct(drive["share_target"]),
                     sig=sig_words(mix["p_val"], conf=res.conf, lang=lang)))
    else:
        out.append(t("waves.find.mix_small", lang, mix=_chg(res, mix["est"], lang, signed=True),
                     sig=sig_words(mix["p_val"], conf=res.conf, lang=lang)))
    out.append(t("waves.find.like_for_like", lang, metric=metric, segment=seg_var,
                 rate=_chg(res, rate["est"], lang, signed=True),
                 sig=sig_words(rate["p_val"], conf=res.conf, lang=lang),
                 lo=_dnum(res, rate["ci_low"]), hi=_dnum(res, rate["ci_high"]), conf=_conf(res)))
    ref = res.decomposition_ref
    if decomposition is None and ref is not None and ref is not dec:
        out.append(t("waves.find.mix_ref", lang, ref=_wave(res, ref.base, lang), segment=seg_var,
                     total=_chg(res, _sdiff(res, ref.est_target, ref.est_base), lang, signed=True),
                     mix=_chg(res, ref.component("mix_mid")["est"], lang, signed=True),
                     rate=_chg(res, ref.component("rate_mid")["est"], lang, signed=True),
                     sig=sig_words(ref.component("rate_mid")["p_val"], conf=res.conf, lang=lang)))
    return out


def _mix_sentence(res, lang, codebook):
    """The headline sentence on the change since the base wave: its mix part and the
    like-for-like change."""
    dec = res.decomposition
    if dec is None or "mix" in res.unavailable or res.mix_held:
        return None
    total, mix, rate = (dec.component(c) for c in ("total", "mix_mid", "rate_mid"))
    drive, direction = _drive(dec)
    shown_total = _sdiff(res, dec.est_target, dec.est_base)
    up = shown_total >= 0
    same = (mix["est"] >= 0) == up and abs(_factor(res.headline) * mix["est"]) >= 0.05
    key = ("waves.find.exec_mix_up" if up else "waves.find.exec_mix_down") if same else \
        ("waves.find.exec_nomix_up" if up else "waves.find.exec_nomix_down")
    return t(key, lang, base=_wave(res, dec.base, lang), metric=_metric_mid(res, lang, codebook),
             diff=_chg(res, abs(shown_total), lang), value=_val(res, dec.est_target, lang),
             sig=sig_words(total["p_val"], conf=res.conf, lang=lang), mix=_chg(res, abs(mix["est"]), lang),
             mix_signed=_chg(res, mix["est"], lang, signed=True), segment=_var_words(codebook, res.mix_by, lang),
             shift=t(f"waves.find.shift_{direction}", lang, segment=_seg_words(res, drive[dec.by], lang, codebook)),
             rate=_chg(res, rate["est"], lang, signed=True),
             rate_sig=sig_words(rate["p_val"], conf=res.conf, lang=lang))


def _since_sentence(res, lang, codebook):
    """The change since the base wave, when there is no mix analysis to split it."""
    ch = res.change
    if not ch or _nan(ch.get("diff")) or res.base_wave == res.ref_wave:
        return None
    diff = _sdiff(res, ch["est"], ch["est_ref"])
    key = "waves.find.since_up" if diff >= 0 else "waves.find.since_down"
    text = t(key, lang, metric=_metric_mid(res, lang, codebook), base=_wave(res, res.base_wave, lang),
             diff=_chg(res, abs(diff), lang), value=_val(res, ch["est"], lang),
             sig=sig_words(ch["p_val"], conf=res.conf, lang=lang, flag=ch.get("base_flag")))
    if res.mix_held:
        text += _sep(lang) + t("waves.find.since_held", lang, segment=_var_words(codebook, res.mix_by, lang))
    return text


def volatility_findings(res, *, lang="en", codebook=None):
    """Is the latest wave's headline metric beyond the control limits?"""
    _need(res, "trend")
    tr = res.trend
    row = tr[tr["wave"] == res.wave].iloc[0]
    if not row["signal"]:
        return [t("waves.find.vol_none", lang)]
    spec = res.headline
    centre = centre_words(res, lang)
    out = [t(f"waves.find.vol_{row['signal']}", lang, wave=_wave(res, res.wave, lang),
             metric=_metric_mid(res, lang, codebook), value=_val(res, row["est"], lang),
             centre=centre, c=_num(row["centre"], spec), lo=_num(row["lower_inner"], spec),
             hi=_num(row["upper_inner"], spec), z=_minus(f"{row['z_dev']:.2f}"))]
    beyond = tr[(tr["signal"].isin(["beyond_inner", "beyond_outer"])) & (tr["wave"] != res.wave)]
    if len(beyond):
        out.append(t("waves.find.vol_other", lang, waves=join_list([_wave(res, w, lang) for w in beyond["wave"]], lang)))
    elif row["signal"] == "within":
        out.append(t("waves.find.vol_all_within", lang))
    else:
        out.append(t("waves.find.vol_earlier_within", lang))
    return out


def _others(res):
    return [s for s in res.kpi_specs if s["kpi"] != res.headline["kpi"]]


def kpi_findings(res, *, lang="en", codebook=None):
    """The other KPIs at the latest wave against the reference wave."""
    out = []
    for spec in _others(res):
        r = res.kpi(spec["kpi"])
        if not r:
            continue
        name = metric_name(res, spec, lang=lang, codebook=codebook)
        if res.ref_wave is None or _nan(r.get("diff")):
            out.append(t("waves.find.kpi_only", lang, metric=name, value=_val(res, r["est"], lang, spec)))
            continue
        out.append(t("waves.find.kpi", lang, metric=name, value=_val(res, r["est"], lang, spec),
                     diff=_chg(res, _sdiff(res, r["est"], r["est_ref"], spec), lang, spec, signed=True),
                     ref=_ref_words(res, res.ref_wave, lang),
                     sig=sig_words(r.get("p_val"), conf=res.conf, lang=lang, flag=r.get("test_flag"))))
    return out


def benchmark_findings(res, *, lang="en", codebook=None, mix=True):
    """Where our brand stands against each competitor in the latest wave (``mix``: and whether
    the brands' samples differ in mix, with the comparison at one mix)."""
    _need(res, "benchmark")
    bm = res.benchmark
    ours = bm[bm["brand"] == res.our_brand].iloc[0]
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    comp = bm[bm["brand"] != res.our_brand]
    above = [brand_name(b, lang=lang, codebook=codebook) for b in comp[comp["sig"] == "up"]["brand"]]
    below = [brand_name(b, lang=lang, codebook=codebook) for b in comp[comp["sig"] == "down"]["brand"]]
    same = [brand_name(b, lang=lang, codebook=codebook) for b in comp[comp["sig"] == ""]["brand"]]
    rank = int((bm["est"] > ours["est"]).sum()) + 1
    if rank == 1:
        nxt = comp.loc[comp["est"].idxmax()]
        out = [t("waves.find.bench_lead", lang, brand=brand, value=_val(res, ours["est"], lang), k=len(bm),
                 other=brand_name(nxt["brand"], lang=lang, codebook=codebook), ovalue=_val(res, nxt["est"], lang))]
    else:
        leader = bm.loc[bm["est"].idxmax()]
        out = [t("waves.find.bench_rank", lang, brand=brand, value=_val(res, ours["est"], lang), rank=rank, k=len(bm),
                 leader=brand_name(leader["brand"], lang=lang, codebook=codebook),
                 lvalue=_val(res, leader["est"], lang))]
    if above:
        out.append(t("waves.find.bench_above", lang, brands=join_list(above, lang), brand=brand))
    if below:
        out.append(t("waves.find.bench_below", lang, brands=join_list(below, lang), brand=brand))
    if same:
        out.append(t("waves.find.bench_same", lang, brands=join_list(same, lang), brand=brand, conf=_conf(res)))
    if mix:
        out += benchmark_mix_findings(res, lang=lang, codebook=codebook)
    return out


def _bench_ref_words(res, lang, codebook):
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    if res.has_targets and res.mix_by in res.targets:
        return t("waves.bench.ref_targets", lang, brand=brand)
    return t("waves.bench.ref_ours", lang, brand=brand)


def _bench_std_sentence(res, lang, codebook):
    """``At the same mix by customer segment (...), the gaps to Aurora are ...``."""
    bs = res.benchmark_std
    if bs is None or "benchmark_std" in res.unavailable:
        return None
    ours = bs.iloc[0]
    comp = bs.iloc[1:]
    items = [t("waves.brand_value", lang, brand=brand_name(r.brand, lang=lang, codebook=codebook),
               value=_dnum(res, _sdiff(res, r.std_est, ours.std_est))) for r in comp.itertuples()]
    sig = [brand_name(r.brand, lang=lang, codebook=codebook) for r in comp.itertuples() if r.sig]
    key = "waves.find.bench_std" if sig else "waves.find.bench_std_none"
    return t(key, lang, segment=_var_words(codebook, res.mix_by, lang), ref=_bench_ref_words(res, lang, codebook),
             brand=brand_name(res.our_brand, lang=lang, codebook=codebook), gaps=join_list(items, lang),
             sig=join_list(sig, lang), conf=_conf(res))


def benchmark_mix_findings(res, *, lang="en", codebook=None):
    """Do the brands' (weighted) samples differ in mix by ``mix_by``, and the comparison at one mix."""
    bm = res.brand_mix
    if bm is None or "benchmark_std" in res.unavailable:
        return []
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    seg = _var_words(codebook, res.mix_by, lang)
    tol = fmt_num(100 * res.mix_tolerance, 0)
    spread = bm.groupby("level")["diff"].apply(lambda d: d.abs().max())
    level = spread.idxmax()
    rows = bm[bm["level"] == level]
    mine = rows[rows["brand"] == res.our_brand]["share"].iloc[0]
    others = [t("waves.brand_value", lang, brand=brand_name(r.brand, lang=lang, codebook=codebook), value=fmt_pct(r.share))
              for r in rows.itertuples() if r.brand != res.our_brand]
    if res.brands_differ:
        out = [t("waves.find.bench_mix", lang, segment=seg, level=segment_name(res, level, lang=lang, codebook=codebook),
                 share=fmt_pct(mine), brand=brand, others=join_list(others, lang), tol=tol)]
    else:
        out = [t("waves.find.bench_mix_alike", lang, segment=seg, brand=brand, tol=tol)]
    std = _bench_std_sentence(res, lang, codebook)
    if std:
        out.append(std)
    return out


def xo_findings(res, *, lang="en", codebook=None):
    """Retention, spend and tickets of promoters against detractors."""
    _need(res, "xo")
    tests = res.xo_tests.set_index("outcome")
    out = []
    if "retained_6m" in tests.index:
        r = tests.loc["retained_6m"]
        out.append(t("waves.find.xo_retention", lang, p=fmt_pct(r["est_high"], 1), d=fmt_pct(r["est_low"], 1),
                     diff=_minus(fmt_num(_pct_diff(r["est_high"], r["est_low"], 1), 1)),
                     sig=sig_words(r["p_val"], conf=res.conf, lang=lang)))
    if "spend_6m" in tests.index:
        r = tests.loc["spend_6m"]
        out.append(t("waves.find.xo_spend", lang, p=fmt_num(r["est_high"], 0), d=fmt_num(r["est_low"], 0),
                     sig=sig_words(r["p_val"], conf=res.conf, lang=lang)))
    if "tickets_6m" in tests.index:
        r = tests.loc["tickets_6m"]
        out.append(t("waves.find.xo_tickets", lang, p=fmt_num(r["est_high"], 2), d=fmt_num(r["est_low"], 2),
                     sig=sig_words(r["p_val"], conf=res.conf, lang=lang)))
    return out


def survivorship_findings(res, *, lang="en", codebook=None):
    """The survivorship check in words: does NPS rise because detractors left?  The verdict
    comes from a stated test, quoted with its figures."""
    _need(res, "survivorship")
    s = res.survivorship
    ch = s.churn.set_index("nps_group")
    base, latest = _wave(res, s.base_wave, lang), _wave(res, s.latest_wave, lang)
    out = []
    gap = s.churn_test
    key = "waves.find.surv_gap" if (not _nan(gap["p_val"]) and gap["p_val"] < _alpha(res) and gap["diff"] > 0) \
        else "waves.find.surv_no_gap"
    out.append(t(key, lang, base=base, latest=latest, d=fmt_pct(ch.loc["detractor", "est"]),
                 p=fmt_pct(ch.loc["promoter", "est"]), sig=sig_words(gap["p_val"], conf=res.conf, lang=lang),
                 diff=_minus(fmt_num(_pct_diff(ch.loc["detractor", "est"], ch.loc["promoter", "est"]), 0)),
                 pv=_p_words(gap["p_val"])))
    eff = _sdiff(res, s.est_stayed, s.est_all)
    out.append(t("waves.find.surv_potential" if eff >= 0 else "waves.find.surv_potential_down", lang, base=base,
                 latest=latest, eff=_dnum(res, abs(eff), signed=False), mix=_dnum(res, s.effect("mix_mid")["est"]),
                 rate=_dnum(res, s.effect("rate_mid")["est"]), all=_val(res, s.est_all, lang),
                 stayed=_val(res, s.est_stayed, lang)))
    seg = s.shares.copy()
    if "share_latest" in seg.columns and not res.mix_held:
        seg["move"] = (seg["share_latest"] - seg["share_all"]).abs()
        top = seg.loc[seg["move"].idxmax()]
        out.append(t("waves.find.surv_mix", lang, segment=_seg_words(res, top["segment"], lang, codebook),
                     a=fmt_pct(top["share_all"]), s=fmt_pct(top["share_stayed"]), l=fmt_pct(top["share_latest"]),
                     latest=latest))
    out.append(survivorship_verdict(res, lang=lang, codebook=codebook))
    return out


def _observed_total(res, s):
    """The observed change base -> latest of the survivorship check as printed elsewhere (the
    difference of the two waves' printed estimates)."""
    dec = res.decomposition
    if dec is not None and dec.base == s.base_wave and dec.target == s.latest_wave:
        return _sdiff(res, dec.est_target, dec.est_base)
    return s.observed.get("total", float("nan"))


def survivorship_verdict(res, *, lang="en", codebook=None, short=False):
    """``Survivorship: no / cannot be ruled out``, with the test it follows from and its figures
    (``short``: the summary's sentence, with the test's figures but fewer words)."""
    _need(res, "survivorship")
    s = res.survivorship
    base, latest = _wave(res, s.base_wave, lang), _wave(res, s.latest_wave, lang)
    b = s.beyond_churn or {}
    total = _observed_total(res, s)
    fields = {"base": base, "latest": latest, "conf": _conf(res), "metric": _metric_mid(res, lang, codebook),
              "total": _chg(res, abs(total), lang)}
    gap = s.churn_test
    fields.update(d_p=_p_words(gap["p_val"]))
    if b:
        fields.update(now=_val(res, b["est_latest"], lang), stayed=_val(res, b["est_stayed"], lang),
                      diff=_dnum(res, _sdiff(res, b["est_latest"], b["est_stayed"])),
                      z=_minus(f"{b['z']:.2f}"), p=_p_words(b["p_val"]),
                      churn=_chg(res, _sdiff(res, s.est_stayed, s.est_all), lang, signed=True))
    verdict = s.verdict
    if verdict in ("unlikely", "possible") and not b:
        verdict = f"{verdict}_untested"
    elif short and verdict in ("unlikely", "possible"):
        verdict = f"{verdict}_short"
    return t(f"waves.find.surv_verdict.{verdict}", lang, **fields)


def key_findings(res, *, lang="en", codebook=None, followup_file=None):
    """The executive summary: one bullet per finding, written from the results."""
    out = [_headline(res, lang, codebook)]
    fw = fieldwork_summary(res, lang=lang, codebook=codebook)
    if fw:
        out.append(fw)
    if res.first_wave:
        out.append(t("waves.find.first_wave", lang, wave=_wave(res, res.wave, lang)))
    mix = _mix_sentence(res, lang, codebook)
    since = None if mix else _since_sentence(res, lang, codebook)
    for sentence in (mix, since):
        if sentence:
            out.append(sentence)
    if "trend" not in res.unavailable:
        out.append(volatility_findings(res, lang=lang, codebook=codebook)[0])
    kf = kpi_findings(res, lang=lang, codebook=codebook)
    if kf:
        out.append(_sep(lang).join(kf))
    if "benchmark" not in res.unavailable:
        bench = benchmark_findings(res, lang=lang, codebook=codebook, mix=False)[:3]
        std = _bench_std_sentence(res, lang, codebook)
        if std and res.brands_differ:
            bench.append(t("waves.find.bench_mix_short", lang, segment=_var_words(codebook, res.mix_by, lang),
                           std=std))
        out.append(_sep(lang).join(bench))
    if res.xo is not None and "xo" not in res.unavailable:
        xf = xo_findings(res, lang=lang)
        if xf:
            out.append(xf[0])
    if res.survivorship is not None and "survivorship" not in res.unavailable:
        out.append(survivorship_verdict(res, lang=lang, codebook=codebook, short=True))
    if res.followup is not None and "followup" not in res.unavailable:
        out.append(t("waves.find.followup", lang, n=f"{len(res.followup):,}", wave=_wave(res, res.wave, lang),
                     file=Path(followup_file).name if followup_file else "detractor_followup.csv"))
    return out


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
def _units_note(res, lang, specs):
    parts = []
    if any(s.get("metric") == "nps" for s in specs):
        parts.append(t("waves.note.units_nps", lang))
    if any(_is_share(s) for s in specs):
        parts.append(t("waves.note.units_share", lang))
    if any(s.get("metric") == "mean_score" for s in specs):
        parts.append(t("waves.note.units_mean", lang))
    return "; ".join(parts) if lang == "en" else "；".join(parts)


def kpi_table(res, *, lang="en", codebook=None):
    """KPIs at a glance: latest, reference wave, change (arrow), change a year earlier (when that
    wave exists and is not the reference) and since the base wave (tests: ``res.kpis`` and
    ``res.kpi_changes``)."""
    yoy = res.year_ago_wave if res.year_ago_wave not in (None, res.ref_wave) else None
    since = res.base_wave if res.base_wave not in (res.wave, res.ref_wave) else None
    specs = [res.spec(k) for k in dict.fromkeys(res.kpis["kpi"])]
    cols = {"latest": [], "ref": [], "diff": [], "yoy": [], "since": []}
    sig = {"diff": [], "yoy": [], "since": []}
    flags = []
    names, n_eff = [], []
    for spec in specs:
        d = res.kpis[res.kpis["kpi"] == spec["kpi"]].set_index("wave")
        cur = d.loc[res.wave]
        ref = d.loc[res.ref_wave] if res.ref_wave in d.index else None
        names.append(metric_name(res, spec, lang=lang, codebook=codebook, table=True))
        cols["latest"].append(cur["est"])
        flags.append(_flag(cur["base_flag"]))
        cols["ref"].append(ref["est"] if ref is not None else np.nan)
        cols["diff"].append(_sdiff(res, cur["est"], ref["est"], spec) if ref is not None else np.nan)
        sig["diff"].append(_sig1(cur["sig"]) if ref is not None else "")
        for key, vs in (("yoy", "year_ago"), ("since", "base")):
            chg = res.kpi_change(spec["kpi"], vs)
            cols[key].append(_sdiff(res, chg["est"], chg["est_ref"], spec) if chg else np.nan)
            sig[key].append(_sig1(chg.get("sig")) if chg else "")
        n_eff.append(cur["n_eff"])
    data = {"kpi": names}
    formats = {"n_eff": "int"}
    shown = ["latest"] + (["ref", "diff"] if res.ref_wave is not None else []) \
        + (["yoy"] if yoy is not None else []) + (["since"] if since is not None else [])
    cell_formats = {}
    for c in shown:
        data[c], formats[c], rows = _column(res, cols[c], specs, changes=c in sig)
        if rows is not None:
            cell_formats[c] = rows
    data["n_eff"] = n_eff
    df = pd.DataFrame(data)
    labels = {"kpi": t("waves.col.kpi", lang), "latest": period_name(res, res.wave, lang),
              "ref": period_name(res, res.ref_wave, lang),
              "diff": t("waves.col.change_vs", lang, period=period_name(res, res.ref_wave, lang)),
              "yoy": t("waves.col.change_vs", lang, period=period_name(res, yoy, lang)),
              "since": t("waves.col.change_vs", lang, period=period_name(res, since, lang)),
              "n_eff": t("waves.col.n_eff", lang)}
    low = any(flags)
    note = _units_note(res, lang, specs)
    if not res.first_wave:
        note = _sig_note(res, lang, low) + " · " + note
    elif low:
        note = t("lowbase.marker", lang) + " · " + note
    return _table(df, labels, formats, caption=kpi_caption(res, lang=lang, codebook=codebook), note=note,
                  sig=sig, base_flags={"latest": flags}, cell_formats=cell_formats)


def kpi_caption(res, *, lang="en", codebook=None):
    """The KPI table's caption as its finding (the deck's slide title): which KPIs moved
    significantly against the reference wave, with their changes, or that none did."""
    specs = [res.spec(k) for k in dict.fromkeys(res.kpis["kpi"])]
    moved = []
    for spec in specs:
        d = res.kpis[res.kpis["kpi"] == spec["kpi"]].set_index("wave")
        if res.ref_wave is None or res.ref_wave not in d.index or _sig1(d.loc[res.wave]["sig"]) not in ("up", "down"):
            continue
        cur, ref = d.loc[res.wave], d.loc[res.ref_wave]
        moved.append(t("waves.cap.kpi_item", lang, metric=metric_name(res, spec, lang=lang, codebook=codebook),
                       diff=_chg(res, _sdiff(res, cur["est"], ref["est"], spec), lang, spec, signed=True)))
    head = res.kpi(res.headline["kpi"]) or {}
    fields = dict(n=len(specs), metric=metric_name(res, lang=lang, codebook=codebook),
                  value=_val(res, head.get("est"), lang), period=period_name(res, res.wave, lang))
    if res.ref_wave is None or res.first_wave:
        return t("waves.cap.kpis_first", lang, **fields)
    ref = _ref_words(res, res.ref_wave, lang)
    if moved:
        return t("waves.cap.kpis_moved", lang, k=len(moved), ref=ref, list=join_list(moved, lang), **fields)
    return t("waves.cap.kpis_none", lang, ref=ref, **fields)


def benchmark_trend_title(res, *, lang="en", codebook=None):
    """The finding of the benchmark trend chart (the deck's slide title): where our brand's
    headline metric went from the first to the latest wave shown, and who leads now."""
    _need(res, "benchmark_trend")
    bt = res.benchmark_trend
    ours = bt[bt["brand"].astype(str) == str(res.our_brand)].sort_values("wave")
    latest = bt[bt["wave"] == bt["wave"].max()]
    owner, metric = _subject(res, lang, codebook)
    fields = dict(owner=owner, metric=metric, k=latest["brand"].nunique())
    if len(ours):
        first, last = ours.iloc[0], ours.iloc[-1]
        fields.update(v0=_val(res, first["est"], lang), w0=period_name(res, first["wave"], lang),
                      v1=_val(res, last["est"], lang), w1=period_name(res, last["wave"], lang))
    leader = latest.loc[latest["est"].idxmax()]
    if not len(ours):
        return t("waves.t.bench_trend_leader", lang, leader=brand_name(leader["brand"], lang=lang, codebook=codebook),
                 lv=_val(res, leader["est"], lang), period=period_name(res, leader["wave"], lang),
                 metric=metric_name(res, lang=lang, codebook=codebook), k=fields["k"])
    if str(leader["brand"]) == str(res.our_brand) or leader["est"] <= ours.iloc[-1]["est"]:
        return _cap(t("waves.t.bench_trend_lead", lang, **fields))
    return _cap(t("waves.t.bench_trend_rank", lang, leader=brand_name(leader["brand"], lang=lang, codebook=codebook),
                  lv=_val(res, leader["est"], lang), **fields))


def trend_table(res, *, lang="en", codebook=None):
    """The headline metric per wave: estimate, CI, change vs reference (arrow), bases and the
    control-limit signal."""
    _need(res, "trend")
    tr = res.trend.sort_values("wave")
    low = bool((tr["base_flag"] != "ok").any())
    spec = res.headline
    centre_n = tr["centre_n"] if "centre_n" in tr.columns else pd.Series(0, index=tr.index)
    df = pd.DataFrame({
        "period": [period_name(res, w, lang) for w in tr["wave"]],
        "est": [_v(res, e) for e in tr["est"]],
        "ci": [_interval(res, a, b) for a, b in zip(tr["ci_low"], tr["ci_high"])],
        "diff": [_d(res, _sdiff(res, e, r)) for e, r in zip(tr["est"], tr["est_ref"])],
        "p": tr["p_adj"].to_numpy(),
        "centre": ["–" if _nan(c) else (t("waves.centre_cell", lang, c=_num(c, spec), k=int(k))
                                        if res.control_centre == "previous" else _num(c, spec))
                   for c, k in zip(tr["centre"], centre_n)],
        "signal": [t(f"waves.signal.{s}", lang, z=_minus(f"{z:.1f}")) if s else "–"
                   for s, z in zip(tr["signal"], tr["z_dev"])],
    })
    labels = {"period": t("waves.col.period", lang),
              "est": _value_header(res, lang, codebook),
              "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "diff": t(f"waves.col.change_{res.compare_to}", lang), "p": t("waves.col.p", lang),
              "centre": t(f"waves.col.centre_{res.control_centre}", lang),
              "signal": t("waves.col.signal", lang)}
    bases = t("waves.note.bases", lang, lo=f"{tr['n_eff'].min():,.0f}", hi=f"{tr['n_eff'].max():,.0f}")
    return _table(df, labels, {"est": _vfmt(res), "diff": _dfmt(res), "p": "pval"},
                  caption=t("waves.cap.trend", lang, metric=metric_name(res, lang=lang, codebook=codebook)),
                  note=_sig_note(res, lang, low) + " · " + bases,
                  sig={"diff": tr["sig"].tolist()}, base_flags={"est": [_flag(f) for f in tr["base_flag"]]})


def control_note(res, *, lang="en", codebook=None):
    """How the control limits are drawn."""
    _need(res, "trend")
    return t("waves.note.control", lang, centre=_centre_rule(res, lang))


#: Most KPI columns of the wide KPI-by-wave table (more KPIs: one row per KPI and wave).
_WIDE_KPIS = 6


def kpi_trend_table(res, *, lang="en", codebook=None):
    """Every KPI per wave, with arrows against the reference wave."""
    _need(res, "kpis")
    specs = [res.spec(k) for k in dict.fromkeys(res.kpis["kpi"])]
    flags = bool((res.kpis["base_flag"] != "ok").any())
    note = _sig_note(res, lang, flags) + " · " + t(f"waves.note.arrows_{res.compare_to}", lang)
    caption = t("waves.cap.kpi_trend", lang)
    if len(specs) > _WIDE_KPIS:
        rows, row_specs, sig, flags = [], [], [], []
        for spec in specs:
            d = res.kpis[res.kpis["kpi"] == spec["kpi"]].sort_values("wave")
            for _, r in d.iterrows():
                rows.append({"kpi": metric_name(res, spec, lang=lang, codebook=codebook, table=True),
                             "period": period_name(res, r["wave"], lang), "est": r["est"]})
                row_specs.append(spec)
                sig.append(_sig1(r["sig"]))
                flags.append(_flag(r["base_flag"]))
        df = pd.DataFrame(rows)
        df["est"], fmt, rows = _column(res, df["est"].tolist(), row_specs)
        labels = {"kpi": t("waves.col.kpi", lang), "period": t("waves.col.period", lang),
                  "est": t("waves.col.value", lang)}
        return _table(df, labels, {"est": fmt}, caption=caption, note=note, sig={"est": sig},
                      base_flags={"est": flags}, cell_formats={"est": rows} if rows else None)
    piv, formats, sig, flags = {}, {}, {}, {}
    waves = []
    for i, spec in enumerate(specs):
        d = res.kpis[res.kpis["kpi"] == spec["kpi"]].sort_values("wave")
        piv[f"k{i}"] = [_v(res, e, spec) for e in d["est"]]
        formats[f"k{i}"] = _vfmt(res, spec)
        sig[f"k{i}"] = [_sig1(x) for x in d["sig"]]
        flags[f"k{i}"] = [_flag(f) for f in d["base_flag"]]
        waves = d["wave"].tolist()
    df = pd.DataFrame({"period": [period_name(res, w, lang) for w in waves], **piv})
    labels = {"period": t("waves.col.period", lang),
              **{f"k{i}": metric_name(res, spec, lang=lang, codebook=codebook, table=True)
                 for i, spec in enumerate(specs)}}
    return _table(df, labels, formats, caption=caption, note=note, sig=sig, base_flags=flags)


def segment_table(res, *, lang="en", codebook=None):
    """Latest wave by segment: headline metric, change vs reference, vs the rest of the sample,
    share, bases."""
    _need(res, "segments")
    seg = res.segments
    cur = seg[seg["wave"] == res.wave].set_index(res.mix_by)
    rest = res.segment_rest.set_index(res.mix_by)
    dec = res.decomposition
    share = dec.segments.set_index(dec.by)["share_target"] if dec is not None and dec.target == res.wave else None
    rows = []
    sig = {"diff": [], "rest": []}
    flags = []
    for lv, r in cur.iterrows():
        rr = rest.loc[lv] if lv in rest.index else None
        flags.append(_flag(r["base_flag"]))
        row = {"segment": segment_name(res, lv, lang=lang, codebook=codebook), "est": _v(res, r["est"])}
        if not res.first_wave:
            row["diff"] = _d(res, _sdiff(res, r["est"], r["est_ref"]))
            sig["diff"].append(_sig1(r["sig"]))
        row["rest"] = _d(res, rr["diff"]) if rr is not None else np.nan
        sig["rest"].append(_sig1(rr["sig"]) if rr is not None else "")
        if share is not None:
            row["share"] = share.get(lv, np.nan)
        row["n"] = r["n"]
        row["n_eff"] = r["n_eff"]
        rows.append(row)
    df = pd.DataFrame(rows)
    metric = _value_header(res, lang, codebook)
    labels = {"segment": _label(codebook, res.mix_by, lang),
              "est": t("waves.col.at", lang, what=metric, period=period_name(res, res.wave, lang)),
              "diff": t(f"waves.col.change_{res.compare_to}", lang), "rest": t("waves.col.vs_rest", lang),
              "share": t("waves.col.share_sample" if res.weighting == "none" else "waves.col.share_weighted", lang),
              "n": t("waves.col.n", lang),
              "n_eff": t("waves.col.n_eff", lang)}
    return _table(df, labels, {"est": _vfmt(res), "diff": _dfmt(res), "rest": _dfmt(res), "share": "pct0",
                               "n": "int", "n_eff": "int"},
                  caption=t("waves.cap.segments", lang, segment=_var_words(codebook, res.mix_by, lang)),
                  note=_sig_note(res, lang, any(flags)), sig=sig, base_flags={"est": flags})


def segment_findings(res, *, lang="en", codebook=None):
    """Which segments moved significantly, and which differ from the rest."""
    _need(res, "segments")
    cur = res.segments[res.segments["wave"] == res.wave]
    out = []
    if not res.first_wave:
        moved = cur[cur["sig"] != ""]
        if len(moved):
            out.append(t("waves.find.seg_moved", lang, segs=join_list(
                [f"{segment_name(res, r[res.mix_by], lang=lang, codebook=codebook)} "
                 f"({_dnum(res, _sdiff(res, r['est'], r['est_ref']))})"
                 for _, r in moved.iterrows()], lang)))
        else:
            out.append(t("waves.find.seg_none_moved", lang, ref=_wave(res, res.ref_wave, lang)))
    rest = res.segment_rest
    hi = rest[rest["sig"] == "up"]
    lo = rest[rest["sig"] == "down"]
    if len(hi) or len(lo):
        out.append(t("waves.find.seg_rest", lang,
                     hi=join_list([segment_name(res, v, lang=lang, codebook=codebook) for v in hi[res.mix_by]], lang) or "–",
                     lo=join_list([segment_name(res, v, lang=lang, codebook=codebook) for v in lo[res.mix_by]], lang) or "–"))
    else:
        out.append(t("waves.find.seg_rest_none", lang, conf=_conf(res)))
    return out


def decomposition_table(res, *, lang="en", codebook=None, decomposition=None):
    """Per segment: shares and the headline metric in both waves and the mix / rate /
    interaction contributions."""
    _need(res, "mix_waterfall")
    dec = decomposition or res.decomposition
    if dec is None:
        return _message_table(res, lang)
    s = dec.segments
    low = bool((s["base_flag"] != "ok").any())
    df = pd.DataFrame({
        "segment": [segment_name(res, v, lang=lang, codebook=codebook) for v in s[dec.by]],
        "s1": s["share_base"].to_numpy(), "s2": s["share_target"].to_numpy(),
        "n1": [_v(res, x) for x in s["est_base"]], "n2": [_v(res, x) for x in s["est_target"]],
        "mix": [_d(res, x) for x in s["mix"]], "rate": [_d(res, x) for x in s["rate"]],
        "inter": [_d(res, x) for x in s["interaction"]],
    })
    total = {"segment": t("waves.col.total", lang), "s1": s["share_base"].sum(), "s2": s["share_target"].sum(),
             "n1": _v(res, dec.est_base), "n2": _v(res, dec.est_target),
             "mix": _d(res, s["mix"].sum()), "rate": _d(res, s["rate"].sum()),
             "inter": _d(res, s["interaction"].sum())}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    flags = [_flag(f) for f in s["base_flag"]] + [""]
    p1, p2 = period_name(res, dec.base, lang), period_name(res, dec.target, lang)
    head = _value_header(res, lang, codebook)
    labels = {"segment": _label(codebook, res.mix_by, lang), "s1": t("waves.col.share_at", lang, period=p1),
              "s2": t("waves.col.share_at", lang, period=p2), "n1": t("waves.col.at", lang, what=head, period=p1),
              "n2": t("waves.col.at", lang, what=head, period=p2), "mix": t("waves.col.mix", lang),
              "rate": t("waves.col.rate", lang), "inter": t("waves.col.interaction", lang)}
    note = t("waves.note.decomposition", lang, metric=_metric_short(res, lang))
    if low:
        note += " · " + t("lowbase.marker", lang)
    return _table(df, labels, {"s1": "pct0", "s2": "pct0", "n1": _vfmt(res), "n2": _vfmt(res), "mix": _dfmt(res),
                               "rate": _dfmt(res), "inter": _dfmt(res)},
                  caption=t("waves.cap.decomposition", lang, p1=p1, p2=p2, segment=_var_words(codebook, res.mix_by, lang),
                            unit=_unit_words(res, lang, codebook)), note=note, base_flags={"segment": flags})


def _unit_words(res, lang, codebook):
    """``NPS points`` / ``percentage points`` / ``scale points``: the unit of a change."""
    m = res.headline.get("metric")
    if m == "nps":
        return t("waves.unit.nps_points", lang)
    return t("waves.unit.pp_words" if _is_share(res.headline) else "waves.unit.scale_points", lang)


def components_table(res, *, lang="en", decomposition=None, codebook=None):
    """The totals of the decomposition with SEs, intervals and p-values."""
    _need(res, "mix_waterfall")
    dec = decomposition or res.decomposition
    if dec is None:
        return _message_table(res, lang)
    sm = dec.summary.set_index("component")
    names = ["total", "mix_mid", "rate_mid", "mix", "rate", "interaction"]
    f = _factor(res.headline)
    df = pd.DataFrame({
        "component": [t(f"waves.comp.{c}", lang) for c in names],
        "est": [_d(res, sm.loc[c, "est"]) for c in names],
        "se": [f * sm.loc[c, "se"] for c in names],
        "ci": [_dinterval(res, sm.loc[c, "ci_low"], sm.loc[c, "ci_high"]) for c in names],
        "p": [sm.loc[c, "p_val"] for c in names],
        "sig": [t("waves.yes", lang) if sm.loc[c, "p_val"] < _alpha(res) else t("waves.no", lang) for c in names],
    })
    labels = {"component": t("waves.col.component", lang), "est": _cap(_unit_words(res, lang, codebook)),
              "se": t("waves.col.se", lang), "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "p": t("waves.col.p", lang), "sig": t("waves.col.sig", lang, conf=_conf(res))}
    return _table(df, labels, {"est": _dfmt(res), "se": "num3" if res.headline.get("metric") == "mean_score" else "num2",
                               "p": "pval"},
                  caption=t("waves.cap.components", lang, p1=period_name(res, dec.base, lang),
                            p2=period_name(res, dec.target, lang)),
                  note=t("waves.note.components", lang))


def mix_note(res, *, lang="en", codebook=None):
    """How the mix adjustment is done (reference mix, fixed shares)."""
    _need(res, "mix")
    text = t("waves.note.mix", lang, ref=reference_words(res, lang, codebook),
             metric=_metric_mid(res, lang, codebook), segment=_var_words(codebook, res.mix_by, lang))
    agree = _mix_chart_vs_text(res, lang, codebook)
    return text + (_sep(lang) + agree if agree else "")


def _mix_chart_vs_text(res, lang, codebook):
    """Why the chart's mix-adjusted change differs from the like-for-like change in the text
    (None when they print the same): the chart holds the reference mix, the text splits the
    interaction of mix and rate evenly."""
    st, dec = res.standardized, res.decomposition
    if st is None or dec is None:
        return None
    st = st.set_index("wave")
    if dec.base not in st.index or dec.target not in st.index:
        return None
    chart = _sdiff(res, st.loc[dec.target, "std_est"], st.loc[dec.base, "std_est"])
    rate = dec.component("rate_mid")["est"]
    half = dec.component("interaction")["est"] / 2
    if _nan(chart) or _dnum(res, chart) == _dnum(res, rate) or _dnum(res, half) in ("0.0", "0.00", "–"):
        return None  # equal as printed, or apart by rounding only (the method notes say so)
    return t("waves.note.mix_vs_text", lang, base=period_name(res, dec.base, lang),
             latest=period_name(res, dec.target, lang), chart=_chg(res, chart, lang, signed=True),
             rate=_chg(res, rate, lang, signed=True), ref=reference_words(res, lang, codebook),
             inter=_chg(res, dec.component("interaction")["est"] / 2, lang, signed=True))


def benchmark_table(res, *, lang="en", codebook=None):
    """Latest wave: brands with letters, headline metric, CI, difference to ours (arrow) and letters."""
    _need(res, "benchmark")
    bm = res.benchmark
    low = bool((bm["base_flag"] != "ok").any())
    ours = float(bm.loc[bm["brand"] == res.our_brand, "est"].iloc[0])
    df = pd.DataFrame({
        "brand": [f"{brand_name(b, lang=lang, codebook=codebook)}" for b in bm["brand"]],
        "letter": bm["letter"].to_numpy(),
        "est": [_v(res, e) for e in bm["est"]],
        "ci": [_interval(res, a, b) for a, b in zip(bm["ci_low"], bm["ci_high"])],
        "diff": [_d(res, _sdiff(res, e, ours)) if not _nan(d) else np.nan for e, d in zip(bm["est"], bm["diff"])],
        "letters": bm["sig_letters"].to_numpy(),
        "n": bm["n"].to_numpy(),
        "n_eff": bm["n_eff"].to_numpy(),
    })
    sig = [_sig1(g) if not _nan(d) else "" for d, g in zip(bm["diff"], bm["sig"])]
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    labels = {"brand": t("waves.col.brand", lang), "letter": t("waves.col.letter", lang),
              "est": _value_header(res, lang, codebook),
              "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "diff": t("waves.col.vs_ours", lang, brand=brand), "letters": t("waves.col.higher_than", lang),
              "n": t("waves.col.n", lang), "n_eff": t("waves.col.n_eff", lang)}
    note = t("waves.note.letters", lang, conf=_conf(res), brand=brand)
    if res.weighting == "raked":
        note += " · " + t("waves.note.bench_raked", lang, brand=brand)
    if res.fdr:
        note += " · " + t("waves.note.fdr", lang)
    if low:
        note += " · " + t("lowbase.marker", lang)
    return _table(df, labels, {"est": _vfmt(res), "diff": _dfmt(res), "n": "int", "n_eff": "int"},
                  caption=t("waves.cap.benchmark", lang, metric=metric_name(res, lang=lang, codebook=codebook),
                            period=period_name(res, res.wave, lang)), note=note,
                  sig={"diff": sig}, base_flags={"est": [_flag(f) for f in bm["base_flag"]]})


def xo_table(res, *, lang="en", codebook=None):
    """Retention, spend and tickets by NPS group (one row per group)."""
    _need(res, "xo")
    xo = res.xo
    groups = ["promoter", "passive", "detractor"]
    rows = []
    for g in groups:
        row = {"group": t(f"waves.group.{g}", lang)}
        for oc in dict.fromkeys(xo["outcome"]):
            r = xo[(xo["outcome"] == oc) & (xo["nps_group"] == g)]
            if not len(r):
                row[oc] = "–"
                continue
            r = r.iloc[0]
            if oc == "retained_6m":
                row[oc] = f"{fmt_pct(r['est'], 1)} (±{100 * (r['ci_high'] - r['est']):.1f})"
            elif oc == "spend_6m":
                row[oc] = f"{fmt_num(r['est'], 0)} (±{r['ci_high'] - r['est']:.0f})"
            else:
                row[oc] = f"{fmt_num(r['est'], 2)} (±{r['ci_high'] - r['est']:.2f})"
            row["n"] = r["n"]
        rows.append(row)
    df = pd.DataFrame(rows)
    labels = {"group": t("waves.col.group", lang), "n": t("waves.col.n", lang),
              **{oc: t(f"waves.xo.{oc}", lang) for oc in dict.fromkeys(xo["outcome"])}}
    tests = res.xo_tests
    marks = "; ".join(
        f"{t(f'waves.xo.{r.outcome}', lang)}: {_diff_words(r, lang)} ({sig_words(r.p_val, conf=res.conf, lang=lang)})"
        for r in tests.itertuples())
    return _table(df, labels, {"n": "int"}, caption=t("waves.cap.xo", lang),
                  note=t("waves.note.xo", lang, conf=_conf(res), tests=marks))


def _diff_words(r, lang):
    """Promoters minus detractors as the difference of the printed values."""
    if r.outcome == "retained_6m":
        return t("waves.diff_pp", lang, x=_signed(_pct_diff(r.est_high, r.est_low, 1)))
    digits = 0 if r.outcome == "spend_6m" else 2
    return _signed(round(round(r.est_high, digits) - round(r.est_low, digits), digits), digits)


def xo_segment_table(res, *, lang="en", codebook=None):
    """Retention by segment and NPS group."""
    _need(res, "xo")
    _need(res, "xo_segments")
    xs = res.xo_segments
    col = res.mix_by
    rows = []
    groups = ("promoter", "passive", "detractor")
    flags = {g: [] for g in groups}
    for lv in dict.fromkeys(xs[col]):
        row = {"segment": segment_name(res, lv, lang=lang, codebook=codebook)}
        for g in groups:
            r = xs[(xs[col] == lv) & (xs["nps_group"] == g)]
            row[g] = float(r["est"].iloc[0]) if len(r) else np.nan
            flags[g].append(_flag(r["base_flag"].iloc[0]) if len(r) else "")
        sub = xs[xs[col] == lv]
        row["n"] = int(sub["n"].sum())
        rows.append(row)
    df = pd.DataFrame(rows)
    labels = {"segment": _label(codebook, col, lang), "n": t("waves.col.n", lang),
              **{g: t(f"waves.group.{g}", lang) for g in ("promoter", "passive", "detractor")}}
    note = t("lowbase.marker", lang) if any(f for v in flags.values() for f in v) else None
    return _table(df, labels, {"n": "int", **{g: "pct1" for g in groups}},
                  caption=t("waves.cap.xo_segments", lang, segment=_var_words(codebook, col, lang)), note=note,
                  base_flags=flags)


def survivorship_table(res, *, lang="en", codebook=None):
    """Survivorship check: what churn alone does to the base wave against the observed change,
    and the test of the verdict (the latest wave against the base wave's stayers)."""
    _need(res, "survivorship")
    s = res.survivorship
    names = ["total", "mix_mid", "rate_mid"]
    eff = s.churn_effect.set_index("component")
    obs = s.observed
    df = pd.DataFrame({
        "component": [t(f"waves.comp.{c}", lang) for c in names],
        "churn": [_d(res, _sdiff(res, s.est_stayed, s.est_all)) if c == "total" else _d(res, eff.loc[c, "est"])
                  for c in names],
        "churn_ci": [_dinterval(res, eff.loc[c, "ci_low"], eff.loc[c, "ci_high"]) for c in names],
        "observed": [_d(res, _observed_total(res, s) if c == "total" else obs.get(c, np.nan)) for c in names],
        "obs_sig": [sig_words(obs.get(c + "_p"), conf=res.conf, lang=lang) for c in names],
    })
    p1, p2 = period_name(res, s.base_wave, lang), period_name(res, s.latest_wave, lang)
    labels = {"component": t("waves.col.component", lang),
              "churn": t("waves.col.churn_effect", lang, base=p1, latest=p2),
              "churn_ci": t("waves.col.ci", lang, conf=_conf(res)),
              "observed": t("waves.col.observed", lang, base=p1, latest=p2),
              "obs_sig": t("waves.col.sig", lang, conf=_conf(res))}
    note = t("waves.note.survivorship", lang, base=p1, latest=p2, all=_val(res, s.est_all, lang),
             stayed=_val(res, s.est_stayed, lang))
    return _table(df, labels, {"churn": _dfmt(res), "observed": _dfmt(res)}, caption=t("waves.cap.survivorship", lang),
                  note=note)


def survivorship_test_table(res, *, lang="en", codebook=None):
    """The test behind the verdict: the latest wave against what the base wave's customers who
    stayed scored (what the latest wave would score if churn were the only change)."""
    _need(res, "survivorship")
    s = res.survivorship
    b = s.beyond_churn
    if not b:
        raise _unavailable(None)
    p1, p2 = period_name(res, s.base_wave, lang), period_name(res, s.latest_wave, lang)
    head = _value_header(res, lang, codebook)
    df = pd.DataFrame([{
        "stayed": _v(res, b["est_stayed"]), "latest": _v(res, b["est_latest"]),
        "diff": _d(res, _sdiff(res, b["est_latest"], b["est_stayed"])),
        "ci": _dinterval(res, b["ci_low"], b["ci_high"]), "z": b["z"], "p": b["p_val"],
    }])
    labels = {"stayed": t("waves.col.stayed", lang, what=head, base=p1, latest=p2),
              "latest": t("waves.col.at", lang, what=head, period=p2),
              "diff": t("waves.col.difference", lang), "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "z": "z", "p": t("waves.col.p", lang)}
    return _table(df, labels, {"stayed": _vfmt(res), "latest": _vfmt(res), "diff": _dfmt(res), "z": "num2", "p": "pval"},
                  caption=t("waves.cap.surv_test", lang),
                  note=t("waves.note.surv_test", lang, base=p1, latest=p2, conf=_conf(res)))


def _followup_parts(res):
    fl = res.followup
    score = fl.attrs.get("score") or res.headline["score"]
    verbatim = fl.attrs.get("verbatim")
    id_col = fl.attrs.get("id_col") or fl.columns[0]
    return fl, score, verbatim, id_col


def _has_text(frame, col):
    if col is None or col not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame[col].astype(str).str.len() > 0


def _followup_counts(res):
    """The counts of the follow-up list (``res.followup_summary``; made here from the list for a
    result built without it)."""
    if res.followup_summary is not None:
        return res.followup_summary
    from ..waves import followup_summary

    return followup_summary(res.followup, by=res.mix_by or None)


def followup_text(res, *, lang="en", file="detractor_followup.csv", codebook=None):
    """What the follow-up list holds and where it is (``file``: its name or path)."""
    _need(res, "followup")
    file = Path(file).name if file else ""
    fl, score, verbatim, _ = _followup_parts(res)
    counts = _followup_counts(res)
    pii = [c for c in (codebook.pii_columns() if codebook is not None else []) if c in fl.columns]
    text = t("waves.followup.text", lang, n=f"{len(fl):,}", wave=_wave(res, res.wave, lang), file=file)
    if verbatim is not None:
        text += _sep(lang) + t("waves.followup.verbatims", lang, verb=f"{counts.attrs['n_verbatim']:,}")
    if pii:
        text += _sep(lang) + t("waves.followup.pii", lang, cols=join_list([_var_words(codebook, c, lang) for c in pii], lang))
    else:
        text += _sep(lang) + t("waves.followup.no_pii", lang)
    return text


def followup_table(res, *, lang="en", codebook=None):
    """Detractors to follow up, by segment (counts and share with a verbatim)."""
    _need(res, "followup")
    _, _, verbatim, _ = _followup_parts(res)
    counts = _followup_counts(res)
    df = pd.DataFrame({
        "segment": [t("waves.col.total", lang) if tot else segment_name(res, lv, lang=lang, codebook=codebook)
                    for lv, tot in zip(counts["group"], counts["total"])],
        "n": counts["n"].to_numpy(), "zero_to_three": counts["n_low"].to_numpy()})
    if verbatim is not None:
        df["verbatim"] = counts["with_verbatim"].to_numpy()
    labels = {"segment": _label(codebook, res.mix_by, lang) if res.mix_by else "",
              "n": t("waves.col.detractors", lang), "zero_to_three": t("waves.col.score_0_3", lang),
              "verbatim": t("waves.col.with_verbatim", lang)}
    return _table(df, labels, {"n": "int", "zero_to_three": "int", "verbatim": "pct0"},
                  caption=t("waves.cap.followup", lang, period=period_name(res, res.wave, lang)))


def followup_sample(res, *, lang="en", codebook=None, k=8):
    """The first ``k`` entries of the list, without contact data (id, segment, score, verbatim)."""
    _need(res, "followup")
    fl, score, verbatim, id_col = _followup_parts(res)
    has = fl[_has_text(fl, verbatim)] if verbatim is not None else fl
    sample = has.head(k)
    data = {"id": sample[id_col].astype(str)}
    if res.mix_by and res.mix_by in sample.columns:
        data["segment"] = [segment_name(res, v, lang=lang, codebook=codebook) for v in sample[res.mix_by]]
    data["score"] = sample[score]
    if verbatim is not None:
        data["verbatim"] = sample[verbatim]
    df = pd.DataFrame(data)
    labels = {"id": _label(codebook, id_col, lang), "segment": _label(codebook, res.mix_by, lang) if res.mix_by else "",
              "score": t("waves.col.score", lang), "verbatim": _label(codebook, verbatim, lang) if verbatim else ""}
    extra = [c for c in fl.columns if c not in (id_col, score, verbatim, res.mix_by, "wave")]
    ids = [c for c in extra if codebook is not None and c in codebook and codebook.question(c).type == "id"]
    key = "waves.cap.followup_sample" if verbatim is not None else "waves.cap.followup_sample_all"
    if ids:
        note = t("waves.note.followup_sample_ids", lang,
                 ids=join_list([_var_words(codebook, c, lang) for c in ids], lang))
    else:
        note = t("waves.note.followup_sample", lang)
    return _table(df, labels, {"score": "int"}, caption=t(key, lang, k=len(df)), note=note)


# --------------------------------------------------------------------------------------------
# appendix: weighting
# --------------------------------------------------------------------------------------------
def _margin_vars(ww, lang, codebook):
    return join_list([_var_words(codebook, v, lang) for v in (ww.margins or {})], lang)


def _whose(res, lang, codebook):
    if res is not None and res.brands:
        return t("waves.weights.whose_brand", lang, brand=brand_name(res.our_brand, lang=lang, codebook=codebook))
    return t("waves.weights.whose_all", lang)


def weighting_text(ww, res=None, *, lang="en", codebook=None):
    """Which weights the report uses and how the raked weights were made."""
    trim = t("waves.weights.trim", lang, x=f"{ww.trim_upper:g}") if ww.trim_upper else t("waves.weights.no_trim", lang)
    start = t(f"waves.weights.start.{ww.base}", lang)
    fields = {"vars": _margin_vars(ww, lang, codebook), "trim": trim, "start": start,
              "whose": _whose(res, lang, codebook)}
    parts = [t(f"waves.weights.used.{ww.method}", lang, **(fields if ww.method == "raked" else {}))]
    if ww.method == "raked" and res is not None and res.brands:
        parts.append(t("waves.weights.competitors", lang))
    if ww.method != "raked" and ww.raked is not None:
        parts.append(t("waves.weights.compare", lang, **fields))
    if ww.problem:
        parts.append(t("waves.weights.problem", lang, detail=ww.problem))
    return _sep(lang).join(parts)


def weights_table(ww, res, *, lang="en", codebook=None):
    """Efficiency of the weights per wave (our brand): n, starting deff and, with raking, raked
    n_eff and deff and the weight range."""
    if ww.method == "none" and ww.raked is None:
        raise _unavailable(None)
    dg = ww.diagnostics
    df = pd.DataFrame({"period": [period_name(res, w, lang) for w in dg["wave"]], "n": dg["n"],
                       "deff_design": dg["deff_design"]})
    formats = {"n": "int", "deff_design": "num3"}
    if ww.raked is not None:
        for c in ("n_eff", "deff", "min", "max", "trimmed"):
            df[c] = dg[c]
        formats.update({"n_eff": "int", "deff": "num3", "min": "num2", "max": "num2", "trimmed": "int"})
    else:
        df["n_eff"] = dg["n_eff_design"]
        formats["n_eff"] = "int"
    labels = {"period": t("waves.col.period", lang), "n": t("waves.col.n", lang),
              "deff_design": t("waves.col.deff_design", lang),
              "n_eff": t("waves.col.n_eff_raked" if ww.raked is not None else "waves.col.n_eff", lang),
              "deff": t("waves.col.deff_raked", lang), "min": t("waves.col.w_min", lang),
              "max": t("waves.col.w_max", lang), "trimmed": t("waves.col.trimmed", lang)}
    return _table(df, labels, formats, caption=t("waves.cap.weights", lang, whose=_whose(res, lang, codebook)),
                  note=t("waves.note.weights" if ww.raked is not None else "waves.note.weights_design", lang))


def margins_table(margins, res=None, *, lang="en", codebook=None, period=None):
    """Weighted shares against the raking targets (from :func:`workbench.waves.margin_table`)."""
    if margins is None:
        raise _unavailable(None)
    if period is None:
        period = period_name(res, res.wave, lang) if res is not None else ""
    base = margins.attrs.get("base") or ("design" if "design" in margins.columns else "none")
    df = pd.DataFrame({
        "variable": [_label(codebook, v, lang) for v in margins["variable"]],
        "level": [level_label(codebook, v, lv, lang) for v, lv in zip(margins["variable"], margins["level"])],
        "target": margins["target"], "start": margins[base], "raked": margins["raked"],
    })
    labels = {"variable": t("waves.col.variable", lang), "level": t("waves.col.level", lang),
              "target": t("waves.col.target", lang), "start": t(f"waves.weighting.{base}", lang),
              "raked": t("waves.col.raked_w", lang)}
    return _table(df, labels, {"target": "pct1", "start": "pct1", "raked": "pct1"},
                  caption=t("waves.cap.margins", lang, period=period))


def sensitivity_table(sens, res, *, lang="en", codebook=None):
    """The headline metric under each weighting: base, reference and report wave, the changes."""
    if sens is None:
        raise _unavailable(None)
    spec = res.headline
    has_ref = "est_ref" in sens.columns and res.ref_wave is not None and res.ref_wave != res.base_wave
    has_base = res.base_wave != res.wave
    data = {"weighting": [t(f"waves.weighting.{w}", lang) + (" ✓" if w == res.weighting else "")
                          for w in sens["weighting"]]}
    sig = {}
    if has_base:
        data["base"] = [_v(res, x, spec) for x in sens["est_base"]]
    if has_ref:
        data["ref"] = [_v(res, x, spec) for x in sens["est_ref"]]
    data["latest"] = [_v(res, x, spec) for x in sens["est"]]
    if has_ref:
        data["diff_ref"] = [_d(res, _sdiff(res, e, r)) for e, r in zip(sens["est"], sens["est_ref"])]
        sig["diff_ref"] = [_sig1(g) for g in sens["sig_ref"]]
    if has_base:
        data["diff"] = [_d(res, _sdiff(res, e, b)) for e, b in zip(sens["est"], sens["est_base"])]
        sig["diff"] = [_sig1(g) for g in sens["sig"]]
    data["n_eff"] = sens["n_eff"].to_numpy()
    df = pd.DataFrame(data)
    metric = _value_header(res, lang, codebook)
    labels = {"weighting": t("waves.col.weighting", lang),
              "base": t("waves.col.at", lang, what=metric, period=period_name(res, res.base_wave, lang)),
              "ref": t("waves.col.at", lang, what=metric, period=period_name(res, res.ref_wave, lang)),
              "latest": t("waves.col.at", lang, what=metric, period=period_name(res, res.wave, lang)),
              "diff_ref": t("waves.col.change_vs", lang, period=period_name(res, res.ref_wave, lang)),
              "diff": t("waves.col.change_vs", lang, period=period_name(res, res.base_wave, lang)),
              "n_eff": t("waves.col.n_eff_latest", lang)}
    v, dv = _vfmt(res, spec), _dfmt(res, spec)
    return _table(df, labels, {"base": v, "ref": v, "latest": v, "diff_ref": dv, "diff": dv, "n_eff": "int"},
                  caption=t("waves.cap.sensitivity", lang),
                  note=_sig_note(res, lang) + " · " + t("waves.note.sensitivity", lang), sig=sig)


def sensitivity_findings(sens, res, *, lang="en", codebook=None):
    """The headline under the other weighting (the design-weighted figure of a raked report, or
    the raked figure of a design-weighted one), and what the sample's drift did to it."""
    if sens is None:
        raise _unavailable(None)
    s = sens.set_index("weighting")
    start = [w for w in s.index if w != "raked"]
    if not start or "raked" not in s.index:
        return []
    d, r = s.loc[start[0]], s.loc["raked"]
    metric = _metric_mid(res, lang, codebook)
    wave = _wave(res, res.wave, lang)

    def words(row):
        parts = []
        if res.ref_wave is not None and "est_ref" in row.index and not _nan(row["est_ref"]):
            parts.append(t("waves.sens.vs", lang, diff=_chg(res, _sdiff(res, row["est"], row["est_ref"]), lang,
                                                          signed=True), ref=_ref_words(res, res.ref_wave, lang)))
        if res.base_wave != res.wave and res.base_wave != res.ref_wave:
            parts.append(t("waves.sens.since", lang, diff=_chg(res, _sdiff(res, row["est"], row["est_base"]), lang,
                                                             signed=True), base=_ref_words(res, res.base_wave, lang)))
        return ("; " if lang == "en" else "；").join(parts)

    out = [t(f"waves.find.sens.{start[0]}_{'reported' if res.weighting == 'raked' else 'raked'}", lang,
             metric=metric, wave=wave, d=_val(res, d["est"], lang), dchg=words(d),
             r=_val(res, r["est"], lang), rchg=words(r))]
    dec = res.design_decomposition
    if dec is not None:
        mix = dec.component("mix_mid")
        drive, direction = _drive(dec)
        out.append(t("waves.find.sens.drift", lang, base=_wave(res, dec.base, lang),
                     total=_chg(res, _sdiff(res, dec.est_target, dec.est_base), lang, signed=True),
                     mix=_chg(res, mix["est"], lang, signed=True),
                     shift=t(f"waves.find.shift_{direction}", lang, segment=_seg_words(res, drive[dec.by], lang, codebook)),
                     sig=sig_words(mix["p_val"], conf=res.conf, lang=lang),
                     weights=t(f"waves.fw.weights.{res.weighting_base}", lang)))
    return out


# --------------------------------------------------------------------------------------------
# fieldwork: the sample against the population targets
# --------------------------------------------------------------------------------------------
def _fw_waves(res):
    """Waves shown in the fieldwork table: all when few, else the first and the last four."""
    fw = res.fieldwork
    waves = sorted(int(w) for w in fw.attainment["wave"].unique())
    return waves if len(waves) <= 6 else [waves[0]] + waves[-4:]


def fieldwork_findings(res, *, lang="en", codebook=None):
    """The fieldwork page in words: groups off target (all), since when, quota attainment, what
    the report does about it, and how the brands' samples differ."""
    _need(res, "fieldwork")
    fw = res.fieldwork
    off = fw.off_target
    tol = fmt_num(100 * fw.tolerance, 0)
    wave = _wave(res, res.wave, lang)
    whose = _whose_sample(res, lang, codebook)
    out = []
    if not len(off):
        out.append(t("waves.fw.ok", lang, wave=wave, whose=whose, tol=tol))
    else:
        out.append(t("waves.fw.off", lang, wave=wave, whose=whose, tol=tol,
                     groups=join_list(_off_items(res, off, lang, codebook), lang)))
        waves_off = fw.waves_off
        if len(res.waves) > 1:
            key = "waves.fw.since" if waves_off and waves_off[0] != res.wave else "waves.fw.only_latest"
            out.append(t(key, lang, waves=join_list([_ref_words(res, w, lang) for w in waves_off], lang),
                         k=len(waves_off), n=len(res.waves)))
        att = [t("waves.fw.attain_item", lang, group=level_label(codebook, r.variable, r.level, lang),
                 a=fmt_pct(r.attainment)) for r in off.itertuples()]
        out.append(t("waves.fw.attainment", lang, wave=wave, items=join_list(att, lang)))
        out.append(_fieldwork_consequence(res, lang, codebook))
    pb = fw.brands
    if pb is not None and res.mix_by and res.mix_by in set(pb["variable"]):
        rows = pb[pb["variable"] == res.mix_by]
        spread = rows.groupby("level")["diff_ours"].apply(lambda d: d.abs().max())
        level = spread.idxmax()
        lv = rows[rows["level"] == level]
        mine = lv[lv["brand"] == res.our_brand]["share"].iloc[0]
        others = [t("waves.brand_value", lang, brand=brand_name(r.brand, lang=lang, codebook=codebook), value=fmt_pct(r.share))
                  for r in lv.itertuples() if r.brand != res.our_brand]
        if others:
            key = "waves.fw.brands_differ" if spread.max() > fw.tolerance + 1e-12 else "waves.fw.brands_alike"
            out.append(t(key, lang, group=_group_words(res, res.mix_by, level, lang, codebook), share=fmt_pct(mine),
                         brand=brand_name(res.our_brand, lang=lang, codebook=codebook),
                         others=join_list(others, lang), tol=tol, segment=_var_words(codebook, res.mix_by, lang)))
    return out


def fieldwork_table(res, *, lang="en", codebook=None):
    """Achieved against target mix of the sample, per wave: the target share, the achieved share of
    each wave (``†`` off target) and the latest wave's attainment."""
    _need(res, "fieldwork")
    fw = res.fieldwork
    a = fw.attainment
    waves = _fw_waves(res)
    rows, marks = [], {f"w{w}": [] for w in waves}
    for (var, level), grp in a.groupby(["variable", "level"], sort=False):
        g = grp.set_index("wave")
        row = {"variable": _label(codebook, var, lang), "level": level_label(codebook, var, level, lang),
               "target": g["target"].iloc[0]}
        for w in waves:
            r = g.loc[w] if w in g.index else None
            row[f"w{w}"] = r["share"] if r is not None else np.nan
            marks[f"w{w}"].append("†" if r is not None and r["off_target"] else "")
        last = g.loc[fw.wave] if fw.wave in g.index else None
        row["attainment"] = last["attainment"] if last is not None else np.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    labels = {"variable": t("waves.col.variable", lang), "level": t("waves.col.level", lang),
              "target": t("waves.col.target", lang),
              **{f"w{w}": period_name(res, w, lang) for w in waves},
              "attainment": t("waves.col.attainment", lang, period=period_name(res, fw.wave, lang))}
    return _table(df, labels, {"target": "pct1", "attainment": "pct0", **{c: "pct1" for c in marks}},
                  caption=t("waves.cap.fieldwork", lang, whose=_whose_sample(res, lang, codebook)),
                  note=t(f"waves.note.fieldwork.{fw.weights}", lang, tol=fmt_num(100 * fw.tolerance, 0)),
                  sig=marks)  # † (off target, explained in the note) is a mark beside the value


def fieldwork_brand_table(res, *, lang="en", codebook=None):
    """The report's wave: each brand's achieved mix next to the targets (which describe our
    brand's customers)."""
    _need(res, "fieldwork")
    fw = res.fieldwork
    pb = fw.brands
    if pb is None or not len(pb):
        raise _unavailable(None)
    brands = list(dict.fromkeys(pb["brand"]))
    rows, marks = [], {f"b{i}": [] for i in range(len(brands))}
    for (var, level), grp in pb.groupby(["variable", "level"], sort=False):
        g = grp.set_index("brand")
        row = {"variable": _label(codebook, var, lang), "level": level_label(codebook, var, level, lang),
               "target": g["target"].iloc[0]}
        for i, b in enumerate(brands):
            share = g.loc[b, "share"] if b in g.index else np.nan
            off = b == res.our_brand and not _nan(share) and abs(share - row["target"]) > fw.tolerance + 1e-12
            row[f"b{i}"] = share
            marks[f"b{i}"].append("†" if off else "")
        rows.append(row)
    df = pd.DataFrame(rows)
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    labels = {"variable": t("waves.col.variable", lang), "level": t("waves.col.level", lang),
              "target": t("waves.col.target_of", lang, brand=brand),
              **{f"b{i}": brand_name(b, lang=lang, codebook=codebook) for i, b in enumerate(brands)}}
    return _table(df, labels, {"target": "pct1", **{c: "pct1" for c in marks}},
                  caption=t("waves.cap.fieldwork_brands", lang, period=period_name(res, fw.wave, lang)),
                  note=t(f"waves.note.fieldwork_brands.{fw.weights}", lang, brand=brand,
                         tol=fmt_num(100 * fw.tolerance, 0)),
                  sig=marks)


def benchmark_std_table(res, *, lang="en", codebook=None):
    """The brands at one mix by ``mix_by``: reported and mix-standardised metric, the gap to our
    brand at that mix (difference of the printed values) and its test."""
    _need(res, "benchmark")
    _need(res, "benchmark_std")
    bs = res.benchmark_std
    spec = res.headline
    ours = bs.iloc[0]
    low = bool((bs["std_flag"] != "ok").any())
    df = pd.DataFrame({
        "brand": [brand_name(b, lang=lang, codebook=codebook) for b in bs["brand"]],
        "est": [_v(res, e, spec) for e in bs["est"]],
        "std": [_v(res, e, spec) for e in bs["std_est"]],
        "ci": [_interval(res, a, b) for a, b in zip(bs["std_ci_low"], bs["std_ci_high"])],
        "diff": [np.nan if i == 0 else _d(res, _sdiff(res, e, ours["std_est"]))
                 for i, e in enumerate(bs["std_est"])],
        "p": bs["p_adj"].to_numpy(),
    })
    sig = ["" if i == 0 else _sig1(g) for i, g in enumerate(bs["sig"])]
    brand = brand_name(res.our_brand, lang=lang, codebook=codebook)
    head = _value_header(res, lang, codebook)
    labels = {"brand": t("waves.col.brand", lang), "est": t("waves.col.reported", lang, what=head),
              "std": t("waves.col.at_mix", lang, what=head), "ci": t("waves.col.ci", lang, conf=_conf(res)),
              "diff": t("waves.col.vs_ours", lang, brand=brand), "p": t("waves.col.p", lang)}
    ref = res.benchmark_std.attrs.get("reference_mix", {})
    shares = join_list([t("waves.brand_value", lang, brand=segment_name(res, k, lang=lang, codebook=codebook),
                          value=fmt_pct(v)) for k, v in ref.items()], lang)
    note = t("waves.note.bench_std", lang, segment=_var_words(codebook, res.mix_by, lang),
             ref=_bench_ref_words(res, lang, codebook), shares=shares) + " · " + _sig_note(res, lang, low)
    return _table(df, labels, {"est": _vfmt(res, spec), "std": _vfmt(res, spec), "diff": _dfmt(res, spec), "p": "pval"},
                  sig={"diff": sig}, base_flags={"std": [_flag(f) for f in bs["std_flag"]]},
                  caption=t("waves.cap.bench_std", lang, metric=metric_name(res, lang=lang, codebook=codebook),
                            segment=_var_words(codebook, res.mix_by, lang), period=period_name(res, res.wave, lang)),
                  note=note)


def method_notes(res, *, lang="en", codebook=None):
    """Bullets on how the numbers were made (weights, tests, multiplicity, low bases, rounding,
    mix, limits, survivorship)."""
    keys = ["waves.method.design" if res.weighting != "none" else "waves.method.unweighted"]
    if res.weighting == "raked":
        keys.append("waves.method.raked")
    keys += ["waves.method.tests_brands" if res.brands else ("waves.method.tests" if res.mix_by
                                                              else "waves.method.tests_waves"),
             "waves.method.fdr_on" if res.fdr else "waves.method.fdr_off", "waves.method.lowbase",
             "waves.method.rounding"]
    if res.headline.get("metric") != "nps":
        keys.append("waves.method.metric_share" if _is_share(res.headline) else "waves.method.metric_mean")
    if res.fieldwork is not None and "fieldwork" not in res.unavailable:
        keys.append("waves.method.fieldwork")
    if "mix" not in res.unavailable:
        keys.append("waves.method.mix")
    if res.benchmark_std is not None and "benchmark_std" not in res.unavailable:
        keys.append("waves.method.bench_std")
    if "trend" not in res.unavailable:
        keys.append("waves.method.control")
    if "xo" not in res.unavailable:
        keys.append("waves.method.xo")
    if "survivorship" not in res.unavailable:
        keys.append("waves.method.survivorship")
    spec = res.headline
    lo, hi = _scale_words(spec)
    fields = {"conf": _conf(res), "caution": f"{res.rule.caution:g}", "min_test": f"{res.rule.min_test:g}",
              "centre": _centre_rule(res, lang),
              "ref": reference_words(res, lang, codebook) if res.mix_by else "",
              "metric": metric_name(res, lang=lang, codebook=codebook), "k": spec.get("top", spec.get("bottom", "")),
              "lo": lo or "", "hi": hi or "", "tol": fmt_num(100 * res.mix_tolerance, 0),
              "segment": _var_words(codebook, res.mix_by, lang) if res.mix_by else "",
              "vars": _target_vars(res, lang, codebook)}
    return [t(k, lang, **fields) for k in keys]
