"""The web console's sessions and its log-in rate limit: `web_session` (a row per signed-in browser: the user, the
SHA-256 of the cookie's secret, the CSRF token, when it was last used and when it ends at the latest) and
`login_failure` (failed log-ins counted per user name and per address). Neither is part of the users' log: a
session grants nothing a password did not, and both start empty.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("user_name", sa.String, nullable=False),
        sa.Column("credential", sa.String, nullable=False),
        sa.Column("csrf", sa.String, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_session_user_name", "web_session", ["user_name"])
    op.create_table(
        "login_failure",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
