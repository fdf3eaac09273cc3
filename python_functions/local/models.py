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
    if not cards:  # no sentence to work with (a list, a table, noise): recall cards
        words = text.split()
        for start in range(0, min(len(words), 30 * MAX_CARDS), 30):
            cue, answer = " ".join(words[start:start + 12]), " ".join(words[start + 12:start + 30])
            if cue and answer:
                prefix = "Dokończ: " if language == "pl" else "Continue: "
                add({"front": _clip(prefix + cue + " …", 200), "back": _clip(answer, 500),
                     "prompt": _clip(cue + " " + answer, 1000)})
    if not cards and text.strip():  # not even words: the text itself, in two halves
        flat = " ".join(text.split())
        prefix = "Dokończ: " if language == "pl" else "Continue: "
        add({"front": prefix + flat[:100] + " …", "back": flat[100:400] or flat[:300],
             "prompt": flat[:1000]})
    return {"candidates": cards}

# ---------------------------------------------------------------------------
# Recipes: sections under headings or by their shape
# ---------------------------------------------------------------------------

_INGREDIENTS_HEADING = re.compile(r"^(składniki|skladniki|ingredients)\b[^\n]{0,40}$",
                                  re.IGNORECASE)
_STEPS_HEADING = re.compile(r"^(sposób przygotowania|sposob przygotowania|przygotowanie|"
                            r"wykonanie|instructions|method|steps|directions|preparation)"
                            r"\b[^\n]{0,40}$", re.IGNORECASE)
_UNITS = (r"g|dag|dkg|kg|ml|l|łyżk\w*|łyżeczk\w*|szklank\w*|szt\.?|sztuk\w*|opak\w*|"
          r"ząb\w*|ząbk\w*|plaster\w*|garść|szczypt\w*|cups?|tbsp|tsp|tablespoons?|"
          r"teaspoons?|oz|lb|pinch|cloves?|slices?")
_QUANTITY = re.compile(rf"^(\d+([.,/]\d+)?|½|¼|¾|pół|kilka|1/2)\s*({_UNITS})?\b", re.IGNORECASE)
_HAS_UNIT = re.compile(rf"\b\d+([.,/]\d+)?\s*({_UNITS})\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^\d{1,2}\s*[.)]\s+")
_BULLET = re.compile(r"^[-•*\u2013]\s*")
CATEGORIES = ("Śniadanie", "Obiad", "Kolacja", "Deser", "Przekąska", "Napój", "Zupa",
              "Sałatka", "Pieczywo")
_CATEGORY_WORDS = (  # first match wins: the most specific first
    ("Zupa", ("zupa", "zupy", "rosół", "barszcz", "żurek", "krem z", "soup", "broth")),
    ("Sałatka", ("sałatka", "sałatki", "salad")),
    ("Deser", ("ciasto", "sernik", "tort", "deser", "lody", "babka", "szarlotka", "muffin",
               "brownie", "cake", "cookies", "pudding")),
    ("Pieczywo", ("chleb", "bułki", "bułeczki", "bagietka", "bread", "rolls", "focaccia")),
    ("Napój", ("koktajl", "smoothie", "lemoniada", "napój", "kompot", "herbata", "drink",
               "lemonade")),
    ("Śniadanie", ("omlet", "jajecznica", "owsianka", "naleśniki", "śniadanie", "pancakes",
                   "granola", "breakfast", "porridge")),
    ("Przekąska", ("przekąska", "hummus", "pasta z", "dip", "chipsy", "snack")),
    ("Kolacja", ("kolacja", "tosty", "zapiekanka", "dinner")),
    ("Obiad", ("kotlet", "gulasz", "pierogi", "makaron", "schab", "kurczak", "risotto",
               "spaghetti", "lunch", "stew", "curry")),
)
_TAG_WORDS = (
    ("wegetariańskie", None),  # added when no meat or fish word appears
    ("pieczone", ("piekarnik", "piec ", "upiec", "zapiec", "oven", "bake")),
    ("ostre", ("chili", "chilli", "pieprz cayenne", "ostra papryka", "jalapeño", "spicy")),
    ("szybkie", ("5 minut", "10 minut", "15 minut", "20 minut", "quick", "15 minutes")),
    ("bez glutenu", ("bezglutenow", "gluten-free")),
)
_TAGS_EN = {"wegetariańskie": "vegetarian", "pieczone": "baked", "ostre": "spicy",
            "szybkie": "quick", "bez glutenu": "gluten-free"}
