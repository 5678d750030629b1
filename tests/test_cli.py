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
])
def test_bad_input_exits_2_with_one_line(args, tmp_path):
    res = run_cli(*args)
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
