"""Tables at the widths users have (60, 80, 100, 120 columns): the columns a user acts on stay, short forms come
before cut text, long text is cut last, and a status or overdue column never goes before a free-text one."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from cli.main import cli
from cli.output import Forms, cell_len, layout
from tests.conftest import FIVE, paper

NOW = "2026-03-02T09:00"
LATER = "2026-05-20T09:00"  # the assigned case's deadline, 2026-04-30, has passed
TITLE = "液氨储罐区未设置可燃气体泄漏报警装置并与紧急切断阀联锁"
ENTERPRISE = "曹县鑫源化工有限公司"
CASE = ["--title", TITLE, "--enterprise", ENTERPRISE, "--region", "371721", "--industry", "危险化学品",
        "--level", "major", "--source", "inspection"]
SETS = [arg for name, value in FIVE.items() for arg in ("--set", f"{name}={value}")]
WIDTHS = [60, 80, 100, 120]


@pytest.fixture
def hz(runner, seeded_url):
    def invoke(*args, actor=None, now=NOW, columns=None):
        base = ["--db", seeded_url, "--now", now] + (["--actor", actor] if actor else []) + paper(actor)
        return runner.invoke(cli, base + list(args), env={"COLUMNS": str(columns)} if columns else None)
    return invoke


@pytest.fixture
def register(hz):
    """An overdue major hazard (assigned, past its deadline) and a general one just reported."""
    overdue = hz("case", "report", *CASE, actor="ent").stdout.strip()
    assert hz("case", "advance", overdue, "assign", *SETS, actor="zhang").exit_code == 0
    general = list(CASE)
    general[general.index("--level") + 1] = "general"
    other = hz("case", "report", *general, actor="ent").stdout.strip()
    return overdue, other


def _row(stdout: str, case_id: str) -> str:
    (line,) = [line for line in stdout.splitlines() if case_id in line]
    return line


@pytest.mark.parametrize("columns", WIDTHS)
def test_case_list_keeps_what_a_user_acts_on_at_every_width(hz, register, columns):
    """id, state, deadline, overdue, title and enterprise are on every row at 60 to 120 columns, each line fits,
    and the title and enterprise keep at least their first characters whole."""
    overdue, other = register
    result = hz("case", "list", now=LATER, columns=columns)
    assert result.exit_code == 0, result.output
    assert all(cell_len(line) <= columns for line in result.stdout.splitlines()), result.stdout
    row = _row(result.stdout, overdue)
    for value in (overdue, "assigned", "2026-04-30", "overdue", TITLE[:2], ENTERPRISE[:2]):
        assert value in row, (value, row)
    assert "overdue" not in _row(result.stdout, other) and "reported" in _row(result.stdout, other)
    assert "overdue" not in result.stderr  # never among the columns left out


def test_case_list_at_80_columns_shows_the_short_level_and_more_of_the_text(hz, register):
    """At 80 columns the level is 重大 (not the 12 columns of 重大事故隐患), the region goes before the text is
    cut hard, and title and enterprise keep at least 4 characters each (they were cut to 3)."""
    overdue, other = register
    result = hz("case", "list", now=LATER, columns=80)
    row = _row(result.stdout, overdue)
    assert "重大" in row and "重大事故隐患" not in result.stdout and "一般" in _row(result.stdout, other)
    assert TITLE[:4] in row and ENTERPRISE[:4] in row
    assert "371721" not in result.stdout
    assert "region" in result.stderr and "not shown at this width" in result.stderr


def test_case_list_shows_the_region_by_name_when_narrow_and_with_its_code_when_wide(hz, register):
    """At 100 columns the region is 曹县, not a bare code; at 120 and with --wide it is `371721 曹县` and the
    level its whole label."""
    overdue, _ = register
    narrow = _row(hz("case", "list", now=LATER, columns=100).stdout, overdue)
    assert " 曹县 " in narrow and "371721" not in narrow and "重大事故隐患" not in narrow
    for wide in (hz("case", "list", now=LATER, columns=120), hz("case", "list", "--wide", now=LATER, columns=80)):
        row = _row(wide.stdout, overdue)
        assert "371721 曹县" in row and "重大事故隐患" in row, row
    assert TITLE in _row(hz("case", "list", "--wide", now=LATER, columns=80).stdout, overdue)


@pytest.mark.parametrize("columns", WIDTHS)
def test_case_history_keeps_who_did_what_when_and_what_they_signed(hz, register, columns):
    """At every width each event's seq, trigger, new state, actor and time stay, and what was signed begins
    whole (name=value, not quoted JSON); the recording time and the hash go first."""
    overdue, _ = register
    result = hz("case", "history", overdue, columns=columns)
    assert result.exit_code == 0, result.output
    assert all(cell_len(line) <= columns for line in result.stdout.splitlines()), result.stdout
    assign = next(line for line in result.stdout.splitlines() if line.startswith("2 "))
    for value in ("assign", "assigned", "zhang", "2026-03-02 09:00", "responsible_"):
        assert value in assign, (value, assign)
    if columns < 120:
        assert "recorded" in result.stderr


@pytest.mark.parametrize("columns", [60, 80])
def test_report_stats_keeps_the_rates_before_the_counts_a_reader_can_derive(hz, register, columns):
    """`report stats` at 60 and 80 columns: the rate stays; the division code (its name is there) and `not
    yet due` are left out first; the level reads 重大 / 一般."""
    result = hz("report", "stats", "--by", "county", "--by", "level", "--region", "3717", now=LATER,
                columns=columns)
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[2]
    assert "rate" in header and "overdue" in header and "not yet due" not in header
    assert "曹县" in result.stdout and "重大" in result.stdout and "重大事故隐患" not in result.stdout
    assert "not yet due" in result.stderr


def test_user_list_and_log_name_each_region_beside_its_code(hz):
    """`user list` and `user log` show `3717 菏泽市`, `371721 曹县`, not bare codes."""
    users = hz("user", "list", columns=80)
    assert "3717 菏泽市" in users.stdout and "371721 曹县" in users.stdout and "37 山东省" in users.stdout
    log = hz("user", "log", columns=120)
    assert "371721 曹县" in log.stdout


# -- the layout itself, without a database ----------------------------------------------------------------------
def test_an_optional_column_goes_before_text_is_cut_below_readable_and_a_status_never_before_text():
    """Narrow forms first, then the optional columns (last named first), then text cut; with nothing optional
    left, the text columns go before a status column does."""
    columns = ["case", "state", "level", "title", "overdue"]
    rows = [["HZ-2026-000001", "rectifying", Forms("重大事故隐患", "重大"), "液氨储罐区未设置可燃气体泄漏报警装置", "overdue"]]
    wide = layout(columns, rows, available=200, optional=("level",))
    assert (wide.keep, wide.narrow, wide.hidden) == ([0, 1, 2, 3, 4], False, [])
    narrow = layout(columns, rows, available=60, optional=("level",))
    assert narrow.narrow and narrow.keep == [0, 1, 2, 3, 4] and narrow.widths[3] < 36
    dropped = layout(columns, rows, available=50, optional=("level",))
    assert dropped.hidden == ["level"] and dropped.keep == [0, 1, 3, 4]
    squeezed = layout(columns, rows, available=36, optional=("level",))
    assert columns.index("overdue") in squeezed.keep and "title" in squeezed.hidden


@settings(max_examples=200, deadline=None)
@given(available=st.integers(20, 200), rows=st.lists(st.tuples(
    st.text(alphabet="HZ-0123456789", min_size=1, max_size=16), st.sampled_from(["reported", "rectifying", "closed"]),
    st.text(alphabet="液氨储罐区未设置报警装置曹县某化工有限公司 abc", max_size=40), st.sampled_from(["", "overdue"])),
    min_size=1, max_size=6))
def test_every_line_fits_and_no_fixed_column_goes_while_text_is_shown(available, rows):
    """For any width and rows: the lines fit whenever the first column alone does, a fixed (non-text) column is
    left out only once every text column is gone, and the first column always stays."""
    columns = ["case", "state", "title", "overdue"]
    plan = layout(columns, [list(r) for r in rows], available=available)
    assert 0 in plan.keep
    fixed_gone = any(columns[i] in plan.hidden for i in (1, 3))
    assert not (fixed_gone and 2 in plan.keep)
    first = max(cell_len("case"), *(cell_len(r[0]) for r in rows))
    if first <= available:
        used = sum(plan.widths[i] for i in plan.keep) + len(plan.gap) * (len(plan.keep) - 1)
        assert used <= available, plan
