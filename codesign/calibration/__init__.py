"""Calibration: probe circuits -> SPICE sweep (resumable, pool or Dask) -> the proxy's parameters
fitted by gradient descent -> evaluation on held-out cores -> report.

    spec.py       sweep specs (TOML)          probes.py    random cores, inputs, chip instances
    runner.py     pool / Dask execution       data.py      stored results as tensors
    fit.py        equilibrium and transient fits
    residuals.py  how well parameters predict held-out SPICE runs (residuals, settling, spread)
    calibrate.py  the pipeline                fit_report.py  Markdown, JSON, Parquet, plots
    refit.py      re-fit on a chip's own traces (the co-design loop's rounds)
    noise.py      the proxy's noise against repeated noisy SPICE transients
    trim.py       a chip instance's per-neuron terms fitted to its own equilibria
    readout.py    a chip instance's digital decoder fitted to its own SPICE states
"""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.calibration.calibrate import Calibration, calibrate, plan
    from codesign.calibration.fit_report import write_fit_report
    from codesign.calibration.noise import (
        NoiseCheck,
        NoisePlan,
        NoiseSpread,
        check_noise,
        noise_spread,
    )
    from codesign.calibration.readout import ReadoutFit, fit_readout
    from codesign.calibration.refit import refit
    from codesign.calibration.spec import CalibrationSpec, load_spec

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
