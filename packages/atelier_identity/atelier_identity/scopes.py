"""What an API key may do: the one list of scopes, and the one rule that applies them.

A user's own session (a token without ``key_id``) may do everything its account may. A token
made from an API key may do only what its scopes name, and never manage the account itself
(keys, password, deletion, checkout, cancelling a subscription): ``ACCOUNT`` is the scope no
key can hold. Every service asks ``permits`` (or ``require``) with the scope its route needs.
"""
from __future__ import annotations

from typing import Protocol

# Scope -> what it allows. Keys are created with a subset of these (all of them by default).
KEY_SCOPES: dict[str, str] = {
    "jobs:write": "submit, cancel and delete jobs and their images",
    "jobs:read": "read jobs and follow their event streams",
    "images:read": "list the gallery",
    "usage:read": "read limits and what is left of them",
    "billing:read": "read the subscription, invoices and the ledger",
    "webhooks:manage": "register, test and remove webhook endpoints and read their delivery log",
}
SCOPE_NAMES: tuple[str, ...] = tuple(KEY_SCOPES)
# The scope of routes that manage the account; only a user's own session holds it.
ACCOUNT = "account"
# What a new key gets when its creator names no scopes: everything but billing and webhooks
# (a webhook sends the account's jobs to an address of the key holder's choosing: asked for).
DEFAULT_KEY_SCOPES: tuple[str, ...] = ("jobs:write", "jobs:read", "images:read", "usage:read")


class ScopedIdentity(Protocol):
    api_key_id: str | None
    scopes: tuple[str, ...]


class InsufficientScope(Exception):
    code = "insufficient_scope"

    def __init__(self, scope: str):
        self.scope = scope
        message = ("an API key cannot manage the account; use your own session" if scope == ACCOUNT
                   else f"this API key lacks the {scope!r} scope")
        super().__init__(message)
        self.message = message


def permits(identity: ScopedIdentity, scope: str) -> bool:
    if scope != ACCOUNT and scope not in KEY_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")  # a typo in a route must not grant access
    if identity.api_key_id is None:
        return True
    return scope != ACCOUNT and scope in identity.scopes


def require(identity: ScopedIdentity, scope: str) -> None:
    if not permits(identity, scope):
        raise InsufficientScope(scope)
