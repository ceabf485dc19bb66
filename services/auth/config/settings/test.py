"""Test settings: fresh per-run resources, a throwaway signing key and mail folder.

The run's database comes from ``atelier_devkit.testing.provision_for_process()``. When a
parent process already provisioned (end-to-end runs) its AUTH_DATABASE_URL is used at
once; otherwise provisioning happens in the ``django_db_setup`` fixture (conftest.py),
the first time a test asks for the database, so the unit tier touches no server at all.
"""
import os
import tempfile
from pathlib import Path

os.environ["ATELIER_ENV"] = "test"
UNPROVISIONED_DATABASE_URL = "postgresql://unprovisioned@127.0.0.1:5432/unprovisioned"
os.environ.setdefault("AUTH_DATABASE_URL", UNPROVISIONED_DATABASE_URL)

_RUN_DIR = Path(tempfile.mkdtemp(prefix="atelier-auth-test-"))
os.environ.setdefault("AUTH_JWT_PRIVATE_KEY_FILE", str(_RUN_DIR / "jwt-signing-key.pem"))
os.environ.setdefault("ATELIER_MAIL_DIR", str(_RUN_DIR / "mail"))

from .base import *  # noqa: E402,F403

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Password hashing is deliberately slow; tests check behaviour, not the hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Every test sees the database's keys as they are (tests roll back their rotations).
AUTH_SIGNING_KEYS_CACHE_SECONDS = 0
# Mail tasks run in the committing thread (retries at once, without their countdown), so a
# test sees the mail as soon as the on_commit callbacks have run.
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
