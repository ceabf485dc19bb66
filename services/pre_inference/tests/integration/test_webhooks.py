"""Webhooks against real Postgres and a real HTTP receiver on 127.0.0.1: the API (secret
once, limits, refused addresses, scopes), deliveries queued in the transaction that ends
the job, claimed by several deliverers without overlap, retried after a 500, given up,
disabled by 410 (each attempt counted by outcome), and re-sent with the same id after a crash;
the deliverer run alone serves its metrics."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from atelier_kit.webhook_signatures import verify
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.adapters import job_events, webhooks_repo
from app.adapters.webhook_secrets import secret_box
from app.main import create_app
from app.webhook_deliverer import WebhookDeliverer

from .helpers import deliver
from .webhook_receiver import running_receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def hook_settings(settings):
    """The run's settings, with loopback allowed (the receiver is on 127.0.0.1)."""
    return settings.model_copy(update={"pre_inference_webhooks_allow_private_targets": True,
                                       "atelier_public_url": "https://atelier.example"})


@pytest.fixture
async def hook_client(hook_settings, verifier):
    application = create_app(hook_settings, verifier=verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://pre-inference.test") as client:
        yield client
    await application.state.job_changes.close()
    await application.state.engine.dispose()


@pytest.fixture(autouse=True)
def only_this_tests_deliveries_are_due(sync_engine):
    """The run shares one database: what earlier tests left pending must not take this
    test's place in a deliverer's claim."""
    with sync_engine.begin() as conn:
        conn.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 day' WHERE status = 'pending'"))


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


@pytest.fixture
def deliverer(factory, hook_settings):
    made = WebhookDeliverer(factory, hook_settings)
    yield made
    made.pool.shutdown(wait=True)


def auth(make_token, user: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(sub=user, **claims)}"}


def a_running_job(db, user: str) -> uuid.UUID:
    job = uuid.uuid4()
    db.execute(text("INSERT INTO jobs (id, user_id, tier, kind, status, params, priority, deadline_at, started_at) "
                    "VALUES (:id, :u, 'free', 'txt2img', 'running', CAST(:p AS jsonb), 1, now() + interval '1 hour', now())"),
               {"id": job, "u": user, "p": json.dumps({"prompt": "a lighthouse", "width": 64, "height": 64})})
    db.commit()
    return job


def an_endpoint(db, hook_settings, user: str, url: str, secret: str = "whsec_test_secret") -> uuid.UUID:
    endpoint = uuid.uuid4()
    db.execute(text("INSERT INTO webhook_endpoints (id, user_id, url, secret_encrypted) VALUES (:id, :u, :url, :s)"),
               {"id": endpoint, "u": user, "url": url, "s": secret_box(hook_settings).encrypt(secret)})
    db.commit()
    return endpoint


def deliveries(db, endpoint: uuid.UUID) -> list:
    db.expire_all()
    return db.execute(text("SELECT * FROM webhook_deliveries WHERE endpoint_id = :e ORDER BY created_at"), {"e": endpoint}).all()


def attempts() -> dict[str, float]:
    """pre_inference_webhook_attempts_total by outcome, and how many attempt times were observed."""
    counted = {outcome: REGISTRY.get_sample_value("pre_inference_webhook_attempts_total", {"outcome": outcome}) or 0.0
               for outcome in ("delivered", "retrying", "failed", "disabled")}
    return {**counted, "timed": REGISTRY.get_sample_value("pre_inference_webhook_attempt_duration_seconds_count") or 0.0}


def grew(before: dict[str, float]) -> dict[str, float]:
    return {name: value - before[name] for name, value in attempts().items() if value != before[name]}


def make_due(db, delivery_id) -> None:
    db.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = :id"), {"id": delivery_id})
    db.commit()


def succeed(factory, job: uuid.UUID) -> None:
    with factory() as session, session.begin():
        assert job_events.mark_succeeded(session, job, [
            {"key": f"images/{job}/0.png", "seed": 7, "width": 64, "height": 64, "content_type": "image/png"}],
            datetime.now(timezone.utc))


# --- the API ------------------------------------------------------------------------------


async def test_register_shows_the_secret_once_and_lists_without_it(hook_client, make_token):
    user = str(uuid.uuid4())
    with running_receiver() as receiver:
        created = await hook_client.post("/api/v1/webhooks", json={"url": receiver.url, "description": "ci"},
                                         headers=auth(make_token, user))
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["secret"].startswith("whsec_") and body["status"] == "active" and body["description"] == "ci"
        listed = (await hook_client.get("/api/v1/webhooks", headers=auth(make_token, user))).json()
        assert [e["id"] for e in listed["items"]] == [body["id"]] and "secret" not in listed["items"][0]
        assert listed["limit"] == 5
        # Somebody else sees none of it.
        other = auth(make_token, str(uuid.uuid4()))
        assert (await hook_client.get("/api/v1/webhooks", headers=other)).json()["items"] == []
        assert (await hook_client.delete(f"/api/v1/webhooks/{body['id']}", headers=other)).status_code == 404
        rotated = await hook_client.post(f"/api/v1/webhooks/{body['id']}/rotate-secret", headers=auth(make_token, user))
        assert rotated.status_code == 200 and rotated.json()["secret"] not in (body["secret"], None)
        assert rotated.json()["secret_rotated_at"] is not None
        again = await hook_client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=auth(make_token, user))
        assert again.status_code == 409 and again.json()["error"]["code"] == "webhook_exists"
        assert (await hook_client.delete(f"/api/v1/webhooks/{body['id']}", headers=auth(make_token, user))).status_code == 204
        assert (await hook_client.get(f"/api/v1/webhooks/{body['id']}/deliveries", headers=auth(make_token, user))).status_code == 404


