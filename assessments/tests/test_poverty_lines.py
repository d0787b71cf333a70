"""Poverty lines (扶贫标准, DOMAIN.md §3): the national series loaded by migration, regional exit lines that
override it, and the validation of region codes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assessments.models import LineKind, PovertyLine
from assessments.selectors import poverty_line_amount, poverty_line_for

pytestmark = pytest.mark.django_db

NATIONAL = {
    2014: ("2800.00", False),
    2015: ("2855.00", True),
    2016: ("2952.00", True),
    2017: ("2952.00", False),
    2018: ("2995.00", False),
    2019: ("3218.00", False),
    2020: ("4000.00", True),
}


def test_migration_loaded_the_national_lines_of_2014_to_2020():
    rows = PovertyLine.objects.filter(kind=LineKind.POVERTY, region_code="")

    assert {r.year: (str(r.amount), r.verified) for r in rows} == NATIONAL
    assert all(r.source for r in rows), "every row says where its figure comes from"
    assert {r.region_name for r in rows} == {"全国"}


@pytest.mark.parametrize(("year", "amount"), [(2015, "2855.00"), (2016, "2952.00"), (2020, "4000.00")])
def test_well_sourced_lines_are_verified(year, amount):
    line = PovertyLine.objects.get(year=year, kind=LineKind.POVERTY, region_code="")
    assert line.amount == Decimal(amount)
    assert line.verified is True


@pytest.fixture
def henan_lines():
    """2018: Henan (41) sets an exit line above the national one, and 栾川县 (410324) one above Henan's."""
    province = PovertyLine.objects.create(year=2018, region_code="41", region_name="河南省", amount=Decimal("3335"))
    county = PovertyLine.objects.create(year=2018, region_code="410324", region_name="栾川县", amount=Decimal("3535"))
    return province, county


def test_county_line_wins_over_province_and_national_for_a_village_in_that_county(henan_lines):
    _, county = henan_lines
    assert poverty_line_for(year=2018, division_code="410324101201") == county
    assert poverty_line_for(year=2018, division_code="410324") == county


def test_province_line_applies_to_another_county_of_the_province(henan_lines):
    province, _ = henan_lines
    assert poverty_line_for(year=2018, division_code="410325101201") == province


def test_national_line_applies_outside_the_regions(henan_lines):
    line = poverty_line_for(year=2018, division_code="420100101201")
    assert line.region_code == ""
    assert line.amount == Decimal("2995.00")


def test_national_line_applies_when_no_place_is_given(henan_lines):
    assert poverty_line_for(year=2018, division_code="").region_code == ""


def test_regional_line_of_one_year_does_not_leak_into_another(henan_lines):
    assert poverty_line_for(year=2019, division_code="410324101201").amount == Decimal("3218.00")


def test_city_line_sits_between_county_and_province():
    PovertyLine.objects.create(year=2019, region_code="41", region_name="河南省", amount=Decimal("3535"))
    city = PovertyLine.objects.create(year=2019, region_code="4103", region_name="洛阳市", amount=Decimal("3600"))

    assert poverty_line_for(year=2019, division_code="410329101201") == city
    assert poverty_line_for(year=2019, division_code="410821101201").region_code == "41"


def test_dibao_lines_are_kept_apart_from_poverty_lines():
    PovertyLine.objects.create(
        year=2016, kind=LineKind.DIBAO, region_code="410324", region_name="栾川县", amount=Decimal("3360")
    )

    assert poverty_line_for(year=2016, division_code="410324101201").amount == Decimal("2952.00")
    dibao = poverty_line_for(year=2016, division_code="410324101201", kind=LineKind.DIBAO)
    assert dibao.amount == Decimal("3360.00")


def test_a_year_without_a_line_has_none():
    assert poverty_line_for(year=2013, division_code="410324101201") is None
    assert poverty_line_amount(year=2013, division_code="410324101201") is None


def test_poverty_line_amount_is_the_amount_of_the_applicable_line(henan_lines):
    assert poverty_line_amount(year=2018, division_code="410324101201") == Decimal("3535.00")
    assert poverty_line_amount(year=2015) == Decimal("2855.00")


@pytest.mark.parametrize("region_code", ["4", "410", "41032", "4103241", "41a", "4l0324", "４１"])
def test_region_code_must_be_2_4_or_6_digits(region_code):
    line = PovertyLine(year=2018, region_code=region_code, region_name="某地", amount=Decimal("3335"))

    with pytest.raises(ValidationError) as excinfo:
        line.full_clean()

    assert (
        "地区代码应为2位（省）、4位（市）或6位（县）数字，或留空表示全国。" in excinfo.value.message_dict["region_code"]
    )
    assert not PovertyLine.objects.filter(year=2018).exclude(region_code="").exists()


@pytest.mark.parametrize("region_code", ["41", "4103", "410324"])
def test_region_code_of_a_province_city_or_county_is_accepted(region_code):
    line = PovertyLine(year=2018, region_code=region_code, region_name="河南", amount=Decimal("3335"))
    line.full_clean()
    line.save()
    assert PovertyLine.objects.filter(year=2018, region_code=region_code).exists()


@pytest.mark.parametrize("amount", ["0", "-2855"])
def test_line_must_be_above_zero(amount):
    line = PovertyLine(year=2021, amount=Decimal(amount))

    with pytest.raises(ValidationError) as excinfo:
        line.full_clean()
    assert excinfo.value.message_dict["amount"] == ["标准须大于0元。"]

    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()
    assert not PovertyLine.objects.filter(year=2021).exists()


def test_second_national_line_for_the_same_year_is_refused():
    duplicate = PovertyLine(year=2015, amount=Decimal("2300"))

    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()

    assert "该年度、类别和地区已有标准。" in excinfo.value.messages
    assert PovertyLine.objects.get(year=2015, region_code="", kind=LineKind.POVERTY).amount == Decimal("2855.00")
