"""Words of the sampling-design report, written from results in English or Chinese.

The executive summary, key findings and recommendations are sentences built from a
:class:`workbench.sampling.SampleDesign` and its boost options; the ``*_table`` functions return
the keyword arguments of :func:`workbench.report.table` (numbers as numbers, translated headers,
named number formats, a caption, and a ``base_flags`` frame where a base is low), so a notebook
shows a table with one call::

    report.table(**story.brand_table(des, lang=ctx.lang, codebook=ctx.codebook))

Every visible word comes from ``workbench/data/i18n/sampling.yaml``.  Every number comes from the
design (:class:`~workbench.sampling.SampleDesign`: its views and power methods); nothing is
computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..reportmodel import BASE_CAUTION
from . import fmt_num, fmt_pct, join_list, level_label, t

__all__ = [
    "brand_name",
    "design_sentence",
    "intro",
    "executive_summary",
    "key_findings",
    "glance_table",
    "settings_table",
    "brand_table",
    "precision_table",
    "allocation_table",
    "boost_table",
    "boost_findings",
    "quota_grid_table",
    "quota_marginal_table",
    "quota_headers",
    "draw_table",
    "files_table",
    "power_table",
    "power_findings",
    "recommendations",
    "as_markdown",
]


# --------------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------------
def _var(codebook, column, lang):
    if codebook is not None and column in codebook:
        return codebook.label(column, lang)
    return str(column)


def brand_name(design, code, *, lang="en", codebook=None):
    """Display name of a brand code (codebook label in ``lang``)."""
    return level_label(codebook, design.brand_col, code, lang)


def _ours(design, lang, codebook):
    return brand_name(design, design.ours, lang=lang, codebook=codebook)


def _competitors(design, lang, codebook):
    return [brand_name(design, c, lang=lang, codebook=codebook) for c in design.competitors]


def _n(x):
    return f"{x:,.0f}"


def _pts(x):
    return fmt_num(float(x), 1)


def _g(x):
    """A parameter as written: ``5.0`` -> ``"5"``, ``2.5`` -> ``"2.5"``."""
    return f"{float(x):g}"


def as_markdown(items):
    """Bullets as a Markdown list."""
    return "\n".join(f"- {i}" for i in items)


def _range(values, digits=1):
    """``6.5`` when all values round alike, else ``6.5–6.6``."""
    v = [float(x) for x in values if not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return "–"
    lo, hi = fmt_num(min(v), digits), fmt_num(max(v), digits)
    return lo if lo == hi else f"{lo}–{hi}"


def _int_range(values):
    v = [int(x) for x in values]
    return _n(min(v)) if min(v) == max(v) else f"{_n(min(v))}–{_n(max(v))}"


def _strata_words(design, lang, codebook):
    """Label of the within-brand strata, e.g. "region" / "区域"."""
    cols = list(design.strata[1:])
    if not cols:
        return ""
    words = " × ".join(_var(codebook, c, lang) for c in cols)
    return words.lower() if lang == "en" else words


def _comp_brands(design):
    return design.brands[design.brands["role"] == "competitor"]


def _ours_row(design):
    return design.brands[design.brands["role"] == "ours"].iloc[0]


def _table(df, labels, formats, caption=None, note=None, text_columns=None, base_flags=None):
    """Keyword arguments of :func:`workbench.report.table`: numeric data, named formats, and a
    ``base_flags`` frame (``"caution"`` per low-base cell) when any base is low."""
    out = {"df": df, "labels": labels, "formats": formats, "caption": caption, "note": note}
    if text_columns is not None:
        out["text_columns"] = text_columns
    if base_flags is not None:
        out["base_flags"] = base_flags
    return out


# --------------------------------------------------------------------------------------------
# executive summary and findings
# --------------------------------------------------------------------------------------------
def _method_phrase(design, lang):
    return t(f"sampling.method.{design.settings['method']}", lang)


def _bounds_phrase(design, lang):
    s = design.settings
    parts = []
    if s["min_n"]:
        parts.append(t("sampling.bounds.min", lang, min_n=_n(s["min_n"])))
    if s["max_n"]:
        parts.append(t("sampling.bounds.max", lang, max_n=_n(s["max_n"])))
    if not parts:
        return ""
    return t("sampling.bounds.wrap", lang, bounds=t("sampling.list_sep", lang).join(parts))


def design_sentence(design, *, lang="en", codebook=None):
    """One sentence: total base, per-brand bases and how they are spread across the strata."""
    br = design.brands
    ours = _ours(design, lang, codebook)
    comp = _comp_brands(design)
    names = _competitors(design, lang, codebook)
    k = int(br["strata"].max())
    fields = dict(n=_n(design.total["n"]), ours=ours, n_ours=_n(_ours_row(design)["n"]),
                  competitors=join_list(names, lang), strata=_strata_words(design, lang, codebook),
                  k=k, method=_method_phrase(design, lang), bounds=_bounds_phrase(design, lang))
    if design.settings["target_moe"] is not None:
        per = [f"{brand_name(design, b, lang=lang, codebook=codebook)} {_n(n)}"
               for b, n in zip(br[design.brand_col], br["n"])]
        fields.update(target=_pts(design.settings["target_moe"]),
                      bases=t("sampling.list_sep", lang).join(per))
        head = t("sampling.summary.target", lang, **fields)
    elif not len(comp):
        head = t("sampling.summary.ours_only", lang, **fields)
    elif comp["n"].nunique() == 1:
        key = "sampling.summary.fixed" if len(comp) > 1 else "sampling.summary.fixed_one"
        head = t(key, lang, n_comp=_n(comp["n"].iloc[0]), **fields)
    else:
        per = [f"{brand_name(design, b, lang=lang, codebook=codebook)} {_n(n)}"
               for b, n in zip(comp[design.brand_col], comp["n"])]
        head = t("sampling.summary.fixed_each", lang, bases=t("sampling.list_sep", lang).join(per),
                 **fields)
    if len(design.strata) > 1:
        head += t("sampling.summary.spread", lang, **fields)
    else:
        head += t("sampling.summary.end", lang)
    return head


def executive_summary(design, *, lang="en", codebook=None):
    """The design in one paragraph: total and brand bases, NPS margins overall and per brand,
    design effect and the minimum detectable NPS change wave on wave (Markdown)."""
    s = design.settings
    tot = design.total
    ours_row = _ours_row(design)
    comp = _comp_brands(design)
    fields = dict(
        ours=_ours(design, lang, codebook),
        moe_total=_pts(tot["moe_nps"]), moe_ours=_pts(ours_row["moe_nps"]),
        moe_comp=_range(comp["moe_nps"]), conf=f"{100 * s['conf']:g}",
        deff=f"{tot['deff']:.2f}", n_eff=_n(tot["n_eff"]), n=_n(tot["n"]),
        mdc_ours=_pts(ours_row["mdc_nps"]), mdc_total=_pts(tot["mdc_nps"]),
        mdc_comp=_range(comp["mdc_nps"]), power=f"{100 * s['power']:.0f}",
        gap=_range(comp["mdc_nps_vs_ours"]),
    )
    parts = [design_sentence(design, lang=lang, codebook=codebook)]
    parts.append(t("sampling.summary.moe" if len(comp) else "sampling.summary.moe_alone", lang, **fields))
    parts.append(t("sampling.summary.deff", lang, **fields))
    parts.append(t("sampling.summary.mdc" if len(comp) else "sampling.summary.mdc_alone", lang, **fields))
    if len(comp):
        parts.append(t("sampling.summary.gap", lang, **fields))
    return ("" if lang == "zh" else " ").join(parts)


def key_findings(design, options=None, *, detect_nps=5.0, lang="en", codebook=None):
    """Three to four bullets a research director reads: tracking sensitivity, benchmarking,
    what the boost costs (against a proportional sample: from ``options``, else computed), the
    weakest strata."""
    s = design.settings
    ours_row = _ours_row(design)
    ours = _ours(design, lang, codebook)
    out = []
    mdc = float(ours_row["mdc_nps"])
    if mdc > detect_nps:
        need = design.needed_n_nps(detect_nps, float(ours_row["deff"]))
        out.append(t("sampling.finding.mdc_short", lang, ours=ours, mdc=_pts(mdc), detect=_g(detect_nps),
                     need=_n(need), power=f"{100 * s['power']:.0f}"))
    else:
        out.append(t("sampling.finding.mdc_ok", lang, ours=ours, mdc=_pts(mdc), detect=_g(detect_nps),
                     power=f"{100 * s['power']:.0f}"))
    comp = _comp_brands(design)
    if len(comp):
        out.append(t("sampling.finding.benchmark", lang, ours=ours, gap=_range(comp["mdc_nps_vs_ours"]),
                     mdc_comp=_range(comp["mdc_nps"])))
    if options is None:
        options = design.proportional_options()
    if len(options):
        prop = options[options["option"] == "proportional"]
        des = options[options["design"]].iloc[0]
        if len(prop):
            p0 = prop.iloc[0]
            if len(design.competitors):
                out.append(t("sampling.finding.boost", lang, deff=f"{des['deff']:.2f}",
                             lost=_n(max(0.0, p0["n_eff"] - des["n_eff"])), ours=ours,
                             n_ours=_n(des["n_ours"]), n_ours0=_n(p0["n_ours"]),
                             moe_ours=_pts(des["moe_nps_ours"]), moe_ours0=_pts(p0["moe_nps_ours"]),
                             n_comp=_n(des["n_competitor_min"]), n_comp0=_n(p0["n_competitor_min"])))
    al = design.allocation
    if len(design.strata) > 1:
        worst = al.loc[al["moe_nps"].idxmax()]
        out.append(t("sampling.finding.strata", lang, strata=_strata_words(design, lang, codebook),
                     lo=_n(al["n"].min()), hi=_n(al["n"].max()), moe_lo=_pts(al["moe_nps"].min()),
                     moe_hi=_pts(al["moe_nps"].max()),
                     worst=_stratum_label(design, worst, lang, codebook)))
    return out


def _stratum_label(design, row, lang, codebook):
    return " / ".join(level_label(codebook, c, row[c], lang) for c in design.strata)


def intro(section, design, *, seed=None, reserve=None, lang="en", codebook=None):
    """The short introduction of a report section (``design``, ``precision``, ``allocation``,
    ``boost``, ``quota``, ``draw``, ``power``), with the design's settings filled in."""
    s = design.settings
    fields = dict(conf=f"{100 * s['conf']:g}", power=f"{100 * s['power']:.0f}",
                  strata=_strata_words(design, lang, codebook), method=_method_phrase(design, lang),
                  bounds=_bounds_phrase(design, lang), n=_n(design.total["n"]),
                  cells=" × ".join(_var(codebook, c, lang).lower() if lang == "en" else
                                   _var(codebook, c, lang) for c in design.strata),
                  seed="" if seed is None else str(seed),
                  reserve="" if reserve is None else f"{100 * reserve:.0f}")
    if section == "allocation" and len(design.strata) < 2:
        section = "allocation_brand"
    return t(f"sampling.intro.{section}", lang, **fields)


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
def glance_table(design, *, lang="en", codebook=None):
    """Per brand and total: bases, design effect, effective base, NPS margin and detectable changes."""
    br = design.brands
    tot = design.total
    rows = []
    for _, r in br.iterrows():
        name = brand_name(design, r[design.brand_col], lang=lang, codebook=codebook)
        rows.append({"brand": name, "n": r["n"], "share": r["share"], "deff": r["deff"],
                     "n_eff": r["n_eff"], "moe_nps": r["moe_nps"], "mdc_nps": r["mdc_nps"],
                     "gap": r["mdc_nps_vs_ours"]})
    rows.append({"brand": t("sampling.total_weighted", lang), "n": tot["n"], "share": 1.0,
                 "deff": tot["deff"], "n_eff": tot["n_eff"], "moe_nps": tot["moe_nps"],
                 "mdc_nps": tot["mdc_nps"], "gap": np.nan})
    df = pd.DataFrame(rows)
    ours = _ours(design, lang, codebook)
    labels = {"brand": t("sampling.col.brand", lang), "n": t("sampling.col.n", lang),
              "share": t("sampling.col.sample_share", lang), "deff": t("sampling.col.deff", lang),
              "n_eff": t("sampling.col.n_eff", lang), "moe_nps": t("sampling.col.moe_nps", lang),
              "mdc_nps": t("sampling.col.mdc_nps", lang),
              "gap": t("sampling.col.gap", lang, ours=ours)}
    formats = {"n": "int", "share": "pct0", "deff": "num2", "n_eff": "int", "moe_nps": "num1",
               "mdc_nps": "num1", "gap": "num1"}
    s = design.settings
    note = t("sampling.note.glance", lang, conf=f"{100 * s['conf']:g}", power=f"{100 * s['power']:.0f}",
             promoters=f"{100 * s['promoters']:.0f}", detractors=f"{100 * s['detractors']:.0f}")
    return _table(df, labels, formats, caption=glance_caption(design, lang=lang, codebook=codebook), note=note)


