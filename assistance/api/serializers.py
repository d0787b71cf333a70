"""API shapes of the assistance app (DOMAIN.md §7). Writes go through ``assistance.services``; an
out-of-scope place, cadre or household chosen by id is refused field by field as if it did not exist."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assistance import services
from assistance.choices import Role
from assistance.models import Cadre, HouseholdAssignment, RoleAssignment, Unit
from households.models import Household
from households.personal_data import shown_phone
from povertycase.api.fields import ScopedPrimaryKeyRelatedField
from villages.api.serializers import FullCleanWriteMixin, request_user
from villages.models import County, Township, Village

PLACE_FIELDS = ("county", "township", "village")


def _is_active(assignment) -> bool:
    today = timezone.localdate()
    return assignment.starts_on <= today and (assignment.ends_on is None or assignment.ends_on >= today)


def _refused_place_field(data) -> str:
    """The field to name when the service refuses to grant a role where it was asked (PermissionDenied)."""
    return next((name for name in PLACE_FIELDS if data.get(name) is not None), "role")


class UnitSerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ("id", "name", "level")


# --- role assignments --------------------------------------------------------------------------------------


class RoleAssignmentSerializer(serializers.ModelSerializer):
    """A role of a cadre, bound to one county, township or village (none: city-wide supervisor or helper)."""

    cadre_name = serializers.CharField(source="cadre.name", read_only=True)
    level = serializers.ChoiceField(
        choices=[("county", "县"), ("township", "乡镇"), ("village", "村"), ("none", "不绑定辖区")],
        read_only=True,
        help_text="绑定的辖区层级",
    )
    place_name = serializers.SerializerMethodField(help_text="辖区名称（不绑定辖区时为“全市”或空）")
    is_active = serializers.SerializerMethodField(help_text="今日是否在岗")

    class Meta:
        model = RoleAssignment
        fields = (
            "id",
            "cadre",
            "cadre_name",
            "role",
            *PLACE_FIELDS,
            "level",
            "place_name",
            "starts_on",
            "ends_on",
            "is_active",
        )
        read_only_fields = fields

    def get_place_name(self, assignment: RoleAssignment) -> str:
        place = assignment.place
        if place is not None:
            return str(place)
        return "全市" if assignment.role == Role.SUPERVISOR else ""

    def get_is_active(self, assignment: RoleAssignment) -> bool:
        return _is_active(assignment)


class RoleGrantSerializer(serializers.Serializer):
    """One role to grant: ``role`` and at most one place (which one depends on the role), with dates."""

    role = serializers.ChoiceField(choices=Role.choices)
    county = ScopedPrimaryKeyRelatedField(queryset=County.objects.all(), required=False, allow_null=True)
    township = ScopedPrimaryKeyRelatedField(queryset=Township.objects.all(), required=False, allow_null=True)
    village = ScopedPrimaryKeyRelatedField(queryset=Village.objects.all(), required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True, help_text="默认今天")
    ends_on = serializers.DateField(required=False, allow_null=True)


class RoleAssignmentCreateSerializer(RoleGrantSerializer):
    """Grant a role to an existing cadre (``assistance.services.role_assign``): only inside the actor's
    jurisdiction."""

    cadre = ScopedPrimaryKeyRelatedField(queryset=Cadre.objects.all())

    def create(self, validated_data):
        try:
            return services.role_assign(actor=request_user(self), **validated_data)
        except PermissionDenied as exc:
            raise serializers.ValidationError({_refused_place_field(validated_data): [str(exc)]}) from exc

    def to_representation(self, instance):
        return RoleAssignmentSerializer(instance, context=self.context).data


class RoleEndSerializer(serializers.Serializer):
    ends_on = serializers.DateField(required=False, allow_null=True, help_text="结束日期（默认今天）")


# --- cadres ------------------------------------------------------------------------------------------------


class CadreSerializer(FullCleanWriteMixin, serializers.ModelSerializer):
    """A cadre's profile with their roles. On update only ``name``, ``unit``, ``position`` and ``phone``
    change; roles are granted and ended through ``/assignments/``."""

    username = serializers.CharField(source="user.username", read_only=True)
    is_active = serializers.BooleanField(source="user.is_active", read_only=True, help_text="登录账号是否可用")
    unit = ScopedPrimaryKeyRelatedField(queryset=Unit.objects.all(), required=False, allow_null=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True, default=None, allow_null=True)
    roles = serializers.SerializerMethodField(help_text="您辖区内的角色（含已结束的）")

    class Meta:
        model = Cadre
        fields = ("id", "username", "is_active", "name", "unit", "unit_name", "position", "phone", "roles")

    @extend_schema_field(RoleAssignmentSerializer(many=True))
    def get_roles(self, cadre: Cadre) -> list[dict]:
        # ``scoped_roles`` is prefetched by the viewset through the user's jurisdiction.
        roles = getattr(cadre, "scoped_roles", None)
        if roles is None:
            roles = list(cadre.roles.all())
        return RoleAssignmentSerializer(roles, many=True, context=self.context).data

    def validate(self, attrs):
        refused = {
            "roles": "角色请通过 /api/v1/assignments/ 分配，或用其 end 接口结束。",
            "username": "登录名不能修改。",
            "password": "密码不能在此修改。",
        }
        errors = {name: [message] for name, message in refused.items() if name in self.initial_data}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phone"] = shown_phone(request_user(self), instance.phone)
        return data


class CadreCreateSerializer(serializers.Serializer):
    """A cadre's login, profile and roles in one request (``assistance.services.cadre_create``): any invalid
    part, e.g. ``roles[1].village`` outside the actor's county, rejects the whole request and nothing is saved.
    The password is never returned."""

    username = serializers.CharField(
        max_length=150,
        validators=get_user_model()._meta.get_field("username").validators,
        help_text="登录名：字母、数字和 @/./+/-/_",
    )
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=50)
    unit = ScopedPrimaryKeyRelatedField(queryset=Unit.objects.all(), required=False, allow_null=True)
    position = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    roles = RoleGrantSerializer(many=True, required=False)

    def create(self, validated_data):
        try:
            return services.cadre_create(actor=request_user(self), **validated_data)
        except PermissionDenied as exc:
            # The service refused a place or a city-wide role; the message names it.
            raise serializers.ValidationError({"roles": [str(exc)]}) from exc

    def to_representation(self, instance):
        return CadreSerializer(instance, context=self.context).data


# --- helper (household) assignments ------------------------------------------------------------------------


class HouseholdAssignmentSerializer(serializers.ModelSerializer):
    household_number = serializers.CharField(source="household.household_number", read_only=True)
    cadre_name = serializers.CharField(source="cadre.name", read_only=True)
    is_active = serializers.SerializerMethodField(help_text="今日是否在帮")

    class Meta:
        model = HouseholdAssignment
        fields = ("id", "household", "household_number", "cadre", "cadre_name", "starts_on", "ends_on", "is_active")
        read_only_fields = fields

    def get_is_active(self, assignment: HouseholdAssignment) -> bool:
        return _is_active(assignment)


class HouseholdAssignmentCreateSerializer(serializers.Serializer):
    """Make a cadre with the helper role the household's responsible helper from ``starts_on``; the previous
    helper's assignment ends the day before (``assistance.services.household_assign_helper``)."""

    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())
    cadre = ScopedPrimaryKeyRelatedField(queryset=Cadre.objects.all())
    starts_on = serializers.DateField(required=False, allow_null=True, help_text="默认今天")

    def create(self, validated_data):
        try:
            return services.household_assign_helper(actor=request_user(self), **validated_data)
        except PermissionDenied as exc:
            raise serializers.ValidationError({"household": [str(exc)]}) from exc

    def to_representation(self, instance):
        return HouseholdAssignmentSerializer(instance, context=self.context).data
