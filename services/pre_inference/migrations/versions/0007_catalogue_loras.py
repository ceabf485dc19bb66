"""model_catalogue.loras: the LoRA adapters a worker offers for a model

`inference.worker.heartbeat` v2 lists the worker's LoRAs with the family each is for; the
consumer keeps that list ({name, family}) on each of the worker's rows: a model offers its own
family's, and a job naming another family's is told why it cannot have it. NULL: the worker
announced none (v1, or v2 without LoRAs).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_catalogue", sa.Column("loras", JSONB()))


def downgrade() -> None:
    op.drop_column("model_catalogue", "loras")
