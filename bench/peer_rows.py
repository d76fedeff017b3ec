"""The peers' rows of bench/bench_peers.py: the hazard lifecycle through transitions, python-statemachine,
SpiffWorkflow and the SQLAlchemy ORM, and the raw sqlite3 floor, on the harness's own two tables.

Adapted from ../shared/peer-bench/bench.py (its workload, schema, hashing and checks, unchanged). A runner has
open(path), create(case), command(case, trigger, payload=None) raising `Rejected` on a refused command,
begin_batch(), commit_batch(), close() and verify(path, n); a decider says what a command does to a case row.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

BPMN_FILE = Path(__file__).resolve().parent / "major_hazard.bpmn"
STATES = ["reported", "assigned", "rectifying", "verifying", "verified", "closed"]
LIFECYCLE = [("assign", "reported", "assigned"), ("start", "assigned", "rectifying"), ("submit", "rectifying", "verifying"),
             ("verify", "verifying", "verified"), ("close", "verified", "closed")]
TRIGGERS = [t for t, _, _ in LIFECYCLE]
NEXT = {(s, t): d for t, s, d in LIFECYCLE}
FIVE = ("responsible_unit", "responsible_person", "measures", "funds", "deadline", "emergency_plan")
GENESIS = "0" * 64
DDL = """
CREATE TABLE cases(id TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL, title TEXT, data TEXT);
CREATE TABLE events(case_id TEXT NOT NULL, seq INTEGER NOT NULL, trigger TEXT NOT NULL, from_state TEXT,
    to_state TEXT NOT NULL, actor TEXT, at TEXT NOT NULL, data TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY(case_id, seq));
"""
INSERT_CASE = "INSERT INTO cases(id, state, version, title, data) VALUES (?, ?, ?, ?, ?)"
INSERT_EVENT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
READ = ("SELECT c.state, c.version, c.data, e.hash FROM cases c"
        " JOIN events e ON e.case_id = c.id AND e.seq = c.version WHERE c.id = ?")
UPDATE = "UPDATE cases SET state = ?, version = ?, data = ? WHERE id = ? AND version = ?"
_canon = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


class Rejected(Exception):
    """The row's library (or the engine) refused the command."""


