"""Publishes committed outbox rows, in order, with broker confirms.

Wakes on NOTIFY (sent at commit by the outbox trigger) and polls as a fallback, so a
message committed while the relay or the broker was down goes out once both are back.
Rows are claimed with ``FOR UPDATE SKIP LOCKED``: several relays may run side by side.
Delivery is at least once (a crash between confirm and commit republishes); consumers
de-duplicate by message id.

    python -m atelier_messaging.relay --database-url-env AUTH_DATABASE_URL --name auth

The URL is read from the named variable, not the command line, so its password never
shows in the process list.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time

from atelier_kit import tracing
from atelier_kit.defaults import DEV_AMQP_URL
from atelier_kit.metrics import serve_metrics_from_env
import pika
import psycopg

from . import metrics
from .publisher import Publisher, PublishError
from .schema import NOTIFY_CHANNEL

log = logging.getLogger("atelier.messaging.relay")

BATCH_SIZE = 100
POLL_INTERVAL_S = 2.0
MAX_BACKOFF_S = 15.0
RETENTION_DAYS = 7
PRUNE_EVERY_S = 3600.0
# The backlog gauges' query runs at most this often: under load the relay loops once per
# commit, and a query per loop would double its statements.
OBSERVE_EVERY_S = 1.0


def _relay_span(routing_key: str, message_id: str, body: str):
    """A span in the trace of the request that wrote the row (its envelope carries it); the
    body is parsed only when tracing is on, and published unchanged either way."""
    if not tracing.enabled():
        return tracing.start_span("")
    try:
        traceparent = (json.loads(body).get("trace") or {}).get("traceparent")
    except (ValueError, AttributeError):
        traceparent = None
    return tracing.start_span(f"relay {routing_key}", kind="producer", traceparent=traceparent,
                              attributes={"messaging.system": "rabbitmq", "messaging.message.id": message_id})


def relay_batch(conn: psycopg.Connection, publisher: Publisher, batch_size: int = BATCH_SIZE, *,
                service: str | None = None) -> int:
    """Publish one batch of pending rows; returns how many were confirmed.

    Stops at the first failure so that order is kept; the failed row records the error.
    With ``service``, the confirmed messages and the batch's publish time are counted.
    """
    published: list[int] = []
    published_to: dict[str, int] = {}
    started = time.perf_counter()
    with conn.transaction():
        rows = conn.execute(
            "SELECT id, message_id::text, exchange, routing_key, priority, body FROM outbox "
            "WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (batch_size,),
        ).fetchall()
        failure: tuple[int, str] | None = None
        for row_id, message_id, exchange, routing_key, priority, body in rows:
            properties = pika.BasicProperties(
                message_id=message_id,
                type=routing_key,
                content_type="application/json",
                delivery_mode=pika.DeliveryMode.Persistent,
                timestamp=int(time.time()),
                priority=priority,
            )
            try:
                with _relay_span(routing_key, message_id, body):
                    publisher.publish_raw(body.encode(), exchange=exchange, routing_key=routing_key, properties=properties)
            except PublishError as exc:
                failure = (row_id, str(exc))
                break
            published.append(row_id)
            published_to[exchange] = published_to.get(exchange, 0) + 1
        if service is not None and rows:
            metrics.RELAY_PUBLISH_DURATION.labels(service=service).observe(time.perf_counter() - started)
        if published:
            conn.execute("UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(%s)", (published,))
        if failure:
            conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = %s", (failure[1], failure[0]))
    if service is not None:
        # Counted once the rows are marked published (the transaction above committed).
        for exchange, count in published_to.items():
            metrics.RELAY_PUBLISHED.labels(service=service, exchange=exchange).inc(count)
    if failure:
        raise PublishError(failure[1])
    return len(published)


# The schema of the very table the relay's statements name (the role's search path finds it).
OUTBOX_SCHEMA_SQL = "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'outbox'::regclass"


def outbox_schema(conn: psycopg.Connection) -> str:
    """The schema whose outbox this relay drains: its trigger's notices name it."""
    return conn.execute(OUTBOX_SCHEMA_SQL).fetchone()[0]


