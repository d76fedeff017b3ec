"""Report definitions: the shipped default, the four lists' conditions, and every problem reported as FILE:LINE."""
from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from engine.domain.errors import DefinitionInvalid
from engine.reports import conditions, definition
from engine.reports.reading import Reader


def parse(text: str):
    return definition.parse_text(textwrap.dedent(text), "office.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionInvalid) as caught:
        parse(text)
    return str(caught.value).splitlines()


def case(**attrs) -> dict:
    base = {"level": "general", "open": False, "overdue": False, "flags": [], "rung_reached": None,
            "industry": "工贸", "region": "371721", "state": "closed", "source": "self_check",
            "workflow": "general-hazard", "days_overdue": 0}
    return {**base, **attrs}


def test_the_default_definition_has_the_four_lists_and_office_rounding():
    """The shipped file parses, rounds to two decimals with '/', and defines the four lists by their names."""
    d = definition.default()
    assert (d.rounding.decimals, d.rounding.zero, d.on_time_base) == (2, "/", "due")
    assert [l.title for l in d.lists] == ["行业企业清单", "重点监控企业风险点清单", "整改清零重大隐患清单", "拟停产企业清单"]
    assert d.bulletin.general_unit == "条" and d.bulletin.major_in_enterprises


def test_the_default_lists_pick_the_right_cases():
    """Open major hazards go on the list to clear; suspended or suspension-rung ones on the list to suspend."""
    d = definition.default()
    to_clear, to_suspend, key = d.list("major-to-clear"), d.list("to-suspend"), d.list("key-risk-points")
    open_major = case(level="major", open=True, overdue=True, rung_reached="interview")
    assert conditions.matches(to_clear.when, open_major)
    assert not conditions.matches(to_clear.when, case(level="major", open=False))
    assert not conditions.matches(to_clear.when, case(level="general", open=True))
    assert conditions.matches(to_suspend.when, case(flags=["suspended"]))
    assert conditions.matches(to_suspend.when, case(rung_reached="suspend"))
    assert not conditions.matches(to_suspend.when, open_major)
    assert conditions.matches(key.when, case(open=True, industry="危险化学品"))
    assert not conditions.matches(key.when, case(open=True, industry="工贸"))
    assert conditions.matches(d.list("industry-enterprises").when, case())


def test_a_custom_definition_sets_rounding_columns_and_layout():
    """Whole percent, a different zero text, labelled columns and a shorter bulletin come from the file."""
    d = parse("""
        report: county
        rounding: {decimals: 0, zero: "—", percent_sign: false}
        on_time_rate: rectified
        lists:
          - list: long-overdue
            title: 长期逾期重大隐患
            when:
              all:
                - level: major
                - days_overdue_at_least: 30
                - not: {flag: suspended}
                - region_in: ["3717"]
            columns: [case_id, {column: days_overdue, label: 逾期(天)}]
        bulletin:
          title: "$region $period 隐患通报"
          sections: [totals, units, silent]
          general_unit: 项
          major_unit: 条
    """)
    assert (d.rounding.decimals, d.rounding.zero, d.rounding.percent_sign, d.on_time_base) == (0, "—", False, "rectified")
    spec = d.list("long-overdue")
    assert [(c.key, c.label) for c in spec.columns] == [("case_id", "案件编号"), ("days_overdue", "逾期(天)")]
    assert conditions.matches(spec.when, case(level="major", days_overdue=31))
    assert not conditions.matches(spec.when, case(level="major", days_overdue=31, flags=["suspended"]))
    assert not conditions.matches(spec.when, case(level="major", days_overdue=31, region="370102"))
    assert not conditions.matches(spec.when, case(level="major", days_overdue=29))
    assert d.bulletin.sections == ("totals", "units", "silent") and not d.bulletin.major_in_enterprises
    assert d.bulletin.heading(region="菏泽市", period="2018年10月") == "菏泽市 2018年10月 隐患通报"


def test_a_title_names_what_the_bulletin_is_by_its_period():
    """$kind is 周简报 for a week, 月通报 for a month, 季度通报 for a quarter and 工作通报 for a campaign's span; the
    shipped title uses it, so a weekly brief never carries the monthly title."""
    shipped = definition.default().bulletin
    assert [shipped.heading(region="菏泽市", period="", kind=k) for k in ("week", "month", "quarter", "campaign")] == [
        "菏泽市安全生产隐患排查治理周简报", "菏泽市安全生产隐患排查治理月通报", "菏泽市安全生产隐患排查治理季度通报",
        "菏泽市安全生产隐患排查治理工作通报"]
    own = definition.parse_text('report: x\nbulletin:\n  title: "$region隐患排查$kind（$period）"\n', "x.yaml").bulletin
    assert own.heading(region="曹县", period="2026年第10周", kind="week") == "曹县隐患排查周简报（2026年第10周）"


def test_every_problem_is_reported_at_once_with_its_line():
    """Unknown keys, out-of-range numbers, bad conditions and columns: all of them, each FILE:LINE."""
    found = problems("""
        report: Bad Name
        colour: red
        rounding: {decimals: 7, zero: "a very long zero text"}
        on_time_rate: sometimes
        lists:
          - list: x
            title: X
            when: {level: huge, rung_reached: parade, days_overdue_at_least: -3, eval: "__import__('os')"}
            columns: [case_id, salary]
          - list: x
            title: again
            columns: []
        bulletin:
          title: "$region $secret"
          sections: [totals, gossip]
          major_unit: 个
    """)
    text = "\n".join(found)
    for needle in ("office.yaml:2: report: 'Bad Name' must be a name", "office.yaml:3: report: unknown key 'colour'",
                   "office.yaml:4: rounding: 'decimals' must be a whole number from 0 to 4",
                   "office.yaml:4: rounding: 'zero' is longer than 8", "office.yaml:5: report: 'on_time_rate' must be one of",
                   "office.yaml:9: list 'x': 'level' must be one of major, general",
                   "office.yaml:9: list 'x': 'rung_reached' must be one of", "office.yaml:9: list 'x': 'days_overdue_at_least'",
                   "office.yaml:9: list 'x': unknown condition 'eval'", "office.yaml:10: list 'x': unknown column 'salary'",
                   "list 'x' is written twice", "office.yaml:13: list 'x': 'columns' needs at least one column",
                   "office.yaml:15: bulletin: title may use only $region, $period and $kind, not secret",
                   "office.yaml:16: bulletin: unknown section 'gossip'", "office.yaml:17: bulletin: 'major_unit'"):
        assert needle in text, needle


def test_yaml_syntax_errors_and_non_mappings_name_the_file_kind():
    """A broken file says where; a list at the top says a report definition must be a mapping."""
    assert problems("report: [unclosed\n")[0].startswith("office.yaml:")
    assert problems("- just\n- a list\n") == ["office.yaml:1: a report definition file must be a mapping of keys"]


def test_control_characters_and_huge_files_are_refused():
    """NUL or ESC in a file, or more than 256 KiB, is refused before YAML reads it."""
    assert "control characters" in problems("report: a\x00b\n")[0]
    assert "at most 256 KiB" in problems("report: x\n" + "# pad\n" * 60000)[0]


def test_conditions_nest_only_so_deep():
    """A condition nested past eight levels is refused, not recursed into without end."""
    nested = "{not: " * 12 + "{level: major}" + "}" * 12
    assert any("nest at most 8 deep" in p for p in problems(f"report: x\nlists:\n  - list: a\n    title: A\n"
                                                            f"    when: {nested}\n    columns: [case_id]\n"))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(conditions.LEAVES | {"bogus", "any", "not"})),
                       st.one_of(st.none(), st.booleans(), st.integers(-5, 40000), st.text(max_size=8),
                                 st.lists(st.text(max_size=5), max_size=3)), max_size=4))
