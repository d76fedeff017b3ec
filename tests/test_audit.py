"""Audit: tampering with any column of any event row is found and located; trace and dossier tell who did what."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest
from sqlalchemy import and_, delete, select, update

from engine.domain.accountability import holder_of, verify_stream
from engine.domain.dossier import to_html, to_json
from engine.domain.events import Event
from engine.store.tables import cases, events
from engine.app.sweep import sweep
from engine.domain.clock import parse_time
from tests.conftest import FIVE, rectified, report, run_to


@pytest.fixture
def two_closed(service):
    """Two closed major hazards (seven events each: the rectification photo attached before submit); the first is
    the one tampered with."""
    first, second = report(service), report(service, title="涉爆粉尘除尘器未设置锁气卸灰装置")
    run_to(service, first.id, "closed")
    run_to(service, second.id, "closed")
    return first.id, second.id


def located(service) -> set[tuple[str, int]]:
    return {(b.case_id, b.seq) for b in service.audit.verify().breaks}


def tamper(service, case_id: str, seq: int, values: dict) -> None:
    """UPDATE one event row in place, as someone with database access could."""
    with service.store.write() as conn:
        conn.execute(update(events).where(and_(events.c.case_id == case_id, events.c.seq == seq)), values)


def test_an_untouched_log_verifies(service, two_closed):
    """A log written only by the engine has no breaks, and every case and event is counted."""
    result = service.audit.verify()
    assert result.breaks == [] and (result.tally.cases, result.tally.events) == (2, 14)  # each with its attach


EDITS = {
    "trigger": "reject", "from_state": "assigned", "to_state": "closed", "actor": "mallory", "role": "committee",
    "data": {"fields": {"report_note": "伪造"}}, "workflow": "general-hazard", "workflow_version": 2,
    "prev_hash": "0" * 64, "hash": "f" * 64,
}


@pytest.mark.parametrize("column", sorted(EDITS) + ["at", "recorded_at", "seq", "case_id"])
def test_editing_any_column_of_an_event_is_located(service, two_closed, column):
    """Editing one column of event #4 breaks that case's chain at #4 (or, for seq and case_id, at the gap it leaves)."""
    target, other = two_closed
    row = next(e for e in service.queries.history(target) if e.seq == 4)
    value = {"at": row.at - timedelta(days=3), "recorded_at": row.recorded_at + timedelta(seconds=1),
             "seq": 40, "case_id": other + "-X"}.get(column, EDITS.get(column))
    tamper(service, target, 4, {column: value})
    found = located(service)
    assert found, f"editing {column} went unnoticed"
    # a forged workflow or version also names a definition the log now claims but the database never stored
    assert {case_id for case_id, _ in found} - {"(definitions)"} <= {target, other + "-X"}
    if column == "seq":
        assert (target, 5) in found and (target, 40) in found  # the gap, and the moved row
    elif column == "case_id":
        assert (target, 5) in found and (other + "-X", 4) in found
    else:
        assert (target, 4) in found


def test_deleting_the_last_event_is_found_through_the_case_row(service, two_closed):
    """Removing a case's last event leaves a chain that verifies by itself; the case row's head exposes it."""
    target, _ = two_closed
    with service.store.write() as conn:
        conn.execute(delete(events).where(and_(events.c.case_id == target, events.c.seq == 7)))
    breaks = service.audit.verify().breaks
    assert [(b.case_id, b.seq) for b in breaks] == [(target, 6)]
    assert "#7" in breaks[0].problem


def test_deleting_a_middle_event_or_the_whole_log_is_located(service, two_closed):
    """A gap is named at the event after it; a case whose every event is gone is named too."""
    target, other = two_closed
    with service.store.write() as conn:
        conn.execute(delete(events).where(and_(events.c.case_id == target, events.c.seq == 3)))
        conn.execute(delete(events).where(events.c.case_id == other))
    found = located(service)
    assert (target, 4) in found and (other, 0) in found


