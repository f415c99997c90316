"""Checkpoints and bare cores on disk.

A checkpoint is a dict of tensors and plain values (config, version, task, metrics) written by
``torch.save`` and read back with ``torch.load(weights_only=True)``: it never unpickles arbitrary
objects. Its config and tensor shapes are checked before a model is built from it. A bare core
is an ``.npz`` with arrays W (n x n), U (n x m), b (n) and optionally a string ``activation``,
read with ``allow_pickle=False``; the arrays' headers (shape, type) are checked before any array
is loaded, so a small file that would inflate to a huge core is refused with its size.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from codesign._version import __version__
from codesign.deq.grid import GridDEQ, GridDEQConfig
from codesign.deq.kirchhoff import NetworkDEQ, NetworkDEQConfig
from codesign.deq.model import Decoder, DEQConfig, Encoder, HybridDEQ
from codesign.deq.weights import CoreWeights
from codesign.errors import CheckpointError, InputError
from codesign.files import atomic_write, jsonable
from codesign.limits import check_samples, check_size

FORMAT = "codesign-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint: the model and what was recorded with it."""

    model: HybridDEQ
    task: str
    metrics: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    codesign_version: str = ""

    def check_task(self, task) -> Checkpoint:
        """This checkpoint, if its model fits ``task``'s data (its name, input and output
        widths); CheckpointError naming the mismatch otherwise."""
        config = self.model.config
        if self.task != task.name or (config.in_features, config.out_features) != (
                task.in_features, task.out_features):
            raise CheckpointError(
                f"this checkpoint's model ({self.task or 'no task'}: {config.in_features} -> "
                f"{config.out_features}) does not fit the {task.name} task "
                f"({task.in_features} -> {task.out_features}); train one with `codesign train "
                f"--task {task.name}`")
        return self


def save_checkpoint(
    path: Path, model: HybridDEQ, task: str, metrics: dict, train_config: dict
) -> Path:
    """Write ``model`` with its config, task name, metrics and versions to ``path``."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "codesign_version": __version__,
        "torch_version": str(torch.__version__),
        "task": str(task),
        "config": jsonable(model.config.to_dict()),
        "train_config": jsonable(dict(train_config)),
        "metrics": jsonable(dict(metrics)),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    return atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))


def _read_payload(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        pickled = "global" in str(exc).lower()  # a class or function, not a tensor
        reason = (
            "holds pickled objects other than tensors; codesign only loads checkpoints with "
            "weights_only=True: re-save it with `codesign train` or pass the core as .npz"
            if pickled else "is not a readable torch checkpoint; check the file"
        )
        raise CheckpointError(f"{path} {reason}") from None
    except Exception as exc:  # torch raises many types for a damaged archive
        raise CheckpointError(
            f"{path} is not a readable torch checkpoint ({type(exc).__name__}); check the file"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a codesign checkpoint (no format tag); write it with `codesign "
            "train`, or pass a bare core as .npz with arrays W, U, b"
        )
    version = payload.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version!r}, newer than this codesign "
            f"({__version__}) reads; upgrade codesign"
        )
    return payload


def _expected_shapes(c: DEQConfig) -> dict[str, tuple[int, ...]]:
    encoder = ({"encoder.weight": (c.core_inputs, c.in_features),
                "encoder.bias": (c.core_inputs,)} if c.encoder is Encoder.LINEAR_TANH else {})
    return {"x_mean": (c.in_features,), "x_scale": (c.in_features,), **encoder,
            "core.V": (c.core_size, c.core_size), "core.U": (c.core_size, c.core_inputs),
            "core.b": (c.core_size,),
            "decoder.weight": ((c.out_features, c.core_size) if c.decoder is Decoder.LINEAR
                               else (c.core_size,)),
            "decoder.bias": (c.out_features,)}


def _check_state(path: Path, state, config: DEQConfig) -> None:
    """The state dict holds finite float tensors of the config's shapes, and nothing else."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} has no state_dict of tensors; re-save it with "
                              "`codesign train`")
    expected = _expected_shapes(config)
    if set(state) != set(expected):
        raise CheckpointError(f"{path}: the weights are {sorted(map(str, state))}, not the "
                              f"HybridDEQ's {sorted(expected)}; re-save it with `codesign train`")
    for name, shape in expected.items():
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise CheckpointError(f"{path}: {name} is not a float tensor")
        if tuple(tensor.shape) != shape:
            raise CheckpointError(f"{path}: weights do not fit its config ({name} has shape "
                                  f"{tuple(tensor.shape)}, the config needs {shape})")
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: {name} holds NaN/inf; retrain the model")


def _plain_dict(path: Path, payload: dict, key: str) -> dict:
    value = payload.get(key, {})
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: {key} is not a table")
    return value


