"""/functions/v1 on the local API reaches the AI service, with CORS for browsers."""

from __future__ import annotations

import httpx

from python_functions.local.api import create_app as create_local_api
from python_functions.local.cluster import free_port
from python_functions.service.settings import DEV_JWT_SECRET
from tests.conftest import User
from tests.http_fixtures import ServerThread, token_for


def test_an_ai_route_answers_through_the_local_api(api_http: httpx.Client,
                                                   alice: User) -> None:
    response = api_http.post("/functions/v1/sessions/ai", json={"startNow": False, "maxPullups": 8},
                             headers={"Authorization": f"Bearer {token_for(alice)}"})
    assert response.status_code == 201, response.text
    assert response.json()["data"]["session"]["status"] == "planned"
    assert response.headers["x-request-id"]


def test_the_service_errors_come_through_unchanged(api_http: httpx.Client) -> None:
    response = api_http.post("/functions/v1/sessions/ai", json={})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_cors_preflight_for_functions(api_http: httpx.Client) -> None:
    response = api_http.options("/functions/v1/ai-sessions", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-client-info, apikey, content-type"})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"


def test_an_unreachable_service_is_a_relay_error(database_url: str) -> None:
    app = create_local_api(database_url, DEV_JWT_SECRET, f"http://127.0.0.1:{free_port()}",
                              "http://127.0.0.1")
    with ServerThread(app) as server:
        response = httpx.post(f"{server.url}/functions/v1/sessions/ai", json={})
    assert response.status_code == 502
    assert response.headers["x-relay-error"] == "true"
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"


def test_the_service_answers_cors_preflights_itself(http: httpx.Client) -> None:
    for path in ("/sessions/ai", "/functions/v1/sessions/ai"):
        response = http.options(path, headers={
            "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-client-info, apikey,"
                                              " content-type"})
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == "*"