def test_swapping_two_events_is_located(service, two_closed):
    """Exchanging the sequence numbers of events #2 and #3 is found at both."""
    target, _ = two_closed
    tamper(service, target, 2, {"seq": -2})
    tamper(service, target, 3, {"seq": 2})
    tamper(service, target, -2, {"seq": 3})
    found = located(service)
    assert {(target, 2), (target, 3)} <= found


def test_events_without_their_case_row_are_named(service, two_closed):
    """Deleting a case row leaves its events pointing at nothing and a gap in the numbering, which verify reports."""
    target, _ = two_closed
    with service.store.write() as conn:
        conn.execute(delete(cases).where(cases.c.id == target))
    assert located(service) == {(target, 1), (target, 0)}


def test_a_rehashed_forgery_still_fails_replay(service, two_closed):
    """Someone who rewrites an event and re-hashes the rest of the chain passes verify but not replay."""
    target, _ = two_closed
    log = service.queries.history(target)
    forged, prev = [], log[1].hash
    for event in log[2:]:
        changed = event if event.seq != 3 else Event(**{**event.__dict__, "to_state": "verifying"})
        changed = Event(**{**changed.__dict__, "prev_hash": prev}).sealed()
        forged.append(changed)
        prev = changed.hash
    with service.store.write() as conn:
        for event in forged:
            conn.execute(update(events).where(and_(events.c.case_id == target, events.c.seq == event.seq)),
                         {"to_state": event.to_state, "prev_hash": event.prev_hash, "hash": event.hash})
        conn.execute(update(cases).where(cases.c.id == target), {"last_hash": prev})
    auditor = service.audit
    assert auditor.verify().breaks == []
    disagreements = dict(auditor.replay_all().disagreements)
    assert list(disagreements) == [target] and "#3" in disagreements[target][0]


def test_a_changed_case_row_disagrees_with_its_replay(service, two_closed):
    """A stored projection edited in place (state, fields) is reported field by field by replay --all."""
    target, _ = two_closed
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == target), {"state": "verifying", "is_final": False})
    disagreements = dict(service.audit.replay_all().disagreements)
    assert [d.split(":")[0] for d in disagreements[target]] == ["state", "is_final"]


def test_verification_streams_and_reports_breaks_before_the_end():
    """verify_stream yields a break in the first case before it has read the cases after it."""
    read = count()

    def rows():
        for n in range(1000):
            for seq in (1, 2):
                next(read)
                event = Event(case_id=f"C{n:04d}", seq=seq, trigger="t", from_state=None, to_state="s", actor="a",
                              role="r", at=_AT, recorded_at=_AT, hash="bad" if n == 0 else "")
                yield event, (2, "")

    first = next(verify_stream(rows()))
    assert first.case_id == "C0000" and next(read) < 10


_AT = datetime(2026, 3, 2, tzinfo=timezone.utc)


# -- responsibility trace -------------------------------------------------------------------------------------------
def escalated(service) -> str:
    """A case left in rectification past its deadline, swept as its ladder climbs (the committee approving the
    proposed interview), then submitted and verified."""
    case = report(service, actor="wang")
    service.clock.advance(days=1)
    run_to(service, case.id, "rectifying")
    service.clock.advance(days=59)  # 2026-05-01: the deadline 2026-04-30 passed last midnight
    sweep(service)
    service.clock.advance(days=7)   # 2026-05-08: the interview is proposed, and approved
    sweep(service)
    service.commands.decide(case.id, "interview", "approve", actor="li", reason="逾期一周")
    service.clock.advance(days=2)
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent", fields={"report_note": "已安装"})
    service.clock.advance(days=2)
    service.commands.advance_case(case.id, "verify", actor="liu", fields={"opinion": "整改到位"})
    return case.id


def test_the_holder_is_who_must_act_next(service):
    """Reported cases wait on the department, rectifying ones on the enterprise, final ones on nobody."""
    with service.store.read() as conn:
        definition = service.registry.loaded(conn, "major-hazard").definition
    assert [holder_of(definition, s) for s in ("reported", "assigned", "rectifying", "verifying", "closed")] == \
        ["supervisor", "enterprise", "enterprise", "supervisor", None]


