"""codesign design: the energy-accuracy-latency search over the sky130 CMOS design space."""

from __future__ import annotations

from pathlib import Path

import click

from codesign.cli import options
from codesign.tasks import TASKS


@click.command()
@click.option("--task", type=click.Choice(list(TASKS)), default="digits", show_default=True,
              help="The task every design is fine-tuned and judged on. Default digits, as "
                   "train; `codesign loop` defaults to control, the `make demo` run.")
@click.option("--neuron", type=click.Choice(["cmos"]), default="cmos", show_default=True,
              help="The level whose circuit is designed: the sky130 CMOS neuron, the only "
                   "level with a design space (currents, bias, transistor sizes).")
@click.option("--trials", type=click.IntRange(min=1), default=40, show_default=True,
              help="Designs screened through their proxies.")
@click.option("--verify", "verify_count", type=click.IntRange(min=1), default=20,
              show_default=True, help="Designs measured in SPICE (at least the screened front).")
@click.option("--samples", type=click.IntRange(min=1), default=64, show_default=True,
              help="Test samples of each measured design's SPICE metric.")
@click.option("--transients", type=click.IntRange(min=1), default=2, show_default=True,
              help="SPICE transients from reset per measured design (energy, settling).")
@click.option("--final-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="Test samples of the chosen design in SPICE (0: the whole test set).")
@click.option("--final-transients", type=click.IntRange(min=0), default=32, show_default=True,
              help="SPICE transients of the chosen design's energy and area cards "
                   "(chosen/card.json; 0: none).")
@click.option("--epochs", type=click.IntRange(min=1), default=15, show_default=True,
              help="Physics-aware fine-tuning epochs per design.")
@click.option("--screen-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="Test samples of the proxy's screen (0: the whole test set).")
@click.option("--refine", type=click.IntRange(min=0), default=3, show_default=True,
              help="Measured designs that missed the target but cost less than the cheapest "
                   "that met it: re-calibrated on their own SPICE, fine-tuned, measured again.")
@click.option("--refine-samples", type=click.IntRange(min=1), default=64, show_default=True,
              help="Training inputs of a refined design's calibration (SPICE operating points).")
@click.option("--space", "space_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A TOML file whose [space] table sets the parameter ranges.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A circuit setting every design starts from (repeatable; the search's own "
                   "parameters refused): the parts of a buildable chip, e.g. --set "
                   "cell=sky130_r2r_eq --set device_mismatch=true --set "
                   "periphery.bias=sky130_beta; `codesign info --settings` lists them.")
@click.option("--params", "params_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The calibrated proxy of that chip (a loop round's "
              "proxy.json; default the level's calibration/cmos.json), carried to each design.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder (resumed if it holds a killed run).")
@click.option("--mismatch", type=click.FloatRange(0, 0.5, max_open=True), default=0.05,
              show_default=True, help="Relative programming error sigma per device. Default "
              "0.05, a realistic chip, as in loop; verify and export default to 0.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampler.")
@click.option("--new-study", is_flag=True,
              help="If --out holds a search with other settings, move it to OUT/previous/TIME "
                   "and start a new one (without this, such a folder is refused).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the trials and ngspice on this Dask cluster's workers.")
@options.encoder_option
@options.decoder_option
@options.gamma_option
@options.backend_option
@options.workers_option
@options.timeout_option(options.JOB_TIMEOUT_S, "ngspice process",
                        "that design is recorded as failed and the search goes on (a resumed "
                        "search with a longer --timeout tries it again); shorter than "
                        "verify's 600 s because the search carries on past a hung design")
@options.threads_option
def design(task, neuron, trials, verify_count, samples, transients, final_samples,
           final_transients, epochs,
           screen_samples, refine, refine_samples, space_path, sets, params_path, out, mismatch,
           seed, new_study, scheduler, encoder, decoder, gamma, backend, workers, timeout_s,
           threads) -> None:
    """Search the circuit (currents, full scale, tau, cell levels, DAC/ADC bits, input rails,
    the OTA's bias and Miller capacitor) jointly with physics-aware training for the front of
    SPICE-measured energy per inference (the energy card's, every line) vs task metric vs
    settling time vs area; choose the least energy within the task's target.

    \b
    Examples:
      codesign design --task digits --trials 40 --out runs/design-digits
      codesign design --task physics --trials 40 --out runs/design-physics
      codesign design --task physics --set cell=sky130_r2r_eq --set device_mismatch=true \
          --params runs/loop/round-0/proxy.json --space buildable.toml --out runs/design-b
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    import torch

    from codesign.design.search import run_design
    from codesign.design.settings import DesignSettings
    from codesign.design.space import DesignSpace

    torch.set_num_threads(threads)
    settings = DesignSettings(task=task, trials=trials, verify=verify_count, samples=samples,
                              transients=transients, final_samples=final_samples,
                              final_transients=final_transients, epochs=epochs,
                              screen_samples=screen_samples, refine=refine,
                              refine_samples=refine_samples, mismatch_sigma=mismatch,
                              seed=seed, sets=tuple(sets), encoder=encoder, decoder=decoder,
                              gamma=gamma, params_path=str(params_path) if params_path else "")
    space = DesignSpace.load(space_path)
    outline = options.task_outline(task)
    if outline is not None:
        metric, profile = outline
        target = profile.design_target or profile.target
        options.warn_resolution(metric, target, samples, task)
        if final_samples:
            options.warn_resolution(metric, target, final_samples, task, "--final-samples")
    with options.simulator_from_options(backend, workers, timeout_s, scheduler) as simulator, \
            options.log_lines(f"design ({task})") as log:
        chosen = run_design(settings, space, out, simulator, log, workers=workers,
                            scheduler=scheduler, new_study=new_study)
    click.echo(f"wrote {out}/front.csv, {out}/front.png, {out}/chosen.json "
               + (f"(trial {chosen.number})" if chosen.chosen
                  else "(no design chosen: none settled)"))
