"""Ideal bias references: the deck's bias currents come from nowhere and cost only what they
carry (the reference levels' choice, and the default)."""

from __future__ import annotations

from codesign.parts.base import Bias

PART = Bias("ideal", "ideal current references (no reference circuit charged)")
