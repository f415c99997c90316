"""Digital baselines on the same data and seeds: an MLP of about the DEQ's parameter count (the
DEQ's digital twin, trained naively, is the other; the expert controller is the third)."""

from __future__ import annotations

import math

import torch
from torch import nn

from codesign.deq.model import Decoder, DEQConfig, Encoder


class MLP(nn.Module):
    """x -> standardise -> tanh hidden layers -> linear outputs."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], out_features: int,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.register_buffer("x_mean", torch.zeros(in_features))
        self.register_buffer("x_scale", torch.ones(in_features))
        widths = (in_features, *hidden, out_features)
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        with torch.no_grad():
            for lin in self.layers:
                bound = lin.in_features**-0.5
                lin.weight.uniform_(-bound, bound, generator=generator)
                lin.bias.uniform_(-bound, bound, generator=generator)

    def set_standardisation(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            self.x_mean.copy_(x.mean(0))
            self.x_scale.fill_(float(x.std()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = (x - self.x_mean) / self.x_scale
        for lin in self.layers[:-1]:
            h = torch.tanh(lin(h))
        return self.layers[-1](h)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def deq_parameter_count(deq: DEQConfig) -> int:
    """Trainable parameters of a HybridDEQ: encoder (if any), core (V, U, b), decoder."""
    i, m, n, o = deq.in_features, deq.core_inputs, deq.core_size, deq.out_features
    encoder = 0 if deq.encoder is Encoder.NONE else i * m + m
    decoder = 2 * o if deq.decoder is Decoder.PER_NEURON else n * o + o
    return encoder + (n * n + n * m + n) + decoder


def matched_hidden(deq: DEQConfig) -> tuple[int, int]:
    """Two equal hidden widths h whose MLP has about the DEQ's parameter count:
    h^2 + (i + o + 3) h + o = P."""
    i, o, p = deq.in_features, deq.out_features, deq_parameter_count(deq)
    b = i + o + 3
    h = int(round((-b + math.sqrt(b * b + 4 * (p - o))) / 2))
    return (max(h, 1), max(h, 1))


def new_mlp(deq: DEQConfig, x_train: torch.Tensor, seed: int,
            hidden: tuple[int, ...] = ()) -> MLP:
    """The MLP baseline for a DEQ of shape ``deq``, standardised on ``x_train``."""
    mlp = MLP(deq.in_features, hidden or matched_hidden(deq), deq.out_features,
              torch.Generator().manual_seed(seed))
    mlp.set_standardisation(x_train)
    return mlp
