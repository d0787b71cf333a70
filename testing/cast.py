"""The shared cast: named places and people whose roles everyone remembers, built once per test with the factories
and the real services (the ``cast`` fixture of the root conftest.py).

Places (洛阳市)::

    栾川县 410324  城关镇 410324100  庄子村 410324100201  ``village``            (poverty village)
                                    协心村 410324100202  ``neighbour_village``  (not a poverty village)
                   潭头镇 410324101  汤营村 410324101201  ``tantou_village``
    嵩县   410325  城关镇 410325100  龙王村 410325100201  ``songxian_village``

People (login, cadre name, role granted by the city's administrator through ``role_assign`` from 2016)::

    city_admin      luoyang_admin    superuser, no cadre profile
    luanchuan_clerk lc_clerk         栾川县扶贫办刘          county_staff of 栾川县
    songxian_clerk  sx_clerk         嵩县扶贫办孙            county_staff of 嵩县 (the outsider)
    township_clerk  t1_clerk         城关镇专干赵            township_staff of 栾川县城关镇
    secretary       v1_secretary     庄子村第一书记陈志强    first_secretary of 庄子村
    work_team       v1_team_a        庄子村工作队员李红霞    work_team of 庄子村
    work_team_2     v1_team_b        庄子村工作队员张宇轩    work_team of 庄子村
    helper          h1_helper        帮扶人杨                helper, assigned to ``household`` (30 days ago)
    supervisor      city_supervisor  市督查员周海峰          supervisor, city-wide (no place)
    nobody          nobody           马春花                  a cadre without any role

One household: ``household`` (4103241002010001) in 庄子村, 王建国 (head, born 1970), his wife 李秀英 and their son
王小明. Every login's password is ``PASSWORD``. The cast's on-commit work (the household's assessment) is not run.

A world whose tests cannot live with the whole cast takes parts of it: ``build_places()``, ``build_people()`` (the
people without the household), ``build_wang_household()``, ``cast_member()`` for people of its own, made the same
way; ``luanchuan_clerk()`` alone is the ``staff_user`` fixture.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from assistance.choices import Role
from assistance.services import household_assign_helper, role_assign
from households.models import Household
from testing.factories import (
    CadreFactory,
    CountyFactory,
    HouseholdFactory,
    MemberFactory,
    TownshipFactory,
    VillageFactory,
    city_admin_user,
    id_number_for,
)
from villages.models import County, Township, Village

PASSWORD = "Pw-测试-2024"
ROLE_START = dt.date(2016, 1, 1)


@dataclass(frozen=True)
class Places:
    """The cast's places; ``counties``, ``townships`` and ``villages`` give them under the short keys the tests
    use (luanchuan/songxian, T1–T3, V1–V4)."""

    luanchuan: County
    songxian: County
    chengguan: Township
    tantou: Township
    songxian_chengguan: Township
    village: Village
    neighbour_village: Village
    tantou_village: Village
    songxian_village: Village

    @property
    def counties(self) -> dict[str, County]:
        return {"luanchuan": self.luanchuan, "songxian": self.songxian}

    @property
    def townships(self) -> dict[str, Township]:
        return {"T1": self.chengguan, "T2": self.tantou, "T3": self.songxian_chengguan}

    @property
    def villages(self) -> dict[str, Village]:
        return {
            "V1": self.village,
            "V2": self.neighbour_village,
            "V3": self.tantou_village,
            "V4": self.songxian_village,
        }


@dataclass(frozen=True)
class Cast(Places):
    city_admin: Any
    luanchuan_clerk: Any
    songxian_clerk: Any
    township_clerk: Any
    secretary: Any
    work_team: Any
    work_team_2: Any
    helper: Any
    supervisor: Any
    nobody: Any
    household: Household


def build_places() -> Places:
    """The cast's places alone (for a world whose tests count the people, see assistance/tests/test_api_cadres.py)."""
    luanchuan = CountyFactory(code="410324", name="栾川县")
    songxian = CountyFactory(code="410325", name="嵩县")
    chengguan = TownshipFactory(county=luanchuan, code="410324100", name="城关镇")
    tantou = TownshipFactory(county=luanchuan, code="410324101", name="潭头镇")
    songxian_chengguan = TownshipFactory(county=songxian, code="410325100", name="城关镇")
    return Places(
        luanchuan=luanchuan,
        songxian=songxian,
        chengguan=chengguan,
        tantou=tantou,
        songxian_chengguan=songxian_chengguan,
        village=VillageFactory(township=chengguan, code="410324100201", name="庄子村"),
        neighbour_village=VillageFactory(
            township=chengguan, code="410324100202", name="协心村", is_poverty_village=False
        ),
        tantou_village=VillageFactory(township=tantou, code="410324101201", name="汤营村"),
        songxian_village=VillageFactory(township=songxian_chengguan, code="410325100201", name="龙王村"),
    )


