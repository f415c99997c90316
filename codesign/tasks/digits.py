"""scikit-learn's bundled digits (1797 8x8 images, 10 classes), split 50/50 without shuffling:
898 training and 899 test images, the split of scikit-learn's own digits example."""

from __future__ import annotations

import numpy as np

from codesign.tasks.base import ClassificationTask
from codesign.tasks.profile import TaskProfile, TrainConfig

# Binary cells (one bit per device, no write-verify: the cheapest and most reliable programming
# mode). On continuous cells a naively trained digits model loses 0.06 points over chip
# instances (at most 0.9 anywhere on the robustness grid), so physics-aware training has
# nothing to win there (docs/loop.md).
PROFILE = TaskProfile(
    task="digits", core_size=64, core_inputs=48,
    train=TrainConfig(epochs=60, lr=3e-3, input_noise=0.3),
    finetune=TrainConfig(epochs=15, lr=1e-3, input_noise=0.3, seed=1),
    verify_samples=256, robustness_samples=64, target=0.01, levels=2)


def load_digits_task(profile: TaskProfile = PROFILE) -> ClassificationTask:
    """The digits task; pixel values 0-16 as float32."""
    from sklearn.datasets import load_digits  # deferred: scikit-learn takes a second

    data = load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    half = len(x) // 2
    return ClassificationTask(
        name="digits", x_train=x[:half], y_train=y[:half], x_test=x[half:], y_test=y[half:],
        source="sklearn.datasets.load_digits (bundled with scikit-learn)", profile=profile)
