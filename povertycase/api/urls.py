"""The REST API under /api/v1/: one router for every app's viewsets, token auth, OpenAPI schema and docs."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import ScopedRateThrottle

from households.api.views import HouseholdViewSet, IncomeRecordViewSet, MemberViewSet


class TokenView(ObtainAuthToken):
    """POST username and password, get ``{"token": ...}``; use it as ``Authorization: Token ...``."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


router = DefaultRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("members", MemberViewSet, basename="member")
router.register("incomes", IncomeRecordViewSet, basename="incomerecord")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
