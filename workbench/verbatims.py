"""Open-ended answers: coding into themes, a theme suggester, sentiment, themes as survey variables.

* :func:`code_answers` codes a text column with the study's **coding frame** (codebook section
  ``coding_frames``, ``docs/codebook.md``): several themes per answer from keyword and pattern
  rules in English and Chinese, nets of themes, "other", and answers that are missing, too short
  or non-answers ("no comment", "无").  English is tokenised and stemmed (Snowball), Chinese is
  segmented (``jieba``); matching rules and why they are fast: ``workbench._verbatims``.
* :func:`suggest_themes` proposes themes for a new study (TF-IDF + NMF) with top terms and
  example answers, and writes them as a draft coding frame the analyst edits.
* :func:`sentiment` scores each answer with lexicon scorers that ship inside their packages
  (VADER for English, SnowNLP for Chinese): nothing is downloaded at run time.
* :func:`theme_shares`, :func:`theme_changes` and :func:`theme_impact` treat coded themes as
  survey variables: weighted shares with design-based SEs, wave-on-wave tests and the score of
  mentioners against non-mentioners, with :mod:`workbench.metrics`'s estimators (checked against
  R's ``survey``) and the one low-base rule.
* :func:`representative_verbatims` picks quotes per theme for coverage, not repetition (maximal
  marginal relevance over TF-IDF vectors), with personal data in the text masked
  (:func:`mask_text`).

Methods and references: ``docs/methods/verbatims.md``.

Result columns of :func:`code_answers`
--------------------------------------
``<prefix>status``  ``coded`` (in at least one theme), ``other`` (says something, in no theme),
                    ``non_answer``, ``too_short`` or ``missing`` (blank)
``<prefix><theme>`` True when the answer is in the theme (one column per theme, frame order)
``<prefix><net>``   True when the answer is in any theme of the net
``<prefix>other``   True for status ``other``
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import _survey as sv
from workbench import _verbatims as _v
from workbench import metrics
from workbench.codebook import CodingFrame, Codebook, load_codebook
from workbench.errors import DataError, ParamsError
from workbench.i18n import t

__all__ = [
    "STATUSES",
    "load_frame",
    "code_answers",
    "theme_columns",
    "theme_labels",
    "sentiment",
    "suggest_themes",
    "ThemeSuggestions",
    "theme_shares",
    "theme_changes",
    "theme_impact",
    "representative_verbatims",
    "mask_text",
    "coded_columns",
    "nps_group",
    "NPS_GROUPS",
    "WaveThemes",
    "wave_themes",
    "followup_themes",
    "for_wave_report",
]

#: Values of the status column, in display order.
STATUSES = ("coded", "other", "non_answer", "too_short", "missing")
_SUBSTANTIVE = ("coded", "other")
_BASES = {"substantive": _SUBSTANTIVE, "answered": STATUSES[:4], "all": STATUSES}

_COMMON_DOC = {
    "data": """data : pandas.DataFrame
        One row per respondent.  Not changed.""",
    "themes": """themes : list of str
        Indicator columns of ``data`` (True/False), e.g. the theme and net columns of
        :func:`code_answers` (:func:`theme_columns` lists them).""",
    "status": """status : str, default "theme_status"
        The status column of :func:`code_answers`.""",
    "base": """base : {"substantive", "answered", "all"}, default "substantive"
        Who the shares are of: respondents whose answer says something (``coded`` or
        ``other``); everyone who wrote anything (also non-answers and too-short answers); or
        every respondent (a blank counts as not mentioning).""",
    "weight": """weight : str, array-like or None, default None
        Weight column (or one weight per row); ``None`` = unweighted.""",
    "by": """by : str, list of str or None, default None
        Column(s) to group by (wave, brand, segment, NPS group ...); ``by`` columns come first.""",
    "conf": """conf : float, default 0.95
        Confidence level of ``ci_low, ci_high``.""",
    "rule": """rule : workbench.lowbase.LowBaseRule or None, default None
        Low-base rule for ``base_flag`` and for which differences are tested.""",
}


def _doc(func):
    func.__doc__ = func.__doc__.format(**_COMMON_DOC)
    return func


# --------------------------------------------------------------------------- the frame
def load_frame(frame, column: str | None = None) -> CodingFrame:
    """The coding frame to use: a :class:`~workbench.codebook.CodingFrame`, a mapping in the
    codebook's format, or a codebook (a :class:`~workbench.codebook.Codebook`, path or bundled
    name) together with the text ``column`` whose frame it holds.

    Examples
    --------
    >>> from workbench import verbatims
    >>> fr = verbatims.load_frame("demo", "verbatim")
    >>> "price" in fr.themes
    True
    """
    if isinstance(frame, CodingFrame):
        return frame
    if isinstance(frame, dict):
        from pydantic import ValidationError

        from workbench.codebook import _format_validation_error

        try:
            return CodingFrame.model_validate(frame)
        except ValidationError as exc:
            raise ParamsError(_format_validation_error(exc, "coding frame")) from None
    if isinstance(frame, (Codebook, str, Path)):
        cb = load_codebook(frame)
        if column is None:
            raise ParamsError("a codebook holds one coding frame per text question; pass `column`.")
        fr = cb.coding_frame(column)
        if fr is None:
            raise ParamsError(
                f"{cb.source}: coding_frames.{column}: the codebook has no coding frame for "
                f"{column!r} (frames: {sv.show_values(cb.coding_frames) or 'none'}); "
                "draft one with workbench.verbatims.suggest_themes."
            )
        return fr
    raise ParamsError(f"`frame` must be a CodingFrame, a mapping or a codebook, but "
                      f"{type(frame).__name__} was passed.")


def theme_columns(frame, *, prefix: str = "theme_", nets: bool = True, other: bool = True,
                  column: str | None = None) -> dict[str, str]:
    """``{theme or net code: column name}`` of :func:`code_answers`' result, in display order
    (themes, then nets, then ``other``)."""
    fr = load_frame(frame, column)
    codes = list(fr.themes) + (list(fr.nets) if nets else []) + (["other"] if other else [])
    return {c: f"{prefix}{c}" for c in codes}


def theme_labels(frame, lang: str = "en", *, prefix: str = "theme_", column: str | None = None) -> dict[str, str]:
    """``{column name: label}`` of every theme, net and ``other`` column in ``lang``
    (falling back to English, then the code)."""
    fr = load_frame(frame, column)
    out = {}
    for code, spec in list(fr.themes.items()) + list(fr.nets.items()):
        out[f"{prefix}{code}"] = spec.label.get(lang) or spec.label.get("en") or code
    out[f"{prefix}other"] = fr.other.get(lang) or fr.other.get("en") or "other"
    return out


@dataclass
class _Compiled:
    themes: list[str]
    latin: dict[str, list[tuple[list[str], int]]]   # lang -> [(keyword tokens, theme bit)]
    zh: dict[str, int]                              # keyword -> bit mask
    patterns: list[tuple[object, int]]              # (compiled regex, theme bit)
    non_answers: frozenset
    min_chars: int


def _compile(fr: CodingFrame) -> _Compiled:
    import re

    themes = list(fr.themes)
    latin: dict[str, list] = {}
    zh: dict[str, int] = {}
    pats = []
    for bit, (name, th) in enumerate(fr.themes.items()):
        for lang, words in th.keywords.items():
            for w in words:
                if _v.is_chinese(lang) or _v.HAN_RE.search(w):
                    key = "".join(w.lower().split())
                    zh[key] = zh.get(key, 0) | (1 << bit)
                else:
                    toks = _v.TOKEN_RE.findall(_v.normalise(w))
                    if toks:
                        latin.setdefault("zh" if _v.is_chinese(lang) else lang, []).append((toks, bit))
        rx = [p for ps in th.patterns.values() for p in ps]
        if rx:
            pats.append((re.compile("|".join(f"(?:{p})" for p in rx)), bit))
    non = {_v.core(x) for xs in _v.NON_ANSWERS.values() for x in xs}
    non |= {_v.core(x) for xs in fr.non_answers.values() for x in xs}
    non.discard("")
    return _Compiled(themes, latin, zh, pats, frozenset(non), fr.min_chars)


def _latin_matcher(comp: _Compiled, texts: list[str]):
    """(regex, {surface: mask}) for the Latin keywords, expanded over the answers' vocabulary."""
    import re

    if not comp.latin:
        return None, {}
    vocab = [w for w in set(_v.TOKEN_RE.findall(" ".join(texts))) if not w.isdigit()]
    direct: dict[str, int] = {}
    for lang, entries in comp.latin.items():
        stems_of = {tuple(toks): _v.stem_tokens(toks, lang) for toks, _ in entries}
        words = sorted(_v.stem_candidates(vocab, {st for sts in stems_of.values() for st in sts}, lang))
        forms: dict[str, set] = {}
        for word, st in zip(words, _v.stem_tokens(words, lang)):
            forms.setdefault(st, set()).add(word)
        for toks, bit in entries:
            stems = stems_of[tuple(toks)]
            options = [sorted(forms.get(st, set()) | {tok}) for tok, st in zip(toks, stems)]
            for combo in itertools.product(*options):
                s = " ".join(combo)
                direct[s] = direct.get(s, 0) | (1 << bit)
    table = {}
    for s in direct:  # a match also counts the keywords that are its leading tokens
        parts = s.split(" ")
        m = 0
        for k in range(1, len(parts) + 1):
            m |= direct.get(" ".join(parts[:k]), 0)
        table[s] = m
    L = _v.LATIN
    rx = re.compile(f"(?<![{L}])(?=({_v.trie_regex(table)})(?![{L}]))")
    return rx, table


