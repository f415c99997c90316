"""codesign grid: grid-local equilibrium cores on PDEs (codesign.deq.grid): train one at 16 x 16,
verify its chip in SPICE on any grid."""

from __future__ import annotations

from pathlib import Path

import click

from codesign.cli import options

GRID_TASKS = ("poisson", "darcy")
STALE = ("summary.json", "fields.npz")


@click.group()
def grid() -> None:
    """Grid-local equilibrium cores: a stencil shared across the grid, one trained model on
    every resolution (docs/grid.md)."""


@grid.command("train")
@click.option("--task", type=click.Choice(GRID_TASKS), default="poisson", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Checkpoint to write (.pt); its record goes beside it (.json).")
@click.option("--channels", type=click.IntRange(min=1), default=4, show_default=True,
              help="Analog neurons per grid point.")
@click.option("--inputs", type=click.IntRange(min=1), default=2, show_default=True,
              help="DAC inputs per grid point.")
@click.option("--shape", type=click.Choice(["square", "cross"]), default="cross",
              show_default=True, help="Stencil taps: the 3 x 3 square or the 5-point cross.")
@click.option("--activation", type=click.Choice(["identity", "tanh", "hardclip"]),
              default="identity", show_default=True,
              help="The neurons' phi (identity: a linear core, which transfers across grids).")
@click.option("--transfer", type=click.Choice(["diffusive", "same"]), default="diffusive",
              show_default=True, help="How the stencil runs on other grids (codesign.deq.grid."
              "Transfer): diffusive rescales the local cells by (G/16)^2, same keeps them.")
@click.option("--gamma", type=float, default=0.99, show_default=True,
              help="Bound on the stencil's norm on the training grid (< 1).")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--residual-weight", type=click.FloatRange(min=0), default=0.1,
              show_default=True, help="Weight of the PDE's squared residual in the loss.")
@click.option("--labelled", type=click.FloatRange(min=0, min_open=True, max=1), default=1.0,
              show_default=True, help="Fraction of the training fields whose solution is used.")
