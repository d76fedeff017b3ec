"""A back-dated write never undoes what was due at its recording (engine/app/backfill.py): on an engine that does not
trust back-dating (every face's), through the Python API and the CLI, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import Refused
from engine.app.sweep import sweep
from tests.conftest import FIVE, rectified


def T(text: str):
    return parse_time(text)


@pytest.fixture
def strict(service):
    """The usual engine, judging back-dated writes as the CLI and the web console do."""
    service.trust_backdating = False
    return service


def overdue_case(engine):
    """Reported and assigned in March (declared back-fills by the department), deadline 2026-04-30, started."""
    c = engine.commands
    case = c.report_case(actor="zhang", title="液氨储罐区未设置泄漏报警装置", enterprise="某化工有限公司", region="371721",
                         industry="危险化学品", level="major", source="inspection", now="2026-03-02T09:00")
    c.advance_case(case.id, "assign", actor="zhang", fields=FIVE, now="2026-03-02T10:00", backfill="纸质台账补录")
    return c.advance_case(case.id, "start", actor="ent", now="2026-03-03T09:00")


def test_a_back_dated_submission_does_not_cancel_what_was_due_and_is_not_on_time(strict):
    """The issue's case: the enterprise submits, dated before the deadline, long after it; the warning, the notice
    and the sanctions due since are handled first (as a sweep at the recording would have), and the case counts
    as rectified but not on time."""
    case = overdue_case(strict)
    rectified(strict.commands, case.id, actor="ent", now="2026-04-20T09:00")
    after = strict.commands.advance_case(case.id, "submit", actor="ent", now="2026-04-20T09:00")
    log = strict.queries.history(case.id)
    handled = {e.data["rung"]: e.data["status"] for e in log if e.trigger == "escalate"}
    assert handled["red-warning"] == "fired" and handled["suspension"] == "proposed"
    assert [e.trigger for e in log][-1] == "submit" and log[-1].data["judged_on_record"] is True
    assert after.rectified_at == T("2026-04-20T09:00") and after.judged_at == log[-1].recorded_at
    stats = strict.reports.stats(region="3717", now=T("2026-11-01T09:00"))
    assert (stats.total.counts.rectified, stats.total.counts.rectified_on_time) == (1, 0)
    later = sweep(strict, now=T("2026-06-01T09:00")).fired  # nothing of the rectification ladder left owed
    assert {f["clock"] for f in later} <= {"verification"}  # (the verification's own 10 days run from 04-20)


def test_a_declared_back_fill_by_the_department_counts_at_its_own_time(strict):
    case = overdue_case(strict)
    rectified(strict.commands, case.id, actor="zhang", now="2026-04-20T09:00")
    after = strict.commands.advance_case(case.id, "submit", actor="zhang", now="2026-04-20T09:00",
                                         backfill="企业书面申请验收（纸质）")
    log = strict.queries.history(case.id)
    assert [e.trigger for e in log] == ["report", "assign", "start", "attach", "submit"]
    assert log[-1].data["backfill"] == {"reason": "企业书面申请验收（纸质）"} and after.judged_at is None
    stats = strict.reports.stats(region="3717", now=T("2026-11-01T09:00"))
    assert stats.total.counts.rectified_on_time == 1
    _, trace = strict.audit.trace_case(case.id, as_of="2026-11-01T09:00")
    assert trace["actions"][-1]["signed"]["backfill"] == "企业书面申请验收（纸质）"


def test_only_the_department_or_the_committee_declares_a_back_fill(strict):
    case = overdue_case(strict)
    rectified(strict.commands, case.id, actor="ent", now="2026-04-20T09:00")
    with pytest.raises(Refused) as caught:
        strict.commands.advance_case(case.id, "submit", actor="ent", now="2026-04-20T09:00", backfill="补录")
    assert caught.value.rule == "backfill"
    with pytest.raises(Refused) as caught:
        strict.commands.advance_case(case.id, "submit", actor="zhang", now="2026-04-20T09:00", backfill="  ")
    assert caught.value.missing == ("backfill",)


def test_a_write_dated_now_is_not_back_dated(strict):
    """Without --now (or within five minutes of the real time) nothing is judged: no escalation inserted."""
    c = strict.commands
    now = strict.recorded_clock.now()
    case = c.report_case(actor="zhang", title="配电箱未接地", enterprise="某木业有限公司", region="371721",
                         industry="工贸", level="general", source="inspection", now=now)
    after = c.advance_case(case.id, "assign", actor="zhang", now=now, fields={
        "responsible_person": "赵六", "measures": "接地", "deadline": (now.date().replace(year=now.year + 1)).isoformat()})
    assert "judged_at" not in strict.queries.history(after.id)[-1].data


def test_the_cli_declares_a_back_fill_with_backfill(runner, seeded_url, strict):
    from cli.main import cli
    case = overdue_case(strict)
    rectified(strict.commands, case.id, actor="ent", now="2026-04-20T09:00")
    base = ["--db", seeded_url, "--now", "2026-04-20T09:00", "--actor", "zhang"]
    done = runner.invoke(cli, base + ["--backfill", "纸质台账补录", "case", "advance", case.id, "submit"])
    assert done.exit_code == 0, done.output
    refused = runner.invoke(cli, ["--db", seeded_url, "--now", "2026-04-21T09:00", "--actor", "ent", "--json",
                                  "--backfill", "补录", "case", "advance", case.id, "verify", "--set", "opinion=x"])
    assert refused.exit_code in (3, 4)
