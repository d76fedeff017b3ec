"""The schema of the first release (commit d966e0a): what its `hazard init` created.

Revision ID: 0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)


def upgrade() -> None:
    op.create_table("workflow_version", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String, nullable=False), sa.Column("version", sa.Integer, nullable=False),
                    sa.Column("content_hash", sa.String, nullable=False),
                    sa.Column("source_text", sa.Text, nullable=False), sa.Column("file_name", sa.String, nullable=False),
                    sa.Column("calendar_hash", sa.String), _ts("installed_at"), sa.UniqueConstraint("name", "version"))
    op.create_index("ix_workflow_version_name", "workflow_version", ["name"])
    op.create_table("work_calendar", sa.Column("content_hash", sa.String, primary_key=True),
                    sa.Column("name", sa.String, nullable=False), sa.Column("version", sa.String, nullable=False),
                    sa.Column("first_year", sa.Integer, nullable=False), sa.Column("last_year", sa.Integer, nullable=False),
                    sa.Column("data", sa.JSON, nullable=False), _ts("installed_at"))
    op.create_table("app_user", sa.Column("name", sa.String, primary_key=True),
                    sa.Column("roles", sa.String, nullable=False), sa.Column("regions", sa.String, nullable=False),
                    _ts("created_at"))
    op.create_table("case_counter", sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("last", sa.Integer, nullable=False))
    op.create_table(
        "hazard_case", sa.Column("id", sa.String, primary_key=True), sa.Column("workflow", sa.String, nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False), sa.Column("state", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False), sa.Column("level", sa.String, nullable=False),
        sa.Column("title", sa.String, nullable=False), sa.Column("enterprise", sa.String, nullable=False),
        sa.Column("region", sa.String, nullable=False), sa.Column("industry", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False), _ts("found_at"), sa.Column("deadline", sa.String),
        _ts("deadline_at", nullable=True), sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("flags", sa.JSON, nullable=False), sa.Column("signers", sa.JSON, nullable=False),
        sa.Column("clocks", sa.JSON, nullable=False), sa.Column("fired", sa.JSON, nullable=False),
        sa.Column("parent_id", sa.String), sa.Column("calendar_hash", sa.String),
        sa.Column("is_final", sa.Boolean, nullable=False), _ts("created_at"), _ts("updated_at"),
        _ts("closed_at", nullable=True), sa.Column("last_hash", sa.String, nullable=False))
    for name, columns in (("ix_hazard_case_level", ["level"]), ("ix_hazard_case_region", ["region"]),
                          ("ix_hazard_case_parent_id", ["parent_id"]), ("ix_case_state_region", ["state", "region"]),
                          ("ix_case_open_deadline", ["is_final", "deadline_at"])):
        op.create_index(name, "hazard_case", columns)
    op.create_table(
        "case_event", _id(), sa.Column("case_id", sa.String, nullable=False), sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("trigger", sa.String, nullable=False), sa.Column("from_state", sa.String),
        sa.Column("to_state", sa.String, nullable=False), sa.Column("actor", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False), _ts("at"), _ts("recorded_at"),
        sa.Column("data", sa.JSON, nullable=False), sa.Column("workflow", sa.String, nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False), sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("hash", sa.String, nullable=False), sa.UniqueConstraint("case_id", "seq", name="uq_event_case_seq"))
    op.create_index("ix_case_event_at", "case_event", ["at"])
    op.create_table(
        "rung", _id(), sa.Column("case_id", sa.String, nullable=False), sa.Column("clock", sa.String, nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False), sa.Column("rung", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False), _ts("due_at", nullable=True),
        sa.Column("provisional", sa.Boolean, nullable=False), sa.Column("status", sa.String, nullable=False),
        _ts("fired_at", nullable=True), sa.Column("sweep_id", sa.String), sa.Column("claimed_by", sa.String),
        _ts("lease_until", nullable=True), sa.UniqueConstraint("case_id", "clock", "cycle", "rung", name="uq_rung_once"))
    op.create_index("ix_rung_case_id", "rung", ["case_id"])
    op.create_index("ix_rung_due", "rung", ["status", "due_at"])
    op.create_table("sweep_log", sa.Column("id", sa.String, primary_key=True), sa.Column("host", sa.String, nullable=False),
                    _ts("now"), _ts("started_at"), _ts("finished_at", nullable=True),
                    sa.Column("fired", sa.Integer, nullable=False), sa.Column("skipped", sa.Integer, nullable=False),
                    sa.Column("max_late_seconds", sa.Float, nullable=False))


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
