"""The head and unique-ID rules of the household file (households.rules, DOMAIN.md §2): tables of cases over
plain values, no database."""

from __future__ import annotations

import pytest

from households.rules import (
    HOUSEHOLD,
    MemberLine,
    active_head_rows,
    head_count_message,
    head_errors,
    repeated_active_id_errors,
    repeated_id_errors,
)

A, B, C = "410324196505120013", "41032419680303002X", "410324199001010011"


def line(row, relation="child", is_active=True, id_number=A) -> MemberLine:
    return MemberLine(row, relation, is_active, id_number)


@pytest.mark.parametrize(
    ("members", "heads"),
    [
        ([line(1, "head"), line(2, "spouse")], [1]),
        ([line(1, "head", is_active=False), line(2, "spouse")], []),  # a head who left does not count
        ([line(1, "head"), line(2, "head")], [1, 2]),
        ([], []),
    ],
)
def test_only_active_heads_count(members, heads):
    assert active_head_rows(members) == heads


@pytest.mark.parametrize(
    ("count", "number", "message"),
    [
        (1, "4103241002010001", None),
        (0, "4103241002010001", "每户必须有且只有一名在户的户主，户4103241002010001当前有0名。"),
        (2, "", "每户必须有且只有一名在户的户主，当前有2名。"),
    ],
)
def test_the_head_count_message_names_the_household_and_the_count(count, number, message):
    assert head_count_message(count, household_number=number) == message


def test_one_active_head_is_no_error():
    assert head_errors([line(1, "head"), line(2, "spouse", id_number=B)]) == {}


def test_a_household_without_a_head_is_an_error_of_the_household():
    errors = head_errors([line(1, "head", is_active=False)], household_number="4103241002010001")

    assert errors == {HOUSEHOLD: "户4103241002010001没有在户的户主，每户必须有且只有一名。"}


def test_two_heads_are_reported_on_each_head_naming_both():
    errors = head_errors([line(3, "head"), line(4, "spouse", id_number=B), line(5, "head", id_number=C)])

    assert set(errors) == {3, 5}
    assert errors[3] == "本户有2名在户的户主（第3行、第5行），每户必须有且只有一名。"


def test_a_head_already_on_file_counts_with_the_listed_rows():
    assert head_errors([line(2, "spouse")], heads_on_file=1) == {}
    errors = head_errors([line(2, "head")], heads_on_file=1, row_label=lambda row: f"第{row + 1}名成员")
    assert errors == {2: "本户有2名在户的户主（第3名成员，另有1名已在系统中（本次未列出）），每户必须有且只有一名。"}


def test_an_id_number_twice_in_a_household_is_refused_whatever_the_status():
    members = [line(1, id_number=B), line(2, is_active=False, id_number=B.lower()), line(3, id_number=C)]

    assert repeated_id_errors(members, household_number="4103241002010001") == {
        2: "户4103241002010001中已有此身份证号（第1行），同一人在一户中只能登记一次。"
    }


def test_an_id_number_active_twice_in_one_write_is_refused_on_the_later_row():
    members = [line(0, id_number=A), line(1, is_active=False, id_number=A), line(2, id_number=f" {A} ")]

    errors = repeated_active_id_errors(members, row_label=lambda index: f"第{index + 1}名成员")

    assert errors == {2: "身份证号与第1名成员重复。"}


def test_rows_without_an_id_number_are_left_to_the_field_check():
    assert repeated_id_errors([line(1, id_number=""), line(2, id_number="")]) == {}
    assert repeated_active_id_errors([line(1, id_number=None), line(2, id_number=None)]) == {}
