"""Typed results of a calibration: how a fitted parameter set predicts SPICE runs it was not
fitted to (residuals of each proxy, settling times, Monte Carlo spread), the fit's loss, and a
re-fit on a chip's own traces. Units in the field names: _fs full scale, _s seconds."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.choices import Choice


class Role(Choice):
    """What a probe's results are used for."""

    FIT = "fit"
    HOLDOUT = "holdout"
    """Never fitted: the reported errors."""
    MC = "mc"
    """A Monte Carlo instance of a held-out core (the mismatch spread)."""


class ProxyKind(Choice):
    """The parameter sets a calibration compares."""

    CALIBRATED = "calibrated"
    """Fitted to the SPICE runs."""
    IDEAL = "ideal"
    """The digital core itself: infinite gain, no rails, an exact activation."""
    NOMINAL = "nominal"
    """The circuit's design values (gain, offsets, rails, tau) before any fit."""


@dataclass(frozen=True)
class Residuals:
    """|z_proxy - z_spice| over a set of SPICE equilibria [FS] (None: no values)."""

    rms: float | None
    max: float | None
    values: int
    """How many equilibrium values (samples x neurons) were compared."""


@dataclass(frozen=True)
class ProxyResiduals:
    """The residuals of each parameter set on the same SPICE equilibria."""

    calibrated: Residuals
    ideal: Residuals
    nominal: Residuals

    def of(self, kind: ProxyKind | str) -> Residuals:
        return getattr(self, ProxyKind.parse(kind, "proxy").value)

    @property
    def gain(self) -> float | None:
        """How many times lower the calibrated RMS is than the ideal proxy's."""
        ideal, calibrated = self.ideal.rms, self.calibrated.rms
        return ideal / calibrated if ideal is not None and calibrated else None


@dataclass(frozen=True)
class SettlingCheck:
    """The proxy's settling time from reset against SPICE's over transient probes."""

    samples: int
    """Transients settled in both (the compared ones)."""
    unsettled: int = 0
    median_abs_rel_error: float | None = None
    max_abs_rel_error: float | None = None
    within_10pct: float | None = None
    """Fraction of samples whose relative error is at most 10 %."""
    spice_median_s: float | None = None
    proxy_median_s: float | None = None


@dataclass(frozen=True)
class MismatchCheck:
    """Per-neuron standard deviation of z* across chip instances: SPICE (Monte Carlo probes)
    against the proxy's own draws of the same mismatch."""

    instances: int
    proxy_draws: int
    cores: int
    neurons: int
    spice_rms_sd_fs: float
    proxy_rms_sd_fs: float
    rms_sd_ratio: float
    median_ratio: float
    within_20pct: float
    """Fraction of neuron-samples whose proxy spread is within 20 % of SPICE's."""
    within_20pct_if_exact: float
    """What an exact proxy would reach, given that ``instances`` SPICE instances estimate each
    spread only to about 1 / sqrt(2 (instances - 1))."""


@dataclass(frozen=True)
class FitLoss:
    """First and last loss of the static (equilibrium) and dynamic (transient) fits."""

    static_first: float
    static_last: float
    dynamic_first: float | None = None
    dynamic_last: float | None = None


@dataclass(frozen=True)
class PointEvaluation:
    """How one grid point's fitted parameters predict its probes."""

    holdout: ProxyResiduals
    """On the held-out cores (never fitted): the reported errors."""
    fit: ProxyResiduals
    """On the fitted cores."""
    settling_holdout: SettlingCheck
    settling_fit: SettlingCheck
    mismatch: MismatchCheck | None
    """None without Monte Carlo instances."""
    loss: FitLoss


@dataclass(frozen=True)
class RefitResult:
    """How a re-fit on a chip's own traces did: the residuals [FS RMS] of the old and new
    parameters on the held-out (odd) samples, the samples used and the fit's loss."""

    residual_before_fs: float
    residual_after_fs: float
    fit_samples: int
    test_samples: int
    loss_first: float
    loss_last: float
