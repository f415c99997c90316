"""Physics-aware forward pass: a HybridDEQ whose core is replaced by the calibrated proxy of the
circuit it compiles to.

The digital encoder and decoder stay as they are; the core's weights go through the compiler's
mapping (quantization as a straight-through estimator, a fresh programming-mismatch and
read-noise draw per call from the generator passed in), and the equilibrium is the proxy's
(finite gain, rails, the fitted neuron shape, per-neuron spread), with implicit gradients. With
a new draw per training step the model learns weights whose circuit keeps its accuracy on any
chip of the distribution (Wright et al., Nature 2022; Rasch et al., Nat. Commun. 2023).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import torch

from codesign.circuit.config import CircuitConfig
from codesign.circuit.converters import adc, dac
from codesign.deq.model import HybridDEQ
from codesign.proxy.crossbar import EffectiveCore, from_weights
from codesign.proxy.model import CircuitProxy, NeuronSpread
from codesign.proxy.params import ProxyParams


@dataclass(frozen=True)
class HardwareModel:
    """The circuit a model is trained for or evaluated on, as the proxy sees it."""

    params: ProxyParams
    """Calibrated proxy parameters of the neuron (calibration/LEVEL.json or a loop's refit)."""
    circuit: CircuitConfig
    """Mapping and array non-idealities (levels, mismatch_sigma, line_ohm)."""
    tol: float = 1e-6
    """Equilibrium tolerance of the proxy's Anderson solve during training."""
    max_iter: int = 80
    spread: NeuronSpread | None = None
    """One chip instance's own per-neuron terms (codesign.calibration.trim), used at every step
    instead of drawn ones: training for that chip, not for the process's distribution."""

    def with_array(self, **changes) -> HardwareModel:
        """A copy with array settings changed (levels, mismatch_sigma, line_ohm)."""
        return replace(self, circuit=replace(self.circuit,
                                             array=replace(self.circuit.array, **changes)))

    def with_gain(self, dc_gain: float) -> HardwareModel:
        """A copy whose op-amps have DC gain ``dc_gain`` [V/V] (circuit and proxy)."""
        neuron = self.circuit.neuron.with_opamp(dc_gain=dc_gain)
        return replace(self, params=self.params.replace(dc_gain=dc_gain),
                       circuit=replace(self.circuit, neuron=neuron))

    @cached_property
    def proxy(self) -> CircuitProxy:
        """The proxy of ``params`` (built once per HardwareModel, not per training step)."""
        return CircuitProxy(self.params, self.circuit.mapping.v_fs)

    def core(self, model: HybridDEQ, generator: torch.Generator | None) -> EffectiveCore:
        """One chip instance of ``model``'s core (float64, differentiable in the weights)."""
        core = model.core
        return from_weights(core.weight().double(), core.U.double(), core.b.double(),
                            self.circuit.mapping, self.circuit.array, generator=generator,
                            read_noise_sigma=self.params.read_noise_sigma)

    def forward(self, model: HybridDEQ, x: torch.Tensor,
                generator: torch.Generator | None) -> torch.Tensor:
        """Model outputs with the core computed by the proxy on a fresh chip instance, its
        inputs through the DACs and its outputs through the ADCs (straight-through)."""
        spread = self.spread
        if spread is None and (self.params.neuron_gain_sigma > 0
                               or self.params.neuron_offset_sigma_fs > 0):
            spread = NeuronSpread.sample(self.params, model.config.core_size, generator)
        converters = self.circuit.converters
        e = dac(model.encode(x).double(), converters, straight_through=True)
        _, z = self.proxy.equilibrium(self.core(model, generator), e, spread, tol=self.tol,
                                      max_iter=self.max_iter)
        z = adc(z, converters, straight_through=True)
        return model.decode(z.to(x.dtype))
