"""Issues 8-12: one definition of overdue (due_at, paused_at, met_at, rectified_at), the register's search
columns, the indexes they need; the projections are then re-derived from the events by `hazard db upgrade`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hazard_case") as batch:
        for name in ("due_at", "paused_at", "met_at", "rectified_at"):
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        for name in ("responsible_unit", "responsible_person", "department"):
            batch.add_column(sa.Column(name, sa.String, nullable=True))
        batch.drop_index("ix_case_open_deadline")
        batch.drop_column("deadline_at")
        batch.create_index("ix_case_open_due", ["is_final", "due_at"])
        batch.create_index("ix_hazard_case_found_at", ["found_at"])
    op.create_index("ix_rung_claimed", "rung", ["claimed_by"], sqlite_where=sa.text("claimed_by IS NOT NULL"),
                    postgresql_where=sa.text("claimed_by IS NOT NULL"))


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
