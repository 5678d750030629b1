"""TropEx (Trimmel, Petzka & Sminchisescu 2021): Algorithm 3.1, Theorem 3.3."""

import random
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from polyrelu.exceptions import NetworkError, ShapeError, UnsupportedLayerError
from polyrelu.network import Network, random_network
from polyrelu.tropex import (
    TropicalRationalMap,
    compare_coefficients,
    extraction_scores,
    model_layers,
    model_outputs,
    region_sharing,
    transformation_curve,
    tropex,
)


def rational_points(n, d, seed, den=4, scale=12):
    rng = random.Random(seed)
    return [[Fraction(rng.randint(-scale, scale), den) for _ in range(d)] for _ in range(n)]


def exact_torch_forward(model, x):
    """Independent float64 forward of a torch model (for cross-checks)."""
    m = _double(model)
    with torch.no_grad():
        return m(torch.as_tensor(np.asarray(x, dtype=np.float64))[None])[0].numpy()


def _double(model):
    import copy

    m = copy.deepcopy(model).double()
    m.eval()
    return m


def torch_jacobian(model, x):
    m = _double(model)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    J = torch.autograd.functional.jacobian(lambda v: m(v[None])[0], xt)
    return J.reshape(J.shape[0], -1).numpy()


def assert_single_representation(E, X):
    """All extracted terms come from ONE tropical representation (T&P eq. 3):
    at every data point x_k its own terms dominate every other point's terms,
    and every coefficient is non-negative."""
    s = E.output_dim
    P = np.array([np.asarray(x, dtype=object).reshape(-1) for x in X], dtype=object)
    P = np.array([[Fraction(v) for v in row] for row in P], dtype=object)
    rows = np.vectorize(Fraction, otypes=[object])(E.rows)
    consts = np.vectorize(Fraction, otypes=[object])(E.consts)
    assert all(v >= 0 for v in rows.reshape(-1))
    for k in range(len(X)):
        vals = rows @ P[k] + consts          # (D, s + 1): every point's terms at x_k
        for r in range(s + 1):
            assert max(vals[:, r]) == vals[k, r]


# ------------------------------------------------------------ dense Networks
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), act=st.sampled_from(["relu", "leaky_relu"]))
def test_theorem_3_3_exact_dense(seed, act):
    rng = random.Random(seed)
    widths = [rng.randint(2, 3)] + [rng.randint(2, 5) for _ in range(rng.randint(1, 3))] \
        + [rng.randint(2, 4)]
    alpha = Fraction(rng.randint(0, 8), 8) if act == "leaky_relu" else None
    net = random_network(widths, seed=seed, activation=act, alpha=alpha)
    X = rational_points(12, widths[0], seed)
    E = tropex(net, X)                     # check=True verifies internally ...
    assert E.checks["theorem_3_3"] and E.checks["exact"]
    assert_single_representation(E, X)
    # ... and independently here:
    for k, x in enumerate(X):
        out = net(x)
        lab = max(range(len(out)), key=lambda i: (out[i], -i))
        assert E.labels[k] == lab
        ex = E(x)
        assert max(v for v in ex if v is not None) == max(out)
        assert E.predict([x])[0] == lab
        # the extracted terms at x_k are the network's local affine map (Thm 3.3)
        assert E.local_map(k) == net.affine_map(net.pattern(x))
        nums, den = E.point_terms(k)
        # numerator of the label and the denominator evaluate to N_lab(x) exactly
        assert nums[lab](x) - den(x) == out[lab]
        # tropical terms: non-negative coefficients (T&P eq. 1)
        assert all(c >= 0 for t in nums + (den,) for c in t.coef)
        # the denominator term is maximal at x_k among all extracted ones
        assert all(t(x) <= den(x) for t in E.denominator)
    # every data point appears in exactly one term of its class and of the denominator
    for i, ts in enumerate(E.terms):
        pts = sorted(p for t in ts for p in t.points)
        assert pts == [k for k, lab in enumerate(E.labels) if lab == i]
        assert len({(t.coef, t.const) for t in ts}) == len(ts)
    assert sorted(p for t in E.denominator for p in t.points) == list(range(len(X)))


def test_skips_and_leaky_exact():
    net = random_network([3, 4, 4, 4, 2], seed=5, skips={3: [1], 4: [2]},
                         activation="leaky_relu", alpha="1/3")
    X = rational_points(15, 3, 1)
    E = tropex(net, X)
    for k, x in enumerate(X):
        assert E.local_map(k) == net.affine_map(net.pattern(x))


def test_fast_equals_exact_dense():
    net = random_network([4, 6, 5, 3], seed=11)
    X = rational_points(30, 4, 2)
    Ee = tropex(net, X, "exact")
    Ef = tropex(net, np.array(X, dtype=float), "fast", batch_size=7)
    assert Ee.labels == Ef.labels
    R = np.array([[float(v) for v in r] for r in Ee.rows.reshape(-1, Ee.rows.shape[2])])
    assert np.abs(R - Ef.rows.reshape(R.shape)).max() < 1e-9
    C = np.array([float(v) for v in Ee.consts.reshape(-1)])
    assert np.abs(C - Ef.consts.reshape(-1)).max() < 1e-9
    assert Ef.checks["theorem_3_3"] and Ef.checks["max_deviation_fast"] < 1e-9
    # outputs="label" keeps the paper's two rows: the label's and the denominator
    for mode in ("exact", "fast"):
        El = tropex(net, X, mode, outputs="label")
        assert El.labels == Ee.labels and El.rows.shape[1] == 2
        Ref = Ee if mode == "exact" else Ef
        for k, lab in enumerate(Ee.labels):
            if mode == "exact":
                assert list(El.rows[k, 0]) == list(Ref.rows[k, lab])
                assert list(El.rows[k, 1]) == list(Ref.rows[k, 3])
            else:
                assert np.abs(El.rows[k, 0] - Ref.rows[k, lab]).max() < 1e-12
                assert np.abs(El.rows[k, 1] - Ref.rows[k, 3]).max() < 1e-12
        assert [len(t) for t in El.terms] == [len(t) for t in Ee.terms]
    # evaluating N^(X) at fresh points: fast and exact agree
    Y = rational_points(20, 4, 3)
    # a class no data point receives has an empty numerator: None / -inf
    ve = np.array([[-np.inf if v is None else float(v) for v in row] for row in Ee(Y)])
    vf = Ef(np.array(Y, dtype=float))
    assert np.array_equal(np.isinf(ve), np.isinf(vf))
    fin = np.isfinite(ve)
    assert np.abs(ve[fin] - vf[fin]).max() < 1e-9


