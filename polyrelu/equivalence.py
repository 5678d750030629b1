"""Functional equivalence of two networks, exactly.

Two networks ``f`` and ``g`` with the same input dimension are *equivalent on a
domain D* when ``f(x) == g(x)`` for every ``x`` in ``D`` (``mode="exact"``,
``eps=0``), when ``max_k |f_k(x) - g_k(x)| <= eps`` (``eps > 0``), or when their
predicted classes agree almost everywhere (``mode="top1"``, see
:func:`equivalent`).  Every answer is decided by exact rational arithmetic:

* *equivalent* comes with a :class:`Certificate` (a permutation and positive
  scaling of every hidden layer, P&L Theorem 1 / eq. 5) when the networks are
  related by the symmetries of the architecture, or with a complete region check
  (stage 3) otherwise;
* *not equivalent* comes with a rational counterexample ``x`` and the exact
  outputs ``f(x)``, ``g(x)``.

The pipeline of :func:`equivalent`:

1. **symmetry** -- :func:`find_symmetry` on the networks as given, then on their
   :func:`reduce`-d forms (dead, constant, twin and zero-outgoing units removed).
   Two networks related by permutation and positive scaling have equal
   :func:`canonical_form`; the certificate is read off the two canonical
   forms (or found by an exact search when twin orders are ambiguous).
2. **counterexample-search** -- exact evaluation at rational points taken from
   the domain and the networks' structure (domain corners and centre, points on
   both sides of every first-layer hyperplane, random points, and points where
   a float64 evaluation *proposes* a large difference), then counterexamples
   by optimisation (:mod:`polyrelu.equivalence_search`: float gradient ascent,
   also towards the units where an aligned parameter difference matters, and
   an exact LP in the best points' cells).
3. **complete** -- enumerate the common refinement of the activation regions
   of ``f`` and ``g`` over the domain (regions of ``g`` inside each region of
   ``f``) and decide each cell exactly: the affine maps are equal (``eps=0``),
   ``max |f - g| <= eps`` by exact LP (``eps > 0``), or the decision regions
   agree (``top1``).

>>> f = Network.from_weights([([[1, 1], [1, -1]], [0, 1]), ([[1, 2]], [0])])
>>> g = Network.from_weights([([[2, -2], [3, 3]], [2, 0]), ([[1, "1/3"]], [0])])
>>> res = equivalent(f, g)
>>> res.equivalent, res.stage
(True, 'symmetry')
>>> res.certificate.permutations, res.certificate.scalings
(((1, 0),), ((Fraction(1, 3), Fraction(1, 2)),))
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterator, Optional

import gmpy2

from .budget import Budget, as_budget, check_progress
from .domains import as_domain
from .exceptions import BackendError, DomainError, NetworkError, ShapeError
from .linalg import matmul, matvec, mpq_to_fraction
from .network import Layer, Network
from .numbers import fraction_str, to_float, to_fraction
from .polyhedron import Polyhedron

__all__ = ["Certificate", "EquivalenceResult", "Reduction", "ReductionReport",
           "canonical_form", "find_symmetry", "reduce", "equivalent"]

mpq = gmpy2.mpq
_ZERO = mpq(0)
_ONE = mpq(1)

Vec = tuple[Fraction, ...]
Mat = tuple[tuple[Fraction, ...], ...]

STAGES = ("symmetry", "counterexample-search", "complete")
MODES = ("exact", "top1")
#: how stage 3 decides (:func:`_stage3_method` chooses for ``"auto"``)
STAGE3_METHODS = ("auto", "bab", "enumerate")


# --------------------------------------------------------------------------
# small exact helpers (mpq inside, Fraction outside)
# --------------------------------------------------------------------------

def _q(x: Fraction):
    return mpq(x.numerator, x.denominator)


def _qm(W: Mat) -> list[list]:
    return [[_q(v) for v in row] for row in W]


def _qv(b: Vec) -> list:
    return [_q(v) for v in b]


def _fm(W) -> Mat:
    return tuple(tuple(mpq_to_fraction(v) for v in row) for row in W)


def _fv(b) -> Vec:
    return tuple(mpq_to_fraction(v) for v in b)


def _skip_groups(net: Network) -> list[int]:
    """Representative (smallest member) of each layer 0..L-1 under skip ties.

    A skip ``k -> l`` adds ``nu_k`` to ``nu_{l-1}`` elementwise (J&V eq. 46), so
    a symmetry must permute and scale layers ``k`` and ``l-1`` identically; with
    ``k = 0`` (the input) layer ``l-1`` cannot be permuted or scaled at all.
    """
    L = net.num_layers
    parent = list(range(L))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for target, sources in net.skips:
        for s in sources:
            a, b = find(s), find(target - 1)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(L)]


def _index(i: Any) -> int:
    """A permutation entry: an int (not a bool, float or string)."""
    if isinstance(i, bool) or not isinstance(i, int):
        if hasattr(i, "__index__") and not isinstance(i, bool):
            return i.__index__()
        raise NetworkError(f"certificate: permutation entry {i!r} is not an integer")
    return i


def _homogeneous(net: Network) -> bool:
    """ReLU and leaky ReLU are positively homogeneous; hard tanh is not."""
    return net.activation in ("relu", "leaky_relu")


# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Certificate:
    """Permutations and positive scalings relating two networks (SPEC).

    Hidden unit ``i`` of layer ``l`` of ``f`` computes ``s[l][i]`` times what
    unit ``p[l][i]`` of ``g`` computes; in parameters (P&L eq. 5)
    ``W_f[l][i][j] = s[l][i] * W_g[l][p[l][i]][p[l-1][j]] / s[l-1][j]`` and
    ``b_f[l][i] = s[l][i] * b_g[l][p[l][i]]``; layer 0 (the input) has the
    identity and scale 1, the output layer has no ``p``/``s`` of its own.
    Index 0 of the tuples is hidden layer 1.

    >>> g = Network.from_weights([([[1, 2], [3, 4]], [5, 6]), ([[1, 1]], [0])])
    >>> cert = Certificate(((1, 0),), ((Fraction(2), Fraction(1, 2)),))
    >>> f = cert.apply(g)
    >>> f.layers[0].W[0], f.layers[1].W[0]
    ((Fraction(6, 1), Fraction(8, 1)), (Fraction(1, 2), Fraction(2, 1)))
    >>> cert.verify(f, g), f([1, 1]) == g([1, 1])
    (True, True)
    """

    permutations: tuple[tuple[int, ...], ...]
    scalings: tuple[tuple[Fraction, ...], ...]

    def __post_init__(self) -> None:
        try:
            perms = tuple(tuple(_index(i) for i in p) for p in self.permutations)
            rows = tuple(tuple(row) for row in self.scalings)
        except TypeError:
            raise ShapeError("certificate: permutations and scalings must be lists "
                             "(one per hidden layer) of lists") from None
        object.__setattr__(self, "scalings", rows)
        scales = tuple(tuple(to_fraction(s, f"scaling of hidden layer {l + 1}")
                             for s in row) for l, row in enumerate(self.scalings))
        object.__setattr__(self, "permutations", perms)
        object.__setattr__(self, "scalings", scales)
        if len(perms) != len(scales):
            raise ShapeError(f"certificate: {len(perms)} permutations but "
                             f"{len(scales)} scaling lists")
        for l, (p, s) in enumerate(zip(perms, scales), start=1):
            if sorted(p) != list(range(len(p))):
                raise NetworkError(f"certificate: hidden layer {l}: {list(p)} is not a "
                                   f"permutation of 0..{len(p) - 1}")
            if len(s) != len(p):
                raise ShapeError(f"certificate: hidden layer {l} has {len(p)} "
                                 f"permutation entries but {len(s)} scalings")
            bad = [i for i, v in enumerate(s) if v <= 0]
            if bad:
                raise NetworkError(f"certificate: hidden layer {l}, unit {bad[0]}: "
                                   f"scaling {s[bad[0]]} is not positive")

    @property
    def is_identity(self) -> bool:
        """True when every permutation is the identity and every scale is 1."""
        return all(p == tuple(range(len(p))) for p in self.permutations) and all(
            v == 1 for s in self.scalings for v in s)

    def permutation_matrices(self) -> tuple[Mat, ...]:
        """``P_l`` with ``(P_l v)_i = v_{p[l][i]}``, so ``W_f = M P W_g P'^T M'^{-1}``.

        >>> Certificate(((1, 0),), ((1, 1),)).permutation_matrices()[0][0]
        (Fraction(0, 1), Fraction(1, 1))
        """
        return tuple(tuple(tuple(Fraction(int(j == pi)) for j in range(len(p)))
                           for pi in p) for p in self.permutations)

    def scaling_matrices(self) -> tuple[Mat, ...]:
        """Positive diagonal ``M_l = diag(s[l])`` (P&L Theorem 1).

        >>> Certificate(((0,),), ((3,),)).scaling_matrices()
        (((Fraction(3, 1),),),)
        """
        return tuple(tuple(tuple(v if i == j else Fraction(0) for j in range(len(s)))
                           for i, v in enumerate(s)) for s in self.scalings)

    def _full(self, net: Network):
        """(p, s) per layer 0..L-1, including the input layer (``nu_0``: the
        input, or its image ``A t + a`` under an input map, never permuted)."""
        d0 = net.layers[0].in_dim
        p = [tuple(range(d0))] + list(self.permutations)
        s = [(Fraction(1),) * d0] + list(self.scalings)
        return p, s

    def _compatible(self, net: Network) -> Optional[str]:
        """Why the certificate cannot apply to ``net`` (None if it can)."""
        hw = net.hidden_widths
        if len(self.permutations) != len(hw):
            return (f"the certificate has {len(self.permutations)} hidden layers, the "
                    f"network {len(hw)}")
        for l, (p, w) in enumerate(zip(self.permutations, hw), start=1):
            if len(p) != w:
                return f"hidden layer {l}: {len(p)} entries for {w} units"
        p, s = self._full(net)
        for target, sources in net.skips:
            for k in sources:
                if p[k] != p[target - 1] or s[k] != s[target - 1]:
                    return (f"skip {k} -> {target}: layers {k} and {target - 1} must be "
                            f"permuted and scaled identically")
        if not _homogeneous(net) and any(v != 1 for row in self.scalings for v in row):
            return f"{net.activation} is not positively homogeneous: scalings must be 1"
        return None

    def apply(self, g: Network) -> Network:
        """The parameters of ``f`` computed from those of ``g`` (exact).

        Raises
        ------
        NetworkError
            When the certificate does not fit ``g`` (layer sizes, skips that tie
            layers together, a non-homogeneous activation with scales != 1).

        Examples
        --------
        >>> g = Network.from_weights([([[1], [2]], [0, 1]), ([[1, 1]], [0])])
        >>> Certificate(((1, 0),), ((1, 1),)).apply(g).layers[0].b
        (Fraction(1, 1), Fraction(0, 1))
        """
        why = self._compatible(g)
        if why is not None:
            raise NetworkError(f"certificate does not apply: {why}")
        p, s = self._full(g)
        L = g.num_layers
        layers = []
        for l in range(1, L + 1):
            W, b = g.layers[l - 1].W, g.layers[l - 1].b
            pin, sin = p[l - 1], s[l - 1]
            cols = [[row[pin[j]] / sin[j] for j in range(len(pin))] for row in W]
            if l == L:
                layers.append(Layer(tuple(tuple(r) for r in cols), tuple(b)))
            else:
                po, so = p[l], s[l]
                layers.append(Layer(tuple(tuple(so[i] * v for v in cols[po[i]])
                                          for i in range(len(po))),
                                    tuple(so[i] * b[po[i]] for i in range(len(po)))))
        return Network(tuple(layers), g.skips, g.activation, g.alpha,
                       input_map=g.input_map)

    def verify(self, f: Network, g: Network) -> bool:
        """Check exactly that the certificate maps ``g``'s parameters onto ``f``'s.

        True only when ``f`` and ``g`` have the same architecture, skips and
        activation, the certificate respects the skip ties, and every weight and
        bias satisfies the formula of the class docstring.

        >>> g = Network.from_weights([([[1], [2]], [0, 1]), ([[1, 1]], [0])])
        >>> cert = Certificate(((1, 0),), ((1, 1),))
        >>> cert.verify(cert.apply(g), g), cert.verify(g, g)
        (True, False)
        """
        if (f.widths != g.widths or f.skips != g.skips or f.activation != g.activation
                or f.alpha != g.alpha or self._compatible(g) is not None):
            return False
        return self.apply(g) == f

    def as_dict(self) -> dict:
        """Exact JSON-able form (scalings as strings like ``"3/4"``).

        >>> Certificate(((0,),), ((Fraction(1, 2),),)).as_dict()
        {'permutations': [[0]], 'scalings': [['1/2']]}
        """
        return {"permutations": [list(p) for p in self.permutations],
                "scalings": [[fraction_str(v) for v in s] for s in self.scalings]}


# --------------------------------------------------------------------------
# canonical form
# --------------------------------------------------------------------------

def _skip_involved(net: Network) -> set:
    """Layers whose units are shared with another layer through a skip: the
    skip-tied layers, the skip sources and the layers before a skip target."""
    rep = _skip_groups(net)
    out = {l for l in range(net.num_layers) if rep.count(rep[l]) > 1}
    return out | {k for _, ks in net.skips for k in ks} | {t - 1 for t, _ in net.skips}


def _null_units(net: Network) -> list[frozenset]:
    """Per layer 0..L-1, the hidden units that are identically 0 by structure.

    A unit is *null* when its bias is 0 and its incoming weights from the
    non-null units of the previous layer are 0: its pre-activation is 0
    everywhere, and relu(0) = leaky_relu(0) = hardtanh(0) = 0.  Its scale is
    then free as far as its own row is concerned (P&L eq. 5 with a zero row)
    and shows only in its outgoing column.  Layers tied by skips (and skip
    sources / the layer before a skip target) have no null units here: their
    columns are shared with another layer.
    """
    L = net.num_layers
    excluded = _skip_involved(net)
    out: list[frozenset] = [frozenset()]
    for l in range(1, L):
        if l in excluded:
            out.append(frozenset())
            continue
        W, b = net._q_layers[l - 1]
        prev = out[l - 1]
        out.append(frozenset(i for i, (row, bi) in enumerate(zip(W, b)) if not bi and
                             not any(v for j, v in enumerate(row) if j not in prev)))
    return out


def _canonical(net: Network) -> tuple[Network, list, list, bool]:
    """Canonical form, the (p, s) per layer 0..L-1 relating it to ``net`` (the
    canonical network is ``Certificate(p[1:], s[1:]).apply(net)`` with the
    weights of dead units (:func:`_dead_units`) set to 0), and whether some
    twin group could not be ordered canonically.

    Null units (:func:`_null_units`, identically 0) are left out of the keys
    of the next layer (their scale is not fixed by their zero row) and then
    ordered and scaled by :func:`_canonical_nulls`.

    Twin groups (units of one layer with equal normalised incoming rows) are
    interchangeable as far as their own layer is concerned; their order is
    fixed by their outgoing columns in the next layer.  To sort the next
    layer's rows before that order is known, each row is keyed with the
    entries of every twin block *sorted* (invariant under the unknown order);
    then the blocks are ordered by their column vectors.  Rows with equal
    keys are compared normalised (twins of the next layer differ by their
    scale).  This is canonical unless the next layer has rows with equal keys
    whose normalised rows differ inside a block, or the twins sit in skip-tied
    layers; then ``ties`` is True.
    """
    L = net.num_layers
    d0 = net.layers[0].in_dim   # nu_0 (an input map's image is not permuted)
    rep = _skip_groups(net)
    tied = {l for l in range(L) if rep.count(rep[l]) > 1}
    homog = _homogeneous(net)
    perms: list[list[int]] = [list(range(d0))]
    scales: list[list] = [[_ONE] * d0]  # mpq, the scale s[l][i]
    ties = False
    layers = []
    blocks: list[tuple[int, int]] = []  # twin blocks of the previous layer
    nulls = _null_units(net)

    def transform(l):
        W, b = net._q_layers[l - 1]
        pin, sin = perms[l - 1], scales[l - 1]
        inv = [1 / v for v in sin]
        dead = nulls[l - 1]
        # columns in canonical order of the previous layer, divided by its
        # scale; the columns of null units are irrelevant and set to 0
        return [[row[pin[j]] * inv[j] if row[pin[j]] and pin[j] not in dead else _ZERO
                 for j in range(len(pin))] + [bi] for row, bi in zip(W, b)]

    def invariant(row):
        return _invariant(row, blocks)

    for l in range(1, L + 1):
        rows = transform(l)
        if l == L:
            if blocks:
                # the output rows are not permuted: they order the last twins
                _order_blocks(blocks, perms[l - 1], scales[l - 1], rows, range(len(rows)),
                              [_ONE] * len(rows))
                rows = transform(l)
            layers.append(Layer(_fm([r[:-1] for r in rows]), _fv([r[-1] for r in rows])))
            break
        r = rep[l]
        if r != l:
            # tied by a skip to an earlier layer: same permutation and scaling
            ties = ties or bool(blocks)
            po, so = perms[r], scales[r]
            perms.append(list(po))
            scales.append(list(so))
            blocks = []
            new = [[so[i] * v for v in rows[po[i]]] for i in range(len(po))]
            layers.append(Layer(_fm([x[:-1] for x in new]), _fv([x[-1] for x in new])))
            continue
        keyed = []
        for idx, row in enumerate(rows):
            key = invariant(row)
            if homog:
                # normalise: the first nonzero entry of (w, b) gets |.| = 1
                # (inside a twin block of the previous layer: in sorted order)
                lead = next((v for v in key if v), None)
                n = abs(lead) if lead is not None else _ONE
            else:
                n = _ONE
            keyed.append((tuple(v / n for v in key) if n != 1 else tuple(key), idx, n))
        keyed.sort(key=lambda t: t[0])
        if homog and l in tied and any(not any(t[0]) for t in keyed):
            # a zero row in a skip-tied layer: its scale is not fixed here
            ties = True
        order = [t[1] for t in keyed]
        norms = [t[2] for t in keyed]
        groups = []
        start = 0
        for k in range(1, len(keyed) + 1):
            if k == len(keyed) or keyed[k][0] != keyed[start][0]:
                # null units (all-zero rows) are ordered by _canonical_nulls
                if k - start > 1 and keyed[start][1] not in nulls[l]:
                    groups.append((start, k))
                start = k
        if blocks:
            # rows with equal keys must be equal *normalised* rows (twins of
            # this layer differ by their positive scale), else the blocks'
            # order cannot be read off this layer's columns
            def normed(a):
                return [v / norms[a] for v in rows[order[a]]]

            clear = all(normed(a) == normed(c) for a, e in groups
                        for c in range(a + 1, e))
            if clear and (l - 1) not in tied:
                _order_blocks(blocks, perms[l - 1], scales[l - 1], rows, order, norms)
                rows = transform(l)
            else:
                ties = True
        perms.append(order)
        scales.append([1 / n for n in norms])
        new = [[v / n for v in rows[i]] for i, n in zip(order, norms)]
        layers.append(Layer(_fm([x[:-1] for x in new]), _fv([x[-1] for x in new])))
        blocks = groups
    if any(nulls):
        t, dead = _canonical_nulls(net, perms, scales, nulls, homog)
        ties = ties or t
        layers = _apply_q(net, perms, scales, dead)
    canon = Network(tuple(layers), net.skips, net.activation, net.alpha,
                    input_map=net.input_map)
    return canon, [tuple(p) for p in perms], scales, ties


def _invariant(row, blocks):
    """``row`` with the entries inside every twin block sorted (invariant
    under the unknown order inside the blocks)."""
    if not blocks:
        return row
    out, j = [], 0
    starts = dict(blocks)
    while j < len(row):
        if j in starts:
            out.extend(sorted(row[j:starts[j]]))
            j = starts[j]
        else:
            out.append(row[j])
            j += 1
    return out


def _dead_units(net: Network, nulls: list) -> list[frozenset]:
    """Per layer 0..L-1, the null units whose output reaches nothing: no chain
    of nonzero weights leads from them to a non-null unit or to the output."""
    L = net.num_layers
    live: list = [frozenset()] * L
    dead: list = [frozenset()] * L
    for l in range(L - 1, 0, -1):
        Wn = net._q_layers[l][0]
        m = range(len(Wn))
        seen = set(m) if l + 1 == L else (set(m) - nulls[l + 1]) | live[l + 1]
        live[l] = frozenset(i for i in nulls[l] if any(Wn[k][i] for k in seen))
        dead[l] = nulls[l] - live[l]
    return dead


def _canonical_nulls(net: Network, perms: list, scales: list, nulls: list,
                     homog: bool) -> tuple[bool, list]:
    """Order and scale the null units canonically (in place); returns whether
    some twin group stays ambiguous, and the dead units per layer.

    A null unit's row is 0 on the non-null units, so P&L eq. 5 leaves its
    scale to its other weights.  The forward pass of :func:`_canonical` gave
    the null units of a layer consecutive slots (their keys are 0).

    * Null units whose output reaches a non-null unit or the output are
      normalised by their outgoing column, last hidden layer first: in
      canonical coordinates the column of unit ``i`` of layer ``l`` is
      ``(s_{l+1}[q] W[l+1][p_{l+1}[q]][i])_q / s_i``, and ``s_i`` makes its
      first nonzero entry ``|.| = 1``.  This is the forward construction run
      backwards (columns for rows), with the same twin blocks: such units of
      layer ``l+1`` with equal normalised columns are ordered by the entries
      of layer ``l``'s columns.
    * *Dead* units (:func:`_dead_units`) change nothing downstream; their
      weights are zeroed in the canonical form (scale 1, after the others),
      and :func:`find_symmetry` matches them by an exact search.
    """
    L = net.num_layers
    Q = net._q_layers
    dead = _dead_units(net, nulls)
    slots = {l: sorted(q for q in range(len(perms[l])) if perms[l][q] in nulls[l])
             for l in range(1, L) if nulls[l]}
    for sl in slots.values():
        assert sl == list(range(sl[0], sl[0] + len(sl)))
    ties = False
    # units of a layer that are identical in the canonical form without the
    # null units' weights (equal rows, equal outgoing columns) were left in
    # an arbitrary order: the null columns feeding them order them
    bare = _apply_q(net, perms, scales, nulls)
    involved = _skip_involved(net)

    def identical(m: int) -> list:
        sig = [(bare[m - 1].W[q], bare[m - 1].b[q], tuple(r[q] for r in bare[m].W))
               for q in range(len(perms[m]))]
        runs, s0 = [], 0
        for q in range(1, len(sig) + 1):
            if q == len(sig) or sig[q] != sig[s0] or perms[m][q] in nulls[m]:
                if q - s0 > 1 and perms[m][s0] not in nulls[m]:
                    runs.append((s0, q))
                s0 = q
        return runs

    nblocks: list = []          # twin blocks of the live null units of layer l+1
    for l in range(L - 1, 0, -1):
        A = nulls[l] - dead[l]
        if A and l + 1 < L:
            same = identical(l + 1)
            if l + 1 in involved:
                # reordering a skip-tied layer would break its tie
                ties = ties or bool(same)
            else:
                nblocks = nblocks + same
        if l in slots:
            base = slots[l][0] + len(A)
            for k, i in enumerate(sorted(dead[l])):
                perms[l][base + k] = i
                scales[l][base + k] = _ONE
        if not A:
            nblocks = []
            continue
        Wn = Q[l][0]
        m = len(Wn)
        skip: frozenset[int]
        if l + 1 == L:
            po, so, skip = list(range(m)), [_ONE] * m, frozenset()
        else:
            po, so, skip = perms[l + 1], scales[l + 1], dead[l + 1]
        cols = {i: [so[q] * Wn[po[q]][i] if po[q] not in skip else _ZERO
                    for q in range(m)] for i in A}
        keyed = []
        for i in sorted(A):
            key = _invariant(cols[i], nblocks)
            lead = next((x for x in key if x), None)
            n = abs(lead) if homog and lead is not None else _ONE
            keyed.append((tuple(x / n for x in key), i, n))
        keyed.sort(key=lambda t: t[0])
        groups, start = [], 0
        for k in range(1, len(keyed) + 1):
            if k == len(keyed) or keyed[k][0] != keyed[start][0]:
                if k - start > 1:
                    groups.append((start, k))
                start = k
        if nblocks:
            def normed(a):
                _, i, n = keyed[a]
                return [x / n for x in cols[i]]

            if all(normed(a) == normed(c) for a, e in groups for c in range(a + 1, e)):
                for a, e in nblocks:
                    def ent(q):
                        return tuple(cols[i][q] / n for _, i, n in keyed)

                    idx = sorted(range(a, e), key=ent)
                    po[a:e] = [po[q] for q in idx]
                    so[a:e] = [so[q] for q in idx]
            else:
                ties = True
        base = slots[l][0]
        for k, (_, i, n) in enumerate(keyed):
            perms[l][base + k] = i
            scales[l][base + k] = n
        nblocks = [(base + a, base + e) for a, e in groups]
    return ties, dead


def _apply_q(net: Network, perms: list, scales: list, dead=None) -> list:
    """``Certificate(perms[1:], scales[1:]).apply(net)``'s layers (mpq inside),
    with every weight of the ``dead`` units (per layer, original indices) 0."""
    L = net.num_layers
    layers = []
    for l in range(1, L + 1):
        W, b = net._q_layers[l - 1]
        pin, sin = perms[l - 1], scales[l - 1]
        inv = [1 / v for v in sin]
        din = dead[l - 1] if dead else frozenset()
        cols = [[row[pin[j]] * inv[j] if pin[j] not in din else _ZERO
                 for j in range(len(pin))] for row in W]
        if l == L:
            layers.append(Layer(_fm(cols), _fv(b)))
        else:
            po, so = perms[l], scales[l]
            dl = dead[l] if dead else frozenset()
            rows = [[_ZERO] * len(pin) if po[i] in dl else [so[i] * v for v in cols[po[i]]]
                    for i in range(len(po))]
            layers.append(Layer(_fm(rows), _fv([so[i] * b[po[i]] for i in range(len(po))])))
    return layers


def _order_blocks(blocks, pin, sin, rows, order, norms) -> None:
    """Sort the columns inside each twin block by their (normalised) column
    vectors over the next layer's rows in canonical order (in place)."""
    for a, e in blocks:
        def col(j):
            return tuple(rows[i][j] / n for i, n in zip(order, norms))

        idx = sorted(range(a, e), key=col)
        pin[a:e] = [pin[j] for j in idx]
        sin[a:e] = [sin[j] for j in idx]


