"""The model stage: a hybrid deep equilibrium model with an analog-ready core, its solvers and
implicit gradients, the core's arrays (the hand-off to the circuit), and checkpoints."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.deq.activations import ACTIVATIONS, get_activation
    from codesign.deq.checkpoint import (
        Checkpoint,
        NetworkCheckpoint,
        is_network_checkpoint,
        load_checkpoint,
        load_network_checkpoint,
        load_npz_core,
        load_source,
        save_checkpoint,
        save_network_checkpoint,
        save_npz_core,
    )
    from codesign.deq.core import EquilibriumCore
    from codesign.deq.implicit import implicit_equilibrium
    from codesign.deq.kirchhoff import (
        TASK_STRUCTURE,
        NetworkCore,
        NetworkDEQ,
        NetworkDEQConfig,
        NetworkKind,
    )
    from codesign.deq.model import Decoder, DEQConfig, Encoder, HybridDEQ
    from codesign.deq.network import NetworkWeights, SourceKind
    from codesign.deq.solvers import (
        SOLVERS,
        SolverInfo,
        anderson,
        fixed_point,
        get_solver,
        register_solver,
    )
    from codesign.deq.weights import CoreWeights, random_core

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
