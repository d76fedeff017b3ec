"""The hash chain: a real case's history verifies, and any edit, removal or reordering is found where it is."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from engine.domain.clock import SHANGHAI, UTC, parse_time
from engine.domain.events import GENESIS, Event, compute_hash, encoded, verify_chain
from tests.conftest import report, run_to

T0 = parse_time("2026-03-02T09:00")


def chain(n: int, case_id: str = "HZ-2026-000001") -> list[Event]:
    """n sealed events of one case, each linked to the one before."""
    events, prev = [], GENESIS
    states = ["reported", "assigned", "rectifying", "verifying", "verified", "closed"]
    for seq in range(1, n + 1):
        e = Event(case_id=case_id, seq=seq, trigger="report" if seq == 1 else f"t{seq}",
                  from_state=None if seq == 1 else states[(seq - 2) % 6], to_state=states[(seq - 1) % 6],
                  actor="zhang", role="supervisor", at=T0 + timedelta(hours=seq), recorded_at=T0 + timedelta(hours=seq, seconds=1),
                  data={"fields": {"opinion": f"意见{seq}"}}, workflow="major-hazard", workflow_version=1,
                  prev_hash=prev).sealed()
        events.append(e)
        prev = e.hash
    return events


def changed(value):
    """A different value of the same kind."""
    if value is None:
        return "reported"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        return {**value, "fields": {"opinion": "改过的意见"}}
    return value + timedelta(seconds=1)  # datetimes


EDITABLE = [f.name for f in dataclasses.fields(Event)]


def test_a_real_case_history_verifies(service):
    """The events of a case run through the whole loop (with a rejection) form an unbroken chain ending at the case's head."""
    case = report(service)
    run_to(service, case.id, "verifying")
    service.commands.advance_case(case.id, "reject", actor="zhang", fields={"opinion": "整改不到位"})
    service.commands.advance_case(case.id, "submit", actor="ent")
    final = run_to(service, case.id, "closed")
    events = service.queries.history(case.id)
    assert [e.seq for e in events] == list(range(1, final.version + 1))
    assert events[0].prev_hash == GENESIS
    assert list(verify_chain(events, head=(final.version, final.last_hash))) == []


@pytest.mark.parametrize("name", EDITABLE)
def test_changing_any_field_of_an_event_breaks_the_chain_at_that_event(name):
    """Editing any one column of event #3 (without resealing) is reported first at seq 3."""
    events = chain(5)
    events[2] = dataclasses.replace(events[2], **{name: changed(getattr(events[2], name))})
    breaks = list(verify_chain(events))
    assert breaks, f"editing {name} went unnoticed"
    assert breaks[0].seq == 3 if name != "seq" else breaks[0].seq in (3, 4)


@pytest.mark.parametrize("name", [n for n in EDITABLE if n not in ("hash", "seq", "prev_hash")])
def test_a_resealed_edit_still_breaks_the_link_to_the_next_event(name):
    """An editor who recomputes the edited event's hash is caught by the next event's previous-hash link."""
    events = chain(5)
    events[2] = dataclasses.replace(events[2], **{name: changed(getattr(events[2], name))}).sealed()
    breaks = list(verify_chain(events))
    assert [(b.seq, "previous-hash" in b.problem) for b in breaks] == [(4, True)]


def test_an_edited_last_event_resealed_is_caught_by_the_head():
    """Re-sealing an edited last event is caught because the case row still holds the old last hash."""
    events = chain(4)
    head = (4, events[-1].hash)
    events[-1] = dataclasses.replace(events[-1], actor="someone-else").sealed()
    assert list(verify_chain(events)) == []
    breaks = list(verify_chain(events, head=head))
    assert [b.seq for b in breaks] == [4] and "different hash" in breaks[0].problem


def test_a_removed_event_is_reported():
    """Removing event #3 shows up at the next event: sequence gap and broken link."""
    events = chain(5)
    del events[2]
    breaks = list(verify_chain(events))
    assert {b.seq for b in breaks} == {4}
    assert any("sequence 4 where 3 was expected" in b.problem for b in breaks)
    assert any("previous-hash" in b.problem for b in breaks)