def test_trace_says_who_held_the_case_and_what_was_missed_meanwhile(service):
    """The trace gives each holder's time, and puts the missed deadline and the fired rungs on the enterprise."""
    case_id = escalated(service)
    _, found = service.audit.trace_case(case_id)
    held = {h["holder"]: h["days"] for h in found["held_for"]}
    assert held == {"supervisor": 1.0 + 2.0, "enterprise": 68.0}  # reported 1 day, verifying 2 days
    missed = {(m["kind"], m["what"]): m for m in found["missed"]}
    assert missed[("deadline", "deadline")]["holder"] == "enterprise"
    assert missed[("rung", "interview")]["status"] == "approved" and missed[("rung", "notice")]["status"] == "fired"
    decided = next(a for a in found["actions"] if a["trigger"] == "decide")
    assert (decided["actor"], decided["decision"]["rung"], decided["decision"]["decision"]) == ("li", "interview",
                                                                                               "approve")
    assert all(m["holder"] == "enterprise" for m in found["missed"])


def test_trace_lists_every_signature_with_both_times(service):
    """Each action names actor and role, the fields signed, and effective and recorded times separately."""
    case_id = escalated(service)
    _, found = service.audit.trace_case(case_id)
    verify = next(a for a in found["actions"] if a["trigger"] == "verify")
    assert (verify["actor"], verify["role"], verify["signed"]) == ("liu", "supervisor", {"opinion": "整改到位"})
    assert verify["at"] == service.clock.now() and verify["recorded_at"] != verify["at"]
    people = {p["actor"]: p for p in found["people"]}
    assert people["scheduler"]["roles"] == ["system"] and people["zhang"]["triggers"] == ["assign"]


# -- dossier --------------------------------------------------------------------------------------------------------
def test_a_dossier_renders_with_linked_cases_signatures_and_the_last_hash(service):
    """The dossier data has the five implementations, fired rungs, the linked interview and the chain's last hash."""
    case_id = escalated(service)
    data = service.audit.dossier(case_id)
    last = service.queries.history(case_id)[-1].hash
    assert data["chain"] == {"verified": True, "events": len(service.queries.history(case_id)), "last_hash": last,
                             "head_hash": last, "breaks": []}
    assert [f["field"] for f in data["five_implementations"]][:2] == ["responsible_unit", "responsible_person"]
    assert data["five_implementations"][0]["label"] == "责任单位"
    assert [l["workflow"] for l in data["linked"]] == ["interview"]
    assert {r["rung"] for r in data["rungs"] if r["status"] == "fired"} >= {"notice", "red-warning"}
    assert {r["rung"] for r in data["rungs"] if r["status"] == "approved"} == {"interview"}
    assert [(p["rung"], p["status"], p["by"]) for p in data["decisions"]["proposals"]] == [("interview", "approved", "li")]
    assert json.loads(to_json(data))["case"]["id"] == case_id
    html = to_html(data)
    for needle in (case_id, "液氨储罐区未设置泄漏报警装置", last, '<meta charset="utf-8">', 'lang="zh-CN"', "@media print",
                   "五落实", data["linked"][0]["id"]):
        assert needle in html
    assert "http://" not in html and "https://" not in html and "<script" not in html and "<link" not in html


