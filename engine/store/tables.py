"""The tables, as SQLAlchemy Core `Table`s: every hot path builds its statements on them.

Core, not SQLModel classes: a command imports this module on every run, and SQLModel pulls in the ORM and
pydantic (about 100 ms) that no statement here uses. SQLModel keeps the records only cold commands touch
(`engine/store/records.py`); `METADATA` and SQLModel's metadata together are the whole schema.

Keys settle races: `(case_id, seq)` makes a second writer of the same event number fail; `(case_id, clock,
cycle, rung)` makes a rung fire at most once; `(name, version)` keeps one row per definition version.
"""
from __future__ import annotations

import threading
from datetime import timezone

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text, TypeDecorator,
    UniqueConstraint, and_, false, literal_column, text,
)

METADATA = MetaData()


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on both databases (SQLite drops offsets silently)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: every instant must carry its zone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _id() -> Column:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _ts(name: str, nullable: bool = False, index: bool = False) -> Column:
    return Column(name, UTCDateTime, nullable=nullable, index=index)


workflow_versions = Table(
    "workflow_version", METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("content_hash", String, nullable=False),
    Column("source_text", Text, nullable=False),
    Column("file_name", String, nullable=False),
    Column("calendar_hash", String),
    _ts("installed_at"),
    UniqueConstraint("name", "version"),
)

