"""The event log's anchor: one line that fixes every case's chain, the users' log and the stored definitions as
of a moment, to print in a bulletin.

    anchor 2026-12-01T09:00:00+08:00 cases=1234 events=8765 root=3f0c...e1 users=17:9b2e...07 definitions=c41a...5d
    (each hash 64 hex digits, shortened here)

For each case with an event in force at the moment (effective time at or before it), its chain head as of then
(case id, the sequence number and hash of its last such event) is a leaf; `root` is the Merkle tree hash over
the leaves sorted by case id (RFC 6962's tree: leaves hashed with a 0x00 prefix, nodes with 0x01), `cases` the
number of leaves and `events` the number of events in force. Each event's hash covers the one before it, so a
head's hash fixes the whole chain up to it.

`users` is the head of the users' log as of the moment: the sequence number and hash of the last grant in force
then (effective time at or before it; `0:000...0` when none was), whose hash covers every grant before it.
`definitions` is a digest of the workflow definitions, calendars and campaigns stored by then (installed at or
before the moment): each one's own text or data hashed, so a definition rewritten with its stored hash fixed
to match still changes it. An anchor line of an earlier release has neither: it still verifies the cases it
covers, and says that it covers only them.

Checking a published anchor against today's log (`compare`): recompute the anchor at the same moment; any
case removed, event removed, or chain rewritten and re-hashed changes the root (and a removal the counts); a
grant rewritten and re-hashed (a user made committee) changes the users' head, a definition or calendar
rewritten the digest. The root alone says that something changed and, from the counts, what kind of change;
with the published leaves beside it (`heads_text`, checked against the root so a forged file is refused) it
names each case. Pure: the heads and records come from engine/store/audit_reads.py.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from engine.domain.clock import SHANGHAI
from engine.domain.errors import InvalidInput
from engine.domain.events import GENESIS, data_hash, text_hash

Head = tuple[str, int, str]  # (case id, seq, hash) of the case's last event in force at the moment
_LINE = re.compile(r"^(?:anchor\s+)?(\S+)\s+cases=(\d+)\s+events=(\d+)\s+root=(\S+?)"
                   r"(?:\s+users=(\d+):(\S+?))?(?:\s+definitions=(\S+))?$")
_ROOT = re.compile(r"[0-9a-f]{64}")
_SHORTENED = re.compile(r"[0-9a-f]*(?:\.{2,}|…+)[0-9a-f]*|[0-9a-f]{1,63}")
# What comes with a line copied from a bulletin or a shell: quotes around it, the sentence's full stop after it.
_AROUND = " \t\r\n\"'`“”‘’「」『』"
_AFTER = "。．.，,；;"
EXPECTED = ("anchor TIME cases=N events=N root=<64 hex digits> users=N:<64 hex digits> definitions=<64 hex digits>, "
            "as `hazard audit anchor` prints it")


@dataclass(frozen=True)
class Anchor:
    as_of: datetime
    cases: int
    events: int
    root: str
    users: tuple[int, str] | None = None   # the users' log head then; None in a line of an earlier release
    definitions: str | None = None         # the stored definitions' digest then; likewise

    def line(self) -> str:
        line = f"anchor {self.as_of.astimezone(SHANGHAI).isoformat()} cases={self.cases} events={self.events} root={self.root}"
        if self.users is not None:
            line += f" users={self.users[0]}:{self.users[1]}"
        if self.definitions is not None:
            line += f" definitions={self.definitions}"
        return line

    @property
    def covers(self) -> list[str]:
        """What the line vouches for: the case chains, and (since issue 17) the users' log and the definitions."""
        return ["cases"] + ["users"] * (self.users is not None) + ["definitions"] * (self.definitions is not None)

    def as_dict(self) -> dict:
        """The bulletin document's shape: {"value", "as_of", "cases", "events"} (and the root, the users' log head
        {"seq", "hash"} and the definitions' digest, None on a line that has none)."""
        return {"value": self.line(), "as_of": self.as_of, "cases": self.cases, "events": self.events,
                "root": self.root, "users": None if self.users is None else {"seq": self.users[0], "hash": self.users[1]},
                "definitions": self.definitions}


def leaf_hash(head: Head) -> bytes:
    case_id, seq, digest = head
    return hashlib.sha256(b"\x00" + f"{case_id}\n{seq}\n{digest}".encode()).digest()


