"""Writes of the assistance app: cadres with their logins and roles, helper assignments (DOMAIN.md §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from assistance.choices import BorrowerKind, LoanEventKind, LoanStatus, Role, WarningLevel
from assistance.models import (
    LOAN_BORROWER_AGES,
    LOAN_MAX_AMOUNT,
    LOAN_MAX_TERM_MONTHS,
    Cadre,
    HouseholdAssignment,
    HouseholdMeasure,
    LoanEvent,
    MicroLoan,
    RoleAssignment,
    Unit,
    Visit,
    months_after,
)
from assistance.roles import sync_user_groups
from households.models import Household
from povertycase.jurisdiction import covers, forget_jurisdiction, in_scope, jurisdiction_for
from povertycase.services import validated_save


def _save(instance, *, actor) -> None:
    validated_save(instance, user=actor)


def _check_place_in_scope(actor, assignment: RoleAssignment) -> None:
    """An actor may grant a role only inside their own jurisdiction; a city-wide role only if city-wide."""
    place = assignment.place
    if place is None:
        if not jurisdiction_for(actor).everything:
            raise PermissionDenied("只有市级管理员可以分配全市范围的角色。")
        return
    if not covers(actor, place):
        raise PermissionDenied(f"“{place}”不在您的辖区内，不能在此分配角色。")


@transaction.atomic
def role_assign(
    *,
    actor,
    cadre: Cadre,
    role: str,
    county=None,
    township=None,
    village=None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> RoleAssignment:
    assignment = RoleAssignment(
        cadre=cadre,
        role=role,
        county=county,
        township=township,
        village=village,
        starts_on=starts_on or timezone.localdate(),
        ends_on=ends_on,
    )
    assignment.full_clean()
    _check_place_in_scope(actor, assignment)
    _save(assignment, actor=actor)
    sync_user_groups(cadre.user)
    forget_jurisdiction(cadre.user)
    return assignment


@transaction.atomic
def role_end(*, actor, assignment: RoleAssignment, ends_on: dt.date | None = None) -> RoleAssignment:
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    _check_place_in_scope(actor, assignment)
    if assignment.ends_on is not None and assignment.ends_on <= timezone.localdate():
        raise ValidationError({"ends_on": f"该角色已于{assignment.ends_on:%Y-%m-%d}结束。"})
    assignment.ends_on = ends_on or timezone.localdate()
    _save(assignment, actor=actor)
    sync_user_groups(assignment.cadre.user)
    forget_jurisdiction(assignment.cadre.user)
    return assignment


@transaction.atomic
def cadre_create(
    *,
    actor,
    username: str,
    password: str,
    name: str,
    unit: Unit | None = None,
    position: str = "",
    phone: str = "",
    roles: Iterable[Mapping[str, Any]] = (),
) -> Cadre:
    """Create a cadre's login, profile and roles at once; any invalid part rejects the whole request."""
    User = get_user_model()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["请填写登录名。"]
    elif User.objects.filter(username=username).exists():
        errors["username"] = [f"登录名“{username}”已被使用。"]
    user = User(username=username)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    cadre = Cadre(user=user, name=name, unit=unit, position=position, phone=phone)
    _save(cadre, actor=actor)
    roles = list(roles)
    if not roles and not jurisdiction_for(actor).everything:
        # A cadre without a role would be invisible to the county staff who created it.
        raise ValidationError({"roles": "请至少为干部分配一个角色。"})
    for index, data in enumerate(roles):
        try:
            role_assign(actor=actor, cadre=cadre, **data)
        except ValidationError as exc:
            raise ValidationError({f"roles[{index}]": exc.messages}) from exc
        except TypeError as exc:
            raise ValidationError({f"roles[{index}]": ["角色字段不正确。"]}) from exc
    return cadre


