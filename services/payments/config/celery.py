"""The payments Celery app: webhook delivery (sandbox provider), renewals and expiry.

    celery -A config worker -Q payments     # tasks
    celery -A config beat                   # the periodic schedule in settings
"""
from __future__ import annotations

import os

from atelier_kit import metrics_celery
from celery import Celery

# First, before Django's apps (and with them prometheus_client) are imported.
metrics_celery.prepare_worker_metrics("payments-worker")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("payments")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["billing", "sandbox"])
metrics_celery.install()