def test_terms_deduplicate_shared_regions():
    # repeated points and points sharing a region: terms must merge
    net = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1], [-1, 2]], [0, 0])])
    X = [[1, 1], [2, 3], [1, 1], [-1, -1]]
    E = tropex(net, X)
    assert sum(len(t.points) for ts in E.terms for t in ts) == 4
    # outputs (x1 + x2, 2 x2 - x1) on x >= 0: (2, 1), (5, 4); (0, 0) at (-1, -1)
    assert E.labels == (0, 0, 0, 0)
    t0 = [t for t in E.terms[0] if 0 in t.points][0]
    # by hand, T&P Algorithm 3.1 lines 2-3: C- = column sums of W_neg = (1, 0),
    # C+_0 = W_0 + C- = (2, 1); the first layer (identity) adds nothing
    assert t0.points == (0, 1, 2) and t0.coef == (2, 1) and t0.const == 0
    assert [t.coef for t in E.denominator if 0 in t.points] == [(1, 0)]
    assert len(E.terms[0]) == 2 and E.terms[1] == ()
    r = region_sharing(net, X, "exact")
    assert r.distinct_patterns == 2 and r.distinct_maps == 2 and r.shared_points == 3
    assert r.per_layer == (("relu1", 2),)


def test_as_rational_map_matches_extracted():
    net = random_network([2, 4, 3], seed=0)
    X = rational_points(25, 2, 4)
    E = tropex(net, X)
    assert all(E.terms)      # every class has data points for this seed
    T = E.as_rational_map()
    for y in rational_points(10, 2, 9):
        assert T(y) == E(y)


# ------------------------------------------------------- Definition 3.1 algebra
def test_tropical_rational_map_operations():
    rng = random.Random(3)
    W1 = [[rng.randint(-3, 3) for _ in range(2)] for _ in range(3)]
    b1 = [rng.randint(-2, 2) for _ in range(3)]
    W2 = [[rng.randint(-3, 3) for _ in range(3)]]
    # build relu(W1 x + b1) neuron by neuron, then the output symbolically
    neurons = [TropicalRationalMap.relu_neuron(w, b) for w, b in zip(W1, b1)]
    out = TropicalRationalMap.from_affine([[0, 0]], [0])
    for c, n in zip(W2[0], neurons):
        out = out + n.scale(c)
    net = Network.from_weights([(W1, b1), (W2, [0])])
    for x in rational_points(20, 2, 5):
        assert out(x) == net(x)
    f = TropicalRationalMap.from_affine([[1, -2]], [1])
    g = TropicalRationalMap.from_affine([[-1, 1]], [0])
    for x in rational_points(10, 2, 6):
        assert f.maximum(g)(x)[0] == max(f(x)[0], g(x)[0])
        assert f.relu()(x)[0] == max(f(x)[0], 0)
        assert (f - g)(x)[0] == f(x)[0] - g(x)[0]


# ---------------------------------------------------------------- torch models
def small_cnn(seed, pool=True, bn=False, leaky=False):
    torch.manual_seed(seed)
    act = (lambda: nn.LeakyReLU(0.25)) if leaky else nn.ReLU
    layers = [nn.Conv2d(1, 2, 3, padding=1)]
    if bn:
        layers.append(nn.BatchNorm2d(2))
    layers.append(act())
    if pool:
        layers.append(nn.MaxPool2d(2))       # 5x5 -> 2x2
        n = 2 * 2 * 2
    else:
        layers.append(nn.Conv2d(2, 2, 2, stride=2))   # 5x5 -> 2x2
        layers.append(act())
        n = 2 * 2 * 2
    layers += [nn.Flatten(), nn.Linear(n, 4), act(), nn.Linear(4, 3)]
    model = nn.Sequential(*layers)
    if bn:
        b = layers[1]
        b.running_mean.uniform_(-0.5, 0.5)
        b.running_var.uniform_(0.5, 2.0)
        with torch.no_grad():
            b.weight.copy_(torch.tensor([1.5, -0.75]))   # a negative scale
            b.bias.uniform_(-0.5, 0.5)
    return model.eval()


def assert_top_label(label, out, tol=1e-9):
    """``label`` is a largest entry of the float64 outputs ``out``, up to
    float rounding: torch's summation order differs between CPUs, so an exact
    near-tie may have either argmax (never compare argmax of floats bitwise)."""
    out = np.asarray(out, dtype=float).reshape(-1)
    assert out[label] >= out.max() - tol * (1 + np.abs(out).max()), (label, out)


def dyadic_images(n, seed, shape=(1, 5, 5)):
    rng = np.random.default_rng(seed)
    return rng.integers(-8, 9, size=(n,) + shape) / 8.0


@pytest.mark.parametrize("pool,bn,leaky", [(True, False, False), (False, False, True),
                                           (True, True, False)])
def test_theorem_3_3_exact_cnn(pool, bn, leaky):
    model = small_cnn(3, pool=pool, bn=bn, leaky=leaky)
    X = dyadic_images(10, 4)
    E = tropex(model, X, "exact")
    assert E.checks["theorem_3_3"]
    assert_single_representation(E, X)
    Ef = tropex(model, X, "fast")
    assert Ef.labels == E.labels
    for k in range(len(X)):
        # independent float64 reference: torch forward and autograd Jacobian
        out = exact_torch_forward(model, X[k])
        assert_top_label(E.labels[k], out)
        M, c = E.local_map(k)
        Mf = np.array([[float(v) for v in r] for r in M])
        assert np.abs(Mf - torch_jacobian(model, X[k])).max() < 1e-9
        recon = Mf @ X[k].reshape(-1) + np.array([float(v) for v in c])
        assert np.abs(recon - out).max() < 1e-9
        Mfast = (Ef.rows[k, :3] - Ef.rows[k, 3])
        assert np.abs(Mfast - Mf).max() < 1e-9


