"""Verification, password and deletion routes; the work is in accounts.lifecycle."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from accounts import lifecycle
from accounts.passwords import check_new_password
from common import attempts
from signing.authentication import ACCOUNT_MANAGEMENT, PUBLIC
from common.views import JsonApiView, correlation_id
from signing.api import session_cookie
from signing.services import issue_token_pair

from .serializers import MeSerializer
from .serializers_lifecycle import (
    DeleteAccountSerializer,
    EmptyBodySerializer,
    OneTimeTokenSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
)


class _Public(JsonApiView):
    authentication_classes: list = []
    permission_classes = PUBLIC


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _check_password(request, password: str, field: str) -> None:
    """Re-authentication inside a session counts against the same budgets as logging in,
    so a stolen access token cannot be used to guess the password."""
    subjects = attempts.login_subjects(request.user.email, attempts.client_address(request))
    attempts.check(*subjects)
    if not request.user.check_password(password):  # the hasher compares in constant time
        attempts.hit(*subjects)
        raise serializers.ValidationError({field: ["the password is wrong"]})


class VerifyView(_Public):
    def post(self, request):
        user = lifecycle.verify_email(_valid(OneTimeTokenSerializer, request)["token"], correlation_id=correlation_id(request))
        return Response(MeSerializer(user).data)


class ResendVerificationView(JsonApiView):
    permission_classes = ACCOUNT_MANAGEMENT

    def post(self, request):
        _valid(EmptyBodySerializer, request)
        limit = attempts.resend_limit()
        attempts.check((limit, str(request.user.pk)))
        lifecycle.resend_verification(request.user)
        attempts.hit((limit, str(request.user.pk)))
        return Response({"status": "sent"}, status=status.HTTP_202_ACCEPTED)


class PasswordChangeView(JsonApiView):
    permission_classes = ACCOUNT_MANAGEMENT

    def post(self, request):
        data = _valid(PasswordChangeSerializer, request)
        _check_password(request, data["old_password"], "old_password")
        check_new_password(data["new_password"], request.user)
        lifecycle.change_password(request.user, data["new_password"], correlation_id=correlation_id(request))
        # Every other session ends; this one continues with a fresh pair.
        pair = issue_token_pair(request.user)
        # A browser whose session lives in the cookie gets the new refresh token there too.
        return session_cookie.pair_response(request, pair, in_cookie=session_cookie.cookie_mode(request, None))


class PasswordResetView(_Public):
    def post(self, request):
        email = _valid(PasswordResetSerializer, request)["email"].strip().lower()
        account_limit, address_limit = attempts.reset_limits()
        subjects = ((account_limit, email), (address_limit, attempts.client_address(request)))
        attempts.check(*subjects)
        attempts.hit(*subjects)
        lifecycle.request_password_reset(email)
        return Response({"status": "accepted"}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(_Public):
    def post(self, request):
        data = _valid(PasswordResetConfirmSerializer, request)
        lifecycle.confirm_password_reset(data["token"], data["new_password"], correlation_id=correlation_id(request))
        return Response({"status": "password_changed"})


def delete_me(request):
    data = _valid(DeleteAccountSerializer, request)
    _check_password(request, data["password"], "password")
    lifecycle.delete_account(request.user, correlation_id=correlation_id(request))
    return Response(status=status.HTTP_204_NO_CONTENT)