calendars = Table(
    "work_calendar", METADATA,
    Column("content_hash", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("version", String, nullable=False),
    Column("first_year", Integer, nullable=False),
    Column("last_year", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    _ts("installed_at"),
)

users = Table(
    "app_user", METADATA,
    Column("name", String, primary_key=True),
    Column("roles", String, nullable=False),     # comma-separated
    Column("regions", String, nullable=False),   # comma-separated region code prefixes
    _ts("created_at"),
    Column("enterprise", String, nullable=True),  # a bound enterprise user's enterprise (name or credit code)
)

counters = Table(
    "case_counter", METADATA,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)

# The register: the projection of each case's events (`engine.domain.case.apply`), one row per case.
cases = Table(
    "hazard_case", METADATA,
    Column("id", String, primary_key=True),
    Column("workflow", String, nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("state", String, nullable=False),
    Column("version", Integer, nullable=False),
    # No index of its own: a level is one of two or three values, and the reports find it in ix_case_report.
    Column("level", String, nullable=False),
    Column("title", String, nullable=False),
    Column("enterprise", String, nullable=False),
    Column("region", String, nullable=False, index=True),
    Column("industry", String, nullable=False),
    Column("source", String, nullable=False),
    _ts("found_at", index=True),
    Column("deadline", String),
    # Overdue, one definition everywhere: open, not met, and due_at <= (paused_at or now). due_at is the
    # deadline moved later by the time its clock spent paused, as the ladder counts it.
    _ts("due_at", nullable=True),
    _ts("paused_at", nullable=True),
    _ts("met_at", nullable=True),        # the deadline's clock stopped: the obligation was met
    _ts("rectified_at", nullable=True),  # entered a state the definition marks `rectified`
    _ts("accepted_at", nullable=True),   # entered a state the definition marks `accepted`
    _ts("voided_at", nullable=True),     # voided: counted nowhere, kept in the log
    _ts("judged_at", nullable=True),     # a back-dated record's recording time: what "on time" is judged by
    Column("responsible_unit", String),
    Column("responsible_person", String),
    Column("department", String),
    Column("ledger_id", String),   # the sheet's own hazard code (隐患编号) an import kept: how a re-import knows it
    Column("fields", JSON, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("signers", JSON, nullable=False),
    Column("clocks", JSON, nullable=False),
    Column("fired", JSON, nullable=False),
    # Linked cases are found by ix_case_report, which leads with it.
    Column("parent_id", String),
    Column("calendar_hash", String),
    Column("is_final", Boolean, nullable=False),
    Column("decisions", JSON, nullable=False, default=dict),
    # A proposal awaits its decision or an extension application its ruling (engine.domain.escalation.decisions
    # .has_pending of `decisions`): derived like the other columns, so replay checks it; 我的待办 reads the few
    # cases with one by ix_case_pending_decision instead of reading every open case's decisions.
    Column("pending_decision", Boolean, nullable=False, default=False, server_default=false()),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("acted_at", nullable=True),
    _ts("closed_at", nullable=True),
    Column("last_hash", String, nullable=False),
    # engine.domain.case.digest of the projection the row holds: a command compares it (and last_hash with the hash of
    # the case's last event) when it loads the row, and refuses a row edited by hand.
    Column("row_hash", String),
    Index("ix_case_state_region", "state", "region"),
    # What an import recognises a row it holds by (engine/store/held.py): the enterprise's hazards of a found
    # day; the sheet's own code is `ix_case_ledger_id` below.
    Index("ix_case_enterprise_found", "enterprise", "found_at"),
    # ix_case_open_due and ix_case_work, over the open cases only, are declared below (declare_partial_indexes).
    Index("ix_case_pending_decision", "pending_decision", "region"),
    # Reports (engine/store/reports.py): every column the figures' GROUP BY filters, groups and counts by, so
    # a county's or a province's figures are read from this index alone, in region order, without a sort.
    Index("ix_case_report", "parent_id", "voided_at", "region", "industry", "level", "department", "found_at",
          "rectified_at", "accepted_at", "due_at", "met_at", "paused_at", "closed_at", "judged_at"),
)
events = Table(
    "case_event", METADATA,
    _id(),
    Column("case_id", String, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("trigger", String, nullable=False),
    Column("from_state", String),
    Column("to_state", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("role", String, nullable=False),
    _ts("at", index=True),
    _ts("recorded_at"),
    Column("data", JSON, nullable=False),
    Column("workflow", String, nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
    UniqueConstraint("case_id", "seq", name="uq_event_case_seq"),
)

# Notices (文书; engine/domain/notices.py, engine/app/notices.py): each issued notice's rendered text, sealed by the
# SHA-256 its issuing event records; numbered from `notice_counter`, one row per (kind, office, year) taken with
# the event in one transaction (the row is the lock, as `case_counter` is for case ids), so no number is skipped
# or given twice. `number` is unique; `(case_id, seq)` names the event that issued it.
notice_counters = Table(
    "notice_counter", METADATA,
    Column("kind", String, primary_key=True),
    Column("office", String, primary_key=True),
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)

notices = Table(
    "notice", METADATA,
    Column("number", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("office", String, nullable=False),
    Column("year", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("case_id", String, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("region", String, nullable=False),
    _ts("issued_at"),
    Column("title", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("sha256", String, nullable=False),
    Index("ix_notice_case", "case_id", "seq"),
    Index("ix_notice_kind_year", "kind", "year"),
)

rungs = Table(
    "rung", METADATA,
    _id(),
    # A case's rows (a handful) are found by uq_rung_once, which leads with it: a command's rows, the next pending
    # rung of each case on a page of 我的待办, a case's due rungs. No other index holds them by case (issue 23:
    # ix_rung_case_status, written by every status a step moved, was dropped by migration 0012).
    Column("case_id", String, nullable=False),
    Column("clock", String, nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("rung", String, nullable=False),
    Column("action", String, nullable=False),
    _ts("due_at", nullable=True),
    Column("provisional", Boolean, nullable=False, default=False),
    Column("status", String, nullable=False),   # pending, paused, fired, skipped, cancelled
    _ts("fired_at", nullable=True),
    Column("sweep_id", String),
    Column("claimed_by", String),
    _ts("lease_until", nullable=True),
    UniqueConstraint("case_id", "clock", "cycle", "rung", name="uq_rung_once"),
)
sweeps = Table(
    "sweep_log", METADATA,
    Column("id", String, primary_key=True),
    Column("host", String, nullable=False),
    _ts("now"),
    _ts("started_at"),
    _ts("finished_at", nullable=True),
    Column("fired", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("proposed", Integer, nullable=False, default=0),
    Column("max_late_seconds", Float, nullable=False, default=0.0),
)

# The users' log (engine/domain/grants.py): every grant hash-chained in one sequence. `app_user`, `user_token`,
# `user_password` and `setting` are its projection, written in the same transaction; the seq key makes a
# second writer of the same grant number fail.
user_grants = Table(
    "user_grant", METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("subject", String, nullable=False, index=True),
    Column("roles", String, nullable=False),     # comma-separated, as in app_user
    Column("regions", String, nullable=False),
    _ts("at"),
    _ts("recorded_at"),
    Column("data", JSON, nullable=False),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
)

# The grants that make a user who they are (their roles, regions and whether they may act): the last of them is what
# the user's row is checked against whenever it is loaded (engine.store.users.checked_actor).
STANDING_ACTIONS = ("add", "change", "disable", "enable")

user_tokens = Table(
    "user_token", METADATA,
    Column("id", String, primary_key=True),      # the public part of the token
    Column("user_name", String, nullable=False, index=True),
    Column("token_hash", String, nullable=False),  # SHA-256 of the secret part; the secret is never stored
    _ts("created_at"),
    _ts("expires_at", nullable=True),
    _ts("revoked_at", nullable=True),
)

user_passwords = Table(
    "user_password", METADATA,
    Column("name", String, primary_key=True),
    Column("password_hash", String, nullable=False),  # argon2id, with its salt and parameters
    _ts("set_at"),
)

settings = Table(
    "setting", METADATA,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

# The web console's sessions (engine/app/sessions.py): a row per signed-in browser, so every worker (and every
# server on one PostgreSQL) knows it, and a log-out ends it everywhere at once. The cookie's secret is never
# stored, only its SHA-256 (as for tokens); `credential` is the digest of the password the user signed in with,
# so a password changed since ends the session. Not part of the users' log: a session grants nothing new.
web_sessions = Table(
    "web_session", METADATA,
    Column("id", String, primary_key=True),          # SHA-256 of the cookie's secret
    Column("user_name", String, nullable=False, index=True),
    Column("credential", String, nullable=False),    # digest of the password hash at sign-in
    Column("csrf", String, nullable=False),          # the token every state-changing form carries
    _ts("created_at"),
    _ts("seen_at"),                                   # idle timeout counts from here
    _ts("expires_at"),                                # the longest a session lasts, however busy
)

# Notifications (engine/app/outbox.py, engine/app/deliverer.py): the transactional outbox. The unit of work that
# writes an event writes the messages it sets off in the same transaction; a deliverer claims pending rows
# (`claimed_by`, `lease_until`, SKIP LOCKED on PostgreSQL, as the sweep claims rungs) and marks each sent or
# failed. `key` is the message's idempotency key (case/seq/rule/recipient/channel): unique, so no message is
# written twice, and sent along so a receiver can drop a repeat. The in-app inbox reads the `inbox` rows.
notifications = Table(
    "notification", METADATA,
    _id(),
    Column("key", String, nullable=False, unique=True),
    Column("case_id", String, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("recipient", String, nullable=False),
    Column("channel", String, nullable=False),   # inbox, email, webhook
    Column("address", String, nullable=False),   # the user's name, e-mail address or URL when it was written
    Column("text", Text, nullable=False),
    Column("status", String, nullable=False),    # pending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    _ts("created_at"),
    _ts("next_at", nullable=True),               # pending: not tried before this (real time); NULL once settled
    _ts("sent_at", nullable=True),
    _ts("read_at", nullable=True),               # the inbox: when its reader marked it read
    Column("last_error", String),
    Column("claimed_by", String),
    _ts("lease_until", nullable=True),
)
# The in-app inbox's rows: the condition every inbox read states, written as a literal (not a bound parameter) so
# that both planners match it with ix_notification_inbox's predicate.
INBOX = notifications.c.channel == literal_column("'inbox'")

# Where each user can be reached (`hazard user change NAME --email --phone --webhook`): the projection of the
# users' log's `contact` grants, written in the grant's transaction.
user_contacts = Table(
    "user_contact", METADATA,
    Column("name", String, primary_key=True),
    Column("email", String),
    Column("phone", String),
    Column("webhook", String),
    Column("channels", String),   # the channels chosen beside the inbox ("email,webhook"); NULL: every one given
    Column("quiet", String),      # quiet hours, Shanghai time ("22:00-07:00"): nothing leaves then but the inbox
)

# Failed log-ins, per user name and per address ("name:zhang", "addr:10.1.2.3"): the rate limit's state, in the
# database so every worker counts the same failures.
login_failures = Table(
    "login_failure", METADATA,
    Column("key", String, primary_key=True),
    Column("failures", Integer, nullable=False),
    _ts("last_at"),
)


# -- indexes with dialect options --------------------------------------------------------------------------------
# Declared on demand, before tables are created or compared (Store.create_schema, schema.all_metadata): giving
# an Index a `postgresql_*` option imports SQLAlchemy's whole PostgreSQL dialect (asyncio with it), 15 ms of
# every command on SQLite that never creates a table.
_declared = threading.Lock()
_partial_indexes: list[Index] = []


def declare_partial_indexes() -> None:
    with _declared:
        if _partial_indexes:
            return
        c = cases.c
        # Register filters take a region as a code prefix (`region LIKE '3717%'`). Under a collation other
        # than C, PostgreSQL serves LIKE only from a `text_pattern_ops` index: without these, counting a city's
        # cases reads every case, and its overdue list every open case of the province (bench/bench_growth.py
        # measures both). SQLite serves LIKE from neither: there they are empty (`WHERE 0`), so both databases
        # keep one schema.
        _partial_indexes.append(Index("ix_case_region_prefix", c.region, postgresql_ops={"region": "text_pattern_ops"},
                                      sqlite_where=text("0")))
        _partial_indexes.append(Index(
            "ix_case_open_region_due", c.region, c.due_at, postgresql_ops={"region": "text_pattern_ops"},
            postgresql_where=and_(c.is_final.is_(False), c.met_at.is_(None), c.rectified_at.is_(None)),
            sqlite_where=text("0")))
        # The other branch of the overdue condition (engine/store/case_search.py): the few open cases whose clock
        # was paused after their due time. Its predicate compares two columns, which an index holds but cannot
        # search.
        paused = and_(c.is_final.is_(False), c.paused_at.isnot(None), c.due_at <= c.paused_at)
        _partial_indexes.append(Index("ix_case_overdue_paused", c.region, c.due_at,
                                      postgresql_ops={"region": "text_pattern_ops"}, postgresql_where=paused,
                                      sqlite_where=paused))
        # Over the open cases only (issue 23): closing a case deletes its entries instead of moving them into the
        # region of closed cases, which grew with the register and no query searched. Every query these serve says
        # `is_final IS false` (SQLAlchemy's `is_(False)`, rendered `IS 0` on SQLite) in the same words as the
        # predicate, which is how both planners recognise that a partial index covers it. is_final stays the first
        # column although every entry holds false: SQLite counts an index covering only if it holds every column
        # the query names, and without it 我的待办 read case rows and the overdue list took another plan.
        open_ = c.is_final.is_(False)
        _partial_indexes.append(Index("ix_case_open_due", c.is_final, c.due_at, sqlite_where=open_,
                                      postgresql_where=open_))
        # 我的待办 (engine/store/work.py): the open cases of a reach grouped by (workflow, version, state), and the
        # page's overdue-first order, both read from this index alone (no case row is read but the page's 50).
        _partial_indexes.append(Index("ix_case_work", c.is_final, c.region, c.voided_at, c.workflow,
                                      c.workflow_version, c.state, c.met_at, c.rectified_at, c.paused_at, c.due_at,
                                      c.id, sqlite_where=open_, postgresql_where=open_))
        # The sheet codes of imported hazards (engine/store/held.py): most cases, reported live, have none.
        coded = c.ledger_id.isnot(None)
        _partial_indexes.append(Index("ix_case_ledger_id", c.ledger_id, sqlite_where=coded, postgresql_where=coded))
        # The rows a sweep holds (a handful among millions): a partial index keeps finding them independent of
        # the register's size, for the claim of their cases' other rungs and for handing back a failed sweep's
        # claims.
        # The rows a sweep may fire, by due time (ix_rung_pending; it was (status, due_at) over every row): a row
        # paused, fired, skipped or cancelled leaves it, so a verify cancelling a case's rows deletes entries, never
        # writes them into a region of cancelled rows nothing searches (most of a register's rows, for ever).
        pending = rungs.c.status == literal_column("'pending'")
        _partial_indexes.append(Index("ix_rung_pending", rungs.c.due_at, sqlite_where=pending,
                                      postgresql_where=pending))
        # `hazard calendar status` counts the open rows due past the calendar's last year: a handful.
        provisional = rungs.c.provisional.is_(True)
        _partial_indexes.append(Index("ix_rung_provisional", rungs.c.status, sqlite_where=provisional,
                                      postgresql_where=provisional))
        claimed = rungs.c.claimed_by.isnot(None)
        _partial_indexes.append(Index("ix_rung_claimed", rungs.c.claimed_by, sqlite_where=claimed,
                                      postgresql_where=claimed))
        # The messages still to send (engine/store/notifications.py `claim`): a settled message, and every inbox
        # message (most of them), has no next_at, so a claim never reads past the outbox's history, and an
        # advance writing inbox rows adds nothing to this index.
        # A user's inbox (engine/store/notifications.py `inbox`, `unread_count`, `mark_read`): only the inbox rows,
        # so a message sent by e-mail or webhook adds nothing to it.
        _partial_indexes.append(Index("ix_notification_inbox", notifications.c.recipient, notifications.c.channel,
                                      notifications.c.created_at, sqlite_where=INBOX, postgresql_where=INBOX))
        unsent = notifications.c.next_at.isnot(None)
        _partial_indexes.append(Index("ix_notification_due", notifications.c.next_at, sqlite_where=unsent,
                                      postgresql_where=unsent))
