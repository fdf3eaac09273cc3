"""The close-name hints of PostgREST's errors ("Perhaps you meant ..."), picked as PostgREST
picks them: with the Haskell `fuzzyset` 0.2.4 that PostgREST v16.1 builds with
(`Data.FuzzySet`, default set: gram sizes 2 and 3, Levenshtein on).

How that set answers `getOneWithMinScore`: an exact match (case-insensitively) scores 1.
Otherwise, for the gram size 3 and then 2, until one gives a result: the names sharing a
gram with the query (each lower-cased, stripped of all but letters, digits, spaces and
commas, wrapped in dashes, cut into grams), the 50 most alike by the cosine of their gram
counts, scored by normalised Levenshtein similarity of the lower-cased strings (1 - distance
/ the longer length), best first, those at or above the minimum. Ties keep the order of
the names (the Haskell set's hash-map order, which Python cannot reproduce).

The Python port on PyPI (`fuzzyset2`) keeps underscores and pads short strings, so it
scores `list_sessions` differently: not used.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein

TABLE_OR_FUNCTION = 0.75  # `getFuzzyHint HintTable`/`HintProcedure`
DEFAULT = 0.33  # `Fuzzy.get`/`getOne` (parameter lists, embedded tables)
_GRAM_SIZES = (3, 2)
_CANDIDATES = 50


def _grams(value: str, size: int) -> Counter[str]:
    kept = "".join(c for c in value.lower() if c.isalnum() or c.isspace() or c == ",")
    wrapped = f"-{kept}-"
    return Counter(wrapped[i:i + size] for i in range(len(wrapped) - size + 1))


def _norm(counts: Counter[str]) -> float:
    return math.sqrt(sum(n * n for n in counts.values()))


def scored(names: Iterable[str], query: str, min_score: float = DEFAULT
           ) -> list[tuple[float, str]]:
    """`getWithMinScore`: the names close to `query`, each with its score, best first."""
    exact: dict[str, str] = {}
    for name in names:
        exact.setdefault(name.lower(), name)
    key = query.lower()
    if key in exact:
        return [(1.0, exact[key])]
    for size in _GRAM_SIZES:
        wanted = _grams(key, size)
        magnitude = _norm(wanted)
        alike = []
        for lowered in exact:
            theirs = _grams(lowered, size)
            shared = sum(n * theirs[g] for g, n in wanted.items() if g in theirs)
            if shared:
                alike.append((shared / (magnitude * _norm(theirs)), lowered))
        alike.sort(key=lambda pair: pair[0], reverse=True)
        found = sorted(((Levenshtein.normalized_similarity(key, lowered), lowered)
                        for _, lowered in alike[:_CANDIDATES]),
                       key=lambda pair: pair[0], reverse=True)
        kept = [(score, exact[lowered]) for score, lowered in found if score >= min_score]
        if kept:
            return kept
    return []


def closest(names: Iterable[str], query: str, min_score: float = DEFAULT) -> str | None:
    """`getOneWithMinScore`: the closest of `names` to `query`, or None."""
    found = scored(names, query, min_score)
    return found[0][1] if found else None
