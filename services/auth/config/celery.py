"""The auth Celery app: outgoing e-mail (accounts.tasks).

    celery -A config worker -Q auth
"""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("auth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["accounts"])
