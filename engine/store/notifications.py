"""The outbox and the inbox: the SQL of engine/app/outbox.py and engine/app/deliverer.py.

Claiming works as the sweep's (engine/store/rungs.py): on PostgreSQL the rows are chosen `FOR UPDATE SKIP
LOCKED`, so two deliverers never wait on nor take the same row; on SQLite the single writer makes the
`UPDATE ... RETURNING` atomic. A claim is a lease on the real clock: a deliverer killed mid-batch leaves rows
another takes once the lease has run out. A row is marked only by the deliverer that still holds it.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from engine.store.prepared import Prepared
from engine.store.tables import INBOX, UTCDateTime, notifications, user_contacts, users

_INSERT = Prepared(notifications.insert().values({n: bindparam(n) for n in (
    "key", "case_id", "seq", "recipient", "channel", "address", "text", "status", "attempts", "created_at",
    "next_at", "sent_at")}).inline())


def insert(conn: Connection, rows: list[dict]) -> None:
    _INSERT.executemany(conn, rows)


_PEOPLE = Prepared(select(users.c.name, users.c.roles, users.c.regions, users.c.enterprise, user_contacts.c.email,
                          user_contacts.c.webhook, user_contacts.c.channels)
                   .outerjoin(user_contacts, user_contacts.c.name == users.c.name))


def people(conn: Connection) -> list[tuple]:
    """(name, roles, regions, enterprise, email, webhook, channels) of every user who may act, with their contacts."""
    return _PEOPLE.rows(conn)


CONTACT_COLUMNS = ("email", "phone", "webhook", "channels", "quiet")


def all_contacts(conn: Connection) -> dict[str, dict]:
    return {r.name: {k: getattr(r, k) for k in CONTACT_COLUMNS if getattr(r, k)}
            for r in conn.execute(select(user_contacts))}


def quiet_hours(conn: Connection, names) -> dict[str, str]:
    """{name: quiet hours} of those of `names` who keep some."""
    names = sorted(set(names))
    if not names:
        return {}
    stmt = select(user_contacts.c.name, user_contacts.c.quiet).where(user_contacts.c.name.in_(names),
                                                                     user_contacts.c.quiet.isnot(None))
    return {name: quiet for name, quiet in conn.execute(stmt) if quiet}


def put_contact(conn: Connection, name: str, values: dict) -> None:
    row = {k: values.get(k) or None for k in CONTACT_COLUMNS}
    if not conn.execute(update(user_contacts).where(user_contacts.c.name == name), row).rowcount:
        conn.execute(user_contacts.insert(), [{"name": name, **row}])


# -- delivery ------------------------------------------------------------------------------------------------------
class Claimed(NamedTuple):
    id: int
    key: str
    case_id: str
    seq: int
    recipient: str
    channel: str
    address: str
    text: str
    attempts: int
    created_at: datetime


def _claim(postgres: bool) -> Prepared:
    free = or_(notifications.c.claimed_by.is_(None),
               notifications.c.lease_until < bindparam("real_now", type_=UTCDateTime))
    # `next_at <= now` alone finds them by ix_notification_due (only unsent messages have a next_at).
    due = and_(notifications.c.next_at <= bindparam("real_now", type_=UTCDateTime), notifications.c.status == "pending",
               free)
    ids = select(notifications.c.id).where(due).order_by(notifications.c.next_at, notifications.c.id) \
        .limit(bindparam("limit", type_=Integer))
    if postgres:
        ids = ids.with_for_update(skip_locked=True)
    return Prepared(update(notifications).where(notifications.c.id.in_(ids.scalar_subquery())).values(
        claimed_by=bindparam("by"), lease_until=bindparam("lease_until", type_=UTCDateTime))
        .returning(*(notifications.c[n] for n in Claimed._fields)))


_CLAIMS = {True: _claim(True), False: _claim(False)}


def claim(conn: Connection, *, real_now: datetime, by: str, lease_until: datetime, limit: int,
          postgres: bool) -> list[Claimed]:
    """Take up to `limit` pending messages due by `real_now` that no live deliverer holds."""
    rows = _CLAIMS[postgres].rows(conn, {"real_now": real_now, "by": by, "lease_until": lease_until, "limit": limit})
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


_FINISH = Prepared(update(notifications).where(and_(
    notifications.c.id == bindparam("row_id"), notifications.c.claimed_by == bindparam("by"),
    notifications.c.status == "pending")).values(
    status=bindparam("new_status"), attempts=bindparam("new_attempts"), sent_at=bindparam("new_sent_at"),
    next_at=bindparam("new_next_at"), last_error=bindparam("new_error"), claimed_by=None, lease_until=None))


def finish(conn: Connection, *, row_id: int, by: str, status: str, attempts: int, sent_at=None, next_at=None,
           error: str | None = None) -> bool:
    """Record a try's outcome if `by` still holds the row; False when another deliverer took it meanwhile."""
    return _FINISH.executemany(conn, [{"row_id": row_id, "by": by, "new_status": status, "new_attempts": attempts,
                                       "new_sent_at": sent_at, "new_next_at": next_at, "new_error": error}]) == 1


def release(conn: Connection, by: str) -> None:
    conn.execute(update(notifications).where(and_(notifications.c.claimed_by == by,
                                                  notifications.c.status == "pending")),
                 {"claimed_by": None, "lease_until": None})


def status_counts(conn: Connection) -> list[tuple[str, str, int]]:
    """(channel, status, count) of every message."""
    stmt = select(notifications.c.channel, notifications.c.status, func.count()).group_by(
        notifications.c.channel, notifications.c.status)
    return [tuple(r) for r in conn.execute(stmt)]


# -- the inbox ---------------------------------------------------------------------------------------------------
def inbox(conn: Connection, name: str, *, unread_only: bool, limit: int) -> list:
    stmt = select(notifications).where(notifications.c.recipient == name, INBOX)
    if unread_only:
        stmt = stmt.where(notifications.c.read_at.is_(None))
    return list(conn.execute(stmt.order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(limit)))


def mark_read(conn: Connection, name: str, ids: list[int] | None, at: datetime) -> int:
    """Mark `name`'s unread inbox messages read (those of `ids`, or all); how many were."""
    where = [notifications.c.recipient == name, INBOX, notifications.c.read_at.is_(None)]
    if ids is not None:
        where.append(notifications.c.id.in_(ids))
    return conn.execute(update(notifications).where(and_(*where)), {"read_at": at}).rowcount


def existing_keys(conn: Connection, keys: list[str]) -> set[str]:
    """Which of `keys` the outbox holds already (a digest written earlier the same day)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update(k for (k,) in conn.execute(select(notifications.c.key).where(notifications.c.key.in_(chunk))))
    return found


def unread_count(conn: Connection, name: str) -> int:
    """How many of `name`'s inbox messages are unread (the web console's bell)."""
    return conn.execute(select(func.count()).select_from(notifications).where(
        notifications.c.recipient == name, INBOX,
        notifications.c.read_at.is_(None))).scalar_one()
