"""The field pages (DOMAIN.md §7): server-rendered, Chinese, for first secretaries, work teams and helpers.

Every view needs a login, and every queryset goes through ``scope_to``: a household, visit or village outside
the user's jurisdiction is a 404, exactly as in the admin and the API. Views translate: they read the same
selectors (``compliance_gaps``, ``village_exit_check``, ``household_search`` through the shared filterset,
``procedures.selectors``' offers and alerts) and call the same services (``visit_log``, ``application_open``) as
the back office; no rule is decided here.

The procedures on the phone (DOMAIN.md §5): the household card lists the household's decisions, its applications
in progress and its open alerts, explains a status that disagrees with the current verdict, and offers
"提出退出申请" when the user may propose it (``household_propose_exit``: a confirmation page, then the service);
the list and the village page show the open alerts of the user's households.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from assessments.models import Assessment
from assessments.rules import CRITERION_LABELS, WARNING_LABELS
from assessments.selectors import current_assessment_year, village_exit_check
from assistance.models import HouseholdAssignment, HouseholdMeasure, MicroLoan, Visit
from assistance.selectors import compliance_gaps
from assistance.services import visit_log
from field.forms import VisitForm
from households.choices import HouseholdStatus, Relation
from households.filtersets import HouseholdFilterSet
from households.models import Household, IncomeRecord, Member, PersonalDataAccess
from households.personal_data import may_view_personal_data, record_reveal, shown_id_number, shown_phone
from households.selectors import with_head
from povertycase.jurisdiction import scope_to
from procedures import labels as procedure_labels
from procedures import selectors as procedure_selectors
from procedures.choices import AlertKind, Kind, State
from procedures.forms import OpenApplicationForm, application_forms, join_reasons, submit_application_form
from procedures.models import Application, Decision, Objection, Signature, Step
from procedures.services import application_open
from villages.models import Village

PAGE_SIZE = 25
RECENT_VISITS = 10
#: The open alerts a list or village page shows (the newest; the count says how many there are).
ALERTS_SHOWN = 20
VISIT_PERMISSION = "assistance.add_visit"


# --- shared pieces ----------------------------------------------------------------------------------------


def _household_rows(queryset: QuerySet[Household], *, year: int) -> QuerySet[Household]:
    """The columns of a household list, each one correlated subquery (one query per page, no N+1): the active
    head's name, the current assessment's verdict for ``year`` (None: not assessed) and the last visit day."""
    verdicts = Assessment.objects.filter(household=OuterRef("pk"), year=year, is_current=True)
    visits = Visit.objects.filter(household=OuterRef("pk")).order_by("-visited_on")
    return with_head(queryset.select_related("village")).annotate(
        eligible_now=Subquery(verdicts.values("eligible")[:1]),
        last_visited_on=Subquery(visits.values("visited_on")[:1]),
    )


def _page(request: HttpRequest, queryset: QuerySet) -> Page:
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for row in page.object_list:
        last = getattr(row, "last_visited_on", None)
        # The same figure as assistance.selectors.days_since_last_visit, read from the page's annotation.
        row.days_since_visit = None if last is None else (today - last).days
    return page


def _scoped_household(request: HttpRequest, pk: int) -> Household:
    households = scope_to(request.user, Household.objects.select_related("village__township", "village__county"))
    return get_object_or_404(households, pk=pk)


def _may_log_visits(user) -> bool:
    return user.has_perm(VISIT_PERMISSION) and hasattr(user, "cadre")


# --- my households ------------------------------------------------------------------------------------------


@login_required
def household_list(request: HttpRequest) -> HttpResponse:
    """My households (我的帮扶户): the households in the user's jurisdiction, searchable, 25 a page."""
    year = current_assessment_year()
    filterset = HouseholdFilterSet(request.GET or None, queryset=scope_to(request.user, Household.objects.all()))
    page = _page(request, _household_rows(filterset.qs, year=year))
    return render(
        request,
        "field/household_list.html",
        {
            "page": page,
            "query": request.GET.get("q", "").strip(),
            "status": request.GET.get("status", ""),
            "statuses": HouseholdStatus.choices,
            "year": year,
            **_alerts(procedure_selectors.open_alerts(request.user)),
        },
    )


def _alerts(alerts: QuerySet) -> dict:
    """The page's open alerts: the newest ``ALERTS_SHOWN`` and how many there are."""
    shown = list(alerts[:ALERTS_SHOWN])
    return {"alerts": shown, "alert_count": len(shown) if len(shown) < ALERTS_SHOWN else alerts.count()}


# --- household card -----------------------------------------------------------------------------------------


