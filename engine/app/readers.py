"""Who reads (*app*): every read of the application takes `actor`, the reader's name, and reads within their reach.

`actor=None` is an unscoped read: the operator's shell, a script, a bench (what every read did before readers
were named). A name is a registered user who may act (the users' log checked, as for a command: unknown or
disabled is PermissionDenied); they read the cases of their regions and, bound to an enterprise, of that
enterprise (`engine.domain.reach.Reach`), and a case outside is NotFound, as one that does not exist is.
"""
from __future__ import annotations

from engine.domain.actor import Actor
from engine.domain.errors import PermissionDenied
from engine.domain.reach import Reach

# The roles that read the whole of an audit (verify, the replay of every case) within their regions.
AUDIT_ROLES = ("auditor", "committee")


def _reader(conn, actor: str) -> Actor:
    from engine.store import users as user_store
    if not actor:
        raise PermissionDenied("no actor given", rule="actor")
    user = user_store.get_checked(conn, actor)
    if user is None:
        raise user_store.missing(conn, actor)
    return user


def reach_of(conn, actor: str | None) -> Reach | None:
    """The reach of the reader `actor` (None: unscoped), read in the caller's transaction."""
    return None if actor is None else Reach.of(_reader(conn, actor))


def reach(engine, actor: str | None) -> Reach | None:
    """`reach_of` in a read of its own (reports and exports, which read in several transactions)."""
    if actor is None:
        return None
    with engine.store.read() as conn:
        return reach_of(conn, actor)


def auditing_reach(conn, actor: str | None, what: str) -> Reach | None:
    """The reach of a reader of a whole audit: an auditor or a committee member (PermissionDenied otherwise)."""
    from engine.domain.machine import pick_role
    if actor is None:
        return None
    user = _reader(conn, actor)
    pick_role(user, AUDIT_ROLES, what)
    return Reach.of(user)
