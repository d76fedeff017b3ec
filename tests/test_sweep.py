"""Escalation sweeps through the service, on SQLite and PostgreSQL: what fires when, once, and what it does.

Time is driven with `now`: `sweep(service, now=T)` for sweeps and `service.clock.at = T` for commands, never
by sleeping. Commands after a sweep move the clock past it (events stay in time order).
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import PermissionDenied, Refused
from engine.domain.events import verify_chain
from engine.app.sweep import sweep
from tests.conftest import FIVE, rectified, report, run_to

DEFINITIONS = Path(__file__).parent / "definitions" / "escalation"


def T(text: str):
    return parse_time(text)


def rectifying(service, **fields):
    """A major hazard assigned at 2026-03-02T09:00 with deadline 2026-04-30 (or as given) and started."""
    case = report(service)
    return run_to(service, case.id, "rectifying", fields={**FIVE, **fields})


def rows(service, case_id) -> dict:
    """The case's rung rows by (clock, cycle, rung)."""
    _, found, _ = service.queries.case_view(case_id)
    return {(r.clock, r.cycle, r.rung): r for r in found}


def rung(service, case_id, name, clock="rectification", cycle=1):
    return rows(service, case_id)[(clock, cycle, name)]


def escalations(service, case_id) -> list[dict]:
    return [e.data for e in service.queries.history(case_id) if e.trigger == "escalate"]


def fired_names(result, case_id, status="fired") -> set[str]:
    return {f["rung"] for f in result.fired if f["case_id"] == case_id and f["status"] == status}


def at(service, text: str) -> None:
    """Move the engine's clock (for commands) to `text`."""
    service.clock.at = T(text)


def approve(service, case_id: str, rung: str, when: str, actor: str = "li") -> str | None:
    """A named person approves the rung the sweep proposed; the linked case it opened, if any."""
    after = service.commands.decide(case_id, rung, "approve", actor=actor, reason="同意", now=when)
    return next(p for p in after.decisions["proposals"].values() if p["rung"] == rung).get("linked_case")


def install(service, name: str) -> None:
    path = DEFINITIONS / f"{name}.yaml"
    service.commands.install_definition(path.read_text(encoding="utf-8"), str(path), actor="li")


# -- when rungs fire ----------------------------------------------------------------------------------------

def test_rungs_fire_at_their_due_time_and_not_before(service):
    """The yellow warning fires at the end of D-3, red warning and notice at the end of D, not a second earlier."""
    case = rectifying(service)
    assert sweep(service, now=T("2026-04-27T23:59:59")).fired == []
    result = sweep(service, now=T("2026-04-28T00:00"))
    assert [(f["rung"], f["status"], f["level"], f["late_seconds"]) for f in result.fired] == \
        [("yellow-warning", "fired", "yellow", 0.0)]
    assert sweep(service, now=T("2026-04-30T23:59:59")).fired == []
    result = sweep(service, now=T("2026-05-01T00:00"))
    assert fired_names(result, case.id) == {"red-warning", "notice"}
    red = rung(service, case.id, "red-warning")
    assert red.status == "fired" and red.fired_at == red.due_at == T("2026-05-01T00:00")
    assert rung(service, case.id, "interview").status == "pending"


def test_a_race_lost_at_the_flush_reports_nothing_fired_and_hands_the_rows_back(service, monkeypatch):
    """A writer who changes the case between a sweep's decision and its commit wins: the sweep says it fired
    nothing (it did not), counts the conflict, and leaves the rows free for the very next sweep."""
    from engine.domain.errors import Conflict
    from engine.app.unit import UnitOfWork

    case = rectifying(service)
    real_flush = UnitOfWork.flush

    def lost_race(unit):
        if unit._events:  # the sweep's escalate events: as if another writer had moved the case meanwhile
            raise Conflict("the case changed meanwhile", case_id=case.id)
        real_flush(unit)

    monkeypatch.setattr(UnitOfWork, "flush", lost_race)
    lost = sweep(service, now=T("2026-05-01T00:00"))
    assert (lost.fired, lost.conflicts) == ([], 1)
    monkeypatch.setattr(UnitOfWork, "flush", real_flush)
    assert rung(service, case.id, "red-warning").status == "pending"
    assert rung(service, case.id, "red-warning").claimed_by is None
    won = sweep(service, now=T("2026-05-01T00:00"))
    assert fired_names(won, case.id) == {"red-warning", "notice"}
    assert fired_names(won, case.id, status="skipped") == {"yellow-warning"}


