"""Routes as the gateway forwards them: /api/payments/*, /admin/payments/*, health."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from common.health import healthz, readyz

admin.site.site_header = "Atelier payments"
admin.site.site_title = "Atelier payments admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/payments/", include("plans.api.urls")),
    path("api/payments/", include("customers.api.urls")),
    path("api/payments/", include("billing.api.urls")),
    path("api/payments/sandbox/", include("sandbox.urls")),
    path("api/payments/openapi.json",
         SpectacularAPIView.as_view(authentication_classes=(), permission_classes=(), custom_settings={"SCHEMA_PATH_PREFIX": "/api/payments"}),
         {"format": "json"}, name="openapi"),
    path("admin/payments/", admin.site.urls),
]

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
