"""Bulletins filled by the engine from a register built through commands and sweeps (tests/bulletin_example.py).

The document's numbers are the register's, the ladder's notices, interviews and posted supervisions are
the events', the anchor is the log's at the period's end, and the HTML prints on A4 in a real browser.
"""
from __future__ import annotations

import io
import json
import re

import openpyxl
import pytest

import browser
import bulletin_example
from conftest import BACKENDS
from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput, NotFound
from engine.reports.figures import percent_text
from report_dbs import module_database

MARCH_END = parse_time("2026-04-01T00:00")


@pytest.fixture(scope="module", params=BACKENDS)
def example(request, tmp_path_factory):
    with module_database(request, tmp_path_factory, "bulletin") as (url, analyse):
        engine = bulletin_example.engine_at(url)
        bulletin_example.build(engine)
        analyse()
        yield engine, url, bulletin_example.bulletin(engine)
        engine.close()


def test_the_markdown_in_the_docs_is_what_the_engine_prints(example):
    """docs/bulletin-from-engine.md is this register's March bulletin (regenerate: python tests/bulletin_example.py).

    On PostgreSQL all but the anchor's root: two rungs due at the same instant (exposure and suspension) are
    fired in the order the database hands them back, so their events, and the root, differ between backends.
    """
    engine, _, made = example
    published, printed = bulletin_example.MARKDOWN.read_text(encoding="utf-8"), made.markdown()
    if not engine.store.is_sqlite:
        published, printed = (re.sub(r"root=[0-9a-f]{64}", "root=…", text) for text in (published, printed))
    assert published == printed  # its picture is compared with the page in a real browser, below


def test_the_readmes_excerpt_is_taken_from_that_file():
    """Every line of the bulletin excerpt in the manual (docs/reports.md) is a line of docs/bulletin-from-engine.md."""
    from tests.manual import MANUAL as readme
    start = readme.index("```markdown\n# 菏泽市安全生产隐患排查治理月通报")
    excerpt = readme[start + len("```markdown\n"):readme.index("```\n", start + 12)]
    lines = set(bulletin_example.MARKDOWN.read_text(encoding="utf-8").splitlines())
    assert [line for line in excerpt.splitlines() if line not in lines] == []


def test_the_totals_and_every_county_come_from_the_register(example):
    """Totals, per-county counts and the silent county are the GROUP BY's; a county paragraph reads as published."""
    engine, _, made = example
    doc = made.document
    stats = engine.reports.stats(by=["county"], from_="2026-03-01", to="2026-03-31", region="3717",
                                 now=bulletin_example.ISSUED)
    assert doc["totals"]["found"] == stats.total.counts.found == 820
    assert doc["totals"]["rectified"] == stats.total.counts.rectified
    assert [(u["region"], u["found"]) for u in doc["units"]] == [(r.group["county"], r.counts.found) for r in stats.rows]
    assert doc["silent_units"] == ["371703"]
    assert doc["totals"]["major_found"] == 10 and doc["previous_totals"]["found"] == 0
    text = made.markdown()
    assert "定陶区：本期未报送隐患排查治理情况。" in text
    assert "本期未报送隐患排查治理情况的单位：定陶区。" in text
    assert "排查隐患数较上期增加 820 条" in text


def test_the_overdue_major_hazards_are_named_with_what_the_ladder_did_by_then(example):
    """The three major hazards overdue at the end of March, longest first (then by county), with their days and the
    rung reached by then."""
    _, _, made = example
    named = made.document["overdue_major"]
    assert [(n["enterprise"], n["days_overdue"], n["rung_reached"]) for n in named] == [
        ("曹县某木业有限公司", 49, "suspend"), ("巨野县某煤业有限公司", 21, "post_supervision"),
        ("郓城县某化工有限公司", 21, "post_supervision")]


