"""Benchmark: verbatims.code_answers on 1,000,000 answers with a 30-theme frame against plain
``str.contains`` over the same keywords.

The answers are generated: 70 % English, 30 % Chinese, 4-16 words each, two theme keywords
(English ones inflected: plural, past, -ing, so stemming matters) among common words of no theme
and a number, so nearly every answer is distinct (no help from coding each distinct answer once).  The
frame has 30 themes of 5 English and 5 Chinese keywords, one in three themes also a pattern.

The baseline is what an analyst would write in pandas: per theme one
``Series.str.contains(keyword | keyword | ..., case=False)`` (plus the theme's pattern), OR-ed
into 30 boolean columns.  It matches substrings ("app" inside "happy", "费" inside "免费") and
knows no non-answers; ``code_answers`` matches whole stemmed words and jieba words, finds
non-answers and too-short answers and builds the status, net and "other" columns.  The agreement
of the two codings is printed for information.

Usage::

    python bench/bench_verbatims.py [--quick] [--json PATH]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import verbatims  # noqa: E402

from _common import best_of_pair, main, report  # noqa: E402

TARGET = 1.5
N_THEMES = 30

_EN_STEMS = (
    "signal coverage network tower reception speed download stream buffer upload price fee "
    "discount invoice refund charge agent manager advisor operator engineer hotline queue delay "
    "appointment technician install router modem password account login website update screen "
    "battery handset upgrade contract renewal penalty roaming abroad travel voucher reward point "
    "loyalty store branch counter parking noise delivery courier package parcel email letter "
    "message alert notice warning outage repair fault error crash freeze glitch menu option "
    "setting feature camera memory storage plan bundle tariff allowance minute text family "
    "student senior business partner").split()
_EN_FILL = ("the a and but it was is my they their we our very really quite not so too with for "
            "in on at of to from after before when again still always never every week month day "
            "year time people thing place good bad ok fine nice poor great awful terrible happy "
            "helpful slow fast new old big small long short easy hard clear sure").split()
_ZH_WORDS = ("信号 覆盖 网络 基站 速度 下载 视频 缓冲 上传 价格 月费 折扣 发票 退款 扣费 客服 经理 顾问 "
             "话务员 工程师 热线 排队 延误 预约 技术员 安装 路由器 光猫 密码 账户 登录 官网 更新 屏幕 "
             "电池 手机 升级 合约 续约 违约金 漫游 出国 旅行 代金券 积分 会员 门店 网点 柜台 停车 噪音 "
             "配送 快递 包裹 邮件 信件 短信 提醒 通知 警告 故障 维修 错误 闪退 卡死 菜单 选项 设置 功能 "
             "相机 内存 存储 套餐 捆绑 资费 流量 分钟 家庭 学生 老人 企业").split()
_ZH_FILL = ("我 的 了 很 都 也 还 是 不 太 就 在 有 没 每次 一直 总是 非常 比较 感觉 觉得 真的 已经 上个月 这次 "
            "他们 我们 好 差 慢 快 服务 体验 问题 时间 地方 情况 朋友 公司 城市 晚上 周末 今天 昨天 办理 使用 "
            "需要 希望 满意 失望 方便 麻烦 简单 复杂 专业 热情 耐心 及时 稳定 便宜").split()
_SUFFIX = ("", "", "s", "ed", "ing")


def make_frame():
    themes = {}
    for t in range(N_THEMES):
        en = _EN_STEMS[(t * 5) % len(_EN_STEMS):][:5]
        zh = _ZH_WORDS[(t * 3) % len(_ZH_WORDS):][:5]
        spec = {"label": {"en": f"Theme {t + 1}", "zh": f"主题{t + 1}"}, "keywords": {"en": en, "zh": zh}}
        if t % 3 == 0:
            spec["patterns"] = {"en": [rf"\b{en[0]}\w* (?:was|is) (?:down|out)\b"]}
        themes[f"t{t + 1:02d}"] = spec
    nets = {f"n{k + 1}": {"themes": [f"t{t + 1:02d}" for t in range(k * 6, k * 6 + 6)]} for k in range(5)}
    return {"themes": themes, "nets": nets}


def make_answers(n, seed=7):
    rng = np.random.default_rng(seed)
    frame = make_frame()
    en_kw = [w for th in frame["themes"].values() for w in th["keywords"]["en"]]
    zh_kw = [w for th in frame["themes"].values() for w in th["keywords"]["zh"]]
    out = []
    lang = rng.random(n) < 0.3
    length = rng.integers(4, 17, n)
    kw_pick = rng.integers(0, 10**9, (n, 2))
    suf = rng.integers(0, len(_SUFFIX), (n, 2))
    num = rng.integers(1, 100000, n)
    fills = rng.integers(0, 10**9, (n, 16))
    special = rng.random(n)
    for i in range(n):
        if special[i] < 0.03:
            out.append(("No comment", "无", "n/a", "没有")[i % 4])
            continue
        k = length[i]
        if lang[i]:
            words = [_ZH_FILL[f % len(_ZH_FILL)] for f in fills[i, :k]]
            words[1] = zh_kw[kw_pick[i, 0] % len(zh_kw)]
            words[-2] = zh_kw[kw_pick[i, 1] % len(zh_kw)]
            words.insert(k // 2, "，")
            out.append("".join(words) + f"{num[i]}。")
        else:
            words = [_EN_FILL[f % len(_EN_FILL)] for f in fills[i, :k]]
            words[1] = en_kw[kw_pick[i, 0] % len(en_kw)] + _SUFFIX[suf[i, 0]]
            words[-2] = en_kw[kw_pick[i, 1] % len(en_kw)] + _SUFFIX[suf[i, 1]]
            words[0] = words[0].capitalize()
            out.append(" ".join(words) + f", {num[i]}.")
    return pd.DataFrame({"why": out}), frame


def baseline(df, frame):
    """Plain pandas: one case-insensitive str.contains per theme over its keywords (+ pattern)."""
    s = df["why"]
    out = {}
    for name, th in frame["themes"].items():
        words = [w for ws in th["keywords"].values() for w in ws]
        pats = [re.escape(w) for w in words] + [p for ps in th.get("patterns", {}).values() for p in ps]
        out[name] = s.str.contains("|".join(pats), case=False, regex=True, na=False)
    return pd.DataFrame(out, index=df.index)


def run(quick=False):
    n = 200_000 if quick else 1_000_000
    repeat = 1 if quick else 3
    df, frame = make_answers(n)
    fr = verbatims.load_frame(frame)
    verbatims.code_answers(df.iloc[:2000], "why", fr)      # warm up: jieba's dictionary loads once
    tb, ref, to, res = best_of_pair(lambda: baseline(df, frame),
                                    lambda: verbatims.code_answers(df, "why", fr), repeat)
    agree = float(np.mean([(ref[t].to_numpy() == res[f"theme_{t}"].to_numpy()).mean() for t in ref]))
    rows = [{
        "benchmark": f"verbatims.code_answers({N_THEMES} themes, en+zh; cell agreement with baseline "
                     f"{agree:.3f})",
        "rows": n, "baseline": "str.contains per theme", "baseline_s": tb, "ours_s": to,
        "ratio": to / tb, "target": TARGET, "pass": to / tb <= TARGET,
    }]
    return report("verbatims", quick, repeat, rows)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
