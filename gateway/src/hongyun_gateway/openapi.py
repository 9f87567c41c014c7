"""OpenAPI tweaks: every 4xx/5xx is documented as application/problem+json (Problem schema)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hongyun_gateway.problems import PROBLEM_MEDIA_TYPE, title_for

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_content(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
        if response.get("description") in (None, "", "Validation Error"):
            response["description"] = title_for(int(status))


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    _problem_content(operation["responses"])
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
