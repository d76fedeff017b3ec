"""The engine through its Python API: reporting, advancing, refusing, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused
from tests.conftest import FIVE, report, run_to


def test_a_major_hazard_runs_the_whole_closed_loop(service):
    """Reported, assigned with the five implementations, rectified, verified by someone else, closed."""
    case = report(service)
    assert case.id.startswith("HZ-2026-") and case.state == "reported"
    closed = run_to(service, case.id, "closed")
    assert closed.state == "closed" and closed.is_final and closed.version == 6
    assert closed.fields["funds"] == "150000.00"
    assert [e.trigger for e in service.history(case.id)] == ["report", "assign", "start", "submit", "verify", "close"]
