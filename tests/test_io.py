"""Model I/O: exact JSON, torch / TorchScript / fx, ONNX, .nnet, default model, CLI.

Cross-checks: float64 numpy evaluation of the raw file weights, onnx's own
reference evaluator, torch float64 forward passes, float32 rounding of the
.nnet decimals against the ONNX float32 weights.
"""

import json
import os
import random
import subprocess
import sys
import warnings
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyrelu.exceptions import (
    ModelFileError,
    NetworkError,
    NonFiniteError,
    PolyreluError,
    UnsupportedLayerError,
)
from polyrelu.io import SUPPORTED_EXTENSIONS, load, load_default_model, save
from polyrelu.io.jsonio import dumps, from_json_dict, load_json, loads, to_json_dict
from polyrelu.network import Network, random_network

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ONNX_DIR = os.path.join(SHARED, "data", "onnx")
NNET_DIR = os.path.join(SHARED, "data", "nnet")
ACAS_ONNX = os.path.join(ONNX_DIR, "ACASXU_run2a_1_1_batch_2000.onnx")
ACAS_NNET = os.path.join(NNET_DIR, "ACASXU_run2a_1_1_batch_2000.nnet")

needs_data = pytest.mark.skipif(not os.path.exists(ACAS_ONNX),
                                reason="shared model files not available")

# torch and onnx are install extras: without them only their own tests skip
# (a module-level importorskip would skip the JSON and .nnet tests too).
try:
    import torch
    nn = torch.nn
    _Module = nn.Module
except ImportError:  # pragma: no cover - exercised by test_io_without_extras
    torch = nn = None
    _Module = object
try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover
    onnx = TensorProto = helper = numpy_helper = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")
needs_onnx = pytest.mark.skipif(onnx is None, reason="needs onnx")


def rel_close(a, b, rel):
    return abs(a - b) <= rel * (1 + abs(b))


@st.composite
def any_net(draw):
    widths = [draw(st.integers(1, 3))] + [draw(st.integers(1, 3))
                                          for _ in range(draw(st.integers(1, 3)))]
    widths.append(draw(st.integers(1, 2)))
    if draw(st.booleans()):
        widths = [2] * (len(widths) - 1) + [widths[-1]]
    L = len(widths) - 1
    skips = {}
    for l in range(2, L + 1):
        for k in range(0, l - 1):
            if widths[k] == widths[l - 1] and draw(st.booleans()):
                skips.setdefault(l, []).append(k)
    act = draw(st.sampled_from(["relu", "leaky_relu", "hard_tanh"]))
    net = random_network(widths, seed=draw(st.integers(0, 10 ** 6)),
                         denominator=draw(st.sampled_from([1, 3, 8, 10 ** 12 + 39])),
                         scale=draw(st.sampled_from([8, 10 ** 15])), skips=skips or None,
                         activation=act,
                         alpha=draw(st.sampled_from(["1/7", "1/100"])) if act == "leaky_relu"
                         else None)
    return net


# ===================================================================== JSON
@settings(max_examples=25)
@given(any_net())
def test_json_round_trip_is_exact(net):
    assert from_json_dict(json.loads(json.dumps(to_json_dict(net)))) == net
    assert loads(json.dumps(to_json_dict(net))).skips == net.skips
    text = dumps(net, metadata={"note": "x"})          # the hand-formatted writer
    assert loads(text) == net and json.loads(text) == to_json_dict(net, {"note": "x"})


def test_json_file_round_trip(tmp_path):
    net = random_network([2, 2, 2, 1], seed=5, denominator=7, skips={3: [1]},
                         activation="leaky_relu", alpha="1/3")
    p = tmp_path / "n.json"
    save(net, p)
    back = load(p)
    assert back == net and back.alpha == F(1, 3) and back.skip_map == {3: (1,)}
    assert Network.load(p) == net
    net.save(tmp_path / "m.json")
    assert load_json(tmp_path / "m.json") == net
    doc = json.loads(p.read_text())
    assert doc["format"] == "polyrelu-network" and doc["version"] == 1
    assert doc["architecture"] == "2-2-2-1" and doc["skips"] == {"3": [1]}
    assert all(isinstance(v, str) for row in doc["layers"][0]["W"] for v in row)


def test_json_rounding_error_is_kept(tmp_path):
    net = Network.from_weights([([[0.1, 0.2]], [0]), ([[1]], [0])], max_denominator=7)
    assert net.rounding_error > 0
    assert to_json_dict(net)["rounding_error"] == str(net.rounding_error)
    # ... and read back: the loaded network reports the recorded rounding
    p = tmp_path / "rounded.json"
    save(net, p)
    back = load(p)
    assert back == net and back.rounding_error == net.rounding_error
    exact = Network.from_weights([([[0.1, 0.2]], [0]), ([[1]], [0])])
    assert loads(dumps(exact)).rounding_error == 0 and "rounding_error" not in dumps(exact)
    # rounding again on load: the changes add up (triangle inequality bound)
    again = load(p, max_denominator=2)
    second = Network.from_weights(net.weights(), max_denominator=2).rounding_error
    assert second > 0 and again.rounding_error == net.rounding_error + second
    for bad in ("-1/2", "x", True, [1]):
        with pytest.raises(ModelFileError, match="rounding_error"):
            from_json_dict(_mutate(lambda d: d.update(rounding_error=bad)))


def test_json_numbers_are_read_as_their_decimal_text():
    # JSON has no binary floats: the number 0.1 in the text is the decimal 1/10,
    # exactly like the string "0.1" (not the float 3602879701896397/2^55)
    text_num = json.dumps(BASE).replace('"1/2"', "0.1").replace('["0", "1"]', '[1e-3, 2.5E2]')
    text_str = json.dumps(BASE).replace('"1/2"', '"0.1"').replace('["0", "1"]',
                                                                   '["1e-3", "2.5E2"]')
    a, b = loads(text_num), loads(text_str)
    assert a == b and a.layers[0].W[1][0] == F(1, 10)
    assert a.layers[0].b == (F(1, 1000), F(250))
    huge = json.dumps(BASE).replace('"1/2"', "1e400").replace('"-1"', "-1.5e-400")
    h = loads(huge)
    assert h.layers[0].W[1][0] == F(10) ** 400 and h.layers[0].W[0][1] == F(-3, 2) / 10 ** 400
    for const in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ModelFileError, match="non-finite.*layer 1, W row 1, column 0"):
            loads(json.dumps(BASE).replace('"1/2"', const))


def test_deeply_nested_json_is_a_file_error(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ModelFileError, match="deep.json.*nested"):
        load(p)


def test_json_input_map_round_trip_needs_version_2(tmp_path):
    net = random_network([2, 2, 2, 1], seed=4, denominator=3, skips={3: [0]})
    sub = net.restrict([F(1, 3), 2], [[1], [F(-2, 7)]])
    doc = to_json_dict(sub)
    assert doc["version"] == 2 and doc["input_map"]["A"] == [["1"], ["-2/7"]]
    assert to_json_dict(net)["version"] == 1            # plain networks stay version 1
    back = loads(dumps(sub))
    assert back == sub and back.input_map == sub.input_map
    for t in ([F(3)], [F(-1, 5)]):
        assert back(t) == net([F(1, 3) + t[0], 2 - F(2, 7) * t[0]])
    with pytest.raises(ModelFileError, match="input_map"):
        from_json_dict(dict(doc, input_map={"A": [["1", "2"]], "a": ["0"]}))
    with pytest.raises(ModelFileError, match="version 1.*input_map"):
        from_json_dict(dict(doc, version=1))


def test_save_refuses_non_json(tmp_path):
    with pytest.raises(ModelFileError, match="json"):
        save(random_network([2, 1], seed=0), tmp_path / "x.onnx")


BASE = {"format": "polyrelu-network", "version": 1, "activation": "relu",
        "layers": [{"W": [["1", "-1"], ["1/2", "0"]], "b": ["0", "1"]},
                   {"W": [["1", "1"]], "b": ["0"]}]}


def _mutate(fn):
    doc = json.loads(json.dumps(BASE))
    fn(doc)
    return doc


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(format="other"), "format"),
    (lambda d: d.update(version=3), "version 3"),
    (lambda d: d.update(version=0), "version 0"),
    (lambda d: d.update(version="1"), "version"),
    (lambda d: d.pop("layers"), "layers"),
    (lambda d: d.update(layers=[]), "layers"),
    (lambda d: d["layers"][0].pop("b"), "layer 1"),
    (lambda d: d["layers"][1]["W"][0].append("1"), "layer 2"),
    (lambda d: d["layers"][0]["W"][1].pop(), "row 1"),
    (lambda d: d["layers"][0]["W"].__setitem__(0, "12"), "layer 1, W row 0"),
    (lambda d: d["layers"][0]["W"][1].__setitem__(0, "nan"), "layer 1, W row 1, column 0"),
    (lambda d: d["layers"][1]["b"].__setitem__(0, "inf"), "layer 2, b entry 0"),
    (lambda d: d["layers"][1]["b"].__setitem__(0, "abc"), "layer 2, b entry 0"),
    (lambda d: d["layers"][1]["b"].__setitem__(0, None), "layer 2, b entry 0"),
    (lambda d: d["layers"][1]["b"].__setitem__(0, True), "layer 2, b entry 0"),
    (lambda d: d.update(activation="tanh"), "tanh"),
    (lambda d: d.update(activation=3), "activation"),
    (lambda d: d.update(alpha="1/2"), "alpha"),
    (lambda d: d.update(skips={"2": [1]}), "skip"),
    (lambda d: d.update(skips=[1]), "skips"),
    (lambda d: d.update(skips={"x": [0]}), "skip target"),
    (lambda d: d.update(skips={"2": "0"}), "skips"),
    (lambda d: d.update(architecture="2-3-1"), "architecture"),
])
def test_invalid_json_documents_name_file_and_place(tmp_path, mutate, match):
    p = tmp_path / "broken_model.json"
    p.write_text(json.dumps(_mutate(mutate)))
    with pytest.raises(ModelFileError, match=match) as e:
        load(p)
    assert "broken_model.json" in str(e.value)


def test_valid_base_document_loads():
    net = from_json_dict(BASE)
    assert net([1, 2]) == (F(-1) * 0 + F(1, 2) + 1,)  # relu(-1)=0, relu(1/2+1)
    assert from_json_dict(_mutate(lambda d: d["layers"][1]["b"].__setitem__(0, 0.25))
                          ).layers[1].b == (F(1, 4),)


def test_truncated_and_malformed_json(tmp_path):
    text = (tmp_path / "ok.json")
    save(random_network([2, 3, 1], seed=1), text)
    full = text.read_text()
    rng = random.Random(0)
    for cut in sorted(rng.sample(range(1, len(full) - 2), 8)) + [0]:
        p = tmp_path / f"cut_{cut}.json"
        p.write_text(full[:cut])
        with pytest.raises(ModelFileError, match=f"cut_{cut}.json") as e:
            load(p)
        assert "line" in str(e.value) or "expected" in str(e.value)
    p = tmp_path / "garbage.json"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelFileError, match="garbage.json"):
        load(p)
    p = tmp_path / "list.json"
    p.write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="list.json"):
        load(p)


def test_missing_file_unknown_extension_and_directory(tmp_path):
    with pytest.raises(ModelFileError, match="nope.json"):
        load(tmp_path / "nope.json")
    with pytest.raises(ModelFileError) as e:
        load(tmp_path / "model.h5")
    for ext in SUPPORTED_EXTENSIONS:
        assert ext in str(e.value)
    d = tmp_path / "dir.json"
    d.mkdir()
    with pytest.raises(ModelFileError, match="dir.json"):
        load(d)


