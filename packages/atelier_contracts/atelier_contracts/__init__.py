"""Event contracts shared by every Atelier service.

One JSON Schema per event type and version lives in ``schemas/<type>/v<N>.json``;
``examples/<type>/v<N>.json`` holds a full envelope that must validate. Published
versions are frozen by ``published.lock.json`` (see ``lock.py``).
"""
from .codec import ContractError, decode, encode, validate
from .envelope import Envelope, make_envelope, routing_key
from .registry import known_events, schema_for

__all__ = [
    "ContractError",
    "Envelope",
    "decode",
    "encode",
    "known_events",
    "make_envelope",
    "routing_key",
    "schema_for",
    "validate",
]
