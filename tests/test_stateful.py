"""Random commands by random actors on SQLite; after every step the stored cases still obey the invariants.

Invariants: the stored case equals the fold of its stored events with `engine.domain.case.apply`; a refused command
changes nothing; the hash chain verifies up to the case's head; version equals the number of events; and a
command that succeeds lands where the workflow says it goes.
"""
from __future__ import annotations

import atexit
import dataclasses
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from engine.domain.case import apply
from engine.domain.clock import FixedClock, parse_time
from engine.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused
from engine.domain.events import verify_chain
from engine.app import Engine
from engine.app.registry import load_definition
from engine.store.database import Store
from tests.conftest import FIVE, START

MAJOR = load_definition((Path(__file__).parent.parent / "workflows" / "major-hazard.yaml").read_text(), "m.yaml")
TRIGGERS = sorted({t.trigger for t in MAJOR.transitions}) + ["reopen", "ASSIGN", "escalate", "report", ""]
USERS = {"wang": (["inspector"], ["371721"]), "ent": (["enterprise"], ["371721"]),
         "zhang": (["supervisor"], ["371700"]), "liu": (["supervisor"], ["371700"]), "li": (["committee"], ["37"]),
         "far": (["supervisor"], ["4101"]), "audit": (["auditor"], ["37"])}
ACTORS = sorted(USERS) + ["ghost"]
FIELD_CHOICES = sorted(FIVE.items()) + [
    ("opinion", "整改到位"), ("opinion", ""), ("criterion", "安监总管三〔2017〕121号 第5项"), ("report_note", "已加装"),
    ("closing_note", "销号"), ("deadline", "2026-02-30"), ("deadline", "2026-03-05T18:00"), ("funds", "abc"),
    ("funds", "1,200.50元"), ("colour", "red")]

# Whole field sets that let a step succeed, so random walks get past 'assign' and reach the later states.
GIVEN = st.one_of(st.sets(st.sampled_from(FIELD_CHOICES), max_size=8), st.just(frozenset(FIVE.items())),
                  st.just(frozenset({("opinion", "整改到位")})), st.just(frozenset()))
# Who usually fires each step; random actors are mixed in by the `advance` rule.
USUAL = {"reported": [("assign", "zhang"), ("assign", "li")], "assigned": [("start", "ent"), ("start", "liu")],
         "rectifying": [("submit", "ent"), ("submit", "zhang")],
         "verifying": [("verify", "zhang"), ("verify", "liu"), ("reject", "liu"), ("reject", "li")],
         "verified": [("close", "li"), ("close", "zhang")], "closed": [("close", "li")]}

RIGHT = {"assign": FIVE, "verify": {"opinion": "整改到位"}, "reject": {"opinion": "报警未联动"}}

_TEMPLATE: dict[str, Path] = {}


def template_db() -> Path:
    """One initialised database with the conftest users, copied for every example (init is the slow part)."""
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="hz-stateful-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.db"
        store = Store(f"sqlite:///{path}", create=True)
        svc = Engine(store, clock=FixedClock(parse_time(START)), trust_backdating=True)
        svc.init(admin="root", admin_regions=["37", "41"])  # the administrator adds the users, never acts
        for name, (roles, regions) in USERS.items():
            svc.commands.add_user(name, roles=roles, regions=regions, actor="root")
        store.dispose()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


def _clock_view(clocks: dict) -> dict:
    """Clock states with their timestamps as instants: the same instant may be written in another zone."""
    return {name: {k: (datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else v)
                   for k, v in state.items()} for name, state in clocks.items()}


def view(case) -> dict:
    return {**dataclasses.asdict(case), "clocks": _clock_view(case.clocks)}