def test_repeated_sweeps_never_fire_a_rung_twice(service):
    """Sweeps repeated at the same time or later fire each rung once: one escalate event and one fired row each."""
    case = rectifying(service)
    for now in ("2026-05-01T00:00", "2026-05-01T00:00", "2026-05-01T00:30", "2026-05-08T00:00",
                "2026-05-08T00:00", "2026-05-08T12:00", "2026-05-09T00:00"):
        sweep(service, now=T(now))
    keys = [(e["clock"], e["cycle"], e["rung"]) for e in escalations(service, case.id)]
    assert sorted(keys) == sorted(set(keys))
    assert {k[2] for k in keys} == {"yellow-warning", "red-warning", "notice", "interview"}
    done = {key for key, r in rows(service, case.id).items() if r.status in ("fired", "skipped", "proposed")}
    assert done == set(keys)
    assert sweep(service, now=T("2026-05-09T00:00")).fired == []


def test_rungs_in_working_days_fire_after_the_spring_festival(service):
    """`5 working days after` a Fri 2026-02-13 deadline fires at the end of the make-up Saturday 02-28."""
    install(service, "working-days")
    at(service, "2026-02-02T09:00")
    case = service.commands.report_case(actor="wang", workflow="working-days", title="消防通道堵塞", enterprise="某商场",
                               region="371721", industry="消防", level="general", source="inspection")
    service.commands.advance_case(case.id, "assign", actor="zhang", fields={"measures": "清理通道", "deadline": "2026-02-13"})
    assert rung(service, case.id, "late", clock="fixing").due_at == T("2026-02-28T00:00")
    assert fired_names(sweep(service, now=T("2026-02-14T00:00")), case.id) == {"early", "due"}
    assert "late" not in fired_names(sweep(service, now=T("2026-02-27T23:59")), case.id)
    assert fired_names(sweep(service, now=T("2026-02-28T00:00")), case.id) == {"late"}


def test_rungs_counted_into_2027_are_stored_as_provisional(service):
    """A working-day rung that runs into 2027 is a provisional row; a calendar-day rung is not."""
    install(service, "working-days")
    case = service.commands.report_case(actor="wang", workflow="working-days", title="消防通道堵塞", enterprise="某商场",
                               region="371721", industry="消防", level="general", source="inspection")
    service.commands.advance_case(case.id, "assign", actor="zhang", fields={"measures": "清理通道", "deadline": "2026-12-28"})
    late, calendar = rung(service, case.id, "late", clock="fixing"), rung(service, case.id, "late-calendar", clock="fixing")
    assert (late.due_at, late.provisional) == (T("2027-01-06T00:00"), True)
    assert (calendar.due_at, calendar.provisional) == (T("2027-01-08T00:00"), False)


# -- catch-up after downtime ----------------------------------------------------------------------------------

def test_downtime_catch_up_follows_each_rungs_policy(service):
    """One sweep long after the ladder was due skips the yellow warning and the naming notice, fires the red
    warning late (recording how late), and of the sanctions proposes only the current ones."""
    case = rectifying(service)
    now = T("2026-06-15T09:00")
    result = sweep(service, now=now)
    assert fired_names(result, case.id, "skipped") == {"yellow-warning", "notice", "interview", "posted-supervision"}
    assert fired_names(result, case.id) == {"red-warning"}
    assert fired_names(result, case.id, "proposed") == {"exposure", "suspension"}
    red = next(e for e in escalations(service, case.id) if e["rung"] == "red-warning")
    assert red["status"] == "fired" and red["late_seconds"] == (now - T("2026-05-01T00:00")).total_seconds()
    yellow = rung(service, case.id, "yellow-warning")
    assert (yellow.status, yellow.fired_at) == ("skipped", now)
    assert next(e for e in escalations(service, case.id) if e["rung"] == "yellow-warning")["status"] == "skipped"
    assert {r.status for k, r in rows(service, case.id).items() if k[0] == "rectification"} <= {
        "fired", "skipped", "proposed"}


def test_downtime_catch_up_fires_the_red_warning_under_highest(service):
    """After downtime the red warning (`missed: highest`, the only such rung of its cycle) still fires, late."""
    case = rectifying(service)
    sweep(service, now=T("2026-06-15T09:00"))
    assert rung(service, case.id, "red-warning").status == "fired"


