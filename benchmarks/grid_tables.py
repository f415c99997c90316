"""The grid-core tables of docs/grid.md, generated from the stored outputs in docs/results:

- grid-<task>.json: the structured model (``codesign grid train --task T --out
  docs/results/grid-T.pt`` writes it beside the checkpoint),
- grid-<task>-network.json, grid-<task>-network-random.json: Kirchhoff network cores
  (``python -m benchmarks.grid_network``), and their chips in SPICE, the ``trained`` runs of
  grid-network-spice.json (``python -m benchmarks.grid_network_spice``),
- grid-<task>-baselines.json: FNO, dense DEQ and MLP (``python -m benchmarks.grid_baselines``),
  and the dense DEQ's chip in SPICE, grid-dense-spice.json (``python -m
  benchmarks.grid_dense_spice``),
- grid-verify-<task>-<G>.json: its chip in SPICE (``codesign grid verify ... --out D``, then
  D/summary.json copied there by ``python -m benchmarks.grid_tables --collect D``),
- grid-<task>-labels.json: the residual term at 10/30/100 % labels
  (``python -m benchmarks.grid_pde --sweep-labels 0.1,0.3,1.0``),
- grid-network-window.json: the network chips' resistor spans and their accuracy held to a
  window (``python -m benchmarks.grid_network_window``),
- grid-scale.json: ngspice's time and memory against the grid (``python -m
  benchmarks.grid_scale``),
- grid-command-time.json: ``codesign verify`` of trained models on one field against the grid
  (``python -m benchmarks.grid_verify_time``),
- grid-subdomain.json: subdomain SPICE against the single-process `.op` (``python -m
  benchmarks.grid_subdomain``).

    python -m benchmarks.grid_tables            # rewrite the tables between their markers
    python -m benchmarks.grid_tables --check    # exit 1 if a table and its data disagree

tests/test_grid_tables.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from benchmarks.common import between

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
TARGET = ROOT / "docs" / "grid.md"
START, END = "<!-- grid-table:start -->", "<!-- grid-table:end -->"
TASKS = ("poisson", "darcy")
GRIDS = ("16", "32", "64")


def _load(name: str):
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _l2(record: dict, grid: str) -> str:
    value = record["relative_l2"].get(grid)
    return "-" if value is None else f"{value:.4f}"


def accuracy_table(task: str) -> list[str]:
    grid_model = _load(f"grid-{task}.json")
    baselines = _load(f"grid-{task}-baselines.json")
    if grid_model is None:
        return []
    spice = {g: _load(f"grid-verify-{task}-{g}.json") for g in GRIDS}
    lines = [f"**{task}** (trained at 16 x 16; relative L2 over the test fields; training "
             "time on 2 shared cores, one torch thread each, several jobs at once; SPICE: the "
             "opamp-level chip, its mismatch and converters as listed, against the same "
             "model's digital output on the same fields)", "",
             "| model | parameters | training [s] | 16 x 16 | 32 x 32 | 64 x 64 | SPICE / "
             "digital |", "|---|---|---|---|---|---|---|"]
    deq = grid_model["deq"]
    name = (f"grid DEQ (c = {deq['channels']}, {deq['shape']} stencil, {deq['activation']}, "
            f"{deq['transfer']} transfer)")
    lines.append(_model_row(name, grid_model, [run for run in spice.values() if run]))
    lines += network_rows(task)
    dense = [r for r in (_load("grid-dense-spice.json") or {}).get("rows", [])
             if r["task"] == task]
    for record in (baselines or {}).get("models", []):
        lines.append(_model_row(record["model"], record,
                                dense if record["model"].startswith("dense DEQ") else []))
    return [*lines, ""]


def _model_row(label: str, record: dict, runs: list[dict]) -> str:
    """A model's row: parameters, training time, relative L2 per grid and its SPICE runs."""
    return (f"| {label} | {record['parameters']:,} | {record['train_s']:.0f} | "
            + " | ".join(_l2(record, g) for g in GRIDS) + f" | {_spice_runs(runs)} |")


