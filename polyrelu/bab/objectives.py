"""Properties that bound-and-split decides, and the networks they are about.

A :class:`Property` is a list of :class:`Clause`\\ s over the outputs ``y`` of
the problem's network(s) (``y = f(x)`` for one network, ``y = [f(x); g(x)]``
for two): clause ``q`` is *violated* at ``x`` iff every atom ``c . y + d`` is
``> 0`` (strict clause) or ``>= 0``; the property *holds* on a domain iff no
clause is violated anywhere in it (the semantics of
:mod:`polyrelu.bab.certificate`).

* :func:`max_difference` -- ``|f_k - g_k - shift_k| <= eps`` for every output
  ``k`` (both signs of each difference are a clause: ``f_k - g_k - shift_k -
  eps > 0`` and ``-(f_k - g_k - shift_k) - eps > 0``);
* :func:`top1_agreement` -- wherever ``f`` has a unique argmax ``i``, ``i`` is
  an argmax of ``g`` (clause ``(i, j)``: ``f_i > f_m`` for all ``m != i`` and
  ``g_j > g_i``): the classes agree except where ``f`` ties;
* :func:`output_constraints` -- VNN-LIB style: violated iff some conjunction
  ``C_k y <= d_k`` holds (atoms ``d_k - C_k y >= 0``, non-strict);
* :func:`objective_at_most` -- ``c . y + d <= bound``.

The networks: :func:`parallel_network` (outputs ``[f; g]``) and
:func:`difference_network` (outputs ``f_k - g_k - shift_k``, and their
negatives with ``both_signs``), built exactly as one
:class:`~polyrelu.network.Network` from block-diagonal weights.

>>> import polyrelu as pr
>>> f = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
>>> g = pr.Network.from_weights([([[1, 1]], [0]), ([[1]], [0])])
>>> D = difference_network(f, g, both_signs=True)
>>> D, D([1, -1])
(Network(2-3-2, relu), (Fraction(1, 1), Fraction(-1, 1)))
>>> len(max_difference(1, eps="1/10").clauses), len(top1_agreement(3).clauses)
(2, 6)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

from ..exceptions import NetworkError, ShapeError, UnsupportedLayerError
from ..network import Network
from ..numbers import fraction_str, to_fraction, to_matrix, to_vector

__all__ = ["Atom", "Clause", "Property", "max_difference", "top1_agreement",
           "output_constraints", "objective_at_most", "parallel_network",
           "difference_network"]

ZERO, ONE = Fraction(0), Fraction(1)


@dataclass(frozen=True)
class Atom:
    """An affine function ``c . y + d`` of the outputs."""

    c: tuple
    d: Fraction = ZERO

    def value(self, y: Sequence[Fraction]) -> Fraction:
        return sum((a * b for a, b in zip(self.c, y) if a), self.d)


@dataclass(frozen=True)
class Clause:
    """Violated at ``x`` iff every atom is ``> 0`` (``strict``) or ``>= 0``.

    ``hints`` are weight vectors (nonnegative, summing to 1) whose weighted
    sum of the atoms bound-and-split also tries: ``min_r a_r <= sum w_r a_r``,
    so a bound ``<= 0`` of the sum closes the clause even where no single atom
    is negative (e.g. ``(f_i - f_j + g_j - g_i) / 2``, a difference, for top-1).
    """

    atoms: tuple
    strict: bool = True
    label: str = ""
    hints: tuple = ()

    def weightings(self) -> list:
        """The weight vectors tried: each atom alone, then the hints."""
        n = len(self.atoms)
        out = [tuple(ONE if i == r else ZERO for i in range(n)) for r in range(n)]
        return out + [tuple(Fraction(w) for w in h) for h in self.hints]

    def violated(self, y: Sequence[Fraction]) -> bool:
        """Exactly, at the outputs ``y``."""
        for a in self.atoms:
            v = a.value(y)
            if (v <= 0) if self.strict else (v < 0):
                return False
        return True


@dataclass(frozen=True)
class Property:
    """A disjunction of clauses over ``n_outputs`` outputs (module docstring).

    ``kind`` names the constructor; ``eps`` is the tolerance of a difference
    property (else None).  ``violated(y)`` is exact.
    """

    clauses: tuple
    n_outputs: int
    kind: str = "custom"
    eps: Optional[Fraction] = None
    info: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.clauses:
            raise NetworkError("a property needs at least one clause")
        for q, cl in enumerate(self.clauses):
            if not cl.atoms:
                raise NetworkError(f"clause {q} has no atoms")
            for a in cl.atoms:
                if len(a.c) != self.n_outputs:
                    raise ShapeError(f"clause {q}: an atom has {len(a.c)} coefficients, "
                                     f"the outputs are {self.n_outputs}")

    def violated(self, y: Sequence[Fraction]) -> Optional[int]:
        """The first clause violated at outputs ``y``, or None."""
        for q, cl in enumerate(self.clauses):
            if cl.violated(y):
                return q
        return None

    @property
    def single_atoms(self) -> bool:
        return all(len(cl.atoms) == 1 for cl in self.clauses)

    def to_doc(self) -> dict:
        """The ``property`` entry of a proof document (exact strings)."""
        return {"kind": self.kind,
                "clauses": [{"atoms": [{"c": [fraction_str(v) for v in a.c],
                                        "d": fraction_str(a.d)} for a in cl.atoms],
                             "strict": cl.strict, "label": cl.label}
                            for cl in self.clauses]}


def _unit(m: int, i: int, s: Fraction = ONE) -> list:
    v = [ZERO] * m
    v[i] = s
    return v


def max_difference(m: int, eps: Any = 0, shift: Any = None,
                   outputs: Optional[Sequence[int]] = None) -> Property:
    """``|f_k - g_k - shift_k| <= eps`` for the outputs ``k`` (default all ``m``),
    over the outputs ``[f; g]``.

    Examples
    --------
    >>> p = max_difference(2, eps="1/100")
    >>> [cl.label for cl in p.clauses]
    ['f_0 - g_0 > 1/100', 'g_0 - f_0 > 1/100', 'f_1 - g_1 > 1/100', 'g_1 - f_1 > 1/100']
    """
    eps = to_fraction(eps, "eps")
    if eps < 0:
        raise NetworkError(f"eps must be >= 0, got {fraction_str(eps)}")
    s = [ZERO] * m if shift is None else list(to_vector(shift, "shift"))
    if len(s) != m:
        raise ShapeError(f"shift has {len(s)} entries, the networks have {m} outputs")
    ks = range(m) if outputs is None else [int(k) for k in outputs]
    clauses = []
    for k in ks:
        if not 0 <= k < m:
            raise ShapeError(f"output {k} out of range 0..{m - 1}")
        c = _unit(m, k) + _unit(m, k, -ONE)
        e = fraction_str(eps)
        clauses.append(Clause((Atom(tuple(c), -s[k] - eps),), True,
                              f"f_{k} - g_{k} > {e}" if not s[k] else
                              f"f_{k} - g_{k} - {fraction_str(s[k])} > {e}"))
        clauses.append(Clause((Atom(tuple(-v for v in c), s[k] - eps),), True,
                              f"g_{k} - f_{k} > {e}" if not s[k] else
                              f"g_{k} - f_{k} + {fraction_str(s[k])} > {e}"))
    return Property(tuple(clauses), 2 * m, "difference", eps, {"shift": s})


def top1_agreement(m: int) -> Property:
    """Top-1 agreement of ``f`` and ``g`` (``m`` classes each), over ``[f; g]``.

    Clause ``(i, j)``: ``f_i - f_k > 0`` for every ``k != i`` and ``g_j - g_i >
    0``.  The property holds iff wherever ``f``'s argmax ``i`` is unique, ``i``
    is an argmax of ``g``.

    Examples
    --------
    >>> [[int(v) for v in a.c] for a in top1_agreement(2).clauses[0].atoms]
    [[1, -1, 0, 0], [0, 0, -1, 1]]
    """
    if m < 2:
        raise NetworkError("top-1 agreement needs at least 2 classes")
    clauses = []
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            atoms = []
            for k in range(m):
                if k != i:
                    c = _unit(m, i)
                    c[k] = -ONE
                    atoms.append(Atom(tuple(c + [ZERO] * m)))
            c = [ZERO] * m + _unit(m, j)
            c[m + i] = -ONE
            atoms.append(Atom(tuple(c)))
            # (f_i - f_j) / 2 + (g_j - g_i) / 2 = (dz_i - dz_j) / 2: small when g ~ f
            hint = [ZERO] * len(atoms)
            hint[j if j < i else j - 1] = Fraction(1, 2)
            hint[-1] = Fraction(1, 2)
            clauses.append(Clause(tuple(atoms), True, f"f says {i}, g prefers {j}",
                                  (tuple(hint),)))
    return Property(tuple(clauses), 2 * m, "top1")


def output_constraints(disjuncts: Sequence[tuple], n_outputs: int) -> Property:
    """Violated iff some conjunction ``C_k y <= d_k`` holds (VNN-LIB's unsafe set).

    ``disjuncts`` is a list of pairs ``(C_k, d_k)`` (rows over the outputs).

    Examples
    --------
    >>> p = output_constraints([([[1, -1]], [0])], 2)     # unsafe: y_0 <= y_1
    >>> p.violated([Fraction(1), Fraction(2)]), p.violated([Fraction(2), Fraction(1)])
    (0, None)
    """
    clauses = []
    for k, (Cm, dv) in enumerate(disjuncts):
        Cm = to_matrix(Cm, f"disjunct {k}, C")
        dv = to_vector(dv, f"disjunct {k}, d")
        if len(Cm) != len(dv):
            raise ShapeError(f"disjunct {k}: C has {len(Cm)} rows, d {len(dv)} entries")
        atoms = []
        for r, (row, di) in enumerate(zip(Cm, dv)):
            if len(row) != n_outputs:
                raise ShapeError(f"disjunct {k} row {r}: {len(row)} coefficients, the "
                                 f"outputs are {n_outputs}")
            atoms.append(Atom(tuple(-v for v in row), di))
        clauses.append(Clause(tuple(atoms), False, f"disjunct {k}"))
    return Property(tuple(clauses), n_outputs, "constraints")


def objective_at_most(c: Any, d: Any = 0, bound: Any = 0) -> Property:
    """``c . y + d <= bound`` everywhere (violated where ``c . y + d > bound``).

    Examples
    --------
    >>> objective_at_most([1, 1], 0, 3).violated([Fraction(2), Fraction(2)])
    0
    """
    c = to_vector(c, "c")
    d = to_fraction(d, "d")
    bound = to_fraction(bound, "bound")
    return Property((Clause((Atom(c, d - bound),), True, "objective above bound"),),
                    len(c), "objective", info={"bound": bound})


# ---------------------------------------------------------------------------
# networks built from two networks
# ---------------------------------------------------------------------------

def _pad_identity(net: Network, depth: int) -> list:
    """The layers of a ReLU net with identity layers appended so that it has
    ``depth`` hidden layers (exact: ``relu(y) = y`` for ``y = relu(.) >= 0``)."""
    layers: list = [(L.W, L.b) for L in net.layers]
    hidden, out = layers[:-1], layers[-1]
    while len(hidden) < depth:
        w = len(hidden[-1][1]) if hidden else net.input_dim
        if not hidden:
            raise UnsupportedLayerError("cannot pad a network without hidden layers: "
                                        "relu(x) != x for inputs x < 0")
        eye = [[ONE if i == j else ZERO for j in range(w)] for i in range(w)]
        hidden.append((eye, [ZERO] * w))
    return hidden + [out]


def parallel_network(f: Network, g: Network) -> Network:
    """One exact network computing ``[f(x); g(x)]`` (block-diagonal hidden layers).

    Both networks need the same input dimension, activation (and leaky slope)
    and skip structure, and no input maps; a plain ReLU network with fewer
    hidden layers is padded with identity layers.  Other combinations raise
    :class:`~polyrelu.exceptions.UnsupportedLayerError` (bound-and-split itself
    handles every pair: it works on the ReLU DAG of each network).

    Examples
    --------
    >>> import polyrelu as pr
    >>> f = pr.Network.from_weights([([[1]], [0]), ([[2]], [0])])
    >>> parallel_network(f, f)(["-1"])
    (Fraction(0, 1), Fraction(0, 1))
    """
    for name, net in (("f", f), ("g", g)):
        if not isinstance(net, Network):
            raise NetworkError(f"{name} must be a Network, got {type(net).__name__}")
    if f.input_dim != g.input_dim:
        raise ShapeError(f"f has {f.input_dim} inputs but g has {g.input_dim}")
    if f.activation != g.activation or f.alpha != g.alpha:
        raise UnsupportedLayerError(
            f"one Network has one activation: f is {f.activation}, g is {g.activation}"
            f"{'' if f.alpha == g.alpha else ' (different leaky slopes)'}")
    if f.input_map is not None or g.input_map is not None:
        raise UnsupportedLayerError("networks with input maps cannot be combined into one "
                                    "Network")
    Lf, Lg = f.num_layers, g.num_layers
    if Lf != Lg:
        if f.activation != "relu" or f.skips or g.skips:
            raise UnsupportedLayerError(
                f"f has {Lf - 1} and g {Lg - 1} hidden layers; only plain ReLU networks "
                f"are padded with identity layers")
        depth = max(Lf, Lg) - 1
        lf, lg = _pad_identity(f, depth), _pad_identity(g, depth)
    else:
        if f.skips != g.skips:
            raise UnsupportedLayerError(f"f and g have different skips ({dict(f.skips)} vs "
                                        f"{dict(g.skips)}): a skip of the combined network "
                                        f"would add both halves")
        if any(0 in src for _, src in f.skips):
            raise UnsupportedLayerError("a skip from the input adds x to one half of the "
                                        "combined network only; not representable")
        lf = [(L.W, L.b) for L in f.layers]
        lg = [(L.W, L.b) for L in g.layers]
    layers = []
    for l, ((Wf, bf), (Wg, bg)) in enumerate(zip(lf, lg)):
        if l == 0:
            W = [list(r) for r in Wf] + [list(r) for r in Wg]
        else:
            nf, ng = len(Wf[0]), len(Wg[0])
            W = [list(r) + [ZERO] * ng for r in Wf] + [[ZERO] * nf + list(r) for r in Wg]
        layers.append((W, list(bf) + list(bg)))
    skips = {t: list(s) for t, s in f.skips} if Lf == Lg else None
    return Network.from_weights(layers, skips=skips, activation=f.activation,
                                alpha=f.alpha if f.activation == "leaky_relu" else None)


def difference_network(f: Network, g: Network, shift: Any = None,
                       both_signs: bool = False) -> Network:
    """One exact network computing ``f_k(x) - g_k(x) - shift_k`` (and, with
    ``both_signs``, their negatives after them, so that the largest output is
    ``max_k |f_k - g_k - shift_k|``).  Same requirements as :func:`parallel_network`.

    Examples
    --------
    >>> import polyrelu as pr
    >>> f = pr.Network.from_weights([([[1]], [0]), ([[1]], [0])])
    >>> difference_network(f, f, shift=["1/2"])([3])
    (Fraction(-1, 2),)
    """
    if f.output_dim != g.output_dim:
        raise ShapeError(f"f has {f.output_dim} outputs but g has {g.output_dim}")
    P = parallel_network(f, g)
    m = f.output_dim
    s = [ZERO] * m if shift is None else list(to_vector(shift, "shift"))
    if len(s) != m:
        raise ShapeError(f"shift has {len(s)} entries, the networks have {m} outputs")
    W, b = P.layers[-1].W, P.layers[-1].b
    rows = [[a - c for a, c in zip(W[k], W[m + k])] for k in range(m)]
    bias = [b[k] - b[m + k] - s[k] for k in range(m)]
    if both_signs:
        rows += [[-v for v in r] for r in rows]
        bias += [-v for v in bias]
    layers = [(L.W, L.b) for L in P.layers[:-1]] + [(rows, bias)]
    return Network.from_weights(layers, skips=dict(P.skips), activation=P.activation,
                                alpha=P.alpha if P.activation == "leaky_relu" else None)
