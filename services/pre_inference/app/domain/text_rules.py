"""Which characters text from a client may hold.

Postgres cannot store NUL in text or jsonb, a lone surrogate cannot be encoded as UTF-8 at
all, and control characters in a prompt or a name are never meant (terminal escapes in
logs, invisible differences between two "equal" names). So every text field refuses them
where it is read, naming the field, instead of failing later as a 500. Prompts may keep
tabs and line breaks; one-line values (names, keys, ids) may not.
"""
from __future__ import annotations

import re

# C0 controls, DEL, C1 controls and the surrogate range (only lone ones reach a str).
_ONE_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTILINE_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def refused_character(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is refused (naming the first bad character), or None if it is fine."""
    match = (_MULTILINE_REFUSED if multiline else _ONE_LINE_REFUSED).search(value)
    if match is None:
        return None
    code = ord(match.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return f"must not contain {kind} (U+{code:04X}) at position {match.start()}"


def check_one_line(value: str) -> str:
    """A pydantic after-validator: the ValueError becomes a 422 naming the field."""
    reason = refused_character(value)
    if reason is not None:
        raise ValueError(reason)
    return value


def check_multiline(value: str) -> str:
    reason = refused_character(value, multiline=True)
    if reason is not None:
        raise ValueError(reason)
    return value


def is_clean_ascii_token(value: str, max_chars: int) -> bool:
    """Printable ASCII without spaces' worse cousins: for header values we keep (ids, keys)."""
    return 0 < len(value) <= max_chars and value.isascii() and value.isprintable()
