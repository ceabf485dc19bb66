from django.urls import path

from . import views
from . import views_lifecycle as lifecycle

urlpatterns = [
    path("signup", views.SignupView.as_view(), name="signup"),
    path("me", views.MeView.as_view(), name="me"),
    path("verify", lifecycle.VerifyView.as_view(), name="verify"),
    path("verify/resend", lifecycle.ResendVerificationView.as_view(), name="verify-resend"),
    path("password/change", lifecycle.PasswordChangeView.as_view(), name="password-change"),
    path("password/reset", lifecycle.PasswordResetView.as_view(), name="password-reset"),
    path("password/reset/confirm", lifecycle.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
]