def test_notices_interviews_and_postings_are_the_ladders_events_of_the_period(example):
    """March's real-name notices (the hazards' and the interviews' follow-up), the two interviews opened, the two
    postings opened and the one de-listed."""
    _, _, made = example
    doc = made.document
    assert len(doc["notices"]) == 5 and {n["kind"] for n in doc["notices"]} == {"real_name"}
    assert [n["unit"] for n in doc["notices"] if n["reason"].startswith("实名通报")] == \
        ["郓城县某化工有限公司", "巨野县某煤业有限公司"]
    assert [(i["unit"], i["person"], i["state"]) for i in doc["interviews"]] == \
        [("郓城县某化工有限公司", "王某", "已约谈"), ("巨野县某煤业有限公司", "李某", "已约谈")]
    assert [(p["enterprise"], p["authority"]) for p in doc["postings"]["opened"]] == \
        [("郓城县某化工有限公司", "city"), ("巨野县某煤业有限公司", "city")]
    assert [p["enterprise"] for p in doc["postings"]["delisted"]] == ["牡丹区某烟花爆竹有限公司"]


def test_the_anchor_is_the_logs_at_the_periods_end_and_holds(example):
    """The anchor printed is `audit anchor --as-of` the end of March, and checking it against the log holds."""
    engine, _, made = example
    line = made.document["anchor"]["value"]
    assert line == engine.audit.anchor(as_of=MARCH_END)[0].line()
    assert engine.audit.check_anchor(line).holds
    assert line in made.markdown()


def test_a_week_compares_with_the_week_before(example):
    """The week holding 03-31 (Monday 03-30 to Sunday 04-05) is looked at as of now and compared with 03-23..03-29."""
    engine, _, _ = example
    week = engine.reports.bulletin(period="week", date="2026-03-31", region="3717", now=bulletin_example.ISSUED)
    doc = week.document
    assert (doc["period"]["from"].isoformat(), doc["period"]["to"].isoformat()) == ("2026-03-30", "2026-04-05")
    assert doc["previous_period"]["label"] == "2026年第13周（3月23日至3月29日）"
    assert week.markdown().startswith("# 菏泽市安全生产隐患排查治理周简报\n")  # a week's brief, not the month's title
    assert doc["anchor"]["as_of"] == parse_time(bulletin_example.ISSUED)
    assert doc["totals"]["found"] + doc["previous_totals"]["found"] > 0


def test_the_region_defaults_to_the_one_holding_the_periods_hazards(example):
    """Without --region the bulletin is 菏泽市's, where every March hazard lies."""
    engine, _, _ = example
    made = engine.reports.bulletin(period="month", date="2026-03-15", now=bulletin_example.ISSUED)
    assert made.document["region"] == "3717"
    with pytest.raises(InvalidInput):
        engine.reports.bulletin(period="month", date="2025-03-15", now=bulletin_example.ISSUED)


CAMPAIGN = """
campaign: heze-chemicals-2026
title: 菏泽市危险化学品安全专项整治
issuer: 菏泽市安全生产委员会
scope:
  region: "3717"
  from: 2026-03-01
  to: 2026-06-30
  industries: [危险化学品]
stages:
  - {stage: rectify, title: 集中整治, from: 2026-03-01, to: 2026-05-31}
  - {stage: consolidate, title: 巩固提升, from: 2026-06-01, to: 2026-06-30}
targets:
  - {target: rate, title: 整改率不低于90%, kind: rate, at_least: 90, by: 2026-05-31, per: county}
"""


def test_a_campaigns_bulletin_counts_only_its_cases(example):
    """--campaign: only the campaign's chemical hazards found in its period, under its title and issuer."""
    engine, _, _ = example
    engine.reports.campaigns.install(CAMPAIGN, "chemicals.yaml", actor="li", now=bulletin_example.RECORDED)
    made = engine.reports.bulletin(period="month", date="2026-03-31", campaign="heze-chemicals-2026",
                                   now=bulletin_example.ISSUED)
    doc = made.document
    assert doc["title"] == "菏泽市危险化学品安全专项整治月通报" and doc["issuer"] == "菏泽市安全生产委员会办公室"
    assert doc["totals"]["found"] == 4 and doc["totals"]["general_found"] == 0
    with pytest.raises(NotFound):
        engine.reports.bulletin(period="month", date="2026-03-31", campaign="no-such", now=bulletin_example.ISSUED)
    with pytest.raises(InvalidInput):
        engine.reports.bulletin(period="month", date="2026-08-31", campaign="heze-chemicals-2026",
                                now=bulletin_example.ISSUED)


