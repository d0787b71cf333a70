"""Resident ID numbers (公民身份号码, GB 11643-1999), DOMAIN.md §8.

Pure functions, no ORM: used by model validation, the demo data generator, imports and tests.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# ASCII digits only: str.isdigit() also accepts full-width and other Unicode digits, which the register does not store.
ID_CHARACTERS = re.compile(r"[0-9]{17}[0-9X]")

MALE = "male"
FEMALE = "female"


@dataclass(frozen=True)
class ParsedIdNumber:
    number: str  # normalised: upper-case X
    area_code: str
    birth_date: dt.date
    gender: str  # "male" / "female", from the parity of the sequence


def check_character(first17: str) -> str:
    """The check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, today: dt.date | None = None) -> ParsedIdNumber:
    """Validate an ID number and return its parts; raise ValidationError with a Chinese message.

    A lower-case ``x`` check character is accepted and normalised to ``X``.
    """
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise ValidationError(
            "身份证号应为18位，当前为%(length)d位。", code="id_length", params={"length": len(number)}
        )
    if not ID_CHARACTERS.fullmatch(number):
        raise ValidationError("身份证号前17位须为数字，最后一位为数字或X。", code="id_characters")
    try:
        birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            "身份证号中的出生日期%(date)s不是有效日期。", code="id_birth_date", params={"date": number[6:14]}
        ) from None
    today = today or dt.date.today()
    if birth_date > today or birth_date.year < 1880:
        raise ValidationError(
            "身份证号中的出生日期%(date)s不合理（不能晚于今天）。",
            code="id_birth_date_future",
            params={"date": birth_date.isoformat()},
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ValidationError(
            "身份证号校验位错误：最后一位应为%(expected)s，请核对号码。",
            code="id_check_character",
            params={"expected": expected},
        )
    gender = MALE if int(number[16]) % 2 == 1 else FEMALE
    return ParsedIdNumber(number=number, area_code=number[:6], birth_date=birth_date, gender=gender)


def build_id_number(area_code: str, birth_date: dt.date, sequence: int) -> str:
    """Compose a valid ID number (for demo data and tests). ``sequence`` is 0..999; odd = male."""
    first17 = f"{area_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def mask_id_number(number: str) -> str:
    """``410324********1234``: area code and last four shown, the birth date and sequence hidden."""
    if not number:
        return ""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """``138****5678``: first three and last four digits shown."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
