"""Credentials (issue 12): API tokens stored as hashes, revocable and expiring by the real clock, and argon2
passwords the web console logs in with; who may issue them. Store tests run on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from engine.domain import credentials, grants
from engine.app import Engine
from engine.domain.clock import FixedClock, parse_time
from engine.domain.errors import InvalidInput, NotFound, PermissionDenied


@pytest.fixture
def engine(seeded_url, store, clock):
    """The seeded database with a real-time clock of its own, so expiry can be played forward."""
    recorded = FixedClock(parse_time("2026-03-02T09:00"))
    hz = Engine(store, clock=clock, recorded_clock=recorded, trust_backdating=True)
    yield hz
    hz.close()


def _refusal(call) -> str:
    with pytest.raises(PermissionDenied) as caught:
        call()
    return caught.value.rule


def test_a_token_names_its_user_and_is_stored_only_as_a_hash(engine):
    """The token authenticates zhang; neither the tables nor the users' log hold its secret."""
    issued, expires = engine.commands.issue_token("zhang", actor="li")
    assert expires is None and issued.text.startswith("hzt_" + issued.token_id + "_")
    assert engine.commands.authenticate("zhang", issued.text).name == "zhang"
    secret = credentials.parse_token(issued.text)[1]
    with engine.store.read() as conn:
        dump = " ".join(str(row) for table in ("user_token", "user_grant", "setting")
                        for row in conn.execute(text(f"SELECT * FROM {table}")))
    assert secret not in dump and issued.text not in dump and issued.token_id in dump


def test_every_wrong_token_is_refused_with_its_reason(engine):
    """No token, garbage, another user's token, a revoked one, an expired one, a disabled user: each refused."""
    zhang, _ = engine.commands.issue_token("zhang", actor="zhang")
    liu, _ = engine.commands.issue_token("liu", actor="li", expires_days=1)
    assert _refusal(lambda: engine.commands.authenticate("zhang", None)) == "token-missing"
    assert _refusal(lambda: engine.commands.authenticate("zhang", "let me in")) == "token-wrong"
    forged = zhang.text[:-4] + ("AAAA" if not zhang.text.endswith("AAAA") else "BBBB")
    assert _refusal(lambda: engine.commands.authenticate("zhang", forged)) == "token-wrong"
    assert _refusal(lambda: engine.commands.authenticate("zhang", liu.text)) == "token-wrong"
    engine.recorded_clock.advance(days=1, seconds=1)
    assert _refusal(lambda: engine.commands.authenticate("liu", liu.text)) == "token-expired"
    assert engine.commands.revoke_tokens("zhang", actor="li") == [zhang.token_id]
    assert _refusal(lambda: engine.commands.authenticate("zhang", zhang.text)) == "token-revoked"
    fresh, _ = engine.commands.issue_token("zhang", actor="li")
    engine.commands.disable_user("zhang", actor="li")
    assert _refusal(lambda: engine.commands.authenticate("zhang", fresh.text)) == "disabled"


def test_expiry_counts_on_the_real_clock_not_the_engine_time(engine):
    """A token issued with a back-dated engine time still lasts its days from when it was really issued."""
    issued, expires = engine.commands.issue_token("zhang", actor="li", expires_days=2, now="2020-01-01")
    assert expires == engine.recorded_clock.now() + timedelta(days=2)
    assert engine.commands.authenticate("zhang", issued.text).name == "zhang"


def test_only_the_user_or_their_committee_handles_their_credentials(engine):
    """liu may not issue a token for, set the password of, or revoke the tokens of zhang; zhang and li may."""
    for call in (lambda: engine.commands.issue_token("zhang", actor="liu"),
                 lambda: engine.commands.set_password("zhang", "long enough", actor="liu"),
                 lambda: engine.commands.revoke_tokens("zhang", actor="liu")):
        assert _refusal(call) == "role"
    with pytest.raises(NotFound):
        engine.commands.revoke_tokens("zhang", actor="zhang", token_id="000000000000")
    with pytest.raises(InvalidInput):
        engine.commands.issue_token("zhang", actor="zhang", expires_days=0)


def test_a_password_logs_in_and_is_stored_as_argon2id(engine):
    """zhang's password logs zhang in; a wrong one, an unknown name and a disabled user are refused."""
    engine.commands.set_password("zhang", "液氨储罐 2026", actor="zhang")
    assert engine.commands.login("zhang", "液氨储罐 2026").name == "zhang"
    with engine.store.read() as conn:
        (stored,) = conn.execute(text("SELECT password_hash FROM user_password WHERE name = 'zhang'")).one()
    assert stored.startswith("$argon2id$") and "液氨" not in stored
    assert _refusal(lambda: engine.commands.login("zhang", "液氨储罐 2027")) == "login"
    assert _refusal(lambda: engine.commands.login("nobody", "液氨储罐 2026")) == "login"
    engine.commands.disable_user("zhang", actor="li")
    assert _refusal(lambda: engine.commands.login("zhang", "液氨储罐 2026")) == "disabled"


@pytest.mark.parametrize("password", ["short", "x" * 257, "tab\there!", "nul\x00byte!"])
def test_a_password_is_bounded_and_printable(engine, password):
    """Too short, too long, or with control characters: refused before anything is stored."""
    with pytest.raises(InvalidInput):
        engine.commands.set_password("zhang", password, actor="zhang")
    assert _refusal(lambda: engine.commands.login("zhang", password)) == "login"


@given(st.text(max_size=120))
def test_any_text_given_as_a_token_is_parsed_or_refused_never_raises(text_given):
    """The token parser takes any text: an (id, secret) pair for our form, None for everything else."""
    parsed = credentials.parse_token(text_given)
    assert parsed is None or (len(parsed[0]) == 12 and len(parsed[1]) == 43)


@given(st.text(max_size=80))
def test_any_user_name_is_accepted_or_refused_as_invalid_input(name):
    """A user name is one word of at most 64 characters and not reserved, or InvalidInput; nothing else."""
    try:
        checked = grants.check_name(name)
    except InvalidInput:
        return
    assert 1 <= len(checked) <= 64 and checked.lower() not in grants.RESERVED_NAMES
    assert not any(c.isspace() or c == "," or ord(c) < 32 for c in checked)


def test_issued_tokens_differ_and_parse_back():
    """Two tokens never repeat; each parses to its own id and a secret whose hash is the stored one."""
    first, second = credentials.issue_token(), credentials.issue_token()
    assert first.text != second.text and first.token_id != second.token_id
    token_id, secret = credentials.parse_token(first.text)
    assert token_id == first.token_id and credentials.token_matches(first.stored_hash, secret)
    assert first.text not in repr(first)
