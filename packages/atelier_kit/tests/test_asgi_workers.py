"""The launcher picks a worker count for the machine, and with several workers one scrape adds
up every worker's figures (real uvicorn processes)."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from atelier_kit.asgi_workers import default_workers, workers_from_env

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize(("cpus", "workers"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_the_default_leaves_a_small_machine_one_worker(cpus, workers):
    assert default_workers(cpus) == workers


def test_the_variable_wins_and_is_checked():
    assert workers_from_env("W", {"W": "3"}) == 3
    assert workers_from_env("W", {"W": " "}) == default_workers()
    for bad in ("two", "0", "65", "1.5"):
        with pytest.raises(SystemExit):
            workers_from_env("W", {"W": bad})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.integration
def test_two_workers_answer_and_one_scrape_counts_both(tmp_path):
    port = free_port()
    env = {**os.environ, "DEMO_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
           "PYTHONPATH": str(TESTS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "atelier_kit.asgi_workers", "--service", "demo", "--workers-env", "DEMO_WORKERS", "--",
         "asgi_workers_demo:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 60
        answered = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while len(pids) < 2 or answered < 40:
                assert time.monotonic() < deadline, f"saw workers {pids} after {answered} answers"
                try:
                    # A new connection each time, so the kernel spreads them over the workers.
                    pids.add(httpx.get(f"http://127.0.0.1:{port}/pid", timeout=5).text)
                    answered += 1
                except httpx.TransportError:
                    time.sleep(0.1)  # still starting
            text = client.get("/metrics").text
        counted = sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
                      if s.name == "atelier_http_requests_total" and s.labels.get("service") == "demo")
        assert counted == answered  # every worker's requests, whichever worker answered the scrape
        assert str(server.pid) not in pids  # the launcher became uvicorn's supervisor; workers answer
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.integration
def test_one_worker_with_a_named_multiprocess_folder_makes_it(tmp_path):
    """A deployment (the compose stack, Kubernetes) names the folder on a writable /tmp that
    nobody has made yet; one worker must make it rather than fail on its first metric."""
    port = free_port()
    folder = tmp_path / "not-yet" / "prometheus"
    env = {**os.environ, "DEMO_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(TESTS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "atelier_kit.asgi_workers", "--service", "demo", "--workers-env", "DEMO_WORKERS", "--",
         "asgi_workers_demo:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else "exited"
            assert time.monotonic() < deadline, "the worker never answered"
            try:
                httpx.get(f"http://127.0.0.1:{port}/pid", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert folder.is_dir()
        assert "atelier_http_requests_total" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.terminate()
        server.wait(timeout=30)
