"""A case's rung rows found by their unique key alone (issue 23): `ix_rung_case_status` dropped.

`ix_rung_case_status` (case_id, status, due_at) was written by every rung row inserted and by every status a step
moved (a submit pausing a case's eight rows, a verify cancelling them): about one page of the WAL per such step.
Every read it served names the case: a command's rung rows (`states_of`), the next pending rung of each case on a
page of 我的待办, a back-dated write's claim of its case's due rungs, the audit's rows of a batch of cases. A case
has a handful of rows, and `uq_rung_once` (case_id, clock, cycle, rung), which the exactly-once guarantee keeps
anyway, finds them all by the same leading column; the status and due time are read from those few rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_rung_case_status", "rung")


def downgrade() -> None:
    raise NotImplementedError("hazard-closure migrates forward only: restore a backup to go back")
