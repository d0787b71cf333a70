"""Property: on random households the batch path and the single-household path store identical results."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessments import services
from assessments.models import Assessment, PovertyLine
from households import choices
from households.idcard import build_id_number
from tests.factories import CountyFactory, HouseholdFactory, IncomeRecordFactory, MemberFactory, VillageFactory

pytestmark = pytest.mark.django_db

STORED = ("criteria", "warnings", "eligible", "per_capita_net_income", "fingerprint", "household_size", "poverty_line")
NOT_REMOVED = [s for s in choices.HouseholdStatus.values if s != choices.HouseholdStatus.REMOVED]
_sequence = itertools.count()

money = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
members = st.fixed_dictionaries(
    {
        "birth_date": st.dates(dt.date(1935, 1, 1), dt.date(2021, 12, 31)),
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
        "business_expenses": money,
    }
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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    year=st.integers(2014, 2021),  # 2021 has no poverty line
    specs=st.lists(households, min_size=1, max_size=3),
    county_line=st.none() | st.decimals(min_value=2800, max_value=4500, places=2),
)
def test_the_batch_path_and_the_single_path_store_identical_results(year, specs, county_line):
    with transaction.atomic():  # each example starts from an empty database and leaves it empty
        if county_line is not None:
            PovertyLine.objects.create(year=year, region_code="410325", amount=county_line)
        homes = [create_household(spec, year) for spec in specs]
        ids = [home.pk for home in homes]

        summary = services.assess_households(household_ids=ids, year=year)
        assert summary.assessed == summary.changed == len(homes)
        batch = stored(homes, year)

        Assessment.objects.filter(household__in=homes).delete()
        for home in homes:
            services.household_assess(household=home, year=year)
        single = stored(homes, year)

        assert single == batch
        assert services.assess_households(household_ids=ids, year=year).changed == 0
        transaction.set_rollback(True)
