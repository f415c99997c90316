"""The store of finished SPICE samples: one layout and one key for every caller (a chip's
operating points and transients, a calibration's probes).

A sample is keyed by :func:`sample_key`, the content hash of its deck, analysis, inputs,
transient length and settling tolerance (and, for a noisy deck, its index, which seeds its
noise). Its file KEY.npz holds the arrays of :func:`state_arrays`: z and x (units of full scale)
and, for a transient, its metrics and, when asked for, its trace resampled from the reset.

A result is written to a temporary name and renamed into place, so a file that exists is
complete: a run killed at any moment loses at most the samples that were running, and a re-run
skips every stored one. A stored file that cannot be read or holds non-finite values (other
than a transient's metrics, whose settling time is NaN when it never settled) does not count as
done: it is set aside as KEY.npz.bad and the sample runs again. A failed ngspice run leaves
KEY.error.json (its error, the ngspice output) and KEY.error.cir (the deck, to rerun by hand)
under the key of the run, and is retried by the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from codesign.errors import SimulationError
from codesign.files import atomic_write, output_error, write_json, write_text
from codesign.netlist.deck import Analysis, Deck, SampleJob
from codesign.simulator.traces import SampleState, TransientMetrics

NAN_OK = ("transient",)
"""Stored arrays that may hold NaN: a transient's metrics (its settling time is NaN when it did
not settle within its length)."""
TRACE_POINTS = 160
"""Points of a stored transient trace: uniform in time from the reset (calibration fits them)."""


def deck_sha256(deck: Deck) -> str:
    return hashlib.sha256(deck.text.encode()).hexdigest()


def sample_key(deck_hash: str, analysis: Analysis | str, job: SampleJob, tol_fs: float,
               noisy: bool = False) -> str:
    """The store key of one sample of the deck whose :func:`deck_sha256` is ``deck_hash``."""
    noise = f"|noise sample {job.index}" if noisy else ""
    text = (f"{deck_hash}|{Analysis(analysis)}|{job.inputs!r}|{job.t_stop_s!r}|{tol_fs!r}"
            f"{noise}")
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def run_key(sample_keys: list[str] | tuple[str, ...]) -> str:
    """The key of one run over several samples (its error record)."""
    return hashlib.sha256("|".join(sample_keys).encode()).hexdigest()[:24]


def state_arrays(state: SampleState, deck: Deck | None = None,
                 trace_points: int = 0) -> dict[str, np.ndarray]:
    """What the store keeps of a sample: z, x; a transient's metrics; with ``trace_points`` its
    trace (t: uniform time points from the reset [s], zt: the activations there [FS]), which
    needs the state's raw result and its ``deck``."""
    arrays = {"z": state.z, "x": state.x}
    if state.transient is not None:
        t = state.transient
        arrays["transient"] = np.array([t.settling_time_s, t.final_error_fs, t.core_energy_j,
                                        t.input_energy_j, t.activation_energy_j,
                                        t.final_power_w])
        arrays["z_sampled"] = np.array(t.z_sampled)
        if trace_points:
            arrays["t"], arrays["zt"] = resampled_trace(state, deck, trace_points)
    return arrays


def resampled_trace(state: SampleState, deck: Deck, points: int) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """(t (P,), zt (P, n)) of a transient kept with its raw result: ``points`` uniform time
    points from 0 to its end, the activations there [FS] (linear in between)."""
    trace = state.result.tran
    t = trace.time[1:]  # the first row is not exactly the initial condition
    grid = np.linspace(0.0, t[-1], points)
    zt = np.stack([np.interp(grid, t, trace.vectors[v][1:]) for v in deck.z_vectors], 1)
    return grid, zt / deck.v_fs


def state_from(index: int, arrays: dict[str, np.ndarray]) -> SampleState:
    """The SampleState of stored ``arrays`` (without its raw result)."""
    transient = None
    if "transient" in arrays:
        transient = TransientMetrics(*map(float, arrays["transient"]),
                                     z_sampled=tuple(arrays["z_sampled"].tolist())
                                     if "z_sampled" in arrays else ())
    return SampleState(index, arrays["z"], arrays["x"], transient)


def check_finite(arrays: dict[str, np.ndarray], nan_ok: tuple[str, ...] = NAN_OK) -> None:
    """SimulationError naming the first array (not in ``nan_ok``) with a non-finite value."""
    for name, values in arrays.items():
        if name not in nan_ok and not np.isfinite(values).all():
            raise SimulationError(f"the result {name!r} has non-finite values; not stored")
        if name in nan_ok and np.isinf(values).any():
            raise SimulationError(f"the result {name!r} has infinite values; not stored")


class ResultStore:
    """Finished samples under ``root``: KEY.npz (arrays), KEY.error.json (failed runs)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(self.root, exc) from None

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def error_path(self, key: str) -> Path:
        return self.root / f"{key}.error.json"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays of sample ``key``, or None if it is not stored (or was unusable)."""
        try:
            with np.load(self.path(key), allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            check_finite(arrays)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, SimulationError):
            self.path(key).replace(self.path(key).with_suffix(".npz.bad"))
            return None
        return arrays

    def has(self, key: str) -> bool:
        """Is sample ``key`` stored, readable and finite?"""
        return self.get(key) is not None

    def load(self, key: str) -> dict[str, np.ndarray]:
        arrays = self.get(key)
        if arrays is None:
            raise KeyError(f"sample {key} is not in the store {self.root}")
        return arrays

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> Path:
        """Store a finished sample's arrays atomically (SimulationError if any is not finite)."""
        check_finite(arrays)
        return atomic_write(self.path(key), lambda tmp: _savez(tmp, arrays))

    def save_error(self, key: str, record: dict, deck: str = "") -> Path:
        """Record why run ``key`` failed (and its deck, to rerun by hand)."""
        if deck:
            write_text(self.error_path(key).with_suffix(".cir"), deck)
        return write_json(self.error_path(key), record)

    def clear_error(self, key: str) -> None:
        """Forget an earlier failure of run ``key`` (it has now finished)."""
        self.error_path(key).unlink(missing_ok=True)
        self.error_path(key).with_suffix(".cir").unlink(missing_ok=True)

    def error(self, key: str) -> dict | None:
        path = self.error_path(key)
        try:
            return json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            return {"error": f"unreadable error record {path}"}


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    os.chmod(path, 0o644)

