"""Import of household-file workbooks (issue 7): one test per kind of error, each naming the sheet, row and
column of the fault and checking that nothing was written; the annotated copy; re-import; jobs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from households.excel_columns import HOUSEHOLD_SHEET, INCOME_SHEET, MEMBER_SHEET
from households.idcard import check_character
from households.imports.annotate import annotate_workbook
from households.imports.runner import import_workbook, run_job
from households.models import Household, ImportJob, IncomeRecord, Member
from households.signals import households_bulk_written
from households.tests import (
    HA,
    HB,
    LI,
    ROW_OF_HA,
    ROW_OF_HB,
    ROW_OF_LI,
    ROW_OF_XIAOMING,
    ROW_OF_ZHANG,
    ROW_OF_ZHAO,
    XIAOMING,
    ZHANG,
    error_at,
    good_sheets,
    person,
    registry_counts,
    write_workbook,
)

pytestmark = pytest.mark.django_db


def refused(world, tmp_path, sheets, *, user="county_clerk", **options):
    """Import ``sheets`` (commit asked for) and check that it was refused with nothing written."""
    before = registry_counts()
    path = write_workbook(tmp_path / "file.xlsx", sheets, **options)
    result = import_workbook(path, user=world.users[user], commit=True)
    assert result.errors
    assert registry_counts() == before
    return result


def wrong_check_character(number: str) -> str:
    right = check_character(number[:17])
    return number[:17] + ("1" if right != "1" else "2")


# --- A clean file ---------------------------------------------------------------------------------------------


def test_a_clean_file_writes_households_members_and_incomes(world, tmp_path):
    path = write_workbook(tmp_path / "file.xlsx", good_sheets())

    dry_run = import_workbook(path, user=world.users["county_clerk"], commit=False)
    assert dry_run.ok, [str(e) for e in dry_run.errors]
    assert (dry_run.households, dry_run.members, dry_run.incomes) == (2, 5, 3)
    assert not Household.objects.filter(household_number__in=[HA, HB]).exists()  # a dry run writes nothing

    result = import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert result.ok and (result.households_created, result.members_created, result.incomes_created) == (2, 5, 3)
    household = Household.objects.get(household_number=HA)
    assert household.village.code == "410324100201"
    assert household.other_causes == ["lack_skills", "lack_capital"]
    assert household.cultivated_land_mu == Decimal("3.50")
    assert household.clarity_card_issued_on == dt.date(2016, 3, 1)
    head = household.members.get(relation="head")
    assert (head.name, head.id_number, head.gender, head.birth_date) == ("张建国", ZHANG, "male", dt.date(1965, 5, 12))
    spouse = household.members.get(id_number=LI)
    assert (spouse.health, spouse.disability_grade, spouse.gender) == ("disabled", 3, "female")
    gone = Member.objects.get(name="赵老汉")
    assert (gone.is_active, gone.left_reason, gone.left_on) == (False, "death", dt.date(2019, 12, 1))
    income = IncomeRecord.objects.get(household=household, year=2020)
    assert income.wage_income == Decimal("15000.25") and income.eco_compensation_income == Decimal("150.50")
    other = Household.objects.get(household_number=HB)
    assert (other.status, other.exit_year, other.phone) == ("exited", 2018, "0379-66881234")


# --- One test per kind of error -------------------------------------------------------------------------------


def test_an_id_number_with_a_wrong_check_character_is_reported_on_its_cell(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][1]["id_number"] = wrong_check_character(LI)

    result = refused(world, tmp_path, sheets)

    error = error_at(result, MEMBER_SHEET, ROW_OF_LI, "身份证号")
    assert "校验位" in error.message and error.column_letter == "C"


def test_an_id_number_of_the_wrong_length_is_reported_on_its_cell(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][2]["id_number"] = XIAOMING[:15]

    result = refused(world, tmp_path, sheets)

    assert "18位" in error_at(result, MEMBER_SHEET, ROW_OF_XIAOMING, "身份证号").message


def test_an_id_number_twice_in_the_file_is_reported_on_the_second_row(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][3]["id_number"] = LI  # 赵志强 of HB given 李秀英's number

    result = refused(world, tmp_path, sheets)

    error = error_at(result, MEMBER_SHEET, ROW_OF_ZHAO, "身份证号")
    assert f"第{ROW_OF_LI}行" in error.message


def test_an_id_number_active_in_another_household_of_the_registry_is_refused(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][2]["id_number"] = world.households["H1"].members.get().id_number

    result = refused(world, tmp_path, sheets)

    error = error_at(result, MEMBER_SHEET, ROW_OF_XIAOMING, "身份证号")
    assert "4103241002010001" in error.message


def test_an_unknown_village_code_is_reported_on_its_cell(world, tmp_path):
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][1]["village"] = "410324100299"

    result = refused(world, tmp_path, sheets)

    error = error_at(result, HOUSEHOLD_SHEET, ROW_OF_HB, "村代码")
    assert "410324100299" in error.message and "不存在" in error.message


def test_a_county_clerk_cannot_import_a_village_of_another_county(world, tmp_path):
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][0]["village"] = "410325100201"  # 龙王村, 嵩县

    result = refused(world, tmp_path, sheets)

    error = error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "村代码")
    assert "龙王村" in error.message and "不在您的辖区内" in error.message


def test_a_township_clerk_cannot_change_a_household_of_another_county(world, tmp_path):
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][0]["household_number"] = "4103251002010001"  # on file in 嵩县
    for row in sheets[MEMBER_SHEET][:3]:
        row["household_number"] = "4103251002010001"
    for row in sheets[INCOME_SHEET][:2]:
        row["household_number"] = "4103251002010001"

    result = refused(world, tmp_path, sheets, user="township_clerk")

    assert "辖区外" in error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "户编号").message


def test_a_household_without_a_head_is_reported_on_its_row(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][0]["relation"] = "兄弟姐妹"

    result = refused(world, tmp_path, sheets)

    error = error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "户编号")
    assert "没有在户的户主" in error.message


def test_a_household_with_two_heads_is_reported_on_both_heads(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][1]["relation"] = "户主"

    result = refused(world, tmp_path, sheets)

    for row in (ROW_OF_ZHANG, ROW_OF_LI):
        assert "2名在户的户主" in error_at(result, MEMBER_SHEET, row, "与户主关系").message


def test_a_head_who_left_does_not_count(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][0].update({"is_active": "否", "left_reason": "迁出", "left_on": "2020-01-01"})

    result = refused(world, tmp_path, sheets)

    assert "没有在户的户主" in error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "户编号").message


def test_an_unknown_label_is_reported_with_the_allowed_ones(world, tmp_path):
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][0]["status"] = "贫困"

    result = refused(world, tmp_path, sheets)

    error = error_at(result, HOUSEHOLD_SHEET, ROW_OF_HA, "户状态")
    assert "“贫困”不是可选值" in error.message and "未脱贫" in error.message
    assert len(result.errors) == 1  # no knock-on error from the unreadable cell


def test_a_negative_amount_is_reported_on_its_cell(world, tmp_path):
    sheets = good_sheets()
    sheets[INCOME_SHEET][2]["dibao_income"] = -3960

    result = refused(world, tmp_path, sheets)

    error = error_at(result, INCOME_SHEET, 4, "低保金")
    assert "不能为负数" in error.message


def test_a_missing_required_value_is_reported_on_its_cell(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][1]["name"] = None
    sheets[HOUSEHOLD_SHEET][1]["primary_cause"] = "  "

    result = refused(world, tmp_path, sheets)

    assert error_at(result, MEMBER_SHEET, ROW_OF_LI, "姓名").message == "必填项未填写。"
    assert error_at(result, HOUSEHOLD_SHEET, ROW_OF_HB, "主要致贫原因").message == "必填项未填写。"


def test_a_member_of_a_household_not_in_the_household_sheet_is_reported(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][2]["household_number"] = "4103241002019999"

    result = refused(world, tmp_path, sheets)

    assert "不在“户信息”表中" in error_at(result, MEMBER_SHEET, ROW_OF_XIAOMING, "户编号").message


def test_model_rules_are_checked_on_the_row(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][1]["disability_grade"] = None  # 残疾 without a grade
    sheets[HOUSEHOLD_SHEET][1]["exit_year"] = 2010  # before identification, and before 2013

    result = refused(world, tmp_path, sheets)

    assert "残疾等级" in error_at(result, MEMBER_SHEET, ROW_OF_LI, "残疾等级").message
    where = (HOUSEHOLD_SHEET, ROW_OF_HB, "脱贫年度")
    messages = [e.message for e in result.errors if (e.sheet, e.row, e.column) == where]
    assert "年度不能早于2013年。" in messages and "脱贫年度不能早于识别年度。" in messages


# --- Malformed files ------------------------------------------------------------------------------------------


def test_a_file_that_is_not_an_xlsx_workbook_is_refused(world, tmp_path):
    before = registry_counts()
    path = tmp_path / "file.xlsx"
    path.write_text("户编号,村代码\n4103241002010101,410324100201\n", encoding="utf-8")

    result = import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert [(e.sheet, e.row) for e in result.errors] == [("文件", 0)]
    assert "不是有效的Excel工作簿" in result.errors[0].message
    assert registry_counts() == before


def test_a_workbook_without_the_household_sheet_is_refused(world, tmp_path):
    sheets = good_sheets()
    del sheets[HOUSEHOLD_SHEET]

    result = refused(world, tmp_path, sheets)

    assert [(e.sheet, e.row) for e in result.errors] == [(HOUSEHOLD_SHEET, 0)]
    assert "缺少工作表“户信息”" in result.errors[0].message


def test_a_sheet_missing_a_required_column_is_refused(world, tmp_path):
    result = refused(world, tmp_path, good_sheets(), drop_columns={MEMBER_SHEET: {"id_number"}})

    assert [(e.sheet, e.row) for e in result.errors] == [(MEMBER_SHEET, 1)]
    assert "缺少必填列：身份证号" in result.errors[0].message


def test_the_income_sheet_is_optional(world, tmp_path):
    sheets = good_sheets()
    del sheets[INCOME_SHEET]
    path = write_workbook(tmp_path / "file.xlsx", sheets)

    result = import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert result.ok and result.incomes_created == 0
    assert Member.objects.filter(household__household_number=HA).count() == 3


def test_the_template_example_row_left_in_is_refused(world, tmp_path):
    from households.exports import template_workbook

    path = tmp_path / "template.xlsx"
    path.write_bytes(template_workbook())

    result = import_workbook(path, user=world.users["county_clerk"], commit=False)

    assert {(e.sheet, e.row) for e in result.errors} >= {(HOUSEHOLD_SHEET, 2), (MEMBER_SHEET, 2), (INCOME_SHEET, 2)}
    assert all("示例行" in e.message for e in result.errors)


# --- The annotated copy ---------------------------------------------------------------------------------------


def test_the_annotated_copy_fills_and_comments_the_faulty_cells(world, tmp_path):
    sheets = good_sheets()
    sheets[HOUSEHOLD_SHEET][0]["status"] = "贫困"
    sheets[MEMBER_SHEET][1]["id_number"] = wrong_check_character(LI)
    source = write_workbook(tmp_path / "file.xlsx", sheets)
    result = import_workbook(source, user=world.users["county_clerk"], commit=False)

    annotate_workbook(source, tmp_path / "annotated.xlsx", result.errors)

    book = load_workbook(tmp_path / "annotated.xlsx")
    status = book[HOUSEHOLD_SHEET]["G2"]
    assert status.value == "贫困" and status.fill.fgColor.rgb == "FFFFC7CE"
    assert "不是可选值" in status.comment.text
    id_cell = book[MEMBER_SHEET][f"C{ROW_OF_LI}"]
    assert id_cell.value == sheets[MEMBER_SHEET][1]["id_number"] and "校验位" in id_cell.comment.text
    untouched = book[MEMBER_SHEET][f"C{ROW_OF_ZHANG}"]
    assert untouched.value == ZHANG and untouched.comment is None
    assert book[INCOME_SHEET].max_row == 4  # every sheet copied whole


# --- Re-import and jobs ---------------------------------------------------------------------------------------


def job_for(world, tmp_path, sheets, user="county_clerk") -> ImportJob:
    from django.core.files.base import ContentFile

    path = write_workbook(tmp_path / "upload.xlsx", sheets)
    job = ImportJob(user=world.users[user], file_name="栾川县贫困户.xlsx")
    job.file.save("栾川县贫困户.xlsx", ContentFile(path.read_bytes()), save=False)
    job.save()
    return job


def test_importing_the_same_file_twice_updates_the_same_rows(world, tmp_path, django_capture_on_commit_callbacks):
    sheets = good_sheets()
    first = job_for(world, tmp_path, sheets)
    with django_capture_on_commit_callbacks(execute=True):
        run_job(first, commit=True)
    counts = registry_counts()
    household = Household.objects.get(household_number=HA)
    sheets[HOUSEHOLD_SHEET][0]["address"] = "庄子村3组13号"
    sheets[MEMBER_SHEET][0]["work_months"] = 8
    second = job_for(world, tmp_path, sheets)

    with django_capture_on_commit_callbacks(execute=True):
        run_job(second, commit=True)

    assert first.status == second.status == ImportJob.Status.COMMITTED
    assert (first.households_created, first.members_created, first.incomes_created) == (2, 5, 3)
    assert (second.households_created, second.members_created, second.incomes_created) == (0, 0, 0)
    assert (second.households_updated, second.members_updated, second.incomes_updated) == (2, 5, 3)
    for model in (Household, Member, IncomeRecord):
        assert model.objects.count() == counts[model.__name__]  # no duplicates
    household.refresh_from_db()
    assert household.address == "庄子村3组13号"
    assert Member.objects.get(id_number=ZHANG).work_months == 8
    latest = household.history.latest()
    assert latest.history_user == world.users["county_clerk"]
    assert latest.history_change_reason == f"Excel导入 #{second.pk}"
    assert latest.prev_record.history_change_reason == f"Excel导入 #{first.pk}"
    reasons = set(Member.history.filter(id_number=ZHANG).values_list("history_change_reason", flat=True))
    assert reasons == {f"Excel导入 #{first.pk}", f"Excel导入 #{second.pk}"}


def test_a_re_import_may_move_a_person_between_households_in_one_file(world, tmp_path):
    sheets = good_sheets()
    import_workbook(write_workbook(tmp_path / "a.xlsx", sheets), user=world.users["county_clerk"], commit=True)
    # 张小明 leaves HA and joins HB in the same file.
    sheets[MEMBER_SHEET][2].update({"is_active": "否", "left_reason": "迁出", "left_on": "2021-03-01"})
    sheets[MEMBER_SHEET].append({**sheets[MEMBER_SHEET][2], "household_number": HB, "relation": "其他",
                                 "is_active": "是", "left_reason": None, "left_on": None})  # fmt: skip

    result = import_workbook(write_workbook(tmp_path / "b.xlsx", sheets), user=world.users["county_clerk"], commit=True)

    assert result.ok, [str(e) for e in result.errors]
    rows = set(Member.objects.filter(id_number=XIAOMING).values_list("household__household_number", "is_active"))
    assert rows == {(HA, False), (HB, True)}


def test_members_on_file_that_the_workbook_does_not_list_are_kept(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET].append(
        {**sheets[MEMBER_SHEET][2], "household_number": "4103241002010001", "name": "王二",
         "id_number": person(1990, 6, 6, 61), "relation": "子女"}
    )  # fmt: skip
    sheets[HOUSEHOLD_SHEET].append({**sheets[HOUSEHOLD_SHEET][0], "household_number": "4103241002010001"})

    result = import_workbook(write_workbook(tmp_path / "f.xlsx", sheets), user=world.users["county_clerk"], commit=True)

    assert result.ok, [str(e) for e in result.errors]  # 王建国, on file and not in the workbook, stays the head
    names = set(world.households["H1"].members.values_list("name", flat=True))
    assert names == {"王建国", "王二"}


def test_a_dry_run_job_stores_its_report_and_an_annotated_copy(world, tmp_path):
    sheets = good_sheets()
    sheets[INCOME_SHEET][0]["wage_income"] = "一万二"
    job = job_for(world, tmp_path, sheets)

    run_job(job, commit=False)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID and job.progress == 100 and job.error_count == 1
    assert job.errors == [
        {"sheet": INCOME_SHEET, "row": 2, "column": "工资性收入", "column_letter": "C",
         "message": "应为数字，当前为“一万二”。"}
    ]  # fmt: skip
    assert job.annotated_file.name.endswith(".xlsx")
    with job.annotated_file.open("rb") as handle:
        assert load_workbook(handle)[INCOME_SHEET]["C2"].comment is not None


def test_an_unreadable_file_gets_no_annotated_copy(world, tmp_path):
    from django.core.files.base import ContentFile

    job = ImportJob(user=world.users["county_clerk"], file_name="坏文件.xlsx")
    job.file.save("坏文件.xlsx", ContentFile(b"PK\x03\x04 not really a zip"), save=False)
    job.save()

    run_job(job, commit=False)

    assert job.status == ImportJob.Status.INVALID and not job.annotated_file


def test_the_reader_takes_shared_strings_dates_and_numbers_as_excel_writes_them(world, tmp_path):
    """openpyxl's normal mode writes shared strings and styled dates, as Excel does (not inline strings)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets = good_sheets()
    path = write_workbook(tmp_path / "excel.xlsx", sheets)
    workbook = load_workbook(path)
    workbook[HOUSEHOLD_SHEET]["V2"].number_format = 'yyyy"年"m"月"d"日"'
    workbook.save(path)

    result = import_workbook(path, user=world.users["county_clerk"], commit=True)

    assert result.ok
    assert Household.objects.get(household_number=HA).clarity_card_issued_on == dt.date(2016, 3, 1)


