"""Definition versions and working-day calendars in the database, by content hash."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import Connection

from typing import TYPE_CHECKING

from engine.domain.errors import NotFound
from engine.domain.events import text_hash
from engine.store.prepared import Prepared
from engine.store.tables import calendars, workflow_versions

if TYPE_CHECKING:
    from engine.domain.calendar import WorkCalendar


@dataclass(frozen=True)
class StoredVersion:
    name: str
    version: int
    content_hash: str
    source_text: str
    file_name: str
    calendar_hash: str | None
    installed_at: datetime


def _stored(row) -> StoredVersion:
    m = row._mapping
    return StoredVersion(m["name"], m["version"], m["content_hash"], m["source_text"], m["file_name"],
                         m["calendar_hash"], m["installed_at"])


def install(conn: Connection, *, name: str, text: str, file_name: str, calendar_hash: str | None,
            now: datetime) -> tuple[StoredVersion, bool]:
    """Store `text` as the next version of `name` unless it is the text of the newest version.

    Reverting a file to an older text makes a new version with that text: the newest is what new cases run.
    """
    digest = text_hash(text)
    newest = conn.execute(select(workflow_versions).where(workflow_versions.c.name == name)
                          .order_by(workflow_versions.c.version.desc()).limit(1)).first()
    if newest is not None and newest.content_hash == digest:
        return _stored(newest), False
    values = dict(name=name, version=(newest.version if newest is not None else 0) + 1, content_hash=digest, source_text=text, file_name=file_name,
                  calendar_hash=calendar_hash, installed_at=now)
    conn.execute(insert(workflow_versions), [values])
    return StoredVersion(**values), True


_NEWEST = Prepared(select(func.max(workflow_versions.c.version)).where(workflow_versions.c.name == bindparam("name")))
_NEWEST_CALENDAR = Prepared(select(calendars.c.content_hash).order_by(calendars.c.last_year.desc(),
                                                                        calendars.c.installed_at.desc()).limit(1))


def newest_version(conn: Connection, name: str) -> int | None:
    row = _NEWEST.first(conn, {"name": name})
    return row[0] if row else None


def get(conn: Connection, name: str, version: int | None = None) -> StoredVersion:
    stmt = select(workflow_versions).where(workflow_versions.c.name == name)
    stmt = stmt.where(workflow_versions.c.version == version) if version is not None \
        else stmt.order_by(workflow_versions.c.version.desc())
    row = conn.execute(stmt.limit(1)).first()
    if row is None:
        what = f"workflow '{name}'" + (f" version {version}" if version is not None else "")
        raise NotFound(f"no {what} installed", kind="workflow", key=name, rule="not-installed")
    return _stored(row)


def workflow_names(conn: Connection) -> list[str]:
    return [row.name for row in conn.execute(select(workflow_versions.c.name).distinct().order_by(workflow_versions.c.name))]


def all_versions(conn: Connection) -> list[StoredVersion]:
    rows = conn.execute(select(workflow_versions).order_by(workflow_versions.c.name, workflow_versions.c.version))
    return [_stored(r) for r in rows]


def save_calendar(conn: Connection, calendar: "WorkCalendar", now: datetime) -> str:
    digest = calendar.content_hash
    if conn.execute(select(calendars.c.content_hash).where(calendars.c.content_hash == digest)).first() is None:
        conn.execute(insert(calendars), [dict(content_hash=digest, name=calendar.name, version=calendar.version,
                                              first_year=calendar.first_year, last_year=calendar.last_year,
                                              data=calendar.to_data(), installed_at=now)])
    return digest


def load_calendar(conn: Connection, digest: str) -> "WorkCalendar":
    row = conn.execute(select(calendars.c.data).where(calendars.c.content_hash == digest)).first()
    if row is None:
        raise NotFound(f"no working-day calendar {digest[:12]} stored", kind="calendar", key=digest)
    from engine.domain.calendar import WorkCalendar
    return WorkCalendar.from_data(row.data)


def newest_calendar(conn: Connection) -> str | None:
    """The calendar covering the most years (the last stored among equals): what new cases count with."""
    row = _NEWEST_CALENDAR.first(conn)
    return row[0] if row else None


def calendar_hashes(conn: Connection) -> set[str]:
    return {row.content_hash for row in conn.execute(select(calendars.c.content_hash))}


def all_calendars(conn: Connection) -> list:
    return list(conn.execute(select(calendars.c.content_hash, calendars.c.name, calendars.c.version,
                                    calendars.c.first_year, calendars.c.last_year, calendars.c.installed_at)
                             .order_by(calendars.c.installed_at)))
