"""The compiler: CoreWeights -> CrossbarCircuit (weights -> conductances, values -> volts)."""

from __future__ import annotations

import numpy as np

from codesign.circuit.config import ArrayConfig, CircuitConfig, MappingConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError


def row_scales(W: np.ndarray, U: np.ndarray, b: np.ndarray, per_row: bool) -> np.ndarray:
    """(n,) the largest |weight| of each row (or of the whole core) over [W U b]."""
    full = np.abs(np.concatenate([W, U, b[:, None]], axis=1))
    scale = full.max(1) if per_row else np.full(W.shape[0], full.max())
    return np.where(scale > 0, scale, 1.0)


def split_signed(
    w: np.ndarray, gf: np.ndarray, mapping: MappingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Conductance pair (G_plus, G_minus) with (G_plus - G_minus) / gf = w, per row gf."""
    gf = gf.reshape((-1,) + (1,) * (w.ndim - 1))
    pos = np.maximum(w, 0.0) * gf
    neg = np.maximum(-w, 0.0) * gf
    if mapping.mode == "differential":
        return pos + mapping.g_min_s, neg + mapping.g_min_s
    return pos, neg


def quantize(g: np.ndarray, mapping: MappingConfig, levels: int) -> np.ndarray:
    """Round every existing device (g > 0) to the nearest of ``levels`` evenly spaced
    conductances over the window (the window's low end is 0 in single mode)."""
    if levels == 0:
        return g
    low = mapping.g_min_s if mapping.mode == "differential" else 0.0
    step = (mapping.g_max_s - low) / (levels - 1)
    rounded = low + np.round((g - low) / step) * step
    return np.where(g > 0, rounded, 0.0)


def program(g: np.ndarray, mapping: MappingConfig, array: ArrayConfig,
            rng: np.random.Generator | None) -> np.ndarray:
    """Target conductances -> programmed ones: quantized, then a relative programming error
    per device (clipped at 0: a device cannot go negative)."""
    g = quantize(g, mapping, array.levels)
    if array.mismatch_sigma > 0:
        g = np.where(g > 0, g * (1.0 + array.mismatch_sigma * rng.standard_normal(g.shape)), 0)
        g = np.maximum(g, 0.0)
    return g


def _pair_area(n: int, config: CircuitConfig, rng: np.random.Generator | None):
    if config.neuron.activation_circuit != "bjt_pair":
        return None
    sigma = config.neuron.pair_mismatch_sigma
    noise = rng.standard_normal((n, 2)) if sigma > 0 else np.zeros((n, 2))
    return np.clip(1.0 + sigma * noise, 0.2, None)


def _check(core: CoreWeights, config: CircuitConfig, rng) -> None:
    if config.neuron.activation_circuit == "bjt_pair" and core.activation != "tanh":
        raise InputError(f"the {config.neuron.level} neuron (a BJT differential pair) realises "
                         f"tanh only, the core uses {core.activation!r}; use --neuron opamp")
    random = config.array.mismatch_sigma > 0 or config.neuron.pair_mismatch_sigma > 0
    if random and rng is None:
        raise InputError("device mismatch needs a seeded numpy Generator (rng=...; --seed)")


def compile_core(core: CoreWeights, config: CircuitConfig,
                 rng: np.random.Generator | None = None) -> CrossbarCircuit:
    """Map ``core`` onto a crossbar with op-amp neurons as described by ``config``.

    The largest |weight| of a row maps to g_max_s (both cells of a pair within the window), and
    C_f,i = tau * G_f,i so every neuron has the time constant ``config.neuron.tau_s``. Then the
    array's non-idealities (``config.array``): quantization and programming mismatch, drawn from
    ``rng`` (required when a mismatch sigma is set), as are bjt_pair area mismatches.
    """
    _check(core, config, rng)
    mapping = config.mapping
    span = mapping.g_max_s - (mapping.g_min_s if mapping.mode == "differential" else 0.0)
    gf = span / row_scales(core.W, core.U, core.b, mapping.per_row)
    g_w, g_u, g_b = (
        tuple(program(g, mapping, config.array, rng) for g in split_signed(w, gf, mapping))
        for w in (core.W, core.U, core.b)
    )
    return CrossbarCircuit(
        config=config,
        activation=core.activation,
        g_feedback=gf,
        c_feedback=gf * config.neuron.tau_s,
        g_w_plus=g_w[0],
        g_w_minus=g_w[1],
        g_u_plus=g_u[0],
        g_u_minus=g_u[1],
        g_b_plus=g_b[0],
        g_b_minus=g_b[1],
        offset_v=np.full(core.n, config.neuron.opamp.offset_v),
        weights_sha256=core.sha256(),
        pair_area=_pair_area(core.n, config, rng),
    )
