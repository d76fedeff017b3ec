"""The tables, as SQLModel classes; hot paths use their `__table__` with SQLAlchemy Core statements.

Keys settle races: `(case_id, seq)` makes a second writer of the same event number fail; `(case_id, clock,
cycle, rung)` makes a rung fire at most once; `(name, version)` keeps one row per definition version.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on both databases (SQLite drops offsets silently)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: every instant must carry its zone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ts(nullable: bool = False, index: bool = False):
    return Field(default=None, sa_column=Column(UTCDateTime, nullable=nullable, index=index))


def _json():
    return Field(default=None, sa_column=Column(JSON, nullable=False))


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_version"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: int
    content_hash: str
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    file_name: str
    calendar_hash: str | None = None
    installed_at: datetime = _ts()


class WorkCalendarRow(SQLModel, table=True):
    __tablename__ = "work_calendar"
    content_hash: str = Field(primary_key=True)
    name: str
    version: str
    first_year: int
    last_year: int
    data: dict = _json()
    installed_at: datetime = _ts()


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    name: str = Field(primary_key=True)
    roles: str            # comma-separated
    regions: str          # comma-separated region code prefixes
    created_at: datetime = _ts()


class CaseCounter(SQLModel, table=True):
    __tablename__ = "case_counter"
    year: int = Field(primary_key=True)
    last: int


class HazardCase(SQLModel, table=True):
    __tablename__ = "hazard_case"
    __table_args__ = (
        Index("ix_case_state_region", "state", "region"),
        Index("ix_case_open_deadline", "is_final", "deadline_at"),
    )
    id: str = Field(primary_key=True)
    workflow: str
    workflow_version: int
    state: str
    version: int
    level: str = Field(index=True)
    title: str
    enterprise: str
    region: str = Field(index=True)
    industry: str
    source: str
    found_at: datetime = _ts()
    deadline: str | None = None
    deadline_at: datetime | None = _ts(nullable=True)
    fields: dict = _json()
    flags: list = _json()
    signers: dict = _json()
    clocks: dict = _json()
    fired: list = _json()
    parent_id: str | None = Field(default=None, index=True)
    calendar_hash: str | None = None
    is_final: bool = False
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    closed_at: datetime | None = _ts(nullable=True)
    last_hash: str


class CaseEvent(SQLModel, table=True):
    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_event_case_seq"),)
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    case_id: str = Field(sa_column=Column(String, nullable=False))
    seq: int
    trigger: str
    from_state: str | None = None
    to_state: str
    actor: str
    role: str
    at: datetime = _ts(index=True)
    recorded_at: datetime = _ts()
    data: dict = _json()
    workflow: str
    workflow_version: int
    prev_hash: str
    hash: str


class RungRow(SQLModel, table=True):
    __tablename__ = "rung"
    __table_args__ = (
        UniqueConstraint("case_id", "clock", "cycle", "rung", name="uq_rung_once"),
        Index("ix_rung_due", "status", "due_at"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    case_id: str = Field(index=True)
    clock: str
    cycle: int
    rung: str
    action: str
    due_at: datetime | None = _ts(nullable=True)
    provisional: bool = False
    status: str              # pending, paused, fired, skipped, cancelled
    fired_at: datetime | None = _ts(nullable=True)
    sweep_id: str | None = None
    claimed_by: str | None = None
    lease_until: datetime | None = _ts(nullable=True)


class SweepLog(SQLModel, table=True):
    __tablename__ = "sweep_log"
    id: str = Field(primary_key=True)
    host: str
    now: datetime = _ts()
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    fired: int = 0
    skipped: int = 0
    max_late_seconds: float = 0.0


cases = HazardCase.__table__
events = CaseEvent.__table__
rungs = RungRow.__table__
users = AppUser.__table__
workflow_versions = WorkflowVersion.__table__
calendars = WorkCalendarRow.__table__
counters = CaseCounter.__table__
sweeps = SweepLog.__table__
