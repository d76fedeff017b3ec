"""Errors as HTTP answers: the engine's error document with a status mapped from its exit code; never a trace.

Every refusal an HTTP client gets is the document `hazard --json` prints for the same error
(`engine.documents.error_document`: type, message, exit_code and the facts: rule, missing, case_id, ...), under
the status its exit code maps to (`STATUS`). Who is asking is another matter than what they may do: a
missing, malformed, wrong, expired or revoked token, or a disabled user, is 401 with `WWW-Authenticate: Bearer`
(`Unauthenticated`); a user known and refused is 403. A body or a query the API cannot read is 400 with the
same document (type InvalidInput, exit code 2) naming the field; anything unforeseen is 500 with a document
that says only that, the trace going to the server's log.
"""
from __future__ import annotations

import logging

from engine.domain.errors import HazardError, InvalidInput

STATUS = {
    1: 500,   # unexpected
    2: 400,   # a value that cannot be read
    3: 422,   # a workflow rule refused it
    4: 403,   # permission denied (401 when the caller is not authenticated: `Unauthenticated`)
    5: 404,   # not found
    6: 409,   # conflict: the case changed meanwhile, or what is added exists already
    7: 422,   # definition invalid
    8: 503,   # the database refused or is unreachable, or a file could not be written
    9: 422,   # a date outside the working-day calendar
    10: 500,  # the log does not verify (tampering): nothing was done, the operator must look
    11: 500,  # a stored case disagrees with the replay of its events
}
PRECONDITION_FAILED = 412
CHALLENGE = {"WWW-Authenticate": "Bearer"}

log = logging.getLogger("hazard.web")


class Unauthenticated(Exception):
    """The caller could not be told from their credentials; `error` says why (a PermissionDenied, usually)."""

    def __init__(self, error: HazardError):
        super().__init__(str(error))
        self.error = error


class PreconditionFailed(Exception):
    """`If-Match` named a version the case is no longer at (the engine's Conflict): nothing was written."""

    def __init__(self, error: HazardError):
        super().__init__(str(error))
        self.error = error


def status_of(exc: HazardError) -> int:
    return STATUS.get(exc.exit_code, 500)


def unreadable(problems: list[dict]) -> InvalidInput:
    """The first problem pydantic or the JSON parser found in a request, as the engine's InvalidInput names a
    field: `fields.deadline: Input should be a valid string` (the others follow in the message)."""
    def place(problem: dict) -> str:
        where = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "header", "path")]
        return ".".join(where)

    def said(problem: dict) -> str:
        name = place(problem)
        if problem.get("type") == "json_invalid":
            return "the body is not JSON: " + str((problem.get("ctx") or {}).get("error", "cannot be read"))
        if problem.get("type") == "model_attributes_type" or (not name and problem.get("type") == "dict_type"):
            return "the body is not a JSON object"
        return f"{name}: {problem.get('msg', 'cannot be read')}" if name else str(problem.get("msg"))

    first = problems[0] if problems else {}
    message = "; ".join(said(p) for p in problems[:5]) or "the request cannot be read"
    if len(problems) > 5:
        message += f"; and {len(problems) - 5} more"
    return InvalidInput(message, field=place(first) or None, rule="request")
