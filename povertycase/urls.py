"""URL configuration: the field pages at / (login at /accounts/login/), the back office at /admin/, the REST API
at /api/v1/ with its schema and docs."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

admin.site.site_header = "精准扶贫建档立卡管理系统"
admin.site.site_title = "精准扶贫建档立卡管理系统"
admin.site.index_title = "县扶贫办管理后台"

# Under /api/ every error Django answers itself (unknown URL, 500, oversized body) is JSON (povertycase.api.errors).
handler400 = "povertycase.api.errors.bad_request"
handler403 = "povertycase.api.errors.permission_denied"
handler404 = "povertycase.api.errors.page_not_found"
handler500 = "povertycase.api.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("povertycase.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The field pages' login: Django's LoginView passes the request to authenticate(), so django-axes rate
    # limits it as it does the admin login.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, next_page="field:households"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("", include("field.urls")),
]
