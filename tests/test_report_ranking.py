"""Rankings on weighted indicators: the weights file, normalisation, ties and missing data."""
from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from engine.domain.errors import DefinitionInvalid
from engine.reports import ranking


def spec(text: str) -> ranking.RankingSpec:
    return ranking.parse_text(textwrap.dedent(text), "weights.yaml")


BASIC = """
    ranking: counties
    indicators:
      - {indicator: rate, weight: 60}
      - {indicator: overdue_count, weight: 40}
"""


def test_weighted_min_max_scores_and_places():
    """The best county on both indicators scores 100, the worst 0, one in between by its weights."""
    result = ranking.rank(spec(BASIC), {"371721": {"rate": 95, "overdue_count": 0},
                                        "371722": {"rate": 85, "overdue_count": 10},
                                        "371725": {"rate": 90, "overdue_count": 10}})
    assert [(r.group, r.position, str(r.score)) for r in result] == [
        ("371721", 1, "100.00"), ("371725", 2, "30.00"), ("371722", 3, "0.00")]
    assert result[1].scores == {"rate": Decimal("50.00"), "overdue_count": Decimal("0.00")}


def test_equal_scores_share_a_place_or_rank_densely():
    """Two equal counties share second place; `shared` skips to fourth, `dense` goes on with third."""
    values = {"a": {"rate": 90}, "b": {"rate": 80}, "c": {"rate": 80}, "d": {"rate": 70}}
    shared = ranking.rank(spec("ranking: r\nindicators: [{indicator: rate, weight: 1}]\n"), values)
    dense = ranking.rank(spec("ranking: r\nties: dense\nindicators: [{indicator: rate, weight: 1}]\n"), values)
    assert [r.position for r in shared] == [1, 2, 2, 4]
    assert [r.position for r in dense] == [1, 2, 2, 3]


def test_a_tie_break_decides_before_a_tie_is_declared():
    """With tie_break: [found], the county that found more hazards goes first among equal scores."""
    s = spec("ranking: r\ntie_break: [found]\nindicators: [{indicator: rate, weight: 1}]\n")
    result = ranking.rank(s, {"a": {"rate": 80, "found": 10}, "b": {"rate": 80, "found": 30}})
    assert [(r.group, r.position) for r in result] == [("b", 1), ("a", 2)]


def test_missing_data_is_handled_as_the_file_says():
    """worst scores 0; skip spreads the weight over the group's other indicators; exclude ranks it last, unplaced."""
    values = {"a": {"rate": 90, "on_time_rate": 90}, "b": {"rate": 80, "on_time_rate": 70},
              "c": {"rate": None, "on_time_rate": 95}}
    text = "ranking: r\nmissing: {}\nindicators: [{{indicator: rate, weight: 1}}, {{indicator: on_time_rate, weight: 1}}]\n"
    worst = {r.group: r for r in ranking.rank(spec(text.format("worst")), values)}
    skip = {r.group: r for r in ranking.rank(spec(text.format("skip")), values)}
    exclude = ranking.rank(spec(text.format("exclude")), values)
    assert worst["c"].score == Decimal("50.00") and worst["c"].missing == ("rate",)
    assert skip["c"].score == Decimal("100.00") and skip["c"].position == 1
    assert [(r.group, r.position) for r in exclude] == [("a", 1), ("b", 2), ("c", None)]


def test_share_of_the_best_and_lower_is_better():
    """share: a higher-is-better value scores value / best; a lower-is-better one best / value."""
    s = spec("ranking: r\nnormalise: share\nindicators: [{indicator: interviews, weight: 1}]\n")
    result = {r.group: r.score for r in ranking.rank(s, {"a": {"interviews": 1}, "b": {"interviews": 4}})}
    assert result == {"a": Decimal("100.00"), "b": Decimal("25.00")}


