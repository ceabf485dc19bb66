"""Processes of a bench run besides the platform: bench/yardstick.py started on a port and a
Redis prefix of its own, and a teardown a second Ctrl-C cannot cut short."""
from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from atelier_devkit.platform import free_port

BENCH = Path(__file__).resolve().parent
REDIS_TIMEOUT_S = 5


@contextmanager
def cleanup_uninterrupted() -> Iterator[None]:
    """A second Ctrl-C must not cut the teardown short and leave a database or vhost behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class Yardstick:
    base_url: str
    process: psutil.Process


def delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wait_until_listening(port: int, process: subprocess.Popen, wait_s: float = 30) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the yardstick exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the yardstick did not listen within {wait_s:.0f} s")


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running_yardstick(redis_url: str) -> Iterator[Yardstick]:
    """bench/yardstick.py on a port and Redis prefix of its own; stopped and its keys deleted after."""
    prefix = f"bench_yardstick_{secrets.token_hex(4)}:"
    port = free_port()
    # A session of its own: Ctrl-C reaches this script, which stops it in order.
    process = subprocess.Popen([sys.executable, BENCH / "yardstick.py", "--port", str(port),
                                "--redis-url", redis_url, "--prefix", prefix], start_new_session=True)
    try:
        wait_until_listening(port, process)
        yield Yardstick(f"http://127.0.0.1:{port}", psutil.Process(process.pid))
    finally:
        with cleanup_uninterrupted():
            try:
                stop_process(process)
            finally:
                delete_keys(redis_url, prefix)
