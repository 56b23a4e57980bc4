"""The HTML around the charts: one page with its style inline, tables, legends, and escaping.

Every piece of text goes through `escape` (or is `Markup` this package wrote), because titles, names and reasons
come from plans, stores and recordings that anyone may have written. The page links to nothing: no script, no
font, no image outside it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from flutex.view.colours import hex_colour

Colour = tuple[int, int, int]

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#24292f;background:#fff;margin:0}
main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:16px 0 4px}p.sub{margin:0 0 12px;color:#57606a}
.stats{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.stats div{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;min-width:110px}
.stats b{display:block;font-size:20px}.stats span{color:#57606a;font-size:12px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid #eaeef2;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{width:100%;height:auto;display:block}
ul.legend{list-style:none;padding:0;margin:2px 0 6px;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px}
ul.legend i{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.zooms{display:grid;grid-template-columns:1fr 1fr;gap:8px 20px}
.zooms p{margin:0;color:#57606a;font-size:12px}.warn{color:#9a6700}
.passed{color:#1a7f37;font-weight:600}.overdue{color:#cf222e;font-weight:600}
""".strip()


class Markup(str):
    """HTML this package wrote: placed in a page as it is (anything else is escaped)."""


def escape(text: object) -> Markup:
    return Markup(html.escape(str(text), quote=True))


def join(parts: Iterable[str]) -> Markup:
    return Markup("".join(_safe(part) for part in parts))


def tag(name: str, content: Iterable[str] | str = (), **attributes: object) -> Markup:
    """<name attributes>content</name>; attribute names use _ for - (data_attempts -> data-attempts), `cls` is
    `class`; plain-text content and every attribute value are escaped."""
    pairs = "".join(
        f' {"class" if key == "cls" else key.replace("_", "-")}="{html.escape(str(value), quote=True)}"'
        for key, value in attributes.items()
        if value is not None
    )
    body = _safe(content) if isinstance(content, str) else join(content)
    return Markup(f"<{name}{pairs}>{body}</{name}>")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Iterable[int] = ()) -> Markup:
    """A table with a header row; the columns in `numeric` are right-aligned."""
    right = set(numeric)
    head = tag("tr", (tag("th", name) for name in header))
    body = (
        tag(
            "tr",
            (
                tag("td", cell if isinstance(cell, Markup) else str(cell), cls="n" if k in right else None)
                for k, cell in enumerate(row)
            ),
        )
        for row in rows
    )
    return tag("table", [tag("thead", [head]), tag("tbody", body)])


def legend(entries: Sequence[tuple[str, Colour | str]]) -> Markup:
    return tag(
        "ul",
        (tag("li", [Markup(f'<i style="background:{paint(colour)}"></i>'), name]) for name, colour in entries),
        cls="legend",
    )


def stats(items: Sequence[tuple[str, str]]) -> Markup:
    """Key numbers as a row of boxes: (value, what it is)."""
    return tag("div", (tag("div", [tag("b", value), tag("span", what)]) for value, what in items), cls="stats")


def page(title: str, body: Iterable[str], *, style: str = "", **attributes: object) -> str:
    """The whole document: `style` adds to the page's style sheet; `attributes` go on <main> (data-* attributes say
    what the page holds, for tests and tools)."""
    head = Markup(
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}{style}</style>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head>{head}</head><body>{tag("main", body, **attributes)}</body></html>\n'
    )


def paint(colour: Colour | str) -> str:
    """A colour for an SVG or CSS attribute: RGB as #rrggbb, a name or #hex as it is."""
    return colour if isinstance(colour, str) else hex_colour(colour)


def _safe(part: str) -> str:
    return part if isinstance(part, Markup) else html.escape(part, quote=True)
