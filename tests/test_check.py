"""Result files and the standalone checker: true certificates are accepted
for every engine and activation, every tampering is rejected with a one-line
message naming the record, writing then loading is the identity, and the
checker runs under ``python -I`` with nothing but itself importable."""

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu import check
from polyrelu.equivalence import equivalent
from polyrelu.io import load_default_model
from polyrelu.results import (
    PartitionWriter,
    ResultFileError,
    load_result,
    write_equivalence,
    write_partition,
    write_region,
)

BOX2 = pr.Polyhedron.box([-2, -2], [2, 2])


def _write(tmp_path, net, domain, name="p.jsonl", engine="auto", explicit=True):
    path = tmp_path / name
    write_partition(path, net, pr.regions(net, domain, engine=engine), domain,
                    explicit=explicit)
    return path


def _lines(path):
    return path.read_text().splitlines()


def _rewrite(path, lines):
    path.write_text("\n".join(lines) + "\n")


def _code(path, **kw):
    rep = check.check_file(path, workers=1, **kw)
    assert "\n" not in rep.message
    return rep.code, rep.message


NETS = {
    "relu": lambda: pr.random_network([2, 5, 4, 1], seed=1),
    "leaky": lambda: pr.random_network([2, 4, 4, 1], seed=2, activation="leaky_relu",
                                       alpha="1/5"),
    "hard_tanh": lambda: pr.random_network([2, 4, 3, 1], seed=3, activation="hard_tanh"),
    "skips": lambda: pr.random_network([2, 2, 2, 2, 1], seed=7, skips={3: [1], 4: [0]}),
    "degenerate": lambda: pr.Network.from_weights(
        [([[1, 0], [0, 1], [2, 0], [0, 0], [1, 1]], [0, 0, 0, 0, 0]),   # zero biases, twin, dead
         ([[1, -1, 1, 3, 1], [0, 0, 0, 0, 0]], [0, 0]),                # dead layer-2 unit
         ([[1, 2]], [0])]),
    "default": load_default_model,
}


@pytest.mark.parametrize("engine", pr.ENGINES)
@pytest.mark.parametrize("name", sorted(NETS))
def test_true_partitions_are_accepted_for_every_engine(tmp_path, name, engine):
    net = NETS[name]()
    box = pr.Polyhedron.box([-10, -10], [10, 10]) if name == "default" else BOX2
    if name == "default" and engine in ("tree", "lp"):
        pytest.skip("slow engines on the 164-region model are covered by the small nets")
    for explicit in (True, False):
        path = _write(tmp_path, net, box, engine=engine, explicit=explicit)
        code, msg = _code(path)
        assert code == 0, msg
        assert "areas sum to the domain's" in msg


def test_three_dimensions_volumes_and_slices(tmp_path):
    net = pr.random_network([3, 6, 5, 1], seed=3)
    box = pr.Polyhedron.box([-1] * 3, [1] * 3)
    for explicit in (True, False):
        code, msg = _code(_write(tmp_path, net, box, explicit=explicit))
        assert code == 0 and "volumes sum to the domain's 8" in msg, msg
    # a plane through a network with a skip from the input: an input map
    n3 = pr.random_network([3, 3, 3, 1], seed=2, skips={3: [0]})
    nt, D = pr.slice_domain(n3, [[0, 0, 0], [1, 0, 1], [0, 1, -1]], ([-2, -2], [2, 2]))
    assert nt.input_map is not None
    code, msg = _code(_write(tmp_path, nt, D, "slice.jsonl"))
    assert code == 0, msg


def test_polyhedral_domain(tmp_path):
    net = pr.random_network([2, 4, 3, 1], seed=4)
    tri = pr.Polyhedron.from_inequalities([[-1, 0], [0, -1], [1, 1]], [1, 1, 1])
    code, msg = _code(_write(tmp_path, net, tri))
    assert code == 0, msg
    wedge = pr.Polyhedron.from_inequalities([[1, 0], [-1, -1]], [1, 2])   # unbounded
    code, msg = _code(_write(tmp_path, net, wedge, "wedge.jsonl"))
    assert code == 0, msg


# ---------------------------------------------------------------------------
# tampering
# ---------------------------------------------------------------------------

@pytest.fixture
def partition(tmp_path):
    net = NETS["relu"]()
    path = _write(tmp_path, net, BOX2)
    assert _code(path)[0] == 0
    return path


