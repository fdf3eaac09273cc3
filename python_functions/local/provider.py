"""The bundled offline AI provider: a small OpenAI-compatible HTTP server.

`python -m python_functions.local.provider [--port 8001]` serves `POST /v1/chat/completions`
and `GET /v1/models`. Its models are the deterministic generators of `local.models`,
chosen by the `response_format` schema name, so the service talks to it over exactly the
HTTP code path it uses for OpenRouter. Its "vision model" (schema `recipe_transcript`, an
`image_url` part with a data: URL) reads the image with Tesseract. With
`LOCAL_AI_FAULTS=1` (the tests), `POST /_faults` queues scripted faults that the next
completions consume, one each:
`{"mode": "delay", "seconds": 3}`, `{"mode": "status", "status": 500}`,
`{"mode": "malformed_body"}`, `{"mode": "not_json"}`, `{"mode": "invalid_output"}`,
`{"mode": "error_in_200"}`, `{"mode": "refusal"}`, `{"mode": "usage", "usage": <any>}` (a
valid answer carrying that usage block); `GET /_last_request` shows the headers
and top-level keys of the last completion request (never its messages).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import time
import uuid
from collections import deque
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from python_functions.local import lifeline
from python_functions.local.models import GENERATORS
from python_functions.service import server

MODELS = ("local/rules", "openai/gpt-4o-mini")
_CONTEXT = re.compile(r"<context>\s*(.*?)\s*</context>", re.DOTALL)


def _completion(model: str, content: str | None, prompt_chars: int,
                refusal: str | None = None) -> dict[str, Any]:
    completion_tokens = len(content or "") // 4
    prompt_tokens = prompt_chars // 4
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens, "cost": 0},
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": status}}, status_code=status)


async def _transcribe(content: Any) -> str | None:
    """What a vision model would read in the request's image: Tesseract's reading of it."""
    parts = content if isinstance(content, list) else []
    url = next((str((p.get("image_url") or {}).get("url") or "") for p in parts
                if isinstance(p, dict) and p.get("type") == "image_url"), "")
    header, _, data = url.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        return None
    binary = shutil.which("tesseract")
    if binary is None:
        return ""
    process = await asyncio.create_subprocess_exec(
        binary, "stdin", "stdout", "-l", "pol+eng", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await process.communicate(base64.b64decode(data))
    return out.decode("utf-8", errors="replace").strip()


def create_app(faults_enabled: bool | None = None) -> FastAPI:
    app = FastAPI(title="python_functions local AI", docs_url=None, redoc_url=None)
    faults: deque[dict[str, Any]] = deque()
    app.state.faults = faults
    # what the last completion request looked like (headers and top-level keys, no content)
    last_request: dict[str, Any] = {}
    if faults_enabled is None:
        faults_enabled = os.environ.get("LOCAL_AI_FAULTS") == "1"

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list",
                "data": [{"id": m, "object": "model", "owned_by": "local"} for m in MODELS]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        try:
            body = await request.json()
            model = str(body["model"])
            messages = body["messages"]
            schema_name = body["response_format"]["json_schema"]["name"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "expected model, messages and a json_schema response_format")
        last_request.clear()
        last_request.update({"headers": {k.lower(): v for k, v in request.headers.items()
                                     if k.lower() != "authorization"},
                         "has_authorization": "authorization" in request.headers,
                         "keys": sorted(body), "usage": body.get("usage"),
                         "strict": body["response_format"]["json_schema"].get("strict")})
        generator = GENERATORS.get(schema_name)
        if generator is None and schema_name != "recipe_transcript":
            return _error(400, f"no local model answers schema {schema_name!r}")
        user_content = next((m.get("content") or "" for m in messages
                             if m.get("role") == "user"), "")
        user_text = user_content if isinstance(user_content, str) else " ".join(
            str(p.get("text") or "") for p in user_content if isinstance(p, dict))
        prompt_chars = sum(len(m.get("content") or "") if isinstance(m.get("content"), str)
                           else 0 for m in messages)
        fault = faults.popleft() if faults else None
        if fault:
            mode = fault.get("mode")
            if mode == "delay":
                await asyncio.sleep(float(fault.get("seconds", 1)))
            elif mode == "status":
                return _error(int(fault.get("status", 500)), "scripted provider failure")
            elif mode == "malformed_body":
                return Response("{not json", media_type="application/json")
            elif mode == "not_json":
                return JSONResponse(_completion(model, "Sure! Here is your plan.", prompt_chars))
            elif mode == "invalid_output":
                return JSONResponse(_completion(model, json.dumps({"sets": [1, 2]}),
                                                prompt_chars))
            elif mode == "error_in_200":
                return JSONResponse({"error": {"message": "upstream overloaded", "code": 502}})
            elif mode == "refusal":
                return JSONResponse(_completion(model, None, prompt_chars,
                                                refusal="I can't help with that."))
        usage_override = fault.get("usage") if fault and fault.get("mode") == "usage" else None
        if schema_name == "recipe_transcript":  # the "vision model": Tesseract on the image
            text = await _transcribe(user_content)
            if text is None:
                return _error(400, "expected an image_url part with a data: URL")
            return JSONResponse(_completion(model, json.dumps({"text": text}), prompt_chars))
        match = _CONTEXT.search(user_text)
        try:
            context = json.loads(match.group(1)) if match else {}
        except ValueError:
            context = {}
        assert generator is not None
        content = json.dumps(generator(context if isinstance(context, dict) else {}))
        answer = _completion(model, content, prompt_chars)
        if usage_override is not None:
            answer["usage"] = usage_override
        return JSONResponse(answer)

    if faults_enabled:
        @app.post("/_faults")
        async def add_faults(request: Request) -> dict[str, int]:
            items = await request.json()
            faults.extend(items if isinstance(items, list) else [items])
            return {"queued": len(faults)}

        @app.delete("/_faults")
        async def clear_faults() -> dict[str, int]:
            faults.clear()
            return {"queued": 0}

        @app.get("/_last_request")
        async def inspect_last_request() -> dict[str, Any]:
            return last_request

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m python_functions.local.provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_AI_PORT", 8001)))
    args = parser.parse_args()
    lifeline.watch()
    # served as the service is (uvloop, httptools), so that it does not dominate benchmarks
    uvicorn.Server(server.config(create_app(), args.host, args.port)).run()


if __name__ == "__main__":
    main()
