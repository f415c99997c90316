"""A supervised task: train and test arrays plus how to score them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Task:
    """Train/test split of a classification task (features float32, labels int64)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str
    """Where the data comes from, for reports."""

    @property
    def in_features(self) -> int:
        return self.x_train.shape[1]
