"""Resident ID numbers (GB 11643-1999, DOMAIN.md §8): check character, birth date, gender, masking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from households.idcard import (
    FEMALE,
    MALE,
    build_id_number,
    check_character,
    mask_id_number,
    mask_phone,
    parse_id_number,
)

TODAY = dt.date(2020, 6, 30)


def valid(first17: str) -> str:
    return first17 + check_character(first17)


def with_wrong_check(first17: str) -> str:
    right = check_character(first17)
    return first17 + ("1" if right != "1" else "2")


# Real numbers computed with check_character; 41032419850617106 happens to have the check character X.
MALE_1985 = valid("41032419850617123")
FEMALE_1985 = valid("41032419850617124")
ENDS_IN_X = valid("41032419850617106")


def test_check_character_matches_the_examples_published_with_the_standard():
    # The two sample numbers printed in GB 11643-1999 itself, so the weights and table are not only self-consistent.
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


def test_the_chosen_fixture_really_ends_in_x():
    assert ENDS_IN_X.endswith("X")


@pytest.mark.parametrize(
    ("raw", "number", "birth_date", "gender"),
    [
        (MALE_1985, MALE_1985, dt.date(1985, 6, 17), MALE),
        (FEMALE_1985, FEMALE_1985, dt.date(1985, 6, 17), FEMALE),
        (ENDS_IN_X, ENDS_IN_X, dt.date(1985, 6, 17), FEMALE),
        (ENDS_IN_X.lower(), ENDS_IN_X, dt.date(1985, 6, 17), FEMALE),
        ("11010519491231002x", "11010519491231002X", dt.date(1949, 12, 31), FEMALE),
        ("440524188001010014", "440524188001010014", dt.date(1880, 1, 1), MALE),
        (f"  {MALE_1985}  ", MALE_1985, dt.date(1985, 6, 17), MALE),
        (valid("41032420000229001"), valid("41032420000229001"), dt.date(2000, 2, 29), MALE),
        (valid("41032420200630002"), valid("41032420200630002"), TODAY, FEMALE),  # born today is not the future
    ],
)
def test_valid_id_number_is_parsed_into_its_parts(raw, number, birth_date, gender):
    parsed = parse_id_number(raw, today=TODAY)

    assert parsed.number == number
    assert parsed.area_code == number[:6]
    assert parsed.birth_date == birth_date
    assert parsed.gender == gender


def test_lowercase_x_is_accepted_and_normalised_to_upper_case():
    assert ENDS_IN_X.lower() != ENDS_IN_X
    assert parse_id_number(ENDS_IN_X.lower(), today=TODAY).number == ENDS_IN_X


@pytest.mark.parametrize(
    ("sequence", "gender"),
    [(0, FEMALE), (1, MALE), (2, FEMALE), (123, MALE), (998, FEMALE), (999, MALE)],
)
def test_gender_follows_the_parity_of_the_sequence(sequence, gender):
    number = build_id_number("410325", dt.date(1970, 3, 8), sequence)
    assert parse_id_number(number, today=TODAY).gender == gender


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (
            with_wrong_check("41032419850617123"),
            "id_check_character",
            "身份证号校验位错误：最后一位应为8，请核对号码。",
        ),
        (
            with_wrong_check("11010519491231002"),
            "id_check_character",
            "身份证号校验位错误：最后一位应为X，请核对号码。",
        ),
        (valid("41032419990230001"), "id_birth_date", "身份证号中的出生日期19990230不是有效日期。"),
        (valid("41032419991301001"), "id_birth_date", "身份证号中的出生日期19991301不是有效日期。"),
        (valid("41032420190229001"), "id_birth_date", "身份证号中的出生日期20190229不是有效日期。"),
        (valid("41032420200701001"), "id_birth_date_future", "身份证号中的出生日期2020-07-01不合理（不能晚于今天）。"),
        (valid("41032418790101001"), "id_birth_date_future", "身份证号中的出生日期1879-01-01不合理（不能晚于今天）。"),
        (MALE_1985[:17], "id_length", "身份证号应为18位，当前为17位。"),
        (MALE_1985 + "1", "id_length", "身份证号应为18位，当前为19位。"),
        ("", "id_length", "身份证号应为18位，当前为0位。"),
        (None, "id_length", "身份证号应为18位，当前为0位。"),
        ("4103241985O6171238", "id_characters", "身份证号前17位须为数字，最后一位为数字或X。"),
        ("41032419850617123Y", "id_characters", "身份证号前17位须为数字，最后一位为数字或X。"),
        ("X10324198506171238", "id_characters", "身份证号前17位须为数字，最后一位为数字或X。"),
        ("410324-19850617123", "id_characters", "身份证号前17位须为数字，最后一位为数字或X。"),
        # Full-width digits typed with a Chinese input method are not the ASCII digits the register stores.
        ("４１０３２４１９８５０６１７１２３８", "id_characters", "身份证号前17位须为数字，最后一位为数字或X。"),
        # A superscript digit passes str.isdigit() but not int(): it must be refused, not crash.
        ("41032419850617²238", "id_characters", "身份证号前17位须为数字，最后一位为数字或X。"),
    ],
)
def test_invalid_id_number_is_refused_with_a_chinese_message(raw, code, message):
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(raw, today=TODAY)

    assert excinfo.value.code == code
    assert excinfo.value.messages == [message]


def test_birth_date_is_checked_before_the_check_character():
    # 19990230 with a wrong check character: the clerk is told about the date, which is the real mistake.
    first17 = "41032419990230001"
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(with_wrong_check(first17), today=TODAY)
    assert excinfo.value.code == "id_birth_date"


def test_future_date_is_judged_against_the_real_today_by_default():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        parse_id_number(build_id_number("410324", tomorrow, 1))
    assert excinfo.value.code == "id_birth_date_future"


def test_build_id_number_composes_a_number_that_parses_back():
    number = build_id_number("410329", dt.date(2012, 9, 1), 42)
    parsed = parse_id_number(number, today=TODAY)
    assert number[:17] == "41032920120901042"
    assert (parsed.area_code, parsed.birth_date, parsed.gender) == ("410329", dt.date(2012, 9, 1), FEMALE)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("410324198506171234", "410324********1234"),
        (ENDS_IN_X, f"410324********{ENDS_IN_X[-4:]}"),
        ("", ""),
        ("123456789", "*********"),
    ],
)
def test_mask_id_number_hides_birth_date_and_sequence(number, masked):
    assert mask_id_number(number) == masked


def test_masked_id_number_reveals_neither_birth_date_nor_sequence():
    masked = mask_id_number(MALE_1985)
    assert "19850617" not in masked
    assert len(masked) == 18
    assert masked.count("*") == 8


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("0379-6688123", "037*****8123"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_mask_phone_shows_only_the_first_three_and_last_four_digits(phone, masked):
    assert mask_phone(phone) == masked
