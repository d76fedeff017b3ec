"""The application layer: one method per user command. Load, decide (pure), append in one transaction.

Reads happen in their own short transaction, the decision is pure, and the write re-checks the case
version, so two supervisors advancing one case at once cannot both win: the slower one gets `Conflict`
and nothing of its command is written.
"""
from __future__ import annotations

import re
from datetime import datetime

from engine import case as case_model
from engine import limits
from engine.calendar import WorkCalendar, default_calendar
from engine.case import Case
from engine.clock import Clock, SystemClock, local_date, parse_time
from engine.definition.model import Definition
from engine.definition.vocabulary import GuardContext
from engine.errors import InvalidInput, NotFound, PermissionDenied, Refused
from engine.escalation import ladder
from engine.events import Event
from engine.machine import Actor, check_fields, check_guards, decide, pick_role
from engine.registry import Loaded, Registry, builtin_workflow_files, calendar_status, load_definition  # noqa: F401
from engine.store import cases as case_store
from engine.store import definitions as definition_store
from engine.store import rungs as rung_store
from engine.store import users as user_store
from engine.store.database import Store

LEVELS = ("major", "general")
SYSTEM = Actor("scheduler", ("system",), ("",))
_REGION = re.compile(r"^\d{6}$")
_REGION_PREFIX = re.compile(r"^\d{2}(\d{2}){0,2}$")


def region_prefix(code: str) -> str:
    """`370000` -> `37`, `371700` -> `3717`: trailing zero pairs of a division code widen it."""
    code = code.strip()
    if not _REGION_PREFIX.match(code):
        raise InvalidInput(f"region '{code}' is not a region code (2, 4 or 6 digits, e.g. 37, 3717, 371721)")
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


