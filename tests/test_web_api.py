"""The HTTP API (/api/v1) through the ASGI test client, on SQLite and PostgreSQL: the documents are the CLI's, every
status the issue maps, tokens, If-Match, bounded bodies, uploads and downloads, and the OpenAPI document current."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import FIVE, PHOTO, START

ROOT = Path(__file__).resolve().parent.parent
# Starlette's test client would rather have httpx2; httpx (the test extra) is the client it has taken for years.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
NEW_CASE = {"title": "液氨储罐区未设置泄漏报警装置", "enterprise": "某化工有限公司", "region": "371721",
            "industry": "危险化学品", "level": "major", "source": "inspection"}


@pytest.fixture
def api(service):
    from fastapi.testclient import TestClient

    from web.app import create_app
    with TestClient(create_app(service)) as client:
        yield client


@pytest.fixture
def as_user(service):
    """as_user(NAME): the `Authorization` header with a live token of NAME (issued by li, the administrator)."""
    issued = {}

    def header(name: str) -> dict:
        if name not in issued:
            issued[name] = service.commands.issue_token(name, actor="li")[0].text
        return {"Authorization": f"Bearer {issued[name]}"}
    return header


def report_and_assign(api, as_user) -> str:
    created = api.post("/api/v1/cases", json=NEW_CASE, headers=as_user("ent"))
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    assigned = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "assign", "fields": FIVE},
                        headers=as_user("zhang"))
    assert assigned.status_code == 200, assigned.text
    return case_id


def cli_json(db_url: str, *args: str):
    """What `hazard --json ARGS` prints at the tests' time, read as JSON."""
    from click.testing import CliRunner

    from cli.main import cli
    done = CliRunner().invoke(cli, ["--db", db_url, "--now", START, "--json", *args])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def error_of(response, status: int, error_type: str | None = None) -> dict:
    """The error document of a refusal, checked: the status, the document's shape, no trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert set(error) >= {"type", "message", "exit_code"}
    if error_type:
        assert error["type"] == error_type, error
    from web.models import ErrorDocument
    ErrorDocument.model_validate(response.json())
    return error


def history_length(service, case_id: str) -> int:
    return len(service.queries.history(case_id))


# -- the documents are the CLI's ------------------------------------------------------------------------------------
def test_a_reported_case_is_201_with_its_location_and_the_documents_the_cli_prints(api, as_user, seeded_url):
    """POST /cases answers 201, `Location` and `ETag`; GET of that location is `hazard case show --json`."""
    from web.models import CaseDocument

    created = api.post("/api/v1/cases", json=NEW_CASE, headers=as_user("ent"))
    assert created.status_code == 201
    case_id = created.json()["id"]
    assert created.headers["location"] == f"/api/v1/cases/{case_id}"
    assert created.headers["etag"] == '"1"'
    assert created.headers["x-content-type-options"] == "nosniff" and created.headers["cache-control"] == "no-store"
    shown = api.get(created.headers["location"], headers=as_user("zhang"))
    assert shown.status_code == 200 and shown.headers["etag"] == '"1"'
    assert shown.json() == cli_json(seeded_url, "case", "show", case_id)
    CaseDocument.model_validate(shown.json())
    assert created.json()["state"] == shown.json()["state"] == "reported"


@pytest.mark.parametrize("path,args,key", [
    ("/api/v1/cases?region=3717&overdue=false", ["case", "list", "--region", "3717"], "cases"),
    ("/api/v1/cases?sort=-id&limit=1", ["case", "list", "--sort", "-id", "--limit", "1"], "cases"),
    ("/api/v1/cases/{id}/history", ["case", "history", "{id}"], "events"),
    ("/api/v1/escalations?case={id}", ["escalation", "list", "--case", "{id}"], None),
    ("/api/v1/escalations?due=true", ["escalation", "list", "--due"], None),
    ("/api/v1/cases/{id}/trace", ["audit", "trace", "{id}"], None),
    ("/api/v1/audit/verify", ["audit", "verify"], None),
    ("/api/v1/workflows", ["workflow", "list"], None),
    ("/api/v1/reports/stats?by=county&region=3717", ["report", "stats", "--by", "county", "--region", "3717"], None),
    ("/api/v1/reports/lists?region=3717", ["report", "lists", "--region", "3717"], None),
    ("/api/v1/reports/bulletin?period=month&date=2026-03-31&region=3717",
     ["report", "bulletin", "--period", "month", "--date", "2026-03-31", "--region", "3717"], None),
    ("/api/v1/campaigns", ["campaign", "list"], None),
])
def test_each_read_answers_the_document_its_command_prints(api, as_user, seeded_url, path, args, key):
    """The body of each read is the `--json` document of the same command (a list's cases, a history's events
    under a key), and fits the route's response model."""
    case_id = report_and_assign(api, as_user)
    got = api.get(path.replace("{id}", case_id), headers=as_user("li"))
    assert got.status_code == 200, got.text
    expected = cli_json(seeded_url, *[a.replace("{id}", case_id) for a in args])
    assert (got.json()[key] if key else got.json()) == expected
    _fits_its_model(api, path, got.json())


def api_routes():
    """(path, route) of every /api/v1 route (FastAPI keeps included routers unflattened in `app.routes`)."""
    from web.api import PREFIX, audit, cases, ledger, reports, workflows
    return [(PREFIX + route.path, route) for module in (cases, audit, reports, ledger, workflows)
            for route in module.router.routes]


def _fits_its_model(api, path: str, body) -> None:
    """The answer validates against the response model the OpenAPI document names for the route."""
    import re

    from pydantic import TypeAdapter
    bare = path.split("?")[0]
    for full, route in api_routes():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", full), bare) and "GET" in route.methods:
            TypeAdapter(route.response_model).validate_python(body)
            return
    raise AssertionError(f"no route with a response model for {path}")


def test_the_case_list_pages_with_a_total_and_limit_defaults_to_100(api, as_user, service):
    """`GET /cases` answers {cases, total, limit, offset}; limit 100 unless told, offset pages on."""
    ids = [api.post("/api/v1/cases", json={**NEW_CASE, "title": f"隐患{n}"}, headers=as_user("ent")).json()["id"]
           for n in range(3)]
    whole = api.get("/api/v1/cases?sort=id", headers=as_user("li")).json()
    assert (whole["total"], whole["limit"], whole["offset"]) == (3, 100, 0)
    assert [c["id"] for c in whole["cases"]] == ids
    page = api.get("/api/v1/cases?sort=id&limit=1&offset=1", headers=as_user("li")).json()
    assert ([c["id"] for c in page["cases"]], page["total"], page["limit"], page["offset"]) == ([ids[1]], 3, 1, 1)
    shown = api.get(f"/api/v1/cases?search=隐患1&as_of={START}", headers=as_user("li")).json()
    assert [c["id"] for c in shown["cases"]] == [ids[1]]


def test_me_history_workflow_and_dossier(api, as_user, seeded_url):
    """/me names the caller; a workflow comes with its diagram; the dossier is its HTML page or its JSON."""
    assert api.get("/api/v1/me", headers=as_user("zhang")).json() == {"name": "zhang", "roles": ["supervisor"],
                                                                      "regions": ["3717"], "enterprise": None}
    flow = api.get("/api/v1/workflows/major-hazard", headers=as_user("ent")).json()
    shown = cli_json(seeded_url, "workflow", "show", "major-hazard")
    assert {k: v for k, v in flow.items() if k != "diagram"} == shown
    assert flow["diagram"]["mermaid"].startswith("stateDiagram") and "digraph" in flow["diagram"]["dot"]
    case_id = report_and_assign(api, as_user)
    page = api.get(f"/api/v1/cases/{case_id}/dossier", headers=as_user("audit"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert case_id in page.text and "<html" in page.text.lower()
    data = api.get(f"/api/v1/cases/{case_id}/dossier?format=json", headers=as_user("audit"))
    assert data.headers["content-type"].startswith("application/json")
    assert data.json()["case"]["id"] == case_id
    as_of = api.get(f"/api/v1/cases/{case_id}?as_of=2026-03-01T09:00", headers=as_user("zhang"))
    assert error_of(as_of, 404, "NotFound")["rule"] == "not-yet"
    then = api.get(f"/api/v1/cases/{case_id}?as_of={START}", headers=as_user("zhang")).json()
    assert then["as_of"] == "2026-03-02T09:00:00+08:00" and then["state"] == "assigned"


def test_bulletins_and_lists_download_as_files(api, as_user):
    """`format=md|html|xlsx` gives the file `--output` would write: its type, and xlsx as a named attachment."""
    report_and_assign(api, as_user)
    base = "/api/v1/reports/bulletin?period=month&date=2026-03-31&region=3717"
    md = api.get(base + "&format=md", headers=as_user("li"))
    assert md.headers["content-type"].startswith("text/markdown") and "2026" in md.text
    html = api.get(base + "&format=html", headers=as_user("li"))
    assert html.headers["content-type"].startswith("text/html")
    xlsx = api.get(base + "&format=xlsx", headers=as_user("li"))
    assert xlsx.content[:2] == b"PK" and "attachment" in xlsx.headers["content-disposition"]
    lists = api.get("/api/v1/reports/lists?format=xlsx&list=major-to-clear", headers=as_user("li"))
    assert lists.status_code == 200 and lists.content[:2] == b"PK"
    error_of(api.get("/api/v1/reports/bulletin?date=2026-03-31", headers=as_user("li")), 400, "InvalidInput")
    error_of(api.get("/api/v1/reports/bulletin?period=year", headers=as_user("li")), 400, "InvalidInput")
    error_of(api.get("/api/v1/campaigns/no-such-campaign", headers=as_user("li")), 404, "NotFound")


# -- writes, versions and If-Match ----------------------------------------------------------------------------------
def test_advance_answers_the_case_and_its_new_etag(api, as_user, service):
    """An advance answers the case document at its new version, with the ETag a next If-Match gives back."""
    case_id = report_and_assign(api, as_user)
    shown = api.get(f"/api/v1/cases/{case_id}", headers=as_user("ent"))
    assert shown.headers["etag"] == '"2"'
    started = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"},
                       headers={**as_user("ent"), "If-Match": shown.headers["etag"]})
    assert started.status_code == 200, started.text
    assert (started.json()["state"], started.json()["version"], started.headers["etag"]) == ("rectifying", 3, '"3"')
    events = service.queries.history(case_id)
    assert [(e.trigger, e.actor) for e in events] == [("report", "ent"), ("assign", "zhang"), ("start", "ent")]


@pytest.mark.parametrize("if_match", ['"1"', '"9"'])
def test_a_stale_if_match_is_412_and_writes_nothing(api, as_user, service, if_match):
    """If-Match naming a version the case is not at (an older one, or one it never reached) is 412; nothing written."""
    case_id = report_and_assign(api, as_user)
    refused = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"},
                       headers={**as_user("ent"), "If-Match": if_match})
    error = error_of(refused, 412)
    assert error["message"].startswith(("If-Match:", "case ")) and "version 2" in error["message"]
    assert history_length(service, case_id) == 2
    extended = api.post(f"/api/v1/cases/{case_id}/extend", json={"until": "2026-06-30", "reason": "设备到货延迟"},
                        headers={**as_user("zhang"), "If-Match": if_match})
    error_of(extended, 412)
    assert history_length(service, case_id) == 2


@pytest.mark.parametrize("if_match", ["2", 'W/"2"', '"two"', '"99999999999"'])
def test_an_if_match_that_is_no_etag_is_400(api, as_user, service, if_match):
    case_id = report_and_assign(api, as_user)
    error = error_of(api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"},
                              headers={**as_user("ent"), "If-Match": if_match}), 400, "InvalidInput")
    assert error["field"] == "If-Match"
    assert history_length(service, case_id) == 2


def test_if_match_star_and_extend(api, as_user, service):
    """`If-Match: *` asks for no version; an extension answers the case with the application awaiting a decision."""
    case_id = report_and_assign(api, as_user)
    service.clock.advance(days=1)
    started = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"},
                       headers={**as_user("ent"), "If-Match": "*"})
    assert started.status_code == 200, started.text
    extended = api.post(f"/api/v1/cases/{case_id}/extend", json={"until": "2026-06-30", "reason": "设备到货延迟"},
                        headers={**as_user("zhang"), "If-Match": started.headers["etag"]})
    assert extended.status_code == 200, extended.text
    doc = extended.json()
    assert (doc["version"], doc["deadline"], doc["extension_application"]["until"]) == (4, "2026-04-30", "2026-06-30")
    assert [p["kind"] for p in doc["pending_decisions"]] == ["extension"]


# -- the statuses ----------------------------------------------------------------------------------------------------
def test_a_rule_refusing_is_422_with_the_rule_and_what_is_missing(api, as_user, service):
    """Assigning without the five implementations is the engine's Refused: 422, rule and missing fields named."""
    case_id = api.post("/api/v1/cases", json=NEW_CASE, headers=as_user("ent")).json()["id"]
    refused = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "assign", "fields": {"funds": "15万"}},
                       headers=as_user("zhang"))
    error = error_of(refused, 422, "Refused")
    assert error["exit_code"] == 3 and error["rule"] == "requires" and "deadline" in error["missing"]
    assert history_length(service, case_id) == 1


@pytest.mark.parametrize("actor,trigger", [("far", "assign"), ("ent", "assign"), ("audit", "assign")])
def test_a_user_the_rule_does_not_let_act_is_403(api, as_user, service, actor, trigger):
    """Another region's supervisor, the enterprise assigning, the auditor acting: 403, nothing written."""
    case_id = api.post("/api/v1/cases", json=NEW_CASE, headers=as_user("ent")).json()["id"]
    refused = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": trigger, "fields": FIVE},
                       headers=as_user(actor))
    assert error_of(refused, 403, "PermissionDenied")["exit_code"] == 4
    assert history_length(service, case_id) == 1


def test_a_supervisor_of_another_region_reads_nothing_of_3717(api, as_user):
    """`far` (4101) gets 404 for a case of 371721, as for one that does not exist, and finds it in no list."""
    case_id = report_and_assign(api, as_user)
    error_of(api.get(f"/api/v1/cases/{case_id}", headers=as_user("far")), 404, "NotFound")
    error_of(api.get(f"/api/v1/cases/{case_id}/history", headers=as_user("far")), 404, "NotFound")
    assert api.get("/api/v1/cases", headers=as_user("far")).json()["total"] == 0


@pytest.mark.parametrize("path", ["/api/v1/cases/HZ-2026-999999", "/api/v1/cases/HZ-2026-999999/history",
                                  "/api/v1/cases/HZ-2026-999999/trace", "/api/v1/cases/HZ-2026-999999/dossier",
                                  "/api/v1/workflows/no-such-flow", "/api/v1/no/such/endpoint"])
def test_what_does_not_exist_is_404(api, as_user, path):
    error_of(api.get(path, headers=as_user("li")), 404, "NotFound")


@pytest.mark.parametrize("body,field", [
    ('{"trigger": ', None),                                     # not JSON
    ("[1, 2]", None),                                            # JSON, not an object
    ('{"trigger": 7}', "trigger"),                               # a number where text goes
    ('{"trigger": "start", "fields": {"deadline": 20260430}}', "fields.deadline"),
    ('{"trigger": "start", "fields": ["a"]}', "fields"),
    ('{"trigger": "start", "what": 1}', "what"),                 # a key the command does not take
    ('{}', "trigger"),                                           # a key it needs
    ('{"trigger": "st\\u0000art"}', None),                       # a control character
    ('{"trigger": "\\ud800"}', None),                            # a lone surrogate no database stores
])
def test_a_body_that_cannot_be_read_is_400_with_the_error_document(api, as_user, service, body, field):
    case_id = report_and_assign(api, as_user)
    refused = api.post(f"/api/v1/cases/{case_id}/advance", content=body.encode(),
                       headers={**as_user("ent"), "Content-Type": "application/json"})
    error = error_of(refused, 400, "InvalidInput")
    assert error["exit_code"] == 2
    if field:
        assert error["field"] == field, error
    assert history_length(service, case_id) == 2


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "offset=-1", "overdue=maybe", "level=huge",
                                   "found_from=yesterday", "sort=colour", "as_of=tomorrow", "limit=99999999999",
                                   "search=%00", "enterprise=a%0Bb", "region=%ED%A0%80"])
def test_a_filter_that_cannot_be_read_is_400(api, as_user, query):
    error_of(api.get(f"/api/v1/cases?{query}", headers=as_user("li")), 400, "InvalidInput")


@pytest.mark.parametrize("path", ["/api/v1/workflows/major%00hazard", "/api/v1/cases/HZ%00/history",
                                  "/api/v1/campaigns/a%01b"])
def test_a_path_holding_a_control_character_is_400(api, as_user, path):
    assert error_of(api.get(path, headers=as_user("li")), 400, "InvalidInput")["rule"] == "request"


def test_a_body_of_10_mb_is_refused_unread_and_writes_nothing(api, as_user, service):
    """A 10 MB JSON body is 413 (declared or sent in chunks), with the error document; nothing is written."""
    case_id = report_and_assign(api, as_user)
    huge = json.dumps({"trigger": "start", "fields": {"measures": "加" * (10 * 1024 * 1024 // 3)}}).encode()
    assert len(huge) >= 10 * 1024 * 1024
    declared = api.post(f"/api/v1/cases/{case_id}/advance", content=huge,
                        headers={**as_user("ent"), "Content-Type": "application/json"})
    assert error_of(declared, 413, "InvalidInput")["rule"] == "too-large"

    def chunks():
        for start in range(0, len(huge), 65536):
            yield huge[start:start + 65536]
    streamed = api.post(f"/api/v1/cases/{case_id}/advance", content=chunks(),
                        headers={**as_user("ent"), "Content-Type": "application/json"})
    assert error_of(streamed, 413, "InvalidInput")["rule"] == "too-large"
    assert history_length(service, case_id) == 2


def test_status_of_every_exit_code():
    """The issue's mapping: 2->400, 3->422, 4->403, 5->404, 6->409, 7->422, 8->503, 9->422; the rest 500."""
    from engine.domain import errors as e
    from web.errors import status_of
    raised = [e.InvalidInput("x"), e.Refused("x", rule="r"), e.PermissionDenied("x"), e.NotFound("x", kind="k", key="k"),
              e.Conflict("x", case_id=""), e.DefinitionInvalid([("f", 1, "x")]), e.StoreError("x"),
              e.StoreUnavailable("x"), e.WriteFailed("x", path="p"), e.CalendarNotCovered("x"), e.TamperDetected("x"),
              e.ReplayMismatch("x")]
    assert [status_of(x) for x in raised] == [400, 422, 403, 404, 409, 422, 503, 503, 503, 422, 500, 500]


def test_an_unforeseen_failure_is_500_without_a_trace(service, as_user, monkeypatch):
    """A bug is 500 with a document that says only that; the trace goes to the server's log, not the client."""
    from fastapi.testclient import TestClient

    from web.app import create_app
    from web.calls import Call

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals at /srv/hazard")
    monkeypatch.setattr(Call, "history", broken)
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/cases/HZ-2026-000001/history", headers=as_user("li"))
    assert error_of(answer, 500, "InternalError") == {"type": "InternalError", "exit_code": 1,
                                                      "message": "unexpected error; the server's log has the details"}
    assert "secret" not in answer.text


def test_an_unreachable_database_is_503(clock):
    """/healthz says why the database does not answer (503), and every API call is 503 with exit code 8."""
    from fastapi.testclient import TestClient

    from engine.app import Engine
    from web.app import create_app
    engine = Engine.open("postgresql+psycopg://nobody@127.0.0.1:1/nothing", clock=clock)
    with TestClient(create_app(engine)) as client:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "unavailable" and health.json()["reason"]
        token = "hzt_0123456789ab_" + "a" * 43
        assert error_of(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 503)["exit_code"] == 8
    engine.close()


def test_healthz_is_ok_on_a_database_that_answers(api):
    assert api.get("/healthz").json() == {"status": "ok"}


def test_healthz_says_a_database_without_tables_needs_init(tmp_path, clock):
    from fastapi.testclient import TestClient

    from engine.app import Engine
    from web.app import create_app
    engine = Engine.open(f"sqlite:///{tmp_path}/new.db", create=True, clock=clock)
    with TestClient(create_app(engine)) as client:
        health = client.get("/healthz")
    engine.close()
    assert health.status_code == 503 and "hazard init" in health.json()["reason"]


# -- who is calling ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,method", sorted((p, m) for p, r in api_routes() for m in r.methods))
@pytest.mark.parametrize("header", [None, "Basic bGk6c2VjcmV0", "Bearer", "Bearer not-a-token",
                                    "Bearer hzt_0123456789ab_" + "a" * 43])
def test_every_endpoint_is_401_with_a_challenge_without_good_credentials(api, path, method, header):
    """No credentials, another scheme, or a token the engine does not know: 401, `WWW-Authenticate: Bearer`."""
    headers = {"Authorization": header} if header else {}
    answer = api.request(method, path.replace("{case_id}", "HZ-2026-000001").replace("{name}", "x"), headers=headers)
    error = error_of(answer, 401, "PermissionDenied")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert error["rule"] in ("token-missing", "token-wrong")


def test_a_revoked_or_expired_token_or_a_disabled_user_is_401(api, service):
    """The engine's token rule decides: revoked, expired (on the real clock) and a disabled user's tokens are 401."""
    from engine.domain.clock import FixedClock
    from engine.domain.clock import SystemClock

    revoked = service.commands.issue_token("zhang", actor="li")[0]
    service.commands.revoke_tokens("zhang", actor="li", token_id=revoked.token_id)
    assert error_of(api.get("/api/v1/me", headers={"Authorization": f"Bearer {revoked.text}"}), 401)["rule"] == \
        "token-revoked"
    expiring = service.commands.issue_token("liu", actor="li", expires_days=1)[0]
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {expiring.text}"}).status_code == 200
    service.recorded_clock = FixedClock(SystemClock().now() + timedelta(days=2))
    assert error_of(api.get("/api/v1/me", headers={"Authorization": f"Bearer {expiring.text}"}), 401)["rule"] == \
        "token-expired"
    service.recorded_clock = SystemClock()
    disabled = service.commands.issue_token("wang", actor="li")[0]
    service.commands.disable_user("wang", actor="li")
    answer = api.get("/api/v1/me", headers={"Authorization": f"Bearer {disabled.text}"})
    assert error_of(answer, 401, "PermissionDenied")["rule"] == "disabled"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_write_checks_its_token_in_its_own_transaction_and_writes_nothing_for_a_bad_one(api, as_user, service):
    """Report, advance and extend check the caller where they write (web/auth.py `one_unit`): a revoked token
    or a disabled user's is 401 and the case stays as it was; a live token writes as its holder."""
    case_id = report_and_assign(api, as_user)
    before = service.queries.history(case_id)
    revoked = service.commands.issue_token("zhang", actor="li")[0]
    service.commands.revoke_tokens("zhang", actor="li", token_id=revoked.token_id)
    service.commands.add_user("zhao", roles=["enterprise"], regions=["371721"], actor="li")
    disabled = service.commands.issue_token("zhao", actor="li")[0]
    service.commands.disable_user("zhao", actor="li")
    deadline = (service.clock.now() + timedelta(days=200)).date().isoformat()
    for token, rule in ((revoked.text, "token-revoked"), (disabled.text, "disabled")):
        headers = {"Authorization": f"Bearer {token}"}
        writes = [api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"}, headers=headers),
                  api.post(f"/api/v1/cases/{case_id}/extend", json={"until": deadline, "reason": "设备到货延迟"},
                           headers=headers),
                  api.post("/api/v1/cases", json=NEW_CASE, headers=headers)]
        for answer in writes:
            assert error_of(answer, 401, "PermissionDenied")["rule"] == rule
    assert service.queries.history(case_id) == before
    assert api.get("/api/v1/cases", headers=as_user("li")).json()["total"] == 1
    started = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"}, headers=as_user("ent"))
    assert started.status_code == 200, started.text
    assert [e.actor for e in service.queries.history(case_id)][-1] == "ent"


def test_a_write_meeting_another_writer_waits_its_turn_and_is_done_once(api, as_user, service):
    """On SQLite a write through the API runs on the server's event loop only when the write lock is free at once;
    meeting another writer, it waits in a thread until that one is done, and is written once."""
    import threading
    case_id = report_and_assign(api, as_user)
    before, headers = history_length(service, case_id), as_user("ent")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with service.store.write():
            holding.set()
            release.wait(10)
    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    threading.Timer(0.3, release.set).start()
    try:
        answer = api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"}, headers=headers)
    finally:
        release.set()
        holder.join()
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "rectifying"
    assert history_length(service, case_id) == before + 1


def test_a_token_holder_promoted_in_the_table_alone_is_refused_by_the_api(api, as_user, service):
    """The token, its holder and the users' log are read together for every request: zhang made committee over
    the province in app_user only is refused on a read and on a write (exit 10's answer), and nothing is written."""
    from sqlalchemy import update

    from engine.store.tables import users
    case_id = report_and_assign(api, as_user)
    before = service.queries.history(case_id)
    headers = as_user("zhang")
    with service.store.write() as conn:
        conn.execute(update(users).where(users.c.name == "zhang").values(roles="committee", regions="37"))
    for answer in (api.get("/api/v1/me", headers=headers),
                   api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"}, headers=headers)):
        error = answer.json()["error"]
        assert answer.status_code >= 400 and error["type"] == "TamperDetected" and error["exit_code"] == 10
        assert error["rule"] == "user"
    assert service.queries.history(case_id) == before


def test_a_token_revived_in_the_table_alone_is_refused_by_the_api(api, as_user, service):
    """The token's issue and revocations in the users' log are read with it: a revoked token revived in the table
    alone is refused on a read and a write (exit 10's answer), and nothing is written."""
    from sqlalchemy import update

    from engine.store.tables import user_tokens
    case_id = report_and_assign(api, as_user)
    before = service.queries.history(case_id)
    first, _ = service.commands.issue_token("ent", actor="li")
    service.commands.issue_token("ent", actor="li")  # more grants of the holder than the one checked
    service.commands.revoke_tokens("ent", actor="li", token_id=first.token_id)
    with service.store.write() as conn:
        conn.execute(update(user_tokens).where(user_tokens.c.id == first.token_id).values(revoked_at=None))
    headers = {"Authorization": f"Bearer {first.text}"}
    for answer in (api.get("/api/v1/me", headers=headers),
                   api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"}, headers=headers)):
        error = answer.json()["error"]
        assert answer.status_code >= 400 and error["type"] == "TamperDetected" and error["rule"] == "token", error
    assert service.queries.history(case_id) == before
    live = as_user("ent")  # a token the log issued and never revoked still passes
    assert api.post(f"/api/v1/cases/{case_id}/advance", json={"trigger": "start"}, headers=live).status_code == 200


def test_another_users_token_does_not_pass_for_a_tampered_one(api, as_user):
    """A token whose secret is changed is not the holder's: 401."""
    token = as_user("zhang")["Authorization"]
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert error_of(api.get("/api/v1/me", headers={"Authorization": forged}), 401)["rule"] == "token-wrong"


# -- ledgers in and out ----------------------------------------------------------------------------------------------
LEDGER = ROOT / "docs" / "example-ledger.xlsx"


def test_a_ledger_upload_dry_runs_then_imports_then_conflicts(api, as_user, service):
    """POST /imports?dry_run=true shows and writes nothing; without it the rows come in; the same file again is 409."""
    service.clock.advance(days=30)  # 2026-04-01, as docs/ledgers.md imports it
    form = {"set": ["region=371721"]}

    def upload(query: str = "", name: str = "example-ledger.xlsx"):
        return api.post(f"/api/v1/imports{query}", files={"file": (name, LEDGER.read_bytes())}, data=form,
                        headers=as_user("zhang"))
    dry = upload("?dry_run=true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["dry_run"], dry.json()["new"], dry.json()["file"]) == (True, 12, "example-ledger.xlsx")
    assert service.queries.cases().total == 0
    done = upload(name="../../../etc/passwd.xlsx")
    assert done.status_code == 200, done.text
    assert (done.json()["imported"], done.json()["file"]) == (12, "passwd.xlsx")
    assert service.queries.cases().total == 12
    error_of(upload(), 409, "Conflict")
    assert service.queries.cases().total == 12


def test_a_ledger_upload_takes_a_zip_of_photos_named_by_the_rows_codes(api, as_user, service):
    """The `photos` field: a zip of photos named by 隐患编号, attached to the cases written (hazard import --photos)."""
    import io
    import zipfile
    service.clock.advance(days=30)
    sheet = ("隐患编号,企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源,整改措施,责任人,整改期限,隐患状态\n"
             "YH-9,某化工有限公司,液氨储罐区未设泄漏报警,2026-03-05,一般,危化,执法检查,加装报警,王五,2026-06-30,整改中\n")
    album = io.BytesIO()
    with zipfile.ZipFile(album, "w") as archive:
        archive.writestr("YH-9-1.png", PHOTO.read_bytes())
        archive.writestr("YH-10-1.png", PHOTO.read_bytes())
    done = api.post("/api/v1/imports", files={"file": ("台账.csv", sheet.encode("utf-8-sig")),
                                              "photos": ("照片.zip", album.getvalue())},
                    data={"set": ["region=371721"]}, headers=as_user("zhang"))
    assert done.status_code == 200, done.text
    assert (done.json()["photos"]["attached"], done.json()["photos"]["unmatched"]) == (1, ["YH-10-1.png"])
    case_id = done.json()["first_case"]
    history = api.get(f"/api/v1/cases/{case_id}/history", headers=as_user("zhang")).json()["events"]
    assert [f["name"] for e in history if e["trigger"] == "attach" for f in e["data"]["files"]] == ["YH-9-1.png"]


def test_an_upload_of_another_type_or_too_large_or_with_bad_rows_is_refused(service, as_user):
    """A file that is no ledger is 400, one over the upload limit 413, bad rows 400 with every problem listed."""
    from fastapi.testclient import TestClient

    from web.app import create_app
    service.clock.advance(days=30)
    with TestClient(create_app(service, max_upload=64 * 1024)) as api:
        def upload(name: str, data: bytes, **form):
            return api.post("/api/v1/imports", files={"file": (name, data)}, data=form, headers=as_user("zhang"))
        assert error_of(upload("notes.txt", b"hello"), 400, "InvalidInput")["field"] == "file"
        assert error_of(upload("big.csv", b"x" * (65 * 1024)), 413)["rule"] == "too-large"
        bad = upload("台账.csv", "隐患内容,排查日期\n,2026-03-01\n".encode(), set=["region=371721"])
        error = error_of(bad, 400, "RowsInvalid")
        assert bad.json()["import"]["errors"] and "台账.csv" in error["message"]
        error_of(upload("台账.csv", b"a,b\n", set=["region"]), 400, "InvalidInput")
    assert service.queries.cases().total == 0


def test_the_register_downloads_as_xlsx_or_csv_with_the_filters_of_case_list(api, as_user):
    case_id = report_and_assign(api, as_user)
    sheet = api.get("/api/v1/export?region=3717", headers=as_user("li"))
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
    assert "attachment" in sheet.headers["content-disposition"]
    text = api.get("/api/v1/export?format=csv&headers=fields", headers=as_user("li"))
    assert text.headers["content-type"].startswith("text/csv")
    assert "液氨储罐区" in text.content.decode("utf-8-sig")
    none = api.get("/api/v1/export?format=csv&headers=fields&region=4101", headers=as_user("li"))
    assert "液氨储罐区" not in none.content.decode("utf-8-sig")
    assert case_id


# -- the OpenAPI document --------------------------------------------------------------------------------------------
def test_the_openapi_document_is_current():
    """docs/openapi.json is what the code generates (`python -m web.openapi > docs/openapi.json` writes it)."""
    from web.openapi import document
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert document() == checked_in, "docs/openapi.json is stale: run `python -m web.openapi > docs/openapi.json`"


def test_the_openapi_document_is_served_and_types_the_bodies(api):
    served = api.get("/openapi.json").json()
    from web.openapi import document
    assert served == document()
    schemas = served["components"]["schemas"]
    assert schemas["CaseDocument"]["properties"]["version"]["type"] == "integer"
    assert served["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    advance = served["paths"]["/api/v1/cases/{case_id}/advance"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "412", "422", "503"} <= set(advance)
    assert "HTTPValidationError" not in schemas  # a body that cannot be read is 400 with the error document


def test_the_interactive_docs_load_nothing_from_a_cdn(api):
    """Swagger UI and ReDoc fetch their scripts from a CDN: the server does not serve them."""
    assert api.get("/docs").status_code == 404 and api.get("/redoc").status_code == 404


def test_the_rung_statuses_are_the_clis():
    from typing import get_args

    from cli.escalation import RUNG_STATUSES
    from web.api.audit import RungStatus
    assert get_args(RungStatus) == RUNG_STATUSES


def test_the_groupings_are_the_reports():
    from typing import get_args

    from engine.reports.tally import GROUP_FIELDS
    from web.api.reports import By
    assert set(get_args(By)) == set(GROUP_FIELDS)


def test_multipart_is_read(api, as_user):
    """python-multipart reads the upload's form (FastAPI refuses forms without it)."""
    files = {"file": ("x.csv", io.BytesIO(b"a\n"))}
    answer = api.post("/api/v1/imports?dry_run=true", files=files, headers=as_user("zhang"))
    assert answer.status_code in (200, 400)


# -- whatever a client sends ----------------------------------------------------------------------------------------
def _json_values():
    from hypothesis import strategies as st
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _advance_bodies():
    from hypothesis import strategies as st
    triggers = st.sampled_from(["assign", "start", "submit", "verify", "close", "reject"]) | st.text(max_size=12)
    names = st.sampled_from([*FIVE, "opinion", "rectified_at"]) | st.text(max_size=8)
    values = st.text(max_size=30) | st.sampled_from(["2026-04-30", "2026-02-30", "15万", "-1", "9" * 30])
    fields = st.dictionaries(names, values | _json_values(), max_size=7)
    return _json_values() | st.fixed_dictionaries({"trigger": triggers}, optional={"fields": fields})


def test_no_body_a_client_sends_to_advance_is_a_server_error(api, as_user, service):
    """Any JSON value, and any trigger with any fields, is an answer with a document: never a 500, never a trace."""
    from hypothesis import HealthCheck, given, settings

    case_id = report_and_assign(api, as_user)
    headers = as_user("ent")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=_advance_bodies())
    def check(body):
        answer = api.post(f"/api/v1/cases/{case_id}/advance", json=body, headers=headers)
        assert answer.status_code in (200, 400, 403, 409, 422), answer.text
        if answer.status_code != 200:
            error_of(answer, answer.status_code)
    check()


def test_no_query_a_client_sends_to_the_register_is_a_server_error(api, as_user):
    """Any text in any filter of the register is the page or a 400 naming what is wrong."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    names = ["state", "region", "level", "workflow", "overdue", "enterprise", "industry", "source", "found_from",
             "found_to", "deadline_before", "search", "sort", "limit", "offset", "as_of"]
    headers = as_user("li")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(query=st.dictionaries(st.sampled_from(names), st.text(max_size=24), max_size=4))
    def check(query):
        answer = api.get("/api/v1/cases", params=query, headers=headers)
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            error_of(answer, 400, "InvalidInput")
    check()


def test_the_inbox_lists_the_callers_messages_and_marks_them_read(api, as_user):
    """GET /api/v1/inbox is `hazard inbox --json` (unread, newest first; `all=true` the read ones too); POST
    /api/v1/inbox/read marks them, the given ids or every one, and says how many."""
    case_id = report_and_assign(api, as_user)  # assignment tells the enterprise
    found = api.get("/api/v1/inbox", headers=as_user("ent"))
    assert found.status_code == 200, found.text
    [message] = found.json()
    assert (message["case_id"], message["read"]) == (case_id, False) and case_id in message["text"]
    assert api.get("/api/v1/inbox", headers=as_user("far")).json() == []   # nobody else's messages
    marked = api.post("/api/v1/inbox/read", json={"ids": [message["id"]]}, headers=as_user("ent"))
    assert marked.status_code == 200 and marked.json() == {"marked": 1}
    assert api.get("/api/v1/inbox", headers=as_user("ent")).json() == []
    assert [m["read"] for m in api.get("/api/v1/inbox?all=true", headers=as_user("ent")).json()] == [True]
    assert api.post("/api/v1/inbox/read", headers=as_user("ent")).json() == {"marked": 0}
    assert api.get("/api/v1/inbox").status_code == 401
