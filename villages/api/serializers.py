"""API shapes of the administrative tree (DOMAIN.md §1) with the village and county exit checks (§6)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.selectors import ExitCheck, county_exit_check, township_incidence, village_exit_check
from povertycase.api.fields import ScopedPrimaryKeyRelatedField
from villages.models import County, Township, Village


def request_user(serializer):
    request = serializer.context.get("request")
    return request.user if request else None


class FullCleanWriteMixin:
    """Writes of models that need no service beyond their own invariants: ``full_clean()`` (the model's
    Chinese messages, field by field), then save with the acting user recorded in the change history."""

    def create(self, validated_data):
        return self._clean_save(self.Meta.model(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._clean_save(instance)

    def _clean_save(self, instance):
        instance.full_clean()
        user = request_user(self)
        if user is not None and user.is_authenticated:
            instance._history_user = user
        instance.save()
        return instance


class IncidenceSerializer(serializers.Serializer):
    """贫困发生率 = people in households in poverty or returned ÷ registered population (DOMAIN.md §6)."""

    incidence = serializers.CharField(
        source="incidence_percent", help_text="贫困发生率（百分数，如“1.50%”）；户籍人口为0时为“—”"
    )
    poor_people = serializers.IntegerField(help_text="未脱贫及返贫户的在户人口")
    registered_population = serializers.IntegerField(help_text="户籍人口")


class ExitCheckSerializer(IncidenceSerializer):
    """Whether a village (出列) or county (摘帽) meets the exit standard, and what is still missing."""

    eligible = serializers.BooleanField(help_text="是否达到退出标准")
    missing = serializers.ListField(child=serializers.CharField(), help_text="尚未达到的条件")


# --- counties ----------------------------------------------------------------------------------------------

COUNTY_FIELDS = (
    "id",
    "code",
    "name",
    "city_name",
    "is_poverty_county",
    "exit_year",
    "wrong_exit_rate",
    "missed_identification_rate",
    "public_recognition_rate",
)


# Years of the campaign and after (SQLite would store any integer; PostgreSQL would overflow with a 500).
YEAR_BOUNDS = {"min_value": 2013, "max_value": 2100}


class CountySerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    class Meta:
        model = County
        fields = COUNTY_FIELDS
        extra_kwargs = {"exit_year": YEAR_BOUNDS}


class CountyDetailSerializer(CountySerializer):
    exit_check = serializers.SerializerMethodField(help_text="贫困县摘帽条件检查")

    class Meta(CountySerializer.Meta):
        fields = (*COUNTY_FIELDS, "exit_check")

    @extend_schema_field(ExitCheckSerializer)
    def get_exit_check(self, county: County):
        return ExitCheckSerializer(county_exit_check(county)).data


# --- townships ---------------------------------------------------------------------------------------------

TOWNSHIP_FIELDS = ("id", "code", "name", "county", "county_code", "county_name")


class TownshipSerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    # Writable only with add/change_township (superusers); the tree is the national code list.
    county = ScopedPrimaryKeyRelatedField(queryset=County.objects.all())
    county_code = serializers.CharField(source="county.code", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)

    class Meta:
        model = Township
        fields = TOWNSHIP_FIELDS


class TownshipDetailSerializer(TownshipSerializer):
    incidence = serializers.SerializerMethodField(help_text="全乡镇贫困发生率")

    class Meta(TownshipSerializer.Meta):
        fields = (*TOWNSHIP_FIELDS, "incidence")

    @extend_schema_field(IncidenceSerializer)
    def get_incidence(self, township: Township):
        return IncidenceSerializer(township_incidence(township)).data


# --- villages ----------------------------------------------------------------------------------------------

# What county staff maintain about a village (DOMAIN.md §6); its code, name and township are the national
# code list's and change only in the back office.
VILLAGE_EDITABLE_FIELDS = (
    "is_poverty_village",
    "exit_year",
    "registered_population",
    *Village.INDICATOR_FIELDS,
    "collective_income_yuan",
)
VILLAGE_FIXED_FIELDS = ("code", "name", "township")
VILLAGE_FIELDS = (
    "id",
    *VILLAGE_FIXED_FIELDS,
    "township_code",
    "township_name",
    "county",
    "county_code",
    "county_name",
    *VILLAGE_EDITABLE_FIELDS,
    "exit_check",
)


class VillageSerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    """A village with its exit check. On update only the exit indicators, population, collective income,
    poverty-village flag and exit year change; a different code, name or township is refused."""

    township_code = serializers.CharField(source="township.code", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True)
    county_code = serializers.CharField(source="county.code", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)
    exit_check = serializers.SerializerMethodField(help_text="贫困村出列条件检查")

    class Meta:
        model = Village
        fields = VILLAGE_FIELDS
        read_only_fields = ("county", *VILLAGE_FIXED_FIELDS)
        extra_kwargs = {"exit_year": YEAR_BOUNDS, "registered_population": {"max_value": 2_147_483_647}}

    @extend_schema_field(ExitCheckSerializer)
    def get_exit_check(self, village: Village):
        # The list view computes the checks of a whole page in one aggregate query (village_exit_checks).
        checks: dict[int, ExitCheck] = self.context.get("exit_checks") or {}
        check = checks.get(village.pk) or village_exit_check(village)
        return ExitCheckSerializer(check).data

    def validate(self, attrs):
        if self.instance is not None:
            errors = {}
            for name in VILLAGE_FIXED_FIELDS:
                if name not in self.initial_data:
                    continue
                current = self.instance.township_id if name == "township" else getattr(self.instance, name)
                if str(self.initial_data[name]) != str(current):
                    label = Village._meta.get_field(name).verbose_name
                    errors[name] = [f"{label}不能在此修改；行政区划调整请联系市级管理员在管理后台办理。"]
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


class VillageCreateSerializer(VillageSerializer):
    """Creating a village (superusers: the national code list is loaded, not typed in)."""

    township = ScopedPrimaryKeyRelatedField(queryset=Township.objects.all())

    class Meta(VillageSerializer.Meta):
        read_only_fields = ("county",)