async def test_an_account_holds_a_bounded_number_of_endpoints(hook_client, make_token):
    user = str(uuid.uuid4())
    for n in range(5):
        response = await hook_client.post("/api/v1/webhooks", json={"url": f"http://127.0.0.1:9/{n}"}, headers=auth(make_token, user))
        assert response.status_code == 201, response.text
    sixth = await hook_client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/6"}, headers=auth(make_token, user))
    assert sixth.status_code == 409 and sixth.json()["error"]["code"] == "webhook_limit_reached"


@pytest.mark.parametrize("url, code", [
    ("http://127.0.0.1:8080/hook", "url_not_allowed"),
    ("http://localhost/hook", "url_not_allowed"),
    ("http://[::1]/hook", "url_not_allowed"),
    ("http://[::ffff:127.0.0.1]/hook", "url_not_allowed"),
    ("http://169.254.169.254/latest/meta-data/", "url_not_allowed"),
    ("http://10.0.0.5/hook", "url_not_allowed"),
    ("http://2130706433/hook", "url_not_allowed"),  # 127.0.0.1 as one decimal number
    ("ftp://example.com/hook", "url_not_allowed"),
    ("https://u:p@example.com/hook", "url_not_allowed"),
    ("https://no-such-host.invalid/hook", "url_not_resolvable"),
])
async def test_internal_or_malformed_urls_are_refused_at_registration(client, make_token, url, code):
    response = await client.post("/api/v1/webhooks", json={"url": url}, headers=auth(make_token, str(uuid.uuid4())))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code and "url" in response.json()["error"]["fields"]


@pytest.mark.parametrize("body", [{}, {"url": 5}, {"url": "https://example.com", "extra": 1}, {"url": "https://e.com", "description": "a\nb"}])
async def test_bad_bodies_are_422(client, make_token, body):
    response = await client.post("/api/v1/webhooks", json=body, headers=auth(make_token, str(uuid.uuid4())))
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


async def test_an_api_key_needs_the_webhooks_scope(hook_client, make_token):
    user = str(uuid.uuid4())
    without = auth(make_token, user, key_id=str(uuid.uuid4()), scopes=["jobs:read", "jobs:write"])
    refused = await hook_client.get("/api/v1/webhooks", headers=without)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    with_scope = auth(make_token, user, key_id=str(uuid.uuid4()), scopes=["webhooks:manage"])
    assert (await hook_client.get("/api/v1/webhooks", headers=with_scope)).status_code == 200


