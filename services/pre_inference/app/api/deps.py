"""Typed dependencies: settings, a DB session, the caller's identity, the URL signer.

Everything is taken from app.state (set by create_app), so tests build an app with their
own settings and token verifier instead of patching globals.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from atelier_identity import Identity, TokenError, TokenVerifier, scopes
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.adapters.storage import ImageUrlSigner
from app.api.errors import ApiError
from app.config import Settings

_bearer = HTTPBearer(auto_error=False, description="An access token signed by auth (the gateway exchanges API keys for one).")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="atelier"'}
log = logging.getLogger("pre_inference.auth")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller, with the user id already parsed."""

    user_id: uuid.UUID
    tier: str
    api_key_id: str | None
    identity: Identity

    @property
    def verified(self) -> bool:
        return bool(self.identity.verified)

    @property
    def key_limits(self) -> dict[str, Any] | None:
        limits = self.identity.claims.get("limits")
        return limits if isinstance(limits, dict) else None


# The trivial dependencies are `async def` on purpose: FastAPI runs a plain `def` one in
# its thread pool, and under load each such hop waits for the GIL behind the event loop.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """Autocommit: each read is its own statement, one round trip, no transaction to end."""
    async with request.app.state.read_engine.connect() as conn:
        yield conn


async def get_signer(request: Request) -> ImageUrlSigner:
    return request.app.state.signer


async def get_caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "not_authenticated", "send an access token as 'Authorization: Bearer <token>'", headers=_CHALLENGE)
    return await _verify(request, credentials.credentials)


async def get_stream_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[str | None, Query(max_length=8192, description="For EventSource, which cannot send headers.")] = None,
) -> Caller:
    """The header, or ``?access_token=`` (a short-lived access token; never an API key)."""
    if credentials is not None and credentials.scheme.lower() == "bearer" and credentials.credentials:
        return await _verify(request, credentials.credentials)
    if access_token:
        return await _verify(request, access_token)
    raise ApiError(401, "not_authenticated", "send an access token as a Bearer header or ?access_token=", headers=_CHALLENGE)


async def _verify(request: Request, token: str) -> Caller:
    verifier: TokenVerifier = request.app.state.verifier
    try:
        if verifier.can_verify_offline(token):
            # One RS256 check (tens of microseconds): cheaper on the loop than a thread hop.
            identity = verifier.verify(token)
        else:
            # An unknown kid makes the verifier fetch the JWKS with blocking I/O: off the loop.
            identity = await run_in_threadpool(verifier.verify, token)
    except TokenError as exc:
        if exc.code == "auth_unavailable":
            raise ApiError(503, "auth_unavailable", "cannot verify tokens right now; try again shortly", headers={"Retry-After": "5"}) from exc
        raise ApiError(401, exc.code, exc.message, headers=_CHALLENGE) from exc
    except Exception as exc:  # noqa: BLE001 - as the gateway does: a JWKS auth served broken
        # (say, mid-rotation) is auth being unavailable, not a 500 for the caller.
        log.exception("token verification failed unexpectedly")
        raise ApiError(503, "auth_unavailable", "cannot verify tokens right now; try again shortly", headers={"Retry-After": "5"}) from exc
    try:
        user_id = uuid.UUID(identity.user_id)
    except ValueError as exc:
        raise ApiError(401, "token_invalid", "token subject is not a user id", headers=_CHALLENGE) from exc
    return Caller(user_id=user_id, tier=identity.tier, api_key_id=identity.api_key_id, identity=identity)


def check_scope(caller: Caller, scope: str) -> Caller:
    """The platform's one rule (atelier_identity.scopes): a user's own session may do what
    its user may; a token made from an API key only what its scopes name."""
    try:
        scopes.require(caller.identity, scope)
    except scopes.InsufficientScope as exc:
        raise ApiError(403, exc.code, exc.message) from exc
    return caller


def require_scope(scope: str) -> Callable[..., Caller]:
    if scope not in scopes.KEY_SCOPES:
        # At import time: a typo in a route must fail the start, not grant or refuse at random.
        raise ValueError(f"unknown scope {scope!r}")

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        return check_scope(caller, scope)

    return check


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (media_type.startswith("application/") and media_type.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadConnDep = Annotated[AsyncConnection, Depends(get_read_connection)]
CallerDep = Annotated[Caller, Depends(get_caller)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SignerDep = Annotated[ImageUrlSigner, Depends(get_signer)]
