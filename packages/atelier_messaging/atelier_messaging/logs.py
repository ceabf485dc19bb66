"""JSON-lines logging for the messaging processes (relay, consumers, worker).

The line itself is the platform's one format, ``atelier_kit.logs``; these names stay for the
processes and LOGGING dicts that import them from here.
"""
from __future__ import annotations

from atelier_kit.logs import JsonLogFormatter, configure_logging


class JsonFormatter(JsonLogFormatter):
    """``JsonFormatter("pre_inference.api")``: a dotted process name is service.process."""

    def __init__(self, process_name: str = "atelier", process: str | None = None):
        service, _, named_process = process_name.partition(".")
        super().__init__(service, process or named_process or None)


__all__ = ["JsonFormatter", "JsonLogFormatter", "configure_logging"]
