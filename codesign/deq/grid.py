"""Grid-local equilibrium cores: the state is c channels on every point of a G x G grid, and each
point couples only to its neighbours through a stencil shared across the grid (a convolution).

    z* = phi(K * z* + L * e + b)        (* : 2-D convolution with zero padding)

K is (c, c, k, k), L is (c, p, k_in, k_in) (torch's conv2d layout: out, in, rows, columns), b is
(c,); e is p channels per grid point (the local DAC inputs). Outside the grid the state and the
inputs are 0 (a Dirichlet boundary), so the circuit of a point on the edge simply has fewer cells.

Contraction at every resolution: the convolution with zero padding is, on any grid, a principal
block of the same convolution on a larger torus, so its 2-norm is at most that of the periodic
operator, which is at most sum over taps of ||K[:, :, dy, dx]||_2 (triangle inequality). The
core rescales its free stencil V so that this bound is <= gamma < 1: the same trained stencil is a
gamma-contraction on a 16 x 16 grid and on a 128 x 128 one, and its equilibrium is unique and
globally stable at every size (as codesign.deq.core argues for a dense W).

``GridWeights`` is the hand-off to the circuit compiler, like ``CoreWeights`` for a dense core:
the stencils and the grid size; ``sparse()`` gives the n x n and n x m matrices of the grid's
neurons (n = c G^2, m = p G^2) for a compiler that places one cell per non-zero entry, and
``at(grid)`` the same stencils on another grid (the same cells, more of them).
Neuron index: i = channel * G^2 + row * G + column (torch's flattening of (c, G, G)).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from codesign.choices import Choice
from codesign.deq.activations import get_activation
from codesign.deq.solvers import fixed_point
from codesign.deq.weights import real_array
from codesign.errors import InputError, UnstableCoreError


class Transfer(Choice):
    """How a stencil trained on one grid runs on another.

    ``same``: the same cells (K, L and b unchanged), so the stencil's reach is fixed in grid
    points and shrinks physically on a finer grid. ``diffusive``: K = A + sum_t N_t S_t read
    as I - M - sum_t N_t (I - S_t), a local part M = I - A - sum_t N_t plus a coupling of
    differences to the neighbours; on a grid r times finer the neighbour cells N_t stay, the
    local part and the inputs shrink by r^2 (K_r centre = I - M / r^2 - sum_t N_t, L_r = L / r^2,
    b_r = b / r^2), so that for a linear phi the equilibrium solves (M + r^2 sum_t N_t (I - S_t))
    z = L e + b: the same continuum operator sampled finer (neighbour differences scale as
    h^2). Its contraction factor approaches 1 as r grows, as the resolution's own Jacobi
    iteration does; the circuit settles more slowly there.
    """

    SAME = "same"
    DIFFUSIVE = "diffusive"


class StencilShape(Choice):
    """Which taps of a k x k stencil exist (GridDEQConfig.shape)."""

    SQUARE = "square"
    CROSS = "cross"

    def mask(self, k: int) -> torch.Tensor:
        """(k, k) ones where a tap exists."""
        if self == StencilShape.SQUARE:
            return torch.ones(k, k)
        mask = torch.zeros(k, k)
        mask[k // 2, :] = mask[:, k // 2] = 1.0
        return mask


def transferred(K, L, b, scale: float, eye):
    """(K, L, b) of the diffusive rule on a grid sqrt(scale) times finer (Transfer); works on
    numpy arrays and torch tensors (``eye``: the c x c identity of the same kind)."""
    if scale == 1.0:
        return K, L, b
    r = K.shape[-1] // 2
    centre = K[:, :, r, r]
    neighbours = K.sum((2, 3)) - centre
    local = eye - centre - neighbours
    K = K.clone() if hasattr(K, "clone") else K.copy()
    K[:, :, r, r] = eye - local / scale - neighbours
    return K, L / scale, b / scale


def stencil_bound(kernel: torch.Tensor | np.ndarray) -> float | torch.Tensor:
    """sum over taps of the tap's spectral norm: a bound on the 2-norm of the convolution with
    ``kernel`` (c_out, c_in, k, k) on any grid (zero padding) or torus."""
    if isinstance(kernel, np.ndarray):
        taps = np.moveaxis(kernel, (2, 3), (0, 1)).reshape(-1, *kernel.shape[:2])
        return float(sum(np.linalg.norm(t, 2) for t in taps))
    taps = kernel.permute(2, 3, 0, 1).reshape(-1, kernel.shape[0], kernel.shape[1])
    return torch.linalg.matrix_norm(taps, ord=2).sum()


def _odd_square(arr: np.ndarray, name: str) -> None:
    if arr.ndim != 4 or arr.shape[2] != arr.shape[3] or arr.shape[2] % 2 == 0:
        raise InputError(f"grid core {name} must be (out, in, k, k) with k odd, got "
                         f"{arr.shape}")


@dataclass(frozen=True, eq=False)
class GridWeights:
    """The stencils of a grid-local core on a ``grid`` x ``grid`` grid (model units)."""

    K: np.ndarray
    """(c, c, k, k) recurrent stencil."""
    L: np.ndarray
    """(c, p, k_in, k_in) input stencil."""
    b: np.ndarray
    """(c,) bias of each channel."""
    grid: int
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if isinstance(self.grid, bool) or not isinstance(self.grid, int) or self.grid < 1:
            raise InputError(f"grid must be a whole number >= 1, got {self.grid!r}")
        get_activation(self.activation)
        for name in ("K", "L", "b"):
            arr = real_array(getattr(self, name), f"grid core {name}")
            if not np.isfinite(arr).all():
                raise InputError(f"grid core {name} has NaN/inf entries; retrain")
            object.__setattr__(self, name, arr)
        _odd_square(self.K, "K")
        _odd_square(self.L, "L")
        c = self.K.shape[0]
        if self.K.shape[1] != c or self.L.shape[0] != c or self.b.shape != (c,):
            raise InputError(f"grid core shapes disagree: K {self.K.shape}, L {self.L.shape}, "
                             f"b {self.b.shape} (need K (c, c, k, k), L (c, p, k, k), b (c,))")

    @property
    def channels(self) -> int:
        return self.K.shape[0]

    @property
    def inputs_per_point(self) -> int:
        return self.L.shape[1]

    @property
    def n(self) -> int:
        """Neurons: channels x grid points."""
        return self.channels * self.grid**2

    @property
    def m(self) -> int:
        """Core inputs (DACs): input channels x grid points."""
        return self.inputs_per_point * self.grid**2

    @cached_property
    def spectral_bound(self) -> float:
        """The resolution-independent bound on ||W||_2 (stencil_bound of K)."""
        return stencil_bound(self.K)

    @cached_property
    def spectral_norm(self) -> float:
        """||W||_2 of this grid's operator (zero padding), by Lanczos on the sparse matrix
        (scipy's svds; exact SVD below 2,000 neurons): the same kind of certificate a dense
        core's check uses. The resolution-free bound (spectral_bound) is cheaper and, where
        it is below 1, enough."""
        import scipy.sparse.linalg as sla  # deferred: only a grid core's check needs it

        W = self.sparse()[0]
        if W.shape[0] < 2000:
            return float(np.linalg.norm(W.toarray(), 2))
        start = np.random.default_rng(0).standard_normal(W.shape[0])  # a fixed start vector
        return float(sla.svds(W, k=1, tol=1e-10, v0=start, return_singular_vectors=False)[0])

    def check_contraction(self, allow_unstable: bool = False) -> None:
        """UnstableCoreError unless this grid's operator is a contraction: the stencil's bound
        below 1, or else its exact norm on this grid (the diffusive transfer's stencils on a
        finer grid need the latter)."""
        if allow_unstable or self.spectral_bound < 1.0:
            return
        if self.spectral_norm >= 1.0:
            raise UnstableCoreError(
                f"the grid operator's norm is {self.spectral_norm:.6g} >= 1 on a {self.grid} x "
                f"{self.grid} grid; retrain with gamma < 1 or pass --allow-unstable")

    def at(self, grid: int, transfer: Transfer = Transfer.SAME) -> GridWeights:
        """These stencils on a ``grid`` x ``grid`` grid: the same cells, or rescaled by the
        diffusive rule (Transfer) from this grid to that one."""
        diffusive = Transfer.parse(transfer, "transfer") == Transfer.DIFFUSIVE
        scale = (grid / self.grid) ** 2 if diffusive else 1.0
        K, L, b = transferred(self.K, self.L, self.b, scale, np.eye(self.channels))
        return GridWeights(K, L, b, grid, self.activation)

    def fields(self, e: np.ndarray) -> np.ndarray:
        """Core inputs as (K, p, G, G): from (K, m) flat rows or (K, p, G, G)."""
        e = real_array(e, "core inputs")
        p, g = self.inputs_per_point, self.grid
        if e.ndim == 2 and e.shape[1] == self.m:
            e = e.reshape(len(e), p, g, g)
        if e.ndim != 4 or e.shape[1:] != (p, g, g):
            raise InputError(f"grid core inputs must be (samples, {self.m}) or (samples, {p}, "
                             f"{g}, {g}), got {e.shape}")
        if len(e) == 0 or not np.isfinite(e).all():
            raise InputError("grid core inputs must hold at least one finite sample")
        return e

    def injection(self, e: np.ndarray) -> np.ndarray:
        """(K, n) L * e + b."""
        e = torch.from_numpy(self.fields(e))
        u = F.conv2d(e, torch.from_numpy(self.L), torch.from_numpy(self.b),
                     padding=self.L.shape[-1] // 2)
        return u.reshape(len(e), -1).numpy()

    def equilibrium(self, e: np.ndarray, tol: float = 1e-13,
                    max_iter: int = 100_000) -> np.ndarray:
        """(K, n) z* for the inputs ``e``, by float64 fixed-point iteration."""
        phi = get_activation(self.activation)
        c, g = self.channels, self.grid
        if self.activation == "identity":  # a linear core: one sparse LU for every sample
            # deferred: only the linear grid core needs scipy here
            import scipy.sparse as sp
            import scipy.sparse.linalg as sla

            lu = sla.splu((sp.identity(self.n) - self.sparse()[0]).tocsc())
            return lu.solve(np.ascontiguousarray(self.injection(e).T)).T
        inj = torch.from_numpy(self.injection(e)).reshape(-1, c, g, g)
        kernel, pad = torch.from_numpy(self.K), self.K.shape[-1] // 2
        z, info = fixed_point(lambda z: phi(F.conv2d(z, kernel, padding=pad) + inj),
                              torch.zeros_like(inj), max_iter, tol)
        if not info.converged:
            raise UnstableCoreError(f"the grid core's fixed point did not converge (residual "
                                    f"{info.residual:.3g}); the stencil is not a contraction")
        return z.reshape(len(inj), -1).numpy()

    def sparse(self):
        """(W, U, b): scipy CSR matrices n x n and n x m, and the (n,) bias, the grid's
        neurons' couplings (one stored entry per cell of the circuit, zeros included where the
        stencil has a zero tap inside the grid)."""
        return (_stencil_matrix(self.K, self.grid), _stencil_matrix(self.L, self.grid),
                np.repeat(self.b, self.grid**2))

    def sha256(self) -> str:
        h = hashlib.sha256(f"grid {self.grid} {self.activation}".encode())
        for arr in (self.K, self.L, self.b):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.hexdigest()


def _stencil_matrix(kernel: np.ndarray, grid: int):
    """The convolution with ``kernel`` (out, in, k, k), zero padding, on a grid x grid grid as a
    CSR matrix (out G^2) x (in G^2), every tap that lands inside the grid stored (a tap that is
    zero for every channel pair, such as a cross stencil's corners, has no entries)."""
    import scipy.sparse as sp  # deferred: only the circuit compiler of a grid core needs scipy

    c_out, c_in, k, _ = kernel.shape
    r = k // 2
    g = grid
    rows, cols, vals = [], [], []
    yy, xx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if not kernel[:, :, dy + r, dx + r].any():
                continue  # a tap the stencil's shape leaves out: no cells there
            sy, sx = yy + dy, xx + dx
            inside = (sy >= 0) & (sy < g) & (sx >= 0) & (sx < g)
            here = (yy * g + xx)[inside]
            there = (sy * g + sx)[inside]
            for o in range(c_out):
                for i in range(c_in):
                    rows.append(o * g * g + here)
                    cols.append(i * g * g + there)
                    vals.append(np.full(here.shape, kernel[o, i, dy + r, dx + r]))
    rows, cols, vals = (np.concatenate(a) for a in (rows, cols, vals))
    matrix = sp.coo_matrix((vals, (rows, cols)), shape=(c_out * g * g, c_in * g * g)).tocsr()
    matrix.sum_duplicates()
    return matrix


# ---------------------------------------------------------------------------------------------
# The trainable model


@dataclass(frozen=True)
class GridDEQConfig:
    """Shape and solver settings of a GridDEQ: every size is per grid point, so one model runs
    on any grid."""

    in_channels: int = 1
    """Input fields per point (Darcy: the permeability a; Poisson: the source s)."""
    out_channels: int = 1
    """Output fields per point (the solution u)."""
    channels: int = 16
    """c: analog neurons per grid point (the state's channels)."""
    inputs: int = 8
    """p: DAC inputs per grid point (the encoder's output channels)."""
    stencil: int = 3
    """k: the recurrent stencil is k x k (odd)."""
    input_stencil: int = 3
    """The input stencil L is k_in x k_in (1: each point's own inputs only)."""
    shape: StencilShape = StencilShape.SQUARE
    """``square``: every tap of the k x k stencil; ``cross``: the centre row and column only
    (the 5-point stencil at k = 3: 5 instead of 9 cells per channel pair)."""
    encoder_stencil: int = 3
    """The digital encoder's first layer sees a k_enc x k_enc patch of the input fields."""
    hidden: int = 32
    """Width of the encoder's and decoder's pointwise hidden layer."""
    activation: str = "tanh"
    gamma: float = 0.99
    """Bound on the stencil's norm (the contraction factor at every resolution)."""
    solver: str = "anderson"
    max_iter: int = 100
    tol: float = 1e-5
    train_grid: int = 16
    """The grid the model is trained on (Transfer rescales from it)."""
    transfer: Transfer = Transfer.SAME
    """How the stencils run on other grids."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "transfer", Transfer.parse(self.transfer, "transfer"))
        object.__setattr__(self, "shape", StencilShape.parse(self.shape, "stencil shape"))
        sizes = {name: getattr(self, name) for name in (
            "train_grid", "in_channels", "out_channels", "channels", "inputs", "stencil",
            "input_stencil", "encoder_stencil", "hidden", "max_iter")}
        bad = {k: v for k, v in sizes.items()
               if isinstance(v, bool) or not isinstance(v, int) or v < 1}
        if bad:
            raise InputError(f"grid DEQ sizes must be whole numbers >= 1, got {bad}")
        even = [k for k in ("stencil", "input_stencil", "encoder_stencil") if sizes[k] % 2 == 0]
        if even:
            raise InputError(f"grid DEQ stencils must be odd (centred), got {even}")
        get_activation(self.activation)
        if not (isinstance(self.gamma, float | int) and 0.0 < self.gamma < 1.0):
            raise InputError(f"gamma must lie in (0, 1) for a contraction, got {self.gamma!r}")

    def to_dict(self) -> dict:
        from dataclasses import asdict  # deferred: only checkpoints need it

        return {**asdict(self), "transfer": self.transfer.value, "shape": self.shape.value}


class GridCore(torch.nn.Module):
    """z* = phi(K * z* + L * e + b) on whatever grid e comes on, K = V min(1, gamma / bound(V)).

    The stencil starts as a smoothing one (each channel averages its four neighbours, so the
    state can carry information across the grid from the first step), plus small noise.
    """

    def __init__(self, config: GridDEQConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        from codesign.deq.solvers import get_solver  # deferred: keeps the hand-off light

        self.config = config
        c, p, k, k_in = config.channels, config.inputs, config.stencil, config.input_stencil
        self.phi = get_activation(config.activation)
        self.solver = get_solver(config.solver)
        V = torch.randn(c, c, k, k, generator=generator) * (0.05 / (c * k) ** 0.5)
        if k >= 3:
            r = k // 2
            smooth = torch.zeros(k, k)
            smooth[r - 1, r] = smooth[r + 1, r] = smooth[r, r - 1] = smooth[r, r + 1] = 0.25
            V = V + torch.eye(c)[:, :, None, None] * smooth
        self.register_buffer("mask", config.shape.mask(k).to(V.dtype))
        self.V = torch.nn.Parameter(V * self.mask)
        self.L = torch.nn.Parameter(torch.randn(c, p, k_in, k_in, generator=generator)
                                    / (p * k_in * k_in) ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(c))
        self.last_info = None
        self.device_sigma = 0.0
        """Relative error of every cell while training (physics-aware; 0: the ideal core)."""
        self.floor_ratio = 0.25e-6 / (25e-6 - 0.25e-6)
        """g_min / (g_max - g_min) of the chip's mapping (codesign.circuit.config's default)."""
        self.noise_generator: torch.Generator | None = None

    def weight(self) -> torch.Tensor:
        """The contractive stencil K on the training grid (stencil_bound(K) <= gamma)."""
        V = self.V * self.mask
        return V * torch.clamp(self.config.gamma / stencil_bound(V), max=1.0)

    def scale(self, grid: int) -> float:
        """r^2 of the diffusive rule on ``grid`` (1: the same cells)."""
        if self.config.transfer == Transfer.SAME:
            return 1.0
        return (grid / self.config.train_grid) ** 2

    def stencils(self, grid: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(K, L, b) on a ``grid`` x ``grid`` grid (Transfer)."""
        eye = torch.eye(self.config.channels, dtype=self.V.dtype)
        return transferred(self.weight(), self.L, self.b, self.scale(grid), eye)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """(B, p, G, G) inputs -> (B, c, G, G) equilibrium."""
        from codesign.deq.implicit import implicit_equilibrium  # deferred: see __init__

        K, L, b = self.stencils(e.shape[-1])
        u = F.conv2d(e, L, b, padding=self.config.input_stencil // 2)
        pad = self.config.stencil // 2
        if self.training and self.device_sigma > 0:
            return self._mismatched(e, K, L, b)

        def f(z: torch.Tensor) -> torch.Tensor:
            return self.phi(F.conv2d(z, K, padding=pad) + u)

        kw = {"max_iter": self.config.max_iter, "tol": self.config.tol}
        z, self.last_info = implicit_equilibrium(f, torch.zeros_like(u), self.solver,
                                                 self.solver, kw, kw)
        return z

    def tap_sigma(self, K: torch.Tensor, L: torch.Tensor, b: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The standard deviation of each weight's error when each of its pair's cells is off
        by device_sigma (relative): w = (G+ - G-) / G_f with G+- = relu(+-w) G_f + g_min and
        G_f = (g_max - g_min) / (the row's largest |weight|) (codesign.circuit.mapping's
        differential mapping, floor ratio ``floor_ratio`` = g_min / (g_max - g_min))."""
        c = K.shape[0]
        largest = torch.cat([K.reshape(c, -1), L.reshape(c, -1), b[:, None]], 1).abs() \
            .amax(1).detach()
        floor = (self.floor_ratio * largest).reshape(c, 1, 1, 1)

        def sigma(w: torch.Tensor, fl: torch.Tensor) -> torch.Tensor:
            return self.device_sigma * torch.sqrt((w.relu() + fl) ** 2 + ((-w).relu() + fl) ** 2)

        return sigma(K, floor), sigma(L, floor), sigma(b, floor.reshape(c))

    def _mismatched(self, e: torch.Tensor, K: torch.Tensor, L: torch.Tensor,
                    b: torch.Tensor) -> torch.Tensor:
        """The equilibrium of one chip instance drawn for this step: every cell of every grid
        point off by its own device error (tap_sigma), as the compiler's mismatch draws it."""
        from codesign.deq.implicit import implicit_equilibrium  # deferred: see __init__

        c, p, g = K.shape[0], L.shape[1], e.shape[-1]
        k, k_in = K.shape[-1], L.shape[-1]
        sK, sL, sb = self.tap_sigma(K, L, b)
        # per grid point: (points, c_out, c_in * k * k) kernels, as unfold lays out patches
        Kp = (K + sK * torch.randn(g * g, *K.shape, generator=self.noise_generator))
        Kp = Kp.reshape(g * g, c, c * k * k)
        Lp = (L + sL * torch.randn(g * g, *L.shape, generator=self.noise_generator))
        Lp = Lp.reshape(g * g, c, p * k_in * k_in)
        bp = b + sb * torch.randn(g * g, c, generator=self.noise_generator)
        patches = F.unfold(e, k_in, padding=k_in // 2)  # (B, p k_in^2, points)
        u = torch.einsum("bjp,pij->bip", patches, Lp) + bp.T[None]
        u = u.reshape(len(e), c, g, g)

        def f(z: torch.Tensor) -> torch.Tensor:
            zp = F.unfold(z, k, padding=k // 2)
            return self.phi(torch.einsum("bjp,pij->bip", zp, Kp).reshape(z.shape) + u)

        kw = {"max_iter": self.config.max_iter, "tol": self.config.tol}
        z, self.last_info = implicit_equilibrium(f, torch.zeros_like(u), self.solver,
                                                 self.solver, kw, kw)
        return z

    def to_weights(self, grid: int) -> GridWeights:
        """The stencils in float64 on a ``grid`` x ``grid`` grid (after the model's Transfer),
        for the circuit compiler."""
        with torch.no_grad():
            K, L, b = (t.double().numpy() for t in self.stencils(grid))
            return GridWeights(K, L, b, grid, self.config.activation)


def add_codec(model: torch.nn.Module, cfg, core: torch.nn.Module,
              generator: torch.Generator | None) -> None:
    """The digital side every grid model shares, set on ``model`` around its ``core``: the
    standardisation buffers (x_mean, x_scale, y_mean, y_scale), an encoder from ``cfg``'s
    in_channels to its ``inputs`` DAC channels (a small stencil, then pointwise) and a pointwise
    decoder from the state and the inputs to out_channels, initialised from ``generator``
    (torch's default initialisation without one). ``cfg``: a GridDEQConfig or a
    NetworkDEQConfig (channels, inputs, hidden, in/out_channels, encoder_stencil)."""
    from torch import nn  # deferred: the names above are torch's own; nn only here

    model.register_buffer("x_mean", torch.zeros(cfg.in_channels))
    model.register_buffer("x_scale", torch.ones(cfg.in_channels))
    model.register_buffer("y_mean", torch.zeros(cfg.out_channels))
    model.register_buffer("y_scale", torch.ones(cfg.out_channels))
    model.encoder = nn.Sequential(
        nn.Conv2d(cfg.in_channels, cfg.hidden, cfg.encoder_stencil,
                  padding=cfg.encoder_stencil // 2),
        nn.GELU(), nn.Conv2d(cfg.hidden, cfg.inputs, 1))
    model.core = core
    model.decoder = nn.Sequential(nn.Conv2d(cfg.channels + cfg.inputs, cfg.hidden, 1),
                                  nn.GELU(), nn.Conv2d(cfg.hidden, cfg.out_channels, 1))
    if generator is not None:
        for conv in (*model.encoder[::2], *model.decoder[::2]):
            bound = (conv.in_channels * conv.kernel_size[0] ** 2) ** -0.5
            with torch.no_grad():
                conv.weight.uniform_(-bound, bound, generator=generator)
                conv.bias.uniform_(-bound, bound, generator=generator)


class GridDEQ(torch.nn.Module):
    """x (B, C_in, G, G) -> standardise -> e = tanh(encoder(x)) (p per point, local) ->
    z* = GridCore(e) -> y = decoder([z*, e]) (pointwise) -> (B, C_out, G, G), on any G."""

    def __init__(self, config: GridDEQConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        add_codec(self, config, GridCore(config, generator), generator)

    def set_standardisation(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Per-channel mean and scale of the training inputs (B, C_in, G, G) and outputs."""
        with torch.no_grad():
            self.x_mean.copy_(x.mean((0, 2, 3)))
            self.x_scale.copy_(x.std((0, 2, 3)).clamp_min(1e-12))
            self.y_mean.copy_(y.mean((0, 2, 3)))
            self.y_scale.copy_(y.std((0, 2, 3)).clamp_min(1e-12))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The DAC inputs e in [-1, 1], (B, p, G, G)."""
        x = (x - self.x_mean[:, None, None]) / self.x_scale[:, None, None]
        return torch.tanh(self.encoder(x))

    def decode(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """Outputs from the core state and the local inputs (both read by ADCs), (B, C_out,
        G, G)."""
        y = self.decoder(torch.cat([z, e], 1))
        return y * self.y_scale[:, None, None] + self.y_mean[:, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encode(x)
        return self.decode(self.core(e), e)

    def fit_range(self, x: torch.Tensor, peak: float = 0.8) -> float:
        """For a linear core (identity phi): scale L and b so that the largest |z*| over the
        fields ``x`` is ``peak`` (inside the ADCs' and amplifiers' full scale), and the
        decoder's state columns by the inverse, which leaves every output unchanged. Returns
        the factor applied to the state (1 for other activations, whose state is bounded)."""
        if self.config.activation != "identity":
            return 1.0
        with torch.no_grad():
            largest = max(float(self.core(self.encode(xb)).abs().max())
                          for xb in x.split(64))
            if largest == 0:
                return 1.0
            factor = peak / largest
            self.core.L.mul_(factor)
            self.core.b.mul_(factor)
            self.decoder[0].weight[:, : self.config.channels].div_(factor)
        return factor
