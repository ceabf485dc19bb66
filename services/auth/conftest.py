"""Shared fixtures. The database is provisioned per run (never a shared one) and used
as it is: the service's role may not CREATE DATABASE, so no ``test_`` copy is made."""
from __future__ import annotations

import environ
import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    from atelier_devkit.testing import provision_for_process
    from django.core.management import call_command
    from django.db import connections

    from django.conf import settings

    provisioned = provision_for_process("auth")
    # Settings were read before provisioning: point the attempt counters at this run's prefix.
    settings.ATELIER_REDIS_URL = provisioned["ATELIER_REDIS_URL"]
    settings.ATELIER_REDIS_PREFIX = provisioned["ATELIER_REDIS_PREFIX"]
    settings.ATELIER_AMQP_URL = provisioned["ATELIER_AMQP_URL"]
    connection = connections["default"]
    # settings.DATABASES["default"] is this very dict, so everything sees the run's database.
    connection.settings_dict.update(environ.Env.db_url_config(provisioned["AUTH_DATABASE_URL"]))
    connection.close()
    with django_db_blocker.unblock():
        call_command("migrate", interactive=False, verbosity=0)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
