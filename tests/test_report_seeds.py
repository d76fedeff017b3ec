"""The seeds' own tables, rebuilt as real cases through the engine, come out of `hazard report stats` as published.

菏泽市, October 2018 (大众网, 2018-11-15): 21,521 found, 18,622 rectified, 86.53%; the committee's member
departments 13,983 / 11,702 = 83.69% (83.7 at one decimal); the counties 7,538 / 6,920 = 91.80%. Henan's
cross-region enforcement to 15 Dec 2020: major hazards 207 found, 117 rectified, 56.52%. Every hazard is
reported, fixed and verified through `engine.batch()` (general hazards: report, fix, verify; major ones the
whole closed loop), once for the module in a SQLite file; PostgreSQL gets a copy of its rows. About 60,000
commands, so the module is marked slow (out of the quick lane, `pytest -m "not slow"`).
"""
from __future__ import annotations

import json

import pytest

from conftest import BACKENDS, FIVE
from conftest import rectified as attach_rectification_photo
from engine.app import Engine
from engine.domain.clock import FixedClock, parse_time
from engine.store.database import Store
from report_dbs import module_database

COUNTIES = ["371702", "371721", "371722", "371723", "371724", "371725", "371726", "371728"]  # 定陶区 reports nothing
DEPARTMENT = "市安委会成员单位"
HEZE = [(DEPARTMENT, 13983, 11702), (None, 7538, 6920)]
HENAN_MAJOR = (207, 117)

pytestmark = pytest.mark.slow


def _heze(batch) -> None:
    n = 0
    for department, found, rectified in HEZE:
        for i in range(found):
            day = 1 + n % 28
            at = f"2018-10-{day:02d}T09:00"
            case = batch.report_case(actor="zhang", title=f"隐患 {n}", enterprise=f"企业 {n % 997}",
                                     region=COUNTIES[n % len(COUNTIES)], industry="工贸", level="general",
                                     source="inspection", fields={"department": department} if department else None,
                                     found_at=at, now=at)
            if i < rectified:
                batch.advance_case(case.id, "fix", actor="zhang", fields={"measures": "已整改"},
                                   now=f"2018-10-{day:02d}T10:00")
                batch.advance_case(case.id, "verify", actor="liu", fields={"opinion": "复查合格"},
                                   now=f"2018-10-{day + 2:02d}T09:00")
            n += 1


def _henan(engine) -> None:
    engine.commands.add_user("zhou", roles=["supervisor"], regions=["4101"], actor="li")
    found, rectified = HENAN_MAJOR
    with engine.batch() as batch:
        for i in range(found):
            at = f"2020-11-{1 + i % 28:02d}T09:00"
            case = batch.report_case(actor="far", workflow="major-hazard", title=f"异地执法重大隐患 {i}",
                                     enterprise=f"河南企业 {i}", region="410102", industry="危险化学品", level="major",
                                     source="cross_region", found_at=at, now=at)
            batch.advance_case(case.id, "assign", actor="far", fields={**FIVE, "deadline": "2020-12-31"}, now=at)
            if i < rectified:
                batch.advance_case(case.id, "start", actor="far", now=at)
                attach_rectification_photo(batch, case.id, actor="far", now=at)
                batch.advance_case(case.id, "submit", actor="far", now=at)
                batch.advance_case(case.id, "verify", actor="zhou", fields={"opinion": "验收通过"}, now=at)


