"""Structured logs: one JSON object per line; ids, sizes, statuses and timings only.

Never the request body, prompts, model output, images or tokens: callers pass only such
fields in `extra`, and this formatter emits only the fields listed in SAFE_FIELDS.
"""

from __future__ import annotations

import json
import logging
import sys
import time

SAFE_FIELDS = (
    "request_id", "method", "route", "status", "duration_ms", "user_id", "generation_id",
    "provider", "model", "provider_status", "provider_latency_ms", "prompt_tokens",
    "completion_tokens", "attempts", "outcome", "error_code", "error_type", "input_chars",
    "input_bytes", "closed",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for field in SAFE_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        return json.dumps(entry, separators=(",", ":"))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("python_functions")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
