"""The anchor covers who may act and by which rules (issue 17): the users' log head and the stored definitions.

The users' log rewritten and re-hashed (zhang's grant made committee, the users table and the log's head set to
match) passed `audit verify`, `audit replay --all` and `audit verify --anchor`, whose line covered the case
chains only. The line now carries the users' log head as of its moment and a digest of the definitions,
calendars and campaigns stored by then; `verify --anchor` names which of them changed. A line of an earlier
release (cases only) still verifies what it covers. Each test runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from cli.main import cli
from engine.domain import anchor
from engine.domain.clock import parse_time
from engine.store import settings as setting_store
from engine.store import users as user_store
from engine.store.tables import user_grants, users, workflow_versions
from tests.conftest import report, run_to

T = parse_time("2026-03-10T12:00")  # the moment the anchor is published at


@pytest.fixture
def published(service):
    """Two major hazards verified by T; the anchor published at T."""
    for i in range(2):
        run_to(service, report(service, title=f"重大隐患 {i}").id, "verified")
    return service.audit.anchor(as_of=T)[0]


def _old_form(line: anchor.Anchor) -> str:
    """The line as an earlier release printed it: cases, events and root only."""
    return replace(line, users=None, definitions=None).line()


def _promote_in_the_log(service, name: str, role: str) -> None:
    """Rewrite `name`'s `add` grant with `role` added to theirs, re-seal every later grant, and set the users table
    and the log's head to match: every link holds, the tables equal the fold of the forged log, and every step
    `name` took in a role they had is still one they hold."""
    with service.store.write() as conn:
        log = user_store.grants(conn)
        forged, prev = [], None
        for grant in log:
            if prev is not None:
                grant = replace(grant, prev_hash=prev)
            if grant.action == "add" and grant.subject == name:
                grant = replace(grant, roles=grant.roles + (role,))
            grant = grant.sealed()
            forged.append(grant)
            prev = grant.hash
        for grant in forged:
            conn.execute(update(user_grants).where(user_grants.c.seq == grant.seq),
                         {"roles": ",".join(grant.roles), "prev_hash": grant.prev_hash, "hash": grant.hash})
        roles = next(g.roles for g in forged if g.action == "add" and g.subject == name)
        conn.execute(update(users).where(users.c.name == name), {"roles": ",".join(roles)})
        setting_store.put(conn, setting_store.HEAD, f"{forged[-1].seq}:{forged[-1].hash}")


def test_the_line_names_the_users_log_head_and_the_definitions_digest_as_of_its_moment(service, published):
    """`users=SEQ:HASH` is the last grant in force at T; `definitions=` a 64-digit digest; the line reads back."""
    with service.store.read() as conn:
        grants = user_store.grants(conn)
    in_force = [g for g in grants if g.at <= T]
    assert published.users == (in_force[-1].seq, in_force[-1].hash)
    assert len(published.definitions) == 64
    line = published.line()
    assert f" users={published.users[0]}:{published.users[1]} definitions={published.definitions}" in line
    assert anchor.parse(line) == published and anchor.parse(line + "。") == published
    assert published.covers == ["cases", "users", "definitions"]


def test_a_users_log_rewritten_and_rehashed_passes_verify_and_replay_but_not_the_anchor(service, published):
    """zhang's grant made committee, the table and the head updated: verify and replay find nothing; the anchor
    says the users' log was rewritten, naming the grant it published."""
    _promote_in_the_log(service, "zhang", "committee")
    assert service.audit.verify().breaks == [] and service.audit.replay_all().disagreements == []
    check = service.audit.check_anchor(published.line())
    assert not check.holds
    (difference,) = check.differences
    assert difference.startswith("users' log at 2026-03-10T12:00:00+08:00: published head "
                                 f"#{published.users[0]} {published.users[1][:12]}")
    assert "rewritten and re-hashed" in difference


