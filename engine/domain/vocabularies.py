"""The words a case is counted by (levels, sources, industries) and the roles users act in: labels, aliases.

`engine/domain/data/vocabulary.yaml` holds them; this module reads it once per process. A value given by a user or
a ledger is accepted when it is a term or one of its aliases (compared without spaces, full-width forms
folded), and stored as the term; everything shown gets the term's Chinese label.
"""
from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from engine.domain.errors import InvalidInput

KINDS = ("levels", "sources", "industries", "roles", "actions", "flags", "tiers", "warnings", "evidence")
DATA = os.path.join(os.path.dirname(__file__), "data", "vocabulary.yaml")
# What PyYAML read from DATA, kept as JSON beside the text it was read from (the way Python keeps bytecode beside a
# module): importing PyYAML is about a tenth of a short command's whole process, and `case show` needs nothing
# else of it. Read only while the text is the same, character for character; written again whenever it is not.
READ_COPY = os.path.join(os.path.dirname(DATA), "__pycache__", "vocabulary.yaml.json")
_OPTION = {"levels": "level", "sources": "source", "industries": "industry", "roles": "role", "actions": "action",
           "flags": "flag", "tiers": "tier", "warnings": "warning", "evidence": "kind"}


@dataclass(frozen=True)
class Term:
    value: str
    label: str
    en: str
    aliases: tuple[str, ...]
    short: str = ""    # the label where a table is narrow (重大 for 重大事故隐患); the label itself by default
    grades: tuple[str, ...] = ()  # words read as aliases that say more than the term (a level's 1级, 较大隐患)


@dataclass(frozen=True)
class Vocabulary:
    kind: str
    terms: dict            # value -> Term, in the file's order
    lookup: dict           # folded value, label or alias -> value

    def resolve(self, text: str | None) -> str | None:
        """The term `text` names, or None."""
        if text is None:
            return None
        return self.lookup.get(fold(str(text)))

    def check(self, text: str | None) -> str:
        """The term `text` names, or InvalidInput listing the terms."""
        value = self.resolve(text)
        if value is None:
            field = _OPTION[self.kind]
            raise InvalidInput(f"{field} '{text}' is not one of: {', '.join(self.choices())}", field=field,
                               rule="vocabulary")
        return value

    def label(self, value: str | None, *, short: bool = False) -> str:
        term = self.terms.get(value or "")
        if term is None:
            return value or ""
        return (term.short or term.label) if short else term.label

    def choices(self) -> list[str]:
        return [f"{t.value} ({t.label})" if t.label != t.value else t.value for t in self.terms.values()]


def fold(text: str) -> str:
    """Full-width forms to half-width and inner whitespace ignored: how offices' spellings compare. In a Chinese
    word the case of a Latin letter is ignored too (Ⅰ级, I级 and i级 are one word, as a ledger's reader takes
    them); a word of Latin letters alone is a stored value and is compared exactly (`major`, not `Major`)."""
    folded = "".join(unicodedata.normalize("NFKC", text).split())
    return folded if folded.isascii() else folded.casefold()


@lru_cache(maxsize=1)
def vocabularies() -> dict[str, Vocabulary]:
    raw = _read_data()
    result = {}
    for kind in KINDS:
        terms, lookup = {}, {}
        for value, spec in (raw.get(kind) or {}).items():
            spec = spec or {}
            term = Term(str(value), str(spec.get("label") or value), str(spec.get("en") or ""),
                        tuple(str(a) for a in spec.get("aliases") or ()), str(spec.get("short") or ""),
                        tuple(str(g) for g in spec.get("grades") or ()))
            terms[term.value] = term
            for word in (term.value, term.label, *term.aliases, *term.grades):
                lookup.setdefault(fold(word), term.value)
        result[kind] = Vocabulary(kind, terms, lookup)
    return result


def _read_data() -> dict:
    with open(DATA, encoding="utf-8") as handle:
        text = handle.read()
    copy = _read_copy()
    if copy is not None and copy.get("text") == text:
        return copy["data"]
    import yaml
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    _keep_copy(text, data)
    return data


def _read_copy() -> dict | None:
    try:
        with open(READ_COPY, encoding="utf-8") as handle:
            copy = json.load(handle)
    except (OSError, ValueError):  # none yet, or one half written by a process killed before os.replace
        return None
    return copy if isinstance(copy, dict) else None


def _keep_copy(text: str, data) -> None:
    """Best effort, as for bytecode: a read-only install just reads the YAML each time. Written where
    PYTHONDONTWRITEBYTECODE is set too: it is data, not bytecode, and such machines are where every start counts.
    JSON keeps what the vocabulary holds (text, lists, numbers, booleans) as it was; a value it would change (a
    date, a number as a key) keeps the file out of the copy."""
    try:
        body = json.dumps({"text": text, "data": data}, ensure_ascii=False)
        if json.loads(body)["data"] != data:
            return
        os.makedirs(os.path.dirname(READ_COPY), exist_ok=True)
        partial = f"{READ_COPY}.{os.getpid()}"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.replace(partial, READ_COPY)  # whole or not at all, whichever process writes last
    except (OSError, TypeError, ValueError):
        return


def levels() -> Vocabulary:
    return vocabularies()["levels"]


def sources() -> Vocabulary:
    return vocabularies()["sources"]


def industries() -> Vocabulary:
    return vocabularies()["industries"]


def roles() -> Vocabulary:
    return vocabularies()["roles"]


def actions() -> Vocabulary:
    return vocabularies()["actions"]


def flags() -> Vocabulary:
    return vocabularies()["flags"]


def evidence() -> Vocabulary:
    """The kinds of evidence a file attached to a case is (`hazard case attach --kind`)."""
    return vocabularies()["evidence"]


def label_of(kind: str, value, *, short: bool = False) -> str:
    """The Chinese label of an enumerated value the engine shows: a hazard level or a supervision tier
    (`level`), a rung's action or warning, a flag, a role (`system` included), a source (an escalation's
    linked case's source names the rung that opened it); the value itself when it has none. `short`: the
    term's short label where the vocabulary gives one (重大, 一般), for narrow tables."""
    if value is None or value == "":
        return ""
    if kind == "roles" and value == "system":  # the engine's own role (the scheduler's), no user's
        return "系统"
    table = vocabularies()
    if kind == "level":
        vocabulary = table["levels"] if value in table["levels"].terms else table["tiers"]
        return vocabulary.label(value, short=short)
    if kind == "source":
        if str(value).startswith("escalation:"):
            return f"督办转办（{table['actions'].label(str(value).split(':', 1)[1])}）"
        kind = "sources"
    return table[kind].label(str(value), short=short)
