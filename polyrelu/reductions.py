"""Function-preserving reductions as invertible passes (cvxpy's Reduction / Chain).

A pass maps a network to a smaller one that computes the same function on a
domain, and returns what is needed to map an answer about the reduced
network back to the original (cvxpy's ``Reduction.apply`` / ``invert``):

* ``apply(net, domain) -> (reduced, data)``, ``data`` an :class:`InverseData`
  (the original and reduced networks, the domain, the actions taken);
* ``invert(solution, data)``: a *counterexample* (a rational point ``x``)
  maps back to itself, re-checked exactly -- ``original(x) == reduced(x)`` --
  so a point where the reduced networks differ is a point where the original
  networks differ; a :class:`~polyrelu.equivalence.Certificate` of the reduced
  networks maps back to a :class:`ReducedCertificate` naming the passes it
  was found after.

Passes:

* :class:`IdentityPairs` -- a hidden layer made only of *identity pairs*,
  ``relu(z) - relu(-z) = z`` (P&L's "linear" units; an identity layer
  inserted at the input is ``[I; -I] x`` followed by ``[W, -W]``), computes an
  affine map of its input and is composed exactly into the next layer, at any
  depth including the first hidden layer (where the pre-activations cross 0,
  so bounds do not make either unit of a pair affine);
* :class:`UnitReductions` -- :func:`polyrelu.equivalence.reduce` (dead,
  constant, twin, zero-outgoing units, linear layers) as a pass;
* :class:`Chain` -- passes applied in turn until none changes the network;
  ``invert`` runs the inverses in reverse order.

>>> from polyrelu import Network
>>> W = [[1, 2], [3, -1]]
>>> f = Network.from_weights([(W, [0, 1]), ([[1, 1]], [0])])
>>> g = Network.from_weights([([[1, 0], [0, 1], [-1, 0], [0, -1]], [0, 0, 0, 0]),
...                           ([[1, 2, -1, -2], [3, -1, -3, 1]], [0, 1]),
...                           ([[1, 1]], [0])])   # identity layer at the input
>>> red, data = IdentityPairs().apply(g)
>>> red == f, [a.kind for a in data.actions]
(True, ['identity-layer'])
>>> IdentityPairs().invert((Fraction(1), Fraction(-2)), data)
(Fraction(1, 1), Fraction(-2, 1))
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional, Sequence

from .domains import as_domain
from .exceptions import BackendError, NetworkError
from .network import Layer, Network
from .polyhedron import Polyhedron

__all__ = ["InverseData", "ReductionPass", "IdentityPairs", "UnitReductions", "Chain",
           "ReducedCertificate", "reduce_chain"]


@dataclass(frozen=True)
class InverseData:
    """What a pass needs to map an answer back: the networks before and after,
    the domain (None = R^d) and the :class:`~polyrelu.equivalence.Reduction`
    actions taken (layer numbers of the network the pass received)."""

    name: str
    original: Network
    reduced: Network
    domain: Optional[Polyhedron]
    actions: tuple = ()
    steps: tuple = ()     # Chain only: the (pass, InverseData) it applied, in order
    notes: tuple = ()     # remarks of the passes (e.g. layers left alone)

    @property
    def changed(self) -> bool:
        return bool(self.actions)


@dataclass(frozen=True)
class ReducedCertificate:
    """A certificate of a *reduced* network, with the passes that reduced it:
    ``steps`` are the :class:`InverseData` from the original network
    (``steps[0].original``) to the one the certificate relates
    (``steps[-1].reduced``)."""

    certificate: Any
    steps: tuple[InverseData, ...]


class ReductionPass:
    """Base class: one function-preserving transformation of a network."""

    name = "pass"

    def apply(self, net: Network, domain: Any = None) -> tuple[Network, InverseData]:
        """The reduced network and the data :meth:`invert` needs."""
        raise NotImplementedError

    def invert(self, solution: Any, data: InverseData) -> Any:
        """Map a counterexample (a point) or a certificate of the reduced
        network back to the original one (see the module docstring)."""
        from .equivalence import Certificate

        if isinstance(solution, Certificate):
            return ReducedCertificate(solution, (data,))
        if isinstance(solution, ReducedCertificate):
            return ReducedCertificate(solution.certificate, (data,) + solution.steps)
        x = tuple(solution)
        if data.changed:
            if data.domain is not None and not data.domain.contains(x):
                raise NetworkError(f"{self.name}.invert: the point is not in the domain "
                                   f"the pass was applied on")
            if data.original(x) != data.reduced(x):   # pragma: no cover - bug guard
                raise BackendError(f"{self.name}: the reduced network differs from the "
                                   f"original at {tuple(map(str, x))}")
        return x


def _domain(net: Network, domain: Any) -> Optional[Polyhedron]:
    return as_domain(domain, net.input_dim, who="the network has")


class IdentityPairs(ReductionPass):
    """Compose every hidden layer made of identity pairs into the next layer.

    Units ``i``, ``j`` of one layer form an identity pair when their incoming
    rows satisfy ``(w_j, b_j) = -c (w_i, b_i)`` with ``c > 0`` and their
    outgoing columns ``col_j = -col_i / c``: then ``col_i relu(z_i) + col_j
    relu(z_j) = col_i (relu(z_i) - relu(-z_i)) = col_i z_i`` (leaky ReLU with
    slope ``alpha``: ``(1 + alpha) col_i z_i``), an affine function of the
    layer's input.  When *every* unit of a layer is in such a pair, the layer
    is affine and is composed exactly into the next one.  Networks with skips
    or hard tanh are returned unchanged.
    """

    name = "identity-pairs"

    def apply(self, net: Network, domain: Any = None) -> tuple[Network, InverseData]:
        from .equivalence import Reduction

        if not isinstance(net, Network):
            raise NetworkError(f"{self.name}: expects a Network, got {type(net).__name__}")
        dom = _domain(net, domain)
        if net.skips or net.activation == "hard_tanh" or (
                net.activation == "leaky_relu" and net.alpha == -1):
            return net, InverseData(self.name, net, net, dom)
        gain = 1 + (net.alpha if net.activation == "leaky_relu" else 0)
        layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
        actions = []
        l = 0                      # index of the hidden layer looked at (0-based)
        original_layer = 1
        while l < len(layers) - 1:
            pairs = _identity_pairs(layers[l], layers[l + 1])
            if pairs is None:
                l += 1
                original_layer += 1
                continue
            (W, b), (Wn, bn) = layers[l], layers[l + 1]
            d = len(W[0])
            # z' = sum_pairs col_i gain z_i + bn, z_i = w_i u + b_i
            newW = [[sum((row[i] * gain * W[i][k] for i, _ in pairs), Fraction(0))
                     for k in range(d)] for row in Wn]
            newb = [c + sum((row[i] * gain * b[i] for i, _ in pairs), Fraction(0))
                    for row, c in zip(Wn, bn)]
            layers[l:l + 2] = [(newW, newb)]
            actions.append(Reduction(
                "identity-layer", original_layer, tuple(range(len(W))),
                f"every unit is in an identity pair relu(z) - relu(-z) = z: the layer "
                f"is affine and was composed into layer {original_layer + 1}"))
            original_layer += 1
        if not actions:
            return net, InverseData(self.name, net, net, dom)
        red = Network(tuple(Layer(tuple(map(tuple, W)), tuple(b)) for W, b in layers),
                      (), net.activation, net.alpha, input_map=net.input_map)
        return red, InverseData(self.name, net, red, dom, tuple(actions))


def _identity_pairs(layer, nxt) -> Optional[list[tuple[int, int]]]:
    """Pairs ``(i, j)`` covering every unit of ``layer``, or None."""
    W, b = layer
    Wn, _ = nxt
    n = len(W)
    if n % 2:
        return None
    by_key: dict = {}
    for i, (row, c) in enumerate(zip(W, b)):
        full = list(row) + [c]
        lead = next((v for v in full if v), None)
        if lead is None:
            return None
        key = tuple(v / lead for v in full)       # equal for +-proportional rows
        by_key.setdefault(key, []).append((i, lead))
    pairs = []
    for group in by_key.values():
        pos = [(i, a) for i, a in group if a > 0]
        neg = [(i, a) for i, a in group if a < 0]
        if len(pos) != 1 or len(neg) != 1:
            return None
        (i, a), (j, c0) = pos[0], neg[0]
        c = -c0 / a                                 # (w_j, b_j) = -c (w_i, b_i)
        if any(row[j] * c != -row[i] for row in Wn):
            return None
        pairs.append((i, j))
    return pairs


class UnitReductions(ReductionPass):
    """:func:`polyrelu.equivalence.reduce` as a pass (dead, constant, twin,
    zero-outgoing units and linear layers, exact bounds on the domain)."""

    name = "units"

    def apply(self, net: Network, domain: Any = None) -> tuple[Network, InverseData]:
        from .equivalence import reduce

        dom = _domain(net, domain)
        red, rep = reduce(net, dom)
        return red, InverseData(self.name, net, red, dom, rep.actions, notes=rep.notes)


class Chain(ReductionPass):
    """Passes applied in turn, repeatedly, until none changes the network.

    ``apply`` returns the reduced network and an :class:`InverseData` whose
    ``actions`` are all the passes' actions in order; ``invert`` maps a
    solution back through every step in reverse order.
    """

    name = "chain"

    def __init__(self, passes: Sequence[ReductionPass], max_rounds: int = 8):
        self.passes = tuple(passes)
        self.max_rounds = max_rounds

    def apply(self, net: Network, domain: Any = None) -> tuple[Network, InverseData]:
        dom = _domain(net, domain)
        steps: list[tuple[ReductionPass, InverseData]] = []
        cur = net
        notes: list[str] = []
        # original layer number and unit indices of every layer of ``cur``:
        # each pass reports in the numbering of the network it received, the
        # chain's actions are in the original numbering (what polyrelu.check
        # replays)
        layer_ids = list(range(1, net.num_layers + 1))
        unit_ids = [list(range(w)) for w in net.widths[1:]]
        found: list = []
        for _ in range(self.max_rounds):
            changed = False
            for p in self.passes:
                cur2, data = p.apply(cur, dom)
                notes += [n for n in data.notes if n not in notes]
                if data.changed:
                    steps.append((p, data))
                    found += _translate(data.actions, layer_ids, unit_ids)
                    cur, changed = cur2, True
            if not changed:
                break
        actions = tuple(found)
        return cur, InverseData(self.name, net, cur, dom, actions, tuple(steps), tuple(notes))

    def invert(self, solution: Any, data: InverseData) -> Any:
        for p, d in reversed(data.steps):
            solution = p.invert(solution, d)
        return solution


def _translate(actions, layer_ids: list, unit_ids: list) -> list:
    """``actions`` (numbering of a pass's input) in the original numbering;
    updates ``layer_ids`` / ``unit_ids`` to the pass's output."""
    from dataclasses import replace

    out = []
    folded: list[int] = []
    removed: dict[int, set] = {}
    for a in actions:
        li = a.layer - 1
        if not 0 <= li < len(unit_ids) or any(
                not 0 <= u < len(unit_ids[li]) for u in a.units + (
                    () if a.into is None else (a.into,))):
            raise BackendError(f"a reduction pass reported {a}, which is not a unit of "
                               f"the network it received")
        ids = unit_ids[li]
        out.append(replace(a, layer=layer_ids[li], units=tuple(ids[u] for u in a.units),
                           into=None if a.into is None else ids[a.into]))
        if a.kind in ("linear-layer", "identity-layer"):
            folded.append(li)
        else:
            removed.setdefault(li, set()).update(a.units)
    for li, gone in removed.items():
        unit_ids[li] = [u for k, u in enumerate(unit_ids[li]) if k not in gone]
    for li in sorted(set(folded), reverse=True):
        del layer_ids[li]
        del unit_ids[li]
    return out


def reduce_chain(net: Network, domain: Any = None) -> tuple[Network, InverseData]:
    """The default chain: identity pairs, then unit reductions, to a fixpoint.

    >>> from polyrelu import Network
    >>> g = Network.from_weights([([[1], [-1]], [0, 0]), ([[2, -2]], [1]),
    ...                           ([[1]], [0])])        # relu(2x + 1) after an identity layer
    >>> red, data = reduce_chain(g)
    >>> red.architecture, [a.kind for a in data.actions]
    ('1-1-1', ['identity-layer'])
    """
    return Chain([IdentityPairs(), UnitReductions()]).apply(net, domain)
