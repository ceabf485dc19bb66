"""model_catalogue: what each inference worker serves, from its heartbeats

One row per (worker, model), refreshed by every `inference.worker.heartbeat`: the model's
family, kinds and limits, whether that worker has it loaded, and when the worker was last
heard from. GET /api/v1/models and admission read it (ready / cold / unavailable).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_catalogue",
        sa.Column("worker", sa.Text(), primary_key=True),
        sa.Column("model", sa.Text(), primary_key=True),
        sa.Column("family", sa.Text(), nullable=False),
        sa.Column("variant", sa.Text(), nullable=False),
        sa.Column("loaded", sa.Boolean(), nullable=False),
        sa.Column("kinds", JSONB(), nullable=False),
        sa.Column("schedulers", JSONB()),
        sa.Column("limits", JSONB(), nullable=False),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        # The worker's clock orders its heartbeats; ours says whether it is still alive.
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("model_catalogue_model", "model_catalogue", ["model", "seen_at"])


def downgrade() -> None:
    op.drop_index("model_catalogue_model", table_name="model_catalogue")
    op.drop_table("model_catalogue")
