"""The circuit stage: configs, the compiler and the circuit-level equilibrium prediction."""

from codesign.circuit.compile import compile_core
from codesign.circuit.config import (
    IDEAL_OPAMP,
    NEURON_LEVELS,
    CircuitConfig,
    MappingConfig,
    NeuronConfig,
    OpAmpParams,
    SupplyConfig,
    circuit_config,
    get_neuron,
)
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.predict import CircuitPrediction, predict_equilibrium

__all__ = [
    "IDEAL_OPAMP",
    "NEURON_LEVELS",
    "CircuitConfig",
    "CircuitPrediction",
    "CrossbarCircuit",
    "MappingConfig",
    "NeuronConfig",
    "OpAmpParams",
    "SupplyConfig",
    "circuit_config",
    "compile_core",
    "get_neuron",
    "predict_equilibrium",
]
