"""Due times past the calendar's last year are provisional, and a newer calendar recounts them as events."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from engine.domain.calendar import default_calendar
from engine.domain.clock import parse_time
from engine.domain.events import verify_chain
from engine.app.recalendar import refresh

YEAR_END = Path(__file__).resolve().parent / "definitions" / "calendar" / "year-end.yaml"


def next_year_calendar(*days_off: date):
    """Today's calendar extended by one year in which the given weekdays are holidays (a future notice)."""
    current = default_calendar()
    return replace(current, version=current.version + "+next", last_year=current.last_year + 1,
                   holidays=current.holidays | set(days_off))


def open_case(service, deadline: str):
    service.commands.install_definition(YEAR_END.read_text(encoding="utf-8"), str(YEAR_END), actor="li")
    case = service.commands.report_case(actor="zhang", workflow="year-end", title="年底隐患", enterprise="某厂", region="371721",
                               industry="工贸", level="general", source="inspection")
    return service.commands.advance_case(case.id, "assign", actor="zhang", fields={"deadline": deadline})


def rung(service, case_id):
    (row,) = service.queries.case_view(case_id)[1]
    return row


def test_a_due_time_in_an_uncovered_year_is_provisional_and_counts_weekends_only(service):
    """Three working days after 2026-12-30 (Wed) skip 1 Jan and the weekend: end of Tue 5 Jan, provisional."""
    case = open_case(service, "2026-12-30")
    row = rung(service, case.id)
    assert row.provisional
    assert row.due_at == parse_time("2027-01-06T00:00")


def test_a_newer_calendar_recounts_open_cases_as_an_event_and_leaves_closed_ones(service, clock):
    """After a calendar knowing 2027 arrives, the open case's rung moves and its log says why."""
    moving = open_case(service, "2026-12-30")
    closed = open_case(service, "2026-12-30")
    service.commands.advance_case(closed.id, "finish", actor="zhang")
    closed_history = [e.hash for e in service.queries.history(closed.id)]
    newer = next_year_calendar(date(2027, 1, 1), date(2027, 1, 4))  # suppose the notice adds Mon 4 Jan
    clock.advance(days=1)
    digest, created, recounts = service.commands.refresh_calendar(actor="li", calendar=newer, dry_run=True)
    assert created and [r.case_id for r in recounts] == [moving.id]
    assert rung(service, moving.id).provisional  # a dry run changes nothing
    service.commands.refresh_calendar(actor="li", calendar=newer)
    row = rung(service, moving.id)
    assert not row.provisional and row.due_at == parse_time("2027-01-07T00:00")
    history = service.queries.history(moving.id)
    assert history[-1].trigger == "recalendar" and history[-1].data["calendar"] == digest
    assert history[-1].data["moved"][0]["after"].startswith("2027-01-07")
    assert list(verify_chain(history)) == []
    assert [e.hash for e in service.queries.history(closed.id)] == closed_history
    again = service.commands.refresh_calendar(actor="li", calendar=newer)
    assert again[1:] == (False, [])  # idempotent


def test_new_cases_count_with_the_newest_stored_calendar(service, clock):
    """Once stored, the newer calendar is the one new cases name in their report event."""
    newer = next_year_calendar(date(2027, 1, 1), date(2027, 1, 4))
    service.commands.refresh_calendar(actor="li", calendar=newer)
    case = open_case(service, "2026-12-30")
    assert service.queries.history(case.id)[0].data["calendar"] == newer.content_hash
    assert rung(service, case.id).due_at == parse_time("2027-01-07T00:00")
