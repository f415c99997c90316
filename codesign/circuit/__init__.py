"""The circuit stage: configs, the one weight -> conductance mapping, the compilers (crossbars;
Kirchhoff network cores: codesign.circuit.network), size estimates and the circuit-level
equilibrium prediction."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.circuit.compile import compile_core
    from codesign.circuit.config import (
        IDEAL_OPAMP,
        NEURON_LEVELS,
        ActivationCircuit,
        ArrayConfig,
        CircuitConfig,
        CmosParams,
        ConverterConfig,
        Corner,
        MappingConfig,
        MappingMode,
        NeuronConfig,
        NoiseConfig,
        OpAmpParams,
        Reset,
        SupplyConfig,
        circuit_config,
        get_neuron,
        scale_currents,
    )
    from codesign.circuit.converters import adc, dac
    from codesign.circuit.description import CrossbarCircuit
    from codesign.circuit.dynamics import SETTLE_TOL_FS
    from codesign.circuit.network import NetworkCircuit, compile_network, predict_network
    from codesign.circuit.predict import CircuitPrediction, predict_equilibrium

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