def _header(lines):
    return json.loads(lines[0])


def _set_header(lines, head):
    lines[0] = json.dumps(head)


def test_a_removed_region_is_rejected(partition):
    lines = _lines(partition)
    del lines[3]
    _rewrite(partition, lines)
    code, msg = _code(partition)
    assert code == 1 and "header announces" in msg
    head = _header(lines)              # a tamperer who also fixes the count
    head["status"]["regions"] -= 1
    _set_header(lines, head)
    _rewrite(partition, lines)
    code, msg = _code(partition)
    assert code == 1 and "other side is not in the file" in msg and "region" in msg


def test_a_duplicated_region_is_rejected(partition):
    lines = _lines(partition)
    lines.append(lines[2])
    head = _header(lines)
    head["status"]["regions"] += 1
    _set_header(lines, head)
    _rewrite(partition, lines)
    code, msg = _code(partition)
    assert code == 1 and "listed twice" in msg


def _edit_record(path, i, fn):
    lines = _lines(path)
    rec = json.loads(lines[i + 1])
    fn(rec)
    lines[i + 1] = json.dumps(rec)
    _rewrite(path, lines)


def test_a_moved_vertex_is_rejected(partition):
    def move(rec):
        x = Fraction(rec["vertices"][0][0])
        rec["vertices"][0][0] = str(x + Fraction(1, 1000))
    _edit_record(partition, 1, move)
    code, msg = _code(partition)
    assert code == 1 and "region 1" in msg and "vertex" in msg


def test_a_flipped_pattern_bit_is_rejected(partition):
    def flip(rec):
        s = rec["pattern"][0]
        rec["pattern"][0] = ("1" if s[0] == "0" else "0") + s[1:]
    _edit_record(partition, 2, flip)
    code, msg = _code(partition)
    assert code == 1 and "region 2" in msg


def test_a_changed_weight_is_rejected(partition):
    lines = _lines(partition)
    head = _header(lines)
    w = head["network"]["layers"][0]["W"][0]
    w[0] = str(Fraction(w[0]) + Fraction(1, 10 ** 6))
    _set_header(lines, head)
    _rewrite(partition, lines)
    code, msg = _code(partition)
    assert code == 1 and "SHA-256" in msg
    del head["network_sha256"]         # without the hash: the regions do not fit
    _set_header(lines, head)
    _rewrite(partition, lines)
    code, msg = _code(partition)
    assert code == 1 and "region" in msg


def test_a_dropped_inequality_is_rejected(partition):
    def drop(rec):
        rec["facets"].pop(0)
        del rec["inequalities"]
    _edit_record(partition, 0, drop)
    code, msg = _code(partition)
    assert code == 1 and "region 0" in msg


def test_a_wrong_explicit_row_or_map_is_rejected(partition):
    def row(rec):
        rec["inequalities"]["b"][0] = str(Fraction(rec["inequalities"]["b"][0]) + 1)
    _edit_record(partition, 0, row)
    code, msg = _code(partition)
    assert code == 1 and "inequality 0" in msg
    path2 = partition.with_name("q.jsonl")
    shutil.copy(partition, path2)


def test_a_wrong_affine_map_or_interior_point_is_rejected(tmp_path):
    net = NETS["relu"]()
    for field in ("map", "point"):
        path = _write(tmp_path, net, BOX2, f"{field}.jsonl")

        def edit(rec):
            if field == "map":
                rec["map"]["c"][0] = str(Fraction(rec["map"]["c"][0]) + Fraction(1, 3))
            else:
                rec["point"] = rec["vertices"][0]
        _edit_record(path, 1, edit)
        code, msg = _code(path)
        assert code == 1 and "region 1" in msg
        assert ("affine map" in msg) if field == "map" else ("strictly" in msg)


def test_a_tampered_compact_record_is_rejected(tmp_path):
    net = NETS["relu"]()
    path = _write(tmp_path, net, BOX2, explicit=False)

    def basis(rec):                     # a vertex computed from other facets
        b = rec["vertex_bases"][0]
        others = [i for i in range(len(rec["facets"])) if i not in b]
        rec["vertex_bases"][0] = [b[0], others[0]]
        rec["vertex_keys"][0] = "moved"
    _edit_record(path, 0, basis)
    code, msg = _code(path)
    assert code == 1 and "region 0" in msg


