"""Cadres and their roles (DOMAIN.md §7): who may see and do what, where.

A role assignment binds a cadre to one level of the administrative tree (county, township or village);
a supervisor without a place is city-wide. Helpers (帮扶责任人) reach households through household
assignments. Assignments carry start and end dates so that the history of who helped whom is kept.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from assistance.choices import (
    BorrowerKind,
    LoanEventKind,
    LoanStatus,
    MeasureCategory,
    MeasureStatus,
    Role,
    UnitLevel,
    WarningLevel,
)
from villages.models import County, Township, Village

# Which place each role is bound to. None: no place (supervisors may be city-wide; helpers are bound to
# households through HouseholdAssignment).
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    Role.COUNTY_STAFF: ("county",),
    Role.TOWNSHIP_STAFF: ("township",),
    Role.FIRST_SECRETARY: ("village",),
    Role.WORK_TEAM: ("village",),
    Role.VILLAGE_LEADER: ("village",),
    # A helper's place (optional) is the office that manages them, so that county or township staff can create
    # and see their helpers; it grants no jurisdiction: a helper sees only the households assigned to them.
    Role.HELPER: ("county", "township", "village", "none"),
    Role.SUPERVISOR: ("county", "none"),
}
LEVEL_LABELS = {"county": "县", "township": "乡镇", "village": "村"}


class ActiveQuerySet(models.QuerySet):
    def active_on(self, day: dt.date | None = None):
        day = day or timezone.localdate()
        return self.filter(Q(starts_on__lte=day), Q(ends_on__isnull=True) | Q(ends_on__gte=day))


class Unit(models.Model):
    name = models.CharField("单位名称", max_length=100, unique=True)
    level = models.CharField("单位层级", max_length=16, choices=UnitLevel.choices)

    class Meta:
        verbose_name = "帮扶单位"
        verbose_name_plural = "帮扶单位"
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class Cadre(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cadre", verbose_name="登录账号"
    )
    name = models.CharField("姓名", max_length=50)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="cadres", verbose_name="帮扶单位"
    )
    position = models.CharField("职务", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "干部"
        verbose_name_plural = "干部"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.phone and not self.phone.replace("-", "").isdigit():
            raise ValidationError({"phone": "联系电话只能包含数字和“-”。"})


class RoleAssignment(models.Model):
    cadre = models.ForeignKey(Cadre, on_delete=models.CASCADE, related_name="roles", verbose_name="干部")
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, null=True, blank=True, related_name="role_assignments", verbose_name="县"
    )
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, null=True, blank=True, related_name="role_assignments", verbose_name="乡镇"
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, null=True, blank=True, related_name="role_assignments", verbose_name="村"
    )
    starts_on = models.DateField("开始日期", default=timezone.localdate)
    ends_on = models.DateField("结束日期", null=True, blank=True)

    objects = ActiveQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = "角色分配"
        verbose_name_plural = "角色分配"
        ordering = ["cadre_id", "role"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="role_assignment_ends_after_start",
                violation_error_message="结束日期不能早于开始日期。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadre} {self.get_role_display()} {self.place or '全市'}"

    @property
    def place(self):
        return self.village or self.township or self.county

    @property
    def level(self) -> str:
        if self.village_id:
            return "village"
        if self.township_id:
            return "township"
        if self.county_id:
            return "county"
        return "none"

    def clean(self) -> None:
        bound = [name for name in ("county", "township", "village") if getattr(self, f"{name}_id")]
        if len(bound) > 1:
            raise ValidationError("一个角色只能绑定一级辖区（县、乡镇或村）之一。")
        allowed = ROLE_LEVELS.get(self.role, ())
        level = self.level
        if not allowed and level != "none":
            raise ValidationError(f"“{self.get_role_display()}”不绑定辖区，其帮扶对象通过帮扶户分配确定。")
        if allowed and level not in allowed:
            wanted = "或".join(LEVEL_LABELS[name] for name in allowed if name != "none")
            raise ValidationError(f"“{self.get_role_display()}”须绑定到{wanted}。")
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "结束日期不能早于开始日期。"})


class HouseholdAssignment(models.Model):
    """A responsible helper (帮扶责任人) for a household, for a period (DOMAIN.md §7)."""

    household = models.ForeignKey(
        "households.Household", on_delete=models.CASCADE, related_name="helper_assignments", verbose_name="贫困户"
    )
    cadre = models.ForeignKey(
        Cadre, on_delete=models.PROTECT, related_name="household_assignments", verbose_name="帮扶责任人"
    )
    starts_on = models.DateField("开始日期", default=timezone.localdate)
    ends_on = models.DateField("结束日期", null=True, blank=True)

    objects = ActiveQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = "帮扶户分配"
        verbose_name_plural = "帮扶户分配"
        ordering = ["household_id", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="household_assignment_ends_after_start",
                violation_error_message="结束日期不能早于开始日期。",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(ends_on__isnull=True),
                name="household_one_open_helper",
                violation_error_message="该户已有一名在岗的帮扶责任人，请先结束原分配。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadre} → {self.household}"


# National policy (DOMAIN.md §7), not configurable: up to 50,000 yuan, up to 36 months, borrower aged 18–65.
LOAN_MAX_AMOUNT = 50_000
LOAN_MAX_TERM_MONTHS = 36
LOAN_BORROWER_AGES = (18, 65)


def months_after(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the last day of the month when that day does not exist)."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class HouseholdMeasure(models.Model):
    """An assistance measure applied to a household in a year (帮扶措施, DOMAIN.md §7)."""

    household = models.ForeignKey(
        "households.Household", on_delete=models.CASCADE, related_name="measures", verbose_name="贫困户"
    )
    year = models.PositiveSmallIntegerField("年度")
    category = models.CharField("措施类别", max_length=20, choices=MeasureCategory.choices)
    description = models.CharField("措施内容", max_length=300)
    amount = models.DecimalField(
        "金额（元）",
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0, message="金额不能为负数。")],
    )
    status = models.CharField("状态", max_length=16, choices=MeasureStatus.choices, default=MeasureStatus.PLANNED)
    cadre = models.ForeignKey(
        Cadre, on_delete=models.PROTECT, null=True, blank=True, related_name="measures", verbose_name="责任人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "帮扶措施"
        verbose_name_plural = "帮扶措施"
        ordering = ["household_id", "-year", "category"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="measure_amount_not_negative",
                violation_error_message="金额不能为负数。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}年 {self.get_category_display()}：{self.description}"


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}MB" if size >= 1024 * 1024 else f"{size / 1024:.0f}KB"


def validate_photo_content(photo) -> None:
    """The file must really be an image (an extension can lie): Pillow must be able to read it."""
    if not photo:
        return
    from PIL import Image, UnidentifiedImageError

    position = photo.tell() if hasattr(photo, "tell") else 0
    try:
        photo.seek(0)
        with Image.open(photo) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("上传的照片不是有效的图片文件（支持JPG、PNG等格式）。") from None
    finally:
        photo.seek(position)


def validate_photo_size(photo) -> None:
    limit = settings.VISIT_PHOTO_MAX_BYTES
    if photo and photo.size > limit:
        raise ValidationError(f"照片不能超过{_size(limit)}，当前为{_size(photo.size)}。")


class Visit(models.Model):
    """A visit to a household (走访记录), the helper's work log; it may update the two-no-worries facts."""

    household = models.ForeignKey(
        "households.Household", on_delete=models.CASCADE, related_name="visits", verbose_name="贫困户"
    )
    cadre = models.ForeignKey(Cadre, on_delete=models.PROTECT, related_name="visits", verbose_name="走访人")
    visited_on = models.DateField("走访日期")
    purpose = models.CharField("走访目的", max_length=200)
    findings = models.TextField("走访情况")
    problems = models.TextField("存在问题", blank=True)
    follow_up = models.TextField("下一步措施", blank=True)
    photo = models.ImageField(
        "照片", upload_to="visits/%Y/%m/", blank=True, validators=[validate_photo_size, validate_photo_content]
    )
    food_secure = models.BooleanField("核实：不愁吃", null=True, blank=True)
    clothing_secure = models.BooleanField("核实：不愁穿", null=True, blank=True)
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "走访记录"
        verbose_name_plural = "走访记录"
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["household", "-visited_on"], name="visit_household_date")]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.cadre} 走访 {self.household}"

    def clean(self) -> None:
        if self.visited_on and self.visited_on > timezone.localdate():
            raise ValidationError({"visited_on": "走访日期不能晚于今天。"})
        if not (self.findings or "").strip():
            raise ValidationError({"findings": "请填写走访情况。"})