def test_a_campaigns_bulletin_is_asked_for_by_its_name_alone(example, runner):
    """`hazard report bulletin --campaign NAME` as the issue writes it: no --period (the campaign from its first day),
    no --format (Markdown), no --date (its last day once it has ended, so a past campaign is not 'outside')."""
    from cli.main import cli
    engine, url, _ = example
    engine.reports.campaigns.install(CAMPAIGN, "chemicals.yaml", actor="li", now=bulletin_example.RECORDED)
    ended = runner.invoke(cli, ["--db", url, "--now", "2026-08-01T09:00", "report", "bulletin",
                                "--campaign", "heze-chemicals-2026"])
    assert ended.exit_code == 0, ended.output
    assert ended.stdout.startswith("# 菏泽市危险化学品安全专项整治工作通报")
    assert "2026年3月1日至6月30日，菏泽市共排查隐患 4 条" in ended.stdout
    doc = json.loads(runner.invoke(cli, ["--db", url, "--now", "2026-08-01T09:00", "report", "bulletin",
                                         "--campaign", "heze-chemicals-2026", "--json"]).stdout)
    assert (doc["period"]["kind"], doc["period"]["from"], doc["period"]["to"]) == ("campaign", "2026-03-01",
                                                                                  "2026-06-30")
    assert doc["anchor"]["as_of"] == "2026-07-01T00:00:00+08:00"  # the end of its last day
    running = engine.reports.bulletin(campaign="heze-chemicals-2026", now=bulletin_example.ISSUED).document
    assert (running["period"]["from"].isoformat(), running["period"]["to"].isoformat()) == ("2026-03-01", "2026-04-03")
    assert "previous_totals" not in running
    past = runner.invoke(cli, ["--db", url, "--now", "2026-08-01T09:00", "report", "bulletin", "--campaign",
                               "heze-chemicals-2026", "--period", "month", "--json"])
    assert past.exit_code == 0 and json.loads(past.stdout)["period"]["label"] == "2026年6月"
    # without a campaign the period is still required
    plain = runner.invoke(cli, ["--db", url, "report", "bulletin", "--format", "md"])
    assert plain.exit_code == 2 and "--period" in plain.output


LATE_CAMPAIGN = CAMPAIGN.replace("heze-chemicals-2026", "heze-late-2026").replace("  industries: [危险化学品]\n", "") \
    .replace("from: 2026-03-01, to: 2026-05-31", "from: 2026-03-09, to: 2026-05-31").replace("from: 2026-03-01\n",
                                                                                          "from: 2026-03-09\n")


def test_a_campaigns_previous_period_is_cut_to_its_dates_too(example):
    """A campaign that begins on Monday 03-09: its week's bulletin compares with the week before, in which it had
    no hazards at all (the register's hazards found 03-02..03-08 are not the campaign's)."""
    engine, _, _ = example
    assert "from: 2026-03-09" in LATE_CAMPAIGN and "industries" not in LATE_CAMPAIGN
    engine.reports.campaigns.install(LATE_CAMPAIGN, "late.yaml", actor="li", now=bulletin_example.RECORDED)
    plain = engine.reports.bulletin(period="week", date="2026-03-10", region="3717", now=bulletin_example.ISSUED)
    assert plain.document["previous_totals"]["found"] > 0  # the register does have hazards that week
    week = engine.reports.bulletin(period="week", date="2026-03-10", campaign="heze-late-2026",
                                   now=bulletin_example.ISSUED).document
    assert week["totals"]["found"] > 0
    assert week["previous_totals"] == {**week["previous_totals"], "found": 0, "rectified": 0, "major_found": 0}
    month = engine.reports.bulletin(period="month", date="2026-04-02", campaign="heze-late-2026",
                                    now=bulletin_example.ISSUED).document
    march = engine.reports.bulletin(period="month", date="2026-03-31", campaign="heze-late-2026",
                                    now=bulletin_example.ISSUED).document
    assert month["previous_totals"]["found"] == march["totals"]["found"]


