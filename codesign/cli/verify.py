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


def _lines(s) -> list[str]:
    lines = [
        f"verified {s.samples} samples of an n={s.n} core ({s.neuron} neuron, "
        f"ngspice {s.ngspice_version}{' + KLU' if s.klu else ''}, {s.backend} backend, "
        f"{s.analysis})",
        f"equilibrium error vs PyTorch: max {s.equilibrium_error_fs.max:.2e} FS, "
        f"RMS {s.equilibrium_error_fs.rms:.2e} FS",
        f"vs the circuit-aware prediction (finite gain, offsets, rails): max "
        f"{s.model_error_fs.max:.2e} FS; {100 * s.rail_clipped_fraction:.2f} % of "
        "neuron outputs on an op-amp rail",
    ]
    if s.proxy_error_fs is not None:
        p = s.proxy_error_fs
        lines.append(f"vs the calibrated proxy ({s.proxy.neuron_model}): max "
                     f"{p.max:.2e} FS, RMS {p.rms:.2e} FS"
                     + ("" if s.proxy.matches_circuit else
                        " (WARNING: fitted to another neuron model)"))
    t = s.task_metric
    if t is not None and t.agreement is not None:
        lines.append(f"{t.name} on these samples: digital {100 * t.digital:.2f} %, circuit "
                     f"{100 * t.circuit:.2f} % (same class on {100 * t.agreement:.1f} %)")
    elif t is not None:
        lines.append(f"{t.name} on these samples: digital {t.digital:.4g}, circuit "
                     f"{t.circuit:.4g}")
    if s.settling is not None:
        st, en = s.settling, s.energy_per_inference_j
        med = st.time_s.median
        lines.append(
            f"settling to {st.tol_fs:g} FS from reset: median "
            f"{1e6 * med:.2f} us, max {1e6 * st.time_s.max:.2f} us (tau "
            f"{1e6 * st.tau_s:.2f} us); within the contraction bound: "
            f"{'n/a, ||W||_2 >= 1' if st.within_bound is None else st.within_bound}"
            if med is not None else "settling: no sample settled within the simulated time")
        if en.mean is not None:
            lines.append(
                f"energy per inference: mean {1e9 * en.mean:.3g} nJ (neurons "
                f"{1e9 * en.core_mean:.3g} nJ, inputs {1e9 * en.input_mean:.3g} nJ, DAC/ADC "
                f"conversions {1e9 * en.converters:.3g} nJ), {1e12 * s.energy_per_mac_j:.3g} pJ "
                "per equivalent MAC")
    return lines


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
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--settle-tol", type=float, default=1e-4, show_default=True,
              help="Settling tolerance, fraction of full scale.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the device mismatch, and of the random inputs of a bare core "
                   "without --inputs.")
@click.option("--table-format", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True)
@options.array_options
@options.set_option
@click.option("--proxy", "proxy_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Proxy parameters (JSON from `codesign calibrate`) whose "
              "prediction is reported beside SPICE's; default calibration/NEURON.json.")
@options.backend_option
@options.workers_option
@options.scheduler_option
@options.timeout_option(600.0)
@options.unstable_option
@options.force_option
@click.option("--grid", "grid_size", type=click.IntRange(min=2), default=None,
              help="A grid model (`codesign grid train`) only: the grid to compile it on "
                   "(default: its training grid); see `codesign grid verify`.")
def verify(source, inputs, samples, neuron, dc_gain, gbw, offset, analysis, out, settle_tol,
           seed, table_format, array, sets, proxy_path, backend, workers,
           scheduler, timeout_s, allow_unstable, force, grid_size) -> None:
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
    from codesign.chip.chip import Chip
    from codesign.chip.verify import VerifySettings, task_metric, verify_chip
    from codesign.deq.checkpoint import is_grid_checkpoint
    from codesign.errors import InputError
    from codesign.run_folder import RunFolder
    from codesign.simulator.store import ResultStore
    from codesign.training.train import decode

    if is_grid_checkpoint(source):
        from codesign.cli.grid import verify_grid_model  # deferred: the grid branch

        if analysis != "op" or inputs is not None or proxy_path is not None:
            raise InputError("a grid model is verified at its operating points on its task's "
                             "fields: drop --analysis tran, --inputs and --proxy")
        verify_grid_model(source, grid_size, samples, neuron, array, sets, seed, out, backend,
                          workers, timeout_s, scheduler, force)
        return
    if grid_size is not None:
        raise InputError(f"--grid applies to grid models (`codesign grid train`); {source} is "
                         "not one: drop --grid")
    if not 0 < settle_tol < 1:
        raise InputError(f"--settle-tol must lie in (0, 1) of full scale, got {settle_tol}")
    core, ckpt = options.load_checked_source(source, allow_unstable, force)
    config = options.circuit_from_options(neuron, dc_gain, gbw, offset, array, sets)
    proxy, proxy_path = _proxy(proxy_path, neuron)
    e, task = _samples(core, ckpt, inputs, samples, seed, force)
    with options.simulator_from_options(backend, workers, timeout_s, scheduler) as simulator:
        chip = Chip(core, config, seed, simulator, force=force)
        with RunFolder(out, "verify").start(STALE) as folder:
            store = ResultStore(out / "spice" / "store")
            settings = VerifySettings(analysis=analysis, settle_tol_fs=settle_tol, proxy=proxy,
                                      seed=seed)
            with click.progressbar(length=len(e), label=f"SPICE {analysis} ({neuron})") as bar:
                result = verify_chip(chip, e, out / "spice", settings, bar.update, store)
            summary = replace(result.summary, source=str(source))
            if proxy is not None:
                summary = replace(summary, proxy=replace(summary.proxy, path=str(proxy_path)))
            result = replace(result, summary=summary)
            if ckpt is not None and task is not None:
                full = ckpt.metrics.get("test_metric")
                metric = task_metric(result, task, partial(decode, ckpt.model),
                                     task.y_test[:len(e)])
                result = result.with_task_metric(
                    metric, float(full) if isinstance(full, int | float) else None)
            for line in _lines(result.summary):
                click.echo(line)
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
