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
    for name in ("model.json", "regions.json", "regions.png", "folds.png",
                 "dependency_graph.png", "dependency_graph.graphml"):
        assert (tmp_path / name).stat().st_size > 0, name
    # Cross-check the count written to regions.json against the document.
    written = json.loads((tmp_path / "regions.json").read_text())
    assert written["activation_regions"] == doc["regions"]["activation_regions"]
    assert len(written["regions"]) == written["activation_regions"]
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
