"""A disabled user can come back (issue 16): `user enable`, a grant of the users' log that `audit verify` folds
and checks like the others, and `user list --all` showing the disabled. Each CLI test runs on SQLite and
PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import text

from engine.domain import grants
from engine.domain.clock import SHANGHAI
from engine.store.database import Store
from tests.conftest import cli_on

NOW = "2026-03-02T09:00"

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    return cli_on(runner, seeded_url, now=NOW)


def _status(hz) -> dict:
    return {u["name"]: u["status"] for u in json.loads(hz("--json", "user", "list", "--all").stdout)}


def test_a_disabled_user_is_listed_with_all_and_comes_back_with_enable(hz):
    """Disabled, liu is refused by `user change` and `user add` (each pointing at `user enable`), hidden by
    `user list`, shown by `user list --all`; enabled, liu acts again with the roles and regions they had."""
    assert hz("user", "disable", "liu", actor="li").exit_code == 0
    change = hz("user", "change", "liu", "--region", "371721", actor="li")
    assert change.exit_code == 3 and "user 'liu' is disabled (`hazard user enable NAME` first)" in change.stderr
    add = hz("user", "add", "liu", "--role", "supervisor", "--region", "3717", actor="li")
    assert add.exit_code == 6 and "exists and is disabled" in add.stderr and "user enable" in add.stderr
    assert "liu" not in [u["name"] for u in json.loads(hz("--json", "user", "list").stdout)]
    assert _status(hz)["liu"] == "disabled" and _status(hz)["zhang"] == "active"
    table = hz("user", "list", "--all").stdout
    assert "status" in table.splitlines()[0] and "disabled" in table

    enabled = hz("--json", "user", "enable", "liu", actor="li")
    assert enabled.exit_code == 0, enabled.output
    assert json.loads(enabled.stdout) == {"name": "liu", "roles": ["supervisor"], "regions": ["3717"],
                                          "enterprise": None, "status": "active"}
    assert _status(hz)["liu"] == "active"
    assert hz("case", "report", "--title", "配电箱未接地", "--enterprise", "甲公司", "--region", "371721",
              "--industry", "工贸", "--level", "general", "--source", "inspection", actor="liu").exit_code == 0
    assert hz("user", "change", "liu", "--region", "371721", actor="li").exit_code == 0
    log = json.loads(hz("--json", "user", "log").stdout)
    assert [g["action"] for g in log if g["subject"] == "liu"] == ["add", "disable", "enable", "change"]
    assert hz("audit", "verify").exit_code == 0


def test_enabling_needs_the_committee_over_the_users_regions_and_a_disabled_user(hz):
    """A supervisor may not enable anyone (exit 4), a committee of Henan (41) not a Shandong user; an active
    user has nothing to enable (exit 3), a name never added is not found (exit 5)."""
    assert hz("user", "disable", "liu", actor="li").exit_code == 0
    assert hz("user", "enable", "liu", actor="zhang").exit_code == 4
    assert hz("user", "add", "henan", "--role", "committee", "--region", "41", actor="li").exit_code == 0
    outside = hz("user", "enable", "liu", actor="henan")
    assert outside.exit_code == 4 and "region 3717 is outside 41" in outside.stderr
    active = hz("user", "enable", "zhang", actor="li")
    assert active.exit_code == 3 and "user 'zhang' is not disabled" in active.stderr
    assert hz("user", "enable", "nobody", actor="li").exit_code == 5
    assert _status(hz)["liu"] == "disabled"


def test_tokens_held_when_disabled_do_not_come_back(hz):
    """Enabling revokes the tokens the user held (a grant after the `enable`): a new one must be issued."""
    old = json.loads(hz("--json", "user", "token", "liu", actor="li").stdout)
    assert hz("user", "disable", "liu", actor="li").exit_code == 0
    assert hz("user", "enable", "liu", actor="li").exit_code == 0
    last = json.loads(hz("--json", "user", "log").stdout)[-1]
    assert (last["action"], last["subject"], last["data"]["tokens"]) == ("revoke", "liu", [old["id"]])
    new = json.loads(hz("--json", "user", "token", "liu", actor="li").stdout)
    assert hz("--json", "init", "--require-token", "--token", json.loads(
        hz("--json", "user", "token", "li", actor="li").stdout)["token"], actor="li").exit_code == 0
    refused = hz("--token", old["token"], "user", "token", "liu", actor="liu")
    assert refused.exit_code == 4 and "revoked" in refused.stderr
    assert hz("--token", new["token"], "user", "token", "liu", actor="liu").exit_code == 0
    assert hz("audit", "verify").exit_code == 0


def test_a_user_row_written_back_without_an_enable_grant_is_named_by_verify(hz):
    """The users table is the log's projection: a disabled user put back directly is caught (exit 10)."""
    assert hz("user", "disable", "liu", actor="li").exit_code == 0
    store = Store(hz.url)
    try:
        with store.write() as conn:
            conn.execute(text("INSERT INTO app_user (name, roles, regions, created_at) VALUES "
                              "('liu', 'supervisor', '3717', :at)"), {"at": datetime(2026, 3, 2, 1, 0)})
    finally:
        store.dispose()
    result = hz("audit", "verify")
    assert result.exit_code == 10 and "user liu: in the table but not in the log" in result.stdout + result.stderr


def test_the_fold_refuses_an_enable_of_a_user_not_disabled():
    """An `enable` grant of an active user fits no roster: the fold names it (as verify reports it)."""
    at = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
    log = [grants.Grant(1, "li", "add", "li", ("committee",), ("37",), at, at),
           grants.Grant(2, "li", "add", "liu", ("supervisor",), ("3717",), at, at),
           grants.Grant(3, "li", "enable", "liu", ("supervisor",), ("3717",), at, at),
           grants.Grant(4, "li", "disable", "liu", ("supervisor",), ("3717",), at, at),
           grants.Grant(5, "li", "enable", "liu", ("supervisor",), ("3717",), at, at)]
    roster, problems = grants.fold(log)
    assert problems == [(3, "enables 'liu', who is not disabled")]
    assert roster.accounts["liu"].active
