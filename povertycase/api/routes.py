"""The API's route registry: every app registers its viewsets from its ``AppConfig.ready()``.

The core cannot import the apps above it, so ``povertycase/api/urls.py`` builds its router from what the apps
registered. Apps are made ready bottom layer first (``INSTALLED_APPS``), so a higher app may replace the
viewset of a lower one under the same prefix to extend it (``assessments`` adds ``eligibility`` and ``assess``
to the households resource, and the exit checks to the places).
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

_ROUTES: dict[str, tuple[type, str]] = {}


def register_route(prefix: str, viewset: type, basename: str) -> None:
    """Serve ``viewset`` at ``/api/v1/<prefix>/``; registering a prefix again replaces the earlier viewset."""
    _ROUTES[prefix] = (viewset, basename)


def registered_viewset(prefix: str) -> type:
    """The viewset currently registered at ``prefix`` (for a higher app that extends it)."""
    return _ROUTES[prefix][0]


def build_router() -> DefaultRouter:
    router = DefaultRouter()
    for prefix, (viewset, basename) in _ROUTES.items():
        router.register(prefix, viewset, basename=basename)
    return router