def test_bad_weights_files_list_every_problem():
    """Unknown indicators, zero or huge weights, bad directions and policies: each with its line."""
    with pytest.raises(DefinitionInvalid) as caught:
        spec("""
            ranking: r
            ties: random
            missing: guess
            tie_break: [luck]
            indicators:
              - {indicator: rate, weight: 0}
              - {indicator: beauty, weight: 5}
              - {indicator: overdue_count, weight: 99999, better: sideways}
              - {indicator: rate, weight: 1.234}
        """)
    text = str(caught.value)
    for needle in ("weights.yaml:3: ranking: 'ties' must be one of shared, dense",
                   "weights.yaml:4: ranking: 'missing' must be one of worst, skip, exclude",
                   "weights.yaml:5: ranking: tie_break: unknown indicator 'luck'",
                   "weights.yaml:7: indicator 'rate': 'weight' must be a number from 0.01 to 1000",
                   "weights.yaml:8: indicator: unknown indicator 'beauty'",
                   "weights.yaml:9: indicator 'overdue_count': 'weight' must be a number",
                   "weights.yaml:9: indicator 'overdue_count': 'better' must be one of higher, lower",
                   "weights.yaml:10: indicator: 'rate' is listed twice",
                   "weights.yaml:10: indicator 'rate': 'weight' must be a number from 0.01 to 1000 with at most 2"):
        assert needle in text, needle


values_strategy = st.dictionaries(
    st.sampled_from(["371702", "371703", "371721", "371722", "371723", "371724", "371725"]),
    st.fixed_dictionaries({"rate": st.one_of(st.none(), st.integers(0, 100)),
                           "overdue_count": st.one_of(st.none(), st.integers(0, 50))}),
    min_size=1)


@settings(max_examples=200, deadline=None)
@given(values_strategy, st.sampled_from(["worst", "skip", "exclude"]), st.sampled_from(["shared", "dense"]),
       st.sampled_from(["minmax", "share"]))
def test_rankings_are_orderly_whatever_the_data(values, missing, ties, normalise):
    """Places start at 1 and never decrease down the list; equal places have equal scores; scores lie in 0..100;
    the input's order does not matter."""
    s = spec(f"ranking: r\nmissing: {missing}\nties: {ties}\nnormalise: {normalise}\n" + textwrap.dedent(BASIC)
             .split("\n", 2)[2])
    result = ranking.rank(s, values)
    placed = [r for r in result if r.position is not None]
    assert len(result) == len(values)
    if placed:
        assert placed[0].position == 1
    order = [(r.exact is None, -(r.exact or 0)) for r in placed]
    for (before, after), (k1, k2) in zip(zip(placed, placed[1:]), zip(order, order[1:])):
        assert before.position <= after.position and k1 <= k2
        assert (before.position == after.position) == (k1 == k2)
    assert all(Decimal(0) <= r.score <= Decimal(100) for r in placed if r.score is not None)
    ranked = {r.group for r in placed}
    for name in ("rate", "overdue_count"):
        known = {values[g][name] for g in ranked if values[g][name] is not None}
        scores = [r.scores[name] for r in placed if values[r.group][name] is not None]
        if len(known) < 2:  # one value, or all equal: no score for anyone, never a row of 100s
            assert all(s is None for s in scores) and all(name in r.unscored for r in placed)
        elif normalise == "minmax":
            assert max(scores) == 100 and min(scores) == 0
    reordered = ranking.rank(s, dict(reversed(list(values.items()))))
    assert [(r.group, r.position) for r in reordered] == [(r.group, r.position) for r in result]


@settings(max_examples=100, deadline=None)
@given(values_strategy, st.integers(1, 16))
def test_scaling_all_weights_changes_no_place(values, factor):
    """Weights are relative: multiplying them all by the same number keeps every place."""
    scaled = f"ranking: r\nindicators:\n  - {{indicator: rate, weight: {60 * factor}}}\n" \
             f"  - {{indicator: overdue_count, weight: {40 * factor}}}\n"
    assert [r.position for r in ranking.rank(spec(BASIC), values)] == \
        [r.position for r in ranking.rank(spec(scaled), values)]


@settings(max_examples=100, deadline=None)
@given(values_strategy)
def test_a_group_better_on_every_indicator_never_ranks_below(values):
    """If one county has a higher rate and fewer overdue than another (both known), it is placed ahead."""
    result = {r.group: r for r in ranking.rank(spec(BASIC), values)}
    for a, va in values.items():
        for b, vb in values.items():
            if None in (va["rate"], vb["rate"], va["overdue_count"], vb["overdue_count"]):
                continue
            if va["rate"] > vb["rate"] and va["overdue_count"] < vb["overdue_count"]:
                assert result[a].position < result[b].position


