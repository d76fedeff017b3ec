"""The engine through its Python API: reporting, advancing, refusing, on SQLite and PostgreSQL."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from engine.domain.clock import FixedClock, parse_time
from engine.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused
from engine.domain.events import verify_chain
from engine.app import Engine
from engine.store.tables import cases, events, rungs
from tests.conftest import FIVE, rectified, report, run_to


def snapshot(store, case_id):
    """Everything stored about a case: its row, its events and its rung rows."""
    with store.db_engine.connect() as conn:
        row = dict(conn.execute(select(cases).where(cases.c.id == case_id)).one()._mapping)
        history = [dict(r._mapping) for r in conn.execute(select(events).where(events.c.case_id == case_id)
                                                           .order_by(events.c.seq))]
        timers = [dict(r._mapping) for r in conn.execute(select(rungs).where(rungs.c.case_id == case_id)
                                                          .order_by(rungs.c.id))]
    return row, history, timers


def test_a_major_hazard_runs_the_whole_closed_loop(service):
    """Reported, assigned with the five implementations, rectified, verified by someone else, closed."""
    case = report(service)
    assert case.id.startswith("HZ-2026-") and case.state == "reported"
    closed = run_to(service, case.id, "closed")
    assert closed.state == "closed" and closed.is_final and closed.version == 7
    assert closed.fields["funds"] == "150000.00"
    assert [e.trigger for e in service.queries.history(case.id)] == ["report", "assign", "start", "attach", "submit",
                                                                    "verify", "close"]


def test_case_ids_count_up_within_the_year(service):
    """Case ids are HZ-<year>-<6 digits>, numbered 1, 2, 3 in the order reported."""
    ids = [report(service).id for _ in range(3)]
    assert ids == ["HZ-2026-000001", "HZ-2026-000002", "HZ-2026-000003"]


def test_the_year_in_the_id_is_the_shanghai_year(service, clock):
    """A case reported at 2026-12-31 20:00 UTC (already 2027 in Shanghai) gets a 2027 id."""
    clock.at = parse_time("2026-12-31T20:00:00+00:00")
    service.recorded_clock = FixedClock(clock.at)  # recorded then, whatever today's date is
    assert report(service).id == "HZ-2027-000001"


def test_events_carry_effective_and_recorded_time(store, clock):
    """Each event has the engine clock's time as `at` and the recording clock's time as `recorded_at`."""
    recorded = FixedClock(parse_time("2026-11-25T16:00"))
    svc = Engine(store, clock=clock, recorded_clock=recorded, trust_backdating=True)
    svc.init(admin="li", admin_regions=["37"])
    svc.commands.add_user("ent", roles=["enterprise"], regions=["371721"], actor="li")
    case = report(svc)
    (event,) = svc.queries.history(case.id)
    assert event.at == clock.now() and event.recorded_at == recorded.now()
    assert event.actor == "ent" and event.role == "enterprise" and event.trigger == "report"
    assert event.data["case"]["region"] == "371721"


def test_report_sets_fields_and_the_deadline(service):
    """Fields given at report time are coerced and stored, and the deadline shows on the case."""
    case = report(service, fields={"deadline": "2026-04-30", "responsible_person": "王五"})
    stored = service.queries.case(case.id)
    assert stored.deadline == "2026-04-30" and stored.fields["responsible_person"] == "王五"


def test_report_refuses_fields_it_does_not_take(service):
    """Reporting with a field the report command does not accept is invalid input."""
    with pytest.raises(InvalidInput) as caught:
        report(service, fields={"opinion": "fine"})
    assert caught.value.field == "opinion"


# -- who may act -------------------------------------------------------------------------------------------

def test_an_unregistered_actor_is_denied(service):
    """An actor nobody registered is denied with rule 'registered' on report and on advance."""
    with pytest.raises(PermissionDenied) as caught:
        report(service, actor="ghost")
    assert caught.value.rule == "registered" and caught.value.actor == "ghost"
    case = report(service)
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(case.id, "assign", actor="ghost", fields=FIVE)
    assert caught.value.rule == "registered"


def test_no_actor_at_all_is_denied(service):
    """Advancing without naming an actor is denied, naming the rule (the CLI adds how to give one)."""
    case = report(service)
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(case.id, "assign", actor=None, fields=FIVE)
    assert caught.value.rule == "actor" and "no actor" in caught.value.message
    assert "--" not in caught.value.message  # the engine speaks the domain, not the shell


def test_a_role_not_allowed_is_denied(service):
    """The auditor may not report, and the enterprise may not assign: rule 'role'."""
    with pytest.raises(PermissionDenied) as caught:
        report(service, actor="audit")
    assert caught.value.rule == "role"
    case = report(service)
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(case.id, "assign", actor="ent", fields=FIVE)
    assert caught.value.rule == "role"


def test_region_prefixes_decide_who_may_act(service):
    """The province user (37) and city user (371700 = 3717) may act in 371721; the 4101 user may not."""
    with pytest.raises(PermissionDenied) as caught:
        report(service, actor="far")
    assert caught.value.rule == "in_region"
    case = report(service, actor="li")
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(case.id, "assign", actor="far", fields=FIVE)
    assert caught.value.rule == "in_region"
    assert service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE).state == "assigned"
    elsewhere = report(service, actor="far", region="410102")
    assert elsewhere.region == "410102"


def test_a_county_user_cannot_act_in_the_next_county(service):
    """The enterprise of 371721 may not report a hazard in 371722."""
    with pytest.raises(PermissionDenied):
        report(service, region="371722")


def test_user_regions_are_normalised_prefixes(service):
    """Registering 371700 stores the city prefix 3717; a 5-digit code is refused."""
    actor, _ = service.commands.add_user("sun", roles=["supervisor"], regions=["371700", "410000"], actor="li")
    assert actor.regions == ("3717", "41")
    with pytest.raises(InvalidInput):
        service.commands.add_user("bad", roles=["supervisor"], regions=["37172"], actor="li")


# -- not found and bad input -------------------------------------------------------------------------------

def test_unknown_case_is_not_found(service):
    """Advancing, reading or listing the history of an unknown case raises NotFound naming it."""
    for call in (lambda: service.commands.advance_case("HZ-2026-999999", "assign", actor="zhang", fields=FIVE),
                 lambda: service.queries.case("HZ-2026-999999"), lambda: service.queries.history("HZ-2026-999999")):
        with pytest.raises(NotFound) as caught:
            call()
        assert (caught.value.kind, caught.value.key) == ("case", "HZ-2026-999999")


def test_unknown_workflow_is_not_found(service):
    """Reporting into a workflow that was never installed raises NotFound for the workflow."""
    with pytest.raises(NotFound) as caught:
        report(service, workflow="minor-hazard")
    assert caught.value.kind == "workflow"


def test_report_region_must_be_a_division_of_the_list(service):
    """A report whose region is no code (2, 4 or 6 digits) or name of the national list, or a name several
    divisions share, is invalid input on the region field."""
    for region in ["37172", "3717210", "37172a", "", "371799", "菏泽县", "市中区"]:
        with pytest.raises(InvalidInput) as caught:
            report(service, region=region)
        assert caught.value.field == "region", region


def test_report_level_must_be_major_or_general(service):
    """A level other than major or general is invalid input on the level field."""
    for level in ["minor", "Major", ""]:
        with pytest.raises(InvalidInput) as caught:
            report(service, level=level)
        assert caught.value.field == "level", level


def test_report_needs_its_text_attributes(service):
    """A blank title, enterprise, industry or source is invalid input naming it."""
    for name in ["title", "enterprise", "industry", "source"]:
        with pytest.raises(InvalidInput) as caught:
            report(service, **{name: "  "})
        assert caught.value.field == name


def test_nothing_is_stored_for_a_refused_report(service, store):
    """A refused report creates no case and uses up no case number."""
    with pytest.raises(PermissionDenied):
        report(service, actor="far")
    with pytest.raises(InvalidInput):
        report(service, region="1")
    assert service.queries.cases().cases == []
    assert report(service).id == "HZ-2026-000001"


# -- refusals change nothing -------------------------------------------------------------------------------

def test_a_refused_command_changes_nothing(service, store):
    """Refusals of every kind leave the case row, its history and its rung rows exactly as they were."""
    case = report(service)
    run_to(service, case.id, "verifying")
    before = snapshot(store, case.id)
    attempts = [
        (Refused, lambda: service.commands.advance_case(case.id, "start", actor="ent")),                       # state
        (Refused, lambda: service.commands.advance_case(case.id, "verify", actor="zhang")),                    # requires
        (PermissionDenied, lambda: service.commands.advance_case(case.id, "verify", actor="ent", fields={"opinion": "x"})),
        (PermissionDenied, lambda: service.commands.advance_case(case.id, "verify", actor="far", fields={"opinion": "x"})),
        (Refused, lambda: service.commands.advance_case(case.id, "close", actor="li")),                         # state
        (Refused, lambda: service.commands.advance_case(case.id, "reopen", actor="li")),                        # state
        (InvalidInput, lambda: service.commands.advance_case(case.id, "verify", actor="zhang", fields={"colour": "red"})),
        (Conflict, lambda: service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "x"},
                                                expected_version=2)),
    ]
    for error, attempt in attempts:
        with pytest.raises(error):
            attempt()
        assert snapshot(store, case.id) == before


def test_separation_of_duties_refusal_changes_nothing(service, store):
    """The supervisor who submitted may not verify; the refusal names the rule and writes nothing."""
    case = report(service)
    run_to(service, case.id, "rectifying")
    rectified(service.commands, case.id, actor="zhang")
    service.commands.advance_case(case.id, "submit", actor="zhang")
    before = snapshot(store, case.id)
    with pytest.raises(Refused) as caught:
        service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "整改到位"})
    assert caught.value.rule == "actor_differs_from" and caught.value.case_id == case.id
    assert snapshot(store, case.id) == before
    assert service.commands.advance_case(case.id, "verify", actor="liu", fields={"opinion": "整改到位"}).state == "verified"


def test_expected_version_conflict(service):
    """Advancing with the version one looked at succeeds; with an older one raises Conflict naming both."""
    case = report(service)
    assigned = service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE, expected_version=1)
    assert assigned.version == 2
    with pytest.raises(Conflict) as caught:
        service.commands.advance_case(case.id, "start", actor="ent", expected_version=1)
    assert caught.value.case_id == case.id and caught.value.expected_version == 1
    assert caught.value.exit_code == 6
    assert service.queries.case(case.id).version == 2


# -- paths through the workflows ---------------------------------------------------------------------------

def test_reject_sends_the_case_back_to_rectifying(service):
    """A failed verification returns the case to rectifying; after a new submission it can be verified."""
    case = report(service)
    run_to(service, case.id, "verifying")
    back = service.commands.advance_case(case.id, "reject", actor="zhang", fields={"opinion": "报警装置未联动"})
    assert back.state == "rectifying" and back.fields["opinion"] == "报警装置未联动"
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    done = service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "整改到位"})
    assert done.state == "verified" and done.fields["opinion"] == "整改到位"
    assert [(e.trigger, e.from_state, e.to_state) for e in service.queries.history(case.id)][3:] == [
        ("attach", "rectifying", "rectifying"), ("submit", "rectifying", "verifying"),
        ("reject", "verifying", "rectifying"), ("attach", "rectifying", "rectifying"),
        ("submit", "rectifying", "verifying"), ("verify", "verifying", "verified")]


def test_whoever_submitted_last_is_the_one_who_cannot_verify(service):
    """After zhang submits, is rejected by liu and the enterprise resubmits, zhang may verify."""
    case = report(service)
    run_to(service, case.id, "rectifying")
    rectified(service.commands, case.id, actor="zhang")
    service.commands.advance_case(case.id, "submit", actor="zhang")
    service.commands.advance_case(case.id, "reject", actor="liu", fields={"opinion": "不合格"})
    rectified(service.commands, case.id, actor="ent")
    service.commands.advance_case(case.id, "submit", actor="ent")
    assert service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "合格"}).state == "verified"


def test_general_hazard_fixed_on_the_spot(service):
    """A general hazard fixed on the spot goes reported -> verifying -> closed, verified by someone else."""
    case = report(service, workflow="general-hazard", level="general", actor="wang")
    fixed = service.commands.advance_case(case.id, "fix", actor="ent", fields={"measures": "当场更换灭火器"})
    assert fixed.state == "verifying"
    closed = service.commands.advance_case(case.id, "verify", actor="wang", fields={"opinion": "已整改"})
    assert closed.state == "closed" and closed.is_final and closed.closed_at == closed.updated_at


def test_general_hazard_fixer_may_not_verify(service):
    """The inspector who fixed a general hazard on the spot may not also verify it."""
    case = report(service, workflow="general-hazard", level="general", actor="wang")
    service.commands.advance_case(case.id, "fix", actor="wang", fields={"measures": "当场整改"})
    with pytest.raises(Refused) as caught:
        service.commands.advance_case(case.id, "verify", actor="wang", fields={"opinion": "已整改"})
    assert caught.value.rule == "actor_differs_from"


def test_general_hazard_with_a_deadline(service):
    """A general hazard assigned with a deadline is rectified, submitted and closed after a check."""
    case = report(service, workflow="general-hazard", level="general", actor="wang")
    service.commands.advance_case(case.id, "assign", actor="wang",
                         fields={"responsible_person": "赵六", "measures": "修复护栏", "deadline": "2026-03-10"})
    service.commands.advance_case(case.id, "submit", actor="ent")
    assert service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "ok"}).state == "closed"


def test_closed_case_cannot_be_moved(service):
    """Every trigger on a closed case is refused by the state rule."""
    case = report(service)
    run_to(service, case.id, "closed")
    for trigger in ("assign", "start", "submit", "verify", "reject", "close"):
        with pytest.raises(Refused) as caught:
            service.commands.advance_case(case.id, trigger, actor="li", fields={})
        assert caught.value.rule == "state"


def test_history_chain_verifies_after_the_loop(service):
    """The stored history of a closed case verifies against the case's head."""
    case = report(service)
    final = run_to(service, case.id, "closed")
    assert list(verify_chain(service.queries.history(case.id), head=(final.version, final.last_hash))) == []


