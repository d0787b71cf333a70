"""The identification and exit procedures (DOMAIN.md §5) in the back office.

- The application list opens on "待我办理": the applications of the user's jurisdiction waiting for a step the
  user may take now (``procedures.filtersets.waiting_for_user_q``, one filter in one query), the longest
  waiting first, with the head's name, the village, the verdict of the application year's assessment, the days
  waiting, the next step and the open alert: one query a page (annotations, no query per row).
- The application page shows everything a reviewer needs: the household and its head, the assessment of the
  application's year criterion by criterion (✓/✗), the notice dates, the step history, the objections, the six
  signatures, and for an approved application the decision it produced and the county's chain head. Below, a
  button for exactly each step the user may take now (``procedures.selectors.application_offer``), each with
  its comment, and the forms recording an objection and a signature. Each posts to ``<id>/procedure/``, which
  calls the service: done, back to the page with a message; refused, the page again with the service's words.
- Two bulk actions, "批量通过（进入下一环节）" and "批量不予通过", ask for confirmation (and a reason, for a
  rejection), then hand every application to ``applications_bulk_transition``: each one is checked and done
  on its own, and a result page lists which passed and which were refused, and why.
- Alerts of the daily jobs are listed read-only.

Nothing here writes except through ``procedures.services``. Every admin goes through ``ScopedAdminMixin``.
"""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from assessments.admin import render_assessments
from assessments.models import Assessment
from households.choices import Relation
from households.models import Member
from households.selectors import user_display_name
from povertycase.admin_scoping import ReadOnlyAdminMixin, ScopedAdminMixin
from povertycase.jurisdiction import jurisdiction_for, scope_to
from procedures import decisions, labels, services, workflow
from procedures.admin_steps import ApplicationStepsMixin
from procedures.choices import Action, AlertKind, Kind, Signatory, State
from procedures.filtersets import forward_transitions, waiting_for_user_q
from procedures.forms import roles_text
from procedures.models import Alert, Application, Objection, Signature, Step
from villages.admin import geography_filters

#: The most applications one bulk action takes: its confirmation page lists them all.
MAX_BULK = 500


def _household_link(household) -> str:
    url = reverse("admin:households_household_change", args=[household.pk])
    return format_html('<a href="{}">{}</a>', url, household.household_number)


def waiting_days(application: Application) -> int | None:
    """Whole days since the application entered its current step (None once it is closed)."""
    if application.is_closed:
        return None
    return (timezone.localdate() - timezone.localtime(application.state_entered_at).date()).days


def forward_action(application: Application) -> workflow.Transition | None:
    """The step that takes ``application`` on from its state (the first, should a state ever have several)."""
    transitions = forward_transitions(application.kind, application.state)
    return transitions[0] if transitions else None


# ---------------------------------------------------------------------------------------------------------
# List filters


class WaitingForMeFilter(admin.SimpleListFilter):
    """待我办理 (the default) or 全部: a queue of what waits for the requesting user's step."""

    title = "办理范围"
    parameter_name = "queue"
    WAITING = "mine"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.WAITING, "待我办理"), (self.ALL, "全部")]

    def value(self):
        return super().value() or self.WAITING

    def choices(self, changelist):
        facet_counts = self.get_facet_queryset(changelist) if changelist.add_facets else None
        for index, (lookup, title) in enumerate(self.lookup_choices):
            if facet_counts is not None:
                count = facet_counts.get(f"{index}__c", -1)
                title = f"{title} ({count if count != -1 else '-'})"
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(waiting_for_user_q(request.user))


class AlertResolvedFilter(admin.SimpleListFilter):
    title = "处理情况"
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", "未处理"), ("yes", "已处理")]

    def queryset(self, request, queryset):
        match self.value():
            case "no":
                return queryset.filter(resolved_at__isnull=True)
            case "yes":
                return queryset.filter(resolved_at__isnull=False)
        return queryset


# ---------------------------------------------------------------------------------------------------------
# Read-only inlines: the step history, objections and signatures are append-only