# ============================================================ default model
def test_default_model_is_the_2_8_8_1_phi2_network():
    net = load_default_model()
    assert net.architecture == "2-8-8-1" and net.activation == "relu" and not net.skips
    # Trained weights converted exactly from float32: dyadic denominators.
    for layer in net.layers:
        for v in [w for row in layer.W for w in row] + list(layer.b):
            assert v.denominator & (v.denominator - 1) == 0
    # The fit is rough but the radial sinc shape is visible: near 1 at the
    # origin, near 0 far out (J&V eq. 56).
    assert net([0, 0])[0] > F(1, 2)
    assert abs(net([9, 9])[0]) < F(1, 4)


def test_default_model_resource_is_package_data():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(os.path.dirname(__file__), "..", "setup.cfg"))
    pats = cfg.get("options.package_data", "polyrelu", fallback="")
    assert "data/*.json" in pats and "data/*.py" in pats
    # the training script ships with the model it trained
    from importlib import resources

    script = resources.files("polyrelu").joinpath("data", "train_default_model.py")
    assert script.is_file()
    doc = json.loads(resources.files("polyrelu").joinpath(
        "data", "default_model.json").read_text())
    assert doc["metadata"]["trained_by"] == "polyrelu/data/train_default_model.py"


def _forward_from_json(doc, x):
    """Exact forward pass written out from the JSON document itself (no
    Network code): z = W u + b, ReLU on hidden layers."""
    u = list(x)
    for l, layer in enumerate(doc["layers"], start=1):
        z = [sum((F(w) * v for w, v in zip(row, u)), F(0)) + F(b)
             for row, b in zip(layer["W"], layer["b"])]
        u = z if l == len(doc["layers"]) else [max(v, F(0)) for v in z]
    return tuple(u)


def test_default_model_evaluates_as_its_json_says():
    from importlib import resources

    doc = json.loads(resources.files("polyrelu").joinpath(
        "data", "default_model.json").read_text())
    net = load_default_model()
    assert doc["architecture"] == net.architecture == "2-8-8-1" and doc["skips"] == {}
    rng = random.Random(5)
    pts = [[F(rng.randint(-40, 40), 4), F(rng.randint(-40, 40), 4)] for _ in range(20)]
    for x in pts + [[F(1, 3), F(-7, 9)], [F(0), F(0)]]:
        assert net(x) == _forward_from_json(doc, x)      # exact, both sides


def _layer_distance(a, b):
    """Per layer, ||(W_a, b_a) - (W_b, b_b)||_F / ||(W_b, b_b)||_F (floats of
    the exact weights: display precision is enough for a bound of 0.25)."""
    out = []
    for la, lb in zip(a.layers, b.layers):
        ea = [float(v) for row in la.W for v in row] + [float(v) for v in la.b]
        eb = [float(v) for row in lb.W for v in row] + [float(v) for v in lb.b]
        out.append(float(np.linalg.norm(np.subtract(ea, eb)) / np.linalg.norm(eb)))
    return out


@pytest.mark.slow
@needs_torch
def test_retraining_reproduces_the_shipped_default_model(tmp_path):
    """The training script that ships with the default model runs and trains
    a network close to the shipped one (fixed seed, one thread; about 10 s).

    Not byte for byte: torch's float32 training is reproducible on one
    machine, but the summation order of its kernels differs between CPUs
    (the shipped file was trained on an Intel Xeon; an AMD EPYC retrains
    other bits), and 4000 Adam steps amplify a last-bit difference.  The
    bound below was measured: retraining from initial weights moved by one
    float32 ulp each (10 random ulp patterns, and the AMD run) put every
    layer within a relative Frobenius distance of 0.098 of the shipped
    weights (final MSE 0.00041-0.00044, shipped 0.00048), while a network
    trained from another seed is at 0.94 to 1.9 (MSE 0.00097).  0.25 leaves
    a factor 2.5 for CPUs and kernels not measured and still fails for any
    other training run (seed, data, architecture, optimiser).
    """
    from importlib import resources

    script = resources.files("polyrelu").joinpath("data", "train_default_model.py")
    res = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    shipped_doc = json.loads(resources.files("polyrelu").joinpath(
        "data", "default_model.json").read_text())
    new_doc = json.loads((tmp_path / "default_model.json").read_text())
    shipped, new = load_default_model(), load_json(tmp_path / "default_model.json")
    # the shipped architecture and training set-up
    assert new.architecture == shipped.architecture == "2-8-8-1"
    assert new.activation == "relu" and not new.skips and not new.rounding_error
    for key in ("seed", "epochs", "grid_points", "trained_by"):
        assert new_doc["metadata"][key] == shipped_doc["metadata"][key], key
    # float32 weights converted exactly: dyadic rationals
    assert all(v.denominator & (v.denominator - 1) == 0 for layer in new.layers
               for v in [w for row in layer.W for w in row] + list(layer.b))
    # close to the shipped weights (bound in the docstring) and as good a fit
    dist = _layer_distance(new, shipped)
    assert max(dist) <= 0.25, dist
    mse_new = float(new_doc["metadata"]["final_mse"])
    mse_shipped = float(shipped_doc["metadata"]["final_mse"])
    assert mse_shipped / 1.5 <= mse_new <= 1.5 * mse_shipped
    # the script's own check: exact evaluation of its JSON against torch
    # float64 on the same float32 weights (a few float64 roundings apart)
    line = [s for s in res.stdout.splitlines() if s.startswith("exact net(")][0]
    e, f = (float(part.split("=")[-1]) for part in line.split(";"))
    assert abs(e - f) <= 1e-12 * (1 + abs(f))
    assert new([F(3, 2), F(-9, 4)]) == _forward_from_json(new_doc, [F(3, 2), F(-9, 4)])


# ==================================================================== torch


def torch_out(module, x):
    with torch.no_grad():
        return module.double()(torch.tensor([[float(v) for v in x]],
                                            dtype=torch.float64))[0].tolist()


def exact_float_weights(layer):
    return ([[F(w) for w in row] for row in layer.weight.detach().double().tolist()],
            [F(b) for b in layer.bias.detach().double().tolist()])


@needs_torch
@settings(max_examples=15)
@given(any_net())
def test_torch_round_trip(net):
    m = net.to_torch()
    back = Network.from_torch(m)
    vals = [v for layer in net.layers for row in layer.W + (layer.b,) for v in row]
    dyadic = all(v.denominator & (v.denominator - 1) == 0 and abs(v.numerator) < 2 ** 53
                 for v in vals + [net.alpha])
    if dyadic:
        assert back == net
    else:
        assert back.architecture == net.architecture and back.skips == net.skips
        assert back.activation == net.activation
    x = [F(1, 3), F(-2)] + [F(1, 2)] * (net.input_dim - 2)
    x = x[:net.input_dim]
    for e, f in zip(net(x), torch_out(m, x)):
        assert rel_close(float(e), f, 1e-9)


@needs_torch
def test_sequential_layers_and_exact_composition():
    torch.manual_seed(0)
    l1, l2, l3, l4 = nn.Linear(2, 3), nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(2, 1)
    seq = nn.Sequential(nn.Flatten(), l1, nn.Sequential(l2, nn.Identity()), nn.Dropout(0.5),
                        l3, nn.ReLU(), l4).eval()
    net = Network.from_torch(seq)
    assert net.architecture == "2-2-1"
    # Layer 1 is the exact product l3 (l2 (l1 x)) computed here independently.
    W1, b1 = exact_float_weights(l1)
    W2, b2 = exact_float_weights(l2)
    W3, b3 = exact_float_weights(l3)
    W21 = [[sum(W2[i][k] * W1[k][j] for k in range(3)) for j in range(2)] for i in range(4)]
    b21 = [sum(W2[i][k] * b1[k] for k in range(3)) + b2[i] for i in range(4)]
    W = [[sum(W3[i][k] * W21[k][j] for k in range(4)) for j in range(2)] for i in range(2)]
    b = [sum(W3[i][k] * b21[k] for k in range(4)) + b3[i] for i in range(2)]
    assert [list(r) for r in net.layers[0].W] == W and list(net.layers[0].b) == b
    x = [F(3, 4), F(-5, 2)]
    assert rel_close(float(net(x)[0]), torch_out(seq, x)[0], 1e-12)


@needs_torch
def test_leaky_relu_slope_and_hardtanh_are_exact():
    seq = nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.1), nn.Linear(2, 1))
    net = Network.from_torch(seq)
    assert net.activation == "leaky_relu" and net.alpha == F(0.1)   # the float's exact value
    ht = Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Hardtanh(), nn.Linear(2, 1)))
    assert ht.activation == "hard_tanh"
    with pytest.raises(UnsupportedLayerError, match="Hardtanh"):
        Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Hardtanh(0, 1), nn.Linear(2, 1)))
    with pytest.raises(UnsupportedLayerError, match="differs"):
        Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2),
                                         nn.LeakyReLU(0.2), nn.Linear(2, 1)))


@needs_torch
def test_max_denominator_on_torch_import():
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    exact = Network.from_torch(seq)
    rounded = Network.from_torch(seq, max_denominator=100)
    assert rounded.rounding_error > 0
    diffs = [abs(a - b) for la, lb in zip(exact.layers, rounded.layers)
             for ra, rb in zip(la.W + (la.b,), lb.W + (lb.b,)) for a, b in zip(ra, rb)]
    assert max(diffs) == rounded.rounding_error <= F(1, 200)


@needs_torch
@pytest.mark.parametrize("name", ["Conv1d", "Sigmoid", "Tanh", "BatchNorm1d"])
def test_unsupported_torch_layer_is_named(name):
    layer = {"Conv1d": lambda: nn.Conv1d(1, 1, 1), "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh,
             "BatchNorm1d": lambda: nn.BatchNorm1d(3)}[name]()
    seq = nn.Sequential(nn.Linear(2, 3), layer, nn.Linear(3, 1))
    with pytest.raises(UnsupportedLayerError, match=name) as e:
        Network.from_torch(seq)
    assert "Linear" in str(e.value) and "ReLU" in str(e.value)   # lists what is supported


@needs_torch
def test_torch_shape_mismatch_names_the_layer():
    from polyrelu.exceptions import ShapeError

    with pytest.raises(ShapeError, match="'2'"):
        Network.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(UnsupportedLayerError):
        Network.from_torch({"0.weight": torch.zeros(1, 2)})


