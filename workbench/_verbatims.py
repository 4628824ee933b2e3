"""Private helpers of :mod:`workbench.verbatims`: text normalisation, keyword matching engines,
Chinese segmentation, lexicon sentiment scorers.  No input checks here: the public layer checks.

Matching, and why it is fast
----------------------------
A keyword matches whole *tokens* of an answer, never a substring inside a word:

* Latin-script keywords (English, and any language the Snowball stemmer knows) match a run of
  tokens whose stems equal the keyword's stems.  Tokens are maximal runs of Latin letters and
  digits of the lower-cased answer.  Rather than stemming every token of every answer, the
  vocabulary of the answers is stemmed once and each keyword is expanded to the word forms of
  that vocabulary sharing its stem ("charges" -> charge, charges, charged, charging); all
  expanded forms go into one trie-shaped regular expression matched in a single pass with
  token boundaries.  The result is the same as tokenising and stemming each answer.
* Chinese keywords must be words of ``jieba``'s segmentation of the answer (``HMM=False``: the
  dictionary's maximum-probability route; the frame's keywords are added to the dictionary with
  the frequency jieba's own ``suggest_freq`` gives, so a keyword is kept whole).  Segmenting
  every answer is slow, so a keyword's occurrence is first found as a substring; it is a word of
  the segmentation for certain when no dictionary word crosses either end of it (then every
  route cuts there, and within the occurrence the keyword beats any split of itself).  Only
  where a dictionary word crosses an end is the smallest surrounding span whose ends no word
  crosses segmented, with jieba's own DAG and route functions.  Tests compare the result with
  segmenting whole answers.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import numpy as np

__all__: list[str] = []

#: Latin letters and digits (after lower-casing): the characters of a Latin token.
LATIN = "0-9a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f"
#: CJK unified ideographs as jieba's block pattern knows them.
HAN = "\u4e00-\u9fd5"
TOKEN_RE = re.compile(f"[{LATIN}]+")
#: everything that is neither a Latin token character nor a Han character becomes one space
SEP_RE = re.compile(f"[^{LATIN}{HAN}]+")
HAN_RE = re.compile(f"[{HAN}]")
CORE_RE = re.compile(r"[\W_]+")
#: personal data inside free text (as workbench.io's column checks)
EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
PHONE = r"\+?\(?\d[\d\s\-().]{5,18}\d|1[3-9]\d{9}"

#: Built-in non-answers (compared after lower-casing and removing everything but letters/digits).
NON_ANSWERS = {
    "en": ["no comment", "no comments", "n/a", "na", "none", "nothing", "nothing to add",
           "nothing else", "nothing to say", "no", "nope", "not sure", "don't know", "dont know",
           "do not know", "dk", "no idea", "idk", "nil", "no reason", "no opinion", "nothing really",
           "not applicable", "-", "--", "...", "?", "x", "xx", "xxx", "."],
    "zh": ["无", "没有", "没", "无意见", "没有意见", "没意见", "没什么", "没什么说的", "没什么好说的",
           "不知道", "不清楚", "说不上来", "说不清", "暂无", "无所谓", "不好说", "无可奉告", "没有了", "无。"],
}


def core(text: str) -> str:
    """Letters and digits only (the form non-answers are compared in)."""
    return CORE_RE.sub("", text.lower())


def normalise(text: str) -> str:
    """Lower-case; every run of characters that are neither Latin letters/digits nor Han -> ' '."""
    return SEP_RE.sub(" ", text.lower())


# --------------------------------------------------------------------------- regex tries
def trie_regex(words) -> str:
    """A regular expression matching any of ``words`` (longest first at each position)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch != ""]
        if not branches:
            return ""
        if len(branches) == 1 and not end:
            return branches[0]
        alt = "(?:" + "|".join(branches) + ")"
        return alt + "?" if end else alt

    return build(trie)


