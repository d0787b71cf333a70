"""Personal data (ID numbers, phones): who may see them whole, and the record of every time they were shown.

DOMAIN.md §8: masked for anyone without ``households.view_personal_data``; county staff hold it for their
county (their jurisdiction limits which rows they reach). Every reveal writes a ``PersonalDataAccess`` row.
"""

from __future__ import annotations

from collections.abc import Iterable

from households.idcard import mask_id_number, mask_phone
from households.models import PersonalDataAccess

PERMISSION = "households.view_personal_data"
MAX_RECORDED_IDS = 500


def may_view_personal_data(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PERMISSION))


def shown_id_number(user, value: str) -> str:
    return value if may_view_personal_data(user) else mask_id_number(value)


def shown_phone(user, value: str) -> str:
    return value if may_view_personal_data(user) else mask_phone(value)


def record_reveal(*, user, channel: str, model: str, object_ids: Iterable[int], path: str = "") -> None:
    """Record that ``user`` was shown the personal data of these objects (no row when there were none)."""
    ids = sorted(set(object_ids))
    if not ids or not may_view_personal_data(user):
        return
    PersonalDataAccess.objects.create(
        user=user,
        channel=channel,
        model=model,
        object_ids=ids[:MAX_RECORDED_IDS],
        object_count=len(ids),
        path=path[:300],
    )