@click.option("--seed", type=int, default=0, show_default=True)
@options.threads_option
def train(task, out, channels, inputs, shape, activation, transfer, gamma, epochs,
          residual_weight, labelled, seed, threads) -> None:
    """Train a grid DEQ on TASK's 16 x 16 fields and judge it at 16, 32 and 64.

    \b
    Example:
      codesign grid train --task poisson --out runs/grid/poisson.pt
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    import json

    import torch

    from codesign.deq.checkpoint import save_grid_checkpoint
    from codesign.deq.grid import GridDEQConfig
    from codesign.files import check_output_dir, write_text
    from codesign.training.grid import GridTrainConfig, train_grid_task

    torch.set_num_threads(threads)
    check_output_dir(out.parent, "--out's folder")
    deq = GridDEQConfig(channels=channels, inputs=inputs, shape=shape, activation=activation,
                        transfer=transfer, gamma=gamma, encoder_stencil=1, input_stencil=1,
                        max_iter=400)
    config = GridTrainConfig(epochs=epochs, residual_weight=residual_weight,
                             labelled=labelled, seed=seed)

    def progress(epoch: int, loss: float) -> None:
        if epoch % 5 == 0 or epoch == epochs:
            click.echo(f"epoch {epoch}/{epochs}: loss {loss:.4g}")

    model, record = train_grid_task(task, deq, config, progress=progress)
    save_grid_checkpoint(out, model, task, {"relative_l2": record["relative_l2"]},
                         config.to_dict())
    write_text(out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    errors = ", ".join(f"{g} x {g}: {v:.4f}" for g, v in record["relative_l2"].items())
    click.echo(f"{task}: {record['parameters']} parameters, {record['train_s']:.0f} s; "
               f"relative L2 {errors}")
    click.echo(f"wrote {out}")


def verify_grid_model(source: Path, grid_size: int | None, samples: int, neuron: str,
                      array: dict, sets: tuple[str, ...], seed: int, out: Path, backend: str,
                      workers: int | None, timeout_s: float, scheduler: str | None,
                      force: bool) -> None:
    """The grid-model branch of `codesign verify` and `codesign grid verify`."""
    # deferred: the library (torch) loads only when the command runs, not for --help
    from dataclasses import asdict

    import numpy as np

    from codesign.chip.grid import verify_grid
    from codesign.deq.checkpoint import load_grid_checkpoint
    from codesign.errors import InputError
    from codesign.files import write_json
    from codesign.limits import check_samples
    from codesign.run_folder import RunFolder
    from codesign.tasks.grid import get_grid_task

    ckpt = load_grid_checkpoint(source)
    if ckpt.task not in GRID_TASKS:
        raise InputError(f"{source} was trained on {ckpt.task!r}, not a grid task; train one "
                         "with `codesign grid train`")
    size = grid_size or ckpt.model.config.train_grid
    check_samples(samples, force)
    x, y = get_grid_task(ckpt.task, grids=(size,)).test_at(size)
    x, y = x[:samples], y[:samples]
    config = options.circuit_from_options(neuron, array=array, sets=sets)
    with options.simulator_from_options(backend, workers, timeout_s, scheduler) as simulator, \
            RunFolder(out, "verify").start(STALE) as folder:
        with click.progressbar(length=len(x), label=f"SPICE op ({neuron}, {size} x {size})") \
                as bar:
            summary, arrays = verify_grid(ckpt.model, x, y, config, seed, out / "spice",
                                          simulator, ckpt.task, bar.update, force)
        click.echo(f"verified {summary.samples} {ckpt.task} fields on a {size} x {size} grid: "
                   f"n = {summary.n} neurons, {summary.cells} cells ({neuron}, mismatch "
                   f"{summary.mismatch_sigma:g}, DAC/ADC {summary.dac_bits}/{summary.adc_bits} "
                   f"bits{', row trim' if summary.row_trim else ''})")
        click.echo(f"relative L2: digital {summary.digital_l2:.4f}, circuit "
                   f"{summary.circuit_l2:.4f} ({summary.ratio:.3f}x)")
        click.echo(f"equilibrium vs the ideal core: max {summary.equilibrium_error_fs_max:.2e} "
                   f"FS, RMS {summary.equilibrium_error_fs_rms:.2e} FS; vs the circuit's "
                   f"prediction: max {summary.prediction_error_fs_max:.2e} FS")
        click.echo(f"time: compile {summary.compile_s:.2f} s, SPICE {summary.spice_s:.2f} s "
                   f"({summary.seconds_per_sample:.2f} s per field, parse included)")
        written = [write_json(out / "summary.json", {"source": str(source), **asdict(summary)})]
        path = out / "fields.npz"
        np.savez(path, **arrays)
        written.append(path)
        folder.complete(written)
    for path in written:
        click.echo(f"wrote {path}")


@grid.command("verify")
@options.source_argument
@click.option("--grid", "grid_size", type=click.IntRange(min=2), default=None,
              help="Grid to compile the model on (default: its training grid).")
@click.option("--samples", type=click.IntRange(min=1), default=64, show_default=True,
              help="Test fields of the model's task at that grid.")
@options.neuron_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the device mismatch.")
@options.array_options
@options.set_option
@options.backend_option
@options.workers_option
@options.scheduler_option
@options.timeout_option(600.0)
@options.force_option
def verify(source, grid_size, samples, neuron, out, seed, array, sets, backend, workers,
           scheduler, timeout_s, force) -> None:
    """Compile a grid model on a G x G grid and run its chip's operating points in SPICE on
    the task's test fields (same as `codesign verify MODEL --grid G`).

    Writes OUT/summary.json (task metric of the digital model and of the circuit, equilibrium
    errors, times) and OUT/fields.npz (u_digital, u_circuit, z_spice, z_ideal).

    \b
    Example:
      codesign grid verify runs/grid/poisson.pt --grid 32 --mismatch 0.05 --out runs/gv32
    """
    verify_grid_model(source, grid_size, samples, neuron, array, sets, seed, out, backend,
                      workers, timeout_s, scheduler, force)
