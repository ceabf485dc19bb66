"""Publishing with broker confirms.

``publish`` returns only once the broker has taken responsibility for the message
(persisted, routed to at least one queue); otherwise it raises ``PublishError`` and the
caller keeps the message (the outbox row stays unpublished, the job stays unacked).
Not thread-safe: pika connections belong to one thread.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import pika
import pika.exceptions

from atelier_contracts import Envelope, encode
from atelier_kit import tracing

from .connection import connect
from .topology import DEFAULT_POOL, JOBS_EXCHANGE, declare_pool, declare_topology, exchange_for, must_be_routed, pool_of_routing_key

log = logging.getLogger("atelier.messaging.publisher")


class PublishError(Exception):
    """The broker did not confirm the message; it may be retried."""


def properties_for(envelope: Envelope, *, priority: int | None = None, headers: dict[str, Any] | None = None) -> pika.BasicProperties:
    return pika.BasicProperties(
        message_id=envelope.id,
        type=envelope.routing_key,
        correlation_id=envelope.correlation_id,
        app_id=envelope.producer,
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        timestamp=int(time.time()),
        priority=priority,
        headers=headers or {},
    )


class Publisher:
    def __init__(self, amqp_url: str):
        self._amqp_url = amqp_url
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._pools: set[str] = set()  # worker pools whose queues this connection declared

    def _ensure_channel(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            self.close()
            self._connection = connect(self._amqp_url)
            self._channel = self._connection.channel()
            declare_topology(self._channel)
            self._channel.confirm_delivery()
            self._pools = {DEFAULT_POOL}
        return self._channel

    def _ensure_pool(self, channel: Any, exchange: str, routing_key: str) -> None:
        """A job for a pool whose workers never ran yet (scaled to zero) must wait in its
        queue, not be refused as unroutable: its queue is declared before the first one."""
        pool = pool_of_routing_key(routing_key) if exchange == JOBS_EXCHANGE else None
        if pool is not None and pool not in self._pools:
            declare_pool(channel, pool)
            self._pools.add(pool)

    def publish_raw(
        self,
        body: bytes,
        *,
        exchange: str,
        routing_key: str,
        properties: pika.BasicProperties,
    ) -> None:
        try:
            channel = self._ensure_channel()
            self._ensure_pool(channel, exchange, routing_key)
            channel.basic_publish(
                exchange=exchange, routing_key=routing_key, body=body, properties=properties, mandatory=must_be_routed(exchange)
            )
        except pika.exceptions.UnroutableError as exc:
            raise PublishError(f"no queue is bound for {exchange}/{routing_key}") from exc
        except pika.exceptions.NackError as exc:
            raise PublishError(f"broker refused {routing_key}") from exc
        except (pika.exceptions.AMQPError, OSError) as exc:
            self.close()
            raise PublishError(f"broker unavailable: {exc!r}") from exc

    def publish(
        self,
        envelope: Envelope,
        *,
        exchange: str | None = None,
        priority: int | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        # A child of the span the envelope was made in (the worker builds outcomes from a job
        # span it keeps open but not current), else of the current one.
        with tracing.start_span(f"publish {envelope.routing_key}", kind="producer", traceparent=envelope.traceparent):
            self.publish_raw(
                encode(envelope),
                exchange=exchange or exchange_for(envelope.type),
                routing_key=envelope.routing_key,
                properties=properties_for(envelope, priority=priority, headers=headers),
            )

    def keepalive(self) -> None:
        """Service heartbeats while idle; a dead connection is dropped and remade on next use."""
        if self._connection is not None and self._connection.is_open:
            try:
                self._connection.process_data_events(time_limit=0)
            except (pika.exceptions.AMQPError, OSError):
                self.close()

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                log.debug("closing a broken connection", exc_info=True)
