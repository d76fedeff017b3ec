"""Cell values as offices write them: dates, money, region codes, text, and the words for levels and states."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain.clock import SHANGHAI
from engine.domain.errors import InvalidInput
from engine.domain.values import (EARLIEST_YEAR, LATEST_YEAR, TEXT_LIMIT, clean_text, date_text, parse_date,
                                  parse_money, parse_region)
from engine.ledger.words import shipped_words, value_key

DAY = date(2026, 3, 5)


@pytest.mark.parametrize("raw", [
    date(2026, 3, 5), "2026-03-05", "2026/3/5", "2026/03/05", "2026.3.5", "2026年3月5日", "2026 年 3 月 5 日",
    "2026年03月05日", "20260305", "46086", 46086.0, 46086, "  2026-03-05\n", "２０２６－０３－０５", "２０２６年３月５日",
    "2026年3月5号",
])
def test_every_written_form_of_a_day_reads_as_that_day(raw):
    """Date cells, Excel serials (as numbers or text), dashes, slashes, dots, 年月日, compact and full-width forms."""
    assert parse_date(raw) == DAY


@pytest.mark.parametrize("raw, expected", [
    (datetime(2026, 3, 5, 9, 30), datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI)),
    ("2026-03-05 09:30", datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI)),
    ("2026/3/5 9:30:15", datetime(2026, 3, 5, 9, 30, 15, tzinfo=SHANGHAI)),
    ("2026年3月5日 9时30分", datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI)),
    ("2026-03-05T09:30:00", datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI)),
    ("2026-03-05T01:30:00Z", datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI)),
    (46086.5, datetime(2026, 3, 5, 12, 0, tzinfo=SHANGHAI)),
])
def test_date_times_read_as_shanghai_moments(raw, expected):
    """A time of day is kept, in Asia/Shanghai when the cell has no offset."""
    value = parse_date(raw)
    assert value == expected and value.utcoffset() == timedelta(hours=8)


def test_a_day_and_a_moment_come_out_in_the_engines_forms():
    """Days as YYYY-MM-DD, moments as ISO 8601 with +08:00, the text date fields store."""
    assert date_text(parse_date("2026/3/5")) == "2026-03-05"
    assert date_text(parse_date("2026/3/5 9:30")) == "2026-03-05T09:30:00+08:00"


@pytest.mark.parametrize("raw, says", [
    ("2026-13-05", "not a real date"), ("2026-02-30", "not a real date"), ("1999-12-31", "outside the years 2000-2100"),
    ("2101-01-01", "outside the years 2000-2100"), (99999.0, "outside the years 2000-2100"),
    ("12345", "outside the years 2000-2100"), ("1995-03-01", "outside the years 2000-2100"),
    ("下周", "not a date"), ("2026年3月", "not a date"), (True, "not a date"), (time(9, 30), "not a date"),
    (30.0, "a number of days"),
    (float("nan"), "not a date"), ("2026-03-05 25:00", "not a real date or time"),
])
def test_a_date_that_cannot_be_read_says_why(raw, says):
    """Impossible days, years outside the engine's 2000-2100 (limits.MIN_YEAR/MAX_YEAR) and words are refused."""
    with pytest.raises(InvalidInput, match=says):
        parse_date(raw)


@pytest.mark.parametrize("raw", ["", "  ", "/", "-", "无", "——"])
def test_blank_and_placeholder_dates_are_no_date(raw):
    """An empty cell or an office's placeholder (/, -, 无) is no value, not an error."""
    assert parse_date(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("15万", "150000.00"), ("150000", "150000.00"), ("1,200.50元", "1200.50"), ("15.5万元", "155000.00"),
    ("１５万", "150000.00"), ("¥1,000", "1000.00"), ("￥2000元", "2000.00"), (150000.0, "150000.00"), (12.5, "12.50"),
    (" 3 万 ", "30000.00"), ("8000元整", "8000.00"), (0.1 + 0.2, "0.30"), ("1.234567万", "12345.67"),
])
def test_every_written_form_of_funds_reads_as_yuan(raw, expected):
    """Funds in yuan with two decimals, the text the engine's money fields store."""
    assert parse_money(raw) == expected


def test_a_bare_number_in_a_column_headed_in_ten_thousands_is_scaled():
    """Under 资金（万元） a bare 15 is 150,000 yuan; a value with its own unit keeps it."""
    assert parse_money(15.0, scale=10000) == "150000.00"
    assert parse_money("15", scale=10000) == "150000.00"
    assert parse_money("800元", scale=10000) == "800.00"


@pytest.mark.parametrize("raw, says", [
    ("十五万", "not an amount"), ("-5", "not an amount"), (-5.0, "negative"), ("1" * 400, "not an amount"),
    ("2000000000000", "more than the limit of"), ("1,2", "not an amount"), (float("inf"), "not an amount"),
    ("1200.505", "a fraction of a fen"), (0.001, "a fraction of a fen"),
])
def test_funds_that_cannot_be_read_say_why(raw, says):
    """Words, negatives, absurd sizes (400 digits) are refused, never a crash."""
    with pytest.raises(InvalidInput, match=says):
        parse_money(raw)


@pytest.mark.parametrize("raw, expected", [("371721", "371721"), (371721.0, "371721"), (" ３７１７２１ ", "371721"),
                                           ("3717", "371700"), (3717.0, "371700"), ("菏泽市", "371700"),
                                           ("曹县", "371721"), ("菏泽市曹县", "371721")])