# -- lists -------------------------------------------------------------------------------------------------

@pytest.fixture
def spread(service):
    """Cases in several states, regions and levels."""
    a = report(service)                                               # 371721 major, reported
    b = report(service)
    run_to(service, b.id, "assigned")                                 # deadline 2026-04-30
    c = report(service, workflow="general-hazard", level="general")   # general, reported
    service.commands.add_user("henan", roles=["supervisor"], regions=["41"], actor="li")
    d = report(service, actor="henan", region="410102")
    e = report(service)
    run_to(service, e.id, "closed")                                   # closed, deadline passed later
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "e": e.id}


def ids(found):
    return {c.id for c in found}


def test_list_filters_by_state_level_and_region_prefix(service, spread):
    """case list filters by state, level and region prefix (37 a province, 3717 a city, 371700 = 3717)."""
    s = spread
    assert ids(service.queries.cases(state="assigned").cases) == {s["b"]}
    assert ids(service.queries.cases(level="general").cases) == {s["c"]}
    assert ids(service.queries.cases(region="37").cases) == {s["a"], s["b"], s["c"], s["e"]}
    assert ids(service.queries.cases(region="371700").cases) == ids(service.queries.cases(region="3717").cases)
    assert ids(service.queries.cases(region="371721").cases) == {s["a"], s["b"], s["c"], s["e"]}
    assert ids(service.queries.cases(region="4101").cases) == {s["d"]}
    assert ids(service.queries.cases(region="3716").cases) == set()
    assert ids(service.queries.cases(state="reported", level="major", region="37").cases) == {s["a"]}
    assert [c.id for c in service.queries.cases().cases] == sorted(s.values())


