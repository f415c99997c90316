"""Subdomain SPICE: a grid chip's compiled circuit solved as overlapping rectangles of its grid,
each an ngspice process of its own, coupled through the voltages of the neurons around them.

The grid (G x G points, c channels) is cut into blocks of ``tile`` x ``tile`` points (the last
row and column of blocks end at the grid's edge); each block, extended by ``overlap`` points on
every side inside the grid, is a subdomain. Its deck is a sub-circuit of the chip's ONE compiled
CrossbarCircuit (the same mismatch draws, the same quantised conductances, nothing recompiled):

    the extended block's neurons, each with its whole row: its W cells from the block's own
    neurons as they are; its W cells from neurons outside the block (the halo) as extra input
    columns, their plus cells driven by -phi_j and their minus cells by +phi_j exactly as in the
    chip, from the DAC drivers set to the halo neurons' current outputs (exact values, no DAC
    quantisation); its U cells and bias cells as they are.

The behavioural driver makes +v and -v copies of its input exactly, as the behavioural
activation does of phi(x_j), so with the halo at the chip's own phi(x_j) every row of the
sub-circuit carries the chip's equations (the parts that are not exact copies are refused).

Iteration: restricted additive Schwarz (Jacobi-style). Every sweep solves all subdomains in
parallel (one executor job each: a local process pool or a Dask cluster) with the halo from the
last sweep; each neuron's new value is taken from the subdomain whose own block holds it. The
sweep whose largest halo change, max |z_halo(k) - z_halo(k - 1)| over all samples, is below
``tolerance_fs`` ends the solve; its values are the result. The first sweep's halo is the
initial guess: zeros (cold) or the circuit's closed-form prediction (warm,
codesign.circuit.predict). A subdomain that fails or returns anything incomplete or non-finite
fails the whole solve in one line, as does a solve that has not converged after
``max_iterations`` sweeps.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.chip.chip import Chip
from codesign.choices import Choice
from codesign.circuit.description import CrossbarCircuit
from codesign.deq.grid import GridWeights
from codesign.errors import CodesignError, InputError, SimulationError
from codesign.jobs import Executor, LocalExecutor, Pool
from codesign.netlist.deck import Analysis, Deck, SampleJob, make_jobs
from codesign.netlist.spice import batch_deck, write_deck
from codesign.parts import chip_parts
from codesign.simulator.ngspice import DEFAULT_TIMEOUT_S, check_timeout
from codesign.simulator.op_job import OperatingPointJob

SCHEME = "restricted additive Schwarz (Jacobi: the subdomains of a sweep run in parallel)"


class InitialGuess(Choice):
    """The halo voltages of the first sweep."""

    ZEROS = "zeros"
    """Cold: every halo neuron at 0."""
    PREDICTION = "prediction"
    """Warm: the chip circuit's closed-form equilibrium (codesign.circuit.predict)."""