NETWORK_MODELS = (("network", "PDE-initialised"), ("network-random", "random init"),
                  ("network-current", "PDE-initialised, current sources"))
"""The network-core records of each task (grid-<task>-<name>.json) and how each started."""


def _ohms(value: float) -> str:
    """A resistance with an SI prefix, 3 digits (34.4 kOhm, 1.9 TOhm)."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}Ohm"
    return f"{value:.3g} Ohm"


def _spice_runs(runs: list[dict]) -> str:
    """Each run's SPICE / digital errors, its settings, a stencil chip's row trim and a network
    chip's resistor span (1 / g_max to 1 / g_min); "-" without runs."""
    return "; ".join(f"{s['grid']} x {s['grid']}: {s['circuit_l2']:.4f} / {s['digital_l2']:.4f} "
                     f"= {s['ratio']:.3f}x ({s['samples']} fields, mismatch "
                     f"{s['mismatch_sigma']:g}, {s['dac_bits']}/{s['adc_bits']}-bit"
                     + (", row trim" if s.get("row_trim") else "")
                     + (f", resistors {_ohms(1 / s['g_max_s'])} to {_ohms(1 / s['g_min_s'])}"
                        if "g_min_s" in s else "") + ")"
                     for s in sorted(runs, key=lambda r: r["grid"])) or "-"


def network_rows(task: str) -> list[str]:
    """A row per Kirchhoff network core of ``task`` with its SPICE runs."""
    spice = (_load("grid-network-spice.json") or {}).get("trained", [])
    rows = []
    for name, start in NETWORK_MODELS:
        record = _load(f"grid-{task}-{name}.json")
        if record is None:
            continue
        model = f"docs/results/grid-{task}-{name}.pt"
        deq = record["deq"]
        label = (f"network DEQ (c = {deq['channels']}, {deq['kind']}"
                 f"{', cubic' if deq['cubic'] else ''}, {start})")
        rows.append(_model_row(label, record, [r for r in spice if r["model"] == model]))
    return rows


def labels_table(task: str) -> list[str]:
    records = _load(f"grid-{task}-labels.json")
    if not records:
        return []
    lines = [f"**{task}: what the residual term buys** (relative L2 at 16 / 32 / 64; the same "
             "optimiser steps in every row)", "",
             "| labelled fields | data only | data + residual (weight) |", "|---|---|---|"]
    by_fraction: dict[float, dict[float, dict]] = {}
    for r in records:
        by_fraction.setdefault(r["train"]["labelled"], {})[r["train"]["residual_weight"]] = r
    for fraction, runs in sorted(by_fraction.items()):
        plain = runs.get(0.0)
        physics = [r for w, r in runs.items() if w > 0]
        cells = [" / ".join(_l2(r, g) for g in GRIDS) if r else "-"
                 for r in (plain, physics[0] if physics else None)]
        weight = physics[0]["train"]["residual_weight"] if physics else 0
        count = (plain or physics[0])["labelled_fields"]
        lines.append(f"| {fraction:.0%} ({count}) | {cells[0]} | {cells[1]} ({weight:g}) |")
    return [*lines, ""]


