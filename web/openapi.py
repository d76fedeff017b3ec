"""The OpenAPI document of the HTTP API, generated from the code; docs/openapi.json is a copy a test keeps current.

    python -m web.openapi > docs/openapi.json
"""
from __future__ import annotations

import json


def document() -> dict:
    """The document /openapi.json serves (no database is needed to build it)."""
    from web.app import create_app
    return create_app(engine=object()).openapi()


def main() -> None:
    print(json.dumps(document(), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
