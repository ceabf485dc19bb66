"""simplejwt tokens signed with the current key, carrying its ``kid`` in the header and
verified against the key that ``kid`` names (see ``signing.keyring``).

simplejwt has no ``kid`` option, so the backend is subclassed and the token classes use
it instead of the module-level backend built from SIMPLE_JWT.
"""
from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

from .keys import SigningKey


class KidTokenBackend(TokenBackend):
    """Signs with ``key``; verifies with ``key`` or, given ``resolve``, with the key the
    token's ``kid`` names."""

    def __init__(self, key: SigningKey | None = None, resolve=None):
        super().__init__(
            "RS256",
            signing_key=key.private_pem if key else None,
            verifying_key=key.public_pem if key else None,
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
        )
        self.key = key
        self.resolve = resolve

    def encode(self, payload: dict[str, Any]) -> str:
        key = self.key or self.resolve(None, None)
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(claims, key.private_pem, algorithm=self.algorithm, headers={"kid": key.kid})

    def get_verifying_key(self, token) -> Any:
        if self.resolve is None:
            return self.prepared_verifying_key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            token_type = jwt.decode(token, options={"verify_signature": False}).get("token_type")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        key = self.resolve(kid, token_type) if isinstance(kid, str) else None
        if key is None:
            raise TokenBackendError("Token is signed with an unknown or retired key")
        return self._prepare_key(key.public_pem)


def _resolve(kid: str | None, token_type: str | None) -> SigningKey | None:
    from .keyring import find_verifying_key, keyring

    if kid is None:
        return keyring().current
    return find_verifying_key(kid, token_type=token_type or "access")


def token_backend() -> KidTokenBackend:
    return KidTokenBackend(resolve=_resolve)


class _OurBackend:
    @property
    def token_backend(self) -> KidTokenBackend:
        return token_backend()


class AccessToken(_OurBackend, simplejwt_tokens.AccessToken):
    pass


class RefreshToken(_OurBackend, simplejwt_tokens.RefreshToken):
    access_token_class = AccessToken

    def check_blacklist(self) -> None:
        # Decoding checks the signature and expiry only. Whether the token was already
        # used is decided under row locks (signing.services), because a reused token must
        # end its whole session rather than merely fail to decode.
        return None
