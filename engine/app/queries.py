"""The queries: what the register, the definitions and the ladder say, read in one short transaction each.

Nothing here writes. A query that takes `now` answers as of that moment of the engine's time (overdue
is counted at it); `register_as_of` and `case_as_of` fold the events instead of reading today's rows.

Every read of cases takes `actor`, the reader (engine/app/readers.py): None reads the whole register (a script,
the operator's shell); a user's name reads what their regions and enterprise binding cover, and a case outside
is NotFound, exactly as one that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import groupby
from typing import NamedTuple

from engine.domain.case import Case
from engine.domain.clock import iso_seconds, parse_time
from engine.domain.errors import NotFound
from engine.domain.events import Event
from engine.domain.filters import CaseFilter, sort_cases, state_named
from engine.domain.actor import Actor
from engine.app.readers import reach_of
from engine.domain.values import read_case_id


@dataclass(frozen=True)
class Page:
    """Cases of the register in the filter's order, and how many match in all."""

    cases: list[Case]
    total: int
    offset: int = 0

    @property
    def more(self) -> int:
        return max(self.total - self.offset - len(self.cases), 0)


class CaseView(NamedTuple):
    case: Case
    rungs: list                  # rung rows as stored
    linked: list[Case]


class Queries:
    def __init__(self, engine):
        self._engine = engine

    @property
    def _store(self):
        return self._engine.store

    def _now(self, now) -> datetime:
        if now is None:
            return self._engine.clock.now()
        return parse_time(now) if isinstance(now, str) else now

    # -- cases ---------------------------------------------------------------------------------------------------
    def case(self, case_id: str, *, actor: str | None = None) -> Case:
        from engine.store import cases as case_store
        case_id = read_case_id(case_id)
        with self._store.read() as conn:
            return case_store.load(conn, case_id, reach=reach_of(conn, actor))

    def case_view(self, case_id: str, *, actor: str | None = None) -> CaseView:
        """A case with its rung rows and its linked cases."""
        from engine.store import cases as case_store
        from engine.store import rungs as rung_store
        case_id = read_case_id(case_id)
        with self._store.read() as conn:
            reach = reach_of(conn, actor)
            case = case_store.load(conn, case_id, reach=reach)
            return CaseView(case, rung_store.of_case(conn, case_id), case_store.linked(conn, case_id, reach=reach))

    def cases(self, spec: CaseFilter | None = None, *, now=None, as_of=None, actor: str | None = None,
              **given) -> Page:
        """The register filtered as offices search it; with `as_of`, as it stood then (folded from the events).

        `spec` or the filters as keyword arguments (`region="3717", overdue=True`); see `CaseFilter`. With
        `actor`, the reader's cases only (their regions, their enterprise when bound).
        """
        spec = spec or CaseFilter.of(**given)
        with self._store.read() as conn:
            reach = reach_of(conn, actor)
            if reach is not None:
                spec = replace(spec, reach=reach)
            spec = self._named_state(conn, spec)
            if as_of is not None:
                return self._register_as_of(conn, spec, self._now(as_of))
            from engine.store import cases as case_store
            from engine.store import case_search
            where = case_search.conditions(spec, self._now(now))
            found = case_store.query(conn, where=where, order_by=case_search.order_by(spec), limit=spec.limit,
                                     offset=spec.offset)
            total = len(found) + spec.offset if spec.limit is None or len(found) < spec.limit \
                else case_store.count_where(conn, where)
            return Page(found, total, spec.offset)

    def _register_as_of(self, conn, spec: CaseFilter, as_of: datetime) -> Page:
        from engine.domain.replay import replay
        from engine.store import cases as case_store
        from engine.store import case_search
        definition_for = lambda name, version: self._engine.registry.loaded(conn, name, version).definition  # noqa
        stream = case_store.stream_register_events(conn, as_of=as_of, where=case_search.immutable_conditions(spec))
        found = []
        for _, case_events in groupby(stream, key=lambda e: e.case_id):
            case = replay(case_events, definition_for, as_of=as_of)
            if case is not None and spec.matches(case, as_of):
                found.append(case)
        ordered = sort_cases(found, spec)
        end = None if spec.limit is None else spec.offset + spec.limit
        return Page(ordered[spec.offset:end], len(ordered), spec.offset)

    def case_as_of(self, case_id: str, as_of, *, actor: str | None = None) -> Case:
        """The case as it stood at `as_of`, folded from its events."""
        from engine.domain.replay import replay
        from engine.store import cases as case_store
        case_id, as_of = read_case_id(case_id), self._now(as_of)
        with self._store.read() as conn:
            definition_for = lambda name, version: self._engine.registry.loaded(conn, name, version).definition  # noqa
            reach = reach_of(conn, actor)
            if reach is not None:
                case_store.load(conn, case_id, reach=reach)  # NotFound outside the reader's reach
            log = case_store.events_of(conn, case_id)
            if not log:
                case_store.load(conn, case_id)  # NotFound when it does not exist at all
            found = replay(log, definition_for, as_of=as_of)
        if found is None:
            raise NotFound(f"{case_id} had not been reported at {iso_seconds(as_of)}", kind="case", key=case_id,
                           rule="not-yet")
        return found

    def _named_state(self, conn, spec: CaseFilter) -> CaseFilter:
        """The filter with its state read as the name of a state some installed workflow (or the one filtered
        on) has: a name, or a label (整改中 -> rectifying)."""
        if not spec.state:
            return spec
        from engine.store import definitions as definition_store
        names = [spec.workflow] if spec.workflow else definition_store.workflow_names(conn)
        states = []
        for name in names:
            try:
                states += [(name, s.name, s.label) for s in self._engine.registry.loaded(conn, name).definition.states]
            except NotFound:
                continue
        where = f"workflow '{spec.workflow}'" if spec.workflow else "the installed workflows"
        return replace(spec, state=state_named(spec.state, states, where))

    def history(self, case_id: str, *, actor: str | None = None) -> list[Event]:
        from engine.store import cases as case_store
        case_id = read_case_id(case_id)
        with self._store.read() as conn:
            reach = reach_of(conn, actor)
            if reach is not None:
                case_store.load(conn, case_id, reach=reach)  # NotFound outside the reader's reach
            found = case_store.events_of(conn, case_id)
            if not found:
                case_store.load(conn, case_id)  # raises NotFound
            return found

    def evidence(self, case_id: str, *, actor: str | None = None, as_of: datetime | None = None) -> list[dict]:
        """The evidence sealed on a case (`engine.domain.evidence.evidence_document`), for readers in reach."""
        from engine.domain.evidence import evidence_document
        return evidence_document(self.history(case_id, actor=actor), as_of=as_of)

    def evidence_file(self, case_id: str, sha256: str, *, actor: str | None = None) -> tuple[dict, str | None]:
        """A file sealed on the case, for a reader in reach: (its evidence document, the stored file's path, or
        None when the store no longer has it). NotFound for a case outside the reach or a hash not sealed on it:
        the store is never read by hash alone."""
        from engine.domain.errors import NotFound
        from engine.store.files import FileStore
        item = next((e for e in self.evidence(case_id, actor=actor) if e["sha256"] == str(sha256).lower()), None)
        if item is None:
            raise NotFound(f"{case_id}: no file {str(sha256)[:64]} is attached to it", kind="file", key=str(sha256)[:64])
        files = self._engine.files or FileStore.for_database(self._store.path)
        return item, files.path_of(item["sha256"]) if files is not None and files.has(item["sha256"]) else None

    def escalation_list(self, *, due: bool = False, overdue_unfired: bool = False, case_id: str | None = None,
                        limit: int | None = None, now=None, statuses: tuple[str, ...] = (),
                        cancelled: bool = True, actor: str | None = None) -> tuple[list, float]:
        """Rung rows (of the given `statuses`; without the cancelled ones unless `cancelled`), and how late the
        oldest due-but-unfired one is (seconds); with `actor`, of the reader's cases only."""
        from engine.store import cases as case_store
        from engine.store import rungs as rung_store

        now = self._now(now)
        with self._store.read() as conn:
            reach = reach_of(conn, actor)
            if case_id:
                case_id = read_case_id(case_id)
                case_store.load(conn, case_id, reach=reach)
                rows = rung_store.of_case(conn, case_id)
                if due or overdue_unfired:
                    rows = [r for r in rows if r.status == "pending" and r.due_at and r.due_at <= now]
                rows = [r for r in rows if (not statuses or r.status in statuses)
                        and (cancelled or r.status != "cancelled" or r.status in statuses)]
            else:
                rows = rung_store.listing(conn, now=now, due_only=due or overdue_unfired,
                                          limit=None if overdue_unfired else limit, statuses=statuses,
                                          cancelled=cancelled, reach=reach)
            if overdue_unfired:  # late past the grace of the definition each case runs under
                info = rung_store.with_workflow(conn, rows)
                graces = {key: timedelta(minutes=self._engine.registry.loaded(conn, *key).definition.grace_minutes)
                          for key in {(r.workflow, r.workflow_version) for r in info}}
                late = {r.id for r in info if now - r.due_at > graces[(r.workflow, r.workflow_version)]}
                rows = [r for r in rows if r.id in late][:limit]
        pending = [r.due_at for r in rows if r.status == "pending" and r.due_at and r.due_at <= now]
        return rows, (now - min(pending)).total_seconds() if pending else 0.0

    def work_for(self, actor: str, *, now=None, limit: int = 50, offset: int = 0):
        """我的待办 of `actor`: the cases they may act on now (overdue first) and the decisions awaiting them
        (engine/app/work.py)."""
        from engine.app.work import work_for
        return work_for(self._engine, actor, now=self._now(now), limit=limit, offset=offset)

    def case_page(self, case_id: str, *, actor: str, now=None):
        """A case as its page shows it to `actor`, with the triggers they may fire on it now (engine/app/work.py)."""
        from engine.app.work import case_page
        return case_page(self._engine, case_id, actor, now=self._now(now))

    # -- definitions, users, calendars ---------------------------------------------------------------------------
    def workflow_versions(self) -> list:
        from engine.store import definitions as definition_store
        with self._store.read() as conn:
            return definition_store.all_versions(conn)

    def workflow(self, name: str, version: int | None = None):
        """The stored version (with its exact text) and the parsed definition."""
        from engine.store import definitions as definition_store
        with self._store.read() as conn:
            stored = definition_store.get(conn, name, version)
            return stored, self._engine.registry.loaded(conn, name, stored.version).definition

    def schema_revision(self) -> dict:
        """The database's schema revision, the one this release writes (`head`), and whether they are the same."""
        from engine.store import schema
        with self._store.read() as conn:
            revision = schema.revision_of(conn)
        return {"revision": revision, "head": schema.HEAD, "current": revision == schema.HEAD}

    def users(self) -> list[Actor]:
        from engine.store import users as user_store
        with self._store.read() as conn:
            return user_store.all_users(conn)

    def user_accounts(self, *, disabled: bool = False) -> list[tuple[Actor, bool]]:
        """(user, active) of the users who may act; with `disabled`, the disabled ones too."""
        from engine.app.accounts import list_users
        return list_users(self._engine, disabled=disabled)

    def calendar_status(self) -> dict:
        """The stored calendars, the installed library's, and how many open rungs are provisional."""
        from engine.domain.calendar import default_calendar
        from engine.store import definitions as definition_store
        from engine.store import rungs as rung_store

        library = default_calendar()
        with self._store.read() as conn:
            stored = definition_store.all_calendars(conn)
            newest = definition_store.newest_calendar(conn)
            provisional = rung_store.count_provisional_open(conn)
        return {"stored": [{"hash": c.content_hash, "name": c.name, "version": c.version, "first_year": c.first_year,
                            "last_year": c.last_year, "installed_at": c.installed_at,
                            "newest": c.content_hash == newest} for c in stored],
                "library": {"hash": library.content_hash, "version": library.version,
                            "first_year": library.first_year, "last_year": library.last_year,
                            "stored": any(c.content_hash == library.content_hash for c in stored)},
                "provisional_rungs": provisional}
