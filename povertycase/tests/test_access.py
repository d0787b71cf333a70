"""The access layer at the bottom of the apps (``povertycase.jurisdiction``) and how the higher apps plug into
the lower ones (scope rules, the jurisdiction provider, API routes, admin pages) from their ``ready()``."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404

from households.models import Household
from povertycase import jurisdiction
from povertycase.api.routes import registered_viewset
from testing.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


def test_a_model_without_a_scope_rule_is_a_programming_error(city_admin, staff_user):
    with pytest.raises(ImproperlyConfigured, match="Group is not registered"):
        jurisdiction.scope_to(staff_user, Group.objects.all())


def test_without_a_jurisdiction_provider_only_superusers_see_anything(monkeypatch, cast):
    clerk = cast.luanchuan_clerk
    assert jurisdiction.scope_to(clerk, Household.objects.all()).get() == cast.household
    jurisdiction.forget_jurisdiction(clerk)
    monkeypatch.setattr(jurisdiction, "_provider", None)

    assert not jurisdiction.scope_to(clerk, Household.objects.all()).exists()
    assert jurisdiction.scope_to(cast.city_admin, Household.objects.all()).get() == cast.household


def test_an_anonymous_or_inactive_user_has_no_jurisdiction(staff_user):
    staff_user.is_active = False
    assert jurisdiction.jurisdiction_for(staff_user) is jurisdiction.NOTHING
    assert jurisdiction.jurisdiction_for(None) is jurisdiction.NOTHING


def test_ensure_in_scope_answers_404_outside_the_jurisdiction(cast):
    elsewhere = HouseholdFactory(village=cast.songxian_village)
    jurisdiction.ensure_in_scope(cast.luanchuan_clerk, cast.household)
    with pytest.raises(Http404):
        jurisdiction.ensure_in_scope(cast.luanchuan_clerk, elsewhere)


def test_covers_takes_places_only(staff_user):
    with pytest.raises(ImproperlyConfigured):
        jurisdiction.covers(staff_user, HouseholdFactory())


def test_the_assessments_app_extends_the_household_and_place_resources_of_the_api():
    households = registered_viewset("households")
    villages = registered_viewset("villages")
    assert households.__module__ == "assessments.api.households"
    assert {"eligibility", "assess"} <= {action.__name__ for action in households.get_extra_actions()}
    assert villages.__module__ == "assessments.api.places"


def test_the_assessments_app_extends_the_household_and_village_admin_pages():
    household_admin = admin.site.get_model_admin(Household)
    # procedures extends the assessments' household admin in turn (procedures.admin_households).
    assert "assessments.admin_households" in {cls.__module__ for cls in type(household_admin).__mro__}
    assert "eligible_now" in household_admin.list_display
    from villages.models import Village

    assert "exit_check" in admin.site.get_model_admin(Village).readonly_fields
