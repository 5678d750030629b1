"""VNN-LIB properties: the parser (round trips, errors with lines) and
``pr.verify`` cross-checked against the exact partition."""

import json
import os
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu.cli import main
from polyrelu.io.vnnlib import (
    VnnlibCase,
    VnnlibError,
    VnnlibProperty,
    load_vnnlib,
    parse_vnnlib,
    write_vnnlib,
)
from polyrelu.verify import verify

ACAS = "/work/anchors/src/stanleybak+nnenum/examples/acasxu/data"
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
ACAS11 = os.path.join(SHARED, "onnx", "ACASXU_run2a_1_1_batch_2000.onnx")

HEAD2 = """; two inputs, two outputs
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
"""
BOX2 = """(assert (>= X_0 -1))
(assert (<= X_0 1))
(assert (>= X_1 -1))
(assert (<= X_1 1))
"""


def small_net(seed=0, widths=(2, 6, 5, 2)):
    import random

    rng = random.Random(seed)
    layers = []
    for a, b in zip(widths, widths[1:]):
        W = [[Fraction(rng.randint(-8, 8), 4) for _ in range(a)] for _ in range(b)]
        layers.append((W, [Fraction(rng.randint(-4, 4), 4) for _ in range(b)]))
    return pr.Network.from_weights(layers)


# -- the parser ---------------------------------------------------------------

def test_parse_box_and_disjunction():
    text = HEAD2 + BOX2 + "(assert (or (and (<= Y_0 Y_1) (>= Y_0 1/2)) (<= (+ Y_0 (* 2 Y_1)) -3)))"
    spec = parse_vnnlib(text)
    assert (spec.n_inputs, spec.n_outputs, len(spec.cases)) == (2, 2, 1)
    c = spec.cases[0]
    assert c.lo == (-1, -1) and c.hi == (1, 1)
    assert c.disjuncts == ((((1, -1), (-1, 0)), (0, Fraction(-1, 2))), (((1, 2),), (-3,)))
    assert c.unsafe([Fraction(1), Fraction(2)]) == 0
    assert c.unsafe([Fraction(-1), Fraction(-1)]) == 1
    assert c.unsafe([Fraction(0), Fraction(0)]) is None


def test_numbers_are_exact_decimals():
    spec = parse_vnnlib(HEAD2 + "(assert (<= X_0 0.679857769))(assert (>= X_0 -1e-3))"
                        "(assert (<= X_1 1))(assert (>= X_1 0))(assert (>= Y_0 3.991125645861615))")
    assert spec.cases[0].hi[0] == Fraction(679857769, 10 ** 9)
    assert spec.cases[0].lo[0] == Fraction(-1, 1000)
    assert spec.cases[0].disjuncts[0][1] == (-Fraction("3.991125645861615"),)


def test_input_disjunction_gives_cases():
    text = HEAD2 + """(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) (>= Y_0 1))
                      (and (>= X_0 -1) (<= X_0 0) (>= X_1 0) (<= X_1 1) (>= Y_1 1))))"""
    spec = parse_vnnlib(text)
    assert [c.lo for c in spec.cases] == [(0, 0), (-1, 0)]


def test_strict_rows_are_kept():
    spec = parse_vnnlib(HEAD2 + BOX2 + "(assert (< Y_0 Y_1))(assert (<= Y_0 0))")
    c = spec.cases[0]
    assert c.strict == ((True, False),)
    assert c.unsafe([Fraction(0), Fraction(0)]) is None        # 0 < 0 fails
    assert c.unsafe([Fraction(0), Fraction(1)]) == 0


@pytest.mark.parametrize("prop", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_acas_round_trip(prop):
    path = os.path.join(ACAS, f"prop_{prop}.vnnlib")
    if not os.path.exists(path):
        pytest.skip("the nnenum ACAS Xu properties are not on this machine")
    spec = load_vnnlib(path)
    assert (spec.n_inputs, spec.n_outputs) == (5, 5)
    back = parse_vnnlib(write_vnnlib(spec))
    assert back.cases == spec.cases


fr = st.fractions(min_value=-5, max_value=5, max_denominator=50)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(fr, fr), min_size=1, max_size=3),
       st.lists(st.lists(st.tuples(st.lists(fr, min_size=2, max_size=2), fr,
                                   st.booleans()), min_size=1, max_size=3),
                min_size=1, max_size=3))
