"""The users' log, pure: every grant (who gave what to whom, when) hash-chained, and the rules for giving.

One log for the whole roster, in sequence: `add`, `change`, `disable` and `enable` of a user, `token` issued,
`revoke`d, `password` set, and `setting` (a database setting such as `require_token` or `drill`). A user bound to
one enterprise has it in the data of each grant that makes them who they are (`add`, `change`, `enable`:
`{"enterprise": NAME_OR_CODE}`); such a grant without it leaves them unbound, as every user of an older log is.
Each grant is sealed like a case event (`engine.domain.events.canonical`, SHA-256 over every column and the
previous hash), so `audit verify` names the sequence number of an edited, removed or reordered grant; the tables of
users, tokens, passwords and settings are its projection (`fold`), and verify compares them with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable

from engine.domain import vocabularies
from engine.domain.clock import UTC, iso
from engine.domain.credentials import digest
from engine.domain.enterprises import read_binding
from engine.domain.errors import Conflict, InvalidInput, PermissionDenied
from engine.domain.events import GENESIS, data_hash
from engine.domain.lookalikes import first_lookalike, looks_like, strangers
from engine.domain.actor import Actor

# `system` is the engine's own role and actor; `scheduler` is the name every sweep's events carry
# (engine/app/unit.py SYSTEM): a user of either name could pass for the engine in the log.
RESERVED_NAMES = frozenset({"system", "scheduler"})
GRANTING_ROLE = "committee"
BOUND_ROLE = "enterprise"   # the role whose users may be bound to one enterprise
SETTINGS = ("require_token", "drill", "import_max_mb", "attach_max_mb")
# The notification channels' settings (`hazard notify channel set`), granted like the others; a secret's grant
# keeps only its digest (SECRET_SETTINGS), so `hazard user log` never shows it, and the table is compared by it.
CHANNEL_SETTINGS = ("notify.smtp", "notify.webhook.secret")
SECRET_SETTINGS = frozenset({"notify.webhook.secret"})


def secret_digest(value: str) -> str:
    """What the users' log keeps of a secret setting."""
    import hashlib
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()
_NAME = re.compile(r"^\w[\w.@-]{0,63}$")


@dataclass(frozen=True)
class Grant:
    seq: int
    actor: str
    action: str
    subject: str            # the user (or, for `setting`, the setting's key)
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    at: datetime            # effective time (the engine's clock)
    recorded_at: datetime   # when it was really written
    data: dict = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def content(self) -> dict:
        return {"seq": self.seq, "actor": self.actor, "action": self.action, "subject": self.subject,
                "roles": list(self.roles), "regions": list(self.regions), "at": _utc(self.at),
                "recorded_at": _utc(self.recorded_at), "data": self.data, "prev_hash": self.prev_hash}

    def sealed(self) -> "Grant":
        return replace(self, hash=grant_hash(self))


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def grant_hash(grant: Grant) -> str:
    return data_hash(grant.content())


def verify_grants(grants: Iterable[Grant], *, head: tuple[int, str] | None) -> list[tuple[int, str]]:
    """Every break in the users' log as (seq, problem); `head` is the (seq, hash) the database says is last."""
    problems, expected_prev, expected_seq, last = [], GENESIS, 1, None
    for grant in grants:
        if grant.seq != expected_seq:
            problems.append((grant.seq, f"sequence {grant.seq} where {expected_seq} was expected (removed or reordered)"))
        if grant.prev_hash != expected_prev:
            problems.append((grant.seq, "previous-hash link broken (an earlier grant was edited, removed or reordered)"))
        if grant_hash(grant) != grant.hash:
            problems.append((grant.seq, "content does not match its hash (the grant was edited)"))
        expected_prev, expected_seq, last = grant.hash, grant.seq + 1, grant
    found = (last.seq, last.hash) if last else None
    if head != found:
        at = found[0] if found else 0
        problems.append((at, f"the database says the log ends at #{head[0] if head else 0} but it ends at #{at}"))
    return problems


def grant_document(grant: Grant) -> dict:
    return {"seq": grant.seq, "actor": grant.actor, "action": grant.action, "subject": grant.subject,
            "roles": list(grant.roles), "regions": list(grant.regions), "at": iso(grant.at),
            "recorded_at": iso(grant.recorded_at), "data": grant.data, "prev_hash": grant.prev_hash,
            "hash": grant.hash}


# -- the fold: what the log says the tables hold -------------------------------------------------------------
@dataclass
class TokenGrant:
    token_id: str
    user: str
    digest: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None