def test_the_xlsx_has_a_sheet_per_table_with_numbers_and_percentages(example):
    """Counts are numbers and rates percentages with the definition's decimals, one sheet per table."""
    _, _, made = example
    book = openpyxl.load_workbook(io.BytesIO(made.xlsx()))
    assert {"总体情况", "各县区", "部门", "逾期重大隐患", "通报", "约谈", "挂牌督办", "摘牌销号", "排名"} <= set(book.sheetnames)
    counties = book["各县区"]
    header = [cell.value for cell in counties[2]]  # under the table's title row
    for row in counties.iter_rows(min_row=3, values_only=False):
        if row[0].value == "牡丹区":
            found = row[header.index("排查隐患（条）")]
            rate = row[header.index("全部隐患整改率")]
            assert isinstance(found.value, int) and found.value == made.document["units"][0]["found"]
            assert isinstance(rate.value, float) and rate.number_format == "0.00%"
            break
    else:
        pytest.fail("no 牡丹区 row")


def test_the_cli_writes_each_format_and_json(example, runner, tmp_path):
    """`hazard report bulletin` writes md, html and xlsx files and prints the document with rates as JSON."""
    from cli.main import cli
    _, url, _ = example
    base = ["--db", url, "--now", bulletin_example.ISSUED, "report", "bulletin", "--period", "month",
            "--date", "2026-03-31", "--region", "3717"]
    for fmt in ("md", "html", "xlsx"):
        out = tmp_path / f"march.{fmt}"
        result = runner.invoke(cli, base + ["--format", fmt, "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 2000
    assert (tmp_path / "march.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    printed = runner.invoke(cli, base + ["--json"])
    doc = json.loads(printed.stdout)
    assert doc["totals"]["found"] == 820 and doc["totals"]["rate_text"] == "88.17%"
    assert doc["units"][1] == {**doc["units"][1], "region": "371703", "name": "定陶区", "found": 0, "rate": None}
    assert runner.invoke(cli, base).exit_code == 2  # no --format and no --json


def test_the_engines_bulletin_prints_on_a4_in_a_real_browser(example, tmp_path):
    """Printed by headless Chromium: A4 pages, set in an embedded Chinese font; drawn, it is the picture the docs
    show (docs/bulletin-from-engine.png, at the size tests/bulletin_example.py takes it): same size, with ink
    and red where the page puts them."""
    browser.need()
    _, _, made = example
    page = tmp_path / "bulletin.html"
    page.write_text(made.html(), encoding="utf-8")
    pdf = browser.print_pdf(page, tmp_path / "bulletin.pdf")
    sizes = browser.pdf_page_sizes(pdf)
    assert len(sizes) >= 2 and all(abs(w - 595) < 1.5 and abs(h - 842) < 1.5 for w, h in sizes), sizes
    assert any("WenQuanYi" in f or "CJK" in f or "SourceHan" in f for f in browser.pdf_fonts(pdf))
    shot = browser.screenshot(page, tmp_path / "bulletin.png", width=900, height=2600)
    assert browser.unlike(bulletin_example.PNG.read_bytes(), shot) == []


COUNTY_CAMPAIGN = """
campaign: caoxian-2026
title: 曹县安全生产专项整治
issuer: 曹县安全生产委员会办公室
scope:
  region: "371721"
  from: 2026-03-01
  to: 2026-06-30
stages:
  - {stage: rectify, title: 集中整治, from: 2026-03-01, to: 2026-06-30}
"""


def test_a_county_campaigns_weekly_brief_reads_right(example):
    """The issue's 曹县 campaign: its week is a 周简报, its masthead names the office once, and its ranking of the one
    county prints the county's rate and overdue count with no score instead of 100.00 on everything."""
    engine, _, _ = example
    engine.reports.campaigns.install(COUNTY_CAMPAIGN, "caoxian.yaml", actor="li", now=bulletin_example.RECORDED)
    made = engine.reports.bulletin(period="week", date="2026-03-04", campaign="caoxian-2026",
                                   now=bulletin_example.ISSUED)
    text = made.markdown()
    assert text.startswith("# 曹县安全生产专项整治周简报\n\n曹县安全生产委员会办公室　")
    assert "办公室办公室" not in text
    ranking = text[text.index("综合排名"):]
    row = next(line for line in ranking.splitlines() if line.startswith("| 1 | 曹县 |"))
    unit = made.document["units"][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "不计分" and cells[4] == "不计分" and cells[6] == "不计分" and "100.00" not in row
    assert (cells[3], cells[5]) == (percent_text(unit["rectified"], unit["found"]), str(unit["overdue"]))
