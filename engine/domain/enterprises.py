"""An enterprise as a user is bound to it: its name, or its unified social credit code (统一社会信用代码).

A binding (`hazard user add ... --enterprise ENTERPRISE`) is read by `read_binding`: 16 to 20 ASCII letters and
digits (a digit among them) are a credit code, typed with a character too many or too few perhaps, and must be one
(GB 32100-2015: 18 characters, the code's character set and its check character); anything else is the enterprise's
name, kept as `case report` keeps a case's enterprise (trimmed, one line, at most 200 characters), so a name binding
matches a case's enterprise exactly. A code matches a case whose workflow records the code in a field named
`credit_code` (`acts_for`); the built-in workflows have no such field, so under them a user bound by code acts on no
case until a workflow records one: bind by name there.
"""
from __future__ import annotations

import unicodedata
from typing import Mapping

from engine.domain import limits
from engine.domain.errors import InvalidInput

# The field a workflow records a case's credit code in, if it records one.
CREDIT_CODE_FIELD = "credit_code"
CODE_LENGTH = 18
# GB 32100-2015 4.3: the digits and the capital letters but I, O, Z, S and V, valued 0..30 in this order.
CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(CODE_CHARS)}
# The weight of each of the first 17 characters: 3^(i-1) mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(CODE_LENGTH - 1))


def check_character(body: str) -> str:
    """The 18th character of a code whose first 17 are `body` (each one of CODE_CHARS)."""
    total = sum(_VALUE[char] * weight for char, weight in zip(body, WEIGHTS))
    return CODE_CHARS[(31 - total % 31) % 31]


def _looks_like_code(text: str) -> bool:
    """ASCII letters and digits only, with a digit: what a code typed with a character too many or too few is."""
    return text.isascii() and text.isalnum() and any(ch.isdigit() for ch in text)


def read_credit_code(raw: str) -> str:
    """A unified social credit code as the engine keeps it (capital letters, half-width), or InvalidInput saying
    what is wrong with it."""
    text = unicodedata.normalize("NFKC", str(raw)).strip().upper()
    if len(text) != CODE_LENGTH:
        raise InvalidInput(f"enterprise: {limits.shown(text)} has {len(text)} characters; a unified social credit "
                           f"code has {CODE_LENGTH}", field="enterprise", rule="credit-code")
    for position, char in enumerate(text, start=1):
        if char not in _VALUE:
            raise InvalidInput(f"enterprise: {text} has '{char}' at position {position}, which no unified social "
                               "credit code holds (digits and capital letters but I, O, Z, S, V)",
                               field="enterprise", rule="credit-code")
    expected = check_character(text[:-1])
    if text[-1] != expected:
        raise InvalidInput(f"enterprise: {text} is not a valid unified social credit code: its check character is "
                           f"'{text[-1]}', the first 17 give '{expected}' (a character mistyped?)",
                           field="enterprise", rule="credit-code")
    return text


def is_credit_code(binding: str) -> bool:
    """Whether a binding `read_binding` returned is a code (else it is a name)."""
    return len(binding) == CODE_LENGTH and all(char in _VALUE for char in binding) and \
        check_character(binding[:-1]) == binding[-1]


def read_binding(raw: str | None) -> str:
    """The enterprise a user is bound to: a credit code (checked), or a name as a case keeps it."""
    text = (raw if isinstance(raw, str) else "").strip()
    if not text:
        raise InvalidInput("enterprise: give the enterprise's name or its unified social credit code",
                           field="enterprise", rule="requires")
    folded = unicodedata.normalize("NFKC", text).upper()
    if _looks_like_code(folded) and abs(len(folded) - CODE_LENGTH) <= 2:
        return read_credit_code(folded)
    limits.check_text(text, field="enterprise", label="enterprise", max_chars=limits.MAX_NAME_CHARS)
    return text


def acts_for(binding: str | None, enterprise: str | None, fields: Mapping | None = None) -> bool:
    """Whether a case of `enterprise` (with its `fields`) is the bound enterprise's: its name the same, or, for a
    code, its `credit_code` field the same. An unbound user (None) is bound to no enterprise."""
    if binding is None:
        return True
    if is_credit_code(binding):
        return (fields or {}).get(CREDIT_CODE_FIELD) == binding
    return enterprise == binding
