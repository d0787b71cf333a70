"""The world of the Excel import and export tests (issue 7), with people whose roles everyone remembers.

The places and people are the shared cast's (testing/cast.py), its household left out. 栾川县 (410324) has
township 城关镇 with 庄子村 (V1, 410324100201) and 协心村 (V2, 410324100202); 嵩县 (410325) has 龙王村 (V4,
410325100201). Already on file: household 4103241002010001 in V1 (head 王建国) and household 4103251002010001 in
V4 (head 张桂兰). The people: ``county_clerk`` (栾川县扶贫办, may see personal data and add households),
``township_clerk`` (城关镇扶贫专干: adds households, sees ID numbers masked), ``songxian_clerk`` (嵩县扶贫办, the
outsider), ``supervisor`` (市级督查: sees everything, writes nothing) and the city's superuser ``root`` who grants
the roles through the services.

``good_sheets()`` is a clean workbook of two new households of 栾川县 (three and two members, three income
records); a test spoils one cell of it and checks the report and that nothing was written.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from rest_framework.test import APIClient

from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET, SHEETS
from households.idcard import build_id_number
from households.imports.read import RowError
from households.imports.runner import ImportResult
from households.models import Household, IncomeRecord, Member
from testing.cast import build_people, build_places
from testing.factories import HouseholdFactory, MemberFactory, city_admin_user
from villages.models import County, Village


@dataclass
class ImportWorld:
    root: Any
    counties: dict[str, County]
    villages: dict[str, Village]
    households: dict[str, Household]
    users: dict[str, Any]

    def client(self, role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.root if role == "root" else self.users[role])
        return client


def build_import_world() -> ImportWorld:
    """The shared cast's places and people (testing/cast.py) without its household: these tests count the members
    of H1 (王建国 alone here) and every household of 栾川县."""
    places = build_places()
    people = build_people(places)
    households = {
        "H1": HouseholdFactory(village=places.village, household_number="4103241002010001"),
        "H4": HouseholdFactory(village=places.songxian_village, household_number="4103251002010001"),
    }
    MemberFactory(household=households["H1"], name="王建国", id_number=person(1960, 1, 1, 11))
    MemberFactory(household=households["H4"], name="张桂兰", id_number=person(1962, 2, 2, 22, area="410325"))
    users = {
        "county_clerk": people["luanchuan_clerk"],
        "township_clerk": people["township_clerk"],
        "songxian_clerk": people["songxian_clerk"],
        "supervisor": people["supervisor"],
    }
    villages = {key: places.villages[key] for key in ("V1", "V2", "V4")}
    return ImportWorld(city_admin_user(), places.counties, villages, households, users)


def person(year: int, month: int, day: int, sequence: int, *, area: str = "410324") -> str:
    """A valid ID number; an odd sequence is a man."""
    return build_id_number(area, dt.date(year, month, day), sequence)


# --- The clean workbook ------------------------------------------------------------------------------------

HA, HB = "4103241002010101", "4103241002020101"
ZHANG = person(1965, 5, 12, 13)
LI = person(1968, 9, 3, 24)
XIAOMING = person(2006, 7, 1, 35)
ZHAO = person(1958, 11, 20, 47)
ZHAO_FATHER = person(1930, 1, 15, 59)

HOUSEHOLD_A = {
    "household_number": HA,
    "village": "410324100201",
    "address": "庄子村3组15号",
    "phone": "13937912345",
    "identification_standard": "国家标准",
    "attribute": "一般贫困户",
    "status": "未脱贫",
    "identified_year": 2015,
    "exit_year": None,
    "primary_cause": "因病",
    "other_causes": "缺技术、缺资金",
    "food_secure": "是",
    "clothing_secure": "是",
    "house_safety_grade": "B级",
    "relocated": "否",
    "water_quantity_ok": "是",
    "water_quality_ok": "是",
    "water_convenient": "是",
    "water_guaranteed": "是",
    "cultivated_land_mu": 3.5,
    "forest_land_mu": 10,
    "clarity_card_issued_on": dt.datetime(2016, 3, 1),
}
HOUSEHOLD_B = {
    **HOUSEHOLD_A,
    "household_number": HB,
    "village": "410324100202",
    "address": "协心村1组2号",
    "phone": "0379-66881234",
    "attribute": "低保贫困户",
    "status": "已脱贫",
    "identified_year": 2014,
    "exit_year": 2018,
    "primary_cause": "缺劳力",
    "other_causes": "",
    "house_safety_grade": "A级",
    "cultivated_land_mu": 1.25,
    "forest_land_mu": None,
    "clarity_card_issued_on": "2017-05-20",
}
MEMBER_DEFAULTS = {
    "ethnicity": "汉族",
    "education_level": "初中",
    "school_status": "非在校生",
    "health": "健康",
    "disability_grade": None,
    "labor_ability": "普通劳动力",
    "work_status": "未务工",
    "work_months": 0,
    "medical_insurance": "是",
    "serious_illness_insurance": "是",
    "pension_insurance": "是",
    "is_active": "是",
    "left_reason": None,
    "left_on": None,
}
MEMBERS = [
    {**MEMBER_DEFAULTS, "household_number": HA, "name": "张建国", "id_number": ZHANG, "relation": "户主",
     "health": "长期慢性病", "work_status": "县内", "work_months": 6},
    {**MEMBER_DEFAULTS, "household_number": HA, "name": "李秀英", "id_number": LI, "relation": "配偶",
     "health": "残疾", "disability_grade": 3, "labor_ability": "弱/半劳动力"},
    {**MEMBER_DEFAULTS, "household_number": HA, "name": "张小明", "id_number": XIAOMING, "relation": "子女",
     "education_level": "高中/中专", "school_status": "高中", "labor_ability": "无劳动力", "pension_insurance": "否"},
    {**MEMBER_DEFAULTS, "household_number": HB, "name": "赵志强", "id_number": ZHAO, "relation": "户主",
     "ethnicity": "回族"},
    {**MEMBER_DEFAULTS, "household_number": HB, "name": "赵老汉", "id_number": ZHAO_FATHER, "relation": "父母",
     "is_active": "否", "left_reason": "死亡", "left_on": "2019-12-01", "labor_ability": "丧失劳动力"},
]  # fmt: skip
INCOMES = [
    {"household_number": HA, "year": 2019, "wage_income": 12000, "business_income": 3000, "property_income": 0,
     "family_planning_income": 0, "dibao_income": 0, "tekun_income": 0, "pension_income": 1236,
     "eco_compensation_income": 150.5, "other_transfer_income": 0, "business_expenses": 800},
    {"household_number": HA, "year": 2020, "wage_income": 15000.25, "business_income": 2500, "property_income": 300,
     "family_planning_income": 0, "dibao_income": 0, "tekun_income": 0, "pension_income": 1236,
     "eco_compensation_income": 150.5, "other_transfer_income": 0, "business_expenses": 900},
    {"household_number": HB, "year": 2020, "wage_income": 0, "business_income": 4000, "property_income": 0,
     "family_planning_income": 0, "dibao_income": 3960, "tekun_income": 0, "pension_income": 1236,
     "eco_compensation_income": 0, "other_transfer_income": 200, "business_expenses": 1200},
]  # fmt: skip

# Where each row of the clean workbook lands (row 1 is the header).
ROW_OF_HA, ROW_OF_HB = 2, 3
ROW_OF_ZHANG, ROW_OF_LI, ROW_OF_XIAOMING, ROW_OF_ZHAO = 2, 3, 4, 5


def good_sheets() -> dict[str, list[dict]]:
    """The clean workbook, by sheet: rows as {field: value}; a test may change any of it."""
    return copy.deepcopy({HOUSEHOLD_SHEET: [HOUSEHOLD_A, HOUSEHOLD_B], MEMBER_SHEET: MEMBERS, INCOME_SHEET: INCOMES})


def write_workbook(path: Path, sheets: dict[str, list[dict]], *, drop_columns: dict[str, set[str]] | None = None):
    """Write the sheets with the template's headers (Chinese labels); ``drop_columns`` leaves columns out."""
    drop_columns = drop_columns or {}
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet_name, columns in SHEETS:
        if sheet_name not in sheets:
            continue
        sheet = workbook.create_sheet(sheet_name)
        kept = [c for c in columns if c.field not in drop_columns.get(sheet_name, set())]
        sheet.append([c.label for c in kept])
        for row in sheets[sheet_name]:
            sheet.append([row.get(c.field) for c in kept])
    workbook.save(path)
    return path


# --- Assertions ----------------------------------------------------------------------------------------------

REGISTRY = (Household, Member, IncomeRecord)


def registry_counts() -> dict[str, int]:
    """Rows and history rows of the registry: a refused import changes none of them."""
    counts = {model.__name__: model.objects.count() for model in REGISTRY}
    counts.update({f"{model.__name__}.history": model.history.model.objects.count() for model in REGISTRY})
    return counts


def error_at(result: ImportResult | list[RowError], sheet: str, row: int, column: str) -> RowError:
    """The one error of ``sheet``/``row``/``column`` (a column label); its text names all three."""
    errors = result.errors if isinstance(result, ImportResult) else result
    found = [e for e in errors if (e.sheet, e.row, e.column) == (sheet, row, column)]
    assert found, f"no error at {sheet}/{row}/{column}; errors: {[str(e) for e in errors]}"
    error = found[0]
    text = str(error)
    assert sheet in text and f"第{row}行" in text and (column in text if column else True), text
    return error