def glance_caption(design, *, lang="en", codebook=None):
    """The design-at-a-glance table's caption as its finding: the total base and the NPS margins
    it buys our brand and the competitors (the deck's slide title)."""
    r = _ours_row(design)
    comp = _comp_brands(design)
    fields = dict(n=_n(design.total["n"]), ours=_ours(design, lang, codebook), moe=_pts(r["moe_nps"]))
    if len(comp):
        return t("sampling.cap.glance_finding", lang, moe_comp=_range(comp["moe_nps"]), **fields)
    return t("sampling.cap.glance_finding_alone", lang, **fields)


def precision_title(design, *, lang="en", codebook=None):
    """The finding of the margin-of-error chart: what our brand's base and the competitors' buy."""
    r = _ours_row(design)
    comp = _comp_brands(design)
    fields = dict(ours=_ours(design, lang, codebook), n=_n(r["n"]), moe=_pts(r["moe_nps"]))
    if len(comp):
        return t("sampling.t.precision", lang, n_comp=_int_range(comp["n"]), moe_comp=_range(comp["moe_nps"]),
                 **fields)
    return t("sampling.t.precision_alone", lang, **fields)


def allocation_title(design, *, lang="en", codebook=None):
    """The finding of the allocation chart: our brand's share of the interviews against its share
    of the market, and the range of the design weights per stratum."""
    r = _ours_row(design)
    w = design.allocation["weight"].astype(float)
    lo, hi = fmt_num(float(w.min()), 0), fmt_num(float(w.max()), 0)
    return t("sampling.t.allocation" if lo != hi else "sampling.t.allocation_one", lang,
             ours=_ours(design, lang, codebook), share=fmt_pct(float(r["share"])),
             pop=fmt_pct(float(r["population_share"])), wlo=lo, whi=hi)


