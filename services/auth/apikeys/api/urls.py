from django.urls import path

from . import views

urlpatterns = [
    path("api-keys", views.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<uuid:key_id>", views.ApiKeyDetailView.as_view(), name="api-key"),
    path("api-keys/<uuid:key_id>/rotate", views.ApiKeyRotateView.as_view(), name="api-key-rotate"),
]

internal_urlpatterns = [
    path("api-keys/introspect", views.IntrospectView.as_view(), name="api-key-introspect"),
]
