"""Strict readers for settings taken from environment variables.

A value that cannot be parsed raises ``ImproperlyConfigured`` instead of silently falling back,
so that a typo in production (``DEBUG=flase``) stops the process at start-up.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return default if raw is None or raw.strip() == "" else raw.strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":  # an empty line in .env means "use the default"
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default_sqlite_path: str) -> dict:
    """``DATABASE_URL`` (postgres://user:pass@host:port/name) or the embedded SQLite file."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": default_sqlite_path}
    if not raw.startswith(("postgres://", "postgresql://", "sqlite://")):
        # Name only the scheme: the URL carries the database password, which must not reach logs.
        scheme = raw.split("://", 1)[0] if "://" in raw else "(none)"
        raise ImproperlyConfigured(f"{name} must be a postgres:// or sqlite:// URL, got scheme {scheme!r}")
    return environ.Env.db_url_config(raw)


def env_decimal(name: str, default: str | None) -> Decimal | None:
    """A decimal number (thresholds, rates); empty = ``default`` (which may be None = not set)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None if default is None else Decimal(default)
    try:
        return Decimal(raw.strip())
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be a decimal number, got {raw!r}") from exc