class MicroLoan(models.Model):
    """A poverty-alleviation micro-loan (扶贫小额信贷, DOMAIN.md §7)."""

    household = models.ForeignKey(
        "households.Household", on_delete=models.PROTECT, related_name="loans", verbose_name="贫困户"
    )
    borrower = models.ForeignKey(
        "households.Member", on_delete=models.PROTECT, related_name="loans", verbose_name="借款人"
    )
    borrower_kind = models.CharField(
        "使用方式", max_length=16, choices=BorrowerKind.choices, default=BorrowerKind.HOUSEHOLD
    )
    enterprise_name = models.CharField("带贫企业", max_length=100, blank=True)
    bank = models.CharField("贷款银行", max_length=100)
    amount = models.DecimalField("贷款金额（元）", max_digits=10, decimal_places=2)
    issued_on = models.DateField("发放日期")
    term_months = models.PositiveSmallIntegerField("期限（月）")
    maturity_date = models.DateField("到期日期", editable=False)
    interest_rate = models.DecimalField("年利率（%）", max_digits=5, decimal_places=2)
    subsidy_rate = models.DecimalField("贴息比例（%）", max_digits=5, decimal_places=2, default=100)
    status = models.CharField("状态", max_length=16, choices=LoanStatus.choices, default=LoanStatus.ACTIVE)
    warning_level = models.CharField(
        "到期预警", max_length=8, choices=WarningLevel.choices, default=WarningLevel.GREEN, db_index=True
    )
    repaid_on = models.DateField("还清日期", null=True, blank=True)
    reward_amount = models.DecimalField("按期还款奖励（元）", max_digits=10, decimal_places=2, null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "扶贫小额信贷"
        verbose_name_plural = "扶贫小额信贷"
        ordering = ["maturity_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=LOAN_MAX_AMOUNT),
                name="loan_amount_up_to_50000",
                violation_error_message="扶贫小额信贷金额须大于0且不超过5万元。",
            ),
            models.CheckConstraint(
                condition=Q(term_months__gte=1) & Q(term_months__lte=LOAN_MAX_TERM_MONTHS),
                name="loan_term_up_to_36_months",
                violation_error_message="扶贫小额信贷期限为1至36个月。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.bank} {self.amount}元"


class LoanEvent(models.Model):
    """Repayment, extension (展期) or renewal without repaying principal (无还本续贷) of a micro-loan."""

    loan = models.ForeignKey(MicroLoan, on_delete=models.PROTECT, related_name="events", verbose_name="贷款")
    kind = models.CharField("类别", max_length=16, choices=LoanEventKind.choices)
    happened_on = models.DateField("日期")
    amount = models.DecimalField(
        "金额（元）", max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    new_maturity_date = models.DateField("新到期日期", null=True, blank=True)
    comment = models.CharField("说明", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "贷款事项"
        verbose_name_plural = "贷款事项"
        ordering = ["loan_id", "happened_on", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.happened_on}"
