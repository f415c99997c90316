"""The sweep's result store: one file per finished job, named by the job's content hash.

A result is written to a temporary name and renamed into place, so a file that exists is
complete: a sweep killed at any moment loses at most the jobs that were running. A failed job
leaves KEY.error.json (its error, the ngspice output) and is retried by the next run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from codesign.jsonio import jsonable


class ResultStore:
    """Results of finished jobs under ``root``: KEY.npz (arrays), KEY.error.json (failures)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def error_path(self, key: str) -> Path:
        return self.root / f"{key}.error.json"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> Path:
        """Store a finished job's arrays atomically (and clear an old error record)."""
        tmp = self.root / f".{key}.{os.getpid()}.part"
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, self.path(key))
        self.error_path(key).unlink(missing_ok=True)
        return self.path(key)

    def load(self, key: str) -> dict[str, np.ndarray]:
        with np.load(self.path(key), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def save_error(self, key: str, record: dict) -> Path:
        tmp = self.root / f".{key}.{os.getpid()}.part"
        tmp.write_text(json.dumps(jsonable(record), indent=2) + "\n")
        os.replace(tmp, self.error_path(key))
        return self.error_path(key)

    def error(self, key: str) -> dict | None:
        path = self.error_path(key)
        return json.loads(path.read_text()) if path.is_file() else None
