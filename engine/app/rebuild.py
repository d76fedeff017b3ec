"""Re-deriving every projection from the events: the case rows and the rung rows, after an upgrade or a repair.

The events are the truth and never change here; each case is replayed under the definition versions its
events name (every event checked, as `audit replay` does), and its row and unfired rung rows are rewritten
from the replay, in batches, each batch one unit of work. A log that no definition could have produced stops
the rebuild naming the case: nothing is guessed.
"""
from __future__ import annotations

from itertools import groupby
from typing import Callable


def rebuild(engine, *, batch: int = 500, on_case: Callable[[], None] | None = None) -> tuple[int, int]:
    """Rewrite every case's projection from its events; returns (cases, events) read."""
    from engine.domain.replay import replay
    from engine.store import audit_reads as audit_store

    with engine.store.read() as conn:
        ids = list(audit_store.case_ids(conn))
    cases = events = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        with engine.unit() as unit:
            definitions = lambda name, version: unit.run(name, version).definition  # noqa: E731
            for case_id, log in groupby(audit_store.events_of_cases(unit.conn, chunk), key=lambda e: e.case_id):
                log = list(log)
                case = replay(log, definitions)
                unit.rewrite(case, unit.run(case.workflow, case.workflow_version))
                cases += 1
                events += len(log)
                if on_case:
                    on_case()
    return cases, events