class ReadOnlyInline(ScopedAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StepInline(ReadOnlyInline):
    model = Step
    verbose_name_plural = "办理步骤（全部记录，不可修改）"
    fields = ("at", "action_display", "from_state", "to_state", "actor_display", "role_display", "comment")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor__cadre").order_by("at", "id")

    @admin.display(description="操作")
    def action_display(self, step: Step) -> str:
        return labels.action_label(step.action)

    @admin.display(description="操作人")
    def actor_display(self, step: Step) -> str:
        cadre = getattr(step.actor, "cadre", None)
        return f"{cadre.name}（{step.actor.username}）" if cadre else step.actor.username

    @admin.display(description="角色")
    def role_display(self, step: Step) -> str:
        return labels.role_label(step.role)


class ObjectionInline(ReadOnlyInline):
    model = Objection
    fields = ("raised_on", "raised_by", "text", "during_state", "recorded_by", "recorded_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


class SignatureInline(ReadOnlyInline):
    model = Signature
    verbose_name_plural = "六签字"
    fields = ("signatory", "name", "signed_on", "recorded_by", "recorded_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by").order_by(labels.signatory_order(), "pk")


# ---------------------------------------------------------------------------------------------------------
# Bulk actions


class BulkTransitionForm(forms.Form):
    """The comment recorded on every step of a bulk action (stripped: blanks count as empty)."""

    comment = forms.CharField(label="意见", required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args, reject: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if reject:
            field = self.fields["comment"]
            field.label = "不予通过理由"
            field.required = True
            field.error_messages["required"] = "不予通过须填写理由。"
            field.help_text = "将记入每件申请的办理步骤。"
        else:
            self.fields["comment"].help_text = "可空；将记入每件申请的办理步骤。"


# ---------------------------------------------------------------------------------------------------------
# Admins


@admin.register(Application)
class ApplicationAdmin(ApplicationStepsMixin, ScopedAdminMixin, admin.ModelAdmin):
    """No form edits an application: it moves only through the steps of ``procedures.services``, from the
    buttons of its page (``procedure_view``) and the bulk actions."""

    # Two-line cells and short headings: the queue fits beside the admin's sidebar and filters at 1366 px.
    list_display = (
        "queue_household",
        "queue_village",
        "queue_application",
        "queue_state",
        "verdict_display",
        "queue_waiting_days",
        "next_step_short",
        "alert_display",
    )
    list_select_related = ("household__village__township",)
    list_filter = (WaitingForMeFilter, "kind", "state", "year", *geography_filters("household__village"))
    search_fields = ("household__household_number",)
    search_help_text = "按户编号搜索"
    ordering = ("state_entered_at", "pk")  # the longest waiting first
    list_per_page = 50
    actions = ("bulk_approve", "bulk_reject")
    change_form_template = "admin/procedures/application/change_form.html"
    change_list_template = "admin/procedures/application/change_list.html"
    fieldsets = (
        (
            "申请",
            {
                "fields": (
                    "household_display",
                    "head_name_display",
                    "village_display",
                    "kind",
                    "year",
                    "state",
                    "next_step_display",
                    "state_entered_at",
                    "waiting_days_display",
                    "created_by_display",
                    "created_at",
                )
            },
        ),
        ("公示", {"fields": ("notice_started_on", "notice_ends_on", "notice_display")}),
        ("申请年度的退出评估", {"fields": ("assessment_display",)}),
    )
    readonly_fields = (
        *(name for _, options in fieldsets for name in options["fields"]),
        "signatures_display",
        "decision_display",
    )
    inlines = (StepInline, ObjectionInline, SignatureInline)

    def get_queryset(self, request):
        """Each list column in the page's one query: the active head, the verdict of the application year's
        current assessment and the oldest open alert, as correlated subqueries."""
        heads = Member.objects.filter(household_id=OuterRef("household_id"), relation=Relation.HEAD, is_active=True)
        verdicts = Assessment.objects.filter(
            household_id=OuterRef("household_id"), year=OuterRef("year"), is_current=True
        )
        alerts = Alert.objects.filter(application_id=OuterRef("pk"), resolved_at__isnull=True).order_by("created_at")
        return (
            super()
            .get_queryset(request)
            .select_related("household__village__township", "created_by__cadre")
            .annotate(
                head_name=Subquery(heads.order_by("pk").values("name")[:1]),
                eligible_now=Subquery(verdicts.values("eligible")[:1]),
                open_alert_kind=Subquery(alerts.values("kind")[:1]),
            )
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.kind == Kind.IDENTIFICATION:
            fieldsets = [*fieldsets, ("六签字（县级审批前须齐全）", {"fields": ("signatures_display",)})]
        if obj is not None and obj.state == State.COUNTY_APPROVED:
            fieldsets = [*fieldsets, ("县级审批决定", {"fields": ("decision_display",)})]
        return fieldsets

    def get_inlines(self, request, obj):
        if obj is not None and obj.kind != Kind.IDENTIFICATION:
            return [inline for inline in self.inlines if inline is not SignatureInline]
        return self.inlines

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_transition_permission(self, request) -> bool:
        """May use the bulk actions: a workflow role somewhere (the service still checks each application)."""
        if not self.has_view_permission(request):
            return False
        user = request.user
        return user.is_superuser or bool(jurisdiction_for(user).roles & workflow.ANY_REVIEWER)

    def changelist_view(self, request, extra_context=None):
        alerts = scope_to(request.user, Alert.objects.filter(resolved_at__isnull=True))
        extra_context = {
            **(extra_context or {}),
            "open_alert_count": alerts.count(),
            "alerts_url": reverse("admin:procedures_alert_changelist") + "?resolved=no",
        }
        return super().changelist_view(request, extra_context)

    # --- columns and fields -------------------------------------------------------------------------

    @admin.display(description="贫困户", ordering="household__household_number")
    def household_display(self, obj: Application) -> str:
        return _household_link(obj.household)

    @admin.display(description="户主", ordering="head_name")
    def head_name_display(self, obj: Application) -> str:
        return obj.head_name or "（无在户户主）"

    @admin.display(description="所在村")
    def village_display(self, obj: Application) -> str:
        village = obj.household.village
        return f"{village.township.name}{village.name}"

    @admin.display(description="申请年度评估")
    def verdict_display(self, obj: Application) -> str:
        if obj.eligible_now is None:
            return "未评估"
        if obj.eligible_now:
            return format_html('<span class="verdict-eligible">{}</span>', "✓ 达标")
        return format_html('<span class="verdict-not-eligible">{}</span>', "✗ 未达标")

    @admin.display(description="在当前环节已等待（天）", ordering="-state_entered_at")
    def waiting_days_display(self, obj: Application):
        days = waiting_days(obj)
        return "已办结" if days is None else days

    @admin.display(description="下一步")
    def next_step_display(self, obj: Application) -> str:
        transitions = forward_transitions(obj.kind, obj.state)
        if not transitions:
            return "已办结"
        return "；".join(
            f"{labels.action_label(t.action)} → {labels.state_label(t.target)}（{roles_text(t.roles)}办理"
            f"{'，公示期满后' if t.needs_notice_over else ''}）"
            for t in transitions
        )

    # --- the queue's columns (read from the list query's annotations) ---------------------------------

    @admin.display(description="贫困户", ordering="head_name")
    def queue_household(self, obj: Application) -> str:
        url = reverse("admin:households_household_change", args=[obj.household_id])
        head = obj.head_name or "（无在户户主）"
        return format_html('<a href="{}">{}</a><br><small>{}</small>', url, head, obj.household.household_number)

    @admin.display(description="所在村", ordering="household__village__code")
    def queue_village(self, obj: Application) -> str:
        village = obj.household.village
        return format_html("{}<br><small>{}</small>", village.name, village.township.name)

    @admin.display(description="申请", ordering="year")
    def queue_application(self, obj: Application) -> str:
        return f"{obj.year}年{obj.get_kind_display()}"

    @admin.display(description="当前环节", ordering="state")
    def queue_state(self, obj: Application) -> str:
        if obj.state in workflow.NOTICE_STATES and obj.notice_ends_on:
            return format_html(
                "{}<br><small>公示至{}</small>", obj.get_state_display(), f"{obj.notice_ends_on:%Y-%m-%d}"
            )
        return obj.get_state_display()

    @admin.display(description="已等待（天）", ordering="-state_entered_at")
    def queue_waiting_days(self, obj: Application):
        days = waiting_days(obj)
        return "已办结" if days is None else days

    @admin.display(description="下一步")
    def next_step_short(self, obj: Application) -> str:
        transitions = forward_transitions(obj.kind, obj.state)
        if not transitions:
            return "已办结"
        return format_html(
            "{}<br><small>{}</small>",
            "；".join(labels.action_label(t.action) for t in transitions),
            "；".join(roles_text(t.roles) for t in transitions),
        )

    @admin.display(description="提醒")
    def alert_display(self, obj: Application) -> str:
        kind = getattr(obj, "open_alert_kind", None)
        return f"⚠ {AlertKind(kind).label}" if kind else ""

    @admin.display(description="经办人")
    def created_by_display(self, obj: Application) -> str:
        return user_display_name(obj.created_by)

    @admin.display(description="公示情况")
    def notice_display(self, obj: Application) -> str:
        if obj.notice_ends_on is None:
            return "尚未公示"
        today = timezone.localdate()
        if obj.state not in workflow.NOTICE_STATES:
            return f"公示期{obj.notice_started_on:%Y-%m-%d}至{obj.notice_ends_on:%Y-%m-%d}"
        if today <= obj.notice_ends_on:
            return f"公示中，至{obj.notice_ends_on:%Y-%m-%d}止，尚余{(obj.notice_ends_on - today).days + 1}天"
        return f"公示期已于{obj.notice_ends_on:%Y-%m-%d}届满，可进入下一步"

    @admin.display(description="签字情况")
    def signatures_display(self, obj: Application) -> str:
        signed = set(obj.signatures.values_list("signatory", flat=True))
        missing = [s.label for s in Signatory if s.value not in signed]
        if not missing:
            return "六签字已齐全"
        return f"已签{len(signed)}项，尚缺：{'、'.join(missing)}"

    @admin.display(description="决定")
    def decision_display(self, obj: Application) -> str:
        """The decision the county approval produced, and the county's chain head: printed on the notice (公告),
        its hash pins the decision log as it stood (``manage.py verify_decisions``)."""
        decision = obj.decisions.select_related("decided_by__cadre", "county").order_by("-pk").first()
        if decision is None:
            return "—"
        return render_to_string(
            "admin/procedures/application/decision.html",
            {
                "decision": decision,
                "decided_by": user_display_name(decision.decided_by) if decision.decided_by else "—",
                "url": reverse("admin:procedures_decision_change", args=[decision.pk]),
                "head": decisions.chain_head(decision.county),
            },
        )

    @admin.display(description="评估结果")
    def assessment_display(self, obj: Application) -> str:
        assessments = list(Assessment.objects.filter(household_id=obj.household_id, year=obj.year, is_current=True))
        return render_assessments(assessments, current_year=obj.year)

    # --- bulk actions ------------------------------------------------------------------------------

    @admin.action(description="批量通过（进入下一环节）", permissions=["transition"])
    def bulk_approve(self, request, queryset: QuerySet[Application]):
        return self._bulk_transition(request, queryset, reject=False)

    @admin.action(description="批量不予通过", permissions=["transition"])
    def bulk_reject(self, request, queryset: QuerySet[Application]):
        return self._bulk_transition(request, queryset, reject=True)

    def _bulk_transition(self, request, queryset: QuerySet[Application], *, reject: bool):
        """Confirmation page first (what each application's step will be, and the comment); on confirmation,
        each application goes through the service on its own and the result page lists every outcome."""
        applications = list(queryset.select_related("household").order_by("pk")[: MAX_BULK + 1])
        if len(applications) > MAX_BULK:
            self.message_user(request, f"一次最多批量办理{MAX_BULK}件申请，请缩小范围后再试。", messages.WARNING)
            return None
        if reject:
            plan = [
                (application, workflow.transition_for(application.kind, Action.REJECT, application.state))
                for application in applications
            ]
        else:
            plan = [(application, forward_action(application)) for application in applications]
        action_name = "bulk_reject" if reject else "bulk_approve"
        title = "批量不予通过" if reject else "批量通过（进入下一环节）"
        form = BulkTransitionForm(request.POST if "confirm" in request.POST else None, reject=reject)
        if form.is_bound and form.is_valid():
            outcomes = self._apply(request, plan, reject=reject, comment=form.cleaned_data["comment"])
            return self._render_result(request, outcomes, title=title)
        rows = [
            {
                "application": application,
                "action_label": labels.action_label(transition.action) if transition else "",
                "target_label": labels.state_label(transition.target) if transition else "",
                "roles": roles_text(transition.roles) if transition else "",
            }
            for application, transition in plan
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "rows": rows,
            "form": form,
            "reject": reject,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/procedures/application/bulk_confirm.html", context)

    def _apply(self, request, plan, *, reject: bool, comment: str) -> list[services.BulkOutcome]:
        outcomes: dict[int, services.BulkOutcome] = {}
        groups: dict[str, list[Application]] = defaultdict(list)
        for application, transition in plan:
            if reject:
                groups[Action.REJECT].append(application)
            elif transition is None:
                outcomes[application.pk] = services.BulkOutcome(
                    application, False, f"申请处于“{application.get_state_display()}”环节，已办结，没有下一环节。"
                )
            else:
                groups[transition.action].append(application)
        for action, members in groups.items():
            for outcome in services.applications_bulk_transition(
                actor=request.user, applications=members, action=action, comment=comment
            ):
                outcomes[outcome.application.pk] = outcome
        return [outcomes[application.pk] for application, _ in plan]

    def _render_result(self, request, outcomes: list[services.BulkOutcome], *, title: str):
        passed = [o for o in outcomes if o.passed]
        refused = [o for o in outcomes if not o.passed]
        # Re-read the refused ones: the service left them as they were, and the page shows where they stand.
        current = Application.objects.select_related("household").in_bulk([o.application.pk for o in refused])
        refused_rows = [
            {"application": current.get(o.application.pk, o.application), "reason": o.reason} for o in refused
        ]
        level = messages.SUCCESS if not refused else (messages.WARNING if passed else messages.ERROR)
        self.message_user(request, f"{title}：{len(passed)}件已办理，{len(refused)}件未通过。", level)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}：办理结果",
            "subtitle": None,
            "opts": self.model._meta,
            "passed": passed,
            "refused": refused_rows,
            "changelist_url": request.get_full_path(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/procedures/application/bulk_result.html", context)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """The daily jobs' list for supervisors (read-only: alerts resolve themselves when no longer true)."""

    list_display = (
        "kind",
        "household_display",
        "application_display",
        "year",
        "message",
        "created_at",
        "resolved_at",
    )
    list_select_related = ("household", "application")
    list_filter = ("kind", AlertResolvedFilter, "year", *geography_filters("household__village"))
    search_fields = ("household__household_number",)
    search_help_text = "按户编号搜索"
    fields = ("kind", "household_display", "application_display", "year", "message", "created_at", "resolved_at")
    readonly_fields = fields
    list_per_page = 50

    @admin.display(description="贫困户", ordering="household__household_number")
    def household_display(self, obj: Alert) -> str:
        return _household_link(obj.household)

    @admin.display(description="申请")
    def application_display(self, obj: Alert) -> str:
        application = obj.application
        if application is None:
            return "-"
        url = reverse("admin:procedures_application_change", args=[application.pk])
        text = f"{application.year}年{application.get_kind_display()}（{application.get_state_display()}）"
        return format_html('<a href="{}">{}</a>', url, text)
