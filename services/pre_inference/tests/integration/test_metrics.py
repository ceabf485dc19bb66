"""Integration: pre_inference's /metrics after real requests (httpx ASGI): HTTP metrics by
route template, admission outcomes, 429s by limit, the scrape-time job gauges, and every
catalogue metric exported by pre_inference."""
import asyncio
import tomllib
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration
CATALOGUE = Path(__file__).resolve().parents[4] / "infra" / "monitoring" / "catalogue.toml"
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def scrape(client) -> dict[str, dict[tuple, float]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


async def test_http_metrics_use_the_route_template_never_the_raw_path(client, make_token):
    job_id = str(uuid.uuid4())
    before = await scrape(client)
    response = await client.get(f"/api/v1/jobs/{job_id}", headers=auth(make_token(scopes=["jobs:read"])))
    assert response.status_code == 404
    await client.get("/api/v1/nothing-here-5678")
    after = await scrape(client)
    labels = dict(service="pre_inference", route="/api/v1/jobs/{job_id}", method="GET", status="404")
    assert value(after, "atelier_http_requests_total", **labels) == value(before, "atelier_http_requests_total", **labels) + 1
    assert value(after, "atelier_http_requests_total", service="pre_inference", route="unmatched", method="GET", status="404") >= 1
    text = (await client.get("/metrics")).text
    assert job_id not in text and "nothing-here-5678" not in text


async def test_admissions_and_limits_are_counted_and_the_gauges_see_the_queue(client, make_token):
    user = str(uuid.uuid4())
    token = make_token(sub=user, tier="free")
    before = await scrape(client)
    first = await client.post("/api/v1/jobs", json=JOB, headers=auth(token))
    second = await client.post("/api/v1/jobs", json=JOB, headers=auth(token))
    invalid = await client.post("/api/v1/jobs", json={**JOB, "width": 4096}, headers=auth(token))
    assert (first.status_code, second.status_code, invalid.status_code) == (202, 429, 422)
    # Refused before the endpoint runs: the schema, then the token.
    assert (await client.post("/api/v1/jobs", json={**JOB, "colour": "red"}, headers=auth(token))).status_code == 422
    assert (await client.post("/api/v1/jobs", json=JOB)).status_code == 401
    after = await scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("pre_inference_admissions_total", outcome="accepted", tier="free") == 1
    assert grew("pre_inference_admissions_total", outcome="concurrency_limit", tier="free") == 1
    assert grew("pre_inference_admissions_total", outcome="invalid", tier="free") == 1
    assert grew("pre_inference_admissions_total", outcome="invalid", tier="unknown") == 1
    assert grew("pre_inference_admissions_total", outcome="refused", tier="unknown") == 1
    assert grew("pre_inference_rate_limited_total", limit="concurrency") == 1
    assert "pre_inference_oldest_queued_age_seconds" in after


async def test_job_gauges_query_once_per_ttl_and_see_queued_jobs(app, client, make_token):
    gauges = app.state.job_gauges
    gauges.ttl_s = 3600
    token = make_token(sub=str(uuid.uuid4()), tier="pro")
    assert (await client.post("/api/v1/jobs", json=JOB, headers=auth(token))).status_code == 202
    queries = gauges.queries
    # A storm of concurrent scrapes: one query between them.
    await asyncio.gather(*(client.get("/metrics") for _ in range(20)))
    assert gauges.queries == queries + 1
    samples = await scrape(client)
    assert value(samples, "pre_inference_live_jobs", status="queued") >= 1
    assert value(samples, "pre_inference_queue_depth", priority="5") >= 1
    assert value(samples, "pre_inference_oldest_queued_age_seconds") >= 0
    assert gauges.queries == queries + 1


async def test_webhook_deliveries_due_and_held_by_no_deliverer_are_gauged(app, client, db):
    """Due ones count, from when they fell due; one a deliverer holds (its lease ahead) or one
    of a disabled endpoint does not."""
    from sqlalchemy import text

    def endpoint(disabled: bool) -> uuid.UUID:
        endpoint_id = uuid.uuid4()
        db.execute(text("INSERT INTO webhook_endpoints (id, user_id, url, secret_encrypted, disabled_at) "
                        "VALUES (:id, :user, 'https://example.com/hook', 'x', CASE WHEN :disabled THEN now() END)"),
                   {"id": endpoint_id, "user": uuid.uuid4(), "disabled": disabled})
        return endpoint_id

    live, disabled = endpoint(False), endpoint(True)
    for endpoint_id, due_in in ((live, "-10 minutes"), (live, "5 minutes"), (disabled, "-10 days")):
        db.execute(text("INSERT INTO webhook_deliveries (id, endpoint_id, event_type, next_attempt_at) "
                        "VALUES (:id, :endpoint, 'job.succeeded', now() + CAST(:due_in AS interval))"),
                   {"id": uuid.uuid4(), "endpoint": endpoint_id, "due_in": due_in})
    db.commit()
    try:
        app.state.job_gauges.ttl_s = 0
        samples = await scrape(client)
        assert value(samples, "pre_inference_webhook_deliveries_due") >= 1
        assert 590 <= value(samples, "pre_inference_webhook_oldest_due_age_seconds") < 5 * 86400
    finally:  # due deliveries to nowhere must not reach another test's deliverer
        db.execute(text("DELETE FROM webhook_endpoints WHERE id IN (:live, :disabled)"), {"live": live, "disabled": disabled})
        db.commit()


async def test_catalogue_metrics_of_pre_inference_are_all_exported(client, make_token):
    token = make_token(sub=str(uuid.uuid4()), tier="pro")
    assert (await client.post("/api/v1/jobs", json=JOB, headers=auth(token))).status_code == 202
    text = (await client.get("/metrics")).text
    catalogue = tomllib.loads(CATALOGUE.read_text())["metrics"]
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, spec in catalogue.items():
        if "pre_inference" not in spec["exporters"]:
            continue
        base = name.removesuffix("_total") if spec["type"] == "counter" else name
        assert base in families, name
        assert families[base].type == spec["type"], name
        for sample in families[base].samples:
            if not sample.name.endswith(("_created",)):
                assert set(spec["labels"]) <= set(sample.labels), (name, sample)


async def test_metrics_are_refused_to_forwarded_requests(client):
    response = await client.get("/metrics", headers={"X-Forwarded-For": "8.8.8.8"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