def wait_for_notice(listener: psycopg.Connection, schema: str, timeout_s: float) -> bool:
    """Until a commit to this schema's outbox notifies (True) or ``timeout_s`` passes (False).

    Every service's outbox trigger notifies the same channel, naming its schema; a relay
    woken by the others' commits would query its own outbox for nothing on each of them."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        for notice in listener.notifies(timeout=remaining, stop_after=1):
            if notice.payload in (schema, ""):
                return True
    return False


def prune(conn: psycopg.Connection, retention_days: int = RETENTION_DAYS) -> None:
    with conn.transaction():
        conn.execute("DELETE FROM outbox WHERE published_at < now() - make_interval(days => %s)", (retention_days,))
        conn.execute("DELETE FROM inbox WHERE handled_at < now() - make_interval(days => %s)", (retention_days,))


class Relay:
    def __init__(self, database_url: str, amqp_url: str, name: str, *, poll_interval_s: float = POLL_INTERVAL_S):
        self.database_url = database_url
        self.amqp_url = amqp_url
        self.name = name
        self.poll_interval_s = poll_interval_s
        self.stopping = threading.Event()
        metrics.init_relay(name)

    def run(self) -> None:
        backoff = 0.5
        last_prune = 0.0
        publisher = Publisher(self.amqp_url)
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as listener, \
                        psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as worker:
                    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    schema = outbox_schema(listener)
                    log.info("relay %s: listening for %s's outbox", self.name, schema)
                    last_observed = 0.0
                    while not self.stopping.is_set():
                        sent = relay_batch(worker, publisher, service=self.name)
                        backoff = 0.5
                        if sent:
                            log.info("relay %s: published %d", self.name, sent)
                        if sent == BATCH_SIZE:
                            continue
                        # When the backlog is drained (or stuck), at most once a second.
                        if time.monotonic() - last_observed >= OBSERVE_EVERY_S:
                            metrics.observe_outbox(self.name, worker)
                            last_observed = time.monotonic()
                        if time.monotonic() - last_prune > PRUNE_EVERY_S:
                            prune(worker)
                            last_prune = time.monotonic()
                        wait_for_notice(listener, schema, self.poll_interval_s)
                        publisher.keepalive()
            except (PublishError, psycopg.Error, OSError) as exc:
                log.warning("relay %s: %s; retrying in %.1fs", self.name, exc, backoff)
                publisher.close()
                self._observe_outbox_quietly()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        publisher.close()

    def _observe_outbox_quietly(self) -> None:
        """While the broker is away the backlog grows: that is when its gauges matter most."""
        try:
            with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
                metrics.observe_outbox(self.name, conn)
        except psycopg.Error:
            pass  # the database is away too; the warning above already says the relay is stuck

    def stop(self) -> None:
        self.stopping.set()


def start_relay_process(description: str) -> tuple[argparse.Namespace, str]:
    """What both relay entry points (blocking and asyncio) do before they run: read the
    arguments, set up logging and tracing, and find the database URL."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url-env", required=True, help="name of the variable holding the database URL")
    parser.add_argument("--name", required=True)
    parser.add_argument("--amqp-url", default=os.environ.get("ATELIER_AMQP_URL", DEV_AMQP_URL))
    args = parser.parse_args()
    from .logs import configure_logging

    configure_logging(args.name, "relay")
    tracing.setup_tracing(args.name, "relay")
    database_url = os.environ.get(args.database_url_env)
    if not database_url:
        parser.error(f"{args.database_url_env} is not set")
    return args, database_url


def main() -> None:
    args, database_url = start_relay_process("Publish a service's outbox to RabbitMQ")
    relay = Relay(database_url, args.amqp_url, args.name)
    serve_metrics_from_env()
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    try:
        relay.run()
    finally:
        tracing.shutdown_tracing()  # flush the last spans


if __name__ == "__main__":
    main()
