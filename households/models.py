"""The household file (建档立卡, DOMAIN.md §2): households, their members and yearly incomes.

Single-model invariants live here (clean() and database constraints); rules across rows (exactly one
active head, an ID number active only once in the registry) are enforced by constraints where the
database can, and by ``households.services`` inside a transaction where it cannot.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from households import choices
from households.idcard import mask_id_number, mask_phone, parse_id_number
from villages.models import Village

ZERO = Decimal("0.00")
NOT_NEGATIVE = [MinValueValidator(ZERO, message="金额不能为负数。")]
FIRST_YEAR = 2013  # 精准扶贫 began with the 2013/2014 registration; earlier years are typing errors.
LAST_YEAR = 2100


def _year_validators() -> list:
    return [
        MinValueValidator(FIRST_YEAR, message=f"年度不能早于{FIRST_YEAR}年。"),
        MaxValueValidator(LAST_YEAR, message=f"年度不能晚于{LAST_YEAR}年。"),
    ]


def money_field(label: str) -> models.DecimalField:
    return models.DecimalField(label, max_digits=12, decimal_places=2, default=ZERO, validators=NOT_NEGATIVE)


class Household(models.Model):
    #: Written only by the decisions of the procedures (DOMAIN.md §5 "Decisions"), or given once at registration.
    DECIDED_FIELDS = ("status", "identified_year", "exit_year")

    household_number = models.CharField("户编号", max_length=32, unique=True)
    village = models.ForeignKey(Village, on_delete=models.PROTECT, related_name="households", verbose_name="所在村")
    address = models.CharField("住址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    identification_standard = models.CharField(
        "识别标准",
        max_length=16,
        choices=choices.IdentificationStandard.choices,
        default=choices.IdentificationStandard.NATIONAL,
    )
    attribute = models.CharField(
        "贫困户属性", max_length=16, choices=choices.Attribute.choices, default=choices.Attribute.GENERAL
    )
    status = models.CharField(
        "户状态",
        max_length=16,
        choices=choices.HouseholdStatus.choices,
        default=choices.HouseholdStatus.IN_POVERTY,
        db_index=True,
    )
    identified_year = models.PositiveSmallIntegerField("识别年度", validators=_year_validators())
    exit_year = models.PositiveSmallIntegerField("脱贫年度", null=True, blank=True, validators=_year_validators())
    primary_cause = models.CharField("主要致贫原因", max_length=20, choices=choices.Cause.choices)
    other_causes = models.JSONField("其他致贫原因", default=list, blank=True)
    food_secure = models.BooleanField("不愁吃", default=False)
    clothing_secure = models.BooleanField("不愁穿", default=False)
    house_safety_grade = models.CharField(
        "住房安全等级",
        max_length=8,
        choices=choices.HouseSafetyGrade.choices,
        default=choices.HouseSafetyGrade.UNKNOWN,
    )
    relocated = models.BooleanField("易地扶贫搬迁已入住", default=False)
    water_quantity_ok = models.BooleanField("饮水：水量达标", default=False)
    water_quality_ok = models.BooleanField("饮水：水质达标", default=False)
    water_convenient = models.BooleanField("饮水：取水方便", default=False)
    water_guaranteed = models.BooleanField("饮水：供水保证率达标", default=False)
    cultivated_land_mu = models.DecimalField(
        "耕地面积(亩)",
        max_digits=8,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO, message="面积不能为负数。")],
    )
    forest_land_mu = models.DecimalField(
        "林地面积(亩)",
        max_digits=8,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO, message="面积不能为负数。")],
    )
    clarity_card_issued_on = models.DateField("明白卡发放日期", null=True, blank=True)
    created_at = models.DateTimeField("建档时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "贫困户"
        verbose_name_plural = "贫困户"
        ordering = ["household_number"]
        permissions = [("view_personal_data", "查看完整身份证号和联系电话")]
        indexes = [models.Index(fields=["village", "status"], name="household_village_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(cultivated_land_mu__gte=0) & Q(forest_land_mu__gte=0),
                name="household_land_not_negative",
                violation_error_message="面积不能为负数。",
            ),
            models.CheckConstraint(
                condition=Q(exit_year__isnull=True) | Q(exit_year__gte=models.F("identified_year")),
                name="household_exit_after_identification",
                violation_error_message="脱贫年度不能早于识别年度。",
            ),
        ]

    def __str__(self) -> str:
        return self.household_number

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        # Only a list of cause slugs; a string or number is shown whole, not iterated (or crashed on).
        causes = self.other_causes if isinstance(self.other_causes, list) else []
        unknown = [cause for cause in causes if cause not in choices.Cause.values]
        if not isinstance(self.other_causes, list) or unknown:
            shown = "、".join(map(str, unknown or [self.other_causes]))
            errors["other_causes"] = f"其他致贫原因包含无效值：{shown}。"
        else:
            # Keep order, drop duplicates and the primary cause itself.
            self.other_causes = [c for i, c in enumerate(causes) if c not in causes[:i] and c != self.primary_cause]
        if self.status == choices.HouseholdStatus.EXITED and not self.exit_year:
            errors["exit_year"] = "已脱贫户须填写脱贫年度。"
        if self.exit_year and self.identified_year and self.exit_year < self.identified_year:
            errors["exit_year"] = "脱贫年度不能早于识别年度。"
        if self.phone and not self.phone.replace("-", "").isdigit():
            errors["phone"] = "联系电话只能包含数字和“-”。"
        if errors:
            raise ValidationError(errors)


class Member(models.Model):
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members", verbose_name="所属户")
    name = models.CharField("姓名", max_length=50)
    id_number = models.CharField("身份证号", max_length=18, db_index=True)
    # Derived from id_number in clean(); never typed twice.
    gender = models.CharField("性别", max_length=8, choices=choices.Gender.choices, editable=False)
    birth_date = models.DateField("出生日期", editable=False)
    relation = models.CharField("与户主关系", max_length=16, choices=choices.Relation.choices)
    ethnicity = models.CharField("民族", max_length=20, default="汉族")
    education_level = models.CharField("文化程度", max_length=16, choices=choices.EducationLevel.choices, blank=True)
    school_status = models.CharField(
        "在校生状况",
        max_length=16,
        choices=choices.SchoolStatus.choices,
        default=choices.SchoolStatus.NOT_APPLICABLE,
    )
    health = models.CharField("健康状况", max_length=16, choices=choices.Health.choices, default=choices.Health.HEALTHY)
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级",
        null=True,
        blank=True,
        validators=[MinValueValidator(1, "残疾等级为1–4级。"), MaxValueValidator(4, "残疾等级为1–4级。")],
    )
    labor_ability = models.CharField("劳动技能", max_length=16, choices=choices.LaborAbility.choices, blank=True)
    work_status = models.CharField(
        "务工状况", max_length=16, choices=choices.WorkStatus.choices, default=choices.WorkStatus.NONE
    )
    work_months = models.PositiveSmallIntegerField(
        "务工时间(月)",
        default=0,
        validators=[MinValueValidator(0, "务工时间为0–12个月。"), MaxValueValidator(12, "务工时间为0–12个月。")],
    )
    medical_insurance = models.BooleanField("参加基本医疗保险", default=False)
    serious_illness_insurance = models.BooleanField("参加大病保险", default=False)
    pension_insurance = models.BooleanField("参加城乡居民基本养老保险", default=False)
    is_active = models.BooleanField("是否在户", default=True)
    left_reason = models.CharField("减少原因", max_length=16, choices=choices.LeftReason.choices, blank=True)
    left_on = models.DateField("减少日期", null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(is_active=True),
                name="member_unique_active_id_number",
                violation_error_message="该身份证号已是另一在户成员的号码，同一身份证号在全库只能属于一名在户成员。",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(relation="head", is_active=True),
                name="member_one_active_head_per_household",
                violation_error_message="每户只能有一名在户的户主。",
            ),
            models.CheckConstraint(
                condition=Q(work_months__gte=0, work_months__lte=12),
                name="member_work_months_0_12",
                violation_error_message="务工时间为0–12个月。",
            ),
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True) | Q(disability_grade__gte=1, disability_grade__lte=4),
                name="member_disability_grade_1_4",
                violation_error_message="残疾等级为1–4级。",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    def age_on(self, day: dt.date) -> int:
        """Age in whole years on ``day`` (a birthday on 29 February counts from 1 March in common years)."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def clean_fields(self, exclude=None) -> None:
        # Derive before the field checks so that gender/birth_date are never reported as missing.
        try:
            parsed = parse_id_number(self.id_number)
        except ValidationError as exc:
            super_errors: dict = {}
            try:
                super().clean_fields(exclude=set(exclude or ()) | {"gender", "birth_date", "id_number"})
            except ValidationError as field_exc:
                super_errors = field_exc.error_dict
            super_errors["id_number"] = exc.error_list
            raise ValidationError(super_errors) from None
        self.id_number = parsed.number
        self.gender = parsed.gender
        self.birth_date = parsed.birth_date
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not self.is_active:
            if not self.left_reason:
                errors["left_reason"] = "成员不在户时须填写减少原因。"
            if not self.left_on:
                errors["left_on"] = "成员不在户时须填写减少日期。"
        elif self.left_reason or self.left_on:
            errors["is_active"] = "填写了减少原因或日期的成员应标记为不在户。"
        if self.health == choices.Health.DISABLED and self.disability_grade is None:
            errors["disability_grade"] = "残疾成员须填写残疾等级（1–4级）。"
        if self.health != choices.Health.DISABLED and self.disability_grade is not None:
            errors["disability_grade"] = "只有健康状况为“残疾”的成员才填写残疾等级。"
        if self.work_status == choices.WorkStatus.NONE and self.work_months:
            errors["work_months"] = "未务工的成员务工时间应为0个月。"
        if errors:
            raise ValidationError(errors)


