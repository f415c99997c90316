"""codesign train: train a hybrid DEQ on a bundled task (digitally) and save a checkpoint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from codesign.cli import options
from codesign.deq.activations import ACTIVATIONS
from codesign.errors import InputError
from codesign.jobs import plural
from codesign.tasks import TASKS


@click.command()
@click.option("--task", type=click.Choice(list(TASKS)), default="digits", show_default=True,
              help="The task to train on (its data and profile: core size, epochs). Default "
                   "digits, as `codesign design`; `codesign loop` defaults to control, the "
                   "`make demo` run.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Checkpoint to write (.pt).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Training epochs (task default: digits 60, physics 60, control 30).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the model's initial weights and of the data's shuffling and "
                   "augmentation.")
@click.option("--core-size", type=click.IntRange(min=1), default=None,
              help="Neurons n of the analog core (task default: digits 64).")
@click.option("--core-inputs", type=click.IntRange(min=1), default=None,
              help="Core inputs m, the encoder width and input DACs (task default: digits 48).")
@options.gamma_option
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default="tanh",
              show_default=True, help="The core's activation phi (the neuron's transfer).")
@options.encoder_option
@options.decoder_option
@options.threads_option
def train(task, out, epochs, seed, core_size, core_inputs, gamma, activation, encoder, decoder,
          threads) -> None:
    """Train a hybrid DEQ (digital encoder, analog core, digital decoder) on TASK, digitally.
    (Physics-aware training runs inside `codesign loop`.)

    \b
    Example:
      codesign train --task digits --out runs/digits.pt
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    import torch

    from codesign.deq.checkpoint import save_checkpoint
    from codesign.deq.model import DEQConfig
    from codesign.files import check_output_dir
    from codesign.limits import check_size
    from codesign.tasks import get_task
    from codesign.training.train import new_model, train_model

    torch.set_num_threads(threads)
    check_output_dir(out.parent, "--out's folder")
    data = get_task(task)
    profile = data.profile
    if decoder == "per-neuron" and core_size not in (None, data.out_features):
        raise InputError(f"--decoder per-neuron reads the task's {data.out_features} outputs "
                         f"from as many neurons: leave --core-size out (got {core_size})")
    if encoder == "none" and core_inputs not in (None, data.in_features):
        raise InputError(f"--encoder none feeds the task's {data.in_features} features to the "
                         f"DACs: leave --core-inputs out (got {core_inputs})")
    deq = DEQConfig(
        in_features=data.in_features, out_features=data.out_features,
        core_size=(data.out_features if decoder == "per-neuron"
                   else core_size or profile.core_size),
        core_inputs=(data.in_features if encoder == "none"
                     else core_inputs or profile.core_inputs),
        gamma=gamma, activation=activation, encoder=encoder, decoder=decoder,
    )
    check_size(deq.core_size, deq.core_inputs)
    config = replace(profile.train, seed=seed, epochs=epochs or profile.train.epochs)
    click.echo(f"training on {task}: {plural(config.epochs, 'epoch')}, "
               f"{plural(threads, 'torch thread')} (--threads)")
    with options.progress(f"training on {task}", config.epochs, "epochs") as update:
        result = train_model(data, new_model(data, deq, seed), config, progress=update)
    metric = data.offline_metric
    metrics = {
        "metric": metric.name,
        "train_metric": result.train_metric,
        "test_metric": result.test_metric,
        "train_seconds": result.seconds,
        "spectral_norm": result.model.core.to_weights().spectral_norm,
    }
    save_checkpoint(out, result.model, task, metrics, config.to_dict())
    click.echo(
        f"{task}: train {metric.name} {metric.format(result.train_metric)}, test "
        f"{metric.name} {metric.format(result.test_metric)} "
        f"({plural(len(data.y_test), 'test sample')}), {result.seconds:.0f} s; "
        f"||W||_2 = {metrics['spectral_norm']:.3f}"
    )
    click.echo(f"wrote {out}")
