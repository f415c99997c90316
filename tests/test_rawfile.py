"""The binary raw-file reader, on files ngspice writes and on damaged bytes."""

import subprocess

import numpy as np
import pytest

from codesign.simulator import find_ngspice, read_raw
from codesign.simulator.rawfile import RawFileError, parse_raw

RC_DECK = """* rc step
v1 in 0 dc 1
r1 in out 1k
c1 out 0 1n
.control
set filetype=binary
op
write rc.raw v(out) i(v1)
set appendwrite
tran 10n 5u 0 10n uic
write rc.raw v(out)
.endc
.end
"""


@pytest.fixture
def rc_raw(tmp_path):
    (tmp_path / "rc.cir").write_text(RC_DECK)
    subprocess.run([find_ngspice().executable, "-b", "rc.cir"], cwd=tmp_path, check=True,
                   capture_output=True)
    return tmp_path / "rc.raw"


def test_two_plots_in_one_file_and_an_rc_step(rc_raw):
    op, tran = read_raw(rc_raw)
    assert op.plotname == "Operating Point" and tran.plotname == "Transient Analysis"
    assert op.vectors["v(out)"][0] == pytest.approx(1.0)
    t, v = tran.vectors["time"], tran.vectors["v(out)"]
    late = t > 0.2e-6  # the uic start row is not exactly the initial condition
    np.testing.assert_allclose(v[late], 1 - np.exp(-t[late] / 1e-6), atol=2e-3)


def test_point_count_comes_from_the_bytes_when_a_run_stops_early(rc_raw):
    data = rc_raw.read_bytes()
    cut = data[: len(data) - 8 * 2 * 10 - 3]  # ten points and a few bytes short
    declared = read_raw(rc_raw)[1].vectors["time"].size
    assert parse_raw(cut)[1].vectors["time"].size == declared - 11


def test_ascii_raw_files_are_refused():
    with pytest.raises(RawFileError, match="filetype=binary"):
        parse_raw(b"Title: x\nValues:\n 0 1\n")
