"""The answers: a JSON document as `hazard --json` prints it, or a file to download.

`DocumentResponse` encodes with the engine's own `json_default` (instants in Asia/Shanghai, as the documents
say them), in UTF-8 without escaping Chinese: the bytes a client gets are the document, not FastAPI's
re-encoding of it (whose `isoformat` would give UTC offsets). A route returns one, so FastAPI neither
validates nor converts the body; the route's `response_model` describes it in the OpenAPI document, and
tests/test_web_api.py checks each answer against that model.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from starlette.responses import Response

from engine.domain.documents import json_default


# What every answer of the API says besides its body: not to be sniffed as another type (a JSON string read as
# HTML), and not to be kept by a shared cache (the documents are a user's view of the register).
PLAIN = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class DocumentResponse(Response):
    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=json_default, separators=(",", ":")).encode("utf-8")


def document(content, *, status: int = 200, headers: dict | None = None) -> DocumentResponse:
    return DocumentResponse(content, status_code=status, headers={**PLAIN, **(headers or {})})


MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "json": "application/json"}


def download(data: bytes | str, *, fmt: str, filename: str | None = None) -> Response:
    """A file as the CLI writes it with --output: its bytes, its type, and (for a named file) the name to save it
    under, in RFC 6266's two forms (an ASCII fallback and the UTF-8 name) so a Chinese name survives."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    headers = dict(PLAIN)
    if filename:
        fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in filename)
        headers["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, media_type=MEDIA[fmt], headers=headers)
