"""Enumerations of the assistance app (DOMAIN.md §7): slug + Chinese label, nothing else."""

from __future__ import annotations

from django.db import models


class UnitLevel(models.TextChoices):
    CENTRAL = "central", "中央单位"
    PROVINCE = "province", "省直单位"
    CITY = "city", "市直单位"
    COUNTY = "county", "县直单位"
    TOWNSHIP = "township", "乡镇单位"
    ENTERPRISE = "enterprise", "企业"


class Role(models.TextChoices):
    COUNTY_STAFF = "county_staff", "县扶贫办"
    TOWNSHIP_STAFF = "township_staff", "乡镇扶贫专干"
    FIRST_SECRETARY = "first_secretary", "驻村第一书记"
    WORK_TEAM = "work_team", "驻村工作队员"
    HELPER = "helper", "帮扶责任人"
    VILLAGE_LEADER = "village_leader", "包村领导"
    SUPERVISOR = "supervisor", "督查/审核人员"


class MeasureCategory(models.TextChoices):
    INDUSTRY = "industry", "产业扶贫"
    EMPLOYMENT = "employment", "转移就业"
    RELOCATION = "relocation", "易地搬迁"
    ECOLOGY = "ecology", "生态扶贫(护林员等)"
    EDUCATION = "education", "教育扶贫"
    HEALTH = "health", "健康扶贫"
    SOCIAL_SECURITY = "social_security", "低保兜底"
    SOCIAL_ASSISTANCE = "social_assistance", "社会救助"
    FINANCE = "finance", "金融扶贫/小额信贷"
    HOUSING = "housing", "危房改造"
    PUBLIC_POST = "public_post", "公益岗位"
    ASSET_INCOME = "asset_income", "资产收益"
    TRAINING = "training", "技能培训"
    INFRASTRUCTURE = "infrastructure", "基础设施"
    OTHER = "other", "其他"


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", "计划"
    IN_PROGRESS = "in_progress", "实施中"
    DONE = "done", "已完成"


class LoanStatus(models.TextChoices):
    ACTIVE = "active", "正常"
    REPAID = "repaid", "已还清"
    OVERDUE = "overdue", "逾期"
    EXTENDED = "extended", "已展期"
    RENEWED = "renewed", "无还本续贷"


class WarningLevel(models.TextChoices):
    GREEN = "green", "绿色（90天以上到期）"
    BLUE = "blue", "蓝色（31–90天到期）"
    YELLOW = "yellow", "黄色（8–30天到期）"
    RED = "red", "红色（7天内到期或已逾期）"


class BorrowerKind(models.TextChoices):
    HOUSEHOLD = "household", "贫困户自用（户借户用户还）"
    ENTERPRISE = "enterprise", "带贫企业使用（户贷企用）"


class LoanEventKind(models.TextChoices):
    REPAYMENT = "repayment", "还款"
    EXTENSION = "extension", "展期"
    RENEWAL = "renewal", "无还本续贷"