_MEAT = ("mięso", "kurczak", "wołow", "wieprzow", "schab", "boczek", "szynk", "kiełbas",
         "ryba", "łosoś", "tuńczyk", "indyk", "chicken", "beef", "pork", "bacon", "fish",
         "salmon", "ham", "mielon")


def _clean_line(line: str) -> str:
    return _NUMBERED.sub("", _BULLET.sub("", line.strip())).strip()


def _looks_like_ingredient(line: str) -> bool:
    body = _BULLET.sub("", line.strip())
    return bool(_QUANTITY.match(body) or _HAS_UNIT.search(body)) and len(body) <= 120


def _looks_like_step(line: str) -> bool:
    return bool(_NUMBERED.match(line.strip())) or (
        len(line) >= 25 and not _looks_like_ingredient(line))


def recipe_draft(context: dict[str, Any]) -> dict[str, Any]:
    """A structured draft of the recipe in `context["text"]`, or a refusal with reasons.

    Sections come from Polish and English headings ("Składniki", "Przygotowanie", "Sposób
    przygotowania", "Ingredients", "Method", "Steps") or, without them, from the lines'
    shape (quantities and units; numbered or sentence-long lines). The first other line
    names the dish; the text before the ingredients describes it. The category is picked
    from the seed's list by keywords, tags likewise. Several ingredient lists mean several
    recipes, and no ingredients and no steps mean none: both are refused with reasons.
    Confidence grows with what was found.
    """
    text = str(context.get("text") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons: list[str] = []
    ingredient_headings = [i for i, line in enumerate(lines) if _INGREDIENTS_HEADING.match(line)]
    step_headings = [i for i, line in enumerate(lines) if _STEPS_HEADING.match(line)]
    if len(ingredient_headings) > 1 or len(step_headings) > 1:
        reasons.append(f"The text holds {max(len(ingredient_headings), len(step_headings))} "
                       "ingredient or preparation sections: it looks like several recipes")
        return {"is_single_recipe": False, "reasons": reasons, "draft": None, "confidence": 0.9}

    ingredients: list[str] = []
    steps: list[str] = []
    before: list[str] = []
    section = "head"
    for index, line in enumerate(lines):
        if index in ingredient_headings:
            section = "ingredients"
            continue
        if index in step_headings:
            section = "steps"
            continue
        if section == "ingredients" or (section == "head" and not ingredient_headings
                                         and _looks_like_ingredient(line)):
            if section == "head":
                section = "shape"
            ingredients.append(_clean_line(line))
        elif section == "steps" or (section == "shape" and _looks_like_step(line)):
            steps.append(_clean_line(line))
        elif section == "shape" and _looks_like_ingredient(line):
            ingredients.append(_clean_line(line))
        else:
            before.append(line)
    # A heading with inline content ("Składniki: mąka, cukier") is one ingredient line.
    ingredients = [i for i in ingredients if i]
    steps = [s for s in steps if s]
    if not ingredients:
        reasons.append("No ingredient list was found")
    if not steps:
        reasons.append("No preparation steps were found")
    if reasons:
        return {"is_single_recipe": False, "reasons": reasons, "draft": None, "confidence": 0.8}

    name = before[0] if before else ""
    description = " ".join(before[1:]) or None
    lowered = text.lower()
    category = next((c for c, words in _CATEGORY_WORDS if any(w in lowered for w in words)),
                    None)
    tags: list[str] = []
    for tag, words in _TAG_WORDS:
        if words is None:
            if not any(m in lowered for m in _MEAT):
                tags.append(tag)
        elif any(w in lowered for w in words):
            tags.append(tag)
    if str(context.get("language") or "pl") != "pl":
        tags = [_TAGS_EN.get(tag, tag) for tag in tags]
    if category:
        tags.insert(0, category.lower())
    confidence = 0.4 + 0.2 * bool(ingredient_headings or step_headings) + 0.15 * (
        len(ingredients) >= 2) + 0.15 * (len(steps) >= 2) + 0.05 * bool(name)
    return {
        "is_single_recipe": True,
        "reasons": [],
        "draft": {
            "name": name,
            "description": description,
            "ingredients_raw": "\n".join(ingredients),
            "steps_raw": "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1)),
            "category_name": category,
            "tags": tags,
        },
        "confidence": round(min(confidence, 0.95), 2),
    }


GENERATORS = {"pullup_session": pullup_session, "flashcard_candidates": flashcard_candidates,
              "recipe_draft": recipe_draft}
