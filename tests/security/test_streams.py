"""Finding 5: about 200 event streams held by one user used up the gateway's shared upstream
pool, and every other request timed out. Streams are capped per user with a clear 429, and
what one user holds open never slows anyone else."""
from __future__ import annotations

import contextlib
import time

import httpx
import pytest

from e2e.flows import verified_user

from .conftest import LONG_JOB, assert_platform_error

pytestmark = pytest.mark.e2e
MAX_STREAMS_TRIED = 60


def test_one_user_cannot_hold_unbounded_streams_nor_slow_others(platform, client, person, mail_dir):
    bystander = verified_user(client, mail_dir, prefix="bystander")
    job = client.post("/api/v1/jobs", json={**LONG_JOB, "n": 4}, headers=person["headers"])
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    limits = httpx.Limits(max_connections=MAX_STREAMS_TRIED + 5, max_keepalive_connections=0)
    refused = None
    opened = 0
    with httpx.Client(base_url=platform["base_url"], timeout=30, limits=limits) as hog, contextlib.ExitStack() as streams:
        try:
            for _ in range(MAX_STREAMS_TRIED):
                response = streams.enter_context(
                    hog.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=person["headers"]))
                if response.status_code != 200:
                    response.read()
                    refused = response
                    break
                opened += 1
            assert refused is not None, f"{opened} streams of one user were all accepted"
            assert_platform_error(refused, 429, "too_many_streams")
            assert refused.headers.get("retry-after")
            assert 1 <= opened <= 32
            # Everybody else is served at once while those streams stay open.
            for path in ("/api/auth/me", "/api/v1/jobs", "/api/v1/usage", "/api/payments/plans"):
                started = time.monotonic()
                answer = client.get(path, headers=bystander["headers"])
                assert answer.status_code == 200, (path, answer.text[:300])
                assert time.monotonic() - started < 5, path
        finally:
            client.delete(f"/api/v1/jobs/{job_id}", headers=person["headers"])
    # Once they are closed, the user may stream again.
    time.sleep(1)
    again = client.get(f"/api/v1/jobs/{job_id}/events", headers=person["headers"], timeout=30)
    assert again.status_code == 200, again.text

