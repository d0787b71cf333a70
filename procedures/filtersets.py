"""The one FilterSet of identification and exit applications (DOMAIN.md §5), shared by the admin and the API,
and the "待我办理" queue: applications waiting for a step the user may take.

Place filters come in two spellings, as for households: ``county``/``township``/``village`` take the
administrative-division codes, ``<level>_id`` primary keys.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from assistance.selectors import role_places
from procedures import workflow
from procedures.choices import Kind, State
from procedures.models import Application, Step

NOTHING = Q(pk__in=[])
EVERYWHERE = Q(pk__isnull=False)  # not Q(): an empty Q vanishes when OR-ed with another


# The steps that move an application on from a state (the admin's forward action reads them here too).
forward_transitions = workflow.forward_transitions


def _role_places(user) -> dict[str, list[Q]]:
    """role → the places (as filters on applications) where the user holds it today: the coverage of
    ``assistance.selectors.role_places``, as ``procedures.services.actor_roles`` uses it."""
    if user.is_superuser:
        return {role: [EVERYWHERE] for role in workflow.ANY_REVIEWER}
    places: dict[str, list[Q]] = {}
    for place in role_places(user, roles=tuple(workflow.ANY_REVIEWER)):
        q = place.village_q("household__village")
        places.setdefault(place.role, []).append(EVERYWHERE if q is None else q)
    return places


def waiting_for_user_q(user, *, today: dt.date | None = None) -> Q:
    """Applications waiting for a forward step that ``user`` may take now (DOMAIN.md §5).

    For every (kind, state, forward step) of ``procedures.workflow``: the application is in that state, in a
    place where the user holds one of the step's roles, past its notice period if the step needs it, and,
    for a review step, not already reviewed by the user in another step (maker-checker). One filter, so the
    queue costs one query whatever the size of the register. The roles of a state's forward steps are the only
    ones that may also reject or send back there, so nobody is offered an application they may not act on."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    today = today or timezone.localdate()
    places = _role_places(user)
    if not places:
        return NOTHING
    condition = NOTHING
    for kind in Kind.values:
        for state in State.values:
            for transition in forward_transitions(kind, state):
                reachable = [place for role in sorted(transition.roles & places.keys()) for place in places[role]]
                if not reachable:
                    continue
                reach = NOTHING
                for place in reachable:
                    reach |= place
                branch = Q(kind=kind, state=state) & reach
                if transition.needs_notice_over:
                    branch &= Q(notice_ends_on__isnull=True) | Q(notice_ends_on__lt=today)
                if transition.review_step:
                    other_review = Step.objects.filter(
                        application_id=OuterRef("pk"), actor_id=user.pk, review_step=True
                    ).exclude(action=transition.action)
                    branch &= ~Exists(other_review)
                condition |= branch
    return condition


class ApplicationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="household__household_number", lookup_expr="icontains", label="搜索（户编号）"
    )
    state = django_filters.MultipleChoiceFilter(choices=State.choices, label="当前环节")
    year = django_filters.NumberFilter(label="年度")
    household = django_filters.NumberFilter(field_name="household_id", label="户ID")
    household_id = django_filters.NumberFilter(field_name="household_id", label="户ID")
    county = django_filters.CharFilter(field_name="household__village__county__code", label="县级代码")
    county_id = django_filters.NumberFilter(field_name="household__village__county_id", label="县ID")
    township = django_filters.CharFilter(field_name="household__village__township__code", label="乡镇代码")
    township_id = django_filters.NumberFilter(field_name="household__village__township_id", label="乡镇ID")
    village = django_filters.CharFilter(field_name="household__village__code", label="村代码")
    village_id = django_filters.NumberFilter(field_name="household__village_id", label="村ID")
    waiting_for_me = django_filters.BooleanFilter(
        method="filter_waiting_for_me", label="待我办理（true：处于我有权办理下一步的环节）"
    )

    class Meta:
        model = Application
        fields: list[str] = []

    def filter_waiting_for_me(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        user = getattr(self.request, "user", None)
        condition = waiting_for_user_q(user)
        return queryset.filter(condition) if value else queryset.exclude(condition)
