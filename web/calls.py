"""Every call the web face makes to the engine, in one place: the caller goes with each.

A request gets a `Call` (web/auth.py makes it): the engine, the authenticated caller (an `Actor`) and the
request's engine time, read once from the engine's clock. Writes and reads alike pass `actor=self.actor`: the
engine checks every rule for the caller as it does for `hazard --actor`, and scopes every read to the caller's
regions (and a bound enterprise user to their enterprise), so a case outside is 404 as one that does not exist.

No rule lives here: a method names the engine function it calls and hands on what the route read.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path


class Call:
    """`commands`: the engine's, or those of the unit of work the caller was checked in (web/auth.py, `one_unit`)."""

    __slots__ = ("engine", "caller", "now", "commands")

    def __init__(self, engine, caller, now: datetime, commands=None):
        self.engine, self.caller, self.now = engine, caller, now
        self.commands = commands or engine.commands

    @property
    def actor(self) -> str:
        return self.caller.name

    # -- cases: writes -------------------------------------------------------------------------------------------
    def report_case(self, *, fields: dict | None, **attributes):
        return self.commands.report_case(actor=self.actor, fields=fields or {}, now=self.now, **attributes)

    def advance_case(self, case_id: str, trigger: str, *, fields: dict | None, expected_version: int | None):
        return self.commands.advance_case(case_id, trigger, actor=self.actor, fields=fields or {},
                                                 expected_version=expected_version, now=self.now)

    def extend_deadline(self, case_id: str, *, until: str, reason: str, clock: str | None,
                        expected_version: int | None):
        return self.commands.extend_deadline(case_id, actor=self.actor, until=until, reason=reason, clock=clock,
                                                    expected_version=expected_version, now=self.now)

    def attach(self, case_id: str, paths: list[str], *, names: list[str], kind: str | None, note: str | None,
               expected_version: int | None = None):
        return self.commands.attach(case_id, paths, actor=self.actor, names=names, kind=kind, note=note,
                                           expected_version=expected_version, now=self.now)

    def decide(self, case_id: str, rung: str, decision: str, *, reason: str, expected_version: int | None = None):
        return self.commands.decide(case_id, rung, decision, actor=self.actor, reason=reason,
                                           expected_version=expected_version, now=self.now)

    # -- pages -------------------------------------------------------------------------------------------------------
    def work(self, *, limit: int, offset: int):
        return self.engine.queries.work_for(self.actor, now=self.now, limit=limit, offset=offset)  # scope: the caller

    def case_page(self, case_id: str):
        return self.engine.queries.case_page(case_id, actor=self.actor, now=self.now)  # scope: the caller

    # -- cases: reads --------------------------------------------------------------------------------------------
    def case_view(self, case_id: str):
        return self.engine.queries.case_view(case_id, actor=self.actor)

    def evidence(self, case_id: str, *, as_of: datetime | None = None):
        return self.engine.queries.evidence(case_id, actor=self.actor, as_of=as_of)

    def evidence_file(self, case_id: str, sha256: str):
        return self.engine.queries.evidence_file(case_id, sha256, actor=self.actor)  # scope: the caller

    def case_as_of(self, case_id: str, as_of: datetime):
        return self.engine.queries.case_as_of(case_id, as_of, actor=self.actor)

    def cases(self, spec, *, moment: datetime, as_of: datetime | None):
        return self.engine.queries.cases(spec, now=moment, as_of=as_of, actor=self.actor)

    def history(self, case_id: str):
        return self.engine.queries.history(case_id, actor=self.actor)

    def escalations(self, **options):
        return self.engine.queries.escalation_list(now=self.now, actor=self.actor, **options)

    # -- audit -----------------------------------------------------------------------------------------------------
    def trace(self, case_id: str, *, as_of: datetime):
        return self.engine.audit.trace_case(case_id, as_of=as_of, actor=self.actor)

    def dossier(self, case_id: str):
        return self.engine.audit.dossier(case_id, now=self.now, actor=self.actor)

    def verify(self):
        return self.engine.audit.verify(actor=self.actor)  # committee and auditor only: the engine refuses others

    def check_anchor(self, line: str):
        return self.engine.audit.check_anchor(line)  # an anchor is published for the whole log: not scoped

    # -- reports ---------------------------------------------------------------------------------------------------
    def stats(self, **options):
        return self.engine.reports.stats(now=self.now, actor=self.actor, **options)

    def lists(self, **options):
        return self.engine.reports.lists(now=self.now, actor=self.actor, **options)

    def bulletin(self, **options):
        return self.engine.reports.bulletin(now=self.now, actor=self.actor, **options)

    def campaigns(self):
        return self.engine.reports.campaigns.list()

    def campaign_status(self, name: str, *, as_of: str | None):
        return self.engine.reports.campaigns.status(name, as_of=as_of, now=self.now, actor=self.actor)

    # -- ledgers -----------------------------------------------------------------------------------------------------
    def import_ledger(self, path: Path, *, name: str, sheet: str | None, defaults: dict, dry_run: bool,
                      skip_invalid: bool, photos: Path | None = None, region: str | None = None):
        from engine.ledger.app_import import import_ledger
        return import_ledger(self.engine, path, actor=self.actor, sheet=sheet, defaults=defaults, dry_run=dry_run,
                             skip_invalid=skip_invalid, now=self.now, name=name, photos=photos, region=region)

    def inbox(self, *, everything: bool):
        from engine.app.deliverer import inbox
        return inbox(self.engine, actor=self.actor, everything=everything)

    def unread(self) -> int:
        from engine.app.deliverer import unread_count
        return unread_count(self.engine, actor=self.actor)

    def mark_read(self, ids: list[int] | None):
        from engine.app.deliverer import mark_read
        return mark_read(self.engine, actor=self.actor, ids=ids)

    def export_register(self, path: Path, *, spec, as_of: datetime | None, headers: str):
        from engine.ledger.app_export import export_register
        return export_register(self.engine, path, spec=spec, as_of=as_of, now=self.now,
                               headers=headers, actor=self.actor)

    # -- users (the committee's page: the same commands as `hazard user ...`, each an event of the users' log) ----
    def users(self, *, disabled: bool):
        return self.engine.queries.user_accounts(disabled=disabled)  # as `hazard user list`: not scoped

    def add_user(self, name: str, *, roles: list[str], regions: list[str], enterprise: str | None):
        return self.engine.commands.add_user(name, roles=roles, regions=regions, enterprise=enterprise,
                                             actor=self.actor, now=self.now)

    def change_user(self, name: str, *, roles: list[str] | None, regions: list[str] | None, enterprise: str | None):
        return self.engine.commands.change_user(name, roles=roles, regions=regions, enterprise=enterprise,
                                                actor=self.actor, now=self.now)

    def disable_user(self, name: str):
        return self.engine.commands.disable_user(name, actor=self.actor, now=self.now)

    def enable_user(self, name: str):
        return self.engine.commands.enable_user(name, actor=self.actor, now=self.now)

    def set_password(self, name: str, password: str):
        return self.engine.commands.set_password(name, password, actor=self.actor, now=self.now)

    def issue_token(self, name: str, *, expires_days: int | None):
        return self.engine.commands.issue_token(name, actor=self.actor, expires_days=expires_days, now=self.now)

    def revoke_tokens(self, name: str, *, token_id: str | None):
        return self.engine.commands.revoke_tokens(name, actor=self.actor, token_id=token_id, now=self.now)

    # -- definitions -------------------------------------------------------------------------------------------------
    def workflow_versions(self):
        return self.engine.queries.workflow_versions()

    def workflow(self, name: str, version: int | None):
        return self.engine.queries.workflow(name, version)


def open_session(engine, name: str, password: str, *, address: str | None):
    """Sign in with a password (the engine's log-in rule and rate limit): a session with its cookie's value."""
    return engine.commands.open_session(name, password, address=address)


def session_of(engine, cookie: str | None, *, idle):
    """The live session a cookie names (its user and CSRF token), or PermissionDenied saying why not."""
    return engine.commands.check_session(cookie, idle=idle)


def close_session(engine, cookie: str | None) -> bool:
    return engine.commands.close_session(cookie)


def caller_of(commands, token: str | None):
    """The user a bearer token belongs to, by the engine's token check (`hazard`'s HAZARD_TOKEN rule)."""
    return commands.authenticate_bearer(token)


def health(engine) -> dict:
    """The database's schema revision (a read that fails when the database cannot be reached)."""
    return engine.queries.schema_revision()
