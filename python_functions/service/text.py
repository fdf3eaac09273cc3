"""Checks on user text that every route taking free text shares."""

from __future__ import annotations


def plain_text(text: str) -> str:
    """`text`, if Postgres and the provider can take it: no NUL character (Postgres text
    has none) and no lone surrogate (JSON allows `\\ud800`, UTF-8 does not)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (a lone surrogate was found)") from None
    return text