def test_a_dossier_shows_signed_times_in_shanghai_and_names_the_missing_implementations(service):
    """Every instant in the JSON dossier is +08:00 (the report's signed found_at was UTC), and a major hazard
    without its five implementations says which are missing, in the dossier and in `case show --json`."""
    case = report(service)
    data = json.loads(to_json(service.audit.dossier(case.id)))
    signed = data["timeline"][0]["signed"]
    assert signed["found_at"].endswith("+08:00"), signed
    instants = [v for a in data["timeline"] for v in a["signed"].values() if isinstance(v, str) and "T" in v]
    assert instants and all(v.endswith("+08:00") for v in instants), instants
    five = ["responsible_unit", "responsible_person", "measures", "funds", "deadline", "emergency_plan"]
    assert data["missing_implementations"] == five
    assert all(item["missing"] for item in data["five_implementations"])
    assert "未落实：" in to_html(service.audit.dossier(case.id))
    from engine.domain.documents import case_document
    assert case_document(service.queries.case(case.id), service.clock.now())["missing_implementations"] == five
    run_to(service, case.id, "closed")
    assert service.queries.case(case.id).missing_implementations == []


def test_a_linked_interview_owes_no_five_implementations(service, runner):
    """The interview the ladder opens carries its hazard's level but not its duties: no "五落实 missing" in
    `case show` or its JSON, and no five-implementations section in its dossier; the hazard still has one."""
    from cli.main import cli
    from engine.domain.documents import case_document

    case_id = escalated(service)
    (interview,) = [c for c in service.queries.case_view(case_id).linked if c.workflow == "interview"]
    assert interview.level == "major" and interview.missing_implementations == []
    assert case_document(interview, service.clock.now())["missing_implementations"] == []
    data = service.audit.dossier(interview.id)
    assert data["five_implementations"] == [] and data["missing_implementations"] == []
    assert "五落实" not in to_html(data) and "371721 曹县" in to_html(data)  # the region named beside its code
    assert [f["field"] for f in service.audit.dossier(case_id)["five_implementations"]][0] == "responsible_unit"
    shown = runner.invoke(cli, ["--db", service.store.url, "case", "show", interview.id])
    assert shown.exit_code == 0, shown.output
    assert "五落实" not in shown.stdout and interview.id in shown.stdout


def test_a_tampered_case_shows_a_broken_chain_in_its_dossier(service, two_closed):
    """A dossier of a case whose event was edited says so, naming the seq."""
    target, _ = two_closed
    tamper(service, target, 2, {"actor": "mallory"})
    data = service.audit.dossier(target)
    assert data["chain"]["verified"] is False and data["chain"]["breaks"][0]["seq"] == 2
    assert "哈希链校验失败" in to_html(data)


def test_the_dossier_looks_right_in_a_real_browser(service, tmp_path):
    """Headless Chromium renders the dossier into a drawn page, its text set in an embedded Chinese font."""
    import browser
    browser.need()
    page = tmp_path / "dossier.html"
    page.write_text(to_html(service.audit.dossier(escalated(service))), encoding="utf-8")
    shot = browser.screenshot(page, tmp_path / "dossier.png", width=1200, height=1800)
    assert len(shot) > 50_000  # a blank or failed page is a few KB
    assert any("WenQuanYi" in f or "CJK" in f for f in browser.pdf_fonts(browser.print_pdf(page, tmp_path / "d.pdf")))


# -- missed deadlines are facts of the events -------------------------------------------------------------------------
def _without_the_past_deadline_guard(service):
    """Install a major-hazard version that lets a deadline already past be set (as older definitions did)."""
    from pathlib import Path
    text = (Path(__file__).parent.parent / "workflows" / "major-hazard.yaml").read_text(encoding="utf-8")
    text = text.replace("guards: [in_region, after_now: deadline]   # a deadline already past would start the case overdue",
                        "guards: [in_region]").replace("guards: [in_region, after_now: deadline]", "guards: [in_region]")
    assert "after_now" not in text
    service.commands.install_definition(text, "major-hazard-v2.yaml", actor="li")


