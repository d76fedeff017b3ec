"""Notices (文书, docs/notices.md): document definitions checked with file:line, a step issuing a numbered notice
whose text is sealed in its event, numbers without gaps or duplicates across processes, `audit verify` catching an
edited text, and `hazard document list/show/print` scoped by the reader."""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.app import Engine
from engine.app.notices import document_files, load_kinds
from engine.domain import notices as notice_model
from engine.domain.errors import Conflict, DefinitionInvalid, Refused
from engine.store.database import Store
from tests.conftest import FIVE, cli_on, report

pytestmark = pytest.mark.usefixtures("collected")

ROOT = Path(__file__).resolve().parent.parent
# The shipped major-hazard workflow issues the rectification order at `assign`.
ISSUING = (ROOT / "workflows" / "major-hazard.yaml").read_text(encoding="utf-8")
assert "    issues: rectification-order" in ISSUING
NUMBER = "371721安监责改〔2026〕{}号"

GOOD = """document: x-order
title: 测试指令书
number: "{office}测〔{year}〕{n}号"
fields: [deadline]
template: |
  <p>{{ case.enterprise }} {{ fields.deadline }}</p>
"""


def problems_of(text: str, name: str = "documents/x.yaml") -> list[str]:
    with pytest.raises(DefinitionInvalid) as caught:
        notice_model.parse(text, name)
    return [f"{f}:{line}: {msg}" for f, line, msg in caught.value.problems]


def install_issuing(service):
    """Nothing to install: `hazard init` installed the shipped major-hazard workflow, which issues at `assign`."""


# -- definitions ---------------------------------------------------------------------------------------------
def test_the_shipped_documents_load_and_render_escaped():
    kinds = load_kinds(document_files())
    assert set(kinds) == {"rectification-order", "posted-supervision-notice", "interview-notice",
                          "extension-decision", "acceptance-opinion", "delisting-notice"}
    text = notice_model.render(kinds["rectification-order"], case={"id": "HZ-2026-000001", "title": "<b>罐区</b>",
                                                                   "enterprise": "甲&乙"},
                               fields={"deadline": "2026-04-30"}, number="N1", office="371721", year=2026,
                               issued_on="2026-03-02")
    assert "&lt;b&gt;罐区&lt;/b&gt;" in text and "甲&amp;乙" in text and "<b>" not in text
    assert "甲&乙" in notice_model.plain_text(text) and "2026-04-30" in notice_model.plain_text(text)


