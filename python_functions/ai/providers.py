"""One AI provider protocol: OpenAI-compatible chat completions over aiohttp.

aiohttp rather than httpx for this one hot call: measured against the offline provider
on one kept-alive connection (2026-11-26), a call costs about 150 us of client CPU with
aiohttp and 600-660 us with httpx (its C parser against httpx's pure-Python stack); with
aiohttp it is about a tenth of the service's CPU per AI request. It is also the leanest of
the well-kept async clients measured the same way (by hand, uvloop, a call's client CPU):
aiohttp 3.14 149-161 us, aiosonic 1.3 259, curl_cffi 0.17 321, httpcore 1.0 392-403. A bare
asyncio protocol writing a prebuilt request took 42-45 us; the difference is aiohttp's request
machinery, not worth a hand-written HTTP client (TLS, chunked bodies, pooling, errors).
Timeouts are explicit: the request's own deadline (`asyncio.timeout`) inside the session's.

OpenRouter is the production target; any compatible base URL works (Ollama, vLLM,
llama.cpp, the bundled offline `local.provider`). Structured output through `response_format`
json_schema (strict), validated again with pydantic; invalid output gets one retry that
tells the model what was wrong. Every HTTP call is recorded (`CallRecord`) for
`core.ai_calls`: statuses, timings and usage, never the prompt or the output.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


@dataclass
class CallRecord:
    model: str
    provider: str
    attempt: int
    status: str = "error"  # success | timeout | error | invalid_output
    http_status: int | None = None
    latency_ms: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    source: str | None = None  # what the call read (text, image), where an app says
    input_chars: int | None = None
    input_bytes: int | None = None
    error_code: str | None = None
    error_message: str | None = None

    def as_json(self) -> dict[str, Any]:
        # every field is a scalar: a shallow copy (asdict deep-copies each value: 11 µs against 0.4)
        return dict(vars(self))


class ProviderFailure(Exception):
    """The provider did not produce valid output: code is AI_TIMEOUT, AI_PROVIDER_ERROR or
    AI_INVALID_OUTPUT; `calls` holds every attempt made."""

    def __init__(self, code: str, message: str, calls: list[CallRecord],
                 provider_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.calls = calls
        self.provider_status = provider_status


@dataclass
class StructuredResult(Generic[T]):
    value: T
    calls: list[CallRecord] = field(default_factory=list)


class _InvalidOutput(Exception):
    pass


class _ProviderError(Exception):
    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


class ChatClient:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, provider: str,
                 api_key: str | None = None, app_url: str | None = None,
                 app_title: str | None = None) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._models_url = base_url.rstrip("/") + "/models"
        self._reachable = False
        self._checked_at = -1e9
        self.provider = provider
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        if provider == "openrouter":  # OpenRouter's app attribution headers
            self._headers["HTTP-Referer"] = app_url or "http://localhost"
            self._headers["X-Title"] = app_title or "python_functions"

    async def reachable(self, timeout_s: float = 2.0) -> bool:
        """Whether the provider answers at all: its model list (OpenAI-compatible servers,
        OpenRouter and the offline one all serve `GET /models`), remembered for 10 s."""
        now = time.monotonic()
        if now - self._checked_at < 10.0:
            return self._reachable
        try:
            async with asyncio.timeout(timeout_s), \
                    self._http.get(self._models_url, headers=self._headers) as response:
                self._reachable = response.status < 500
        except (aiohttp.ClientError, TimeoutError):
            self._reachable = False
        self._checked_at = now
        return self._reachable

    async def structured(self, *, model: str, system: str,
                         user: str | list[dict[str, Any]], schema_name: str,
                         output_type: type[T], timeout_s: float,
                         max_tokens: int = 600, source: str | None = None,
                         input_bytes: int | None = None) -> StructuredResult[T]:
        """Ask for JSON matching `output_type`; the whole exchange (retry included) must
        finish within `timeout_s`. `user` is text, or content parts (text and `image_url`
        parts, for a vision model)."""
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": 0.2,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": schema_name, "strict": True, "schema": _json_schema(output_type)}},
        }
        if self.provider == "openrouter":
            payload["usage"] = {"include": True}  # adds usage.cost to the answer
        calls: list[CallRecord] = []
        deadline = time.monotonic() + timeout_s
        for attempt in (1, 2):
            record = CallRecord(model=model, provider=self.provider, attempt=attempt,
                                source=source, input_bytes=input_bytes,
                                input_chars=sum(_text_length(m["content"]) for m in messages))
            calls.append(record)
            started = time.monotonic()
            content = ""
            try:
                content = await self._complete(payload, record, deadline)
                value = output_type.model_validate_json(content)
                record.status = "success"
                return StructuredResult(value, calls)
            except TimeoutError as exc:
                record.status, record.error_code = "timeout", "AI_TIMEOUT"
                record.error_message = "provider did not answer in time"
                raise ProviderFailure("AI_TIMEOUT", "The AI provider did not answer in time",
                                      calls) from exc
            except _ProviderError as exc:
                record.error_code, record.error_message = "AI_PROVIDER_ERROR", str(exc)[:500]
                raise ProviderFailure("AI_PROVIDER_ERROR", "The AI provider failed", calls,
                                      exc.status) from exc
            except aiohttp.ClientError as exc:
                record.error_code = "AI_PROVIDER_ERROR"
                record.error_message = f"transport error: {type(exc).__name__}"
                raise ProviderFailure("AI_PROVIDER_ERROR", "The AI provider is unreachable",
                                      calls) from exc
            except (_InvalidOutput, ValidationError) as exc:
                reason = (_short_validation_error(exc) if isinstance(exc, ValidationError)
                          else str(exc))
                record.status, record.error_code = "invalid_output", "AI_INVALID_OUTPUT"
                record.error_message = reason[:500]
                if attempt == 2:
                    raise ProviderFailure("AI_INVALID_OUTPUT",
                                          "The AI answer failed validation twice", calls) from exc
                if content:
                    messages.append({"role": "assistant", "content": content})
                messages.append({"role": "user", "content": (
                    f"Your previous answer was invalid: {reason}. "
                    "Reply again with only JSON that matches the schema.")})
            finally:
                record.latency_ms = int((time.monotonic() - started) * 1000)
        raise AssertionError("unreachable")

    async def _complete(self, payload: dict[str, Any], record: CallRecord,
                        deadline: float) -> str:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        async with asyncio.timeout(remaining), \
                self._http.post(self._url, data=json.dumps(payload).encode(),
                                headers=self._headers) as response:
            status = response.status
            raw = await response.read()
        record.http_status = status
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _ProviderError(f"non-JSON answer (HTTP {status})", status) from exc
        if status != 200:
            raise _ProviderError(f"HTTP {status}", status)
        if not isinstance(body, dict):
            raise _ProviderError("answer is not an object", status)
        usage = body.get("usage")
        if isinstance(usage, dict):  # provider data is untrusted: kept only when plausible
            record.prompt_tokens = _token_count(usage.get("prompt_tokens"))
            record.completion_tokens = _token_count(usage.get("completion_tokens"))
            record.cost_usd = _cost(usage.get("cost"))
        if body.get("error"):  # OpenRouter reports some failures inside an HTTP 200
            error = body["error"] if isinstance(body["error"], dict) else {}
            code = error.get("code") if isinstance(error.get("code"), int) else None
            raise _ProviderError(f"error in a 200 answer (code {error.get('code')})", code)
        try:
            message = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise _ProviderError("answer without choices", status) from exc
        if not isinstance(message, dict):
            raise _ProviderError("answer without a message", status)
        if message.get("refusal"):
            raise _InvalidOutput("the model refused")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise _InvalidOutput("empty answer")
        return content


def _text_length(content: str | list[dict[str, Any]]) -> int:
    """Characters of text in a message (images are counted in bytes, elsewhere)."""
    if isinstance(content, str):
        return len(content)
    return sum(len(part.get("text") or "") for part in content if part.get("type") == "text")


_MAX_TOKENS = 10_000_000  # far above any context window, well inside the column's integer
_MAX_COST_USD = 1_000.0


def _token_count(value: Any) -> int | None:
    """A token count as a whole number 0..10M (10.0 counts as 10); anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value % 1 or not 0 <= value <= _MAX_TOKENS:  # NaN, fractions, range
        return None
    return int(value)


def _cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= _MAX_COST_USD else None


@functools.cache
def _json_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    """pydantic builds a schema in about a millisecond: once per output type is enough."""
    return output_type.model_json_schema()


def _short_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "answer"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
