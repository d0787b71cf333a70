"""Where a user holds which role today (``assistance.selectors.role_places``): the one answer behind the
procedures' step checks (``actor_roles``) and their "待我办理" queue."""

from __future__ import annotations

import pytest

from assistance.choices import Role
from assistance.selectors import role_places
from households.models import Household
from procedures.services import actor_roles
from testing.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


def covered(user, household: Household) -> set[str]:
    return {place.role for place in role_places(user) if place.covers(household.village)}


def test_a_first_secretary_covers_their_village_only(cast):
    other = HouseholdFactory(village=cast.tantou_village)
    assert covered(cast.secretary, cast.household) == {Role.FIRST_SECRETARY}
    assert covered(cast.secretary, other) == set()


def test_a_township_or_county_role_covers_the_villages_below(cast):
    assert Role.TOWNSHIP_STAFF in covered(cast.township_clerk, cast.household)
    assert Role.COUNTY_STAFF in covered(cast.luanchuan_clerk, cast.household)
    assert covered(cast.songxian_clerk, cast.household) == set()


def test_a_city_wide_supervisor_covers_everything(cast):
    (place,) = role_places(cast.supervisor)
    assert place.everywhere and place.village_q("household__village") is None
    assert covered(cast.supervisor, HouseholdFactory(village=cast.songxian_village)) == {Role.SUPERVISOR}


def test_the_queue_filter_and_the_step_check_agree(cast):
    """The same coverage, as a filter on rows and as a check on one household."""
    households = [cast.household, HouseholdFactory(village=cast.tantou_village)]
    for user in (cast.secretary, cast.township_clerk, cast.luanchuan_clerk, cast.songxian_clerk):
        for place in role_places(user):
            q = place.village_q("village")
            filtered = set(Household.objects.filter(pk__in=[h.pk for h in households]).filter(q))
            assert filtered == {h for h in households if place.covers(h.village)}
        assert actor_roles(user, cast.household) == covered(user, cast.household)


def test_a_user_without_roles_holds_none(cast):
    assert role_places(cast.nobody) == []
    assert actor_roles(cast.nobody, cast.household) == set()
