"""Options shared by several commands, and the helpers that turn them into library objects."""

from __future__ import annotations

from pathlib import Path

import click

from codesign.checkpoint import Checkpoint, load_source
from codesign.circuit.config import NEURON_LEVELS, CircuitConfig, circuit_config
from codesign.deq.weights import CoreWeights
from codesign.simulator import BACKENDS

source_argument = click.argument(
    "source", type=click.Path(dir_okay=False, path_type=Path), metavar="CKPT|CORE.npz"
)
neuron_option = click.option(
    "--neuron", type=click.Choice(list(NEURON_LEVELS)), default="opamp", show_default=True,
    help="Neuron fidelity level: ideal (behavioural) or opamp (single-pole macromodel).",
)
dc_gain_option = click.option(
    "--dc-gain", type=float, default=None, help="Op-amp DC gain A0 [V/V] (opamp default 1e5)."
)
gbw_option = click.option("--gbw", type=float, default=None, help="Op-amp gain-bandwidth [Hz].")
offset_option = click.option("--offset", type=float, default=None, help="Op-amp offset [V].")
unstable_option = click.option(
    "--allow-unstable", is_flag=True,
    help="Run a core whose W is not a contraction (||W||_2 >= 1); results may not be unique.",
)
backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), default="process", show_default=True,
    help="process: ngspice -b child processes on all cores; shared: libngspice via PySpice.",
)
workers_option = click.option(
    "--workers", type=click.IntRange(min=1), default=None,
    help="ngspice processes at once (default: all cores).",
)


def circuit_from_options(neuron: str, dc_gain, gbw, offset) -> CircuitConfig:
    """The circuit config of ``neuron`` with any op-amp overrides given on the command line."""
    overrides = {
        key: value
        for key, value in (("dc_gain", dc_gain), ("gbw_hz", gbw), ("offset_v", offset))
        if value is not None
    }
    return circuit_config(neuron, **overrides)


def load_checked_source(path: Path, allow_unstable: bool) -> tuple[CoreWeights, Checkpoint | None]:
    """Load a checkpoint or bare core and refuse a non-contractive one unless allowed."""
    core, ckpt = load_source(path)
    core.check_contraction(allow_unstable)
    return core, ckpt
