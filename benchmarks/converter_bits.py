"""What the converters' resolution costs a model before any analog error: the task metric of
trained models with their core computed digitally (float64 fixed point) between ideal DACs and
ADCs of each resolution (codesign.circuit.converters), on the whole test set.

    python -m benchmarks.converter_bits --task physics \\
        --model runs/loop-physics-direct/models/naive-seed0.pt \\
        --model runs/loop-physics-ab/models/naive-seed0.pt --bits 6 7 8 \\
        --out docs/results/converter-bits-physics.json

The card's ADC energy is the 130 nm survey's floor up to 7 bits (codesign.chip.card), so a bit
more there costs no ADC energy (the DACs' line doubles per bit); this says what it buys.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import write_record


def converter_metrics(task, model, bits: list[int]) -> dict:
    """{"ideal": metric, "D/A": metric, ...}: ``model`` on the whole test set with its core's
    fixed point between DACs and ADCs of each (dac, adc) pair of ``bits``."""
    from codesign.circuit.config import ConverterConfig
    from codesign.circuit.converters import adc_np, dac_np
    from codesign.training.train import decode, encode

    core = model.core.to_weights()

    def outputs(conv: ConverterConfig | None):
        def run(x: np.ndarray) -> np.ndarray:
            e = encode(model, x)
            if conv is None:
                return decode(model, core.equilibrium(e))
            return decode(model, adc_np(core.equilibrium(dac_np(e, conv)), conv))
        return run

    result = {"ideal": float(task.evaluate(outputs(None)).metrics.metric)}
    base = ConverterConfig(dac_bits=8, adc_bits=8)
    for dac_bits in bits:
        for adc_bits in bits:
            conv = replace(base, dac_bits=dac_bits, adc_bits=adc_bits)
            result[f"{dac_bits}/{adc_bits}"] = float(task.evaluate(outputs(conv)).metrics.metric)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="physics")
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="a checkpoint (repeatable)")
    parser.add_argument("--bits", type=int, nargs="+", default=[5, 6, 7, 8])
    parser.add_argument("--out", type=Path, default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    from codesign.deq.checkpoint import load_checkpoint
    from codesign.tasks import get_task

    task = get_task(args.task)
    rows = []
    for path in args.model:
        model = load_checkpoint(path, task=args.task).model.eval()
        metrics = converter_metrics(task, model, args.bits)
        rows.append({"model": str(path), "gamma": model.config.gamma, "metrics": metrics})
        cells = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        print(f"{path} (gamma {model.config.gamma:g}): DAC/ADC bits -> {task.name} {cells}")
    record = {"command": "python -m benchmarks.converter_bits " + " ".join(argv),
              "task": args.task, "rows": rows}
    write_record(args.out, record)
    return record


if __name__ == "__main__":
    main()