@pytest.mark.parametrize("change,expected", [
    (("document: x-order", "document: X Order"), "documents/x.yaml:1: document name 'X Order' must be lower-case"),
    (('number: "{office}测〔{year}〕{n}号"', 'number: "{office}测〔{year}〕{n}{seq}号"'),
     "documents/x.yaml:3: document: number '{office}测〔{year}〕{n}{seq}号': unknown placeholder {seq}"),
    (('number: "{office}测〔{year}〕{n}号"', 'number: "{office}测〔{year}〕号"'),
     "documents/x.yaml:3: document: number '{office}测〔{year}〕号': must hold {n} exactly once"),
    (('number: "{office}测〔{year}〕{n}号"', 'number: "{office}测〔{year}〕{n:03d}号"'),
     "placeholders take no format"),
    (("title: 测试指令书\n", "title: 测试指令书\ncolour: red\n"), "documents/x.yaml:3: document: unknown key 'colour'"),
    (("fields.deadline }}</p>\n", "fields.deadline }}</p>\n  {{ fields.funds }}\n"),
     "documents/x.yaml:7: document: template: fields.funds is not among the document's 'fields'"),
    (("fields.deadline }}</p>\n", "fields.deadline }}</p>\n  {% if %}\n"), "documents/x.yaml:7: document: template: "),
    (("fields.deadline }}</p>\n", "fields.deadline }}</p>\n  {{ ''.__class__ }}{{ os }}\n"),
     "unknown name 'os'"),
    (("{{ case.enterprise }}", "{{ case.password }}"), "documents/x.yaml:6: document: template: case.password"),
])
def test_a_bad_document_definition_is_refused_with_file_and_line(change, expected):
    old, new = change
    assert old in GOOD
    found = problems_of(GOOD.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_a_template_past_its_bound_is_refused():
    huge = GOOD.replace("  <p>", "  " + "x" * 20_001 + "<p>", 1)
    assert any("past the limit of 20,000" in p for p in problems_of(huge))


def test_two_documents_sharing_a_name_or_a_pattern_are_refused():
    with pytest.raises(DefinitionInvalid) as caught:
        load_kinds([("a.yaml", GOOD), ("b.yaml", GOOD)])
    messages = [m for _, _, m in caught.value.problems]
    assert any("defined twice" in m for m in messages) and any("share numbers" in m for m in messages)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_definition_or_a_list_of_problems(text):
    try:
        notice_model.parse(GOOD.replace("<p>{{ case.enterprise }}", text.replace("\n", " "), 1), "x.yaml")
    except DefinitionInvalid as exc:
        assert all(isinstance(line, int) and line >= 1 for _, line, _ in exc.problems)


def test_a_workflow_issuing_an_unknown_document_is_refused_with_its_line(tmp_path, runner):
    path = tmp_path / "major-hazard.yaml"
    path.write_text(ISSUING.replace("issues: rectification-order", "issues: rectification-ordr"), encoding="utf-8")
    line = next(i for i, l in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "trigger: assign" in l)
    from cli.main import cli
    done = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert done.exit_code == 7, done.output
    assert f"{path}:{line}: transition 'assign': issues unknown document 'rectification-ordr'" in done.output
    path.write_text(ISSUING, encoding="utf-8")
    assert runner.invoke(cli, ["workflow", "validate", str(path)]).exit_code == 0


# -- issuing -------------------------------------------------------------------------------------------------
def test_assign_issues_a_numbered_notice_sealed_in_its_event(service):
    install_issuing(service)
    first, second = report(service), report(service, title="二号隐患")
    service.commands.advance_case(first.id, "assign", actor="zhang", fields=FIVE)
    service.commands.advance_case(second.id, "assign", actor="zhang", fields=FIVE)
    rows = service.notices.list()
    assert [r.number for r in rows] == [NUMBER.format(1), NUMBER.format(2)]
    event = service.queries.history(first.id)[-1]
    from engine.domain.events import text_hash
    assert event.data["notice"] == {"kind": "rectification-order", "number": NUMBER.format(1),
                                    "sha256": text_hash(rows[0].text)}
    assert "王五" in rows[0].text and "2026-04-30" in rows[0].text and first.id in rows[0].text
    assert service.audit.verify().breaks == []
    assert service.audit.replay_all().disagreements == []


def test_a_step_refused_takes_no_number(service):
    install_issuing(service)
    case = report(service)
    with pytest.raises(Refused):
        service.commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "deadline": "2020-01-01"})
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    assert [r.number for r in service.notices.list()] == [NUMBER.format(1)]


def test_verify_names_an_edited_or_removed_notice(service, runner):
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    from sqlalchemy import text
    with service.store.db_engine.begin() as conn:
        conn.execute(text("UPDATE notice SET text = REPLACE(text, '王五', '赵六')"))
    breaks = service.audit.verify().breaks
    assert [(b.case_id, b.seq) for b in breaks] == [(case.id, 2)] and "(edited)" in breaks[0].problem
    invoke = cli_on(runner, service.store.url)
    done = invoke("audit", "verify")
    assert done.exit_code == 10 and NUMBER.format(1) in done.output
    with service.store.db_engine.begin() as conn:
        conn.execute(text("DELETE FROM notice"))
    assert "no longer stored" in service.audit.verify().breaks[0].problem