def test_a_definition_rewritten_with_its_hash_passes_verify_but_not_the_anchor(service, published):
    """The interview workflow (no case ran under it yet) rewritten in the database with its content hash fixed to
    match: verify finds nothing; the anchor's definitions digest differs."""
    from engine.domain.events import text_hash
    with service.store.write() as conn:
        text = conn.execute(select(workflow_versions.c.source_text).where(workflow_versions.c.name == "interview")
                            ).scalar()
        forged = text.replace("\n", "\n# rewritten\n", 1)
        conn.execute(update(workflow_versions).where(workflow_versions.c.name == "interview"),
                     {"source_text": forged, "content_hash": text_hash(forged)})
    assert service.audit.verify().breaks == []
    check = service.audit.check_anchor(published.line())
    assert [d.split(":")[0] for d in check.differences] == ["definitions stored at 2026-03-10T12"]
    assert "rewritten or removed" in check.differences[0]


def test_grants_and_definitions_after_the_moment_leave_the_anchor_holding(service, published):
    """A user added, a workflow installed and a campaign stored after T change nothing the anchor vouches for."""
    later = T + timedelta(days=1)
    service.commands.add_user("zhao", roles=["supervisor"], regions=["3717"], actor="li", now=later)
    service.commands.change_user("wang", regions=["371722"], actor="li", now=later)
    with service.store.write() as conn:  # a new version of a workflow, as `workflow install` would store it
        from engine.store.definitions import install
        stored = conn.execute(select(workflow_versions).where(workflow_versions.c.name == "interview")).first()
        install(conn, name="interview", text=stored.source_text + "\n# v2\n", file_name=stored.file_name,
                calendar_hash=stored.calendar_hash, now=later)
    check = service.audit.check_anchor(published.line())
    assert check.holds, check.differences


def test_a_grant_back_filled_before_the_moment_is_reported_as_such_not_as_a_rewrite(service, published):
    """A user added later with an effective time before T moves the head as of T: 'added later (back-filled ...)'."""
    service.commands.add_user("zhao", roles=["supervisor"], regions=["3717"], actor="li", now=T - timedelta(hours=1))
    (difference,) = service.audit.check_anchor(published.line()).differences
    assert "grants in force then were added later (back-filled with an earlier time, or forged)" in difference


def test_an_earlier_releases_line_still_verifies_the_cases_it_covers(service, published):
    """A line without users= and definitions= holds after the users' log forgery (it never covered it) and says it
    covers the case chains only; a case chain rewritten still fails it."""
    old = _old_form(published)
    _promote_in_the_log(service, "zhang", "committee")
    check = service.audit.check_anchor(old)
    assert check.holds and check.published.covers == ["cases"]


def test_the_cli_names_what_changed_and_what_an_old_line_covers(service, published, seeded_url):
    """`audit verify --anchor` exits 10 naming the users' log; `--json` gives `covers`; an old line exits 0 and
    says it covers the case chains only."""
    runner = CliRunner()
    base = ["--db", seeded_url, "--now", "2026-03-20T09:00", "audit", "verify"]
    assert runner.invoke(cli, base + ["--anchor", published.line()]).exit_code == 0
    _promote_in_the_log(service, "zhang", "committee")
    checked = runner.invoke(cli, base + ["--anchor", published.line()])
    assert checked.exit_code == 10 and "anchor: users' log at" in checked.stdout, checked.output
    document = json.loads(runner.invoke(cli, base + ["--anchor", published.line(), "--json"]).stdout)
    assert document["anchor"]["covers"] == ["cases", "users", "definitions"]
    assert document["anchor"]["published"]["users"] == {"seq": published.users[0], "hash": published.users[1]}
    old = runner.invoke(cli, base + ["--anchor", _old_form(published)])
    assert old.exit_code == 0 and "covers the case chains only" in old.stderr, old.output


def test_a_shortened_users_head_or_digest_is_refused(published):
    """All 64 digits of each hash are compared, so a shortened one is refused by name, exit 2."""
    from engine.domain.errors import InvalidInput
    line = published.line()
    for short in (published.users[1], published.definitions):
        with pytest.raises(InvalidInput, match="is shortened"):
            anchor.parse(line.replace(short, short[:8] + "..." + short[-4:]))
