"""Integration: the real gunicorn command of the Procfile (config/gunicorn.py, 2 workers):
the multiprocess folder is wiped at start, and /metrics adds up what both workers counted,
whichever worker answers the scrape."""
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration
SERVICE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
REQUESTS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "ATELIER_PROCESS": "api"}
    process = subprocess.Popen(
        [str(GUNICORN), "-c", "config/gunicorn.py", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--timeout", "30"],
        cwd=SERVICE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.2)
        yield base, directory
    finally:
        process.terminate()
        process.wait(timeout=15)


def healthz_count(body: str) -> float:
    match = re.search(r'^atelier_http_requests_total\{method="GET",route="/healthz",service="auth",status="200"\} (\S+)$',
                      body, re.M)
    return float(match.group(1)) if match else 0.0


def test_both_workers_counts_add_up_in_every_scrape(served):
    base, directory = served
    assert not (directory / "counter_1.db").exists()  # wiped at start

    def hit(_):
        # A new connection each time, many at once: the two workers share the load.
        return httpx.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=10).status_code

    def scrape() -> str:
        return httpx.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=10).text

    # What the start-up polls counted (one, or more when a slow first answer timed out on the
    # client and was asked again): the burst below is counted on top of it.
    before = healthz_count(scrape())
    assert before >= 1
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(hit, range(REQUESTS))) == {200}
    pids = {re.sub(r"\D", "", path.name) for path in directory.glob("counter_*.db")}
    assert len(pids) == 2, pids  # both workers counted something
    # Every scrape, whichever worker answers it, sees both workers' counts.
    assert [healthz_count(scrape()) for _ in range(4)] == [before + REQUESTS] * 4