def canonical_form(net: Network) -> Network:
    """An exact normal form of ``net`` modulo neuron permutation and positive scaling.

    Layer by layer, the columns are first put in the canonical order of the
    previous layer (and divided by its scales); then each hidden unit's incoming
    row ``(w, b)`` is scaled by a positive rational so that its first nonzero
    entry has absolute value 1 (exact and cheap), the inverse scale is pushed
    into the next layer's columns (P&L eqs. 3-4), and the units are sorted by
    their normalised row (P&L eqs. 1-2).  The result computes the same function.

    * Skips ``k -> l`` tie layers ``k`` and ``l-1``: they share one permutation
      and scaling, fixed by the lowest layer of the tied group; a skip from the
      input freezes layer ``l-1`` (no permutation, no scaling).
    * Leaky ReLU is positively homogeneous and treated like ReLU.  Hard tanh is
      not: only permutations are symmetries, rows are sorted unscaled.
    * Two networks related by permutation and positive scaling have equal
      canonical forms.  *Twin* units (positively proportional incoming rows,
      which :func:`reduce` merges) are interchangeable in their own layer and
      are ordered by their outgoing columns; the next layer's rows are sorted
      first with each twin block's entries in sorted order, and compared
      normalised (twins in consecutive layers).  The case left open: rows of
      the next layer that are *different* but equal up to a reordering inside
      a twin block, or twins in skip-tied layers -- then the order inside the
      twin group is not canonical (:func:`find_symmetry` then searches).
    * *Null* units, whose pre-activation is 0 by structure (bias 0, incoming
      weights only from null units), output 0 for every activation here, so
      their row does not fix their scale: they are normalised by their
      outgoing column instead (last layer first).  Null units whose output
      reaches nothing (*dead*) have all their weights set to 0 in the
      canonical form -- so it is a normal form modulo permutation, positive
      scaling and the (irrelevant) weights of dead units, and still computes
      the same function.

    >>> a = Network.from_weights([([[2, 4], [-1, 1]], [2, 0]), ([[1, 3]], [0])])
    >>> b = Network.from_weights([([[-3, 3], [1, 2]], [0, 1]), ([[1, 2]], [0])])
    >>> canonical_form(a) == canonical_form(b)
    True
    >>> canonical_form(a).layers[0].W
    ((Fraction(-1, 1), Fraction(1, 1)), (Fraction(1, 1), Fraction(2, 1)))
    """
    if not isinstance(net, Network):
        raise NetworkError(f"canonical_form expects a Network, got {type(net).__name__}")
    return _canonical(net)[0]


