"""Writing the audit log; call inside the transaction of the change it records."""
from __future__ import annotations

from .models import AuditEntry, User


def record(action: str, *, target: User | None = None, actor: User | None = None,
           old: object = "", new: object = "", reason: str = "") -> AuditEntry:
    return AuditEntry.objects.create(
        action=action,
        actor_id=actor.pk if actor is not None else None,
        actor_email=actor.email if actor is not None else "",
        target_user_id=target.pk if target is not None else None,
        target_email=target.email if target is not None else "",
        old_value="" if old is None else str(old)[:200],
        new_value="" if new is None else str(new)[:200],
        reason=reason,
    )
