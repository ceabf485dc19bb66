"""One Redis subscription per API process, fanned out to its job event streams.

Every SSE stream used to open a pub/sub connection of its own (a connect and a handshake
per stream, and as many Redis connections as open streams). Now the process holds one
subscription: a stream registers for its job's channel and gets an ``asyncio.Event`` that
is set on every notice for that job. The channel is subscribed while at least one stream
of this process follows the job.

A notice only says "re-read the job"; it carries no state. So a notice lost while the
connection was down costs nothing but time: when the reader loses Redis it wakes every
stream (each re-reads its job), and redis-py re-subscribes the channels when it
reconnects. Several API processes each hold their own subscription.
"""
from __future__ import annotations

import asyncio
import logging
import uuid

from app.adapters.jobs_repo import JobView
from app.adapters.notify import channel_for, read_notice
from app.adapters.ratelimit import REDIS_TIMEOUT_S

log = logging.getLogger("pre_inference.job_changes")
_READ_WAIT_S = 1.0  # how long one read waits for a notice before looping
_RETRY_S = 0.5  # after a failed read, before the next


class JobChangeHub:
    def __init__(self, client, prefix: str):
        self._client = client
        self._prefix = prefix
        self._pubsub = None
        self._reader: asyncio.Task | None = None
        self._listeners: dict[str, set[Subscription]] = {}
        # Subscribing and unsubscribing one channel must reach Redis in the order decided.
        self._lock = asyncio.Lock()

    async def subscribe(self, job_id: uuid.UUID) -> "Subscription":
        """Subscribed when this returns, so a change committed after the caller's next read
        of the job is never missed. Close it when done."""
        subscription = Subscription(self, channel_for(self._prefix, job_id))
        await self._add(subscription.channel, subscription)
        return subscription

    async def _add(self, channel: str, subscription: Subscription) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                if self._pubsub is None:
                    self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                async with asyncio.timeout(REDIS_TIMEOUT_S):
                    await self._pubsub.subscribe(channel)
                listeners = self._listeners[channel] = set()
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.get_running_loop().create_task(self._read(), name="job-changes")
            listeners.add(subscription)

    async def _remove(self, channel: str, subscription: Subscription) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(subscription)
            if listeners:
                return
            del self._listeners[channel]
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_S):
                    await self._pubsub.unsubscribe(channel)
            except Exception as exc:  # noqa: BLE001 - a stray subscription only costs notices nobody reads
                log.debug("unsubscribing %s failed: %r", channel, exc)

    async def _read(self) -> None:
        interrupted = False
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=_READ_WAIT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: every stream re-reads, then we retry
                if not interrupted:
                    log.warning("job change notices interrupted: %r", exc)
                    interrupted = True
                self._wake_all()
                await asyncio.sleep(_RETRY_S)
                continue
            if interrupted:
                log.info("job change notices resumed")
                interrupted = False
            if message is not None and message.get("type") == "message":
                channel = message["channel"]
                if isinstance(channel, bytes):
                    channel = channel.decode()
                listeners = self._listeners.get(channel)
                if listeners:
                    traceparent, final, preview = read_notice(message.get("data") or b"")
                    for subscription in listeners:
                        subscription.notify(traceparent, final, preview)

    def _wake_all(self) -> None:
        for listeners in self._listeners.values():
            for subscription in listeners:
                subscription.notify(None, None)

    @property
    def channels(self) -> int:
        return len(self._listeners)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
            self._reader = None
        if self._pubsub is not None:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_S):
                    await self._pubsub.aclose()
            except Exception as exc:  # noqa: BLE001 - shutting down; nothing to tell
                log.debug("closing the job change subscription failed: %r", exc)
            self._pubsub = None


class Subscription:
    """One stream's interest in one job: ``changed`` is set on every notice for it;
    ``traceparent`` is the newest traced notice's span since the stream last took it,
    ``final`` the job as it ended, once a notice has brought it, and ``preview`` the newest
    preview not yet taken (app.adapters.notify)."""

    def __init__(self, hub: JobChangeHub, channel: str):
        self._hub = hub
        self.channel = channel
        self.changed = asyncio.Event()
        self.traceparent: str | None = None
        self.final: JobView | None = None
        self.preview: str | None = None
        self._closed = False

    def notify(self, traceparent: str | None, final: JobView | None = None, preview: str | None = None) -> None:
        if traceparent:
            self.traceparent = traceparent
        if final is not None:
            self.final = final
        if preview is not None:
            self.preview = preview
        self.changed.set()

    def take_traceparent(self) -> str | None:
        traceparent, self.traceparent = self.traceparent, None
        return traceparent

    def take_preview(self) -> str | None:
        preview, self.preview = self.preview, None
        return preview

    async def close(self) -> None:
        """Idempotent (a stream closes it when it ends and again after its response)."""
        if not self._closed:
            self._closed = True
            await self._hub._remove(self.channel, self)