def _code_unique(texts: list[str], fr: CodingFrame):
    """Status codes (index into STATUSES) and theme bit masks of distinct answers."""
    import re

    comp = _compile(fr)
    n = len(texts)
    status = np.zeros(n, dtype=np.int8)
    masks = [0] * n
    limit = max(60, 4 * comp.min_chars, max((len(x) for x in comp.non_answers), default=0) + 8)
    subst = []
    for i, t in enumerate(texts):
        if len(t) <= limit:
            c = _v.core(t)
            if not c:
                status[i] = 4 if not t.strip() else 3
                continue
            if c in comp.non_answers:
                status[i] = 2
                continue
            if len(c) < comp.min_chars:
                status[i] = 3
                continue
        subst.append(i)
    norm = [_v.normalise(texts[i]) for i in subst]
    rx, table = _latin_matcher(comp, norm)
    sub_masks = [0] * len(subst)
    if rx is not None:
        findall = rx.findall
        for k, t in enumerate(norm):
            m = 0
            for hit in findall(t):
                m |= table[hit]
            sub_masks[k] = m
    if comp.zh:
        tk = _v.keyword_tokenizer(tuple(sorted(comp.zh)))
        zrx = re.compile(_v.trie_regex(comp.zh))
        has_han = _v.HAN_RE.search
        for k, t in enumerate(norm):
            if has_han(t):
                sub_masks[k] |= _v.chinese_hits(t, zrx, tk, comp.zh)
    if comp.patterns:
        lows = [texts[i].lower() for i in subst]
        # one pass with every pattern finds the few answers worth testing theme by theme
        anyp = re.compile("|".join(f"(?:{rxp.pattern})" for rxp, _ in comp.patterns)).search
        cand = [k for k, t in enumerate(lows) if anyp(t)]
        for rxp, bit in comp.patterns:
            search = rxp.search
            b = 1 << bit
            for k in cand:
                if search(lows[k]):
                    sub_masks[k] |= b
    for k, i in enumerate(subst):
        masks[i] = sub_masks[k]
        status[i] = 0 if sub_masks[k] else 1
    return status, masks, comp.themes


def code_answers(data, column, frame, *, prefix: str = "theme_") -> pd.DataFrame:
    """Code the answers of a text column into the themes of a coding frame.

    Each distinct answer is coded once.  An answer is ``missing`` when blank, a ``non_answer``
    when it is one of the frame's or the built-in non-answers ("no comment", "n/a", "无",
    "没有" …, compared on letters and digits only), ``too_short`` when it has fewer than
    ``frame.min_chars`` letters or digits; otherwise it is in every theme one of whose keywords
    or patterns it contains (``coded``) or in none (``other``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.  Not changed.
    column : str
        The text column.
    frame : CodingFrame, mapping, Codebook, str or Path
        The coding frame, or a codebook holding ``coding_frames.<column>``.
    prefix : str, default "theme_"
        Prefix of the result's column names.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``data``: ``<prefix>status`` (categorical, :data:`STATUSES`), one boolean
        column per theme, per net, and ``<prefix>other``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import verbatims
    >>> frame = {"themes": {"price": {"keywords": {"en": ["expensive", "hidden charges"],
    ...                                            "zh": ["太贵", "隐藏收费"]}},
    ...                     "app": {"keywords": {"en": ["app"], "zh": ["应用"]}}}}
    >>> df = pd.DataFrame({"why": ["Hidden charging, and the app crashes", "价格太贵", "免费应用很好用",
    ...                            "No comment", "Great people", None]})
    >>> verbatims.code_answers(df, "why", frame)
      theme_status  theme_price  theme_app  theme_other
    0        coded         True       True        False
    1        coded         True      False        False
    2        coded        False       True        False
    3   non_answer        False      False        False
    4        other        False      False         True
    5      missing        False      False        False
    """
    sv.check_frame(data)
    sv.check_columns(data, [column], "text")
    fr = load_frame(frame, column)
    s = data[column]
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = [u if isinstance(u, str) else str(u) for u in uniques]
    status_u, masks_u, themes = _code_unique(texts, fr)
    mat = _v.mask_matrix(masks_u, len(themes))
    mat = np.vstack([mat, np.zeros((1, len(themes)), dtype=bool)])   # row for missing (code -1)
    st = np.append(status_u, np.int8(4))
    out = {f"{prefix}status": pd.Categorical.from_codes(st[codes], categories=list(STATUSES))}
    rows = mat[codes]
    for j, name in enumerate(themes):
        out[f"{prefix}{name}"] = rows[:, j]
    for name, net in fr.nets.items():
        idx = [themes.index(t) for t in net.themes]
        out[f"{prefix}{name}"] = rows[:, idx].any(axis=1)
    out[f"{prefix}other"] = st[codes] == 1
    return pd.DataFrame(out, index=data.index)