# -- reading ---------------------------------------------------------------------------------------------------
def test_document_list_show_print(service, runner, tmp_path):
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    url = service.store.url
    invoke = cli_on(runner, url, actor="zhang")
    listed = json.loads(invoke("--json", "document", "list", "--case", case.id).stdout)
    assert [set(d) for d in listed] == [{"number", "kind", "title", "case_id", "issued_at", "sha256", "served"}]
    assert listed[0]["served"] is None
    assert listed[0]["number"] == NUMBER.format(1) and listed[0]["kind"] == "rectification-order"
    assert json.loads(invoke("--json", "document", "list", "--kind", "interview-notice").stdout) == []
    assert json.loads(invoke("--json", "document", "list", "--year", "2025").stdout) == []
    shown = invoke("document", "show", NUMBER.format(1))
    assert shown.exit_code == 0 and "责令限期整改指令书" in shown.stdout and "<p>" not in shown.stdout
    page = tmp_path / "notice.html"
    done = invoke("document", "print", NUMBER.format(1), "--format", "html", "--output", str(page))
    assert done.exit_code == 0, done.output
    html = page.read_text(encoding="utf-8")
    assert "size: A4" in html and "（印章）" in html and listed[0]["sha256"] in html
    # Outside the reader's reach, or never issued: not found.
    far = cli_on(runner, url, actor="far")
    assert far("document", "show", NUMBER.format(1)).exit_code == 5
    assert json.loads(far("--json", "document", "list").stdout) == []
    assert invoke("document", "show", NUMBER.format(9)).exit_code == 5


# -- service (送达) --------------------------------------------------------------------------------------------
@pytest.fixture
def receipt(tmp_path, monkeypatch):
    """The evidence store (required on PostgreSQL) and a signed receipt to attach."""
    monkeypatch.setenv("HAZARD_FILES", str(tmp_path / "evidence"))
    path = tmp_path / "回执.pdf"
    path.write_bytes(b"%PDF-1.4\n% signed receipt\n")
    return path


def test_serve_records_who_when_and_the_receipt_as_evidence(service, runner, receipt):
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    invoke = cli_on(runner, service.store.url, actor="zhang", now="2026-03-03T12:00")
    done = invoke("--json", "document", "serve", NUMBER.format(1), "--by", "张三", "--at", "2026-03-03T10:00",
                  "--signed-by", "王五", "--receipt", str(receipt))
    assert done.exit_code == 0, done.output
    served = json.loads(done.stdout)
    assert served["by"] == "张三" and served["signed_by"] == "王五" and served["served_at"].startswith("2026-03-03T10:00")
    history = service.queries.history(case.id)
    attach, serve = history[-2], history[-1]
    # The receipt is attached once, through the attach machinery, as evidence of kind `notice`; the serve event
    # names its hash, and both keep the state.
    assert attach.trigger == "attach" and attach.data["files"][0]["kind"] == "notice"
    assert serve.trigger == "serve_notice" and serve.data["served"]["receipt"]["sha256"] == attach.data["files"][0]["sha256"]
    assert serve.to_state == serve.from_state == "assigned" and serve.role == "supervisor"
    assert len([p for p in (receipt.parent / "evidence").rglob("*") if p.is_file()]) == 1
    listed = json.loads(invoke("--json", "document", "list", "--case", case.id).stdout)
    assert listed[0]["served"] == {"by": "张三", "served_at": served["served_at"], "signed_by": "王五",
                                   "receipt_sha256": attach.data["files"][0]["sha256"]}
    shown = invoke("document", "show", NUMBER.format(1)).stdout
    assert "送达: served 2026-03-03 10:00" in shown and "signed for by 王五" in shown
    assert service.audit.verify().breaks == []
    assert service.audit.replay_all().disagreements == []
    # Served once; a second service is refused and changes nothing.
    again = invoke("document", "serve", NUMBER.format(1), "--by", "李四", "--at", "2026-03-03T11:00",
                   "--signed-by", "王五")
    assert again.exit_code == 3 and "already served" in again.output
    assert len(service.queries.history(case.id)) == len(history)