def test_truncated_and_foreign_files(partition, tmp_path):
    text = partition.read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) - 40])
    code, msg = _code(cut)
    assert code == 1 and "truncated" in msg and "region" in msg
    lines = _lines(partition)
    for key, value, want in (("format", "something-else", "not a polyrelu result"),
                             ("version", 2, "version 2 is not supported"),
                             ("kind", "robustness", "defined for a later checker"),
                             ("kind", "nonsense", "unknown kind")):
        head = _header(lines)
        head[key] = value
        other = tmp_path / "other.jsonl"
        _rewrite(other, [json.dumps(head)] + lines[1:])
        code, msg = _code(other)
        assert code == 2 and want in msg, msg
    code, msg = _code(tmp_path / "missing.jsonl")
    assert code == 2


def test_a_network_that_does_not_match(partition, tmp_path):
    other = pr.random_network([2, 5, 4, 1], seed=99)
    lines = _lines(partition)
    head = _header(lines)
    head["network"] = pr.results.network_doc(other)
    head["network_sha256"] = check.network_digest(head["network"])
    _set_header(lines, head)
    _rewrite(partition, lines)
    code, msg = _code(partition)
    assert code == 1 and "region" in msg


def test_network_by_reference(tmp_path, partition):
    lines = _lines(partition)
    head = _header(lines)
    net_doc = head.pop("network")
    (tmp_path / "model.json").write_text(json.dumps(net_doc))
    head["network_file"] = {"path": "model.json", "sha256": check.network_digest(net_doc)}
    _set_header(lines, head)
    _rewrite(partition, lines)
    assert _code(partition)[0] == 0
    net_doc["layers"][0]["b"][0] = "7"
    (tmp_path / "model.json").write_text(json.dumps(net_doc))
    code, msg = _code(partition)
    assert code == 1 and "does not match the SHA-256" in msg


def test_partial_results_and_interrupts(tmp_path):
    net = NETS["relu"]()
    path = tmp_path / "partial.jsonl"
    n = write_partition(path, net, pr.regions(net, BOX2, max_regions=3), BOX2)
    assert n == 3
    code, msg = _code(path)
    assert code == 3 and "PARTIAL" in msg
    # an interrupt inside the writer leaves a valid prefix marked partial
    path2 = tmp_path / "interrupted.jsonl"
    with pytest.raises(KeyboardInterrupt):
        with PartitionWriter(path2, net, BOX2) as w:
            for i, r in enumerate(pr.regions(net, BOX2)):
                if i == 2:
                    raise KeyboardInterrupt
                w.write(r)
    res = load_result(path2)
    assert res.partial and "interrupted" in res.reason and len(res.regions) == 2
    assert _code(path2)[0] == 3
    # any other error leaves no file at all (and no temporary one)
    path3 = tmp_path / "broken.jsonl"
    with pytest.raises(RuntimeError):
        with PartitionWriter(path3, net, BOX2) as w:
            raise RuntimeError("boom")
    assert not path3.exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# ---------------------------------------------------------------------------
# writing then reading is the identity
# ---------------------------------------------------------------------------

def _same_regions(a, b):
    assert [r.pattern for r in a] == [r.pattern for r in b]
    for r, s in zip(a, b):
        assert r.interior_point == s.interior_point
        assert r.affine_map == s.affine_map
        assert set(r.vertices) == set(s.vertices)
        assert r.polyhedron.inequalities == s.polyhedron.inequalities


@given(st.integers(0, 10 ** 6), st.sampled_from(["relu", "leaky_relu", "hard_tanh"]),
       st.booleans())
def test_write_then_load_is_the_identity(tmp_path_factory, seed, act, explicit):
    tmp = tmp_path_factory.mktemp("roundtrip")
    net = pr.random_network([2, 3, 3, 1], seed=seed, activation=act)
    rs = list(pr.regions(net, BOX2))
    path = tmp / "p.jsonl"
    write_partition(path, net, iter(rs), BOX2, explicit=explicit)
    res = load_result(path)
    assert res.network == net and res.domain == BOX2 and not res.partial
    _same_regions(rs, res.regions)
    assert check.check_file(path, workers=1).code == 0


