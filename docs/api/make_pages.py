"""Write the API reference's pages, docs/api/ROOM.md, one per room of the package (``make docs``
runs this). A page asks mkdocstrings for the room's public names (``members: public``), which
the site's hook (docs/api/hooks.py) lists from the room's ``__init__.py`` when the site is built:

    python docs/api/make_pages.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parents[1] / "codesign"
ROOMS = {
    "deq": "The model: HybridDEQ, solvers, implicit gradients, core weights, checkpoints",
    "circuit": "The circuit: configs with units, the mapping, the compiler, the prediction",
    "chip": "The chip: one compiled instance, verified in SPICE and exported",
    "proxy": "The proxy: a differentiable model of the compiled circuit",
    "calibration": "Calibration: SPICE sweeps, fits, re-fits, noise",
    "loop": "The co-design loop",
    "design": "The design search",
    "tasks": "Tasks and their profiles",
    "simulator": "The simulator: ngspice backends, raw files, traces, the store",
}


def names(room: str) -> list[str]:
    """The room's public names: its ``__all__`` where written out, else the names its
    ``__init__.py`` imports under ``if TYPE_CHECKING:`` (codesign._lazy)."""
    tree = ast.parse((PACKAGE / room / "__init__.py").read_text())
    found = set()
    for node in tree.body:
        written_out = isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple)
        if written_out and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            found.update(ast.literal_eval(node.value))
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    found.update(a.asname or a.name for a in stmt.names)
    return sorted(found)


def render(room: str) -> str:
    return (f"# codesign.{room}\n\n{ROOMS[room]}. Generated from the docstrings by mkdocstrings; "
            f"the names are the room's public ones (`codesign.{room}.__all__`).\n\n"
            f"::: codesign.{room}\n    options:\n      members: public\n")


def main() -> int:
    for room in ROOMS:
        (HERE / f"{room}.md").write_text(render(room))
    print(f"wrote {len(ROOMS)} pages in docs/api")
    return 0


if __name__ == "__main__":
    sys.exit(main())