async def test_a_test_event_is_queued_and_delivered(hook_client, make_token, deliverer, db):
    user = str(uuid.uuid4())
    with running_receiver(200) as receiver:
        created = (await hook_client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=auth(make_token, user))).json()
        queued = await hook_client.post(f"/api/v1/webhooks/{created['id']}/test", headers=auth(make_token, user))
        assert queued.status_code == 202 and queued.json()["event"] == "ping" and queued.json()["status"] == "pending"
        while deliverer.deliver_once():
            pass
        assert len(receiver.requests) == 1
        got = receiver.requests[0]
        verify(created["secret"], got.body, got.headers["atelier-signature"])
        assert json.loads(got.body)["id"] == queued.json()["id"] == got.headers["atelier-webhook-id"]
        log = (await hook_client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=auth(make_token, user))).json()
        assert log["items"][0]["status"] == "delivered" and log["items"][0]["status_code"] == 200
        assert log["items"][0]["attempts"] == 1 and log["items"][0]["next_attempt_at"] is None


# --- queueing and delivering --------------------------------------------------------------


def test_a_job_end_queues_one_delivery_per_active_endpoint_in_its_transaction(db, factory, hook_settings):
    user = str(uuid.uuid4())
    first = an_endpoint(db, hook_settings, user, "http://127.0.0.1:9/a")
    second = an_endpoint(db, hook_settings, user, "http://127.0.0.1:9/b")
    disabled = an_endpoint(db, hook_settings, user, "http://127.0.0.1:9/c")
    db.execute(text("UPDATE webhook_endpoints SET disabled_at = now() WHERE id = :id"), {"id": disabled})
    someone_elses = an_endpoint(db, hook_settings, str(uuid.uuid4()), "http://127.0.0.1:9/d")
    db.commit()
    job = a_running_job(db, user)
    # Rolled back with the job's end: nothing queued.
    with factory() as session:
        session.begin()
        assert job_events.mark_failed(session, job, "oops", "broke", datetime.now(timezone.utc))
        session.rollback()
    assert deliveries(db, first) == []
    with factory() as session, session.begin():
        assert job_events.mark_failed(session, job, "oops", "broke", datetime.now(timezone.utc))
    for endpoint in (first, second):
        [row] = deliveries(db, endpoint)
        assert (row.event_type, row.job_id, row.status, row.attempts) == ("job.failed", job, "pending", 0)
    assert deliveries(db, disabled) == [] and deliveries(db, someone_elses) == []
    # The outbox message of the same transition is there too.
    assert db.execute(text("SELECT count(*) FROM outbox WHERE routing_key = 'pre_inference.job.finished.v1' "
                           "AND body LIKE :j"), {"j": f"%{job}%"}).scalar() == 1


def test_two_deliverers_never_claim_the_same_delivery(db, factory, hook_settings):
    user = str(uuid.uuid4())
    endpoint = an_endpoint(db, hook_settings, user, "http://127.0.0.1:9/skip")
    for _ in range(6):
        db.execute(text("INSERT INTO webhook_deliveries (id, endpoint_id, event_type) VALUES (gen_random_uuid(), :e, 'ping')"),
                   {"e": endpoint})
    db.commit()
    mine = {row.id for row in deliveries(db, endpoint)}
    first = factory()
    first.begin()
    try:
        taken_first = {c.id for c in webhooks_repo.claim_due(first, limit=4, lease_s=60) if c.id in mine}
        # The first claim is still uncommitted: its rows are locked, and skipped, not waited for.
        result: dict[str, set] = {}

        def second_deliverer() -> None:
            with factory() as session, session.begin():
                session.execute(text("SET LOCAL lock_timeout = '2s'"))
                result["taken"] = {c.id for c in webhooks_repo.claim_due(session, limit=100, lease_s=60) if c.id in mine}

        thread = threading.Thread(target=second_deliverer)
        thread.start()
        thread.join(10)
        taken_second = result["taken"]
        assert taken_first and taken_second and not taken_first & taken_second
        first.commit()
    finally:
        first.close()
    # Committed, the first claim's rows are leased: nobody takes them again before the lease ends.
    with factory() as session, session.begin():
        assert not {c.id for c in webhooks_repo.claim_due(session, limit=100, lease_s=60)} & mine
    rows = deliveries(db, endpoint)
    assert all(row.attempts == 1 for row in rows) and {row.id for row in rows} == taken_first | taken_second


