"""Options shared by several commands, and the helpers that turn them into library objects.
Light on purpose: nothing here imports torch (``codesign --help`` must start fast)."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from codesign.circuit.config import NEURON_LEVELS, CircuitConfig
from codesign.circuit.settings import assignments, build_circuit, override
from codesign.jobs import MAX_TIMEOUT_S
from codesign.simulator import BACKENDS

source_argument = click.argument(
    "source", type=click.Path(dir_okay=False, path_type=Path), metavar="CKPT|CORE.npz"
)
neuron_option = click.option(
    "--neuron", type=click.Choice(list(NEURON_LEVELS)), default="opamp", show_default=True,
    help="Neuron fidelity level: ideal (behavioural), opamp (single-pole macromodel), "
         "transistor (BJT differential-pair activation after the op-amp) or cmos (sky130 "
         "Miller OTA and MOS-pair activation).",
)
levels_option = click.option(
    "--levels", type=click.IntRange(min=0), default=0, show_default=True,
    help="Conductance levels over the window (0: continuous).",
)
mismatch_option = click.option(
    "--mismatch", type=click.FloatRange(0, 0.5, max_open=True), default=0.0, show_default=True,
    help="Relative programming error sigma per device (drawn with --seed).",
)
line_option = click.option(
    "--line-ohm", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Wire resistance of the row lines per cell pitch [Ohm].",
)
column_option = click.option(
    "--column-ohm", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Wire resistance of the column lines per cell pitch [Ohm].",
)
line_c_option = click.option(
    "--line-c", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Wire capacitance of every row and column line per cell pitch [F] (transients).",
)
tile_option = click.option(
    "--tile", type=click.IntRange(min=0), default=0, show_default=True,
    help="Largest physical array, N rows x N column lines (0: one array); a larger core is "
         "compiled to a grid of tiles whose partial currents meet at each neuron.",
)


def array_options(func):
    """--levels, --mismatch, --line-ohm, --column-ohm, --line-c, --tile, passed on to the
    command as one ``array``: their circuit settings (codesign.circuit.settings)."""
    @functools.wraps(func)
    def command(*args, levels, mismatch, line_ohm, column_ohm, line_c, tile, **kwargs):
        array = {"array.levels": levels, "array.mismatch_sigma": mismatch,
                 "array.line_ohm": line_ohm, "array.column_ohm": column_ohm,
                 "array.line_c_f": line_c, "array.tile_rows": tile, "array.tile_columns": tile}
        return func(*args, array=array, **kwargs)

    for option in (tile_option, line_c_option, column_option, line_option, mismatch_option,
                   levels_option):
        command = option(command)
    return command


dc_gain_option = click.option(
    "--dc-gain", type=float, default=None, help="Op-amp DC gain A0 [V/V] (opamp default 1e5)."
)
gbw_option = click.option("--gbw", type=float, default=None, help="Op-amp gain-bandwidth [Hz].")
offset_option = click.option("--offset", type=float, default=None, help="Op-amp offset [V].")
unstable_option = click.option(
    "--allow-unstable", is_flag=True,
    help="Run a core whose W is not a contraction (||W||_2 >= 1); results may not be unique.",
)
force_option = click.option(
    "--force", is_flag=True,
    help="Take on a job larger than this machine should (by codesign's estimate of its memory, "
         "samples or SPICE jobs), instead of refusing it with the estimate.",
)
backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), default="process", show_default=True,
    help="process: ngspice -b child processes on all cores; shared: libngspice via PySpice.",
)
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=1, show_default=True,
    help="torch CPU threads (ngspice uses the cores meanwhile).",
)
workers_option = click.option(
    "--workers", type=click.IntRange(min=1), default=None,
    help="ngspice processes at once (default: all cores).",
)


def timeout_option(default: float, what: str = "ngspice process",
                   then: str = "the run stops with an error"):
    """--timeout [s]: the wall-clock limit of each ngspice run, enforced by killing it."""
    return click.option(
        "--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True, max=MAX_TIMEOUT_S),
        default=default, show_default=True,
        help=f"Seconds one {what} may run before it is killed; {then}.")


set_option = click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE",
    help="Any circuit setting by its dotted path, applied last (repeatable), e.g. --set "
         "neuron.opamp.gbw_hz=1e7 --set converters.adc_bits=6; `codesign info --settings` "
         "lists them.")


def circuit_from_options(neuron: str, dc_gain=None, gbw=None, offset=None,
                         array: dict | None = None, sets: tuple[str, ...] = ()) -> CircuitConfig:
    """The circuit of ``neuron`` with the op-amp and array options of the command line, then
    the ``--set`` assignments (codesign.circuit.settings: the one way settings become a
    circuit)."""
    changes = dict(array or {})
    for key, value in (("neuron.opamp.dc_gain", dc_gain), ("neuron.opamp.gbw_hz", gbw),
                       ("neuron.opamp.offset_v", offset)):
        if value is not None:
            changes[key] = value
    return override(build_circuit(neuron, changes), assignments(sets), "--set")


def simulator_from_options(backend: str, workers: int | None, timeout_s: float,
                           scheduler: str | None = None):
    """The simulator of --backend, --workers and --timeout, or the Dask cluster of
    --scheduler."""
    from codesign.simulator import get_simulator  # deferred with the backends it loads

    if scheduler:
        # deferred: dask.distributed takes a second to import
        from codesign.simulator.cluster import DaskSimulator

        return DaskSimulator(scheduler, timeout_s=timeout_s)
    options = {"timeout_s": timeout_s, **({"workers": workers} if workers else {})}
    return get_simulator(backend, **options)


scheduler_option = click.option(
    "--scheduler", default=None, metavar="tcp://HOST:PORT",
    help="Run ngspice on this Dask cluster's workers (`dask scheduler`, `dask worker "
         "ADDRESS`; each needs codesign and ngspice) instead of local processes.")


def load_checked_source(path: Path, allow_unstable: bool, force: bool = False):
    """(core, checkpoint or None) of a checkpoint or bare core; a non-contractive one is
    refused unless allowed."""
    from codesign.deq.checkpoint import load_source  # deferred: imports torch

    core, ckpt = load_source(path, force)
    core.check_contraction(allow_unstable)
    return core, ckpt