def filled(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value != [] and value != {}


def five_present(payload) -> bool:
    return isinstance(payload, dict) and all(filled(payload.get(k)) for k in FIVE)


def event_hash(case_id, seq, trigger, from_state, to_state, actor, at, data, prev_hash) -> str:
    return hashlib.sha256(_canon({"case_id": case_id, "seq": seq, "trigger": trigger, "from_state": from_state,
                                  "to_state": to_state, "actor": actor, "at": at, "data": data,
                                  "prev_hash": prev_hash}).encode()).hexdigest()


def event_row(case_id, seq, trigger, from_state, to_state, actor, data, prev_hash) -> tuple:
    at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    return (case_id, seq, trigger, from_state, to_state, actor, at, _canon(data), prev_hash,
            event_hash(case_id, seq, trigger, from_state, to_state, actor, at, data, prev_hash))


class Case:
    """One case's title, report fields and the payload of each trigger (the harness's, unchanged)."""

    def __init__(self, i: int):
        self.id = f"HZ-{i:07d}"
        self.title = f"Major hazard {i}: guard rail missing at unloading bay"
        self.fields = {"reporter": f"inspector-{i % 37}", "location": f"site-{i % 9}/bay-{i % 4}", "level": "major"}
        self.actor = f"user-{i % 50}"
        self.payloads = {
            "assign": {"responsible_unit": f"unit-{i % 17}", "responsible_person": f"person-{i % 101}",
                       "measures": "Install guard rail; retrain operators", "funds": 12000 + i % 1000,
                       "deadline": "2026-03-31", "emergency_plan": "EP-2025-07 evacuation route B"},
            "start": {"note": "rectification started"}, "submit": {"evidence": [f"photo-{i}.jpg"]},
            "verify": {"result": "pass", "verifier": f"safety-officer-{i % 7}"},
            "close": {"note": "closed after verification"}}


# -- deciders of the peer rows: fire(state, data, trigger, payload) -> (state, data) ---------------------------
def merged(data: str, trigger: str, payload) -> str:
    return _canon({**json.loads(data), **payload}) if trigger == "assign" else data


class Floor:
    def create(self, case):
        return "reported", _canon(case.fields)

    def fire(self, state, data, trigger, payload):
        dest = NEXT.get((state, trigger))
        if dest is None or (trigger == "assign" and not five_present(payload)):
            raise Rejected(f"{trigger} in {state}")
        return dest, merged(data, trigger, payload)


class Rec:
    def __init__(self, state):
        self.state = state


def _guard(event):  # send_event=True: one EventData
    return five_present(event.kwargs.get("payload"))


def machine_spec():
    return [{"trigger": t, "source": s, "dest": d, "conditions": [_guard] if t == "assign" else []}
            for t, s, d in LIFECYCLE]


def shared_machine():
    from transitions import Machine
    return Machine(model=None, states=STATES, transitions=machine_spec(), initial="reported",
                   auto_transitions=False, send_event=True)


class TransitionsShared(Floor):
    def __init__(self):
        from transitions import MachineError
        self.events, self.error = shared_machine().events, MachineError

    def fire(self, state, data, trigger, payload):
        obj, event = Rec(state), self.events.get(trigger)
        try:
            if event is None or not event.trigger(obj, payload=payload):
                raise Rejected(trigger)
        except self.error as exc:
            raise Rejected(str(exc))
        return obj.state, merged(data, trigger, payload)


class TransitionsPerCommand(Floor):
    def __init__(self):
        from transitions import Machine, MachineError
        self.machine, self.error, self.spec = Machine, MachineError, machine_spec()

    def fire(self, state, data, trigger, payload):
        obj = Rec(None)
        self.machine(model=obj, states=STATES, transitions=self.spec, initial=state, send_event=True)
        try:
            if not obj.trigger(trigger, payload=payload):
                raise Rejected(trigger)
        except (self.error, AttributeError) as exc:
            raise Rejected(str(exc))
        return obj.state, merged(data, trigger, payload)


class PythonStatemachine(Floor):
    def __init__(self):
        from statemachine import State, StateMachine
        from statemachine.exceptions import TransitionNotAllowed

        class HazardMachine(StateMachine):
            reported, assigned, rectifying = State(initial=True), State(), State()
            verifying, verified, closed = State(), State(), State(final=True)
            assign = reported.to(assigned, cond="five_present")
            start = assigned.to(rectifying)
            submit = rectifying.to(verifying)
            verify = verifying.to(verified)
            close = verified.to(closed)

            def five_present(self, payload=None):
                return five_present(payload)
        self.cls, self.error = HazardMachine, TransitionNotAllowed

    def fire(self, state, data, trigger, payload):
        obj = Rec(state)
        machine = self.cls(model=obj)
        try:
            machine.send(trigger, payload=payload)
        except self.error as exc:
            raise Rejected(str(exc))
        if obj.state == state:
            raise Rejected(f"{trigger} refused by its condition")
        return obj.state, merged(data, trigger, payload)


class Spiff:
    """The case row's `data` holds the serialized workflow; the READY user task says the state."""

    def __init__(self):
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
        parser = BpmnParser(validator=BpmnValidator())
        parser.add_bpmn_file(str(BPMN_FILE))
        self.spec, self.subprocesses = parser.get_spec("major_hazard"), parser.get_subprocess_specs("major_hazard")
        self.serializer, self.workflow, self.ready = BpmnWorkflowSerializer(), BpmnWorkflow, TaskState.READY

    def _task(self, wf):
        ready = wf.get_tasks(state=self.ready, manual=True)
        return ready[0] if len(ready) == 1 else None

    def _state(self, wf) -> str:
        return "closed" if wf.is_completed() else {t: s for t, s, _ in LIFECYCLE}[self._task(wf).task_spec.name]

    def create(self, case):
        wf = self.workflow(self.spec, self.subprocesses)
        wf.do_engine_steps()
        self._task(wf).data.update(case.fields)
        return self._state(wf), self.serializer.serialize_json(wf)

    def fire(self, state, data, trigger, payload):
        wf = self.serializer.deserialize_json(data)
        task = self._task(wf)
        if task is None or task.task_spec.name != trigger or (trigger == "assign" and not five_present(payload)):
            raise Rejected(f"{trigger} is not the ready task, or its form is incomplete")
        task.data.update(payload)
        task.run()
        wf.do_engine_steps()
        return self._state(wf), self.serializer.serialize_json(wf)


# -- runners: open, create, command, begin_batch, commit_batch, close, verify ----------------------------------
class SqliteRunner:
    """The peers' persistence: plain sqlite3, BEGIN IMMEDIATE per command (or once per batch)."""

    def __init__(self, decider):
        self.decider, self.batch = decider, False

    def open(self, path):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(DDL)
        conn.close()
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.ex = self.conn.execute

    def close(self):
        self.conn.close()

    def begin_batch(self):
        self.batch = True
        self.ex("BEGIN IMMEDIATE")

    def commit_batch(self):
        self.ex("COMMIT")

    def _in_transaction(self, work, *args):
        if self.batch:
            return work(*args)
        self.ex("BEGIN IMMEDIATE")
        try:
            work(*args)
        except BaseException:
            self.ex("ROLLBACK")
            raise
        self.ex("COMMIT")

    def _create(self, case):
        state, data = self.decider.create(case)
        self.ex(INSERT_CASE, (case.id, state, 1, case.title, data))
        self.ex(INSERT_EVENT, event_row(case.id, 1, "create", None, state, case.actor, case.fields, GENESIS))

    def _command(self, case, trigger, payload):
        row = self.ex(READ, (case.id,)).fetchone()
        state, version, data, head = row
        new_state, new_data = self.decider.fire(state, data, trigger, payload)
        if self.ex(UPDATE, (new_state, version + 1, new_data, case.id, version)).rowcount != 1:
            raise RuntimeError(f"{case.id}: version conflict")
        self.ex(INSERT_EVENT, event_row(case.id, version + 1, trigger, state, new_state, case.actor, payload, head))

    def create(self, case):
        self._in_transaction(self._create, case)

    def command(self, case, trigger, payload=None):
        self._in_transaction(self._command, case, trigger, case.payloads[trigger] if payload is None else payload)

    @staticmethod
    def verify(path, n):
        """n cases closed at version 6, each with create + the five triggers in order, every chain recomputed."""
        expected = [("create", None, "reported")] + LIFECYCLE
        conn = sqlite3.connect(path)
        try:
            total, closed = conn.execute("SELECT count(*), sum(state = 'closed' AND version = 6) FROM cases").fetchone()
            assert total == closed == n, f"{closed} of {total} cases closed at version 6, {n} expected"
            counted = {}
            for cid, seq, trig, src, dest, actor, at, data, prev, digest in conn.execute(
                    "SELECT * FROM events ORDER BY case_id, seq"):
                k = counted.get(cid, 0)
                assert (seq, trig, src, dest) == (k + 1,) + expected[k], f"{cid} #{seq}: {trig} {src}->{dest}"
                assert prev == (GENESIS if k == 0 else last), f"{cid} #{seq}: the chain breaks"
                payload = json.loads(data)
                assert trig != "assign" or five_present(payload), f"{cid}: assign lacks the five implementations"
                assert event_hash(cid, seq, trig, src, dest, actor, at, payload, prev) == digest, f"{cid} #{seq}"
                counted[cid], last = k + 1, digest
            assert len(counted) == n and set(counted.values()) == {6}, "a case without its six events"
        finally:
            conn.close()


class OrmRunner(SqliteRunner):
    """SQLAlchemy ORM objects over the same tables, a Session per command, the shared transitions Machine fired
    on the mapped row itself."""

    def __init__(self):
        from sqlalchemy import JSON, Integer, String
        from sqlalchemy.orm import DeclarativeBase, mapped_column  # no annotations: `from __future__` would hide them

        class Base(DeclarativeBase):
            pass

        class CaseRow(Base):
            __tablename__ = "cases"
            id = mapped_column(String, primary_key=True)
            state = mapped_column(String)
            version = mapped_column(Integer)
            title = mapped_column(String)
            data = mapped_column(JSON)
            __mapper_args__ = {"version_id_col": version}  # UPDATE ... WHERE id = ? AND version = ?

        class EventRow(Base):
            __tablename__ = "events"
            case_id = mapped_column(String, primary_key=True)
            seq = mapped_column(Integer, primary_key=True)
            trigger = mapped_column(String)
            from_state = mapped_column(String, nullable=True)
            to_state = mapped_column(String)
            actor = mapped_column(String)
            at = mapped_column(String)
            data = mapped_column(JSON)
            prev_hash = mapped_column(String)
            hash = mapped_column(String)
        from transitions import MachineError
        self.CaseRow, self.EventRow, self.error = CaseRow, EventRow, MachineError
        self.events, self.batch, self.session = shared_machine().events, False, None

    def open(self, path):
        from sqlalchemy import create_engine, event
        from sqlalchemy.orm import sessionmaker
        SqliteRunner.open(self, path)  # the schema, as the other rows have it
        self.conn.close()
        self.engine = create_engine("sqlite:///" + path)
        event.listen(self.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA synchronous=NORMAL"))
        self.sessions = sessionmaker(self.engine)

    def close(self):
        if self.session is not None:
            self.session.close()
        self.engine.dispose()

    def begin_batch(self):
        self.batch, self.session = True, self.sessions()
        self.session.begin()

    def commit_batch(self):
        self.session.commit()

    def _event(self, case_id, seq, trigger, src, dest, actor, data, prev):
        values = event_row(case_id, seq, trigger, src, dest, actor, data, prev)
        return self.EventRow(case_id=case_id, seq=seq, trigger=trigger, from_state=src, to_state=dest, actor=actor,
                             at=values[6], data=data, prev_hash=prev, hash=values[9])

    def _run(self, work, case, *args):
        if self.batch:
            work(self.session, case, *args)
            self.session.flush()  # each command's UPDATE and INSERT, as in the other rows
            return
        with self.sessions.begin() as session:
            work(session, case, *args)

    def _create_in(self, session, case):
        session.add(self.CaseRow(id=case.id, state="reported", title=case.title, data=dict(case.fields)))
        session.add(self._event(case.id, 1, "create", None, "reported", case.actor, case.fields, GENESIS))

    def _command_in(self, session, case, trigger, payload):
        row = session.get(self.CaseRow, case.id)
        head = session.get(self.EventRow, (case.id, row.version))
        src, event = row.state, self.events.get(trigger)
        try:
            if event is None or not event.trigger(row, payload=payload):
                raise Rejected(trigger)
        except self.error as exc:
            raise Rejected(str(exc))
        if trigger == "assign":
            row.data = {**row.data, **payload}
        session.add(self._event(case.id, row.version + 1, trigger, src, row.state, case.actor, payload, head.hash))

    def create(self, case):
        self._run(self._create_in, case)

    def command(self, case, trigger, payload=None):
        self._run(self._command_in, case, trigger, case.payloads[trigger] if payload is None else payload)
