"""What the web face keeps of an uploaded file's name: shown only (in documents and records), never used as a path."""
from __future__ import annotations

from web.models import text_problem


def shown_name(given: str | None) -> str:
    """The name a client gave its file, as shown: its last part, without control characters, at most 200 characters."""
    last = (given or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    kept = "".join(ch for ch in last if not text_problem(ch)) or "upload"
    return kept[-200:]