@transaction.atomic
def household_assign_helper(
    *, actor, household: Household, cadre: Cadre, starts_on: dt.date | None = None
) -> HouseholdAssignment:
    """Make ``cadre`` the household's responsible helper from ``starts_on``, ending the previous open
    assignment the day before (exactly one active helper per household, DOMAIN.md §7)."""
    if not in_scope(actor, household):
        raise PermissionDenied("该户不在您的辖区内。")
    starts_on = starts_on or timezone.localdate()
    if not RoleAssignment.objects.active_on(starts_on).filter(cadre=cadre, role=Role.HELPER).exists():
        raise ValidationError({"cadre": f"{cadre}没有“帮扶责任人”角色，请先分配角色。"})
    current = HouseholdAssignment.objects.select_for_update().filter(household=household, ends_on__isnull=True).first()
    if current is not None:
        if current.cadre_id == cadre.pk:
            return current
        if current.starts_on >= starts_on:
            raise ValidationError({"starts_on": "新的帮扶开始日期须晚于原帮扶责任人的开始日期。"})
        current.ends_on = starts_on - dt.timedelta(days=1)
        _save(current, actor=actor)
    assignment = HouseholdAssignment(household=household, cadre=cadre, starts_on=starts_on)
    _save(assignment, actor=actor)
    forget_jurisdiction(cadre.user)
    return assignment


# --- Measures, visits, micro-loans (DOMAIN.md §7) ------------------------------------------------------------


MEASURE_EDITABLE_FIELDS = frozenset({"year", "category", "description", "amount", "status", "cadre"})


def _check_household_writable(actor, household: Household) -> None:
    if not in_scope(actor, household):
        raise Http404("该户不在您的辖区内。")


@transaction.atomic
def measure_save(*, actor, household: Household, measure: HouseholdMeasure | None = None, **fields) -> HouseholdMeasure:
    """Create or update an assistance measure of a household (帮扶措施, DOMAIN.md §7)."""
    _check_household_writable(actor, household)
    if measure is not None and measure.household_id != household.pk:
        raise ValidationError({"household": "不能把帮扶措施转到另一户，请在该户另行录入。"})
    measure = measure or HouseholdMeasure(household=household)
    # A misspelt or read-only name is refused, not silently ignored (as in households.services._assign).
    unknown = [name for name in fields if name not in MEASURE_EDITABLE_FIELDS]
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "未知或不可修改的字段。"))
    for name, value in fields.items():
        setattr(measure, name, value)
    if measure.cadre_id and not in_scope(actor, measure.cadre):
        raise ValidationError({"cadre": "责任人不在您的辖区内。"})
    _save(measure, actor=actor)
    return measure


@transaction.atomic
def visit_log(
    *,
    actor,
    household: Household,
    cadre: Cadre,
    visited_on: dt.date,
    purpose: str,
    findings: str,
    problems: str = "",
    follow_up: str = "",
    photo=None,
    food_secure: bool | None = None,
    clothing_secure: bool | None = None,
) -> Visit:
    """Log a visit (走访记录). If the visit assessed 不愁吃/不愁穿, the household's facts are updated in the same
    transaction (with history), which recomputes its eligibility after commit."""
    _check_household_writable(actor, household)
    visit = Visit(
        household=household,
        cadre=cadre,
        visited_on=visited_on,
        purpose=(purpose or "").strip(),
        findings=(findings or "").strip(),
        problems=(problems or "").strip(),
        follow_up=(follow_up or "").strip(),
        food_secure=food_secure,
        clothing_secure=clothing_secure,
    )
    if photo:
        visit.photo = photo
    _save(visit, actor=actor)
    changes = {}
    if food_secure is not None and food_secure != household.food_secure:
        changes["food_secure"] = food_secure
    if clothing_secure is not None and clothing_secure != household.clothing_secure:
        changes["clothing_secure"] = clothing_secure
    if changes:
        from households.services import household_update

        household_update(user=actor, household=household, **changes)
    return visit


def loan_warning_level(*, maturity_date: dt.date, today: dt.date, status: str) -> str:
    """Maturity warning (DOMAIN.md §7): green > 90 days, blue 31–90, yellow 8–30, red ≤ 7 or overdue."""
    if status == LoanStatus.OVERDUE:
        return WarningLevel.RED
    days = (maturity_date - today).days
    if days <= settings.LOAN_WARNING_RED_DAYS:
        return WarningLevel.RED
    if days <= settings.LOAN_WARNING_YELLOW_DAYS:
        return WarningLevel.YELLOW
    if days <= settings.LOAN_WARNING_BLUE_DAYS:
        return WarningLevel.BLUE
    return WarningLevel.GREEN