class _Ratios:
    """Union-find over positive scales with exact ratios and an undo trail.

    ``relate(x, y, r)`` records ``s_x = r * s_y``; it is False when that
    contradicts what is recorded.  The node ``_ROOT`` has scale 1 (the input
    units, the output units, and every unit of a non-homogeneous network).
    """

    def __init__(self) -> None:
        self.parent: dict = {}
        self.ratio: dict = {}           # s_x = ratio[x] * s_parent[x]
        self.size: dict = {}
        self.trail: list = []

    def find(self, x):
        r = Fraction(1)
        while x in self.parent:
            r *= self.ratio[x]
            x = self.parent[x]
        return x, r

    def relate(self, x, y, rho: Fraction) -> bool:
        (rx, a), (ry, b) = self.find(x), self.find(y)
        if rx == ry:
            return a == rho * b
        # s_rx = (rho * b / a) s_ry; the root node _ROOT stays a root
        t = rho * b / a
        if rx == _ROOT or (ry != _ROOT and self.size.get(rx, 1) > self.size.get(ry, 1)):
            rx, ry, t = ry, rx, 1 / t
        self.parent[rx] = ry
        self.ratio[rx] = t
        self.size[ry] = self.size.get(ry, 1) + self.size.get(rx, 1)
        self.trail.append((rx, ry))
        return True

    def undo(self, mark: int) -> None:
        while len(self.trail) > mark:
            rx, ry = self.trail.pop()
            del self.parent[rx], self.ratio[rx]
            self.size[ry] -= self.size.get(rx, 1)


_ROOT = "1"


class _Budget(Exception):
    pass


def _search_symmetry(f: Network, g: Network, first: list, budget: int
                     ) -> Optional[Certificate]:
    """Exact backtracking search for a certificate.

    Units are assigned layer by layer (a layer tied by skips takes the
    permutation and scales of the lowest layer of its group); ``f``'s unit
    ``i`` may take ``g``'s unit
    ``j`` when every weight of its row (to the already assigned previous
    layer), its bias and, in the last hidden layer, its output column agree
    with ``j``'s up to the positive ratios of P&L eq. 5, kept consistent by a
    union-find over the scales (:class:`_Ratios`).  A scale that no nonzero
    weight pins (a unit that is 0 and feeds nothing) is set to 1.  ``first``
    (per hidden layer, a proposed permutation) is tried first.  Raises
    :class:`_Budget` after ``budget`` candidate checks.
    """
    L = f.num_layers
    if f.layers[-1].b != g.layers[-1].b:
        return None
    homog = _homogeneous(f)
    Wf = [layer.W for layer in f.layers]
    Wg = [layer.W for layer in g.layers]
    bf = [layer.b for layer in f.layers]
    bg = [layer.b for layer in g.layers]
    R = _Ratios()
    widths = f.widths
    # layer 0 is nu_0 (an input map's image has layer 1's columns, not t's)
    p: list = [list(range(f.layers[0].in_dim))] + [[-1] * w for w in widths[1:L]]
    # a skip k -> l ties layers k and l-1: one permutation and one scaling for
    # the tied group, that of its lowest layer (the input: identity, scale 1)
    rep = _skip_groups(f)

    def node(l, i):
        r = rep[l]
        return _ROOT if (r == 0 or not homog) else (r, i)

    def pair(a, b, x, y) -> bool:
        """The weights a (of f) and b (of g) with s_x / s_y = a / b."""
        if not a or not b:
            return not a and not b
        rho = a / b
        return rho > 0 and R.relate(x, y, rho)

    def compatible(l, i, j) -> bool:
        x = node(l, i)
        row_f, row_g = Wf[l - 1][i], Wg[l - 1][j]
        for c, a in enumerate(row_f):
            if not pair(a, row_g[p[l - 1][c]], x, node(l - 1, c)):
                return False
        if not pair(bf[l - 1][i], bg[l - 1][j], x, _ROOT):
            return False
        if l == L - 1:
            # output rows are not permuted: W_f[L][k][i] = W_g[L][k][j] / s_i
            for k in range(widths[L]):
                if not pair(Wg[L - 1][k][j], Wf[L - 1][k][i], x, _ROOT):
                    return False
        return True

    units = [(l, i) for l in range(1, L) for i in range(widths[l])]
    n = len(units)
    cands: list[list[int]] = []
    for l, i in units:
        if rep[l] != l:
            # tied to a lower layer, which is assigned already: its single
            # candidate is filled in when the search reaches it
            cands.append([])
            continue
        pref = first[l - 1][i] if first else 0
        cands.append([pref] + [j for j in range(widths[l]) if j != pref])
    pos = [-1] * n
    marks = [0] * n
    used: list[set[int]] = [set() for _ in range(L)]
    checks = 0
    k = 0
    while 0 <= k < n:
        l, i = units[k]
        if rep[l] != l and pos[k] < 0:
            cands[k] = [p[rep[l]][i]]
        if pos[k] >= 0:
            used[l].discard(cands[k][pos[k]])
            R.undo(marks[k])
        t = pos[k] + 1
        while t < len(cands[k]):
            j = cands[k][t]
            if j not in used[l]:
                checks += 1
                if checks > budget:
                    raise _Budget
                marks[k] = len(R.trail)
                if compatible(l, i, j):
                    break
                R.undo(marks[k])
            t += 1
        if t < len(cands[k]):
            pos[k] = t
            j = cands[k][t]
            used[l].add(j)
            p[l][i] = j
            k += 1
            if k < n:
                pos[k] = -1
        else:
            pos[k] = -1
            k -= 1
    if k < 0:
        return None
    scales = [tuple(R.find(node(l, i))[1] for i in range(widths[l])) for l in range(1, L)]
    cert = Certificate(tuple(tuple(p[l]) for l in range(1, L)), tuple(scales))
    return cert if cert.verify(f, g) else None


