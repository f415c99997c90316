"""Tasks: data from installed packages or generated, never downloaded; each owns its metric,
loss, evaluation and loop profile (codesign.tasks.base).

digits (classification), physics (steady states of a nonlinear PDE, regression), control
(balancing gymnasium's Pendulum-v1, imitation of an LQR expert, judged in closed loop), darcy
(the neural-operator library's Darcy-flow benchmark, 16 x 16) and swingup (Pendulum-v1 from
gymnasium's own reset, imitation of a value-iteration expert, judged by mean return). A new
task is one module and one line of TASKS.
"""

from __future__ import annotations

from collections.abc import Callable

from codesign.errors import lookup
from codesign.tasks.base import Task
from codesign.tasks.control import load_pendulum_task
from codesign.tasks.darcy import load_darcy_task
from codesign.tasks.digits import load_digits_task
from codesign.tasks.physics import load_poisson_task
from codesign.tasks.profile import TaskProfile, TrainConfig
from codesign.tasks.swingup import load_swingup_task

TASKS: dict[str, Callable[[], Task]] = {
    "digits": load_digits_task,
    "physics": load_poisson_task,
    "control": load_pendulum_task,
    "darcy": load_darcy_task,
    "swingup": load_swingup_task,
}


def get_task(name: str) -> Task:
    """Load the task called ``name``; raises InputError listing the valid names."""
    return lookup(TASKS, name, "task")()


__all__ = ["TASKS", "Task", "TaskProfile", "TrainConfig", "get_task"]
