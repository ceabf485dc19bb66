"""Prometheus metrics of payments' domain (infra/monitoring/catalogue.toml).

Counted on commit: a change that rolls back (a lost race, a failing provider call) never
happened, and a counter must not say it did. Every known label value is created at import,
so the series exist at 0 from the first scrape (under gunicorn's multiprocess mode a series
that was never touched is not exported at all)."""
from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter

CHECKOUTS = Counter("payments_checkouts_total", "Checkouts started (kind: plan, credits; outcome: started, refused)",
                    ["kind", "outcome"])
WEBHOOKS = Counter("payments_webhooks_total",
                   "Webhooks by outcome: applied, duplicate, signature_invalid, invalid, ignored, not_ready (a 409 the provider retries)",
                   ["provider", "outcome"])
SUBSCRIPTION_CHANGES = Counter("payments_subscription_changes_total",
                               "activated, renewed, past_due, canceled, expired, refunded", ["change"])

CHECKOUT_KINDS = ("plan", "credits")
CHECKOUT_OUTCOMES = ("started", "refused")
PROVIDERS = ("sandbox", "stripe")
WEBHOOK_OUTCOMES = ("applied", "duplicate", "signature_invalid", "invalid", "ignored", "not_ready")
SUBSCRIPTION_CHANGE_KINDS = ("activated", "renewed", "past_due", "canceled", "expired", "refunded")

for _kind in CHECKOUT_KINDS:
    for _outcome in CHECKOUT_OUTCOMES:
        CHECKOUTS.labels(_kind, _outcome)
for _provider in PROVIDERS:
    for _outcome in WEBHOOK_OUTCOMES:
        WEBHOOKS.labels(_provider, _outcome)
for _change in SUBSCRIPTION_CHANGE_KINDS:
    SUBSCRIPTION_CHANGES.labels(_change)


def count_checkout(kind: str, outcome: str) -> None:
    CHECKOUTS.labels(kind, outcome).inc()


def webhook_outcome(applied: str) -> str:
    """apply_event's free-text outcome -> the catalogue's bounded value."""
    if applied == "duplicate":
        return "duplicate"
    return "ignored" if applied.startswith("ignored") else "applied"


def webhook_refusal(code: str) -> str:
    """A refused delivery's error code -> outcome."""
    return "signature_invalid" if code.startswith("signature_") else "invalid"


def count_webhook(provider: str, outcome: str) -> None:
    WEBHOOKS.labels(provider if provider in PROVIDERS else "unknown", outcome).inc()


def count_subscription_change(change: str) -> None:
    transaction.on_commit(lambda: SUBSCRIPTION_CHANGES.labels(change).inc())
