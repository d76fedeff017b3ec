"""Records only cold commands touch, as SQLModel tables: the ledger imports (`hazard import`).

SQLModel's own metadata, not the Core tables' (`engine/store/tables.py` METADATA): the hot paths never
import this module, so they never pay for pydantic and the ORM. `Store.create_schema` creates both.

An import record is written in the same transaction as the cases it brought in, and `(sha256, sheet)` is
unique: a file imported twice is refused by the engine before anything is written, and two imports of one
file racing each other are settled by the key (the loser writes nothing).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from engine.domain.errors import Conflict
from engine.store.tables import UTCDateTime


class LedgerImport(SQLModel, table=True):
    """One `hazard import` that wrote cases: which file (by content), who, when, how many rows."""

    __tablename__ = "ledger_import"
    __table_args__ = (UniqueConstraint("sha256", "sheet", name="uq_ledger_import_file_sheet"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True)
    file_name: str
    sheet: str = ""                 # '' for a CSV file (a NULL would never be equal to another in the key)
    rows: int                       # data rows read
    imported: int                   # cases written
    skipped: int                    # invalid rows left out (--skip-invalid)
    actor: str
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))           # the engine's time
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))  # the real one
    first_case: str | None = None   # the smallest case id it wrote (by year, then number), whatever the years
    last_case: str | None = None    # the largest


def earlier_import(conn: Connection, sha256: str, sheet: str | None) -> LedgerImport | None:
    with Session(bind=conn) as session:
        return session.exec(select(LedgerImport).where(LedgerImport.sha256 == sha256,
                                                       LedgerImport.sheet == (sheet or ""))).first()


def record_import(conn: Connection, record: LedgerImport) -> int:
    """Insert the record in the caller's transaction; its id. Conflict when the same file got in first."""
    record.sheet = record.sheet or ""
    with Session(bind=conn) as session:
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"{record.file_name} was imported by another process meanwhile; nothing was written",
                           case_id="") from None
        return record.id


def all_imports(conn: Connection) -> list[LedgerImport]:
    with Session(bind=conn) as session:
        return list(session.exec(select(LedgerImport).order_by(LedgerImport.id)))