def test_a_deadline_already_past_when_assigned_is_missed_from_that_moment(service):
    """Assigned with a deadline seven months gone and closed the same day: the trace and dossier say it was late,
    from the moment the deadline passed (seven months), when nobody held it yet: the report came in December;
    late until the enterprise submitted its rectification (rectified, if late)."""
    _without_the_past_deadline_guard(service)
    service.clock.at = parse_time("2026-12-01T09:00")
    case = report(service, found_at="2026-03-01T09:00")  # a deadline may not fall before the finding
    run_to(service, case.id, "rectifying", fields={**FIVE, "deadline": "2026-04-30"})
    service.clock.advance(hours=2)
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    service.clock.advance(hours=2)
    service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "合格"})
    service.clock.advance(hours=1)
    service.commands.advance_case(case.id, "close", actor="li")
    _, found = service.audit.trace_case(case.id, as_of=service.clock.now())
    (missed,) = [m for m in found["missed"] if m["kind"] == "deadline"]
    assigned = next(a["at"] for a in found["actions"] if a["trigger"] == "assign")
    submitted = next(a["at"] for a in found["actions"] if a["trigger"] == "submit")
    passed = parse_time("2026-05-01T00:00")
    assert missed["deadline"] == "2026-04-30" and missed["at"] == passed and missed["until"] == submitted
    assert missed["holder"] is None and missed["seconds"] == (submitted - passed).total_seconds()
    assert missed["days"] > 210 and assigned > passed
    assert [(h["holder"], h["state"]) for h in missed["held"]] == [("enterprise", "rectifying")]
    page = to_html(service.audit.dossier(case.id))
    assert "无逾期" not in page and "2026-04-30" in page


def test_a_deadline_that_passes_before_assignment_names_every_holder_while_late(service):
    """A deadline set at report passes while the department holds the case; the stretch runs on into the
    enterprise's time, and each holder's share is given."""
    _without_the_past_deadline_guard(service)
    case = report(service, fields={"deadline": "2026-03-10"})        # reported 2026-03-02
    service.clock.at = parse_time("2026-03-15T09:00")                  # the department assigns late
    run_to(service, case.id, "rectifying", fields={**FIVE, "deadline": "2026-03-10"})
    _, found = service.audit.trace_case(case.id, as_of=parse_time("2026-03-20T09:00"))
    (missed,) = [m for m in found["missed"] if m["kind"] == "deadline"]
    assert missed["at"] == parse_time("2026-03-11T00:00") and missed["holder"] == "supervisor" and missed["open"]
    shares = {h["holder"]: h["seconds"] for h in missed["held"]}
    assert shares["supervisor"] == (parse_time("2026-03-15T09:00") - parse_time("2026-03-11T00:00")).total_seconds()
    assert shares["enterprise"] == (parse_time("2026-03-20T09:00") - parse_time("2026-03-15T09:00")).total_seconds()


def test_paused_time_is_not_late_but_a_pause_after_the_deadline_stays_late(service):
    """Submitted in time and verified after the deadline: nothing missed (the ladder's count); submitted late:
    missed from the deadline to the submission, when rectification was complete (the wait for the verification
    after it is the department's, on the verification clock)."""
    on_time, late = report(service), report(service)
    for case in (on_time, late):
        run_to(service, case.id, "rectifying")                          # deadline 2026-04-30
    service.clock.at = parse_time("2026-04-29T09:00")
    rectified(service.commands, on_time.id, actor="ent")
    service.commands.advance_case(on_time.id, "submit", actor="ent")
    service.clock.at = parse_time("2026-05-03T09:00")
    rectified(service.commands, late.id, actor="ent")
    service.commands.advance_case(late.id, "submit", actor="ent")
    service.clock.at = parse_time("2026-05-05T09:00")
    for case in (on_time, late):
        service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "合格"})
    traces = {c.id: service.audit.trace_case(c.id, as_of=service.clock.now())[1] for c in (on_time, late)}
    assert [m for m in traces[on_time.id]["missed"] if m["kind"] == "deadline"] == []
    (missed,) = [m for m in traces[late.id]["missed"] if m["kind"] == "deadline"]
    assert (missed["at"], missed["until"]) == (parse_time("2026-05-01T00:00"), parse_time("2026-05-03T09:00"))
    # One definition of overdue: the register agrees with the trace at every moment.
    for moment, overdue in (("2026-04-30T12:00", set()), ("2026-05-02T09:00", {late.id}), ("2026-05-04T09:00", set())):
        listed = {c.id for c in service.queries.cases(overdue=True, as_of=moment).cases}
        assert listed == overdue, moment