def test_write_parse_round_trip(bounds, disj):
    lo = tuple(min(a, b) for a, b in bounds)
    hi = tuple(max(a, b) + 1 for a, b in bounds)
    disjuncts = tuple((tuple(tuple(r) for r, _, _ in conj), tuple(d for _, d, _ in conj))
                      for conj in disj)
    strict = tuple(tuple(s for _, _, s in conj) for conj in disj)
    spec = VnnlibProperty(len(lo), 2, (VnnlibCase(lo, hi, disjuncts, strict),))
    back = parse_vnnlib(write_vnnlib(spec))
    # the same unsafe set (a constant row, 0 <= d, is folded: a false one drops
    # its conjunction, so compare truth, not indices)
    for y in [(Fraction(1, 3), Fraction(-2, 7)), (Fraction(0), Fraction(0)),
              (Fraction(-4), Fraction(5))]:
        for x in (lo, hi, tuple(h + 1 for h in hi)):
            assert (back.violated_at(x, y) is None) == (spec.violated_at(x, y) is None)


@pytest.mark.parametrize("text, line, words", [
    (HEAD2 + BOX2 + "(assert (>= Y_2 0))", 10, "undeclared variable 'Y_2'"),
    (HEAD2 + BOX2 + "(assert (>= Y_0 0)", 10, "never closed"),
    (HEAD2 + BOX2 + "(assert (>= Y_0 0)))", 10, "unbalanced"),
    (HEAD2 + BOX2 + "(assert (>= (* Y_0 Y_1) 0))", 10, "non-linear"),
    (HEAD2 + BOX2 + "(assert (>= Y_0 X_0))", 10, "mixes inputs"),
    (HEAD2 + BOX2 + "(assert (>= (+ X_0 X_1) 0))", 10, "one variable"),
    (HEAD2 + BOX2 + "(assert (foo Y_0 0))", 10, "unknown operator 'foo'"),
    (HEAD2 + "(declare-const Z Real)", 6, "X_i and"),
    (HEAD2 + "(declare-const X_0 Real)", 6, "declared twice"),
    (HEAD2 + "(declare-const X_5 Int)", 6, "sort 'Int'"),
    (HEAD2 + BOX2 + "(check-sat)(frobnicate)", 10, "unknown command"),
    (HEAD2 + BOX2 + "(assert (not (>= Y_0 0)))", 10, "'not'"),
    (HEAD2 + BOX2 + "(assert (<= Y_0 1.2.3))", 10, "undeclared variable '1.2.3'"),
])
def test_bad_input_names_the_line(text, line, words):
    with pytest.raises(VnnlibError) as e:
        parse_vnnlib(text, "p.vnnlib")
    assert f"p.vnnlib:{line}:" in str(e.value)
    assert words in str(e.value)
    assert isinstance(e.value, pr.PolyreluError)


def test_missing_bound_and_numbering():
    with pytest.raises(VnnlibError, match="X_1 has no upper bound"):
        parse_vnnlib(HEAD2 + "(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 0))"
                     "(assert (>= Y_0 0))", "p.vnnlib")
    with pytest.raises(VnnlibError, match="X_0 is not declared"):
        parse_vnnlib("(declare-const X_1 Real)(declare-const Y_0 Real)", "p.vnnlib")
    with pytest.raises(VnnlibError, match="no such file"):
        load_vnnlib("/no/such/file.vnnlib")


def test_model_size_mismatch_is_named():
    spec = parse_vnnlib(HEAD2 + BOX2 + "(assert (>= Y_0 0))", "p.vnnlib")
    net = small_net(widths=(3, 4, 2))
    with pytest.raises(pr.ShapeError, match="p.vnnlib: the property declares 2 inputs"):
        verify(net, spec)
    net = small_net(widths=(2, 4, 3))
    with pytest.raises(pr.ShapeError, match="3"):
        verify(net, spec)


# -- verify against the exact partition --------------------------------------

