"""The transactional outbox: the messages a unit's events set off, written in the unit's own transaction.

`UnitOfWork.flush` calls `rows_for` with the events it is about to write: for each, the rules its definition
version attaches to it (engine.domain.notifications), the people they name (read once per unit, only when some
rule applies) and one row per recipient and channel. A command rolled back writes no message; a committed one
cannot lose its messages. The inbox's rows are delivered by being written (status `sent`); e-mail and webhook
rows wait, `pending`, for the deliverer (engine/app/deliverer.py).
"""
from __future__ import annotations

from engine.domain import notifications as rules


def rows_for(unit, events) -> list[dict]:
    """Outbox rows (engine/store/notifications.py `insert`) for `events`, as `unit` holds their cases."""
    found = []
    runs = {}  # (workflow, version) -> its definition: a unit's thousands of events (an import) run under a few
    for event in events:
        version = (event.workflow, event.workflow_version)
        definition = runs.get(version)
        if definition is None:
            definition = runs[version] = unit.run(*version).definition
        if not definition.notifies:
            continue
        chosen, step, rung = rules.rules_for(definition, event)
        if not chosen:
            continue
        case = unit.projection(event.case_id)
        if case is None:
            continue
        found.extend(row(m, event.recorded_at)
                     for m in rules.messages(event, case, chosen, unit.people(), step=step, rung=rung))
    return found


def row(m: rules.Message, at) -> dict:
    """The outbox row of message `m` written at `at`: an inbox message is delivered by being written (`sent`), the
    others wait, `pending`, for the deliverer."""
    inbox = m.channel == "inbox"
    return {"key": m.key, "case_id": m.case_id, "seq": m.seq, "recipient": m.recipient, "channel": m.channel,
            "address": m.address, "text": m.text, "status": "sent" if inbox else "pending", "attempts": 0,
            "created_at": at, "next_at": None if inbox else at, "sent_at": at if inbox else None}


def people(conn) -> list[rules.Person]:
    from engine.store import notifications as store
    return [rules.Person(name, _split(roles), _split(regions), enterprise or None, email, webhook,
                         rules.chosen_channels(channels))
            for name, roles, regions, enterprise, email, webhook, channels in store.people(conn)]


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(",") if p)
