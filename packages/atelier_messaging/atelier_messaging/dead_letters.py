"""Dead letters: list, inspect, replay and drop what the consumers gave up on.

Every consuming queue ``<q>`` has ``<q>.dead`` (see ``topology``); the consumer rejects a
message into it when it breaks its contract, has no handler, raised ``PermanentError`` or
ran out of retries. RabbitMQ records why in the ``x-death`` header (one entry per queue and
reason, newest first) and the consumer records its retries in ``x-atelier-attempts``.

Nothing taken off a dead queue may be lost, so every operation works the same way: get
with manual ack, and for a chosen message publish it (with confirms) *before* acking it;
every message that was not chosen is nacked back (requeue) untouched, in its place. If the
connection drops half way, the broker requeues whatever was not acked yet.

A replayed message goes back to its own queue through the default exchange (not the events
exchange, which would copy it to every other subscriber) and is handled by the ordinary
consumer: its inbox row makes a replay of a message that was in fact handled a no-op.

    python -m atelier_messaging.dead_letters list
    python -m atelier_messaging.dead_letters show --queue payments.events [--limit 20]
    python -m atelier_messaging.dead_letters replay --queue payments.events (--id ID ... | --all)
    python -m atelier_messaging.dead_letters drop --queue payments.events (--id ID ... | --all)
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import pika
import pika.exceptions

from atelier_contracts import ContractError, decode

from .connection import connect
from .consumer import ATTEMPTS_HEADER
from .topology import EVENT_QUEUES, dead_queue, declare_topology, jobs_queue, worker_pools

REPLAYED_HEADER = "x-atelier-replayed"
# The replay pass that sent a message back: a copy that dies again while the same pass is
# still taking messages off the dead queue is recognised by it and left for the next pass.
REPLAY_PASS_HEADER = "x-atelier-replay-pass"
BODY_PREVIEW_CHARS = 200
# Headers RabbitMQ (or our consumer) wrote about the earlier life of the message: a replay
# starts it afresh, with a full set of retries.
_HISTORY_HEADERS = ("x-death", "x-first-death-reason", "x-first-death-queue", "x-first-death-exchange", ATTEMPTS_HEADER)


class DeadLetterError(Exception):
    """A request the dead-letter tools refuse (unknown queue, no selection)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def consuming_queues() -> list[str]:
    """Every queue that has a dead-letter queue, in a stable order: the services' event queues,
    the default pool's jobs queue and those of the pools ATELIER_WORKER_POOLS names."""
    return [*EVENT_QUEUES, *(jobs_queue(pool) for pool in ("default", *worker_pools()))]


def _checked_queue(queue: str) -> str:
    if queue not in consuming_queues():
        raise DeadLetterError("unknown_queue", f"{queue!r} is not a consuming queue; one of: {', '.join(consuming_queues())}")
    return queue


@dataclass(frozen=True)
class QueueSummary:
    queue: str
    dead_queue: str
    count: int
    oldest_died_at: str | None  # when the message at the head of the dead queue died


@dataclass(frozen=True)
class DeadLetter:
    id: str
    type: str | None
    reason: str  # what RabbitMQ recorded: rejected, expired, maxlen
    explanation: str  # our reading of why the consumer gave up
    attempts: int  # deliveries to the consumer before it gave up
    died_at: str | None
    first_death: dict[str, Any] = field(default_factory=dict)
    deaths: list[dict[str, Any]] = field(default_factory=list)
    correlation_id: str | None = None
    producer: str | None = None
    replayed: int = 0
    body_summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading one message --------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Header values as JSON-able data (pika gives bytes, datetimes, nested tables)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def message_id_of(properties: pika.BasicProperties, body: bytes) -> str:
    """The envelope id; a message that has none (not even JSON) is named by its body's hash,
    so that it too can be chosen one at a time."""
    if properties.message_id:
        return str(properties.message_id)
    try:
        found = json.loads(body).get("id")
        if isinstance(found, str) and found:
            return found
    except (ValueError, AttributeError):
        pass
    return "sha256:" + hashlib.sha256(body).hexdigest()[:16]


def _explain(queue: str, properties: pika.BasicProperties, body: bytes, reason: str, attempts: int) -> str:
    if reason != "rejected":
        return f"{reason} in {queue} (broker policy, not the consumer)"
    try:
        envelope = decode(body)
    except ContractError as exc:
        return f"breaks its contract: {exc}"
    if attempts > 1:
        return f"failed {attempts} times: retries exhausted"
    return f"refused at first delivery: the handler raised PermanentError or {queue} has no handler for {envelope.routing_key}"


