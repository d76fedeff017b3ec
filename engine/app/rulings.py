"""The commands by which named people rule on a case: decide a sanction the ladder proposed, apply for a deadline
extension and decide it, void a case recorded by mistake, correct what it was reported with.

Each is one unit of work, like every command (`engine.app.commands`): the case and the actor are loaded, every rule
is checked (who may, in which region, on what is pending), and one event records who ruled, when and why. A
sanction approved here is carried out by the same `engine.domain.escalation.actions.outcome` a sweep used to fire it
with: flags raised, an interview or a posted supervision opened as a linked case, at the moment of the decision.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta

from engine.app import backfill as backfilling
from engine.domain import limits
from engine.domain.case import CORRECTABLE, JUDGED, Case
from engine.domain.clock import SHANGHAI, iso
from engine.domain.definition.model import EXTENSION, Command, Guard
from engine.domain.definition.fields_and_guards import GuardContext
from engine.domain.errors import InvalidInput, Refused
from engine.domain.escalation import actions
from engine.domain.escalation import decisions as decided
from engine.domain.machine import check_guards, pick_role
from engine.domain.preconditions import check_expected, check_time_order, guard_fields, report_attributes
from engine.domain.values import read_case_id

DECISIONS = ("approve", "decline")
_IN_REGION = (Guard("in_region"),)


def decide(commands, case_id: str, rung: str, decision: str, *, actor: str | None, reason: str, now: datetime,
           expected_version: int | None = None, backfill: str | None = None) -> Case:
    """Approve or decline the proposal of `rung` (or, for `extension`, the extension application) on the case."""
    case_id = read_case_id(case_id)
    if decision not in DECISIONS:
        raise InvalidInput(f"a decision is approve or decline, not {limits.shown(decision)}", field="decision")
    what = f"deciding '{rung}' on {case_id}"
    reason = _reason(reason, what, case_id)
    with opened(commands, case_id, what, actor=actor, now=now, expected_version=expected_version) as ready:
        unit, case, who, run = ready
        if rung == EXTENSION:
            role, data = _extension_ruling(case, who, run.definition, decision, now)
            # A deadline moved later by a decision dated before its recording: what was due meanwhile is handled.
            judged = backfilling.judgment(commands._engine, unit, case, at=now, role=role, backfill=backfill)
            if JUDGED in judged and decision == "approve":
                case = backfilling.settle_due(commands._engine, unit, case, run, by=unit.recorded_clock.now())
        else:
            role, data = _proposal_ruling(commands, unit, case, who, run, rung, decision, now)
            judged = {"backfill": {"reason": backfill.strip()}} if backfill and backfill.strip() else {}
        return _record(unit, case, who, run, "decide", role,
                       {**data, "decision": decision, "reason": reason, **judged}, now)


@contextmanager
def opened(commands, case_id: str, what: str, *, actor, now: datetime, expected_version: int | None):
    """The unit, the case, who acts and the definition version, once every check before a ruling (or an
    extension, engine.app.commands) has passed."""

    with commands.unit() as unit:
        case, who = unit.case_and_actor(case_id, actor)
        run = unit.run(case.workflow, case.workflow_version)
        check_expected(case, expected_version)
        check_not_void(case)
        check_time_order(case, now)
        unit.check_effective(now, what)
        yield unit, case, who, run


def _record(unit, case: Case, who, run, trigger: str, role: str, data: dict, now: datetime) -> Case:
    event = unit.event(case, trigger=trigger, to_state=case.state, actor=who.name, role=role, at=now, data=data,
                       run=run)
    return unit.append(case, [event], run)


def _proposal_ruling(commands, unit, case: Case, who, run, rung: str, decision: str, now: datetime):
    proposal = decided.pending_for(case.decisions, rung)
    if proposal is None:
        waiting = [p["rung"] for p in decided.pending_proposals(case.decisions)]
        if case.decisions.get("extension"):
            waiting.append(EXTENSION)
        raise Refused(f"{case.id} has no proposal of '{rung}' awaiting a decision ("
                      + (f"awaiting: {', '.join(waiting)}" if waiting else "nothing awaits a decision") + ")",
                      case_id=case.id, rule="no-proposal")
    spec = run.definition.rung(proposal["clock"], proposal["rung"])
    what = f"decide '{rung}' on {case.id}"
    role = pick_role(who, spec.decided_by, what)
    _in_region(case, who, what)
    data = {"rung": spec.name, "clock": proposal["clock"], "cycle": proposal["cycle"], "action": spec.action}
    if spec.label:
        data["label"] = spec.label
    if decision == "approve":
        out = actions.outcome(case, spec, cycle=proposal["cycle"], due_at=datetime.fromisoformat(proposal["due_at"]),
                              decision="fire", now=now, sweep_id=None, calendar=unit.calendar_of(case, run))
        data.update({k: out.data[k] for k in ("level", "kind", "kind_label", "flags") if k in out.data})
        if out.linked is not None:
            linked = commands.create_linked(unit, case, workflow=out.linked.workflow, title=out.linked.title,
                                            fields=out.linked.fields, source=f"escalation:{spec.name}", at=now)
            data.update(linked_case=linked.id, linked_workflow=linked.workflow)
    return role, data


def _extension_ruling(case: Case, who, definition, decision: str, now: datetime):
    pending = case.decisions.get("extension")
    if pending is None:
        raise Refused(f"{case.id} has no extension application awaiting a decision", case_id=case.id,
                      rule="no-application")
    what = f"decide the extension of {case.id}"
    role = pick_role(who, definition.extend.decided_by if definition.extend else (), what)
    _in_region(case, who, what)
    if who.name == pending["applied_by"]:
        raise Refused(f"{who.name} applied for this extension and may not decide it", case_id=case.id,
                      rule="applicant")
    data = {"rung": EXTENSION, "clock": pending["clock"], "until": pending["until"], "previous": pending["previous"]}
    if decision == "approve":
        spec = definition.clock(pending["clock"])
        data["fields"] = {spec.deadline_field: pending["until"]} if spec is not None and spec.deadline_field else {}
    return role, data


def extension(unit, case: Case, who, run, spec, *, until: str, reason: str, now: datetime, role: str) -> dict:
    """The `extend` event's data for moving `spec`'s deadline to `until`, within the definition's bounds: at
    once, or, where the definition has extensions decided (`decided_by`), as an application to be decided."""
    rules = run.definition.extend
    current = case.fields.get(spec.deadline_field) if spec.deadline_field else case.clocks[spec.name].get("until")
    data = {"clock": spec.name, "until": until, "previous": current, "reason": reason}
    if current:
        _check_bounds(case, rules, current, until, now, unit.calendar_of(case, run))
    if not rules.decided_by:
        data["fields"] = {spec.deadline_field: until} if spec.deadline_field else {}
        return data
    if case.decisions.get("extension"):
        pending = case.decisions["extension"]
        raise Refused(f"{case.id} already has an extension to {pending['until']} awaiting a decision (applied for by "
                      f"{pending['applied_by']}); one application at a time", case_id=case.id, rule="pending")
    data["application"] = True
    data["decided_by"] = list(rules.decided_by)
    if rules.decide_within is not None:
        data["decide_by"] = _add(_day(iso(now)), rules.decide_within, unit.calendar_of(case, run)).isoformat()
    return data


def _check_bounds(case: Case, rules: Command, current: str, until: str, now: datetime, calendar) -> None:
    """An extension moves the deadline later, by at most `max_days`, at most `max_total_days` past the first
    deadline, and is applied for no later than `apply_before` the deadline."""
    if _instant(until) <= _instant(current):
        raise Refused(f"an extension moves the deadline later: {until} is not after {current}", case_id=case.id,
                      rule="extend-later")
    if rules.max_days is not None and (_day(until) - _day(current)).days > rules.max_days:
        raise Refused(f"{until} is {(_day(until) - _day(current)).days} days past the deadline {current}; one "
                      f"extension may add at most {rules.max_days} days", case_id=case.id, rule="max_days")
    first = decided.original_deadline(case.decisions, current)
    if rules.max_total_days is not None and (_day(until) - _day(first)).days > rules.max_total_days:
        raise Refused(f"{until} is {(_day(until) - _day(first)).days} days past the original deadline {first}; "
                      f"extensions may add at most {rules.max_total_days} days in all", case_id=case.id,
                      rule="max_total_days")
    if rules.apply_before is not None:
        latest = _add(_day(current), rules.apply_before, calendar, before=True)
        if now.astimezone(SHANGHAI).date() > latest:
            raise Refused(f"an extension of the deadline {current} is applied for by {latest.isoformat()} at the "
                          f"latest ({_duration(rules.apply_before)} before it)", case_id=case.id, rule="apply_before")


def void(commands, case_id: str, *, actor: str | None, reason: str, now: datetime,
         expected_version: int | None = None, backfill: str | None = None) -> Case:
    """Void a case recorded by mistake (a duplicate, a test): it leaves every figure, list and ladder; its events
    stay in the log and the dossier, with who voided it and why."""
    return _ruling(commands, case_id, "void", actor=actor, reason=reason, now=now, expected_version=expected_version,
                   data_of=lambda case, who: {}, backfill=backfill)


def correct(commands, case_id: str, *, actor: str | None, changes: dict, reason: str, now: datetime,
            expected_version: int | None = None) -> Case:
    """Correct what the case was reported with (a typo in the title, the wrong enterprise, region, industry or
    source): the event keeps the old and the new value of each."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown or not changes:
        raise InvalidInput(f"a correction changes {', '.join(CORRECTABLE)}"
                           + (f"; not {', '.join(unknown)}" if unknown else ": name at least one with its new value"),
                           field=unknown[0] if unknown else None, rule="correctable")

    def data_of(case: Case, who) -> dict:
        given = {name: getattr(case, name) for name in CORRECTABLE}
        attrs = report_attributes(**{**given, **changes}, level=case.level, found_at=case.found_at,
                                  within=who.regions)
        diff = {name: {"old": given[name], "new": attrs[name]} for name in changes if attrs[name] != given[name]}
        if not diff:
            raise InvalidInput(f"nothing to correct: {case.id} already has "
                               + ", ".join(f"{n} {given[n]}" for n in changes), field=next(iter(changes)))
        if "region" in diff:  # moving a case to another region needs authority over both
            _in_region(case, who, f"correct the region of {case.id}", region=attrs["region"])
        return {"changes": diff}

    return _ruling(commands, case_id, "correct", actor=actor, reason=reason, now=now,
                   expected_version=expected_version, data_of=data_of)


