"""HybridDEQ: digital encoder -> analog equilibrium core -> digital decoder."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from codesign.choices import Choice
from codesign.deq.activations import get_activation
from codesign.deq.core import EquilibriumCore
from codesign.deq.solvers import get_solver
from codesign.errors import CheckpointError, InputError
from codesign.schema import from_json


class Encoder(Choice):
    """What stands between a task's inputs and the core's input DACs."""

    LINEAR_TANH = "linear-tanh"
    """A digital layer e = tanh(A x + c): core_inputs x in_features MACs per inference."""
    NONE = "none"
    """The inputs straight to the DACs, each feature's training range mapped onto the DAC's
    full scale (e = clip((x - centre) / half range, -1, 1)): no digital MAC, the core's input
    crossbar U reads the task's features itself (core_inputs = in_features)."""


class Decoder(Choice):
    """What reads the task's outputs from the core's states (the ADC codes)."""

    LINEAR = "linear"
    """A digital layer y = D z + d: out_features x core_size MACs per inference."""
    PER_NEURON = "per-neuron"
    """Each neuron is one output, y_i = a_i z_i + c_i (a gain and an offset per ADC code: one
    multiply each); the core's state is the answer itself (out_features = core_size)."""


class PerNeuron(nn.Module):
    """y = weight * z + bias, elementwise: one output per neuron."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.weight + self.bias


DEFAULT_GAMMA = 0.9
"""The contraction bound ||W||_2 <= gamma of a model unless one is chosen (`--gamma`)."""


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
    gamma: float = DEFAULT_GAMMA
    """Bound on ||W||_2, the contraction factor (< 1)."""
    solver: str = "anderson"
    max_iter: int = 60
    tol: float = 1e-6
    encoder: Encoder = Encoder.LINEAR_TANH
    """linear-tanh (a digital layer before the DACs) or none (inputs straight to the DACs)."""
    decoder: Decoder = Decoder.LINEAR
    """linear (a digital layer after the ADCs) or per-neuron (each neuron one output)."""

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
        object.__setattr__(self, "encoder", Encoder.parse(self.encoder, "encoder"))
        if self.encoder is Encoder.NONE and self.core_inputs != self.in_features:
            raise InputError(
                f"without an encoder the core's inputs are the task's {self.in_features} "
                f"features, not {self.core_inputs}: set core_inputs = in_features")
        object.__setattr__(self, "decoder", Decoder.parse(self.decoder, "decoder"))
        if self.decoder is Decoder.PER_NEURON and self.core_size != self.out_features:
            raise InputError(
                f"a per-neuron decoder reads one output per neuron: the task has "
                f"{self.out_features} outputs, the core {self.core_size} neurons: set "
                "core_size = out_features")

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

    The encoder output is bounded by tanh so that e fits the input DACs' full scale. With
    ``config.encoder`` none there is no encoder layer: e = clip((x - x_mean) / x_scale, -1, 1)
    with x_mean and x_scale each feature's training-range centre and half width. With
    ``config.decoder`` per-neuron, y = a * z* + c elementwise (each neuron one output).
    """

    def __init__(self, config: DEQConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("x_mean", torch.zeros(config.in_features))
        self.register_buffer("x_scale", torch.ones(config.in_features))
        self.encoder = (nn.Linear(config.in_features, config.core_inputs)
                        if config.encoder is Encoder.LINEAR_TANH else None)
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
        self.decoder = (nn.Linear(config.core_size, config.out_features)
                        if config.decoder is Decoder.LINEAR else PerNeuron(config.core_size))
        if generator is not None:
            for lin in (x for x in (self.encoder, self.decoder) if isinstance(x, nn.Linear)):
                bound = lin.in_features**-0.5
                with torch.no_grad():
                    lin.weight.uniform_(-bound, bound, generator=generator)
                    lin.bias.uniform_(-bound, bound, generator=generator)

    def set_standardisation(self, x: torch.Tensor) -> None:
        """Fix the input standardisation from training data: per-feature mean, one global scale
        (a per-feature scale would blow up features that are near-constant in training).
        Without an encoder: each feature's range, its centre and half width (1 where the
        feature is constant, which then reads 0)."""
        with torch.no_grad():
            if self.encoder is None:
                low, high = x.min(0).values, x.max(0).values
                half = (high - low) / 2
                self.x_mean.copy_((high + low) / 2)
                self.x_scale.copy_(torch.where(half > 0, half, torch.ones_like(half)))
                return
            self.x_mean.copy_(x.mean(0))
            self.x_scale.fill_(float(x.std()))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Digital encoder: the core inputs e in [-1, 1]."""
        if self.encoder is None:
            return torch.clamp((x - self.x_mean) / self.x_scale, -1.0, 1.0)
        return torch.tanh(self.encoder((x - self.x_mean) / self.x_scale))

    @property
    def digital_macs(self) -> int:
        """Multiply-accumulates of the digital encoder and decoder per inference."""
        encoder = 0 if self.encoder is None else self.encoder.weight.numel()
        return int(encoder + self.decoder.weight.numel())

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Digital decoder: outputs from the core state."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.core(self.encode(x)))
