"""``polyrelu plot``: PNGs are written and not blank, slices work, bad input exits 2.

The counts printed by the command are cross-checked against an independent
enumeration (exact areas of the regions sum to the area of the box).
"""

import subprocess
import sys
from fractions import Fraction

import matplotlib.image as mpimg
import numpy as np
import pytest

import polyrelu as pr
from polyrelu.commands.plot import linear_region_labels
from polyrelu.io import load_default_model
from polyrelu.network import random_network


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "polyrelu.cli", "plot", *args],
                          capture_output=True, text=True, timeout=timeout)


def distinct_colours(path):
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200, img.shape
    rgb = (img[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))


def count_line(stdout):
    line = next(ln for ln in stdout.splitlines() if "activation regions" in ln)
    a = int(line.split(" activation regions")[0])
    n = int(line.split(", ")[1].split(" linear regions")[0])
    return a, n


@pytest.mark.slow
def test_default_model_all_colours_and_layers(tmp_path):
    res = run_cli("--out", str(tmp_path), "--layers", "--no-progress")
    assert res.returncode == 0, res.stderr
    res2 = run_cli("--out", str(tmp_path), "--color-by", "value", "--no-progress")
    assert res2.returncode == 0, res2.stderr
    for name in ("regions_region.png", "layers.png", "regions_value.png"):
        p = tmp_path / name
        assert p.stat().st_size > 5000, name
        # a real drawing of >100 regions has many colours; a blank canvas has 1
        assert distinct_colours(p) > 50, name
        assert str(p) in res.stdout + res2.stdout
    # independent check of the printed counts
    net = load_default_model()
    box = pr.Polyhedron.box([-10, -10], [10, 10])
    regs = list(pr.regions(net, box))
    assert sum((r.polyhedron.volume() for r in regs), Fraction(0)) == 400
    a, n = count_line(res.stdout)
    assert a == len(regs)
    assert n == len(set(linear_region_labels(regs))) <= a


def test_json_and_map_colour(tmp_path):
    import json

    res = run_cli("--out", str(tmp_path), "--color", "map", "--json", "--no-progress",
                  "--box=-2,2")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["files"] == [str(tmp_path / "regions_map.png")]
    assert doc["box"] == [["-2", "-2"], ["2", "2"]]
    assert doc["partial"] is False
    net = load_default_model()
    regs = list(pr.regions(net, pr.Polyhedron.box([-2, -2], [2, 2])))
    assert doc["activation_regions"] == len(regs)
    assert distinct_colours(tmp_path / "regions_map.png") > 10


def test_slice_of_a_5_input_network(tmp_path):
    net = random_network([5, 6, 6, 1], seed=3)
    model = tmp_path / "r5.json"
    net.save(model)
    pts = ["0,0,0,0,0", "1,0,1,0,0", "0,1,0,-1,1"]
    res = run_cli(str(model), "--slice", *pts, "--box=-3,3", "--out", str(tmp_path),
                  "--layers", "--no-progress")
    assert res.returncode == 0, res.stderr
    for name in ("regions_region.png", "layers.png"):
        assert distinct_colours(tmp_path / name) > 10
    # the printed count equals an enumeration of the restricted network
    P = [[Fraction(int(v)) for v in p.split(",")] for p in pts]
    U = [[P[1][i] - P[0][i], P[2][i] - P[0][i]] for i in range(5)]
    nt = net.restrict(P[0], U)
    regs = list(pr.regions(nt, pr.Polyhedron.box([-3, -3], [3, 3])))
    assert count_line(res.stdout)[0] == len(regs)
    # and each region's exact affine map agrees with the full net on the plane
    r = regs[len(regs) // 2]
    t = r.interior_point
    x = [P[0][i] + U[i][0] * t[0] + U[i][1] * t[1] for i in range(5)]
    M, c = r.affine_map
    assert net(x)[0] == M[0][0] * t[0] + M[0][1] * t[1] + c[0]


def test_two_point_slice_draws_a_graph(tmp_path):
    net = random_network([5, 4, 1], seed=1)
    net.save(tmp_path / "m.json")
    res = run_cli(str(tmp_path / "m.json"), "--slice", "0,0,0,0,0", "1,1,1,1,1",
                  "--box=-4,4", "--out", str(tmp_path), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert distinct_colours(tmp_path / "regions_region.png") > 5


@pytest.mark.parametrize("args", [
    ["{r5}"],                                      # 5 inputs, no --slice
    ["{r5}", "--slice", "0,0,0,0,0", "1,0,0,0,0", "0,1,0,0,0", "0,0,1,0,0"],
    ["{r5}", "--slice", "0,0,0", "1,0,0", "0,1,0"],  # wrong point dimension
    ["--box", "1,0,0,1"],
    ["--box", "a,b"],
    ["--output", "3"],
    ["{missing}"],
])
def test_bad_input_exits_2_with_one_line(args, tmp_path):
    net = random_network([5, 3, 1], seed=0)
    net.save(tmp_path / "r5.json")
    args = [a.format(r5=tmp_path / "r5.json", missing=tmp_path / "nope.json")
            for a in args]
    res = run_cli(*args, "--out", str(tmp_path / "o"), "--no-progress")
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in res.stderr, \
        res.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_linear_region_labels_merge_equal_maps():
    # relu(x) + relu(-x) = |x| has 2 maps; relu(x) - relu(x) = 0 has one
    zero = pr.Network.from_weights([([[1, 0], [1, 0]], [0, 0]), ([[1, -1]], [0])])
    regs = list(pr.regions(zero, pr.Polyhedron.box([-1, -1], [1, 1])))
    assert len(regs) == 2 and len(set(linear_region_labels(regs))) == 1
    absx = pr.Network.from_weights([([[1, 0], [-1, 0]], [0, 0]), ([[1, 1]], [0])])
    regs = list(pr.regions(absx, pr.Polyhedron.box([-1, -1], [1, 1])))
    assert len(set(linear_region_labels(regs))) == 2


def test_partial_enumeration_is_marked(tmp_path):
    res = run_cli("--max-regions", "10", "--out", str(tmp_path), "--no-progress",
                  "--layers")
    assert res.returncode == 0, res.stderr
    assert "PARTIAL" in res.stdout and "10 activation regions" in res.stdout
    assert not (tmp_path / "layers.png").exists()
    assert distinct_colours(tmp_path / "regions_region.png") > 5


def test_one_input_model_is_drawn_as_a_graph(tmp_path):
    net = random_network([1, 4, 4, 1], seed=3)
    net.save(tmp_path / "m1.json")
    res = run_cli(str(tmp_path / "m1.json"), "--box=-5,5", "--out", str(tmp_path),
                  "--color", "map", "--no-progress")
    assert res.returncode == 0, res.stderr
    regs = list(pr.regions(net, pr.Polyhedron.box([-5], [5])))
    assert count_line(res.stdout) == (len(regs), len(set(linear_region_labels(regs))))
    assert distinct_colours(tmp_path / "regions_map.png") > 5
