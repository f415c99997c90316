"""A MkDocs hook (mkdocs.yml ``hooks:``): in the API reference's pages, ``members: public``
under ``::: codesign.ROOM`` becomes the room's public names, read from its ``__init__.py`` when
the site is built (docs/api/make_pages.py), so a name added to a room is documented without
touching its page."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_pages import names  # noqa: E402

DIRECTIVE = re.compile(r"^::: codesign\.(\w+)\n    options:\n      members: public$", re.M)


def expand(markdown: str) -> str:
    """``markdown`` with each ``members: public`` listing its room's names."""
    def listed(match: re.Match) -> str:
        members = "\n".join(f"        - {name}" for name in names(match.group(1)))
        return f"::: codesign.{match.group(1)}\n    options:\n      members:\n{members}"
    return DIRECTIVE.sub(listed, markdown)


def on_page_markdown(markdown: str, **kwargs) -> str:
    return expand(markdown)
