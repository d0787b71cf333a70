"""Computing and storing assessments (assessments.services) and recomputing them on commit (signals, tasks)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from assessments import batch, facts, rules, selectors, services, store
from assessments.models import Assessment, LineKind, PovertyLine
from households import choices
from households.models import Household
from testing.factories import (
    CountyFactory,
    HouseholdFactory,
    IncomeRecordFactory,
    MemberFactory,
    VillageFactory,
    id_number_for,
)

pytestmark = pytest.mark.django_db

YEAR = 2015
COMPARED_FIELDS = (
    "year",
    "is_current",
    "eligible",
    "income_passed",
    "food_passed",
    "clothing_passed",
    "education_passed",
    "medical_passed",
    "housing_passed",
    "water_passed",
    "criteria",
    "warnings",
    "household_size",
    "per_capita_net_income",
    "poverty_line",
    "rules_version",
    "fingerprint",
)
_ids = itertools.count(7000)


def member(household: Household, *, birth_date: dt.date | None = None, **fields):
    """A member that is not the head; ``birth_date`` goes into a fresh valid ID number."""
    fields.setdefault("relation", choices.Relation.CHILD)
    n = next(_ids)
    return MemberFactory(household=household, id_number=id_number_for(n, birth_date=birth_date), **fields)


def household(*, size: int = 2, net: str | None = "9500.00", year: int = YEAR, **fields) -> Household:
    """A household with a head, ``size - 1`` other adults and an income record for ``year`` (wage = net)."""
    home = HouseholdFactory(**fields)
    MemberFactory(household=home)
    for index in range(size - 1):
        member(home, relation=choices.Relation.SPOUSE if index == 0 else choices.Relation.SIBLING)
    if net is not None:
        IncomeRecordFactory(household=home, year=year, wage_income=Decimal(net), business_income=0, business_expenses=0)
    return home


def current(home: Household, year: int = YEAR) -> Assessment:
    return Assessment.objects.get(household=home, year=year, is_current=True)


def snapshot(homes: list[Household], year: int = YEAR) -> dict[int, dict]:
    rows = Assessment.objects.filter(household__in=homes, year=year, is_current=True).values(
        "household_id", *COMPARED_FIELDS
    )
    return {row.pop("household_id"): row for row in rows}


@pytest.fixture
def varied_households() -> list[Household]:
    """One household per way of passing or failing, in two counties (one with its own, higher line)."""
    song_county = VillageFactory(township__county=CountyFactory(code="410325", name="嵩县"))
    PovertyLine.objects.create(year=YEAR, region_code="410325", region_name="嵩县", amount=Decimal("3535.00"))
    passing = household()
    dropout = household()
    member(dropout, name="张小明", birth_date=dt.date(2003, 3, 15), school_status=choices.SchoolStatus.DROPOUT)
    exempt = household(size=1)
    member(
        exempt,
        name="张小红",
        birth_date=dt.date(2006, 5, 4),
        school_status=choices.SchoolStatus.NOT_APPLICABLE,
        health=choices.Health.DISABLED,
        disability_grade=2,
    )
    uninsured = household()
    member(uninsured, name="刘春花", serious_illness_insurance=False, health=choices.Health.SERIOUS_ILLNESS)
    leaver = household(size=3, net="12000.00")
    member(
        leaver,
        medical_insurance=False,
        is_active=False,
        left_reason=choices.LeftReason.MARRIAGE_OUT,
        left_on=dt.date(2015, 5, 1),
    )
    unsafe = household(house_safety_grade=choices.HouseSafetyGrade.D)
    relocated = household(house_safety_grade=choices.HouseSafetyGrade.C, relocated=True)
    no_income = household(net=None)
    no_water = household(water_guaranteed=False, food_secure=False)
    fragile = household(size=1, net="3000.00")
    song_fragile = household(size=1, net="3000.00", village=song_county)
    transfers = household(size=1)
    transfers.incomes.update(wage_income=0, dibao_income=Decimal("3000"), pension_income=Decimal("1000"))
    return [
        passing,
        dropout,
        exempt,
        uninsured,
        leaver,
        unsafe,
        relocated,
        no_income,
        no_water,
        fragile,
        song_fragile,
        transfers,
    ]


# --- the batch path and the single path -------------------------------------------------------------


def test_the_batch_path_and_the_single_path_store_the_same_assessments(varied_households):
    ids = [h.pk for h in varied_households]
    summary = services.assess_households(household_ids=ids, year=YEAR)
    assert (summary.assessed, summary.changed) == (len(ids), len(ids))
    batch = snapshot(varied_households)

    Assessment.objects.all().delete()
    for home in varied_households:
        services.household_assess(household=home, year=YEAR)
    single = snapshot(varied_households)

    assert single == batch
    assert len(batch) == len(ids)


def test_the_stored_verdicts_are_the_expected_ones(varied_households):
    services.assess_households(household_ids=[h.pk for h in varied_households], year=YEAR)
    (passing, dropout, exempt, uninsured, leaver, unsafe, relocated, no_income, no_water, fragile, song, transfers) = [
        current(h) for h in varied_households
    ]
    assert passing.eligible and passing.failed_criteria == [] and passing.warning_codes == []
    assert passing.per_capita_net_income == Decimal("4750.00")
    assert passing.poverty_line == Decimal("2855.00")
    assert dropout.failed_criteria == ["education"]
    assert "张小明（12岁）辍学" in dropout.criteria[3]["message"]
    assert exempt.eligible and exempt.warning_codes == ["education_exempt"]
    assert uninsured.failed_criteria == ["medical"] and uninsured.warning_codes == ["illness_risk"]
    assert leaver.eligible and leaver.household_size == 3
    assert leaver.per_capita_net_income == Decimal("4000.00")
    assert unsafe.failed_criteria == ["housing"]
    assert relocated.eligible
    assert no_income.failed_criteria == ["income"] and no_income.per_capita_net_income is None
    assert no_water.failed_criteria == ["food", "water"]
    assert fragile.eligible and fragile.warning_codes == ["fragile_income"]
    assert song.failed_criteria == ["income"] and song.poverty_line == Decimal("3535.00")
    assert transfers.eligible and transfers.warning_codes == ["transfer_dependent"]


def test_the_per_criterion_columns_mirror_the_stored_criteria(varied_households):
    services.assess_households(household_ids=[h.pk for h in varied_households], year=YEAR)
    for assessment in Assessment.objects.filter(is_current=True):
        passed = {c["criterion"]: c["passed"] for c in assessment.criteria}
        assert list(passed) == list(rules.CRITERIA)
        assert {slug: getattr(assessment, f"{slug}_passed") for slug in rules.CRITERIA} == passed
        assert assessment.eligible is all(passed.values())
        assert assessment.rules_version == rules.RULES_VERSION


def test_the_single_path_writes_nothing_after_the_batch_path_stored_the_same_inputs(varied_households):
    services.assess_households(household_ids=[h.pk for h in varied_households], year=YEAR)
    before = {a.household_id: a.pk for a in Assessment.objects.all()}
    for home in varied_households:
        assert services.household_assess(household=home, year=YEAR).pk == before[home.pk]
    assert Assessment.objects.count() == len(before)


# --- idempotence and history ------------------------------------------------------------------------


def test_running_the_batch_twice_writes_nothing_the_second_time(varied_households):
    ids = [h.pk for h in varied_households]
    services.assess_households(household_ids=ids, year=YEAR)
    rows = {a.pk: (a.household_id, a.fingerprint, a.computed_at) for a in Assessment.objects.all()}

    second = services.assess_households(household_ids=ids, year=YEAR)

    assert (second.assessed, second.changed) == (len(ids), 0)
    assert {a.pk: (a.household_id, a.fingerprint, a.computed_at) for a in Assessment.objects.all()} == rows
    assert Assessment.objects.filter(is_current=True).count() == len(ids)


def test_changing_an_income_record_writes_exactly_one_new_current_row():
    home = household(size=1, net="9500.00")
    other = household()
    services.assess_households(household_ids=[home.pk, other.pk], year=YEAR)
    first, other_first = current(home), current(other)
    assert first.income_passed

    home.incomes.update(wage_income=Decimal("2000.00"))
    summary = services.assess_households(household_ids=[home.pk, other.pk], year=YEAR)

    assert summary.changed == 1
    second = current(home)
    assert second.pk != first.pk
    assert not second.income_passed and second.per_capita_net_income == Decimal("2000.00")
    first.refresh_from_db()
    assert first.is_current is False
    assert Assessment.objects.filter(household=home, year=YEAR).count() == 2
    assert current(other).pk == other_first.pk


def test_a_new_rules_version_rewrites_every_household(varied_households):
    ids = [h.pk for h in varied_households]
    services.assess_households(household_ids=ids, year=YEAR)
    with mock.patch.object(rules, "RULES_VERSION", "test.next"):
        assert services.assess_households(household_ids=ids, year=YEAR).changed == len(ids)


# --- poverty lines ------------------------------------------------------------------------------------


def test_a_county_line_overrides_the_national_line_for_that_county_only():
    luanchuan = household(size=1, net="3000.00")  # 栾川县 410324 (the factories' default county)
    song = household(size=1, net="3000.00", village=VillageFactory(township__county=CountyFactory(code="410325")))
    ids = [luanchuan.pk, song.pk]
    services.assess_households(household_ids=ids, year=YEAR)
    assert current(luanchuan).income_passed and current(luanchuan).poverty_line == Decimal("2855.00")

    PovertyLine.objects.create(year=YEAR, region_code="410324", region_name="栾川县", amount=Decimal("3535.00"))
    assert services.assess_households(household_ids=ids, year=YEAR).changed == 1

    assert current(luanchuan).poverty_line == Decimal("3535.00")
    assert not current(luanchuan).income_passed
    assert "3,535.00" in current(luanchuan).criteria[0]["message"]
    assert current(song).poverty_line == Decimal("2855.00") and current(song).income_passed


def test_the_most_specific_line_wins():
    home = household(size=1, net="3400.00")
    PovertyLine.objects.create(year=YEAR, region_code="41", region_name="河南省", amount=Decimal("3335.00"))
    PovertyLine.objects.create(year=YEAR, region_code="4103", region_name="洛阳市", amount=Decimal("3747.00"))
    PovertyLine.objects.create(year=YEAR, region_code="410325", region_name="嵩县", amount=Decimal("3000.00"))
    assert services.household_assess(household=home, year=YEAR).poverty_line == Decimal("3747.00")


def test_a_dibao_line_is_not_a_poverty_line():
    home = household(size=1, net="3000.00")
    PovertyLine.objects.create(year=YEAR, kind=LineKind.DIBAO, region_code="410324", amount=Decimal("3360.00"))
    assessment = services.household_assess(household=home, year=YEAR)
    assert assessment.poverty_line == Decimal("2855.00") and assessment.income_passed


def test_a_year_without_a_line_fails_income_with_no_poverty_line():
    home = household(net="9500.00", year=2013, identified_year=2013)
    assessment = services.household_assess(household=home, year=2013)
    assert assessment.poverty_line is None
    assert assessment.criteria[0]["code"] == "no_poverty_line"


@pytest.mark.parametrize(
    ("lines", "code", "expected"),
    [
        ([("", Decimal("2855"))], "410324001200", Decimal("2855")),
        ([("", Decimal("2855")), ("410324", Decimal("3535"))], "410324001200", Decimal("3535")),
        ([("", Decimal("2855")), ("410324", Decimal("3535"))], "410325001200", Decimal("2855")),
        ([("41", Decimal("3335")), ("", Decimal("2855")), ("4103", Decimal("3747"))], "410329001", Decimal("3747")),
        ([("410324", Decimal("3535"))], "410325001200", None),
        ([], "410324001200", None),
    ],
)
def test_line_for_code_picks_the_longest_matching_region(lines, code, expected):
    assert facts.line_for_code(lines, code) == expected


# --- which households are assessed --------------------------------------------------------------------


def test_removed_and_later_identified_households_are_not_assessed_by_the_batch_path():
    assessed = household()
    removed = household(status=choices.HouseholdStatus.REMOVED)
    identified_later = household(identified_year=YEAR + 1)
    identified_same_year = household(identified_year=YEAR)
    exited = household(status=choices.HouseholdStatus.EXITED, exit_year=YEAR)
    ids = [h.pk for h in (assessed, removed, identified_later, identified_same_year, exited)]

    summary = services.assess_households(household_ids=ids, year=YEAR)

    assert summary.assessed == 3
    assert set(Assessment.objects.values_list("household_id", flat=True)) == {
        assessed.pk,
        identified_same_year.pk,
        exited.pk,
    }
    pages = list(selectors.keyset_pages(year=YEAR, size=2))
    assert [hid for page in pages for hid in page] == sorted([assessed.pk, identified_same_year.pk, exited.pk])
    assert [len(page) for page in pages] == [2, 1]
    assert selectors.assessable_count(year=YEAR) == 3
    assert selectors.assessable_count(year=YEAR + 1) == 4


def test_keyset_pages_filter_by_county():
    luanchuan = household()
    song = household(village=VillageFactory(township__county=CountyFactory(code="410325")))
    assert list(selectors.keyset_pages(year=YEAR, county_code="410325")) == [[song.pk]]
    assert list(selectors.keyset_pages(year=YEAR, county_code="410324")) == [[luanchuan.pk]]


def test_the_summary_counts_eligible_households_and_failures_per_criterion(varied_households):
    summary = services.assess_households(household_ids=[h.pk for h in varied_households], year=YEAR)
    assert summary.assessed == 12
    assert summary.eligible == 6  # passing, exempt, leaver, relocated, fragile, transfers
    assert summary.as_dict()["failing"] == {
        "income": 2,  # no_income, song_fragile (county line)
        "food": 1,
        "clothing": 0,
        "education": 1,
        "medical": 1,
        "housing": 1,
        "water": 1,
    }
    assert summary.warnings == {
        "education_exempt": 1,
        "illness_risk": 1,
        "fragile_income": 1,
        "transfer_dependent": 1,
    }
    assert summary.eligible == Assessment.objects.filter(is_current=True, eligible=True).count()
    assert summary.failing["income"] == Assessment.objects.filter(is_current=True, income_passed=False).count()

    again = services.assess_households(household_ids=[h.pk for h in varied_households], year=YEAR)
    assert (again.changed, again.eligible, again.failing) == (0, summary.eligible, summary.failing)

    total = store.RecomputeSummary()
    total.add(summary)
    total.add(again)
    assert (total.assessed, total.changed, total.eligible, total.failing["income"]) == (24, 12, 12, 4)


def test_postgresql_uses_the_sql_batch_path_and_larger_pages(varied_households):
    on_postgresql = connection.vendor == "postgresql"
    with mock.patch.object(batch, "assess_households", wraps=batch.assess_households) as sql_path:
        services.assess_households(household_ids=[h.pk for h in varied_households], year=YEAR)
    assert sql_path.called is on_postgresql
    assert selectors.page_size() == (selectors.SQL_PAGE_SIZE if on_postgresql else selectors.PYTHON_PAGE_SIZE)


def test_recompute_eligibility_sync_assesses_every_household_once_and_prints_a_summary(varied_households):
    def run() -> str:
        out = io.StringIO()
        call_command("recompute_eligibility", "--sync", "--year", str(YEAR), stdout=out, stderr=io.StringIO())
        return out.getvalue()

    first = run()
    assert "评估 12 户，结果变化 12 户，达到退出标准 6 户" in first
    assert "未达标 income" in first and "预警 fragile_income: 1" in first
    assert Assessment.objects.filter(is_current=True).count() == 12
    assert "评估 12 户，结果变化 0 户，达到退出标准 6 户" in run()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL batch path runs on PostgreSQL only")
def test_a_sql_worker_skips_households_another_worker_stored_after_it_evaluated_them():
    homes = [household() for _ in range(3)]
    ids = [home.pk for home in homes]
    parameters = batch._parameters(household_ids=ids, year=YEAR)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(batch.COMPUTE_SQL, parameters)  # none stored yet: all three are to be written
        for home in homes:  # meanwhile another worker stores them (here: the single path)
            services.household_assess(household=home, year=YEAR)
        cursor.execute(batch.RETIRE_SQL, parameters)
        cursor.execute(batch.INSERT_SQL, parameters)
        assert cursor.rowcount == 0  # ON CONFLICT DO NOTHING on assessment_one_current_per_year
        cursor.execute("DROP TABLE assessment_page")
    assert Assessment.objects.filter(year=YEAR, is_current=True).count() == Assessment.objects.count() == 3


# --- recompute on commit (signals and tasks; Celery is eager in tests) -----------------------------------


@contextmanager
def committed(capture):
    """Run the block, then run its on-commit callbacks as if its transaction had committed."""
    with capture(execute=True) as callbacks:
        yield callbacks


def test_a_committed_income_change_produces_a_new_current_assessment(django_capture_on_commit_callbacks):
    with committed(django_capture_on_commit_callbacks):
        home = household(size=1, net="9500.00")
    first = current(home)
    assert first.income_passed

    with committed(django_capture_on_commit_callbacks), transaction.atomic():
        income = home.incomes.get(year=YEAR)
        income.wage_income = Decimal("2000.00")
        income.save()

    second = current(home)
    assert second.pk != first.pk
    assert not second.income_passed and second.per_capita_net_income == Decimal("2000.00")
    first.refresh_from_db()
    assert first.is_current is False


def test_a_committed_member_change_recomputes_the_household(django_capture_on_commit_callbacks):
    with committed(django_capture_on_commit_callbacks):
        home = household()
    assert current(home).medical_passed

    with committed(django_capture_on_commit_callbacks):
        spouse = home.members.get(relation=choices.Relation.SPOUSE)
        spouse.medical_insurance = False
        spouse.save()

    assert not current(home).medical_passed
    assert spouse.name in current(home).criteria[4]["message"]


def test_several_changes_to_one_household_in_one_transaction_dispatch_one_recompute(
    django_capture_on_commit_callbacks,
):
    with committed(django_capture_on_commit_callbacks):
        home = household()
    with (
        mock.patch("assessments.tasks.recompute_household.delay") as delay,
        committed(django_capture_on_commit_callbacks) as callbacks,
        transaction.atomic(),
    ):
        home.food_secure = False
        home.save()
        head = home.members.get(relation=choices.Relation.HEAD)
        head.serious_illness_insurance = False
        head.save()
        income = home.incomes.get()
        income.wage_income = Decimal("100.00")
        income.save()
        member(home, birth_date=dt.date(2010, 1, 1))

    delay.assert_called_once_with(home.pk)
    assert len(callbacks) == 1


def test_changes_to_two_households_in_one_transaction_dispatch_one_recompute_each(
    django_capture_on_commit_callbacks,
):
    with committed(django_capture_on_commit_callbacks):
        first, second = household(), household()
    with (
        mock.patch("assessments.tasks.recompute_household.delay") as delay,
        committed(django_capture_on_commit_callbacks),
        transaction.atomic(),
    ):
        for home in (second, first, second, first):
            home.relocated = True
            home.save()

    assert sorted(call.args for call in delay.call_args_list) == sorted([(first.pk,), (second.pk,)])


def test_a_rolled_back_transaction_dispatches_nothing(django_capture_on_commit_callbacks):
    with committed(django_capture_on_commit_callbacks):
        home = household()
    before = list(Assessment.objects.values_list("pk", flat=True))

    with (
        mock.patch("assessments.tasks.recompute_household.delay") as delay,
        committed(django_capture_on_commit_callbacks) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        income = home.incomes.get()
        income.wage_income = Decimal("100.00")
        income.save()
        raise RuntimeError("rolled back")

    delay.assert_not_called()
    assert callbacks == []
    assert list(Assessment.objects.values_list("pk", flat=True)) == before
    assert home.incomes.get().wage_income == Decimal("9500.00")


def test_the_recompute_task_assesses_every_year_with_an_income_record(django_capture_on_commit_callbacks):
    with committed(django_capture_on_commit_callbacks):
        home = household(net="9500.00", year=2016)
        IncomeRecordFactory(household=home, year=2017)
    years = set(Assessment.objects.filter(household=home, is_current=True).values_list("year", flat=True))
    assert {2016, 2017, selectors.current_assessment_year()} <= years
