"""The neuron nonlinearities phi a core may use. All are 1-Lipschitz, which the contraction
guarantee of :mod:`codesign.deq.core` relies on."""

from __future__ import annotations

from collections.abc import Callable

import torch

from codesign.errors import lookup

Activation = Callable[[torch.Tensor], torch.Tensor]


def _hardclip(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(-1.0, 1.0)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "identity": _identity,
    "hardclip": _hardclip,
}


SLOPES: dict[str, Activation] = {
    "tanh": lambda x: 1.0 - torch.tanh(x) ** 2,
    "identity": torch.ones_like,
    "hardclip": lambda x: (x.abs() < 1.0).to(x.dtype),
}
"""phi'(x) of each activation (the circuit's small-signal gain)."""


def get_activation(name: str) -> Activation:
    """The activation called ``name``; raises InputError listing the valid names."""
    return lookup(ACTIVATIONS, name, "activation")
