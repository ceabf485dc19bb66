"""Cross-service tests start the platform exactly as `make up` does (migrate.sh, then
platform.sh with honcho and the Procfile) on a database, vhost, Redis prefix and ports of
their own, so they never touch a development platform running beside them."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running_platform(provisioned: dict[str, str], *, amqp_url: str | None = None,
                     extra_env: dict[str, str] | None = None) -> Iterator[dict]:
    """Migrate and start every process on the provisioned resources; stop them after."""
    from atelier_devkit.running import running_platform as started

    with started(provisioned, ROOT / "var" / "e2e" / provisioned["ATELIER_RUN_ID"], amqp_url=amqp_url,
                 extra_env=extra_env) as running:
        yield running


def dead_lettered(amqp_url: str) -> dict[str, int]:
    """Messages sitting in any dead-letter queue: each one is an event nobody could handle."""
    import pika

    from atelier_messaging.topology import EVENT_QUEUES, JOBS_QUEUE, dead_queue

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        counts = {}
        for queue in [*EVENT_QUEUES, JOBS_QUEUE]:
            declared = channel.queue_declare(dead_queue(queue), durable=True, passive=True)
            counts[dead_queue(queue)] = declared.method.message_count
        return {queue: count for queue, count in counts.items() if count}
    finally:
        connection.close()


@pytest.fixture(scope="session")
def platform():
    """The platform every e2e test shares. It runs with tracing on, exporting to a span
    collector of the session's own (``platform["spans"]``), so every flow also exercises the
    traced paths, and tests/e2e/test_trace.py can follow one job across every process."""
    from atelier_devkit.otlp import SpanCollector
    from atelier_devkit.testing import provision_for_process

    with SpanCollector() as spans:
        # Exported in batches every 200 ms instead of every 5 s, so a test sees its spans soon.
        tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": spans.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
        with running_platform(provision_for_process("e2e"), extra_env=tracing) as running:
            yield {**running, "spans": spans}
            # Every flow the tests drove must have been handled: nothing may be dead-lettered.
            assert dead_lettered(running["env"]["ATELIER_AMQP_URL"]) == {}


@pytest.fixture(scope="module")
def platform_with_private_broker():
    """A second platform whose RabbitMQ the test may stop and start (``broker.outage()``)."""
    from atelier_devkit.brokers import private_rabbit
    from atelier_devkit.testing import provision, teardown

    provisioned = provision("e2eb")
    try:
        with private_rabbit() as broker, running_platform(provisioned, amqp_url=broker.url) as running:
            yield {**running, "broker": broker}
    finally:
        teardown(provisioned)


@pytest.fixture(scope="module")
def platform_on_s3():
    """A platform whose every process keeps files in one S3 bucket (moto's S3 API server on
    loopback) instead of a shared folder: ``platform["bucket"]`` is that bucket."""
    from atelier_devkit.s3 import s3_server
    from atelier_devkit.testing import provision, teardown
    from atelier_storage import S3Storage

    with s3_server() as endpoint:
        env = {"ATELIER_STORAGE_BACKEND": "s3", "ATELIER_S3_BUCKET": f"atelier-e2e-{uuid.uuid4().hex[:8]}",
               "ATELIER_S3_ENDPOINT_URL": endpoint, "ATELIER_S3_REGION": "us-east-1",
               "ATELIER_S3_ACCESS_KEY_ID": "e2e", "ATELIER_S3_SECRET_ACCESS_KEY": "e2e-secret", "ATELIER_S3_PREFIX": "atelier/"}
        bucket = S3Storage.from_env(env)
        bucket.client.create_bucket(Bucket=bucket.bucket)
        provisioned = provision("e2es")
        try:
            with running_platform(provisioned, extra_env=env) as running:
                yield {**running, "bucket": bucket}
        finally:
            teardown(provisioned)


FUZZ_REPORT = ROOT / "test-results" / "fuzz-openapi.json"


def pytest_sessionstart(session):
    FUZZ_REPORT.unlink(missing_ok=True)  # only this run's figures are printed below


def pytest_terminal_summary(terminalreporter):
    """The fuzzing's counts, where this run made them (tests/security/test_fuzz_openapi.py)."""
    import json

    report = FUZZ_REPORT
    if report.is_file():
        figures = json.loads(report.read_text())
        terminalreporter.write_line(
            f"fuzzing: {figures['requests']} requests over {figures['routes']} routes "
            f"({figures['operations']} operations) in {figures['seconds']} s, 5xx = {figures['server_errors']}")
