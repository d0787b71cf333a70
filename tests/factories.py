"""factory_boy factories for every model, with realistic Chinese names and valid ID numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from households import choices
from households.idcard import build_id_number
from households.models import Household, IncomeRecord, Member
from villages.models import County, Township, Village

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "秀英", "小明", "桂兰", "志强", "玉梅", "国庆", "红霞", "海峰", "春花", "宇轩", "梓涵"]


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ("code",)

    code = "410324"
    name = "栾川县"
    city_name = "洛阳市"
    is_poverty_county = True


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township
        django_get_or_create = ("code",)

    county = factory.SubFactory(CountyFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.county.code}{100 + n % 900:03d}")
    name = factory.Sequence(lambda n: f"第{n}镇")


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village
        django_get_or_create = ("code",)

    township = factory.SubFactory(TownshipFactory)
    county = factory.SelfAttribute("township.county")
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.township.code}{200 + n % 800:03d}")
    name = factory.Sequence(lambda n: f"第{n}村")
    is_poverty_village = True
    registered_population = 1200


def id_number_for(n: int, *, area_code: str = "410324", birth_date: dt.date | None = None, male: bool = True) -> str:
    """A valid, unique-per-n ID number. Sequence parity follows the requested gender."""
    birth_date = birth_date or dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000)
    sequence = (2 * (n % 500)) + (1 if male else 0)
    return build_id_number(area_code, birth_date, sequence)


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    household_number = factory.Sequence(lambda n: f"4103240001{n:06d}")
    village = factory.SubFactory(VillageFactory)
    address = factory.LazyAttribute(lambda o: f"{o.village.name}{o.household_number[-3:]}号")
    phone = "13800138000"
    attribute = choices.Attribute.GENERAL
    status = choices.HouseholdStatus.IN_POVERTY
    identified_year = 2015
    primary_cause = choices.Cause.ILLNESS
    food_secure = True
    clothing_secure = True
    house_safety_grade = choices.HouseSafetyGrade.B
    water_quantity_ok = True
    water_quality_ok = True
    water_convenient = True
    water_guaranteed = True


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)])
    id_number = factory.Sequence(lambda n: id_number_for(n + 1))
    gender = ""  # derived by full_clean / _prepare
    birth_date = None
    relation = choices.Relation.HEAD
    education_level = choices.EducationLevel.JUNIOR
    health = choices.Health.HEALTHY
    labor_ability = choices.LaborAbility.ORDINARY
    medical_insurance = True
    serious_illness_insurance = True
    pension_insurance = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        member = model_class(*args, **kwargs)
        member.full_clean()  # derives gender and birth date from the ID number, as every write path does
        member.save()
        return member


class IncomeRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomeRecord

    household = factory.SubFactory(HouseholdFactory)
    year = 2015
    wage_income = Decimal("8000.00")
    business_income = Decimal("2000.00")
    business_expenses = Decimal("500.00")