def test_trace_and_dossier_list_each_notice_with_its_service(service, runner, receipt):
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    invoke = cli_on(runner, service.store.url, actor="zhang", now="2026-03-03T12:00")
    before = json.loads(invoke("--json", "audit", "trace", case.id).stdout)["notices"]
    assert [(n["number"], n["kind"], n["served"]) for n in before] == [(NUMBER.format(1), "rectification-order", None)]
    assert invoke("document", "serve", NUMBER.format(1), "--by", "张三", "--at", "2026-03-03T10:00",
                  "--signed-by", "王五", "--receipt", str(receipt)).exit_code == 0
    traced = json.loads(invoke("--json", "audit", "trace", case.id).stdout)["notices"]
    assert traced[0]["served"]["by"] == "张三" and traced[0]["served"]["signed_by"] == "王五"
    assert traced[0]["issued_at"].startswith("2026-03-02") and traced[0]["served"]["receipt_sha256"]
    text = invoke("audit", "trace", case.id).stdout
    assert "notices issued and served" in text and NUMBER.format(1) in text
    from engine.domain.clock import parse_time
    dossier = service.audit.dossier(case.id, now=parse_time("2026-03-03T12:00"))
    assert dossier["notices"][0]["number"] == NUMBER.format(1) and dossier["notices"][0]["served"]["by"] == "张三"
    from engine.domain.dossier import to_html
    html = to_html(dossier)
    assert "文书与送达" in html and NUMBER.format(1) in html and "王五 签收" in html


@pytest.mark.parametrize("actor,args,code,words", [
    ("ent", ["--at", "2026-03-03T10:00"], 4, "supervisor or committee"),   # the enterprise signs, does not serve
    ("far", ["--at", "2026-03-03T10:00"], 4, "far"),                       # outside the case's region
    ("zhang", ["--at", "2026-03-01T10:00"], 2, "before"),                  # before the notice was issued
    ("zhang", ["--at", "2026-03-04T10:00"], 2, "after now"),               # in the future
    ("zhang", ["--at", "昨天"], 2, "昨天"),                               # not a time
])
def test_serve_refusals_change_nothing(service, runner, actor, args, code, words):
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    invoke = cli_on(runner, service.store.url, actor=actor, now="2026-03-03T12:00")
    done = invoke("document", "serve", NUMBER.format(1), "--by", "张三", "--signed-by", "王五", *args)
    assert done.exit_code == code, done.output
    assert words in done.output and "Traceback" not in done.output
    assert service.queries.history(case.id)[-1].trigger == "assign"
    assert invoke("document", "serve", NUMBER.format(9), "--by", "张三", "--signed-by", "王五",
                  "--at", "2026-03-03T10:00").exit_code == 5


def test_the_bulletin_cites_the_number_issued_for_an_interview(service):
    """An interview the committee approved opens a linked case; the notice its `hold` issues is cited in the
    bulletin's interview table (文号); the hazard's rectification order, another kind, is not."""
    from engine.app.sweep import sweep
    from engine.domain.clock import parse_time
    from tests.conftest import run_to
    install_issuing(service)
    interview = (ROOT / "workflows" / "interview.yaml").read_text(encoding="utf-8").replace(
        "    label: 约谈\n", "    label: 约谈\n    issues: interview-notice\n", 1)
    service.commands.install_definition(interview, "interview.yaml", actor="li")
    case = run_to(service, report(service).id, "rectifying")
    sweep(service, now=parse_time("2026-05-08T08:00"))
    after = service.commands.decide(case.id, "interview", "approve", actor="li", reason="逾期一周未整改",
                                    now="2026-05-09T10:00")
    linked = after.decisions["proposals"]["rectification/1/interview"]["linked_case"]
    service.commands.advance_case(linked, "hold", actor="zhang", now="2026-05-10T10:00",
                                  fields={"held_at": "2026-05-10T09:00", "minutes": "约谈纪要", "commitments": "五日内整改",
                                          "clerk": "赵六"})
    numbers = {r.kind: r.number for r in service.notices.list()}
    assert set(numbers) == {"rectification-order", "interview-notice"}
    made = service.reports.bulletin(period="month", date="2026-05-31", region="3717", now="2026-06-02T09:00")
    rows = made.document["interviews"]
    assert [r["case_id"] for r in rows] == [linked] and rows[0]["notices"] == [numbers["interview-notice"]]
    text = made.markdown()
    assert "文号" in text and numbers["interview-notice"] in text and numbers["rectification-order"] not in text


# -- PDF -------------------------------------------------------------------------------------------------------
EXAMPLE_PNG = ROOT / "docs" / "notice-example.png"
A4_PIXELS = (794, 1123)  # 210 x 297 mm at 96 px per inch: the size docs/notice-example.png is taken at


