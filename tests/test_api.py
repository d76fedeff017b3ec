"""The public Python API: what `engine` exports, that importing it is cheap, and a script's day with it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from tests.conftest import FIVE

EXPORTED = {"documents", "Engine", "CaseFilter", "Page", "CaseView", "Case", "Event", "Actor", "SweepResult", "HazardError",
            "InvalidInput", "Refused", "PermissionDenied", "NotFound", "Conflict", "DefinitionInvalid", "StoreError",
            "StoreUnavailable", "CalendarNotCovered", "TamperDetected", "ReplayMismatch"}


def test_the_public_surface_is_pinned():
    """`engine.__all__` names exactly the public API, and every name resolves."""
    assert set(engine.__all__) == EXPORTED
    for name in engine.__all__:
        assert getattr(engine, name).__name__.rsplit(".", 1)[-1] == name
    from engine import documents  # the JSON shapes' module, as docs/architecture.md's script imports it
    assert callable(documents.case_document)
    with pytest.raises(AttributeError):
        engine.HazardService  # noqa: B018 - the split application layer has no such class


def test_importing_the_api_loads_no_database_or_scheduler():
    """`import engine` (and naming the exports) pays for neither SQLAlchemy nor APScheduler until used."""
    code = ("import sys, engine\nprint(sorted(m.split('.')[0] for m in sys.modules "
            "if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'apscheduler', 'click')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_script_runs_a_case_through_the_api_with_its_own_times(db_url):
    """A script opens an engine, reports, assigns and lists with times of its own, as docs/architecture.md shows."""
    hz = engine.Engine.open(db_url)
    hz.init(now="2026-03-01T09:00", admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717")):
        hz.commands.add_user(name, roles=[role], regions=[region], actor="li")
    case = hz.commands.report_case(actor="ent", title="液氨储罐区未设泄漏报警", enterprise="某化工有限公司",
                                   region="371721", industry="危险化学品", level="major", source="self_check",
                                   now="2026-03-02T09:00")
    assigned = hz.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE, now="2026-03-03T09:00")
    assert assigned.updated_at == engine_time("2026-03-03T09:00")
    page = hz.queries.cases(region="3717", overdue=True, now="2026-05-01")
    assert [c.id for c in page.cases] == [case.id] and page.total == 1
    assert hz.queries.cases(region="3717", overdue=True, now="2026-04-30T23:59").cases == []
    with pytest.raises(engine.Refused) as caught:
        hz.commands.advance_case(case.id, "verify", actor="zhang", now="2026-03-04")
    assert caught.value.rule == "state"
    hz.close()


def test_a_batch_writes_all_its_commands_or_none(service):
    """Commands in `Engine.batch()` share one transaction: a refusal half-way leaves nothing of the batch."""
    from tests.conftest import report
    before = service.queries.cases().total
    with pytest.raises(engine.Refused):
        with service.batch() as batch:
            first = report(batch)
            batch.advance_case(first.id, "assign", actor="zhang", fields=FIVE)
            batch.advance_case(first.id, "verify", actor="zhang")   # not allowed from assigned
    assert service.queries.cases().total == before
    with service.batch() as batch:
        ids = [report(batch).id for _ in range(3)]
        batch.advance_case(ids[0], "assign", actor="zhang", fields=FIVE)
        batch.advance_case(ids[0], "start", actor="ent")             # sees its own assign
    assert service.queries.case(ids[0]).state == "rectifying" and service.queries.cases().total == before + 3


def test_documents_are_the_engines_so_every_face_prints_the_same(service, runner):
    """The CLI's --json of `case show` is engine.domain.documents.case_document of the same case."""
    from cli.main import cli
    from engine.domain.documents import case_document, json_default
    from tests.conftest import report
    case = report(service)
    shown = json.loads(runner.invoke(cli, ["--db", service.store.url, "--now", "2026-03-02T10:00", "--json", "case",
                                           "show", case.id]).stdout)
    view = service.queries.case_view(case.id)
    expected = json.loads(json.dumps(case_document(view.case, engine_time("2026-03-02T10:00"), rungs=view.rungs,
                                                   linked=view.linked, evidence=service.queries.evidence(case.id)),
                                     default=json_default))
    assert shown == expected


def engine_time(text):
    from engine.domain.clock import parse_time
    return parse_time(text)
