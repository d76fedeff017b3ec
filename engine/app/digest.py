"""Writing the day's digests (`hazard notify digest`): one message per supervisor or committee member with something
to report, per channel they can be reached on, into the outbox the deliverer sends from.

The lists are the reader's own (their reach, as `case list` and 我的待办 give them to that user); the text is
engine.domain.digest's. A digest belongs to no case: its rows carry no case id, and its delivery is recorded on the
row (status, attempts, time), not as a case event.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.domain import digest as pure
from engine.domain.clock import local_date
from engine.domain.errors import InvalidInput
from engine.domain.filters import CaseFilter

READERS = ("supervisor", "committee")   # the roles a digest is for
VERIFY_TRIGGERS = ("verify",)           # a state out of which the reader may fire these awaits their verification
DUE_SOON_READ = 1000                    # cases due soon read per reader at most (the digest names ten)


@dataclass
class Written:
    day: str
    readers: int = 0                    # supervisors and committee members with something to report
    messages: int = 0                   # rows written now
    held: int = 0                       # rows of the day written before (the command ran twice)
    skipped: list = field(default_factory=list)   # readers with nothing to report

    def document(self) -> dict:
        return {"day": self.day, "readers": self.readers, "messages": self.messages, "held": self.held,
                "nothing_to_report": self.skipped}


def write_digests(engine, *, now: datetime, days_ahead: int = 3) -> Written:
    """The digests of the day `now` falls on (Asia/Shanghai), each written once however often this runs."""
    from engine.app import outbox
    from engine.app.work import work_for
    from engine.domain.notifications import Message
    from engine.store import notifications as store

    if not 1 <= days_ahead <= pure.MAX_DAYS_AHEAD:
        raise InvalidInput(f"a digest lists the cases due within 1 to {pure.MAX_DAYS_AHEAD} days, not {days_ahead}",
                           field="days")
    day = local_date(now)
    with engine.store.read() as conn:
        readers = [p for p in outbox.people(conn) if set(p.roles) & set(READERS)]
    written = Written(day.isoformat())
    rows = []
    for person in sorted(readers, key=lambda p: p.name):
        found = _digest_of(engine, person.name, now, day, days_ahead, work_for)
        if found.empty:
            written.skipped.append(person.name)
            continue
        written.readers += 1
        text = pure.text(found)
        rows.extend(outbox.row(Message(pure.key(day, person.name, channel), "", 0, person.name, channel, address,
                                       text), now)
                    for channel, address in person.addresses(digest=True))
    with engine.store.write() as conn:
        held = store.existing_keys(conn, [r["key"] for r in rows])
        new = [r for r in rows if r["key"] not in held]
        store.insert(conn, new)
    written.messages, written.held = len(new), len(held)
    return written


def _digest_of(engine, name: str, now: datetime, day, days_ahead: int, work_for) -> pure.Digest:
    queries = engine.queries
    overdue = queries.cases(CaseFilter(overdue=True, sort="deadline", limit=pure.SHOWN), now=now, actor=name)
    soon = queries.cases(CaseFilter(deadline_before=day + timedelta(days=days_ahead + 1), sort="deadline",
                                    limit=DUE_SOON_READ), now=now, actor=name)
    overdue_ids = {c.id for c in overdue.cases}
    due_soon = [c for c in soon.cases if not (c.is_final or c.voided_at or c.met_at or c.rectified_at)
                and c.id not in overdue_ids and c.deadline and c.deadline[:10] >= day.isoformat()
                and not c.overdue(now)]
    work = work_for(engine, name, now=now, limit=1)
    to_verify = sum(g["cases"] for g in work.by_state if any(t in VERIFY_TRIGGERS for t, _ in g["triggers"]))
    return pure.Digest(day=day, name=name, overdue=tuple(_listed(c) for c in overdue.cases),
                       overdue_total=overdue.total, due_soon=tuple(_listed(c) for c in due_soon),
                       due_soon_total=len(due_soon), days_ahead=days_ahead, to_verify=to_verify,
                       decisions=work.counts.get("decisions", 0))


def _listed(case) -> pure.Listed:
    return pure.Listed(case.id, case.title, case.enterprise, (case.deadline or "")[:10])
