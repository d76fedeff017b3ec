"""Sanctions are decisions of named people: the ladder proposes, a person decides; a late sweep proposes only the
sanctions still current; warnings are caught up within their day; a major hazard left unassigned escalates.
On SQLite and PostgreSQL, through the engine as the CLI and the web console call it.
"""
from __future__ import annotations

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput, PermissionDenied, Refused
from engine.app.sweep import sweep
from tests.conftest import FIVE, rectified, report, run_to

SANCTIONS = ("interview", "posted-supervision", "exposure", "suspension")


def T(text: str):
    return parse_time(text)


def rectifying(service):
    """A major hazard assigned 2026-03-02 with deadline 2026-04-30, being rectified."""
    return run_to(service, report(service).id, "rectifying")


def by_rung(result, case_id) -> dict:
    return {f["rung"]: f for f in result.fired if f["case_id"] == case_id}


def rung_rows(service, case_id) -> dict:
    return {r.rung: r for r in service.queries.case_view(case_id).rungs}


def agrees(service) -> None:
    """Every case row and rung row is what its events say, and every chain verifies."""
    assert service.audit.replay_all().disagreements == []
    assert service.audit.verify().breaks == []


# -- the ladder proposes, people decide ------------------------------------------------------------------------
def test_a_sanction_due_on_time_is_proposed_not_carried_out(service):
    """The interview falls due a week after the deadline: the sweep raises a proposal; no interview case opens,
    the case carries no flag, and the proposal is what the case and the escalation list show as pending."""
    case = rectifying(service)
    result = sweep(service, now=T("2026-05-08T08:00"))
    fired = by_rung(result, case.id)
    assert fired["interview"]["status"] == "proposed" and fired["interview"]["decided_by"] == ["committee"]
    assert "linked_case" not in fired["interview"]
    view = service.queries.case_view(case.id)
    assert view.linked == [] and view.case.flags == ()
    assert rung_rows(service, case.id)["interview"].status == "proposed"
    pending = [p["rung"] for p in service.queries.case(case.id).decisions["proposals"].values()
               if p["status"] == "proposed"]
    assert pending == ["interview"]
    rows, _ = service.queries.escalation_list(statuses=("proposed",), now=T("2026-05-08T09:00"))
    assert [(r.case_id, r.rung) for r in rows] == [(case.id, "interview")]
    agrees(service)


def test_an_approved_sanction_is_carried_out_by_the_person_who_decided(service):
    """The committee approves the interview: the linked interview case opens at the decision, signed by li,
    with the reason, and the rung row says approved."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T08:00"))
    after = service.commands.decide(case.id, "interview", "approve", actor="li", reason="逾期一周未整改",
                                    now="2026-05-09T10:00")
    proposal = after.decisions["proposals"]["rectification/1/interview"]
    assert (proposal["status"], proposal["by"], proposal["reason"]) == ("approved", "li", "逾期一周未整改")
    linked = service.queries.case_view(case.id).linked
    assert [c.workflow for c in linked] == ["interview"] and proposal["linked_case"] == linked[0].id
    assert linked[0].created_at == T("2026-05-09T10:00")
    assert rung_rows(service, case.id)["interview"].status == "approved"
    event = service.queries.history(case.id)[-1]
    assert (event.trigger, event.actor, event.role, event.data["decision"]) == ("decide", "li", "committee", "approve")
    agrees(service)


def test_a_declined_proposal_stays_on_the_record_and_in_the_trace(service):
    """Declining suspension and exposure leaves no flag, and the trace shows who declined each and why."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-31T08:00"))
    for rung in ("exposure", "suspension"):
        service.commands.decide(case.id, rung, "decline", actor="li", reason="企业已主动停产", now="2026-05-31T10:00")
    stored = service.queries.case(case.id)
    assert stored.flags == ()
    assert {p["rung"]: p["status"] for p in stored.decisions["proposals"].values()
            if p["rung"] in ("exposure", "suspension")} == {"exposure": "declined", "suspension": "declined"}
    _, found = service.audit.trace_case(case.id, as_of="2026-06-01T00:00")
    decisions = [a["decision"] for a in found["actions"] if a["trigger"] == "decide"]
    assert [(d["rung"], d["decision"], d["reason"]) for d in decisions] == [
        ("exposure", "decline", "企业已主动停产"), ("suspension", "decline", "企业已主动停产")]
    agrees(service)


