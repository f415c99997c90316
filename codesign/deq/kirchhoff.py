"""The trainable Kirchhoff network core (codesign.deq.network) and its DEQ.

``NetworkCore`` holds one passive network per channel layout, shared across the grid: fixed
edges, optional switched half-edges (each node's half conducts half[ch, dir, bit], the bit read
from the input field), couplings between channels at a point, ground, signed injections from the
DACs (a k x k stencil), a signed bias and an optional cubic node element. Conductances are
nonnegative through softplus; inject and bias are signed. Its forward solves the operating point

    A z + cubic z^3 = B e + beta            (A symmetric positive definite)

in torch, batched, with the grid operator applied as finite differences on the (B, c, G, G)
state (no matrix is built): Newton steps whose linear systems are solved by conjugate
gradients preconditioned by the exact sine-transform solve of the uniform network
(_Spectral), a backtracking line search on the convex energy. Gradients are implicit:
with J = A + diag(3 cubic z^2) (symmetric), dL/dtheta = -w' dF/dtheta, J w = dL/dz,
solved by the same preconditioned CG; nothing of the forward iterations is stored.

Transfer across grids is the diffusive rule of NetworkWeights.at: edges and halves stay, the
pointwise terms (couplings between channels at a point, ground, inject, bias, cubic) are divided
by (h_train / h)^2 with the task's spacing (``Spacing``), so the network samples the same
continuum operator on any grid. (A coupling between channels is a reaction term, not a grid
edge: kept fixed it grew 4x relative to the rest per halving of h, and the trained cores'
relative L2 went from 0.06 at 16 to 0.39 at 32 and 0.80 at 64.)

Physics-aware training (``device_sigma`` > 0): every conductance of the chip (each edge, each
half-edge, each injection tap, bias, ground, coupling and cubic element, at every grid point) is
multiplied by its own lognormal factor exp(sigma n), drawn afresh every step; the row sums stay
exact because each coupling is one device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from codesign.choices import Choice
from codesign.deq.grid import add_codec
from codesign.deq.network import NetworkWeights, SourceKind
from codesign.errors import InputError


class NetworkKind(Choice):
    """Which edges a NetworkCore has. ``plain``: fixed edges only (one conductance per channel
    and direction). ``switched``: plus half-edges switched by each grid point's bit
    (NetworkDEQ.bits: the input's coefficient channel >= the threshold), for a coefficient
    field such as Darcy's permeability."""

    PLAIN = "plain"
    SWITCHED = "switched"


class Spacing(Choice):
    """The task's grid spacing h(G), for the transfer rule's scale (h_train / h)^2.
    ``interior``: h = 1 / (G + 1), the G x G points strictly inside the unit square (Poisson).
    ``nodal``: h = 1 / G, a grid whose row and column 0 lie on the boundary (Darcy)."""

    INTERIOR = "interior"
    NODAL = "nodal"

    def h(self, grid: int) -> float:
        return 1.0 / (grid + 1) if self == Spacing.INTERIOR else 1.0 / grid


class Boundary(Choice):
    """Where the network's nodes lie on the task's G x G field. ``outside``: one node per
    point, the Dirichlet boundary one spacing outside the grid (Poisson). ``first``: row and
    column 0 are the boundary itself (u = 0, as Darcy's fields store it): the network has the
    (G - 1)^2 other points as nodes and the outputs on row and column 0 are 0."""

    OUTSIDE = "outside"
    FIRST = "first"


class NetworkInit(Choice):
    """How a NetworkCore starts. ``random``: every channel from the generic initial values
    (NetworkCore). ``darcy``: channel 0 is Darcy's own finite-difference network
    (-div(k grad u) = 1, k = A_LOW or A_HIGH by the bit, codesign.tasks.fields) in model units
    at the training grid: half-edges 2 k (harmonic face means), the source a bias conductance
    DARCY_STATE_SCALE h^2 to +1 (the state z = DARCY_STATE_SCALE u while its load stays small
    beside the operator's lowest eigenvalue), and its edge, ground, injections and couplings
    to the other channels near 0; the other channels start random and learn corrections."""

    RANDOM = "random"
    DARCY = "darcy"
    POISSON = "poisson"
    """Channel 0 is nonlinear Poisson's finite-difference network (-lap u + kappa u^3 = s):
    edges 1, input 0 of the encoder e_0 = tanh(k s) exactly linear before the tanh (two
    hidden units t and -t: GELU(t) - GELU(-t) = t), k = POISSON_INPUT_PEAK / max |s| on the
    training fields, an injection POISSON_INJECT from e_0, z = alpha u with alpha =
    POISSON_INJECT k / h^2 and a cubic element h^2 kappa / alpha^2 (set by
    NetworkDEQ.set_standardisation, which sees the fields; kappa = POISSON_KAPPA)."""


POISSON_KAPPA = 40.0
"""The nonlinear Poisson task's kappa (codesign.tasks.grid.load_poisson_grid)."""
POISSON_INPUT_PEAK = 0.4
"""k max |s|: the PDE channel's DAC input at the largest training source (tanh(0.4) = 0.38,
nearly linear)."""
POISSON_INJECT = 0.007
"""The PDE channel's injection conductance (model units; ~10 % of the lowest eigenvalue of
the 16 x 16 grid Laplacian, 2 pi^2 / 17^2 = 0.068: the load it adds)."""

DARCY_STATE_SCALE = 0.02
"""Model volts per unit of Darcy's u in the PDE-initialised channel (u peaks near 2 on the
training fields: a state of ~0.04 FS, read through the readout gain)."""

TASK_STRUCTURE: dict[str, dict] = {
    "poisson": {"kind": "plain", "cubic": True, "spacing": "interior", "boundary": "outside",
                "init": "poisson"},
    "darcy": {"kind": "switched", "cubic": False, "spacing": "nodal", "boundary": "first",
              "init": "darcy"},
}
"""The network structure of each grid task's PDE (NetworkDEQConfig fields): nonlinear Poisson
is a plain network with a cubic node element on the interior grid (h = 1 / (G + 1)); Darcy a
linear network with edges switched by the permeability bit, on the points off the x = 0
boundary (h = 1 / G); each with its channel 0 starting as the PDE's own network
(NetworkInit)."""


@dataclass(frozen=True)
class NetworkDEQConfig:
    """Shape and solver settings of a NetworkDEQ (sizes per grid point; one model on any
    grid)."""

    in_channels: int = 1
    out_channels: int = 1
    channels: int = 4
    """c: network nodes per grid point."""
    inputs: int = 2
    """p: DAC inputs per grid point."""
    input_stencil: int = 1
    """The injection stencil is k x k (odd; 1: each node reads its own point's DACs)."""
    encoder_stencil: int = 1
    """The digital encoder's first layer sees a k_enc x k_enc patch (1: pointwise)."""
    hidden: int = 32
    """Width of the encoder's and decoder's pointwise hidden layer."""
    kind: NetworkKind = NetworkKind.PLAIN
    cubic: bool = False
    """Whether the nodes carry a cubic element (cubic z^3 to ground)."""
    bit_channel: int = 0
    """Input channel whose value sets the switching bit (kind switched)."""
    bit_threshold: float = 0.5
    """bit = x[bit_channel] >= this (in the input's own units; Darcy: a in {0, 1})."""
    spacing: Spacing = Spacing.INTERIOR
    boundary: Boundary = Boundary.OUTSIDE
    train_grid: int = 16
    """The task grid the model is trained on (the transfer rule scales from it)."""
    init: NetworkInit = NetworkInit.RANDOM
    """How the core starts (NetworkInit; ``darcy`` needs kind switched)."""
    sources: SourceKind = SourceKind.RESISTOR
    """How the injections and the bias reach a node on the chip: resistors from the DACs and
    the reference, which load it, or currents, which do not (SourceKind)."""
    tol: float = 1e-5
    """Relative residual of the operating point (and of the adjoint solve)."""
    max_newton: int = 30
    max_cg: int = 3000

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", NetworkKind.parse(self.kind, "network kind"))
        object.__setattr__(self, "spacing", Spacing.parse(self.spacing, "spacing"))
        object.__setattr__(self, "boundary", Boundary.parse(self.boundary, "boundary"))
        object.__setattr__(self, "init", NetworkInit.parse(self.init, "network init"))
        object.__setattr__(self, "sources", SourceKind.parse(self.sources, "network sources"))
        if self.init == NetworkInit.DARCY and self.kind != NetworkKind.SWITCHED:
            raise InputError("network init darcy needs kind switched (its half-edges carry "
                             "the permeability); set kind = switched or init = random")
        if self.init == NetworkInit.POISSON and not (self.cubic and self.hidden >= 2):
            raise InputError("network init poisson needs cubic = true and hidden >= 2; set "
                             "them or init = random")
        sizes = {name: getattr(self, name) for name in (
            "in_channels", "out_channels", "channels", "inputs", "input_stencil",
            "encoder_stencil", "hidden", "train_grid", "max_newton", "max_cg")}
        bad = {k: v for k, v in sizes.items()
               if isinstance(v, bool) or not isinstance(v, int) or v < 1}
        if bad:
            raise InputError(f"network DEQ sizes must be whole numbers >= 1, got {bad}")
        if sizes["input_stencil"] % 2 == 0 or sizes["encoder_stencil"] % 2 == 0:
            raise InputError("network DEQ stencils must be odd (centred)")
        if not 0 <= self.bit_channel < self.in_channels:
            raise InputError(f"bit_channel must name an input channel (0..{self.in_channels - 1})"
                             f", got {self.bit_channel}")
        if not (isinstance(self.tol, float) and 0 < self.tol < 1):
            raise InputError(f"network DEQ tol must lie in (0, 1), got {self.tol!r}")

    def network_grid(self, grid: int) -> int:
        """Nodes per side of the network on a task field of ``grid`` x ``grid``."""
        return grid - 1 if self.boundary == Boundary.FIRST else grid

    def scale(self, grid: int) -> float:
        """(h_train / h)^2: the transfer rule's divisor on a task grid of ``grid``."""
        return (self.spacing.h(self.train_grid) / self.spacing.h(grid)) ** 2

    def to_dict(self) -> dict:
        from dataclasses import asdict  # deferred: only checkpoints need it

        return {**asdict(self), "kind": self.kind.value, "spacing": self.spacing.value,
                "boundary": self.boundary.value, "init": self.init.value,
                "sources": self.sources.value}


# ------------------------------------------------------------------------------- the operator


@dataclass
class _Network:
    """One realised network on a grid, as tensors: the edge conductances including the
    boundary ones (gx (·, c, G, G + 1) along columns, gy (·, c, G + 1, G) along rows), the
    inter-channel couplings (c, c) or per point (c, c, G, G), the load to fixed potentials
    (·, c, G, G), cubic (·, c, G, G) and the right-hand side (B, c, G, G)."""

    gx: torch.Tensor
    gy: torch.Tensor
    couple: torch.Tensor
    load: torch.Tensor
    cubic: torch.Tensor | None
    rhs: torch.Tensor

    def apply(self, z: torch.Tensor) -> torch.Tensor:
        """A z."""
        fx = self.gx * (F.pad(z, (1, 1))[..., 1:] - F.pad(z, (1, 1))[..., :-1])
        zy = F.pad(z, (0, 0, 1, 1))
        fy = self.gy * (zy[..., 1:, :] - zy[..., :-1, :])
        out = fx[..., :-1] - fx[..., 1:] + fy[..., :-1, :] - fy[..., 1:, :] + self.load * z
        if self.couple.dim() == 2:
            rows = self.couple.sum(1)
            out = out + rows[None, :, None, None] * z - torch.einsum("ab,nbij->naij",
                                                                     self.couple, z)
        else:
            rows = self.couple.sum(1)
            out = out + rows[None] * z - torch.einsum("abij,nbij->naij", self.couple, z)
        return out

    def residual(self, z: torch.Tensor) -> torch.Tensor:
        """F(z) = A z + cubic z^3 - rhs."""
        out = self.apply(z) - self.rhs
        return out if self.cubic is None else out + self.cubic * z**3

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """(B,) 1/2 z'Az + cubic/4 z^4 - rhs'z."""
        e = 0.5 * z * self.apply(z) - self.rhs * z
        if self.cubic is not None:
            e = e + 0.25 * self.cubic * z**4
        return e.flatten(1).sum(1)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).flatten(1).sum(1)


