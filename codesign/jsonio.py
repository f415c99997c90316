"""JSON output that stays strict JSON: numpy scalars become numbers, inf becomes "inf" and
NaN becomes null."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def jsonable(value):
    """``value`` with numpy types and non-finite floats made JSON-safe, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
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


def write_json(path: Path, data: dict) -> Path:
    """Write ``data`` as indented strict JSON."""
    path = Path(path)
    path.write_text(json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")
    return path
