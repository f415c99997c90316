"""The one weight -> conductance mapping, used by the compiler (numpy in, the programmed
instance out: codesign.circuit.compile) and by the proxy (torch, differentiable:
codesign.proxy.crossbar). Rows are [W | U | b] of a core; each weight w is the difference of two
cells, w = (G_plus - G_minus) / G_f,i (MappingConfig).

Randomness is an argument: ``program`` takes the standard normal draws of the programming
error, so the compiler draws them from a numpy Generator and the proxy from a torch Generator,
each in its own fixed order.
"""

from __future__ import annotations

import torch

from codesign.circuit.config import ArrayConfig, MappingConfig, MappingMode


def window_low(mapping: MappingConfig) -> float:
    """The low end of the window a cell's conductance is mapped into [S] (0 in single mode)."""
    return mapping.g_min_s if mapping.mode == MappingMode.DIFFERENTIAL else 0.0


def feedback_conductance(full: torch.Tensor, mapping: MappingConfig) -> torch.Tensor:
    """(n,) G_f,i: the largest |weight| of row i (or of the whole core) uses the whole window.
    No gradient flows through the scale."""
    magnitude = full.detach().abs()
    scale = magnitude.amax(1) if mapping.per_row else magnitude.amax().expand(full.shape[0])
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (mapping.g_max_s - window_low(mapping)) / scale


def split_signed(full: torch.Tensor, gf: torch.Tensor,
                 mapping: MappingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(G_plus, G_minus) with (G_plus - G_minus) / G_f,i = w, both cells in the window."""
    plus = torch.relu(full) * gf[:, None]
    minus = torch.relu(-full) * gf[:, None]
    if mapping.mode == MappingMode.DIFFERENTIAL:
        return plus + mapping.g_min_s, minus + mapping.g_min_s
    return plus, minus


def quantize(g: torch.Tensor, mapping: MappingConfig, levels: int,
             straight_through: bool = False) -> torch.Tensor:
    """Every existing device (g > 0) rounded to the nearest of ``levels`` evenly spaced
    conductances over the window (0: continuous); with ``straight_through`` the gradient passes
    as if there were no rounding."""
    if levels == 0:
        return g
    low = window_low(mapping)
    step = (mapping.g_max_s - low) / (levels - 1)
    rounded = torch.where(g > 0, low + torch.round((g - low) / step) * step, g)
    return g + (rounded - g).detach() if straight_through else rounded


def program(g: torch.Tensor, sigma: float, normal: torch.Tensor) -> torch.Tensor:
    """A relative programming (or read) error per device, G -> G (1 + sigma N), given the
    standard normal draws ``normal``; a device cannot go negative, a missing one stays 0."""
    return torch.clamp(g * (1.0 + sigma * normal), min=0.0) * (g > 0)


def map_weights(full: torch.Tensor, mapping: MappingConfig, array: ArrayConfig,
                straight_through: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(G_plus, G_minus, G_f) of the rows ``full`` = [W | U | b], quantized to the array's
    levels; the programming error is applied by the caller (``program``) with its own draws."""
    gf = feedback_conductance(full, mapping)
    plus, minus = split_signed(full, gf, mapping)
    return (quantize(plus, mapping, array.levels, straight_through),
            quantize(minus, mapping, array.levels, straight_through), gf)
