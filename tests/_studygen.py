"""Studies of varied shape for the tests: a codebook, data files and params files, with a known truth.

``make_study(folder, shape)`` writes a whole study the way a user would bring it: a codebook YAML
(format: docs/codebook.md), CSV data files with the study's own column names and missing codes,
and one params file per notebook the data can feed, holding only ``notebook, study, client, data,
codebook, language`` — every other parameter must come from the codebook (``workbench.study``).

The shapes differ from the demo study on purpose, in every way a client's study may:

* waves: none (no wave column), one wave, or six (wave column ``round``, period ``quarter``);
* brands: no brand column, or our brand and 1-4 competitors (brand column ``bank``/``supplier``/...);
* scales 1-5, 1-7, 1-10 and 0-10; 2-7 constructs named after other themes (Staff, Billing,
  Website, ...), one of them sometimes measured by a single item;
* an NPS question under another name (``advocacy``) sometimes, and sometimes none;
* missing codes ``-99`` or ``98/99``; a weight column ``wt`` (declared as a role) or none;
* SERVQUAL customer surveys with other dimensions, scales and column patterns, with and without a
  staff survey (gaps 1-4) and with or without the zone-of-tolerance and importance questions;
* codebook labels in English and Chinese, reports in either.

Data come from a seeded latent-variable model (numpy only): correlated driver factors, an outcome
factor that is a known linear function of them, items that load on their factor and are cut onto
the item scale; SERVQUAL answers around known gaps per dimension.  ``truth.json`` holds the
planted structure.  Same shape and seed, same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

__all__ = ["Shape", "SHAPES", "make_study", "NOTEBOOKS"]

#: notebook stems a study shape can feed
NOTEBOOKS = {"waves": "02_wave_analysis", "drivers": "03_key_drivers", "gaps": "04_five_gap",
             "tabs": "05_tab_book"}

# ---- words of the generated studies (none of them the demo's) ----------------------------------
#: construct themes: key -> (en label, zh label, [(en item, zh item), ...])
THEMES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "Staff": ("Staff", "员工", [
        ("Staff are polite", "员工有礼貌"),
        ("Staff know the products well", "员工熟悉产品"),
        ("Staff handle my requests quickly", "员工迅速处理我的需求"),
        ("Staff explain things clearly", "员工解释清楚"),
    ]),
    "Billing": ("Billing", "账单", [
        ("Bills are easy to understand", "账单易于理解"),
        ("Charges are correct", "收费准确"),
        ("Fees are fair", "费用合理"),
    ]),
    "Website": ("Website", "网站", [
        ("The website is easy to navigate", "网站易于浏览"),
        ("I find what I need online", "在网上能找到所需信息"),
        ("Online forms work first time", "在线表单一次就能提交成功"),
    ]),
    "Branch": ("Branches", "网点", [
        ("Branches are conveniently located", "网点位置便利"),
        ("Queues at the counter are short", "柜台排队时间短"),
        ("Branches are clean and tidy", "网点干净整洁"),
    ]),
    "Doctors": ("Doctors", "医生", [
        ("Doctors listen to me", "医生耐心倾听"),
        ("Doctors explain the treatment", "医生解释治疗方案"),
        ("Doctors take enough time", "医生问诊时间充足"),
    ]),
    "Waiting": ("Waiting times", "候诊时间", [
        ("I am seen at the booked time", "按预约时间就诊"),
        ("The waiting room is comfortable", "候诊区舒适"),
        ("I am told how long I will wait", "会告知预计等候时间"),
    ]),
    "Pharmacy": ("Pharmacy", "药房", [
        ("Prescriptions are ready quickly", "处方取药迅速"),
    ]),
    "Tariffs": ("Tariffs", "电价方案", [
        ("Tariffs are easy to compare", "电价方案便于比较"),
        ("My tariff suits how I use energy", "我的电价方案符合用电习惯"),
        ("Price changes are announced early", "调价会提前通知"),
    ]),
    "Meter": ("Meter readings", "抄表", [
        ("Meter readings are accurate", "抄表读数准确"),
        ("Submitting a reading is easy", "提交读数很方便"),
        ("Estimated readings are rare", "很少使用估算读数"),
    ]),
    "Outages": ("Supply outages", "停电处理", [
        ("Outages are fixed quickly", "停电能迅速修复"),
        ("I am told about planned outages", "计划停电会提前告知"),
        ("Outage updates are reliable", "停电进展信息可靠"),
    ]),
    "Contact": ("Contact centre", "客服中心", [
        ("I get through quickly", "很快能接通"),
        ("My issue is solved in one call", "一次通话就能解决问题"),
        ("Agents are courteous", "客服人员彬彬有礼"),
    ]),
    "App": ("Mobile app", "手机应用", [
        ("The app is reliable", "应用稳定可靠"),
        ("The app responds quickly", "应用反应迅速"),
        ("The app has the features I need", "应用功能齐全"),
    ]),
    "Claims": ("Claims handling", "理赔", [
        ("Claims are settled fast", "理赔速度快"),
        ("The claims process is simple", "理赔流程简单"),
        ("Claim decisions are fair", "理赔结果公平"),
        ("I am kept informed about my claim", "理赔进度及时告知"),
    ]),
    "Delivery": ("Delivery", "配送", [
        ("Parcels arrive on the promised day", "包裹按承诺日期送达"),
        ("Parcels arrive undamaged", "包裹完好无损"),
        ("Couriers are courteous", "快递员礼貌"),
    ]),
    "Tracking": ("Parcel tracking", "物流跟踪", [
        ("Tracking information is accurate", "物流跟踪信息准确"),
    ]),
    # outcomes
    "Overall": ("Overall impression", "总体印象", [
        ("Overall I am pleased with them", "总体而言我感到满意"),
        ("They meet my needs", "能满足我的需求"),
        ("I would choose them again", "我会再次选择他们"),
    ]),
    "Commitment": ("Commitment", "忠诚度", [
        ("I intend to stay a customer", "我打算继续做他们的客户"),
        ("I will buy more from them", "我会从他们那里购买更多"),
        ("I speak well of them", "我会向他人说他们的好话"),
    ]),
}

#: brand names for the brand column: code -> (en, zh); the first of a shape's list is ours
BRANDS = {
    "harbour": ("Harbour Bank", "港湾银行"), "meridian": ("Meridian", "子午银行"),
    "northgate": ("Northgate", "北门银行"), "summit": ("Summit", "峰顶"), "keystone": ("Keystone", "基石"),
    "brightwatt": ("Brightwatt", "明瓦能源"), "kilnpower": ("Kiln Power", "窑火电力"),
    "shieldco": ("ShieldCo", "盾牌保险"), "anchorre": ("Anchor Mutual", "锚定互助"),
    "lumen": ("Lumen Cover", "流明保险"), "oakline": ("Oakline", "橡树线"), "pebble": ("Pebble", "卵石保险"),
}

TENURE = {"new": ("Under 1 year", "不足1年"), "settled": ("1 to 5 years", "1至5年"),
          "long": ("Over 5 years", "5年以上")}

MISSING_LABELS = {-99: ("No answer", "未作答"), 98: ("Refused", "拒答"), 99: ("Cannot say", "说不清")}

#: SERVQUAL dimension themes: key -> (en, zh, [(item code, en, zh), ...])
SQ_DIMENSIONS = {
    "rooms": ("Rooms", "客房", [("rm1", "Rooms are quiet", "客房安静"), ("rm2", "Beds are comfortable", "床铺舒适"),
                                ("rm3", "Rooms are spotless", "客房一尘不染")]),
    "desk": ("Front desk", "前台", [("dk1", "Check-in is quick", "入住办理迅速"),
                                    ("dk2", "Requests are handled at once", "需求立即处理"),
                                    ("dk3", "Desk staff are courteous", "前台员工礼貌"),
                                    ("dk4", "Bills are right first time", "账单一次准确")]),
    "dining": ("Dining", "餐饮", [("dn1", "Breakfast is served on time", "早餐准时供应"),
                                  ("dn2", "Food is fresh", "食物新鲜"), ("dn3", "Menus suit my diet", "菜单适合我的饮食")]),
    "collections": ("Collections", "馆藏", [("co1", "The books I need are on the shelf", "所需图书在架"),
                                            ("co2", "E-resources are easy to access", "电子资源易于访问"),
                                            ("co3", "New titles arrive quickly", "新书上架迅速")]),
    "spaces": ("Study spaces", "学习空间", [("sp1", "There are enough seats", "座位充足"),
                                            ("sp2", "Study rooms are quiet", "自习室安静")]),
    "librarians": ("Librarians", "馆员", [("lb1", "Librarians are approachable", "馆员平易近人"),
                                          ("lb2", "Librarians find answers", "馆员能找到答案"),
                                          ("lb3", "Librarians follow up", "馆员会跟进")]),
    "hours": ("Opening hours", "开放时间", [("hr1", "Opening hours suit me", "开放时间合适"),
                                           ("hr2", "Hours are kept as published", "按公布时间开放")]),
}

#: antecedent scales of gaps 1-4 in the generated staff survey: key -> (gap, direction, en, zh, items)
ANTECEDENTS = {
    "listen": (1, 1, "Listening to guests", "倾听客人", [("ls1", "We ask guests what they expect", "我们会询问客人的期望"),
                                                     ("ls2", "Guest comments reach managers", "客人意见会传达给管理层")]),
    "crew": (3, 1, "Crew support", "班组支持", [("cw1", "Colleagues cover for me when it is busy", "忙时同事会帮我"),
                                             ("cw2", "I have the tools to serve guests", "我有服务客人所需的工具"),
                                             ("cw3", "My shift has enough people", "我所在班次人手充足")]),
}


# ---- shapes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """What a generated study looks like.

    kind : "drivers" (a customer survey with constructs; feeds the wave notebook too when it
        has a wave column and an NPS question) or "gaps" (SERVQUAL).
    waves : 0 = no wave column; 1 = a wave column holding one wave; 6 = six waves.
    competitors : None = no brand column; else the number of competitors besides our brand.
    """

    name: str
    kind: str = "drivers"
    language: str = "en"
    client: str = "Test Client Ltd"
    title: tuple[str, str] = ("Customer survey", "客户调查")
    dataset: str = "survey"
    waves: int = 0
    competitors: int | None = None
    brand_col: str = "bank"
    brands: tuple[str, ...] = ("harbour", "meridian", "northgate", "summit", "keystone")
    scale: tuple[int, int] = (1, 5)
    drivers: tuple[str, ...] = ("Staff", "Billing")
    satisfaction: str = "Overall"
    loyalty_construct: str | None = None   # a multi-item loyalty construct (outcomes.loyalty)
    nps: str | None = None                 # name of the 0-10 recommendation question, None = none
    nps_in_model: bool = True              # outcomes.loyalty = the NPS question (when no loyalty construct)
    weight: str | None = None              # weight column name, None = unweighted
    missing: tuple[int, ...] = (-99,)
    n_per_cell: int = 300                  # respondents per wave x brand (or in all, for gaps)
    seed: int = 1
    # SERVQUAL
    dimensions: tuple[str, ...] = ()
    staff: bool = False
    zone: bool = True                      # adequate/desired questions and importance points
    group_col: str | None = "tenure"       # a categorical profile column

    @property
    def has_waves(self) -> bool:
        return self.waves > 0

    @property
    def notebooks(self) -> tuple[str, ...]:
        """The notebooks this study can feed."""
        # the tab book tabulates against the brand and categorical columns (without one the user
        # must name a banner)
        tabs = (NOTEBOOKS["tabs"],) if self.group_col or self.competitors is not None else ()
        if self.kind == "gaps":
            return (NOTEBOOKS["gaps"], *tabs)
        out = []
        if self.waves >= 1 and self.nps:
            out.append(NOTEBOOKS["waves"])
        out.append(NOTEBOOKS["drivers"])
        return (*out, *tabs)

    def scale_label(self) -> str:
        return f"{self.scale[0]}-{self.scale[1]}"


SHAPES: dict[str, Shape] = {s.name: s for s in [
    # six waves, our bank and three competitors, 1-5 items, an NPS question, weights, -99
    Shape("bank_tracker", client="Harbour Savings Bank", title=("Retail banking experience monitor", "零售银行体验监测"),
          dataset="cx_panel", waves=6, competitors=3, brand_col="bank", scale=(1, 5),
          drivers=("Staff", "Branch", "Website", "Billing"), nps="advocacy", weight="wt", missing=(-99,),
          n_per_cell=110, seed=11),
    # one survey, no waves, no brands, 1-7 items, a single-item construct, no NPS, unweighted, 98/99, zh
    Shape("clinic_pulse", language="zh", client="Riverside Health Centre",
          title=("Patient experience survey", "患者体验调查"), dataset="patients", scale=(1, 7),
          drivers=("Doctors", "Waiting", "Pharmacy"), missing=(98, 99), n_per_cell=420, seed=12),
    # one wave with a wave column, one competitor, 0-10 items, seven constructs, NPS outside the model
    Shape("energy_snapshot", client="Brightwatt Energy", title=("Household energy customer study", "家庭能源客户研究"),
          dataset="households", waves=1, competitors=1, brand_col="supplier", brands=("brightwatt", "kilnpower"),
          scale=(0, 10), drivers=("Tariffs", "Meter", "Outages", "Contact", "App"), loyalty_construct="Commitment",
          nps="advocacy", nps_in_model=False, weight="wt", missing=(-99,), n_per_cell=350, seed=13),
    # no waves, four competitors, 1-10 items, two constructs only, no NPS, weights, 98/99
    Shape("insurer_compare", client="ShieldCo Insurance", title=("Motor insurance claims study", "车险理赔研究"),
          dataset="claimants", competitors=4, brand_col="insurer",
          brands=("shieldco", "anchorre", "lumen", "oakline", "pebble"), scale=(1, 10), drivers=("Claims",),
          weight="wt", missing=(98, 99), n_per_cell=120, seed=14),
    # six waves, no brand column, 1-7 items, a single-item construct, NPS, unweighted, -99, zh
    Shape("courier_waves", language="zh", client="Swiftlane Couriers", title=("Parcel delivery tracker", "快递配送跟踪研究"),
          dataset="recipients", waves=6, scale=(1, 7), drivers=("Delivery", "Tracking"), nps="advocacy",
          missing=(-99,), n_per_cell=260, seed=15),
    # SERVQUAL with three dimensions on 1-10, zone of tolerance and importance, staff survey, weights
    Shape("hotel_gaps", kind="gaps", client="Lakeside Hotels", title=("Guest service quality study", "宾客服务质量研究"),
          dataset="guests", scale=(1, 10), dimensions=("rooms", "desk", "dining"), staff=True, weight="wt",
          missing=(-99,), n_per_cell=450, group_col="stay", seed=16),
    # SERVQUAL with four dimensions on 1-5, expectations and perceptions only, no staff survey, zh
    Shape("library_gaps", kind="gaps", language="zh", client="City Library Service",
          title=("Library service quality survey", "图书馆服务质量调查"), dataset="readers", scale=(1, 5),
          dimensions=("collections", "spaces", "librarians", "hours"), staff=False, zone=False,
          missing=(98, 99), n_per_cell=320, group_col=None, seed=17),
]}


# ---- helpers ---------------------------------------------------------------------------------
def _labels(en: str, zh: str) -> dict:
    return {"en": en, "zh": zh}


def _item_codes(construct: str, n: int) -> list[str]:
    stem = construct.lower()[:4]
    return [f"{stem}_{i}" for i in range(1, n + 1)]


def _cut(x: np.ndarray, scale: tuple[int, int], centre: float = 0.64, spread: float = 0.2) -> np.ndarray:
    """A latent score (about N(0, 1)) as whole points on ``scale``, centred at ``centre`` of the range."""
    lo, hi = scale
    return np.clip(np.rint(lo + (hi - lo) * (centre + spread * x)), lo, hi)


def _with_missing(rng, values: np.ndarray, codes: tuple[int, ...], share: float) -> np.ndarray:
    out = values.astype(float).copy()
    hit = rng.random(out.shape[0]) < share
    out[hit] = rng.choice(np.asarray(codes, dtype=float), size=int(hit.sum()))
    return out


def _weights(rng, n: int) -> np.ndarray:
    w = np.exp(rng.normal(0.0, 0.35, n))
    return np.round(w / w.mean(), 4)


def _periods(n: int) -> list[str]:
    """Quarterly fieldwork months, newest last (2025-01, 2025-04, ...)."""
    out, year, month = [], 2025, 1
    for _ in range(n):
        out.append(f"{year}-{month:02d}")
        month += 3
        if month > 12:
            month, year = month - 12, year + 1
    return out


def _frame_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format="%.10g")


# ---- the driver-type study ---------------------------------------------------------------------
def _drivers_data(shape: Shape, rng) -> tuple[pd.DataFrame, dict, dict]:
    """Respondent rows, construct items and the planted truth."""
    brands = list(shape.brands[: shape.competitors + 1]) if shape.competitors is not None else [None]
    waves = list(range(1, shape.waves + 1)) if shape.has_waves else [None]
    periods = _periods(max(shape.waves, 1))
    k = len(shape.drivers)
    phi = np.full((k, k), 0.3) + 0.7 * np.eye(k)                       # driver correlations
    raw = np.linspace(1.0, 0.35, k)                                     # first driver strongest
    c = np.sqrt(0.55 / float(raw @ phi @ raw))                          # R² of satisfaction = .55
    beta = c * raw
    brand_shift = {b: s for b, s in zip(brands, np.linspace(0.15, -0.25, len(brands)))}
    rows = []
    for w in waves:
        for b in brands:
            n = shape.n_per_cell
            mean = np.full(k, brand_shift[b]) + (0.04 * (w - 1) if w else 0.0) * np.r_[1.0, np.zeros(k - 1)]
            f = rng.multivariate_normal(mean, phi, size=n)
            sat = f @ beta + np.sqrt(0.45) * rng.standard_normal(n)
            loy = 0.7 * sat + np.sqrt(0.51) * rng.standard_normal(n)
            part = pd.DataFrame(f, columns=list(shape.drivers))
            part[shape.satisfaction] = sat
            if shape.loyalty_construct:
                part[shape.loyalty_construct] = loy
            rec = 0.8 * (loy if shape.loyalty_construct else sat) + 0.6 * rng.standard_normal(n)
            part["_rec"] = rec
            part["_wave"] = w
            part["_brand"] = b
            rows.append(part)
    lat = pd.concat(rows, ignore_index=True)
    n = len(lat)
    df = pd.DataFrame({"rid": [f"R{i:05d}" for i in range(1, n + 1)]})
    if shape.has_waves:
        df["round"] = lat["_wave"].astype(int)
        df["quarter"] = [periods[w - 1] for w in lat["_wave"]]
    if shape.competitors is not None:
        df[shape.brand_col] = lat["_brand"]
    if shape.group_col:
        df[shape.group_col] = rng.choice(list(TENURE), size=n, p=[0.25, 0.45, 0.30])
    if shape.weight:
        df[shape.weight] = _weights(rng, n)
    items: dict[str, list[str]] = {}
    constructs = list(shape.drivers) + [shape.satisfaction] + ([shape.loyalty_construct] if shape.loyalty_construct else [])
    loadings = {}
    for con in constructs:
        n_items = len(THEMES[con][2])
        codes = _item_codes(con, n_items)
        items[con] = codes
        for code in codes:
            lam = 0.95 if n_items == 1 else float(rng.uniform(0.72, 0.88))
            loadings[code] = lam
            x = lam * lat[con].to_numpy() + np.sqrt(1 - lam**2) * rng.standard_normal(n)
            df[code] = _with_missing(rng, _cut(x, shape.scale, centre=0.64 + rng.uniform(-0.04, 0.04)),
                                     shape.missing, 0.03)
    if shape.nps:
        df[shape.nps] = _with_missing(rng, np.clip(np.rint(7.2 + 2.0 * lat["_rec"].to_numpy()), 0, 10),
                                      shape.missing, 0.02)
    truth = {
        "satisfaction": shape.satisfaction,
        "paths_std": {f"{shape.satisfaction}~{d}": round(float(b), 6) for d, b in zip(shape.drivers, beta)},
        "driver_order": list(shape.drivers),
        "r2_satisfaction": 0.55,
        "loadings": loadings,
        "brands": [b for b in brands if b is not None],
        "waves": [w for w in waves if w is not None],
        "n": int(n),
    }
    return df, items, truth


def _drivers_codebook(shape: Shape, df: pd.DataFrame, items: dict[str, list[str]]) -> dict:
    lo, hi = shape.scale
    questions: dict[str, dict] = {"rid": {"type": "id", "label": _labels("Respondent", "受访者")}}
    roles = {}
    if shape.has_waves:
        questions["round"] = {"type": "numeric", "integer": True, "min": 1, "label": _labels("Survey round", "调查轮次")}
        questions["quarter"] = {"type": "date", "format": "%Y-%m", "label": _labels("Fieldwork month", "调查月份")}
        roles.update(wave="round", period="quarter")
    if shape.competitors is not None:
        used = shape.brands[: shape.competitors + 1]
        questions[shape.brand_col] = {
            "type": "categorical", "label": _labels("Main provider", "主要服务商"),
            "levels": {b: _labels(*BRANDS[b]) for b in used},
        }
        roles["brand"] = shape.brand_col
    if shape.group_col:
        questions[shape.group_col] = {"type": "categorical", "ordered": True, "label": _labels("Customer for", "客户时长"),
                                      "levels": {k: _labels(*v) for k, v in TENURE.items()}}
    if shape.weight:
        questions[shape.weight] = {"type": "weight", "label": _labels("Survey weight", "调查权重")}
        roles["weight"] = shape.weight
    anchors = {lo: _labels("Strongly disagree", "非常不同意"), hi: _labels("Strongly agree", "非常同意")}
    for con, codes in items.items():
        for code, (en, zh) in zip(codes, THEMES[con][2]):
            questions[code] = {"type": "likert", "min": lo, "max": hi, "label": _labels(en, zh), "levels": anchors}
    if shape.nps:
        questions[shape.nps] = {"type": "nps", "label": _labels("How likely are you to recommend us to a friend?",
                                                                "您向朋友推荐我们的可能性有多大?"),
                                "levels": {0: _labels("Not at all likely", "完全不可能"),
                                           10: _labels("Extremely likely", "极有可能")}}
    constructs = {con: {"label": _labels(THEMES[con][0], THEMES[con][1]), "items": codes} for con, codes in items.items()}
    outcomes = {"satisfaction": shape.satisfaction}
    if shape.loyalty_construct:
        outcomes["loyalty"] = shape.loyalty_construct
    elif shape.nps and shape.nps_in_model:
        outcomes["loyalty"] = shape.nps
    study = {"id": shape.name, "client": shape.client, "title": _labels(*shape.title), "languages": ["en", "zh"]}
    if shape.competitors is not None:
        study["our_brand"] = shape.brands[0]
    dataset = {"file": f"{shape.dataset}.csv", "id": "rid", "label": _labels("Customer survey", "客户问卷"),
               "columns": list(df.columns)}
    if roles:
        dataset["roles"] = roles
    return {
        "version": 1,
        "study": study,
        "missing_codes": {c: _labels(*MISSING_LABELS[c]) for c in shape.missing},
        "datasets": {shape.dataset: dataset},
        "questions": questions,
        "constructs": constructs,
        "outcomes": outcomes,
    }


# ---- the SERVQUAL study ----------------------------------------------------------------------
SQ_PATTERNS = {"expectation": "exp_{item}", "perception": "per_{item}", "adequate": "min_{item}",
               "desired": "ideal_{item}", "importance": "pts_{dimension}", "mgmt_expectation": "mexp_{item}",
               "specification": "std_{dimension}", "delivery": "dlv_{dimension}", "promise": "prm_{dimension}"}
STAY = {"work": ("Business trip", "商务出行"), "leisure": ("Leisure", "休闲度假")}


def _gaps_data(shape: Shape, rng) -> tuple[dict[str, pd.DataFrame], dict]:
    lo, hi = shape.scale
    span = hi - lo
    dims = list(shape.dimensions)
    nd = len(dims)
    gap5 = dict(zip(dims, np.round(np.linspace(-0.16, 0.03, nd) * span, 3)))    # planted P - E (points)
    n = shape.n_per_cell
    corr = np.full((nd, nd), 0.4) + 0.6 * np.eye(nd)
    e_lat = rng.multivariate_normal(np.zeros(nd), corr, size=n)
    p_lat = rng.multivariate_normal(np.zeros(nd), corr, size=n)
    cust = pd.DataFrame({"rid": [f"G{i:04d}" for i in range(1, n + 1)]})
    if shape.group_col:
        cust[shape.group_col] = rng.choice(list(STAY), size=n, p=[0.4, 0.6])
    if shape.weight:
        cust[shape.weight] = _weights(rng, n)

    def scale_points(centre_pts, latent):
        return np.clip(np.rint(centre_pts + 0.14 * span * latent), lo, hi)

    e_centre = lo + 0.74 * span
    for j, d in enumerate(dims):
        for code, _en, _zh in SQ_DIMENSIONS[d][2]:
            ex = 0.8 * e_lat[:, j] + 0.6 * rng.standard_normal(n)
            px = 0.8 * p_lat[:, j] + 0.6 * rng.standard_normal(n)
            cust[SQ_PATTERNS["expectation"].format(item=code)] = _with_missing(
                rng, scale_points(e_centre, ex), shape.missing, 0.02)
            cust[SQ_PATTERNS["perception"].format(item=code)] = _with_missing(
                rng, scale_points(e_centre + gap5[d], px), shape.missing, 0.02)
            if shape.zone:
                cust[SQ_PATTERNS["adequate"].format(item=code)] = _with_missing(
                    rng, scale_points(lo + 0.5 * span, ex), shape.missing, 0.02)
                cust[SQ_PATTERNS["desired"].format(item=code)] = _with_missing(
                    rng, scale_points(lo + 0.86 * span, ex), shape.missing, 0.02)
    if shape.zone:
        pts = rng.dirichlet(np.linspace(3.0, 1.5, nd) * 4, size=n) * 100
        whole = np.floor(pts)
        short = (100 - whole.sum(axis=1)).astype(int)
        order = np.argsort(-(pts - whole), axis=1)
        for i in range(n):
            whole[i, order[i, : short[i]]] += 1
        for j, d in enumerate(dims):
            cust[SQ_PATTERNS["importance"].format(dimension=d)] = whole[:, j].astype(int)
    frames = {shape.dataset: cust}
    truth = {"gap5": {d: float(g) for d, g in gap5.items()}, "n_customers": n}
    if shape.staff:
        gaps14 = {d: dict(zip(("knowledge", "standards", "delivery", "communication"),
                              np.round(rng.uniform(-0.12, 0.02, 4) * span, 3))) for d in dims}
        n_mgr, n_front = 24, 48
        staff = pd.DataFrame({"sid": [f"S{i:03d}" for i in range(1, n_mgr + n_front + 1)],
                              "position": ["manager"] * n_mgr + ["frontline"] * n_front})
        mgr = staff["position"].eq("manager").to_numpy()
        m = len(staff)
        for d in dims:
            g = gaps14[d]
            me_centre = e_centre + g["knowledge"]
            level = rng.standard_normal(m)
            for code, _en, _zh in SQ_DIMENSIONS[d][2]:
                v = scale_points(me_centre, 0.8 * level + 0.6 * rng.standard_normal(m))
                staff[SQ_PATTERNS["mgmt_expectation"].format(item=code)] = np.where(mgr, v, np.nan)
            spec = scale_points(me_centre + g["standards"], level)
            dlv = scale_points(me_centre + g["standards"] + g["delivery"], 0.7 * level + 0.7 * rng.standard_normal(m))
            prm = scale_points(me_centre + g["standards"] + g["delivery"] - g["communication"],
                               0.7 * level + 0.7 * rng.standard_normal(m))
            staff[SQ_PATTERNS["specification"].format(dimension=d)] = spec
            staff[SQ_PATTERNS["delivery"].format(dimension=d)] = np.where(mgr, np.nan, dlv)
            staff[SQ_PATTERNS["promise"].format(dimension=d)] = np.where(mgr, np.nan, prm)
        for key, (gap, _dir, _en, _zh, its) in ANTECEDENTS.items():
            who = mgr if gap in (1, 2) else ~mgr
            base = rng.standard_normal(m)
            for code, _ien, _izh in its:
                v = scale_points(lo + 0.6 * span, 0.8 * base + 0.6 * rng.standard_normal(m))
                staff[code] = np.where(who, v, np.nan)
        frames["staff_survey"] = staff
        truth["gaps14"] = {d: {k: float(v) for k, v in g.items()} for d, g in gaps14.items()}
    return frames, truth


def _gaps_codebook(shape: Shape, frames: dict[str, pd.DataFrame]) -> dict:
    lo, hi = shape.scale
    cust = frames[shape.dataset]
    questions: dict[str, dict] = {"rid": {"type": "id", "label": _labels("Guest", "受访者")}}
    roles = {}
    if shape.group_col:
        questions[shape.group_col] = {"type": "categorical", "label": _labels("Purpose of stay", "出行目的"),
                                      "levels": {k: _labels(*v) for k, v in STAY.items()}}
    if shape.weight:
        questions[shape.weight] = {"type": "weight", "label": _labels("Survey weight", "调查权重")}
        roles["weight"] = shape.weight
    datasets = {shape.dataset: {"file": f"{shape.dataset}.csv", "id": "rid",
                                "label": _labels("Customer SERVQUAL survey", "客户服务质量问卷"),
                                "columns": list(cust.columns)}}
    if roles:
        datasets[shape.dataset]["roles"] = roles
    sq_items = {code: _labels(en, zh) for d in shape.dimensions for code, en, zh in SQ_DIMENSIONS[d][2]}
    servqual = {"scale": {"min": lo, "max": hi}, "importance_total": 100, **SQ_PATTERNS,
                "dimensions": {d: {"label": _labels(SQ_DIMENSIONS[d][0], SQ_DIMENSIONS[d][1]),
                                   "items": [c for c, _e, _z in SQ_DIMENSIONS[d][2]]} for d in shape.dimensions},
                "items": sq_items}
    if shape.staff:
        staff = frames["staff_survey"]
        questions["sid"] = {"type": "id", "label": _labels("Staff member", "员工")}
        questions["position"] = {"type": "categorical", "label": _labels("Position", "岗位"),
                                 "levels": {"manager": _labels("Manager", "经理"),
                                            "frontline": _labels("Front-line staff", "一线员工")}}
        datasets["staff_survey"] = {"file": "staff_survey.csv", "id": "sid",
                                    "label": _labels("Staff survey", "员工问卷"), "columns": list(staff.columns)}
        servqual["antecedents"] = {}
        for key, (gap, direction, en, zh, its) in ANTECEDENTS.items():
            servqual["antecedents"][key] = {"gap": gap, "direction": direction, "label": _labels(en, zh),
                                            "items": [c for c, _e, _z in its]}
            for code, ien, izh in its:
                sq_items[code] = _labels(ien, izh)
    return {
        "version": 1,
        "study": {"id": shape.name, "client": shape.client, "title": _labels(*shape.title),
                  "languages": ["en", "zh"]},
        "missing_codes": {c: _labels(*MISSING_LABELS[c]) for c in shape.missing},
        "datasets": datasets,
        "questions": questions,
        "servqual": servqual,
    }


# ---- the whole study -----------------------------------------------------------------------
def params_for(shape: Shape, notebook: str, data: Path, codebook: Path, **extra) -> dict:
    """The params a user writes for ``notebook``: only what identifies the study (plus ``extra``)."""
    return {"notebook": notebook, "study": shape.name, "client": shape.client, "data": str(data),
            "codebook": str(codebook), "language": shape.language, **extra}


def make_study(folder, shape: Shape | str, *, seed: int | None = None) -> dict:
    """Write the study of ``shape`` into ``folder``; return its paths.

    Returns
    -------
    dict
        ``folder``, ``codebook`` (path), ``data`` (``{dataset: path}``), ``params``
        (``{notebook stem: path}``) and ``truth`` (path of ``truth.json``).
    """
    if isinstance(shape, str):
        shape = SHAPES[shape]
    if seed is not None:
        shape = replace(shape, seed=seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(shape.seed)
    if shape.kind == "drivers":
        df, items, truth = _drivers_data(shape, rng)
        frames = {shape.dataset: df}
        cb = _drivers_codebook(shape, df, items)
    elif shape.kind == "gaps":
        frames, truth = _gaps_data(shape, rng)
        cb = _gaps_codebook(shape, frames)
    else:
        raise ValueError(f"shape.kind: expected 'drivers' or 'gaps', got {shape.kind!r}")
    data_paths = {}
    for name, frame in frames.items():
        data_paths[name] = folder / f"{name}.csv"
        _frame_csv(frame, data_paths[name])
    cb_path = folder / "codebook.yaml"
    cb_path.write_text(yaml.safe_dump(cb, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8")
    truth["shape"] = shape.name
    truth_path = folder / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
    params_dir = folder / "params"
    params_dir.mkdir(exist_ok=True)
    params = {}
    for nb in shape.notebooks:
        p = params_dir / f"{nb}.yaml"
        p.write_text(yaml.safe_dump(params_for(shape, nb, folder, cb_path), allow_unicode=True, sort_keys=False),
                     encoding="utf-8")
        params[nb] = p
    return {"folder": folder, "codebook": cb_path, "data": data_paths, "params": params, "truth": truth_path,
            "shape": shape}
