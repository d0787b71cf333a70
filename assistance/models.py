"""Cadres and their roles (DOMAIN.md §7): who may see and do what, where.

A role assignment binds a cadre to one level of the administrative tree (county, township or village);
a supervisor without a place is city-wide. Helpers (帮扶责任人) reach households through household
assignments. Assignments carry start and end dates so that the history of who helped whom is kept.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from assistance.choices import Role, UnitLevel
from villages.models import County, Township, Village

# Which place each role is bound to. None: no place (supervisors may be city-wide; helpers are bound to
# households through HouseholdAssignment).
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    Role.COUNTY_STAFF: ("county",),
    Role.TOWNSHIP_STAFF: ("township",),
    Role.FIRST_SECRETARY: ("village",),
    Role.WORK_TEAM: ("village",),
    Role.VILLAGE_LEADER: ("village",),
    Role.HELPER: (),
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
