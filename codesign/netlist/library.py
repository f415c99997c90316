"""Where the SPICE model libraries (netlists/*.lib) live: the repository's netlists/ folder, or
its copy inside an installed wheel (codesign/_netlists)."""

from __future__ import annotations

import shutil
from pathlib import Path

from codesign.errors import CodesignError
from codesign.files import atomic_write

LIBRARY_FILES = ("codesign_devices.lib", "codesign_amplifiers.lib", "codesign_neurons.lib")


def library_dir() -> Path:
    """The folder holding the .lib files used by every deck."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_netlists", package.parent / "netlists"):
        if all((candidate / name).is_file() for name in LIBRARY_FILES):
            return candidate
    raise CodesignError(
        f"SPICE model libraries {LIBRARY_FILES} not found next to {package}; "
        "reinstall codesign (pip install -e . from the repository)"
    )


def copy_library(dest: Path) -> list[Path]:
    """Copy the model libraries into ``dest`` (for self-contained exported decks)."""
    source = library_dir()
    return [atomic_write(Path(dest) / name, lambda tmp, name=name: shutil.copy2(source / name, tmp))
            for name in LIBRARY_FILES]
