"""The one JSON log line of every Atelier process (services, relays, consumers, the worker).

Fields: ``time`` (UTC, milliseconds), ``level``, ``service``, ``process``, ``logger``,
``message``; ``request_id``, ``correlation_id``, ``trace_id`` and the event fields
(``message_id``, ``job_id``) when the record knows them; ``exc`` for a traceback. A message
that is itself a JSON object (the gateway's access lines) is merged in rather than quoted, so
every line stays one flat object that ``jq`` and ``make logs`` read alike.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from .request_ids import current_request_id
from .tracing import current_trace_id

CONTEXT_FIELDS = ("request_id", "correlation_id", "trace_id", "message_id", "job_id")
_RESERVED = ("time", "level", "service", "process", "logger", "message")


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _embedded_object(message: str) -> dict[str, Any] | None:
    if not message.startswith("{"):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class JsonLogFormatter(logging.Formatter):
    """``service`` is the service (``gateway``, ``pre_inference``); ``process`` which of its
    processes wrote the line (``api``, ``consumer``, ``relay``)."""

    def __init__(self, service: str = "atelier", process: str | None = None):
        super().__init__()
        self.service = service
        # Processes that share one configuration (a Django service's API, consumer and Celery
        # workers read the same LOGGING) say which they are in ATELIER_PROCESS.
        self.process = process or os.environ.get("ATELIER_PROCESS") or service

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
        message = record.getMessage()
        entry: dict[str, Any] = {"time": _timestamp(record), "level": record.levelname.lower(),
                                 "service": self.service, "process": self.process, "logger": record.name,
                                 "message": message}
        embedded = _embedded_object(message)
        if embedded is not None:
            entry["message"] = str(embedded.pop("event", "") or embedded.pop("message", "") or record.name)
            entry.update({key: value for key, value in embedded.items() if key not in _RESERVED})
            # A key the line itself uses ("service": the upstream a proxy line is about) is kept aside.
            clashing = {key: value for key, value in embedded.items() if key in _RESERVED}
            if clashing:
                entry["detail"] = clashing
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if "request_id" not in entry:
            request_id = current_request_id()
            if request_id:
                entry["request_id"] = request_id
        if "trace_id" not in entry:
            # The span active where the line was logged (None at once when tracing is off).
            trace_id = current_trace_id()
            if trace_id:
                entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return entry

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.entry(record), default=str)


def configure_logging(service: str, process: str | None = None, *, stream: Any = None, logger: str = "") -> None:
    """One handler writing JSON lines to stdout (honcho prefixes each line with the process
    name, which keeps ``make logs`` readable); level from ATELIER_LOG_LEVEL. ``logger``: the
    tree to configure, the root by default; a named one (the gateway's) stops propagating, so
    an application server's own root configuration never prints its lines twice."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLogFormatter(service, process))
    target = logging.getLogger(logger or None)
    target.handlers[:] = [handler]
    target.setLevel(os.environ.get("ATELIER_LOG_LEVEL", "INFO").upper())
    if logger:
        target.propagate = False
    # pika logs every failed reconnect at ERROR; our reconnect loops log one warning instead.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
