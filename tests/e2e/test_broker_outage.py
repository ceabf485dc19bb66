"""Nothing is lost while RabbitMQ is down: services keep accepting work, their outboxes
hold the messages, and once the broker is back everything happens exactly once."""
from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest

from .flows import claims, eventually, log_in, pay_on_hosted_page, sign_up, verify

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def outage_platform(platform_with_private_broker):
    running = platform_with_private_broker
    with httpx.Client(base_url=running["base_url"], timeout=30) as client:
        yield running, client


def pending_outbox(env: dict, service: str) -> int:
    with psycopg.connect(env[f"{service.upper()}_DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]


def test_signup_and_job_during_an_outage_complete_once_the_broker_is_back(outage_platform):
    running, client = outage_platform
    broker, env = running["broker"], running["env"]
    with broker.outage():
        address, _ = sign_up(client, "outage")
        verify(client, Path(env["ATELIER_MAIL_DIR"]), address)
        user = log_in(client, address)
        submitted = client.post(
            "/api/v1/jobs", headers=user["headers"],
            json={"kind": "txt2img", "prompt": "written while the broker was down", "width": 128, "height": 128, "steps": 2},
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        time.sleep(2)  # relays and consumers are retrying against a closed port meanwhile
        assert client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json()["status"] == "queued"
        assert pending_outbox(env, "auth") >= 1 and pending_outbox(env, "pre_inference") >= 1

    eventually(lambda: client.get("/api/payments/account", headers=user["headers"]).status_code == 200,
               "payments learning of the registration", timeout=60)
    final = eventually(
        lambda: (j := client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json())["status"] in ("succeeded", "failed") and j,
        "the job finishing", timeout=120)
    assert final["status"] == "succeeded", final
    assert len(final["images"]) == 1
    with psycopg.connect(env["PAYMENTS_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM customers_customer WHERE user_id = %s", (claims(user["tokens"]["access"])["sub"],)).fetchone()[0] == 1
    for service in ("auth", "pre_inference"):
        eventually(lambda: pending_outbox(env, service) == 0, f"the {service} outbox draining", timeout=30)


def test_a_purchase_during_an_outage_makes_the_user_pro_once_the_broker_is_back(outage_platform):
    running, client = outage_platform
    broker, env = running["broker"], running["env"]
    address, _ = sign_up(client, "outage-buyer")
    verify(client, Path(env["ATELIER_MAIL_DIR"]), address)
    user = log_in(client, address)
    eventually(lambda: client.get("/api/payments/account", headers=user["headers"]).status_code == 200,
               "payments learning of the registration", timeout=60)
    with broker.outage():
        started = client.post("/api/payments/checkout", json={"plan": "pro-monthly"}, headers=user["headers"])
        assert started.status_code == 201, started.text
        paid = pay_on_hosted_page(running["base_url"], started.json()["checkout_url"])
        assert paid.status_code == 303, paid.text
        time.sleep(2)
        assert client.get("/api/auth/me", headers=user["headers"]).json()["tier"] == "free"

    eventually(lambda: client.get("/api/auth/me", headers=user["headers"]).json().get("tier") == "pro",
               "auth setting the pro tier after the outage", timeout=120)
    refreshed = client.post("/api/auth/token/refresh", json={"refresh": user["tokens"]["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    assert claims(refreshed.json()["access"])["tier"] == "pro"
    subscription = client.get("/api/payments/subscription", headers=user["headers"]).json()["subscription"]
    assert (subscription["status"], subscription["tier"]) == ("active", "pro")
    assert client.get("/api/payments/invoices", headers=user["headers"]).json()["total"] == 1
