"""Unit tests drive the client's own logic (retries, streams, errors) through
httpx.MockTransport; sleeping is recorded instead of done."""
from __future__ import annotations

import pytest

BASE = "http://atelier.test"


def job_json(status: str = "queued", **extra) -> dict:
    job = {"id": "0b7f4c1e-0000-4000-8000-000000000001", "status": status, "phase": status, "queue_position": None,
           "step": None, "total_steps": None, "progress": 1.0 if status == "succeeded" else 0.0, "images": [],
           "error": None, "params": {"prompt": "p"}, "created_at": "2026-12-01T10:00:00Z"}
    if status == "succeeded":
        job["images"] = [{"id": "img-1", "url": "/files/images/a.png?exp=1&sig=x", "seed": 7, "width": 64, "height": 64}]
    job.update(extra)
    return job


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    waits: list[float] = []

    async def no_async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("atelier_client.sync_client.time.sleep", waits.append)
    monkeypatch.setattr("atelier_client.async_client.asyncio.sleep", no_async_sleep)
    return waits
