"""The procedures plugged into the household back office (DOMAIN.md §5).

``households.admin`` serves the household file and ``assessments.admin_households`` extends it with the
assessments; this module extends whichever admin is registered for ``Household`` when ``ProceduresConfig.ready()``
runs with:

- a "决定记录" section: the household's decisions (kind, year, who, when, reason, the application), oldest first;
- a "识别与退出" section at the top of the page, offering what the user may do now
  (``procedures.selectors.household_offer``): "提出退出申请" (an eligible household in poverty or returned, by a
  village role), "提出识别申请" (a 边缘户), and for county staff "认定返贫" (an exited household) and "清退", each
  with its reason; with the household's applications in progress. Each form posts to ``<id>/procedures/``, whose
  view calls the service: done, a success message (an opened application's page; otherwise back here); refused,
  the page again with the service's words.

Status, identified year and exit year are read-only on the form (``households.admin``): these decisions are the
only way they change.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string, select_template
from django.urls import path, reverse

from assessments.selectors import current_assessment_year
from households.choices import HouseholdStatus
from households.models import Household
from households.selectors import user_display_name
from procedures import selectors, services
from procedures.admin_steps import as_get
from procedures.choices import AlertKind, Kind, State
from procedures.forms import OpenApplicationForm, RemovalForm, ReturnToPovertyForm, join_reasons, refusal_text
from procedures.models import Alert, Application, Decision

DECISIONS_FIELDSET = ("决定记录", {"fields": ("decisions_display",)})
#: op → (what it is called, its form)
OPERATIONS = {
    "open_exit": ("提出退出申请", OpenApplicationForm),
    "open_identification": ("提出识别申请", OpenApplicationForm),
    "return_to_poverty": ("认定返贫", ReturnToPovertyForm),
    "remove": ("清退", RemovalForm),
}


def status_label(status: str) -> str:
    try:
        return HouseholdStatus(status).label
    except ValueError:
        return status


def decisions_table(household: Household) -> str:
    rows = Decision.objects.filter(household=household).select_related("decided_by__cadre").order_by("decided_at", "pk")
    return render_to_string(
        "admin/procedures/household/decisions.html",
        {
            "rows": [
                {
                    "decision": decision,
                    "decided_by": user_display_name(decision.decided_by) if decision.decided_by else "—",
                    "status": status_label(decision.status),
                    "url": reverse("admin:procedures_decision_change", args=[decision.pk]),
                    "application_url": decision.application_id
                    and reverse("admin:procedures_application_change", args=[decision.application_id]),
                }
                for decision in rows
            ]
        },
    )


class HouseholdProceduresMixin:
    """Put before the registered household admin (see ``register``)."""

    change_form_template = "admin/procedures/household/change_form.html"
    #: The template the extended admin rendered its page with (None: Django's defaults), which ours extends.
    base_change_form_template: str | None = None

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        # Right after the assessments, if they are there: what was decided next to what was assessed.
        after = next(
            (i + 1 for i, (_, options) in enumerate(fieldsets) if "assessment_summary" in options.get("fields", ())),
            1,
        )
        return [*fieldsets[:after], DECISIONS_FIELDSET, *fieldsets[after:]]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "decisions_display")

    @admin.display(description="决定记录")
    def decisions_display(self, obj: Household) -> str:
        if obj.pk is None:
            return "—"
        return decisions_table(obj)

    def get_urls(self):
        procedures = path(
            "<path:object_id>/procedures/",
            self.admin_site.admin_view(self.household_procedure_view),
            name="households_household_procedures",
        )
        return [procedures, *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        opts = self.model._meta
        context["procedures_base_template"] = select_template(
            [
                *([self.base_change_form_template] if self.base_change_form_template else []),
                f"admin/{opts.app_label}/{opts.model_name}/change_form.html",
                f"admin/{opts.app_label}/change_form.html",
                "admin/change_form.html",
            ]
        )
        if obj is not None and not add:
            context["household_procedures"] = self.household_procedures_panel(
                request, obj, bound=context.get("procedures_bound")
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def household_procedures_panel(self, request, household: Household, *, bound=None) -> dict:
        offer = selectors.household_offer(request.user, household, year=current_assessment_year())
        bound_op, bound_form = bound or ("", None)

        def form(op: str):
            if not getattr(offer, op):
                return None
            return bound_form if op == bound_op else OPERATIONS[op][1]()

        in_progress = list(
            Application.objects.filter(household=household).exclude(state__in=[State.COUNTY_APPROVED, State.REJECTED])
        )
        return_alert = Alert.objects.filter(
            household=household, kind=AlertKind.RETURN_CANDIDATE, resolved_at__isnull=True
        ).first()
        forms = {op: form(op) for op in OPERATIONS}
        return {
            "url": reverse("admin:households_household_procedures", args=[household.pk]),
            "offer": offer,
            "exit_blocked": join_reasons(offer.exit_blocked),
            "forms": forms,
            "bound_op": bound_op,
            "in_progress": [
                (application, reverse("admin:procedures_application_change", args=[application.pk]))
                for application in in_progress
            ],
            "return_alert": return_alert,
            "shown": any(forms.values()) or bool(offer.exit_blocked or in_progress or return_alert),
        }

    def household_procedure_view(self, request, object_id):
        """POST of the "识别与退出" forms (``op``: see ``OPERATIONS``): the service decides."""
        household = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, household):
            raise PermissionDenied
        page_url = reverse("admin:households_household_change", args=[household.pk])
        if request.method != "POST":
            return HttpResponseRedirect(page_url)
        op = request.POST.get("op", "")
        if op not in OPERATIONS:
            raise Http404("未知的操作。")
        what, form_class = OPERATIONS[op]
        form = form_class(request.POST)
        if form.is_valid():
            try:
                url, message = self._household_procedure(request, household, op, form.cleaned_data)
            except (ValidationError, PermissionDenied, Http404) as refused:
                form.add_service_error(refused)
                self.message_user(request, f"未能{what}：{refusal_text(refused)}", messages.ERROR)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(url or page_url)
        return self.change_view(as_get(request), object_id, extra_context={"procedures_bound": (op, form)})

    def _household_procedure(self, request, household: Household, op: str, data: dict) -> tuple[str | None, str]:
        user = request.user
        if op in ("open_exit", "open_identification"):
            kind = Kind.EXIT if op == "open_exit" else Kind.IDENTIFICATION
            application = services.application_open(
                actor=user, household=household, kind=kind, year=current_assessment_year(), comment=data["comment"]
            )
            url = reverse("admin:procedures_application_change", args=[application.pk])
            return url, (
                f"已提出{application.year}年{application.get_kind_display()}申请，"
                f"现处于“{application.get_state_display()}”环节；下一环节须由他人办理。"
            )
        if op == "return_to_poverty":
            services.household_return_to_poverty(actor=user, household=household, comment=data["comment"])
            return None, "已认定返贫，户状态改为“返贫”，已记入决定记录。"
        services.household_remove(actor=user, household=household, reason=data["reason"])
        return None, "已清退，户状态改为“已清退(识别不准)”，已记入决定记录。"


def register() -> None:
    """Re-register ``Household`` with its current admin extended by ``HouseholdProceduresMixin``."""
    base = type(admin.site.get_model_admin(Household))
    extended = type(
        f"Procedures{base.__name__}",
        (HouseholdProceduresMixin, base),
        {"__module__": __name__, "base_change_form_template": base.change_form_template},
    )
    admin.site.unregister(Household)
    admin.site.register(Household, extended)
