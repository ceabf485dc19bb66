"""Consumers: inbox de-duplication, bounded retries with backoff, dead-lettering.

Each message is handled in a database transaction together with its inbox row, and
acknowledged only after that transaction commits: a crash before the ack redelivers the
message, and the inbox row makes the second delivery a no-op.

Messages that have already arrived when one is taken are handled together, in one
transaction (up to ``batch_size``): a burst (a batch of jobs finishing) then costs one
commit and one round of after-commit notices instead of one per message. If anything in
such a run fails, its transaction rolls back whole and each message is handled again on
its own, so one bad message cannot take the others' effects with it or share their fate.

Failures:
- the body breaks its contract, no handler is registered, or the handler raises
  ``PermanentError``: dead-lettered at once (to ``<queue>.dead``), nothing retried;
- any other exception: a copy goes to ``<queue>.retry`` with an exponential delay and
  flows back; after ``max_attempts`` it is dead-lettered.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager
from typing import Any, Callable, Protocol

import pika
import pika.exceptions

from atelier_contracts import Envelope
from atelier_kit import tracing
from atelier_kit.metrics import serve_metrics_from_env

from . import metrics, rules
from .connection import connect
from .topology import declare_topology, retry_queue

log = logging.getLogger("atelier.messaging.consumer")

ATTEMPTS_HEADER = rules.ATTEMPTS_HEADER
Handler = Callable[[Envelope, Any], None]


class PermanentError(Exception):
    """This message can never be handled; retrying would not help."""


_SKIPS_INBOX = "_atelier_skips_inbox"


def idempotent(handler: Handler) -> Handler:
    """Marks a handler that a second delivery of the same message cannot make act twice (it keeps
    the newest state and ignores what is not newer): its messages skip the inbox, where frequent
    ones (heartbeats) would only add a row each for nothing."""
    setattr(handler, _SKIPS_INBOX, True)
    return handler


class UnitOfWork(Protocol):
    def begin(self) -> AbstractContextManager[Any]: ...

    def claim(self, tx: Any, message_id: str, consumer: str) -> bool:
        """Record the message in the inbox; False when it was handled before."""
        ...


class Consumer:
    def __init__(
        self,
        *,
        queue: str,
        handlers: dict[str, Handler],
        unit_of_work: UnitOfWork,
        name: str | None = None,
        service: str | None = None,
        max_attempts: int = 5,
        retry_base_delay_ms: int = 500,
        prefetch: int = 16,
        batch_size: int = 16,
    ):
        self.queue = queue
        self.handlers = handlers
        self.unit_of_work = unit_of_work
        self.name = name or queue
        self.max_attempts = max_attempts
        self.retry_base_delay_ms = retry_base_delay_ms
        self.prefetch = prefetch
        self.batch_size = rules.batch_limit(batch_size, prefetch)
        self.stopping = threading.Event()
        # The metrics' service label: "<service>.events" names its service.
        self.service = service or queue.split(".", 1)[0]
        metrics.init_consumer(self.service, self.queue)
        self.poller = metrics.QueuePoller(self.service, self.queue, unit_of_work)

    def _count(self, outcome: str, n: int = 1) -> None:
        metrics.count_message(self.service, self.queue, outcome, n)

    def _committed(self, applied: list[tuple[Envelope, bool]]) -> None:
        """Metrics of a committed transaction: handled (with its lag) or duplicate, per message."""
        committed_at = time.time()
        for envelope, claimed in applied:
            if claimed:
                metrics.observe_lag(self.service, self.queue, envelope.occurred_at, committed_at)
        handled = sum(1 for _envelope, claimed in applied if claimed)
        self._count("handled", handled)
        self._count("duplicate", len(applied) - handled)

    # -- handling messages -----------------------------------------------------------
    def _accept(self, channel: Any, method: Any, body: bytes) -> tuple[Envelope, Handler] | None:
        """The message and its handler; None when it was dead-lettered (broken or unhandled)."""
        decision = rules.accept(body, self.handlers, self.queue)
        if isinstance(decision, rules.Refused):
            extra = {} if decision.envelope is None else {
                "message_id": decision.envelope.id, "correlation_id": decision.envelope.correlation_id}
            log.error("dead-lettering %s", decision.reason, extra=extra)
            channel.basic_reject(method.delivery_tag, requeue=False)
            self._count("dead_lettered")
            return None
        envelope, handler = decision.envelope, decision.handler
        return envelope, handler

    def _apply(self, tx: Any, envelope: Envelope, handler: Handler) -> bool:
        """True when handled now, False for a duplicate (handled before)."""
        # The producer's trace continues here: the handler's logs and the messages it makes
        # (their envelopes read the current span) belong to the same trace.
        with tracing.start_span(f"consume {envelope.routing_key}", kind="consumer", traceparent=envelope.traceparent,
                                attributes=self._span_attributes(envelope)):
            return self._claim_and_handle(tx, envelope, handler)

    def _span_attributes(self, envelope: Envelope) -> dict[str, Any] | None:
        if not tracing.enabled():
            return None
        return {"messaging.system": "rabbitmq", "messaging.destination.name": self.queue,
                "messaging.message.id": envelope.id, "atelier.consumer": self.name}

    def _claim_and_handle(self, tx: Any, envelope: Envelope, handler: Handler) -> bool:
        if getattr(handler, _SKIPS_INBOX, False) or self.unit_of_work.claim(tx, envelope.id, self.name):
            handler(envelope, tx)
            return True
        log.info("duplicate %s ignored", envelope.routing_key,
                 extra={"message_id": envelope.id, "correlation_id": envelope.correlation_id})
        return False

    def handle_batch(self, channel: Any, deliveries: list[tuple[Any, pika.BasicProperties, bytes]]) -> None:
        """Several delivered messages in one transaction; on any failure, one by one."""
        if len(deliveries) == 1:
            self.handle(channel, *deliveries[0])
            return
        accepted = []
        for method, properties, body in deliveries:
            found = self._accept(channel, method, body)
            if found is not None:
                accepted.append((method, properties, body, *found))
        try:
            with self.unit_of_work.begin() as tx:
                applied = [(envelope, self._apply(tx, envelope, handler))
                           for _method, _properties, _body, envelope, handler in accepted]
        except Exception as exc:  # noqa: BLE001 - sorted out message by message below
            log.info("a run of %d messages failed (%r); handling them one by one", len(accepted), exc)
            for accepted_one in accepted:
                self._handle_one(channel, *accepted_one)
            return
        self._committed(applied)
        for method, _properties, _body, _envelope, _handler in accepted:
            channel.basic_ack(method.delivery_tag)

    def handle(self, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        found = self._accept(channel, method, body)
        if found is not None:
            self._handle_one(channel, method, properties, body, *found)

    def _handle_one(self, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes,
                    envelope: Envelope, handler: Handler) -> None:
        extra = {"message_id": envelope.id, "correlation_id": envelope.correlation_id}
        try:
            with self.unit_of_work.begin() as tx:
                claimed = self._apply(tx, envelope, handler)
        except PermanentError as exc:
            log.error("permanent failure on %s: %s; dead-lettering", envelope.routing_key, exc, extra=extra)
            channel.basic_reject(method.delivery_tag, requeue=False)
            self._count("dead_lettered")
            return
        except Exception as exc:  # noqa: BLE001 - anything else is worth retrying
            self._retry_or_dead_letter(channel, method, properties, body, exc, extra)
            return
        self._committed([(envelope, claimed)])
        channel.basic_ack(method.delivery_tag)

    def _retry_or_dead_letter(self, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes, exc: Exception, extra: dict) -> None:
        decision = rules.after_failure(properties.headers, max_attempts=self.max_attempts,
                                       retry_base_delay_ms=self.retry_base_delay_ms)
        if isinstance(decision, rules.DeadLetter):
            log.error("failed %d times (%r); dead-lettering", decision.attempts, exc, extra=extra)
            channel.basic_reject(method.delivery_tag, requeue=False)
            self._count("dead_lettered")
            return
        attempts, delay_ms, headers = decision.attempts, decision.delay_ms, decision.headers
        log.warning("attempt %d failed (%r); retrying in %d ms", attempts, exc, delay_ms, extra=extra)
        retry_properties = pika.BasicProperties(
            message_id=properties.message_id,
            type=properties.type,
            correlation_id=properties.correlation_id,
            content_type=properties.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            headers=headers,
            expiration=str(delay_ms),
        )
        # The channel is in confirm mode: the copy is safely queued before the original goes.
        channel.basic_publish(exchange="", routing_key=retry_queue(self.queue), body=body, properties=retry_properties)
        channel.basic_ack(method.delivery_tag)
        self._count("retried")

    # -- the loop -------------------------------------------------------------------
    def _open(self, amqp_url: str) -> tuple[pika.BlockingConnection, Any]:
        connection = connect(amqp_url)
        channel = connection.channel()
        declare_topology(channel)
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=self.prefetch)
        return connection, channel

    def run(self, amqp_url: str) -> None:
        """Consume until ``stop()``; reconnects with backoff when the broker goes away."""
        serve_metrics_from_env()
        backoff = 0.5
        while not self.stopping.is_set():
            connection = None
            try:
                connection, channel = self._open(amqp_url)
                log.info("consuming %s", self.queue)
                backoff = 0.5
                messages = channel.consume(self.queue, inactivity_timeout=1.0)
                for method, properties, body in messages:
                    if self.stopping.is_set():
                        break
                    if method is not None:
                        self.handle_batch(channel, self._with_waiting(channel, messages, (method, properties, body)))
                    # Between messages (or on the 1 s idle tick), never while one is in hand.
                    self.poller.maybe_poll(connection)
                channel.cancel()
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("broker connection lost (%r); reconnecting in %.1fs", exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 15.0)
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except (pika.exceptions.AMQPError, OSError):
                        pass

    def _with_waiting(self, channel: Any, messages: Any, first: tuple) -> list[tuple]:
        """``first`` and the messages already here behind it (none is waited for)."""
        batch = [first]
        if self.batch_size > 1:
            channel.connection.process_data_events(time_limit=0)
            while len(batch) < self.batch_size and channel.get_waiting_message_count():
                batch.append(next(messages))
        return batch

    def drain(self, amqp_url: str, *, idle_s: float = 1.0, timeout_s: float = 30.0) -> int:
        """Handle messages until none arrives for ``idle_s`` (tests and one-off jobs)."""
        handled = 0
        connection, channel = self._open(amqp_url)
        deadline = time.monotonic() + timeout_s
        try:
            messages = channel.consume(self.queue, inactivity_timeout=idle_s)
            for method, properties, body in messages:
                if method is None or time.monotonic() > deadline:
                    break
                batch = self._with_waiting(channel, messages, (method, properties, body))
                self.handle_batch(channel, batch)
                handled += len(batch)
            channel.cancel()
            self.poller.poll(connection)
        finally:
            connection.close()
        return handled

    def stop(self) -> None:
        self.stopping.set()
