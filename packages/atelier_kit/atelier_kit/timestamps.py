"""Parsing unix timestamps that arrive from outside (headers, query strings)."""
from __future__ import annotations

import re

# 9999-12-31T23:59:59Z: datetime cannot go past it, so anything larger is garbage, not a time.
MAX_UNIX_TIMESTAMP = 253402300799
_DIGITS = re.compile(rb"[0-9]{1,12}")


def parse_unix_timestamp(value: str | bytes | None) -> int:
    """Seconds since the epoch from ASCII digits only. Raises ValueError for anything else:
    non-ASCII or Unicode digits, signs, blanks, or a time past year 9999."""
    if value is None:
        raise ValueError("no timestamp")
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    if not _DIGITS.fullmatch(raw):
        raise ValueError("a timestamp is 1 to 12 ASCII digits")
    number = int(raw)
    if number > MAX_UNIX_TIMESTAMP:
        raise ValueError("timestamp is past year 9999")
    return number
