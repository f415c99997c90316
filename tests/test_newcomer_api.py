"""Issue 22's newcomer findings on the Python API: it refuses what the command line refuses
(a non-contractive W, with the same allow_unstable escape), verify_chip compares with the
level's shipped proxy as ``codesign verify`` does, a proxy used outside the circuit it was
fitted on says so, an exported deck runs by itself in ngspice and prints the chip's own
equilibrium and energy, and a design search never presents an unsettled design as measured."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from codesign.chip.chip import Chip
from codesign.chip.verify import VerifySettings, verify_chip, verify_core
from codesign.circuit.config import circuit_config, scale_currents
from codesign.deq.weights import random_core
from codesign.errors import UnstableCoreError
from codesign.proxy.params import default_params_path, load_params
from codesign.simulator.ngspice import find_ngspice

NGSPICE = "/usr/bin/ngspice"


# --- the API checks what the CLI checks ----------------------------------------------------


def test_a_non_contractive_core_is_refused_by_the_api_as_by_the_cli(tmp_path, rng,
                                                                      process_sim):
    """||W||_2 = 1.3: Chip, Chip.from_circuit and verify_core raise the CLI's UnstableCoreError
    (its message, plus the Python spelling of the escape) before any SPICE; allow_unstable=True
    is the escape, as --allow-unstable is the command line's."""
    core = random_core(4, 2, 1.3, rng, allow_unstable=True)
    config = circuit_config("ideal")
    with pytest.raises(UnstableCoreError) as cli:
        core.check_contraction()  # what `codesign verify` / `codesign export` run on a source
    for attempt in (lambda: Chip(core, config),
                    lambda: Chip(core, config, simulator=process_sim, klu=False),
                    lambda: verify_core(core, np.zeros((1, 2)), config, process_sim,
                                        tmp_path / "v")):
        with pytest.raises(UnstableCoreError) as api:
            attempt()
        assert str(api.value).startswith(str(cli.value))
        assert "allow_unstable=True" in str(api.value)
    assert not (tmp_path / "v").exists()  # refused before anything ran
    chip = Chip(core, config, allow_unstable=True)
    assert chip.allow_unstable and chip.core.spectral_norm == pytest.approx(1.3)
    with pytest.raises(UnstableCoreError):
        Chip.from_circuit(core, chip.circuit)
    assert Chip.from_circuit(core, chip.circuit, allow_unstable=True).circuit is chip.circuit
    stable = random_core(4, 2, 0.6, rng)
    assert not Chip(stable, config).allow_unstable


# --- verify_chip compares with the proxy as the CLI does -------------------------------------


@pytest.fixture(scope="module")
def opamp_core():
    rng = np.random.default_rng(22)
    return random_core(4, 3, 0.6, rng), rng.uniform(-1, 1, (2, 3))


def test_verify_chip_compares_with_the_levels_shipped_proxy_by_default(tmp_path, opamp_core,
                                                                       process_sim):
    """No proxy named: the shipped set of the chip's level, the file `codesign verify` picks
    without --proxy; proxy=None (or "none") skips it."""
    from codesign.cli.verify import _proxy as cli_proxy

    core, e = opamp_core
    chip = Chip(core, circuit_config("opamp"), seed=1, simulator=process_sim)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the level's own circuit: inside the fitted range
        result = verify_chip(chip, e, tmp_path / "a")
    params, _ = load_params(default_params_path("opamp"))
    assert result.z_proxy is not None and result.proxy_range == ()
    np.testing.assert_array_equal(result.z_proxy, chip.proxy_equilibrium(params, e))
    assert Path(result.summary.proxy.path) == cli_proxy(None, "opamp")[1]
    assert result.summary.proxy.matches_circuit and result.summary.proxy_error_fs.max < 1e-2
    assert "z_proxy" in result.equilibria
    for skip in (None, "none"):
        bare = verify_chip(chip, e, tmp_path / "b", VerifySettings(proxy=skip))
        assert bare.z_proxy is None and bare.summary.proxy is None
        assert "z_proxy" not in bare.equilibria


# --- a proxy used outside its fitted range says so ------------------------------------------


