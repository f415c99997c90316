"""codesign train: train a small hybrid DEQ on a bundled task and save a checkpoint."""

from __future__ import annotations

from pathlib import Path

import click
import torch

from codesign.checkpoint import save_checkpoint
from codesign.deq.activations import ACTIVATIONS
from codesign.deq.model import DEQConfig
from codesign.tasks import TASKS, get_task
from codesign.training import TrainConfig, train_classifier


@click.command()
@click.option("--task", type=click.Choice(list(TASKS)), default="digits", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Checkpoint to write (.pt).")
@click.option("--epochs", type=click.IntRange(min=1), default=TrainConfig.epochs,
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--core-size", type=click.IntRange(min=1), default=DEQConfig.core_size,
              show_default=True, help="Neurons n of the analog core.")
@click.option("--core-inputs", type=click.IntRange(min=1), default=DEQConfig.core_inputs,
              show_default=True, help="Core inputs m (encoder width, input DACs).")
@click.option("--gamma", type=float, default=DEQConfig.gamma, show_default=True,
              help="Contraction bound ||W||_2 <= gamma < 1.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default="tanh",
              show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads (default: torch's choice).")
def train(task, out, epochs, seed, core_size, core_inputs, gamma, activation, threads) -> None:
    """Train a hybrid DEQ (digital encoder, analog core, digital decoder) on TASK.

    \b
    Example:
      codesign train --task digits --out runs/digits.pt
    """
    if threads:
        torch.set_num_threads(threads)
    data = get_task(task)
    deq = DEQConfig(
        in_features=data.in_features, out_features=data.n_classes, core_size=core_size,
        core_inputs=core_inputs, gamma=gamma, activation=activation,
    )
    config = TrainConfig(epochs=epochs, seed=seed)
    with click.progressbar(length=epochs, label=f"training on {task}") as bar:
        result = train_classifier(data, deq, config, progress=bar.update)
    metrics = {
        "train_accuracy": result.train_accuracy,
        "test_accuracy": result.test_accuracy,
        "train_seconds": result.seconds,
        "spectral_norm": result.model.core.to_weights().spectral_norm,
    }
    save_checkpoint(out, result.model, task, metrics, config.to_dict())
    click.echo(
        f"{task}: train accuracy {100 * result.train_accuracy:.1f} %, test accuracy "
        f"{100 * result.test_accuracy:.1f} % ({len(data.y_test)} test samples), "
        f"{result.seconds:.0f} s; ||W||_2 = {metrics['spectral_norm']:.3f}"
    )
    click.echo(f"wrote {out}")
