"""The commands: every way a user changes the register, each one unit of work (or one step of a batch).

A command loads what it needs through the unit, decides purely (`engine.domain.machine`), and appends the events;
the unit writes them with the projection and the rung rows in the same transaction. Time and actor come with
each call: `now` is the engine's time of this command (a back-filled ledger row has its own date, a web
request its own clock); omitted, it is the engine's clock.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from engine.app import backfill as backfilling
from engine.domain import limits
from engine.app import rulings
from engine.domain.calendar import default_calendar
from engine.domain.case import JUDGED, Case
from engine.domain.clock import iso_seconds, parse_time
from engine.domain.definition.model import Definition
from engine.domain.definition.fields_and_guards import GuardContext, normalise_date
from engine.domain.errors import Conflict, InvalidInput, NotFound, Refused
from engine.domain.actor import Actor
from engine.domain.machine import Proposal, check_command, check_guards, decide, pick_role
from engine.domain.reach import check_acts_for
from engine.app.registry import load_definition
from engine.domain.preconditions import (  # noqa: F401 - also named here, where callers found them
    check_deadline_after_found, check_deadlines, check_expected, check_time_order, guard_fields, report_attributes,
    utc_text,
)
from engine.app.unit import SYSTEM, UnitOfWork
from engine.domain.values import read_case_id


class Commands:
    """Commands over an engine; bound to a unit of work, they run as steps of one batch (`Engine.batch`)."""

    def __init__(self, engine, unit: UnitOfWork | None = None):
        self._engine = engine
        self._bound = unit

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        """The unit of work a command runs in: the batch's, or a new one committed when the command ends."""
        if self._bound is not None:
            yield self._bound
        else:
            with self._engine.unit() as unit:
                yield unit

    def _now(self, now: datetime | str | None) -> datetime:
        if now is None:
            return self._engine.clock.now()
        return parse_time(now) if isinstance(now, str) else now

    # -- cases ---------------------------------------------------------------------------------------------------
    def report_case(self, *, actor: str | None, title: str, enterprise: str, region: str, industry: str, level: str,
                    source: str, workflow: str | None = None, fields: dict | None = None,
                    found_at: datetime | str | None = None, now: datetime | str | None = None) -> Case:
        """Report a hazard; the new case is in its workflow's initial state."""
        now = self._now(now)
        with self.unit() as unit:
            who = unit.actor(actor)
            # A region's name several divisions share (市中区) may be one within the reporter's own regions.
            attrs = report_attributes(title=title, enterprise=enterprise, region=region, industry=industry,
                                      level=level, source=source, found_at=found_at or now, within=who.regions)
            found = datetime.fromisoformat(attrs["found_at"])
            if found > now:
                raise InvalidInput(f"found: {iso_seconds(found)} is later than the report itself "
                                   f"({iso_seconds(now)}): a hazard is found before it is reported", field="found")
            run = unit.run(workflow or f"{attrs['level']}-hazard")
            d = run.definition
            what = f"reporting a '{d.name}' case"
            role = pick_role(who, d.report.roles, f"report a '{d.name}' case")
            unit.check_effective(now, what)  # before a number is taken: a refusal names no case never made
            ctx = GuardContext(fields=attrs, actor=who.name, actor_regions=who.regions, case_region=attrs["region"],
                               last_actor_of={}, open_linked=frozenset(), flags=frozenset(), now=now)
            given = check_command(d.report, d, ctx, fields or {}, what, None)
            check_acts_for(who, case_id=None, enterprise=attrs["enterprise"], fields=given)
            check_deadlines(d, given, attrs["found_at"])
            return unit.create(run, actor=who.name, role=role, attrs=attrs, fields=given, at=now)

    def advance_case(self, case_id: str, trigger: str, *, actor: str | None, fields: dict | None = None,
                     expected_version: int | None = None, now: datetime | str | None = None,
                     backfill: str | None = None) -> Case:
        """Fire `trigger` on the case; every rule of its definition version is checked first. A step dated
        before it is recorded is judged by `engine.app.backfill` (`backfill`: a supervisor's or the committee's
        reason for recording a paper record at its own time)."""
        now, case_id = self._now(now), read_case_id(case_id)
        with self.unit() as unit:
            case, who = unit.case_and_actor(case_id, actor)
            run = unit.run(case.workflow, case.workflow_version)
            check_expected(case, expected_version)
            rulings.check_not_void(case)
            check_time_order(case, now)
            transition = run.definition.transition(case.state, trigger)
            needs_linked = transition is not None and any(g.kind == "no_open_linked" for g in transition.guards)
            decision = decide(run.definition, case.state, Proposal(
                case_id=case.id, trigger=trigger, actor=who, given=fields or {}, case_fields=guard_fields(case),
                case_region=case.region, signers=case.signers, flags=case.flags, now=now,
                open_linked=unit.open_linked(case.id) if needs_linked else frozenset()))
            check_deadlines(run.definition, decision.fields, case.found_at)
            if transition is not None and transition.requires_attachments:
                _check_attachments(unit, case, transition)
            judged = backfilling.judgment(self._engine, unit, case, at=now, role=decision.role, backfill=backfill)
            if JUDGED in judged and (trigger in run.definition.clock_triggers
                                          or decision.to_state in run.definition.final_states):
                case = backfilling.settle_due(self._engine, unit, case, run, by=unit.recorded_clock.now())
            data = {"fields": decision.fields, **judged}
            if decision.lifts:
                data["lifts"] = [f for f in decision.lifts if f in case.flags]
            if transition is not None and transition.issues:
                from engine.app.notices import issue
                data["notice"] = issue(unit, case, transition.issues, at=now, fields=decision.fields,
                                       seq=case.version + 1)
            event = unit.event(case, trigger=trigger, to_state=decision.to_state, actor=who.name, role=decision.role,
                               at=now, data=data, run=run)
            return unit.append(case, [event], run)

    def extend_deadline(self, case_id: str, *, actor: str | None, until: str, reason: str, clock: str | None = None,
                        expected_version: int | None = None, now: datetime | str | None = None) -> Case:
        """Move a clock's deadline; every rung not yet fired is rebased on the new date."""
        now, case_id = self._now(now), read_case_id(case_id)
        what = f"extending {case_id}"
        with rulings.opened(self, case_id, what, actor=actor, now=now, expected_version=expected_version) as (
                unit, case, who, run):
            d = run.definition
            if d.extend is None:
                raise Refused(f"workflow '{d.name}' allows no deadline extension", case_id=case_id, rule="extend")
            if case.is_final:
                raise Refused(f"{case_id} is {case.state}: nothing left to extend", case_id=case_id, rule="state")
            role = pick_role(who, d.extend.roles, f"extend {case_id}")
            if not reason or not reason.strip():
                raise Refused(f"{what} requires a reason", case_id=case_id, rule="requires", missing=("reason",))
            spec = _clock_to_extend(d, case, clock)
            until = normalise_date(until, "until")
            check_deadline_after_found(until, case.found_at, field="until", label="until")
            limits.check_text(reason, field="reason", label="reason", max_chars=limits.MAX_TEXT_CHARS, multiline=True)
            new_fields = {spec.deadline_field: until} if spec.deadline_field else {}
            check_guards(d.extend, GuardContext(
                fields={**guard_fields(case), **new_fields, "deadline": until}, actor=who.name,
                actor_regions=who.regions, case_region=case.region, last_actor_of=case.signers,
                open_linked=frozenset(), flags=frozenset(case.flags), now=now), what, case_id)
            data = rulings.extension(unit, case, who, run, spec, until=until, reason=reason.strip(), now=now, role=role)
            event = unit.event(case, trigger="extend", to_state=case.state, actor=who.name, role=role, at=now,
                               data=data, run=run)
            return unit.append(case, [event], run)

    def decide(self, case_id: str, rung: str, decision: str, *, actor: str | None, reason: str,
               expected_version: int | None = None, now: datetime | str | None = None,
               backfill: str | None = None) -> Case:
        """Approve or decline what awaits a decision on the case: the proposal of the ladder's rung `rung` (an
        interview, a posted supervision, exposure, suspension), or with `rung="extension"` the extension
        application. An approved sanction is carried out now; a declined one stays on the record."""
        return rulings.decide(self, case_id, rung, decision, actor=actor, reason=reason, now=self._now(now),
                              expected_version=expected_version, backfill=backfill)

    def void_case(self, case_id: str, *, actor: str | None, reason: str, expected_version: int | None = None,
                  now: datetime | str | None = None, backfill: str | None = None) -> Case:
        """Void a case recorded by mistake: out of every figure, list and ladder, kept in the log."""
        return rulings.void(self, case_id, actor=actor, reason=reason, now=self._now(now),
                            expected_version=expected_version, backfill=backfill)

    def correct_case(self, case_id: str, *, actor: str | None, changes: dict, reason: str,
                     expected_version: int | None = None, now: datetime | str | None = None) -> Case:
        """Correct the title, enterprise, region, industry or source a case was reported with."""
        return rulings.correct(self, case_id, actor=actor, changes=changes, reason=reason, now=self._now(now),
                               expected_version=expected_version)

    def attach(self, case_id: str, paths: list[str], *, actor: str | None, kind: str | None = None,
               note: str | None = None, names: list[str] | None = None, expected_version: int | None = None,
               now: datetime | str | None = None):
        """Seal files of evidence on a case (`engine.app.attach`): (the case after, each stored file's record)."""
        from engine.app.attach import attach
        return attach(self, case_id, paths, actor=actor, kind=kind, note=note, names=names, now=self._now(now),
                      expected_version=expected_version)

    def serve_notice(self, number: str, *, actor: str | None, by: str, served_at: datetime | str, signed_by: str,
                     receipt: str | None = None, receipt_name: str | None = None,
                     expected_version: int | None = None, now: datetime | str | None = None):
        """Record a notice's service (送达), with its signed receipt as evidence (`engine.app.notices.serve`):
        (the case after, the service recorded)."""
        from engine.app.serve import serve
        from engine.domain.clock import parse_time
        if isinstance(served_at, str):
            served_at = parse_time(served_at, field="at")
        return serve(self, number, actor=actor, by=by, served_at=served_at, signed_by=signed_by, now=self._now(now),
                     receipt=receipt, receipt_name=receipt_name, expected_version=expected_version)

    def migrate_cases(self, name: str, *, to_version: int, mapping: dict[str, str], actor: str | None,
                      dry_run: bool = False, now: datetime | str | None = None) -> list:
        """Move every open case of `name` to `to_version`; each move is a `migrate` event. All or nothing."""
        from engine.domain.migration_plan import plan_case
        from engine.store import cases as case_store

        now = self._now(now)
        with self.unit() as unit:
            who = unit.actor(actor)
            role = pick_role(who, ("committee",), f"migrate '{name}' cases")
            target = unit.run(name, to_version)
            open_cases = [c for c in unit.adopt(case_store.open_cases_of(unit.conn, name))
                          if c.workflow_version != to_version]
            runs = {v: unit.run(name, v) for v in {c.workflow_version for c in open_cases}}
            for old_state in mapping:
                if not any(run.definition.state(old_state) for run in runs.values()):
                    raise InvalidInput(f"the map names state '{old_state}', which no migrated version of '{name}' has",
                                       rule="map")
            plans = [plan_case(c, runs[c.workflow_version].definition, runs[c.workflow_version].calendar,
                               target.definition, target.calendar, target.version, mapping) for c in open_cases]
            unmapped = sorted({p.from_state for p in plans if not p.to_state})
            if unmapped:
                raise Refused(f"version {to_version} of '{name}' has no state {', '.join(repr(s) for s in unmapped)}: "
                              "map each to a state it has", rule="map", missing=tuple(unmapped))
            if dry_run:
                return plans
            for case, plan in zip(open_cases, plans):
                check_time_order(case, now)
                data = {"from_version": case.workflow_version, "to_version": target.version,
                        "map": {case.state: plan.to_state}}
                event = unit.event(case, trigger="migrate", to_state=plan.to_state, actor=who.name, role=role,
                                   at=now, data=data, run=target)
                after = unit.append(case, [event], target, sync=False)
                unit.sync_rungs(after, target)
            return plans

    def create_linked(self, unit: UnitOfWork, parent: Case, *, workflow: str, title: str, fields: dict, source: str,
                      at: datetime, actor: str = SYSTEM.name, role: str = "system", extra: dict | None = None) -> Case:
        """A case opened linked to `parent` in `unit`: by the engine from a rung (an interview, a posted
        supervision), or by an import whose sheet says the hazard is posted (its `actor`, `role` and `extra`)."""
        from engine.domain.limits import MAX_TITLE_CHARS
        run = unit.run(workflow)
        attrs = {"title": title[:MAX_TITLE_CHARS], "enterprise": parent.enterprise, "region": parent.region,
                 "industry": parent.industry, "level": parent.level, "source": source, "found_at": utc_text(at),
                 "parent_id": parent.id}
        given = {k: v for k, v in fields.items() if k in run.definition.report.accepts}
        return unit.create(run, actor=actor, role=role, attrs=attrs, fields=given, at=at, extra=extra)

    # -- definitions, calendars, users ---------------------------------------------------------------------------
    def init(self, *, now: datetime | str | None = None, admin: str | None = None, admin_regions=(),
             require_token: bool = False, drill: bool = False, actor: str | None = None) -> list[tuple[str, int, bool]]:
        """Create the tables and install the built-in workflows; safe to run again, also twice at once.
        Returns (workflow, version, newly installed) per built-in; see `initialise` for the options."""
        return self.initialise(now=now, admin=admin, admin_regions=admin_regions, require_token=require_token,
                               drill=drill, actor=actor).installed

    def initialise(self, *, now: datetime | str | None = None, admin: str | None = None, admin_regions=(),
                   require_token: bool = False, drill: bool = False, actor: str | None = None,
                   import_max_mb: int | None = None, attach_max_mb: int | None = None):
        """`init`, with what it did (`engine.app.init.Initialised`: the installed versions, whether the first
        administrator was made, and their first token when the database requires tokens).

        On a database without users `admin` becomes the first administrator (committee role over `admin_regions`) and
        `drill` / `require_token` are set freely; later, a changed built-in workflow or a new setting needs a
        committee `actor`, and a database cannot become a drill database once it holds users or cases."""
        from engine.app.init import initialise

        store = self._engine.store
        try:
            store.create_schema()
            for attempt in range(3):
                try:
                    with self._engine.batch() as batch:
                        return initialise(batch, now=self._now(now), admin=admin, admin_regions=tuple(admin_regions),
                                          require_token=require_token, drill=drill, actor=actor,
                                          import_max_mb=import_max_mb, attach_max_mb=attach_max_mb)
                except Conflict as exc:
                    if attempt == 2 or exc.rule != "version":
                        raise
            raise AssertionError("unreachable")
        except BaseException:
            store.discard_made_file()  # a refused init on a new file (a reserved name, a bad region) leaves none
            raise

    def upgrade(self, *, on_case=None) -> dict:
        """Carry an older database forward: the schema revision by revision, then every projection re-derived
        from the events (the fold may count what an older one did not, such as overdue time)."""
        from engine.app.rebuild import rebuild
        from engine.store import schema

        from engine.app.accounts import adopt_unlogged_users

        before, after = schema.upgrade(self._engine.store)
        cases, events = rebuild(self._engine, on_case=on_case) if before != after else (0, 0)
        with self._engine.unit() as unit:
            users = adopt_unlogged_users(unit)
        return {"from": before, "to": after, "cases": cases, "events": events, "users": users}

    def install_definitions(self, files: list[tuple[str, str]], *, actor: str | None = None, now=None,
                            only_if_changed: bool = False) -> list[tuple[str, int, bool]]:
        """Install (filename, text) pairs in one transaction: a changed text is a new version, the same a no-op.

        Once the register has users, installing needs an `actor` with the committee role (with
        `only_if_changed`, as `init` installs the built-ins, only when some text is new)."""
        from engine.store import definitions as definition_store
        from engine.store import users as user_store

        now = self._now(now)
        parsed = [(load_definition(text, filename), text, filename) for filename, text in files]
        if self._bound is None:  # a database made by a release before some table gets it (init's batch has)
            self._engine.store.create_schema()
        results = []
        with self.unit() as unit:
            unit.check_effective(now, "installing workflow definitions")
            _check_linked(unit, [definition for definition, _, _ in parsed])
            calendar_hash = definition_store.save_calendar(unit.conn, default_calendar(), now)
            for definition, text, filename in parsed:
                stored, created = definition_store.install(unit.conn, name=definition.name, text=text,
                                                           file_name=filename, calendar_hash=calendar_hash, now=now)
                results.append((stored.name, stored.version, created))
            if (not only_if_changed or any(c for _, _, c in results)) and not user_store.roster_is_empty(unit.conn):
                pick_role(unit.actor(actor), ("committee",), "install workflow definitions")
        return results

    def install_definition(self, text: str, filename: str, *, actor: str | None = None,
                           now=None) -> tuple[str, int, bool]:
        return self.install_definitions([(filename, text)], actor=actor, now=now)[0]

    def add_user(self, name: str, *, roles: list[str], regions: list[str], actor: str | None = None,
                 now: datetime | str | None = None, enterprise: str | None = None) -> tuple[Actor, bool]:
        """Register a new user (granted by a committee `actor` over the user's regions; on a database without users the
        first user, with the committee role, is the administrator). An existing name is a Conflict. `enterprise`
        (its name or unified social credit code) binds a user with the enterprise role to that enterprise's cases."""
        from engine.app import accounts
        return accounts.add_user(self, name, roles=roles, regions=regions, actor=actor, now=self._now(now),
                                 enterprise=enterprise), True

    def change_user(self, name: str, *, roles: list[str] | None = None, regions: list[str] | None = None,
                    actor: str | None, now: datetime | str | None = None, enterprise: str | None = None,
                    email: str | None = None, phone: str | None = None, webhook: str | None = None,
                    channels: str | None = None, quiet: str | None = None) -> Actor:
        """Replace a user's roles, regions and/or enterprise binding (`enterprise=""` unbinds, None keeps it); the
        committee `actor` must cover the old and the new regions. `email`, `phone`, `webhook`: where notifications
        reach the user ("" clears one), `channels` which of those they want ("none": the inbox only) and `quiet` their
        quiet hours ("22:00-07:00"), which the user may also set themselves."""
        from engine.app import accounts
        from engine.domain.notifications import check_contact, check_preferences
        contact = {**check_contact(email=email, phone=phone, webhook=webhook),
                   **check_preferences(channels=channels, quiet=quiet)}
        return accounts.change_user(self, name, roles=roles, regions=regions, actor=actor, now=self._now(now),
                                    enterprise=enterprise, contact=contact)

    def disable_user(self, name: str, *, actor: str | None, now: datetime | str | None = None) -> Actor:
        from engine.app import accounts
        return accounts.disable_user(self, name, actor=actor, now=self._now(now))

    def enable_user(self, name: str, *, actor: str | None, now: datetime | str | None = None) -> Actor:
        """A disabled user may act again (committee `actor` over their regions); their old tokens stay revoked."""
        from engine.app import accounts
        return accounts.enable_user(self, name, actor=actor, now=self._now(now))

    def issue_token(self, name: str, *, actor: str | None, expires_days: int | None = None,
                    now: datetime | str | None = None):
        """(IssuedToken, expires_at): the token's text is shown once and stored only as a hash."""
        from engine.app import accounts
        return accounts.issue_token(self, name, actor=actor, expires_days=expires_days, now=self._now(now))

    def revoke_tokens(self, name: str, *, actor: str | None, token_id: str | None = None,
                      now: datetime | str | None = None) -> list[str]:
        from engine.app import accounts
        return accounts.revoke_tokens(self, name, actor=actor, token_id=token_id, now=self._now(now))

    def set_password(self, name: str, password: str, *, actor: str | None, now: datetime | str | None = None) -> None:
        from engine.app import accounts
        accounts.set_password(self, name, password, actor=actor, now=self._now(now))

    def login(self, name: str, password: str) -> Actor:
        """The user whose password this is (the web console's log-in), or PermissionDenied."""
        from engine.app import accounts
        return accounts.login(self._engine, name, password)

    def open_session(self, name: str, password: str, *, address: str | None, now: datetime | None = None):
        """Sign in to the web console: a new session (engine.app.sessions), or PermissionDenied."""
        from engine.app import sessions
        return sessions.open_session(self._engine, name, password, address=address, now=now)

    def check_session(self, cookie: str | None, *, idle=None, now: datetime | None = None):
        """The live session a browser's cookie names, or PermissionDenied saying why not."""
        from engine.app import sessions
        return sessions.check_session(self._engine, cookie, now=now, idle=idle or sessions.IDLE)

    def close_session(self, cookie: str | None) -> bool:
        """Sign out: the session ends, and its cookie is refused from then on."""
        from engine.app import sessions
        return sessions.close_session(self._engine, cookie)

    def authenticate(self, name: str | None, token: str | None) -> Actor | None:
        """The user whose live token this is, or PermissionDenied naming why not (see engine.app.accounts)."""
        from engine.app import accounts
        return accounts.authenticate(self._engine, name, token)

    def authenticate_bearer(self, token: str | None) -> Actor:
        """The user whose live token this is, the token naming them (the HTTP API's bearer token), checked by
        the same rule as `authenticate`; PermissionDenied naming why not. Bound to a unit of work (a batch), in
        its transaction, the user then known to the unit: the batch's commands act as them without reading
        them again."""
        from engine.app import accounts
        if self._bound is None:
            return accounts.authenticate_bearer(self._engine, token)
        user = accounts.authenticate_bearer(self._engine, token, conn=self._bound.conn)
        self._bound.know_actor(user)
        return user

    def refresh_calendar(self, *, actor: str | None, calendar=None, dry_run: bool = False,
                         now: datetime | str | None = None):
        from engine.app.recalendar import refresh
        return refresh(self, actor=actor, calendar=calendar, dry_run=dry_run, now=self._now(now))


