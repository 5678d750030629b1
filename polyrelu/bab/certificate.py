"""Exact re-derivation of bound-and-split certificates (standard library only).

This module imports nothing but :mod:`fractions` and :mod:`json`, so that the
standalone checker (``polyrelu/check.py``) can call it or copy it verbatim.
Everything is recomputed from the network weights in exact rational
arithmetic; the certificate only *chooses* (relaxation lines, which bounds to
tighten, LP multipliers), and every choice is checked before it is used.

The ReLU DAG
------------
Every network polyrelu reads is turned, exactly, into a *ReLU DAG*: input
``t`` (``d`` entries), hidden layers ``k = 1..K`` of plain ReLU units and an
affine output layer ``K+1``::

    z_k = sum_{j < k} M[k][j] y_j + c[k],   y_0 = t,   y_k = relu(z_k).

* a network layer ``z_l = W_l u_l + b_l`` with ``u_l = nu_{l-1} + sum nu_s``
  (skips, J&V eq. 46) and an input map ``nu_0 = A t + a`` becomes edges from
  every DAG node that the ``nu``'s depend on;
* leaky ReLU: ``nu = alpha z + (1 - alpha) relu(z)`` (an affine expression of
  the DAG nodes, so later layers get edges from earlier ones);
* hard tanh: ``htanh(z) = relu(z + 1) - relu(z - 1) - 1``: hidden layer ``l``
  becomes ``2 n_l`` DAG units (``z + 1`` first, then ``z - 1``).

A *pair* ``(f, g)`` of networks is one DAG with the hidden layers of both side
by side and the outputs ``[f; g]`` (:func:`parallel`).  A *twin* pair (DAGs of
the same shape, e.g. a network and its re-export) is kept as two DAGs: the
bounds also track the difference ``dz = z^f - z^g`` of paired units
(ReluDiff, Paulsen et al. ICSE 2020), which stays of the size of the weight
difference instead of the size of either network's relaxation error.

Property
--------
A list of *clauses*; clause ``q`` is a list of atoms ``a_r(t) = c_r . out(t) +
d_r`` over the DAG outputs (``[f; g]`` for pairs and twins) and is *violated*
at ``t`` iff every atom is ``> 0`` (``strict``) or ``>= 0``.  The property
holds on a cell iff no clause is violated there.  A clause is closed on a cell
by weights ``w >= 0`` summing to 1 and an upper bound ``B`` of ``sum_r w_r
a_r`` on the cell with ``B <= 0`` (strict) or ``B < 0``: then ``min_r a_r <=
sum w_r a_r <= B`` everywhere.

Cell certificate (all numbers exact strings such as ``"-3/4"``)
----------------------------------------------------------------
``{"box": {"lo", "hi"}, "phases": [[k, i, bit], ...], "layers": [...],
"closings": [...]}``.  The cell is ``{t in box : z_{k,i}(t) >= 0 (bit 1) or
<= 0 (bit 0) for each phase}``.  ``layers[k-1]`` holds, for a single DAG,
``{"lines": {"i": [a_lo, b_lo, a_up, b_up]}, "refine": [i, ...]}``; for a
twin ``{"f": ..., "g": ..., "d": ...}`` with the same keys (``"d"``: lines of
``dy`` in terms of ``dz``).  The verifier, layer by layer:

1. *forward symbolic bounds* (DeepPoly / symbolic intervals): linear functions
   ``Lz(t) <= z(t) <= Uz(t)`` from the earlier layers' functions, concretised
   over the box; for a twin also ``f``, ``g`` and ``dz`` (``dz`` via ``dz_k =
   sum M^f dy_j + (M^f - M^g) y^g_j + (c^f - c^g)``, ``dy_0 = 0``);
2. *refinement*: for every unit listed in ``refine`` a back-substitution
   (CROWN) bound of ``z`` (``dz``), intersected with the forward bounds; twin
   ``g`` bounds are also intersected with ``[l^f - u^d, u^f - l^d]``;
3. phases clamp the bounds (``l := max(l, 0)`` / ``u := min(u, 0)``; an empty
   interval proves the cell empty, so every clause holds on it);
4. *states*: a unit with a phase is exact (``y = z`` or ``y = 0``); a unit
   with lines is relaxed, the lines are checked valid on ``[l, u]``; any other
   unit must be stable by its bounds (``l >= 0`` or ``u <= 0``).  ReLU lines:
   ``a_lo z + b_lo <= relu(z) <= a_up z + b_up`` checked at ``l``, ``u`` and
   ``0``.  Twin lines of ``dy``: ``LE(dz) <= dy <= UE(dz)`` with ``UE = dz`` if
   the ``f`` unit is active, ``0`` if inactive, else ``max(0, dz)``; ``LE =
   dz`` / ``0`` / ``min(0, dz)`` by the ``g`` unit (ReLU is monotone and
   1-Lipschitz); a line must dominate at ``l^d`` and ``u^d`` (``UE`` is convex,
   ``LE`` concave).  Paired exact units need no lines.

Closings: ``{"clause": q, "weights": [...], "method": "backward"}``
(back-substitution of the weighted objective; ``"alpha": {"k:i": a}``
replaces the lower slopes of relaxed units in this pass, each checked in
``[0, 1]``) or ``{"method": "lp", "ineq": {row: y}, "eq": {row: mu}}``: the
triangle LP of :func:`lp_rows` with multipliers ``y >= 0``; by weak duality
``max <= y.b + mu.f + max_{v in box} (c - A^T y - E^T mu) . v``.
``{"method": "empty", ...}`` with the objective 0 and a bound ``< 0`` proves
the cell empty.  On a cell where every unit is stable or fixed the networks
are affine (:func:`region_maps`) and the cell is the polytope of
:func:`region_rows`: ``{"method": "region", "rows": {r: y}}`` bounds the
objective over it by weak duality (exact LP multipliers), and ``{"method":
"thin", "rows": {r: y}}`` with ``y >= 0`` cancelling every coordinate proves
the polytope empty (``y . rhs < 0``) or without interior (``= 0``): a strict
clause's violation set is open, so it cannot lie in a cell without interior
(the full-dimensional leaves around it decide the points there).

>>> from fractions import Fraction as Q
>>> dag = dag_from_network([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])   # |t|
>>> dag.evaluate([Q(-3)])
[Fraction(3, 1)]
>>> prob = Problem.single(dag, [{"atoms": [{"c": ["1"], "d": "-2"}], "strict": True}])
>>> cell = {"box": {"lo": ["-1"], "hi": ["2"]}, "phases": [],
...         "layers": [{"lines": {"0": ["0", "0", "2/3", "2/3"],
...                               "1": ["0", "0", "1/3", "2/3"]}, "refine": [],
...                     "states": "22"}],
...         "closings": [{"clause": 0, "weights": ["1"], "method": "backward"}]}
>>> check_cell(prob, cell)          # |t| - 2 <= t/3 + 4/3 - 2 <= 0 on [-1, 2]
[(0, Fraction(0, 1))]
"""

from __future__ import annotations

import json
from fractions import Fraction

__all__ = ["CertificateError", "ExactDag", "Problem", "dag_from_network", "dag_from_json",
           "parallel", "check_cell", "check_tree", "check_proof", "problem_from_document",
           "lp_rows", "region_maps", "region_rows", "evaluate_clause", "q", "qstr"]

ZERO = Fraction(0)
ONE = Fraction(1)


class CertificateError(Exception):
    """A certificate claim is false or malformed; the message names the place."""


# ---------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------

