"""Typed, frozen configs of the compiled circuit, with units in every name.

Presets: :data:`NEURON_LEVELS` maps a fidelity level name to its :class:`NeuronConfig`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

from codesign.choices import Choice
from codesign.circuit.noise import BOLTZMANN_J_K, ELECTRON_C
from codesign.errors import InputError, lookup
from codesign.parts import PartKind, get_part


def _finite(value: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {value!r}")


class MappingMode(Choice):
    """How a signed weight becomes conductances (see MappingConfig)."""

    DIFFERENTIAL = "differential"
    SINGLE = "single"


class ActivationCircuit(Choice):
    """What realises a neuron's activation phi."""

    BEHAVIOURAL = "behavioural"
    """A B-source computing phi exactly."""
    BJT_PAIR = "bjt_pair"
    """A BJT differential pair (tanh only)."""
    MOS_PAIR = "mos_pair"
    """A MOS differential pair in weak inversion (tanh only)."""


class Reset(Choice):
    """How a transient starts from the reset state (the neuron's integrator at 0)."""

    DISCHARGED = "discharged"
    """Every capacitor discharged and every node at 0 V, bias included (``uic``)."""
    SWITCHED = "switched"
    """A switch across each neuron's Rf || Cf holds its output at its input until 1 ns; the
    bias is on from the start (the initial operating point is solved with the switches
    closed)."""


class Corner(Choice):
    """A process corner of the sky130 models (codesign_sky130.lib)."""

    TT = "tt"
    SS = "ss"
    FF = "ff"
    SF = "sf"
    """Slow N, fast P."""
    FS = "fs"
    """Fast N, slow P."""


@dataclass(frozen=True)
class CmosParams:
    """The transistor-level CMOS neuron on SkyWater sky130 (netlists/codesign_cmos.lib): a
    two-stage Miller OTA sums the row, a MOS pair in weak inversion makes the tanh."""

    corner: Corner = Corner.TT
    device_mismatch: bool = False
    """Draw the PDK's per-transistor threshold mismatch (seeded per chip instance)."""
    ota_bias_a: float = 0.5e-6
    """The OTA's reference current [A]; its input pair carries twice that."""
    ota_cc_f: float = 0.5e-12
    """Miller capacitance [F]."""
    ota_rz_ohm: float = 50e3
    """Miller nulling resistance [Ohm]."""
    output_swing_v: float = 0.8
    """Output voltage the OTA's sink is sized to hold against the row's feedback load [V]."""
    output_margin: float = 1.25
    """Sink current over the largest load current it must carry."""
    pair_tail_a: float = 0.5e-6
    """The activation pair's tail current [A]."""
    slope_factor: float = 1.3
    """Subthreshold slope factor n of the pair (sizes its input attenuator)."""
    attenuator_ohm: float = 4.7e6
    """Total resistance of the pair's input attenuator [Ohm]."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "corner", Corner.parse(self.corner, "process corner"))
        if not isinstance(self.device_mismatch, bool):
            raise InputError(f"device_mismatch must be true or false, got "
                             f"{self.device_mismatch!r}")
        for name in ("ota_bias_a", "ota_cc_f", "ota_rz_ohm", "output_swing_v", "pair_tail_a",
                     "slope_factor", "attenuator_ohm"):
            _finite(getattr(self, name), f"cmos {name}")
            if not getattr(self, name) > 0:
                raise InputError(f"cmos {name} must be > 0, got {getattr(self, name)}")
        if not self.output_margin >= 1:
            raise InputError(f"cmos output_margin must be >= 1, got {self.output_margin}")

    def ota_noise_v_rthz(self, temperature_k: float) -> float:
        """The OTA's input-referred white noise density [V/sqrt(Hz)], from its input pair and
        mirror in weak inversion (each at ib): channel noise 2 n k T gm per device, gm =
        ib / (n V_T), referred to the input, sqrt(8 k T n^2 V_T / ib)."""
        v_t = BOLTZMANN_J_K * temperature_k / ELECTRON_C
        return math.sqrt(8 * BOLTZMANN_J_K * temperature_k * self.slope_factor**2 * v_t
                         / self.ota_bias_a)

    def attenuation(self, v_fs: float) -> float:
        """The attenuator's ratio 2 n V_T / v_fs that makes the pair's tanh tanh(x / v_fs)."""
        return 2 * self.slope_factor * THERMAL_VOLTAGE_V / v_fs


THERMAL_VOLTAGE_V = BOLTZMANN_J_K * 300.15 / ELECTRON_C
"""kT/q at ngspice's default 27 C [V]."""


