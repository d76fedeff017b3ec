"""The event record, its canonical encoding and the hash chain.

Each event's hash covers every column an auditor relies on plus the previous event's hash, so editing any
column, removing an event or reordering two breaks the chain at a place `verify_chain` can name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator, NamedTuple

from engine.domain.clock import UTC

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    case_id: str
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor: str
    role: str
    at: datetime           # effective time (the engine's clock, e.g. --now)
    recorded_at: datetime  # when it was really written
    data: dict = field(default_factory=dict)
    workflow: str = ""
    workflow_version: int = 0
    prev_hash: str = GENESIS
    hash: str = ""

    def content(self) -> dict:
        return {
            "case_id": self.case_id, "seq": self.seq, "trigger": self.trigger,
            "from": self.from_state, "to": self.to_state, "actor": self.actor, "role": self.role,
            "at": utc_text(self.at), "recorded_at": utc_text(self.recorded_at), "data": self.data,
            "workflow": self.workflow, "workflow_version": self.workflow_version, "prev_hash": self.prev_hash,
        }

    def sealed(self) -> "Event":
        """This event with its hash computed (`seal`)."""
        return seal(**{name: value for name, value in self.__dict__.items() if name not in ("hash", "encoded")})


def seal(*, case_id: str, seq: int, trigger: str, from_state: str | None, to_state: str, actor: str, role: str,
         at: datetime, recorded_at: datetime, data: dict | None = None, workflow: str = "", workflow_version: int = 0,
         prev_hash: str = GENESIS) -> Event:
    """A new event from its columns (all but `hash`), sealed, in one pass: the canonical text of its data and of
    its two instants are kept (`encoded`) for the store to write, so an event is encoded once, not once to hash and
    again to store. The same bytes as `compute_hash` (the reference an audit re-hashes with; a test holds them
    equal). Built without the frozen dataclass's per-field set-up, and each text column encoded by the encoder's
    C function directly (not through `value_text`), into one format string: the import seals hundreds of
    thousands."""
    if data is None:
        data = {}
    data_text = canonical_text(data)
    at_text, recorded_text = utc_text(at), utc_text(recorded_at)
    enc, val = _encode_text, value_text
    text = _CONTENT % (
        enc(actor) if actor.__class__ is str else val(actor), at_text,
        enc(case_id) if case_id.__class__ is str else val(case_id), data_text,
        enc(from_state) if from_state.__class__ is str else val(from_state),
        enc(prev_hash) if prev_hash.__class__ is str else val(prev_hash), recorded_text,
        enc(role) if role.__class__ is str else val(role), val(seq),
        enc(to_state) if to_state.__class__ is str else val(to_state),
        enc(trigger) if trigger.__class__ is str else val(trigger),
        enc(workflow) if workflow.__class__ is str else val(workflow), val(workflow_version))
    event = _new_event(Event)
    # Not a field, `encoded`: dataclasses.replace (an edited copy) drops it, equality and the hash ignore it.
    _set_dict(event, "__dict__", {
        "case_id": case_id, "seq": seq, "trigger": trigger, "from_state": from_state, "to_state": to_state,
        "actor": actor, "role": role, "at": at, "recorded_at": recorded_at, "data": data, "workflow": workflow,
        "workflow_version": workflow_version, "prev_hash": prev_hash,
        "hash": (_SHA256 or _sha256())(text.encode()).hexdigest(),
        "encoded": Encoded(data_text, at_text, recorded_text)})
    return event


_new_event, _set_dict = object.__new__, object.__setattr__  # a frozen dataclass set up at once, as `seal` does
_SHA256 = None


def _sha256():
    """hashlib's sha256, imported when first sealing (reading a case never hashes, and OpenSSL's import is not
    free), then kept: an import statement in `seal` itself cost a tenth of sealing."""
    global _SHA256
    from hashlib import sha256
    _SHA256 = sha256
    return sha256


def _content_text(e: dict, data_text: str, at: str, recorded_at: str) -> str:
    """The canonical JSON of `Event.content` from an event's attributes, written key by key (sorted) instead of
    through the encoder's dict machinery: the same text (a test holds `event_hash` equal to `compute_hash`)."""
    text = _encode_text
    actor, case_id, source, prev_hash, role, seq, to, trigger, workflow, version = (
        text(v) if v.__class__ is str else value_text(v) for v in (
            e["actor"], e["case_id"], e["from_state"], e["prev_hash"], e["role"], e["seq"], e["to_state"],
            e["trigger"], e["workflow"], e["workflow_version"]))
    return _CONTENT % (actor, at, case_id, data_text, source, prev_hash, recorded_at, role, seq, to, trigger, workflow,
                       version)


