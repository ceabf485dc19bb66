"""jobs, images, and the messaging outbox/inbox

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from atelier_messaging import schema as messaging_schema
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = ("queued", "running", "succeeded", "failed", "canceled")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("api_key_id", sa.Text()),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="queued"),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
        sa.Column("error_code", sa.Text()),
        sa.Column("error_message", sa.Text()),
        sa.Column("idempotency_key", sa.Text()),
        sa.Column("request_fingerprint", sa.Text()),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("user_id", "idempotency_key", name="jobs_user_idempotency_key"),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="jobs_status_valid"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="jobs_progress_range"),
    )
    op.create_index("jobs_user_newest", "jobs", ["user_id", "created_at", "id"])
    op.create_table(
        "images",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, server_default=sa.func.gen_random_uuid()),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("job_id", "key", name="images_job_key"),
    )
    op.create_index("images_job", "images", ["job_id", "position"])
    for statement in messaging_schema.ddl():
        op.execute(statement)


def downgrade() -> None:
    for statement in messaging_schema.DROP:
        op.execute(statement)
    op.drop_table("images")
    op.drop_table("jobs")
