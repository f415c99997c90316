"""codesign verify: run the compiled core in SPICE and compare it with PyTorch."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click
import numpy as np

from codesign.checkpoint import Checkpoint
from codesign.cli import options
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError
from codesign.jsonio import write_json
from codesign.proxy.params import default_params_path, load_params
from codesign.simulator import get_simulator
from codesign.tasks import get_task
from codesign.tasks.base import Task
from codesign.training import decode, encode
from codesign.verify import Verification, VerifySettings, add_task_metric, verify_core


def _load_inputs(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read inputs {path} ({exc}); pass a .npy array of "
                         "shape (samples, m)") from None


def _samples(core: CoreWeights, ckpt: Checkpoint | None, inputs: Path | None, samples: int,
             seed: int) -> tuple[np.ndarray, Task | None]:
    """Core inputs (K x m) and the task (or None): given inputs, the first K test samples of a
    checkpoint's task, or K seeded uniform random inputs in [-1, 1] for a bare core."""
    if inputs is not None:
        return core.check_inputs(_load_inputs(inputs)), None
    if ckpt is not None and ckpt.task:
        task = get_task(ckpt.task)
        return encode(ckpt.model, task.x_test[:samples]), task
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (samples, core.m)), None


def _write(result: Verification, out: Path, table_format: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    table = out / f"equilibria.{table_format}"
    if table_format == "parquet":
        result.equilibria.to_parquet(table, index=False)
    else:
        result.equilibria.to_csv(table, index=False)
    written.append(table)
    if result.transients is not None:
        written.append(out / "transients.csv")
        result.transients.to_csv(written[-1], index=False)
    written.append(write_json(out / "summary.json", result.summary))
    return written


def _report(summary: dict) -> list[str]:
    s = summary
    lines = [
        f"verified {s['samples']} samples of an n={s['n']} core ({s['neuron']} neuron, "
        f"ngspice {s['ngspice_version']}{' + KLU' if s['klu'] else ''}, {s['backend']} backend, "
        f"{s['analysis']})",
        f"equilibrium error vs PyTorch: max {s['equilibrium_error_fs']['max']:.2e} FS, "
        f"RMS {s['equilibrium_error_fs']['rms']:.2e} FS",
        f"vs the circuit-aware prediction (finite gain, offsets, rails): max "
        f"{s['model_error_fs']['max']:.2e} FS; {100 * s['rail_clipped_fraction']:.2f} % of "
        "neuron outputs on an op-amp rail",
    ]
    if "proxy_error_fs" in s:
        p = s["proxy_error_fs"]
        lines.append(f"vs the calibrated proxy ({s['proxy']['neuron_model']}): max "
                     f"{p['max']:.2e} FS, RMS {p['rms']:.2e} FS"
                     + ("" if s["proxy"]["matches_circuit"] else
                        " (WARNING: fitted to another neuron model)"))
    if "accuracy" in s:
        a = s["accuracy"]
        lines.append(f"accuracy on these samples: digital {100 * a['digital']:.2f} %, circuit "
                     f"{100 * a['circuit']:.2f} % (same class on {100 * a['agreement']:.1f} %)")
    elif "task_metric" in s:
        t = s["task_metric"]
        lines.append(f"{t['name']} on these samples: digital {t['digital']:.4g}, circuit "
                     f"{t['circuit']:.4g}")
    if "settling" in s:
        st, en = s["settling"], s["energy_per_inference_j"]
        med = st["time_s"]["median"]
        lines.append(
            f"settling to {st['tol_fs']:g} FS from reset: median "
            f"{1e6 * med:.2f} us, max {1e6 * st['time_s']['max']:.2f} us (tau "
            f"{1e6 * st['tau_s']:.2f} us); within the contraction bound: "
            f"{'n/a, ||W||_2 >= 1' if st['within_bound'] is None else st['within_bound']}"
            if med is not None else "settling: no sample settled within the simulated time")
        if en["mean"] is not None:
            lines.append(
                f"energy per inference: mean {1e9 * en['mean']:.1f} nJ (neurons "
                f"{1e9 * en['core_mean']:.1f} nJ, inputs {1e9 * en['input_mean']:.1f} nJ), "
                f"{1e12 * s['energy_per_mac_j']:.1f} pJ per equivalent MAC")
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
@click.option("--proxy", "proxy_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Proxy parameters (JSON from `codesign calibrate`) whose "
              "prediction is reported beside SPICE's; default calibration/NEURON.json.")
@options.backend_option
@options.workers_option
@options.unstable_option
def verify(source, inputs, samples, neuron, dc_gain, gbw, offset, analysis, out, settle_tol,
           seed, table_format, levels, mismatch, line_ohm, proxy_path, backend, workers,
           allow_unstable) -> None:
    """Verify SOURCE at circuit level: SPICE equilibria against the PyTorch fixed point.

    Writes OUT/equilibria.parquet (sample, unit, neuron, z_torch, z_model, z_spice, z_proxy,
    error, error_model, error_proxy; z in units of full scale), OUT/summary.json, with
    --analysis tran also
    OUT/transients.csv, and keeps the decks and ngspice logs under OUT/spice.

    \b
    Examples:
      codesign verify runs/digits.pt --neuron opamp --samples 200 --analysis tran --out runs/v
      codesign verify core.npz --inputs e.npy --neuron ideal --out runs/v-ideal
    """
    if not 0 < settle_tol < 1:
        raise InputError(f"--settle-tol must lie in (0, 1) of full scale, got {settle_tol}")
    core, ckpt = options.load_checked_source(source, allow_unstable)
    config = options.circuit_from_options(neuron, dc_gain, gbw, offset, levels, mismatch,
                                          line_ohm)
    proxy, proxy_path = _proxy(proxy_path, neuron)
    e, task = _samples(core, ckpt, inputs, samples, seed)
    simulator = get_simulator(backend, **({"workers": workers} if workers else {}))
    settings = VerifySettings(analysis=analysis, settle_tol_fs=settle_tol, proxy=proxy,
                              seed=seed)
    with click.progressbar(length=len(e), label=f"SPICE {analysis} ({neuron})") as bar:
        result = verify_core(core, e, config, simulator, out / "spice", settings, bar.update)
    result.summary["source"] = str(source)
    if proxy is not None:
        result.summary["proxy"]["path"] = str(proxy_path)
    if ckpt is not None and task is not None:
        add_task_metric(result, task, partial(decode, ckpt.model), task.y_test[:len(e)])
        result.summary["test_metric_full_digital"] = ckpt.metrics.get("test_metric")
    for line in _report(result.summary):
        click.echo(line)
    for path in _write(result, out, table_format):
        click.echo(f"wrote {path}")


def _proxy(path: Path | None, neuron: str):
    """(params, path) of --proxy, else of the shipped set of ``neuron`` (None when there is
    none: the verification runs without a proxy column)."""
    if path is None:
        try:
            path = default_params_path(neuron)
        except InputError as exc:
            click.echo(f"note: {exc}", err=True)
            return None, None
    return load_params(path)[0], path


