"""A grid model's chip in SPICE: the trained GridDEQ's core compiled on a G x G grid (after the
model's transfer rule), its DACs set to the encoded test fields, its operating points read
through its ADCs and decoded, and the result judged against the fields' solutions beside the
digital model's.

    x (K, C_in, G, G) -> encoder (digital) -> DAC -> grid chip .op (ngspice) -> ADC
      -> decoder (digital, with the DAC values) -> u_circuit;   u_digital = model(x)

The summary reports the task metric of both (mean relative L2 over the fields), their ratio,
and the chip's equilibria against two oracles: the float64 fixed point of the ideal core at the
same DAC inputs (GridWeights.equilibrium) and the circuit's own prediction with its drawn
mismatch, finite gain and offsets (codesign.circuit.predict).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from codesign.chip.chip import Chip
from codesign.circuit.config import CircuitConfig
from codesign.deq.grid import GridDEQ
from codesign.errors import InputError
from codesign.simulator.base import Simulator
from codesign.tasks.base import relative_l2


@dataclass(frozen=True)
class GridVerification:
    """One grid chip against its digital model on test fields (errors in units of FS)."""

    task: str
    grid: int
    samples: int
    n: int
    """Neurons (channels x grid points)."""
    m: int
    """DAC inputs (input channels x grid points)."""
    cells: int
    """Crossbar devices."""
    digital_l2: float
    """Mean relative L2 error of the digital model on these fields."""
    circuit_l2: float
    """The same for the chip (DAC, SPICE equilibrium, ADC, decoder)."""
    ratio: float
    """circuit_l2 / digital_l2."""
    equilibrium_error_fs_max: float
    """max |z_SPICE - z_ideal| at the same DAC inputs."""
    equilibrium_error_fs_rms: float
    prediction_error_fs_max: float
    """max |z_SPICE - the circuit's predicted equilibrium| (its own mismatch included)."""
    compile_s: float
    """Compile and deck writing [s]."""
    spice_s: float
    """ngspice runs and parsing, all samples [s]."""
    seconds_per_sample: float
    level: str
    mismatch_sigma: float
    dac_bits: int
    adc_bits: int
    row_trim: bool
    """Whether each neuron's feedback was trimmed to its row's sum (ArrayConfig.row_trim)."""


def grid_chip(model: GridDEQ, grid: int, config: CircuitConfig, seed: int,
              simulator: Simulator | None, force: bool = False) -> Chip:
    """The chip of ``model``'s core on a ``grid`` x ``grid`` grid, mismatch drawn from seed."""
    weights = model.core.to_weights(grid)
    weights.check_contraction()
    return Chip(weights, config, seed=seed, simulator=simulator, force=force)


