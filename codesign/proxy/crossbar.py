"""The crossbar half of the proxy: weights -> the effective (W, U, b) and noise gain the array
realises, in torch and differentiable.

Two entry points give the same EffectiveCore: :func:`from_circuit` reads a compiled instance's
conductances (exactly what SPICE simulates); :func:`from_weights` maps trainable weights
with the compiler's own mapping (codesign.circuit.mapping), quantization as a
straight-through estimator and programming mismatch drawn from an explicit generator. Both add
read noise when asked and the lines' wire resistance, tile by tile (codesign.circuit.lines).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from codesign.circuit.config import ArrayConfig, MappingConfig, Wires
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.lines import line_network, row_positions
from codesign.circuit.mapping import map_weights, program
from codesign.parts import PartKind, get_part


class EffectiveCore(NamedTuple):
    """What one row of the array computes: x_i ~ W z + U e + b, the op-amp noise gain, and the
    conductances that set the row's thermal noise."""

    W: torch.Tensor
    U: torch.Tensor
    b: torch.Tensor
    noise_gain: torch.Tensor
    g_total: torch.Tensor
    """(n,) all conductance into each summing node, its cells and its feedback [S]."""
    g_feedback: torch.Tensor
    """(n,) each row's feedback conductance [S]."""
    coupling: torch.Tensor | None = None
    """(n, n) the rows' sneak coupling through resistive column lines, Y_ss,ij / G_f,i off the
    diagonal (codesign.circuit.lines); None without them."""


def _relative_noise(g: torch.Tensor, sigma: float, generator: torch.Generator | None):
    """A relative error per device drawn from ``generator`` (programming or read noise)."""
    if sigma <= 0:
        return g
    return program(g, sigma, torch.randn(g.shape, generator=generator, dtype=g.dtype,
                                         device=g.device))


def row_load(plus: torch.Tensor, minus: torch.Tensor, cell: str) -> torch.Tensor | None:
    """(n,) what the rows' cells of kind ``cell`` add from each summing node to analog ground
    beyond their weights [S] (codesign.parts.base.Cell.row_load_s, by the programmed codes: no
    gradient); None for a cell that adds none (no copy off the device each step)."""
    part = get_part(PartKind.CELL, cell)
    if not part.loads_row:
        return None
    load = sum(part.row_load_s(g.detach().cpu().numpy()).sum(1) for g in (plus, minus))
    return torch.as_tensor(load, dtype=plus.dtype, device=plus.device)


def effective(plus: torch.Tensor, minus: torch.Tensor, gf: torch.Tensor, n: int, m: int,
              wires: Wires, load: torch.Tensor | None = None) -> EffectiveCore:
    """(n, n + m + 1) plus/minus conductances over [W | U | b] and (n,) feedback conductances
    -> EffectiveCore, through the array's lines and tiles (effective conductances and each
    row's Thevenin conductance, with ``load`` (n,) [S] the cells add to ground: row_load)."""
    cells = row_positions(plus, minus)
    lines, g_th, coupling = line_network(cells, wires)
    if load is not None:
        g_th = g_th + load
    lines = lines.reshape(plus.shape + (2,))
    full = (lines[..., 0] - lines[..., 1]) / gf[:, None]
    g_total = plus.sum(1) + minus.sum(1) + gf + (0.0 if load is None else load)
    coupling = None if coupling is None else coupling / gf.detach()[:, None]
    return EffectiveCore(full[:, :n], full[:, n : n + m], full[:, n + m], 1.0 + g_th / gf,
                         g_total, gf, coupling)


def from_circuit(circuit: CrossbarCircuit, read_noise_sigma: float = 0.0,
                 generator: torch.Generator | None = None) -> EffectiveCore:
    """The compiled instance ``circuit`` (float64), with optional read noise."""
    plus, minus = (torch.from_numpy(g) for g in circuit.row_cells())
    plus = _relative_noise(plus, read_noise_sigma, generator)
    minus = _relative_noise(minus, read_noise_sigma, generator)
    gf = torch.from_numpy(circuit.g_feedback)
    load = circuit.row_load_s
    return effective(plus, minus, gf, circuit.n, circuit.m, circuit.config.array.wires,
                     torch.from_numpy(load) if load.any() else None)


def from_weights(
    W: torch.Tensor, U: torch.Tensor, b: torch.Tensor, mapping: MappingConfig,
    array: ArrayConfig, generator: torch.Generator | None = None, read_noise_sigma: float = 0.0,
) -> EffectiveCore:
    """Map weights to conductances like the compiler (quantization straight-through), then draw
    a programming error per device (``array.mismatch_sigma``) and read noise from
    ``generator``: plus cells first, then minus cells."""
    full = torch.cat([W, U, b[:, None]], dim=1)
    plus, minus, gf = map_weights(full, mapping, array, straight_through=True)
    load = row_load(plus, minus, str(array.cell))
    plus, minus = (
        _relative_noise(_relative_noise(g, array.mismatch_sigma, generator), read_noise_sigma,
                        generator)
        for g in (plus, minus)
    )
    return effective(plus, minus, gf, W.shape[0], U.shape[1], array.wires, load)


def stack(cores: list[EffectiveCore]) -> EffectiveCore:
    """C cores of the same size as one batched EffectiveCore (W: (C, n, n), ...)."""
    return EffectiveCore(*(None if parts[0] is None else torch.stack(parts)
                           for parts in zip(*cores, strict=True)))
