"""API shapes of the household file. Field names are DOMAIN.md's slugs; writes go through the services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import serializers

from households import services
from households.choices import Cause
from households.imports import services as imports
from households.models import Household, ImportJob, IncomeRecord, Member
from households.personal_data import shown_id_number, shown_phone
from povertycase.api.fields import ScopedPrimaryKeyRelatedField
from povertycase.api.serializers import StrictFieldsMixin
from villages.models import Village

MEMBER_FIELDS = (
    "name",
    "id_number",
    "relation",
    "ethnicity",
    "education_level",
    "school_status",
    "health",
    "disability_grade",
    "labor_ability",
    "work_status",
    "work_months",
    "medical_insurance",
    "serious_illness_insurance",
    "pension_insurance",
    "is_active",
    "left_reason",
    "left_on",
)
HOUSEHOLD_FIELDS = (
    "household_number",
    "village",
    "address",
    "phone",
    "identification_standard",
    "attribute",
    "status",
    "identified_year",
    "exit_year",
    "primary_cause",
    "other_causes",
    "food_secure",
    "clothing_secure",
    "house_safety_grade",
    "relocated",
    "water_quantity_ok",
    "water_quality_ok",
    "water_convenient",
    "water_guaranteed",
    "cultivated_land_mu",
    "forest_land_mu",
    "clarity_card_issued_on",
)


def _user(serializer):
    request = serializer.context.get("request")
    return request.user if request else None


class MaskedMemberMixin:
    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["id_number"] = shown_id_number(_user(self), instance.id_number)
        return data


class NestedMemberSerializer(MaskedMemberMixin, serializers.ModelSerializer):
    """A member inside a household write: ``id`` (optional) identifies an existing member on replace."""

    id = serializers.IntegerField(required=False)

    class Meta:
        model = Member
        fields = ("id", *MEMBER_FIELDS, "gender", "birth_date")
        read_only_fields = ("gender", "birth_date")
        # Uniqueness across the registry is the service's to check (with the row's index in the message).
        validators: list = []


class NestedIncomeSerializer(serializers.ModelSerializer):
    net_income = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    transfer_income = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = IncomeRecord
        fields = ("id", "year", *IncomeRecord.AMOUNT_FIELDS, "net_income", "transfer_income")
        read_only_fields = ("id",)
        validators: list = []


class HouseholdListSerializer(serializers.ModelSerializer):
    village_code = serializers.CharField(source="village.code", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    head_name = serializers.CharField(read_only=True, default=None)

    class Meta:
        model = Household
        fields = ("id", *HOUSEHOLD_FIELDS, "village_code", "village_name", "head_name", "created_at", "updated_at")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phone"] = shown_phone(_user(self), instance.phone)
        return data


class HouseholdSerializer(HouseholdListSerializer):
    """A household with its members and income records; create and replace (PUT) are atomic."""

    village = ScopedPrimaryKeyRelatedField(queryset=Village.objects.all())
    other_causes = serializers.ListField(child=serializers.ChoiceField(choices=Cause.choices), required=False)
    members = NestedMemberSerializer(many=True)
    incomes = NestedIncomeSerializer(many=True, required=False)

    class Meta(HouseholdListSerializer.Meta):
        fields = (*HouseholdListSerializer.Meta.fields, "members", "incomes")
        validators: list = []

    def create(self, validated_data):
        members = validated_data.pop("members")
        incomes = validated_data.pop("incomes", [])
        return services.household_create(user=_user(self), members=members, incomes=incomes, **validated_data)

    def update(self, instance, validated_data):
        members = validated_data.pop("members", None)
        incomes = validated_data.pop("incomes", None)
        if members is None:
            if incomes is not None:
                raise serializers.ValidationError({"incomes": ["修改收入时须同时提交成员（members）。"]})
            return services.household_update(user=_user(self), household=instance, **validated_data)
        return services.household_replace(
            user=_user(self), household=instance, members=members, incomes=incomes or [], **validated_data
        )


class MemberSerializer(MaskedMemberMixin, serializers.ModelSerializer):
    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())

    class Meta:
        model = Member
        fields = ("id", "household", *MEMBER_FIELDS, "gender", "birth_date")
        read_only_fields = ("gender", "birth_date")
        validators: list = []

    def create(self, validated_data):
        household = validated_data.pop("household")
        return services.member_add(user=_user(self), household=household, **validated_data)

    def update(self, instance, validated_data):
        if "household" in validated_data and validated_data["household"] != instance.household:
            raise serializers.ValidationError({"household": ["成员不能直接转到另一户，请在原户办理减少后在新户登记。"]})
        validated_data.pop("household", None)
        return services.member_update(user=_user(self), member=instance, **validated_data)


class IncomeRecordSerializer(serializers.ModelSerializer):
    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())
    net_income = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    transfer_income = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = IncomeRecord
        fields = ("id", "household", "year", *IncomeRecord.AMOUNT_FIELDS, "net_income", "transfer_income")
        validators: list = []

    def create(self, validated_data):
        household = validated_data.pop("household")
        year = validated_data.pop("year")
        if IncomeRecord.objects.filter(household=household, year=year).exists():
            raise serializers.ValidationError({"year": ["该户此年度已有收入记录，每户每年只能有一条，请修改原记录。"]})
        return services.income_record_save(user=_user(self), household=household, year=year, **validated_data)

    def update(self, instance, validated_data):
        household = validated_data.pop("household", instance.household)
        year = validated_data.pop("year", instance.year)
        if household != instance.household or year != instance.year:
            raise serializers.ValidationError({"year": ["不能修改收入记录所属的户或年度。"]})
        return services.income_record_save(user=_user(self), household=household, year=year, **validated_data)


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField(allow_null=True)
    new = serializers.CharField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    model = serializers.CharField()
    object_id = serializers.IntegerField()
    object = serializers.CharField()
    action = serializers.ChoiceField(choices=[("created", "新增"), ("changed", "修改"), ("deleted", "删除")])
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    changes = HistoryChangeSerializer(many=True)


# --- Excel import jobs (issue 7) ---------------------------------------------------------------------------


class ImportErrorSerializer(serializers.Serializer):
    """One error of a dry run: where (sheet, row, column label and letter) and what, in Chinese."""

    sheet = serializers.CharField(help_text="工作表（“文件”表示整个文件）")
    row = serializers.IntegerField(help_text="行号（从1起；0表示整张表或整个文件）")
    column = serializers.CharField(help_text="列名（整行或整表的错误为空）")
    column_letter = serializers.CharField(help_text="列字母，如 C")
    message = serializers.CharField()


class ImportJobListSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    file_url = serializers.SerializerMethodField(help_text="下载上传的原文件")
    annotated_url = serializers.SerializerMethodField(help_text="下载标注错误的文件（无错误时为空）")

    class Meta:
        model = ImportJob
        fields = (
            "id",
            "file_name",
            "user",
            "status",
            "status_display",
            "progress",
            "message",
            "error_count",
            "households",
            "members",
            "incomes",
            "households_created",
            "households_updated",
            "members_created",
            "members_updated",
            "incomes_created",
            "incomes_updated",
            "created_at",
            "validated_at",
            "committed_at",
            "file_url",
            "annotated_url",
        )
        read_only_fields = fields

    def _url(self, name: str, job: ImportJob) -> str:
        url = reverse(name, args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_file_url(self, job: ImportJob) -> str:
        return self._url("importjob-original", job)

    def get_annotated_url(self, job: ImportJob) -> str | None:
        return self._url("importjob-annotated", job) if job.annotated_file else None


class ImportJobSerializer(ImportJobListSerializer):
    """An import job with its report: every error by sheet, row and column (at most the first 5,000)."""

    errors = ImportErrorSerializer(many=True, read_only=True)

    class Meta(ImportJobListSerializer.Meta):
        fields = (*ImportJobListSerializer.Meta.fields, "errors")
        read_only_fields = fields


class ImportUploadSerializer(StrictFieldsMixin, serializers.Serializer):
    file = serializers.FileField(help_text="Excel工作簿（.xlsx），用导入模板填写")

    def validate_file(self, upload):
        try:
            imports.check_upload(upload)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return upload