@transaction.atomic
def loan_issue(
    *,
    actor,
    household: Household,
    borrower,
    bank: str,
    amount,
    issued_on: dt.date,
    term_months: int,
    interest_rate,
    subsidy_rate=100,
    borrower_kind: str = BorrowerKind.HOUSEHOLD,
    enterprise_name: str = "",
) -> MicroLoan:
    """Record a micro-loan: at most 50,000 yuan and 36 months, borrower an active member aged 18–65 (§7)."""
    _check_household_writable(actor, household)
    errors: dict[str, str] = {}
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        errors["amount"] = "贷款金额须为数字。"
    else:
        # ``not is_finite()`` first: NaN cannot be compared (it would raise InvalidOperation).
        if not amount.is_finite() or amount <= 0 or amount > LOAN_MAX_AMOUNT:
            errors["amount"] = f"扶贫小额信贷金额须大于0且不超过{LOAN_MAX_AMOUNT:,}元，当前为{amount:,.2f}元。"
    if not isinstance(term_months, int) or not 1 <= term_months <= LOAN_MAX_TERM_MONTHS:
        errors["term_months"] = f"扶贫小额信贷期限为1至{LOAN_MAX_TERM_MONTHS}个月，当前为{term_months}个月。"
    if borrower.household_id != household.pk or not borrower.is_active:
        errors["borrower"] = "借款人须为本户在户成员。"
    elif issued_on:
        age = borrower.age_on(issued_on)
        low, high = LOAN_BORROWER_AGES
        if not low <= age <= high:
            errors["borrower"] = f"借款人须年满{low}周岁且不超过{high}周岁，{borrower.name}发放时{age}岁。"
    if borrower_kind == BorrowerKind.ENTERPRISE and not (enterprise_name or "").strip():
        errors["enterprise_name"] = "户贷企用须填写带贫企业名称。"
    if not issued_on:
        errors["issued_on"] = "请填写发放日期。"
    elif issued_on > timezone.localdate():
        errors["issued_on"] = "发放日期不能晚于今天。"
    if errors:
        raise ValidationError(errors)
    maturity = months_after(issued_on, term_months)
    loan = MicroLoan(
        household=household,
        borrower=borrower,
        bank=bank,
        amount=amount,
        issued_on=issued_on,
        term_months=term_months,
        maturity_date=maturity,
        interest_rate=interest_rate,
        subsidy_rate=subsidy_rate,
        borrower_kind=borrower_kind,
        enterprise_name=(enterprise_name or "").strip(),
        warning_level=loan_warning_level(maturity_date=maturity, today=timezone.localdate(), status=LoanStatus.ACTIVE),
    )
    _save(loan, actor=actor)
    return loan


