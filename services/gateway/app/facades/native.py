"""What the facades share: who the caller is, and the native job API called as that caller.

Requests go to pre_inference exactly as the catch-all forwards a native call (same pooled
session, same JWT in place of the API key, same request id and client address), so admission
(tier, rate limit, quota, priority, Idempotency-Key) is the native API's and nothing else's.
A synchronous facade then follows the job by polling it, bounded by GATEWAY_FACADE_WAIT_S, and
reads the images through the same signed-file path `/files/` serves.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import parse_qs, unquote, urlsplit

from atelier_identity import Identity
from atelier_kit import tracing
from atelier_storage import ObjectNotFound, SignatureError, StorageError, verify_signature
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from .. import deps
from ..apikeys import looks_like_api_key
from ..errors import ApiError
from ..upstream import Limits, UpstreamTimeout, UpstreamUnavailable, send

logger = logging.getLogger("gateway.facades")

TERMINAL = ("succeeded", "failed", "canceled")
# Headers of a native refusal that the facades pass on (the limits' state, when to retry).
PASSED_ON = ("retry-after", "ratelimit", "ratelimit-policy")
_POLL_FIRST_S, _POLL_MAX_S = 0.2, 1.0
_NATIVE_TIMEOUT_S = 60.0


class WaitTimeout(Exception):
    """The job did not end within the facade's bound; it has been canceled."""

    def __init__(self, job_id: str, waited_s: float):
        super().__init__(f"job {job_id} did not finish within {waited_s:.0f} s and was canceled")
        self.job_id = job_id


@dataclass(frozen=True)
class Caller:
    identity: Identity
    authorization: str  # what goes upstream: "Bearer <auth's JWT>", never an API key


def _basic_secret(header: str) -> str | None:
    """AUTOMATIC1111 clients authenticate with HTTP basic auth (`--api-auth user:pass`); here
    the password is the API key (the user name is free), so those clients need no change."""
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(401, "token_invalid", "the basic credentials are not valid base64 of user:password",
                       headers={"WWW-Authenticate": "Basic"}) from None
    _, _, password = decoded.partition(":")
    if not password:
        raise ApiError(401, "not_authenticated", "send your API key as the basic-auth password",
                       headers={"WWW-Authenticate": "Basic"})
    return password


async def authenticate(request: Request) -> Caller:
    """The native API's credentials (a session JWT, or an API key as Bearer or X-API-Key), and
    basic auth whose password is an API key; every one verified as the catch-all does."""
    secret = _basic_secret(request.headers.get("authorization", ""))
    if secret is not None:
        if not looks_like_api_key(secret):
            raise ApiError(401, "api_key_invalid", "the basic-auth password must be an API key",
                           headers={"WWW-Authenticate": "Basic"})
        exchanged = await request.app.state.apikeys.exchange(secret.strip())
        credentials = deps.Credentials(exchanged.access, f"Bearer {exchanged.access}")
    else:
        credentials = await deps.resolve_credentials(request)
    identity = await deps.require_identity(request, credentials)
    return Caller(identity, credentials.forward_authorization or f"Bearer {credentials.token}")


@asynccontextmanager
async def native_for(request: Request) -> AsyncIterator["Native"]:
    """The caller, authenticated, holding one of its in-flight slots like any native request."""
    caller = await authenticate(request)
    async with request.app.state.in_flight.hold(caller.identity.user_id):
        yield Native(request, caller)


