"""Integration: payments' /metrics after real requests: HTTP metrics by URL pattern,
checkouts, webhooks and subscription changes counted, every catalogue metric exported by
payments present, and /metrics refused to outside or forwarded requests."""
import tomllib
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from billing.checkout import start_checkout

from .conftest import checkout_completed, post_webhook

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
CATALOGUE = Path(__file__).resolve().parents[4] / "infra" / "monitoring" / "catalogue.toml"


def scrape(client) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_domain_counters_follow_checkouts_webhooks_and_subscription_changes(
        client, api_client, auth, customer, pro_plan, django_capture_on_commit_callbacks):
    before = scrape(client)
    assert api_client.post("/api/payments/checkout", {"plan": "pro-monthly"}, format="json", **auth).status_code == 201
    assert api_client.post("/api/payments/checkout", {"plan": "pro-monthly"}, format="json", **auth).status_code == 201
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, checkout_completed(checkout)).status_code == 200
    assert post_webhook(client, checkout_completed(checkout)).json()["outcome"] == "duplicate"
    assert post_webhook(client, checkout_completed(checkout, event_id="evt_x"), secret="wrong").status_code == 400
    refused = api_client.post("/api/payments/checkout", {"plan": "pro-monthly"}, format="json", **auth)
    assert refused.status_code == 409
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("payments_checkouts_total", kind="plan", outcome="started") == 2
    assert grew("payments_checkouts_total", kind="plan", outcome="refused") == 1
    assert grew("payments_webhooks_total", provider="sandbox", outcome="applied") == 1
    assert grew("payments_webhooks_total", provider="sandbox", outcome="duplicate") == 1
    assert grew("payments_webhooks_total", provider="sandbox", outcome="signature_invalid") == 1
    assert grew("payments_subscription_changes_total", change="activated") == 1
    assert grew("atelier_http_requests_total", service="payments", route="/api/payments/checkout",
                method="POST", status="201") == 2


def test_http_metrics_never_carry_the_raw_path(client):
    client.get(f"/api/payments/nowhere/{uuid.uuid4()}")
    body = client.get("/metrics").content.decode()
    assert 'route="unmatched"' in body and "nowhere" not in body


def test_catalogue_metrics_of_payments_are_all_exported(client):
    client.get("/healthz")
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").content.decode())}
    for name, spec in tomllib.loads(CATALOGUE.read_text())["metrics"].items():
        if "payments" not in spec["exporters"]:
            continue
        base = name.removesuffix("_total") if spec["type"] == "counter" else name
        assert base in families and families[base].type == spec["type"], name
        samples = [s for s in families[base].samples if not s.name.endswith("_created")]
        assert samples, name  # every series of payments exists from the first scrape
        assert all(set(spec["labels"]) <= set(s.labels) for s in samples), name


def test_metrics_are_refused_to_outside_and_forwarded_requests(client):
    assert client.get("/metrics", REMOTE_ADDR="8.8.8.8").status_code == 404
    forwarded = client.get("/metrics", HTTP_X_FORWARDED_FOR="8.8.8.8")
    assert forwarded.status_code == 404 and forwarded.json()["error"]["code"] == "not_found"
