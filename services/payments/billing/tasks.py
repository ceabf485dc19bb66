"""Periodic lifecycle tasks (celery beat). Safe to run twice or concurrently: each
subscription is locked with SKIP LOCKED and its state re-checked in the query."""
from __future__ import annotations

from celery import shared_task

from . import subscriptions


@shared_task(acks_late=True)
def renew_due_subscriptions() -> int:
    return subscriptions.renew_due()


@shared_task(acks_late=True)
def expire_subscriptions() -> int:
    subscriptions.expire_stale_checkouts()
    return subscriptions.expire_due()