# -- what the log proves about everything derived from it ------------------------------------------------------------
def _swept_open_case(service):
    """A case rectifying past its deadline whose first rungs fired, so the ladder has fired and pending rows."""
    case = report(service)
    run_to(service, case.id, "rectifying")
    service.clock.at = parse_time("2026-05-01T00:30")
    sweep(service)
    return case.id


def _replay_problems(service) -> dict:
    return dict(service.audit.replay_all().disagreements)


def test_deleting_a_whole_case_is_named_by_verify(service, two_closed):
    """Events, row, rungs and notices of a case removed together: the register's numbering names the missing
    case."""
    from engine.store.tables import notices, rungs
    target, other = two_closed
    with service.store.write() as conn:
        for table in (events, rungs, notices, cases):
            conn.execute(delete(table).where(table.c.case_id == target if table is not cases else cases.c.id == target))
    breaks = service.audit.verify().breaks
    assert [(b.case_id, "removed" in b.problem) for b in breaks] == [(target, True)]
    assert _replay_problems(service) == {}  # what is left replays: only the count can see the hole


def test_editing_a_deadline_column_is_named_by_replay(service):
    """A case's `deadline` or `due_at` column edited (it would drop out of --overdue): replay names the column."""
    case_id = _swept_open_case(service)
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(deadline="2026-12-31"))
    problems = _replay_problems(service)[case_id]
    assert any(p.startswith("deadline: stored '2026-12-31'") for p in problems), problems
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(deadline="2026-04-30",
                                                                        due_at=parse_time("2026-12-31T00:00")))
    assert any(p.startswith("due_at: stored") for p in _replay_problems(service)[case_id])
    assert service.queries.cases(overdue=True, now="2026-05-02").cases == []  # what the edit would have hidden


def test_silencing_the_ladder_is_named_by_replay(service):
    """Pending rungs set to cancelled, or a fired one set back to pending: replay names each rung."""
    from engine.store.tables import rungs
    case_id = _swept_open_case(service)
    with service.store.write() as conn:
        conn.execute(update(rungs).where(rungs.c.case_id == case_id, rungs.c.status == "pending")
                     .values(status="cancelled"))
    problems = _replay_problems(service)[case_id]
    assert any("rectification#1/interview: should be pending" in p for p in problems), problems
    with service.store.write() as conn:
        conn.execute(update(rungs).where(rungs.c.case_id == case_id, rungs.c.status == "cancelled",
                                         rungs.c.clock == "rectification").values(status="pending"))
        conn.execute(update(rungs).where(rungs.c.case_id == case_id, rungs.c.rung == "notice")
                     .values(status="pending", fired_at=None))
    problems = _replay_problems(service)[case_id]
    assert problems == ["rung rectification#1/notice: the log says fired at 2026-05-01T00:30:00+08:00, the row says "
                        "pending at None"], problems
    result = service.audit.replay_case(case_id)
    assert not result.agrees and any("notice" in d for d in result.differences)


def test_a_pending_rungs_action_edited_is_named_by_replay(service):
    from engine.store.tables import rungs
    """A suspension's row turned into a reminder misled `escalation list` and passed replay: it is named."""
    case_id = _swept_open_case(service)
    with service.store.write() as conn:
        conn.execute(update(rungs).where(rungs.c.case_id == case_id, rungs.c.rung == "suspension")
                     .values(action="remind"))
    problems = _replay_problems(service)[case_id]
    assert problems == ["rung rectification#1/suspension: its action is suspend, the row says remind"], problems