def exact_max(net, c, box):
    """max over the box of c . f(x), from every activation region's vertices."""
    best = None
    for r in pr.regions(net, pr.Polyhedron.box(*box)):
        for v in r.polyhedron.vertices:
            y = net(v)
            val = sum(a * b for a, b in zip(c, y))
            best = val if best is None or val > best else best
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_at_the_exact_maximum(seed):
    net = small_net(seed)
    box = ((-1, -1), (1, 1))
    m = exact_max(net, (1, -1), box)        # max of y_0 - y_1
    below = verify(net, parse_vnnlib(HEAD2 + BOX2 + f"(assert (>= (- Y_0 Y_1) {m}))"))
    assert below.verdict == "violated"
    x, y = below.counterexample, below.outputs
    assert net(x) == y and y[0] - y[1] >= m and all(-1 <= v <= 1 for v in x)
    above = m + Fraction(1, 1000)
    res = verify(net, parse_vnnlib(HEAD2 + BOX2 + f"(assert (>= (- Y_0 Y_1) {above}))"))
    assert res.verdict == "holds" and res.result == "unsat"
    # strict at the maximum: nowhere y_0 - y_1 > m
    assert verify(net, parse_vnnlib(
        HEAD2 + BOX2 + f"(assert (> (- Y_0 Y_1) {m}))")).verdict == "holds"


def test_fixed_coordinate_is_a_slice():
    net = small_net(3)
    m = exact_max(net.restrict([0, Fraction(1, 2)], [[1], [0]]), (1, 0), ((-1,), (1,)))
    box = "(assert (>= X_0 -1))(assert (<= X_0 1))(assert (>= X_1 1/2))(assert (<= X_1 1/2))"
    res = verify(net, parse_vnnlib(HEAD2 + box + f"(assert (>= Y_0 {m}))"))
    assert res.verdict == "violated" and res.counterexample[1] == Fraction(1, 2)
    res = verify(net, parse_vnnlib(HEAD2 + box + f"(assert (> Y_0 {m}))"))
    assert res.verdict == "holds"


def test_no_output_constraint_is_violated_anywhere():
    net = small_net(4)
    res = verify(net, parse_vnnlib(HEAD2 + BOX2))
    assert res.verdict == "violated" and res.disjunct == 0


def test_limit_gives_unknown():
    net = small_net(5, widths=(2, 12, 12, 12, 2))
    m = exact_max(net, (1, 0), ((-1, -1), (1, 1)))
    res = verify(net, parse_vnnlib(HEAD2 + BOX2 + f"(assert (> Y_0 {m}))"), max_cells=1)
    assert res.verdict in ("unknown", "holds")
    if res.verdict == "unknown":
        assert res.partial and res.reason and res.result == "unknown"


@pytest.mark.slow
def test_acas_property_1_holds():
    path = os.path.join(ACAS, "prop_1.vnnlib")
    if not os.path.exists(path):
        pytest.skip("the nnenum ACAS Xu properties are not on this machine")
    res = verify(pr.Network.load(ACAS11), path)
    assert res.verdict == "holds"


# -- the command line ---------------------------------------------------------

def test_cli_sat_and_unsat(tmp_path, capsys):
    net = small_net(0)
    model = tmp_path / "net.json"
    net.save(model)
    m = exact_max(net, (1, 0), ((-1, -1), (1, 1)))
    p_sat, p_unsat = tmp_path / "sat.vnnlib", tmp_path / "unsat.vnnlib"
    p_sat.write_text(HEAD2 + BOX2 + f"(assert (>= Y_0 {m}))")
    p_unsat.write_text(HEAD2 + BOX2 + f"(assert (> Y_0 {m}))")
    assert main(["verify", str(model), str(p_unsat)]) == 0
    assert capsys.readouterr().out.startswith("unsat")
    out = tmp_path / "res.txt"
    assert main(["verify", str(model), str(p_sat), "--json", "--results", str(out)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["result"] == "sat"
    x = [Fraction(v) for v in doc["counterexample"]["x"]]
    assert net(x)[0] >= m
    assert out.read_text().startswith("sat\n((X_0 ")


def test_cli_bad_property_exits_2(tmp_path, capsys):
    model = tmp_path / "net.json"
    small_net(0).save(model)
    bad = tmp_path / "bad.vnnlib"
    bad.write_text(HEAD2 + BOX2 + "(assert (>= Y_7 0))")
    assert main(["verify", str(model), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.vnnlib:10:" in err and "Y_7" in err
