"""Production settings (DEBUG off) pass Django's deployment checklist; login attempts are rate-limited."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="fupin.example.gov.cn",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="false", SECRET_KEY="", ALLOWED_HOSTS="fupin.example.gov.cn")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_boolean_stops_the_process():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_token_logins_lock_the_account_even_with_the_right_password():
    get_user_model().objects.create_user("clerk", password="right-password-1")
    client = APIClient(REMOTE_ADDR="10.0.0.7")
    for _ in range(3):
        response = client.post("/api/v1/auth/token/", {"username": "clerk", "password": "wrong"}, format="json")
        assert response.status_code in (400, 403, 429)
        assert "token" not in response.data
    locked = client.post("/api/v1/auth/token/", {"username": "clerk", "password": "right-password-1"}, format="json")
    assert locked.status_code in (400, 403, 429)
    assert "token" not in locked.json()
    # Another address is not locked out (the lock is per username and address).
    other = APIClient(REMOTE_ADDR="10.0.0.99")
    ok = other.post("/api/v1/auth/token/", {"username": "clerk", "password": "right-password-1"}, format="json")
    assert ok.status_code == 200 and ok.json()["token"]


@pytest.mark.django_db
def test_a_correct_token_login_returns_a_token_that_authenticates():
    get_user_model().objects.create_user("clerk2", password="right-password-1")
    client = APIClient(REMOTE_ADDR="10.0.0.8")
    response = client.post("/api/v1/auth/token/", {"username": "clerk2", "password": "right-password-1"}, format="json")
    assert response.status_code == 200
    token = response.data["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/households/").status_code == 403  # authenticated, but no role: nothing to see


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_admin_logins_lock_the_admin_login(client):
    get_user_model().objects.create_user("staff", password="right-password-1", is_staff=True)
    for _ in range(3):
        client.post("/admin/login/", {"username": "staff", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post(
        "/admin/login/", {"username": "staff", "password": "right-password-1"}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