IDEAL_MODEL = "cd_opamp_ideal"


@dataclass(frozen=True)
class OpAmpParams:
    """The summing amplifier of a neuron (a subcircuit of netlists/codesign_amplifiers.lib)."""

    model: str = "cd_opamp_1p"
    """Subcircuit name: cd_opamp_1p (single-pole macromodel) or cd_opamp_ideal."""
    dc_gain: float = 1e5
    """A0, open-loop DC gain [V/V]."""
    gbw_hz: float = 100e6
    """Gain-bandwidth product [Hz] (ignored by cd_opamp_ideal)."""
    offset_v: float = 0.0
    """Input offset voltage [V], referred to the non-inverting input."""
    quiescent_a: float = 20e-6
    """Quiescent supply current [A], drawn from vdd to vss."""
    rail_high_v: float = 1.55
    """Highest output voltage [V]."""
    rail_low_v: float = -1.55
    """Lowest output voltage [V]."""

    def __post_init__(self) -> None:
        for name in ("dc_gain", "offset_v", "quiescent_a"):
            _finite(getattr(self, name), f"op-amp {name}")
        if not self.dc_gain > 0:
            raise InputError(f"op-amp dc_gain must be > 0 V/V, got {self.dc_gain}")
        if not self.gbw_hz > 0:
            raise InputError(f"op-amp gbw_hz must be > 0 Hz, got {self.gbw_hz}")
        if self.quiescent_a < 0:
            raise InputError(f"op-amp quiescent_a must be >= 0 A, got {self.quiescent_a}")
        if not self.rail_low_v < 0 < self.rail_high_v:
            raise InputError(
                f"op-amp rails must straddle 0 V, got [{self.rail_low_v}, {self.rail_high_v}]"
            )
        if self.model != IDEAL_MODEL and not all(
                math.isfinite(v) for v in (self.gbw_hz, self.rail_low_v, self.rail_high_v)):
            raise InputError(f"op-amp {self.model} needs a finite gbw_hz and rails; only "
                             f"{IDEAL_MODEL} has none")


IDEAL_OPAMP = OpAmpParams(
    model=IDEAL_MODEL,
    dc_gain=1e9,
    gbw_hz=math.inf,
    offset_v=0.0,
    quiescent_a=0.0,
    rail_high_v=math.inf,
    rail_low_v=-math.inf,
)


