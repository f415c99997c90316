"""The analog-digital boundary: DAC and ADC rounding with a straight-through gradient, their
energy from the figure of merit, and both in the physics-aware forward pass and on a chip."""

import numpy as np
import pytest
import torch

from codesign.chip.chip import Chip
from codesign.circuit.config import ConverterConfig, circuit_config
from codesign.circuit.converters import adc_np, convert, dac_np
from codesign.deq import random_core
from codesign.errors import InputError
from codesign.references import ADC_WALDEN_FOM, DAC_FOM


def test_a_converter_rounds_to_its_codes_and_clips_to_its_range():
    x = torch.linspace(-1.5, 1.5, 301, dtype=torch.float64)
    y = convert(x, 3, 1.0)
    codes = torch.unique(y)
    assert len(codes) == 8 and codes.min() == -1.0 and codes.max() == 1.0
    np.testing.assert_allclose(torch.diff(codes).numpy(), 2.0 / 7, rtol=1e-12)
    inside = x.abs() <= 1
    assert float((y - x)[inside].abs().max()) <= 1.0 / 7 + 1e-12
    assert torch.equal(convert(x, 0, 1.0), x)


def test_the_straight_through_gradient_passes_inside_the_range_only():
    x = torch.tensor([-2.0, -0.31, 0.2, 0.77, 3.0], dtype=torch.float64, requires_grad=True)
    convert(x, 4, 1.0, straight_through=True).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_conversion_energy_is_the_figure_of_merit_times_the_codes():
    c = ConverterConfig(dac_bits=6, adc_bits=8)
    expected = 5 * DAC_FOM.value * 1e-15 * 2**6 + 3 * ADC_WALDEN_FOM.value * 1e-15 * 2**8
    assert c.energy_j(n=3, m=5) == pytest.approx(expected, rel=1e-12)
    assert ConverterConfig(dac_bits=0, adc_bits=0).energy_j(3, 5) == 0.0
    for bad in ({"dac_bits": 17}, {"adc_bits": -1}, {"adc_bits": 2.5}, {"range_fs": 0.0},
                {"adc_fom_j": float("nan")}):
        with pytest.raises(InputError):
            ConverterConfig(**bad)


def test_a_chip_converts_its_inputs_and_outputs(rng):
    config = circuit_config("opamp")
    chip = Chip(random_core(3, 2, 0.5, rng), config)
    e = rng.uniform(-1.2, 1.2, (4, 2))
    np.testing.assert_array_equal(chip.dac(e), dac_np(e, config.converters))
    assert np.all(np.abs(chip.dac(e)) <= 1.0)
    assert len(np.unique(adc_np(rng.uniform(-1, 1, 1000), config.converters))) <= 256
