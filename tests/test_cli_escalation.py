"""The escalation commands as a user types them: `escalate`, `escalation list`, `case extend`, `case show`.

Cases are set up through the service (same database), then the CLI runs with `--db URL --now T`.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import FIVE, paper, report, run_to

DEFINITIONS = Path(__file__).parent / "definitions" / "escalation"
ESCALATE_KEYS = {"sweep", "now", "dry_run", "fired", "proposed", "skipped", "conflicts", "refused", "max_late_seconds",
                 "rungs"}
LIST_KEYS = {"now", "count", "max_late_seconds", "rungs"}
RUNG_KEYS = {"case_id", "clock", "cycle", "rung", "action", "due_at", "provisional", "fired_at", "status"}


def hazard(runner, db_url, now, *args, actor=None):
    head = ["--db", db_url, "--now", now] + (["--actor", actor] if actor else []) + paper(actor)
    return runner.invoke(cli, [*head, *args])


def rectifying(service):
    case = report(service)
    return run_to(service, case.id, "rectifying")


def as_json(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_escalate_json_lists_what_fired(runner, db_url, service):
    """`escalate --json` gives the sweep id, its time, the counts, the lateness and one entry per rung."""
    case = rectifying(service)
    doc = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalate", "--json"))
    assert set(doc) == ESCALATE_KEYS
    assert doc["now"] == "2026-05-01T00:30:00+08:00" and doc["dry_run"] is False
    assert (doc["fired"], doc["skipped"], doc["conflicts"]) == (2, 1, 0)
    assert doc["max_late_seconds"] == 3 * 86400 + 1800  # the yellow warning, due at the end of 04-27
    assert {(r["case_id"], r["rung"], r["status"]) for r in doc["rungs"]} == {
        (case.id, "yellow-warning", "skipped"), (case.id, "red-warning", "fired"), (case.id, "notice", "fired")}
    yellow = next(r for r in doc["rungs"] if r["rung"] == "yellow-warning")
    assert yellow["reason"].startswith("missed by 3 days")  # every skip says why
    again = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalate", "--json"))
    assert (again["fired"], again["skipped"], again["rungs"]) == (0, 0, [])
    assert again["sweep"] != doc["sweep"]


def test_escalate_text_output_names_the_rungs(runner, db_url, service):
    """Plain `escalate` prints a table of fired rungs and a one-line summary on stderr."""
    case = rectifying(service)
    result = hazard(runner, db_url, "2026-05-01T00:30", "escalate")
    assert result.exit_code == 0, result.stderr
    assert case.id in result.stdout and "red-warning" in result.stdout and "notice" in result.stdout
    assert "2 fired, 0 proposed for a decision, 1 skipped, 0 left for the next sweep" in result.stderr
    result = hazard(runner, db_url, "2026-05-08T00:00", "escalate")
    row = next(line for line in result.stdout.splitlines() if "interview" in line)
    assert case.id in row and "proposed" in row and "committee" in row  # awaiting the committee's decision
    assert "0 fired, 1 proposed for a decision, 0 skipped" in result.stderr
    assert "hazard case decide" in result.stderr


def test_escalate_dry_run_shows_and_changes_nothing(runner, db_url, service):
    """`escalate --dry-run` lists what would fire; a real sweep afterwards still fires all of it."""
    case = rectifying(service)
    dry = hazard(runner, db_url, "2026-05-01T00:30", "escalate", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "would be fired" in dry.stdout and "would be skipped" in dry.stdout
    assert "dry run: 2 would fire, 0 would be proposed, 1 would be skipped; nothing was changed" in dry.stderr
    doc = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalate", "--dry-run", "--json"))
    assert doc["dry_run"] is True and (doc["fired"], doc["skipped"]) == (2, 1)
    assert [e.trigger for e in service.queries.history(case.id)] == ["report", "assign", "start"]
    real = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalate", "--json"))
    assert sorted((r["rung"], r["status"]) for r in real["rungs"]) == sorted((r["rung"], r["status"]) for r in doc["rungs"])


def test_escalation_list_due_and_overdue_unfired(runner, db_url, service):
    """`escalation list --due/--overdue-unfired --json` lists due unfired rungs and how late the oldest is."""
    case = rectifying(service)
    due = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalation", "list", "--due", "--json"))
    assert set(due) == LIST_KEYS and due["now"] == "2026-05-01T00:30:00+08:00"
    assert due["count"] == 3 and {r["rung"] for r in due["rungs"]} == {"yellow-warning", "red-warning", "notice"}
    assert all(set(r) == RUNG_KEYS and r["status"] == "pending" and r["case_id"] == case.id for r in due["rungs"])
    assert due["max_late_seconds"] == 3 * 86400 + 1800
    late = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalation", "list", "--overdue-unfired", "--json"))
    assert [r["rung"] for r in late["rungs"]] == ["yellow-warning"]  # the others are within the 60-minute grace
    hazard(runner, db_url, "2026-05-01T00:30", "escalate")
    after = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalation", "list", "--due", "--json"))
    assert (after["count"], after["max_late_seconds"], after["rungs"]) == (0, 0.0, [])


def test_escalation_list_text_marks_provisional_rungs(runner, db_url, service):
    """Rungs counted into 2027 show `(provisional)` in the listing of a case."""
    path = DEFINITIONS / "working-days.yaml"
    service.commands.install_definition(path.read_text(encoding="utf-8"), str(path), actor="li")
    case = service.commands.report_case(actor="wang", workflow="working-days", title="消防通道堵塞", enterprise="某商场",
                               region="371721", industry="消防", level="general", source="inspection")
    service.commands.advance_case(case.id, "assign", actor="zhang", fields={"measures": "清理通道", "deadline": "2026-12-28"})
    result = hazard(runner, db_url, "2026-03-02T10:00", "escalation", "list", "--case", case.id)
    assert result.exit_code == 0, result.stderr
    line = next(l for l in result.stdout.splitlines() if " late " in f" {l} ")
    assert "2027-01-06 00:00 (provisional)" in line
    assert "(provisional)" not in next(l for l in result.stdout.splitlines() if "late-calendar" in l)


def test_overdue_unfired_uses_the_definitions_grace(runner, db_url, service):
    """A rung 30 minutes late under a 10-minute grace (catch-up.yaml) counts as overdue-unfired."""
    path = DEFINITIONS / "catch-up.yaml"
    service.commands.install_definition(path.read_text(encoding="utf-8"), str(path), actor="li")
    case = service.commands.report_case(actor="wang", workflow="catch-up", title="粉尘涉爆", enterprise="某木业", region="371721",
                               industry="工贸", level="major", source="inspection")
    service.commands.advance_case(case.id, "assign", actor="zhang", fields={"measures": "加装泄爆", "deadline": "2026-04-30"})
    late = as_json(hazard(runner, db_url, "2026-05-01T00:30", "escalation", "list", "--overdue-unfired", "--json"))
    assert [r["rung"] for r in late["rungs"]] == ["first"]


def test_case_show_json_lists_rungs_and_linked_cases(runner, db_url, service):
    """`case show --json` gives each rung (rung, action, due_at, fired_at, status) and the linked cases."""
    case = rectifying(service)
    for when in ("2026-05-01T09:00", "2026-05-08T09:00"):
        hazard(runner, db_url, when, "escalate")
    assert hazard(runner, db_url, "2026-05-08T10:00", "case", "decide", case.id, "interview", "approve", "--reason",
                  "约谈", actor="li").exit_code == 0
    hazard(runner, db_url, "2026-05-16T09:00", "escalate")
    pending = as_json(hazard(runner, db_url, "2026-05-16T09:10", "case", "show", case.id, "--json"))
    assert [(p["rung"], p["decided_by"]) for p in pending["pending_decisions"]] == [("posted-supervision", ["committee"])]
    assert hazard(runner, db_url, "2026-05-16T09:30", "case", "decide", case.id, "posted-supervision", "approve",
                  "--reason", "挂牌", actor="li").exit_code == 0
    doc = as_json(hazard(runner, db_url, "2026-05-16T10:00", "case", "show", case.id, "--json"))
    by_rung = {r["rung"]: r for r in doc["rungs"] if r["clock"] == "rectification"}
    assert set(by_rung) == {"yellow-warning", "red-warning", "notice", "interview", "posted-supervision",
                            "exposure", "suspension"}
    assert all(RUNG_KEYS <= set(r) for r in doc["rungs"])
    assert by_rung["notice"]["action"] == "notice" and by_rung["notice"]["due_at"] == "2026-05-01T00:00:00+08:00"
    assert by_rung["notice"]["fired_at"] == "2026-05-01T09:00:00+08:00" and by_rung["notice"]["status"] == "fired"
    assert by_rung["yellow-warning"]["status"] == "skipped"
    assert (by_rung["interview"]["status"], by_rung["posted-supervision"]["status"]) == ("approved", "approved")
    assert doc["pending_decisions"] == []
    assert (by_rung["exposure"]["status"], by_rung["exposure"]["fired_at"]) == ("pending", None)
    assert sorted((c["workflow"], c["state"], c["final"]) for c in doc["linked"]) == [
        ("interview", "scheduled", False), ("posted-supervision", "listed", False)]
    text = hazard(runner, db_url, "2026-05-16T10:00", "case", "show", case.id)
    assert "escalation rungs" in text.stdout and "linked cases" in text.stdout


# -- case extend ------------------------------------------------------------------------------------------------

def test_case_extend_moves_the_deadline(runner, db_url, service):
    """An application with a reason is recorded; once another supervisor approves it, `case show` has the new
    deadline, the original one and the new rung times."""
    case = rectifying(service)
    result = hazard(runner, db_url, "2026-04-01T09:00", "case", "extend", case.id, "--until", "2026-06-30",
                    "--reason", "设备到货延迟", actor="zhang")
    assert result.exit_code == 0, result.stderr
    assert f"{case.id}: extension to 2026-06-30 applied for; it awaits a decision by 2026-04-16" in result.stderr
    applied = as_json(hazard(runner, db_url, "2026-04-01T09:00", "case", "show", case.id, "--json"))
    assert applied["deadline"] == "2026-04-30" and applied["extension_application"]["until"] == "2026-06-30"
    decided = hazard(runner, db_url, "2026-04-02T09:00", "case", "decide", case.id, "extension", "approve",
                     "--reason", "同意", actor="liu")
    assert decided.exit_code == 0, decided.stderr
    doc = as_json(hazard(runner, db_url, "2026-04-02T09:00", "case", "show", case.id, "--json"))
    assert (doc["deadline"], doc["original_deadline"]) == ("2026-06-30", "2026-04-30")
    text = hazard(runner, db_url, "2026-04-02T09:00", "case", "show", case.id).stdout
    assert "original deadline" in text and "2026-04-30" in text
    assert {r["rung"]: r["due_at"] for r in doc["rungs"]}["red-warning"] == "2026-07-01T00:00:00+08:00"


@pytest.mark.parametrize("actor, until, state, code, rule", [
    ("zhang", "2026-06-30", "closed", 3, "state"),         # nothing left to extend
    ("wang", "2026-06-30", "rectifying", 4, "role"),       # an inspector may not apply
    ("zhang", "2026-13-45", "rectifying", 2, None),        # not a date
    ("zhang", "next month", "rectifying", 2, None),
])
def test_case_extend_exit_codes(runner, db_url, service, actor, until, state, code, rule):
    """Refused on a closed case (3), wrong role (4), unreadable date (2); nothing is written."""
    case = report(service)
    if state != "reported":
        run_to(service, case.id, state)
    version = service.queries.case(case.id).version
    result = hazard(runner, db_url, "2026-04-01T09:00", "--json", "case", "extend", case.id, "--until", until,
                    "--reason", "延期", actor=actor)
    assert result.exit_code == code, result.output
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == code and (rule is None or error["rule"] == rule)
    assert service.queries.case(case.id).version == version


def test_case_extend_requires_a_reason(runner, db_url, service):
    """`--reason` is required by the command (usage error) and a blank one is refused by the rule (3)."""
    case = rectifying(service)
    missing = hazard(runner, db_url, "2026-04-01T09:00", "case", "extend", case.id, "--until", "2026-06-30", actor="zhang")
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    blank = hazard(runner, db_url, "2026-04-01T09:00", "case", "extend", case.id, "--until", "2026-06-30",
                   "--reason", " ", actor="zhang")
    assert blank.exit_code == 3 and "reason" in blank.stderr


def test_scheduler_refuses_a_fixed_time(runner, db_url):
    """`hazard --now T scheduler` is a usage error: drills use `escalate`."""
    result = hazard(runner, db_url, "2026-05-01T00:00", "scheduler", "--interval", "1")
    assert result.exit_code == 2 and "drop --now" in result.stderr
