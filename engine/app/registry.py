"""Definition versions and working-day calendars as the engine runs them: parsed once per process.

A definition version is parsed from the exact text stored in the database, never from today's file, and a
calendar is rebuilt from the data stored under its content hash, so what ran can always run again. Both
are immutable once stored, so caching them is safe for as long as a process lives; the caches are
bounded and locked, so a web server's threads and a scheduler running for months can share one registry.
What can change underneath (the newest version of a workflow, the newest calendar) is asked of the
database by every unit of work, so another process's `workflow install` or `calendar refresh` is seen at once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources

from typing import TYPE_CHECKING

from engine.domain.events import text_hash
from engine.store import definitions as definition_store

if TYPE_CHECKING:
    from engine.domain.calendar import WorkCalendar
    from engine.domain.case import Case
    from engine.domain.definition.model import Definition

MAX_VERSIONS = 512     # definition versions kept parsed (a province runs a few dozen)
MAX_CALENDARS = 32


def load_definition(text: str, filename: str) -> "Definition":
    """Parse and check a definition; raise DefinitionInvalid with every problem as FILE:LINE: message."""
    from engine.domain.definition.check import problems as check_problems
    from engine.domain.definition.parse import parse_text
    from engine.domain.errors import DefinitionInvalid

    definition = parse_text(text, filename)
    found = check_problems(definition)
    if any(t.issues for t in definition.transitions):
        from engine.app.notices import issues_problems
        found = sorted(found + issues_problems(definition), key=lambda p: p[1])
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

    definition: "Definition"
    version: int
    calendar: "WorkCalendar"
    content_hash: str = ""   # of the text it was parsed from; each new case's report event records it


class _Bounded(OrderedDict):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def keep(self, key, value):
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
        return value


class Registry:
    """Parsed definition versions and calendars, shared by every unit of work of a process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._versions: _Bounded = _Bounded(MAX_VERSIONS)
        self._calendars: _Bounded = _Bounded(MAX_CALENDARS)

    def loaded(self, conn, name: str, version: int | None = None) -> Loaded:
        """A definition version; without `version`, the newest one stored now."""
        if version is None:
            version = definition_store.newest_version(conn, name)
        key = (name, version)
        with self._lock:
            found = self._versions.get(key)
        if found is not None:
            return found
        from engine.domain.definition.parse import parse_stored# a read-only command may never need a definition

        stored = definition_store.get(conn, name, version)
        if text_hash(stored.source_text) != stored.content_hash:
            # Never run a rule edited in the database behind the engine's back (`audit verify` names it too).
            from engine.domain.errors import TamperDetected
            raise TamperDetected(f"workflow {name} version {stored.version}: its stored text does not hash to "
                                 f"{stored.content_hash[:12]} (edited); the engine will not run it")
        definition = parse_stored(stored.source_text, stored.file_name)
        loaded = Loaded(definition, stored.version, self.calendar(conn, stored.calendar_hash), stored.content_hash)
        with self._lock:
            return self._versions.keep((name, stored.version), loaded)

    def serving(self, conn, roles: tuple[str, ...]) -> frozenset[str]:
        """The workflows some installed version of which serves one of `roles` (hazard, interview, posting): each
        version says what it serves (`serves:` in its text), so a province's own interview workflow is one too."""
        return frozenset(v.name for v in definition_store.all_versions(conn)
                         if self.loaded(conn, v.name, v.version).definition.serves in roles)

    def calendar_of(self, conn, case: "Case", run: Loaded) -> "WorkCalendar":
        """The calendar a case counts working days with: the one its log names, else its definition's."""
        return self.calendar(conn, case.calendar) if case.calendar else run.calendar

    def calendar(self, conn, digest: str | None) -> "WorkCalendar":
        if digest is None:
            from engine.domain.calendar import default_calendar
            return default_calendar()
        with self._lock:
            found = self._calendars.get(digest)
        if found is not None:
            return found
        calendar = definition_store.load_calendar(conn, digest)
        with self._lock:
            return self._calendars.keep(digest, calendar)
