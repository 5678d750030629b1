"""Drawing the dependency graph of a fold surface (P&L Definition A.5,
Figure 4 right): a layered layout by canonical order, aggregated at scale,
and an interactive HTML page of the whole graph.

The graph is the ``networkx.DiGraph`` of
:meth:`~polyrelu.folds.PiecewiseLinearSurface.dependency_graph` (or one read
back from its GraphML file): nodes ``"H<order>.<i>"`` with the attributes
``order``, ``hyperplane`` and ``num_pieces``, edges from lower to higher
order.  Floats appear only as drawing positions.

A column (one canonical order) of more than ``max_column`` piecewise
hyperplanes is drawn *aggregated*: its hyperplanes are grouped by what they
depend on (the set of drawn nodes of lower order with an edge into them), one
node per group sized by its number of members, and parallel edges merge
into one whose width counts them.  On the demo model (8 + 90 piecewise
hyperplanes, 162 edges) that is 8 + 22 nodes and 40 edges.  Within each
column the nodes are ordered by the barycentre heuristic (Sugiyama et al.
1981: a few sweeps placing each node at the mean position of its
neighbours in the next column), which removes most crossings.

Examples
--------
>>> import networkx as nx
>>> G = nx.DiGraph()
>>> G.add_nodes_from(["H1.0", "H1.1"], order=1)
>>> G.add_nodes_from([f"H2.{i}" for i in range(5)], order=2)
>>> G.add_edges_from([("H1.0", "H2.0"), ("H1.0", "H2.1"), ("H1.1", "H2.2")])
>>> L = dependency_layout(G, max_column=3)      # order 2 has 5 > 3: grouped
>>> [(n.key, n.members) for n in L.nodes if n.order == 2]
[('H2[0]', ('H2.0', 'H2.1')), ('H2[1]', ('H2.3', 'H2.4')), ('H2.2', ('H2.2',))]
>>> L.edges                                   # H1.0 -> H2.0 and H1.0 -> H2.1 merged
(('H1.0', 'H2[0]', 2), ('H1.1', 'H2.2', 1))
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["GraphNode", "GraphLayout", "dependency_layout", "as_dependency_graph",
           "write_dependency_graph_html"]

#: columns with more piecewise hyperplanes than this are drawn aggregated
MAX_COLUMN = 24


@dataclass(frozen=True)
class GraphNode:
    """One drawn node: a piecewise hyperplane, or a group of those of one
    order that depend on the same drawn nodes.

    Attributes
    ----------
    key : str
        The hyperplane's name, or ``"H<order>[<i>]"`` for a group.
    order : int
        Canonical order (the column).
    members : tuple of str
        Names of the piecewise hyperplanes drawn as this node.
    x, y : float
        Position: ``x`` the column (the order), ``y`` in ``[0, 1]`` (top 1).
    """

    key: str
    order: int
    members: tuple
    x: float
    y: float


@dataclass(frozen=True)
class GraphLayout:
    """A layered drawing of a dependency graph.

    Attributes
    ----------
    nodes : tuple of GraphNode
        By column, top to bottom.
    edges : tuple of tuple
        ``(source key, target key, number of dependency edges)``.
    orders : tuple of int
        The canonical orders, one per column.
    aggregated : tuple of int
        The orders whose columns are drawn as groups.
    """

    nodes: tuple
    edges: tuple
    orders: tuple
    aggregated: tuple

    def node(self, key: str) -> GraphNode:
        """The drawn node called ``key``."""
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(key)


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(name))]


def as_dependency_graph(obj: Any, budget: Any = None):
    """The ``networkx.DiGraph`` of a fold surface (decided within ``budget``,
    a :class:`~polyrelu.budget.Budget`, if given), or ``obj`` itself when it
    is one already (e.g. read with ``networkx.read_graphml``)."""
    import networkx as nx

    if isinstance(obj, nx.DiGraph):
        return obj
    return obj.dependency_graph(budget) if budget is not None else obj.dependency_graph()


def is_partial(G) -> bool:
    """Whether a dependency graph was cut short by a budget (its ``partial``
    graph attribute; GraphML files store it as a string)."""
    p = G.graph.get("partial", False)
    return p is True or str(p).lower() == "true"


def _order(G, v) -> int:
    return int(G.nodes[v].get("order", 1))


def dependency_layout(graph: Any, max_column: int = MAX_COLUMN,
                      sweeps: int = 4) -> GraphLayout:
    """Layered layout of a dependency graph, columns by canonical order.

    Parameters
    ----------
    graph : networkx.DiGraph or PiecewiseLinearSurface
        The dependency graph (or the surface that has it).
    max_column : int
        Columns with more piecewise hyperplanes are aggregated (grouped by
        the drawn nodes they depend on).
    sweeps : int
        Barycentre sweeps (down and up) ordering the nodes of each column.
    """
    G = as_dependency_graph(graph)
    orders = sorted({_order(G, v) for v in G})
    group_of: dict = {}
    members: dict = {}
    column: dict = {k: [] for k in orders}
    aggregated = []
    for k in orders:
        layer = sorted((v for v in G if _order(G, v) == k), key=_natural)
        if len(layer) <= max_column:
            for v in layer:
                group_of[v] = v
                members[v] = (v,)
                column[k].append(v)
            continue
        aggregated.append(k)
        buckets: dict = {}
        for v in layer:
            sig = tuple(sorted({group_of[p] for p in G.predecessors(v)}, key=_natural))
            buckets.setdefault(sig, []).append(v)
        # biggest groups first, then by what they depend on (stable keys)
        for i, (sig, ms) in enumerate(sorted(buckets.items(),
                                             key=lambda kv: (-len(kv[1]), _natural(kv[0])))):
            key = ms[0] if len(ms) == 1 else f"H{k}[{i}]"
            members[key] = tuple(ms)
            for v in ms:
                group_of[v] = key
            column[k].append(key)
    weight = Counter((group_of[u], group_of[v]) for u, v in G.edges())
    nbrs: dict = {key: [] for key in members}
    for (a, b), w in weight.items():
        nbrs[a].append((b, w))
        nbrs[b].append((a, w))
    pos = {key: i for k in orders for i, key in enumerate(column[k])}

    def frac(key):
        k = _order(G, members[key][0])
        n = len(column[k])
        return (pos[key] + 0.5) / n

    def reorder(k, side):
        """Sort column k by the barycentre of its neighbours in the columns
        before (side < 0) or after (side > 0) it."""
        def bary(key):
            ws = [(frac(o), w) for o, w in nbrs[key]
                  if (_order(G, members[o][0]) - k) * side > 0]
            if not ws:
                return frac(key)
            return sum(f * w for f, w in ws) / sum(w for _, w in ws)
        # keys first: list.sort empties the list while it sorts
        keys = {key: (bary(key), pos[key]) for key in column[k]}
        column[k].sort(key=keys.__getitem__)
        for i, key in enumerate(column[k]):
            pos[key] = i

    for _ in range(sweeps):
        for k in orders[1:]:
            reorder(k, -1)
        for k in reversed(orders[:-1]):
            reorder(k, +1)
    nodes = tuple(GraphNode(key, k, members[key], float(k), 1.0 - frac(key))
                  for k in orders for key in column[k])
    edges = tuple(sorted(((a, b, w) for (a, b), w in weight.items()),
                         key=lambda e: (_natural(e[0]), _natural(e[1]))))
    return GraphLayout(nodes, edges, tuple(orders), tuple(aggregated))


# ---------------------------------------------------------------------------
# interactive HTML
# ---------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
 body {{ font: 13px/1.4 system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }}
 #graph {{ flex: 1; overflow: auto; }}
 #side {{ width: 26em; padding: 0.8em 1em; border-left: 1px solid #ccc; overflow: auto; }}
 #side h1 {{ font-size: 15px; margin: 0 0 0.4em; }}
 #side code {{ font-size: 12px; word-break: break-all; }}
 .edge {{ stroke: #999; stroke-opacity: 0.45; fill: none; }}
 .edge.hot {{ stroke: #d62728; stroke-opacity: 1; stroke-width: 2; }}
 .node circle {{ stroke: #fff; stroke-width: 1; cursor: pointer; }}
 .node text {{ font-size: 10px; pointer-events: none; paint-order: stroke;
   stroke: #fff; stroke-width: 3px; }}
 .node.dim {{ opacity: 0.25; }}
 .node.hot circle {{ stroke: #d62728; stroke-width: 2.5; }}
 .head {{ font-size: 12px; font-weight: 600; }}
 input {{ width: 100%; box-sizing: border-box; margin: 0.4em 0; }}
</style></head>
<body>
<div id="graph">{svg}</div>
<div id="side">
<h1>{title}</h1>
<p>{summary}</p>
<p>Hover a node to see what it depends on (left) and what depends on it
(right); click to keep the selection; type a name to find it (or open
<code>page.html#H2.7</code>).</p>
<input id="find" placeholder="find, e.g. H2.7">
<div id="info"></div>
</div>
<script type="application/json" id="data">{data}</script>
<script>
const D = JSON.parse(document.getElementById("data").textContent);
const info = document.getElementById("info");
let pinned = null;
function esc(s) {{ return String(s).replace(/[&<>"]/g, c => ({{"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;"}})[c]); }}
function show(name) {{
  document.querySelectorAll(".edge").forEach(e => e.classList.toggle("hot",
    name !== null && (e.dataset.s === name || e.dataset.t === name)));
  const near = name === null ? null : new Set([name, ...D.nodes[name].in, ...D.nodes[name].out]);
  document.querySelectorAll(".node").forEach(n => {{
    n.classList.toggle("dim", near !== null && !near.has(n.dataset.n));
    n.classList.toggle("hot", n.dataset.n === name); }});
  if (name === null) {{ info.innerHTML = ""; return; }}
  const v = D.nodes[name];
  const list = xs => xs.length ? xs.map(esc).join(", ") : "none";
  info.innerHTML = "<h1>" + esc(name) + " (order " + v.order + ")</h1>" +
    "<p><code>" + esc(v.hyperplane) + "</code></p><p>" + v.pieces + " piece(s)</p>" +
    "<p>depends on: " + list(v.in) + "</p><p>needed by: " + list(v.out) + "</p>";
}}
document.querySelectorAll(".node").forEach(n => {{
  n.addEventListener("mouseenter", () => {{ if (pinned === null) show(n.dataset.n); }});
  n.addEventListener("mouseleave", () => {{ if (pinned === null) show(null); }});
  n.addEventListener("click", () => {{ pinned = pinned === n.dataset.n ? null : n.dataset.n;
    show(pinned); }}); }});
function find(q) {{
  if (!(q in D.nodes)) return;
  pinned = q; show(q);
  document.querySelector('.node[data-n="' + CSS.escape(q) + '"]').scrollIntoView(
    {{block: "center", inline: "center"}}); }}
document.getElementById("find").addEventListener("input", e => find(e.target.value.trim()));
if (location.hash) find(decodeURIComponent(location.hash.slice(1)));
</script>
</body></html>
"""