SEARCH_BUDGET = 200_000


def find_symmetry(f: Network, g: Network) -> Optional[Certificate]:
    """A :class:`Certificate` proving ``f`` is a permuted, positively scaled ``g``.

    The canonical forms (:func:`canonical_form`) of ``f`` and ``g`` propose
    the certificate; when they are equal but the proposal fails the exact
    check (null units whose weights only feed other dead units), or when a
    twin order was ambiguous, an exact backtracking search over the units
    (guided by the proposal, at most ``SEARCH_BUDGET`` candidate checks)
    decides.  Every returned certificate has passed :meth:`Certificate.verify`.

    Returns None when the architectures, skips or activations differ, or no
    such symmetry exists.  Guarantee: None means there is no permutation and
    positive scaling relating ``f`` and ``g`` (P&L eq. 5, skips tying layers),
    unless the search ran out of its budget -- only possible for many
    interchangeable units whose order the canonical forms could not fix.
    (:func:`equivalent` also reduces the networks, merging twins and removing
    dead units, and otherwise decides by stages 2 and 3.)

    >>> g = Network.from_weights([([[1, 2], [3, -1]], [1, 0]), ([[1, -1]], [2])])
    >>> f = Certificate(((1, 0),), ((Fraction(1, 2), Fraction(4),),)).apply(g)
    >>> cert = find_symmetry(f, g)
    >>> cert.permutations, cert.scalings, cert.verify(f, g)
    (((1, 0),), ((Fraction(1, 2), Fraction(4, 1)),), True)
    """
    for net in (f, g):
        if not isinstance(net, Network):
            raise NetworkError(f"find_symmetry expects Networks, got "
                               f"{type(net).__name__}")
    if (f.widths != g.widths or f.skips != g.skips or f.activation != g.activation
            or f.alpha != g.alpha):
        return None
    cf, pf, sf, tf = _canonical(f)
    cg, pg, sg, tg = _canonical(g)
    if cf != cg and not (tf or tg):
        return None
    perms, scales = [], []
    for l in range(1, f.num_layers):
        n = len(pf[l])
        p = [0] * n
        s = [Fraction(0)] * n
        for i in range(n):
            p[pf[l][i]] = pg[l][i]
            s[pf[l][i]] = mpq_to_fraction(sg[l][i] / sf[l][i])
        perms.append(tuple(p))
        scales.append(tuple(s))
    if cf == cg:
        cert = Certificate(tuple(perms), tuple(scales))
        # the canonical forms only *propose* the certificate; the exact
        # parameter check decides
        if cert.verify(f, g):
            return cert
    try:
        return _search_symmetry(f, g, perms, SEARCH_BUDGET)
    except _Budget:
        return None


# --------------------------------------------------------------------------
# domains and bounds
# --------------------------------------------------------------------------

def _as_domain(domain: Any, d: int) -> Optional[Polyhedron]:
    """None (R^d), a Polyhedron, or a pair (lo, hi) of box corners."""
    return as_domain(domain, d, who="the networks have")


def _box_of(domain: Optional[Polyhedron], d: int):
    """Exact bounding box (lo, hi) with None for unbounded sides, and whether the
    domain *is* that box (axis-aligned rows only)."""
    if domain is None:
        return [None] * d, [None] * d, True
    A, b = domain.raw_inequalities
    E, _ = domain.raw_equalities
    is_box = not E and all(sum(1 for v in row if v) <= 1 for row in A)
    lo: list = [None] * d
    hi: list = [None] * d
    if is_box:
        for row, c in zip(A, b):
            j = next((k for k, v in enumerate(row) if v), None)
            if j is None:
                continue
            bound = c / row[j]
            if row[j] > 0:
                hi[j] = bound if hi[j] is None else min(hi[j], bound)
            else:
                lo[j] = bound if lo[j] is None else max(lo[j], bound)
        return lo, hi, True
    for j in range(d):
        e = [0] * d
        e[j] = 1
        r = domain.maximize(e)
        hi[j] = r.value if r.status == "optimal" else None
        r = domain.minimize(e)
        lo[j] = r.value if r.status == "optimal" else None
    return lo, hi, False


def _interval(row, bias, lo, hi):
    """Exact bounds of ``row . u + bias`` for ``u`` in the box [lo, hi] (None = inf)."""
    zl = bias
    zh = bias
    for w, a, c in zip(row, lo, hi):
        if not w:
            continue
        if w > 0:
            zl = None if (zl is None or a is None) else zl + w * a
            zh = None if (zh is None or c is None) else zh + w * c
        else:
            zl = None if (zl is None or c is None) else zl + w * c
            zh = None if (zh is None or a is None) else zh + w * a
    return zl, zh


# --------------------------------------------------------------------------
# reduction
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Reduction:
    """One function-preserving change made by :func:`reduce`.

    ``kind`` is ``"dead"`` (never active on the domain: removed), ``"constant"``
    (constant on the domain: removed, value folded into the next bias),
    ``"twin"`` (incoming row a positive multiple ``ratio`` of unit ``into``:
    outgoing column merged into it), ``"zero-outgoing"`` (no effect downstream:
    removed), ``"linear-layer"`` (every unit affine on the domain: the layer
    was composed into the next one) or ``"identity-layer"`` (every unit in an
    identity pair ``relu(z) - relu(-z) = z``: composed into the next layer; made
    by :class:`polyrelu.reductions.IdentityPairs`).  ``layer`` and ``units`` use
    the numbering of the network the reduction was applied to (hidden layer
    ``l``, unit indices from 0).
    """

    kind: str
    layer: int
    units: tuple[int, ...]
    reason: str
    into: Optional[int] = None
    ratio: Optional[Fraction] = None

    def __str__(self) -> str:
        u = ", ".join(map(str, self.units))
        return f"layer {self.layer}: {self.kind} unit(s) {u}: {self.reason}"