def q(v, where: str = "number") -> Fraction:
    """An exact rational from ``"p/q"``, a decimal string, an int or a Fraction."""
    if isinstance(v, Fraction):
        return v
    if isinstance(v, bool):
        raise CertificateError(f"{where}: expected an exact number, got {v!r}")
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, str):
        try:
            if "/" in v:
                a, _, b = v.partition("/")
                return Fraction(int(a), int(b))
            return Fraction(v)
        except (ValueError, ZeroDivisionError):
            pass
    raise CertificateError(f"{where}: {v!r} is not an exact rational (use a string "
                           f"such as '-3/4')")


def qstr(x) -> str:
    """The canonical string of an exact rational: ``"-3/4"``, ``"2"``."""
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _qvec(v, where: str, n=None) -> list:
    if not isinstance(v, list) or (n is not None and len(v) != n):
        raise CertificateError(f"{where}: expected a list of {n if n is not None else ''} "
                               f"numbers".replace("  ", " "))
    return [q(x, f"{where}[{i}]") for i, x in enumerate(v)]


# ---------------------------------------------------------------------------
# the ReLU DAG
# ---------------------------------------------------------------------------

class ExactDag:
    """An exact ReLU DAG (module docstring).

    ``n[k]`` is the width of node ``k`` (``n[0] = d`` inputs, ``n[K+1]``
    outputs); ``M[k]`` maps a predecessor ``j < k`` to its weight matrix (a list
    of rows) and ``c[k]`` is the bias of node ``k >= 1``.  ``labels[k][i]``
    names what DAG unit ``(k, i)`` is in the source network: ``(layer,
    neuron)`` or ``(layer, neuron, threshold)`` for hard tanh.
    """

    __slots__ = ("d", "K", "n", "M", "c", "labels")

    def __init__(self, n, M, c, labels=None):
        self.n = list(n)
        self.d = self.n[0]
        self.K = len(self.n) - 2
        self.M = M
        self.c = c
        self.labels = labels or [None] + [[(k, i) for i in range(self.n[k])]
                                          for k in range(1, self.K + 1)]
        for k in range(1, self.K + 2):
            if len(c[k]) != self.n[k]:
                raise CertificateError(f"DAG node {k}: bias has {len(c[k])} entries, "
                                       f"the node {self.n[k]} units")
            for j, W in M[k].items():
                if not 0 <= j < k or len(W) != self.n[k] or \
                        any(len(r) != self.n[j] for r in W):
                    raise CertificateError(f"DAG edge {j} -> {k}: wrong shape")

    def evaluate(self, t) -> list:
        """Exact outputs at the input ``t``."""
        ys = [[q(v) for v in t]]
        for k in range(1, self.K + 2):
            z = list(self.c[k])
            for j, W in self.M[k].items():
                y = ys[j]
                for i, row in enumerate(W):
                    s = z[i]
                    for w, v in zip(row, y):
                        if w and v:
                            s += w * v
                    z[i] = s
            ys.append(z if k == self.K + 1 else [v if v > 0 else ZERO for v in z])
        return ys[-1]

    def preactivations(self, t) -> list:
        """Exact ``z_1, ..., z_{K+1}`` at ``t``."""
        ys = [[q(v) for v in t]]
        zs = []
        for k in range(1, self.K + 2):
            z = list(self.c[k])
            for j, W in self.M[k].items():
                for i, row in enumerate(W):
                    z[i] += sum((w * v for w, v in zip(row, ys[j]) if w and v), ZERO)
            zs.append(z)
            ys.append([v if v > 0 else ZERO for v in z])
        return zs

    def same_shape(self, other: "ExactDag") -> bool:
        """Whether the two DAGs pair unit by unit (twins)."""
        return self.n == other.n and all(set(self.M[k]) == set(other.M[k])
                                         for k in range(1, self.K + 2))


def _eye_term(s):
    return ("eye", s)


def _term_matmul(W, term, ncols):
    """``W @ term`` where a term is ("eye", s) or ("mat", matrix)."""
    kind, val = term
    if kind == "eye":
        if val == 1:
            return [list(r) for r in W]
        return [[w * val for w in r] for r in W]
    cols = list(zip(*val)) if val else []
    out = []
    for r in W:
        nz = [(j, w) for j, w in enumerate(r) if w]
        out.append([sum((w * cols[p][j] for j, w in nz), ZERO) for p in range(ncols)])
    return out


def _add_into(acc: dict, j, mat):
    if j in acc:
        acc[j] = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(acc[j], mat)]
    else:
        acc[j] = mat


def dag_from_network(layers, skips=None, activation="relu", alpha=0, input_map=None
                     ) -> ExactDag:
    """The exact ReLU DAG of a network given as plain data.

    Parameters
    ----------
    layers : list of tuple
        ``[(W_1, b_1), ..., (W_L, b_L)]``, exact rationals (strings accepted).
    skips : dict, optional
        ``{target layer: [source layers]}`` (J&V eq. 46; 0 = the input).
    activation : {"relu", "leaky_relu", "hard_tanh"}
    alpha : rational
        Leaky ReLU slope.
    input_map : tuple, optional
        ``(A, a)``: the input is ``t`` and ``nu_0 = A t + a``.

    Returns
    -------
    ExactDag

    Examples
    --------
    >>> dag_from_network([([[2]], [0]), ([[1]], [0])], activation="hard_tanh").n
    [1, 2, 1]
    """
    Ls = [([[q(w, f"layer {l} W") for w in row] for row in W],
           [q(v, f"layer {l} b") for v in b]) for l, (W, b) in enumerate(layers, start=1)]
    L = len(Ls)
    skips = {int(t): [int(s) for s in src] for t, src in (skips or {}).items()}
    alpha = q(alpha, "alpha")
    if activation not in ("relu", "leaky_relu", "hard_tanh"):
        raise CertificateError(f"unknown activation {activation!r}")
    if input_map is None:
        d = len(Ls[0][0][0])
        nus = [({0: _eye_term(ONE)}, [ZERO] * d)]
    else:
        A, a = input_map
        A = [[q(v, "input map A") for v in r] for r in A]
        d = len(A[0])
        nus = [({0: ("mat", A)}, [q(v, "input map a") for v in a])]
    n = [d]
    M: list = [None]
    c: list = [None]
    labels: list = [None]
    for l in range(1, L + 1):
        W, b = Ls[l - 1]
        terms: dict = {}
        const = [ZERO] * len(W[0])
        for src in [l - 1] + skips.get(l, []):
            t_src, c_src = nus[src]
            for j, term in t_src.items():
                terms.setdefault(j, []).append(term)
            const = [x + y for x, y in zip(const, c_src)]
        edges: dict = {}
        for j, tlist in terms.items():
            for term in tlist:
                _add_into(edges, j, _term_matmul(W, term, n[j]))
        bias = [bi + sum((w * v for w, v in zip(row, const) if w and v), ZERO)
                for row, bi in zip(W, b)]
        if l == L:
            n.append(len(W))
            M.append(edges)
            c.append(bias)
            break
        width = len(W)
        if activation == "hard_tanh":
            n.append(2 * width)
            M.append({j: E + [list(r) for r in E] for j, E in edges.items()})
            c.append([v + 1 for v in bias] + [v - 1 for v in bias])
            labels.append([(l, i, -1) for i in range(width)] + [(l, i, 1) for i in range(width)])
            pm = [[ONE if jj == i else (-ONE if jj == i + width else ZERO)
                   for jj in range(2 * width)] for i in range(width)]
            nus.append(({l: ("mat", pm)}, [-ONE] * width))
        else:
            n.append(width)
            M.append(edges)
            c.append(bias)
            labels.append([(l, i) for i in range(width)])
            if activation == "leaky_relu" and alpha != 0:
                post = {j: ("mat", [[alpha * w for w in r] for r in E]) for j, E in edges.items()}
                if l in post:   # cannot happen: edges come from earlier nodes
                    raise CertificateError("internal: self edge")
                post[l] = _eye_term(1 - alpha)
                nus.append((post, [alpha * v for v in bias]))
            else:
                nus.append(({l: _eye_term(ONE)}, [ZERO] * width))
    return ExactDag(n, M, c, labels)


