"""Who may act and where: users with their roles and region code prefixes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from engine.machine import Actor
from engine.store.tables import users


_GET = select(users).where(users.c.name == bindparam("name"))


def get(conn: Connection, name: str) -> Actor | None:
    row = conn.execute(_GET, {"name": name}).first()
    if row is None:
        return None
    return Actor(row.name, tuple(r for r in row.roles.split(",") if r), tuple(r for r in row.regions.split(",") if r))


def put(conn: Connection, actor: Actor, now: datetime) -> bool:
    """Add or replace a user; True when the user is new."""
    values = {"roles": ",".join(actor.roles), "regions": ",".join(actor.regions)}
    if conn.execute(update(users).where(users.c.name == actor.name), values).rowcount:
        return False
    conn.execute(insert(users), [{"name": actor.name, "created_at": now, **values}])
    return True


def all_users(conn: Connection) -> list[Actor]:
    rows = conn.execute(select(users).order_by(users.c.name))
    return [Actor(r.name, tuple(x for x in r.roles.split(",") if x), tuple(x for x in r.regions.split(",") if x)) for r in rows]