@dataclass(frozen=True)
class ReductionReport:
    """What :func:`reduce` did: ``actions`` in order, architectures before/after."""

    original_architecture: str
    reduced_architecture: str
    actions: tuple[Reduction, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def counts(self) -> dict[str, int]:
        """Number of units affected per kind."""
        out: dict[str, int] = {}
        for a in self.actions:
            out[a.kind] = out.get(a.kind, 0) + len(a.units)
        return out

    def __str__(self) -> str:
        head = f"{self.original_architecture} -> {self.reduced_architecture}"
        if not self.actions:
            return head + " (unchanged)"
        return "\n".join([head] + [f"  {a}" for a in self.actions]
                         + [f"  note: {n}" for n in self.notes])


class _Work:
    """Mutable mpq copy of a network for :func:`reduce`, tracking original ids."""

    def __init__(self, net: Network):
        self.act = net.activation
        self.alpha = net.alpha
        self.skips = net.skips
        self.input_map = net.input_map
        self.d0 = net.input_dim
        self.W = [[list(r) for r in W] for W, _ in net._q_layers]
        self.b = [list(b) for _, b in net._q_layers]
        self.ids = [list(range(len(b))) for b in self.b]  # per layer 1..L
        self.layer_ids = list(range(1, net.num_layers + 1))  # original layer numbers
        rep = _skip_groups(net)
        self.pinned = {l for l in range(1, net.num_layers) if
                       any(rep[m] == rep[l] for m in range(net.num_layers) if m != l)}
        # a skip k -> m carries nu_k past the hidden layers k+1..m-1: such a
        # layer is not a cut, so emptying it does not make the network constant
        self.bypassed = {l for m, ks in net.skips for k in ks for l in range(k + 1, m)}

    @property
    def L(self) -> int:
        return len(self.W)

    def network(self) -> Network:
        layers = tuple(Layer(_fm(W), _fv(b)) for W, b in zip(self.W, self.b))
        return Network(layers, self.skips, self.act, self.alpha,
                       input_map=self.input_map)

    def remove(self, l: int, i: int, const=None) -> None:
        """Remove hidden unit i of layer l (index into self, 1-based layer)."""
        nxt = self.W[l]
        if const is not None and const != 0:
            self.b[l] = [bb + row[i] * const for bb, row in zip(self.b[l], nxt)]
        for row in nxt:
            del row[i]
        del self.W[l - 1][i]
        del self.b[l - 1][i]
        del self.ids[l - 1][i]


def _image_bounds(input_map, dom: Optional[Polyhedron]):
    """Exact bounds (None = unbounded) of ``A t + a`` over ``t`` in ``dom``."""
    A, a = input_map
    lo: list = []
    hi: list = []
    for row, ai in zip(A, a):
        if not any(row):
            lo.append(ai)
            hi.append(ai)
            continue
        if dom is None:
            lo.append(None)
            hi.append(None)
            continue
        mx, mn = dom.maximize(row), dom.minimize(row)
        hi.append(mx.value + ai if mx.status == "optimal" else None)
        lo.append(mn.value + ai if mn.status == "optimal" else None)
    return lo, hi


def _bounds(work: _Work, lo0, hi0, domain, exact_first: bool):
    """Exact interval bounds of every hidden pre-activation (None = unbounded).

    A skip ``k -> l`` adds ``nu_k`` to the input of layer ``l`` (J&V eq. 46),
    so the input bounds of layer ``l`` are the sums of the output bounds of
    layer ``l-1`` and of every source ``k``.  (With skips no layer is folded,
    so ``work``'s layer numbers are the original ones.)
    """
    out = []
    posts = [(lo0, hi0)]          # output bounds of layers 0..L-1
    skip_map = dict(work.skips)
    for l in range(1, work.L):
        W, b = work.W[l - 1], work.b[l - 1]
        lo, hi = posts[l - 1]
        for k in skip_map.get(l, ()):
            slo, shi = posts[k]
            lo = [None if a is None or c is None else a + c for a, c in zip(lo, slo)]
            hi = [None if a is None or c is None else a + c for a, c in zip(hi, shi)]
        zl, zh = [], []
        for row, bi in zip(W, b):
            if l == 1 and exact_first and domain is not None and any(row):
                # exact LP over a polyhedral domain (first layer is affine in x)
                obj = [mpq_to_fraction(v) for v in row]
                mx = domain.maximize(obj)
                mn = domain.minimize(obj)
                zh.append(None if mx.status != "optimal" else _q(mx.value) + bi)
                zl.append(None if mn.status != "optimal" else _q(mn.value) + bi)
            else:
                a, c = _interval(row, bi, lo, hi)
                zl.append(a)
                zh.append(c)
        out.append((zl, zh))
        nl: list[Any] = []
        nh: list[Any] = []
        for a, c in zip(zl, zh):
            x, y = _act_interval_work(work, a, c)
            nl.append(x)
            nh.append(y)
        posts.append((nl, nh))
    return out


def _act_interval_work(work: _Work, a, c):
    if work.act == "relu":
        return (a if a is not None and a > 0 else _ZERO), (None if c is None else
                                                           (c if c > 0 else _ZERO))
    if work.act == "leaky_relu":
        al = _q(work.alpha)
        g = lambda v: None if v is None else (v if v >= 0 else al * v)  # noqa: E731
        if al >= 0:                     # monotone: the image of [a, c] is [g(a), g(c)]
            return g(a), g(c)
        # alpha < 0: g(v) = |alpha| |v| for v < 0, v for v >= 0 -- decreasing, then
        # increasing, minimum 0 at v = 0 (None = unbounded)
        if a is not None and a >= 0:
            return a, c
        if c is not None and c <= 0:
            return g(c), g(a)
        return _ZERO, (None if a is None or c is None else max(c, al * a))
    return (mpq(-1) if a is None else max(mpq(-1), min(_ONE, a)),
            _ONE if c is None else max(mpq(-1), min(_ONE, c)))


def _piece_on(work: _Work, a, c):
    """(slope, offset) if the activation is affine on [a, c], else None."""
    if work.act in ("relu", "leaky_relu"):
        if a is not None and a >= 0:
            return _ONE, _ZERO
        if c is not None and c <= 0:
            return (_ZERO if work.act == "relu" else _q(work.alpha)), _ZERO
        return None
    if c is not None and c <= -1:
        return _ZERO, mpq(-1)
    if a is not None and a >= 1:
        return _ZERO, _ONE
    if a is not None and c is not None and a >= -1 and c <= 1:
        return _ONE, _ZERO
    return None


def _constant_network(net: Network, x) -> Network:
    out = net(x)
    d0 = net.input_dim
    return Network((Layer(tuple((Fraction(0),) * d0 for _ in out), tuple(out)),),
                   (), net.activation, net.alpha)


def reduce(net: Network, domain: Any = None) -> tuple[Network, ReductionReport]:
    """An exactly function-preserving smaller network on ``domain``, and a report.

    Repeated until nothing changes:

    * **dead / constant units**: exact interval bounds of every pre-activation
      are propagated from the domain's bounding box (the first layer uses an
      exact LP over a non-box polyhedral domain; ``domain=None`` = R^d gives no
      bounds, so only structural cases such as a zero row count).  A ReLU unit
      with ``z <= 0`` on the domain is dead and removed; a unit whose output is
      constant (``w = 0``; hard tanh saturated) is removed and its value times
      its outgoing column added to the next bias.
    * **twins**: ``(w, b)_j = c (w, b)_i`` with ``c > 0`` gives
      ``relu(z_j) = c relu(z_i)`` (leaky ReLU too; hard tanh needs ``c = 1``):
      column ``i`` += ``c`` column ``j``, unit ``j`` removed.
    * **zero outgoing**: a unit whose outgoing column is zero is removed.
    * **linear layers**: if *every* unit of a hidden layer is affine on the
      domain (always active, or a fixed piece), the layer is composed exactly
      into the next one.  A single always-active unit cannot be folded: its
      output ``w.u + b`` is affine in the layer's *input*, which the next layer
      does not receive (no skip), so it is kept.

    Layers tied by skip connections keep their width (skips need equal widths)
    and are left unchanged; linear-layer folding is done only without skips.
    Pre-activation bounds of a skip target add the bounds of the skipped
    layers' outputs (J&V eq. 46).  A hidden layer whose units are all removed
    makes the network constant on the domain -- unless a skip bypasses the
    layer, which then keeps one unit; a constant network is returned as a
    single affine layer ``0 x + c``.

    >>> net = Network.from_weights([([[1, 1], [2, 2], [0, 0], [1, -1]], [0, 0, -1, 5]),
    ...                             ([[1, 1, 7, 0]], [0])])
    >>> red, rep = reduce(net)
    >>> red.architecture, [a.kind for a in rep.actions]
    ('2-1-1', ['dead', 'zero-outgoing', 'twin'])
    >>> red([3, -2]) == net([3, -2])
    True
    """
    if not isinstance(net, Network):
        raise NetworkError(f"reduce expects a Network, got {type(net).__name__}")
    dom = _as_domain(domain, net.input_dim)
    lo0, hi0, is_box = _box_of(dom, net.input_dim)
    if net.input_map is not None:
        # nu_0 = A t + a (a slice through input skips): bounds of nu_0, exactly;
        # the first layer's rows are over nu_0, so no first-layer LP over t
        lo0, hi0 = _image_bounds(net.input_map, dom)
        is_box = True
    lo0 = [None if v is None else _q(v) for v in lo0]
    hi0 = [None if v is None else _q(v) for v in hi0]
    work = _Work(net)
    actions: list[Reduction] = []
    notes: list[str] = []
    if work.pinned:
        notes.append("layers " + ", ".join(map(str, sorted(work.pinned)))
                     + " are tied by skip connections and were not reduced")
    any_point = dom.interior_point() if dom is not None else (Fraction(0),) * net.input_dim

    changed = True
    while changed:
        changed = False
        bounds = _bounds(work, lo0, hi0, dom, not is_box)
        # 1. dead and constant units
        for l in range(work.L - 1, 0, -1):
            if l in work.pinned:
                continue
            zl, zh = bounds[l - 1]
            W = work.W[l - 1]
            dead, const = [], []
            for i in range(len(W)):
                piece = _piece_on(work, zl[i], zh[i])
                if piece is None:
                    continue
                slope, off = piece
                if not any(W[i]):  # constant pre-activation b: constant output
                    value = slope * work.b[l - 1][i] + off
                    (const.append((i, value)) if value else dead.append(i))
                elif slope == 0:
                    (const.append((i, off)) if off else dead.append(i))
            kill = sorted([i for i in dead] + [i for i, _ in const], reverse=True)
            if len(kill) == len(W) and l in work.bypassed:
                # keep one unit: a layer cannot be empty, and a skip bypasses it
                keep = kill.pop()
                dead = [i for i in dead if i != keep]
                const = [(i, v) for i, v in const if i != keep]
            if not kill:
                continue
            if len(kill) == len(W):
                red = _constant_network(net, any_point)
                actions.append(Reduction("constant", work.layer_ids[l - 1],
                                         tuple(work.ids[l - 1]),
                                         "every unit of the layer is constant on the "
                                         "domain: the network is constant"))
                return red, ReductionReport(net.architecture, red.architecture,
                                            tuple(actions), tuple(notes))
            cmap = dict(const)
            if dead:
                actions.append(Reduction(
                    "dead", work.layer_ids[l - 1], tuple(work.ids[l - 1][i] for i in dead),
                    "output 0 on the domain (exact pre-activation bounds, or a zero "
                    "row with bias <= 0)"))
            if const:
                actions.append(Reduction(
                    "constant", work.layer_ids[l - 1],
                    tuple(work.ids[l - 1][i] for i, _ in const),
                    "output constant on the domain, folded into the next bias"))
            for i in kill:
                work.remove(l, i, cmap.get(i))
            changed = True
        if changed:
            continue
        # 2. zero outgoing columns
        for l in range(1, work.L):
            if l in work.pinned:
                continue
            nxt = work.W[l]
            zero = [i for i in range(len(work.b[l - 1])) if not any(r[i] for r in nxt)]
            if len(zero) == len(work.b[l - 1]) and l in work.bypassed:
                zero = zero[1:]   # keep one unit: a skip bypasses the layer
            if not zero:
                continue
            if len(zero) == len(work.b[l - 1]):
                red = _constant_network(net, any_point)
                actions.append(Reduction("zero-outgoing", work.layer_ids[l - 1],
                                         tuple(work.ids[l - 1]),
                                         "no unit of the layer reaches the output: "
                                         "the network is constant"))
                return red, ReductionReport(net.architecture, red.architecture,
                                            tuple(actions), tuple(notes))
            actions.append(Reduction("zero-outgoing", work.layer_ids[l - 1],
                                     tuple(work.ids[l - 1][i] for i in zero),
                                     "outgoing weights are all zero"))
            for i in reversed(zero):
                work.remove(l, i)
            changed = True
        if changed:
            continue
        # 3. twins (positively proportional incoming rows)
        homog = work.act != "hard_tanh"
        for l in range(1, work.L):
            if l in work.pinned:
                continue
            seen: dict = {}
            merges = []
            for i, (row, bi) in enumerate(zip(work.W[l - 1], work.b[l - 1])):
                full = row + [bi]
                lead = next((v for v in full if v), None)
                if lead is None:
                    continue
                n = abs(lead) if homog else _ONE
                key = tuple(v / n for v in full)
                if key in seen:
                    i0, n0 = seen[key]
                    merges.append((i, i0, n / n0))
                else:
                    seen[key] = (i, n)
            if not merges:
                continue
            for j, i0, c in merges:
                actions.append(Reduction(
                    "twin", work.layer_ids[l - 1], (work.ids[l - 1][j],),
                    f"incoming (w, b) is {fraction_str(mpq_to_fraction(c))} times that "
                    f"of unit {work.ids[l - 1][i0]}", into=work.ids[l - 1][i0],
                    ratio=mpq_to_fraction(c)))
                for row in work.W[l]:
                    if row[j]:
                        row[i0] += c * row[j]
                        row[j] = _ZERO
            for j, _, _ in sorted(merges, reverse=True):
                work.remove(l, j)
            changed = True
        if changed:
            continue
        # 4. linear layers (only without skips)
        if not work.skips:
            for l in range(1, work.L):
                zl, zh = bounds[l - 1]
                pieces = [_piece_on(work, a, c) for a, c in zip(zl, zh)]
                if any(p is None for p in pieces):
                    continue
                Wl, bl = work.W[l - 1], work.b[l - 1]
                Wn, bn = work.W[l], work.b[l]
                # nu = diag(a) (W u + b) + o ; z' = Wn nu + bn
                A = [[a * v for v in row] for (a, _), row in zip(pieces, Wl)]
                c = [a * bi + o for (a, o), bi in zip(pieces, bl)]
                newW = [[sum((r[k] * A[k][j] for k in range(len(A)) if r[k]), _ZERO)
                         for j in range(len(Wl[0]))] for r in Wn]
                newb = [bb + sum((r[k] * c[k] for k in range(len(c)) if r[k]), _ZERO)
                        for r, bb in zip(Wn, bn)]
                actions.append(Reduction(
                    "linear-layer", work.layer_ids[l - 1], tuple(work.ids[l - 1]),
                    f"every unit is affine on the domain: composed into layer "
                    f"{work.layer_ids[l]}"))
                work.W[l - 1:l + 1] = [newW]
                work.b[l - 1:l + 1] = [newb]
                work.ids[l - 1:l + 1] = [work.ids[l]]
                work.layer_ids[l - 1:l + 1] = [work.layer_ids[l]]
                changed = True
                break
    red = work.network() if actions else net
    return red, ReductionReport(net.architecture, red.architecture, tuple(actions),
                                tuple(notes))


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class EquivalenceResult:
    """The answer of :func:`equivalent`.

    Attributes
    ----------
    equivalent : bool or None
        True / False, or None when a limit stopped stage 3 (``partial``).
    stage : str
        ``"symmetry"``, ``"counterexample-search"`` or ``"complete"``.
    certificate : Certificate or None
        Stage 1 only.  It relates the networks as given when
        ``certificate_for == "original"``, and the *reduced* networks
        (``reduced``) when ``certificate_for == "reduced"``.
    counterexample : tuple of Fraction or None
        A rational input in the domain where the networks differ.
    outputs : tuple or None
        ``(f(x), g(x))``: exact outputs of the *original* networks at the
        counterexample.
    difference : tuple of Fraction or None
        ``f(x) - g(x)`` at the counterexample.
    partial : bool
        True when a limit (``max_regions``, ``time_limit``, an interrupt)
        stopped the check; ``reason`` then says which (``"interrupted"`` for
        an interrupt).
    timings : dict
        Seconds per stage that ran.
    """

    equivalent: Optional[bool]
    stage: str
    certificate: Optional[Certificate] = None
    counterexample: Optional[Vec] = None
    outputs: Optional[tuple[Vec, Vec]] = None
    difference: Optional[Vec] = None
    partial: bool = False
    timings: dict = field(default_factory=dict, compare=False, hash=False)
    mode: str = "exact"
    eps: Fraction = Fraction(0)
    certificate_for: Optional[str] = None
    reduced: Optional[tuple[Network, Network]] = field(default=None, compare=False)
    reductions: Optional[tuple[ReductionReport, ReductionReport]] = field(
        default=None, compare=False)
    regions_checked: int = 0
    message: str = ""
    reason: Optional[str] = None

    @property
    def verdict(self) -> str:
        return {True: "equivalent", False: "not equivalent", None: "undecided"}[
            self.equivalent]

    def summary(self) -> str:
        """A few human-readable lines (used by the CLI).

        >>> net = Network.from_weights([([[1]], [0]), ([[1]], [0])])
        >>> print(equivalent(net, net).summary().splitlines()[0])
        equivalent (stage: symmetry)
        """
        lines = [f"{self.verdict} (stage: {self.stage})"]
        if self.message:
            lines.append(self.message)
        if self.certificate is not None:
            lines.append(f"certificate relates the {self.certificate_for} networks")
            for l, (p, s) in enumerate(zip(self.certificate.permutations,
                                           self.certificate.scalings), start=1):
                pt = "identity" if p == tuple(range(len(p))) else str(list(p))
                st = "all 1" if all(v == 1 for v in s) else \
                    "[" + ", ".join(map(fraction_str, s)) + "]"
                lines.append(f"  hidden layer {l}: permutation {pt}")
                lines.append(f"  hidden layer {l}: scalings {st}")
        if self.counterexample is not None:
            def show(v):
                return ("[" + ", ".join(map(fraction_str, v)) + "]\n      ~ ["
                        + ", ".join(_approx(t) for t in v) + "]")

            fx, gx = self.outputs or ((), ())
            lines.append("counterexample x = " + show(self.counterexample))
            lines.append("  f(x) = " + show(fx))
            lines.append("  g(x) = " + show(gx))
            lines.append("  f(x) - g(x) = " + show(self.difference))
        if self.reductions is not None:
            for name, rep in zip("fg", self.reductions):
                if rep.changed:
                    lines.append(f"reduced {name}: {rep.original_architecture} -> "
                                 f"{rep.reduced_architecture} " + str(rep.counts()))
        if self.regions_checked:
            lines.append(f"cells checked exactly: {self.regions_checked}")
        lines.append("timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in
                                            self.timings.items()))
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-able dict; exact numbers as strings.

        >>> net = Network.from_weights([([[1]], [0]), ([[1]], [0])])
        >>> equivalent(net, net).as_dict()["verdict"]
        'equivalent'
        """
        out: dict[str, Any] = {
            "verdict": self.verdict, "equivalent": self.equivalent,
            "stage": self.stage, "mode": self.mode, "eps": fraction_str(self.eps),
            "partial": self.partial, "reason": self.reason, "message": self.message,
            "certificate": None if self.certificate is None else
            dict(self.certificate.as_dict(), relates=self.certificate_for),
            "counterexample": None if self.counterexample is None else
            [fraction_str(v) for v in self.counterexample],
            "outputs": None if self.outputs is None else
            {"f": [fraction_str(v) for v in self.outputs[0]],
             "g": [fraction_str(v) for v in self.outputs[1]]},
            "difference": None if self.difference is None else
            [fraction_str(v) for v in self.difference],
            "regions_checked": self.regions_checked,
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
        }
        if self.reductions is not None:
            out["reductions"] = {n: {"original": r.original_architecture,
                                     "reduced": r.reduced_architecture,
                                     "actions": [str(a) for a in r.actions]}
                                 for n, r in zip("fg", self.reductions)}
        return out


def _approx(t: Fraction) -> str:
    """``t`` to 6 significant digits for display (also beyond the float range)."""
    try:
        return f"{to_float(t):.6g}"
    except OverflowError:
        import decimal

        with decimal.localcontext() as ctx:
            ctx.prec = 6
            return f"{decimal.Decimal(t.numerator) / decimal.Decimal(t.denominator):.6g}"


# --------------------------------------------------------------------------
# stage 2: counterexample search
# --------------------------------------------------------------------------

def _argmax_set(v: Vec) -> frozenset:
    m = max(v)
    return frozenset(k for k, x in enumerate(v) if x == m)


def _separates(fx: Vec, gx: Vec, mode: str, eps: Fraction, strict: bool = True) -> bool:
    """Exact test: do the outputs at one point witness non-equivalence?

    For top1, ``strict`` asks for unique, different argmaxes (then the
    difference persists on a neighbourhood of any point); stage 3 points are
    interior points of a cell where the argmax *sets* are locally constant,
    so there different sets suffice.
    """
    if mode == "top1":
        a, b = _argmax_set(fx), _argmax_set(gx)
        if strict:
            return len(a) == 1 and len(b) == 1 and a != b
        return a != b
    return max(abs(x - y) for x, y in zip(fx, gx)) > eps


def _float_forward(net: Network, X):
    """float64 forward pass for *proposals* only (never decides)."""
    import numpy as np

    skips = net.skip_sources
    if net.input_map is not None:
        A, a = net.input_map
        X = X @ np.array([[to_float(v) for v in row] for row in A]).T + \
            np.array([to_float(v) for v in a])
    nus = [X]
    L = net.num_layers
    for l, layer in enumerate(net.layers, start=1):
        W = np.array([[to_float(v) for v in row] for row in layer.W])
        b = np.array([to_float(v) for v in layer.b])
        u = nus[-1]
        for s in skips.get(l, ()):
            u = u + nus[s]
        z = u @ W.T + b
        if l == L:
            return z
        if net.activation == "relu":
            nus.append(np.maximum(z, 0.0))
        elif net.activation == "leaky_relu":
            nus.append(np.where(z >= 0, z, to_float(net.alpha) * z))
        else:
            nus.append(np.clip(z, -1.0, 1.0))
    raise AssertionError("unreachable")


def _rand_frac(rng: random.Random, a, b, den: int = 64) -> Fraction:
    """A random rational in [a, b] with a small denominator."""
    t = Fraction(rng.randint(0, den), den)
    return a + (b - a) * t


def _sample_box(lo, hi, scale: Fraction):
    """Finite sampling box from the (possibly unbounded) bounding box."""
    slo, shi = [], []
    for a, c in zip(lo, hi):
        if a is None and c is None:
            a, c = -scale, scale
        elif a is None:
            a = c - 2 * scale
        elif c is None:
            c = a + 2 * scale
        slo.append(a)
        shi.append(c)
    return slo, shi


def _structural_points(nets, dom, slo, shi, centre, rng) -> list[Vec]:
    """Corners, centre and points just off every first-layer hyperplane."""
    d = len(slo)
    pts: list[Vec] = [centre]
    if d <= 6:
        for mask in range(2 ** d):
            pts.append(tuple(shi[j] if mask >> j & 1 else slo[j] for j in range(d)))
    width = min(c - a for a, c in zip(slo, shi))
    for net in nets:
        if net.num_layers < 2:
            continue
        rows = list(zip(net.layers[0].W, net.layers[0].b))
        if net.input_map is not None:   # the first layer in the input t: W (A t + a) + b
            A, a = net.input_map
            rows = [(tuple(sum(wi * A[i][j] for i, wi in enumerate(w)) for j in range(d)),
                     b + sum(wi * ai for wi, ai in zip(w, a))) for w, b in rows]
        for w, b in rows:
            ww = sum(v * v for v in w)
            if not ww:
                continue
            t = -(sum(v * c for v, c in zip(w, centre)) + b) / ww
            foot = tuple(c + t * v for c, v in zip(centre, w))
            step = width / 64 / max(abs(v) for v in w)
            for sgn in (1, -1):
                pts.append(tuple(x + sgn * step * v for x, v in zip(foot, w)))
    return pts


def _float_proposals(fr, gr, slo, shi, mode, rng, nprop: int, keep: int) -> list:
    """Points where a float64 evaluation *proposes* a large difference.

    Floats only rank candidates; the caller evaluates exactly.  When floats
    cannot represent the problem (a weight or a domain bound beyond the
    float64 range, non-finite values) there are simply no proposals, and the
    exact structural and random points still run.
    """
    import numpy as np

    try:
        lo = [to_float(a) for a in slo]
        hi = [to_float(c) for c in shi]
        if not all(math.isfinite(c - a) for a, c in zip(lo, hi)):
            return []
        X = np.array([[rng.uniform(a, c) for a, c in zip(lo, hi)] for _ in range(nprop)])
        with np.errstate(all="ignore"):
            Ff, Fg = _float_forward(fr, X), _float_forward(gr, X)
            if mode == "top1":
                score = np.where(Ff.argmax(axis=1) != Fg.argmax(axis=1), 1.0, 0.0) + \
                    np.abs(Ff - Fg).max(axis=1) * 1e-3  # float proposal ranking only
            else:
                score = np.abs(Ff - Fg).max(axis=1)
        order = np.argsort(-score)
        proposals: list[Vec] = []
        for k in order[:keep]:
            if not np.all(np.isfinite(X[k])):
                continue
            # a nearby dyadic point with a small denominator (readable, exact)
            proposals.append(tuple(Fraction(round(to_fraction(float(v)) * 1024), 1024)
                                   for v in X[k]))
        return proposals
    except (OverflowError, ValueError, FloatingPointError, ZeroDivisionError):
        return []


def _search(f, g, fr, gr, dom, mode, eps, rng, samples, budget):
    """Stage 2; returns a point ``x`` of the domain where the *original*
    networks ``f``, ``g`` differ (exactly re-checked), or None.  The reduced
    networks ``fr``, ``gr`` (equal to ``f``, ``g`` on the domain) screen."""
    d = f.input_dim
    lo, hi, _ = _box_of(dom, d)
    slo, shi = _sample_box(lo, hi, Fraction(4))
    if dom is None:
        centre = (Fraction(0),) * d
    elif all(v is not None for v in lo + hi):
        centre = tuple((a + c) / 2 for a, c in zip(lo, hi))
        if not dom.contains(centre):
            centre = dom.interior_point()
    else:
        centre = dom.interior_point()

    def inside(x):
        return dom is None or dom.contains(x)

    proposals = _float_proposals(fr, gr, slo, shi, mode, rng, max(4 * samples, 256),
                                 max(8, samples // 4))
    structural = _structural_points((fr, gr), dom, slo, shi, centre, rng)
    randoms = [tuple(_rand_frac(rng, a, c) for a, c in zip(slo, shi))
               for _ in range(samples)]
    tried = 0
    for x in proposals + structural + randoms:
        if tried >= samples + len(proposals) or budget.exhausted:
            break
        if not inside(x):
            continue
        tried += 1
        if _separates(fr(x), gr(x), mode, eps) and _separates(f(x), g(x), mode, eps):
            return x
    return None


# --------------------------------------------------------------------------
# stage 3: complete check over the common refinement of the regions
# --------------------------------------------------------------------------

def _pre_map(net: Network, posts, l):
    W, b = net.layers[l - 1].W, net.layers[l - 1].b
    U, u = posts[l - 1]
    for s in net.skip_sources.get(l, ()):
        Us, us = posts[s]
        U = tuple(tuple(a + c for a, c in zip(r1, r2)) for r1, r2 in zip(U, Us))
        u = tuple(a + c for a, c in zip(u, us))
    return matmul(W, U), tuple(v + bi for v, bi in zip(matvec(W, u), b))


def _pieces(net: Network):
    """(piece, [(a, c) rows meaning a . z <= c in the scalar z]) per piece."""
    if net.activation == "hard_tanh":
        return [(0, [(1, -1)]), (1, [(-1, 1), (1, 1)]), (2, [(-1, -1)])]
    return [(1, [(-1, 0)]), (0, [(1, 0)])]


def _split_regions(net: Network, domain: Polyhedron) -> Iterator[tuple]:
    """Fallback region enumeration by exact layer-wise splitting (small nets).

    Yields ``(polyhedron, (M, c))`` for every activation region (full-dimensional)
    of ``net`` inside ``domain``.
    """
    L = net.num_layers
    nu0 = net.input_affine      # nu_0 = A t + a (the identity without an input map)
    pieces = _pieces(net)

    def rec(P, posts, l):
        M, c = _pre_map(net, posts, l)
        if l == L:
            yield P, (M, c)
            return

        def split(Q, i, post_rows, post_c):
            if i == len(M):
                yield from rec(Q, posts + [(tuple(post_rows), tuple(post_c))], l + 1)
                return
            zero = not any(M[i])
            for piece, rows in pieces:
                if zero:
                    # constant pre-activation: pick the piece containing it (tie
                    # rules of Network._piece_at; identically-zero units inactive)
                    z = c[i]
                    want = (1 if z > 0 else 0) if net.activation != "hard_tanh" else \
                        (0 if z < -1 else 2 if z > 1 else 1)
                    if piece != want:
                        continue
                    R = Q
                else:
                    R = Q
                    for a, rhs in rows:
                        R = R.add_inequality([a * v for v in M[i]], rhs - a * c[i])
                    if not R.is_full_dimensional():
                        continue
                slope, off = net._piece_affine(piece)
                yield from split(R, i + 1, post_rows + [tuple(slope * v for v in M[i])],
                                 post_c + [slope * c[i] + off])

        yield from split(P, 0, [], [])

    yield from rec(domain, [nu0], 1)


def _regions_of(net: Network, domain: Polyhedron, budget: Budget):
    """Iterator of (polyhedron, (M, c)) and a function telling if it was partial.

    The polyhedra are the regions' minimal forms (their facet rows, from the
    vertices when the engine kept them): the same sets as ``r.polyhedron``
    with a few rows instead of one per neuron, for the LPs of the cells and
    as the domain of the inner enumeration."""
    _regions: Any
    try:
        from .regions import _minimal_polyhedron
        from .regions import regions as _regions
    except ImportError:
        _regions = None
    if _regions is None:
        return _split_regions(net, domain), (lambda: False)
    # the enumeration stops at the deadline or an interrupt; the count limit
    # of the budget is of cells, checked by the caller
    it = _regions(net, domain, budget=budget.time_only())

    def gen():
        for r in it:
            yield _minimal_polyhedron(r), r.affine_map

    return gen(), (lambda: bool(getattr(it, "partial", False)))


def _point_beyond(P: Polyhedron, x0: Vec, a: Vec, c0: Fraction, target: Fraction):
    """A point of P with ``a . x + c0 > target`` when the LP is unbounded."""
    for r in P.rays:
        ar = sum(u * v for u, v in zip(a, r))
        if ar > 0:
            v0 = sum(u * v for u, v in zip(a, x0)) + c0
            t = max(Fraction(0), (target - v0) / ar) + 1
            return tuple(x + t * v for x, v in zip(x0, r))
    for r in P.lines:
        ar = sum(u * v for u, v in zip(a, r))
        if ar:
            sgn = 1 if ar > 0 else -1
            v0 = sum(u * v for u, v in zip(a, x0)) + c0
            t = max(Fraction(0), (target - v0) / abs(ar)) + 1
            return tuple(x + sgn * t * v for x, v in zip(x0, r))
    return None


def _cell_counterexample(P: Polyhedron, mf, mg, mode: str, eps: Fraction,
                         out_dim: int) -> Optional[Vec]:
    """Exact decision on one cell where f = mf and g = mg are affine."""
    (Mf, cf), (Mg, cg) = mf, mg
    if mode == "top1":
        if out_dim == 1:
            return None
        for k in range(out_dim):
            # cell of f's class k (closed), full-dimensional?
            Pk = P
            for j in range(out_dim):
                if j != k:
                    Pk = Pk.add_inequality([a - b for a, b in zip(Mf[j], Mf[k])],
                                           cf[k] - cf[j])
            if not Pk.is_full_dimensional():
                continue
            for m in range(out_dim):
                if m == k:
                    continue
                Q = Pk
                for j in range(out_dim):
                    if j != m:
                        Q = Q.add_inequality([a - b for a, b in zip(Mg[j], Mg[m])],
                                             cg[m] - cg[j])
                if not Q.is_full_dimensional():
                    continue
                x = Q.interior_point()
                fx = tuple(sum(u * v for u, v in zip(r, x)) + ci for r, ci in zip(Mf, cf))
                gx = tuple(sum(u * v for u, v in zip(r, x)) + ci for r, ci in zip(Mg, cg))
                if _argmax_set(fx) != _argmax_set(gx):
                    return x
        return None
    x0 = None
    for k in range(out_dim):
        a = tuple(u - v for u, v in zip(Mf[k], Mg[k]))
        c0 = cf[k] - cg[k]
        if not any(a):
            if abs(c0) > eps:
                return P.interior_point()
            continue
        for sgn in (1, -1):
            obj = tuple(sgn * v for v in a)
            res = P.maximize(obj)
            if res.status == "optimal":
                if res.value + sgn * c0 > eps:
                    return res.point
            elif res.status == "unbounded":
                if x0 is None:
                    x0 = P.interior_point()
                x = _point_beyond(P, x0, obj, sgn * c0, eps)
                if x is None:
                    raise BackendError("stage 3: the LP over a cell is unbounded but "
                                       "the cell has no improving ray or line")
                return x
            else:
                # a full-dimensional cell cannot be infeasible: never skip a cell
                raise BackendError(f"stage 3: LP over a full-dimensional cell ended "
                                   f"with status {res.status!r}")
    return None


def _complete(fr, gr, dom, mode, eps, max_regions, deadline, d, progress=None,
              budget: Optional[Budget] = None):
    """Stage 3; returns (x or None, cells checked, partial, message).

    The limits are ``budget`` when given, else ``max_regions`` cells and the
    ``time.monotonic()`` ``deadline`` (``inf``: none)."""
    if budget is None:
        left = None if deadline == math.inf else max(1e-9, deadline - time.monotonic())
        budget = Budget(max_regions, left)
    D = dom if dom is not None else Polyhedron.whole_space(d)
    cells = 0
    max_regions = budget.max_regions

    def stopped():
        return "interrupted" if budget.interrupted else "stopped by the time limit"

    def why(name):
        if budget.exhausted:
            return f"{stopped()} (in the region enumeration of {name})"
        return f"region enumeration of {name} was partial"

    outer, outer_partial = _regions_of(fr, D, budget)
    for Pf, mf in outer:
        inner, inner_partial = _regions_of(gr, Pf, budget)
        for Pg, mg in inner:
            cells += 1
            if progress is not None:
                progress("stage 3 cells", cells, None)
            x = _cell_counterexample(Pg, mf, mg, mode, eps, fr.output_dim)
            if x is not None:
                return x, cells, False, ""
            if max_regions is not None and cells >= max_regions:
                return None, cells, True, f"stopped after max_regions={max_regions} cells"
            if budget.exhausted:
                return None, cells, True, stopped()
        if inner_partial():
            return None, cells, True, why("g")
    if outer_partial():
        return None, cells, True, why("f")
    return None, cells, False, ""


def _bab_box(dom: Optional[Polyhedron], d: int) -> Optional[tuple]:
    """The domain as an exact full-dimensional box ``(lo, hi)``, or None."""
    if dom is None:
        return None
    lo, hi, is_box = _box_of(dom, d)
    if not is_box or any(v is None for v in lo) or any(v is None for v in hi) or \
            any(a >= c for a, c in zip(lo, hi)):
        return None
    return tuple(lo), tuple(hi)


def _stage3_method(method: str, dom: Optional[Polyhedron], mode: str, eps: Fraction,
                   d: int, f: Optional[Network] = None, g: Optional[Network] = None) -> str:
    """The complete check stage 3 runs: ``"bab"`` or ``"enumerate"``.

    ``"auto"`` takes certified bound-and-split (:mod:`polyrelu.bab`) when the
    domain is a bounded box, ``mode="exact"``, ``eps > 0`` and ``f``, ``g``
    (the reduced networks) form a *twin* pair (same shape, close weights:
    re-exports, roundings, small edits; :func:`polyrelu.bab.make_problem`),
    else the enumeration of the regions of ``g`` inside the regions of ``f``
    (:func:`_complete`).  Without ``f``, ``g`` the choice is provisional
    (argument checking).

    Measured (2 shared cores, CPU seconds, ``benchmarks/bab.py``; enumeration
    vs bound-and-split on the same pair):

    * ACAS Xu ``.nnet`` vs its float32 re-export, eps = 1/1000 on the
      normalised box: enumeration undecided after 240 s (115 cells, issue
      15); bound-and-split has not decided it in 120 s either (1857 cells), but
      proves the larger eps of the benchmark (see ``docs/bab.rst``);
    * small random pairs (2 inputs, 2-4 units per layer) at a tight eps:
      both decide in well under a second; bound-and-split needs no region
      enumeration at all when a cell's bound closes it;
    * eps = 0 on a box: a relaxed bound is never exactly 0, so bound-and-split
      closes a cell only where every unit is stable or fixed (an exact LP on a
      region): it enumerates regions too, by splitting, and in the existing
      equivalence suite some eps = 0 pairs that enumeration decides in
      seconds did not finish in minutes; enumeration stays the default there;
    * a *pair* (shapes or weights far apart, e.g. a permuted, rescaled copy
      with one output bias moved by 1e-9, at eps = 1e-9, the exact maximum):
      the bounds of ``f`` and ``g`` are independent, so a tight eps again
      needs exact leaves -- enumeration decided the suite's cases in
      seconds, bound-and-split not within 100 s: enumeration.

    Top-1 (``mode="top1"``) stays with enumeration: its clauses in
    :func:`polyrelu.bab.top1_agreement` ask for a unique argmax of ``f``, and
    outputs tied on an open set would escape them.
    """
    if method not in STAGE3_METHODS:
        raise NetworkError(f"equivalent: unknown method {method!r}; supported: "
                           f"{', '.join(STAGE3_METHODS)}")
    box = _bab_box(dom, d)
    if method == "bab":
        if box is None:
            raise DomainError("equivalent: method='bab' needs a bounded box domain")
        if mode != "exact":
            raise NetworkError("equivalent: method='bab' supports mode='exact' only")
        return "bab"
    if method == "enumerate":
        return "enumerate"
    if box is None or mode != "exact" or eps <= 0:
        return "enumerate"
    if f is None or g is None:
        return "bab"
    from .bab import make_problem, max_difference

    twin = make_problem(f, g, max_difference(f.output_dim, eps=eps)).mode == "twin"
    return "bab" if twin else "enumerate"


def _complete_bab(fr: Network, gr: Network, dom: Polyhedron, eps: Fraction, d: int,
                  progress=None, budget: Optional[Budget] = None, executor: Any = None):
    """Stage 3 by certified bound-and-split (:func:`polyrelu.bab.decide`) on
    the property ``max_k |f_k - g_k| <= eps``; the same return value as
    :func:`_complete`: ``(x or None, cells, partial, message)``."""
    from .bab import decide, make_problem, max_difference

    box = _bab_box(dom, d)
    assert box is not None
    prob = make_problem(fr, gr, max_difference(fr.output_dim, eps=eps))

    def report(stage, done, total):
        if progress is not None:
            progress("stage 3 cells", done, total)

    res = decide(prob, box, limits=budget, max_cells=None if budget is None else
                 budget.max_regions, executor=executor, progress=report)
    cells = res.stats.get("cells", 0)
    if res.verdict == "violated":
        return res.counterexample, cells, False, ""
    if res.verdict == "holds":
        return None, cells, False, ""
    why = res.reason or "stopped"
    if budget is not None and budget.interrupted:
        why = "interrupted"
    elif "time limit" in why or (budget is not None and budget.exhausted):
        why = "stopped by the time limit (bound-and-split)"
    elif "max_cells" in why:
        why = f"stopped after max_regions={budget.max_regions if budget else None} cells"
    return None, cells, True, why


# --------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------

def _checked_reduce(net: Network, dom: Optional[Polyhedron], d: int):
    """:func:`reduce`, plus an exact spot check at a few points of the domain.

    ``reduce`` is function-preserving by construction; the spot check is
    defence in depth: if the reduced network differs from ``net`` anywhere it
    is checked, the reduction is dropped (never trusted) and noted.
    """
    # the passes of polyrelu.reductions: identity pairs relu(z) - relu(-z) at
    # any depth (also at the input, where bounds cannot help), then reduce
    from .reductions import reduce_chain

    try:
        red, data = reduce_chain(net, dom)
    except BackendError as e:     # a pass reported an impossible step: not trusted
        return net, ReductionReport(net.architecture, net.architecture, (), (
            f"the reduction was not used: {e}",))
    rep = ReductionReport(net.architecture, red.architecture, data.actions, data.notes)
    if not rep.changed:
        return net, rep
    rng = random.Random(12345)
    lo, hi, _ = _box_of(dom, d)
    slo, shi = _sample_box(lo, hi, Fraction(4))
    pts = [dom.interior_point() if dom is not None else (Fraction(0),) * d]
    pts += [tuple(_rand_frac(rng, a, c) for a, c in zip(slo, shi)) for _ in range(8)]
    if all(red(x) == net(x) for x in pts if dom is None or dom.contains(x)):
        return red, rep
    return net, ReductionReport(
        net.architecture, net.architecture, (),
        rep.notes + ("the reduction failed an exact spot check and was not used",))

def equivalent(f: Network, g: Network, domain: Any = None, eps: Any = 0,
               mode: str = "exact", time_limit: Optional[float] = None,
               max_regions: Optional[int] = None, *, samples: int = 64,
               seed: int = 0, progress: Any = None,
               budget: Optional[Budget] = None, method: str = "auto",
               executor: Any = None) -> EquivalenceResult:
    """Decide whether ``f`` and ``g`` compute the same function on ``domain``.

    Parameters
    ----------
    f, g : Network
        Same input and output dimensions; architectures, skips and activations
        may differ.
    domain : None, Polyhedron or box
        None is all of R^d; otherwise a full-dimensional rational polyhedron
        (use :meth:`Network.restrict` for slices).
    eps : rational
        ``mode="exact"``: equivalent iff ``max_k |f_k - g_k| <= eps`` everywhere
        on the domain (``eps = 0``: equal functions).
    mode : {"exact", "top1"}
        ``"top1"``: equivalent iff the argmax sets agree on a dense open subset
        of the domain (i.e. except on ties of measure zero).  A counterexample
        is a point where both argmaxes are unique and different (or, in stage
        3, an interior point of a cell where the argmax sets differ).
    time_limit : float, optional
        Seconds for the whole call (a positive number); every stage stops
        cleanly at the deadline (``partial``, ``equivalent=None``).
    max_regions : int, optional
        Maximum number of cells (pairs of activation regions) in stage 3.
    samples : int
        Exact evaluations in stage 2 beyond the float-proposed points;
        ``samples=0`` also skips the optimisation search of stage 2.
    seed : int
        Seed of the random points of stage 2 (results are exact regardless).
    progress : callable, optional
        ``progress("stage 3 cells", count, None)`` after each cell
        (:mod:`polyrelu.budget`); ``True``: a tqdm bar on stderr.
    budget : Budget, optional
        Limits shared with the caller (:mod:`polyrelu.budget`); an
        interrupted budget stops the check (``partial``, reason
        ``"interrupted"``).
    method : {"auto", "bab", "enumerate"}
        Stage 3: certified bound-and-split over a box domain
        (:mod:`polyrelu.bab`), or the enumeration of every cell; ``"auto"``
        chooses (bound-and-split on bounded boxes with ``mode="exact"``).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where bound-and-split runs its cells (the verdict is the serial one).

    Returns
    -------
    EquivalenceResult

    Notes
    -----
    Stage 1 tries :func:`find_symmetry` on ``f, g`` and then on
    ``reduce(f, domain)``, ``reduce(g, domain)`` (``certificate_for`` says
    which pair the certificate relates); the reduction is the chain of
    :func:`polyrelu.reductions.reduce_chain` (identity pairs too).  Stage 2
    evaluates exactly at structural and random rational points and at
    float-proposed points, then runs
    :func:`polyrelu.equivalence_search.search_counterexample` on the reduced
    networks (its point re-checked on the originals).
    Stage 3 enumerates the regions of ``g`` inside every region of ``f`` (the
    activation regions of the difference network ``f - g``) with
    :func:`polyrelu.regions.regions` and decides every cell by exact
    comparison / exact LP; on a bounded box with ``eps > 0`` and networks of
    the same shape with close weights it runs certified bound-and-split
    instead (:mod:`polyrelu.bab`, ``docs/bab.rst``; ``method`` forces one).

    Examples
    --------
    >>> f = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, -1]], [0])])  # relu(x) - relu(-x)
    >>> g = Network.from_weights([([[1], [-1]], [0, 0]), ([[2, -2]], [0])])
    >>> h = Network.from_weights([([[2], [-2]], [0, 0]), ([["1/2", "-1/2"]], [0])])
    >>> r = equivalent(f, g)
    >>> r.equivalent, r.stage, r.counterexample is not None
    (False, 'counterexample-search', True)
    >>> equivalent(f, h).stage
    'symmetry'
    >>> x = Network.from_weights([([[1], [1]], [0, 0]), ([[1, 0]], [0])])
    >>> r = equivalent(Network.from_weights([([[1]], [0]), ([[1]], [0])]), x)
    >>> r.equivalent, r.stage
    (True, 'symmetry')
    """
    for name, net in (("f", f), ("g", g)):
        if not isinstance(net, Network):
            raise NetworkError(f"equivalent: {name} must be a Network, got "
                               f"{type(net).__name__}")
    if f.input_dim != g.input_dim:
        raise ShapeError(f"equivalent: f has {f.input_dim} inputs but g has "
                         f"{g.input_dim}")
    if f.output_dim != g.output_dim:
        raise ShapeError(f"equivalent: f has {f.output_dim} outputs but g has "
                         f"{g.output_dim}")
    if mode not in MODES:
        raise NetworkError(f"equivalent: unknown mode {mode!r}; supported: "
                           f"{', '.join(MODES)}")
    eps = to_fraction(eps, "eps")
    if eps < 0:
        raise NetworkError(f"equivalent: eps must be >= 0, got {eps}")
    if mode == "top1" and eps:
        raise NetworkError("equivalent: eps applies to mode='exact' only")
    # limits: LimitError (a NetworkError) for NaN, zero, negative, booleans
    b = as_budget(budget, max_regions, time_limit, "equivalent")
    progress = check_progress(progress, "equivalent")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise NetworkError(f"equivalent: samples must be a non-negative integer, got "
                           f"{samples!r}")
    d = f.input_dim
    dom = _as_domain(domain, d)
    how = _stage3_method(method, dom, mode, eps, d)     # bad method: an error up front
    timings: dict[str, float] = {}
    common: dict[str, Any] = dict(mode=mode, eps=eps, timings=timings)

    def finish_counterexample(x, stage, **extra):
        fx, gx = f(x), g(x)
        if not _separates(fx, gx, mode, eps, strict=False):  # pragma: no cover - bug guard
            raise AssertionError("a counterexample failed exact re-evaluation")
        return EquivalenceResult(False, stage, counterexample=tuple(x),
                                 outputs=(fx, gx),
                                 difference=tuple(a - b for a, b in zip(fx, gx)),
                                 **extra, **common)

    # stage 1: symmetry (as given, then reduced)
    t = time.perf_counter()
    cert = find_symmetry(f, g)
    if cert is not None:
        timings["symmetry"] = time.perf_counter() - t
        return EquivalenceResult(True, "symmetry", certificate=cert,
                                 certificate_for="original",
                                 message="f is a permuted, positively scaled g",
                                 **common)
    fr, rf = _checked_reduce(f, dom, d)
    gr, rg = _checked_reduce(g, dom, d)
    red: dict[str, Any] = dict(reduced=(fr, gr), reductions=(rf, rg))
    if rf.changed or rg.changed:
        cert = find_symmetry(fr, gr)
        if cert is not None:
            timings["symmetry"] = time.perf_counter() - t
            return EquivalenceResult(
                True, "symmetry", certificate=cert, certificate_for="reduced",
                message="after reduction on the domain, f is a permuted, positively "
                        "scaled g (the certificate relates the reduced networks)",
                **red, **common)
    timings["symmetry"] = time.perf_counter() - t

    # stage 2: exact evaluation at structural, random and float-proposed points
    t = time.perf_counter()
    rng = random.Random(seed)
    x = _search(f, g, fr, gr, dom, mode, eps, rng, samples, b)
    if x is None and samples and not b.exhausted:
        # then optimisation: float ascent (also towards the units an aligned
        # parameter difference connects), exact LP in the best points' cells
        from .equivalence_search import search_counterexample

        found = search_counterexample(fr, gr, dom, eps, mode, seed=seed, check=(f, g),
                                      budget=b)
        x = None if found is None else found.point
    timings["counterexample-search"] = time.perf_counter() - t
    if x is not None:
        return finish_counterexample(x, "counterexample-search", **red)

    # stage 3: complete check
    t = time.perf_counter()
    if b.exhausted:
        timings["complete"] = 0.0
        why = "interrupted" if b.interrupted else "time limit reached"
        return EquivalenceResult(None, "complete", partial=True,
                                 message=f"{why} before stage 3", reason=why,
                                 **red, **common)
    def complete(p, q):
        how = _stage3_method(method, dom, mode, eps, d, p, q)
        if how == "bab":
            return _complete_bab(p, q, dom, eps, d, progress, b, executor)
        return _complete(p, q, dom, mode, eps, None, None, d, progress, b)

    x, cells, partial, why = complete(fr, gr)
    if x is not None and not _separates(f(x), g(x), mode, eps, strict=False):
        # the reduced networks disagree with the originals at x (a reduce
        # bug): decide on the original networks instead, never guess
        x, cells, partial, why = complete(f, g)
    timings["complete"] = time.perf_counter() - t
    if x is not None:
        return finish_counterexample(x, "complete", regions_checked=cells, **red)
    if partial:
        return EquivalenceResult(None, "complete", partial=True, regions_checked=cells,
                                 message=f"undecided: {why}; no counterexample in the "
                                         f"cells checked", reason=why, **red, **common)
    how = _stage3_method(method, dom, mode, eps, d, fr, gr)
    by = " (certified bound-and-split)" if how == "bab" else ""
    what = {"exact": "equal on every cell" if not eps else
            f"|f - g| <= {fraction_str(eps)} on every cell",
            "top1": "same argmax on every cell"}[mode]
    return EquivalenceResult(True, "complete", regions_checked=cells,
                             message=f"complete check{by}: {what}", **red, **common)
