"""Reads are scoped like writes (issue 19, "Who sees what"): every read of the application takes `actor`; a named
reader sees the cases of their regions and, bound to an enterprise, of that enterprise; a case outside is NotFound
(exit 5, the message of a case that does not exist) and absent from every list, count, report and export. Without
an actor a read is unscoped, as before. Each test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.domain.errors import NotFound, PermissionDenied
from tests.conftest import FIVE

OWN, OTHER = "某化工有限公司", "另一化工有限公司"
WHEN = "2026-03-20T09:00"


@pytest.fixture
def scoped(db_url, clock):
    """A register over Jiangsu (32) and Shandong (37): nj supervises 3201, zhang 3717, audit audits 37; in county
    371721 ent-a acts for 某化工, ent-b for 另一化工, ent for either (unbound). Cases: two of 某化工 and one of
    另一化工 in 371721 (one of 某化工 assigned, so it has rungs), and one in 320102."""
    from engine.app import Engine
    from engine.store.database import Store
    engine = Engine(Store(db_url), clock=clock, trust_backdating=True)
    engine.init(admin="li", admin_regions=("32", "37"))
    add = engine.commands.add_user
    add("nj", roles=["supervisor"], regions=["3201"], actor="li")
    add("zhang", roles=["supervisor"], regions=["3717"], actor="li")
    add("audit", roles=["auditor"], regions=["37"], actor="li")
    add("ent", roles=["enterprise"], regions=["371721"], actor="li")
    add("ent-a", roles=["enterprise"], regions=["371721"], actor="li", enterprise=OWN)
    add("ent-b", roles=["enterprise"], regions=["371721"], actor="li", enterprise=OTHER)

    def report(actor, enterprise, region="371721", title="液氨储罐区未设置泄漏报警装置"):
        return engine.commands.report_case(actor=actor, workflow="major-hazard", title=title, enterprise=enterprise,
                                           region=region, industry="危险化学品", level="major", source="inspection")
    cases = {"own": report("ent-a", OWN), "own2": report("ent-a", OWN, title="配电箱未接地"),
             "other": report("ent-b", OTHER), "nanjing": report("nj", "南京某化工有限公司", region="320102")}
    cases["own"] = engine.commands.advance_case(cases["own"].id, "assign", actor="zhang", fields=FIVE)
    engine.ids, engine.url = {k: c.id for k, c in cases.items()}, db_url
    yield engine
    engine.close()


def listed(engine, actor, **filters) -> set[str]:
    return {c.id for c in engine.queries.cases(actor=actor, **filters).cases}


def test_a_case_outside_the_readers_regions_is_not_found_like_one_that_does_not_exist(scoped):
    """nj (3201) asking for a case of 3717 gets NotFound with the very message of a case that does not exist, from
    every read of one case; zhang reads it."""
    case_id, ghost = scoped.ids["own"], "HZ-2026-999999"
    with pytest.raises(NotFound) as missing:
        scoped.queries.case(ghost, actor="nj")
    reads = [
        lambda i: scoped.queries.case(i, actor="nj"),
        lambda i: scoped.queries.case_view(i, actor="nj"),
        lambda i: scoped.queries.history(i, actor="nj"),
        lambda i: scoped.queries.case_as_of(i, WHEN, actor="nj"),
        lambda i: scoped.queries.escalation_list(case_id=i, actor="nj"),
        lambda i: scoped.audit.replay_case(i, actor="nj"),
        lambda i: scoped.audit.trace_case(i, actor="nj"),
        lambda i: scoped.audit.dossier(i, actor="nj"),
    ]
    for read in reads:
        with pytest.raises(NotFound) as caught:
            read(case_id)
        assert caught.value.message == missing.value.message.replace(ghost, case_id)
        assert (caught.value.kind, caught.value.exit_code) == ("case", 5)
    assert scoped.queries.case_view(case_id, actor="zhang").case.id == case_id
    assert len(scoped.queries.history(case_id, actor="zhang")) == 2
    assert scoped.audit.trace_case(case_id, actor="zhang")[0].id == case_id


def test_lists_counts_reports_and_exports_leave_out_what_the_reader_may_not_see(scoped, tmp_path):
    """nj's register, figures, lists, bulletin, ranking, escalations and export hold Nanjing's case only; zhang's
    and the unscoped reads hold Heze's too."""
    ids = scoped.ids
    heze = {ids["own"], ids["own2"], ids["other"]}
    assert listed(scoped, "nj") == {ids["nanjing"]}
    assert listed(scoped, "nj", region="3717") == set()
    assert listed(scoped, "zhang") == heze
    assert listed(scoped, None) == heze | {ids["nanjing"]}
    assert {c.id for c in scoped.queries.cases(actor="nj", as_of=WHEN).cases} == {ids["nanjing"]}
    page = scoped.queries.cases(actor="zhang", limit=1)
    assert page.total == 3 and len(page.cases) == 1

    reports = scoped.reports
    assert reports.stats(actor="nj").total.counts.found == 1
    assert reports.stats(actor="zhang").total.counts.found == 3
    assert reports.stats(actor="nj", region="3717", by=["county"]).total.counts.found == 0
    assert reports.stats(actor="nj", as_of=WHEN).total.counts.found == 1
    assert reports.stats().total.counts.found == 4
    counted = lambda report: sum(entry["count"] for entry in report.as_dict()["lists"])  # noqa: E731
    assert counted(reports.lists(actor="nj", region="3717")) == 0
    assert counted(reports.lists(actor="zhang", region="3717")) > 0
    bulletin = reports.bulletin(period="month", date="2026-03-31", region="3717", actor="nj").as_dict()
    assert bulletin["totals"]["found"] == 0
    assert reports.bulletin(period="month", date="2026-03-31", region="3717", actor="zhang").as_dict()[
        "totals"]["found"] == 3
    from pathlib import Path
    weights = (Path(__file__).parent.parent / "docs" / "examples" / "weights.yaml").read_text(encoding="utf-8")
    found = lambda actor: {row["group"]: row["values"]["found"] for row in reports.ranking(  # noqa: E731
        weights=weights, by="region", region="3717", actor=actor).as_dict()["rows"]}
    assert set(found("nj").values()) <= {0} and found("zhang").get("371721") == 3

    rungs = lambda actor: {r.case_id for r in scoped.queries.escalation_list(actor=actor)[0]}  # noqa: E731
    assert rungs("nj") == {ids["nanjing"]} and rungs("zhang") == heze and rungs(None) == heze | {ids["nanjing"]}

    from engine.ledger.app_export import export_register
    assert export_register(scoped, tmp_path / "nj.csv", actor="nj").rows == 1
    assert export_register(scoped, tmp_path / "zhang.csv", actor="zhang").rows == 3
    assert export_register(scoped, tmp_path / "all.csv").rows == 4