def load_checkpoint(path: Path, force: bool = False, task: str | None = None) -> Checkpoint:
    """The model in the checkpoint at ``path`` (weights_only loading); with ``task``, a
    CheckpointError unless it is a model of that task."""
    if not isinstance(path, str | PathLike):
        raise CheckpointError(f"a checkpoint is a path, got {type(path).__name__}")
    path = Path(path)
    payload = _read_payload(path)
    if "config" not in payload:
        raise CheckpointError(f"{path} lacks its model config; re-save it with `codesign train`")
    config = DEQConfig.from_dict(payload["config"])
    check_size(config.core_size, config.core_inputs, force=force)
    _check_state(path, payload.get("state_dict"), config)
    name = payload.get("task", "")
    if not isinstance(name, str):
        raise CheckpointError(f"{path}: task is not a name")
    if task is not None and name != task:
        raise CheckpointError(f"{path} holds a model of the {name or 'unnamed'} task, not of "
                              f"{task}; use a checkpoint of {task} (or another folder)")
    model = HybridDEQ(config)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return Checkpoint(
        model=model,
        task=name,
        metrics=_plain_dict(path, payload, "metrics"),
        train_config=_plain_dict(path, payload, "train_config"),
        codesign_version=str(payload.get("codesign_version", "")),
    )


def _npy_header(archive: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    with archive.open(f"{name}.npy") as handle:
        version = np.lib.format.read_magic(handle)
        read = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f"unsupported .npy format {version}")
        shape, _, dtype = read(handle)
    return shape, dtype


def _check_npz(path: Path, force: bool) -> None:
    """Shapes and types of W, U, b from the archive's headers, before anything is loaded."""
    with zipfile.ZipFile(path) as archive:
        names = {n[:-4] for n in archive.namelist() if n.endswith(".npy")}
        missing = [k for k in ("W", "U", "b") if k not in names]
        if missing:
            raise InputError(
                f"{path} lacks arrays {missing}; a core .npz needs W (n x n), U (n x m), b (n)")
        headers = {k: _npy_header(archive, k) for k in ("W", "U", "b")}
    for name, (_, dtype) in headers.items():
        if dtype.kind not in "biuf" or dtype.hasobject:
            kind = "complex" if dtype.kind == "c" else str(dtype)
            raise InputError(f"{path}: {name} holds {kind} values; a core is a plain-array .npz "
                             "of real numbers")
    dims = [d for shape, _ in headers.values() for d in shape]
    u_shape = headers["U"][0]
    check_size(max(dims, default=0), u_shape[1] if len(u_shape) == 2 else 1, force=force)


def load_npz_core(path: Path, force: bool = False) -> CoreWeights:
    """A bare core from an .npz with arrays W, U, b and an optional string 'activation'."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"core file {path} does not exist; check the path")
    try:
        _check_npz(path, force)
        with np.load(path, allow_pickle=False) as data:
            activation = "tanh"
            if "activation" in data.files:
                value = data["activation"]
                if value.dtype.kind not in "US" or value.ndim != 0:
                    raise InputError(f"{path}: activation must be one name (a string)")
                activation = str(value)
            return CoreWeights(data["W"], data["U"], data["b"], activation)
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(
            f"{path} is not a plain-array .npz ({type(exc).__name__}); save it with numpy.savez "
            "and no object arrays"
        ) from None


def save_npz_core(path: Path, core: CoreWeights) -> Path:
    """Write ``core`` as a bare-core .npz (the format ``load_npz_core`` reads)."""
    return atomic_write(Path(path), lambda tmp: _savez(tmp, core))


def _savez(path: Path, core: CoreWeights) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, W=core.W, U=core.U, b=core.b, activation=np.array(core.activation))


def load_source(path: Path, force: bool = False) -> tuple[CoreWeights, Checkpoint | None]:
    """The core of a checkpoint (.pt and anything else torch-saved) or of a bare .npz core."""
    path = Path(path)
    if path.suffix == ".npz":
        return load_npz_core(path, force), None
    ckpt = load_checkpoint(path, force)
    return ckpt.model.core.to_weights(), ckpt


def load_inputs(path: Path, force: bool = False) -> np.ndarray:
    """Core inputs from a .npy array (samples, m), its header checked before it is read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"inputs file {path} does not exist; check the path")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read inputs {path} ({type(exc).__name__}); pass a .npy array "
                         "of shape (samples, m)") from None
    if isinstance(array, np.lib.npyio.NpzFile):
        array.close()
        raise InputError(f"{path} is an .npz archive; pass one .npy array of shape (samples, m)")
    if array.ndim not in (1, 2):
        raise InputError(f"inputs {path} have shape {array.shape}; pass (samples, m)")
    check_samples(array.shape[0] if array.ndim == 2 else 1, force)
    try:
        return np.array(array)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read inputs {path} ({type(exc).__name__}); pass a .npy array "
                         "of shape (samples, m)") from None


# --- grid models ------------------------------------------------------------------------------

GRID_FORMAT = "codesign-grid-checkpoint"


@dataclass(frozen=True, eq=False)
class GridCheckpoint:
    """A loaded grid model (codesign.deq.grid.GridDEQ) and what was recorded with it."""

    model: GridDEQ
    task: str
    metrics: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    codesign_version: str = ""


def save_grid_checkpoint(path: Path, model: GridDEQ, task: str, metrics: dict,
                         train_config: dict) -> Path:
    """Write a grid model like save_checkpoint does a HybridDEQ (tensors and plain values)."""
    return _save_tagged(path, GRID_FORMAT, model, task, metrics, train_config)


