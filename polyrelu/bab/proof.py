"""Proof objects of bound-and-split: certificate documents for cells and trees.

A cell that closes carries what :func:`polyrelu.bab.certificate.check_cell`
needs to re-derive its closing bounds exactly: the states of the units, the
relaxation lines of the relaxed units (floats, written as the exact rationals
they are), the units whose bounds were tightened by back-substitution, and per
clause the closing method (back-substitution with optional slopes, or LP
multipliers).  A proof is the tree of cells (:class:`ProofTree`): the root is
the domain box, split nodes name their split, leaves are closed (with a
certificate) or open; a violated property comes with its exactly checked
counterexample instead.

The document (``kind`` ``"equivalence-proof"`` for two networks, the kind the
result format reserves for it; ``"bound-and-split-proof"`` for one network)::

    {"format": "polyrelu-result", "version": 1, "kind": ..., "kind_version": 1,
     "mode": "single" | "pair" | "twin", "networks": {"f": ..., "g": ...} | "network": ...,
     "domain": {"box": {"lo", "hi"}}, "property": {"clauses": [...]},
     "verdict": "holds" | "violated" | "unknown", "partial": bool,
     "counterexample": {"point": [...], "clause": q} | null,
     "cells": [{"id", "cell": {"box", "phases"}, "status": "split" | "closed" | "open",
                "split": {"dim", "at"} | {"unit": [...]}, "children": [a, b],
                "certificate": {"layers": [...], "closings": [...]}}]}

>>> from fractions import Fraction
>>> fstr(0.375), fstr(Fraction(-2, 3))
('3/8', '-2/3')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from . import certificate as C

__all__ = ["fstr", "layer_docs", "box_doc", "cell_doc", "ProofTree", "proof_document",
           "check_proof", "problem_from_document"]

check_proof = C.check_proof
problem_from_document = C.problem_from_document


def fstr(x: Any) -> str:
    """An exact rational string of a float (its exact dyadic value) or a Fraction."""
    return C.qstr(Fraction(float(x)) if isinstance(x, (float, np.floating)) else Fraction(x))


def _side_doc(side, k: int, with_states: bool = True) -> dict:
    st = side.state[k]
    rel = np.flatnonzero(st == 2)
    alo, blo, aup, bup = side.lines[k]
    doc: dict = {"lines": {str(int(i)): [fstr(alo[i]), fstr(blo[i]), fstr(aup[i]), fstr(bup[i])]
                           for i in rel},
                 "refine": [int(i) for i in np.flatnonzero(side.refine[k])]}
    if with_states:
        doc["states"] = "".join("2" if s == 2 else str(int(s)) for s in st)
    return doc


def layer_docs(cb) -> list:
    """The ``layers`` entry of a cell certificate from :class:`~polyrelu.bab.relax.CellBounds`."""
    sides = cb.sides
    K = len(sides[0].state) - 1
    # an empty cell stops at the layer where a phase contradicted a bound
    K = next((k - 1 for k in range(1, K + 1) if any(s.state[k] is None for s in sides[:2])), K)
    # (layers up to and including the one where it was found have states)
    if len(sides) == 1:
        return [_side_doc(sides[0], k) for k in range(1, K + 1)]
    sf, sg, sd = sides
    out = []
    for k in range(1, K + 1):
        doc = {"f": _side_doc(sf, k), "g": _side_doc(sg, k)}
        doc["d"] = _side_doc(sd, k, False) if sd.state[k] is not None else \
            {"lines": {}, "refine": []}
        out.append(doc)
    return out


def box_doc(lo, hi) -> dict:
    return {"lo": [C.qstr(v) for v in lo], "hi": [C.qstr(v) for v in hi]}


def cell_doc(lo, hi, phases, cb=None, closings=None) -> dict:
    """A cell certificate (box, phases, layers, closings) for :func:`check_cell`."""
    doc: dict = {"box": box_doc(lo, hi), "phases": [list(p) for p in phases]}
    if cb is not None:
        doc["layers"] = layer_docs(cb)
    if closings is not None:
        doc["closings"] = closings
    return doc


@dataclass
class ProofTree:
    """The tree of cells: a list of node records in id order (see module docstring)."""

    nodes: list = field(default_factory=list)

    def add(self, lo, hi, phases) -> int:
        self.nodes.append({"id": len(self.nodes),
                           "cell": {"box": box_doc(lo, hi), "phases": [list(p) for p in phases]},
                           "status": "open"})
        return len(self.nodes) - 1

    def split(self, nid: int, split: dict, children: list) -> None:
        self.nodes[nid].update(status="split", split=split, children=list(children))

    def close(self, nid: int, certificate: dict) -> None:
        self.nodes[nid].update(status="closed", certificate=certificate)

    def counts(self) -> dict:
        out = {"closed": 0, "split": 0, "open": 0}
        for n in self.nodes:
            out[n["status"]] += 1
        return out


def proof_document(problem_doc: dict, domain, tree: ProofTree, verdict: str,
                   partial: bool, counterexample: Optional[dict] = None,
                   extra: Optional[dict] = None) -> dict:
    """The JSON document of a proof (module docstring)."""
    kind = "bound-and-split-proof" if problem_doc["mode"] == "single" else "equivalence-proof"
    doc = {"format": "polyrelu-result", "version": 1, "kind": kind, "kind_version": 1}
    doc.update(problem_doc)
    doc["domain"] = {"box": box_doc(*domain)}
    doc["verdict"] = verdict
    doc["partial"] = bool(partial)
    doc["counterexample"] = counterexample
    doc["cells"] = tree.nodes
    if extra:
        doc.update(extra)
    return doc
