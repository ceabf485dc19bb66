"""account projection, API keys, reservations and live job state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), primary_key=True),
        # NULL tier/verified: no auth event seen yet; the token claim decides meanwhile.
        sa.Column("tier", sa.Text()),
        sa.Column("tier_at", sa.DateTime(timezone=True)),
        sa.Column("verified", sa.Boolean()),
        sa.Column("credits", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("allowance_day", sa.Date()),
        sa.Column("allowance_used", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("credits >= 0", name="accounts_credits_nonnegative"),
        sa.CheckConstraint("allowance_used >= 0", name="accounts_allowance_nonnegative"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("tier", sa.Text()),
        sa.Column("limits", postgresql.JSONB()),
        sa.Column("scopes", postgresql.JSONB()),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("api_keys_user", "api_keys", ["user_id"])
    # Credit grants and refunds apply once each, whatever the message id of their delivery.
    op.create_table(
        "credit_entries",
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    for name, column in (
        ("cost", sa.Column("cost", sa.Float(), nullable=False, server_default="0")),
        ("reserved_allowance", sa.Column("reserved_allowance", sa.Integer(), nullable=False, server_default="0")),
        ("reserved_credits", sa.Column("reserved_credits", sa.Integer(), nullable=False, server_default="0")),
        ("reservation_day", sa.Column("reservation_day", sa.Date())),
        ("step", sa.Column("step", sa.Integer())),
        ("total_steps", sa.Column("total_steps", sa.Integer())),
        ("time_limit_at", sa.Column("time_limit_at", sa.DateTime(timezone=True))),
    ):
        op.add_column("jobs", column)
    # Concurrency counts and the sweeper read only live jobs: partial indexes stay small.
    op.create_index("jobs_user_active", "jobs", ["user_id", "api_key_id"], postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index("jobs_queue_order", "jobs", ["priority", "created_at"], postgresql_where=sa.text("status = 'queued'"))
    op.create_index("jobs_queued_deadline", "jobs", ["deadline_at"], postgresql_where=sa.text("status = 'queued'"))
    op.create_index("jobs_running_limit", "jobs", ["time_limit_at"], postgresql_where=sa.text("status = 'running'"))
    op.create_index("images_job_newest", "images", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("images_job_newest", table_name="images")
    for index in ("jobs_running_limit", "jobs_queued_deadline", "jobs_queue_order", "jobs_user_active"):
        op.drop_index(index, table_name="jobs")
    for column in ("time_limit_at", "total_steps", "step", "reservation_day", "reserved_credits", "reserved_allowance", "cost"):
        op.drop_column("jobs", column)
    op.drop_table("credit_entries")
    op.drop_index("api_keys_user", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("accounts")
