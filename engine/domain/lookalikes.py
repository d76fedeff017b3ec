"""Names that read alike: Unicode's confusable skeletons (UTS #39), with case and a name's punctuation folded.

Two user names are one name to a reader when they share a key (`keys`): `zhаng` (Cyrillic а) and `zhang`,
`ｌｉ`, `LI` and `li.` and `li`, `Il` and `ll`, `rn` and `m`. The history prints names, not code points, so a
second name that reads like the first would let one person sign as another.

The skeleton is UTS #39's: NFD, each character replaced by the prototype of its confusable class, NFD again.
The classes come from Unicode's confusables.txt as the confusable-homoglyphs package ships it: made symmetric
(each source lists its prototype, each prototype its sources), which loses which end is the prototype but
not the classes. Each class is a star around its prototype (a source has one target), so the prototype is
the member with the most neighbours, or the only sequence of several characters (sources are single code
points); where a class has two single characters, either stands for both, and equality of keys is all that
is asked of them. Pure: the data is read once, on first use (about 0.1 s, only where a name is checked).
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Iterable

# A name may hold these (engine/domain/grants.py `_NAME`): `li.`, `sys_tem`, `li-` read as `li`, `system`.
NAME_PUNCTUATION = "._-@"
# confusables.txt writes right-to-left characters between direction marks; they are not part of the character.
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f"))


def keys(name: str) -> frozenset[str]:
    """What `name` reads as, compatibility forms folded (ｌｉ) and a name's punctuation dropped (li.): its skeleton
    case-blind (LI as li), its skeleton as written (Il as ll: I is l's look-alike, not i's), and that skeleton
    case-blind again (o0 as oo: 0 is O's look-alike)."""
    folded = "".join(c for c in unicodedata.normalize("NFKC", name) if c not in NAME_PUNCTUATION)
    as_written = skeleton(folded)
    return frozenset({skeleton(folded.casefold()), as_written, skeleton(as_written.casefold())})


def looks_like(name: str, other: str) -> bool:
    return not keys(name).isdisjoint(keys(other))


def first_lookalike(name: str, others: Iterable[str]) -> str | None:
    """The first of `others` (other than `name` itself) that reads like `name`, or None."""
    mine = keys(name)
    return next((other for other in others if other != name and not mine.isdisjoint(keys(other))), None)


def skeleton(text: str) -> str:
    """UTS #39's skeleton of `text` (to compare, never to show: it mixes scripts)."""
    prototypes = _prototypes()
    found = unicodedata.normalize("NFD", text)
    for _ in range(3):  # a prototype of several characters may hold characters mapped in turn (rn -> r, n)
        mapped = unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in found))
        if mapped == found:
            break
        found = mapped
    return found


def strangers(name: str) -> list[str]:
    """The characters of `name` outside ASCII, as `U+0430 CYRILLIC SMALL LETTER A`: what makes a look-alike."""
    return [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in dict.fromkeys(name) if not c.isascii()]


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Each character that has a confusable prototype other than itself -> that prototype."""
    from confusable_homoglyphs.confusables import confusables_data

    neighbours: dict[str, set[str]] = {}
    for char, glyphs in confusables_data.items():
        source = char.translate(_MARKS)
        for glyph in glyphs:
            target = glyph["c"].translate(_MARKS)
            if source and target and source != target:
                neighbours.setdefault(source, set()).add(target)
                neighbours.setdefault(target, set()).add(source)
    mapping, seen = {}, set()
    for start in neighbours:
        if start in seen:
            continue
        members, todo = set(), [start]
        while todo:
            member = todo.pop()
            if member not in members:
                members.add(member)
                todo.extend(neighbours[member])
        seen |= members
        prototype = max(members, key=lambda m: (len(neighbours[m]), len(m) > 1, m.isascii(), -ord(m[0])))
        mapping.update({m: prototype for m in members if len(m) == 1 and m != prototype})
    return mapping
