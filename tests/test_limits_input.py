"""Command input that used to break the engine: now InvalidInput (exit 2) naming the input, nothing written.

Fuzzing found `OverflowError` for dates at year 1 or 9999, `decimal.InvalidOperation` for 400 nines,
`funds=1,2,3` stored as 123.00, `UnicodeEncodeError` for a non-UTF-8 byte in an argument, NUL stored by
SQLite but a database error on PostgreSQL, a 10 MB title accepted, a repeated `--set` silently keeping the
last, the historical `+08:05:43` offset for a 1900 `--now`, and `scheduler --interval -1` spinning.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.domain import limits
from engine.domain.clock import iso, local, parse_time
from engine.domain.errors import InvalidInput
from tests.conftest import FIVE, report

HAZARD = Path(sys.executable).with_name("hazard")
NOW = "2026-03-02T09:00"
CASE = ["--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司", "--region", "371721",
        "--industry", "危险化学品", "--level", "major", "--source", "inspection"]


def row_counts(url: str) -> dict:
    """Rows per table: what a refused command must leave exactly as it was."""
    from sqlalchemy import func, select

    from engine.store import tables
    from engine.store.database import Store

    store = Store(url)
    try:
        with store.read() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (tables.cases, tables.events, tables.rungs, tables.users, tables.workflow_versions)}
    finally:
        store.dispose()


@pytest.fixture
def hz(db_url, clock):
    """`hazard --db URL --now NOW ARGS` on a database with users and one reported case (HZ-2026-000001)."""
    from engine.app import Engine
    from engine.store.database import Store

    engine = Engine(Store(db_url), clock=clock, trust_backdating=True)
    engine.init(admin="li", admin_regions=["37"])
    for name, role, region in [("ent", "enterprise", "371721"), ("zhang", "supervisor", "371700")]:
        engine.commands.add_user(name, roles=[role], regions=[region], actor="li")
    report(engine)
    engine.close()
    runner = CliRunner()

    def invoke(*args, actor=None, now=NOW, env=None):
        base = ["--db", db_url] + (["--now", now] if now else []) + (["--actor", actor] if actor else [])
        return runner.invoke(cli, base + list(args), env=env)
    invoke.url = db_url
    return invoke


def refused(hz, *args, actor="zhang", now=NOW, env=None, naming: str) -> dict:
    """Run a command that must be refused with exit 2 and no write; return its JSON error."""
    before = row_counts(hz.url)
    result = hz("--json", *args, actor=actor, now=now, env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    error = json.loads(result.stdout)["error"]
    assert naming in error["message"], error
    assert row_counts(hz.url) == before
    return error


def five_with(**changes) -> list[str]:
    return [arg for name, value in {**FIVE, **changes}.items() for arg in ("--set", f"{name}={value}")]


# -- dates ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31T23:00"])
def test_a_deadline_outside_the_accepted_years_is_refused(hz, day):
    """`--set deadline=` at year 1 or 9999 (an OverflowError before) or just outside 2000-2100: exit 2."""
    error = refused(hz, "case", "advance", "HZ-2026-000001", "assign", *five_with(deadline=day), naming=day)
    assert error["field"] == "deadline" and "outside the years 2000-2100" in error["message"]


def test_extend_until_year_9999_is_refused(hz):
    """`case extend --until 9999-12-31` exits 2 naming --until."""
    assert hz("case", "advance", "HZ-2026-000001", "assign", *five_with(), actor="zhang").exit_code == 0
    error = refused(hz, "case", "extend", "HZ-2026-000001", "--until", "9999-12-31", "--reason", "延期",
                    naming="9999-12-31")
    assert error["field"] == "until"


@pytest.mark.parametrize("args", [
    ["--now", "{t}", "case", "list", "--overdue"],
    ["--now", "{t}", "case", "report", *CASE],
    ["case", "list", "--as-of", "{t}"],
    ["case", "show", "HZ-2026-000001", "--as-of", "{t}"],
    ["audit", "replay", "HZ-2026-000001", "--as-of", "{t}"],
    ["case", "report", *CASE, "--found", "{t}"],
], ids=["now", "now-report", "as-of-list", "as-of-show", "as-of-replay", "found"])
@pytest.mark.parametrize("t", ["0001-01-01", "9999-12-31T23:59", "1900-01-01"])
def test_engine_times_outside_the_accepted_years_are_refused(hz, args, t):
    """--now, --as-of and --found at year 1, 9999 or 1900 exit 2 naming the option."""
    option = args[args.index("{t}") - 1]
    error = refused(hz, *[a.format(t=t) for a in args], actor="ent", now=None, naming=option)
    assert "outside the years 2000-2100" in error["message"]


@pytest.mark.parametrize("args", [
    ["case", "list", "--found-from", "{d}"],
    ["case", "list", "--found-to", "{d}", "--as-of", "2026-03-01"],
    ["case", "list", "--deadline-before", "{d}"],
    ["export", "register.csv", "--found-from", "{d}"],
    ["report", "stats", "--from", "{d}"],
    ["report", "stats", "--from", "2026-01-01", "--to", "{d}"],
    ["report", "bulletin", "--period", "quarter", "--date", "{d}", "--format", "md"],
], ids=["found-from", "found-to-as-of", "deadline-before", "export", "stats-from", "stats-to", "bulletin-date"])
@pytest.mark.parametrize("d", ["0001-01-01", "9999-12-31"])
def test_days_in_filters_and_reports_outside_the_accepted_years_are_refused(hz, args, d, tmp_path, monkeypatch):
    """The register's and the reports' day options at year 1 or 9999 (tracebacks before): exit 2 naming the day."""
    monkeypatch.chdir(tmp_path)
    error = refused(hz, *[a.format(d=d) for a in args], actor="ent", naming=d)
    assert "outside the years 2000-2100" in error["message"]


@pytest.mark.parametrize("t", ["2000-01-01T00:00+14:00", "2100-12-31T23:59:59-12:00"])
def test_a_time_with_an_offset_is_bounded_in_utc8_not_as_written(hz, t):
    """2000-01-01T00:00+14:00 is 1999 in UTC+8 (it made HZ-1999-000001 before); 2100-12-31T23:59-12:00 is 2101."""
    error = refused(hz, "case", "report", *CASE, "--found", t, actor="ent", now=None, naming="--found")
    assert "outside the years 2000-2100" in error["message"]


def test_a_deadline_before_the_case_was_found_is_refused(service):
    """Extending to a deadline before the finding: InvalidInput, nothing written. (The built-in `after_now` guard
    refuses a report's or an assignment's deadline before the engine's time, which is after the finding.)"""
    commands = service.commands
    at = "2026-03-05T10:00"
    case = report(service, found_at="2026-03-05T10:00", now=at)
    commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "deadline": "2026-03-05"}, now=at)
    with pytest.raises(InvalidInput, match="^until: 2026-03-04 is before the case was found \\(2026-03-05 10:00\\)"):
        commands.extend_deadline(case.id, actor="zhang", until="2026-03-04", reason="延期", now=at)
    assert service.queries.case(case.id).version == 2
    assert [c.id for c in service.queries.cases().cases] == [case.id]


