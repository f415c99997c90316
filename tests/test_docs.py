"""The documentation runs: the README and every page of docs/ (the MkDocs site) build strictly,
every code block in them runs (or says why not), the notebook executes, and the API reference
covers every public name.

A fenced block is one of:

- ``python``: run with this interpreter in a fresh folder (each block stands alone);
- ``sh``: run with bash in a fresh folder, the virtualenv's ``codesign`` first on PATH;
- ``text``: output or a diagram, not code;

and a ``python`` or ``sh`` block that must not run here (hours of SPICE, an install step, a
file the reader brings) has ``<!-- not run: REASON -->`` on the line right above its fence.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\S*)\s*$")
RUNNABLE = {"python", "sh"}
ROOMS = ("deq", "circuit", "chip", "proxy", "calibration", "loop", "design", "tasks",
         "simulator")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    path: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    code: str
    not_run: str | None
    """The reason given in the marker above the fence; None: the block runs."""

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every top-level fenced block of ``path`` (fences at the start of a line)."""
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"{path}:{i + 1}: unclosed code block"
        marker = NOT_RUN.search(lines[i - 1]) if i else None
        found.append(Block(path, i + 1, match.group(1), "\n".join(lines[i + 1:end]) + "\n",
                           marker.group(1) if marker else None))
        i = end + 1
    return found


ALL = [b for page in PAGES for b in blocks(page)]
RUN = [b for b in ALL if b.lang in RUNNABLE and b.not_run is None]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=str(ROOT))
    return env


def test_every_block_has_a_kind_and_every_marker_a_reason():
    assert len(ALL) > 10 and len(RUN) >= 5
    for b in ALL:
        assert b.lang in RUNNABLE | {"text"}, \
            f"{b.name}: a code block is python, sh or text, got {b.lang!r}"
        if b.not_run is not None:
            assert b.lang in RUNNABLE, f"{b.name}: a text block needs no 'not run' marker"
            assert len(b.not_run) >= 10, f"{b.name}: say why the block is not run"


def test_blocks_parse_and_markers_bind_to_the_next_fence(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("x\n<!-- not run: takes an hour of SPICE -->\n```sh\nmake bench\n```\n\n"
                    "```python\nprint(1)\n```\n```text\nout\n```\n")
    found = blocks(page)
    assert [(b.lang, b.not_run) for b in found] == [
        ("sh", "takes an hour of SPICE"), ("python", None), ("text", None)]
    assert found[1].code == "print(1)\n" and found[1].line == 7


@pytest.mark.parametrize("block", RUN, ids=[b.name for b in RUN])
def test_block_runs(block, tmp_path):
    if block.lang == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    out = subprocess.run(command, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, f"{block.name} failed:\n{out.stdout}\n{out.stderr}"


def test_readme_is_short_and_its_links_resolve():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), f"README links to a missing {target}"
    for heading in ("## Install", "## Two commands", "## Your own W, U, b", "## Glossary",
                    "## Documentation"):
        assert heading in text, heading


def _section(text: str, heading: str) -> str:
    rest = text[text.index(heading):].split("\n", 1)[1]
    return rest[:rest.find("\n## ")] if "\n## " in rest else rest


def test_site_pages_repeat_the_readme_word_for_word():
    readme = (ROOT / "README.md").read_text()
    glossary = _section(readme, "## Glossary").strip().replace("(docs/circuit.md)", "(circuit.md)")
    assert glossary in (DOCS / "glossary.md").read_text(), "docs/glossary.md: copy the README's"
    session = re.search(r"```python\n(.*?)```", _section(readme, "## Python API"), re.S)[1]
    assert session in (DOCS / "python.md").read_text(), "docs/python.md: copy the README's session"


def test_the_api_reference_names_every_public_name():
    # deferred: the page writer and the site's hook are scripts of docs/, imported only here
    sys.path.insert(0, str(DOCS / "api"))
    try:
        import hooks
        import make_pages
    finally:
        sys.path.remove(str(DOCS / "api"))
    assert set(make_pages.ROOMS) == set(ROOMS)
    for room in ROOMS:
        page = (DOCS / "api" / f"{room}.md").read_text()
        assert page == make_pages.render(room), "run python docs/api/make_pages.py"
        names = make_pages.names(room)
        listed = re.findall(r"^        - (\w+)$", hooks.expand(page), flags=re.M)
        assert len(names) >= 3 and listed == names, room


DESCRIPTIVE = {("docs/circuit.md", "level"), ("docs/circuit.md", "parameter"),
               ("docs/loop.md", "task"), ("docs/parts.md", "kind"), ("docs/parts.md", "line")}
"""Tables that describe (levels, defaults, tasks, parts, card lines) rather than report a
measurement: (page, first header cell). Every other table is generated between markers."""


def test_measured_tables_are_generated_from_their_records():
    # deferred: the table script of benchmarks/, loaded only here
    from benchmarks import doc_tables

    records = doc_tables.records()
    assert sum(len(r["tables"]) for r in records) >= 20
    assert doc_tables.stale() == [], "run python -m benchmarks.doc_tables"
    for record in records:
        text = (ROOT / record["page"]).read_text()
        for table in record["tables"]:
            assert table["command"] and table["provenance"], table["id"]
            rendered = doc_tables.render(table)
            # a number edited in the page, not in its record, is caught
            edited = text.replace(rendered, rendered.replace(" | ", " |  ", 1), 1)
            assert edited != text and doc_tables.generated(edited, record["tables"]) == text


def test_no_measured_table_is_copied_by_hand():
    for page in PAGES:
        lines, inside = page.read_text().split("\n"), False
        for i, line in enumerate(lines):
            inside = (inside or bool(re.search(r"-table:(\S+:)?start -->", line))) and \
                not re.search(r"-table:(\S+:)?end -->", line)
            is_head = line.startswith("| ") and i + 1 < len(lines) and \
                lines[i + 1].startswith("|---")
            if is_head and not inside:
                first = line[1:].split("|")[0].strip()
                assert (str(page.relative_to(ROOT)), first) in DESCRIPTIVE, \
                    f"{page.name}:{i + 1}: a measured table goes between doc-table markers " \
                    "with its record in docs/results (benchmarks/doc_tables.py)"


def test_mkdocs_builds_strictly(tmp_path):
    site = tmp_path / "site"
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(site)], cwd=ROOT, env={**_env(), "NO_MKDOCS_2_WARNING": "1"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    chip = (site / "api" / "chip" / "index.html").read_text()
    assert "One compiled instance" in chip  # from the docstrings
    for name in ("Chip", "VerifySettings", "verify_chip", "export_chip"):  # every public name
        assert f'id="codesign.chip.{name}"' in chip, name
    notebook = (site / "notebooks" / "api" / "index.html").read_text()
    assert "verify_chip" in notebook and "data:image/png;base64" in notebook  # with its plot


def test_the_notebook_executes(tmp_path):
    # deferred: nbformat and nbclient are dev tools, loaded only by this test
    import nbformat
    from nbclient import NotebookClient

    path = DOCS / "notebooks" / "api.ipynb"
    stored = nbformat.read(path, as_version=4)
    shown = json.dumps([c.get("outputs", []) for c in stored.cells])
    assert "image/png" in shown and "SPICE vs PyTorch" in shown, \
        "run: make docs (the site shows the stored notebook's outputs)"
    os.environ.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = json.dumps([c.get("outputs", []) for c in notebook.cells])
    assert '"output_type": "error"' not in text
    assert "image/png" in text and "SPICE vs PyTorch" in text