def dag_from_json(doc: dict) -> ExactDag:
    """The DAG of a ``polyrelu-network`` JSON document (exact strings)."""
    if not isinstance(doc, dict) or doc.get("format") != "polyrelu-network":
        raise CertificateError("not a polyrelu-network document")
    layers = [(L["W"], L["b"]) for L in doc["layers"]]
    im = doc.get("input_map")
    imap = (im["A"], im["a"]) if im else None
    skips = {int(k): v for k, v in (doc.get("skips") or {}).items()}
    return dag_from_network(layers, skips, doc.get("activation", "relu"),
                            doc.get("alpha", "0"), imap)


def parallel(f: ExactDag, g: ExactDag) -> ExactDag:
    """One DAG computing ``[f(t); g(t)]``: hidden layer ``k`` holds the units of
    ``f``'s layer ``k`` (first) and ``g``'s (block-diagonal weights); the
    shallower network's last layers are empty for it.

    Examples
    --------
    >>> a = dag_from_network([([[1]], [0]), ([[1]], [0])])
    >>> b = dag_from_network([([[-1]], [0]), ([[2]], [1])])
    >>> parallel(a, b).evaluate(["-2"])
    [Fraction(0, 1), Fraction(5, 1)]
    """
    if f.d != g.d:
        raise CertificateError(f"parallel: {f.d} and {g.d} inputs")
    K = max(f.K, g.K)
    nf = [f.d] + [f.n[k] if k <= f.K else 0 for k in range(1, K + 1)] + [f.n[-1]]
    ng = [g.d] + [g.n[k] if k <= g.K else 0 for k in range(1, K + 1)] + [g.n[-1]]
    n = [f.d] + [nf[k] + ng[k] for k in range(1, K + 2)]
    M: list = [None] + [{} for _ in range(K + 1)]
    c: list = [None] + [[ZERO] * n[k] for k in range(1, K + 2)]
    for src, nn, is_g in ((f, nf, False), (g, ng, True)):
        def node(j):
            return K + 1 if j == src.K + 1 else j
        for kk in range(1, src.K + 2):
            k = node(kk)
            roff = nf[k] if is_g else 0
            for r, v in enumerate(src.c[kk]):
                c[k][roff + r] = v
            for j, W in src.M[kk].items():
                coff = nf[j] if (is_g and j > 0) else 0
                E = M[k].setdefault(j, [[ZERO] * n[j] for _ in range(n[k])])
                for r, row in enumerate(W):
                    E[roff + r][coff:coff + len(row)] = row
    labels = [None] + [[("f",) + tuple(lb) for lb in (f.labels[k] if k <= f.K else [])]
                       + [("g",) + tuple(lb) for lb in (g.labels[k] if k <= g.K else [])]
                       for k in range(1, K + 1)]
    return ExactDag(n, M, c, labels)


# ---------------------------------------------------------------------------
# the problem a proof is about
# ---------------------------------------------------------------------------

class Problem:
    """The DAG (or twin DAGs) and the property's clauses.

    ``Problem.single(dag, clauses)`` for one network or a :func:`parallel`
    pair; ``Problem.twin(f, g, clauses)`` for twin DAGs (atoms over ``[f; g]``).
    A clause is ``{"atoms": [{"c": [...], "d": q}], "strict": bool}``.
    """

    def __init__(self, mode, dags, clauses):
        self.mode = mode
        self.dags = dags
        self.dag = dags[0]
        nout = sum(dg.n[-1] for dg in dags)
        self.clauses = []
        for qi, cl in enumerate(clauses):
            atoms = []
            for r, at in enumerate(cl["atoms"]):
                atoms.append((_qvec(list(at["c"]), f"clause {qi} atom {r} c", nout),
                              q(at.get("d", "0"), f"clause {qi} atom {r} d")))
            if not atoms:
                raise CertificateError(f"clause {qi} has no atoms")
            self.clauses.append((atoms, bool(cl.get("strict", True))))
        if mode == "twin":
            f, g = dags
            if not f.same_shape(g):
                raise CertificateError("twin: the two DAGs differ in shape")
            self.dM = [None] + [{j: [[a - b for a, b in zip(r1, r2)]
                                     for r1, r2 in zip(f.M[k][j], g.M[k][j])]
                                 for j in f.M[k]} for k in range(1, f.K + 2)]
            self.dc = [None] + [[a - b for a, b in zip(f.c[k], g.c[k])]
                                for k in range(1, f.K + 2)]

    @classmethod
    def single(cls, dag, clauses):
        return cls("single", [dag], clauses)

    @classmethod
    def twin(cls, f, g, clauses):
        return cls("twin", [f, g], clauses)

    def outputs(self, t) -> list:
        out = []
        for dg in self.dags:
            out += dg.evaluate(t)
        return out

    def objective(self, qi: int, weights) -> tuple:
        """``(c, d)`` of ``sum_r w_r a_r`` for clause ``qi``."""
        atoms, _ = self.clauses[qi]
        if len(weights) != len(atoms):
            raise CertificateError(f"clause {qi}: {len(weights)} weights for "
                                   f"{len(atoms)} atoms")
        if any(w < 0 for w in weights) or sum(weights) != 1:
            raise CertificateError(f"clause {qi}: weights must be >= 0 and sum to 1")
        nout = len(atoms[0][0])
        c = [ZERO] * nout
        d = ZERO
        for w, (cr, dr) in zip(weights, atoms):
            if w:
                c = [a + w * b for a, b in zip(c, cr)]
                d += w * dr
        return c, d


def evaluate_clause(prob: Problem, qi: int, t) -> bool:
    """Exactly: is clause ``qi`` violated at ``t`` (every atom > 0, or >= 0)?"""
    out = prob.outputs(t)
    atoms, strict = prob.clauses[qi]
    for c, d in atoms:
        v = sum((a * b for a, b in zip(c, out) if a and b), d)
        if (v <= 0) if strict else (v < 0):
            return False
    return True


# ---------------------------------------------------------------------------
# linear functions of t: [a_1, ..., a_d, a_0]
# ---------------------------------------------------------------------------

def _fmax(F, lo, hi) -> Fraction:
    s = F[-1]
    for a, l, h in zip(F, lo, hi):
        if a > 0:
            s += a * h
        elif a < 0:
            s += a * l
    return s


def _fmin(F, lo, hi) -> Fraction:
    s = F[-1]
    for a, l, h in zip(F, lo, hi):
        if a > 0:
            s += a * l
        elif a < 0:
            s += a * h
    return s


def _combine(acc, w, F):
    if w:
        for p, v in enumerate(F):
            if v:
                acc[p] += w * v


def _scaled(a, F, b):
    """``a * F + b`` for a linear function ``F``."""
    if a == 0:
        out = [ZERO] * len(F)
    elif a == 1:
        out = list(F)
    else:
        out = [a * v for v in F]
    out[-1] += b
    return out


# ---------------------------------------------------------------------------
# one network's layer data
# ---------------------------------------------------------------------------

class _Side:
    """Bounds, states and relaxation lines of one DAG (or of the differences)."""

    def __init__(self, K):
        self.l = [None] * (K + 1)
        self.u = [None] * (K + 1)
        self.state = [None] * (K + 1)   # per unit: 1 exact active, 0 exact inactive, 2 relaxed
        self.lines = [None] * (K + 1)   # per unit: (a_lo, b_lo, a_up, b_up) or None
        self.Ylo = [None] * (K + 1)
        self.Yup = [None] * (K + 1)


