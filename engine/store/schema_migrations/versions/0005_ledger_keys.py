"""What an import recognises a row it already holds by: the sheet's own hazard code (隐患编号, kept in the case's
fields as `ledger_id`) as a column of its own, indexed, and an index of each enterprise's hazards by found time.
`hazard db upgrade` then re-derives every projection from the events, which fills the new column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hazard_case") as batch:
        batch.add_column(sa.Column("ledger_id", sa.String, nullable=True))
    op.create_index("ix_case_enterprise_found", "hazard_case", ["enterprise", "found_at"])
    coded = sa.text("ledger_id IS NOT NULL")
    op.create_index("ix_case_ledger_id", "hazard_case", ["ledger_id"], sqlite_where=coded, postgresql_where=coded)


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