def verify_grid(model: GridDEQ, x: np.ndarray, y: np.ndarray, config: CircuitConfig,
                seed: int, run_dir: Path, simulator: Simulator, task: str = "",
                progress: Callable[[int], None] | None = None, force: bool = False
                ) -> tuple[GridVerification, dict[str, np.ndarray]]:
    """Run ``model``'s chip on fields x (K, C_in, G, G) with solutions y; the summary and the
    arrays (u_digital, u_circuit, z_spice, z_ideal)."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float64)
    _fields_check(x, y)
    grid = x.shape[-1]
    tick = time.perf_counter()
    chip = grid_chip(model, grid, config, seed, simulator, force)
    compile_s = time.perf_counter() - tick
    with torch.no_grad():
        xt = torch.from_numpy(x)
        e = model.encode(xt).double()
        u_digital = model(xt).double().numpy()
    e_dac = chip.dac(e.reshape(len(x), -1).numpy())
    tick = time.perf_counter()
    run = chip.operating_points(e_dac, Path(run_dir), progress=progress)
    spice_s = time.perf_counter() - tick
    z_ideal = chip.core.equilibrium(e_dac)
    z_pred = chip.prediction(e_dac).z
    c = model.config.channels
    z_adc = torch.from_numpy(chip.adc(run.z)).reshape(len(x), c, grid, grid)
    u_circuit = _decode(model, z_adc, e_dac, e.shape)
    summary = GridVerification(
        task=task, grid=grid, samples=len(x), n=chip.n, m=chip.m,
        cells=chip.circuit.device_count(),
        **_scores(y, u_digital, u_circuit, run.z, z_ideal, z_pred, config),
        compile_s=compile_s, spice_s=spice_s, seconds_per_sample=spice_s / len(x),
        row_trim=config.array.row_trim)
    arrays = {"u_digital": u_digital, "u_circuit": u_circuit, "z_spice": run.z,
              "z_ideal": z_ideal}
    return summary, arrays


# --- Kirchhoff network cores ----------------------------------------------------------------


@dataclass(frozen=True)
class NetworkVerification:
    """One network chip (codesign.circuit.network) against its digital model on test fields
    (errors in units of FS)."""

    task: str
    grid: int
    """The task's grid (the network's may be one less: NetworkDEQConfig.boundary)."""
    samples: int
    n: int
    """Network nodes (channels x network grid points)."""
    m: int
    """DAC inputs."""
    devices: int
    """Resistors and cubic elements (one resistor per coupling)."""
    switches: int
    """Half-edge switches (one per switched resistor)."""
    g_min_s: float
    """The smallest resistor conductance [S] (the largest is the window's top)."""
    g_max_s: float
    digital_l2: float
    """Mean relative L2 error of the digital model on these fields."""
    circuit_l2: float
    """The same for the chip (DAC, SPICE operating point, ADC, decoder)."""
    ratio: float
    """circuit_l2 / digital_l2."""
    equilibrium_error_fs_max: float
    """max |z_SPICE - z_ideal|: the ideal network (NetworkWeights.equilibrium) at the same DAC
    inputs and bits (the mismatch's effect on the state)."""
    equilibrium_error_fs_rms: float
    prediction_error_fs_max: float
    """max |z_SPICE - the circuit's predicted equilibrium| (its own element values)."""
    compile_s: float
    """Compile and deck writing [s]."""
    spice_s: float
    """ngspice runs and parsing, all samples [s]."""
    seconds_per_sample: float
    level: str
    mismatch_sigma: float
    dac_bits: int
    adc_bits: int
    readout_gain: tuple[float, ...] = ()
    """The buffer gain between each channel's nodes and their ADCs (NetworkDEQ.readout_gain;
    () where the model has none: unity)."""
    sources: str = "resistor"
    """How the injections and the bias reach a node (codesign.deq.network.SourceKind)."""
    omitted: int = 0
    """Resistors below the mapping's window not drawn (a current-source network's compile)."""


def _fields_check(x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim != 4 or x.shape[-1] != x.shape[-2] or len(x) == 0 or y.shape[0] != len(x):
        raise InputError(f"grid fields must be (samples, channels, G, G) with their solutions, "
                         f"got {x.shape} and {y.shape}")


def _decode(model, z_adc: torch.Tensor, e_dac: np.ndarray, shape) -> np.ndarray:
    """The digital decoder on the chip's read-back state and its DAC inputs (``shape``: the
    encoder's output's)."""
    with torch.no_grad():
        e_fields = torch.from_numpy(e_dac).reshape(shape).to(torch.float32)
        return model.decode(z_adc.to(torch.float32), e_fields).double().numpy()


def _scores(y: np.ndarray, u_digital: np.ndarray, u_circuit: np.ndarray, z: np.ndarray,
            z_ideal: np.ndarray, z_pred: np.ndarray, config: CircuitConfig) -> dict:
    """The fields a grid or network verification shares: both models' mean relative L2 on the
    solutions ``y``, their ratio, the SPICE equilibria ``z`` against the ideal core's and the
    circuit's prediction [FS], and the circuit's level, mismatch and converters."""
    flat = y.reshape(len(y), -1)
    digital = float(relative_l2(u_digital.reshape(len(y), -1), flat).mean())
    circuit = float(relative_l2(u_circuit.reshape(len(y), -1), flat).mean())
    err = z - z_ideal
    return {"digital_l2": digital, "circuit_l2": circuit, "ratio": circuit / digital,
            "equilibrium_error_fs_max": float(np.abs(err).max()),
            "equilibrium_error_fs_rms": float(np.sqrt(np.mean(err**2))),
            "prediction_error_fs_max": float(np.abs(z - z_pred).max()),
            "level": config.neuron.level, "mismatch_sigma": config.array.mismatch_sigma,
            "dac_bits": config.converters.dac_bits, "adc_bits": config.converters.adc_bits}


def verify_network(model, x: np.ndarray, y: np.ndarray, config: CircuitConfig, seed: int,
                   run_dir: Path, simulator: Simulator, task: str = "",
                   progress: Callable[[int], None] | None = None, force: bool = False
                   ) -> tuple[NetworkVerification, dict[str, np.ndarray]]:
    """Run a network model's chip on fields x (K, C_in, G, G) with solutions y; the summary and
    the arrays (u_digital, u_circuit, z_spice, z_ideal, z_predicted).

    ``model``: a NetworkDEQ (codesign.deq.kirchhoff) or anything with its interface: a torch
    module whose forward is the digital model, encode(x) -> e (K, p, g, g) in [-1, 1],
    bits(x) -> (K, g, g) bool or None, decode(z (K, c, g, g), e) -> the outputs, and
    to_weights(G) -> NetworkWeights on the network's g x g grid, its readout gains (the
    deck's buffers into the ADCs) included. ``z_spice`` is the SPICE node voltages [FS]."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float64)
    _fields_check(x, y)
    grid = x.shape[-1]
    tick = time.perf_counter()
    weights = model.to_weights(grid)
    chip = Chip(weights, config, seed=seed, simulator=simulator, force=force)
    compile_s = time.perf_counter() - tick
    with torch.no_grad():
        xt = torch.from_numpy(x)
        e = model.encode(xt).double()
        bits_t = model.bits(xt)
        u_digital = model(xt).double().numpy()
    bits = None if bits_t is None else bits_t.numpy().astype(bool)
    e_dac = chip.dac(e.reshape(len(x), -1).numpy())
    tick = time.perf_counter()
    run = chip.operating_points(e_dac, Path(run_dir), progress=progress, bits=bits)
    spice_s = time.perf_counter() - tick
    z_ideal = weights.equilibrium(e_dac, bits)
    z_pred = chip.prediction(e_dac, bits).x
    g = weights.grid
    # the ADCs read the buffers (run.z: the node voltages run.x times each channel's readout
    # gain, in the deck); the codes are scaled back to node volts for the decoder
    codes = chip.adc(run.z) / chip.circuit.readout()
    u_circuit = _decode(model, torch.from_numpy(codes).reshape(len(x), weights.c, g, g), e_dac,
                        e.shape)
    g_lo, g_hi = chip.circuit.conductance_range()
    summary = NetworkVerification(
        task=task, grid=grid, samples=len(x), n=chip.n, m=chip.m,
        devices=chip.circuit.device_count(), switches=chip.circuit.switch_count(),
        g_min_s=g_lo, g_max_s=g_hi,
        **_scores(y, u_digital, u_circuit, run.x, z_ideal, z_pred, config),
        compile_s=compile_s, spice_s=spice_s, seconds_per_sample=spice_s / len(x),
        readout_gain=() if weights.readout is None else tuple(weights.readout.tolist()),
        sources=chip.circuit.sources.value, omitted=chip.circuit.omitted)
    arrays = {"u_digital": u_digital, "u_circuit": u_circuit, "z_spice": run.x,
              "z_ideal": z_ideal, "z_predicted": z_pred}
    return summary, arrays