def _layer_doc(cell, k, part, n, where):
    """``(lines, refine, states)`` of layer ``k`` (``part`` of a twin)."""
    layers = cell.get("layers")
    if not isinstance(layers, list) or len(layers) < k:
        raise CertificateError(f"{where}: 'layers' must have an entry per hidden layer")
    doc = layers[k - 1]
    if part is not None:
        if not isinstance(doc, dict) or part not in doc:
            raise CertificateError(f"{where}: layer {k} needs an entry {part!r}")
        doc = doc[part]
    if not isinstance(doc, dict):
        raise CertificateError(f"{where}: layer {k} entry must be an object")
    lines = {}
    for key, val in (doc.get("lines") or {}).items():
        try:
            i = int(key)
        except ValueError:
            raise CertificateError(f"{where}: layer {k} line key {key!r}") from None
        if not 0 <= i < n:
            raise CertificateError(f"{where}: layer {k} line of unit {i} out of range")
        lines[i] = tuple(_qvec(list(val), f"{where}: layer {k} unit {i} line", 4))
    refine = set()
    for v in doc.get("refine") or []:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
            raise CertificateError(f"{where}: layer {k} refine entry {v!r}")
        refine.add(v)
    states = None
    if part != "d":
        states = doc.get("states")
        if not isinstance(states, str) or len(states) != n or set(states) - set("012"):
            raise CertificateError(f"{where}: layer {k} needs 'states', a string of "
                                   f"{n} digits 0 (inactive), 1 (active), 2 (relaxed)")
        states = [int(ch) for ch in states]
    return lines, refine, states


def _mat_into(Zlo, Zup, W, Ylo, Yup):
    """``Zup += W+ Yup + W- Ylo``, ``Zlo += W+ Ylo + W- Yup``."""
    for i, row in enumerate(W):
        zl, zu = Zlo[i], Zup[i]
        for j, w in enumerate(row):
            if w > 0:
                _combine(zu, w, Yup[j])
                _combine(zl, w, Ylo[j])
            elif w < 0:
                _combine(zu, w, Ylo[j])
                _combine(zl, w, Yup[j])


def _input_functions(d):
    eye = [[ONE if p == j else ZERO for p in range(d)] + [ZERO] for j in range(d)]
    return eye, eye


def _check_relu_lines(lines, l, u, where):
    alo, blo, aup, bup = lines
    pts = [l, u] + ([ZERO] if l < 0 < u else [])
    for p in pts:
        r = p if p > 0 else ZERO
        if alo * p + blo > r:
            raise CertificateError(f"{where}: lower line {qstr(alo)} z + {qstr(blo)} is "
                                   f"above relu at z = {qstr(p)}")
        if aup * p + bup < r:
            raise CertificateError(f"{where}: upper line {qstr(aup)} z + {qstr(bup)} is "
                                   f"below relu at z = {qstr(p)}")


def _check_diff_lines(lines, l, u, sf, sg, where):
    alo, blo, aup, bup = lines
    for p in (l, u):
        ue = p if sf == 1 else (ZERO if sf == 0 else max(p, ZERO))
        le = p if sg == 1 else (ZERO if sg == 0 else min(p, ZERO))
        if aup * p + bup < ue:
            raise CertificateError(f"{where}: upper line of dy is below its envelope at "
                                   f"dz = {qstr(p)}")
        if alo * p + blo > le:
            raise CertificateError(f"{where}: lower line of dy is above its envelope at "
                                   f"dz = {qstr(p)}")


_PAIR_LINES = {(1, 1): (ONE, ZERO, ONE, ZERO), (0, 0): (ZERO, ZERO, ZERO, ZERO),
               (1, 0): (ZERO, ZERO, ONE, ZERO), (0, 1): (ONE, ZERO, ZERO, ZERO)}


class _Empty(Exception):
    """The cell is empty (a phase contradicts a proven bound)."""


def _settle(side: _Side, k, doc, phases_k, where):
    """States and lines of layer ``k`` of one DAG from its final bounds."""
    lines_doc, _, states = doc
    l, u = side.l[k], side.u[k]
    n = len(l)
    lines = [None] * n
    for i in range(n):
        st = states[i]
        ph = phases_k.get(i) if phases_k else None
        w = f"{where}: layer {k} unit {i}"
        if ph is not None:
            if ph == 1:
                l[i] = max(l[i], ZERO)
            else:
                u[i] = min(u[i], ZERO)
            if l[i] > u[i]:
                raise _Empty(w)
            if st != ph:
                raise CertificateError(f"{w}: state {st} contradicts its phase {ph}")
        if st == 2:
            if i not in lines_doc:
                raise CertificateError(f"{w}: a relaxed unit needs lines")
            _check_relu_lines(lines_doc[i], l[i], u[i], w)
            lines[i] = lines_doc[i]
        elif st == 1 and l[i] < 0:
            raise CertificateError(f"{w}: claimed active but its lower bound is "
                                   f"{qstr(l[i])} < 0")
        elif st == 0 and u[i] > 0:
            raise CertificateError(f"{w}: claimed inactive but its upper bound is "
                                   f"{qstr(u[i])} > 0")
    side.state[k] = states
    side.lines[k] = lines


def _settle_diff(sd: _Side, k, doc, sf_states, sg_states, where):
    """Lines of the differences of layer ``k`` of a twin."""
    lines_doc = doc[0]
    l, u = sd.l[k], sd.u[k]
    n = len(l)
    states: list = [None] * n
    lines: list = [None] * n
    for i in range(n):
        sf, sg = sf_states[i], sg_states[i]
        if i in lines_doc:
            _check_diff_lines(lines_doc[i], l[i], u[i], sf, sg,
                              f"{where}: layer {k} unit {i} (difference)")
            states[i], lines[i] = 2, lines_doc[i]
        elif sf != 2 and sg != 2:
            states[i], lines[i] = 3, _PAIR_LINES[(sf, sg)]
        else:
            raise CertificateError(f"{where}: layer {k} unit {i}: a relaxed unit in f "
                                   f"or g needs lines for its difference")
    sd.state[k] = states
    sd.lines[k] = lines


def _y_functions(side: _Side, k, Zlo, Zup):
    Ylo, Yup = [], []
    d1 = len(Zlo[0]) if Zlo else 1
    for i, st in enumerate(side.state[k]):
        if st == 1:
            Ylo.append(Zlo[i])
            Yup.append(Zup[i])
        elif st == 0:
            Ylo.append([ZERO] * d1)
            Yup.append([ZERO] * d1)
        else:
            alo, blo, aup, bup = side.lines[k][i]
            Yup.append(_scaled(aup, Zup[i] if aup >= 0 else Zlo[i], bup))
            Ylo.append(_scaled(alo, Zlo[i] if alo >= 0 else Zup[i], blo))
    side.Ylo[k], side.Yup[k] = Ylo, Yup


# ---------------------------------------------------------------------------
# back-substitution (CROWN) with the certificate's lines
# ---------------------------------------------------------------------------

def _relax_coef(m, st, lines, alpha=None):
    """Coefficient on z and constant for ``m * y`` (upper bound)."""
    if st == 1:
        return m, ZERO
    if st == 0:
        return ZERO, ZERO
    alo, blo, aup, bup = lines
    if m >= 0:
        return m * aup, m * bup
    if alpha is not None:
        return m * alpha, ZERO
    return m * alo, m * blo


def _vecmat(lam, W, ncols):
    out = [ZERO] * ncols
    for li, row in zip(lam, W):
        if li:
            for j, w in enumerate(row):
                if w:
                    out[j] += li * w
    return out


