"""codesign verify: run the compiled core in SPICE and compare it with PyTorch."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import click

from codesign.cli import options

STALE = ("summary.json", "equilibria.parquet", "equilibria.csv", "transients.csv")
"""Outputs of an earlier verification in the same folder: removed when a new one starts."""


def _samples(core, ckpt, inputs: Path | None, samples: int, seed: int, force: bool):
    """Core inputs (K x m) and the task (or None): given inputs, the first K test samples of a
    checkpoint's task, or K seeded uniform random inputs in [-1, 1] for a bare core."""
    # deferred: the library (torch) loads only when the command runs, not for --help
    import numpy as np

    from codesign.deq.checkpoint import load_inputs
    from codesign.limits import check_samples
    from codesign.tasks import get_task
    from codesign.training.train import encode

    if inputs is not None:
        return core.check_inputs(load_inputs(inputs, force)), None
    check_samples(samples, force)
    if ckpt is not None and ckpt.task:
        task = get_task(ckpt.task)
        ckpt.check_task(task)
        return encode(ckpt.model, task.x_test[:samples]), task
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (samples, core.m)), None


def _write(result, out: Path, table_format: str) -> list[Path]:
    # deferred: the library loads only when the command runs, not for --help
    from codesign.files import write_table
    from codesign.schema import write_result

    written = [write_table(out / f"equilibria.{table_format}", result.equilibria)]
    if result.transients is not None:
        written.append(write_table(out / "transients.csv", result.transients))
    written.append(write_result(out / "summary.json", result.summary, "verification"))
    return written


