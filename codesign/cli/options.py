"""Options shared by several commands, and the helpers that turn them into library objects.
Light on purpose: nothing here imports torch (``codesign --help`` must start fast).

Defaults that differ between commands, and why (each option's help says so too):

======================  ==========================================================
``--neuron``            opamp (export, verify, noise: the macromodel, the quick check that
                        the compiled core computes the model); transistor (loop: the level
                        no closed form gives, what the loop's calibration is for; `make
                        demo`); cmos only (design: the sky130 neuron is what is designed)
``--task``              digits (train, design); control (loop: `make demo`)
``--mismatch``          0 (export, verify: the trained weights exactly); 0.05 (loop,
                        design: a realistic chip, what physics-aware training is for)
``--timeout``           30 s for `ngspice -v` (export, info); 300 s per SPICE job where a
                        time-out is recorded and the run carries on (calibrate, design);
                        600 s per ngspice run where a time-out stops the run (verify, loop,
                        noise)
``--threads``           1 torch thread (train, loop, design)
``--dac/adc-bits``      8 (export, verify, loop: the circuit default)
======================  ==========================================================
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from codesign.circuit.config import NEURON_LEVELS, CircuitConfig
from codesign.circuit.settings import assignments, build_circuit, override
from codesign.jobs import MAX_TIMEOUT_S, ProgressLines
from codesign.simulator import BACKENDS
from codesign.tasks import TASKS

source_argument = click.argument(
    "source", type=click.Path(dir_okay=False, path_type=Path), metavar="CKPT|CORE.npz"
)
neuron_option = click.option(
    "--neuron", type=click.Choice(list(NEURON_LEVELS)), default="opamp", show_default=True,
    help="Neuron fidelity level: ideal (behavioural), opamp (single-pole macromodel), "
         "transistor (BJT differential-pair activation after the op-amp) or cmos (sky130 "
         "Miller OTA and MOS-pair activation). Default opamp here, the macromodel, quick to "
         "simulate; `codesign loop` defaults to transistor and `codesign design` designs cmos.",
)
levels_option = click.option(
    "--levels", type=click.IntRange(min=0), default=0, show_default=True,
    help="Conductance levels over the window (0: continuous).",
)
mismatch_option = click.option(
    "--mismatch", type=click.FloatRange(0, 0.5, max_open=True), default=0.0, show_default=True,
    help="Relative programming error sigma per device (drawn with --seed). Default 0 here: "
         "the trained weights exactly; `codesign loop` and `codesign design` default to 0.05, "
         "a realistic chip.",
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


dac_bits_option = click.option(
    "--dac-bits", type=click.IntRange(0, 16), default=8, show_default=True,
    help="Bits of the core's input DACs (0: ideal converters, neither quantized nor charged); "
         "the energy per inference includes their conversions.")
adc_bits_option = click.option(
    "--adc-bits", type=click.IntRange(0, 16), default=8, show_default=True,
    help="Bits of the neuron outputs' ADCs (0: ideal converters, neither quantized nor "
         "charged); the energy per inference includes their conversions.")


def converter_options(func):
    """--dac-bits and --adc-bits, passed on to the command as one ``converters``: their
    circuit settings (converters.dac_bits, converters.adc_bits)."""
    @functools.wraps(func)
    def command(*args, dac_bits, adc_bits, **kwargs):
        converters = {"converters.dac_bits": dac_bits, "converters.adc_bits": adc_bits}
        return func(*args, converters=converters, **kwargs)

    return dac_bits_option(adc_bits_option(command))


dc_gain_option = click.option(
    "--dc-gain", type=float, default=None,
    help="Op-amp DC gain A0 [V/V] (default: the level's, opamp and transistor 1e5, ideal 1e9); "
         "not a setting of the cmos level, whose OTA's transistors set its gain.")
gbw_option = click.option(
    "--gbw", type=float, default=None,
    help="Op-amp gain-bandwidth [Hz] (default: the level's, opamp and transistor 1e8); the "
         "opamp and transistor levels only.")
offset_option = click.option(
    "--offset", type=float, default=None,
    help="Op-amp input offset [V] (default 0); the opamp and transistor levels only.")

NOT_AT_LEVEL = {
    "cmos": {"dc_gain": "the sky130 OTA's transistors set its gain",
             "gbw": "the sky130 OTA's transistors set its bandwidth",
             "offset": "the sky130 OTA's transistors set its offset"},
    "ideal": {"gbw": "the ideal amplifier has no bandwidth",
              "offset": "the ideal amplifier has no offset"},
}
"""Op-amp options a neuron level's SPICE circuit does not read, and why (only the closed-form
prediction z_model would use them)."""


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr."""
    click.echo(f"warning: {message}", err=True)


