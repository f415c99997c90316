"""The task protocol: a task owns its data, its metric, its training loss and how a model is
evaluated on it (a batch of test samples, or closed-loop episodes), and says what "the circuit
does what the digital model does" means for it. The loop, training, verification, report and
CLI call these methods; none of them asks what kind of task it has.

A model enters an evaluation as ``outputs``, a function from task inputs x (K, in_features) to
model outputs (K, out_features): the digital model, the proxy of a chip or the SPICE circuit
itself are all such functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from codesign.tasks.profile import TaskProfile, TrainConfig

OutputsFn = Callable[[np.ndarray], np.ndarray]
"""Task inputs x (K, in_features) -> model outputs (K, out_features)."""


@dataclass(frozen=True)
class Metric:
    """A task metric: its name, its direction and how it prints."""

    name: str
    higher_is_better: bool
    percent: bool = False
    """Printed as a percentage (accuracy)."""
    label: str = ""
    """Short name for log lines (default: the name)."""

    def format(self, value: float) -> str:
        return f"{100 * value:.2f} %" if self.percent else f"{value:.4g}"

    @property
    def short(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class TaskMetrics:
    """A model's metric on a selection of a task, and what else the task measured there."""

    metric: float
    count: int
    """Samples or episodes behind the metric."""
    success_rate: float | None = None
    """Closed-loop tasks: the fraction of episodes that met the task's success criterion."""
    spread: float | None = None
    """Closed-loop tasks: the standard deviation of the per-episode cost."""


@dataclass(frozen=True, eq=False)
class Samples:
    """Test samples of a task, by index."""

    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def head(self, count: int) -> Samples:
        return Samples(self.indices[:count])


@dataclass(frozen=True)
class Episodes:
    """Closed-loop episodes: ``count`` of them, episode k reset with seed ``seed + k``."""

    count: int
    seed: int

    def __len__(self) -> int:
        return self.count

    def head(self, count: int) -> Episodes:
        return Episodes(min(count, self.count), self.seed)


Selection = Samples | Episodes


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What one evaluation gave: the metrics and, for a closed loop, its rollouts."""

    metrics: TaskMetrics
    rollouts: Any = None


@dataclass(frozen=True)
class AcceptanceItem:
    """One measured acceptance check: what, the value, the target, and whether it is met."""

    item: str
    value: str
    target: str
    met: bool


@dataclass(frozen=True, eq=False)
class Expert:
    """A reference policy or model that is not a DEQ (control: the LQR)."""

    name: str
    outputs: OutputsFn
    parameters: int


@dataclass(frozen=True, eq=False)
class Task:
    """Train/test arrays of a task (features float32), its source and its loop profile. A
    subclass fixes the metric, the loss and the evaluation."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    """Where the data comes from, for reports."""
    profile: TaskProfile

    metric: ClassVar[Metric]
    """The metric the circuit is judged on (evaluate)."""

    @property
    def offline_metric(self) -> Metric:
        """The metric of ``score`` (outputs against targets); the same unless overridden."""
        return self.metric

    @property
    def in_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def out_features(self) -> int:
        return self.y_train.shape[1]

    def with_profile(self, profile: TaskProfile) -> Task:
        return replace(self, profile=profile)

    # --- metric and loss -------------------------------------------------------------------

    def score(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The offline metric of model ``outputs`` against ``targets``."""
        raise NotImplementedError

    def agreement(self, digital: np.ndarray, circuit: np.ndarray) -> float | None:
        """How often two models' outputs agree, where the task defines it (None otherwise)."""
        return None

    def loss(self, config: TrainConfig) -> Callable:
        """The training loss: mean squared error over the targets' variance."""
        scale = float(np.var(self.y_train)) or 1.0
        return lambda out, y: ((out - y) ** 2).mean() / scale

    # --- what a model is evaluated on ------------------------------------------------------

    def test_subset(self, count: int) -> np.ndarray:
        """``count`` test samples chosen at random (seed 0), sorted: a held-out subset whose
        first samples are not special (digits' first 200 are easier than the rest)."""
        count = min(count, len(self.y_test))
        return np.sort(np.random.default_rng(0).permutation(len(self.y_test))[:count])

    def verification_set(self) -> Selection:
        """What a chip is judged on in SPICE."""
        return Samples(self.test_subset(self.profile.verify_samples))

    def full_set(self) -> Selection:
        """The whole test: what a model's digital and proxy metrics are reported on."""
        return Samples(np.arange(len(self.y_test)))

    def curve_set(self) -> Selection:
        """What each point of a robustness curve (proxy over chips) is evaluated on."""
        return self.full_set()

    def spot_set(self) -> Selection:
        """What each SPICE-checked robustness point is evaluated on."""
        return self.verification_set().head(self.profile.robustness_samples)

    def evaluate(self, outputs: OutputsFn, selection: Selection | None = None) -> Evaluation:
        """The metric of ``outputs`` on ``selection`` (default: the whole test set)."""
        indices = (selection or self.full_set()).indices
        values = np.asarray(outputs(self.x_test[indices]))
        return Evaluation(TaskMetrics(self.score(values, self.y_test[indices]), len(indices)))

    # --- what "the circuit does what the digital model does" means ------------------------

    def within_target(self, reference: float, circuit: TaskMetrics) -> bool:
        """The circuit's metric against the digital DEQ's ``reference`` (profile.target)."""
        raise NotImplementedError

    def acceptance(self, reference: float, circuit: TaskMetrics) -> list[AcceptanceItem]:
        """The task's acceptance items, measured."""
        raise NotImplementedError

    def experts(self) -> list[Expert]:
        """Non-DEQ reference policies to report beside the baselines."""
        return []

    def trajectories(self, rollouts: dict[str, Any]):
        """A long table of closed-loop trajectories for the report, or None."""
        return None


