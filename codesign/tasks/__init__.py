"""Tasks: data from installed packages or generated, never downloaded."""

from __future__ import annotations

from collections.abc import Callable

from codesign.errors import lookup
from codesign.tasks.base import Task
from codesign.tasks.digits import load_digits_task

TASKS: dict[str, Callable[[], Task]] = {"digits": load_digits_task}


def get_task(name: str) -> Task:
    """Load the task called ``name``; raises InputError listing the valid names."""
    return lookup(TASKS, name, "task")()


__all__ = ["TASKS", "Task", "get_task"]
