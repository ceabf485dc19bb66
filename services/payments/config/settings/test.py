"""Test settings. The run's database and vhost are provisioned by the ``django_db_setup``
fixture (conftest.py) the first time a test needs them, so the unit tier touches no
server; when a parent process already provisioned, its variables are used at once."""
import os

os.environ["ATELIER_ENV"] = "test"
os.environ.setdefault("PAYMENTS_DATABASE_URL", "postgresql://unprovisioned@127.0.0.1:5432/unprovisioned")

from .base import *  # noqa: E402,F403

DEBUG = False
# Nothing listens on the discard port: tests install keys with TokenVerifier.load_keys,
# and a token with an unknown kid must fail rather than reach a real auth service.
ATELIER_JWKS_URL = "http://127.0.0.1:9/jwks.json"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests migrate the provisioned database once; connections are not kept between tests.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Tasks queued by tests go nowhere unless a test delivers them itself (sandbox.services.deliver).
CELERY_BROKER_URL = "memory://"
PAYMENTS_SANDBOX_WEBHOOK_SECRET = "whsec_test_sandbox_secret_for_the_test_suite"
PAYMENTS_STRIPE_WEBHOOK_SECRET = "whsec_test_stripe_secret_for_the_test_suite"
PUBLIC_URL = "http://testserver"
