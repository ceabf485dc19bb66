"""Routes: the gateway forwards /api/auth/* and /admin/auth/* with the full path."""
from django.contrib import admin
from django.urls import include, path

from apikeys.api.urls import internal_urlpatterns
from atelier_kit.metrics_django import metrics_view

from . import views

admin.site.site_header = "Atelier auth"
admin.site.site_title = "Atelier auth admin"

urlpatterns = [
    path("api/auth/", include("accounts.api.urls")),
    path("api/auth/", include("signing.api.urls")),
    path("api/auth/", include("apikeys.api.urls")),
    path("api/auth/openapi.json", views.OpenApiView.as_view(), name="openapi"),
    # Internal only: the gateway never routes /internal/*, and this port is loopback.
    path("internal/", include(internal_urlpatterns)),
    path("admin/auth/", admin.site.urls),
    path("healthz", views.HealthzView.as_view(), name="healthz"),
    path("readyz", views.ReadyzView.as_view(), name="readyz"),
    # Prometheus scrapes this port directly; the gateway routes only /api/auth/ and /admin/auth/.
    path("metrics", metrics_view, name="metrics"),
]

handler400 = "atelier_django.json_errors.handler400"
handler403 = "atelier_django.json_errors.handler403"
handler404 = "atelier_django.json_errors.handler404"
handler500 = "atelier_django.json_errors.handler500"
