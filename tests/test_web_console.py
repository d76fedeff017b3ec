"""The console's read and upload pages through the ASGI test client, on both databases: the register (filters,
as-of, paging, export), the escalation board, figures and the ledger upload; each scoped to the reader, with
every text escaped."""
from __future__ import annotations

import io

import pytest

from engine.domain.clock import FixedClock, parse_time
from tests.conftest import report
from tests.test_web_pages import LATER, XSS, app, browser, engine, signed_in  # noqa: F401 - fixtures

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def two_counties(engine):
    """An overdue case in 371721 (Heze, zhang's), a fresh one there, and one in 4101 (far's), clock at LATER."""
    late = report(engine, fields={"deadline": "2026-03-10"})
    fresh = report(engine, title="配电室未设置挡鼠板", enterprise="另一机械有限公司", industry="工贸",
                   level="general")
    away = report(engine, actor="far", title="郑州的隐患", enterprise="郑州某公司", region="410102")
    engine.clock = FixedClock(parse_time(LATER))
    return late, fresh, away


# -- the register ------------------------------------------------------------------------------------------------
def test_the_register_lists_the_readers_cases_only(browser, engine):
    late, fresh, away = two_counties(engine)
    page = signed_in(browser, "zhang").get("/register")
    assert page.status_code == 200, page.text
    assert late.id in page.text and fresh.id in page.text and away.id not in page.text
    assert "郑州" not in page.text
    far = signed_in(browser, "far").get("/register")
    assert away.id in far.text and late.id not in far.text


def test_the_register_filters_as_case_list_does(browser, engine):
    late, fresh, _ = two_counties(engine)
    client = signed_in(browser, "zhang")
    for query, shown, hidden in (("overdue=true", late, fresh), ("level=general", fresh, late),
                                 ("enterprise=另一", fresh, late), ("search=挡鼠板", fresh, late),
                                 ("industry=工贸", fresh, late), ("deadline_before=2026-03-15", late, fresh)):
        page = client.get("/register?" + query)
        assert page.status_code == 200, (query, page.text)
        assert shown.id in page.text and hidden.id not in page.text, query
    before = client.get("/register?as_of=2026-03-01T09:00")   # before either was reported
    assert before.status_code == 200 and late.id not in before.text
    wrong = client.get("/register?found_from=yesterday&sort=nonsense")
    assert wrong.status_code == 400 and 'id="refusal"' in wrong.text


def test_the_register_pages(browser, engine):
    cases = [report(engine, title=f"隐患{i}") for i in range(5)]
    client = signed_in(browser, "zhang")
    first = client.get("/register?limit=2&sort=id")
    assert cases[0].id in first.text and cases[2].id not in first.text and 'id="next"' in first.text
    third = client.get("/register?limit=2&offset=4&sort=id")
    assert cases[4].id in third.text and cases[0].id not in third.text and 'id="next"' not in third.text


def test_the_register_exports_what_it_shows_as_xlsx(browser, engine):
    late, fresh, away = two_counties(engine)
    client = signed_in(browser, "zhang")
    page = client.get("/register?level=major")
    import html
    import re
    href = html.unescape(re.search(r'href="([^"]+)" id="export"', page.text).group(1))
    answer = client.get(href)
    assert answer.status_code == 200, answer.text
    assert answer.content[:2] == b"PK"
    from openpyxl import load_workbook
    cells = " ".join(str(c.value) for row in load_workbook(io.BytesIO(answer.content)).active.iter_rows()
                     for c in row if c.value is not None)
    assert late.id in cells and fresh.id not in cells and away.id not in cells


# -- the escalation board --------------------------------------------------------------------------------------
def test_the_board_shows_due_rungs_by_region_scoped(browser, engine):
    late, fresh, away = two_counties(engine)
    engine.clock = FixedClock(parse_time("2026-04-20T09:00"))
    rows, _ = engine.queries.escalation_list(due=True)
    assert {r.case_id for r in rows} >= {late.id}, rows
    page = signed_in(browser, "zhang").get("/escalations")
    assert page.status_code == 200, page.text
    assert late.id in page.text and away.id not in page.text
    assert 'id="region-371721"' in page.text
    far = signed_in(browser, "far").get("/escalations")
    assert late.id not in far.text


# -- escaping ----------------------------------------------------------------------------------------------------
def test_these_pages_escape_titles_and_enterprises(browser, engine):
    report(engine, title=XSS, enterprise=XSS, fields={"deadline": "2026-03-10"})
    engine.clock = FixedClock(parse_time("2026-04-20T09:00"))
    client = signed_in(browser, "zhang")
    for path in ("/register", "/register?search=" + "%3Cscript%3E", "/escalations"):
        text = client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text, path


# -- figures -------------------------------------------------------------------------------------------------------
def test_figures_show_the_readers_stats_chart_lists_and_campaigns(browser, engine):
    late, fresh, away = two_counties(engine)
    client = signed_in(browser, "zhang")
    page = client.get("/figures")
    assert page.status_code == 200, page.text
    assert '<svg class="chart"' in page.text and "<script" not in page.text
    assert "曹县" in page.text and "郑州" not in page.text and "金水" not in page.text
    assert 'id="lists"' in page.text and 'id="campaigns"' in page.text
    by_level = client.get("/figures?by=level")
    assert by_level.status_code == 200 and "重大" in by_level.text
    far = signed_in(browser, "far").get("/figures")
    assert "曹县" not in far.text
    wrong = client.get("/figures?from=someday")
    assert wrong.status_code == 400 and 'id="refusal"' in wrong.text


def test_the_bulletin_is_viewed_without_script_and_downloads(browser, engine):
    two_counties(engine)
    client = signed_in(browser, "zhang")
    view = client.get("/figures/bulletin?period=month&date=2026-03-20")
    assert view.status_code == 200, view.text
    policy = view.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<script" not in view.text
    import html
    import re
    page = client.get("/figures?period=month&date=2026-03-20")
    xlsx = client.get(html.unescape(re.search(r'href="([^"]+)" id="bulletin-xlsx"', page.text).group(1)))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


# -- ledger upload -------------------------------------------------------------------------------------------------
LEDGER_FILE = __import__("pathlib").Path(__file__).resolve().parents[1] / "docs" / "example-ledger.xlsx"


def _csrf(client, path="/ledger") -> str:
    import re
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def _upload(client, name="example-ledger.xlsx", data=None, **form):
    return client.post("/ledger", files={"file": (name, data if data is not None else LEDGER_FILE.read_bytes())},
                       data={"csrf": _csrf(client), "set": "region=371721", **form})


def test_a_ledger_dry_runs_writing_nothing_then_confirms(browser, engine):
    import re
    engine.clock = FixedClock(parse_time("2026-04-01T09:00"))
    client = signed_in(browser, "zhang")
    dry = _upload(client, name="../../../etc/passwd.xlsx")
    assert dry.status_code == 200, dry.text
    assert 'id="dry-run"' in dry.text and 'id="mapping"' in dry.text and 'id="count-new">12<' in dry.text
    assert "<td>隐患内容</td><td>title</td><td>exact</td>" in dry.text  # how each header was matched
    assert "passwd.xlsx" in dry.text and "../" not in dry.text.split('id="dry-run"')[1].split("</h2>")[0]
    assert engine.queries.cases().total == 0                      # a dry run writes nothing
    upload_id = re.search(r'name="upload" value="([0-9a-f]{32})"', dry.text).group(1)
    other = signed_in(browser, "liu")                              # another session cannot confirm it
    refused = other.post("/ledger/confirm", data={"csrf": _csrf(other), "upload": upload_id})
    assert refused.status_code == 400 and engine.queries.cases().total == 0
    assert client.post("/ledger/confirm", data={"upload": upload_id}).status_code == 403
    assert engine.queries.cases().total == 0
    done = client.post("/ledger/confirm", data={"csrf": _csrf(client), "upload": upload_id})
    assert done.status_code == 200 and 'id="imported"' in done.text, done.text
    assert engine.queries.cases().total == 12
    again = client.post("/ledger/confirm", data={"csrf": _csrf(client), "upload": upload_id})
    assert again.status_code == 400 and engine.queries.cases().total == 12   # kept file gone once imported


def test_an_upload_of_another_type_too_large_or_with_bad_rows_is_refused_escaped(app, engine, browser):
    from fastapi.testclient import TestClient

    from web.app import create_app
    from tests.test_web_pages import sign_in
    small = create_app(engine, max_upload=64 * 1024)
    with TestClient(small, follow_redirects=False) as client:
        assert sign_in(client, "zhang").status_code == 303
        assert _upload(client, name="notes.txt", data=b"hello").status_code == 400
        assert _upload(client, name="big.csv", data=b"x" * (65 * 1024)).status_code == 413
        bad = _upload(client, name=XSS + ".csv", data=f"隐患内容,排查日期\n{XSS},2026-03-01\n,2026-03-01\n".encode())
        assert bad.status_code == 400, bad.text
        assert 'id="problems"' in bad.text and "<script>alert" not in bad.text and "<img src=x" not in bad.text
        assert "&lt;" in bad.text
    assert engine.queries.cases().total == 0


def test_sheet_cells_are_escaped_on_the_dry_run(browser, engine):
    from tests.test_import import HEADER
    engine.clock = FixedClock(parse_time("2026-04-01T09:00"))
    row = f"1,{XSS},{XSS},2026-01-05,重大,危化,执法检查,{XSS},王五,2026-06-30,整改中,"
    client = signed_in(browser, "zhang")
    dry = _upload(client, name="台账.csv", data="\n".join([HEADER, row]).encode("utf-8-sig"))
    assert dry.status_code == 200 and 'id="first-rows"' in dry.text, dry.text
    assert "<script>alert" not in dry.text and "<img src=x" not in dry.text and "&lt;script&gt;" in dry.text
    assert engine.queries.cases().total == 0


def test_figures_show_a_campaigns_targets(browser, engine):
    from tests.test_report_bulletin_app import CAMPAIGN
    two_counties(engine)
    engine.reports.campaigns.install(CAMPAIGN, "chemicals.yaml", actor="li", now=LATER)
    page = signed_in(browser, "zhang").get("/figures")
    assert page.status_code == 200, page.text
    assert "菏泽市危险化学品安全专项整治" in page.text and "整改率不低于90%" in page.text and "集中整治" in page.text


def test_these_pages_need_a_session_and_carry_the_security_headers(browser, engine):
    paths = ("/register", "/escalations", "/figures", "/figures/bulletin", "/ledger")
    anonymous = browser()
    for path in paths:
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
    assert anonymous.post("/ledger/confirm", data={"upload": "0" * 32}).status_code == 303
    client = signed_in(browser, "zhang")
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy.split("style-src")[0], path
        assert "script-src 'self'" in policy or "script-src" not in policy, path
