"""Deciding a command without a database: which rule refuses, what is missing, how fields are read."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.definition.model import FieldSpec
from engine.domain.definition.fields_and_guards import coerce
from engine.domain.errors import InvalidInput, PermissionDenied, Refused
from engine.domain.machine import Actor, Proposal, decide, machine_for
from engine.app.registry import load_definition
from tests.conftest import FIVE

ROOT = Path(__file__).parent.parent
MAJOR = load_definition((ROOT / "workflows" / "major-hazard.yaml").read_text(), "major-hazard.yaml")
GENERAL = load_definition((ROOT / "workflows" / "general-hazard.yaml").read_text(), "general-hazard.yaml")
SWITCH = load_definition((Path(__file__).parent / "definitions" / "good" / "yes-no-on-off.yaml").read_text(),
                         "yes-no-on-off.yaml")
GUARDS = load_definition("""
workflow: guards
roles: [inspector]
fields:
  grade: {type: enum, values: [A, B, C]}
  owner: {type: person}
  kind: {type: text}
states:
  open: {initial: true}
  done: {final: true}
report:
  roles: [inspector]
transitions:
  - trigger: finish
    from: open
    to: done
    roles: [inspector]
    sets: [grade, owner, kind]
    guards:
      - present: owner
      - one_of: {field: grade, values: [A, B]}
      - equals: {field: kind, value: fire}
