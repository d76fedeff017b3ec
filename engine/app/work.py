"""我的待办 (*app*): what a user may act on now, and the decisions awaiting them.

    found = engine.queries.work_for("zhang", now=now)          # a page of 50, overdue first
    found.counts   # {"cases": 10000, "overdue": 1200, "decisions": 3}

The cases: the open cases of the user's reach (their regions; a bound enterprise user's enterprise) in a state
out of which the user's roles may fire a trigger (`engine.domain.machine.may_fire`, the permission rule `decide`
applies first), judged once per (workflow version, state) pair, never case by case: one GROUP BY gives the
pairs and their counts, one ordered read the page. A supervisor thus sees the reported cases she may assign, an
enterprise user those it may start or submit; an auditor nothing (no trigger is theirs). Each item says its
triggers, whether it is overdue, and the next rung of its ladder and when it falls due.

The decisions: proposed sanctions whose `decided_by` holds one of the user's roles, and extension applications
the user may decide (a deciding role, not the applicant), of the cases of their reach
(`engine.domain.escalation.decisions.awaiting`). Guards on who acts that depend on the case (verification by
someone other than who submitted) are judged on the case page and when the trigger is fired.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.domain.case import Case
from engine.domain.escalation.decisions import awaiting
from engine.domain.machine import may_fire
from engine.domain.reach import Reach

PAGE = 50
MAX_DECISIONS = 200   # decisions shown at most (they are few: a proposal waits days, not months)


@dataclass(frozen=True)
class WorkItem:
    case: Case
    overdue: bool
    triggers: tuple[tuple[str, str], ...]         # (trigger, label) the user's roles may fire in its state
    next_rung: tuple[str, str, datetime | None] | None = None   # (rung, label, due at) of its ladder


@dataclass(frozen=True)
class DecisionItem:
    case: Case
    rung: str               # the rung whose proposal awaits, or `extension`
    label: str
    kind: str               # proposal or extension
    since: str | None       # when it was proposed or applied for (UTC ISO text)
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkList:
    items: list[WorkItem]
    decisions: list[DecisionItem]
    counts: dict           # cases, overdue, decisions
    by_state: list[dict]   # workflow, state, label, cases, overdue, triggers: what the counts are made of
    offset: int = 0
    limit: int = PAGE


def work_for(engine, actor: str, *, now: datetime, limit: int = PAGE, offset: int = 0) -> WorkList:
    from engine.app.readers import _reader
    from engine.store import work as work_store
    with engine.store.read() as conn:
        user = _reader(conn, actor)
        reach = Reach.of(user)
        keys, by_state, total, late = [], [], 0, 0
        for workflow, version, state, count, overdue in work_store.groups(conn, reach, now):
            definition = engine.registry.loaded(conn, workflow, version).definition
            triggers = may_fire(definition, state, user)
            if not triggers:
                continue
            keys.append((workflow, version, state))
            spec = definition.state(state)
            by_state.append({"workflow": workflow, "version": version, "state": state,
                             "label": getattr(spec, "label", "") or state, "cases": count, "overdue": overdue,
                             "triggers": [(t.trigger, t.label or t.trigger) for t in triggers]})
            total, late = total + count, late + overdue
        triggers_of = {(g["workflow"], g["version"], g["state"]): tuple(g["triggers"]) for g in by_state}
        found = work_store.page(conn, reach, keys, now, limit=limit, offset=offset)
        rungs = work_store.next_rungs(conn, [c.id for c, _ in found])
        items = []
        for case, overdue in found:
            definition = engine.registry.loaded(conn, case.workflow, case.workflow_version).definition
            upcoming = rungs.get(case.id)
            label = ""
            if upcoming is not None:
                label = next((r.label for r in definition.rungs if r.name == upcoming[0]), "") or upcoming[0]
            items.append(WorkItem(case, overdue, triggers_of[(case.workflow, case.workflow_version, case.state)],
                                  (upcoming[0], label, upcoming[1]) if upcoming else None))
        decisions = []
        for case in work_store.with_pending_decisions(conn, reach, limit=MAX_DECISIONS):
            definition = engine.registry.loaded(conn, case.workflow, case.workflow_version).definition
            deciders = definition.extend.decided_by if definition.extend else ()
            for d in awaiting(case.decisions, user, tuple(deciders)):
                decisions.append(DecisionItem(case, d["rung"], d.get("label") or d["rung"], d["kind"],
                                              d.get("proposed_at") or d.get("applied_at"), d))
    return WorkList(items, decisions, {"cases": total, "overdue": late, "decisions": len(decisions)}, by_state,
                    offset, limit)



@dataclass(frozen=True)
class CasePage:
    """A case as its page shows it to one user: the case with its rungs and linked cases, its events, its
    definition version, and what this user may do on it now."""

    view: object                 # engine.app.queries.CaseView
    events: list
    definition: object           # the definition version the case runs under
    transitions: list            # the transitions the user may fire now (machine.may_fire with the case's guards)
    may_extend: bool             # the user may extend (or apply to extend) its deadline
    decisions: list[dict]        # the decisions pending on it the user may take


def case_page(engine, case_id: str, actor: str, *, now: datetime) -> CasePage:
    from engine.app.readers import _reader
    from engine.domain.definition.fields_and_guards import GuardContext
    from engine.domain.preconditions import guard_fields
    view = engine.queries.case_view(case_id, actor=actor)     # NotFound outside the reader's reach
    events = engine.queries.history(view.case.id, actor=actor)
    case = view.case
    with engine.store.read() as conn:
        user = _reader(conn, actor)
        definition = engine.registry.loaded(conn, case.workflow, case.workflow_version).definition
    if case.voided_at is not None or case.is_final:
        return CasePage(view, events, definition, [], False, [])
    ctx = GuardContext(fields=guard_fields(case), actor=user.name, actor_regions=user.regions, case_region=case.region,
                       last_actor_of=case.signers, open_linked=frozenset(), flags=frozenset(case.flags), now=now)
    extend = definition.extend
    may_extend = extend is not None and any(r in extend.roles for r in user.roles) \
        and definition.deadline_clock is not None \
        and case.clocks.get(definition.deadline_clock.name, {}).get("status") in ("running", "paused")
    deciders = tuple(extend.decided_by) if extend else ()
    return CasePage(view, events, definition, may_fire(definition, case.state, user, ctx), may_extend,
                    awaiting(case.decisions, user, deciders))