def test_region_codes_and_names_read_from_text_or_number_cells(raw, expected):
    """A division code typed as a number comes back as its six digits; a city's code or a division's name reads
    as that division, as `case report --region` reads it (engine.domain.regions.read)."""
    assert parse_region(raw) == expected


@pytest.mark.parametrize("raw, says", [("37172a", "not a region code"), ("3717210", "not a region code"),
                                       ("371799", "371799 is not a known administrative division code"),
                                       ("市中区", "names 4 divisions")])
def test_a_region_that_is_no_division_of_the_list_is_refused(raw, says):
    """Neither a code of the national list nor one division's name: refused, saying why."""
    with pytest.raises(InvalidInput, match=says):
        parse_region(raw)


def test_text_is_trimmed_and_line_breaks_inside_chinese_names_vanish():
    """A break Excel put in 某化工\\n有限公司 joins without a space; Latin words get one; long fields keep breaks."""
    assert clean_text(" \u3000某化工\n有限公司\r\n") == "某化工有限公司"
    assert clean_text("Acme\nChemicals") == "Acme Chemicals"
    assert clean_text("1. 加装报警\r\n2. 联锁", multiline=True) == "1. 加装报警\n2. 联锁"
    assert clean_text(1234.0) == "1234"


def test_text_is_bounded_and_has_no_control_characters():
    """Text over the engine's longest (MAX_TEXT_CHARS, 20,000), or over a given limit, or with a control character
    is refused (each field's own limit is the row reader's: test_ledger_rows)."""
    assert TEXT_LIMIT == 20_000 and clean_text("a" * TEXT_LIMIT) == "a" * TEXT_LIMIT
    with pytest.raises(InvalidInput, match="20,001 characters is more than the limit of 20,000"):
        clean_text("a" * (TEXT_LIMIT + 1))
    with pytest.raises(InvalidInput, match="11 characters is more than the limit of 10"):
        clean_text("a" * 11, limit=10)
    with pytest.raises(InvalidInput, match="control character"):
        clean_text("液氨\x00储罐")
    with pytest.raises(InvalidInput, match=r"U\+001B"):
        clean_text("\x1b[31m红")


@pytest.mark.parametrize("word, level", [("一般", "general"), ("一般隐患", "general"), ("一般事故隐患", "general"),
                                         ("重大", "major"), ("重大隐患", "major"), ("重大事故隐患", "major"),
                                         (" 重大 隐患 ", "major"), ("major", "major"), ("General", "general")])
def test_level_words(word, level):
    """Every way ledgers write a level, and the field values themselves."""
    assert shipped_words().values["level"][value_key(word)] == level


@pytest.mark.parametrize("word, stage", [
    ("已整改", "verifying"), ("整改完成", "verifying"), ("整改中", "rectifying"), ("未整改", "reported"),
    ("待验收", "verifying"), ("已验收", "verified"), ("验收合格", "verified"), ("关闭", "closed"),
    ("开放", "reported"), ("已销号", "closed"), ("不合格", "rectifying"), ("rectifying", "rectifying"),
])
def test_state_and_result_words_map_to_a_stage_of_the_closed_loop(word, stage):
    """States and results as offices write them land on one of the six stages."""
    assert shipped_words().values["progress"][value_key(word)] == stage


anything = st.one_of(st.text(max_size=60), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                     st.booleans(), st.dates(), st.datetimes(), st.times(), st.none(),
                     st.text(alphabet="0123456789年月日-/.: T万元,¥", max_size=30))


@given(anything)
def test_date_parser_raises_only_invalid_input(raw):
    """Whatever a cell holds, reading it as a date gives a bounded day or moment, None, or InvalidInput."""
    try:
        value = parse_date(raw)
    except InvalidInput:
        return
    if value is not None:
        day = value.date() if isinstance(value, datetime) else value
        assert EARLIEST_YEAR <= day.year <= LATEST_YEAR
        assert not isinstance(value, datetime) or value.tzinfo is not None


@given(anything)
def test_money_parser_raises_only_invalid_input(raw):
    """Whatever a cell holds, reading it as funds gives a non-negative bounded amount, None, or InvalidInput."""
    try:
        value = parse_money(raw)
    except InvalidInput:
        return
    assert value is None or Decimal("0") <= Decimal(value) <= Decimal("1e12")


@given(anything)
def test_region_and_text_parsers_raise_only_invalid_input(raw):
    """Region codes and text never fail with anything but InvalidInput; text comes back trimmed."""
    try:
        assert parse_region(raw) is None or len(parse_region(raw)) == 6
    except InvalidInput:
        pass
    try:
        text = clean_text(raw)
    except InvalidInput:
        return
    assert text == text.strip()


@given(st.dates(min_value=date(EARLIEST_YEAR, 1, 1), max_value=date(LATEST_YEAR, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}",
                        "{y} 年 {m} 月 {d} 日", "serial"]))
def test_a_day_written_any_way_reads_back_as_itself(day, form):
    """Round trip: a day written in any supported form, or as its Excel serial, parses back to the same day."""
    text = str((day - date(1899, 12, 30)).days) if form == "serial" else form.format(y=day.year, m=day.month, d=day.day)
    assert parse_date(text) == day
    assert parse_date(date_text(day)) == day


@given(st.decimals(min_value=0, max_value=Decimal("999999999999"), places=2))
def test_an_amount_reads_back_as_itself(amount):
    """Round trip: an amount in the engine's form, with thousands separators, or in 万, reads back equal."""
    text = f"{amount:.2f}"
    assert parse_money(text) == text
    assert parse_money(f"{amount:,.2f}元") == text
    assert Decimal(parse_money(f"{amount / 10000}万")) == amount.quantize(Decimal("0.01"))
