"""Poverty lines (扶贫标准, DOMAIN.md §3). Assessments join this app with the eligibility engine."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class LineKind(models.TextChoices):
    POVERTY = "poverty", "扶贫标准（人均纯收入）"
    DIBAO = "dibao", "农村低保标准"


class PovertyLine(models.Model):
    """A yearly per-capita net income line. ``region_code`` empty = national; a province (2 digits), city (4)
    or county (6) code overrides the national row for households in that region (the longest match wins)."""

    year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("类别", max_length=16, choices=LineKind.choices, default=LineKind.POVERTY)
    region_code = models.CharField(
        "适用地区代码",
        max_length=6,
        blank=True,
        default="",
        help_text="留空为国家标准；填省（2位）、市（4位）或县（6位）行政区划代码则为该地区的标准。",
    )
    region_name = models.CharField("适用地区", max_length=50, blank=True, default="全国")
    amount = models.DecimalField(
        "标准（元/人·年）",
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"), message="标准须大于0元。")],
    )
    source = models.CharField("来源", max_length=300, blank=True)
    verified = models.BooleanField("已核实", default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "扶贫标准"
        verbose_name_plural = "扶贫标准"
        ordering = ["kind", "year", "region_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "kind", "region_code"],
                name="poverty_line_unique_year_kind_region",
                violation_error_message="该年度、类别和地区已有标准。",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="poverty_line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.year}年 {self.region_name or '全国'} {self.get_kind_display()} {self.amount}元"

    def clean(self) -> None:
        code = self.region_code
        if code and (not (code.isascii() and code.isdigit()) or len(code) not in (2, 4, 6)):
            raise ValidationError({"region_code": "地区代码应为2位（省）、4位（市）或6位（县）数字，或留空表示全国。"})


class Assessment(models.Model):
    """One computation of the exit standard (DOMAIN.md §4) for a household and year.

    Rows are append-only: a recompute whose inputs changed marks the previous row not current and adds a
    new one, so the history of verdicts is kept. ``is_current`` (unique per household and year) makes the
    latest assessment a single indexed lookup, and the per-criterion booleans make "failing criterion X"
    a plain filter.
    """

    household = models.ForeignKey(
        "households.Household", on_delete=models.CASCADE, related_name="assessments", verbose_name="贫困户"
    )
    year = models.PositiveSmallIntegerField("年度")
    is_current = models.BooleanField("最新结果", default=True)
    eligible = models.BooleanField("达到退出标准")
    income_passed = models.BooleanField("收入达标")
    food_passed = models.BooleanField("不愁吃")
    clothing_passed = models.BooleanField("不愁穿")
    education_passed = models.BooleanField("义务教育有保障")
    medical_passed = models.BooleanField("基本医疗有保障")
    housing_passed = models.BooleanField("住房安全有保障")
    water_passed = models.BooleanField("饮水安全有保障")
    criteria = models.JSONField("各项指标", default=list)
    warnings = models.JSONField("预警", default=list, blank=True)
    household_size = models.PositiveSmallIntegerField("家庭人口")
    per_capita_net_income = models.DecimalField("人均纯收入", max_digits=12, decimal_places=2, null=True)
    poverty_line = models.DecimalField("扶贫标准", max_digits=10, decimal_places=2, null=True)
    rules_version = models.CharField("规则版本", max_length=20)
    fingerprint = models.CharField("输入指纹", max_length=64)
    computed_at = models.DateTimeField("计算时间")

    class Meta:
        verbose_name = "退出评估"
        verbose_name_plural = "退出评估"
        ordering = ["household_id", "-year", "-computed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year"], condition=Q(is_current=True), name="assessment_one_current_per_year"
            ),
        ]
        indexes = [
            models.Index(fields=["year", "eligible"], condition=Q(is_current=True), name="assessment_current_year"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.year}年 {'达标' if self.eligible else '未达标'}"

    @property
    def failed_criteria(self) -> list[str]:
        return [c["criterion"] for c in self.criteria if not c["passed"]]

    @property
    def warning_codes(self) -> list[str]:
        return [w["code"] for w in self.warnings]
