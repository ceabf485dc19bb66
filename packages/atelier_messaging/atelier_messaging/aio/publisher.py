"""Publishing with broker confirms from asyncio; same contract as ``publisher.Publisher``:
``publish`` returns only once the broker has confirmed, and an unroutable event is an error."""
from __future__ import annotations

from datetime import datetime, timezone

import aio_pika

from atelier_contracts import Envelope, encode
from atelier_kit import tracing

from ..publisher import PublishError
from ..topology import DEFAULT_POOL, JOBS_EXCHANGE, exchange_for, must_be_routed, pool_of_routing_key
from .connection import CONNECTION_ERRORS, connect, declare


class AioPublisher:
    def __init__(self, amqp_url: str):
        self.amqp_url = amqp_url
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._pools: set[str] = set()  # worker pools whose queues were declared since connecting

    async def _ensure(self) -> aio_pika.abc.AbstractChannel:
        if self._channel is None or self._channel.is_closed or self._connection is None or self._connection.is_closed:
            await self.close()
            await declare(self.amqp_url)
            self._connection = await connect(self.amqp_url)
            self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._pools = {DEFAULT_POOL}
        return self._channel

    async def _ensure_pool(self, exchange: str, routing_key: str) -> None:
        """A job for a pool whose workers never ran yet (scaled to zero) must wait in its
        queue, not be refused as unroutable: its queue is declared before the first one."""
        pool = pool_of_routing_key(routing_key) if exchange == JOBS_EXCHANGE else None
        if pool is not None and pool not in self._pools:
            await declare(self.amqp_url, (pool,))
            self._pools.add(pool)

    async def open(self) -> None:
        """Connects now if not connected; PublishError when the broker cannot be reached."""
        try:
            await self._ensure()
        except CONNECTION_ERRORS as exc:
            await self.close()
            raise PublishError(f"broker unavailable: {exc!r}") from exc

    async def publish_raw(self, body: bytes, *, exchange: str, routing_key: str, message_id: str | None = None,
                          type: str | None = None, priority: int | None = None, correlation_id: str | None = None) -> None:
        message = aio_pika.Message(body, message_id=message_id, type=type or routing_key, priority=priority,
                                   correlation_id=correlation_id, content_type="application/json",
                                   timestamp=datetime.now(timezone.utc),
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        try:
            channel = await self._ensure()
            await self._ensure_pool(exchange, routing_key)
            target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange, ensure=False)
            await target.publish(message, routing_key=routing_key, mandatory=must_be_routed(exchange))
        except aio_pika.exceptions.DeliveryError as exc:
            raise PublishError(f"{routing_key} was not confirmed or not routed: {exc}") from exc
        except CONNECTION_ERRORS as exc:
            await self.close()
            raise PublishError(f"broker unavailable: {exc!r}") from exc

    async def publish(self, envelope: Envelope) -> None:
        body = encode(envelope)
        # The same producer span as the blocking Publisher.publish.
        # A child of the span the envelope was made in (the worker builds outcomes from a job
        # span it keeps open but not current), else of the current one.
        with tracing.start_span(f"publish {envelope.routing_key}", kind="producer", traceparent=envelope.traceparent):
            await self.publish_raw(body.encode() if isinstance(body, str) else body,
                                   exchange=exchange_for(envelope.type), routing_key=envelope.routing_key,
                                   message_id=envelope.id, correlation_id=envelope.correlation_id)

    async def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except CONNECTION_ERRORS:
                pass
