"""The web console's pages through the ASGI test client: sessions (log-in, log-out, idle timeout, a disabled user,
a changed password), CSRF, the log-in rate limit, security headers, scoping, escaping; and 我的待办's query."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine.domain.clock import FixedClock, parse_time
from tests.conftest import FIVE, START, report

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
PASSWORD = "correct horse battery"
LATER = "2026-03-20T09:00"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class RealClock:
    """A recording clock the test moves (sessions count idle time on it)."""

    def __init__(self):
        from datetime import datetime, timezone
        self.at = datetime.now(timezone.utc)

    def now(self):
        return self.at


@pytest.fixture
def engine(service):
    for name in ("zhang", "liu", "ent", "far", "audit", "li"):
        service.commands.set_password(name, PASSWORD, actor="li")
    service.recorded_clock = RealClock()
    return service


@pytest.fixture
def app(engine):
    from web.app import create_app
    return create_app(engine)


@pytest.fixture
def browser(app):
    """browser(): a fresh test client (a browser of its own: its own cookies)."""
    from fastapi.testclient import TestClient
    made = []

    def new():
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        made.append(client)
        return client
    yield new
    for client in made:
        client.__exit__(None, None, None)


def sign_in(client, name: str, password: str = PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password, "login_token": token, "next": "/"})


def csrf_of(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


def signed_in(browser, name: str):
    client = browser()
    assert sign_in(client, name).status_code == 303
    return client


def overdue_case(engine):
    """A reported major hazard whose deadline (2026-03-10) has passed at LATER, when the engine's clock stands."""
    case = report(engine, fields={"deadline": "2026-03-10"})
    engine.clock = FixedClock(parse_time(LATER))
    return case


