"""Single-model invariants of the geography and the household file (DOMAIN.md §1, §2): every rule is refused
by ``full_clean`` with a Chinese message on the right field, and, where the database can hold it, by a
constraint that also stops a direct save that bypasses validation. Nothing is saved when refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from households import choices
from households.idcard import parse_id_number
from households.models import Household, IncomeRecord, Member
from testing.factories import (
    CountyFactory,
    HouseholdFactory,
    IncomeRecordFactory,
    MemberFactory,
    TownshipFactory,
    VillageFactory,
    id_number_for,
)
from villages.models import County, Township, Village

pytestmark = pytest.mark.django_db


def messages_of(excinfo, field: str) -> list[str]:
    return excinfo.value.message_dict.get(field, [])


def save_bypassing_clean(instance) -> None:
    """A direct save, as a bulk import or a careless script would do; the database must still refuse."""
    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()


# --- Geography (DOMAIN.md §1) ------------------------------------------------------------------------------

BAD_COUNTY_CODES = ["41032", "4103245", "", "41032a", "41 324", "４１０３２４"]
# Codes the database column itself can hold (no longer than max_length), for the direct-save checks.
BAD_COUNTY_CODES_FOR_DB = ["41032", "41032a", "41 324", "４１０３２４"]


@pytest.mark.parametrize("code", BAD_COUNTY_CODES)
def test_county_code_not_six_digits_is_refused_by_full_clean(code):
    county = County(code=code, name="栾川县")

    with pytest.raises(ValidationError) as excinfo:
        county.full_clean()

    assert f"县级代码应为6位数字（国家行政区划代码），当前为“{code}”。" in messages_of(excinfo, "code")
    assert County.objects.count() == 0


@pytest.mark.parametrize("code", BAD_COUNTY_CODES_FOR_DB)
def test_county_code_not_six_digits_is_refused_by_the_database(code):
    save_bypassing_clean(County(code=code, name="栾川县"))
    assert County.objects.count() == 0


def test_six_digit_county_code_is_accepted():
    county = County(code="410324", name="栾川县")
    county.full_clean()
    county.save()
    assert County.objects.get().code == "410324"


@pytest.mark.parametrize("code", ["41032410", "4103241001", "41032410a", "４１０３２４１０１"])
def test_township_code_not_nine_digits_is_refused(code):
    county = CountyFactory()

    with pytest.raises(ValidationError) as excinfo:
        Township(code=code, name="城关镇", county=county).full_clean()

    assert f"乡镇代码应为9位数字（国家行政区划代码），当前为“{code}”。" in messages_of(excinfo, "code")
    assert Township.objects.count() == 0


@pytest.mark.parametrize("code", ["41032410", "41032410a"])
def test_township_code_not_nine_digits_is_refused_by_the_database(code):
    save_bypassing_clean(Township(code=code, name="城关镇", county=CountyFactory()))
    assert Township.objects.count() == 0


def test_township_code_must_start_with_its_county_code():
    county = CountyFactory(code="410324")

    with pytest.raises(ValidationError) as excinfo:
        Township(code="410325101", name="城关镇", county=county).full_clean()

    assert messages_of(excinfo, "code") == ["乡镇代码“410325101”应以所属县代码“410324”开头。"]
    assert Township.objects.count() == 0


@pytest.mark.parametrize("code", ["41032410120", "4103241012001", "41032410120a", "410324101 01"])
def test_village_code_not_twelve_digits_is_refused(code):
    township = TownshipFactory(code="410324101")

    with pytest.raises(ValidationError) as excinfo:
        Village(code=code, name="庙子村", township=township).full_clean()

    assert f"村代码应为12位数字（国家行政区划代码），当前为“{code}”。" in messages_of(excinfo, "code")
    assert Village.objects.count() == 0


@pytest.mark.parametrize("code", ["41032410120", "41032410120a"])
def test_village_code_not_twelve_digits_is_refused_by_the_database(code):
    township = TownshipFactory(code="410324101")
    save_bypassing_clean(Village(code=code, name="庙子村", township=township))
    assert Village.objects.count() == 0


def test_village_code_must_start_with_its_township_code():
    township = TownshipFactory(code="410324101")

    with pytest.raises(ValidationError) as excinfo:
        Village(code="410324102201", name="庙子村", township=township).full_clean()

    assert messages_of(excinfo, "code") == ["村代码“410324102201”应以所属乡镇代码“410324101”开头。"]
    assert Village.objects.count() == 0


def test_village_county_is_derived_from_its_township_on_full_clean():
    township = TownshipFactory(county=CountyFactory(code="410325", name="嵩县"), code="410325101")
    village = Village(code="410325101201", name="车村", township=township)

    village.full_clean()

    assert village.county_id == township.county_id


def test_village_county_is_derived_from_its_township_on_save_even_when_given_another():
    luanchuan = CountyFactory(code="410324", name="栾川县")
    song = CountyFactory(code="410325", name="嵩县")
    township = TownshipFactory(county=song, code="410325101")

    village = Village(code="410325101201", name="车村", township=township, county=luanchuan)
    village.save()

    village.refresh_from_db()
    assert village.county == song


def test_village_collective_income_cannot_be_negative():
    village = VillageFactory()
    village.collective_income_yuan = Decimal("-1.00")

    with pytest.raises(ValidationError) as excinfo:
        village.full_clean()
    assert "collective_income_yuan" in excinfo.value.message_dict

    save_bypassing_clean(village)
    village.refresh_from_db()
    assert village.collective_income_yuan == Decimal("0.00")


# --- Members (DOMAIN.md §2, §8) ----------------------------------------------------------------------------


def test_member_gender_and_birth_date_are_derived_from_the_id_number():
    household = HouseholdFactory()
    number = id_number_for(7, birth_date=dt.date(1962, 4, 5), male=False)
    member = Member(household=household, name="李桂兰", id_number=number, relation=choices.Relation.HEAD)

    member.full_clean()

    assert member.gender == choices.Gender.FEMALE
    assert member.birth_date == dt.date(1962, 4, 5)


def test_member_typed_gender_and_birth_date_are_overwritten_by_the_id_number():
    household = HouseholdFactory()
    number = id_number_for(8, birth_date=dt.date(1958, 11, 20), male=True)
    member = Member(
        household=household,
        name="王建国",
        id_number=number,
        relation=choices.Relation.HEAD,
        gender=choices.Gender.FEMALE,
        birth_date=dt.date(2000, 1, 1),
    )

    member.full_clean()

    assert (member.gender, member.birth_date) == (choices.Gender.MALE, dt.date(1958, 11, 20))


def test_member_lowercase_x_is_stored_upper_case():
    household = HouseholdFactory()
    number = "11010519491231002X"
    member = Member(household=household, name="赵秀英", id_number=number.lower(), relation=choices.Relation.HEAD)

    member.full_clean()
    member.save()

    assert Member.objects.get().id_number == number


def test_member_with_invalid_id_number_reports_only_the_id_number():
    household = HouseholdFactory()
    member = Member(household=household, name="王建国", id_number="410324195801010010", relation="head")

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    errors = excinfo.value.message_dict
    assert errors["id_number"] == ["身份证号校验位错误：最后一位应为1，请核对号码。"]
    assert "gender" not in errors
    assert "birth_date" not in errors
    assert Member.objects.count() == 0


def test_member_with_invalid_id_number_still_reports_other_field_errors():
    household = HouseholdFactory()
    member = Member(household=household, name="", id_number="123", relation="head")

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert set(excinfo.value.message_dict) >= {"id_number", "name"}


def test_id_number_active_in_another_household_is_refused():
    first = MemberFactory(id_number=id_number_for(11))
    other_household = HouseholdFactory()
    duplicate = Member(household=other_household, name="李小明", id_number=first.id_number, relation="head")

    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()

    assert any("身份证号" in message for message in excinfo.value.messages)
    assert Member.objects.count() == 1


def test_id_number_active_in_another_household_is_refused_by_the_database():
    first = MemberFactory(id_number=id_number_for(12))
    duplicate = Member(
        household=HouseholdFactory(),
        name="李小明",
        id_number=first.id_number,
        relation="head",
        gender=first.gender,
        birth_date=first.birth_date,
    )

    save_bypassing_clean(duplicate)
    assert Member.objects.count() == 1


def test_id_number_of_an_inactive_member_may_be_registered_again():
    first = MemberFactory(id_number=id_number_for(13), relation=choices.Relation.CHILD)
    first.is_active = False
    first.left_reason = choices.LeftReason.MARRIAGE_OUT
    first.left_on = dt.date(2017, 3, 1)
    first.full_clean()
    first.save()
    newcomer = Member(household=HouseholdFactory(), name="李红霞", id_number=first.id_number, relation="head")

    newcomer.full_clean()
    newcomer.save()

    assert Member.objects.filter(id_number=first.id_number).count() == 2
    assert Member.objects.filter(id_number=first.id_number, is_active=True).get() == newcomer


def test_second_active_head_is_refused_by_full_clean():
    head = MemberFactory(relation=choices.Relation.HEAD)
    second = Member(household=head.household, name="张志强", id_number=id_number_for(21), relation="head")

    with pytest.raises(ValidationError) as excinfo:
        second.full_clean()

    assert excinfo.value.message_dict[NON_FIELD_ERRORS] == ["每户只能有一名在户的户主。"]
    assert Member.objects.count() == 1


def test_second_active_head_is_refused_by_the_database():
    head = MemberFactory(relation=choices.Relation.HEAD)
    parsed = parse_id_number(id_number_for(23))
    second = Member(
        household=head.household,
        name="张志强",
        id_number=parsed.number,
        relation="head",
        gender=parsed.gender,
        birth_date=parsed.birth_date,
    )

    save_bypassing_clean(second)
    assert head.household.members.count() == 1


def test_a_new_head_may_be_added_once_the_old_head_is_inactive():
    head = MemberFactory(relation=choices.Relation.HEAD)
    head.is_active = False
    head.left_reason = choices.LeftReason.DEATH
    head.left_on = dt.date(2018, 5, 4)
    head.save()
    successor = Member(household=head.household, name="张玉梅", id_number=id_number_for(24), relation="head")

    successor.full_clean()
    successor.save()

    assert head.household.members.filter(relation="head", is_active=True).get() == successor


def test_heads_of_different_households_do_not_conflict():
    MemberFactory(relation=choices.Relation.HEAD)
    other = Member(household=HouseholdFactory(), name="高国庆", id_number=id_number_for(25), relation="head")
    other.full_clean()
    other.save()
    assert Member.objects.filter(relation="head").count() == 2


@pytest.mark.parametrize("months", [13, 24])
def test_work_months_above_twelve_are_refused(months):
    member = MemberFactory.build(household=HouseholdFactory(), work_status="in_county", work_months=months)

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert "务工时间为0–12个月。" in messages_of(excinfo, "work_months")
    assert Member.objects.count() == 0


def test_negative_work_months_are_refused():
    member = MemberFactory.build(household=HouseholdFactory(), work_status="in_county", work_months=-1)

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert "务工时间为0–12个月。" in messages_of(excinfo, "work_months")
    assert Member.objects.count() == 0


@pytest.mark.parametrize("months", [13, -1])
def test_work_months_outside_0_to_12_are_refused_by_the_database(months):
    member = MemberFactory()
    member.work_status = "out_of_province"
    member.work_months = months

    save_bypassing_clean(member)
    member.refresh_from_db()
    assert member.work_months == 0


@pytest.mark.parametrize("months", [0, 12])
def test_work_months_at_the_edges_are_accepted(months):
    member = MemberFactory.build(household=HouseholdFactory(), work_status="out_of_province", work_months=months)
    member.full_clean()
    member.save()
    assert Member.objects.get().work_months == months


def test_work_months_without_work_status_are_refused():
    member = MemberFactory.build(household=HouseholdFactory(), work_status="none", work_months=3)

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert messages_of(excinfo, "work_months") == ["未务工的成员务工时间应为0个月。"]


@pytest.mark.parametrize(
    ("health", "grade", "message"),
    [
        ("disabled", None, "残疾成员须填写残疾等级（1–4级）。"),
        ("healthy", 2, "只有健康状况为“残疾”的成员才填写残疾等级。"),
        ("chronic", 1, "只有健康状况为“残疾”的成员才填写残疾等级。"),
        ("disabled", 5, "残疾等级为1–4级。"),
        ("disabled", 0, "残疾等级为1–4级。"),
    ],
)
def test_disability_grade_rules(health, grade, message):
    member = MemberFactory.build(household=HouseholdFactory(), health=health, disability_grade=grade)

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert message in messages_of(excinfo, "disability_grade")
    assert Member.objects.count() == 0


@pytest.mark.parametrize("grade", [1, 4])
def test_disabled_member_with_grade_1_to_4_is_accepted(grade):
    member = MemberFactory.build(household=HouseholdFactory(), health="disabled", disability_grade=grade)
    member.full_clean()
    member.save()
    assert Member.objects.get().disability_grade == grade


def test_disability_grade_above_four_is_refused_by_the_database():
    member = MemberFactory(health="disabled", disability_grade=2)
    member.disability_grade = 5

    save_bypassing_clean(member)
    member.refresh_from_db()
    assert member.disability_grade == 2


@pytest.mark.parametrize(
    ("left_reason", "left_on", "field", "message"),
    [
        ("", dt.date(2018, 1, 1), "left_reason", "成员不在户时须填写减少原因。"),
        ("death", None, "left_on", "成员不在户时须填写减少日期。"),
    ],
)
def test_inactive_member_needs_left_reason_and_left_on(left_reason, left_on, field, message):
    member = MemberFactory(relation="child")
    member.is_active = False
    member.left_reason = left_reason
    member.left_on = left_on

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert messages_of(excinfo, field) == [message]
    member.refresh_from_db()
    assert member.is_active is True


def test_active_member_with_a_left_reason_is_refused():
    member = MemberFactory.build(household=HouseholdFactory(), left_reason="moved_out")

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert messages_of(excinfo, "is_active") == ["填写了减少原因或日期的成员应标记为不在户。"]


def test_member_age_counts_whole_years():
    member = MemberFactory(id_number=id_number_for(31, birth_date=dt.date(2004, 2, 29)))
    assert member.age_on(dt.date(2019, 2, 28)) == 14
    assert member.age_on(dt.date(2019, 3, 1)) == 15
    assert member.age_on(dt.date(2020, 2, 29)) == 16


def test_member_masked_id_number_hides_the_birth_date():
    member = MemberFactory(id_number=id_number_for(32, birth_date=dt.date(1975, 7, 7)))
    assert member.masked_id_number == member.id_number[:6] + "********" + member.id_number[-4:]


# --- Households (DOMAIN.md §2) -----------------------------------------------------------------------------


def test_exited_household_needs_an_exit_year():
    household = HouseholdFactory.build(village=VillageFactory(), status="exited", exit_year=None)

    with pytest.raises(ValidationError) as excinfo:
        household.full_clean()

    assert messages_of(excinfo, "exit_year") == ["已脱贫户须填写脱贫年度。"]
    assert Household.objects.count() == 0


def test_exited_household_with_an_exit_year_is_accepted():
    household = HouseholdFactory.build(village=VillageFactory(), status="exited", identified_year=2015, exit_year=2017)
    household.full_clean()
    household.save()
    assert Household.objects.get().exit_year == 2017


def test_exit_year_before_identified_year_is_refused():
    household = HouseholdFactory.build(village=VillageFactory(), status="exited", identified_year=2016, exit_year=2015)

    with pytest.raises(ValidationError) as excinfo:
        household.full_clean()

    assert "脱贫年度不能早于识别年度。" in messages_of(excinfo, "exit_year")
    assert Household.objects.count() == 0


def test_exit_year_before_identified_year_is_refused_by_the_database():
    household = HouseholdFactory(identified_year=2016)
    household.status = "exited"
    household.exit_year = 2015

    save_bypassing_clean(household)
    household.refresh_from_db()
    assert (household.status, household.exit_year) == ("in_poverty", None)


@pytest.mark.parametrize(
    ("other_causes", "shown"),
    [
        (["lack_skills", "bad_luck"], "bad_luck"),
        (["因病"], "因病"),
        ("illness", "illness"),
        (5, "5"),
        (None, "None"),
    ],
)
def test_unknown_other_causes_are_refused(other_causes, shown):
    household = HouseholdFactory.build(village=VillageFactory(), other_causes=other_causes)

    with pytest.raises(ValidationError) as excinfo:
        household.full_clean()

    assert messages_of(excinfo, "other_causes") == [f"其他致贫原因包含无效值：{shown}。"]
    assert Household.objects.count() == 0


def test_other_causes_drop_duplicates_and_the_primary_cause_keeping_order():
    household = HouseholdFactory.build(
        village=VillageFactory(),
        primary_cause="illness",
        other_causes=["lack_skills", "illness", "lack_capital", "lack_skills", "education"],
    )

    household.full_clean()
    household.save()

    household.refresh_from_db()
    assert household.other_causes == ["lack_skills", "lack_capital", "education"]


@pytest.mark.parametrize("field", ["cultivated_land_mu", "forest_land_mu"])
def test_negative_land_is_refused(field):
    household = HouseholdFactory()
    setattr(household, field, Decimal("-0.50"))

    with pytest.raises(ValidationError) as excinfo:
        household.full_clean()
    assert messages_of(excinfo, field) == ["面积不能为负数。"]

    save_bypassing_clean(household)
    household.refresh_from_db()
    assert getattr(household, field) == Decimal("0.00")


def test_identified_year_before_the_campaign_is_refused():
    household = HouseholdFactory.build(village=VillageFactory(), identified_year=2012)

    with pytest.raises(ValidationError) as excinfo:
        household.full_clean()

    assert messages_of(excinfo, "identified_year") == ["年度不能早于2013年。"]


def test_phone_with_letters_is_refused():
    household = HouseholdFactory.build(village=VillageFactory(), phone="138abc")

    with pytest.raises(ValidationError) as excinfo:
        household.full_clean()

    assert messages_of(excinfo, "phone") == ["联系电话只能包含数字和“-”。"]


def test_household_masked_phone():
    assert HouseholdFactory.build(phone="13812345678").masked_phone == "138****5678"


# --- Yearly income (DOMAIN.md §2) --------------------------------------------------------------------------


@pytest.mark.parametrize("field", IncomeRecord.AMOUNT_FIELDS)
def test_negative_money_is_refused_by_full_clean(field):
    household = HouseholdFactory()
    record = IncomeRecord(household=household, year=2016, **{field: Decimal("-0.01")})

    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()

    assert messages_of(excinfo, field) == ["金额不能为负数。"]
    assert IncomeRecord.objects.count() == 0


@pytest.mark.parametrize("field", IncomeRecord.AMOUNT_FIELDS)
def test_negative_money_is_refused_by_the_database(field):
    household = HouseholdFactory()

    save_bypassing_clean(IncomeRecord(household=household, year=2016, **{field: Decimal("-0.01")}))
    assert IncomeRecord.objects.count() == 0


def test_zero_income_is_accepted():
    record = IncomeRecord(household=HouseholdFactory(), year=2016)
    record.full_clean()
    record.save()
    assert IncomeRecord.objects.get().net_income == Decimal("0.00")


def test_second_income_record_for_the_same_year_is_refused():
    first = IncomeRecordFactory(year=2016)
    second = IncomeRecord(household=first.household, year=2016, wage_income=Decimal("100.00"))

    with pytest.raises(ValidationError) as excinfo:
        second.full_clean()

    assert "该户此年度已有收入记录，每户每年只能有一条。" in excinfo.value.messages
    assert IncomeRecord.objects.count() == 1


def test_second_income_record_for_the_same_year_is_refused_by_the_database():
    first = IncomeRecordFactory(year=2016)

    save_bypassing_clean(IncomeRecord(household=first.household, year=2016))
    assert IncomeRecord.objects.count() == 1


def test_income_records_of_other_years_and_other_households_are_accepted():
    first = IncomeRecordFactory(year=2016)
    for record in (
        IncomeRecord(household=first.household, year=2017),
        IncomeRecord(household=HouseholdFactory(), year=2016),
    ):
        record.full_clean()
        record.save()
    assert IncomeRecord.objects.count() == 3


def test_income_year_before_the_campaign_is_refused():
    record = IncomeRecord(household=HouseholdFactory(), year=2012)
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert messages_of(excinfo, "year") == ["年度不能早于2013年。"]


def test_net_income_is_all_incomes_minus_business_expenses():
    record = IncomeRecord(
        year=2016,
        wage_income=Decimal("6000.00"),
        business_income=Decimal("2500.50"),
        property_income=Decimal("300.00"),
        family_planning_income=Decimal("960.00"),
        dibao_income=Decimal("1200.00"),
        tekun_income=Decimal("0.25"),
        pension_income=Decimal("1080.00"),
        eco_compensation_income=Decimal("150.00"),
        other_transfer_income=Decimal("10.01"),
        business_expenses=Decimal("800.75"),
    )

    assert record.transfer_income == Decimal("3400.26")
    assert record.net_income == Decimal("11400.01")  # 6000 + 2500.50 + 300 + 3400.26 − 800.75


def test_net_income_may_be_negative_when_expenses_exceed_income():
    record = IncomeRecord(year=2016, business_income=Decimal("1000.00"), business_expenses=Decimal("1500.00"))
    assert record.transfer_income == Decimal("0.00")
    assert record.net_income == Decimal("-500.00")