class ClassificationTask(Task):
    """Labels int64; outputs are class scores; metric: accuracy."""

    metric = Metric("accuracy", higher_is_better=True, percent=True)

    @property
    def out_features(self) -> int:
        return int(self.y_train.max()) + 1

    def score(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return float((np.asarray(outputs).argmax(1) == targets).mean())

    def agreement(self, digital: np.ndarray, circuit: np.ndarray) -> float:
        return float((digital.argmax(1) == circuit.argmax(1)).mean())

    def loss(self, config: TrainConfig) -> Callable:
        from torch import nn  # deferred: tasks load their data without torch

        return nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def within_target(self, reference: float, circuit: TaskMetrics) -> bool:
        return reference - circuit.metric <= self.profile.target + 1e-12

    def acceptance(self, reference: float, circuit: TaskMetrics) -> list[AcceptanceItem]:
        f = self.metric.format
        return [AcceptanceItem(
            "circuit accuracy vs digital DEQ (same samples)",
            f"{f(circuit.metric)} vs {f(reference)} (gap "
            f"{100 * (reference - circuit.metric):.2f} pt)",
            f"gap <= {100 * self.profile.target:g} pt", self.within_target(reference, circuit))]


class RegressionTask(Task):
    """Targets float32 (K, out_features); metric: mean relative L2 error."""

    metric = Metric("relative L2 error", higher_is_better=False)

    def score(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return float(relative_l2(outputs, targets).mean())

    def within_target(self, reference: float, circuit: TaskMetrics) -> bool:
        return circuit.metric <= self.profile.target * reference

    def acceptance(self, reference: float, circuit: TaskMetrics) -> list[AcceptanceItem]:
        ratio = circuit.metric / reference
        return [AcceptanceItem(
            f"{self.metric.name}, circuit / digital DEQ",
            f"{circuit.metric:.4g} / {reference:.4g} = {ratio:.3f}",
            f"<= {self.profile.target:g}", self.within_target(reference, circuit))]


def relative_l2(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """||pred - target||_2 / ||target||_2 per row."""
    num = np.linalg.norm(np.asarray(pred) - target, axis=-1)
    return num / np.maximum(np.linalg.norm(target, axis=-1), 1e-12)
