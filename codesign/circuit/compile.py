"""The compiler: CoreWeights -> CrossbarCircuit (weights -> conductances, values -> volts)."""

from __future__ import annotations

import numpy as np
import torch

from codesign.circuit.config import CircuitConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.mapping import (
    feedback_conductance,
    map_weights,
    program,
    quantize,
    split_signed,
)
from codesign.deq.grid import GridWeights
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


def _check(core: CoreWeights | GridWeights, config: CircuitConfig, rng) -> None:
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


def compile_core(core: CoreWeights | GridWeights, config: CircuitConfig,
                 rng: np.random.Generator | None = None) -> CrossbarCircuit:
    """Map ``core`` onto a crossbar with op-amp neurons as described by ``config``.

    The largest |weight| of a row maps to g_max_s (both cells of a pair within the window), and
    C_f,i = tau * G_f,i so every neuron has the time constant ``config.neuron.tau_s``. Then the
    array's non-idealities (``config.array``): quantization and programming mismatch, drawn from
    ``rng`` (required when a mismatch sigma is set), as are bjt_pair area mismatches.
    A GridWeights compiles to a sparse array (``compile_grid``).
    """
    if isinstance(core, GridWeights):
        return compile_grid(core, config, rng)
    if config.array.row_trim:
        raise InputError("array.row_trim applies to grid cores (codesign grid); drop it for a "
                         "dense core")
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


def _check_sparse_array(config: CircuitConfig) -> None:
    """InputError where the array's lines are not ideal: a sparse circuit has no line model."""
    array = config.array
    if array.line_ohm > 0 or array.column_ohm > 0 or array.line_c_f > 0 or array.tile_rows \
            or array.tile_columns:
        raise InputError("a grid core compiles to a sparse array with ideal lines only; set "
                         "line_ohm, column_ohm, line_c_f and the tiles to 0")


def _map_entries(values: np.ndarray, gf_rows: np.ndarray, config: CircuitConfig
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(G_plus, G_minus) of the stored weights ``values`` whose rows have G_f ``gf_rows``
    (one entry each): the dense mapping's split and quantization, entry by entry."""
    plus, minus = split_signed(torch.from_numpy(values)[:, None], torch.from_numpy(gf_rows),
                               config.mapping)
    levels = config.array.levels
    return (quantize(plus, config.mapping, levels)[:, 0].numpy(),
            quantize(minus, config.mapping, levels)[:, 0].numpy())


def _row_trim(ideal, programmed, gf: np.ndarray) -> np.ndarray:
    """G_f of each row scaled so that the programmed recurrent cells, (G+ - G-) / G_f, sum to
    the ideal row's sum (rows whose ideal sum is below 1e-9 keep theirs)."""
    target = np.asarray(ideal.sum(axis=1)).ravel()
    got = np.asarray(programmed.sum(axis=1)).ravel() / gf
    ratio = np.where(np.abs(target) > 1e-9, got / np.where(target == 0, 1.0, target), 1.0)
    if (ratio <= 0).any():
        raise InputError("a programmed row's recurrent cells changed sign under the mismatch; "
                         "row_trim cannot restore it: lower array.mismatch_sigma")
    return gf * ratio


def compile_grid(core: GridWeights, config: CircuitConfig,
                 rng: np.random.Generator | None = None) -> CrossbarCircuit:
    """The crossbar of a grid-local core: the dense compiler's circuit, with a cell pair on each
    stored entry of ``core.sparse()`` only (a position outside the stencil has no device, not a
    g_min pair). g_w_* and g_u_* are CSR matrices with the stencil's sparsity, g_b_* dense.

    Each row's G_f is from its largest |entry| over [W | U | b] (as compile_core), then the
    same split, quantization and programming error per entry. The programming error's normal
    draws come from ``rng`` block by block over the stored entries in CSR order: W+, W-, U+,
    U-, b+, b- (then the bjt_pair areas and the SPICE seed, as compile_core).
    """
    import scipy.sparse as sp  # deferred: only a grid core needs scipy

    _check(core, config, rng)
    _check_sparse_array(config)
    W, U, b = core.sparse()
    W, U = (sp.csr_matrix(a, dtype=np.float64) for a in (W, U))
    for a in (W, U):
        a.sum_duplicates()  # canonical: row-major entries, sorted columns (the deck's order)
    n = core.n
    row_max = np.stack([np.asarray(abs(W).max(axis=1).todense()).ravel(),
                        np.asarray(abs(U).max(axis=1).todense()).ravel(), np.abs(b)], axis=1)
    gf = feedback_conductance(torch.from_numpy(row_max), config.mapping).numpy()
    blocks = {}
    for name, values, rows in (("w", W.data, np.repeat(np.arange(n), np.diff(W.indptr))),
                               ("u", U.data, np.repeat(np.arange(n), np.diff(U.indptr))),
                               ("b", b, np.arange(n))):
        blocks[name] = _map_entries(np.ascontiguousarray(values, np.float64), gf[rows], config)
    sigma = config.array.mismatch_sigma
    if sigma > 0:
        for name in ("w", "u", "b"):
            blocks[name] = tuple(
                program(torch.from_numpy(g), sigma,
                        torch.from_numpy(rng.standard_normal(g.shape))).numpy()
                for g in blocks[name])

    def like(a, data: np.ndarray):
        return sp.csr_matrix((data, a.indices.copy(), a.indptr.copy()), shape=a.shape)

    if config.array.row_trim:
        gf = _row_trim(W, like(W, blocks["w"][0] - blocks["w"][1]), gf)

    cells = {f"g_{name}_{side}": like(a, blocks[name][k])
             for name, a in (("w", W), ("u", U)) for k, side in enumerate(("plus", "minus"))}
    return CrossbarCircuit(
        config=config,
        activation=core.activation,
        g_feedback=gf,
        c_feedback=gf * config.neuron.tau_s,
        **cells,
        g_b_plus=blocks["b"][0],
        g_b_minus=blocks["b"][1],
        offset_v=np.full(n, config.neuron.opamp.offset_v),
        weights_sha256=core.sha256(),
        pair_area=_pair_area(n, config, rng),
        spice_seed=_spice_seed(config, rng),
    )
