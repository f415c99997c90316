"""benchmarks/grid_verify_time.py's timing parent: a command's status, wall time and peak
memory, one fresh parent per command (so no case's peak carries into the next)."""

from __future__ import annotations

import sys


def test_a_timed_command_reports_its_status_time_and_own_peak():
    from benchmarks.grid_verify_time import timed

    touch = "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    big = timed([sys.executable, "-c", touch], 60)
    small = timed([sys.executable, "-c", "pass"], 60)
    assert big["status"] == small["status"] == "ok"
    assert big["peak_mb"] > 200 > small["peak_mb"]
    assert timed([sys.executable, "-c", "raise SystemExit(3)"], 60)["status"] == "exit 3"
    slow = timed([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
    assert slow["status"] == "timeout" and slow["wall_s"] < 20
