"""scikit-learn's bundled digits (1797 8x8 images, 10 classes), split 50/50 without shuffling:
898 training and 899 test images, the split of scikit-learn's own digits example."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from codesign.tasks.base import Task


def load_digits_task() -> Task:
    """The digits task; pixel values 0-16 as float32."""
    data = load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    half = len(x) // 2
    return Task(
        name="digits",
        x_train=x[:half],
        y_train=y[:half],
        x_test=x[half:],
        y_test=y[half:],
        n_classes=10,
        source="sklearn.datasets.load_digits (bundled with scikit-learn)",
        kind="classification",
    )
