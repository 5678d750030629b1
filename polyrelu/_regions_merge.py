"""Private helper of :mod:`polyrelu.regions`: the linear merge by exact map
keys.

Two activation regions join into one linear region only when their affine
maps are equal, so the merge groups regions by a **key** of the map first and
tests adjacency only inside a group.  The key is the network's augmented map
``[M | c]`` on the region reduced modulo primes ``p`` (:class:`MapKeys`): the
map is a product of the layers' rational weights and the pieces' slopes, and
reduction mod ``p`` (a ring homomorphism on the rationals whose denominators
``p`` does not divide) sends equal maps to equal residues.  Different keys
therefore prove different maps; equal keys are compared exactly afterwards
(a collision, probability about ``n / p^2`` per pair, costs an exact
comparison, never a wrong answer).  The residues are computed in float64
(exact integers: see :data:`PRIMES`).

:func:`count_streaming` counts linear regions while the regions stream: a
region whose key is new is kept only as its packed pattern; when a second
region arrives with the same key the group's regions are kept (rebuilt from
the pattern where needed) and merged at the end with the exact adjacency of
:mod:`polyrelu.regions`.  Most regions of a generic network have a map of
their own, so memory stays O(keys), not O(regions with their exact data).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Optional

import numpy as np

__all__ = ["MapKeys", "count_streaming", "group_components"]

#: primes below 2**20: a sum of ``n`` products of two residues is below
#: ``n 2**40``, exact in float64 (BLAS) for layers of up to ``2**13`` inputs;
#: wider layers use int64 (exact up to ``2**23`` inputs)
PRIMES = (1048573, 1048571, 1048559, 1048549, 1048517)
#: primes per key: residues of every entry of ``[M | c]`` modulo each
NPRIMES = 3
#: regions whose keys are computed together: 64 keeps each layer's product
#: below the size where OpenBLAS goes multi-threaded (on a loaded 2-core
#: machine, 2-64-64-64: 0.40 s CPU for 18,863 keys with 64, 3.6 s with 256)
BATCH = 64


class MapKeys:
    """Keys of the affine maps of a network's patterns (module docstring).

    The maps of all primes and of a batch of patterns are computed at once
    (stacks of matrices: one small product per layer for the batch)."""

    def __init__(self, net, nprimes: int = NPRIMES) -> None:
        self.net = net
        ps = [p for p in PRIMES if self._admissible(p)][:nprimes]
        if not ps:   # pragma: no cover - denominators divisible by five primes
            raise ValueError("no admissible prime for the map keys")
        self.primes = ps
        widest = max(len(layer.W[0]) if layer.W else 0 for layer in net.layers)
        self.dtype = np.float64 if widest < 2 ** 13 else np.int64
        self.P = np.array(ps, dtype=self.dtype)[:, None, None]
        self._reduce()

    def _fracs(self):
        net = self.net
        for layer in net.layers:
            for row in layer.W:
                yield from row
            yield from layer.b
        if net.activation == "leaky_relu":
            yield Fraction(net.alpha)
        if net.input_map is not None:
            A, a = net.input_map
            for row in A:
                yield from row
            yield from a

    def _admissible(self, p: int) -> bool:
        return all(Fraction(v).denominator % p for v in self._fracs())

    def _mods(self, vals) -> np.ndarray:
        """Residues of rationals ``vals`` (any shape of nested lists) modulo
        every prime: an array with a leading axis of primes."""
        fr = [[Fraction(v) for v in row] for row in vals]
        return np.array([[[v.numerator * pow(v.denominator, -1, p) % p for v in row]
                          for row in fr] for p in self.primes], dtype=self.dtype)

    def _reduce(self) -> None:
        net = self.net
        d0 = net.input_dim
        self.layers = [(self._mods(layer.W), self._mods([layer.b])[:, 0, :])
                       for layer in net.layers]
        if net.input_map is None:
            eye = [[int(i == j) for j in range(d0)] + [0] for i in range(d0)]
            self.U0 = self._mods(eye)
        else:
            A, a = net.input_map
            self.U0 = self._mods([list(r) + [ai] for r, ai in zip(A, a)])
        pieces = range(3 if net.activation == "hard_tanh" else 2)
        aff = [net._piece_affine(q) for q in pieces]
        self.slopes = self._mods([[s for s, _ in aff]])[:, 0, :]
        self.offs = self._mods([[o for _, o in aff]])[:, 0, :]
        self.Z1 = self._pre(1, [self.U0])

    def _rem(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """``x mod P`` of non-negative integers ``x < 2**47`` held exactly in
        float64: the correctly rounded ``x / P`` lies in ``[q, q + 1)`` for
        ``x = q P + r`` (``q < 2**27``: its error is far below ``1 / P``), so
        the floor is ``q`` and ``x - q P`` is exact.  (``np.mod`` is exact
        too, and ten times slower.)"""
        if self.dtype is np.int64:
            return np.mod(x, P)
        return x - P * np.floor(x / P)

    def _pre(self, l: int, posts: list) -> np.ndarray:
        """Pre-activation maps of layer ``l`` of a batch: ``(primes, n_l, B,
        d + 1)`` (or ``(primes, n_l, d + 1)`` for layer 1 alone) -- one
        product per prime over all the batch's columns."""
        P = self.P if posts[l - 1].ndim == 3 else self.P[..., None]
        W, b = self.layers[l - 1]
        U = posts[l - 1]
        for s in self.net._skips.get(l, ()):
            U = self._rem(U + posts[s], P)
        sh = U.shape
        Z = self._rem(np.matmul(W, U.reshape(sh[0], sh[1], -1)), self.P).reshape(
            (sh[0], W.shape[1]) + sh[2:])
        if U.ndim == 4:
            Z[..., -1] = self._rem(Z[..., -1] + b[:, :, None], self.P)
        else:
            Z[..., -1] = self._rem(Z[..., -1] + b, self.P[..., 0])
        return Z

    def keys(self, patterns: list) -> list:
        """The residues of the augmented output map ``[M | c]`` of each
        pattern (bytes), computed for all patterns at once."""
        B = len(patterns)
        if not B:
            return []
        P = self.P[..., None]
        L = len(self.layers)
        k = len(self.primes)
        U0 = np.ascontiguousarray(np.broadcast_to(
            self.U0[:, :, None], (k, self.U0.shape[1], B, self.U0.shape[2])))
        posts = [U0]
        Z = self.Z1[:, :, None, :]
        for l in range(1, L):
            pc = np.array([p[l - 1] for p in patterns], dtype=np.intp).T   # (n_l, B)
            post = self._rem(self.slopes[:, pc][..., None] * Z, P)
            post[..., -1] = self._rem(post[..., -1] + self.offs[:, pc], self.P)
            posts.append(post)
            Z = self._pre(l + 1, posts)
        out = np.ascontiguousarray(Z.astype(np.int64).transpose(2, 0, 1, 3))
        return [row.tobytes() for row in out]

    def key(self, pattern) -> bytes:
        """The key of one pattern (:meth:`keys`)."""
        return self.keys([pattern])[0]


