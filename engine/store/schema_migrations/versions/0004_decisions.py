"""The fourth release: sanctions and extensions decided by people (`decisions`), rectification told apart from
acceptance (`accepted_at`), voided cases (`voided_at`) and the time of the last event a person recorded
(`acted_at`: the scheduler's reminders no longer block a back-filled record of an earlier moment), the
proposals each sweep raised (`sweep_log.proposed`), and each row's digest (`row_hash`: a command checks the row
it loads against it), and when a back-dated record counts as having met its deadline (`judged_at`, its recording). The
reports' index carries `voided_at` (every figure leaves voided cases out) and `accepted_at`. `hazard db upgrade` then re-derives every
projection from the events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_REPORT = ["parent_id", "voided_at", "region", "industry", "level", "department", "found_at", "rectified_at",
           "accepted_at", "due_at", "met_at", "paused_at", "closed_at", "judged_at"]


def upgrade() -> None:
    with op.batch_alter_table("hazard_case") as batch:
        for name in ("accepted_at", "voided_at", "acted_at", "judged_at"):
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decisions", sa.JSON, nullable=False, server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("row_hash", sa.String, nullable=True))
    with op.batch_alter_table("sweep_log") as batch:
        batch.add_column(sa.Column("proposed", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.drop_index("ix_case_report", "hazard_case")
    op.create_index("ix_case_report", "hazard_case", _REPORT)


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