def test_list_refuses_a_malformed_region(service):
    """A region filter that is not 2, 4 or 6 digits is invalid input."""
    with pytest.raises(InvalidInput):
        service.queries.cases(region="371").cases


def test_overdue_is_judged_at_the_engine_time(service, clock, spread):
    """A case due 2026-04-30 is not overdue at 23:59 that day, is overdue at midnight; closed cases never are."""
    assert ids(service.queries.cases(overdue=True).cases) == set()
    clock.at = parse_time("2026-04-30T23:59")
    assert ids(service.queries.cases(overdue=True).cases) == set()
    clock.at = parse_time("2026-05-01T00:00")
    assert ids(service.queries.cases(overdue=True).cases) == {spread["b"]}
    assert service.queries.case(spread["b"]).overdue(clock.now())
    assert not service.queries.case(spread["e"]).overdue(clock.now())


def test_extending_the_deadline_takes_a_case_off_the_overdue_list(service, clock, spread):
    """After the deadline is extended to 2026-05-31 the case is not overdue on 2026-05-01 any more."""
    clock.at = parse_time("2026-05-01T09:00")
    service.commands.extend_deadline(spread["b"], actor="zhang", until="2026-05-31", reason="设备到货延迟")
    assert ids(service.queries.cases(overdue=True).cases) == {spread["b"]}  # applied for, not yet decided
    extended = service.commands.decide(spread["b"], "extension", "approve", actor="liu", reason="同意")
    assert extended.deadline == "2026-05-31" and extended.version == 4
    assert ids(service.queries.cases(overdue=True).cases) == set()
    assert service.queries.history(spread["b"])[-1].data["previous"] == "2026-04-30"


def test_the_limit_is_respected(service, spread):
    """list_cases with a limit returns the first cases by id."""
    assert [c.id for c in service.queries.cases(limit=2).cases] == sorted(spread.values())[:2]
