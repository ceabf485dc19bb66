"""Turning rows into the agreed job representation, and opaque page cursors."""
from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime, timezone

from app.api.errors import ApiError
# Where the job representation is made; kept importable from here for the routes.
from app.api.job_representation import job_out, phase_of  # noqa: F401


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{created_at.astimezone(timezone.utc).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# What encode_cursor writes, and nothing else: a cursor is read back only if it could have
# been ours, so no byte a client makes up reaches the database (NUL, odd zones, years).
_CURSOR_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?[+-]\d{2}:\d{2}\|[0-9a-fA-F-]{32,36}")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        if not cursor.isascii():
            raise ValueError("not ASCII")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not _CURSOR_TEXT.fullmatch(raw):
            raise ValueError("not a cursor")
        created_at, row_id = raw.split("|", 1)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        # Moving to UTC overflows for a date at the edge of the calendar: still just a bad cursor.
        return moment.astimezone(timezone.utc), uuid.UUID(row_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(422, "validation_error", "cursor is not one this API gave out", fields={"cursor": ["invalid cursor"]}) from exc


def parse_id(raw: str, what: str = "job") -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        # A malformed id cannot name anyone's row: the same 404 as an unknown one.
        raise ApiError(404, "not_found", f"no such {what}") from exc