def scale_table() -> list[str]:
    data = _load("grid-scale.json")
    if not data:
        return []
    rows = data["op"]
    lines = ["**ngspice `.op` against the grid** (one operating point of a c = 1, 3 x 3 "
             "stencil core at the opamp level, from compiling to the parsed result)", "",
             "| grid | neurons | cells | ngspice analysis [s] | compile to result [s] | "
             "ngspice peak, `.op` / sweep child [MB] | max error vs the fixed point [FS] |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['G']} x {r['G']} | {r['n']:,} | {r['cells']:,} | "
                     f"{r['ngspice_analysis_s']:.2f} | {r['op_total_s']:.2f} | "
                     f"{r['ngspice_peak_mb']:.0f} / {r['child_rss_mb']:.0f} | "
                     f"{r['max_err_fs']:.1e} |")
    lines += ["", "![time and memory against the grid](results/grid-scale.png)", ""]
    if data.get("transients"):
        lines += ["**Transients from reset against the grid** (the same core; settling to the "
                  "verification tolerance; energy of the neurons' and DACs' supplies per "
                  "inference)", "",
                  "| grid | neurons | settling [us] | energy per inference [nJ] | per neuron "
                  "[pJ] | ngspice wall [s] |", "|---|---|---|---|---|---|"]
        for t in data["transients"]:
            lines.append(f"| {t['G']} x {t['G']} | {t['n']:,} | {t['settling_s'] * 1e6:.2f} | "
                         f"{t['energy_j'] * 1e9:.3g} | {t['energy_per_neuron_j'] * 1e12:.3g} | "
                         f"{t['wall_s']:.0f} |")
        late = data.get("transient_unfinished")
        if late:
            lines += ["", f"The {late['G']} x {late['G']} transient did not finish within "
                      f"{late['timeout_s']:.0f} s (the benchmark stops at the first that "
                      "does not)."]
    return [*lines, ""]


def subdomain_table() -> list[str]:
    data = _load("grid-subdomain.json")
    if not data:
        return []
    lines = [f"**Subdomain SPICE against one ngspice process** ({data['scheme']}; overlap "
             f"{data['overlap']} points; sweeps until the halo moves less than "
             f"{data['tolerance_fs']:g} FS; {data['core']}; {data['machine']})", "",
             "| grid | neurons | subdomains (largest) | executor | start | sweeps | wall [s] | "
             "ngspice peak per subdomain [MB] | one process: wall [s], peak [MB] | max "
             "difference [FS] |", "|---|---|---|---|---|---|---|---|---|---|"]
    cases = [*data.get("compare", []), *([data["dask"]] if data.get("dask") else [])]
    for case in cases:
        single = case.get("single") or {}
        alone = (f"{single['wall_s']:.0f}, {single['ngspice_peak_mb']:.0f}"
                 if "wall_s" in single else "-")
        for start in ("zeros", "prediction"):
            run = case.get(start)
            if not run:
                continue
            lines.append(f"| {case['G']} x {case['G']} | {case['n']:,} | {run['subdomains']} "
                         f"({run['largest_subdomain']:,}) | {run['executor']} | {start} | "
                         f"{run['iterations']} | {run['wall_s']:.0f} | "
                         f"{run['subdomain_peak_mb_max']:.0f} | {alone} | "
                         f"{run['max_diff_fs']:.1e} |")
    return [*lines, ""]


def _mm(metres: float) -> str:
    """A length in mm: whole mm with thousands separators from 100 mm, else 3 digits."""
    mm = metres * 1e3
    return f"{mm:,.0f}" if mm >= 100 else f"{mm:.3g}"


