"""Worker pools through the whole platform: a second worker joins in its own pool (as a pool of
bigger GPUs would) serving a model nobody else serves; the catalogue lists it, and a partner's
job for it, submitted through the gateway with the partner's client, is sent to that pool's
queue and made by that worker, while the default pool's jobs stay with the default worker."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pika
import pytest

from atelier_client import Atelier
from atelier_devkit.platform import free_port
from atelier_messaging.topology import jobs_queue

from .flows import eventually, verified_user

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
POOL, MODEL = "large", "flux-large"
SMALL = {"width": 128, "height": 128, "steps": 2}


@pytest.fixture(scope="module")
def large_pool(platform, tmp_path_factory):
    """One worker of the pool "large", on the platform's broker and storage, serving the tiny
    FLUX under a name of its own; its log is returned to read which jobs it made."""
    log = tmp_path_factory.mktemp("pool") / "large-worker.log"
    env = {**os.environ, **platform["env"], "ATELIER_POOL": POOL, "ATELIER_MODEL": str(ROOT / "var/models/tiny-flux"),
           "ATELIER_MODEL_NAME": MODEL, "ATELIER_MODELS": "", "ATELIER_WORKER_NAME": "large-e2e",
           "ATELIER_HEARTBEAT_EVERY_S": "2", "ATELIER_METRICS_PORT": str(free_port())}
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "atelier_inference"], cwd=ROOT / "services/inference", env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        yield log
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.fixture(scope="module")
def key(platform) -> str:
    with httpx.Client(base_url=platform["base_url"], timeout=60) as http:
        person = verified_user(http, Path(platform["env"]["ATELIER_MAIL_DIR"]), prefix="pools")
        response = http.post("/api/auth/api-keys", json={"name": "pools"}, headers=person["headers"])
        assert response.status_code == 201, response.text
        return response.json()["secret"]


def test_a_job_for_a_pools_model_is_made_by_that_pools_worker(platform, large_pool, key):
    with Atelier(platform["base_url"], key, timeout=60) as atelier:
        listed = eventually(lambda: [m for m in atelier.models() if m.name == MODEL and m.state == "ready"],
                            f"{MODEL} announced by the pool's worker", timeout=120)
        assert listed[0].limits.negative_prompt is False, "FLUX's limits, from the pool's worker"
        job = atelier.generate("a lighthouse at dusk", model=MODEL, timeout=180, **SMALL)
        assert job.status == "succeeded" and len(job.images) == 1
        plain = atelier.generate("a harbour in fog", timeout=180, **SMALL)
        assert plain.status == "succeeded"
    log = large_pool.read_text()
    assert f"consuming {jobs_queue(POOL)} as large-e2e" in log
    assert job.id in log, "the pool's worker made the pool's job"
    assert plain.id not in log, "the default pool's job stayed with the default worker"
    # Nothing left behind in the pool's queue.
    connection = pika.BlockingConnection(pika.URLParameters(platform["env"]["ATELIER_AMQP_URL"]))
    try:
        assert connection.channel().queue_declare(jobs_queue(POOL), passive=True).method.message_count == 0
    finally:
        connection.close()
