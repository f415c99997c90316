"""The compiler: CoreWeights -> CrossbarCircuit (weights -> conductances, values -> volts)."""

from __future__ import annotations

import numpy as np
import torch

from codesign.circuit.config import CircuitConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.mapping import map_weights, program
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError
from codesign.parts import Process, chip_parts


def _programming_noise(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, ...]:
    """Standard normal draws for every device, drawn block by block (W+, W-, U+, U-, b+, b-),
    laid out as the rows [W | U | b] of the plus and of the minus cells."""
    w_p, w_m, u_p, u_m, b_p, b_m = (rng.standard_normal(shape) for shape in
                                    ((n, n), (n, n), (n, m), (n, m), (n,), (n,)))
    return (np.concatenate([w_p, u_p, b_p[:, None]], axis=1),
            np.concatenate([w_m, u_m, b_m[:, None]], axis=1))


def _pair_area(n: int, config: CircuitConfig, rng: np.random.Generator | None):
    if chip_parts(config).activation.name != "bjt_pair":
        return None
    sigma = config.neuron.pair_mismatch_sigma
    noise = rng.standard_normal((n, 2)) if sigma > 0 else np.zeros((n, 2))
    return np.clip(1.0 + sigma * noise, 0.2, None)


def _device_mismatch(config: CircuitConfig) -> bool:
    """Whether ngspice draws the process's device mismatch (seeded per chip instance)."""
    cmos = config.neuron.cmos
    return (chip_parts(config).process == Process.SKY130 and cmos is not None
            and cmos.device_mismatch)


def _spice_seed(config: CircuitConfig, rng: np.random.Generator | None) -> int | None:
    drawn = config.noise.enabled or _device_mismatch(config)
    return int(rng.integers(1, 2**30)) if drawn else None


def _check(core: CoreWeights, config: CircuitConfig, rng) -> None:
    activation = chip_parts(config).activation
    if activation.realises is not None and core.activation not in activation.realises:
        raise InputError(f"the {config.neuron.level} neuron (a differential pair) realises "
                         f"{', '.join(sorted(activation.realises))} only, the core uses "
                         f"{core.activation!r}; use --neuron opamp")
    random = (config.array.mismatch_sigma > 0 or config.neuron.pair_mismatch_sigma > 0
              or _device_mismatch(config) or config.noise.enabled)
    if random and rng is None:
        raise InputError("device mismatch and noise need a seeded numpy Generator (rng=...; "
                         "--seed)")


def compile_core(core: CoreWeights, config: CircuitConfig,
                 rng: np.random.Generator | None = None) -> CrossbarCircuit:
    """Map ``core`` onto a crossbar with op-amp neurons as described by ``config``.

    The largest |weight| of a row maps to g_max_s (both cells of a pair within the window), and
    C_f,i = tau * G_f,i so every neuron has the time constant ``config.neuron.tau_s``. Then the
    array's non-idealities (``config.array``): quantization and programming mismatch, drawn from
    ``rng`` (required when a mismatch sigma is set), as are bjt_pair area mismatches.
    """
    _check(core, config, rng)
    n, m = core.n, core.m
    full = torch.from_numpy(np.concatenate([core.W, core.U, core.b[:, None]], axis=1))
    plus, minus, gf = map_weights(full, config.mapping, config.array)
    sigma = config.array.mismatch_sigma
    if sigma > 0:
        noise_plus, noise_minus = _programming_noise(rng, n, m)
        plus = program(plus, sigma, torch.from_numpy(noise_plus))
        minus = program(minus, sigma, torch.from_numpy(noise_minus))
    plus, minus, gf = plus.numpy(), minus.numpy(), gf.numpy()
    w, u, b = slice(0, n), slice(n, n + m), n + m
    cells = {f"g_{name}_{side}": np.ascontiguousarray(g[:, cols])
             for name, cols in (("w", w), ("u", u), ("b", b))
             for side, g in (("plus", plus), ("minus", minus))}
    return CrossbarCircuit(
        config=config,
        activation=core.activation,
        g_feedback=gf,
        c_feedback=gf * config.neuron.tau_s,
        **cells,
        offset_v=np.full(n, config.neuron.opamp.offset_v),
        weights_sha256=core.sha256(),
        pair_area=_pair_area(n, config, rng),
        spice_seed=_spice_seed(config, rng),
    )
