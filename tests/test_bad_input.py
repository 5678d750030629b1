"""Bad input that used to end in a traceback or be silently accepted (issue 19,
item 7): each case found by fuzzing model files, API calls and CLI runs.

Huge numbers (beyond Python's 4,300-digit int/str conversion limit) are
computed with, exactly; misfitting ONNX nodes, unknown JSON keys, oversized
figures are clear :class:`~polyrelu.exceptions.PolyreluError` s naming the
problem and the place.
"""

import json
import math
import sys
from fractions import Fraction as F

import pytest

import polyrelu as pr
from polyrelu.exceptions import ModelFileError, NumberError, PolyreluError
from polyrelu.io import load
from polyrelu.io.jsonio import dumps, loads
from polyrelu.network import Network, random_network
from polyrelu.numbers import fraction_str, int_str, to_fraction

try:
    import onnx
    from onnx import helper
except ImportError:  # pragma: no cover
    onnx = helper = None
needs_onnx = pytest.mark.skipif(onnx is None, reason="needs onnx")

#: more decimal digits than Python converts between int and str by default
HUGE = 10 ** 4400 + 7
LIMIT = getattr(sys, "get_int_max_str_digits", lambda: 4300)()


# ------------------------------------------------------------ huge numbers
def test_huge_numbers_in_text_convert_exactly():
    assert len(str(10 ** 100)) < LIMIT < 4401        # the limit is really in force
    s = fraction_str(F(-HUGE, 3))
    assert s.startswith("-1000") and s.endswith("007/3") and len(s) == 4404
    assert to_fraction(s) == F(-HUGE, 3)
    assert to_fraction(int_str(HUGE)) == HUGE and to_fraction("-" + int_str(HUGE)) == -HUGE
    dec = "1." + "0" * 4399 + "25"                   # 4402 digits after one
    assert to_fraction(dec) == 1 + F(25, 10 ** 4401)
    assert to_fraction(dec + "e-3") == (1 + F(25, 10 ** 4401)) / 1000
    assert to_fraction("-" + "9" * 5000 + "/" + "3" * 5000) == -3
    with pytest.raises(NumberError, match="cannot read"):
        to_fraction("1" * 5000 + "/x")
    with pytest.raises(NumberError, match="cannot read"):
        to_fraction("1" * 5000 + "..5")


def test_network_with_a_huge_weight_saves_and_loads(tmp_path):
    net = Network.from_weights([([[HUGE, 1]], [F(1, HUGE)]), ([[1]], [0])])
    p = tmp_path / "huge.json"
    net.save(p)
    assert Network.load(p) == net
    assert loads(dumps(net)) == net
    # a JSON *number* beyond the digit limit reads exactly too
    doc = json.loads(dumps(net))
    text = json.dumps(doc).replace(f'"{int_str(HUGE)}"', int_str(HUGE))
    assert int_str(HUGE) in text and loads(text) == net


def test_polyhedron_with_huge_numbers_goes_through_cdd():
    P = pr.Polyhedron.from_inequalities([[1, 1], [-1, 0], [0, -1]], [10 ** 4400, 0, 0])
    x = P.interior_point()
    assert P.contains(x) and all(v > 0 for v in x) and sum(x) < 10 ** 4400
    assert set(P.vertices) == {(0, 0), (10 ** 4400, 0), (0, 10 ** 4400)}
    assert P.volume() == F(10 ** 8800, 2)
    A, b = P.inequalities
    assert sorted(b) == [0, 0, 10 ** 4400]
    # results beyond the limit come back from cdd as well (a vertex HUGE / 3)
    Q = pr.Polyhedron.from_inequalities([[3, 0], [-1, 0], [0, 1], [0, -1]], [HUGE, 0, 1, 0])
    assert set(Q.vertices) == {(0, 0), (0, 1), (F(HUGE, 3), 0), (F(HUGE, 3), 1)}
    assert Q.maximize([1, 0]).value == F(HUGE, 3)


