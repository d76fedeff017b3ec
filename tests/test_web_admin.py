"""The auditor's pages (trace, dossier, verify) and the committee's users page through the ASGI test client:
each for the role it is for, refused (403, no forms) for others, every users' action an event of the users' log
with `audit verify` clean, and every text escaped."""
from __future__ import annotations

import re

import pytest

from engine.app.accounts import grant_log
from tests.conftest import FIVE, report
from tests.test_web_pages import PASSWORD, XSS, app, browser, csrf_of, engine, sign_in, signed_in  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def log_actions(engine) -> list[tuple[str, str, str]]:
    return [(g.actor, g.action, g.subject) for g in grant_log(engine)]


def verify_clean(engine):
    result = engine.audit.verify(actor="li")
    assert not result.breaks, result.breaks


# -- the auditor's pages --------------------------------------------------------------------------------------------
def test_the_case_page_links_the_trace_and_the_dossier_which_show_the_case(browser, engine):
    case = report(engine, title="罐区" + XSS)
    engine.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    auditor = signed_in(browser, "audit")
    page = auditor.get(f"/cases/{case.id}")
    assert f'href="/cases/{case.id}/trace"' in page.text and f'href="/cases/{case.id}/dossier"' in page.text
    trace = auditor.get(f"/cases/{case.id}/trace")
    assert trace.status_code == 200
    assert "责任倒查" in trace.text and "zhang" in trace.text and "王五" in trace.text
    assert "<script>alert" not in trace.text and "&lt;script&gt;" in trace.text
    dossier = auditor.get(f"/cases/{case.id}/dossier")
    assert dossier.status_code == 200 and case.id in dossier.text and "<script>alert" not in dossier.text
    policy = dossier.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_trace_and_dossier_outside_the_readers_region_are_not_found(browser, engine):
    case = report(engine)
    far = signed_in(browser, "far")
    assert far.get(f"/cases/{case.id}/trace").status_code == 404
    assert far.get(f"/cases/{case.id}/dossier").status_code == 404
    assert signed_in(browser, "zhang").get("/cases/HZ-2099-999999/trace").status_code == 404


def test_a_bad_as_of_on_the_trace_is_a_400_page(browser, engine):
    case = report(engine)
    answer = signed_in(browser, "audit").get(f"/cases/{case.id}/trace", params={"as_of": "soon"})
    assert answer.status_code == 400 and "as_of" in answer.text


def test_verify_is_for_the_committee_and_the_auditor_only(browser, engine):
    report(engine)
    for name in ("audit", "li"):
        page = signed_in(browser, name).get("/audit/verify")
        assert page.status_code == 200 and 'id="verdict"' in page.text and "校验通过" in page.text
        assert 'href="/audit/verify"' in page.text
    for name in ("zhang", "ent"):
        client = signed_in(browser, name)
        assert client.get("/audit/verify").status_code == 403
        assert 'href="/audit/verify"' not in client.get("/").text


