"""The columns of the household-file workbook (DOMAIN.md §2), shared by the template, import and export.

Three sheets, one row per household, member and income record, joined by 户编号 (household_number):
户信息 (households), 家庭成员 (members), 年度收入 (incomes). Headers are the Chinese labels (the slugs are
accepted too); enumerations are written as their Chinese labels; yes/no as 是/否; dates as dates or
YYYY-MM-DD text; several causes in one cell are separated by 、 or , .
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from households import choices
from households.models import IncomeRecord

TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", "×", "✗"}
SEPARATORS = ("、", ",", "，", ";", "；")
MAX_INT = 10**9  # years, months, grades: anything larger is a typo (and past a database integer)


class CellError(ValueError):
    """A value that cannot be read; the message is Chinese and says what is expected."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_text(value: Any) -> str:
    return _text(value)


def read_code(value: Any) -> str:
    """Codes and numbers typed as digits: Excel may hand them over as numbers."""
    text = _text(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def text_code_reader(label: str) -> Callable[[Any], str]:
    """A long number kept as text (ID number, phone, household number): a number cell is refused, because Excel
    keeps only 15 digits (4.10324194001015E+17) and drops leading zeros, so its value is a different number."""

    def read(value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise CellError(f"{label}须以文本格式填写（在Excel中将该列设为文本后重新输入）。")
        return read_code(value)

    return read


def read_int(value: Any) -> int | None:
    text = read_code(value)
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise CellError(f"应为整数，当前为“{text}”。") from None
    if abs(number) >= MAX_INT:
        raise CellError(f"数值过大，当前为“{text}”。")
    return number


def read_decimal(value: Any) -> Decimal | None:
    text = _text(value).replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"应为数字，当前为“{text}”。") from None
    if not number.is_finite():
        raise CellError(f"应为数字，当前为“{text}”。")
    try:
        return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context holds (1E+30)
        raise CellError(f"数值过大，当前为“{text}”。") from None


def read_money(value: Any) -> Decimal | None:
    number = read_decimal(value)
    if number is not None and number < 0:
        raise CellError(f"金额不能为负数，当前为{number}。")
    return number


def read_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(f"应填“是”或“否”，当前为“{_text(value)}”。")


def read_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CellError(f"应为日期（如2020-09-01），当前为“{text}”。")


def choice_reader(enum) -> Callable[[Any], str | None]:
    by_label = {str(label): value for value, label in enum.choices}
    by_value = {value: value for value in enum.values}
    labels = "、".join(str(label) for _, label in enum.choices)

    def read(value: Any) -> str | None:
        text = _text(value)
        if not text:
            return None
        found = by_label.get(text) or by_value.get(text)
        if found is None:
            raise CellError(f"“{text}”不是可选值，应为：{labels}。")
        return found

    read.labels = labels  # type: ignore[attr-defined]
    return read


def many_choices_reader(enum) -> Callable[[Any], list[str]]:
    one = choice_reader(enum)

    def read(value: Any) -> list[str]:
        text = _text(value)
        for separator in SEPARATORS[1:]:
            text = text.replace(separator, SEPARATORS[0])
        return [one(part) for part in text.split(SEPARATORS[0]) if part.strip()]

    return read


def write_label(enum) -> Callable[[Any], str]:
    labels = dict(enum.choices)
    return lambda value: str(labels.get(value, value or ""))


def write_bool(value: Any) -> str:
    return "" if value is None else ("是" if value else "否")


def write_many(enum) -> Callable[[Any], str]:
    labels = dict(enum.choices)
    return lambda values: "、".join(str(labels.get(v, v)) for v in (values or []))


def write_plain(value: Any) -> Any:
    """Numbers stay numbers (amounts as Decimal → float is exact for 2-place yuan up to 10^13)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return float(value)
    return value


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    read: Callable[[Any], Any]
    write: Callable[[Any], Any] = write_plain
    required: bool = False
    example: Any = ""
    width: int = 14


def _choice(field: str, label: str, enum, *, required: bool = False, example: str = "") -> Column:
    return Column(field, label, choice_reader(enum), write_label(enum), required, example)


def _bool(field: str, label: str, example: str = "是") -> Column:
    return Column(field, label, read_bool, write_bool, False, example, 8)


read_household_number = text_code_reader("户编号")

HOUSEHOLD_SHEET = "户信息"
MEMBER_SHEET = "家庭成员"
INCOME_SHEET = "年度收入"

HOUSEHOLD_COLUMNS: tuple[Column, ...] = (
    Column("household_number", "户编号", read_household_number, required=True, example="4103241002010001", width=20),
    Column("village", "村代码", read_code, required=True, example="410324100201", width=16),
    Column("address", "住址", read_text, example="庄子村3组12号", width=22),
    Column("phone", "联系电话", text_code_reader("联系电话"), example="13800138000"),
    _choice("identification_standard", "识别标准", choices.IdentificationStandard, example="国家标准"),
    _choice("attribute", "贫困户属性", choices.Attribute, example="一般贫困户"),
    _choice("status", "户状态", choices.HouseholdStatus, example="未脱贫"),
    Column("identified_year", "识别年度", read_int, required=True, example=2015),
    Column("exit_year", "脱贫年度", read_int),
    _choice("primary_cause", "主要致贫原因", choices.Cause, required=True, example="因病"),
    Column(
        "other_causes",
        "其他致贫原因",
        many_choices_reader(choices.Cause),
        write_many(choices.Cause),
        example="缺技术、缺资金",
    ),
    _bool("food_secure", "不愁吃"),
    _bool("clothing_secure", "不愁穿"),
    _choice("house_safety_grade", "住房安全等级", choices.HouseSafetyGrade, example="B级"),
    _bool("relocated", "易地扶贫搬迁已入住", example="否"),
    _bool("water_quantity_ok", "饮水：水量达标"),
    _bool("water_quality_ok", "饮水：水质达标"),
    _bool("water_convenient", "饮水：取水方便"),
    _bool("water_guaranteed", "饮水：供水保证率达标"),
    Column("cultivated_land_mu", "耕地面积(亩)", read_decimal, example=3.5),
    Column("forest_land_mu", "林地面积(亩)", read_decimal, example=10),
    Column("clarity_card_issued_on", "明白卡发放日期", read_date, example="2016-03-01"),
)

MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("household_number", "户编号", read_household_number, required=True, example="4103241002010001", width=20),
    Column("name", "姓名", read_text, required=True, example="张建国"),
    Column(
        "id_number", "身份证号", text_code_reader("身份证号"), required=True, example="410324196505120130", width=22
    ),
    _choice("relation", "与户主关系", choices.Relation, required=True, example="户主"),
    Column("ethnicity", "民族", read_text, example="汉族"),
    _choice("education_level", "文化程度", choices.EducationLevel, example="初中"),
    _choice("school_status", "在校生状况", choices.SchoolStatus, example="非在校生"),
    _choice("health", "健康状况", choices.Health, example="长期慢性病"),
    Column("disability_grade", "残疾等级", read_int),
    _choice("labor_ability", "劳动技能", choices.LaborAbility, example="普通劳动力"),
    _choice("work_status", "务工状况", choices.WorkStatus, example="县内"),
    Column("work_months", "务工时间(月)", read_int, example=6),
    _bool("medical_insurance", "参加基本医疗保险"),
    _bool("serious_illness_insurance", "参加大病保险"),
    _bool("pension_insurance", "参加城乡居民基本养老保险"),
    _bool("is_active", "是否在户"),
    _choice("left_reason", "减少原因", choices.LeftReason),
    Column("left_on", "减少日期", read_date),
)

_INCOME_LABELS = {f.name: str(f.verbose_name) for f in IncomeRecord._meta.fields}
INCOME_COLUMNS: tuple[Column, ...] = (
    Column("household_number", "户编号", read_household_number, required=True, example="4103241002010001", width=20),
    Column("year", "年度", read_int, required=True, example=2020, width=8),
    *(
        Column(
            name,
            _INCOME_LABELS[name],
            read_money,
            example={"wage_income": 12000, "business_income": 3000, "business_expenses": 800}.get(name, 0),
        )
        for name in IncomeRecord.AMOUNT_FIELDS
    ),
)

SHEETS: tuple[tuple[str, tuple[Column, ...]], ...] = (
    (HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS),
    (MEMBER_SHEET, MEMBER_COLUMNS),
    (INCOME_SHEET, INCOME_COLUMNS),
)
