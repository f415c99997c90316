"""SPICE verification of one design the search keeps: its fine-tuned model on a fresh chip
instance of its circuit, the task metric from SPICE operating points (through the DACs and
ADCs, with one draw of the circuit noise per equilibrium), and settling time and energy from
SPICE transients from reset, by component."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.calibration.noise import noiseless
from codesign.calibration.readout import chip_states
from codesign.chip.card import (
    area_card,
    cited_settings,
    energy_card,
    sampling_tol_fs,
)
from codesign.chip.chip import Chip
from codesign.deq.checkpoint import load_checkpoint
from codesign.design.energy import EnergyBreakdown, spice_breakdown
from codesign.design.space import Design
from codesign.design.trial import RESULT, TrialResult
from codesign.netlist.spice import relaxed_transients
from codesign.parts import chip_parts
from codesign.proxy.params import load_params
from codesign.schema import read_result, write_result
from codesign.simulator.base import Simulator
from codesign.tasks.base import Samples
from codesign.training.train import decode, encode

VERIFIED = "verified.json"
FAILED = "failed.json"
"""Why SPICE could not measure a design (a resumed search skips it)."""
PARAMS = "params.json"
"""A folder's own proxy parameters (a refined design's re-fit) instead of the carried ones."""


@dataclass(frozen=True)
class VerifiedDesign:
    """One design measured in SPICE (sky130 CMOS level, mismatch and noise on)."""

    number: int
    design: Design
    samples: int
    """Test samples of the metric (SPICE operating points)."""
    metric_spice: float
    metric_digital: float
    """The fine-tuned model's digital core on the same samples."""
    metric_proxy: float
    """The screen's proxy metric of this design (its own samples)."""
    settling_s: float
    """Median SPICE settling time from reset to a quarter of an ADC LSB (the card's) [s]."""
    energy_j: float
    """The energy card's median over the transients (codesign.chip.card.energy_card: the
    SPICE supplies to the sampling instant, biased during conversion, the bias reference, the
    cited conversions and digital MACs) [J]; for a design with an unsettled transient, no
    measurement: the breakdown's total over the simulated window."""
    energy_per_mac_j: float
    breakdown: EnergyBreakdown
    """The supplies by component (crossbar conduction carved out), the conversions at the
    circuit's own figures of merit: the mean over the transients."""
    screen_energy_j: float
    screen_settling_s: float
    transients: int
    unsettled: int
    """Transients that had not settled when they ended."""
    refined: bool = False
    """Measured after the design's own calibration (codesign.design.refine), not through the
    level's calibration carried to it."""
    energy_p95_j: float = float("nan")
    """The energy card's 95th percentile over the transients [J] (nan: not measured)."""
    card: dict[str, float] = field(default_factory=dict)
    """The energy card's lines, block -> median [J] (empty: not measured)."""
    codes_equal: float = float("nan")
    """Fraction of transients whose every ADC code at the sampling instant is its DC code."""
    area_mm2: float = 0.0
    """The area card's total with its routing overhead [mm^2]."""


def design_chip(folder: Path, simulator: Simulator, chip_seed: int, mismatch_sigma: float,
                params_path: Path, task: str, sets: tuple[str, ...] = ()):
    """(trial, model, proxy params, chip) of the trial in ``folder``: a fresh instance of its
    circuit (a seed apart from the screen's); the params are the folder's own (PARAMS) where
    it holds them, else the level's carried to the design. The model must be of ``task``."""
    trial = read_result(folder / RESULT, TrialResult, "design_trial")
    model = load_checkpoint(folder / "model.pt", task=task).model
    own = folder / PARAMS
    params = load_params(own)[0] if own.exists() else \
        trial.design.params(load_params(params_path)[0])
    chip = Chip(model.core.to_weights(), trial.design.circuit(mismatch_sigma, sets=sets),
                [chip_seed, 7919], simulator)
    return trial, model, params, chip


