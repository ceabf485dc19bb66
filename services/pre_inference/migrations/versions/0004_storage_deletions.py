"""storage_deletions: objects to remove from the store once their rows are gone

Deleting an image or an account used to delete the rows and leave the files "for the storage
cleanup", which did not exist: a deleted account's images stayed in the bucket. The keys are
now queued in the same transaction and the sweeper removes them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_deletions",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("storage_deletions")
