"""Rankings on weighted indicators: the weights file, normalisation, ties and missing data."""
from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from engine.errors import DefinitionInvalid
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
    for before, after in zip(placed, placed[1:]):
        assert before.position <= after.position and before.exact >= after.exact
        assert (before.position == after.position) == (before.exact == after.exact)
    assert all(Decimal(0) <= r.score <= Decimal(100) for r in placed)
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
