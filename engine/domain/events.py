"""The event record, its canonical encoding and the hash chain.

Each event's hash covers every column an auditor relies on plus the previous event's hash, so editing any
column, removing an event or reordering two breaks the chain at a place `verify_chain` can name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator

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
            "at": _utc(self.at), "recorded_at": _utc(self.recorded_at), "data": self.data,
            "workflow": self.workflow, "workflow_version": self.workflow_version, "prev_hash": self.prev_hash,
        }

    def sealed(self) -> "Event":
        """This event with its hash computed."""
        sealed = object.__new__(Event)  # a copy without dataclasses.replace's per-field checks
        sealed.__dict__.update(self.__dict__)
        sealed.__dict__["hash"] = compute_hash(self)
        return sealed


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


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
        if compute_hash(event) != event.hash:
            yield ChainBreak(case_id, event.seq, "content does not match its hash (the event was edited)")
        expected_prev, expected_seq, last = event.hash, event.seq + 1, event
    if head is not None:
        head_seq, head_hash = head
        if last is None or last.seq != head_seq or last.hash != head_hash:
            at = last.seq if last else 0
            yield ChainBreak(case_id, at, f"the case says its last event is #{head_seq} but the log ends at #{at}"
                             + ("" if last is None or last.seq != head_seq else " with a different hash"))