def window_table() -> list[str]:
    """The network chips' resistor spans and their accuracy held to a window
    (grid-network-window.json, ``python -m benchmarks.grid_network_window``)."""
    record = _load("grid-network-window.json")
    if not record:
        return []
    ratios = [w["ratio"] for w in record["rows"][0]["windows"]]
    lines = ["**Network chips held to a resistor window** (opamp level, no mismatch, "
             f"{record['bits']}-bit converters, relative L2 by the closed-form prediction on "
             "the first test fields; a window g_max / r: resistors below half its floor left "
             "out, the rest below it raised to it; a network with current sources is compiled "
             "into the mapping's 1e2 window already; the longest resistor as one 0.35 um strip "
             "of sky130 xhigh_po at 2 kOhm/sq)", "",
             "| model | sources | grid | resistors | span | decades | longest strip [mm] | "
             "as compiled | " + " | ".join(f"window r = {r:.0e} (changed)" for r in ratios)
             + " |", "|---|---|---|---|---|---|---|---|" + "---|" * len(ratios)]
    for row in record["rows"]:
        name = row["case"].split(":")[0]
        lines.append(f"| grid-{name} | {row.get('sources', 'resistor')} | {row['grid']} x "
                     f"{row['grid']} | {row['resistors']:,} | {_ohms(row['r_min_ohm'])} to "
                     f"{_ohms(row['r_max_ohm'])} | {row['decades']:.1f} | "
                     f"{_mm(row['longest_xhigh_po_m'])} | {row['chip_l2']:.4f} | "
                     + " | ".join(f"{w['chip_l2']:.4f} ({w['changed']:,})"
                                  for w in row["windows"]) + " |")
    if all("converters" in row for row in record["rows"]):
        settings = [(c["bits"], c["mismatch_sigma"]) for c in record["rows"][0]["converters"]]
        lines += ["", "**What the converters cost** (the same chips as compiled, relative L2 by "
                  "the closed-form prediction on the same fields, beside the digital model; "
                  "mismatch seed 0)", "",
                  "| model | sources | grid | digital | "
                  + " | ".join(f"{b}-bit DAC and ADC, {s:.0%} mismatch" for b, s in settings)
                  + " |", "|---|---|---|---|" + "---|" * len(settings)]
        for row in record["rows"]:
            name = row["case"].split(":")[0]
            lines.append(f"| grid-{name} | {row['sources']} | {row['grid']} x {row['grid']} | "
                         f"{row['digital_l2']:.4f} | "
                         + " | ".join(f"{c['chip_l2']:.4f}" for c in row["converters"]) + " |")
    return [*lines, ""]


def verify_time_table() -> list[str]:
    """`codesign verify` on one field against the grid (grid-command-time.json, ``python -m
    benchmarks.grid_verify_time``)."""
    record = _load("grid-command-time.json")
    if not record:
        return []
    lines = [f"**`{record['command']}`** against the grid (one process per row; the whole "
             "command from start-up to its files, and the peak memory of any process in it)",
             "", "| model | grid | nodes / neurons | command [s] | compile [s] | ngspice `.op` "
             "and parse [s] | peak memory [MB] |", "|---|---|---|---|---|---|---|"]
    for row in record["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['model']} | {row['grid']} x {row['grid']} | - | "
                         f"{row['status']} after {row['wall_s']:.0f} | - | - | "
                         f"{row['peak_mb']:.0f} |")
            continue
        lines.append(f"| {row['model']} | {row['grid']} x {row['grid']} | {row['n']:,} | "
                     f"{row['wall_s']:.1f} | {row['compile_s']:.1f} | {row['spice_s']:.1f} | "
                     f"{row['peak_mb']:.0f} |")
    return [*lines, ""]


def render() -> str:
    lines: list[str] = []
    for task in TASKS:
        lines += accuracy_table(task)
    lines += window_table()
    for task in TASKS:
        lines += labels_table(task)
    lines += scale_table()
    lines += verify_time_table()
    lines += subdomain_table()
    return "\n".join(lines).rstrip()


def replaced(text: str, table: str) -> str:
    return between(text, table, START, END)


def collect(folder: Path) -> Path:
    """Copy a grid verification's summary.json to docs/results/grid-verify-<task>-<G>.json."""
    summary = json.loads((folder / "summary.json").read_text())
    target = RESULTS / f"grid-verify-{summary['task']}-{summary['grid']}.json"
    shutil.copyfile(folder / "summary.json", target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--collect", type=Path, nargs="*", default=[],
                        help="verification folders whose summary.json to store first")
    args = parser.parse_args(argv)
    for folder in args.collect:
        print(f"stored {collect(folder)}")
    text = TARGET.read_text()
    new = replaced(text, render())
    if new != text:
        if args.check:
            print(f"stale grid tables in {TARGET}: run python -m benchmarks.grid_tables",
                  file=sys.stderr)
            return 1
        TARGET.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
