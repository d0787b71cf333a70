"""Demo data for the household file: Luoyang's nine counties, villages, poor households, members and incomes.

Used by ``manage.py generate_demo_data``. Everything is drawn from one ``random.Random(seed)`` in a fixed
order and every date is a fixed date (no "today"), so the same seed and the same arguments always give the
same households, names, ID numbers and incomes. Rows are written in chunks inside the caller's transaction,
with ``bulk_create`` (``OrmWriter``) or, on PostgreSQL, with ``COPY`` (``CopyWriter``: 100,000 households in
under a minute). Bulk writes bypass ``full_clean()`` and ``save()``, so every derived field is set here
(``Member.gender``/``birth_date`` from the ID number, ``Village.county`` from the township), and the history
rows (django-simple-history) are inserted directly, one "+" row per row, with the demo admin as
``history_user`` and the change reason "演示数据生成". Signals are not sent: run ``recompute_eligibility``
afterwards to compute the assessments.

The distributions are chosen so that every exit criterion of DOMAIN.md §4 fails for a visible share of the
households while most pass, and the primary causes follow the Jiaozuo 2016 shares of DOMAIN.md §2.
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connections, models, router
from django.utils import timezone

from assessments.models import LineKind, PovertyLine
from households import choices
from households.idcard import build_id_number
from households.models import Household, IncomeRecord, Member
from households.pgcopy import COPY_ESCAPES, copy_text
from villages.models import County, Township, Village

DEMO_CHANGE_REASON = "演示数据生成"
DEFAULT_YEARS = (2019, 2020)
CITY_NAME = "洛阳市"
CHUNK_HOUSEHOLDS = 2500  # households generated and written per round trip
BATCH_SIZE = 2500  # rows per INSERT statement (PostgreSQL allows 65,535 parameters: 25 columns × 2,500 fits)
HOUSEHOLDS_PER_VILLAGE = 150
MIN_VILLAGES_PER_COUNTY = 3
MAX_HOUSEHOLDS_PER_VILLAGE = 9999  # household_number = village code + 4-digit sequence


# --- Demo logins ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str
    is_superuser: bool = False
    role: str = ""  # assistance.choices.Role slug
    # Where the role is bound: "county" (county_code), "township"/"village" (the first township / first poverty
    # village of county_code, by code), "" (no place: a city-wide supervisor, or a helper).
    place: str = ""
    county_code: str = ""
    helped_households: int = 0  # a helper is assigned this many households of the demo village


DEMO_ROLES_START = dt.date(2016, 1, 1)

# One list: a new demo role is one line.
DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "admin12345", "系统管理员（超级用户）", is_superuser=True),
    DemoLogin("luanchuan", "luanchuan12345", "栾川县扶贫办", role="county_staff", place="county", county_code="410324"),
    DemoLogin("songxian", "songxian12345", "嵩县扶贫办", role="county_staff", place="county", county_code="410325"),
    DemoLogin(
        "township",
        "township12345",
        "栾川县一个乡镇的扶贫专干",
        role="township_staff",
        place="township",
        county_code="410324",
    ),
    DemoLogin(
        "secretary",
        "secretary12345",
        "该乡镇一个贫困村的驻村第一书记",
        role="first_secretary",
        place="village",
        county_code="410324",
    ),
    DemoLogin("helper", "helper12345", "该村5户的帮扶责任人", role="helper", county_code="410324", helped_households=5),
    DemoLogin("supervisor", "supervisor12345", "市级督查（全市只读）", role="supervisor"),
)


def ensure_demo_logins() -> list[DemoLogin]:
    """Create or repair the demo users (idempotent: passwords and flags are reset every time). Their roles are
    given by ``assign_demo_roles`` once the places exist."""
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        user, _ = user_model.objects.get_or_create(username=login.username)
        user.is_superuser = login.is_superuser
        user.is_staff = login.is_superuser
        user.is_active = True
        if not user.check_password(login.password):
            user.set_password(login.password)
        user.save()
    return list(DEMO_LOGINS)


def assign_demo_roles() -> None:
    """Give each demo login its cadre profile, role and place (idempotent: an existing role is kept)."""
    from assistance import services as assistance_services
    from assistance.models import Cadre, HouseholdAssignment, RoleAssignment

    admin = demo_admin()
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        if not login.role:
            continue
        user = user_model.objects.get(username=login.username)
        cadre, _ = Cadre.objects.get_or_create(user=user, defaults={"name": login.description[:50]})
        place: dict = {}
        county = County.objects.filter(code=login.county_code).first() if login.county_code else None
        # The first township (by code) that has households, and its first poverty village with households.
        township = (
            Township.objects.filter(county=county, villages__households__isnull=False).order_by("code").first()
            if county
            else None
        )
        village = (
            Village.objects.filter(township=township, households__isnull=False)
            .order_by("-is_poverty_village", "code")
            .first()
            if township
            else None
        )
        if login.place == "county":
            place = {"county": county}
        elif login.place == "township":
            place = {"township": township}
        elif login.place == "village":
            place = {"village": village}
        if login.place and not next(iter(place.values())):
            continue  # the place was not generated (e.g. a tiny data set)
        if not RoleAssignment.objects.active_on().filter(cadre=cadre, role=login.role, **place).exists():
            assistance_services.role_assign(
                actor=admin, cadre=cadre, role=login.role, starts_on=DEMO_ROLES_START, **place
            )
        if login.helped_households and village is not None:
            households = Household.objects.filter(village=village).order_by("household_number")
            for household in households[: login.helped_households]:
                if not HouseholdAssignment.objects.filter(household=household, ends_on__isnull=True).exists():
                    assistance_services.household_assign_helper(
                        actor=admin, household=household, cadre=cadre, starts_on=DEMO_ROLES_START
                    )


def demo_admin():
    return get_user_model().objects.get(username=DEMO_LOGINS[0].username)


# --- Geography -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountySpec:
    code: str
    name: str
    is_poverty_county: bool
    weight: float  # share of the city's poor households
    mountainous: bool
    townships: tuple[str, ...]


def words(text: str) -> tuple[str, ...]:
    """Space-separated names (keeps the long name lists readable)."""
    return tuple(text.split())


# Township names as of the 2016–2020 campaign (镇 numbered from 100, 乡 from 200, 街道 from 001).
COUNTIES: tuple[CountySpec, ...] = (
    CountySpec(
        "410322", "孟津县", False, 3.0, False,
        words("城关镇 会盟镇 平乐镇 送庄镇 白鹤镇 朝阳镇 麻屯镇 小浪底镇 横水镇 常袋镇"),
    ),
    CountySpec(
        "410323", "新安县", False, 4.0, True,
        words("城关镇 石寺镇 五头镇 磁涧镇 铁门镇 石井镇 北冶镇 仓头镇 正村镇 南李村镇 曹村乡"),
    ),
    CountySpec(
        "410324", "栾川县", True, 14.0, True,
        words("城关镇 潭头镇 赤土店镇 合峪镇 庙子镇 三川镇 冷水镇 陶湾镇 石庙镇 狮子庙镇 白土镇 叫河镇 "
              "秋扒乡 栾川乡"),
    ),
    CountySpec(
        "410325", "嵩县", True, 20.0, True,
        words("城关镇 田湖镇 车村镇 旧县镇 闫庄镇 德亭镇 大章镇 白河镇 纸房镇 饭坡镇 九皋镇 "
              "大坪乡 库区乡 何村乡 黄庄乡 木植街乡"),
    ),
    CountySpec(
        "410326", "汝阳县", True, 13.0, True,
        words("城关镇 上店镇 付店镇 小店镇 三屯镇 刘店镇 内埠镇 陶营镇 柏树乡 十八盘乡 靳村乡 王坪乡 蔡店乡"),
    ),
    CountySpec(
        "410327", "宜阳县", True, 15.0, True,
        words("城关镇 丰李镇 柳泉镇 韩城镇 白杨镇 香鹿山镇 锦屏镇 三乡镇 张坞镇 莲庄镇 赵保镇 樊村镇 "
              "高村镇 盐镇乡 花果山乡 上观乡 董王庄乡"),
    ),
    CountySpec(
        "410328", "洛宁县", True, 14.0, True,
        words("城关镇 王范回族镇 上戈镇 下峪镇 河底镇 兴华镇 东宋镇 马店镇 长水镇 赵村镇 西山底镇 "
              "故县镇 小界乡 罗岭乡 陈吴乡 底张乡 涧口乡"),
    ),
    CountySpec(
        "410329", "伊川县", True, 12.0, False,
        words("城关街道 鸣皋镇 水寨镇 彭婆镇 白沙镇 江左镇 高山镇 吕店镇 葛寨镇 白元镇 半坡镇 鸦岭镇 "
              "平等乡 酒后乡"),
    ),
    CountySpec(
        "410381", "偃师市", False, 5.0, False,
        words("首阳山街道 城关镇 岳滩镇 顾县镇 翟镇镇 佃庄镇 李村镇 庞村镇 寇店镇 府店镇 缑氏镇 邙岭镇"),
    ),
)  # fmt: skip


def township_code(county_code: str, name: str, index_by_kind: Counter) -> str:
    kind = "街道" if name.endswith("街道") else "乡" if name.endswith("乡") else "镇"
    start = {"街道": 1, "镇": 100, "乡": 200}[kind]
    number = start + index_by_kind[kind]
    index_by_kind[kind] += 1
    return f"{county_code}{number:03d}"


VILLAGE_PATTERN_SURNAME = "王李张刘陈杨赵黄周吴郭马孙胡朱高何宋郑梁谢韩唐冯董程曹袁许邓"
VILLAGE_SUFFIX_PLACE = "庄营沟寨湾屯店岭坡河洼坪岗楼"
VILLAGE_PREFIX_NATURE = "东西南北上下大小前后石柳杨槐桃红青白黄龙凤马牛金银三五九"
VILLAGE_SUFFIX_NATURE = ("坪", "门", "沟", "河", "岭", "庄", "崖", "坡", "岔", "峪", "湾", "川", "庄子", "窑", "园")
VILLAGE_AUSPICIOUS = words(
    "协心 和平 幸福 团结 新华 红旗 光明 胜利 永丰 丰收 东风 前进 兴隆 太平 长青 新建 双堂 君山 庄科 富民"
)


def village_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(50):
        roll = rng.random()
        if roll < 0.4:
            stem = rng.choice(VILLAGE_PATTERN_SURNAME) + rng.choice(VILLAGE_SUFFIX_PLACE)
        elif roll < 0.85:
            stem = rng.choice(VILLAGE_PREFIX_NATURE) + rng.choice(VILLAGE_SUFFIX_NATURE)
        else:
            stem = rng.choice(VILLAGE_AUSPICIOUS)
        name = stem + "村"
        if name not in taken:
            taken.add(name)
            return name
    name = f"{stem}{len(taken) + 1}村"
    taken.add(name)
    return name


# --- People -----------------------------------------------------------------------------------------------

# Common surnames with rough national/Henan weights (per mille of the population).
SURNAMES: tuple[tuple[str, int], ...] = tuple(
    (name, int(weight))
    for name, weight in (
        pair.split(":")
        for pair in words(
            "王:80 李:78 张:72 刘:55 陈:36 杨:32 赵:25 黄:18 周:17 吴:15 郭:17 马:14 孙:14 胡:11 朱:11 "
            "高:11 何:9 徐:12 宋:9 郑:9 梁:8 谢:6 韩:7 唐:6 冯:6 董:6 程:5 曹:5 袁:5 许:6 邓:5 付:5 "
            "杜:4 苏:4 魏:4 吕:4 丁:4 任:4 姚:3 卢:3 姜:3 崔:3 范:3 牛:3 常:3 贾:3 孟:3 侯:3 段:2 "
            "雷:2 史:2 焦:2 薛:2 乔:2 闫:2 上官:1 欧阳:1"
        )
    )
)

# Given names by generation (birth year up to the key) and gender: (until, male, female).
GIVEN_NAMES: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        1959,
        words("建国 国庆 解放 建华 建军 富贵 长生 金山 振华 德胜 保国 文明 永福 满仓 根生 铁柱 "
              "有才 福来 新民 占魁 春生 秋成 双喜 天才"),
        words("秀英 桂兰 玉兰 秀兰 桂英 凤英 玉珍 淑珍 秀珍 玉梅 翠花 春花 素芳 兰英 金花 桂芝 "
              "秀云 凤兰 月娥 爱莲 巧云 改花 粉英"),
    ),
    (
        1979,
        words("卫东 建军 志强 国强 建平 红军 伟 军 勇 建设 海军 振东 建伟 国栋 卫国 新华 小军 立新 "
              "永强 长江 红伟 保平 战胜 松涛"),
        words("红霞 丽 艳 红梅 丽娟 秀梅 海燕 红英 玉霞 霞 丽萍 淑芬 小红 春梅 彩霞 爱玲 桂香 晓燕 "
              "艳丽 俊霞 素娟 燕"),
    ),
    (
        1999,
        words("磊 鹏 超 浩 强 涛 亮 刚 伟 明 杰 晓东 海峰 建辉 俊杰 文博 志鹏 晓明 鹏飞 振宇 帅 阳 "
              "龙飞 少华"),
        words("静 丽 娟 敏 婷 倩 芳 燕 颖 晓丽 欢欢 丹丹 佳佳 雪 慧 晶晶 媛媛 莉 娜 亚楠 梦娟 瑞雪"),
    ),
    (
        9999,
        words("浩然 宇轩 子豪 梓豪 俊熙 一鸣 子轩 浩宇 博文 梓睿 皓轩 宇航 嘉豪 家乐 天佑 明轩 思远 "
              "泽宇 铭泽 晨阳"),
        words("梓涵 欣怡 诗涵 雨桐 可馨 子涵 佳怡 思琪 梦瑶 一诺 雨欣 紫涵 语嫣 欣妍 梓萱 若曦 佳琪 "
              "雅琪 晨曦 心怡"),
    ),
)  # fmt: skip

MALE = choices.Gender.MALE.value
FEMALE = choices.Gender.FEMALE.value
REFERENCE_DAY = (9, 1)  # ages are taken on 1 September of the latest demo year (school-year start)


class WeightedTable:
    """Fast weighted choice with one ``random()`` per draw."""

    def __init__(self, items: Iterable[tuple[object, float]]) -> None:
        pairs = list(items)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def _table(mapping: dict) -> WeightedTable:
    return WeightedTable(mapping.items())


C = choices.Cause
# Jiaozuo 2016 (DOMAIN.md §2): illness + disability 53.5%, lack of skills 18.1%, lack of capital 10.2%,
# education 6.3%, lack of labour 6.2%, other 5.7% (spread over the remaining causes).
CAUSE_WEIGHTS = {
    C.ILLNESS: 33.0,
    C.DISABILITY: 20.5,
    C.LACK_SKILLS: 18.1,
    C.LACK_CAPITAL: 10.2,
    C.EDUCATION: 6.3,
    C.LACK_LABOR: 6.2,
    C.DISASTER: 1.2,
    C.LACK_LAND: 1.0,
    C.LACK_WATER: 0.6,
    C.POOR_TRANSPORT: 1.0,
    C.LACK_MOTIVATION: 1.4,
    C.OTHER: 0.5,
}
CAUSES = _table({cause.value: weight for cause, weight in CAUSE_WEIGHTS.items()})

# Household compositions (see DemoGenerator.compose); the weights depend on the primary cause.
_BASE_COMPOSITION = {  # about three people per household, as Luoyang's 316,700 people in 108,000 households
    "single_elder": 16,
    "elder_couple": 20,
    "nuclear": 34,
    "three_gen": 14,
    "single_adult": 10,
    "skip_gen": 6,
}
COMPOSITION_BY_CAUSE = {
    C.EDUCATION.value: _table({"nuclear": 70, "three_gen": 30}),
    C.LACK_LABOR.value: _table({"single_elder": 35, "elder_couple": 30, "single_adult": 20, "skip_gen": 15}),
}
COMPOSITION_DEFAULT = _table(_BASE_COMPOSITION)

HS = choices.HouseholdStatus
STATUSES = _table({HS.EXITED: 62, HS.IN_POVERTY: 22, HS.UNSTABLE: 6, HS.MARGINAL: 5, HS.RETURNED: 3, HS.REMOVED: 2})
IDENTIFIED_YEARS = _table({2014: 60, 2015: 25, 2016: 15})
HOUSE_GRADES = _table({"A": 40, "B": 46, "C": 6, "D": 3, "unknown": 5})
WORK_PLACES = _table({"in_township": 18, "in_county": 25, "in_province": 25, "out_of_province": 32})
WORK_MONTHS = {"in_township": (2, 10), "in_county": (3, 12), "in_province": (5, 12), "out_of_province": (6, 12)}
SURNAME_TABLE = WeightedTable(SURNAMES)
PHONE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "155", "156", "158")
PHONE_PREFIXES += ("159", "176", "177", "180", "183", "185", "186", "187", "188", "189", "199")

# Income buckets: where a household's per-capita net income falls relative to the poverty line of a year.
#   none: no income record; below: 45–99.99% of the line; exact: exactly the line (fails: must be above);
#   fragile: just above (≤ 10% above); above: 1.1–2.6×; modest: 1.1–1.5× (monitoring range); high: 3–6×.
_INCOME_PROFILES = {
    "passing": {"none": 3, "below": 6, "exact": 2, "fragile": 14, "above": 75},
    "poor": {"none": 6, "below": 50, "exact": 4, "fragile": 14, "above": 26},
    "unstable": {"none": 3, "below": 20, "exact": 4, "fragile": 40, "above": 33},
    "returned": {"none": 4, "below": 65, "exact": 5, "fragile": 12, "above": 14},
    "marginal": {"none": 4, "below": 10, "exact": 2, "fragile": 30, "modest": 54},
    "removed": {"none": 10, "high": 90},
}
INCOME_PROFILES = {name: _table(weights) for name, weights in _INCOME_PROFILES.items()}
INCOME_RANGES = {"below": (0.45, 0.9999), "fragile": (1.0001, 1.0999), "above": (1.1, 2.6)}
INCOME_RANGES |= {"modest": (1.1, 1.5), "high": (3.0, 6.0)}

SCHOOLED = frozenset({"preschool", "primary", "junior", "senior", "vocational", "college", "home_schooling"})
EDUCATION_FOR_SCHOOL = {
    "preschool": "preschool",
    "primary": "primary",
    "junior": "junior",
    "senior": "senior",
    "vocational": "senior",
    "college": "college",
    "home_schooling": "primary",
}


def age_on(birth_date: dt.date, day: dt.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def yuan(fen: int) -> Decimal:
    """An integer number of fen as a 2-place Decimal (exact)."""
    return Decimal(fen).scaleb(-2)


# --- Generation ------------------------------------------------------------------------------------------


@dataclass
class VillagePlan:
    code: str
    name: str
    township_code: str
    township_name: str
    county: CountySpec
    households: int
    is_poverty_village: bool
    exit_year: int | None
    registered_population: int
    indicators: dict[str, bool]
    collective_income_fen: int
    people: int = 0


@dataclass
class GenerationResult:
    counties: int = 0
    townships: int = 0
    villages: int = 0
    households: int = 0
    members: int = 0
    inactive_members: int = 0
    income_records: int = 0
    history_rows: int = 0
    seconds: float = 0.0
    years: tuple[int, ...] = ()
    statuses: Counter = field(default_factory=Counter)
    causes: Counter = field(default_factory=Counter)


@dataclass
class _Person:
    relation: str
    gender: str
    birth_date: dt.date
    surname: str
    is_active: bool = True
    left_reason: str = ""
    left_on: dt.date | None = None
    health: str = "healthy"
    school_override: str = ""


def split_evenly(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder, deterministic)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


class DemoGenerator:
    """Plans and writes the demo registry. One instance per run; all randomness from ``self.rng``."""

    def __init__(
        self,
        *,
        households: int,
        seed: int,
        years: Sequence[int] = DEFAULT_YEARS,
        history_user=None,
        chunk_size: int = CHUNK_HOUSEHOLDS,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        writer_class: type[OrmWriter | CopyWriter] | None = None,
    ) -> None:
        if households < 0:
            raise ValueError("households must not be negative")
        self.total_households = households
        self.rng = random.Random(seed)
        self.years = tuple(sorted(set(years)))
        if not self.years:
            raise ValueError("at least one year is needed")
        self.last_year = self.years[-1]
        self.reference = dt.date(self.last_year, *REFERENCE_DAY)
        self.history_user_id = getattr(history_user, "pk", None)
        self.chunk_size = chunk_size
        self.batch_size = batch_size
        self.progress = progress
        self.writer_class = writer_class  # None: the fastest for the database (see default_writer_class)
        self.used_ids: set[str] = set()
        self.result = GenerationResult(years=self.years)
        self.lines_fen = self._poverty_lines()

    def _poverty_lines(self) -> dict[int, int]:
        rows = dict(
            PovertyLine.objects.filter(kind=LineKind.POVERTY, region_code="", year__in=self.years).values_list(
                "year", "amount"
            )
        )
        missing = [year for year in self.years if year not in rows]
        if missing:
            raise ValueError(f"no national poverty line for {missing}")
        return {year: int(amount * 100) for year, amount in rows.items()}

    # -- plan ------------------------------------------------------------------------------------------

    def plan_villages(self) -> tuple[list[tuple[CountySpec, list[tuple[str, str]]]], list[VillagePlan]]:
        rng = self.rng
        total_weight = sum(c.weight for c in COUNTIES)
        per_county = split_evenly(self.total_households, [c.weight for c in COUNTIES])
        townships: list[tuple[CountySpec, list[tuple[str, str]]]] = []
        villages: list[VillagePlan] = []
        for county, county_households in zip(COUNTIES, per_county, strict=True):
            index_by_kind: Counter = Counter()
            county_townships = [(township_code(county.code, name, index_by_kind), name) for name in county.townships]
            townships.append((county, county_townships))
            wanted = round(self.total_households * county.weight / total_weight / HOUSEHOLDS_PER_VILLAGE)
            count = max(MIN_VILLAGES_PER_COUNTY, wanted)
            # Spread villages over townships (the seat town gets fewer poor villages).
            township_weights = [0.5 if i == 0 else rng.uniform(0.7, 1.3) for i in range(len(county_townships))]
            per_township = split_evenly(count, township_weights)
            county_villages: list[VillagePlan] = []
            for (t_code, t_name), n in zip(county_townships, per_township, strict=True):
                taken: set[str] = set()
                for k in range(n):
                    county_villages.append(self._plan_village(county, t_code, t_name, 201 + k, taken))
            weights = [rng.uniform(0.5, 1.5) * (1.6 if v.is_poverty_village else 1.0) for v in county_villages]
            for village, n in zip(county_villages, split_evenly(county_households, weights), strict=True):
                if n > MAX_HOUSEHOLDS_PER_VILLAGE:
                    raise ValueError("too many households per village; this should not happen")
                village.households = n
            villages.extend(county_villages)
        return townships, villages

    def _plan_village(self, county: CountySpec, t_code: str, t_name: str, number: int, taken: set) -> VillagePlan:
        rng = self.rng
        poor = rng.random() < (0.55 if county.is_poverty_county else 0.2)
        exit_year = None
        if poor and rng.random() < 0.75:
            exit_year = rng.randint(min(2017, self.last_year), self.last_year)
        lagging = poor and exit_year is None
        odds = {
            "has_hardened_road": 0.96,
            "has_safe_water": 0.94,
            "has_power": 0.99,
            "has_radio_tv": 0.95,
            "has_cultural_venue": 0.86,
            "has_clinic": 0.9,
            "has_broadband": 0.88,
        }
        indicators = {name: rng.random() < (p - 0.12 if lagging else p) for name, p in odds.items()}
        if poor:
            income = 0 if (lagging and rng.random() < 0.3) else rng.randint(10_000, 150_000)
        else:
            income = rng.randint(30_000, 600_000)
        return VillagePlan(
            code=f"{t_code}{number:03d}",
            name=village_name(rng, taken),
            township_code=t_code,
            township_name=t_name,
            county=county,
            households=0,
            is_poverty_village=poor,
            exit_year=exit_year,
            registered_population=rng.randint(800, 3000),
            indicators=indicators,
            collective_income_fen=income * 100,
        )

    # -- people ----------------------------------------------------------------------------------------

    def birth_date_for_age(self, age: int) -> dt.date:
        """A birth date giving ``age`` on the reference day (1 September of the latest year)."""
        ref = self.reference
        latest = dt.date(ref.year - age, ref.month, ref.day)
        earliest = dt.date(ref.year - age - 1, ref.month, ref.day) + dt.timedelta(days=1)
        return earliest + dt.timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def id_number(self, area_code: str, birth_date: dt.date, gender: str) -> str:
        rng = self.rng
        start = 1 if gender == MALE else 0
        for _ in range(200):
            number = build_id_number(area_code, birth_date, rng.randrange(start, 1000, 2))
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number
        raise RuntimeError(f"no free ID sequence for {area_code} {birth_date}")

    def given_name(self, gender: str, birth_year: int) -> str:
        for until, male_names, female_names in GIVEN_NAMES:
            if birth_year <= until:
                return self.rng.choice(male_names if gender == MALE else female_names)
        raise AssertionError("unreachable")

    def other_gender(self, gender: str) -> str:
        return FEMALE if gender == MALE else MALE

    def random_gender(self, male_share: float = 0.52) -> str:
        return MALE if self.rng.random() < male_share else FEMALE

    def _person(self, relation: str, gender: str, age: int, surname: str) -> _Person:
        return _Person(relation=relation, gender=gender, birth_date=self.birth_date_for_age(age), surname=surname)

    def compose(self, composition: str, cause: str) -> list[_Person]:
        """The people of one household: head first, then relatives with coherent ages and genders."""
        rng = self.rng
        surname = SURNAME_TABLE.pick
        people: list[_Person] = []
        if composition == "single_elder":
            head_gender = self.random_gender(0.55)
            head = self._person("head", head_gender, rng.randint(60, 75), surname(rng))
            people.append(head)
            if rng.random() < 0.3:  # widowed during the campaign
                spouse = self._spouse(head, surname(rng))
                self._leave(spouse, "death", after=dt.date(2015, 1, 1))
                people.append(spouse)
            return people
        if composition == "elder_couple":
            head = self._person("head", self.random_gender(0.9), rng.randint(55, 75), surname(rng))
            people += [head, self._spouse(head, surname(rng))]
            self._maybe_child_left(people, head, surname_of_children=self._family_surname(people))
            return people
        if composition == "single_adult":
            head = self._person("head", self.random_gender(0.75), rng.randint(30, 60), surname(rng))
            people.append(head)
            head_age = self._age(head)
            if rng.random() < 0.35 and head_age <= 60:
                mother_age = head_age + rng.randint(20, 34)
                if mother_age <= 92:
                    people.append(self._person("parent", FEMALE, mother_age, surname(rng)))
            elif rng.random() < 0.3:
                sibling_age = max(28, head_age + rng.randint(-8, 8))
                people.append(self._person("sibling", self.random_gender(0.7), sibling_age, head.surname))
            return people
        if composition == "skip_gen":  # grandparents raising grandchildren (留守儿童)
            head = self._person("head", self.random_gender(0.85), rng.randint(56, 75), surname(rng))
            people.append(head)
            if rng.random() < 0.8:
                people.append(self._spouse(head, surname(rng)))
            family = self._family_surname(people)
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                people.append(self._person("grandchild", self.random_gender(), rng.randint(2, 15), family))
            return people
        if composition == "nuclear":
            head = self._person("head", self.random_gender(0.88), rng.randint(30, 55), surname(rng))
            people.append(head)
            if rng.random() < 0.85:
                people.append(self._spouse(head, surname(rng)))
            family = self._family_surname(people)
            head_age = self._age(head)
            self._children(people, "child", parent_age=head_age, surname=family, count=rng.choice((1, 2, 2, 2, 3)))
            if head_age <= 58 and rng.random() < 0.3:
                mother_age = head_age + rng.randint(20, 34)
                father_age = mother_age + rng.randint(0, 5)
                if head.gender == MALE and father_age <= 90 and rng.random() < 0.5:
                    people.append(self._person("parent", MALE, father_age, head.surname))
                if mother_age <= 92:
                    mother = self._person("parent", FEMALE, mother_age, surname(rng))
                    if rng.random() < 0.12:
                        self._leave(mother, "death", after=dt.date(2015, 1, 1))
                    people.append(mother)
            self._maybe_child_left(people, head, surname_of_children=family)
            if cause == C.EDUCATION:
                self._ensure_student(people, family)
            return people
        # three generations: head, spouse, a married child with children
        head = self._person("head", self.random_gender(0.9), rng.randint(48, 72), surname(rng))
        people.append(head)
        if rng.random() < 0.8:
            people.append(self._spouse(head, surname(rng)))
        family = self._family_surname(people)
        head_age = self._age(head)
        child_age = max(20, head_age - rng.randint(21, 32))
        son = rng.random() < 0.85
        child = self._person("child", MALE if son else FEMALE, child_age, family)
        in_law_age = max(20, child_age + (rng.randint(-5, 1) if son else rng.randint(-1, 5)))
        in_law = self._person("child_in_law", FEMALE if son else MALE, in_law_age, surname(rng))
        people += [child, in_law]
        grand_surname = family if son or rng.random() < 0.5 else in_law.surname
        self._children(people, "grandchild", parent_age=min(child_age, in_law_age), surname=grand_surname, count=None)
        if rng.random() < 0.25:  # an unmarried younger child still at home
            younger = child_age - rng.randint(2, 8)
            if younger >= 0:
                people.append(self._person("child", self.random_gender(), younger, family))
        if cause == C.EDUCATION:
            self._ensure_student(people, grand_surname)
        return people

    def _age(self, person: _Person) -> int:
        return age_on(person.birth_date, self.reference)

    def _spouse(self, head: _Person, surname: str) -> _Person:
        head_age = self._age(head)
        delta = self.rng.randint(-6, 3) if head.gender == MALE else self.rng.randint(-3, 6)
        return self._person("spouse", self.other_gender(head.gender), max(20, head_age + delta), surname)

    def _family_surname(self, people: list[_Person]) -> str:
        """Children take the father's surname: the head's if male, else the husband's (or the head's)."""
        head = people[0]
        if head.gender == MALE:
            return head.surname
        husband = next((p for p in people if p.relation == "spouse" and p.gender == MALE), None)
        return husband.surname if husband else head.surname

    def _children(self, people: list[_Person], relation: str, *, parent_age: int, surname: str, count) -> None:
        rng = self.rng
        count = count if count is not None else rng.choice((1, 1, 2, 2, 3))
        age = parent_age - rng.randint(20, 34)
        for _ in range(count):
            if age < 0:
                break
            people.append(self._person(relation, self.random_gender(), age, surname))
            age -= rng.randint(1, 6)

    def _maybe_child_left(self, people: list[_Person], head: _Person, *, surname_of_children: str) -> None:
        """Some households have a daughter married out or a child moved out (inactive members)."""
        rng = self.rng
        if rng.random() >= 0.07:
            return
        head_age = self._age(head)
        age = head_age - rng.randint(20, 30)
        if age < 20:
            return
        reason = "marriage_out" if rng.random() < 0.7 else "moved_out"
        gender = FEMALE if reason == "marriage_out" else self.random_gender()
        child = self._person("child", gender, age, surname_of_children)
        self._leave(child, reason, after=max(dt.date(2015, 1, 1), child.birth_date + dt.timedelta(days=18 * 366)))
        people.append(child)

    def _leave(self, person: _Person, reason: str, *, after: dt.date) -> None:
        last = dt.date(self.last_year, 8, 31)
        after = max(after, person.birth_date + dt.timedelta(days=1))
        if after > last:
            after = last
        person.is_active = False
        person.left_reason = reason
        person.left_on = after + dt.timedelta(days=self.rng.randrange((last - after).days + 1))

    def _ensure_student(self, people: list[_Person], surname: str) -> None:
        """因学 households have someone in senior school, vocational school or college."""
        rng = self.rng
        for person in people:
            if person.is_active and person.relation in ("child", "grandchild") and 15 <= self._age(person) <= 21:
                person.school_override = rng.choice(("senior", "vocational", "college"))
                return
        student = self._person("child", self.random_gender(), rng.randint(16, 20), surname)
        student.school_override = "college" if self._age(student) >= 19 else rng.choice(("senior", "vocational"))
        people.append(student)

    # -- attributes --------------------------------------------------------------------------------------

    def assign_health(self, people: list[_Person], cause: str) -> None:
        rng = self.rng
        for person in people:
            age = self._age(person)
            roll = rng.random()
            if age < 16:
                bounds = (0.94, 0.96, 0.97)
            elif age < 60:
                bounds = (0.74, 0.87, 0.92)
            else:
                bounds = (0.45, 0.80, 0.88)
            if roll < bounds[0]:
                person.health = "healthy"
            elif roll < bounds[1]:
                person.health = "chronic"
            elif roll < bounds[2]:
                person.health = "serious_illness"
            else:
                person.health = "disabled"
        active = [p for p in people if p.is_active]
        adults = [p for p in active if self._age(p) >= 16] or active
        if cause == C.ILLNESS and not any(p.health in ("chronic", "serious_illness") for p in active):
            rng.choice(adults).health = "serious_illness" if rng.random() < 0.45 else "chronic"
        if cause == C.DISABILITY and not any(p.health == "disabled" for p in active):
            rng.choice(adults).health = "disabled"

    def member_row(self, person: _Person, area_code: str) -> dict:
        rng = self.rng
        age = self._age(person)
        health = person.health
        disability_grade = rng.choice((1, 2, 2, 3, 3, 4, 4)) if health == "disabled" else None
        school, education = self._schooling(person, age, health)
        student = school in SCHOOLED and school != "preschool"
        labor = self._labor(age, health, disability_grade, student)
        work, months = "none", 0
        if 16 <= age <= 60 and not student and person.is_active:
            chance = {"skilled": 0.8, "ordinary": 0.6, "weak": 0.2}.get(labor, 0.0)
            if rng.random() < chance:
                work = WORK_PLACES.pick(rng)
                months = rng.randint(*WORK_MONTHS[work])
        medical = rng.random() >= 0.01
        serious = medical and rng.random() >= 0.006
        pension = age >= 16 and not student and rng.random() < 0.93
        ethnicity = "汉族"
        roll = rng.random()
        if roll < 0.008:
            ethnicity = "回族"
        elif roll < 0.01:
            ethnicity = "满族"
        id_number = self.id_number(area_code, person.birth_date, person.gender)
        return {
            "name": person.surname + self.given_name(person.gender, person.birth_date.year),
            "id_number": id_number,
            "gender": person.gender,
            "birth_date": person.birth_date,
            "relation": person.relation,
            "ethnicity": ethnicity,
            "education_level": education,
            "school_status": school,
            "health": health,
            "disability_grade": disability_grade,
            "labor_ability": labor,
            "work_status": work,
            "work_months": months,
            "medical_insurance": medical,
            "serious_illness_insurance": serious,
            "pension_insurance": pension,
            "is_active": person.is_active,
            "left_reason": person.left_reason,
            "left_on": person.left_on,
        }

    def _schooling(self, person: _Person, age: int, health: str) -> tuple[str, str]:
        """(school_status, education_level) from the age on 1 September of the latest year."""
        rng = self.rng
        if person.school_override:
            return person.school_override, EDUCATION_FOR_SCHOOL[person.school_override]
        if age < 3:
            return "not_applicable", "preschool"
        if age < 6:
            return ("preschool" if rng.random() < 0.85 else "not_applicable"), "preschool"
        if age <= 15:
            if health in ("disabled", "serious_illness"):
                roll = rng.random()
                if roll < 0.45:
                    return "home_schooling", "primary"
                if roll < 0.65:
                    return "not_applicable", ("illiterate" if age < 9 else "primary")  # exempt, warned
            elif rng.random() < 0.035:
                return "dropout", ("primary" if age < 13 else "junior")
            if age <= 11:
                return "primary", "primary"
            if age <= 14:
                return "junior", "junior"
            school = rng.choices(("junior", "senior", "vocational"), (50, 40, 10))[0]
            return school, EDUCATION_FOR_SCHOOL[school]
        if age <= 18:
            # At 16 nearly everyone is still in school (a 15-year-old of the previous year's assessment).
            weights = (70, 25, 5) if age == 16 else (55, 20, 25)
            school = rng.choices(("senior", "vocational", "not_applicable"), weights)[0]
            return school, ("junior" if school == "not_applicable" else "senior")
        if age <= 22 and rng.random() < 0.3:
            return "college", "college"
        year = person.birth_date.year
        if year < 1950:
            levels = (("illiterate", 45), ("primary", 45), ("junior", 10))
        elif year < 1965:
            levels = (("illiterate", 20), ("primary", 45), ("junior", 30), ("senior", 5))
        elif year < 1980:
            levels = (("illiterate", 5), ("primary", 30), ("junior", 55), ("senior", 10))
        else:
            levels = (("primary", 10), ("junior", 60), ("senior", 22), ("college", 8))
        return "not_applicable", rng.choices([v for v, _ in levels], [w for _, w in levels])[0]

    def _labor(self, age: int, health: str, grade: int | None, student: bool) -> str:
        rng = self.rng
        if age < 16 or student:
            return "none"
        if age >= 65:
            if health == "healthy":
                return rng.choices(("ordinary", "weak", "none"), (20, 60, 20))[0]
            return rng.choice(("lost", "none"))
        if health == "healthy":
            return rng.choices(("skilled", "ordinary", "weak"), (15, 75, 10))[0]
        if health == "chronic":
            return rng.choices(("ordinary", "weak", "lost"), (40, 50, 10))[0]
        if health == "serious_illness":
            return rng.choices(("weak", "lost"), (40, 60))[0]
        if grade is not None and grade <= 2:
            return "lost"
        return rng.choices(("ordinary", "weak"), (40, 60))[0]

    # -- households ----------------------------------------------------------------------------------------

    def household(self, village: VillagePlan, sequence: int) -> tuple[dict, list[dict], list[dict]]:
        """One household with its members and income records, as plain field dicts."""
        rng = self.rng
        county = village.county
        cause = CAUSES.pick(rng)
        composition = COMPOSITION_BY_CAUSE.get(cause, COMPOSITION_DEFAULT).pick(rng)
        people = self.compose(composition, cause)
        self.assign_health(people, cause)
        members = [self.member_row(person, county.code) for person in people]
        active = [m for m in members if m["is_active"]]
        size = len(active)

        attribute = "general"
        roll = rng.random()
        able = any(
            16 <= age_on(m["birth_date"], self.reference) <= 65 and m["labor_ability"] in ("skilled", "ordinary")
            for m in active
        )
        if composition in ("single_elder", "single_adult") and not able:
            attribute = "tekun" if roll < 0.4 else "dibao" if roll < 0.75 else "general"
        elif roll < 0.15:
            attribute = "dibao"

        status = STATUSES.pick(rng)
        identified_year = min(IDENTIFIED_YEARS.pick(rng), self.last_year)
        exit_year = None
        if status in (HS.EXITED, HS.UNSTABLE, HS.RETURNED):
            first = max(identified_year, 2015)
            last = max(first, self.last_year - 1 if status == HS.RETURNED else self.last_year)
            exit_year = rng.randint(first, last)

        other_causes: list[str] = []
        roll = rng.random()
        if roll < 0.45:
            for _ in range(1 if roll < 0.35 else 2):
                extra = CAUSES.pick(rng)
                if extra != cause and extra not in other_causes:
                    other_causes.append(extra)

        grade = HOUSE_GRADES.pick(rng)
        relocated = rng.random() < 0.08
        if relocated and rng.random() < 0.7:
            grade = "A"  # the new flat; the rest keep the old house's grade on file
        water = [True, True, True, True]
        if rng.random() < 0.06:
            for index in rng.sample(range(4), rng.choice((1, 1, 2))):
                water[index] = False

        per_person_land = rng.uniform(0.6, 1.5) if county.mountainous else rng.uniform(1.0, 2.2)
        if cause == C.LACK_LAND or rng.random() < 0.04:
            per_person_land = rng.uniform(0.0, 0.3)
        cultivated = round(per_person_land * max(size, 1), 1)
        forest = 0.0
        if rng.random() < (0.6 if county.mountainous else 0.1):
            forest = round(rng.uniform(1, 30) if county.mountainous else rng.uniform(0.5, 5), 1)

        phone = ""
        if rng.random() < 0.95:
            phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        clarity = None
        if rng.random() < 0.92:
            start = dt.date(max(identified_year, 2016), 3, 1)
            end = dt.date(max(2016, min(2019, self.last_year)), 12, 31)
            clarity = start + dt.timedelta(days=rng.randrange((end - start).days + 1))

        group, door = rng.randint(1, 12), rng.randint(1, 80)
        household = {
            "household_number": f"{village.code}{sequence:04d}",
            "address": f"{county.name}{village.township_name}{village.name}{group}组{door}号",
            "phone": phone,
            "identification_standard": "provincial" if rng.random() < 0.05 else "national",
            "attribute": attribute,
            "status": status,
            "identified_year": identified_year,
            "exit_year": exit_year,
            "primary_cause": cause,
            "other_causes": other_causes,
            "food_secure": rng.random() >= 0.035,
            "clothing_secure": rng.random() >= 0.025,
            "house_safety_grade": grade,
            "relocated": relocated,
            "water_quantity_ok": water[0],
            "water_quality_ok": water[1],
            "water_convenient": water[2],
            "water_guaranteed": water[3],
            "cultivated_land_mu": Decimal(f"{cultivated:.1f}"),
            "forest_land_mu": Decimal(f"{forest:.1f}"),
            "clarity_card_issued_on": clarity,
        }
        incomes = []
        for year in self.years:
            record = self.income(household, members, year, cultivated, forest)
            if record is not None:
                incomes.append(record)
        village.people += len(active)
        return household, members, incomes

    def _profile(self, status: str, exit_year: int | None, year: int) -> str:
        if status == HS.REMOVED:
            return "removed"
        if status == HS.MARGINAL:
            return "marginal"
        if status == HS.RETURNED:
            return "returned" if exit_year is None or year > exit_year else "passing"
        if status == HS.UNSTABLE:
            return "unstable" if exit_year is not None and year >= exit_year else "poor"
        if status == HS.EXITED and exit_year is not None and year >= exit_year:
            return "passing"
        return "poor"

    def income(self, household: dict, members: list[dict], year: int, cultivated: float, forest: float):
        """An income record whose per-capita net income lands in the year's bucket, or None (no record)."""
        rng = self.rng
        bucket = INCOME_PROFILES[self._profile(household["status"], household["exit_year"], year)].pick(rng)
        if bucket == "none":
            return None
        year_end = dt.date(year, 12, 31)
        present = [
            m
            for m in members
            if m["birth_date"] <= year_end
            and (m["is_active"] or (m["left_on"] is not None and m["left_on"] > year_end))
        ]
        size = len(present)
        line = self.lines_fen[year]
        if bucket == "exact":
            per_capita = line
        else:
            low, high = INCOME_RANGES[bucket]
            per_capita = int(line * rng.uniform(low, high))
            if bucket == "below":
                per_capita = min(per_capita, line - 1)
            elif bucket == "fragile":
                per_capita = min(max(per_capita, line + 1), line * 11 // 10 - 1)
        net = per_capita * size  # exact: net ÷ size gives back per_capita to the fen

        # Transfers and property income follow policy, then earned income makes up the rest.
        ages = [age_on(m["birth_date"], year_end) for m in present]
        amounts = dict.fromkeys(IncomeRecord.AMOUNT_FIELDS, 0)
        monthly_pension = 9800 + 400 * max(0, year - 2014)  # fen; Henan basic pension ≈ 98–122 yuan/month
        amounts["pension_income"] = sum(
            12 * monthly_pension for m, a in zip(present, ages, strict=True) if a >= 60 and m["pension_insurance"]
        )
        if household["attribute"] == "dibao":
            amounts["dibao_income"] = size * 12 * rng.randint(12000, 22000)
        elif household["attribute"] == "tekun":
            amounts["tekun_income"] = size * rng.randint(400_000, 600_000)
        if ages and max(ages) >= 60 and rng.random() < 0.08:
            amounts["family_planning_income"] = 96000 * rng.choice((1, 2))
        amounts["eco_compensation_income"] = int(forest * 1500)
        disabled = sum(1 for m in present if m["health"] == "disabled")
        other = disabled * rng.randint(60000, 120000)
        if rng.random() < 0.2:
            other += rng.randint(20000, 80000)
        amounts["other_transfer_income"] = other
        if rng.random() < 0.35:
            amounts["property_income"] = rng.randint(50000, 150000)
        policy = (*IncomeRecord.TRANSFER_FIELDS, "property_income")
        fixed = sum(amounts[name] for name in policy)
        rest = net - fixed
        if rest >= 0:
            workers = [m for m in present if m["work_status"] != "none"]
            wage = 0
            if workers:
                share = 1.0 if cultivated <= 0 else rng.uniform(0.55, 0.95)
                wage = int(rest * share)
            business_net = rest - wage
            expenses = int(business_net * rng.uniform(0.25, 0.9)) if business_net > 0 else 0
            amounts["wage_income"] = wage
            amounts["business_income"] = business_net + expenses
            amounts["business_expenses"] = expenses
        else:  # policy income alone exceeds the target: scale it down, the largest item takes the rounding
            scaled = {name: amounts[name] * net // fixed for name in policy}
            largest = max(policy, key=lambda name: (amounts[name], name))
            scaled[largest] += net - sum(scaled.values())
            amounts.update(scaled)
        record = {name: yuan(value) for name, value in amounts.items()}
        record["year"] = year
        return record

    # -- writing -------------------------------------------------------------------------------------------

    def run(self) -> GenerationResult:
        """Write everything (call inside ``transaction.atomic``)."""
        started = time.perf_counter()
        when = timezone.now()  # the history date is when the rows were written, not part of the data
        result = self.result
        township_plan, village_plan = self.plan_villages()
        geography = OrmWriter(when=when, user_id=self.history_user_id, batch_size=self.batch_size)
        writer_class = self.writer_class or default_writer_class()
        writer = writer_class(when=when, user_id=self.history_user_id, batch_size=self.batch_size)

        counties = County.objects.bulk_create(
            [
                County(code=c.code, name=c.name, city_name=CITY_NAME, is_poverty_county=c.is_poverty_county)
                for c in COUNTIES
            ],
            batch_size=self.batch_size,
        )
        geography.write_history(County, counties)
        county_ids = {c.code: c.pk for c in counties}
        townships = Township.objects.bulk_create(
            [
                Township(code=code, name=name, county_id=county_ids[county.code])
                for county, items in township_plan
                for code, name in items
            ],
            batch_size=self.batch_size,
        )
        geography.write_history(Township, townships)
        township_ids = {t.code: (t.pk, t.county_id) for t in townships}
        villages = Village.objects.bulk_create(
            [
                Village(
                    code=v.code,
                    name=v.name,
                    township_id=township_ids[v.township_code][0],
                    county_id=township_ids[v.township_code][1],  # derived: save() is bypassed
                    is_poverty_village=v.is_poverty_village,
                    exit_year=v.exit_year,
                    registered_population=v.registered_population,
                    collective_income_yuan=yuan(v.collective_income_fen),
                    **v.indicators,
                )
                for v in village_plan
            ],
            batch_size=self.batch_size,
        )
        village_ids = {v.code: v.pk for v in villages}
        result.counties, result.townships, result.villages = len(counties), len(townships), len(villages)

        def work():
            for village in village_plan:
                for sequence in range(1, village.households + 1):
                    yield village, sequence

        stream = work()
        done = 0
        while True:
            chunk = list(itertools.islice(stream, self.chunk_size))
            if not chunk:
                break
            self._write_chunk(writer, [(village_ids[v.code], *self.household(v, s)) for v, s in chunk])
            done += len(chunk)
            if self.progress:
                self.progress(done)

        # Registered population is at least the people placed in the village's households.
        changed = []
        for village, plan in zip(villages, village_plan, strict=True):
            if plan.people > village.registered_population:
                village.registered_population = plan.people + self.rng.randint(50, 400)
                changed.append(village)
        Village.objects.bulk_update(changed, ["registered_population"], batch_size=self.batch_size)
        geography.write_history(Village, villages)  # after the update: the history shows the final rows
        result.history_rows = geography.history_rows + writer.history_rows
        result.seconds = time.perf_counter() - started
        return result

    def _write_chunk(self, writer: OrmWriter | CopyWriter, rows: list[tuple[int, dict, list[dict], list[dict]]]):
        result = self.result
        households = []
        for village_id, fields, _, _ in rows:
            fields["village_id"] = village_id
            households.append(fields)
            result.statuses[fields["status"]] += 1
            result.causes[fields["primary_cause"]] += 1
        household_ids = writer.insert(Household, households)
        members: list[dict] = []
        incomes: list[dict] = []
        for household_id, (_, _, member_rows, income_rows) in zip(household_ids, rows, strict=True):
            for member in member_rows:
                member["household_id"] = household_id
                members.append(member)
            for income in income_rows:
                income["household_id"] = household_id
                incomes.append(income)
        writer.insert(Member, members)
        writer.insert(IncomeRecord, incomes)
        result.households += len(households)
        result.members += len(members)
        result.inactive_members += sum(1 for m in members if not m["is_active"])
        result.income_records += len(incomes)


class OrmWriter:
    """Any database: ``bulk_create`` the rows, then their history rows built directly (one "+" row each)."""

    def __init__(self, *, when: dt.datetime, user_id: int | None, batch_size: int = BATCH_SIZE) -> None:
        self.when = when
        self.user_id = user_id
        self.batch_size = batch_size
        self.history_rows = 0

    def insert(self, model: type[models.Model], rows: list[dict]) -> list[int]:
        objects = model._default_manager.bulk_create([model(**row) for row in rows], batch_size=self.batch_size)
        self.write_history(model, objects)
        return [obj.pk for obj in objects]

    def write_history(self, model: type[models.Model], objects: Sequence[models.Model]) -> None:
        history_model = model.history.model
        attnames = [f.attname for f in history_model.tracked_fields]
        history_model._default_manager.bulk_create(
            [
                history_model(
                    history_date=self.when,
                    history_user_id=self.user_id,
                    history_change_reason=DEMO_CHANGE_REASON,
                    history_type="+",
                    **{name: getattr(obj, name) for name in attnames},
                )
                for obj in objects
            ],
            batch_size=self.batch_size,
        )
        self.history_rows += len(objects)


class CopyWriter:
    """PostgreSQL: reserve primary keys from the table's sequence, then ``COPY`` the rows and their history
    rows. Same rows and history as ``OrmWriter``, several times faster (no model instances, no INSERT SQL)."""

    def __init__(self, *, when: dt.datetime, user_id: int | None, batch_size: int = BATCH_SIZE) -> None:
        self.when = when
        self.user_id = user_id
        self.history_rows = 0
        self._history_suffix = "\t".join(
            [
                when.isoformat(),
                DEMO_CHANGE_REASON.translate(COPY_ESCAPES),
                "+",
                "\\N" if user_id is None else str(user_id),
            ]
        )

    def insert(self, model: type[models.Model], rows: list[dict]) -> list[int]:
        if not rows:
            return []
        meta = model._meta
        connection = connections[router.db_for_write(model)]
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        converters = [copy_text(f) for f in fields]
        defaults = {}
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                defaults[f.attname] = self.when
            elif f.has_default():
                defaults[f.attname] = f.get_default()
        attnames = [f.attname for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            main, history = io.StringIO(), io.StringIO()
            suffix = self._history_suffix
            for pk, row in zip(ids, rows, strict=True):
                text = "\t".join(
                    convert(row[name] if name in row else defaults.get(name))
                    for name, convert in zip(attnames, converters, strict=True)
                )
                main.write(f"{pk}\t{text}\n")
                history.write(f"{pk}\t{text}\t{suffix}\n")
            columns = [meta.pk.column, *(f.column for f in fields)]
            history_table = model.history.model._meta.db_table
            history_columns = [*columns, "history_date", "history_change_reason", "history_type", "history_user_id"]
            for table, cols, buffer in ((meta.db_table, columns, main), (history_table, history_columns, history)):
                buffer.seek(0)
                quoted = ", ".join(connection.ops.quote_name(c) for c in cols)
                cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN", buffer)
        self.history_rows += len(rows)
        return ids


def default_writer_class() -> type[OrmWriter | CopyWriter]:
    """``COPY`` on PostgreSQL with psycopg2, ``bulk_create`` elsewhere."""
    connection = connections[router.db_for_write(Household)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if hasattr(cursor.cursor, "copy_expert"):
                return CopyWriter
    return OrmWriter


def generate(*, households: int, seed: int, years: Sequence[int] = DEFAULT_YEARS, **options) -> GenerationResult:
    """Generate the demo registry (call inside ``transaction.atomic``; the registry must be empty)."""
    if "history_user" not in options:
        options["history_user"] = get_user_model().objects.filter(username=DEMO_LOGINS[0].username).first()
    return DemoGenerator(households=households, seed=seed, years=years, **options).run()


# --- Existing data -------------------------------------------------------------------------------------

# Deletion order: children before parents.
REGISTRY_MODELS: tuple[type[models.Model], ...] = (IncomeRecord, Member, Household, Village, Township, County)


def registry_counts() -> dict[str, int]:
    return {model._meta.model_name: model.objects.count() for model in REGISTRY_MODELS}


def registry_has_data() -> bool:
    """True when the registry holds any household (or any geography, which the demo would collide with)."""
    return any(model.objects.exists() for model in (Household, Village, Township, County))


def _is_historical(model: type[models.Model]) -> bool:
    return hasattr(model, "instance_type")


def _purge_dependents(model: type[models.Model], skip: set, deleted: Counter) -> None:
    """Delete (or null) rows of other models that point at ``model``, deepest first, without signals."""
    for relation in model._meta.related_objects:
        related = relation.related_model
        if related in skip or _is_historical(related) or relation.many_to_many or not relation.field.concrete:
            continue
        rows = related._base_manager.filter(**{f"{relation.field.name}__isnull": False})
        if relation.on_delete is models.SET_NULL:
            rows.update(**{relation.field.name: None})
            continue
        _purge_dependents(related, skip | {related}, deleted)
        count = rows._raw_delete(router.db_for_write(related))
        if count:
            deleted[related._meta.label] += count


def reset_registry() -> dict:
    """Delete the registry (income records, members, households, villages, townships, counties) with all their
    history, and the rows of other apps that point at it (assessments, helper assignments, role assignments
    bound to a county, township or village). Raw deletes: no signals, so no recompute tasks are scheduled for
    rows that are going away. Call inside ``transaction.atomic``. Returns the counts before deletion, and
    ``dependents`` (model label → rows deleted)."""
    counts: dict = registry_counts()
    dependents: Counter = Counter()
    skip = set(REGISTRY_MODELS)
    for model in REGISTRY_MODELS:
        _purge_dependents(model, skip, dependents)
        model._base_manager.all()._raw_delete(router.db_for_write(model))
        history_model = model.history.model
        history_model._base_manager.all()._raw_delete(router.db_for_write(history_model))
    counts["dependents"] = dict(dependents)
    return counts


def reset_households() -> dict:
    """Delete the households, members and income records with their history and the rows that point at them
    (assessments, helper assignments), keeping the geography. Raw deletes, no signals; call inside
    ``transaction.atomic``. Used by ``bench_import`` to import a county's export into an empty registry."""
    models_ = (IncomeRecord, Member, Household)
    counts: dict = {model._meta.model_name: model.objects.count() for model in models_}
    dependents: Counter = Counter()
    for model in models_:
        _purge_dependents(model, set(REGISTRY_MODELS), dependents)
        model._base_manager.all()._raw_delete(router.db_for_write(model))
        history_model = model.history.model
        history_model._base_manager.all()._raw_delete(router.db_for_write(history_model))
    counts["dependents"] = dict(dependents)
    return counts
