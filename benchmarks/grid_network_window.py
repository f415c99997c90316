"""How far the trained network chips are from drawable resistors: each chip's resistor span and
what its accuracy becomes when the resistors are held to a window.

    python -m benchmarks.grid_network_window --out docs/results/grid-network-window.json

For each trained network case of benchmarks/grid_network_spice.py (checkpoint:grid), the
chip is compiled at the op-amp level without mismatch, 8-bit DACs and ADCs (the ideal-resistor
cell takes any value), on the first ``--samples`` test fields. Reported: the resistor span
(1 / g_max to 1 / g_min), its decades, the length of the largest resistor as one 0.35 um strip
of sky130's 2 kOhm/sq xhigh_po poly (codesign.parts.geometry), and the chip's relative L2 by
its closed-form prediction (codesign.circuit.network.predict_network, which ngspice matches to
~1e-9 FS: grid-network-spice.json's prediction errors) as compiled and with every resistor held
to a window [g_max / ratio, g_max]: conductances below half the floor left out (the device not
drawn), those between half the floor and the floor raised to it, for ratios 100 (the
mapping's own window, g_min = g_max / 100), 1e4 and 1e6. And the converters' share: each
chip as compiled at 5 % mismatch (seed 0) with 8-, 10- and 12-bit DACs and ADCs, and at 12
bits without mismatch, beside the digital model on the same fields.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import write_record
from benchmarks.grid_network_spice import TRAINED, chip_config
from codesign.circuit.converters import adc_np, dac_np
from codesign.circuit.network import compile_network, predict_network, resistor_families
from codesign.deq.checkpoint import load_network_checkpoint
from codesign.parts.geometry import XHIGH_PO_OHM_PER_SQ, XHIGH_PO_W_EFF_UM
from codesign.tasks.base import relative_l2
from codesign.tasks.grid import get_grid_task

RATIOS = (1e2, 1e4, 1e6)
"""g_max / the window's floor."""
CONVERTERS = ((8, 0.05), (10, 0.05), (12, 0.05), (12, 0.0))
"""(bits, mismatch sigma): each chip as compiled is also predicted with DACs and ADCs of these
bits at this mismatch (seed 0): what its converters cost, and (12 bits without mismatch) what
is left of the window alone."""
ABSENT_S = 1e-18
"""A resistor left out: its conductance [S] (the topology stays, the current is nil)."""


def windowed(circuit, floor_s: float):
    """``circuit`` with every resistor held to [floor_s, g_max]: below floor_s / 2 left out,
    between floor_s / 2 and floor_s raised to floor_s; (circuit, resistors changed). Current
    sources (SourceKind.CURRENT: g_inj, g_bias are transconductances) are left as they are."""
    changed, values = 0, {}
    for name in resistor_families(circuit.sources):
        g = getattr(circuit, name)
        changed += int((g < floor_s).sum())
        values[name] = np.where(g < floor_s / 2, ABSENT_S, np.maximum(g, floor_s))
    return replace(circuit, **values), changed


def window_row(case: str, samples: int, models: Path = Path("docs/results")) -> dict:
    name, grid = case.split(":")
    grid = int(grid)
    ckpt = load_network_checkpoint(models / f"grid-{name}.pt")
    model = ckpt.model
    x, y = get_grid_task(ckpt.task, grids=(grid,)).test_at(grid)
    x, y = x[:samples], y[:samples]
    config = chip_config(0.0, 8)
    with torch.no_grad():
        xt = torch.from_numpy(np.asarray(x, np.float32))
        e = model.encode(xt).double()
        bits_t = model.bits(xt)
    bits = None if bits_t is None else bits_t.numpy().astype(bool)
    weights = model.to_weights(grid)
    circuit = compile_network(weights, config, np.random.default_rng(0))
    target = np.asarray(y, np.float64).reshape(len(y), -1)
    g = weights.grid

    def chip_l2(chip_circuit, converters=config.converters) -> float:
        e_dac = dac_np(e.reshape(len(x), -1).numpy(), converters)
        z = predict_network(chip_circuit, e_dac, bits).z
        codes = adc_np(z, converters) / chip_circuit.readout()
        with torch.no_grad():
            u = model.decode(torch.from_numpy(codes).reshape(len(x), weights.c, g, g).float(),
                             torch.from_numpy(e_dac).reshape(e.shape).float())
        return float(relative_l2(u.double().numpy().reshape(len(y), -1), target).mean())

    g_min, g_max = circuit.conductance_range()
    total = circuit.resistor_count()
    row = {"case": case, "task": ckpt.task, "grid": grid, "samples": len(x), "resistors": total,
           "sources": circuit.sources.value,
           "r_min_ohm": 1 / g_max, "r_max_ohm": 1 / g_min,
           "decades": float(np.log10(g_max / g_min)),
           "longest_xhigh_po_m": (1 / g_min) * XHIGH_PO_W_EFF_UM / XHIGH_PO_OHM_PER_SQ * 1e-6,
           "chip_l2": chip_l2(circuit), "windows": []}
    for ratio in RATIOS:
        held, changed = windowed(circuit, g_max / ratio)
        row["windows"].append({"ratio": ratio, "changed": changed, "chip_l2": chip_l2(held)})
    with torch.no_grad():
        digital = model(xt).double().numpy().reshape(len(y), -1)
    row["digital_l2"] = float(relative_l2(digital, target).mean())
    row["converters"] = []
    for bits_n, sigma in CONVERTERS:  # as compiled
        mismatched = chip_config(sigma, bits_n)
        chip = compile_network(weights, mismatched, np.random.default_rng(0))
        row["converters"].append({"bits": bits_n, "mismatch_sigma": sigma,
                                  "chip_l2": chip_l2(chip, mismatched.converters)})
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(TRAINED))
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for case in args.cases:
        rows.append(window_row(case, args.samples))
        print(json.dumps(rows[-1]), flush=True)
    write_record(args.out, {"benchmark": "benchmarks.grid_network_window", "level": "opamp",
                            "mismatch_sigma": 0.0, "bits": 8, "rows": rows})


if __name__ == "__main__":
    main()
