"""The plan of the house, checked on the source tree: no import cycles, no borrowed private
names, handlers away from storage, and no module grown past what one reader holds."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import reelcart

PACKAGE = Path(reelcart.__file__).parent
MAX_LINES = 600
# Translation catalogs are long lists of sentences, not code to hold in one's head.
LONG_ALLOWED = ("i18n/",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _reelcart_imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for every import of reelcart code, those inside
    functions and under ``TYPE_CHECKING`` included: an import made late, or only for the
    type checker, still ties the two modules together."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "reelcart":
                    yield alias.name, []
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] == "reelcart"
        ):
            yield node.module, [alias.name for alias in node.names]


def _dependencies() -> dict[str, set[str]]:
    modules = _sources()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, names in _reelcart_imports(path):
            targets = {f"{module}.{n}" for n in names if f"{module}.{n}" in modules}
            if len(targets) < len(names) or not names:
                targets.add(module)  # names defined in the module (or its package) itself
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The check below is only as good as this: a ring of three, and a module beside it.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_two_modules_import_each_other_even_lazily() -> None:
    assert _cycles(_dependencies()) == []


def test_no_private_name_is_imported_from_another_module() -> None:
    offenders = [
        f"{name} imports {module}.{imported}"
        for name, path in _sources().items()
        for module, names in _reelcart_imports(path)
        for imported in names
        if imported.startswith("_") and not imported.startswith("__")
    ]
    assert offenders == []


def test_handlers_never_touch_storage() -> None:
    offenders = [
        f"{name} imports {module}"
        for name, path in _sources().items()
        if name.startswith("reelcart.handlers")
        for module, _names in _reelcart_imports(path)
        if module.startswith("reelcart.storage")
    ]
    assert offenders == []


def test_no_module_is_longer_than_one_reader_holds() -> None:
    too_long = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(LONG_ALLOWED):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long[relative] = lines
    assert too_long == {}


# The layers of DESIGN.md, bottom up: what each package may import of reelcart besides itself.
# i18n holds the texts (and renders an import report); config is read once at the top.
BENEATH = {
    "domain": set(),
    "storage": {"domain"},
    "embeddings": {"domain", "storage"},
    "media": {"domain", "storage"},
    "catalog": {"domain", "storage", "embeddings", "media", "i18n"},
    "ranking": {"domain", "storage", "embeddings"},
    "i18n": {"domain", "catalog"},
    "services": {"domain", "storage", "embeddings", "media", "catalog", "ranking", "i18n"}
    | {"config"},
    "handlers": {"domain", "catalog", "services", "i18n", "config"},
}


def test_each_layer_imports_only_the_layers_beneath_it() -> None:
    offenders = []
    for name, path in _sources().items():
        layer = name.split(".")[1] if "." in name else ""
        if layer not in BENEATH:
            continue
        for module, _names in _reelcart_imports(path):
            parts = module.split(".")
            target = parts[1] if len(parts) > 1 else ""
            if target != layer and target not in BENEATH[layer]:
                offenders.append(f"{name} imports {module}")
    assert offenders == []
