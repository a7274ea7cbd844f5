"""The project's shape: engine → store → service (the application layer) → the front ends (the Telegram bot,
its admins' Mini App, the CLI), bench beside them; no front end imports another; no module imports one that
imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "store", "service", "bot", "cli", "bench")
# A package may import only itself and the ones listed here.
ALLOWED = {
    "engine": {"engine"},
    "store": {"store", "engine"},
    "service": {"service", "store", "engine"},
    "bot": {"bot", "service", "store", "engine"},
    "cli": {"cli", "service", "store", "engine"},
    "bench": {"bench", "bot", "cli", "service", "store", "engine", "tests"},
}


# The front ends, by the modules that make each one up (a module belongs to the first prefix it starts with).
FRONT_ENDS = {
    "mini app": ("bot.webapp",),
    "telegram": ("bot",),
    "cli": ("cli",),
}
# The composition roots: the only modules that may reach into more than one front end. `bot.app` builds the
# Telegram application and starts the Mini App in its event loop; `cli.main` is the `lookalike` command,
# whose `run` hands over to `bot.app.run`; `bot.__main__` is `python -m bot`, the same command.
COMPOSITION_ROOTS = {
    "bot.app": {"telegram", "mini app"},
    "cli.main": {"cli", "telegram"},
    "bot.__main__": {"telegram", "cli"},
}


def front_end_of(module: str) -> str | None:
    """The front end a module belongs to, or None for the layers below them (and bench)."""
    for name, prefixes in FRONT_ENDS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module `path` imports, at the top or inside a function (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module_name(path):
                found.add(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import circle once, as the modules along it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def test_no_module_imports_one_that_imports_it_back(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_each_layer_imports_only_the_layers_below_it(graph: dict[str, set[str]]) -> None:
    wrong = sorted(
        f"{src} imports {dst}"
        for src, targets in graph.items()
        for dst in targets
        if dst.split(".")[0] not in ALLOWED[src.split(".")[0]] and not a_root_may(src, dst)
    )
    assert wrong == []


def a_root_may(src: str, dst: str) -> bool:
    """True when `src` is a composition root and `dst` belongs to a front end it starts."""
    return front_end_of(dst) in COMPOSITION_ROOTS.get(src, set())


def front_end_crossings(graph: dict[str, set[str]]) -> list[str]:
    """Imports from one front end into another, except a composition root's."""
    return sorted(
        f"{src} imports {dst}"
        for src, targets in graph.items()
        for dst in targets
        if (mine := front_end_of(src)) is not None
        and (theirs := front_end_of(dst)) is not None
        and theirs != mine
        and not a_root_may(src, dst)
    )


def test_no_front_end_imports_another(graph: dict[str, set[str]]) -> None:
    assert front_end_crossings(graph) == []


def test_the_mini_app_imports_no_telegram_module(graph: dict[str, set[str]]) -> None:
    mini_app = [m for m in graph if front_end_of(m) == "mini app"]
    assert mini_app, "no Mini App modules found: the check would pass on nothing"
    telegram = sorted(
        f"{src} imports {dst}"
        for src in mini_app
        for dst in graph[src]
        if front_end_of(dst) == "telegram" or dst.startswith("telegram")
    )
    assert telegram == []


def test_the_application_layer_knows_no_telegram() -> None:
    """service/ is what happens to a photo whoever asked: python-telegram-bot is never imported there."""
    found = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "service").rglob("*.py")
        for name in third_party_imports(path)
        if name.split(".")[0] == "telegram"
    )
    assert found == []


def third_party_imports(path: Path) -> set[str]:
    """Every module name `path` imports (absolute imports, any depth)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_front_end_check_finds_a_front_end_importing_another() -> None:
    graph = {
        "bot.webapp.server": {"bot.handlers.wikidata_chat", "service.wikidata"},
        "cli.commands": {"bot.app"},
        "cli.main": {"bot.app"},
        "service.photos": {"store.gallery"},
    }
    assert front_end_crossings(graph) == [
        "bot.webapp.server imports bot.handlers.wikidata_chat",
        "cli.commands imports bot.app",
    ]


def test_the_circle_check_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
