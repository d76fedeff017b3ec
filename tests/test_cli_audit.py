"""`hazard audit ...` through click: exit codes, one JSON document on stdout, progress and messages on stderr."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import and_, update

from cli.main import cli
from engine.store.tables import cases, events
from tests.conftest import report, run_to


@pytest.fixture
def closed(service):
    """The database URL and the id of one closed major hazard in it."""
    case = report(service)
    run_to(service, case.id, "closed")
    return service.store.url, case.id


def hazard(runner, url, *args):
    return runner.invoke(cli, ["--db", url, *args])


def test_replay_of_one_case_prints_the_replayed_case_and_agrees(runner, closed):
    """`audit replay CASE --json` gives the rebuilt case, its rungs, and agrees: true; exit 0."""
    url, case_id = closed
    result = hazard(runner, url, "audit", "replay", case_id, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["agrees"] is True and doc["differences"] == []
    assert (doc["case"]["id"], doc["case"]["state"], doc["events"], doc["total_events"]) == (case_id, "closed", 7, 7)
    assert {"rungs", "linked", "as_of", "exists"} <= set(doc)


def test_replay_as_of_shows_the_case_as_it_stood_then(runner, service):
    """--as-of between two events shows the state after the earlier one only."""
    case = report(service)
    run_to(service, case.id, "assigned")
    service.clock.advance(days=3)
    run_to(service, case.id, "rectifying")
    url = service.store.url
    doc = json.loads(hazard(runner, url, "--json", "audit", "replay", case.id, "--as-of", "2026-03-03T09:00").stdout)
    assert (doc["case"]["state"], doc["events"], doc["total_events"]) == ("assigned", 2, 3)
    early = json.loads(hazard(runner, url, "--json", "audit", "replay", case.id, "--as-of", "2026-03-01").stdout)
    assert early["exists"] is False and early["case"] is None


def test_replay_all_reports_every_disagreement_and_exits_11(runner, service, closed):
    """After a case row is edited, `replay --all` names it field by field and exits with ReplayMismatch's code."""
    url, case_id = closed
    ok = hazard(runner, url, "audit", "replay", "--all", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"ok": True, "cases": 1, "events": 7, "disagreements": []}
    with service.store.write() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id), {"title": "已被改写"})
    result = hazard(runner, url, "audit", "replay", "--all", "--json")
    assert result.exit_code == 11
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["disagreements"][0]["case_id"] == case_id
    assert doc["disagreements"][0]["differences"][0].startswith("title: stored '已被改写'")
    assert "disagree" in result.stderr


def test_replay_needs_a_case_or_all(runner, closed):
    """Neither a CASE nor --all is a usage error (exit 2); an unknown case is not found (exit 5)."""
    url, _ = closed
    assert hazard(runner, url, "audit", "replay").exit_code == 2
    assert hazard(runner, url, "audit", "replay", "HZ-2026-999999").exit_code == 5


def test_verify_exits_0_on_a_clean_log_and_10_naming_case_and_seq_after_tampering(runner, service, closed):
    """`audit verify` passes a clean log; after an opinion is rewritten it exits 10 and names the case and #6 (the
    verification: the rectification photo's attach is #4)."""
    url, case_id = closed
    clean = hazard(runner, url, "audit", "verify", "--json")
    assert clean.exit_code == 0 and json.loads(clean.stdout) == {"ok": True, "cases": 1, "events": 7, "breaks": []}
    with service.store.write() as conn:
        conn.execute(update(events).where(and_(events.c.case_id == case_id, events.c.seq == 6)),
                     {"data": {"fields": {"opinion": "同意"}}})
    result = hazard(runner, url, "audit", "verify", "--json")
    assert result.exit_code == 10
    breaks = json.loads(result.stdout)["breaks"]
    assert (breaks[0]["case_id"], breaks[0]["seq"]) == (case_id, 6)
    text = hazard(runner, url, "audit", "verify")
    assert text.exit_code == 10 and f"{case_id} #6:" in text.stdout and case_id in text.stderr


def test_trace_prints_people_holders_and_misses(runner, closed):
    """`audit trace CASE --json` has the actions, people, holding periods, totals and misses."""
    url, case_id = closed
    result = hazard(runner, url, "audit", "trace", case_id, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"case", "actions", "people", "holding", "held_for", "missed", "notices"}
    assert [a["trigger"] for a in doc["actions"]] == ["report", "assign", "start", "attach", "submit", "verify",
                                                      "close"]
    assert doc["actions"][5]["signed"] == {"opinion": "整改到位"} and doc["actions"][4]["at"].endswith("+08:00")
    text = hazard(runner, url, "audit", "trace", case_id)
    assert text.exit_code == 0 and "who held the case" in text.stdout


def test_dossier_goes_to_stdout_or_a_file(runner, closed, tmp_path):
    """`audit dossier` writes JSON to stdout and HTML to --output, both naming the case and its last hash."""
    url, case_id = closed
    as_json = hazard(runner, url, "audit", "dossier", case_id, "--format", "json")
    assert as_json.exit_code == 0
    doc = json.loads(as_json.stdout)
    assert doc["case"]["id"] == case_id and doc["chain"]["verified"] is True
    target = tmp_path / "dossier.html"
    as_html = hazard(runner, url, "audit", "dossier", case_id, "--output", str(target))
    assert as_html.exit_code == 0 and as_html.stdout == "" and str(target) in as_html.stderr
    page = target.read_text(encoding="utf-8")
    assert case_id in page and doc["chain"]["last_hash"] in page and page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("command", ["replay", "verify", "trace", "dossier"])
def test_every_audit_command_has_help_with_an_example(runner, command):
    """Each command's --help explains it and shows an Example: line."""
    result = runner.invoke(cli, ["audit", command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout
