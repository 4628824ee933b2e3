"""Tab book: every question (stub) cross-tabulated against a banner, with bases and significance letters.

A *banner* is a row of columns in groups: the Total, then one group per banner variable (its
levels and *nets* of levels, e.g. North + South).  A *stub* is a question: its rows are the answer
categories and nets of a categorical question, the scale points, top-/bottom-box nets, mean, SD
and SE of a rating scale, the promoter/passive/detractor shares and the NPS of a 0–10
recommendation question, or the mean, SD and SE of a numeric one.  Every cell of a column keeps
its column's unweighted base, weighted base and effective base.

Significance
------------
Each column of a banner group gets a letter (A, B, … within the group); a cell carries the letters
of the columns of its group it is significantly higher than.  Optionally each cell is also tested
against the Total (``vs_total``: the column against the rest of the total — the respondents not in
the column — which has the direction of column vs total and two independent samples) and against
the same column in the previous wave (``vs_previous``).  Two methods, stated in the book:

``pooled`` (default)
    Proportions: the pooled two-sample z-test of SPSS's column-proportions test, on effective
    bases when weighted (R ``prop.test(correct = FALSE)`` when unweighted).  Means (and the NPS,
    the mean of −100/0/100): Welch's t unweighted (R ``t.test``), the design-based test when
    weighted.
``design``
    Proportions and means: the design-based z-test of the rest of the workbench — linearised
    standard errors of domain estimates of a with-replacement design (R ``survey::svyby(covmat =
    TRUE)`` + ``svycontrast``); disjoint columns have covariance 0.

Columns that share respondents (a net and one of its own levels) are never tested against each
other.  p-values are adjusted within each family — one stub row of one banner group and one kind
of comparison — by ``none``, ``bonferroni``, ``holm`` or ``fdr`` (Benjamini–Hochberg), as R
``p.adjust``.  The one low-base rule (:mod:`workbench.lowbase`) applies to the effective base of
the respondents who answered the stub in each column: no test below ``min_test``, a caution flag
below ``caution``.  Formulas: :mod:`workbench._tabs`; validation against R:
``tests/results/r/tabs.R``.

Spec
----
The spec is plain data (YAML in a params file)::

    banner:                        # groups in order; the Total column always comes first
      - brand: [aurora, beacon]    # the listed levels of a variable
      - region:                    # levels and nets
          - north
          - south
          - {net: north_south, label: {en: North + South, zh: 北部+南部}, codes: [north, south]}
      - segment                    # every level of a variable
      - wave: [5, 6]               # the wave variable: columns over all waves (e.g. wave 6 vs 5)
    stubs: all                     # every question of the dataset; or [nps, csat]; or
                                   # {Headline: [nps, csat], Product: [prd1, prd2, prd3]}
    # themes:verbatim               # a stub of coded themes of a text question (in a list or group)
    nets:                          # extra nets of stub rows, per question
      region: [{net: metro, label: {en: Metro, zh: 都市}, codes: [north, central]}]

A net may also be written ``{north_south: [north, south]}`` (its id, then its codes).

A stub ``themes:<text column>`` (in a list or a group of stubs) tabulates the open answers of a
text question coded with the column's coding frame in the codebook
(:func:`workbench.verbatims.code_answers`): a multi-response stub with one row per theme, per net
of themes and for "other", each the share of the respondents whose answer says something (the
stub's base) who mention it.  Its rows are tested like every share (a respondent can be in
several rows; each row is tested on its own).

Result columns
--------------
:func:`tab_book` returns a :class:`TabBook` of tidy frames (``columns``, ``rows``, ``bases``,
``cells``, ``tests``); :func:`column_tests` a frame with one row per (row level, column pair):
``level, col_a, col_b, diff, se, stat, p_val`` first.  Nothing is rounded; letters and flags are
in their own columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from workbench import _survey as sv
from workbench import _tabs as tb
from workbench.errors import DataError, ParamsError
from workbench.lowbase import LowBaseRule

__all__ = [
    "METHODS",
    "ADJUSTMENTS",
    "BannerColumn",
    "BannerGroup",
    "StubRow",
    "Stub",
    "BookSpec",
    "TabBook",
    "build_spec",
    "spec_problems",
    "default_stubs",
    "THEME_STUB",
    "theme_codes",
    "tab_book",
    "study_book",
    "column_tests",
]

#: Test methods of the book.
METHODS = ("pooled", "design")
#: Multiple-testing adjustments (within a family).
ADJUSTMENTS = ("none", "bonferroni", "holm", "fdr")
#: Question types that can be a stub, and the kind of table each gives.
STUB_KINDS = {"categorical": "categorical", "likert": "scale", "nps": "nps", "numeric": "numeric"}
#: Question types that can be a banner variable.
BANNER_TYPES = ("categorical", "numeric", "likert", "nps")
#: Letters of the columns of a banner group.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_COMMON_DOC = {
    "data": """data : pandas.DataFrame
        One row per respondent (all waves when waves are compared).  Not changed.  Every row
        is part of the design: standard errors of the design-based test use its number of rows.""",
    "weight": """weight : str, array-like or None, default None
        Weight column or one weight per row; ``None`` = unweighted.""",
    "rule": """rule : workbench.lowbase.LowBaseRule or None
        The low-base rule; ``None`` = the default (caution 50, min_test 30).""",
}


def _doc(func):
    func.__doc__ = func.__doc__.format(**_COMMON_DOC)
    return func


# --------------------------------------------------------------------------------------------
# spec objects
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BannerColumn:
    """One banner column: a level of a variable, a net of levels, or the Total."""

    key: str  # unique: "total", "<var>:<code>", "<var>:net:<id>"
    group: str  # key of its group ("total" or the variable)
    variable: str | None
    codes: tuple[str, ...]  # level codes it sums (as text)
    net: str | None = None  # the net's id; None for a level and the Total
    label: Any = None  # {lang: text} given in the spec (nets), else None: from the codebook
    letter: str = ""  # "" for the Total


@dataclass(frozen=True)
class BannerGroup:
    """A group of banner columns: letters and pairwise tests stay within it."""

    key: str
    variable: str | None
    columns: tuple[BannerColumn, ...]
    all_waves: bool = False  # the wave variable: its columns use every wave


@dataclass(frozen=True)
class StubRow:
    """A row of a stub's table.

    ``kind`` is ``level``, ``net``, ``top_box``, ``bottom_box``, ``promoters``, ``passives``,
    ``detractors`` (shares, column-proportions test), ``mean``, ``nps`` (column-means test), or
    ``sd``, ``se`` (not tested).
    """

    key: str
    kind: str
    codes: tuple = ()  # answer codes the share counts (as text)
    label: Any = None  # {lang: text} for spec nets
    test: str | None = None  # "proportions", "means" or None


@dataclass(frozen=True)
class Stub:
    """A question of the book and the rows of its table."""

    question: str
    kind: str  # categorical, scale, nps, numeric
    group: str  # stub group key (sheet)
    rows: tuple[StubRow, ...]
    categories: tuple[str, ...] = ()  # answer codes in order (not for numeric)
    values: tuple[float, ...] = ()  # numeric value of each category (scales)
    label: Any = None  # {lang: text} of a stub that is not a codebook question (coded themes)


@dataclass(frozen=True)
class BookSpec:
    """A checked spec: banner groups (the Total first), stubs, and the stub groups in order."""

    groups: tuple[BannerGroup, ...]
    stubs: tuple[Stub, ...]
    stub_groups: tuple[tuple[str, Any, tuple[str, ...]], ...]  # (key, label or None, questions)

    @property
    def columns(self) -> tuple[BannerColumn, ...]:
        return tuple(c for g in self.groups for c in g.columns)


# --------------------------------------------------------------------------------------------
# reading the spec
# --------------------------------------------------------------------------------------------
def _code(v) -> str | None:
    """A level code as text (``5`` and ``5.0`` -> ``"5"``); None for booleans and missing."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        if float(v).is_integer():
            return str(int(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def _banner_items(banner, problems):
    """``[(variable, columns spec)]`` from a list or mapping; problems as (key, message)."""
    if banner is None or banner == [] or banner == {}:
        problems.append(("banner", "the banner is empty: give at least one variable (e.g. "
                                   "banner: [segment])"))
        return []
    items = []
    raw = list(banner.items()) if isinstance(banner, dict) else banner
    if not isinstance(raw, list):
        problems.append(("banner", f"expected a list of variables (or a mapping variable: columns), "
                                   f"got {type(banner).__name__}"))
        return []
    for i, item in enumerate(raw):
        if isinstance(item, tuple):
            items.append(item)
        elif isinstance(item, str):
            items.append((item, "all"))
        elif isinstance(item, dict) and len(item) >= 1:
            items.extend(item.items())
        else:
            problems.append(("banner", f"item {i + 1}: expected a variable name or "
                                       f"{{variable: [levels or nets]}}, got {item!r}"))
    if not items:
        problems.append(("banner", "the banner is empty: give at least one variable"))
    return items


def _net(item, where, problems):
    """``(id, label, codes)`` of a net item, or None with a problem."""
    if not isinstance(item, dict):
        return None
    if "codes" in item:
        unknown = set(item) - {"net", "label", "codes"}
        if unknown:
            problems.append((where[0], f"{where[1]}: unknown net key(s) {', '.join(map(repr, sorted(unknown)))} "
                                       "(a net has net, label and codes)"))
        codes, nid, label = item.get("codes"), item.get("net"), item.get("label")
    elif len(item) == 1:
        nid, codes = next(iter(item.items()))
        label = None
    else:
        problems.append((where[0], f"{where[1]}: a net is {{net: id, label: ..., codes: [...]}} or "
                                   f"{{id: [codes]}}, got {item!r}"))
        return None
    if not isinstance(codes, list) or not codes:
        problems.append((where[0], f"{where[1]}: net {nid!r} needs a non-empty list of codes, got {codes!r}"))
        return None
    if isinstance(label, str):
        label = {"en": label}
    if label is not None and not (isinstance(label, dict) and all(isinstance(v, str) for v in label.values())):
        problems.append((where[0], f"{where[1]}: net {nid!r}: label must be text or {{en: ..., zh: ...}}"))
        label = None
    return (None if nid is None else str(nid)), label, codes


class _Levels:
    """Level codes of a column: from the codebook, else observed in the data."""

    def __init__(self, codebook, data):
        self.cb, self.data, self._cache = codebook, data, {}

    def question(self, col):
        if self.cb is not None and col in self.cb:
            return self.cb.question(col)
        return None

    def qtype(self, col):
        q = self.question(col)
        if q is not None:
            return q.type
        if self.data is not None and col in self.data.columns:
            return "numeric" if is_numeric_dtype(self.data[col]) and not pd.api.types.is_bool_dtype(
                self.data[col]) else "categorical"
        return None

    def exists(self, col):
        if self.data is not None:
            return col in self.data.columns
        return self.question(col) is not None

    def observed(self, col):
        if col not in self._cache:
            out = []
            if self.data is not None and col in self.data.columns:
                s = self.data[col]
                uniq = pd.unique(s.dropna())
                try:
                    uniq = sorted(uniq)
                except TypeError:
                    uniq = sorted(uniq, key=str)
                out = [c for c in (_code(u) for u in uniq) if c is not None]
            self._cache[col] = out
        return self._cache[col]

    def levels(self, col):
        """Codes in display order: codebook levels, then observed codes it does not list."""
        q = self.question(col)
        out = []
        if q is not None and q.type == "categorical":
            out = list(q.levels)
        elif q is not None and q.type in ("likert", "nps") and q.min is not None and q.max is not None:
            out = [str(int(v)) for v in np.arange(q.min, q.max + 1)]
        seen = set(out)
        out += [c for c in self.observed(col) if c not in seen]
        return out

    def known(self, col):
        """Codes a spec may name (None: cannot be checked without data)."""
        q = self.question(col)
        if q is not None and q.type == "categorical":
            return set(q.levels) | set(self.observed(col))
        if self.data is None:
            if q is not None and q.type in ("likert", "nps") and q.min is not None:
                return set(self.levels(col))
            return None
        return set(self.levels(col))


def _check_codes(codes, col, lv, key, where, problems):
    out = []
    known = lv.known(col)
    for c in codes:
        code = _code(c)
        if code is None:
            problems.append((key, f"{where}: {c!r} is not a level code (write codes that YAML reads "
                                  "as booleans, like yes/no, in quotes)"))
            continue
        if known is not None and code not in known:
            shown = ", ".join(sorted(known, key=_sort_key)[:12]) or "none"
            problems.append((key, f"{where}: {code!r} is not a level of {col!r} (levels: {shown})"))
            continue
        out.append(code)
    return out


def _sort_key(c):
    try:
        return (0, float(c), "")
    except ValueError:
        return (1, 0.0, c)


def _parse_banner(banner, lv, wave, problems):
    groups = [BannerGroup("total", None, (BannerColumn("total", "total", None, (), letter=""),))]
    seen = set()
    for var, spec in _banner_items(banner, problems):
        where = f"banner.{var}"
        if not isinstance(var, str) or not var:
            problems.append(("banner", f"{var!r} is not a variable name"))
            continue
        if var in seen:
            problems.append(("banner", f"{where}: variable {var!r} is listed twice (one group per variable)"))
            continue
        seen.add(var)
        if not lv.exists(var):
            cols = lv.data.columns if lv.data is not None else list(lv.cb.questions) if lv.cb else []
            problems.append(("banner", f"{where}: {var!r} is not a variable of the data "
                                       f"(columns: {sv.show_values(list(cols), 12)})"))
            continue
        qtype = lv.qtype(var)
        q = lv.question(var)
        if q is not None and q.pii:
            problems.append(("banner", f"{where}: {var!r} holds personal data (pii: true in the codebook); it "
                                       "cannot label the columns of a table"))
            continue
        if qtype not in BANNER_TYPES:
            problems.append(("banner", f"{where}: {var!r} is a {qtype} question; a banner variable must "
                                       f"be one of {', '.join(BANNER_TYPES)}"))
            continue
        if spec in ("all", None):  # every level the data hold (a codebook level nobody chose makes no column)
            seen_codes = set(lv.observed(var)) if lv.data is not None else None
            items = [c for c in lv.levels(var) if seen_codes is None or c in seen_codes]
        else:
            items = spec
        if not isinstance(items, list):
            problems.append(("banner", f"{where}: expected all or a list of levels and nets, got {spec!r}"))
            continue
        if not items:
            problems.append(("banner", f"{where}: no columns (the variable has no levels"
                                       + (" in the data)" if spec in ("all", None) else "; list some)")))
            continue
        cols, keys = [], set()
        for j, item in enumerate(items):
            if isinstance(item, dict):
                net = _net(item, ("banner", f"{where}[{j + 1}]"), problems)
                if net is None:
                    continue
                nid, label, codes = net
                codes = _check_codes(codes, var, lv, "banner", f"{where} net {nid or j + 1!r}", problems)
                if not codes:
                    continue
                nid = nid or f"net{j + 1}"
                key = f"{var}:net:{nid}"
                col = BannerColumn(key, var, var, tuple(dict.fromkeys(codes)), net=nid, label=label)
            else:
                codes = _check_codes([item], var, lv, "banner", where, problems)
                if not codes:
                    continue
                key = f"{var}:{codes[0]}"
                col = BannerColumn(key, var, var, (codes[0],))
            if key in keys:
                problems.append(("banner", f"{where}: column {key.split(':', 1)[1]!r} is listed twice"))
                continue
            keys.add(key)
            cols.append(col)
        if len(cols) > len(LETTERS):
            problems.append(("banner", f"{where}: {len(cols)} columns; at most {len(LETTERS)} fit one group"))
            continue
        if cols:
            cols = [BannerColumn(c.key, c.group, c.variable, c.codes, c.net, c.label, LETTERS[i])
                    for i, c in enumerate(cols)]
            waves = set(wave) if isinstance(wave, (set, tuple, list, frozenset)) else {wave}
            groups.append(BannerGroup(var, var, tuple(cols), all_waves=(var in waves - {None})))
    return groups


def default_stubs(codebook, columns, *, exclude=()) -> list[str]:
    """Every question of ``columns`` that can be tabulated (categorical, likert, nps, numeric),
    in the order given, without personal data and the columns of ``exclude`` (weight, wave)."""
    out = []
    for c in columns:
        if c in exclude or codebook is None or c not in codebook:
            continue
        q = codebook.question(c)
        if q.type in STUB_KINDS and not q.pii:
            out.append(c)
    return out


def _stub_groups(stubs, codebook, columns, exclude, problems):
    """``[(key, label, [questions])]`` from the stubs spec."""
    if stubs in (None, "all", ""):
        names = default_stubs(codebook, columns, exclude=exclude)
        if codebook is None:
            problems.append(("stubs", "stubs: all needs a codebook; list the stubs"))
            return []
        construct_of = {i: k for k, items in codebook.construct_items().items() for i in items}
        groups: dict[str, list[str]] = {}
        for name in names:
            q = codebook.question(name)
            key = construct_of.get(name) or ("profile" if q.type == "categorical" else "questions")
            groups.setdefault(key, []).append(name)
        order = (["questions"] + [k for k in codebook.constructs if k in groups] + ["profile"])
        out = [(k, None, tuple(groups[k])) for k in order if k in groups]
        if not out:
            problems.append(("stubs", "the dataset has no question to tabulate"))
        return out
    if isinstance(stubs, list):
        return [("questions", None, tuple(stubs))] if stubs else problems.append(
            ("stubs", "the stubs list is empty (give questions, or all)")) or []
    if isinstance(stubs, dict):
        out = []
        for k, v in stubs.items():
            if not isinstance(v, list) or not v:
                problems.append(("stubs", f"stubs.{k}: expected a non-empty list of questions, got {v!r}"))
                continue
            out.append((str(k), None, tuple(v)))
        if not out:
            problems.append(("stubs", "no stub groups given"))
        return out
    problems.append(("stubs", f"expected all, a list of questions or {{group: [questions]}}, got {stubs!r}"))
    return []


def _stub(question, group, lv, nets, problems):
    qtype = lv.qtype(question)
    where = f"stubs: {question!r}"
    if qtype is None or not lv.exists(question):
        problems.append(("stubs", f"{where} is not a question of the data"))
        return None
    if qtype not in STUB_KINDS:
        problems.append(("stubs", f"{where} is a {qtype} question; stubs are "
                                  f"{', '.join(STUB_KINDS)} questions"))
        return None
    kind = STUB_KINDS[qtype]
    q = lv.question(question)
    if q is not None and q.pii:
        problems.append(("stubs", f"{where} holds personal data (pii: true in the codebook); it cannot be a stub"))
        return None
    extra = []
    given = nets.get(question) or []
    ids = {str(n.get("net")) for n in given if isinstance(n, dict) and "codes" in n}
    ids |= {str(next(iter(n))) for n in given if isinstance(n, dict) and len(n) == 1 and "codes" not in n}
    # the codebook's nets of the question first; a params net of the same id replaces it
    from_codebook = [{"net": n.net, "label": dict(n.label) or None, "codes": list(n.codes)}
                     for n in (q.nets if q is not None else ()) if n.net not in ids]
    items = ([(f"codebook: {question}.nets", j, it) for j, it in enumerate(from_codebook)]
             + [(f"nets.{question}", j, it) for j, it in enumerate(given)])
    for where_net, j, item in items:
        net = _net(item, ("nets", f"{where_net}[{j + 1}]"), problems)
        if net is None:
            if not isinstance(item, dict):
                problems.append(("nets", f"{where_net}[{j + 1}]: expected a net, got {item!r}"))
            continue
        nid, label, codes = net
        codes = _check_codes(codes, question, lv, "nets", f"{where_net} net {nid or j + 1!r}", problems)
        if codes:
            nid = nid or f"net{j + 1}"
            extra.append(StubRow(f"net:{nid}", "net", tuple(dict.fromkeys(codes)), label, "proportions"))
    if nets.get(question) and kind == "numeric":
        problems.append(("nets", f"nets.{question}: {question!r} is numeric; nets need answer codes"))
        extra = []
    if kind == "categorical":
        cats = lv.levels(question)
        rows = [StubRow(f"level:{c}", "level", (c,), None, "proportions") for c in cats] + extra
        return Stub(question, kind, group, tuple(rows), tuple(cats))
    if kind == "numeric":
        rows = [StubRow("mean", "mean", (), None, "means"), StubRow("sd", "sd"), StubRow("se", "se")]
        return Stub(question, kind, group, tuple(rows))
    lo, hi = (q.min, q.max) if q is not None and q.min is not None and q.max is not None else (None, None)
    if lo is None:
        problems.append(("stubs", f"{where}: a scale question needs min and max in the codebook"))
        return None
    points = [float(v) for v in np.arange(lo, hi + 1)]
    cats = tuple(_code(v) for v in points)
    if kind == "nps":
        top = float(hi)
        rows = [StubRow("promoters", "promoters", tuple(c for c, v in zip(cats, points) if v >= top - 1), None,
                        "proportions"),
                StubRow("passives", "passives", tuple(c for c, v in zip(cats, points) if top - 3 <= v < top - 1),
                        None, "proportions"),
                StubRow("detractors", "detractors", tuple(c for c, v in zip(cats, points) if v < top - 3), None,
                        "proportions"),
                StubRow("nps", "nps", (), None, "means")] + extra
        values = tuple(100.0 if v >= top - 1 else (0.0 if v >= top - 3 else -100.0) for v in points)
        return Stub(question, kind, group, tuple(rows), cats, values)
    k = int(q.top_box or 2)
    rows = [StubRow(f"level:{c}", "level", (c,), None, "proportions") for c in cats]
    if len(points) >= 2 * k:
        rows.append(StubRow("top_box", "top_box", cats[-k:], None, "proportions"))
        rows.append(StubRow("bottom_box", "bottom_box", cats[:k], None, "proportions"))
    rows += extra
    rows += [StubRow("mean", "mean", (), None, "means"), StubRow("sd", "sd"), StubRow("se", "se")]
    return Stub(question, kind, group, tuple(rows), cats, tuple(points))


#: Prefix of a stub of coded themes: ``themes:<text column>``.
THEME_STUB = "themes:"


def _stub_names(stubs) -> list:
    if isinstance(stubs, list):
        return list(stubs)
    if isinstance(stubs, dict):
        return [n for v in stubs.values() if isinstance(v, list) for n in v]
    return []


def theme_codes(data, column, codebook) -> pd.Series:
    """Each respondent's coded themes of a text question as one answer code: which themes of the
    column's coding frame the answer is in, one character per theme (``"1"`` in it, ``"0"`` not;
    all ``"0"``: says something, in no theme); missing when the answer says nothing (blank,
    too short, a non-answer).  The answer codes of a :data:`THEME_STUB` stub.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import tabs
    >>> df = pd.DataFrame({"verbatim": ["Too expensive.", "The app crashes and the bill is wrong", "No comment"]})
    >>> tabs.theme_codes(df, "verbatim", "demo").tolist()
    ['00100000', '00010010', None]
    """
    from workbench import verbatims
    from workbench.codebook import load_codebook

    cb = load_codebook(codebook)
    fr = verbatims.load_frame(cb, column)
    coded = verbatims.code_answers(data, column, fr, prefix="_t_")
    mat = coded[[f"_t_{c}" for c in fr.themes]].to_numpy(dtype=bool)
    says = coded["_t_status"].astype(object).isin(("coded", "other")).to_numpy()
    uniq, inv = np.unique(mat, axis=0, return_inverse=True)
    texts = np.array(["".join("1" if b else "0" for b in row) for row in uniq], dtype=object)
    out = np.where(says, texts[np.asarray(inv).ravel()], None)
    return pd.Series(out, index=data.index, dtype=object, name=f"{THEME_STUB}{column}")


def _with_theme_stubs(data, stubs, codebook):
    """``data`` with the answer codes of each theme stub (a copy; ``data`` itself unchanged)."""
    names = [n for n in _stub_names(stubs) if isinstance(n, str) and n.startswith(THEME_STUB)]
    if not names or codebook is None or data is None:
        return data
    add = {}
    for n in names:
        col = n[len(THEME_STUB):]
        try:
            if col in data.columns and codebook.coding_frame(col) is not None:
                add[n] = theme_codes(data, col, codebook)
        except Exception:  # noqa: BLE001 - reported as a problem of the stub by the spec check
            continue
    return data.assign(**add) if add else data


def _theme_stub(name, group, lv, problems):
    column = name[len(THEME_STUB):]
    where = f"stubs: {name!r}"
    cb = lv.cb
    if cb is None:
        problems.append(("stubs", f"{where}: a stub of themes needs the codebook (its coding frame of {column!r})"))
        return None
    in_data = lv.data is None or column in lv.data.columns
    if not in_data or column not in cb:
        problems.append(("stubs", f"{where}: {column!r} is not a text question of the data"))
        return None
    try:
        fr = cb.coding_frame(column)
    except Exception as exc:  # noqa: BLE001 - the codebook's own message says why
        problems.append(("stubs", f"{where}: {exc}"))
        return None
    if fr is None:
        frames = ", ".join(cb.coding_frames) or "none"
        problems.append(("stubs", f"{where}: the codebook has no coding frame for {column!r} (coding_frames: "
                                  f"{frames}); draft one with workbench.verbatims.suggest_themes"))
        return None
    cats = lv.observed(name) if lv.data is not None and name in lv.data.columns else []
    themes = list(fr.themes)

    def label(spec_label, code):
        return dict(spec_label) if spec_label else {"en": code}

    rows = []
    for j, code in enumerate(themes):
        rows.append(StubRow(f"theme:{code}", "net", tuple(c for c in cats if c[j] == "1"),
                            label(fr.themes[code].label, code), "proportions"))
    for code, net in fr.nets.items():
        idx = [themes.index(x) for x in net.themes]
        rows.append(StubRow(f"theme:{code}", "net", tuple(c for c in cats if any(c[j] == "1" for j in idx)),
                            label(net.label, code), "proportions"))
    rows.append(StubRow("theme:other", "net", tuple(c for c in cats if "1" not in c),
                        label(fr.other, "other"), "proportions"))
    q = cb.question(column)
    title = {lang: _theme_title(lang, text) for lang, text in (q.label or {}).items()} or \
        {"en": _theme_title("en", column)}
    return Stub(name, "categorical", group, tuple(rows), tuple(cats), label=title)


def _theme_title(lang, text):
    from workbench.i18n import t

    return t("verbatims.tabs.stub", lang, question=text)


def _parse(banner, stubs, nets, codebook, data, *, wave=None, exclude=(), columns=None):
    problems: list[tuple[str, str]] = []
    lv = _Levels(codebook, data)
    groups = _parse_banner(banner, lv, wave, problems)
    if nets is None:
        nets = {}
    if not isinstance(nets, dict):
        problems.append(("nets", f"expected {{question: [nets]}}, got {nets!r}"))
        nets = {}
    cols = list(columns) if columns is not None else (list(data.columns) if data is not None else
                                                       list(codebook.questions) if codebook else [])
    sgroups = _stub_groups(stubs, codebook, cols, exclude, problems)
    out, seen = [], set()
    for key, label, names in sgroups:
        for name in names:
            if not isinstance(name, str):
                problems.append(("stubs", f"{name!r} is not a question name"))
                continue
            if name in seen:
                problems.append(("stubs", f"stubs: {name!r} is listed twice"))
                continue
            seen.add(name)
            if name.startswith(THEME_STUB):
                s = _theme_stub(name, key, lv, problems)
            else:
                s = _stub(name, key, lv, nets, problems)
            if s is not None:
                out.append(s)
    for q in nets:
        if not lv.exists(q):
            problems.append(("nets", f"nets.{q}: {q!r} is not a question of the data"))
        elif q not in seen:  # not a stub of this book: its nets are still checked
            _stub(q, "", lv, nets, problems)
    spec = BookSpec(tuple(groups), tuple(out),
                    tuple((k, lb, tuple(n for n in names if n in {s.question for s in out}))
                          for k, lb, names in sgroups))
    return spec, problems


def spec_problems(banner, stubs="all", nets=None, *, codebook=None, data=None, wave=None, exclude=(),
                  columns=None) -> list[tuple[str, str]]:
    """Every problem of a spec at once, as ``(params key, message)`` pairs (empty: all is well).

    Checks that banner variables exist and can make columns, that every level and every code of a
    net exists (in the codebook's levels, or in the data), that the banner is not empty, and that
    every stub is a question that can be tabulated.  ``data`` (optional) lets codes of variables
    without codebook levels (a wave number) be checked.

    Examples
    --------
    >>> from workbench.codebook import load_codebook
    >>> from workbench import tabs
    >>> cb = load_codebook("demo")
    >>> for key, msg in tabs.spec_problems({"regio": "all", "brand": ["aurora", {"big": ["aurora", "zeta"]}]},
    ...                                    ["nps"], codebook=cb):
    ...     print(key, "|", msg.split(" (")[0])
    banner | banner.regio: 'regio' is not a variable of the data
    banner | banner.brand net 'big': 'zeta' is not a level of 'brand'
    """
    data = _with_theme_stubs(data, stubs, codebook)
    _, problems = _parse(banner, stubs, nets, codebook, data, wave=wave, exclude=exclude, columns=columns)
    return problems


def build_spec(banner, stubs="all", nets=None, *, codebook=None, data=None, wave=None, exclude=(),
               columns=None) -> BookSpec:
    """The checked :class:`BookSpec`; a :class:`~workbench.errors.ParamsError` lists every problem."""
    spec, problems = _parse(banner, stubs, nets, codebook, data, wave=wave, exclude=exclude, columns=columns)
    if problems:
        raise ParamsError("the tab book spec has problems:\n" + "\n".join(f"  {k}: {m}" for k, m in problems))
    return spec


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TabBook:
    """A computed tab book: tidy frames, one row per item.

    Attributes
    ----------
    spec : BookSpec
        The banner groups, stubs and stub groups.
    columns : DataFrame
        ``column, group, variable, codes, net, letter, all_waves`` in banner order (Total first).
    rows : DataFrame
        ``stub, row, kind, codes, test`` in table order.
    bases : DataFrame
        Per stub and column: ``n`` (unweighted base: respondents who answered, weight > 0),
        ``weighted`` (sum of their weights), ``n_eff`` (Kish), ``base_flag`` (the low-base
        rule on ``n_eff``), and the same three of the previous wave (``n_prev``, ``weighted_prev``,
        ``n_eff_prev``; NaN without one).
    cells : DataFrame
        Per stub, row and column: ``value`` (a share 0–1, a mean, the NPS in points, an SD or SE),
        ``previous`` (the same in the previous wave), ``letters`` (the letters of the columns of
        the group this cell is significantly higher than), ``vs_total`` and ``vs_previous``
        (``"higher"``, ``"lower"`` or ``""``), ``base_flag``.
    tests : DataFrame
        Every comparison: ``stub, row, test`` (``pair``, ``total``, ``previous``), ``group, col_a,
        col_b, est_a, est_b, diff, se, stat, df, p_val, p_adj, sig`` (``col_b`` is ``rest`` for
        the vs-total test, ``previous`` for the previous wave; ``df`` is infinite for z-tests).
    settings : mapping
        ``method, adjust, sig_level, caution, min_test, weighted, wave, current, previous,
        vs_total, design_n`` and the per-kind methods ``proportions_test`` and ``means_test``.
    column_bases : DataFrame
        Per column: ``n``, ``weighted``, ``n_eff`` of every respondent in it (answered or not),
        and ``n_prev``, ``weighted_prev``, ``n_eff_prev`` in the previous wave.
    """

    spec: BookSpec
    columns: pd.DataFrame
    rows: pd.DataFrame
    bases: pd.DataFrame
    cells: pd.DataFrame
    tests: pd.DataFrame
    settings: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    column_bases: pd.DataFrame | None = None  # per column: n, weighted, n_eff of everyone in it

    def stub(self, question: str) -> Stub:
        for s in self.spec.stubs:
            if s.question == question:
                return s
        raise KeyError(f"{question!r} is not a stub of this book")

    def table(self, question: str, what: str = "value") -> pd.DataFrame:
        """One stub as a wide frame: its rows down, the banner columns across (``what`` is a
        column of :attr:`cells`: ``value``, ``letters``, ``vs_total``, ``previous`` …)."""
        part = self.cells[self.cells["stub"] == question]
        order = [r.key for r in self.stub(question).rows]
        wide = part.pivot(index="row", columns="column", values=what)
        return wide.reindex(index=order, columns=list(self.columns["column"]))


# --------------------------------------------------------------------------------------------
# computing
# --------------------------------------------------------------------------------------------
def _value_codes(series):
    """``(codes per row, code text of each unique value)``; -1 = missing."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = [_code(u) for u in (uniques.tolist() if hasattr(uniques, "tolist") else list(uniques))]
    return np.asarray(codes, dtype=np.int64), texts


def _lookup(series, wanted):
    """Index in ``wanted`` (list of code texts) of each row's value; -1 when not listed/missing."""
    codes, texts = _value_codes(series)
    pos = {c: i for i, c in enumerate(wanted)}
    table = np.array([pos.get(t, -1) if t is not None else -1 for t in texts] + [-1], dtype=np.int64)
    return table[codes]  # codes -1 -> the last entry (-1)


def _scale_categories(y, stub):
    """Category number of each answer of a scale/NPS stub (len = missing), or None when an answer is
    off the scale's points (then the stub is summarised as a numeric question)."""
    vals = np.asarray(stub.values if stub.kind == "scale" else [float(c) for c in stub.categories])
    lo, k = vals[0], len(vals)
    with np.errstate(invalid="ignore"):
        idx = y - lo
    ok = ~np.isnan(y)
    if ok.any():
        v = idx[ok]
        if (v < 0).any() or (v > k - 1).any() or (np.floor(v) != v).any():
            return None
    out = np.where(ok, idx, k)
    return out.astype(np.int16 if k < 30000 else np.int64)


def _prepare_stub(data, stub):
    """``(category codes, k)`` for a categorical/scale/NPS stub; ``(values, None)`` for numeric."""
    col = data[stub.question]
    if stub.kind == "categorical":
        cat = _lookup(col, list(stub.categories))
        k = len(stub.categories)
        return np.where(cat < 0, k, cat).astype(np.int16 if k < 30000 else np.int64), k
    y = sv.float_column(data, stub.question, "stub")
    if stub.kind == "numeric":
        return y, None
    cat = _scale_categories(y, stub)
    if cat is None:
        raise DataError(
            f"stub {stub.question!r} has answers off its scale {stub.categories[0]}..{stub.categories[-1]} "
            "(or not whole points); recode missing-value codes to NaN first.")
    return cat, len(stub.categories)


def _check_choice(name, value, options):
    if value not in options:
        raise ParamsError(f"`{name}` must be one of {', '.join(map(repr, options))}, but {value!r} was passed.")


def _check_level(sig_level):
    if isinstance(sig_level, bool) or not isinstance(sig_level, (int, float)) or not 0 < sig_level < 1:
        raise ParamsError(f"`sig_level` must be a number between 0 and 1 (e.g. 0.05), but {sig_level!r} was passed.")


@_doc
def tab_book(data, codebook=None, *, banner, stubs="all", nets=None, weight=None, wave=None, current=None,
             compare_previous=False, vs_total=True, method="pooled", adjust="none", sig_level=0.05,
             rule=None, dataset=None) -> TabBook:
    """The tab book: every stub against the banner, with bases, letters and flags.

    Parameters
    ----------
    {data}
    codebook : workbench.codebook.Codebook or None
        Question types, levels, scales and top-box sizes; needed for ``stubs="all"``.
    banner, stubs, nets
        The spec (module docstring): banner groups, stubs (``"all"``, a list, or
        ``{{group: [questions]}}``), extra nets of stub rows.
    {weight}
    wave : str or None
        The wave column; ``None`` = no waves (every row is reported).
    current : "latest", a wave or None
        The wave reported (``"latest"`` = the highest); ``None`` = every wave together.  A banner
        group of the wave variable itself always uses every wave.
    compare_previous : bool, default False
        Test each cell against the same column in the previous wave (the highest wave below
        ``current`` present in the data); nothing is compared when there is none.
    vs_total : bool, default True
        Test each column against the rest of the total.
    method : {{"pooled", "design"}}
        The test (module docstring).
    adjust : {{"none", "bonferroni", "holm", "fdr"}}
        Multiple-testing adjustment within each family.
    sig_level : float, default 0.05
        A difference is significant when its (adjusted) p-value is below this.
    {rule}
    dataset : str, optional
        Codebook dataset of ``data``: ``stubs="all"`` then follows its column list.

    Returns
    -------
    TabBook

    Examples
    --------
    >>> from workbench import tabs
    >>> from workbench.codebook import load_codebook
    >>> from workbench.io import read_survey
    >>> from workbench.synth import demo_dir
    >>> cb = load_codebook("demo")
    >>> df = read_survey(demo_dir() / "tracking.csv", cb, dataset="tracking")
    >>> book = tabs.tab_book(df, cb, banner=["brand"], stubs=["csat"], weight="design_weight",
    ...                      wave="wave", current="latest", compare_previous=True)
    >>> list(book.columns["column"])
    ['total', 'brand:aurora', 'brand:beacon', 'brand:cirrus', 'brand:delta']
    >>> list(book.table("csat").index)[-5:]
    ['top_box', 'bottom_box', 'mean', 'sd', 'se']
    """
    sv.check_frame(data)
    _check_choice("method", method, METHODS)
    _check_choice("adjust", adjust, ADJUSTMENTS)
    _check_level(sig_level)
    rule = sv.get_rule(rule)
    weights = sv.weight_array(data, weight)
    exclude = {c for c in (weight if isinstance(weight, str) else None, wave) if c}
    columns = None
    if dataset is not None and codebook is not None:
        columns = [c for c in codebook.dataset(dataset).columns if c in data.columns]
        for role in ("wave", "period", "weight"):
            r = codebook.role(dataset, role)
            if r:
                exclude.add(r)
    wave_names = {wave}
    if dataset is not None and codebook is not None and wave is not None:
        wave_names |= {c for c in (codebook.role(dataset, "wave"),) if c}
        wave_names |= {r for r, c in codebook.role_aliases(dataset).items() if r == "wave" and c in wave_names}
    data = _with_theme_stubs(data, stubs, codebook)  # answer codes of the stubs of coded themes
    spec = build_spec(banner, stubs, nets, codebook=codebook, data=data, wave=wave_names, exclude=exclude,
                      columns=columns)
    n = len(data)
    if n == 0:
        raise DataError("the data have no rows.")

    # ---- waves
    cur_wave = prev_wave = None
    if wave is not None:
        sv.check_columns(data, [wave], "wave")
        wv = pd.to_numeric(data[wave], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        present = np.unique(wv[~np.isnan(wv)])
        if current is None:
            period = np.zeros(n, dtype=np.int64)
        else:
            if current == "latest":
                if not len(present):
                    raise DataError(f"wave column {wave!r} has no waves.")
                cur_wave = float(present[-1])
            else:
                try:
                    cur_wave = float(current)
                except (TypeError, ValueError):
                    raise ParamsError(f"`current` must be 'latest' or a wave, but {current!r} was passed.") from None
                if cur_wave not in set(present.tolist()):
                    raise DataError(f"wave {current!r} is not in column {wave!r} "
                                    f"(waves: {sv.show_values(present.tolist())}).")
            if compare_previous:
                earlier = present[present < cur_wave]
                prev_wave = float(earlier[-1]) if len(earlier) else None
            period = np.where(wv == cur_wave, 0, np.where(wv == prev_wave, 1, -1)).astype(np.int64)
    else:
        period = np.zeros(n, dtype=np.int64)
    has_prev = prev_wave is not None

    # ---- atoms per group, slots
    P = 2 if has_prev else 1
    codes, sizes = [], []
    for g in spec.groups:
        if g.variable is None:  # the Total: one atom per period
            size = P
            c = np.where((period >= 0) & (period < P), period, size)
        else:
            levels = list(dict.fromkeys(code for col in g.columns for code in col.codes))
            lev = _lookup(data[g.variable], levels)
            L = len(levels)
            if g.all_waves:
                size = L
                c = np.where(lev >= 0, lev, size)
            else:
                size = P * L
                c = np.where((lev >= 0) & (period >= 0) & (period < P), period * L + lev, size)
        codes.append(c.astype(np.int64))
        sizes.append(size)
    st = tb.stack(codes, sizes, weights)
    cols = spec.columns
    C = len(cols)
    M = np.zeros((3 * C, st.size))
    col_group = np.empty(C, dtype=np.int64)
    has_rest = np.zeros(C, bool)
    has_p = np.zeros(C, bool)
    ci = 0
    total_atoms = st.offsets[0]
    for gi, g in enumerate(spec.groups):
        off = st.offsets[gi]
        levels = list(dict.fromkeys(code for col in g.columns for code in col.codes)) if g.variable else []
        L = len(levels)
        pos = {code: i for i, code in enumerate(levels)}
        for col in g.columns:
            col_group[ci] = gi
            if g.variable is None:
                M[ci, off] = 1
                if has_prev:
                    M[C + ci, off + 1] = 1
                    has_p[ci] = True
            else:
                idx = [pos[c] for c in col.codes]
                if g.all_waves:
                    M[ci, off + np.asarray(idx)] = 1
                else:
                    M[ci, off + np.asarray(idx)] = 1
                    if has_prev:
                        M[C + ci, off + L + np.asarray(idx)] = 1
                        has_p[ci] = True
                    if vs_total:
                        M[2 * C + ci, total_atoms] = 1
                        M[2 * C + ci, off + np.asarray(idx)] = -1
                        has_rest[ci] = True
            ci += 1

    # ---- everyone in each column, whatever they answered
    cnt0, sw0, sw20 = (M @ x for x in tb.category_sums(st, np.zeros(n, dtype=np.int8), 1))
    cb_n, cb_w, _, cb_e = tb.base_stats(cnt0, sw0, sw20)

    # ---- per stub: slot statistics of every row
    welch = method == "pooled" and weights is None
    EST, VAR, VARC, NB, NE, KIND = [], [], [], [], [], []
    row_stub, row_key = [], []
    base_rows = []
    for si, stub in enumerate(spec.stubs):
        arr, k = _prepare_stub(data, stub)
        if k is None:
            sums, centre = tb.numeric_sums(st, arr)
            m, var, varc, sd, (bn, bW, _, bne) = tb.numeric_stats(M @ sums, centre, n)
            stats = {"mean": (m, var, varc), "sd": sd, "se": np.sqrt(varc if welch else var)}
        else:
            cnt, sw, sw2 = tb.category_sums(st, arr, k)
            cnt, sw, sw2 = M @ cnt, M @ sw, M @ sw2
            bn, bW, _, bne = tb.base_stats(cnt, sw, sw2)
            share_rows = [r for r in stub.rows if r.test == "proportions"]
            if share_rows:
                pos = {c: i for i, c in enumerate(stub.categories)}
                R = np.zeros((len(share_rows), k))
                for j, r in enumerate(share_rows):
                    R[j, [pos[c] for c in r.codes]] = 1
                p, pvar = tb.share_stats(cnt, sw, sw2, R, n)
            stats = {}
            if stub.values:
                m, var, varc, sd = tb.mean_stats(cnt, sw, sw2, np.asarray(stub.values), n)
                stats = {"mean": (m, var, varc), "nps": (m, var, varc), "sd": sd,
                         "se": np.sqrt(varc if welch else var)}
        base_rows.append((bn, bW, bne))
        j = 0
        for r in stub.rows:
            if r.test == "proportions":
                est, var, varc, kind = p[:, j], pvar[:, j], pvar[:, j], tb.PROP
                j += 1
            elif r.test == "means":
                est, var, varc = stats[r.kind]
                kind = tb.MEAN
            else:
                est = stats[r.kind]
                var = varc = np.full(len(est), np.nan)
                kind = tb.NONE
            EST.append(est)
            VAR.append(var)
            VARC.append(varc)
            NB.append(bn)
            NE.append(bne)
            KIND.append(kind)
            row_stub.append(si)
            row_key.append(r.key)
    EST, VAR, VARC, NB, NE = (np.vstack(x) if x else np.zeros((0, 3 * C)) for x in (EST, VAR, VARC, NB, NE))
    KIND = np.asarray(KIND, dtype=np.int64)
    Rn = len(KIND)

    # ---- tests
    pooled = method == "pooled"
    sets = []  # (name, a slots, b slots, family ids, col index a, col index b)
    pa, pb, pf = [], [], []
    for gi, g in enumerate(spec.groups):
        if g.variable is None:
            continue
        idx = [i for i in range(C) if col_group[i] == gi]
        for x in range(len(idx)):
            for y in range(x + 1, len(idx)):
                i, j = idx[x], idx[y]
                if set(cols[i].codes) & set(cols[j].codes):
                    continue  # a net and its own level share respondents: not tested
                pa.append(i)
                pb.append(j)
                pf.append(gi)
    sets.append(("pair", np.asarray(pa, np.int64), np.asarray(pb, np.int64), np.asarray(pf, np.int64)))
    ti = np.flatnonzero(has_rest)
    sets.append(("total", ti, 2 * C + ti, col_group[ti]))
    pi = np.flatnonzero(has_p)
    sets.append(("previous", pi, C + pi, col_group[pi]))

    letters_bits = np.zeros((Rn, C), dtype=np.int64)
    vs_flags = {"total": np.full((Rn, C), "", dtype=object), "previous": np.full((Rn, C), "", dtype=object)}
    letter_pos = np.array([LETTERS.index(c.letter) if c.letter else -1 for c in cols])
    test_frames = []
    for name, a, b, fam in sets:
        if not len(a) or not Rn:
            continue
        diff, se, stat, df, p = tb.pair_tests(EST, VAR, VARC, NB, NE, KIND, a, b, pooled=pooled, welch=welch,
                                              min_test=rule.min_test)
        p_adj = np.full_like(p, np.nan)
        for f in np.unique(fam):
            sel = np.flatnonzero(fam == f)
            p_adj[:, sel] = tb.adjust_rows(p[:, sel], adjust)
        sig = np.where(np.isnan(p_adj), False, p_adj < sig_level)
        if name == "pair":
            for k_ in range(len(a)):
                up = sig[:, k_] & (diff[:, k_] > 0)
                down = sig[:, k_] & (diff[:, k_] < 0)
                letters_bits[up, a[k_]] |= np.int64(1) << letter_pos[b[k_]]
                letters_bits[down, b[k_]] |= np.int64(1) << letter_pos[a[k_]]
            col_b_names = [cols[j].key for j in b]
        else:
            flags = np.where(sig & (diff > 0), "higher", np.where(sig & (diff < 0), "lower", ""))
            vs_flags[name][:, a] = flags
            col_b_names = ["rest" if name == "total" else "previous"] * len(a)
        P_ = len(a)
        keep = np.repeat(KIND != tb.NONE, P_)
        test_frames.append(pd.DataFrame({
            "stub": np.repeat(np.asarray([spec.stubs[s].question for s in row_stub], dtype=object), P_),
            "row": np.repeat(np.asarray(row_key, dtype=object), P_),
            "test": name,
            "group": np.tile(np.asarray([spec.groups[f].key for f in fam], dtype=object), Rn),
            "col_a": np.tile(np.asarray([cols[i].key for i in a], dtype=object), Rn),
            "col_b": np.tile(np.asarray(col_b_names, dtype=object), Rn),
            "est_a": EST[:, a].ravel(), "est_b": EST[:, b].ravel(),
            "diff": diff.ravel(), "se": se.ravel(), "stat": stat.ravel(), "df": df.ravel(),
            "p_val": p.ravel(), "p_adj": p_adj.ravel(), "sig": sig.ravel(),
        })[keep])
    tests = (pd.concat(test_frames, ignore_index=True) if test_frames else
             pd.DataFrame(columns=["stub", "row", "test", "group", "col_a", "col_b", "est_a", "est_b", "diff",
                                   "se", "stat", "df", "p_val", "p_adj", "sig"]))
    letters = tb.letter_strings(letters_bits, LETTERS)

    # ---- frames
    col_keys = np.asarray([c.key for c in cols], dtype=object)
    base_n = np.vstack([b[0] for b in base_rows]) if base_rows else np.zeros((0, 3 * C))
    base_w = np.vstack([b[1] for b in base_rows]) if base_rows else np.zeros((0, 3 * C))
    base_e = np.vstack([b[2] for b in base_rows]) if base_rows else np.zeros((0, 3 * C))
    S = len(spec.stubs)
    nan_prev = np.where(has_p, 1.0, np.nan)
    bases = pd.DataFrame({
        "stub": np.repeat(np.asarray([s.question for s in spec.stubs], dtype=object), C),
        "column": np.tile(col_keys, S),
        "n": base_n[:, :C].ravel(), "weighted": base_w[:, :C].ravel(), "n_eff": base_e[:, :C].ravel(),
        "base_flag": rule.status(base_e[:, :C].ravel()) if S else np.array([], dtype=object),
        "n_prev": (base_n[:, C:2 * C] * nan_prev).ravel(),
        "weighted_prev": (base_w[:, C:2 * C] * nan_prev).ravel(),
        "n_eff_prev": (base_e[:, C:2 * C] * nan_prev).ravel(),
    })
    flag_rows = np.asarray(rule.status(NE[:, :C]), dtype=object).reshape(Rn, C) if Rn else np.zeros((0, C), object)
    cells = pd.DataFrame({
        "stub": np.repeat(np.asarray([spec.stubs[s].question for s in row_stub], dtype=object), C),
        "row": np.repeat(np.asarray(row_key, dtype=object), C),
        "column": np.tile(col_keys, Rn),
        "value": EST[:, :C].ravel(),
        "previous": (EST[:, C:2 * C] * nan_prev).ravel(),
        "letters": letters.ravel() if Rn else np.array([], dtype=object),
        "vs_total": vs_flags["total"].ravel(),
        "vs_previous": vs_flags["previous"].ravel(),
        "base_flag": flag_rows.ravel(),
    })
    columns_frame = pd.DataFrame({
        "column": col_keys,
        "group": [c.group for c in cols],
        "variable": [c.variable for c in cols],
        "codes": [c.codes for c in cols],
        "net": [c.net for c in cols],
        "letter": [c.letter for c in cols],
        "all_waves": [spec.groups[col_group[i]].all_waves for i in range(C)],
    })
    rows_frame = pd.DataFrame({
        "stub": [s.question for s in spec.stubs for _ in s.rows],
        "row": [r.key for s in spec.stubs for r in s.rows],
        "kind": [r.kind for s in spec.stubs for r in s.rows],
        "codes": [r.codes for s in spec.stubs for r in s.rows],
        "test": [r.test or "" for s in spec.stubs for r in s.rows],
    })
    column_bases = pd.DataFrame({
        "column": col_keys, "n": cb_n[:C], "weighted": cb_w[:C], "n_eff": cb_e[:C],
        "n_prev": cb_n[C:2 * C] * nan_prev, "weighted_prev": cb_w[C:2 * C] * nan_prev,
        "n_eff_prev": cb_e[C:2 * C] * nan_prev,
    })
    settings = {
        "method": method, "adjust": adjust, "sig_level": float(sig_level),
        "caution": float(rule.caution), "min_test": float(rule.min_test),
        "weighted": weights is not None, "weight": weight if isinstance(weight, str) else None,
        "wave": wave, "current": _num(cur_wave), "previous": _num(prev_wave),
        "compare_previous": bool(compare_previous), "vs_total": bool(vs_total), "design_n": n,
        "proportions_test": "pooled" if pooled else "design",
        "means_test": "welch" if welch else "design",
    }
    return TabBook(spec, columns_frame, rows_frame, bases, cells, tests.reset_index(drop=True),
                   MappingProxyType(settings), column_bases)


def study_book(data, codebook, *, dataset, banner, wave="latest", weight="", compare_previous=True,
               **options) -> TabBook:
    """:func:`tab_book` of a codebook dataset, with the wave column from the dataset's roles.

    ``wave`` is ``"latest"``, a wave number, or ``"all"`` (every respondent; also when the dataset
    has no wave role); ``weight`` ``""`` means unweighted.  Other options go to :func:`tab_book`.

    Examples
    --------
    >>> from workbench import tabs
    >>> from workbench.codebook import load_codebook
    >>> from workbench.io import read_survey
    >>> from workbench.synth import demo_dir
    >>> cb = load_codebook("demo")
    >>> df = read_survey(demo_dir() / "tracking.csv", cb, dataset="tracking")
    >>> book = tabs.study_book(df, cb, dataset="tracking", banner=["segment"], stubs=["nps"],
    ...                        weight="design_weight")
    >>> book.settings["current"], book.settings["previous"]
    (6, 5)
    """
    wave_col = codebook.role(dataset, "wave")
    if wave_col is not None and wave_col not in data.columns and "wave" in data.columns:
        wave_col = "wave"
    current = None if (wave in ("all", "", None) or wave_col is None) else wave
    return tab_book(data, codebook, banner=banner, weight=weight or None, wave=wave_col, current=current,
                    compare_previous=bool(compare_previous) and current is not None, dataset=dataset, **options)


def _num(x):
    if x is None:
        return None
    return int(x) if float(x).is_integer() else float(x)


# --------------------------------------------------------------------------------------------
# pairwise tests of one question and one banner variable
# --------------------------------------------------------------------------------------------
_KINDS = ("proportions", "means")
_METHODS = {"proportions": ("pooled", "design"), "means": ("welch", "design")}


@_doc
def column_tests(data, row, column, *, weight=None, kind="proportions", method=None, adjust="none",
                 rule=None) -> pd.DataFrame:
    """Pairwise column tests of one question (``row``) across the levels of ``column``.

    Parameters
    ----------
    {data}
    row : str
        The question.  ``kind="proportions"``: any column; each observed value is a level whose
        share is compared.  ``kind="means"``: a numeric column.
    column : str
        The banner variable; every pair of its observed levels (sorted; category order for a
        categorical) is tested.  Rows with a missing ``row`` or ``column`` are left out of the
        estimates but stay in the design.
    {weight}
    kind : {{"proportions", "means"}}
    method : str or None
        Proportions: ``"pooled"`` (default; SPSS column proportions, effective bases when
        weighted; R ``prop.test(correct = FALSE)``) or ``"design"``.  Means: ``"welch"``
        (default unweighted; R ``t.test``) or ``"design"`` (default weighted; linearised SEs,
        R ``svyby`` + ``svycontrast``).
    adjust : {{"none", "bonferroni", "holm", "fdr"}}
        Adjustment of ``p_adj`` within each level (the pairs of one row level form a family).
    {rule}
        Pairs where either effective base is below ``min_test`` are not tested (NaN).

    Returns
    -------
    pandas.DataFrame
        One row per (level, pair): ``level`` (the row level; for means the question),
        ``col_a, col_b`` (levels of ``column``), ``diff`` (``est_a - est_b``: shares 0–1 or
        means), ``se``, ``stat`` (z, or Welch's t), ``p_val`` (two-sided), then ``est_a, est_b,
        df`` (Welch-Satterthwaite; infinite for z-tests), ``p_adj, n_a, n_b, n_eff_a, n_eff_b``.

    Examples
    --------
    >>> from workbench import tabs
    >>> from workbench.codebook import load_codebook
    >>> from workbench.io import read_survey
    >>> from workbench.synth import demo_dir
    >>> df = read_survey(demo_dir() / "tracking.csv", load_codebook("demo"), dataset="tracking")
    >>> res = tabs.column_tests(df[df["wave"] == 6], "csat", "segment", kind="means")
    >>> list(res.columns[:7])
    ['level', 'col_a', 'col_b', 'diff', 'se', 'stat', 'p_val']
    >>> len(res)
    3
    """
    sv.check_frame(data)
    _check_choice("kind", kind, _KINDS)
    if method is None:
        method = "pooled" if kind == "proportions" else ("welch" if weight is None else "design")
    _check_choice("method", method, _METHODS[kind])
    if kind == "means" and method == "welch" and weight is not None:
        raise ParamsError("Welch's t-test is for unweighted data; with weights use method='design'.")
    _check_choice("adjust", adjust, ADJUSTMENTS)
    rule = sv.get_rule(rule)
    sv.check_columns(data, [row, column], "row/column")
    weights = sv.weight_array(data, weight)
    n = len(data)
    # the banner variable: one atom per level
    ccodes, cuniq = pd.factorize(data[column], sort=True, use_na_sentinel=True)
    if isinstance(data[column].dtype, pd.CategoricalDtype):
        cuniq = pd.Index(data[column].cat.categories)
        ccodes = data[column].cat.codes.to_numpy()
    L = len(cuniq)
    ccodes = np.where(np.asarray(ccodes) < 0, L, ccodes).astype(np.int64)
    st = tb.stack([ccodes], [L], weights)
    M = np.zeros((L, L + 1))
    M[np.arange(L), np.arange(L)] = 1
    out_cols = ["level", "col_a", "col_b", "diff", "se", "stat", "p_val", "est_a", "est_b", "df", "p_adj",
                "n_a", "n_b", "n_eff_a", "n_eff_b"]
    if kind == "proportions":
        rcodes, runiq = pd.factorize(data[row], sort=True, use_na_sentinel=True)
        if isinstance(data[row].dtype, pd.CategoricalDtype):
            runiq = pd.Index(data[row].cat.categories)
            rcodes = data[row].cat.codes.to_numpy()
        K = len(runiq)
        cat = np.where(np.asarray(rcodes) < 0, K, rcodes).astype(np.int64)
        cnt, sw, sw2 = (M @ x for x in tb.category_sums(st, cat, K))
        bn, _, _, bne = tb.base_stats(cnt, sw, sw2)
        est, var = tb.share_stats(cnt, sw, sw2, np.eye(K), n)
        est, var, varc = est.T, var.T, var.T
        kinds = np.full(K, tb.PROP)
        levels = list(runiq)
    else:
        y = sv.float_column(data, row, "row")
        sums, centre = tb.numeric_sums(st, y)
        m, var, varc, _, (bn, _, _, bne) = tb.numeric_stats(M @ sums, centre, n)
        est, var, varc = m[None, :], var[None, :], varc[None, :]
        kinds = np.array([tb.MEAN])
        levels = [row]
    R = len(levels)
    NB = np.broadcast_to(bn, (R, L))
    NE = np.broadcast_to(bne, (R, L))
    a, b = np.triu_indices(L, 1)
    diff, se, stat, df, p = tb.pair_tests(est, var, varc, NB, NE, kinds, a, b, pooled=method == "pooled",
                                          welch=method == "welch", min_test=rule.min_test)
    p_adj = tb.adjust_rows(p, adjust)
    P = len(a)
    if P == 0 or R == 0:
        return pd.DataFrame(columns=out_cols)
    lev = np.asarray(levels, dtype=object)
    cu = np.asarray(list(cuniq), dtype=object)
    return pd.DataFrame({
        "level": np.repeat(lev, P), "col_a": np.tile(cu[a], R), "col_b": np.tile(cu[b], R),
        "diff": diff.ravel(), "se": se.ravel(), "stat": stat.ravel(), "p_val": p.ravel(),
        "est_a": est[:, a].ravel(), "est_b": est[:, b].ravel(), "df": df.ravel(), "p_adj": p_adj.ravel(),
        "n_a": np.tile(bn[a], R), "n_b": np.tile(bn[b], R),
        "n_eff_a": np.tile(bne[a], R), "n_eff_b": np.tile(bne[b], R),
    }, columns=out_cols)
