"""Who may act (issue 12): the first administrator, committee-only grants over the user's regions, a closed
vocabulary of roles, reserved names, no silent rewrite of a user, disabling, and the users table as the
projection of the hash-chained users' log. Each test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.domain import grants
from engine.app import Engine
from engine.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused
from engine.store import users as user_store
from tests.conftest import FIVE, report


@pytest.fixture
def fresh(store, clock):
    """An engine on an initialised database with nobody registered yet."""
    engine = Engine(store, clock=clock, trust_backdating=True)
    engine.init()
    yield engine
    engine.close()


def names(engine) -> list[str]:
    return [a.name for a in engine.queries.users()]


# -- the first administrator ---------------------------------------------------------------------------------------

def test_the_first_user_must_be_an_administrator(fresh):
    """On a database without users a first user without the committee role is refused; one with it needs no actor."""
    with pytest.raises(Refused) as caught:
        fresh.commands.add_user("ent", roles=["enterprise"], regions=["371721"])
    assert caught.value.rule == "first-admin" and "committee" in caught.value.message
    assert names(fresh) == []
    fresh.commands.add_user("li", roles=["committee"], regions=["37"])
    with pytest.raises(PermissionDenied) as caught:
        fresh.commands.add_user("ent", roles=["enterprise"], regions=["371721"])
    assert caught.value.rule == "actor"
    assert names(fresh) == ["li"]


def test_init_makes_the_first_administrator_once(fresh):
    """`init(admin=)` on a database without users adds the administrator; again it is a no-op; another name conflicts."""
    fresh.init(admin="li", admin_regions=["37"])
    fresh.init(admin="li", admin_regions=["37"])
    assert [(a.name, a.roles, a.regions) for a in fresh.queries.users()] == [("li", ("committee",), ("37",))]
    with pytest.raises(Conflict) as caught:
        fresh.init(admin="mallory", admin_regions=["37"])
    assert caught.value.rule == "first-admin"
    assert names(fresh) == ["li"]


# -- granting needs the committee over the user's regions ----------------------------------------------------------

def test_adding_a_user_needs_a_committee_actor(service):
    """No actor, or a supervisor, may not add a user (the alias that would bypass separation of duties)."""
    with pytest.raises(PermissionDenied) as caught:
        service.commands.add_user("mallory", roles=["committee"], regions=["37"])
    assert caught.value.rule == "actor"
    with pytest.raises(PermissionDenied) as caught:
        service.commands.add_user("zhang2", roles=["supervisor"], regions=["3717"], actor="zhang")
    assert caught.value.rule == "role"
    assert "mallory" not in names(service) and "zhang2" not in names(service)
    service.commands.add_user("zhao", roles=["supervisor"], regions=["3717"], actor="li")
    assert "zhao" in names(service)


def test_the_committee_must_cover_every_region_of_the_user(service):
    """A city committee (3717) may add a county user, not a provincial one nor one with a region outside."""
    service.commands.add_user("heze", roles=["committee"], regions=["3717"], actor="li")
    service.commands.add_user("county", roles=["inspector"], regions=["371721"], actor="heze")
    for regions in (["37"], ["371721", "3716"]):
        with pytest.raises(PermissionDenied) as caught:
            service.commands.add_user("wide", roles=["inspector"], regions=regions, actor="heze")
        assert caught.value.rule == "in_region"
    assert "wide" not in names(service)


def test_an_existing_user_is_not_silently_rewritten(service):
    """Adding a name that exists is a Conflict and leaves the user as they were."""
    with pytest.raises(Conflict) as caught:
        service.commands.add_user("zhang", roles=["committee"], regions=["37"], actor="li")
    assert caught.value.rule == "user-exists"
    (zhang,) = [a for a in service.queries.users() if a.name == "zhang"]
    assert (zhang.roles, zhang.regions) == (("supervisor",), ("3717",))


def test_a_change_is_explicit_and_needs_the_committee_over_old_and_new_regions(service):
    """li changes zhang's regions; a city committee may neither take in `far` of 4101 nor promote itself."""
    changed = service.commands.change_user("zhang", regions=["3717", "3716"], actor="li")
    assert (changed.roles, changed.regions) == (("supervisor",), ("3717", "3716"))
    service.commands.add_user("heze", roles=["committee"], regions=["3717"], actor="li")
    with pytest.raises(PermissionDenied):
        service.commands.change_user("far", regions=["3717"], actor="heze")
    with pytest.raises(PermissionDenied):
        service.commands.change_user("heze", regions=["37"], actor="heze")
    with pytest.raises(NotFound):
        service.commands.change_user("nobody", roles=["supervisor"], actor="li")


