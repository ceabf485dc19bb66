"""The account projection: what auth and payments said about users and API keys.

Messages arrive at least once and in any order, so every write is an upsert whose
result does not depend on the order: the tier keeps the newest `changed_at`, `verified`
and `deleted` only ever become true, a revoked key stays revoked, and credit entries
apply once each (keyed by grant/refund id), and a key's revocation keeps the earliest
`revoked_at` (which may be in the future: a rotated key's grace period).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.adapters import storage_cleanup
from app.adapters.models import Account, ApiKey, CreditEntry, Job


def _ensure_account(session: Session, user_id: uuid.UUID) -> None:
    session.execute(insert(Account).values(user_id=user_id).on_conflict_do_nothing(index_elements=["user_id"]))


def set_tier(session: Session, user_id: uuid.UUID, tier: str, at: datetime) -> bool:
    """Only a newer fact replaces the tier (a late `registered` cannot undo an upgrade)."""
    _ensure_account(session, user_id)
    result = session.execute(
        update(Account)
        .where(Account.user_id == user_id, or_(Account.tier_at.is_(None), Account.tier_at < at))
        .values(tier=tier, tier_at=at, updated_at=func.now())
    )
    return result.rowcount == 1


def set_verified(session: Session, user_id: uuid.UUID, verified: bool) -> None:
    _ensure_account(session, user_id)
    session.execute(
        update(Account)
        .where(Account.user_id == user_id)
        .values(verified=or_(func.coalesce(Account.verified, false()), literal(verified)), updated_at=func.now())
    )


def mark_deleted(session: Session, user_id: uuid.UUID) -> int:
    """Forgets the user's jobs and image rows (images cascade), queueing every object they
    held for deletion from the store (the sweeper removes them); returns how many jobs were
    removed."""
    _ensure_account(session, user_id)
    storage_cleanup.queue_user(session, user_id)
    session.execute(update(Account).where(Account.user_id == user_id).values(deleted=True, credits=0, updated_at=func.now()))
    session.execute(update(ApiKey).where(ApiKey.user_id == user_id).values(revoked=True, updated_at=func.now()))
    return session.execute(delete(Job).where(Job.user_id == user_id)).rowcount


def apply_credits(session: Session, entry_id: uuid.UUID, user_id: uuid.UUID, delta: int) -> bool:
    """Credits never go below zero: a refund of credits already spent takes what is left."""
    _ensure_account(session, user_id)
    inserted = session.execute(
        insert(CreditEntry).values(entry_id=entry_id, user_id=user_id, delta=delta)
        .on_conflict_do_nothing(index_elements=["entry_id"]).returning(CreditEntry.entry_id)
    ).scalar_one_or_none()
    if inserted is None:
        return False
    session.execute(
        update(Account)
        .where(Account.user_id == user_id)
        .values(credits=func.greatest(0, Account.credits + delta), updated_at=func.now())
    )
    return True


def upsert_api_key(session: Session, key_id: uuid.UUID, user_id: uuid.UUID, tier: str, limits: dict[str, Any] | None, scopes: list[str]) -> None:
    statement = insert(ApiKey).values(key_id=key_id, user_id=user_id, tier=tier, limits=limits, scopes=scopes)
    # A `revoked` that overtook `created` left a row with revoked=true: keep it revoked.
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key_id"],
            set_={"tier": statement.excluded.tier, "limits": statement.excluded.limits, "scopes": statement.excluded.scopes, "updated_at": func.now()},
        )
    )


def revoke_api_key(session: Session, key_id: uuid.UUID, user_id: uuid.UUID, revoked_at: datetime) -> None:
    """The key stops working AT ``revoked_at``, not when the message arrives: a key rotated
    with a grace period keeps working until the grace ends. The earliest time wins (auth
    only ever moves a revocation earlier, e.g. revoking a key during its grace)."""
    statement = insert(ApiKey).values(key_id=key_id, user_id=user_id, revoked_at=revoked_at)
    session.execute(statement.on_conflict_do_update(
        index_elements=["key_id"],
        set_={"revoked_at": func.least(func.coalesce(ApiKey.revoked_at, statement.excluded.revoked_at), statement.excluded.revoked_at),
              "updated_at": func.now()},
    ))


def get_account(session: Session, user_id: uuid.UUID) -> Account | None:
    return session.execute(select(Account).where(Account.user_id == user_id)).scalar_one_or_none()
