"""The problem bound-and-split works on: network(s), their ReLU DAGs, a property.

:func:`make_problem` builds, from one network or two, the exact DAG(s) of
:mod:`polyrelu.bab.certificate` (one for a single network, a
:func:`~polyrelu.bab.certificate.parallel` DAG for a *pair*, or two DAGs of the
same shape for a *twin*), their float enclosures (:mod:`polyrelu.bab.relax`)
and the property's objectives as float rows.  Every activation and skip
structure polyrelu reads is supported (leaky ReLU and hard tanh through their
exact ReLU forms); networks with inputs maps (restricted slices) too.

Which mode for two networks (``mode="auto"``): *twin* when their DAGs have
the same shape and their weights are close (every weight differs by at most
a tenth of the layer's largest weight: re-exports, roundings, small edits --
the differences then stay small and are tracked directly, ReluDiff style);
*pair* otherwise (one block-diagonal DAG, bounds of ``f`` and ``g`` coupled
only through the objective).

A problem pickles as its networks and property (the DAGs are rebuilt, once
per process, on first use), so that it can be shipped to workers.

>>> import polyrelu as pr
>>> from polyrelu.bab.objectives import max_difference
>>> f = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])
>>> make_problem(f, f, max_difference(1)).mode
'twin'
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from ..exceptions import NetworkError, ShapeError
from ..network import Network
from . import certificate as C
from .objectives import Property
from .relax import FloatDag, FloatTwin

__all__ = ["BabProblem", "ClauseRows", "make_problem", "dag_of"]

MODES = ("auto", "single", "pair", "twin")
#: twin when every weight differs by at most this fraction of the layer's largest one
TWIN_CLOSENESS = Fraction(1, 10)


def dag_of(net: Network) -> C.ExactDag:
    """The exact ReLU DAG of a :class:`~polyrelu.network.Network`."""
    return C.dag_from_network([(L.W, L.b) for L in net.layers], dict(net.skips),
                              net.activation, net.alpha, net.input_map)


def _close(f: C.ExactDag, g: C.ExactDag) -> bool:
    for k in range(1, f.K + 2):
        for j, W in f.M[k].items():
            V = g.M[k][j]
            big = max((abs(v) for r in W for v in r), default=Fraction(0))
            big = max(big, max((abs(v) for r in V for v in r), default=Fraction(0)))
            lim = TWIN_CLOSENESS * big
            if any(abs(a - b) > lim for r1, r2 in zip(W, V) for a, b in zip(r1, r2)):
                return False
    return True


class ClauseRows:
    """The weightings of a clause's atoms as float objective rows: row ``r`` is
    ``sum_i w_ri c_i`` (enclosed by ``C`` with radius ``R``, None when exact),
    with the exact constant ``d[r]``; ``weights[r]`` the exact weights."""

    __slots__ = ("C", "R", "d", "weights")

    def __init__(self, C, R, d, weights) -> None:
        self.C, self.R, self.d, self.weights = C, R, d, weights


class BabProblem:
    """Network(s), property and their DAGs (see the module docstring).

    Attributes
    ----------
    mode : str
        ``"single"``, ``"pair"`` or ``"twin"``.
    nets : tuple of Network
    prop : Property
    exact : object
        The exact problem of ``polyrelu.bab.certificate`` (built on first use).
    fl : object
        Its float enclosures (``FloatDag`` / ``FloatTwin`` of ``polyrelu.bab.relax``).
    """

    def __init__(self, nets: tuple, prop: Property, mode: str) -> None:
        self.nets = tuple(nets)
        self.prop = prop
        self.mode = mode
        self._built: Optional[tuple] = None

    # -- pickling: networks and property only ------------------------------
    def __getstate__(self) -> dict:
        return {"nets": self.nets, "prop": self.prop, "mode": self.mode}

    def __setstate__(self, state: dict) -> None:
        BabProblem.__init__(self, state["nets"], state["prop"], state["mode"])

    def _build(self) -> tuple:
        if self._built is None:
            dags = [dag_of(n) for n in self.nets]
            clauses = self.prop.to_doc()["clauses"]
            if self.mode == "single":
                ex = C.Problem.single(dags[0], clauses)
                fl: Any = FloatDag(dags[0])
            elif self.mode == "pair":
                ex = C.Problem.single(C.parallel(*dags), clauses)
                fl = FloatDag(ex.dag)
            else:
                ex = C.Problem.twin(dags[0], dags[1], clauses)
                fl = FloatTwin(dags[0], dags[1])
            rows = []
            for cl in self.prop.clauses:
                ws = cl.weightings()
                exact_c = [[sum((w * a.c[o] for w, a in zip(wt, cl.atoms) if w), Fraction(0))
                            for o in range(self.prop.n_outputs)] for wt in ws]
                ds = [sum((w * a.d for w, a in zip(wt, cl.atoms) if w), Fraction(0))
                      for wt in ws]
                Cm = np.array([[float(v) for v in r] for r in exact_c])
                Cr = np.array([[abs(float(v - Fraction(float(v)))) * 2.0 for v in r]
                               for r in exact_c])
                exact = not np.any(Cr)
                rows.append(ClauseRows(Cm, None if exact else Cr + np.abs(Cm) * 2.0 ** -52,
                                       ds, ws))
            self._built = (ex, fl, rows)
        return self._built

    @property
    def exact(self) -> C.Problem:
        return self._build()[0]

    @property
    def fl(self) -> Any:
        return self._build()[1]

    @property
    def d(self) -> int:
        return self.nets[0].input_dim

    def clause_rows(self, q: int) -> "ClauseRows":
        """The objective rows bound-and-split tries for clause ``q``."""
        return self._build()[2][q]

    def outputs(self, x) -> tuple:
        """Exact outputs ``y`` at ``x`` (``[f(x); g(x)]`` for two networks)."""
        out: tuple = ()
        for n in self.nets:
            out += tuple(n(x))
        return out

    def violated(self, x) -> Optional[int]:
        """The first clause violated at ``x`` (exact), or None."""
        return self.prop.violated(self.outputs(x))

    def document(self) -> dict:
        """The problem part of a proof document (networks, mode, property)."""
        from ..io.jsonio import to_json_dict

        doc: dict = {"mode": self.mode, "property": self.prop.to_doc()}
        if self.mode == "single":
            doc["network"] = to_json_dict(self.nets[0])
        else:
            doc["networks"] = {"f": to_json_dict(self.nets[0]),
                               "g": to_json_dict(self.nets[1])}
        return doc

    def digest(self) -> str:
        """A content hash (for worker-side caches)."""
        import json

        return hashlib.sha256(json.dumps(self.document(), sort_keys=True).encode()
                              ).hexdigest()[:16]


def make_problem(f: Network, g: Optional[Network], prop: Property,
                 mode: str = "auto") -> BabProblem:
    """A :class:`BabProblem` for ``f`` (and ``g``) and ``prop``.

    Parameters
    ----------
    f, g : Network
        ``g`` None for a single network.  Two networks need the same input
        dimension; the property is over ``[f; g]``.
    prop : Property
    mode : {"auto", "single", "pair", "twin"}
        See the module docstring; ``"twin"`` needs DAGs of the same shape.

    Returns
    -------
    BabProblem
    """
    if not isinstance(f, Network) or (g is not None and not isinstance(g, Network)):
        raise NetworkError("make_problem: f (and g) must be Networks")
    if not isinstance(prop, Property):
        raise NetworkError(f"make_problem: prop must be a Property, got {type(prop).__name__}")
    if mode not in MODES:
        raise NetworkError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if g is None:
        if mode not in ("auto", "single"):
            raise NetworkError(f"mode {mode!r} needs two networks")
        if prop.n_outputs != f.output_dim:
            raise ShapeError(f"the property is over {prop.n_outputs} outputs, the network "
                             f"has {f.output_dim}")
        return BabProblem((f,), prop, "single")
    if f.input_dim != g.input_dim:
        raise ShapeError(f"f has {f.input_dim} inputs but g has {g.input_dim}")
    if prop.n_outputs != f.output_dim + g.output_dim:
        raise ShapeError(f"the property is over {prop.n_outputs} outputs, [f; g] has "
                         f"{f.output_dim + g.output_dim}")
    if mode == "single":
        raise NetworkError("mode 'single' is for one network")
    if mode in ("auto", "twin"):
        df, dg = dag_of(f), dag_of(g)
        same = df.same_shape(dg)
        if mode == "twin" and not same:
            raise NetworkError(f"twin mode needs networks of the same shape: "
                               f"{f!r} vs {g!r}")
        mode = "twin" if same and (mode == "twin" or _close(df, dg)) else "pair"
    return BabProblem((f, g), prop, mode)
