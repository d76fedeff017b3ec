"""Enterprise users bound to one enterprise (issue 19, "Who sees what"): the binding is a grant of the users' log,
read as a name or a unified social credit code (GB 32100-2015), shown by `user list`, checked on every command on
a case and by replay. Each database test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import string

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st
from sqlalchemy import update

from cli.main import cli
from engine.domain.enterprises import CODE_CHARS, check_character, read_binding, read_credit_code
from engine.domain.errors import InvalidInput, PermissionDenied, TamperDetected
from engine.store.tables import users
from tests.conftest import FIVE, rectified, report, run_to

OWN, OTHER = "某化工有限公司", "另一化工有限公司"
CODE = "91350100M000100Y43"   # a code with a valid check character (GB 32100-2015's sample layout)


# -- the credit code and the binding, as typed -----------------------------------------------------------------------
codes = st.text(alphabet=CODE_CHARS, min_size=17, max_size=17).map(lambda body: body + check_character(body))


def test_known_codes_check_and_a_mistyped_one_is_named():
    assert read_credit_code(CODE) == CODE
    assert read_credit_code("91110000600037341L") == "91110000600037341L"
    with pytest.raises(InvalidInput) as caught:
        read_credit_code("91110000600037341X")
    assert "check character is 'X'" in caught.value.message and "'L'" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        read_binding("9111000060003734")  # two characters short: a code, not a name
    assert "16 characters" in caught.value.message and caught.value.rule == "credit-code"


@given(codes, st.sampled_from(["plain", "lower", "wide", "padded"]))
def test_every_valid_code_is_read_back_as_written_however_it_is_typed(code, form):
    """Lower case, full-width characters and surrounding spaces fold to the code's own form."""
    typed = {"plain": code, "lower": code.lower(), "padded": f"  {code} ",
             "wide": "".join(chr(ord(c) + 0xFEE0) for c in code)}[form]
    assert read_binding(typed) == code


@given(codes, st.integers(0, 17), st.sampled_from(CODE_CHARS))
def test_any_single_mistyped_character_is_refused(code, position, char):
    """31 is prime and no weight is 0 mod 31: one character changed anywhere always fails the check."""
    if code[position] == char:
        return
    typo = code[:position] + char + code[position + 1:]
    with pytest.raises(InvalidInput):
        read_credit_code(typo)


@settings(max_examples=300)
@given(st.text(max_size=40) | st.text(alphabet=string.ascii_letters + string.digits + "IOZSV", min_size=15,
                                     max_size=21))
def test_a_binding_is_a_name_a_code_or_invalid_input(raw):
    """Whatever is typed: a code (18 characters of the code's set, checked), a name as a case keeps it (trimmed),
    or InvalidInput naming the enterprise; never another error."""
    try:
        read = read_binding(raw)
    except InvalidInput as exc:
        assert exc.field == "enterprise"
        return
    assert read == raw.strip() or (len(read) == 18 and read_credit_code(read) == read)


# -- the binding as a grant ------------------------------------------------------------------------------------------
@pytest.fixture
def hz(seeded_url):
    def invoke(*args, actor=None):
        head = ["--db", seeded_url] + (["--actor", actor] if actor else [])
        return CliRunner().invoke(cli, head + list(args))
    return invoke


def test_user_add_binds_user_list_shows_it_and_the_log_records_it(hz):
    """`user add NAME --role enterprise --region CODE --enterprise E`: `user list` has column and key `enterprise`
    (null for an unbound user), `user log` the grant's data, and `audit verify` agrees with the tables."""
    added = hz("--json", "user", "add", "ent-a", "--role", "enterprise", "--region", "371721", "--enterprise",
               f" {OWN} ", actor="li")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["enterprise"] == OWN
    listed = {u["name"]: u for u in json.loads(hz("--json", "user", "list").stdout)}
    assert listed["ent-a"]["enterprise"] == OWN and listed["ent"]["enterprise"] is None
    table = hz("user", "list", "--wide").stdout
    assert "enterprise" in table.splitlines()[0] and OWN in table
    log = json.loads(hz("--json", "user", "log").stdout)
    assert (log[-1]["action"], log[-1]["subject"], log[-1]["data"]) == ("add", "ent-a", {"enterprise": OWN})
    assert OWN in hz("user", "log", "--wide").stdout
    assert hz("user", "change", "ent-a", "--enterprise", CODE.lower(), actor="li").exit_code == 0
    assert hz("user", "change", "ent-a", "--no-enterprise", actor="li").exit_code == 0
    log = json.loads(hz("--json", "user", "log").stdout)
    assert [g["data"] for g in log[-2:]] == [{"enterprise": CODE}, {}]
    assert {u["name"]: u for u in json.loads(hz("--json", "user", "list").stdout)}["ent-a"]["enterprise"] is None
    assert hz("audit", "verify").exit_code == 0


