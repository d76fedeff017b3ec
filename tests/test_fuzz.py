"""Property-based fuzzing of what users type: definitions, field values, times and the command line.

Whatever comes in, the engine answers with a value or one of its documented errors: never a traceback,
never an exit code outside the README's table, and a refused command leaves every table as it was.
The CLI runs through CliRunner on one SQLite database per module; non-UTF-8 bytes need a real argv, so a few
runs are subprocesses. Examples are bounded so the module stays quick.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from cli.main import cli
from engine.domain import limits
from engine.domain.clock import deadline_instant, end_of_day, iso, local_date, parse_time
from engine.domain.definition.model import FieldSpec
from engine.domain.definition.fields_and_guards import coerce, normalise_date
from engine.domain.errors import EXIT_CODES, DefinitionInvalid, InvalidInput
from engine.app.registry import load_definition
from tests.conftest import FIVE

HERE = Path(__file__).parent
HAZARD = Path(sys.executable).with_name("hazard")
SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in sorted((HERE.parent / "workflows").glob("*.yaml"))}
MAJOR = SHIPPED["major-hazard.yaml"]
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What hostile input looks like: the values fuzzing found breaking the engine, and their neighbours.
HOSTILE = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\x1b[2J", "\x07", "\x7f", "\u0085", "\udcff", "\ud800", "\u202e", "\ufeff",
    "9" * 400, "9" * 30, "-1", "0", "nan", "inf", "-0", "1e309", "1,2,3", "12,34", "1,234.5", "15万", "0.001",
    "9999-12-31", "0001-01-01", "1900-01-01", "1999-12-31T23:59", "2100-12-31", "2101-01-01", "2026-02-30",
    "2026-03-02T09:00+14:00", "2026-03-02T09:00Z", "20260430", "2026-W10", "T", "--json", "--help", "-h",
    "HZ-2026-000001", "HZ-9999-999999", "major-hazard", "assign", "deadline=", "=x", "a=b=c",
    "液氨储罐" * 200, "x" * 10_000, "'; DROP TABLE hazard_case; --", "%s%s%n", "{}", "[", "*a", "&a",
])
VALUES = st.one_of(HOSTILE, st.text(max_size=30), st.integers(-10 ** 30, 10 ** 30).map(str),
                   st.dates().map(str), st.datetimes().map(datetime.isoformat))


# -- the YAML loader ----------------------------------------------------------------------------------------

def assert_problems_name_the_file(exc: DefinitionInvalid, filename: str, text: str) -> None:
    assert exc.problems
    for file, line, message in exc.problems:
        assert file == filename and 1 <= line <= text.count("\n") + 2 and message.strip()


@QUICK
@given(text=st.one_of(st.text(max_size=300), st.text(alphabet="[]{}&*!|>:-?,#'\"\n \t%@`\x00\x1b", max_size=300)))
def test_any_text_is_a_definition_or_a_list_of_its_problems(text):
    """Arbitrary text and YAML punctuation soup: a definition, or DefinitionInvalid with FILE:LINE problems."""
    try:
        load_definition(text, "fuzz.yaml")
    except DefinitionInvalid as exc:
        assert_problems_name_the_file(exc, "fuzz.yaml", text)


@QUICK
@given(name=st.sampled_from(sorted(SHIPPED)), data=st.data())
def test_a_shipped_workflow_with_random_edits_validates_or_names_its_problems(name, data):
    """Inserting noise, anchors, aliases, tags and control characters into a real definition never raises
    anything but DefinitionInvalid."""
    text = SHIPPED[name]
    noise = st.one_of(HOSTILE, st.text(alphabet="[]{}&*!|>:-?,#'\"\n \t\x00\x1b9", min_size=1, max_size=12),
                      st.sampled_from(["&x ", "*x", "!!python/object:os.system ", "!!binary ", "<<: ", "? "]))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(noise) + text[at:]
    try:
        load_definition(text, name)
    except DefinitionInvalid as exc:
        assert_problems_name_the_file(exc, name, text)


@st.composite
def alias_trees(draw):
    """Anchors and aliases nested a few levels, `width` aliases per level: small trees, or bombs."""
    width, levels = draw(st.integers(1, 12)), draw(st.integers(1, 8))
    lines = ["workflow: fuzz", "a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n", width, levels


def expanded_size(width: int, levels: int) -> int:
    """Values the tree has once every alias is expanded: the root, `workflow: fuzz`, and each key with its list."""
    size, total = 2, 3 + 1 + 2  # a0 is [x]: a list and a scalar
    for _ in range(levels):
        size = 1 + width * size
        total += 1 + size
    return total


@QUICK
@given(tree=alias_trees())
def test_aliases_expand_only_within_the_limits(tree):
    """A tree is refused as too large exactly when it has too many aliases or expands past the node limit;
    otherwise it gets the ordinary problems of a definition with unknown keys."""
    text, width, levels = tree
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(text, "fuzz.yaml")
    too_large = any("too large to read" in m for _, _, m in caught.value.problems)
    assert too_large == (width * levels > limits.MAX_YAML_ALIASES or expanded_size(width, levels) > limits.MAX_YAML_NODES)


NUMBERS = [  # (text in major-hazard.yaml, template, bound)
    ("duration: 10 days", "duration: {} days", limits.MAX_DAYS),
    ("duration: 10 days", "duration: {} working days", limits.MAX_DAYS),
    ("due: 7 days after", "due: {} days after", limits.MAX_DAYS),
    ("due: 3 days before", "due: {} working days before", limits.MAX_DAYS),
    ("deadline: 90 days", "deadline: {} days", limits.MAX_DAYS),
    ("grace_minutes: 60", "grace_minutes: {}", limits.MAX_GRACE_MINUTES),
]


@QUICK
@given(number=st.sampled_from(NUMBERS), n=st.one_of(st.integers(0, 20_000), st.integers(0, 10 ** 40)))
def test_a_number_in_a_definition_is_accepted_exactly_within_its_bound(number, n):
    """Every number is accepted up to its bound and refused past it, at its own line."""
    old, template, bound = number
    text = MAJOR.replace(old, template.format(n), 1)
    if n <= bound:
        load_definition(text, "major-hazard.yaml")
        return
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(text, "major-hazard.yaml")
    line = MAJOR[:MAJOR.index(old)].count("\n") + 1
    assert [p[1] for p in caught.value.problems] == [line]


# -- field values (--set) -------------------------------------------------------------------------------------

SPECS = [FieldSpec("note", "text"), FieldSpec("deadline", "date"), FieldSpec("funds", "money"),
         FieldSpec("responsible_person", "person"), FieldSpec("result", "enum", values=("passed", "failed"))]
FIELD_VALUES = st.one_of(
    VALUES,
    st.from_regex(r"\A\s?[0-9]{1,16}(,[0-9]{3}){0,3}(\.[0-9]{0,4})?\s?(万元|万|元)?\Z"),
    st.dates().map(lambda d: d.isoformat().replace("-", "")),
    st.sampled_from(["passed", "failed", "passed ", "PASSED"]),
)


@settings(max_examples=300, deadline=None)
@given(spec=st.sampled_from(SPECS), raw=FIELD_VALUES)
def test_a_field_value_is_stored_normalised_or_refused_naming_the_field(spec, raw):
    """Every field type gives a value that reads back as itself, or InvalidInput naming the field."""
    try:
        value = coerce(spec, raw)
    except InvalidInput as exc:
        assert exc.field == spec.name and exc.message
        return
    assert value == value.strip() and coerce(spec, value) == value  # normalised: storing it again changes nothing
    limits.check_text(value, field=spec.name, max_chars=limits.MAX_TEXT_CHARS, multiline=spec.type == "text")
    if spec.type == "money":
        amount = Decimal(value)
        assert 0 <= amount <= limits.MAX_MONEY and amount == amount.quantize(Decimal("0.01"))
    elif spec.type == "date":
        instant = deadline_instant(value)  # the arithmetic every deadline goes through
        assert limits.MIN_YEAR <= instant.year <= limits.MAX_YEAR + 1
        end_of_day(local_date(instant) + timedelta(days=limits.MAX_DAYS)) + timedelta(days=2 * limits.MAX_DAYS)
    elif spec.type == "enum":
        assert value in spec.values


# -- dates and times ------------------------------------------------------------------------------------------

OFFSETS = st.one_of(st.none(), st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))))


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), offset=OFFSETS,
       style=st.sampled_from(["iso", "date", "space", "minutes"]))
def test_times_are_accepted_exactly_in_the_stated_years(moment, offset, style):
    """parse_time takes any ISO form in MIN_YEAR..MAX_YEAR and refuses every other year with InvalidInput; what
    it returns survives every addition the engine makes."""
    moment = moment.replace(tzinfo=offset)
    text = {"iso": moment.isoformat(), "date": moment.date().isoformat(), "space": moment.isoformat(" "),
            "minutes": moment.isoformat(timespec="minutes")}[style]
    try:
        value = parse_time(text, field="--now")
    except InvalidInput as exc:
        assert not limits.MIN_YEAR <= moment.year <= limits.MAX_YEAR and exc.field == "--now"
        return
    assert limits.MIN_YEAR <= moment.year <= limits.MAX_YEAR and value.tzinfo is not None
    assert iso(value).endswith("+08:00") and parse_time(iso(value)) == value
    far = end_of_day(local_date(value) + timedelta(days=limits.MAX_DAYS)) + timedelta(days=2 * limits.MAX_DAYS)
    assert far.year < 2200


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(VALUES, st.text(alphabet="0123456789-:T+Z. W", max_size=30)))
def test_any_text_is_a_time_or_invalid_input(text):
    """parse_time and normalise_date answer anything with a value or InvalidInput, never another exception."""
    for read in (lambda t: parse_time(t, field="--as-of"), lambda t: normalise_date(t, "until")):
        try:
            read(text)
        except InvalidInput:
            pass


# -- the command line ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hazard_db(tmp_path_factory):
    """One SQLite database for the module: users, a reported case and one being rectified."""
    from engine.app import Engine
    from engine.domain.clock import FixedClock
    from tests.conftest import report, run_to

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'hazard.db'}"
    engine = Engine.open(url, create=True, clock=FixedClock(parse_time("2026-03-02T09:00")), trust_backdating=True)
    engine.init(admin="li", admin_regions=["37"])
    for name, role, region in [("ent", "enterprise", "371721"), ("zhang", "supervisor", "371700")]:
        engine.commands.add_user(name, roles=[role], regions=[region], actor="li")
    report(engine)
    run_to(engine, report(engine).id, "rectifying", fields=FIVE)
    engine.close()
    return url


def row_counts(url: str) -> dict:
    from tests.test_limits_input import row_counts as counts
    return counts(url)


def mostly(good: str) -> st.SearchStrategy[str]:
    """A slot holding the good value three times in four, a hostile one otherwise: so that commands get past
    the first check and the hostile value meets the code behind it."""
    return st.integers(0, 3).flatmap(lambda i: VALUES if i == 0 else st.just(good))


def fields(good: dict, *, all_of: bool) -> st.SearchStrategy[list[str]]:
    """`--set NAME=VALUE` for every field of `good` (or a few of them), each value mostly good."""
    pairs = (st.tuples(*[st.tuples(st.just(name), mostly(value)) for name, value in good.items()]) if all_of else
             st.lists(st.sampled_from(sorted(good)).flatmap(lambda n: st.tuples(st.just(n), mostly(good[n]))),
                      max_size=3, unique_by=lambda pair: pair[0]))
    return pairs.map(lambda found: [a for name, value in found for a in ("--set", f"{name}={value}")])


def commands() -> st.SearchStrategy[list[str]]:
    """Command lines with hostile values in the slots a user fills."""
    case_ids = st.one_of(st.sampled_from([f"HZ-2026-{n:06d}" for n in range(1, 6)]), VALUES)
    notes = {"opinion": "整改到位", "report_note": "已整改", "deadline": "2026-05-31"}
    report = st.tuples(mostly("液氨储罐区未设置泄漏报警装置"), mostly("某化工有限公司"), mostly("371721"), mostly("危险化学品"),
                       mostly("inspection"), st.sampled_from(["major", "general"]), st.one_of(st.none(), mostly("2026-03-01")))
    return st.one_of(
        report.map(lambda t: ["case", "report", "--title", t[0], "--enterprise", t[1], "--region", t[2],
                              "--industry", t[3], "--source", t[4], "--level", t[5]]
                   + (["--found", t[6]] if t[6] is not None else [])),
        st.tuples(case_ids, mostly("assign"), fields(FIVE, all_of=True)).map(
            lambda t: ["case", "advance", t[0], t[1], *t[2]]),
        st.tuples(case_ids, st.sampled_from(["start", "submit", "verify", "reject", "close"]),
                  fields(notes, all_of=False)).map(lambda t: ["case", "advance", t[0], t[1], *t[2]]),
        st.tuples(case_ids, mostly("2026-06-30"), mostly("设备到货延迟")).map(
            lambda t: ["case", "extend", t[0], "--until", t[1], "--reason", t[2]]),
        st.lists(st.tuples(st.sampled_from(["--limit", "--offset", "--region", "--state", "--as-of", "--workflow",
                                            "--enterprise", "--industry", "--source", "--found-from", "--found-to",
                                            "--deadline-before", "--search", "--sort"]), VALUES),
                 min_size=1, max_size=3).map(lambda pairs: ["case", "list", *[a for pair in pairs for a in pair]]),
        st.tuples(case_ids, mostly("2026-04-01")).map(lambda t: ["case", "show", t[0], "--as-of", t[1]]),
        case_ids.map(lambda c: ["case", "history", c]),
        VALUES.map(lambda t: ["--now", t, "case", "list", "--overdue"]),
        VALUES.map(lambda t: ["--now", t, "escalate", "--dry-run"]),
        VALUES.map(lambda t: ["escalation", "list", "--limit", t]),
        st.tuples(mostly("major-hazard"), VALUES).map(lambda t: ["workflow", "show", t[0], "--version", t[1]]),
        st.tuples(case_ids, mostly("2026-04-01")).map(lambda t: ["audit", "replay", t[0], "--as-of", t[1]]),
        case_ids.map(lambda c: ["audit", "trace", c]),
        st.tuples(VALUES, mostly("inspector"), mostly("371721")).map(
            lambda t: ["user", "add", t[0], "--role", t[1], "--region", t[2]]),
        VALUES.map(lambda t: ["scheduler", "--interval", t]),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=commands(), actor=st.sampled_from(["zhang", "ent", "li"]), as_json=st.booleans())
def test_no_command_line_ends_in_a_traceback_or_a_partial_write(hazard_db, args, actor, as_json):
    """Any command with hostile values exits with a documented code, prints no traceback, and a refused one
    writes nothing."""
    if args[0] == "scheduler":  # would run until stopped when the interval is good: only its refusal is fuzzed
        try:
            limits.check_interval(float(args[-1]))
            return
        except (InvalidInput, ValueError, OverflowError):
            pass
    before = row_counts(hazard_db)
    result = CliRunner().invoke(cli, ["--db", hazard_db, "--actor", actor] + (["--json"] if as_json else []) + args)
    assert result.exit_code in EXIT_CODES, (args, result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        pytest.fail(f"unexpected error (exit 1) for {args!r}: {result.output}")
    if result.exit_code != 0:
        assert row_counts(hazard_db) == before, args


@pytest.mark.parametrize("where", ["title", "actor", "case", "now"])
@pytest.mark.parametrize("raw", [b"\xff", b"\xc3\x28", "隐患".encode("gbk")], ids=["ff", "bad-utf8", "gbk"])
def test_non_utf8_bytes_anywhere_on_a_real_command_line_exit_2(hazard_db, where, raw):
    """A non-UTF-8 byte in any argument of a real process: exit 2 naming the argument, nothing written."""
    args = {"title": [b"--actor", b"ent", b"case", b"report", b"--title", raw, b"--enterprise", b"e", b"--region",
                      b"371721", b"--industry", b"x", b"--level", b"major", b"--source", b"inspection"],
            "actor": [b"--actor", raw, b"case", b"advance", b"HZ-2026-000001", b"assign"],
            "case": [b"--actor", b"zhang", b"case", b"show", raw],
            "now": [b"--now", raw, b"case", b"list"]}[where]
    before = row_counts(hazard_db)
    done = subprocess.run([os.fsencode(str(HAZARD)), b"--db", hazard_db.encode(), *args], capture_output=True,
                          timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"})
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2 and "is not UTF-8 text" in stderr and "Traceback" not in stderr, stderr
    assert row_counts(hazard_db) == before
