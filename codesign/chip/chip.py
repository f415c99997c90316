"""Chip: one compiled instance of a core, the object every SPICE use goes through.

Compiled once from a core, a circuit config and a seed (which draws its device mismatch), a
chip holds its conductances (``circuit``) and its deck, written once for the simulator it runs
on. It simulates operating points and transients for inputs (resuming from a result store when
given one), predicts its equilibrium in closed form and with the proxy, exports itself as a
self-contained ngspice deck, and keeps every run it did (``runs``, ``traces()``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from codesign.chip.export import export_chip
from codesign.circuit.compile import compile_core
from codesign.circuit.config import CircuitConfig
from codesign.circuit.converters import adc_np, dac_np
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import SETTLE_TOL_FS, transient_stops_s
from codesign.circuit.network import NetworkCircuit, compile_network, predict_network
from codesign.circuit.predict import CircuitPrediction, predict_equilibrium
from codesign.deq.grid import GridWeights
from codesign.deq.network import NetworkWeights
from codesign.deq.weights import CoreWeights, real_array
from codesign.errors import InputError, UnstableCoreError
from codesign.limits import check_size
from codesign.netlist.deck import Analysis, Deck, SampleJob, check_analysis, make_jobs
from codesign.netlist.spice import write_deck, write_network_deck
from codesign.parts import chip_parts
from codesign.proxy.crossbar import EffectiveCore, from_circuit
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import ProxyParams
from codesign.simulator.base import Simulator
from codesign.simulator.ngspice import NgspiceInstall
from codesign.simulator.store import (
    ResultStore,
    deck_sha256,
    sample_key,
    state_arrays,
    state_from,
)
from codesign.simulator.traces import SampleState, TransientMetrics, run_states

Seed = int | Sequence[int] | None
"""What numpy.random.default_rng takes; None draws nothing (no mismatch allowed)."""
Progress = Callable[[int], None]


@dataclass(frozen=True, eq=False)
class ChipRun:
    """One simulation of a chip: its inputs and the states ngspice returned (units of FS)."""

    analysis: Analysis
    e: np.ndarray
    """(K, m) core inputs."""
    z: np.ndarray
    """(K, n) activations at the operating point."""
    x: np.ndarray
    """(K, n) pre-activations (op-amp outputs) at the operating point."""
    run_dir: Path
    transients: tuple[TransientMetrics, ...] = ()
    """Per sample, for a transient run."""
    t_stop_s: np.ndarray | None = None
    """(K,) the transient lengths used."""


class Chip:
    """One compiled instance of ``core`` on the circuit ``config``, mismatch drawn from ``seed``.

    ``simulator`` (optional: a chip can be compiled, predicted and exported without ngspice)
    runs it; the deck is written for it once (KLU where it has KLU; ``klu`` overrides, for a
    deck run elsewhere). ``force`` compiles a core larger than this machine should take on
    (codesign.limits). A core whose W is not a contraction (||W||_2 >= 1: the circuit may have
    several or no stable equilibria) is refused with UnstableCoreError, as `codesign verify`
    and `codesign export` refuse it, unless ``allow_unstable`` (their ``--allow-unstable``).

    A NetworkWeights core compiles to a Kirchhoff network (codesign.circuit.network) with its
    own deck (codesign.netlist.spice.write_network_deck); it has operating points only (no
    dynamics, proxy or export), and where it switches half-edges its inputs, predictions and
    operating points take the bits of every sample (``bits``, (K, G, G)), swept with the DACs.
    """

    def __init__(self, core: CoreWeights | GridWeights | NetworkWeights, config: CircuitConfig,
                 seed: Seed = 0,
                 simulator: Simulator | None = None, *, klu: bool | None = None,
                 title: str = "codesign crossbar equilibrium core", force: bool = False,
                 allow_unstable: bool = False) -> None:
        _check_parts(core, config, simulator)
        if isinstance(core, NetworkWeights):
            self._init_network(core, config, seed, simulator, klu, force)
            return
        check_stable(core, allow_unstable)
        check_size(core.n, core.m, getattr(simulator, "workers", 1), force,
                   chip_parts(config).sky130_transistors_per_neuron(core.n, core.m),
                   _positions(core))
        self.core = core
        self.config = config
        self.seed = seed
        self.simulator = simulator
        self.allow_unstable = bool(allow_unstable)
        rng = None if seed is None else np.random.default_rng(seed)
        self.circuit = compile_core(core, config, rng)
        if klu is None:
            klu = bool(simulator and simulator.info.klu)
        self.klu = klu
        """Whether the deck solves with KLU (``.options klu``)."""
        self.deck: Deck = write_deck(self.circuit, klu=klu, title=title)
        self.runs: list[ChipRun] = []

    def _init_network(self, core: NetworkWeights, config: CircuitConfig, seed: Seed,
                      simulator: Simulator | None, klu: bool | None, force: bool) -> None:
        """A network core's chip (a passive network: stable by construction)."""
        check_size(core.n, core.m, getattr(simulator, "workers", 1), force, 0,
                   core.device_count())
        self.core, self.config, self.seed, self.simulator = core, config, seed, simulator
        self.allow_unstable = False
        rng = None if seed is None else np.random.default_rng(seed)
        self.circuit = compile_network(core, config, rng)
        if klu is None:
            klu = bool(simulator and simulator.info.klu)
        self.klu = klu
        self.deck = write_network_deck(self.circuit, klu=klu)
        self.runs = []

    @property
    def network(self) -> bool:
        """Whether this chip is a Kirchhoff network core (NetworkWeights)."""
        return isinstance(self.circuit, NetworkCircuit)

    def _op_only(self, what: str) -> None:
        if self.network:
            raise InputError(f"{what}: a network core has operating points only (no dynamics "
                             "model); use operating_points")

    def _crossbar_only(self, what: str) -> None:
        if self.network:
            raise InputError(f"{what} needs a crossbar core; a network core has operating "
                             "points and predictions only")
        self.circuit.dense_only(what)

    @classmethod
    def from_circuit(cls, core: CoreWeights, circuit: CrossbarCircuit,
                     simulator: Simulator | None = None, *,
                     title: str = "codesign crossbar equilibrium core",
                     allow_unstable: bool = False) -> Chip:
        """A chip of an instance compiled elsewhere (edited, or programmed from measured
        conductances): ``circuit`` as it is, ``core`` the weights it stands for (refused, like
        the constructor's, unless a contraction or ``allow_unstable``)."""
        check_stable(core, allow_unstable)
        chip = cls.__new__(cls)
        chip.core, chip.config, chip.seed, chip.simulator = core, circuit.config, None, simulator
        chip.allow_unstable = bool(allow_unstable)
        chip.circuit = circuit
        chip.klu = bool(simulator and simulator.info.klu)
        chip.deck = write_deck(circuit, klu=chip.klu, title=title)
        chip.runs = []
        return chip

    @property
    def n(self) -> int:
        return self.core.n

    @property
    def m(self) -> int:
        return self.core.m

    @property
    def v_fs(self) -> float:
        return self.circuit.v_fs

    def inputs(self, e: np.ndarray, bits: np.ndarray | None = None) -> np.ndarray:
        """``e`` checked as (K, m) finite float64 core inputs; for a network chip that switches
        half-edges, with each sample's ``bits`` (K, G, G) appended as 0/1 columns (K, m + G^2):
        the deck's input sources."""
        if self.network:
            e = real_array(e, "core inputs")
            e = e[None] if e.ndim == 1 else e
            if e.ndim != 2 or e.shape[1] != self.m or not np.isfinite(e).all():
                raise InputError(f"network inputs must be finite (samples, {self.m}), got "
                                 f"{e.shape}")
            b = self.circuit.check_bits(bits, len(e))
            return np.ascontiguousarray(e if b is None else np.concatenate([e, b], axis=1))
        if bits is not None:
            raise InputError("bits switch a network core's half-edges; this core has none")
        if isinstance(self.core, GridWeights):
            e = real_array(e, "core inputs")
            return np.ascontiguousarray(self.core.fields(e[None] if e.ndim == 1 else e)
                                        .reshape(-1, self.m))
        return self.core.check_inputs(e)

    # --- predictions -------------------------------------------------------------------------

    def dac(self, e: np.ndarray) -> np.ndarray:
        """Core inputs (K, m) [FS] as this chip's input DACs set them."""
        if self.network:
            bits = np.zeros(self.circuit.points, bool) if self.circuit.switched else None
            return dac_np(self.inputs(e, bits)[:, :self.m], self.config.converters)
        return dac_np(self.inputs(e), self.config.converters)

    def adc(self, z: np.ndarray) -> np.ndarray:
        """Neuron outputs (K, n) [FS] as this chip's ADCs read them."""
        return adc_np(z, self.config.converters)

    def prediction(self, e: np.ndarray, bits: np.ndarray | None = None) -> CircuitPrediction:
        """The closed-form equilibrium of this instance (finite gain, offsets, rails; a network
        chip: its KCL solved with its element values, for ``bits`` where it switches)."""
        if self.network:
            return predict_network(self.circuit, self.inputs(e, bits)[:, :self.m], bits)
        return predict_equilibrium(self.circuit, self.inputs(e))

    @cached_property
    def effective(self) -> EffectiveCore:
        """This instance's exact conductances as the proxy's crossbar."""
        self._crossbar_only("the proxy")
        return from_circuit(self.circuit)

    def proxy_equilibrium(self, params: ProxyParams, e: np.ndarray) -> np.ndarray:
        """The proxy's z* (K, n) [FS] for this instance."""
        return CircuitProxy(params, self.v_fs).predict(self.effective, self.inputs(e))

    def proxy_trajectory(self, params: ProxyParams, e: np.ndarray,
                         times_s: np.ndarray) -> np.ndarray:
        """The proxy's z(t) (K, P, n) [FS] from the reset, at ``times_s`` (P,)."""
        e = self.inputs(e)
        times = torch.from_numpy(np.asarray(times_s, float))[None].expand(len(e), -1)
        with torch.no_grad():
            return CircuitProxy(params, self.v_fs).trajectory(
                self.effective, torch.from_numpy(e), times).numpy()

    def export(self, out_dir: Path, *, ngspice: NgspiceInstall | None = None,
               inputs: np.ndarray | None = None, source: str = "",
               settle_tol_fs: float = SETTLE_TOL_FS) -> dict:
        """Write this instance as a deck that runs by itself (codesign.chip.export)."""
        self._crossbar_only("export")
        return export_chip(self, out_dir, ngspice=ngspice, inputs=inputs, source=source,
                           settle_tol_fs=settle_tol_fs)

    # --- SPICE ------------------------------------------------------------------------------

    @cached_property
    def _deck_sha256(self) -> str:
        return deck_sha256(self.deck)

    def _key(self, job: SampleJob, analysis: Analysis, tol_fs: float) -> str:
        return sample_key(self._deck_sha256, analysis, job, tol_fs, self.deck.noise is not None)

    def _states(self, e: np.ndarray, analysis: Analysis, run_dir: Path,
                t_stop_s: np.ndarray | None, tol_fs: float, progress: Progress | None,
                store: ResultStore | None, keep: bool = False) -> list[SampleState]:
        """One state per row of ``e``: from ``store`` where it holds the sample, else from
        ngspice (stored as each sample arrives, so a killed run keeps what it finished)."""
        if self.simulator is None:
            raise InputError("this chip has no simulator; compile it with simulator=...")
        jobs = make_jobs(e, t_stop_s)
        keys = [self._key(job, analysis, tol_fs) for job in jobs] if store is not None else []
        states: list[SampleState | None] = [None] * len(jobs)
        for job, key in zip(jobs, keys, strict=False):  # no keys without a store
            arrays = None if keep else store.get(key)
            if arrays is not None:
                states[job.index] = state_from(job.index, arrays)
        if progress and len(jobs) - sum(s is None for s in states):
            progress(len(jobs) - sum(s is None for s in states))
        todo = [job for job in jobs if states[job.index] is None]
        if todo:
            for state in run_states(self.simulator, self.deck, todo, analysis, run_dir, tol_fs,
                                    keep):
                states[state.index] = state
                if store is not None:
                    store.save(keys[state.index], state_arrays(state))
                if progress:
                    progress(1)
        return states

    def simulate(self, e: np.ndarray, analysis: str, run_dir: Path,
                 t_stop_s: np.ndarray | float | None = None, tol_fs: float = SETTLE_TOL_FS,
                 progress: Progress | None = None,
                 store: ResultStore | None = None, bits: np.ndarray | None = None) -> ChipRun:
        """Every row of ``e`` through ngspice: the operating point, and for ``tran`` a
        transient of length ``t_stop_s`` from reset; the run is kept (``runs``). ``bits``: a
        switched network chip's bits per sample (K, G, G)."""
        e = self.inputs(e, bits)
        analysis = check_analysis(analysis)
        if self.network and analysis != Analysis.OP:
            raise InputError("a network core has operating points only (no dynamics model); "
                             "use operating_points")
        states = self._states(e, analysis, Path(run_dir), None if t_stop_s is None else
                              np.broadcast_to(np.asarray(t_stop_s, float), len(e)),
                              tol_fs, progress, store)
        return self._record(analysis, e, states, Path(run_dir), t_stop_s)

    def operating_points(self, e: np.ndarray, run_dir: Path, progress: Progress | None = None,
                         store: ResultStore | None = None,
                         bits: np.ndarray | None = None) -> ChipRun:
        """The equilibria (``.op``) of every row of ``e`` (with ``bits`` (K, G, G) for a
        network chip that switches half-edges)."""
        return self.simulate(e, Analysis.OP, run_dir, progress=progress, store=store,
                             bits=bits)

    def transients(self, e: np.ndarray, run_dir: Path, tol_fs: float = SETTLE_TOL_FS,
                   progress: Progress | None = None, store: ResultStore | None = None,
                   prediction: CircuitPrediction | None = None) -> ChipRun:
        """``.op`` and a transient from reset per row of ``e``, sized by the linearised decay
        estimate (from ``prediction``, the chip's closed-form equilibrium of ``e``, computed
        when not given); samples not settled by then run again up to the contraction's
        bound."""
        self._op_only("transients")
        e = self.inputs(e)
        plans = transient_stops_s(self.circuit, prediction or self.prediction(e), tol_fs)
        used = plans[0].copy()
        states: list[SampleState | None] = [None] * len(e)
        todo = np.arange(len(e))
        for attempt, stops in enumerate(plans):
            part = self._states(e[todo], Analysis.TRAN, Path(run_dir) / f"tran-{attempt}",
                                stops[todo], tol_fs, progress if attempt == 0 else None, store)
            for k, state in zip(todo, part, strict=True):
                states[k] = state
            used[todo] = stops[todo]
            todo = np.array([k for k in todo
                             if not math.isfinite(states[k].transient.settling_time_s)], int)
            if len(todo) == 0:
                break
        return self._record(Analysis.TRAN, e, states, Path(run_dir), used)

    def noisy_equilibria(self, e: np.ndarray, repeats: int, run_dir: Path,
                         stretch: float = 2.0) -> np.ndarray:
        """(repeats, K, n): the activations [FS] at the end of ``repeats`` noisy transients per
        row of ``e``, each ``stretch`` times its estimated settling time from the reset, each
        with its own noise (the circuit config must enable noise). Each trace is reduced to its
        end as it arrives, so memory does not grow with the number of transients."""
        if not self.config.noise.enabled:
            raise InputError("noisy equilibria need a circuit with noise enabled "
                             "(CircuitConfig.noise)")
        self._op_only("noisy equilibria")
        if self.simulator is None:
            raise InputError("this chip has no simulator; compile it with simulator=...")
        if type(repeats) is not int or repeats < 1:
            raise InputError(f"repeats must be a whole number >= 1, got {repeats!r}")
        e = self.inputs(e)
        stops = stretch * transient_stops_s(self.circuit, self.prediction(e), SETTLE_TOL_FS)[0]
        jobs = make_jobs(np.repeat(e, repeats, axis=0), np.repeat(stops, repeats))
        ends = np.empty((len(jobs), self.n))
        for result in self.simulator.run(self.deck, jobs, Analysis.TRAN, Path(run_dir)):
            ends[result.index] = [result.tran.vectors[name][-1] for name in self.deck.z_vectors]
        return (ends / self.v_fs).reshape(len(e), repeats, self.n).transpose(1, 0, 2)

    def trace(self, e_row: np.ndarray, run_dir: Path, stretch: float = 1.5,
              tol_fs: float = SETTLE_TOL_FS) -> tuple[np.ndarray, np.ndarray]:
        """One transient from reset, ``stretch`` times the estimated settling time: (time (P,)
        [s], z (P, n) [FS]), every time point the simulator wrote."""
        self._op_only("a trace")
        e = self.inputs(np.asarray(e_row)[None] if np.ndim(e_row) == 1 else e_row)[:1]
        stop = transient_stops_s(self.circuit, self.prediction(e), tol_fs)[0]
        (state,) = self._states(e, Analysis.TRAN, Path(run_dir), stretch * stop, tol_fs, None,
                                None, keep=True)
        self._record(Analysis.TRAN, e, [state], Path(run_dir), stretch * stop)
        trace = state.result.tran
        z = np.stack([trace.vectors[name] for name in self.deck.z_vectors], 1) / self.v_fs
        return trace.time, z

    def _record(self, analysis: Analysis, e: np.ndarray, states: list[SampleState],
                run_dir: Path, t_stop_s) -> ChipRun:
        transients = tuple(s.transient for s in states) if analysis == Analysis.TRAN else ()
        run = ChipRun(analysis, e, np.stack([s.z for s in states]),
                      np.stack([s.x for s in states]), run_dir, transients,
                      None if t_stop_s is None else np.broadcast_to(
                          np.asarray(t_stop_s, float), len(e)).copy())
        self.runs.append(run)
        return run

    def traces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(e, z, x) of every sample this chip simulated, in order: what a calibration fits."""
        if not self.runs:
            raise InputError("this chip has not been simulated yet")
        return tuple(np.concatenate([getattr(r, name) for r in self.runs])
                     for name in ("e", "z", "x"))


def check_stable(core, allow_unstable: bool = False) -> None:
    """UnstableCoreError unless ``core`` is a contraction or ``allow_unstable``: the core's own
    check_contraction, the one the command line runs on every source it loads (codesign.cli:
    ``--allow-unstable``), so the API and the CLI refuse the same cores with the same message."""
    if not isinstance(allow_unstable, bool):
        raise InputError(f"allow_unstable must be True or False, got {allow_unstable!r}")
    check = getattr(core, "check_contraction", None)
    if check is None:
        return
    try:
        check(allow_unstable)
    except UnstableCoreError as exc:
        raise UnstableCoreError(f"{exc} (in Python: allow_unstable=True)") from None


def _check_parts(core: object, config: object, simulator: object) -> None:
    """InputError unless ``core``, ``config`` and ``simulator`` are what a Chip takes."""
    if not isinstance(core, CoreWeights | GridWeights | NetworkWeights):
        raise InputError(f"a Chip's core must be CoreWeights (codesign.random_core, "
                         f"load_source(path)[0], CoreWeights(W, U, b)), GridWeights or "
                         f"NetworkWeights, got "
                         f"{type(core).__name__}")
    if not isinstance(config, CircuitConfig):
        hint = f" (e.g. codesign.circuit_config({config!r}))" if isinstance(config, str) else ""
        raise InputError(f"a Chip's config must be a CircuitConfig{hint}, got "
                         f"{type(config).__name__}")
    if simulator is not None and not callable(getattr(simulator, "run", None)):
        raise InputError(f"a Chip's simulator must be a codesign simulator "
                         f"(codesign.get_simulator()), got {type(simulator).__name__}")


def _positions(core: CoreWeights | GridWeights) -> int | None:
    """A grid core's weight positions (stored entries of [W | U | b]); None for a dense core."""
    if not isinstance(core, GridWeights):
        return None
    r, r_in = core.K.shape[-1] // 2, core.L.shape[-1] // 2
    g = core.grid

    def taps(radius: int) -> int:  # stencil taps inside the grid, summed over its points
        return sum(max(0, g - abs(d)) for d in range(-radius, radius + 1)) ** 2

    c, p = core.channels, core.inputs_per_point
    return c * c * taps(r) + c * p * taps(r_in) + core.n
