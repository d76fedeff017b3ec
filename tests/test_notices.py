"""Notices (文书, docs/notices.md): document definitions checked with file:line, a step issuing a numbered notice
whose text is sealed in its event, numbers without gaps or duplicates across processes, `audit verify` catching an
edited text, and `hazard document list/show/print` scoped by the reader."""
from __future__ import annotations

import json
import multiprocessing
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
    assert [set(d) for d in listed] == [{"number", "kind", "title", "case_id", "issued_at", "sha256"}]
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
