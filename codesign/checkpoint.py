"""Checkpoints and bare cores on disk.

A checkpoint is a dict of tensors and plain values (config, version, task, metrics) written by
``torch.save`` and read back with ``torch.load(weights_only=True)``: it never unpickles arbitrary
objects. A bare core is an ``.npz`` with arrays W (n x n), U (n x m), b (n) and optionally a
string ``activation``, read with ``allow_pickle=False``.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from codesign import __version__
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.deq.weights import CoreWeights
from codesign.errors import CheckpointError, InputError
from codesign.jsonio import jsonable

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


def save_checkpoint(
    path: Path, model: HybridDEQ, task: str, metrics: dict, train_config: dict
) -> Path:
    """Write ``model`` with its config, task name, metrics and versions to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
    torch.save(payload, path)
    return path


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
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(
            f"{path} is not a readable torch checkpoint ({type(exc).__name__}); check the file"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a codesign checkpoint (no format tag); write it with `codesign "
            "train`, or pass a bare core as .npz with arrays W, U, b"
        )
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {payload['format_version']}, newer than this "
            f"codesign ({__version__}) reads; upgrade codesign"
        )
    return payload


def load_checkpoint(path: Path) -> Checkpoint:
    """The model in the checkpoint at ``path`` (weights_only loading)."""
    path = Path(path)
    payload = _read_payload(path)
    model = HybridDEQ(DEQConfig.from_dict(payload["config"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{path}: weights do not fit its config ({first})") from None
    model.eval()
    return Checkpoint(
        model=model,
        task=str(payload.get("task", "")),
        metrics=dict(payload.get("metrics", {})),
        train_config=dict(payload.get("train_config", {})),
        codesign_version=str(payload.get("codesign_version", "")),
    )


def load_npz_core(path: Path) -> CoreWeights:
    """A bare core from an .npz with arrays W, U, b and an optional string 'activation'."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"core file {path} does not exist; check the path")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("W", "U", "b") if k not in data.files]
            if missing:
                raise InputError(
                    f"{path} lacks arrays {missing}; a core .npz needs W (n x n), U (n x m), b (n)"
                )
            activation = str(data["activation"]) if "activation" in data.files else "tanh"
            return CoreWeights(data["W"], data["U"], data["b"], activation)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(
            f"{path} is not a plain-array .npz ({exc}); save it with numpy.savez and no "
            "object arrays"
        ) from None
    except (OSError, zipfile.BadZipFile):
        raise InputError(f"{path} is not a readable .npz file; check the file") from None


def save_npz_core(path: Path, core: CoreWeights) -> Path:
    """Write ``core`` as a bare-core .npz (the format ``load_npz_core`` reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, W=core.W, U=core.U, b=core.b, activation=np.array(core.activation))
    return path


def load_source(path: Path) -> tuple[CoreWeights, Checkpoint | None]:
    """The core of a checkpoint (.pt and anything else torch-saved) or of a bare .npz core."""
    path = Path(path)
    if path.suffix == ".npz":
        return load_npz_core(path), None
    ckpt = load_checkpoint(path)
    return ckpt.model.core.to_weights(), ckpt
