"""What makes a demo household's file agree with its status: a household filed as exited (or proposed for exit)
meets the exit standard (DOMAIN.md §4, ``assessments.rules``) in its exit year and every year after it, the
latest included. ``meet_exit_standard`` adjusts the drawn household and member rows before their incomes are
drawn (the income buckets are chosen by ``DemoGenerator``: ``passing`` from the exit year on).

A few exited households are left to fail the latest year on purpose (``is_return_candidate``, about 1 in
``RETURN_CANDIDATE_EVERY``): their latest income falls below the line, so the daily job lists them as
return-to-poverty candidates (返贫风险) and the county has something to decide.
"""

from __future__ import annotations

import datetime as dt
import random

from assessments.rules import COMPULSORY_SCHOOL_AGES, EXEMPT_HEALTH, OUT_OF_SCHOOL, SAFE_GRADES, WATER_FIELDS, age_on

RETURN_CANDIDATE_EVERY = 100  # one exited household in a hundred (exited before the latest year) fails on purpose


def is_return_candidate(exited_before_latest: int) -> bool:
    """Whether the ``exited_before_latest``-th household exited before the latest year (counted from 1) is a
    deliberate return candidate: the first, then one in every ``RETURN_CANDIDATE_EVERY`` (at least one per demo)."""
    return exited_before_latest % RETURN_CANDIDATE_EVERY == 1


def school_age_in(birth_date: dt.date, first_year: int, last_year: int) -> bool:
    """Whether someone born on ``birth_date`` is of compulsory-school age on 1 September of any year from
    ``first_year`` to ``last_year`` (the rule's reference day)."""
    youngest, oldest = age_on(birth_date, dt.date(first_year, 9, 1)), age_on(birth_date, dt.date(last_year, 9, 1))
    return youngest <= COMPULSORY_SCHOOL_AGES[-1] and oldest >= COMPULSORY_SCHOOL_AGES[0]  # the ages run on by year


def _in_school(member: dict, age: int) -> None:
    """Put a member back in the school of their age (控辍保学): a student neither works nor pays into a pension."""
    if age <= 11:
        school = "primary"
    elif age <= 15:
        school = "junior"
    elif age <= 18:
        school = "senior"
    else:
        school = "college"
    member["school_status"] = school
    member["education_level"] = school
    if age >= 16:
        member.update(labor_ability="none", work_status="none", work_months=0, pension_insurance=False)


def meet_exit_standard(
    rng: random.Random, household: dict, members: list[dict], *, since: int, until: int, reference: dt.date
) -> None:
    """Make every criterion but income hold from ``since`` to ``until`` (DOMAIN.md §4): fed and clothed, a safe
    house (a C/D or unappraised house was rebuilt, 危房改造), safe water, everyone insured, and no healthy child of
    compulsory-school age out of school in any of those years (the rule reads one school status, today's)."""
    household["food_secure"] = household["clothing_secure"] = True
    if not household["relocated"] and household["house_safety_grade"] not in SAFE_GRADES:
        household["house_safety_grade"] = rng.choice(sorted(SAFE_GRADES))
    for name, _ in WATER_FIELDS:
        household[name] = True
    for member in members:
        member["medical_insurance"] = member["serious_illness_insurance"] = True
        if (
            member["school_status"] in OUT_OF_SCHOOL
            and member["health"] not in EXEMPT_HEALTH
            and school_age_in(member["birth_date"], since, until)
        ):
            _in_school(member, age_on(member["birth_date"], reference))
