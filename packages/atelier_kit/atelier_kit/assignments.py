"""Settings that map names to values in one environment variable: "name=value,name=value"
(a worker's models and their paths, the pool that serves each model)."""
from __future__ import annotations

import re
from typing import Callable

# The names a job's `model` field may hold (pre_inference's MODEL_PATTERN, the heartbeat's).
MODEL_NAME = re.compile(r"^[A-Za-z0-9_\-]+(?:[./][A-Za-z0-9_\-]+)*$")


def parse_assignments(value: str, variable: str, *, valid_value: Callable[[str], bool] | None = None,
                      value_rule: str = "") -> dict[str, str]:
    """Model names to values; blank entries are skipped. ValueError, naming ``variable`` and the
    entry, for an entry that is not name=value, a name a job could not hold, a value
    ``valid_value`` refuses or a name given twice."""
    found: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, sep, assigned = (piece.strip() for piece in entry.partition("="))
        if not sep or not name or not assigned:
            raise ValueError(f"{variable} entry {entry!r} is not name=value")
        if not MODEL_NAME.match(name) or len(name) > 200:
            raise ValueError(f"{variable} name {name!r} may hold letters, digits, _ and -, joined by . or /")
        if valid_value is not None and not valid_value(assigned):
            raise ValueError(f"{variable} value {assigned!r} for {name!r}: {value_rule or 'not allowed'}")
        if name in found:
            raise ValueError(f"{variable} names {name!r} twice")
        found[name] = assigned
    return found
