"""URL configuration: the back office at /admin/; the root redirects there until the field pages land."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "精准扶贫建档立卡管理系统"
admin.site.site_title = "精准扶贫建档立卡管理系统"
admin.site.index_title = "县扶贫办管理后台"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
]