def spice_states(task, model, params, chip, count: int, run_dir: Path,
                 seed: int) -> tuple[Samples, np.ndarray]:
    """(the test samples, their ADC codes (K, n) [FS]) of ``model`` on ``chip`` over ``count``
    test samples (0: all): SPICE operating points through the DACs, one draw of the circuit
    noise per equilibrium (seeded), the ADCs."""
    selection = Samples(task.test_subset(count or len(task.y_test)))
    return selection, chip_states(model, chip, params, task.x_test[selection.indices],
                                  Path(run_dir) / f"op-{len(chip.runs):04d}",
                                  np.random.default_rng(seed))


def states_metric(task, model, selection: Samples, states: np.ndarray) -> float:
    """The task metric of ``model``'s decoder on the chip's ADC codes ``states`` of
    ``selection`` (from :func:`spice_states`)."""
    def circuit(x: np.ndarray) -> np.ndarray:
        if len(x) != len(states):
            raise ValueError("states_metric: the states are not of this selection")
        return decode(model, states)

    return float(task.evaluate(circuit, selection).metrics.metric)


def spice_metric(task, model, params, chip, count: int, run_dir: Path,
                 seed: int) -> tuple[float, float, int]:
    """(SPICE metric, digital-core metric, samples) of ``model`` on ``chip`` over ``count``
    test samples (0: all), from :func:`spice_states`."""
    selection, states = spice_states(task, model, params, chip, count, run_dir, seed)
    return (states_metric(task, model, selection, states),
            digital_metric(task, model, chip, selection), len(selection.indices))


def digital_metric(task, model, chip, selection: Samples) -> float:
    """The task metric of ``model`` with ``chip``'s core computed digitally (its float64 fixed
    point) on ``selection``."""
    def digital(x: np.ndarray) -> np.ndarray:
        return decode(model, chip.core.equilibrium(encode(model, x)))

    return float(task.evaluate(digital, selection).metrics.metric)


def twin_transients(chip, e: np.ndarray, run_dir: Path):
    """(the noiseless twin, its run) of SPICE transients from reset at inputs e (K, m) [FS]:
    settling and energy on the twin (noise moves neither, but a noisy trace may never stay
    within the tolerance), to the card's quarter of an ADC LSB, at a reltol below that."""
    tol = sampling_tol_fs(chip.config.converters)
    twin = noiseless(chip)
    twin.deck = relaxed_transients(twin.deck, min(1e-2, tol))
    return twin, twin.transients(e, run_dir, tol_fs=tol)


def verify_design(trial_folder: Path, task, simulator: Simulator, samples: int,
                  transients: int, chip_seed: int, mismatch_sigma: float,
                  params_path: Path, sets: tuple[str, ...] = ()) -> VerifiedDesign:
    """Measure the trial in ``trial_folder`` in SPICE (reused if already measured)."""
    folder = Path(trial_folder)
    if (folder / VERIFIED).exists():
        return read_result(folder / VERIFIED, VerifiedDesign, "design_verified")
    trial, model, params, chip = design_chip(folder, simulator, chip_seed, mismatch_sigma,
                                             params_path, task.name, sets)
    metric_spice, metric_digital, count = spice_metric(
        task, model, params, chip, samples, folder / "spice", seed=chip_seed + trial.number)
    e = chip.dac(encode(model, task.x_test[task.test_subset(transients)]))
    twin, run = twin_transients(chip, e, folder / "spice" / "tran")
    t_s = np.array([m.settling_time_s for m in run.transients])
    settled = np.isfinite(t_s)
    t_used = np.where(settled, t_s, run.t_stop_s)
    core = np.array([m.core_energy_j for m in run.transients])
    act = np.array([m.activation_energy_j for m in run.transients])
    inputs = np.array([m.input_energy_j for m in run.transients])
    breakdown = spice_breakdown(chip, e, run.z, t_used, core - act, act, inputs)
    card = energy_card(twin, run.transients, run.z,
                       cited_settings(chip.config, model.digital_macs)) if settled.all() else None
    energy = card.median_j if card is not None else breakdown.total_j
    verified = VerifiedDesign(
        number=trial.number, design=trial.design, samples=count,
        metric_spice=metric_spice, metric_digital=metric_digital,
        metric_proxy=trial.metric_proxy, settling_s=float(np.median(t_used)),
        energy_j=energy, energy_per_mac_j=energy / trial.macs,
        breakdown=breakdown, screen_energy_j=trial.energy_j,
        screen_settling_s=trial.settling_s, transients=len(t_s),
        unsettled=int((~settled).sum()), refined=(folder / PARAMS).exists(),
        energy_p95_j=card.p95_j if card is not None else float("nan"),
        card={line.block: line.median for line in card.lines} if card is not None else {},
        codes_equal=card.codes_equal if card is not None else float("nan"),
        area_mm2=area_card(chip).total_mm2)
    write_result(folder / VERIFIED, verified, "design_verified")
    return verified


