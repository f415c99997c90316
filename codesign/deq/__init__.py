"""The model stage: a hybrid deep equilibrium model with an analog-ready core."""

from codesign.deq.activations import ACTIVATIONS, get_activation
from codesign.deq.core import EquilibriumCore
from codesign.deq.implicit import implicit_equilibrium
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.deq.solvers import (
    SOLVERS,
    SolverInfo,
    anderson,
    fixed_point,
    get_solver,
    register_solver,
)
from codesign.deq.weights import CoreWeights, random_core

__all__ = [
    "ACTIVATIONS",
    "SOLVERS",
    "CoreWeights",
    "DEQConfig",
    "EquilibriumCore",
    "HybridDEQ",
    "SolverInfo",
    "anderson",
    "fixed_point",
    "get_activation",
    "get_solver",
    "implicit_equilibrium",
    "random_core",
    "register_solver",
]
