"""Replay: cases rebuilt from their events equal the stored projection, at the end and as of any moment.

Recorded histories in tests/histories/ are replayed on every run against the definition text stored inside
them, so later edits of the YAML cannot hide a change in how old logs fold. Re-record with
`.venv/bin/python -m tests.test_replay` (only when the event format itself changes on purpose).
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.app.auditor import Auditor
from engine.domain.case import Case
from engine.domain.clock import parse_time
from engine.domain.definition.parse import parse_text
from engine.domain.errors import HazardError, ReplayMismatch
from engine.domain.events import Event, verify_chain
from engine.domain.replay import InconsistentLog, compare, open_rungs, replay
from engine.app.sweep import sweep
from tests.conftest import FIVE, START, rectified, report, run_to

HISTORIES = Path(__file__).parent / "histories"


def definitions_of(service):
    """definition_for as the auditor uses it: the stored text of each (workflow, version)."""
    def definition_for(workflow, version):
        with service.store.read() as conn:
            return service.registry.loaded(conn, workflow, version).definition
    return definition_for


def scenario(service) -> list[tuple[datetime, dict[str, Case]]]:
    """Two major hazards through rejection, an extension applied for and approved, escalation and a linked
    interview the committee approved.

    Returns what the register (`list_cases`) said after each group of steps, with the moment it said it.
    """
    clock, said = service.clock, []

    def register_now():
        said.append((clock.now(), {c.id: c for c in service.queries.cases().cases}))

    a = report(service, actor="wang")
    b = report(service, actor="ent", title="粉尘涉爆除尘系统未按规定设置泄爆装置", industry="工贸")
    register_now()
    clock.advance(days=1)
    run_to(service, a.id, "rectifying")
    service.commands.advance_case(b.id, "assign", actor="liu", fields={**FIVE, "deadline": "2026-03-20"})
    register_now()
    clock.advance(days=10)
    service.commands.advance_case(b.id, "start", actor="ent")
    rectified(service.commands, b.id, actor="ent")
    service.commands.advance_case(b.id, "submit", actor="ent", fields={"report_note": "已加装泄爆片"})
    register_now()
    clock.advance(days=2, hours=3)
    service.commands.advance_case(b.id, "reject", actor="zhang", fields={"opinion": "泄爆片规格不符"})
    register_now()
    clock.advance(days=5)
    service.commands.extend_deadline(b.id, actor="liu", until="2026-06-15", reason="泄爆片订货周期长")
    register_now()
    clock.advance(hours=2)
    service.commands.decide(b.id, "extension", "approve", actor="zhang", reason="同意")
    register_now()
    clock.advance(days=51)  # 2026-05-10: a's deadline (04-30) passed: warnings, notice and interview are due
    sweep(service)
    service.commands.decide(a.id, "interview", "approve", actor="li", reason="逾期未整改")
    register_now()
    clock.advance(days=1)
    service.commands.advance_case(b.id, "submit", actor="ent")  # b's rectification photo is attached already
    rectified(service.commands, a.id, actor="ent")
    service.commands.advance_case(a.id, "submit", actor="ent", fields={"report_note": "报警装置已安装并联动"})
    register_now()
    clock.advance(days=2)
    service.commands.advance_case(b.id, "verify", actor="zhang", fields={"opinion": "整改到位"})
    service.commands.advance_case(a.id, "verify", actor="liu", fields={"opinion": "整改到位"})
    register_now()
    clock.advance(hours=5)
    service.commands.advance_case(b.id, "close", actor="li", fields={"closing_note": "同意销号"})
    register_now()
    return said


def test_a_closed_case_replays_to_its_stored_row(service):
    """A case run to closed folds back, from its stored events, to exactly its stored projection."""
    case = report(service)
    run_to(service, case.id, "closed")
    stored = service.queries.case(case.id)
    replayed = replay(service.queries.history(case.id), definitions_of(service))
    assert compare(stored, replayed) == []
    assert replayed.state == "closed" and replayed.last_hash == stored.last_hash


def test_as_of_answers_match_what_the_register_said_then(service):
    """For every moment of a recorded scenario, replaying as of it gives each case exactly as listed then."""
    said = scenario(service)
    auditor = service.audit
    everyone = {c.id for c in service.queries.cases().cases}
    assert len(everyone) == 3  # the two hazards and the interview the ladder opened
    for moment, register in said:
        assert {c.id: c for c in service.queries.cases(as_of=moment).cases} == register
        for case_id in everyone:
            found = auditor.replay_case(case_id, as_of=moment)
            assert found.agrees
            if case_id not in register:
                assert found.case is None, f"{case_id} did not exist at {moment}"
            else:
                assert compare(register[case_id], found.case) == [], f"{case_id} as of {moment}"


def test_as_of_shows_rungs_and_linked_cases_of_that_moment(service):
    """As of a moment, fired rungs are those fired by then, the rest are open, and linked cases are as they were."""
    said = scenario(service)
    after_sweep = said[6][0]
    a_id = min(said[0][1])
    before = service.audit.replay_case(a_id, as_of=after_sweep - timedelta(seconds=1))
    after = service.audit.replay_case(a_id, as_of=after_sweep)
    assert {r.status for r in before.rungs} <= {"pending", "due", "paused", "cancelled"}
    assert "due" in {r.status for r in before.rungs} and before.linked == []
    fired = {r.rung: r for r in after.rungs if r.status in ("fired", "skipped", "approved")}
    assert {"red-warning", "notice", "interview"} <= set(fired) and fired["interview"].status == "approved"
    assert fired["interview"].linked_case == after.linked[0].id and after.linked[0].state == "scheduled"


def test_before_its_report_a_case_does_not_exist(service):
    """Replaying as of a moment before the report gives no case at all."""
    case = report(service)
    assert replay(service.queries.history(case.id), definitions_of(service),
                  as_of=parse_time(START) - timedelta(minutes=1)) is None


_TRIGGERS = ["assign", "start", "submit", "verify", "reject", "close", "extend", "sweep"]
_FIELDS = {"assign": FIVE, "verify": {"opinion": "整改到位"}, "reject": {"opinion": "未整改到位"},
           "submit": {"report_note": "已整改"}, "close": {"closing_note": "同意销号"}}
steps = st.lists(st.tuples(st.sampled_from(_TRIGGERS), st.sampled_from(["ent", "zhang", "liu", "li", "far", "wang"]),
                           st.booleans(), st.integers(min_value=0, max_value=25)), max_size=14)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(histories=st.lists(steps, min_size=1, max_size=2))
def test_random_histories_replay_to_their_projections(service, histories):
    """Whatever commands random people try (refused ones included), every case replays to its stored row."""
    service.clock.at = parse_time(START)
    for history in histories:
        case = report(service)
        for trigger, actor, with_fields, days in history:
            service.clock.advance(days=days)
            try:
                if trigger == "sweep":
                    sweep(service)
                elif trigger == "extend":
                    until = (service.clock.now() + timedelta(days=30)).date().isoformat()
                    service.commands.extend_deadline(case.id, actor=actor, until=until, reason="申请延期")
                else:
                    given_fields = _FIELDS.get(trigger, {}) if with_fields else {}
                    service.commands.advance_case(case.id, trigger, actor=actor, fields=given_fields)
            except HazardError:
                pass  # refusals write nothing; what was written must still replay
    report_ = service.audit.replay_all()
    assert report_.disagreements == []
    assert report_.cases == len(service.queries.cases().cases)


def test_a_log_no_definition_could_produce_is_named(service):
    """An event whose transition the definition does not have is reported with its case and seq."""
    case = report(service)
    run_to(service, case.id, "verifying")
    log = service.queries.history(case.id)
    forged = log[:3] + [replace(log[3], trigger="close", to_state="closed")]
    with pytest.raises(InconsistentLog) as raised:
        replay(forged, definitions_of(service))
    assert raised.value.case_id == case.id and raised.value.seq == 4
    assert isinstance(raised.value, ReplayMismatch) and raised.value.exit_code == 11


@pytest.mark.parametrize("change, says", [
    ({"from_state": "reported"}, "the case was in 'assigned'"),
    ({"to_state": "verifying"}, "leads to 'rectifying'"),
    ({"role": "inspector"}, "role 'inspector'"),
    ({"seq": 5}, "follows #2"),
    ({"workflow_version": 7}, "version 7"),
    ({"at": parse_time("2026-03-01T09:00")}, "before the event it follows"),
])
def test_each_kind_of_inconsistent_event_is_explained(service, change, says):
    """A wrong from-state, to-state, role, sequence, version or time in event #3 is named with what was expected."""
    case = report(service)
    run_to(service, case.id, "rectifying")
    log = service.queries.history(case.id)
    log[2] = replace(log[2], **change)
    definition = definitions_of(service)
    with pytest.raises(InconsistentLog, match=says) as raised:
        replay(log, lambda w, v: definition(w, 1))
    assert raised.value.seq == change.get("seq", 3)


