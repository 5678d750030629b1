"""Betti numbers over GF(2) of a class region of a polyhedral partition.

The input is a partition of a convex polytope ``D`` into closed convex cells
with disjoint interiors, each cell labelled by a class.  The *class region*
``U_j`` of class ``j`` is the relative interior (in ``D``) of the union of its
cells: a tie on a facet between two cells of class ``j`` is inside, a tie with
another class is on the boundary.  Its homology is computed without
triangulating the (not face-to-face) partition:

* ``b0`` -- components of the graph of class-``j`` cells joined through
  shared facets of positive (d-1)-volume (a neighbourhood of a point of
  ``U_j`` is covered by ``j``-cells whose link is connected, so facet paths
  and paths in ``U_j`` connect the same cells);
* Alexander duality in ``S^d``: ``U_j`` is homotopy equivalent to the open
  set ``V = U_j \\ bd D`` (a collar of ``bd D``), and ``S^d \\ V = K_j u (S^d \\
  int D)`` with ``K_j`` the union of the closed cells of the other classes,
  so ``b_{d-1}(V) = b~_0(S^d \\ V)``: the components of ``K_j`` (cells joined
  when they *touch*, at a point is enough) that do not meet ``bd D`` -- the
  holes in 2-D, the cavities in 3-D;
* in 3-D, ``b1 = b0 + b2 - chi(V)`` with the Euler characteristic
  ``chi(V) = 1 + (-1)^(d+1) (chi(K_j) - chi(K_j n bd D))`` (additivity of the
  compactly supported Euler characteristic and Poincare duality for the open
  d-manifold V); ``chi`` of a union of closed convex sets is that of its
  nerve (inclusion-exclusion), so only the nonempty intersections are needed.

:func:`gf2_rank` (Gaussian elimination over GF(2) on int bit rows) gives the
Betti numbers of a small simplicial complex directly; the tests use it on a
nerve as an independent cross-check.

>>> gf2_rank([0b011, 0b110, 0b101])     # the boundary of a triangle
2
>>> simplicial_betti([(0, 1), (1, 2), (0, 2)])   # a circle
(1, 1)
"""

from __future__ import annotations

from itertools import combinations
from typing import Callable, Hashable, Iterable, Sequence

import networkx as nx

__all__ = ["gf2_rank", "simplicial_betti", "closure_euler", "nerve_euler", "components",
           "count_off_boundary"]


def gf2_rank(rows: Iterable[int]) -> int:
    """Rank over GF(2) of the matrix whose rows are the bits of ``rows``."""
    pivots: dict[int, int] = {}
    rank = 0
    for r in rows:
        while r:
            top = r.bit_length() - 1
            p = pivots.get(top)
            if p is None:
                pivots[top] = r
                rank += 1
                break
            r ^= p
    return rank


def _closure(maximal: Iterable[Iterable[Hashable]]) -> set:
    faces: set = set()
    for s in maximal:
        s = tuple(sorted(set(s), key=repr))
        for k in range(1, len(s) + 1):
            faces.update(frozenset(c) for c in combinations(s, k))
    return faces


def closure_euler(maximal: Iterable[Iterable[Hashable]]) -> int:
    """Euler characteristic of the simplicial complex spanned by ``maximal``."""
    return sum(1 if len(f) % 2 else -1 for f in _closure(maximal))


def simplicial_betti(maximal: Iterable[Iterable[Hashable]]) -> tuple:
    """Betti numbers over GF(2) of the simplicial complex spanned by the
    ``maximal`` simplices (vertex sets), ``(b0, b1, ..., b_top)``."""
    faces = _closure(maximal)
    if not faces:
        return (0,)
    top = max(len(f) for f in faces) - 1
    by_dim: list[list[frozenset]] = [[] for _ in range(top + 1)]
    for f in faces:
        by_dim[len(f) - 1].append(f)
    index = [{f: i for i, f in enumerate(fs)} for fs in by_dim]
    ranks = [0] * (top + 2)        # ranks[k] = rank of the boundary map C_k -> C_{k-1}
    for k in range(1, top + 1):
        rows = []
        for f in by_dim[k]:
            bits = 0
            for v in f:
                bits |= 1 << index[k - 1][f - {v}]
            rows.append(bits)
        ranks[k] = gf2_rank(rows)
    return tuple(len(by_dim[k]) - ranks[k] - ranks[k + 1] for k in range(top + 1))


def nerve_euler(items: Sequence[Hashable], meets: Callable[[frozenset], bool],
                pairs: Iterable[tuple]) -> int:
    """Euler characteristic of the union of closed convex sets ``items``
    (nerve theorem: that of their nerve).

    ``pairs`` are the pairs that intersect (all of them); ``meets(S)`` decides
    whether the sets in ``S`` (three or more, every proper subset already
    known to meet) have a common point.  Subsets grow level by level from
    cliques of the intersection graph, as in Apriori.
    """
    chi = len(items)
    level = {frozenset(p) for p in pairs}
    chi -= len(level)
    graph = nx.Graph()
    graph.add_nodes_from(items)
    graph.add_edges_from(tuple(p) for p in level)
    k, sign = 3, 1
    while level:
        nxt = set()
        for s in level:
            common = set.intersection(*(set(graph[v]) for v in s)) - s
            for v in common:
                t = s | {v}
                if t in nxt:
                    continue
                if all(t - {u} in level for u in t) and meets(t):
                    nxt.add(t)
        chi += sign * len(nxt)
        sign, level, k = -sign, nxt, k + 1
    return chi


def components(nodes: Iterable[Hashable], edges: Iterable[tuple]) -> list[frozenset]:
    """Connected components (networkx), largest first, ties by smallest member."""
    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    comps = [frozenset(c) for c in nx.connected_components(g)]
    comps.sort(key=lambda c: (-len(c), min(c)))
    return comps


def count_off_boundary(nodes: Iterable[Hashable], touching: Iterable[tuple],
                       on_boundary: Callable[[Hashable], bool]) -> int:
    """Components of the touching graph with no node on the domain boundary
    (the reduced b0 of ``K u (S^d \\ int D)``: Alexander duality)."""
    return sum(1 for c in components(nodes, touching) if not any(map(on_boundary, c)))
