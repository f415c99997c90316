"""HybridDEQ: digital encoder -> analog equilibrium core -> digital decoder."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from codesign.deq.activations import get_activation
from codesign.deq.core import EquilibriumCore
from codesign.deq.solvers import get_solver
from codesign.errors import CheckpointError, InputError
from codesign.schema import from_json


@dataclass(frozen=True)
class DEQConfig:
    """Shape and solver settings of a HybridDEQ (all dimensionless)."""

    in_features: int = 64
    """Input features of the digital encoder."""
    core_inputs: int = 48
    """m: width of the encoder output e, the DAC inputs of the analog core."""
    core_size: int = 64
    """n: neurons of the analog core."""
    out_features: int = 10
    """Outputs of the digital decoder (classes, actions, ...)."""
    activation: str = "tanh"
    """phi: tanh, identity or hardclip."""
    gamma: float = 0.9
    """Bound on ||W||_2, the contraction factor (< 1)."""
    solver: str = "anderson"
    max_iter: int = 60
    tol: float = 1e-6

    def __post_init__(self) -> None:
        sizes = {name: getattr(self, name) for name in
                 ("in_features", "core_inputs", "core_size", "out_features", "max_iter")}
        bad = {k: v for k, v in sizes.items() if isinstance(v, bool) or not isinstance(v, int)
               or v < 1}
        if bad:
            raise InputError(f"DEQ sizes must be whole numbers >= 1, got {bad}")
        get_activation(self.activation)
        get_solver(self.solver)
        if not (isinstance(self.gamma, float | int) and 0.0 < self.gamma < 1.0):
            raise InputError(f"gamma must lie in (0, 1) for a contraction, got {self.gamma!r}")
        if not (isinstance(self.tol, float | int) and 0.0 < self.tol < 1.0):
            raise InputError(f"tol must lie in (0, 1), got {self.tol!r}")

    @classmethod
    def from_dict(cls, data: dict) -> DEQConfig:
        """Build from a checkpoint's config dict; unknown keys or wrong types are an error."""
        if not isinstance(data, dict):
            raise CheckpointError("checkpoint config is not a table of DEQConfig fields")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise CheckpointError(
                f"checkpoint config has unknown keys {sorted(unknown)}; it was written by a "
                "newer codesign: upgrade codesign"
            )
        try:
            return from_json(cls, data, "checkpoint config")
        except InputError as exc:
            raise CheckpointError(str(exc)) from None

    def to_dict(self) -> dict:
        return asdict(self)


class HybridDEQ(nn.Module):
    """x -> standardise -> e = tanh(A x + c) -> z* = phi(W z* + U e + b) -> logits = D z* + d.

    The encoder output is bounded by tanh so that e fits the input DACs' full scale.
    """

    def __init__(self, config: DEQConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("x_mean", torch.zeros(config.in_features))
        self.register_buffer("x_scale", torch.ones(config.in_features))
        self.encoder = nn.Linear(config.in_features, config.core_inputs)
        self.core = EquilibriumCore(
            config.core_size,
            config.core_inputs,
            activation=config.activation,
            gamma=config.gamma,
            solver=config.solver,
            max_iter=config.max_iter,
            tol=config.tol,
            generator=generator,
        )
        self.decoder = nn.Linear(config.core_size, config.out_features)
        if generator is not None:
            for lin in (self.encoder, self.decoder):
                bound = lin.in_features**-0.5
                with torch.no_grad():
                    lin.weight.uniform_(-bound, bound, generator=generator)
                    lin.bias.uniform_(-bound, bound, generator=generator)

    def set_standardisation(self, x: torch.Tensor) -> None:
        """Fix the input standardisation from training data: per-feature mean, one global scale
        (a per-feature scale would blow up features that are near-constant in training)."""
        with torch.no_grad():
            self.x_mean.copy_(x.mean(0))
            self.x_scale.fill_(float(x.std()))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Digital encoder: the core inputs e in [-1, 1]."""
        return torch.tanh(self.encoder((x - self.x_mean) / self.x_scale))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Digital decoder: outputs from the core state."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.core(self.encode(x)))
