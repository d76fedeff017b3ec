"""The second release: one definition of overdue (due_at, paused_at, met_at, rectified_at), the register's
search columns and the indexes the register and the reports need; the users' log with tokens, passwords and
settings; campaign definitions; the record of imported ledgers. `hazard db upgrade` then re-derives every
projection from the events and writes the users the first release had into the users' log.

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
    op.create_index("ix_case_report", "hazard_case", ["parent_id", "region", "industry", "level", "department",
                                                      "found_at", "rectified_at", "due_at", "met_at", "paused_at",
                                                      "closed_at"])
    op.create_table("user_grant", sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("actor", sa.String, nullable=False), sa.Column("action", sa.String, nullable=False),
                    sa.Column("subject", sa.String, nullable=False), sa.Column("roles", sa.String, nullable=False),
                    sa.Column("regions", sa.String, nullable=False), _ts("at"), _ts("recorded_at"),
                    sa.Column("data", sa.JSON, nullable=False), sa.Column("prev_hash", sa.String, nullable=False),
                    sa.Column("hash", sa.String, nullable=False))
    op.create_index("ix_user_grant_subject", "user_grant", ["subject"])
    op.create_table("user_token", sa.Column("id", sa.String, primary_key=True),
                    sa.Column("user_name", sa.String, nullable=False), sa.Column("token_hash", sa.String, nullable=False),
                    _ts("created_at"), _ts("expires_at", nullable=True), _ts("revoked_at", nullable=True))
    op.create_index("ix_user_token_user_name", "user_token", ["user_name"])
    op.create_table("user_password", sa.Column("name", sa.String, primary_key=True),
                    sa.Column("password_hash", sa.String, nullable=False), _ts("set_at"))
    op.create_table("setting", sa.Column("key", sa.String, primary_key=True), sa.Column("value", sa.String, nullable=False))
    op.create_table("campaign_version", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String, nullable=False), sa.Column("version", sa.Integer, nullable=False),
                    sa.Column("title", sa.String, nullable=False), sa.Column("content_hash", sa.String, nullable=False),
                    sa.Column("source_text", sa.Text, nullable=False), sa.Column("file_name", sa.String, nullable=False),
                    _ts("installed_at"), sa.UniqueConstraint("name", "version", name="uq_campaign_version"))
    op.create_index("ix_campaign_version_name", "campaign_version", ["name"])
    op.create_table("ledger_import", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("sha256", sa.String, nullable=False), sa.Column("file_name", sa.String, nullable=False),
                    sa.Column("sheet", sa.String, nullable=False), sa.Column("rows", sa.Integer, nullable=False),
                    sa.Column("imported", sa.Integer, nullable=False), sa.Column("skipped", sa.Integer, nullable=False),
                    sa.Column("actor", sa.String, nullable=False), _ts("at"), _ts("recorded_at"),
                    sa.Column("first_case", sa.String), sa.Column("last_case", sa.String),
                    sa.UniqueConstraint("sha256", "sheet", name="uq_ledger_import_file_sheet"))
    op.create_index("ix_ledger_import_sha256", "ledger_import", ["sha256"])


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
