"""Enterprise users bound to one enterprise: the users table's `enterprise` (the enterprise's name or its unified
social credit code; NULL, as for every user of an older database, leaves the user unbound, acting across their
regions as before). The users' log carries the binding in its grants' data, so no grant changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("enterprise", sa.String, nullable=True))


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