class IncomeRecord(models.Model):
    """One household's income for one year (收入情况, DOMAIN.md §2). All amounts in yuan, never negative."""

    TRANSFER_FIELDS = (
        "family_planning_income",
        "dibao_income",
        "tekun_income",
        "pension_income",
        "eco_compensation_income",
        "other_transfer_income",
    )
    INCOME_FIELDS = ("wage_income", "business_income", "property_income", *TRANSFER_FIELDS)
    AMOUNT_FIELDS = (*INCOME_FIELDS, "business_expenses")

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="incomes", verbose_name="所属户")
    year = models.PositiveSmallIntegerField("年度", validators=_year_validators())
    wage_income = money_field("工资性收入")
    business_income = money_field("生产经营性收入")
    property_income = money_field("财产性收入(含资产收益分红)")
    family_planning_income = money_field("计划生育金")
    dibao_income = money_field("低保金")
    tekun_income = money_field("特困供养金")
    pension_income = money_field("养老保险金")
    eco_compensation_income = money_field("生态补偿金")
    other_transfer_income = money_field("其他转移性收入")
    business_expenses = money_field("生产经营性支出")

    history = HistoricalRecords()

    class Meta:
        verbose_name = "年度收入"
        verbose_name_plural = "年度收入"
        ordering = ["household_id", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year"],
                name="income_one_record_per_household_year",
                violation_error_message="该户此年度已有收入记录，每户每年只能有一条。",
            ),
            models.CheckConstraint(
                condition=Q(
                    wage_income__gte=0,
                    business_income__gte=0,
                    property_income__gte=0,
                    family_planning_income__gte=0,
                    dibao_income__gte=0,
                    tekun_income__gte=0,
                    pension_income__gte=0,
                    eco_compensation_income__gte=0,
                    other_transfer_income__gte=0,
                    business_expenses__gte=0,
                ),
                name="income_amounts_not_negative",
                violation_error_message="金额不能为负数。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}年收入"

    @property
    def transfer_income(self) -> Decimal:
        return sum((getattr(self, f) for f in self.TRANSFER_FIELDS), ZERO)

    @property
    def net_income(self) -> Decimal:
        """纯收入 = wage + business + property + transfers − business expenses (DOMAIN.md §2)."""
        return sum((getattr(self, f) for f in self.INCOME_FIELDS), ZERO) - self.business_expenses


class PersonalDataAccess(models.Model):
    """A record of full ID numbers or phone numbers shown to a user (DOMAIN.md §8: revealing is recorded)."""

    class Channel(models.TextChoices):
        API = "api", "接口"
        ADMIN = "admin", "管理后台"
        PAGE = "page", "工作页面"
        EXPORT = "export", "导出"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="personal_data_accesses", verbose_name="用户"
    )
    accessed_at = models.DateTimeField("查看时间", auto_now_add=True, db_index=True)
    channel = models.CharField("途径", max_length=8, choices=Channel.choices)
    model = models.CharField("对象类型", max_length=50)
    object_ids = models.JSONField("对象ID", default=list)
    object_count = models.PositiveIntegerField("对象数量", default=0)
    path = models.CharField("请求地址", max_length=300, blank=True)

    class Meta:
        verbose_name = "个人信息查看记录"
        verbose_name_plural = "个人信息查看记录"
        ordering = ["-accessed_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.accessed_at:%Y-%m-%d %H:%M} {self.model}×{self.object_count}"


class ImportJob(models.Model):
    """One upload of a household-file workbook: its dry run, its report and, when clean, its commit."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "已上传"
        VALIDATING = "validating", "校验中"
        INVALID = "invalid", "校验未通过"
        VALID = "valid", "校验通过，待导入"
        COMMITTING = "committing", "导入中"
        COMMITTED = "committed", "已导入"
        FAILED = "failed", "导入失败"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="household_imports", verbose_name="导入人"
    )
    file = models.FileField("文件", upload_to="imports/%Y/%m/")
    file_name = models.CharField("文件名", max_length=200)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.UPLOADED)
    progress = models.PositiveSmallIntegerField("进度(%)", default=0)
    errors = models.JSONField("错误", default=list, blank=True)
    error_count = models.PositiveIntegerField("错误数", default=0)
    households = models.PositiveIntegerField("户数", default=0)
    members = models.PositiveIntegerField("成员数", default=0)
    incomes = models.PositiveIntegerField("收入记录数", default=0)
    households_created = models.PositiveIntegerField("新增户", default=0)
    households_updated = models.PositiveIntegerField("更新户", default=0)
    members_created = models.PositiveIntegerField("新增成员", default=0)
    members_updated = models.PositiveIntegerField("更新成员", default=0)
    incomes_created = models.PositiveIntegerField("新增收入记录", default=0)
    incomes_updated = models.PositiveIntegerField("更新收入记录", default=0)
    annotated_file = models.FileField("标注错误的文件", upload_to="imports/%Y/%m/", blank=True)
    message = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    validated_at = models.DateTimeField("校验完成时间", null=True, blank=True)
    committed_at = models.DateTimeField("导入完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "Excel导入"
        verbose_name_plural = "Excel导入"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"