def test_a_hazard_cannot_be_found_after_it_is_reported(service):
    """`--found 2100-06-01` made a case no deadline could ever follow; a finding after the report is refused."""
    for found in ("2100-06-01", "2026-03-02T09:01"):
        with pytest.raises(InvalidInput, match="^found: .* is later than the report itself"):
            report(service, found_at=found)
    assert service.queries.cases().cases == []
    assert report(service, found_at="2026-03-02T09:00").found_at == parse_time("2026-03-02T09:00")


def test_times_show_the_fixed_utc_plus_8_of_the_rules_in_every_year():
    """An instant of 1900 or of China's 1986-91 summer time shows +08:00, not +08:05:43 or +09:00."""
    for instant in (datetime(1900, 1, 1, 2, tzinfo=timezone.utc), datetime(1990, 7, 1, 2, tzinfo=timezone.utc),
                    datetime(2026, 7, 1, 2, tzinfo=timezone.utc)):
        assert iso(instant).endswith("T10:00:00+08:00"), iso(instant)
        assert local(instant).utcoffset().total_seconds() == 8 * 3600
    assert parse_time("2026-07-01T10:00").isoformat() == "2026-07-01T10:00:00+08:00"


# -- numbers and text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("funds,naming", [
    ("9" * 400, "400 characters is more than the limit of 100"),
    ("9" * 60, "more than the limit of 1,000,000,000,000 yuan"),
    ("1,2,3", "commas only between groups of three digits"),
    ("12,34", "commas only between groups of three digits"),
    ("1.005", "a fraction of a fen"),
])
def test_an_amount_of_money_is_read_exactly_or_refused(hz, funds, naming):
    """400 nines (InvalidOperation before), a 60-digit sum, `1,2,3` (stored as 123.00 before), a tenth of a fen."""
    error = refused(hz, "case", "advance", "HZ-2026-000001", "assign", *five_with(funds=funds), naming=naming)
    assert error["field"] == "funds"


@pytest.mark.parametrize("funds,stored", [("1,200.50元", "1200.50"), ("15万", "150000.00"), ("1,234,567", "1234567.00"),
                                          ("1.2345万", "12345.00"), ("999999999999.99", "999999999999.99")])
def test_well_written_amounts_are_still_read(service, funds, stored):
    """Thousands separators, 万 and yuan, and amounts just under the limit are kept to the fen."""
    case = report(service)
    after = service.commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "funds": funds})
    assert after.fields["funds"] == stored