def test_print_pdf_is_a4_with_chinese_fonts_the_number_and_title(service, runner, tmp_path):
    """`document print --format pdf` prints through headless Chromium: one A4 page, a Chinese font embedded, the
    title and the number in its text; rendered to PNG (pdftoppm where installed, else Chromium's screenshot of the
    same page at A4) it has ink, and agrees at the scale of its blocks with the picture in docs/notices.md."""
    import shutil
    import subprocess
    from tests import browser
    browser.need()
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    invoke = cli_on(runner, service.store.url, actor="zhang")
    pdf, html = tmp_path / "notice.pdf", tmp_path / "notice.html"
    done = invoke("document", "print", NUMBER.format(1), "--format", "pdf", "--output", str(pdf))
    assert done.exit_code == 0, done.output
    data = pdf.read_bytes()
    sizes = browser.pdf_page_sizes(data)
    assert data.startswith(b"%PDF") and len(sizes) == 1, sizes
    assert abs(sizes[0][0] - browser.A4_POINTS[0]) < 1.5 and abs(sizes[0][1] - browser.A4_POINTS[1]) < 1.5, sizes
    assert any(any(f.startswith(k.replace(" ", "")) for k in browser.CJK_FONTS) for f in browser.pdf_fonts(data))
    texts = "\n".join(browser.pdf_texts(data))
    assert "责令限期整改指令书" in texts and NUMBER.format(1) in texts and "（印章）" in texts
    assert invoke("document", "print", NUMBER.format(1), "--output", str(html)).exit_code == 0
    png = tmp_path / "notice.png"
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "96", "-singlefile", str(pdf), str(tmp_path / "notice")],
                       check=True, timeout=120)
    else:
        browser.screenshot(html, png, width=A4_PIXELS[0], height=A4_PIXELS[1])
    shot = browser.screenshot(html, tmp_path / "page.png", width=A4_PIXELS[0], height=A4_PIXELS[1])
    assert sum(browser.ink_profiles([png.read_bytes()])[0]["ink"]) > 0
    if os.environ.get("HAZARD_WRITE_DOCS") == "1":  # regenerate the manual's picture
        EXAMPLE_PNG.write_bytes(shot)
    assert browser.unlike(EXAMPLE_PNG.read_bytes(), shot) == []


def test_print_pdf_without_a_browser_is_an_io_error_and_writes_nothing(service, runner, tmp_path, monkeypatch):
    install_issuing(service)
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    monkeypatch.setenv("HAZARD_CHROMIUM", str(tmp_path / "no-such-browser"))
    pdf = tmp_path / "notice.pdf"
    done = cli_on(runner, service.store.url, actor="zhang")("document", "print", NUMBER.format(1), "--format", "pdf",
                                                            "--output", str(pdf))
    assert done.exit_code == 8 and "no Chromium" in done.output and "Traceback" not in done.output
    assert not pdf.exists()


# -- numbering under concurrency ----------------------------------------------------------------------------------
def _assign_all(db_url, case_ids, queue):
    from engine.domain.clock import FixedClock, parse_time
    svc = Engine(Store(db_url, create=True), clock=FixedClock(parse_time("2026-03-02T10:00")), trust_backdating=True)
    done = lost = 0
    for case_id in case_ids:
        try:
            svc.commands.advance_case(case_id, "assign", actor="zhang", fields=FIVE)
            done += 1
        except (Conflict, Refused):  # another process assigned it first
            lost += 1
    svc.store.dispose()
    queue.put((done, lost))


@pytest.mark.slow
def test_several_processes_issue_numbers_without_gaps_or_duplicates(service, db_url):
    """Four processes race to assign the same 12 cases: each case is assigned once, and the notices are numbered
    1 to 12 with none skipped (a lost race gives its number back) and none given twice."""
    install_issuing(service)
    ids = [report(service, title=f"隐患{i}").id for i in range(12)]
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_assign_all, args=(db_url, ids[w:] + ids[:w], queue)) for w in range(4)]
    for p in procs:
        p.start()
    counts = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert sum(c[0] for c in counts) == 12
    rows = service.notices.list()
    assert sorted(r.n for r in rows) == list(range(1, 13))
    assert sorted(r.case_id for r in rows) == sorted(ids)
    assert service.audit.verify().breaks == []