def test_a_closed_cases_cancelled_rungs_are_still_checked(service, two_closed):
    """Every clock of a closed case has stopped, yet its cancelled rung rows are still checked: a due time moved,
    or a rung set back to pending, is named by replay."""
    from engine.store.tables import rungs
    target, other = two_closed
    with service.store.read() as conn:
        stored = conn.execute(select(rungs.c.rung, rungs.c.status).where(rungs.c.case_id == target)).all()
    assert stored and {status for _, status in stored} == {"cancelled"}
    with service.store.write() as conn:
        conn.execute(update(rungs).where(rungs.c.case_id == target, rungs.c.rung == "interview")
                     .values(due_at=parse_time("2027-01-01T00:00")))
        conn.execute(update(rungs).where(rungs.c.case_id == other, rungs.c.rung == "yellow-warning")
                     .values(status="pending"))
    problems = _replay_problems(service)
    assert [p for p in problems[target] if "interview" in p and "should be cancelled due" in p], problems
    assert [p for p in problems[other] if "yellow-warning" in p and "the row says pending" in p], problems


def test_a_case_whose_rung_check_reads_what_a_right_one_read_is_not_re_planned(service, two_closed, monkeypatch):
    """Two closed cases of one ladder shape (same clocks, deadline, rows): the second is found right without a
    re-plan; one of its rows edited, it is checked the long way and named, as the first would be."""
    from engine.domain.escalation import ladder
    from engine.store.tables import rungs
    first, second = two_closed
    planned = []
    real_plan = ladder.plan
    monkeypatch.setattr(ladder, "plan", lambda *args, **kwargs: planned.append(1) or real_plan(*args, **kwargs))
    assert _replay_problems(service) == {} and len(planned) == 1
    with service.store.write() as conn:
        conn.execute(update(rungs).where(rungs.c.case_id == second, rungs.c.rung == "interview")
                     .values(due_at=parse_time("2027-01-01T00:00")))
    problems = _replay_problems(service)
    assert list(problems) == [second] and len(planned) == 3, problems
    assert [p for p in problems[second] if "interview" in p and "should be cancelled due" in p], problems


def test_planning_only_the_clocks_replay_needs_finds_what_the_whole_plan_finds(service, two_closed):
    """Replay plans only running or paused clocks and those with rows; on a closed case's rows as stored, with a
    due time moved, a clock's rows removed, or a stray pending row, it finds exactly what the whole plan finds."""
    from types import SimpleNamespace

    from engine.domain.escalation import ladder
    from engine.domain.proofs import clocks_to_plan, rung_differences
    from engine.store import audit_reads
    target, _ = two_closed
    with service.store.read() as conn:
        case = service.queries.case(target)
        run = service.registry.loaded(conn, case.workflow, case.workflow_version)
        calendar = service.registry.calendar_of(conn, case, run)
        stored = [SimpleNamespace(**row._mapping) for row in audit_reads.rungs_of(conn, [target])[target]]
    first = stored[0]
    variants = {
        "as stored": stored,
        "a due time moved": [SimpleNamespace(**{**vars(first), "due_at": parse_time("2027-01-01T00:00")})] + stored[1:],
        "a clock's rows removed": [r for r in stored if r.clock != first.clock],
        "no rows": [],
        "a stray pending row": stored + [SimpleNamespace(**{**vars(first), "cycle": 7, "status": "pending"})],
    }
    for name, rows in variants.items():
        whole = ladder.plan(run.definition, case.clocks, case.fields, case.fired, calendar)
        only = ladder.plan(run.definition, case.clocks, case.fields, case.fired, calendar,
                           only=clocks_to_plan(case.clocks, rows))
        found = rung_differences(rows, only, [])
        assert found == rung_differences(rows, whole, []), name
        assert bool(found) == (name in ("a due time moved", "a stray pending row")), (name, found)
    assert clocks_to_plan(case.clocks, []) == frozenset()  # a closed case with no rows: nothing to plan


