"""Messages a user acts on (issue 16): no broken grammar, no hint repeating its message, no case id that was
never created, no microseconds, the right words for a version never reached, a malformed token and a database
this release does not run on. Each was reproduced first; the CLI tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.domain.clock import SHANGHAI
from engine.domain.errors import Refused
from tests.conftest import cli_on, FIVE, report

NOW = "2026-03-02T09:00"
CASE = ["case", "report", "--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司", "--region", "371721",
        "--industry", "危险化学品", "--level", "major", "--source", "inspection"]
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    return cli_on(runner, seeded_url, now=NOW, papers=True)


def test_a_role_that_may_not_report_is_told_so_in_plain_words(hz):
    """`may not reporting a 'major-hazard' case` was the message; an auditor may not report one."""
    result = hz(*CASE, actor="audit")
    assert result.exit_code == 4
    assert "may not report a 'major-hazard' case; allowed roles:" in result.stderr
    assert "may not reporting" not in result.stderr


@pytest.mark.parametrize("args, actor, said_once", [
    (["case", "advance", "HZ-2026-000001", "assign", "--set", "deadline=2026-03-01"], "zhang", "back-fill"),
    (["--now", "2026-03-01", "case", "advance", "HZ-2026-000001", "assign"], "zhang", "back-fill"),
    (["user", "add", "zhang", "--role", "supervisor", "--region", "3717"], "li", "user change"),
    (["init", "--require-token"], "li", "first"),
])
def test_a_hint_adds_what_the_message_does_not_say(hz, args, actor, said_once):
    """A refusal and its hint in brackets each say their part once (`back-fill events in order (back-filled
    events go in the order they happened)` said it twice)."""
    hz(*CASE, actor="ent")
    sets = [a for name, value in FIVE.items() if name != "deadline" for a in ("--set", f"{name}={value}")]
    result = hz(*args, *(sets if "assign" in args else []), actor=actor)
    assert result.exit_code in (3, 6), result.output
    assert "(" in result.stderr and result.stderr.count(said_once) == 1, result.stderr


def test_a_future_report_names_no_case_it_never_made(hz):
    """A report refused for its future time named `'report' on HZ-2099-000001`, a case never created."""
    result = hz(*CASE, actor="ent", now="2099-01-01T09:00")
    assert result.exit_code == 3
    assert "reporting a 'major-hazard' case: its time 2099-01-01T09:00:00+08:00" in result.stderr
    assert "HZ-" not in result.stderr and "drill" in result.stderr
    assert json.loads(hz("--json", "case", "list").stdout) == []


def test_times_in_messages_are_shown_to_the_second(hz):
    """`--found` later than the report (at the real clock) showed `09:42:22.139203`."""
    result = hz(*CASE, "--found", "2099-01-01", actor="ent", now=None)
    assert result.exit_code == 2 and "is later than the report itself" in result.stderr
    assert not MICROSECONDS.search(result.stderr), result.stderr


def test_an_event_out_of_order_names_both_times_to_the_second_in_shanghai_time(service):
    """The time-order refusal printed the engine time with its microseconds and in the caller's offset."""
    case = report(service)
    with pytest.raises(Refused) as caught:
        service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE,
                                      now=datetime(2026, 3, 1, 1, 0, 0, 123456, tzinfo=SHANGHAI))
    assert caught.value.rule == "time-order" and not MICROSECONDS.search(caught.value.message)
    assert "2026-03-01T01:00:00+08:00 is before its last recorded step (2026-03-02T09:00:00+08:00)" in caught.value.message


def test_the_future_refusal_shows_the_real_time_to_the_second(hz):
    result = hz(*CASE, actor="ent", now="2099-01-01T09:00")
    assert result.exit_code == 3 and not MICROSECONDS.search(result.stderr), result.stderr


def test_an_expected_version_the_case_never_reached_is_a_wrong_number_not_a_change(hz):
    """`--expect-version 7` on a case at version 1 said `someone changed it`; nobody had."""
    hz(*CASE, actor="ent")
    ahead = hz("--json", "case", "advance", "HZ-2026-000001", "assign", "--expect-version", "7", actor="zhang")
    error = json.loads(ahead.stdout)["error"]
    assert ahead.exit_code == 2 and error["field"] == "expect_version"
    assert error["message"] == ("--expect-version: HZ-2026-000001 is at version 1; it has no version 7 yet (give "
                                "the version `case show` prints)")
    sets = [a for name, value in FIVE.items() for a in ("--set", f"{name}={value}")]
    assert hz("case", "advance", "HZ-2026-000001", "assign", *sets, actor="zhang").exit_code == 0
    behind = hz("case", "advance", "HZ-2026-000001", "start", "--expect-version", "1", actor="ent")
    assert behind.exit_code == 6 and "is at version 2, not 1: it changed once since" in behind.stderr
    assert "someone" not in behind.stderr


def test_a_malformed_token_is_called_so(hz):
    """A token of no token's form was `not one of 'zhang''s`; someone else's token is not theirs."""
    token = json.loads(hz("--json", "user", "token", "li", actor="li").stdout)["token"]
    assert hz("--token", token, "init", "--require-token", actor="li").exit_code == 0
    garbage = hz("--token", "garbage", "user", "token", "zhang", actor="li")
    assert garbage.exit_code == 4, garbage.output
    assert "the token given is not an API token (a token reads hzt_<id>_<secret>" in garbage.stderr
    others = hz("--token", token, "user", "token", "zhang", actor="zhang")
    assert others.exit_code == 4 and "the token given is not a token of 'zhang'" in others.stderr
    assert "''s" not in garbage.stderr + others.stderr


@pytest.mark.parametrize("url, named", [("mysql://u:secret@h/x", "mysql is not supported"),
                                        ("postgresql+psycopg2://u@h/x", "the driver psycopg2 of postgresql"),
                                        ("oracle+oracledb://h/x", "oracle is not supported")])
def test_a_database_this_release_does_not_run_on_is_answered_with_those_it_does(url, named):
    """`--db mysql://` answered `No module named 'MySQLdb'`."""
    result = CliRunner().invoke(cli, ["--db", url, "case", "list"])
    assert result.exit_code == 8 and named in result.stderr
    assert "SQLite (sqlite:///hazard.db, or a file path) and PostgreSQL (postgresql+psycopg://" in result.stderr
    assert "No module" not in result.stderr and "secret" not in result.output
