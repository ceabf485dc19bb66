"""A private RabbitMQ node for fault-injection tests.

Tests that stop and restart the broker must not touch the machine's shared one (other
runs use it). This starts a second node of the installed rabbitmq-server on free ports
with its own data directory; ``outage()`` stops its AMQP application (every connection
drops, the port closes, durable queues and persistent messages stay on disk) and starts
it again.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

START_TIMEOUT_S = 90
CTL_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateRabbit:
    def __init__(self) -> None:
        self.node = f"atl_{secrets.token_hex(4)}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        # rabbitmq-server drops to the rabbitmq user when started as root: the folder must be its.
        self.dir = Path(tempfile.mkdtemp(prefix="atelier-rabbit-"))
        self.dir.chmod(0o777)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _env(self) -> dict[str, str]:
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }

    def _wait(self, open_: bool, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _port_open(self.port) == open_:
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"private RabbitMQ exited; see {self.dir / 'server.log'}")
            time.sleep(0.2)
        raise TimeoutError(f"private RabbitMQ port {self.port} not {'open' if open_ else 'closed'} after {timeout_s}s")

    def _ctl(self, *args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", "-n", self.node, *args], check=True, capture_output=True, timeout=CTL_TIMEOUT_S)

    def start(self) -> "PrivateRabbit":
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 - owned by the child for its lifetime
        self.process = subprocess.Popen(["rabbitmq-server"], env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait(open_=True)
        return self

    def stop_app(self) -> None:
        self._ctl("stop_app")
        self._wait(open_=False, timeout_s=30)

    def start_app(self) -> None:
        self._ctl("start_app")
        self._wait(open_=True, timeout_s=60)

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.stop_app()
        try:
            yield
        finally:
            self.start_app()

    def shutdown(self) -> None:
        try:
            self._ctl("stop")
        except (subprocess.SubprocessError, OSError):
            pass
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_rabbit() -> Iterator[PrivateRabbit]:
    broker = PrivateRabbit().start()
    try:
        yield broker
    finally:
        broker.shutdown()