def test_roles_come_from_the_closed_vocabulary(service):
    """A role outside the vocabulary (`god`, the engine's own `system`) is refused, naming the roles there are."""
    for role in ("god", "system"):
        with pytest.raises(InvalidInput) as caught:
            service.commands.add_user("x", roles=[role], regions=["37"], actor="li")
        assert "inspector" in caught.value.message and "committee" in caught.value.message
    assert service.commands.add_user("x", roles=["安委办"], regions=["37"], actor="li")[0].roles == ("committee",)


@pytest.mark.parametrize("name", ["system", "scheduler", "Scheduler", "", "a b", "x,y", "-dash",
                                  "Ｓcheduler", "scheduler.", "sys_tem", "SYSTEM"])
def test_reserved_and_malformed_names_are_refused(service, name):
    """The engine's own names and names that are not one word cannot be registered."""
    with pytest.raises(InvalidInput):
        service.commands.add_user(name, roles=["supervisor"], regions=["37"], actor="li")


def test_the_scheduler_name_is_the_reserved_one():
    """The name the sweep's events carry is among the reserved names, so no user can pass for it."""
    from engine.app.unit import SYSTEM
    assert SYSTEM.name in grants.RESERVED_NAMES


# -- disabling --------------------------------------------------------------------------------------------------

def test_a_disabled_user_may_no_longer_act_and_their_name_stays_taken(service):
    """After `disable`, liu's commands are refused as disabled, the list drops liu, and re-adding conflicts."""
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="liu", fields=FIVE)
    service.commands.disable_user("liu", actor="li")
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(case.id, "start", actor="liu")
    assert caught.value.rule == "disabled"
    with pytest.raises(PermissionDenied) as caught:
        report(service, actor="liu")
    assert caught.value.rule == "disabled"
    assert "liu" not in names(service)
    assert [e.actor for e in service.queries.history(case.id)] == ["ent", "liu"]
    with pytest.raises(Conflict):
        service.commands.add_user("liu", roles=["supervisor"], regions=["3717"], actor="li")
    with pytest.raises(PermissionDenied):
        service.commands.disable_user("zhang", actor="liu")


def test_the_only_administrator_of_a_province_stays_while_a_city_one_remains(service):
    """li (committee over 37) demoted himself because a city's committee member (3717) remained: then nobody
    could administer the province's other cities. Refused; giving up only what another covers is fine."""
    service.commands.add_user("city", roles=["committee"], regions=["3717"], actor="li")
    with pytest.raises(Refused, match="over 37") as caught:
        service.commands.change_user("li", roles=["supervisor"], actor="li")
    assert caught.value.rule == "last-admin"
    with pytest.raises(Refused, match="over 37"):
        service.commands.change_user("li", regions=["3717"], actor="li")
    with pytest.raises(Refused, match="over 37"):
        service.commands.disable_user("li", actor="li")
    service.commands.change_user("city", roles=["supervisor"], actor="li")  # li still covers 3717
    assert "city" in names(service)


def test_disabling_needs_the_committee_over_the_user(service):
    """A supervisor may not disable a colleague."""
    with pytest.raises(PermissionDenied):
        service.commands.disable_user("liu", actor="zhang")
    assert "liu" in names(service)


