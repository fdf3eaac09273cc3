"""Structured logs: one JSON object per line; ids, sizes, statuses and timings only.

Never the request body, prompts, model output, images or tokens: callers pass only such
fields in `extra`, and this formatter emits only the fields listed in SAFE_FIELDS. A
traceback, or an exception's message, is never written (either may quote a request); a
record that carries an exception (a server's "Exception in ASGI application", say) gets its
type and where it was raised (`error_type`, `error_at`: file name and line), enough to find
it in the code.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback

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
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry.setdefault("error_type", type(error).__name__)
            frames = traceback.extract_tb(error.__traceback__)
            if frames:
                entry["error_at"] = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}"
        return json.dumps(entry, separators=(",", ":"))


# Loggers whose records must come out as JSON lines too: the database driver's pool (it
# reports a database outage) and the server (a crashed request); never as plain text.
LIBRARY_LOGGERS = {"psycopg": "WARNING", "uvicorn": "WARNING"}


def configure(level: str = "INFO", handler: logging.Handler | None = None) -> None:
    """One JSON line per record, for the service and the libraries it runs on."""
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    for name, logger_level in (("python_functions", level), *LIBRARY_LOGGERS.items()):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logger_level)
        logger.propagate = False
