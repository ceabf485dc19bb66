"""DRF authentication from an access token, telling expired tokens from bad ones."""
from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from .services import active_user, token_expired, token_invalid
from .tokens import AccessToken


class AccessTokenAuthentication(BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword:
            return None  # another scheme: to us the caller is simply not authenticated
        if len(parts) != 2:
            raise token_invalid("Authorization header must be 'Bearer <token>'")
        try:
            token = AccessToken(parts[1])
        except ExpiredTokenError as exc:
            raise token_expired() from exc
        except TokenError as exc:
            raise token_invalid(f"token is invalid: {exc}") from exc
        user = active_user(token.get("sub"))
        if user is None:
            raise token_invalid("the account behind this token is not active")
        return user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="atelier"'


class PersonSession(BasePermission):
    """Account management needs a person's own session: a token that an API key was
    exchanged for (it names ``key_id``) must not mint keys, change passwords or delete."""

    message = "an API key cannot manage the account; log in"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        return token is not None and token.get("key_id") is None


ACCOUNT_MANAGEMENT = [IsAuthenticated, PersonSession]
