"""RabbitMQ virtual hosts: one per checkout for `make up` (named in var/dev.env), one per test run.

Exchanges and queues are not made here: each service declares its own topology at
start (atelier_messaging.topology), so a fresh vhost needs nothing but permissions.
"""
from __future__ import annotations

import subprocess
import sys

RABBITMQCTL_TIMEOUT_S = 60


def _ctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=RABBITMQCTL_TIMEOUT_S)


def ensure_vhost(vhost: str, user: str = "guest") -> None:
    result = _ctl("add_vhost", vhost)
    if result.returncode != 0 and "already_exists" not in (result.stderr + result.stdout):
        raise RuntimeError(f"rabbitmqctl add_vhost {vhost}: {result.stderr.strip()}")
    result = _ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl set_permissions {vhost}: {result.stderr.strip()}")


def delete_vhost(vhost: str) -> None:
    _ctl("delete_vhost", vhost)


if __name__ == "__main__":
    ensure_vhost(sys.argv[1] if len(sys.argv) > 1 else "atelier")
    print(f"rabbitmq: vhost {sys.argv[1] if len(sys.argv) > 1 else 'atelier'} ready")
