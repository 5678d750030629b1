"""torch.export programs (issue 18): ``Network.from_torch(ExportedProgram)``,
``Network.load("model.pt2")`` and TropEx on exported CNNs read what the fx
reader reads -- Linear, ReLU, LeakyReLU, Hardtanh, residual additions (also
scaled), input normalisation, Flatten, eval Dropout, in-place operations --
and TropEx's layers (Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d, ...), in
the training IR ``torch.export.export`` returns and in the core-ATen IR of
``run_decompositions()``, with static and dynamic batch sizes.

Cross-checks: equality with the network read from the eager module (exact:
the same float weights, read exactly), and exact evaluation against torch's
own float64 forward pass of the module at dyadic points (``TOL``, justified
in tests/test_torch_readers.py: rounding of these small float64 models is
below 1e-13, a misread deviates by O(0.1)); for TropEx, identical extracted
terms and Theorem 3.3 on the data points.
"""

import random
import sys
import warnings
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from polyrelu.exceptions import ModelFileError, UnsupportedLayerError
from polyrelu.io import load
from polyrelu.network import Network, random_network

torch = pytest.importorskip("torch")
nn = torch.nn
sys.path.insert(0, str(Path(__file__).parent))
import test_io as T  # noqa: E402  (the models of the fx tests)
import test_tropex as TT  # noqa: E402

TOL = 1e-9


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def export(m, d, how="training", batch=1):
    x0 = torch.zeros(batch, *d if isinstance(d, tuple) else (d,), dtype=torch.float64)
    kw = {"dynamic_shapes": ({0: torch.export.Dim("batch")},)} if how == "dynamic" else {}
    ep = _quiet(lambda: torch.export.export(m, (x0,), **kw))
    return _quiet(ep.run_decompositions) if how == "core" else ep


def points(d, n=8, seed=0):
    rng = random.Random(seed)
    return [[F(rng.randint(-8, 8), 4) for _ in range(d)] for _ in range(n)]


def check_against_torch(net, m, d):
    for x in points(d):
        with torch.no_grad():
            want = m(torch.tensor([[float(v) for v in x]], dtype=torch.float64))[0].tolist()
        got = net(x)
        assert all(abs(float(a) - b) <= TOL * (1 + abs(b)) for a, b in zip(got, want)), x


FX_MODELS = {
    "ResidualHidden": (lambda: T.ResidualHidden(), 2),
    "ResidualInput": (lambda: T.ResidualInput(), 2),
    "ViewResidual": (lambda: T.ViewResidual(), 4),          # x.view(x.size(0), -1)
    "Normalised": (lambda: T._Normalised([0.5, -0.25], [4.0, 0.5]), 2),
    "Sequential": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(2, 3), nn.LeakyReLU(0.125),
                                         nn.Dropout(0.3), nn.Linear(3, 3), nn.LeakyReLU(0.125),
                                         nn.Linear(3, 1)), 2),
    "Hardtanh": (lambda: nn.Sequential(nn.Linear(2, 3), nn.Hardtanh(), nn.Linear(3, 2)), 2),
}
FX_MODELS.update({k: (lambda k=k: T._Scaled(k), 2) for k in (
    "add_alpha", "method_alpha", "mul_const", "scaled_skip", "input_alpha", "div_neg",
    "const_add", "torch_sub_alpha")})


