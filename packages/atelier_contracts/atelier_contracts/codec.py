"""Encode and decode envelopes, validating the envelope and the event's own schema."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from .envelope import Envelope
from .registry import envelope_schema, schema_for

_FORMATS = FormatChecker()


class ContractError(ValueError):
    """The message does not match its contract. Never retryable: dead-letter it."""


@lru_cache(maxsize=None)
def _validator(event_type: str | None, version: int | None) -> Draft202012Validator | None:
    """Compiled once per schema: building a validator costs more than using it."""
    schema = envelope_schema() if event_type is None else schema_for(event_type, version)
    return None if schema is None else Draft202012Validator(schema, format_checker=_FORMATS)


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def validate(raw: dict[str, Any]) -> None:
    problems = _errors(_validator(None, None), raw)
    if problems:
        raise ContractError("envelope: " + "; ".join(problems))
    validator = _validator(raw["type"], raw["version"])
    if validator is None:
        raise ContractError(f"no schema for {raw['type']} v{raw['version']}")
    problems = _errors(validator, raw["data"])
    if problems:
        raise ContractError(f"{raw['type']} v{raw['version']}: " + "; ".join(problems))


def encode(envelope: Envelope) -> bytes:
    raw = envelope.to_dict()
    if not envelope.validated:
        validate(raw)
    return json.dumps(raw, separators=(",", ":"), sort_keys=True).encode()


def decode(body: bytes | str) -> Envelope:
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ContractError("envelope must be a JSON object")
    validate(raw)
    return Envelope.from_dict(raw).mark_validated()
