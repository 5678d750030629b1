"""polyrelu.plot: proper colourings of region maps, the layered dependency
graph (aggregated at scale), its HTML page, and the one figure style.

Colours are read back from the drawn artists and compared along the exact
adjacency of :func:`polyrelu.regions.region_graph`; the dependency layout is
checked against the graph it draws (every node once, every edge counted).
"""

import json
import re
from html.parser import HTMLParser

import matplotlib
import networkx as nx
import pytest

import polyrelu as pr
from polyrelu.io import load_default_model
from polyrelu.network import random_network
from polyrelu.plot import (
    dependency_layout,
    linear_region_labels,
    plot_dependency_graph,
    plot_regions,
    region_coloring,
    write_dependency_graph_html,
)
from polyrelu.plot.style import FORMATS, new_figure, save_figure
from polyrelu.regions import region_graph

matplotlib.use("Agg")

BOX = pr.Polyhedron.box([-10, -10], [10, 10])


@pytest.fixture(scope="module")
def demo_regions():
    rs = list(pr.regions(load_default_model(), BOX))
    return rs, region_graph(rs)


@pytest.fixture(scope="module")
def demo_surface():
    return pr.fold_surface(load_default_model(), BOX)


def _face_colours(ax):
    (coll,) = ax.collections
    return [tuple(round(float(c), 6) for c in rgba) for rgba in coll.get_facecolors()]


def _touching_pairs(rs):
    at = {}
    for i, r in enumerate(rs):
        for v in r.vertices:
            at.setdefault(tuple(v), set()).add(i)
    return {(a, b) for s in at.values() for a in s for b in s if a < b}


def test_demo_regions_no_neighbours_share_a_colour(demo_regions):
    rs, G = demo_regions
    assert G.number_of_edges() > 300
    _, ax = new_figure()
    plot_regions(rs, ax=ax, color_by="region")
    face = _face_colours(ax)
    assert len(face) == len(rs)
    same = [(i, j) for i, j in G.edges() if face[i] == face[j]]
    assert same == [], f"{len(same)} of {G.number_of_edges()} neighbouring pairs share a colour"
    # regions meeting only at a vertex differ too (default touching=True)
    assert all(face[i] != face[j] for i, j in _touching_pairs(rs))
    # and a handful of colours suffices, not one per region
    assert 3 <= len(set(face)) <= 12


@pytest.mark.parametrize("seed", range(4))
def test_coloring_is_proper_on_random_networks(seed):
    net = random_network([2, 5, 4, 1], seed=seed)
    rs = list(pr.regions(net, pr.Polyhedron.box([-3, -3], [3, 3])))
    G = region_graph(rs)
    for touching in (False, True):
        c = region_coloring(rs, graph=G, touching=touching)
        assert all(c[i] != c[j] for i, j in G.edges())
    assert all(c[i] != c[j] for i, j in _touching_pairs(rs))
    # without the vertex rule activation regions are 2-colourable (each facet
    # flips one neuron), and DSATUR finds that
    assert len(set(region_coloring(rs, graph=G, touching=False))) <= 2


def _merging_network():
    # the second hidden unit has output weight 0: its line splits activation
    # regions without changing the map, so linear regions merge across it
    return pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, 0, "1/2"]),
                                    ([[1, 0, -2]], [0])])


def test_map_colouring_colours_linear_regions_properly():
    net = _merging_network()
    rs = list(pr.regions(net, pr.Polyhedron.box([-2, -2], [2, 2])))
    G = region_graph(rs)
    lab = linear_region_labels(rs, graph=G)
    assert len(set(lab)) < len(rs)          # the test needs merged regions
    # labels are the same-map components: adjacent regions share a label iff
    # their exact affine maps are equal
    for i, j in G.edges():
        assert (lab[i] == lab[j]) == (rs[i].affine_map == rs[j].affine_map)
    _, ax = new_figure()
    plot_regions(rs, ax=ax, color_by="map")
    face = _face_colours(ax)
    for i, j in G.edges():
        assert (face[i] == face[j]) == (lab[i] == lab[j]), (i, j)
    for i in range(len(rs)):
        for j in range(len(rs)):
            if lab[i] == lab[j]:
                assert face[i] == face[j]


def test_layout_of_the_demo_graph_is_aggregated_and_complete(demo_surface):
    G = demo_surface.dependency_graph()
    assert G.number_of_nodes() == 98
    L = dependency_layout(G)
    assert L.aggregated == (2,)
    members = [m for n in L.nodes for m in n.members]
    assert sorted(members) == sorted(G.nodes())            # every node once
    assert sum(w for _, _, w in L.edges) == G.number_of_edges()
    group = {m: n for n in L.nodes for m in n.members}
    for u, v in G.edges():
        assert (group[u].key, group[v].key) in {(a, b) for a, b, _ in L.edges}
    # a group's members depend on exactly the same drawn nodes
    for n in L.nodes:
        sigs = {frozenset(group[p].key for p in G.predecessors(m)) for m in n.members}
        assert len(sigs) == 1
    assert len(L.nodes) <= 40                              # readable: 8 + 22 here
    for n in L.nodes:
        assert n.x == n.order and 0 <= n.y <= 1


