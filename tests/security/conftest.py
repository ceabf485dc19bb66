"""The attacker's toolbox: clients that come from different loopback addresses, verified
users, API keys with chosen scopes, and one assertion for what every refusal must look like."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import httpx
import pytest

from e2e.flows import eventually, verified_user

# Tiny jobs for the tiny model: they finish in well under a second on a CPU.
SMALL_JOB = {"kind": "txt2img", "prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2}
# A job that keeps the CPU model busy for several seconds (a free user may ask for it).
LONG_JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 512, "height": 512, "steps": 30, "n": 2}
DEBUG_PAGE_MARKERS = ("Traceback", "<html", "<!DOCTYPE", "Django", "SECRET", "settings.py", "urlpatterns",
                      "Request Method:", "File \"")


def assert_platform_error(response: httpx.Response, status: int | tuple[int, ...], code: str | tuple[str, ...] | None = None) -> dict:
    """A refusal in the platform's shape: the status, a JSON error with a machine-readable
    code, a request id, and nothing of a framework's debug page."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.text[:500]
    assert response.headers.get("x-request-id"), "every answer carries a request id"
    for marker in DEBUG_PAGE_MARKERS:
        assert marker not in response.text, f"{marker!r} in {response.text[:500]}"
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str), error
    if code is not None:
        codes = (code,) if isinstance(code, str) else code
        assert error["code"] in codes, error
    return error


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=60) as c:
        yield c


@contextlib.contextmanager
def client_from(platform, address: str):
    """A client whose connections come from another loopback address, as a second machine's
    would: the gateway sees a different client address."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=platform["base_url"], timeout=60, transport=transport) as c:
        yield c


@pytest.fixture(scope="module")
def mail_dir(platform) -> Path:
    return Path(platform["env"]["ATELIER_MAIL_DIR"])


@pytest.fixture
def person(client, mail_dir):
    return verified_user(client, mail_dir, prefix="sec")


def make_key(client, person: dict, scopes: list[str] | None = None, name: str = "attack") -> str:
    body = {"name": name, **({"scopes": scopes} if scopes else {})}
    response = client.post("/api/auth/api-keys", json=body, headers=person["headers"])
    assert response.status_code == 201, response.text
    return response.json()["secret"]


def key_headers(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def wait_until_ended(client, headers: dict, job_id: str, timeout: float = 120) -> dict:
    def ended():
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        return job if job["status"] in ("succeeded", "failed", "canceled") else None
    return eventually(ended, f"job {job_id} ending", timeout=timeout)


def sse_events(text: str) -> list[dict]:
    return [json.loads(line[len("data: "):]) for line in text.splitlines() if line.startswith("data: ")]
