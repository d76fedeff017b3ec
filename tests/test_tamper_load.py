"""A command never acts on a row edited outside the engine: it checks, when it loads the case, that the row hashes
to what the engine wrote and names the log's last event. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from engine.errors import TamperDetected
from engine.store.tables import cases, events
from tests.conftest import report, run_to


def test_a_state_set_by_hand_is_refused_not_verified(service):
    """The issue's edit: a case's state set to verifying in its row, then `verify`: refused, exit 10."""
    case = run_to(service, report(service).id, "rectifying")
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == case.id).values(state="verifying"))
    with pytest.raises(TamperDetected) as caught:
        service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "合格"})
    assert caught.value.exit_code == 10 and caught.value.rule == "row" and case.id in caught.value.message
    assert [e.trigger for e in service.queries.history(case.id)][-1] == "start"  # nothing was written


def test_a_region_edited_by_hand_decides_nothing(service):
    """A region moved into a supervisor's area by hand does not let him act on it."""
    case = report(service)
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == case.id).values(region="410102"))
    with pytest.raises(TamperDetected):
        service.commands.advance_case(case.id, "assign", actor="far", fields={})


def test_a_removed_last_event_is_refused(service):
    case = run_to(service, report(service).id, "rectifying")
    with service.store.write() as conn:
        conn.execute(delete(events).where(events.c.case_id == case.id, events.c.seq == 3))
    with pytest.raises(TamperDetected) as caught:
        service.commands.advance_case(case.id, "submit", actor="ent")
    assert "#3 is not in the log" in caught.value.message


def test_the_sweep_refuses_an_edited_case_and_fires_the_others(service):
    """A sweep meeting an edited case leaves it for the audit and goes on with the rest."""
    from engine.clock import parse_time
    from engine.sweep import sweep
    edited, honest = (run_to(service, report(service).id, "rectifying") for _ in range(2))
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == edited.id).values(enterprise="别的企业"))
    result = sweep(service, now=parse_time("2026-05-01T09:00"))
    assert {f["case_id"] for f in result.fired} == {honest.id}
    assert result.refused == [edited.id]