""", "guards.yaml")

ZHANG = Actor("zhang", ("supervisor",), ("3717",))
LIU = Actor("liu", ("supervisor",), ("3717",))
ENT = Actor("ent", ("enterprise",), ("371721",))
FAR = Actor("far", ("supervisor",), ("4101",))
LI = Actor("li", ("committee",), ("37",))
AUDIT = Actor("audit", ("auditor",), ("37",))
INSPECTOR = Actor("wang", ("inspector",), ("371721",))


def fire(trigger, state, actor, given=None, *, definition=MAJOR, fields=None, signers=None, region="371721",
         open_linked=frozenset(), flags=()):
    return decide(definition, state, Proposal(case_id="HZ-2026-000001", trigger=trigger, actor=actor,
                                              given=dict(given or {}), case_fields=dict(fields or {}),
                                              case_region=region, signers=dict(signers or {}),
                                              open_linked=open_linked, flags=flags))


# -- the 'state' rule --------------------------------------------------------------------------------------

def test_happy_path_moves_along_the_loop():
    """Each trigger of the closed loop, fired by an allowed actor with its fields, lands in the next state."""
    steps = [("assign", "reported", ZHANG, FIVE, "assigned"), ("start", "assigned", ENT, {}, "rectifying"),
             ("submit", "rectifying", ENT, {}, "verifying"), ("verify", "verifying", LIU, {"opinion": "ok"}, "verified"),
             ("close", "verified", LI, {}, "closed")]
    for trigger, state, actor, given, dest in steps:
        decision = fire(trigger, state, actor, given, signers={"submit": "ent"})
        assert (decision.trigger, decision.from_state, decision.to_state) == (trigger, state, dest)
        assert decision.role in actor.roles


def test_a_trigger_not_allowed_now_is_refused_by_the_state_rule_listing_allowed_triggers():
    """Firing 'start' on a reported case is refused by rule 'state', and the message says what is allowed now."""
    with pytest.raises(Refused) as caught:
        fire("start", "reported", ENT)
    err = caught.value
    assert err.rule == "state" and err.trigger == "start" and err.case_id == "HZ-2026-000001"
    assert "'start' on HZ-2026-000001 is not allowed in state 'reported' (allowed now: assign)" == err.message


def test_verifying_lists_both_ways_out():
    """In 'verifying' the refusal names both verify and reject as allowed."""
    with pytest.raises(Refused) as caught:
        fire("close", "verifying", LI)
    assert caught.value.rule == "state"
    assert caught.value.message.endswith("(allowed now: verify, reject)")


def test_a_trigger_the_workflow_does_not_have_is_refused_by_the_state_rule():
    """An unknown trigger is refused by rule 'state' naming the workflow and the triggers available."""
    with pytest.raises(Refused) as caught:
        fire("reopen", "assigned", ZHANG)
    assert caught.value.rule == "state"
    assert caught.value.message == "workflow 'major-hazard' has no trigger 'reopen' (from 'assigned': start)"


def test_nothing_leaves_a_final_state():
    """A closed case refuses every trigger and says it is in a final state."""
    with pytest.raises(Refused) as caught:
        fire("assign", "closed", ZHANG, FIVE)
    assert caught.value.rule == "state"
    assert "none: the case is in a final state" in caught.value.message


def test_state_is_checked_before_role():
    """A wrong trigger by a wrong role is a state refusal (the more useful message), not permission denied."""
    with pytest.raises(Refused) as caught:
        fire("verify", "reported", AUDIT)
    assert caught.value.rule == "state"


# -- 'requires' --------------------------------------------------------------------------------------------

def test_missing_required_fields_are_listed_in_order():
    """assign with only some of the five implementations is refused by 'requires' listing exactly the others."""
    with pytest.raises(Refused) as caught:
        fire("assign", "reported", ZHANG, {"measures": "m", "funds": "1000"})
    err = caught.value
    assert err.rule == "requires"
    assert err.missing == ("responsible_unit", "responsible_person", "deadline", "emergency_plan")
    assert "responsible_unit, responsible_person, deadline, emergency_plan" in err.message


def test_verify_without_opinion_names_opinion():
    """verify without an opinion is refused by 'requires' with missing ('opinion',)."""
    with pytest.raises(Refused) as caught:
        fire("verify", "verifying", LIU, signers={"submit": "ent"})
    assert (caught.value.rule, caught.value.missing) == ("requires", ("opinion",))


def test_a_field_the_step_does_not_take_is_invalid_input():
    """A field the transition neither requires nor sets is rejected as invalid input naming the field."""
    with pytest.raises(InvalidInput) as caught:
        fire("start", "assigned", ENT, {"colour": "red"})
    assert caught.value.field == "colour"
    assert caught.value.exit_code == 2


def test_an_empty_required_value_is_invalid_input():
    """`--set opinion=` (empty) is not accepted as an opinion."""
    with pytest.raises(InvalidInput) as caught:
        fire("verify", "verifying", LIU, {"opinion": "  "}, signers={"submit": "ent"})
    assert caught.value.field == "opinion"


# -- who may act -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor, trigger, state", [(ENT, "assign", "reported"), (AUDIT, "start", "assigned"),
                                                    (INSPECTOR, "verify", "verifying"), (ENT, "close", "verified")])
def test_a_role_the_transition_does_not_allow_is_permission_denied(actor, trigger, state):
    """An actor whose roles the transition does not list is denied with rule 'role', naming the allowed roles."""
    with pytest.raises(PermissionDenied) as caught:
        fire(trigger, state, actor, {"opinion": "x"} if trigger == "verify" else FIVE if trigger == "assign" else {})
    assert caught.value.rule == "role" and caught.value.actor == actor.name
    allowed = ", ".join(MAJOR.transition(state, trigger).roles)
    assert caught.value.message.endswith(f"allowed roles: {allowed}")


def test_an_actor_outside_the_case_region_is_permission_denied():
    """A supervisor of 4101 may not assign a case in 371721: permission denied by rule in_region."""
    with pytest.raises(PermissionDenied) as caught:
        fire("assign", "reported", FAR, FIVE)
    assert caught.value.rule == "in_region"
    assert "371721" in caught.value.message and "4101" in caught.value.message


def test_region_is_checked_before_missing_fields():
    """Someone outside the region learns that, not which fields are missing."""
    with pytest.raises(PermissionDenied):
        fire("assign", "reported", FAR, {})


@pytest.mark.parametrize("regions, case_region, allowed", [
    (("37",), "371721", True), (("3717",), "371721", True), (("371721",), "371721", True),
    (("4101",), "371721", False), (("3716",), "371721", False), (("371722",), "371721", False),
    (("4101", "3717"), "371721", True)])
def test_region_prefixes(regions, case_region, allowed):
    """A region code prefix covers the divisions below it: 37 a province, 3717 a city; 4101 and siblings do not."""
    actor = Actor("x", ("supervisor",), regions)
    if allowed:
        assert fire("start", "assigned", actor, region=case_region).to_state == "rectifying"
    else:
        with pytest.raises(PermissionDenied):
            fire("start", "assigned", actor, region=case_region)


def test_an_actor_with_several_roles_acts_in_an_allowed_one():
    """An enterprise-and-supervisor user assigning is recorded in the supervisor role."""
    both = Actor("both", ("enterprise", "supervisor"), ("37",))
    assert fire("assign", "reported", both, FIVE).role == "supervisor"


# -- separation of duties ----------------------------------------------------------------------------------

@pytest.mark.parametrize("trigger", ["verify", "reject"])
def test_the_submitter_cannot_verify_or_reject(trigger):
    """The supervisor who fired 'submit' is refused by rule actor_differs_from; a colleague may sign."""
    with pytest.raises(Refused) as caught:
        fire(trigger, "verifying", ZHANG, {"opinion": "ok"}, signers={"submit": "zhang"})
    assert caught.value.rule == "actor_differs_from"
    assert "'zhang' fired 'submit'" in caught.value.message
    assert fire(trigger, "verifying", LIU, {"opinion": "ok"}, signers={"submit": "zhang"}).to_state in (
        "verified", "rectifying")


def test_general_hazard_fixer_cannot_confirm_own_fix():
    """In general-hazard, whoever fixed on the spot may not also verify it."""
    with pytest.raises(Refused) as caught:
        fire("verify", "verifying", Actor("wang", ("inspector",), ("371721",)), {"opinion": "ok"},
             definition=GENERAL, signers={"fix": "wang"})
    assert caught.value.rule == "actor_differs_from"


# -- guards from the vocabulary ----------------------------------------------------------------------------

def test_present_guard_names_the_field():
    """A 'present' guard refuses while the field is unset, naming the guard and the field."""
    with pytest.raises(Refused) as caught:
        fire("finish", "open", INSPECTOR, {"grade": "A", "kind": "fire"}, definition=GUARDS)
    assert caught.value.rule == "present"
    assert "field 'owner' must be set" in caught.value.message


def test_one_of_guard():
    """A 'one_of' guard accepts A or B and refuses C with the rule named."""
    base = {"owner": "王五", "kind": "fire"}
    assert fire("finish", "open", INSPECTOR, {**base, "grade": "B"}, definition=GUARDS).to_state == "done"
    with pytest.raises(Refused) as caught:
        fire("finish", "open", INSPECTOR, {**base, "grade": "C"}, definition=GUARDS)
    assert caught.value.rule == "one_of"
    assert "must be one of A, B" in caught.value.message


def test_equals_guard_reads_case_fields_too():
    """An 'equals' guard is satisfied by a value already on the case, and refuses a different one."""
    given = {"owner": "王五", "grade": "A"}
    assert fire("finish", "open", INSPECTOR, given, fields={"kind": "fire"}, definition=GUARDS).to_state == "done"
    with pytest.raises(Refused) as caught:
        fire("finish", "open", INSPECTOR, {**given, "kind": "flood"}, fields={"kind": "fire"}, definition=GUARDS)
    assert caught.value.rule == "equals"


def test_equals_yes_compares_as_text():
    """`equals: {value: yes}` is the string 'yes': answer=yes passes, answer=no is refused by 'equals'."""
    assert fire("on", "off", INSPECTOR, {"answer": "yes"}, definition=SWITCH).to_state == "on"
    with pytest.raises(Refused) as caught:
        fire("on", "off", INSPECTOR, {"answer": "no"}, definition=SWITCH)
    assert caught.value.rule == "equals"


def test_close_waits_for_linked_posted_supervision_and_suspension():
    """close is refused while a posted-supervision case is open or the case is flagged suspended."""
    with pytest.raises(Refused) as caught:
        fire("close", "verified", LI, open_linked=frozenset({"posted-supervision"}))
    assert caught.value.rule == "no_open_linked"
    with pytest.raises(Refused) as caught:
        fire("close", "verified", LI, flags=("suspended",))
    assert caught.value.rule == "not_flagged"
    assert fire("close", "verified", LI, open_linked=frozenset({"interview"})).to_state == "closed"


def test_verify_lifts_suspension():
    """A passed verification says it lifts the 'suspended' flag."""
    assert fire("verify", "verifying", LI, {"opinion": "ok"}).lifts == ("suspended",)


# -- fields ------------------------------------------------------------------------------------------------

def test_funds_are_normalised_in_the_decision():
    """'15万' given with assign is decided as '150000.00' yuan, and the deadline stays a date."""
    decision = fire("assign", "reported", ZHANG, FIVE)
    assert decision.fields["funds"] == "150000.00"
    assert decision.fields["deadline"] == "2026-04-30"


@pytest.mark.parametrize("raw, stored", [("15万", "150000.00"), ("1.5万元", "15000.00"), ("1,200.50元", "1200.50"),
                                         ("150000", "150000.00"), (" 8000 元 ", "8000.00")])
def test_money_is_read_in_yuan(raw, stored):
    """Amounts with 万/万元/元 and thousands separators are stored as yuan with two decimals."""
    assert coerce(FieldSpec("funds", "money"), raw) == stored


@pytest.mark.parametrize("raw", ["abc", "-5", "十五万", "15 million"])
def test_money_that_cannot_be_read_is_invalid_input(raw):
    """Text that is not an amount of money is invalid input naming the field."""
    with pytest.raises(InvalidInput) as caught:
        coerce(FieldSpec("funds", "money"), raw)
    assert caught.value.field == "funds"


@pytest.mark.parametrize("raw", ["2026-02-30", "next friday", "30.04.2026", "46142", "无"])
def test_a_bad_date_is_invalid_input(raw):
    """A deadline that is no real date or time in a form offices write (an Excel serial typed by hand is a slip),
    is invalid input, also through decide."""
    with pytest.raises(InvalidInput) as caught:
        fire("assign", "reported", ZHANG, {**FIVE, "deadline": raw})
    assert caught.value.field == "deadline"


@pytest.mark.parametrize("raw", ["2026/04/30", "2026/4/30", "2026.4.30", "2026年4月30日", "２０２６－０４－３０", "20260430"])
def test_a_deadline_reads_in_every_form_the_ledger_import_reads(raw):
    """`--set deadline=2026/04/30` is the day the import reads from a ledger's 整改期限 cell (issue 16)."""
    assert fire("assign", "reported", ZHANG, {**FIVE, "deadline": raw}).fields["deadline"] == "2026-04-30"


