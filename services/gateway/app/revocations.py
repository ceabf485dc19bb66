"""Listens for what makes a credential stop working before its token expires, and acts within
moments instead of when the cached or issued token runs out:
- `auth.api_key.revoked`: drop the key's cached token (and tombstone it);
- `auth.user.tier_changed`: drop every cached token of the user's keys (they carry the old tier);
- `auth.session.revoked`: record the revocation, so require_identity refuses the session's tokens.

Every effect is in the Redis all gateway processes share, so they share one durable queue
(`gateway.revocations`, declared with the rest of the topology): each revocation is applied once,
by whichever process takes it. One sent while no gateway is connected (a deploy, a broker
restart) waits in the queue; one whose effect fails (Redis away) is not acked and comes back.
Nothing is missed, so nothing cached needs dropping when a process (re)connects.

The listener speaks AMQP through aio-pika on the application's event loop; its Redis side is
the synchronous client, called in a worker thread.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading

from atelier_messaging.aio.connection import connect, declare, is_lost
from atelier_messaging.topology import REVOCATION_KEYS, REVOCATIONS_QUEUE

from .apikeys import Revoker
from .session_revocations import MalformedRevocation, SessionRevoker

logger = logging.getLogger("gateway.revocations")

ROUTING_KEY, TIER_CHANGED_KEY, SESSION_REVOKED_KEY = REVOCATION_KEYS


def data_of(body: bytes) -> dict | None:
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    data = envelope.get("data") if isinstance(envelope, dict) else None
    return data if isinstance(data, dict) else None


def key_id_of(body: bytes) -> str | None:
    key_id = (data_of(body) or {}).get("key_id")
    return key_id if isinstance(key_id, str) and key_id else None


class RevocationListener:
    """Runs on the application's event loop (aio-pika); the Redis side (Revoker,
    SessionRevoker) is synchronous and runs in a worker thread per message."""

    def __init__(self, amqp_url: str, revoker: Revoker, sessions: SessionRevoker, *, max_backoff_s: float = 30.0):
        self.amqp_url = amqp_url
        self.revoker = revoker
        self.sessions = sessions
        self.max_backoff_s = max_backoff_s
        self._stop = asyncio.Event()
        # A threading.Event so that tests and other threads can wait for it too.
        self.connected = threading.Event()
        self.handled = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="apikey-revocations")

    async def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, timeout=timeout_s)
        except asyncio.TimeoutError:
            pass  # wait_for cancelled it

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                await self._consume()
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 - any broker or Redis failure: wait, then reconnect
                self.connected.clear()
                logger.warning("revocation listener disconnected (%r); retrying in %.1fs", exc, backoff)
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, self.max_backoff_s)

    async def _consume(self) -> None:
        await declare(self.amqp_url)
        connection = await connect(self.amqp_url)
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=50)
            queue = await channel.declare_queue(REVOCATIONS_QUEUE, passive=True)  # declared above, with its TTL
            arrived: asyncio.Queue = asyncio.Queue()
            await queue.consume(arrived.put)
            logger.info("revocation listener consuming %s", queue.name)
            self.connected.set()
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(arrived.get(), timeout=0.5)
                except asyncio.TimeoutError:
                    if is_lost(connection):
                        raise ConnectionError("broker connection closed") from None
                    continue
                # A Redis failure raises before the ack: the connection drops and the broker hands
                # the message (and any other unacked) to the next listener, this one reconnected or another.
                await asyncio.to_thread(self._apply, message.routing_key or "", message.body)
                self.handled += 1
                await message.ack()
        finally:
            self.connected.clear()
            try:
                await connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass

    def _apply(self, routing_key: str, body: bytes) -> None:
        data = data_of(body)
        if data is None:
            logger.warning("ignoring a malformed %s message", routing_key)
        elif routing_key == SESSION_REVOKED_KEY:
            self._session_revoked(data)
        elif routing_key == TIER_CHANGED_KEY:
            user_id = data.get("user_id")
            if isinstance(user_id, str) and user_id:
                dropped = self.revoker.forget_owner(user_id)
                logger.info(json.dumps({"event": "api_keys_tier_changed", "user_id": user_id, "dropped": dropped}))
            else:
                logger.warning("ignoring a %s message without user_id", routing_key)
        else:
            key_id = key_id_of(body)
            if key_id is None:
                logger.warning("ignoring a malformed %s message", routing_key)
            else:
                found = self.revoker.revoke(key_id)
                logger.info(json.dumps({"event": "api_key_revoked", "key_id": key_id, "was_cached": found}))

    def _session_revoked(self, data: dict) -> None:
        try:
            key = self.sessions.record(data)
        except MalformedRevocation as exc:
            logger.warning("ignoring a malformed %s message: %s", SESSION_REVOKED_KEY, exc)
            return
        logger.info(json.dumps({"event": "session_revoked", "user_id": data.get("user_id"),
                                "session_id": data.get("session_id"), "reason": data.get("reason"), "key": key}))