class ResidualHidden(_Module):
    """h1 = relu(l1 x); h2 = relu(l2 h1); out = l3(h1 + h2): skip 1 -> 3."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3, 1)

    def forward(self, x):
        h1 = torch.relu(self.l1(x))
        h2 = torch.nn.functional.relu(self.l2(h1))
        return self.l3(h1 + h2)


class ResidualInput(_Module):
    """out = l2(x + relu(l1 x)): skip 0 -> 2."""

    def __init__(self):
        super().__init__()
        self.l1, self.act, self.l2 = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)

    def forward(self, x):
        return self.l2(x + self.act(self.l1(x)))


class PreActivationSkip(_Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x):
        return torch.relu(self.l2(torch.relu(self.l1(x))) + x)


class ControlFlow(_Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(2, 1)

    def forward(self, x):
        if x.sum() > 0:
            return self.l1(x)
        return -self.l1(x)


class Sigmoidal(_Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sigmoid(self.l1(x))


@needs_torch
@pytest.mark.parametrize("cls, skips", [("ResidualHidden", ((3, (1,)),)),
                                        ("ResidualInput", ((2, (0,)),))])
def test_fx_residual_model_becomes_skip(cls, skips):
    cls = globals()[cls]
    torch.manual_seed(2)
    m = cls().eval()
    net = Network.from_torch(m)
    assert net.skips == skips
    rng = random.Random(0)
    for _ in range(5):
        x = [F(rng.randint(-40, 40), 8) for _ in range(2)]
        assert rel_close(float(net(x)[0]), torch_out(m, x)[0], 1e-12)
    # and back: to_torch of the skip network computes the same function
    m2 = net.to_torch()
    x = [F(1, 2), F(-3, 4)]
    assert rel_close(torch_out(m2, x)[0], float(net(x)[0]), 1e-12)
    assert Network.from_torch(m2) == net


@needs_torch
@pytest.mark.parametrize("cls, match", [("PreActivationSkip", "cannot be represented"),
                                        ("ControlFlow", "fx"),
                                        ("Sigmoidal", "sigmoid")])
def test_unsupported_fx_models(cls, match):
    cls = globals()[cls]
    with pytest.raises(UnsupportedLayerError, match=match):
        Network.from_torch(cls())


class _Scaled(_Module):
    """Residual nets whose additions scale a branch: ``forward`` is chosen by name."""

    def __init__(self, kind, act="relu"):
        super().__init__()
        self.kind, self.act_name = kind, act
        self.l1, self.l2, self.l3 = nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 1)

    def act(self, z):
        return torch.nn.functional.hardtanh(z) if self.act_name == "hard_tanh" else \
            torch.relu(z)

    def forward(self, x):
        k = self.kind
        if k == "input_alpha":        # x + 2 relu(l1 x), then the output layer
            return self.l3(torch.add(x, torch.relu(self.l1(x)), alpha=2))
        h = self.act(self.l1(x))
        if k == "add_alpha":          # h + 2 relu(l2 h)
            u = torch.add(h, self.act(self.l2(h)), alpha=2)
        elif k == "method_alpha":     # h + 3 relu(l2 h)
            u = h.add(torch.nn.functional.relu(self.l2(h)), alpha=3)
        elif k == "mul_const":        # h + relu(l2 h) * 0.5
            u = h + torch.nn.functional.relu(self.l2(h)) * 0.5
        elif k == "scaled_skip":      # 2 h + relu(l2 h)
            u = 2 * h + torch.relu(self.l2(h))
        elif k == "div_neg":          # -(-h) + relu(l2 h) / 4
            u = -(-h) + torch.relu(self.l2(h)) / 4
        elif k == "const_add":        # relu(l2 h) + 1.5 -> folded into l3's bias
            u = torch.relu(self.l2(h)) + 1.5
        elif k == "sub":              # h - relu(l2 h): not a ReLU skip
            u = h - torch.relu(self.l2(h))
        elif k == "torch_sub_alpha":  # h - (-1) relu(l2 h) = h + relu(l2 h)
            u = torch.sub(h, torch.relu(self.l2(h)), alpha=-1)
        elif k == "linear_branch":    # h + l2 relu(l2 h): after a linear map
            u = h + self.l2(torch.relu(self.l2(h)))
        elif k == "inconsistent":     # u3 = h + 2 h2 and u4 = h3 + h + h2
            h2 = torch.relu(self.l2(h))
            h3 = torch.relu(self.l2(h + 2 * h2))
            return self.l3(h3 + h + h2)
        else:
            raise AssertionError(k)
        return self.l3(u)


def _int_weights(m, seed):
    """Small integer weights: float64 torch then computes without rounding."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p_ in m.parameters():
            p_.copy_(torch.randint(-3, 4, p_.shape, generator=g).to(p_.dtype))
    return m.double().eval()


@needs_torch
@pytest.mark.parametrize("kind, act, skips", [
    ("add_alpha", "relu", ((3, (1,)),)), ("method_alpha", "relu", ((3, (1,)),)),
    ("mul_const", "relu", ((3, (1,)),)), ("scaled_skip", "relu", ((3, (1,)),)),
    ("input_alpha", "relu", ((2, (0,)),)), ("div_neg", "relu", ((3, (1,)),)),
    ("const_add", "relu", ()), ("torch_sub_alpha", "relu", ((3, (1,)),)),
    ("add_alpha", "hard_tanh", None)])
def test_fx_scaled_residual_branches_are_exact(kind, act, skips):
    # integer weights and inputs: torch float64 is exact, so equality is exact;
    # a scaled branch is folded into the weights (positive homogeneity of ReLU)
    for seed in range(4):
        m = _int_weights(_Scaled(kind, act), seed)
        if skips is None:     # hard tanh is not positively homogeneous: refused
            with pytest.raises(UnsupportedLayerError, match="add") as e:
                Network.from_torch(m)
            assert "hard" in str(e.value)
            return
        net = Network.from_torch(m)
        assert net.skips == skips
        rng = random.Random(seed)
        for _ in range(6):
            x = [F(rng.randint(-9, 9)) for _ in range(2)]
            assert net(x) == tuple(F(v) for v in torch_out(m, x))
    # and with random float weights: equal within float64 rounding
    torch.manual_seed(0)
    m = _Scaled(kind, act).double().eval()
    net = Network.from_torch(m)
    for x in ([F(3, 10), F(-7, 10)], [F(-2), F(5, 4)]):
        assert rel_close(float(net(x)[0]), torch_out(m, x)[0], 1e-12)


@needs_torch
@pytest.mark.parametrize("kind, match", [
    ("sub", "'sub'.*negative"), ("linear_branch", "cannot be represented"),
    ("inconsistent", "inconsistent")])
def test_fx_unrepresentable_scaled_residuals_are_refused(kind, match):
    with pytest.raises(UnsupportedLayerError, match=match):
        Network.from_torch(_Scaled(kind).double().eval())


