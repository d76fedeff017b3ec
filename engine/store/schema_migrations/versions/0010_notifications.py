"""Notifications: `notification` (the transactional outbox and the in-app inbox: one row per message, its
idempotency key, channel, address, text, delivery status and claim) and `user_contact` (each user's e-mail
address, phone, webhook URL, chosen channels and quiet hours, the projection of the users' log's `contact`
grants). Both start empty: no earlier release told anyone anything.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-20
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String, nullable=False, unique=True),
        sa.Column("case_id", sa.String, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("recipient", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("address", sa.String, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String),
        sa.Column("claimed_by", sa.String),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    )
    unsent = sa.text("next_at IS NOT NULL")
    op.create_index("ix_notification_due", "notification", ["next_at"], sqlite_where=unsent, postgresql_where=unsent)
    op.create_index("ix_notification_inbox", "notification", ["recipient", "channel", "created_at"])
    op.create_table(
        "user_contact",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("email", sa.String),
        sa.Column("phone", sa.String),
        sa.Column("webhook", sa.String),
        sa.Column("channels", sa.String),
        sa.Column("quiet", sa.String),
    )


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
