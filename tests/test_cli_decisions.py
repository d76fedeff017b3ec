"""`hazard case decide`, `case void`, `case correct` and `escalation list --proposed` as a user types them:
exit codes, the JSON documents, and what the register shows afterwards."""
from __future__ import annotations

import json

import pytest

from cli.main import cli
from tests.conftest import report, run_to


def hazard(runner, db_url, now, *args, actor=None):
    head = ["--db", db_url, "--now", now] + (["--actor", actor] if actor else [])
    return runner.invoke(cli, [*head, *args])


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def proposed_interview(runner, db_url, service) -> str:
    case = run_to(service, report(service).id, "rectifying")
    assert hazard(runner, db_url, "2026-05-08T08:00", "escalate").exit_code == 0
    return case.id


def test_the_proposal_shows_in_the_escalation_list_and_the_case(runner, db_url, service):
    case_id = proposed_interview(runner, db_url, service)
    listed = as_json(hazard(runner, db_url, "2026-05-08T09:00", "--json", "escalation", "list", "--proposed"))
    assert [(r["case_id"], r["rung"], r["status"]) for r in listed["rungs"]] == [(case_id, "interview", "proposed")]
    text = hazard(runner, db_url, "2026-05-08T09:00", "escalation", "list", "--proposed")
    assert "interview" in text.stdout and "proposed" in text.stdout
    shown = as_json(hazard(runner, db_url, "2026-05-08T09:00", "--json", "case", "show", case_id))
    assert [(p["kind"], p["rung"], p["decided_by"]) for p in shown["pending_decisions"]] == [
        ("proposal", "interview", ["committee"])]
    table = hazard(runner, db_url, "2026-05-08T09:00", "case", "show", case_id)
    assert "awaiting a decision" in table.stdout and "安委会办公室" in table.stdout


def test_deciding_prints_what_it_did_and_the_json_case(runner, db_url, service):
    case_id = proposed_interview(runner, db_url, service)
    done = hazard(runner, db_url, "2026-05-08T10:00", "case", "decide", case_id, "interview", "approve", "--reason",
                  "约谈企业主要负责人", actor="li")
    assert done.exit_code == 0, done.output
    assert f"{case_id}: interview approved" in done.stderr and "opened HZ-2026-000002" in done.stderr
    doc = as_json(hazard(runner, db_url, "2026-05-08T10:00", "--json", "case", "show", case_id))
    assert doc["pending_decisions"] == []
    assert [(p["rung"], p["status"], p["by"], p["reason"]) for p in doc["proposals"]] == [
        ("interview", "approved", "li", "约谈企业主要负责人")]
    assert [c["workflow"] for c in doc["linked"]] == ["interview"]


@pytest.mark.parametrize("args, actor, code, rule", [
    (["interview", "approve"], "zhang", 4, "role"),            # the interview is the committee's to decide
    (["suspension", "approve"], "li", 3, "no-proposal"),      # nothing of the kind is proposed
    (["interview", "maybe"], "li", 2, None),                   # approve or decline
    (["extension", "approve"], "li", 3, "no-application"),
])
def test_decide_exit_codes(runner, db_url, service, args, actor, code, rule):
    case_id = proposed_interview(runner, db_url, service)
    version = service.queries.case(case_id).version
    result = hazard(runner, db_url, "2026-05-08T10:00", "--json", "case", "decide", case_id, *args, "--reason", "x",
                    actor=actor)
    assert result.exit_code == code, result.output
    if rule:
        assert json.loads(result.stdout)["error"]["rule"] == rule
    assert service.queries.case(case_id).version == version


def test_void_takes_a_case_out_of_the_register_and_refuses_more(runner, db_url, service):
    kept, twin = report(service), report(service)
    assert hazard(runner, db_url, "2026-03-03T09:00", "case", "void", twin.id, actor="zhang").exit_code == 2  # --reason
    done = hazard(runner, db_url, "2026-03-03T09:00", "case", "void", twin.id, "--reason", f"与{kept.id}重复",
                  actor="zhang")
    assert done.exit_code == 0 and "voided" in done.stderr
    listed = as_json(hazard(runner, db_url, "2026-03-03T10:00", "--json", "case", "list"))
    assert [c["id"] for c in listed] == [kept.id]
    shown = as_json(hazard(runner, db_url, "2026-03-03T10:00", "--json", "case", "show", twin.id))
    assert shown["voided"] is True and shown["voided_at"] == "2026-03-03T09:00:00+08:00"
    again = hazard(runner, db_url, "2026-03-04T09:00", "--json", "case", "advance", twin.id, "assign", actor="zhang")
    assert again.exit_code == 3 and json.loads(again.stdout)["error"]["rule"] == "void"


def test_correct_keeps_the_old_and_new_values(runner, db_url, service):
    case = report(service)
    doc = as_json(hazard(runner, db_url, "2026-03-03T09:00", "--json", "case", "correct", case.id, "--set",
                         "title=液氨储罐区未设置可燃气体泄漏报警装置", "--reason", "标题不全", actor="zhang"))
    assert doc["title"] == "液氨储罐区未设置可燃气体泄漏报警装置"
    history = as_json(hazard(runner, db_url, "2026-03-03T09:00", "--json", "case", "history", case.id))
    assert history[-1]["trigger"] == "correct" and history[-1]["data"]["changes"]["title"]["old"] == case.title
    wrong = hazard(runner, db_url, "2026-03-03T09:00", "--json", "case", "correct", case.id, "--set", "level=general",
                   "--reason", "x", actor="zhang")
    assert wrong.exit_code == 2 and "title, enterprise, region, industry, source" in json.loads(wrong.stdout)["error"]["message"]


def test_an_extended_deadline_shows_the_original_in_the_register(runner, db_url, service):
    """`case list` marks an extended deadline: wide with the original beside it, narrow with an asterisk."""
    case = run_to(service, report(service).id, "rectifying")
    service.commands.extend_deadline(case.id, actor="ent", until="2026-06-30", reason="设备到货延迟", now="2026-04-01T09:00")
    service.commands.decide(case.id, "extension", "approve", actor="zhang", reason="同意", now="2026-04-02T09:00")
    wide = runner.invoke(cli, ["--db", db_url, "--now", "2026-04-03T09:00", "case", "list", "--wide"])
    assert "2026-06-30 (原 2026-04-30)" in wide.stdout
    narrow = runner.invoke(cli, ["--db", db_url, "--now", "2026-04-03T09:00", "case", "list"], env={"COLUMNS": "80"})
    assert "2026-06-30*" in narrow.stdout