def _whole(value: object, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise InputError(f"subdomain {what} must be a whole number >= {least}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class SubdomainConfig:
    """How a grid chip is split and iterated."""

    tile: int = 64
    """Side of each subdomain's own block [grid points]."""
    overlap: int = 4
    """Grid points each block is extended by on every side (inside the grid) [grid points]."""
    tolerance_fs: float = 1e-8
    """The solve ends at the first sweep whose largest halo change is below this [FS]."""
    max_iterations: int = 100
    """Sweeps before the solve fails as not converged."""
    initial: InitialGuess = InitialGuess.ZEROS
    """The first sweep's halo (InitialGuess)."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Wall-clock limit of each subdomain's ngspice run [s]."""

    def __post_init__(self) -> None:
        _whole(self.tile, "tile", 1)
        _whole(self.overlap, "overlap", 0)
        _whole(self.max_iterations, "max_iterations", 1)
        tol = self.tolerance_fs
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not (
                math.isfinite(tol) and tol > 0):
            raise InputError(f"the subdomain tolerance must be a number of FS > 0, got {tol!r}")
        object.__setattr__(self, "initial", InitialGuess.parse(self.initial, "initial guess"))
        check_timeout(self.timeout_s)

    def check(self, grid: int) -> None:
        """InputError unless this config splits a ``grid`` x ``grid`` grid."""
        if self.tile > grid:
            raise InputError(f"the subdomain tile ({self.tile}) is larger than the {grid} x "
                             f"{grid} grid; use a tile of at most {grid} points")


@dataclass(frozen=True, eq=False)
class Subdomain:
    """One rectangle of the grid and the chip's neurons, inputs and halo it holds."""

    index: int
    rows: tuple[int, int]
    """The own block's grid rows [start, stop)."""
    columns: tuple[int, int]
    """The own block's grid columns [start, stop)."""
    extended_rows: tuple[int, int]
    extended_columns: tuple[int, int]
    neurons: np.ndarray
    """Chip neuron indices of the extended block (every channel), ascending: the sub-circuit's
    neurons in this order."""
    owned: np.ndarray
    """Positions in ``neurons`` of the own block's neurons (the values this subdomain gives)."""
    inputs: np.ndarray
    """Chip input columns the extended block's rows take (the sub-circuit's first inputs)."""
    halo: np.ndarray
    """Chip neurons outside the extended block whose cells its rows hold (the sub-circuit's
    last inputs, driven at their outputs)."""

    @property
    def label(self) -> str:
        (r0, r1), (c0, c1) = self.extended_rows, self.extended_columns
        return f"rows {r0}:{r1}, columns {c0}:{c1}"


@dataclass(frozen=True, eq=False)
class SubdomainResult:
    """The chip's operating points from subdomains (units of FS)."""

    z: np.ndarray
    """(K, n) activations of every chip neuron, from the last sweep."""
    x: np.ndarray
    """(K, n) pre-activations (op-amp outputs)."""
    iterations: int
    """Sweeps run (each: every subdomain solved once)."""
    halo_change_fs: tuple[float, ...]
    """Per sweep, the largest change of any halo neuron's output [FS]."""
    seconds: float
    """Wall time of the whole solve: sub-circuits, decks, every sweep [s]."""
    peak_mb: tuple[float, ...]
    """Per subdomain, the largest peak resident memory (VmHWM) of its ngspice process over the
    sweeps, polled from /proc (codesign.simulator.op_job.PeakMemory; NaN where there is none,
    or the runs were too short to see; on a thread pool, the largest ngspice running beside
    it) [MB]."""
    subdomains: tuple[Subdomain, ...]
    initial: InitialGuess
    executor: str
    """Where the sweeps ran (the executor's label)."""
    scheme: str = SCHEME

    @property
    def largest_subdomain(self) -> int:
        """Neurons of the largest subdomain."""
        return max(len(s.neurons) for s in self.subdomains)


def _spans(grid: int, tile: int, overlap: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(own [a, b), extended [a', b')) of each block along one axis."""
    return [((a, min(a + tile, grid)), (max(0, a - overlap), min(grid, a + tile + overlap)))
            for a in range(0, grid, tile)]


def _used_columns(*matrices) -> np.ndarray:
    """Columns holding a non-zero value in any of the CSR ``matrices`` (ascending)."""
    cols = [m.indices[m.data != 0] for m in matrices]
    return np.unique(np.concatenate(cols)) if cols else np.zeros(0, int)


def split_grid(circuit: CrossbarCircuit, grid: int, channels: int, inputs_per_point: int,
               config: SubdomainConfig) -> list[Subdomain]:
    """The subdomains of ``circuit``, a grid core's sparse circuit on a ``grid`` x ``grid``
    grid (neuron i = channel G^2 + row G + column, inputs alike), split as ``config`` says."""
    config.check(grid)
    if circuit.n != channels * grid**2 or circuit.m != inputs_per_point * grid**2:
        raise InputError(f"the circuit has {circuit.n} neurons and {circuit.m} inputs, not a "
                         f"{grid} x {grid} grid of {channels} channels")
    spans = _spans(grid, config.tile, config.overlap)
    subdomains = []
    for rows, ext_rows in spans:
        for cols, ext_cols in spans:
            yy, xx = np.meshgrid(np.arange(*ext_rows), np.arange(*ext_cols), indexing="ij")
            points = (yy * grid + xx).ravel()
            neurons = (np.arange(channels)[:, None] * grid**2 + points[None]).ravel()
            mine = ((yy >= rows[0]) & (yy < rows[1]) & (xx >= cols[0]) & (xx < cols[1])).ravel()
            owned = np.flatnonzero(np.tile(mine, channels))
            w = [g[neurons] for g in (circuit.g_w_plus, circuit.g_w_minus)]
            u = [g[neurons] for g in (circuit.g_u_plus, circuit.g_u_minus)]
            halo = np.setdiff1d(_used_columns(*w), neurons, assume_unique=True)
            subdomains.append(Subdomain(len(subdomains), rows, cols, ext_rows, ext_cols,
                                        neurons, owned, _used_columns(*u), halo))
    return subdomains


def subdomain_circuit(circuit: CrossbarCircuit, sub: Subdomain) -> CrossbarCircuit:
    """The sub-circuit of ``sub``: its neurons' rows of ``circuit`` (element values as they
    are), inputs [the rows' chip inputs | the halo neurons], the halo's W cells as input cells
    (plus cells from -phi_j, minus cells from +phi_j, as in the chip)."""
    # deferred: only a grid core's circuit is sparse (scipy)
    import scipy.sparse as sp

    rows = sub.neurons
    cells = {}
    for side in ("plus", "minus"):
        w = getattr(circuit, f"g_w_{side}")[rows].tocsc()
        u = getattr(circuit, f"g_u_{side}")[rows].tocsc()
        cells[f"g_w_{side}"] = w[:, rows].tocsr()
        cells[f"g_u_{side}"] = sp.hstack([u[:, sub.inputs], w[:, sub.halo]], format="csr")
        cells[f"g_b_{side}"] = np.ascontiguousarray(getattr(circuit, f"g_b_{side}")[rows])
    return CrossbarCircuit(
        config=circuit.config, activation=circuit.activation,
        g_feedback=np.ascontiguousarray(circuit.g_feedback[rows]),
        c_feedback=np.ascontiguousarray(circuit.c_feedback[rows]),
        **cells,
        offset_v=np.ascontiguousarray(circuit.offset_v[rows]),
        weights_sha256=circuit.weights_sha256,
        pair_area=None if circuit.pair_area is None else circuit.pair_area[rows],
        spice_seed=circuit.spice_seed)


def _check_chip(chip: Chip) -> GridWeights:
    """The chip's grid core; InputError where its circuit cannot be split exactly."""
    if not isinstance(chip.core, GridWeights) or not chip.circuit.sparse:
        raise InputError("subdomain SPICE splits a grid core's chip (GridWeights); a dense "
                         "core's chip runs whole (Chip.operating_points)")
    parts = chip_parts(chip.config)
    if parts.driver.name != "behavioural" or parts.activation.name != "behavioural":
        raise InputError(f"subdomain SPICE drives the halo through ideal +/- copies: it needs "
                         f"the behavioural driver and activation, the chip has the "
                         f"{parts.driver.name} driver and the {parts.activation.name} "
                         "activation; use --neuron opamp")
    if chip.circuit.spice_seed is not None:
        raise InputError("this chip draws device mismatch or noise inside ngspice, which each "
                         "subdomain's deck would draw anew; subdomain SPICE needs a chip "
                         "without them")
    return chip.core


def _failure(exc: BaseException, sub: Subdomain, count: int, sweep: int, folder: Path,
             deck: Deck, jobs: list[SampleJob]) -> BaseException:
    """A subdomain's failure as one line (a SimulationError; its deck and ngspice's output
    kept in ``folder``); an exception that is no simulation failure (a bug) as it is."""
    if not isinstance(exc, CodesignError | OSError | ValueError):
        return exc
    reason = exc.reason if isinstance(exc, SimulationError) else f"{type(exc).__name__}: {exc}"
    reason = " ".join(str(reason).split())
    stdout, stderr = (getattr(exc, "stdout", ""), getattr(exc, "stderr", ""))
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "deck.cir").write_text(batch_deck(deck, jobs, Analysis.OP))
        (folder / "stdout.txt").write_text(stdout or "")
        (folder / "stderr.txt").write_text(stderr or "")
    return SimulationError(
        f"subdomain {sub.index + 1} of {count} ({sub.label}) failed in sweep {sweep}, so the "
        f"subdomain solve has no result: {reason}",
        command=getattr(exc, "command", ""), stdout=stdout or "", stderr=stderr or "",
        run_dir=folder)


def solve_subdomains(chip: Chip, e: np.ndarray, run_dir: Path,
                     config: SubdomainConfig | None = None, executor: Executor | None = None,
                     *, executable: str | None = None,
                     progress: Callable[[int, float], None] | None = None) -> SubdomainResult:
    """The operating points of ``chip`` (a grid core's) for core inputs ``e`` (K, m), by
    subdomains (module docstring), each sweep's subdomains as parallel jobs on ``executor``
    (default: a local process pool on all cores; a codesign.jobs.DaskExecutor runs them on a
    cluster). ``executable``: the ngspice the jobs run (default: the workers' own).
    ``progress(sweep, halo change [FS])`` after each sweep. A failing subdomain's deck and
    ngspice's output are kept under ``run_dir``."""
    tick = time.perf_counter()
    config = config or SubdomainConfig()
    core = _check_chip(chip)
    e = chip.inputs(e)
    subs = split_grid(chip.circuit, core.grid, core.channels, core.inputs_per_point, config)
    decks = [write_deck(subdomain_circuit(chip.circuit, sub), klu=chip.klu,
                        title=f"codesign subdomain {sub.index + 1} of {len(subs)}: grid "
                              f"{sub.label} of {core.grid} x {core.grid}")
             for sub in subs]
    executor = executor or LocalExecutor(pool=Pool.FORK)
    pool_worker = isinstance(executor, LocalExecutor) and executor.pool != Pool.THREADS
    solve = OperatingPointJob(executable, config.timeout_s, pool_worker)
    halo = np.unique(np.concatenate([s.halo for s in subs]))
    if config.initial == InitialGuess.PREDICTION:
        z = np.asarray(chip.prediction(e).z, np.float64)
    else:
        z = np.zeros((len(e), chip.n))
    x = np.zeros_like(z)
    changes: list[float] = []
    peak = np.full(len(subs), np.nan)
    for sweep in range(1, config.max_iterations + 1):
        items = [(deck, make_jobs(np.concatenate([e[:, s.inputs], z[:, s.halo]], axis=1)))
                 for s, deck in zip(subs, decks, strict=True)]
        new_z, new_x = np.full_like(z, np.nan), np.full_like(x, np.nan)
        outcomes = executor.map(solve, items, stop_on_error=True)
        with contextlib.closing(outcomes):
            for outcome in outcomes:
                s = subs[outcome.index]
                if outcome.error is not None:
                    raise _failure(outcome.error, s, len(subs), sweep,
                                   Path(run_dir) / f"subdomain-{s.index + 1:03d}",
                                   *items[outcome.index]) from None
                zs, xs, mb = outcome.value
                new_z[:, s.neurons[s.owned]] = zs[:, s.owned]
                new_x[:, s.neurons[s.owned]] = xs[:, s.owned]
                peak[s.index] = np.fmax(peak[s.index], mb)
        if not (np.isfinite(new_z).all() and np.isfinite(new_x).all()):
            raise SimulationError(f"sweep {sweep} left neurons without a value (a subdomain "
                                  "result is missing), so the subdomain solve has no result")
        change = float(np.abs(new_z[:, halo] - z[:, halo]).max()) if len(halo) else 0.0
        z, x = new_z, new_x
        changes.append(change)
        if progress:
            progress(sweep, change)
        if change < config.tolerance_fs:
            return SubdomainResult(z, x, sweep, tuple(changes), time.perf_counter() - tick,
                                   tuple(peak.tolist()), tuple(subs), config.initial,
                                   executor.label)
    raise SimulationError(
        f"the subdomain solve did not converge in {config.max_iterations} sweeps (halo change "
        f"{changes[-1]:.3g} FS, tolerance {config.tolerance_fs:.3g}); raise max_iterations or "
        "the overlap, or start from the prediction")
