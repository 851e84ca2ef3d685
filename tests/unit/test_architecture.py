"""The layering rules of STYLE.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import reelcart

PACKAGE = Path(reelcart.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_only_handlers_and_bot_import_telegram() -> None:
    offenders = []
    for path in _sources():
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("handlers/") or relative == "bot.py":
            continue
        if any(name == "telegram" or name.startswith("telegram.") for name in _imports(path)):
            offenders.append(relative)
    assert offenders == []


def test_lower_layers_never_import_upper_ones() -> None:
    # services -> ranking -> embeddings, catalog -> domain; never back up.
    upper = {
        "catalog": ("reelcart.services", "reelcart.ranking", "reelcart.handlers", "reelcart.bot"),
        "embeddings": ("reelcart.services", "reelcart.ranking", "reelcart.handlers"),
        "ranking": ("reelcart.services", "reelcart.handlers", "reelcart.bot"),
        "services": ("reelcart.handlers", "reelcart.bot", "reelcart.cli"),
    }
    offenders = []
    for path in _sources():
        layer = path.relative_to(PACKAGE).parts[0]
        for name in _imports(path):
            if name.startswith(upper.get(layer, ())):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_nothing_reads_the_environment_at_import_time() -> None:
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue  # runs only when called
            for node in ast.walk(statement):
                if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                    offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported when the file runs: ``if TYPE_CHECKING:`` blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        }:
            skipped.update(id(inner) for child in node.body for inner in ast.walk(child))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_private_module_of_a_library_is_imported_at_run_time() -> None:
    # A library's underscored modules move between releases without notice.
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _sources()
        for name in _runtime_imports(path)
        if not name.startswith("reelcart")
        and any(part.startswith("_") for part in name.split(".")[1:])
    ]
    assert offenders == []