@needs_torch
def test_fx_arithmetic_errors_name_the_node():
    class Mul2(_Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(2, 2)

        def forward(self, x):
            h = self.l1(x)
            return h * torch.relu(h)

    with pytest.raises(UnsupportedLayerError, match="'mul'.*two computed values"):
        Network.from_torch(Mul2())


@needs_torch
def test_dropout_in_training_mode_is_refused():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 1))
    seq.train()
    with pytest.raises(UnsupportedLayerError, match=r"'2'.*training mode.*eval\(\)"):
        Network.from_torch(seq)
    ref = Network.from_torch(seq.eval())
    assert ref == Network.from_torch(nn.Sequential(seq[0], seq[1], seq[3]))
    # p = 0 is the identity in either mode
    z = nn.Sequential(seq[0], nn.ReLU(), nn.Dropout(0.0), seq[3]).train()
    assert Network.from_torch(z) == ref

    class FDrop(_Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = seq[0], seq[3]

        def forward(self, x):
            return self.l2(torch.nn.functional.dropout(torch.relu(self.l1(x)), 0.3,
                                                       training=self.training))

    with pytest.raises(UnsupportedLayerError, match="training mode"):
        Network.from_torch(FDrop().train())
    assert Network.from_torch(FDrop().eval()) == ref
    # a traced TorchScript module keeps its dropout only in training mode
    traced = torch.jit.trace(seq.train(), torch.zeros(1, 2), check_trace=False)
    with pytest.raises(UnsupportedLayerError, match="training mode"):
        Network.from_torch(traced)
    assert Network.from_torch(torch.jit.trace(seq.eval(), torch.zeros(1, 2))) == ref


class _InPlace(_Module):
    """In-place operations on tensors that other uses refer to.  Eager torch
    mutates the tensor, so every alias (``u = f``, the input of
    ``nn.ReLU(inplace=True)``, the result of ``h.mul_(2)``) sees the new
    value; a view shares the memory too.  ``forward`` is chosen by name."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.a, self.b, self.c = nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.leaky = nn.LeakyReLU(0.5, inplace=True)
        self.htanh = nn.Hardtanh(inplace=True)
        self.ident = nn.Identity()

    def forward(self, x):
        k = self.kind
        Fn = torch.nn.functional
        if k == "relu_input":           # y = relu(x) in place: x + y = 2 relu(x)
            y = self.relu(x)
            return self.c(x + y)
        if k == "relu_module":          # z is relu(z) afterwards: c(2 relu(a x))
            z = self.a(x)
            y = self.relu(z)
            return self.c(z + y)
        if k == "leaky_module":         # h + y = 2 leaky(leaky(a x))
            h = Fn.leaky_relu(self.a(x), 0.5)
            y = self.leaky(h)
            return self.c(h + y)
        if k == "leaky_functional":     # the same with F.leaky_relu(inplace=True)
            h = Fn.leaky_relu(self.a(x), 0.5)
            y = Fn.leaky_relu(h, 0.5, True)
            return self.c(h + y)
        if k == "htanh_module":         # z is hardtanh(z) afterwards: c(2 hardtanh(a x))
            z = self.a(x)
            y = self.htanh(z)
            return self.c(z + y)
        if k == "htanh_functional":     # z = hardtanh(b h) in place: c(z)
            h = Fn.hardtanh(self.a(x))
            z = self.b(h)
            Fn.hardtanh(z, -1.0, 1.0, True)
            return self.c(z + h)
        h = torch.relu(self.a(x))
        if k == "torch_relu_":          # z = relu(b h) in place: c(z + h)
            z = self.b(h)
            torch.relu_(z)
            return self.c(z + h)
        if k == "method_relu_":
            z = self.b(h)
            z.relu_()
            return self.c(z + h)
        if k == "functional_relu":
            z = self.b(h)
            Fn.relu(z, inplace=True)
            return self.c(z + h)
        if k == "view_unused_base":     # a view whose base is not used again
            z = self.b(h).view(-1, 2)
            z.relu_()
            return self.c(z + h)
        f = torch.relu(self.b(h))
        if k == "mul_":                 # h becomes 2 h: c(2 h + f)
            h.mul_(2)
            return self.c(h + f)
        if k == "iadd_alias":           # u is f: c(f + h)
            u = f
            u += h
            return self.c(f)
        if k == "imul_idiv":            # u is h, now 3/2 h: c(3/2 h + f)
            u = h
            u *= 3
            u /= 2
            return self.c(h + f)
        if k == "add_result":           # g is f, now f + h: c(2 (f + h))
            g = f.add_(h)
            return self.c(g + f)
        if k == "sub_alpha":            # f - (-1) h = f + h
            f.sub_(h, alpha=-1)
            return self.c(f)
        if k == "div_":                 # h / 4 + f
            h.div_(4)
            return self.c(h + f)
        if k == "clone_copy":           # a clone is a new tensor: h stays
            u = h.clone()
            u += f
            return self.c(h + u)
        if k == "identity_alias":       # nn.Identity returns its input: h changes
            y = self.ident(h)
            y.mul_(2)
            return self.c(h + f)
        if k == "dropout_alias":        # so does eval-mode dropout
            y = Fn.dropout(h, 0.5, False)
            y.mul_(2)
            return self.c(h + f)
        if k == "view_base":            # v views h: mutating v changes h
            v = h.view(-1, 2)
            v.mul_(2)
            return self.c(h + f)
        if k == "view_later":           # mutating h changes its view v
            v = h.view(-1, 2)
            h.mul_(2)
            return self.c(v + f)
        if k == "flatten_base":
            v = torch.flatten(h, 1)
            v.mul_(2)
            return self.c(h + f)
        raise AssertionError(k)


# kind -> the import paths that must accept it (the others may refuse it;
# whatever is accepted must compute torch's function)
_ALL_PATHS = {"fx", "script", "trace", "onnx"}
_INPLACE_KINDS = {k: _ALL_PATHS for k in (
    "relu_module", "leaky_module", "leaky_functional", "htanh_module",
    "htanh_functional", "mul_", "iadd_alias", "imul_idiv", "add_result", "sub_alpha",
    "div_", "torch_relu_", "method_relu_", "functional_relu", "identity_alias",
    "dropout_alias", "view_unused_base", "clone_copy")}
# TorchScript needs a Linear first (to know the input dimension); a mutation
# through a view is refused (torch.onnx.export loses it, see below)
_INPLACE_KINDS.update({"relu_input": {"fx", "onnx"}, "view_base": {"onnx"},
                       "view_later": {"onnx"}, "flatten_base": {"trace", "onnx"}})
_VIEW_KINDS = ("view_base", "view_later", "flatten_base")


def _inplace_import(m, how, tmp_path):
    import warnings

    x0 = torch.zeros(1, 2, dtype=torch.float64)
    if how == "fx":
        return Network.from_torch(m)
    if how == "script":
        return Network.from_torch(torch.jit.script(m))
    if how == "trace":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Network.from_torch(torch.jit.trace(m, x0, check_trace=False))
    p = tmp_path / f"{m.kind}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x0,), str(p), dynamo=False)
    return load(p)


@needs_torch
@pytest.mark.parametrize("kind", sorted(_INPLACE_KINDS))
def test_inplace_ops_on_aliased_tensors_read_as_torch_computes(tmp_path, kind):
    # small integer weights and inputs: torch float64 is exact, so the
    # comparison with the eager module (fresh input tensors) is exact
    for how in ("fx", "script", "trace", "onnx"):
        if how == "onnx" and onnx is None:
            continue
        for seed in range(3):
            m = _int_weights(_InPlace(kind), seed)
            try:
                net = _inplace_import(m, how, tmp_path)
            except UnsupportedLayerError as e:
                assert how not in _INPLACE_KINDS[kind], (how, str(e))
                if kind in _VIEW_KINDS and how in ("fx", "script"):
                    assert "in-place" in str(e) and "view" in str(e)
                break
            rng = random.Random(seed)
            for _ in range(8):
                x = [F(rng.randint(-9, 9)) for _ in range(2)]
                if how == "onnx":       # the file's own function
                    ref = _reference(onnx.load(tmp_path / f"{kind}.onnx"),
                                     np.array([[float(v) for v in x]]))
                    assert net(x) == tuple(F(float(v)) for v in np.ravel(ref))
                    if kind in _VIEW_KINDS:
                        # torch.onnx.export drops a mutation made through a
                        # view: the file is not torch's function (not ours
                        # to detect); everything else must be
                        continue
                assert net(x) == tuple(F(v) for v in torch_out(m, x)), (how, seed, x)


@needs_torch
def test_inplace_refusal_names_the_node():
    m = _int_weights(_InPlace("view_later"), 0)
    with pytest.raises(UnsupportedLayerError, match="in-place operation 'mul_'.*view"):
        Network.from_torch(m)
    with pytest.raises(UnsupportedLayerError, match=r"in-place operation aten::mul_.*view"):
        Network.from_torch(torch.jit.script(m))


@needs_torch
@pytest.mark.parametrize("act", [lambda: nn.LeakyReLU(0.25), lambda: nn.LeakyReLU(-0.5),
                                 lambda: nn.Hardtanh(-1, 1), lambda: nn.ReLU()])
def test_traced_sequential_reads_activation_constants(tmp_path, act):
    # a traced child keeps its tensors, not negative_slope / min_val / max_val:
    # they are read from the constants of its graph
    for seed in range(3):
        seq = _int_weights(nn.Sequential(nn.Linear(3, 4), act(), nn.Linear(4, 4), act(),
                                         nn.Linear(4, 1)), seed)
        p = tmp_path / "traced.pt"
        torch.jit.save(torch.jit.trace(seq, torch.zeros(1, 3, dtype=torch.float64)), str(p))
        net = load(p)
        assert net == Network.from_torch(seq)
        rng = random.Random(seed)
        for _ in range(6):
            x = [F(rng.randint(-9, 9), 2) for _ in range(3)]
            assert net(x) == tuple(F(v) for v in torch_out(seq, x))


@needs_torch
@pytest.mark.parametrize("layer, match", [
    (lambda: nn.Hardtanh(-2, 2), r"'1'.*Hardtanh\(-2.*2.*only Hardtanh\(-1, 1\)"),
    (lambda: nn.Hardtanh(0.0, 1.0), r"'1'.*Hardtanh\(0.*only Hardtanh\(-1, 1\)"),
    (lambda: nn.Flatten(0), r"'1'.*Flatten\(start_dim=0\)")])
def test_traced_sequential_unsupported_constants_are_refused(tmp_path, layer, match):
    seq = nn.Sequential(nn.Linear(3, 4), layer(), nn.Linear(4, 1)).eval()
    with pytest.raises(UnsupportedLayerError, match=match):
        Network.from_torch(seq)                                # eager: same rule
    p = tmp_path / "traced.pt"
    torch.jit.save(torch.jit.trace(seq, torch.zeros(1, 3)), str(p))
    with pytest.raises(UnsupportedLayerError, match=match) as e:
        load(p)
    assert "traced.pt" in str(e.value)


@needs_torch
def test_state_dict_with_non_string_keys_is_a_file_error(tmp_path):
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    sd = {i: v for i, v in enumerate(seq.state_dict().values())}
    torch.save(sd, tmp_path / "intkey.pt")
    with pytest.raises(ModelFileError, match="intkey.pt.*key 0") as e:
        load(tmp_path / "intkey.pt", arch="2-3-1")
    assert "str" in str(e.value)


@needs_torch
@needs_onnx
def test_export_of_weights_beyond_float64_names_the_place(tmp_path):
    from polyrelu.exceptions import NumberError
    from polyrelu.io.torchio import save_torchscript

    big = F(10) ** 400
    net = Network.from_weights([([[1, 2], [3, -big]], [0, 1]), ([[1, 1]], [0])])
    bias = Network.from_weights([([[1, 2]], [0]), ([[1]], [-big])])
    alpha = Network.from_weights([([[1, 2]], [0]), ([[1]], [0])],
                                 activation="leaky_relu", alpha=big)
    skip = Network.from_weights([([[1, 2]], [0]), ([[1]], [0]), ([[big]], [0])],
                                skips={3: [1]})
    cases = ((net, r"layer 1.*row 2.*column 2.*float64"),
             (bias, r"layer 2.*bias.*row 1.*float64"),
             (alpha, r"alpha.*float64"), (skip, r"layer 3.*row 1.*column 1.*float64"))
    for n, match in cases:
        for export in (lambda: n.to_torch(),
                       lambda: save_torchscript(n, tmp_path / "big.pt"),
                       lambda: save_onnx(n, tmp_path / "big.onnx")):
            with pytest.raises(NumberError, match=match):
                export()
    assert not (tmp_path / "big.pt").exists() and not (tmp_path / "big.onnx").exists()
    # the float64 limit itself exports (and is exact)
    edge = Network.from_weights([([[F(2) ** 1023]], [0]), ([[1]], [0])])
    save_onnx(edge, tmp_path / "edge.onnx")
    assert load(tmp_path / "edge.onnx") == edge
    assert_onnx_export_runs(tmp_path / "edge.onnx", edge, [[F(1, 2)], [F(-3, 4)], [F(1)]])


@needs_torch
@pytest.mark.parametrize("kind", ["ResidualHidden", "ResidualInput", "ViewResidual",
                                  "add_alpha", "scaled_skip", "input_alpha", "const_add"])
def test_traced_and_scripted_residual_torchscript(tmp_path, kind):
    torch.manual_seed(7)
    m = (globals()[kind]() if kind[0].isupper() else _Scaled(kind)).eval()
    shape = (1, 4) if kind == "ViewResidual" else (1, 2)
    ref = Network.from_torch(m)            # eager module, through torch.fx
    for how in ("trace", "script"):
        if how == "script" and kind == "ViewResidual":
            continue        # x.size(0) / view in script code: covered by trace
        ts = torch.jit.trace(m, torch.zeros(*shape)) if how == "trace" else \
            torch.jit.script(m)
        p = tmp_path / f"{kind}_{how}.pt"
        torch.jit.save(ts, str(p))
        assert load(p) == ref, how
    if kind == "ResidualInput":
        assert ref.skips == ((2, (0,)),)


@needs_torch
def test_torchscript_unsupported_graph_names_the_node(tmp_path):
    class Sig(_Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(2, 2)

        def forward(self, x):
            return torch.sigmoid(self.l1(x)) + x

    p = tmp_path / "sig.pt"
    torch.jit.save(torch.jit.trace(Sig(), torch.zeros(1, 2)), str(p))
    with pytest.raises(UnsupportedLayerError, match="sig.pt.*aten::sigmoid") as e:
        load(p)
    assert "aten::linear" in str(e.value)        # says what is supported


@needs_torch
def test_torchscript_round_trip(tmp_path):
    from polyrelu.io.torchio import save_torchscript

    for net in (random_network([2, 3, 3, 1], seed=3),
                random_network([2, 2, 2, 2, 1], seed=4, skips={3: [1], 4: [0, 2]}),
                random_network([2, 3, 1], seed=5, activation="hard_tanh"),
                random_network([2, 3, 1], seed=6, activation="leaky_relu", alpha="1/4")):
        p = tmp_path / "m.pt"
        save_torchscript(net, p)
        assert load(p) == net
        scripted = torch.jit.load(str(p))
        x = [F(3, 8), F(-7, 4)]
        assert rel_close(torch_out(scripted, x)[0], float(net(x)[0]), 1e-12)


@needs_torch
def test_user_scripted_and_traced_sequential(tmp_path):
    torch.manual_seed(3)
    seq = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 4), nn.ReLU()),
                        nn.Linear(4, 1)).eval()
    ref = Network.from_torch(seq)
    torch.jit.save(torch.jit.script(seq), str(tmp_path / "s.pt"))
    assert load(tmp_path / "s.pt") == ref
    torch.jit.save(torch.jit.trace(seq, torch.zeros(1, 2)), str(tmp_path / "t.ts"))
    assert load(tmp_path / "t.ts") == ref
    # a scripted custom module is read from its TorchScript graph
    m = ResidualInput().eval()
    torch.jit.save(torch.jit.script(m), str(tmp_path / "r.pt"))
    assert load(tmp_path / "r.pt") == Network.from_torch(m)


@needs_torch
def test_state_dict_with_arch(tmp_path):
    torch.manual_seed(4)
    seq = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                        nn.Linear(16, 1))
    torch.save(seq.state_dict(), tmp_path / "sd.pth")
    assert load(tmp_path / "sd.pth", arch="2-16-16-1") == Network.from_torch(seq)
    with pytest.raises(ModelFileError, match="sd.pth") as e:
        load(tmp_path / "sd.pth", arch="2-8-1")
    assert "2-8-1" in str(e.value)
    with pytest.raises(ModelFileError, match="architecture"):
        load(tmp_path / "sd.pth", arch="two-layers")
    # without arch, a state dict is not a TorchScript archive: the hint says --arch
    with pytest.raises(ModelFileError, match="arch"):
        load(tmp_path / "sd.pth")


@needs_torch
def test_damaged_torch_files(tmp_path):
    from polyrelu.io.torchio import save_torchscript

    p = tmp_path / "good.pt"
    save_torchscript(random_network([2, 3, 1], seed=0), p)
    data = p.read_bytes()
    for i, cut in enumerate((len(data) // 2, 100, 0)):
        q = tmp_path / f"damaged{i}.pt"
        q.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=f"damaged{i}.pt"):
            load(q)
        with pytest.raises(ModelFileError, match=f"damaged{i}.pt"):
            load(q, arch="2-3-1")


# ===================================================================== ONNX
from polyrelu.io.onnxio import load_onnx, save_onnx  # noqa: E402  (imports onnx lazily)


def numpy_chain(path, x):
    """Independent float64 evaluation of a MatMul/Add/Relu/Sub/Flatten chain,
    reading the weights straight from the file."""
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    real = [i for i in m.graph.input if i.name not in inits][0]
    shape = [d.dim_value or 1 for d in real.type.tensor_type.shape.dim]
    env = {real.name: np.asarray(x, dtype=np.float64).reshape(shape)}
    for n in m.graph.node:
        a = [env.get(i, inits.get(i)) for i in n.input]
        if n.op_type == "MatMul":
            r = a[0] @ a[1]
        elif n.op_type == "Add":
            r = a[0] + a[1]
        elif n.op_type == "Sub":
            r = a[0] - a[1]
        elif n.op_type == "Relu":
            r = np.maximum(a[0], 0)
        elif n.op_type == "Flatten":
            r = a[0].reshape(a[0].shape[0], -1)
        else:
            raise AssertionError(n.op_type)
        env[n.output[0]] = r
    return env[m.graph.output[0].name].reshape(-1)


@needs_onnx
@needs_data
@pytest.mark.parametrize("name", ["ACASXU_run2a_1_1_batch_2000.onnx",
                                  "ACASXU_run2a_1_1_batch_2000-retrain.onnx",
                                  "ACASXU_run2a_1_1_batch_2000-retrain-mirror.onnx"])
def test_onnx_acas(name):
    path = os.path.join(ONNX_DIR, name)
    net = load(path)
    assert net.architecture == "5-50-50-50-50-50-50-5" and net.activation == "relu"
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.uniform(-1, 1, size=5)
        exact = net([float(v) for v in x])
        ref = numpy_chain(path, x)
        scale = 1 + np.max(np.abs(ref))
        assert all(abs(float(e) - r) <= 1e-9 * scale for e, r in zip(exact, ref))


@needs_onnx
@needs_data
@pytest.mark.parametrize("name, arch", [
    ("mnist8x8_student_12_12_12_10.onnx", "64-32-16-10"),
    ("mnist8x8_student_12_12_12_10-mirror.onnx", "64-12-12-12-10"),
    ("mnist8x8_student_36_10-mirror.onnx", "64-36-10"),
    ("mnist8x8_100_200_300_200_100_10-mirror.onnx", "64-40-40-10"),
    ("mnist8x8_100_200_300_200_100_10.onnx", "64-100-200-300-200-100-10"),
])
def test_onnx_mnist(name, arch):
    path = os.path.join(ONNX_DIR, name)
    net = load(path)
    assert net.architecture == arch       # the architecture in the graph, not the name
    x = np.random.default_rng(2).uniform(0, 16, size=64)
    exact = net([float(v) for v in x])      # one point: exact evaluation is heavy
    ref = numpy_chain(path, x)
    scale = 1 + np.max(np.abs(ref))
    assert all(abs(float(e) - r) <= 1e-9 * scale for e, r in zip(exact, ref))


@needs_onnx
@needs_data
def test_onnx_weights_are_the_exact_float32_values():
    net = load(ACAS_ONNX)
    m = onnx.load(ACAS_ONNX)
    W1 = numpy_helper.to_array([t for t in m.graph.initializer
                                if t.name == "Operation_1_MatMul_W"][0])
    assert [list(r) for r in net.layers[0].W] == [[F(float(v)) for v in col] for col in W1.T]


def _model(nodes, inits, in_shape, out_name="y", opset=13, elem=None):
    elem = TensorProto.FLOAT if elem is None else elem
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, in_shape)],
                          [helper.make_tensor_value_info(out_name, elem, None)],
                          initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _reference(model, x):
    from onnx.reference import ReferenceEvaluator

    init = {t.name for t in model.graph.initializer}
    name = [i.name for i in model.graph.input if i.name not in init][0]
    return ReferenceEvaluator(model).run(None, {name: x})[0].reshape(-1)


try:
    import onnxruntime as ort
except ImportError:  # pragma: no cover - a dev extra
    ort = None


def _float64_error_bound(net, x):
    """A bound on |float64 evaluation - exact| at ``x`` for a network whose
    weights are float64 (a file's own weights, read exactly).

    Each layer computes ``W u + b`` (a MatMul, then an Add) and sums skips in
    float64: by the standard dot-product error bound every entry is off by at
    most ``gamma_{n+1} (|W| |u| + |b|)`` with ``gamma_k = k u / (1 - k u)``,
    ``u = 2^-53``, plus the error of ``u`` itself carried through ``|W|``;
    the activations are 1-Lipschitz (leaky ReLU: ``max(1, |alpha|)``) and
    round at most once more.  By induction the output error is at most
    ``(L + 1) gamma_{n_max+3} max(1, |alpha|)^L A(|x|)``, where ``A`` is the
    network with every weight replaced by its absolute value (an upper bound
    of every |intermediate value|), evaluated exactly.  Twice that covers the
    second-order terms.  In float32 (an evaluator that computes in float32)
    it would be ``2^-24`` instead of ``2^-53``: far looser."""
    absl = [([[abs(w) for w in row] for row in layer.W], [abs(v) for v in layer.b])
            for layer in net.layers]
    imap = None
    if net.input_map is not None:
        A, a = net.input_map
        imap = ([[abs(w) for w in row] for row in A], [abs(v) for v in a])
    A_net = Network.from_weights(absl, skips={t: list(s) for t, s in net.skips} or None,
                                 input_map=imap)
    mag = A_net([abs(F(v)) for v in x])
    n = max(max(len(layer.W[0]), len(layer.W)) for layer in net.layers) + 3
    u = F(1, 2 ** 53)
    gamma = n * u / (1 - n * u)
    lip = max(F(1), abs(net.alpha)) ** net.num_layers
    return [2 * (net.num_layers + 2) * gamma * lip * m for m in mag]


def assert_onnx_export_runs(path, net=None, points=None):
    """What every ONNX file that polyrelu exports must satisfy: the lowest IR
    version its opsets need (runtimes refuse newer ones), onnx's full check
    (with strict shape inference), and onnxruntime computes the file's
    function: its float64 output is within the float64 error bound
    (_float64_error_bound) of the exact evaluation of the file's weights, and
    when ``net`` has float64 weights the file is ``net`` exactly."""
    m = onnx.load(path)
    assert m.ir_version == helper.find_min_ir_version_for(list(m.opset_import)), \
        m.ir_version
    onnx.checker.check_model(m, full_check=True)
    exact = load_onnx(path)              # the file's own weights, exactly
    if net is not None:
        assert exact.architecture == net.architecture
        if all(float(v) == v for v in _all_weights(net)):
            assert exact == net
    if points is None:
        rng = random.Random(len(m.SerializeToString()))
        points = [[F(rng.randint(-64, 64), 32) for _ in range(exact.input_dim)]
                  for _ in range(5)]
    if ort is None:
        pytest.skip("onnxruntime (a dev extra) is not installed")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    X = np.array([[float(v) for v in x] for x in points], dtype=np.float64)
    (Y,) = sess.run(None, {sess.get_inputs()[0].name: X})
    assert Y.dtype == np.float64 and Y.shape == (len(points), exact.output_dim)
    for x, row in zip(points, Y):
        for e, f, bound in zip(exact(x), row, _float64_error_bound(exact, x)):
            assert abs(F(float(f)) - e) <= bound, (path, x, float(e), f)


def _all_weights(net):
    vals = [v for layer in net.layers for row in layer.W for v in row]
    vals += [v for layer in net.layers for v in layer.b]
    if net.input_map is not None:
        vals += [v for row in net.input_map[0] for v in row] + list(net.input_map[1])
    return vals + ([net.alpha] if net.activation == "leaky_relu" else [])


@needs_onnx
@settings(max_examples=25, deadline=None)
@given(any_net())
def test_every_exported_onnx_model_runs_in_onnxruntime(net):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "net.onnx")
        save_onnx(net, p)
        assert_onnx_export_runs(p, net)


@needs_onnx
def test_onnx_export_writes_the_lowest_ir_version(tmp_path):
    # onnx's default IR version is that of the installed library (14 for onnx
    # 1.23); onnxruntime 1.17 reads IR <= 9
    for net in (load_default_model(),
                random_network([2, 3, 1], seed=8, activation="leaky_relu", alpha="1/4")):
        p = tmp_path / "m.onnx"
        save_onnx(net, p)
        m = onnx.load(p)
        assert m.ir_version <= 9 < onnx.IR_VERSION
        assert_onnx_export_runs(p, net)


@needs_onnx
def test_onnx_gemm_normalisation_reshape_constant(tmp_path):
    rng = np.random.default_rng(3)
    f32 = np.float32
    inits = {"mean": rng.normal(size=(1, 3)).astype(f32),
             "std": rng.uniform(0.5, 2, size=(3,)).astype(f32),
             "B1": rng.normal(size=(4, 3)).astype(f32), "C1": rng.normal(size=(4,)).astype(f32),
             "B2": rng.normal(size=(4, 2)).astype(f32), "C2": rng.normal(size=(1, 2)).astype(f32),
             "shape": np.array([1, -1], dtype=np.int64)}
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["s"]),
        helper.make_node("Div", ["s", "std"], ["d"]),
        helper.make_node("Reshape", ["d", "shape"], ["r"]),
        helper.make_node("Gemm", ["r", "B1", "C1"], ["g1"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["g1"], ["h1"]),
        helper.make_node("Identity", ["h1"], ["h1i"]),
        helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(
            np.array([0.25], dtype=f32))),
        helper.make_node("Mul", ["h1i", "k"], ["h1k"]),
        helper.make_node("Gemm", ["h1k", "B2", "C2"], ["g2"]),
        helper.make_node("Flatten", ["g2"], ["y"], axis=1),
    ]
    model = _model(nodes, inits, [1, 3])
    p = tmp_path / "norm.onnx"
    onnx.save(model, p)
    net = load(p)
    assert net.architecture == "3-4-2"
    for _ in range(4):
        x = rng.normal(size=(1, 3)).astype(f32)
        ref = _reference(model, x)   # float32 reference: loose comparison
        ex = [float(v) for v in net([float(v) for v in x[0]])]
        assert np.allclose(ex, ref, rtol=1e-4, atol=1e-4)
    # exactness: the Div folds as an exact division, the Gemm alpha exactly
    std0 = F(float(inits["std"][0]))
    assert net.layers[0].W[0][0] == F(1, 2) * F(float(inits["B1"][0, 0])) / std0


@needs_onnx
def test_onnx_opset9_attribute_forms(tmp_path):
    # opset 9: Clip bounds, Squeeze/Unsqueeze axes and Dropout ratio are
    # attributes (inputs from opset 11/13 on)
    rng = np.random.default_rng(9)
    f32 = np.float32
    inits = {"W1": rng.normal(size=(2, 3)).astype(f32), "b1": rng.normal(size=(3,)).astype(f32),
             "W2": rng.normal(size=(3, 3)).astype(f32), "W3": rng.normal(size=(3, 1)).astype(f32)}
    nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0]),
             helper.make_node("Squeeze", ["u"], ["s"], axes=[0]),
             helper.make_node("Gemm", ["s", "W1", "b1"], ["g"]),
             helper.make_node("Clip", ["g"], ["c"], min=-1.0, max=1.0),
             helper.make_node("Dropout", ["c"], ["d"], ratio=0.25),
             helper.make_node("MatMul", ["d", "W2"], ["m"]),
             helper.make_node("Clip", ["m"], ["c2"], min=-1.0, max=1.0),
             helper.make_node("Flatten", ["c2"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "W3"], ["y"])]
    model = _model(nodes, inits, [1, 2], opset=9)
    p = tmp_path / "opset9.onnx"
    onnx.save(model, p)
    net = load(p)
    assert net.architecture == "2-3-3-1" and net.activation == "hard_tanh"
    W1, W2, W3 = (inits[k].astype(np.float64) for k in ("W1", "W2", "W3"))
    assert [list(r) for r in net.layers[0].W] == [[F(float(v)) for v in col] for col in W1.T]
    for _ in range(6):
        x = rng.normal(scale=2, size=(1, 2)).astype(f32)
        # independent float64 evaluation of the same weights
        h = np.clip(x.astype(np.float64) @ W1 + inits["b1"].astype(np.float64), -1, 1)
        y = np.clip(h @ W2, -1, 1) @ W3
        ex = net([float(v) for v in x[0]])
        assert abs(float(ex[0]) - y[0, 0]) <= 1e-12 * (1 + abs(y[0, 0]))
        assert np.allclose([float(v) for v in ex], _reference(model, x), rtol=1e-5,
                           atol=1e-5)   # onnx's own (float32) evaluator
    # a Clip attribute other than [-1, 1] is refused, naming the node
    nodes[3] = helper.make_node("Clip", ["g"], ["c"], min=0.0, max=6.0, name="relu6")
    onnx.save(_model(nodes, inits, [1, 2], opset=9), p)
    with pytest.raises(UnsupportedLayerError, match="relu6.*Clip"):
        load(p)


@needs_onnx
def test_onnx_skip_round_trip_and_leaky(tmp_path):
    for net in (random_network([2, 2, 2, 2, 1], seed=7, skips={3: [1], 4: [0]}),
                random_network([2, 3, 1], seed=8, activation="leaky_relu", alpha="1/4"),
                random_network([2, 3, 3, 1], seed=9, activation="hard_tanh")):
        p = tmp_path / "rt.onnx"
        save_onnx(net, p)
        assert load_onnx(p) == net
        assert_onnx_export_runs(p, net)
        m = onnx.load(p)
        x = np.array([[0.375, -1.25]])
        assert np.allclose(_reference(m, x), [float(v) for v in net([0.375, -1.25])],
                           rtol=1e-12)


@needs_onnx
@pytest.mark.parametrize("op, nodes_fn, match", [
    ("Sigmoid", lambda: [helper.make_node("MatMul", ["x", "W"], ["m"], name="mm"),
                         helper.make_node("Sigmoid", ["m"], ["y"], name="sig")],
     r"node 1 'sig' \(op Sigmoid\)"),
    ("MatMul", lambda: [helper.make_node("MatMul", ["W2", "x"], ["y"], name="wrong_side")],
     "wrong_side"),
    ("Add", lambda: [helper.make_node("MatMul", ["x", "W"], ["m"]),
                     helper.make_node("Relu", ["m"], ["h"]),
                     helper.make_node("MatMul", ["h", "W"], ["m2"]),
                     helper.make_node("Add", ["m2", "x"], ["y"], name="preact_add")],
     "preact_add.*cannot be represented"),
    ("Clip", lambda: [helper.make_node("MatMul", ["x", "W"], ["m"]),
                      helper.make_node("Clip", ["m", "lo", "hi"], ["y"], name="clip")],
     "Clip"),
])
def test_onnx_unsupported_nodes_are_named(tmp_path, op, nodes_fn, match):
    inits = {"W": np.ones((2, 2), np.float32), "W2": np.ones((2, 1), np.float32),
             "lo": np.array(0, np.float32), "hi": np.array(6, np.float32)}
    p = tmp_path / "unsupported.onnx"
    onnx.save(_model(nodes_fn(), inits, [1, 2]), p)
    with pytest.raises(UnsupportedLayerError, match=match) as e:
        load(p)
    assert "unsupported.onnx" in str(e.value)


@needs_onnx
def test_onnx_scaled_residuals(tmp_path):
    # h + 0.5 relu(h W2): the scale is folded exactly (as for torch);
    # h - relu(h W2) is refused naming the node, never misread
    rng = np.random.default_rng(4)
    inits = {"W1": rng.integers(-3, 4, size=(2, 2)).astype(np.float32),
             "W2": rng.integers(-3, 4, size=(2, 2)).astype(np.float32),
             "W3": rng.integers(-3, 4, size=(2, 1)).astype(np.float32),
             "half": np.array(0.5, np.float32)}

    def graph(last):
        return [helper.make_node("MatMul", ["x", "W1"], ["m1"]),
                helper.make_node("Relu", ["m1"], ["h"]),
                helper.make_node("MatMul", ["h", "W2"], ["m2"]),
                helper.make_node("Relu", ["m2"], ["h2"]),
                *last,
                helper.make_node("MatMul", ["u", "W3"], ["y"])]

    ok = graph([helper.make_node("Mul", ["h2", "half"], ["s"]),
                helper.make_node("Add", ["h", "s"], ["u"])])
    p = tmp_path / "scaled.onnx"
    onnx.save(_model(ok, inits, [1, 2]), p)
    net = load(p)
    assert net.skips == ((3, (1,)),)
    W1, W2, W3 = (inits[k].astype(np.float64) for k in ("W1", "W2", "W3"))
    for _ in range(5):
        x = rng.integers(-6, 7, size=2).astype(np.float64)
        h = np.maximum(x @ W1, 0)
        y = (h + 0.5 * np.maximum(h @ W2, 0)) @ W3       # small integers: exact
        assert net(list(x)) == (F(float(y[0])),)
    bad = graph([helper.make_node("Sub", ["h", "h2"], ["u"], name="resid_sub")])
    onnx.save(_model(bad, inits, [1, 2]), p)
    with pytest.raises(UnsupportedLayerError, match="resid_sub.*negative"):
        load(p)


@needs_onnx
def test_onnx_parallel_linear_maps_are_composed(tmp_path):
    W = np.array([[1, 2], [3, -4]], np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]),
             helper.make_node("Add", ["m", "x"], ["y"])]        # x W + x = x (W + I)
    p = tmp_path / "par.onnx"
    onnx.save(_model(nodes, {"W": W}, [1, 2]), p)
    net = load(p)
    assert net.num_layers == 1
    assert [list(r) for r in net.layers[0].W] == [[2, 3], [2, -3]]


@needs_onnx
def test_onnx_dropout_in_training_mode_is_refused(tmp_path):
    W = np.array([[1, 2], [3, -4]], np.float32)

    def model(ratio, training):
        inits, ins = {"W": W}, ["h", "", ""]
        if ratio is not None:
            inits["r"], ins[1] = np.array(ratio, np.float32), "r"
        if training is not None:
            inits["t"], ins[2] = np.array(training, np.bool_), "t"
        while ins[-1] == "":
            ins.pop()
        return _model([helper.make_node("MatMul", ["x", "W"], ["m"]),
                       helper.make_node("Relu", ["m"], ["h"]),
                       helper.make_node("Dropout", ins, ["d"], name="drop"),
                       helper.make_node("MatMul", ["d", "W"], ["y"])], inits, [1, 2])

    p = tmp_path / "drop.onnx"
    for ratio in (0.5, None):           # None: the default ratio 0.5
        onnx.save(model(ratio, True), p)
        with pytest.raises(UnsupportedLayerError, match="drop.onnx.*'drop'.*training"):
            load(p)
    onnx.save(model(None, None), p)
    ref = load(p)                       # inference dropout: the identity
    x = np.array([[1.5, -2.0]], np.float32)
    assert ref([1.5, -2]) == tuple(F(float(v)) for v in _reference(onnx.load(p), x))
    for ratio, training in ((0.5, False), (0.0, True), (None, False)):
        onnx.save(model(ratio, training), p)
        assert load(p) == ref
    # and torch's own training-mode export
    if torch is not None:
        import warnings

        seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 1))
        q = tmp_path / "torch_train.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(seq, (torch.zeros(1, 3),), str(q), dynamo=False,
                              training=torch.onnx.TrainingMode.TRAINING,
                              do_constant_folding=False)
        with pytest.raises(UnsupportedLayerError, match="Dropout.*training"):
            load(q)


class ViewResidual(_Module):
    """What torch.onnx exports as Shape/Gather/Concat/Reshape plus a residual Add."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        h = x.view(x.size(0), -1)
        return self.l2(h + torch.relu(self.l1(h)))


@needs_torch
@needs_onnx
@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)),
    lambda: ViewResidual(),
])
def test_onnx_exported_by_torch(tmp_path, make):
    import warnings

    torch.manual_seed(6)
    m = make().eval()
    p = tmp_path / "torch_export.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.zeros(1, 2, 2),), str(p), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "N"}})
    net = load(p)
    ref = Network.from_torch(m)
    assert net == ref     # same float32 weights, exact on both paths


