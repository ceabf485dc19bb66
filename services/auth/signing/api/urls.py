from django.urls import path

from . import views

urlpatterns = [
    path("token", views.TokenObtainView.as_view(), name="token"),
    path("token/refresh", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path(".well-known/jwks.json", views.JwksView.as_view(), name="jwks"),
]
