"""The world of the assistance tests (DOMAIN.md §7), with people whose roles everyone remembers.

A part of the shared cast's places (testing/cast.py), built with its helpers but with people of its own (see
``build_field_world`` for why). 栾川县 (410324) has township 城关镇 (T1) with 庄子村 (V1, a poverty village) and
协心村 (V2, not a poverty village); 嵩县 (410325) has 龙王村 (V4). Household H1 (王建国, his wife and son) lives
in V1, H2 in V2, H4 in V4. The people: ``county_staff`` (栾川县扶贫办刘), ``first_secretary`` of V1 (庄子村书记陈),
``work_team`` of V1, ``helper`` (帮扶人杨, responsible for H1), ``plain_cadre`` (a cadre of V1 without the helper
role) and ``other_county`` (嵩县扶贫办孙, the outsider). Every role is granted by the city's superuser through
the services, so the groups and permissions are the real ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from assistance import services
from assistance.models import Cadre, MicroLoan
from households.models import Household, Member
from testing.cast import build_wang_household, cast_member
from testing.factories import (
    CountyFactory,
    HouseholdFactory,
    MemberFactory,
    TownshipFactory,
    VillageFactory,
    city_admin_user,
    id_number_for,
)
from villages.models import County, Township, Village

_numbers = itertools.count(3000)


def today() -> dt.date:
    return timezone.localdate()


@dataclass
class FieldWorld:
    root: object
    counties: dict[str, County]
    township: Township
    villages: dict[str, Village]
    households: dict[str, Household]
    users: dict[str, object]

    def user(self, role: str):
        return self.root if role == "superuser" else self.users[role]

    def cadre(self, role: str) -> Cadre:
        return self.users[role].cadre

    def client(self, role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.user(role))
        return client

    @property
    def head(self) -> Member:
        """王建国, head of H1, born 1970: a borrower of the right age for any issue date after 1988."""
        return self.households["H1"].members.get(relation="head")


def make_user(root, username: str, role: str | None = None, *, name: str | None = None, **place):
    """A login with a cadre profile and (optionally) one role, held for a year, granted by ``root`` through the
    service."""
    roles = [(role, {"starts_on": today() - dt.timedelta(days=365), **place})] if role else []
    return cast_member(username, name or username, *roles, actor=root)


def member_born(household: Household, born: dt.date, *, name: str = "王小明", relation: str = "child") -> Member:
    """A member of ``household`` with a valid ID number carrying ``born``."""
    return MemberFactory(
        household=household, name=name, relation=relation, id_number=id_number_for(next(_numbers), birth_date=born)
    )


def build_field_world() -> FieldWorld:
    """Not the shared cast, though built with its helpers: the compliance tests count the gaps of every poverty
    village of 栾川县 (the cast's 汤营村 would add its own) and end the role of V1's one work-team member (the cast
    has two), and roles here are held for a year only."""
    root = city_admin_user()
    counties = {
        "luanchuan": CountyFactory(code="410324", name="栾川县"),
        "songxian": CountyFactory(code="410325", name="嵩县"),
    }
    township = TownshipFactory(county=counties["luanchuan"], code="410324100", name="城关镇")
    t3 = TownshipFactory(county=counties["songxian"], code="410325100", name="城关镇")
    villages = {
        "V1": VillageFactory(township=township, code="410324100201", name="庄子村"),
        "V2": VillageFactory(township=township, code="410324100202", name="协心村", is_poverty_village=False),
        "V4": VillageFactory(township=t3, code="410325100201", name="龙王村"),
    }
    households = {
        "H1": build_wang_household(villages["V1"]),
        "H2": HouseholdFactory(village=villages["V2"], household_number="4103241002020001"),
        "H4": HouseholdFactory(village=villages["V4"], household_number="4103251002010001"),
    }
    member_born(households["H2"], dt.date(1965, 2, 2), name="赵志强", relation="head")
    member_born(households["H4"], dt.date(1968, 7, 7), name="张桂兰", relation="head")
    luanchuan, v1 = counties["luanchuan"], villages["V1"]
    users = {
        "county_staff": make_user(root, "lc_clerk", "county_staff", name="栾川县扶贫办刘", county=luanchuan),
        "first_secretary": make_user(root, "v1_secretary", "first_secretary", name="庄子村书记陈", village=v1),
        "work_team": make_user(root, "v1_team", "work_team", name="工作队员吴", village=v1),
        "helper": make_user(root, "h1_helper", "helper", name="帮扶人杨"),
        "plain_cadre": make_user(root, "v1_leader", "village_leader", name="包村领导郭", village=v1),
        "other_county": make_user(root, "sx_clerk", "county_staff", name="嵩县扶贫办孙", county=counties["songxian"]),
        "no_role": make_user(root, "nobody"),
    }
    services.household_assign_helper(
        actor=root, household=households["H1"], cadre=users["helper"].cadre, starts_on=today() - dt.timedelta(days=30)
    )
    return FieldWorld(root, counties, township, villages, households, users)


def loan_fields(world: FieldWorld, **overrides) -> dict:
    """A valid micro-loan for H1 with its head as borrower (issued on 15 June 2024, 12 months)."""
    fields = {
        "actor": world.users["county_staff"],
        "household": world.households["H1"],
        "borrower": world.head,
        "bank": "栾川县农村信用合作联社",
        "amount": Decimal("30000.00"),
        "issued_on": dt.date(2024, 6, 15),
        "term_months": 12,
        "interest_rate": Decimal("4.35"),
        "subsidy_rate": Decimal("100"),
    }
    fields.update(overrides)
    return fields


def issue_loan(world: FieldWorld, **overrides) -> MicroLoan:
    return services.loan_issue(**loan_fields(world, **overrides))