@needs_torch
@needs_onnx
def test_input_map_networks_export(tmp_path):
    from polyrelu.io.torchio import save_torchscript

    net = random_network([2, 2, 2, 1], seed=11, denominator=8, skips={2: [0], 3: [0]})
    sub = net.restrict([F(1, 2), -1], [[1, F(1, 4)], [F(-3, 8), 2]])   # dyadic: exact
    assert sub.input_map is not None
    m = sub.to_torch()
    assert Network.from_torch(m) == sub
    t = [F(3, 4), F(-5, 2)]
    assert [F(v) for v in torch_out(m, t)] == list(sub(t))      # dyadic, small: exact
    p = tmp_path / "sliced.pt"
    save_torchscript(sub, p)
    assert load(p) == sub
    # ONNX: the float64 graph computes the slice, and the affine value of the
    # input read by layer 1 and by the skips is read back as the input map
    q_ = tmp_path / "sliced.onnx"
    save_onnx(sub, q_)
    assert_onnx_export_runs(q_, sub)
    ref = _reference(onnx.load(q_), np.array([[0.75, -2.5]]))
    assert [F(v) for v in ref] == list(sub(t))
    assert load(q_) == sub
    # the same from torch's own exporter (a differently shaped graph)
    q2 = tmp_path / "sliced_torch.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the legacy exporter's deprecation notice
        torch.onnx.export(m, (torch.zeros(1, 2, dtype=torch.float64),), str(q2),
                          dynamo=False)
    assert load(q2) == sub


