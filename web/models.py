"""The API's request and response bodies as pydantic models: what the OpenAPI document says each field is.

Requests are read strictly: an unknown key, a number where text is expected, or a text holding a control
character (tab and line breaks aside, as on the command line) is a 400 naming the field. Responses are the
engine's documents (`engine.documents`), returned as they are (`web.responses`); these models describe them,
and the tests check every answer against its model. Where a document carries the case's own fields beside the
core keys (the case document) or grows with the report definition (figures, bulletins, lists), the model
names the keys every document has and allows the rest.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# -- requests ---------------------------------------------------------------------------------------------------
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(value: str) -> str | None:
    """Why a text from a request cannot be taken (a control character, a lone surrogate no database stores)."""
    for char in value:
        if "\ud800" <= char <= "\udfff":
            return "is not UTF-8 text (a lone surrogate)"
        if (char < " " or "\x7f" <= char <= "\x9f") and char not in _ALLOWED_CONTROLS:
            return f"holds the control character U+{ord(char):04X}, which is not allowed"
    return None


def _texts(value, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key, path)
            yield from _texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item, path)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _plain_text(self):
        for name in type(self).model_fields:
            for where, text in _texts(getattr(self, name), name):
                problem = text_problem(text)
                if problem:
                    raise ValueError(f"{where} {problem}")
        return self


class NewCase(Body):
    """`hazard case report`: the hazard as found; `fields` are further fields of the workflow (`--set`)."""

    title: str = Field(description="What the hazard is (隐患内容).")
    enterprise: str = Field(description="The production unit (生产经营单位).")
    region: str = Field(description="A division of the national list, by code (371721) or name (曹县).")
    industry: str = Field(description="Key sector: a word of the vocabulary (危险化学品, 非煤矿山, ...).")
    level: str = Field(description="major (重大) or general (一般).")
    source: str = Field(description="How it was found: self_check, inspection, cross_region, ...")
    workflow: str | None = Field(None, description="Default: major-hazard for major, general-hazard for general.")
    found_at: str | None = Field(None, description="When it was found, ISO 8601 (default: now).")
    fields: dict[str, str] | None = Field(None, description="Further fields of the workflow, as `--set` gives them.")


class Advance(Body):
    """`hazard case advance`: fire `trigger` with the fields it requires."""

    trigger: str = Field(description="assign, start, submit, verify, reject, close, ... (the workflow's triggers).")
    fields: dict[str, str] | None = Field(None, description="The fields the transition requires or accepts.")


class Extend(Body):
    """`hazard case extend`: a new deadline and why."""

    until: str = Field(description="The new deadline (YYYY-MM-DD or ISO time).")
    reason: str = Field(description="Why the deadline moves (recorded in the event).")
    clock: str | None = Field(None, description="Which clock to extend (default: the one on the deadline field).")


# -- responses --------------------------------------------------------------------------------------------------
class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OpenDocument(BaseModel):
    """A document whose further keys depend on the case's workflow or the report definition."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ErrorBody(Document):
    type: str = Field(description="The engine's error class: InvalidInput, Refused, PermissionDenied, NotFound, ...")
    message: str
    exit_code: int = Field(description="The exit code `hazard` gives for the same error (the status derives from it).")
    rule: str | None = Field(None, description="The rule that refused or failed, for programs.")
    missing: list[str] | None = Field(None, description="Required fields not given.")
    case_id: str | None = None
    trigger: str | None = None
    actor: str | None = None
    kind: str | None = None
    key: str | None = None
    field: str | None = Field(None, description="The input at fault.")
    path: str | None = None
    problems: list[dict[str, Any]] | None = Field(None, description="A definition's problems, each file, line, message.")
    hint: str | None = None


class ErrorDocument(Document):
    error: ErrorBody
    import_: dict[str, Any] | None = Field(None, alias="import",
                                           description="An import refused for its rows: the import's document.")


class Health(Document):
    status: str = Field(description="ok, or unavailable")
    reason: str | None = None


class Me(Document):
    name: str
    roles: list[str]
    regions: list[str]
    enterprise: str | None = Field(None, description="The enterprise an enterprise user is bound to, if any.")


class Message(Document):
    """An in-app message, as `hazard inbox --json` lists it."""

    id: int
    case_id: str | None = Field(description="The case it is about; null for a daily digest.")
    text: str
    created_at: str
    read: bool


class MarkRead(Body):
    """`hazard inbox --read`: mark messages read."""

    ids: list[int] | None = Field(None, description="The messages to mark (default: every unread one).",
                                  max_length=1000)


class Marked(Document):
    marked: int = Field(description="How many unread messages were marked read.")


class Rung(Document):
    case_id: str
    clock: str
    cycle: int
    rung: str
    action: str
    due_at: str | None
    provisional: bool
    fired_at: str | None
    status: str


class Linked(Document):
    id: str
    workflow: str
    state: str
    final: bool
    deadline: str | None
    title: str


class PendingDecision(OpenDocument):
    kind: str = Field(description="proposal or extension")
    rung: str
    label: str
    action: str | None
    since: str
    decided_by: list[str]


class Evidence(Document):
    """A file sealed on the case by an `attach` event (`hazard case show --json`, key `evidence`)."""

    sha256: str = Field(description="The SHA-256 of the stored bytes, as sealed.")
    name: str
    size: int
    media_type: str = Field(description="Sniffed from the bytes, not taken from the name.")
    kind: str = Field(description="found, rectified, plan, acceptance, minutes, notice or other.")
    attached_at: str
    by: str
    taken_at: str | None = Field(None, description="A photo's EXIF time taken (the camera's local time).")
    gps: list[float] | None = Field(None, description="A photo's EXIF position: [latitude, longitude].")
    device: str | None = Field(None, description="A photo's EXIF camera make and model.")
    taken_before_found: bool | None = Field(None, description="A rectification photo taken before the hazard "
                                                              "was found.")
    note: str | None = None


