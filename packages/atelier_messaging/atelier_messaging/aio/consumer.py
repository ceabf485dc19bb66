"""The asyncio consumer: the semantics of ``atelier_messaging.consumer.Consumer`` over aio-pika.

The decisions (contract, handler, retry delay or dead letter, run size) come from
``atelier_messaging.rules``, and the transactional part (inbox claim, handler, trace span,
metrics) is the blocking face's own code, run in a worker thread: units of work and
handlers are synchronous (SQLAlchemy ``Session``, Django), and sharing them is what keeps
the two faces from drifting apart. Only the transport differs: acks, rejects and retry
copies (published with confirms before the original is acked) go through aio-pika.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import aio_pika

from atelier_kit.metrics import serve_metrics_from_env

from .. import metrics, rules
from ..consumer import Consumer, Handler, PermanentError, UnitOfWork
from ..topology import dead_queue, retry_queue
from .connection import CONNECTION_ERRORS, connect, declare, is_lost

log = logging.getLogger("atelier.messaging.aio.consumer")

IDLE_TICK_S = 1.0


class AioConsumer:
    def __init__(self, *, queue: str, handlers: dict[str, Handler], unit_of_work: UnitOfWork, **options: Any):
        # The blocking consumer is the shared core: same metrics initialisation, same
        # _apply (inbox + span), same _committed accounting.
        self.core = Consumer(queue=queue, handlers=handlers, unit_of_work=unit_of_work, **options)
        self.queue = queue
        self.stopping = asyncio.Event()
        self._next_poll = 0.0

    # -- handling messages -----------------------------------------------------------
    async def _refuse(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.reject(requeue=False)
        self.core._count("dead_lettered")

    async def _accept(self, message: aio_pika.abc.AbstractIncomingMessage) -> rules.Accepted | None:
        decision = rules.accept(message.body, self.core.handlers, self.queue)
        if isinstance(decision, rules.Refused):
            extra = {} if decision.envelope is None else {
                "message_id": decision.envelope.id, "correlation_id": decision.envelope.correlation_id}
            log.error("dead-lettering %s", decision.reason, extra=extra)
            await self._refuse(message)
            return None
        return decision

    def _apply_run(self, accepted: list[rules.Accepted]) -> list[tuple[Any, bool]]:
        with self.core.unit_of_work.begin() as tx:
            return [(a.envelope, self.core._apply(tx, a.envelope, a.handler)) for a in accepted]

    async def handle_batch(self, channel: aio_pika.abc.AbstractChannel,
                           messages: list[aio_pika.abc.AbstractIncomingMessage]) -> None:
        """Several messages in one transaction; on any failure, one by one (as the blocking face)."""
        accepted: list[tuple[aio_pika.abc.AbstractIncomingMessage, rules.Accepted]] = []
        for message in messages:
            found = await self._accept(message)
            if found is not None:
                accepted.append((message, found))
        if len(accepted) == 1:
            await self._handle_one(channel, *accepted[0])
            return
        if not accepted:
            return
        try:
            applied = await asyncio.to_thread(self._apply_run, [a for _m, a in accepted])
        except Exception as exc:  # noqa: BLE001 - sorted out message by message below
            log.info("a run of %d messages failed (%r); handling them one by one", len(accepted), exc)
            for message, found in accepted:
                await self._handle_one(channel, message, found)
            return
        self.core._committed(applied)
        for message, _found in accepted:
            await message.ack()

    async def _handle_one(self, channel: aio_pika.abc.AbstractChannel,
                          message: aio_pika.abc.AbstractIncomingMessage, found: rules.Accepted) -> None:
        envelope = found.envelope
        extra = {"message_id": envelope.id, "correlation_id": envelope.correlation_id}
        try:
            applied = await asyncio.to_thread(self._apply_run, [found])
        except PermanentError as exc:
            log.error("permanent failure on %s: %s; dead-lettering", envelope.routing_key, exc, extra=extra)
            await self._refuse(message)
            return
        except Exception as exc:  # noqa: BLE001 - anything else is worth retrying
            await self._retry_or_dead_letter(channel, message, exc, extra)
            return
        self.core._committed(applied)
        await message.ack()

    async def _retry_or_dead_letter(self, channel: aio_pika.abc.AbstractChannel,
                                    message: aio_pika.abc.AbstractIncomingMessage, exc: Exception, extra: dict) -> None:
        decision = rules.after_failure(message.headers, max_attempts=self.core.max_attempts,
                                       retry_base_delay_ms=self.core.retry_base_delay_ms)
        if isinstance(decision, rules.DeadLetter):
            log.error("failed %d times (%r); dead-lettering", decision.attempts, exc, extra=extra)
            await self._refuse(message)
            return
        log.warning("attempt %d failed (%r); retrying in %d ms", decision.attempts, exc, decision.delay_ms, extra=extra)
        copy = aio_pika.Message(
            message.body,
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.correlation_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=decision.headers,
            expiration=timedelta(milliseconds=decision.delay_ms),
        )
        # The channel confirms: the copy is safely queued before the original goes.
        await channel.default_exchange.publish(copy, routing_key=retry_queue(self.queue))
        await message.ack()
        self.core._count("retried")

    # -- queue sizes (the same gauges as the blocking face's QueuePoller) -------------
    async def _poll(self, connection: aio_pika.abc.AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_poll:
            return
        self._next_poll = loop.time() + metrics.POLL_INTERVAL_S
        if is_lost(connection):
            # aio-pika answers a closed connection with RuntimeError; the loop reconnects on this.
            raise ConnectionError("broker connection closed")
        try:
            # A channel of its own: a failed passive declare closes the channel it ran on.
            async with connection.channel() as side:
                ready = (await side.declare_queue(self.queue, passive=True)).declaration_result.message_count
                dead = (await side.declare_queue(dead_queue(self.queue), passive=True)).declaration_result.message_count
            metrics.QUEUE_MESSAGES.labels(queue=self.queue).set(ready)
            metrics.DEAD_LETTER_MESSAGES.labels(queue=self.queue).set(dead)
        except aio_pika.exceptions.ChannelClosed as exc:
            log.warning("cannot read the size of %s: %s", self.queue, exc)
        await asyncio.to_thread(self.core.poller._poll_inbox)

    # -- the loop -------------------------------------------------------------------
    async def _open(self, amqp_url: str):
        await declare(amqp_url)
        connection = await connect(amqp_url)
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self.core.prefetch)
        arrived: asyncio.Queue = asyncio.Queue()
        queue = await channel.get_queue(self.queue, ensure=False)
        await queue.consume(arrived.put, no_ack=False)
        return connection, channel, arrived

    def _with_waiting(self, first, arrived: asyncio.Queue) -> list:
        """``first`` and the messages already here behind it (none is waited for)."""
        batch = [first]
        while len(batch) < self.core.batch_size and not arrived.empty():
            batch.append(arrived.get_nowait())
        return batch

    async def _consume(self, amqp_url: str, *, idle_s: float | None = None, timeout_s: float | None = None) -> int:
        """Handles messages until stopped, or (``idle_s``) until none arrives for that long."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        handled = 0
        connection, channel, arrived = await self._open(amqp_url)
        try:
            log.info("consuming %s", self.queue)
            while not self.stopping.is_set():
                if deadline is not None and loop.time() > deadline:
                    break
                try:
                    first = await asyncio.wait_for(arrived.get(), timeout=idle_s or IDLE_TICK_S)
                except asyncio.TimeoutError:
                    if is_lost(connection):
                        raise ConnectionError("broker connection closed")
                    if idle_s is not None:
                        break
                    await self._poll(connection)
                    continue
                batch = self._with_waiting(first, arrived)
                await self.handle_batch(channel, batch)
                handled += len(batch)
                await self._poll(connection)
            if idle_s is not None:
                self._next_poll = 0.0
                await self._poll(connection)
        finally:
            if not connection.is_closed:
                try:
                    await connection.close()
                except CONNECTION_ERRORS:
                    pass
        return handled

    async def run(self, amqp_url: str, *, serve_metrics: bool = True) -> None:
        """Consume until ``stop()``; reconnects with backoff when the broker goes away."""
        if serve_metrics:
            serve_metrics_from_env()
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                await self._consume(amqp_url)
            except CONNECTION_ERRORS as exc:
                log.warning("broker connection lost (%r); reconnecting in %.1fs", exc, backoff)
                try:
                    await asyncio.wait_for(self.stopping.wait(), timeout=backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, 15.0)
            else:
                backoff = 0.5

    async def drain(self, amqp_url: str, *, idle_s: float = 1.0, timeout_s: float = 30.0) -> int:
        """Handle messages until none arrives for ``idle_s`` (tests and one-off jobs)."""
        return await self._consume(amqp_url, idle_s=idle_s, timeout_s=timeout_s)

    def stop(self) -> None:
        self.stopping.set()