# --------------------------------------------------------------------------- sentiment
def sentiment(data, column, *, neutral: float = 0.05, neutral_zh: float = 0.3) -> pd.DataFrame:
    """Sentiment of each answer from lexicon-based scorers that ship with their packages.

    English (and any answer without Chinese characters) is scored with VADER's compound score
    (Hutto & Gilbert 2014), Chinese with SnowNLP's probability of a positive review rescaled to
    ``2 p - 1``; both lie in [-1, 1].  Each distinct answer is scored once; blank answers get NaN.

    Parameters
    ----------
    data : pandas.DataFrame
    column : str
        The text column.
    neutral : float, default 0.05
        VADER scores within ``±neutral`` are "neutral" (VADER's own convention).
    neutral_zh : float, default 0.3
        SnowNLP scores within ``±neutral_zh`` are "neutral" (its probabilities of short answers
        cluster around 0.5).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``data``: ``sentiment`` (float), ``sentiment_label`` (``negative``,
        ``neutral``, ``positive``; NaN for blanks), ``sentiment_method`` (``vader``/``snownlp``).

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import verbatims
    >>> df = pd.DataFrame({"why": ["Great service, very helpful staff", "Terrible signal, awful"]})
    >>> verbatims.sentiment(df, "why")["sentiment_label"].tolist()
    ['positive', 'negative']
    """
    sv.check_frame(data)
    sv.check_columns(data, [column], "text")
    codes, uniques = pd.factorize(data[column], use_na_sentinel=True)
    score = np.full(len(uniques) + 1, np.nan)
    method = np.full(len(uniques) + 1, None, dtype=object)
    label = np.full(len(uniques) + 1, None, dtype=object)
    for i, u in enumerate(uniques):
        t = u if isinstance(u, str) else str(u)
        if not t.strip():
            continue
        if _v.HAN_RE.search(t):
            score[i], method[i], band = _v.score_chinese(t), "snownlp", neutral_zh
        else:
            score[i], method[i], band = _v.score_english(t), "vader", neutral
        label[i] = "positive" if score[i] > band else "negative" if score[i] < -band else "neutral"
    return pd.DataFrame({"sentiment": score[codes], "sentiment_label": label[codes],
                         "sentiment_method": method[codes]}, index=data.index)


# --------------------------------------------------------------------------- suggester



