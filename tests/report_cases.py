"""A small register built through the engine for the report tests: every way a hazard counts, with known figures.

In 曹县 (371721) and 单县 (371722), 2026, all by `report_scenario(service)`:

    on_time      major, deadline 04-30, submitted 04-10, verified 04-15            rectified on time
    overdue      major, deadline 03-20, rectifying, never submitted              overdue from 03-21 00:00
    paused       major, deadline 03-25, submitted 03-24 (paused before the deadline), rejected 04-05:
                 the deadline moves by the 12 days it was paused: due 04-07 00:00; overdue from then
    late         major, deadline 03-10, submitted 03-15 (after it: overdue while paused), verified 03-20
    on_the_spot  general, fixed and verified 03-03                                 rectified on time, no deadline
    late_general general, deadline 03-12, submitted 03-14, verified 03-16          rectified late
    no_deadline  general in 单县, reported 03-04, nothing else                      not yet due
    february     general, found 02-20 (before the March period), open            outside March

By the end of March (figures as of 2026-04-01 00:00), March's seven hazards count as `MARCH_END` says.
"""
from __future__ import annotations

from conftest import FIVE, rectified

MAJOR = dict(actor="ent", workflow="major-hazard", enterprise="某化工有限公司", region="371721", industry="危险化学品",
             level="major", source="inspection")
GENERAL = dict(actor="zhang", workflow="general-hazard", enterprise="某木业有限公司", region="371721", industry="工贸",
               level="general", source="self_check")

# March's hazards as of the end of March, computed by hand from the timeline above:
# rectified: late (03-20), on_the_spot (03-03), late_general (03-16); on time: on_the_spot only;
# overdue: `overdue` (due 03-21 00:00); `paused` was paused on 03-24 before its due time (03-26 00:00): not overdue;
# open and not yet due: on_time (deadline 04-30), paused, no_deadline.
MARCH_END = {"found": 7, "rectified": 3, "overdue": 1, "rectified_on_time": 1}


def _major(service, title: str, deadline: str, at: str):
    case = service.commands.report_case(title=title, now=at, found_at=at, **MAJOR)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "deadline": deadline}, now=at)
    return service.commands.advance_case(case.id, "start", actor="ent", now=at)


def report_scenario(service) -> dict[str, str]:
    """Build the register above; returns name -> case id."""
    c = service.commands
    ids = {}
    ids["on_time"] = _major(service, "液氨储罐区未设置泄漏报警装置", "2026-04-30", "2026-03-02T09:00").id
    rectified(c, ids["on_time"], actor="ent", now="2026-04-10T09:00")
    c.advance_case(ids["on_time"], "submit", actor="ent", now="2026-04-10T09:00")
    c.advance_case(ids["on_time"], "verify", actor="zhang", fields={"opinion": "整改到位"}, now="2026-04-15T09:00")
    ids["overdue"] = _major(service, "粉尘涉爆车间除尘系统未采用防爆措施", "2026-03-20", "2026-03-02T10:00").id
    ids["paused"] = _major(service, "主通风机未按规定进行性能检测", "2026-03-25", "2026-03-02T11:00").id
    rectified(c, ids["paused"], actor="ent", now="2026-03-24T09:00")
    c.advance_case(ids["paused"], "submit", actor="ent", now="2026-03-24T09:00")
    c.advance_case(ids["paused"], "reject", actor="zhang", fields={"opinion": "未整改到位"}, now="2026-04-05T09:00")
    ids["late"] = _major(service, "有限空间作业未审批", "2026-03-10", "2026-03-02T12:00").id
    rectified(c, ids["late"], actor="ent", now="2026-03-15T09:00")
    c.advance_case(ids["late"], "submit", actor="ent", now="2026-03-15T09:00")
    c.advance_case(ids["late"], "verify", actor="zhang", fields={"opinion": "整改到位"}, now="2026-03-20T09:00")

    spot = c.report_case(title="消防通道堵塞", now="2026-03-03T09:00", found_at="2026-03-03T09:00", **GENERAL)
    c.advance_case(spot.id, "fix", actor="zhang", fields={"measures": "清理通道"}, now="2026-03-03T10:00")
    c.advance_case(spot.id, "verify", actor="liu", fields={"opinion": "已整改"}, now="2026-03-03T11:00")
    ids["on_the_spot"] = spot.id
    late = c.report_case(title="配电箱未接地", now="2026-03-05T09:00", found_at="2026-03-05T09:00", **GENERAL)
    c.advance_case(late.id, "assign", actor="zhang", fields={"responsible_person": "赵六", "measures": "接地",
                                                            "deadline": "2026-03-12", "department": "市应急局"},
                   now="2026-03-05T10:00")
    c.advance_case(late.id, "submit", actor="zhang", now="2026-03-14T09:00")
    c.advance_case(late.id, "verify", actor="liu", fields={"opinion": "已整改"}, now="2026-03-16T09:00")
    ids["late_general"] = late.id
    ids["no_deadline"] = c.report_case(title="安全警示标志缺失", now="2026-03-04T09:00", found_at="2026-03-04T09:00",
                                       **{**GENERAL, "region": "371722"}).id
    ids["february"] = c.report_case(title="叉车未年检", now="2026-03-02T09:30", found_at="2026-02-20T09:00",
                                    **GENERAL).id
    return ids


def swept_daily(service, first: str, last: str) -> None:
    """The ladder swept each morning from `first` to `last` (days, at 09:00), the committee office deciding each
    proposal as it comes (approving every sanction): what a register looks like after weeks of a scheduler."""
    from datetime import timedelta

    from engine.domain.clock import parse_time
    from engine.domain.escalation.decisions import pending_proposals
    day, end = parse_time(f"{first}T09:00"), parse_time(f"{last}T09:00")
    while day <= end:
        result = service.sweep(now=day)
        for case_id in result.cases("proposed"):
            for proposal in pending_proposals(service.queries.case(case_id).decisions):
                service.commands.decide(case_id, proposal["rung"], "approve", actor="li", reason="同意", now=day)
        day += timedelta(days=1)