def test_a_binding_is_for_enterprise_users_and_is_granted_by_the_committee(hz):
    """A supervisor cannot be bound (exit 2); nobody but the committee binds (exit 4); a bad code exits 2 and
    `--enterprise ''` is a usage error, never an unbinding."""
    result = hz("--json", "user", "add", "sup-x", "--role", "supervisor", "--region", "3717", "--enterprise", OWN,
                actor="li")
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["rule"] == "enterprise-role"
    assert hz("user", "change", "ent", "--enterprise", OWN, actor="zhang").exit_code == 4
    assert hz("user", "change", "ent", "--enterprise", "91350100M000100Y44", actor="li").exit_code == 2
    assert hz("user", "change", "ent", "--enterprise", "", actor="li").exit_code == 2
    assert hz("user", "change", "ent", "--enterprise", OWN, "--no-enterprise", actor="li").exit_code == 2
    assert hz("user", "change", "ent", "--enterprise", OWN, actor="li").exit_code == 0
    result = hz("--json", "user", "change", "ent", "--role", "inspector", actor="li")
    assert result.exit_code == 2 and "unbind" in json.loads(result.stdout)["error"]["message"]
    assert hz("user", "change", "ent", "--role", "inspector", "--no-enterprise", actor="li").exit_code == 0


# -- a bound user acts on its own enterprise's cases only --------------------------------------------------------------
def bind(service, name: str, enterprise: str, region: str = "371721"):
    return service.commands.add_user(name, roles=["enterprise"], regions=[region], actor="li", enterprise=enterprise)


def test_a_bound_user_cannot_advance_another_enterprises_case_in_the_same_county(service):
    """ent-b, bound to 另一化工, may not start 某化工's rectification (exit 4, rule enterprise); nothing is written."""
    bind(service, "ent-b", OTHER)
    case = run_to(service, report(service).id, "assigned")
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(case.id, "start", actor="ent-b")
    assert caught.value.rule == "enterprise" and caught.value.exit_code == 4
    assert OTHER in caught.value.message and case.id in caught.value.message
    assert service.queries.case(case.id).version == case.version


def test_a_bound_user_acts_on_its_own_enterprises_cases(service):
    """ent-a, bound to 某化工, reports, starts and submits its case; the same report for another enterprise is
    refused, as are an extension and a report of another's."""
    bind(service, "ent-a", OWN)
    case = report(service, actor="ent-a")
    assert case.enterprise == OWN
    with pytest.raises(PermissionDenied) as caught:
        report(service, actor="ent-a", enterprise=OTHER)
    assert caught.value.rule == "enterprise"
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    service.commands.advance_case(case.id, "start", actor="ent-a")
    rectified(service.commands, case.id, actor="ent-a")
    assert service.commands.advance_case(case.id, "submit", actor="ent-a").state == "verifying"
    theirs = run_to(service, report(service, enterprise=OTHER).id, "rectifying")
    with pytest.raises(PermissionDenied):
        service.commands.extend_deadline(theirs.id, actor="ent-a", until="2026-05-20", reason="设备到货延迟")


def test_an_unbound_enterprise_user_keeps_its_region_wide_reach(service):
    """`ent` (unbound, as every enterprise user of an existing database) starts any enterprise's case of 371721."""
    case = run_to(service, report(service, enterprise=OTHER).id, "assigned")
    assert service.commands.advance_case(case.id, "start", actor="ent").state == "rectifying"


def _coded_workflow(service) -> str:
    """The general-hazard workflow with a `credit_code` field the report sets, installed as `coded-hazard`."""
    from pathlib import Path
    text = (Path(__file__).parent.parent / "workflows" / "general-hazard.yaml").read_text(encoding="utf-8")
    assert "credit_code" not in text  # the built-in workflows record no code: bind by name there
    text = text.replace("workflow: general-hazard", "workflow: coded-hazard") \
        .replace("  opinion:            {type: text,   label: 复查意见}",
                 "  opinion:            {type: text,   label: 复查意见}\n  credit_code: {type: text, label: 统一社会信用代码}") \
        .replace("  sets: [deadline, responsible_person, responsible_unit, department]",
                 "  sets: [deadline, responsible_person, responsible_unit, department, credit_code]")
    service.commands.install_definition(text, "coded-hazard.yaml", actor="li")
    return "coded-hazard"


