"""Enumerations of the identification and exit procedures (DOMAIN.md §5): slug + Chinese label."""

from __future__ import annotations

from django.db import models


class Kind(models.TextChoices):
    IDENTIFICATION = "identification", "识别"
    EXIT = "exit", "退出"


class State(models.TextChoices):
    # Identification (识别, "两公示一公告")
    APPLIED = "applied", "本人申请"
    VILLAGER_REVIEW = "villager_review", "村民代表民主评议"
    COMMITTEE_CONFIRMED = "committee_confirmed", "村两委和驻村工作队核实确定"
    TOWNSHIP_NOTICE = "township_notice", "第二次村内公示"
    # Exit (退出)
    PROPOSED = "proposed", "村两委提出"
    APPRAISED = "appraised", "民主评议"
    VERIFIED = "verified", "村两委和驻村工作队核实"
    ACKNOWLEDGED = "acknowledged", "贫困户认可签字"
    # Both
    VILLAGE_NOTICE = "village_notice", "村内公示"
    TOWNSHIP_REVIEWED = "township_reviewed", "乡镇审核"
    COUNTY_APPROVED = "county_approved", "县级审批公告"
    REJECTED = "rejected", "未通过"


class Action(models.TextChoices):
    REVIEW = "review", "民主评议"
    CONFIRM = "confirm", "核实确定"
    APPRAISE = "appraise", "民主评议"
    VERIFY = "verify", "核实"
    ACKNOWLEDGE = "acknowledge", "贫困户认可签字"
    PUBLISH_NOTICE = "publish_notice", "开始村内公示"
    OBJECT = "object", "记录异议"
    TOWNSHIP_REVIEW = "township_review", "乡镇审核"
    PUBLISH_TOWNSHIP_NOTICE = "publish_township_notice", "开始第二次村内公示"
    COUNTY_APPROVE = "county_approve", "县级审批"
    REJECT = "reject", "不予通过"


class Signatory(models.TextChoices):
    """The six signatures on an identification file (六签字, Jiaozuo)."""

    FIRST_SECRETARY = "first_secretary", "驻村第一书记"
    HELPER = "helper", "帮扶责任人"
    VILLAGE_PARTY_SECRETARY = "village_party_secretary", "村党支部书记"
    VILLAGE_COMMITTEE_DIRECTOR = "village_committee_director", "村委会主任"
    TOWNSHIP_PARTY_SECRETARY = "township_party_secretary", "乡镇党委书记"
    TOWNSHIP_HEAD = "township_head", "乡镇长"


class AlertKind(models.TextChoices):
    NOTICE_ENDED = "notice_ended", "公示期已满，待进入下一步"
    STALLED = "stalled", "在同一环节停留过久"
    RETURN_CANDIDATE = "return_candidate", "已脱贫户新评估未达标（返贫风险）"
    DECISIONS_TAMPERED = "decisions_tampered", "决定记录链校验不通过"


class DecisionKind(models.TextChoices):
    """The decisions that change a household's status, identified year or exit year (DOMAIN.md §5 "Decisions")."""

    REGISTERED = "registered", "建档登记"
    IDENTIFIED = "identified", "识别纳入"
    EXITED = "exited", "脱贫退出"
    RETURNED = "returned", "返贫"
    REMOVED = "removed", "清退"


class DecisionSource(models.TextChoices):
    """Where a decision was taken."""

    FORM = "form", "管理后台建档"
    API = "api", "接口建档"
    IMPORT = "import", "Excel导入建档"
    PROCEDURE = "procedure", "识别/退出程序"
    COUNTY = "county", "县级决定"