def test_an_iso_time_deadline_is_kept_as_a_shanghai_time():
    """A deadline given as a local ISO time is kept with its +08:00 offset."""
    assert fire("assign", "reported", ZHANG, {**FIVE, "deadline": "2026-04-30T18:00"}).fields["deadline"] == \
        "2026-04-30T18:00:00+08:00"


def test_a_compact_date_means_the_same_deadline_as_a_dashed_one():
    """'20260430' is refused or means the same day-end deadline as '2026-04-30'."""
    from engine.domain.clock import deadline_instant
    try:
        value = coerce(FieldSpec("deadline", "date"), "20260430")
    except InvalidInput:
        return
    assert deadline_instant(value) == deadline_instant("2026-04-30")


def test_enum_values_are_checked():
    """An enum field accepts its declared values only."""
    spec = FieldSpec("grade", "enum", values=("A", "B", "C"))
    assert coerce(spec, " B ") == "B"
    with pytest.raises(InvalidInput) as caught:
        fire("finish", "open", INSPECTOR, {"grade": "D", "owner": "x", "kind": "fire"}, definition=GUARDS)
    assert caught.value.field == "grade" and "not one of A, B, C" in caught.value.message


# -- purity ------------------------------------------------------------------------------------------------

def test_decide_leaves_its_inputs_alone():
    """decide does not change the case fields, signers or given dicts it was handed."""
    given, fields, signers = dict(FIVE), {"criterion": "c"}, {"submit": "ent"}
    decide(MAJOR, "reported", Proposal(case_id="HZ-1", trigger="assign", actor=ZHANG, given=given,
                                       case_fields=fields, case_region="371721", signers=signers))
    assert (given, fields, signers) == (FIVE, {"criterion": "c"}, {"submit": "ent"})


