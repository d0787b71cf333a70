"""API shapes of the identification and exit applications (DOMAIN.md §5): the application with its step
history, objections, signatures (identification), notice dates and the household's assessment for the year.
Writes are plain request shapes handed to ``procedures.services``; the services decide."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.models import Assessment
from assessments.rules import CRITERION_LABELS
from households.models import Household
from povertycase.api.fields import ScopedPrimaryKeyRelatedField
from povertycase.api.serializers import StrictFieldsMixin
from procedures import labels, workflow
from procedures.choices import Action, Signatory
from procedures.models import Application, Objection, Signature, Step


class StepSerializer(serializers.ModelSerializer):
    """One step of the history: who (login name, role), what (action, from → to), when and why."""

    actor = serializers.CharField(source="actor.username", read_only=True, help_text="操作人登录名")
    role_label = serializers.SerializerMethodField(help_text="操作人角色（中文）")
    action_label = serializers.SerializerMethodField(help_text="操作（中文）")
    from_state_label = serializers.SerializerMethodField(help_text="原环节（中文）")
    to_state_label = serializers.SerializerMethodField(help_text="新环节（中文）")

    class Meta:
        model = Step
        fields = (
            "id",
            "action",
            "action_label",
            "from_state",
            "from_state_label",
            "to_state",
            "to_state_label",
            "actor",
            "role",
            "role_label",
            "comment",
            "at",
        )
        read_only_fields = fields

    def get_role_label(self, step: Step) -> str:
        return labels.role_label(step.role)

    def get_action_label(self, step: Step) -> str:
        return labels.action_label(step.action)

    def get_from_state_label(self, step: Step) -> str:
        return labels.state_label(step.from_state)

    def get_to_state_label(self, step: Step) -> str:
        return labels.state_label(step.to_state)


class ObjectionSerializer(serializers.ModelSerializer):
    during_state_label = serializers.CharField(source="get_during_state_display", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, help_text="记录人登录名")

    class Meta:
        model = Objection
        fields = (
            "id",
            "text",
            "raised_by",
            "raised_on",
            "during_state",
            "during_state_label",
            "recorded_by",
            "recorded_at",
        )
        read_only_fields = fields


class SignatureSerializer(serializers.ModelSerializer):
    signatory_label = serializers.CharField(source="get_signatory_display", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, help_text="记录人登录名")

    class Meta:
        model = Signature
        fields = ("id", "signatory", "signatory_label", "name", "signed_on", "recorded_by", "recorded_at")
        read_only_fields = fields


class FailingCriterionSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    label = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class AssessmentSummarySerializer(serializers.Serializer):
    """The household's current assessment for the application's year (DOMAIN.md §4): the verdict and the
    criteria it fails."""

    year = serializers.IntegerField()
    eligible = serializers.BooleanField()
    failing = serializers.SerializerMethodField()
    per_capita_net_income = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    poverty_line = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    computed_at = serializers.DateTimeField()

    @extend_schema_field(FailingCriterionSerializer(many=True))
    def get_failing(self, assessment: Assessment) -> list[dict]:
        return [
            {**{k: c[k] for k in ("criterion", "code", "message")}, "label": CRITERION_LABELS.get(c["criterion"], "")}
            for c in assessment.criteria
            if not c["passed"]
        ]


class AvailableActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=Action.choices)
    label = serializers.CharField()
    to_state = serializers.CharField()
    to_state_label = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField(), help_text="可办理的角色")
    needs_notice_over = serializers.BooleanField(help_text="须公示期满后才能办理")


class ApplicationSerializer(serializers.ModelSerializer):
    """An application with its whole step history. Read-only: it changes only through ``transition``."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    household_number = serializers.CharField(source="household.household_number", read_only=True)
    village = serializers.IntegerField(source="household.village_id", read_only=True)
    village_code = serializers.CharField(source="household.village.code", read_only=True)
    village_name = serializers.CharField(source="household.village.name", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, help_text="经办人登录名")
    steps = StepSerializer(many=True, read_only=True)
    objections = ObjectionSerializer(many=True, read_only=True)
    assessment = serializers.SerializerMethodField(help_text="该户本申请年度的最新退出评估（无则为null）")
    available_actions = serializers.SerializerMethodField(help_text="当前环节可执行的操作（谁可办理见roles）")

    class Meta:
        model = Application
        fields = (
            "id",
            "kind",
            "kind_label",
            "household",
            "household_number",
            "village",
            "village_code",
            "village_name",
            "year",
            "state",
            "state_label",
            "state_entered_at",
            "notice_started_on",
            "notice_ends_on",
            "created_at",
            "created_by",
            "assessment",
            "available_actions",
            "steps",
            "objections",
        )
        read_only_fields = fields

    @extend_schema_field(AssessmentSummarySerializer(allow_null=True))
    def get_assessment(self, application: Application) -> dict | None:
        household = application.household
        current = getattr(household, "current_assessments", None)
        if current is None:  # not prefetched (a single object): one query
            current = Assessment.objects.filter(household=household, is_current=True, year=application.year)
        assessment = next((a for a in current if a.year == application.year), None)
        return AssessmentSummarySerializer(assessment).data if assessment is not None else None

    @extend_schema_field(AvailableActionSerializer(many=True))
    def get_available_actions(self, application: Application) -> list[dict]:
        return [
            {
                "action": t.action,
                "label": labels.action_label(t.action),
                "to_state": t.target,
                "to_state_label": labels.state_label(t.target),
                "roles": sorted(t.roles),
                "needs_notice_over": t.needs_notice_over,
            }
            for t in workflow.actions_from(application.kind, application.state)
        ]


class IdentificationApplicationSerializer(ApplicationSerializer):
    """识别申请 (本人申请 → … → 县级审批公告), with the six signatures (六签字)."""

    signatures = SignatureSerializer(many=True, read_only=True)
    missing_signatures = serializers.SerializerMethodField(help_text="尚缺的签字（县级审批前须六签字齐全）")

    class Meta(ApplicationSerializer.Meta):
        fields = (*ApplicationSerializer.Meta.fields, "signatures", "missing_signatures")
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Signatory.choices)))
    def get_missing_signatures(self, application: Application) -> list[str]:
        signed = {s.signatory for s in application.signatures.all()}
        return [s.value for s in Signatory if s.value not in signed]


class ExitApplicationSerializer(ApplicationSerializer):
    """退出申请 (村两委提出 → … → 县审定公告)."""

    class Meta(ApplicationSerializer.Meta):
        pass


# ---------------------------------------------------------------------------------------------------------
# Requests


class ApplicationCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all(), help_text="户ID")
    year = serializers.IntegerField(min_value=2013, max_value=2100, help_text="申请年度")
    comment = serializers.CharField(required=False, allow_blank=True, default="", help_text="意见（可空）")


class ObjectionRequestSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="异议内容")
    raised_by = serializers.CharField(max_length=50, help_text="提出人")
    raised_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="提出日期（默认今天）")


class TransitionRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    action = serializers.ChoiceField(choices=Action.choices, help_text="操作，见资源的available_actions")
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="意见；不予通过（reject）时必填"
    )
    objection = ObjectionRequestSerializer(
        required=False, allow_null=True, default=None, help_text="记录异议（object）时必填"
    )


class SignatureRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    signatory = serializers.ChoiceField(choices=Signatory.choices, help_text="签字人身份")
    name = serializers.CharField(max_length=50, help_text="签字人姓名")
    signed_on = serializers.DateField(help_text="签字日期")