def group_components(rs: list, budget, adjacent_pairs, same_map) -> tuple[list, bool]:
    """Connected components (lists of indices into ``rs``, regions with one
    key) of the same-map adjacency of ``rs``; ``True`` when a budget cut it
    short (some pairs not joined)."""
    import networkx as nx

    if len(rs) < 2:
        return [list(range(len(rs)))], False
    H = nx.Graph()
    H.add_nodes_from(range(len(rs)))
    pairs, done = adjacent_pairs(rs, keep=same_map(rs), budget=budget, facets=False)
    H.add_edges_from((i, j) for i, j, _, _ in pairs)
    return [sorted(c) for c in nx.connected_components(H)], done < len(rs)


def _pack(pattern) -> bytes:
    return bytes([v for layer in pattern for v in layer])


def _unpack(packed: bytes, widths) -> tuple:
    out = []
    k = 0
    for w in widths:
        out.append(tuple(packed[k:k + w]))
        k += w
    return tuple(out)


def count_streaming(net, domain, regions: Iterable, budget, adjacent_pairs, same_map,
                    rebuild) -> tuple[int, int, Optional[str], dict]:
    """``(activation, linear, cut reason or None, stats)`` of a stream of
    regions (module docstring).  ``rebuild(pattern, like)`` makes the region
    of a pattern again (a group's first member, kept only as its pattern) in
    the domain of the region ``like``."""
    keys = MapKeys(net)
    widths = net.hidden_widths
    first: dict = {}     # key -> packed pattern of the group's only region
    groups: dict = {}    # key -> regions of a group of two or more
    n = 0
    batch: list = []

    def take(batch) -> None:
        for r, k in zip(batch, keys.keys([r.pattern for r in batch])):
            g = groups.get(k)
            if g is not None:
                g.append(r)
                continue
            packed = first.pop(k, None)
            if packed is None:
                first[k] = _pack(r.pattern)
            else:
                groups[k] = [rebuild(_unpack(packed, widths), r), r]

    for r in regions:
        n += 1
        batch.append(r)
        if len(batch) >= BATCH:
            take(batch)
            batch = []
    take(batch)
    linear = len(first)
    cut_groups = 0
    stats = {"keys": len(first) + len(groups), "groups": len(groups),
             "grouped_regions": sum(len(g) for g in groups.values())}
    for g in groups.values():
        if budget is not None and budget.exhausted:
            linear += len(g)
            cut_groups += 1
            continue
        comps, cut = group_components(g, budget, adjacent_pairs, same_map)
        linear += len(comps)
        cut_groups += cut
    reason = None
    if cut_groups:
        reason = (f"{budget.stop_reason()} during the linear merge ({cut_groups} of "
                  f"{len(groups)} groups of regions with one map key not merged "
                  f"completely: the linear count is an upper bound)")
    return n, linear, reason, stats