def write_dependency_graph_html(graph: Any, path: Any,
                                title: str = "Dependency graph") -> str:
    """Write the whole dependency graph as one self-contained HTML page (an
    SVG drawing and a few lines of JavaScript; no network, no libraries).

    Every piecewise hyperplane is a node (one column per canonical order,
    ordered by the barycentre heuristic of :func:`dependency_layout`; the
    page scrolls).  Hovering
    or clicking a node highlights its edges and lists its exact hyperplane,
    its number of pieces, what it depends on and what depends on it; each
    node also carries an SVG tooltip, so the file works without scripts.

    Parameters
    ----------
    graph : networkx.DiGraph or PiecewiseLinearSurface
        The dependency graph (or the surface that has it).
    path : str or os.PathLike
        The ``.html`` file to write.
    title : str
        Page title.

    Returns
    -------
    str
        ``path``.
    """
    import os

    from .style import order_color

    G = as_dependency_graph(graph)
    L = dependency_layout(G, max_column=max(G.number_of_nodes(), 1))
    cols: dict = {}
    for n in L.nodes:
        cols.setdefault(n.order, []).append(n)
    # one column per order, each spread over the height of the tallest (as
    # in the PNG: fewer crossings than stacking from the top); the page scrolls
    dy, dx, top, left = 18, 260, 50, 40
    tallest = max((len(c) for c in cols.values()), default=1)
    span = dy * tallest
    xy = {n.key: (left + i * dx, top + (1.0 - n.y) * span)
          for i, k in enumerate(L.orders) for n in cols[k]}
    width = left + dx * max(len(L.orders) - 1, 0) + 160
    height = top + span + 20
    esc = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height:.0f}">']
    heads = [(k, len(cols[k])) for k in L.orders]
    for i, (k, n) in enumerate(heads):
        parts.append(f'<text class="head" x="{left + i * dx - 8}" y="{top - 22}" '
                     f'fill="{order_color(k)}">order {k} ({n})</text>')
    for u, v in sorted(G.edges(), key=lambda e: (_natural(e[0]), _natural(e[1]))):
        (x1, y1), (x2, y2) = xy[u], xy[v]
        mx = (x1 + x2) / 2
        parts.append(f'<path class="edge" data-s="{esc(u)}" data-t="{esc(v)}" '
                     f'd="M{x1},{y1:.1f} C{mx},{y1:.1f} {mx},{y2:.1f} {x2},{y2:.1f}"/>')
    data: dict = {"nodes": {}}
    for v in sorted(G, key=_natural):
        a = G.nodes[v]
        k = _order(G, v)
        hyp = str(a.get("hyperplane", ""))
        npieces = int(a.get("num_pieces", 0) or 0)
        cx, cy = xy[v]
        tip = f"{v} (order {k}): {hyp}; {npieces} piece(s)"
        parts.append(f'<g class="node" data-n="{esc(v)}"><title>{esc(tip)}</title>'
                     f'<circle cx="{cx}" cy="{cy:.1f}" r="6.5" fill="{order_color(k)}"/>'
                     f'<text x="{cx + 10}" y="{cy + 3.5:.1f}">{esc(v)}</text></g>')
        data["nodes"][v] = {"order": k, "hyperplane": hyp, "pieces": npieces,
                            "in": sorted(G.predecessors(v), key=_natural),
                            "out": sorted(G.successors(v), key=_natural)}
    parts.append("</svg>")
    per_order = ", ".join(f"order {k}: {n}" for k, n in heads)
    summary = (f"{G.number_of_nodes()} piecewise hyperplanes ({per_order}), "
               f"{G.number_of_edges()} edges: an edge H &rarr; K when relint H meets "
               f"cl K and order(H) &lt; order(K) (Phuong &amp; Lampert, Def. A.5).")
    if is_partial(G):
        summary += (f" <b>PARTIAL</b>: {esc(str(G.graph.get('reason') or 'cut short'))}; "
                    f"pairs not decided have no edge.")
    # "</" must not end the JSON script early
    blob = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    page = _PAGE.format(title=esc(title), svg="\n".join(parts), summary=summary, data=blob)
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _label(node: GraphNode) -> Optional[str]:
    """Text beside a drawn group: its size and first members."""
    if len(node.members) == 1:
        return None
    names = ", ".join(node.members[:3])
    more = f", ... ({len(node.members)})" if len(node.members) > 3 else ""
    return names + more