@pytest.mark.parametrize("how", ["training", pytest.param("core", marks=pytest.mark.slow),
                                 pytest.param("dynamic", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", sorted(FX_MODELS))
def test_exported_programs_read_like_the_eager_module(name, how):
    make, d = FX_MODELS[name]
    torch.manual_seed(4)
    m = make().double().eval()
    net = Network.from_torch(export(m, d, how, batch=2 if how == "dynamic" else 1))
    assert net == Network.from_torch(m)
    check_against_torch(net, m, d)


@pytest.mark.parametrize("kind", sorted(T._INPLACE_KINDS))
def test_exported_inplace_programs_read_as_torch_computes(kind):
    """In-place ops of the training IR are followed as ExportedProgram.module()
    runs them (eval dropout returns its input: y = dropout(h); y.mul_(2)
    changes h -- which torch's own run_decompositions() drops); a change
    through a view is refused, never misread."""
    m = T._int_weights(T._InPlace(kind), 0)
    ep = export(m, 2)
    try:
        net = Network.from_torch(ep)
    except UnsupportedLayerError as e:
        assert kind in T._VIEW_KINDS and "in-place" in str(e) and "view" in str(e)
        return
    for x in points(2, seed=1):
        xt = torch.tensor([[float(v) for v in x]], dtype=torch.float64)
        with torch.no_grad():
            want, prog = m(xt)[0].tolist(), ep.module()(xt)[0].tolist()
        assert prog == want        # integer weights: exact in float64 on any machine
        assert net(x) == tuple(F(v) for v in want), (kind, x)


def test_refused_exported_programs_name_the_problem():
    class Sig(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(2, 2)

        def forward(self, x):
            return torch.sigmoid(self.l(x))

    with pytest.raises(UnsupportedLayerError, match="aten::sigmoid.*not supported"):
        Network.from_torch(export(Sig(), 2))

    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(2, 2)
            self.register_buffer("calls", torch.zeros(1))

        def forward(self, x):
            self.calls.add_(1)
            return self.l(x)

    with pytest.raises(UnsupportedLayerError, match="state|constant"):
        Network.from_torch(export(Counter(), 2))

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(2, 2)

        def forward(self, x, y):
            return self.l(x + y)

    ep = _quiet(lambda: torch.export.export(Two(), (torch.zeros(1, 2), torch.zeros(1, 2))))
    with pytest.raises(UnsupportedLayerError, match="2 inputs"):
        Network.from_torch(ep)
    lin = nn.Linear(3, 1)
    ep = _quiet(lambda: torch.export.export(lin, (torch.zeros(3),)))
    with pytest.raises(UnsupportedLayerError, match="without a batch axis"):
        Network.from_torch(ep)
    bn = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 1))
    with pytest.raises(UnsupportedLayerError, match="BatchNorm|batch_norm"):
        Network.from_torch(export(bn.eval(), 2))    # a TropEx layer, not a Network one


def test_exported_module_graph_reads_too():
    """ExportedProgram.module() is a GraphModule of aten ops (issue 18: it read
    as 'no Linear layer found')."""
    torch.manual_seed(5)
    m = T.ResidualHidden().double().eval()
    gm = export(m, 2).module()
    net = Network.from_torch(gm)
    assert net == Network.from_torch(m)


# ------------------------------------------------------------------ .pt2 files
def test_pt2_files_load_through_network_load(tmp_path):
    torch.manual_seed(6)
    for k, (make, d) in sorted(FX_MODELS.items()):
        m = make().double().eval()
        p = tmp_path / f"{k}.pt2"
        _quiet(lambda: torch.export.save(export(m, d), str(p)))
        net = Network.load(p)
        assert net == Network.from_torch(m), k
        check_against_torch(net, m, d)
    # the architecture given is checked against the program's
    with pytest.raises(ModelFileError, match="torch.export program of architecture"):
        load(tmp_path / "Hardtanh.pt2", arch="2-5-2")
    assert load(tmp_path / "Hardtanh.pt2", arch="2-3-2").architecture == "2-3-2"


def test_pt2_round_trip_of_polyrelu_networks(tmp_path):
    """to_torch of a network (with skips and an input map) exported and loaded
    back: the same network (dyadic weights: the float64 export is exact)."""
    nets = [random_network([2, 3, 3, 1], seed=3),
            random_network([2, 2, 2, 2, 1], seed=4, skips={3: [1], 4: [2]}),
            random_network([3, 3, 2], seed=5, activation="leaky_relu", alpha="1/4"),
            random_network([2, 3, 1], seed=6, activation="hard_tanh")]
    for i, net in enumerate(nets):
        p = tmp_path / f"n{i}.pt2"
        m = net.to_torch()
        _quiet(lambda: torch.export.save(export(m, net.input_dim), str(p)))
        assert load(p) == net, i


def test_pt2_refuses_pickled_payloads(tmp_path):
    """torch.export.load unpickles tensor subclasses and objects (and retries
    sample inputs with weights_only=False): such archives are refused before
    torch reads them."""
    import io
    import json
    import zipfile

    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).eval()
    p = tmp_path / "m.pt2"
    _quiet(lambda: torch.export.save(export(m.double(), 2), str(p)))
    src = zipfile.ZipFile(p)
    cfg_name = next(n for n in src.namelist() if n.endswith("_weights_config.json"))
    cfg = json.loads(src.read(cfg_name))
    first = next(iter(cfg["config"]))
    cfg["config"][first]["use_pickle"] = True
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for n in src.namelist():
            w.writestr(n, json.dumps(cfg) if n == cfg_name else src.read(n))
    (tmp_path / "pickled.pt2").write_bytes(out.getvalue())
    with pytest.raises(ModelFileError, match=f"pickled.pt2.*{first}.*pickled"):
        load(tmp_path / "pickled.pt2")


# ------------------------------------------------------------------ TropEx
def _tropex_equal(model, shape, X):
    from polyrelu.tropex import model_layers, tropex

    ep = export(model, shape)
    E, R = tropex(ep, X, "exact"), tropex(model, X, "exact")
    assert E.checks["theorem_3_3"]
    assert E.labels == R.labels
    assert (E.rows == R.rows).all() and (E.consts == R.consts).all()
    assert [k for _, k, _ in model_layers(ep, shape)] == \
        [k for _, k, _ in model_layers(model, shape)]
    core = _quiet(ep.run_decompositions)
    C = tropex(core, X, "exact")
    assert (C.rows == R.rows).all() and (C.consts == R.consts).all()


@pytest.mark.parametrize("make, shape", [
    (lambda: TT.cli_cnn(11), (1, 6, 6)),
    (lambda: TT.small_cnn(3, bn=True), (1, 5, 5)),
    (lambda: TT.small_cnn(4, pool=False, leaky=True), (1, 5, 5)),
    (lambda: TT._Res().eval(), (1, 4, 4)),
])
def test_tropex_reads_exported_cnns_like_the_eager_module(make, shape):
    torch.manual_seed(2)
    model = make().double()
    X = np.random.default_rng(12).integers(-64, 65, size=(4,) + shape) / 32.0
    _tropex_equal(model, shape, X)


def test_tropex_reads_exported_dense_batchnorm():
    torch.manual_seed(5)
    bn = nn.BatchNorm1d(6)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.copy_(torch.tensor([1.0, -2.0, 0.5, 1.5, -0.25, 1.0]))
    model = nn.Sequential(nn.Linear(3, 6), bn, nn.LeakyReLU(0.125), nn.Dropout(0.5),
                          nn.Identity(), nn.Linear(6, 4)).double().eval()
    X = np.array(TT.rational_points(10, 3, 11), dtype=float)
    _tropex_equal(model, (3,), X)


def test_tropex_infers_the_exported_input_shape():
    """An exported program fixes its input shape: flat rows take it."""
    from polyrelu.tropex import infer_input_shape

    fully_conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()).eval()
    ep = export(fully_conv.double(), (1, 4, 9))
    assert infer_input_shape(ep, (36,)) == (1, 4, 9)      # eager: several shapes fit


