"""Region records of the result format: built from :class:`~polyrelu.regions.Region`
objects (their public API only) with the checker's own exact integer maps.

A record names each facet by the constraint it comes from (``[layer, neuron]``,
hard tanh ``[layer, neuron, -1 | 1]``, domain row ``[0, j]``) and gives the
vertices either as coordinates or compactly (a key per point and ``d`` facets
whose hyperplanes meet there); see :mod:`polyrelu.check` for the meaning and
the proof the checker runs.  Building a record also re-derives every vertex's
sign vector exactly, so a wrong vertex of an engine is caught here.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, -1]], [0]), ([[2]], [1])])
>>> box = pr.Polyhedron.box([-1, -1], [1, 1])
>>> b = RecordBuilder(net, box)
>>> rec = b.record(pr.region_of(net, [1, 0], box))
>>> rec["pattern"], sorted(rec["facets"])
(['1'], [[0, 0], [0, 3], [1, 0]])
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

from .. import check as _ck
from ..exceptions import PolyreluError
from ..io.jsonio import to_json_dict
from ..numbers import fraction_str

__all__ = ["RecordBuilder", "network_doc", "domain_doc", "vertex_key"]


def network_doc(net) -> dict:
    """The network's exact JSON document (the polyrelu-network format)."""
    return to_json_dict(net)


def _box_of(domain):
    """(lo, hi) if the domain's rows are exactly an axis box, else None."""
    A, b = domain.raw_inequalities
    d = domain.ambient_dim
    lo: list = [None] * d
    hi: list = [None] * d
    for a, bj in zip(A, b):
        nz = [j for j, v in enumerate(a) if v]
        if len(nz) != 1:
            return None
        j = nz[0]
        v = bj / a[j]
        if a[j] > 0:
            if hi[j] is not None:
                return None
            hi[j] = v
        else:
            if lo[j] is not None:
                return None
            lo[j] = v
    if any(v is None for v in lo + hi) or any(x >= y for x, y in zip(lo, hi)):
        return None
    return lo, hi


def domain_doc(domain, d: int) -> dict:
    """The domain's document: a box, a polyhedron (rows ``A x <= b``) or R^d."""
    if domain is None:
        return {"type": "whole-space", "dim": d}
    box = _box_of(domain)
    if box is not None:
        return {"type": "box", "lo": [fraction_str(v) for v in box[0]],
                "hi": [fraction_str(v) for v in box[1]]}
    A, b = domain.raw_inequalities
    return {"type": "polyhedron", "A": [[fraction_str(v) for v in row] for row in A],
            "b": [fraction_str(v) for v in b]}


def vertex_key(p: tuple) -> str:
    """The key of a vertex in compact records: 64 bits of BLAKE2b of its
    primitive homogeneous integer coordinates (any string works for the
    checker; equal keys must denote one point)."""
    return hashlib.blake2b(repr(p).encode(), digest_size=8).hexdigest()


