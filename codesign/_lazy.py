"""Lazy package namespaces (PEP 562, in the manner of Scientific Python's SPEC 1): a package
lists its public names as imports under ``if TYPE_CHECKING:`` (what type checkers and readers
see), and ``lazy_exports`` reads that block to import each name on first use. So ``codesign
--help`` and ``codesign info`` start without importing torch, and ``import codesign`` is cheap.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def _typing_imports(source: str) -> dict[str, str]:
    """name -> module of every ``from MODULE import NAME`` under ``if TYPE_CHECKING:``."""
    exports = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    exports.update({a.asname or a.name: stmt.module for a in stmt.names})
    return exports


def lazy_exports(package: str, init_file: str) -> tuple[Callable, Callable, list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` from the TYPE_CHECKING imports of its
    ``__init__.py`` (``init_file``)."""
    exports = _typing_imports(Path(init_file).read_text())

    def __getattr__(name: str):
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, sorted(exports)
