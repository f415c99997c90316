"""A supervised task: train and test arrays plus how to score a model's outputs on them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("classification", "regression", "control")


@dataclass(frozen=True, eq=False)
class Task:
    """Train/test split of a task. Features float32; labels int64 (classification) or float32
    targets (K, out_features) (regression)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    """Classes of a classification task; 0 for regression."""
    source: str
    """Where the data comes from, for reports."""
    kind: str = "classification"
    """classification (metric: accuracy), regression (mean relative L2 error) or control
    (offline: RMS action error; the task's real metric is closed-loop, see tasks.control)."""

    @property
    def in_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def out_features(self) -> int:
        return self.n_classes if self.kind == "classification" else self.y_train.shape[1]

    @property
    def metric_name(self) -> str:
        return {"classification": "accuracy", "regression": "relative L2 error",
                "control": "RMS action error"}[self.kind]

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "classification"

    def score(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The task metric of model ``outputs`` against ``targets``."""
        outputs = np.asarray(outputs)
        if self.kind == "classification":
            return float((outputs.argmax(1) == targets).mean())
        if self.kind == "control":
            return float(np.sqrt(np.mean((outputs - targets) ** 2)))
        return float(relative_l2(outputs, targets).mean())


def relative_l2(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """||pred - target||_2 / ||target||_2 per row."""
    num = np.linalg.norm(np.asarray(pred) - target, axis=-1)
    return num / np.maximum(np.linalg.norm(target, axis=-1), 1e-12)
