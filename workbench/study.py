"""What a study's codebook and data mean for each notebook's parameters.

Two jobs, both before any kernel starts:

* **Defaults from the study.** A notebook's ``parameters`` cell holds the demo study's values, so
  that "Run all" in the Lab builds the demo.  For any other study those values are wrong (the
  demo's dataset, brand, weight and segment column).  :func:`study_defaults` gives each parameter a
  params file leaves out its value from the codebook — the dataset holding the construct items,
  the weight, wave and brand columns its ``roles`` name, ``our_brand`` and the client from its
  ``study`` section — or "" where the study has no such thing (no comparison, no mix adjustment),
  or marks it as one the user must give.
* **Every check at once.** :func:`check_params` tests every parameter against the codebook, the
  data and, for the key-driver notebook, the model (columns exist and have the right type, levels
  exist, the SEM is identified and every factor is scaled, group sizes) and returns **all**
  problems, so ``workbench validate`` and ``workbench run`` refuse a params file in one message
  instead of failing one default at a time minutes into a run.

Each notebook's rules are a pair of functions registered in ``_RULES`` by notebook name; a new
notebook adds its pair and touches nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

__all__ = ["Required", "is_demo", "study_defaults", "check_params"]


@dataclass(frozen=True)
class Required:
    """A parameter the study cannot supply: the user must give it (``why`` says what it is)."""

    why: str


def is_demo(params: dict) -> bool:
    """True when a run uses the built-in demo study (its data or its codebook)."""
    return params.get("data", "demo") == "demo" and params.get("codebook", "demo") == "demo"


def _data_dir(params: dict) -> Path:
    if params.get("data", "demo") == "demo":
        from .synth import demo_dir

        return demo_dir()
    return Path(params["data"])


_SLUG_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")


# --------------------------------------------------------------------------------------------
# defaults
# --------------------------------------------------------------------------------------------
def study_defaults(notebook: str, params: dict, declared: dict) -> dict[str, Any]:
    """Defaults from the codebook for the parameters of ``notebook`` not in ``params``.

    Parameters
    ----------
    notebook : str
        Notebook name (``03_key_drivers``).
    params : dict
        The parameters given (a params file plus overrides); ``codebook`` and ``data`` are read.
    declared : dict
        The notebook's declared parameters (:func:`workbench.config.notebook_parameters`).

    Returns
    -------
    dict
        ``{key: value}`` for keys of ``declared`` that the study decides; a value may be a
        :class:`Required` when the user must give it.  Empty for the demo study.
    """
    if is_demo(params):
        return {}
    from .codebook import load_codebook

    cb = load_codebook(params.get("codebook", "demo"))
    out: dict[str, Any] = {}
    sid = _SLUG_CHARS.sub("-", cb.study.id).strip("-.")[:100]
    out["study"] = sid if sid and sid[0].isalnum() else Required("the study id (a folder under reports/)")
    out["client"] = cb.study.client or Required("the client's name for the cover (or study.client "
                                                "in the codebook)")
    out["period"] = ""
    rules = _RULES.get(Path(notebook).stem)
    if rules is not None:
        out.update(rules[0](cb, params))
    return {k: v for k, v in out.items() if k in declared and k not in params}


def _first(names) -> str | None:
    return next(iter(names), None)


def _drivers_defaults(cb, params) -> dict:
    items = [i for its in cb.construct_items().values() for i in its]
    dataset = _first(cb.datasets_with(items)) or (_first(cb.datasets) if len(cb.datasets) == 1 else None)
    out = {"dataset": dataset or Required("the codebook dataset holding the construct items (no dataset "
                                          "lists them all)"),
           "brand": "all", "wave": "all", "model": "", "compare_by": ""}
    ds = params.get("dataset", dataset)
    out["weight"] = (cb.role(ds, "weight") or "") if ds in cb.datasets else ""
    return out


def _waves_defaults(cb, params) -> dict:
    dataset = _first(n for n in cb.datasets if cb.role(n, "wave"))
    out: dict[str, Any] = {
        "dataset": dataset or Required("the tracking dataset (no dataset of the codebook has a wave "
                                       "role: add datasets.<name>.roles.wave)"),
        "mix_by": "", "reference_mix": "first",
    }
    ds = params.get("dataset", dataset)
    if ds not in cb.datasets:
        return out
    brand = cb.role(ds, "brand")
    if brand:
        ours = params.get("our_brand", cb.study.our_brand)
        out["our_brand"] = cb.study.our_brand or Required("our brand's code (or study.our_brand in the "
                                                          "codebook)")
        levels = [lv for lv in cb.levels(brand) if lv != ours and lv.lower() != "other"]
        out["competitors"] = levels[:4]
    else:
        out["our_brand"], out["competitors"] = "", []
    weighted = cb.role(ds, "weight") is not None
    margins = "margins.yaml" if (_data_dir(params) / "margins.yaml").is_file() else ""
    out["margins"] = margins
    # population targets make the report population-representative (raked); without them the
    # figures describe the sample, with its design weights when it has any
    out["weighting"] = "raked" if params.get("margins", margins) else ("design" if weighted else "none")
    return out


def _gaps_defaults(cb, params) -> dict:
    if cb.servqual is None:
        return {"customers": Required("the SERVQUAL customer dataset (the codebook has no servqual "
                                      "section)")}
    first = cb.servqual_items()[0]
    customers = _first(cb.datasets_with([cb.perception_col(first)]))
    staff = _first(cb.datasets_with([cb.mgmt_expectation_col(first)]))
    out: dict[str, Any] = {
        "customers": customers or Required("the SERVQUAL customer dataset (no dataset lists the "
                                           f"perception column {cb.perception_col(first)!r})"),
        "staff": staff or "", "compare_by": "",
    }
    ds = params.get("customers", customers)
    out["weight"] = (cb.role(ds, "weight") or "") if ds in cb.datasets else ""
    return out


def _sampling_defaults(cb, params) -> dict:
    need = "a list of the frame's stratum columns, the brand column first"
    return {"our_brand": cb.study.our_brand or Required("our brand's code in the frame's brand column"),
            "strata": Required(need),
            "competitors": Required("the competitors' codes in the brand column (a list; [] for none)"),
            "quota_marginal": Required("the frame columns of the marginal quotas (a list; [] for none)")}


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
class _Problems(list):
    """Problems found, each ``key 'x': what is wrong``."""

    def add(self, key: str, msg: str) -> None:
        self.append(f"key {key!r}: {msg}")


def check_params(notebook: str, params: dict) -> list[str]:
    """Every problem of ``params`` against the codebook, the data and the model, at once.

    ``params`` is a validated parameter dict (:func:`workbench.config.validate_params`).  Returns
    a list of messages ``key 'x': ...`` (empty when all is well).  Reads the codebook and the
    datasets the notebook uses; never starts a kernel.
    """
    from .codebook import load_codebook
    from .errors import WorkbenchError

    problems = _Problems()
    try:
        cb = load_codebook(params.get("codebook", "demo"))
    except WorkbenchError as exc:
        problems.add("codebook", str(exc))
        return problems
    folder = _data_dir(params)
    if not folder.is_dir():
        problems.add("data", f"data folder {folder} does not exist")
        return problems
    data = _DataCache(cb, folder, problems)
    rules = _RULES.get(Path(notebook).stem)
    if rules is not None:
        rules[1](cb, params, data, problems)
    return list(problems)


class _DataCache:
    """Datasets read once, each read problem reported once under the key that named it."""

    def __init__(self, cb, folder: Path, problems: _Problems):
        self.cb, self.folder, self.problems, self._frames = cb, folder, problems, {}

    def __call__(self, key: str, name: str):
        from .errors import WorkbenchError
        from .io import read_survey

        if name in self._frames:
            return self._frames[name]
        frame = None
        if name not in self.cb.datasets:
            self.problems.add(key, f"dataset {name!r} is not in codebook {self.cb.source} "
                                   f"(datasets: {', '.join(self.cb.datasets) or 'none'})")
        else:
            path = self.folder / self.cb.datasets[name].file
            if not path.exists():
                self.problems.add(key, f"{path}: the file of dataset {name!r} does not exist")
            else:
                try:
                    frame = read_survey(path, self.cb, dataset=name)
                except WorkbenchError as exc:
                    self.problems.add(key, str(exc))
        if frame is not None:
            frame = self.cb.with_role_columns(frame, name)
        self._frames[name] = frame
        return frame


def _column(problems, key, frame, col, *, types=None, cb=None, what="column"):
    """Check that ``col`` is in ``frame`` (and of one of ``types`` in the codebook)."""
    if frame is None or not col:
        return False
    if col not in frame.columns:
        problems.add(key, f"{what} {col!r} is not in the data (columns: {_show(frame.columns)})")
        return False
    if types and cb is not None and col in cb and cb.question(col).type not in types:
        problems.add(key, f"{col!r} is a {cb.question(col).type} question; expected {' or '.join(types)}")
        return False
    return True


def _not_pii(problems, key, cb, col) -> bool:
    """Refuse a personal-data column as a grouping variable (its values would label tables,
    charts and messages); the message names the column, never a value."""
    if col and col in cb and cb.question(col).pii:
        problems.add(key, f"column {col!r} holds personal data (pii: true in the codebook); it cannot "
                          "group, split or label a report")
        return False
    return True


def _show(values, n=12) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:n]) + (f", … ({len(values)} in all)" if len(values) > n else "")


def _levels(problems, key, frame, col, wanted) -> None:
    present = set(frame[col].dropna().astype(str))
    for w in wanted:
        if str(w) not in present:
            problems.add(key, f"{w!r} is not a value of column {col!r} (found: {_show(sorted(present))})")


def _groups(problems, key, frame, by, weight, params) -> None:
    """Groups of ``by`` whose effective base is below the low-base rule's min_test."""
    import numpy as np

    min_test = float((params.get("low_base") or {}).get("min_test", 30))
    small = []
    for level, part in frame.groupby(by, sort=True):
        w = part[weight].to_numpy(float) if weight and weight in part else np.ones(len(part))
        w = w[np.isfinite(w)]
        n_eff = w.sum() ** 2 / (w ** 2).sum() if len(w) and (w ** 2).sum() > 0 else 0.0
        if n_eff < min_test:
            small.append(f"{level} ({n_eff:.0f})")
    if small and len(small) == frame[by].nunique():
        problems.add(key, f"every group of {by!r} has an effective base below min_test = {min_test:g} "
                          f"({', '.join(small)}): nothing could be compared")