def test_a_removed_last_event_is_reported_against_the_head():
    """Removing the last event leaves a clean-looking chain, but the case head says it ended later."""
    events = chain(5)
    head = (5, events[-1].hash)
    breaks = list(verify_chain(events[:-1], head=head))
    assert len(breaks) == 1
    assert breaks[0].problem == "the case says its last event is #5 but the log ends at #4"


def test_reordered_events_are_reported():
    """Swapping events #2 and #3 is reported at the first out-of-place event."""
    events = chain(4)
    events[1], events[2] = events[2], events[1]
    breaks = list(verify_chain(events))
    assert breaks[0].seq == 3
    assert "sequence 3 where 2 was expected" in breaks[0].problem


def test_the_hash_does_not_depend_on_the_time_zone_an_instant_is_written_in():
    """The same instants in UTC or in Shanghai time give the same hash, so a database round trip verifies."""
    e = chain(1)[0]
    in_utc = dataclasses.replace(e, at=e.at.astimezone(UTC), recorded_at=e.recorded_at.astimezone(UTC))
    in_sh = dataclasses.replace(e, at=e.at.astimezone(SHANGHAI))
    assert compute_hash(in_utc) == compute_hash(in_sh) == e.hash


def test_the_hash_covers_nested_data_and_chinese_text():
    """Two events differing only in one character of a Chinese opinion hash differently."""
    e = chain(1)[0]
    other = dataclasses.replace(e, data={"fields": {"opinion": "意见2"}})
    assert compute_hash(other) != compute_hash(e)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 8), data=st.data())
def test_any_single_edit_is_found_at_its_seq(n, data):
    """For any chain and any single edited event, the first break named is that event's seq."""
    events = chain(n)
    index = data.draw(st.integers(0, n - 1))
    name = data.draw(st.sampled_from(["trigger", "from_state", "to_state", "actor", "role", "at", "recorded_at",
                                      "data", "workflow", "workflow_version", "case_id", "prev_hash"]))
    events[index] = dataclasses.replace(events[index], **{name: changed(getattr(events[index], name))})
    breaks = list(verify_chain(events))
    assert breaks and breaks[0].seq == index + 1


def test_stored_history_tampered_in_the_database_is_found(service, store):
    """Editing an event's actor directly in the database makes the case's stored chain fail at that seq."""
    from sqlalchemy import update

    from engine.store.tables import events as events_table
    case = report(service)
    final = run_to(service, case.id, "verifying")
    with store.db_engine.begin() as conn:
        conn.execute(update(events_table).where(events_table.c.case_id == case.id, events_table.c.seq == 3)
                     .values(actor="nobody"))
    breaks = list(verify_chain(service.queries.history(case.id), head=(final.version, final.last_hash)))
    assert [b.seq for b in breaks] == [3]


_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | _texts,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
                     max_leaves=12)
_instants = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30),
                         timezones=st.sampled_from([UTC, SHANGHAI, timezone(timedelta(hours=-5, minutes=-30))]))


@settings(max_examples=200, deadline=None)
@given(case_id=_texts, seq=st.integers(1, 10**6), trigger=_texts, from_state=st.none() | _texts, to_state=_texts,
       actor=_texts, at=_instants, recorded_at=_instants, data=st.dictionaries(_texts, _json, max_size=4),
       version=st.integers(0, 10**6))
def test_sealing_gives_the_hash_an_audit_recomputes(case_id, seq, trigger, from_state, to_state, actor, at,
                                                    recorded_at, data, version):
    """Sealing encodes an event once (for its hash and for the store); the hash is the one `audit verify`
    recomputes from the columns, and the data text kept is the canonical JSON of its data, for any event."""
    e = Event(case_id=case_id, seq=seq, trigger=trigger, from_state=from_state, to_state=to_state, actor=actor,
              role="import", at=at, recorded_at=recorded_at, data=data, workflow="w", workflow_version=version).sealed()
    assert e.hash == compute_hash(e)
    assert json.loads(encoded(e).data) == data


def test_an_edited_copy_of_a_sealed_event_does_not_carry_its_encoding():
    """`dataclasses.replace` (how an edit is made) gives an event without the original's kept encoding, so a store
    never writes the old data under new columns."""
    e = chain(1)[0]
    assert encoded(e) is not None
    assert encoded(dataclasses.replace(e, data={"fields": {"opinion": "改"}})) is None
