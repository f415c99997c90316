"""The parts registry: every part module is found, names a model its library defines, and a
circuit config picks its parts by name (codesign.parts)."""

import pkgutil
import re
from dataclasses import replace

import pytest

import codesign.parts as parts_package
from codesign.circuit.config import ArrayConfig, circuit_config
from codesign.errors import InputError
from codesign.netlist.library import library_dir, library_files
from codesign.parts import PartKind, Process, chip_parts, get_part, names, registry


def _defined(library: str) -> set[str]:
    text = (library_dir() / library).read_text().lower()
    return set(re.findall(r"^\s*\.(?:subckt|model)\s+(\S+)", text, flags=re.MULTILINE))


def test_every_part_module_is_registered_once():
    import importlib

    from codesign.parts.registry import INFRASTRUCTURE

    modules = {m.name for m in pkgutil.iter_modules(parts_package.__path__)} - INFRASTRUCTURE
    assert {m.name for m in pkgutil.iter_modules(parts_package.__path__)} > INFRASTRUCTURE
    found = []
    for name in sorted(modules):
        module = importlib.import_module(f"codesign.parts.{name}")
        defined = getattr(module, "PARTS", ()) + ((module.PART,) if hasattr(module, "PART") else ())
        assert defined, f"codesign.parts.{name} defines no PART"
        found += defined
    assert sorted(found, key=lambda p: (p.kind, p.name)) == [
        registry()[key] for key in sorted(registry())]


def test_every_part_library_exists_and_every_file_is_shipped():
    for part in registry().values():
        for name in part.libraries + part.files:
            assert (library_dir() / name).is_file(), f"{part.kind} {part.name}: {name}"


@pytest.mark.parametrize("level", ["ideal", "opamp", "transistor", "cmos"])
def test_each_level_s_parts_define_the_models_its_deck_uses(level):
    import numpy as np

    from codesign.circuit.compile import compile_core
    from codesign.deq.weights import CoreWeights

    rng = np.random.default_rng(0)
    core = CoreWeights(W=0.1 * rng.normal(size=(3, 3)), U=rng.normal(size=(3, 2)),
                       b=np.zeros(3), activation="tanh")
    config = circuit_config(level)
    circuit = compile_core(core, config, np.random.default_rng(1))
    from codesign.netlist.elements import Element, circuit_elements

    used = {item.model.lower() for item in circuit_elements(circuit)
            if isinstance(item, Element) and item.model}
    defined = set().union(*(_defined(name) for name in library_files(config)
                            if name.endswith(".lib")))
    assert used and used <= defined, sorted(used - defined)


def test_levels_pick_their_parts():
    cmos = chip_parts(circuit_config("cmos"))
    assert (cmos.amplifier.name, cmos.activation.name, cmos.cell.name) == (
        "cd_ota_sky130", "mos_pair", "resistor")
    assert cmos.process == Process.SKY130 and cmos.reset is not None
    assert cmos.sky130_transistors_per_neuron() == 12
    # a device cell per weight: 16 transistors each, n + m + 1 per row
    device = chip_parts(circuit_config("cmos", cell="sky130_r2r"))
    assert device.sky130_transistors_per_neuron(64, 48) == 12 + 113 * 16
    opamp = chip_parts(circuit_config("opamp"))
    assert opamp.process is None and opamp.reset is None
    assert chip_parts(circuit_config("transistor")).setup()


def test_transistor_counts_are_the_subcircuits_devices():
    """Part.transistors (what the memory estimate counts) is the number of sky130 FETs in its
    subcircuit, and its _tap variant's one more: counted from the library text."""
    from codesign.parts.geometry import part_area

    checked = 0
    for part in registry().values():
        if part.process != Process.SKY130 or not part.subckt or getattr(part, "equivalent", 0):
            continue
        for taps in (False, True) if part.tapped else (False,):
            drawn = part_area(part.libraries[-1], part.drawn(taps), **dict(part.nominal))
            assert part.transistor_count(taps) == drawn.transistors, (part.name, taps)
            checked += 1
    assert checked >= 10
    cmos = circuit_config("cmos")
    mirrors = chip_parts(replace(cmos, periphery=replace(cmos.periphery,
                                                         bias="sky130_beta_mirrors")))
    assert mirrors.sky130_transistors_per_neuron() == 12 + 2  # the OTA's and the pair's taps


