"""What a simulation is, as data: the deck of a circuit and the jobs to run on it."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from codesign.choices import Choice


class Analysis(Choice):
    """What ngspice runs per sample."""

    OP = "op"
    """The operating point (the equilibrium)."""
    TRAN = "tran"
    """The operating point, then a transient from reset (settling time, energy)."""



@dataclass(frozen=True)
class NoiseWaves:
    """The deck's noise current sources and how each sample draws their waveforms: white
    Gaussian samples every ``interval_s``, linear in between (what ngspice's TRNOISE makes, whose
    own generator cannot be seeded in ngspice 46), from numpy seeded by (seed, sample index), so
    a sample's noise is the same whichever process or backend runs it."""

    seed: int
    sources: tuple[str, ...]
    nodes: tuple[tuple[str, str], ...]
    """Each source's (from, to) nodes: its current flows from the first into the second."""
    rms_a: tuple[float, ...]
    """Each source's sample rms [A]."""
    interval_s: float

    def waveforms(self, index: int, t_stop_s: float) -> list[tuple[str, np.ndarray]]:
        """(source, flat [t0, i0, t1, i1, ...]) for sample ``index`` up to ``t_stop_s``; each
        starts at 0 A at t = 0, so the operating point before the transient is noiseless."""
        rng = np.random.default_rng([self.seed, index])
        count = int(np.ceil(t_stop_s / self.interval_s)) + 2
        times = np.arange(count) * self.interval_s
        values = rng.standard_normal((len(self.sources), count)) * np.asarray(self.rms_a)[:, None]
        values[:, 0] = 0.0
        return [(name, np.column_stack([times, row]).ravel())
                for name, row in zip(self.sources, values, strict=True)]


@dataclass(frozen=True, eq=False)
class Deck:
    """A netlist of one compiled core, without analyses: the same for every sample.

    Vector names follow the raw file: ``v(node)`` for voltages, ``i(source)`` for currents.
    """

    text: str
    """Netlist body: title line, includes, elements, options, saves (no control, no .end)."""
    n: int
    m: int
    v_fs: float
    """Voltage full scale [V]."""
    input_sources: tuple[str, ...]
    """Names of the m DAC sources (current sources into INPUT_OHM), set per sample with
    ``alter``."""
    z_vectors: tuple[str, ...]
    """v(zp_i): the activations phi(x_i) in volts, the core's state."""
    x_vectors: tuple[str, ...]
    """v(x_i): the pre-activations (op-amp outputs) in volts."""
    core_supplies: dict[str, float]
    """Supply sources of the neurons: name -> voltage [V]."""
    input_supplies: dict[str, float]
    """Supply sources of the input DACs and bias reference: name -> voltage [V]."""
    activation_supplies: dict[str, float] = field(default_factory=dict)
    """The part of core_supplies that feeds only the activations (the CMOS level's vdda,
    vssa; empty where they share the amplifiers' rails)."""
    bias_supplies: dict[str, float] = field(default_factory=dict)
    """The part of core_supplies that feeds only the bias reference, where the deck holds it
    (vddb, vssb; empty otherwise)."""
    analysis_options: dict[str, str] = field(default_factory=dict)
    """Simulator options set before each analysis of a kind ('op', 'tran'), e.g. a looser
    reltol for transients whose settling is judged to an ADC's resolution (empty: the deck's
    own .options throughout)."""
    setup: tuple[str, ...] = ()
    """Interactive commands run once after loading the deck, before any sample."""
    reference_vector: str = ""
    """v(node) of the bias reference's output, which a solved deck holds at +v_fs: a result
    without it there was not computed from this deck."""
    input_vectors: tuple[str, ...] = ()
    """v(node) of each DAC source, which holds the sample's input e_k * v_fs."""
    tran_uic: bool = True
    """Transients start from every node at 0 (``uic``); False: from the operating point the
    deck's reset switches give at t = 0."""
    tran_max_step_s: float = math.inf
    """The largest time step of a transient [s] (codesign.netlist.spice.tran_command): a
    fraction of the neurons' time constant, so that a transient many time constants long still
    resolves their decay (inf: t_stop / TRAN_POINTS alone)."""
    op_text: str = ""
    """The same circuit in its operating-point form, which operating points run on
    (codesign.netlist.spice.op_deck): the crossbar as one VCCS per weight and a conductance per
    row (codesign.netlist.elements.op_crossbar), the library's supply-sensing sources and
    unread -copies left out (spice.OP_FORM_LEFT_OUT). The same node voltages (to ~1e-12 V), not
    the supplies' currents; '' where the deck has none (the form is exact only for some parts:
    elements.op_form_exact). Transients, energies and exported decks use ``text``."""
    op_of: int = 0
    """text_check of the ``text`` that ``op_text`` is the form of: a deck whose text was
    changed since (dataclasses.replace(deck, text=...)) runs its own text, never a stale
    form."""
    noise: NoiseWaves | None = None
    """The circuit's noise sources, whose waveforms each transient sets (None: noiseless)."""
    sweep_substeps: int = 1
    """Points per sample of an operating-point sweep (a power of two; codesign.netlist.spice.
    sweep_commands): k > 1 walks k - 1 interpolated inputs (the DAC sources' PWL lookups are
    linear between samples) from each sample to the next, so that every Newton solve starts
    near its answer. Class-AB drivers fail a full step from one sample's operating point to the
    next and fall back on ngspice's gmin stepping at every sample; at k = 4 each point converges
    from its neighbour, and only the first sample of a sweep steps gmin."""
    save_all: bool = False
    """The deck saves every vector (``.save all``) instead of listing the ones read: ngspice 46
    matches a listed save against every node name (saves x nodes string compares, ~7 s at
    n = 4096, ~100 s at n = 16384), while ``all`` is linear; the reader then picks the needed
    vectors out of the raw file."""

    def sweep_points(self, count: int) -> int:
        """The points an operating-point sweep of ``count`` samples solves."""
        return (count - 1) * self.sweep_substeps + 1

    @property
    def check_vectors(self) -> tuple[str, ...]:
        """Vectors saved (besides the deck's own) to check every result against its job."""
        return ((self.reference_vector,) if self.reference_vector else ()) + self.input_vectors

    @property
    def check_saves(self) -> tuple[str, ...]:
        """The check vectors to add to ngspice's save list (none where the deck saves all)."""
        return () if self.save_all else self.check_vectors


def text_check(text: str) -> int:
    """A checksum of deck text (CRC-32: which text an operating-point form was written for)."""
    return zlib.crc32(text.encode())


@dataclass(frozen=True)
class SampleJob:
    """One sample: core inputs e (m values, units of full scale) and a transient stop time."""

    index: int
    inputs: tuple[float, ...]
    t_stop_s: float | None = None
    """Transient length [s] (required when the analysis is tran)."""


def make_jobs(e: np.ndarray, t_stop_s: np.ndarray | float | None = None) -> list[SampleJob]:
    """One SampleJob per row of ``e`` (K x m), indexed 0..K-1."""
    e = np.asarray(e, dtype=float)
    stops = np.broadcast_to(np.nan if t_stop_s is None else np.asarray(t_stop_s, float), len(e))
    return [
        SampleJob(k, tuple(row.tolist()), None if np.isnan(t) else float(t))
        for k, (row, t) in enumerate(zip(e, stops, strict=True))
    ]


def check_analysis(analysis: str) -> Analysis:
    """``analysis`` as an Analysis; InputError naming the valid ones otherwise."""
    return Analysis.parse(analysis, "analysis")