@login_required
def household_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The household card: members, incomes, the latest assessment, measures, loans and recent visits."""
    user = request.user
    household = _scoped_household(request, pk)
    members = list(scope_to(user, Member.objects.filter(household=household)).order_by("-is_active", "id"))
    for member in members:
        member.shown_id_number = shown_id_number(user, member.id_number)
    if may_view_personal_data(user):
        # DOMAIN.md §8: every whole ID number or phone shown is recorded.
        path = request.get_full_path()
        page = PersonalDataAccess.Channel.PAGE
        record_reveal(user=user, channel=page, model="member", object_ids=[m.pk for m in members], path=path)
        if household.phone:
            record_reveal(user=user, channel=page, model="household", object_ids=[household.pk], path=path)

    assessments = list(scope_to(user, Assessment.objects.filter(household=household, is_current=True)))
    by_year = {assessment.year: assessment for assessment in assessments}
    latest = max(assessments, key=lambda a: a.year, default=None)
    incomes = list(scope_to(user, IncomeRecord.objects.filter(household=household)).order_by("-year"))
    for income in incomes:
        assessed = by_year.get(income.year)
        income.per_capita = assessed.per_capita_net_income if assessed else None

    year = current_assessment_year()
    alerts = list(procedure_selectors.open_alerts(user).filter(household=household))
    offer = procedure_selectors.household_offer(user, household, year=year)
    current = by_year.get(year)
    alerted = any(alert.kind == AlertKind.RETURN_CANDIDATE for alert in alerts)

    visits = scope_to(user, Visit.objects.filter(household=household)).select_related("cadre")
    helper = (
        scope_to(user, HouseholdAssignment.objects.active_on().filter(household=household))
        .select_related("cadre")
        .first()
    )
    return render(
        request,
        "field/household_card.html",
        {
            "household": household,
            "phone": shown_phone(user, household.phone),
            "members": members,
            "head": next((m for m in members if m.relation == Relation.HEAD and m.is_active), None),
            "active_member_count": sum(1 for m in members if m.is_active),
            "incomes": incomes,
            "assessment": latest,
            "criteria": _criteria(latest),
            "warnings": _warnings(latest),
            "measures": scope_to(user, HouseholdMeasure.objects.filter(household=household))
            .select_related("cadre")
            .order_by("-year", "category"),
            "loans": scope_to(user, MicroLoan.objects.filter(household=household)).select_related("borrower"),
            "visits": visits[:RECENT_VISITS],
            "visit_count": visits.count(),
            "helper": helper,
            "may_log_visits": _may_log_visits(user),
            "year": year,
            "offer": offer,
            "exit_blocked": join_reasons(offer.exit_blocked),
            "status_note": procedure_selectors.status_verdict_note(household, current, alerted=alerted),
            "alerts": alerts,
            "applications": scope_to(user, Application.objects.filter(household=household))
            .exclude(state__in=[State.COUNTY_APPROVED, State.REJECTED])
            .order_by("-created_at"),
            "decisions": scope_to(user, Decision.objects.filter(household=household))
            .select_related("decided_by__cadre")
            .order_by("-decided_at", "-pk"),
        },
    )


def _criteria(assessment: Assessment | None) -> list[dict]:
    if assessment is None:
        return []
    return [
        {
            "label": CRITERION_LABELS.get(item["criterion"], item["criterion"]),
            "passed": item["passed"],
            "message": item["message"],
        }
        for item in assessment.criteria
    ]


def _warnings(assessment: Assessment | None) -> list[dict]:
    if assessment is None:
        return []
    return [
        {"label": WARNING_LABELS.get(item["code"], item["code"]), "message": item["message"]}
        for item in assessment.warnings
    ]


# --- propose an exit ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def household_propose_exit(request: HttpRequest, pk: int) -> HttpResponse:
    """提出退出申请 (DOMAIN.md §5): a confirmation page with the current assessment, then
    ``procedures.services.application_open`` (kind exit, the current assessment year); refused, the page again
    with the service's words (the failing criteria, who may propose)."""
    household = _scoped_household(request, pk)
    year = current_assessment_year()
    offer = procedure_selectors.household_offer(request.user, household, year=year)
    form = OpenApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = application_open(
                actor=request.user,
                household=household,
                kind=Kind.EXIT,
                year=year,
                comment=form.cleaned_data["comment"],
            )
        except (ValidationError, PermissionDenied, Http404) as refused:
            form.add_service_error(refused)
        else:
            messages.success(
                request,
                f"已提出{year}年退出申请，现处于“{application.get_state_display()}”环节；"
                "下一步民主评议须由村两委或驻村工作队的其他同志办理。",
            )
            return redirect(reverse("field:household", args=[household.pk]) + "#procedures")
    assessment = offer.assessment
    return render(
        request,
        "field/propose_exit.html",
        {
            "household": household,
            "year": year,
            "offer": offer,
            "exit_blocked": join_reasons(offer.exit_blocked),
            "assessment": assessment,
            "criteria": _criteria(assessment),
            "form": form,
            "notice_days": settings.NOTICE_PERIOD_DAYS,
        },
    )


