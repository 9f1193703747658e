"""The rows of the dashboard's roll-up tree, written out in Python.

A province's tree is ~490 units × 12 cells, each figure a link to the list behind it:
through Jinja macros (one call per cell) it took ~0.5 s of the page; here ~30 ms. The
markup is the same the macros wrote (`dashboard/_macros.html`: `num_at`, `pct`); every
text is escaped, every address built from integers and fixed words."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from markupsafe import Markup, escape

from app.dashboard.queries import Node

NONE = '<span class="text-secondary">—</span>'


def _pct(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.1f}%"


def _num(value: int, href: str) -> str:
    """A figure linking to `href` (already escaped for an attribute)."""
    if value:
        return f'<a href="{href}">{value}</a>'
    return '<span class="text-secondary">0</span>'


def _with_unit(args: dict[str, Any]) -> Any:
    """`urlencode(dict(args, unit=id))` for each id, encoded once: the marker (a NUL,
    which no argument holds and urlencode writes as %00) is replaced by the id."""
    encoded = urlencode(dict(args, unit="\x00"))
    return lambda unit_id: encoded.replace("%00", str(unit_id))


def tree_rows(root: Node, list_args: dict[str, Any], first_visit: date, last_visit: date) -> Markup:
    """The <tr> of every unit below `root`, depth first; deeper than the first level
    hidden until expanded (static/js/dashboard.js)."""
    list_url = url_for("tasks.assignment_list")
    overview_url = url_for("dashboard.overview")
    matrix_url = url_for("checklists.matrix")
    visits_url = url_for("visits.visit_list")
    visits_q = urlencode({"status": "done", "from": first_visit.isoformat(), "to": last_visit.isoformat()})
    list_query = _with_unit(dict(list_args, top=1))
    overview_query = _with_unit(list_args)
    out: list[str] = []

    def row(n: Node, parent: int | None) -> None:
        q = str(escape(f"{list_url}?{list_query(n.unit_id)}"))
        name = escape(n.name)
        attrs = f' data-parent="{parent}"' if parent else ""
        hidden = " hidden" if n.depth > 1 else ""
        toggle = (
            f'<button type="button" class="tree-toggle" aria-expanded="false" aria-controls="tree" '
            f'data-toggle-unit="{n.unit_id}" aria-label="展开{name}的下级单位">▸</button>'
            if n.children
            else '<span class="tree-toggle-space"></span>'
        )
        rate = (
            _pct(None)
            if n.on_time_rate is None
            else f'<a href="{q}&amp;status=due" title="按期办结 {n.on_time} ÷（已办结 {n.closed} + '
            f'逾期 {n.overdue}）">{_pct(n.on_time_rate)}</a>'
        )
        compliance = (
            f'<a href="{matrix_url}?unit={n.unit_id}">{_pct(n.compliance)}</a>'
            if n.checklists
            else _pct(None)
        )
        cells = [
            _num(n.total, q),
            _num(n.closed, q + "&amp;status=closed"),
            _num(n.on_time, q + "&amp;status=on_time"),
            _num(n.overdue, q + "&amp;status=overdue"),
        ]
        lights = "".join(
            f"<td>{_num(getattr(n, s), f'{q}&amp;light={s}')}</td>" for s in ("red", "yellow", "green")
        )
        out.append(
            f'<tr data-unit="{n.unit_id}" data-depth="{n.depth}"{attrs}{hidden}>'
            f'<th scope="row" class="unit-cell depth-{min(max(n.depth - 1, 0), 12)}">{toggle}'
            f'<a href="{escape(overview_url + "?" + overview_query(n.unit_id))}" '
            f'title="以该单位为起点查看">{name}</a></th>'
            + "".join(f"<td>{c}</td>" for c in cells)
            + f'<td class="text-nowrap">{rate}</td>{lights}'
            f"<td>{_num(n.rect_open, q + '&amp;kind=rectification&amp;status=open')}</td>"
            f'<td class="text-nowrap">{compliance}</td>'
            f"<td>{_num(n.visits, escape(f'{visits_url}?unit={n.unit_id}&{visits_q}'))}</td></tr>"
        )
        for child in n.children:
            row(child, n.unit_id)

    for child in root.children:
        row(child, None)
    return Markup("\n".join(out))
