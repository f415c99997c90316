"""Where the SPICE model libraries (netlists/*.lib) live: the repository's netlists/ folder, or
its copy inside an installed wheel (codesign/_netlists). Every deck includes LIBRARY_FILES (the
behavioural references), then what its parts need (codesign.parts): the sky130 models where a
part is drawn in sky130 (SKY130_FILES), and each part's own library."""

from __future__ import annotations

import hashlib
import shutil
from functools import lru_cache
from pathlib import Path

from codesign.files import atomic_write
from codesign.parts import Process, chip_parts
from codesign.parts.geometry import model_library_dir

LIBRARY_FILES = ("codesign_devices.lib", "codesign_amplifiers.lib", "codesign_neurons.lib")
SKY130_LIBRARY = "codesign_sky130.lib"
SKY130_FILES = ("sky130/LICENSE", "sky130/README.md",
                *(f"sky130/{name}.spice" for name in (
                    "models_global", "models_fet_shared", "parameters_fet_tt", "parameters_fet_ss",
                    "parameters_fet_ff", "parameters_fet_sf", "parameters_fet_fs",
                    "parameters_res_nom", "parameters_cap_nom")))
"""SkyWater's files under sky130/ (Apache-2.0) that codesign_sky130.lib reads."""


def part_libraries(config) -> tuple[str, ...]:
    """The libraries the parts of ``config`` include besides LIBRARY_FILES, in order."""
    return tuple(name for name in chip_parts(config).libraries() if name not in LIBRARY_FILES)


def library_files(config) -> tuple[str, ...]:
    """The SPICE libraries (and the files they read) a deck of the circuit ``config`` needs."""
    parts = chip_parts(config)
    own = part_libraries(config) + tuple(name for p in parts.all() for name in p.files)
    if parts.process == Process.SKY130:
        return LIBRARY_FILES + (SKY130_LIBRARY, *own, *SKY130_FILES)
    return LIBRARY_FILES + own


def library_dir() -> Path:
    """The folder holding the .lib files used by every deck."""
    return model_library_dir(LIBRARY_FILES)


def copy_library(dest: Path, files: tuple[str, ...] = LIBRARY_FILES) -> list[Path]:
    """Copy the model libraries ``files`` into ``dest`` (for self-contained exported decks)."""
    source = library_dir()
    return [atomic_write(Path(dest) / name, lambda tmp, name=name: shutil.copy2(source / name, tmp))
            for name in files]


@lru_cache(maxsize=4)
def library_sha256(files: tuple[str, ...] = LIBRARY_FILES) -> str:
    """Hash of the SPICE libraries ``files`` (what a proxy fitted to them depends on)."""
    digest = hashlib.sha256()
    for name in files:
        digest.update((library_dir() / name).read_bytes())
    return digest.hexdigest()
