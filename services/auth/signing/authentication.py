"""DRF authentication from an access token, telling expired tokens from bad ones."""
from __future__ import annotations

from dataclasses import dataclass

from atelier_django.permissions import ACCOUNT, Public, ScopePermission, scope_required
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from . import sessions
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
        # Logout, a password change or reset end the session at once, not when its
        # access tokens expire.
        if token.get("sid") is not None and sessions.is_revoked(token["sid"]):
            raise sessions.TokenRevoked()
        # What scope checks read (atelier_identity.scopes, and the shared kit's permissions
        # through ``request.user.identity``): whether an API key made this token, and its scopes.
        user.identity = TokenScopes.of(token)
        return user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="atelier"'


@dataclass(frozen=True)
class TokenScopes:
    """What ``atelier_identity.scopes`` needs to know about one of our access tokens."""

    api_key_id: str | None
    scopes: tuple[str, ...]

    @classmethod
    def of(cls, token) -> "TokenScopes":
        key_id = token.get("key_id")
        scopes = token.get("scopes") or ()
        return cls(api_key_id=str(key_id) if key_id is not None else None,
                   scopes=tuple(scopes) if isinstance(scopes, list) else ())


class AnyIdentity(ScopePermission):
    """Any valid token, an API key's included: reading one's own profile needs no scope."""

    scope = None

    def has_permission(self, request, view) -> bool:
        if request.user is None or not getattr(request.user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        return True


# Every view names what it needs, through the platform's one rule (atelier_identity.scopes,
# applied by atelier_django.permissions): managing the account (keys, password, deletion,
# verification mail) takes ACCOUNT, which only a person's own session holds; a token that
# an API key was exchanged for is refused with 403 insufficient_scope.
ACCOUNT_MANAGEMENT = (scope_required(ACCOUNT),)
SIGNED_IN = (AnyIdentity,)
PUBLIC = (Public,)