def test_approving_a_suspension_flags_the_case_until_verification_lifts_it(service):
    case = rectifying(service)
    sweep(service, now=T("2026-05-31T08:00"))
    after = service.commands.decide(case.id, "suspension", "approve", actor="zhang", reason="责令停产整顿",
                                    now="2026-05-31T10:00")
    assert after.flags == ("suspended",)
    rectified(service.commands, case.id, actor="ent", now="2026-06-10T09:00")
    service.commands.advance_case(case.id, "submit", actor="ent", now="2026-06-10T09:00")
    verified = service.commands.advance_case(case.id, "verify", actor="liu", fields={"opinion": "整改到位"},
                                             now="2026-06-12T09:00")
    assert verified.flags == ()
    agrees(service)


@pytest.mark.parametrize("actor, error, rule", [("ent", PermissionDenied, "role"), ("zhang", PermissionDenied, "role"),
                                               ("far", PermissionDenied, "role")])
def test_only_the_roles_the_rung_names_may_decide(service, actor, error, rule):
    """The interview is decided by the committee: not the enterprise, not a supervisor; nothing is written."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T08:00"))
    version = service.queries.case(case.id).version
    with pytest.raises(error) as caught:
        service.commands.decide(case.id, "interview", "approve", actor=actor, reason="x", now="2026-05-09T10:00")
    assert caught.value.rule == rule
    assert service.queries.case(case.id).version == version


def test_a_decider_outside_the_region_is_refused(service):
    """far (Henan's committee would be needed) may not decide a Heze case's suspension as a supervisor there."""
    service.commands.add_user("henan", roles=["committee"], regions=["41"], actor="li")
    case = rectifying(service)
    sweep(service, now=T("2026-05-31T08:00"))
    with pytest.raises(PermissionDenied) as caught:
        service.commands.decide(case.id, "suspension", "approve", actor="henan", reason="x", now="2026-05-31T10:00")
    assert caught.value.rule == "in_region"


def test_deciding_what_is_not_proposed_names_what_is(service):
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T08:00"))
    with pytest.raises(Refused) as caught:
        service.commands.decide(case.id, "suspension", "approve", actor="li", reason="x", now="2026-05-09T10:00")
    assert caught.value.rule == "no-proposal" and "awaiting: interview" in str(caught.value)
    with pytest.raises(InvalidInput):
        service.commands.decide(case.id, "interview", "maybe", actor="li", reason="x", now="2026-05-09T10:00")
    with pytest.raises(Refused) as caught:
        service.commands.decide(case.id, "interview", "approve", actor="li", reason=" ", now="2026-05-09T10:00")
    assert caught.value.missing == ("reason",)


def test_a_proposal_lapses_when_the_hazard_is_verified_first(service):
    """Nobody decided the interview before the verification: it lapses, its row says so, and it can no longer
    be approved."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-08T08:00"))
    rectified(service.commands, case.id, actor="ent", now="2026-05-10T09:00")
    service.commands.advance_case(case.id, "submit", actor="ent", now="2026-05-10T09:00")
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "整改到位"},
                                  now="2026-05-11T09:00")
    assert service.queries.case(case.id).decisions["proposals"]["rectification/1/interview"]["status"] == "lapsed"
    assert rung_rows(service, case.id)["interview"].status == "lapsed"
    with pytest.raises(Refused):
        service.commands.decide(case.id, "interview", "approve", actor="li", reason="x", now="2026-05-12T09:00")
    agrees(service)


# -- catching up -----------------------------------------------------------------------------------------------
def test_a_sweep_long_after_the_deadline_proposes_only_the_current_sanctions(service):
    """The README's back-filled case met by the first real-time sweep seven months on: nothing is carried out,
    exposure and suspension (due last) are proposed, the interview and the posted supervision are recorded as
    missed and superseded, the naming notice as missed, and one red warning goes out."""
    case = rectifying(service)
    result = sweep(service, now=T("2026-12-01T09:00"))
    fired = by_rung(result, case.id)
    assert {r: f["status"] for r, f in fired.items()} == {
        "yellow-warning": "skipped", "red-warning": "fired", "notice": "skipped", "interview": "skipped",
        "posted-supervision": "skipped", "exposure": "proposed", "suspension": "proposed"}
    assert "superseded by exposure" in fired["interview"]["reason"]
    assert "policy skips a missed rung" in fired["notice"]["reason"]
    stored = service.queries.case_view(case.id)
    assert stored.case.flags == () and stored.linked == []
    reasons = {e.data["rung"]: e.data.get("reason") for e in service.queries.history(case.id)
               if e.trigger == "escalate"}
    assert "superseded" in reasons["posted-supervision"]  # the why is in the log, not only in the output
    agrees(service)


