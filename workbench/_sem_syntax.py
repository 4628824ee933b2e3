"""lavaan model syntax -> parameter table (private helper of :mod:`workbench.drivers`).

Why our own parser: semopy reads a lavaan-like syntax but fills in the parameters that lavaan adds
by default with different rules (semopy fixes the first loading only when no other loading is
fixed, bounds variances at zero, does not correlate the residuals of observed outcomes, and turns a
misspelled variable into a silent latent variable).  To get lavaan's defaults — and errors that name
the model line — we parse the syntax here, complete the parameter table the way lavaan's
``lavaanify()`` does for ``sem()``/``cfa()``, and hand semopy a fully explicit description in which
every parameter is either a number (fixed) or a named free parameter.

lavaan defaults reproduced (lavaan 0.6, ``sem()``):

* ``auto.fix.first``: the first indicator of each latent variable has its loading fixed to 1
  (unless the syntax gives it a number or ``NA*``).
* ``auto.fix.single``: a latent variable with a single indicator has that indicator's residual
  variance fixed to 0 (unless the syntax writes it, e.g. a reliability correction ``x ~~ 0.3*x``),
  so the factor is the indicator itself; the loading is the marker fixed to 1.
* ``auto.var``: residual variances of all observed variables that are not exogenous covariates,
  and variances of all latent variables, are free.
* ``auto.cov.lv.x``: exogenous latent variables covary.
* ``auto.cov.y``: residuals of observed outcomes (dependent, not indicators, not predictors) covary.
* ``fixed.x``: variances/covariances of observed exogenous covariates are fixed at their sample
  values and are not counted as parameters.

Supported: ``=~``, ``~``, ``~~``; modifiers ``number*x`` (fixed), ``NA*x`` (free), ``label*x``
(equality constraints through shared labels).  Anything else (``:=``, ``==``, ``<``, ``~ 1``,
``|``, ``<~``, ``start()``, ...) is rejected with the offending line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .errors import ModelError

__all__: list[str] = []

_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_NAME_RE = re.compile(rf"^{_NAME}$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UNSUPPORTED = [
    (":=", "defined parameters (':=') are not supported; total and indirect effects are in "
           "result.effects"),
    ("==", "equality constraints ('==') are not supported; use a shared label (a*x ... a*y)"),
    ("<~", "formative indicators ('<~') are not supported"),
    ("~*~", "scaling factors ('~*~') are not supported"),
    ("<", "inequality constraints ('<') are not supported"),
    (">", "inequality constraints ('>') are not supported"),
    ("|", "thresholds ('|') are not supported (continuous indicators only)"),
]


@dataclass
class ParRow:
    """One row of the parameter table (lavaan's partable, reduced)."""

    lhs: str
    op: str
    rhs: str
    label: str = ""          # user label ("" if none)
    fixed: float | None = None  # value if fixed, None if free
    user: bool = True        # written in the syntax (True) or added by default (False)
    line: str = ""           # the model line it came from ("" for defaults)
    exo: bool = False        # fixed.x row (variance/covariance of an observed covariate)

    @property
    def free(self) -> bool:
        return self.fixed is None and not self.exo

    @property
    def key(self) -> tuple:
        if self.op == "~~":
            return ("~~", *sorted((self.lhs, self.rhs)))
        return (self.op, self.lhs, self.rhs)


@dataclass
class ParTable:
    rows: list[ParRow]
    latent: list[str]          # in order of appearance
    observed: list[str]        # in order of appearance
    indicators: dict[str, list[str]]  # latent -> indicators (observed or latent)
    ov_x: list[str]            # observed exogenous covariates (fixed.x)
    lines: dict[str, list[str]] = field(default_factory=dict)  # variable -> model lines using it


def _statements(model: str):
    """Split model text into (statement, original line) pairs."""
    if not isinstance(model, str):
        raise ModelError(f"model: expected lavaan model syntax as a string, got {type(model).__name__}")
    raw = []
    for line in model.replace("\u223c", "~").splitlines():
        line = re.split(r"[#!]", line, maxsplit=1)[0].strip()
        if not line:
            continue
        for part in line.split(";"):
            part = part.strip()
            if part:
                raw.append(part)
    # join continuation lines: a statement ending in '+' or one starting with '+'
    out: list[str] = []
    for part in raw:
        if out and (out[-1].endswith("+") or part.startswith("+")):
            out[-1] = out[-1] + " " + part
        else:
            out.append(part)
    if not out:
        raise ModelError("model: the model syntax is empty (expected lines such as 'F =~ x1 + x2 + x3')")
    return out


def _parse_term(term: str, stmt: str) -> tuple[str, str | None]:
    """Return (variable, modifier) for one right-hand-side term."""
    term = term.strip()
    if not term:
        raise ModelError(f"model line {stmt!r}: empty term (check for a doubled or trailing '+')")
    if "*" in term:
        mod, _, var = term.rpartition("*")
        mod, var = mod.strip(), var.strip()
        if "*" in mod:
            raise ModelError(f"model line {stmt!r}: term {term!r} has more than one modifier; "
                             "use one of number*x, NA*x or label*x")
    else:
        mod, var = None, term
    if var == "1":
        raise ModelError(f"model line {stmt!r}: intercepts ('~ 1') are not supported; the models "
                         "are fitted to covariances only (lavaan's default meanstructure = FALSE)")
    if not _NAME_RE.match(var):
        raise ModelError(f"model line {stmt!r}: {var!r} is not a valid variable name")
    if mod is not None and not (_NUMBER_RE.match(mod) or mod == "NA" or _NAME_RE.match(mod)):
        raise ModelError(f"model line {stmt!r}: modifier {mod!r} is not supported; use a number "
                         "(fixed value), NA (free) or a label (equality constraint)")
    return var, mod


def parse_model(model: str) -> ParTable:
    """Parse lavaan syntax and complete the parameter table with lavaan's ``sem()`` defaults."""
    rows: list[ParRow] = []
    first_mod: dict[str, str | None] = {}   # latent -> modifier of its first indicator
    indicators: dict[str, list[str]] = {}
    order: list[str] = []                   # all variable names in order of appearance
    lines: dict[str, list[str]] = {}

    def seen(v, stmt):
        if v not in order:
            order.append(v)
        lines.setdefault(v, [])
        if stmt not in lines[v]:
            lines[v].append(stmt)

    for stmt in _statements(model):
        for tok, why in _UNSUPPORTED:
            if tok in stmt:
                raise ModelError(f"model line {stmt!r}: {why}")
        m = re.match(r"^(.*?)\s*(=~|~~|~)\s*(.*)$", stmt)
        if not m:
            raise ModelError(f"model line {stmt!r}: expected an operator '=~', '~' or '~~' "
                             "(for example 'F =~ x1 + x2 + x3')")
        lhs, op, rhs = m.group(1).strip(), m.group(2), m.group(3).strip()
        if not lhs or not rhs:
            raise ModelError(f"model line {stmt!r}: both sides of {op!r} must name variables")
        if not _NAME_RE.match(lhs):
            raise ModelError(f"model line {stmt!r}: left-hand side {lhs!r} is not a single valid "
                             "variable name")
        seen(lhs, stmt)
        terms = rhs.split("+")
        for k, term in enumerate(terms):
            var, mod = _parse_term(term, stmt)
            seen(var, stmt)
            label, fixed = "", None
            if mod is not None and mod != "NA":
                if _NUMBER_RE.match(mod):
                    fixed = float(mod)
                else:
                    label = mod
            if op == "=~" and var == lhs:
                raise ModelError(
                    f"model line {stmt!r}: latent variable {lhs!r} can not be measured by itself "
                    "(lavaan refuses it too); a factor needs indicators other than itself — for a "
                    f"one-item construct give the factor a name of its own, e.g. 'F_{lhs} =~ {lhs}'")
            if op == "=~":
                inds = indicators.setdefault(lhs, [])
                if not inds:
                    first_mod[lhs] = mod
                inds.append(var)
            if op == "~" and var == lhs:
                raise ModelError(f"model line {stmt!r}: {lhs!r} cannot be regressed on itself")
            row = ParRow(lhs, op, var, label=label, fixed=fixed, user=True, line=stmt)
            for other in rows:
                if other.key == row.key:
                    raise ModelError(f"model line {stmt!r}: parameter '{row.lhs} {row.op} {row.rhs}' "
                                     f"is specified twice (also in {other.line!r})")
            rows.append(row)

    latent = [v for v in order if v in indicators]
    observed = [v for v in order if v not in indicators]
    # auto.fix.first
    for lv, inds in indicators.items():
        mod = first_mod.get(lv)
        if mod is None or (mod not in ("NA",) and not _NUMBER_RE.match(mod)):
            for r in rows:
                if r.op == "=~" and r.lhs == lv and r.rhs == inds[0]:
                    r.fixed = 1.0
                    break

    regs = [r for r in rows if r.op == "~"]
    dependent = {r.lhs for r in regs}
    predictors = {r.rhs for r in regs}
    all_inds = {i for inds in indicators.values() for i in inds}
    ov_x = [v for v in observed if v in predictors and v not in dependent and v not in all_inds]
    ov_y = [v for v in observed if v in dependent and v not in predictors and v not in all_inds]
    lv_x = [v for v in latent if v not in dependent and v not in all_inds]

    user_keys = {r.key for r in rows}
    for r in rows:
        if r.op == "~~" and (r.lhs in ov_x or r.rhs in ov_x):
            raise ModelError(
                f"model line {r.line!r}: {r.lhs if r.lhs in ov_x else r.rhs!r} is an observed "
                "exogenous covariate; its variances and covariances are fixed at their sample "
                "values (lavaan's fixed.x = TRUE), remove this line")

    def add(lhs, op, rhs, **kw):
        row = ParRow(lhs, op, rhs, user=False, **kw)
        if row.key not in user_keys:
            rows.append(row)
            user_keys.add(row.key)

    for v in observed:                      # auto.var for observed (not fixed.x)
        if v not in ov_x:
            add(v, "~~", v)
    for v in latent:                        # auto.var for latent
        add(v, "~~", v)
    for i, a in enumerate(lv_x):            # auto.cov.lv.x
        for b in lv_x[i + 1:]:
            add(a, "~~", b)
    for i, a in enumerate(ov_y):            # auto.cov.y
        for b in ov_y[i + 1:]:
            add(a, "~~", b)
    for i, a in enumerate(ov_x):            # fixed.x (values filled in from the data)
        for b in ov_x[i:]:
            add(a, "~~", b, exo=True)
    # auto.fix.single: the only indicator of a latent variable, if it indicates nothing else, has
    # its default (not user-written) residual variance fixed to 0, so the factor equals it
    uses = Counter(i for inds in indicators.values() for i in inds)
    single = {inds[0] for inds in indicators.values() if len(inds) == 1 and uses[inds[0]] == 1}
    for r in rows:
        if r.op == "~~" and r.lhs == r.rhs and r.lhs in single and not r.user:
            r.fixed = 0.0
    return ParTable(rows=rows, latent=latent, observed=observed, indicators=indicators,
                    ov_x=ov_x, lines=lines)
