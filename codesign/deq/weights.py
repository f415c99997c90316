"""CoreWeights: the arrays of a trained equilibrium core, the hand-off from model to circuit.

z* = phi(W z* + U e + b), with W (n x n), U (n x m), b (n), phi named by ``activation``.
Float64 numpy arrays; validated on construction (shapes, finite values).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from codesign.deq.activations import get_activation
from codesign.deq.solvers import fixed_point
from codesign.errors import InputError, UnstableCoreError


def real_array(values, what: str) -> np.ndarray:
    """``values`` as a float64 array; InputError for complex, text or object entries (which
    would otherwise be cut to their real part or fail deep inside)."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} are not a rectangular array of numbers ({exc})") from None
    if arr.dtype.kind == "c":
        raise InputError(f"{what} are complex; codesign takes real numbers only: pass the real "
                         "array you mean")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{what} must be numbers, got an array of {arr.dtype}; save a numeric "
                         "array")
    return arr.astype(np.float64)


@dataclass(frozen=True, eq=False)
class CoreWeights:
    """The arrays of one equilibrium core (model units: an activation of 1.0 is full scale)."""

    W: np.ndarray
    U: np.ndarray
    b: np.ndarray
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if not isinstance(self.activation, str):
            raise InputError(f"core activation must be a name, got {self.activation!r}")
        get_activation(self.activation)
        for name in ("W", "U", "b"):
            arr = real_array(getattr(self, name), f"core {name}")
            bad = int(np.size(arr) - np.isfinite(arr).sum())
            if bad:
                raise InputError(
                    f"core {name} has {bad} NaN/inf entries; retrain or fix the weights"
                )
            object.__setattr__(self, name, arr)
        n = self.W.shape[0] if self.W.ndim == 2 else -1
        if self.W.ndim != 2 or self.W.shape[1] != n:
            raise InputError(f"core W must be square (n x n), got shape {self.W.shape}")
        if self.U.ndim != 2 or self.U.shape[0] != n:
            raise InputError(f"core U must be n x m with n={n} rows, got shape {self.U.shape}")
        if self.b.shape != (n,):
            raise InputError(f"core b must have shape ({n},) to match W, got {self.b.shape}")
        if n < 1 or self.U.shape[1] < 1:
            raise InputError(f"a core needs n >= 1 neurons and m >= 1 inputs, got W "
                             f"{self.W.shape} and U {self.U.shape}")

    @property
    def n(self) -> int:
        """Number of neurons (state size)."""
        return self.W.shape[0]

    @property
    def m(self) -> int:
        """Number of core inputs."""
        return self.U.shape[1]

    @cached_property
    def spectral_norm(self) -> float:
        """||W||_2, the contraction factor of z -> phi(W z + u) for 1-Lipschitz phi."""
        return float(np.linalg.norm(self.W, 2))

    def check_contraction(self, allow_unstable: bool = False) -> None:
        """Raise UnstableCoreError unless ||W||_2 < 1 (or the caller allows it)."""
        rho = self.spectral_norm
        if rho >= 1.0 and not allow_unstable:
            raise UnstableCoreError(
                f"W has spectral norm {rho:.4g} >= 1, so the circuit may have several or no "
                "stable equilibria; retrain with gamma < 1 or pass --allow-unstable"
            )

    def check_inputs(self, e: np.ndarray) -> np.ndarray:
        """``e`` as a float64 (K, m) array; InputError on a wrong shape or non-finite values."""
        e = real_array(e, "core inputs")
        if e.ndim == 1:
            e = e[None, :]
        if e.ndim != 2 or e.shape[1] != self.m:
            raise InputError(
                f"core inputs must have shape (samples, {self.m}) for U of shape "
                f"{self.U.shape}, got {e.shape}"
            )
        if not np.isfinite(e).all():
            raise InputError("core inputs contain NaN/inf; fix the input array")
        if len(e) == 0:
            raise InputError("core inputs have no rows; pass at least one sample")
        return e

    def equilibrium(self, e: np.ndarray, tol: float = 1e-13, max_iter: int = 100_000) -> np.ndarray:
        """z* for each row of ``e`` (K x m), by float64 fixed-point iteration."""
        e = self.check_inputs(e)
        phi = get_activation(self.activation)
        W = torch.from_numpy(self.W)
        inj = torch.from_numpy(e @ self.U.T + self.b)
        z, info = fixed_point(lambda z: phi(z @ W.T + inj), torch.zeros_like(inj), max_iter, tol)
        if not info.converged:
            raise UnstableCoreError(
                f"the fixed-point iteration did not converge (residual {info.residual:.3g}); "
                "the core is not a contraction: retrain with gamma < 1"
            )
        return z.numpy()

    def sha256(self) -> str:
        """A content hash of the weights and activation, for manifests and caches."""
        h = hashlib.sha256(self.activation.encode())
        for arr in (self.W, self.U, self.b):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.hexdigest()


def random_core(
    n: int,
    m: int,
    rho: float,
    generator: np.random.Generator,
    activation: str = "tanh",
    input_scale: float = 1.0,
    allow_unstable: bool = False,
) -> CoreWeights:
    """A random core with ||W||_2 = rho exactly (Gaussian W rescaled), for tests and benchmarks.
    ``rho`` must lie in [0, 1) (a contraction) unless ``allow_unstable``."""
    for name, value in (("n", n), ("m", m)):
        if type(value) is not int or value < 1:
            raise InputError(f"random_core {name} must be a whole number >= 1, got {value!r}")
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not math.isfinite(rho) \
            or rho < 0:
        raise InputError(f"random_core rho (||W||_2) must be a finite number >= 0, got {rho!r}")
    if rho >= 1 and not allow_unstable:
        raise InputError(f"random_core rho = {rho} is not a contraction (||W||_2 >= 1: the "
                         "circuit may have several equilibria); use rho < 1, or pass "
                         "allow_unstable=True")
    if not isinstance(generator, np.random.Generator):
        raise InputError("random_core needs a numpy Generator (np.random.default_rng(seed)): "
                         f"randomness is explicit, got {type(generator).__name__}")
    W = generator.standard_normal((n, n))
    W *= rho / np.linalg.norm(W, 2)
    U = generator.standard_normal((n, m)) * input_scale / np.sqrt(m)
    b = generator.standard_normal(n) * 0.1
    return CoreWeights(W, U, b, activation)
