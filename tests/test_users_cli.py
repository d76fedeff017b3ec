"""Who may act, as a user types it (issue 12): `hazard user ...`, `init --admin/--require-token`, tokens on
the command line, and the committee commands. Each test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli.main import cli
from engine.store.database import Store

CASE = ["case", "report", "--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司", "--region",
        "371721", "--industry", "危险化学品", "--level", "major", "--source", "inspection"]
MAJOR = Path(__file__).parent.parent / "workflows" / "major-hazard.yaml"


@pytest.fixture
def hz(seeded_url):
    """`hazard --db URL [--actor] [--token] ARGS` on the seeded database (env given per call)."""
    def invoke(*args, actor=None, token=None, env=None, input=None):
        head = ["--db", seeded_url] + (["--actor", actor] if actor else []) + (["--token", token] if token else [])
        return CliRunner(env=env or {}).invoke(cli, head + list(args), input=input)
    return invoke


def _users(hz) -> dict:
    return {u["name"]: (u["roles"], u["regions"]) for u in json.loads(hz("--json", "user", "list").stdout)}


def _error(result) -> dict:
    return json.loads(result.stdout)["error"]


def test_nobody_adds_a_committee_member_without_being_one(hz):
    """`user add mallory --role committee --region 37` with no actor, or as a supervisor, exits 4."""
    assert hz("user", "add", "mallory", "--role", "committee", "--region", "37").exit_code == 4
    result = hz("--json", "user", "add", "sup2b", "--role", "supervisor", "--region", "3717", actor="zhang")
    assert result.exit_code == 4 and "committee" in _error(result)["message"]
    assert "mallory" not in _users(hz) and "sup2b" not in _users(hz)


def test_adding_an_existing_name_is_refused_and_change_is_the_explicit_way(hz):
    """`user add zhang --role committee` exits 6 and changes nothing; `user change` does, as li."""
    result = hz("user", "add", "zhang", "--role", "committee", "--region", "37", actor="li")
    assert result.exit_code == 6 and "user change" in result.stderr
    assert _users(hz)["zhang"] == (["supervisor"], ["3717"])
    assert hz("user", "change", "zhang", "--role", "committee", actor="zhang").exit_code == 4
    assert hz("user", "change", "zhang", "--region", "371721", actor="li").exit_code == 0
    assert _users(hz)["zhang"] == (["supervisor"], ["371721"])


def test_unknown_roles_and_reserved_names_exit_2(hz):
    """`--role god` lists the roles there are; `scheduler` and `system` cannot be user names."""
    result = hz("user", "add", "x", "--role", "god", "--region", "37", actor="li")
    assert result.exit_code == 2 and "inspector" in result.stderr and "auditor" in result.stderr
    for name in ("scheduler", "system"):
        assert hz("user", "add", name, "--role", "supervisor", "--region", "37", actor="li").exit_code == 2
    assert set(_users(hz)) == {"wang", "ent", "zhang", "liu", "li", "far", "audit"}


def test_disable_and_the_users_log(hz):
    """li disables liu; liu can no longer act; `user log` shows who granted what to whom, in order."""
    assert hz("user", "disable", "liu", actor="zhang").exit_code == 4
    assert hz("user", "disable", "liu", actor="li").exit_code == 0
    result = hz("--json", *CASE, actor="liu")
    assert result.exit_code == 4 and _error(result)["rule"] == "disabled"
    log = json.loads(hz("--json", "user", "log").stdout)
    assert [(g["seq"], g["actor"], g["action"], g["subject"]) for g in log][0] == (1, "li", "add", "li")
    assert (log[-1]["actor"], log[-1]["action"], log[-1]["subject"]) == ("li", "disable", "liu")
    assert all(g["hash"] and g["prev_hash"] for g in log)
    table = hz("user", "log", "--wide").stdout
    assert "first administrator" in table and "disable" in table


def test_workflow_install_needs_the_committee(hz):
    """Installing a definition without an actor, or as a supervisor, exits 4; li may (unchanged: a no-op)."""
    assert hz("workflow", "install", str(MAJOR)).exit_code == 4
    assert hz("workflow", "install", str(MAJOR), actor="zhang").exit_code == 4
    assert hz("workflow", "install", str(MAJOR), actor="li").exit_code == 0
    assert hz("calendar", "refresh", "--dry-run", actor="zhang").exit_code == 4
    assert hz("workflow", "migrate", "major-hazard", "--to", "1", "--dry-run", actor="zhang").exit_code == 4


def test_a_database_that_requires_tokens_checks_them_on_every_acting_command(hz):
    """After `init --require-token`, acting needs the actor's own live token; reading needs none."""
    assert hz("init", "--require-token").exit_code == 4            # a setting of a database in use: committee only
    locked = hz("--json", "init", "--require-token", actor="li")    # li would lock themself out
    assert locked.exit_code == 3 and _error(locked)["rule"] == "lockout"
    li = hz("user", "token", "li", actor="li").stdout.strip()
    assert hz("init", "--require-token", actor="li").exit_code == 0
    result = hz("--json", *CASE, actor="ent")
    assert result.exit_code == 4 and _error(result)["rule"] == "token-missing" and "HAZARD_TOKEN" in result.stderr
    assert _error(hz("--json", "user", "token", "ent", actor="li"))["rule"] == "token-missing"
    ent = json.loads(hz("--json", "user", "token", "ent", "--expires", "30", actor="li", token=li).stdout)
    assert ent["token"].startswith("hzt_") and ent["expires_at"]
    assert hz(*CASE, actor="ent", env={"HAZARD_TOKEN": ent["token"]}).exit_code == 0
    assert _error(hz("--json", *CASE, actor="ent", token=li))["rule"] == "token-wrong"
    assert hz("case", "list").exit_code == 0
    assert hz("user", "revoke", "ent", "--token", ent["id"], actor="ent", token=ent["token"]).exit_code == 0
    assert _error(hz("--json", *CASE, actor="ent", token=ent["token"]))["rule"] == "token-revoked"
    fresh = hz("user", "token", "ent", actor="li", token=li).stdout.strip()
    assert hz("user", "disable", "ent", actor="li", token=li).exit_code == 0
    assert _error(hz("--json", *CASE, actor="ent", token=fresh))["rule"] == "disabled"


