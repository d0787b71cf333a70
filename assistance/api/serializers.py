"""API shapes of the assistance app (DOMAIN.md §7). Writes go through ``assistance.services``; an
out-of-scope place, cadre or household chosen by id is refused field by field as if it did not exist."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assistance import services
from assistance.choices import LoanEventKind, Role
from assistance.models import (
    Cadre,
    HouseholdAssignment,
    HouseholdMeasure,
    LoanEvent,
    MicroLoan,
    RoleAssignment,
    Unit,
    Visit,
)
from assistance.selectors import GAP_LABELS
from households.models import Household, Member
from households.personal_data import shown_phone
from povertycase.api.fields import ScopedPrimaryKeyRelatedField
from povertycase.api.serializers import FullCleanWriteMixin, StrictFieldsMixin, request_user
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


class RoleEndSerializer(StrictFieldsMixin, serializers.Serializer):
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


# --- measures, visits, micro-loans and "九个一" compliance (DOMAIN.md §7) ----------------------------------------


class HouseholdMeasureSerializer(serializers.ModelSerializer):
    """An assistance measure of a household (``assistance.services.measure_save``). A measure stays with its
    household: to help another household, record a measure there."""

    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())
    household_number = serializers.CharField(source="household.household_number", read_only=True)
    year = serializers.IntegerField(min_value=2013, max_value=2100, help_text="年度")
    cadre = ScopedPrimaryKeyRelatedField(
        queryset=Cadre.objects.all(), required=False, allow_null=True, help_text="责任人（干部ID）"
    )
    cadre_name = serializers.CharField(source="cadre.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = HouseholdMeasure
        fields = (
            "id",
            "household",
            "household_number",
            "year",
            "category",
            "description",
            "amount",
            "status",
            "cadre",
            "cadre_name",
            "created_at",
        )
        read_only_fields = ("created_at",)

    def create(self, validated_data):
        household = validated_data.pop("household")
        return services.measure_save(actor=request_user(self), household=household, **validated_data)

    def update(self, instance, validated_data):
        household = validated_data.pop("household", instance.household)
        return services.measure_save(actor=request_user(self), household=household, measure=instance, **validated_data)


class VisitSerializer(serializers.ModelSerializer):
    """A visit (走访记录) logged by the signed-in cadre (``assistance.services.visit_log``); JSON or multipart
    with an optional ``photo``. ``food_secure``/``clothing_secure``, when given, update the household's facts
    (and its eligibility). Visits are not changed afterwards: they are the helper's work log."""

    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())
    household_number = serializers.CharField(source="household.household_number", read_only=True)
    cadre_name = serializers.CharField(source="cadre.name", read_only=True)
    photo = serializers.ImageField(
        required=False,
        allow_null=True,
        help_text="照片（图片文件，大小有限制）",
        error_messages={"invalid_image": "请上传有效的图片文件（JPG、PNG等）。"},
    )
    food_secure = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="核实：不愁吃（留空则不修改户档案）"
    )
    clothing_secure = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="核实：不愁穿（留空则不修改户档案）"
    )

    class Meta:
        model = Visit
        fields = (
            "id",
            "household",
            "household_number",
            "cadre",
            "cadre_name",
            "visited_on",
            "purpose",
            "findings",
            "problems",
            "follow_up",
            "photo",
            "food_secure",
            "clothing_secure",
            "created_at",
        )
        read_only_fields = ("cadre", "created_at")

    def create(self, validated_data):
        user = request_user(self)
        cadre = Cadre.objects.filter(user=user).first()
        if cadre is None:
            raise serializers.ValidationError({"cadre": ["您的账号没有干部档案，不能记录走访。"]})
        return services.visit_log(actor=user, cadre=cadre, **validated_data)


class LoanEventSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, help_text="记录人登录名")

    class Meta:
        model = LoanEvent
        fields = ("id", "kind", "happened_on", "amount", "new_maturity_date", "comment", "recorded_by", "recorded_at")
        read_only_fields = fields


class LoanEventCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Repayment (``repayment``: ``amount``), extension (``extension``: ``new_maturity_date``) or renewal
    without repaying principal (``renewal``: ``new_maturity_date``, default a new term from the old maturity)."""

    kind = serializers.ChoiceField(choices=LoanEventKind.choices, help_text="事项类别")
    happened_on = serializers.DateField(help_text="日期")
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, default=Decimal("0"), help_text="还款金额（元）"
    )
    new_maturity_date = serializers.DateField(required=False, allow_null=True, help_text="新到期日期")
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MicroLoanSerializer(serializers.ModelSerializer):
    """A micro-loan (扶贫小额信贷, ``assistance.services.loan_issue``): at most 50,000 yuan and 36 months, the
    borrower a member of the household aged 18–65. ``maturity_date`` is derived; ``status``, ``warning_level``
    and ``reward_amount`` follow the recorded events and the daily warning job."""

    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())
    household_number = serializers.CharField(source="household.household_number", read_only=True)
    borrower = ScopedPrimaryKeyRelatedField(queryset=Member.objects.all(), help_text="借款人（本户成员ID）")
    borrower_name = serializers.CharField(source="borrower.name", read_only=True)
    events = LoanEventSerializer(many=True, read_only=True)

    class Meta:
        model = MicroLoan
        fields = (
            "id",
            "household",
            "household_number",
            "borrower",
            "borrower_name",
            "borrower_kind",
            "enterprise_name",
            "bank",
            "amount",
            "issued_on",
            "term_months",
            "maturity_date",
            "interest_rate",
            "subsidy_rate",
            "status",
            "warning_level",
            "repaid_on",
            "reward_amount",
            "events",
        )
        read_only_fields = ("maturity_date", "status", "warning_level", "repaid_on", "reward_amount")

    def create(self, validated_data):
        return services.loan_issue(actor=request_user(self), **validated_data)


class ComplianceQuerySerializer(serializers.Serializer):
    county = serializers.CharField(required=False, max_length=6, help_text="县级代码")
    township = serializers.CharField(required=False, max_length=9, help_text="乡镇代码")
    village = serializers.CharField(required=False, max_length=12, help_text="村代码")
    year = serializers.IntegerField(required=False, min_value=2013, max_value=2100, help_text="措施年度（默认今年）")
    code = serializers.MultipleChoiceField(
        choices=list(GAP_LABELS.items()), required=False, help_text="只列出这些类别的问题（计数不受影响）"
    )


class GapSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=[("village", "村"), ("household", "户")], help_text="问题层级")
    code = serializers.ChoiceField(choices=list(GAP_LABELS.items()))
    village_code = serializers.CharField()
    village_name = serializers.CharField()
    household_number = serializers.CharField(help_text="户编号（村级问题为空）")
    message = serializers.CharField()


class ComplianceSerializer(serializers.Serializer):
    year = serializers.IntegerField(help_text="检查帮扶措施的年度")
    total = serializers.IntegerField(help_text="问题总数")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="各类问题的数量（按 code）")
    gaps = GapSerializer(many=True)
