"""hazard-closure's public Python API; `cli/` is one client of it, a web console or a script another.

    from engine import Engine, CaseFilter, documents
    hz = Engine.open("sqlite:///hazard.db")

`engine.documents` (the JSON shapes every face prints) is a public module name; it lives in engine/domain/.

Imported lazily, so `import engine` (and `hazard --help`) pays for neither SQLAlchemy nor APScheduler.
"""
from __future__ import annotations

from importlib import import_module

__all__ = [
    "documents", "Engine", "CaseFilter", "Page", "CaseView", "Case", "Event", "Actor", "SweepResult",
    "HazardError", "InvalidInput", "Refused", "PermissionDenied", "NotFound", "Conflict", "DefinitionInvalid",
    "StoreError", "StoreUnavailable", "CalendarNotCovered", "TamperDetected", "ReplayMismatch",
]

_WHERE = {
    "Engine": "engine.app", "CaseFilter": "engine.domain.filters", "Page": "engine.app.queries", "CaseView": "engine.app.queries",
    "Case": "engine.domain.case", "Event": "engine.domain.events", "Actor": "engine.domain.machine", "SweepResult": "engine.app.sweep",
    **{name: "engine.domain.errors" for name in __all__[9:]},
}
_MODULES = {"documents": "engine.domain.documents"}


def __getattr__(name: str):
    if name in _MODULES:
        return import_module(_MODULES[name])
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine' has no attribute '{name}'")


def __dir__():
    return sorted(__all__)
