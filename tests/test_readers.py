"""One reader per kind of value (issues 16 and 17): regions, case ids, days and times, money, states and
vocabulary words, read alike by the ledger import and the live commands. Pure: no database."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given, settings, strategies as st

from engine.domain import regions, vocabularies
from engine.domain.clock import SHANGHAI, parse_day, parse_time
from engine.domain.definition.model import FieldSpec
from engine.domain.definition.fields_and_guards import coerce, normalise_date
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.filters import CaseFilter, state_named
from engine.ledger.words import shipped_words, value_key
from engine.domain.values import parse_date, parse_money, parse_region, read_case_id

CODES = sorted(regions._table())
WIDE = str.maketrans("0123456789-", "０１２３４５６７８９－")


# -- regions ------------------------------------------------------------------------------------------------------
@settings(max_examples=300)
@given(code=st.sampled_from(CODES))
def test_every_code_of_the_list_reads_as_itself_in_every_form(code):
    """Prefix, six digits, full-width digits (issue 17) and the qualified name all read as the same division."""
    for given_form in (code, regions.six_digits(code), regions.six_digits(code).translate(WIDE), f" {code} "):
        assert regions.read(given_form) == code
    assert regions.read(regions.full_name(code)) == code


def test_a_name_unique_in_the_list_reads_as_its_division():
    """Every division whose name no other shares is found by its name alone."""
    names: dict[str, list[str]] = {}
    for code in CODES:
        names.setdefault(regions.name(code), []).append(code)
    unique = {name: codes[0] for name, codes in names.items() if len(codes) == 1}
    assert len(unique) > 3000
    assert all(regions.read(name) == code for name, code in unique.items())


@pytest.mark.parametrize("text, code", [("曹县", "371721"), ("菏泽市", "3717"), ("菏泽", "3717"), ("山东", "37"),
                                        ("菏泽市曹县", "371721"), ("山东曹县", "371721"), ("济南市市中区", "370103"),
                                        ("广西", "45"), ("延边", "2224"), ("北京朝阳", "110105"), ("浦东", "310115"),
                                        ("３７１７", "3717"), ("371700", "3717"), ("370000", "37")])
def test_names_and_codes_as_users_write_them(text, code):
    """A division's own name, its distinctive part, a name qualified by its parents, or a code in any form."""
    assert regions.read(text) == code


def test_a_code_the_list_does_not_carry_is_refused_naming_what_is_there():
    """`371799` would be a phantom county of Heze in every report: refused, listing Heze's nine divisions."""
    with pytest.raises(InvalidInput) as caught:
        regions.read("371799")
    message = caught.value.message
    assert caught.value.field == "region" and "371799 is not a known administrative division code" in message
    assert "菏泽市 (3717) has:" in message and "曹县 371721" in message and "东明县 371728" in message
    with pytest.raises(InvalidInput, match="the provinces are: 北京市 11"):
        regions.read("99")


@pytest.mark.parametrize("text, within, says", [
    ("市中区", (), "names 4 divisions: 市中区 (370103, 山东省济南市), 市中区 (370402, 山东省枣庄市)"),
    ("市中区", ("37",), "names 2 divisions"), ("城区", (), "城区 (140302, 山西省阳泉市)"),
    ("吉林", (), "吉林省 (220000, a province), 吉林市 (220200, 吉林省)"),
])
def test_a_name_several_divisions_share_is_refused_listing_each_with_its_parents(text, within, says):
    """An ambiguous name is never guessed: each candidate with its parents, and a name that resolves it."""
    with pytest.raises(InvalidInput, match="give the code, or the name with its parent") as caught:
        regions.read(text, within=within)
    assert says in caught.value.message and caught.value.rule == "region-ambiguous"


def test_the_acting_users_regions_narrow_a_shared_name_to_one():
    """For a user of 济南 (3701), 市中区 is Jinan's; for one of 枣庄 (3704), Zaozhuang's."""
    assert regions.read("市中区", within=("3701",)) == "370103"
    assert regions.read("市中区", within=("370400",)) == "370402"
    assert regions.read("朝阳", within=("11",)) == "110105"


@pytest.mark.parametrize("text, says", [("曹", "did you mean: 曹县 (371721, 山东省菏泽市)"),
                                        ("菏则市", "did you mean: 菏泽市 (371700, 山东省)"),
                                        ("37172a", "not a region code"), ("3717210", "not a region code"),
                                        ("", "region is empty"), ("Heze", "is neither a division code")])