def test_unknown_parts_are_refused_with_the_valid_names():
    with pytest.raises(InputError, match="unknown cell 'memristor'; use one of: .*resistor"):
        ArrayConfig(cell="memristor")
    with pytest.raises(InputError, match="unknown part kind"):
        get_part("flux capacitor", "x")
    assert "resistor" in names(PartKind.CELL)


def test_areas_are_read_from_the_libraries_devices():
    from codesign.parts.geometry import mim_area_um2, mos_area_um2, part_area

    tg = part_area("codesign_sky130_periphery.lib", "cd_reset_tg")
    assert tg.um2 == pytest.approx(mos_area_um2(2, 0.15) + mos_area_um2(4, 0.35))
    assert tg.behavioural == ()
    ota = part_area("codesign_cmos.lib", "cd_ota_sky130", k2=4)
    # 8 transistors (the output pair at w = 2 k2), Miller C 0.5 pF, nulling R 50 kOhm
    fets = (mos_area_um2(2, 2) + mos_area_um2(4, 2) + 2 * mos_area_um2(10, 1)
            + 2 * mos_area_um2(4, 1) + mos_area_um2(8, 0.5) + mos_area_um2(8, 2))
    assert ota.um2 > fets + mim_area_um2(0.5e-12)
    assert ota.behavioural == ("cd_ota_sky130.ib",)
    assert part_area("codesign_cmos.lib", "cd_ota_sky130", k2=8).um2 > ota.um2


def test_sky130_periphery_parts_solve_in_spice(process_sim, tmp_path):
    import numpy as np

    from codesign.chip.chip import Chip
    from codesign.circuit.settings import build_circuit
    from codesign.deq.weights import CoreWeights

    core = CoreWeights(W=np.array([[0.2, -0.1], [0.1, 0.3]]), U=np.array([[0.8], [-0.5]]),
                       b=np.array([0.1, -0.2]), activation="tanh")
    e = np.array([[0.5], [-0.7]])
    z = {}
    for driver in ("behavioural", "sky130_ab", "sky130_ab_fast"):
        config = build_circuit("cmos", {"cell": "sky130_r2r_eq", "driver": driver,
                                        "periphery.reset": "sky130_tg"})
        chip = Chip(core, config, seed=1, simulator=process_sim)
        real = driver != "behavioural"
        assert ("cd_pm_driver_sky130" in chip.deck.text) == real
        # a sky130 driver also makes the activations' +/- copies, at its own parameters
        assert ("cd_act_mos_pair_sd " in chip.deck.text) == real
        assert chip.deck.text.count("cd_act_mos_pair_sd ") == (2 if real else 0)
        assert "cd_reset_tg" in chip.deck.text and "vrstb" in chip.deck.text
        z[driver] = chip.operating_points(e, tmp_path / driver).z
    # the transistor drivers' offsets (a few mV against v_fs = 0.25 V) move the equilibria
    # by a few percent of full scale at most
    for driver in ("sky130_ab", "sky130_ab_fast"):
        assert 0 < np.abs(z[driver] - z["behavioural"]).max() < 0.05
    # with the bias reference in the deck every driver's reference is a tap on it: no ideal
    # source is left in the drivers, and the equilibria stay within a few % of full scale
    config = build_circuit("cmos", {"cell": "sky130_r2r_eq", "driver": "sky130_ab_fast",
                                    "periphery.reset": "sky130_tg",
                                    "periphery.bias": "sky130_beta_mirrors"})
    chip = Chip(core, config, seed=1, simulator=process_sim)
    assert chip.deck.text.count("cd_pm_driver_sky130_tap") == core.U.shape[1] + 1
    assert chip.deck.text.count("cd_act_mos_pair_sd_tap ") == 2
    assert "dtapw=" in chip.deck.text and " ib=" not in chip.deck.text
    from codesign.parts import chip_parts

    assert not [b for b in chip_parts(config).behavioural() if "ib_" in b]
    tapped = chip.operating_points(e, tmp_path / "tapped").z
    assert 0 < np.abs(tapped - z["sky130_ab_fast"]).max() < 0.05


