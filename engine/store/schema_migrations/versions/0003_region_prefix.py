"""Region prefixes from an index on PostgreSQL: `ix_case_region_prefix` (every register filter by region)
and `ix_case_open_region_due` (a region's open cases, for its overdue list), both `text_pattern_ops`, which
LIKE needs under a collation other than C (engine/store/tables.py). SQLite uses neither: there they are
created empty (`WHERE 0`), so that both databases keep the schema `init` creates. `ix_case_overdue_paused`:
the paused branch of the overdue condition. Fired rungs let go of their claims.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_region_prefix", "hazard_case", ["region"], postgresql_ops={"region": "text_pattern_ops"},
                    sqlite_where=sa.text("0"))
    op.create_index("ix_case_open_region_due", "hazard_case", ["region", "due_at"],
                    postgresql_ops={"region": "text_pattern_ops"},
                    postgresql_where=sa.text("is_final IS false AND met_at IS NULL AND rectified_at IS NULL"),
                    sqlite_where=sa.text("0"))
    paused = sa.text("is_final IS false AND paused_at IS NOT NULL AND due_at <= paused_at")
    op.create_index("ix_case_overdue_paused", "hazard_case", ["region", "due_at"],
                    postgresql_ops={"region": "text_pattern_ops"}, postgresql_where=paused, sqlite_where=paused)
    # Rows fired by an earlier build kept their claim, which kept them in ix_rung_claimed.
    op.execute("UPDATE rung SET claimed_by = NULL, lease_until = NULL WHERE status <> 'pending' AND claimed_by IS NOT NULL")


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
