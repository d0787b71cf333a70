"""The demo logins: one ``DemoLogin`` per demo user (``DEMO_LOGINS``, one line each), ``ensure_demo_logins``
(create or repair the users), ``assign_demo_roles`` (their cadre profiles, roles, places and helped households,
once the places exist), ``demo_places`` (the township and village the township and village logins work in) and
``demo_admin`` (the superuser the demo history is written as). Demo only, never in production.

Every cadre is a person with a real name (``DemoLogin.name``), never named after the role: the role is the
``position`` on the cadre's profile and the role assignment. The demo village has its first secretary and two
work-team members, so that an application's review steps can be taken by three different people (maker-checker,
DOMAIN.md §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

from assistance import services as assistance_services
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment
from households.models import Household
from povertycase.services import validated_save
from villages.models import County, Township, Village

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str  # what the login is for in the demo (printed with the logins)
    name: str = ""  # the person: a real name on the cadre profile (no cadre for the superuser)
    position: str = ""  # 职务 on the cadre profile
    is_superuser: bool = False
    role: str = ""  # assistance.choices.Role slug
    # Where the role is bound: "county" (county_code), "township"/"village" (``demo_places`` of county_code),
    # "" (no place: a city-wide supervisor, or a helper).
    place: str = ""
    county_code: str = ""
    helped_households: int = 0  # a helper is assigned this many households of the demo village


DEMO_ROLES_START = dt.date(2016, 1, 1)
LUANCHUAN = "410324"

# One list: a new demo user is one entry.
DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "admin12345", "系统管理员（超级用户）", is_superuser=True),
    DemoLogin(
        "luanchuan", "luanchuan12345", "栾川县扶贫办：县级审批", name="张立新", position="栾川县扶贫办科员",
        role="county_staff", place="county", county_code=LUANCHUAN,
    ),
    DemoLogin(
        "songxian", "songxian12345", "嵩县扶贫办：另一个县", name="郭红梅", position="嵩县扶贫办科员",
        role="county_staff", place="county", county_code="410325",
    ),
    DemoLogin(
        "township", "township12345", "栾川县一个乡镇的扶贫专干：乡镇审核", name="赵振东", position="乡镇扶贫专干",
        role="township_staff", place="township", county_code=LUANCHUAN,
    ),
    DemoLogin(
        "secretary", "secretary12345", "该乡镇一个贫困村（演示村）的驻村第一书记", name="刘志鹏",
        position="驻村第一书记", role="first_secretary", place="village", county_code=LUANCHUAN,
    ),
    DemoLogin(
        "team_a", "team_a12345", "演示村驻村工作队员：民主评议", name="王丽娟", position="驻村工作队员",
        role="work_team", place="village", county_code=LUANCHUAN,
    ),
    DemoLogin(
        "team_b", "team_b12345", "演示村驻村工作队员：入户核实", name="孙浩", position="驻村工作队员",
        role="work_team", place="village", county_code=LUANCHUAN,
    ),
    DemoLogin(
        "helper", "helper12345", "演示村5户的帮扶责任人", name="马建伟", position="县农业农村局干部",
        role="helper", county_code=LUANCHUAN, helped_households=5,
    ),
    DemoLogin(
        "supervisor", "supervisor12345", "市级督查/审核人员（全市）", name="周建华", position="市扶贫办督查员",
        role="supervisor",
    ),
)  # fmt: skip


def demo_login(username: str) -> DemoLogin:
    return next(login for login in DEMO_LOGINS if login.username == username)


def ensure_demo_logins() -> list[DemoLogin]:
    """Create or repair the demo users (idempotent: passwords and flags are reset every time). Their roles are
    given by ``assign_demo_roles`` once the places exist."""
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        user, _ = user_model.objects.get_or_create(username=login.username)
        user.is_superuser = login.is_superuser
        user.is_staff = login.is_superuser
        user.is_active = True
        if not user.check_password(login.password):
            user.set_password(login.password)
        user.save()
    return list(DEMO_LOGINS)


def demo_places(county: County | None) -> tuple[Township | None, Village | None]:
    """The demo township of ``county`` (the first by code that has households) and its demo village (its first
    poverty village with households, by code; else its first village with households). The generator plans the
    same village (``demo.generator.demo_village_plan``) and scripts its first households for the procedures."""
    if county is None:
        return None, None
    township = Township.objects.filter(county=county, villages__households__isnull=False).order_by("code").first()
    if township is None:
        return None, None
    village = (
        Village.objects.filter(township=township, households__isnull=False)
        .order_by("-is_poverty_village", "code")
        .first()
    )
    return township, village


def _cadre(login: DemoLogin, user, admin) -> Cadre:
    """The login's cadre profile with the person's name and position (created, or repaired when changed)."""
    cadre = Cadre.objects.filter(user=user).first() or Cadre(user=user)
    if cadre.pk is None or (cadre.name, cadre.position) != (login.name, login.position):
        cadre.name, cadre.position = login.name, login.position
        validated_save(cadre, user=admin)
    return cadre


def assign_demo_roles() -> None:
    """Give each demo login its cadre profile, role and place (idempotent: an existing role is kept)."""
    admin = demo_admin()
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        if not login.role:
            continue
        cadre = _cadre(login, user_model.objects.get(username=login.username), admin)
        county = County.objects.filter(code=login.county_code).first() if login.county_code else None
        township, village = demo_places(county)
        place: dict = {}
        if login.place == "county":
            place = {"county": county}
        elif login.place == "township":
            place = {"township": township}
        elif login.place == "village":
            place = {"village": village}
        if login.place and not next(iter(place.values())):
            continue  # the place was not generated (e.g. a tiny data set)
        if not RoleAssignment.objects.active_on().filter(cadre=cadre, role=login.role, **place).exists():
            assistance_services.role_assign(
                actor=admin, cadre=cadre, role=login.role, starts_on=DEMO_ROLES_START, **place
            )
        if login.helped_households and village is not None:
            households = Household.objects.filter(village=village).order_by("household_number")
            for household in households[: login.helped_households]:
                if not HouseholdAssignment.objects.filter(household=household, ends_on__isnull=True).exists():
                    assistance_services.household_assign_helper(
                        actor=admin, household=household, cadre=cadre, starts_on=DEMO_ROLES_START
                    )


def demo_admin() -> AbstractBaseUser:
    """The demo superuser: the actor of the demo roles and the ``history_user`` of the generated rows."""
    return get_user_model().objects.get(username=DEMO_LOGINS[0].username)
