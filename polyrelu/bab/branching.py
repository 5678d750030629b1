"""Which split a cell that stays open gets: an input dimension or a unit.

* **Input split** (:func:`input_dimension`): halve the box along the
  dimension with the largest *effect*.  Each relaxed unit contributes its
  relaxation gap (the intercept of its upper line, ``-u l / (u - l)`` for the
  chord: how far the relaxation can exceed the true value) split among the
  input dimensions in proportion to how much of the unit's range each one
  spans (``|dz/dt_j| (hi_j - lo_j)``, read off the unit's symbolic bound);
  halving dimension ``j`` shrinks exactly that share.  For twins the gaps are
  those of the differences (the chords of ``dy``), which is what a difference
  bound pays for.  Without relaxed units: the widest dimension, measured in
  the first layer's units (``sum_i |W_ij| (hi_j - lo_j)``).
* **Unit split** (:func:`split_unit`, BaBSR-like, Bunel et al. 2020): the
  relaxed unit whose relaxation costs the objective most: ``max(m, 0) b_up``
  with ``m`` the back-substituted coefficient of its output ``y`` in the
  worst objective's bound.

:func:`choose` picks input splits for low input dimension (at most
:data:`INPUT_SPLIT_MAX_DIM`, where boxes shrink quickly and every split helps
every unit) and unit splits above.

>>> import numpy as np
>>> from polyrelu.bab.certificate import dag_from_network
>>> from polyrelu.bab.relax import FloatDag, bound_single
>>> fd = FloatDag(dag_from_network([([[1, 0], [0, 10]], [0, 0]), ([[1, 1]], [0])]))
>>> cb = bound_single(fd, (np.array([-1.0, -1.0]), np.array([1.0, 1.0])))
>>> int(input_dimension(cb, fd))     # the second input drives the larger gap
1
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["INPUT_SPLIT_MAX_DIM", "input_dimension", "split_unit", "relaxed_count",
           "choose"]

#: input dimensions up to this split the input box by default
INPUT_SPLIT_MAX_DIM = 12


def _first_layer_scale(fl) -> np.ndarray:
    dag = fl.f if hasattr(fl, "f") else fl
    s = np.zeros(dag.d)
    for k in range(1, dag.K + 2):
        if 0 in dag.W[k]:
            s += dag.W[k][0].abs.sum(axis=0)
    return s


def input_dimension(cb, fl) -> int:
    """The input dimension to halve (module docstring)."""
    lo, hi = cb.box
    w = hi - lo
    d = w.shape[0]
    score = np.zeros(d)
    sides = cb.sides
    if len(sides) == 1:
        gap_side, sens_side = sides[0], sides[0]
    else:
        gap_side, sens_side = sides[2], sides[0]
    K = len(gap_side.state) - 1
    for k in range(1, K + 1):
        st = gap_side.state[k]
        if st is None or sens_side.Z[k] is None:
            break
        rel = st == 2
        if not np.any(rel):
            continue
        gap = gap_side.lines[k][3][rel] - gap_side.lines[k][1][rel]
        sens = np.abs(sens_side.Z[k][rel, :d]) * w
        tot = sens.sum(axis=1)
        ok = tot > 0
        if np.any(ok):
            score += (gap[ok] / tot[ok]) @ sens[ok]
    if not np.all(np.isfinite(score)) or score.max() <= 0:
        score = w * _first_layer_scale(fl)
        if score.max() <= 0:
            score = w
    return int(np.argmax(score))


def split_unit(cb, record: dict, twin: bool, row: int = 0) -> Optional[tuple]:
    """The relaxed unit to split, ``(k, i)`` (twins: ``(part, k, i)``, the part
    ``"f"`` unless only ``g``'s unit is relaxed), from the coefficients
    ``record`` of a back-substitution (row ``row``); None if no unit is relaxed."""
    best = -1.0
    arg: Optional[tuple] = None
    sides = cb.sides
    K = len(sides[0].state) - 1
    for k in range(1, K + 1):
        if k not in record:
            continue
        if twin:
            md, mg = record[k]
            sf, sg, sd = sides
            rel = (sf.state[k] == 2) | (sg.state[k] == 2)
            if not np.any(rel):
                continue
            s = np.zeros(rel.shape)
            if md is not None:
                m = md[row]
                s += np.maximum(m, 0) * sd.lines[k][3] - np.minimum(m, 0) * -sd.lines[k][1]
            if mg is not None:
                m = mg[row]
                s += np.maximum(m, 0) * sg.lines[k][3]
            s = np.where(rel, s + 1e-300, -1.0)
            i = int(np.argmax(s))
            if s[i] > best:
                part = "f" if sf.state[k][i] == 2 else "g"
                best, arg = float(s[i]), (part, k, i)
            continue
        else:
            side = sides[0]
            rel = side.state[k] == 2
            if not np.any(rel):
                continue
            m = record[k][row]
            l, u = side.l[k], side.u[k]
            s = np.maximum(m, 0) * side.lines[k][3] + np.maximum(-m, 0) * np.minimum(u, -l) * \
                (1.0 - side.lines[k][0]) * 0.5
        s = np.where(rel, s + 1e-300, -1.0)
        i = int(np.argmax(s))
        if s[i] > best:
            best, arg = float(s[i]), (k, i)
    return arg


def relaxed_count(cb) -> int:
    """How many units of the cell are relaxed (f and g for twins)."""
    sides = cb.sides[:2]
    return sum(int(np.sum(s.state[k] == 2)) for s in sides
               for k in range(1, len(s.state)) if s.state[k] is not None)


def choose(mode: str, d: int) -> str:
    """``"input"`` or ``"unit"`` for ``mode`` ``"auto"`` / ``"input"`` / ``"unit"``."""
    if mode == "auto":
        return "input" if d <= INPUT_SPLIT_MAX_DIM else "unit"
    return mode
