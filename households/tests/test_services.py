"""Writes to the household file (households.services, DOMAIN.md §2): all or nothing, errors keyed by the row a
clerk must correct, and the acting user recorded on every history row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from households import services
from households.models import Household, IncomeRecord, Member
from testing.factories import HouseholdFactory, IncomeRecordFactory, MemberFactory, VillageFactory, id_number_for

pytestmark = pytest.mark.django_db

HistoricalHousehold = Household.history.model
HistoricalMember = Member.history.model
HistoricalIncomeRecord = IncomeRecord.history.model


@pytest.fixture
def clerk(django_user_model):
    return django_user_model.objects.create_user(username="luanchuan_clerk")  # no password: no slow hashing


@pytest.fixture
def village():
    return VillageFactory()


def household_fields(**overrides):
    fields = {
        "household_number": "410324101201001",
        "address": "栾川县城关镇庙子村3组",
        "phone": "13812345678",
        "identified_year": 2015,
        "primary_cause": "illness",
        "other_causes": ["lack_skills"],
    }
    fields.update(overrides)
    return fields


def member(n: int, relation: str = "child", **overrides):
    data = {"name": f"王成员{n}", "id_number": id_number_for(100 + n), "relation": relation}
    data.update(overrides)
    return data


def family():
    """A head, a spouse and two children, as a clerk would type them."""
    return [
        member(0, "head", name="王建国", id_number=id_number_for(100, birth_date=dt.date(1968, 3, 2))),
        member(1, "spouse", name="李秀英", id_number=id_number_for(101, birth_date=dt.date(1970, 8, 9), male=False)),
        member(2, "child", name="王小明", id_number=id_number_for(102, birth_date=dt.date(2006, 9, 1))),
        member(3, "child", name="王梓涵", id_number=id_number_for(103, birth_date=dt.date(2010, 1, 15), male=False)),
    ]


def row_counts() -> tuple[int, ...]:
    return (
        Household.objects.count(),
        Member.objects.count(),
        IncomeRecord.objects.count(),
        HistoricalHousehold.objects.count(),
        HistoricalMember.objects.count(),
        HistoricalIncomeRecord.objects.count(),
    )


# --- household_create --------------------------------------------------------------------------------------


def test_household_create_writes_the_household_its_members_and_incomes(clerk, village):
    household = services.household_create(
        user=clerk,
        village=village,
        members=family(),
        incomes=[
            {"year": 2015, "wage_income": Decimal("6000.00"), "business_expenses": Decimal("200.00")},
            {"year": 2016, "wage_income": Decimal("9000.00"), "dibao_income": Decimal("1200.00")},
        ],
        **household_fields(),
    )

    household.refresh_from_db()
    assert household.village == village
    assert household.household_number == "410324101201001"
    assert household.members.count() == 4
    head = household.members.get(relation="head")
    assert (head.name, head.gender, head.birth_date) == ("王建国", "male", dt.date(1968, 3, 2))
    assert household.members.get(name="李秀英").gender == "female"
    assert [(r.year, r.net_income) for r in household.incomes.order_by("year")] == [
        (2015, Decimal("5800.00")),
        (2016, Decimal("10200.00")),
    ]


def test_household_create_with_an_invalid_member_writes_nothing(clerk, village):
    members = family()
    members[2]["id_number"] = members[2]["id_number"][:17] + ("0" if members[2]["id_number"][17] != "0" else "1")
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(
            user=clerk,
            village=village,
            members=members,
            incomes=[{"year": 2015, "wage_income": Decimal("6000.00")}],
            **household_fields(),
        )

    errors = excinfo.value.error_dict
    assert list(errors) == ["members[2].id_number"]
    assert "身份证号校验位错误" in excinfo.value.message_dict["members[2].id_number"][0]
    assert row_counts() == before


def test_household_create_reports_every_invalid_row_at_once(clerk, village):
    members = family()
    members[1]["id_number"] = "123"
    members[3]["work_status"] = "in_county"
    members[3]["work_months"] = 13
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(
            user=clerk,
            village=village,
            members=members,
            incomes=[{"year": 2015, "pension_income": Decimal("-5.00")}],
            **household_fields(),
        )

    assert set(excinfo.value.error_dict) == {
        "members[1].id_number",
        "members[3].work_months",
        "incomes[0].pension_income",
    }
    assert row_counts() == before


def test_household_create_without_a_head_writes_nothing(clerk, village):
    members = [m for m in family() if m["relation"] != "head"]
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(user=clerk, village=village, members=members, **household_fields())

    assert excinfo.value.message_dict["members"] == ["每户必须有且只有一名在户的户主，户410324101201001当前有0名。"]
    assert row_counts() == before


def test_household_create_with_two_heads_writes_nothing(clerk, village):
    members = family()
    members[1]["relation"] = "head"
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(user=clerk, village=village, members=members, **household_fields())

    assert excinfo.value.message_dict["members[1].__all__"] == ["每户只能有一名在户的户主。"]
    assert row_counts() == before


def test_household_create_with_only_an_inactive_head_writes_nothing(clerk, village):
    members = family()
    members[0].update(is_active=False, left_reason="death", left_on=dt.date(2015, 2, 1))
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(user=clerk, village=village, members=members, **household_fields())

    assert "members" in excinfo.value.message_dict
    assert row_counts() == before


def test_household_create_with_a_duplicate_id_in_the_request_writes_nothing(clerk, village):
    members = family()
    members[3]["id_number"] = members[1]["id_number"].lower()
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(user=clerk, village=village, members=members, **household_fields())

    assert excinfo.value.message_dict == {"members[3].id_number": ["身份证号与第2名成员重复。"]}
    assert row_counts() == before


def test_household_create_with_an_id_active_in_another_household_writes_nothing(clerk, village):
    existing = MemberFactory(id_number=id_number_for(102, birth_date=dt.date(2006, 9, 1)))
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(user=clerk, village=village, members=family(), **household_fields())

    assert existing.id_number == family()[2]["id_number"]
    assert "身份证号" in excinfo.value.message_dict[f"members[2].{NON_FIELD_ERRORS}"][0]
    assert row_counts() == before


def test_household_create_with_a_negative_income_writes_nothing(clerk, village):
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(
            user=clerk,
            village=village,
            members=family(),
            incomes=[{"year": 2015, "wage_income": Decimal("-100.00")}],
            **household_fields(),
        )

    assert excinfo.value.message_dict == {"incomes[0].wage_income": ["金额不能为负数。"]}
    assert row_counts() == before


def test_household_create_with_an_invalid_household_field_writes_nothing(clerk, village):
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.household_create(
            user=clerk, village=village, members=family(), **household_fields(status="exited", exit_year=None)
        )

    assert excinfo.value.message_dict["exit_year"] == ["已脱贫户须填写脱贫年度。"]
    assert row_counts() == before


def test_household_create_records_the_user_on_every_history_row(clerk, village):
    household = services.household_create(
        user=clerk,
        village=village,
        members=family(),
        incomes=[{"year": 2015, "wage_income": Decimal("6000.00")}],
        **household_fields(),
    )

    household_rows = HistoricalHousehold.objects.filter(id=household.pk)
    member_rows = HistoricalMember.objects.filter(household_id=household.pk)
    income_rows = HistoricalIncomeRecord.objects.filter(household_id=household.pk)
    assert [(r.history_type, r.history_user) for r in household_rows] == [("+", clerk)]
    assert member_rows.count() == 4
    assert {r.history_user for r in member_rows} == {clerk}
    assert [r.history_user for r in income_rows] == [clerk]


# --- household_update --------------------------------------------------------------------------------------


def test_household_update_records_a_second_history_row_with_the_change(clerk, village):
    household = services.household_create(user=None, village=village, members=family(), **household_fields())

    services.household_update(user=clerk, household=household, house_safety_grade="A", relocated=True)

    rows = list(household.history.order_by("history_date", "history_id"))
    assert len(rows) == 2
    created, updated = rows
    assert (created.history_type, created.history_user) == ("+", None)
    assert (updated.history_type, updated.history_user) == ("~", clerk)
    delta = updated.diff_against(created)
    assert sorted(delta.changed_fields) == ["house_safety_grade", "relocated"]
    assert (created.house_safety_grade, updated.house_safety_grade) == ("unknown", "A")


def test_household_update_refuses_invalid_data_and_changes_nothing(clerk):
    household = HouseholdFactory(identified_year=2016)
    history_before = household.history.count()

    with pytest.raises(ValidationError) as excinfo:
        services.household_update(user=clerk, household=household, address="x" * 201)

    assert "address" in excinfo.value.message_dict
    household.refresh_from_db()
    assert household.address != "x" * 201
    assert household.history.count() == history_before


@pytest.mark.parametrize(
    "change", [{"status": "exited"}, {"exit_year": 2020}, {"identified_year": 2016}, {"status": "removed"}]
)
def test_household_update_and_replace_refuse_the_decided_fields(clerk, village, change):
    """Status and years change only by the decisions of the procedures (DOMAIN.md §5), never by an edit."""
    household = _registered(clerk, village)
    before = row_counts()
    name = next(iter(change))

    with pytest.raises(ValidationError) as updated:
        services.household_update(user=clerk, household=household, address="新地址", **change)
    with pytest.raises(ValidationError) as replaced:
        services.household_replace(
            user=clerk,
            household=household,
            members=[{"id": pk} for pk in household.members.values_list("pk", flat=True)],
            incomes=[{"year": 2015}],
            **change,
        )

    for refused in (updated, replaced):
        assert refused.value.message_dict == {name: [services.DECIDED_FIELD_MESSAGE]}
    assert row_counts() == before
    household.refresh_from_db()
    assert (household.status, household.address) == ("in_poverty", "栾川县城关镇庙子村3组")


def test_household_update_accepts_the_decided_fields_unchanged(clerk, village):
    household = _registered(clerk, village)

    services.household_update(user=clerk, household=household, status="in_poverty", identified_year=2015, address="新")

    household.refresh_from_db()
    assert household.address == "新"


def test_household_decision_apply_writes_the_decided_fields_with_the_user(clerk, village):
    household = _registered(clerk, village)

    services.household_decision_apply(
        user=clerk, household=household, status="exited", identified_year=2015, exit_year=2019
    )

    household.refresh_from_db()
    assert (household.status, household.exit_year) == ("exited", 2019)
    assert household.history.latest().history_user == clerk


@pytest.mark.parametrize("name", ["staus", "members", "created_at", "id"])
def test_household_update_refuses_unknown_or_non_editable_fields(clerk, name):
    household = HouseholdFactory()
    history_before = household.history.count()

    with pytest.raises(ValidationError) as excinfo:
        services.household_update(user=clerk, household=household, **{name: "exited"})

    assert list(excinfo.value.message_dict) == [name]
    assert Household.objects.get().status == "in_poverty"
    assert household.history.count() == history_before


# --- members -----------------------------------------------------------------------------------------------


def test_member_add_derives_gender_and_records_the_user(clerk):
    head = MemberFactory()

    added = services.member_add(
        user=clerk,
        household=head.household,
        name="王春花",
        id_number=id_number_for(200, birth_date=dt.date(2012, 5, 6), male=False),
        relation="grandchild",
    )

    assert (added.gender, added.birth_date) == ("female", dt.date(2012, 5, 6))
    assert added.history.get().history_user == clerk


def test_member_add_of_a_second_head_changes_nothing(clerk):
    head = MemberFactory()
    before = row_counts()

    with pytest.raises(ValidationError):
        services.member_add(
            user=clerk, household=head.household, name="王海峰", id_number=id_number_for(201), relation="head"
        )

    assert row_counts() == before


def test_member_update_refuses_derived_fields(clerk):
    head = MemberFactory()

    with pytest.raises(ValidationError) as excinfo:
        services.member_update(user=clerk, member=head, gender="female")

    assert list(excinfo.value.message_dict) == ["gender"]
    head.refresh_from_db()
    assert head.gender == "male"


def test_member_update_demoting_the_only_head_changes_nothing(clerk):
    head = MemberFactory()
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.member_update(user=clerk, member=head, relation="spouse")

    assert "members" in excinfo.value.message_dict
    head.refresh_from_db()
    assert head.relation == "head"
    assert row_counts() == before


def test_member_leave_of_the_head_without_a_new_head_changes_nothing(clerk):
    head = MemberFactory()
    spouse = MemberFactory(household=head.household, relation="spouse", id_number=id_number_for(300, male=False))
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.member_leave(user=clerk, member=head, left_reason="death", left_on=dt.date(2018, 4, 1))

    assert excinfo.value.message_dict == {"new_head": ["户主减少时须指定本户另一名在户成员为新户主。"]}
    head.refresh_from_db()
    spouse.refresh_from_db()
    assert (head.is_active, head.relation, head.left_reason, head.left_on) == (True, "head", "", None)
    assert spouse.relation == "spouse"
    assert row_counts() == before


def test_member_leave_of_the_head_with_a_member_of_another_household_changes_nothing(clerk):
    head = MemberFactory()
    stranger = MemberFactory(relation="child", id_number=id_number_for(301))
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.member_leave(
            user=clerk, member=head, left_reason="death", left_on=dt.date(2018, 4, 1), new_head=stranger
        )

    assert "new_head" in excinfo.value.message_dict
    stranger.refresh_from_db()
    assert stranger.relation == "child"
    assert row_counts() == before


def test_member_leave_of_the_head_with_a_new_head_transfers_the_head(clerk):
    head = MemberFactory()
    spouse = MemberFactory(household=head.household, relation="spouse", id_number=id_number_for(302, male=False))

    services.member_leave(user=clerk, member=head, left_reason="death", left_on=dt.date(2018, 4, 1), new_head=spouse)

    head.refresh_from_db()
    spouse.refresh_from_db()
    assert (head.is_active, head.left_reason, head.left_on) == (False, "death", dt.date(2018, 4, 1))
    assert spouse.relation == "head"
    assert head.household.members.filter(relation="head", is_active=True).get() == spouse
    assert spouse.history.first().history_user == clerk
    assert head.history.first().history_user == clerk


def test_member_leave_of_another_member_needs_no_new_head(clerk):
    head = MemberFactory()
    child = MemberFactory(household=head.household, relation="child", id_number=id_number_for(303))

    services.member_leave(user=clerk, member=child, left_reason="marriage_out", left_on=dt.date(2019, 10, 1))

    child.refresh_from_db()
    assert (child.is_active, child.left_reason) == (False, "marriage_out")
    assert Member.objects.get(is_active=True) == head


def test_member_leave_without_a_reason_changes_nothing(clerk):
    head = MemberFactory()
    child = MemberFactory(household=head.household, relation="child", id_number=id_number_for(304))

    with pytest.raises(ValidationError) as excinfo:
        services.member_leave(user=clerk, member=child, left_reason="", left_on=dt.date(2019, 10, 1))

    assert "left_reason" in excinfo.value.message_dict
    child.refresh_from_db()
    assert child.is_active is True


# --- income_record_save ------------------------------------------------------------------------------------


def test_income_record_save_creates_then_replaces_the_same_year(clerk):
    household = MemberFactory().household

    created = services.income_record_save(
        user=clerk, household=household, year=2017, wage_income=Decimal("5000.00"), dibao_income=Decimal("900.00")
    )
    replaced = services.income_record_save(user=clerk, household=household, year=2017, wage_income=Decimal("7000"))

    assert replaced.pk == created.pk
    assert IncomeRecord.objects.filter(household=household).count() == 1
    record = IncomeRecord.objects.get(household=household, year=2017)
    assert record.wage_income == Decimal("7000.00")
    assert record.net_income == Decimal("7900.00")
    assert [r.history_type for r in record.history.order_by("history_date", "history_id")] == ["+", "~"]


def test_income_record_save_keeps_other_years_apart(clerk):
    existing = IncomeRecordFactory(year=2016)

    services.income_record_save(user=clerk, household=existing.household, year=2017, wage_income=Decimal("1.00"))

    assert sorted(existing.household.incomes.values_list("year", flat=True)) == [2016, 2017]
    existing.refresh_from_db()
    assert existing.wage_income == Decimal("8000.00")


def test_income_record_save_refuses_unknown_fields_and_changes_nothing(clerk):
    existing = IncomeRecordFactory(year=2016)
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.income_record_save(
            user=clerk,
            household=existing.household,
            year=2016,
            wage_income=Decimal("1.00"),
            lottery_income=Decimal("100.00"),
        )

    assert excinfo.value.message_dict == {"lottery_income": ["未知的收入项目。"]}
    existing.refresh_from_db()
    assert existing.wage_income == Decimal("8000.00")
    assert row_counts() == before


def test_income_record_save_refuses_negative_amounts_and_changes_nothing(clerk):
    existing = IncomeRecordFactory(year=2016)
    before = row_counts()

    with pytest.raises(ValidationError) as excinfo:
        services.income_record_save(
            user=clerk, household=existing.household, year=2016, business_expenses=Decimal("-1.00")
        )

    assert excinfo.value.message_dict == {"business_expenses": ["金额不能为负数。"]}
    existing.refresh_from_db()
    assert existing.business_expenses == Decimal("500.00")
    assert row_counts() == before


def test_income_record_save_of_a_new_year_with_a_negative_amount_writes_nothing(clerk):
    household = HouseholdFactory()
    before = row_counts()

    with pytest.raises(ValidationError):
        services.income_record_save(user=clerk, household=household, year=2018, wage_income=Decimal("-0.01"))

    assert row_counts() == before


# --- household_replace with rows removed, household_delete, income_record_delete ---------------------------


def _registered(clerk, village) -> Household:
    return services.household_create(
        user=clerk,
        village=village,
        members=family(),
        incomes=[{"year": 2015, "wage_income": 9000}],
        **household_fields(),
    )


def test_household_replace_unchanged_writes_no_history_row(clerk, village):
    household = _registered(clerk, village)
    before = row_counts()

    services.household_replace(
        user=clerk,
        household=household,
        members=[{"id": pk} for pk in household.members.values_list("pk", flat=True)],
        incomes=[{"year": 2015}],
        **household_fields(),
    )

    assert row_counts() == before


def test_household_replace_removes_the_named_members_first(clerk, village):
    """A head entered by mistake is removed while another member becomes head, in one write."""
    household = _registered(clerk, village)
    head, spouse, *children = household.members.order_by("pk")

    services.household_replace(
        user=clerk,
        household=household,
        members=[{"id": spouse.pk, "relation": "head"}, *({"id": child.pk} for child in children)],
        incomes=[{"year": 2015}],
        remove_members=[head.pk],
    )

    assert not Member.objects.filter(pk=head.pk).exists()
    assert household.members.get(relation="head") == spouse
    assert HistoricalMember.objects.filter(id=head.pk, history_type="-").get().history_user == clerk


def test_household_replace_removing_the_head_without_another_changes_nothing(clerk, village):
    household = _registered(clerk, village)
    head, *others = household.members.order_by("pk")
    before = row_counts()

    with pytest.raises(ValidationError) as refused:
        services.household_replace(
            user=clerk,
            household=household,
            members=[{"id": member.pk} for member in others],
            incomes=[{"year": 2015}],
            remove_members=[head.pk],
        )

    assert "members" in refused.value.message_dict
    assert row_counts() == before
    assert Member.objects.filter(pk=head.pk).exists()


def test_household_delete_deletes_members_and_incomes_with_the_user_recorded(clerk, village):
    household = _registered(clerk, village)
    other = HouseholdFactory()
    pk = household.pk

    services.household_delete(user=clerk, household=household)

    assert not Household.objects.filter(pk=pk).exists()
    assert not Member.objects.filter(household_id=pk).exists()
    assert not IncomeRecord.objects.filter(household_id=pk).exists()
    deletions = [
        *HistoricalHousehold.objects.filter(id=pk, history_type="-"),
        *HistoricalMember.objects.filter(household_id=pk, history_type="-"),
        *HistoricalIncomeRecord.objects.filter(household_id=pk, history_type="-"),
    ]
    assert len(deletions) == 1 + 4 + 1
    assert {row.history_user for row in deletions} == {clerk}
    assert Household.objects.filter(pk=other.pk).exists()


def test_income_record_delete_records_the_user(clerk, village):
    household = _registered(clerk, village)
    record = household.incomes.get()

    services.income_record_delete(user=clerk, record=record)

    assert not household.incomes.exists()
    assert HistoricalIncomeRecord.objects.get(id=record.pk, history_type="-").history_user == clerk