def recommendations_headline(design, *, detect_nps=5.0, lang="en", codebook=None):
    """The recommendations in one sentence: whether our brand can be tracked wave on wave at the
    planned change, and what the competitors' bases are good for."""
    r = _ours_row(design)
    comp = _comp_brands(design)
    mdc = float(r["mdc_nps"])
    key = "sampling.t.rec_ok" if mdc <= detect_nps else "sampling.t.rec_short"
    fields = dict(ours=_ours(design, lang, codebook), mdc=_pts(mdc), detect=_g(detect_nps))
    if len(comp):
        return t(key, lang, **fields) + t("sampling.t.rec_benchmark", lang, gap=_range(comp["mdc_nps_vs_ours"]))
    return t(key, lang, **fields) + t("sampling.t.rec_end", lang)


def settings_table(design, *, inputs=None, seed=None, reserve=None, lang="en", codebook=None):
    """Inputs and assumptions of the design as a two-column table (``inputs``: the
    :class:`workbench.sampling.DesignInputs` the design was made from, for the file names)."""
    s = design.settings
    frame_name = inputs.frame_path.name if inputs is not None else ""
    penetration_name = inputs.penetration_path.name if inputs is not None and inputs.penetration_path else ""
    rows = []

    def add(key, value):
        rows.append({"item": t(f"sampling.set.{key}", lang), "value": value})

    add("frame", t("sampling.set.frame_value", lang, file=frame_name, units=_n(design.frame_units),
                   scope=_n(design.frame_units_in_scope)))
    if s["method"] == "penetration":
        add("population", t("sampling.set.population_pen", lang, file=penetration_name))
    else:
        add("population", t("sampling.set.population_frame", lang))
    add("strata", t("sampling.set.strata_value", lang,
                    strata=" × ".join(_var(codebook, c, lang) for c in design.strata),
                    k=_n(len(design.allocation))))
    add("ours", _ours(design, lang, codebook))
    if design.competitors:
        add("competitors", t("sampling.list_sep", lang).join(_competitors(design, lang, codebook)))
    if s["target_moe"] is not None:
        add("bases", t("sampling.set.bases_target", lang, target=_pts(s["target_moe"])))
    elif design.competitors:
        add("bases", t("sampling.set.bases_fixed", lang, n_ours=_n(s["n_ours"]), n_comp=_n(s["n_competitor"])))
    else:
        add("bases", _n(s["n_ours"]))
    if len(design.strata) > 1:
        text = _method_phrase(design, lang) + _bounds_phrase(design, lang)
        add("method", text[:1].upper() + text[1:] if lang == "en" else text)
    add("conf", f"{100 * s['conf']:g}%")
    add("power", f"{100 * s['power']:.0f}%")
    add("assumptions", t("sampling.set.assumptions_value", lang, promoters=f"{100 * s['promoters']:.0f}",
                         detractors=f"{100 * s['detractors']:.0f}",
                         nps=f"{100 * (s['promoters'] - s['detractors']):+.0f}", p=f"{100 * s['p']:.0f}"))
    add("fpc", t(f"sampling.set.fpc_{s['fpc']}", lang))
    if seed is not None:
        add("seed", t("sampling.set.seed_value", lang, seed=str(seed),
                      reserve=f"{100 * reserve:.0f}" if reserve is not None else "0"))
    df = pd.DataFrame(rows)
    return _table(df, {"item": t("sampling.col.item", lang), "value": t("sampling.col.value", lang)},
                  {}, caption=t("sampling.cap.settings", lang))


