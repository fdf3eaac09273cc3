"""The OpenAPI document describes the service, judged by Schemathesis: generated requests
(valid ones, with a valid token) find no 5xx, no status the document does not list, and no
response that breaks the document's schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import User
from tests.http_fixtures import ServerThread, token_for

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


def test_the_document_states_the_contract(service: ServerThread) -> None:
    document: dict[str, Any] = httpx.get(f"{service.url}/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                     "description": schemes["bearerAuth"]["description"]}
    for path in ("/sessions/ai", "/ai-sessions", "/ai/recipes/draft"):
        operation = document["paths"][path]["post"]
        assert operation["security"] == [{"bearerAuth": []}]
        statuses = set(operation["responses"])
        assert {"400", "401", "403", "413", "429", "500", "503"} <= statuses, path
        assert ("422" in statuses) == (path == "/ai/recipes/draft"), path  # no phantom 422
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"}
    commands = document["components"]["schemas"]
    model = commands["CreateAiSessionCommand"]["properties"]["model"]
    assert model["enum"] == ["openai/gpt-4o-mini", "local/rules"]


def test_schemathesis_finds_no_5xx_undocumented_status_or_schema_break(
    service: ServerThread, make_user: Any, tmp_path: Path
) -> None:
    user: User = make_user("schemathesis")
    report = tmp_path / "junit.xml"
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{service.url}/openapi.json",
         "--header", f"Authorization: Bearer {token_for(user)}", "--checks", CHECKS,
         "--mode", "positive", "--max-examples", "40", "--seed", "20261126",
         "--generation-database", ":memory:", "--report", "junit",
         "--report-junit-path", str(report)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary  # non-zero on any failed check
    assert "Fuzzing" in summary and "passed" in summary, summary
