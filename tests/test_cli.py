"""The command line: every command is registered, bad input exits 2 with one line."""

import json
import subprocess
import sys

import pytest

from polyrelu.cli import build_parser, main
from polyrelu.commands import COMMANDS


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "polyrelu.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_every_command_is_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert command in capsys.readouterr().out


@pytest.mark.parametrize("args", [
    ["info", "no/such/file.json"],
    ["info", "model.unknownext"],
    ["regions", "--box", "1,0,0,1"],
    ["regions", "--box", "0,1,0"],
    ["regions", "--box", "a,b,c,d"],
    ["regions", "--box", "0,1e999999999,0,1"],          # would build a huge integer
    ["regions", "--slice", "0,0", "1,1", "2,2"],        # collinear: not a plane
    ["regions", "--slice", "0,0", "0,0"],               # no direction
    ["regions", "--time-limit", "nan"],
    ["regions", "--max-regions", "0"],
    ["regions", "--max-regions", "x"],                  # argparse: one line too
    ["nosuchcommand"],
    ["export", "--to", "xyz"],
    ["regions", "--out", "{existing_file}"],
    ["demo", "--out", "{existing_file}/sub"],
    ["info", "{huge_exponent_json}"],
    ["info", "{long_integer_json}"],
])
def test_bad_input_exits_2_with_one_line(args, tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    (tmp_path / "he.json").write_text('{"layers": 1e999999999}')
    (tmp_path / "li.json").write_text('{"layers": ' + "1" * 5000 + "}")
    args = [a.format(existing_file=f, huge_exponent_json=tmp_path / "he.json",
                     long_integer_json=tmp_path / "li.json") for a in args]
    res = run_cli(*args, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "error" in lines[0], res.stderr


def test_malformed_model_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "polyrelu-network", "version": 1, "layers": [')
    res = run_cli("info", str(bad))
    assert res.returncode == 2
    assert "bad.json" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_demo_runs_and_writes_everything(tmp_path):
    res = run_cli("demo", "--out", str(tmp_path), "--json", "--no-progress")
    assert res.returncode == 0, res.stderr[-3000:]
    doc = json.loads(res.stdout)
    for name in ("model.json", "regions.jsonl", "regions.png", "folds.png",
                 "dependency_graph.png", "dependency_graph.graphml", "equivalence.json",
                 "counterexample.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    # Cross-check the count written to regions.jsonl against the document, and
    # let the standalone checker verify every file the demo wrote.
    from polyrelu.check import check_file
    from polyrelu.results import load_result

    written = load_result(tmp_path / "regions.jsonl")
    assert len(written.regions) == doc["regions"]["activation_regions"]
    for name in ("regions.jsonl", "equivalence.json", "counterexample.json"):
        rep = check_file(tmp_path / name)
        assert rep.code == 0, rep.message
    assert doc["equivalence"]["permuted_copy"]["equivalent"] is True
    assert doc["equivalence"]["perturbed_copy"]["equivalent"] is False


def test_negative_numbers_in_option_values():
    parser = build_parser()
    assert parser.parse_args(["regions", "--box", "-1,1,-2,2"]).box == "-1,1,-2,2"
    assert parser.parse_args(["plot", "--slice", "-1,0", "2,-3"]).slice == ["-1,0", "2,-3"]


def _upper_lines_hold(text, count):
    """Every '(upper)' line of a bounds block shows n/a or a number >= count."""
    seen = 0
    for line in text.splitlines():
        if "(upper)" in line:
            val = line.split()[-1]
            if val.isdigit():
                assert int(val) >= count, line
                seen += 1
            else:
                assert "n/a" in line, line
    return seen


def test_regions_shows_bounds_next_to_exact_counts(tmp_path, capsys):
    from math import comb
    from pathlib import Path

    import polyrelu as pr

    # hard tanh 2-3-1 with unit weights: 3 pairs of parallel lines in general
    # position, all crossings inside the box: sum_i C(3, i) 2^i regions
    net = pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, 0, 0]),
                                   ([[1, 1, 1]], [0])], activation="hard_tanh")
    path = Path(tmp_path) / "ht.json"
    net.save(path)
    expected = sum(comb(3, i) * 2 ** i for i in range(3))
    assert main(["regions", str(path), "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    n = int(doc["activation_regions"])
    assert n == expected and int(doc["linear_regions"]) <= n
    b = doc["bounds"]
    ent = {e["name"]: e for e in b["entries"]}
    zas = lambda k, d: sum(comb(k, i) for i in range(d + 1))  # noqa: E731
    assert int(ent["raghu"]["value"]) == zas(6, 2)  # 2 thresholds per unit
    assert int(ent["serra"]["value"]) == zas(6, 2)  # ReLU bound, doubled width
    assert int(ent["serra_product"]["value"]) == expected
    assert ent["montufar_lower"]["value"] is None and ent["montufar_lower"]["note"]
    for e in b["entries"]:
        if e["kind"] == "upper" and e["value"] is not None:
            assert int(e["value"]) >= n and "activation regions" in e["bounds"]
    assert main(["regions", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"activation regions: {n}" in out and "Serra" in out
    assert _upper_lines_hold(out, n) == 4
    assert "Montufar" in out and "not hard_tanh" in out


def test_regions_bounds_for_skip_nets_are_not_serra(tmp_path, capsys):
    from fractions import Fraction as F
    from pathlib import Path

    import polyrelu as pr

    W1 = [[F(-16, 7), F(1, 7)], [F(10, 7), F(15, 7)]]
    W2 = [[1, 0], [F(19, 7), F(20, 7)]]
    net = pr.Network.from_weights([(W1, [-2, F(2, 7)]), (W2, [-1, F(15, 7)]),
                                   ([[1, 1]], [0])], skips={2: [0]})
    path = Path(tmp_path) / "skip.json"
    net.save(path)
    assert main(["regions", str(path), "--box", "-100,100", "--json",
                 "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    n = int(doc["activation_regions"])
    assert n == len(list(pr.regions(net, pr.Polyhedron.box([-100] * 2, [100] * 2),
                                    engine="tree")))
    ent = {e["name"]: e for e in doc["bounds"]["entries"]}
    assert ent["serra"]["value"] is None and "skips" in ent["serra"]["note"]
    assert all(int(e["value"]) >= n for e in ent.values()
               if e["kind"] == "upper" and e["value"] is not None)
    assert main(["regions", str(path), "--box", "-100,100", "--no-progress"]) == 0
    assert _upper_lines_hold(capsys.readouterr().out, n) >= 2


ACAS = "../shared/data/onnx/ACASXU_run2a_1_1_batch_2000.onnx"


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0], err
    return err[0]


def test_messages_name_the_real_problem(tmp_path, capsys):
    import os

    import numpy as np

    acas = os.path.join(os.path.dirname(__file__), "..", ACAS)
    assert main(["demo", acas, "--out", str(tmp_path / "d")]) == 2
    assert "demo takes a 2-input model" in _err(capsys) and not (tmp_path / "d").exists()
    d = str(tmp_path / "m.json")
    assert main(["export", "--to", "json", "--out", d]) == 0
    capsys.readouterr()
    assert main(["equiv", d, d, "--top1", "--eps", "1/10", "--box=-1,1"]) == 2
    assert "--top1" in _err(capsys)
    assert main(["export", "--to", "torchscript", "--out", str(tmp_path / "x.torchscript")]) == 2
    assert ".pt / .pth / .ts" in _err(capsys) and not (tmp_path / "x.torchscript").exists()
    (tmp_path / "a_file").write_text("x")
    assert main(["plot", "--box=-1,1", "--out", str(tmp_path / "a_file" / "sub")]) == 2
    assert "file not found" not in _err(capsys)
    assert main(["regions", "--slice", "0,0", "1,1", "--box=-1,1,-1,1"]) == 2
    msg = _err(capsys)
    assert "R^1 needs 2 (lo,hi)" in msg and "slice parameter" in msg
    np.save(tmp_path / "pts.npy", np.zeros((2, 2)))
    assert main(["tropex", str(tmp_path / "pts.npy")]) == 2
    msg = _err(capsys)
    assert "not an .npz archive" in msg and "pickle" not in msg


def test_rounding_is_reported_and_the_verdict_said_to_be_about_it(tmp_path, capsys):
    """--max-denominator rounds both models; a difference below the rounding
    disappears, so the output must say the verdict is about the rounded models."""
    from fractions import Fraction

    from polyrelu.io import load_default_model

    f = load_default_model()
    layers = [(list(map(list, W)), list(b)) for W, b in f.weights()]
    layers[0][1][0] += Fraction(1, 2 ** 40)       # below 1/1000-rounding
    g = type(f).from_weights(layers)
    f.save(tmp_path / "f.json")
    g.save(tmp_path / "g.json")
    base = ["equiv", str(tmp_path / "f.json"), str(tmp_path / "g.json"), "--box=-1,1",
            "--no-progress"]
    assert main(base) == 1                        # exactly: different functions
    capsys.readouterr()
    assert main(base + ["--max-denominator", "1000"]) == 0
    out = capsys.readouterr()
    assert "verdict is about the rounded models" in out.out
    assert out.err.count("weights rounded to denominators <= 1000") == 2
    assert main(base + ["--max-denominator", "1000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rounding"]["max_denominator"] == 1000
    errs = [Fraction(e) for e in doc["rounding"]["rounding_error"]]
    assert all(0 < e <= Fraction(1, 2000) for e in errs)


def test_help_shows_no_rst_markup(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "``" not in out and ":func:" not in out, command


def test_broken_pipe_is_quiet():
    cmd = (f"{sys.executable} -m polyrelu.cli regions --box=-10,10 --no-linear | head -n 1")
    res = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300)
    assert res.stdout.strip() and "Broken pipe" not in res.stderr and \
        "Traceback" not in res.stderr, res.stderr


@pytest.mark.parametrize("point", ["1/3,-2", "5,7/2", "-9,9"])
def test_regions_at_a_point_is_certified(point, capsys):
    """--at: the region of one point.  Independent checks from the JSON alone:
    x satisfies the inequalities, the interior point satisfies them strictly and
    has x's pattern, and the exact distance equals min (b - a.x)^2 / |a|^2 over
    the facets (x inside a convex polyhedron given by its facets)."""
    from fractions import Fraction

    from polyrelu.io import load_default_model

    assert main(["regions", "--at", point, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    net = load_default_model()
    x = [Fraction(v) for v in point.split(",")]
    reg = doc["region"]
    A = [[Fraction(v) for v in row] for row in reg["inequalities"]["A"]]
    b = [Fraction(v) for v in reg["inequalities"]["b"]]
    y = [Fraction(v) for v in reg["interior_point"]]
    assert all(sum(a * v for a, v in zip(row, x)) <= c for row, c in zip(A, b))
    assert all(sum(a * v for a, v in zip(row, y)) < c for row, c in zip(A, b))
    assert tuple(map(tuple, reg["pattern"])) == net.pattern(y) == net.pattern(x)
    assert not doc["on_boundary"]
    want = min((c - sum(a * v for a, v in zip(row, x))) ** 2 / sum(a * a for a in row)
               for row, c in zip(A, b))
    assert Fraction(doc["distance"]["squared"]) == want
    M = [[Fraction(v) for v in row] for row in reg["affine_map"]["M"]]
    c0 = [Fraction(v) for v in reg["affine_map"]["c"]]
    assert [sum(m * v for m, v in zip(row, y)) + ci for row, ci in zip(M, c0)] == list(net(y))
    assert main(["regions", "--at", point]) == 0
    assert "distance from x to the boundary: sqrt(" in capsys.readouterr().out
