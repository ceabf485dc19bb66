"""Steps that several end-to-end tests take: waiting, reading the platform's mail,
making a verified user, and paying on the sandbox's hosted checkout page."""
from __future__ import annotations

import base64
import email
import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

PASSWORD = "correct horse battery staple"


def eventually(probe, what: str, timeout: float = 90.0, interval: float = 0.25):
    """Poll ``probe`` until it returns something truthy; fail the test with ``what`` if never."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what} did not happen within {timeout}s (last: {last!r})")


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def mailed_token(mail_dir: Path, address: str, route: str = "verify") -> str | None:
    """The token of the newest ``/<route>?token=`` link mailed to ``address``, if any."""
    found_token = None
    for path in sorted(mail_dir.glob("**/*"), key=lambda p: p.stat().st_mtime if p.is_file() else 0):
        if not path.is_file():
            continue
        message = email.message_from_bytes(path.read_bytes())
        if address not in (message.get("To") or ""):
            continue
        for part in message.walk():
            body = part.get_payload(decode=True)
            found = re.search(rb"/" + route.encode() + rb"\?token=([A-Za-z0-9_.\-]+)", body or b"")
            if found:
                found_token = found.group(1).decode()
    return found_token


def sign_up(client: httpx.Client, prefix: str = "e2e") -> tuple[str, dict]:
    address = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
    response = client.post("/api/auth/signup", json={"email": address, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return address, response.json()


def verify(client: httpx.Client, mail_dir: Path, address: str) -> None:
    token = eventually(lambda: mailed_token(mail_dir, address), f"the verification mail to {address}", timeout=30)
    response = client.post("/api/auth/verify", json={"token": token})
    assert response.status_code == 200, response.text


def log_in(client: httpx.Client, address: str) -> dict:
    response = client.post("/api/auth/token", json={"email": address, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens = response.json()
    return {"email": address, "tokens": tokens, "headers": {"Authorization": f"Bearer {tokens['access']}"}}


def verified_user(client: httpx.Client, mail_dir: Path, prefix: str = "e2e") -> dict:
    address, _ = sign_up(client, prefix)
    verify(client, mail_dir, address)
    return log_in(client, address)


def pay_on_hosted_page(base_url: str, checkout_url: str, card: str = "4242424242424242") -> httpx.Response:
    """GET the sandbox's form and POST it as a browser would, with its own cookie jar."""
    path = urlsplit(checkout_url).path
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        page = browser.get(path)
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
        return browser.post(path, data={"csrf_token": csrf, "card_number": card})
