"""Access-token verification against auth's JWKS.

The key set is cached; a token whose ``kid`` is not in the cache triggers one refresh
(rate limited), so key rotation needs no restart and forged ``kid`` values cannot make
us hammer auth.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

ISSUER = "atelier-auth"
AUDIENCE = "atelier"
ALGORITHM = "RS256"
LEEWAY_S = 5


class TokenError(Exception):
    """The token cannot be trusted. ``code`` is the machine-readable reason."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identity:
    user_id: str
    email: str | None
    tier: str
    verified: bool
    api_key_id: str | None
    scopes: tuple[str, ...]
    claims: dict[str, Any]


class TokenVerifier:
    def __init__(self, jwks_url: str, *, timeout_s: float = 3.0, min_refresh_interval_s: float = 10.0):
        self._jwks_url = jwks_url
        self._timeout_s = timeout_s
        self._min_refresh_interval_s = min_refresh_interval_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        request = urllib.request.Request(self._jwks_url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310 - internal URL from settings
            document = json.loads(response.read())
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        self._keys = keys
        self._fetched_at = time.monotonic()

    def load_keys(self, jwks: dict[str, Any]) -> None:
        """Install a key set directly (tests, or a JWKS pushed by configuration)."""
        self._keys = {j["kid"]: jwt.PyJWK(j, algorithm=ALGORITHM).key for j in jwks["keys"]}
        self._fetched_at = time.monotonic()

    def can_verify_offline(self, token: str) -> bool:
        """True when ``verify`` will not fetch keys: the token's kid is loaded, or the token
        is malformed and will be refused outright. Async callers use it to decide whether
        verification may run on the event loop."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return True
        return not isinstance(kid, str) or kid in self._keys

    def _key_for(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self._min_refresh_interval_s:
                try:
                    self._fetch()
                except OSError as exc:
                    raise TokenError("auth_unavailable", f"cannot fetch signing keys: {exc}") from exc
        key = self._keys.get(kid)
        if key is None:
            raise TokenError("token_invalid", "token signed by an unknown key")
        return key

    def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("token_invalid", "malformed token") from exc
        if header.get("alg") != ALGORITHM or not header.get("kid"):
            raise TokenError("token_invalid", "token must be RS256 with a kid")
        key = self._key_for(str(header["kid"]))
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER, leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token_expired", "token has expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("token_invalid", f"token rejected: {exc}") from exc
        if claims.get("token_type", "access") != "access":
            raise TokenError("token_invalid", "not an access token")
        return Identity(
            user_id=str(claims["sub"]),
            email=claims.get("email"),
            tier=str(claims.get("tier", "free")),
            verified=bool(claims.get("verified", False)),
            api_key_id=claims.get("key_id"),
            scopes=tuple(claims.get("scopes", ())),
            claims=claims,
        )
