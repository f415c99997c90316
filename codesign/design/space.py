"""The CMOS design space the search explores: a :class:`Design` is one point (every unit in its
field names), a :class:`DesignSpace` the ranges, validated, from defaults or a TOML file."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

from codesign.chip.card import sampling_tol_fs
from codesign.circuit.config import CircuitConfig, ConverterConfig, scale_currents
from codesign.circuit.settings import assignments, build_circuit, canonical, override
from codesign.errors import InputError
from codesign.parts import PartKind, get_part
from codesign.proxy.params import ProxyParams
from codesign.schema import from_json

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

LEVEL = "cmos"
PROCESS_SUPPLY_V = 0.9
"""Half of sky130's 1.8 V core supply: the largest input-driver rail [V]."""


@dataclass(frozen=True)
class Design:
    """One CMOS chip design (the level's own circuit, codesign.circuit.config, changed)."""

    current_ratio: float = 1.0
    """Every current (conductance window, OTA and pair bias, Miller capacitance, attenuator
    conductance) times this, at the same voltages and bandwidth (scale_currents)."""
    v_fs: float = 0.25
    """Voltage full scale [V]."""
    tau_s: float = 1e-6
    """Neuron time constant Rf Cf [s]."""
    levels: int = 0
    """Programmable conductance levels per cell (0: continuous)."""
    dac_bits: int = 8
    adc_bits: int = 8
    input_supply_v: float = 0.9
    """The input DACs' and bias reference's rails, +-this [V] (above v_fs)."""
    ota_bias_a: float = 0.0
    """The summing OTA's bias current [A] (0: the level's, times current_ratio)."""
    ota_cc_f: float = 0.0
    """The OTA's Miller capacitor [F] (0: the level's, times current_ratio)."""

    @property
    def settle_tol_fs(self) -> float:
        """Settled once within a quarter of the ADC's LSB of the equilibrium [FS] (the ADC
        converts then): the energy card's tolerance, codesign.chip.card.sampling_tol_fs, at the
        converters' default full-scale range; an ideal ADC: SETTLE_TOL_FS."""
        return sampling_tol_fs(ConverterConfig(adc_bits=self.adc_bits))

    def circuit(self, mismatch_sigma: float, noise: bool = True,
                sets: tuple[str, ...] = ()) -> CircuitConfig:
        """The chip's circuit config: the level's with ``sets`` (KEY=VALUE circuit settings,
        e.g. the parts of a buildable chip: cell=sky130_r2r_eq) and this design's values
        (InputError for a design the circuit cannot be). A programmable cell's window is its
        devices': current_ratio must be 1 and levels 0 or its codes."""
        if not self.v_fs < self.input_supply_v <= PROCESS_SUPPLY_V:
            raise InputError(f"input_supply_v must lie in (v_fs, {PROCESS_SUPPLY_V}] V, got "
                             f"{self.input_supply_v} with v_fs {self.v_fs}")
        base = override(build_circuit(LEVEL), assignments(sets), "--set")
        window = get_part(PartKind.CELL, str(base.array.cell)).window
        changes = {
            "neuron.tau_s": self.tau_s, "mapping.v_fs": self.v_fs,
            "supplies.input_vdd_v": self.input_supply_v,
            "supplies.input_vss_v": -self.input_supply_v,
            "array.levels": self.levels, "array.mismatch_sigma": mismatch_sigma,
            "noise.enabled": noise,
            "converters.dac_bits": self.dac_bits, "converters.adc_bits": self.adc_bits}
        searched = set(changes) & set(canonical(assignments(sets), "--set"))
        if searched:
            raise InputError(f"--set {', '.join(sorted(searched))}: the search sets it; give "
                             "its range in the design space instead")
        if window is not None:
            if self.current_ratio != 1 or self.levels not in (0, window.codes):
                raise InputError(
                    f"the {base.array.cell} cell's conductances are its devices' ({window.codes}"
                    f" codes): the design space's current_ratio must be [1, 1] and its levels "
                    f"[0] (search the OTA with ota_bias_a and ota_cc_f), got current_ratio "
                    f"{self.current_ratio}, levels {self.levels}")
            del changes["array.levels"], changes["array.mismatch_sigma"]
        config = scale_currents(override(base, changes, "design"), self.current_ratio)
        own = {f"neuron.cmos.{name}": getattr(self, name)
               for name in ("ota_bias_a", "ota_cc_f") if getattr(self, name)}
        return override(config, own, "design") if own else config

    def params(self, base: ProxyParams) -> ProxyParams:
        """The calibrated proxy of the level's default design, carried to this one: its time
        constants scale with tau, its volt-fixed offsets and rails with 1 / v_fs. A screen;
        SPICE measures the designs the search keeps."""
        reference = Design()
        t, v = self.tau_s / reference.tau_s, reference.v_fs / self.v_fs
        return base.replace(tau_s=base.tau_s * t, delay_s=base.delay_s * t,
                            output_tau_s=base.output_tau_s * t,
                            input_offset_fs=base.input_offset_fs * v,
                            output_offset_fs=base.output_offset_fs * v,
                            rail_high_fs=base.rail_high_fs * v, rail_low_fs=base.rail_low_fs * v)


@dataclass(frozen=True)
class DesignSpace:
    """Ranges [low, high] of each searched parameter (log-uniform where marked)."""

    current_ratio: tuple[float, float] = (0.03, 0.6)
    """Log-uniform."""
    v_fs: tuple[float, float] = (0.12, 0.35)
    tau_s: tuple[float, float] = (0.25e-6, 2e-6)
    """Log-uniform."""
    levels: tuple[int, ...] = (0, 2, 4, 16)
    """Choices."""
    dac_bits: tuple[int, int] = (3, 8)
    adc_bits: tuple[int, int] = (3, 8)
    input_headroom_v: tuple[float, float] = (0.05, 0.6)
    """Input rail above v_fs [V] (capped at the process's 0.9 V)."""
    ota_bias_a: tuple[float, ...] = ()
    """The OTA's bias current [A], log-uniform (empty: not searched, the level's times
    current_ratio)."""
    ota_cc_f: tuple[float, ...] = ()
    """The OTA's Miller capacitor [F], log-uniform (empty: not searched)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "levels":
                if not isinstance(value, tuple | list) or not value or any(
                        type(k) is not int or k == 1 or k < 0 for k in value):
                    raise InputError("design space levels must be a list of 0 or whole "
                                     f"numbers >= 2, got {value!r}")
                object.__setattr__(self, "levels", tuple(value))
                continue
            if f.name in ("ota_bias_a", "ota_cc_f") and isinstance(value, tuple | list) \
                    and not value:
                object.__setattr__(self, f.name, ())
                continue
            integer = f.name in ("dac_bits", "adc_bits")
            kinds = (int,) if integer else (int, float)
            if not isinstance(value, tuple | list) or len(value) != 2 or any(
                    isinstance(v, bool) or not isinstance(v, kinds) for v in value):
                raise InputError(f"design space {f.name} must be [low, high] of two "
                                 f"{'whole numbers' if integer else 'numbers'}, got {value!r}")
            low, high = value
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
                raise InputError(f"design space {f.name} must be [low, high] with "
                                 f"0 < low <= high, got {list(value)}")
            object.__setattr__(self, f.name, tuple(value))
        checks = ((self.current_ratio[1] <= 10, "current_ratio high must be <= 10"),
                  (self.v_fs[0] >= 0.1 and self.v_fs[1] <= 0.6,
                   "v_fs must lie in [0.1, 0.6] V (the pair's tanh, the OTA's swing)"),
                  (self.tau_s[0] >= 1e-8 and self.tau_s[1] <= 1e-4,
                   "tau_s must lie in [1e-8, 1e-4] s"),
                  (self.dac_bits[1] <= 16 and self.adc_bits[1] <= 16, "bits must be <= 16"),
                  (self.input_headroom_v[1] <= PROCESS_SUPPLY_V,
                   f"input_headroom_v must be <= {PROCESS_SUPPLY_V} V"),
                  (not self.ota_bias_a or 1e-8 <= self.ota_bias_a[0] <= self.ota_bias_a[1]
                   <= 1e-4, "ota_bias_a must lie in [1e-8, 1e-4] A"),
                  (not self.ota_cc_f or 1e-15 <= self.ota_cc_f[0] <= self.ota_cc_f[1]
                   <= 1e-11, "ota_cc_f must lie in [1e-15, 1e-11] F"))
        for ok, message in checks:
            if not ok:
                raise InputError(f"design space: {message}")

    def contains(self, design: Design) -> bool:
        """Is ``design`` a point of this space?"""
        def within(value: float, pair: tuple) -> bool:
            return pair[0] * (1 - 1e-12) <= value <= pair[1] * (1 + 1e-12)

        def own(value: float, pair: tuple) -> bool:  # not searched: the level's (0)
            return value == 0 if not pair else within(value, pair)

        headroom = design.input_supply_v - design.v_fs
        return (within(design.current_ratio, self.current_ratio)
                and own(design.ota_bias_a, self.ota_bias_a)
                and own(design.ota_cc_f, self.ota_cc_f)
                and within(design.v_fs, self.v_fs) and within(design.tau_s, self.tau_s)
                and design.levels in self.levels and within(design.dac_bits, self.dac_bits)
                and within(design.adc_bits, self.adc_bits)
                and (design.input_supply_v == PROCESS_SUPPLY_V
                     or within(headroom, self.input_headroom_v)))

    @staticmethod
    def load(path: Path | None) -> DesignSpace:
        """The default space, or the ``[space]`` table of a TOML file (or the file's top
        level, if it has no such table)."""
        if path is None:
            return DesignSpace()
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read design space {path}: {exc}") from None
        return from_json(DesignSpace, data.get("space", data), f"design space {path}")

    def suggest(self, trial) -> Design:
        """An Optuna trial's design."""
        v_fs = trial.suggest_float("v_fs", *self.v_fs)
        headroom = trial.suggest_float("input_headroom_v", *self.input_headroom_v)
        return Design(
            current_ratio=trial.suggest_float("current_ratio", *self.current_ratio, log=True),
            v_fs=v_fs,
            tau_s=trial.suggest_float("tau_s", *self.tau_s, log=True),
            levels=trial.suggest_categorical("levels", list(self.levels)),
            dac_bits=trial.suggest_int("dac_bits", *self.dac_bits),
            adc_bits=trial.suggest_int("adc_bits", *self.adc_bits),
            input_supply_v=min(v_fs + headroom, PROCESS_SUPPLY_V),
            ota_bias_a=trial.suggest_float("ota_bias_a", *self.ota_bias_a, log=True)
            if self.ota_bias_a else 0.0,
            ota_cc_f=trial.suggest_float("ota_cc_f", *self.ota_cc_f, log=True)
            if self.ota_cc_f else 0.0)


def check_space(space: DesignSpace, sets: tuple[str, ...], mismatch_sigma: float) -> None:
    """InputError where ``sets`` or the space's current ratios and levels cannot be a circuit
    (a programmable cell's window is its devices'), before any trial runs."""
    for ratio in dict.fromkeys(space.current_ratio):
        for levels in space.levels:
            Design(current_ratio=ratio, levels=levels).circuit(mismatch_sigma, sets=sets)
