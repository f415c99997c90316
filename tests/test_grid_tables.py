"""The grid tables in docs/grid.md are generated from the stored outputs
(docs/results/grid-*.json): a hand-edited table or a changed output fails here."""

from benchmarks.grid_tables import END, START, TARGET, render, replaced


def test_grid_tables_match_their_stored_outputs():
    text = TARGET.read_text()
    assert START in text and END in text
    assert replaced(text, render()) == text, "docs/grid.md: run python -m benchmarks.grid_tables"


def test_the_tables_show_every_stored_model():
    import json

    from benchmarks.grid_tables import RESULTS

    table = render()
    for path in RESULTS.glob("grid-*-baselines.json"):
        for record in json.loads(path.read_text())["models"]:
            assert f"| {record['model']} |" in table
    for path in RESULTS.glob("grid-verify-*.json"):
        summary = json.loads(path.read_text())
        assert f"{summary['ratio']:.3f}x" in table
    for row in json.loads((RESULTS / "grid-dense-spice.json").read_text())["rows"]:
        assert f"{row['circuit_l2']:.4f} / {row['digital_l2']:.4f} = {row['ratio']:.3f}x" in table