def test_small_graph_is_drawn_node_by_node():
    G = nx.DiGraph()
    G.add_nodes_from(["H1.0", "H1.1", "H1.2"], order=1)
    G.add_nodes_from(["H2.0", "H2.1"], order=2)
    G.add_nodes_from(["H3.0"], order=3)
    G.add_edges_from([("H1.0", "H2.1"), ("H1.2", "H2.0"), ("H2.0", "H3.0"),
                      ("H1.1", "H3.0")])
    L = dependency_layout(G)
    assert L.aggregated == () and {n.key for n in L.nodes} == set(G.nodes())
    assert sorted((a, b) for a, b, _ in L.edges) == sorted(G.edges())
    # the barycentre sweep puts H2.0 beside H1.2 (its only parent, the lowest)
    y = {n.key: n.y for n in L.nodes}
    assert (y["H2.0"] < y["H2.1"]) == (y["H1.2"] < y["H1.0"])
    ax = plot_dependency_graph(G)
    texts = {t.get_text() for t in ax.texts}
    assert set(G.nodes()) <= texts                        # every name drawn


def test_dependency_graph_png_and_graphml_round_trip(demo_surface, tmp_path):
    ax = plot_dependency_graph(demo_surface, title="demo")
    # drawn: one marker per layout node, counts inside the groups
    L = dependency_layout(demo_surface.dependency_graph())
    from matplotlib.collections import PathCollection

    assert len([c for c in ax.collections if isinstance(c, PathCollection)]) == len(L.nodes)
    drawn = {t.get_text() for t in ax.texts}
    for n in L.nodes:
        if len(n.members) > 1:
            assert str(len(n.members)) in drawn
    path = save_figure(ax.figure, tmp_path / "g.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # the same drawing from the GraphML file the commands write
    demo_surface.write_graphml(tmp_path / "g.graphml")
    G2 = nx.read_graphml(tmp_path / "g.graphml")
    L2 = dependency_layout(G2)
    assert [(n.key, n.members) for n in L2.nodes] == [(n.key, n.members) for n in L.nodes]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.data, self._in_data = [], None, False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_data = dict(attrs).get("id") == "data"

    def handle_data(self, data):
        if self._in_data:
            self.data = (self.data or "") + data

    def handle_endtag(self, tag):
        self._in_data = False


def test_html_page_holds_the_whole_exact_graph(demo_surface, tmp_path):
    G = demo_surface.dependency_graph()
    path = write_dependency_graph_html(G, tmp_path / "g.html", title="demo <graph>")
    text = open(path, encoding="utf-8").read()
    page = _Page()
    page.feed(text)
    data = json.loads(page.data)
    assert set(data["nodes"]) == set(G.nodes())
    for v, d in data["nodes"].items():
        assert d["hyperplane"] == G.nodes[v]["hyperplane"]       # exact strings
        assert d["order"] == G.nodes[v]["order"]
        assert sorted(d["in"]) == sorted(G.predecessors(v))
        assert sorted(d["out"]) == sorted(G.successors(v))
    edges = [a for t, a in page.tags if t == "path" and a.get("class") == "edge"]
    assert sorted((a["data-s"], a["data-t"]) for a in edges) == sorted(G.edges())
    nodes = [a for t, a in page.tags if t == "g" and a.get("class") == "node"]
    assert len(nodes) == G.number_of_nodes()
    # self-contained: nothing is fetched (the SVG namespace is only a name)
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text)
    assert "demo &lt;graph&gt;" in text and "demo <graph>" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_figure_formats_are_reproducible(fmt, tmp_path):
    magic = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}[fmt]
    outs = []
    for k in range(2):
        fig, ax = new_figure(size=(3.3, 2.5))
        ax.plot([0, 1], [0, 1], label="a line")
        ax.set_title("title")
        ax.legend()
        outs.append(open(save_figure(fig, tmp_path / f"f{k}.{fmt}"), "rb").read())
    assert outs[0].startswith(magic)
    assert outs[0] == outs[1]                     # no timestamps
    if fmt == "pdf":
        assert b"/Type3" not in outs[0] and b"/FontFile2" in outs[0]   # TrueType
    if fmt == "svg":
        assert b"<text" in outs[0]                # text kept as text


def test_save_figure_rejects_other_formats(tmp_path):
    fig, _ = new_figure()
    with pytest.raises(pr.PolyreluError, match="png, svg, pdf"):
        save_figure(fig, tmp_path / "f.jpg")
    with pytest.raises(pr.PolyreluError, match="png, svg, pdf"):
        save_figure(fig, tmp_path / "f.png", format="eps")


def test_style_is_scoped():
    """Drawing in the polyrelu style leaves the caller's matplotlib settings alone."""
    before = dict(matplotlib.rcParams)
    net = random_network([2, 3, 1], seed=0)
    plot_regions(list(pr.regions(net, pr.Polyhedron.box([-1, -1], [1, 1]))))
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()
