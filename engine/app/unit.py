"""The unit of work: one write transaction in which cases are loaded, decided on (purely, by the caller)
and changed by appending events, their projections and their rung rows, written together or not at all.

Every writer shares it by contract: the commands, the sweep, the calendar refresh, migration and the ledger
import. A unit keeps the cases it touched (a case advanced twice in one batch sees its own first step) and
holds every write back until `flush`, which runs each kind of statement once for the whole batch:
inserts of new cases, events and rungs (executemany; COPY for a batch on PostgreSQL: `prepared.insert_rows`),
executemany of case updates `WHERE version = :expected` (the summed rowcount must equal the number of cases,
or nothing is written), of rung moves and marks. A one-command unit is a batch of one.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.domain import case as case_model
from engine.domain.calendar import WorkCalendar
from engine.domain.case import Case
from engine.domain.clock import Clock, iso_seconds, local_date
from engine.domain.errors import Conflict, PermissionDenied, Refused, TamperDetected
from engine.domain.proofs import row_problem
from engine.domain.escalation import decisions, ladder
from engine.domain.events import GENESIS, Event, seal
from engine.domain.actor import Actor
from engine.domain.reach import check_acts_for
from engine.app import outbox
from engine.app.registry import Loaded, Registry
from engine.store import cases as case_store
from engine.store import definitions as definition_store
from engine.store import rungs as rung_store
from engine.store import users as user_store

SYSTEM = Actor("scheduler", ("system",), ("",))
# How far a write's effective time may lead its recording time: the machines writing to one database
# keep their clocks by NTP, a few seconds apart at worst; five minutes (Kerberos' default tolerance) covers
# a badly set one without letting anyone date a step into the future. Only a drill database goes further.
FUTURE_SKEW = timedelta(minutes=5)


def check_not_future(at: datetime, recorded_at: datetime, what: str, *, drill) -> None:
    """Refuse a write effective more than FUTURE_SKEW after it is recorded; `drill()` says if this may."""
    if at > recorded_at + FUTURE_SKEW and not drill():
        raise Refused(f"{what}: its time {iso_seconds(at)} is later than the real time {iso_seconds(recorded_at)}; only a drill "
                      "database takes future times (back-filling a past time is fine)", rule="future")


@dataclass
class _Rung:
    """A rung row as this unit knows it: stored (with its id) or about to be inserted (`new` holds the row)."""

    row_id: int | None
    status: str
    due_at: datetime | None
    provisional: bool
    new: dict | None = None


class UnitOfWork:
    def __init__(self, conn, *, dialect: str, registry: Registry, recorded_clock: Clock):
        self.conn = conn
        self.dialect = dialect
        self.registry = registry
        self.recorded_clock = recorded_clock
        self._cases: dict[str, Case] = {}          # the newest projection of every case touched
        self._stored: dict[str, Case | None] = {}   # each case as stored (when read or last written); None: new
        self._texts: dict[str, tuple[Case, dict]] = {}  # a stored case and its row's texts (case_model.encoded)
        self._events: list[Event] = []
        self._rungs: dict[str, dict[tuple, _Rung]] = {}
        self._moves: dict[int, dict] = {}
        self._marks: list[dict] = []
        self._actors: dict[str, Actor] = {}
        self._newest: dict[str, Loaded] = {}
        self._newest_calendar: str | None = None
        self._numbers: dict[int, deque[int]] = {}
        self._rewrites: dict[str, Case] = {}
        self._drill: bool | None = None
        self._notices: list = []                    # notices issued by this unit's events (engine/app/notices.py)
        self._people: list | None = None            # who notifications may name, read when a rule first applies
        self._recorded_at: datetime | None = None    # the last recording time an event was built at, and the
        self._latest: datetime | None = None         # latest effective time it allows (FUTURE_SKEW after it)

    # -- reads ---------------------------------------------------------------------------------------------
    def case(self, case_id: str) -> Case:
        found = self._cases.get(case_id)
        if found is None:
            found = self._checked(*case_store.load_sealed(self.conn, case_id))
            self._remember(found)
        return found

    def case_and_actor(self, case_id: str, actor: str | None) -> tuple[Case, Actor]:
        """The case and who acts on it, in one read when neither is known to this unit yet. Every command on a case
        loads it here, so here a user bound to an enterprise is refused another's case (`engine.domain.reach`)."""
        if not actor:
            raise PermissionDenied("no actor given", rule="actor")
        if case_id in self._cases or actor in self._actors:
            found, user = self.case(case_id), self.actor(actor)
        else:
            found, seal, user, standing = case_store.load_for(self.conn, case_id, actor)
            self._remember(self._checked(found, seal))
            user = user_store.checked_actor(self.conn, actor, user, standing)
            if user is None:
                raise user_store.missing(self.conn, actor)
            self._actors[actor] = user
        check_acts_for(user, case_id=found.id, enterprise=found.enterprise, fields=found.fields)
        return found, user

    def cases(self, case_ids) -> dict[str, Case]:
        wanted = [i for i in case_ids if i not in self._cases]
        for found, seal in case_store.load_many_sealed(self.conn, wanted).values():
            self._remember(self._checked(found, seal))
        return {i: self._cases[i] for i in case_ids if i in self._cases}

    def adopt(self, found: list[Case]) -> list[Case]:
        """Cases read by a query of the caller's (a migration's open cases): this unit's from now on, each checked
        as a load is."""
        self.cases([case.id for case in found])
        return [self._cases[case.id] for case in found]

    def _checked(self, case: Case, seal) -> Case:
        """The case as loaded, if its row is what was written and names the log's last event; else TamperDetected
        (exit 10): a command never acts on a row edited by hand (the audit says what else was changed). The texts
        its digest was computed from are kept: writing the case back encodes only what changed."""
        row_hash, texts = _digest_of_loaded(case, seal)
        problem = row_problem(case, seal.row_hash, seal.head_hash, computed=row_hash)
        if problem:
            raise TamperDetected(f"{problem}; nothing was done", rule="row")
        self._texts[case.id] = (case, texts)
        return case

    def _remember(self, case: Case) -> None:
        self._cases[case.id] = case
        self._stored.setdefault(case.id, case)

    def know_actor(self, user: Actor) -> None:
        """`user`, checked in this unit's transaction (a token's holder), is who its commands name."""
        self._actors[user.name] = user

    def actor(self, name: str | None) -> Actor:
        if not name:
            raise PermissionDenied("no actor given", rule="actor")
        if name not in self._actors:
            found = user_store.get_checked(self.conn, name)
            if found is None:
                raise user_store.missing(self.conn, name)
            self._actors[name] = found
        return self._actors[name]

    def run(self, workflow: str, version: int | None = None) -> Loaded:
        """A definition version; the newest is asked of the database once per unit."""
        if version is not None:
            return self.registry.loaded(self.conn, workflow, version)
        if workflow not in self._newest:
            self._newest[workflow] = self.registry.loaded(self.conn, workflow)
        return self._newest[workflow]

    def calendar_of(self, case: Case, run: Loaded) -> WorkCalendar:
        return self.registry.calendar_of(self.conn, case, run)

    def newest_calendar(self) -> str | None:
        if self._newest_calendar is None:
            self._newest_calendar = definition_store.newest_calendar(self.conn) or ""
        return self._newest_calendar or None

    def open_linked(self, case_id: str) -> frozenset[str]:
        """Workflows of the case's linked cases that are still open, this unit's own changes included."""
        open_now = case_store.linked_open(self.conn, case_id)
        for case in self._cases.values():
            if case.parent_id == case_id:
                if case.is_final:
                    open_now.pop(case.id, None)
                else:
                    open_now[case.id] = case.workflow
        return frozenset(open_now.values())

    def attached_kinds(self, case_id: str) -> set[str]:
        """The kinds of evidence attached to the case so far, this unit's own `attach` events included."""
        from engine.domain.evidence import attachments_of
        stored = case_store.attach_events_of(self.conn, case_id) if self._stored.get(case_id) is not None else []
        pending = [e for e in self._events if e.case_id == case_id]
        return {item["kind"] for item in attachments_of([*stored, *pending])}

    def people(self) -> list:
        """Every user who may act, with where they can be reached (engine/app/outbox.py), read once per unit."""
        if self._people is None:
            self._people = outbox.people(self.conn)
        return self._people

    def projection(self, case_id: str) -> Case | None:
        """The newest projection of a case this unit touched."""
        return self._cases.get(case_id)

    def is_drill(self) -> bool:
        """A database made for drills (`init(drill=True)`) takes future times; read only when one is seen."""
        if self._drill is None:
            from engine.store import settings as setting_store
            self._drill = setting_store.is_true(user_store.setting(self.conn, "drill"))
        return self._drill

    def check_effective(self, at: datetime, what: str) -> None:
        check_not_future(at, self.recorded_clock.now(), what, drill=self.is_drill)

    # -- building events -------------------------------------------------------------------------------------
    def event(self, case: Case | None, *, case_id: str | None = None, trigger: str, to_state: str, actor: str,
              role: str, at: datetime, data: dict, run: Loaded, recorded_at: datetime | None = None) -> Event:
        """The next event of `case` (or the first of a new case `case_id`), sealed into its chain. `recorded_at`:
        the real time read once by a caller writing several events at one moment (an imported row's history)."""
        if recorded_at is None:
            recorded_at = self.recorded_clock.now()
        if recorded_at is not self._recorded_at:  # an imported row's events share one recording time
            self._recorded_at, self._latest = recorded_at, recorded_at + FUTURE_SKEW
        if at > self._latest:  # the check's message only for a time that is refused, or a drill's
            check_not_future(at, recorded_at, f"'{trigger}' on {case.id if case else case_id or 'a new case'}",
                             drill=self.is_drill)
        return seal(case_id=case.id if case else case_id, seq=(case.version if case else 0) + 1, trigger=trigger,
                    from_state=case.state if case else None, to_state=to_state, actor=actor, role=role, at=at,
                    recorded_at=recorded_at, data=data, workflow=run.definition.name,
                    workflow_version=run.version, prev_hash=case.last_hash if case else GENESIS)

    def add_notice(self, row) -> None:
        """A notice issued with this unit's events, written with them at `flush`."""
        self._notices.append(row)

    def new_case_id(self, at: datetime) -> str:
        year = local_date(at).year
        numbers = self._numbers.get(year)
        if not numbers:
            numbers = self._numbers[year] = deque(case_store.reserve_numbers(self.conn, year, 1, self.dialect))
        return f"HZ-{year}-{numbers.popleft():06d}"

    def reserve_case_ids(self, year: int, count: int) -> None:
        """Take `count` numbers of `year` in one statement (a ledger import reports thousands at once)."""
        numbers = case_store.reserve_numbers(self.conn, year, count, self.dialect)
        self._numbers.setdefault(year, deque()).extend(numbers)

    # -- changing cases ------------------------------------------------------------------------------------------
    def create(self, run: Loaded, *, actor: str, role: str, attrs: dict, fields: dict, at: datetime,
               case_id: str | None = None, extra: dict | None = None, sync: bool = True,
               recorded_at: datetime | None = None) -> Case:
        """A new case with its `report` event (every check already done by the caller); `sync=False` leaves its
        rung rows to the caller's `sync_rungs` (an import that takes the case through more steps first)."""
        case_id = case_id or self.new_case_id(at)
        data = {"case": attrs, "fields": fields, **(extra or {})}
        if run.content_hash:  # the exact rules the case runs under, sealed in its chain
            data["definition"] = run.content_hash
        if run.definition.clocks:
            data["calendar"] = self.newest_calendar() or run.calendar.content_hash
        event = self.event(None, case_id=case_id, trigger="report", to_state=run.definition.initial, actor=actor,
                           role=role, at=at, data=data, run=run, recorded_at=recorded_at)
        case = case_model.apply(None, event, run.definition)
        self._cases[case_id] = case
        self._stored[case_id] = None
        self._events.append(event)
        self._rungs[case_id] = {}
        if sync:
            self.sync_rungs(case, run)
        return case

    def append(self, case: Case, new_events: list[Event], run: Loaded, *, sync: bool = True) -> Case:
        """Fold `new_events` onto `case`; written with the projection at `flush`, version-checked."""
        if self._cases.get(case.id) is not case:
            raise Conflict(f"case {case.id} changed within this batch since it was read", case_id=case.id)
        after = case
        for event in new_events:
            after = case_model.apply(after, event, run.definition)
        self._cases[case.id] = after
        self._events.extend(new_events)
        # Rungs depend only on clocks and fields: most steps (start, close) change neither, and a step that
        # changes one clock (submit pauses rectification, starts verification) leaves the others' rungs alone.
        if sync and (after.clocks is not case.clocks or after.fields is not case.fields):
            changed = _changed_clocks(run.definition, case, after)
            if changed:
                self.sync_rungs(after, run, only=changed)
        if after.decisions is not case.decisions:
            self._settle_proposals(case, after)
        return after

    def _settle_proposals(self, before: Case, after: Case) -> None:
        """A proposal decided (approved, declined) or lapsed: its rung row says so."""
        old = before.decisions.get("proposals") or {}
        for name, proposal in (after.decisions.get("proposals") or {}).items():
            status = proposal["status"]
            if status == decisions.PENDING or (old.get(name) or {}).get("status") == status:
                continue
            row = self._rung_states(after.id).get((proposal["clock"], proposal["cycle"], proposal["rung"]))
            if row is not None:
                self._move(row, row.due_at, row.provisional, status)

    def sync_rungs(self, case: Case, run: Loaded, *, only: frozenset[str] | None = None,
                   planned: list | None = None) -> None:
        """Make the case's unfired rung rows match the ladder's plan: add new ones, move or cancel the rest
        (of the clocks in `only`, when given: the others' rows are left as they are). `planned`: the plan of
        `case` as it is, when the caller has it already (an import that planned to skip what fell due)."""
        if not run.definition.clocks:
            return
        if planned is None:
            planned = ladder.plan(run.definition, case.clocks, case.fields, case.fired, self.calendar_of(case, run),
                                  only=only)
        known = self._rung_states(case.id)
        seen = set()
        for p in planned:
            key = (p.clock, p.cycle, p.rung)
            seen.add(key)
            row = known.get(key)
            if row is None:
                new = {"case_id": case.id, "clock": p.clock, "cycle": p.cycle, "rung": p.rung, "action": p.action,
                       "due_at": p.due_at, "provisional": p.provisional, "status": p.status}
                known[key] = _Rung(None, p.status, p.due_at, p.provisional, new)
            elif row.status in rung_store.OPEN and (row.due_at, row.provisional, row.status) != \
                    (p.due_at, p.provisional, p.status):
                self._move(row, p.due_at, p.provisional, p.status)
        for key, row in known.items():
            if key not in seen and row.status in ("pending", "paused") and (only is None or key[0] in only):
                self._move(row, row.due_at, row.provisional, "cancelled")

    def _rung_states(self, case_id: str) -> dict[tuple, _Rung]:
        known = self._rungs.get(case_id)
        if known is None:
            marked = {m["row_id"]: m["new_status"] for m in self._marks}
            known = self._rungs[case_id] = {
                (clock, cycle, rung): _Rung(row_id, marked.get(row_id, status), due_at, bool(provisional))
                for row_id, clock, cycle, rung, status, due_at, provisional in rung_store.states_of(self.conn, case_id)}
        return known

    def _move(self, row: _Rung, due_at, provisional: bool, status: str) -> None:
        # Whether the row's due time or provisional mark moves (since it was read, over every move of this unit):
        # most moves only pause or cancel, and the store writes those as one statement per status.
        stored = self._moves.get(row.row_id, {}).get("stored", (row.due_at, row.provisional))
        row.due_at, row.provisional, row.status = due_at, provisional, status
        if row.new is not None:
            row.new.update(due_at=due_at, provisional=provisional, status=status)
        else:
            self._moves[row.row_id] = {"row_id": row.row_id, "new_due_at": due_at, "new_provisional": provisional,
                                       "new_status": status, "stored": stored,
                                       "status_only": stored == (due_at, provisional)}

    def rewrite(self, case: Case, run: Loaded) -> None:
        """Replace a stored case's row and unfired rung rows by `case`, re-derived from its events."""
        self._cases[case.id] = case
        self._stored[case.id] = case  # written whole at flush, not compared column by column
        self._rewrites[case.id] = case
        self.sync_rungs(case, run)

    def mark_rung(self, case_id: str, key: tuple, row_id: int, *, status: str, fired_at: datetime,
                  sweep_id: str) -> None:
        """Record a claimed rung as fired or skipped by `sweep_id` (checked at flush: it must still hold it)."""
        self._marks.append({"row_id": row_id, "new_status": status, "fired_at": fired_at, "sweep_id": sweep_id})
        known = self._rungs.get(case_id)
        if known is not None and key in known:
            known[key].status = status

    # -- writing ----------------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything this unit holds, each kind of row in one statement; Conflict if a race was lost."""
        conn = self.conn
        # In id order: two units updating the same cases lock them in the same order and never deadlock.
        touched = sorted(self._cases.items())
        new = [c for i, c in touched if self._stored.get(i) is None]
        changed = []
        for case_id, after in touched:
            before = self._stored.get(case_id)
            if before is None or after.version == before.version:
                continue
            known = self._texts.get(case_id)
            if known is None or known[0] is not before:
                known = self._texts[case_id] = (before, case_model.encoded(before)[1])
            row_hash, texts = case_model.encoded(after, like=known)
            changed.append(case_store.Change(before, known[1], after, row_hash, texts))
        if new:
            case_store.insert_cases(conn, new)
        if changed:
            case_store.update_cases(conn, changed)
            for change in changed:
                self._texts[change.after.id] = (change.after, change.texts)
        if self._rewrites:
            case_store.rewrite_cases(conn, list(self._rewrites.values()))
        if self._events:
            case_store.insert_events(conn, self._events)
            # The transactional outbox: the messages these events set off, committed with them or not at all.
            messages = outbox.rows_for(self, self._events)
            if messages:
                from engine.store import notifications as notification_store  # only a step that tells someone
                notification_store.insert(conn, messages)
        if self._notices:
            from engine.store import notices as notice_store
            notice_store.insert(conn, self._notices)
        inserts = [r.new for rows in self._rungs.values() for r in rows.values() if r.new is not None]
        if inserts:
            rung_store.insert(conn, inserts)
        if self._moves:
            rung_store.move(conn, list(self._moves.values()))
        if self._marks and rung_store.mark(conn, self._marks) != len(self._marks):
            raise Conflict("a rung was fired or taken by another sweep meanwhile; nothing was written", case_id="")
        self._settle()

    def _settle(self) -> None:
        """After a flush, what was written is what is stored: later changes in this unit update it."""
        for case_id, case in self._cases.items():
            self._stored[case_id] = case
        self._events.clear()
        self._notices.clear()
        self._moves.clear()
        self._marks.clear()
        self._rewrites.clear()
        # Inserted rung rows have ids only the database knows now: read them again when next needed.
        for case_id in [i for i, rows in self._rungs.items() if any(r.new is not None for r in rows.values())]:
            del self._rungs[case_id]

    def forget(self) -> None:
        """Drop the cases written so far (call after `flush`): a bulk writer, the ledger import, keeps its
        memory bounded; a forgotten case is read from the database again if touched later in the unit."""
        if self._events or self._notices or self._moves or self._marks or any(
                r.new is not None for rows in self._rungs.values() for r in rows.values()):
            raise RuntimeError("forget() before flush() would lose writes")
        self._cases.clear()
        self._stored.clear()
        self._texts.clear()
        self._rungs.clear()

    @property
    def touched(self) -> dict[str, Case]:
        return dict(self._cases)


def _digest_of_loaded(case: Case, seal) -> tuple[str, dict]:
    """The digest of a loaded case and its texts: from the texts its row stores where the engine wrote them (no
    JSON encoded again), else (or if those do not give the stored digest) encoded from its values, as before."""
    if seal.texts is not None:
        row_hash, texts = case_model.encoded_as_stored(case, seal.texts)
        if row_hash == seal.row_hash:
            return row_hash, texts
    return case_model.encoded(case)


def _changed_clocks(definition, before: Case, after: Case) -> frozenset[str]:
    """The clocks whose rungs may have moved: their state changed, or the field they run against did."""
    changed = set()
    for spec in definition.clocks:
        if after.clocks.get(spec.name) is not before.clocks.get(spec.name) and \
                after.clocks.get(spec.name) != before.clocks.get(spec.name):
            changed.add(spec.name)
        elif spec.deadline_field and after.fields.get(spec.deadline_field) != before.fields.get(spec.deadline_field):
            changed.add(spec.name)
    return frozenset(changed)