def loan_reward(*, loan: MicroLoan) -> Decimal:
    """On-time repayment reward (§7): 2% of the amount to a household, 5% to an enterprise (带贫主体)."""
    percent = (
        settings.LOAN_REWARD_ENTERPRISE_PERCENT
        if loan.borrower_kind == BorrowerKind.ENTERPRISE
        else settings.LOAN_REWARD_HOUSEHOLD_PERCENT
    )
    return (loan.amount * Decimal(percent) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def loan_record_event(
    *,
    actor,
    loan: MicroLoan,
    kind: str,
    happened_on: dt.date,
    amount=0,
    new_maturity_date: dt.date | None = None,
    comment: str = "",
) -> LoanEvent:
    """Repayment (还款; repaid in full on or before maturity earns the reward), extension (展期, a later
    maturity date) or renewal without repaying principal (无还本续贷, a new term from the old maturity)."""
    loan = MicroLoan.objects.select_for_update().get(pk=loan.pk)
    _check_household_writable(actor, loan.household)
    if loan.status == LoanStatus.REPAID:
        raise ValidationError({"kind": "该笔贷款已还清，不能再记录事项。"})
    if not happened_on:
        raise ValidationError({"happened_on": "请填写日期。"})
    if happened_on > timezone.localdate():
        raise ValidationError({"happened_on": "日期不能晚于今天。"})
    if happened_on < loan.issued_on:
        raise ValidationError({"happened_on": f"日期不能早于发放日期{loan.issued_on:%Y-%m-%d}。"})
    amount = Decimal(str(amount or 0))
    event = LoanEvent(
        loan=loan,
        kind=kind,
        happened_on=happened_on,
        amount=amount,
        new_maturity_date=new_maturity_date,
        comment=comment,
        recorded_by=actor,
    )
    if kind == LoanEventKind.REPAYMENT:
        if not amount.is_finite() or amount <= 0:
            raise ValidationError({"amount": "还款金额须大于0。"})
        repaid = sum(loan.events.filter(kind=LoanEventKind.REPAYMENT).values_list("amount", flat=True), Decimal(0))
        if repaid + amount > loan.amount:
            raise ValidationError({"amount": f"累计还款{repaid + amount:,.2f}元超过贷款金额{loan.amount:,.2f}元。"})
        if repaid + amount == loan.amount:
            loan.status = LoanStatus.REPAID
            loan.repaid_on = happened_on
            loan.reward_amount = loan_reward(loan=loan) if happened_on <= loan.maturity_date else Decimal("0.00")
    elif kind in (LoanEventKind.EXTENSION, LoanEventKind.RENEWAL):
        if kind == LoanEventKind.RENEWAL:
            new_maturity_date = new_maturity_date or months_after(loan.maturity_date, loan.term_months)
        if not new_maturity_date or new_maturity_date <= loan.maturity_date:
            raise ValidationError({"new_maturity_date": "新到期日期须晚于原到期日期。"})
        total_months = (
            (new_maturity_date.year - loan.issued_on.year) * 12 + new_maturity_date.month - loan.issued_on.month
        )
        if kind == LoanEventKind.EXTENSION and total_months > LOAN_MAX_TERM_MONTHS + 12:
            raise ValidationError({"new_maturity_date": "展期后总期限过长（展期一般不超过原期限），请核对。"})
        event.new_maturity_date = new_maturity_date
        loan.maturity_date = new_maturity_date
        loan.status = LoanStatus.EXTENDED if kind == LoanEventKind.EXTENSION else LoanStatus.RENEWED
    else:
        raise ValidationError({"kind": "未知的贷款事项类别。"})
    event.full_clean()
    event.save()
    loan.warning_level = (
        loan.warning_level
        if loan.status == LoanStatus.REPAID
        else loan_warning_level(maturity_date=loan.maturity_date, today=timezone.localdate(), status=loan.status)
    )
    _save(loan, actor=actor)
    return event


def loans_refresh_warnings(*, today: dt.date | None = None) -> int:
    """Recompute every open loan's warning level (and mark loans past maturity overdue); the daily job.
    Returns how many loans changed. Idempotent."""
    today = today or timezone.localdate()
    changed = []
    # Whole rows: the history rows below copy every field, and a deferred field would cost a query per loan.
    open_loans = MicroLoan.objects.exclude(status=LoanStatus.REPAID)
    for loan in open_loans.iterator(chunk_size=2000):
        status = LoanStatus.OVERDUE if loan.maturity_date < today else loan.status
        level = loan_warning_level(maturity_date=loan.maturity_date, today=today, status=status)
        if (status, level) != (loan.status, loan.warning_level):
            loan.status, loan.warning_level = status, level
            changed.append(loan)
    with transaction.atomic():
        MicroLoan.objects.bulk_update(changed, ["status", "warning_level"], batch_size=1000)
        # bulk_update bypasses save(): write the history rows explicitly (GUIDE.md).
        if changed:
            MicroLoan.history.bulk_history_create(changed, update=True, default_change_reason="每日到期预警")
    return len(changed)
