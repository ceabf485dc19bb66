"""aio-pika connections with the same timeouts as the blocking face, and the one topology."""
from __future__ import annotations

import asyncio

import aio_pika
import aiormq.exceptions
import pika.exceptions

from ..connection import HEARTBEAT_S, SOCKET_TIMEOUT_S, connect as connect_blocking
from ..topology import declare_topology

# What "the broker went away" looks like from aio-pika: the reconnect loops catch these.
CONNECTION_ERRORS = (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, aio_pika.exceptions.AMQPException, ConnectionError,
                     OSError, asyncio.TimeoutError, pika.exceptions.AMQPError)


async def connect(amqp_url: str) -> aio_pika.abc.AbstractConnection:
    # Not connect_robust: the callers own reconnection (with backoff and topology), exactly
    # as the blocking face does, so both faces recover the same way.
    return await aio_pika.connect(amqp_url, timeout=SOCKET_TIMEOUT_S, heartbeat=HEARTBEAT_S)


def _declare_topology_blocking(amqp_url: str, pools: tuple[str, ...]) -> None:
    connection = connect_blocking(amqp_url)
    try:
        declare_topology(connection.channel(), pools)
    finally:
        connection.close()


async def declare(amqp_url: str, pools: tuple[str, ...] = ()) -> None:
    """The topology is defined once (topology.py, pika-shaped calls); declaring it on a short
    blocking connection off the loop keeps that single definition."""
    await asyncio.to_thread(_declare_topology_blocking, amqp_url, pools)


def is_lost(connection: aio_pika.abc.AbstractConnection) -> bool:
    """aio-pika's own ``is_closed`` only turns true on a local ``close()``; a connection the
    broker dropped shows up as a closed underlying aiormq connection."""
    transport = getattr(connection, "transport", None)
    return connection.is_closed or transport is None or transport.connection.is_closed
