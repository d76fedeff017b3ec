"""Issue 21's done-means: ledgers laid out as the real ones (tests/ledger_layouts.py) import as they are, with no
mapping file and `--set` only for a fact the sheet does not hold at all, through the command an office runs
(`hazard import FILE --dry-run --json`, then the import), on both databases.

What is checked is what a user checks after an import: every data row came in and nothing else did (no
signature, instruction or note row), and each case says what its row says: level and the sheet's own grade,
the state its row shows, region, enterprise and its code, the found day, source, deadline, the person, the
five implementations recorded as 是/否, a posted supervision linked where the sheet says 挂牌督办."""
from __future__ import annotations

import json

import pytest

from tests.conftest import cli_on
from tests.ledger_layouts import LAYOUTS, NOW, Layout, city_major_table, power_plant_template

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request, tmp_path) -> Layout:
    return LAYOUTS[request.param](tmp_path)


@pytest.fixture
def hz(runner, seeded_url, layout):
    """`hazard --db URL --now NOW --actor WHO ARGS`, as the user who keeps this kind of ledger."""
    return cli_on(runner, seeded_url, actor=layout.actor, now=NOW)


def dry_run(hz, layout: Layout, *, valid: bool = True, sets: list[str] | None = None) -> dict:
    """The dry run's document; with `valid`, the dry run must have found every row importable (exit 0)."""
    result = hz("--json", "import", layout.path, *(layout.set_options() if sets is None else sets), "--dry-run")
    if valid:
        assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def import_all(hz, layout: Layout) -> dict:
    result = hz("--json", "import", layout.path, *layout.set_options())
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cases(hz) -> list[dict]:
    result = hz("--json", "case", "list")
    assert result.exit_code == 0, result.output
    return [c for c in json.loads(result.stdout) if c["workflow"] in ("major-hazard", "general-hazard")]


def test_the_dry_run_reads_every_data_row_and_no_other(hz, layout):
    """Every data row is read and valid; a 填报人 / 审核 / 批准, 填写要求, 注意 or 注 row is not among them."""
    doc = dry_run(hz, layout)
    assert doc["errors"] == []
    assert (doc["rows"], doc["valid"], doc["new"]) == (len(layout.rows),) * 3
    read = [r["row"] for r in doc["first_rows"]]
    assert not set(read) & set(layout.not_data)
    assert read == [e.row for e in layout.rows][:len(read)]


def test_the_dry_run_says_which_field_each_header_is(hz, layout):
    """The dry run's `matched` names, for each header the sheet writes, the field the sheet means by it."""
    doc = dry_run(hz, layout, valid=False)  # the mapping is printed also when rows are bad
    matched = {m["header"]: m["field"] for m in doc["matched"]}
    assert {h: matched.get(h) for h in layout.headers} == layout.headers
    assert not {h: f for h, f in layout.misread.items() if matched.get(h) == f}
    assert all(m["why"] for m in doc["matched"])


def test_the_dry_run_counts_levels_and_states_as_the_sheet_means_them(hz, layout):
    doc = dry_run(hz, layout)
    levels: dict[str, int] = {}
    states: dict[str, dict[str, int]] = {}
    for e in layout.rows:
        levels[e.level] = levels.get(e.level, 0) + 1
        workflow = states.setdefault(f"{e.level}-hazard", {})
        workflow[e.state] = workflow.get(e.state, 0) + 1
    assert (doc["by_level"], doc["by_state"]) == (levels, states)


