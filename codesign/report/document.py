"""A report as a list of blocks, rendered to Markdown and to self-contained-ish HTML (images
are files beside the page).

In the HTML every table sits in a scroll container (a wide table scrolls inside the page
instead of widening it), text cells are left-aligned and number cells right-aligned and never
wrapped, and a missing number (NaN, None) reads "n/a" (a table's ``notes`` say why)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True, eq=False)
class Table:
    frame: pd.DataFrame
    caption: str = ""
    notes: tuple[str, ...] = field(default=())
    """Lines under the table (e.g. why a cell reads n/a)."""


@dataclass(frozen=True)
class Figure:
    image: str
    """File name beside the report."""
    caption: str
    data: str
    """The CSV behind the figure (path relative to the report)."""


Block = Heading | Para | Table | Figure


MISSING = "n/a"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cell(value) -> str:
    if _missing(value):
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def numeric_columns(frame: pd.DataFrame) -> list[bool]:
    """Per column: does it hold numbers (right-aligned, never wrapped) rather than text?"""
    return [frame[c].dtype.kind in "iuf" or (
        frame[c].dtype == object and len(frame[c]) > 0 and all(
            _missing(v) or (isinstance(v, int | float) and not isinstance(v, bool))
            for v in frame[c])) for c in frame.columns]


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Table):
            cols = list(b.frame.columns)
            lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(_cell(v) for v in row) + " |"
                      for row in b.frame.itertuples(index=False)]
            notes = "".join(f"\n\n{note}" for note in b.notes)
            out.append((f"*{b.caption}*\n\n" if b.caption else "") + "\n".join(lines) + notes)
        else:
            out.append(f"![{b.caption}]({b.image})\n\n*{b.caption}* Data: [{b.data}]({b.data})")
    return "\n\n".join(out) + "\n"


STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
         "line-height:1.4;overflow-wrap:break-word}"
         ".table-wrap{overflow-x:auto;max-width:100%;margin:1em 0}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
         "vertical-align:top}th{background:#f3f3f3;text-align:left}"
         "td.text{text-align:left}th.num{text-align:right}td.num{text-align:right;"
         "white-space:nowrap;font-variant-numeric:tabular-nums}"
         "caption{text-align:left;font-style:italic}p.note{font-size:90%;color:#444}"
         "img{max-width:100%;height:auto}figure{margin:1em 0}figcaption{font-style:italic}"
         "code{white-space:nowrap}")


def to_html(blocks: list[Block], title: str) -> str:
    out = [f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
           f"content='width=device-width'><title>{html.escape(title)}"
           f"</title><style>{STYLE}</style></head><body>"]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            kinds = ["num" if n else "text" for n in numeric_columns(b.frame)]
            head = "".join(f"<th class='{k}'>{html.escape(str(c))}</th>"
                           for c, k in zip(b.frame.columns, kinds, strict=True))
            rows = "".join("<tr>" + "".join(
                f"<td class='{k}'>{html.escape(_cell(v))}</td>"
                for v, k in zip(row, kinds, strict=True)) + "</tr>"
                for row in b.frame.itertuples(index=False))
            cap = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
            notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in b.notes)
            out.append(f"<div class='table-wrap'><table>{cap}<thead><tr>{head}</tr></thead>"
                       f"<tbody>{rows}</tbody></table></div>{notes}")
        else:
            out.append(f"<figure><img src='{html.escape(b.image)}' alt=''><figcaption>"
                       f"{html.escape(b.caption)} Data: <a href='{html.escape(b.data)}'>"
                       f"{html.escape(b.data)}</a></figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)
