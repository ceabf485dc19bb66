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


async def resolve_credentials(request: Request) -> Credentials:
    """API keys are exchanged here for auth's JWT, so the secret never travels further."""
    api_key = request.headers.get("x-api-key")
    header = request.headers.get("authorization", "")
    bearer = (header[len(_BEARER):].strip() or None) if header.lower().startswith(_BEARER) else None
    query_token = None if header else _query_token(request)
    secret = api_key if api_key is not None else next(
        (t for t in (bearer, query_token) if t and looks_like_api_key(t)), None)
    if secret is not None:
        exchanged = await request.app.state.apikeys.exchange(secret.strip())
        return Credentials(exchanged.access, f"Bearer {exchanged.access}", strip_query_token=query_token is not None)
    if query_token is not None:
        # EventSource cannot send headers; the token moves to one so it stays out of upstream logs.
        return Credentials(query_token, f"Bearer {query_token}", strip_query_token=True)
    return Credentials(bearer, None)


async def require_identity(request: Request, credentials: Credentials) -> Identity:
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
