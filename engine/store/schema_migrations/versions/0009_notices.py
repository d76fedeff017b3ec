"""Notices (文书): `notice` (each issued notice's number, kind, office, year, sequence, the case and event that
issued it, its rendered text and that text's SHA-256, which the event seals) and `notice_counter` (the last
number taken per kind, office and year). Both start empty: no earlier release issued notices.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_counter",
        sa.Column("kind", sa.String, primary_key=True),
        sa.Column("office", sa.String, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "notice",
        sa.Column("number", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("office", sa.String, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("case_id", sa.String, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("region", sa.String, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
    )
    op.create_index("ix_notice_case", "notice", ["case_id", "seq"])
    op.create_index("ix_notice_kind_year", "notice", ["kind", "year"])


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
