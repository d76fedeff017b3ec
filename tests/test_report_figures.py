"""Rates, rounding, stats rows and change since the last period, against the seeds' own published figures."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from engine.reports.figures import (
    Counts, Rounding, change, change_text, format_rate, percent_text, points_text, rate, rate_change, stats_row, total,
)


@pytest.mark.parametrize("rectified, found, decimals, expected", [
    (18622, 21521, 2, "86.53"),   # 菏泽市 2018年10月: 全市
    (11702, 13983, 2, "83.69"),   # 市安委会重点成员单位 (the article prints 83.7 at one decimal)
    (11702, 13983, 1, "83.7"),
    (6920, 7538, 2, "91.80"),     # 各县区
    (6920, 7538, 1, "91.8"),
    (117, 207, 2, "56.52"),       # 河南 异地执法 重大隐患: 已整改117条 of 207条
    (117, 207, 1, "56.5"),
    (18882, 27878, 1, "67.7"),    # 河南 全部: 27,878 found, 18,882 rectified
    (18622, 21521, 0, "87"),
])
def test_the_seeds_rates_come_out_as_published(rectified, found, decimals, expected):
    """Each rate the seed documents print is rectified / found, rounded half up to the places they print."""
    assert str(rate(rectified, found, decimals)) == expected


def test_halves_round_up_not_to_even():
    """0.125% of a count rounds to 0.13 (as offices round), where banker's rounding and floats give 0.12."""
    assert rate(1, 800, 2) == Decimal("0.13")
    assert rate(1, 8, 0) == Decimal("13") and rate(3, 8, 0) == Decimal("38")
    assert round(12.5) == 12  # what Python's own round() would have printed


def test_zero_found_has_no_rate_and_prints_the_zero_text():
    """Nothing found: no rate, shown as '/' by default or the definition's own text."""
    assert rate(0, 0) is None
    assert format_rate(None) == "/" and format_rate(None, Rounding(zero="—")) == "—"
    assert percent_text(0, 0) == "/"


def test_formats_follow_the_rounding_options():
    """Two decimals with a sign by default; whole percent; one decimal; no sign."""
    assert percent_text(18622, 21521) == "86.53%"
    assert percent_text(18622, 21521, Rounding(decimals=0)) == "87%"
    assert percent_text(11702, 13983, Rounding(decimals=1, percent_sign=False)) == "83.7"
    assert percent_text(5, 5) == "100.00%"


@given(st.integers(0, 10**12), st.integers(1, 10**12), st.integers(0, 4))
def test_rate_is_the_exact_fraction_rounded_half_up(numerator, denominator, decimals):
    """For any counts the rate equals the exact quotient rounded half up, never a float's neighbour."""
    exact = Fraction(numerator * 100, denominator)
    with localcontext() as ctx:
        ctx.prec = 80  # far more digits than a quotient of 12-digit counts needs to round once, correctly
        quotient = Decimal(exact.numerator) / Decimal(exact.denominator)
        expected = quotient.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    got = rate(numerator, denominator, decimals)
    assert got == expected and -got.as_tuple().exponent == decimals


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_rates_never_fall_as_more_is_rectified(rectified, found):
    """Rectifying one more hazard never lowers the printed rate, and rectified <= found stays within 0..100."""
    rectified = min(rectified, found)
    assert Decimal(0) <= rate(rectified, found) <= Decimal(100)
    if rectified < found:
        assert rate(rectified + 1, found) >= rate(rectified, found)


def test_bad_arguments_are_refused():
    """Negative counts and more than four decimals are programming errors, refused loudly."""
    with pytest.raises(ValueError):
        rate(-1, 5)
    with pytest.raises(ValueError):
        rate(1, 5, 5)
    with pytest.raises(ValueError):
        Rounding(decimals=9)


def test_a_stats_row_derives_open_and_not_yet_due_and_both_rates():
    """open = found - rectified, not yet due = open - overdue; on-time rate over what has fallen due."""
    row = stats_row({"region": "371721"}, Counts(found=100, rectified=80, overdue=5, rectified_on_time=76))
    doc = row.as_dict()
    assert (doc["open"], doc["not_yet_due"]) == (20, 15)
    assert doc["rate"] == 80.0 and doc["rate_text"] == "80.00%"
    assert doc["on_time_rate"] == 89.41  # 76 / (80 + 5)
    assert stats_row({}, row.counts, on_time_base="rectified").on_time_rate == Decimal("95.00")
    assert stats_row({}, row.counts, on_time_base="found").on_time_rate == Decimal("76.00")


def test_inconsistent_counts_are_refused():
    """Counts that do not add up (more on time than rectified, open given wrongly) are an error, not a figure."""
    with pytest.raises(ValueError, match="inconsistent"):
        Counts(found=10, rectified=5, rectified_on_time=6)
    with pytest.raises(ValueError, match="inconsistent"):
        Counts(found=10, rectified=5, open=4)
    with pytest.raises(ValueError, match="whole numbers"):
        Counts(found=-1)


def test_the_total_rate_comes_from_the_sums_not_an_average_of_rates():
    """Heze's departments and counties add up to the city's 21,521 / 18,622 = 86.53%, not (83.69 + 91.80) / 2."""
    departments = stats_row({"group": "市直部门"}, Counts(found=13983, rectified=11702))
    counties = stats_row({"group": "县区"}, Counts(found=7538, rectified=6920))
    whole = total([departments, counties])
    assert (whole.counts.found, whole.counts.rectified) == (21521, 18622)
    assert whole.texts["rate"] == "86.53%"


def test_change_since_the_previous_period():
    """Differences and relative change, and their wording, including from zero and without a previous period."""
    assert change_text(change(21521, 20000), "项") == "较上期增加 1521 项（+7.61%）"
    assert change_text(change(90, 100), "条") == "较上期减少 10 条（-10.00%）"
    assert change_text(change(7, 7)) == "与上期持平"
    assert change_text(change(5, 0), "条") == "较上期增加 5 条"
    assert change(5, None).delta is None and change_text(change(5, None)) == ""
    assert points_text(rate_change(rate(18622, 21521), rate(6920, 7538))) == "下降 5.27 个百分点"
    assert points_text(rate_change(None, Decimal(1))) == ""


def test_regrouping_rolls_counties_up_and_shows_the_empty_ones():
    """County counts summed per city; cities in the province with nothing found appear with zeros."""
    from engine.reports.figures import regroup
    grouped = regroup({"371721": Counts(found=3, rectified=1), "371725": Counts(found=2, rectified=2),
                       "370102": Counts(found=1)}, "city", within="37")
    assert grouped["3717"] == Counts(found=5, rectified=3) and grouped["3701"] == Counts(found=1)
    assert grouped["3702"] == Counts() and len(grouped) == 16
    assert list(regroup({"371721": Counts(found=1)}, "county", within="3717")) == \
        ["371702", "371703", "371721", "371722", "371723", "371724", "371725", "371726", "371728"]
