"""The part of Go's templates that Auth's mail templates are written in: `{{ .Name }}` and
`{{ .Data.key }}` (with `{{-` and `-}}` trimming the spaces beside them), which is what
Supabase's documented templates use. GoTrue renders the full language (`html/template`);
`make run` refuses, when it reads supabase/config.toml, a template with any other action
(`if`, `range`, pipelines, functions), naming it, rather than send a mail that differs.

In a body every value is HTML-escaped, as `html/template` escapes text and attribute values;
a subject is rendered as it is (`text/template`). A field the mail does not have, or a key
`Data` does not hold, renders as nothing.
"""

from __future__ import annotations

import html
import re
from typing import Any

_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
# Go's trim markers: "{{- " drops the spaces before an action, " -}}" those after it
_TRIM_BEFORE = re.compile(r"\s*\{\{-\s")
_TRIM_AFTER = re.compile(r"\s-\}\}\s*")
_FIELD = re.compile(r"\.([A-Za-z][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_]+))?")


def unsupported(template: str) -> str | None:
    """The first action of `template` that is not a field, or None when all are."""
    for match in _ACTION.finditer(_trimmed(template)):
        if not _FIELD.fullmatch(match[1]):
            return "{{ " + match[1] + " }}"
    return None


def render(template: str, data: dict[str, Any], *, escape: bool) -> str:
    """`template` with each field replaced by its value in `data` (checked by
    `unsupported` first)."""

    def value(match: re.Match[str]) -> str:
        field = _FIELD.fullmatch(match[1])
        assert field is not None, "checked by unsupported()"
        found: Any = data.get(field[1])
        if field[2] is not None:
            found = found.get(field[2]) if isinstance(found, dict) else None
        text = "" if found is None else str(found)
        return html.escape(text) if escape else text

    return _ACTION.sub(value, _trimmed(template))


def _trimmed(template: str) -> str:
    return _TRIM_AFTER.sub(" }}", _TRIM_BEFORE.sub("{{ ", template))
