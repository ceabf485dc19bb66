"""api_keys.revoked_at: when a key stops working, which may be later than the event

A key rotated with a grace period is revoked "at" the end of that grace; auth publishes
auth.api_key.revoked at once, with that future revoked_at. The projection used to mark the
key revoked on arrival, cutting the grace short in pre_inference alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: not revoked by an event (the `revoked` flag still says revoked for good, as the
    # owner's deletion does, and as every revocation seen before this column did).
    op.add_column("api_keys", sa.Column("revoked_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("api_keys", "revoked_at")