def brand_table(design, *, lang="en", codebook=None):
    """Per brand: population, shares, frame units, bases and the average design weight."""
    br = design.brands
    df = pd.DataFrame({
        "brand": [brand_name(design, b, lang=lang, codebook=codebook) for b in br[design.brand_col]],
        "population": br["population"], "population_share": br["population_share"],
        "frame_units": br["frame_units"], "n": br["n"], "share": br["share"],
        "weight": br["population"] / br["n"], "min_stratum_n": br["min_stratum_n"],
    })
    labels = {"brand": t("sampling.col.brand", lang), "population": t("sampling.col.population", lang),
              "population_share": t("sampling.col.population_share", lang),
              "frame_units": t("sampling.col.frame_units", lang), "n": t("sampling.col.n", lang),
              "share": t("sampling.col.sample_share", lang), "weight": t("sampling.col.weight", lang),
              "min_stratum_n": t("sampling.col.min_stratum_n", lang)}
    formats = {"population": "int", "population_share": "pct1", "frame_units": "int", "n": "int",
               "share": "pct1", "weight": "num1", "min_stratum_n": "int"}
    if len(design.strata) < 2:
        df = df.drop(columns="min_stratum_n")
        del formats["min_stratum_n"]
    return _table(df, labels, formats, caption=t("sampling.cap.brands", lang),
                  note=t("sampling.note.brands", lang))


