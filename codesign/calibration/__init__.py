"""Calibration: probe circuits -> SPICE sweep (resumable, pool or Dask) -> the proxy's parameters
fitted by gradient descent -> evaluation on held-out cores -> report.

    spec.py      sweep specs (TOML)          probes.py   random cores, inputs, chip instances
    runner.py    pool / Dask execution        store.py    results keyed by content hash
    data.py      stored results as tensors    fit.py      equilibrium and transient fits
    evaluate.py  residuals, settling, spread  report.py   Markdown, JSON, Parquet, plots
    calibrate.py the pipeline
"""

from codesign.calibration.calibrate import Calibration, calibrate, plan
from codesign.calibration.spec import CalibrationSpec, load_spec

__all__ = ["Calibration", "CalibrationSpec", "calibrate", "load_spec", "plan"]