def test_a_device_cell_array_too_large_for_this_machine_is_refused():
    import numpy as np

    from codesign.chip.chip import Chip
    from codesign.deq.weights import CoreWeights
    from codesign.errors import SizeError

    n, m = 512, 256
    core = CoreWeights(W=np.eye(n) * 0.1, U=np.zeros((n, m)), b=np.zeros(n), activation="tanh")
    with pytest.raises(SizeError, match="--force"):
        Chip(core, circuit_config("cmos", cell="sky130_r2r"))


def test_a_driven_pair_passes_its_driver_every_parameter_at_the_drivers_defaults():
    """cd_act_mos_pair_sd's d* parameters default to cd_pm_driver_sky130's own (and _sd_tap's to
    cd_pm_driver_sky130_tap's), so a driver part that sets only some of them (sky130_ab: kq)
    drives the pairs as it drives the DACs; and every parameter a sky130 driver part sets is
    one the driven pair passes on."""
    from codesign.parts import PartKind, registry
    from codesign.parts.geometry import model_library_dir, spice_number, subckts

    lib = model_library_dir()
    periphery = subckts(lib / "codesign_sky130_periphery.lib")
    for name, driver in (("cd_act_mos_pair_sd", "cd_pm_driver_sky130"),
                         ("cd_act_mos_pair_sd_tap", "cd_pm_driver_sky130_tap")):
        pair = subckts(lib / "codesign_cmos.lib")[name].params
        passed = {k[1:]: v for k, v in pair.items() if k.startswith("d")}
        own = periphery[driver].params
        shared = set(passed) & set(own)
        assert shared >= set(own) - {"kc", "wo", "tapw"}, name  # every one a part may set
        for key in shared:
            assert spice_number(passed[key]) == spice_number(own[key]), (name, key)
        for part in registry().values():
            if part.kind == PartKind.DRIVER and part.subckt == "cd_pm_driver_sky130":
                assert {k for k, _ in part.nominal} <= set(passed), (name, part.name)


def test_the_mirror_readout_has_the_ideal_readouts_transfer():
    """cd_act_mos_pair_mcore (a PMOS mirror into rl = vfs / it) against cd_act_mos_pair_core's
    ideal v(c2) - v(c1), side by side in one DC sweep of x at a chip's pair parameters: the same
    tanh within 2 % of full scale."""
    import numpy as np

    from benchmarks.parts import header, run_deck
    from codesign.simulator import find_ngspice

    params = "vfs=0.25 it=0.5u ra=182751 rb=67249"
    net = header("tt", "codesign_cmos.lib") + (
        "vx x 0 0\n"
        f"it1 vdd nb1 0.5u\nxi x ai nb1 vdd vss cd_act_mos_pair_core {params}\n"
        f"it2 vdd nb2 0.5u\nxm x am nb2 vdd vss cd_act_mos_pair_mcore {params}\n"
        ".control\nset wr_singlescale\ndc vx -1 1 0.05\nwrdata out.dat v(ai) v(am)\n.endc\n.end\n")
    data = run_deck(net, find_ngspice().executable)
    ideal, mirror = data[:, 1], data[:, 2]
    assert np.abs(ideal).max() > 0.24  # the sweep reaches the rails of the tanh
    assert np.abs(mirror - ideal).max() < 0.02 * 0.25
