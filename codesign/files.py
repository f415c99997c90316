"""Files codesign writes: strict JSON, atomic writes (a reader sees the old file or the complete
new one, never a partial one), output folders checked before any work starts, and names that
cannot leave the folder they are meant for."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path

import numpy as np

from codesign.errors import InputError, OutputError


def jsonable(value):
    """``value`` made strict-JSON-safe, recursively: dataclasses become dicts, enums their value,
    numpy types Python numbers, paths strings, NaN null and infinities "inf" / "-inf"."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def output_error(path: Path, exc: OSError) -> OutputError:
    """The one-line error for an OSError while writing ``path``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f"cannot write {path} ({reason}); free disk space or choose another "
                       "output folder")


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise output_error(path, exc) from None
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, data) -> Path:
    """Write ``data`` as indented strict JSON, atomically."""
    return write_text(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def write_table(path: Path, frame) -> Path:
    """Write a pandas DataFrame as Parquet (``.parquet``) or CSV (any other suffix), atomically."""
    path = Path(path)
    if path.suffix == ".parquet":
        return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def check_output_dir(path: Path, option: str = "--out") -> Path:
    """Create the folder ``path`` and check that files can be written in it, before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path} is a file, not a folder; choose a folder")
    probe = path / f".codesign-write-test-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write into {option} {path} ({exc.strerror or exc}); choose a "
                          "writable folder") from None
    return path


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def safe_name(name: str, what: str) -> str:
    """``name`` if it is a plain file name (no folder part, no '..'); InputError otherwise."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or ".." in name:
        raise InputError(f"{what} {name!r} is not a plain name; use up to 100 letters, digits, "
                         "'-', '_' and '.' (no '/' and no '..')")
    return name