def test_what_is_no_division_is_refused_with_suggestions(text, says):
    """A name with a slip is answered with the names it is near; digits that are no code say what a code is."""
    with pytest.raises(InvalidInput, match=re.escape(says)):
        regions.read(text)


@settings(max_examples=300)
@given(text=st.text(max_size=20))
@example("０")
@example("٣٧١٧")
@example("371７00")
@example("  ")
@example("00")
@example("市")
def test_reading_any_text_as_a_region_gives_a_division_or_says_why(text):
    """Whatever is typed or found in a cell: a code of the list, or InvalidInput; never another exception."""
    try:
        code = regions.read(text)
    except InvalidInput as exc:
        assert exc.field == "region" and exc.message
    else:
        assert regions.known(code) and code.isascii()


def test_the_ledger_reads_a_region_as_the_live_commands_do():
    """The import's 行政区划 cell and `case report --region` are one reader: the six digits of the division."""
    for text in ("曹县", "菏泽市曹县", "３７１７２１", 371721.0, "371721"):
        assert parse_region(text) == "371721"
    assert parse_region("菏泽") == regions.six_digits(regions.read("菏泽")) == "371700"


def test_names_for_tables_beside_their_codes():
    """What a table shows for a region: its code and name; the short name for narrow columns."""
    assert regions.code_and_name("371721") == "371721 曹县" and regions.code_and_name("3717") == "3717 菏泽市"
    assert regions.code_and_name("371799") == "371799（区划代码未收录）"
    assert [regions.name_or_code(c) for c in ("3717", "371721", "371799")] == ["菏泽市", "曹县", "371799"]


# -- case ids -------------------------------------------------------------------------------------------------------
@given(year=st.integers(2000, 2100), number=st.integers(1, 999_999), form=st.sampled_from(
    ["{id}", "{lower}", " {id} ", "{wide}", "HZ-{year}-{number}", "hz-{year}-{number:06d}\n"]))
def test_a_case_id_reads_as_the_register_writes_it_in_every_form(year, number, form):
    """hz-2026-000001, ` HZ-2026-000001 `, full-width and unpadded forms are all HZ-2026-000001."""
    canonical = f"HZ-{year}-{number:06d}"
    typed = form.format(id=canonical, lower=canonical.lower(), wide=canonical.translate(WIDE).replace("HZ", "ＨＺ"),
                        year=year, number=number)
    assert read_case_id(typed) == canonical


@given(text=st.text(max_size=30))
@example("")
@example("HZ-2026-")
@example("HZ-2026-0000001234567")
def test_any_text_is_a_case_id_or_no_case(text):
    """Text of no case id's form is no case (exit 5, as for an id the register lacks), never a crash."""
    try:
        found = read_case_id(text)
    except NotFound as exc:
        assert exc.kind == "case" and "a case id reads like HZ-2026-000123" in exc.message
    else:
        assert found.startswith("HZ-") and read_case_id(found) == found


# -- days and times -------------------------------------------------------------------------------------------------
DAY_FORMS = ["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}/{m:02d}/{d:02d}", "{y}.{m}.{d}", "{y}年{m}月{d}日",
             "{y} 年 {m} 月 {d} 日", "{y}年{m}月{d}号", "{y}{m:02d}{d:02d}", "{wide}"]


@given(day=st.dates(date(2000, 1, 1), date(2100, 12, 31)), form=st.sampled_from(DAY_FORMS))
def test_a_day_typed_in_any_form_offices_write_reads_as_the_ledger_reads_it(day, form):
    """`--set deadline=2026/07/30` (issue 16), `--found-from 2026年7月30日`, a ledger cell: the same day."""
    typed = form.format(y=day.year, m=day.month, d=day.day, wide=day.isoformat().translate(WIDE))
    assert normalise_date(typed, "deadline") == day.isoformat()
    assert parse_day(typed, "found_from") == day == parse_date(typed)
    assert parse_time(typed) == datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


@given(moment=st.datetimes(datetime(2000, 1, 1), datetime(2100, 12, 30)).map(lambda m: m.replace(microsecond=0)),
       form=st.sampled_from(["{y}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}", "{y}/{mo}/{d} {h}:{mi:02d}:{s:02d}",
                             "{y}年{mo}月{d}日 {h}时{mi}分{s}秒", "{y}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}+08:00"]))
