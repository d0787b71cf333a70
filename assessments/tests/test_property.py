"""Property: on random households the batch path and the single-household path store identical results.

On PostgreSQL the batch path is the SQL translation of the rules (assessments/batch.py) and the single path
the Python rules, so this is where the two are held to the same bytes: criteria and warnings JSON, every
column and the fingerprint. The strategies lean on the awkward cases: half a fen, negative net income, money
messages with thousands separators and half-up rounding, region lines of every length, members who left
during or after the year, children born after the year end, exempt children out of school, names with
spaces and separators, no income record, no line for the year.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessments import batch, rules, services
from assessments.models import Assessment, PovertyLine
from assessments.tests.test_rules import MONEY_IN_MESSAGES
from households import choices
from households.idcard import build_id_number
from testing.factories import CountyFactory, HouseholdFactory, IncomeRecordFactory, MemberFactory, VillageFactory

pytestmark = pytest.mark.django_db

STORED = (
    "criteria",
    "warnings",
    "eligible",
    *(f"{criterion}_passed" for criterion in rules.CRITERIA),
    "per_capita_net_income",
    "fingerprint",
    "household_size",
    "poverty_line",
    "rules_version",
)
NOT_REMOVED = [s for s in choices.HouseholdStatus.values if s != choices.HouseholdStatus.REMOVED]
_sequence = itertools.count()

money = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
# Large expenses make net income negative; amounts with odd fen give per-capita figures with half a fen.
expenses = money | st.decimals(min_value=20000, max_value=120000, places=2, allow_nan=False, allow_infinity=False)
names = st.sampled_from(["王建国", "李秀英", "阿卜杜 热合曼", "Li Ming", "王|小;明", "欧阳 娜娜 "]) | st.text(
    alphabet="王李张明华 |;#:·", min_size=1, max_size=8
)
members = st.fixed_dictionaries(
    {
        "name": names,
        # school-age children for every assessed year (2014–2021) are frequent in the second range
        "birth_date": st.dates(dt.date(1935, 1, 1), dt.date(2021, 12, 31))
        | st.dates(dt.date(1998, 1, 1), dt.date(2021, 12, 31)),
        "health": st.sampled_from(choices.Health.values),
        "school_status": st.sampled_from(choices.SchoolStatus.values),
        "medical_insurance": st.booleans(),
        "serious_illness_insurance": st.booleans(),
        "left_on": st.none() | st.none() | st.dates(dt.date(2014, 1, 1), dt.date(2021, 12, 31)),
    }
)
incomes = st.none() | st.fixed_dictionaries(
    {
        "wage_income": money,
        "business_income": money,
        "property_income": money,
        "dibao_income": money,
        "pension_income": money,
        "business_expenses": expenses,
    }
)
# Region lines (province, city, county, another province) with odd fen: 1.5 × line then has three decimals.
region_lines = st.lists(
    st.tuples(
        st.sampled_from(["41", "4103", "410325", "410324", "42"]),
        st.decimals(min_value=2800, max_value=4500, places=2, allow_nan=False, allow_infinity=False),
    ),
    max_size=3,
    unique_by=lambda line: line[0],
)
households = st.fixed_dictionaries(
    {
        "county": st.sampled_from(["410324", "410325"]),
        "status": st.sampled_from(NOT_REMOVED),
        "identified_year": st.integers(2014, 2021),
        "food_secure": st.booleans(),
        "clothing_secure": st.booleans(),
        "house_safety_grade": st.sampled_from(choices.HouseSafetyGrade.values),
        "relocated": st.booleans(),
        "water_quantity_ok": st.booleans(),
        "water_quality_ok": st.booleans(),
        "water_convenient": st.booleans(),
        "water_guaranteed": st.booleans(),
        "head": members,
        "others": st.lists(members, max_size=4),
        "income": incomes,
        "income_next_year": st.booleans(),  # must not be read for ``year``
    }
)


def create_household(spec: dict, year: int):
    """Rows for one generated household; the head is always active, the others may have left."""
    village = VillageFactory(township__county=CountyFactory(code=spec["county"]))
    identified = min(spec["identified_year"], year)
    home = HouseholdFactory(
        village=village,
        status=spec["status"],
        identified_year=identified,
        exit_year=year if spec["status"] == choices.HouseholdStatus.EXITED else None,
        **{k: spec[k] for k in HOUSEHOLD_FLAGS},
    )
    for index, person in enumerate([{**spec["head"], "left_on": None}, *spec["others"]]):
        fields = {k: v for k, v in person.items() if k != "left_on"}
        if person["health"] == choices.Health.DISABLED:
            fields["disability_grade"] = 1 + next(_sequence) % 4
        if person["left_on"] is not None:
            fields.update(is_active=False, left_reason=choices.LeftReason.MOVED_OUT, left_on=person["left_on"])
        row = MemberFactory.build(
            household=home,
            relation=choices.Relation.HEAD if index == 0 else choices.Relation.CHILD,
            id_number=build_id_number(spec["county"], person["birth_date"], next(_sequence) % 1000),
            **fields,
        )
        # full_clean() minus validate_constraints(), whose queries would dominate the run time; the database
        # still enforces the constraints on save.
        row.clean_fields()
        row.clean()
        row.save()
    if spec["income"] is not None:
        IncomeRecordFactory(household=home, year=year, **spec["income"])
    if spec["income_next_year"]:
        IncomeRecordFactory(household=home, year=year + 1)
    return home


HOUSEHOLD_FLAGS = (
    "food_secure",
    "clothing_secure",
    "house_safety_grade",
    "relocated",
    "water_quantity_ok",
    "water_quality_ok",
    "water_convenient",
    "water_guaranteed",
)


def stored(homes, year: int) -> dict[int, dict]:
    rows = Assessment.objects.filter(household__in=homes, year=year, is_current=True).values("household_id", *STORED)
    return {row.pop("household_id"): row for row in rows}


def assert_both_paths_store_the_same(homes, year: int) -> dict[int, dict]:
    """Batch path, then (after deleting) the single path: equal rows; a second batch writes nothing; the
    summary counts what is stored."""
    ids = [home.pk for home in homes]
    summary = services.assess_households(household_ids=ids, year=year)
    assert summary.assessed == summary.changed == len(homes)
    batch = stored(homes, year)
    assert summary.eligible == sum(row["eligible"] for row in batch.values())
    assert summary.failing == Counter(
        c["criterion"] for row in batch.values() for c in row["criteria"] if not c["passed"]
    )
    assert summary.warnings == Counter(w["code"] for row in batch.values() for w in row["warnings"])

    Assessment.objects.filter(household__in=homes).delete()
    for home in homes:
        services.household_assess(household=home, year=year)
    single = stored(homes, year)

    assert single == batch
    assert services.assess_households(household_ids=ids, year=year).changed == 0
    return single


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    year=st.integers(2014, 2021),  # 2021 has no national poverty line
    specs=st.lists(households, min_size=1, max_size=3),
    lines=region_lines,
)
def test_the_batch_path_and_the_single_path_store_identical_results(year, specs, lines):
    with transaction.atomic():  # each example starts from an empty database and leaves it empty
        for region_code, amount in lines:
            PovertyLine.objects.create(year=year, region_code=region_code, amount=amount)
        homes = [create_household(spec, year) for spec in specs]
        assert_both_paths_store_the_same(homes, year)
        transaction.set_rollback(True)


# --- the awkward cases, every one present (on PostgreSQL: SQL batch path against the Python rules) --------


def person(name: str = "王建国", birth_date: dt.date = dt.date(1970, 5, 1), **overrides) -> dict:
    return {
        "name": name,
        "birth_date": birth_date,
        "health": choices.Health.HEALTHY,
        "school_status": choices.SchoolStatus.NOT_APPLICABLE,
        "medical_insurance": True,
        "serious_illness_insurance": True,
        "left_on": None,
        **overrides,
    }


def spec(*others: dict, county: str = "410324", income=..., head: dict | None = None, **flags) -> dict:
    """A household passing everything (net income 12,000, one adult) but for the overrides; income=None: no record."""
    values = {
        "county": county,
        "status": choices.HouseholdStatus.IN_POVERTY,
        "identified_year": 2015,
        **dict.fromkeys(HOUSEHOLD_FLAGS, True),
        "house_safety_grade": choices.HouseSafetyGrade.B,
        "relocated": False,
        "head": head or person(),
        "others": list(others),
        "income": {"wage_income": Decimal("12000.00"), "business_expenses": Decimal("0.00")}
        if income is ...
        else income,
        "income_next_year": False,
    }
    values.update(flags)
    return values


def income_row(wage: str = "0.00", expenses: str = "0.00", **transfers: str) -> dict:
    return {
        "wage_income": Decimal(wage),
        "business_income": Decimal("0.00"),
        "business_expenses": Decimal(expenses),
        **{field: Decimal(amount) for field, amount in transfers.items()},
    }


def messages(row: dict) -> str:
    return " ".join(item["message"] for item in (*row["criteria"], *row["warnings"]))


def test_awkward_households_are_stored_identically_by_both_paths():
    year, school = 2020, choices.SchoolStatus
    PovertyLine.objects.create(year=year, region_code="41", amount=Decimal("4100.01"))
    PovertyLine.objects.create(year=year, region_code="4103", amount=Decimal("4000.03"))  # × 1.5 = 6000.045
    PovertyLine.objects.create(year=year, region_code="410325", amount=Decimal("4200.01"))
    cases = {
        "loss with half a fen": spec(person("李秀英"), income=income_row(expenses="1000.01")),
        "large loss": spec(income=income_row(expenses="123456.78")),
        "loss below half a fen": spec(person(), person(), income=income_row(expenses="0.01")),
        "half a fen above the national line": spec(person(), county="420102", income=income_row(wage="8000.01")),
        "monitoring line with three decimals": spec(
            status=choices.HouseholdStatus.EXITED, income=income_row(wage="2000.00", dibao_income="3000.00")
        ),
        "leavers and births": spec(
            person("张 离开", left_on=dt.date(2020, 6, 30), medical_insurance=False),
            person("张 年末离开", left_on=dt.date(2020, 12, 31), serious_illness_insurance=False),
            person("张 年后离开", left_on=dt.date(2021, 1, 15), serious_illness_insurance=False),
            person("张 年末出生", birth_date=dt.date(2020, 12, 31), medical_insurance=False),
            person("张 次年出生", birth_date=dt.date(2021, 1, 5), medical_insurance=False),
            income=income_row(wage="30000.00"),
        ),
        "children out of school": spec(
            person("王 小红", dt.date(2010, 3, 1), health=choices.Health.DISABLED),
            person(
                "王|小;明", dt.date(2008, 9, 1), health=choices.Health.SERIOUS_ILLNESS, school_status=school.DROPOUT
            ),
            person("阿卜杜 热合曼", dt.date(2005, 9, 1), school_status=school.DROPOUT),  # 15 on 1 September
            person("王十六", dt.date(2004, 9, 1), school_status=school.DROPOUT),  # 16: not counted
            person("王 六岁", dt.date(2014, 9, 1), health=choices.Health.CHRONIC),  # exactly 6
            person("王五岁", dt.date(2014, 9, 2)),  # 5: not counted
            person("王 送教", dt.date(2011, 1, 1), health=choices.Health.DISABLED, school_status=school.HOME_SCHOOLING),
            income=income_row(wage="60000.00"),
        ),
        "no income record, nothing else right": spec(
            income=None,
            food_secure=False,
            house_safety_grade=choices.HouseSafetyGrade.UNKNOWN,
            water_quality_ok=False,
            water_guaranteed=False,
        ),
        "relocated from a dangerous house": spec(
            clothing_secure=False, house_safety_grade=choices.HouseSafetyGrade.D, relocated=True
        ),
        "exactly at the county line": spec(county="410325", income=income_row(wage="4200.01")),
        "no member at the year end": spec(head=person("赵 新生", dt.date(2021, 3, 1))),
        "millions": spec(county="420102", income=income_row(wage="1234567.89")),
    }
    homes = {label: create_household(case, year) for label, case in cases.items()}

    rows = assert_both_paths_store_the_same(list(homes.values()), year)

    row = {label: rows[home.pk] for label, home in homes.items()}
    assert "人均纯收入-500.01元" in messages(row["loss with half a fen"])
    assert "人均纯收入-123,456.78元" in messages(row["large loss"])
    assert "人均纯收入0.00元" in messages(row["loss below half a fen"])
    assert row["half a fen above the national line"]["income_passed"]
    assert row["half a fen above the national line"]["per_capita_net_income"] == Decimal("4000.01")
    assert "监测线6,000.05元" in messages(row["monitoring line with three decimals"])
    assert row["leavers and births"]["household_size"] == 3
    assert "张 年后离开未参加大病保险；张 年末出生未参加基本医疗保险" in messages(row["leavers and births"])
    education = row["children out of school"]["criteria"][3]["message"]
    assert education == "阿卜杜 热合曼（15岁）辍学；王 六岁（6岁）未入学。"
    assert [w["code"] for w in row["children out of school"]["warnings"]] == [
        "education_exempt",
        "education_exempt",
        "illness_risk",
    ]
    assert row["no income record, nothing else right"]["criteria"][0]["code"] == "no_income_record"
    assert row["exactly at the county line"]["poverty_line"] == Decimal("4200.01")
    assert not row["exactly at the county line"]["income_passed"]
    assert row["no member at the year end"]["criteria"][0]["code"] == "no_members"
    assert "1,234,567.89元" in messages(row["millions"])


def test_a_year_without_a_national_line_uses_region_lines_or_fails_income_on_both_paths():
    year = 2021
    PovertyLine.objects.create(year=year, region_code="4103", amount=Decimal("4300.00"))
    luanchuan = create_household(spec(income=income_row(wage="5000.00")), year)
    song = create_household(spec(county="420102", income=income_row(wage="5000.00")), year)
    no_income = create_household(spec(county="420102", income=None), year)

    rows = assert_both_paths_store_the_same([luanchuan, song, no_income], year)

    assert rows[luanchuan.pk]["poverty_line"] == Decimal("4300.00") and rows[luanchuan.pk]["income_passed"]
    assert [rows[h.pk]["criteria"][0]["code"] for h in (song, no_income)] == ["no_poverty_line"] * 2
    assert rows[song.pk]["per_capita_net_income"] == Decimal("5000.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL batch path runs on PostgreSQL only")
@pytest.mark.parametrize(("amount", "text"), MONEY_IN_MESSAGES)
def test_sql_writes_money_like_the_rules(amount, text):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {batch._yuan('%s::numeric')}", [amount])
        assert cursor.fetchone()[0] == text == rules._yuan(Decimal(amount))
