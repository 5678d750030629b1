"""Fuzzing the model readers: seeded mutants of valid files either load as a
valid network or raise a :class:`~polyrelu.exceptions.PolyreluError` naming
the file -- never another exception, never a hang (GUIDE: bad input gets a
clear error).

The harness is a table of formats (:data:`FORMATS`): each has an extension,
a function making valid seed files, and its own mutators besides the generic
byte-level ones (bit flips, truncations, splices, chunk deletions and
duplications).  A reader of a new format adds one entry::

    FORMATS["torchscript"] = Format(".pt", torchscript_seeds,
                                    (zip_member_mutator,), load=polyrelu.io.load)

Every mutant is reproducible from its id (``json-17``): its random generator
is seeded with the id.  The quick run takes ``QUICK`` mutants per format
(a few seconds each); the run marked slow takes ``SLOW``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import time
from dataclasses import dataclass, field
from fractions import Fraction as F
from typing import Callable

import pytest

from polyrelu.exceptions import PolyreluError
from polyrelu.io import load
from polyrelu.io.jsonio import dumps
from polyrelu.network import Network, random_network

QUICK = 400
SLOW = 6000
#: a mutant that takes longer than this to load is a hang (a real reader takes
#: milliseconds on these small files)
PER_MUTANT_SECONDS = 20

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - onnx is an install extra
    onnx = None


# ------------------------------------------------------------------ seeds
def _seed_networks() -> list[Network]:
    nets = [random_network([2, 3, 1], seed=0),
            random_network([3, 4, 4, 2], seed=1, skips={3: [1]}),
            random_network([2, 3, 2], seed=2, activation="leaky_relu", alpha="1/8"),
            random_network([2, 2, 2, 1], seed=3, activation="hard_tanh"),
            random_network([2, 2, 2, 1], seed=4, denominator=8, skips={2: [0], 3: [0]})]
    nets.append(nets[-1].restrict([F(1, 2), -1], [[1, F(1, 4)], [F(-3, 8), 2]]))
    return nets


def json_seeds() -> list[bytes]:
    return [dumps(n).encode() for n in _seed_networks()]


def nnet_text(net: Network) -> str:
    """A .nnet file of a plain ReLU network (normalisation: mean 0, range 1)."""
    d_in, d_out = net.input_dim, net.output_dim
    sizes = [d_in] + [layer.out_dim for layer in net.layers]
    lines = ["// fuzz seed", f"{len(net.layers)},{d_in},{d_out},{max(sizes)},",
             ",".join(map(str, sizes)) + ",", "0,",
             ",".join(["-1"] * d_in) + ",", ",".join(["1"] * d_in) + ",",
             ",".join(["0"] * (d_in + 1)) + ",", ",".join(["1"] * (d_in + 1)) + ","]
    for layer in net.layers:
        lines += [",".join(f"{float(v)!r}" for v in row) + "," for row in layer.W]
        lines += [f"{float(v)!r}," for v in layer.b]
    return "\n".join(lines) + "\n"


def nnet_seeds() -> list[bytes]:
    plain = [n for n in _seed_networks() if n.activation == "relu" and not n.skips
             and n.input_map is None]
    plain.append(random_network([3, 5, 5, 2], seed=5, denominator=1024))
    return [nnet_text(n).encode() for n in plain]


def onnx_seeds() -> list[bytes]:
    import numpy as np

    from polyrelu.io.onnxio import to_onnx_model

    out = [to_onnx_model(n).SerializeToString() for n in _seed_networks()]
    # the reader's other operators: Gemm, constant Sub/Mul, Flatten, Reshape,
    # Unsqueeze/Squeeze, Dropout, Clip as hard tanh, a Constant node
    f32 = np.float32
    inits = {"B": np.array([[1, -2], [0.5, 3], [-1, 1]], f32), "C": np.array([0.25, 0, -1], f32),
             "mean": np.array([[0.5, -0.5]], f32), "two": np.array(2, f32),
             "W2": np.array([[1], [-1], [2]], f32), "shape": np.array([1, 3], np.int64)}
    nodes = [helper.make_node("Sub", ["x", "mean"], ["s"]),
             helper.make_node("Mul", ["s", "two"], ["s2"]),
             helper.make_node("Gemm", ["s2", "B", "C"], ["g"], transB=1, alpha=0.5),
             helper.make_node("Clip", ["g", "lo", "hi"], ["c"]),
             helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(
                 np.array(-1, f32))),
             helper.make_node("Constant", [], ["hi"], value_float=1.0),
             helper.make_node("Dropout", ["c"], ["d"]),
             helper.make_node("Reshape", ["d", "shape"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "W2"], ["y"])]
    nodes = [nodes[4], nodes[5]] + nodes[:4] + nodes[6:]
    g = helper.make_graph(nodes, "fuzz",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                          initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    out.append(m.SerializeToString())
    return out


# --------------------------------------------------------------- mutators
def flip_bits(data: bytes, rng: random.Random, pool) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        if b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def set_bytes(data: bytes, rng: random.Random, pool) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if b:
            b[rng.randrange(len(b))] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return bytes(b)


def truncate(data: bytes, rng: random.Random, pool) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def splice(data: bytes, rng: random.Random, pool) -> bytes:
    """The head of this file and the tail of another seed (or of itself)."""
    other = rng.choice(pool)
    return data[:rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]


def delete_chunk(data: bytes, rng: random.Random, pool) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 16):]


def duplicate_chunk(data: bytes, rng: random.Random, pool) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randint(1, 32))
    k = rng.randrange(len(data) + 1)
    return data[:k] + data[i:j] + data[k:]


GENERIC = (flip_bits, set_bytes, truncate, splice, delete_chunk, duplicate_chunk)

#: numbers at the edges: non-finite, beyond float64, subnormal, beyond
#: Python's int/str digit limit, beyond the decimal exponent limit, malformed
EDGE_TEXT = ("nan", "NaN", "-inf", "Infinity", "1e308", "1.8e308", "-1.8e308", "1e400",
             "4.9e-324", "2.5e-324", "1e-400", "0", "-0", "0.0", "1/0", "1/3", "0x10",
             "1e999999999", "1e100001", "9" * 4400, "1/" + "3" * 5000, "-" + "7" * 6000,
             "1." + "0" * 5000 + "1", "", "-", ".", "e5", "1e", "1_000", "+-1", "١")


def _number_spans(text: str):
    import re

    return [m.span() for m in re.finditer(r"-?\d+(?:[./]\d+)?(?:[eE][-+]?\d+)?", text)]


def edge_number(data: bytes, rng: random.Random, pool) -> bytes:
    """Replace a number in a text file by an edge value (in JSON also as a
    string, a bare number, or another JSON type)."""
    text = data.decode("utf-8", errors="replace")
    spans = _number_spans(text)
    if not spans:
        return data
    for _ in range(rng.choice((1, 1, 2, 5))):
        a, b = rng.choice(_number_spans(text) or [(0, 0)])
        text = text[:a] + rng.choice(EDGE_TEXT) + text[b:]
    return text.encode("utf-8")


def json_structure(data: bytes, rng: random.Random, pool) -> bytes:
    """A change of the parsed document: a value of another type or an edge
    number, a deleted / renamed / misspelled key, a row too long or too short,
    a layer or skip that does not fit."""
    doc = json.loads(data)
    edge = [None, True, 0, -1, 2 ** 70, 1.5, 1e308, "", "x", [], {}, [[]], ["1"], {"W": []},
            "nan", "1/0", "9" * 5000, "1e999", "-3/4"]

    def containers(node, out):
        if isinstance(node, dict):
            out.append(node)
            for v in node.values():
                containers(v, out)
        elif isinstance(node, list):
            out.append(node)
            for v in node:
                containers(v, out)
        return out

    for _ in range(rng.randint(1, 3)):
        c = rng.choice(containers(doc, []))
        if isinstance(c, dict) and c:
            key = rng.choice(list(c))
            action = rng.randrange(5)
            if action == 0:
                c[key] = rng.choice(edge)
            elif action == 1:
                del c[key]
            elif action == 2:
                c[key[:-1] + key[-1].swapcase() if key else "k"] = c.pop(key)
            elif action == 3:
                c[rng.choice(("alpha", "skips", "input_map", "rounding_error", "version",
                              "activation", "architecture", "3", "W", "b"))] = rng.choice(edge)
            else:
                c[key] = json.loads(json.dumps(c[key]))   # unchanged: a valid mutant
        elif isinstance(c, list) and c:
            i = rng.randrange(len(c))
            action = rng.randrange(4)
            if action == 0:
                c[i] = rng.choice(edge)
            elif action == 1:
                del c[i]
            elif action == 2:
                c.insert(i, json.loads(json.dumps(c[i])))
            else:
                c.reverse()
    return json.dumps(doc).encode()


def onnx_structure(data: bytes, rng: random.Random, pool) -> bytes:
    """A change of the decoded model: edge float values in an initializer, a
    wrong shape or data type, another op type, an input too many or too few,
    an unknown or mistyped attribute, a reordered or deleted node, odd input
    dimensions or opset versions."""
    import numpy as np

    m = onnx.ModelProto.FromString(data)
    g = m.graph
    ops = ("Relu", "Identity", "MatMul", "Add", "Gemm", "Foo", "Sigmoid", "Clip",
           "LeakyRelu", "Flatten", "Reshape", "Constant", "Dropout", "Shape", "Concat")
    for _ in range(rng.randint(1, 3)):
        action = rng.randrange(12)
        if action == 0 and g.initializer:
            t = rng.choice(g.initializer)
            arr = numpy_helper.to_array(t).astype(np.float64).copy()
            if arr.size:
                arr.flat[rng.randrange(arr.size)] = rng.choice(
                    (math.nan, math.inf, -math.inf, 1e308, 5e-324, -0.0, 3.4e38, 2.0 ** -1100))
            t.CopyFrom(numpy_helper.from_array(arr.astype(numpy_helper.tensor_dtype_to_np_dtype(
                t.data_type) if t.data_type != TensorProto.STRING else np.float64), t.name))
        elif action == 1 and g.initializer:
            t = rng.choice(g.initializer)
            if t.dims:
                t.dims[rng.randrange(len(t.dims))] = rng.choice((0, 1, 3, 2 ** 31, -1))
        elif action == 2 and g.initializer:
            rng.choice(g.initializer).data_type = rng.choice(
                (TensorProto.INT64, TensorProto.STRING, TensorProto.BOOL, 0, 99,
                 TensorProto.FLOAT16, TensorProto.DOUBLE))
        elif action == 3 and g.node:
            rng.choice(g.node).op_type = rng.choice(ops)
        elif action == 4 and g.node:
            n = rng.choice(g.node)
            if n.input and rng.random() < 0.5:
                del n.input[rng.randrange(len(n.input))]
            else:
                n.input.append(rng.choice([i.name for i in g.input] + [""] + list(n.input)))
        elif action == 5 and g.node:
            n = rng.choice(g.node)
            n.attribute.append(rng.choice((
                helper.make_attribute("alpha", rng.choice((0.5, -1.0, math.nan, [1, 2]))),
                helper.make_attribute("axis", rng.choice((0, 1, -7, 2 ** 40))),
                helper.make_attribute("transB", rng.choice((0, 1, 5))),
                helper.make_attribute("zzz", 1), helper.make_attribute("min", "text"))))
        elif action == 6 and len(g.node) > 1:
            i, j = rng.sample(range(len(g.node)), 2)
            a, b = onnx.NodeProto(), onnx.NodeProto()
            a.CopyFrom(g.node[i])
            b.CopyFrom(g.node[j])
            g.node[i].CopyFrom(b)
            g.node[j].CopyFrom(a)
        elif action == 7 and g.node:
            del g.node[rng.randrange(len(g.node))]
        elif action == 8 and g.input:
            dims = g.input[0].type.tensor_type.shape.dim
            if dims:
                d = dims[rng.randrange(len(dims))]
                choice = rng.choice((0, 1, 5, 2 ** 40, -3, "sym"))
                if choice == "sym":
                    d.dim_param = "M"
                else:
                    d.dim_value = choice
        elif action == 9:
            if m.opset_import:
                m.opset_import[0].version = rng.choice((0, 1, 6, 7, 8, 11, 12, 99, 2 ** 40))
        elif action == 10 and g.node:
            n = rng.choice(g.node)
            n.domain = rng.choice(("com.microsoft", "ai.onnx", "", "ai.onnx.ml"))
        elif action == 11:
            g.input.append(helper.make_tensor_value_info(
                rng.choice(("x2", g.input[0].name if g.input else "x")),
                TensorProto.DOUBLE, [1, 2]))
    return m.SerializeToString()


def nnet_structure(data: bytes, rng: random.Random, pool) -> bytes:
    """Lines deleted, duplicated or swapped; a size changed."""
    lines = data.decode("utf-8", errors="replace").split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        action = rng.randrange(4)
        if action == 0:
            del lines[i]
        elif action == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif action == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = lines[i].replace(",", rng.choice((",,", ", ", ",0,", ";")), 1)
    return "\n".join(lines).encode("utf-8")


# ----------------------------------------------------------------- table
@dataclass(frozen=True)
class Format:
    """A model file format under fuzz: its extension, its valid seed files,
    its own mutators (applied besides :data:`GENERIC`), and its reader."""

    ext: str
    seeds: Callable[[], list]
    mutators: tuple = ()
    load: Callable = load
    requires: tuple = field(default=())       # modules that must be importable


FORMATS: dict[str, Format] = {
    "json": Format(".json", json_seeds, (edge_number, edge_number, json_structure,
                                         json_structure)),
    "onnx": Format(".onnx", onnx_seeds, (onnx_structure, onnx_structure, onnx_structure),
                   requires=("onnx",)),
    "nnet": Format(".nnet", nnet_seeds, (edge_number, edge_number, nnet_structure)),
}


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float):
    """Raise _Hang in the main thread after ``seconds`` (SIGALRM)."""
    def ring(signum, frame):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def mutant(fmt: Format, seeds: list, ident: str) -> bytes:
    """The mutant ``ident`` (reproducible: its generator is seeded with it)."""
    rng = random.Random(ident)
    data = rng.choice(seeds)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        mutate = rng.choice(GENERIC + fmt.mutators * 2)
        try:
            data = mutate(data, rng, seeds)
        except Exception:
            # a structural mutator needs a parseable file: a byte-level
            # mutant of an earlier step may not be one; keep it as it is
            pass
    return data


def check_outcome(path: str, fmt: Format) -> str:
    """Load ``path``: a valid network, or a PolyreluError naming the file.
    Returns "loaded" or the error class name; anything else fails."""
    name = os.path.basename(path)
    try:
        with _deadline(PER_MUTANT_SECONDS):
            net = fmt.load(path)
    except _Hang:
        raise AssertionError(f"{name}: loading took over {PER_MUTANT_SECONDS} s") from None
    except PolyreluError as e:
        msg = str(e)
        assert name in msg, f"{name}: the message does not name the file: {msg[:300]}"
        assert len(msg) < 2000 and "Traceback" not in msg, f"{name}: {msg[:300]}"
        return type(e).__name__
    except Exception as e:      # noqa: BLE001 - exactly what the fuzz looks for
        raise AssertionError(f"{name}: {type(e).__name__} instead of a PolyreluError: "
                             f"{str(e)[:300]}") from e
    # a valid network: exact evaluation works, and it is what it says it is
    assert isinstance(net, Network), name
    x = [F(1, 3)] * net.input_dim
    y = net(x)
    assert len(y) == net.output_dim and all(isinstance(v, F) for v in y), name
    assert net.architecture.count("-") == net.num_layers
    return "loaded"


def run_fuzz(name: str, count: int, tmp_path) -> dict:
    fmt = FORMATS[name]
    for mod in fmt.requires:
        pytest.importorskip(mod)
    seeds = fmt.seeds()
    for i, s in enumerate(seeds):          # the seeds themselves are valid
        p = tmp_path / f"seed{i}{fmt.ext}"
        p.write_bytes(s)
        assert check_outcome(str(p), fmt) == "loaded", p
    outcomes: dict = {}
    failures = []
    t0 = time.process_time()
    for i in range(count):
        ident = f"{name}-{i}"
        p = tmp_path / f"{ident}{fmt.ext}"
        p.write_bytes(mutant(fmt, seeds, ident))
        try:
            out = check_outcome(str(p), fmt)
        except AssertionError as e:
            failures.append(str(e).split("\n")[0][:400])   # kept on disk to inspect
            continue
        outcomes[out] = outcomes.get(out, 0) + 1
        p.unlink()
    assert not failures, f"{len(failures)} of {count} mutants:\n" + "\n".join(failures[:12])
    outcomes["cpu_seconds"] = round(time.process_time() - t0, 1)
    return outcomes


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_fuzz_model_files(name, tmp_path):
    outcomes = run_fuzz(name, QUICK, tmp_path)
    # the mutants are not all rejected by the same check, nor all accepted
    errors = sum(v for k, v in outcomes.items() if k not in ("loaded", "cpu_seconds"))
    assert errors > QUICK // 10, outcomes
    assert outcomes.get("loaded", 0) > 0 or name == "nnet", outcomes


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_fuzz_model_files_long(name, tmp_path):
    run_fuzz(name, SLOW, tmp_path)
