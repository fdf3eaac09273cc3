"""`.env.example` is where the settings are documented (settings.py says so): it names each."""

from __future__ import annotations

import re

from python_functions import PROJECT_ROOT
from python_functions.service.settings import Settings


def test_the_env_example_names_every_setting_the_code_reads() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    missing = sorted(name.upper() for name in Settings.model_fields
                     if name.upper() not in named)
    assert not missing, missing
