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
