"""The provider client speaks OpenRouter's dialect when configured for it, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx
import pytest

from python_functions.ai.providers import ChatClient, ProviderFailure
from python_functions.apps.pullups import SYSTEM_PROMPT, PullupPlan
from python_functions.service.settings import Settings
from tests.http_fixtures import LocalAi


def _ask(local_provider: LocalAi, provider: str, api_key: str | None) -> Any:
    async def run() -> Any:
        async with aiohttp.ClientSession() as http:
            client = ChatClient(http, f"{local_provider.server.url}/v1", provider, api_key,
                                "https://app.example", "Pull-up trainer")
            return await client.structured(
                model="openai/gpt-4o-mini", system=SYSTEM_PROMPT,
                user='<context>{"maxPullups": 12, "history": []}</context>',
                schema_name="pullup_session", output_type=PullupPlan, timeout_s=5)

    return asyncio.run(run())


def test_openrouter_headers_usage_and_strict_schema(local_provider: LocalAi) -> None:
    local_provider.clear()
    result = _ask(local_provider, "openrouter", "sk-or-test")
    assert result.value.sets == [7, 8, 10, 8, 7]
    seen = httpx.get(f"{local_provider.server.url}/_last_request").json()
    assert seen["headers"]["http-referer"] == "https://app.example"
    assert seen["headers"]["x-title"] == "Pull-up trainer"
    assert seen["has_authorization"] is True
    assert seen["usage"] == {"include": True}
    assert seen["strict"] is True
    call = result.calls[0]
    assert (call.status, call.http_status, call.attempt) == ("success", 200, 1)
    assert call.prompt_tokens and call.completion_tokens is not None and call.cost_usd == 0


def test_other_providers_get_no_openrouter_extras(local_provider: LocalAi) -> None:
    local_provider.clear()
    _ask(local_provider, "openai-compatible", None)
    seen = httpx.get(f"{local_provider.server.url}/_last_request").json()
    assert "x-title" not in seen["headers"] and seen["usage"] is None
    assert seen["has_authorization"] is False


def test_unreachable_provider_is_a_provider_error() -> None:
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            client = ChatClient(http, "http://127.0.0.1:9/v1", "openai-compatible")
            await client.structured(model="m", system="s", user="u", schema_name="x",
                                    output_type=PullupPlan, timeout_s=2)

    with pytest.raises(ProviderFailure) as failure:
        asyncio.run(run())
    assert failure.value.code == "AI_PROVIDER_ERROR"
    assert failure.value.calls[0].error_message == "transport error: ClientConnectorError"


@pytest.mark.parametrize(("env", "base_url", "name", "default_model"), [
    ({}, "http://127.0.0.1:8001/v1", "local", "local/rules"),
    ({"openrouter_api_key": "sk-or-x"}, "https://openrouter.ai/api/v1", "openrouter",
     "openai/gpt-4o-mini"),
    ({"ai_base_url": "http://127.0.0.1:11434/v1/", "ai_allowed_models": "llama3.1"},
     "http://127.0.0.1:11434/v1", "openai-compatible", "llama3.1"),
])
def test_provider_is_chosen_from_the_environment(
    env: dict[str, str], base_url: str, name: str, default_model: str
) -> None:
    settings = Settings.model_validate(env)
    assert (settings.provider_base_url, settings.provider_name, settings.default_model) == (
        base_url, name, default_model)