def test_the_last_administrator_stays(service):
    """li may neither disable nor demote the roster's only committee member; with a second one, li may go."""
    with pytest.raises(Refused) as caught:
        service.commands.disable_user("li", actor="li")
    assert caught.value.rule == "last-admin"
    with pytest.raises(Refused):
        service.commands.change_user("li", roles=["supervisor"], actor="li")
    service.commands.add_user("li2", roles=["committee"], regions=["37", "41"], actor="li")
    service.commands.disable_user("li", actor="li2")
    assert "li" not in names(service)


# -- the log and its projection ----------------------------------------------------------------------------------

def _churn(service) -> None:
    service.commands.add_user("zhao", roles=["supervisor", "inspector"], regions=["3717"], actor="li")
    service.commands.change_user("zhao", roles=["supervisor"], regions=["371721", "371722"], actor="li")
    token, _ = service.commands.issue_token("zhao", actor="li", expires_days=30)
    service.commands.issue_token("zhao", actor="zhao")
    service.commands.set_password("zhao", "correct horse", actor="zhao")
    service.commands.set_password("zhao", "battery staple", actor="li")
    service.commands.revoke_tokens("zhao", actor="zhao", token_id=token.token_id)
    service.commands.disable_user("liu", actor="li")


def test_the_users_table_is_the_fold_of_the_log(service):
    """After adds, changes, tokens, passwords, a revoke and a disable, the tables equal the fold of the log."""
    _churn(service)
    with service.store.read() as conn:
        log = user_store.grants(conn)
        stored = user_store.projection(conn)
    roster, misfits = grants.fold(log)
    assert misfits == [] and grants.verify_grants(log, head=(log[-1].seq, log[-1].hash)) == []
    assert {a.name: (a.roles, a.regions) for a in roster.accounts.values() if a.active} == \
        {name: (roles, regions) for name, (roles, regions, *_) in stored["users"].items()}
    assert grants.compare(roster, **stored) == []
    assert [g.action for g in log][-8:] == ["add", "change", "token", "token", "password", "password", "revoke",
                                            "disable"]
    assert (log[-1].actor, log[-1].subject) == ("li", "liu")


class _Undo(Exception):
    """Raised to roll a probing edit back."""


def test_each_direct_edit_of_the_users_tables_breaks_the_log(service):
    """A rewritten grant, a user promoted or added in the table, a forged setting, a revived token, a dropped
    last grant, unreadable data: each is reported as a problem of the users' log, never a crash."""
    from engine.app.accounts import users_log_breaks

    _churn(service)
    edits = [
        "UPDATE user_grant SET roles = 'committee' WHERE seq = 2",
        "UPDATE app_user SET roles = 'committee' WHERE name = 'zhang'",
        "INSERT INTO app_user (name, roles, regions, created_at) VALUES ('mallory', 'committee', '37', "
        "'2026-03-02 01:00:00')",
        "INSERT INTO setting (key, value) VALUES ('drill', 'true')",
        "UPDATE user_token SET revoked_at = NULL",
        "DELETE FROM user_grant WHERE seq = (SELECT MAX(seq) FROM user_grant)",
        "UPDATE user_grant SET data = '[1]' WHERE action = 'token'",
        "UPDATE setting SET value = 'garbage' WHERE key = 'user_log_head'",
    ]
    for edit in edits:
        with pytest.raises(_Undo):
            with service.store.write() as conn:
                assert users_log_breaks(conn) == []
                conn.execute(text(edit))
                found = users_log_breaks(conn)
                raise _Undo
        assert found, edit


def test_audit_verify_names_the_users_log(service):
    """`audit verify` passes on an honest log; after zhang is promoted in the table it names the users' log."""
    _churn(service)
    assert service.audit.verify().breaks == []
    with service.store.write() as conn:
        conn.execute(text("UPDATE app_user SET roles = 'committee' WHERE name = 'zhang'"))
    (found,) = service.audit.verify().breaks
    assert found.case_id == "user-log" and "zhang" in found.problem