def test_avgpool_and_residual_module():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 2, 3, padding=1)
            self.c2 = nn.Conv2d(2, 2, 3, padding=1)
            self.pool = nn.AvgPool2d(2)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            h = torch.relu(self.c1(x))
            h = torch.relu(self.c2(h) + h)
            return self.fc(torch.flatten(self.pool(h), 1))

    torch.manual_seed(0)
    model = Res().eval()
    X = dyadic_images(4, 1, (1, 4, 4))
    E = tropex(model, X, "exact")
    assert_single_representation(E, X)
    names = [n for n, _, _ in model_layers(model, (1, 4, 4))]
    assert "add" in names and "pool" in names
    for k in range(len(X)):
        M, _ = E.local_map(k)
        Mf = np.array([[float(v) for v in r] for r in M])
        assert np.abs(Mf - torch_jacobian(model, X[k])).max() < 1e-9
    Ef = tropex(model, X, "fast")
    assert Ef.labels == E.labels


def test_fast_mode_conv_batched_vs_torch():
    model = small_cnn(7, pool=True)
    X = dyadic_images(40, 8)
    E = tropex(model, X, "fast", batch_size=16)
    with torch.no_grad():
        out = _double(model)(torch.as_tensor(X)).numpy()
    for label, row in zip(E.labels, out):
        assert_top_label(label, row)
    vals = E(X)
    assert np.abs(vals.max(1) - out.max(1)).max() < 1e-9


# -------------------------------------------------------------- analyses
def test_scores_coefficients_and_curve():
    net = random_network([3, 6, 6, 3], seed=21)
    Xtr = np.array(rational_points(40, 3, 1), dtype=float)
    Xte = np.array(rational_points(15, 3, 2), dtype=float)
    E = tropex(net, Xtr, "fast")
    yte = [int(v) for v in np.array(net(Xte.tolist()), dtype=float).argmax(1)]
    sc = extraction_scores(E, net, Xte, yte)
    assert sc.network_accuracy == 1.0 and sc.extracted_accuracy == sc.agreement
    # training points: agreement is 1 (Theorem 3.3)
    assert extraction_scores(E, net, Xtr).agreement == 1.0
    cmp_ = compare_coefficients(E, net, Xte, yte)
    assert len(cmp_.angles) == 15 and (cmp_.angles >= 0).all() and (cmp_.angles <= 180).all()
    # a test point identical to a training point has distance 0
    cmp0 = compare_coefficients(E, net, Xtr[:3])
    assert np.all(cmp0.distances < 1e-9)
    curve = transformation_curve(net, Xtr, Xte, yte)
    assert curve[0].agreement == 1.0 and curve[0].merged == ()
    assert [s.code for s in curve] == ["", "D", "DR", "DRD", "DRDR", "DRDRD"]
    # the last stage is N^(X) itself
    assert curve[-1].agreement == pytest.approx(sc.agreement)
    # a stage before any nonlinear merge is the network itself
    assert curve[1].agreement == 1.0


def test_curve_training_points_agree_everywhere():
    model = small_cnn(2)
    X = dyadic_images(10, 3)
    curve = transformation_curve(model, X, X)
    assert all(s.agreement == 1.0 for s in curve)


# -------------------------------------------------------------- bad input
def test_unsupported_layer_named():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    with pytest.raises(UnsupportedLayerError, match="Tanh"):
        tropex(model, np.zeros((2, 2)))
    with pytest.raises(UnsupportedLayerError, match="slope"):
        tropex(nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(2.0), nn.Linear(2, 2)),
               np.zeros((1, 2)))
    with pytest.raises(UnsupportedLayerError, match="hard_tanh"):
        tropex(random_network([2, 2, 2], activation="hard_tanh"), [[0, 0]])


def test_wrong_shapes():
    net = random_network([3, 4, 2])
    with pytest.raises(ShapeError, match="3 inputs"):
        tropex(net, [[1, 2]])
    with pytest.raises(ShapeError):
        tropex(net, [1, 2, 3])
    with pytest.raises(ShapeError, match="channels"):
        tropex(small_cnn(0), np.zeros((2, 3, 5, 5)))
    with pytest.raises(ShapeError, match="0.weight|expects"):
        tropex(nn.Sequential(nn.Linear(4, 2)), np.zeros((2, 3)))
    E = tropex(net, [[1, 2, 3]])
    with pytest.raises(ShapeError):
        E([1, 2])
    with pytest.raises(NetworkError):
        tropex(net, [[1, 2, 3]], mode="slow")


# -------------------------------------------------------------- CLI
def test_cli_tropex_json_and_text(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    net = random_network([3, 5, 4, 3], seed=4)
    model = tmp_path / "net.json"
    net.save(model)
    X = np.array(rational_points(12, 3, 7), dtype=float)     # quarters: exact floats
    Xt = np.array(rational_points(6, 3, 8), dtype=float)
    yt = np.array([0, 1, 2, 0, 1, 2])
    data = tmp_path / "data.npz"
    np.savez(data, X=X, X_test=Xt, y_test=yt)
    assert main(["tropex", str(model), str(data), "--json", "--terms"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["theorem_3_3"] is True and doc["mode"] == "exact"
    # independent: distinct patterns of the data under Network.pattern
    pats = {net.pattern(x.tolist()) for x in X}
    assert int(doc["activation_patterns"]) == len(pats)
    # exact terms as strings; each class term reproduces N at its points exactly
    for i, ts in enumerate(doc["terms"]):
        for t in ts:
            for k in t["points"]:
                x = [Fraction(v) for v in X[int(k)]]
                k = int(k)
                den = [d for d in doc["denominator"] if str(k) in map(str, d["points"])][0]
                val = (sum(Fraction(c) * v for c, v in zip(t["coef"], x)) + Fraction(t["const"])
                       - sum(Fraction(c) * v for c, v in zip(den["coef"], x))
                       - Fraction(den["const"]))
                assert val == net(x)[i]
    net_pred = [max(range(3), key=lambda i: (o[i], -i)) for o in net(Xt.tolist())]
    assert float(doc["test"]["accuracy_network"]) == np.mean(np.array(net_pred) == yt)
    assert main(["tropex", str(model), str(data), "--mode", "fast"]) == 0
    out = capsys.readouterr().out
    assert "Theorem 3.3:  verified" in out and "agreement" in out


def test_cli_tropex_bad_data(tmp_path, capsys):
    from polyrelu.cli import main

    net = random_network([3, 4, 2], seed=1)
    model = tmp_path / "net.json"
    net.save(model)
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.zeros((4, 5)))
    assert main(["tropex", str(model), str(bad)]) == 2
    assert "5 coordinates" in capsys.readouterr().err
    noX = tmp_path / "nox.npz"
    np.savez(noX, Z=np.zeros(3))
    assert main(["tropex", str(model), str(noX)]) == 2
    assert "no array 'X'" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_region_sharing_maps_fewer_than_patterns(mode):
    # the second hidden unit does not reach the output: its bit changes the
    # pattern but not the local affine map
    net = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 0], [2, 0]], [0, 0])])
    X = np.array([[1.0, 1.0], [1.0, -1.0], [2.0, 5.0], [-1.0, 1.0]])
    r = region_sharing(net, X, mode, reference=X[:1])
    assert (r.distinct_patterns, r.distinct_maps) == (3, 2)
    assert r.shared_points == 2 and r.shared_with_reference == 2