def build_wang_household(village: Village) -> Household:
    """Household 4103241002010001: 王建国 (head, born 1 May 1970), his wife 李秀英 and their son 王小明."""
    household = HouseholdFactory(village=village, household_number="4103241002010001", address="庄子村3组15号")
    for n, (name, relation, born, male) in enumerate(
        [
            ("王建国", "head", dt.date(1970, 5, 1), True),
            ("李秀英", "spouse", dt.date(1972, 8, 9), False),
            ("王小明", "child", dt.date(1996, 3, 12), True),
        ]
    ):
        MemberFactory(
            household=household,
            name=name,
            relation=relation,
            id_number=id_number_for(2000 + n, birth_date=born, male=male),
        )
    return household


def cast_member(username: str, name: str, *roles: tuple[str, dict], actor=None, position: str = "", phone: str = ""):
    """A login with a cadre profile and ``roles`` (each a role and its place, e.g. ``("county_staff",
    {"county": luanchuan})``), granted by ``actor`` (default: the city's administrator) through ``role_assign``
    from ``ROLE_START`` unless the place says ``starts_on``. Returns a fresh user: no cached jurisdiction."""
    cadre = CadreFactory(user__username=username, user__password=PASSWORD, name=name, position=position, phone=phone)
    actor = actor or city_admin_user()
    for role, place in roles:
        role_assign(actor=actor, cadre=cadre, role=role, **{"starts_on": ROLE_START, **place})
    return get_user_model().objects.get(pk=cadre.user_id)


def luanchuan_clerk():
    """栾川县扶贫办刘 (``lc_clerk``), the county clerk of 栾川县: the cast's, or built alone (with the county) when
    the rest of the cast is not wanted (the ``staff_user`` fixture). The same user either way."""
    existing = get_user_model().objects.filter(username="lc_clerk").first()
    if existing is not None:
        return existing
    county = CountyFactory(code="410324", name="栾川县")
    return cast_member("lc_clerk", "栾川县扶贫办刘", (Role.COUNTY_STAFF, {"county": county}), position="科员")


def build_people(places: Places) -> dict[str, Any]:
    """The cast's people (by their attribute names on ``Cast``), their roles granted on ``places``; the helper
    has no household yet. For a world that needs the cast without its household (households/tests)."""
    on_village = {"village": places.village}
    # Created in this order (ids and history follow it): 栾川县 top down, the city-wide ones, then the outsider.
    people = {
        "township_clerk": (
            "t1_clerk",
            "城关镇专干赵",
            "扶贫专干",
            (Role.TOWNSHIP_STAFF, {"township": places.chengguan}),
        ),
        "secretary": ("v1_secretary", "庄子村第一书记陈志强", "驻村第一书记", (Role.FIRST_SECRETARY, on_village)),
        "work_team": ("v1_team_a", "庄子村工作队员李红霞", "驻村工作队员", (Role.WORK_TEAM, on_village)),
        "work_team_2": ("v1_team_b", "庄子村工作队员张宇轩", "驻村工作队员", (Role.WORK_TEAM, on_village)),
        "helper": ("h1_helper", "帮扶人杨", "帮扶责任人", (Role.HELPER, {})),
        "supervisor": ("city_supervisor", "市督查员周海峰", "督查员", (Role.SUPERVISOR, {})),
        "nobody": ("nobody", "马春花", ""),
        "songxian_clerk": ("sx_clerk", "嵩县扶贫办孙", "科员", (Role.COUNTY_STAFF, {"county": places.songxian})),
    }
    users = {"luanchuan_clerk": luanchuan_clerk()}
    users |= {
        key: cast_member(username, name, *roles, position=position, phone="13912345678" if key == "helper" else "")
        for key, (username, name, position, *roles) in people.items()
    }
    return users


def build_cast() -> Cast:
    admin = city_admin_user()
    places = build_places()
    household = build_wang_household(places.village)
    users = build_people(places)
    household_assign_helper(
        actor=admin,
        household=household,
        cadre=users["helper"].cadre,
        starts_on=timezone.localdate() - dt.timedelta(days=30),
    )
    place_fields = {field.name: getattr(places, field.name) for field in fields(Places)}
    return Cast(**place_fields, city_admin=admin, household=household, **users)
