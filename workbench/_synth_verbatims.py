"""Open-ended comments of the demo study, in English and Chinese, from planted themes.

Used by :mod:`workbench.synth`.  Every comment that is not empty is one of: a non-answer ("No
comment", "无"), a too-short answer ("k", "好"), a comment in no theme ("Been a customer for ten
years"), or one or two themed phrases.  The first theme follows the respondent's NPS group and
relatively weakest (detractors, half the passives) or strongest (promoters) driver; a second
theme is added to 30 % of themed comments.  Promoters praise, detractors and passives complain.
The one planted movement: among comments on value (VAL), billing's share rises from .25 in wave
1 by .08 a wave to .65 in wave 6 (price takes the rest).  30 % of comments are in Chinese.

The demo codebook's coding frame (``coding_frames.verbatim``) is written to find these themes;
the realised themes of every comment are written to ``verbatim_truth.csv`` (``resp_id, lang,
kind, themes``) so tests can measure the coding's precision and recall.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []

THEMES = ("coverage", "speed", "price", "billing", "staff", "wait_time", "app", "plan")
#: first theme of a comment on each driver: {driver: ((theme, probability), ...)}
DRIVER_THEMES = {"PRD": (("coverage", 0.6), ("speed", 0.4)),
                 "SRV": (("staff", 0.55), ("wait_time", 0.45)),
                 "VAL": (("price", None), ("billing", None)),   # billing share moves by wave
                 "DIG": (("app", 0.8), ("plan", 0.2))}
BILLING_SHARE = (0.25, 0.33, 0.41, 0.49, 0.57, 0.65)
P_EMPTY = 0.45
P_CHINESE = 0.30
P_SECOND_THEME = 0.30
#: of non-empty comments
P_NON_ANSWER = 0.05
P_TOO_SHORT = 0.02
P_NO_THEME = 0.06

PHRASES = {
    ("coverage", "-", "en"): ("Signal is weak at home", "No coverage in the countryside",
                              "Poor reception inside my office", "There is a dead zone on my street",
                              "I lose signal on the train", "Coverage is patchy outside town"),
    ("coverage", "+", "en"): ("Great coverage everywhere I go", "Strong signal even in the basement",
                              "Good reception wherever I travel", "Coverage is excellent in rural areas"),
    ("coverage", "-", "zh"): ("家里信号很差", "农村没有覆盖", "办公室里信号不好", "地铁上经常没信号",
                              "郊区覆盖太差了"),
    ("coverage", "+", "zh"): ("信号很好，到哪里都有", "覆盖范围很广", "地下室信号也很强",
                              "出差时信号一直很稳定"),
    ("speed", "-", "en"): ("Mobile data is painfully slow", "Data keeps dropping",
                           "Internet speed is terrible in the evening", "Videos buffer all the time",
                           "Calls drop on my commute", "Everything lags in the evening"),
    ("speed", "+", "en"): ("Data is fast, even in the city centre", "Downloads are quick",
                           "Streaming works without buffering", "Calls never drop"),
    ("speed", "-", "zh"): ("网速太慢了", "上网经常卡顿", "晚上网速很差", "看视频总是缓冲", "通话经常掉线"),
    ("speed", "+", "zh"): ("网速很快", "下载速度很快", "看视频很流畅", "通话从不掉线"),
    ("price", "-", "en"): ("Too expensive for what you get", "Prices keep going up",
                           "Other providers are cheaper", "The monthly fee is too high",
                           "Overpriced compared to the competition"),
    ("price", "+", "en"): ("Good value for the price", "Fair prices", "Cheaper than my old provider",
                           "Affordable for the whole family"),
    ("price", "-", "zh"): ("价格太贵了", "资费一直在涨", "别家更便宜", "月租太高", "性价比太低"),
    ("price", "+", "zh"): ("价格实惠", "性价比很高", "比以前的运营商便宜", "资费很合理"),
    ("billing", "-", "en"): ("Hidden charges on my bill", "I was billed twice this month",
                             "Unexpected charges every month", "My bill is always wrong",
                             "They charged me for extras I never ordered", "Billing errors again"),
    ("billing", "+", "en"): ("The bill is always clear", "No surprise charges on my bill",
                             "Billing is transparent"),
    ("billing", "-", "zh"): ("账单上有隐藏收费", "这个月被重复扣费", "每个月都有莫名其妙的扣费",
                             "账单总是出错", "乱收费"),
    ("billing", "+", "zh"): ("账单清楚明白", "从来没有乱扣费", "收费很透明"),
    ("staff", "-", "en"): ("The shop staff did not know the answer", "Customer service was rude",
                           "The agent could not help me", "Staff were unhelpful and dismissive"),
    ("staff", "+", "en"): ("The staff sorted out my problem quickly",
                           "Customer service was friendly and helpful",
                           "The agent fixed my issue on the first call", "Very polite and knowledgeable staff"),
    ("staff", "-", "zh"): ("客服态度很差", "店里的员工什么都不懂", "客服人员解决不了问题", "工作人员很不耐烦"),
    ("staff", "+", "zh"): ("客服很耐心", "店里的员工很专业", "客服人员一次就帮我解决了问题", "服务态度很好"),
    ("wait_time", "-", "en"): ("Waited ages on the phone line", "On hold for forty minutes",
                               "The queue in the shop was endless", "Nobody answers the hotline",
                               "Had to wait a week for a reply"),
    ("wait_time", "+", "en"): ("No waiting on the hotline", "They answered within a minute of waiting",
                               "Short queue in the shop"),
    ("wait_time", "-", "zh"): ("电话排队等了半个小时", "热线一直打不通", "店里排队太久", "等了很久才有人接"),
    ("wait_time", "+", "zh"): ("热线很快就接通了", "不用排队", "等待时间很短"),
    ("app", "-", "en"): ("The app is confusing and crashes", "Could not log in online",
                         "The website keeps logging me out", "The app update broke everything"),
    ("app", "+", "en"): ("The app makes everything easy", "I can do everything online",
                         "Topping up in the app takes a minute", "The website is easy to use"),
    ("app", "-", "zh"): ("手机应用老是闪退", "网上登录不了", "应用界面太复杂", "官网总是把我登出"),
    ("app", "+", "zh"): ("手机应用很好用", "在网上就能办好所有业务", "应用界面很清楚", "官网很方便"),
    ("plan", "-", "en"): ("Locked into a long contract", "Roaming abroad is a nightmare",
                          "Cannot change my plan without a penalty", "The contract terms are unfair"),
    ("plan", "+", "en"): ("My plan suits what I use", "Easy to change my plan",
                          "Flexible contract with no lock-in", "Roaming works smoothly abroad"),
    ("plan", "-", "zh"): ("合约期太长", "出国漫游太麻烦", "换套餐还要交违约金", "合同条款不合理"),
    ("plan", "+", "zh"): ("套餐很适合我", "换套餐很方便", "合约很灵活", "漫游很顺利"),
}
NO_THEME = {"en": ("Been a customer for ten years", "My whole family is with them", "It's fine overall",
                   "Does the job", "Just switched recently", "OK overall, nothing special"),
            "zh": ("用了很多年了", "全家都用这家", "还行吧", "一般般", "刚换过来不久")}
NON_ANSWER = {"en": ("No comment", "n/a", "Nothing", "Don't know", "None"),
              "zh": ("无", "没有", "不知道", "无意见")}
TOO_SHORT = {"en": ("k", "?"), "zh": ("好", "。")}
JOIN = {"en": (" and ", ". Also, ", "; "), "zh": ("，", "，而且", "。另外")}
OPEN = {"en": ("", "", "", "Honestly, ", "To be fair, "), "zh": ("", "", "", "说实话，", "总的来说，")}


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _first_theme(rng, driver, wave):
    if driver == "VAL":
        return "billing" if rng.random() < BILLING_SHARE[wave - 1] else "price"
    themes, probs = zip(*DRIVER_THEMES[driver])
    return themes[int(rng.random() >= probs[0])] if len(themes) == 2 else themes[0]


def make_verbatims(rng: np.random.Generator, *, empty, group, best, worst, wave, neutral_coin, drivers):
    """Comments and their truth for every respondent.

    Returns ``(texts, truth)``: ``texts`` a list (None = no comment); ``truth`` a dict of lists
    ``lang``, ``kind`` (``empty, non_answer, too_short, no_theme, themed``) and ``themes``
    (``;``-joined, in the order written).
    """
    n = len(group)
    texts: list = []
    langs, kinds, labels = [], [], []
    for i in range(n):
        if empty[i]:
            texts.append(None)
            langs.append("")
            kinds.append("empty")
            labels.append("")
            continue
        lang = "zh" if rng.random() < P_CHINESE else "en"
        u = rng.random()
        langs.append(lang)
        if u < P_NON_ANSWER:
            texts.append(_pick(rng, NON_ANSWER[lang]))
            kinds.append("non_answer")
            labels.append("")
            continue
        if u < P_NON_ANSWER + P_TOO_SHORT:
            texts.append(_pick(rng, TOO_SHORT[lang]))
            kinds.append("too_short")
            labels.append("")
            continue
        g = group[i]
        if u < P_NON_ANSWER + P_TOO_SHORT + P_NO_THEME or (g == "passive" and neutral_coin[i] < 0.25):
            texts.append(_pick(rng, NO_THEME[lang]))
            kinds.append("no_theme")
            labels.append("")
            continue
        sign = "+" if g == "promoter" else "-"
        driver = drivers[best[i]] if g == "promoter" else drivers[worst[i]]
        themes = [_first_theme(rng, driver, int(wave[i]))]
        if rng.random() < P_SECOND_THEME:
            others = [t for t in THEMES if t != themes[0]]
            themes.append(_pick(rng, others))
        parts = [_pick(rng, PHRASES[(t, sign, lang)]) for t in themes]
        text = _pick(rng, OPEN[lang])
        first = parts[0]
        if text and lang == "en" and not first.startswith("I "):
            first = first[0].lower() + first[1:]
        text += first
        for p in parts[1:]:
            join = _pick(rng, JOIN[lang])
            if lang == "en" and join == " and " and not p.startswith("I "):
                p = p[0].lower() + p[1:]
            text += join + p
        text += "." if lang == "en" else "。"
        texts.append(text)
        kinds.append("themed")
        labels.append(";".join(themes))
    return texts, {"lang": langs, "kind": kinds, "themes": labels}
