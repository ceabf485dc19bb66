"""Per-run resources for tests: a database with its own roles, a RabbitMQ vhost and a
Redis key prefix, all named after one random run id so parallel runs never collide.

Test settings call ``provision_for_process()``: the first process of a run provisions
and exports the environment; child processes (services started by end-to-end tests)
inherit it and reuse the same resources. The provisioning process tears them down at exit.
"""
from __future__ import annotations

import atexit
import os
import secrets

from . import SCHEMA_SERVICES
from .postgres import bootstrap, destroy, service_dsn
from .rabbitmq import delete_vhost, ensure_vhost

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def provision(hint: str = "t") -> dict[str, str]:
    run_id = f"atl_{hint}_{secrets.token_hex(4)}"
    admin_dsn = os.environ.get("ATELIER_PG_ADMIN_DSN", DEFAULT_ADMIN_DSN)
    host = os.environ.get("ATELIER_PG_HOST", "127.0.0.1")
    port = int(os.environ.get("ATELIER_PG_PORT", "5432"))
    passwords = {s: secrets.token_hex(16) for s in SCHEMA_SERVICES}
    bootstrap(admin_dsn, run_id, run_id, passwords)
    ensure_vhost(run_id)
    env = {
        "ATELIER_ENV": "test",
        "ATELIER_RUN_ID": run_id,
        "ATELIER_PG_ADMIN_DSN": admin_dsn,
        "ATELIER_AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{run_id}",
        "ATELIER_REDIS_URL": os.environ.get("ATELIER_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "ATELIER_REDIS_PREFIX": f"{run_id}:",
    }
    for service in SCHEMA_SERVICES:
        env[f"{service.upper()}_DATABASE_URL"] = service_dsn(host, port, run_id, run_id, service, passwords[service])
    return env


def teardown(env: dict[str, str]) -> None:
    run_id = env["ATELIER_RUN_ID"]
    destroy(env["ATELIER_PG_ADMIN_DSN"], run_id, run_id)
    delete_vhost(run_id)
    try:
        import redis

        client = redis.Redis.from_url(env["ATELIER_REDIS_URL"], socket_timeout=5)
        keys = list(client.scan_iter(match=f"{env['ATELIER_REDIS_PREFIX']}*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception:  # noqa: BLE001 - cleanup is best effort; the keys carry the run id
        pass


def provision_for_process(hint: str = "t") -> dict[str, str]:
    """Provision once per test run and export the result to this process's environment."""
    if os.environ.get("ATELIER_RUN_ID"):
        return dict(os.environ)
    env = provision(hint)
    os.environ.update(env)
    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and teardown(env))
    return env