@dataclass(frozen=True)
class NeuronConfig:
    """A neuron: op-amp summing node with Rf || Cf feedback, then the activation driver."""

    level: str
    """Fidelity level name (a key of NEURON_LEVELS)."""
    opamp: OpAmpParams
    tau_s: float = 100e-9
    """Neuron time constant Rf * Cf [s]; Cf is sized per row to give it."""
    activation_circuit: ActivationCircuit = ActivationCircuit.BEHAVIOURAL
    """behavioural (a B-source phi, exact) or bjt_pair (a BJT differential pair, tanh only)."""
    pair_mismatch_sigma: float = 0.0
    """Relative sigma of each pair transistor's emitter area (bjt_pair only; seeded at compile)."""
    cmos: CmosParams | None = None
    """The CMOS neuron's design (mos_pair only)."""
    reset: Reset = Reset.DISCHARGED
    """How transients start from the reset state."""

    def __post_init__(self) -> None:
        _finite(self.tau_s, "neuron tau_s")
        _finite(self.pair_mismatch_sigma, "pair_mismatch_sigma")
        if not self.tau_s > 0:
            raise InputError(f"neuron tau_s must be > 0 s, got {self.tau_s}")
        object.__setattr__(self, "activation_circuit", ActivationCircuit.parse(
            self.activation_circuit, "activation circuit"))
        object.__setattr__(self, "reset", Reset.parse(self.reset, "reset"))
        if (self.activation_circuit == ActivationCircuit.MOS_PAIR) != (self.cmos is not None):
            raise InputError("a mos_pair neuron needs its CMOS design (cmos=CmosParams()), and "
                             "only a mos_pair neuron has one")
        if not 0 <= self.pair_mismatch_sigma < 0.5:
            raise InputError(f"pair_mismatch_sigma must lie in [0, 0.5), got "
                             f"{self.pair_mismatch_sigma}")

    def with_opamp(self, **changes: float | str) -> NeuronConfig:
        """A copy with some op-amp parameters changed (e.g. dc_gain=1e3)."""
        return replace(self, opamp=replace(self.opamp, **changes))


CMOS_OTA_MODEL = "cd_ota_sky130"
NEURON_LEVELS: dict[str, NeuronConfig] = {
    "ideal": NeuronConfig("ideal", IDEAL_OPAMP),
    "opamp": NeuronConfig("opamp", OpAmpParams()),
    "transistor": NeuronConfig("transistor", OpAmpParams(),
                               activation_circuit=ActivationCircuit.BJT_PAIR),
    # dc_gain, gbw and rails are the CMOS OTA's nominal figures (the proxy's starting point,
    # calibrated to SPICE); its circuit is set by CmosParams
    "cmos": NeuronConfig("cmos", OpAmpParams(model=CMOS_OTA_MODEL, dc_gain=2e3, gbw_hz=5e6,
                                             quiescent_a=0.0, rail_high_v=0.75,
                                             rail_low_v=-0.75),
                         tau_s=1e-6, activation_circuit=ActivationCircuit.MOS_PAIR,
                         cmos=CmosParams(), reset=Reset.SWITCHED),
}


def get_neuron(level: str) -> NeuronConfig:
    """The preset neuron of fidelity ``level``; InputError lists the valid names."""
    return lookup(NEURON_LEVELS, level, "neuron level", ordered=True)


@dataclass(frozen=True)
class MappingConfig:
    """How weights become conductances and values become volts.

    Weight w of row i is the difference of two cells, w = (G_plus - G_minus) / G_f,i: G_plus is
    driven by the inverted copy -phi (the inverting summer turns it into +w), G_minus by +phi.
    In ``differential`` mode both cells exist and lie in [g_min_s, g_max_s]; the larger |w| of a
    row maps to g_max_s. In ``single`` mode only the cell of the weight's sign exists, at |w| G_f
    (an idealised array with no lower conductance bound).
    """

    g_min_s: float = 0.25e-6
    """Lowest programmable conductance [S] (the off state of a differential pair)."""
    g_max_s: float = 25e-6
    """Highest programmable conductance [S] (PCM-like, after aihwkit's 25 uS)."""
    v_fs: float = 0.5
    """Voltage full scale [V]: a value of 1.0 (activation, input, bias) is v_fs volts."""
    mode: MappingMode = MappingMode.DIFFERENTIAL
    """differential or single (see the class docstring)."""
    per_row: bool = True
    """Scale each row to use the whole window (per-row feedback conductance G_f,i)."""

    def __post_init__(self) -> None:
        for name in ("g_min_s", "g_max_s", "v_fs"):
            _finite(getattr(self, name), name)
        if not 0 <= self.g_min_s < self.g_max_s:
            raise InputError(
                f"need 0 <= g_min_s < g_max_s, got [{self.g_min_s}, {self.g_max_s}] S"
            )
        if not self.v_fs > 0:
            raise InputError(f"v_fs must be > 0 V, got {self.v_fs}")
        if not isinstance(self.per_row, bool):
            raise InputError(f"per_row must be true or false, got {self.per_row!r}")
        object.__setattr__(self, "mode", MappingMode.parse(self.mode, "mapping mode"))