def _backward(dag: ExactDag, side: _Side, k, lam, box, alpha=None):
    """Upper bound of ``lam . z_k + 0`` on the box via back-substitution through
    the relaxations of layers ``< k`` (node ``k`` may be the output)."""
    lo, hi = box
    coef = {k: list(lam)}
    const = ZERO
    for kk in range(k, 0, -1):
        lamk = coef.pop(kk, None)
        if lamk is None or not any(lamk):
            continue
        if kk != k:
            zc = []
            for i, m in enumerate(lamk):
                if m:
                    a, b = _relax_coef(m, side.state[kk][i], side.lines[kk][i],
                                       None if alpha is None else alpha.get((kk, i)))
                    zc.append(a)
                    const += b
                else:
                    zc.append(ZERO)
            lamk = zc
        const += sum((a * b for a, b in zip(lamk, dag.c[kk]) if a and b), ZERO)
        for j, W in dag.M[kk].items():
            v = _vecmat(lamk, W, dag.n[j])
            if j in coef:
                coef[j] = [a + b for a, b in zip(coef[j], v)]
            else:
                coef[j] = v
    mu = coef.get(0, [ZERO] * dag.d)
    return const + _fmax(mu + [ZERO], lo, hi)


def _backward_twin(prob: Problem, sides, k, mu_d, nu_g, box):
    """Upper bound of ``mu_d . dz_k + nu_g . z^g_k`` (node ``k``, maybe the output)."""
    f, g = prob.dags
    sf, sg, sd = sides
    lo, hi = box
    cd = {k: list(mu_d)}
    cg = {k: list(nu_g)}
    const = ZERO
    for kk in range(k, 0, -1):
        md = cd.pop(kk, None)
        mg = cg.pop(kk, None)
        if kk != k:
            if md is not None:
                zc = []
                for i, m in enumerate(md):
                    if m:
                        a, b = _relax_coef(m, 2, sd.lines[kk][i])
                        zc.append(a)
                        const += b
                    else:
                        zc.append(ZERO)
                md = zc
            if mg is not None:
                zc = []
                for i, m in enumerate(mg):
                    if m:
                        a, b = _relax_coef(m, sg.state[kk][i], sg.lines[kk][i])
                        zc.append(a)
                        const += b
                    else:
                        zc.append(ZERO)
                mg = zc
        if md is not None and any(md):
            const += sum((a * b for a, b in zip(md, prob.dc[kk]) if a and b), ZERO)
            for j, W in f.M[kk].items():
                if j > 0:
                    v = _vecmat(md, W, f.n[j])
                    cd[j] = [a + b for a, b in zip(cd[j], v)] if j in cd else v
                v = _vecmat(md, prob.dM[kk][j], f.n[j])
                cg[j] = [a + b for a, b in zip(cg[j], v)] if j in cg else v
        if mg is not None and any(mg):
            const += sum((a * b for a, b in zip(mg, g.c[kk]) if a and b), ZERO)
            for j, W in g.M[kk].items():
                v = _vecmat(mg, W, g.n[j])
                cg[j] = [a + b for a, b in zip(cg[j], v)] if j in cg else v
    mu = cg.get(0, [ZERO] * f.d)
    return const + _fmax(mu + [ZERO], lo, hi)


# ---------------------------------------------------------------------------
# bounds of one cell
# ---------------------------------------------------------------------------

def _box(cell, d, where):
    box = cell.get("box")
    if not isinstance(box, dict):
        raise CertificateError(f"{where}: 'box' must be {{'lo', 'hi'}}")
    lo = _qvec(box.get("lo"), f"{where}: box lo", d)
    hi = _qvec(box.get("hi"), f"{where}: box hi", d)
    if any(a > b for a, b in zip(lo, hi)):
        raise CertificateError(f"{where}: box has lo > hi")
    return lo, hi


def _phases(cell, dag: ExactDag, where):
    out: dict = {}
    for ph in cell.get("phases") or []:
        if not (isinstance(ph, list) and len(ph) in (3, 4)):
            raise CertificateError(f"{where}: a phase is [layer, unit, bit] "
                                   f"(twin: [part, layer, unit, bit])")
        *part, k, i, b = ph
        if not (isinstance(k, int) and isinstance(i, int) and b in (0, 1)
                and 1 <= k <= dag.K and 0 <= i < dag.n[k]):
            raise CertificateError(f"{where}: bad phase {ph!r}")
        key = part[0] if part else None
        if key not in (None, "f", "g"):
            raise CertificateError(f"{where}: phase part must be 'f' or 'g'")
        slot = out.setdefault(key, {}).setdefault(k, {})
        if slot.get(i, b) != b:
            raise CertificateError(f"{where}: unit {k}:{i} has two phases")
        slot[i] = b
    return out


def _single_bounds(prob: Problem, dag: ExactDag, cell, box, phases, where, part=None):
    """Forward + refined bounds, states, lines and y-functions of one DAG."""
    side = _Side(dag.K)
    Ylo0, Yup0 = _input_functions(dag.d)
    for k in range(1, dag.K + 1):
        doc = _layer_doc(cell, k, part, dag.n[k], where)
        refine = doc[1]
        Zlo = [[ZERO] * dag.d + [b] for b in dag.c[k]]
        Zup = [list(r) for r in Zlo]
        for j, W in dag.M[k].items():
            Ylo = Ylo0 if j == 0 else side.Ylo[j]
            Yup = Yup0 if j == 0 else side.Yup[j]
            _mat_into(Zlo, Zup, W, Ylo, Yup)
        l = [_fmin(F, *box) for F in Zlo]
        u = [_fmax(F, *box) for F in Zup]
        for i in sorted(refine):
            e = [ZERO] * dag.n[k]
            e[i] = ONE
            u[i] = min(u[i], _backward(dag, side, k, e, box))
            e[i] = -ONE
            l[i] = max(l[i], -_backward(dag, side, k, e, box))
        side.l[k], side.u[k] = l, u
        _settle(side, k, doc, phases.get(k), where)
        _y_functions(side, k, Zlo, Zup)
    return side


def _twin_bounds(prob: Problem, cell, box, phases, where):
    f, g = prob.dags
    K = f.K
    sf, sg, sd = _Side(K), _Side(K), _Side(K)
    d = f.d
    Ylo0, Yup0 = _input_functions(d)
    for k in range(1, K + 1):
        docs = {p: _layer_doc(cell, k, p, f.n[k], where) for p in ("f", "g", "d")}
        Zs = {}
        for side, dag, p in ((sf, f, "f"), (sg, g, "g")):
            Zlo = [[ZERO] * d + [b] for b in dag.c[k]]
            Zup = [list(r) for r in Zlo]
            for j, W in dag.M[k].items():
                _mat_into(Zlo, Zup, W, Ylo0 if j == 0 else side.Ylo[j],
                          Yup0 if j == 0 else side.Yup[j])
            side.l[k] = [_fmin(F, *box) for F in Zlo]
            side.u[k] = [_fmax(F, *box) for F in Zup]
            Zs[p] = (Zlo, Zup)
        # differences
        Dlo = [[ZERO] * d + [b] for b in prob.dc[k]]
        Dup = [list(r) for r in Dlo]
        for j, W in f.M[k].items():
            if j > 0:
                _mat_into(Dlo, Dup, W, sd.Ylo[j], sd.Yup[j])
            _mat_into(Dlo, Dup, prob.dM[k][j], Ylo0 if j == 0 else sg.Ylo[j],
                      Yup0 if j == 0 else sg.Yup[j])
        sd.l[k] = [_fmin(F, *box) for F in Dlo]
        sd.u[k] = [_fmax(F, *box) for F in Dup]
        # refinements: f, then g, then the differences
        n = f.n[k]
        for side, dag, p in ((sf, f, "f"), (sg, g, "g")):
            for i in sorted(docs[p][1]):
                e = [ZERO] * n
                e[i] = ONE
                side.u[k][i] = min(side.u[k][i], _backward(dag, side, k, e, box))
                e[i] = -ONE
                side.l[k][i] = max(side.l[k][i], -_backward(dag, side, k, e, box))
        for i in sorted(docs["d"][1]):
            e = [ZERO] * n
            e[i] = ONE
            z = [ZERO] * n
            sd.u[k][i] = min(sd.u[k][i], _backward_twin(prob, (sf, sg, sd), k, e, z, box))
            e[i] = -ONE
            sd.l[k][i] = max(sd.l[k][i], -_backward_twin(prob, (sf, sg, sd), k, e, z, box))
        # g = f - dz
        for i in range(n):
            sg.l[k][i] = max(sg.l[k][i], sf.l[k][i] - sd.u[k][i])
            sg.u[k][i] = min(sg.u[k][i], sf.u[k][i] - sd.l[k][i])
        for side, p in ((sf, "f"), (sg, "g")):
            _settle(side, k, docs[p], phases.get(p, {}).get(k), where)
            _y_functions(side, k, *Zs[p])
        _settle_diff(sd, k, docs["d"], sf.state[k], sg.state[k], where)
        _y_functions(sd, k, Dlo, Dup)
    return sf, sg, sd