def test_one_machine_per_definition_version():
    """The transitions Machine is built once per definition and reused for every case."""
    assert machine_for(MAJOR) is machine_for(MAJOR)
    assert machine_for(MAJOR) is not machine_for(GENERAL)
    assert machine_for(MAJOR).follows("reported", "assign") == "assigned"
    assert machine_for(MAJOR).follows("reported", "verify") is None


def test_the_machine_itself_holds_the_rules_of_each_transition():
    """Firing the transitions Machine's own event runs the definition's rules as its condition."""
    from engine.domain.machine import Attempt

    machine = machine_for(MAJOR).machine
    short = dict(FIVE)
    del short["funds"]
    attempt = Attempt("reported", Proposal(case_id="HZ-1", trigger="assign", actor=ZHANG, given=short,
                                           case_fields={}, case_region="371721", signers={}))
    with pytest.raises(Refused) as caught:
        machine.events["assign"].trigger(attempt)
    assert caught.value.missing == ("funds",) and attempt.state == "reported"
    attempt = Attempt("reported", Proposal(case_id="HZ-1", trigger="assign", actor=ZHANG, given=dict(FIVE),
                                           case_fields={}, case_region="371721", signers={}))
    assert machine.events["assign"].trigger(attempt) and attempt.state == "assigned"
    assert attempt.decision.role == "supervisor" and attempt.decision.fields["funds"] == "150000.00"
