from __future__ import annotations

from pathlib import Path

import pika
import pika.exceptions
import pytest

from atelier_devkit.testing import provision_for_process
from atelier_inference.pipeline import LoadedPipeline, load_pipeline
from atelier_inference.tiny_model import ensure
from atelier_messaging.connection import connect
from atelier_messaging.topology import EVENTS_EXCHANGE, JOBS_QUEUE, dead_queue, declare_topology


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny-sd"
    ensure(out)
    return out


@pytest.fixture(scope="session")
def loaded(tiny_model_dir: Path) -> LoadedPipeline:
    return load_pipeline(str(tiny_model_dir), "cpu")


def job_params(**overrides):
    params = {
        "kind": "txt2img", "prompt": "a lighthouse at dusk", "negative_prompt": "", "width": 64, "height": 64,
        "steps": 2, "guidance": 7.5, "seed": 1234, "scheduler": "default", "n": 1, "model": "default",
    }
    return {**params, **overrides}


# -- broker fixtures (integration tests only; provisioning happens when one asks for them) --
@pytest.fixture(scope="session")
def amqp_url() -> str:
    return provision_for_process("inference")["ATELIER_AMQP_URL"]


@pytest.fixture
def broker(amqp_url):
    """A channel with the topology declared, empty job queues and a queue catching every inference event."""
    connection = connect(amqp_url)
    channel = connection.channel()
    declare_topology(channel)
    channel.queue_purge(JOBS_QUEUE)
    channel.queue_purge(dead_queue(JOBS_QUEUE))
    events = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=events, exchange=EVENTS_EXCHANGE, routing_key="inference.job.#")
    yield connection, channel, events
    try:
        connection.close()
    except pika.exceptions.AMQPError:
        pass  # a test closed it from the broker's side


@pytest.fixture(scope="session")
def tiny_family_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random model of a family (sdxl, sd3, flux), built once per session."""
    built: dict[str, Path] = {}

    def build(family: str) -> Path:
        if family not in built:
            out = tmp_path_factory.mktemp("models") / f"tiny-{family}"
            ensure(out, family=family)
            built[family] = out
        return built[family]

    return build
