"""Enumerations of the household file (DOMAIN.md §2): slug + Chinese label, nothing else."""

from __future__ import annotations

from django.db import models


class IdentificationStandard(models.TextChoices):
    NATIONAL = "national", "国家标准"
    PROVINCIAL = "provincial", "省定标准"


class Attribute(models.TextChoices):
    GENERAL = "general", "一般贫困户"
    DIBAO = "dibao", "低保贫困户"
    TEKUN = "tekun", "特困供养贫困户"


class HouseholdStatus(models.TextChoices):
    IN_POVERTY = "in_poverty", "未脱贫"
    EXITED = "exited", "已脱贫"
    RETURNED = "returned", "返贫"
    UNSTABLE = "unstable", "脱贫不稳定户"
    MARGINAL = "marginal", "边缘易致贫户"
    REMOVED = "removed", "已清退(识别不准)"


class Cause(models.TextChoices):
    ILLNESS = "illness", "因病"
    DISABILITY = "disability", "因残"
    EDUCATION = "education", "因学"
    DISASTER = "disaster", "因灾"
    LACK_LAND = "lack_land", "缺土地"
    LACK_WATER = "lack_water", "缺水"
    LACK_SKILLS = "lack_skills", "缺技术"
    LACK_LABOR = "lack_labor", "缺劳力"
    LACK_CAPITAL = "lack_capital", "缺资金"
    POOR_TRANSPORT = "poor_transport", "交通条件落后"
    LACK_MOTIVATION = "lack_motivation", "自身发展动力不足"
    OTHER = "other", "其他"


class HouseSafetyGrade(models.TextChoices):
    A = "A", "A级"
    B = "B", "B级"
    C = "C", "C级"
    D = "D", "D级"
    UNKNOWN = "unknown", "未鉴定"


class Gender(models.TextChoices):
    MALE = "male", "男"
    FEMALE = "female", "女"


class Relation(models.TextChoices):
    HEAD = "head", "户主"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    CHILD_IN_LAW = "child_in_law", "儿媳/女婿"
    GRANDCHILD = "grandchild", "孙子女"
    PARENT = "parent", "父母"
    GRANDPARENT = "grandparent", "祖父母"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他"


class EducationLevel(models.TextChoices):
    ILLITERATE = "illiterate", "文盲或半文盲"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中/中专"
    COLLEGE = "college", "大专及以上"
    PRESCHOOL = "preschool", "学龄前"


class SchoolStatus(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "非在校生"
    PRESCHOOL = "preschool", "学前"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中"
    VOCATIONAL = "vocational", "中职"
    COLLEGE = "college", "高职/大学"
    DROPOUT = "dropout", "辍学"
    HOME_SCHOOLING = "home_schooling", "送教上门"


class Health(models.TextChoices):
    HEALTHY = "healthy", "健康"
    CHRONIC = "chronic", "长期慢性病"
    SERIOUS_ILLNESS = "serious_illness", "患有大病"
    DISABLED = "disabled", "残疾"


class LaborAbility(models.TextChoices):
    SKILLED = "skilled", "技能劳动力"
    ORDINARY = "ordinary", "普通劳动力"
    WEAK = "weak", "弱/半劳动力"
    LOST = "lost", "丧失劳动力"
    NONE = "none", "无劳动力"


class WorkStatus(models.TextChoices):
    NONE = "none", "未务工"
    IN_TOWNSHIP = "in_township", "乡镇内"
    IN_COUNTY = "in_county", "县内"
    IN_PROVINCE = "in_province", "省内县外"
    OUT_OF_PROVINCE = "out_of_province", "省外"


class LeftReason(models.TextChoices):
    DEATH = "death", "死亡"
    MARRIAGE_OUT = "marriage_out", "婚出"
    MOVED_OUT = "moved_out", "迁出"
    OTHER = "other", "其他"
