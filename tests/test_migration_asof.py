"""Moving running cases to a new definition version, and the register as it stood at any moment."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput, PermissionDenied, Refused
from engine.domain.events import verify_chain
from engine.domain.replay import compare, replay
from tests.conftest import FIVE, report, run_to

MAJOR = Path(__file__).resolve().parent.parent / "workflows" / "major-hazard.yaml"


def install_v2(service, *, verification_days=15):
    """Version 2 of major-hazard: `verifying` renamed `inspecting`, a longer verification clock."""
    text = MAJOR.read_text(encoding="utf-8")
    text = text.replace("verifying", "inspecting").replace("duration: 10 days", f"duration: {verification_days} days")
    text = text.replace("  inspecting: inspecting", "  verifying: inspecting")  # the ledger's stage keeps its name
    return service.commands.install_definition(text, "major-hazard-v2.yaml", actor="li")


def snapshot(service, case_id):
    case, rungs, _ = service.queries.case_view(case_id)
    return case, [tuple(r) for r in rungs], [e.hash for e in service.queries.history(case_id)]


def test_dry_run_shows_the_state_mapping_and_moved_rungs_and_changes_nothing(service):
    """A dry run lists each running case's new state and the rungs whose due time moves, writing nothing."""
    waiting = run_to(service, report(service).id, "verifying")
    closed = run_to(service, report(service).id, "closed")
    install_v2(service)
    before = snapshot(service, waiting.id)
    plans = service.commands.migrate_cases("major-hazard", to_version=2, mapping={"verifying": "inspecting"}, actor="li",
                                  dry_run=True)
    assert [p.case_id for p in plans] == [waiting.id]  # closed cases are history: never migrated
    plan = plans[0]
    assert (plan.from_state, plan.to_state, plan.from_version, plan.to_version) == ("verifying", "inspecting", 1, 2)
    moved = {(r.clock, r.rung): r for r in plan.rung_changes}
    late = moved[("verification", "verification-late")]
    assert (late.after - late.before).days == 5
    assert snapshot(service, waiting.id) == before
    assert service.queries.case(closed.id).workflow_version == 1


def test_applying_a_migration_is_an_event_and_replay_shows_which_version_governed_each_step(service, clock):
    """After migrating, the case runs on v2 rules; its log shows v1 steps, the migrate event, then v2 steps."""
    case = run_to(service, report(service).id, "verifying")
    install_v2(service)
    clock.advance(hours=1)
    service.commands.migrate_cases("major-hazard", to_version=2, mapping={"verifying": "inspecting"}, actor="li")
    moved = service.queries.case(case.id)
    assert (moved.state, moved.workflow_version) == ("inspecting", 2)
    clock.advance(hours=1)
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "验收合格"})
    history = service.queries.history(case.id)
    assert [(e.trigger, e.workflow_version) for e in history] == [
        ("report", 1), ("assign", 1), ("start", 1), ("attach", 1), ("submit", 1), ("migrate", 2), ("verify", 2)]
    assert list(verify_chain(history)) == []
    with service.store.read() as conn:
        replayed = replay(history, lambda n, v: service.registry.loaded(conn, n, v).definition)
    assert compare(service.queries.case(case.id), replayed) == []


def test_a_state_the_new_version_lacks_must_be_mapped(service):
    """Without --map for a state v2 no longer has, the migration is refused and names the state."""
    run_to(service, report(service).id, "verifying")
    install_v2(service)
    with pytest.raises(Refused) as refused:
        service.commands.migrate_cases("major-hazard", to_version=2, mapping={}, actor="li", dry_run=True)
    assert refused.value.rule == "map" and refused.value.missing == ("verifying",)
    with pytest.raises(InvalidInput):
        service.commands.migrate_cases("major-hazard", to_version=2, mapping={"nowhere": "inspecting"}, actor="li")


def test_only_the_committee_migrates(service):
    """A supervisor may not move cases between versions."""
    run_to(service, report(service).id, "verifying")
    install_v2(service)
    with pytest.raises(PermissionDenied):
        service.commands.migrate_cases("major-hazard", to_version=2, mapping={"verifying": "inspecting"}, actor="zhang")


def test_the_register_as_of_a_moment_is_what_it_said_then(service, clock):
    """`case list --as-of` answers from the events: states, counts and overdue flags as they were then."""
    seen = {}
    first = report(service)
    clock.advance(days=1)
    second = report(service, title="粉尘涉爆除尘系统未设泄爆装置", industry="工贸")
    seen["day1"] = {c.id: c.state for c in service.queries.cases().cases}
    t1 = clock.now()
    clock.advance(days=1)
    run_to(service, first.id, "rectifying")
    clock.advance(days=90)  # far past the 2026-04-30 deadline
    seen["overdue"] = sorted(c.id for c in service.queries.cases(overdue=True).cases)
    t2 = clock.now()
    clock.advance(days=1)
    run_to(service, first.id, "closed")
    assert {c.id: c.state for c in service.queries.cases(as_of=t1).cases} == seen["day1"]
    assert sorted(c.id for c in service.queries.cases(as_of=t2, overdue=True).cases) == seen["overdue"] == [first.id]
    assert service.queries.cases(as_of=parse_time("2026-03-01T00:00")).cases == []
    assert [c.id for c in service.queries.cases(as_of=t2, state="rectifying").cases] == [first.id]
    assert service.queries.case(first.id).state == "closed"


def test_events_cannot_take_effect_before_the_case_last_changed(service, clock):
    """Back-filling out of order is refused: the log is in force in sequence order."""
    case = report(service)
    clock.advance(days=-1)
    with pytest.raises(Refused) as refused:
        service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    assert refused.value.rule == "time-order"
