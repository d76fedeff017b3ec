"""Fewer index writes per step (issue 23): indexes that no query needs, or that hold rows no query looks for.

- `ix_hazard_case_level`: no query searches by level alone (two or three values; the reports read it from
  `ix_case_report`); `ix_hazard_case_parent_id`: `ix_case_report` leads with `parent_id` and serves the same
  lookups; `ix_rung_case_id`: `uq_rung_once` and `ix_rung_case_status` lead with `case_id`. Dropped.
- `ix_rung_due` (status, due_at) over every rung row becomes `ix_rung_pending` (due_at) over the pending ones,
  the only ones a sweep looks for: a step pausing or cancelling a case's rows now deletes entries from it instead
  of moving them into the regions of paused and cancelled rows, which grew with the register and were never
  searched. `ix_rung_provisional` keeps `calendar status`'s count of open provisional rows an index read.
- `ix_case_open_due` (is_final, due_at) and `ix_case_work` (is_final, region, ...) hold the open cases only
  (`WHERE is_final IS false`, the words the queries they serve use): only open cases were ever looked for in them,
  and closing a case now deletes its entries instead of moving them into a region of closed cases.
- `ix_notification_inbox` holds the inbox's rows only (`channel = 'inbox'`): e-mail and webhook messages, which no
  inbox read looks for, no longer write entries into it.
- On SQLite, `ix_case_overdue_paused` is written again with `is_final IS 0`: 0003's `IS false` never matched the
  queries' `IS 0`, so upgraded databases never used it (a database `hazard init` made has the right one).

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
    # Rendered as SQLAlchemy renders `is_final.is_(False)` in the queries, so each planner matches the predicate.
    for name in ("ix_case_open_due", "ix_case_work"):
        op.drop_index(name, "hazard_case")
    open_sqlite, open_pg = sa.text("is_final IS 0"), sa.text("is_final IS false")
    op.create_index("ix_case_open_due", "hazard_case", ["is_final", "due_at"], sqlite_where=open_sqlite,
                    postgresql_where=open_pg)
    op.create_index("ix_case_work", "hazard_case", ["is_final", "region", "voided_at", "workflow",
                                                    "workflow_version", "state", "met_at", "rectified_at", "paused_at",
                                                    "due_at", "id"],
                    sqlite_where=open_sqlite, postgresql_where=open_pg)
    op.drop_index("ix_notification_inbox", "notification")
    op.create_index("ix_notification_inbox", "notification", ["recipient", "channel", "created_at"],
                    sqlite_where=sa.text("channel = 'inbox'"), postgresql_where=sa.text("channel = 'inbox'"))
    if op.get_bind().dialect.name == "sqlite":
        # 0003 wrote `is_final IS false`, which SQLite keeps as written and never matches with the queries'
        # `is_final IS 0`: on an upgraded SQLite database the overdue list never took this index.
        op.drop_index("ix_case_overdue_paused", "hazard_case")
        op.create_index("ix_case_overdue_paused", "hazard_case", ["region", "due_at"],
                        sqlite_where=sa.text("is_final IS 0 AND paused_at IS NOT NULL AND due_at <= paused_at"))
    op.create_index("ix_rung_provisional", "rung", ["status"], sqlite_where=sa.text("provisional IS 1"),
                    postgresql_where=sa.text("provisional IS true"))


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
