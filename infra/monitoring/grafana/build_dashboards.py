"""Writes the provisioned Grafana dashboards (dashboards/*.json) from the panel lists below.

The JSON files are what Grafana loads and what is committed; this script is how they are
edited, so that every panel has the same shape (datasource, grid position, units) and a
change is one line here. Run it after editing, from anywhere:

    .venv/bin/python infra/monitoring/grafana/build_dashboards.py

infra/monitoring/tests/test_monitoring.py fails when the committed JSON differs from its output.
"""
from __future__ import annotations

import json
from pathlib import Path

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
# The uid the provisioned datasource is given (provisioning/datasources/prometheus.yml).
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RATE = "$__rate_interval"


def q(expr: str, legend: str = "") -> dict:
    return {"expr": expr, "legendFormat": legend}


def p95(histogram: str, by: str = "") -> str:
    """95th percentile of a catalogue histogram, optionally kept apart by labels."""
    group = f"{by}, le" if by else "le"
    return f"histogram_quantile(0.95, sum by ({group}) (rate({histogram}_bucket[{RATE}])))"


def mean(histogram: str, by: str = "") -> str:
    clause = f" by ({by})" if by else ""
    return (f"sum{clause} (rate({histogram}_sum[{RATE}]))"
            f" / sum{clause} (rate({histogram}_count[{RATE}]))")


def panel(title: str, targets: list[dict], unit: str = "short", kind: str = "timeseries",
          description: str = "") -> dict:
    return {"title": title, "type": kind, "description": description, "unit": unit, "targets": targets}


def row(title: str) -> dict:
    return {"title": title, "type": "row"}


