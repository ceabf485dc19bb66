"""The outbox relay on asyncio (aio-pika publisher with confirms, psycopg's async connection).
Same guarantees as ``atelier_messaging.relay``: committed rows only, in order, claimed with
``FOR UPDATE SKIP LOCKED``, stop at the first failure (its row records the error), wake on
NOTIFY with a polling fallback, and the same metrics and trace spans.

A batch's messages are written to the channel one after another and their confirms awaited
together: the broker sees them in the rows' order (aiormq writes each publish under the
channel's lock, taken first come first served), and the batch costs one wait for confirms
instead of one per message. The rows up to the first failure are marked published; a later row
the broker confirmed anyway stays pending and is sent again (consumers drop a message id they
have seen), so a failure never lets a later row overtake it for good.

    python -m atelier_messaging.aio.relay --database-url-env PRE_INFERENCE_DATABASE_URL --name pre_inference
"""
from __future__ import annotations

import asyncio
import logging
import signal
import time

import psycopg
from atelier_kit import tracing
from atelier_kit.metrics import serve_metrics_from_env

from .. import metrics
from ..publisher import PublishError
from ..relay import BATCH_SIZE, MAX_BACKOFF_S, OBSERVE_EVERY_S, OUTBOX_SCHEMA_SQL, POLL_INTERVAL_S, PRUNE_EVERY_S, RETENTION_DAYS, _relay_span
from ..schema import NOTIFY_CHANNEL
from .publisher import AioPublisher

log = logging.getLogger("atelier.messaging.aio.relay")

CLAIM_SQL = ("SELECT id, message_id::text, exchange, routing_key, priority, body FROM outbox "
             "WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED")


async def relay_batch(conn: psycopg.AsyncConnection, publisher: AioPublisher, batch_size: int = BATCH_SIZE, *,
                      service: str | None = None) -> int:
    """Publish one batch of pending rows; returns how many were confirmed (as relay.relay_batch)."""
    published: list[int] = []
    published_to: dict[str, int] = {}
    started = time.perf_counter()
    failure: tuple[int, str] | None = None
    async with conn.transaction():
        rows = await (await conn.execute(CLAIM_SQL, (batch_size,))).fetchall()
        outcomes: list[BaseException | None] = []
        if rows:
            try:
                await publisher.open()  # once, before the publishes: they must not each connect
            except PublishError as exc:
                outcomes = [exc]  # the first row records why
            else:
                # Tasks start in creation order, so the publishes reach the channel's lock in row order.
                sends = [asyncio.ensure_future(_publish_row(publisher, *row[1:])) for row in rows]
                outcomes = await asyncio.gather(*sends, return_exceptions=True)
        for (row_id, _message_id, exchange, *_rest), outcome in zip(rows, outcomes):
            if isinstance(outcome, PublishError):
                failure = (row_id, str(outcome))
                break
            if isinstance(outcome, BaseException):
                raise outcome  # not the broker's answer (cancelled, a bug): roll back, send again later
            published.append(row_id)
            published_to[exchange] = published_to.get(exchange, 0) + 1
        if service is not None and rows:
            metrics.RELAY_PUBLISH_DURATION.labels(service=service).observe(time.perf_counter() - started)
        if published:
            await conn.execute("UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(%s)", (published,))
        if failure:
            await conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = %s", (failure[1], failure[0]))
    if service is not None:
        for exchange, count in published_to.items():
            metrics.RELAY_PUBLISHED.labels(service=service, exchange=exchange).inc(count)
    if failure:
        raise PublishError(failure[1])
    return len(published)


async def _publish_row(publisher: AioPublisher, message_id: str, exchange: str, routing_key: str,
                       priority: int | None, body: str) -> None:
    with _relay_span(routing_key, message_id, body):
        await publisher.publish_raw(body.encode(), exchange=exchange, routing_key=routing_key,
                                    message_id=message_id, priority=priority)


async def prune(conn: psycopg.AsyncConnection, retention_days: int = RETENTION_DAYS) -> None:
    async with conn.transaction():
        await conn.execute("DELETE FROM outbox WHERE published_at < now() - make_interval(days => %s)", (retention_days,))
        await conn.execute("DELETE FROM inbox WHERE handled_at < now() - make_interval(days => %s)", (retention_days,))