def _bcast(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * 3))


class _Spectral:
    """An exact solver of the uniform network that approximates ``net`` (its per-channel mean
    edge conductances, couplings and load): with Dirichlet boundaries the grid Laplacian is
    diagonalised by the sine transform (DST-I, a g x g orthogonal matrix), leaving one c x c
    system per mode. Exact for a plain, unmismatched linear network; the preconditioner of
    CG otherwise (a switched network's contrast, the cubic term, mismatch)."""

    def __init__(self, net: _Network, extra: torch.Tensor | None = None) -> None:
        gx, gy = net.gx.detach(), net.gy.detach()
        g, c = gx.shape[-2], gx.shape[1]
        dtype = gx.dtype
        ex = gx.mean(dim=(0, 2, 3))
        ey = gy.mean(dim=(0, 2, 3))
        couple = net.couple.detach()
        couple = couple if couple.dim() == 2 else couple.mean(dim=(2, 3))
        load = net.load.detach().mean(dim=(0, 2, 3))
        if extra is not None:
            load = load + extra.detach().mean(dim=(0, 2, 3))
        k = torch.arange(1, g + 1, dtype=dtype)
        self.S = (2.0 / (g + 1)) ** 0.5 * torch.sin(torch.pi * k[:, None] * k[None, :]
                                                    / (g + 1))
        lam = 2 - 2 * torch.cos(torch.pi * k / (g + 1))
        mat = torch.diag(couple.sum(1) + load) - couple  # (c, c)
        modes = (ey[None, None, :, None] * lam[:, None, None, None]
                 + ex[None, None, :, None] * lam[None, :, None, None])  # (g, g, c, 1)
        eye = torch.eye(c, dtype=dtype)
        self.inverse = torch.linalg.inv(mat + modes * eye)  # (g_y, g_x, c, c)

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        hat = self.S @ r @ self.S
        hat = torch.einsum("yxab,nbyx->nayx", self.inverse, hat)
        return self.S @ hat @ self.S