# ---------------------------------------------------------------------------
# the triangle LP
# ---------------------------------------------------------------------------

def lp_rows(prob: Problem, sides, box, phases=None):
    """The LP relaxation of a cell, as exact rows.

    Returns ``(var_lo, var_hi, ineq, eq, out)``: variables are ``t`` (the
    box), then ``y`` of every non-inactive unit of each DAG (bounds ``[max(l,
    0), max(u, 0)]``); ``ineq`` / ``eq`` are lists of ``(row, rhs)`` with
    ``row`` a dict ``var -> coef`` (``row . v <= rhs`` / ``= rhs``); ``out``
    maps each output of ``[f; g]`` to ``(row, const)``.  Rows, in this order
    per layer and unit: exact active ``y - z = 0`` (and ``-z <= 0`` for a
    phase), phase inactive ``z <= 0``; relaxed ``z - y <= 0``, ``y - a_up z <=
    b_up``, ``z <= u``, ``-z <= -l``; twin differences with lines ``dy - a_up
    dz <= b_up``, ``a_lo dz - dy <= -b_lo``, ``dz <= u^d``, ``-dz <= -l^d``.
    Which rows exist depends only on the states and ``phases`` (one ``{k: {i:
    bit}}`` per DAG), never on the bounds, which enter the right-hand sides
    and the variable bounds only.
    """
    if phases is None:
        phases = [{} for _ in prob.dags]
    lo, hi = box
    d = prob.dag.d
    vlo = list(lo)
    vhi = list(hi)
    ineq: list = []
    eq: list = []
    outs = []
    var_of = []
    zexpr_of = []
    for side, dag, phs in zip(sides, prob.dags, phases):
        var: list = [None] * (dag.K + 1)
        zex: list = [None] * (dag.K + 2)
        var[0] = list(range(d))
        for k in range(1, dag.K + 2):
            exprs = []
            for i in range(dag.n[k]):
                row: dict = {}
                for j, W in dag.M[k].items():
                    vj = var[j]
                    for p, w in enumerate(W[i]):
                        if w and vj[p] is not None:
                            row[vj[p]] = row.get(vj[p], ZERO) + w
                exprs.append((row, dag.c[k][i]))
            zex[k] = exprs
            if k == dag.K + 1:
                outs += exprs
                break
            vk: list = []
            ph_k = phs.get(k) or {}
            for i, (row, cz) in enumerate(exprs):
                st = side.state[k][i]
                l, u = side.l[k][i], side.u[k][i]
                if st == 0:
                    vk.append(None)
                    if i in ph_k:           # the cell's own constraint z <= 0
                        ineq.append((dict(row), -cz))
                    continue
                v = len(vlo)
                vk.append(v)
                vlo.append(max(l, ZERO))
                vhi.append(max(u, ZERO))
                if st == 1:
                    r = {p: -w for p, w in row.items()}
                    r[v] = r.get(v, ZERO) + 1
                    eq.append((r, cz))
                    if i in ph_k:           # the cell's own constraint z >= 0
                        ineq.append(({p: -w for p, w in row.items()}, cz))
                else:
                    alo, blo, aup, bup = side.lines[k][i]
                    r = dict(row)
                    r[v] = r.get(v, ZERO) - 1
                    ineq.append((r, -cz))
                    r = {p: -aup * w for p, w in row.items()}
                    r[v] = r.get(v, ZERO) + 1
                    ineq.append((r, bup + aup * cz))
                    ineq.append((dict(row), u - cz))
                    ineq.append(({p: -w for p, w in row.items()}, cz - l))
            var[k] = vk
        var_of.append(var)
        zexpr_of.append(zex)
    if prob.mode == "twin":
        sd = sides[2]
        f = prob.dags[0]
        for k in range(1, f.K + 1):
            for i in range(f.n[k]):
                if sd.state[k][i] != 2:
                    continue
                alo, blo, aup, bup = sd.lines[k][i]
                rf, cf = zexpr_of[0][k][i]
                rg, cg = zexpr_of[1][k][i]
                dz = dict(rf)
                for p, w in rg.items():
                    dz[p] = dz.get(p, ZERO) - w
                dc = cf - cg
                dy: dict = {}
                vf, vg = var_of[0][k][i], var_of[1][k][i]
                if vf is not None:
                    dy[vf] = ONE
                if vg is not None:
                    dy[vg] = dy.get(vg, ZERO) - 1
                r = dict(dy)
                for p, w in dz.items():
                    r[p] = r.get(p, ZERO) - aup * w
                ineq.append((r, bup + aup * dc))
                r = {p: -w for p, w in dy.items()}
                for p, w in dz.items():
                    r[p] = r.get(p, ZERO) + alo * w
                ineq.append((r, -blo - alo * dc))
                ineq.append((dict(dz), sd.u[k][i] - dc))
                ineq.append(({p: -w for p, w in dz.items()}, dc - sd.l[k][i]))
    return vlo, vhi, ineq, eq, outs


def _lp_bound(rows, cvec, dconst, mult, where, objective=True):
    vlo, vhi, ineq, eq, outs = rows
    obj: dict = {}
    const = dconst
    if objective:
        for cc, (row, oc) in zip(cvec, outs):
            if cc:
                const += cc * oc
                for p, w in row.items():
                    obj[p] = obj.get(p, ZERO) + cc * w
    ys = mult.get("ineq") or {}
    mus = mult.get("eq") or {}
    if not isinstance(ys, dict) or not isinstance(mus, dict):
        raise CertificateError(f"{where}: LP multipliers must be objects {{row: value}}")
    bound = const
    for key, val in ys.items():
        r = int(key)
        y = q(val, f"{where}: ineq multiplier {key}")
        if not 0 <= r < len(ineq):
            raise CertificateError(f"{where}: ineq row {r} does not exist "
                                   f"({len(ineq)} rows)")
        if y < 0:
            raise CertificateError(f"{where}: ineq multiplier {key} is negative")
        if y:
            row, rhs = ineq[r]
            bound += y * rhs
            for p, w in row.items():
                obj[p] = obj.get(p, ZERO) - y * w
    for key, val in mus.items():
        r = int(key)
        mu = q(val, f"{where}: eq multiplier {key}")
        if not 0 <= r < len(eq):
            raise CertificateError(f"{where}: eq row {r} does not exist ({len(eq)} rows)")
        if mu:
            row, rhs = eq[r]
            bound += mu * rhs
            for p, w in row.items():
                obj[p] = obj.get(p, ZERO) - mu * w
    for p, rc in obj.items():
        if rc > 0:
            bound += rc * vhi[p]
        elif rc < 0:
            bound += rc * vlo[p]
    return bound


