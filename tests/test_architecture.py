"""The layout's rules, checked on the source: layers import only downwards, no cycles,
argparse only in the command-line package (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "exactrelu"

# Lowest first; a module may import from its own layer and the ones before it.
LAYERS = [
    ("base", ["exactrelu.errors", "exactrelu.table", "exactrelu.files"]),
    ("problem and data", ["exactrelu.problem", "exactrelu.instances", "exactrelu.generate"]),
    ("networks and losses", ["exactrelu.network"]),
    ("results", ["exactrelu.certificate", "exactrelu.options"]),
    ("HiGHS backend", ["exactrelu.highs"]),
    ("convex subproblems", ["exactrelu.convex"]),
    ("formulations", ["exactrelu.formulation"]),
    ("methods", ["exactrelu.methods"]),
    (
        "API",
        [
            "exactrelu.solve",
            "exactrelu.compare",
            "exactrelu.validation",
            "exactrelu.landscapes",
            "exactrelu.estimators",
            "exactrelu.bench",
        ],
    ),
    ("command line", ["exactrelu.cli", "exactrelu.__main__"]),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    if module == "exactrelu":
        return next(i for i, (name, _) in enumerate(LAYERS) if name == "API")
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def _imports(path: Path, *, top_level_only: bool = False) -> list[tuple[str, int]]:
    """``(imported exactrelu module, line)`` of every import in a file (also inside
    functions, unless ``top_level_only``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("exactrelu"):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("exactrelu")]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_back_up_a_layer(path):
    module = _module_name(path)
    own = _layer(module)
    upward = [
        f"line {line}: {imported} ({LAYERS[_layer(imported)][0]})"
        for imported, line in _imports(path)
        if _layer(imported) > own and not (module == "exactrelu" and imported.startswith(module))
    ]
    assert not upward, f"{module} ({LAYERS[own][0]}) imports from above: {upward}"


def test_module_level_imports_have_no_cycles():
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        module = _module_name(path)
        targets = set()
        for imported, _ in _imports(path, top_level_only=True):
            # `from package import submodule` and `from module import name` both name a
            # module that must be importable first
            targets.add(imported)
        graph[module] = {t for t in targets if t != module}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, "import cycle: " + " -> ".join([*trail, node])
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if target in graph and not node.startswith(target + "."):
                visit(target, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        visit(module, [])


def test_argparse_lives_in_the_command_line_package_only():
    outside = [
        str(path.relative_to(PACKAGE))
        for path in SOURCES
        if "argparse" in path.read_text() and not _module_name(path).startswith("exactrelu.cli")
    ]
    assert not outside