def test_a_moment_typed_in_any_form_is_a_shanghai_time(moment, form):
    """A time of day is kept, in Asia/Shanghai when no offset is given, stored as ISO with +08:00."""
    typed = form.format(y=moment.year, mo=moment.month, d=moment.day, h=moment.hour, mi=moment.minute,
                        s=moment.second)
    expected = moment.replace(tzinfo=SHANGHAI)
    assert parse_time(typed) == expected
    assert normalise_date(typed, "deadline") == expected.isoformat()


@given(text=st.text(max_size=40))
@example("46082")
@example("2026-02-30")
@example("2026/13/1")
@example("9999-01-01")
@example("2026年3月")
@example("2101-01-01")
@example("2026-07-30T09:00-23:59")
def test_any_text_is_a_date_or_a_refusal_naming_the_field(text):
    """Typed dates never crash: a day or a moment within the engine's years, or InvalidInput naming the field
    (an Excel serial number is a slip when typed: only a ledger's cell may hold one)."""
    try:
        stored = normalise_date(text, "deadline")
    except InvalidInput as exc:
        assert exc.field == "deadline" and exc.message.startswith("field 'deadline'")
    else:
        assert 2000 <= int(stored[:4]) <= 2100 and parse_time(stored)


# -- money ----------------------------------------------------------------------------------------------------------
@given(amount=st.decimals(0, 10**11, places=2), form=st.sampled_from(["{plain}", "{commas}", "{commas}元", "¥{plain}",
                                                                       "{wide}", "{wan}万"]))
def test_money_typed_in_any_form_is_the_yuan_the_ledger_reads(amount, form):
    """`--set funds=15万` and a ledger's 资金 cell are one reader: yuan to the fen."""
    wan = (amount / 10000).normalize()
    typed = form.format(plain=f"{amount:.2f}", commas=f"{amount:,.2f}", wide=f"{amount:.2f}".translate(WIDE),
                        wan=f"{wan:f}")
    if form == "{wan}万" and wan.as_tuple().exponent < -6:
        return  # more decimals of 万 than anyone writes
    assert coerce(FieldSpec("funds", "money"), typed) == parse_money(typed) == f"{amount:.2f}"


@given(text=st.text(max_size=30))
@example("1,2,3")
@example("9" * 60)
@example("-")
@example("0.001")
def test_any_text_is_money_or_a_refusal_naming_the_field(text):
    try:
        stored = coerce(FieldSpec("funds", "money"), text)
    except InvalidInput as exc:
        assert exc.field == "funds"
    else:
        assert Decimal(stored) >= 0 and stored == f"{Decimal(stored):.2f}"


# -- words and states -----------------------------------------------------------------------------------------------
def test_every_word_the_import_knows_for_a_source_industry_or_level_the_live_commands_read_alike():
    """危化 reads as 危险化学品 for `case report --industry` as in a ledger (issue 16): the same term, every word."""
    words = shipped_words()
    for field, vocabulary in (("source", vocabularies.sources()), ("industry", vocabularies.industries()),
                              ("level", vocabularies.levels())):
        for key, term in words.values[field].items():
            assert vocabulary.check(key) == term, (field, key)
    assert vocabularies.industries().check("危化") == "危险化学品"
    assert CaseFilter.of(industry="危化", source="自检").industry == "危险化学品"


STATES = [("major-hazard", "reported", "已上报"), ("major-hazard", "rectifying", "整改中"),
          ("general-hazard", "rectifying", "整改中"), ("major-hazard", "closed", "已销号"),
          ("interview", "held", "已约谈"), ("posted-supervision", "closed", "已摘牌")]


@pytest.mark.parametrize("text, name", [("整改中", "rectifying"), ("rectifying", "rectifying"), ("已上报", "reported"),
                                        ("已销号", "closed"), ("整改 中", "rectifying"), ("RECTIFYING", "rectifying")])
def test_a_state_reads_by_its_name_or_its_label(text, name):
    """`--state 整改中` is rectifying; a label two workflows give the same state is that state."""
    assert state_named(text, STATES, "the installed workflows") == name


def test_a_label_of_two_different_states_is_refused_naming_both():
    states = STATES + [("interview", "held", "已销号")]
    with pytest.raises(InvalidInput, match=r"label of 2 states: closed \(major-hazard\), .*held \(interview\)"):
        state_named("已销号", states, "the installed workflows")
    with pytest.raises(InvalidInput, match=r"no state '完成' in the installed workflows \(states: reported \(已上报\)"):
        state_named("完成", states, "the installed workflows")
