"""hazard-closure's public Python API; `cli/` is one client of it, a web console or a script another.

    from engine import Engine, CaseFilter
    hz = Engine.open("sqlite:///hazard.db")

Imported lazily, so `import engine` (and `hazard --help`) pays for neither SQLAlchemy nor APScheduler.
"""
from __future__ import annotations

from importlib import import_module

__all__ = [
    "Engine", "CaseFilter", "Page", "CaseView", "Case", "Event", "Actor", "SweepResult",
    "HazardError", "InvalidInput", "Refused", "PermissionDenied", "NotFound", "Conflict", "DefinitionInvalid",
    "StoreError", "StoreUnavailable", "CalendarNotCovered", "TamperDetected", "ReplayMismatch",
]

_WHERE = {
    "Engine": "engine.app", "CaseFilter": "engine.domain.filters", "Page": "engine.app.queries", "CaseView": "engine.app.queries",
    "Case": "engine.domain.case", "Event": "engine.domain.events", "Actor": "engine.domain.machine", "SweepResult": "engine.app.sweep",
    **{name: "engine.domain.errors" for name in __all__[8:]},
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine' has no attribute '{name}'")


def __dir__():
    return sorted(__all__)