_CONTENT = ('{"actor":%s,"at":"%s","case_id":%s,"data":%s,"from":%s,"prev_hash":%s,"recorded_at":"%s","role":%s,'
            '"seq":%s,"to":%s,"trigger":%s,"workflow":%s,"workflow_version":%s}')


class Encoded(NamedTuple):
    """What sealing an event encoded, for the store: its data's canonical JSON and its instants in UTC."""

    data: str
    at: str
    recorded_at: str


def encoded(event: Event) -> Encoded | None:
    """The encoding kept from sealing this very event, if it was sealed here."""
    return event.__dict__.get("encoded")


_UTC_TEXTS: dict[datetime, str] = {}


def utc_text(at: datetime) -> str:
    """An instant as UTC ISO text. Remembered by instant (equal instants give the same text whatever their
    zone): an import's events share a few thousand dates, and `isoformat` costs more than the lookup."""
    text = _UTC_TEXTS.get(at)
    if text is None:
        if len(_UTC_TEXTS) > 20_000:
            _UTC_TEXTS.clear()
        text = at.astimezone(UTC).isoformat(timespec="microseconds")
        if at.tzinfo is not None:  # a naive time would be taken as local time: never remembered
            _UTC_TEXTS[at] = text
    return text


_encode_text = json.encoder.encode_basestring  # as json.dumps with ensure_ascii=False writes a string


def value_text(value) -> str:
    """Any value as the canonical encoding writes it; a scalar without the encoder's set-up."""
    kind = value.__class__
    if kind is str:
        return _encode_text(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    return canonical_text(value)


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
# The same encoder's C core, made once: `JSONEncoder.encode` builds it anew for every value it encodes, with a
# dictionary to find cycles in (no value an engine writes has one), which costs more than encoding an event's data.
_CANONICAL_CORE = json.encoder.c_make_encoder(None, _CANONICAL.default, _encode_text, None, ":", ",", True, False,
                                               True) if json.encoder.c_make_encoder else None


def canonical_text(content) -> str:
    """The log's canonical JSON: keys sorted, no spaces, text as it is (not \\u escapes)."""
    if _CANONICAL_CORE is None:
        return _CANONICAL.encode(content)
    return "".join(_CANONICAL_CORE(content, 0))


def canonical(content: dict) -> bytes:
    return _CANONICAL.encode(content).encode()


def data_hash(data: dict) -> str:
    """SHA-256 of data in the log's canonical encoding: how an event, a grant, a case row's digest and a calendar's
    days are hashed, so two hashes of the same data agree wherever they are taken."""
    from hashlib import sha256  # here: reading a case never hashes, and OpenSSL's import is not free
    return sha256(canonical(data)).hexdigest()


def text_hash(text: str) -> str:
    """SHA-256 of a text as UTF-8: what a stored definition or campaign is known by (its content hash), and what
    the anchor and `audit verify` recompute from the stored text."""
    from hashlib import sha256
    return sha256(text.encode("utf-8")).hexdigest()


def compute_hash(event: Event) -> str:
    return data_hash(event.content())


def event_hash(event: Event) -> str:
    """`compute_hash`, written as sealing writes it: what `verify_chain` re-hashes every event of the log with."""
    from hashlib import sha256
    e = event.__dict__
    text = _content_text(e, canonical_text(e["data"]), utc_text(e["at"]), utc_text(e["recorded_at"]))
    return sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    case_id: str
    seq: int
    problem: str


def verify_chain(events: Iterable[Event], *, head: tuple[int, str] | None = None) -> Iterator[ChainBreak]:
    """Yield every break in one case's chain; `events` in stored order (by seq).

    `head` is what the case row says its last event is (seq, hash): a removed last event shows up there.
    """
    expected_prev, expected_seq, last = GENESIS, 1, None
    case_id = ""
    for event in events:
        case_id = event.case_id
        if event.seq != expected_seq:
            yield ChainBreak(case_id, event.seq, f"sequence {event.seq} where {expected_seq} was expected (removed or reordered)")
        if event.prev_hash != expected_prev:
            yield ChainBreak(case_id, event.seq, "previous-hash link broken (an earlier event was edited, removed or reordered)")
        if event_hash(event) != event.hash:
            yield ChainBreak(case_id, event.seq, "content does not match its hash (the event was edited)")
        expected_prev, expected_seq, last = event.hash, event.seq + 1, event
    if head is not None:
        head_seq, head_hash = head
        if last is None or last.seq != head_seq or last.hash != head_hash:
            at = last.seq if last else 0
            yield ChainBreak(case_id, at, f"the case says its last event is #{head_seq} but the log ends at #{at}"
                             + ("" if last is None or last.seq != head_seq else " with a different hash"))
