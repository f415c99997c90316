"""Training: naive and physics-aware (through the calibrated proxy) training of a HybridDEQ on
a task, the hardware a model is trained for, and the digital MLP baseline."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.tasks.profile import TrainConfig
    from codesign.training.aware import HardwareModel
    from codesign.training.baselines import MLP, new_mlp, parameter_count
    from codesign.training.grid import GridTrainConfig, train_grid, train_grid_task
    from codesign.training.train import (
        TrainResult,
        decode,
        encode,
        evaluate,
        new_model,
        predict,
        train_model,
    )

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