def test_batchnorm1d_dropout_identity_dense_torch():
    torch.manual_seed(5)
    bn = nn.BatchNorm1d(6)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.copy_(torch.tensor([1.0, -2.0, 0.5, 1.5, -0.25, 1.0]))
        bn.bias.uniform_(-1, 1)
    model = nn.Sequential(nn.Linear(3, 6), bn, nn.LeakyReLU(0.125), nn.Dropout(0.5),
                          nn.Identity(), nn.Linear(6, 4)).eval()
    X = np.array(rational_points(15, 3, 11), dtype=float)
    E = tropex(model, X, "exact")
    assert_single_representation(E, X)
    for k in range(len(X)):
        M, _ = E.local_map(k)
        Mf = np.array([[float(v) for v in r] for r in M])
        assert np.abs(Mf - torch_jacobian(model, X[k])).max() < 1e-9
    assert [kind for _, kind, _ in model_layers(model, (3,))] == [
        "input", "dense", "scale", "act", "dense"]


# ------------------------------------------------- region boundaries (review)
def _tie_net(seed, act):
    """Small integer weights with many zeros (dead and zero-weight units) and
    skips, so that integer points often sit exactly on region boundaries."""
    rng = random.Random(seed)
    w = [2, 2, 2, 2, 3]
    layers = [([[rng.choice([-1, 0, 0, 1, 2]) for _ in range(w[i])] for _ in range(w[i + 1])],
               [rng.choice([-1, 0, 0, 1]) for _ in range(w[i + 1])]) for i in range(4)]
    return Network.from_weights(layers, skips={3: [1], 4: [0]}, activation=act,
                                alpha="1/3" if act == "leaky_relu" else None)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10 ** 6), act=st.sampled_from(["relu", "leaky_relu"]))
def test_exact_local_map_at_region_boundaries(seed, act):
    """Tie rule: tropex takes a unit with pre-activation exactly 0 as active;
    Network.pattern does too, except for units identically zero on the region
    (bit 0).  Such a unit contributes the zero map either way, so the extracted
    local map equals net.affine_map(net.pattern(x)) at every boundary point."""
    net = _tie_net(seed, act)
    X = [[a, b] for a in range(-2, 3) for b in range(-2, 3)]
    E = tropex(net, X)
    for k, x in enumerate(X):
        assert E.local_map(k) == net.affine_map(net.pattern(x))
        nums, den = E.point_terms(k)
        out = net(x)
        assert tuple(t(x) - den(x) for t in nums) == out


def test_zero_weight_unit_and_dead_unit_on_boundary():
    # unit 2 of layer 1 is identically zero (pattern bit 0, tropex mask 1);
    # at (1, 1) unit 1 has z = 0 and is not identically zero (bit 1 in both).
    net = Network.from_weights([([[1, -1], [0, 0]], [0, 0]), ([[1, 3], [2, -1]], [0, 0])])
    X = [[1, 1], [0, 0], [2, 1], [-1, 3]]
    assert net.pattern([1, 1]) == ((1, 0),)
    assert net.pre_activations([1, 1])[0] == (0, 0)      # both on a boundary / dead
    E = tropex(net, X)
    for k, x in enumerate(X):
        assert E.local_map(k) == net.affine_map(net.pattern(x))
    # the distinct-pattern count agrees with Network.pattern (a per-region
    # relabelling of identically-zero units does not change the count)
    r = region_sharing(net, X, "exact")
    assert r.distinct_patterns == len({net.pattern(x) for x in X})


def test_cli_tropex_damaged_data_files(tmp_path, capsys):
    """Bad data files: exit code 2 with a message naming the file, no traceback."""
    from polyrelu.cli import main

    net = random_network([2, 3, 2], seed=1)
    model = tmp_path / "net.json"
    net.save(model)
    cases = {
        "notzip.npz": None,
        "nanlabels.npz": dict(X=np.array([[1.0, 2.0]]), y=np.array([np.nan])),
        "fraclabels.npz": dict(X=np.array([[1.0, 2.0]]), y=np.array([0.5])),
        "nanX.npz": dict(X=np.array([[np.nan, 1.0], [0.0, 1.0]])),
        "infXtest.npz": dict(X=np.array([[0.0, 1.0]]), X_test=np.array([[np.inf, 1.0]])),
        "strX.npz": dict(X=np.array([["a", "b"]])),
    }
    for name, arrays in cases.items():
        p = tmp_path / name
        if arrays is None:
            p.write_bytes(b"PK\x03\x04 this is not a zip archive")
        else:
            np.savez(p, **arrays)
        for mode in ("exact", "fast"):
            assert main(["tropex", str(model), str(p), "--mode", mode]) == 2, name
            err = capsys.readouterr().err
            assert name in err and "Traceback" not in err, err
    ok = tmp_path / "ok.npz"
    np.savez(ok, X=np.array([[1.0, 2.0], [0.0, 1.0]]), X_test=np.array([[1.0, 0.5]]))
    assert main(["tropex", str(model), str(ok), "--max-points", "-1"]) == 2
    assert "--max-points" in capsys.readouterr().err
    blocker = tmp_path / "a_file"          # --out names an existing file
    blocker.write_text("x")
    assert main(["tropex", str(model), str(ok), "--out", str(blocker)]) == 2
    assert "a_file" in capsys.readouterr().err


def test_bad_batch_size_is_a_polyrelu_error():
    from polyrelu.exceptions import PolyreluError

    net = random_network([2, 3, 2], seed=1)
    for bs in (0, -3, 2.5, "4"):
        with pytest.raises(PolyreluError, match="batch_size"):
            tropex(net, [[1, 2], [3, 4]], batch_size=bs)
        with pytest.raises(PolyreluError, match="batch_size"):
            region_sharing(net, [[1, 2]], "exact", batch_size=bs)


