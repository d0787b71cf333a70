"""The REST API under /api/v1/: one router for every app's viewsets, token auth, OpenAPI schema and docs."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import ScopedRateThrottle

from assessments.api.views import AssessmentViewSet, PovertyLineViewSet
from assistance.api.views import (
    CadreViewSet,
    ComplianceViewSet,
    HouseholdAssignmentViewSet,
    HouseholdMeasureViewSet,
    MicroLoanViewSet,
    RoleAssignmentViewSet,
    UnitViewSet,
    VisitViewSet,
)
from households.api.views import HouseholdViewSet, ImportJobViewSet, IncomeRecordViewSet, MemberViewSet
from procedures.api.views import ExitApplicationViewSet, IdentificationApplicationViewSet
from villages.api.views import CountyViewSet, TownshipViewSet, VillageViewSet


class TokenView(ObtainAuthToken):
    """POST username and password, get ``{"token": ...}``; use it as ``Authorization: Token ...``."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


router = DefaultRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("members", MemberViewSet, basename="member")
router.register("incomes", IncomeRecordViewSet, basename="incomerecord")
router.register("imports", ImportJobViewSet, basename="importjob")
router.register("counties", CountyViewSet, basename="county")
router.register("townships", TownshipViewSet, basename="township")
router.register("villages", VillageViewSet, basename="village")
router.register("poverty-lines", PovertyLineViewSet, basename="povertyline")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("units", UnitViewSet, basename="unit")
router.register("cadres", CadreViewSet, basename="cadre")
router.register("assignments", RoleAssignmentViewSet, basename="roleassignment")
router.register("household-assignments", HouseholdAssignmentViewSet, basename="householdassignment")
router.register("measures", HouseholdMeasureViewSet, basename="householdmeasure")
router.register("visits", VisitViewSet, basename="visit")
router.register("loans", MicroLoanViewSet, basename="microloan")
router.register("compliance", ComplianceViewSet, basename="compliance")
router.register("identification-applications", IdentificationApplicationViewSet, basename="identificationapplication")
router.register("exit-applications", ExitApplicationViewSet, basename="exitapplication")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
