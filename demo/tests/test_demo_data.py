"""The demo data generator (``manage.py generate_demo_data``, the ``demo`` package)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Q

from assessments.models import PovertyLine
from demo.generator import generate
from demo.logins import DEMO_LOGINS, ensure_demo_logins
from demo.reset import reset_registry
from demo.writers import DEMO_CHANGE_REASON, CopyWriter, OrmWriter
from households.idcard import parse_id_number
from households.models import Household, IncomeRecord, Member
from procedures.models import Decision, Step
from villages.models import County, Township, Village

pytestmark = pytest.mark.django_db

REFERENCE = dt.date(2020, 9, 1)  # ages on 1 September of the latest default year


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args: str) -> str:
    out = StringIO()
    call_command("generate_demo_data", *args, stdout=out)
    return out.getvalue()


def age(birth_date: dt.date, day: dt.date = REFERENCE) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def digest() -> str:
    """A hash of everything the generator decides (not primary keys or timestamps)."""
    h = hashlib.sha256()
    for row in Village.objects.order_by("code").values_list(
        "code", "name", "township__code", "county__code", "is_poverty_village", "registered_population"
    ):
        h.update(repr(row).encode())
    for row in Household.objects.order_by("household_number").values_list(
        "household_number", "village__code", "status", "attribute", "primary_cause", "other_causes", "phone"
    ):
        h.update(repr(row).encode())
    for row in Member.objects.order_by("household__household_number", "id_number").values_list(
        "household__household_number", "name", "id_number", "relation", "health", "school_status", "is_active"
    ):
        h.update(repr(row).encode())
    for row in IncomeRecord.objects.order_by("household__household_number", "year").values_list(
        "household__household_number", "year", *IncomeRecord.AMOUNT_FIELDS
    ):
        h.update(repr(row).encode())
    for row in Decision.objects.order_by("county__code", "sequence").values_list(
        "county__code", "sequence", "household__household_number", "kind", "year", "status", "exit_year", "source"
    ):
        h.update(repr(row).encode())
    for row in Step.objects.order_by("application__household__household_number", "pk").values_list(
        "application__household__household_number", "application__kind", "action", "to_state", "actor__username"
    ):
        h.update(repr(row).encode())
    return h.hexdigest()


def per_capita(record: IncomeRecord, size: int) -> Decimal:
    return (record.net_income / size).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def size_in(members: list[Member], year: int) -> int:
    end = dt.date(year, 12, 31)
    return sum(1 for m in members if m.birth_date <= end and (m.is_active or (m.left_on and m.left_on > end)))


@pytest.fixture
def small_registry():
    out = run("--households", "400", "--seed", "7")
    return out


def test_generates_the_requested_geography_and_households(small_registry):
    assert Household.objects.count() == 400
    counties = {c.code: c for c in County.objects.all()}
    assert set(counties) == {"410322", "410323", "410324", "410325", "410326", "410327", "410328", "410329", "410381"}
    assert {code for code, c in counties.items() if c.is_poverty_county} == {
        "410324",
        "410325",
        "410326",
        "410327",
        "410328",
        "410329",
    }
    assert all(c.city_name == "洛阳市" for c in counties.values())
    assert Township.objects.get(code="410324100").name == "城关镇"
    assert Township.objects.filter(county__code="410324", name="潭头镇").exists()
    for township in Township.objects.select_related("county"):
        assert len(township.code) == 9 and township.code.startswith(township.county.code)
    for village in Village.objects.select_related("township"):
        assert len(village.code) == 12 and village.code.startswith(village.township.code)
        assert village.county_id == village.township.county_id
        assert village.name.endswith("村")
    assert Village.objects.values("county").distinct().count() == 9
    assert Village.objects.filter(is_poverty_village=True).exists()
    assert Village.objects.filter(is_poverty_village=False).exists()
    assert Village.objects.filter(has_hardened_road=True).count() > Village.objects.count() / 2
    # Most households live in the six poverty counties.
    in_poverty_counties = Household.objects.filter(village__county__is_poverty_county=True).count()
    assert in_poverty_counties > 0.75 * 400
    assert "贫困户       400" in small_registry
    assert "admin / admin12345" in small_registry and "luanchuan / luanchuan12345" in small_registry


def test_household_numbers_and_registered_population(small_registry):
    for household in Household.objects.select_related("village"):
        assert household.household_number.startswith(household.village.code)
        assert len(household.household_number) == 16
    people = Village.objects.annotate(
        people=Count("households__members", filter=Q(households__members__is_active=True))
    ).values_list("registered_population", "people")
    assert all(population >= placed for population, placed in people)
    assert all(800 <= population <= 3500 for population, _ in people)


def test_id_numbers_are_valid_match_county_gender_and_birth_date_and_are_unique(small_registry):
    members = list(Member.objects.select_related("household__village__county"))
    assert len(members) > 400
    for member in members:
        parsed = parse_id_number(member.id_number)
        assert parsed.number == member.id_number
        assert parsed.area_code == member.household.village.county.code
        assert parsed.gender == member.gender
        assert parsed.birth_date == member.birth_date
    numbers = [m.id_number for m in members]
    assert len(numbers) == len(set(numbers))


def test_every_household_has_exactly_one_active_head(small_registry):
    heads = Household.objects.annotate(
        heads=Count("members", filter=Q(members__relation="head", members__is_active=True))
    ).values_list("heads", flat=True)
    assert set(heads) == {1}


def test_members_are_coherent(small_registry):
    members = list(Member.objects.all())
    by_household: dict[int, list[Member]] = {}
    for member in members:
        by_household.setdefault(member.household_id, []).append(member)
    for household_members in by_household.values():
        head = next(m for m in household_members if m.relation == "head" and m.is_active)
        assert 30 <= age(head.birth_date) <= 75
        for spouse in (m for m in household_members if m.relation == "spouse"):
            assert spouse.gender != head.gender
            assert abs(age(spouse.birth_date) - age(head.birth_date)) <= 8
        for child in (m for m in household_members if m.relation == "child"):
            assert 0 < age(head.birth_date) - age(child.birth_date) <= 45
        for parent in (m for m in household_members if m.relation == "parent"):
            assert age(parent.birth_date) >= age(head.birth_date) + 18
    for member in members:
        assert (member.disability_grade is not None) == (member.health == "disabled")
        if member.disability_grade is not None:
            assert 1 <= member.disability_grade <= 4
        assert 0 <= member.work_months <= 12
        if member.work_status == "none":
            assert member.work_months == 0
        if member.is_active:
            assert not member.left_reason and member.left_on is None
        else:
            assert member.left_reason in {"death", "marriage_out", "moved_out", "other"}
            assert member.left_on is not None and member.left_on > member.birth_date
        if age(member.birth_date) <= 14:
            assert member.education_level not in ("senior", "college")
    assert any(not m.is_active for m in members)
    assert any(m.health == "disabled" for m in members)
    assert any(m.health == "chronic" for m in members)
    assert any(m.health == "serious_illness" for m in members)
    assert any(m.work_status != "none" for m in members)
    assert any(m.school_status == "preschool" for m in members)
    assert any(age(m.birth_date) >= 60 for m in members)
    names = Counter(m.name[0] for m in members)
    assert names.most_common(1)[0][0] in "王李张刘"


def test_household_fields(small_registry):
    households = list(Household.objects.all())
    assert Counter(h.attribute for h in households)["general"] > len(households) / 2
    statuses = Counter(h.status for h in households)
    assert statuses["exited"] > statuses["in_poverty"] > 0
    for household in households:
        assert 2014 <= household.identified_year <= 2016
        if household.status == "exited":
            assert household.exit_year is not None
        if household.exit_year is not None:
            assert household.exit_year >= household.identified_year
        assert household.primary_cause not in household.other_causes
        household.full_clean()  # what a clerk's save would check
    assert any(h.other_causes for h in households)
    assert sum(h.clarity_card_issued_on is not None for h in households) > 0.8 * len(households)
    assert any(h.relocated for h in households)


def test_incomes_match_the_attribute(small_registry):
    records = list(IncomeRecord.objects.select_related("household"))
    assert records
    for record in records:
        assert all(getattr(record, name) >= 0 for name in IncomeRecord.AMOUNT_FIELDS)
        if record.household.attribute == "dibao":
            assert record.dibao_income > 0
        if record.household.attribute == "tekun":
            assert record.tekun_income > 0
        if record.business_income > 0 and record.business_expenses == 0:
            raise AssertionError("business income without expenses")
    # Some households have no record for a year.
    assert IncomeRecord.objects.count() < 2 * Household.objects.count()


def test_every_exit_criterion_has_some_failing_households():
    ensure_demo_logins()
    generate(households=800, seed=11)
    total = Household.objects.count()

    def share(queryset) -> float:
        return queryset.distinct().count() / total

    assert 0 < share(Household.objects.filter(food_secure=False)) < 0.15
    assert 0 < share(Household.objects.filter(clothing_secure=False)) < 0.15
    unsafe = Household.objects.filter(house_safety_grade__in=["C", "D", "unknown"], relocated=False)
    assert 0.03 < share(unsafe) < 0.3
    assert Household.objects.filter(house_safety_grade__in=["C", "D", "unknown"], relocated=True).exists()
    assert 0 < share(Household.objects.filter(members__is_active=True, members__medical_insurance=False)) < 0.2
    assert Member.objects.filter(serious_illness_insurance=False, medical_insurance=True).exists()
    water = Household.objects.filter(
        Q(water_quantity_ok=False) | Q(water_quality_ok=False) | Q(water_convenient=False) | Q(water_guaranteed=False)
    )
    assert 0 < share(water) < 0.2

    school_age = [
        m for m in Member.objects.filter(is_active=True) if 6 <= age(m.birth_date) <= 15
    ]  # on 1 September 2020
    assert school_age
    healthy_out = [m for m in school_age if m.health in ("healthy", "chronic") and m.school_status == "dropout"]
    assert healthy_out
    assert len(healthy_out) < 0.1 * len(school_age)
    assert sum(m.school_status in ("primary", "junior") for m in school_age) > 0.8 * len(school_age)
    assert any(m.school_status == "home_schooling" for m in school_age)

    lines = dict(PovertyLine.objects.filter(kind="poverty", region_code="").values_list("year", "amount"))
    members: dict[int, list[Member]] = {}
    for member in Member.objects.all():
        members.setdefault(member.household_id, []).append(member)
    for year in (2019, 2020):
        line = lines[year]
        outcome = Counter()
        for record in IncomeRecord.objects.filter(year=year):
            value = per_capita(record, size_in(members[record.household_id], year))
            if value < line:
                outcome["below"] += 1
            elif value == line:
                outcome["exact"] += 1
            elif value < line * Decimal("1.1"):
                outcome["fragile"] += 1
            else:
                outcome["above"] += 1
        missing = total - sum(outcome.values())
        assert missing > 0, year
        assert outcome["exact"] > 0, year
        assert outcome["fragile"] > 0, year
        assert 0.1 * total < outcome["below"] < 0.5 * total, (year, outcome)
        assert outcome["above"] > 0.4 * total, (year, outcome)


def test_primary_causes_follow_the_jiaozuo_distribution():
    ensure_demo_logins()
    generate(households=2000, seed=3)
    causes = Counter(Household.objects.values_list("primary_cause", flat=True))
    total = sum(causes.values())
    assert total == 2000
    assert 0.45 <= (causes["illness"] + causes["disability"]) / total <= 0.62
    assert 0.13 <= causes["lack_skills"] / total <= 0.23
    assert 0.06 <= causes["lack_capital"] / total <= 0.15
    assert 0.03 <= causes["education"] / total <= 0.1
    assert 0.03 <= causes["lack_labor"] / total <= 0.1
    # The cause is backed by the members (data-quality rules of DOMAIN.md §9).
    assert (
        not Household.objects.filter(primary_cause="disability")
        .exclude(members__health="disabled", members__is_active=True)
        .exists()
    )
    assert (
        not Household.objects.filter(primary_cause="illness")
        .exclude(members__health__in=["chronic", "serious_illness"], members__is_active=True)
        .exists()
    )


def test_same_seed_gives_identical_data_and_another_seed_does_not():
    run("--households", "150", "--seed", "5")
    first = digest()
    assert Decision.objects.exists() and Step.objects.exists()  # the digest covers the decisions and applications
    run("--households", "150", "--seed", "5", "--reset")
    assert digest() == first
    assert Household.objects.count() == 150
    run("--households", "150", "--seed", "6", "--reset")
    assert digest() != first


def test_if_empty_does_nothing_when_data_exists_but_keeps_the_logins():
    run("--households", "50", "--seed", "1")
    before = digest()
    clerk = get_user_model().objects.get(username="luanchuan")
    clerk.set_password("changed")
    clerk.save()
    out = run("--households", "80", "--seed", "2", "--if-empty")
    assert "已有数据" in out
    assert Household.objects.count() == 50
    assert digest() == before
    assert get_user_model().objects.get(username="luanchuan").check_password("luanchuan12345")
    assert "luanchuan / luanchuan12345" in out


def test_if_empty_generates_on_an_empty_registry():
    run("--households", "30", "--seed", "1", "--if-empty")
    assert Household.objects.count() == 30


def test_refuses_to_add_to_existing_data_without_reset():
    run("--households", "20", "--seed", "1")
    with pytest.raises(CommandError, match="--reset"):
        run("--households", "20", "--seed", "1")
    assert Household.objects.count() == 20


def test_rejects_years_without_a_poverty_line():
    with pytest.raises(CommandError, match="扶贫标准"):
        run("--households", "5", "--years", "2019,2031")


def test_reset_deletes_registry_history_and_dependent_rows():
    from assessments.services import assess_households

    run("--households", "40", "--seed", "1")
    assess_households(household_ids=list(Household.objects.values_list("id", flat=True)), year=2020)
    history = Household.history.model.objects
    assert history.filter(history_type="+").count() == 40
    row = history.filter(history_type="+").first()
    assert row.history_user.username == "admin"
    assert row.history_change_reason == DEMO_CHANGE_REASON
    # The demo village's one county approval changed one household, through the services, by the county clerk.
    assert [(r.status, r.history_user.username) for r in history.filter(history_type="~")] == [("exited", "luanchuan")]
    assert Member.history.model.objects.count() == Member.objects.count()
    assert IncomeRecord.history.model.objects.count() == IncomeRecord.objects.count()
    assert Village.history.model.objects.count() == Village.objects.count()
    out = run("--households", "25", "--seed", "2", "--reset")
    assert "已清空登记库：40 户" in out
    assert Household.objects.count() == 25
    assert history.count() == 25 + 1
    assert County.history.model.objects.count() == 9
    assert Member.history.model.objects.count() == Member.objects.count()


def test_demo_logins_have_their_roles_and_places():
    from assistance.models import HouseholdAssignment, RoleAssignment
    from povertycase.jurisdiction import jurisdiction_for, scope_to

    run("--households", "300", "--seed", "1")
    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin12345")
    clerk = user_model.objects.get(username="luanchuan")
    assert clerk.is_staff and not clerk.is_superuser and clerk.check_password("luanchuan12345")
    role = RoleAssignment.objects.get(cadre__user=clerk)
    assert (role.role, role.county.code) == ("county_staff", "410324")
    assert clerk.has_perm("households.view_personal_data") and not clerk.has_perm("households.delete_household")
    visible = scope_to(clerk, Household.objects.all())
    assert visible.exists()
    assert set(visible.values_list("village__county__code", flat=True)) == {"410324"}
    secretary = user_model.objects.get(username="secretary")
    village = RoleAssignment.objects.get(cadre__user=secretary).village
    assert village.county.code == "410324"
    assert set(scope_to(secretary, Household.objects.all()).values_list("village", flat=True)) == {village.pk}
    helper = user_model.objects.get(username="helper")
    assert HouseholdAssignment.objects.filter(cadre__user=helper, ends_on__isnull=True).count() == 5
    assert scope_to(helper, Household.objects.all()).count() == 5
    assert jurisdiction_for(user_model.objects.get(username="supervisor")).everything
    # Idempotent: running again repairs a changed password and duplicates no user, cadre or role.
    clerk.set_password("changed")
    clerk.save()
    run("--households", "300", "--seed", "1", "--reset")
    assert user_model.objects.get(username="luanchuan").check_password("luanchuan12345")
    assert user_model.objects.filter(username__in=[login.username for login in DEMO_LOGINS]).count() == len(DEMO_LOGINS)
    assert RoleAssignment.objects.filter(cadre__user__username="luanchuan").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL only")
def test_copy_writer_writes_the_same_rows_as_bulk_create():
    ensure_demo_logins()
    with transaction.atomic():
        generate(households=120, seed=9, writer_class=OrmWriter)
    orm = digest()
    orm_history = Member.history.model.objects.count()
    reset_registry()
    generate(households=120, seed=9, writer_class=CopyWriter)
    assert digest() == orm
    assert Member.history.model.objects.count() == orm_history
    household = Household.objects.first()
    assert household.created_at is not None
    assert Household.history.model.objects.filter(id=household.pk, history_type="+").exists()
