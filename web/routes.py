"""Routes added to the application one by one, flat, instead of `include_router`.

FastAPI (0.16x) keeps an included router as a branch matched at request time: each request walks the branches,
building a scope per candidate, and matches the chosen branch twice; over our ~55 routes that was half a
millisecond a request, a 404 the most (bench/bench_http.py). A route added to the application itself is matched
by one regular expression. `add(app, router, ...)` adds a router's routes so, with what `include_router` would
have combined (prefix, tags, dependencies, responses), so the OpenAPI document is the same.

`wrap` (optional) replaces each route's endpoint by `wrap(endpoint)` (web/auth.py's `in_one_thread`).
"""
from __future__ import annotations

from fastapi.routing import APIRoute


def add(app, router, *, prefix: str = "", tags: list | None = None, dependencies: list | None = None,
        responses: dict | None = None, wrap=None) -> None:
    for route in router.routes:
        if not isinstance(route, APIRoute):  # every route of ours is a FastAPI route: say so if one is not
            raise TypeError(f"{route!r} is not an APIRoute: web/routes.py adds only those")
        endpoint = wrap(route.endpoint) if wrap else route.endpoint
        app.router.add_api_route(
            prefix + route.path, endpoint, methods=route.methods, name=route.name,
            response_model=route.response_model, status_code=route.status_code, response_class=route.response_class,
            tags=[*(tags or ()), *route.tags], dependencies=[*(dependencies or ()), *route.dependencies],
            summary=route.summary, description=route.description, response_description=route.response_description,
            responses={**(responses or {}), **route.responses}, deprecated=route.deprecated,
            operation_id=route.operation_id, include_in_schema=route.include_in_schema,
            response_model_include=route.response_model_include, response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none, callbacks=route.callbacks,
            openapi_extra=route.openapi_extra, generate_unique_id_function=route.generate_unique_id_function)
