"""The chip-card tables in README.md and docs/parts.md are generated from the stored card
outputs (docs/results/card-*.json): a hand-edited table or a changed output fails here."""

from benchmarks.card_tables import END, START, TARGETS, _cards, render, replaced


def test_card_tables_match_their_stored_outputs():
    cards = _cards()
    assert cards, "no stored card outputs in docs/results"
    for path, lines_too in TARGETS:
        text = path.read_text()
        assert START in text and END in text, path
        assert replaced(text, render(cards, lines_too)) == text, \
            f"{path}: run python -m benchmarks.card_tables"


def test_render_shows_each_card_and_its_lines():
    cards = _cards()
    table = render(cards)
    for card in cards:
        assert f"{card['energy']['per_mac_j'] * 1e15:.0f} fJ" in table
        for line in card["energy"]["lines"]:
            assert f"| {line['block']} |" in table
