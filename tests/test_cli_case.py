"""`hazard case ...` through CliRunner: ids on stdout, one JSON document, exit codes, env vars, tables."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from cli.main import cli
from tests.conftest import FIVE, PHOTO, paper

NOW = "2026-03-02T09:00"
USERS = [("wang", "inspector", "371721"), ("ent", "enterprise", "371721"), ("zhang", "supervisor", "371700"),
         ("liu", "supervisor", "371700"), ("li", "committee", "37"), ("far", "supervisor", "4101")]
CASE = ["--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司", "--region", "371721",
        "--industry", "危险化学品", "--level", "major", "--source", "inspection"]
SETS = [arg for name, value in FIVE.items() for arg in ("--set", f"{name}={value}")]


@pytest.fixture
def hz(runner, seeded_url):
    """Invoke `hazard --db URL [--now] [--actor] ARGS` on an initialised database with the usual users."""
    db_url = seeded_url

    def invoke(*args, actor=None, now=NOW):
        base = ["--db", db_url] + (["--now", now] if now else []) + (["--actor", actor] if actor else [])
        return runner.invoke(cli, base + paper(actor) + list(args))
    return invoke


def test_init_and_user_add_through_the_cli(runner, db_url):
    """`hazard init` installs the built-in workflows (again: unchanged); the first `user add` makes the
    administrator, who registers the next user."""
    def invoke(*args):
        return runner.invoke(cli, ["--db", db_url, "--now", NOW, *args])
    first = json.loads(invoke("--json", "init").stdout)
    assert {(w["name"], w["version"], w["created"]) for w in first["workflows"]} >= {
        ("major-hazard", 1, True), ("general-hazard", 1, True)}
    again = json.loads(invoke("--json", "init").stdout)
    assert all(not w["created"] for w in again["workflows"])
    assert invoke("user", "add", "li", "--role", "committee", "--region", "37").exit_code == 0
    added = json.loads(invoke("--json", "--actor", "li", "user", "add", "zhang", "--role", "supervisor",
                              "--region", "371700").stdout)
    assert added == {"name": "zhang", "roles": ["supervisor"], "regions": ["3717"], "enterprise": None,
                     "created": True}
    users = json.loads(invoke("--json", "user", "list").stdout)
    assert [u["name"] for u in users] == ["li", "zhang"]


def reported(hz, *extra, actor="ent"):
    result = hz("case", "report", *CASE, *extra, actor=actor)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def to_verifying(hz, case_id):
    for trigger, actor, extra in [("assign", "zhang", SETS), ("start", "ent", []), ("submit", "ent", [])]:
        if trigger == "submit":  # the rectification photo a major hazard's submit requires
            assert hz("case", "attach", case_id, str(PHOTO), "--kind", "rectified", actor=actor).exit_code == 0
        result = hz("case", "advance", case_id, trigger, *extra, actor=actor)
        assert result.exit_code == 0, result.output


# -- output ------------------------------------------------------------------------------------------------

def test_report_prints_only_the_new_id(hz):
    """`case report` prints the new case id, alone, on stdout."""
    result = hz("case", "report", *CASE, actor="ent")
    assert result.exit_code == 0
    assert result.stdout == "HZ-2026-000001\n"
    assert reported(hz) == "HZ-2026-000002"


def test_report_json_is_one_document_with_the_case(hz):
    """`--json case report` prints one JSON document: the case with its core keys and its fields."""
    result = hz("--json", "case", "report", *CASE, "--set", "deadline=2026-04-30", actor="ent")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert {"id", "state", "version", "workflow", "workflow_version", "deadline", "overdue"} <= doc.keys()
    assert (doc["id"], doc["state"], doc["version"], doc["workflow"], doc["workflow_version"]) == (
        "HZ-2026-000001", "reported", 1, "major-hazard", 1)
    assert (doc["deadline"], doc["overdue"]) == ("2026-04-30", False)
    assert (doc["title"], doc["enterprise"], doc["region"], doc["industry"], doc["level"], doc["source"]) == (
        "液氨储罐区未设置泄漏报警装置", "某化工有限公司", "371721", "危险化学品", "major", "inspection")
    assert doc["found_at"] == "2026-03-02T09:00:00+08:00"


def test_advance_json_shows_coerced_fields(hz):
    """`case advance --json` prints the case after the step, with its fields (funds in yuan) at the top level."""
    case_id = reported(hz)
    result = hz("case", "advance", case_id, "assign", *SETS, "--json", actor="zhang")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["state"], doc["version"]) == ("assigned", 2)
    assert doc["funds"] == "150000.00" and doc["responsible_person"] == "王五" and doc["deadline"] == "2026-04-30"
    assert doc["fields"]["emergency_plan"] == FIVE["emergency_plan"]


def test_advance_human_output_goes_to_stderr(hz):
    """Without --json, advance says what happened on stderr and prints no data on stdout."""
    case_id = reported(hz)
    result = hz("case", "advance", case_id, "assign", *SETS, actor="zhang")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"{case_id}: assign -> assigned (version 2)" in result.stderr


def test_history_json_lists_events_with_both_times(hz):
    """`case history --json` lists every event; `at` is the --now time and `recorded_at` the real time."""
    case_id = reported(hz)
    hz("case", "advance", case_id, "assign", *SETS, actor="zhang", now="2026-03-03T10:30")
    result = hz("--json", "case", "history", case_id)
    assert result.exit_code == 0
    events = json.loads(result.stdout)
    assert [e["seq"] for e in events] == [1, 2]
    for e in events:
        assert {"seq", "trigger", "from", "to", "actor", "at", "recorded_at", "data", "hash"} <= e.keys()
    assert [(e["trigger"], e["from"], e["to"], e["actor"]) for e in events] == [
        ("report", None, "reported", "ent"), ("assign", "reported", "assigned", "zhang")]
    assert [e["at"] for e in events] == ["2026-03-02T09:00:00+08:00", "2026-03-03T10:30:00+08:00"]
    real_now = datetime.now(timezone.utc)
    for e in events:
        assert abs(datetime.fromisoformat(e["recorded_at"]) - real_now) < timedelta(minutes=10)
    assert events[1]["data"]["fields"]["funds"] == "150000.00"
    assert len(events[0]["hash"]) == 64 and events[1]["prev_hash"] == events[0]["hash"]


def test_history_human_table_shows_every_event(hz):
    """The human history is a table with one row per event and the short hash."""
    case_id = reported(hz)
    hz("case", "advance", case_id, "assign", *SETS, actor="zhang")
    result = hz("case", "history", case_id)
    events = json.loads(hz("--json", "case", "history", case_id).stdout)
    assert result.exit_code == 0
    for e in events:
        assert e["hash"][:12] in result.stdout
    assert "assign" in result.stdout and "2026-03-02 09:00" in result.stdout


def test_show_json_and_human(hz):
    """`case show` prints the case: --json as one document, otherwise a readable table with the title."""
    case_id = reported(hz)
    doc = json.loads(hz("case", "show", case_id, "--json").stdout)
    assert doc["id"] == case_id and doc["state"] == "reported"
    human = hz("case", "show", case_id)
    assert human.exit_code == 0
    assert case_id in human.stdout and "液氨储罐区未设置泄漏报警装置" in human.stdout and "reported" in human.stdout


def test_json_option_is_accepted_after_the_subcommand(hz):
    """`case list --json` behaves like `--json case list`."""
    reported(hz)
    before = json.loads(hz("--json", "case", "list").stdout)
    after = json.loads(hz("case", "list", "--json").stdout)
    assert before == after and [c["id"] for c in after] == ["HZ-2026-000001"]


# -- exit codes --------------------------------------------------------------------------------------------

def test_refused_exits_3_with_the_rule_in_json(hz):
    """A step the state does not allow exits 3; --json prints an error document naming rule and trigger."""
    case_id = reported(hz)
    result = hz("--json", "case", "advance", case_id, "start", actor="ent")
    assert result.exit_code == 3
    err = json.loads(result.stdout)["error"]
    assert (err["type"], err["rule"], err["exit_code"], err["trigger"]) == ("Refused", "state", 3, "start")
    assert "allowed now: assign" in err["message"]
    assert result.stderr.startswith("Error: ") and "allowed now: assign" in result.stderr


def test_missing_fields_exit_3_and_are_listed(hz):
    """assign without the five implementations exits 3 and the JSON error lists every missing field."""
    case_id = reported(hz)
    result = hz("case", "advance", case_id, "assign", "--set", "measures=加装报警", "--json", actor="zhang")
    assert result.exit_code == 3
    err = json.loads(result.stdout)["error"]
    assert err["rule"] == "requires"
    assert err["missing"] == ["responsible_unit", "responsible_person", "funds", "deadline", "emergency_plan"]


def test_separation_of_duties_exits_3(hz):
    """The supervisor who submitted may not verify: exit 3 naming actor_differs_from."""
    case_id = reported(hz)
    for trigger, actor, extra in [("assign", "zhang", SETS), ("start", "ent", []), ("submit", "zhang", [])]:
        if trigger == "submit":
            hz("case", "attach", case_id, str(PHOTO), "--kind", "rectified", actor=actor)
        hz("case", "advance", case_id, trigger, *extra, actor=actor)
    result = hz("--json", "case", "advance", case_id, "verify", "--set", "opinion=合格", actor="zhang")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["rule"] == "actor_differs_from"
    assert hz("case", "advance", case_id, "verify", "--set", "opinion=合格", actor="liu").exit_code == 0


def test_permission_denied_exits_4(hz):
    """An unregistered actor, a wrong role and a foreign region each exit 4 with their rule."""
    case_id = reported(hz)
    for actor, rule in [("nobody", "registered"), ("ent", "role"), ("far", "in_region")]:
        result = hz("--json", "case", "advance", case_id, "assign", *SETS, actor=actor)
        assert result.exit_code == 4, result.output
        err = json.loads(result.stdout)["error"]
        assert (err["type"], err["rule"]) == ("PermissionDenied", rule)
        assert result.stderr.startswith("Error: ")


def test_no_actor_exits_4(hz):
    """Advancing with no --actor and no HAZARD_ACTOR exits 4 and says how to name one."""
    case_id = reported(hz)
    result = hz("case", "advance", case_id, "start")
    assert result.exit_code == 4
    assert "--actor" in result.stderr


def test_unknown_case_exits_5(hz):
    """show, history and advance of an unknown case exit 5; the JSON error names the case."""
    for args in (["case", "show", "HZ-2026-000404"], ["case", "history", "HZ-2026-000404"],
                 ["case", "advance", "HZ-2026-000404", "start"]):
        result = hz("--json", *args, actor="zhang")
        assert result.exit_code == 5, args
        err = json.loads(result.stdout)["error"]
        assert (err["type"], err["kind"], err["key"]) == ("NotFound", "case", "HZ-2026-000404")


def test_expect_version_conflict_exits_6_and_changes_nothing(hz):
    """--expect-version with an outdated version exits 6 and the case keeps its version."""
    case_id = reported(hz)
    hz("case", "advance", case_id, "assign", *SETS, "--expect-version", "1", actor="zhang")
    result = hz("--json", "case", "advance", case_id, "start", "--expect-version", "1", actor="ent")
    assert result.exit_code == 6
    assert json.loads(result.stdout)["error"]["type"] == "Conflict"
    assert json.loads(hz("--json", "case", "show", case_id).stdout)["version"] == 2
    assert hz("case", "advance", case_id, "start", "--expect-version", "2", actor="ent").exit_code == 0


USAGE_ERRORS = [
    ["case", "advance", "HZ-2026-000001", "assign", "--set", "funds"],
    ["case", "advance", "HZ-2026-000001", "assign", "--set", "=15万"],
    ["case", "report", *CASE[:-4], "--level", "minor", "--source", "inspection"],
    ["case", "list", "--level", "huge"],
    ["case", "advance", "HZ-2026-000001", "assign", "--expect-version", "two"],
    ["case", "report", "--title", "t"],
]


def test_usage_errors_exit_2(hz):
    """A --set without '=', a bad --level, a non-number version or missing options exit 2 before anything runs."""
    reported(hz)
    for args in USAGE_ERRORS:
        result = hz(*args, actor="zhang")
        assert result.exit_code == 2, (args, result.output)
        assert "Error" in result.stderr
    assert json.loads(hz("--json", "case", "show", "HZ-2026-000001").stdout)["version"] == 1


def test_unreadable_values_exit_2_naming_the_field(hz):
    """A bad date, an unreadable amount or an unknown field exits 2, and the JSON error names the field."""
    reported(hz)
    cases = [(["--set", "deadline=2026-02-30"], "deadline"), (["--set", "funds=很多"], "funds"),
             (["--set", "colour=red"], "colour")]
    for extra, field in cases:
        others = [arg for name, value in FIVE.items() if name != field for arg in ("--set", f"{name}={value}")]
        result = hz("--json", "case", "advance", "HZ-2026-000001", "assign", *others, *extra, actor="zhang")
        assert result.exit_code == 2, result.output
        err = json.loads(result.stdout)["error"]
        assert (err["type"], err["field"]) == ("InvalidInput", field)


def test_report_with_a_bad_region_exits_2(hz):
    """A 5-digit region on report is invalid input: exit 2, no case made."""
    args = [a if a != "371721" else "37172" for a in CASE]
    result = hz("--json", "case", "report", *args, actor="ent")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["field"] == "region"
    assert json.loads(hz("--json", "case", "list").stdout) == []


def test_a_bad_now_exits_2(hz):
    """An unreadable --now is a usage-level error (exit 2) that names the value."""
    result = hz("case", "list", now="next tuesday")
    assert result.exit_code == 2
    assert "next tuesday" in result.stderr


def test_usage_error_with_json_prints_a_json_error(hz):
    """With --json, even a usage error such as --set without '=' prints one JSON error document on stdout."""
    case_id = reported(hz)
    result = hz("--json", "case", "advance", case_id, "assign", "--set", "funds", actor="zhang")
    assert result.exit_code == 2
    assert "error" in json.loads(result.stdout)


# -- environment -------------------------------------------------------------------------------------------

def test_environment_variables_stand_in_for_the_options(db_url):
    """HAZARD_DB, HAZARD_ACTOR and HAZARD_NOW work like --db, --actor and --now."""
    runner = CliRunner(env={"HAZARD_DB": db_url, "HAZARD_ACTOR": "ent", "HAZARD_NOW": "2026-03-05T14:00"})
    assert runner.invoke(cli, ["init", "--admin", "li", "--region", "37"]).exit_code == 0
    assert runner.invoke(cli, ["--actor", "li", "user", "add", "ent", "--role", "enterprise",
                               "--region", "371721"]).exit_code == 0
    result = runner.invoke(cli, ["case", "report", *CASE])
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    (event,) = json.loads(runner.invoke(cli, ["--json", "case", "history", case_id]).stdout)
    assert (event["actor"], event["at"]) == ("ent", "2026-03-05T14:00:00+08:00")
    other = runner.invoke(cli, ["--actor", "ghost", "case", "advance", case_id, "start"])
    assert other.exit_code == 4 and "ghost" in other.stderr


# -- lists -------------------------------------------------------------------------------------------------

def test_list_table_aligns_chinese_text_and_shows_full_ids(hz):
    """The human `case list` keeps every column at the same display width on each row, Chinese text included."""
    rows = [("某化工有限公司", "液氨储罐区未设置泄漏报警装置"), ("ACME", "粉尘涉爆除尘系统未设置锁气卸灰装置"),
            ("菏泽市牡丹区某某某某某某某某某某金属制品有限责任公司", "短标题")]
    ids = []
    for enterprise, title in rows:
        args = list(CASE)
        args[args.index("--enterprise") + 1], args[args.index("--title") + 1] = enterprise, title
        result = hz("case", "report", *args, actor="ent")
        assert result.exit_code == 0, result.output
        ids.append(result.stdout.strip())
    result = hz("case", "list", "--wide")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "enterprise" in line and "title" in line)
    title_at = cell_len(header[:header.index("title")])
    state_at = cell_len(header[:header.index("state")])
    for case_id, (enterprise, title) in zip(ids, rows):
        (line,) = [l for l in lines if case_id in l]
        assert cell_len(line[:line.index(title)]) == title_at, line
        assert cell_len(line[:line.index("reported")]) == state_at, line
        assert enterprise in line


def test_list_filters_and_overdue_at_the_engine_time(hz):
    """`case list --overdue` shows an assigned case once --now is past its deadline, and --state/--region filter."""
    case_id = reported(hz)
    other = reported(hz)
    hz("case", "advance", case_id, "assign", *SETS, actor="zhang")
    listed = lambda *args, now=NOW: [c["id"] for c in json.loads(hz("--json", "case", "list", *args, now=now).stdout)]
    assert listed("--overdue") == []
    assert listed("--overdue", now="2026-04-30T23:59") == []
    assert listed("--overdue", now="2026-05-01T00:00") == [case_id]
    doc = json.loads(hz("--json", "case", "show", case_id, now="2026-05-01T08:00").stdout)
    assert doc["overdue"] is True
    assert listed("--state", "reported") == [other]
    assert listed("--region", "3717") == [case_id, other]
    assert listed("--region", "4101") == []
    human = hz("case", "list", "--overdue", now="2026-05-02")
    assert case_id in human.stdout and "overdue" in human.stdout and other not in human.stdout


# -- help --------------------------------------------------------------------------------------------------

def test_help_lists_the_commands(runner):
    """`hazard --help` lists init, user, workflow and case, and mentions the exit codes."""
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:")[1]
    for name in ("init", "user", "workflow", "case"):
        assert f"\n  {name} " in commands, name
    words = " ".join(result.stdout.split())
    for code in ("3 refused", "4 permission denied", "5 not found", "6 conflict"):
        assert code in words


@pytest.mark.parametrize("sub", ["report", "advance", "show", "list", "history", "extend"])
def test_every_case_command_has_help(runner, sub):
    """Each `hazard case` subcommand has help text that shows its usage."""
    result = runner.invoke(cli, ["case", sub, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and f" case {sub} " in result.stdout.splitlines()[0]


def test_hazard_json_0_means_no_json_for_errors_too(hz, db_url):
    """With HAZARD_JSON=0 an error is reported like a success would be: no JSON document on stdout."""
    runner = CliRunner(env={"HAZARD_JSON": "0"})
    ok = runner.invoke(cli, ["--db", db_url, "case", "list"])
    assert ok.exit_code == 0 and not ok.stdout.lstrip().startswith("[")
    missing = runner.invoke(cli, ["--db", db_url, "case", "show", "HZ-2026-000404"])
    assert missing.exit_code == 5
    assert missing.stdout == ""


def test_report_picks_the_workflow_from_the_level(hz):
    """Without --workflow, a general hazard runs general-hazard and a major one major-hazard."""
    args = [a if a != "major" else "general" for a in CASE]
    general = json.loads(hz("--json", "case", "report", *args, actor="wang").stdout)
    major = json.loads(hz("--json", "case", "report", *CASE, actor="wang").stdout)
    assert (general["workflow"], general["level"]) == ("general-hazard", "general")
    assert (major["workflow"], major["level"]) == ("major-hazard", "major")
