"""The OpenAPI document, made to describe what the service really answers.

FastAPI's generated document is completed here: the bearer `securityScheme` on every AI
route; the shared error body on every error status a route can answer (the route's own,
plus 400, 401, 403, 413, 429, 500 and 503, which every AI route may give); no phantom 422
(validation errors are 400 here); and the model allow-list of this deployment as an enum.
Schemathesis runs against this document in the test suite.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from python_functions.service.settings import Settings


class ErrorBody(BaseModel):
    """Every error: the shared body (a contract may add fields, e.g. recipes' `reasons`)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="UPPER_SNAKE error code, e.g. VALIDATION_ERROR")
    message: str
    details: Any = None
    hint: str | None = None
    error: str = Field(description="The message again, where supabase-py's FunctionsHttpError"
                       " reads it (an edge function's `{error}`)")


class Health(BaseModel):
    status: str
    database: str
    provider: dict[str, Any]


_COMMON_ERRORS = {
    400: "Bad input: malformed JSON, a wrong type, a value out of range (`details.field`)",
    401: "Missing, forged or expired token",
    403: "Not allowed (an anonymous user) or a quota spent",
    413: "Request body too large",
    429: "A per-user rate limit; `Retry-After` says when to try again",
    500: "Unexpected server error (INTERNAL); details only in the server's log",
    503: "The database (or the OCR) is unavailable; `Retry-After`",
}
_MODEL_COMMANDS = ("GenerateAiSessionCommand", "CreateAiSessionCommand")


def install(app: FastAPI, settings: Settings) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["ErrorBody"] = ErrorBody.model_json_schema()
        schemas["Health"] = Health.model_json_schema()
        components["securitySchemes"] = {"bearerAuth": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A Supabase user access token (aud=authenticated)"}}
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if path != "/ai/recipes/draft":  # its 422 is a real one: NOT_A_SINGLE_RECIPE
                    responses.pop("422", None)
                if path == "/health":
                    for status in ("200", "503"):
                        responses[status] = {
                            "description": "Healthy" if status == "200" else "Degraded",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Health"}}}}
                    continue
                operation["security"] = [{"bearerAuth": []}]
                for common, description in _COMMON_ERRORS.items():
                    responses.setdefault(str(common), {"description": description})
                for code, response in responses.items():
                    if int(code) >= 400:
                        response["content"] = error_ref
                        response.setdefault("description", "Error")
        for name in _MODEL_COMMANDS:
            model = schemas.get(name, {}).get("properties", {}).get("model")
            if model is not None:
                target = next((s for s in model.get("anyOf", []) if s.get("type") == "string"),
                              model)
                target["enum"] = settings.allowed_models
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
