"""``AsyncAtelier``: sync_client.Atelier with awaits (httpx.AsyncClient); keep the two alike."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Unpack

import httpx

from . import _core
from .errors import AtelierError, ConnectionFailed, JobFailed, WaitTimedOut
from .retry import RetryPolicy
from .sse import SseParser
from .types import Event, Image, Job, JobParams, Model


class AsyncAtelier:
    """``async with AsyncAtelier(base_url, api_key) as atelier: job = await atelier.generate(...)``;
    the same settings as ``Atelier``."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0, max_retries: int = 3,
                 max_retry_after: float = 60.0, poll_interval: float = 1.0,
                 http_client: httpx.AsyncClient | None = None):
        self.base_url = httpx.URL(base_url)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.retry = RetryPolicy(max_retries=max_retries, max_retry_after_s=max_retry_after)
        self._headers = _core.default_headers(api_key)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncAtelier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- jobs -----------------------------------------------------------------------------------

    async def submit(self, prompt: str, *, idempotency_key: str | None = None, **params: Unpack[JobParams]) -> Job:
        headers = {"Idempotency-Key": idempotency_key or _core.new_idempotency_key()}
        response = await self._request("POST", _core.JOBS, json=_core.job_body(prompt, dict(params)), headers=headers)
        return Job.from_json(_core.checked(response))

    async def generate(self, prompt: str, *, timeout: float | None = None, idempotency_key: str | None = None,
                       **params: Unpack[JobParams]) -> Job:
        job = await self.submit(prompt, idempotency_key=idempotency_key, **params)
        if not job.done:
            job = await self.wait(job.id, timeout=timeout)
        if job.status != "succeeded":
            raise JobFailed(job)
        return job

    async def get_job(self, job_id: str) -> Job:
        return Job.from_json(_core.checked(await self._request("GET", _core.job_path(job_id))))

    async def cancel(self, job_id: str) -> Job:
        return Job.from_json(_core.checked(await self._request("DELETE", _core.job_path(job_id))))

    async def wait(self, job_id: str, timeout: float | None = None) -> Job:
        async for event in self.events(job_id, timeout=timeout):
            if event.type == "end" and event.job is not None:
                return event.job
        raise AtelierError("stream_ended", "the job's events ended before the job did")

    async def events(self, job_id: str, *, timeout: float | None = None) -> AsyncIterator[Event]:
        """As ``Atelier.events``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        parser = SseParser()
        drops = 0  # streams lost so far; past max_retries, polling takes over
        while True:
            try:
                async for event in self._stream_once(job_id, parser, deadline):
                    yield event
                    if event.type == "end":
                        return
            except (httpx.TransportError, _core.NoStream) as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    raise WaitTimedOut("wait_timeout", f"job {job_id} had not ended within {timeout} s") from exc
                if isinstance(exc, _core.NoStream):
                    drops = self.retry.max_retries
            # Here the stream dropped, or ended before the job did (a proxy's cut): connect again.
            drops += 1
            if drops > self.retry.max_retries:
                async for event in self._poll(job_id, deadline, timeout):
                    yield event
                return
            await asyncio.sleep(self.retry.backoff(drops - 1))

    async def _stream_once(self, job_id: str, parser: SseParser, deadline: float | None) -> AsyncIterator[Event]:
        headers = {**self._headers, "Accept": "text/event-stream"}
        if parser.last_id is not None:
            headers["Last-Event-ID"] = parser.last_id
        read = self.timeout if deadline is None else max(0.01, min(self.timeout, deadline - time.monotonic()))
        url = self.base_url.join(_core.job_path(job_id) + "/events")
        async with self._http.stream("GET", url, headers=headers, timeout=httpx.Timeout(self.timeout, read=read)) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise _core.NoStream(response.status_code)
            if not response.is_success:
                raise _core.stream_error(response, await response.aread())
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise _core.NoStream(response.status_code)
            async for line in response.aiter_lines():
                server_event = parser.feed(line)
                event = _core.to_event(server_event) if server_event is not None else None
                if event is not None:
                    yield event

    async def _poll(self, job_id: str, deadline: float | None, timeout: float | None) -> AsyncIterator[Event]:
        last: Job | None = None
        while True:
            job = await self.get_job(job_id)
            if job != last:
                yield Event("end" if job.done else "progress", job=job, step=job.step)
                last = job
            if job.done:
                return
            pause = self.poll_interval
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimedOut("wait_timeout", f"job {job_id} had not ended within {timeout} s")
                pause = min(pause, left)
            await asyncio.sleep(pause)

    # --- images and models ------------------------------------------------------------------------

    async def download(self, image: Image | str) -> bytes:
        response = await self._request("GET", _core.image_url(image))
        if not response.is_success:
            _core.checked(response)
        return response.content

    async def save(self, image: Image | str, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(await self.download(image))
        return path

    async def models(self) -> list[Model]:
        return [Model.from_json(m) for m in _core.checked(await self._request("GET", "/api/v1/models"))["models"]]

    # --- transport --------------------------------------------------------------------------------

    async def _request(self, method: str, url: str, *, json: Any = None,
                       headers: dict[str, str] | None = None) -> httpx.Response:
        may_repeat = self.retry.may_repeat(method, headers)
        sent = {**(self._headers if _core.same_origin(url, self.base_url) else {}), **(headers or {})}
        target = self.base_url.join(url)
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, target, json=json, headers=sent)
            except httpx.TransportError as exc:
                delay = self.retry.delay_after_error(attempt) if may_repeat else None
                if delay is None:
                    raise ConnectionFailed("connection_error", str(exc) or type(exc).__name__) from exc
            else:
                delay = (self.retry.delay_after_status(attempt, response.status_code, response.headers.get("Retry-After"))
                         if may_repeat else None)
                if delay is None:
                    return response
                await response.aclose()
            await asyncio.sleep(delay)
            attempt += 1