def describe(queue: str, properties: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = dict(properties.headers or {})
    deaths = _plain(headers.get("x-death") or [])
    own = next((d for d in deaths if d.get("queue") == queue), deaths[0] if deaths else {})
    reason = str(own.get("reason") or headers.get("x-first-death-reason") or "unknown")
    if isinstance(reason, bytes):
        reason = reason.decode()
    # x-atelier-attempts counts failures that were retried; the last one dead-lettered.
    retried = int(headers.get(ATTEMPTS_HEADER, 0) or 0)
    attempts = retried + 1 if reason == "rejected" else retried
    first_death = {
        key.removeprefix("x-first-death-"): _plain(headers[key])
        for key in ("x-first-death-reason", "x-first-death-queue", "x-first-death-exchange")
        if key in headers
    }
    text = body.decode("utf-8", "replace")
    summary = text if len(text) <= BODY_PREVIEW_CHARS else text[:BODY_PREVIEW_CHARS] + "…"
    return DeadLetter(
        id=message_id_of(properties, body),
        type=properties.type,
        reason=reason,
        explanation=_explain(queue, properties, body, reason, attempts),
        attempts=attempts,
        died_at=own.get("time"),
        first_death=first_death,
        deaths=deaths,
        correlation_id=properties.correlation_id,
        producer=properties.app_id,
        replayed=int(headers.get(REPLAYED_HEADER, 0) or 0),
        body_summary=summary,
    )


def replay_properties(properties: pika.BasicProperties, pass_id: str) -> pika.BasicProperties:
    headers = {k: v for k, v in (properties.headers or {}).items() if k not in _HISTORY_HEADERS}
    headers[REPLAYED_HEADER] = int(headers.get(REPLAYED_HEADER, 0) or 0) + 1
    headers[REPLAY_PASS_HEADER] = pass_id
    return pika.BasicProperties(
        message_id=properties.message_id,
        type=properties.type,
        correlation_id=properties.correlation_id,
        app_id=properties.app_id,
        content_type=properties.content_type,
        timestamp=properties.timestamp,
        priority=properties.priority,
        delivery_mode=pika.DeliveryMode.Persistent,
        headers=headers,
    )


# -- the broker -----------------------------------------------------------------------
class DeadLetters:
    """One connection to the broker; use as a context manager. Not thread-safe (pika)."""

    def __init__(self, amqp_url: str):
        self._connection = connect(amqp_url)
        self._channel = self._connection.channel()
        declare_topology(self._channel, worker_pools())
        # Confirms: a replayed copy is known to be queued before its dead original is acked.
        self._channel.confirm_delivery()

    def __enter__(self) -> "DeadLetters":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection.is_open:
            try:
                self._connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass

    def _count(self, queue: str) -> int:
        return self._channel.queue_declare(queue=dead_queue(queue), passive=True).method.message_count

    def summaries(self) -> list[QueueSummary]:
        found = []
        for queue in consuming_queues():
            count = self._count(queue)
            oldest = None
            if count:
                head = self.peek(queue, limit=1)
                oldest = head[0].died_at if head else None
            found.append(QueueSummary(queue, dead_queue(queue), count, oldest))
        return found

    def peek(self, queue: str, *, limit: int = 20) -> list[DeadLetter]:
        """The first ``limit`` dead letters, all put back where they were."""
        _checked_queue(queue)
        return [describe(queue, p, b) for _tag, p, b in self._take(queue, limit, choose=lambda _p, _b: False)]

    def replay(self, queue: str, *, ids: Iterable[str] | None = None, all: bool = False) -> list[str]:
        """Publish the chosen dead letters back to ``queue``; returns their ids."""
        _checked_queue(queue)
        choose = self._chooser(ids, all)
        pass_id = uuid.uuid4().hex

        def republish(properties: pika.BasicProperties, body: bytes) -> None:
            # mandatory + confirms: raises (and the original stays dead) unless queued.
            self._channel.basic_publish(exchange="", routing_key=queue, body=body,
                                        properties=replay_properties(properties, pass_id), mandatory=True)

        return self._act(queue, choose, republish, pass_id)

    def drop(self, queue: str, *, ids: Iterable[str] | None = None, all: bool = False) -> list[str]:
        """Remove the chosen dead letters for good; returns their ids."""
        _checked_queue(queue)
        return self._act(queue, self._chooser(ids, all), lambda _p, _b: None)

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _chooser(ids: Iterable[str] | None, all: bool) -> Callable[[pika.BasicProperties, bytes], bool]:
        wanted = set(ids or ())
        if all == bool(wanted):
            raise DeadLetterError("invalid_selection", "choose messages with ids or all, not both and not neither")
        if all:
            return lambda _p, _b: True
        return lambda p, b: message_id_of(p, b) in wanted

    def _act(self, queue: str, choose: Callable[[pika.BasicProperties, bytes], bool],
             act: Callable[[pika.BasicProperties, bytes], None], pass_id: str | None = None) -> list[str]:
        done = []
        for _tag, properties, body in self._take(queue, None, choose, act=act, pass_id=pass_id):
            done.append(message_id_of(properties, body))
        return done

    def _take(self, queue: str, limit: int | None, choose: Callable[[pika.BasicProperties, bytes], bool],
              act: Callable[[pika.BasicProperties, bytes], None] | None = None,
              pass_id: str | None = None) -> list[tuple[int, Any, bytes]]:
        """Get messages until the dead queue is empty (or ``limit`` are seen), act on and ack
        the chosen ones one by one, and put every other one back in order. Returns the chosen
        ones, or, with ``act`` None, the seen.

        The end is the broker's "empty", not the queue's message count read first: that count
        is answered ahead of requeues still on their way (a peek just before leaves it short),
        so a pass bounded by it could miss letters that are there. Nothing is seen twice: the
        unchosen stay unacked (so undeliverable to us) until the pass ends, and a copy this
        pass replayed that dies again before it ends carries ``pass_id`` and stops the pass."""
        seen: list[tuple[int, Any, bytes]] = []
        chosen: list[tuple[int, Any, bytes]] = []
        kept_tags: list[int] = []
        try:
            while limit is None or len(seen) < limit:
                method, properties, body = self._channel.basic_get(dead_queue(queue), auto_ack=False)
                if method is None:
                    break
                if pass_id is not None and (properties.headers or {}).get(REPLAY_PASS_HEADER) == pass_id:
                    kept_tags.append(method.delivery_tag)  # died again during this pass: the next one's
                    break
                seen.append((method.delivery_tag, properties, body))
                if act is not None and choose(properties, body):
                    try:
                        act(properties, body)
                    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                        kept_tags.append(method.delivery_tag)  # stays dead, in its place
                        raise DeadLetterError("replay_failed", f"the broker did not take {message_id_of(properties, body)}: {exc!r}") from exc
                    self._channel.basic_ack(method.delivery_tag)
                    chosen.append((method.delivery_tag, properties, body))
                else:
                    kept_tags.append(method.delivery_tag)
        finally:
            # One nack for all the unchosen: the broker puts them back in their places.
            # (If the channel broke, the broker requeues them on its own.)
            if kept_tags and self._channel.is_open:
                self._channel.basic_nack(kept_tags[-1], multiple=True, requeue=True)
        return seen if act is None else chosen


# -- the command line -----------------------------------------------------------------
def _print_letter(letter: DeadLetter, out: Any) -> None:
    out.write(f"- id: {letter.id}\n  type: {letter.type}\n  reason: {letter.reason} ({letter.explanation})\n"
              f"  attempts: {letter.attempts}  died_at: {letter.died_at}  replayed: {letter.replayed}\n"
              f"  first_death: {json.dumps(letter.first_death)}\n  body: {letter.body_summary}\n")


def main(argv: list[str] | None = None, out: Any = None) -> int:
    from atelier_kit.defaults import DEV_AMQP_URL

    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m atelier_messaging.dead_letters", description=__doc__.split("\n\n")[0])
    parser.add_argument("--amqp-url", default=os.environ.get("ATELIER_AMQP_URL", DEV_AMQP_URL))
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="per queue: dead letters and the oldest")
    show = commands.add_parser("show", help="the dead letters of one queue and why they died")
    show.add_argument("--queue", required=True)
    show.add_argument("--limit", type=int, default=20)
    for name in ("replay", "drop"):
        sub = commands.add_parser(name, help=f"{name} chosen dead letters of one queue")
        sub.add_argument("--queue", required=True)
        chosen = sub.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--id", action="append", dest="ids", help="a message id (repeatable)")
        chosen.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command != "list":
            _checked_queue(args.queue)  # before connecting: a typo must not touch the broker
        with DeadLetters(args.amqp_url) as dead:
            if args.command == "list":
                rows = [asdict(s) for s in dead.summaries()]
                if args.json:
                    out.write(json.dumps(rows) + "\n")
                else:
                    for row in rows:
                        out.write(f"{row['queue']:<24} {row['count']:>6}  oldest: {row['oldest_died_at'] or '-'}\n")
            elif args.command == "show":
                letters = dead.peek(args.queue, limit=args.limit)
                if args.json:
                    out.write(json.dumps([letter.as_dict() for letter in letters]) + "\n")
                else:
                    for letter in letters:
                        _print_letter(letter, out)
            else:
                action = dead.replay if args.command == "replay" else dead.drop
                done = action(args.queue, ids=args.ids, all=args.all)
                missing = sorted(set(args.ids or ()) - set(done))
                if args.json:
                    out.write(json.dumps({args.command: done, "not_found": missing}) + "\n")
                else:
                    out.write(f"{args.command}: {len(done)} message(s) {' '.join(done)}\n")
                    if missing:
                        out.write(f"not found: {' '.join(missing)}\n")
                if missing:
                    return 1
    except DeadLetterError as exc:
        sys.stderr.write(f"{exc.code}: {exc.message}\n")
        return 2
    except (pika.exceptions.AMQPError, OSError) as exc:
        sys.stderr.write(f"broker_unavailable: {exc!r}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
