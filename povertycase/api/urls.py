"""The REST API under /api/v1/: one router for every app's viewsets, token auth, OpenAPI schema and docs."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle

from povertycase.api.routes import build_router


class TokenView(ObtainAuthToken):
    """POST username and password, get ``{"token": ...}``; use it as ``Authorization: Token ...``."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


# Built from the routes the apps registered in their AppConfig.ready() (povertycase/api/routes.py).
router = build_router()

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
