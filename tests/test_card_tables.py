"""The chip-card tables in README.md and docs/parts.md are generated from the stored card
outputs (docs/results/card-*.json): a hand-edited table or a changed output fails here."""

from benchmarks.card_tables import (
    END,
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
    assert [path for path, _ in updates] == [path for path, _ in TARGETS]
    for path, text in updates:
        assert START in text and END in text, path
        assert text == path.read_text(), f"{path}: run python -m benchmarks.card_tables"


def test_the_design_points_table_shows_every_stored_point():
    points = _cards(SWEEP)
    assert points, "no stored design points in docs/results/sweep"
    assert SWEEP_START in SWEEP_TARGET.read_text()
    table = sweep_table(_cards(), points)
    for point in points:
        assert f"{point['energy']['per_mac_j'] * 1e15:.0f} fJ |" in table
        assert point["command"].strip() in table


def test_render_shows_each_card_and_its_lines():
    cards = _cards()
    table = render(cards)
    for card in cards:
        assert f"{card['energy']['per_mac_j'] * 1e15:.0f} fJ" in table
        for line in card["energy"]["lines"]:
            assert f"| {line['block']} |" in table
