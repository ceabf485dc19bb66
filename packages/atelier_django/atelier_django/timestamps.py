"""Parsing unix timestamps that arrive from outside: defined once in ``atelier_kit.timestamps``."""
from atelier_kit.timestamps import MAX_UNIX_TIMESTAMP, parse_unix_timestamp

__all__ = ["MAX_UNIX_TIMESTAMP", "parse_unix_timestamp"]