def precision_table(design, *, lang="en", codebook=None):
    """What a base buys: margins and detectable changes at common bases and the design's bases."""
    tab = design.precision()
    br = design.brands
    marks = []
    for n in tab["n"]:
        codes = [b for b, m in zip(br[design.brand_col], br["n"]) if int(m) == int(n)]
        names = [brand_name(design, b, lang=lang, codebook=codebook) for b in codes]
        if len(design.competitors) > 1 and set(map(str, codes)) == set(design.competitors):
            names = [t("sampling.chart.each_competitor", lang)]
        if int(n) == int(design.total["n"]):
            names.append(t("sampling.total_market", lang))
        marks.append(("◀ " + t("sampling.list_sep", lang).join(names)) if names else "")
    df = pd.DataFrame({"n": tab["n"], "moe": 100 * tab["moe"], "moe_nps": tab["moe_nps"],
                       "mdc": 100 * tab["mdc"], "mdc_nps": tab["mdc_nps"], "mark": marks})
    s = design.settings
    labels = {"n": t("sampling.col.n_wave", lang), "moe": t("sampling.col.moe_prop", lang, p=f"{100 * s['p']:.0f}"),
              "moe_nps": t("sampling.col.moe_nps", lang), "mdc": t("sampling.col.mdc_prop", lang),
              "mdc_nps": t("sampling.col.mdc_nps", lang), "mark": t("sampling.col.in_design", lang)}
    formats = {"n": "int", "moe": "num1", "moe_nps": "num1", "mdc": "num1", "mdc_nps": "num1",
               "mark": "text"}
    note = t("sampling.note.precision", lang, conf=f"{100 * s['conf']:g}", power=f"{100 * s['power']:.0f}",
             promoters=f"{100 * s['promoters']:.0f}", detractors=f"{100 * s['detractors']:.0f}",
             p=f"{100 * s['p']:.0f}")
    return _table(df, labels, formats, caption=t("sampling.cap.precision", lang), note=note)


def allocation_table(design, *, lang="en", codebook=None):
    """Per stratum: population, frame units, base, design weight, NPS margin and the binding limit."""
    al = design.allocation
    df = pd.DataFrame({c: [level_label(codebook, c, v, lang) for v in al[c]] for c in design.strata})
    df["population"] = al["population"].to_numpy()
    df["n"] = al["n"].to_numpy()
    df["sampling_fraction"] = al["sampling_fraction"].to_numpy()
    df["weight"] = al["weight"].to_numpy()
    df["moe_nps"] = al["moe_nps"].to_numpy()
    bound = [t(f"sampling.bound.{b}", lang) for b in al["bound"]]
    low = (al["base_status"] != "ok").to_numpy()
    status = [t("sampling.bound.low", lang) if lo else "" for lo in low]
    df["bound"] = [", ".join(x for x in pair if x) for pair in zip(bound, status)]
    flags = pd.DataFrame({"moe_nps": np.where(low, BASE_CAUTION, "")}, index=df.index) if low.any() else None
    labels = {c: _var(codebook, c, lang) for c in design.strata}
    labels.update({"population": t("sampling.col.population", lang), "n": t("sampling.col.n", lang),
                   "sampling_fraction": t("sampling.col.fraction", lang),
                   "weight": t("sampling.col.weight", lang), "moe_nps": t("sampling.col.moe_nps", lang),
                   "bound": t("sampling.col.bound", lang)})
    formats = {"population": "int", "n": "int", "sampling_fraction": "pct1", "weight": "num1",
               "moe_nps": "num1", "bound": "text"}
    note = t("sampling.note.allocation", lang)
    if (al["base_status"] != "ok").any():
        note += " " + t("lowbase.marker", lang)
    return _table(df, labels, formats, caption=t("sampling.cap.allocation", lang), note=note,
                  text_columns=list(design.strata) + ["bound"], base_flags=flags)


