"""Run folders explain themselves: every command's folder gets a README.md (the command line
that made it, when, its status, how to resume, one line per file) written when the run starts
and rewritten when it ends; the registry of file descriptions (codesign.run_folder.RUN_FILES)
describes every file the real commands write, checked on small real runs with ngspice."""

from __future__ import annotations

import json
import shlex
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core
from codesign.errors import OutputError
from codesign.run_folder import (
    CHECK_ENV,
    README,
    RESUME,
    RUN_FILES,
    RunFolder,
    command_line,
    describe,
    read_marker,
    undescribed,
)


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """A run that completes with a file the registry does not describe fails."""
    monkeypatch.setenv(CHECK_ENV, "1")


def cli(monkeypatch, *args, code: int = 0) -> str:
    """Run ``codesign ARGS`` in this process with sys.argv as the console script sets it."""
    argv = ["/usr/local/bin/codesign", *map(str, args)]
    monkeypatch.setattr(sys, "argv", argv)
    result = CliRunner().invoke(main, argv[1:])
    assert result.exit_code == code, result.output
    return shlex.join(["codesign", *argv[1:]])


@pytest.fixture
def core(tmp_path):
    return save_npz_core(tmp_path / "core.npz",
                         random_core(4, 2, 0.5, np.random.default_rng(3)))


def readme(folder) -> str:
    return (folder / README).read_text()


def test_a_verify_folder_says_what_made_it_how_to_resume_and_what_each_file_holds(
        monkeypatch, tmp_path, core):
    out = tmp_path / "v"
    line = cli(monkeypatch, "verify", core, "--samples", "3", "--neuron", "ideal", "--analysis",
               "tran", "--table-format", "csv", "--out", out)
    text = readme(out)
    record = json.loads((out / "run.json").read_text())
    assert record["command_line"] == line and f"`{line}`" in text  # the exact argv
    assert "**Status**: complete" in text and record["started"] in text
    assert record["finished"] in text and "samples finished in spice/ are read back" in text
    for name in ("summary.json", "equilibria.csv", "transients.csv", "run.json"):
        assert f"- `{name}`: {describe('verify', name)[1]}" in text
    assert "`spice/*`" in text and "Not described" not in text
    assert undescribed(out, "verify") == []


def test_the_readme_says_running_while_the_run_runs_and_failed_with_the_error(tmp_path):
    out = tmp_path / "r"
    argv = ["/opt/bin/codesign", "verify", "my core.npz", "--out", str(out)]
    with pytest.raises(RuntimeError), RunFolder(out, "verify", argv=argv).start() as folder:
        text = readme(out)
        assert "**Status**: running" in text and "was killed" in text
        assert "`codesign verify 'my core.npz' --out " in text  # quoted as a shell would
        (out / "summary.json").write_text("{}")
        assert folder.command_line == shlex.join(["codesign", *argv[1:]])
        raise RuntimeError("disk on fire")
    text = readme(out)
    assert "**Status**: failed: RuntimeError: disk on fire" in text
    assert "- `summary.json`:" in text


def test_a_file_the_registry_does_not_describe_fails_the_run(tmp_path):
    out = tmp_path / "n"
    with pytest.raises(OutputError, match="mystery.bin"), \
            RunFolder(out, "noise").start() as folder:
        (out / "noise.json").write_text("{}")
        (out / "mystery.bin").write_bytes(b"?")
        folder.complete([out / "noise.json"])
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    assert "- `mystery.bin`" in readme(out).split("Not described")[1]


def test_command_line_names_how_codesign_was_started():
    assert command_line(["/x/bin/codesign", "loop", "--out", "a b"]) == "codesign loop --out 'a b'"
    assert command_line(["/src/codesign/cli/__main__.py", "report", "r"]) == \
        "python -m codesign.cli report r"
    assert command_line(["run.py", "--fast"]) == "python run.py --fast"


def test_export_writes_only_described_files(monkeypatch, tmp_path, core):
    """(calibrate's folder is checked with its report in test_report_folders; loop, design and
    noise runs take minutes: their files are checked by their own tests when
    CODESIGN_CHECK_RUN_FILES=1 is set for the whole suite.) An export folder is a run folder
    too: its README says what made it and what each file holds, and a second export into it
    replaces the first."""
    net = tmp_path / "net"
    cli(monkeypatch, "export", core, "--neuron", "opamp", "--out", net)
    assert (net / "crossbar.cir").is_file() and undescribed(net, "export") == []
    readme = (net / "README.md").read_text()
    assert "codesign export" in readme and "crossbar.cir" in readme
    assert read_marker(net)["status"] == "complete"
    cli(monkeypatch, "export", core, "--neuron", "ideal", "--out", net)
    assert read_marker(net)["status"] == "complete" and undescribed(net, "export") == []


def test_every_command_that_opens_a_run_folder_has_files_and_resume_text():
    assert set(RUN_FILES) == set(RESUME) >= {"verify", "calibrate", "loop", "design", "noise"}
    for command, notes in RUN_FILES.items():
        assert all(len(text) > 10 and "\n" not in text for _, text in notes), command