def _cg(apply, b: torch.Tensor, precond, tol: float, max_iter: int) -> torch.Tensor:
    """Batched preconditioned conjugate gradients for apply(x) = b (SPD), from 0, each sample
    until ||r|| <= tol ||b||; ``precond`` an SPD approximation of the inverse."""
    x = torch.zeros_like(b)
    r = b.clone()
    limit = tol * b.flatten(1).norm(dim=1)
    zr = precond(r)
    p = zr.clone()
    rz = _dot(r, zr)
    for _ in range(max_iter):
        if (r.flatten(1).norm(dim=1) <= limit).all():
            break
        ap = apply(p)
        pap = _dot(p, ap)
        alpha = torch.where(pap > 0, rz / torch.where(pap > 0, pap, 1), 0)
        x = x + _bcast(alpha) * p
        r = r - _bcast(alpha) * ap
        zr = precond(r)
        rz_new = _dot(r, zr)
        beta = torch.where(rz > 0, rz_new / torch.where(rz > 0, rz, 1), 0)
        p = zr + _bcast(beta) * p
        rz = rz_new
    return x


def solve_network(net: _Network, tol: float, max_newton: int, max_cg: int) -> torch.Tensor:
    """The operating point of ``net`` (no gradients): CG preconditioned by the uniform
    network's sine-transform solve (_Spectral) for the linear network, else Newton-CG from the
    linear solution with a backtracking line search on the energy."""
    with torch.no_grad():
        pre = _Spectral(net)
        z = _cg(net.apply, net.rhs, pre, tol / 10, max_cg)
        if net.cubic is None:
            return z
        scale = net.rhs.flatten(1).norm(dim=1).clamp_min(1e-30)
        for _ in range(max_newton):
            res = net.residual(z)
            if (res.flatten(1).norm(dim=1) <= tol * scale).all():
                break
            curv = 3 * net.cubic * z**2

            def jac(v: torch.Tensor, curv: torch.Tensor = curv) -> torch.Tensor:
                return net.apply(v) + curv * v

            step = _cg(jac, res, _Spectral(net, curv), tol / 10, max_cg)
            start = net.energy(z)
            t = torch.ones_like(start)
            for _ in range(30):
                trial = z - _bcast(t) * step
                worse = net.energy(trial) > start + 1e-7 * start.abs()
                if not worse.any():
                    break
                t = torch.where(worse, t / 2, t)
            z = z - _bcast(t) * step
        return z