def test_a_proxy_outside_the_circuit_it_was_fitted_on_warns(tmp_path, opamp_core, process_sim):
    """The shipped CMOS set at 0.1x currents (the case found 3.3e-2 FS off) and the opamp set
    at 0.1x: one ProxyRangeWarning naming the currents, on one line; at 1x nothing."""
    from codesign.proxy.fitted import ProxyRangeWarning, check_range, range_warnings_to

    _, provenance = load_params(default_params_path("cmos"))
    cmos = circuit_config("cmos")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_range(provenance, cmos) == ()
    with pytest.warns(ProxyRangeWarning) as caught:
        outside = check_range(provenance, scale_currents(cmos, 0.1))
    message = str(caught[0].message)
    assert "\n" not in message and "x0.1" in message and "codesign calibrate" in message
    assert any(d.startswith("neuron.cmos.ota_bias_a") for d in outside)
    assert any(d.startswith("mapping.g_max_s") for d in outside)
    said: list[str] = []
    with range_warnings_to(said.append):  # how the command line prints it
        check_range(provenance, scale_currents(cmos, 0.1))
    assert said == [f"warning: {message}"]

    core, e = opamp_core
    chip = Chip(core, scale_currents(circuit_config("opamp"), 0.1), seed=1,
                simulator=process_sim)
    with pytest.warns(ProxyRangeWarning, match="g_max_s"):
        result = verify_chip(chip, e, tmp_path / "v")
    assert result.z_proxy is not None
    assert [d.split()[0] for d in result.proxy_range] == ["mapping.g_max_s", "mapping.g_min_s"]


# --- an exported deck runs by itself ---------------------------------------------------------


def _printed(stdout: str, n: int) -> tuple[np.ndarray, dict[str, float]]:
    """The z_fs table and the echoed quantities of an exported deck's run."""
    rows = re.findall(r"^(\d+)\s+(\S+)\s*$", stdout, flags=re.M)
    assert [int(k) for k, _ in rows] == list(range(n)), stdout
    values = {key: float(value) for key, value in re.findall(
        r"^(supply power at the operating point|supply energy over the transient|mean supply "
        r"power over the transient).*: (\S+)$", stdout, flags=re.M)}
    return np.array([float(v) for _, v in rows]), values


