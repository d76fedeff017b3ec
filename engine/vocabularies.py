"""The words a case is counted by: levels, sources and industries, with their labels and aliases (data).

`engine/data/vocabulary.yaml` holds them; this module reads it once per process. A value given by a user or
a ledger is accepted when it is a term or one of its aliases (compared without spaces, full-width forms
folded), and stored as the term; everything shown gets the term's Chinese label.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
import os

from engine.errors import InvalidInput

KINDS = ("levels", "sources", "industries")
DATA = os.path.join(os.path.dirname(__file__), "data", "vocabulary.yaml")
_OPTION = {"levels": "level", "sources": "source", "industries": "industry"}


@dataclass(frozen=True)
class Term:
    value: str
    label: str
    en: str
    aliases: tuple[str, ...]


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

    def label(self, value: str | None) -> str:
        term = self.terms.get(value or "")
        return term.label if term else (value or "")

    def choices(self) -> list[str]:
        return [f"{t.value} ({t.label})" if t.label != t.value else t.value for t in self.terms.values()]


def fold(text: str) -> str:
    """Full-width forms to half-width and inner whitespace ignored: how offices' spellings compare."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@lru_cache(maxsize=1)
def vocabularies() -> dict[str, Vocabulary]:
    import yaml

    with open(DATA, encoding="utf-8") as handle:
        text = handle.read()
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    result = {}
    for kind in KINDS:
        terms, lookup = {}, {}
        for value, spec in (raw.get(kind) or {}).items():
            spec = spec or {}
            term = Term(str(value), str(spec.get("label") or value), str(spec.get("en") or ""),
                        tuple(str(a) for a in spec.get("aliases") or ()))
            terms[term.value] = term
            for word in (term.value, term.label, *term.aliases):
                lookup.setdefault(fold(word), term.value)
        result[kind] = Vocabulary(kind, terms, lookup)
    return result


def levels() -> Vocabulary:
    return vocabularies()["levels"]


def sources() -> Vocabulary:
    return vocabularies()["sources"]


def industries() -> Vocabulary:
    return vocabularies()["industries"]