# --------------------------------------------------------------------------- stemming
_SNOWBALL = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian",
             "pt": "portuguese", "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian",
             "fi": "finnish", "ru": "russian", "id": "indonesian", "tr": "turkish", "ro": "romanian"}


def is_chinese(lang: str) -> bool:
    return lang.lower().split("-")[0].split("_")[0] in ("zh", "cn", "chinese")


_stem_local = threading.local()


def stemmer(lang: str):
    """A Snowball stemmer for ``lang`` (stemmer objects are not thread-safe: one per thread)."""
    import snowballstemmer

    name = _SNOWBALL.get(lang.lower().split("-")[0].split("_")[0], "english")
    cache = getattr(_stem_local, "cache", None)
    if cache is None:
        cache = _stem_local.cache = {}
    if name not in cache:
        cache[name] = snowballstemmer.stemmer(name)
    return cache[name]


def stem_tokens(words, lang: str) -> list[str]:
    return stemmer(lang).stemWords(list(words))


#: English words whose Snowball stem does not start with the word's first two letters
_EN_IRREGULAR = frozenset("dying lying tying skies skis".split())


def stem_candidates(vocab, stems, lang: str):
    """Words of ``vocab`` whose stem may be one of ``stems``.

    Stemming is slow in pure Python and a vocabulary holds tens of thousands of words.  The
    English Snowball stemmer only rewrites endings, so a word's stem starts with the word's
    first two letters, except for the few words of its exception list; words starting
    otherwise cannot share a keyword's stem.  Other languages: every word.
    """
    if _SNOWBALL.get(lang.lower().split("-")[0].split("_")[0], "english") != "english":
        return list(vocab)
    heads = {st[:2] for st in stems}
    return [w for w in vocab if w[:2] in heads or w in _EN_IRREGULAR]


# --------------------------------------------------------------------------- jieba
_JIEBA_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _base_tokenizer():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    with _JIEBA_LOCK:
        tk.initialize()
    return tk


@lru_cache(maxsize=16)
def keyword_tokenizer(keywords: tuple[str, ...]):
    """A jieba tokenizer whose dictionary also holds ``keywords``, each kept whole.

    Built on a private copy of jieba's dictionary (jieba's global tokenizer is not touched).
    """
    import jieba

    base = _base_tokenizer()
    tk = jieba.Tokenizer()
    tk.FREQ = dict(base.FREQ)
    tk.total = base.total
    tk.initialized = True
    for _ in range(4):  # a keyword inside another changes the other's split: repeat to a fixed point
        changed = False
        for word in keywords:
            if len(word) < 2:
                continue
            freq = tk.suggest_freq(word, False)
            if freq > (tk.FREQ.get(word) or 0):
                tk.add_word(word, freq)
                changed = True
        if not changed:
            break
    return tk


def segment(tk, text: str) -> list[str]:
    """jieba's segmentation of ``text`` without the HMM (dictionary words and single characters)."""
    return list(tk.cut(text, HMM=False))


def _cut_free(s: str, p: int, freq: dict) -> bool:
    """No dictionary word (frequency > 0) covers both ``s[p-1]`` and ``s[p]``.

    ``s`` is normalised text: its characters outside jieba's blocks are spaces (and Latin
    letters beyond ASCII).  ``freq`` holds every word *and every prefix of a word* (jieba's
    prefix dictionary), so a word starting at ``a`` can cross ``p`` only if ``s[a:p+1]`` is in it.
    """
    n = len(s)
    if p <= 0 or p >= n:
        return True
    c = s[p - 1]
    if not ("\u4e00" <= c <= "\u9fd5" or "a" <= c <= "z" or "0" <= c <= "9"):
        return True
    c = s[p]
    if not ("\u4e00" <= c <= "\u9fd5" or "a" <= c <= "z" or "0" <= c <= "9"):
        return True
    a = p - 1
    lo = max(0, p - 16)
    while a >= lo:
        c = s[a]
        if not ("\u4e00" <= c <= "\u9fd5" or "a" <= c <= "z" or "0" <= c <= "9"):
            break
        frag = s[a:p + 1]
        b = p + 1
        while frag in freq:
            if freq[frag]:
                return False
            b += 1
            if b > n:
                break
            frag = s[a:b]
        a -= 1
    return True