def _catch_up_case(service):
    install(service, "catch-up")
    case = service.commands.report_case(actor="wang", workflow="catch-up", title="粉尘涉爆", enterprise="某木业", region="371721",
                               industry="工贸", level="major", source="inspection")
    service.commands.advance_case(case.id, "assign", actor="zhang", fields={"measures": "加装泄爆", "deadline": "2026-04-30"})
    return case


def test_highest_fires_only_the_latest_missed_rung(service):
    """Of three missed `highest` rungs one sweep fires only the latest and records the other two as skipped."""
    case = _catch_up_case(service)
    result = sweep(service, now=T("2026-05-20T09:00"))
    assert fired_names(result, case.id) == {"third"}
    assert fired_names(result, case.id, "skipped") == {"first", "second"}


def test_highest_holds_when_a_cycle_is_split_over_sweeps(service):
    """`escalate --limit 1` followed by a full sweep still fires only the latest missed `highest` rung."""
    case = _catch_up_case(service)
    sweep(service, now=T("2026-05-20T09:00"), limit=1)
    sweep(service, now=T("2026-05-20T09:00"))
    assert {e["rung"] for e in escalations(service, case.id) if e["status"] == "fired"} == {"third"}


# -- extension ------------------------------------------------------------------------------------------------

def test_extension_rebases_every_unfired_rung_and_is_an_event(service):
    """Extending to 2026-06-30 moves every unfired rung to the new date, keeps fired ones and records an event."""
    case = rectifying(service)
    sweep(service, now=T("2026-04-28T00:00"))  # the yellow warning fires
    at(service, "2026-04-28T09:00")
    applied = service.commands.extend_deadline(case.id, actor="zhang", until="2026-06-30", reason="设备到货延迟")
    assert applied.fields["deadline"] == "2026-04-30"  # an application: nothing moves until it is decided
    event = service.queries.history(case.id)[-1]
    assert (event.trigger, event.actor, event.role) == ("extend", "zhang", "supervisor")
    assert event.data["until"] == "2026-06-30" and event.data["previous"] == "2026-04-30"
    assert event.data["reason"] == "设备到货延迟" and event.data["application"] is True
    after = service.commands.decide(case.id, "extension", "approve", actor="liu", reason="同意")
    assert after.fields["deadline"] == "2026-06-30"
    found = rows(service, case.id)
    yellow = found[("rectification", 1, "yellow-warning")]
    assert (yellow.status, yellow.due_at) == ("fired", T("2026-04-28T00:00"))
    expected = {"red-warning": "2026-07-01", "notice": "2026-07-01", "interview": "2026-07-08",
                "posted-supervision": "2026-07-16", "exposure": "2026-07-31", "suspension": "2026-07-31"}
    assert {k[2]: (r.due_at, r.status) for k, r in found.items() if k[0] == "rectification" and k[2] != "yellow-warning"} == \
        {name: (T(f"{day}T00:00"), "pending") for name, day in expected.items()}
    assert fired_names(sweep(service, now=T("2026-05-02T00:00")), case.id) == set()
    assert fired_names(sweep(service, now=T("2026-07-01T00:00")), case.id) == {"red-warning", "notice"}


def test_only_permitted_roles_may_extend_and_a_reason_is_required(service):
    """An inspector may not apply for an extension; an application needs a reason; the enterprise applies and
    the committee decides."""
    case = rectifying(service)
    with pytest.raises(PermissionDenied):
        service.commands.extend_deadline(case.id, actor="wang", until="2026-06-30", reason="想延期")
    with pytest.raises(Refused) as refused:
        service.commands.extend_deadline(case.id, actor="zhang", until="2026-06-30", reason="  ")
    assert refused.value.rule == "requires" and refused.value.missing == ("reason",)
    assert [e.trigger for e in service.queries.history(case.id)][-1] == "start"
    service.commands.extend_deadline(case.id, actor="ent", until="2026-06-30", reason="设备到货延迟")
    service.commands.decide(case.id, "extension", "approve", actor="li", reason="省安委办同意")
    assert service.queries.case(case.id).fields["deadline"] == "2026-06-30"