def _check_drivers(cb, p, data, problems) -> None:
    from .errors import WorkbenchError

    frame = data("dataset", p["dataset"])
    if frame is None:
        return
    rows = frame
    for key, role in (("brand", "brand"), ("wave", "wave")):
        value = p.get(key)
        if value in (None, "", "all"):
            continue
        col = cb.role(p["dataset"], role)
        if col is None:
            problems.add(key, f"dataset {p['dataset']!r} has no {role} column (codebook roles), so "
                              f"{value!r} cannot be selected; use all")
            continue
        _levels(problems, key, frame, role if role in frame else col, [value])
        rows = rows[rows[role if role in rows else col].astype(str) == str(value)]
    weight = p.get("weight")
    if weight and not _column(problems, "weight", frame, weight, types=("weight",), cb=cb):
        weight = None  # refused above: group sizes are counted unweighted, not with a wrong column
    if p.get("compare_by") and _not_pii(problems, "compare_by", cb, p["compare_by"]) and _column(
            problems, "compare_by", frame, p["compare_by"], types=("categorical",), cb=cb):
        _groups(problems, "compare_by", rows, p["compare_by"], weight, p)
    model = p.get("model") or ""
    if not model:
        from .drivers import default_model

        try:
            model = default_model(cb)
        except WorkbenchError as exc:
            problems.add("model", f"empty, and no model can be built from codebook {cb.source}: {exc} "
                                  "(add constructs and outcomes to the codebook, or give model)")
            return
    for msg in model_problems(model, frame.columns):
        problems.add("model", msg)


