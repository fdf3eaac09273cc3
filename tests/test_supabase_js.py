"""supabase-js is the judge: examples/supabase-js/ (compiled with `tsc --strict` against the
generated types) runs its node:test suite against the local API, the AI service and the
offline provider, over the test database."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from python_functions import PROJECT_ROOT
from python_functions.local import NODE
from python_functions.service.settings import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, Settings
from tests.conftest import SUPABASE_JS_EXAMPLE as EXAMPLE
from tests.conftest import TEST_EMAIL_DOMAIN
from tests.http_fixtures import (
    ANON_KEY,
    SERVICE_ROLE_KEY,
    LocalAi,
    MailCatcher,
    ServerThread,
)


def test_the_supabase_js_suite_passes_against_the_local_api(
        compiled: None, local_api: ServerThread, local_provider: LocalAi,
        service_settings: Settings, database_url: str, mail_catcher: MailCatcher) -> None:
    local_provider.clear()
    env = {**os.environ, "SUPABASE_URL": local_api.url, "SUPABASE_ANON_KEY": ANON_KEY,
           "MAILPIT_URL": mail_catcher.url,
           "SUPABASE_SERVICE_ROLE_KEY": SERVICE_ROLE_KEY,
           "SUPABASE_PUBLISHABLE_KEY": LOCAL_PUBLISHABLE_KEY,
           "SUPABASE_SECRET_KEY": LOCAL_SECRET_KEY,
           "EMAIL_DOMAIN": TEST_EMAIL_DOMAIN, "AI_MODEL": service_settings.default_model}
    ran = subprocess.run(
        [str(NODE), "--test", "--test-reporter=spec",
         "dist/examples/supabase-js/src/app.test.js"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    assert "# fail 0" in ran.stdout or "fail 0" in ran.stdout, ran.stdout[-3000:]


@pytest.mark.parametrize("package", [
    EXAMPLE / "node_modules" / "@supabase" / "supabase-js",
    PROJECT_ROOT / "tools" / "node_modules" / "@supabase" / "postgres-meta",
], ids=lambda path: path.name)
def test_the_pinned_node_is_one_the_package_declares_it_runs_on(package: Path) -> None:
    declared = json.loads((package / "package.json").read_text())["engines"]["node"]
    floor = re.fullmatch(r">=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", declared)
    assert floor, f"{package.name} declares {declared!r}: teach this test that form"
    ran = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, timeout=30,
                         check=True)
    version = tuple(int(part) for part in ran.stdout.strip().lstrip("v").split("."))
    assert version >= tuple(int(part or 0) for part in floor.groups()), (declared, version)


def test_the_readme_snippets_are_lines_of_the_tested_file() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    tested = (EXAMPLE / "src" / "app.test.ts").read_text()
    blocks = readme.split("```ts\n")[1:]
    assert blocks, "the README shows supabase-js code"
    lines = [line.strip() for block in blocks for line in block.split("```")[0].splitlines()
             if line.strip()]
    missing = [line for line in lines if line not in tested]
    assert not missing, missing