def test_engine_events_keep_the_state_and_migrations_move_it(service):
    """extend and escalate may not change the state; a migrate event follows its map into the new version."""
    case = report(service)
    run_to(service, case.id, "rectifying")
    service.clock.advance(days=1)
    service.commands.extend_deadline(case.id, actor="zhang", until="2026-05-31", reason="设备到货延迟")
    log = service.queries.history(case.id)
    definition = definitions_of(service)
    bad = log[:3] + [replace(log[3], to_state="verified")]
    with pytest.raises(InconsistentLog, match="keeps the state"):
        replay(bad, definition)
    moved = replace(log[3], seq=5, trigger="migrate", from_state="rectifying", to_state="rectifying",
                    workflow_version=2, prev_hash=log[3].hash,
                    data={"from_version": 1, "to_version": 2, "map": {"assigned": "rectifying"}}).sealed()
    migrated = replay(log + [moved], lambda w, v: definition(w, 1))
    assert migrated.workflow_version == 2 and migrated.state == "rectifying"
    wrong_map = replace(moved, data={**moved.data, "map": {"rectifying": "verifying"}})
    with pytest.raises(InconsistentLog, match="maps 'rectifying' to 'verifying'"):
        replay(log + [wrong_map], lambda w, v: definition(w, 1))


