"""A compose stack beside any other: infra/compose/stack.sh under a project, port and folder of
its own, inspected with the container engine. The deploy tier and bench/cold_start.py use it."""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STACK_SH = ROOT / "infra" / "compose" / "stack.sh"
ENGINE = os.environ.get("ENGINE", "podman")
PROJECT = "atelier-deploy-test"
# The Atelier processes that run for good; the one-shots (migrations, bucket, model) end.
LONG_RUNNING = ["gateway", "auth", "auth-relay", "auth-consumer", "auth-worker", "auth-beat",
                "payments", "payments-relay", "payments-consumer", "payments-worker", "payments-beat",
                "pre-inference", "pre-inference-relay", "pre-inference-consumer", "inference"]
ONE_SHOTS = ["migrate-auth", "migrate-payments", "migrate-pre-inference", "storage-setup", "model-setup"]
ENGINES = ["postgres", "rabbitmq", "redis", "s3"]


@dataclass
class Stack:
    port: int
    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    project: str = PROJECT

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mail_dir(self) -> Path:
        return self.directory / "mail"

    def script(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([str(STACK_SH), *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def engine(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([ENGINE, *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "CONTAINERS_CONF": str(ROOT / "var" / "build" / "containers.conf")})

    def container(self, service: str) -> str:
        """The name of the service's container (compose names it <project>_<service>_1)."""
        found = self.engine("ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}",
                            "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}")
        names = found.stdout.split()
        assert names, f"no container for {service}: {found.stderr}"
        return names[0]

    def inspect(self, service: str) -> dict:
        result = self.engine("inspect", self.container(service))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)[0]

    def logs(self, service: str) -> str:
        """The container's own output (stdout and stderr: the services log JSON lines to stderr)."""
        result = self.engine("logs", self.container(service))
        return result.stdout + result.stderr

    def exec_python(self, service: str, code: str) -> str:
        result = self.engine("exec", self.container(service), "python", "-c", code)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def wait_healthy(self, service: str, timeout: float = 180) -> None:
        """Until the service runs and its own healthcheck passes (asked directly: podman runs
        healthchecks from systemd timers, which a host without systemd never fires)."""
        deadline = time.monotonic() + timeout
        name = self.container(service)
        test = (self.inspect(service)["Config"].get("Healthcheck") or {}).get("Test") or []
        has_check = bool(test) and test[0] != "NONE"  # compose's `disable: true` is NONE
        state: dict = {}
        while time.monotonic() < deadline:
            state = self.inspect(service)["State"]
            if state.get("Running") and (not has_check or self.engine("healthcheck", "run", name).returncode == 0):
                return
            time.sleep(1)
        raise AssertionError(f"{service} not healthy in {timeout}s: {state}")
