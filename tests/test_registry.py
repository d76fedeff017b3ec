"""One registry of parsed definitions and calendars per process: shared, bounded, and never stale about what
another process may change (the newest version of a workflow, the newest calendar)."""
from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from engine.app import Engine
from engine.app.registry import Registry
from engine.store.database import Store
from tests.conftest import report

MAJOR = (Path(__file__).parent.parent / "workflows" / "major-hazard.yaml").read_text(encoding="utf-8")


def test_a_calendar_refresh_by_another_process_is_seen_by_a_running_engine(service, db_url, clock):
    """A long-running engine (a scheduler, a web worker) counts new cases with a calendar another engine just
    stored, without a restart."""
    running = Engine(Store(db_url), clock=clock, trust_backdating=True)
    before = report(running)
    other = Engine(Store(db_url), clock=clock, trust_backdating=True)
    from tests.test_recalendar import next_year_calendar
    newer = next_year_calendar(date(2027, 1, 1))
    other.commands.refresh_calendar(actor="li", calendar=newer)
    after = report(running)
    assert before.calendar != newer.content_hash and after.calendar == newer.content_hash
    running.close()
    other.close()


def test_a_workflow_installed_by_another_process_is_used_for_new_cases_at_once(service, db_url, clock):
    """The newest version is asked of the database by every unit of work: no stale cache of 'newest'."""
    running = Engine(Store(db_url), clock=clock, trust_backdating=True)
    assert report(running).workflow_version == 1
    Engine(Store(db_url), clock=clock,
           trust_backdating=True).commands.install_definition(MAJOR.replace("闭环治理", "闭环治理(二版)"),
                                                                   "major-v2.yaml", actor="li")
    assert report(running).workflow_version == 2
    running.close()


def test_the_registry_is_bounded(service, monkeypatch):
    """Parsed versions beyond the bound are forgotten (and parsed again when asked), so a process that runs for
    months does not grow with every version it ever saw."""
    import engine.app.registry as registry_module
    monkeypatch.setattr(registry_module, "MAX_VERSIONS", 2)
    registry = Registry()
    for n in range(1, 4):
        service.commands.install_definition(MAJOR.replace("闭环治理", f"闭环治理 {n}"), f"major-{n}.yaml", actor="li")
    with service.store.read() as conn:
        loaded = [registry.loaded(conn, "major-hazard", v) for v in (1, 2, 3, 4)]
        assert len(registry._versions) == 2
        assert registry.loaded(conn, "major-hazard", 1).definition == loaded[0].definition
    assert [run.version for run in loaded] == [1, 2, 3, 4]


def test_one_registry_serves_many_threads(service):
    """Threads sharing an engine each get the same parsed version, and no thread sees a half-built cache."""
    found, errors = [], []

    def work():
        try:
            with service.store.read() as conn:
                found.append(service.registry.loaded(conn, "major-hazard", 1))
        except Exception as exc:  # noqa: BLE001 - the assertion names it
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(found) == 8 and len({id(f.definition) for f in found}) == 1