# ---------------------------------------------------------------------------
# fully fixed cells: exact affine maps
# ---------------------------------------------------------------------------

def region_maps(dag: ExactDag, states) -> list:
    """Exact affine maps ``[a_1, ..., a_d, a_0]`` of every node's pre-activation
    (``maps[k][i]``, ``k = 1..K+1``) when every hidden unit has an exact state
    (``states[k][i]`` 1 active or 0 inactive): the network on the cell."""
    d = dag.d
    ys = [[[ONE if p == j else ZERO for p in range(d)] + [ZERO] for j in range(d)]]
    maps: list = [None]
    for k in range(1, dag.K + 2):
        Z = [[ZERO] * d + [b] for b in dag.c[k]]
        for j, W in dag.M[k].items():
            Y = ys[j]
            for i, row in enumerate(W):
                acc = Z[i]
                for p, w in enumerate(row):
                    if w:
                        _combine(acc, w, Y[p])
        maps.append(Z)
        if k <= dag.K:
            st = states[k]
            if any(v not in (0, 1) for v in st):
                raise CertificateError(f"layer {k}: a region closing needs every unit "
                                       f"stable or fixed")
            ys.append([Z[i] if st[i] == 1 else [ZERO] * (d + 1) for i in range(len(st))])
    return maps


def region_rows(prob: Problem, maps_of: list, phases_list: list, box) -> list:
    """The rows ``(a, rhs)`` (``a . t <= rhs``) of a fully fixed cell: one per
    phase in the order given (``[part,] k, i, bit``: ``z >= 0`` or ``z <= 0``),
    then the box (``t_j <= hi_j`` for every ``j``, then ``-t_j <= -lo_j``)."""
    lo, hi = box
    d = prob.dag.d
    rows = []
    for ph in phases_list:
        *part, k, i, b = ph
        which = 1 if part and part[0] == "g" else 0
        F = maps_of[which][k][i]
        if b == 1:
            rows.append(([-v for v in F[:-1]], F[-1]))
        else:
            rows.append((list(F[:-1]), -F[-1]))
    for j in range(d):
        rows.append(([ONE if p == j else ZERO for p in range(d)], hi[j]))
    for j in range(d):
        rows.append(([-ONE if p == j else ZERO for p in range(d)], -lo[j]))
    return rows


def _region_multipliers(cl, nrows, where):
    ys = cl.get("rows")
    if not isinstance(ys, dict):
        raise CertificateError(f"{where}: 'rows' must be an object {{row: multiplier}}")
    out = {}
    for key, val in ys.items():
        r = int(key)
        y = q(val, f"{where}: multiplier {key}")
        if not 0 <= r < nrows:
            raise CertificateError(f"{where}: row {r} does not exist ({nrows} rows)")
        if y < 0:
            raise CertificateError(f"{where}: multiplier {key} is negative")
        if y:
            out[r] = y
    return out


def _region_check(prob: Problem, sides, cell, box, cl, where, c=None, dconst=None):
    """Bound of a ``region`` closing, or for ``thin`` the value ``y . rhs``."""
    if prob.mode == "twin":
        maps_of = [region_maps(prob.dags[0], sides[0].state),
                   region_maps(prob.dags[1], sides[1].state)]
    else:
        maps_of = [region_maps(prob.dag, sides[0].state)]
    rows = region_rows(prob, maps_of, [list(p) for p in cell.get("phases") or []], box)
    ys = _region_multipliers(cl, len(rows), where)
    d = prob.dag.d
    resid = [ZERO] * (d + 1)
    bound = ZERO
    for r, y in ys.items():
        a, rhs = rows[r]
        bound += y * rhs
        for p, v in enumerate(a):
            resid[p] -= y * v
    if c is None:
        if not ys or any(resid[:-1]):
            raise CertificateError(f"{where}: thin-cell multipliers must be nonzero and "
                                   f"cancel every coordinate")
        return bound
    outs = [F for mp in maps_of for F in mp[-1]]
    for cc, F in zip(c, outs):
        if cc:
            _combine(resid, cc, F)
    return bound + dconst + _fmax(resid, *box)


# ---------------------------------------------------------------------------
# checking a cell
# ---------------------------------------------------------------------------

def check_cell(prob: Problem, cell: dict, where: str = "cell") -> list:
    """Re-derive every closing of ``cell`` exactly.

    Returns ``[(clause, bound), ...]`` (for an empty cell the bound is None).
    Raises :class:`CertificateError` naming the place if a claim fails: a
    line that is not valid, an unstable unit without lines, a bound above
    the clause's threshold, a malformed entry.
    """
    if not isinstance(cell, dict):
        raise CertificateError(f"{where}: expected an object")
    dag = prob.dag
    box = _box(cell, dag.d, where)
    phases = _phases(cell, dag, where)
    closings = cell.get("closings")
    if not isinstance(closings, list) or not closings:
        raise CertificateError(f"{where}: no closings")
    try:
        if prob.mode == "twin":
            sides = _twin_bounds(prob, cell, box, phases, where)
        else:
            if set(phases) - {None}:
                raise CertificateError(f"{where}: phases of a single DAG have 3 entries")
            sides = (_single_bounds(prob, dag, cell, box, phases.get(None, {}), where),)
    except _Empty:
        # a phase contradicts a proven bound: the cell is empty, every clause holds
        return [(cl.get("clause") if isinstance(cl, dict) else None, None) for cl in closings]
    rows = None
    out: list = []
    if prob.mode == "twin":
        lp_phases = [phases.get("f", {}), phases.get("g", {})]
    else:
        lp_phases = [phases.get(None, {})]
    for n_c, cl in enumerate(closings):
        w = f"{where}: closing {n_c}"
        if not isinstance(cl, dict):
            raise CertificateError(f"{w}: expected an object")
        method = cl.get("method")
        if method == "thin":
            # y >= 0 cancelling every coordinate of the cell's rows: y . rhs < 0
            # proves the cell empty, = 0 that it has no interior (then only the
            # strict clauses, whose violation sets are open, hold on it)
            v = _region_check(prob, sides, cell, box, cl, w)
            if v > 0:
                raise CertificateError(f"{w}: thin-cell value {qstr(v)} is positive")
            if v < 0:
                return [(qi, None) for qi in range(len(prob.clauses))]
            out += [(qi, ZERO) for qi in range(len(prob.clauses)) if prob.clauses[qi][1]]
            continue
        if method == "empty":
            if rows is None:
                rows = lp_rows(prob, sides, box, lp_phases)
            b = _lp_bound(rows, None, ZERO, cl, w, objective=False)
            if not b < 0:
                raise CertificateError(f"{w}: emptiness bound {qstr(b)} is not < 0")
            out.append((cl.get("clause", -1), None))
            continue
        qi = cl.get("clause")
        if isinstance(qi, bool) or not isinstance(qi, int) or not 0 <= qi < len(prob.clauses):
            raise CertificateError(f"{w}: clause {qi!r} does not exist")
        weights = _qvec(list(cl.get("weights") or []), f"{w}: weights")
        c, dconst = prob.objective(qi, weights)
        strict = prob.clauses[qi][1]
        if method == "backward":
            alpha = None
            if cl.get("alpha"):
                alpha = {}
                for key, val in cl["alpha"].items():
                    k_s, _, i_s = str(key).partition(":")
                    a = q(val, f"{w}: alpha {key}")
                    if not ZERO <= a <= ONE:
                        raise CertificateError(f"{w}: alpha {key} = {qstr(a)} not in [0, 1]")
                    alpha[(int(k_s), int(i_s))] = a
            if prob.mode == "twin":
                if alpha:
                    raise CertificateError(f"{w}: alpha overrides are for single DAGs")
                m = dag.n[-1]
                cf, cg = c[:m], c[m:]
                bound = dconst + _backward_twin(prob, sides, dag.K + 1, cf,
                                                [a + b for a, b in zip(cf, cg)], box)
            else:
                bound = dconst + _backward(dag, sides[0], dag.K + 1, c, box, alpha)
        elif method == "lp":
            if rows is None:
                rows = lp_rows(prob, sides, box, lp_phases)
            bound = _lp_bound(rows, c, dconst, cl, w)
        elif method == "region":
            bound = _region_check(prob, sides, cell, box, cl, w, c, dconst)
        else:
            raise CertificateError(f"{w}: unknown method {method!r}")
        if (bound > 0) if strict else (bound >= 0):
            raise CertificateError(f"{w}: bound {qstr(bound)} of clause {qi} is not "
                                   f"{'<=' if strict else '<'} 0")
        out.append((qi, bound))
    return out