@pytest.mark.parametrize("kind", ["script", "export"])
def test_cli_tropex_on_exported_and_scripted_cnn_files(tmp_path, capsys, kind):
    model = TT.cli_cnn(8)
    if kind == "export":
        path = tmp_path / "cnn.pt2"
        _quiet(lambda: torch.export.save(torch.export.export(
            model, (torch.zeros(1, 1, 6, 6),)), str(path)))
    else:
        path = TT._save_script(model, tmp_path / "cnn.pt", "script")
    X = np.random.default_rng(6).integers(-512, 513, size=(5, 1, 6, 6)) / 256.0
    np.savez(tmp_path / "img.npz", X=X)
    doc = TT._cli_json(capsys, path, tmp_path / "img.npz")
    assert doc["theorem_3_3"] is True and doc["input_shape"] == [1, 6, 6]
    TT._check_theorem_3_3_from_json(doc, model, X)
    assert doc["checks"]["torch_forward_deviation"] < 1e-6


class _FunctionalCnn(nn.Module):
    """A CNN written with torch.nn.functional calls and a view."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(8, 3)
        self.register_buffer("rm", torch.tensor([0.125, -0.25]))
        self.register_buffer("rv", torch.tensor([1.0, 2.0]))

    def forward(self, x):
        h = torch.nn.functional.leaky_relu(self.c(x), 0.25)
        h = torch.nn.functional.batch_norm(h, self.rm, self.rv, None, None, False, 0.1, 1e-5)
        h = torch.nn.functional.max_pool2d(h, 2)
        h = torch.nn.functional.dropout(h, 0.5, self.training)
        return self.fc(h.view(h.size(0), -1))


@pytest.mark.parametrize("how", ["eager", "script", "trace", "export", "core"])
def test_tropex_functional_cnn_through_every_reader(how):
    from polyrelu.tropex import model_outputs, tropex

    torch.manual_seed(0)
    m = _FunctionalCnn().double().eval()
    x0 = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    model = {"eager": lambda: m, "script": lambda: torch.jit.script(m),
             "trace": lambda: torch.jit.trace(m, x0),
             "export": lambda: export(m, (1, 4, 4)),
             "core": lambda: export(m, (1, 4, 4), "core")}[how]
    model = _quiet(model)
    X = np.random.default_rng(0).integers(-4, 5, size=(3, 1, 4, 4)) / 4.0
    with torch.no_grad():
        ref = m(torch.as_tensor(X)).numpy()
    out = np.array(model_outputs(model, X, "exact"), dtype=float)
    # float64 rounding of a 2-layer CNN on these inputs is below 1e-14
    assert np.abs(out - ref).max() <= TOL * (1 + np.abs(ref).max())
    assert tropex(model, X, "exact").checks["theorem_3_3"]