def test_any_condition_either_parses_or_reports_problems(node):
    """Whatever a user writes as a condition, reading it gives a Condition or problems, never an exception."""
    from engine.domain.definition import source
    mapping = source.Mapping(node)
    mapping.line, mapping.key_lines = 1, dict.fromkeys(node, 1)
    reader = Reader("f.yaml")
    result = conditions.parse(mapping, reader, "list 'x'")
    assert isinstance(result, conditions.Condition)
    if not reader.problems:
        conditions.matches(result, case())


def test_every_accepted_key_and_word_is_documented():
    """The manual's reports page names every key and vocabulary word the readers accept."""
    import re
    from engine.reports import campaign, ranking
    from tests.manual import section
    text = section("Reports, the four lists, bulletins, rankings and campaigns")
    words = (definition.TOP_KEYS | definition.ROUNDING_KEYS | definition.LIST_KEYS | definition.COLUMN_KEYS
             | definition.BULLETIN_KEYS | set(definition.BULLETIN_SECTIONS) | set(definition.ENTRIES)
             | set(definition.CASE_COLUMNS) | set(definition.ENTERPRISE_COLUMNS) | conditions.LEAVES
             | conditions.COMBINERS | set(conditions.RUNG_ORDER) | ranking.TOP_KEYS | ranking.INDICATOR_KEYS
             | set(ranking.INDICATORS) | set(ranking.NORMALISE) | set(ranking.MISSING) | set(ranking.TIES)
             | campaign.TOP_KEYS | campaign.SCOPE_KEYS | campaign.STAGE_KEYS | campaign.TARGET_KEYS
             | set(campaign.TARGET_KINDS) | set(campaign.PER) | set(campaign.EVERY))
    missing = sorted(w for w in words if not re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text))
    assert not missing, f"undocumented in the manual's reports page: {missing}"


def test_aliases_and_deep_nesting_are_refused_before_they_expand():
    """An alias bomb, or nesting hundreds deep, is refused at once with its line instead of hanging."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    assert problems(bomb) == ["office.yaml:1: anchors and aliases (&name, *name) are not allowed here"]
    assert "nested more than 40 levels deep" in problems("report: x\nz: " + "[" * 500 + "]" * 500 + "\n")[0]
    assert problems("report: x\nlists:\n  - list: a\n    title: A\n    when: {any: [1]}\n    columns: [case_id]\n") \
        == ["office.yaml:5: list 'a': a condition must be a mapping such as {level: major}"]