def test_a_500_is_retried_later_with_the_same_id_and_a_valid_signature(db, factory, hook_settings, deliverer):
    user = str(uuid.uuid4())
    before = attempts()
    with running_receiver(500, 200) as receiver:
        endpoint = an_endpoint(db, hook_settings, user, receiver.url, secret="whsec_retry")
        job = a_running_job(db, user)
        succeed(factory, job)
        assert deliverer.deliver_once() >= 1
        [row] = deliveries(db, endpoint)
        assert (row.status, row.attempts, row.status_code) == ("pending", 1, 500)
        assert "HTTP 500" in row.error and row.duration_ms is not None
        wait = (row.next_attempt_at - datetime.now(timezone.utc)).total_seconds()
        assert 5 < wait <= 12  # the first retry: 10 s +-20%
        assert deliverer.deliver_once() == 0 or len(receiver.requests) == 1  # not due yet
        make_due(db, row.id)
        deliverer.deliver_once()
        [row] = deliveries(db, endpoint)
        assert (row.status, row.attempts, row.status_code, row.error) == ("delivered", 2, 200, None)
        assert row.delivered_at is not None
    assert grew(before) == {"retrying": 1, "delivered": 1, "timed": 2}
    first, second = receiver.requests
    assert json.loads(first.body)["id"] == json.loads(second.body)["id"] == str(row.id)
    for got in (first, second):
        verify("whsec_retry", got.body, got.headers["atelier-signature"])
        assert got.headers["content-type"] == "application/json" and got.path == "/hooks/atelier"
    document = json.loads(second.body)
    assert document["type"] == "job.succeeded" and document["data"]["id"] == str(job)
    assert document["data"]["status"] == "succeeded" and document["data"]["params"]["prompt"] == "a lighthouse"
    # The job as GET /api/v1/jobs/{id} shows it, its image URLs signed and absolute.
    image_url = document["data"]["images"][0]["url"]
    assert image_url.startswith(f"https://atelier.example/files/images/{job}/0.png?") and "sig=" in image_url


def test_410_disables_the_endpoint_and_stops_its_deliveries(db, factory, hook_settings, deliverer):
    user = str(uuid.uuid4())
    before = attempts()
    with running_receiver(410) as receiver:
        endpoint = an_endpoint(db, hook_settings, user, receiver.url)
        succeed(factory, a_running_job(db, user))
        deliverer.deliver_once()
    [row] = deliveries(db, endpoint)
    assert (row.status, row.status_code) == ("failed", 410)
    assert grew(before) == {"disabled": 1, "timed": 1}
    disabled = db.execute(text("SELECT disabled_at, disabled_reason FROM webhook_endpoints WHERE id = :e"), {"e": endpoint}).one()
    assert disabled.disabled_at is not None and "410" in disabled.disabled_reason
    succeed(factory, a_running_job(db, user))
    assert len(deliveries(db, endpoint)) == 1  # nothing queued for a disabled endpoint


def test_a_redirect_is_not_followed_and_the_attempt_fails(db, factory, hook_settings, deliverer):
    user = str(uuid.uuid4())
    with running_receiver(302) as receiver:
        endpoint = an_endpoint(db, hook_settings, user, receiver.url)
        succeed(factory, a_running_job(db, user))
        deliverer.deliver_once()
        assert len(receiver.requests) == 1
    [row] = deliveries(db, endpoint)
    assert (row.status, row.status_code) == ("pending", 302) and "redirects are not followed" in row.error