class StoredFile(Document):
    """A file `POST /cases/{id}/attachments` stored, as `hazard --json case attach` prints it."""

    sha256: str
    name: str
    size: int
    media_type: str
    kind: str
    exif: dict[str, Any] | None = None
    taken_before_found: bool | None = None


class CaseDocument(OpenDocument):
    """`hazard case show --json`; the case's own fields also stand at the top level."""

    id: str
    workflow: str
    workflow_version: int
    state: str
    state_label: str | None = None
    version: int = Field(description="Increases with every event; `ETag` and `If-Match` carry it.")
    level: str
    title: str
    enterprise: str
    region: str
    industry: str
    source: str
    found_at: str | None
    deadline: str | None
    due_at: str | None
    overdue: bool
    final: bool
    rectified_at: str | None
    accepted_at: str | None
    flags: list[str]
    parent: str | None
    created_at: str | None
    updated_at: str | None
    closed_at: str | None
    level_label: str
    source_label: str
    fields: dict[str, Any]
    missing_implementations: list[str] = Field(description="The five implementations (五落实) not yet given.")
    voided: bool
    voided_at: str | None
    original_deadline: str | None
    extensions: list[dict[str, Any]]
    extension_application: dict[str, Any] | None
    void: dict[str, Any] | None
    proposals: list[dict[str, Any]]
    pending_decisions: list[PendingDecision]
    rungs: list[Rung] | None = Field(None, description="Its escalation rungs (a case read now, not as of a time).")
    linked: list[Linked] | None = Field(None, description="Cases it opened (interviews, posted supervisions).")
    as_of: str | None = Field(None, description="The moment it was replayed at, when read with `as_of`.")
    evidence: list[Evidence] | None = Field(None, description="The files sealed on it (one case read alone).")


class CaseList(Document):
    cases: list[CaseDocument]
    total: int = Field(description="How many cases match in all.")
    limit: int
    offset: int


class EventDocument(Document):
    case_id: str
    seq: int
    trigger: str
    from_: str | None = Field(alias="from")
    to: str
    actor: str
    role: str
    at: str
    recorded_at: str
    data: dict[str, Any]
    workflow: str
    workflow_version: int
    prev_hash: str
    hash: str


class History(Document):
    events: list[EventDocument]


class EscalationList(Document):
    now: str
    count: int
    max_late_seconds: float = Field(description="How late the oldest due and unfired rung is.")
    rungs: list[Rung]


class TraceCase(Document):
    id: str
    title: str
    state: str
    workflow: str
    workflow_version: int
    enterprise: str
    region: str


class Trace(OpenDocument):
    """`hazard audit trace --json`: who did what (`actions`), who held the case (`holding`, `held_for`), and
    which deadlines and rungs were missed while whom held it (`missed`)."""

    case: TraceCase
    actions: list[dict[str, Any]]
    holding: list[dict[str, Any]]
    held_for: list[dict[str, Any]]
    missed: list[dict[str, Any]]


class ChainBreak(Document):
    case_id: str
    seq: int
    problem: str


class Verification(Document):
    ok: bool = Field(description="Every chain verifies (and the anchor, when given, holds).")
    cases: int
    events: int
    breaks: list[ChainBreak]
    anchor: dict[str, Any] | None = None


class Stats(OpenDocument):
    """`hazard report stats --json`."""

    by: list[str]
    region: str | None
    rows: list[dict[str, Any]]
    total: dict[str, Any]


class Lists(OpenDocument):
    """`hazard report lists --json`."""

    region: str | None
    at: str
    lists: list[dict[str, Any]]


class Bulletin(OpenDocument):
    """`hazard report bulletin --json`."""


class Campaign(OpenDocument):
    """A campaign as `hazard campaign list --json` lists it."""

    campaign: str
    title: str
    version: int
    region: str | None
    stages: list[dict[str, Any]]
    targets: int


class CampaignStatus(OpenDocument):
    """`hazard campaign status --json`."""

    campaign: str
    stages: list[dict[str, Any]]


class ImportDocument(OpenDocument):
    """`hazard import --json`."""

    file: str
    sheet: str | None
    rows: int
    valid: int
    imported: int
    skipped: int
    dry_run: bool


class WorkflowVersion(Document):
    name: str
    version: int
    content_hash: str
    file: str
    installed_at: str


class Transition(Document):
    trigger: str
    from_: list[str] = Field(alias="from")
    to: str
    roles: list[str]
    requires: list[str]
    sets: list[str]
    guards: list[str]


class State(Document):
    name: str
    label: str | None
    final: bool
    rectified: bool


class Diagram(Document):
    mermaid: str = Field(description="The state diagram as Mermaid text (`hazard workflow draw`).")
    dot: str = Field(description="... as Graphviz DOT text (`hazard workflow draw --format dot`).")


class Workflow(Document):
    """`hazard workflow show --json`, with its diagram."""

    name: str
    version: int
    content_hash: str
    file: str
    installed_at: str
    title: str | None
    initial: str
    states: list[State]
    transitions: list[Transition]
    source: str = Field(description="The exact YAML text of this version.")
    diagram: Diagram
