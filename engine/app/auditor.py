"""The auditor (*app*): replays, chain verification, traces and dossiers, fed from the store in one snapshot.

The arithmetic is pure (`engine/domain/accountability.py`, `engine/domain/replay.py`, `engine/domain/dossier.py`); this module only
reads, through `engine/store/audit_reads.py` and `engine/store/cases.py`, and hands the rows to it.

Each read takes `actor`, the reader (engine/app/readers.py): a case's replay, trace and dossier are for any reader
whose reach covers it (NotFound otherwise), `replay_all` replays the cases of the reader's reach, and `verify` is
an auditor's or a committee member's, over the cases of their reach (plus the records every case shares: the
users' log, the definitions, the calendars). Without `actor` they read everything, as the operator's shell does.
The anchor (`anchor`, `check_anchor`) is the published digest of the whole log, and takes no reader.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Callable, Iterator

from engine.app.collector import collector_paused
from engine.app.accounts import users_log_breaks
from engine.app.readers import auditing_reach, reach_of
from engine.domain.accountability import CaseFile, Tally, trace, verify_stream
from engine.domain.proofs import clocks_to_plan, column_differences, rung_differences, settled
from engine.domain.case import Case
from engine.domain.errors import NotFound
from engine.domain.events import ChainBreak, Event
from engine.domain.replay import DefinitionFor, InconsistentLog, RungView, fired_rungs, open_rungs, replay, taken_until
from engine.domain.values import read_case_id


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

    published: object            # engine.domain.anchor.Anchor
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

    @staticmethod
    def _standing(conn):
        """Who each user was over time, from the users' log: every event's signer is replayed against it."""
        from engine.domain.grants import standing
        from engine.store import users as user_store
        return standing(user_store.grants(conn))

    def count_cases(self, *, actor: str | None = None) -> int:
        from engine.store import audit_reads as audit_store
        with self.engine.store.read() as conn:
            return audit_store.count_cases(conn, reach=reach_of(conn, actor))

    def count_events(self, *, actor: str | None = None) -> int:
        from engine.store import audit_reads as audit_store
        with self.engine.store.read() as conn:
            return audit_store.count_events(conn, reach=reach_of(conn, actor))

    def replay_case(self, case_id: str, *, as_of: datetime | None = None, now: datetime | None = None,
                    actor: str | None = None) -> CaseReplay:
        from engine.store import audit_reads as audit_store
        from engine.store import cases as case_store

        case_id = read_case_id(case_id)
        with audit_store.snapshot(self.engine.store) as conn:
            reach = reach_of(conn, actor)
            case_store.load(conn, case_id, reach=reach)  # NotFound when there is no such case (for this reader)
            stored = case_store.rows_of(conn, [case_id])[case_id]
            log = audit_store.events_of(conn, case_id)
            definitions = self._definitions(conn)
            differences, view, full = _replayed_against(stored, log, definitions, as_of, self._standing(conn))
            if full is not None:
                fired = [(e.data["clock"], e.data["cycle"], e.data["rung"], e.data.get("status", "fired"), e.at)
                         for e in log if e.trigger == "escalate"]
                differences += self._rung_problems(conn, full, fired, audit_store.rungs_of(conn, [case_id]).get(
                    case_id, ()))
            moment = as_of or now or self.engine.clock.now()
            rungs = fired_rungs(log, as_of=as_of, decisions=view.decisions if view is not None else None)
            if view is not None:
                run = self.engine.registry.loaded(conn, view.workflow, view.workflow_version)
                rungs += open_rungs(view, run.definition, run.calendar, as_of=moment)
            linked = []
            for linked_id in case_store.linked_ids(conn, case_id, reach=reach):
                try:
                    found = replay(audit_store.events_of(conn, linked_id), definitions, as_of=as_of)
                except InconsistentLog:
                    found = case_store.load(conn, linked_id)  # shown as stored; its own replay names the problem
                if found is not None:
                    linked.append(found)
        in_force = sum(1 for _ in taken_until(log, as_of))
        return CaseReplay(case_id, as_of, view, in_force, len(log), rungs, linked, differences)

    def replay_all(self, *, on_case: Callable[[], None] | None = None, actor: str | None = None) -> ReplayReport:
        """Replay every case (of the reader `actor`'s reach) and compare it with its stored row; every
        disagreement is collected."""
        from engine.store import audit_reads as audit_store
        from engine.store import cases as case_store

        report = ReplayReport()
        with collector_paused(), audit_store.snapshot(self.engine.store) as conn:
            reach = reach_of(conn, actor)
            definitions, signers = _remembered(self._definitions(conn)), self._standing(conn)
            rung_problems = self._rung_checker(conn)
            pending: list[tuple[str, tuple | None, list[str]]] = []

            def flush():
                ids = [case_id for case_id, _, _ in pending]
                stored = case_store.stored_rows_of(conn, ids)
                stored_rungs = audit_store.raw_rungs_of(conn, ids)
                for case_id, replayed, problems in pending:
                    if case_id not in stored:
                        problems = problems + ["events of a case that has no case row"]
                    elif replayed is not None:
                        case, fired = replayed
                        values, row = case_store.case_values(case), stored[case_id]
                        if not case_store.same_row(values, row):  # most rows: every column equal, in one comparison
                            problems = problems + column_differences(dict(zip(case_store.CASE_COLUMNS, row)), values)
                        problems = problems + rung_problems(case, fired, stored_rungs.get(case_id, ()))
                    if problems:
                        report.disagreements.append((case_id, problems))
                pending.clear()

            for case_id, log in groupby(audit_store.all_events(conn, reach=reach), key=_case_of):
                log = list(log)
                report.events += len(log)
                fired = _escalations(log)
                try:
                    pending.append((case_id, (replay(log, definitions, standing=signers), fired), []))
                except (InconsistentLog, NotFound) as exc:  # NotFound: a definition it ran under is gone
                    pending.append((case_id, None, [_problem_of(exc)]))
                report.cases += 1
                if on_case:
                    on_case()
                if len(pending) >= self.batch:
                    flush()
            flush()
            for case_id, (version, _) in audit_store.heads_without_events(conn, reach=reach):
                report.cases += 1
                report.disagreements.append((case_id, [f"the case is at version {version} but has no events"]))
                if on_case:
                    on_case()
        return report

    def _rung_checker(self, conn):
        """`_rung_problems` for many cases in one snapshot, of their rung rows as the driver gives them
        (`audit_reads.raw_rungs_of`): each definition version and calendar looked up once, and each case whose
        every input to the check is that of a case found right (`_rung_inputs`) found right without a re-plan."""
        from engine.store import audit_reads as audit_store
        runs, calendars, right = {}, {}, set()
        registry = self.engine.registry

        def problems(case: Case, fired: list, raw_rows: list[tuple]) -> list[str]:
            key = (case.workflow, case.workflow_version)
            run = runs.get(key)
            if run is None:
                run = runs[key] = registry.loaded(conn, *key)
            inputs = _rung_inputs(case, fired, raw_rows, run.definition)
            if inputs is not None and inputs in right:
                return []
            found = self._rung_problems(conn, case, fired, audit_store.stored_rungs(conn, raw_rows), run=run,
                                        calendars=calendars)
            if not found and inputs is not None:
                if len(right) >= _RIGHT_KEPT:
                    right.clear()
                right.add(inputs)
            return found
        return problems

    def _rung_problems(self, conn, case: Case, fired: list, rows, *, run=None, calendars=None) -> list[str]:
        """The case's rung rows against the ladder's plan from its replayed clocks and its escalate events."""
        from engine.domain.escalation import ladder
        run = run or self.engine.registry.loaded(conn, case.workflow, case.workflow_version)
        only = clocks_to_plan(case.clocks, rows) if run.definition.clocks else frozenset()
        if only:
            if calendars is None:
                calendar = self.engine.registry.calendar_of(conn, case, run)
            else:  # the calendar a case counts with is its log's, else its definition's (registry.calendar_of)
                calendar = calendars.get((case.calendar, id(run)))
                if calendar is None:
                    calendar = calendars[(case.calendar, id(run))] = self.engine.registry.calendar_of(conn, case, run)
            planned = ladder.plan(run.definition, case.clocks, case.fields, case.fired, calendar, only=only)
        else:
            planned = []
        return rung_differences(rows, planned, settled(fired, case.decisions))

    def verify(self, *, on_events: Callable[[int], None] | None = None, actor: str | None = None) -> VerifyReport:
        """Every hash chain and record checked; with an auditing `actor`, the chains of the cases of their reach
        (an event whose case row is gone is nobody's region: only an unscoped verify sees it) and the shared
        records, without the numbering of the register (the others' cases would read as gaps)."""
        from engine.store import audit_reads as audit_store

        tally = Tally()
        with audit_store.snapshot(self.engine.store) as conn:
            reach = auditing_reach(conn, actor, "verify the log")
            rows = audit_store.events_with_heads(conn, reach=reach)
            if on_events:
                rows = _reporting(rows, on_events)
            used: dict[tuple[str, int], set[str]] = {}
            sealed: dict[tuple[str, int], dict] = {}
            files: list[tuple[str, int, dict]] = []
            breaks = list(verify_stream(_noting(rows, used, sealed, files), tally=tally,
                                        heads_without_events=audit_store.heads_without_events(conn, reach=reach)))
            breaks += _stored_records_problems(conn, used, numbering=reach is None)
            breaks += _notice_problems(conn, sealed, reach)
            breaks += users_log_breaks(conn)  # the users' log and its tables (engine/app/accounts.py)
        breaks += self._evidence_breaks(files)
        return VerifyReport(tally, breaks)

    def _evidence_breaks(self, sealed: list[tuple[str, int, dict]]) -> list[ChainBreak]:
        """Every file an `attach` event sealed: still in the evidence store, still hashing to its seal."""
        if not sealed:
            return []
        from engine.store.files import FileStore
        files = self.engine.files or FileStore.for_database(self.engine.store.path)
        found, judged = [], {}
        for case_id, seq, item in sealed:
            sha256 = item.get("sha256", "")
            if sha256 not in judged:
                judged[sha256] = files.check(sha256) if files is not None else \
                    "not checkable: no evidence store is set (HAZARD_FILES)"
            if judged[sha256]:
                found.append(ChainBreak(case_id, seq, f"evidence file '{item.get('name')}' ({sha256[:16]}): "
                                                      f"{judged[sha256]}"))
        return found

    def anchor(self, *, as_of: datetime | str | None = None):
        """The event log's anchor at `as_of` (a datetime or a time as `--as-of` takes it; default: the engine's now,
        to the second) and its heads."""
        from engine.domain import anchor
        from engine.domain.clock import parse_time
        from engine.store import audit_reads as audit_store

        as_of = parse_time(as_of) if isinstance(as_of, str) else as_of
        moment = as_of or self.engine.clock.now().replace(microsecond=0)
        with audit_store.snapshot(self.engine.store) as conn:
            heads, events = audit_store.chain_heads(conn, as_of=moment)
            users = anchor.users_head(audit_store.users_head(conn, as_of=moment))
            definitions = anchor.definitions_digest(*audit_store.stored_definitions(conn, as_of=moment))
        return anchor.compute(heads, events=events, as_of=moment, users=users, definitions=definitions)

    def check_anchor(self, published: str, *, heads: str | None = None) -> AnchorCheck:
        """Today's log against a published anchor line (and, to name cases, the heads file published with it)."""
        from engine.domain import anchor
        from engine.store import audit_reads as audit_store

        claimed = anchor.parse(published)
        claimed_heads = anchor.parse_heads(heads, claimed) if heads is not None else None
        today, current = self.anchor(as_of=claimed.as_of)
        grant_today = None
        if claimed.users is not None and claimed.users[0] > 0:
            with self.engine.store.read() as conn:
                grant_today = audit_store.grant_hash(conn, claimed.users[0])
        return AnchorCheck(claimed, today, anchor.compare(claimed, today, published_heads=claimed_heads,
                                                          current_heads=current, published_grant_today=grant_today),
                           claimed_heads is not None)

    def case_file(self, case_id: str, *, actor: str | None = None) -> CaseFile:
        """Everything a trace or a dossier reads about one case, from one snapshot."""
        from engine.store import audit_reads as audit_store
        from engine.store import cases as case_store

        registry, case_id = self.engine.registry, read_case_id(case_id)
        with audit_store.snapshot(self.engine.store) as conn:
            reach = reach_of(conn, actor)
            stored = case_store.load(conn, case_id, reach=reach)
            log = audit_store.events_of(conn, case_id)
            linked = [(case_store.load(conn, i), audit_store.events_of(conn, i))
                      for i in case_store.linked_ids(conn, case_id, reach=reach)]
            runs = {}
            for event in log + [e for _, events in linked for e in events]:
                key = (event.workflow, event.workflow_version)
                if key not in runs:
                    runs[key] = registry.loaded(conn, *key)
            current = runs.get((stored.workflow, stored.workflow_version)) \
                or registry.loaded(conn, stored.workflow, stored.workflow_version)
        return CaseFile(stored, log, linked, lambda workflow, version: runs[(workflow, version)].definition,
                        current.calendar)

    def trace_case(self, case_id: str, *, as_of: datetime | str | None = None,
                   actor: str | None = None) -> tuple[Case, dict]:
        if isinstance(as_of, str):
            from engine.domain.clock import parse_time
            as_of = parse_time(as_of, field="as_of")
        found = self.case_file(case_id, actor=actor)
        return found.stored, trace(found.log, found.definition_for, until=as_of or self.engine.clock.now())

    def dossier(self, case_id: str, *, now: datetime | None = None, actor: str | None = None) -> dict:
        from engine.domain.dossier import dossier_data

        data = dossier_data(self.case_file(case_id, actor=actor), generated_at=now or self.engine.clock.now())
        self._with_thumbnails(data["evidence"])
        return data

    def _with_thumbnails(self, evidence: list[dict]) -> None:
        """Each photo's downscaled thumbnail, made now from the stored file (the original is only read); a file
        no longer in the store (or no store configured) marked `stored: false`."""
        from engine.app.photos import thumbnail_data_uri
        from engine.domain.evidence import PHOTO_TYPES
        from engine.store.files import FileStore
        if not evidence:
            return
        files = getattr(self.engine, "files", None) or FileStore.for_database(self.engine.store.path)
        for item in evidence:
            if files is None or not files.has(item["sha256"]):
                item["stored"] = False
                continue
            item["stored"] = True
            if item["media_type"] in PHOTO_TYPES:
                thumbnail = thumbnail_data_uri(files.path_of(item["sha256"]))
                if thumbnail:
                    item["thumbnail"] = thumbnail


def _replayed_against(stored: dict, log: list[Event], definitions: DefinitionFor, as_of: datetime | None,
                      signers=None):
    """(differences between the stored row and the full replay, the case as of `as_of`, the full replay)."""
    from engine.store.cases import case_values
    try:
        full = replay(log, definitions, standing=signers)
    except (InconsistentLog, NotFound) as exc:
        return [_problem_of(exc)], None, None
    differences = column_differences(stored, case_values(full)) if full is not None else ["the case has no events"]
    return differences, full if as_of is None else replay(log, definitions, as_of=as_of), full


# Inputs of rung checks found right, kept for a replay (a register's closed cases repeat a few ladders' shapes).
_RIGHT_KEPT = 4096


def _rung_inputs(case: Case, fired: list, raw_rows: list[tuple], definition) -> tuple | None:
    """Everything `Auditor._rung_problems` reads, as one hashable value (None when a part cannot be hashed): the
    definition version and the calendar (which give the ladder and its working days), the replayed clocks, the
    deadline fields the clocks run against, the rungs fired and what became of them, and the stored rows as the
    driver gave them (converted by a fixed function). The check is a pure function of these, and compares what it
    compares by equality: a case whose inputs equal those of a case found right is found right too."""
    try:
        clocks = tuple((name, tuple(state.items()) if isinstance(state, dict) else state)
                       for name, state in case.clocks.items())
        deadlines = tuple(case.fields.get(spec.deadline_field) for spec in definition.clocks if spec.deadline_field)
        outcome = tuple(settled(fired, case.decisions)) if fired else ()
        inputs = (case.workflow, case.workflow_version, case.calendar, clocks, deadlines, case.fired, outcome,
                  tuple(raw_rows))
        hash(inputs)
    except TypeError:  # a value of the log that cannot be hashed: checked the long way
        return None
    return inputs


def _problem_of(exc: Exception) -> str:
    if isinstance(exc, NotFound):
        return f"cannot be replayed: {exc} (a stored definition removed?)"
    return exc.message


def _notice_problems(conn, sealed: dict, reach) -> list[ChainBreak]:
    """Each stored notice's text against the hash its event sealed; each sealed notice still stored."""
    from engine.domain.notices import seal_problems
    from engine.store import notices as notice_store
    return [ChainBreak(case_id, seq, problem)
            for case_id, seq, problem in seal_problems(notice_store.find(conn, reach=reach), sealed)]


def _noting(rows, used: dict, notices: dict, files: list) -> Iterator:
    """The verify stream, noting on the way each (workflow, version) its events ran under with the text hashes the
    report events sealed for it, each notice an event sealed (engine/app/notices.py) and each evidence file an
    `attach` event sealed."""
    last = None
    for row in rows:
        event = row[0]
        key = (event.workflow, event.workflow_version)
        if key != last:
            used.setdefault(key, set())
            last = key
        data = event.data
        if isinstance(data, dict):
            if isinstance(data.get("notice"), dict):
                notices[(event.case_id, event.seq)] = data["notice"]
            if event.trigger == "report" and data.get("definition"):
                used[key].add(data["definition"])
            if event.trigger == "attach":
                files.extend((event.case_id, event.seq, item) for item in data.get("files") or ()
                             if isinstance(item, dict))
        yield row


def _remembered(definitions: DefinitionFor) -> DefinitionFor:
    """`definitions`, each version looked up once (a replay of every case asks for one with each case)."""
    found = {}

    def definition(workflow: str, version: int):
        key = (workflow, version)
        if key not in found:
            found[key] = definitions(workflow, version)
        return found[key]
    return definition


def _case_of(event: Event) -> str:
    return event.case_id


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


def _escalations(events: list[Event]) -> list[tuple]:
    """(clock, cycle, rung, status, at) of every escalate event."""
    return [(e.data["clock"], e.data["cycle"], e.data["rung"], e.data.get("status", "fired"), e.at)
            for e in events if e.trigger == "escalate"]


def _stored_records_problems(conn, used: dict[tuple[str, int], set[str]], *, numbering: bool = True) -> list[ChainBreak]:
    """Stored definitions and calendars against their hashes, and every definition the events ran under still
    stored; the register's numbering against its counters (with `numbering`)."""
    from engine.domain.calendar import WorkCalendar
    from engine.domain.proofs import calendar_problems, definition_problems, missing_definitions, numbering_gaps
    from engine.store import audit_reads as audit_store

    texts = audit_store.definition_texts(conn)
    found = [ChainBreak("(definitions)", 0, p) for p in definition_problems(texts)]
    found += [ChainBreak("(definitions)", 0, p) for p in missing_definitions(used, texts)]
    found += [ChainBreak("(calendars)", 0, p) for p in calendar_problems(
        audit_store.calendar_data(conn), lambda data: WorkCalendar.from_data(data).content_hash)]
    if numbering:
        found += [ChainBreak(p.split(":", 1)[0], 0, p.split(": ", 1)[1])
                  for p in numbering_gaps(audit_store.counters(conn), audit_store.case_ids(conn))]
    return found