def test_one_group_with_data_scores_nothing_rather_than_100_on_everything():
    """The issue's 曹县: the only county with figures (36% rectified, 5 overdue) is not given 100 on every indicator
    and a total of 100; no indicator can be scored from one value, so it has no score, and it is placed first of one."""
    s = spec(BASIC.replace("counties", "counties\n    missing: exclude"))
    result = ranking.rank(s, {"371721": {"rate": Decimal("36.00"), "overdue_count": 5},
                              "371722": {"rate": None, "overdue_count": None}})
    caoxian, shanxian = result
    assert (caoxian.group, caoxian.position, caoxian.score) == ("371721", 1, None)
    assert caoxian.scores == {"rate": None, "overdue_count": None}
    assert caoxian.unscored == ("rate", "overdue_count") and caoxian.values["rate"] == Decimal("36.00")
    assert (shanxian.position, shanxian.score, shanxian.missing) == (None, None, ("rate", "overdue_count"))


def test_an_indicator_equal_for_every_group_gives_no_score_and_no_weight():
    """Where every county has 0 overdue, 逾期未整改 scores nobody (not 100 each): the total is the rate's score alone."""
    result = {r.group: r for r in ranking.rank(spec(BASIC), {
        "a": {"rate": 90, "overdue_count": 0}, "b": {"rate": 80, "overdue_count": 0}, "c": {"rate": 85, "overdue_count": 0}})}
    assert [result[g].scores["overdue_count"] for g in "abc"] == [None, None, None]
    assert [(result[g].position, result[g].score) for g in "abc"] == [(1, Decimal("100.00")), (3, Decimal("0.00")),
                                                                     (2, Decimal("50.00"))]
    assert result["a"].unscored == ("overdue_count",)


def test_groups_equal_on_everything_share_a_place_without_a_score():
    """Two counties with the same figures on every indicator: nothing tells them apart, so they share first place and
    neither has a score (share of the best as well as min-max)."""
    for normalise in ("minmax", "share"):
        s = spec(BASIC.replace("counties", f"counties\n    normalise: {normalise}"))
        result = ranking.rank(s, {"a": {"rate": 90, "overdue_count": 2}, "b": {"rate": 90, "overdue_count": 2}})
        assert [(r.position, r.score) for r in result] == [(1, None), (1, None)], normalise


def test_groups_left_out_for_missing_data_do_not_stretch_the_scale():
    """With `missing: exclude`, a county not ranked (no on-time rate) does not set the best rate the others are
    scored against: of the two ranked, the better scores 100."""
    text = "ranking: r\nmissing: exclude\nindicators: [{indicator: rate, weight: 1}, {indicator: on_time_rate, weight: 1}]\n"
    result = {r.group: r for r in ranking.rank(spec(text), {
        "a": {"rate": 90, "on_time_rate": 90}, "b": {"rate": 80, "on_time_rate": 70},
        "c": {"rate": 99, "on_time_rate": None}})}
    assert result["a"].scores == {"rate": Decimal("100.00"), "on_time_rate": Decimal("100.00")}
    assert result["c"].position is None


def test_a_missing_value_counted_as_worst_shows_its_zero():
    """`missing: worst` scores a group without a value 0 on that indicator, and its score says so."""
    text = "ranking: r\nindicators: [{indicator: rate, weight: 1}, {indicator: on_time_rate, weight: 1}]\n"
    result = {r.group: r for r in ranking.rank(spec(text), {
        "a": {"rate": 90, "on_time_rate": 90}, "b": {"rate": 80, "on_time_rate": 70}, "c": {"rate": None,
                                                                                        "on_time_rate": 95}})}
    assert result["c"].scores["rate"] == Decimal("0.00") and result["c"].missing == ("rate",)


def test_each_indicator_heads_a_value_column_with_its_unit_and_a_score_column():
    """The value column says what is counted (条, 次) and the score column is the indicator's 得分; a file's label
    names the indicator in both."""
    s = spec("ranking: r\nindicators:\n  - {indicator: rate, weight: 1}\n  - {indicator: overdue_count, weight: 1}\n"
             "  - {indicator: notices, weight: 1}\n  - {indicator: major_on_time_share, weight: 1, label: 重大隐患按期整改}\n")
    assert [(i.value_heading(), i.score_heading()) for i in s.indicators] == [
        ("全部隐患整改率", "全部隐患整改率得分"), ("逾期未整改（条）", "逾期未整改得分"), ("被通报（次）", "被通报得分"),
        ("重大隐患按期整改", "重大隐患按期整改得分")]
    assert s.indicators[1].value_heading(hazard_unit="项") == "逾期未整改（项）"
    assert s.indicators[0].value_heading(percent_sign=False) == "全部隐患整改率（%）"
