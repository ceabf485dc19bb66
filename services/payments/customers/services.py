"""Domain actions on customers. Views and event handlers stay thin and call these."""
from __future__ import annotations

import uuid

from django.db import connection
from django.utils import timezone

from .models import Customer


def register_customer(*, user_id: uuid.UUID | str, email: str) -> tuple[Customer, bool]:
    """Create the customer for a newly registered user, once.

    Idempotent without help from the inbox: ``ON CONFLICT DO NOTHING`` on the unique
    ``user_id`` makes a redelivery a no-op, and a concurrent duplicate waits on the
    first insert's row lock and then does nothing, with no IntegrityError to recover
    from inside the caller's transaction. The first e-mail wins; e-mail changes will
    arrive as their own events. Returns (customer, created).
    """
    user_id = uuid.UUID(str(user_id))
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, email, created_at) VALUES (%s, %s, %s) "  # noqa: S608 - table name from the model
            "ON CONFLICT (user_id) DO NOTHING RETURNING id",
            [user_id, email, timezone.now()],
        )
        created = cursor.fetchone() is not None
    return Customer.objects.get(user_id=user_id), created


def customer_for_user(user_id: str) -> Customer | None:
    """The caller's customer record, or None while the registration event is in flight."""
    try:
        parsed = uuid.UUID(str(user_id))
    except ValueError:
        return None
    return Customer.objects.filter(user_id=parsed, deleted_at__isnull=True).first()
