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
        if self.region_code and (not self.region_code.isdigit() or len(self.region_code) not in (2, 4, 6)):
            raise ValidationError({"region_code": "地区代码应为2位（省）、4位（市）或6位（县）数字，或留空表示全国。"})