def bound(grant: Grant) -> str | None:
    """The enterprise an `add`, `change` or `enable` grant binds its user to (None: unbound)."""
    return (grant.data or {}).get("enterprise") or None


@dataclass
class Account:
    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    created_at: datetime
    active: bool = True
    password: str | None = None          # digest of the stored password hash
    enterprise: str | None = None        # the one enterprise a bound user acts for
    contact: dict = field(default_factory=dict)  # where notifications reach them (CONTACT_KEYS), and when

    def actor(self) -> Actor:
        return Actor(self.name, self.roles, self.regions, self.enterprise)


@dataclass
class Roster:
    """Who may act as the users' log says: accounts, live tokens and the settings that guard them."""
    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, TokenGrant] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)


def fold(grants: Iterable[Grant]) -> tuple[Roster, list[tuple[int, str]]]:
    """The roster the log describes, and every grant that does not fit it (a forged or broken log)."""
    roster, problems = Roster(), []
    for grant in grants:
        problem = apply(roster, grant)
        if problem:
            problems.append((grant.seq, problem))
    return roster, problems


def apply(roster: Roster, grant: Grant) -> str | None:
    """Fold one grant into `roster`; the problem, when the grant does not fit (or cannot be read)."""
    try:
        return _apply(roster, grant)
    except (TypeError, ValueError, AttributeError):  # a row edited into something no grant ever was
        return f"{grant.action} of '{grant.subject}': its data cannot be read"


def _apply(roster: Roster, grant: Grant) -> str | None:
    account = roster.accounts.get(grant.subject)
    data = grant.data or {}
    if grant.action == "setting":
        roster.settings[grant.subject] = str(data.get("value", ""))
    elif grant.action == "add":
        if account is not None:
            return f"'{grant.subject}' is added again"
        roster.accounts[grant.subject] = Account(grant.subject, grant.roles, grant.regions, grant.at,
                                                 enterprise=bound(grant))
    elif account is None:
        return f"{grant.action} of '{grant.subject}', who was never added"
    elif grant.action == "change":
        account.roles, account.regions, account.enterprise = grant.roles, grant.regions, bound(grant)
    elif grant.action == "disable":
        account.active = False
    elif grant.action == "enable":
        if account.active:
            return f"enables '{grant.subject}', who is not disabled"
        account.active, account.enterprise = True, bound(grant)  # the engine enables with the binding they had
    elif grant.action == "password":
        account.password = data.get("digest")
    elif grant.action == "contact":
        account.contact = {k: str(v) for k, v in data.items() if k in CONTACT_KEYS and v}
    elif grant.action == "token":
        expires = data.get("expires_at")
        roster.tokens[data.get("token", "")] = TokenGrant(
            data.get("token", ""), grant.subject, data.get("digest", ""), grant.recorded_at,
            datetime.fromisoformat(expires) if expires else None)
    elif grant.action == "revoke":
        for token_id in data.get("tokens", []):
            token = roster.tokens.get(token_id)
            if token is None or token.user != grant.subject:
                return f"revokes token {token_id}, which is not one of '{grant.subject}''s"
            token.revoked_at = token.revoked_at or grant.recorded_at
    else:
        return f"unknown action '{grant.action}'"
    return None


# -- who someone was at a moment, for the replay of their events -------------------------------------------------------
@dataclass(frozen=True)
class Standing:
    """What the users' log had made of each user, over time: replay asks who `name` was when an event was
    recorded (the real time both logs keep), so an event signed by someone never added, already disabled, in
    a role they did not hold then, or bound to another enterprise then is named, however it is hashed."""

    timeline: dict  # name -> [(since, roles, regions, active, enterprise)], in log order

    def at(self, name: str, moment: datetime) -> tuple[tuple[str, ...], tuple[str, ...], bool, str | None] | None:
        """(roles, regions, active, enterprise) of `name` at `moment`, or None when they were not a user yet."""
        found = None
        for since, roles, regions, active, enterprise in self.timeline.get(name, ()):
            if since <= moment:  # in log order: the last grant recorded by then decides
                found = (roles, regions, active, enterprise)
        return found


def standing(grants: Iterable[Grant]) -> Standing:
    timeline: dict[str, list] = {}
    for grant in grants:
        if grant.action not in ("add", "change", "disable", "enable"):
            continue
        # A user adopted from a release before the log was registered then (its `at`), not at the upgrade.
        since = grant.at if (grant.data or {}).get("adopted") else grant.recorded_at
        history = timeline.setdefault(grant.subject, [])
        roles, regions, enterprise = grant.roles, grant.regions, bound(grant)
        if grant.action == "disable" and history:
            roles, regions, enterprise = history[-1][1], history[-1][2], history[-1][4]
        history.append((since, tuple(roles), tuple(regions), grant.action != "disable", enterprise))
    return Standing(timeline)


