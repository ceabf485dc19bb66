"""Listens for what makes a credential stop working before its token expires, and acts within
moments instead of when the cached or issued token runs out:
- `auth.api_key.revoked`: drop the key's cached token (and tombstone it);
- `auth.user.tier_changed`: drop every cached token of the user's keys (they carry the old tier);
- `auth.session.revoked`: record the revocation, so require_identity refuses the session's tokens.

Each gateway process has its own exclusive, auto-delete, server-named queue: every process must
see every revocation (a shared queue would hand each message to only one of them). Such a queue
does not outlive a disconnect, so revocations sent meanwhile are lost; after each (re)connect the
listener therefore drops every cached exchange, and the next request per key introspects again.

pika is blocking, so the listener runs in a daemon thread with its own Redis client.
"""
from __future__ import annotations

import json
import logging
import threading

import pika
from atelier_messaging.topology import EVENTS_EXCHANGE, declare_topology

from .apikeys import Revoker
from .session_revocations import MalformedRevocation, SessionRevoker

logger = logging.getLogger("gateway.revocations")

ROUTING_KEY = "auth.api_key.revoked.v1"
TIER_CHANGED_KEY = "auth.user.tier_changed.v1"
SESSION_REVOKED_KEY = "auth.session.revoked.v1"
ROUTING_KEYS = (ROUTING_KEY, TIER_CHANGED_KEY, SESSION_REVOKED_KEY)


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
    def __init__(self, amqp_url: str, revoker: Revoker, sessions: SessionRevoker, *, max_backoff_s: float = 30.0):
        self.amqp_url = amqp_url
        self.revoker = revoker
        self.sessions = sessions
        self.max_backoff_s = max_backoff_s
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.handled = 0
        self._thread = threading.Thread(target=self._run, name="apikey-revocations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._consume()
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 - any broker or Redis failure: wait, then reconnect
                self.connected.clear()
                logger.warning("revocation listener disconnected (%r); retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _consume(self) -> None:
        params = pika.URLParameters(self.amqp_url)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.socket_timeout = 5
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            declare_topology(channel)
            queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
            for routing_key in ROUTING_KEYS:
                channel.queue_bind(queue=queue, exchange=EVENTS_EXCHANGE, routing_key=routing_key)
            channel.basic_qos(prefetch_count=50)
            channel.basic_consume(queue=queue, on_message_callback=self._on_message)
            # Only now, with the queue bound, is forgetting safe: nothing revoked later can be missed.
            dropped = self.revoker.forget_all()
            logger.info("revocation listener bound %s (dropped %d cached API-key entries)", queue, dropped)
            self.connected.set()
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.5)
        finally:
            self.connected.clear()
            if connection.is_open:
                try:
                    connection.close()
                except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                    pass

    def _on_message(self, channel, method, _properties, body: bytes) -> None:
        # A Redis failure raises: the connection drops, the message is redelivered nowhere
        # (exclusive queue), and the reconnect forgets every cached key instead.
        routing_key = method.routing_key
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
        self.handled += 1
        channel.basic_ack(method.delivery_tag)

    def _session_revoked(self, data: dict) -> None:
        try:
            key = self.sessions.record(data)
        except MalformedRevocation as exc:
            logger.warning("ignoring a malformed %s message: %s", SESSION_REVOKED_KEY, exc)
            return
        logger.info(json.dumps({"event": "session_revoked", "user_id": data.get("user_id"),
                                "session_id": data.get("session_id"), "reason": data.get("reason"), "key": key}))