# --- an application ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An identification or exit application (DOMAIN.md §5): where it stands, its steps (who, role, when, comment),
    objections and signatures, and a form for each step the user may take now (the same forms and services as
    the back office: ``procedures.forms.application_forms`` and ``submit_application_form``)."""
    user = request.user
    applications = scope_to(user, Application.objects.select_related("household__village__township"))
    application = get_object_or_404(applications, pk=pk)
    bound = submission = None
    if request.method == "POST":
        submission = submit_application_form(user, application, request.POST)
        if submission.done:
            messages.success(request, submission.message)
            return redirect("field:application", pk=application.pk)
        bound = (submission.key, submission.form)
    household = application.household
    head = Member.objects.filter(household=household, relation=Relation.HEAD, is_active=True).order_by("pk").first()
    assessment = (
        scope_to(user, Assessment.objects.filter(household=household, year=application.year, is_current=True))
        .order_by("-pk")
        .first()
    )
    steps = list(scope_to(user, Step.objects.filter(application=application)).select_related("actor__cadre"))
    for step in steps:
        step.action_label = procedure_labels.action_label(step.action)
        step.role_label = procedure_labels.role_label(step.role)
    return render(
        request,
        "field/application.html",
        {
            "application": application,
            "household": household,
            "head": head,
            "assessment": assessment,
            "criteria": _criteria(assessment),
            "steps": steps,
            "objections": scope_to(user, Objection.objects.filter(application=application)),
            "signatures": scope_to(user, Signature.objects.filter(application=application)).order_by(
                procedure_labels.signatory_order(), "pk"
            ),
            "procedure": application_forms(user, application, bound=bound),
            "refused": submission,
        },
    )


@login_required
def visit_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A visit's photo, only to users who may see the visit (photos are not served from a public folder)."""
    visit = get_object_or_404(scope_to(request.user, Visit.objects.exclude(photo="")), pk=pk)
    response = FileResponse(visit.photo.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"  # never kept by a shared cache
    return response


# --- log a visit ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a visit (记录走访): validate with ``VisitForm``, write with ``assistance.services.visit_log``."""
    household = _scoped_household(request, pk)
    context = {"household": household, "photo_limit_mb": f"{settings.VISIT_PHOTO_MAX_BYTES / 1024 / 1024:g}"}
    cadre = getattr(request.user, "cadre", None)
    if cadre is None:
        context["refusal"] = "您的账号没有干部档案，不能记录走访。请联系县扶贫办在“干部”中为您建立档案。"
        return render(request, "field/visit_form.html", context, status=403)
    if not request.user.has_perm(VISIT_PERMISSION):
        context["refusal"] = "您当前的角色不能记录走访。"
        return render(request, "field/visit_form.html", context, status=403)

    if request.method == "POST":
        form = VisitForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                visit_log(actor=request.user, household=household, cadre=cadre, **form.visit_fields())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "走访记录已保存。")
                return redirect(reverse("field:household", args=[household.pk]) + "#visits")
    else:
        form = VisitForm()
    context["form"] = form
    return render(request, "field/visit_form.html", context)


# --- village page -----------------------------------------------------------------------------------------------

HOUSEHOLD_GAP_LABELS = {
    "no_helper": "无帮扶责任人",
    "no_measure": "本年无帮扶措施",
    "no_clarity_card": "未发放明白卡",
    "no_recent_visit": "长期未走访",
}


@login_required
def village_list(request: HttpRequest) -> HttpResponse:
    """The villages of the user's jurisdiction; a first secretary (one village) goes straight to theirs."""
    villages = scope_to(request.user, Village.objects.select_related("township")).order_by("code")
    if len(codes := list(villages.values_list("code", flat=True)[:2])) == 1:
        return redirect("field:village", code=codes[0])
    page = Paginator(villages, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "field/village_list.html", {"page": page})


@login_required
def village_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A village: its households, its "九个一" gaps and its poverty incidence (village exit check, §6)."""
    user = request.user
    village = get_object_or_404(scope_to(user, Village.objects.select_related("township", "county")), code=code)
    year = current_assessment_year()
    households = scope_to(user, Household.objects.filter(village=village))
    page = _page(request, _household_rows(households, year=year))

    gaps = compliance_gaps(user=user, village_code=village.code)
    village_gaps = [gap for gap in gaps if gap.level == "village"]
    household_gaps = [gap for gap in gaps if gap.level == "household"]
    numbers = sorted({gap.household_number for gap in household_gaps})
    household_ids = dict(households.filter(household_number__in=numbers).values_list("household_number", "pk"))
    gaps_by_household: dict[str, list[str]] = {}
    for gap in household_gaps:
        # The selector's message starts with the household number, which the page shows as a link already.
        gaps_by_household.setdefault(gap.household_number, []).append(gap.message.removeprefix(gap.household_number))
    counts = Counter(gap.code for gap in household_gaps)
    return render(
        request,
        "field/village_detail.html",
        {
            "village": village,
            "page": page,
            "year": year,
            "today": timezone.localdate(),
            "village_gaps": village_gaps,
            "gap_counts": [(HOUSEHOLD_GAP_LABELS.get(code, code), n) for code, n in sorted(counts.items())],
            "household_gaps": [
                {"number": number, "pk": household_ids.get(number), "messages": gaps_by_household[number]}
                for number in numbers
            ],
            "visit_gap_days": settings.VISIT_GAP_DAYS,
            "exit_check": village_exit_check(village),
            **_alerts(procedure_selectors.open_alerts(user).filter(household__village=village)),
        },
    )
