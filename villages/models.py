"""The administrative tree: county → township → village (DOMAIN.md §1), with village-exit indicators (§6)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

COUNTY_CODE_LENGTH = 6
TOWNSHIP_CODE_LENGTH = 9
VILLAGE_CODE_LENGTH = 12


def _check_code(code: str, length: int, level: str) -> None:
    # isascii(): str.isdigit() also accepts full-width digits, which the database constraint ([0-9]) refuses.
    if not code or len(code) != length or not (code.isascii() and code.isdigit()):
        raise ValidationError({"code": f"{level}代码应为{length}位数字（国家行政区划代码），当前为“{code}”。"})


def _check_prefix(code: str, parent_code: str, level: str, parent_level: str) -> None:
    if code and parent_code and not code.startswith(parent_code):
        raise ValidationError({"code": f"{level}代码“{code}”应以所属{parent_level}代码“{parent_code}”开头。"})


class County(models.Model):
    code = models.CharField("县级代码", max_length=COUNTY_CODE_LENGTH, unique=True)
    name = models.CharField("县（市、区）名称", max_length=50)
    city_name = models.CharField("所属市", max_length=50, default="洛阳市")
    is_poverty_county = models.BooleanField("扶贫开发工作重点县", default=False)
    exit_year = models.PositiveSmallIntegerField("摘帽年份", null=True, blank=True)
    # Third-party assessment inputs for county exit (DOMAIN.md §6), recorded as percentages.
    wrong_exit_rate = models.DecimalField(
        "错退率(%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    missed_identification_rate = models.DecimalField(
        "漏评率(%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    public_recognition_rate = models.DecimalField(
        "群众认可度(%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = "县（市、区）"
        verbose_name_plural = "县（市、区）"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{6}$"), name="county_code_6_digits"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _check_code(self.code, COUNTY_CODE_LENGTH, "县级")


class Township(models.Model):
    code = models.CharField("乡镇代码", max_length=TOWNSHIP_CODE_LENGTH, unique=True)
    name = models.CharField("乡（镇、街道）名称", max_length=50)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="townships", verbose_name="所属县")

    history = HistoricalRecords()

    class Meta:
        verbose_name = "乡（镇、街道）"
        verbose_name_plural = "乡（镇、街道）"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{9}$"), name="township_code_9_digits"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _check_code(self.code, TOWNSHIP_CODE_LENGTH, "乡镇")
        if self.county_id:
            _check_prefix(self.code, self.county.code, "乡镇", "县")


class Village(models.Model):
    code = models.CharField("村代码", max_length=VILLAGE_CODE_LENGTH, unique=True)
    name = models.CharField("行政村（社区）名称", max_length=50)
    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="villages", verbose_name="所属乡镇")
    # Denormalised from township.county so that jurisdiction filters and incidence aggregates join one
    # table less; kept in step by clean() and the services (a village never changes county).
    county = models.ForeignKey(
        County,
        on_delete=models.PROTECT,
        related_name="villages",
        verbose_name="所属县",
        editable=False,
        blank=True,
    )
    is_poverty_village = models.BooleanField("建档立卡贫困村", default=False)
    exit_year = models.PositiveSmallIntegerField("出列年份", null=True, blank=True)
    registered_population = models.PositiveIntegerField("户籍人口（人）", default=0)

    # Village-exit indicators (贫困村出列, DOMAIN.md §6).
    has_hardened_road = models.BooleanField("通硬化路", default=False)
    has_safe_water = models.BooleanField("安全饮水达标", default=False)
    has_power = models.BooleanField("生产生活用电", default=False)
    has_radio_tv = models.BooleanField("广播电视户户通", default=False)
    has_cultural_venue = models.BooleanField("综合性文化服务中心", default=False)
    has_clinic = models.BooleanField("标准化卫生室（有合格村医）", default=False)
    has_broadband = models.BooleanField("通宽带", default=False)
    # "九个一" (DOMAIN.md §7): each poverty village has an exit plan and a public notice board.
    has_exit_plan = models.BooleanField("有脱贫方案", default=False)
    has_notice_board = models.BooleanField("有公示栏", default=False)
    collective_income_yuan = models.DecimalField(
        "村集体经济收入（元）",
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )

    history = HistoricalRecords()

    INDICATOR_FIELDS = (
        "has_hardened_road",
        "has_safe_water",
        "has_power",
        "has_radio_tv",
        "has_cultural_venue",
        "has_clinic",
        "has_broadband",
    )

    class Meta:
        verbose_name = "行政村（社区）"
        verbose_name_plural = "行政村（社区）"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{12}$"), name="village_code_12_digits"),
            models.CheckConstraint(
                condition=Q(collective_income_yuan__gte=0), name="village_collective_income_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.township_id:
            self.county_id = Township.objects.values_list("county_id", flat=True).get(pk=self.township_id)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        _check_code(self.code, VILLAGE_CODE_LENGTH, "村")
        if self.township_id:
            _check_prefix(self.code, self.township.code, "村", "乡镇")
            self.county_id = self.township.county_id
