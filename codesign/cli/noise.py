"""codesign noise: the spread of a chip's equilibria under circuit noise, SPICE against the
proxy, and the proxy's noise fitted to it."""

from __future__ import annotations

from pathlib import Path

import click

from codesign.cli import options

OUTPUTS = ("noise.json", "spreads.csv", "params.json")


def _table(check):
    import pandas as pd  # deferred: pandas loads only when the command runs, not for --help

    columns = {"neuron": range(len(check.fitted.spice_fs))}
    for name in ("fitted", "held_out", "scaled"):
        spread = getattr(check, name)
        columns[f"{name}_spice_fs"] = spread.spice_fs
        columns[f"{name}_proxy_fs"] = spread.proxy_fs
    return pd.DataFrame(columns)


def _lines(check) -> list[str]:
    lines = [f"noise_excess fitted: {check.params.noise_excess:.3f} (measured over predicted "
             "variance)"]
    for name in ("fitted", "held_out", "scaled"):
        s = getattr(check, name)
        lines.append(f"{name}: spread median {1e4 * float(_median(s.spice_fs)):.3g}e-4 FS "
                     f"(SPICE), proxy within {100 * s.median_error:.1f} % median over neurons "
                     f"(sampling error {100 * s.sampling_error:.1f} %)")
    lines.append(f"currents x{check.current_ratio:g}: spread grows x"
                 f"{_median(check.growth_spice):.3f} in SPICE, x"
                 f"{_median(check.growth_proxy):.3f} predicted (median error "
                 f"{100 * check.growth_error:.1f} %)")
    return lines


def _median(values) -> float:
    import numpy as np  # deferred: numpy loads only when the command runs, not for --help

    return float(np.median(values))


@click.command()
@click.option("--core", "source", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="CKPT|CORE.npz", help="The core to check (default: a seeded random "
                                            "contraction of --n neurons and --m inputs).")
@click.option("--n", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Neurons of the random core (without --core).")
@click.option("--m", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Inputs of the random core (without --core).")
@options.neuron_option
@click.option("--params", "params_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Proxy parameters to start from (default: the level's "
                                 "shipped calibration).")
@click.option("--inputs", type=click.IntRange(min=1), default=4, show_default=True,
              help="Inputs per spread (fit, held-out, scaled).")
@click.option("--repeats", type=click.IntRange(min=4), default=32, show_default=True,
              help="Noisy transients per input.")
@click.option("--current-ratio", type=click.FloatRange(0, 1000, min_open=True, max_open=True),
              default=0.1, show_default=True,
              help="Scale of every current (bias and conductances) in the second circuit.")
@click.option("--amp-noise", type=click.FloatRange(min=0), default=None,
              help="Amplifier input noise [V/sqrt(Hz)] (default: the level's; the CMOS OTA's "
                   "from its bias, none for the macromodels).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=300.15,
              show_default=True, help="Noise temperature [K].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random core, the inputs and the noise.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for noise.json, spreads.csv and params.json (the fitted proxy).")
@options.set_option
@options.backend_option
@options.workers_option
@options.timeout_option(options.RUN_TIMEOUT_S, then="the measurement stops with an error (the "
                        "same command starts it over)")
@options.force_option
def noise(source, n, m, neuron, params_path, inputs, repeats, current_ratio, amp_noise,
          temperature, seed, out, sets, backend, workers, timeout_s, force) -> None:
    """Measure a chip's noise in SPICE and fit the proxy's noise to it.

    Noise sources: each conductance's 4kTG and each summing amplifier's input noise, as one
    noise current per row (seeded waveforms). The chip is calibrated on its own noiseless
    runs, its spread over repeated noisy transients is measured on one set of inputs (fitting
    the proxy's noise_excess) and judged on another, and again with every current scaled by
    --current-ratio (the bias currents, the conductances and the capacitors that keep the
    time constants).

    \b
    Example:
      codesign noise --neuron cmos --out runs/noise
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    import numpy as np

    from codesign.calibration.noise import NoisePlan, check_noise
    from codesign.chip.chip import Chip
    from codesign.deq import random_core
    from codesign.files import check_output_dir, write_table
    from codesign.proxy.params import default_params_path, load_params, save_params
    from codesign.run_folder import RunFolder
    from codesign.schema import write_result

    if source is not None:
        for name in ("n", "m"):
            options.warn_unused(name, f"--{name}", "--core gives the core")
    plan = NoisePlan(inputs=inputs, repeats=repeats, current_ratio=current_ratio)
    rng = np.random.default_rng(seed)
    if source is not None:
        core, _ = options.load_checked_source(source, False, force)
    else:
        core = random_core(n, m, 0.8, rng)
    plan.check_size(core.n, force)
    check_output_dir(out, "--out")
    noise = {"noise.enabled": True, "noise.temperature_k": temperature,
             "noise.amp_noise_v_rthz": amp_noise}
    config = options.circuit_from_options(neuron, array=noise, sets=sets)
    params = load_params(params_path or default_params_path(neuron))[0]
    with options.simulator_from_options(backend, workers, timeout_s) as simulator:
        chip = Chip(core, config, seed, simulator, force=force)
        with RunFolder(out, "noise").start(OUTPUTS) as folder:
            with options.log_lines("noise") as log:
                check = check_noise(chip, params, out / "spice", plan, rng)
                for line in _lines(check):
                    log(line)
            written = [write_result(out / "noise.json", check, "noise"),
                       write_table(out / "spreads.csv", _table(check)),
                       save_params(out / "params.json", check.params,
                                   {"noise_check": str(out)})]
            folder.complete(written)
    for path in written:
        click.echo(f"wrote {path}")
