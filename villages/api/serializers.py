"""API shapes of the administrative tree (DOMAIN.md §1); ``assessments.api.places`` adds the exit checks (§6)."""

from __future__ import annotations

from rest_framework import serializers

from povertycase.api.fields import ScopedPrimaryKeyRelatedField
from povertycase.api.serializers import FullCleanWriteMixin
from villages.models import County, Township, Village

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
)


class VillageSerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    """A village. On update only the exit indicators, population, collective income,
    poverty-village flag and exit year change; a different code, name or township is refused."""

    township_code = serializers.CharField(source="township.code", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True)
    county_code = serializers.CharField(source="county.code", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)

    class Meta:
        model = Village
        fields = VILLAGE_FIELDS
        read_only_fields = ("county", *VILLAGE_FIXED_FIELDS)
        extra_kwargs = {"exit_year": YEAR_BOUNDS, "registered_population": {"max_value": 2_147_483_647}}

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
