"""What every run's report starts with (the command, its status and times, from run.json) and
the helpers the reports of the verify, calibrate, design and noise folders share: tables read
leniently (a column a newer codesign added is shown, one an older lacks is left out) and JSON
results flattened into (quantity, value) tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from codesign.errors import InputError
from codesign.report.document import Block, Heading, Para, Table
from codesign.run_folder import README, read_marker
from codesign.schema import read_json

HEADER_KEYS = ("schema", "schema_version", "codesign_version")


def run_record(run: Path, command: str, partial: bool) -> dict:
    """run.json of ``run`` (a ``command`` run's folder); InputError unless the run completed
    (or ``partial``)."""
    data = read_marker(run)
    if data is None:
        raise InputError(f"{run} has no run.json: it is not the folder of a codesign run; pass "
                         "the --out of `codesign loop`, `design`, `verify` or `noise`, or the "
                         "--work of `codesign calibrate`")
    if data.get("status") != "complete" and not partial:
        raise InputError(f"{run} holds a `codesign {command}` run that is "
                         f"{data.get('status', 'not complete')}: run its command again to "
                         f"finish it (see {run}/README.md), or pass --partial to render what "
                         "it has")
    return data


def intro(run: Path, record: dict, title: str, what: str) -> list[Block]:
    """The heading, what the run is, and its command, status and times."""
    status = record.get("status", "?")
    line = record.get("command_line") or f"codesign {record.get('command', '')}"
    blocks: list[Block] = [Heading(title, 1), Para(what)]
    if status != "complete":
        error = f" ({record['error']})" if record.get("error") else ""
        blocks.append(Para(f"INCOMPLETE RUN: status {status}{error}; what follows is what it "
                           "wrote."))
    where = f" in {record['cwd']}" if record.get("cwd") else ""
    files = (f" {run.name}/README.md says what each file holds." if (run / README).is_file()
             else "")
    blocks.append(Para(f"Command: {line}{where}. Status: {status}; started "
                       f"{record.get('started', '?')}, finished {record.get('finished') or '-'} "
                       f"(UTC).{files}"))
    return blocks


def read_table(run: Path, name: str) -> pd.DataFrame | None:
    """A CSV or Parquet table of the run (None when it has none); InputError for one that
    cannot be read."""
    path = run / name
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError, ImportError) as exc:
        raise InputError(f"cannot read {path} ({type(exc).__name__}); run the command that "
                         "wrote it again") from None


def read_object(path: Path) -> dict | None:
    """A JSON result's fields without its header (None when the file is absent)."""
    if not Path(path).is_file():
        return None
    return {k: v for k, v in read_json(path).items() if k not in HEADER_KEYS}


def flatten(data: dict, prefix: str = "", skip: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    """(dotted key, scalar) of every leaf of a JSON object; lists of scalars joined."""
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        if key in skip:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, f"{name}.")
        elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            rows.append((name, ", ".join(map(str, value))))
        elif isinstance(value, list):
            rows.append((name, f"{len(value)} items"))
        else:
            rows.append((name, value))
    return rows


def quantities(data: dict, caption: str = "", skip: tuple[str, ...] = ()) -> Table:
    """A JSON object as a (quantity, value) table; numbers stay numbers, text stays text."""
    rows = flatten(data, skip=skip)
    values = [v if isinstance(v, int | float) and not isinstance(v, bool) else
              ("n/a" if v is None else str(v)) for _, v in rows]
    frame = pd.DataFrame({"quantity": [k for k, _ in rows],
                          "value": pd.Series(values, dtype=object)})
    return Table(frame, caption)


def columns(frame: pd.DataFrame, wanted: list[str]) -> pd.DataFrame:
    """``frame``'s columns among ``wanted``, in that order."""
    return frame[[c for c in wanted if c in frame.columns]]
