"""The exit standard's pure rules (DOMAIN.md §4) at every edge. No database: facts are built by hand.

``facts()`` builds a household-year that passes every criterion (three insured, healthy adults, net income
12,000 yuan in 2015, line 2,855 yuan, house grade B, safe water, fed and clothed); each test overrides the
one thing it is about.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from assessments import rules
from assessments.rules import HouseholdYearFacts, IncomeFacts, MemberFacts

LINE_2015 = Decimal("2855.00")
LINE_2020 = Decimal("4000.00")
ADULT_BIRTH = dt.date(1970, 5, 1)


def member(name: str = "王建国", **overrides) -> MemberFacts:
    values = {
        "name": name,
        "birth_date": ADULT_BIRTH,
        "health": "healthy",
        "school_status": "not_applicable",
        "medical_insurance": True,
        "serious_illness_insurance": True,
    }
    values.update(overrides)
    return MemberFacts(**values)


def adults(count: int) -> tuple[MemberFacts, ...]:
    names = ["王建国", "李秀英", "王志强", "王玉梅", "王国庆"]
    return tuple(member(names[i]) for i in range(count))


def income(net: str | Decimal, transfer: str | Decimal = "0.00") -> IncomeFacts:
    return IncomeFacts(net_income=Decimal(net), transfer_income=Decimal(transfer))


def facts(**overrides) -> HouseholdYearFacts:
    values = {
        "year": 2015,
        "poverty_line": LINE_2015,
        "members": adults(3),
        "income": income("12000.00"),
        "food_secure": True,
        "clothing_secure": True,
        "house_safety_grade": "B",
        "relocated": False,
        "water_quantity_ok": True,
        "water_quality_ok": True,
        "water_convenient": True,
        "water_guaranteed": True,
        "status": "in_poverty",
    }
    values.update(overrides)
    return HouseholdYearFacts(**values)


def with_members(*extra: MemberFacts, **overrides) -> HouseholdYearFacts:
    """The passing household plus ``extra`` members (children, leavers, ...)."""
    return facts(members=(*adults(2), *extra), **overrides)


def assess(household: HouseholdYearFacts, settings: rules.RuleSettings | None = None) -> rules.AssessmentResult:
    return rules.assess_household_year(household, settings)


def warning_codes(result: rules.AssessmentResult) -> list[str]:
    return [w.code for w in result.warnings]


def warning(result: rules.AssessmentResult, code: str) -> rules.RuleWarning:
    return next(w for w in result.warnings if w.code == code)


# --- the baseline ---------------------------------------------------------------------------------


def test_the_baseline_household_passes_every_criterion_without_warnings():
    result = assess(facts())
    assert result.eligible is True
    assert result.failed == ()
    assert [c.criterion for c in result.criteria] == list(rules.CRITERIA)
    assert all(c.passed for c in result.criteria)
    assert result.warnings == ()
    assert result.household_size == 3
    assert result.per_capita_net_income == Decimal("4000.00")
    assert result.poverty_line == LINE_2015
    assert result.rules_version == rules.RULES_VERSION


# --- income -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "size", "passed", "code"),
    [
        pytest.param("2855.00", 1, False, "income_not_above_line", id="exactly at the line fails"),
        pytest.param("2855.01", 1, True, "income_above_line", id="one fen above the line passes"),
        pytest.param("2854.99", 1, False, "income_not_above_line", id="one fen below the line fails"),
        pytest.param("8565.00", 3, False, "income_not_above_line", id="three people exactly at the line fail"),
        pytest.param("8565.03", 3, True, "income_above_line", id="three people one fen above pass"),
        pytest.param("8565.01", 3, False, "income_not_above_line", id="2855.0033 rounds down to the line and fails"),
        pytest.param("5710.01", 2, True, "income_above_line", id="2855.005 rounds half up above the line and passes"),
        pytest.param("0.00", 2, False, "income_not_above_line", id="no income fails"),
        pytest.param("-500.00", 2, False, "income_not_above_line", id="a business loss fails"),
    ],
)
def test_income_passes_only_when_per_capita_net_income_is_strictly_above_the_line(net, size, passed, code):
    result = assess(facts(members=adults(size), income=income(net)))
    criterion = result.criterion("income")
    assert (criterion.passed, criterion.code) == (passed, code)
    assert result.eligible is passed


@pytest.mark.parametrize(
    ("net", "size", "expected"),
    [
        pytest.param("10000.00", 3, "3333.33", id="10000 over 3 is 3333.33"),
        pytest.param("20000.00", 3, "6666.67", id="20000 over 3 rounds up to 6666.67"),
        pytest.param("0.01", 2, "0.01", id="0.005 rounds half up to 0.01"),
        pytest.param("0.03", 2, "0.02", id="0.015 rounds half up to 0.02"),
        pytest.param("5710.01", 2, "2855.01", id="2855.005 rounds half up to 2855.01"),
        pytest.param("8565.01", 3, "2855.00", id="2855.0033 rounds down to 2855.00"),
    ],
)
def test_per_capita_net_income_is_rounded_half_up_to_the_fen(net, size, expected):
    assert rules.per_capita(Decimal(net), size) == Decimal(expected)
    result = assess(facts(members=adults(size), income=income(net)))
    assert result.per_capita_net_income == Decimal(expected)
    assert str(result.per_capita_net_income) == expected


def test_no_income_record_fails_the_income_criterion():
    result = assess(facts(income=None))
    criterion = result.criterion("income")
    assert (criterion.passed, criterion.code) == (False, "no_income_record")
    assert "2015年收入记录" in criterion.message
    assert result.per_capita_net_income is None
    assert result.failed == ("income",)


def test_no_poverty_line_fails_the_income_criterion():
    result = assess(facts(poverty_line=None))
    criterion = result.criterion("income")
    assert (criterion.passed, criterion.code) == (False, "no_poverty_line")
    assert "扶贫标准" in criterion.message
    assert result.eligible is False


def test_no_member_at_the_year_end_fails_the_income_criterion():
    leaver = member(is_active=False, left_on=dt.date(2015, 3, 1))
    result = assess(facts(members=(leaver,)))
    assert result.criterion("income").code == "no_members"
    assert result.household_size == 0
    assert result.per_capita_net_income is None


def test_the_income_message_names_the_per_capita_figure_and_the_line():
    failing = assess(facts(members=adults(1), income=income("2000.50"))).criterion("income").message
    assert "2,000.50" in failing
    assert "2,855.00" in failing
    passing = assess(facts()).criterion("income").message
    assert "4,000.00" in passing
    assert "2,855.00" in passing


@pytest.mark.parametrize(
    ("extra", "size"),
    [
        pytest.param(member("王桂兰", is_active=False, left_on=dt.date(2015, 6, 30)), 2, id="left during the year"),
        pytest.param(member("王桂兰", is_active=False, left_on=dt.date(2015, 12, 31)), 2, id="left on 31 December"),
        pytest.param(member("王桂兰", is_active=False, left_on=dt.date(2016, 1, 1)), 3, id="left after the year end"),
        pytest.param(member("王桂兰", birth_date=dt.date(2016, 1, 1)), 2, id="born after the year end"),
        pytest.param(member("王桂兰", birth_date=dt.date(2015, 12, 31)), 3, id="born on 31 December"),
        pytest.param(member("王桂兰"), 3, id="active all year"),
    ],
)
def test_household_size_counts_the_members_in_the_household_at_the_year_end(extra, size):
    result = assess(with_members(extra, income=income("6000.00")))
    assert result.household_size == size
    assert result.per_capita_net_income == rules.per_capita(Decimal("6000.00"), size)


# --- education (ages on 1 September 2015) -------------------------------------------------------------


def child(birth_date: dt.date, school_status: str = "dropout", health: str = "healthy", **overrides) -> MemberFacts:
    return member("张小明", birth_date=birth_date, school_status=school_status, health=health, **overrides)


@pytest.mark.parametrize(
    ("birth_date", "age"),
    [
        pytest.param(dt.date(2009, 9, 1), 6, id="aged exactly 6 (sixth birthday on 1 September)"),
        pytest.param(dt.date(2000, 9, 1), 15, id="aged exactly 15"),
        pytest.param(dt.date(2000, 9, 2), 14, id="aged 14 (fifteenth birthday on 2 September)"),
        pytest.param(dt.date(1999, 9, 2), 15, id="aged 15 (sixteenth birthday on 2 September)"),
        pytest.param(dt.date(2003, 3, 15), 12, id="aged 12"),
    ],
)
@pytest.mark.parametrize(
    ("school_status", "state"),
    [pytest.param("dropout", "辍学", id="dropout"), pytest.param("not_applicable", "未入学", id="not in school")],
)
def test_a_healthy_child_of_compulsory_school_age_out_of_school_fails_education(birth_date, age, school_status, state):
    result = assess(with_members(child(birth_date, school_status)))
    criterion = result.criterion("education")
    assert (criterion.passed, criterion.code) == (False, "school_age_child_out_of_school")
    assert f"张小明（{age}岁）{state}" in criterion.message
    assert result.failed == ("education",)
    assert "education_exempt" not in warning_codes(result)


@pytest.mark.parametrize(
    "birth_date",
    [
        pytest.param(dt.date(2010, 9, 1), id="aged 5"),
        pytest.param(dt.date(2009, 9, 2), id="aged 5 (sixth birthday on 2 September)"),
        pytest.param(dt.date(1999, 9, 1), id="aged 16 (sixteenth birthday on 1 September)"),
        pytest.param(dt.date(1999, 8, 31), id="aged 16"),
    ],
)
@pytest.mark.parametrize("school_status", ["dropout", "not_applicable"])
def test_a_child_outside_ages_6_to_15_on_1_september_does_not_count(birth_date, school_status):
    result = assess(with_members(child(birth_date, school_status)))
    assert result.criterion("education").passed is True
    assert result.eligible is True


@pytest.mark.parametrize(
    "school_status", ["preschool", "primary", "junior", "senior", "vocational", "college", "home_schooling"]
)
def test_a_child_of_compulsory_school_age_in_school_passes_education(school_status):
    result = assess(with_members(child(dt.date(2005, 1, 1), school_status)))
    assert result.criterion("education").passed is True


def test_home_schooling_counts_as_schooled_even_for_a_disabled_child():
    result = assess(with_members(child(dt.date(2005, 1, 1), "home_schooling", "disabled")))
    assert result.criterion("education").passed is True
    assert "education_exempt" not in warning_codes(result)


def test_a_chronically_ill_child_out_of_school_fails_education():
    result = assess(with_members(child(dt.date(2005, 1, 1), "dropout", "chronic")))
    criterion = result.criterion("education")
    assert criterion.passed is False
    assert "张小明（10岁）辍学" in criterion.message


@pytest.mark.parametrize(("health", "condition"), [("disabled", "残疾"), ("serious_illness", "患有大病")])
@pytest.mark.parametrize("school_status", ["dropout", "not_applicable"])
def test_a_disabled_or_seriously_ill_child_out_of_school_is_exempt_with_a_warning(health, condition, school_status):
    result = assess(with_members(child(dt.date(2005, 1, 1), school_status, health)))
    assert result.criterion("education").passed is True
    assert result.criterion("education").code == "compulsory_education_secured"
    exempt = warning(result, "education_exempt")
    assert "张小明" in exempt.message
    assert "10岁" in exempt.message
    assert condition in exempt.message
    assert result.eligible is True


def test_an_exempt_child_does_not_hide_a_healthy_child_out_of_school():
    exempt = member("张小红", birth_date=dt.date(2006, 1, 1), school_status="dropout", health="disabled")
    result = assess(with_members(exempt, child(dt.date(2005, 1, 1))))
    criterion = result.criterion("education")
    assert criterion.passed is False
    assert "张小明（10岁）辍学" in criterion.message
    assert "张小红" not in criterion.message
    assert "education_exempt" in warning_codes(result)


def test_every_child_out_of_school_is_named():
    second = member("李小红", birth_date=dt.date(2007, 10, 1), school_status="not_applicable")
    message = assess(with_members(child(dt.date(2003, 3, 15)), second)).criterion("education").message
    assert "张小明（12岁）辍学" in message
    assert "李小红（7岁）未入学" in message


def test_a_child_who_left_the_household_during_the_year_does_not_count_for_education():
    gone = child(dt.date(2005, 1, 1), is_active=False, left_on=dt.date(2015, 7, 1))
    assert assess(with_members(gone)).criterion("education").passed is True


def test_school_age_is_taken_on_1_september_of_the_assessed_year():
    born = dt.date(2009, 9, 1)  # 5 on 1 September 2014, 6 on 1 September 2015
    assert assess(with_members(child(born), year=2014, poverty_line=Decimal("2800.00"))).eligible is True
    assert assess(with_members(child(born))).criterion("education").passed is False


# --- medical ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        pytest.param({"medical_insurance": False}, "基本医疗保险", id="without basic medical insurance"),
        pytest.param({"serious_illness_insurance": False}, "大病保险", id="without serious illness insurance"),
        pytest.param(
            {"medical_insurance": False, "serious_illness_insurance": False},
            "基本医疗保险和大病保险",
            id="without both",
        ),
    ],
)
def test_one_member_without_insurance_fails_medical_naming_the_member(overrides, missing):
    result = assess(with_members(member("刘春花", **overrides)))
    criterion = result.criterion("medical")
    assert (criterion.passed, criterion.code) == (False, "member_uninsured")
    assert f"刘春花未参加{missing}" in criterion.message
    assert "王建国" not in criterion.message
    assert result.failed == ("medical",)


def test_all_members_insured_passes_medical():
    criterion = assess(facts()).criterion("medical")
    assert (criterion.passed, criterion.code) == (True, "all_insured")


@pytest.mark.parametrize(
    "left_on",
    [pytest.param(dt.date(2015, 6, 1), id="left during the year"), pytest.param(None, id="no date recorded")],
)
def test_an_inactive_members_missing_insurance_does_not_count(left_on):
    gone = member("刘春花", medical_insurance=False, serious_illness_insurance=False, is_active=False, left_on=left_on)
    assert assess(with_members(gone)).criterion("medical").passed is True


# --- housing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "passed", "code"),
    [
        ("A", True, "safe_house"),
        ("B", True, "safe_house"),
        ("C", False, "unsafe_house"),
        ("D", False, "unsafe_house"),
        ("unknown", False, "house_not_appraised"),
    ],
)
def test_housing_passes_for_grades_a_and_b_only(grade, passed, code):
    criterion = assess(facts(house_safety_grade=grade)).criterion("housing")
    assert (criterion.passed, criterion.code) == (passed, code)


@pytest.mark.parametrize("grade", ["A", "B", "C", "D", "unknown"])
def test_housing_passes_for_any_grade_when_relocated(grade):
    criterion = assess(facts(house_safety_grade=grade, relocated=True)).criterion("housing")
    assert (criterion.passed, criterion.code) == (True, "relocated")


def test_the_housing_message_names_the_unsafe_grade():
    assert "D级" in assess(facts(house_safety_grade="D")).criterion("housing").message


# --- water ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("water_quantity_ok", "水量"),
        ("water_quality_ok", "水质"),
        ("water_convenient", "取水方便程度"),
        ("water_guaranteed", "供水保证率"),
    ],
)
def test_each_water_field_false_alone_fails_water_naming_it(field, label):
    result = assess(facts(**{field: False}))
    criterion = result.criterion("water")
    assert (criterion.passed, criterion.code) == (False, "water_unsafe")
    assert criterion.message == f"饮水{label}不达标。"
    assert result.failed == ("water",)


def test_all_water_fields_true_passes_water():
    assert assess(facts()).criterion("water").passed is True


def test_every_failing_water_field_is_named():
    message = assess(facts(water_quantity_ok=False, water_guaranteed=False)).criterion("water").message
    assert "水量" in message
    assert "供水保证率" in message


# --- food and clothing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "criterion", "code"),
    [("food_secure", "food", "food_insecure"), ("clothing_secure", "clothing", "clothing_insecure")],
)
def test_food_or_clothing_not_secure_fails(field, criterion, code):
    result = assess(facts(**{field: False}))
    assert (result.criterion(criterion).passed, result.criterion(criterion).code) == (False, code)
    assert result.failed == (criterion,)
    assert result.eligible is False


# --- eligible ---------------------------------------------------------------------------------------

ONE_FAILURE = {
    "income": {"income": None},
    "food": {"food_secure": False},
    "clothing": {"clothing_secure": False},
    "education": {"members": (*adults(2), member("张小明", birth_date=dt.date(2005, 1, 1), school_status="dropout"))},
    "medical": {"members": (*adults(2), member("刘春花", medical_insurance=False))},
    "housing": {"house_safety_grade": "C"},
    "water": {"water_quality_ok": False},
}


@pytest.mark.parametrize("failing", rules.CRITERIA)
def test_a_household_is_not_eligible_when_any_one_criterion_fails(failing):
    result = assess(facts(**ONE_FAILURE[failing]))
    assert result.eligible is False
    assert result.failed == (failing,)
    assert [c.criterion for c in result.criteria if not c.passed] == [failing]


def test_failed_lists_every_failing_criterion_in_the_standard_order():
    overrides = {k: v for criterion in ("water", "income", "housing") for k, v in ONE_FAILURE[criterion].items()}
    result = assess(facts(**overrides))
    assert result.eligible is False
    assert result.failed == ("income", "housing", "water")


def test_every_criterion_has_a_chinese_message():
    overrides = {k: v for failing in ONE_FAILURE.values() for k, v in failing.items() if k != "members"}
    members = (*adults(1), child(dt.date(2005, 1, 1), medical_insurance=False))
    result = assess(facts(members=members, **overrides))
    assert result.failed == rules.CRITERIA
    assert all(c.message for c in result.criteria)


# --- warnings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_capita", "fragile"),
    [
        pytest.param("2855.00", False, id="at the line is failing not fragile"),
        pytest.param("2000.00", False, id="below the line is failing not fragile"),
        pytest.param("2855.01", True, id="one fen above the line"),
        pytest.param("3140.49", True, id="one fen below 1.1 times the line"),
        pytest.param("3140.50", False, id="exactly 1.1 times the line"),
        pytest.param("3140.51", False, id="above 1.1 times the line"),
    ],
)
def test_fragile_income_warns_between_the_line_and_ten_percent_above_it(per_capita, fragile):
    result = assess(facts(members=adults(1), income=income(per_capita)))
    assert ("fragile_income" in warning_codes(result)) is fragile
    if fragile:
        assert per_capita in warning(result, "fragile_income").message.replace(",", "")


@pytest.mark.parametrize(
    ("transfer", "dependent"),
    [
        pytest.param("5000.00", False, id="exactly half of net income"),
        pytest.param("5000.01", True, id="one fen over half"),
        pytest.param("10000.00", True, id="all of it"),
        pytest.param("0.00", False, id="none"),
    ],
)
def test_transfer_dependent_warns_when_transfers_exceed_half_of_net_income(transfer, dependent):
    result = assess(facts(income=income("10000.00", transfer)))
    assert ("transfer_dependent" in warning_codes(result)) is dependent


def test_illness_risk_warns_naming_the_seriously_ill_member():
    result = assess(with_members(member("赵国庆", health="serious_illness")))
    assert "赵国庆" in warning(result, "illness_risk").message
    assert result.eligible is True


def test_a_seriously_ill_member_who_left_raises_no_illness_risk():
    gone = member("赵国庆", health="serious_illness", is_active=False, left_on=dt.date(2015, 2, 1))
    assert "illness_risk" not in warning_codes(assess(with_members(gone)))


@pytest.mark.parametrize(
    ("year", "status", "per_capita", "candidate"),
    [
        pytest.param(2020, "exited", "5999.99", True, id="exited below 1.5 times the line in 2020"),
        pytest.param(2020, "unstable", "4500.00", True, id="unstable below 1.5 times the line"),
        pytest.param(2020, "marginal", "3000.00", True, id="marginal even below the line"),
        pytest.param(2020, "exited", "6000.00", False, id="exactly 1.5 times the line"),
        pytest.param(2020, "exited", "6000.01", False, id="above 1.5 times the line"),
        pytest.param(2019, "exited", "3500.00", False, id="before 2020"),
        pytest.param(2020, "in_poverty", "4500.00", False, id="a poor household"),
        pytest.param(2020, "returned", "4500.00", False, id="a returned household"),
    ],
)
def test_monitoring_candidate_only_from_2020_for_non_poor_households_below_1_5_times_the_line(
    year, status, per_capita, candidate
):
    line = {2019: Decimal("3218.00"), 2020: LINE_2020}[year]
    result = assess(facts(year=year, poverty_line=line, status=status, members=adults(1), income=income(per_capita)))
    assert ("monitoring_candidate" in warning_codes(result)) is candidate


def test_warnings_do_not_block_exit():
    result = assess(
        facts(
            year=2020,
            poverty_line=LINE_2020,
            status="exited",
            members=(*adults(1), member("赵国庆", health="serious_illness")),
            income=income("8200.00", "4100.01"),
        )
    )
    assert set(warning_codes(result)) == {
        "fragile_income",
        "transfer_dependent",
        "illness_risk",
        "monitoring_candidate",
    }
    assert result.eligible is True


def test_the_warning_thresholds_are_configurable():
    settings = rules.RuleSettings(monitoring_factor=Decimal("2"), monitoring_from_year=2019)
    household = facts(
        year=2019, poverty_line=Decimal("3218.00"), status="exited", members=adults(1), income=income("6000.00")
    )
    assert "monitoring_candidate" not in warning_codes(assess(household))
    assert "monitoring_candidate" in warning_codes(assess(household, settings))


# --- money and percentages in messages ------------------------------------------------------------------

MONEY_IN_MESSAGES = [
    pytest.param("2855.00", "2,855.00元", id="thousands separated, two decimals"),
    pytest.param("1234567.89", "1,234,567.89元", id="millions"),
    pytest.param("4428.045", "4,428.05元", id="half a fen rounds up, not to even (4,428.04)"),
    pytest.param("4428.035", "4,428.04元", id="half a fen rounds up from an odd fen too"),
    pytest.param("4428.0449", "4,428.04元", id="below half a fen rounds down"),
    pytest.param("6000.045", "6,000.05元", id="1.5 times a line of 4,000.03"),
    pytest.param("0", "0.00元", id="zero"),
    pytest.param("-500", "-500.00元", id="a loss"),
    pytest.param("-1234.565", "-1,234.57元", id="a loss rounds half away from zero"),
    pytest.param("-0.005", "-0.01元", id="minus half a fen is minus one fen"),
    pytest.param("-0.004", "0.00元", id="no negative zero"),
]


@pytest.mark.parametrize(("amount", "text"), MONEY_IN_MESSAGES)
def test_money_in_messages_is_rounded_half_up_to_the_fen(amount, text):
    # PostgreSQL's to_char rounds the same way: the SQL batch path writes the same messages (test_property).
    assert rules._yuan(Decimal(amount)) == text


def test_the_monitoring_line_in_the_message_is_rounded_half_up():
    line = Decimal("2952.03")  # × 1.5 = 4428.045
    result = assess(facts(year=2020, poverty_line=line, status="exited", members=adults(1), income=income("4000.00")))
    assert warning(result, "monitoring_candidate").message == "非贫困户人均纯收入4,000.00元低于监测线4,428.05元。"


@pytest.mark.parametrize(("factor", "percent"), [("1.10", "10%"), ("1.2", "20%"), ("1.05", "5%")])
def test_the_fragile_income_warning_names_the_configured_margin(factor, percent):
    settings = rules.RuleSettings(fragile_income_factor=Decimal(factor))
    assert rules.fragile_income_percent(settings) == percent
    result = assess(facts(members=adults(1), income=income("2856.00")), settings)
    assert warning(result, "fragile_income").message == f"人均纯收入2,856.00元高于扶贫标准2,855.00元不足{percent}。"


def test_facts_are_frozen_so_a_result_cannot_drift_from_its_inputs():
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts().year = 2016  # type: ignore[misc]
