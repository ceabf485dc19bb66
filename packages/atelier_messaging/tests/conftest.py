import threading
import uuid

import pika
import psycopg
import pytest

from atelier_contracts import make_envelope


@pytest.fixture(scope="session")
def env():
    from atelier_devkit.testing import provision_for_process

    return provision_for_process("msg")


@pytest.fixture(scope="session")
def database_url(env):
    """A service role on a fresh database, with the messaging tables and one effect table."""
    from atelier_messaging.schema import ddl

    url = env["PRE_INFERENCE_DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in ddl():
            conn.execute(statement)
        conn.execute("CREATE TABLE IF NOT EXISTS effects (message_id uuid, note text)")
    return url


@pytest.fixture()
def clean_db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE outbox, inbox, effects")
    return database_url


@pytest.fixture(scope="session")
def amqp_url(env):
    return env["ATELIER_AMQP_URL"]


@pytest.fixture()
def channel(amqp_url):
    from atelier_messaging.topology import declare_topology

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = connection.channel()
    declare_topology(ch)
    for queue in ("payments.events", "payments.events.dead", "payments.events.retry", "inference.jobs"):
        ch.queue_purge(queue)
    yield ch
    connection.close()


def registered(**overrides):
    data = {
        "user_id": str(uuid.uuid4()),
        "email": "ada@example.com",
        "tier": "free",
        "verified": False,
        "registered_at": "2026-11-23T17:00:00Z",
    }
    data.update(overrides)
    return make_envelope("auth.user.registered", 1, data, producer="auth", correlation_id="corr-1")


def get_all(channel, queue, expect, timeout_s=10.0):
    """Collect ``expect`` messages from ``queue`` (acking them) within the timeout."""
    import time

    found = []
    deadline = time.monotonic() + timeout_s
    while len(found) < expect and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.05)
            continue
        found.append((properties, body))
    return found


class RelayThread:
    def __init__(self, database_url, amqp_url):
        from atelier_messaging.relay import Relay

        self.relay = Relay(database_url, amqp_url, "test", poll_interval_s=0.5)
        self.thread = threading.Thread(target=self.relay.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.relay.stop()
        self.thread.join(timeout=10)


@pytest.fixture()
def relay_factory(database_url, amqp_url):
    return lambda: RelayThread(database_url, amqp_url)

