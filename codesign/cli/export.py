"""codesign export: a checkpoint or bare core -> ngspice netlist, libraries and manifest."""

from __future__ import annotations

from pathlib import Path

import click

from codesign.cli import options

STALE = ("crossbar.cir", "conductances.npz", "manifest.json")
"""The files an earlier export in the same folder wrote (removed before the new one)."""


@click.command()
@options.source_argument
@options.neuron_option
@options.dc_gain_option
@options.gbw_option
@options.offset_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for crossbar.cir, the .lib files, conductances.npz, manifest.json.")
@options.array_options
@options.converter_options
@options.set_option
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the device mismatch (with --mismatch).")
@options.timeout_option(options.PROBE_TIMEOUT_S, "`ngspice -v` (to learn whether it has KLU)",
                        "the export stops with an error (without any ngspice the deck is "
                        "written without `.options klu`); nothing is simulated here")
@options.unstable_option
@options.force_option
def export(source, neuron, dc_gain, gbw, offset, out, array, converters, sets, seed,
           timeout_s, allow_unstable, force) -> None:
    """Compile the equilibrium core of SOURCE to an ngspice crossbar/op-amp netlist.

    SOURCE is a checkpoint from `codesign train`, or a bare core .npz with arrays W (n x n),
    U (n x m), b (n) and optionally a string `activation` (tanh, identity, hardclip).
    The deck runs by itself: `cd OUT && ngspice crossbar.cir` (op, then a transient from reset,
    for the first test sample of a checkpoint's task, or zero inputs for a bare core).

    \b
    Examples:
      codesign export runs/digits.pt --neuron opamp --out runs/netlist
      codesign export core.npz --neuron ideal --out runs/core-ideal
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    from codesign.chip.chip import Chip
    from codesign.run_folder import RunFolder
    from codesign.simulator.ngspice import find_ngspice, locate_ngspice
    from codesign.tasks import get_task
    from codesign.training.train import encode

    core, ckpt = options.load_checked_source(source, allow_unstable, force)
    config = options.circuit_from_options(neuron, dc_gain, gbw, offset, array, sets, converters)
    inputs = None
    if ckpt is not None and ckpt.task:
        task = get_task(ckpt.task)
        ckpt.check_task(task)
        inputs = encode(ckpt.model, task.x_test[:1])
    # no ngspice at all: the deck is still written (without KLU); one that is there but does
    # not answer within --timeout is an error, not a silent fallback
    executable = locate_ngspice()
    ngspice = find_ngspice(executable, timeout_s) if executable else None
    chip = Chip(core, config, seed, klu=bool(ngspice and ngspice.klu), force=force,
                allow_unstable=allow_unstable)
    with RunFolder(out, "export").start(STALE) as folder:
        manifest = chip.export(out, ngspice=ngspice, inputs=inputs, source=str(source))
        files = manifest["files"]
        folder.complete([out / files["deck"], *(out / lib for lib in files["libraries"]),
                         out / files["conductances"], out / "manifest.json"])
    elements = manifest["elements"]
    click.echo(
        f"core n={core.n} m={core.m} ({core.activation}), ||W||_2 = {core.spectral_norm:.3f}: "
        f"{elements['devices']} crossbar devices, neuron {neuron}"
    )
    click.echo(f"wrote {out / manifest['files']['deck']} and manifest.json; run: {manifest['run']}")
    if ngspice is None:
        click.echo("note: ngspice not found; the deck was written without `.options klu`")