def test_compare_names_every_field_that_differs(service):
    """compare lists each differing field with both values, and treats one instant in two zones as equal."""
    case = report(service)
    stored = run_to(service, case.id, "assigned")
    clocks = {name: {**state, "started_at": parse_time(state["started_at"]).astimezone().isoformat()}
              for name, state in stored.clocks.items()}
    assert compare(stored, replace(stored, clocks=clocks)) == []
    differences = compare(stored, replace(stored, state="closed", fields={**stored.fields, "funds": "1.00"}))
    assert [d.split(":")[0] for d in differences] == ["state", "fields"]
    assert "stored 'assigned', replayed 'closed'" in differences[0]


def test_open_rungs_as_of_a_moment_say_which_are_past_due(service):
    """A rung whose due time has passed but which no sweep fired shows as `due`; later ones stay `pending`."""
    case = report(service)
    run_to(service, case.id, "rectifying")
    with service.store.read() as conn:
        run = service.registry.loaded(conn, "major-hazard", 1)
    replayed = replay(service.queries.history(case.id), definitions_of(service))
    status = {r.rung: r.status for r in open_rungs(replayed, run.definition, run.calendar,
                                                   as_of=parse_time("2026-05-02T00:00"))}
    assert status["red-warning"] == "due" and status["interview"] == "pending"


