"""The HTTP API, /api/v1: one router per group of commands, each route a CLI command's engine call and document.

    cases.py      /me, /cases (report, list, show, history, advance, extend)
    audit.py      /escalations, /cases/{id}/trace, /cases/{id}/dossier, /audit/verify
    reports.py    /reports/stats, /reports/bulletin, /reports/lists, /campaigns
    ledger.py     /imports (upload), /export (download)
    inbox.py      /inbox, /inbox/read
    workflows.py  /workflows

Every route takes `web.auth.call` (the authenticated caller) and reaches the engine through `web.calls`.
"""
from __future__ import annotations

from web import auth, routes
from web.api import audit, cases, inbox, ledger, reports, workflows
from web.models import ErrorDocument

PREFIX = "/api/v1"


def _error(description: str) -> dict:
    return {"model": ErrorDocument, "description": description}


# The answers any route may give besides its own (web/errors.py maps exit codes to them).
ERRORS = {
    400: _error("A value that cannot be read (exit code 2), a body that is not JSON or a field of the wrong type."),
    401: _error("No credentials, or a token that is wrong, expired or revoked, or a disabled user "
                "(`WWW-Authenticate: Bearer`)."),
    403: _error("The caller may not do this (exit code 4): a role or a region the rule does not give them."),
    404: _error("No such case, workflow, campaign or user (exit code 5)."),
    409: _error("The case changed meanwhile, or what is added exists already (exit code 6); nothing was written."),
    413: _error("The body is larger than the server takes."),
    422: _error("A workflow rule refused it (exit code 3), a definition is invalid (7), or a date lies outside the "
                "working-day calendar (9)."),
    503: _error("The database refused or is unreachable (exit code 8)."),
}

def install(app) -> None:
    """Add every group's routes under PREFIX, flat (web/routes.py says why), tagged with the group's name."""
    for module in (cases, audit, reports, ledger, workflows, inbox):
        routes.add(app, module.router, prefix=PREFIX, tags=[module.__name__.rsplit(".", 1)[-1]], responses=ERRORS,
                   wrap=auth.in_one_thread)
