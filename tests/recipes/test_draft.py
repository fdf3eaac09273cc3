"""POST /ai/recipes/draft (seed 002): text and photos (real Tesseract), the offline model over
HTTP, the checks before anything is spent, and the only traces a draft leaves."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from python_functions import PROJECT_ROOT
from python_functions.apps.recipes import Draft, normalise
from python_functions.service.app import create_app
from python_functions.service.settings import Settings
from tests.conftest import User, one, race
from tests.http_fixtures import LocalAi, LogCapture, ServerThread, assert_service_error, token_for
from tests.recipes.conftest import PLACKI, TWO_RECIPES, b64, render

Post = Callable[..., httpx.Response]
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_a_text_recipe_becomes_a_draft(draft: Post, alice: User,
                                       admin: psycopg.Connection[Any]) -> None:
    response = draft(alice, text=PLACKI)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"draft", "meta"}
    recipe = body["draft"]
    assert recipe["name"] == "Placki ziemniaczane"
    assert recipe["description"] == "Chrupiące placki z tartych ziemniaków, jak u babci."
    assert recipe["ingredients_raw"].splitlines() == [
        "1 kg ziemniaków", "1 cebula", "2 jajka", "3 łyżki mąki pszennej", "sól i pieprz"]
    assert recipe["steps_raw"].splitlines()[0] == "1. Ziemniaki i cebulę zetrzyj na tarce."
    assert recipe["category_name"] is None or recipe["category_name"] in (
        "Obiad", "Przekąska")
    assert isinstance(recipe["tags"], list)
    assert 0.5 <= body["meta"]["confidence"] <= 1 and body["meta"]["warnings"] == []
    assert one(admin, "select source, input_chars > 0, status, app from core.ai_calls") == (
        "text", True, "success", "recipes")


@pytest.mark.parametrize(("image_format", "mime_type"), [
    ("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_a_photo_goes_through_real_tesseract(
    draft: Post, alice: User, admin: psycopg.Connection[Any], image_format: str,
    mime_type: str,
) -> None:
    image = render(PLACKI, image_format)
    response = draft(alice, image=(mime_type, image))
    assert response.status_code == 200, response.text
    recipe = response.json()["draft"]
    assert recipe["name"] == "Placki ziemniaczane"
    ingredients = recipe["ingredients_raw"]
    for word in ("ziemniaków", "łyżki mąki pszennej", "sól i pieprz"):  # diacritics read
        assert word in ingredients, ingredients
    assert "Smaż placki" in recipe["steps_raw"]
    calls = admin.execute("select provider, source, status, input_bytes from core.ai_calls"
                          " order by created_at, attempt").fetchall()
    assert calls[0] == ("tesseract", "image", "success", len(image))
    assert calls[1][:3] == ("openai-compatible", "image", "success")


def test_the_shipped_example_image_reads_as_a_recipe(draft: Post, alice: User) -> None:
    image = (PROJECT_ROOT / "examples" / "recipes" / "placki.png").read_bytes()
    response = draft(alice, image=("image/png", image))
    assert response.status_code == 200, response.text
    assert "3 łyżki mąki pszennej" in response.json()["draft"]["ingredients_raw"]


@pytest.mark.parametrize(("text", "field"), [("", "text"), ("   \n\t ", "text"),
                                             ("x" * 50_001, "text"), (None, "text")])
def test_empty_or_too_long_text_is_400(draft: Post, alice: User, text: str | None,
                                       field: str, admin: psycopg.Connection[Any]) -> None:
    body = assert_service_error(draft(alice, text=text), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field
    assert one(admin, "select count(*) from core.quota_reservations") == 0  # nothing spent


@pytest.mark.parametrize(("body", "field"), [
    ({"source": "text", "text": "x", "output_format": "markdown"}, "output_format"),
    ({"source": "audio", "text": "x", "output_format": "pycha_recipe_draft_v1"}, "source"),
    ({"source": "image", "output_format": "pycha_recipe_draft_v1"}, "image"),
    ({"source": "image", "output_format": "pycha_recipe_draft_v1",
      "image": {"mime_type": "image/gif", "data_base64": "R0lGOD"}}, "image.mime_type"),
    ({"source": "text", "text": "x", "output_format": "pycha_recipe_draft_v1",
      "image": {"mime_type": "image/png", "data_base64": "AAAA"}}, "image"),
    ({"source": "text", "text": "x", "output_format": "pycha_recipe_draft_v1",
      "language": "polish"}, "language"),
])
def test_bad_bodies_are_400(http: httpx.Client, alice: User, body: dict[str, Any],
                            field: str) -> None:
    response = http.post("/ai/recipes/draft", json=body,
                         headers={"Authorization": f"Bearer {token_for(alice)}"})
    assert assert_service_error(response, 400, "VALIDATION_ERROR")["details"]["field"] == field


def test_a_gif_a_png_declared_as_jpeg_and_bad_base64_are_400(
    draft: Post, alice: User, admin: psycopg.Connection[Any]
) -> None:
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00" \
          b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    as_png = assert_service_error(draft(alice, image=("image/png", gif)), 400,
                                  "VALIDATION_ERROR")
    assert as_png["details"]["field"] == "image.mime_type"
    png_as_jpeg = assert_service_error(draft(alice, image=("image/jpeg", PNG_1PX)), 400,
                                       "VALIDATION_ERROR")
    assert png_as_jpeg["details"]["field"] == "image.mime_type"
    broken = assert_service_error(draft(alice, image=("image/png", "not*base64!")), 400,
                                  "VALIDATION_ERROR")
    assert broken["details"]["field"] == "image.data_base64"
    truncated = assert_service_error(
        draft(alice, image=("image/png", render(PLACKI)[:200])), 400, "VALIDATION_ERROR")
    assert truncated["details"]["field"] == "image.data_base64"
    assert one(admin, "select count(*) from core.quota_reservations") == 0


def test_an_image_over_10_mib_is_413_without_decoding_it(
    draft: Post, alice: User, admin: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []  # sizes of large inputs given to b64decode (the JWT's are small)
    real = base64.b64decode

    def spy(data: Any, *args: Any, **kwargs: Any) -> bytes:
        if len(data) > 1024 * 1024:
            decoded.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(base64, "b64decode", spy)
    too_big = b64(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 - 8 + 1))
    body = assert_service_error(draft(alice, image=("image/png", too_big)), 413,
                                "PAYLOAD_TOO_LARGE")
    assert body["details"]["field"] == "image.data_base64"
    assert decoded == []
    assert one(admin, "select count(*) from core.quota_reservations") == 0
    exactly = b64(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 - 8))
    at_limit = draft(alice, image=("image/png", exactly))  # not too large: just not an image
    assert assert_service_error(at_limit, 400, "VALIDATION_ERROR")


def test_several_recipes_or_none_are_422_with_reasons(draft: Post, alice: User) -> None:
    several = assert_service_error(draft(alice, text=TWO_RECIPES), 422, "NOT_A_SINGLE_RECIPE",
                                   frozenset({"reasons"}))
    assert several["reasons"] and "several recipes" in several["reasons"][0]
    assert several["details"]["reasons"] == several["reasons"]
    advert = draft(alice, text="Kup bilety na koncert już dziś! Najlepsze ceny w mieście.")
    none = advert.json()
    assert advert.status_code == 422 and none["code"] == "NOT_A_SINGLE_RECIPE"
    assert none["reasons"] == ["No ingredient list was found", "No preparation steps were found"]
    blank = render("\n\n")
    nothing = draft(alice, image=("image/png", blank))
    assert nothing.status_code == 422 and nothing.json()["reasons"] == [
        "No text was found in the image"]


def test_without_authorization_is_401(http: httpx.Client) -> None:
    response = http.post("/ai/recipes/draft", json={
        "source": "text", "text": PLACKI, "output_format": "pycha_recipe_draft_v1"})
    assert_service_error(response, 401, "UNAUTHORIZED")


def test_the_twenty_first_draft_in_an_hour_is_429(draft: Post, alice: User, bob: User,
                                                  admin: psycopg.Connection[Any]) -> None:
    admin.execute("update core.quota_policies set max_count = 3 where bucket = 'recipes.draft'")
    try:
        assert [draft(alice, text=PLACKI).status_code for _ in range(3)] == [200, 200, 200]
        limited = draft(alice, text=PLACKI)
        body = assert_service_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["Retry-After"]) >= 1 and body["details"]["resetsAt"]
        assert draft(bob, text=PLACKI).status_code == 200
    finally:
        admin.execute("update core.quota_policies set max_count = 20"
                      " where bucket = 'recipes.draft'")
    assert one(admin, "select max_count from core.quota_policies"
                      " where bucket = 'recipes.draft'") == 20


def test_a_refused_draft_still_counts(draft: Post, alice: User,
                                      admin: psycopg.Connection[Any]) -> None:
    assert draft(alice, text=TWO_RECIPES).status_code == 422
    assert one(admin, "select count(*) from core.quota_reservations where"
                      " bucket = 'recipes.draft' and state <> 'pending'") == 1


@pytest.mark.parametrize(("faults", "status", "code"), [
    ([{"mode": "status", "status": 500}], 502, "AI_PROVIDER_ERROR"),
    ([{"mode": "invalid_output"}, {"mode": "not_json"}], 502, "AI_INVALID_OUTPUT"),
    ([{"mode": "delay", "seconds": 3}], 504, "AI_TIMEOUT"),
])
def test_provider_faults(draft: Post, alice: User, local_provider: LocalAi,
                         admin: psycopg.Connection[Any], faults: list[dict[str, Any]],
                         status: int, code: str) -> None:
    local_provider.fault(*faults)
    assert_service_error(draft(alice, text=PLACKI), status, code)
    assert one(admin, "select count(*) from core.ai_calls") == len(faults)
    assert one(admin, "select state::text from core.quota_reservations"
                      " where bucket = 'recipes.draft'") == "failure"


def test_only_the_call_log_and_the_quota_change(
    draft: Post, alice: User, admin: psycopg.Connection[Any]
) -> None:
    def row_counts() -> dict[str, int]:
        tables = [r[0] for r in admin.execute(
            "select format('%I.%I', schemaname, tablename) from pg_tables where schemaname"
            " not in ('pg_catalog', 'information_schema', 'supabase_migrations')").fetchall()]
        return {t: one(admin, f"select count(*) from {t}") for t in tables}

    before = row_counts()
    assert draft(alice, image=("image/png", render(PLACKI))).status_code == 200
    after = row_counts()
    changed = {t for t in before if before[t] != after[t]}
    assert changed == {"core.ai_calls", "core.quota_reservations"}


def test_the_text_and_image_never_reach_the_logs(
    draft: Post, alice: User, service_logs: LogCapture
) -> None:
    marker = "Kwarcowysmak"
    image = render(PLACKI.replace("babci", marker))
    assert draft(alice, text=PLACKI.replace("babci", marker)).status_code == 200
    assert draft(alice, image=("image/png", image)).status_code == 200
    encoded = b64(image)
    leaked = [line for line in service_logs.lines
              if marker in line or encoded[100:140] in line or "ziemniak" in line]
    assert not leaked


def test_photos_above_the_ocr_cap_queue_and_other_routes_stay_responsive(
    service: Any, alice: User, admin: psycopg.Connection[Any]
) -> None:
    """Six photos at once against a cap of two: all complete; /health answers meanwhile."""
    token = token_for(alice)
    body = {"source": "image", "output_format": "pycha_recipe_draft_v1",
            "image": {"mime_type": "image/png", "data_base64": b64(render(PLACKI))}}
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            while not done.is_set():
                started = time.monotonic()
                assert client.get("/health").status_code == 200
                health.append(time.monotonic() - started)
                time.sleep(0.05)

    def post(go: Callable[[], object]) -> httpx.Response:
        with httpx.Client(base_url=service.url, timeout=60) as client:
            go()
            return client.post("/ai/recipes/draft", json=body,
                               headers={"Authorization": f"Bearer {token}"})

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        responses = race(6, post)
    finally:
        done.set()
        prober.join()
    assert Counter(r.status_code for r in responses) == {200: 6}
    assert len(health) >= 3  # it kept answering while the photos were read
    assert one(admin, "select count(*) from core.ai_calls where provider = 'tesseract'") == 6


@pytest.mark.parametrize(("given", "expected", "warnings"), [
    ({"tags": ["  zupa ", "", "Zupa", "ZUPA", "obiad", "   "]}, {"tags": ["zupa", "obiad"]},
     ["tags: 2 empty dropped", "tags: 2 duplicate(s) dropped, the first spelling kept"]),
    ({"tags": [f"t{i}" for i in range(25)]}, {"tags": [f"t{i}" for i in range(20)]},
     ["tags: kept the first 20 of 25"]),
    ({"name": "  " + "N" * 200}, {"name": "N" * 150}, ["name: cut to 150 characters"]),
    ({"name": " Bigos "}, {"name": "Bigos"}, ["name: surrounding whitespace trimmed"]),
    ({"description": "   ", "category_name": ""}, {"description": None, "category_name": None},
     ["description: empty, set to null", "category_name: empty, set to null"]),
    ({"category_name": "zupa"}, {"category_name": "Zupa"}, []),
    ({"category_name": "Fusion"}, {"category_name": None},
     ["category_name: 'Fusion' is not a known category, set to null"]),
])
def test_normalisation_names_every_change(given: dict[str, Any], expected: dict[str, Any],
                                          warnings: list[str]) -> None:
    base: dict[str, Any] = {"name": "Bigos", "description": "d", "ingredients_raw": "kapusta",
                            "steps_raw": "1. Duś", "category_name": None, "tags": []}
    normalised, said = normalise(Draft(**(base | given)))
    assert {k: normalised[k] for k in expected} == expected
    assert said == warnings


def test_without_tesseract_a_photo_is_503_and_costs_nothing(
    draft: Post, alice: User, admin: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("python_functions.ai.ocr.shutil.which", lambda _name: None)
    body = assert_service_error(draft(alice, image=("image/png", render(PLACKI))), 503,
                                "OCR_UNAVAILABLE")
    assert "tesseract" in body["hint"]
    assert one(admin, "select count(*) from core.quota_reservations") == 0
    assert draft(alice, text=PLACKI).status_code == 200  # text needs no OCR


def test_an_ocr_run_past_its_time_limit_is_504_and_recorded(
    draft: Post, alice: User, admin: psycopg.Connection[Any], service: Any
) -> None:
    engine = service.server.config.app.state.services.ocr
    saved = engine.timeout_s
    engine.timeout_s = 0.001
    try:
        assert_service_error(draft(alice, image=("image/png", render(PLACKI))), 504, "AI_TIMEOUT")
    finally:
        engine.timeout_s = saved
    assert one(admin, "select provider, status, error_code from core.ai_calls") == (
        "tesseract", "timeout", "AI_TIMEOUT")
    assert one(admin, "select state::text from core.quota_reservations"
                      " where bucket = 'recipes.draft'") == "failure"


@pytest.fixture(scope="module")
def vision_service(service_settings: Settings) -> Iterator[ServerThread]:
    """The service with RECIPES_OCR=vision: photos go to the provider's vision model."""
    settings = service_settings.model_copy(update={"recipes_ocr": "vision"})
    with ServerThread(create_app(settings)) as server:
        yield server


