"""The public Python API: every documented name resolves, the README's "Python API" session runs
as it stands, and the command line's help and info start without importing torch."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import codesign

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_session() -> str:
    """The first python block of the README's "Python API" section."""
    text = README.read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_every_public_name_resolves():
    assert codesign.__all__ == sorted(codesign.__all__)
    for name in codesign.__all__:
        assert getattr(codesign, name) is not None, name


@pytest.mark.slow(seconds=25)
def test_the_readme_python_session_runs(tmp_path):
    out = subprocess.run([sys.executable, "-c", readme_session()], cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    numbers = [float(x) for x in re.findall(r"[-+]?\d+\.?\d*e[-+]\d+", out.stdout)]
    proxy_error, torch_error = numbers[:2]
    assert proxy_error < 0.1 * torch_error  # the calibrated proxy predicts the transistor chip
    assert "settling" in out.stdout and "nJ per inference" in out.stdout
    assert (tmp_path / "runs" / "api" / "netlist" / "crossbar.cir").is_file()
    assert "calibrated A0 1000 V/V" in out.stdout  # the fit stays on the circuit's gain


def test_help_and_info_do_not_import_torch():
    code = (
        "import sys\n"
        "from codesign.cli import main\n"
        "for args in (['--help'], ['info'], ['verify', '--help'], ['loop', '--help']):\n"
        "    try:\n"
        "        main(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', "
        "'gymnasium', 'matplotlib'})\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ngspice" in out.stdout and "torch" in out.stdout  # info ran
