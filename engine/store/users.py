"""Who may act and where: users with their roles and region code prefixes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from engine.actor import Actor
from engine.store.prepared import Prepared
from engine.store.tables import users

_GET = Prepared(select(users.c.name, users.c.roles, users.c.regions).where(users.c.name == bindparam("name")))


def _actor(name: str, roles: str, regions: str) -> Actor:
    return Actor(name, tuple(r for r in roles.split(",") if r), tuple(r for r in regions.split(",") if r))


def get(conn: Connection, name: str) -> Actor | None:
    row = _GET.first(conn, {"name": name})
    return None if row is None else _actor(*row)


def put(conn: Connection, actor: Actor, now: datetime) -> bool:
    """Add or replace a user; True when the user is new."""
    values = {"roles": ",".join(actor.roles), "regions": ",".join(actor.regions)}
    if conn.execute(update(users).where(users.c.name == actor.name), values).rowcount:
        return False
    conn.execute(insert(users), [{"name": actor.name, "created_at": now, **values}])
    return True


def all_users(conn: Connection) -> list[Actor]:
    rows = conn.execute(select(users.c.name, users.c.roles, users.c.regions).order_by(users.c.name))
    return [_actor(*r) for r in rows]
