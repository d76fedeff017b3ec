"""Fewer index writes per step (issue 23): indexes that no query needs, or that hold rows no query looks for.

- `ix_hazard_case_level`: no query searches by level alone (two or three values; the reports read it from
  `ix_case_report`); `ix_hazard_case_parent_id`: `ix_case_report` leads with `parent_id` and serves the same
  lookups; `ix_rung_case_id`: `uq_rung_once` and `ix_rung_case_status` lead with `case_id`. Dropped.
- `ix_rung_due` (status, due_at) over every rung row becomes `ix_rung_pending` (due_at) over the pending ones,
  the only ones a sweep looks for: a step pausing or cancelling a case's rows now deletes entries from it instead
  of moving them into the regions of paused and cancelled rows, which grew with the register and were never
  searched. `ix_rung_provisional` keeps `calendar status`'s count of open provisional rows an index read.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_hazard_case_level", "hazard_case")
    op.drop_index("ix_hazard_case_parent_id", "hazard_case")
    op.drop_index("ix_rung_case_id", "rung")
    op.drop_index("ix_rung_due", "rung")
    pending = sa.text("status = 'pending'")
    op.create_index("ix_rung_pending", "rung", ["due_at"], sqlite_where=pending, postgresql_where=pending)
    op.create_index("ix_rung_provisional", "rung", ["status"], sqlite_where=sa.text("provisional IS 1"),
                    postgresql_where=sa.text("provisional IS true"))


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