def test_regions_of_a_net_with_huge_weights():
    # weights like the 3e30 and 1.8e308 of the fuzz (exact decimals): the
    # exact polyhedra of deeper layers have numbers beyond the digit limit
    big = [F(3) * 10 ** 30, F(18) * 10 ** 307, -F(18) * 10 ** 307, 1, -2]
    W1 = [[big[(i + j) % 5] for j in range(3)] for i in range(3)]
    W2 = [[big[(2 * i + j) % 5] ** 15 for j in range(3)] for i in range(3)]
    net = Network.from_weights([(W1, [1, -1, 0]), (W2, [0, big[1] ** 16, 1]),
                                ([[1, 1, 1]], [0])])
    box = pr.Polyhedron.box([-1] * 3, [1] * 3)
    regs = list(pr.regions(net, box))
    assert regs
    for r in regs:
        x = r.interior_point
        assert r.polyhedron.contains(x) and net.pattern(x) == r.pattern
        M, c = r.affine_map
        assert net(x) == tuple(sum((m * v for m, v in zip(row, x)), F(0)) + ci
                               for row, ci in zip(M, c))
    assert sum(r.polyhedron.volume() for r in regs) == 8


def test_cli_regions_json_with_huge_weights(tmp_path, capsys):
    from polyrelu.cli import main

    net = Network.from_weights([([[HUGE, 1], [1, -HUGE]], [1, 0]), ([[1, 1]], [0])])
    p = tmp_path / "huge.json"
    net.save(p)
    assert main(["regions", str(p), "--box", "-1,1", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["activation_regions"] == 4 and int_str(HUGE) in json.dumps(doc)


# ------------------------------------------------------- float overflow
def test_trajectory_length_of_a_huge_segment():
    net = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    tl = pr.trajectory_length(net, [[0, 0], [1e155, 0]])   # 1e310 squared
    assert tl.values[0] == pytest.approx(1e155, rel=1e-12)
    assert all(math.isfinite(v) for v in tl.values)
    assert dict(tl.lengths[0].terms) == {F(1e155) ** 2: 1}     # exact: 1 * sqrt(r)
    # a length beyond float64 is +inf as a float, its exact form stays exact
    far = pr.trajectory_length(net, [[0, 0], [F(10) ** 400, 0]])
    assert far.values[0] == math.inf and dict(far.lengths[0].terms) == {F(10) ** 800: 1}


def test_cli_trajectory_of_a_huge_line(capsys):
    from polyrelu.cli import main

    assert main(["trajectory", "--line", "-1e300,0", "1e300,1"]) == 0
    out = capsys.readouterr().out
    assert "trajectory length" in out
    assert main(["trajectory", "--line", "-1e300,0", "1e300,1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)      # strict JSON: no Infinity / NaN
    assert doc["lengths"][0]["value"] == pytest.approx(2e300, rel=1e-12)


# ------------------------------------------------------------------ JSON
@pytest.mark.parametrize("where, key", [
    ("top", "aLpha"), ("top", "skip"), ("layer", "B"), ("layer", "bias")])
def test_json_unknown_keys_are_named(tmp_path, where, key):
    doc = {"format": "polyrelu-network", "version": 1, "activation": "leaky_relu",
           "alpha": "1/4", "layers": [{"W": [["1", "-1"]], "b": ["0"]},
                                      {"W": [["2"]], "b": ["1"]}]}
    (doc if where == "top" else doc["layers"][1])[key] = "1/2"
    p = tmp_path / "typo.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=f"typo.json.*unknown key '{key}'") as e:
        load(p)
    if where == "layer":
        assert "layer 2" in str(e.value)
    if key == "aLpha":
        assert "alpha" in str(e.value).replace("'aLpha'", "")    # did you mean
    # metadata stays free-form
    doc = json.loads(p.read_text())
    (doc if where == "top" else doc["layers"][1]).pop(key)
    doc["metadata"] = {"anything": [1, {"goes": None}]}
    p.write_text(json.dumps(doc))
    assert load(p).alpha == F(1, 4)


# ------------------------------------------------------------------ ONNX
def _onnx_model(nodes, opset=13, inits=None, inp="x"):
    import numpy as np
    from onnx import TensorProto, numpy_helper

    inits = inits if inits is not None else {"W": np.array([[1.0, -2.0]]).T}
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(inp, TensorProto.DOUBLE, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 1])],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


@needs_onnx
def test_onnx_non_utf8_names_are_a_file_error(tmp_path):
    p = tmp_path / "names.onnx"
    model = _onnx_model([helper.make_node("MatMul", ["xname", "W"], ["y"])], inp="xname")
    data = model.SerializeToString()
    for k in range(1, 3):                # the graph input only, then both uses
        bad = data.replace(b"xname", b"x\xffame", k)
        p.write_bytes(bad)
        with pytest.raises(ModelFileError, match="names.onnx.*UTF-8"):
            load(p)


@needs_onnx
@pytest.mark.parametrize("node, match", [
    (lambda: helper.make_node("Identity", ["h", "x"], ["i"], name="two"),
     r"'two'.*Identity.*2 inputs.*1"),
    (lambda: helper.make_node("Relu", ["h"], ["i"], name="r", alpha=0.5),
     r"'r'.*Relu.*unknown attribute 'alpha'"),
    (lambda: helper.make_node("LeakyRelu", ["h"], ["i"], name="lr", alpha=[1, 2]),
     r"'lr'.*LeakyRelu.*attribute 'alpha'.*FLOAT.*INTS"),
    (lambda: helper.make_node("Flatten", ["h"], ["i", "j"], name="f2"),
     r"'f2'.*Flatten.*2 outputs"),
    (lambda: helper.make_node("Gemm", ["h"], ["i"], name="g1"),
     r"'g1'.*Gemm.*1 input.*2 to 3"),
])
def test_onnx_nodes_that_do_not_fit_their_schema_are_refused(tmp_path, node, match):
    import numpy as np

    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"), node(),
             helper.make_node("Identity", ["i"], ["y"])]
    p = tmp_path / "schema.onnx"
    onnx.save(_onnx_model(nodes, inits={"W": np.array([[1.0, -2.0]]).T}), p)
    with pytest.raises(ModelFileError, match=match) as e:
        load(p)
    assert "schema.onnx" in str(e.value)


@needs_onnx
def test_onnx_schema_check_keeps_the_real_files_and_exports(tmp_path):
    from polyrelu.io.onnxio import save_onnx

    for net in (random_network([2, 3, 3, 1], seed=1, skips={3: [1]}),
                random_network([2, 3, 1], seed=2, activation="leaky_relu", alpha="1/8"),
                random_network([2, 2, 1], seed=3, activation="hard_tanh")):
        save_onnx(net, tmp_path / "ok.onnx")
        assert load(tmp_path / "ok.onnx") == net


# ------------------------------------------------------------------ plot
def test_plot_dpi_is_bounded(tmp_path, capsys):
    from polyrelu.cli import main

    assert main(["plot", "--dpi", "100000", "--out", str(tmp_path),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--dpi 100000" in err and "pixels" in err and "\n" not in err.strip()
    assert not list(tmp_path.glob("*.png"))
    with pytest.raises(PolyreluError, match="dpi"):
        from polyrelu.commands.plot import check_figure_size

        check_figure_size((6.2, 5.4), 100000)
    check_figure_size((6.2, 5.4), 300)


# ---------------------------------------------------------------- export
def test_export_names_what_underflowed(tmp_path, capsys):
    from polyrelu.cli import main

    net = Network.from_weights([([[F(1, 2 ** 1100), 1]], [F(1, 3)]), ([[1]], [0])])
    src = tmp_path / "tiny.json"
    net.save(src)
    assert main(["export", str(src), "--to", "onnx", "--out", str(tmp_path / "t.onnx")]) == 0
    out = capsys.readouterr().out
    assert "underflow" in out and "layer 1 weight row 1, column 1" in out
    assert "2^-1100" in out and "0.0" in out
    assert "rounded" in out                        # the 1/3 bias
    assert main(["export", str(src), "--to", "onnx", "--out", str(tmp_path / "t.onnx"),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["exact"] is False and doc["underflowed"] == 1 and doc["rounded"] == 1
    # a subnormal keeps a value but loses bits: said too
    sub = Network.from_weights([([[F(3, 2 ** 1074) + F(1, 2 ** 1100)]], [0]), ([[1]], [0])])
    sub.save(src)
    assert main(["export", str(src), "--to", "onnx", "--out", str(tmp_path / "t.onnx")]) == 0
    assert "underflow" in capsys.readouterr().out
