"""Clock cycles folded from a case's events (pure): start, pause, resume, stop, new cycles and extensions.

Events go through `engine.domain.case.apply`, the same fold the service writes rows with and replay reads them with,
on the shipped major-hazard definition (rectification clock on the deadline field, 10-day verification clock).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from engine.domain import case as case_model
from engine.domain.calendar import default_calendar
from engine.domain.clock import SHANGHAI
from engine.domain.escalation.ladder import plan
from engine.domain.events import Event
from engine.app.registry import load_definition

MAJOR_PATH = Path(__file__).parent.parent / "workflows" / "major-hazard.yaml"
MAJOR = load_definition(MAJOR_PATH.read_text(encoding="utf-8"), str(MAJOR_PATH))
CAL = default_calendar()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装报警", "funds": "150000.00",
        "deadline": "2026-04-30", "emergency_plan": "专项预案"}
MOVES = {"assign": ("reported", "assigned"), "start": ("assigned", "rectifying"), "submit": ("rectifying", "verifying"),
         "reject": ("verifying", "rectifying"), "verify": ("verifying", "verified"), "close": ("verified", "closed")}


class Story:
    """A case folded event by event, as the service folds it."""

    def __init__(self):
        report = Event(case_id="HZ-2026-000001", seq=1, trigger="report", from_state=None, to_state="reported",
                       actor="ent", role="enterprise", at=T0, recorded_at=T0,
                       data={"case": {"title": "t", "enterprise": "e", "region": "371721", "industry": "工贸",
                                      "level": "major", "source": "inspection", "found_at": T0.isoformat()},
                             "fields": {}}, workflow="major-hazard", workflow_version=1)
        self.case = case_model.apply(None, report, MAJOR)

    def fire(self, trigger: str, at: datetime, **data):
        source, dest = MOVES.get(trigger, (self.case.state, self.case.state))
        assert self.case.state == source
        event = Event(case_id=self.case.id, seq=self.case.version + 1, trigger=trigger, from_state=source,
                      to_state=dest, actor="zhang", role="supervisor", at=at, recorded_at=at, data=data,
                      workflow="major-hazard", workflow_version=1)
        self.case = case_model.apply(self.case, event, MAJOR)
        return self

    @property
    def clocks(self) -> dict:
        return self.case.clocks

    def rungs(self) -> dict:
        return {(p.clock, p.cycle, p.rung): p for p in plan(MAJOR, self.case.clocks, self.case.fields, self.case.fired, CAL)}


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def test_only_the_assignment_clock_runs_before_assign():
    """A reported major hazard runs only the assignment clock: 5 working days to fix the five implementations
    (Mon 2026-03-02 09:00 -> Mon 03-09 09:00); assign stops it."""
    story = Story()
    assert {name: s["status"] for name, s in story.clocks.items()} == {"assignment": "running"}
    assert {key[2]: r.due_at for key, r in story.rungs().items()} == {
        "assignment-warning": datetime(2026, 3, 9, 9, 0, tzinfo=SHANGHAI),
        "assignment-notice": datetime(2026, 3, 16, 9, 0, tzinfo=SHANGHAI)}
    story.fire("assign", at(1), fields=FIVE)
    assert story.clocks["assignment"]["status"] == "stopped"


def test_assign_starts_the_rectification_clock_in_cycle_one():
    """`assign` starts the rectification clock (cycle 1, running); start does not touch it."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(2))
    state = story.clocks["rectification"]
    assert (state["cycle"], state["status"], state["paused_seconds"]) == (1, "running", 0)
    assert datetime.fromisoformat(state["started_at"]) == at(1)
    assert "verification" not in story.clocks
    assert {key[2] for key in story.rungs() if key[0] == "rectification"} == {
        "yellow-warning", "red-warning", "notice", "interview", "posted-supervision", "exposure", "suspension"}


