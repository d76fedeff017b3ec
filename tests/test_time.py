"""Time cannot be forged forward (issue 12): no write takes effect later than its recording time beyond
FUTURE_SKEW, in the engine (so the Python API is covered) and through the CLI; back-filling stays possible;
drills run on a database made for them, which says so. Store tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.app import Engine
from engine.domain.clock import FixedClock, parse_time
from engine.domain.errors import Refused
from engine.app.unit import FUTURE_SKEW
from tests.conftest import FIVE, rectified, report, run_to

REAL = parse_time("2026-06-01T09:00")   # the recording clock of the engine-level tests
DRILL = "DRILL DATABASE: times may be in the future"


@pytest.fixture
def engine(seeded_url, store, clock):
    """The seeded database, its real time fixed at REAL, so 'the future' does not depend on today's date."""
    hz = Engine(store, clock=clock, recorded_clock=FixedClock(REAL), trust_backdating=True)
    yield hz
    hz.close()


def _future(call) -> Refused:
    with pytest.raises(Refused) as caught:
        call()
    assert caught.value.rule == "future"
    return caught.value


def test_a_step_dated_in_the_future_is_refused_and_the_case_stays_open_to_real_time(engine):
    """`submit` dated a day ahead is refused, nothing is written, and the real-time steps still work."""
    case = run_to(engine, report(engine).id, "rectifying")
    case, _ = rectified(engine.commands, case.id, actor="ent", now=REAL)  # the evidence a major submit requires
    refused = _future(lambda: engine.commands.advance_case(case.id, "submit", actor="ent", now=REAL + timedelta(days=1)))
    assert "2026-06-02" in refused.message
    assert engine.queries.case(case.id).version == case.version
    after = engine.commands.advance_case(case.id, "submit", actor="ent", now=REAL)
    assert after.state == "verifying"


def test_a_report_an_extension_and_a_grant_in_the_future_are_refused(engine):
    """Every kind of write checks its time: a report, a deadline extension, a user grant, a workflow install."""
    later = REAL + timedelta(days=365)
    before = engine.queries.cases().total
    _future(lambda: report(engine, now=later))
    assert engine.queries.cases().total == before
    case = run_to(engine, report(engine).id, "rectifying")
    _future(lambda: engine.commands.extend_deadline(case.id, actor="zhang", until="2027-12-31", reason="x", now=later))
    _future(lambda: engine.commands.add_user("zhao", roles=["supervisor"], regions=["3717"], actor="li", now=later))
    _future(lambda: engine.commands.install_definitions([], actor="li", now=later))
    assert "zhao" not in [a.name for a in engine.queries.users()]


def test_back_filling_and_a_clock_a_little_ahead_are_accepted(engine):
    """A past time is a back-fill and is taken; so is a time within FUTURE_SKEW of the real one."""
    case = report(engine, now="2025-01-10T09:00")
    assert case.found_at < REAL
    ahead = report(engine, now=REAL + FUTURE_SKEW - timedelta(seconds=1))
    assert ahead.version == 1
    _future(lambda: report(engine, now=REAL + FUTURE_SKEW + timedelta(seconds=1)))


def test_a_sweep_in_the_future_is_refused_and_fires_nothing(engine):
    """`sweep(now=2099)` is refused before it claims a rung; a dry run at that time only shows what would fire."""
    case = run_to(engine, report(engine).id, "rectifying")
    _future(lambda: engine.sweep(now=parse_time("2099-12-31")))
    assert engine.queries.case(case.id).version == case.version
    with engine.store.read() as conn:
        from sqlalchemy import text
        claimed = conn.execute(text("SELECT COUNT(*) FROM rung WHERE claimed_by IS NOT NULL OR status NOT IN ('pending', 'cancelled')"))
        assert claimed.scalar() == 0
    preview = engine.sweep(now=parse_time("2099-12-31"), dry_run=True)
    assert preview.fired and engine.queries.case(case.id).version == case.version


# -- through the CLI, on the real clock ----------------------------------------------------------------------------

def _hz(runner, url, *args, now=None, actor=None):
    head = ["--db", url] + (["--now", now] if now else []) + (["--actor", actor] if actor else [])
    return runner.invoke(cli, head + list(args))


def test_the_cli_refuses_2099_for_an_advance_and_for_a_sweep(runner, seeded_url, service):
    """`--now 2099-01-01 case advance ... submit` and `escalate --now 2099-12-31` exit 3 with rule `future`."""
    case = run_to(service, report(service).id, "rectifying")
    case, _ = rectified(service, case.id)  # the evidence a major submit requires
    result = _hz(runner, seeded_url, "--json", "case", "advance", case.id, "submit", now="2099-01-01", actor="ent")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["rule"] == "future"
    assert "--drill" in result.stderr
    result = _hz(runner, seeded_url, "escalate", now="2099-12-31")
    assert result.exit_code == 3 and "future" not in result.stdout
    assert _hz(runner, seeded_url, "escalate", "--dry-run", now="2099-12-31").exit_code == 0
    assert service.queries.case(case.id).state == "rectifying"
    assert _hz(runner, seeded_url, "case", "advance", case.id, "submit", actor="ent").exit_code == 0


def test_a_drill_database_takes_future_times_and_says_so_everywhere(tmp_path):
    """`init --drill` makes a database where 2099 is allowed; every command says DRILL on stderr, and the
    case and sweep documents carry `"drill": true`."""
    url = f"sqlite:///{tmp_path / 'drill.db'}"
    runner = CliRunner()
    made = _hz(runner, url, "init", "--drill", "--admin", "li", "--region", "37")
    assert made.exit_code == 0 and DRILL in made.stderr
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717")):
        assert DRILL in _hz(runner, url, "user", "add", name, "--role", role, "--region", region, actor="li").stderr
    reported = _hz(runner, url, "--json", "case", "report", "--title", "演练隐患", "--enterprise", "演练企业",
                   "--region", "371721", "--industry", "工贸", "--level", "major", "--source", "inspection",
                   now="2099-01-01", actor="ent")
    assert reported.exit_code == 0, reported.output
    doc = json.loads(reported.stdout)
    assert doc["drill"] is True and DRILL in reported.stderr
    sets = [a for k, v in {**FIVE, "deadline": "2099-01-31"}.items() for a in ("--set", f"{k}={v}")]
    assert _hz(runner, url, "case", "advance", doc["id"], "assign", *sets, now="2099-01-02", actor="zhang").exit_code == 0
    swept = _hz(runner, url, "--json", "escalate", now="2099-03-01")
    assert swept.exit_code == 0 and json.loads(swept.stdout)["drill"] is True
    shown = _hz(runner, url, "--json", "case", "show", doc["id"], now="2099-03-01")
    assert json.loads(shown.stdout)["drill"] is True and DRILL in shown.stderr


def test_a_database_in_use_cannot_become_a_drill_database(runner, seeded_url):
    """`init --drill` on a database that holds users is refused (exit 3, rule drill); 2099 stays refused."""
    result = _hz(runner, seeded_url, "--json", "init", "--drill", actor="li")
    assert result.exit_code == 3 and json.loads(result.stdout)["error"]["rule"] == "drill"
    assert DRILL not in result.stderr
    assert _hz(runner, seeded_url, "escalate", now="2099-12-31").exit_code == 3


def test_an_ordinary_database_says_nothing_about_drills(runner, seeded_url):
    """Outside a drill database no command prints the drill line nor adds the key."""
    result = _hz(runner, seeded_url, "--json", "escalate")
    assert result.exit_code == 0 and DRILL not in result.stderr and "drill" not in json.loads(result.stdout)