def test_a_new_database_that_requires_tokens_gives_its_administrator_the_first(tmp_path):
    """`init --admin li --require-token` prints li's first token once; without --admin it is refused."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    refused = runner.invoke(cli, ["--db", url, "init", "--require-token"])
    assert refused.exit_code == 3 and "--admin" in refused.stderr
    made = runner.invoke(cli, ["--db", url, "--json", "init", "--admin", "li", "--region", "37", "--require-token"])
    assert made.exit_code == 0, made.output
    doc = json.loads(made.stdout)
    assert doc["settings"] == {"require_token": "true"} and doc["admin_token"].startswith("hzt_")
    add = ["--db", url, "--actor", "li", "user", "add", "ent", "--role", "enterprise", "--region", "371721"]
    assert runner.invoke(cli, add).exit_code == 4
    assert runner.invoke(cli, add, env={"HAZARD_TOKEN": doc["admin_token"]}).exit_code == 0
    again = runner.invoke(cli, ["--db", url, "--json", "init", "--admin", "li", "--region", "37", "--require-token"],
                          env={"HAZARD_TOKEN": doc["admin_token"]})
    assert again.exit_code == 0 and "admin_token" not in json.loads(again.stdout)


def test_a_token_is_printed_once_and_the_log_keeps_only_its_id(hz, seeded_url):
    """`user token` prints the token on stdout; the users' log names the token id, never the token."""
    result = hz("user", "token", "zhang", actor="zhang")
    assert result.exit_code == 0 and "not shown again" in result.stderr
    token = result.stdout.strip()
    log = hz("--json", "user", "log").stdout
    assert token.split("_")[1] in log and token not in log and token.split("_", 2)[2] not in log


def test_a_password_from_stdin_or_asked_twice(hz, seeded_url):
    """`user password zhang --stdin` sets it; asked on the terminal, two different answers set nothing."""
    from engine.app import Engine
    assert hz("user", "password", "zhang", "--stdin", actor="zhang", input="液氨储罐 2026\n").exit_code == 0
    mismatch = hz("user", "password", "zhang", actor="zhang", input="first one\nsecond one\nthird one\nfourth one\n")
    assert mismatch.exit_code != 0
    engine = Engine(Store(seeded_url))
    try:
        assert engine.commands.login("zhang", "液氨储罐 2026").name == "zhang"
    finally:
        engine.close()


def test_audit_verify_exits_10_when_the_users_table_was_edited(hz, seeded_url):
    """Promoting a user in the table by hand is named by `audit verify` as a problem of the users' log."""
    assert hz("audit", "verify").exit_code == 0
    store = Store(seeded_url)
    with store.write() as conn:
        conn.execute(text("UPDATE app_user SET roles = 'committee' WHERE name = 'ent'"))
    store.dispose()
    result = hz("audit", "verify")
    assert result.exit_code == 10 and "user-log" in result.stdout and "ent" in result.stdout


def test_the_first_user_of_an_empty_register_through_the_cli(tmp_path):
    """On a new database, a first `user add` without committee exits 3 saying why; `init --admin` works."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", url, "init"]).exit_code == 0
    first = runner.invoke(cli, ["--db", url, "user", "add", "ent", "--role", "enterprise", "--region", "371721"])
    assert first.exit_code == 3 and "committee" in first.stderr
    assert runner.invoke(cli, ["--db", url, "init", "--admin", "li", "--region", "37"]).exit_code == 0
    assert runner.invoke(cli, ["--db", url, "init"]).exit_code == 0
    again = runner.invoke(cli, ["--db", url, "init", "--admin", "mallory", "--region", "37"])
    assert again.exit_code == 6


@pytest.mark.parametrize("args,code", [
    (["--admin", "scheduler", "--region", "37"], 2),
    (["--require-token"], 3),
    (["--admin", "li", "--region", "99x"], 2),
], ids=["reserved-admin", "tokens-without-admin", "bad-region"])
def test_a_refused_init_leaves_no_database_file_behind(tmp_path, args, code):
    """A refused `init` left a 200 KB SQLite file with every table: it leaves nothing, and a good one then works."""
    path = tmp_path / "new.db"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{path}", "init", *args])
    assert result.exit_code == code, result.output
    assert list(tmp_path.iterdir()) == []
    good = CliRunner().invoke(cli, ["--db", f"sqlite:///{path}", "init", "--admin", "li", "--region", "37"])
    assert good.exit_code == 0, good.output
    assert path.exists()