def _ruling(commands, case_id: str, kind: str, *, actor, reason, now, expected_version, data_of,
            backfill: str | None = None) -> Case:
    case_id = read_case_id(case_id)
    what = f"{kind} {case_id}"
    reason = _reason(reason, what, case_id)
    with opened(commands, case_id, what, actor=actor, now=now, expected_version=expected_version) as ready:
        unit, case, who, run = ready
        rules = run.definition.corrections(kind)
        role = pick_role(who, rules.roles, what)
        check_guards(rules, _context(case, who, now), what, case_id)
        judged = {}
        if kind == "void":  # what was due by its recording is handled before the case goes
            judged = backfilling.judgment(commands._engine, unit, case, at=now, role=role, backfill=backfill)
            if JUDGED in judged:
                case = backfilling.settle_due(commands._engine, unit, case, run, by=unit.recorded_clock.now())
        return _record(unit, case, who, run, kind, role, {**data_of(case, who), "reason": reason, **judged}, now)


def check_not_void(case: Case) -> None:
    if case.voided_at is not None:
        raise Refused(f"{case.id} was voided on {iso(case.voided_at)[:10]}: nothing more is recorded on it",
                      case_id=case.id, rule="void")


def _reason(reason: str | None, what: str, case_id: str) -> str:
    if not reason or not reason.strip():
        raise Refused(f"{what} requires a reason", case_id=case_id, rule="requires", missing=("reason",))
    return limits.check_text(reason.strip(), field="reason", label="reason", max_chars=limits.MAX_TEXT_CHARS,
                             multiline=True)


def _context(case: Case, who, now: datetime, region: str | None = None) -> GuardContext:
    return GuardContext(fields=guard_fields(case), actor=who.name, actor_regions=who.regions,
                        case_region=region or case.region, last_actor_of=case.signers, open_linked=frozenset(),
                        flags=frozenset(case.flags), now=now)


def _in_region(case: Case, who, what: str, *, region: str | None = None) -> None:
    check_guards(Command(roles=(), guards=_IN_REGION), _context(case, who, None, region), what, case.id)


def _day(value: str) -> date:
    """The day of a deadline value (a date, or a time read in Asia/Shanghai)."""
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).astimezone(SHANGHAI).date()


def _instant(value: str) -> datetime:
    from engine.domain.clock import deadline_instant
    return deadline_instant(value)


def _add(day: date, duration, calendar, *, before: bool = False) -> date:
    days = -duration.days if before else duration.days
    if duration.working and calendar is not None:
        return calendar.add_working_days(day, days)[0]
    return day + timedelta(days=days)


def _duration(duration) -> str:
    return f"{duration.days} {'working ' if duration.working else ''}days"