def _option_label(row, lang):
    if row["design"]:
        return t("sampling.option.design", lang)
    if row["option"] == "proportional":
        return t("sampling.option.proportional", lang)
    return t("sampling.option.boost", lang, min_n=_n(row["min_n"]))


def boost_table(options, design, *, lang="en", codebook=None):
    """The boost options side by side: bases, design effect, effective base and NPS margins."""
    ours = _ours(design, lang, codebook)
    df = pd.DataFrame({
        "option": [_option_label(r, lang) for _, r in options.iterrows()],
        "n_competitor_min": options["n_competitor_min"], "n_ours": options["n_ours"],
        "deff": options["deff"], "n_eff": options["n_eff"], "moe_nps": options["moe_nps"],
        "moe_nps_ours": options["moe_nps_ours"], "moe_nps_competitor_max": options["moe_nps_competitor_max"],
    })
    labels = {"option": t("sampling.col.option", lang), "n_competitor_min": t("sampling.col.n_comp_min", lang),
              "n_ours": t("sampling.col.n_brand", lang, brand=ours), "deff": t("sampling.col.deff", lang),
              "n_eff": t("sampling.col.n_eff", lang), "moe_nps": t("sampling.col.moe_total", lang),
              "moe_nps_ours": t("sampling.col.moe_brand", lang, brand=ours),
              "moe_nps_competitor_max": t("sampling.col.moe_comp_max", lang)}
    formats = {"n_competitor_min": "int", "n_ours": "int", "deff": "num2", "n_eff": "int",
               "moe_nps": "num1", "moe_nps_ours": "num1", "moe_nps_competitor_max": "num1"}
    return _table(df, labels, formats, caption=t("sampling.cap.boost", lang, n=_n(options["n"].iloc[-1])),
                  note=t("sampling.note.boost", lang))


def boost_findings(options, design, *, lang="en", codebook=None):
    """Bullets: what each step of boosting buys for the competitors and costs the total."""
    ours = _ours(design, lang, codebook)
    out = []
    rest = options[~options["design"]].drop_duplicates("n_competitor_min")
    if len(rest) >= 2:
        a, b = rest.iloc[0], rest.iloc[-1]
        out.append(t("sampling.boost.range", lang, n0=_n(a["n_competitor_min"]), n1=_n(b["n_competitor_min"]),
                     moe0=_pts(a["moe_nps_competitor_max"]), moe1=_pts(b["moe_nps_competitor_max"]),
                     deff0=f"{a['deff']:.2f}", deff1=f"{b['deff']:.2f}",
                     lost=_n(max(0.0, a["n_eff"] - b["n_eff"])), tot0=_pts(a["moe_nps"]),
                     tot1=_pts(b["moe_nps"]), ours=ours, ours0=_pts(a["moe_nps_ours"]),
                     ours1=_pts(b["moe_nps_ours"])))
    des = options[options["design"]].iloc[0]
    prop = options[options["option"] == "proportional"]
    if len(prop):
        p0 = prop.iloc[0]
        out.append(t("sampling.boost.design", lang, ours=ours, n_ours=_n(des["n_ours"]), n_ours0=_n(p0["n_ours"]),
                     deff=f"{des['deff']:.2f}", lost=_n(max(0.0, p0["n_eff"] - des["n_eff"])),
                     moe=_pts(des["moe_nps"]), moe0=_pts(p0["moe_nps"])))
    return out


def quota_grid_table(sheet, design, *, tolerance=0.1, lang="en", codebook=None):
    """The interlocked quota grid (targets) with translated row and column labels."""
    from ..sampling import quota_grid

    grid = quota_grid(sheet)
    cols = [c for c in design.strata if c in grid.columns]
    last = design.strata[-1] if len(design.strata) > 1 else None
    df = grid.copy()
    for c in cols:
        df[c] = [t("sampling.total", lang) if v == "total" else level_label(codebook, c, v, lang) for v in df[c]]
    labels = {c: _var(codebook, c, lang) for c in cols}
    labels["total"] = t("sampling.total", lang)
    formats = {}
    for c in df.columns:
        if c not in cols:
            formats[c] = "int"
            if last is not None and c != "total":
                labels[c] = level_label(codebook, last, c, lang)
    return _table(df, labels, formats, caption=t("sampling.cap.quota_grid", lang),
                  note=t("sampling.note.quota_grid", lang, tol=f"{100 * tolerance:.0f}"))