# -- what a command checks of the rows it loads, against the log ----------------------------------------------------
# Standing grants found to match their hash, by their whole content: every command checks its actor's standing grant,
# the same few grants over and over, and hashing one costs more than the rest of the check. A grant with data is
# hashed each time (a dict is no key); an edited grant is a different key, so it is hashed and refused.
_MATCHING: set[tuple] = set()


def _matches_hash(grant: Grant) -> bool:
    if grant.data.__class__ is not dict or grant.data:
        return grant_hash(grant) == grant.hash
    key = (grant.seq, grant.actor, grant.action, grant.subject, tuple(grant.roles), tuple(grant.regions), grant.at,
           grant.recorded_at, grant.prev_hash, grant.hash)
    if key in _MATCHING:
        return True
    if grant_hash(grant) != grant.hash:
        return False
    if len(_MATCHING) > 10_000:
        _MATCHING.clear()
    _MATCHING.add(key)
    return True


def account_problem(name: str, actor: Actor | None, last: Grant | None) -> str | None:
    """What is wrong with `name`'s row in the users table (None: no row) against the last grant that made them who
    they are, if anything: roles, regions and whether they may act are the log's, and that grant is as sealed."""
    if last is None:
        return f"user '{name}' is in the users table but was never added in the users' log" if actor else None
    if not _matches_hash(last):
        return f"users' log #{last.seq} ({last.action} of '{name}') does not match its hash (edited)"
    if actor is None:
        return f"user '{name}' was {last.action}ed in the users' log but is not in the users table" \
            if last.action != "disable" else None
    if last.action == "disable":
        return f"user '{name}' was disabled in the users' log (#{last.seq}) but is in the users table"
    if (tuple(actor.roles), tuple(actor.regions)) != (tuple(last.roles), tuple(last.regions)):
        return (f"user '{name}' holds {','.join(actor.roles)} in {','.join(actor.regions)} in the users table; the "
                f"users' log (#{last.seq}) gave {','.join(last.roles)} in {','.join(last.regions)}")
    if actor.enterprise != bound(last):
        return (f"user '{name}' is bound to {actor.enterprise or 'no enterprise'} in the users table; the users' log "
                f"(#{last.seq}) bound them to {bound(last) or 'no enterprise'}")
    return None


def token_problem(token_id: str, row: tuple, grants: list[Grant]) -> str | None:
    """What is wrong with a stored token (user, digest of the secret's hash, expires_at, revoked_at) against the
    grant that issued it and the revocations of its user, if anything."""
    user, stored_hash, expires_at, revoked_at = row
    issued = next((g for g in grants if g.action == "token" and (g.data or {}).get("token") == token_id), None)
    if issued is None or grant_hash(issued) != issued.hash:
        return f"token {token_id} of '{user}' was never issued in the users' log"
    if issued.subject != user or (issued.data or {}).get("digest") != digest(stored_hash):
        return f"token {token_id} is not the one the users' log issued to '{issued.subject}'"
    expires = (issued.data or {}).get("expires_at")
    if (datetime.fromisoformat(expires) if expires else None) != expires_at:
        return f"token {token_id}'s expiry is not the one the users' log gave it"
    revoked = any(token_id in ((g.data or {}).get("tokens") or ()) for g in grants if g.action == "revoke")
    if revoked and revoked_at is None:
        return f"token {token_id} of '{user}' was revoked in the users' log"
    return None


def password_problem(name: str, stored: str, last: Grant | None) -> str | None:
    """The stored password hash against the last grant that set it, if anything is wrong."""
    if last is None or grant_hash(last) != last.hash or (last.data or {}).get("digest") != digest(stored):
        return f"the password of '{name}' is not the one the users' log set"
    return None


def setting_problem(key: str, value: str | None, last: Grant | None) -> str | None:
    """The stored setting against the last grant that set it, if anything is wrong."""
    granted = None if last is None else str((last.data or {}).get("value", ""))
    if last is not None and grant_hash(last) != last.hash:
        return f"users' log #{last.seq} (setting {key}) does not match its hash (edited)"
    if value != granted:
        return f"setting {key} is {value!r} in the settings table, {granted!r} in the users' log"
    return None


CONTACT_KEYS = ("email", "phone", "webhook", "channels", "quiet")


