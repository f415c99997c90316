"""The measured tables of docs/*.md whose runs' own outputs are not kept in the repository (loop,
design search, scale, calibration and training benchmarks), generated from their stored records
in docs/results/tables-PAGE.json, one record per table: its rows, the command that measured
it and where its numbers came from.

    python -m benchmarks.doc_tables            # rewrite the tables between their markers
    python -m benchmarks.doc_tables --check    # exit 1 if a table and its record disagree

A table lies between ``<!-- doc-table:ID:start -->`` and ``<!-- doc-table:ID:end -->``; a
number changes in its record (a benchmark writes it, or a person with the command's new
output), never in the page. tests/test_docs.py runs the check. The chip cards' and the grid
cores' tables have their own scripts (benchmarks.card_tables, benchmarks.grid_tables), which
read the benchmarks' own JSON outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import between

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"


def markers(table_id: str) -> tuple[str, str]:
    return f"<!-- doc-table:{table_id}:start -->", f"<!-- doc-table:{table_id}:end -->"


VERIFY_PATHS = (("cli", "`codesign verify` from the command line (proxy included)"),
                ("sweep_api", "sweep path through the API (`verify_core`, no proxy)"),
                ("alter_loop", "one-parse ngspice alter loop on the physical deck"),
                ("alter_loop_op_form", "the same loop on the deck's operating-point form"))
"""The paths of docs/results/verify-rate.json (benchmarks.verify_rate), in table order."""


def verify_rate_record() -> dict | None:
    """docs/scale.md's verify-rate table, from the benchmark's own output (None: not run)."""
    path = RESULTS / "verify-rate.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    small, large = (str(k) for k in data["samples"])
    rate = data["marginal_equilibria_per_s"]
    rows = [[label, f"{rate[key]:.1f}", f"{data['seconds'][key][small]:.2f}",
             f"{data['seconds'][key][large]:.2f}", f"{rate[key] / rate['alter_loop']:.2f}"]
            for key, label in VERIFY_PATHS]
    return {"page": "docs/scale.md", "tables": [{
        "id": "verify-rate",
        "command": "python -m benchmarks.verify_rate --repeats 2",
        "provenance": f"docs/results/verify-rate.json as the command wrote it ({data['cores']} "
                      f"cores, ngspice {data['ngspice']['ngspice_version']})",
        "header": ["path", "marginal rate [equilibria/s]", f"{small} samples [s]",
                   f"{large} samples [s]", "vs the alter loop"],
        "rows": rows}]}


def records() -> list[dict]:
    """Every stored page record: ``{"page": "docs/X.md", "tables": [...]}`` (and the verify
    rate's, built from its benchmark's output)."""
    stored = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("tables-*.json"))]
    verify = verify_rate_record()
    return stored + ([verify] if verify else [])


def render(table: dict) -> str:
    """One table as Markdown: its header, and its rows cell by cell as stored."""
    width = len(table["header"])
    bad = [row for row in table["rows"] if len(row) != width]
    if bad:
        raise ValueError(f"table {table['id']}: a row has {len(bad[0])} cells, the header "
                         f"{width}")
    row = lambda cells: "|" + "".join(f" {c} |" if c else " |" for c in cells)  # noqa: E731
    return "\n".join([row(table["header"]), "|" + "---|" * width, *map(row, table["rows"])])


def generated(text: str, tables: list[dict]) -> str:
    """``text`` with each table's markers holding its rendering; a missing marker is an error."""
    for table in tables:
        start, end = markers(table["id"])
        if start not in text or end not in text:
            raise ValueError(f"no markers for table {table['id']} ({start})")
        text = between(text, render(table), start, end)
    return text


def stale() -> list[Path]:
    """The pages whose tables differ from their records."""
    return [ROOT / r["page"] for r in records()
            if generated((ROOT / r["page"]).read_text(), r["tables"]) !=
            (ROOT / r["page"]).read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        pages = stale()
        if pages:
            print(f"stale tables in {', '.join(map(str, pages))}: run python -m "
                  "benchmarks.doc_tables", file=sys.stderr)
        return 1 if pages else 0
    for record in records():
        page = ROOT / record["page"]
        page.write_text(generated(page.read_text(), record["tables"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
