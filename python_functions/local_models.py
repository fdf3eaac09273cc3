"""The offline provider's "models": deterministic, rule-based generators.

They stand in for an LLM when no API key is configured, and they are real rules, not
canned answers: the pull-up planner progresses from the user's history the way a coach
would. Each generator gets the JSON context the service put between <context> tags in
the user message and returns the JSON object the service's schema asks for.
"""

from __future__ import annotations

import re
from typing import Any

PYRAMID = (0.6, 0.7, 0.8, 0.7, 0.6)  # of the working max: a 5-set pyramid at 60-80 %


def _clamp(value: float, low: int = 1, high: int = 60) -> int:
    return max(low, min(high, round(value)))


def pullup_session(context: dict[str, Any]) -> dict[str, Any]:
    """Next session from `maxPullups` or the recent history.

    Working max = the stated max, else the best set of the last three finished sessions.
    After a completed session that was not too hard (RPE <= 8 or unknown) step up one rep;
    after a failed one step back one; otherwise hold. Sets are a pyramid around 60-80 %
    of the working max, each clamped to 1..60.
    """
    history: list[dict[str, Any]] = [h for h in context.get("history") or []
                                     if isinstance(h, dict) and h.get("sets")]
    stated = context.get("maxPullups")
    if isinstance(stated, int) and stated > 0:
        working, reason = stated, f"your stated max of {stated}"
    elif history:
        working = max(max(h["sets"]) for h in history[:3])
        reason = f"your best recent set of {working}"
    else:
        working, reason = 5, "a conservative default of 5"
    step = 0
    if history:
        last = history[0]
        rpe = last.get("rpe")
        if last.get("status") == "failed":
            step, trend = -1, "Stepping back one rep after a failed session."
        elif rpe is None or rpe <= 8:
            step, trend = 1, "Stepping up one rep after a solid session."
        else:
            trend = "Holding steady: the last session was hard."
    else:
        trend = "A first session to find your level."
    working = _clamp(working + step)
    sets = [_clamp(working * share) for share in PYRAMID]
    comment = (f"Pyramid {'-'.join(map(str, sets))} at 60-80% of {working} "
               f"(from {reason}). {trend}")
    return {"sets": sets, "aiComment": comment}


# ---------------------------------------------------------------------------
# Flashcards: question/answer pairs from definitional sentences, cloze cards after
# ---------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n{2,}|\n(?=\s*[-•*\d])")
# "X is/are/means/refers to Y", "X to/jest/oznacza Y", "X <dash> Y", "X: Y": term first, then
# what it is. The term is short (1-6 words) and starts the sentence.
_DEFINITIONS = (
    re.compile(r"^(?P<term>[^,;:.()\-\u2013\u2014]{2,60}?)\s+(?P<verb>is|are|means|refers to|"
               r"is defined as|is called)\s+(?P<definition>.{8,})$", re.IGNORECASE),
    re.compile(r"^(?P<term>[^,;:.()\-\u2013\u2014]{2,60}?)\s+(?P<verb>to|jest|są|oznacza|nazywamy|"
               r"definiuje się jako)\s+(?P<definition>.{8,})$", re.IGNORECASE),
    re.compile(r"^(?P<term>[^,;:.()]{2,60}?)\s+[\u2013\u2014-]\s+(?P<definition>.{8,})$"),
    re.compile(r"^(?P<term>[^,;.()]{2,60}?):\s+(?P<definition>.{8,})$"),
)
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
_POLISH_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
_POLISH_WORDS = {"i", "w", "na", "się", "jest", "to", "z", "że", "do", "nie", "są", "oraz"}
_ENGLISH_WORDS = {"the", "is", "and", "of", "a", "an", "are", "to", "in", "that", "which"}
_STOP_WORDS = _POLISH_WORDS | _ENGLISH_WORDS | {
    "this", "these", "those", "with", "from", "for", "by", "as", "it", "its", "was", "were",
    "also", "their", "they", "który", "która", "które", "jako", "przez", "dla", "jego", "jej",
    "tego", "było", "może", "można", "being", "have", "has", "been", "when", "where",
}
MIN_CARDS, MAX_CARDS = 5, 15


def _language(text: str) -> str:
    words = [w.lower() for w in _WORD.findall(text)]
    polish = sum(w in _POLISH_WORDS for w in words) + 3 * sum(c in _POLISH_LETTERS for c in text)
    english = sum(w in _ENGLISH_WORDS for w in words)
    return "pl" if polish > english else "en"


def _sentences(text: str) -> list[str]:
    parts = (" ".join(p.split()) for p in _SENTENCE_END.split(text))
    return [p.strip(" -•*") for p in parts if len(p) >= 20]


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _definition_card(sentence: str, language: str) -> dict[str, str] | None:
    body = sentence.rstrip(".!?… ")
    for pattern in _DEFINITIONS:
        match = pattern.match(body)
        if not match:
            continue
        term = match.group("term").strip()
        definition = match.group("definition").strip()
        if len(term.split()) > 6 or len(definition) < 8:
            continue
        if re.match(r"(?:The|A|An)\s", term):
            term = term[0].lower() + term[1:]
        plural = (match.groupdict().get("verb") or "").lower() in ("are", "są")
        if language == "pl":
            question = f"Czym {'są' if plural else 'jest'} {term}?"
        else:
            question = f"What {'are' if plural else 'is'} {term}?"
        answer = definition[0].upper() + definition[1:] + "."
        return {"front": _clip(question, 200), "back": _clip(answer, 500),
                "prompt": _clip(sentence, 1000)}
    return None


def _cloze_card(sentence: str, language: str) -> dict[str, str] | None:
    if len(sentence) > 190:
        return None
    candidates = [w for w in _WORD.findall(sentence)
                  if len(w) >= 6 and w.lower() not in _STOP_WORDS]
    if not candidates:
        return None
    key = max(candidates, key=len)  # the longest content word: usually the key term
    blanked = sentence.replace(key, "_____", 1)
    prefix = "Uzupełnij: " if language == "pl" else "Fill in the blank: "
    return {"front": _clip(prefix + blanked, 200), "back": key, "prompt": _clip(sentence, 1000)}


def flashcard_candidates(context: dict[str, Any]) -> dict[str, Any]:
    """5-15 cards from the study text in `context["inputText"]`.

    Definitional sentences first ("X is Y", "X to Y", "X - Y" with any dash, "X: Y"): the
    term becomes the question ("What is X?" / "Czym jest X?"), the definition the answer.
    Then, up to about one card per two sentences (5 at least, 15 at most), cloze cards
    from the remaining sentences, longest first: the longest content word is blanked out
    and becomes the answer. Deterministic,
    language-agnostic beyond a few Polish and English words.
    """
    text = str(context.get("inputText") or "")
    language = _language(text)
    sentences = _sentences(text)
    cards: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(card: dict[str, str] | None) -> None:
        if card and card["front"].lower() not in seen and len(cards) < MAX_CARDS:
            seen.add(card["front"].lower())
            cards.append(card)

    used: set[str] = set()
    for sentence in sentences:
        card = _definition_card(sentence, language)
        if card:
            used.add(sentence)
            add(card)
    # about one card per two sentences, 5 at least, 15 at most
    target = min(MAX_CARDS, max(MIN_CARDS, len(sentences) // 2))
    rest = sorted((s for s in sentences if s not in used), key=len, reverse=True)
    for sentence in rest:
        if len(cards) >= target:
            break
        add(_cloze_card(sentence, language))
    return {"candidates": cards}


GENERATORS = {"pullup_session": pullup_session, "flashcard_candidates": flashcard_candidates}