def compare(roster: Roster, *, users: dict, tokens: dict, passwords: dict, settings: dict,
            contacts: dict | None = None) -> list[str]:
    """Where the stored tables disagree with the fold of the log; each table given as {key: tuple} rows:
    users {name: (roles, regions, created_at, enterprise)}, tokens {id: (user, digest, created_at, expires_at, revoked)},
    passwords {name: digest}, settings {key: value}."""
    want_users = {a.name: (a.roles, a.regions, a.created_at, a.enterprise) for a in roster.accounts.values()
                  if a.active}
    want_tokens = {t.token_id: (t.user, t.digest, t.created_at, t.expires_at, t.revoked_at is not None)
                   for t in roster.tokens.values()}
    want_passwords = {a.name: a.password for a in roster.accounts.values() if a.password}
    want_contacts = {a.name: a.contact for a in roster.accounts.values() if a.contact}
    problems = []
    for what, want, have in (("user", want_users, users), ("token", want_tokens, tokens),
                             ("password of", want_passwords, passwords), ("setting", roster.settings, settings),
                             ("contact of", want_contacts, contacts if contacts is not None else want_contacts)):
        for key in sorted(set(want) | set(have)):
            if key not in have:
                problems.append(f"{what} {key}: in the log but not in the table")
            elif key not in want:
                problems.append(f"{what} {key}: in the table but not in the log")
            elif want[key] != have[key]:
                problems.append(f"{what} {key}: the table differs from the log")
    return problems


# -- the rules for giving ------------------------------------------------------------------------------------
def check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise InvalidInput(f"'{name}' is not a user name: 1 to 64 letters, digits or . _ - @, starting with a "
                           "letter or digit", field="name", rule="name")
    if any(looks_like(name, reserved) for reserved in sorted(RESERVED_NAMES)):
        raise InvalidInput(f"'{name}' is reserved for the engine itself (or looks like a name that is)",
                           field="name", rule="reserved")
    return name


def check_distinct(name: str, roster: Roster) -> None:
    """A new name may not read like a name the roster holds, a disabled user's included: the history shows
    names, so `zhаng` (Cyrillic а) beside `zhang` would sign as zhang. Conflict (exit 6), as the same name is:
    the name itself is well formed; what stands in its way is a user who exists."""
    other = first_lookalike(name, sorted(roster.accounts))
    if other is None:
        return
    disabled = "" if roster.accounts[other].active else "disabled "
    odd = strangers(name)
    raise Conflict(f"'{name}' looks like the existing {disabled}user '{other}'"
                   + (f" (it holds {', '.join(odd)})" if odd else "")
                   + ": the history would show the two alike; choose a name that reads differently",
                   case_id="", rule="user-lookalike")


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    given = [str(r).strip() for r in roles]
    if not given:
        raise InvalidInput("a user needs at least one role", field="role", rule="requires")
    return tuple(dict.fromkeys(vocabularies.roles().check(r) for r in given))


def check_binding(roles: tuple[str, ...], enterprise: str | None) -> str | None:
    """The enterprise a user with `roles` is bound to (`engine.domain.enterprises.read_binding`; None: unbound). Only
    a user with the enterprise role acts for one enterprise: a department's users see their regions whole."""
    if enterprise is None:
        return None
    binding = read_binding(enterprise)
    if BOUND_ROLE not in roles:
        raise InvalidInput(f"only a user with the {BOUND_ROLE} role is bound to an enterprise (roles given: "
                           f"{', '.join(roles)})", field="enterprise", rule="enterprise-role")
    return binding


def covers(prefixes: tuple[str, ...], region: str) -> bool:
    return any(region.startswith(p) for p in prefixes)


def check_grantor(actor: Actor, regions: Iterable[str], what: str) -> None:
    """Granting needs the committee role over every region the grant touches."""
    if GRANTING_ROLE not in actor.roles:
        raise PermissionDenied(f"'{actor.name}' may not {what}: that needs the {GRANTING_ROLE} role",
                               actor=actor.name, rule="role")
    outside = [r for r in regions if not covers(actor.regions, r)]
    if outside:
        raise PermissionDenied(f"'{actor.name}' may not {what}: region {', '.join(outside)} is outside "
                               f"{', '.join(actor.regions)}", actor=actor.name, rule="in_region")


def check_self_or_grantor(actor: Actor, account: Account, what: str) -> None:
    """A user's own credentials are theirs to set; anyone else's need a grantor over their regions."""
    if actor.name != account.name:
        check_grantor(actor, account.regions, what)