class HazardService:
    def __init__(self, store: Store, clock: Clock, *, recorded_clock: Clock | None = None):
        self.store = store
        self.clock = clock
        self.recorded_clock = recorded_clock or SystemClock()
        self.registry = Registry()

    # -- definitions -------------------------------------------------------------------------------------
    def init(self) -> list[tuple[str, int, bool]]:
        """Create the tables and install the built-in workflows; safe to run again."""
        self.store.create_schema()
        return [self.install_definition(text, name) for name, text in builtin_workflow_files()]

    def install_definition(self, text: str, filename: str) -> tuple[str, int, bool]:
        definition = load_definition(text, filename)
        with self.store.write() as conn:
            calendar_hash = definition_store.save_calendar(conn, default_calendar(), self.clock.now())
            stored, created = definition_store.install(conn, name=definition.name, text=text, file_name=filename,
                                                       calendar_hash=calendar_hash, now=self.clock.now())
        self.registry.forget_newest_calendar()
        return stored.name, stored.version, created

    def loaded(self, conn, name: str, version: int | None = None) -> Loaded:
        return self.registry.loaded(conn, name, version)

    def calendar_of(self, conn, case: Case, run: Loaded) -> WorkCalendar:
        return self.registry.calendar_of(conn, case, run)

    def calendar_status(self) -> dict:
        with self.store.read() as conn:
            return calendar_status(conn)

    def workflow_versions(self) -> list:
        with self.store.read() as conn:
            return definition_store.all_versions(conn)

    def workflow(self, name: str, version: int | None = None):
        """The stored version (with its exact text) and the parsed definition."""
        with self.store.read() as conn:
            stored = definition_store.get(conn, name, version)
            return stored, self.loaded(conn, name, stored.version).definition

    def users(self) -> list[Actor]:
        with self.store.read() as conn:
            return user_store.all_users(conn)

    # -- users -------------------------------------------------------------------------------------------
    def add_user(self, name: str, *, roles: list[str], regions: list[str]) -> tuple[Actor, bool]:
        if not name.strip():
            raise InvalidInput("a user needs a name")
        if not roles:
            raise InvalidInput("give at least one --role")
        limits.check_user(name, roles)
        actor = Actor(name.strip(), tuple(dict.fromkeys(roles)), tuple(region_prefix(r) for r in regions))
        with self.store.write() as conn:
            created = user_store.put(conn, actor, self.clock.now())
        return actor, created

    def actor(self, conn, name: str | None) -> Actor:
        if not name:
            raise PermissionDenied("no actor given: use --actor NAME or set HAZARD_ACTOR", rule="actor")
        found = user_store.get(conn, name)
        if found is None:
            raise PermissionDenied(f"'{name}' is not a registered user (add with `hazard user add {name} --role ... "
                                   "--region ...`)", actor=name, rule="registered")
        return found

    # -- commands ----------------------------------------------------------------------------------------
    def report_case(self, *, actor: str | None, workflow: str, title: str, enterprise: str, region: str,
                    industry: str, level: str, source: str, fields: dict | None = None,
                    found_at: datetime | str | None = None, parent_id: str | None = None) -> Case:
        now = self.clock.now()
        attrs = _report_attributes(title=title, enterprise=enterprise, region=region, industry=industry,
                                   level=level, source=source, found_at=found_at or now)
        with self.store.read() as conn:
            who = SYSTEM if actor is SYSTEM else self.actor(conn, actor)
            run = self.loaded(conn, workflow)
        d = run.definition
        what = f"reporting a '{workflow}' case"
        if who is SYSTEM:
            role = "system"
            given = check_fields(d.report, d, fields or {}, what) if fields else {}
        else:
            role = pick_role(who, d.report.roles, what)
            ctx = GuardContext(fields={**attrs, **(fields or {})}, actor=who.name, actor_regions=who.regions,
                               case_region=attrs["region"], last_actor_of={}, open_linked=frozenset(), flags=frozenset())
            check_guards(d.report, ctx, what, None)
            given = check_fields(d.report, d, fields or {}, what)
        limits.check_deadlines(d, given, attrs["found_at"])
        if parent_id:
            attrs["parent_id"] = parent_id
        with self.store.write() as conn:
            return self.create_case(conn, run, actor=who.name, role=role, attrs=attrs, fields=given, now=now)

    def create_case(self, conn, run: Loaded, *, actor: str, role: str, attrs: dict, fields: dict,
                    now: datetime) -> Case:
        """Insert a new case and its `report` event in the caller's transaction (checks already done)."""
        year = local_date(now).year
        case_id = f"HZ-{year}-{case_store.next_number(conn, year, self.store.dialect):06d}"
        data = {"case": attrs, "fields": fields}
        if run.definition.clocks:
            data["calendar"] = self.registry.newest_calendar(conn) or run.calendar.content_hash
        event = self.event(case_id, 1, "report", None, run.definition.initial, actor, role, now,
                           data, run.definition.name, run.version, prev_hash=None)
        case = case_model.apply(None, event, run.definition)
        case_store.insert_new(conn, case, [event])
        self.sync_rungs(conn, case, run, new_case=True)
        return case

    def advance_case(self, case_id: str, trigger: str, *, actor: str | None, fields: dict | None = None,
                     expected_version: int | None = None) -> Case:
        now = self.clock.now()
        with self.store.read() as conn:
            case = case_store.load(conn, case_id)
            who = self.actor(conn, actor)
            run = self.loaded(conn, case.workflow, case.workflow_version)
            transition = run.definition.transition(case.state, trigger)
            needs_linked = transition is not None and any(g.kind == "no_open_linked" for g in transition.guards)
            open_linked = case_store.linked_open_workflows(conn, case_id) if needs_linked else frozenset()
        self._check_expected(case, expected_version)
        check_time_order(case, now)
        decision = decide(run.definition, case_id=case.id, state=case.state, trigger=trigger, actor=who,
                          given=fields or {}, case_fields=_guard_fields(case), case_region=case.region,
                          signers=case.signers, open_linked=open_linked, flags=case.flags)
        limits.check_deadlines(run.definition, decision.fields, case.found_at)
        data = {"fields": decision.fields}
        if decision.lifts:
            data["lifts"] = [f for f in decision.lifts if f in case.flags]
        event = self.event(case.id, case.version + 1, trigger, case.state, decision.to_state, who.name,
                            decision.role, now, data, case.workflow, run.version, prev_hash=case.last_hash)
        return self._commit(case, [event], run)

    def extend_deadline(self, case_id: str, *, actor: str | None, until: str, reason: str,
                        clock: str | None = None, expected_version: int | None = None) -> Case:
        """Move a clock's deadline; every rung not yet fired is rebased on the new date."""
        from engine.definition.vocabulary import normalise_date

        now = self.clock.now()
        with self.store.read() as conn:
            case = case_store.load(conn, case_id)
            who = self.actor(conn, actor)
            run = self.loaded(conn, case.workflow, case.workflow_version)
        self._check_expected(case, expected_version)
        check_time_order(case, now)
        d = run.definition
        what = f"extending {case_id}"
        if d.extend is None:
            raise Refused(f"workflow '{d.name}' allows no deadline extension", case_id=case_id, rule="extend")
        if case.is_final:
            raise Refused(f"{case_id} is {case.state}: nothing left to extend", case_id=case_id, rule="state")
        role = pick_role(who, d.extend.roles, f"extend {case_id}")
        check_guards(d.extend, GuardContext(fields=_guard_fields(case), actor=who.name, actor_regions=who.regions,
                                            case_region=case.region, last_actor_of=case.signers,
                                            open_linked=frozenset(), flags=frozenset(case.flags)), what, case_id)
        if not reason or not reason.strip():
            raise Refused(f"{what} requires a reason (--reason)", case_id=case_id, rule="requires", missing=("reason",))
        spec = _clock_to_extend(d, case, clock)
        until = normalise_date(until, "until")
        limits.check_deadline_after_found(until, case.found_at, field="until", label="--until")
        limits.check_text(reason, field="reason", label="--reason", max_chars=limits.MAX_TEXT_CHARS, multiline=True)
        previous = case.fields.get(spec.deadline_field) if spec.deadline_field else (case.clocks[spec.name].get("until"))
        data = {"clock": spec.name, "until": until, "previous": previous, "reason": reason.strip(),
                "fields": {spec.deadline_field: until} if spec.deadline_field else {}}
        event = self.event(case.id, case.version + 1, "extend", case.state, case.state, who.name, role, now, data,
                            case.workflow, run.version, prev_hash=case.last_hash)
        return self._commit(case, [event], run)

    def migrate_cases(self, name: str, *, to_version: int, mapping: dict[str, str], actor: str | None,
                      dry_run: bool = False) -> list:
        """Move every open case of `name` to `to_version`; each move is a `migrate` event. All or nothing."""
        from engine.migration import plan_case

        now = self.clock.now()
        with self.store.read() as conn:
            who = self.actor(conn, actor)
            target = self.loaded(conn, name, to_version)
            open_cases = [c for c in case_store.open_cases_of(conn, name) if c.workflow_version != to_version]
            runs = {v: self.loaded(conn, name, v) for v in {c.workflow_version for c in open_cases}}
        role = pick_role(who, ("committee",), f"migrate '{name}' cases")
        for old_state in mapping:
            if not any(run.definition.state(old_state) for run in runs.values()):
                raise InvalidInput(f"--map names state '{old_state}', which no migrated version of '{name}' has")
        plans = [plan_case(c, runs[c.workflow_version].definition, runs[c.workflow_version].calendar,
                           target.definition, target.calendar, target.version, mapping) for c in open_cases]
        unmapped = sorted({p.from_state for p in plans if not p.to_state})
        if unmapped:
            raise Refused(f"version {to_version} of '{name}' has no state {', '.join(repr(s) for s in unmapped)}: "
                          f"map each with --map OLD=NEW", rule="map", missing=tuple(unmapped))
        if dry_run:
            return plans
        by_id = {c.id: c for c in open_cases}
        with self.store.write() as conn:
            for plan in plans:
                case = by_id[plan.case_id]
                check_time_order(case, now)
                data = {"from_version": case.workflow_version, "to_version": target.version,
                        "map": {case.state: plan.to_state}}
                event = self.event(case.id, case.version + 1, "migrate", case.state, plan.to_state, who.name, role,
                                   now, data, name, target.version, prev_hash=case.last_hash)
                after = self.append(conn, case, [event], target, sync=False)
                self.sync_rungs(conn, after, target)
        return plans

    # -- reads -------------------------------------------------------------------------------------------
    def get_case(self, case_id: str) -> Case:
        with self.store.read() as conn:
            return case_store.load(conn, case_id)

    def case_view(self, case_id: str) -> tuple[Case, list, list[Case]]:
        """A case with its rung rows and its linked cases."""
        with self.store.read() as conn:
            case = case_store.load(conn, case_id)
            return case, rung_store.of_case(conn, case_id), case_store.linked(conn, case_id)

    def list_cases(self, *, state=None, region=None, level=None, workflow=None, overdue=False,
                   limit=None) -> list[Case]:
        region = region_prefix(region) if region else None
        with self.store.read() as conn:
            return case_store.query(conn, state=state, region=region, level=level, workflow=workflow,
                                    overdue_at=self.clock.now() if overdue else None, limit=limit)

    def register_as_of(self, as_of: datetime, *, state=None, region=None, level=None, workflow=None,
                       overdue=False, case_id: str | None = None, limit=None) -> list[Case]:
        """The register as it stood at `as_of`, folded from the events, not read from today's rows."""
        from itertools import groupby

        from engine.replay import replay

        region = region_prefix(region) if region else None
        found = []
        with self.store.read() as conn:
            definition_for = lambda name, version: self.loaded(conn, name, version).definition  # noqa: E731
            stream = case_store.stream_register_events(conn, as_of=as_of, region=region, level=level,
                                                       workflow=workflow, case_id=case_id)
            for _, case_events in groupby(stream, key=lambda e: e.case_id):
                case = replay(case_events, definition_for, as_of=as_of)
                if case is None or (state and case.state != state) or (overdue and not case.overdue(as_of)):
                    continue
                found.append(case)
                if limit and len(found) >= limit:
                    break
        if case_id is not None and not found:
            self.get_case(case_id)  # NotFound if it does not exist at all
            raise NotFound(f"{case_id} had not been reported at {as_of.isoformat()}", kind="case", key=case_id)
        return found

    def history(self, case_id: str) -> list[Event]:
        with self.store.read() as conn:
            found = case_store.events_of(conn, case_id)
            if not found:
                case_store.load(conn, case_id)  # raises NotFound
            return found

    def escalation_list(self, *, due: bool = False, overdue_unfired: bool = False, case_id: str | None = None,
                        limit: int | None = None) -> tuple[list, float]:
        """Rung rows, and how late the oldest due-but-unfired one is (seconds)."""
        from datetime import timedelta

        now = self.clock.now()
        with self.store.read() as conn:
            if case_id:
                case_store.load(conn, case_id)
                rows = rung_store.of_case(conn, case_id)
                if due or overdue_unfired:
                    rows = [r for r in rows if r.status == "pending" and r.due_at and r.due_at <= now]
            else:
                rows = rung_store.listing(conn, now=now, due_only=due or overdue_unfired, limit=None if overdue_unfired else limit)
            if overdue_unfired:  # late past the grace of the definition each case runs under
                info = rung_store.with_workflow(conn, rows)
                graces = {key: timedelta(minutes=self.loaded(conn, *key).definition.grace_minutes)
                          for key in {(r.workflow, r.workflow_version) for r in info}}
                late = {r.id for r in info if now - r.due_at > graces[(r.workflow, r.workflow_version)]}
                rows = [r for r in rows if r.id in late][:limit]
        pending = [r.due_at for r in rows if r.status == "pending" and r.due_at and r.due_at <= now]
        return rows, (now - min(pending)).total_seconds() if pending else 0.0

    # -- internals ---------------------------------------------------------------------------------------
    def event(self, case_id, seq, trigger, from_state, to_state, actor, role, at, data, workflow, version,
               *, prev_hash) -> Event:
        kwargs = {} if prev_hash is None else {"prev_hash": prev_hash}
        return Event(case_id=case_id, seq=seq, trigger=trigger, from_state=from_state, to_state=to_state,
                     actor=actor, role=role, at=at, recorded_at=self.recorded_clock.now(), data=data,
                     workflow=workflow, workflow_version=version, **kwargs).sealed()

    def _commit(self, case: Case, new_events: list[Event], run: Loaded) -> Case:
        with self.store.write() as conn:
            return self.append(conn, case, new_events, run)

    def append(self, conn, case: Case, new_events: list[Event], run: Loaded, *, sync: bool = True) -> Case:
        """Fold `new_events` onto `case` and write both in the caller's transaction (version-checked)."""
        after = _folded(case, new_events, run)
        case_store.append(conn, after, case.version, new_events)
        # Rungs depend only on clocks and fields: most steps (start, close) change neither.
        if sync and (after.clocks != case.clocks or after.fields != case.fields):
            self.sync_rungs(conn, after, run)
        return after

    def sync_rungs(self, conn, case: Case, run: Loaded, *, new_case: bool = False) -> None:
        if run.definition.clocks:
            planned = ladder.plan(run.definition, case.clocks, case.fields, case.fired, self.calendar_of(conn, case, run))
            if planned or not new_case:
                rung_store.sync(conn, case.id, planned, new_case=new_case)

    @staticmethod
    def _check_expected(case: Case, expected_version: int | None) -> None:
        if expected_version is not None and case.version != expected_version:
            from engine.errors import Conflict
            raise Conflict(f"case {case.id} is at version {case.version}, not {expected_version}: someone changed it; "
                           "look at it again and retry", case_id=case.id, expected_version=expected_version)