def test_a_supervisor_of_another_region_may_not_extend(service):
    """A supervisor whose region does not cover the case cannot extend its deadline."""
    case = rectifying(service)
    with pytest.raises(PermissionDenied):
        service.commands.extend_deadline(case.id, actor="far", until="2026-06-30", reason="跨区")


def test_extending_verification_leaves_the_rectification_ladder_alone(service):
    """Giving the department more time to verify does not move the rectification deadline or its rungs."""
    case = rectifying(service)
    at(service, "2026-03-10T09:00")
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    before = {k: r.due_at for k, r in rows(service, case.id).items() if k[0] == "rectification"}
    service.commands.extend_deadline(case.id, actor="zhang", until="2026-03-25", reason="专家排期", clock="verification")
    after = service.commands.decide(case.id, "extension", "approve", actor="liu", reason="同意")
    assert rung(service, case.id, "verification-late", clock="verification").due_at == T("2026-03-26T00:00")
    assert after.fields["deadline"] == "2026-04-30"
    assert {k: r.due_at for k, r in rows(service, case.id).items() if k[0] == "rectification"} == before


# -- posted supervision, suspension, interview ------------------------------------------------------------------

def test_closing_is_refused_while_the_posted_supervision_is_open(service):
    """The hazard cannot be closed until its posted supervision is served, accepted and de-listed."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-16T09:00"))
    posted = approve(service, case.id, "posted-supervision", "2026-05-16T09:00")
    listing = service.queries.case(posted)
    assert (listing.workflow, listing.parent_id, listing.fields["authority"]) == ("posted-supervision", case.id, "city")
    assert listing.fields["deadline"] == "2026-08-14"  # 90 days from the posting
    at(service, "2026-05-17T09:00")
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "验收合格"})
    steps = [("serve", "li", {"document_no": "菏安委办督〔2026〕第3号", "signed_by": "王五"}),
             ("apply", "ent", {"application": "已整改完毕, 申请验收"}),
             ("accept", "zhang", {"opinion": "同意摘牌"})]
    for trigger, actor, fields in [(None, None, None), *steps]:
        if trigger:
            service.commands.advance_case(posted, trigger, actor=actor, fields=fields)
        with pytest.raises(Refused) as refused:
            service.commands.advance_case(case.id, "close", actor="li")
        assert refused.value.rule == "no_open_linked"
    service.commands.advance_case(posted, "delist", actor="li", fields={"notice_no": "摘牌公告〔2026〕1号"})
    closed = service.commands.advance_case(case.id, "close", actor="li")
    assert closed.state == "closed"


def test_suspension_is_set_by_its_rung_and_lifted_by_verification(service):
    """The suspend rung flags the case suspended (close refused); verification lifts the flag, exposure stays."""
    case = rectifying(service)
    assert fired_names(sweep(service, now=T("2026-05-31T00:00")), case.id, "proposed") >= {"exposure", "suspension"}
    assert service.queries.case(case.id).flags == ()  # proposed, not carried out
    approve(service, case.id, "exposure", "2026-05-31T09:00")
    approve(service, case.id, "suspension", "2026-05-31T09:00", actor="zhang")
    assert set(service.queries.case(case.id).flags) == {"exposed", "suspended"}
    at(service, "2026-06-01T09:00")
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    verified = service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "验收合格"})
    assert verified.flags == ("exposed",)
    assert service.queries.history(case.id)[-1].data["lifts"] == ["suspended"]


def test_interview_rung_opens_a_linked_interview_of_the_responsible_person(service):
    """The interview rung opens a scheduled `interview` case summoning the responsible person, linked to the hazard."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T00:00"))
    opened = approve(service, case.id, "interview", "2026-05-08T09:00")
    _, _, linked = service.queries.case_view(case.id)
    assert [(c.id, c.workflow, c.state) for c in linked] == [(opened, "interview", "scheduled")]
    interview = linked[0]
    assert interview.fields["summoned"] == FIVE["responsible_person"] and interview.parent_id == case.id
    assert interview.source == "escalation:interview"
    data = service.queries.history(case.id)[-1].data
    assert (data["decision"], data["linked_case"], data["linked_workflow"]) == ("approve", interview.id, "interview")