def test_a_non_utf8_byte_in_an_argument_exits_2_in_a_real_process(tmp_path):
    """`hazard case report --title $'\\xff'` names the argument and writes nothing (UnicodeEncodeError before)."""
    url = f"sqlite:///{tmp_path / 'hazard.db'}"
    from engine.app import Engine
    from engine.domain.clock import FixedClock
    engine = Engine.open(url, create=True, clock=FixedClock(parse_time(NOW)), trust_backdating=True)
    engine.init(admin="li", admin_regions=["37"])
    engine.commands.add_user("ent", roles=["enterprise"], regions=["371721"], actor="li")
    engine.close()
    before = row_counts(url)
    args = [os.fsencode(str(HAZARD)), b"--db", url.encode(), b"--actor", b"ent", b"case", b"report"]
    args += [a.encode() for a in CASE[2:]] + [b"--title", b"\xff\xfe title"]
    done = subprocess.run(args, capture_output=True, timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"})
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert f"argument {len(args) - 1} (b'\\xff\\xfe title') is not UTF-8 text" in stderr
    assert "Traceback" not in stderr
    assert row_counts(url) == before


def test_a_non_utf8_actor_from_the_environment_exits_2(hz):
    """HAZARD_ACTOR with an undecodable byte reaches no database encoder: exit 2 (UnicodeEncodeError before)."""
    error = refused(hz, "case", "advance", "HZ-2026-000001", "start", actor=None,
                    env={"HAZARD_ACTOR": "ent\udcff"}, naming="not UTF-8 text")
    assert error["type"] == "InvalidInput"


@pytest.mark.parametrize("text", ["液氨\x00储罐", "液氨\x1b[2J储罐", "a\udcffb"], ids=["NUL", "ESC", "surrogate"])
def test_control_characters_and_undecodable_bytes_are_refused_alike_on_both_databases(service, text):
    """NUL was stored by SQLite and a database error (exit 8) on PostgreSQL: now InvalidInput on both, naming
    the field, in a title, a text field or a reason."""
    with pytest.raises(InvalidInput) as caught:
        report(service, title=text)
    assert caught.value.field == "title"
    case = report(service)
    with pytest.raises(InvalidInput) as caught:
        service.commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "measures": text})
    assert caught.value.field == "measures"
    with pytest.raises(InvalidInput):
        service.commands.add_user(f"x{text}", roles=["inspector"], regions=["37"], actor="li")
    assert [c.id for c in service.queries.cases().cases] == [case.id] and service.queries.case(case.id).version == 1


def test_line_breaks_stay_allowed_in_text_fields(service):
    """A measure written over several lines is still a text."""
    case = report(service)
    after = service.commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "measures": "一、加装报警\n二、联锁\t切断"})
    assert after.fields["measures"] == "一、加装报警\n二、联锁\t切断"


@pytest.mark.parametrize("args", [["--title", "\x1b[31m红色"], ["--enterprise", "某\x00公司"]], ids=["ESC", "NUL"])
def test_control_characters_in_any_argument_exit_2(hz, args):
    """The command line refuses control characters in any argument before a command runs."""
    line = CASE + args
    refused(hz, "case", "report", *line, actor="ent", naming="holds the control character")


def test_size_limits_on_title_enterprise_text_fields_and_the_number_of_fields(service):
    """A 10 MB title (accepted before), an over-long enterprise or text field, and too many fields: refused."""
    with pytest.raises(InvalidInput, match="^title: 10,000,000 characters is more than the limit of 2,000"):
        report(service, title="隐" * 10_000_000)
    with pytest.raises(InvalidInput, match="^enterprise: 201 characters"):
        report(service, enterprise="某" * (limits.MAX_NAME_CHARS + 1))
    case = report(service, title="隐" * limits.MAX_TITLE_CHARS)  # at the limit: fine
    with pytest.raises(InvalidInput, match="field 'measures': 20,001 characters"):
        service.commands.advance_case(case.id, "assign", actor="zhang",
                             fields={**FIVE, "measures": "措" * (limits.MAX_TEXT_CHARS + 1)})
    many = {**FIVE, **{f"extra{i}": "x" for i in range(limits.MAX_SET_FIELDS)}}
    with pytest.raises(InvalidInput, match=f"{len(many)} fields given; at most {limits.MAX_SET_FIELDS}"):
        service.commands.advance_case(case.id, "assign", actor="zhang", fields=many)
    assert service.queries.case(case.id).version == 1


def test_a_field_given_twice_is_refused(hz):
    """`--set measures=a --set measures=b` kept the last silently; now exit 2 naming the field and both values."""
    result = hz("--json", "case", "advance", "HZ-2026-000001", "assign", *five_with(), "--set", "measures=b",
                actor="zhang")
    assert result.exit_code == 2
    assert "field 'measures' is given twice ('加装可燃气体泄漏报警装置' and 'b')" in json.loads(result.stdout)["error"]["message"]


