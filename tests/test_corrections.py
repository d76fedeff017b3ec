"""Records corrected, never erased: a voided case leaves every figure, list and ladder but stays in the log; a
correction keeps the old and the new value; a person's back-filled record is not blocked by the scheduler's
reminders. On SQLite and PostgreSQL.
"""
from __future__ import annotations

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput, PermissionDenied, Refused
from engine.app.sweep import sweep
from tests.conftest import rectified, report, run_to


def T(text: str):
    return parse_time(text)


def agrees(service) -> None:
    assert service.audit.replay_all().disagreements == []
    assert service.audit.verify().breaks == []


def listed(service, **filters) -> list[str]:
    return [c.id for c in service.queries.cases(now=T("2026-06-01T09:00"), **filters).cases]


# -- void ------------------------------------------------------------------------------------------------------
def test_a_voided_duplicate_leaves_lists_figures_and_the_ladder(service):
    first = run_to(service, report(service).id, "rectifying")
    twin = run_to(service, report(service).id, "rectifying")
    voided = service.commands.void_case(twin.id, actor="zhang", reason=f"与{first.id}重复", now="2026-03-05T09:00")
    assert voided.voided_at == T("2026-03-05T09:00") and not voided.overdue(T("2026-06-01T09:00"))
    assert listed(service) == [first.id]
    assert listed(service, overdue=True) == [first.id]
    assert {r.status for r in service.queries.case_view(twin.id).rungs} == {"cancelled"}
    result = sweep(service, now=T("2026-05-08T08:00"))
    assert {f["case_id"] for f in result.fired} == {first.id}
    stats = service.reports.stats(region="3717", now=T("2026-06-01T09:00"))
    assert stats.total.counts.found == 1
    event = service.queries.history(twin.id)[-1]
    assert (event.trigger, event.actor, event.data["reason"]) == ("void", "zhang", f"与{first.id}重复")
    agrees(service)


def test_a_voided_case_takes_no_further_step(service):
    case = report(service)
    service.commands.void_case(case.id, actor="zhang", reason="测试数据", now="2026-03-03T09:00")
    with pytest.raises(Refused) as caught:
        run_to(service, case.id, "assigned")
    assert caught.value.rule == "void"
    with pytest.raises(Refused):
        service.commands.void_case(case.id, actor="zhang", reason="again", now="2026-03-04T09:00")


def test_voiding_needs_the_department_or_the_committee_of_the_region(service):
    case = report(service)
    with pytest.raises(PermissionDenied) as caught:
        service.commands.void_case(case.id, actor="ent", reason="x", now="2026-03-03T09:00")
    assert caught.value.rule == "role"
    with pytest.raises(PermissionDenied) as caught:
        service.commands.void_case(case.id, actor="far", reason="x", now="2026-03-03T09:00")
    assert caught.value.rule == "in_region"
    with pytest.raises(Refused) as caught:
        service.commands.void_case(case.id, actor="zhang", reason="", now="2026-03-03T09:00")
    assert caught.value.missing == ("reason",)


def test_a_voided_case_is_still_in_the_log_and_the_dossier(service):
    case = report(service)
    service.commands.void_case(case.id, actor="zhang", reason="重复录入", now="2026-03-03T09:00")
    shown = service.queries.case(case.id)
    assert shown.voided_at is not None
    data = service.audit.dossier(case.id, now=T("2026-03-04T09:00"))
    assert data["case"]["voided_at"] == T("2026-03-03T09:00")
    assert any(a["trigger"] == "void" and a["void"]["reason"] == "重复录入" for a in data["timeline"])


# -- correct ---------------------------------------------------------------------------------------------------
def test_a_correction_keeps_the_old_and_the_new_values(service):
    case = report(service, title="液氨储罐区未设置泄漏报瞥装置")
    after = service.commands.correct_case(case.id, actor="zhang", changes={"title": "液氨储罐区未设置泄漏报警装置",
                                                                          "enterprise": "某化工股份有限公司"},
                                          reason="标题笔误; 企业名称变更", now="2026-03-03T09:00")
    assert (after.title, after.enterprise) == ("液氨储罐区未设置泄漏报警装置", "某化工股份有限公司")
    event = service.queries.history(case.id)[-1]
    assert event.data["changes"] == {"title": {"old": "液氨储罐区未设置泄漏报瞥装置", "new": "液氨储罐区未设置泄漏报警装置"},
                                     "enterprise": {"old": "某化工有限公司", "new": "某化工股份有限公司"}}
    agrees(service)


def test_a_corrected_region_moves_the_case_in_the_register_and_as_of_before(service):
    """Moved from 曹县 (371721) to 单县 (371722): today's list finds it there, the register as of before the
    correction still finds it where it was then."""
    case = report(service)
    service.commands.correct_case(case.id, actor="zhang", changes={"region": "371722"}, reason="区划录错",
                                  now="2026-03-04T09:00")
    assert listed(service, region="371722") == [case.id] and listed(service, region="371721") == []
    before = service.queries.cases(region="371721", as_of=T("2026-03-03T09:00")).cases
    assert [c.id for c in before] == [case.id]


