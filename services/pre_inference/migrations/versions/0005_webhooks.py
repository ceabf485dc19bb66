"""webhooks: partners' endpoints and the deliveries of job ends to them

A job's end queues one delivery per endpoint of its owner in the transaction that ends the
job (an outbox of deliveries: nothing is lost on a crash); the deliverer in the consumer
process sends them, signed, with retries (app.webhook_deliverer).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        # Fernet under PRE_INFERENCE_WEBHOOK_SECRETS_KEY (atelier_kit.secret_box): the service
        # must read it back to sign, so it cannot be a hash.
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True)),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.Column("disabled_reason", sa.Text()),
        sa.UniqueConstraint("user_id", "url", name="webhook_endpoints_user_url"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("endpoint_id", UUID(as_uuid=True), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("job_id", UUID(as_uuid=True)),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        # Due time while pending; a claimed delivery's is pushed past its lease, so one whose
        # deliverer died is sent again (with the same id) when the lease ends.
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Float()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="webhook_deliveries_status_valid"),
    )
    # One delivery per endpoint and job end, whatever retries the transition sees.
    op.create_index("webhook_deliveries_one_per_job", "webhook_deliveries", ["endpoint_id", "job_id", "event_type"],
                    unique=True, postgresql_where=sa.text("job_id IS NOT NULL"))
    # The deliverer's claim: due pending rows, oldest due first.
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    # The delivery log, newest first.
    op.create_index("webhook_deliveries_log", "webhook_deliveries", ["endpoint_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
