"""``python -m codesign.cli``: the same as the ``codesign`` command."""

from codesign.cli import main

main(prog_name="codesign")
