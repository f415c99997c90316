"""A trained model's chip, measured the way a datasheet counts it: accuracy over the whole test
set from SPICE operating points (through the DACs and ADCs, one draw of the circuit noise per
equilibrium), an energy card over SPICE transients from reset (median and 95th percentile, every
line SPICE-measured or cited: codesign.chip.card) and an area card from the parts' geometry.

    python -m benchmarks.chip_card --model runs/loop-digits-r2r/models/round-0.pt \\
        --params runs/loop-digits-r2r/round-0/proxy.json --task digits \\
        --set cell=sky130_r2r_eq --set device_mismatch=true --set noise.enabled=true \\
        --dac-bits 6 --adc-bits 6 --out runs/bench/card-digits.json

The circuit is the cmos level with the ``--set`` changes (e.g. ``driver=sky130_ab``,
``periphery.reset=sky130_tg``); the chip instance's seed is ``--chip-seed``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import chip_arguments, trained_chip
from codesign.calibration.noise import noiseless
from codesign.calibration.readout import fit_readout
from codesign.chip.card import Basis, CardLine, area_card, cited_settings, energy_card
from codesign.design.verify import digital_metric, spice_states, states_metric
from codesign.files import write_json
from codesign.netlist.spice import relaxed_transients
from codesign.parts import chip_parts
from codesign.parts.geometry import mim_area_um2, poly_area_um2
from codesign.training.train import decode, encode


def feedback_area(chip) -> CardLine:
    """Each neuron's feedback Rf || Cf drawn as an xhigh_po strip and a MIM capacitor."""
    c = chip.circuit
    um2 = float(sum(poly_area_um2(1.0 / g) + mim_area_um2(cf)
                    for g, cf in zip(c.g_feedback, c.c_feedback, strict=True)))
    return CardLine("feedback Rf || Cf", um2, um2, Basis.GEOMETRY,
                    f"{chip.n} x (xhigh_po Rf, median {np.median(1 / c.g_feedback) / 1e6:.2f} "
                    f"MOhm, and MIM Cf, median {np.median(c.c_feedback) * 1e12:.2f} pF)")


def reference(baselines: Path | None) -> dict | None:
    """The naive digital DEQ's test metric from a loop's baselines.csv (None without one)."""
    if baselines is None:
        return None
    import pandas as pd  # deferred: only where a reference is read

    table = pd.read_csv(baselines)
    row = table[table.model == "digital DEQ (naive)"]
    if len(row) != 1:
        raise SystemExit(f"{baselines}: no 'digital DEQ (naive)' row")
    return {"model": "digital DEQ (naive)", "metric": float(row.test_metric.iloc[0]),
            "source": str(baselines)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    chip_arguments(parser)
    parser.add_argument("--samples", type=int, default=0, help="test samples (0: all)")
    parser.add_argument("--transients", type=int, default=32)
    parser.add_argument("--rate", type=float, default=None,
                        help="inferences per second (default: back to back)")
    parser.add_argument("--readout", type=int, default=0,
                        help="fit the chip instance's decoder to its SPICE states of this many "
                             "training inputs (codesign.calibration.readout; 0: as trained)")
    parser.add_argument("--baselines", type=Path, default=None,
                        help="the loop's baselines.csv: the naive digital DEQ the chip is "
                             "judged against")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/card.json"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    start = time.perf_counter()
    task, model, params, chip = trained_chip(args)
    config = chip.config
    run_dir = args.out.with_suffix("")
    readout = None
    if args.readout:
        readout = fit_readout(task, model, chip, params, args.readout, run_dir / "readout",
                              seed=args.chip_seed)
    selection, states = spice_states(task, model, params, chip, args.samples, run_dir / "op",
                                     seed=args.chip_seed)
    count = len(selection)
    metric_trained = states_metric(task, model, selection, states)
    metric_digital = digital_metric(task, model, chip, selection)
    if readout is not None:
        model = readout.apply(model)
    metric_spice = states_metric(task, model, selection, states)
    # transients on the noiseless twin (noise moves neither settling nor energy), settled to a
    # quarter of an ADC LSB
    lsb = 2 * config.converters.range_fs / (2**config.converters.adc_bits - 1)
    tol = lsb / 4
    x = task.x_test[task.test_subset(args.transients)]
    e = chip.dac(encode(model, x))
    twin = noiseless(chip)
    twin.deck = relaxed_transients(twin.deck, min(1e-2, tol))
    run = twin.transients(e, run_dir / "tran", tol_fs=tol)
    energy = energy_card(twin, run.transients, run.z,
                         cited_settings(config, model.digital_macs, args.rate))
    # the task read at the ADCs' sampling instant against the DC operating points
    sampled = np.array([t.z_sampled for t in run.transients])
    at_sampling = decode(model, chip.adc(sampled))
    at_dc = decode(model, chip.adc(run.z))
    same_output = float(np.mean(np.argmax(at_sampling, 1) == np.argmax(at_dc, 1))
                        if at_dc.ndim == 2 and at_dc.shape[1] > 1 else
                        np.mean(np.abs(at_sampling - at_dc) <= 1e-9))
    area = area_card(chip, extra=(feedback_area(chip),))
    inference_s = energy.sampling_s + cited_settings(config, 0).adc_conversion_s
    parts = chip_parts(config)
    result = {
        "command": "python -m benchmarks.chip_card " + " ".join(argv),
        "task": args.task, "config": config.to_dict(), "parts": parts.describe(),
        "behavioural": [b for p in parts.all() for b in p.behavioural()],
        "metric_spice": metric_spice, "metric_digital": metric_digital, "samples": count,
        "metric_spice_trained_readout": metric_trained,
        "readout": readout.summary() if readout is not None else None,
        "metric_reference": reference(args.baselines),
        "model": {"encoder": str(model.config.encoder), "decoder": str(model.config.decoder),
                  "digital_macs": model.digital_macs},
        "energy": {"lines": energy.rows(), "median_j": energy.median_j, "p95_j": energy.p95_j,
                   "per_mac_j": energy.per_mac_j, "p95_per_mac_j": energy.p95_per_mac_j,
                   "macs": energy.macs, "transients": energy.samples,
                   "sampling_s": energy.sampling_s, "codes_equal": energy.codes_equal,
                   "code_agreement": energy.code_agreement,
                   "same_output_at_sampling": same_output,
                   "tops_per_w": energy.tops_per_w},
        "area": {"lines": area.rows(), "total_mm2": area.total_mm2,
                 "routing_overhead": area.routing_overhead, "complete": area.complete,
                 "tops_per_mm2": area.tops_per_mm2(energy.macs, inference_s)},
        "wall_s": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)
    if readout is not None:
        print(f"readout fitted to the chip on {readout.samples} training inputs: SPICE "
              f"{metric_trained:.4f} -> {metric_spice:.4f} (ridge {readout.summary()['ridge']})")
    print(f"{args.task}: SPICE {metric_spice:.4f} vs digital {metric_digital:.4f} ({count} "
          f"samples); {energy.median_j * 1e12:.0f} pJ median ({energy.p95_j * 1e12:.0f} p95) "
          f"= {energy.per_mac_j * 1e15:.0f} fJ/MAC; {area.total_mm2:.2f} mm^2; "
          f"{result['area']['tops_per_mm2']:.3g} TOPS/mm^2; {result['wall_s']:.0f} s")
    for line in energy.lines:
        print(f"  {line.block:36s} {line.median * 1e12:9.2f} pJ  ({line.basis})")
    print(json.dumps({"wrote": str(args.out)}))
    return result


if __name__ == "__main__":
    main()
