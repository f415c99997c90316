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
done: it is set aside as KEY.npz.bad and the sample runs again.

A store opened with ``chunk`` > 1 (``codesign verify``: one ngspice sweep's samples) keeps the
samples it is given and writes them ``chunk`` at a time as one file, chunk-KEY.npz (``keys``:
the samples' keys, and each array stacked over them; KEY: run_key of the keys), the same way,
atomically; ``flush`` writes what is held (the caller flushes when its run ends, finished or
failed). A run killed before a flush loses the samples held since the last one (fewer than
``chunk``) besides those running; a re-run simulates only those. A chunk file that cannot be
read, holds non-finite values or keys that do not match its arrays counts for none of its
samples (set aside as .bad). Per-sample files and chunk files are read alike.

A failed ngspice run leaves KEY.error.json (its error, the ngspice output) and KEY.error.cir
(the deck, to rerun by hand) under the key of the run, and is retried by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from codesign.errors import InputError, SimulationError
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


TRANSIENT_FIELDS = ("settling_time_s", "final_error_fs", "core_energy_j", "input_energy_j",
                    "activation_energy_j", "final_power_w", "bias_energy_j")
"""A stored transient's metrics, in order (one stored before bias_energy_j existed has the
first six: its deck had no bias reference of its own)."""


def state_arrays(state: SampleState, deck: Deck | None = None,
                 trace_points: int = 0) -> dict[str, np.ndarray]:
    """What the store keeps of a sample: z, x; a transient's metrics; with ``trace_points`` its
    trace (t: uniform time points from the reset [s], zt: the activations there [FS]), which
    needs the state's raw result and its ``deck``."""
    arrays = {"z": state.z, "x": state.x}
    if state.transient is not None:
        t = state.transient
        arrays["transient"] = np.array([getattr(t, name) for name in TRANSIENT_FIELDS])
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
        transient = TransientMetrics(**dict(zip(TRANSIENT_FIELDS,
                                                map(float, arrays["transient"]),
                                                strict=False)),
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
    """Finished samples under ``root``: KEY.npz or chunk-KEY.npz (arrays), KEY.error.json
    (failed runs). ``chunk``: samples written per file (1: each as it is saved)."""

    def __init__(self, root: Path, chunk: int = 1) -> None:
        self.root = Path(root)
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise InputError(f"a result store's chunk must be a whole number >= 1, got {chunk!r}")
        self.chunk = chunk
        self._held: dict[str, dict[str, np.ndarray]] = {}
        self._chunks: dict[str, dict[str, np.ndarray]] | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(self.root, exc) from None

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def chunk_path(self, key: str) -> Path:
        """The file of the chunk whose run_key is ``key``."""
        return self.root / f"{CHUNK_PREFIX}{key}.npz"

    def error_path(self, key: str) -> Path:
        return self.root / f"{key}.error.json"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays of sample ``key``, or None if it is not stored (or was unusable)."""
        held = self._held.get(key)
        if held is not None:
            return held
        try:
            with np.load(self.path(key), allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            check_finite(arrays)
        except FileNotFoundError:
            return self._chunked().get(key)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, SimulationError):
            _set_aside(self.path(key))
            return None
        return arrays

    def _chunked(self) -> dict[str, dict[str, np.ndarray]]:
        """Every sample of the chunk files (read once, on the first look-up that needs them)."""
        if self._chunks is None:
            self._chunks = {}
            for path in sorted(self.root.glob(f"{CHUNK_PREFIX}*.npz")):
                self._chunks.update(read_chunk(path))
        return self._chunks

    def has(self, key: str) -> bool:
        """Is sample ``key`` stored, readable and finite?"""
        return self.get(key) is not None

    def load(self, key: str) -> dict[str, np.ndarray]:
        arrays = self.get(key)
        if arrays is None:
            raise KeyError(f"sample {key} is not in the store {self.root}")
        return arrays

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> Path | None:
        """Store a finished sample's arrays atomically (SimulationError if any is not finite):
        at once (chunk 1: its path), or held until ``chunk`` samples are (their chunk's path
        when this one completes it, else None)."""
        check_finite(arrays)
        if self.chunk == 1:
            return atomic_write(self.path(key), lambda tmp: _savez(tmp, arrays))
        if CHUNK_KEYS in arrays:  # refused before it is held, so nothing held is lost
            raise ValueError(f"a sample's arrays may not be named {CHUNK_KEYS!r}")
        self._held[key] = arrays
        return self.flush() if len(self._held) >= self.chunk else None

    def flush(self) -> Path | None:
        """Write the samples held as one chunk file (None when none are held). Samples whose
        arrays do not stack (different names or shapes) are written one file each."""
        held, self._held = self._held, {}
        if not held:
            return None
        groups: dict[tuple, list[str]] = {}
        for key, arrays in held.items():
            shape = tuple((name, value.shape) for name, value in arrays.items())
            groups.setdefault(shape, []).append(key)
        path = None
        for keys in groups.values():
            if len(keys) == 1:
                path = atomic_write(self.path(keys[0]), lambda tmp, a=held[keys[0]]: _savez(tmp, a))
                continue
            names = list(held[keys[0]])
            stacked = {name: np.stack([held[key][name] for key in keys]) for name in names}
            stacked[CHUNK_KEYS] = np.array(keys)
            path = atomic_write(self.chunk_path(run_key(keys)),
                                lambda tmp, a=stacked: _savez(tmp, a))
            if self._chunks is not None:
                self._chunks.update({key: held[key] for key in keys})
        return path

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


CHUNK_PREFIX = "chunk-"
"""File-name prefix of a chunk of samples (chunk-KEY.npz)."""
CHUNK_KEYS = "keys"
"""The array of a chunk file that names its samples (one key per row of the others)."""


def read_chunk(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Key -> arrays of every sample of the chunk file ``path``; {} (and the file set aside as
    .bad) if it cannot be read, holds a non-finite value, keys that do not name one row each
    of its arrays, or a name that is not its run_key."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        keys = arrays.pop(CHUNK_KEYS).tolist()
        check_finite(arrays)
        if (not keys or len(set(keys)) != len(keys)
                or any(value.ndim == 0 or len(value) != len(keys) for value in arrays.values())
                or path.name != f"{CHUNK_PREFIX}{run_key(keys)}.npz"):
            raise ValueError("keys do not match the arrays")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, SimulationError):
        _set_aside(path)
        return {}
    return {key: {name: value[k] for name, value in arrays.items()}
            for k, key in enumerate(keys)}


def _set_aside(path: Path) -> None:
    """Rename an unusable stored file to NAME.bad (it never counts as done again)."""
    with contextlib.suppress(FileNotFoundError):
        path.replace(path.with_suffix(".npz.bad"))


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    os.chmod(path, 0o644)

