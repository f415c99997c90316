"""codesign loop: the co-design loop on one task, ending with its report."""

from __future__ import annotations

from pathlib import Path

import click

from codesign.circuit.config import NEURON_LEVELS
from codesign.cli import options
from codesign.tasks import TASKS


@click.command()
@click.option("--task", type=click.Choice(list(TASKS)), default="control", show_default=True,
              help="control (Pendulum-v1 balance), swingup (Pendulum-v1 from gymnasium's "
                   "reset), physics (nonlinear PDE steady states), darcy (Darcy flow) or digits "
                   "(classification). Default control, the `make demo` run; train and design "
                   "default to digits.")
@click.option("--neuron", type=click.Choice(list(NEURON_LEVELS)), default="transistor",
              show_default=True, help="Neuron fidelity level of the verified circuit. Default "
              "transistor, the level no closed form gives (what the loop's re-calibration is "
              "for); verify and export default to opamp.")
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True,
              help="At most this many train -> verify -> calibrate rounds.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder (checkpoints, netlists, tables, report).")
@click.option("--mismatch", type=click.FloatRange(0, 0.5, max_open=True), default=0.05,
              show_default=True, help="Relative programming error sigma per device. Default "
              "0.05, a realistic chip (what physics-aware training is for), as in design; "
              "verify and export default to 0, the trained weights exactly.")
@click.option("--levels", type=click.IntRange(min=0), default=None,
              help="Conductance levels per cell, 0 for continuous (task default: digits 2, "
                   "binary cells; physics and control continuous).")
@options.dac_bits_option
@options.adc_bits_option
@click.option("--chip-seed", type=int, default=1, show_default=True,
              help="Seed of the verified chip instance's mismatch.")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Seeds of the physics-aware vs naive comparison (task default: 3).")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Held-out test samples per SPICE verification (digits 256, physics 128; "
                   "control runs 32 closed-loop episodes instead).")
@click.option("--params", "params_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Starting proxy parameters (default calibration/NEURON.json).")
@click.option("--circuit", "circuit_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A circuit config JSON (a design search's chosen/circuit.json) "
                                 "instead of the level's default; --neuron names its level.")
@click.option("--evaluate/--no-evaluate", default=True, show_default=True,
              help="After the rounds: seeds, robustness curves, energy and latency.")
@options.set_option
@options.backend_option
@options.workers_option
@options.scheduler_option
@options.timeout_option(options.RUN_TIMEOUT_S, then="the loop stops with an error (the same "
                        "command starts it over)")
@options.encoder_option
@options.decoder_option
@options.gamma_option
@options.threads_option
def loop(task, neuron, rounds, out, mismatch, levels, dac_bits, adc_bits, chip_seed, seeds,
         samples, params_path, circuit_path, evaluate, sets, backend, workers, scheduler,
         timeout_s, encoder, decoder, gamma, threads) -> None:
    """Train through the calibrated proxy, verify in SPICE, re-calibrate, repeat; then
    compare with digital baselines and write the report.

    OUT/run.json says "complete" only once every result and the report are written.

    \b
    Examples:
      codesign loop --task digits --neuron transistor --rounds 3 --out runs/loop-digits
      codesign loop --task control --out runs/loop-control
      codesign loop --task physics --out runs/loop-physics
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    import torch

    from codesign.circuit.settings import assignments
    from codesign.loop.pipeline import run_loop
    from codesign.results.loop import LoopSettings

    torch.set_num_threads(threads)
    settings = LoopSettings(
        task=task, neuron=neuron, rounds=rounds, mismatch_sigma=mismatch, levels=levels,
        chip_seed=chip_seed, params_path=str(params_path or ""), evaluate=evaluate,
        seeds=seeds or 0, verify_samples=samples or 0, dac_bits=dac_bits, adc_bits=adc_bits,
        circuit_path=str(circuit_path or ""), circuit_overrides=assignments(sets),
        encoder=encoder, decoder=decoder, gamma=gamma)
    if circuit_path is not None:
        for name in ("mismatch", "levels", "dac_bits", "adc_bits"):
            options.warn_unused(name, "--" + name.replace("_", "-"), f"the circuit of "
                                f"{circuit_path} is used as it is; change it with --set")
    outline = options.task_outline(task)
    if outline is not None:
        metric, profile = outline
        options.warn_resolution(metric, profile.target, samples or profile.verify_samples, task)
    with options.simulator_from_options(backend, workers, timeout_s, scheduler) as simulator, \
            options.log_lines(f"loop ({task})") as log:
        run_loop(settings, out, simulator, log)