class HazardCases(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="hz-example-"))
        shutil.copy(template_db(), self.dir / "hazard.db")
        self.store = Store(f"sqlite:///{self.dir / 'hazard.db'}", create=True)
        self.clock = FixedClock(parse_time(START))
        self.service = Engine(self.store, clock=self.clock, trust_backdating=True)
        self.ids: list[str] = []
        self.touched: set[str] = set()  # cases a command was tried on since the last invariant check
        self.definitions = {}

    def teardown(self):
        try:
            for case_id in self.ids:
                self.check(case_id)
        finally:
            self.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------------------------
    def definition(self, name, version):
        if (name, version) not in self.definitions:
            self.definitions[(name, version)] = self.service.queries.workflow(name, version)[1]
        return self.definitions[(name, version)]

    def stored(self, case_id):
        self.touched.add(case_id)
        return self.service.queries.case(case_id), self.service.queries.history(case_id)

    def check(self, case_id):
        case, history = self.service.queries.case(case_id), self.service.queries.history(case_id)
        assert case.version == len(history) == history[-1].seq
        assert list(verify_chain(history, head=(case.version, case.last_hash))) == []
        replayed = None
        for event in history:
            replayed = apply(replayed, event, self.definition(event.workflow, event.workflow_version))
        assert view(replayed) == view(case), f"{case_id}: projection differs from the replay of its events"

    # -- rules -------------------------------------------------------------------------------------------
    @initialize(target=cases)
    def first_case(self):
        case = self.service.commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                                        enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                        level="major", source="inspection")
        self.ids.append(case.id)
        return case.id

    @rule(target=cases, actor=st.sampled_from(ACTORS), region=st.sampled_from(["371721", "371722", "410102"]))
    def report(self, actor, region):
        try:
            case = self.service.commands.report_case(actor=actor, workflow="major-hazard", title="隐患", enterprise="某企业",
                                            region=region, industry="工贸", level="major", source="self_check")
        except (PermissionDenied, Refused, InvalidInput):
            return self.ids[0]
        self.ids.append(case.id)
        return case.id

    @rule(case_id=cases, trigger=st.sampled_from(TRIGGERS), actor=st.sampled_from(ACTORS),
          given=GIVEN)
    def advance(self, case_id, trigger, actor, given):
        before, history = self.stored(case_id)
        allowed = self.definition(before.workflow, before.workflow_version).transition(before.state, trigger)
        try:
            after = self.service.commands.advance_case(case_id, trigger, actor=actor, fields=dict(sorted(given)))
        except Conflict:
            raise AssertionError("a single writer can never conflict") from None
        except (Refused, PermissionDenied, InvalidInput) as exc:
            assert self.stored(case_id) == (before, history), f"refused {trigger} by {actor} changed the case"
            if allowed is None and actor in USERS:
                assert isinstance(exc, Refused) and exc.rule == "state", exc
            return
        assert allowed is not None, f"{trigger} fired from {before.state}, which the workflow does not allow"
        assert after.state == allowed.dest and after.version == before.version + 1
        assert actor in USERS and set(USERS[actor][0]) & set(allowed.roles)
        assert self.stored(case_id)[0] == after

    @rule(case_id=cases, pick=st.integers(0, 3), given=st.one_of(st.none(), GIVEN))
    def usual_step(self, case_id, pick, given):
        state = self.service.queries.case(case_id).state
        trigger, actor = USUAL[state][pick % len(USUAL[state])]
        if given is None:
            given = frozenset(RIGHT.get(trigger, {}).items())
        self.advance(case_id, trigger, actor, given)

    @rule(case_id=cases, actor=st.sampled_from(ACTORS), until=st.sampled_from(["2026-06-30", "2026-13-01", "2026-05-01"]),
          reason=st.sampled_from(["设备到货延迟", "", " "]))
    def extend(self, case_id, actor, until, reason):
        before, history = self.stored(case_id)
        try:
            after = self.service.commands.extend_deadline(case_id, actor=actor, until=until, reason=reason)
        except (Refused, PermissionDenied, InvalidInput, NotFound):
            assert self.stored(case_id) == (before, history)
            return
        # The major hazard's extensions are applied for: the deadline moves only when someone else approves.
        assert after.state == before.state and reason.strip() and after.deadline == before.deadline
        assert after.decisions["extension"]["until"] == until and after.decisions["extension"]["applied_by"] == actor

    @rule(case_id=cases, rung=st.sampled_from(["extension", "interview", "suspension", "notice"]),
          decision=st.sampled_from(["approve", "decline", "maybe"]), actor=st.sampled_from(ACTORS),
          reason=st.sampled_from(["同意", " "]))
    def decide(self, case_id, rung, decision, actor, reason):
        before, history = self.stored(case_id)
        try:
            after = self.service.commands.decide(case_id, rung, decision, actor=actor, reason=reason)
        except (Refused, PermissionDenied, InvalidInput, NotFound):
            assert self.stored(case_id) == (before, history)
            return
        assert after.state == before.state and after.version == before.version + 1 and decision != "maybe"
        pending = before.decisions.get("extension")
        if rung == "extension":
            assert pending is not None and pending["applied_by"] != actor
            assert after.deadline == (pending["until"] if decision == "approve" else before.deadline)

    @rule(hours=st.integers(1, 24 * 12))
    def sweep(self, hours):
        """The scheduler comes by: sanctions due are proposed, never carried out by it."""
        from engine.app.sweep import sweep
        self.clock.advance(hours=hours)
        if self.clock.now() > self.service.recorded_clock.now():
            return
        flags = {case_id: self.service.queries.case(case_id).flags for case_id in self.ids}
        result = sweep(self.service, now=self.clock.now())
        assert all(f["status"] != "fired" or not f.get("decided_by") for f in result.fired)
        assert {case_id: self.service.queries.case(case_id).flags for case_id in self.ids} == flags
        self.touched.update(self.ids)

    @rule(hours=st.integers(1, 24 * 40))
    def time_passes(self, hours):
        self.clock.advance(hours=hours)

    # -- invariants --------------------------------------------------------------------------------------
    @invariant()
    def touched_cases_obey_the_invariants(self):
        # Only cases a command was tried on can have changed; teardown checks every case once more.
        for case_id in sorted(self.touched | set(self.ids[-1:])):
            self.check(case_id)
        self.touched.clear()


HazardCases.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_random_commands_keep_the_invariants = HazardCases.TestCase
test_random_commands_keep_the_invariants.__doc__ = "Random triggers by random actors never break projection, chain or refusals."
