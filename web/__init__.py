"""The web face of the engine: `hazard serve` runs it; a face beside cli/, with no rule and no SQL of its own.

    app.py        the ASGI application (FastAPI): create_app, /healthz, error handlers, the shipped assets
    api/          /api/v1: one router per group of commands (cases, audit, reports, ledger, workflows)
    routes.py     routers' routes added to the application flat (FastAPI's included routers are slow to match)
    auth.py       who is calling (bearer tokens; the pages' sessions join here), checked in the route's thread
    calls.py      every engine call, with the caller (reads marked `# scope:`)
    models.py     request and response bodies (pydantic): the OpenAPI document's types
    responses.py  documents as `hazard --json` prints them, files to download
    errors.py     exit codes to HTTP statuses; the error document
    bodies.py     bounded request bodies

Like cli/, it parses, calls `engine.Engine`, and presents what the engine answers (`engine.documents`).
Imported only by `hazard serve` (and tests): no other command pays for FastAPI.
"""