class _Implicit(torch.autograd.Function):
    """Returns z* (a constant in the forward); the backward hands -J^-1 g to F(z*, theta)'s
    graph, which yields the implicit-function-theorem gradient for every parameter and input
    that F depends on."""

    @staticmethod
    def forward(ctx, residual, z_star, adjoint):
        ctx.adjoint = adjoint
        return z_star.clone()

    @staticmethod
    def backward(ctx, grad):
        return -ctx.adjoint(grad), None, None


class NetworkCore(torch.nn.Module):
    """The operating point of a trainable passive network on whatever grid the inputs come
    on (NetworkDEQConfig). Initial values: edges ~1 (lognormal per channel), halves ~1 (both
    bits), couplings 0.05, ground log-spaced per channel over 1e-3..1e-1 (channels with
    different diffusion lengths), injections 0.05 / (p k^2) in random signs, bias 0, cubic 0.1;
    then channel 0 as the task's PDE network where config.init says so (NetworkInit.DARCY
    here, NetworkInit.POISSON in NetworkDEQ.set_standardisation, which sees the fields)."""

    def __init__(self, config: NetworkDEQConfig,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        c, p, k = config.channels, config.inputs, config.input_stencil
        gen = generator

        def positive(values: torch.Tensor) -> torch.nn.Parameter:
            return torch.nn.Parameter(values + torch.log(-torch.expm1(-values)))

        self.edge_raw = positive(torch.exp(0.3 * torch.randn(c, 2, generator=gen)))
        self.half_raw = (positive(torch.exp(0.3 * torch.randn(c, 2, 2, generator=gen)))
                         if config.kind == NetworkKind.SWITCHED else None)
        self.couple_raw = positive(torch.full((c, c), 0.05))
        self.ground_raw = positive(torch.logspace(-3, -1, c) if c > 1 else torch.full((1,), 1e-2))
        self.cubic_raw = positive(torch.full((c,), 0.1)) if config.cubic else None
        signs = torch.randint(0, 2, (c, p, k, k), generator=gen) * 2.0 - 1.0
        self.inject = torch.nn.Parameter(signs * 0.05 / (p * k * k))
        self.bias = torch.nn.Parameter(torch.zeros(c))
        if config.init == NetworkInit.DARCY:
            self._init_darcy()
        self.device_sigma = 0.0
        """Relative (lognormal) error of every conductance while training (0: ideal)."""
        self.noise_generator: torch.Generator | None = None
        self.last_info = None

    def _init_darcy(self, small: float = 1e-4) -> None:
        """Channel 0 := Darcy's finite-difference network (NetworkInit.DARCY)."""
        from codesign.tasks.fields import A_HIGH, A_LOW  # deferred: the task's constants

        def raw(value: float) -> float:  # softplus^-1, stable for large values
            return float(value + np.log(-np.expm1(-value)))

        h = self.config.spacing.h(self.config.train_grid)
        with torch.no_grad():
            self.edge_raw[0] = raw(small)
            self.half_raw[0, :, 0] = raw(2 * A_LOW)
            self.half_raw[0, :, 1] = raw(2 * A_HIGH)
            self.couple_raw[0, :] = raw(small / 100)
            self.couple_raw[:, 0] = raw(small / 100)
            self.ground_raw[0] = raw(small / 10)
            self.inject[0] = small / 100
            self.bias[0] = DARCY_STATE_SCALE * h**2

    # ---------------------------------------------------------------------------- values

    def values(self, grid: int) -> dict[str, torch.Tensor | None]:
        """The conductances on a task grid of ``grid`` (after the transfer rule)."""
        s = self.config.scale(grid)
        couple = F.softplus(self.couple_raw).triu(1)
        return {
            "edge": F.softplus(self.edge_raw),
            "half": None if self.half_raw is None else F.softplus(self.half_raw),
            "couple": (couple + couple.T) / s,
            "ground": F.softplus(self.ground_raw) / s,
            "inject": self.inject / s,
            "bias": self.bias / s,
            "cubic": None if self.cubic_raw is None else F.softplus(self.cubic_raw) / s,
        }

    def _noise(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        n = torch.randn(shape, generator=self.noise_generator, dtype=like.dtype)
        return torch.exp(self.device_sigma * n)

    def network(self, e: torch.Tensor, grid: int, bits: torch.Tensor | None) -> _Network:
        """The realised network for inputs e (B, p, g, g) on network grid g (task grid
        ``grid``), bits (B, g, g) bool for a switched core; mismatched in training when
        device_sigma > 0."""
        v = self.values(grid)
        c, g = self.config.channels, e.shape[-1]
        noisy = self.training and self.device_sigma > 0
        one = e.new_ones(())

        def jitter(shape: tuple[int, ...]) -> torch.Tensor:
            return self._noise(shape, e) if noisy else one

        gx = v["edge"][:, 0].view(1, c, 1, 1) * jitter((1, c, g, g + 1))
        gy = v["edge"][:, 1].view(1, c, 1, 1) * jitter((1, c, g + 1, g))
        gx = gx.expand(1, c, g, g + 1)
        gy = gy.expand(1, c, g + 1, g)
        if v["half"] is not None:
            if bits is None:
                raise InputError("a switched network core needs the grid's bits")
            b = bits[:, None].to(e.dtype)  # (B, 1, g, g)
            gx = gx + self._switched(v["half"][:, 0], b, jitter, -1)
            gy = gy + self._switched(v["half"][:, 1], b, jitter, -2)
        couple = v["couple"]
        if noisy:
            noise = torch.triu(jitter((c, c, g, g)).permute(2, 3, 0, 1), 1)
            noise = (noise + noise.transpose(-1, -2)).permute(2, 3, 0, 1)
            couple = couple[:, :, None, None] * noise
        k = self.config.input_stencil
        inject = v["inject"]
        if noisy:
            per = inject[None] * jitter((g * g, *inject.shape))
            patches = F.unfold(e, k, padding=k // 2)  # (B, p k k, g g)
            rhs = torch.einsum("bjq,qij->biq", patches, per.reshape(g * g, c, -1))
            rhs = rhs.reshape(len(e), c, g, g)
            in_load = per.abs().sum((2, 3, 4)).T.reshape(1, c, g, g)
        else:
            rhs = F.conv2d(e, inject, padding=k // 2)
            in_load = inject.abs().sum((1, 2, 3)).view(1, c, 1, 1)
        bias = v["bias"].view(1, c, 1, 1) * jitter((1, c, g, g))
        ground = v["ground"].view(1, c, 1, 1) * jitter((1, c, g, g))
        if self.config.sources == SourceKind.CURRENT:  # current sources load nothing
            load = ground.expand(1, c, g, g)
        else:
            load = (ground + in_load + bias.abs()).expand(1, c, g, g)
        cubic = None
        if v["cubic"] is not None:
            cubic = v["cubic"].view(1, c, 1, 1) * jitter((1, c, g, g))
        return _Network(gx, gy, couple, load, cubic, rhs + bias)

    def _switched(self, half: torch.Tensor, bits: torch.Tensor, jitter, axis: int
                  ) -> torch.Tensor:
        """Switched conductances along ``axis`` (-1: columns, -2: rows) incl. the boundary:
        h_p h_q / (h_p + h_q) inside, h_p / 2 at the border; each half its own device."""
        c = half.shape[0]
        h = half[:, 0].view(1, c, 1, 1) + (half[:, 1] - half[:, 0]).view(1, c, 1, 1) * bits
        if axis == -2:
            h = h.transpose(-1, -2)
        g = h.shape[-1]
        left = h * jitter((1, c, g, g))  # p's half towards col + 1
        right = h * jitter((1, c, g, g))  # p's half towards col - 1
        inner = left[..., :-1] * right[..., 1:] / (left[..., :-1] + right[..., 1:]).clamp_min(
            1e-30)
        out = torch.cat([right[..., :1] / 2, inner, left[..., -1:] / 2], dim=-1)
        return out.transpose(-1, -2) if axis == -2 else out

    # --------------------------------------------------------------------------- forward

    def forward(self, e: torch.Tensor, bits: torch.Tensor | None = None,
                grid: int | None = None) -> torch.Tensor:
        """(B, p, g, g) inputs (and (B, g, g) bits) -> (B, c, g, g) operating point; ``grid``:
        the task grid (default: the one of a network with nodes on every point)."""
        cfg = self.config
        grid = grid if grid is not None else (
            e.shape[-1] + 1 if cfg.boundary == Boundary.FIRST else e.shape[-1])
        net = self.network(e, grid, bits)
        z_star = solve_network(net, cfg.tol, cfg.max_newton, cfg.max_cg)
        if not torch.isfinite(z_star).all():
            raise InputError("the network's operating point is not finite; lower the lr")
        if not torch.is_grad_enabled():
            return z_star
        detached = _Network(*(None if t is None else t.detach() for t in (
            net.gx, net.gy, net.couple, net.load, net.cubic, net.rhs)))
        curv = None if net.cubic is None else 3 * detached.cubic * z_star**2
        pre = _Spectral(detached, curv)

        def adjoint(grad: torch.Tensor) -> torch.Tensor:
            if curv is None:
                return _cg(detached.apply, grad, pre, cfg.tol / 10, cfg.max_cg)
            return _cg(lambda v: detached.apply(v) + curv * v, grad, pre, cfg.tol / 10,
                       cfg.max_cg)

        return _Implicit.apply(net.residual(z_star), z_star, adjoint)

    def to_weights(self, grid: int) -> NetworkWeights:
        """The network in float64 on a task grid of ``grid`` (the transfer rule applied; the
        network grid is grid - 1 for Boundary.FIRST)."""
        with torch.no_grad():
            v = {k: None if t is None else t.double().numpy() for k, t in
                 self.values(grid).items()}
        c = self.config.channels
        return NetworkWeights(self.config.network_grid(grid), v["edge"], v["half"], v["couple"],
                              v["ground"], v["inject"], v["bias"],
                              np.zeros(c) if v["cubic"] is None else v["cubic"],
                              sources=self.config.sources)


class NetworkDEQ(torch.nn.Module):
    """x (B, C_in, G, G) -> standardise -> e = tanh(encoder(x)) (p per point, local) ->
    z* = NetworkCore(e, bits(x)) -> y = decoder([z* / z_scale, e]) (pointwise) -> (B, C_out,
    G, G), on any G. z_scale (a buffer) is the state's RMS on the training fields at
    initialisation, so that the decoder starts on O(1) values. readout_gain (a buffer, per
    channel; fit_range sets it after training) is the gain of the buffer between a node and
    its ADC on the chip, so that every channel's ADC sees most of its full scale (read)."""

    def __init__(self, config: NetworkDEQConfig,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = cfg = config
        add_codec(self, cfg, NetworkCore(cfg, generator), generator)
        self.register_buffer("z_scale", torch.ones(cfg.channels))
        self.register_buffer("readout_gain", torch.ones(cfg.channels))

    def set_standardisation(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Per-channel mean and scale of the training inputs and outputs, and the state's RMS
        per channel on (up to 256 of) the training inputs."""
        with torch.no_grad():
            self.x_mean.copy_(x.mean((0, 2, 3)))
            self.x_scale.copy_(x.std((0, 2, 3)).clamp_min(1e-12))
            self.y_mean.copy_(y.mean((0, 2, 3)))
            self.y_scale.copy_(y.std((0, 2, 3)).clamp_min(1e-12))
            alpha = None
            if self.config.init == NetworkInit.POISSON:
                alpha = self._init_poisson(float(x.abs().max()))
            elif self.config.init == NetworkInit.DARCY:
                alpha = DARCY_STATE_SCALE
            z = self.state(x[:256])
            self.z_scale.copy_(z.pow(2).mean((0, 2, 3)).sqrt().clamp_min(1e-12))
            if alpha is not None:
                self._init_decoder(alpha)

    def _init_decoder(self, alpha: float) -> None:
        """A PDE-initialised model (NetworkInit) starts by reading output 0 as channel 0's
        state / alpha (the PDE network's u): the decoder's hidden units 0 and 1 carry +-z_0 /
        z_scale_0 (GELU(t) - GELU(-t) = t) and only they reach output 0."""
        first, second = self.decoder[0], self.decoder[2]
        first.weight[:2].zero_()
        first.weight[0, 0] = 1.0
        first.weight[1, 0] = -1.0
        first.bias[:2] = 0.0
        gain = float(self.z_scale[0]) / (alpha * float(self.y_scale[0]))
        second.weight[0].zero_()
        second.weight[0, 0] = gain
        second.weight[0, 1] = -gain
        second.bias[0] = -float(self.y_mean[0]) / float(self.y_scale[0])
        second.weight[1:, :2] = 0.0

    def _init_poisson(self, s_max: float, small: float = 1e-4) -> float:
        """Channel 0 := nonlinear Poisson's finite-difference network, input 0 := k s
        (NetworkInit.POISSON); called by set_standardisation with the largest |s|. Returns
        alpha (model volts of channel 0 per unit of u)."""

        def raw(value: float) -> float:  # softplus^-1, stable for large values
            return float(value + np.log(-np.expm1(-value)))

        core, cfg = self.core, self.config
        h = cfg.spacing.h(cfg.train_grid)
        k = POISSON_INPUT_PEAK / max(s_max, 1e-30)
        alpha = POISSON_INJECT * k / h**2
        first, second = self.encoder[0], self.encoder[2]
        scale, mean = float(self.x_scale[0]), float(self.x_mean[0])
        mid = cfg.encoder_stencil // 2
        first.weight[:2].zero_()
        first.weight[0, 0, mid, mid] = 1.0
        first.weight[1, 0, mid, mid] = -1.0
        first.bias[:2] = 0.0
        second.weight[0].zero_()
        second.weight[0, 0] = k * scale
        second.weight[0, 1] = -k * scale
        second.bias[0] = k * mean
        second.weight[1:, :2] = 0.0
        core.edge_raw[0] = raw(1.0)
        core.couple_raw[0, :] = raw(small)
        core.couple_raw[:, 0] = raw(small)
        core.ground_raw[0] = raw(small / 10)
        core.inject[0] = 0.0
        core.inject[0, 0, cfg.input_stencil // 2, cfg.input_stencil // 2] = POISSON_INJECT
        core.bias[0] = 0.0
        core.cubic_raw[0] = raw(h**2 * POISSON_KAPPA / alpha**2)
        return alpha

    def _nodes(self, x: torch.Tensor) -> torch.Tensor:
        """The part of a field on the network's nodes (Boundary)."""
        return x[..., 1:, 1:] if self.config.boundary == Boundary.FIRST else x

    def bits(self, x: torch.Tensor) -> torch.Tensor | None:
        """(B, g, g) bool switching bits on the network's nodes: x[:, bit_channel] >=
        bit_threshold in the input's own units (Darcy: a >= 0.5, the high permeability);
        None for a plain core."""
        if self.config.kind != NetworkKind.SWITCHED:
            return None
        return self._nodes(x[:, self.config.bit_channel]) >= self.config.bit_threshold

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The DAC inputs e in [-1, 1] on the network's nodes, (B, p, g, g)."""
        x = (x - self.x_mean[:, None, None]) / self.x_scale[:, None, None]
        return torch.tanh(self.encoder(self._nodes(x)))

    def state(self, x: torch.Tensor) -> torch.Tensor:
        """The operating point (B, c, g, g) for fields x."""
        return self.core(self.encode(x), self.bits(x), x.shape[-1])

    def decode(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """Outputs on the task grid from the state and the local inputs (both read by ADCs)."""
        y = self.decoder(torch.cat([z / self.z_scale[:, None, None], e], 1))
        y = y * self.y_scale[:, None, None] + self.y_mean[:, None, None]
        if self.config.boundary == Boundary.FIRST:
            y = F.pad(y, (1, 0, 1, 0))
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encode(x)
        return self.decode(self.core(e, self.bits(x), x.shape[-1]), e)

    def fit_range(self, x: torch.Tensor, peak: float = 0.8) -> float:
        """A passive network's node voltages lie between its sources' (0, +-e, +-1; the cubic
        element only pulls them towards 0), so the state is already inside full scale and is
        not rescaled (returns 1). But a channel may span a small fraction of it (a trained
        Poisson core's weakest channel peaked at 0.04 FS, RMS 0.009 FS: about one LSB of an
        8-bit ADC, and the chip's error was 1.41x the model's from the ADCs alone), so this sets
        ``readout_gain`` per channel to ``peak`` / (the channel's largest |z| over the fields
        ``x``): the gain of the buffer between a node and its ADC (NetworkDEQ.read)."""
        if not 0 < peak <= 1:
            raise InputError(f"fit_range peak must lie in (0, 1], got {peak!r}")
        with torch.no_grad():
            largest = torch.stack([self.state(xb).abs().amax((0, 2, 3)) for xb in x.split(64)])
            largest = largest.amax(0).double()
            gain = torch.where(largest > 0, peak / largest.clamp_min(1e-30), 1.0)
            self.readout_gain.copy_(gain.to(self.readout_gain.dtype))
        return 1.0

    def read(self, z: torch.Tensor,
             adc: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The state (K, c, g, g) [FS] as the ADCs report it: each channel amplified by its
        readout gain (the buffer into the ADC), converted by ``adc`` (the chip's converters,
        e.g. codesign.circuit.converters.adc: clipped to full scale, rounded to the ADC's
        codes) and divided by the gain again in the digital decoder's units."""
        gain = self.readout_gain.to(z.dtype)[:, None, None]
        return adc(z * gain) / gain

    def to_weights(self, grid: int) -> NetworkWeights:
        """The core's network on a task grid of ``grid`` (NetworkCore.to_weights) with this
        model's readout gain per channel (the chip's buffers into its ADCs; none where every
        gain is 1)."""
        weights = self.core.to_weights(grid)
        gain = self.readout_gain.double().numpy()
        return weights if (gain == 1).all() else replace(weights, readout=gain)