def test_after_a_crash_the_delivery_is_sent_again_with_its_id(db, factory, hook_settings, deliverer):
    user = str(uuid.uuid4())
    with running_receiver(200) as receiver:
        endpoint = an_endpoint(db, hook_settings, user, receiver.url)
        succeed(factory, a_running_job(db, user))
        # A deliverer claims it, (perhaps) sends it, and dies before recording anything.
        with factory() as session, session.begin():
            [claimed] = [c for c in webhooks_repo.claim_due(session, limit=100, lease_s=60) if c.endpoint_id == endpoint]
        assert deliverer.deliver_once() == 0 or not receiver.requests  # leased: nobody else sends it yet
        make_due(db, claimed.id)  # the lease ends
        deliverer.deliver_once()
        [got] = receiver.requests
    assert json.loads(got.body)["id"] == str(claimed.id)
    [row] = deliveries(db, endpoint)
    assert (row.status, row.attempts) == ("delivered", 2)
    # The dead deliverer's late record changes nothing: the row belongs to the later attempt.
    with factory() as session, session.begin():
        assert not webhooks_repo.record_attempt(session, claimed, status="failed", status_code=None, error="late",
                                                duration_ms=1.0)


def test_a_delivery_is_given_up_after_the_last_attempt(db, factory, hook_settings):
    user = str(uuid.uuid4())
    deliverer = WebhookDeliverer(factory, hook_settings.model_copy(update={"pre_inference_webhook_max_attempts": 2}))
    try:
        before = attempts()
        with running_receiver(503) as receiver:
            endpoint = an_endpoint(db, hook_settings, user, receiver.url)
            succeed(factory, a_running_job(db, user))
            deliverer.deliver_once()
            [row] = deliveries(db, endpoint)
            make_due(db, row.id)
            deliverer.deliver_once()
        [row] = deliveries(db, endpoint)
        assert (row.status, row.attempts, row.status_code) == ("failed", 2, 503)
        assert len(receiver.requests) == 2
        assert grew(before) == {"retrying": 1, "failed": 1, "timed": 2}
    finally:
        deliverer.pool.shutdown()


def test_each_delivery_checks_the_address_again(db, factory, hook_settings, deliverer):
    """Registered while loopback was allowed (or resolving elsewhere then): a deliverer that
    allows no private address sends nothing there."""
    user = str(uuid.uuid4())
    strict = WebhookDeliverer(factory, hook_settings.model_copy(update={"pre_inference_webhooks_allow_private_targets": False}))
    try:
        with running_receiver(200) as receiver:
            endpoint = an_endpoint(db, hook_settings, user, receiver.url.replace("127.0.0.1", "localhost"))
            succeed(factory, a_running_job(db, user))
            strict.deliver_once()
            assert receiver.requests == []
        [row] = deliveries(db, endpoint)
        assert row.status == "pending" and row.status_code is None and row.error.startswith("url_not_allowed")
    finally:
        strict.pool.shutdown()


def test_a_deleted_account_loses_its_endpoints(db, factory, hook_settings):
    user = str(uuid.uuid4())
    endpoint = an_endpoint(db, hook_settings, user, "http://127.0.0.1:9/gone")
    deliver(factory, "auth.user.deleted.v1", {"user_id": user, "deleted_at": "2026-01-01T00:00:00Z"})
    db.expire_all()
    assert db.execute(text("SELECT count(*) FROM webhook_endpoints WHERE id = :e"), {"e": endpoint}).scalar() == 0


def test_the_deliverer_run_alone_serves_its_metrics_and_stops_on_sigterm(settings):
    """python -m app.webhook_deliverer: its attempts are scraped as they are inside the consumer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ATELIER_ENV": "test", "PRE_INFERENCE_DATABASE_URL": settings.database_url,
           "ATELIER_AMQP_URL": settings.atelier_amqp_url, "ATELIER_REDIS_URL": settings.atelier_redis_url,
           "ATELIER_STORAGE_DIR": settings.atelier_storage_dir, "ATELIER_STORAGE_SIGNING_KEY": settings.atelier_storage_signing_key,
           "ATELIER_METRICS_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "app.webhook_deliverer"], cwd=Path(__file__).resolve().parents[2], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read().decode(errors="replace")
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the deliverer served no /metrics"
                time.sleep(0.2)
        assert 'pre_inference_webhook_attempts_total{outcome="delivered"} 0.0' in scraped
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
