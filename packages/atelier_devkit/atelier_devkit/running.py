"""A whole platform started the way `make up` starts it (migrate.sh, then platform.sh with
honcho and the Procfile), on provisioned resources and free ports of its own, so it never
touches a development platform running beside it. The end-to-end tests and the benches use it."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .platform import ROOT, free_ports, platform_env, write_env_file

# What platform_env takes from a provisioned run (atelier_devkit.testing.provision).
CONNECTION_KEYS = ("ATELIER_PG_ADMIN_DSN", "ATELIER_AMQP_URL", "ATELIER_REDIS_URL", "ATELIER_REDIS_PREFIX")


class PlatformDidNotStart(RuntimeError):
    pass


@contextmanager
def running_platform(provisioned: dict[str, str], run_dir: Path, *, amqp_url: str | None = None,
                     extra_env: dict[str, str] | None = None) -> Iterator[dict]:
    """Migrates and starts every process; yields ``{"base_url", "env", "run_dir"}``; stops them
    after (the provisioned resources are the caller's to tear down)."""
    connections = {k: v for k, v in provisioned.items() if k in CONNECTION_KEYS or k.endswith("_DATABASE_URL")}
    if amqp_url:
        connections["ATELIER_AMQP_URL"] = amqp_url
    ports = free_ports()
    env = {**platform_env(var_dir=run_dir, connections=connections, ports=ports), **(extra_env or {})}
    env_file = run_dir / "platform.env"
    write_env_file(env_file, env)
    subprocess.run([ROOT / "infra/local/migrate.sh", env_file], check=True, timeout=300)
    started = subprocess.run([ROOT / "infra/local/platform.sh", "start", env_file], timeout=400)
    try:
        if started.returncode != 0:
            raise PlatformDidNotStart(f"the platform did not start; see {run_dir / 'platform.log'}")
        yield {"base_url": f"http://127.0.0.1:{ports['GATEWAY_PORT']}", "env": env, "run_dir": run_dir}
    finally:
        subprocess.run([ROOT / "infra/local/platform.sh", "stop", env_file], timeout=60)
