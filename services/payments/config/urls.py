"""Routes as the gateway forwards them: /api/payments/*, /admin/payments/*, health."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from atelier_django.permissions import Public
from atelier_kit.metrics_django import metrics_view

from common.health import healthz, readyz

admin.site.site_header = "Atelier payments"
admin.site.site_title = "Atelier payments admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Prometheus scrapes this port directly; the gateway routes only /api/payments/ and /admin/payments/.
    path("metrics", metrics_view, name="metrics"),
    path("api/payments/", include("plans.api.urls")),
    path("api/payments/", include("customers.api.urls")),
    path("api/payments/", include("billing.api.urls")),
    path("api/payments/sandbox/", include("sandbox.urls")),
    path("api/payments/openapi.json",
         SpectacularAPIView.as_view(authentication_classes=(), permission_classes=(Public,), custom_settings={"SCHEMA_PATH_PREFIX": "/api/payments"}),
         {"format": "json"}, name="openapi"),
    path("admin/payments/", admin.site.urls),
]

handler400 = "atelier_django.json_errors.handler400"
handler403 = "atelier_django.json_errors.handler403"
handler404 = "atelier_django.json_errors.handler404"
handler500 = "atelier_django.json_errors.handler500"