def test_every_row_imports_as_the_case_its_sheet_means(hz, layout):
    """After the import, `case list` shows one case per data row, each as its row says."""
    doc = import_all(hz, layout)
    assert (doc["imported"], doc["skipped"], doc["errors"]) == (len(layout.rows), 0, [])
    found = cases(hz)
    assert sorted(c["title"] for c in found) == sorted(e.title for e in layout.rows)
    by_title = {c["title"]: c for c in found}

    def meant(e) -> dict:
        want = {"level": e.level, "state": e.state, "found": e.found, "enterprise": e.enterprise, "region": e.region,
                "source": e.source, "grade": e.grade}
        for name in ("deadline", "credit_code", "responsible_person", "location", "missing_implementations"):
            if getattr(e, name) is not None:
                want[name] = getattr(e, name)
        return want

    def got(c, want) -> dict:
        fields = c["fields"]
        have = {"level": c["level"], "state": c["state"], "found": c["found_at"][:10], "enterprise": c["enterprise"],
                "region": c["region"], "source": c["source"], "grade": fields.get("grade")}
        for name in set(want) - set(have):
            value = c.get(name) if name in ("deadline", "missing_implementations") else fields.get(name)
            have[name] = tuple(value) if name == "missing_implementations" and value is not None else value
        return have

    wanted = {e.title[:30]: meant(e) for e in layout.rows}
    assert {e.title[:30]: got(by_title[e.title], wanted[e.title[:30]]) for e in layout.rows} == wanted


def test_a_row_under_posted_supervision_links_its_posted_supervision(runner, seeded_url, tmp_path):
    """The city table's 是否挂牌督办 = 是, with its level and 文号: the open hazard has a linked posted-supervision case
    at that level and with that number; a row saying 否 has none; a hazard written off (已销号) links no open posting,
    and keeps the sheet's posting facts as its fields."""
    layout = city_major_table(tmp_path)
    hz = cli_on(runner, seeded_url, actor=layout.actor, now=NOW)
    import_all(hz, layout)
    seen = {}
    for c in cases(hz):
        shown = hz("--json", "case", "show", c["id"])
        assert shown.exit_code == 0, shown.output
        pairs = []
        for link in json.loads(shown.stdout).get("linked", []):
            if link["workflow"] == "posted-supervision":
                fields = json.loads(hz("--json", "case", "show", link["id"]).stdout)["fields"]
                pairs.append((fields.get("authority"), fields.get("document_no")))
        seen[c["title"]] = pairs[0] if len(pairs) == 1 else (pairs or None)
        if c["state"] == "closed":
            kept = json.loads(shown.stdout)["fields"]
            seen[c["title"]] = (kept["posting_level"], kept["posting_document"]) if kept.get("posted") == "yes" else None
    assert seen == {e.title: e.posted for e in layout.rows}


def test_a_fact_the_sheet_lacks_is_asked_for_once(hz, layout):
    """Without one of the `--set` values the layout needs, the dry run says so once, at the header, naming the
    field and the rows it leaves out, not once per row."""
    for name in layout.sets:
        sets = [a for other, value in layout.sets.items() if other != name for a in ("--set", f"{other}={value}")]
        doc = dry_run(hz, layout, valid=False, sets=sets)
        messages = [e["message"] for e in doc["errors"]]
        assert len(messages) == 1 and messages[0].startswith(f"no {name}:"), (name, messages)
        assert f"none of the {len(layout.rows)} rows" in messages[0]


def test_an_enterprise_the_template_gives_by_code_is_named_as_an_earlier_import_named_it(runner, seeded_url,
                                                                                        tmp_path):
    """The import template gives the enterprise only by its 统一社会信用代码; an earlier ledger named that code's
    enterprise: the template's cases carry the name (and keep the code)."""
    layout = power_plant_template(tmp_path)
    hz = cli_on(runner, seeded_url, actor=layout.actor, now=NOW)
    names = {code: f"华电某某{n}号发电有限公司" for n, code in enumerate(sorted({e.credit_code for e in layout.rows}), 1)}
    earlier = tmp_path / "上月台账.csv"
    earlier.write_text("企业名称,统一社会信用代码,隐患内容,排查日期,隐患级别,隐患来源\n" + "".join(
        f"{name},{code},厂区消防通道堆放杂物,2026-01-05,一般,日常排查\n" for code, name in names.items()),
        encoding="utf-8-sig")
    done = hz("--json", "import", earlier, "--set", "region=371721", "--set", "industry=电力")
    assert done.exit_code == 0, done.output
    import_all(hz, layout)
    got = {(c["enterprise"], c["fields"].get("credit_code")) for c in cases(hz) if c["title"] != "厂区消防通道堆放杂物"}
    assert got == {(names[e.credit_code], e.credit_code) for e in layout.rows}
