"""Imports run downward: a module imports only from its own layer or the layers below it
(docs/architecture.md draws them). A newcomer who adds an import that runs back up is told
which one, here, rather than by a cycle months later."""

from __future__ import annotations

import ast
from pathlib import Path

import pigweight

# Lowest first; a top-level module or package of pigweight/ in each.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "domain", "redact", "aio", "durable", "background", "perf"}
    | {"settings", "settings_groups", "settings_sites"},
    {"media", "vision", "synthetic"},
    {"camera_policy", "counting", "store", "evaluation"},
    {"training", "weighing", "auth"},
    {"cameras", "zones"},
    {"pipeline", "sites"},
    {"streaming", "teaching", "metrics"},
    {"api"},
    {"app", "cli", "cli_count", "cli_eval", "cli_index", "cli_models", "cli_scale"}
    | {"cli_db", "cli_sites", "cli_train", "cli_users", "cli_worker", "__main__"},
]
PACKAGE = Path(pigweight.__file__).parent


def _layer_of(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise AssertionError(f"pigweight/{name} is in no layer of tests/test_layers.py: add it")


def _imports(path: Path) -> set[str]:
    """The top-level pigweight names a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "pigweight":
            # `from pigweight import __version__`, or a module by its name
            modules = [f"pigweight.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "pigweight" and len(parts) > 1:
                found.add("__init__" if parts[1] == "__version__" else parts[1])
    return found


def test_every_import_runs_down_or_sideways() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        own = relative.parts[0].removesuffix(".py")
        for name in _imports(path) - {own}:
            if _layer_of(name) > _layer_of(own):
                upward.append(f"pigweight/{relative} imports pigweight.{name}")
    assert not upward, "imports that run up a layer:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from pigweight.api.errors import STATUS\nimport pigweight.store.db\n"
        "from pigweight import __version__, cameras\n"
    )
    assert _imports(module) == {"api", "store", "__init__", "cameras"}
    assert _layer_of("api") > _layer_of("weighing")