def test_editing_a_stored_workflow_text_is_named_by_verify(service):
    """The exact text a version ran with must still hash to its content_hash: a forged rule is caught."""
    from engine.store.tables import workflow_versions
    with service.store.write() as conn:
        text = conn.execute(select(workflow_versions.c.source_text).where(
            workflow_versions.c.name == "major-hazard")).scalar_one()
        conn.execute(update(workflow_versions).where(workflow_versions.c.name == "major-hazard")
                     .values(source_text=text.replace("actor_differs_from: submit", "in_region")))
    breaks = service.audit.verify().breaks
    assert [(b.case_id, b.problem) for b in breaks] == [
        ("(definitions)", next(b.problem for b in breaks))] and "major-hazard version 1" in breaks[0].problem


def test_removing_a_stored_workflow_its_cases_ran_under_is_named_by_verify_and_replay(service, db_url, clock):
    """Deleting the definition a case ran under left verify passing and replay aborting: verify names the
    missing version (exit 10), replay --all names each case it can no longer check (exit 11), no traceback."""
    from engine.store.tables import workflow_versions
    case = report(service)
    with service.store.write() as conn:
        conn.execute(delete(workflow_versions).where(workflow_versions.c.name == "major-hazard"))
    from engine.app import Engine
    from engine.store.database import Store
    auditor = Engine(Store(db_url), clock=clock, trust_backdating=True)  # a new process: nothing parsed yet
    breaks = auditor.audit.verify().breaks
    assert [(b.case_id, b.problem) for b in breaks] == [
        ("(definitions)", "workflow major-hazard version 1: events ran under it but it is not stored (removed)")]
    disagreements = dict(auditor.audit.replay_all().disagreements)
    auditor.close()
    assert list(disagreements) == [case.id]
    assert "no workflow 'major-hazard' version 1" in disagreements[case.id][0]


def test_a_stored_workflow_rewritten_and_re_hashed_is_named_by_verify(service):
    """Editing a rule and setting content_hash to the new text's hash passed verify: each case's report event
    seals the hash of the text it runs under, so the rewrite no longer matches its cases."""
    import hashlib

    from engine.store.tables import workflow_versions
    report(service)
    with service.store.write() as conn:
        text = conn.execute(select(workflow_versions.c.source_text).where(
            workflow_versions.c.name == "major-hazard")).scalar_one()
        forged = text.replace("actor_differs_from: submit", "in_region")
        assert forged != text
        conn.execute(update(workflow_versions).where(workflow_versions.c.name == "major-hazard")
                     .values(source_text=forged, content_hash=hashlib.sha256(forged.encode()).hexdigest()))
    problems = [b.problem for b in service.audit.verify().breaks]
    assert len(problems) == 1 and "rewritten and re-hashed" in problems[0] and "major-hazard version 1" in problems[0]


def test_the_engine_will_not_run_a_definition_whose_text_was_edited(service, db_url, clock):
    """A stored text that no longer hashes to its content_hash is refused when loaded (exit 10), so a forged
    rule never decides a transition, even before anyone runs verify."""
    from engine.app import Engine
    from engine.domain.errors import TamperDetected
    from engine.store.database import Store
    from engine.store.tables import workflow_versions
    case = report(service)
    with service.store.write() as conn:
        conn.execute(update(workflow_versions).where(workflow_versions.c.name == "major-hazard")
                     .values(source_text=workflow_versions.c.source_text + "\n# edited\n"))
    fresh = Engine(Store(db_url), clock=clock, trust_backdating=True)
    try:
        with pytest.raises(TamperDetected, match="major-hazard version 1: its stored text does not hash"):
            fresh.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    finally:
        fresh.close()
    assert service.queries.case(case.id).version == 1


def test_editing_a_stored_calendar_is_named_by_verify(service):
    """A stored working-day calendar whose days were changed no longer hashes to its name: verify says so."""
    from engine.store.tables import calendars
    with service.store.write() as conn:
        digest, data = conn.execute(select(calendars.c.content_hash, calendars.c.data)).first()
        conn.execute(update(calendars).where(calendars.c.content_hash == digest)
                     .values(data={**data, "holidays": data["holidays"][1:]}))
    assert [b.case_id for b in service.audit.verify().breaks] == ["(calendars)"]