def test_a_warning_due_at_midnight_is_sent_by_the_morning_sweep(service):
    """The yellow warning falls due at the end of 2026-04-27 (three days before): a sweep at 08:00 the next
    morning sends it, though 60 minutes of grace are long past."""
    case = rectifying(service)
    result = sweep(service, now=T("2026-04-28T08:00"))
    assert by_rung(result, case.id)["yellow-warning"]["status"] == "fired"


def test_a_warning_missed_by_days_is_skipped_and_says_why(service):
    case = rectifying(service)
    result = sweep(service, now=T("2026-04-30T08:00"))
    yellow = by_rung(result, case.id)["yellow-warning"]
    assert yellow["status"] == "skipped" and "past the day it fell due" in yellow["reason"]


# -- the assignment clock ---------------------------------------------------------------------------------------
def test_a_major_hazard_never_assigned_escalates(service):
    """Reported on Monday 2026-03-02 and never assigned: five working days on, the red warning goes to whoever
    must assign it; assigning it stops that clock."""
    case = report(service)
    result = sweep(service, now=T("2026-03-10T08:00"))
    assert by_rung(result, case.id)["assignment-warning"]["status"] == "fired"
    run_to(service, case.id, "assigned")
    assert rung_rows(service, case.id)["assignment-notice"].status == "cancelled"
    agrees(service)


# -- extensions applied for and decided --------------------------------------------------------------------------
def test_an_extension_is_applied_for_and_decided_by_someone_else(service):
    case = rectifying(service)
    applied = service.commands.extend_deadline(case.id, actor="ent", until="2026-06-30", reason="设备到货延迟",
                                               now="2026-04-01T09:00")
    assert applied.deadline == "2026-04-30"  # nothing moves before the decision
    assert applied.decisions["extension"]["until"] == "2026-06-30"
    with pytest.raises(PermissionDenied):  # the enterprise may apply, not decide
        service.commands.decide(case.id, "extension", "approve", actor="ent", reason="x", now="2026-04-02T09:00")
    decided = service.commands.decide(case.id, "extension", "approve", actor="zhang", reason="同意延期",
                                      now="2026-04-02T09:00")
    assert decided.deadline == "2026-06-30"
    assert rung_rows(service, case.id)["red-warning"].due_at == T("2026-07-01T00:00")
    from engine.domain.documents import case_document
    doc = case_document(decided, T("2026-04-02T09:00"))
    assert doc["original_deadline"] == "2026-04-30" and doc["deadline"] == "2026-06-30"
    assert [(x["previous"], x["until"], x["status"], x["by"]) for x in doc["extensions"]] == [
        ("2026-04-30", "2026-06-30", "approved", "zhang")]
    agrees(service)


def test_the_applicant_never_decides_their_own_extension(service):
    case = rectifying(service)
    service.commands.extend_deadline(case.id, actor="zhang", until="2026-05-30", reason="x", now="2026-04-01T09:00")
    with pytest.raises(Refused) as caught:
        service.commands.decide(case.id, "extension", "approve", actor="zhang", reason="x", now="2026-04-02T09:00")
    assert caught.value.rule == "applicant"
    declined = service.commands.decide(case.id, "extension", "decline", actor="liu", reason="理由不足",
                                       now="2026-04-02T09:00")
    assert declined.deadline == "2026-04-30" and declined.decisions["extensions"][0]["status"] == "declined"