@click.command()
@options.source_argument
@click.option("--inputs", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Core inputs e as .npy, shape (samples, m), one row per sample.")
@click.option("--samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Test samples of a checkpoint's task (or random inputs of a bare core).")
@options.neuron_option
@options.dc_gain_option
@options.gbw_option
@options.offset_option
@click.option("--analysis", type=click.Choice(["op", "tran"]), default="op", show_default=True,
              help="op: equilibria; tran: also a transient from reset (settling, energy).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder (equilibria, summary.json, spice/; resumed if it holds a killed "
                   "run).")
@click.option("--settle-tol", type=float, default=1e-4, show_default=True,
              help="Settling tolerance, fraction of full scale.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the device mismatch, and of the random inputs of a bare core "
                   "without --inputs.")
@click.option("--table-format", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True, help="File format of OUT/equilibria.")
@options.array_options
@options.converter_options
@options.set_option
@click.option("--proxy", "proxy_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Proxy parameters (JSON from `codesign calibrate`) whose "
              "prediction is reported beside SPICE's; default calibration/NEURON.json.")
@options.backend_option
@options.workers_option
@options.scheduler_option
@options.timeout_option(options.RUN_TIMEOUT_S, then="the verification stops with an error; "
                        "the same command resumes it from the samples finished")
@options.unstable_option
@options.force_option
@click.option("--grid", "grid_size", type=click.IntRange(min=2), default=None,
              help="A grid model (`codesign grid train`) only: the grid to compile it on "
                   "(default: its training grid); see `codesign grid verify`.")
@click.option("--readout", type=click.IntRange(min=0), default=0, show_default=True,
              help="A task model only: fit the chip's digital decoder to its SPICE states of "
                   "this many training inputs before judging the circuit (calibration after "
                   "fabrication; 0: the decoder as trained).")
def verify(source, inputs, samples, neuron, dc_gain, gbw, offset, analysis, out, settle_tol,
           seed, table_format, array, converters, sets, proxy_path, backend, workers,
           scheduler, timeout_s, allow_unstable, force, grid_size, readout) -> None:
    """Verify SOURCE at circuit level: SPICE equilibria against the PyTorch fixed point.

    Writes OUT/equilibria.parquet (sample, unit, neuron, z_torch, z_model, z_spice, z_proxy,
    error, error_model, error_proxy; z in units of full scale), OUT/summary.json, with
    --analysis tran also OUT/transients.csv, and OUT/run.json, which says "complete" only once
    all of them are written. Decks, ngspice logs and every finished sample stay under
    OUT/spice: the same command again resumes where a killed run stopped.

    \b
    Examples:
      codesign verify runs/digits.pt --neuron opamp --samples 200 --analysis tran --out runs/v
      codesign verify core.npz --inputs e.npy --neuron ideal --out runs/v-ideal
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    from codesign.calibration.readout import MIN_SAMPLES, fit_readout
    from codesign.chip.chip import Chip
    from codesign.chip.summary import format_summary
    from codesign.chip.verify import VerifySettings, task_metric, verify_chip
    from codesign.deq.checkpoint import GRID_FORMAT, NETWORK_FORMAT, checkpoint_format
    from codesign.errors import InputError
    from codesign.proxy.fitted import range_warnings_to
    from codesign.run_folder import RunFolder
    from codesign.simulator.ngspice import SWEEP_CHUNK
    from codesign.simulator.store import ResultStore
    from codesign.training.train import decode

    if checkpoint_format(source) in (GRID_FORMAT, NETWORK_FORMAT):  # one probe of the tag
        from codesign.cli.grid import verify_grid_model  # deferred: the grid branch

        if analysis != "op" or inputs is not None or proxy_path is not None or readout:
            raise InputError("a grid model is verified at its operating points on its task's "
                             "fields: drop --analysis tran, --inputs, --proxy and --readout")
        verify_grid_model(source, grid_size, samples, neuron, {**array, **converters}, sets,
                          seed, out, backend, workers, timeout_s, scheduler, force)
        return
    if grid_size is not None:
        raise InputError(f"--grid applies to grid models (`codesign grid train`); {source} is "
                         "not one: drop --grid")
    if not 0 < settle_tol < 1:
        raise InputError(f"--settle-tol must lie in (0, 1) of full scale, got {settle_tol}")
    core, ckpt = options.load_checked_source(source, allow_unstable, force)
    config = options.circuit_from_options(neuron, dc_gain, gbw, offset, array, sets, converters)
    if analysis == "op":
        options.warn_unused("settle_tol", "--settle-tol", "it judges the transients of "
                            "--analysis tran")
        options.warn_unused("line_c", "--line-c", "capacitance does not move an operating "
                            "point; use --analysis tran")
    proxy, proxy_path = _proxy(proxy_path, neuron)
    e, task = _samples(core, ckpt, inputs, samples, seed, force)
    if 0 < readout < MIN_SAMPLES:
        raise InputError(f"--readout fits on at least {MIN_SAMPLES} training inputs, got "
                         f"{readout}: pass --readout {MIN_SAMPLES} or more (0: no fit)")
    if readout and (ckpt is None or task is None or inputs is not None):
        raise InputError("--readout fits a task model's decoder on its task's training inputs: "
                         "verify a checkpoint of `codesign train` without --inputs, or drop "
                         "--readout")
    if readout and config.noise.enabled and proxy is None:
        raise InputError(f"--readout on a noisy chip draws the noise from a proxy; there is "
                         f"none for {neuron}: pass --proxy")
    if task is not None:
        options.warn_resolution(task.metric, task.profile.target, len(e), task.name)
    with options.simulator_from_options(backend, workers, timeout_s, scheduler) as simulator:
        chip = Chip(core, config, seed, simulator, force=force, allow_unstable=allow_unstable)
        with RunFolder(out, "verify").start(STALE) as folder:
            # operating points: a file per sweep's worth of samples (SWEEP_CHUNK), not one per
            # sample; transients (each far dearer than a file) one file per sample as it ends
            store = ResultStore(out / "spice" / "store",
                                chunk=SWEEP_CHUNK if analysis == "op" else 1)
            # the file's path (not its parameters): the chip checks the set against the circuit
            # it was fitted on, and says so when this chip lies outside the calibrated range
            settings = VerifySettings(analysis=analysis, settle_tol_fs=settle_tol,
                                      proxy=proxy_path if proxy is not None else None, seed=seed)
            with options.progress(f"SPICE {analysis} ({neuron})", len(e), "samples") as update, \
                    range_warnings_to(lambda line: click.echo(line, err=True)):
                result = verify_chip(chip, e, out / "spice", settings, update, store)
            summary = replace(result.summary, source=str(source))
            if proxy is not None:
                summary = replace(summary, proxy=replace(summary.proxy, path=str(proxy_path)))
            result = replace(result, summary=summary)
            if ckpt is not None and task is not None:
                full = ckpt.metrics.get("test_metric")
                fitted, fitted_on = None, None
                if readout:
                    fit = fit_readout(task, ckpt.model, chip, proxy, readout,
                                      out / "spice" / "readout", seed)
                    if fit.kept:
                        click.echo(f"readout fit on {fit.samples} training inputs did not lower "
                                   "the held-back loss: the decoder as trained is kept")
                    else:
                        fitted, fitted_on = partial(decode, fit.apply(ckpt.model)), fit.samples
                        click.echo(f"readout fitted to this chip on {fit.samples} training "
                                   f"inputs: held-back loss {fit.loss_trained:.4g} -> "
                                   f"{fit.loss_fitted:.4g}")
                metric = task_metric(result, task, partial(decode, ckpt.model),
                                     task.y_test[:len(e)], fitted, fitted_on)
                result = result.with_task_metric(
                    metric, float(full) if isinstance(full, int | float) else None)
            click.echo(format_summary(result))
            written = _write(result, out, table_format)
            folder.complete(written)
    for path in written:
        click.echo(f"wrote {path}")


def _proxy(path: Path | None, neuron: str):
    """(params, path) of --proxy, else of the shipped set of ``neuron`` (None when there is
    none: the verification runs without a proxy column)."""
    # deferred: the library loads only when the command runs, not for --help
    from codesign.errors import InputError
    from codesign.proxy.params import default_params_path, load_params

    if path is None:
        try:
            path = default_params_path(neuron)
        except InputError as exc:
            click.echo(f"note: {exc}", err=True)
            return None, None
    return load_params(path)[0], path