async def observe_outbox(service: str, conn: psycopg.AsyncConnection) -> None:
    """The outbox gauges (as metrics.observe_outbox), on the relay's own connection: once per
    poll cycle, so it must not cost a new connection each time."""
    backlog, oldest_age_s = await (await conn.execute(metrics.OUTBOX_STATS_SQL)).fetchone()
    metrics.OUTBOX_BACKLOG.labels(service=service).set(backlog)
    metrics.OUTBOX_OLDEST_AGE.labels(service=service).set(float(oldest_age_s))


class AioRelay:
    def __init__(self, database_url: str, amqp_url: str, name: str, *, poll_interval_s: float = POLL_INTERVAL_S):
        self.database_url = database_url
        self.amqp_url = amqp_url
        self.name = name
        self.poll_interval_s = poll_interval_s
        self.stopping = asyncio.Event()
        metrics.init_relay(name)

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def run(self) -> None:
        backoff = 0.5
        last_prune = 0.0
        publisher = AioPublisher(self.amqp_url)
        try:
            while not self.stopping.is_set():
                try:
                    async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True, connect_timeout=5) as listener, \
                            await psycopg.AsyncConnection.connect(self.database_url, autocommit=True, connect_timeout=5) as worker:
                        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                        schema = await outbox_schema(listener)
                        log.info("relay %s: listening for %s's outbox", self.name, schema)
                        last_observed = 0.0
                        while not self.stopping.is_set():
                            sent = await relay_batch(worker, publisher, service=self.name)
                            backoff = 0.5
                            if sent:
                                log.info("relay %s: published %d", self.name, sent)
                            if sent == BATCH_SIZE:
                                continue
                            # When the backlog is drained (or stuck), at most once a second.
                            if time.monotonic() - last_observed >= OBSERVE_EVERY_S:
                                await observe_outbox(self.name, worker)
                                last_observed = time.monotonic()
                            if time.monotonic() - last_prune > PRUNE_EVERY_S:
                                await prune(worker)
                                last_prune = time.monotonic()
                            await self._wait_for_notice(listener, schema)
                except (PublishError, psycopg.Error, OSError) as exc:
                    log.warning("relay %s: %s; retrying in %.1fs", self.name, exc, backoff)
                    await publisher.close()
                    await asyncio.to_thread(self._observe_outbox_quietly)
                    await self._wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            await publisher.close()

    async def _wait_for_notice(self, listener: psycopg.AsyncConnection, schema: str) -> bool:
        """Until a commit to this schema's outbox notifies (True) or the poll interval ends
        (False), in slices of at most a second so that stop() is seen promptly. Every
        service's trigger notifies the same channel, naming its schema (see ..relay)."""
        deadline = time.monotonic() + self.poll_interval_s
        while not self.stopping.is_set() and (remaining := deadline - time.monotonic()) > 0:
            async for notice in listener.notifies(timeout=min(remaining, 1.0), stop_after=1):
                if notice.payload in (schema, ""):
                    return True
        return False

    def _observe_outbox_quietly(self) -> None:
        try:
            with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
                metrics.observe_outbox(self.name, conn)
        except psycopg.Error:
            pass  # the database is away too; the warning already says the relay is stuck

    def stop(self) -> None:
        self.stopping.set()


async def outbox_schema(conn: psycopg.AsyncConnection) -> str:
    return (await (await conn.execute(OUTBOX_SCHEMA_SQL)).fetchone())[0]


async def _run_until_signalled(relay: AioRelay) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, relay.stop)
    await relay.run()


def main() -> None:
    from ..relay import start_relay_process

    args, database_url = start_relay_process("Publish a service's outbox to RabbitMQ (asyncio)")
    relay = AioRelay(database_url, args.amqp_url, args.name)
    serve_metrics_from_env()
    try:
        asyncio.run(_run_until_signalled(relay))
    finally:
        tracing.shutdown_tracing()


if __name__ == "__main__":
    main()
