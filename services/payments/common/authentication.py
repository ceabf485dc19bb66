"""DRF authentication by the Bearer access token that auth signs.

Tokens are verified locally against auth's JWKS (cached by TokenVerifier); payments
keeps no users of its own for the API. ``request.user`` is a ``TokenUser``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from atelier_django.exceptions import ApiError
from atelier_identity import Identity, TokenError, TokenVerifier
from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header


@dataclass(frozen=True)
class TokenUser:
    identity: Identity

    is_authenticated = True
    is_anonymous = False

    @property
    def user_id(self) -> str:
        return self.identity.user_id


@lru_cache(maxsize=1)
def get_verifier() -> TokenVerifier:
    """One verifier per process so the key cache is shared by every request."""
    return TokenVerifier(settings.ATELIER_JWKS_URL)


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # DRF answers 401 not_authenticated
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <token>'", code="token_invalid")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("token is not ASCII", code="token_invalid") from exc
        try:
            identity = get_verifier().verify(token)
        except TokenError as exc:
            if exc.code == "auth_unavailable":
                # Our dependency is down, not the caller's fault: 503, so clients retry.
                raise ApiError(code=exc.code, detail="cannot verify tokens right now", status_code=status.HTTP_503_SERVICE_UNAVAILABLE) from exc
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        return TokenUser(identity), token

    def authenticate_header(self, request) -> str:
        # Present so DRF answers 401 (not 403) to unauthenticated requests.
        return 'Bearer realm="atelier"'
