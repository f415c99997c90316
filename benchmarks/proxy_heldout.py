"""How close each model of a chip is to its SPICE equilibria on held-out inputs: the ideal DEQ
(the digital core), the circuit's linear prediction, the level's calibrated proxy, the proxy
re-fitted to this chip, and the re-fitted proxy with the chip instance's per-neuron trim
(codesign.calibration.trim). RMS over the neurons and inputs, in full scale.

    python -m benchmarks.proxy_heldout --model runs/loop-digits-r2r/models/round-0.pt \\
        --params runs/loop-digits-r2r/round-0/proxy.json --task digits \\
        --set cell=sky130_r2r_eq --set device_mismatch=true --out runs/bench/heldout-digits.json

Fitted on the operating points of ``--fit`` training inputs, judged on ``--test`` test inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import chip_arguments, trained_chip
from codesign.calibration.refit import refit
from codesign.calibration.trim import fit_trim
from codesign.files import write_json
from codesign.parts import chip_parts
from codesign.training.train import encode


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    chip_arguments(parser)
    parser.add_argument("--fit", type=int, default=128)
    parser.add_argument("--test", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/heldout.json"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    start = time.perf_counter()
    task, model, params, chip = trained_chip(args)
    config = chip.config
    rng = np.random.default_rng([args.chip_seed, 23])
    pick = np.sort(rng.choice(len(task.x_train), args.fit, replace=False))
    e_fit = chip.dac(encode(model, task.x_train[pick]))
    e_test = chip.dac(encode(model, task.x_test[task.test_subset(args.test)]))
    run_dir = args.out.with_suffix("")
    fit = chip.operating_points(e_fit, run_dir / "fit")
    test = chip.operating_points(e_test, run_dir / "test")
    refitted, refit_result = refit(params, chip, fit.e, fit.z, fit.x)
    trim = fit_trim(refitted, chip, fit.e, fit.z, test.e, test.z, steps=200)
    rms = {
        "ideal DEQ (digital core)": _rms(chip.core.equilibrium(chip.inputs(e_test)), test.z),
        "circuit prediction (linear)": _rms(chip.prediction(chip.inputs(e_test)).z, test.z),
        "level's proxy": _rms(chip.proxy_equilibrium(params, e_test), test.z),
        "proxy re-fitted to this chip": _rms(chip.proxy_equilibrium(refitted, e_test), test.z),
        "re-fitted proxy + per-neuron trim": trim.rms_after,
    }
    result = {"command": "python -m benchmarks.proxy_heldout " + " ".join(argv),
              "task": args.task, "parts": chip_parts(config).describe(),
              "fit_samples": args.fit, "test_samples": args.test, "rms_fs": rms,
              "refit": refit_result.__dict__ if hasattr(refit_result, "__dict__") else
              str(refit_result), "wall_s": time.perf_counter() - start}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)
    for name, value in rms.items():
        print(f"  {name:36s} {value:.3e} FS RMS")
    print(json.dumps({"wrote": str(args.out), "wall_s": round(result["wall_s"])}))
    return result


if __name__ == "__main__":
    main()
