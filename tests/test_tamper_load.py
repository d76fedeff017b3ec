"""A command never acts on a row edited outside the engine: it checks, when it loads the case, that the row hashes
to what the engine wrote and names the log's last event. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from engine.domain.errors import TamperDetected
from engine.store.tables import cases, events
from tests.conftest import rectified, report, run_to


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
    rectified(service.commands, case.id, actor="ent")  # #4, the last event
    with service.store.write() as conn:
        conn.execute(delete(events).where(events.c.case_id == case.id, events.c.seq == 4))
    with pytest.raises(TamperDetected) as caught:
        service.commands.advance_case(case.id, "submit", actor="ent")
    assert "#4 is not in the log" in caught.value.message


def test_the_sweep_refuses_an_edited_case_and_fires_the_others(service):
    """A sweep meeting an edited case leaves it for the audit and goes on with the rest."""
    from engine.domain.clock import parse_time
    from engine.app.sweep import sweep
    edited, honest = (run_to(service, report(service).id, "rectifying") for _ in range(2))
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == edited.id).values(enterprise="别的企业"))
    result = sweep(service, now=parse_time("2026-05-01T09:00"))
    assert {f["case_id"] for f in result.fired} == {honest.id}
    assert result.refused == [edited.id]


# -- events re-hashed with a signer the users' log never had ----------------------------------------------------
def _resign(service, case_id: str, seq: int, **changes) -> None:
    """Rewrite event #seq's signer, re-hash the chain from there and the row to match: a consistent forgery."""
    from dataclasses import replace as rebuilt

    from sqlalchemy import and_

    from engine.domain.case import digest
    from engine.domain.events import Event
    log = service.queries.history(case_id)
    forged, prev = [], log[seq - 2].hash
    for event in log[seq - 1:]:
        changed = Event(**{**event.__dict__, **(changes if event.seq == seq else {}), "prev_hash": prev}).sealed()
        forged.append(changed)
        prev = changed.hash
    stored = service.queries.case(case_id)
    with service.store.write() as conn:
        for event in forged:
            conn.execute(update(events).where(and_(events.c.case_id == case_id, events.c.seq == event.seq)),
                         {"actor": event.actor, "role": event.role, "prev_hash": event.prev_hash, "hash": event.hash})
        signers = {**stored.signers, **({forged[0].trigger: forged[0].actor} if forged[0].trigger in stored.signers else {})}
        after = rebuilt(stored, last_hash=prev, signers=signers)
        conn.execute(update(cases).where(cases.c.id == case_id),
                     {"last_hash": prev, "signers": signers, "row_hash": digest(after)})


@pytest.mark.parametrize("changes, says", [
    ({"actor": "ghost"}, "who was not a user then"),
    ({"actor": "ent", "role": "supervisor"}, "a role they did not hold then"),
    ({"actor": "far"}, "did not cover 371721"),
    ({"actor": "scheduler"}, "only the scheduler's escalations are"),
])
def test_replay_names_an_event_signed_by_someone_the_users_log_never_made_so(service, changes, says):
    """`verify` passes a consistently re-hashed chain; replay names the event whose signer the users' log denies."""
    case = run_to(service, report(service).id, "verified")  # #6 verify by zhang, supervisor (#4 the attach)
    _resign(service, case.id, 6, **changes)
    assert service.audit.verify().breaks == []
    problems = dict(service.audit.replay_all().disagreements)[case.id]
    assert any(says in p and "#6" in p for p in problems), problems


def test_a_case_rows_digest_is_the_hash_of_its_projection_as_canonical_json(service):
    """The digest a load checks a row with is `data_hash` of every attribute but the last event's hash (instants as
    UTC text, tuples as lists): the definition rows written before its encoding was made one pass are checked by."""
    from datetime import datetime

    from engine.domain.case import digest
    from engine.domain.clock import UTC
    from engine.domain.events import data_hash
    case = run_to(service, report(service).id, "rectifying")
    values = {}
    for name, value in case.__dict__.items():
        if name == "last_hash":
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        values[name] = value
    assert digest(case) == data_hash(values)
    with service.store.read() as conn:
        assert conn.execute(select(cases.c.row_hash).where(cases.c.id == case.id)).scalar_one() == digest(case)