def chip_cards(task, model, chip, transients: int, run_dir: Path,
               rate_hz: float | None = None) -> dict:
    """The energy and area cards of ``model`` on ``chip`` as a card record's parts (its
    config, parts, behavioural elements, model, ``energy`` and ``area``): SPICE transients
    from reset of ``transients`` test inputs on the noiseless twin (noise moves neither
    settling nor energy), settled to a quarter of an ADC LSB, the task read at the ADCs'
    sampling instant against the DC operating points (the codes and decoded outputs that agree,
    and the task metric of these inputs at both); ``rate_hz`` inferences per second (None: back
    to back)."""
    config = chip.config
    indices = task.test_subset(transients)
    e = chip.dac(encode(model, task.x_test[indices]))
    twin, run = twin_transients(chip, e, Path(run_dir))
    energy = energy_card(twin, run.transients, run.z,
                         cited_settings(config, model.digital_macs, rate_hz))
    sampled = np.array([t.z_sampled for t in run.transients])
    at_sampling = decode(model, chip.adc(sampled))
    at_dc = decode(model, chip.adc(run.z))
    same_output = float(np.mean(np.argmax(at_sampling, 1) == np.argmax(at_dc, 1))
                        if at_dc.ndim == 2 and at_dc.shape[1] > 1 else
                        np.mean(np.abs(at_sampling - at_dc) <= 1e-9))
    area = area_card(chip)
    inference_s = energy.sampling_s + cited_settings(config, 0).adc_conversion_s
    parts = chip_parts(config)
    return {
        "config": config.to_dict(), "parts": parts.describe(),
        "behavioural": parts.behavioural(),
        "model": {"encoder": str(model.config.encoder), "decoder": str(model.config.decoder),
                  "digital_macs": model.digital_macs, "gamma": model.config.gamma},
        "energy": {"lines": energy.rows(), "median_j": energy.median_j, "p95_j": energy.p95_j,
                   "per_mac_j": energy.per_mac_j, "p95_per_mac_j": energy.p95_per_mac_j,
                   "macs": energy.macs, "transients": energy.samples,
                   "sampling_s": energy.sampling_s, "codes_equal": energy.codes_equal,
                   "max_step_s": twin.deck.tran_max_step_s,
                   "code_agreement": energy.code_agreement,
                   "same_output_at_sampling": same_output,
                   "metric_at_sampling": task.score(at_sampling, task.y_test[indices]),
                   "metric_at_dc": task.score(at_dc, task.y_test[indices]),
                   "tops_per_w": energy.tops_per_w},
        "area": {"lines": area.rows(), "total_mm2": area.total_mm2,
                 "routing_overhead": area.routing_overhead, "complete": area.complete,
                 "tops_per_mm2": area.tops_per_mm2(energy.macs, inference_s)}}
