"""Flashcards fixtures: study texts of exact lengths, the route, and sessions made through
the service RPCs (as the AI service makes them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Api, User
from tests.http_fixtures import token_for

STUDY_TEXT_EN = (
    "Photosynthesis is the process by which green plants turn light energy into chemical "
    "energy stored in glucose. Chlorophyll is the green pigment that absorbs red and blue "
    "light. The mitochondrion is an organelle that produces most of the cell's supply of "
    "ATP. Ribosomes are molecular machines that build proteins from messenger RNA. "
    "Cellular respiration takes place mainly in the mitochondria and releases energy from "
    "glucose. The cell membrane separates the interior of the cell from the outside "
    "environment and controls what enters and leaves. The nucleus contains the genetic "
    "material organised into chromosomes made of DNA and proteins. Osmosis means the "
    "movement of water through a semi-permeable membrane towards the higher concentration. "
)
STUDY_TEXT_PL = (
    "Fotosynteza to proces, w którym rośliny zielone wytwarzają glukozę z dwutlenku węgla i "
    "wody przy udziale energii świetlnej. Chlorofil jest zielonym barwnikiem, który "
    "pochłania światło czerwone i niebieskie. Mitochondrium \u2013 organellum komórkowe "
    "odpowiedzialne za oddychanie komórkowe i produkcję ATP. Rybosomy to struktury "
    "syntetyzujące białka na podstawie informacji zapisanej w mRNA. Proces oddychania "
    "komórkowego zachodzi w mitochondriach i dostarcza komórce energii. Błona komórkowa "
    "oddziela wnętrze komórki od środowiska zewnętrznego i reguluje transport substancji. "
    "Jądro komórkowe zawiera materiał genetyczny w postaci chromosomów zbudowanych z DNA. "
    "Osmoza oznacza przenikanie wody przez błonę półprzepuszczalną w kierunku roztworu o "
    "wyższym stężeniu. "
)


def study_text(length: int, base: str = STUDY_TEXT_EN) -> str:
    """Exactly `length` characters of real sentences (the base repeated, then cut), with no
    whitespace at either end."""
    text = (base * (length // len(base) + 2))[:length]
    while text[-1].isspace():  # a cut may end on a space: make the last character a letter
        text = text[:-1] + "x"
    return text


@pytest.fixture
def create_ai_session(http: httpx.Client) -> Callable[..., httpx.Response]:
    """POST /ai-sessions as the user."""

    def call(user: User, input_text: str | None = None, model: str = "local/rules",
             **extra: Any) -> httpx.Response:
        body = {"input_text": study_text(1500) if input_text is None else input_text,
                "model": model, **extra}
        return http.post("/ai-sessions", json=body,
                         headers={"Authorization": f"Bearer {token_for(user)}"})

    return call


def create_cards(api: Api, user: User, *pairs: tuple[str, str]) -> list[dict[str, Any]]:
    """The user's new manual cards, (front, back) each, made through create_flashcards."""
    response = api("flashcards.create_flashcards", user,
                   items=[{"front": f, "back": b} for f, b in pairs])
    assert response.status == 201, response.body
    cards: list[dict[str, Any]] = response.body["data"]
    return cards


@dataclass
class Generated:
    session_id: str
    candidate_ids: list[str]


CANDIDATES = [
    {"front": "What is photosynthesis?", "back": "Light energy turned into glucose.",
     "prompt": "Photosynthesis is the process ..."},
    {"front": "What is chlorophyll?", "back": "The green pigment absorbing red and blue light.",
     "prompt": "Chlorophyll is the green pigment ..."},
    {"front": "What are ribosomes?", "back": "Machines that build proteins from mRNA.",
     "prompt": "Ribosomes are molecular machines ..."},
    {"front": "What is osmosis?", "back": "Water moving through a semi-permeable membrane.",
     "prompt": "Osmosis means the movement of water ..."},
]


@pytest.fixture
def generate_via_rpc(api: Api) -> Callable[..., Generated]:
    """A completed generation session made through the service RPCs, with known candidates."""

    def make(user: User, candidates: list[dict[str, Any]] | None = None) -> Generated:
        begun = api.service("flashcards.begin_ai_session", user_id=user.id,
                            input_text=study_text(1200), model="local/rules")
        assert begun.status == 200, begun.body
        session_id = begun.body["sessionId"]
        finished = api.service("flashcards.finish_ai_session", user_id=user.id,
                               session_id=session_id,
                               outcome={"status": "success", "durationMs": 12,
                                        "candidates": CANDIDATES if candidates is None
                                        else candidates, "calls": []})
        assert finished.status == 201, finished.body
        return Generated(session_id, [c["id"] for c in finished.body["candidates"]])

    return make
