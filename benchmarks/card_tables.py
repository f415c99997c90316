"""The chip-card tables of README.md and docs/parts.md, generated from the stored card outputs
(docs/results/card-*.json, written by ``python -m benchmarks.chip_card``;
docs/results/heldout-*.json by ``python -m benchmarks.proxy_heldout``):

    python -m benchmarks.card_tables            # rewrite the tables between their markers
    python -m benchmarks.card_tables --check    # exit 1 if a table and its data disagree

tests/test_card_tables.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import between
from codesign.references import ANALOG_CHIPS_MAC, IMAGINE_SYSTEM_MAC

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
START, END = "<!-- card-table:start -->", "<!-- card-table:end -->"
TARGETS = ((ROOT / "README.md", False), (ROOT / "docs" / "parts.md", True))
"""Where the tables go, and whether with each card's energy lines."""


def _cards() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(RESULTS.glob("card-*.json"))]


def _name(card: dict) -> str:
    parts = card["parts"].replace("; ", ", ")
    return f"{card['task']} ({parts})"


def render(cards: list[dict], lines_too: bool = True) -> str:
    """The summary table and, with ``lines_too``, each card's energy lines."""
    lines = ["| chip (parts) | SPICE metric / the same model's digital core | energy per "
             "inference, median "
             "(p95) | per equivalent MAC, median (p95) | TOPS/W | area | TOPS/mm^2 |",
             "|---|---|---|---|---|---|---|"]
    for c in cards:
        e, a = c["energy"], c["area"]
        complete = "" if a["complete"] else " (incomplete: behavioural parts)"
        lines.append(
            f"| {_name(c)} | {c['metric_spice']:.4f} / {c['metric_digital']:.4f} "
            f"({c['samples']} samples) | {e['median_j'] * 1e12:.0f} pJ "
            f"({e['p95_j'] * 1e12:.0f}) | {e['per_mac_j'] * 1e15:.0f} fJ "
            f"({e['p95_per_mac_j'] * 1e15:.0f}) | {e['tops_per_w']:.3g} | "
            f"{a['total_mm2']:.2f} mm^2{complete} | {a['tops_per_mm2']:.3g} |")
    anchors = ", ".join(f"{r.name}: {r.value:.0f} {r.unit}" for r in
                        (*ANALOG_CHIPS_MAC, IMAGINE_SYSTEM_MAC))
    lines += ["", f"Chip-level anchors that count the same way (codesign.references): {anchors}."]
    lines += heldout_table() if lines_too else []
    for c in cards if lines_too else ():
        e = c["energy"]
        lines += ["", f"Energy card, {_name(c)}: {e['transients']} transients, sampling at "
                  f"{e['sampling_s'] * 1e6:.2f} us (median); there "
                  f"{e['code_agreement'] * 100:.1f} % of the ADC codes equal the DC ones (all "
                  "of a sample's on "
                  f"{e['codes_equal'] * 100:.0f} %), and the decoded output equals the DC one on "
                  f"{e['same_output_at_sampling'] * 100:.0f} %; `{c['command'].strip()}`", "",
                  "| line | median | p95 | basis |", "|---|---|---|---|"]
        lines += [f"| {r['block']} | {r['median_j'] * 1e12:.2f} pJ | {r['p95_j'] * 1e12:.2f} pJ "
                  f"| {r['basis']} |" for r in e["lines"]]
    return "\n".join(lines)


def heldout_table() -> list[str]:
    """Each stored held-out comparison (docs/results/heldout-*.json) as a table."""
    lines = []
    for path in sorted(RESULTS.glob("heldout-*.json")):
        h = json.loads(path.read_text())
        lines += ["", f"Against SPICE on {h['test_samples']} held-out test inputs ({h['task']}: "
                  f"{h['parts'].replace('; ', ', ')}; fitted on {h['fit_samples']} training "
                  f"inputs): `{h['command'].strip()}`", "", "| model | RMS [FS] |", "|---|---|"]
        lines += [f"| {name} | {value:.2e} |" for name, value in h["rms_fs"].items()]
    return lines


def replaced(text: str, table: str) -> str:
    return between(text, table, START, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    cards = _cards()
    stale = []
    for path, lines_too in TARGETS:
        text = path.read_text()
        if START not in text:
            continue
        new = replaced(text, render(cards, lines_too))
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"stale card tables in {', '.join(map(str, stale))}: run python -m "
              "benchmarks.card_tables", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
