"""Load the national poverty lines of DOMAIN.md §3 (current prices, 2300 yuan at 2010 prices)."""

from __future__ import annotations

from decimal import Decimal

from django.db import migrations

NATIONAL_LINES = [
    # (year, amount, verified, source)
    (2014, "2800.00", False, "国家统计局农村贫困监测口径（常见引用），待扶贫办核实"),
    (2015, "2855.00", True, "国家扶贫标准2015年现价；焦作市2016年建档立卡识别标准"),
    (2016, "2952.00", True, "国家扶贫标准2016年现价"),
    (2017, "2952.00", False, "国家统计局农村贫困监测口径（常见引用），待扶贫办核实"),
    (2018, "2995.00", False, "国家统计局农村贫困监测口径（常见引用），待扶贫办核实"),
    (2019, "3218.00", False, "国家统计局农村贫困监测口径（常见引用），待扶贫办核实"),
    (2020, "4000.00", True, "国家扶贫标准2020年现价"),
]


def load(apps, schema_editor):
    PovertyLine = apps.get_model("assessments", "PovertyLine")
    for year, amount, verified, source in NATIONAL_LINES:
        PovertyLine.objects.update_or_create(
            year=year, kind="poverty", region_code="",
            defaults={"amount": Decimal(amount), "verified": verified, "source": source, "region_name": "全国"},
        )


def unload(apps, schema_editor):
    PovertyLine = apps.get_model("assessments", "PovertyLine")
    PovertyLine.objects.filter(kind="poverty", region_code="", year__in=[y for y, *_ in NATIONAL_LINES]).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
