"""Strict settings readers (povertycase.env, GUIDE.md Settings): a value that cannot be parsed stops start-up
with ImproperlyConfigured instead of silently becoming a default."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from povertycase.env import env_bool, env_database, env_decimal, env_int, env_list, env_str

VAR = "POVERTYCASE_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        (" TRUE ", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("off", False),
    ],
)
def test_env_bool_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, not expected) is expected


@pytest.mark.parametrize("raw", ["maybe", "flase", "2", "y es"])
def test_env_bool_raises_on_anything_else(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_bool(VAR, True)


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_or_empty_gives_the_default(monkeypatch, default):
    assert env_bool(VAR, default) is default
    monkeypatch.setenv(VAR, "  ")
    assert env_bool(VAR, default) is default


def test_env_int_parses_an_integer(monkeypatch):
    monkeypatch.setenv(VAR, " 600 ")
    assert env_int(VAR, 0) == 600
    monkeypatch.setenv(VAR, "-3")
    assert env_int(VAR, 0) == -3


@pytest.mark.parametrize("raw", ["abc", "1.5", "10s"])
def test_env_int_raises_on_a_non_integer(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_int(VAR, 0)


def test_env_int_unset_or_empty_gives_the_default(monkeypatch):
    assert env_int(VAR, 31536000) == 31536000
    monkeypatch.setenv(VAR, "")
    assert env_int(VAR, 7) == 7


def test_env_decimal_parses_and_raises(monkeypatch):
    assert env_decimal(VAR, "0.02") == Decimal("0.02")
    assert env_decimal(VAR, None) is None
    monkeypatch.setenv(VAR, "0.03")
    assert env_decimal(VAR, "0.02") == Decimal("0.03")
    monkeypatch.setenv(VAR, "three percent")
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_decimal(VAR, "0.02")


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    assert env_list(VAR, ["localhost"]) == ["localhost"]
    monkeypatch.setenv(VAR, " fupin.example.cn, ,127.0.0.1 ,")
    assert env_list(VAR, []) == ["fupin.example.cn", "127.0.0.1"]


def test_env_str_strips_and_falls_back_on_empty(monkeypatch):
    assert env_str(VAR, "INFO") == "INFO"
    monkeypatch.setenv(VAR, "   ")
    assert env_str(VAR, "INFO") == "INFO"
    monkeypatch.setenv(VAR, " DEBUG ")
    assert env_str(VAR, "INFO") == "DEBUG"


def test_env_database_without_a_value_is_the_embedded_sqlite_file(monkeypatch):
    assert env_database(VAR, "/srv/povertycase/db.sqlite3") == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/srv/povertycase/db.sqlite3",
    }
    monkeypatch.setenv(VAR, " ")
    assert env_database(VAR, "/tmp/x.sqlite3")["ENGINE"] == "django.db.backends.sqlite3"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_env_database_with_a_postgres_url_configures_postgresql(monkeypatch, scheme):
    monkeypatch.setenv(VAR, f"{scheme}://fupin:s3cret@db.internal:5433/povertycase")

    config = env_database(VAR, "/tmp/unused.sqlite3")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "povertycase"
    assert config["HOST"] == "db.internal"
    assert int(config["PORT"]) == 5433
    assert config["USER"] == "fupin"
    assert config["PASSWORD"] == "s3cret"


def test_env_database_with_a_sqlite_url_configures_sqlite(monkeypatch):
    monkeypatch.setenv(VAR, "sqlite:////var/lib/povertycase/db.sqlite3")

    config = env_database(VAR, "/tmp/unused.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/var/lib/povertycase/db.sqlite3"


@pytest.mark.parametrize("url", ["mysql://fupin:s3cret@db.internal/povertycase", "db.internal:5432", "redis://x"])
def test_env_database_with_an_unsupported_url_raises(monkeypatch, url):
    monkeypatch.setenv(VAR, url)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_database(VAR, "/tmp/unused.sqlite3")


def test_env_database_error_does_not_reveal_the_password(monkeypatch):
    monkeypatch.setenv(VAR, "mysql://fupin:s3cret@db.internal/povertycase")

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_database(VAR, "/tmp/unused.sqlite3")

    assert "s3cret" not in str(excinfo.value)
    assert "mysql" in str(excinfo.value)