def model_problems(model: str, columns) -> list[str]:
    """Why a lavaan model cannot be fitted to data with ``columns``: syntax, unknown observed
    variables, a latent variable without indicators' scale, negative degrees of freedom."""
    from ._sem_syntax import parse_model
    from .errors import ModelError

    try:
        pt = parse_model(model)
    except ModelError as exc:
        return [str(exc)]
    out = []
    missing = [v for v in pt.observed if v not in set(columns)]
    if missing:
        out.append(f"observed variable(s) {', '.join(map(repr, missing))} not in the data")
    for lv, inds in pt.indicators.items():
        scaled = any(r.op == "=~" and r.lhs == lv and r.fixed not in (None, 0) for r in pt.rows) or any(
            r.op == "~~" and r.lhs == lv and r.rhs == lv and r.fixed is not None for r in pt.rows)
        if not scaled:
            out.append(f"latent variable {lv!r} has no fixed loading or variance (its scale is not set)")
    free = {(("label", r.label) if r.label else (r.op, r.lhs, r.rhs)) for r in pt.rows if r.free}
    p, kx = len(pt.observed), len(pt.ov_x)
    moments = p * (p + 1) // 2 - kx * (kx + 1) // 2
    if len(free) > moments:
        out.append(f"not identified: {len(free)} free parameters but only {moments} sample "
                   f"variances/covariances (df = {moments - len(free)})")
    return out


