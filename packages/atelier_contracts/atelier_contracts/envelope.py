"""The envelope every message on RabbitMQ carries."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from opentelemetry import trace as otel_trace


def routing_key(event_type: str, version: int) -> str:
    """``auth.user.registered`` + 1 -> ``auth.user.registered.v1`` (the AMQP routing key)."""
    return f"{event_type}.v{version}"


def current_trace() -> dict[str, str] | None:
    """The span active where an envelope is made, as the W3C trace context the envelope
    carries (``{"traceparent": ...}``), so the consumer continues the same trace. None when no
    span is recording - tracing off costs one context read and adds no field."""
    context = otel_trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"}


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Envelope:
    type: str
    version: int
    data: dict[str, Any]
    producer: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=_now_iso)
    correlation_id: str | None = None
    # W3C trace context of the span that made the message; optional, and left out of the JSON
    # when absent, so messages from before tracing (or with it off) are unchanged.
    trace: dict[str, str] | None = None
    # Set by make_envelope and decode once the schemas passed (mark_validated), so encoding
    # the same envelope again skips a second validation (the largest cost of a progress
    # event). Not an init field: a copy made with dataclasses.replace starts unvalidated.
    validated: bool = field(default=False, init=False, compare=False, repr=False)

    def mark_validated(self) -> "Envelope":
        object.__setattr__(self, "validated", True)
        return self

    @property
    def routing_key(self) -> str:
        return routing_key(self.type, self.version)

    def to_dict(self) -> dict[str, Any]:
        raw = {
            "type": self.type, "version": self.version, "data": self.data, "producer": self.producer,
            "id": self.id, "occurred_at": self.occurred_at, "correlation_id": self.correlation_id,
        }
        if self.trace is not None:
            raw["trace"] = self.trace
        return raw

    @property
    def traceparent(self) -> str | None:
        return self.trace.get("traceparent") if self.trace else None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Envelope":
        return cls(
            id=raw["id"],
            type=raw["type"],
            version=raw["version"],
            occurred_at=raw["occurred_at"],
            producer=raw["producer"],
            correlation_id=raw.get("correlation_id"),
            data=raw["data"],
            trace=raw.get("trace"),
        )


def make_envelope(
    event_type: str,
    version: int,
    data: dict[str, Any],
    *,
    producer: str,
    correlation_id: str | None = None,
    message_id: str | None = None,
    trace: dict[str, str] | None = None,
) -> Envelope:
    """Build an envelope and validate it against its schema at once, so a bad event
    fails where it is made rather than in a consumer. ``trace`` defaults to the current span's
    context (see ``current_trace``)."""
    from .codec import validate

    env = Envelope(
        type=event_type,
        version=version,
        data=data,
        producer=producer,
        correlation_id=correlation_id,
        trace=trace if trace is not None else current_trace(),
        **({"id": message_id} if message_id else {}),
    )
    validate(env.to_dict())
    return env.mark_validated()