def test_linked_cases_climb_their_own_ladders(service):
    """The interview, approved when proposed, warns if not held within 7 days; the posted supervision warns 20
    working days before its deadline and names the unit when it is missed."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T09:00"))
    interview = approve(service, case.id, "interview", "2026-05-08T09:00")
    assert rung(service, interview, "not-held", clock="holding").due_at == T("2026-05-15T09:00")
    assert fired_names(sweep(service, now=T("2026-05-15T09:00")), interview) == {"not-held"}
    sweep(service, now=T("2026-05-16T09:00"))
    posted = approve(service, case.id, "posted-supervision", "2026-05-16T09:00")
    assert rung(service, posted, "warning", clock="supervision").due_at == T("2026-07-18T00:00")
    assert rung(service, posted, "overdue", clock="supervision").due_at == T("2026-08-15T00:00")
    later = sweep(service, now=T("2026-08-15T00:00"))
    assert fired_names(later, posted) == {"overdue"}
    assert fired_names(later, posted, "skipped") == {"warning"}  # missed by weeks: `missed: skip`
    assert fired_names(later, case.id, "proposed") == {"exposure", "suspension"}  # the hazard's ladder goes on


def test_an_interview_held_in_time_waits_for_its_written_follow_up(service):
    """Holding the interview cancels its not-held warning; the follow-up notice is due 5 working days later."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T09:00"))
    interview = approve(service, case.id, "interview", "2026-05-08T10:00")
    assert rung(service, interview, "not-held", clock="holding").due_at == T("2026-05-15T10:00")
    at(service, "2026-05-13T10:00")
    service.commands.advance_case(interview, "hold", actor="zhang", fields={
        "held_at": "2026-05-13", "minutes": "约谈纪要", "commitments": "5月底前完成整改", "clerk": "刘记录"})
    assert rung(service, interview, "not-held", clock="holding").status == "cancelled"
    # Wed 05-13 + 5 working days: 05-14, 05-15, 05-18, 05-19, 05-20, at the time it was held.
    assert rung(service, interview, "follow-up-late", clock="follow-up").due_at == T("2026-05-20T10:00")
    assert fired_names(sweep(service, now=T("2026-05-20T09:59")), interview) == set()
    late = sweep(service, now=T("2026-05-20T10:00"))
    assert [(f["rung"], f.get("kind")) for f in late.fired if f["case_id"] == interview] == [("follow-up-late", "real_name")]


# -- clocks while verifying -----------------------------------------------------------------------------------

def test_pausing_while_verifying_moves_the_rungs_later(service):
    """Ten days and six hours in verification before a rejection move every rectification rung that much later."""
    case = rectifying(service)
    before = {k: r.due_at for k, r in rows(service, case.id).items() if k[0] == "rectification"}
    at(service, "2026-03-10T09:00")
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    assert {r.status for k, r in rows(service, case.id).items() if k[0] == "rectification"} == {"paused"}
    at(service, "2026-03-20T15:00")
    service.commands.advance_case(case.id, "reject", actor="zhang", fields={"opinion": "未与紧急切断联锁"})
    shift = timedelta(days=10, hours=6)
    after = {k: r for k, r in rows(service, case.id).items() if k[0] == "rectification"}
    assert {k: (r.due_at, r.status) for k, r in after.items()} == {k: (d + shift, "pending") for k, d in before.items()}
    assert fired_names(sweep(service, now=T("2026-05-01T00:00")), case.id) == set()
    assert fired_names(sweep(service, now=T("2026-05-11T05:59:59")), case.id) == set()
    assert fired_names(sweep(service, now=T("2026-05-11T06:00")), case.id) == {"red-warning", "notice"}


def test_verification_clock_fires_its_red_warning_and_stops_on_verify(service):
    """Not verified 10 days after submit: a red warning; after verify nothing of either clock is left pending."""
    case = rectifying(service)
    at(service, "2026-04-01T09:00")
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    assert fired_names(sweep(service, now=T("2026-04-11T08:59")), case.id) == set()
    result = sweep(service, now=T("2026-04-11T09:00"))
    assert [(f["clock"], f["rung"], f["level"]) for f in result.fired] == [("verification", "verification-late", "red")]
    at(service, "2026-04-12T09:00")
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "验收合格"})
    assert {r.status for k, r in rows(service, case.id).items() if k[2] != "verification-late"} == {"cancelled"}
    assert sweep(service, now=T("2026-07-01T00:00")).fired == []