def merkle_root(leaves: list[bytes]) -> str:
    """RFC 6962's Merkle tree hash; pairing level by level and carrying an odd last node up is the same tree."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level, sha = leaves, hashlib.sha256
    while len(level) > 1:
        paired = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def compute(heads: Iterable[Head], *, events: int, as_of: datetime, users: tuple[int, str] | None = None,
            definitions: str | None = None) -> tuple[Anchor, list[Head]]:
    """The anchor over `heads` (any order; sorted here by case id, as Python compares text, on every database), with
    the users' log head and the definitions' digest as of the same moment."""
    ordered, sha = sorted(heads), hashlib.sha256
    leaves = [sha(b"\x00" + f"{c}\n{s}\n{h}".encode()).digest() for c, s, h in ordered]  # leaf_hash, inlined
    return Anchor(as_of, len(ordered), events, merkle_root(leaves), users, definitions), ordered


def users_head(last: tuple[int, str] | None) -> tuple[int, str]:
    """The users' log head as the line gives it: the last grant in force, or `0:000...0` (nothing granted yet)."""
    return last if last is not None else (0, GENESIS)


def definitions_digest(workflows: Iterable[tuple], calendars: Iterable[tuple], campaigns: Iterable[tuple]) -> str:
    """SHA-256 over one line per stored record, sorted: `workflow NAME VERSION TEXT-HASH CALENDAR`, `calendar HASH
    DATA-HASH`, `campaign NAME VERSION TEXT-HASH`; the texts and data are hashed here, never taken from a column."""
    lines = [f"workflow {name} {version} {text_hash(text)} {calendar or '-'}" for name, version, text, calendar in workflows]
    lines += [f"calendar {digest} {data_hash(data)}" for digest, data in calendars]
    lines += [f"campaign {name} {version} {text_hash(text)}" for name, version, text in campaigns]
    return text_hash("\n".join(sorted(lines)))


def parse(text: str) -> Anchor:
    """An anchor line as printed (the leading word `anchor` may be left out; quotes around it, and the bulletin's
    sentence before and its full stop after it, are ignored); InvalidInput saying what is expected otherwise.

    A shortened root (`root=39e8a216...23c7a`) is refused by name: the anchor proves nothing about the log
    unless all of the root is compared."""
    from engine.domain.clock import parse_time
    line = (text or "").strip(_AROUND).rstrip(_AFTER).strip(_AROUND)
    line = line[max(line.find("anchor "), 0):]  # from the word on, when the bulletin's sentence came with it
    found = _LINE.match(line)
    if not found:
        raise InvalidInput(f"'{line[:200]}' is not an anchor: expected {EXPECTED}", field="anchor", rule="anchor")
    at, cases, count, root, seq, head, definitions = found.groups()
    root = _hash("root", root)
    users = (int(seq), _hash("users' log head", head)) if seq is not None else None
    definitions = _hash("definitions' digest", definitions) if definitions is not None else None
    return Anchor(parse_time(at), int(cases), int(count), root, users, definitions)


def _hash(what: str, text: str) -> str:
    text = text.lower()
    if not _ROOT.fullmatch(text):
        shape = "is shortened" if _SHORTENED.fullmatch(text) else "is not a SHA-256 hash in hex"
        raise InvalidInput(f"the anchor's {what} '{text[:80]}' {shape}: verifying compares all 64 hex digits; "
                           f"expected {EXPECTED} (or the bulletin quotes it)", field="anchor", rule="anchor")
    return text


# -- the published leaves ---------------------------------------------------------------------------------------
def heads_text(anchor: Anchor, heads: list[Head]) -> str:
    """The anchor line, then one `CASE SEQ HASH` line per leaf: what to archive beside a bulletin."""
    return "\n".join([anchor.line()] + [f"{c} {s} {h}" for c, s, h in heads]) + "\n"