def test_load_result_reads_networks_and_refuses_garbage(tmp_path):
    net = load_default_model()
    net.save(tmp_path / "m.json")
    assert load_result(tmp_path / "m.json") == net
    (tmp_path / "g.json").write_text('{"format": "polyrelu-result", "version": 9}')
    with pytest.raises(ResultFileError, match="version 9"):
        load_result(tmp_path / "g.json")


# ---------------------------------------------------------------------------
# single regions and equivalence
# ---------------------------------------------------------------------------

def test_single_region_with_distance(tmp_path):
    from polyrelu.trajectories import distance_to_boundary

    net = load_default_model()
    box = pr.Polyhedron.box([-10, -10], [10, 10])
    x = (Fraction(3, 2), Fraction(-2))
    r = pr.region_of(net, x, box)
    path = tmp_path / "r.json"
    write_region(path, r, point=x, distance=distance_to_boundary(net, x, box))
    code, msg = _code(path)
    assert code == 0 and "distance^2" in msg, msg
    res = load_result(path)
    assert res.region.pattern == r.pattern and res.point == x and not res.on_boundary
    doc = json.loads(path.read_text())
    doc["distance"]["squared"] = "1/7"
    path.write_text(json.dumps(doc))
    code, msg = _code(path)
    assert code == 1 and "squared distance" in msg


def test_equivalence_certificates_and_counterexamples(tmp_path):
    from polyrelu.commands.demo import _perturbed_copy, permuted_scaled_copy

    net = load_default_model()
    box = pr.Polyhedron.box([-10, -10], [10, 10])
    g, _, _ = permuted_scaled_copy(net, 1)
    res = equivalent(net, g, box)
    path = tmp_path / "eq.json"
    write_equivalence(path, net, g, res, box)
    code, msg = _code(path)
    assert code == 0 and "permutations and scalings" in msg
    back = load_result(path)
    assert back.result == res and back.f == net and back.g == g
    doc = json.loads(path.read_text())
    doc["proof"]["scalings"][0][0] = str(Fraction(doc["proof"]["scalings"][0][0]) * 2)
    path.write_text(json.dumps(doc))
    code, msg = _code(path)
    assert code == 1 and "certificate" in msg
    h = _perturbed_copy(net, Fraction(1, 10 ** 12))
    res2 = equivalent(net, h, box)
    path2 = tmp_path / "cx.json"
    write_equivalence(path2, net, h, res2, box)
    code, msg = _code(path2)
    assert code == 0 and "not equivalent" in msg
    assert load_result(path2).result == res2
    doc = json.loads(path2.read_text())
    doc["networks"]["g"] = doc["networks"]["f"]            # g replaced by f: no difference
    del doc["networks"]["g_sha256"]
    path2.write_text(json.dumps(doc))
    code, msg = _code(path2)
    assert code == 1 and "counterexample" in msg


# ---------------------------------------------------------------------------
# standalone: python -I with only check.py
# ---------------------------------------------------------------------------