def check_time_order(case: Case, now: datetime) -> None:
    """An event may not take effect before the one it follows: the log is in force in sequence order."""
    if case.updated_at is not None and now < case.updated_at:
        raise Refused(f"{case.id}: the engine time {now.isoformat()} is before its last event "
                      f"({case.updated_at.astimezone(now.tzinfo).isoformat()}); back-fill events in order",
                      case_id=case.id, rule="time-order")


def _folded(case: Case, new_events: list[Event], run: Loaded) -> Case:
    for event in new_events:
        case = case_model.apply(case, event, run.definition)
    return case


def _guard_fields(case: Case) -> dict:
    return {**case.fields, "title": case.title, "enterprise": case.enterprise, "region": case.region,
            "industry": case.industry, "level": case.level, "source": case.source}


def _clock_to_extend(d: Definition, case: Case, name: str | None):
    running = [c for c in d.clocks if case.clocks.get(c.name, {}).get("status") in ("running", "paused")]
    if name:
        spec = d.clock(name)
        if spec is None:
            raise NotFound(f"workflow '{d.name}' has no clock '{name}'", kind="clock", key=name)
        if spec not in running:
            raise Refused(f"clock '{name}' is not running on {case.id}", case_id=case.id, rule="clock")
        return spec
    by_field = [c for c in running if c.deadline_field == "deadline"]
    if by_field or running:
        return (by_field or running)[0]
    raise Refused(f"{case.id} has no running clock to extend (state '{case.state}')", case_id=case.id, rule="clock")


def _report_attributes(*, title, enterprise, region, industry, level, source, found_at) -> dict:
    limits.check_report_text(title=title, enterprise=enterprise, industry=industry, source=source)
    for name, value in (("title", title), ("enterprise", enterprise), ("industry", industry), ("source", source)):
        if not value or not str(value).strip():
            raise InvalidInput(f"a case needs --{name}", field=name)
    if not region or not _REGION.match(region):
        raise InvalidInput(f"region '{region}' must be a 6-digit administrative division code (e.g. 371721)",
                           field="region")
    if level not in LEVELS:
        raise InvalidInput(f"level '{level}' must be one of {', '.join(LEVELS)}", field="level")
    if isinstance(found_at, str):
        found_at = parse_time(found_at, field="--found")
    return {"title": title.strip(), "enterprise": enterprise.strip(), "region": region, "industry": industry.strip(),
            "level": level, "source": source.strip(), "found_at": found_at.isoformat()}