def test_a_bound_enterprise_user_sees_its_own_cases_only_and_an_unbound_one_its_county(scoped):
    ids = scoped.ids
    assert listed(scoped, "ent-a") == {ids["own"], ids["own2"]}
    assert listed(scoped, "ent-b") == {ids["other"]}
    assert listed(scoped, "ent") == {ids["own"], ids["own2"], ids["other"]}
    with pytest.raises(NotFound):
        scoped.queries.case(ids["other"], actor="ent-a")
    assert scoped.queries.case(ids["other"], actor="ent").id == ids["other"]
    assert scoped.reports.stats(actor="ent-a").total.counts.found == 2
    assert scoped.reports.stats(actor="ent-b", by=["enterprise"]).as_dict()["rows"][0]["enterprise"] == OTHER
    assert {r.case_id for r in scoped.queries.escalation_list(actor="ent-b")[0]} == {ids["other"]}


def test_the_auditor_reads_all_its_regions_and_verifies_them(scoped):
    """audit (37) reads every case of Shandong, none of Jiangsu; verify is an auditor's or the committee's: a
    supervisor is refused (exit 4) and the auditor's verify counts its own region's cases."""
    ids = scoped.ids
    assert listed(scoped, "audit") == {ids["own"], ids["own2"], ids["other"]}
    assert scoped.audit.dossier(ids["other"], actor="audit")
    with pytest.raises(NotFound):
        scoped.audit.dossier(ids["nanjing"], actor="audit")
    report = scoped.audit.verify(actor="audit")
    assert report.breaks == [] and report.tally.cases == 3
    assert scoped.audit.verify().tally.cases == 4
    with pytest.raises(PermissionDenied):
        scoped.audit.verify(actor="zhang")
    assert scoped.audit.replay_all(actor="nj").cases == 1


