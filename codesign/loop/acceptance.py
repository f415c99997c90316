"""The loop's verdicts: the task's own acceptance items (the circuit against the digital DEQ),
physics-aware against naive training over seeds, and the wall time. The report renders them."""

from __future__ import annotations

import pandas as pd

from codesign.results.loop import LoopSummary
from codesign.tasks.base import AcceptanceItem, Metric, Task

WALL_TIME_TARGET_S = 1800.0


def acceptance(task: Task, summary: LoopSummary,
               seeds: pd.DataFrame | None) -> list[AcceptanceItem]:
    """Every acceptance item of a run, measured."""
    items = task.acceptance(summary.reference.digital.metric, summary.rounds[-1].run.circuit)
    if seeds is not None and len(seeds):
        items.append(seed_item(summary.metric, seeds))
    total = summary.timings_s.get("total")
    if total is not None:
        items.append(AcceptanceItem("loop wall time", f"{total / 60:.1f} min", "<= 30 min",
                                    total <= WALL_TIME_TARGET_S))
    return items


def _spread(stats: pd.Series, metric: Metric) -> str:
    """'mean +- sd' of the SPICE subset metric."""
    mean, sd = stats[("circuit_subset", "mean")], stats[("circuit_subset", "std")]
    if metric.percent:
        return f"{100 * mean:.2f} +- {100 * sd:.2f} %"
    return f"{mean:.4g} +- {sd:.2g}"


def seed_item(metric: Metric, seeds: pd.DataFrame) -> AcceptanceItem:
    """Physics-aware vs naive over seeds: better only if the SPICE chips and the proxy's chip
    instances (full test set) both say so, by more than the SPICE means' standard error."""
    sign = 1 if metric.higher_is_better else -1
    scale, unit = (100, " pt") if metric.percent else (1, "")
    stats = seeds.groupby("training")[["circuit_subset", "proxy_chips_mean"]].agg(
        ["mean", "std"])
    aware, naive = stats.loc["physics-aware"], stats.loc["naive"]
    count = int(seeds.seed.nunique())
    spice = sign * (aware[("circuit_subset", "mean")] - naive[("circuit_subset", "mean")])
    proxy = sign * (aware[("proxy_chips_mean", "mean")] - naive[("proxy_chips_mean", "mean")])
    error = ((aware[("circuit_subset", "std")] ** 2 + naive[("circuit_subset", "std")] ** 2)
             / count) ** 0.5
    return AcceptanceItem(
        f"physics-aware vs naive, {count} seeds: SPICE chip (subset) and proxy chips (test "
        "set), mean +- sd",
        f"SPICE {_spread(aware, metric)} vs {_spread(naive, metric)} (margin "
        f"{scale * spice:+.3g}{unit}, standard error {scale * error:.2g}{unit}); proxy chips "
        f"margin {scale * proxy:+.3g}{unit}",
        "aware better on both, by more than the standard error",
        bool(spice > error and proxy > 0))