def test_verified_in_time_cancels_the_verification_warning(service):
    """Verified on day 3 of 10: the verification warning is cancelled and never fires."""
    case = rectifying(service)
    at(service, "2026-04-01T09:00")
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    at(service, "2026-04-04T09:00")
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "验收合格"})
    assert rung(service, case.id, "verification-late", clock="verification").status == "cancelled"
    assert sweep(service, now=T("2026-04-20T00:00")).fired == []


# -- dry run and the log --------------------------------------------------------------------------------------

def _snapshot(service):
    from sqlalchemy import select

    from engine.store.tables import cases, events, rungs, sweeps
    with service.store.read() as conn:
        return ([tuple(r) for r in conn.execute(select(rungs).order_by(rungs.c.id))],
                [tuple(r) for r in conn.execute(select(events).order_by(events.c.id))],
                [tuple(r) for r in conn.execute(select(cases).order_by(cases.c.id))],
                conn.execute(select(sweeps)).all())


def test_dry_run_changes_nothing(service):
    """A dry run reports what would fire and be skipped while rung rows, events and cases stay identical."""
    case = rectifying(service)
    before = _snapshot(service)
    result = sweep(service, now=T("2026-06-15T09:00"), dry_run=True)
    assert result.dry_run and fired_names(result, case.id) == {"red-warning"}
    assert fired_names(result, case.id, "proposed") == {"exposure", "suspension"}
    assert fired_names(result, case.id, "skipped") >= {"yellow-warning", "interview"}
    assert _snapshot(service) == before
    real = sweep(service, now=T("2026-06-15T09:00"))
    assert sorted((f["rung"], f["status"]) for f in real.fired) == sorted((f["rung"], f["status"]) for f in result.fired)


def test_escalate_events_keep_the_hash_chain(service):
    """After sweeps fire and skip rungs, every case's log (hazard and linked cases) verifies up to its head."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-01T00:00"))
    sweep(service, now=T("2026-05-08T09:00"))
    approve(service, case.id, "interview", "2026-05-08T09:30")
    sweep(service, now=T("2026-06-15T09:00"))
    approve(service, case.id, "suspension", "2026-06-15T09:30")
    _, _, linked = service.queries.case_view(case.id)
    assert {c.workflow for c in linked} == {"interview"}
    for one in [service.queries.case(case.id), *linked]:
        history = service.queries.history(one.id)
        assert [e.seq for e in history] == list(range(1, one.version + 1))
        assert list(verify_chain(history, head=(one.version, one.last_hash))) == []
    triggers = [e.trigger for e in service.queries.history(case.id)]
    assert triggers[:3] == ["report", "assign", "start"] and set(triggers[3:]) == {"escalate", "decide"}


def _sweep_work(tmp_path, cases: int, due: int = 0) -> int:
    """SQLite virtual-machine steps (in tens) of one sweep over `cases` open cases of which `due` have a rung due."""
    import importlib.util
    import sys

    from sqlalchemy import event

    from engine.domain.clock import FixedClock
    from engine.app import Engine
    from engine.store.database import Store

    if "bench_sweep" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_sweep", Path(__file__).parent.parent / "bench" / "bench_sweep.py")
        module = sys.modules["bench_sweep"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    bench = sys.modules["bench_sweep"]
    url = f"sqlite:///{tmp_path / f'work-{cases}-{due}.db'}"
    bench.seed(url, cases=cases, due=due)
    store = Store(url, create=True)
    steps = [0]

    def count(dbapi_connection, _record):
        dbapi_connection.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 10)

    event.listen(store.db_engine, "connect", count)
    now = T(bench.SWEEP_AT)  # 30 minutes after the due cases' yellow warnings
    assert len(sweep(Engine(store, clock=FixedClock(now), trust_backdating=True), now=now).fired) == due
    store.dispose()
    return steps[0]


def test_an_idle_sweep_costs_the_same_for_10_or_2000_open_cases(tmp_path):
    """A sweep that finds nothing due does about the same database work whatever the number of open cases."""
    small, large = _sweep_work(tmp_path, 10), _sweep_work(tmp_path, 2000)
    assert large < 2 * small, (small, large)


def test_firing_costs_the_same_for_10_or_2000_other_open_cases(tmp_path):
    """Firing 20 due rungs does about the same database work beside 10 or 2,000 open cases that are not due."""
    small, large = _sweep_work(tmp_path, 31, 20), _sweep_work(tmp_path, 2021, 20)
    assert large < 1.5 * small, (small, large)