class Native:
    """pre_inference's job API, called as one caller."""

    def __init__(self, request: Request, caller: Caller):
        self.request = request
        self.caller = caller
        self.settings = deps.settings(request)

    @property
    def identity(self) -> Identity:
        return self.caller.identity

    def _headers(self, extra: dict[str, str] | None = None) -> list[tuple[str, str]]:
        state = self.request.state
        headers = [("authorization", self.caller.authorization), ("accept", "application/json"),
                   ("accept-encoding", "identity"), ("x-request-id", state.request_id)]
        if getattr(state, "client_address", None):
            headers.append(("x-forwarded-for", state.client_address))
        headers.extend(tracing.trace_headers().items())
        headers.extend((extra or {}).items())
        return headers

    async def call(self, method: str, path: str, body: dict | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        """(status, decoded JSON or None, passed-on headers); no error raised for a 4xx."""
        settings = self.settings
        url = settings.pre_inference_url.rstrip("/") + path
        extra = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            extra["content-type"] = "application/json"
        connect = settings.gateway_upstream_connect_timeout_s
        limits = Limits(connect_s=connect, read_s=_NATIVE_TIMEOUT_S, pool_s=_NATIVE_TIMEOUT_S)
        metrics = self.request.app.state.metrics
        started = time.perf_counter()
        try:
            response = await send(self.request.app.state.upstream, method, url, self._headers(extra), payload, limits)
        except UpstreamTimeout as exc:
            metrics.observe_upstream("facade", "timeout", started)
            raise ApiError(504, "upstream_timeout", "image generation did not answer in time; try again shortly") from exc
        except UpstreamUnavailable as exc:
            metrics.observe_upstream("facade", "unavailable", started)
            raise ApiError(502, "upstream_unavailable", "image generation cannot be reached; try again shortly") from exc
        try:
            raw = await response.read()
        except Exception as exc:  # noqa: BLE001 - a broken body is the upstream being away
            response.close()
            raise ApiError(502, "upstream_unavailable", "image generation cannot be reached; try again shortly") from exc
        response.release()
        metrics.observe_upstream("facade", str(response.status), started)
        passed = {name: response.headers[name] for name in PASSED_ON if name in response.headers}
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = None
        return response.status, decoded, passed

    async def _expect(self, method: str, path: str, ok: tuple[int, ...], body: dict | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        status, decoded, passed = await self.call(method, path, body, headers)
        if status in ok:
            return decoded
        raise native_refusal(status, decoded, passed)

    async def submit(self, job: dict, idempotency_key: str | None = None) -> dict:
        headers = {"idempotency-key": idempotency_key} if idempotency_key is not None else None
        return await self._expect("POST", "/api/v1/jobs", (200, 201, 202), job, headers)

    async def job(self, job_id: str) -> dict:
        return await self._expect("GET", f"/api/v1/jobs/{job_id}", (200,))

    async def recent_jobs(self, limit: int = 20) -> list[dict]:
        page = await self._expect("GET", f"/api/v1/jobs?limit={limit}", (200,))
        return list(page.get("items") or []) if isinstance(page, dict) else []

    async def cancel(self, job_id: str) -> bool:
        """True when this call canceled it; a job that had already ended is left as it is."""
        status, decoded, passed = await self.call("DELETE", f"/api/v1/jobs/{job_id}")
        if status in (200, 202, 204):
            return True
        if status in (404, 409):
            return False
        raise native_refusal(status, decoded, passed)

    async def wait(self, job_ids: list[str]) -> list[dict]:
        """Every job as it ended. Past GATEWAY_FACADE_WAIT_S the unfinished ones are canceled (so
        their reservations come back) and WaitTimeout is raised: the client has no way to collect
        a result later, so nothing should go on running for it."""
        bound = self.settings.gateway_facade_wait_s
        deadline = time.monotonic() + bound
        ended: dict[str, dict] = {}
        interval = _POLL_FIRST_S
        while True:
            for job_id in job_ids:
                if job_id not in ended:
                    job = await self.job(job_id)
                    if job.get("status") in TERMINAL:
                        ended[job_id] = job
            if len(ended) == len(job_ids):
                return [ended[job_id] for job_id in job_ids]
            if time.monotonic() + interval > deadline:
                for job_id in job_ids:
                    if job_id not in ended:
                        await self.cancel(job_id)
                raise WaitTimeout(next(j for j in job_ids if j not in ended), bound)
            await asyncio.sleep(interval)
            interval = min(_POLL_MAX_S, interval * 1.5)

    async def image_bytes(self, signed_url: str) -> bytes:
        """The stored image behind a signed URL the job gave, read as /files/ would serve it."""
        parts = urlsplit(signed_url)
        key = unquote(parts.path.removeprefix("/files/"))
        query = parse_qs(parts.query)
        try:
            verify_signature(self.settings.atelier_storage_signing_key, key,
                             (query.get("exp") or [None])[0], (query.get("sig") or [None])[0])
            return await run_in_threadpool(self.request.app.state.storage.get_bytes, key)
        except StorageError as exc:
            raise ApiError(503, "storage_unavailable", "stored images are unavailable; try again shortly",
                           headers={"Retry-After": "5"}) from exc
        except (SignatureError, ObjectNotFound, ValueError, OSError) as exc:
            logger.warning("an image of a finished job could not be read: %r", exc)
            raise ApiError(502, "image_unavailable", "an image of the job could not be read") from exc

    def public_url(self, signed_url: str) -> str:
        """Absolute, for clients that fetch it elsewhere (OpenAI's `url` format)."""
        return self.settings.atelier_public_url.rstrip("/") + signed_url

    async def model_names(self) -> list[str]:
        """The models the caller may use: pre_inference's catalogue (GET /api/v1/models) less
        those its tier may not; `default` alone while no catalogue answers or no worker has
        announced one (the native API then admits only `default`)."""
        status, decoded, _ = await self.call("GET", "/api/v1/models")
        names: list[str] = []
        if status == 200:
            items = decoded.get("models", decoded.get("items")) if isinstance(decoded, dict) else decoded
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("allowed") is False:
                    continue
                name = item.get("name") if isinstance(item, dict) else item
                if isinstance(name, str) and name and name not in names:
                    names.append(name)
        return names or ["default"]

def native_refusal(status: int, decoded: Any, passed: dict[str, str]) -> ApiError:
    """A native error answer as an ApiError the facades render in their own shapes."""
    error = decoded.get("error") if isinstance(decoded, dict) else None
    if status >= 500 or not isinstance(error, dict) or not isinstance(error.get("code"), str):
        logger.warning("pre_inference answered %s without the platform's error body", status)
        return ApiError(502 if status < 500 else status, "upstream_error", "image generation failed; try again shortly",
                        headers=passed or None)
    fields = error.get("fields") if isinstance(error.get("fields"), dict) else None
    return ApiError(status, error["code"], str(error.get("message") or error["code"]), fields=fields,
                    headers=passed or None)


def first_field(error: ApiError) -> str | None:
    return next(iter(error.fields), None) if error.fields else None
