"""Every error the engine raises on purpose, each with the facts a user can act on and its exit code.

    HazardError                      exit 1   (base; never raised bare)
     +-- InvalidInput                exit 2   a value that cannot be read (bad date, unknown option value)
     +-- Refused                     exit 3   a workflow rule refused the command; names the rule and what is missing
     +-- PermissionDenied            exit 4   unknown actor, role not allowed, case outside the actor's region
     |                                        or another enterprise's (a bound enterprise user)
     +-- NotFound                    exit 5   no such case, workflow, version or user
     +-- Conflict                    exit 6   someone else changed the case first; nothing was written
     +-- DefinitionInvalid           exit 7   a workflow file has problems, each as FILE:LINE: message
     +-- StoreError                  exit 8   the database refused or is unreachable
     |    +-- StoreUnavailable
     +-- WriteFailed                 exit 8   a file a command writes (an export, --output) cannot be written
     +-- CalendarNotCovered          exit 9   a date before the working-day calendar's first year
     +-- TamperDetected              exit 10  the event log does not verify (edited, removed or reordered events)
     +-- ReplayMismatch              exit 11  a stored projection disagrees with the replay of its events

`cli/main.py` is the one place that turns these into a message on stderr and the exit code; the README's
exit-code table is checked against `EXIT_CODES` by a test.
"""
from __future__ import annotations


class HazardError(Exception):
    """`rule` names what refused or failed, for programs (and for the CLI, which adds its hints by it)."""

    exit_code = 1

    def __init__(self, message: str, *, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule

    def __str__(self) -> str:
        return self.message


class InvalidInput(HazardError):
    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message, rule=rule)
        self.field = field


class Refused(HazardError):
    """A rule of the workflow refused a command. `rule` names it; `missing` lists required fields not given."""

    exit_code = 3

    def __init__(self, message: str, *, case_id: str | None = None, trigger: str | None = None,
                 rule: str, missing: tuple[str, ...] = ()):
        super().__init__(message, rule=rule)
        self.case_id = case_id
        self.trigger = trigger
        self.missing = tuple(missing)


class PermissionDenied(HazardError):
    exit_code = 4

    def __init__(self, message: str, *, actor: str | None = None, rule: str = "permission"):
        super().__init__(message, rule=rule)
        self.actor = actor


class NotFound(HazardError):
    exit_code = 5

    def __init__(self, message: str, *, kind: str, key: str, rule: str | None = None):
        super().__init__(message, rule=rule)
        self.kind = kind
        self.key = key


class Conflict(HazardError):
    exit_code = 6

    def __init__(self, message: str, *, case_id: str, expected_version: int | None = None, rule: str = "version"):
        super().__init__(message, rule=rule)
        self.case_id = case_id
        self.expected_version = expected_version


class DefinitionInvalid(HazardError):
    """A definition has problems; `problems` holds every one as (file, line, message)."""

    exit_code = 7

    def __init__(self, problems: list[tuple[str, int, str]]):
        self.problems = list(problems)
        super().__init__("\n".join(f"{f}:{line}: {msg}" for f, line, msg in self.problems))


class StoreError(HazardError):
    exit_code = 8


class StoreUnavailable(StoreError):
    pass


class WriterBusy(StoreUnavailable):
    """A write asked to start at once (`Store.write(at_once=True)`, SQLite) found another writer holding the
    database; nothing was done, and the caller runs it again where waiting its turn is harmless."""


class WriteFailed(HazardError):
    """A file a command writes could not be written (no such folder, no permission, a full disk); `path` names it.
    Exit 8 with the database's errors: input and output failed, not the user's usage. What was there is left."""

    exit_code = 8

    def __init__(self, message: str, *, path: str, rule: str = "write"):
        super().__init__(message, rule=rule)
        self.path = path


class CalendarNotCovered(HazardError):
    exit_code = 9


class TamperDetected(HazardError):
    exit_code = 10

    def __init__(self, message: str, *, breaks: list | None = None, rule: str = "chain"):
        super().__init__(message, rule=rule)
        self.breaks = list(breaks or [])


class ReplayMismatch(HazardError):
    exit_code = 11


EXIT_CODES: dict[int, str] = {
    0: "ok",
    1: "unexpected error",
    2: "usage error or a value that cannot be read",
    Refused.exit_code: "refused by a workflow rule",
    PermissionDenied.exit_code: "permission denied",
    NotFound.exit_code: "not found",
    Conflict.exit_code: "conflict: the case changed meanwhile, or what is added exists already; nothing was written",
    DefinitionInvalid.exit_code: "invalid workflow definition",
    StoreError.exit_code: "database error or database unreachable, or a file that cannot be written",
    CalendarNotCovered.exit_code: "date outside the working-day calendar",
    TamperDetected.exit_code: "the event log does not verify (tampering)",
    ReplayMismatch.exit_code: "a stored case disagrees with the replay of its events",
}
