"""factory_boy factories for every model of the project, with realistic Chinese names and valid ID numbers.

Each factory builds an instance that passes the model's ``full_clean()`` (``povertycase/tests/test_factories.py``
checks this, and that no model is left without a factory). Places default to 栾川县 (410324), in townships and
villages whose codes never meet the shared cast's (``testing/cast.py``), and household numbers end from 8000 so
that they never meet the numbers tests write by hand. Two factories do more than save, because the row alone would
be half made: ``MemberFactory`` runs ``full_clean()`` (gender and birth date come from the ID number, as on every
write path), and ``RoleAssignmentFactory`` grants the role through ``role_assign`` so that the cadre's groups and
permissions are the real ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from assessments.models import Assessment, LineKind, PovertyLine
from assessments.rules import CRITERIA, RULES_VERSION
from assistance.choices import LoanEventKind, MeasureCategory, Role, UnitLevel
from assistance.models import (
    Cadre,
    HouseholdAssignment,
    HouseholdMeasure,
    LoanEvent,
    MicroLoan,
    RoleAssignment,
    Unit,
    Visit,
    months_after,
)
from households import choices
from households.idcard import build_id_number
from households.models import Household, ImportJob, IncomeRecord, Member, PersonalDataAccess
from procedures.choices import AlertKind, DecisionKind, DecisionSource, Kind, Signatory, State
from procedures.decisions import append_decisions
from procedures.models import Alert, Application, Decision, Objection, Signature, Step
from villages.models import County, Township, Village

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "秀英", "小明", "桂兰", "志强", "玉梅", "国庆", "红霞", "海峰", "春花", "宇轩", "梓涵"]
# Real townships of 栾川县 and common village names; 城关镇 and 潭头镇 are the cast's and left out here.
TOWNSHIP_NAMES = [
    "赤土店镇",
    "合峪镇",
    "三川镇",
    "冷水镇",
    "陶湾镇",
    "石庙镇",
    "庙子镇",
    "狮子庙镇",
    "白土镇",
    "叫河镇",
]
VILLAGE_NAMES = ["王庄村", "石门村", "大坪村", "南沟村", "红庄村", "新建村", "前河村", "后沟村", "上河村", "北岭村"]
UNIT_NAMES = ["洛阳市交通运输局", "洛阳市农业农村局", "栾川县人民医院", "栾川县教育局", "洛阳银行栾川支行"]
CITY_ADMIN_USERNAME = "luoyang_admin"


def person_name(n: int) -> str:
    """A realistic Chinese name (surname and given name), different for consecutive ``n``."""
    return SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]


def id_number_for(n: int, *, area_code: str = "410324", birth_date: dt.date | None = None, male: bool = True) -> str:
    """A valid, unique-per-n ID number. Sequence parity follows the requested gender."""
    birth_date = birth_date or dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000)
    sequence = (2 * (n % 500)) + (1 if male else 0)
    return build_id_number(area_code, birth_date, sequence)


def city_admin_user():
    """The city's administrator (a superuser), the actor who grants the first roles: one per database."""
    User = get_user_model()
    return User.objects.filter(username=CITY_ADMIN_USERNAME).first() or User.objects.create_superuser(
        username=CITY_ADMIN_USERNAME, password="x"
    )


# --- villages ------------------------------------------------------------------------------------------------


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
    # From 200 on: the cast's townships are 100 and 101.
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.county.code}{200 + n % 700:03d}")
    name = factory.Sequence(lambda n: TOWNSHIP_NAMES[n % len(TOWNSHIP_NAMES)])


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village
        django_get_or_create = ("code",)

    township = factory.SubFactory(TownshipFactory)
    county = factory.SelfAttribute("township.county")
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.township.code}{200 + n % 800:03d}")
    name = factory.Sequence(lambda n: VILLAGE_NAMES[n % len(VILLAGE_NAMES)])
    is_poverty_village = True
    registered_population = 1200


# --- households ----------------------------------------------------------------------------------------------


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    village = factory.SubFactory(VillageFactory)
    # The village code and a serial from 8000: tests write their own households from 0001 up.
    household_number = factory.LazyAttributeSequence(lambda o, n: f"{o.village.code}{8000 + n % 2000:04d}")
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
    name = factory.Sequence(person_name)
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