def _check_waves(cb, p, data, problems) -> None:
    ds = p.get("dataset", "tracking")
    frame = data("dataset", ds)
    if frame is None:
        return
    if not cb.role(ds, "wave") and "wave" not in frame.columns:
        problems.add("dataset", f"dataset {ds!r} has no wave column (add datasets.{ds}.roles.wave to the "
                                "codebook)")
    brand = cb.role(ds, "brand")
    if p.get("our_brand"):
        if not brand:
            problems.add("our_brand", f"dataset {ds!r} has no brand column (codebook roles); leave "
                                      "our_brand empty")
        else:
            _levels(problems, "our_brand", frame, "brand", [p["our_brand"]])
    comps = p.get("competitors") or []
    if comps and brand:
        _levels(problems, "competitors", frame, "brand", comps)
        if p.get("our_brand") in comps:
            problems.add("competitors", f"our brand {p['our_brand']!r} is also listed as a competitor")
    if len(comps) > 4:
        problems.add("competitors", f"at most 4 competitors fit the benchmark, got {len(comps)}")
    if p.get("mix_by") and _not_pii(problems, "mix_by", cb, p["mix_by"]):
        _column(problems, "mix_by", frame, p["mix_by"], types=("categorical",), cb=cb)
        ref = p.get("reference_mix")
        if isinstance(ref, dict) and p["mix_by"] in frame:
            _levels(problems, "reference_mix", frame, p["mix_by"], list(ref))
    weighting = p.get("weighting", "design")
    if weighting == "design" and not cb.role(ds, "weight"):
        problems.add("weighting", f"design weights need a weight column in dataset {ds!r}; use none")
    if weighting == "raked":
        if not p.get("margins"):
            problems.add("margins", "raked weighting needs a margins file (population targets)")
        elif not (_data_dir(p) / p["margins"]).is_file():
            problems.add("margins", f"{_data_dir(p) / p['margins']} does not exist")


def _check_gaps(cb, p, data, problems) -> None:
    by_ok = _not_pii(problems, "compare_by", cb, p.get("compare_by"))
    if cb.servqual is None:
        problems.add("codebook", f"codebook {cb.source} has no servqual section (dimensions and items)")
        return
    frame = data("customers", p["customers"])
    if frame is not None:
        want = [c for i in cb.servqual_items() for c in (cb.expectation_col(i), cb.perception_col(i))]
        missing = [c for c in want if c not in frame.columns]
        if missing:
            problems.add("customers", f"dataset {p['customers']!r} lacks the SERVQUAL columns "
                                      f"{_show(missing, 6)} (servqual patterns of the codebook)")
        if p.get("weight"):
            _column(problems, "weight", frame, p["weight"], types=("weight",), cb=cb)
        if p.get("compare_by") and by_ok and _column(problems, "compare_by", frame, p["compare_by"],
                                                     types=("categorical",), cb=cb):
            _groups(problems, "compare_by", frame, p["compare_by"], p.get("weight"), p)
    if p.get("staff"):
        data("staff", p["staff"])
    if p.get("top_actions", 1) < 1:
        problems.add("top_actions", f"expected at least 1 action, got {p['top_actions']}")


def _check_sampling(cb, p, data, problems) -> None:
    """The frame can hold millions of rows: its columns are read from the file's header, its
    brand codes from the codebook."""
    name = _first(n for n in cb.datasets if "frame" in n)
    path = Path(p["frame_file"]) if p.get("frame_file") else (
        data.folder / cb.datasets[name].file if name else None)
    if path is None or not path.is_file():
        problems.add("frame_file", f"no sampling frame: {path or 'the codebook names no frame dataset'}")
        return
    from .errors import WorkbenchError

    try:
        columns = _header(path)
    except WorkbenchError as exc:
        problems.add("frame_file", str(exc))
        return
    strata = p.get("strata") or []
    if not strata:
        problems.add("strata", "give at least one stratum column (the brand column first)")
    for key, cols in (("strata", strata), ("quota_marginal", [c for e in p.get("quota_marginal") or []
                                                              for c in ([e] if isinstance(e, str) else e)])):
        for col in cols:
            if not _not_pii(problems, key, cb, col):
                continue
            if col not in columns:
                problems.add(key, f"column {col!r} is not in {path.name} (columns: {_show(columns)})")
    if strata and strata[0] in cb and cb.question(strata[0]).levels:
        codes = set(cb.levels(strata[0]))
        for key, wanted in (("our_brand", [p.get("our_brand")]), ("competitors", p.get("competitors") or [])):
            for w in wanted:
                if w not in codes:
                    problems.add(key, f"{w!r} is not a level of {strata[0]!r} in the codebook "
                                      f"(levels: {_show(sorted(codes))})")