@pytest.mark.parametrize("args", [["case", "list", "--limit", "9" * 25], ["escalation", "list", "--limit", "-1"],
                                  ["escalate", "--dry-run", "--limit", "9" * 25],
                                  ["workflow", "show", "major-hazard", "--version", "9" * 25],
                                  ["workflow", "show", "major-hazard", "--version", "-" + "9" * 25],
                                  ["case", "list", "--offset", "9" * 25],
                                  ["case", "advance", "HZ-2026-000001", "start", "--expect-version", "9" * 25]],
                         ids=["case-limit", "negative-limit", "escalate-limit", "version", "negative-version", "offset",
                              "expect-version"])
def test_integers_the_database_cannot_hold_are_usage_errors(hz, args):
    """A 25-digit --limit or --version was an OverflowError from the SQLite driver: now exit 2."""
    refused(hz, *args, naming="is not in the range")


def test_a_dossier_to_a_folder_that_does_not_exist_exits_8(hz, tmp_path):
    """`audit dossier --output` into a missing folder names the path (FileNotFoundError before); exit 8, an output
    error (issue 17), and nothing is written."""
    target = tmp_path / "missing" / "d.html"
    before = row_counts(hz.url)
    result = hz("--json", "audit", "dossier", "HZ-2026-000001", "--output", str(target), actor="zhang", now=NOW)
    assert result.exit_code == 8, result.output
    error = json.loads(result.stdout)["error"]
    assert error["message"].startswith(f"{target}: cannot write") and error["path"] == str(target)
    assert row_counts(hz.url) == before


def test_an_empty_case_id_is_no_case_not_every_case(hz):
    """`case show '' --as-of T` showed the first case of the register (and an IndexError on an empty one)."""
    result = hz("case", "show", "", "--as-of", "2026-04-01")
    assert result.exit_code == 5 and "no case ''" in result.stderr


@pytest.mark.parametrize("url,naming", [("foo://bar", "cannot open foo://bar"),
                                        ("mysql://u:secret@h/x", "cannot open mysql://u:***@h/x"),
                                        ("postgresql://u:secret@h:notaport/x", "is not a database URL")])
def test_a_database_url_that_is_not_ours_never_shows_its_password(url, naming):
    """An unknown dialect or a malformed port is a database error (exit 8) whose message hides the password."""
    result = CliRunner().invoke(cli, ["--db", url, "case", "list"])
    assert result.exit_code == 8 and naming in result.stderr and "secret" not in result.output


def test_an_empty_role_is_refused(service):
    """`user add a --role ''` registered a user with an empty role."""
    with pytest.raises(InvalidInput, match="role: a role is empty"):
        service.commands.add_user("a", roles=[""], regions=["37"], actor="li")


# -- the scheduler -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("interval", ["-1", "nan", "inf", "0", "0.01", "86401"])
def test_scheduler_intervals_out_of_bounds_exit_2_at_once(tmp_path, interval):
    """`hazard scheduler --interval -1` spun at 100% CPU ignoring SIGTERM and `nan` was a traceback: exit 2."""
    # The timeout only keeps a regression from hanging the suite; it is no measurement.
    env = {k: v for k, v in os.environ.items() if k != "HAZARD_NOW"}
    done = subprocess.run([str(HAZARD), "--db", f"sqlite:///{tmp_path / 'h.db'}", "scheduler", "--interval", interval],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert "give seconds from 0.1 to 86400 (one day)" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("interval", [-1.0, float("nan"), 0.0])
def test_the_scheduler_loop_refuses_a_bad_interval_before_starting(interval):
    """`engine.app.scheduler.run` raises InvalidInput instead of handing APScheduler an interval that spins."""
    from engine.app.scheduler import run

    outcome, stop = [], threading.Event()

    def target():
        try:
            run(lambda: {}, interval=interval, log=lambda line: None, stop_event=stop)
            outcome.append("returned")
        except Exception as exc:  # noqa: BLE001 - the test reports whatever came out
            outcome.append(exc)
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    stop.set()
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput), outcome


def test_the_scheduler_logs_when_the_database_is_back():
    """After failed sweeps the first good one logs 'database reachable again after N failed sweeps'."""
    from tests.test_scheduler import Loop, counting_sweep

    calls = []
    loop = Loop(counting_sweep(calls, fail_first=2), interval=0.2, max_backoff=0.4)
    loop.wait_for(lambda: loop.messages("sweep fired="))
    loop.shutdown()
    assert loop.messages("database reachable again") == ["database reachable again after 2 failed sweeps"]
    lines = [line for _, line in loop.lines]
    assert lines.index("database reachable again after 2 failed sweeps") == lines.index(loop.messages("sweep fired=")[0]) - 1