def parse_heads(text: str, anchor: Anchor) -> dict[str, tuple[int, str]]:
    """The leaves of a heads file, refused unless they are exactly the ones under `anchor`'s root."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or parse(lines[0]) != anchor:
        raise InvalidInput("the heads file is not the one of this anchor (its first line differs)", field="heads",
                           rule="anchor")
    heads = []
    for number, line in enumerate(lines[1:], 2):
        parts = line.split()
        if len(parts) != 3 or not parts[1].isdigit() or not re.fullmatch(r"[0-9a-f]{64}", parts[2]):
            raise InvalidInput(f"heads file line {number}: expected CASE SEQ HASH", field="heads", rule="anchor")
        heads.append((parts[0], int(parts[1]), parts[2]))
    if len(heads) != anchor.cases or merkle_root([leaf_hash(h) for h in sorted(heads)]) != anchor.root:
        raise InvalidInput("the heads file does not hash to the anchor's root: it is not the published one",
                           field="heads", rule="anchor")
    return {c: (s, h) for c, s, h in heads}


# -- comparing ----------------------------------------------------------------------------------------------------
def compare(published: Anchor, now: Anchor, *, published_heads: dict[str, tuple[int, str]] | None = None,
            current_heads: list[Head] | None = None, published_grant_today: str | None = None) -> list[str]:
    """What differs between a published anchor and today's log at the same moment; empty when it holds.

    Only what the published line covers is compared (a line of an earlier release has no users' log head nor
    definitions' digest). `published_grant_today` is today's hash of the grant the published users' head names
    (None when it is gone): it tells grants back-filled after the line from a log rewritten before it."""
    moment = published.as_of.astimezone(SHANGHAI).isoformat()
    found = _cases_changed(published, now, moment, published_heads, current_heads)
    if published.users is not None and published.users != now.users:
        found.append(_users_changed(published.users, now.users, moment, published_grant_today))
    if published.definitions is not None and published.definitions != now.definitions:
        found.append(f"definitions stored at {moment}: digest {published.definitions} published, {now.definitions} "
                     "today: a workflow definition, calendar or campaign stored by then was rewritten or removed, or "
                     "one was installed later with an earlier time")
    return found


def _users_changed(published: tuple[int, str], now: tuple[int, str] | None, moment: str, grant_today: str | None) -> str:
    seq, digest = published
    today = f"today #{now[0]} {now[1][:12]}" if now is not None else "today none"
    where = f"users' log at {moment}: published head #{seq} {digest[:12]}, {today}"
    if grant_today is None and seq > 0:
        return f"{where}: grants removed (#{seq} is gone)"
    if grant_today != digest and seq > 0:
        return f"{where}: the users' log was rewritten and re-hashed (grant #{seq} differs from the one published)"
    return f"{where}: grants in force then were added later (back-filled with an earlier time, or forged)"


def _cases_changed(published: Anchor, now: Anchor, moment: str, published_heads, current_heads) -> list[str]:
    if (published.cases, published.events, published.root) == (now.cases, now.events, now.root):
        return []
    found = []
    if now.cases != published.cases:
        delta = now.cases - published.cases
        found.append(f"cases in force at {moment}: {published.cases} published, {now.cases} today "
                     f"({-delta} vanished)" if delta < 0 else
                     f"cases in force at {moment}: {published.cases} published, {now.cases} today ({delta} more: "
                     "reported later with an earlier effective time, or forged)")
    if now.events != published.events:
        delta = now.events - published.events
        found.append(f"events in force at {moment}: {published.events} published, {now.events} today "
                     + (f"({-delta} removed)" if delta < 0 else f"({delta} more: back-filled later, or forged)"))
    if now.root != published.root:
        found.append(f"root: {published.root} published, {now.root} today: "
                     + ("the chains differ although the counts agree: a chain was rewritten and re-hashed"
                        if len(found) == 0 else "the chains differ"))
    if published_heads is not None and current_heads is not None:
        found += _by_case(published_heads, {c: (s, h) for c, s, h in current_heads})
    return found


def _by_case(published: dict[str, tuple[int, str]], current: dict[str, tuple[int, str]]) -> list[str]:
    found = []
    for case_id in sorted(published.keys() | current.keys()):
        was, now = published.get(case_id), current.get(case_id)
        if was == now:
            continue
        if now is None:
            found.append(f"{case_id}: vanished (its chain had {was[0]} event(s) then)")
        elif was is None:
            found.append(f"{case_id}: not in the published anchor (#{now[0]} now)")
        elif now[0] < was[0]:
            found.append(f"{case_id}: events removed (published head #{was[0]} {was[1][:12]}, today #{now[0]} "
                         f"{now[1][:12]})")
        else:
            found.append(f"{case_id}: chain rewritten (published head #{was[0]} {was[1][:12]}, today #{now[0]} "
                         f"{now[1][:12]})")
    return found
