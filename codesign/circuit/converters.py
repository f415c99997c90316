"""The analog-digital boundary as arithmetic: the input DACs round the core inputs and the output
ADCs round the neuron outputs to their bit widths (codesign.circuit.config.ConverterConfig),
in torch with an optional straight-through gradient (training) and in numpy (evaluation)."""

from __future__ import annotations

import numpy as np
import torch

from codesign.circuit.config import ConverterConfig


def convert(x: torch.Tensor, bits: int, range_fs: float,
            straight_through: bool = False) -> torch.Tensor:
    """``x`` [FS] clipped to [-range_fs, range_fs] and rounded to 2^bits evenly spaced codes
    (``bits`` = 0: unchanged); with ``straight_through`` the gradient passes as if there were
    no rounding (the clipping keeps its gradient of 0 outside the range)."""
    if bits == 0:
        return x
    step = 2.0 * range_fs / (2**bits - 1)
    clipped = torch.clamp(x, -range_fs, range_fs)
    rounded = -range_fs + torch.round((clipped + range_fs) / step) * step
    return clipped + (rounded - clipped).detach() if straight_through else rounded


def dac(e: torch.Tensor, converters: ConverterConfig,
        straight_through: bool = False) -> torch.Tensor:
    """The core inputs as the input DACs set them [FS]."""
    return convert(e, converters.dac_bits, converters.range_fs, straight_through)


def adc(z: torch.Tensor, converters: ConverterConfig,
        straight_through: bool = False) -> torch.Tensor:
    """The neuron outputs as the output ADCs read them [FS]."""
    return convert(z, converters.adc_bits, converters.range_fs, straight_through)


def dac_np(e: np.ndarray, converters: ConverterConfig) -> np.ndarray:
    """:func:`dac` on a numpy array (float64)."""
    return dac(torch.from_numpy(np.asarray(e, np.float64)), converters).numpy()


def adc_np(z: np.ndarray, converters: ConverterConfig) -> np.ndarray:
    """:func:`adc` on a numpy array (float64)."""
    return adc(torch.from_numpy(np.asarray(z, np.float64)), converters).numpy()
