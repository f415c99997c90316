"""A report as a list of blocks, rendered to Markdown and to self-contained-ish HTML (images
are files beside the page)."""

from __future__ import annotations

import html
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Figure:
    image: str
    """File name beside the report."""
    caption: str
    data: str
    """The CSV behind the figure (path relative to the report)."""


Block = Heading | Para | Table | Figure


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


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
            out.append((f"*{b.caption}*\n\n" if b.caption else "") + "\n".join(lines))
        else:
            out.append(f"![{b.caption}]({b.image})\n\n*{b.caption}* Data: [{b.data}]({b.data})")
    return "\n\n".join(out) + "\n"


STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
         "padding:.2em .5em;text-align:right}th{background:#f3f3f3}img{max-width:100%}"
         "figcaption{font-style:italic}")


def to_html(blocks: list[Block], title: str) -> str:
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
           f"</title><style>{STYLE}</style></head><body>"]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.frame.columns)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
                           + "</tr>" for row in b.frame.itertuples(index=False))
            cap = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
            out.append(f"<table>{cap}<tr>{head}</tr>{rows}</table>")
        else:
            out.append(f"<figure><img src='{html.escape(b.image)}' alt=''><figcaption>"
                       f"{html.escape(b.caption)} Data: <a href='{html.escape(b.data)}'>"
                       f"{html.escape(b.data)}</a></figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)
