"""Bounded request bodies: a body larger than its path's limit is refused (413) before it is read whole.

A pure ASGI middleware (no per-request task or copy, unlike Starlette's BaseHTTPMiddleware): a declared
`Content-Length` over the limit is answered at once, without reading the body; a body sent in chunks is
counted as it arrives and refused at the first byte past the limit (`web.errors.TooLarge`, an HTTPException
the application's handler answers with the error document). Uploads have their own, larger limit.
"""
from __future__ import annotations

import re

from starlette.exceptions import HTTPException


class TooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the request's body is larger than {limit:,} bytes, the most this server takes here")


class BodyLimit:
    """`uploads`: exact paths with their own limit; `patterns`: (regular expression, limit) for paths with a
    part that varies (a case's attachments)."""

    def __init__(self, app, *, limit: int, uploads: dict[str, int] | None = None,
                 patterns: list[tuple] | None = None):
        self.app, self.limit, self.uploads = app, limit, uploads or {}
        self.patterns = [(re.compile(p) if isinstance(p, str) else p, n) for p, n in patterns or ()]

    def _limit(self, path: str) -> int:
        path = path.rstrip("/")
        if path in self.uploads:
            return self.uploads[path]
        return next((n for p, n in self.patterns if p.fullmatch(path)), self.limit)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self._limit(scope["path"])
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _refuse(scope, send, limit)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        await self.app(scope, counted, send)


async def _refuse(scope, send, limit: int) -> None:
    from engine.domain.documents import error_document
    from engine.domain.errors import InvalidInput
    from web.responses import document
    error = InvalidInput(str(TooLarge(limit).detail), rule="too-large")
    response = document(error_document(error), status=413, headers={"Connection": "close"})
    await response(scope, _nothing, send)


async def _nothing():
    return {"type": "http.disconnect"}