def test_the_auditor_pages_need_a_session(browser, engine):
    case = report(engine)
    client = browser()
    for path in (f"/cases/{case.id}/trace", f"/cases/{case.id}/dossier", "/audit/verify", "/users"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


# -- the users page -------------------------------------------------------------------------------------------------
def post(client, path, **form):
    return client.post(path, data={"csrf": csrf_of(client), **form})


def test_the_committee_sees_the_users_and_the_forms_others_only_the_list(browser, engine):
    committee = signed_in(browser, "li")
    page = committee.get("/users")
    assert page.status_code == 200 and 'id="user-zhang"' in page.text and 'action="/users/add"' in page.text
    assert 'href="/users"' in committee.get("/").text
    zhang = signed_in(browser, "zhang")
    page = zhang.get("/users")
    assert "<form method=\"post\" action=\"/users" not in page.text
    assert 'href="/users"' not in zhang.get("/").text


def test_a_non_committee_post_is_403_and_writes_nothing(browser, engine):
    before = log_actions(engine)
    zhang = signed_in(browser, "zhang")
    assert post(zhang, "/users/add", name="mallory", **{"role.committee": "1"}, regions="37").status_code == 403
    assert post(zhang, "/users/liu/disable").status_code == 403
    assert post(zhang, "/users/liu/change", regions="37").status_code == 403
    assert post(zhang, "/users/liu/token").status_code == 403
    assert post(zhang, "/users/liu/password", mode="generate").status_code == 403
    assert "mallory" not in zhang.get("/users").text
    assert log_actions(engine) == before


def test_users_forms_need_the_csrf_token(browser, engine):
    before = log_actions(engine)
    committee = signed_in(browser, "li")
    assert committee.post("/users/liu/disable", data={}).status_code == 403
    assert log_actions(engine) == before


def test_every_users_action_is_an_event_of_the_users_log(browser, engine):
    li = signed_in(browser, "li")
    start = len(grant_log(engine))
    answer = post(li, "/users/add", name="sun", **{"role.enterprise": "1"}, regions="曹县",
                  enterprise="某化工有限公司")
    assert answer.status_code == 303, answer.text
    listed = li.get("/users").text
    assert 'id="user-sun"' in listed and "某化工有限公司" in listed and "371721" in listed
    assert post(li, "/users/sun/change", **{"role.enterprise": "1"}, regions="371721 371722").status_code == 303
    assert post(li, "/users/sun/change", unbind="1").status_code == 303
    assert post(li, "/users/sun/password", mode="typed", password="a long password 1",
                password2="a long password 1").status_code == 303
    assert sign_in(browser(), "sun", "a long password 1").status_code == 303
    issued = post(li, "/users/sun/token", expires="30")
    assert issued.status_code == 200
    token = re.search(r'id="secret-text">([^<]+)<', issued.text).group(1)
    assert token.startswith("hzt_")
    assert browser().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "sun"
    assert post(li, "/users/sun/revoke").status_code == 303
    assert browser().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    generated = post(li, "/users/sun/password", mode="generate")
    secret = re.search(r'id="secret-text">([^<]+)<', generated.text).group(1)
    assert sign_in(browser(), "sun", secret).status_code == 303
    assert post(li, "/users/sun/disable").status_code == 303
    assert 'id="user-sun"' not in li.get("/users").text
    assert "已停用" in li.get("/users?all=1").text
    assert post(li, "/users/sun/enable").status_code == 303
    actions = [a for a in log_actions(engine)[start:] if a[2] == "sun"]
    assert [a[1] for a in actions] == ["add", "change", "change", "password", "token", "revoke", "password",
                                       "disable", "enable"]
    assert all(actor == "li" for actor, _, _ in actions)
    verify_clean(engine)


def test_a_refused_users_action_shows_the_rule_and_keeps_what_was_typed(browser, engine):
    before = log_actions(engine)
    li = signed_in(browser, "li")
    answer = post(li, "/users/add", name="zhao", regions="3717")               # no role
    assert answer.status_code == 400 and "a user needs at least one role" in answer.text
    assert 'value="zhao"' in answer.text
    differ = post(li, "/users/liu/password", mode="typed", password="a long password 1", password2="another 12345")
    assert differ.status_code == 400 and "differ" in differ.text and "a long password 1" not in differ.text
    assert post(li, "/users/liu/password", mode="typed", password="short", password2="short").status_code == 400
    assert post(li, "/users/nobody/disable").status_code == 404
    assert log_actions(engine) == before


def test_user_names_and_bindings_are_escaped(browser, engine):
    li = signed_in(browser, "li")
    answer = post(li, "/users/add", name=XSS, **{"role.supervisor": "1"}, regions="3717")
    assert answer.status_code == 400 and "<script>alert" not in answer.text and "&lt;script&gt;" in answer.text
    answer = post(li, "/users/add", name="qian", **{"role.enterprise": "1"}, regions="3717", enterprise=XSS)
    assert "<script>alert" not in answer.text


# -- 我的待办's reads: the pending_decision column ---------------------------------------------------------------------
def pending_column(engine, case_id: str) -> bool:
    from sqlalchemy import select

    from engine.store.tables import cases
    with engine.store.read() as conn:
        return bool(conn.execute(select(cases.c.pending_decision).where(cases.c.id == case_id)).scalar_one())


def test_the_pending_decision_column_follows_the_decisions_and_replay_checks_it(engine):
    from sqlalchemy import update

    from engine.store.tables import cases
    case = report(engine)
    engine.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    engine.commands.advance_case(case.id, "start", actor="ent")
    assert pending_column(engine, case.id) is False
    engine.commands.extend_deadline(case.id, actor="ent", until="2026-05-20", reason="设备到货延迟")
    assert pending_column(engine, case.id) is True
    assert [d.case.id for d in engine.queries.work_for("zhang").decisions] == [case.id]
    assert not engine.audit.replay_all().disagreements
    engine.commands.decide(case.id, "extension", "approve", actor="zhang", reason="同意")
    assert pending_column(engine, case.id) is False
    assert engine.queries.work_for("zhang").decisions == []
    with engine.store.db_engine.begin() as conn:   # a row edited by hand: the replay names the column
        conn.execute(update(cases).where(cases.c.id == case.id).values(pending_decision=True))
    found = engine.audit.replay_all().disagreements
    assert found and found[0][0] == case.id and any("pending_decision" in p for p in found[0][1])