def _header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    from .io import read_table

    if path.suffix == ".csv":
        import pandas as pd

        from .errors import DataError
        from .io import csv_encoding

        try:
            return list(pd.read_csv(path, nrows=0, encoding=csv_encoding(path)).columns)
        except (ValueError, UnicodeError) as exc:  # pandas' parser errors are ValueErrors
            raise DataError(f"{path}: cannot be read as csv: {exc}") from None
    return list(read_table(path).columns)


def _tabs_defaults(cb, params) -> dict:
    """Tab book: the tracking dataset (else the one with the most questions to tabulate), its
    weight and wave roles, and a banner of its brand and categorical questions."""
    from .tabs import STUB_KINDS

    def tabulable(name):
        known = cb.all_questions()
        return sum(1 for c in cb.datasets[name].columns if c in known and known[c].type in STUB_KINDS
                   and not known[c].pii)

    ranked = sorted((n for n in cb.datasets if tabulable(n)), key=lambda n: (not cb.role(n, "wave"), -tabulable(n)))
    dataset = _first(ranked)
    out: dict[str, Any] = {
        "dataset": dataset or Required("the codebook dataset to tabulate (no dataset lists a categorical, "
                                       "rating, NPS or numeric question)"),
        "stubs": "all", "nets": {}, "headline": [],
    }
    ds = params.get("dataset", dataset)
    if ds not in cb.datasets:
        return out
    wave = cb.role(ds, "wave")
    out["weight"] = cb.role(ds, "weight") or ""
    out["wave"] = "latest" if wave else "all"
    out["compare_previous"] = bool(wave)
    out["banner"] = _tabs_banner(cb, ds) or Required(
        "the banner: the dataset's columns to tabulate against (e.g. banner: [region, segment])")
    return out


def _tabs_banner(cb, ds) -> list:
    """The brand role, then categorical questions of 2-12 levels (at most four groups)."""
    known = cb.all_questions()
    brand = cb.role(ds, "brand")
    out = [brand] if brand else []
    for c in cb.datasets[ds].columns:
        q = known.get(c)
        if (q is not None and q.type == "categorical" and not q.pii and c != brand and c not in out
                and 2 <= len(q.levels) <= 12):
            out.append(c)
    return out[:4]


def _check_tabs(cb, p, data, problems) -> None:
    """Tab book: the dataset, weight and wave, and every item of the spec (banner variables and
    their levels, nets and their codes, stubs), each problem naming the item."""
    from .tabs import spec_problems

    ds = p.get("dataset")
    frame = data("dataset", ds)
    if frame is None:
        return
    if p.get("weight"):
        _column(problems, "weight", frame, p["weight"], types=("weight",), cb=cb)
    wave = cb.role(ds, "wave")
    if p.get("wave") not in ("all", "", None) and not wave:
        problems.add("wave", f"dataset {ds!r} has no wave column (add datasets.{ds}.roles.wave to the "
                             "codebook), so there is no wave to pick; use all")
    exclude = {c for c in (p.get("weight"), wave, cb.role(ds, "period")) if c}
    columns = [c for c in cb.datasets[ds].columns if c in frame.columns] or list(frame.columns)
    waves = {wave, "wave"} if wave else None
    for key, msg in spec_problems(p.get("banner"), p.get("stubs", "all"), p.get("nets") or {}, codebook=cb,
                                  data=frame, wave=waves, exclude=exclude, columns=columns):
        problems.add(key, msg)
    for q in p.get("headline") or []:
        if not isinstance(q, str) or q not in frame.columns:
            problems.add("headline", f"{q!r} is not a question of dataset {ds!r}")


_RULES: dict[str, tuple[Callable, Callable]] = {
    "01_sampling_frame": (_sampling_defaults, _check_sampling),
    "02_wave_analysis": (_waves_defaults, _check_waves),
    "03_key_drivers": (_drivers_defaults, _check_drivers),
    "04_five_gap": (_gaps_defaults, _check_gaps),
    "05_tab_book": (_tabs_defaults, _check_tabs),
}
