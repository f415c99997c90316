"""Reader for ngspice's binary raw files (``set filetype=binary``; several plots may follow each
other in one file). Real data only: little-endian float64, one row per point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MARKER = b"Binary:\n"


@dataclass(frozen=True, eq=False)
class RawPlot:
    """One analysis result: its plot name (e.g. 'Operating Point') and vectors by name."""

    plotname: str
    vectors: dict[str, np.ndarray]


class RawFileError(ValueError):
    """A raw file that is truncated, complex, or not in binary format."""


def _header_fields(header: str) -> tuple[dict[str, str], list[str]]:
    fields: dict[str, str] = {}
    names: list[str] = []
    lines = header.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("Variables:"):
            names = [entry.split()[1].lower() for entry in lines[k + 1 :] if entry.strip()]
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields, names


def parse_raw(data: bytes, keep: frozenset[str] | set[str] | None = None) -> list[RawPlot]:
    """All plots in the bytes of a binary raw file (only the vectors named in ``keep``, if
    given)."""
    plots = []
    pos = 0
    while pos < len(data):
        end = data.find(MARKER, pos)
        if end < 0:
            raise RawFileError("no 'Binary:' section: write the raw file with filetype=binary")
        fields, names = _header_fields(data[pos:end].decode("latin-1"))
        if "complex" in fields.get("Flags", ""):
            raise RawFileError("complex raw data is not supported (only op and tran)")
        nvars = int(fields["No. Variables"])
        if len(names) != nvars:
            raise RawFileError(f"header lists {len(names)} variables, expected {nvars}")
        start = end + len(MARKER)
        declared = int(fields["No. Points"])
        # Count points from the bytes as well as the header: an aborted run declares more.
        points = min(declared, (len(data) - start) // (8 * nvars))
        nbytes = points * nvars * 8
        table = np.frombuffer(data, dtype="<f8", count=points * nvars, offset=start)
        table = table.reshape(points, nvars)
        columns = [(k, name) for k, name in enumerate(names) if keep is None or name in keep]
        plots.append(RawPlot(fields.get("Plotname", ""),
                             {name: table[:, k].copy() for k, name in columns}))
        if points < declared:
            break  # truncated: nothing valid follows
        pos = start + nbytes
    return plots


def read_raw(path: Path, keep: frozenset[str] | set[str] | None = None) -> list[RawPlot]:
    """All plots in the binary raw file at ``path`` (only the vectors in ``keep``, if given)."""
    return parse_raw(Path(path).read_bytes(), keep)