def _graph(nodes, inits, d_in, d_out):
    from onnx import TensorProto, helper, numpy_helper

    return helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("t", TensorProto.DOUBLE, [1, d_in])],
        [helper.make_tensor_value_info("out", TensorProto.DOUBLE, [1, d_out])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float64), k)
         for k, v in inits.items()]), opset_imports=[helper.make_opsetid("", 13)])


@needs_onnx
def test_onnx_input_map_read_only_when_the_raw_input_is_dead(tmp_path):
    """y = A t + a read by layer 1 and a skip is the input map -- but not when
    t itself is read again later (then nu_0 would mean two things): refused,
    never a silently different network."""
    from onnx import helper

    A, a = [[1.0, 0.5], [-0.25, 2.0]], [0.5, -1.0]
    W1, b1 = [[1.0, -1.0], [0.5, 0.25]], [0.0, 0.125]
    W2, b2 = [[2.0], [-1.0]], [0.75]
    inits = dict(A=A, a=a, W1=W1, b1=b1, W2=W2, b2=b2)
    body = [helper.make_node("MatMul", ["t", "A"], ["ym"]),
            helper.make_node("Add", ["ym", "a"], ["y"]),
            helper.make_node("MatMul", ["y", "W1"], ["m1"]),
            helper.make_node("Add", ["m1", "b1"], ["z1"]),
            helper.make_node("Relu", ["z1"], ["h1"]),
            helper.make_node("Add", ["h1", "y"], ["u2"])]
    ok = _graph(body + [helper.make_node("MatMul", ["u2", "W2"], ["m2"]),
                        helper.make_node("Add", ["m2", "b2"], ["out"])], inits, 2, 1)
    p = tmp_path / "ok.onnx"
    import onnx as _onnx

    _onnx.save(ok, p)
    net = load(p)
    # independent: the graph's own float64 evaluation, exact for these dyadic numbers
    for x in ([0.5, -1.5], [3.0, 0.25], [-2.0, -2.0]):
        assert [F(v) for v in _reference(ok, np.array([x]))] == list(net([F(c) for c in x]))
    assert net.input_map is not None and net.skips == ((2, (0,)),)
    bad = _graph(body + [helper.make_node("Add", ["u2", "t"], ["u3"]),
                         helper.make_node("MatMul", ["u3", "W2"], ["m2"]),
                         helper.make_node("Add", ["m2", "b2"], ["out"])], inits, 2, 1)
    q_ = tmp_path / "bad.onnx"
    _onnx.save(bad, q_)
    with pytest.raises(UnsupportedLayerError, match="bad.onnx"):
        load(q_)


