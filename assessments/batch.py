"""The batch path on PostgreSQL: the exit standard (DOMAIN.md §4) evaluated and written in SQL.

``rules.py`` is the specification; this module translates it into SQL so that a page of 20,000 households costs
three statements instead of a Python loop. It stores exactly what ``services.household_assess`` (the Python
rules, single path) stores: the same criteria and warnings JSON (order, codes and Chinese messages byte for
byte), the same columns and the same fingerprint (``fingerprint.canonical_text``, written in SQL by
``fingerprint.*_CANONICAL_SQL``). ``assessments/tests/test_property.py`` holds the two paths to that on random
households and on the awkward cases (half a fen, negative income, region lines, leavers, exempt children).

Per page, in one transaction:
1. ``COMPUTE_SQL`` evaluates every household into the temporary table ``assessment_page``: figures, verdicts,
   warning flags, the fingerprint and whether it differs from the current assessment's; the messages and JSON
   only for households whose fingerprint changed;
2. ``RETIRE_SQL`` marks those households' current assessments not current;
3. ``INSERT_SQL`` adds their new current assessments; the partial unique index
   ``assessment_one_current_per_year`` with ON CONFLICT DO NOTHING lets a concurrent worker that stored the same
   household first win (its row is equal);
4. ``SUMMARY_SQL`` counts eligible households, failures per criterion and warnings from the flags.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from django.db import connection, transaction
from django.utils import timezone

from assessments import fingerprint, rules, store
from assessments.facts import rule_settings
from assessments.models import LineKind
from assessments.selectors import ASSESSED_EXCLUDED_STATUSES
from assessments.store import RecomputeSummary
from households.models import IncomeRecord

# to_char rounds half away from zero, like rules._yuan (quantize ROUND_HALF_UP), and writes "-500.00".
_MONEY_FORMAT = "FM999,999,999,999,990.00"


def _yuan(expression: str) -> str:
    return f"(to_char({expression}, '{_MONEY_FORMAT}') || '元')"


def _sql_text(value: str) -> str:
    """A constant of rules.py as an SQL literal (they are plain Chinese labels, checked here)."""
    assert "'" not in value and "%" not in value, value
    return f"'{value}'"


_NET_INCOME = " + ".join(f"i.{f}" for f in IncomeRecord.INCOME_FIELDS) + " - i.business_expenses"
_TRANSFER_INCOME = " + ".join(f"i.{f}" for f in IncomeRecord.TRANSFER_FIELDS)
_WATER_FAILING = "concat_ws('、', {})".format(
    ", ".join(f"CASE WHEN NOT h.{name} THEN {_sql_text(label)} END" for name, label in rules.WATER_FIELDS)
)


def _fixed_entry(criterion: str, passed: bool, code: str, message: str) -> str:
    """A criteria JSON entry that does not depend on the household, as a constant (parsed once per statement,
    cheaper than building the same object for each household)."""
    entry = {"criterion": criterion, "passed": passed, "code": code, "message": message}
    return f"{_sql_text(json.dumps(entry, ensure_ascii=False))}::jsonb"


def _built_entry(criterion: str, passed: str, code: str, message: str) -> str:
    """A criteria JSON entry built from SQL expressions."""
    return f"jsonb_build_object('criterion', '{criterion}', 'passed', {passed}, 'code', {code}, 'message', {message})"


def _warning(code: str, message: str) -> str:
    """The warning ``code`` (a boolean column of the same name says whether it applies) as a JSON array."""
    return (
        f"CASE WHEN {code} THEN jsonb_build_array(jsonb_build_object('code', '{code}', 'message', {message})) "
        "ELSE '[]'::jsonb END"
    )


_FINGERPRINT_TEXT = fingerprint.canonical_text_sql(
    header="%(fingerprint_header)s",
    household="h.household_text",
    line=fingerprint.poverty_line_canonical_sql("h.line"),
    income=fingerprint.INCOME_CANONICAL_SQL,
    members="ms.members_text",
)
_FRAGILE_INCOME = _warning(
    "fragile_income",
    f"'人均纯收入' || {_yuan('pc')} || '高于扶贫标准' || {_yuan('line')} || '不足' || %(fragile_percent)s || '。'",
)
_TRANSFER_DEPENDENT = _warning(
    "transfer_dependent", f"'转移性收入' || {_yuan('transfers')} || '超过纯收入' || {_yuan('net')} || '的一半。'"
)
_MONITORING_CANDIDATE = _warning(
    "monitoring_candidate",
    f"'非贫困户人均纯收入' || {_yuan('pc')} || '低于监测线' || {_yuan('line * %(monitoring_factor)s')} || '。'",
)
_ILLNESS_RISK = _warning("illness_risk", "seriously_ill || '患有大病。'")

# The criteria entries of rules.income_criterion … rules.water_criterion, over the columns of ``passed`` below.
_INCOME_ENTRY = _built_entry(
    "income",
    "income_passed",
    "income_code",
    f"""CASE income_code
        WHEN 'no_poverty_line' THEN %(year_label)s || '没有设定扶贫标准，无法判断收入。'
        WHEN 'no_income_record' THEN '缺少' || %(year_label)s || '收入记录。'
        WHEN 'no_members' THEN %(year_label)s || '末无在户成员，无法计算人均纯收入。'
        WHEN 'income_above_line'
        THEN %(year_label)s || '人均纯收入' || {_yuan("pc")} || '，高于扶贫标准' || {_yuan("line")} || '。'
        ELSE %(year_label)s || '人均纯收入' || {_yuan("pc")} || '，未超过扶贫标准' || {_yuan("line")} || '。'
    END""",
)
_FOOD_ENTRY = f"""CASE WHEN food_secure THEN {_fixed_entry("food", True, "food_secure", "不愁吃。")}
    ELSE {_fixed_entry("food", False, "food_insecure", "未达到不愁吃（走访核实）。")} END"""
_CLOTHING_ENTRY = f"""CASE WHEN clothing_secure THEN {_fixed_entry("clothing", True, "clothing_secure", "不愁穿。")}
    ELSE {_fixed_entry("clothing", False, "clothing_insecure", "未达到不愁穿（走访核实）。")} END"""
_EDUCATION_ENTRY = f"""CASE WHEN education_passed
    THEN {_fixed_entry("education", True, "compulsory_education_secured", "适龄儿童均接受义务教育。")}
    ELSE {_built_entry("education", "false", "'school_age_child_out_of_school'", "children_out_of_school || '。'")}
    END"""
_MEDICAL_ENTRY = f"""CASE WHEN medical_passed
    THEN {_fixed_entry("medical", True, "all_insured", "全部成员参加基本医疗保险和大病保险。")}
    ELSE {_built_entry("medical", "false", "'member_uninsured'", "uninsured || '。'")} END"""
_UNSAFE_HOUSE_MESSAGE = "'住房安全等级为' || house_safety_grade || '级（危房），且未搬迁入住。'"
_HOUSING_ENTRY = f"""CASE housing_code
    WHEN 'relocated' THEN {_fixed_entry("housing", True, "relocated", "已易地扶贫搬迁入住。")}
    WHEN 'house_not_appraised' THEN {_fixed_entry("housing", False, "house_not_appraised", "住房未经安全鉴定。")}
    WHEN 'safe_house'
    THEN {_built_entry("housing", "true", "'safe_house'", "'住房安全等级为' || house_safety_grade || '级。'")}
    ELSE {_built_entry("housing", "false", "'unsafe_house'", _UNSAFE_HOUSE_MESSAGE)} END"""
_WATER_ENTRY = f"""CASE WHEN water_passed
    THEN {_fixed_entry("water", True, "water_safe", "饮水水量、水质、方便程度和保证率均达标。")}
    ELSE {_built_entry("water", "false", "'water_unsafe'", "'饮水' || water_failing || '不达标。'")} END"""

# One row per household of the page: the figures, every criterion's verdict and the warnings' conditions as in
# rules.assess_household_year; the messages and JSON only for households whose fingerprint changed (the
# summary needs only the flags, and a nightly pass over unchanged households then writes and formats nothing).
COMPUTE_SQL = f"""
CREATE TEMPORARY TABLE assessment_page ON COMMIT DROP AS
WITH year_line AS (
    SELECT region_code, amount FROM assessments_povertyline WHERE year = %(year)s AND kind = %(line_kind)s
), household AS (
    -- selectors.assessable_households; the line: the longest region code prefixing the village code (line_for_code)
    SELECT h.id AS household_id, h.status, h.food_secure, h.clothing_secure, h.relocated, h.house_safety_grade,
           {_WATER_FAILING} AS water_failing,
           {fingerprint.HOUSEHOLD_CANONICAL_SQL} AS household_text,
           l.amount AS line
    FROM households_household h
    JOIN villages_village v ON v.id = h.village_id
    LEFT JOIN LATERAL (
        SELECT amount FROM year_line WHERE starts_with(v.code, region_code) ORDER BY length(region_code) DESC LIMIT 1
    ) l ON true
    -- unnest, not = ANY(array), whose selectivity the planner estimated element by element (0.2 s per page)
    WHERE h.id IN (SELECT unnest(%(ids)s::bigint[])) AND h.identified_year <= %(year)s
      AND h.status <> ALL(%(excluded)s)
), person AS (
    -- rules.members_of_year (counted) and rules.age_on (age on 1 September; only ages 6–15 matter)
    SELECT m.household_id, m.id, m.name, m.health, m.school_status, m.medical_insurance,
           m.serious_illness_insurance,
           {fingerprint.MEMBER_CANONICAL_SQL} AS member_text,
           (m.birth_date <= %(year_end)s AND (m.is_active OR coalesce(m.left_on > %(year_end)s, false))) AS counted,
           CASE WHEN m.school_status = ANY(%(out_of_school)s)  -- only an out-of-school child's age matters
                THEN date_part('year', age(%(sept1)s, m.birth_date))::int END AS age
    FROM households_member m
    WHERE m.household_id IN (SELECT household_id FROM household)
), child AS (
    SELECT p.*,
           p.counted AND coalesce(p.age BETWEEN %(school_age_min)s AND %(school_age_max)s, false) AS out_of_school,
           p.health = ANY(%(exempt_health)s) AS exempt,
           CASE WHEN p.school_status = 'dropout' THEN '辍学' ELSE '未入学' END AS state
    FROM person p
), members AS (
    SELECT household_id,
           string_agg(member_text, ';' ORDER BY id) AS members_text,
           count(*) FILTER (WHERE counted) AS size,
           string_agg(name || '（' || age || '岁）' || state, '；' ORDER BY id)
               FILTER (WHERE out_of_school AND NOT exempt) AS children_out_of_school,
           count(*) FILTER (WHERE out_of_school AND exempt) AS exempt_children,
           jsonb_agg(jsonb_build_object('code', 'education_exempt', 'message',
                     name || '（' || age || '岁，' || CASE WHEN health = 'disabled' THEN '残疾' ELSE '患有大病' END
                     || '）' || state || '，不计入义务教育指标。') ORDER BY id)
               FILTER (WHERE out_of_school AND exempt) AS exempt_warnings,
           string_agg(name || '未参加' || concat_ws('和', CASE WHEN NOT medical_insurance THEN '基本医疗保险' END,
                                                  CASE WHEN NOT serious_illness_insurance THEN '大病保险' END),
                      '；' ORDER BY id)
               FILTER (WHERE counted AND NOT (medical_insurance AND serious_illness_insurance)) AS uninsured,
           string_agg(name, '、' ORDER BY id) FILTER (WHERE counted AND health = 'serious_illness') AS seriously_ill
    FROM child
    GROUP BY household_id
), figures AS MATERIALIZED (
    SELECT h.*, coalesce(ms.size, 0) AS size, ms.children_out_of_school, coalesce(ms.exempt_children, 0)
           AS exempt_children, ms.exempt_warnings, ms.uninsured, ms.seriously_ill,
           i.household_id IS NOT NULL AS has_income,
           {_NET_INCOME} AS net,
           {_TRANSFER_INCOME} AS transfers,
           -- rules.per_capita: round() on numeric is half away from zero, like ROUND_HALF_UP
           CASE WHEN i.household_id IS NOT NULL AND ms.size > 0 THEN round(({_NET_INCOME}) / ms.size, 2) END AS pc,
           md5({_FINGERPRINT_TEXT}) AS fingerprint,
           -- a probe of assessment_one_current_per_year per household; a join chose to read the whole table
           (SELECT a.fingerprint FROM assessments_assessment a
            WHERE a.household_id = h.household_id AND a.year = %(year)s AND a.is_current) AS current_fingerprint
    FROM household h
    LEFT JOIN members ms ON ms.household_id = h.household_id
    LEFT JOIN households_incomerecord i ON i.household_id = h.household_id AND i.year = %(year)s
), verdict AS MATERIALIZED (
    SELECT f.*,
           fingerprint IS DISTINCT FROM current_fingerprint AS changed,
           CASE WHEN line IS NULL THEN 'no_poverty_line'
                WHEN NOT has_income THEN 'no_income_record'
                WHEN size = 0 THEN 'no_members'
                WHEN pc > line THEN 'income_above_line'
                ELSE 'income_not_above_line' END AS income_code,
           CASE WHEN relocated THEN 'relocated'
                WHEN house_safety_grade = ANY(%(safe_grades)s) THEN 'safe_house'
                WHEN house_safety_grade = 'unknown' THEN 'house_not_appraised'
                ELSE 'unsafe_house' END AS housing_code,
           coalesce(line < pc AND pc < line * %(fragile_income_factor)s, false) AS fragile_income,
           coalesce(pc IS NOT NULL AND net > 0 AND transfers > net * %(transfer_share)s, false) AS transfer_dependent,
           coalesce(%(monitoring)s AND status = ANY(%(not_poor)s) AND pc < line * %(monitoring_factor)s, false)
               AS monitoring_candidate,
           seriously_ill IS NOT NULL AS illness_risk
    FROM figures f
), passed AS (
    SELECT v.*,
           income_code = 'income_above_line' AS income_passed,
           food_secure AS food_passed,
           clothing_secure AS clothing_passed,
           children_out_of_school IS NULL AS education_passed,
           uninsured IS NULL AS medical_passed,
           housing_code IN ('relocated', 'safe_house') AS housing_passed,
           water_failing = '' AS water_passed
    FROM verdict v
), explained AS (
    SELECT p.*, {_INCOME_ENTRY} AS income_entry, {_FOOD_ENTRY} AS food_entry, {_CLOTHING_ENTRY} AS clothing_entry,
           {_EDUCATION_ENTRY} AS education_entry, {_MEDICAL_ENTRY} AS medical_entry,
           {_HOUSING_ENTRY} AS housing_entry, {_WATER_ENTRY} AS water_entry
    FROM passed p
)
SELECT household_id, fingerprint, current_fingerprint, changed,
       (income_passed AND food_passed AND clothing_passed AND education_passed AND medical_passed
        AND housing_passed AND water_passed) AS eligible,
       income_passed, food_passed, clothing_passed, education_passed, medical_passed, housing_passed, water_passed,
       exempt_children, fragile_income, transfer_dependent, monitoring_candidate, illness_risk,
       CASE WHEN changed THEN jsonb_build_array({", ".join(f"{c}_entry" for c in rules.CRITERIA)}) END
           AS criteria,
       -- in the order of rules.assess_household_year
       CASE WHEN changed THEN coalesce(exempt_warnings, '[]'::jsonb) || {_FRAGILE_INCOME} || {_TRANSFER_DEPENDENT}
                              || {_MONITORING_CANDIDATE} || {_ILLNESS_RISK} END AS warnings,
       size::smallint AS household_size,
       pc AS per_capita_net_income,
       line AS poverty_line