class RecordBuilder:
    """Builds the records of one network on one domain (sharing integer maps
    and vertex sign vectors between consecutive regions)."""

    def __init__(self, net, domain=None, explicit: bool = True) -> None:
        self.net = net
        self.doc = network_doc(net)
        self.ddoc = domain_doc(domain, net.input_dim)
        self.cnet = _ck.Net(self.doc)
        self.cdom = _ck.Domain(self.ddoc, self.cnet.d)
        self.ck = _ck.Checker(self.cnet, self.cdom, volumes=False)
        self.explicit = explicit
        self._dom_index = {r: j for j, r in reversed(list(enumerate(self.cdom.rows)))}

    def record(self, region, inequalities: bool | None = None) -> dict:
        """The record of one bounded region (a dict of JSON values)."""
        ck, n = self.ck, self.cnet
        d = n.d
        strs = ["".join(str(p) for p in layer) for layer in region.pattern]
        pat = _ck.Pattern(n, strs, "pattern")
        Z = ck.cache.maps(pat.strs)
        A, b = region.inequalities
        rows = [_ck._primitive(_ck._int_row([-v for v in a] + [bj])[0]) for a, bj in zip(A, b)]
        V = region.vertices
        rays: tuple = ()
        if not region.bounded:
            P = region.polyhedron
            if P.lines:
                raise PolyreluError(f"the region with pattern {pat.text()} contains a line; "
                                    f"the result format records pointed regions only")
            rays = P.rays
        if not V:
            raise PolyreluError(f"the region with pattern {pat.text()} has no vertex")
        verts = []
        for k, x in enumerate(V):
            p = _ck._homogeneous(x)
            v = ck.points.get(p)
            if v is None:
                v = ck._evaluate(Z, p, pat, f"vertex {k} of region {strs}")
                ck.points[p] = v
                if len(ck.points) > 200000:
                    ck.points.clear()
            verts.append(v)
        nv = len(verts)
        for k, r in enumerate(rays):
            p = _ck._primitive(_ck._int_row(r)[0] + [0])
            verts.append(ck._evaluate(Z, p, pat, f"ray {k} of region {strs}"))
        labels = []
        tight_sets = []
        for g in rows:
            ts = [i for i, v in enumerate(verts) if sum(a * c for a, c in zip(g, v.p)) == 0]
            tight_sets.append(ts)
            labels.append(self._label(g, ts, verts, pat, Z))
        rec: dict[str, Any] = {"pattern": strs,
                               "point": [fraction_str(v) for v in region.interior_point]}
        S = n.S[n.L]
        ZL = Z[n.L]
        rec["map"] = {"M": [[fraction_str(Fraction(ZL[k][o], S)) for k in range(d)]
                            for o in range(n.widths[n.L])],
                      "c": [fraction_str(Fraction(ZL[d][o], S))
                            for o in range(n.widths[n.L])]}
        rec["facets"] = labels
        if self.explicit:
            rec["vertices"] = [[fraction_str(c) for c in x] for x in V]
        else:
            incid: list = [[] for _ in verts]
            for fi, ts in enumerate(tight_sets):
                for i in ts:
                    incid[i].append(fi)
            rec["vertex_keys"] = [vertex_key(v.p) for v in verts[:nv]]
            rec["vertex_bases"] = [self._basis(fs, rows) for fs in incid[:nv]]
        if rays:
            rec["rays"] = [[fraction_str(c) for c in r] for r in rays]
        if inequalities if inequalities is not None else self.explicit:
            rec["inequalities"] = {"A": [[fraction_str(v) for v in a] for a in A],
                                   "b": [fraction_str(v) for v in b]}
        return rec

    def _label(self, g, ts, verts, pat, Z) -> list:
        ck, n = self.ck, self.cnet
        j = self._dom_index.get(tuple(g))
        if j is not None:
            return [0, j]
        zero = ck.thresholds
        for i in ts:
            zero &= verts[i].tight
        while zero:
            top = zero.bit_length() - 1           # earliest neuron first
            zero ^= 1 << top
            tanh = n.act == "hard_tanh"
            side = 1 if tanh and top >= n.N else -1
            gpos = n.N - 1 - (top - n.N if tanh and top >= n.N else top)
            l = max(m for m in range(1, n.L) if n.off[m] <= gpos)
            k = gpos - n.off[l]
            lab = [l, k, side] if tanh else [l, k]
            try:
                bit, row, _ = ck._facet(lab, pat, Z, "facet")
            except _ck.CheckFailed:
                continue                          # constant there, or the wrong side
            if _ck._primitive(row) == tuple(g):
                return lab
        raise PolyreluError(f"internal error: facet {g} of the region with pattern "
                            f"{pat.text()} matches no neuron or domain row")

    @staticmethod
    def _basis(fs, rows) -> list:
        d = len(rows[0]) - 1
        if len(fs) == d:
            return fs
        chosen: list = []
        for f in fs:
            if _ck._rank_mod_p([rows[i] for i in chosen + [f]]) == len(chosen) + 1:
                chosen.append(f)
                if len(chosen) == d:
                    return chosen
        return fs[:d]
