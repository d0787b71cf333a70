"""Identification and exit applications with their append-only step history, and the append-only, hash-chained
log of the decisions that change a household's status (DOMAIN.md §5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from procedures.choices import AlertKind, DecisionKind, DecisionSource, Kind, Signatory, State
from procedures.workflow import TERMINAL_STATES


class Application(models.Model):
    """A household's identification (识别) or exit (退出) application for a year, moving through §5's states."""

    kind = models.CharField("类别", max_length=16, choices=Kind.choices)
    household = models.ForeignKey(
        "households.Household", on_delete=models.PROTECT, related_name="applications", verbose_name="贫困户"
    )
    year = models.PositiveSmallIntegerField("年度")
    state = models.CharField("当前环节", max_length=24, choices=State.choices)
    notice_started_on = models.DateField("公示开始日期", null=True, blank=True)
    notice_ends_on = models.DateField("公示截止日期（含）", null=True, blank=True)
    state_entered_at = models.DateTimeField("进入当前环节时间")
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )

    class Meta:
        verbose_name = "识别/退出申请"
        verbose_name_plural = "识别/退出申请"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "household", "year"],
                condition=~Q(state=State.REJECTED),
                name="application_one_open_per_household_year",
                violation_error_message="该户本年度已有同类申请，不能重复提出。",
            ),
        ]
        indexes = [models.Index(fields=["kind", "state"], name="application_kind_state")]

    def __str__(self) -> str:
        return f"{self.household} {self.year}年{self.get_kind_display()}（{self.get_state_display()}）"

    @property
    def is_closed(self) -> bool:
        return self.state in TERMINAL_STATES


class Step(models.Model):
    """One step taken on an application: who, in which role, when, from which state to which, and why.
    Append-only: rows are never changed or deleted (the admin and API offer no way to)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="steps", verbose_name="申请")
    action = models.CharField("操作", max_length=32)
    from_state = models.CharField("原环节", max_length=24, choices=State.choices, blank=True)
    to_state = models.CharField("新环节", max_length=24, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="操作人"
    )
    role = models.CharField("操作人角色", max_length=20)
    comment = models.TextField("意见", blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)
    review_step = models.BooleanField("审核环节", default=True)

    class Meta:
        verbose_name = "办理步骤"
        verbose_name_plural = "办理步骤"
        ordering = ["application_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_to_state_display()} {self.actor} {self.at:%Y-%m-%d %H:%M}"


class Objection(models.Model):
    """异议 raised during a notice period; it sends the application back (DOMAIN.md §5)."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="objections", verbose_name="申请"
    )
    text = models.TextField("异议内容")
    raised_by = models.CharField("提出人", max_length=50)
    raised_on = models.DateField("提出日期")
    during_state = models.CharField("提出时环节", max_length=24, choices=State.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "异议"
        verbose_name_plural = "异议"
        ordering = ["application_id", "recorded_at"]

    def __str__(self) -> str:
        return f"{self.raised_by}：{self.text[:20]}"


class Signature(models.Model):
    """One of the six signatures on an identification file (六签字)."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="signatures", verbose_name="申请"
    )
    signatory = models.CharField("签字人身份", max_length=32, choices=Signatory.choices)
    name = models.CharField("签字人姓名", max_length=50)
    signed_on = models.DateField("签字日期")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "签字"
        verbose_name_plural = "签字"
        ordering = ["application_id", "signatory"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "signatory"],
                name="signature_once_per_signatory",
                violation_error_message="该身份的签字已记录。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_signatory_display()} {self.name}"


class Alert(models.Model):
    """An item listed for supervisors by the daily jobs (notice ended, stalled step, return-to-poverty risk)."""

    kind = models.CharField("类别", max_length=24, choices=AlertKind.choices)
    household = models.ForeignKey(
        "households.Household", on_delete=models.CASCADE, related_name="alerts", verbose_name="贫困户"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts", verbose_name="申请"
    )
    year = models.PositiveSmallIntegerField("年度")
    message = models.CharField("说明", max_length=300)
    created_at = models.DateTimeField("提醒时间", auto_now_add=True)
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)

    class Meta:
        verbose_name = "待办提醒"
        verbose_name_plural = "待办提醒"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "household", "year"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_kind_household_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.household}"


class DecisionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("决定记录只能追加，不能修改。")

    def delete(self):
        raise TypeError("决定记录只能追加，不能删除。")


class Decision(models.Model):
    """One decision on a household's status, identified year or exit year (DOMAIN.md §5 "Decisions"), kept
    forever. The rows of a county form a hash chain: ``hash`` = sha256 over ``prev_hash`` and the row's canonical
    content (``procedures.decisions.canonical_text``), so that a changed or removed row is found by
    ``manage.py verify_decisions``. ``content`` holds what the decision rests on: the application's steps, notice
    dates and signatures, and for an exit the approved assessment (id, fingerprint, rule version, line)."""

    kind = models.CharField("决定类别", max_length=16, choices=DecisionKind.choices)
    # The log outlives a household deleted as entered by mistake: no database constraint, the id is kept.
    household = models.ForeignKey(
        "households.Household",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="decisions",
        verbose_name="贫困户",
    )
    county = models.ForeignKey("villages.County", on_delete=models.PROTECT, related_name="+", verbose_name="县")
    sequence = models.PositiveIntegerField("县内序号")
    year = models.PositiveSmallIntegerField("年度")
    status = models.CharField("决定后户状态", max_length=16)
    identified_year = models.PositiveSmallIntegerField("识别年度", null=True, blank=True)
    exit_year = models.PositiveSmallIntegerField("脱贫年度", null=True, blank=True)
    reason = models.TextField("理由", blank=True)
    source = models.CharField("来源", max_length=16, choices=DecisionSource.choices)
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions", verbose_name="申请"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="决定人",
    )
    decided_at = models.DateTimeField("决定时间")
    content = models.JSONField("依据", default=dict, blank=True)
    prev_hash = models.CharField("前一条的哈希", max_length=64)
    hash = models.CharField("哈希", max_length=64, unique=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        verbose_name = "决定记录"
        verbose_name_plural = "决定记录"
        ordering = ["-decided_at", "-pk"]
        constraints = [
            # Two concurrent decisions in one county cannot both take the same place in its chain.
            models.UniqueConstraint(fields=["county", "sequence"], name="decision_one_per_county_sequence"),
        ]
        indexes = [models.Index(fields=["household", "decided_at"], name="decision_household_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.decided_at:%Y-%m-%d}）"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("决定记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("决定记录只能追加，不能删除。")
