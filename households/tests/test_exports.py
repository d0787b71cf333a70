"""Exports of the household file (issue 7): an export re-imports to identical data; personal data masked
unless permitted; CSV one row per member; only the user's jurisdiction; the template."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from households import choices
from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET
from households.exports import CSV_HEADER, TemporaryExportFile, export_csv_rows, export_xlsx, template_workbook
from households.idcard import mask_id_number, mask_phone
from households.imports.runner import import_workbook
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from households.tests import HA, ZHANG, good_sheets, person, write_workbook
from povertycase.jurisdiction import scope_to
from testing.factories import HouseholdFactory, IncomeRecordFactory, MemberFactory

pytestmark = pytest.mark.django_db


def registry_snapshot() -> dict:
    """Every field of every household, member and income record, keyed by their natural keys."""

    def fields(obj, skip=()) -> dict:
        return {
            f.name: getattr(obj, f.attname)
            for f in obj._meta.concrete_fields
            if f.name not in ("id", "household", "created_at", "updated_at", *skip)
        }

    households = {
        h.household_number: {**fields(h, ["village"]), "village": h.village.code} for h in Household.objects.all()
    }
    members = {
        (m.household.household_number, m.id_number): fields(m) for m in Member.objects.select_related("household")
    }
    incomes = {
        (r.household.household_number, r.year): fields(r) for r in IncomeRecord.objects.select_related("household")
    }
    return {"households": households, "members": members, "incomes": incomes}


def varied_registry(world) -> None:
    """Households of 栾川县 with everything a field can hold: every enumeration used, empty and full values,
    members who left, several income years."""
    rich = HouseholdFactory(
        village=world.villages["V2"],
        household_number="4103241002020007",
        address="协心村5组\n后院",
        phone="0379-66881234",
        identification_standard=choices.IdentificationStandard.PROVINCIAL,
        attribute=choices.Attribute.TEKUN,
        status=choices.HouseholdStatus.EXITED,
        identified_year=2014,
        exit_year=2019,
        primary_cause=choices.Cause.DISABILITY,
        other_causes=["lack_labor", "poor_transport", "other"],
        food_secure=False,
        house_safety_grade=choices.HouseSafetyGrade.UNKNOWN,
        relocated=True,
        water_quality_ok=False,
        cultivated_land_mu=Decimal("0.35"),
        forest_land_mu=Decimal("120.00"),
        clarity_card_issued_on=dt.date(2016, 2, 29),
    )
    MemberFactory(household=rich, name="欧阳娜仁", id_number=person(1950, 2, 28, 102), ethnicity="蒙古族",
                  education_level="", labor_ability="", health=choices.Health.SERIOUS_ILLNESS)  # fmt: skip
    MemberFactory(
        household=rich,
        name="欧阳强",
        id_number=person(2010, 12, 31, 203),
        relation="grandchild",
        school_status=choices.SchoolStatus.DROPOUT,
        work_status=choices.WorkStatus.OUT_OF_PROVINCE,
        work_months=12,
        health=choices.Health.DISABLED,
        disability_grade=1,
        medical_insurance=False,
    )
    MemberFactory(
        household=rich,
        name="欧阳旧",
        id_number=person(1980, 1, 1, 305),
        relation="child",
        is_active=False,
        left_reason=choices.LeftReason.MARRIAGE_OUT,
        left_on=dt.date(2018, 8, 8),
    )
    IncomeRecordFactory(household=rich, year=2019, wage_income=Decimal("0.01"), tekun_income=Decimal("5400.00"))
    IncomeRecordFactory(household=rich, year=2020, property_income=Decimal("1234567.89"), business_expenses=0)
    plain = HouseholdFactory(village=world.villages["V1"], household_number="4103241002010009", phone="")
    MemberFactory(household=plain, name="李四", id_number=person(1970, 3, 3, 407))


def test_an_export_re_imports_to_identical_data(world, tmp_path):
    varied_registry(world)
    clerk = world.users["county_clerk"]
    import_workbook(write_workbook(tmp_path / "more.xlsx", good_sheets()), user=clerk, commit=True)
    before = registry_snapshot()
    luanchuan = scope_to(clerk, Household.objects.all())
    assert luanchuan.count() == 5
    path = export_xlsx(luanchuan, user=clerk, path=str(tmp_path / "export.xlsx"))
    # Delete what was exported (嵩县's household stays), then import the export.
    IncomeRecord.objects.filter(household__in=luanchuan).delete()
    Member.objects.filter(household__in=luanchuan).delete()
    luanchuan.delete()

    result = import_workbook(path, user=clerk, commit=True)

    assert result.ok, [str(e) for e in result.errors]
    assert (result.households_created, result.members_created, result.incomes_created) == (5, 10, 5)
    assert registry_snapshot() == before

    again = import_workbook(path, user=clerk, commit=True)  # and over the data itself: nothing changes

    assert again.ok and (again.households_updated, again.households_created) == (5, 0)
    assert registry_snapshot() == before


def test_an_export_without_the_personal_data_permission_masks_id_numbers_and_phones(world, tmp_path):
    import_workbook(write_workbook(tmp_path / "f.xlsx", good_sheets()), user=world.users["county_clerk"], commit=True)
    township_clerk = world.users["township_clerk"]
    assert not township_clerk.has_perm("households.view_personal_data")

    path = export_xlsx(scope_to(township_clerk, Household.objects.all()), user=township_clerk)

    book = load_workbook(path)
    ids = [row[2] for row in book[MEMBER_SHEET].iter_rows(min_row=2, values_only=True)]
    phones = [row[3] for row in book[HOUSEHOLD_SHEET].iter_rows(min_row=2, values_only=True)]
    assert mask_id_number(ZHANG) in ids and ZHANG not in ids
    assert all("*" in number for number in ids)
    assert mask_phone("13937912345") in phones and "13937912345" not in phones
    assert not PersonalDataAccess.objects.exists()  # nothing revealed, nothing recorded
    Path(path).unlink()


def test_an_unmasked_export_is_recorded(world, tmp_path):
    clerk = world.users["county_clerk"]

    path = export_xlsx(scope_to(clerk, Household.objects.all()), user=clerk, request_path="/api/v1/households/export/")

    access = PersonalDataAccess.objects.get()
    assert (access.user, access.channel, access.object_ids) == (clerk, "export", [world.households["H1"].pk])
    book = load_workbook(path)
    assert book[MEMBER_SHEET]["C2"].value == world.households["H1"].members.get().id_number
    Path(path).unlink()


def test_the_csv_export_has_a_bom_and_one_row_per_member(world, tmp_path):
    clerk = world.users["county_clerk"]
    import_workbook(write_workbook(tmp_path / "f.xlsx", good_sheets()), user=clerk, commit=True)
    HouseholdFactory(village=world.villages["V1"], household_number="4103241002010077")  # no members yet

    text = "".join(export_csv_rows(scope_to(clerk, Household.objects.all()), user=clerk))

    assert text.startswith("\ufeff户编号,村代码,")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == CSV_HEADER
    numbers = [row[0] for row in rows[1:]]
    assert sorted(numbers) == sorted(["4103241002010001", HA, HA, HA, "4103241002020101", "4103241002020101",
                                      "4103241002010077"])  # fmt: skip
    head = next(row for row in rows if row[CSV_HEADER.index("身份证号")] == ZHANG)
    assert head[CSV_HEADER.index("姓名")] == "张建国" and head[CSV_HEADER.index("户状态")] == "未脱贫"


def test_text_that_looks_like_a_formula_stays_text(world, tmp_path):
    clerk = world.users["county_clerk"]
    household = world.households["H1"]
    household.address = '=HYPERLINK("http://example.com")'
    household.save()

    path = export_xlsx(Household.objects.filter(pk=household.pk), user=clerk, path=str(tmp_path / "x.xlsx"))
    text = "".join(export_csv_rows(Household.objects.filter(pk=household.pk), user=clerk))

    cell = load_workbook(path)[HOUSEHOLD_SHEET]["C2"]
    assert cell.data_type == "s" and cell.value == household.address
    assert "'=HYPERLINK" in text


def test_an_export_reaches_only_the_jurisdiction(world, tmp_path):
    clerk = world.users["songxian_clerk"]

    path = export_xlsx(scope_to(clerk, Household.objects.all()), user=clerk)

    book = load_workbook(path)
    assert [row[0] for row in book[HOUSEHOLD_SHEET].iter_rows(min_row=2, values_only=True)] == ["4103251002010001"]
    assert [row[0] for row in book[MEMBER_SHEET].iter_rows(min_row=2, values_only=True)] == ["4103251002010001"]
    Path(path).unlink()


def test_a_download_file_is_deleted_once_closed(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"data")

    handle = TemporaryExportFile(str(path))
    assert handle.read() == b"data"
    handle.close()

    assert not path.exists()


def test_the_template_has_three_sheets_an_example_row_drop_downs_and_instructions():
    book = load_workbook(io.BytesIO(template_workbook()))

    assert book.sheetnames == [HOUSEHOLD_SHEET, MEMBER_SHEET, INCOME_SHEET, "填写说明"]
    households = book[HOUSEHOLD_SHEET]
    assert [c.value for c in households[1]][:3] == ["户编号", "村代码", "住址"]
    assert households["G2"].value == "未脱贫"
    statuses = next(v for v in households.data_validations.dataValidation if "G2" in str(v.sqref))
    assert "已清退(识别不准)" in statuses.formula1
    assert [c.value for c in book[INCOME_SHEET][1]][:3] == ["户编号", "年度", "工资性收入"]
