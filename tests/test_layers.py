"""The package's structure, read from its own source (every import, those inside functions
included): rooms (subpackages and top-level modules) in layers that import only downwards, no
import circle between modules, and an import inside a function only where it defers a heavy
dependency, with a comment saying so."""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "codesign"

LAYERS = [
    {"_version", "_lazy", "errors", "references"},
    {"choices", "files", "limits"},
    {"schema", "jobs"},
    {"run_folder", "tasks"},
    {"deq"},
    {"parts"},
    {"circuit"},
    {"netlist"},
    {"simulator", "proxy"},
    {"results"},
    {"chip", "training", "report"},
    {"calibration"},
    {"loop"},
    {"design"},
    {"cli"},
    {"codesign"},  # the package root: lazy exports only
]
"""Rooms from the bottom up: a room imports only rooms of lower layers (and itself)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "codesign"


def _is_module(name: str) -> bool:
    base = PACKAGE.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(path: Path):
    """(imported codesign module, line, inside a function) of every import in ``path``."""
    tree = ast.parse(path.read_text())
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(child) for child in ast.walk(node) if child is not node}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "codesign":
            # ``from pkg import submodule`` depends on the submodule; any other name on pkg
            modules = {f"{node.module}.{a.name}" for a in node.names
                       if _is_module(f"{node.module}.{a.name}")}
            names = [a for a in node.names if f"{node.module}.{a.name}" not in modules]
            targets = modules | ({node.module} if names else set())
            for target in targets:
                yield target, node.lineno, id(node) in inside
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "codesign":
                    yield alias.name, node.lineno, id(node) in inside


def graph() -> dict[str, set[str]]:
    edges = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        source = module_name(path)
        for target, _, _ in imports(path):
            if target != source:
                edges[source].add(target)
    return edges


def test_every_room_has_a_layer():
    rooms = {room(module_name(p)) for p in PACKAGE.rglob("*.py")}
    placed = set().union(*LAYERS)
    assert rooms <= placed, f"rooms without a layer: {sorted(rooms - placed)}"


def test_rooms_import_only_downwards():
    layer = {name: k for k, names in enumerate(LAYERS) for name in names}
    upward = sorted(f"{a} -> {b}" for a, targets in graph().items() for b in targets
                    if room(a) != room(b) and layer[room(b)] >= layer[room(a)])
    assert not upward, "imports that do not run downwards:\n" + "\n".join(upward)


def test_no_import_circle():
    edges = graph()
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_an_import_inside_a_function_says_what_it_defers():
    undocumented = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.Import | ast.ImportFrom) or node is func:
                    continue
                # the comment on the import's line, or in the lines of imports and comments
                # (and blank lines) right above it
                k = node.lineno - 1
                said = "deferred" in lines[k]
                while not said and k > 0:
                    k -= 1
                    text = lines[k].strip()
                    if not (text.startswith(("#", "import ", "from ")) or text == ""
                            or text.startswith(")") or lines[k].startswith(" " * 8)):
                        break
                    said = text.startswith("#") and "deferred" in text
                if not said:
                    undocumented.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not undocumented, ("imports inside functions without a '# deferred: ...' comment "
                              "saying what they defer:\n" + "\n".join(sorted(set(undocumented))))
