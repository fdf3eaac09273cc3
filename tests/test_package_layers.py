"""The package's layers stay layered: the AI edge and database access know nothing of the
service, and the deployable service (with its apps) nothing of the local stack."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from python_functions import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "python_functions"
FORBIDDEN = {  # package -> what its modules may not import
    "ai": ("service", "apps", "local"),
    "db": ("service", "apps", "local"),
    "service": ("local",),
    "apps": ("local",),
}


def _imported_packages(module: Path) -> set[str]:
    """The second-level packages of python_functions a module imports (`db` for
    `from python_functions.db import rpc`, `service` for `import python_functions.service.app`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "python_functions" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] == "python_functions" and isinstance(node, ast.ImportFrom):
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    modules = sorted((PACKAGE / layer).rglob("*.py"))
    assert modules, f"python_functions/{layer} is empty"
    wrong = {str(m.relative_to(PACKAGE)): sorted(_imported_packages(m) & set(FORBIDDEN[layer]))
             for m in modules}
    assert {m: w for m, w in wrong.items() if w} == {}


def test_the_import_reader_sees_both_import_forms(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import python_functions.service.app\n"
                      "from python_functions.local import stack\n"
                      "from python_functions import db\n")
    assert _imported_packages(module) == {"service", "local", "db"}
