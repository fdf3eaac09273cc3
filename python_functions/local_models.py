"""The offline provider's "models": deterministic, rule-based generators.

They stand in for an LLM when no API key is configured, and they are real rules, not
canned answers: the pull-up planner progresses from the user's history the way a coach
would. Each generator gets the JSON context the service put between <context> tags in
the user message and returns the JSON object the service's schema asks for.
"""

from __future__ import annotations

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


GENERATORS = {"pullup_session": pullup_session}
