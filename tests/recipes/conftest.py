"""Recipes fixtures: recipe texts, images of them rendered here (Pillow, DejaVu Sans for the
Polish letters) in every accepted format, and the route."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import User
from tests.http_fixtures import token_for

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # scripts/setup.sh installs it

PLACKI = """Placki ziemniaczane

Chrupiące placki z tartych ziemniaków, jak u babci.

Składniki:
- 1 kg ziemniaków
- 1 cebula
- 2 jajka
- 3 łyżki mąki pszennej
- sól i pieprz

Sposób przygotowania:
1. Ziemniaki i cebulę zetrzyj na tarce.
2. Dodaj jajka, mąkę, sól i pieprz, wymieszaj.
3. Smaż placki na gorącym oleju z obu stron.
"""

TWO_RECIPES = PLACKI + """
Kompot z jabłek

Składniki:
- 1 kg jabłek
- 2 l wody

Przygotowanie:
1. Jabłka pokrój i gotuj w wodzie 20 minut.
"""


def render(text: str, image_format: str = "PNG", width: int = 900) -> bytes:
    """The text as a clean scan would show it: black on white, 28 px DejaVu Sans."""
    font = ImageFont.truetype(FONT, 28)
    lines = text.splitlines()
    image = Image.new("RGB", (width, 60 + 40 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + 40 * number), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format=image_format, **({"quality": 90} if image_format != "PNG" else {}))
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def draft(http: httpx.Client) -> Callable[..., httpx.Response]:
    """POST /ai/recipes/draft as the user; text= or image=(mime_type, bytes|base64 str)."""

    def call(user: User, text: str | None = None,
             image: tuple[str, bytes | str] | None = None, **extra: Any) -> httpx.Response:
        body: dict[str, Any] = {"output_format": "pycha_recipe_draft_v1"}
        if image is not None:
            mime_type, data = image
            body |= {"source": "image", "image": {
                "mime_type": mime_type,
                "data_base64": data if isinstance(data, str) else b64(data)}}
        else:
            body |= {"source": "text", "text": text}
        return http.post("/ai/recipes/draft", json=body | extra,
                         headers={"Authorization": f"Bearer {token_for(user)}"})

    return call
