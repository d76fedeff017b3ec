"""What the log proves about everything the engine acts on: pure checks of the projections against the events.

The events are the truth; the case rows, the rung rows and the stored definitions are derived from them (or,
for definitions, from the text their hash names), and each is checked here:
- every column of a case row equals the column the fold of its events gives (`case_values` of the replay),
  derived columns (`deadline`, `due_at`, `responsible_person`, ...) included;
- the rung rows are the ladder's plan from the replayed clocks (open rungs: status, due time, provisional),
  the `escalate` events (fired or skipped rungs, with the time they fired), and cancelled rows of cycles
  gone by; a rung the log says fired cannot be pending again, and a pending rung cannot silently vanish;
- a stored definition's text hashes to its `content_hash`, and a stored calendar's data to its hash;
- the register is counted: case numbers are taken one by one from the year's counter in the transaction that
  reports the case, so every number up to the counter must still be a case: a deleted case leaves a gap.
What these cannot see: a forger who rewrites a whole history consistently (events re-hashed, rows re-derived,
counters lowered) — the published anchor (`hazard audit anchor`) is what catches that.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Iterable, Iterator

from engine.domain.events import text_hash

_CASE_ID = re.compile(r"^HZ-(\d{4})-(\d{6,})$")
# Columns a replay cannot know: nothing (every column of the register is derived from the events).
_SHOWN = 80


def column_differences(stored: dict, replayed: dict) -> list[str]:
    """Every column of a case row that is not what the replay of its events gives."""
    found = []
    for name, expected in replayed.items():
        actual = stored.get(name)
        if actual == expected or _same(actual, expected):
            continue
        found.append(f"{name}: stored {_show(actual)}, replayed {_show(expected)}")
    return found


def _same(actual, expected) -> bool:
    if actual == expected:
        return True
    if isinstance(expected, tuple) or isinstance(actual, tuple):  # JSON gives lists back for tuples
        return _listed(actual) == _listed(expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return _listed(actual) == _listed(expected)
    return False


def _listed(value):
    if isinstance(value, (list, tuple)):
        return [_listed(v) for v in value]
    return value


def rung_differences(stored_rows: Iterable, planned: Iterable, fired: Iterable) -> list[str]:
    """Disagreements between a case's stored rung rows and what its events say they must be.

    `stored_rows` have clock, cycle, rung, action, status, due_at, provisional, fired_at; `planned` are the ladder's
    PlannedRung of the replayed case; `fired` are (clock, cycle, rung, status, at) of its escalate events.
    """
    rows = {(r.clock, r.cycle, r.rung): r for r in stored_rows}
    done = {(clock, cycle, rung): (status, at) for clock, cycle, rung, status, at in fired}
    plan = {(p.clock, p.cycle, p.rung): p for p in planned}
    found = []
    for key, (status, at) in done.items():
        row = rows.get(key)
        if row is None:
            found.append(f"rung {_key(key)}: {status} in the log, but its row is gone")
        elif row.status != status or not _same_instant(row.fired_at, at):
            found.append(f"rung {_key(key)}: the log says {status} at {_show(at)}, the row says {row.status}"
                         f" at {_show(row.fired_at)}")
    for key, p in plan.items():
        if key in done:
            continue
        row = rows.get(key)
        if row is None:
            if p.status in ("pending", "paused"):
                found.append(f"rung {_key(key)}: {p.status}, due {_show(p.due_at)}, but it has no row")
            continue
        if (row.status, bool(row.provisional)) != (p.status, p.provisional) or not _same_instant(row.due_at, p.due_at):
            found.append(f"rung {_key(key)}: should be {p.status} due {_show(p.due_at)}, the row says "
                         f"{row.status} due {_show(row.due_at)}")
        if getattr(row, "action", p.action) != p.action:  # `escalation list` shows the row's action
            found.append(f"rung {_key(key)}: its action is {p.action}, the row says {row.action}")
    for key, row in rows.items():
        if key not in done and key not in plan and row.status != "cancelled":
            found.append(f"rung {_key(key)}: a rung of a cycle gone by must be cancelled, the row says {row.status}")
    return found


def clocks_to_plan(clocks: dict, stored_rows: Iterable) -> frozenset[str]:
    """The clocks whose planned rungs `rung_differences` could find wrong: each clock still running or paused (a
    planned rung without its row is a finding), and each clock that has rows (every row is checked against its
    planned rung, or must be cancelled when it has none). A stopped clock plans all its rungs as cancelled, and a
    cancelled planned rung without a row is no finding: planning it could not change the answer, so replay skips
    it (most of a register is closed cases, every clock stopped)."""
    with_rows = {row.clock for row in stored_rows}
    return frozenset(name for name, state in clocks.items()
                     if state and (state.get("status") != "stopped" or name in with_rows))


def settled(fired: Iterable[tuple], decisions: dict) -> list[tuple]:
    """(clock, cycle, rung, status, at) of the escalate events, a proposal's status replaced by what became of
    it (approved, declined, lapsed: the case's replayed `decisions` say), as its rung row must show."""
    outcome = {(p["clock"], p["cycle"], p["rung"]): p["status"] for p in (decisions.get("proposals") or {}).values()}
    return [(clock, cycle, rung, outcome.get((clock, cycle, rung), status), at)
            for clock, cycle, rung, status, at in fired]


def row_problem(case, row_hash: str | None, head_hash: str | None, *, computed: str | None = None) -> str | None:
    """What is wrong with a case row a command loads, if anything: it must name the log's last event (its
    `last_hash` is that event's hash) and hash to what was written (`row_hash`, engine.domain.case.digest;
    `computed`: that digest of `case`, when the caller has it)."""
    from engine.domain.case import digest
    if head_hash != case.last_hash:
        found = f"#{case.version} is not in the log" if head_hash is None else \
            f"the log's #{case.version} has hash {head_hash[:12]}, the row says {case.last_hash[:12]}"
        return f"{case.id}: its row does not match its log ({found})"
    if row_hash != (computed if computed is not None else digest(case)):
        return f"{case.id}: its row is not what the engine wrote (edited outside the engine)"
    return None


def _key(key: tuple) -> str:
    clock, cycle, rung = key
    return f"{clock}#{cycle}/{rung}"


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    if a == b:  # equal aware instants (the rows and the plan give aware ones), or both None
        return True
    return False if a is None or b is None else a.timestamp() == b.timestamp()


def definition_problems(rows: Iterable[tuple[str, int, str, str]]) -> Iterator[str]:
    """(name, version, content_hash, source_text) of stored definitions whose text is not what the hash says."""
    for name, version, digest, text in rows:
        if text_hash(text) != digest:
            yield f"workflow {name} version {version}: its stored text does not hash to {digest[:12]} (edited)"


def missing_definitions(used: dict[tuple[str, int], set[str]], rows: Iterable[tuple[str, int, str, str]]) -> Iterator[str]:
    """Definition versions events ran under that are no longer stored (a replay could not check them), and
    stored ones whose hash is not the one their cases' report events sealed (a text edited, then re-hashed)."""
    stored = {(name, version): digest for name, version, digest, _ in rows}
    for (name, version), sealed in sorted(used.items()):
        if (name, version) not in stored:
            yield f"workflow {name} version {version}: events ran under it but it is not stored (removed)"
        elif sealed - {stored[(name, version)]}:
            yield (f"workflow {name} version {version}: its stored hash {stored[(name, version)][:12]} is not the "
                   f"{', '.join(sorted(h[:12] for h in sealed))} its cases' report events sealed (rewritten and re-hashed)")


def calendar_problems(rows: Iterable[tuple[str, dict]], rehash) -> Iterator[str]:
    """(content_hash, data) of stored calendars whose data is not what the hash says; `rehash(data)` hashes."""
    for digest, data in rows:
        try:
            actual = rehash(data)
        except (ValueError, TypeError, KeyError):
            actual = None
        if actual != digest:
            yield f"working-day calendar {digest[:12]}: its stored data does not hash to it (edited)"


def numbering_gaps(counters: dict[int, int], case_ids: Iterable[str]) -> list[str]:
    """Case numbers up to each year's counter that are no longer cases (removed), and numbers past it."""
    seen: dict[int, set[int]] = {}
    beyond = []
    for case_id in case_ids:
        match = _CASE_ID.match(case_id)
        if not match:
            continue
        year, number = int(match.group(1)), int(match.group(2))
        seen.setdefault(year, set()).add(number)
        if number > counters.get(year, 0):
            beyond.append(case_id)
    found = [f"{c}: numbered past the year's counter ({counters.get(int(c[3:7]), 0)})" for c in beyond]
    for year, last in sorted(counters.items()):
        missing = [n for n in range(1, last + 1) if n not in seen.get(year, set())]
        found += [f"HZ-{year}-{n:06d}: numbered but no longer in the register (removed)" for n in missing]
    return found


def _show(value) -> str:
    from engine.domain.clock import iso
    text = iso(value) if isinstance(value, datetime) else repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"
