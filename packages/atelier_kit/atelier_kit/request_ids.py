"""Which X-Request-ID values a service keeps, and the id of the request being served.

The id is written into logs, headers and event envelopes verbatim, so only a short token of
safe characters is kept; anything else is replaced by a fresh id, never repaired.
"""
from __future__ import annotations

import contextvars
import re
import uuid

REQUEST_ID_HEADER = "x-request-id"
# fullmatch, not match with "$": "$" also matches before a trailing newline.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("atelier_request_id", default=None)


def safe_request_id(value: str | bytes | None) -> str | None:
    """The incoming id if it is a safe token, else None. Bytes are read as latin-1 (how
    servers hand headers over); what is not a safe token is simply not used."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value and _SAFE_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | bytes | None) -> str:
    """The caller's id when it is safe, otherwise a fresh one."""
    return safe_request_id(value) or new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