@needs_onnx
def test_onnx_damaged_files(tmp_path):
    net = random_network([2, 3, 1], seed=0)
    p = tmp_path / "good.onnx"
    save_onnx(net, p)
    assert_onnx_export_runs(p, net)
    data = p.read_bytes()
    for i, cut in enumerate((len(data) - 7, len(data) // 2, 10)):
        q = tmp_path / f"trunc{i}.onnx"
        q.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=f"trunc{i}.onnx"):
            load(q)
    q = tmp_path / "text.onnx"
    q.write_text("this is not protobuf at all, just words")
    with pytest.raises(PolyreluError, match="text.onnx"):
        load(q)


# ===================================================================== nnet
@needs_onnx
@needs_data
def test_nnet_raw_weights_round_to_the_onnx_float32_weights():
    from polyrelu.io.nnet import read_nnet

    raw, info = read_nnet(ACAS_NNET, normalize_input=False, normalize_output=False)
    onx = load(ACAS_ONNX)
    assert raw.architecture == onx.architecture
    for la, lb in zip(raw.layers, onx.layers):
        for ra, rb in zip(la.W + (la.b,), lb.W + (lb.b,)):
            # the .nnet decimal, rounded to float32, is exactly the ONNX weight
            assert [F(float(np.float32(float(v)))) for v in ra] == list(rb)
    assert raw.layers[0].W[0][0] == F("5.40062e-02")     # decimals read exactly


@needs_onnx
@needs_data
def test_nnet_equals_normalised_onnx_on_the_input_box():
    from polyrelu.io.nnet import read_nnet

    net, info = read_nnet(ACAS_NNET)
    assert load(ACAS_NNET) == net
    lo, hi = info.input_box
    assert lo == (0, F("-3.141593"), F("-3.141593"), 100, 0)
    assert hi == (60760, F("3.141593"), F("3.141593"), 1200, 1200)
    assert info.output_mean == F("7.5188840201005975") and info.output_range == F("373.94992")
    onx = load(ACAS_ONNX)      # the ONNX export has no normalisation (its AvgImg is 0)
    rng = random.Random(5)
    for _ in range(3):
        x = [a + (b - a) * F(rng.randint(0, 1000), 1000) for a, b in zip(lo, hi)]
        xn = [(xi - m) / r for xi, m, r in zip(x, info.input_mean, info.input_range)]
        expect = [info.output_range * y + info.output_mean for y in onx(xn)]
        got = net(x)
        # differ only by the float32 rounding of the weights in the ONNX file
        assert all(abs(g - e) <= F(1, 10 ** 3) * (1 + abs(e)) for g, e in zip(got, expect))
        # the exact check of the folding: the raw network on normalised inputs
        raw, _ = read_nnet(ACAS_NNET, normalize_input=False, normalize_output=False)
        assert got == tuple(info.output_range * y + info.output_mean for y in raw(xn))


@needs_data
def test_nnet_16bit_and_second_network():
    from polyrelu.io.nnet import read_nnet

    a, _ = read_nnet(ACAS_NNET)
    b, _ = read_nnet(os.path.join(NNET_DIR, "ACASXU_run2a_1_1_batch_2000_16bit.nnet"))
    c, _ = read_nnet(os.path.join(NNET_DIR, "ACASXU_run2a_1_2_batch_2000.nnet"))
    assert a.architecture == b.architecture == c.architecture
    assert a != b and a != c
    # the 16-bit file holds the same network with weights quantised
    ra, _ = read_nnet(ACAS_NNET, normalize_input=False, normalize_output=False)
    rb, _ = read_nnet(os.path.join(NNET_DIR, "ACASXU_run2a_1_1_batch_2000_16bit.nnet"),
                      normalize_input=False, normalize_output=False)
    diff = max(abs(x - y) for la, lb in zip(ra.layers, rb.layers)
               for r1, r2 in zip(la.W + (la.b,), lb.W + (lb.b,)) for x, y in zip(r1, r2))
    assert 0 < diff < F(1, 100)


def _nnet_text():
    return ("// tiny test net\n// second comment\n2,2,1,3,\n2,3,1,\n0,\n-1,-2,\n1,2,\n"
            "0,0,0,\n1,2,4,\n"
            "1,0,\n0,1,\n1,1,\n0,0.5,-1,\n"
            "1,-1,2,\n0.25,\n")


def test_nnet_small_file_by_hand(tmp_path):
    from polyrelu.io.nnet import read_nnet

    p = tmp_path / "tiny.nnet"
    p.write_text(_nnet_text())
    net, info = read_nnet(p)
    assert info.header == ("tiny test net", "second comment")
    # by hand: x_norm = (x1/1, x2/2); h = relu(W1 x_norm + b1); y = 4*(w2.h + 1/4) + 0
    x = [F(1, 2), F(1)]
    h = [max(F(1, 2), 0), max(F(1, 2) + F(1, 2), 0), max(F(1, 2) + F(1, 2) - 1, 0)]
    assert net(x) == (4 * (h[0] - h[1] + 2 * h[2] + F(1, 4)),)


@pytest.mark.parametrize("damage, match", [
    (lambda t: t[:len(t) // 2], "truncated"),
    (lambda t: t.rsplit("\n", 2)[0] + "\n", "truncated"),
    (lambda t: t.replace("0,0.5,-1,", "0,zero,-1,"), "line 13"),
    (lambda t: t.replace("0,0.5,-1,", "0,nan,-1,"), "line 13"),
    (lambda t: t.replace("2,2,1,3,", "2,x,1,3,"), "line 3"),
    (lambda t: t.replace("2,3,1,\n", "2,3,\n"), "line 4"),
    (lambda t: t.replace("2,3,1,\n", "3,3,1,\n"), "line 4"),
    (lambda t: t.replace("-1,-2,\n", "-1,\n"), "line 6"),
    (lambda t: t.replace("1,2,4,\n", "0,2,4,\n"), "range"),
    (lambda t: t + "7,\n", "extra"),
    (lambda t: "", "truncated"),
])
def test_nnet_damaged(tmp_path, damage, match):
    p = tmp_path / "damaged.nnet"
    p.write_text(damage(_nnet_text()))
    with pytest.raises(ModelFileError, match=match) as e:
        load(p)
    assert "damaged.nnet" in str(e.value)


@needs_data
def test_nnet_truncated_real_file(tmp_path):
    text = open(ACAS_NNET).read()
    p = tmp_path / "acas_cut.nnet"
    p.write_text(text[: int(len(text) * 0.7)].rsplit("\n", 1)[0] + "\n")
    with pytest.raises(ModelFileError, match="acas_cut.nnet.*truncated"):
        load(p)


# ====================================================================== CLI
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "polyrelu.cli", *args],
                          capture_output=True, text=True, timeout=300)


@needs_torch
@needs_onnx
def test_cli_info_and_export(tmp_path, capsys):
    res = run_cli("info", "--json")          # once through the real entry point
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["architecture"] == "2-8-8-1" and doc["activation"] == "relu"
    assert int(doc["parameters"]) == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1
    from polyrelu.cli import main

    for fmt, name in (("json", "m.json"), ("onnx", "m.onnx"), ("torchscript", "m.pt")):
        assert main(["export", "--to", fmt, "--out", str(tmp_path / name)]) == 0
        capsys.readouterr()
        assert load(tmp_path / name) == load_default_model()   # dyadic weights: lossless
        if fmt == "onnx":
            assert_onnx_export_runs(tmp_path / name, load_default_model())
    assert main(["info", str(tmp_path / "m.onnx")]) == 0
    assert "2-8-8-1" in capsys.readouterr().out
    assert main(["export", "--to", "json", "--out", str(tmp_path / "m.txt")]) == 2
    assert ".json" in capsys.readouterr().err


@needs_torch
@needs_onnx
def test_cli_info_on_damaged_files(tmp_path, capsys):
    """Every loader error reaches the user as one line naming the file (exit 2)."""
    from polyrelu.cli import main

    files = {"cut.json": b'{"format": "polyrelu-net', "garbage.onnx": b"garbage",
             "empty.onnx": b"", "empty.nnet": b"", "cut.pt": b"PK\x03\x04",
             "model.h5": b"x"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        for extra in ([], ["--arch", "2-3-1"], ["--json"]):
            assert main(["info", str(tmp_path / name), *extra]) == 2
            err = capsys.readouterr().err
            assert name in err and err.count("\n") == 1, err
    assert main(["info", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_model_info_counts():
    from polyrelu.commands.info import model_info

    net = random_network([3, 4, 2], seed=0, denominator=8, skips=None)
    d = model_info(net)
    assert d["parameters"] == 3 * 4 + 4 + 4 * 2 + 2 and d["hidden_neurons"] == 4
    assert d["max_denominator"] == max(v.denominator for layer in net.layers
                                       for row in layer.W + (layer.b,) for v in row)
    assert d["input_map"] is None
    res = random_network([2, 2, 2, 1], seed=1, skips={3: [0]})
    sub = res.restrict([0, 0], [[1], ["1/7"]])
    d = model_info(sub)
    assert d["input_map"] == {"A": [[F(1)], [F(1, 7)]], "a": [F(0), F(0)]}
    assert d["parameters"] == model_info(res)["parameters"] + 2 * 2
    assert d["max_denominator"] == max(7, model_info(res)["max_denominator"])
    assert d["architecture"] == "1-2-2-1"


def test_errors_are_polyrelu_errors():
    assert issubclass(ModelFileError, PolyreluError)
    assert issubclass(NonFiniteError, PolyreluError) and issubclass(NetworkError, PolyreluError)


# ============================================================ review: damaged inputs
_W23 = np.ones((2, 3), np.float32)


@needs_onnx
@pytest.mark.parametrize("nodes_fn, inits, match", [
    # constant folding of shape arithmetic with bad indices / shapes
    (lambda: [helper.make_node("Gather", ["sh", "idx"], ["g"]),
              helper.make_node("Reshape", ["x", "g"], ["r"]),
              helper.make_node("MatMul", ["r", "W"], ["y"])],
     {"W": _W23, "sh": np.array([1, 2], np.int64), "idx": np.array(7, np.int64)}, "Gather"),
    (lambda: [helper.make_node("Reshape", ["sh", "t"], ["g"]),
              helper.make_node("MatMul", ["x", "W"], ["y"])],
     {"W": _W23, "sh": np.array([1, 2, 3], np.int64), "t": np.array([2, 2], np.int64)},
     "Reshape"),
    (lambda: [helper.make_node("Concat", ["a", "b"], ["g"], axis=3),
              helper.make_node("MatMul", ["x", "W"], ["y"])],
     {"W": _W23, "a": np.array([1], np.int64), "b": np.array([2], np.int64)}, "Concat"),
    # a node reading a tensor no initializer or node defines
    (lambda: [helper.make_node("MatMul", ["x", "Wmissing"], ["y"])], {"W": _W23},
     "Wmissing"),
    (lambda: [helper.make_node("MatMul", ["x", "W"], ["m"]),
              helper.make_node("Flatten", ["m"], ["y"], axis=7)], {"W": _W23}, "axis"),
    (lambda: [helper.make_node("MatMul", ["x", "W"], ["m"]),
              helper.make_node("Relu", ["m"], ["h"]),
              helper.make_node("MatMul", ["h", "W2"], ["y"])],
     {"W": np.array([[1, np.nan, 0], [0, 1, 1]], np.float32),
      "W2": np.ones((3, 1), np.float32)}, "non-finite"),
])
def test_onnx_malformed_graphs_name_file_and_node(tmp_path, nodes_fn, inits, match):
    p = tmp_path / "malformed_graph.onnx"
    onnx.save(_model(nodes_fn(), inits, [1, 2]), p)
    with pytest.raises(ModelFileError, match=match) as e:
        load(p)
    assert "malformed_graph.onnx" in str(e.value)


@needs_onnx
def test_onnx_empty_or_incomplete_model_is_a_file_error(tmp_path):
    p = tmp_path / "empty.onnx"
    p.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty.onnx"):
        load(p)
    # a truncation at a protobuf field boundary that drops the opset_import
    good = _model([helper.make_node("MatMul", ["x", "W"], ["y"])], {"W": _W23}, [1, 2])
    del good.opset_import[:]
    p = tmp_path / "no_opset.onnx"
    onnx.save(good, p)
    with pytest.raises(ModelFileError, match="no_opset.onnx.*opset"):
        load(p)
    # every prefix of a real file: a ModelFileError naming the file, or (a cut
    # of trailing bytes that leaves a complete model) the same network
    net = random_network([2, 3, 3, 1], seed=0, skips={3: [1]})
    full = tmp_path / "full.onnx"
    save_onnx(net, full)
    assert_onnx_export_runs(full, net)
    data = full.read_bytes()
    cut_p = tmp_path / "cut.onnx"
    for cut in range(0, len(data), 7):
        cut_p.write_bytes(data[:cut])
        try:
            assert load(cut_p) == net
        except ModelFileError as e:
            assert "cut.onnx" in str(e)


@needs_torch
def test_torch_non_finite_weights_name_the_file(tmp_path):
    seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        seq[2].bias[0] = float("nan")
    sd, ts = tmp_path / "nan_state.pth", tmp_path / "nan_script.pt"
    torch.save(seq.state_dict(), sd)
    torch.jit.save(torch.jit.script(seq), ts)
    for path, kw in ((sd, {"arch": "2-3-1"}), (ts, {})):
        with pytest.raises(ModelFileError, match="non-finite") as e:
            load(path, **kw)
        assert path.name in str(e.value) and "'2'" in str(e.value)   # the layer
    with pytest.raises(NonFiniteError, match="'2' bias"):     # in memory: no file
        Network.from_torch(seq)


@needs_torch
@needs_onnx
def test_cli_export_unwritable_destination(tmp_path, capsys):
    from polyrelu.cli import main

    (tmp_path / "dir.pt").mkdir()          # right extension, but a directory
    (tmp_path / "dir.onnx").mkdir()
    for fmt, out in (("torchscript", tmp_path / "dir.pt"), ("onnx", tmp_path / "dir.onnx"),
                     ("json", tmp_path / "missing_dir" / "m.json")):
        assert main(["export", "--to", fmt, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert str(out) in err and "cannot write" in err


@needs_torch
@needs_onnx
def test_cli_export_exact_flag_checks_float_representability(tmp_path, capsys):
    from polyrelu.cli import main

    cases = ((F(1, 2 ** 2000), False),       # dyadic, but underflows in float64
             (F(2 ** 60 + 2 ** 8), True),    # large integer, exactly a float64
             (F(2 ** 53 + 1), False),        # needs 54 bits
             (F(3, 8), True), (F(1, 3), False))
    for w, exact in cases:
        net = Network.from_weights([([[w, 1]], [0]), ([[1]], [0])])
        src = tmp_path / "w.json"
        save(net, src)
        for fmt, name in (("onnx", "w.onnx"), ("torchscript", "w.pt")):
            assert main(["export", str(src), "--to", fmt, "--out",
                         str(tmp_path / name), "--json"]) == 0
            doc = json.loads(capsys.readouterr().out)
            assert doc["exact"] is exact, (w, fmt)
            assert (load(tmp_path / name) == net) is exact      # independent check


def test_io_tests_run_without_torch_and_onnx():
    """torch and onnx are extras: without them their tests skip, the rest runs."""
    if os.environ.get("POLYRELU_TEST_NO_EXTRAS"):
        pytest.skip("already inside the run without extras")
    code = ("import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None; "
            "import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', "
            f"{__file__!r}, '-k', 'json or nnet_small or nnet_damaged']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, cwd=os.path.dirname(os.path.dirname(__file__)),
                         env=dict(os.environ, POLYRELU_TEST_NO_EXTRAS="1"))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    import re

    passed = int(re.search(r"(\d+) passed", res.stdout).group(1))
    assert passed >= 30 and "skipped" not in res.stdout, res.stdout[-1000:]


def test_arch_is_refused_for_files_that_state_their_own(tmp_path, capsys):
    """--arch only describes a torch state dict; for a JSON/ONNX/.nnet file it
    would be silently ignored, so it is refused, naming the file."""
    from polyrelu.cli import main

    p = tmp_path / "m.json"
    save(load_default_model(), p)
    with pytest.raises(ModelFileError, match=r"m\.json.*only read for torch state dicts"):
        load(p, arch="2-8-8-1")
    assert main(["info", str(p), "--arch", "2-8-8-1"]) == 2
    err = capsys.readouterr().err
    assert "m.json" in err and "--arch" in err and len(err.strip().splitlines()) == 1
    assert main(["info", str(p)]) == 0


class _Normalised(_Module):
    """Input normalisation with buffers before the first Linear, the way
    verification models are often written: ((2 x - 1) - mean) / std."""

    def __init__(self, mean, std, shape=(2,)):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float64).reshape(shape))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float64).reshape(1, -1))
        self.l1 = nn.Linear(2, 3).double()
        self.l2 = nn.Linear(3, 1).double()
        with torch.no_grad():       # dyadic weights: float64 evaluation is exact
            self.l1.weight.copy_(torch.tensor([[1.0, -0.5], [0.25, 2.0], [-1.0, 0.75]]))
            self.l1.bias.copy_(torch.tensor([0.5, -0.25, 0.125]))
            self.l2.weight.copy_(torch.tensor([[1.5, -2.0, 0.5]]))
            self.l2.bias.copy_(torch.tensor([-0.375]))

    def forward(self, x):
        x = (x * 2 - 1 - self.mean) / self.std
        return self.l2(torch.relu(self.l1(x)))


def _read_three_ways(m, tmp_path):
    """The module read eagerly (torch.fx), scripted and traced, via files."""
    out = {"eager": Network.from_torch(m)}
    for how in ("script", "trace"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mm = torch.jit.script(m) if how == "script" else torch.jit.trace(
                m, torch.zeros(1, 2, dtype=torch.float64))
        p = tmp_path / f"{how}.pt"
        torch.jit.save(mm, str(p))
        out[how] = load(p)
    return out


@needs_torch
def test_torch_input_normalisation_with_buffers(tmp_path):
    m = _Normalised([0.5, -0.25], [4.0, 0.5]).eval()
    # the hand-folded network: x' = (2 x - 1 - mean) / std = D x + e
    D = [F(2, 4), F(2, 1) / F(1, 2)]
    e = [(-1 - F(1, 2)) / 4, (-1 + F(1, 4)) / F(1, 2)]
    W1 = [[F(1), F(-1, 2)], [F(1, 4), F(2)], [F(-1), F(3, 4)]]
    b1 = [F(1, 2), F(-1, 4), F(1, 8)]
    ref = Network.from_weights([
        ([[w * d for w, d in zip(row, D)] for row in W1],
         [bi + sum(w * c for w, c in zip(row, e)) for row, bi in zip(W1, b1)]),
        ([[F(3, 2), F(-2), F(1, 2)]], [F(-3, 8)])])
    for how, net in _read_three_ways(m, tmp_path).items():
        assert net == ref, how
        for x in ([0.75, -1.5], [-2.0, 0.25], [0.5, 0.5]):    # dyadic: exact in float64
            assert net([F(v) for v in x])[0] == F(torch_out(m, x)[0]), (how, x)


@needs_torch
def test_torch_scalar_arithmetic_before_the_first_linear(tmp_path):
    """Only numbers before the first matrix: the dimension comes from it."""
    class M(_Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = nn.Linear(2, 2).double(), nn.Linear(2, 1).double()

        def forward(self, x):
            return self.l2(torch.relu(self.l1(-(x / 2 + 1))))

    m = M().eval()
    nets = _read_three_ways(m, tmp_path)
    assert nets["script"] == nets["trace"] == nets["eager"]
    x = [F(3, 4), F(-5, 2)]
    direct = Network.from_weights([(m.l1.weight.tolist(), m.l1.bias.tolist()),
                                   (m.l2.weight.tolist(), m.l2.bias.tolist())])
    assert nets["script"](x) == direct([-(v / 2 + 1) for v in x])


@needs_torch
def test_torch_constants_that_do_not_fit_are_refused(tmp_path):
    bad_shape = _Normalised([0.5, -0.25, 1.0], [4.0, 0.5], shape=(3,)).eval()
    for how, fn in (("eager", lambda: Network.from_torch(bad_shape)),
                    ("script", lambda: Network.from_torch(torch.jit.script(bad_shape)))):
        with pytest.raises(UnsupportedLayerError, match="does not broadcast"):
            fn()
    zero = _Normalised([0.5, -0.25], [4.0, 0.0]).eval()
    with pytest.raises(UnsupportedLayerError, match="division by zero"):
        Network.from_torch(zero)
    with pytest.raises(UnsupportedLayerError, match="division by zero"):
        Network.from_torch(torch.jit.script(zero))

    class Mutates(_Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(2, dtype=torch.float64))
            self.l1 = nn.Linear(2, 1).double()

        def forward(self, x):
            self.mean.add_(x)
            return self.l1(x)

    with pytest.raises(UnsupportedLayerError):
        Network.from_torch(Mutates().eval())

    class NoMatrix(_Module):
        def forward(self, x):
            return torch.relu(x * 2)

    with pytest.raises(UnsupportedLayerError, match="linear"):
        Network.from_torch(torch.jit.script(NoMatrix()))


@needs_torch
def test_torch_files_by_kind(tmp_path, recwarn):
    """A TorchScript archive states its architecture (--arch is checked against
    it, not misapplied); a state dict needs --arch; a whole pickled module is
    refused with the reason -- and torch's own warnings do not leak out."""
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    torch.save(seq.state_dict(), tmp_path / "sd.pth")
    torch.save(seq, tmp_path / "whole.pt")
    torch.jit.save(torch.jit.script(seq), str(tmp_path / "ts.pt"))
    ref = Network.from_torch(seq)
    recwarn.clear()
    assert load(tmp_path / "ts.pt") == ref
    assert load(tmp_path / "ts.pt", arch="2-4-1") == ref
    with pytest.raises(ModelFileError, match="architecture 2-4-1, not the --arch 2-8-1"):
        load(tmp_path / "ts.pt", arch="2-8-1")
    assert load(tmp_path / "sd.pth", arch="2-4-1") == ref
    with pytest.raises(ModelFileError, match="sd.pth.*state dict.*--arch"):
        load(tmp_path / "sd.pth")
    for arch in (None, "2-4-1"):
        with pytest.raises(ModelFileError, match="whole.pt.*pickled.*arbitrary code"):
            load(tmp_path / "whole.pt", arch=arch)
    assert not [w for w in recwarn if "torch" in str(w.filename)]