FROM explained
"""

RETIRE_SQL = """
UPDATE assessments_assessment a SET is_current = false
FROM assessment_page p
WHERE p.changed AND p.current_fingerprint IS NOT NULL
  AND a.household_id = p.household_id AND a.year = %(year)s AND a.is_current AND a.fingerprint <> p.fingerprint
"""

_FLAGGED_WARNINGS = ("fragile_income", "transfer_dependent", "monitoring_candidate", "illness_risk")
_PASSED_COLUMNS = ", ".join(f"{c}_passed" for c in rules.CRITERIA)
INSERT_SQL = f"""
INSERT INTO assessments_assessment (
    household_id, year, is_current, eligible, {_PASSED_COLUMNS}, criteria, warnings, household_size,
    per_capita_net_income, poverty_line, rules_version, fingerprint, computed_at
)
SELECT p.household_id, %(year)s, true, p.eligible, {_PASSED_COLUMNS}, p.criteria, p.warnings, p.household_size,
       p.per_capita_net_income, p.poverty_line, %(rules_version)s, p.fingerprint, %(now)s
FROM assessment_page p
WHERE p.changed
ORDER BY p.household_id  -- workers inserting overlapping pages wait on each other in one order: no deadlock
ON CONFLICT DO NOTHING
"""

SUMMARY_SQL = """
SELECT count(*), count(*) FILTER (WHERE eligible), {failing}, coalesce(sum(exempt_children), 0)::bigint, {warned}
FROM assessment_page
""".format(
    failing=", ".join(f"count(*) FILTER (WHERE NOT {c}_passed)" for c in rules.CRITERIA),
    warned=", ".join(f"count(*) FILTER (WHERE {code})" for code in _FLAGGED_WARNINGS),
)


def _parameters(*, household_ids: list[int], year: int) -> dict:
    rule_config = rule_settings()
    return {
        # one '{1,2,…}' literal: psycopg2 would send ARRAY[1,2,…], 20,000 constants for the parser and planner
        # (50–100 ms of planning per page, against 5–10 ms)
        "ids": "{" + ",".join(str(int(pk)) for pk in household_ids) + "}",
        "year": year,
        "year_end": dt.date(year, 12, 31),
        "sept1": dt.date(year, 9, 1),
        "year_label": f"{year}年",
        "line_kind": LineKind.POVERTY.value,
        "excluded": [str(s) for s in ASSESSED_EXCLUDED_STATUSES],
        "school_age_min": min(rules.COMPULSORY_SCHOOL_AGES),
        "school_age_max": max(rules.COMPULSORY_SCHOOL_AGES),
        "out_of_school": sorted(rules.OUT_OF_SCHOOL),
        "exempt_health": sorted(rules.EXEMPT_HEALTH),
        "safe_grades": sorted(rules.SAFE_GRADES),
        "not_poor": sorted(rules.NOT_POOR_STATUSES),
        "fragile_income_factor": rule_config.fragile_income_factor,
        "fragile_percent": rules.fragile_income_percent(rule_config),
        "transfer_share": rule_config.transfer_share,
        "monitoring": year >= rule_config.monitoring_from_year,
        "monitoring_factor": rule_config.monitoring_factor,
        "fingerprint_header": fingerprint.fingerprint_header(year, rule_config),
        "rules_version": rules.RULES_VERSION,
        "now": timezone.now(),
    }


def assess_households(*, household_ids: list[int], year: int) -> RecomputeSummary:
    """The batch path on PostgreSQL (see the module docstring): assess, store what changed, summarise."""
    if not household_ids:
        return RecomputeSummary()
    parameters = _parameters(household_ids=household_ids, year=year)
    with transaction.atomic(), connection.cursor() as cursor:
        store.lock_households(household_ids=household_ids, year=year)  # before the facts are read
        # JIT compiling this expression-heavy statement took longer (7 s) than running it: off for this transaction.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(COMPUTE_SQL, parameters)
        cursor.execute(RETIRE_SQL, parameters)
        cursor.execute(INSERT_SQL, parameters)
        changed = cursor.rowcount
        cursor.execute(SUMMARY_SQL)
        assessed, eligible, *failing, exempt_children, fragile, transfer, monitoring, illness = cursor.fetchone()
        # ON COMMIT DROP covers the usual case; an enclosing transaction may call again before committing.
        cursor.execute("DROP TABLE assessment_page")
    warnings = {"education_exempt": exempt_children}
    warnings.update(zip(_FLAGGED_WARNINGS, (fragile, transfer, monitoring, illness), strict=True))
    return RecomputeSummary(
        assessed=assessed,
        changed=changed,
        eligible=eligible,
        failing=Counter({c: n for c, n in zip(rules.CRITERIA, failing, strict=True) if n}),
        warnings=Counter({code: n for code, n in warnings.items() if n}),
    )
