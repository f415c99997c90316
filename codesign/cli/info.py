"""codesign info: what this installation runs on (without importing torch)."""

from __future__ import annotations

from importlib import metadata

import click

from codesign.cli import options


def _settings(level: str) -> None:
    """Every circuit setting (its dotted path, short name, type and value at ``level``)."""
    # deferred: the library loads only when the command runs (and never torch, here)
    from codesign.circuit.settings import ALIASES, build_circuit, setting_types

    config = build_circuit(level)
    short = {path: name for name, path in ALIASES.items()}
    click.echo("circuit settings (--set KEY=VALUE; calibration spec [circuit] and [sweep] "
               f"keys), with their values at the {level} level:")
    for path, tp in setting_types().items():
        value = config
        for part in path.split("."):
            value = getattr(value, part, None) if value is not None else None
        kind = getattr(tp, "__name__", str(tp)).replace("typing.", "")
        click.echo(f"  {path:<34} {short.get(path, ''):<22} {kind:<18} "
                   f"{'n/a' if value is None else value}")


@click.command()
@options.timeout_option(options.PROBE_TIMEOUT_S, "`ngspice -v`",
                        "info says ngspice did not answer and goes on")
@click.option("--settings", "level", type=click.Choice(["ideal", "opamp", "transistor", "cmos"]),
              default=None, help="List every circuit setting with its value at this neuron "
                                 "level (instead of the versions).")
def info(timeout_s: float, level: str | None) -> None:
    """Show the versions in use: codesign, torch, ngspice (and KLU), the model libraries."""
    if level is not None:
        _settings(level)
        return
    # deferred: the library loads only when the command runs (and never torch, here)
    from codesign._version import __version__
    from codesign.circuit.config import NEURON_LEVELS
    from codesign.circuit.settings import build_circuit
    from codesign.errors import CodesignError
    from codesign.netlist.library import library_dir
    from codesign.proxy.params import config_library_sha256, default_params_path, load_params
    from codesign.simulator.ngspice import find_ngspice

    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "not installed"
    click.echo(f"codesign {__version__}, torch {torch}")
    click.echo(f"SPICE model libraries: {library_dir()}")
    try:
        ng = find_ngspice(timeout_s=timeout_s)
        click.echo(f"ngspice {ng.version} at {ng.executable}, KLU {'yes' if ng.klu else 'no'}")
    except CodesignError as exc:
        click.echo(f"ngspice: {exc}")
    try:
        from codesign.simulator.shared import find_libngspice  # deferred: imports PySpice

        click.echo(f"libngspice (shared backend): {find_libngspice()}")
    except CodesignError as exc:
        click.echo(f"libngspice: {exc}")
    for level in NEURON_LEVELS:
        try:
            path = default_params_path(level)
            params, provenance = load_params(path)
        except CodesignError as exc:
            click.echo(f"proxy parameters ({level}): {exc}")
            continue
        rms = provenance.get("holdout_rms_fs", {}).get("calibrated")
        current = config_library_sha256(build_circuit(level))
        stale = "" if params.library_sha256 == current else " (STALE: libraries changed)"
        click.echo(f"proxy parameters ({level}): {path}, held-out RMS "
                   f"{'n/a' if rms is None else f'{100 * rms:.2g} % FS'}{stale}")
