"""The metrics endpoint of a process without HTTP of its own listens where it is told: loopback
by default, the container's address when a scraper in another container needs it."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

SERVE = """
import sys, time
from atelier_kit.metrics import serve_metrics_from_env
assert serve_metrics_from_env({"ATELIER_METRICS_PORT": sys.argv[1], **({"ATELIER_METRICS_HOST": sys.argv[2]} if len(sys.argv) > 2 else {})})
time.sleep(30)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _serving(*args: str):
    process = subprocess.Popen([sys.executable, "-c", SERVE, *args])
    time.sleep(0.1)
    return process


def _wait(host: str, port: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _answers(host, port):
            return True
        time.sleep(0.1)
    return False


def test_loopback_by_default_and_elsewhere_when_told():
    port = _free_port()
    process = _serving(str(port))
    try:
        assert _wait("127.0.0.1", port)
        assert not _answers("127.0.0.2", port)
    finally:
        process.kill()
    port = _free_port()
    process = _serving(str(port), "127.0.0.2")
    try:
        assert _wait("127.0.0.2", port)
        assert not _answers("127.0.0.1", port)
    finally:
        process.kill()