def test_a_user_bound_by_credit_code_acts_where_a_case_records_that_code(service):
    """A workflow with a `credit_code` field: a user bound by code acts on the cases recording that code, whatever
    name they give, and on no other."""
    workflow = _coded_workflow(service)
    bind(service, "ent-c", CODE.lower())
    ours = report(service, actor="ent", workflow=workflow, level="general", enterprise="某化工公司（简称）",
                  fields={"credit_code": CODE})
    theirs = report(service, actor="ent", workflow=workflow, level="general", enterprise=OWN,
                    fields={"credit_code": "91110000600037341L"})
    assert service.commands.advance_case(ours.id, "fix", actor="ent-c", fields={"measures": "已加装"}).state == \
        "verifying"
    with pytest.raises(PermissionDenied) as caught:
        service.commands.advance_case(theirs.id, "fix", actor="ent-c", fields={"measures": "已加装"})
    assert caught.value.rule == "enterprise"
    assert [c.id for c in service.queries.cases(actor="ent-c").cases] == [ours.id]  # reads alike, in SQL
    assert service.reports.stats(actor="ent-c").total.counts.found == 1


def test_the_auditor_is_refused_every_write(service):
    """The auditor reads and fires nothing: report, advance, extend, void, decide are refused (exit 4)."""
    case = run_to(service, report(service).id, "rectifying")
    attempts = [
        lambda: report(service, actor="audit"),
        lambda: service.commands.advance_case(case.id, "submit", actor="audit"),
        lambda: service.commands.extend_deadline(case.id, actor="audit", until="2026-05-20", reason="r"),
        lambda: service.commands.void_case(case.id, actor="audit", reason="r"),
        lambda: service.commands.correct_case(case.id, actor="audit", changes={"title": "x"}, reason="r"),
        lambda: service.commands.add_user("x1", roles=["auditor"], regions=["37"], actor="audit"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert service.queries.case(case.id).version == case.version


def test_a_binding_set_in_the_users_table_alone_is_refused(service):
    """Binding or unbinding a user by editing `app_user.enterprise` grants nothing: exit 10, verify names it."""
    bind(service, "ent-a", OWN)
    case = run_to(service, report(service, enterprise=OTHER).id, "assigned")
    with service.store.write() as conn:
        conn.execute(update(users).where(users.c.name == "ent-a").values(enterprise=None))
    with pytest.raises(TamperDetected):
        service.commands.advance_case(case.id, "start", actor="ent-a")
    assert any("ent-a" in b.problem for b in service.audit.verify().breaks)


def test_replay_names_a_step_signed_by_a_user_bound_to_another_enterprise_then(service):
    """A re-hashed log whose `start` is signed by ent-b, bound to another enterprise when it was recorded: verify
    passes the chain, replay names the event."""
    from tests.test_tamper_load import _resign
    bind(service, "ent-b", OTHER)
    case = run_to(service, report(service).id, "verified")  # #3 start by ent
    _resign(service, case.id, 3, actor="ent-b")
    assert service.audit.verify().breaks == []
    problems = dict(service.audit.replay_all().disagreements)[case.id]
    assert any("#3" in p and f"acted for {OTHER} only" in p for p in problems), problems


def test_import_by_a_bound_user_takes_its_own_enterprises_rows_only():
    """The ledger's row checker: a bound user's own ledger is its enterprise's, whatever most rows name."""
    from datetime import datetime, timezone

    from engine.domain.actor import Actor
    from engine.ledger.checks import RowChecker

    class Row:
        valid = True

        def __init__(self, enterprise):
            self.values = {"enterprise": enterprise, "region": "371721", "source": "自查", "industry": "危险化学品"}

    rows = [Row(OTHER), Row(OTHER), Row(OWN)]
    who = Actor("ent-a", ("enterprise",), ("371721",), OWN)
    checker = RowChecker(actor=who, role="enterprise", now=datetime(2026, 3, 2, tzinfo=timezone.utc), headers={},
                         rows=rows)
    assert checker.check(rows[2].values) == ([], False)
    problems, permission = checker.check(rows[0].values)
    assert permission and "acts for" in problems[0]


def test_a_disabled_bound_user_comes_back_bound(service):
    """`enable` gives back the binding the user had: the grant carries it, the table and the log agree."""
    bind(service, "ent-a", OWN)
    service.commands.disable_user("ent-a", actor="li")
    assert service.commands.enable_user("ent-a", actor="li").enterprise == OWN
    assert {u.name: u.enterprise for u in service.queries.users()}["ent-a"] == OWN
    case = run_to(service, report(service, enterprise=OTHER).id, "assigned")
    with pytest.raises(PermissionDenied):
        service.commands.advance_case(case.id, "start", actor="ent-a")
    assert service.audit.verify().breaks == []
