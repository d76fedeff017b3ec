"""The register as offices search it: every filter, sort and page, on today's rows and as of a moment alike."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cli.main import cli
from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput
from tests.conftest import FIVE, report, run_to


@pytest.fixture
def register(service, clock):
    """Five cases over a fortnight: different enterprises, industries, sources, responsible people, deadlines."""
    made = {}
    specs = [("a", "某化工有限公司", "危险化学品", "inspection", "液氨储罐泄漏报警", "王五", "2026-04-30"),
             ("b", "某木业有限公司", "工贸", "self_check", "粉尘涉爆除尘系统", "赵六", "2026-04-15"),
             ("c", "另一化工厂", "危险化学品", "unannounced", "反应釜温度联锁缺失", "孙七", "2026-05-31"),
             ("d", "某食品有限公司", "工贸", "whistleblower", "有限空间作业未审批", None, None),
             ("e", "某建筑公司", "建筑施工", "inspection", "高支模未验收", "李八", "2026-03-31")]
    for day, (key, enterprise, industry, source, title, person, deadline) in enumerate(specs):
        clock.at = parse_time(f"2026-03-{2 + 3 * day:02d}T09:00")
        case = report(service, enterprise=enterprise, industry=industry, source=source, title=title)
        if person:
            run_to(service, case.id, "rectifying", fields={**FIVE, "responsible_person": person,
                                                           "responsible_unit": enterprise, "deadline": deadline})
        made[key] = case.id
    clock.at = parse_time("2026-04-20T09:00")
    return made


def found(service, **filters):
    return [c.id for c in service.queries.cases(**filters).cases]


def test_each_filter_narrows_the_register(service, register):
    """Enterprise and titles by substring, industry and source by their words, people and units by substring."""
    r = register
    assert found(service, enterprise="化工") == [r["a"], r["c"]]
    assert found(service, industry="危化品") == [r["a"], r["c"]]            # an alias of 危险化学品
    assert found(service, source="inspection") == [r["a"], r["e"]]
    assert found(service, responsible_person="赵") == [r["b"]]
    assert found(service, responsible_unit="木业") == [r["b"]]
    assert found(service, search="联锁") == [r["c"]]
    assert found(service, found_from="2026-03-05", found_to="2026-03-11") == [r["b"], r["c"], r["d"]]
    assert found(service, deadline_before="2026-04-30") == [r["b"], r["e"]]
    assert found(service, overdue=True) == [r["b"], r["e"]]                   # at 2026-04-20
    assert found(service, industry="工贸", overdue=True) == [r["b"]]


def test_sorting_and_paging(service, register):
    """--sort FIELD / -FIELD orders the register (no deadline last); limit and offset page it; total counts all."""
    r = register
    assert found(service, sort="deadline") == [r["e"], r["b"], r["a"], r["c"], r["d"]]
    assert found(service, sort="-found_at") == [r["e"], r["d"], r["c"], r["b"], r["a"]]
    page = service.queries.cases(sort="deadline", limit=2, offset=1)
    assert [c.id for c in page.cases] == [r["b"], r["a"]] and page.total == 5 and page.more == 2
    with pytest.raises(InvalidInput) as caught:
        service.queries.cases(sort="colour")
    assert caught.value.field == "sort" and "deadline" in caught.value.message


def test_the_same_filters_apply_as_of_a_moment(service, register):
    """The register as it stood on 2026-03-10, filtered and sorted the same way: later cases are not there yet."""
    r = register
    moment = "2026-03-10T12:00"
    assert found(service, as_of=moment) == [r["a"], r["b"], r["c"]]
    assert found(service, as_of=moment, enterprise="化工", sort="-id") == [r["c"], r["a"]]
    assert found(service, as_of=moment, responsible_person="孙") == [r["c"]]
    assert found(service, as_of="2026-04-20T09:00", overdue=True) == found(service, overdue=True)
    assert found(service, as_of=moment, industry="工贸", limit=1) == [r["b"]]


def test_a_table_shows_100_and_says_how_many_more_while_json_gives_all(runner, service, clock):
    """Without --limit the table stops at 100 rows and says so on stderr; --json lists every case."""
    with service.batch() as batch:
        for _ in range(105):
            report(batch)
    url = service.store.url
    table = runner.invoke(cli, ["--db", url, "--now", "2026-03-03", "case", "list"])
    assert table.exit_code == 0 and table.stdout.count("HZ-2026-") == 100
    assert "100 of 105 cases shown; 5 more" in table.stderr
    assert len(json.loads(runner.invoke(cli, ["--db", url, "--json", "case", "list"]).stdout)) == 105
    assert runner.invoke(cli, ["--db", url, "case", "list", "--limit", "3", "--offset", "103"]).stdout.count("HZ-") == 2


def test_cli_filters_reach_the_register(runner, service, register):
    """The CLI's options are the API's filters (spelt with dashes)."""
    url = service.store.url
    out = runner.invoke(cli, ["--db", url, "--json", "--now", "2026-04-20T09:00", "case", "list", "--industry", "工贸",
                              "--responsible-person", "赵", "--found-from", "2026-03-01", "--sort", "-deadline"])
    assert out.exit_code == 0, out.output
    assert [c["id"] for c in json.loads(out.stdout)] == [register["b"]]
    bad = runner.invoke(cli, ["--db", url, "case", "list", "--found-from", "yesterday"])
    assert bad.exit_code == 2 and "--found-from" in bad.stderr  # the option typed, not the field


# -- one definition of overdue, in SQL as in the fold ---------------------------------------------------------

_BASE = parse_time("2026-03-01T00:00")
_moment = st.one_of(st.none(), st.integers(0, 40 * 24).map(lambda h: _BASE + timedelta(hours=h)))
_case = st.fixed_dictionaries({"due_at": _moment, "paused_at": _moment, "met_at": _moment,
                               "rectified_at": _moment, "is_final": st.booleans()})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_case, min_size=1, max_size=12), hours=st.integers(0, 45 * 24))
def test_the_register_s_overdue_is_the_fold_s_overdue(store, specs, hours):
    """`case list --overdue` (the SQL, split in branches for its indexes) picks exactly the cases that
    `Case.overdue` calls overdue, paused ones included, at any moment, on both databases."""
    from sqlalchemy import delete, insert, select

    from engine.domain.case import Case
    from engine.store.case_search import overdue_at
    from engine.store.tables import cases as table

    now = _BASE + timedelta(hours=hours)
    rows = [{"id": f"HZ-2026-{i:06d}", "workflow": "major-hazard", "workflow_version": 1, "state": "rectifying",
             "version": 1, "level": "major", "title": "t", "enterprise": "e", "region": "371721", "industry": "工贸",
             "source": "inspection", "fields": {}, "flags": {}, "signers": {}, "clocks": {}, "fired": [],
             "found_at": _BASE, "created_at": _BASE, "updated_at": _BASE, "last_hash": "0", **spec}
            for i, spec in enumerate(specs, start=1)]
    with store.write() as conn:
        conn.execute(delete(table))
        conn.execute(insert(table), rows)
    with store.read() as conn:
        picked = {r.id for r in conn.execute(select(table.c.id).where(overdue_at(now)))}
    folded = {r["id"] for r in rows if Case(**{k: r[k] for k in ("id", "workflow", "workflow_version", "state",
                                                                  *specs[0])}).overdue(now)}
    assert picked == folded
