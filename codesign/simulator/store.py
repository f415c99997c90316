"""A store of finished SPICE jobs: one file per job, named by the job's content hash.

A result is written to a temporary name and renamed into place, so a file that exists is
complete: a run killed at any moment loses at most the jobs that were running, and a re-run
skips every stored job. A stored file that cannot be read or holds non-finite values (other
than the arrays named in ``nan_ok``) does not count as done: it is set aside as KEY.npz.bad and
the job runs again. A failed job leaves KEY.error.json (its error, the ngspice output) and
KEY.error.cir (the deck, to rerun by hand), and is retried by the next run.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from codesign.errors import SimulationError
from codesign.files import atomic_write, output_error, write_json, write_text


def check_finite(arrays: dict[str, np.ndarray], nan_ok: tuple[str, ...] = ()) -> None:
    """SimulationError naming the first array (not in ``nan_ok``) with a non-finite value."""
    for name, values in arrays.items():
        if name not in nan_ok and not np.isfinite(values).all():
            raise SimulationError(f"the result {name!r} has non-finite values; not stored")


class ResultStore:
    """Results of finished jobs under ``root``: KEY.npz (arrays), KEY.error.json (failures)."""

    def __init__(self, root: Path, nan_ok: tuple[str, ...] = ()) -> None:
        self.root = Path(root)
        self.nan_ok = nan_ok
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(self.root, exc) from None

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def error_path(self, key: str) -> Path:
        return self.root / f"{key}.error.json"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays of job ``key``, or None if it is not stored (or was unusable)."""
        try:
            with np.load(self.path(key), allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            check_finite(arrays, self.nan_ok)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, SimulationError):
            self.path(key).replace(self.path(key).with_suffix(".npz.bad"))
            return None
        return arrays

    def has(self, key: str) -> bool:
        """Is job ``key`` stored, readable and finite?"""
        return self.get(key) is not None

    def load(self, key: str) -> dict[str, np.ndarray]:
        arrays = self.get(key)
        if arrays is None:
            raise KeyError(f"job {key} is not in the store {self.root}")
        return arrays

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> Path:
        """Store a finished job's arrays atomically (and clear an old error record)."""
        atomic_write(self.path(key), lambda tmp: _savez(tmp, arrays))
        self.error_path(key).unlink(missing_ok=True)
        self.error_path(key).with_suffix(".cir").unlink(missing_ok=True)
        return self.path(key)

    def save_error(self, key: str, record: dict, deck: str = "") -> Path:
        """Record why job ``key`` failed (and its deck, to rerun by hand)."""
        if deck:
            write_text(self.error_path(key).with_suffix(".cir"), deck)
        return write_json(self.error_path(key), record)

    def error(self, key: str) -> dict | None:
        path = self.error_path(key)
        try:
            return json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            return {"error": f"unreadable error record {path}"}


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    os.chmod(path, 0o644)