# ------------------------------------------------- CLI on conv models (files)
def cli_cnn(seed):
    """Conv2d, eval BatchNorm2d, LeakyReLU, MaxPool2d, AvgPool2d, ReLU, Flatten,
    Linear on (1, 6, 6) inputs.  ``running_var + eps = 1``, so the batch-norm
    scale gamma / sqrt(var + eps) = gamma is exact and the reference below
    needs no float convention."""
    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(2, eps=0.25)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), bn, nn.LeakyReLU(0.25),
                          nn.MaxPool2d(2), nn.AvgPool2d(2, stride=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        bn.running_var.fill_(0.75)
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.weight.copy_(torch.tensor([1.5, -0.75]))       # a negative scale
        bn.bias.uniform_(-0.5, 0.5)
    return model.eval()


def _fr_array(t):
    a = t.detach().double().numpy() if hasattr(t, "detach") else np.asarray(t, dtype=float)
    return np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(a)


def reference_forward(model, x):
    """Independent exact forward mode of a Sequential of the layers of
    :func:`cli_cnn` (plain loops over Fractions, sharing no code with
    polyrelu): the output ``v`` and its Jacobian ``J`` (outputs x inputs)."""
    x = _fr_array(x)
    d = x.size
    v = x
    J = np.empty(x.shape + (d,), dtype=object)
    J[...] = Fraction(0)
    for i, idx in enumerate(np.ndindex(x.shape)):
        J[idx + (i,)] = Fraction(1)

    def conv(a, W, pad):          # stride 1; a: (C, H, W, *extra)
        C, H, Wd = a.shape[:3]
        Co, _, kh, kw = W.shape
        ap = np.empty((C, H + 2 * pad, Wd + 2 * pad) + a.shape[3:], dtype=object)
        ap[...] = Fraction(0)
        ap[:, pad:pad + H, pad:pad + Wd] = a
        Ho, Wo = H + 2 * pad - kh + 1, Wd + 2 * pad - kw + 1
        out = np.empty((Co, Ho, Wo) + a.shape[3:], dtype=object)
        for o in range(Co):
            for r in range(Ho):
                for c in range(Wo):
                    acc = Fraction(0)
                    for ci in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                acc = acc + W[o, ci, p, q] * ap[ci, r + p, c + q]
                    out[o, r, c] = acc
        return out

    for m in model:
        if isinstance(m, nn.Conv2d):
            W, b = _fr_array(m.weight), _fr_array(m.bias)
            v = conv(v, W, m.padding[0]) + b.reshape(-1, 1, 1)
            J = conv(J, W, m.padding[0])
        elif isinstance(m, nn.BatchNorm2d):
            var_eps = _fr_array(m.running_var) + Fraction(m.eps)
            assert all(ve == 1 for ve in var_eps)          # exact scale = gamma
            s, mu, beta = _fr_array(m.weight), _fr_array(m.running_mean), _fr_array(m.bias)
            v = v * s.reshape(-1, 1, 1) + (beta - s * mu).reshape(-1, 1, 1)
            J = J * s.reshape(-1, 1, 1, 1)
        elif isinstance(m, (nn.ReLU, nn.LeakyReLU)):
            a = Fraction(0) if isinstance(m, nn.ReLU) else Fraction(m.negative_slope)
            on = np.vectorize(lambda z: z >= 0, otypes=[bool])(v)
            v = np.where(on, v, v * a)
            J = np.where(on[..., None], J, J * a)
        elif isinstance(m, nn.MaxPool2d):          # kernel = stride, no padding
            k = m.kernel_size
            C, H, Wd = v.shape
            nv = np.empty((C, H // k, Wd // k), dtype=object)
            nJ = np.empty(nv.shape + (d,), dtype=object)
            for idx in np.ndindex(nv.shape):
                c, r, q = idx
                cells = [(c, r * k + p, q * k + t) for p in range(k) for t in range(k)]
                best = max(cells, key=lambda cell: v[cell])   # first maximum
                nv[idx], nJ[idx] = v[best], J[best]
            v, J = nv, nJ
        elif isinstance(m, nn.AvgPool2d):          # no padding
            k, s_ = m.kernel_size, m.stride
            C, H, Wd = v.shape
            Ho, Wo = (H - k) // s_ + 1, (Wd - k) // s_ + 1
            nv = np.empty((C, Ho, Wo), dtype=object)
            nJ = np.empty(nv.shape + (d,), dtype=object)
            for c, r, q in np.ndindex(nv.shape):
                cells = [(c, r * s_ + p, q * s_ + t) for p in range(k) for t in range(k)]
                nv[c, r, q] = sum((v[cell] for cell in cells), Fraction(0)) / (k * k)
                nJ[c, r, q] = sum((J[cell] for cell in cells)) / (k * k)
            v, J = nv, nJ
        elif isinstance(m, nn.Flatten):
            v, J = v.reshape(-1), J.reshape(-1, d)
        elif isinstance(m, nn.Linear):
            W, b = _fr_array(m.weight), _fr_array(m.bias)
            v, J = W @ v + b, W @ J
        else:
            raise AssertionError(type(m))
    return v, J


def _first_max(vals):
    best = max(v for v in vals if v is not None)
    return [i for i, v in enumerate(vals) if v is not None and v == best][0]


def _save_script(model, path, how, shape=(1, 1, 6, 6)):
    sm = torch.jit.script(model) if how == "script" else torch.jit.trace(model, torch.zeros(shape))
    torch.jit.save(sm, str(path))
    return path


def _cli_json(capsys, *argv):
    import json

    from polyrelu.cli import main

    rc = main(["tropex", *map(str, argv), "--json", "--terms"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def _check_theorem_3_3_from_json(doc, model, X, exact=True):
    """Theorem 3.3 from the printed terms alone, against an independent
    computation: N^(X) has the network's label (and, exactly, its maximum) at
    every data point, and numerator minus denominator term extracted at x_k
    is the network's local affine map there."""
    num = Fraction if exact else float
    terms = [[(np.array([num(c) for c in t["coef"]], dtype=object), num(t["const"]),
               set(t["points"])) for t in ts] for ts in doc["terms"]]
    den = [(np.array([num(c) for c in t["coef"]], dtype=object), num(t["const"]),
            set(t["points"])) for t in doc["denominator"]]
    labels = []
    for k in range(len(X)):
        if exact:
            v, J = reference_forward(model, X[k])
        else:
            v, J = exact_torch_forward(model, X[k]), torch_jacobian(model, X[k])
        lab = _first_max(list(v))
        labels.append(lab)
        x = (_fr_array(X[k]) if exact else X[k]).reshape(-1)
        dmax = max(c @ x + a for c, a, _ in den)
        ext = [None if not ts else max(c @ x + a for c, a, _ in ts) - dmax for ts in terms]
        assert _first_max(ext) == lab
        (c_num, a_num), = [(c, a) for c, a, pts in terms[lab] if k in pts]
        (c_den, a_den), = [(c, a) for c, a, pts in den if k in pts]
        if exact:
            assert ext[lab] == v[lab]
            assert list(c_num - c_den) == list(J[lab])
            assert a_num - a_den == v[lab] - J[lab] @ x
        else:
            assert abs(ext[lab] - v[lab]) < 1e-9
            assert np.abs(np.array(c_num - c_den, dtype=float) - J[lab]).max() < 1e-9
    counts = {str(i): labels.count(i) for i in sorted(set(labels))}
    assert doc["points_per_label"] == counts
    assert doc["theorem_3_3"] is True


@pytest.mark.parametrize("how", ["script", "trace"])
def test_cli_tropex_torchscript_cnn_exact(tmp_path, capsys, how):
    model = cli_cnn(5)
    path = _save_script(model, tmp_path / f"cnn_{how}.pt", how)
    X = np.random.default_rng(6).integers(-512, 513, size=(8, 1, 6, 6)) / 256.0
    np.savez(tmp_path / "img.npz", X=X)
    doc = _cli_json(capsys, path, tmp_path / "img.npz")
    assert doc["mode"] == "exact" and doc["input_shape"] == [1, 6, 6]
    _check_theorem_3_3_from_json(doc, model, X)
    # flat rows (N, C*H*W) give the same extraction
    np.savez(tmp_path / "flat.npz", X=X.reshape(len(X), -1))
    flat = _cli_json(capsys, path, tmp_path / "flat.npz")
    assert {k: v for k, v in flat.items() if k != "checks"} == \
        {k: v for k, v in doc.items() if k != "checks"}


@pytest.mark.parametrize("how", ["script", "trace"])
def test_cli_tropex_torchscript_cnn_fast_vs_torch_jacobian(tmp_path, capsys, how):
    model = cli_cnn(8)
    path = _save_script(model, tmp_path / "cnn.pt", how)
    X = np.random.default_rng(9).normal(size=(12, 1, 6, 6))
    np.savez(tmp_path / "d.npz", X=X)
    doc = _cli_json(capsys, path, tmp_path / "d.npz", "--mode", "fast")
    assert doc["mode"] == "fast"
    _check_theorem_3_3_from_json(doc, model, X, exact=False)


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_module_reads_like_the_eager_module(how):
    """tropex on a ScriptModule equals tropex on the eager module, exactly
    (also with a batch-norm whose scale is irrational: same float64 value)."""
    for model, shape in ((cli_cnn(11), (1, 6, 6)), (small_cnn(3, bn=True), (1, 5, 5)),
                         (small_cnn(4, pool=False, leaky=True), (1, 5, 5))):
        X = np.random.default_rng(12).integers(-64, 65, size=(4,) + shape) / 32.0
        sm = torch.jit.script(model) if how == "script" else torch.jit.trace(
            model, torch.zeros((1,) + shape))
        E, R = tropex(sm, X, "exact"), tropex(model, X, "exact")
        assert E.checks["theorem_3_3"]
        assert E.labels == R.labels
        assert (E.rows == R.rows).all() and (E.consts == R.consts).all()
        assert [k for _, k, _ in model_layers(sm, shape)] == \
            [k for _, k, _ in model_layers(model, shape)]


class _Res(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3, padding=1)
        self.c2 = nn.Conv2d(2, 2, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.c1(x))
        h = torch.relu(self.c2(h) + h)
        return self.fc(torch.flatten(self.pool(h), 1))


@pytest.mark.parametrize("how", ["script", "trace"])
def test_cli_tropex_torchscript_residual(tmp_path, capsys, how):
    torch.manual_seed(2)
    model = _Res().eval()
    path = _save_script(model, tmp_path / "res.pt", how, (1, 1, 4, 4))
    X = dyadic_images(5, 3, (1, 4, 4))
    np.savez(tmp_path / "d.npz", X=X)
    doc = _cli_json(capsys, path, tmp_path / "d.npz")
    assert doc["theorem_3_3"] is True
    R = tropex(model, X, "exact")               # eager module, read through torch.fx
    for k in range(len(X)):
        lab = R.labels[k]
        (t,), = [[t for t in doc["terms"][lab] if k in t["points"]]]
        assert [Fraction(c) for c in t["coef"]] == [Fraction(int(v.numerator), int(
            v.denominator)) for v in R.rows[k, lab]]
        M, _ = R.local_map(k)
        Mf = np.array([[float(v) for v in r] for r in M])
        assert np.abs(Mf - torch_jacobian(model, X[k])).max() < 1e-9


def test_cli_tropex_pickled_module_needs_the_flag(tmp_path, capsys):
    from polyrelu.cli import main

    model = cli_cnn(4)
    path = tmp_path / "whole.pt"
    torch.save(model, str(path))
    X = dyadic_images(4, 1, (1, 6, 6))
    np.savez(tmp_path / "d.npz", X=X)
    assert main(["tropex", str(path), str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err
    assert "--allow-pickle" in err and len(err.strip().splitlines()) == 1
    doc = _cli_json(capsys, path, tmp_path / "d.npz", "--allow-pickle")
    _check_theorem_3_3_from_json(doc, model, X)


def test_cli_tropex_torchscript_dense_still_a_network(tmp_path, capsys):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 3)).eval()
    path = _save_script(model, tmp_path / "mlp.pt", "script")
    X = np.array(rational_points(10, 3, 2), dtype=float)
    np.savez(tmp_path / "d.npz", X=X)
    doc = _cli_json(capsys, path, tmp_path / "d.npz")
    assert doc["architecture"] == "3-5-3" and doc["theorem_3_3"] is True
    net = Network.from_torch(model)
    for k, x in enumerate(X):
        lab = doc["terms"]
        out = net(x.tolist())
        i = _first_max(list(out))
        assert any(k in t["points"] for t in lab[i])


def _one_line_error(capsys, argv):
    from polyrelu.cli import main

    assert main(["tropex", *map(str, argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_cli_tropex_unsupported_torchscript_layer(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 1, 5, 5)))
    seq = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), nn.Flatten(), nn.Linear(18, 3))
    for how in ("script", "trace"):
        p = _save_script(seq.eval(), tmp_path / f"sig_{how}.pt", how, (1, 1, 5, 5))
        err = _one_line_error(capsys, [p, tmp_path / "d.npz"])
        assert "Sigmoid" in err and "supported" in err and "Conv2d" in err, err

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return torch.flatten(torch.tanh(self.c(x)), 1)

    p = _save_script(Odd().eval(), tmp_path / "odd.pt", "script", (1, 1, 5, 5))
    err = _one_line_error(capsys, [p, tmp_path / "d.npz"])
    assert "tanh" in err and "supported" in err, err
    # batch-norm traced in training mode computes batch statistics
    bn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(18, 2))
    p = _save_script(bn.train(), tmp_path / "bn_train.pt", "trace", (2, 1, 5, 5))
    err = _one_line_error(capsys, [p, tmp_path / "d.npz"])
    assert "training" in err, err


def test_cli_tropex_conv_data_shapes(tmp_path, capsys):
    p = _save_script(cli_cnn(1), tmp_path / "cnn.pt", "script")
    for name, X in (("rows35.npz", np.zeros((3, 35))), ("nochan.npz", np.zeros((3, 6, 6))),
                    ("chan3.npz", np.zeros((3, 3, 6, 6))), ("img8.npz", np.zeros((3, 1, 8, 8)))):
        np.savez(tmp_path / name, X=X)
        err = _one_line_error(capsys, [p, tmp_path / name])
        assert "(1, 6, 6)" in err and name in err, err
    np.savez(tmp_path / "ok.npz", X=np.zeros((3, 1, 6, 6)))
    err = _one_line_error(capsys, [p, tmp_path / "ok.npz", "--max-denominator", "10"])
    assert "--max-denominator" in err
    np.savez(tmp_path / "mixed.npz", X=np.zeros((3, 1, 6, 6)), X_test=np.zeros((2, 1, 5, 5)))
    err = _one_line_error(capsys, [p, tmp_path / "mixed.npz"])
    assert "X_test" in err and "(1, 6, 6)" in err, err


def test_infer_input_shape_flat_images_and_ambiguity(tmp_path, capsys):
    from polyrelu.tropex import infer_input_shape

    # no Linear head: flat rows of 36 fit (1, 6, 6), (1, 4, 9), ... -> refused
    fully_conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()).eval()
    with pytest.raises(ShapeError, match="several input shapes"):
        infer_input_shape(fully_conv, (36,))
    assert infer_input_shape(fully_conv, (1, 4, 9)) == (1, 4, 9)
    p = _save_script(fully_conv, tmp_path / "fc.pt", "script")
    X = dyadic_images(3, 2, (1, 4, 9))
    np.savez(tmp_path / "flat.npz", X=X.reshape(3, -1))
    err = _one_line_error(capsys, [p, tmp_path / "flat.npz"])
    assert "several input shapes" in err
    doc = _cli_json(capsys, p, tmp_path / "flat.npz", "--input-shape", "1,4,9")
    assert doc["input_shape"] == [1, 4, 9] and doc["theorem_3_3"] is True
    R = tropex(fully_conv, X, "exact")
    assert doc["points_per_label"] == {str(i): R.labels.count(i) for i in set(R.labels)}
    # a torch model starting with Linear (here with BatchNorm1d, which the
    # dense reader does not take) gets image data flattened, as a Network does
    torch.manual_seed(3)
    mlp = nn.Sequential(nn.Linear(36, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        mlp[1].running_mean.uniform_(-1, 1)
    mlp.eval()
    assert infer_input_shape(mlp, (1, 6, 6)) == (36,)
    p = _save_script(mlp, tmp_path / "mlp_bn.pt", "trace", (2, 36))
    X = dyadic_images(6, 5, (1, 6, 6))
    np.savez(tmp_path / "img.npz", X=X)
    doc = _cli_json(capsys, p, tmp_path / "img.npz")
    assert doc["input_shape"] == [36] and doc["theorem_3_3"] is True
    R = tropex(mlp, X.reshape(6, -1), "exact")
    for k in range(6):
        (t,), = [[t for t in doc["terms"][R.labels[k]] if k in t["points"]]]
        assert [Fraction(c) for c in t["coef"]] == [Fraction(int(v.numerator), int(
            v.denominator)) for v in R.rows[k, R.labels[k]]]


def test_cli_tropex_reading_guard(tmp_path, capsys, monkeypatch):
    """The command compares the layers it read with the file's own forward
    pass; a misreading (simulated) is an error, not a silent wrong answer."""
    import importlib

    ptx = importlib.import_module("polyrelu.tropex")   # pr.tropex is the function
    p = _save_script(cli_cnn(2), tmp_path / "cnn.pt", "script")
    np.savez(tmp_path / "d.npz", X=dyadic_images(3, 1, (1, 6, 6)))
    doc = _cli_json(capsys, p, tmp_path / "d.npz")
    assert doc["checks"]["torch_forward_deviation"] < 1e-12
    real = ptx.model_outputs
    monkeypatch.setattr(ptx, "model_outputs", lambda *a, **k: real(*a, **k) + 0.5)
    err = _one_line_error(capsys, [p, tmp_path / "d.npz"])
    assert "do not reproduce" in err


def test_module_called_twice_gets_two_ops():
    """One ReLU module applied twice (common in residual blocks) is two layers;
    their activation choices are keyed by op name, which must differ (the
    second call's mask used to overwrite the first's: the exact Theorem 3.3
    check failed)."""
    class Reuse(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 2, 3, padding=1)
            self.c2 = nn.Conv2d(2, 2, 3, padding=1)
            self.act = nn.ReLU()
            self.fc = nn.Linear(32, 3)

        def forward(self, x):
            h = self.act(self.c1(x))
            h = self.act(self.c2(h) + h)
            return self.fc(torch.flatten(h, 1))

    torch.manual_seed(1)
    model = Reuse().eval()
    X = dyadic_images(6, 0, (1, 4, 4))
    for m in (model, torch.jit.script(model)):
        E = tropex(m, X, "exact")
        assert E.checks["theorem_3_3"]
        names = [n for n, k, _ in model_layers(m, (1, 4, 4)) if k == "act"]
        assert len(names) == 2 and len(set(names)) == 2
        for k in range(len(X)):
            M, _ = E.local_map(k)
            Mf = np.array([[float(v) for v in r] for r in M])
            assert np.abs(Mf - torch_jacobian(model, X[k])).max() < 1e-9


# ------------------------------------------ in-place ops on aliased tensors
class _InPlaceCnn(nn.Module):
    """Base of the models with in-place ops that other uses see (eager torch
    mutates the tensor); tropex reads no control flow, so one class each."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3, padding=1)
        self.c2 = nn.Conv2d(2, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.fl = nn.Flatten()
        self.fc = nn.Linear(32, 3)


class _AliasIadd(_InPlaceCnn):
    def forward(self, x):           # g is h: fc(h + relu(c2 h))
        h = torch.relu(self.c1(x))
        g = h
        g += torch.relu(self.c2(h))
        return self.fc(self.fl(h))


class _ReluModuleInPlace(_InPlaceCnn):
    def forward(self, x):           # h is relu(h) afterwards: fc(2 relu(c1 x))
        h = self.c1(x)
        y = self.relu(h)
        return self.fc(self.fl(h + y))


class _TorchReluInPlace(_InPlaceCnn):
    def forward(self, x):           # z is relu(z) afterwards
        h = torch.relu(self.c1(x))
        z = self.c2(h)
        torch.relu_(z)
        return self.fc(torch.flatten(z + h, 1))


class _InPlaceThroughView(_InPlaceCnn):
    def forward(self, x):           # v views h, which changes: refused
        h = torch.relu(self.c1(x))
        v = torch.flatten(h, 1)
        h += torch.relu(self.c2(h))
        return self.fc(v)


def _small_int_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-2, 3, p.shape, generator=g).to(p.dtype))
    return model.double().eval()


@pytest.mark.parametrize("cls", [_AliasIadd, _ReluModuleInPlace, _TorchReluInPlace])
def test_inplace_ops_are_read_as_torch_computes(cls):
    # integer weights and images: torch float64 is exact, so equality is exact
    X = np.random.default_rng(1).integers(-3, 4, size=(4, 1, 4, 4)).astype(float)
    for seed in range(2):
        model = _small_int_weights(cls(), seed)
        ref = [tuple(Fraction(float(v)) for v in exact_torch_forward(model, x)) for x in X]
        x0 = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
        for how, m in (("eager", model), ("script", torch.jit.script(model)),
                       ("trace", torch.jit.trace(model, x0, check_trace=False))):
            assert list(model_outputs(m, X, "exact")) == ref, (how, seed)
            E = tropex(m, X, "exact")
            assert E.checks["theorem_3_3"]


def test_inplace_op_through_a_view_is_refused():
    model = _small_int_weights(_InPlaceThroughView(), 0)
    x0 = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    X = np.zeros((1, 1, 4, 4))
    for m in (model, torch.jit.script(model), torch.jit.trace(model, x0,
                                                              check_trace=False)):
        with pytest.raises(UnsupportedLayerError, match="in-place.*view"):
            model_outputs(m, X, "exact")


def test_tropex_of_an_input_mapped_network():
    """A slice of a network with skips from the input (nu_0 = A t + a): the
    input map is an affine node of the graph; Theorem 3.3 is verified exactly
    against Network.affine_map, and labels and maxima match the network."""
    net = random_network([3, 3, 3, 3, 2], seed=2, denominator=4, skips={3: [0, 1], 4: [0]})
    sub = net.restrict([Fraction(1, 2), -1, Fraction(1, 3)],
                       [[1, Fraction(1, 4)], [Fraction(-3, 8), 2], [0, 1]])
    assert sub.input_map is not None
    rng = random.Random(0)
    X = [[Fraction(rng.randint(-12, 12), rng.randint(1, 4)) for _ in range(2)]
         for _ in range(12)]
    E = tropex(sub, X, mode="exact")
    assert E.checks["theorem_3_3"] is True
    want = [sub(x) for x in X]
    assert E.predict(X) == tuple(max(range(2), key=lambda i: (w[i], -i)) for w in want)
    assert [max(v for v in E(x) if v is not None) for x in X] == [max(w) for w in want]
    F = tropex(sub, X, mode="fast")
    assert F.predict(X) == E.predict(X)


def test_tropex_time_limit_keeps_whole_batches_of_the_first_points():
    """A limit stops the extraction between batches: the function is that of
    the first points (Theorem 3.3 holds there, the terms equal those of a run
    on those points alone), marked partial with the reason."""
    from polyrelu.budget import Budget

    net = random_network([4, 16, 16, 3], seed=0)
    X = rational_points(3000, 4, 5)
    E = tropex(net, X, batch_size=64, budget=Budget(time_limit=0.3))
    assert E.partial and "time limit of 0.3 s reached after" in E.reason
    n = E.num_points
    assert 64 <= n < 3000 and n % 64 == 0
    assert E.checks["theorem_3_3"] is True
    ref = tropex(net, X[:n])
    assert not ref.partial and ref.reason is None
    assert E.labels == ref.labels and E.terms == ref.terms


def test_cli_tropex_time_limit_reports_a_partial_run(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    net = random_network([4, 16, 16, 3], seed=0)
    model = tmp_path / "net.json"
    net.save(model)
    X = np.array(rational_points(4000, 4, 4), dtype=float)
    data = tmp_path / "data.npz"
    np.savez(data, X=X, y=np.zeros(len(X), dtype=int), X_test=X[:50])
    assert main(["tropex", str(model), str(data), "--json", "--no-progress",
                 "--time-limit", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["partial"] and "points" in doc["reason"]
    assert 1 <= doc["points"] < 4000 and doc["theorem_3_3"] is True
    assert main(["tropex", str(model), str(data), "--no-progress", "--time-limit", "1"]) == 0
    assert "PARTIAL:" in capsys.readouterr().out
    assert main(["tropex", str(model), str(data), "--json", "--no-progress"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert not full["partial"] and full["reason"] is None and full["points"] == 4000
