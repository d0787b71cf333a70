"""The people of one demo household: ``FamilyGenerator`` composes a family (head first, then relatives with
coherent ages, genders and surnames; some who died, married out or moved away), gives each person a health,
and turns a ``Person`` into a member row (valid ID number, schooling, labour ability, work, insurance).

It draws from the generator's ``random.Random`` in the generator's order, so the same seed gives the same
people. Ages are taken on the reference day, 1 September of the latest demo year (school-year start).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from demo.names import GIVEN_NAMES
from demo.tables import EDUCATION_FOR_SCHOOL, SCHOOLED, SURNAME_TABLE, WORK_MONTHS, WORK_PLACES, C, age_on
from households import choices
from households.idcard import build_id_number

MALE = choices.Gender.MALE.value
FEMALE = choices.Gender.FEMALE.value


@dataclass
class Person:
    """One person of a family being composed, before the member row is drawn."""

    relation: str
    gender: str
    birth_date: dt.date
    surname: str
    is_active: bool = True
    left_reason: str = ""
    left_on: dt.date | None = None
    health: str = "healthy"
    school_override: str = ""


class FamilyGenerator:
    """Families and member rows for ``DemoGenerator``; ``used_ids`` keeps every ID number unique in the run."""

    def __init__(self, *, rng: random.Random, reference: dt.date, last_year: int) -> None:
        self.rng = rng
        self.reference = reference
        self.last_year = last_year
        self.used_ids: set[str] = set()

    def birth_date_for_age(self, age: int) -> dt.date:
        """A birth date giving ``age`` on the reference day (1 September of the latest year)."""
        ref = self.reference
        latest = dt.date(ref.year - age, ref.month, ref.day)
        earliest = dt.date(ref.year - age - 1, ref.month, ref.day) + dt.timedelta(days=1)
        return earliest + dt.timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def id_number(self, area_code: str, birth_date: dt.date, gender: str) -> str:
        rng = self.rng
        start = 1 if gender == MALE else 0
        for _ in range(200):
            number = build_id_number(area_code, birth_date, rng.randrange(start, 1000, 2))
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number
        raise RuntimeError(f"no free ID sequence for {area_code} {birth_date}")

    def given_name(self, gender: str, birth_year: int) -> str:
        for until, male_names, female_names in GIVEN_NAMES:
            if birth_year <= until:
                return self.rng.choice(male_names if gender == MALE else female_names)
        raise AssertionError("unreachable")

    def other_gender(self, gender: str) -> str:
        return FEMALE if gender == MALE else MALE

    def random_gender(self, male_share: float = 0.52) -> str:
        return MALE if self.rng.random() < male_share else FEMALE

    def _person(self, relation: str, gender: str, age: int, surname: str) -> Person:
        return Person(relation=relation, gender=gender, birth_date=self.birth_date_for_age(age), surname=surname)

    def compose(self, composition: str, cause: str) -> list[Person]:
        """The people of one household: head first, then relatives with coherent ages and genders."""
        rng = self.rng
        surname = SURNAME_TABLE.pick
        people: list[Person] = []
        if composition == "single_elder":
            head_gender = self.random_gender(0.55)
            head = self._person("head", head_gender, rng.randint(60, 75), surname(rng))
            people.append(head)
            if rng.random() < 0.3:  # widowed during the campaign
                spouse = self._spouse(head, surname(rng))
                self._leave(spouse, "death", after=dt.date(2015, 1, 1))
                people.append(spouse)
            return people
        if composition == "elder_couple":
            head = self._person("head", self.random_gender(0.9), rng.randint(55, 75), surname(rng))
            people += [head, self._spouse(head, surname(rng))]
            self._maybe_child_left(people, head, surname_of_children=self._family_surname(people))
            return people
        if composition == "single_adult":
            head = self._person("head", self.random_gender(0.75), rng.randint(30, 60), surname(rng))
            people.append(head)
            head_age = self._age(head)
            if rng.random() < 0.35 and head_age <= 60:
                mother_age = head_age + rng.randint(20, 34)
                if mother_age <= 92:
                    people.append(self._person("parent", FEMALE, mother_age, surname(rng)))
            elif rng.random() < 0.3:
                sibling_age = max(28, head_age + rng.randint(-8, 8))
                people.append(self._person("sibling", self.random_gender(0.7), sibling_age, head.surname))
            return people
        if composition == "skip_gen":  # grandparents raising grandchildren (留守儿童)
            head = self._person("head", self.random_gender(0.85), rng.randint(56, 75), surname(rng))
            people.append(head)
            if rng.random() < 0.8:
                people.append(self._spouse(head, surname(rng)))
            family = self._family_surname(people)
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                people.append(self._person("grandchild", self.random_gender(), rng.randint(2, 15), family))
            return people
        if composition == "nuclear":
            head = self._person("head", self.random_gender(0.88), rng.randint(30, 55), surname(rng))
            people.append(head)
            if rng.random() < 0.85:
                people.append(self._spouse(head, surname(rng)))
            family = self._family_surname(people)
            head_age = self._age(head)
            self._children(people, "child", parent_age=head_age, surname=family, count=rng.choice((1, 2, 2, 2, 3)))
            if head_age <= 58 and rng.random() < 0.3:
                mother_age = head_age + rng.randint(20, 34)
                father_age = mother_age + rng.randint(0, 5)
                if head.gender == MALE and father_age <= 90 and rng.random() < 0.5:
                    people.append(self._person("parent", MALE, father_age, head.surname))
                if mother_age <= 92:
                    mother = self._person("parent", FEMALE, mother_age, surname(rng))
                    if rng.random() < 0.12:
                        self._leave(mother, "death", after=dt.date(2015, 1, 1))
                    people.append(mother)
            self._maybe_child_left(people, head, surname_of_children=family)
            if cause == C.EDUCATION:
                self._ensure_student(people, family)
            return people
        # three generations: head, spouse, a married child with children
        head = self._person("head", self.random_gender(0.9), rng.randint(48, 72), surname(rng))
        people.append(head)
        if rng.random() < 0.8:
            people.append(self._spouse(head, surname(rng)))
        family = self._family_surname(people)
        head_age = self._age(head)
        child_age = max(20, head_age - rng.randint(21, 32))
        son = rng.random() < 0.85
        child = self._person("child", MALE if son else FEMALE, child_age, family)
        in_law_age = max(20, child_age + (rng.randint(-5, 1) if son else rng.randint(-1, 5)))
        in_law = self._person("child_in_law", FEMALE if son else MALE, in_law_age, surname(rng))
        people += [child, in_law]
        grand_surname = family if son or rng.random() < 0.5 else in_law.surname
        self._children(people, "grandchild", parent_age=min(child_age, in_law_age), surname=grand_surname, count=None)
        if rng.random() < 0.25:  # an unmarried younger child still at home
            younger = child_age - rng.randint(2, 8)
            if younger >= 0:
                people.append(self._person("child", self.random_gender(), younger, family))
        if cause == C.EDUCATION:
            self._ensure_student(people, grand_surname)
        return people

    def _age(self, person: Person) -> int:
        return age_on(person.birth_date, self.reference)

    def _spouse(self, head: Person, surname: str) -> Person:
        head_age = self._age(head)
        delta = self.rng.randint(-6, 3) if head.gender == MALE else self.rng.randint(-3, 6)
        return self._person("spouse", self.other_gender(head.gender), max(20, head_age + delta), surname)

    def _family_surname(self, people: list[Person]) -> str:
        """Children take the father's surname: the head's if male, else the husband's (or the head's)."""
        head = people[0]
        if head.gender == MALE:
            return head.surname
        husband = next((p for p in people if p.relation == "spouse" and p.gender == MALE), None)
        return husband.surname if husband else head.surname

    def _children(self, people: list[Person], relation: str, *, parent_age: int, surname: str, count) -> None:
        rng = self.rng
        count = count if count is not None else rng.choice((1, 1, 2, 2, 3))
        age = parent_age - rng.randint(20, 34)
        for _ in range(count):
            if age < 0:
                break
            people.append(self._person(relation, self.random_gender(), age, surname))
            age -= rng.randint(1, 6)

    def _maybe_child_left(self, people: list[Person], head: Person, *, surname_of_children: str) -> None:
        """Some households have a daughter married out or a child moved out (inactive members)."""
        rng = self.rng
        if rng.random() >= 0.07:
            return
        head_age = self._age(head)
        age = head_age - rng.randint(20, 30)
        if age < 20:
            return
        reason = "marriage_out" if rng.random() < 0.7 else "moved_out"
        gender = FEMALE if reason == "marriage_out" else self.random_gender()
        child = self._person("child", gender, age, surname_of_children)
        self._leave(child, reason, after=max(dt.date(2015, 1, 1), child.birth_date + dt.timedelta(days=18 * 366)))
        people.append(child)

    def _leave(self, person: Person, reason: str, *, after: dt.date) -> None:
        last = dt.date(self.last_year, 8, 31)
        after = max(after, person.birth_date + dt.timedelta(days=1))
        if after > last:
            after = last
        person.is_active = False
        person.left_reason = reason
        person.left_on = after + dt.timedelta(days=self.rng.randrange((last - after).days + 1))

    def _ensure_student(self, people: list[Person], surname: str) -> None:
        """因学 households have someone in senior school, vocational school or college."""
        rng = self.rng
        for person in people:
            if person.is_active and person.relation in ("child", "grandchild") and 15 <= self._age(person) <= 21:
                person.school_override = rng.choice(("senior", "vocational", "college"))
                return
        student = self._person("child", self.random_gender(), rng.randint(16, 20), surname)
        student.school_override = "college" if self._age(student) >= 19 else rng.choice(("senior", "vocational"))
        people.append(student)

    # -- attributes --------------------------------------------------------------------------------------

    def assign_health(self, people: list[Person], cause: str) -> None:
        rng = self.rng
        for person in people:
            age = self._age(person)
            roll = rng.random()
            if age < 16:
                bounds = (0.94, 0.96, 0.97)
            elif age < 60:
                bounds = (0.74, 0.87, 0.92)
            else:
                bounds = (0.45, 0.80, 0.88)
            if roll < bounds[0]:
                person.health = "healthy"
            elif roll < bounds[1]:
                person.health = "chronic"
            elif roll < bounds[2]:
                person.health = "serious_illness"
            else:
                person.health = "disabled"
        active = [p for p in people if p.is_active]
        adults = [p for p in active if self._age(p) >= 16] or active
        if cause == C.ILLNESS and not any(p.health in ("chronic", "serious_illness") for p in active):
            rng.choice(adults).health = "serious_illness" if rng.random() < 0.45 else "chronic"
        if cause == C.DISABILITY and not any(p.health == "disabled" for p in active):
            rng.choice(adults).health = "disabled"

    def member_row(self, person: Person, area_code: str) -> dict:
        rng = self.rng
        age = self._age(person)
        health = person.health
        disability_grade = rng.choice((1, 2, 2, 3, 3, 4, 4)) if health == "disabled" else None
        school, education = self._schooling(person, age, health)
        student = school in SCHOOLED and school != "preschool"
        labor = self._labor(age, health, disability_grade, student)
        work, months = "none", 0
        if 16 <= age <= 60 and not student and person.is_active:
            chance = {"skilled": 0.8, "ordinary": 0.6, "weak": 0.2}.get(labor, 0.0)
            if rng.random() < chance:
                work = WORK_PLACES.pick(rng)
                months = rng.randint(*WORK_MONTHS[work])
        medical = rng.random() >= 0.01
        serious = medical and rng.random() >= 0.006
        pension = age >= 16 and not student and rng.random() < 0.93
        ethnicity = "汉族"
        roll = rng.random()
        if roll < 0.008:
            ethnicity = "回族"
        elif roll < 0.01:
            ethnicity = "满族"
        id_number = self.id_number(area_code, person.birth_date, person.gender)
        return {
            "name": person.surname + self.given_name(person.gender, person.birth_date.year),
            "id_number": id_number,
            "gender": person.gender,
            "birth_date": person.birth_date,
            "relation": person.relation,
            "ethnicity": ethnicity,
            "education_level": education,
            "school_status": school,
            "health": health,
            "disability_grade": disability_grade,
            "labor_ability": labor,
            "work_status": work,
            "work_months": months,
            "medical_insurance": medical,
            "serious_illness_insurance": serious,
            "pension_insurance": pension,
            "is_active": person.is_active,
            "left_reason": person.left_reason,
            "left_on": person.left_on,
        }

    def _schooling(self, person: Person, age: int, health: str) -> tuple[str, str]:
        """(school_status, education_level) from the age on 1 September of the latest year."""
        rng = self.rng
        if person.school_override:
            return person.school_override, EDUCATION_FOR_SCHOOL[person.school_override]
        if age < 3:
            return "not_applicable", "preschool"
        if age < 6:
            return ("preschool" if rng.random() < 0.85 else "not_applicable"), "preschool"
        if age <= 15:
            if health in ("disabled", "serious_illness"):
                roll = rng.random()
                if roll < 0.45:
                    return "home_schooling", "primary"
                if roll < 0.65:
                    return "not_applicable", ("illiterate" if age < 9 else "primary")  # exempt, warned
            elif rng.random() < 0.035:
                return "dropout", ("primary" if age < 13 else "junior")
            if age <= 11:
                return "primary", "primary"
            if age <= 14:
                return "junior", "junior"
            school = rng.choices(("junior", "senior", "vocational"), (50, 40, 10))[0]
            return school, EDUCATION_FOR_SCHOOL[school]
        if age <= 18:
            # At 16 nearly everyone is still in school (a 15-year-old of the previous year's assessment).
            weights = (70, 25, 5) if age == 16 else (55, 20, 25)
            school = rng.choices(("senior", "vocational", "not_applicable"), weights)[0]
            return school, ("junior" if school == "not_applicable" else "senior")
        if age <= 22 and rng.random() < 0.3:
            return "college", "college"
        year = person.birth_date.year
        if year < 1950:
            levels = (("illiterate", 45), ("primary", 45), ("junior", 10))
        elif year < 1965:
            levels = (("illiterate", 20), ("primary", 45), ("junior", 30), ("senior", 5))
        elif year < 1980:
            levels = (("illiterate", 5), ("primary", 30), ("junior", 55), ("senior", 10))
        else:
            levels = (("primary", 10), ("junior", 60), ("senior", 22), ("college", 8))
        return "not_applicable", rng.choices([v for v, _ in levels], [w for _, w in levels])[0]

    def _labor(self, age: int, health: str, grade: int | None, student: bool) -> str:
        rng = self.rng
        if age < 16 or student:
            return "none"
        if age >= 65:
            if health == "healthy":
                return rng.choices(("ordinary", "weak", "none"), (20, 60, 20))[0]
            return rng.choice(("lost", "none"))
        if health == "healthy":
            return rng.choices(("skilled", "ordinary", "weak"), (15, 75, 10))[0]
        if health == "chronic":
            return rng.choices(("ordinary", "weak", "lost"), (40, 50, 10))[0]
        if health == "serious_illness":
            return rng.choices(("weak", "lost"), (40, 60))[0]
        if grade is not None and grade <= 2:
            return "lost"
        return rng.choices(("ordinary", "weak"), (40, 60))[0]