def _analyzer(lang: str):
    """Tokens for TF-IDF: stemmed English content words; jieba words for Chinese.  (Word pairs
    were tried: in short answers they make each stock phrase a factor of its own.)  Also returns the most frequent surface form of each term (for readable keywords)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    surface: dict[str, Counter] = {}
    if _v.is_chinese(lang):
        tk = _v.keyword_tokenizer(())

        def analyze(text):
            # words of two characters or more: single characters are mostly particles, and a
            # meaningful one (贵) usually comes inside a word (太贵)
            toks = [w for w in tk.cut(_v.normalise(text), HMM=True)
                    if len(w) > 1 and _v.HAN_RE.search(w) and w not in _v.ZH_STOP]
            for w in toks:
                surface.setdefault(w, Counter())[w] += 1
            return toks
    else:
        stop = ENGLISH_STOP_WORDS | _v.EN_STOP_EXTRA

        def analyze(text):
            words = [w for w in _v.TOKEN_RE.findall(_v.normalise(text))
                     if w not in stop and len(w) > 1 and not w.isdigit()]
            stems = _v.stem_tokens(words, lang)
            for w, st in zip(words, stems):
                surface.setdefault(st, Counter())[w] += 1
            return list(stems)

    return analyze, surface


@dataclass(frozen=True)
class ThemeSuggestions:
    """Themes proposed by :func:`suggest_themes`.

    Attributes
    ----------
    themes : pandas.DataFrame
        One row per proposed theme: ``theme`` (code), ``lang``, ``n`` (answers assigned),
        ``share`` (of the answers analysed in that language), ``terms`` (list of keywords, most
        characteristic first), ``label`` (the first three terms).
    examples : pandas.DataFrame
        ``theme, rank, text``: the answers most typical of each theme.
    assignment : pandas.Series
        The theme each analysed answer is assigned to (its largest NMF weight), indexed like
        the input rows; NaN where no theme applies.
    column : str
        The text column.
    """

    themes: pd.DataFrame
    examples: pd.DataFrame
    assignment: pd.Series
    column: str
    n_terms: int = 6

    def draft_frame(self) -> dict:
        """The proposed themes as a ``coding_frames`` entry (a mapping in the codebook's format)."""
        themes = {}
        for row in self.themes.itertuples(index=False):
            lang = "zh" if _v.is_chinese(row.lang) else row.lang
            themes[row.theme] = {
                "label": {lang: t("verbatims.draft_label", lang, label=row.label) for lang in ("en", "zh")},
                "keywords": {lang: list(row.terms[: self.n_terms])},
            }
        return {"themes": themes}

    def to_yaml(self) -> str:
        """A draft ``coding_frames`` section (YAML text) with the example answers as comments."""
        import yaml

        lines = [
            "# DRAFT coding frame proposed from the answers (TF-IDF + NMF).  Edit before use:",
            "# rename the themes, write the labels, merge themes that mean the same (also across",
            "# languages), move or delete keywords, add nets.  Then put it in the codebook.",
            "coding_frames:",
            f"  {self.column}:",
            "    themes:",
        ]
        ex = self.examples.groupby("theme", sort=False)["text"].apply(list).to_dict()
        for row in self.themes.itertuples(index=False):
            body = yaml.safe_dump({row.theme: self.draft_frame()["themes"][row.theme]},
                                  allow_unicode=True, sort_keys=False, default_flow_style=None, width=100)
            lines.append(f"      # {row.share:.0%} of the {row.lang} answers, e.g.:")
            for text in ex.get(row.theme, []):
                lines.append("      #   " + " ".join(str(text).split())[:100])
            lines += ["      " + ln for ln in body.rstrip("\n").split("\n")]
        return "\n".join(lines) + "\n"


def suggest_themes(data, column, *, n_themes: int | dict = 8, n_terms: int = 6, n_examples: int = 3,
                   min_df: int | float = 3, random_state: int = 0) -> ThemeSuggestions:
    """Propose themes for a coding frame from the answers themselves (TF-IDF + NMF).

    Answers are split by script (Chinese where they contain Han characters, else English) and
    each language is analysed on its own: stemmed English words or jieba words (two characters or more),
    without stop words, weighted by TF-IDF (sublinear term frequency, l2-normalised rows) and
    factorised by non-negative matrix factorisation (scikit-learn, ``nndsvd`` start, so the
    result does not depend on chance).  Each factor is a proposed theme: its top terms become
    keywords, its answers with the largest weights become examples.  Missing, too-short and
    non-answers are left out.

    Parameters
    ----------
    data : pandas.DataFrame
    column : str
        The text column.
    n_themes : int or dict, default 8
        Themes to propose per language (``{"en": 8, "zh": 6}`` to differ); fewer when a
        language has few answers.
    n_terms : int, default 6
        Keywords per theme in the draft.
    n_examples : int, default 3
    min_df : int or float, default 3
        Terms in fewer answers (or a smaller share) are ignored.
    random_state : int, default 0
        Passed to NMF (only its tie-breaking; the start is deterministic).

    Returns
    -------
    ThemeSuggestions
        ``.themes``, ``.examples``, ``.assignment``; ``.to_yaml()`` gives the draft frame.

    Examples
    --------
    >>> from workbench import verbatims
    >>> from workbench.io import read_survey
    >>> from workbench.synth import demo_dir
    >>> df = read_survey(demo_dir() / "tracking.csv", "demo")
    >>> sug = verbatims.suggest_themes(df.iloc[:3000], "verbatim", n_themes=4)
    >>> sorted(sug.themes["lang"].unique())
    ['en', 'zh']
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    sv.check_frame(data)
    sv.check_columns(data, [column], "text")
    fr = CodingFrame(themes={"none": {"patterns": ["(?!)"]}})
    coded = code_answers(data[[column]], column, fr, prefix="_")
    keep = coded["_status"].isin(_SUBSTANTIVE).to_numpy()
    texts = data[column][keep].astype(str)
    is_zh = texts.map(lambda t: bool(_v.HAN_RE.search(t)))
    theme_rows, example_rows = [], []
    assignment = pd.Series(np.nan, index=data.index, dtype=object)
    for lang, part in (("en", texts[~is_zh]), ("zh", texts[is_zh])):
        k = n_themes.get(lang, 8) if isinstance(n_themes, dict) else int(n_themes)
        if len(part) < max(10, 2 * k) or k < 1:
            continue
        analyze, surface = _analyzer(lang)
        # fit on distinct answers: a few answers repeated word for word would otherwise take
        # whole factors; every answer is then assigned with the fitted factors
        keys = part.map(_v.core)
        distinct = part[~keys.duplicated().to_numpy()]
        vec = TfidfVectorizer(analyzer=analyze, min_df=min_df, sublinear_tf=True)
        try:
            vec.fit(distinct.tolist())
        except ValueError:  # no term left
            continue
        Xd = vec.transform(distinct.tolist())
        k = min(k, Xd.shape[1], Xd.shape[0])
        nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=500)
        nmf.fit(Xd)
        X = vec.transform(part.tolist())
        W = nmf.transform(X)
        H = nmf.components_
        terms = vec.get_feature_names_out()
        best = W.argmax(axis=1)
        has = W.max(axis=1) > 0
        for c in range(k):
            code = f"{lang}_{c + 1:02d}"
            order = np.argsort(-H[c])
            words = []
            for j in order:
                if H[c, j] <= 0 or len(words) >= max(n_terms, 3):
                    break
                w = surface[terms[j]].most_common(1)[0][0] if terms[j] in surface else terms[j]
                if w not in words:
                    words.append(w)
            members = np.flatnonzero(has & (best == c))
            theme_rows.append({"theme": code, "lang": lang, "n": len(members),
                               "share": len(members) / len(part), "terms": words,
                               "label": " / ".join(words[:3])})
            seen = set()
            for i in np.argsort(-W[:, c]):
                if len(seen) >= n_examples or W[i, c] <= 0:
                    break
                t = part.iloc[i]
                key = _v.core(t)
                if key in seen:
                    continue
                seen.add(key)
                example_rows.append({"theme": code, "rank": len(seen), "text": t})
            assignment.loc[part.index[members]] = code
    themes = pd.DataFrame(theme_rows, columns=["theme", "lang", "n", "share", "terms", "label"])
    if len(themes):
        themes = themes.sort_values(["lang", "n"], ascending=[True, False], kind="stable").reset_index(drop=True)
    examples = pd.DataFrame(example_rows, columns=["theme", "rank", "text"])
    return ThemeSuggestions(themes=themes, examples=examples, assignment=assignment,
                            column=column, n_terms=n_terms)


# --------------------------------------------------------------------------- survey variables
def _indicators(data, themes, status, base, extra_cols):
    sv.check_frame(data)
    if isinstance(themes, str):
        themes = [themes]
    themes = list(themes)
    if not themes:
        raise ParamsError("`themes` must name at least one indicator column.")
    if base not in _BASES:
        raise ParamsError(f"`base` must be one of {sv.show_values(_BASES)}, but {base!r} was passed.")
    need = themes + ([status] if base != "all" else [])
    sv.check_columns(data, need, "theme")
    cols = [c for c in dict.fromkeys(extra_cols) if c in data.columns and c not in themes]
    tmp = data[cols].copy()
    if base == "all":
        inbase = np.ones(len(data), dtype=bool)
    else:
        inbase = data[status].astype(object).isin(_BASES[base]).to_numpy()
    for t in themes:
        v = data[t]
        if v.isna().any() or not (pd.api.types.is_bool_dtype(v) or set(pd.unique(v)) <= {0, 1}):
            raise DataError(f"theme column {t!r} must hold True/False (or 1/0) for every row.")
        tmp[t] = np.where(inbase, v.to_numpy(dtype=float), np.nan)
    return tmp, themes


def _extra(weight, by, *more):
    cols = list(sv.as_list(by)) + [c for c in more if c is not None]
    if isinstance(weight, str):
        cols.append(weight)
    return cols


@_doc
def theme_shares(data, themes, *, status="theme_status", base="substantive", weight=None, by=None,
                 conf=0.95, rule=None) -> pd.DataFrame:
    """Weighted share of respondents mentioning each theme, with its design-based SE.

    A theme's share is the weighted mean of its indicator over the base, estimated as a domain
    of the whole design by :func:`workbench.metrics.top_box` (R's ``svymean`` of the indicator
    within ``svyby``), so SEs, intervals and low-base flags are those of every other share in
    the reports.

    Parameters
    ----------
    {data}
    {themes}
    {status}
    {base}
    {weight}
    {by}
    {conf}
    {rule}

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``theme`` (the column name), ``n, n_eff, share, se, ci_low, ci_high,
        base_flag``; themes in the order given.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import verbatims
    >>> df = pd.DataFrame({{"why": ["too expensive", "slow app", "expensive app", "no comment"]}})
    >>> coded = df.join(verbatims.code_answers(df, "why", {{"themes": {{
    ...     "price": {{"keywords": ["expensive"]}}, "app": {{"keywords": ["app"]}}}}}}))
    >>> verbatims.theme_shares(coded, ["theme_price", "theme_app"])[["theme", "n", "share"]]
             theme  n     share
    0  theme_price  3  0.666667
    1    theme_app  3  0.666667
    """
    tmp, themes = _indicators(data, themes, status, base, _extra(weight, by))
    parts = []
    for t in themes:
        res = metrics.top_box(tmp, t, top=1, scale_max=1, weight=weight, by=by, conf=conf, rule=rule)
        res.insert(len(sv.as_list(by)), "theme", t)
        parts.append(res)
    return pd.concat(parts, ignore_index=True)


@_doc
def theme_changes(data, themes, *, between="wave", reference="previous", status="theme_status",
                  base="substantive", weight=None, by=None, conf=0.95, rule=None,
                  adjust="fdr_bh") -> pd.DataFrame:
    """Significance of changes in theme shares: wave on wave, or between any groups.

    Each theme's share is compared between levels of ``between`` by
    :func:`workbench.metrics.compare` (independent domains: ``se = sqrt(se1^2 + se2^2)``, z test;
    no test below the low-base rule's ``min_test``).

    Parameters
    ----------
    {data}
    {themes}
    between : str, default "wave"
        Column whose levels are compared.
    reference : {{"previous", "first", "rest"}} or a level, default "previous"
        As in :func:`workbench.metrics.compare`.
    {status}
    {base}
    {weight}
    {by}
    {conf}
    {rule}
    adjust : str or None, default "fdr_bh"
        Multiple-testing adjustment over all rows of the result (:func:`workbench.metrics.adjust_p`);
        None for no ``p_adj`` column.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``theme``, ``between`` column, ``reference``, ``est, est_ref, diff, se, z,
        p_val, ci_low, ci_high, n, n_ref, n_eff, n_eff_ref, base_flag`` (shares 0-1), ``p_adj``.
    """
    tmp, themes = _indicators(data, themes, status, base, _extra(weight, by, between))
    parts = []
    for t in themes:
        res = metrics.compare(tmp, t, metric="top_box", top=1, scale_max=1, between=between,
                              reference=reference, weight=weight, by=by, conf=conf, rule=rule)
        res.insert(len(sv.as_list(by)), "theme", t)
        parts.append(res)
    out = pd.concat(parts, ignore_index=True)
    if adjust:
        out["p_adj"] = metrics.adjust_p(out["p_val"], method=adjust).to_numpy()
    return out


@_doc
def theme_impact(data, themes, score, *, metric="nps", status="theme_status", base="substantive",
                 weight=None, by=None, conf=0.95, rule=None, adjust="fdr_bh", **options) -> pd.DataFrame:
    """Each theme's association with the score: the metric of mentioners against non-mentioners.

    Within the base, respondents mentioning the theme and those not mentioning it are two
    disjoint domains of one design; their difference is tested by
    :func:`workbench.metrics.compare` (covariance 0, z test, the low-base rule).  A theme whose
    mentioners have a much lower NPS is a pain point; a higher one, a strength.  This is an
    association, not an effect: respondents choose what to write about.

    Parameters
    ----------
    {data}
    {themes}
    score : str
        The score column (0-10 for NPS).
    metric : {{"nps", "mean_score", "top_box", "bottom_box"}}, default "nps"
    {status}
    {base}
    {weight}
    {by}
    {conf}
    {rule}
    adjust : str or None, default "fdr_bh"
        Adjustment of ``p_val`` over the result's rows (``p_adj``); None for none.
    **options
        ``top``, ``scale_max`` … of the box metrics.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``theme``, ``est`` (metric of mentioners), ``est_ref`` (non-mentioners),
        ``diff, se, z, p_val, ci_low, ci_high, n, n_ref, n_eff, n_eff_ref, base_flag, p_adj``.
    """
    mention = "_mentions_"
    tmp, themes = _indicators(data, themes, status, base, _extra(weight, by, score))
    if score not in tmp.columns:
        sv.check_columns(data, [score], "score")
    parts = []
    for t in themes:
        d = tmp.drop(columns=[c for c in themes if c != t]).rename(columns={t: mention})
        res = metrics.compare(d, score, metric=metric, between=mention, reference=0.0, weight=weight,
                              by=by, conf=conf, rule=rule, **options)
        res = res.drop(columns=[mention, "reference"])
        res.insert(len(sv.as_list(by)), "theme", t)
        parts.append(res)
    out = pd.concat(parts, ignore_index=True)
    if adjust:
        out["p_adj"] = metrics.adjust_p(out["p_val"], method=adjust).to_numpy()
    return out


# --------------------------------------------------------------------------- quotes
def mask_text(texts, *, names=(), token: str = "***"):
    """Mask personal data inside free text: e-mail addresses, phone numbers (7 digits or more,
    Chinese mobile numbers) and the given ``names`` (whole values and their parts of three or
    more letters, or two or more Chinese characters; case-insensitive whole words).

    Parameters
    ----------
    texts : str, list or Series
    names : iterable of str
        Names to mask (e.g. the values of the codebook's personal-data columns).
    token : str, default "***"

    Returns
    -------
    Same kind as ``texts``.

    Examples
    --------
    >>> from workbench import verbatims
    >>> verbatims.mask_text("Ask Jane Doe, jane@example.com or +44 20 7946 0958", names=["Jane Doe"])
    'Ask ***, *** or ***'
    """
    import re

    single = isinstance(texts, str)
    series = texts if isinstance(texts, pd.Series) else None
    items = [texts] if single else list(texts)
    email = re.compile(_v.EMAIL)
    phone = re.compile(_v.PHONE)
    joined = "\n".join(t.lower() for t in items if isinstance(t, str))
    parts = set()
    for name in names:
        if not isinstance(name, str) or not name.strip() or "@" in name:
            continue
        for piece in [name.strip(), *name.split()]:
            p = piece.strip(" ,.;:()\"'")
            long_enough = len(p) >= 2 if _v.HAN_RE.search(p) else len(p) >= 3
            if long_enough and p.lower() in joined:
                parts.add(p)
    name_rx = None
    if parts:
        alts = sorted(parts, key=len, reverse=True)
        name_rx = re.compile("|".join(re.escape(p) if _v.HAN_RE.search(p) else rf"\b{re.escape(p)}\b"
                                      for p in alts), re.IGNORECASE)

    def one(t):
        if not isinstance(t, str):
            return t
        t = email.sub(token, t)
        t = phone.sub(lambda m: token if sum(ch.isdigit() for ch in m.group()) >= 7 else m.group(), t)
        if name_rx is not None:
            t = name_rx.sub(token, t)
        return t

    out = [one(t) for t in items]
    if single:
        return out[0]
    if series is not None:
        return pd.Series(out, index=series.index, name=series.name)
    return out


def _pii_names(data, codebook, column):
    if codebook is None:
        return []
    cb = load_codebook(codebook)
    cols = [c for c in cb.pii_columns() if c in data.columns and c != column]
    names = set()
    for c in cols:
        vals = data[c].dropna()
        if not (pd.api.types.is_object_dtype(vals) or pd.api.types.is_string_dtype(vals)):
            continue
        names.update(v for v in pd.unique(vals.astype(str)) if "@" not in v)
    return sorted(names)


def representative_verbatims(data, column, themes, *, k: int = 3, diversity: float = 0.5,
                             codebook=None, status="theme_status", max_chars: int | None = 300,
                             pool: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """Quotes for each theme chosen for coverage, not repetition, with personal data masked.

    Among the distinct answers in a theme, maximal marginal relevance (Carbonell & Goldstein
    1998) picks ``k`` in turn, each maximising ``(1 - diversity) * sim(answer, theme centroid)
    - diversity * max sim(answer, answers already picked)`` with cosine similarities of TF-IDF
    vectors (stemmed English words, jieba words for Chinese), so the quotes cover what the
    theme's answers say rather than repeat its most common answer.  E-mail addresses, phone
    numbers and the values of the codebook's personal-data columns are masked
    (:func:`mask_text`).

    Parameters
    ----------
    data : pandas.DataFrame
        Holds ``column``, the theme columns and ``status``.
    column : str
        The text column.
    themes : list of str
        Indicator columns (themes or nets).
    k : int, default 3
        Quotes per theme.
    diversity : float, default 0.5
        0 = the most typical answers; 1 = the most different from each other.
    codebook : Codebook, str, Path or None
        Its ``pii: true`` columns give the names to mask.
    status : str, default "theme_status"
        Only ``coded`` answers are quoted (a missing column: all).
    max_chars : int or None, default 300
        Longer answers are cut at a word boundary with "…".
    pool : int, default 2000
        At most this many distinct answers per theme are considered (a fixed random subset).
    random_state : int, default 0

    Returns
    -------
    pandas.DataFrame
        ``theme, rank, row`` (index label of the respondent), ``text`` (masked), ``relevance``
        (similarity to the theme centroid), ``n_same`` (answers with the same wording).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    sv.check_frame(data)
    if isinstance(themes, str):
        themes = [themes]
    sv.check_columns(data, [column, *themes], "verbatim")
    if not 0 <= diversity <= 1:
        raise ParamsError(f"`diversity` must lie in [0, 1], but {diversity!r} was passed.")
    rng = np.random.default_rng(random_state)
    names = _pii_names(data, codebook, column)
    text = data[column]
    ok = text.notna().to_numpy().copy()
    if status in data.columns:
        ok &= (data[status].astype(object) == "coded").to_numpy()
    rows = []
    for t in themes:
        sel = np.flatnonzero(ok & data[t].fillna(False).to_numpy(dtype=bool))
        if len(sel) == 0:
            continue
        sub = text.iloc[sel].astype(str)
        keys = sub.map(_v.core)
        first = ~keys.duplicated()
        counts = keys.value_counts()
        cand = sub[first.to_numpy()]
        if len(cand) > pool:
            cand = cand.iloc[np.sort(rng.choice(len(cand), pool, replace=False))]
        lang = "zh" if cand.map(lambda s: bool(_v.HAN_RE.search(s))).mean() > 0.5 else "en"
        analyze, _ = _analyzer(lang)
        try:
            X = TfidfVectorizer(analyzer=analyze).fit_transform(cand.tolist())
        except ValueError:
            X = None
        picked = _mmr(X, k, diversity) if X is not None else list(range(min(k, len(cand))))
        if X is not None:
            centroid = np.asarray(X.mean(axis=0)).ravel()
            norm = np.linalg.norm(centroid) or 1.0
            rel = np.asarray(X @ centroid).ravel() / norm
        else:
            rel = np.full(len(cand), np.nan)
        quotes = mask_text([cand.iloc[i] for i in picked], names=names)
        for rank, (i, q) in enumerate(zip(picked, quotes), start=1):
            if max_chars and len(q) > max_chars:
                q = q[:max_chars].rsplit(" ", 1)[0] + "…"
            rows.append({"theme": t, "rank": rank, "row": cand.index[i], "text": q,
                         "relevance": float(rel[i]), "n_same": int(counts[_v.core(cand.iloc[i])])})
    return pd.DataFrame(rows, columns=["theme", "rank", "row", "text", "relevance", "n_same"])


def _mmr(X, k, diversity):
    """Indices of ``k`` rows of the l2-normalised matrix ``X`` by maximal marginal relevance."""
    n = X.shape[0]
    centroid = np.asarray(X.mean(axis=0)).ravel()
    cn = np.linalg.norm(centroid) or 1.0
    rel = np.asarray(X @ centroid).ravel() / cn
    picked: list[int] = []
    max_sim = np.zeros(n)
    avail = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        score = (1 - diversity) * rel - diversity * max_sim
        score[~avail] = -np.inf
        i = int(np.argmax(score))
        picked.append(i)
        avail[i] = False
        sim = np.asarray((X @ X[i].T).todense()).ravel()
        max_sim = np.maximum(max_sim, sim)
    return picked


# --------------------------------------------------------------------------- reports
def coded_columns(codebook, dataset: str | None = None, data=None) -> list[str]:
    """Text questions of ``dataset`` that the codebook has a coding frame for (those in ``data``
    when given), in the dataset's column order: what a report can code into themes.

    Examples
    --------
    >>> from workbench import verbatims
    >>> verbatims.coded_columns("demo", "tracking")
    ['verbatim']
    """
    cb = load_codebook(codebook)
    cols = list(cb.dataset(dataset).columns) if dataset else list(cb.coding_frames)
    cols = [c for c in cols if c in cb.coding_frames]
    if data is not None:
        cols = [c for c in cols if c in data.columns]
    return cols


#: NPS groups of the 0-10 score, in display order.
NPS_GROUPS = ("detractors", "passives", "promoters")


def nps_group(score) -> pd.Series:
    """``detractors`` (0-6), ``passives`` (7-8) or ``promoters`` (9-10) for each score (NaN: missing)."""
    s = pd.to_numeric(pd.Series(score), errors="coerce")
    out = pd.Series(pd.NA, index=s.index, dtype=object)
    out[s <= 6] = "detractors"
    out[(s > 6) & (s < 9)] = "passives"
    out[s >= 9] = "promoters"
    return pd.Series(pd.Categorical(out, categories=list(NPS_GROUPS)), index=s.index)


@dataclass
class WaveThemes:
    """The themes of one text question in a wave report (built by :func:`wave_themes`).

    Attributes
    ----------
    column : str
        The text question.
    frame : CodingFrame
    themes, nets : list of str
        Theme and net columns (``theme_<code>``), frame order; ``other`` is ``theme_other``.
    top : list of str
        Theme columns mentioned most in the report's wave (largest share first).
    wave, ref_wave : int, int or None
        The report's wave and the wave it is compared with.
    waves : list of int
        Waves of the trend (up to the report's wave).
    status : pandas.DataFrame
        Report's wave: ``status, n`` (respondents per status of :data:`STATUSES`).
    shares : pandas.DataFrame
        Report's wave, every theme, net and ``other``: :func:`theme_shares`, with ``sig`` and the
        wave-on-wave ``diff, p_val, p_adj`` against ``ref_wave`` (NaN without one).
    trend : pandas.DataFrame
        Top themes per wave: :func:`theme_shares` by wave, with ``diff, p_val, p_adj, sig``
        against the previous wave (the first wave: NaN).
    groups : pandas.DataFrame or None
        Report's wave, themes by NPS group (:data:`NPS_GROUPS`): :func:`theme_shares` by ``group``;
        None without an NPS question.
    impact : pandas.DataFrame or None
        Report's wave: :func:`theme_impact` of every theme on the NPS, with ``sig``.
    quotes : pandas.DataFrame
        Report's wave: :func:`representative_verbatims` of the top themes (personal data masked).
    score : str or None
        The NPS question (None without one).
    conf, fdr, rule
        Settings.  ``sig`` is ``"up"`` / ``"down"`` where the test (``p_adj`` with ``fdr``)
        is significant at ``conf`` and the base allows a test, else ``""``.
    """

    column: str
    frame: CodingFrame
    themes: list[str]
    nets: list[str]
    top: list[str]
    wave: int
    ref_wave: int | None
    waves: list[int]
    status: pd.DataFrame
    shares: pd.DataFrame
    trend: pd.DataFrame
    groups: pd.DataFrame | None
    impact: pd.DataFrame | None
    quotes: pd.DataFrame
    score: str | None
    conf: float
    fdr: bool
    rule: object

    @property
    def n_base(self) -> int:
        """Respondents of the report's wave whose answer says something (the shares' base)."""
        st = self.status.set_index("status")["n"]
        return int(sum(st.get(s, 0) for s in _SUBSTANTIVE))

    @property
    def n_total(self) -> int:
        """Respondents of the report's wave."""
        return int(self.status["n"].sum())


def _sig(frame, conf, fdr):
    p = frame["p_adj"] if fdr and "p_adj" in frame.columns else frame["p_val"]
    ok = p.notna() & (p < 1 - conf) & (frame["base_flag"].astype(str) != "no_test")
    d = frame["diff"]
    return np.where(ok & (d > 0), "up", np.where(ok & (d < 0), "down", ""))


def wave_themes(data, column, codebook, *, weight=None, wave_col="wave", wave=None, ref_wave=None,
                waves=None, score=None, rows=None, top: int = 5, k: int = 2, conf: float = 0.95, rule=None,
                fdr: bool = False, lang: str | None = None, prefix: str = "theme_") -> WaveThemes | None:
    """The themes of a text question for a wave report: shares, their trend and tests, what
    detractors and promoters talk about, each theme's association with the NPS, and quotes.

    Parameters
    ----------
    data : pandas.DataFrame
        The tracking data (every wave).  Not changed.
    column : str
        The text question.
    codebook : Codebook, str or Path
        Holds ``coding_frames.<column>`` (None is returned when it has none) and the personal-data
        columns masked in quotes.
    weight : str, array-like or None
        Weight column or one weight per row (rows without a weight are left out).
    wave_col : str
    wave : int or None
        The report's wave (None: the newest).
    ref_wave : int or None
        The wave it is compared with (None: no comparison).
    waves : list of int or None
        Waves of the trend (None: every wave up to ``wave``).
    score : str or None
        The 0-10 NPS question (None: no NPS groups and no association).
    rows : array of bool or None
        Respondents to describe (e.g. our brand); None = all.
    top : int, default 5
        Themes in the trend and quotes.
    k : int, default 2
        Quotes per top theme.
    conf, rule, fdr
        Confidence level, low-base rule, and whether ``sig`` uses the Benjamini-Hochberg ``p_adj``.
    lang : str or None
        The report's language: a theme's quotes are taken from the answers written in it (Chinese
        or not) when it has at least ``k`` of them; None = from every answer.

    Returns
    -------
    WaveThemes or None
        None when the codebook has no coding frame for ``column`` or ``data`` lacks it.
    """
    cb = load_codebook(codebook)
    if column not in data.columns or cb.coding_frame(column) is None:
        return None
    fr = cb.coding_frame(column)
    pii = [c for c in cb.pii_columns() if c != column]  # their values are masked in quotes
    cols = [c for c in dict.fromkeys([column, wave_col, score, *pii]) if c is not None and c in data.columns]
    d = data[cols].copy()
    keep = np.ones(len(d), dtype=bool) if rows is None else np.array(rows, dtype=bool)
    wcol = None
    if weight is not None:
        w = data[weight] if isinstance(weight, str) else weight
        w = np.asarray(w, dtype=float)
        d["_w_"] = w
        keep &= np.isfinite(w) & (w > 0)
        wcol = "_w_"
    d = d[keep]
    if wave is None:
        wave = int(d[wave_col].max())
    if waves is None:
        waves = sorted(int(x) for x in pd.unique(d[wave_col].dropna()) if x <= wave)
    d = d[d[wave_col].isin(list(waves) + ([ref_wave] if ref_wave is not None else []))]
    d = d.join(code_answers(d, column, fr, prefix=prefix))
    names = theme_columns(fr, prefix=prefix)
    themes = [names[c] for c in fr.themes]
    nets = [names[c] for c in fr.nets]
    every = themes + nets + [f"{prefix}other"]
    status = f"{prefix}status"
    now = d[d[wave_col] == wave]
    if now.empty:
        raise DataError(f"wave {wave} has no respondents to code.")
    counts = now[status].value_counts().reindex(list(STATUSES), fill_value=0)
    status_df = pd.DataFrame({"status": list(STATUSES), "n": counts.to_numpy(dtype=int)})
    opts = {"status": status, "weight": wcol, "conf": conf, "rule": rule}

    shares = theme_shares(now, every, **opts)
    for c in ("diff", "p_val", "p_adj"):
        shares[c] = np.nan
    if ref_wave is not None and ref_wave != wave and (d[wave_col] == ref_wave).any():
        pair = d[d[wave_col].isin([ref_wave, wave])]
        ch = theme_changes(pair, every, between=wave_col, reference=ref_wave, **opts)
        ch = ch[ch[wave_col] == wave].set_index("theme")
        for c in ("diff", "p_val", "p_adj"):
            shares[c] = shares["theme"].map(ch[c]).to_numpy(dtype=float)
        shares["ref_share"] = shares["theme"].map(ch["est_ref"]).to_numpy(dtype=float)
        shares["ref_base_flag"] = shares["theme"].map(ch["base_flag"]).to_numpy()
    else:
        shares["ref_share"] = np.nan
    shares["sig"] = _sig(shares.assign(base_flag=shares["base_flag"]), conf, fdr)

    th = shares[shares["theme"].isin(themes)]
    top_cols = th.sort_values("share", ascending=False, kind="stable")["theme"].head(top).tolist()
    top_cols = [c for c in top_cols if th.set_index("theme").loc[c, "share"] > 0]

    trend = theme_shares(d[d[wave_col].isin(waves)], top_cols, by=wave_col, **opts) if top_cols else \
        pd.DataFrame(columns=[wave_col, "theme", "n", "n_eff", "share", "se", "ci_low", "ci_high", "base_flag"])
    for c in ("diff", "p_val", "p_adj"):
        trend[c] = np.nan
    if top_cols and len(waves) > 1:
        ch = theme_changes(d[d[wave_col].isin(waves)], top_cols, between=wave_col, reference="previous", **opts)
        key = ch.set_index(["theme", wave_col])
        idx = pd.MultiIndex.from_arrays([trend["theme"], trend[wave_col]])
        for c in ("diff", "p_val", "p_adj"):
            trend[c] = key[c].reindex(idx).to_numpy(dtype=float)
    trend["sig"] = _sig(trend, conf, fdr) if len(trend) else []

    groups = impact = None
    if score is not None and score in now.columns:
        g = now.assign(group=nps_group(now[score]).to_numpy())
        g = g[g["group"].notna()]
        if len(g):
            groups = theme_shares(g, themes, by="group", **opts)
            groups = groups[groups["group"].isin(NPS_GROUPS)].reset_index(drop=True)
            impact = theme_impact(now, themes, score, metric="nps", **opts)
            impact["sig"] = _sig(impact, conf, fdr)
    quotes = _quotes(now, column, top_cols, k=k, codebook=cb, status=status, lang=lang)
    return WaveThemes(column=column, frame=fr, themes=themes, nets=nets, top=top_cols, wave=int(wave),
                      ref_wave=None if ref_wave is None else int(ref_wave), waves=[int(w) for w in waves],
                      status=status_df, shares=shares.reset_index(drop=True), trend=trend.reset_index(drop=True),
                      groups=groups, impact=impact, quotes=quotes, score=score if groups is not None else None,
                      conf=conf, fdr=fdr, rule=rule)


def _quotes(data, column, themes, *, k, codebook, status, lang):
    """Quotes of each theme, from the answers in the report's language when there are enough."""
    cols = ["theme", "rank", "row", "text", "relevance", "n_same"]
    if not themes:
        return pd.DataFrame(columns=cols)
    if lang is None:
        return representative_verbatims(data, column, themes, k=k, codebook=codebook, status=status)
    han = data[column].map(lambda x: isinstance(x, str) and bool(_v.HAN_RE.search(x))).to_numpy(dtype=bool)
    mine = han if _v.is_chinese(lang) else ~han
    parts = []
    for th in themes:
        coded = data[th].to_numpy(dtype=bool) & (data[status].astype(object) == "coded").to_numpy()
        sub = data.loc[mine] if (coded & mine).sum() >= k else data
        parts.append(representative_verbatims(sub, column, [th], k=k, codebook=codebook, status=status))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def followup_themes(frame, codebook, *, column=None, lang: str = "en", themes=None, name: str | None = None,
                    sep: str | None = None, prefix: str = "theme_"):
    """The detractor follow-up list with the themes of each detractor's comment.

    Adds a ``name`` column (the labels of the comment's themes in ``lang``, in frame order,
    joined with ``sep``; "" for a comment in no theme or no comment) and, for each theme code in
    ``themes``, a 0/1 column ``<prefix><code>``, so the CRM team can route each call to whoever
    owns the topic.  Nothing is added when the codebook has no frame for the list's text column.

    Parameters
    ----------
    frame : pandas.DataFrame or None
        The list (:func:`workbench.waves.followup_list`); its text column is ``column`` or the
        list's ``attrs["verbatim"]``.  Not changed.  None is returned as None.
    codebook : Codebook, str or Path
    column : str or None
    lang : str
    themes : list of str or None
        Theme codes (or ``theme_<code>`` columns, as :attr:`WaveThemes.top`) to add 0/1 columns
        for; None: none.
    name : str or None
        Name of the added column (default: "themes" in ``lang``).
    sep : str or None
        Between labels (default "; " in English, "；" in Chinese).

    Returns
    -------
    pandas.DataFrame or None
        ``attrs["themes_column"]`` names the added column and ``attrs["theme_counts"]`` holds
        ``{theme label: comments on the list in the theme}`` (most frequent first).
    """
    from workbench.i18n import t

    if frame is None:
        return None
    column = column or frame.attrs.get("verbatim")
    cb = load_codebook(codebook)
    if column is None or column not in frame.columns or cb.coding_frame(column) is None:
        return frame
    fr = cb.coding_frame(column)
    coded = code_answers(frame, column, fr, prefix=prefix)
    labels = theme_labels(fr, lang, prefix=prefix)
    sep = sep if sep is not None else t("waves.warn.sep", lang)
    cols = [f"{prefix}{c}" for c in fr.themes]
    mat = coded[cols].to_numpy(dtype=bool)
    name = name or t("verbatims.col.themes", lang)
    out = frame.copy()
    out[name] = [sep.join(labels[c] for c, on in zip(cols, row) if on) for row in mat]
    for code in themes or []:
        col = code if str(code).startswith(prefix) else f"{prefix}{code}"
        if col not in coded.columns:
            raise ParamsError(f"`themes`: {code!r} is not a theme of the coding frame of {column!r} "
                              f"(themes: {sv.show_values(list(fr.themes))}).")
        out[col] = coded[col].astype(int).to_numpy()
    out.attrs.update(frame.attrs)
    counts = {labels[c]: int(n) for c, n in zip(cols, mat.sum(axis=0)) if n}
    out.attrs["themes_column"] = name
    out.attrs["theme_counts"] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    out.attrs["n_comments"] = int((coded[f"{prefix}status"].astype(object).isin(_SUBSTANTIVE)).sum())
    return out


def for_wave_report(inputs, res, *, codebook, top: int = 5, k: int = 2, lang: str | None = None) -> list[WaveThemes]:
    """The themes of every coded text question of a wave report's dataset (one
    :class:`WaveThemes` each; an empty list when the codebook has no coding frame for any).

    Uses the report's respondents (our brand, or everyone without brands), its weights, waves,
    comparison wave, confidence level, low-base rule and FDR setting, and its NPS question.

    Parameters
    ----------
    inputs : workbench.waves.WaveInputs
    res : workbench.waves.WaveAnalysis
    codebook : Codebook
    top, k, lang
        As in :func:`wave_themes`.
    """
    data = inputs.tracking
    cols = coded_columns(codebook, inputs.columns.get("dataset"), data)
    if not cols:
        return []
    brand_col = inputs.columns.get("brand_col")
    rows = None
    if res.our_brand and brand_col in data.columns:
        rows = data[brand_col].astype(str).eq(str(res.our_brand)).to_numpy()
    score = res.headline.get("score") if (res.headline or {}).get("metric") == "nps" else None
    wave_col = inputs.columns.get("wave_col", "wave")
    out = []
    for c in cols:
        vt = wave_themes(data, c, codebook, weight=inputs.weights.weight, wave_col=wave_col, wave=res.wave,
                         ref_wave=res.ref_wave, waves=res.waves, score=score, rows=rows, top=top, k=k,
                         conf=res.conf, rule=res.rule, fdr=res.fdr, lang=lang)
        if vt is not None:
            out.append(vt)
    return out
