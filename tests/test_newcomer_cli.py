"""The command line as a newcomer meets it (issue 22): train's thread default, progress lines
and flushed output without a terminal, defaults that agree across commands or say why not,
complete help texts, converter bits on verify and export, warnings for options a level ignores
and for samples too few to resolve a target, the public summary printer, and grammar."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import codesign.jobs
from codesign.chip.summary import format_summary
from codesign.cli import main
from codesign.cli import options as cli_options
from codesign.cli.calibrate import sweep_line
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core
from codesign.errors import InputError
from codesign.jobs import LocalExecutor, ProgressLines, plural
from codesign.results.verify import VerificationSummary
from codesign.schema import read_result
from codesign.tasks.base import Metric


def run(*args, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(autouse=True)
def _keep_threads_and_env(monkeypatch):
    """Commands set torch's threads and PYTHONUNBUFFERED for the process: put them back."""
    threads = torch.get_num_threads()
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny digits checkpoint from `codesign train`, with what it printed (no terminal:
    CliRunner's stdout is not a tty), progress lines every 0.2 s."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    threads = torch.get_num_threads()
    old = codesign.jobs.PROGRESS_INTERVAL_S
    codesign.jobs.PROGRESS_INTERVAL_S = 0.2
    try:
        result = run("train", "--task", "digits", "--epochs", "2", "--core-size", "8",
                     "--core-inputs", "6", "--out", path)
        used = torch.get_num_threads()
    finally:
        codesign.jobs.PROGRESS_INTERVAL_S = old
        torch.set_num_threads(threads)
    return path, result, used


# --- 1. train runs on one torch thread unless told otherwise, and says so ------------------


def test_train_defaults_to_one_thread_and_says_so(trained):
    """Before: torch's default (a thread per core), in neither the output nor --help."""
    _, result, used = trained
    assert used == 1
    assert "1 torch thread (--threads)" in result.stdout
    help_text = " ".join(run("train", "--help").output.split())
    assert "--threads" in help_text and "One by default" in help_text
    assert "[default: 1" in help_text


# --- 2. progress lines without a terminal, and output flushed as it happens -----------------


def test_train_prints_progress_lines_without_a_terminal(trained):
    """Before: click's bar printed its label once and nothing until the end."""
    _, result, _ = trained
    lines = [line for line in result.stdout.splitlines() if line.startswith("training on")]
    assert any(line.startswith("training on digits: 2/2 epochs (100 %)") for line in lines)


def test_progress_lines_come_at_least_every_interval_while_work_goes_on():
    written: list[tuple[float, str]] = []

    def write(line: str) -> None:
        written.append((time.monotonic(), line))

    interval = 0.1
    with ProgressLines("SPICE op", 4, write, "samples", interval) as lines:
        start = time.monotonic()
        time.sleep(0.65)  # a quiet stretch: one long chunk
        lines.update(3)
    assert written[-1][1].startswith("SPICE op: 3/4 samples (75 %)")
    quiet = [line for t, line in written[:-1]]
    assert len(quiet) >= 3 and all(line.startswith("SPICE op: 0/4 samples") for line in quiet)
    times = [start] + [t for t, _ in written]
    assert max(np.diff(times)) < 0.45  # about the interval, with room for a loaded machine

    written.clear()
    with ProgressLines("design (digits)", None, write, interval_s=interval) as log:
        log.note("screened 4 designs in 3 s")
        time.sleep(0.35)
    assert written[0][1] == "screened 4 designs in 3 s"
    assert len(written) >= 2 and "still running" in written[1][1]
    assert "the last line" in written[1][1]


def test_without_a_terminal_lines_reach_the_log_as_they_are_written(tmp_path):
    """A command's line is readable from a pipe while the command still runs (line-buffered
    stdout), and Python processes it starts run unbuffered. Before: the line waited in the
    buffer until the process ended."""
    script = tmp_path / "hello.py"
    script.write_text(textwrap.dedent("""
        import os, sys
        from codesign.cli import main

        @main.command("hello", help="Print a line, then wait for stdin.")
        def hello():
            print("first line", os.environ.get("PYTHONUNBUFFERED"))
            sys.stdin.readline()

        main(["hello"], prog_name="codesign")
    """))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout=20)
        assert ready, "no line reached the pipe while the command ran"
        assert proc.stdout.readline().decode().strip() == "first line 1"
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
        proc.stdout.close()
        proc.stderr.close()


# --- 3. defaults: one set, or each difference said in the help; complete help texts ---------


def _commands(group: click.Group = main, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            assert command.help, f"`codesign {' '.join(path + (name,))}` has no help"
            yield from _commands(command, path + (name,))
        else:
            yield " ".join(path + (name,)), command


def _option(command: click.Command, flag: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and flag in p.opts),
                None)


