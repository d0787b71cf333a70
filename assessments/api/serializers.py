"""API shapes of poverty lines (DOMAIN.md §3), stored assessments (§4) and a household's eligibility."""

from __future__ import annotations

from rest_framework import serializers

from assessments.models import Assessment, PovertyLine
from assessments.rules import CRITERIA
from povertycase.api.serializers import FullCleanWriteMixin, StrictFieldsMixin


class CriterionSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    passed = serializers.BooleanField()
    code = serializers.CharField()
    message = serializers.CharField()


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class EligibilitySerializer(serializers.Serializer):
    """The latest assessment of a household for a year (DOMAIN.md §4)."""

    household = serializers.IntegerField(source="household_id")
    year = serializers.IntegerField()
    eligible = serializers.BooleanField()
    criteria = CriterionSerializer(many=True)
    warnings = WarningSerializer(many=True)
    household_size = serializers.IntegerField()
    per_capita_net_income = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    poverty_line = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    rules_version = serializers.CharField()
    computed_at = serializers.DateTimeField()


class AssessRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    year = serializers.IntegerField(min_value=2013, max_value=2100)


class PovertyLineSerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    # Declared without min_value so that the model's own message (标准须大于0元。) reaches the user.
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="标准（元/人·年），须大于0")

    class Meta:
        model = PovertyLine
        fields = ("id", "year", "kind", "region_code", "region_name", "amount", "source", "verified")
        # Uniqueness of (year, kind, region) is checked by full_clean with the model's Chinese message.
        validators: list = []
        extra_kwargs = {"year": {"min_value": 2010, "max_value": 2100}}


class AssessmentSerializer(serializers.ModelSerializer):
    """One computation of the household exit standard: every criterion, warnings, the verdict and the line."""

    household_number = serializers.CharField(source="household.household_number", read_only=True)
    village = serializers.IntegerField(source="household.village_id", read_only=True)
    village_code = serializers.CharField(source="household.village.code", read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)
    warnings = WarningSerializer(many=True, read_only=True)

    class Meta:
        model = Assessment
        fields = (
            "id",
            "household",
            "household_number",
            "village",
            "village_code",
            "year",
            "is_current",
            "eligible",
            *(f"{criterion}_passed" for criterion in CRITERIA),
            "criteria",
            "warnings",
            "household_size",
            "per_capita_net_income",
            "poverty_line",
            "rules_version",
            "computed_at",
        )
        read_only_fields = fields