def test_an_exported_deck_runs_by_itself_and_prints_the_chips_equilibrium(tmp_path, rng,
                                                                          process_sim):
    """`ngspice -b crossbar.cir` and `ngspice crossbar.cir` (the printed command, no terminal)
    both run and quit, printing a short result: the equilibrium equal to the chip's own
    operating point to 1e-9 FS, the supply power there, and the energy over the transient
    (its mean power near the operating point's: the transient ends at that equilibrium)."""
    core = random_core(5, 3, 0.7, rng)
    chip = Chip(core, circuit_config("opamp"), seed=3, simulator=process_sim)
    e = rng.uniform(-1, 1, (1, 3))
    ngspice = find_ngspice(NGSPICE)
    manifest = chip.export(tmp_path / "net", ngspice=ngspice, inputs=e)
    assert manifest["klu"] == ngspice.klu
    assert manifest["run"].endswith("ngspice crossbar.cir")
    z = chip.operating_points(e, tmp_path / "op").z[0]
    for command in ([NGSPICE, "-b", "crossbar.cir"], [NGSPICE, "crossbar.cir"]):
        out = subprocess.run(command, cwd=tmp_path / "net", capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stdout + out.stderr
        assert len(out.stdout.splitlines()) < 40 + chip.n, out.stdout  # not every node
        printed, values = _printed(out.stdout, chip.n)
        np.testing.assert_allclose(printed, z, rtol=0, atol=1e-9)
        power, energy, mean = (values["supply power at the operating point"],
                               values["supply energy over the transient"],
                               values["mean supply power over the transient"])
        assert energy > 0 and mean == pytest.approx(energy / manifest["t_stop_s"], rel=1e-4)
        assert mean == pytest.approx(power, rel=0.2)


# --- a design search never presents an unsettled design as measured --------------------------


def _measured(number: int, energy_pj: float, metric: float, unsettled: int):
    from codesign.design.energy import EnergyBreakdown
    from codesign.design.space import Design
    from codesign.design.verify import VerifiedDesign

    parts = EnergyBreakdown(energy_pj * 0.5e-12, energy_pj * 0.2e-12, energy_pj * 0.1e-12,
                            energy_pj * 0.1e-12, energy_pj * 0.05e-12, energy_pj * 0.05e-12)
    return VerifiedDesign(
        number=number, design=Design(current_ratio=0.1 * (number + 1)), samples=64,
        metric_spice=metric, metric_digital=0.97, metric_proxy=metric, settling_s=7.79e-6,
        energy_j=parts.total_j, energy_per_mac_j=parts.total_j / 1000, breakdown=parts,
        screen_energy_j=parts.total_j, screen_settling_s=5e-6, transients=2,
        unsettled=unsettled)


def _trials(verified):
    import pandas as pd

    return pd.DataFrame({"trial": [v.number for v in verified],
                         "energy_j": [v.energy_j for v in verified],
                         "metric_proxy": [v.metric_proxy for v in verified],
                         "noise_fs": 1e-3, "macs": 1000})


def test_an_unsettled_design_is_flagged_everywhere_and_never_chosen():
    """Trial 0 is the cheapest and within the target but one of its transients never settled:
    its console line says its settling and energy are not measured, front.csv marks it
    (unsettled, measured false, on no front), front.png draws it with its own marker outside
    the settling colour scale, and the chooser takes the cheapest settled design instead."""
    from codesign.design.choose import pick, unsettled_trials
    from codesign.design.report import UNSETTLED_LABEL, front_figure
    from codesign.design.search import design_line, verified_table
    from codesign.tasks import get_task

    task = get_task("digits")
    verified = [_measured(0, 10.0, 0.97, 1), _measured(1, 20.0, 0.96, 0),
                _measured(2, 30.0, 0.97, 0), _measured(3, 40.0, 0.90, 0)]
    line = design_line(verified[0])
    assert "UNSETTLED in 1 of 2 transients" in line and "not measured" in line
    assert "never chosen" in line and "UNSETTLED" not in design_line(verified[1])
    front = verified_table(verified, higher_is_better=True)
    row = front.set_index("trial")
    assert row.loc[0, "unsettled"] == 1 and not row.loc[0, "measured"]
    assert not row.loc[0, "on_front"]  # cheapest and best, yet on no front
    assert row.loc[1:, "measured"].all() and row.loc[1, "on_front"] and row.loc[2, "on_front"]
    assert unsettled_trials(front) == (0,)
    chosen, within = pick(task, front, reference=0.97)
    assert int(chosen.trial) == 1 and within
    chosen, within = pick(task, front[front.trial.isin([0, 3])], reference=0.97)
    assert int(chosen.trial) == 3 and not within  # the settled one, though outside the target

    fig = front_figure(task, _trials(verified), front, None, 0.97)
    (ax, *_) = fig.axes
    marked = {c.get_label(): c.get_offsets() for c in ax.collections}
    np.testing.assert_allclose(marked[UNSETTLED_LABEL], [[verified[0].energy_j, 0.97]])
    (settled,) = [v for k, v in marked.items() if k.startswith("measured in SPICE")]
    assert len(settled) == 3 and verified[0].energy_j not in settled[:, 0]


def test_when_no_measured_design_settled_none_is_chosen_and_chosen_json_says_why(tmp_path):
    """Every measured design unsettled: the chooser says so in one line and chooses none (no
    base model, no SPICE needed); chosen.json records it with the unsettled trials."""
    import json

    from codesign.design.choose import NoDesignChosen, choose
    from codesign.design.search import verified_table
    from codesign.design.settings import DesignSettings
    from codesign.schema import write_result
    from codesign.tasks import get_task

    front = verified_table([_measured(4, 10.0, 0.97, 2), _measured(7, 20.0, 0.96, 1)], True)
    said: list[str] = []
    chosen = choose(get_task("digits"), front, tmp_path, None, DesignSettings(),
                    tmp_path / "none.json", said.append)
    assert isinstance(chosen, NoDesignChosen) and chosen.unsettled_designs == (4, 7)
    assert len(said) == 1 and said[0].startswith("no design chosen") and "4, 7" in said[0]
    assert not front.on_front.any() and not front.measured.any()
    record = json.loads(write_result(tmp_path / "chosen.json", chosen, "design_chosen")
                        .read_text())
    assert record["chosen"] is False and record["unsettled_designs"] == [4, 7]
    assert record["reason"] == said[0]