def test_every_command_and_option_has_help():
    """Before: train's --task, --seed, --activation, verify's --out, --table-format, noise's
    --n and --m had none."""
    empty = []
    for name, command in _commands():
        if not command.help:
            empty.append(name)
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                empty.append(f"{name} {param.opts[0]}")
            elif isinstance(param, click.Argument) and param.name.upper() not in command.help:
                empty.append(f"{name} {param.name.upper()}")  # arguments: named in the help
    assert not empty, f"no help text: {sorted(empty)}"


@pytest.mark.parametrize("flag", ["--neuron", "--task", "--mismatch"])
def test_a_default_that_differs_between_commands_says_why(flag):
    """--neuron (opamp/transistor/cmos), --task (digits/control), --mismatch (0/0.05): each
    command's help names a command whose default differs. Before: none did. (The grid
    commands take grid tasks and are left out.)"""
    found = {name: opt for name, command in _commands() if not name.startswith("grid")
             if (opt := _option(command, flag)) is not None}
    defaults = {name: opt.default for name, opt in found.items()}
    assert len(set(defaults.values())) > 1
    for name, opt in found.items():
        if isinstance(opt.type, click.Choice) and len(opt.type.choices) == 1:
            continue  # design --neuron: cmos is the only level it designs
        others = [other for other, value in defaults.items() if value != defaults[name]]
        help_text = " ".join(opt.help.split())
        assert "default" in help_text.lower(), (name, flag)
        assert any(other in help_text for other in others), (name, flag, others)


def test_the_timeout_help_says_what_happens_at_the_timeout():
    """Before: every SPICE command's --timeout said the run stops, where calibrate and design
    record the job and carry on; noise had 300 s where verify and loop had 600 s."""
    stops, goes_on = {"verify", "loop", "noise"}, {"calibrate", "design"}
    for name, command in _commands():
        opt = _option(command, "--timeout")
        if opt is None:
            continue
        help_text = " ".join(opt.help.split())
        assert "; then " in help_text, name
        if name in goes_on:
            assert "recorded as failed" in help_text and "goes on" in help_text, name
            assert opt.default == cli_options.JOB_TIMEOUT_S and "600 s" in help_text, name
        if name in stops:
            assert "stops with an error" in help_text, name
            assert opt.default == cli_options.RUN_TIMEOUT_S, name


# --- 4. verify and export take --dac-bits/--adc-bits (their energy includes conversions) ----


@pytest.fixture
def core_file(tmp_path, rng):
    return save_npz_core(tmp_path / "core.npz", random_core(6, 4, 0.7, rng))


