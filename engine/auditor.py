"""The auditor (*app*): replays, chain verification, traces and dossiers, fed from the store in one snapshot.

The arithmetic is pure (`engine/audit.py`, `engine/replay.py`, `engine/dossier.py`); this module only
reads, through `engine/store/audit.py` and `engine/store/cases.py`, and hands the rows to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Callable, Iterable, Iterator

from engine.audit import CaseFile, Tally, trace, verify_stream
from engine.case import Case
from engine.events import ChainBreak, Event
from engine.replay import DefinitionFor, InconsistentLog, RungView, compare, fired_rungs, open_rungs, replay, taken_until


@dataclass(frozen=True)
class CaseReplay:
    case_id: str
    as_of: datetime | None
    case: Case | None            # as of the moment; None when not reported yet then (or the log is inconsistent)
    events: int                  # events in force at the moment
    total_events: int
    rungs: list[RungView]
    linked: list[Case]           # linked cases as they stood at the moment
    differences: list[str]       # stored projection against the replay of the whole log; empty when they agree

    @property
    def agrees(self) -> bool:
        return not self.differences


@dataclass
class ReplayReport:
    cases: int = 0
    events: int = 0
    disagreements: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class VerifyReport:
    tally: Tally
    breaks: list[ChainBreak]


@dataclass(frozen=True)
class AnchorCheck:
    """A published anchor against today's log at the same moment: `differences` empty when it holds."""

    published: object            # engine.anchor.Anchor
    today: object
    differences: list[str]
    by_case: bool                # the published heads were given, so cases are named

    @property
    def holds(self) -> bool:
        return not self.differences