def quota_marginal_table(sheet, design, *, tolerance=0.1, lang="en", codebook=None):
    """Marginal quota targets (summed over the interlocked cells) per brand."""
    from ..sampling import quota_marginal_summary

    df = quota_marginal_summary(sheet, design.brand_col)
    if df.empty:
        df = pd.DataFrame({"table": [t("sampling.quota.none", lang)], "cell": [""]})
    labels = {"table": t("sampling.col.quota_table", lang), "cell": t("sampling.col.cell", lang),
              "total": t("sampling.total", lang)}
    formats = {"table": "text", "cell": "text"}
    for c in df.columns:
        if c not in ("table", "cell"):
            formats[c] = "int"
            if c != "total":
                labels[c] = brand_name(design, c, lang=lang, codebook=codebook)
    # show each table name once
    df = df.copy()
    df["table"] = df["table"].where(df["table"].ne(df["table"].shift()), "")
    return _table(df, labels, formats, caption=t("sampling.cap.quota_marginal", lang),
                  note=t("sampling.note.quota_marginal", lang, tol=f"{100 * tolerance:.0f}"))


def quota_headers(sheet, *, lang="en", codebook=None):
    """Column headers of both quota files in ``lang`` (:func:`workbench.sampling.write_quota_sheet`
    labels); variable columns hold codes and say so."""
    out = {k: t(f"sampling.file.{k}", lang)
           for k in ("table", "cell", "population", "share", "target", "min", "max")}
    for c in sheet.columns[1:sheet.columns.get_loc("cell")]:
        out[c] = _var(codebook, c, lang) + t("sampling.file.code", lang)
    return out


def draw_table(summary, design, *, lang="en", codebook=None):
    """Per stratum of the draw: frame units, main and reserve sample, design weight; with a total."""
    df = pd.DataFrame({c: [level_label(codebook, c, v, lang) for v in summary[c]] for c in design.strata})
    for c in ("frame_units", "main", "reserve", "design_weight"):
        df[c] = summary[c].to_numpy()
    tot = {c: "" for c in design.strata}
    tot[design.strata[0]] = t("sampling.total", lang)
    tot.update(frame_units=int(summary["frame_units"].sum()), main=int(summary["main"].sum()),
               reserve=int(summary["reserve"].sum()), design_weight=np.nan)
    df = pd.concat([df, pd.DataFrame([tot])], ignore_index=True)
    labels = {c: _var(codebook, c, lang) for c in design.strata}
    labels.update({"frame_units": t("sampling.col.frame_units", lang), "main": t("sampling.col.main", lang),
                   "reserve": t("sampling.col.reserve", lang), "design_weight": t("sampling.col.weight", lang)})
    formats = {"frame_units": "int", "main": "int", "reserve": "int", "design_weight": "num1"}
    return _table(df, labels, formats, caption=t("sampling.cap.draw", lang))


def files_table(quota_files, draw_file, *, quota_rows=0, draw_rows=0, lang="en"):
    """The side files written for the fieldwork agency."""
    from pathlib import Path

    rows = [
        {"file": Path(quota_files["csv"]).name, "content": t("sampling.files.quota_csv", lang), "rows": quota_rows},
        {"file": Path(quota_files["xlsx"]).name, "content": t("sampling.files.quota_xlsx", lang), "rows": quota_rows},
        {"file": Path(draw_file).name, "content": t("sampling.files.draw", lang), "rows": draw_rows},
    ]
    df = pd.DataFrame(rows)
    return _table(df, {"file": t("sampling.col.file", lang), "content": t("sampling.col.content", lang),
                       "rows": t("sampling.col.rows", lang)}, {"rows": "int"},
                  caption=t("sampling.cap.files", lang))


def power_table(design, *, detect_nps=5.0, detect_proportion=0.05, lang="en", codebook=None):
    """Per brand and total: detectable NPS and proportion changes between two waves, power for
    the planned change and the base each would need."""
    s = design.settings
    plan = design.power_plan(detect_nps, detect_proportion)
    names = [t("sampling.total_weighted", lang) if role == "total" else
             brand_name(design, code, lang=lang, codebook=codebook)
             for code, role in zip(plan[design.brand_col], plan["role"])]
    df = pd.DataFrame({"brand": names, "n": plan["n"], "mdc_nps": plan["mdc_nps"], "power": plan["power_nps"],
                       "need_nps": plan["need_nps"], "mdc": 100 * plan["mdc"], "need_prop": plan["need_prop"]})
    d_nps, d_pp = _g(detect_nps), _g(100 * detect_proportion)
    labels = {"brand": t("sampling.col.brand", lang), "n": t("sampling.col.n_wave", lang),
              "mdc_nps": t("sampling.col.mdc_nps", lang),
              "power": t("sampling.col.power_for", lang, change=d_nps),
              "need_nps": t("sampling.col.need_nps", lang, change=d_nps),
              "mdc": t("sampling.col.mdc_prop", lang),
              "need_prop": t("sampling.col.need_prop", lang, change=d_pp)}
    formats = {"n": "int", "mdc_nps": "num1", "power": "pct0", "need_nps": "int", "mdc": "num1",
               "need_prop": "int"}
    note = t("sampling.note.power", lang, conf=f"{100 * s['conf']:g}", power=f"{100 * s['power']:.0f}",
             p=f"{100 * s['p']:.0f}")
    return _table(df, labels, formats, caption=t("sampling.cap.power", lang), note=note)


