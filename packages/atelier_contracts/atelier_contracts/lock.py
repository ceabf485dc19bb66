"""Freezes published event schemas.

A version, once published, is a promise to every consumer: its schema may not change.
``published.lock.json`` records a digest of each published schema; the contract tests
fail when a schema drifts from its digest or a new schema has not been recorded.
Publish a new version (``v2.json``) rather than editing an old one.

    python -m atelier_contracts.lock          # check
    python -m atelier_contracts.lock --write  # record new schemas (never rewrites old ones)
"""
from __future__ import annotations

import hashlib
import json
import sys

from .registry import PACKAGE_ROOT, known_events, schema_path

LOCK_FILE = PACKAGE_ROOT / "published.lock.json"


def digest(event_type: str, version: int) -> str:
    canonical = json.dumps(json.loads(schema_path(event_type, version).read_text()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_lock() -> dict[str, str]:
    return json.loads(LOCK_FILE.read_text()) if LOCK_FILE.is_file() else {}


def problems() -> list[str]:
    lock = read_lock()
    found = []
    for event_type, version in known_events():
        key = f"{event_type}.v{version}"
        if key not in lock:
            found.append(f"{key}: not recorded in published.lock.json (run python -m atelier_contracts.lock --write)")
        elif lock[key] != digest(event_type, version):
            found.append(f"{key}: schema changed after publication; add v{version + 1} instead")
    present = {f"{t}.v{v}" for t, v in known_events()}
    found += [f"{key}: published schema was deleted" for key in lock if key not in present]
    return found


def write() -> None:
    lock = read_lock()
    for event_type, version in known_events():
        lock.setdefault(f"{event_type}.v{version}", digest(event_type, version))
    LOCK_FILE.write_text(json.dumps(dict(sorted(lock.items())), indent=2) + "\n")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    issues = problems()
    print("\n".join(issues) or "contracts: every published schema is unchanged")
    sys.exit(1 if issues else 0)