def given(name: str) -> bool:
    """Whether the running command's parameter ``name`` was set on the command line (or by
    an environment variable) rather than left at its default."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    return ctx.get_parameter_source(name) in (click.core.ParameterSource.COMMANDLINE,
                                              click.core.ParameterSource.ENVIRONMENT)


def warn_unused(name: str, option: str, why: str) -> None:
    """A warning line when ``option`` (parameter ``name``) was given where it has no effect."""
    if given(name):
        warn(f"{option} does not apply here ({why}): ignored")


def warn_level_options(neuron: str, **values) -> None:
    """A warning line for each op-amp option given (not None) that ``neuron``'s circuit
    ignores (NOT_AT_LEVEL)."""
    for name, value in values.items():
        why = NOT_AT_LEVEL.get(neuron, {}).get(name)
        if value is not None and why:
            option = "--" + name.replace("_", "-")
            warn(f"{option} does not apply to --neuron {neuron} ({why}): ignored by SPICE")


def resolution_warning(metric, target: float, samples: int, task: str,
                       option: str = "--samples") -> str | None:
    """The warning when ``samples`` test samples cannot resolve ``task``'s ``target`` (the
    allowed gap to the digital DEQ, a fraction): an accuracy (a Metric with ``percent``) moves
    in steps of 1/samples, and a step above the target means one sample decides the verdict.
    None when the samples resolve it, and for metrics that are not counts of samples
    (regression errors, control costs)."""
    if not getattr(metric, "percent", False) or samples < 1 or not target > 0:
        return None
    step = 1.0 / samples
    if step <= target * (1 + 1e-9):
        return None
    return (f"with {option} {samples} the {task} task's {metric.name} moves in steps of "
            f"{100 * step:.3g} points, coarser than its {100 * target:g}-point target (one "
            f"sample decides it); use {option} >= {math.ceil(1 / target - 1e-9)} to resolve it")


def warn_resolution(metric, target: float, samples: int, task: str,
                    option: str = "--samples") -> None:
    """:func:`resolution_warning` on stderr, if there is one."""
    message = resolution_warning(metric, target, samples, task, option)
    if message:
        warn(message)


def task_outline(name: str):
    """(metric, profile) of the task called ``name`` without loading its data (some tasks
    take a minute to generate): its loader's return type and default profile; None where a
    loader does not declare them."""
    loader = TASKS.get(name)
    try:
        profile = inspect.signature(loader).parameters["profile"].default
        metric = typing.get_type_hints(loader)["return"].metric
    except (KeyError, TypeError, ValueError, AttributeError, NameError):
        return None
    return (metric, profile) if hasattr(profile, "target") else None


def terminal() -> bool:
    """Whether stdout is a terminal (else: a log, a pipe, CI)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(label: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """``update(k)`` for ``total`` units of work: a progress bar on a terminal, else plain
    lines at least every jobs.PROGRESS_INTERVAL_S (nohup, CI)."""
    if terminal():
        with click.progressbar(length=total, label=label) as bar:
            yield bar.update
        return
    with ProgressLines(label, total, click.echo, unit) as lines:
        yield lines.update


@contextlib.contextmanager
def log_lines(label: str) -> Iterator[Callable[[str], None]]:
    """The log function of a long command (loop, design): click.echo, and without a terminal
    also a "still running" line whenever jobs.PROGRESS_INTERVAL_S passed without a line."""
    if terminal():
        yield click.echo
        return
    with ProgressLines(label, None, click.echo) as lines:
        yield lines.note


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
encoder_option = click.option(
    "--encoder", type=click.Choice(["linear-tanh", "none"]), default="linear-tanh",
    show_default=True,
    help="linear-tanh: a digital layer before the DACs; none: the task's features straight to "
         "the DACs (core inputs = features, no digital encoder MACs).")
decoder_option = click.option(
    "--decoder", type=click.Choice(["linear", "per-neuron"]), default="linear",
    show_default=True,
    help="linear: a digital layer after the ADCs; per-neuron: each neuron is one output (a gain "
         "and offset each; core size = the task's outputs).")
GAMMA = 0.9
"""--gamma's default: codesign.deq.model.DEFAULT_GAMMA (not imported: it loads torch;
tests/test_gamma.py checks they agree)."""
gamma_option = click.option(
    "--gamma", type=float, default=GAMMA, show_default=True,
    help="Contraction bound ||W||_2 <= gamma < 1. The circuit's slowest mode decays at "
         "(1 - gamma) / tau: a lower gamma settles faster (less energy per inference) and may "
         "cost accuracy.")
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=1, show_default=True,
    help="torch CPU threads. One by default: torch's own default, a thread per core, is often "
         "several times slower on a small or shared machine (where ngspice or other jobs use "
         "the cores); raise it on an idle machine with many cores.",
)
workers_option = click.option(
    "--workers", type=click.IntRange(min=1), default=None,
    help="ngspice processes at once (default: all cores).",
)


RUN_TIMEOUT_S = 600.0
"""Default --timeout of the commands a time-out stops (verify, loop, noise) [s]."""
JOB_TIMEOUT_S = 300.0
"""Default --timeout of the commands that record a timed-out job and carry on (calibrate,
design): one hung job costs at most this [s]."""
PROBE_TIMEOUT_S = 30.0
"""Default --timeout of `ngspice -v` alone (export, info) [s]."""


def timeout_option(default: float, what: str = "ngspice process",
                   then: str = "the run stops with an error"):
    """--timeout [s]: the wall-clock limit of each ngspice run, enforced by killing it; the
    help says what happens then."""
    return click.option(
        "--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True, max=MAX_TIMEOUT_S),
        default=default, show_default=True,
        help=f"Seconds one {what} may run before it is killed; then {then}.")


set_option = click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE",
    help="Any circuit setting by its dotted path, applied last (repeatable), e.g. --set "
         "neuron.opamp.gbw_hz=1e7 --set converters.adc_bits=6; `codesign info --settings` "
         "lists them.")


def circuit_from_options(neuron: str, dc_gain=None, gbw=None, offset=None,
                         array: dict | None = None, sets: tuple[str, ...] = (),
                         converters: dict | None = None) -> CircuitConfig:
    """The circuit of ``neuron`` with the op-amp, array and converter options of the command
    line, then the ``--set`` assignments (codesign.circuit.settings: the one way settings
    become a circuit). Op-amp options the level's circuit ignores get a warning line."""
    warn_level_options(neuron, dc_gain=dc_gain, gbw=gbw, offset=offset)
    changes = {**(array or {}), **(converters or {})}
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
