"""The design-search tables of docs/design.md, printed as Markdown from finished design runs.

    python benchmarks/design_tables.py runs/design-digits runs/design-physics

Reads each run's chosen.json, front.csv, energy.csv and its refined designs' refit.json
(nothing is simulated here).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

PARTS = ("amplifiers_j", "crossbar_j", "activations_j", "dac_drivers_j", "dac_conversions_j",
         "adc_conversions_j")


def chosen_rows(runs: list[Path]) -> list[str]:
    lines = ["| task (run) | chosen design | SPICE metric, whole test set | digital DEQ | "
             "within target | energy / inference | per equivalent MAC | settling | designs "
             "measured in SPICE (on the front) |", "|" + "---|" * 9]
    for run in runs:
        c = json.loads((run / "chosen.json").read_text())
        front = pd.read_csv(run / "front.csv")
        d = c["design"]
        design = (f"currents x{d['current_ratio']:.3f}, v_FS {d['v_fs']:.3f} V, tau "
                  f"{d['tau_s'] * 1e6:.2f} us, levels {d['levels']}, DAC {d['dac_bits']} b, "
                  f"ADC {d['adc_bits']} b, input rails +-{d['input_supply_v']:.2f} V")
        refined = " (own calibration)" if c.get("refined") else ""
        lines.append(
            f"| {run.name} | trial {c['number']}{refined}: {design} | {c['metric_spice']:.4f} "
            f"({c['samples']} samples) | {c['metric_digital']:.4f} | "
            f"{'yes' if c['within_target'] else 'no'} ({c['target']}) | "
            f"{c['energy_j'] * 1e12:.0f} pJ | {c['energy_per_mac_j'] * 1e15:.0f} fJ | "
            f"{c['settling_s'] * 1e6:.2f} us | {len(front)} ({int(front.on_front.sum())}) |")
    return lines


def breakdown_rows(runs: list[Path]) -> list[str]:
    lines = ["| task: design | " + " | ".join(p[:-2].replace("_", " ") for p in PARTS)
             + " | total |", "|" + "---|" * (len(PARTS) + 2)]
    for run in runs:
        c = json.loads((run / "chosen.json").read_text())
        front = pd.read_csv(run / "front.csv")
        row = front[front.trial == c["number"]].iloc[0]
        total = float(row.total_j)
        cells = [f"{row[p] * 1e12:.1f} pJ ({100 * row[p] / total:.0f} %)" for p in PARTS]
        lines.append(f"| {run.name}: trial {c['number']} | " + " | ".join(cells)
                     + f" | {total * 1e12:.1f} pJ |")
    return lines


def energy_rows(run: Path) -> list[str]:
    table = pd.read_csv(run / "energy.csv")
    lines = [f"| {run.name}: system | energy / inference | pJ per MAC |", "|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.system} | {r.energy_j * 1e9:.3g} nJ | {r.pj_per_mac:.3g} |")
    return lines


def screen_rows(runs: list[Path]) -> list[str]:
    """SPICE against the screen, every measured design as first measured (through the
    carried calibration, before any refinement)."""
    lines = ["| task | SPICE / screen energy (median, range) | SPICE / screen settling | "
             "SPICE metric (carried calibration) vs screen (median) |", "|---|---|---|---|"]
    for run in runs:
        f = pd.read_csv(run / "front.csv")
        e, t = f.energy_j / f.screen_energy_j, f.settling_s / f.screen_settling_s
        carried = f.get("metric_spice_carried", f.metric_spice)
        lines.append(f"| {run.name} | {e.median():.2f} ({e.min():.2f}-{e.max():.2f}) | "
                     f"{t.median():.2f} ({t.min():.2f}-{t.max():.2f}) | "
                     f"{carried.median():.4f} vs {f.metric_proxy.median():.4f} |")
    return lines


def refined_rows(runs: list[Path]) -> list[str]:
    """Each refined design: its calibration's held-out residual before and after, and its
    SPICE metric through the carried and through its own calibration."""
    lines = ["| task: design | fJ per MAC | screen metric | SPICE, carried calibration | "
             "SPICE, own calibration | proxy residual carried -> own [FS RMS] |",
             "|---|---|---|---|---|---|"]
    for run in runs:
        f = pd.read_csv(run / "front.csv")
        if "refined" not in f:
            continue
        for r in f[f.refined.astype(bool)].itertuples():
            fit = json.loads((run / r.folder / "refit.json").read_text())
            lines.append(f"| {run.name}: trial {r.trial} | {r.fj_per_mac:.0f} | "
                         f"{r.metric_proxy:.4f} | {r.metric_spice_carried:.4f} | "
                         f"{r.metric_spice:.4f} | {fit['residual_before_fs']:.2e} -> "
                         f"{fit['residual_after_fs']:.2e} |")
    return lines


def main(paths: list[str]) -> None:
    runs = [Path(p) for p in paths]
    for block in (chosen_rows(runs), breakdown_rows(runs), screen_rows(runs), refined_rows(runs),
                  *(energy_rows(r) for r in runs)):
        print("\n".join(block), end="\n\n")


if __name__ == "__main__":
    main(sys.argv[1:] or ["runs/design-digits", "runs/design-physics"])