# -- sessions -------------------------------------------------------------------------------------------------------
def test_without_a_session_every_page_redirects_to_login(browser):
    client = browser()
    for path in ("/", "/cases/HZ-2026-000001", "/report"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert client.get("/login").status_code == 200


def test_log_in_sets_a_safe_cookie_and_log_out_ends_the_session_for_good(browser, engine):
    client = browser()
    answer = sign_in(client, "zhang")
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "hzs_" in cookie
    assert "Secure" not in cookie.split("hazard_login")[0]  # plain http: https gets Secure
    value = client.cookies.get("hazard_session")
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf": csrf_of(client)}).status_code == 303
    replay = browser()
    replay.cookies.set("hazard_session", value)
    assert replay.get("/").status_code == 303                      # the replayed log-out cookie is refused
    assert replay.get("/api/v1/me").status_code == 401


def test_a_session_over_https_gets_a_secure_cookie(app, engine):
    from fastapi.testclient import TestClient
    with TestClient(app, base_url="https://console.example", follow_redirects=False) as client:
        assert "Secure" in sign_in(client, "zhang").headers["set-cookie"]


def test_a_wrong_password_is_refused_and_logged_without_the_password(browser, caplog):
    client = browser()
    with caplog.at_level("WARNING", logger="hazard.web"):
        answer = sign_in(client, "zhang", "wrong password 1")
    assert answer.status_code == 401 and "用户名或密码错误" in answer.text
    assert "zhang" in caplog.text and "wrong password 1" not in caplog.text
    assert "hazard_session" not in client.cookies


def test_repeated_failures_slow_log_ins_of_that_name_down(browser):
    client = browser()
    for _ in range(5):
        assert sign_in(client, "zhang", "wrong password").status_code == 401
    answer = sign_in(client, "zhang")  # the right password, too soon
    assert answer.status_code == 429 and "登录失败次数过多" in answer.text


def test_a_session_ends_after_idle_time(browser, engine):
    client = signed_in(browser, "zhang")
    engine.recorded_clock.at += timedelta(minutes=31)
    assert client.get("/").status_code == 303


def test_a_session_ends_when_the_user_is_disabled_or_the_password_changes(browser, engine):
    client = signed_in(browser, "zhang")
    other = signed_in(browser, "liu")
    engine.commands.disable_user("zhang", actor="li")
    assert client.get("/").status_code == 303
    assert other.get("/").status_code == 200
    engine.commands.set_password("liu", "a new password 2", actor="li")
    assert other.get("/").status_code == 303
    assert sign_in(browser(), "liu", "a new password 2").status_code == 303


def test_a_log_in_form_from_elsewhere_is_refused(browser):
    client = browser()
    answer = client.post("/login", data={"name": "zhang", "password": PASSWORD, "login_token": "forged"})
    assert answer.status_code == 403 and "hazard_session" not in client.cookies


# -- CSRF -----------------------------------------------------------------------------------------------------------
def test_a_post_without_or_with_another_sessions_csrf_token_is_403_and_writes_nothing(browser, engine):
    case = overdue_case(engine)
    zhang, liu = signed_in(browser, "zhang"), signed_in(browser, "liu")
    form = {"trigger": "assign", **{f"f.{k}": v for k, v in FIVE.items()}, "f.deadline": "2026-05-30"}
    assert zhang.post(f"/cases/{case.id}/advance", data=form).status_code == 403
    assert zhang.post(f"/cases/{case.id}/advance", data={**form, "csrf": csrf_of(liu)}).status_code == 403
    assert zhang.post(f"/cases/{case.id}/advance", data={**form, "csrf": "x" * 43}).status_code == 403
    assert zhang.post("/logout", data={}).status_code == 403
    assert engine.queries.case(case.id).state == "reported"
    assert len(engine.queries.history(case.id)) == 1


def test_the_api_takes_a_page_session_and_its_writes_need_the_csrf_header(browser, engine):
    case = overdue_case(engine)
    client = signed_in(browser, "zhang")
    assert client.get("/api/v1/me").json()["name"] == "zhang"
    body = {"trigger": "assign", "fields": {**FIVE, "deadline": "2026-05-30"}}
    assert client.post(f"/api/v1/cases/{case.id}/advance", json=body).status_code == 403
    assert engine.queries.case(case.id).state == "reported"
    done = client.post(f"/api/v1/cases/{case.id}/advance", json=body, headers={"X-CSRF-Token": csrf_of(client)})
    assert done.status_code == 200, done.text


# -- headers, scoping, refusals, escaping ----------------------------------------------------------------------------
def test_every_page_has_the_security_headers(browser, engine):
    case = overdue_case(engine)
    client = signed_in(browser, "zhang")
    for path in ("/login", "/", f"/cases/{case.id}", "/report", "/api/v1/me", "/static/site.css"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]


def test_a_refusal_is_shown_in_the_rules_words_with_what_was_typed_kept(browser, engine):
    case = overdue_case(engine)
    client = signed_in(browser, "zhang")
    answer = client.post(f"/cases/{case.id}/advance", data={"csrf": csrf_of(client), "trigger": "assign",
                                                            "f.responsible_unit": "某化工有限公司安全科"})
    assert answer.status_code == 422
    assert "requires responsible_person, measures, funds, deadline, emergency_plan: missing" in answer.text
    assert ">某化工有限公司安全科</textarea>" in answer.text   # kept in the form, which is open again
    assert engine.queries.case(case.id).state == "reported"


def test_outside_the_region_another_enterprise_and_the_auditor_get_nothing(browser, engine):
    case = overdue_case(engine)
    engine.commands.add_user("other-ent", roles=["enterprise"], regions=["371721"], actor="li",
                             enterprise="另一化工有限公司")
    engine.commands.set_password("other-ent", PASSWORD, actor="li")
    form = {"trigger": "assign", **{f"f.{k}": v for k, v in FIVE.items()}, "f.deadline": "2026-05-30"}
    for name in ("far", "other-ent"):
        client = signed_in(browser, name)
        assert client.get(f"/cases/{case.id}").status_code == 404
        assert case.id not in client.get("/").text
        assert client.post(f"/cases/{case.id}/advance", data={**form, "csrf": csrf_of(client)}).status_code == 404
    auditor = signed_in(browser, "audit")
    shown = auditor.get(f"/cases/{case.id}")
    assert shown.status_code == 200 and 'action="/cases/' not in shown.text   # reads it, may fire nothing
    refused = auditor.post(f"/cases/{case.id}/advance", data={**form, "csrf": csrf_of(auditor)})
    assert refused.status_code == 403
    assert engine.queries.case(case.id).state == "reported"


def test_every_text_a_page_shows_is_escaped(browser, engine):
    case = report(engine, title=XSS, enterprise=XSS, fields={"criterion": XSS, "deadline": "2026-03-10"})
    engine.clock = FixedClock(parse_time(LATER))
    client = signed_in(browser, "zhang")
    client.post(f"/cases/{case.id}/advance", data={"csrf": csrf_of(client), "trigger": "assign",
                                                   "f.measures": XSS})
    for path in ("/", f"/cases/{case.id}"):
        text = client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;" in text, path
    refused = client.post(f"/cases/{case.id}/advance", data={"csrf": csrf_of(client), "trigger": "assign",
                                                             "f.measures": XSS})
    assert "<script>alert" not in refused.text and "&lt;script&gt;" in refused.text
    login = browser().get("/login?next=" + "%22%3E%3Cscript%3E")
    assert "<script>" not in login.text


# -- 我的待办 -----------------------------------------------------------------------------------------------------------
def test_work_lists_what_the_user_may_act_on_overdue_first(browser, engine):
    late = overdue_case(engine)
    engine.clock = FixedClock(parse_time(START))
    fresh = report(engine, title="新上报的隐患")
    engine.clock = FixedClock(parse_time(LATER))
    found = engine.queries.work_for("zhang")
    assert [i.case.id for i in found.items] == [late.id, fresh.id]
    assert found.items[0].overdue and found.items[0].triggers == (("assign", "交办 (五落实)"),)
    assert found.counts == {"cases": 2, "overdue": 1, "decisions": 0}
    assert engine.queries.work_for("ent").counts["cases"] == 0      # an enterprise assigns nothing
    assert engine.queries.work_for("audit").counts["cases"] == 0    # the auditor fires nothing
    assert engine.queries.work_for("far").counts["cases"] == 0      # outside her region
    page = signed_in(browser, "zhang").get("/")
    assert page.text.index(late.id) < page.text.index(fresh.id)
    assert 'id="count-overdue">1<' in page.text


def test_work_shows_extension_applications_to_those_who_decide_them(engine):
    case = report(engine)
    engine.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    engine.commands.advance_case(case.id, "start", actor="ent")
    engine.commands.extend_deadline(case.id, actor="ent", until="2026-05-20", reason="设备到货延迟")
    decisions = engine.queries.work_for("zhang").decisions
    assert [(d.case.id, d.rung) for d in decisions] == [(case.id, "extension")]
    assert engine.queries.work_for("ent").decisions == []           # the applicant decides nothing


def test_the_bell_counts_unread_messages_and_the_inbox_page_marks_them_read(browser, engine):
    case = report(engine)
    engine.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)  # tells the enterprise
    client = signed_in(browser, "ent")
    home = client.get("/")
    assert re.search(r'id="bell"[^>]*>消息 <b class="badge">1</b>', home.text)
    page = client.get("/inbox")
    assert page.status_code == 200 and case.id in page.text and 'class="unread"' in page.text
    refused = client.post("/inbox/read", data={"csrf": "forged"})
    assert refused.status_code == 403
    done = client.post("/inbox/read", data={"csrf": csrf_of(client)})
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert 'class="badge"' not in client.get("/").text
    assert "没有未读消息" in client.get("/inbox").text and case.id in client.get("/inbox?all=1").text
