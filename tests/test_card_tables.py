"""The chip-card tables in README.md and docs/parts.md are generated from the stored card
outputs (docs/results/card-*.json), the buildable design searches' in docs/design.md from
theirs (docs/results/design/): a hand-edited table or a changed output fails here."""

from benchmarks.card_tables import (
    END,
    SEARCH_START,
    SEARCH_TARGET,
    START,
    SWEEP,
    SWEEP_START,
    SWEEP_TARGET,
    TARGETS,
    _cards,
    _updates,
    render,
    sweep_table,
)


def test_card_tables_match_their_stored_outputs():
    assert _cards(), "no stored card outputs in docs/results"
    updates = _updates()
    assert [path for path, _ in updates] == [path for path, _ in TARGETS] + [SEARCH_TARGET]
    for path, text in updates:
        assert (START in text and END in text) or path == SEARCH_TARGET, path
        assert text == path.read_text(), f"{path}: run python -m benchmarks.card_tables"


def test_the_design_points_table_shows_every_stored_point():
    points = _cards(SWEEP)
    assert points, "no stored design points in docs/results/sweep"
    assert SWEEP_START in SWEEP_TARGET.read_text()
    cards = _cards()
    table = sweep_table(cards, points)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    tasks = {p["task"] for p in points}
    assert len(rows) - 1 == len(points) + sum(c["task"] in tasks for c in cards)
    for point in points:
        assert point["command"].strip() in table
        lines = {r["block"]: r["median_j"] for r in point["energy"]["lines"]}
        analog = (lines["summing amplifiers"] + lines["activations and output drivers"]
                  + lines["input DAC drivers and bias buffer"]) / point["energy"]["macs"]
        row = next(r for r in rows if f"{point['energy']['sampling_s'] * 1e6:.2f} us" in r
                   and f"{point['energy']['per_mac_j'] * 1e15:.0f} fJ |" in r)
        assert f"| {analog * 1e15:.0f} fJ |" in row


def test_render_shows_each_card_and_its_lines():
    cards = _cards()
    table = render(cards)
    for card in cards:
        assert f"{card['energy']['per_mac_j'] * 1e15:.0f} fJ" in table
        for line in card["energy"]["lines"]:
            assert f"| {line['block']} |" in table


def test_the_search_table_shows_every_measured_design_of_each_stored_search():
    """Each stored search's measured designs (front.csv) in docs/design.md: its energy per
    inference and per MAC, the chosen one marked, read from the CSV here, not from the table."""
    import json

    import pandas as pd

    from benchmarks.card_tables import SEARCH_END, SEARCHES

    text = SEARCH_TARGET.read_text()
    table = text[text.index(SEARCH_START):text.index(SEARCH_END)]
    searches = sorted(p for p in SEARCHES.glob("*") if (p / "chosen.json").is_file())
    assert searches, "no stored design search in docs/results/design"
    for folder in searches:
        front = pd.read_csv(folder / "front.csv")
        chosen = json.loads((folder / "chosen.json").read_text())
        command = json.loads((folder / "run.json").read_text())["command_line"]
        block = table[table.index(command):].split("\n\n")[1]  # the search's own rows
        for r in front.itertuples():
            row = next(line for line in block.splitlines() if line.startswith(f"| {r.trial} |"))
            assert f"{r.energy_j * 1e9:.2f} nJ" in row and f"{r.fj_per_mac:,.0f} fJ" in row
            assert ("**chosen**" in row) == (int(r.trial) == chosen["number"])


def test_a_design_point_names_what_differs_from_the_cmos_level():
    from benchmarks.card_tables import (
        CMOS_ATTENUATOR_OHM,
        CMOS_PAIR_TAIL_A,
        CMOS_V_FS,
        DEFAULT_GAMMA,
        _model,
        _point,
    )
    from codesign.circuit.settings import build_circuit
    from codesign.deq import DEQConfig

    cmos = build_circuit("cmos")
    assert (cmos.mapping.v_fs, cmos.neuron.cmos.pair_tail_a, cmos.neuron.cmos.attenuator_ohm) \
        == (CMOS_V_FS, CMOS_PAIR_TAIL_A, CMOS_ATTENUATOR_OHM)
    assert DEQConfig().gamma == DEFAULT_GAMMA
    card = {"task": "physics", "config": cmos.to_dict(), "model": {"encoder": "none"}}
    assert "v_FS" not in _point(card) and "pair tail" not in _point(card)
    assert "attenuator" not in _point(card)
    assert "gamma" not in _model(card)  # older cards: the default bound
    sixes = {"converters.dac_bits": 6, "converters.adc_bits": 6}
    card = {"task": "physics", "config": build_circuit("cmos", sixes).to_dict()}
    assert "DAC" not in _point(card)
    changed = build_circuit("cmos", {"mapping.v_fs": 0.15, "neuron.cmos.pair_tail_a": 2.5e-7,
                                     "neuron.cmos.attenuator_ohm": 2.5e5,
                                     "converters.dac_bits": 7, "converters.adc_bits": 7})
    card = {"task": "physics", "config": changed.to_dict(), "model": {"gamma": 0.7}}
    assert _point(card).endswith("pair tail 0.25 uA, attenuator 0.25 MOhm, v_FS 0.15 V, DAC 7 b, "
                                 "ADC 7 b")
    assert _model(card) == "physics (gamma 0.7)"


def test_a_card_measured_before_the_step_bound_says_so():
    """Cards whose transients stepped at t_stop / 100 carry a mark; one that records its largest
    step (Deck.tran_max_step_s) does not."""
    card = _cards()[0]
    old = {**card, "energy": {k: v for k, v in card["energy"].items() if k != "max_step_s"}}
    new = {**card, "energy": {**card["energy"], "max_step_s": 5e-9}}
    mark = "steps of t_stop/100"
    assert mark in render([old], lines_too=False)
    assert mark not in render([new], lines_too=False)