# ---------------------------------------------------------------------------
# a proof tree
# ---------------------------------------------------------------------------

def check_tree(prob: Problem, domain_box, cells: list, where: str = "proof") -> dict:
    """Check a bound-and-split tree: the root is the domain box, every split
    node's children cover it (an input split halves the box at ``at`` along
    ``dim``; a unit split adds the phases 1 and 0 of one unit), and every
    clause is closed on every leaf -- by the leaf's certificate or by the
    certificate of an ancestor (a split node may close some clauses itself;
    its children then only owe the others).  Certificates are checked with
    :func:`check_cell`.

    Returns counts ``{"closed": n, "split": n, "open": n}``; open leaves are
    allowed (a partial proof) and counted.  Raises CertificateError.
    """
    d = prob.dag.d
    lo0 = _qvec(list(domain_box[0]), f"{where}: domain lo", d)
    hi0 = _qvec(list(domain_box[1]), f"{where}: domain hi", d)
    by_id = {}
    for n_c, c in enumerate(cells):
        cid = c.get("id") if isinstance(c, dict) else None
        if isinstance(cid, bool) or not isinstance(cid, int) or cid in by_id:
            raise CertificateError(f"{where}: record {n_c} has a missing or repeated id")
        by_id[cid] = c
    if 0 not in by_id:
        raise CertificateError(f"{where}: no root cell (id 0)")
    counts = {"closed": 0, "split": 0, "open": 0}
    todo: list = [(0, lo0, hi0, (), frozenset(range(len(prob.clauses))))]
    seen = set()
    while todo:
        cid, lo, hi, phs, owed = todo.pop()
        if cid in seen:
            raise CertificateError(f"{where}: cell {cid} is reached twice")
        seen.add(cid)
        c = by_id.get(cid)
        w = f"{where}: cell {cid}"
        if c is None:
            raise CertificateError(f"{w} is missing")
        spec = c.get("cell") or {}
        blo, bhi = _box(spec, d, w)
        if blo != lo or bhi != hi:
            raise CertificateError(f"{w}: box differs from the one its parent's split gives")
        given = sorted(tuple(p) for p in spec.get("phases") or [])
        if given != sorted(phs):
            raise CertificateError(f"{w}: phases differ from the ones its parent's splits give")
        status = c.get("status")
        if status in ("closed", "split") and c.get("certificate"):
            cert = dict(c["certificate"])
            cert["box"] = spec.get("box")
            cert["phases"] = spec.get("phases") or []
            done = check_cell(prob, cert, w)
            if any(b is None for _, b in done):
                owed = frozenset()          # the cell is empty
            else:
                owed = owed - {qi for qi, _ in done}
        if status == "split":
            sp = c.get("split") or {}
            kids = c.get("children")
            if not isinstance(kids, list) or len(kids) != 2:
                raise CertificateError(f"{w}: a split needs two children")
            if "dim" in sp:
                j = sp["dim"]
                at = q(sp.get("at"), f"{w}: split at")
                if not (isinstance(j, int) and 0 <= j < d and lo[j] < at < hi[j]):
                    raise CertificateError(f"{w}: split {sp!r} is not inside the box")
                h1 = list(hi)
                h1[j] = at
                l2 = list(lo)
                l2[j] = at
                todo.append((kids[0], lo, h1, phs, owed))
                todo.append((kids[1], l2, hi, phs, owed))
            elif "unit" in sp:
                u = list(sp["unit"])
                if any(tuple(p[:-1]) == tuple(u) for p in phs):
                    raise CertificateError(f"{w}: unit {u} is split twice")
                todo.append((kids[0], lo, hi, phs + (tuple(u) + (1,),), owed))
                todo.append((kids[1], lo, hi, phs + (tuple(u) + (0,),), owed))
            else:
                raise CertificateError(f"{w}: unknown split {sp!r}")
            counts["split"] += 1
        elif status == "closed":
            if owed:
                raise CertificateError(f"{w}: clauses {sorted(owed)} are not closed")
            counts["closed"] += 1
        elif status == "open":
            counts["open"] += 1
        else:
            raise CertificateError(f"{w}: unknown status {status!r}")
    if len(seen) != len(by_id):
        raise CertificateError(f"{where}: {len(by_id) - len(seen)} cells are not in the tree")
    return counts


# ---------------------------------------------------------------------------
# a proof document
# ---------------------------------------------------------------------------

def problem_from_document(doc: dict) -> Problem:
    """The :class:`Problem` a proof document is about (``mode`` single, pair or twin)."""
    mode = doc.get("mode")
    clauses = (doc.get("property") or {}).get("clauses")
    if not isinstance(clauses, list):
        raise CertificateError("proof: 'property' needs a list of 'clauses'")
    if mode == "single":
        return Problem.single(dag_from_json(doc.get("network") or {}), clauses)
    nets = doc.get("networks") or {}
    f, g = dag_from_json(nets.get("f") or {}), dag_from_json(nets.get("g") or {})
    if mode == "pair":
        return Problem.single(parallel(f, g), clauses)
    if mode == "twin":
        return Problem.twin(f, g, clauses)
    raise CertificateError(f"proof: unknown mode {mode!r}")


def check_proof(doc) -> dict:
    """Verify a whole proof document (a dict or its JSON text) exactly.

    ``verdict`` ``"violated"``: the counterexample lies in the domain and
    violates its clause (exact evaluation).  Otherwise the tree is checked
    (``check_tree``); ``"holds"`` needs every leaf closed.  Returns the
    counts and the verdict proved (``"unknown"`` for a partial tree).
    """
    if isinstance(doc, (str, bytes)):
        doc = json.loads(doc)
    if not isinstance(doc, dict):
        raise CertificateError("proof: expected a JSON object")
    prob = problem_from_document(doc)
    box = (doc.get("domain") or {}).get("box") or {}
    lo = _qvec(box.get("lo"), "domain lo", prob.dag.d)
    hi = _qvec(box.get("hi"), "domain hi", prob.dag.d)
    verdict = doc.get("verdict")
    if verdict == "violated":
        ce = doc.get("counterexample") or {}
        x = _qvec(ce.get("point"), "counterexample", prob.dag.d)
        if any(not a <= v <= b for a, v, b in zip(lo, x, hi)):
            raise CertificateError("counterexample: the point is outside the domain")
        qi = ce.get("clause")
        if isinstance(qi, bool) or not isinstance(qi, int) or not 0 <= qi < len(prob.clauses):
            raise CertificateError(f"counterexample: clause {qi!r} does not exist")
        if not evaluate_clause(prob, qi, x):
            raise CertificateError(f"counterexample: clause {qi} is not violated there")
        return {"verdict": "violated"}
    counts = check_tree(prob, (lo, hi), doc.get("cells") or [])
    if verdict == "holds" and counts["open"]:
        raise CertificateError(f"proof: verdict 'holds' with {counts['open']} open cells")
    counts["verdict"] = "unknown" if counts["open"] else "holds"
    return counts
