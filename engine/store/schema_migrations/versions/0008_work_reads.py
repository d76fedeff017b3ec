"""我的待办 read from indexes: `hazard_case.pending_decision` (a proposal or an extension application awaits a
decision; derived from `decisions` like every projection column, so replay checks it), `ix_case_pending_decision`
to find those cases, `ix_case_work` (the open cases of a region grouped and ordered overdue first from the index
alone) and `ix_rung_case_status` (a page's next rungs by case). `hazard db upgrade` then re-derives every
projection from the events, which sets the new column.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hazard_case") as batch:
        batch.add_column(sa.Column("pending_decision", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_case_work", "hazard_case", ["is_final", "region", "voided_at", "workflow", "workflow_version",
                                                    "state", "met_at", "rectified_at", "paused_at", "due_at", "id"])
    op.create_index("ix_case_pending_decision", "hazard_case", ["pending_decision", "region"])
    op.create_index("ix_rung_case_status", "rung", ["case_id", "status", "due_at"])


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