def power_findings(design, *, detect_nps=5.0, pool=3, lang="en", codebook=None):
    """Bullets: our brand's sensitivity wave on wave and when pooling waves, and brand gaps."""
    s = design.settings
    r = _ours_row(design)
    ours = _ours(design, lang, codebook)
    ne = float(r["n_eff"])
    pw = float(design.power_nps(ne, detect_nps))
    pooled = design.pooled_mdc_nps(pool, ne)
    out = [
        t("sampling.power.ours", lang, ours=ours, detect=_g(detect_nps), pw=fmt_pct(pw),
          mdc=_pts(r["mdc_nps"]), power=f"{100 * s['power']:.0f}"),
        t("sampling.power.pooled", lang, ours=ours, k=pool, mdc=_pts(pooled)),
    ]
    comp = _comp_brands(design)
    if len(comp):
        out.append(t("sampling.power.gap", lang, ours=ours, gap=_range(comp["mdc_nps_vs_ours"]),
                     mdc_comp=_range(comp["mdc_nps"])))
    return out


def recommendations(design, options=None, *, detect_nps=5.0, tolerance=0.1, reserve=0.2, pool=3,
                    lang="en", codebook=None):
    """Recommendations in plain words, from the design's numbers."""
    r = _ours_row(design)
    ours = _ours(design, lang, codebook)
    comp = _comp_brands(design)
    out = [t("sampling.rec.field", lang, sentence=design_sentence(design, lang=lang, codebook=codebook))]
    mdc = float(r["mdc_nps"])
    if mdc > detect_nps:
        pooled = design.pooled_mdc_nps(pool, float(r["n_eff"]))
        out.append(t("sampling.rec.tracking_short", lang, ours=ours, mdc=_pts(mdc), detect=_g(detect_nps),
                     need=_n(design.needed_n_nps(detect_nps, float(r["deff"]))), k=pool, pooled=_pts(pooled)))
    else:
        out.append(t("sampling.rec.tracking_ok", lang, ours=ours, mdc=_pts(mdc), detect=_g(detect_nps)))
    if len(comp):
        out.append(t("sampling.rec.benchmark", lang, ours=ours, gap=_range(comp["mdc_nps_vs_ours"]),
                     mdc_comp=_range(comp["mdc_nps"])))
    if options is not None and len(options) > 1 and len(comp):
        rest = options[~options["design"]]
        best = rest.loc[rest["moe_nps_competitor_max"].idxmin()]
        des = options[options["design"]].iloc[0]
        if best["moe_nps_competitor_max"] < des["moe_nps_competitor_max"] - 0.05:
            out.append(t("sampling.rec.boost", lang, n_comp=_n(best["n_competitor_min"]),
                         moe_comp=_pts(best["moe_nps_competitor_max"]), moe_comp0=_pts(des["moe_nps_competitor_max"]),
                         ours=ours, n_ours=_n(best["n_ours"]), moe_ours=_pts(best["moe_nps_ours"]),
                         moe_ours0=_pts(des["moe_nps_ours"])))
    if len(design.strata) > 1:
        al = design.allocation
        ours_al = al[al[design.brand_col].astype(object) == design.ours]
        comp_al = al[al[design.brand_col].astype(object) != design.ours]
        if len(comp_al):
            out.append(t("sampling.rec.strata", lang, strata=_strata_words(design, lang, codebook), ours=ours,
                         moe_ours=_range(ours_al["moe_nps"], 0), moe_comp=_range(comp_al["moe_nps"], 0),
                         n_comp=_int_range(comp_al["n"])))
        else:
            out.append(t("sampling.rec.strata_alone", lang, strata=_strata_words(design, lang, codebook),
                         moe_ours=_range(ours_al["moe_nps"], 0)))
    out.append(t("sampling.rec.quota", lang, tol=f"{100 * tolerance:.0f}"))
    out.append(t("sampling.rec.reserve", lang, reserve=f"{100 * reserve:.0f}"))
    out.append(t("sampling.rec.weight", lang))
    return out
