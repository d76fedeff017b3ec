"""Which photo of a ledger's photo folder belongs to which row (*pure*): names in, matches and leftovers out.

Real systems' import templates ask for the photos beside the sheet named by the row's hazard code and a serial
number: `隐患编码-流水号.jpg` (`YH-2024-001-1.jpg`, `YH-2024-001-2.jpg`). A code may itself hold hyphens, so a
name is matched to the longest row code it starts with, followed by a hyphen, an underscore or nothing; what
follows the code (the serial, and any words) is the photo's own. A word in it names what the photo shows:
`YH-2024-001-整改-1.jpg` is a rectification photo (整改照片), `…-验收.pdf` acceptance material; without such a word a
photo is the hazard as found (隐患照片), which is what the templates' column asks for. Codes are compared as the
sheet writes them, with surrounding blanks and letter case ignored (`yh-2024-001` is `YH-2024-001`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

# A word in the part of a name after the code -> the evidence kind (engine/domain/data/vocabulary.yaml);
# the first listed that the part holds wins. Without one: `found`.
KIND_WORDS = (
    ("整改后", "rectified"), ("整改", "rectified"), ("rectified", "rectified"), ("after", "rectified"),
    ("验收", "acceptance"), ("acceptance", "acceptance"),
    ("方案", "plan"), ("plan", "plan"),
    ("纪要", "minutes"), ("minutes", "minutes"),
    ("回执", "notice"), ("送达", "notice"),
    ("整改前", "found"), ("隐患", "found"), ("before", "found"),
)
DEFAULT_KIND = "found"
_SEPARATORS = ("-", "_", "－", " ")


@dataclass(frozen=True)
class Photo:
    name: str      # the file's name as shown and sealed (its base name)
    source: str    # where it is read from: a path, or a zip member's name
    kind: str


@dataclass
class Matched:
    by_code: dict = field(default_factory=dict)   # normalised code -> [Photo], in name order
    unmatched: list = field(default_factory=list)  # names no row's code starts


def normalise(code: str) -> str:
    return code.strip().upper()


def kind_of(rest: str) -> str:
    """The evidence kind the part of a name after its code says (`-整改-1` -> rectified)."""
    lowered = rest.lower()
    for word, kind in KIND_WORDS:
        # "整改前" (before rectification) holds "整改": the longer words are listed and tried first where it matters.
        if word in lowered and not (word == "整改" and "整改前" in lowered):
            return kind
    return DEFAULT_KIND


def match(files: list[tuple[str, str]], codes: set[str]) -> Matched:
    """`files`: (name, source) of each photo; `codes`: the rows' hazard codes, normalised. Each file goes to the
    longest code its name (without extension) starts with, followed by a separator or nothing."""
    by_length = sorted(codes, key=len, reverse=True)
    found = Matched()
    for name, source in sorted(files):
        stem = normalise(os.path.splitext(name)[0])
        code = next((c for c in by_length if c and stem.startswith(c)
                     and (len(stem) == len(c) or stem[len(c)] in _SEPARATORS)), None)
        if code is None:
            found.unmatched.append(name)
            continue
        found.by_code.setdefault(code, []).append(Photo(name=name, source=source, kind=kind_of(stem[len(code):])))
    return found
