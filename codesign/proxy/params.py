"""ProxyParams: the fitted parameters of the physics-aware proxy, typed, with units, serialisable.

A parameter set is versioned with the neuron model it was fitted to: ``neuron_model`` names the
level and its subcircuits, ``library_sha256`` hashes the SPICE libraries that define them, so a
set fitted to an older neuron circuit is recognisable as such. Values in units of full scale
(FS, one FS = v_fs volts) unless the name says otherwise. JSON files hold {"format", "params",
"provenance"}; infinities are written as "inf" / "-inf".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from os import PathLike
from pathlib import Path

from codesign.circuit.config import ActivationCircuit, CircuitConfig
from codesign.deq.activations import get_activation
from codesign.errors import InputError
from codesign.files import write_json
from codesign.netlist.library import library_files, library_sha256
from codesign.schema import from_json, read_json

FORMAT = "codesign.proxy/1"
INFINITE_OK = ("dc_gain", "rail_high_fs", "rail_low_fs")
"""Parameters that may be infinite (an ideal amplifier: no gain error, no rails)."""


@dataclass(frozen=True)
class ProxyParams:
    """What the proxy knows about a neuron circuit. Neuron i computes, in FS units,

    x_i = clip((sum_j W_ij z_j + sum_k U_ik e_k + b_i + NG_i V_os / v_fs) / (1 + NG_i / A),
               rail_low_fs, rail_high_fs)
    z_i = amplitude * s(slope * g_i (x_i - input_offset_fs - o_i)) + output_offset_fs

    with s the activation blended towards u / sqrt(1 + u^2) by ``softness``, g_i and o_i the
    per-neuron gain and offset (1 and 0, or drawn with the sigmas below), and the settling
    dynamics tau dx/dt = -x + (the right-hand side), delayed by ``delay_s``.
    """

    neuron_model: str
    """Level and subcircuits fitted, e.g. 'transistor: cd_act_bjt_pair + cd_opamp_1p'."""
    library_sha256: str
    """sha256 of the SPICE libraries (netlists/*.lib) the neuron was simulated with."""
    activation: str = "tanh"
    amplitude: float = 1.0
    """Activation output amplitude [FS]."""
    slope: float = 1.0
    """Activation input scale [1/FS]."""
    softness: float = 0.0
    """Blend from the activation (0) towards the softer u / sqrt(1 + u^2) (1) [-]."""
    input_offset_fs: float = 0.0
    """Offset of the activation input [FS]."""
    output_offset_fs: float = 0.0
    """Offset of the activation output [FS]."""
    dc_gain: float = math.inf
    """Effective open-loop gain A of the summing amplifier [V/V]."""
    opamp_offset_v: float = 0.0
    """Op-amp input offset [V]."""
    rail_high_fs: float = math.inf
    """Highest pre-activation x [FS] (op-amp output rail / v_fs)."""
    rail_low_fs: float = -math.inf
    """Lowest pre-activation x [FS]."""
    tau_s: float = 100e-9
    """Time constant of the settling dynamics [s]."""
    delay_s: float = 0.0
    """Dead time before the settling dynamics start [s]."""
    output_tau_s: float = 0.0
    """Time constant of the activation's output (the neuron's second pole) [s]; 0: none."""
    neuron_gain_sigma: float = 0.0
    """Relative sigma of the per-neuron activation gain g_i across chips [-]."""
    neuron_offset_sigma_fs: float = 0.0
    """Sigma of the per-neuron activation offset o_i across chips [FS]."""
    read_noise_sigma: float = 0.0
    """Relative sigma of each conductance per read (per equilibrium solve) [-]."""
    noise_excess: float = 1.0
    """Measured over predicted variance of the equilibria under circuit noise [-]
    (codesign.proxy.noise; 1: the noise sources as the circuit config states them)."""

    def __post_init__(self) -> None:
        get_activation(self.activation)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("float", float) and (math.isnan(value) or (
                    math.isinf(value) and f.name not in INFINITE_OK)):
                raise InputError(f"proxy {f.name} must be a finite number, got {value}")
        if min(self.amplitude, self.slope, self.tau_s, self.dc_gain, self.noise_excess) <= 0:
            raise InputError("proxy amplitude, slope, tau_s, dc_gain and noise_excess must be "
                             "> 0")
        if self.output_tau_s < 0 or self.delay_s < 0:
            raise InputError("proxy output_tau_s and delay_s must be >= 0 s")
        if min(self.neuron_gain_sigma, self.neuron_offset_sigma_fs, self.read_noise_sigma) < 0:
            raise InputError("proxy sigmas must be >= 0")
        if not 0.0 <= self.softness <= 1.0:
            raise InputError(f"proxy softness must lie in [0, 1], got {self.softness}")
        if not self.rail_low_fs < self.rail_high_fs:
            raise InputError("proxy rail_low_fs must be below rail_high_fs")

    def replace(self, **changes) -> ProxyParams:
        return replace(self, **changes)


ACTIVATION_MODELS = {ActivationCircuit.BEHAVIOURAL: "behavioural phi",
                     ActivationCircuit.BJT_PAIR: "cd_act_bjt_pair",
                     ActivationCircuit.MOS_PAIR: "cd_act_mos_pair"}


def neuron_model(config: CircuitConfig) -> str:
    """'level: activation circuit + op-amp model' of ``config`` (and the process corner of a
    CMOS neuron)."""
    neuron = config.neuron
    text = f"{neuron.level}: {ACTIVATION_MODELS[neuron.activation_circuit]} + {neuron.opamp.model}"
    return text + (f" (sky130 {neuron.cmos.corner})" if neuron.cmos else "")


def config_library_sha256(config: CircuitConfig) -> str:
    """Hash of the libraries a deck of ``config`` includes (a proxy fitted to them records it)."""
    return library_sha256(library_files(config))


def nominal_params(config: CircuitConfig, activation: str = "tanh") -> ProxyParams:
    """The parameters the circuit is designed to have (before any fit): the op-amp's gain,
    offset and rails, the neuron's tau, an exact activation."""
    amp, v_fs = config.neuron.opamp, config.mapping.v_fs
    return ProxyParams(
        neuron_model=neuron_model(config),
        library_sha256=config_library_sha256(config),
        activation=activation,
        dc_gain=amp.dc_gain,
        opamp_offset_v=amp.offset_v,
        rail_high_fs=amp.rail_high_v / v_fs,
        rail_low_fs=amp.rail_low_v / v_fs,
        tau_s=config.neuron.tau_s,
    )


def ideal_params(config: CircuitConfig, activation: str = "tanh") -> ProxyParams:
    """The uncalibrated ideal proxy: the digital core itself (infinite gain, no rails)."""
    return ProxyParams(neuron_model=neuron_model(config),
                       library_sha256=config_library_sha256(config),
                       activation=activation, tau_s=config.neuron.tau_s)


def save_params(path: Path, params: ProxyParams, provenance: dict | None = None) -> Path:
    """Write ``params`` (and where they came from) as JSON."""
    return write_json(Path(path), {"format": FORMAT, "params": asdict(params),
                                   "provenance": provenance or {}})


def load_params(path: Path) -> tuple[ProxyParams, dict]:
    """(params, provenance) from a JSON file written by :func:`save_params`."""
    if not isinstance(path, str | PathLike):
        raise InputError(f"load_params takes the path of a JSON file written by `codesign "
                         f"calibrate`, got {type(path).__name__}")
    path = Path(path)
    try:
        data = read_json(path)
    except InputError as exc:
        raise InputError(f"cannot read proxy parameters: {exc}; pass a JSON file written by "
                         "`codesign calibrate`") from None
    if data.get("format") != FORMAT:
        raise InputError(f"{path} is not a codesign proxy parameter file (format {FORMAT!r})")
    provenance = data.get("provenance", {})
    if not isinstance(provenance, dict):
        raise InputError(f"{path}: provenance is not a table")
    params = from_json(ProxyParams, data.get("params"), f"{path}: proxy parameters")
    return params, provenance


def calibration_dir() -> Path:
    """The folder of shipped parameter sets: the repository's calibration/ (or its copy inside
    an installed wheel, codesign/_calibration)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_calibration", package.parent / "calibration"):
        if candidate.is_dir():
            return candidate
    raise InputError(f"no calibration/ folder next to {package}; reinstall codesign")


def default_params_path(level: str) -> Path:
    """The shipped, calibrated parameter set of neuron ``level`` (calibration/LEVEL.json)."""
    path = calibration_dir() / f"{level}.json"
    if not path.is_file():
        raise InputError(f"no calibrated proxy parameters for the {level!r} neuron at {path}; "
                         f"run `codesign calibrate --spec calibration/{level}.toml --out {path}`")
    return path
