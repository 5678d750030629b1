"""Issue 18, the CLI: the same option names and meanings in every command
(-q/-v, --no-progress, --format/--dpi, --out a folder), progress with a
total where one is known, errors naming the subcommand."""

import json

import numpy as np
import pytest

from polyrelu.cli import build_parser, main
from polyrelu.commands import COMMANDS


def _options(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    sp = sub.choices[command]
    return {o for a in sp._actions for o in a.option_strings}


#: commands whose work can be long: they take --no-progress
LONG = ["demo", "regions", "plot", "equiv", "folds", "tropical", "tropex", "trajectory"]
#: commands that draw figures
PLOTTING = ["demo", "regions", "plot", "folds", "tropex"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_quiet_and_verbose(command):
    assert {"-q", "--quiet", "-v", "--verbose"} <= _options(command)


@pytest.mark.parametrize("command", LONG)
def test_every_long_command_takes_no_progress(command):
    assert "--no-progress" in _options(command)


@pytest.mark.parametrize("command", PLOTTING)
def test_every_plotting_command_takes_format_and_dpi(command):
    assert {"--format", "--dpi", "--out"} <= _options(command)


def test_export_names_its_file_with_file_and_still_reads_out(tmp_path, capsys):
    f = tmp_path / "m.json"
    assert main(["export", "--to", "json", "--file", str(f), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["file"] == str(f) and f.exists()
    g = tmp_path / "old.json"
    assert main(["export", "--to", "json", "--out", str(g)]) == 0     # older scripts
    assert g.read_text() == f.read_text()
    assert main(["export", "--to", "json"]) == 2
    err = capsys.readouterr().err
    assert "polyrelu export: error:" in err and "--file" in err


def test_unknown_option_names_the_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        main(["regions", "--no-such-option"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("polyrelu regions: error: unrecognized arguments: --no-such-option")
    assert err.count("\n") == 1


def test_quiet_hides_notes_but_not_results(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["regions", "--box=-1,1,-1,1", "--out", out, "-q"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and "activation regions" in quiet.out
    assert main(["regions", "--box=-1,1,-1,1", "--out", out]) == 0
    normal = capsys.readouterr()
    assert "wrote" in normal.err and "[polyrelu" not in normal.err
    # the same results on stdout (but for the seconds it took)
    def counts(text):
        return [ln for ln in text.splitlines() if "regions" in ln and " s " not in ln]
    assert counts(normal.out) == counts(quiet.out)


def test_trajectory_takes_no_progress(capsys):
    assert main(["trajectory", "--line", "-1,0", "1,1", "--no-progress", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["count"] >= 1 and not doc["partial"]


def _tropex_data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, size=(40, 2))
    Xt = rng.uniform(-5, 5, size=(20, 2))
    path = tmp_path / "d.npz"
    np.savez(path, X=X, X_test=Xt)
    return str(path)


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_tropex_writes_its_figures_in_the_format_asked(fmt, tmp_path, capsys):
    data = _tropex_data(tmp_path)
    out = tmp_path / "o"
    assert main(["tropex", data, "--mode", "fast", "--out", str(out), "--format", fmt,
                 "--no-progress", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"tropex_angles.{fmt}", f"tropex_transformation.{fmt}"]
    assert sorted(doc["files"]) == sorted(str(out / n) for n in names)
    head = (out / names[0]).read_bytes()[:200]
    assert (b"<svg" in head) if fmt == "svg" else head.startswith(b"%PDF")


def test_tropex_progress_counts_its_stages():
    from polyrelu.commands.tropex import tropex_report
    from polyrelu.io import load_default_model

    net = load_default_model()
    X = np.random.default_rng(1).uniform(-5, 5, size=(10, 2))
    calls = []
    tropex_report(net, {"X": X}, "fast", progress=lambda s, k, n: calls.append((s, k, n)))
    stages = [c for c in calls if c[0] == "tropex stages"]
    assert stages[0] == ("tropex stages", 0, 3) and stages[-1] == ("tropex stages", 3, 3)
    assert [k for _, k, _ in stages] == sorted(k for _, k, _ in stages)
    # the extraction itself: the points done out of all, batch by batch
    assert [c for c in calls if c[0] == "tropex points"] == [("tropex points", 0, 10),
                                                             ("tropex points", 10, 10)]


def test_tropex_reports_points_batch_by_batch():
    from polyrelu.network import random_network
    from polyrelu.tropex import tropex

    net = random_network([2, 4, 3], seed=2)
    X = [[1, 0], [0, 1], ["1/2", -2], [3, 1], [-1, -1]]
    calls = []
    E = tropex(net, X, batch_size=2, progress=lambda s, k, n: calls.append((s, k, n)))
    assert calls == [("tropex points", k, 5) for k in (0, 2, 4, 5)]
    ref = tropex(net, X)            # one batch: the same exact terms
    assert E.labels == ref.labels
    assert all(E.local_map(k) == ref.local_map(k) for k in range(len(X)))


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_regions_writes_its_figure_in_the_format_asked(fmt, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["regions", "--box=-1,1,-1,1", "--out", str(out), "--format", fmt,
                 "--dpi", "72", "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"]["png"] == str(out / f"regions.{fmt}")
    assert sorted(p.name for p in out.iterdir()) == ["regions.jsonl", f"regions.{fmt}"]
    head = (out / f"regions.{fmt}").read_bytes()[:200]
    assert (b"<svg" in head) if fmt == "svg" else head.startswith(b"%PDF")


def test_verbose_adds_debug_lines_and_results_stay_the_same(tmp_path, capsys):
    assert main(["info", "-q"]) == 0
    quiet = capsys.readouterr()
    assert main(["info", "-v"]) == 0
    verbose = capsys.readouterr()
    assert quiet.err == "" and verbose.out == quiet.out
    lines = verbose.err.splitlines()
    assert any(ln.startswith("[polyrelu.commands._common +") and "loaded" in ln
               for ln in lines)
    assert any(ln.startswith("[polyrelu.cli +") and "s wall" in ln and "s CPU" in ln
               for ln in lines)
    assert main(["info"]) == 0
    assert "[polyrelu" not in capsys.readouterr().err


def _choices(command, option):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return next(tuple(a.choices) for a in sub.choices[command]._actions
                if option in a.option_strings)


def test_option_values_are_the_api_names():
    from polyrelu.equivalence import MODES
    from polyrelu.regions import ENGINES

    assert set(_choices("regions", "--engine")) == set(ENGINES)
    assert set(_choices("equiv", "--mode")) == set(MODES)
    from polyrelu.equivalence import STAGE3_METHODS

    assert set(_choices("equiv", "--method")) == set(STAGE3_METHODS)
    assert set(_choices("folds", "--of")) == {"function", "units"}   # fold_surface(of=)
    assert set(_choices("plot", "--color-by")) >= {"region", "map", "value"}


def test_mode_and_of_name_what_top1_and_units_named(tmp_path, capsys):
    import polyrelu as pr

    a = tmp_path / "a.json"
    pr.io.load_default_model().save(str(a))
    docs = []
    for flags in (["--top1"], ["--mode", "top1"]):
        assert main(["equiv", str(a), str(a), "--box=-1,1", "--json", "-q", *flags]) == 0
        doc = json.loads(capsys.readouterr().out)
        doc.pop("seconds", None), doc.pop("timings", None)
        docs.append(doc)
    assert docs[0]["equivalent"] is True and docs[0] == docs[1]
    assert main(["equiv", str(a), str(a), "--box=-1,1", "--mode", "top1", "--eps", "1/2"]) == 2
    assert "--mode top1" in capsys.readouterr().err
    outs = []
    for flags in (["--units"], ["--of", "units"]):
        assert main(["folds", "--box=-2,2,-2,2", "--json", "-q", *flags]) == 0
        outs.append(json.loads(capsys.readouterr().out)["layers"])
    assert outs[0] == outs[1]
    assert main(["folds", "--box=-2,2,-2,2", "--json", "-q", "--of", "function"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"]