def test_an_unassigned_case_has_no_rectification_deadline_to_extend(service):
    """Before assignment a major hazard runs only the department's assignment period: an enterprise applying for
    more time is refused (rule clock) and nothing is written; the period itself moves only when named."""
    case = report(service)
    with pytest.raises(Refused) as caught:
        service.commands.extend_deadline(case.id, actor="ent", until="2026-06-30", reason="设备到货延迟",
                                         now="2026-03-02T10:00")
    assert caught.value.rule == "clock" and "assignment" in str(caught.value)
    assert service.queries.case(case.id).version == case.version
    applied = service.commands.extend_deadline(case.id, actor="zhang", until="2026-03-20", reason="专家论证",
                                               clock="assignment", now="2026-03-02T10:00")
    assert applied.decisions["extension"]["until"] == "2026-03-20"


@pytest.mark.parametrize("until, rule", [("2036-04-30", "max_days"), ("2026-04-01", "extend-later")])
def test_an_extension_is_bounded(service, until, rule):
    """One extension adds at most 90 days; an 'extension' to an earlier date is none."""
    case = rectifying(service)
    with pytest.raises(Refused) as caught:
        service.commands.extend_deadline(case.id, actor="ent", until=until, reason="x", now="2026-04-01T09:00")
    assert caught.value.rule == rule


def test_extensions_in_all_are_bounded_from_the_original_deadline(service):
    """Four extensions of under 90 days each take the deadline 360 days past 2026-04-30; a fifth of 10 days
    would pass the 365 days all of them may add."""
    case = rectifying(service)
    for day, until in enumerate(("2026-07-29", "2026-10-27", "2027-01-25", "2027-04-25"), start=1):
        at = f"2026-04-0{day}T09:00"
        service.commands.extend_deadline(case.id, actor="ent", until=until, reason="x", now=at)
        decided = service.commands.decide(case.id, "extension", "approve", actor="zhang", reason="y", now=at)
    assert decided.deadline == "2027-04-25"
    with pytest.raises(Refused) as caught:
        service.commands.extend_deadline(case.id, actor="ent", until="2027-05-05", reason="x", now="2026-04-05T09:00")
    assert caught.value.rule == "max_total_days"
    from engine.domain.documents import case_document
    assert case_document(decided, T("2026-04-05T09:00"))["original_deadline"] == "2026-04-30"


def test_one_application_at_a_time(service):
    case = rectifying(service)
    service.commands.extend_deadline(case.id, actor="ent", until="2026-05-30", reason="x", now="2026-04-01T09:00")
    with pytest.raises(Refused) as caught:
        service.commands.extend_deadline(case.id, actor="ent", until="2026-05-20", reason="x", now="2026-04-01T10:00")
    assert caught.value.rule == "pending"


def test_a_proposed_suspension_puts_the_enterprise_on_the_list_to_suspend_as_proposed(service):
    """拟停产企业清单 names the enterprise a suspension is proposed for, saying it is proposed (not ordered)."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-31T08:00"))
    rows = dict((spec.name, rows) for spec, rows in service.reports.lists(now="2026-05-31T09:00").entries)
    assert [(r["enterprise"], r["proposed"], r["flags"]) for r in rows["to-suspend"]] == [
        ("某化工有限公司", ["expose", "suspend"], [])]
    service.commands.decide(case.id, "suspension", "decline", actor="li", reason="已整改过半", now="2026-05-31T10:00")
    service.commands.decide(case.id, "exposure", "decline", actor="li", reason="同上", now="2026-05-31T10:00")
    rows = dict((spec.name, rows) for spec, rows in service.reports.lists(now="2026-05-31T11:00").entries)
    assert rows["to-suspend"] == []


def test_the_trace_shows_what_each_decision_signed_and_what_became_of_each_proposal(service):
    """A decision signs its rung, approve or decline and the reason; the missed-rungs list says what became of a
    proposal (declined), not only that it was proposed."""
    case = rectifying(service)
    sweep(service, now=T("2026-05-31T08:00"))
    service.commands.decide(case.id, "exposure", "decline", actor="li", reason="暂不曝光", now="2026-05-31T10:00")
    _, found = service.audit.trace_case(case.id, as_of="2026-06-01T00:00")
    decided = next(a for a in found["actions"] if a["trigger"] == "decide")
    assert decided["signed"] == {"rung": "exposure", "decision": "decline", "reason": "暂不曝光"}
    statuses = {m["what"]: m["status"] for m in found["missed"] if m["kind"] == "rung"}
    assert statuses["exposure"] == "declined" and statuses["suspension"] == "proposed"
