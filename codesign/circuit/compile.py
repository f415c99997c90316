"""The compiler: CoreWeights -> CrossbarCircuit (weights -> conductances, values -> volts)."""

from __future__ import annotations

import numpy as np

from codesign.circuit.config import CircuitConfig, MappingConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.deq.weights import CoreWeights


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


def compile_core(core: CoreWeights, config: CircuitConfig) -> CrossbarCircuit:
    """Map ``core`` onto a crossbar with op-amp neurons as described by ``config``.

    The largest |weight| of a row maps to g_max_s (both cells of a pair within the window), and
    C_f,i = tau * G_f,i so every neuron has the time constant ``config.neuron.tau_s``.
    """
    mapping = config.mapping
    span = mapping.g_max_s - (mapping.g_min_s if mapping.mode == "differential" else 0.0)
    gf = span / row_scales(core.W, core.U, core.b, mapping.per_row)
    g_w = split_signed(core.W, gf, mapping)
    g_u = split_signed(core.U, gf, mapping)
    g_b = split_signed(core.b, gf, mapping)
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
    )