def test_submit_pauses_rectification_and_starts_verification():
    """While verifying, rectification rungs are paused and the 10-day verification rung is pending."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(2)).fire("submit", at(10))
    assert story.clocks["rectification"]["status"] == "paused"
    assert story.clocks["verification"]["status"] == "running"
    rungs = story.rungs()
    assert {r.status for (clock, _, _), r in rungs.items() if clock == "rectification"} == {"paused"}
    late = rungs[("verification", 1, "verification-late")]
    assert (late.status, late.due_at) == ("pending", at(20))


def test_reject_resumes_with_the_paused_time_counted():
    """Rejecting after 6.5 days of verification adds exactly 6.5 days to every rectification rung."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(2))
    before = {key: r for key, r in story.rungs().items() if key[0] == "rectification"}
    story.fire("submit", at(10)).fire("reject", at(16.5), fields={"opinion": "未联锁"})
    assert story.clocks["rectification"]["paused_seconds"] == 6.5 * 86400
    after = story.rungs()
    for key, rung in before.items():
        assert after[key].due_at == rung.due_at + timedelta(days=6.5) and after[key].status == "pending"
    assert story.clocks["verification"]["status"] == "stopped"
    assert after[("verification", 1, "verification-late")].status == "cancelled"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30 * 86400), st.integers(0, 10 * 86400)), min_size=1, max_size=5))
def test_paused_seconds_sum_every_pause(rounds):
    """After any number of submit/reject rounds the clock has been paused for exactly the sum of the pauses."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(1))
    t = at(1)
    for paused, running in rounds:
        t += timedelta(seconds=running)
        story.fire("submit", t)
        t += timedelta(seconds=paused)
        story.fire("reject", t, fields={"opinion": "x"})
    assert story.clocks["rectification"]["paused_seconds"] == sum(p for p, _ in rounds)
    assert story.clocks["verification"]["cycle"] == len(rounds)


def test_each_submit_opens_a_new_verification_cycle():
    """A second submit starts verification cycle 2 with its own rung; cycle 1's rung stays cancelled."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(1)).fire("submit", at(5))
    story.fire("reject", at(7), fields={"opinion": "x"}).fire("submit", at(9))
    state = story.clocks["verification"]
    assert (state["cycle"], state["status"], datetime.fromisoformat(state["started_at"])) == (2, "running", at(9))
    rungs = story.rungs()
    assert rungs[("verification", 2, "verification-late")].due_at == at(19)
    assert ("verification", 1, "verification-late") not in rungs  # a past cycle is no longer planned


def test_verify_stops_both_clocks_and_close_keeps_them_stopped():
    """`verify` stops rectification and verification; every rung left is cancelled, also after close."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(1)).fire("submit", at(5))
    story.fire("verify", at(6), fields={"opinion": "合格"})
    assert {name: s["status"] for name, s in story.clocks.items()} == {"assignment": "stopped",
                                                                       "rectification": "stopped",
                                                                       "verification": "stopped"}
    assert {r.status for r in story.rungs().values()} == {"cancelled"}
    story.fire("close", at(7))
    assert {r.status for r in story.rungs().values()} == {"cancelled"}


def test_extension_sets_until_on_the_running_clock_only():
    """An `extend` of the rectification clock records its new date there and nowhere else."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(1))
    story.fire("extend", at(3), clock="rectification", until="2026-06-30", previous="2026-04-30", reason="r",
               fields={"deadline": "2026-06-30"})
    assert story.clocks["rectification"]["until"] == "2026-06-30"
    assert story.case.fields["deadline"] == "2026-06-30"
    assert story.case.signers.get("extend") is None  # an extension is no signature on a step


def test_fired_rungs_are_not_planned_again():
    """A rung recorded by an `escalate` event leaves the plan of its cycle."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(1))
    story.fire("escalate", at(57), clock="rectification", cycle=1, rung="yellow-warning", action="remind",
               status="fired")
    assert ("rectification", 1, "yellow-warning") in story.case.fired
    assert ("rectification", 1, "yellow-warning") not in story.rungs()


def test_extending_the_verification_clock_keeps_the_rectification_deadline():
    """Extending the verification clock moves only that clock: the case's rectification `deadline` stays."""
    story = Story().fire("assign", at(1), fields=FIVE).fire("start", at(1)).fire("submit", at(5))
    # What service.extend_deadline writes for `hazard case extend CASE --clock verification --until 2026-03-20`.
    story.fire("extend", at(6), clock="verification", until="2026-03-20", previous=None, reason="排期", fields={})
    assert story.clocks["verification"]["until"] == "2026-03-20"
    assert story.case.fields["deadline"] == "2026-04-30"
