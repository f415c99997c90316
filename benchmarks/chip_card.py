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

from benchmarks.common import chip_arguments, trained_chip
from codesign.calibration.readout import fit_readout
from codesign.calibration.trim import tune_to_chip
from codesign.chip.chip import Chip
from codesign.design.verify import chip_cards, digital_metric, spice_states, states_metric
from codesign.errors import CodesignError, InputError
from codesign.files import write_json


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


def reference_model(task, path: Path, selection) -> dict:
    """The digital DEQ checkpoint ``path``'s test metric on ``selection``."""
    from codesign.deq.checkpoint import load_checkpoint  # deferred with the package
    from codesign.training.train import predict

    model = load_checkpoint(path, task=task.name).model
    metric = task.evaluate(lambda x: predict(model, x), selection).metrics.metric
    return {"model": "digital DEQ (the design search's base.pt)", "metric": float(metric),
            "source": str(path)}


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
    parser.add_argument("--tune", type=int, default=0, metavar="EPOCHS",
                        help="first fine-tune the model for this chip instance through its own "
                             "proxy (re-fitted and trimmed on --tune-samples training inputs' "
                             "SPICE states; codesign.calibration.trim.tune_to_chip) for this "
                             "many epochs (0: as trained)")
    parser.add_argument("--tune-samples", type=int, default=128)
    parser.add_argument("--baselines", type=Path, default=None,
                        help="the loop's baselines.csv: the naive digital DEQ the chip is "
                             "judged against")
    parser.add_argument("--reference-model", type=Path, default=None,
                        help="instead of --baselines: a digital DEQ checkpoint (a design "
                             "search's base.pt) the chip is judged against, on the same samples")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/card.json"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    start = time.perf_counter()
    task, model, params, chip = trained_chip(args)
    run_dir = args.out.with_suffix("")
    tune = None
    if args.tune:
        tune = tune_to_chip(task, model, params, chip, args.tune_samples, run_dir / "tune",
                            seed=args.chip_seed, epochs=args.tune)
        model, params = tune.model, tune.params
        chip = Chip(model.core.to_weights(), chip.config, chip.seed, chip.simulator,
                    force=args.force)
        print(f"tuned to the chip instance: trim {tune.trim.rms_before:.2e} -> "
              f"{tune.trim.rms_after:.2e} FS RMS on {tune.trim.judged} held-back training "
              f"inputs, {tune.epochs} epochs")
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
    cards = chip_cards(task, model, chip, args.transients, run_dir / "tran", args.rate)
    result = {
        "command": "python -m benchmarks.chip_card " + " ".join(argv), "task": args.task,
        "metric_spice": metric_spice, "metric_digital": metric_digital, "samples": count,
        "metric_spice_trained_readout": metric_trained,
        "readout": readout.summary() if readout is not None else None,
        "tune": tune.summary() if tune is not None else None,
        "metric_reference": (reference(args.baselines) if args.reference_model is None else
                             reference_model(task, args.reference_model, selection)),
        **cards,
        "wall_s": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)
    if readout is not None:
        print(f"readout fitted to the chip on {readout.samples} training inputs: SPICE "
              f"{metric_trained:.4f} -> {metric_spice:.4f} (ridge {readout.summary()['ridge']})")
    energy, area = result["energy"], result["area"]
    print(f"{args.task}: SPICE {metric_spice:.4f} vs digital {metric_digital:.4f} ({count} "
          f"samples); {energy['median_j'] * 1e12:.0f} pJ median ({energy['p95_j'] * 1e12:.0f} "
          f"p95) = {energy['per_mac_j'] * 1e15:.0f} fJ/MAC; {area['total_mm2']:.2f} mm^2; "
          f"{area['tops_per_mm2']:.3g} TOPS/mm^2; {result['wall_s']:.0f} s")
    print(f"at the sampling instant ({energy['sampling_s'] * 1e6:.2f} us median) the metric of "
          f"the {energy['transients']} transients' inputs is {energy['metric_at_sampling']:.4f}, "
          f"at their DC codes {energy['metric_at_dc']:.4f}")
    for line in energy["lines"]:
        print(f"  {line['block']:36s} {line['median_j'] * 1e12:9.2f} pJ  ({line['basis']})")
    print(json.dumps({"wrote": str(args.out)}))
    return result


if __name__ == "__main__":
    try:
        main()
    except CodesignError as exc:  # one line, not a traceback; the decks and logs are kept
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(2 if isinstance(exc, InputError) else 1)