def _segment_span(tk, s: str, a: int, b: int) -> list[tuple[int, int]]:
    """Token spans of ``s[a:b]`` by jieba's route (``a`` and ``b`` are cuts of every route)."""
    span = s[a:b]
    dag = tk.get_DAG(span)
    route: dict = {}
    tk.calc(span, dag, route)
    out, x = [], 0
    while x < len(span):
        y = route[x][1] + 1
        out.append((a + x, a + y))
        x = y
    return out


def chinese_hits(s: str, pattern, tk, keyword_mask: dict) -> int:
    """Bit mask of the Chinese keywords that are words of ``s`` (see the module docstring)."""
    freq = tk.FREQ
    mask = 0
    pos = 0
    n = len(s)
    search = pattern.search
    while pos < n:
        m = search(s, pos)
        if m is None:
            break
        i, j = m.span()
        if _cut_free(s, i, freq) and _cut_free(s, j, freq):
            mask |= keyword_mask[m.group()]
            pos = j
            continue
        a, b = i, j
        while not _cut_free(s, a, freq):
            a -= 1
        while not _cut_free(s, b, freq):
            b += 1
        for x, y in _segment_span(tk, s, a, b):
            hit = keyword_mask.get(s[x:y])
            if hit:
                mask |= hit
        pos = b
    return mask


# --------------------------------------------------------------------------- masks -> matrix
def mask_matrix(masks, n_bits: int) -> np.ndarray:
    """Boolean matrix ``(len(masks), n_bits)`` of Python-int bit masks."""
    if n_bits <= 62:
        arr = np.fromiter(masks, dtype=np.int64, count=len(masks))
        bits = np.int64(1) << np.arange(n_bits, dtype=np.int64)
        return (arr[:, None] & bits[None, :]) != 0
    out = np.zeros((len(masks), n_bits), dtype=bool)
    for r, m in enumerate(masks):
        while m:
            low = m & -m
            out[r, low.bit_length() - 1] = True
            m ^= low
    return out


# --------------------------------------------------------------------------- sentiment
@lru_cache(maxsize=1)
def vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_english(text: str) -> float:
    """VADER compound score in [-1, 1]."""
    return float(vader().polarity_scores(text)["compound"])


def score_chinese(text: str) -> float:
    """SnowNLP's probability of a positive review, rescaled to [-1, 1]."""
    from snownlp import SnowNLP

    return float(2.0 * SnowNLP(text).sentiments - 1.0)


#: Stop words of the theme suggester beyond scikit-learn's English list, and Chinese function words.
EN_STOP_EXTRA = frozenset("just really get got also still even would could one like lot bit "
                           "much many make made go going thing things way always never ever "
                           "every time times honestly overall fine ok okay".split())
ZH_STOP = frozenset("的 了 是 我 你 他 她 它 我们 他们 很 也 都 在 有 就 不 和 与 及 太 又 还 这 那 这个 "
                     "那个 一个 一些 没 没有 会 要 能 可以 对 说 让 把 被 给 但 但是 而且 所以 因为 如果 "
                     "还是 就是 什么 怎么 比较 非常 一直 总是 吗 吧 呢 啊 哦 嗯 呀 着 过 得 地 之 其 "
                     "自己 已经 觉得 感觉 真的 挺 蛮 好像 一下 一点 有点 每次 时候 说实话 总的来说 另外 其实 "
                     "总之 反正 然后 很好 很差 不好 不错 还行 方便 麻烦 问题 经常 总是 老是".split())