def _check_attachments(unit: UnitOfWork, case: Case, transition) -> None:
    """`requires_attachments`: a file of any one of the kinds named is attached to the case (any-of)."""
    from engine.domain.evidence import missing_kinds
    from engine.domain.vocabularies import evidence

    missing = missing_kinds(transition.requires_attachments, unit.attached_kinds(case.id))
    if missing:
        words = " or ".join(f"{k} ({evidence().label(k)})" for k in missing)
        raise Refused(f"'{transition.trigger}' on {case.id} requires evidence attached first: {words}", case_id=case.id,
                      trigger=transition.trigger, rule="requires_attachments", missing=missing)


def _clock_to_extend(d: Definition, case: Case, name: str | None):
    running = [c for c in d.clocks if case.clocks.get(c.name, {}).get("status") in ("running", "paused")]
    if name:
        spec = d.clock(name)
        if spec is None:
            raise NotFound(f"workflow '{d.name}' has no clock '{name}'", kind="clock", key=name)
        if spec not in running:
            raise Refused(f"clock '{name}' is not running on {case.id}", case_id=case.id, rule="clock")
        return spec
    # Unnamed, an extension is of the rectification deadline (整改期限) the case was given: an enterprise applying
    # for more time never moves the department's own clocks (the assignment period, the verification period).
    by_field = [c for c in running if c.deadline_field == "deadline"]
    if by_field:
        return by_field[0]
    others = ", ".join(c.name for c in running)
    raise Refused(f"{case.id} has no rectification deadline to extend (state '{case.state}')"
                  + (f"; another running clock is extended only when named: {others}" if others else ""),
                  case_id=case.id, rule="clock")


def _check_linked(unit: UnitOfWork, batch: list[Definition]) -> None:
    """Each interview or posting rung of the definitions installed opens a workflow serving its kind, as far as
    the workflows installed and those installed with them tell (DefinitionInvalid, FILE:LINE, exit 7)."""
    from engine.domain.definition.check import linked_problems
    from engine.domain.definition.model import LINKED_ACTIONS
    from engine.domain.errors import DefinitionInvalid
    from engine.store import definitions as definition_store

    if not any(r.action in LINKED_ACTIONS for d in batch for r in d.rungs):
        return
    serves = {name: unit.run(name).definition.serves for name in definition_store.workflow_names(unit.conn)}
    serves.update({d.name: d.serves for d in batch})
    found = [problem for d in batch for problem in linked_problems(d, serves)]
    if found:
        raise DefinitionInvalid(found)
