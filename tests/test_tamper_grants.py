"""Users, tokens, passwords and settings grant nothing the users' log did not give: each is checked against the
log when a command loads it, and a row edited outside the engine is refused (exit 10). SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from engine.domain.errors import TamperDetected
from engine.store.tables import settings, user_passwords, user_tokens, users
from tests.conftest import report


def test_a_user_promoted_in_the_table_alone_acts_as_nobody(service):
    """zhang made committee over the whole province in app_user only: his next command is refused."""
    with service.store.write() as conn:
        conn.execute(update(users).where(users.c.name == "zhang").values(roles="committee", regions="37"))
    with pytest.raises(TamperDetected) as caught:
        report(service, actor="zhang")
    assert caught.value.rule == "user" and "zhang" in caught.value.message


def test_a_disabled_user_put_back_in_the_table_is_refused(service):
    service.commands.disable_user("wang", actor="li")
    with service.store.write() as conn:
        conn.execute(users.insert(), [{"name": "wang", "roles": "inspector", "regions": "371721",
                                        "created_at": service.clock.now()}])
    with pytest.raises(TamperDetected):
        report(service, actor="wang")


def test_a_revoked_token_revived_or_a_copied_hash_logs_nobody_in(service):
    first, _ = service.commands.issue_token("zhang", actor="zhang")
    second, _ = service.commands.issue_token("liu", actor="liu")
    service.commands.revoke_tokens("zhang", actor="zhang", token_id=first.token_id)
    with service.store.write() as conn:
        conn.execute(update(user_tokens).where(user_tokens.c.id == first.token_id).values(revoked_at=None))
    with pytest.raises(TamperDetected) as caught:
        service.commands.authenticate("zhang", first.text)
    assert caught.value.rule == "token"
    # liu's token hash copied onto a token of zhang's: liu's secret would open zhang's account
    third, _ = service.commands.issue_token("zhang", actor="zhang")
    with service.store.write() as conn:
        stolen = conn.execute(user_tokens.select().where(user_tokens.c.id == second.token_id)).first().token_hash
        conn.execute(update(user_tokens).where(user_tokens.c.id == third.token_id).values(token_hash=stolen))
    from engine.domain.credentials import parse_token
    secret = parse_token(second.text)[1]
    with pytest.raises(TamperDetected):
        service.commands.authenticate("zhang", f"hzt_{third.token_id}_{secret}")


def test_a_password_hash_copied_in_logs_nobody_in(service):
    service.commands.set_password("zhang", "zhang-pass-2026", actor="zhang")
    service.commands.set_password("liu", "liu-pass-2026", actor="liu")
    with service.store.write() as conn:
        theirs = conn.execute(user_passwords.select().where(user_passwords.c.name == "liu")).first().password_hash
        conn.execute(update(user_passwords).where(user_passwords.c.name == "zhang").values(password_hash=theirs))
    with pytest.raises(TamperDetected):
        service.commands.login("zhang", "liu-pass-2026")


def test_deleting_the_require_token_setting_turns_nothing_off(service):
    from engine.app.accounts import database_settings
    service.commands.issue_token("li", actor="li")
    service.commands.init(require_token=True, actor="li")
    with service.store.write() as conn:
        conn.execute(delete(settings).where(settings.c.key == "require_token"))
    with pytest.raises(TamperDetected) as caught:
        database_settings(service)
    assert caught.value.rule == "setting"


def test_a_forged_drill_setting_takes_no_future_time(service):
    with service.store.write() as conn:
        conn.execute(settings.insert(), [{"key": "drill", "value": "true"}])
    with pytest.raises(TamperDetected):
        report(service, now="2099-01-01T09:00")
