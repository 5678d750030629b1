"""The float LP proposers behind the polyhedron fast path: highspy's public
``Highs`` class (warm starts) and the scipy ``linprog`` fallback.

Floats only propose; the exact answers must not depend on which solver
proposed them, and HiGHS must never print on stdout (``--json`` output).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from fractions import Fraction as F

import pytest

from polyrelu.polyhedron import Polyhedron, backend_stats, fast_path, reset_backend_stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def polytopes(d, count, seed):
    """Random full-dimensional polytopes: a box cut by rows through the origin's
    neighbourhood (many redundant, some facets), float-like dyadic data."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        A = [[F(rng.randint(-2 ** 20, 2 ** 20), 2 ** 20) for _ in range(d)]
             for _ in range(3 * d)]
        b = [F(rng.randint(2 ** 18, 2 ** 21), 2 ** 20) for _ in A]
        for j in range(d):  # a box keeps it bounded
            for s in (1, -1):
                A.append([F(s) if i == j else F(0) for i in range(d)])
                b.append(F(3))
        out.append((A, b))
    return out


def minimal_forms(cases):
    return [Polyhedron.from_inequalities(A, b).inequalities for A, b in cases]


@pytest.fixture
def no_highspy(monkeypatch):
    """Make ``import highspy`` fail, as on a machine without it."""
    monkeypatch.setitem(sys.modules, "highspy", None)


def test_highspy_and_the_scipy_fallback_give_identical_exact_answers(monkeypatch):
    cases = polytopes(6, 4, seed=3) + polytopes(7, 2, seed=4)
    with fast_path(False):
        exact = minimal_forms(cases)
    reset_backend_stats()
    with fast_path(True):
        with_highs = minimal_forms(cases)
    stats = backend_stats()
    assert stats.get("canon.highspy", 0) == len(cases)
    assert stats.get("canon.fast_ok", 0) > 0  # the proposals were used
    monkeypatch.setitem(sys.modules, "highspy", None)
    reset_backend_stats()
    with fast_path(True):
        with_scipy = minimal_forms(cases)
    stats = backend_stats()
    assert stats.get("canon.scipy", 0) == len(cases)
    assert stats.get("canon.highspy", 0) == 0
    assert stats.get("canon.fast_ok", 0) > 0
    assert with_highs == exact
    assert with_scipy == exact


def test_without_highspy_the_fast_path_still_answers(no_highspy):
    A, b = polytopes(6, 1, seed=9)[0]
    reset_backend_stats()
    with fast_path(True):
        P = Polyhedron.from_inequalities(A, b)
        got = P.inequalities
    assert backend_stats().get("canon.scipy") == 1
    with fast_path(False):
        assert got == Polyhedron.from_inequalities(A, b).inequalities


def test_highs_prints_nothing_on_stdout(capfd):
    A, b = polytopes(6, 1, seed=5)[0]
    reset_backend_stats()
    with fast_path(True):
        Polyhedron.from_inequalities(A, b).inequalities
    assert backend_stats().get("canon.highspy") == 1
    out, err = capfd.readouterr()
    assert out == ""
    assert "HiGHS" not in err


def test_a_fresh_process_prints_no_highs_banner():
    """The banner HiGHS logs when the first solver of a process is built."""
    code = (
        "import json\n"
        "from tests.test_lp_solvers import polytopes\n"
        "from polyrelu.polyhedron import Polyhedron, backend_stats, fast_path\n"
        "A, b = polytopes(6, 1, seed=5)[0]\n"
        "with fast_path(True):\n"
        "    Polyhedron.from_inequalities(A, b).inequalities\n"
        "print(json.dumps(backend_stats()))\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    stats = json.loads(res.stdout)  # stdout is exactly the one JSON line
    assert stats["canon.highspy"] == 1
    assert "HiGHS" not in res.stderr


def test_an_unusable_stdout_descriptor_does_not_stop_the_solver(monkeypatch):
    from polyrelu import polyhedron

    def broken_dup(fd):
        raise OSError("bad file descriptor")

    monkeypatch.setattr(polyhedron, "_HIGHS_BANNER_DONE", False)
    monkeypatch.setattr(polyhedron.os, "dup", broken_dup)
    hs = polyhedron._new_highs()
    assert hs is not None
    assert hs[0].getOptions().output_flag is False
    assert hs[0].getOptions().log_to_console is False