def test_a_correction_is_checked_like_a_report(service):
    case = report(service)
    with pytest.raises(InvalidInput):
        service.commands.correct_case(case.id, actor="zhang", changes={"level": "general"}, reason="x",
                                      now="2026-03-03T09:00")
    with pytest.raises(InvalidInput):
        service.commands.correct_case(case.id, actor="zhang", changes={"title": case.title}, reason="x",
                                      now="2026-03-03T09:00")
    with pytest.raises(PermissionDenied):  # zhang's city does not reach Henan
        service.commands.correct_case(case.id, actor="zhang", changes={"region": "410102"}, reason="x",
                                      now="2026-03-03T09:00")
    with pytest.raises(PermissionDenied):
        service.commands.correct_case(case.id, actor="ent", changes={"title": "新标题"}, reason="x",
                                      now="2026-03-03T09:00")


# -- back-filling past the scheduler's own events ---------------------------------------------------------------
def test_a_paper_verification_dated_before_a_reminder_is_back_filled(service):
    """The scheduler sent the red warning on 2026-05-01; the paper record says the case was submitted on
    2026-04-25 and verified on 2026-04-29. Both are recorded; the case counts as verified from 04-29, and as of
    04-30 it stood verified."""
    case = run_to(service, report(service).id, "rectifying")
    sweep(service, now=T("2026-05-01T08:00"))
    rectified(service.commands, case.id, actor="ent", now="2026-04-25T09:00")
    service.commands.advance_case(case.id, "submit", actor="ent", now="2026-04-25T09:00")
    verified = service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "整改到位"},
                                             now="2026-04-29T09:00")
    assert verified.state == "verified" and verified.accepted_at == T("2026-04-29T09:00")
    assert service.queries.case_as_of(case.id, "2026-04-30T09:00").state == "verified"
    with pytest.raises(Refused) as caught:  # a person's steps still go in order
        service.commands.advance_case(case.id, "close", actor="li", now="2026-04-28T09:00")
    assert caught.value.rule == "time-order"
    agrees(service)


def test_a_back_dated_extension_is_refused_like_any_step_out_of_order(service):
    """An application dated before the case's last recorded step is refused (time-order), and so is one on a case
    that changed since the version given: replay never meets an extension out of order."""
    case = run_to(service, report(service).id, "rectifying")  # started 2026-03-02 09:00
    with pytest.raises(Refused) as caught:
        service.commands.extend_deadline(case.id, actor="ent", until="2026-05-30", reason="倒签", now="2026-03-01T09:00")
    assert caught.value.rule == "time-order"
    from engine.domain.errors import Conflict
    with pytest.raises(Conflict):
        service.commands.extend_deadline(case.id, actor="ent", until="2026-05-30", reason="x", expected_version=1,
                                         now="2026-03-03T09:00")
    agrees(service)


def test_a_back_filled_verification_before_the_deadline_leaves_no_deadline_missed_in_the_trace(service):
    """The scheduler sent the red warning on 05-01; the paper record shows the case submitted on 04-25: the trace
    names no missed deadline (nothing was late), though the warning it sent stays on the record."""
    case = run_to(service, report(service).id, "rectifying")
    sweep(service, now=T("2026-05-01T08:00"))
    rectified(service.commands, case.id, actor="ent", now="2026-04-25T09:00")
    service.commands.advance_case(case.id, "submit", actor="ent", now="2026-04-25T09:00")
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "整改到位"},
                                  now="2026-04-29T09:00")
    _, found = service.audit.trace_case(case.id, as_of="2026-06-01T00:00")
    assert [m for m in found["missed"] if m["kind"] == "deadline"] == []
    assert {m["what"] for m in found["missed"] if m["kind"] == "rung"} >= {"red-warning"}


def test_the_trace_shows_what_a_correction_and_a_voiding_signed(service):
    case = report(service, title="液氨储罐区未设泄露报警")
    service.commands.correct_case(case.id, actor="zhang", changes={"title": "液氨储罐区未设泄漏报警"}, reason="错字",
                                  now="2026-03-03T09:00")
    service.commands.void_case(case.id, actor="zhang", reason="重复", now="2026-03-04T09:00")
    _, found = service.audit.trace_case(case.id, as_of="2026-03-05T00:00")
    signed = {a["trigger"]: a["signed"] for a in found["actions"]}
    assert signed["correct"] == {"title": "液氨储罐区未设泄露报警 → 液氨储罐区未设泄漏报警", "reason": "错字"}
    assert signed["void"] == {"void": True, "reason": "重复"}
