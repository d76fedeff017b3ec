"""Definition versions and working-day calendars as the engine runs them: parsed once per process.

A definition version is parsed from the exact text stored in the database, never from today's file, and a
calendar is rebuilt from the data stored under its content hash, so what ran can always run again.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from engine.calendar import WorkCalendar, default_calendar
from engine.case import Case
from engine.definition.check import problems as check_problems
from engine.definition.model import Definition
from engine.definition.parse import parse_text
from engine.errors import DefinitionInvalid
from engine.store import definitions as definition_store


def load_definition(text: str, filename: str) -> Definition:
    """Parse and check a definition; raise DefinitionInvalid with every problem as FILE:LINE: message."""
    definition = parse_text(text, filename)
    found = check_problems(definition)
    if found:
        raise DefinitionInvalid(found)
    return definition


def builtin_workflow_files() -> list[tuple[str, str]]:
    folder = resources.files("workflows")
    return sorted((f"workflows/{p.name}", p.read_text(encoding="utf-8")) for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


@dataclass(frozen=True)
class Loaded:
    """A definition version as the engine runs it."""

    definition: Definition
    version: int
    calendar: WorkCalendar


class Registry:
    """Caches of parsed definition versions and calendars; every answer comes from the database first."""

    def __init__(self):
        self._versions: dict[tuple[str, int], Loaded] = {}
        self._calendars: dict[str, WorkCalendar] = {}
        self._newest_hash: str | None = None

    def loaded(self, conn, name: str, version: int | None = None) -> Loaded:
        """A definition version, parsed once per process; without `version`, the newest (asked every time:
        another process may have installed one since)."""
        if version is None:
            version = definition_store.newest_version(conn, name)
        if version is not None and (name, version) in self._versions:
            return self._versions[(name, version)]
        stored = definition_store.get(conn, name, version)
        definition = parse_text(stored.source_text, stored.file_name)
        calendar = self.calendar(conn, stored.calendar_hash)
        self._versions[(name, stored.version)] = Loaded(definition, stored.version, calendar)
        return self._versions[(name, stored.version)]

    def calendar_of(self, conn, case: Case, run: Loaded) -> WorkCalendar:
        """The calendar a case counts working days with: the one its log names, else its definition's."""
        return self.calendar(conn, case.calendar) if case.calendar else run.calendar

    def calendar(self, conn, digest: str | None) -> WorkCalendar:
        if digest is None:
            return default_calendar()
        if digest not in self._calendars:
            self._calendars[digest] = definition_store.load_calendar(conn, digest)
        return self._calendars[digest]

    def forget_newest_calendar(self) -> None:
        self._newest_hash = None

    def newest_calendar(self, conn) -> str | None:
        if self._newest_hash is None:
            self._newest_hash = definition_store.newest_calendar(conn)
        return self._newest_hash



def calendar_status(conn) -> dict:
    """The stored calendars, the installed library's, and how many open rungs are provisional."""
    from sqlalchemy import func, select

    from engine.store.tables import rungs
    library = default_calendar()
    stored = definition_store.all_calendars(conn)
    newest = definition_store.newest_calendar(conn)
    provisional = conn.execute(select(func.count()).select_from(rungs).where(
        rungs.c.provisional.is_(True), rungs.c.status.in_(("pending", "paused")))).scalar_one()
    return {"stored": [{"hash": c.content_hash, "name": c.name, "version": c.version, "first_year": c.first_year,
                        "last_year": c.last_year, "installed_at": c.installed_at, "newest": c.content_hash == newest}
                       for c in stored],
            "library": {"hash": library.content_hash, "version": library.version, "first_year": library.first_year,
                        "last_year": library.last_year,
                        "stored": any(c.content_hash == library.content_hash for c in stored)},
            "provisional_rungs": provisional}