class Auditor:
    """Audits over an engine's store and definitions, each in one read snapshot."""

    def __init__(self, engine, *, batch: int = 500):
        self.engine = engine
        self.batch = batch  # stored cases compared per query in `replay_all`

    def _definitions(self, conn) -> DefinitionFor:
        registry = self.engine.registry
        return lambda workflow, version: registry.loaded(conn, workflow, version).definition

    def count_cases(self) -> int:
        from engine.store import audit as audit_store
        with self.engine.store.read() as conn:
            return audit_store.count_cases(conn)

    def count_events(self) -> int:
        from engine.store import audit as audit_store
        with self.engine.store.read() as conn:
            return audit_store.count_events(conn)

    def replay_case(self, case_id: str, *, as_of: datetime | None = None, now: datetime | None = None) -> CaseReplay:
        from engine.store import audit as audit_store
        from engine.store import cases as case_store

        with audit_store.snapshot(self.engine.store) as conn:
            stored = case_store.load(conn, case_id)
            log = audit_store.events_of(conn, case_id)
            definitions = self._definitions(conn)
            differences, view = _replayed_against(stored, log, definitions, as_of)
            moment = as_of or now or self.engine.clock.now()
            rungs = fired_rungs(log, as_of=as_of)
            if view is not None:
                run = self.engine.registry.loaded(conn, view.workflow, view.workflow_version)
                rungs += open_rungs(view, run.definition, run.calendar, as_of=moment)
            linked = []
            for linked_id in case_store.linked_ids(conn, case_id):
                try:
                    found = replay(audit_store.events_of(conn, linked_id), definitions, as_of=as_of)
                except InconsistentLog:
                    found = case_store.load(conn, linked_id)  # shown as stored; its own replay names the problem
                if found is not None:
                    linked.append(found)
        in_force = sum(1 for _ in taken_until(log, as_of))
        return CaseReplay(case_id, as_of, view, in_force, len(log), rungs, linked, differences)

    def replay_all(self, *, on_case: Callable[[], None] | None = None) -> ReplayReport:
        """Replay every case and compare it with its stored row; every disagreement is collected."""
        from engine.store import audit as audit_store
        from engine.store import cases as case_store

        report = ReplayReport()
        with audit_store.snapshot(self.engine.store) as conn:
            definitions = self._definitions(conn)
            pending: list[tuple[str, Case | None, list[str]]] = []

            def flush():
                stored = case_store.load_many(conn, [case_id for case_id, _, _ in pending])
                for case_id, replayed, problems in pending:
                    if case_id not in stored:
                        problems = problems + ["events of a case that has no case row"]
                    elif replayed is not None:
                        problems = problems + compare(stored[case_id], replayed)
                    if problems:
                        report.disagreements.append((case_id, problems))
                pending.clear()

            for case_id, log in groupby(audit_store.all_events(conn), key=lambda e: e.case_id):
                counted = _counting(log, report)
                try:
                    pending.append((case_id, replay(counted, definitions), []))
                except InconsistentLog as exc:
                    pending.append((case_id, None, [exc.message]))
                    for _ in counted:  # the rest of its log still counts as read
                        pass
                report.cases += 1
                if on_case:
                    on_case()
                if len(pending) >= self.batch:
                    flush()
            flush()
            for case_id, (version, _) in audit_store.heads_without_events(conn):
                report.cases += 1
                report.disagreements.append((case_id, [f"the case is at version {version} but has no events"]))
                if on_case:
                    on_case()
        return report

    def verify(self, *, on_events: Callable[[int], None] | None = None) -> VerifyReport:
        from engine.store import audit as audit_store

        tally = Tally()
        with audit_store.snapshot(self.engine.store) as conn:
            rows = audit_store.events_with_heads(conn)
            if on_events:
                rows = _reporting(rows, on_events)
            breaks = list(verify_stream(rows, heads_without_events=audit_store.heads_without_events(conn),
                                        tally=tally))
        return VerifyReport(tally, breaks)

    def anchor(self, *, as_of: datetime | None = None):
        """The event log's anchor at `as_of` (default: the engine's now, to the second) and its heads."""
        from engine import anchor
        from engine.store import audit as audit_store

        moment = as_of or self.engine.clock.now().replace(microsecond=0)
        with audit_store.snapshot(self.engine.store) as conn:
            heads, events = audit_store.chain_heads(conn, as_of=moment)
        return anchor.compute(heads, events=events, as_of=moment)

    def check_anchor(self, published: str, *, heads: str | None = None) -> AnchorCheck:
        """Today's log against a published anchor line (and, to name cases, the heads file published with it)."""
        from engine import anchor

        claimed = anchor.parse(published)
        claimed_heads = anchor.parse_heads(heads, claimed) if heads is not None else None
        today, current = self.anchor(as_of=claimed.as_of)
        return AnchorCheck(claimed, today, anchor.compare(claimed, today, published_heads=claimed_heads,
                                                          current_heads=current), claimed_heads is not None)

    def case_file(self, case_id: str) -> CaseFile:
        """Everything a trace or a dossier reads about one case, from one snapshot."""
        from engine.store import audit as audit_store
        from engine.store import cases as case_store

        registry = self.engine.registry
        with audit_store.snapshot(self.engine.store) as conn:
            stored = case_store.load(conn, case_id)
            log = audit_store.events_of(conn, case_id)
            linked = [(case_store.load(conn, i), audit_store.events_of(conn, i))
                      for i in case_store.linked_ids(conn, case_id)]
            runs = {}
            for event in log + [e for _, events in linked for e in events]:
                key = (event.workflow, event.workflow_version)
                if key not in runs:
                    runs[key] = registry.loaded(conn, *key)
            current = runs.get((stored.workflow, stored.workflow_version)) \
                or registry.loaded(conn, stored.workflow, stored.workflow_version)
        return CaseFile(stored, log, linked, lambda workflow, version: runs[(workflow, version)].definition,
                        current.calendar)

    def trace_case(self, case_id: str, *, as_of: datetime | None = None) -> tuple[Case, dict]:
        found = self.case_file(case_id)
        return found.stored, trace(found.log, found.definition_for, until=as_of or self.engine.clock.now())

    def dossier(self, case_id: str, *, now: datetime | None = None) -> dict:
        from engine.dossier import dossier_data

        return dossier_data(self.case_file(case_id), generated_at=now or self.engine.clock.now())


def _replayed_against(stored: Case, log: list[Event], definitions: DefinitionFor, as_of: datetime | None):
    """(differences between the stored row and the full replay, the case as of `as_of`)."""
    try:
        full = replay(log, definitions)
    except InconsistentLog as exc:
        return [exc.message], None
    differences = compare(stored, full) if full is not None else ["the case has no events"]
    return differences, full if as_of is None else replay(log, definitions, as_of=as_of)


def _counting(events: Iterable[Event], report: ReplayReport) -> Iterator[Event]:
    for event in events:
        report.events += 1
        yield event


def _reporting(rows, on_events: Callable[[int], None], every: int = 10000):
    count = 0
    for row in rows:
        yield row
        count += 1
        if count == every:
            on_events(count)
            count = 0
    if count:
        on_events(count)
