"""The physics-aware proxy: a differentiable model of the compiled circuit (crossbar and
neurons), with typed, serialisable parameters fitted to SPICE by codesign.calibration."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.proxy.crossbar import EffectiveCore, from_circuit, from_weights, stack
    from codesign.proxy.fitted import FittedRange, ProxyRangeWarning, check_range
    from codesign.proxy.model import CircuitProxy, NeuronSpread
    from codesign.proxy.params import (
        ProxyParams,
        default_params_path,
        ideal_params,
        load_params,
        nominal_params,
        save_params,
    )

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