def _engine(url: str) -> Engine:
    return Engine(Store(url), clock=FixedClock(parse_time("2020-12-16T09:00")), trust_backdating=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The register, built once through the engine in a SQLite file."""
    class Request:  # module_database's view of a parametrised request
        param = "sqlite"
    with module_database(Request, tmp_path_factory, "seeds") as (url, _):
        engine = _engine(url)
        with engine.batch() as batch:
            _heze(batch)
        _henan(engine)
        engine.close()
        yield url


def _copy_rows(source: str, target: str) -> None:
    """Every row of every table of `source` into `target` (emptied first), its identities moved past them: the
    same register, events, hashes and all, on the other backend."""
    from psycopg.types.json import Json
    from sqlalchemy import JSON, create_engine, select, text

    from conftest import _table_names
    from engine.store.tables import METADATA
    from sqlmodel import SQLModel
    names = _table_names()  # imports every module whose records are part of the schema
    tables = [t for t in METADATA.sorted_tables] + [t for t in SQLModel.metadata.sorted_tables]
    assert [t.name for t in tables] == names
    reader, writer = create_engine(Store(source).url), create_engine(Store(target).url)
    try:
        with reader.connect() as src, writer.begin() as dst:
            dst.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
            raw = dst.connection.driver_connection  # psycopg's own: COPY, a few times faster than INSERTs
            for table in tables:
                cols = list(table.c)
                wrap = [isinstance(c.type, JSON) for c in cols]
                rows = src.execute(select(table)).all()
                with raw.cursor() as cursor, cursor.copy(
                        f"COPY {table.name} ({', '.join(f'{chr(34)}{c.name}{chr(34)}' for c in cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([Json(v) if w and v is not None else v for v, w in zip(row, wrap)])
                if "id" in table.c and table.c.id.type.python_type is int and rows:  # a numbered id
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT MAX(id) FROM {table.name}))"))
    finally:
        reader.dispose()
        writer.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def seeds(request, tmp_path_factory):
    """The register on each backend: on SQLite the file built through the engine; on PostgreSQL its rows copied
    (the engine's writes on PostgreSQL are the other tests'; what these check is what the reports read)."""
    if request.param == "sqlite":
        url = request.getfixturevalue("built")
        engine = _engine(url)
        yield engine, url
        engine.close()
        return
    with module_database(request, tmp_path_factory, "seeds") as (url, analyse):
        _copy_rows(request.getfixturevalue("built"), url)
        analyse()
        engine = _engine(url)
        yield engine, url
        engine.close()


def test_heze_october_2018_totals_as_published(seeds):
    """菏泽市 in October 2018: 21,521 found, 18,622 rectified, 86.53%."""
    engine, _ = seeds
    stats = engine.reports.stats(from_="2018-10-01", to="2018-10-31", region="3717")
    assert (stats.total.counts.found, stats.total.counts.rectified) == (21521, 18622)
    assert stats.total.texts["rate"] == "86.53%"


def test_heze_departments_and_counties_as_published(seeds):
    """By department: the member departments 13,983 / 11,702 = 83.69%, the counties' own 7,538 / 6,920 = 91.80%."""
    engine, _ = seeds
    stats = engine.reports.stats(by=["department"], from_="2018-10-01", to="2018-10-31", region="3717")
    rows = {r.group["department"]: (r.counts.found, r.counts.rectified, r.texts["rate"]) for r in stats.rows}
    assert rows == {DEPARTMENT: (13983, 11702, "83.69%"), None: (7538, 6920, "91.80%")}


def test_one_decimal_prints_the_articles_figures(seeds):
    """With a one-decimal definition the same counts print 83.7%, 91.8% and 86.5%, as the article rounds them."""
    engine, _ = seeds
    d = engine.reports.definition("report: one\nrounding: {decimals: 1}\n", "one.yaml")
    stats = engine.reports.stats(by=["department"], from_="2018-10-01", to="2018-10-31", region="3717", definition=d)
    assert [r.texts["rate"] for r in stats.rows] == ["83.7%", "91.8%"] and stats.total.texts["rate"] == "86.5%"


def test_henan_2020_major_hazards_as_published(seeds):
    """Henan's major hazards to 15 Dec 2020: 207 found, 117 rectified, 56.52%."""
    engine, _ = seeds
    stats = engine.reports.stats(region="41", level="major", to="2020-12-15")
    assert (stats.total.counts.found, stats.total.counts.rectified, stats.total.texts["rate"]) == (207, 117, "56.52%")


def test_the_silent_county_is_a_row_of_zeros(seeds):
    """定陶区 reported nothing in October 2018 and still appears, with zeros and no rate."""
    engine, _ = seeds
    stats = engine.reports.stats(by=["county"], from_="2018-10-01", to="2018-10-31", region="3717")
    silent = [r for r in stats.rows if r.counts.found == 0]
    assert [(r.group["county_name"], r.texts["rate"]) for r in silent] == [("定陶区", "/")]
    assert sum(r.counts.found for r in stats.rows) == 21521


def test_the_cli_json_gives_the_exact_counts_and_the_rounded_rate(seeds, runner):
    """`hazard report stats --json` carries 21521, 18622, 86.53 and '86.53%'."""
    from cli.main import cli
    _, url = seeds
    result = runner.invoke(cli, ["--db", url, "--now", "2020-12-16T09:00", "report", "stats", "--from", "2018-10-01",
                                 "--to", "2018-10-31", "--region", "3717", "--by", "department", "--json"])
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["total"]
    assert (total["found"], total["rectified"], total["rate"], total["rate_text"]) == (21521, 18622, 86.53, "86.53%")


def test_as_of_now_folds_to_the_same_seed_figures(seeds):
    """Folding all 21,521 Heze hazards from their events as of now gives the register's figures."""
    engine, _ = seeds
    live = engine.reports.stats(by=["department"], from_="2018-10-01", to="2018-10-31", region="3717")
    replayed = engine.reports.stats(by=["department"], from_="2018-10-01", to="2018-10-31", region="3717",
                                    as_of="2018-11-01T00:00")
    assert [r.counts for r in replayed.rows] == [r.counts for r in live.rows]