def test_the_task_is_safe_to_run_twice(world, tmp_path, django_capture_on_commit_callbacks):
    from households.tasks import run_import

    sheets = good_sheets()
    sheets[INCOME_SHEET][0]["year"] = 2012  # refused: before 精准扶贫
    invalid = job_for(world, tmp_path, sheets)
    assert run_import(invalid.pk) == "invalid"
    before = registry_counts()

    assert run_import(invalid.pk, commit=True) == "invalid"  # a refused file is never committed
    assert run_import(invalid.pk) == "invalid"  # a redelivered dry run does nothing

    valid = job_for(world, tmp_path, good_sheets())
    run_import(valid.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_import(valid.pk, commit=True) == "committed"
    assert run_import(valid.pk, commit=True) == "committed"
    assert run_import(valid.pk) == "committed"
    assert registry_counts()["Member"] == before["Member"] + 5
    assert run_import(999999) == "gone"


def test_an_id_number_twice_in_one_household_is_refused_even_for_a_member_who_left(world, tmp_path):
    sheets = good_sheets()
    sheets[MEMBER_SHEET].append({**sheets[MEMBER_SHEET][1], "is_active": "否", "left_reason": "迁出",
                                 "left_on": "2020-01-01"})  # fmt: skip

    result = refused(world, tmp_path, sheets)

    error = error_at(result, MEMBER_SHEET, ROW_OF_ZHAO + 2, "身份证号")
    assert f"户{HA}中已有此身份证号（第{ROW_OF_LI}行）" in error.message


# --- The households_bulk_written signal -----------------------------------------------------------------------


@pytest.fixture
def bulk_written():
    """The households_bulk_written signals sent during a test, as their keyword arguments."""
    sent: list[dict] = []

    def receive(sender, **kwargs) -> None:
        sent.append({"sender": sender, "household_ids": kwargs["household_ids"], "years": kwargs["years"]})

    households_bulk_written.connect(receive, dispatch_uid="test_imports.bulk_written")
    yield sent
    households_bulk_written.disconnect(dispatch_uid="test_imports.bulk_written")


def test_a_committed_import_sends_households_bulk_written_after_the_commit(
    world, tmp_path, bulk_written, django_capture_on_commit_callbacks
):
    path = write_workbook(tmp_path / "file.xlsx", good_sheets())

    with django_capture_on_commit_callbacks(execute=True):
        import_workbook(path, user=world.users["county_clerk"], commit=False)
        assert bulk_written == []
        result = import_workbook(path, user=world.users["county_clerk"], commit=True)
        assert bulk_written == []  # not before the commit

    ids = sorted(Household.objects.filter(household_number__in=[HA, HB]).values_list("pk", flat=True))
    assert result.household_ids == ids
    assert bulk_written == [{"sender": Household, "household_ids": ids, "years": [2019, 2020]}]


def test_a_refused_import_sends_nothing(world, tmp_path, bulk_written, django_capture_on_commit_callbacks):
    sheets = good_sheets()
    sheets[MEMBER_SHEET][0]["relation"] = "子女"

    with django_capture_on_commit_callbacks(execute=True):
        refused(world, tmp_path, sheets)

    assert bulk_written == []
