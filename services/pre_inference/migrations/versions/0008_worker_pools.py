"""Worker pools: jobs.pool and model_catalogue.pool

Each pool of workers consumes its own queue (`inference.jobs`, `inference.jobs.<pool>`).
`inference.worker.heartbeat` v3 names the worker's pool; the catalogue keeps it per row, and a
job records the pool it was sent to, so that its queue position counts only the jobs ahead of
it in that queue. Existing rows were all the one pool's, "default".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_catalogue", sa.Column("pool", sa.Text(), nullable=False, server_default="default"))
    op.add_column("jobs", sa.Column("pool", sa.Text(), nullable=False, server_default="default"))
    # The queue position (and the starvation guard) read the queued jobs of one pool.
    op.drop_index("jobs_queue_order", table_name="jobs")
    op.create_index("jobs_queue_order", "jobs", ["pool", "priority", "created_at"], postgresql_where=sa.text("status = 'queued'"))


def downgrade() -> None:
    op.drop_index("jobs_queue_order", table_name="jobs")
    op.create_index("jobs_queue_order", "jobs", ["priority", "created_at"], postgresql_where=sa.text("status = 'queued'"))
    op.drop_column("jobs", "pool")
    op.drop_column("model_catalogue", "pool")