def tile_spans(count: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` (0: one) covering range(count)."""
    size = size if size > 0 else count
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


class Wires(NamedTuple):
    """The lines of one array: segment resistances [Ohm] and the largest tile [cells]."""

    row_ohm: float = 0.0
    column_ohm: float = 0.0
    tile_rows: int = 0
    """0: one tile of any height."""
    tile_columns: int = 0
    """Cell positions (wires) per tile row; 0: one tile of any width."""

    @property
    def ideal(self) -> bool:
        return self.row_ohm <= 0 and self.column_ohm <= 0


@dataclass(frozen=True)
class ArrayConfig:
    """Non-idealities of the programmed crossbar (applied at compile time, in this order)."""

    levels: int = 0
    """Programmable conductance levels over [g_min_s, g_max_s] (0: continuous)."""
    mismatch_sigma: float = 0.0
    """Relative programming error sigma per device: G -> G (1 + sigma N(0, 1)), seeded."""
    line_ohm: float = 0.0
    """Wire resistance of the summing (row) line per cell pitch [Ohm] (0: ideal wires)."""
    column_ohm: float = 0.0
    """Wire resistance of the input (column) line per cell pitch [Ohm] (0: ideal wires)."""
    line_c_f: float = 0.0
    """Wire capacitance to ground of every row and column line per cell pitch [F] (transients
    only; 0: none)."""
    tile_rows: int = 0
    """Rows of the largest physical array (0: one array of any size); a larger core is a grid
    of tiles (codesign.circuit.lines)."""
    tile_columns: int = 0
    """Cell positions (column lines) per tile: a differential weight column takes two."""
    cell: str = "resistor"
    """The weight cell: a cell part's name (codesign.parts; ``resistor``: an ideal resistor)."""
    row_trim: bool = False
    """Grid cores: after programming, trim each neuron's feedback conductance so that its row
    of recurrent cells sums to the trained stencil's sum again (the programmed cells read back,
    as write-verify reads them): the programming error then moves the couplings, not the
    near-singular local term of a diffusive stencil."""

    def __post_init__(self) -> None:
        get_part(PartKind.CELL, self.cell)
        if not isinstance(self.row_trim, bool):
            raise InputError(f"row_trim must be true or false, got {self.row_trim!r}")
        if isinstance(self.levels, bool) or not isinstance(self.levels, int):
            raise InputError(f"levels must be a whole number, got {self.levels!r}")
        for name in ("tile_rows", "tile_columns"):
            size = getattr(self, name)
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise InputError(f"{name} must be a whole number >= 0 (0: no limit), "
                                 f"got {size!r}")
        for name in ("mismatch_sigma", "line_ohm", "column_ohm", "line_c_f"):
            _finite(getattr(self, name), name)
        if not 0 <= self.column_ohm < 1e4:
            raise InputError(f"column_ohm must lie in [0, 1e4) Ohm, got {self.column_ohm}")
        if not 0 <= self.line_c_f < 1e-12:
            raise InputError(f"line_c_f must lie in [0, 1e-12) F per cell, got {self.line_c_f}")
        if self.levels == 1 or self.levels < 0:
            raise InputError(f"levels must be 0 (continuous) or >= 2, got {self.levels}")
        if not 0 <= self.mismatch_sigma < 0.5:
            raise InputError(f"mismatch_sigma must lie in [0, 0.5), got {self.mismatch_sigma}")
        if not 0 <= self.line_ohm < 1e4:
            raise InputError(f"line_ohm must lie in [0, 1e4) Ohm, got {self.line_ohm}")

    @property
    def wires(self) -> Wires:
        """The lines' resistances and the tile size (codesign.circuit.lines)."""
        return Wires(self.line_ohm, self.column_ohm, self.tile_rows, self.tile_columns)


@dataclass(frozen=True)
class SupplyConfig:
    """Supply rails [V]: the neurons' (core) and the input DACs' and bias reference's (inputs)."""

    vdd_v: float = 1.65
    vss_v: float = -1.65
    input_vdd_v: float = 1.65
    input_vss_v: float = -1.65

    def __post_init__(self) -> None:
        for name in ("vdd_v", "vss_v", "input_vdd_v", "input_vss_v"):
            _finite(getattr(self, name), f"supply {name}")
        if not (self.vss_v < 0 < self.vdd_v and self.input_vss_v < 0 < self.input_vdd_v):
            raise InputError("supplies must straddle 0 V (vss_v < 0 < vdd_v, and the inputs')")


@dataclass(frozen=True)
class NoiseConfig:
    """Circuit noise in transients (codesign.circuit.noise; operating points stay noiseless):
    the thermal noise of every conductance into a neuron's summing node and its summing
    amplifier's input-referred noise, as one TRNOISE current per row."""

    enabled: bool = False
    temperature_k: float = 300.15
    amp_noise_v_rthz: float | None = None
    """Input-referred white noise density of each summing amplifier [V/sqrt(Hz)]; None: the
    level's own (the CMOS OTA's, from its bias; none for the macromodels)."""
    sample_fraction: float = 0.2
    """Sample interval of the noise sources as a fraction of the neuron tau: their bandwidth,
    1 / (2 interval), is 2.5 / tau, far above a neuron's 1 / (2 pi tau)."""

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise InputError(f"noise enabled must be true or false, got {self.enabled!r}")
        _finite(self.temperature_k, "noise temperature_k")
        _finite(self.sample_fraction, "noise sample_fraction")
        if not (self.temperature_k > 0 and 0 < self.sample_fraction <= 1):
            raise InputError("noise needs temperature_k > 0 K and sample_fraction in (0, 1]")
        if self.amp_noise_v_rthz is not None:
            _finite(self.amp_noise_v_rthz, "amp_noise_v_rthz")
            if self.amp_noise_v_rthz < 0:
                raise InputError("amp_noise_v_rthz must be >= 0 V/sqrt(Hz)")

    def amp_density(self, neuron: NeuronConfig) -> float:
        """The summing amplifiers' input noise density of ``neuron`` [V/sqrt(Hz)]."""
        if self.amp_noise_v_rthz is not None:
            return self.amp_noise_v_rthz
        return neuron.cmos.ota_noise_v_rthz(self.temperature_k) if neuron.cmos else 0.0


MAX_CONVERTER_BITS = 16


@dataclass(frozen=True)
class ConverterConfig:
    """The chip's analog-digital boundary: one DAC per core input and one ADC per neuron
    output, each over [-range_fs, range_fs] of full scale with ``bits`` bits (0: an ideal
    converter, neither quantized nor charged), and the energy of one conversion from a figure
    of merit, FoM x 2^bits (codesign.references: ADC_WALDEN_FOM, DAC_FOM)."""

    dac_bits: int = 8
    adc_bits: int = 8
    dac_fom_j: float = 10e-15
    """DAC energy per conversion step [J] (references.DAC_FOM)."""
    adc_fom_j: float = 10e-15
    """ADC energy per conversion step [J] (references.ADC_WALDEN_FOM)."""
    range_fs: float = 1.0

    def __post_init__(self) -> None:
        for name in ("dac_bits", "adc_bits"):
            bits = getattr(self, name)
            if type(bits) is not int or not 0 <= bits <= MAX_CONVERTER_BITS:
                raise InputError(f"{name} must be an integer in [0, {MAX_CONVERTER_BITS}] "
                                 f"(0: ideal), got {bits!r}")
        for name in ("dac_fom_j", "adc_fom_j", "range_fs"):
            _finite(getattr(self, name), name)
        if min(self.dac_fom_j, self.adc_fom_j) < 0 or not self.range_fs > 0:
            raise InputError("converter FoMs must be >= 0 J and range_fs > 0")

    @staticmethod
    def conversion_j(bits: int, fom_j: float) -> float:
        """Energy of one conversion at ``bits`` [J] (0 for an ideal converter)."""
        return fom_j * 2.0**bits if bits else 0.0

    def energy_j(self, n: int, m: int) -> float:
        """Converter energy of one inference [J]: m input DACs and n output ADCs, once each."""
        return (m * self.conversion_j(self.dac_bits, self.dac_fom_j)
                + n * self.conversion_j(self.adc_bits, self.adc_fom_j))


@dataclass(frozen=True)
class PeripheryConfig:
    """The parts around the array (codesign.parts), by name: the +/- drivers of the input DACs
    and the bias reference, the reset switches (where the neuron's reset is switched), and the
    bias reference."""

    driver: str = "behavioural"
    reset: str = "behavioural"
    bias: str = "ideal"
    """The reference behind the bias currents: out of the deck and charged by the energy card
    at its measured current (``sky130_beta``), or in the deck with every bias current a tap on
    it (``sky130_beta_mirrors``: codesign.parts.base.Bias.in_deck)."""

    def __post_init__(self) -> None:
        get_part(PartKind.DRIVER, self.driver)
        get_part(PartKind.RESET, self.reset)
        get_part(PartKind.BIAS, self.bias)


@dataclass(frozen=True)
class CircuitConfig:
    """Everything the compiler needs besides the weights."""

    neuron: NeuronConfig = field(default_factory=lambda: NEURON_LEVELS["opamp"])
    mapping: MappingConfig = field(default_factory=MappingConfig)
    array: ArrayConfig = field(default_factory=ArrayConfig)
    supplies: SupplyConfig = field(default_factory=SupplyConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    converters: ConverterConfig = field(default_factory=ConverterConfig)
    periphery: PeripheryConfig = field(default_factory=PeripheryConfig)

    def __post_init__(self) -> None:
        _check_cell(self.mapping, self.array)
        cmos = self.neuron.cmos
        if cmos is not None and not cmos.attenuation(self.mapping.v_fs) < 0.9:
            raise InputError(f"the CMOS pair's tanh spans 2 n V_T = "
                             f"{2 * cmos.slope_factor * THERMAL_VOLTAGE_V:.3g} V: v_fs must be "
                             f"above {2.3 * cmos.slope_factor * THERMAL_VOLTAGE_V:.2g} V, got "
                             f"{self.mapping.v_fs}")
        amp, sup = self.neuron.opamp, self.supplies
        if math.isfinite(amp.rail_high_v) and not (
            sup.vss_v <= amp.rail_low_v and amp.rail_high_v <= sup.vdd_v
        ):
            raise InputError(
                f"op-amp rails [{amp.rail_low_v}, {amp.rail_high_v}] V must lie within the "
                f"supplies [{sup.vss_v}, {sup.vdd_v}] V"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _check_cell(mapping: MappingConfig, array: ArrayConfig) -> None:
    """A programmable cell's window is its own: single mode, its codes as the levels, its
    largest conductance as g_max_s (``with_cell`` sets them), and its mismatch the process's."""
    window = get_part(PartKind.CELL, array.cell).window
    if window is None:
        return
    fix = f"build the config with with_cell(config, {array.cell!r}) (--cell {array.cell})"
    if (mapping.mode != MappingMode.SINGLE or array.levels != window.codes
            or not math.isclose(mapping.g_max_s, window.g_max_s, rel_tol=1e-9)):
        raise InputError(f"the {array.cell} cell holds {window.codes} codes of "
                         f"{window.g_lsb_s:.4g} S (single mode, levels {window.codes}, g_max_s "
                         f"{window.g_max_s:.6g} S): {fix}")
    if array.mismatch_sigma > 0:
        raise InputError(f"the {array.cell} cell's mismatch is the process's (device_mismatch), "
                         f"not mismatch_sigma={array.mismatch_sigma}: set mismatch_sigma 0")


def with_cell(config: CircuitConfig, cell: str) -> CircuitConfig:
    """``config`` with weight cell ``cell``: a programmable cell brings its own window (single
    mode, its codes, its largest conductance) and its mismatch (the array's mismatch_sigma
    goes to 0); an ideal one keeps the config's."""
    window = get_part(PartKind.CELL, cell).window
    if window is None:
        return replace(config, array=replace(config.array, cell=cell))
    mapping = replace(config.mapping, mode=MappingMode.SINGLE, g_max_s=window.g_max_s,
                      g_min_s=min(config.mapping.g_min_s, window.g_lsb_s))
    array = replace(config.array, cell=cell, levels=window.codes, mismatch_sigma=0.0)
    return replace(config, mapping=mapping, array=array)


LEVEL_MAPPING: dict[str, MappingConfig] = {
    "cmos": MappingConfig(g_min_s=0.01e-6, g_max_s=1e-6, v_fs=0.25),
}
"""A level's own conductance window and full scale, where it is not the default's: the CMOS
neuron's 1.8 V process swings +-0.8 V, and its low bias currents drive a 1 uS window."""
LEVEL_SUPPLIES: dict[str, SupplyConfig] = {
    "cmos": SupplyConfig(vdd_v=0.9, vss_v=-0.9, input_vdd_v=0.9, input_vss_v=-0.9),
}
"""A level's own supplies [V], where they are not the default's (the CMOS neuron: one 1.8 V
supply around a mid-rail analog ground)."""


def level_mapping(level: str) -> MappingConfig:
    """The default mapping of neuron ``level``."""
    get_neuron(level)
    return LEVEL_MAPPING.get(level, MappingConfig())


def circuit_config(level: str, array: ArrayConfig | None = None,
                   mapping: MappingConfig | None = None, noise: NoiseConfig | None = None,
                   cell: str | None = None, **opamp_changes: float) -> CircuitConfig:
    """The default circuit at neuron ``level`` (its mapping and supplies), with op-amp
    parameters overridden, and weight cell ``cell`` (with_cell) where given."""
    neuron = get_neuron(level)
    if opamp_changes:
        neuron = neuron.with_opamp(**opamp_changes)
    array = array or ArrayConfig()
    config = CircuitConfig(neuron=neuron, mapping=mapping or level_mapping(level),
                           array=replace(array, cell="resistor"),
                           supplies=LEVEL_SUPPLIES.get(level, SupplyConfig()),
                           noise=noise or NoiseConfig())
    return with_cell(config, cell or array.cell)


def scale_currents(config: CircuitConfig, ratio: float) -> CircuitConfig:
    """``config`` with every current ``ratio`` times its value at the same voltages and time
    constant: the conductance window, the CMOS bias currents, its Miller capacitance (the OTA's
    bandwidth stays) and its attenuator's conductance; tau stays, so C_f scales too. Static
    power and every conductance's thermal noise current scale by ``ratio``."""
    _finite(ratio, "current ratio")
    if not ratio > 0:
        raise InputError(f"the current ratio must be > 0, got {ratio}")
    mapping = replace(config.mapping, g_min_s=config.mapping.g_min_s * ratio,
                      g_max_s=config.mapping.g_max_s * ratio)
    cmos = config.neuron.cmos
    if cmos is not None:
        cmos = replace(cmos, ota_bias_a=cmos.ota_bias_a * ratio, ota_cc_f=cmos.ota_cc_f * ratio,
                       ota_rz_ohm=cmos.ota_rz_ohm / ratio, pair_tail_a=cmos.pair_tail_a * ratio,
                       attenuator_ohm=cmos.attenuator_ohm / ratio)
    return replace(config, mapping=mapping, neuron=replace(config.neuron, cmos=cmos))
