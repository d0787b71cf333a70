"""The household exit standard (户退出标准: 两不愁三保障 + income), DOMAIN.md §4, as pure functions.

No ORM here: a household-year's facts come in as plain dataclasses, one result per criterion goes out, each
with ``passed``, a ``code`` and a Chinese ``message`` naming the member or figure at fault. The single-household
path and the batch path both build ``HouseholdYearFacts`` and call ``assess_household_year``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# Bump whenever a rule's outcome can change: stored with every assessment, and part of its fingerprint,
# so that a new version recomputes every household.
RULES_VERSION = "2026.11.2"

CRITERIA = ("income", "food", "clothing", "education", "medical", "housing", "water")
CRITERION_LABELS = {
    "income": "人均纯收入稳定超过扶贫标准",
    "food": "不愁吃",
    "clothing": "不愁穿",
    "education": "义务教育有保障",
    "medical": "基本医疗有保障",
    "housing": "住房安全有保障",
    "water": "饮水安全有保障",
}
WARNING_LABELS = {
    "fragile_income": "收入脆弱（人均纯收入高于扶贫标准不足10%）",
    "transfer_dependent": "转移性收入占纯收入一半以上",
    "illness_risk": "有大病成员，存在因病返贫风险",
    "education_exempt": "适龄残疾或大病儿童未入学（不计入义务教育指标）",
    "monitoring_candidate": "防返贫监测对象（人均纯收入低于监测线）",
}

FEN = Decimal("0.01")
COMPULSORY_SCHOOL_AGES = range(6, 16)  # 6–15 inclusive, age on 1 September of the year
SCHOOLED = frozenset({"preschool", "primary", "junior", "senior", "vocational", "college", "home_schooling"})
OUT_OF_SCHOOL = frozenset({"dropout", "not_applicable"})
EXEMPT_HEALTH = frozenset({"disabled", "serious_illness"})
SAFE_GRADES = frozenset({"A", "B"})
NOT_POOR_STATUSES = frozenset({"exited", "unstable", "marginal"})
WATER_FIELDS = (
    ("water_quantity_ok", "水量"),
    ("water_quality_ok", "水质"),
    ("water_convenient", "取水方便程度"),
    ("water_guaranteed", "供水保证率"),
)


@dataclass(frozen=True)
class RuleSettings:
    """The configurable thresholds of DOMAIN.md §4 (defaults as written there)."""

    fragile_income_factor: Decimal = Decimal("1.10")
    transfer_share: Decimal = Decimal("0.5")
    monitoring_factor: Decimal = Decimal("1.5")
    monitoring_from_year: int = 2020


@dataclass(frozen=True)
class MemberFacts:
    name: str
    birth_date: dt.date
    health: str
    school_status: str
    medical_insurance: bool
    serious_illness_insurance: bool
    is_active: bool = True
    left_on: dt.date | None = None


@dataclass(frozen=True)
class IncomeFacts:
    net_income: Decimal
    transfer_income: Decimal


@dataclass(frozen=True)
class HouseholdYearFacts:
    year: int
    poverty_line: Decimal | None
    members: tuple[MemberFacts, ...]
    income: IncomeFacts | None
    food_secure: bool
    clothing_secure: bool
    house_safety_grade: str
    relocated: bool
    water_quantity_ok: bool
    water_quality_ok: bool
    water_convenient: bool
    water_guaranteed: bool
    status: str = "in_poverty"


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    passed: bool
    code: str
    message: str


@dataclass(frozen=True)
class RuleWarning:
    code: str
    message: str


@dataclass(frozen=True)
class AssessmentResult:
    year: int
    eligible: bool
    criteria: tuple[CriterionResult, ...]
    warnings: tuple[RuleWarning, ...]
    household_size: int
    per_capita_net_income: Decimal | None
    poverty_line: Decimal | None
    rules_version: str = RULES_VERSION
    failed: tuple[str, ...] = field(default=())

    def criterion(self, slug: str) -> CriterionResult:
        return next(result for result in self.criteria if result.criterion == slug)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def members_of_year(members: tuple[MemberFacts, ...], year: int) -> tuple[MemberFacts, ...]:
    """Household size for a year = members active in that year (DOMAIN.md §2), counted at the year's end:
    born by 31 December, and still in the household then (active, or left after that day)."""
    year_end = dt.date(year, 12, 31)
    return tuple(
        m
        for m in members
        if m.birth_date <= year_end and (m.is_active or (m.left_on is not None and m.left_on > year_end))
    )


def per_capita(net_income: Decimal, size: int) -> Decimal:
    """人均纯收入: net income ÷ household size, rounded half-up to 0.01 yuan."""
    return (net_income / size).quantize(FEN, rounding=ROUND_HALF_UP)


def _yuan(amount: Decimal) -> str:
    """Money in a message: rounded half-up to the fen first (the monitoring line 1.5 × line can have three
    decimals; ``format`` alone would round half-even), no negative zero, thousands separated: "1,234.50元".
    The SQL batch path (batch.py) writes the same text with ``to_char``, which rounds half away from zero."""
    rounded = amount.quantize(FEN, rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        rounded = abs(rounded)  # -0.004 → "0.00", as PostgreSQL writes it (its numeric has no negative zero)
    return f"{rounded:,.2f}元"


def fragile_income_percent(settings: RuleSettings) -> str:
    """How far above the line income is still fragile, as written in the warning: 1.10 → "10%"."""
    return f"{(settings.fragile_income_factor - 1):.0%}"


def income_criterion(facts: HouseholdYearFacts, members: tuple[MemberFacts, ...]) -> CriterionResult:
    year = facts.year
    if facts.poverty_line is None:
        return CriterionResult("income", False, "no_poverty_line", f"{year}年没有设定扶贫标准，无法判断收入。")
    if facts.income is None:
        return CriterionResult("income", False, "no_income_record", f"缺少{year}年收入记录。")
    if not members:
        return CriterionResult("income", False, "no_members", f"{year}年末无在户成员，无法计算人均纯收入。")
    pc = per_capita(facts.income.net_income, len(members))
    if pc > facts.poverty_line:
        return CriterionResult(
            "income",
            True,
            "income_above_line",
            f"{year}年人均纯收入{_yuan(pc)}，高于扶贫标准{_yuan(facts.poverty_line)}。",
        )
    return CriterionResult(
        "income",
        False,
        "income_not_above_line",
        f"{year}年人均纯收入{_yuan(pc)}，未超过扶贫标准{_yuan(facts.poverty_line)}。",
    )


def education_criterion(
    facts: HouseholdYearFacts, members: tuple[MemberFacts, ...]
) -> tuple[CriterionResult, list[RuleWarning]]:
    """义务教育有保障: no healthy (or chronically ill) child aged 6–15 on 1 September is out of school."""
    reference_day = dt.date(facts.year, 9, 1)
    at_fault: list[str] = []
    warnings: list[RuleWarning] = []
    for member in members:
        age = age_on(member.birth_date, reference_day)
        if age not in COMPULSORY_SCHOOL_AGES or member.school_status not in OUT_OF_SCHOOL:
            continue
        state = "辍学" if member.school_status == "dropout" else "未入学"
        if member.health in EXEMPT_HEALTH:
            condition = "残疾" if member.health == "disabled" else "患有大病"
            warnings.append(
                RuleWarning(
                    "education_exempt",
                    f"{member.name}（{age}岁，{condition}）{state}，不计入义务教育指标。",
                )
            )
        else:
            at_fault.append(f"{member.name}（{age}岁）{state}")
    if at_fault:
        return CriterionResult(
            "education", False, "school_age_child_out_of_school", "；".join(at_fault) + "。"
        ), warnings
    return CriterionResult("education", True, "compulsory_education_secured", "适龄儿童均接受义务教育。"), warnings


def medical_criterion(members: tuple[MemberFacts, ...]) -> CriterionResult:
    """基本医疗有保障: every member has basic medical insurance and serious-illness insurance."""
    missing: list[str] = []
    for member in members:
        lacks = []
        if not member.medical_insurance:
            lacks.append("基本医疗保险")
        if not member.serious_illness_insurance:
            lacks.append("大病保险")
        if lacks:
            missing.append(f"{member.name}未参加{'和'.join(lacks)}")
    if missing:
        return CriterionResult("medical", False, "member_uninsured", "；".join(missing) + "。")
    return CriterionResult("medical", True, "all_insured", "全部成员参加基本医疗保险和大病保险。")


def housing_criterion(facts: HouseholdYearFacts) -> CriterionResult:
    if facts.relocated:
        return CriterionResult("housing", True, "relocated", "已易地扶贫搬迁入住。")
    grade = facts.house_safety_grade
    if grade in SAFE_GRADES:
        return CriterionResult("housing", True, "safe_house", f"住房安全等级为{grade}级。")
    if grade == "unknown":
        return CriterionResult("housing", False, "house_not_appraised", "住房未经安全鉴定。")
    return CriterionResult("housing", False, "unsafe_house", f"住房安全等级为{grade}级（危房），且未搬迁入住。")


def water_criterion(facts: HouseholdYearFacts) -> CriterionResult:
    failing = [label for name, label in WATER_FIELDS if not getattr(facts, name)]
    if failing:
        return CriterionResult("water", False, "water_unsafe", "饮水" + "、".join(failing) + "不达标。")
    return CriterionResult("water", True, "water_safe", "饮水水量、水质、方便程度和保证率均达标。")


def assess_household_year(facts: HouseholdYearFacts, settings: RuleSettings | None = None) -> AssessmentResult:
    """Whether a household is eligible to exit in ``facts.year`` and, criterion by criterion, why (§4)."""
    settings = settings or RuleSettings()
    members = members_of_year(facts.members, facts.year)
    education, warnings = education_criterion(facts, members)
    criteria = (
        income_criterion(facts, members),
        CriterionResult("food", True, "food_secure", "不愁吃。")
        if facts.food_secure
        else CriterionResult("food", False, "food_insecure", "未达到不愁吃（走访核实）。"),
        CriterionResult("clothing", True, "clothing_secure", "不愁穿。")
        if facts.clothing_secure
        else CriterionResult("clothing", False, "clothing_insecure", "未达到不愁穿（走访核实）。"),
        education,
        medical_criterion(members),
        housing_criterion(facts),
        water_criterion(facts),
    )

    pc: Decimal | None = None
    line = facts.poverty_line
    if facts.income is not None and members:
        pc = per_capita(facts.income.net_income, len(members))
        net = facts.income.net_income
        if line is not None and line < pc < line * settings.fragile_income_factor:
            warnings.append(
                RuleWarning(
                    "fragile_income",
                    f"人均纯收入{_yuan(pc)}高于扶贫标准{_yuan(line)}不足{fragile_income_percent(settings)}。",
                )
            )
        if net > 0 and facts.income.transfer_income > net * settings.transfer_share:
            warnings.append(
                RuleWarning(
                    "transfer_dependent",
                    f"转移性收入{_yuan(facts.income.transfer_income)}超过纯收入{_yuan(net)}的一半。",
                )
            )
        if (
            line is not None
            and facts.year >= settings.monitoring_from_year
            and facts.status in NOT_POOR_STATUSES
            and pc < line * settings.monitoring_factor
        ):
            warnings.append(
                RuleWarning(
                    "monitoring_candidate",
                    f"非贫困户人均纯收入{_yuan(pc)}低于监测线{_yuan(line * settings.monitoring_factor)}。",
                )
            )
    ill = [m.name for m in members if m.health == "serious_illness"]
    if ill:
        warnings.append(RuleWarning("illness_risk", "、".join(ill) + "患有大病。"))

    failed = tuple(result.criterion for result in criteria if not result.passed)
    return AssessmentResult(
        year=facts.year,
        eligible=not failed,
        criteria=criteria,
        warnings=tuple(warnings),
        household_size=len(members),
        per_capita_net_income=pc,
        poverty_line=line,
        failed=failed,
    )
