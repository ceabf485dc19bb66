"""Finds the schema of an event type and version on disk."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(str(resources.files("atelier_contracts")))
SCHEMA_DIR = PACKAGE_ROOT / "schemas"
EXAMPLE_DIR = PACKAGE_ROOT / "examples"
ENVELOPE_SCHEMA = SCHEMA_DIR / "envelope.json"


@lru_cache(maxsize=None)
def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def envelope_schema() -> dict[str, Any]:
    return _load(ENVELOPE_SCHEMA)


def schema_path(event_type: str, version: int) -> Path:
    return SCHEMA_DIR / event_type / f"v{version}.json"


def schema_for(event_type: str, version: int) -> dict[str, Any] | None:
    path = schema_path(event_type, version)
    return _load(path) if path.is_file() else None


def known_events() -> list[tuple[str, int]]:
    """Every (type, version) that has a schema, sorted."""
    found = []
    for path in SCHEMA_DIR.glob("*/v*.json"):
        found.append((path.parent.name, int(path.stem[1:])))
    return sorted(found)


def example_for(event_type: str, version: int) -> dict[str, Any]:
    return _load(EXAMPLE_DIR / event_type / f"v{version}.json")
