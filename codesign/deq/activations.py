"""The neuron nonlinearities phi a core may use. All are 1-Lipschitz, which the contraction
guarantee of :mod:`codesign.deq.core` relies on. Written with tensor methods only, so the
registry's names are known without importing torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from codesign.errors import lookup

if TYPE_CHECKING:
    import torch

Activation = Callable[["torch.Tensor"], "torch.Tensor"]


def _tanh(x: torch.Tensor) -> torch.Tensor:
    return x.tanh()


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _hardclip(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(-1.0, 1.0)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": _tanh,
    "identity": _identity,
    "hardclip": _hardclip,
}


SLOPES: dict[str, Activation] = {
    "tanh": lambda x: 1.0 - x.tanh() ** 2,
    "identity": lambda x: x.new_ones(x.shape),
    "hardclip": lambda x: (x.abs() < 1.0).to(x.dtype),
}
"""phi'(x) of each activation (the circuit's small-signal gain)."""


def get_activation(name: str) -> Activation:
    """The activation called ``name``; raises InputError listing the valid names."""
    return lookup(ACTIVATIONS, name, "activation")