class UserFactory(factory.django.DjangoModelFactory):
    """A login (the auth model is Django's); the password is ``x`` unless given."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"cadre_{n:03d}")
    password = factory.django.Password("x")


class PersonalDataAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonalDataAccess

    user = factory.SubFactory(UserFactory)
    channel = PersonalDataAccess.Channel.API
    model = "households.member"
    object_ids = factory.List([1, 2])
    object_count = 2
    path = "/api/v1/members/"


class ImportJobFactory(factory.django.DjangoModelFactory):
    """An uploaded workbook (the file is stored under MEDIA_ROOT: tests point it at a temporary folder)."""

    class Meta:
        model = ImportJob

    user = factory.SubFactory(UserFactory)
    file = factory.django.FileField(filename="栾川县贫困户.xlsx", data=b"PK\x03\x04")
    file_name = "栾川县贫困户.xlsx"


# --- assessments ---------------------------------------------------------------------------------------------


class PovertyLineFactory(factory.django.DjangoModelFactory):
    """A county's own line (the national lines of 2014–2020 come with the migrations)."""

    class Meta:
        model = PovertyLine
        django_get_or_create = ("year", "kind", "region_code")

    year = 2017
    kind = LineKind.POVERTY
    region_code = "410324"
    region_name = "栾川县"
    amount = Decimal("3400.00")
    source = "栾川县人民政府关于2017年扶贫标准的通知"


class AssessmentFactory(factory.django.DjangoModelFactory):
    """A current, eligible assessment as the rules would store it (every criterion passed)."""

    class Meta:
        model = Assessment

    household = factory.SubFactory(HouseholdFactory)
    year = 2020
    is_current = True
    eligible = True
    income_passed = True
    food_passed = True
    clothing_passed = True
    education_passed = True
    medical_passed = True
    housing_passed = True
    water_passed = True
    criteria = factory.LazyFunction(
        lambda: [{"criterion": name, "passed": True, "code": "ok", "message": ""} for name in CRITERIA]
    )
    household_size = 3
    per_capita_net_income = Decimal("5200.00")
    poverty_line = Decimal("4000.00")
    rules_version = RULES_VERSION
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    computed_at = factory.LazyFunction(timezone.now)


# --- assistance ----------------------------------------------------------------------------------------------


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: UNIT_NAMES[n % len(UNIT_NAMES)] + ("" if n < len(UNIT_NAMES) else f"{n}"))
    level = UnitLevel.CITY


class CadreFactory(factory.django.DjangoModelFactory):
    """A cadre with a login and no role (grant roles with ``RoleAssignmentFactory`` or ``role_assign``)."""

    class Meta:
        model = Cadre

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: person_name(n + 3))
    position = "干部"
    phone = factory.Sequence(lambda n: f"1393791{n % 10000:04d}")


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    """A role granted through ``role_assign`` by ``actor`` (default: the city's administrator)."""

    class Meta:
        model = RoleAssignment

    actor = None
    cadre = factory.SubFactory(CadreFactory)
    role = Role.COUNTY_STAFF
    township = None
    village = None
    # 栾川县 unless the role is bound to a township or a village.
    county = factory.Maybe(
        factory.LazyAttribute(lambda o: o.township is None and o.village is None),
        yes_declaration=factory.SubFactory(CountyFactory),
        no_declaration=None,
    )
    starts_on = dt.date(2016, 1, 1)

    @classmethod
    def _create(cls, model_class, *args, actor=None, **kwargs):
        from assistance.services import role_assign

        return role_assign(actor=actor or city_admin_user(), **kwargs)


class HouseholdAssignmentFactory(factory.django.DjangoModelFactory):
    """A helper's open assignment to a household (the cadre should hold the helper role: see the cast)."""

    class Meta:
        model = HouseholdAssignment

    household = factory.SubFactory(HouseholdFactory)
    cadre = factory.SubFactory(CadreFactory)
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))


class HouseholdMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMeasure

    household = factory.SubFactory(HouseholdFactory)
    year = 2020
    category = MeasureCategory.INDUSTRY
    description = "发放核桃苗200株，技术员上门指导栽种"
    amount = Decimal("2000.00")


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    household = factory.SubFactory(HouseholdFactory)
    cadre = factory.SubFactory(CadreFactory)
    visited_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=7))
    purpose = "了解“两不愁三保障”落实情况"
    findings = "家中粮食充足，衣被齐全，住房为B级安全住房。"
    follow_up = "下月再次走访，了解务工收入。"


class MicroLoanFactory(factory.django.DjangoModelFactory):
    """A 30,000-yuan, 12-month loan issued on 15 June 2024 to the household's head (born 1975)."""

    class Meta:
        model = MicroLoan

    household = factory.SubFactory(HouseholdFactory)
    borrower = factory.SubFactory(
        MemberFactory,
        household=factory.SelfAttribute("..household"),
        id_number=factory.Sequence(lambda n: id_number_for(n, birth_date=dt.date(1975, 3, 1) + dt.timedelta(days=n))),
    )
    bank = "栾川县农村信用合作联社"
    amount = Decimal("30000.00")
    issued_on = dt.date(2024, 6, 15)
    term_months = 12
    maturity_date = factory.LazyAttribute(lambda o: months_after(o.issued_on, o.term_months))
    interest_rate = Decimal("4.35")
    subsidy_rate = Decimal("100.00")


class LoanEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoanEvent

    loan = factory.SubFactory(MicroLoanFactory)
    kind = LoanEventKind.REPAYMENT
    happened_on = dt.date(2025, 6, 10)
    amount = Decimal("30000.00")
    comment = "按期还清本金"
    recorded_by = factory.SubFactory(UserFactory)


# --- procedures ----------------------------------------------------------------------------------------------


class ApplicationFactory(factory.django.DjangoModelFactory):
    """An exit application just proposed by the village (no steps: add them with ``StepFactory``)."""

    class Meta:
        model = Application

    kind = Kind.EXIT
    household = factory.SubFactory(HouseholdFactory)
    year = 2020
    state = State.PROPOSED
    state_entered_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory)


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    application = factory.SubFactory(ApplicationFactory)
    action = "open"
    from_state = ""
    to_state = State.PROPOSED
    actor = factory.SelfAttribute("application.created_by")
    role = Role.FIRST_SECRETARY
    comment = "经村两委研究，提出该户退出。"
    review_step = False


class ObjectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objection

    application = factory.SubFactory(ApplicationFactory, state=State.VILLAGE_NOTICE)
    text = "该户家中有小汽车一辆。"
    raised_by = "村民张秀英"
    raised_on = factory.LazyFunction(timezone.localdate)
    during_state = State.VILLAGE_NOTICE
    recorded_by = factory.SubFactory(UserFactory)


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signature

    application = factory.SubFactory(ApplicationFactory, kind=Kind.IDENTIFICATION, state=State.TOWNSHIP_NOTICE)
    signatory = Signatory.FIRST_SECRETARY
    name = "陈志强"
    signed_on = factory.LazyFunction(timezone.localdate)
    recorded_by = factory.SubFactory(UserFactory)


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    kind = AlertKind.RETURN_CANDIDATE
    household = factory.SubFactory(HouseholdFactory, status=choices.HouseholdStatus.EXITED, exit_year=2019)
    year = 2020
    message = "已脱贫户2020年评估未达标：人均纯收入低于扶贫标准。"


class DecisionFactory(factory.django.DjangoModelFactory):
    """A ``registered`` decision of a new household, appended to its county's hash chain through the procedures'
    own ``append_decisions`` (the log is append-only: a decision is never saved any other way)."""

    class Meta:
        model = Decision

    kind = DecisionKind.REGISTERED
    household = factory.SubFactory(HouseholdFactory)
    year = factory.LazyAttribute(lambda o: o.household.identified_year)
    status = factory.LazyAttribute(lambda o: o.household.status)
    identified_year = factory.LazyAttribute(lambda o: o.household.identified_year)
    exit_year = factory.LazyAttribute(lambda o: o.household.exit_year)
    source = DecisionSource.API
    decided_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        decision = model_class(*args, **kwargs)
        (decision,) = append_decisions(decision.household.village.county_id, [decision])
        return decision
