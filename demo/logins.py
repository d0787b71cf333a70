"""The demo logins: one ``DemoLogin`` per demo user (``DEMO_LOGINS``, one line each), ``ensure_demo_logins``
(create or repair the users), ``assign_demo_roles`` (their cadre profiles, roles, places and helped households,
once the places exist) and ``demo_admin`` (the superuser the demo history is written as). Demo only, never in
production.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

from assistance import services as assistance_services
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment
from households.models import Household
from villages.models import County, Township, Village

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str
    is_superuser: bool = False
    role: str = ""  # assistance.choices.Role slug
    # Where the role is bound: "county" (county_code), "township"/"village" (the first township / first poverty
    # village of county_code, by code), "" (no place: a city-wide supervisor, or a helper).
    place: str = ""
    county_code: str = ""
    helped_households: int = 0  # a helper is assigned this many households of the demo village


DEMO_ROLES_START = dt.date(2016, 1, 1)

# One list: a new demo role is one line.
DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "admin12345", "系统管理员（超级用户）", is_superuser=True),
    DemoLogin("luanchuan", "luanchuan12345", "栾川县扶贫办", role="county_staff", place="county", county_code="410324"),
    DemoLogin("songxian", "songxian12345", "嵩县扶贫办", role="county_staff", place="county", county_code="410325"),
    DemoLogin(
        "township",
        "township12345",
        "栾川县一个乡镇的扶贫专干",
        role="township_staff",
        place="township",
        county_code="410324",
    ),
    DemoLogin(
        "secretary",
        "secretary12345",
        "该乡镇一个贫困村的驻村第一书记",
        role="first_secretary",
        place="village",
        county_code="410324",
    ),
    DemoLogin("helper", "helper12345", "该村5户的帮扶责任人", role="helper", county_code="410324", helped_households=5),
    DemoLogin("supervisor", "supervisor12345", "市级督查（全市只读）", role="supervisor"),
)


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


def assign_demo_roles() -> None:
    """Give each demo login its cadre profile, role and place (idempotent: an existing role is kept)."""
    admin = demo_admin()
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        if not login.role:
            continue
        user = user_model.objects.get(username=login.username)
        cadre, _ = Cadre.objects.get_or_create(user=user, defaults={"name": login.description[:50]})
        place: dict = {}
        county = County.objects.filter(code=login.county_code).first() if login.county_code else None
        # The first township (by code) that has households, and its first poverty village with households.
        township = (
            Township.objects.filter(county=county, villages__households__isnull=False).order_by("code").first()
            if county
            else None
        )
        village = (
            Village.objects.filter(township=township, households__isnull=False)
            .order_by("-is_poverty_village", "code")
            .first()
            if township
            else None
        )
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
