"""The field pages (DOMAIN.md §7), mounted at the site root: ``/`` is "我的帮扶户"."""

from __future__ import annotations

from django.urls import path

from field import views

app_name = "field"

urlpatterns = [
    path("", views.household_list, name="households"),
    path("households/<int:pk>/", views.household_card, name="household"),
    path("households/<int:pk>/visits/new/", views.visit_create, name="visit_create"),
    path("households/<int:pk>/exit/new/", views.household_propose_exit, name="propose_exit"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("visits/<int:pk>/photo/", views.visit_photo, name="visit_photo"),
    path("villages/", views.village_list, name="villages"),
    path("villages/<str:code>/", views.village_detail, name="village"),
]