def _save_tagged(path: Path, tag: str, model: torch.nn.Module, task: str, metrics: dict,
                 train_config: dict) -> Path:
    """Write ``model`` (its config's to_dict and its tensors) with format ``tag`` and its record
    as plain values, atomically."""
    payload = {
        "format": tag, "format_version": FORMAT_VERSION,
        "codesign_version": __version__, "torch_version": str(torch.__version__),
        "task": str(task), "config": jsonable(model.config.to_dict()),
        "train_config": jsonable(dict(train_config)), "metrics": jsonable(dict(metrics)),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    return atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))


def checkpoint_format(path: Path) -> str | None:
    """The format tag of the codesign file at ``path`` (None: unreadable, or no tag). The tag is
    read by mmap, without loading the tensors (a dense checkpoint loads later)."""
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - anything unreadable has no tag
        return None
    return payload.get("format") if isinstance(payload, dict) else None


def is_grid_checkpoint(path: Path) -> bool:
    """Whether ``path`` holds a grid model (a readable codesign file with the grid tag)."""
    return checkpoint_format(path) == GRID_FORMAT


def load_grid_checkpoint(path: Path) -> GridCheckpoint:
    """The grid model at ``path`` (weights_only loading; config and tensor shapes checked)."""
    path = Path(path)
    model, payload = _load_tagged(path, GRID_FORMAT, GridDEQConfig, GridDEQ, "grid",
                                  "`codesign grid train`")
    return GridCheckpoint(model, *_record(path, payload))


def _record(path: Path, payload: dict) -> tuple[str, dict, dict, str]:
    """(task, metrics, train_config, codesign_version) of a tagged checkpoint's payload."""
    task = payload.get("task", "")
    return (task if isinstance(task, str) else "", _plain_dict(path, payload, "metrics"),
            _plain_dict(path, payload, "train_config"), str(payload.get("codesign_version", "")))


def _load_tagged(path: Path, tag: str, config_type, model_type, what: str, how: str):
    """(model, payload) of a checkpoint with format ``tag``: weights_only loading, the config
    parsed into ``config_type``, tensor names, shapes and finiteness checked before the state
    is loaded into ``model_type(config)``."""
    from codesign.schema import from_json  # deferred: only grid and network checkpoints need it

    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged archive
        raise CheckpointError(f"{path} is not a readable torch checkpoint "
                              f"({type(exc).__name__}); pass a {what} model written by "
                              f"{how}") from None
    if not isinstance(payload, dict) or payload.get("format") != tag:
        other = payload.get("format") if isinstance(payload, dict) else None
        hint = (" (it holds a network-core model: use the network loader)"
                if other == NETWORK_FORMAT else
                " (it holds a stencil grid model)" if other == GRID_FORMAT else "")
        raise CheckpointError(f"{path} is not a {what}-model checkpoint{hint}; train one with "
                              f"{how}")
    if not isinstance(payload.get("format_version"), int) \
            or payload["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{path} has a newer checkpoint format; upgrade codesign")
    try:
        config = from_json(config_type, payload.get("config"), f"{what} checkpoint config")
        model = model_type(config)
    except InputError as exc:
        raise CheckpointError(str(exc)) from None
    state = payload.get("state_dict")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if not isinstance(state, dict) or set(state) != set(expected) or any(
            not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != expected[k]
            or not torch.isfinite(state[k]).all() for k in expected):
        raise CheckpointError(f"{path}: the tensors do not fit the {what} model's config (names,"
                              " shapes or non-finite values); re-train it")
    model.load_state_dict(state)
    model.eval()
    return model, payload


# --- network-core models (codesign.deq.kirchhoff) ---------------------------------------------

NETWORK_FORMAT = "codesign-network-checkpoint"


@dataclass(frozen=True, eq=False)
class NetworkCheckpoint:
    """A loaded network-core model (codesign.deq.kirchhoff.NetworkDEQ) and its record."""

    model: NetworkDEQ
    task: str
    metrics: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    codesign_version: str = ""


def save_network_checkpoint(path: Path, model: NetworkDEQ, task: str, metrics: dict,
                            train_config: dict) -> Path:
    """Write a network-core model like save_grid_checkpoint (tensors and plain values, its own
    format tag)."""
    return _save_tagged(path, NETWORK_FORMAT, model, task, metrics, train_config)


def is_network_checkpoint(path: Path) -> bool:
    """Whether ``path`` holds a network-core model (a readable file with the network tag)."""
    return checkpoint_format(path) == NETWORK_FORMAT


def load_network_checkpoint(path: Path) -> NetworkCheckpoint:
    """The network-core model at ``path`` (weights_only loading; config, tensor names, shapes
    and finiteness checked)."""
    path = Path(path)
    model, payload = _load_tagged(path, NETWORK_FORMAT, NetworkDEQConfig, NetworkDEQ,
                                  "network", "`codesign grid train --core network`")
    return NetworkCheckpoint(model, *_record(path, payload))
