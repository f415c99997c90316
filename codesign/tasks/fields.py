"""Grid fields at any resolution for the grid-local ("structured") cores, and the discrete PDE
residuals of a physics-informed loss.

Darcy (Li et al., "Fourier Neural Operator for Parametric PDEs", ICLR 2021, and its legacy
data_generation/darcy scripts): mu ~ N(0, (-laplace + tau^2)^(-alpha)) with Neumann modes
(tau = 3, alpha = 2, drawn spectrally by an orthonormal inverse DCT), a = 1 where mu >= 0 and 0
elsewhere, -div(k(a) grad u) = f = 1 on the unit square, u = 0 on the boundary, the 5-point
flux form with arithmetic face means (as solve_gwf.m), solved by a sparse direct solve.

The conventions match the neuraloperator 0.3.0 files (codesign.tasks.darcy), measured on them:

* a is stored binary (0 or 1, mean 0.50); the permeability it stands for is k(a) = A_LOW where
  a = 0 and A_HIGH where a = 1 (f = 1). The files' u obeys -k laplace u = 1 in uniform patches
  with 1/k = 50.1 (a = 0) and 2.78 (a = 1), so A_LOW = 1 / 50.1, A_HIGH = 1 / 2.78 (ratio 18).
* a G x G field samples x = i / G, i = 0..G-1 (both axes): row and column 0 lie on the boundary
  x = 0 (u = 0 there), the boundary x = 1 lies one spacing past the last row and column (u = 0
  there, outside the grid). The files' first row is 1e-3 / G off the boundary (u there ~ 3 % of
  the next row's), their 16 x 16 fields are the 32 x 32 ones' [::2, ::2].
* the files' u was solved on a finer grid than it is stored at (its discrete residual at 16 is
  not ~0); darcy_fields solves on a grid ``refine`` times finer (default REFINE) and keeps every
  refine-th point, the way the 16 x 16 files keep every other point of the 32 x 32 ones.

Poisson: the physics task's PDE (codesign.tasks.physics, -laplace u + kappa u^3 = s on a G x G
interior grid, h = 1 / (G + 1), u = 0 outside) with its sources, Newton to 1e-12, but sparse so
that G = 64 and 128 are fast.

Generated sets are cached as .npz files under $CODESIGN_CACHE (default ~/.cache/codesign), one
per parameter set, written atomically and checked when read (a damaged file is regenerated).

Residuals (torch, batched, differentiable): darcy_residual and poisson_residual apply the
generators' discretisations. Scale: the Darcy residual is (-div(k grad u) - f) / f at the
interior points, so u = 0 gives -1 there at every resolution; its boundary row and column
(x = 0) give u itself (the Dirichlet condition, in u's units, whose typical value is ~0.4). The
Poisson residual is (-laplace u + kappa u^3 - s) / rms(s) per field, so u = 0 gives an RMS of 1.
Both are pointwise PDE residuals, not multiplied by h^2: the residual of a smooth error does not
grow with the resolution (a pointwise error e of wavelength ~ h costs ~ e k / h^2).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import scipy.fft
import scipy.sparse
import scipy.sparse.linalg

from codesign.errors import InputError
from codesign.tasks.physics import PoissonConfig, random_sources

TAU = 3.0
ALPHA = 2.0
A_LOW = 1 / 50.1
"""Permeability where a = 0 (measured on the shipped files, see the module text)."""
A_HIGH = 1 / 2.78
"""Permeability where a = 1."""
REFINE = 4
"""Darcy fields are solved on a grid this many times finer and subsampled."""
SOLVE_TOL = 1e-10
"""Largest relative residual ||A u - b|| / ||b|| a direct solve may leave."""
CACHE_ENV = "CODESIGN_CACHE"
CACHE_VERSION = 1
"""Part of every cache key; bump it when a generator's output changes."""


# --------------------------------------------------------------------------------- generators


