"""Access-token verification against auth's JWKS.

The key set is cached and refreshed on a schedule (``refresh_interval_s``, 5 minutes by
default), so a key auth retires stops being trusted within that time; a token whose ``kid``
is not in the cache triggers a refresh too, so a new key needs no restart. Every fetch,
scheduled or not, is rate limited (``min_refresh_interval_s``), so forged ``kid`` values
cannot make us hammer auth. A failed refresh keeps the last good set: auth being down for a
moment must not take every token down with it. A key auth still publishes (the previous key,
during the rotation grace period) is trusted; one it no longer publishes is dropped.

A token that verified is remembered until it expires (``cache_size`` tokens, least recently
used dropped first): a client sends the same access token with every request, and checking
its RS256 signature again each time was a tenth of the gateway's CPU per proxied request. A
remembered token is still refused once it has expired or once its key is no longer trusted;
revocation is the callers' own check (a Redis lookup per request), so it is not cached here.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

ISSUER = "atelier-auth"
AUDIENCE = "atelier"
ALGORITHM = "RS256"
LEEWAY_S = 5
MAX_JWKS_BYTES = 1024 * 1024
CACHE_SIZE = 4096

logger = logging.getLogger("atelier_identity")


class _FetchFailed(Exception):
    pass


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
    def __init__(self, jwks_url: str, *, timeout_s: float = 3.0, min_refresh_interval_s: float = 10.0,
                 refresh_interval_s: float = 300.0, cache_size: int = CACHE_SIZE):
        self._jwks_url = jwks_url
        self._timeout_s = timeout_s
        self._min_refresh_interval_s = min_refresh_interval_s
        self._refresh_interval_s = refresh_interval_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")  # last successful fetch
        self._attempted_at = float("-inf")  # last fetch, successful or not
        self._last_error: str | None = None  # why the last fetch failed; None after a success
        self._lock = threading.Lock()
        # token -> (identity, kid, expires at in epoch seconds); reads and writes hold _cache_lock
        # (the verifier is shared by the event loop and the threads that fetch keys).
        self._verified: OrderedDict[str, tuple[Identity, str, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def _fetch(self) -> None:
        """Replace the key set with auth's current one, or raise and keep the old one."""
        self._attempted_at = time.monotonic()
        try:
            request = urllib.request.Request(self._jwks_url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310 - internal URL from settings
                document = json.loads(response.read(MAX_JWKS_BYTES))
            keys = {}
            for jwk in document.get("keys", []):
                if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and isinstance(jwk.get("kid"), str) and jwk["kid"]:
                    keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        except Exception as exc:  # noqa: BLE001 - network, HTTP, JSON or key errors: all mean "no new set"
            self._last_error = f"cannot fetch signing keys: {exc!r}"
            raise _FetchFailed(self._last_error) from exc
        if not keys:
            # An empty set would refuse every token; auth never publishes one on purpose.
            self._last_error = "the JWKS holds no usable signing key"
            raise _FetchFailed(self._last_error)
        self._keys = keys  # one assignment: readers see the old set or the new one, never a mix
        self._fetched_at = time.monotonic()
        self._last_error = None

    def load_keys(self, jwks: dict[str, Any]) -> None:
        """Install a key set directly (tests, or a JWKS pushed by configuration)."""
        self._keys = {j["kid"]: jwt.PyJWK(j, algorithm=ALGORITHM).key for j in jwks["keys"]}
        self._fetched_at = self._attempted_at = time.monotonic()
        self._last_error = None

    def _may_fetch(self, now: float) -> bool:
        return now - self._attempted_at >= self._min_refresh_interval_s

    def _refresh_due(self, now: float) -> bool:
        return now - self._fetched_at >= self._refresh_interval_s and self._may_fetch(now)

    def can_verify_offline(self, token: str) -> bool:
        """True when ``verify`` will not fetch keys: the token's kid is loaded and no scheduled
        refresh is due, or the token is malformed and will be refused outright. Async callers
        use it to decide whether verification may run on the event loop."""
        if self._remembered(token) is not None:
            return True
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return True
        if not isinstance(kid, str):
            return True
        return kid in self._keys and not self._refresh_due(time.monotonic())

    def _refresh_on_schedule(self) -> None:
        if not self._refresh_due(time.monotonic()):
            return
        with self._lock:
            if self._refresh_due(time.monotonic()):
                try:
                    self._fetch()
                except _FetchFailed as exc:
                    logger.warning("JWKS refresh failed; keeping the last key set: %s", exc)

    def _key_for(self, kid: str) -> Any:
        self._refresh_on_schedule()
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            if kid not in self._keys and self._may_fetch(time.monotonic()):
                try:
                    self._fetch()
                except _FetchFailed as exc:
                    raise TokenError("auth_unavailable", str(exc)) from exc
        key = self._keys.get(kid)
        if key is None:
            if self._last_error is not None:
                # We could not ask auth lately: the key may well be new, so this is not the caller's fault.
                raise TokenError("auth_unavailable", self._last_error)
            raise TokenError("token_invalid", "token signed by an unknown key")
        return key

    def _remembered(self, token: str) -> Identity | None:
        """The identity of a token that verified before, while it is still good: not expired,
        its key still trusted, and no scheduled key refresh due (that must run first)."""
        with self._cache_lock:
            entry = self._verified.get(token)
            if entry is None:
                return None
            identity, kid, expires_at = entry
            if time.time() >= expires_at + LEEWAY_S or kid not in self._keys:
                del self._verified[token]
                return None
            if self._refresh_due(time.monotonic()):
                return None
            self._verified.move_to_end(token)
            return identity

    def _remember(self, token: str, identity: Identity, kid: str) -> None:
        with self._cache_lock:
            self._verified[token] = (identity, kid, float(identity.claims["exp"]))
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)

    def verify(self, token: str) -> Identity:
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        identity, kid = self._verify_signed(token)
        self._remember(token, identity, kid)
        return identity

    def _verify_signed(self, token: str) -> tuple[Identity, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("token_invalid", "malformed token") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid or len(kid) > 200:
            raise TokenError("token_invalid", "token must be RS256 with a kid")
        key = self._key_for(kid)
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
        identity = Identity(
            user_id=str(claims["sub"]),
            email=claims.get("email"),
            tier=str(claims.get("tier", "free")),
            verified=bool(claims.get("verified", False)),
            api_key_id=claims.get("key_id"),
            scopes=tuple(claims.get("scopes", ())),
            claims=claims,
        )
        return identity, kid