def build(uid: str, title: str, description: str, items: list[dict]) -> dict:
    """Lays the panels out two per line, rows across the full width."""
    panels, x, y = [], 0, 0
    for number, item in enumerate(items, start=1):
        if item["type"] == "row":
            if x:
                x, y = 0, y + 8
            panels.append({"id": number, "type": "row", "title": item["title"], "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            y += 1
            continue
        width = 12
        panels.append({
            "id": number,
            "type": item["type"],
            "title": item["title"],
            "description": item["description"],
            "datasource": DATASOURCE,
            "gridPos": {"h": 8, "w": width, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": item["unit"]}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "multi"}} if item["type"] == "timeseries" else {},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, **t}
                        for i, t in enumerate(item["targets"])],
        })
        x += width
        if x >= 24:
            x, y = 0, y + 8
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["atelier"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "links": [{"title": "Atelier", "type": "dashboards", "tags": ["atelier"], "asDropdown": True}],
        "panels": panels,
    }


OVERVIEW = build("atelier-overview", "Atelier / Platform overview",
                 "Traffic, errors and latency of every API, and the image jobs from admission to their end.", [
    row("Gateway"),
    panel("Requests per second by route", [q(f"sum by (route) (rate(gateway_requests_total[{RATE}]))", "{{route}}")], "reqps"),
    panel("Error ratio (5xx and 4xx)", [
        q(f'sum(rate(gateway_requests_total{{status=~"5.."}}[{RATE}])) / sum(rate(gateway_requests_total[{RATE}]))', "5xx"),
        q(f'sum(rate(gateway_requests_total{{status=~"4.."}}[{RATE}])) / sum(rate(gateway_requests_total[{RATE}]))', "4xx"),
    ], "percentunit"),
    panel("5xx per second by route and status", [q(f'sum by (route, status) (rate(gateway_requests_total{{status=~"5.."}}[{RATE}]))', "{{route}} {{status}}")], "reqps"),
    panel("Latency p95 by route", [q(p95("gateway_request_duration_seconds", "route"), "{{route}}")], "s"),
    panel("Upstream latency p95 by route", [q(p95("gateway_upstream_duration_seconds", "route"), "{{route}}")], "s",
          description="From sending to an upstream until its response headers: the gateway's latency minus its own work."),
    panel("Requests in flight (streams included)", [q("sum(gateway_requests_in_flight)", "in flight")]),
    row("Services"),
    panel("Requests per second by service and status", [q(f"sum by (service, status) (rate(atelier_http_requests_total[{RATE}]))", "{{service}} {{status}}")], "reqps"),
    panel("Latency p95 by service", [q(p95("atelier_http_request_duration_seconds", "service"), "{{service}}")], "s"),
    panel("Targets up", [q("sum by (job) (up)", "{{job}}")], description="1 per process that answered its last scrape."),
    row("Jobs"),
    panel("Jobs submitted per second by tier", [q(f"sum by (tier) (rate(pre_inference_jobs_submitted_total[{RATE}]))", "{{tier}}")], "ops"),
    panel("Admissions by outcome", [q(f"sum by (outcome) (rate(pre_inference_admissions_total[{RATE}]))", "{{outcome}}")], "ops"),
    panel("Refusals (429) by limit", [q(f"sum by (limit) (rate(pre_inference_rate_limited_total[{RATE}]))", "{{limit}}")], "ops"),
    panel("Live jobs by state", [q("max by (status) (pre_inference_live_jobs)", "{{status}}")]),
    panel("Queue depth by priority", [q("max by (priority) (pre_inference_queue_depth)", "priority {{priority}}")]),
    panel("Oldest queued job", [q("max(pre_inference_oldest_queued_age_seconds)", "age")], "s"),
    panel("Jobs finished by state and reason", [q(f"sum by (status, reason) (rate(pre_inference_jobs_finished_total[{RATE}]))", "{{status}} {{reason}}")], "ops"),
    row("Webhooks"),
    panel("Webhook attempts by outcome", [q(f"sum by (outcome) (rate(pre_inference_webhook_attempts_total[{RATE}]))", "{{outcome}}")], "ops",
          description="delivered (2xx), retrying (another attempt is scheduled), failed (given up), disabled (410 Gone)."),
    panel("Webhook attempt time p95", [q(p95("pre_inference_webhook_attempt_duration_seconds"), "p95")], "s",
          description="From connecting to the receiver's answer; a receiver at its deadline shows here, not in the API's latency."),
    panel("Webhook deliveries waiting for a deliverer", [q("max(pre_inference_webhook_deliveries_due)", "due"),
                                                       q("max(pre_inference_webhook_oldest_due_age_seconds)", "oldest waited (s)")],
          description="Due and held by no deliverer; a running deliverer takes them within seconds. Minutes mean no deliverer runs (AtelierWebhooksNotDelivered)."),
])

GENERATION = build("atelier-generation", "Atelier / Generation",
                   "The inference workers: how long images take, how many come out, and the GPU.", [
    row("Throughput"),
    panel("Images per second", [q(f"sum(rate(inference_images_total[{RATE}]))", "images/s")], "ops"),
    panel("Jobs ended by outcome", [q(f"sum by (outcome) (rate(inference_jobs_total[{RATE}]))", "{{outcome}}")], "ops"),
    panel("Mean batch size", [q(mean("inference_batch_size"), "images per batch")]),
    panel("Queue wait p95", [q(p95("inference_queue_wait_seconds"), "p95")], "s",
          description="From the job's request being published to a worker starting it."),
    row("Time"),
    panel("Denoising step time p50 / p95", [
        q(f"histogram_quantile(0.5, sum by (le) (rate(inference_step_duration_seconds_bucket[{RATE}])))", "p50"),
        q(p95("inference_step_duration_seconds"), "p95"),
    ], "s"),
    panel("Generation time per image p95 and mean", [
        q(p95("inference_generation_seconds"), "p95"),
        q(mean("inference_generation_seconds"), "mean"),
    ], "s"),
    row("Model and GPU"),
    panel("Model loaded (per worker)", [q("inference_model_loaded", "{{instance}}")]),
    panel("Model loads and idle unloads", [
        q("sum(increase(inference_model_load_seconds_count[1h]))", "loads per hour"),
        q("sum(increase(inference_model_unloads_total[1h]))", "unloads per hour"),
    ]),
    panel("Model load time p95", [q(p95("inference_model_load_seconds"), "p95")], "s"),
    panel("GPU memory by kind", [q("sum by (instance, kind) (inference_gpu_memory_bytes)", "{{instance}} {{kind}}")], "bytes",
          description="Absent on CPU workers."),
    panel("GPU utilisation", [q("inference_gpu_utilization_ratio", "{{instance}}")], "percentunit",
          description="Absent where the driver does not report it."),
])

MESSAGING = build("atelier-messaging", "Atelier / Messaging",
                  "Outboxes and their relays, consumers and their queues, and dead letters to replay.", [
    row("Outboxes"),
    panel("Outbox backlog by service", [q("max by (service) (atelier_outbox_backlog)", "{{service}}")]),
    panel("Oldest unpublished outbox row", [q("max by (service) (atelier_outbox_oldest_age_seconds)", "{{service}}")], "s"),
    panel("Published per second by service and exchange", [q(f"sum by (service, exchange) (rate(atelier_relay_published_total[{RATE}]))", "{{service}} → {{exchange}}")], "ops"),
    panel("Relay batch publish time p95", [q(p95("atelier_relay_publish_duration_seconds", "service"), "{{service}}")], "s"),
    row("Consumers"),
    panel("Messages by queue and outcome", [q(f"sum by (queue, outcome) (rate(atelier_consumer_messages_total[{RATE}]))", "{{queue}} {{outcome}}")], "ops"),
    panel("Lag p95 (occurred to committed)", [q(p95("atelier_consumer_lag_seconds", "queue"), "{{queue}}")], "s"),
    panel("Ready messages by queue", [q("max by (queue) (atelier_queue_messages)", "{{queue}}")]),
    panel("Inbox rows by service", [q("max by (service) (atelier_inbox_rows)", "{{service}}")]),
    row("Dead letters"),
    panel("Dead-lettered messages by queue", [q("max by (queue) (atelier_dead_letter_messages)", "{{queue}}")],
          description="Anything above 0 needs reading and replaying (see infra/monitoring/README.md)."),
    panel("Dead-lettered per hour by queue", [q('sum by (queue) (increase(atelier_consumer_messages_total{outcome="dead_lettered"}[1h]))', "{{queue}}")]),
])

MONEY = build("atelier-money", "Atelier / Money",
              "Checkouts, payment webhooks, subscription changes and the payments worker.", [
    row("Checkouts and webhooks"),
    panel("Checkouts by kind and outcome", [q(f"sum by (kind, outcome) (rate(payments_checkouts_total[{RATE}]))", "{{kind}} {{outcome}}")], "ops"),
    panel("Webhooks by provider and outcome", [q(f"sum by (provider, outcome) (rate(payments_webhooks_total[{RATE}]))", "{{provider}} {{outcome}}")], "ops"),
    panel("Webhook signature failures per hour", [q('sum by (provider) (increase(payments_webhooks_total{outcome="signature_invalid"}[1h]))', "{{provider}}")],
          description="A sustained rise means a wrong webhook secret or someone probing the endpoint."),
    panel("Subscription changes per day", [q("sum by (change) (increase(payments_subscription_changes_total[1d]))", "{{change}}")]),
    row("Payments worker"),
    panel("Celery tasks by outcome", [q(f"sum by (task, outcome) (rate(celery_tasks_total[{RATE}]))", "{{task}} {{outcome}}")], "ops"),
    panel("Celery task time p95", [q(p95("celery_task_duration_seconds", "task"), "{{task}}")], "s"),
])

DASHBOARDS = {"overview.json": OVERVIEW, "generation.json": GENERATION, "messaging.json": MESSAGING, "money.json": MONEY}


def render(dashboard: dict) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    DASHBOARDS_DIR.mkdir(parents=True, exist_ok=True)
    for name, dashboard in DASHBOARDS.items():
        (DASHBOARDS_DIR / name).write_text(render(dashboard))


if __name__ == "__main__":
    main()