def test_an_unknown_or_disabled_reader_is_refused_and_none_reads_everything(scoped):
    with pytest.raises(PermissionDenied) as caught:
        scoped.queries.cases(actor="ghost")
    assert caught.value.rule == "registered"
    scoped.commands.disable_user("nj", actor="li")
    with pytest.raises(PermissionDenied) as caught:
        scoped.reports.stats(actor="nj")
    assert caught.value.rule == "disabled"
    assert len(listed(scoped, None)) == 4


def test_the_store_and_the_rule_agree_on_every_case_for_every_reader(scoped):
    """`within_reach` (SQL) and `Reach.covers_case` (the rule in Python) give the same cases for each reader."""
    from engine.domain.reach import Reach
    every = scoped.queries.cases().cases
    for user in scoped.queries.users():
        reach = Reach.of(user)
        assert listed(scoped, user.name) == {c.id for c in every if reach.covers_case(c)}, user.name


# -- the command line --------------------------------------------------------------------------------------------
def hazard(engine, *args, env=None):
    return CliRunner(env=env or {}).invoke(cli, ["--db", engine.url, "--now", WHEN, *args])


def test_the_command_line_scopes_reads_given_actor(scoped):
    """`hazard --actor nj case show` of a Heze case exits 5 as for no case at all; `case list`, `report stats`
    and `export` with --actor are nj's; without --actor they read everything."""
    ids = scoped.ids
    outside = hazard(scoped, "--actor", "nj", "case", "show", ids["own"])
    ghost = hazard(scoped, "--actor", "nj", "case", "show", "HZ-2026-999999")
    assert outside.exit_code == ghost.exit_code == 5
    assert outside.stderr.replace(ids["own"], "X") == ghost.stderr.replace("HZ-2026-999999", "X")
    mine = json.loads(hazard(scoped, "--actor", "nj", "--json", "case", "list").stdout)
    assert [c["id"] for c in mine] == [ids["nanjing"]]
    assert len(json.loads(hazard(scoped, "--json", "case", "list").stdout)) == 4
    stats = json.loads(hazard(scoped, "--actor", "ent-a", "--json", "report", "stats").stdout)
    assert stats["total"]["found"] == 2
    assert hazard(scoped, "--actor", "zhang", "audit", "verify").exit_code == 4
    assert hazard(scoped, "--actor", "audit", "audit", "verify").exit_code == 0
    assert hazard(scoped, "--actor", "ent-a", "case", "history", ids["other"]).exit_code == 5


def test_a_read_with_actor_needs_the_users_token_where_tokens_are_required(scoped):
    """On a database that requires tokens, `--actor zhang case list` is refused without zhang's token (exit 4),
    answers with it, and a read without --actor needs none (unscoped, the operator's shell)."""
    token = scoped.commands.issue_token("li", actor="li")[0].text
    assert hazard(scoped, "--actor", "li", "init", "--require-token", env={"HAZARD_TOKEN": token}).exit_code == 0
    zhang = scoped.commands.issue_token("zhang", actor="zhang")[0].text
    assert hazard(scoped, "--actor", "zhang", "case", "list").exit_code == 4
    answered = hazard(scoped, "--actor", "zhang", "--json", "case", "list", env={"HAZARD_TOKEN": zhang})
    assert answered.exit_code == 0 and len(json.loads(answered.stdout)) == 3
    assert hazard(scoped, "case", "list").exit_code == 0