def test_with_recipes_ocr_vision_the_provider_reads_the_photo(
    vision_service: ServerThread, alice: User, admin: psycopg.Connection[Any],
    local_provider: LocalAi,
) -> None:
    local_provider.clear()
    image = render(PLACKI, "JPEG")
    body = {"source": "image", "output_format": "pycha_recipe_draft_v1",
            "image": {"mime_type": "image/jpeg", "data_base64": b64(image)}}
    with httpx.Client(base_url=vision_service.url, timeout=60) as client:
        response = client.post("/ai/recipes/draft", json=body,
                               headers={"Authorization": f"Bearer {token_for(alice)}"})
        assert response.status_code == 200, response.text
        assert "3 łyżki mąki pszennej" in response.json()["draft"]["ingredients_raw"]
        calls = admin.execute("select provider, source, status, input_bytes from core.ai_calls"
                              " order by created_at, attempt").fetchall()
        assert calls == [("openai-compatible", "image", "success", len(image)),
                         ("openai-compatible", "image", "success", None)]
        local_provider.fault({"mode": "status", "status": 503})
        failed = client.post("/ai/recipes/draft", json=body,
                             headers={"Authorization": f"Bearer {token_for(alice)}"})
        assert_service_error(failed, 502, "AI_PROVIDER_ERROR")


@pytest.mark.parametrize("bad", ["\u0000", "\ud800"])
def test_recipe_text_with_a_nul_or_a_lone_surrogate_is_400(http: httpx.Client, alice: User,
                                                           bad: str) -> None:
    raw = json.dumps({"source": "text", "text": PLACKI + bad,
                      "output_format": "pycha_recipe_draft_v1"})
    response = http.post("/ai/recipes/draft", content=raw, headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    assert assert_service_error(response, 400, "VALIDATION_ERROR")["details"]["field"] == "text"
