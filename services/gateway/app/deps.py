"""Request-scoped helpers: the shared clients held on app.state, and token checks."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from atelier_identity import Identity, TokenError, TokenVerifier
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from .apikeys import looks_like_api_key
from .config import Settings
from .errors import ApiError
from .routing import RoutingTable
from .session_revocations import is_revoked

logger = logging.getLogger("gateway.auth")

_BEARER = "bearer "
_STATUS_FOR = {"token_expired": 401, "token_invalid": 401, "auth_unavailable": 503}


def settings(request: Request) -> Settings:
    return request.app.state.settings


def routing_table(request: Request) -> RoutingTable:
    return request.app.state.routing_table


def upstream_client(request: Request) -> httpx.AsyncClient:
    return request.app.state.http


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header:
        raise ApiError(401, "not_authenticated", "log in to use this route", headers={"WWW-Authenticate": "Bearer"})
    if not header.lower().startswith(_BEARER) or not header[len(_BEARER):].strip():
        raise ApiError(401, "token_invalid", "the Authorization header must be 'Bearer <token>'",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return header[len(_BEARER):].strip()


@dataclass
class Credentials:
    """What the caller presented, and what goes upstream in its place."""
    token: str | None  # the JWT to verify and forward (an API key already exchanged for one)
    forward_authorization: str | None  # replaces the client's Authorization header when set
    strip_query_token: bool = False


def _query_token(request: Request) -> str | None:
    values = request.query_params.getlist("access_token")
    return values[0].strip() if len(values) == 1 and values[0].strip() else None


def _query_refused(message: str) -> ApiError:
    return ApiError(401, "token_in_query_not_allowed", message,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})


async def resolve_credentials(request: Request, *, query_token_allowed: bool = False) -> Credentials:
    """API keys are exchanged here for auth's JWT, so the secret never travels further.

    `?access_token=` is taken only where a browser cannot send a header (the event stream,
    `query_token_allowed`), and never an API key: a URL ends up in logs and browser history,
    and a key lives for months where an access token lives for minutes."""
    in_query = "access_token" in request.query_params
    if in_query and not query_token_allowed:
        raise _query_refused("send the token in the Authorization header; only the event stream takes ?access_token=")
    query_token = _query_token(request) if in_query else None
    if query_token is not None and looks_like_api_key(query_token):
        raise _query_refused("an API key never goes in a URL; send it in the X-API-Key or Authorization header")
    api_key = request.headers.get("x-api-key")
    header = request.headers.get("authorization", "")
    bearer = (header[len(_BEARER):].strip() or None) if header.lower().startswith(_BEARER) else None
    secret = api_key if api_key is not None else (bearer if bearer and looks_like_api_key(bearer) else None)
    if secret is not None:
        exchanged = await request.app.state.apikeys.exchange(secret.strip())
        return Credentials(exchanged.access, f"Bearer {exchanged.access}", strip_query_token=in_query)
    if query_token is not None and not header:
        # EventSource cannot send headers; the token moves to one so it stays out of upstream logs.
        return Credentials(query_token, f"Bearer {query_token}", strip_query_token=True)
    return Credentials(bearer, None, strip_query_token=in_query)


async def require_identity(request: Request, credentials: Credentials) -> Identity:
    identity = await _verified_identity(request, credentials)
    await _refuse_if_revoked(request, identity)
    return identity


async def optional_identity(request: Request, credentials: Credentials) -> Identity | None:
    """On routes whose service checks tokens itself: the caller's identity when a token it sent
    verifies without a key fetch, else None (the service decides). A revoked session is refused
    here too, so a logout ends the token on every route, not only on those the gateway guards."""
    token = credentials.token
    verifier: TokenVerifier = request.app.state.verifier
    if not token or looks_like_api_key(token) or not verifier.can_verify_offline(token):
        return None
    try:
        identity = verifier.verify(token)
    except Exception:  # noqa: BLE001 - not ours to judge here; the service answers with its own error
        return None
    await _refuse_if_revoked(request, identity)
    return identity


async def _refuse_if_revoked(request: Request, identity: Identity) -> None:
    try:
        revoked = await is_revoked(request.app.state.redis, settings(request).atelier_redis_prefix, identity)
    except Exception:  # noqa: BLE001 - a Redis outage must not sign everyone out; tokens still expire
        logger.warning("session revocations unavailable; accepting the token", exc_info=True)
        revoked = False
    if revoked:
        raise ApiError(401, "token_revoked", "this session has ended; sign in again",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="token_revoked"'})


async def _verified_identity(request: Request, credentials: Credentials) -> Identity:
    token = credentials.token if credentials.token is not None else bearer_token(request)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        if verifier.can_verify_offline(token):
            # Pure CPU (one RS256 check, tens of microseconds): a thread hop would cost more.
            return verifier.verify(token)
        # An unknown kid makes the verifier fetch the JWKS with blocking urllib: off the event loop.
        return await run_in_threadpool(verifier.verify, token)
    except TokenError as exc:
        status = _STATUS_FOR.get(exc.code, 401)
        headers = {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.code}"'} if status == 401 else None
        if status == 503:
            logger.warning("cannot verify tokens: %s", exc.message)
            raise ApiError(503, exc.code, "sign-in cannot be checked right now; try again shortly") from exc
        raise ApiError(status, exc.code, exc.message, headers=headers) from exc
    except Exception as exc:  # noqa: BLE001 - a broken JWKS document must not become a 500 for the caller
        logger.exception("token verification failed unexpectedly")
        raise ApiError(503, "auth_unavailable", "sign-in cannot be checked right now; try again shortly") from exc