def gaussian_field(size: int, count: int, rng: np.random.Generator, tau: float = TAU,
                   alpha: float = ALPHA) -> np.ndarray:
    """``count`` samples (count, size, size) of mu ~ N(0, tau^(2 alpha - 2) (-laplace +
    tau^2)^(-alpha)) on the unit square with Neumann modes cos(pi k x), mean removed (FNO's
    GRF.m: KL coefficients on the DCT basis, an orthonormal inverse DCT-II)."""
    k = np.arange(size)
    k1, k2 = np.meshgrid(k, k, indexing="ij")
    coef = tau ** (alpha - 1) * (np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha / 2)
    modes = size * coef * rng.standard_normal((count, size, size))
    modes[:, 0, 0] = 0.0
    return scipy.fft.idctn(modes, type=2, norm="ortho", axes=(1, 2))


def permeability(a):
    """k(a) = A_LOW + (A_HIGH - A_LOW) a: the physical coefficient of a stored field (numpy or
    torch; linear, so it also serves a in [0, 1])."""
    return A_LOW + (A_HIGH - A_LOW) * a


def _face_means(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face coefficients of an (N, N) node coefficient, extended one node past the far side by
    copying the last row and column (the boundary x = 1 is outside the grid): kx (N, N + 1)
    between nodes i and i + 1 along axis 0, ky (N + 1, N) along axis 1."""
    ext = np.pad(k, ((0, 1), (0, 1)), mode="edge")
    return (ext[:-1, :] + ext[1:, :]) / 2, (ext[:, :-1] + ext[:, 1:]) / 2


def darcy_matrix(k: np.ndarray) -> scipy.sparse.csc_matrix:
    """The discrete -div(k grad .) on the (N - 1)^2 interior nodes (i, j = 1..N-1) of an N x N
    grid with spacing 1 / N and u = 0 on row and column 0 and one node past the far side;
    unknowns ordered row-major."""
    n = k.shape[0]
    kx, ky = _face_means(k)
    m = n - 1
    idx = np.arange(m * m).reshape(m, m)
    diag = (kx[:-1, 1:n] + kx[1:, 1:n] + ky[1:n, :-1] + ky[1:n, 1:])  # nodes 1..N-1
    rows, cols, vals = [idx.ravel()], [idx.ravel()], [diag.ravel()]
    # neighbour i + 1 (face kx[i, j]) for i = 1..N-2, and its transpose
    down = -kx[1:n - 1, 1:n]
    rows += [idx[:-1].ravel(), idx[1:].ravel()]
    cols += [idx[1:].ravel(), idx[:-1].ravel()]
    vals += [down.ravel(), down.ravel()]
    right = -ky[1:n, 1:n - 1]
    rows += [idx[:, :-1].ravel(), idx[:, 1:].ravel()]
    cols += [idx[:, 1:].ravel(), idx[:, :-1].ravel()]
    vals += [right.ravel(), right.ravel()]
    mat = scipy.sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m,) * 2)
    return (mat * float(n) ** 2).tocsc()


def _direct_solve(mat: scipy.sparse.spmatrix, rhs: np.ndarray) -> np.ndarray:
    """mat^-1 rhs by SuperLU, checked: InputError if the relative residual exceeds SOLVE_TOL."""
    x = scipy.sparse.linalg.spsolve(mat, rhs, permc_spec="MMD_AT_PLUS_A")
    err = np.linalg.norm(mat @ x - rhs) / max(np.linalg.norm(rhs), 1e-300)
    if not np.isfinite(err) or err > SOLVE_TOL:
        raise InputError(f"sparse solve left a relative residual {err:.1e} > {SOLVE_TOL:g}")
    return x


def solve_darcy(a: np.ndarray, f: float = 1.0) -> np.ndarray:
    """u (N, N) float64 of -div(k(a) grad u) = f for one stored field a (N, N), in the grid
    layout of the module text (row and column 0 zero)."""
    n = a.shape[0]
    mat = darcy_matrix(permeability(np.asarray(a, dtype=np.float64)))
    u = np.zeros((n, n))
    u[1:, 1:] = _direct_solve(mat, np.full((n - 1) ** 2, float(f))).reshape(n - 1, n - 1)
    return u


def generate_darcy(grid: int, count: int, seed: int, refine: int = REFINE, tau: float = TAU,
                   alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """(a, u) float64 (count, grid, grid), uncached: mu drawn on a grid refine times finer,
    thresholded and solved there, both kept at every refine-th node."""
    if grid < 2 or count < 1 or refine < 1:
        raise InputError("darcy_fields needs grid >= 2, count >= 1 and refine >= 1")
    fine = grid * refine
    mu = gaussian_field(fine, count, np.random.default_rng(seed), tau, alpha)
    a_fine = (mu >= 0).astype(np.float64)
    u = np.stack([solve_darcy(field)[::refine, ::refine] for field in a_fine])
    return a_fine[:, ::refine, ::refine].copy(), u


def sparse_laplacian(grid: int) -> scipy.sparse.csc_matrix:
    """physics.laplacian as a sparse matrix (the same 5-point -laplace, h = 1 / (grid + 1))."""
    h = 1.0 / (grid + 1)
    one = scipy.sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(grid, grid))
    eye = scipy.sparse.identity(grid)
    return ((scipy.sparse.kron(one, eye) + scipy.sparse.kron(eye, one)) / h**2).tocsc()


def solve_poisson(s: np.ndarray, kappa: float, lap: scipy.sparse.spmatrix, tol: float = 1e-12,
                  max_iter: int = 50) -> np.ndarray:
    """physics.solve_steady_state with sparse solves: Newton from the linear solution until
    ||lap u + kappa u^3 - s|| <= tol max(1, ||s||)."""
    u = scipy.sparse.linalg.spsolve(lap, s, permc_spec="MMD_AT_PLUS_A")
    for _ in range(max_iter):
        residual = lap @ u + kappa * u**3 - s
        if np.linalg.norm(residual) <= tol * max(1.0, np.linalg.norm(s)):
            return u
        jac = (lap + scipy.sparse.diags(3 * kappa * u**2)).tocsc()
        u = u - scipy.sparse.linalg.spsolve(jac, residual, permc_spec="MMD_AT_PLUS_A")
    raise InputError("Newton did not converge for a source field; lower the amplitude")


def generate_poisson(grid: int, count: int, seed: int, kappa: float = 40.0, bumps: int = 3,
                     amplitude: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """(s, u) float64 (count, grid, grid), uncached; the sources are physics.random_sources'
    from np.random.default_rng(seed), so the physics task's fields are the first ones of its
    seed's set."""
    config = PoissonConfig(grid=grid, kappa=kappa, bumps=bumps, amplitude=amplitude,
                           train=count, test=1, seed=seed)
    s = random_sources(config, count, np.random.default_rng(seed))
    lap = sparse_laplacian(grid)
    u = np.stack([solve_poisson(row, kappa, lap) for row in s])
    return s.reshape(count, grid, grid), u.reshape(count, grid, grid)


# -------------------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """$CODESIGN_CACHE, else ~/.cache/codesign."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "codesign"


def cache_path(kind: str, params: dict) -> Path:
    """The cache file of one generated set: its name carries every parameter (and a digest of
    them with CACHE_VERSION)."""
    key = json.dumps({"kind": kind, "version": CACHE_VERSION, **params}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    short = "_".join(f"{name}{params[name]:g}" if isinstance(params[name], float)
                     else f"{name}{params[name]}" for name in sorted(params))
    return cache_dir() / f"{kind}_{short}_{digest}.npz"


def _read_cached(path: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """The two arrays of a cache file if it holds x and y of ``shape``, float64 and finite;
    None for a missing or damaged file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except Exception:  # noqa: BLE001 - a damaged file raises many types; it is regenerated
        return None
    for value in (x, y):
        if value.shape != shape or value.dtype != np.float64 or not np.isfinite(value).all():
            return None
    return x, y


def _write_cached(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp.npz", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, x=x, y=y)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cached(kind: str, params: dict, shape: tuple[int, ...], make, cache: bool):
    if not cache:
        return make()
    path = cache_path(kind, params)
    found = _read_cached(path, shape)
    if found is not None:
        return found
    x, y = make()
    with contextlib.suppress(OSError):  # a read-only or full folder only costs regenerating
        _write_cached(path, x, y)
    return x, y


def darcy_fields(grid: int, count: int, seed: int, *, refine: int = REFINE,
                 dtype=np.float32, cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(a, u) (count, grid, grid): generated Darcy fields in the shipped files' conventions (the
    module text), solved on a grid ``refine`` times finer; cached (float64) under cache_dir().
    With refine = 1, darcy_residual of the float64 fields is ~1e-12."""
    params = {"grid": grid, "count": count, "seed": seed, "refine": refine, "tau": TAU,
              "alpha": ALPHA, "a_low": A_LOW, "a_high": A_HIGH}
    a, u = _cached("darcy", params, (count, grid, grid),
                   lambda: generate_darcy(grid, count, seed, refine), cache)
    if not np.isin(a, (0.0, 1.0)).all():  # a file of the right shape but the wrong content
        a, u = generate_darcy(grid, count, seed, refine)
        if cache:
            _write_cached(cache_path("darcy", params), a, u)
    return a.astype(dtype), u.astype(dtype)


def poisson_fields(grid: int, count: int, seed: int, kappa: float = 40.0, bumps: int = 3,
                   amplitude: float = 60.0, *, dtype=np.float32,
                   cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(s, u) (count, grid, grid) of the physics task's PDE at any grid (module text); at grid 8
    and seed 0 the first 1280 are load_poisson_task()'s fields (train then test, reshaped)."""
    params = {"grid": grid, "count": count, "seed": seed, "kappa": float(kappa),
              "bumps": bumps, "amplitude": float(amplitude)}
    s, u = _cached("poisson", params, (count, grid, grid),
                   lambda: generate_poisson(grid, count, seed, kappa, bumps, amplitude), cache)
    return s.astype(dtype), u.astype(dtype)


# ---------------------------------------------------------------------------------- residuals


def darcy_residual(a, u, f: float = 1.0):
    """The discrete Darcy residual (B, G, G) of stored fields a and u (torch, (B, G, G)), in the
    generator's discretisation at spacing 1 / G: (-div(k(a) grad u) - f) / f on the interior
    nodes (rows and columns 1..G-1, u = 0 one node past the far side), u itself on row and
    column 0 (the boundary x = 0). Differentiable in u (and a)."""
    # deferred: the data generators run without torch
    import torch
    import torch.nn.functional as F  # noqa: N812

    if a.shape != u.shape or u.dim() != 3 or u.shape[1] != u.shape[2] or u.shape[1] < 2:
        raise InputError(f"darcy_residual needs a and u of one shape (B, G, G), got "
                         f"{tuple(a.shape)} and {tuple(u.shape)}")
    g = u.shape[-1]
    k = F.pad(permeability(a.to(u.dtype)).unsqueeze(1), (0, 1, 0, 1), mode="replicate")[:, 0]
    up = F.pad(u, (0, 1, 0, 1))
    flux_x = (k[:, :-1, :] + k[:, 1:, :]) / 2 * (up[:, 1:, :] - up[:, :-1, :])  # (B, G, G+1)
    flux_y = (k[:, :, :-1] + k[:, :, 1:]) / 2 * (up[:, :, 1:] - up[:, :, :-1])  # (B, G+1, G)
    div = (flux_x[:, 1:, 1:g] - flux_x[:, :-1, 1:g]) + (flux_y[:, 1:g, 1:] - flux_y[:, 1:g, :-1])
    interior = (-div * float(g) ** 2 - f) / f
    rest = torch.cat([u[:, 1:, :1], interior], dim=2)
    return torch.cat([u[:, :1, :], rest], dim=1)


def poisson_residual(s, u, kappa: float):
    """(-laplace u + kappa u^3 - s) / rms(s) (B, G, G) on the G x G interior grid (h = 1 /
    (G + 1), u = 0 outside), rms per field (floored at 1e-12); torch, differentiable in u."""
    import torch.nn.functional as F  # noqa: N812  # deferred: as darcy_residual's

    if s.shape != u.shape or u.dim() != 3:
        raise InputError(f"poisson_residual needs s and u of one shape (B, G, G), got "
                         f"{tuple(s.shape)} and {tuple(u.shape)}")
    g = u.shape[-1]
    up = F.pad(u, (1, 1, 1, 1))
    lap = (4 * u - up[:, :-2, 1:-1] - up[:, 2:, 1:-1] - up[:, 1:-1, :-2] - up[:, 1:-1, 2:])
    s = s.to(u.dtype)
    scale = s.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-12)
    return (lap * float(g + 1) ** 2 + kappa * u**3 - s) / scale


def residual_rms(residual):
    """The RMS (B,) of a residual over each field: a relative residual, for both functions'
    scales make u = 0 score ~1."""
    return residual.pow(2).mean(dim=(1, 2)).sqrt()