# -- recorded histories ----------------------------------------------------------------------------------------
def _event(doc: dict) -> Event:
    return Event(case_id=doc["case_id"], seq=doc["seq"], trigger=doc["trigger"], from_state=doc["from"],
                 to_state=doc["to"], actor=doc["actor"], role=doc["role"], at=datetime.fromisoformat(doc["at"]),
                 recorded_at=datetime.fromisoformat(doc["recorded_at"]), data=doc["data"], workflow=doc["workflow"],
                 workflow_version=doc["workflow_version"], prev_hash=doc["prev_hash"], hash=doc["hash"])


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_histories_still_replay(path):
    """Each recorded log verifies, replays under its own stored definitions and matches every checkpoint."""
    history = json.loads(path.read_text(encoding="utf-8"))
    definitions = {(d["name"], d["version"]): parse_text(d["source_text"], d["file_name"])
                   for d in history["definitions"]}
    definition_for = lambda workflow, version: definitions[(workflow, version)]  # noqa: E731
    assert history["cases"]
    for recorded in history["cases"]:
        log = [_event(doc) for doc in recorded["events"]]
        assert list(verify_chain(log)) == []
        final = replay(log, definition_for)
        for key, value in recorded["expected"].items():
            assert _plain(getattr(final, key)) == value, f"{recorded['id']}: {key}"
        for checkpoint in recorded["checkpoints"]:
            then = replay(log, definition_for, as_of=datetime.fromisoformat(checkpoint["as_of"]))
            assert (then.state, then.version) == (checkpoint["state"], checkpoint["version"]), checkpoint["as_of"]


_EXPECTED = ("state", "version", "workflow_version", "fields", "flags", "fired", "signers", "is_final",
             "parent_id", "last_hash")


def _plain(value):
    return json.loads(json.dumps(value))


def record(path: Path) -> None:
    """Run the scenario on a scratch SQLite database and write its log, definitions and checkpoints."""
    import tempfile

    from engine.domain.clock import FixedClock
    from engine.domain.documents import event_document
    from engine.app import Engine
    from engine.store import definitions as definition_store
    from engine.store.database import Store

    with tempfile.TemporaryDirectory() as folder:
        service = Engine(Store(f"sqlite:///{folder}/record.db", create=True), clock=FixedClock(parse_time(START)),
                         trust_backdating=True)
        service.init(admin="li", admin_regions=["37"])
        for name, role, region in (("wang", "inspector", "371721"), ("ent", "enterprise", "371721"),
                                   ("zhang", "supervisor", "371700"), ("liu", "supervisor", "371700")):
            service.commands.add_user(name, roles=[role], regions=[region], actor="li")
        said = scenario(service)
        cases = []
        for case in service.queries.cases().cases:
            log = service.queries.history(case.id)
            docs = [{**event_document(e), "at": e.at.isoformat(), "recorded_at": e.recorded_at.isoformat()} for e in log]
            checkpoints = [{"as_of": moment.isoformat(), "state": register[case.id].state,
                            "version": register[case.id].version} for moment, register in said if case.id in register]
            cases.append({"id": case.id, "events": docs, "checkpoints": checkpoints,
                          "expected": {key: _plain(getattr(case, key)) for key in _EXPECTED}})
        with service.store.read() as conn:
            used = {(e["workflow"], e["workflow_version"]) for c in cases for e in c["events"]}
            stored = [definition_store.get(conn, name, version) for name, version in sorted(used)]
        history = {"description": "Two major hazards (one rejected then extended, one escalated into an interview) "
                                  "recorded from tests.test_replay.scenario",
                   "definitions": [{"name": s.name, "version": s.version, "file_name": s.file_name,
                                    "source_text": s.source_text} for s in stored],
                   "cases": cases}
        path.write_text(json.dumps(history, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    record(HISTORIES / "major-hazard-escalated.json")