def test_export_takes_converter_bits_and_warns_for_op_amp_options_cmos_ignores(core_file,
                                                                              tmp_path):
    """Before: export had no --dac-bits/--adc-bits, and --dc-gain/--gbw with cmos were
    silently ignored."""
    result = run("export", core_file, "--neuron", "cmos", "--dc-gain", "1e3", "--gbw", "2e6",
                 "--dac-bits", "4", "--adc-bits", "0", "--out", tmp_path / "cmos")
    manifest = json.loads((tmp_path / "cmos" / "manifest.json").read_text())
    assert manifest["circuit"]["converters"] | {"dac_bits": 4, "adc_bits": 0} \
        == manifest["circuit"]["converters"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert warnings[0].startswith("warning: --dc-gain does not apply to --neuron cmos")
    assert warnings[1].startswith("warning: --gbw does not apply to --neuron cmos")
    assert all("ignored by SPICE" in line for line in warnings)
    # the op-amp macromodel reads them: no warning
    result = run("export", core_file, "--neuron", "opamp", "--dc-gain", "1e3", "--gbw", "2e6",
                 "--out", tmp_path / "opamp")
    assert "warning" not in result.stderr
    ideal = run("export", core_file, "--neuron", "ideal", "--offset", "1e-3", "--out",
                tmp_path / "ideal")
    assert "warning: --offset does not apply to --neuron ideal" in ideal.stderr


@pytest.fixture(scope="module")
def verified(trained, tmp_path_factory):
    """`codesign verify` of the tiny checkpoint on 16 samples, 6-bit DACs and ideal ADCs, with
    --settle-tol (which an op analysis ignores), progress lines every 0.2 s."""
    path, _, _ = trained
    out = tmp_path_factory.mktemp("verify") / "v"
    threads = torch.get_num_threads()
    old = codesign.jobs.PROGRESS_INTERVAL_S
    codesign.jobs.PROGRESS_INTERVAL_S = 0.2
    try:
        result = run("verify", path, "--samples", "16", "--dac-bits", "6", "--adc-bits", "0",
                     "--settle-tol", "1e-3", "--out", out)
    finally:
        codesign.jobs.PROGRESS_INTERVAL_S = old
        torch.set_num_threads(threads)
    return out, result


def test_verify_takes_converter_bits(verified):
    out, _ = verified
    summary = json.loads((out / "summary.json").read_text())
    assert summary["circuit"]["converters"]["dac_bits"] == 6
    assert summary["circuit"]["converters"]["adc_bits"] == 0


def test_verify_prints_progress_lines_without_a_terminal(verified):
    """Before: "SPICE op (opamp)" once, no count."""
    _, result = verified
    assert "SPICE op (opamp): 16/16 samples (100 %)" in result.stdout


# --- 5. options that do not apply warn, in one line on stderr --------------------------------


def test_an_option_the_analysis_ignores_warns(verified):
    _, result = verified
    assert ("warning: --settle-tol does not apply here (it judges the transients of "
            "--analysis tran): ignored") in result.stderr.splitlines()


# --- 7. samples too few to resolve the target ------------------------------------------------


def test_the_resolution_warning_is_computed_from_samples_and_target():
    accuracy = Metric("accuracy", higher_is_better=True, percent=True)
    message = cli_options.resolution_warning(accuracy, 0.01, 16, "digits")
    assert message == ("with --samples 16 the digits task's accuracy moves in steps of 6.25 "
                       "points, coarser than its 1-point target (one sample decides it); use "
                       "--samples >= 100 to resolve it")
    assert cli_options.resolution_warning(accuracy, 0.01, 100, "digits") is None
    assert cli_options.resolution_warning(accuracy, 0.01, 99, "digits") is not None
    l2 = Metric("relative L2 error", higher_is_better=False)
    assert cli_options.resolution_warning(l2, 1.5, 2, "physics") is None


def test_verify_warns_when_its_samples_cannot_resolve_the_target(verified):
    """Before: nothing said that 16 samples move accuracy in 6.25-point steps."""
    _, result = verified
    expected = cli_options.resolution_warning(Metric("accuracy", True, True), 0.01, 16,
                                              "digits")
    assert [line for line in result.stderr.splitlines() if "steps of" in line] \
        == [f"warning: {expected}"]


def _stopped(*args, **kwargs):
    """run_loop or run_design (the log function last of their positional arguments) that logs
    one line, works quietly for a while, and stops."""
    log = args[-1]
    log("first line of the run")
    time.sleep(0.35)
    raise InputError("stopped here by the test")


@pytest.mark.parametrize("command", [
    ("loop", "--task", "digits", "--samples", "16"),
    ("design", "--task", "digits", "--samples", "16"),
    ("design",),  # its default: 64 samples per measured design
])
def test_loop_and_design_warn_before_they_start(command, tmp_path, monkeypatch):
    """The warning comes once the settings are checked, before any work (run_loop and
    run_design stop here after a line and a quiet stretch). Before: nothing."""
    import codesign.design.search
    import codesign.loop.pipeline

    monkeypatch.setattr(codesign.loop.pipeline, "run_loop", _stopped)
    monkeypatch.setattr(codesign.design.search, "run_design", _stopped)
    monkeypatch.setattr(codesign.jobs, "PROGRESS_INTERVAL_S", 0.1)
    result = run(*command, "--out", tmp_path / "run", ok=False)
    assert result.exit_code == 2 and "stopped here by the test" in result.stderr
    # without a terminal the quiet stretch gets "still running" lines (before: none)
    lines = result.stdout.splitlines()
    assert lines[0] == "first line of the run"
    assert len(lines) >= 2 and all(line.startswith(f"{command[0]} (digits): still running, ")
                                   for line in lines[1:]), lines
    step = "6.25" if "16" in command else "1.56"
    samples = "16" if "16" in command else "64"
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == [
        f"warning: with --samples {samples} the digits task's accuracy moves in steps of "
        f"{step} points, coarser than its 1-point target (one sample decides it); use "
        "--samples >= 100 to resolve it"]


# --- 8. the readable summary is a public API function ---------------------------------------


def test_format_summary_is_what_verify_prints(verified):
    out, result = verified
    summary = read_result(out / "summary.json", VerificationSummary, "verification")
    text = format_summary(summary)
    assert text.startswith("verified 16 samples of an n=8 core (opamp neuron, ngspice ")
    assert text in result.stdout
    assert format_summary(SimpleNamespace(summary=summary)) == text
    with pytest.raises(TypeError, match="VerificationSummary"):
        format_summary({"samples": 16})


# --- 6. grammar: "1 worker", not "1 workers" -------------------------------------------------


def test_counts_take_the_right_number():
    assert plural(1, "worker") == "1 worker" and plural(2, "worker") == "2 workers"
    assert LocalExecutor(1).label == "1 local thread"
    assert LocalExecutor(2, "fork").label == "2 local workers"
    sweep = SimpleNamespace(total=1, ran=1, skipped=0, failed={}, runs_per_s=2.0, workers=1)
    assert sweep_line(sweep) == "sweep: 1 job, 1 run, 0 already done, 0 failed (2.0 runs/s on " \
                                "1 worker)"

