"""``Atelier``: the blocking client (httpx.Client). ``AsyncAtelier`` (async_client.py) is the
same client line for line with awaits; a change here belongs there too."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Unpack

import httpx

from . import _core
from .errors import AtelierError, ConnectionFailed, JobFailed, WaitTimedOut
from .retry import RetryPolicy
from .sse import SseParser
from .types import Event, Image, Job, JobParams, Model


class Atelier:
    """``Atelier("https://atelier.example", "atl_live_...")``; use as a context manager or ``close()``.

    ``max_retries`` bounds the retries of one request (and the reconnects of one event stream
    before it falls back to polling); ``max_retry_after`` is the longest Retry-After waited out.
    ``http_client`` replaces the client's own httpx.Client (proxies, tests)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0, max_retries: int = 3,
                 max_retry_after: float = 60.0, poll_interval: float = 1.0, http_client: httpx.Client | None = None):
        self.base_url = httpx.URL(base_url)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.retry = RetryPolicy(max_retries=max_retries, max_retry_after_s=max_retry_after)
        self._headers = _core.default_headers(api_key)
        self._http = http_client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Atelier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- jobs -----------------------------------------------------------------------------------

    def submit(self, prompt: str, *, idempotency_key: str | None = None, **params: Unpack[JobParams]) -> Job:
        """Admit a job and return it at once (usually queued). The Idempotency-Key (made here
        unless given) is the same on every retry, so a retried submit never makes two jobs."""
        headers = {"Idempotency-Key": idempotency_key or _core.new_idempotency_key()}
        response = self._request("POST", _core.JOBS, json=_core.job_body(prompt, dict(params)), headers=headers)
        return Job.from_json(_core.checked(response))

    def generate(self, prompt: str, *, timeout: float | None = None, idempotency_key: str | None = None,
                 **params: Unpack[JobParams]) -> Job:
        """Submit, follow the job to its end and return it succeeded; raises JobFailed if it
        failed or was canceled, WaitTimedOut after ``timeout`` seconds (the job goes on)."""
        job = self.submit(prompt, idempotency_key=idempotency_key, **params)
        if not job.done:
            job = self.wait(job.id, timeout=timeout)
        if job.status != "succeeded":
            raise JobFailed(job)
        return job

    def get_job(self, job_id: str) -> Job:
        return Job.from_json(_core.checked(self._request("GET", _core.job_path(job_id))))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (its reservation returns); 409 ``job_finished`` if it had ended."""
        return Job.from_json(_core.checked(self._request("DELETE", _core.job_path(job_id))))

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ends (any terminal status) and return it."""
        for event in self.events(job_id, timeout=timeout):
            if event.type == "end" and event.job is not None:
                return event.job
        raise AtelierError("stream_ended", "the job's events ended before the job did")  # never: events ends with "end"

    def events(self, job_id: str, *, timeout: float | None = None) -> Iterator[Event]:
        """The job's changes as they happen, ending with its ``end``. A dropped stream is
        reconnected (with Last-Event-ID where the stream gave ids; each new stream starts with
        the current state, so nothing is missed); a stream that cannot be had (refused,
        ``too_many_streams``, a 5xx, or lost more than ``max_retries`` times) is replaced by polling."""
        deadline = None if timeout is None else time.monotonic() + timeout
        parser = SseParser()
        drops = 0  # streams lost so far; past max_retries, polling takes over
        while True:
            try:
                for event in self._stream_once(job_id, parser, deadline):
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
                yield from self._poll(job_id, deadline, timeout)
                return
            time.sleep(self.retry.backoff(drops - 1))

    def _stream_once(self, job_id: str, parser: SseParser, deadline: float | None) -> Iterator[Event]:
        headers = {**self._headers, "Accept": "text/event-stream"}
        if parser.last_id is not None:
            headers["Last-Event-ID"] = parser.last_id
        read = self.timeout if deadline is None else max(0.01, min(self.timeout, deadline - time.monotonic()))
        url = self.base_url.join(_core.job_path(job_id) + "/events")
        with self._http.stream("GET", url, headers=headers, timeout=httpx.Timeout(self.timeout, read=read)) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise _core.NoStream(response.status_code)
            if not response.is_success:
                raise _core.stream_error(response, response.read())
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise _core.NoStream(response.status_code)
            for line in response.iter_lines():
                server_event = parser.feed(line)
                event = _core.to_event(server_event) if server_event is not None else None
                if event is not None:
                    yield event

    def _poll(self, job_id: str, deadline: float | None, timeout: float | None) -> Iterator[Event]:
        last: Job | None = None
        while True:
            job = self.get_job(job_id)
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
            time.sleep(pause)

    # --- images and models ------------------------------------------------------------------------

    def download(self, image: Image | str) -> bytes:
        """The image's file (PNG), from its signed URL."""
        response = self._request("GET", _core.image_url(image))
        if not response.is_success:
            _core.checked(response)
        return response.content

    def save(self, image: Image | str, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.download(image))
        return path

    def models(self) -> list[Model]:
        return [Model.from_json(m) for m in _core.checked(self._request("GET", "/api/v1/models"))["models"]]

    # --- transport --------------------------------------------------------------------------------

    def _request(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
        may_repeat = self.retry.may_repeat(method, headers)
        sent = {**(self._headers if _core.same_origin(url, self.base_url) else {}), **(headers or {})}
        target = self.base_url.join(url)
        attempt = 0
        while True:
            try:
                response = self._http.request(method, target, json=json, headers=sent)
            except httpx.TransportError as exc:
                delay = self.retry.delay_after_error(attempt) if may_repeat else None
                if delay is None:
                    raise ConnectionFailed("connection_error", str(exc) or type(exc).__name__) from exc
            else:
                delay = (self.retry.delay_after_status(attempt, response.status_code, response.headers.get("Retry-After"))
                         if may_repeat else None)
                if delay is None:
                    return response
                response.close()
            time.sleep(delay)
            attempt += 1