def test_checker_runs_isolated_with_only_the_standard_library(tmp_path, partition):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(Path(check.__file__), alone / "check.py")
    shutil.copy(partition, alone / "p.jsonl")
    res = subprocess.run([sys.executable, "-I", "check.py", "p.jsonl"], cwd=alone,
                         capture_output=True, text=True, timeout=300,
                         env={"PATH": os.environ.get("PATH", "")})
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("OK: partition verified")
    # the module imports nothing outside the standard library
    src = (alone / "check.py").read_text()
    for bad in ("import polyrelu", "from polyrelu", "from .", "import numpy", "import cdd"):
        assert bad not in src
    lines = _lines(alone / "p.jsonl")
    del lines[2]
    _rewrite(alone / "p.jsonl", lines)
    res = subprocess.run([sys.executable, "-I", "check.py", "p.jsonl"], cwd=alone,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and res.stderr.startswith("FAILED")


def test_cli_check_command(partition, capsys):
    from polyrelu.cli import main

    assert main(["check", str(partition)]) == 0
    assert capsys.readouterr().out.startswith("OK")
    assert main(["check", str(partition), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["code"] == 0


# ---------------------------------------------------------------------------
# the JSON Schema files shipped in the package describe what is written
# ---------------------------------------------------------------------------

def _validators():
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    from referencing import Registry, Resource

    docs = {}
    folder = resources.files("polyrelu").joinpath("schemas")
    for entry in folder.iterdir():
        if entry.name.endswith(".schema.json"):
            docs[entry.name[: -len(".schema.json")]] = json.loads(entry.read_text())
    reg = Registry()
    for doc in docs.values():
        reg = reg.with_resource(doc["$id"], Resource.from_contents(doc))
    return {k: jsonschema.Draft202012Validator(v, registry=reg) for k, v in docs.items()}


def test_written_files_follow_the_shipped_schemas(tmp_path, partition):
    from polyrelu.trajectories import distance_to_boundary

    v = _validators()
    assert {"partition-header", "region-record", "region", "equivalence", "network",
            "equivalence-proof", "robustness", "lipschitz"} <= set(v)
    for name in check.RESERVED_KINDS:
        assert "RESERVED" in v[name].schema["title"]
    lines = _lines(partition)
    v["partition-header"].validate(json.loads(lines[0]))
    for line in lines[1:]:
        v["region-record"].validate(json.loads(line))
    compact = _write(tmp_path, NETS["hard_tanh"](), BOX2, "c.jsonl", explicit=False)
    for line in _lines(compact)[1:]:
        v["region-record"].validate(json.loads(line))
    net = load_default_model()
    box = pr.Polyhedron.box([-10, -10], [10, 10])
    x = (Fraction(1), Fraction(2))
    write_region(tmp_path / "r.json", pr.region_of(net, x, box), point=x,
                 distance=distance_to_boundary(net, x, box))
    v["region"].validate(json.loads((tmp_path / "r.json").read_text()))
    g = pr.random_network([2, 8, 8, 1], seed=5)
    write_equivalence(tmp_path / "e.json", net, g, equivalent(net, g, box), box)
    v["equivalence"].validate(json.loads((tmp_path / "e.json").read_text()))
    v["network"].validate(json.loads(lines[0])["network"])
    bad = json.loads(lines[1])
    bad["pattern"] = [7]
    assert not v["region-record"].is_valid(bad)


def test_parallel_chunks_agree_with_one_process(tmp_path, monkeypatch):
    """Chunks checked in worker processes: neighbours matched across chunks,
    and a missing region found as in one process."""
    monkeypatch.setattr(check, "PARALLEL_MIN", 10)
    net = load_default_model()
    box = pr.Polyhedron.box([-10, -10], [10, 10])
    path = _write(tmp_path, net, box, explicit=False)
    rep = check.check_file(path, workers=2)
    assert rep.code == 0, rep.message
    lines = _lines(path)
    head = _header(lines)
    head["status"]["regions"] -= 1
    _set_header(lines, head)
    del lines[100]
    _rewrite(path, lines)
    one = check.check_file(path, workers=1)
    two = check.check_file(path, workers=2)
    assert one.code == two.code == 1 and one.message == two.message


def test_cli_writers_produce_checkable_files(tmp_path, capsys):
    from polyrelu.cli import main
    from polyrelu.commands.demo import permuted_scaled_copy

    net = load_default_model()
    g, _, _ = permuted_scaled_copy(net, 2)
    net.save(tmp_path / "f.json")
    g.save(tmp_path / "g.json")
    cert = tmp_path / "eq.json"
    assert main(["equiv", str(tmp_path / "f.json"), str(tmp_path / "g.json"),
                 "--box", "-10,10", "--certificate", str(cert), "--no-progress"]) == 0
    assert check.check_file(cert).code == 0
    out = tmp_path / "out"
    assert main(["regions", str(tmp_path / "f.json"), "--box", "-5,5", "--out", str(out),
                 "--compact", "--no-progress", "--no-linear"]) == 0
    assert check.check_file(out / "regions.jsonl").code == 0
    assert main(["regions", str(tmp_path / "f.json"), "--at", "1/3,-2", "--out", str(out),
                 "--no-progress"]) == 0
    assert check.check_file(out / "region.json").code == 0
    assert main(["regions", "--box", "R", "--out", str(out / "rd"), "--no-progress"]) == 0
    assert check.check_file(out / "rd" / "regions.jsonl").code == 0


def _padded(net, seed):
    """net with a dead unit, a constant unit and a twin added to hidden layer 1:
    the same function on [-1, 1]^d, another architecture."""
    import random

    rng = random.Random(seed)
    layers = [(list(map(list, W)), list(b)) for W, b in net.weights()]
    W1, b1 = layers[0]
    d = len(W1[0])
    k = rng.randrange(len(W1))
    W1 += [[Fraction(1)] + [Fraction(0)] * (d - 1), [Fraction(0)] * d, [2 * v for v in W1[k]]]
    b1 += [Fraction(-5), Fraction(3), 2 * b1[k]]
    W2, b2 = layers[1]
    for row in W2:
        dead = Fraction(rng.randint(-3, 3)) if net.activation == "relu" else Fraction(0)
        row += [dead, Fraction(rng.randint(-3, 3)), Fraction(0)]
        row[k], row[-1] = row[k] / 3, row[k] / 3          # w z_k = w/3 z_k + w/3 (2 z_k)
    for i, row in enumerate(W2):
        b2[i] -= 3 * row[-2]                                # the constant unit's value
    return pr.Network.from_weights(layers, activation=net.activation,
                                   alpha=net.alpha if net.activation == "leaky_relu" else None)


@given(st.integers(0, 10 ** 6), st.sampled_from(["relu", "leaky_relu"]))
def test_certificates_of_reduced_networks_are_checked(tmp_path_factory, seed, act):
    from polyrelu.commands.demo import permuted_scaled_copy

    tmp = tmp_path_factory.mktemp("reduced")
    box = pr.Polyhedron.box([-1, -1], [1, 1])
    net = pr.random_network([2, 3, 3, 1], seed=seed, activation=act)
    f = _padded(net, seed)
    g, _, _ = permuted_scaled_copy(net, seed)
    assert f([Fraction(1, 3), Fraction(-1, 2)]) == g([Fraction(1, 3), Fraction(-1, 2)])
    res = equivalent(f, g, box)
    assert res.equivalent
    path = tmp / "eq.json"
    write_equivalence(path, f, g, res, box)
    rep = check.check_file(path)
    if res.certificate is not None:
        assert rep.code == 0, rep.message
    else:
        assert rep.code == 3
    if res.certificate_for == "reduced":
        doc = json.loads(path.read_text())
        steps = doc["proof"]["reductions"]["f"]
        dead = next(s for s in steps if s["kind"] in ("dead", "constant"))
        dead["units"] = [u for u in range(3) if u not in dead["units"]][:1]
        path.write_text(json.dumps(doc))
        assert check.check_file(path).code == 1


@given(st.integers(3, 6), st.lists(st.integers(-5, 5), min_size=36, max_size=36),
       st.booleans())
def test_null_vector_fast_paths_agree_with_cofactors(n, entries, dependent):
    rows = [entries[i * n:(i + 1) * n] for i in range(n - 1)]
    if dependent:
        rows[-1] = [2 * v for v in rows[0]]
    want = [(-1) ** k * check._det([[r[j] for j in range(n) if j != k] for r in rows])
            for k in range(n)]
    got = check._null_vector(rows, n)
    if not any(want):
        assert got is None
    else:
        assert got == check._primitive(want)
        assert all(sum(a * b for a, b in zip(r, got)) == 0 for r in rows)


@pytest.mark.parametrize("edit", [
    lambda rec: rec.pop("facets"),
    lambda rec: rec.update(facets=[["a", 1]]),
    lambda rec: rec.update(point="1/2"),
    lambda rec: rec.update(map={"M": [], "c": []}),
    lambda rec: rec.update(vertices=[[1, 2, 3]]),
    lambda rec: rec.update(pattern="0101"),
    lambda rec: rec.clear(),
])
def test_malformed_records_fail_with_one_line(partition, edit):
    _edit_record(partition, 1, edit)
    code, msg = _code(partition)
    assert code == 1 and "region 1 (line 3)" in msg, msg


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "hard_tanh"])
def test_whole_space_partitions_with_rays(tmp_path, act):
    for d in (2, 3):
        net = pr.random_network([d, 4, 3, 1], seed=d, activation=act)
        for explicit in (True, False):
            path = _write(tmp_path, net, None, f"rd{d}{explicit}.jsonl", explicit=explicit)
            code, msg = _code(path)
            assert code == 0 and f"on R^{d}" in msg, msg
            assert load_result(path).domain is None
    lines = _lines(path)
    i = next(i for i in range(1, len(lines)) if json.loads(lines[i]).get("rays"))
    rec = json.loads(lines[i])
    rec["rays"].pop()
    lines[i] = json.dumps(rec)
    _rewrite(path, lines)
    code, msg = _code(path)
    assert code == 1 and f"region {i - 1}" in msg
