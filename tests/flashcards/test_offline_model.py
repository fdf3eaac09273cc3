"""The bundled provider's flashcard "model" on a real paragraph of each language."""

from __future__ import annotations

from python_functions.local.models import flashcard_candidates
from tests.flashcards.conftest import STUDY_TEXT_EN, STUDY_TEXT_PL


def test_english_definitions_become_questions_and_answers() -> None:
    cards = flashcard_candidates({"inputText": STUDY_TEXT_EN})["candidates"]
    assert 5 <= len(cards) <= 15
    by_front = {c["front"]: c for c in cards}
    assert by_front["What is Photosynthesis?"]["back"] == (
        "The process by which green plants turn light energy into chemical energy stored in "
        "glucose.")
    assert by_front["What are Ribosomes?"]["back"].startswith("Molecular machines")
    assert by_front["What is the mitochondrion?"]["prompt"].startswith("The mitochondrion is")
    assert "What is Osmosis?" in by_front  # "X means Y"


def test_polish_definitions_including_the_dash_form() -> None:
    cards = flashcard_candidates({"inputText": STUDY_TEXT_PL})["candidates"]
    assert 5 <= len(cards) <= 15
    by_front = {c["front"]: c for c in cards}
    assert by_front["Czym jest Fotosynteza?"]["back"].startswith("Proces, w którym rośliny")
    assert by_front["Czym jest Chlorofil?"]["back"] == (
        "Zielonym barwnikiem, który pochłania światło czerwone i niebieskie.")
    assert by_front["Czym jest Mitochondrium?"]["back"].startswith("Organellum komórkowe")
    assert "Czym jest Osmoza?" in by_front


def test_text_without_definitions_gets_cloze_cards() -> None:
    text = ("The French Revolution began in 1789 with the storming of the Bastille prison. "
            "Louis the Sixteenth was executed by guillotine in January 1793. "
            "Napoleon Bonaparte crowned himself emperor in Notre-Dame cathedral in 1804. "
            "The Congress of Vienna redrew the borders of Europe after the Napoleonic wars. "
            "The revolution spread republican ideas across the continent for decades. "
            "Peasants gained ownership of much formerly aristocratic farmland. "
            "The metric system was introduced during the revolutionary period. ") * 2
    cards = flashcard_candidates({"inputText": text})["candidates"]
    assert 5 <= len(cards) <= 15
    for card in cards:
        assert card["front"].startswith("Fill in the blank: ") and "_____" in card["front"]
        assert card["back"] in card["prompt"]
        assert card["back"] not in card["front"]
    assert len({c["front"].lower() for c in cards}) == len(cards)


def test_same_text_same_cards() -> None:
    assert flashcard_candidates({"inputText": STUDY_TEXT_EN}) == flashcard_candidates(
        {"inputText": STUDY_TEXT_EN})
