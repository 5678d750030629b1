"""Seeded mutants of torch model files: every mutant loads the exact same
network or raises a PolyreluError subclass -- never a traceback from zipfile
or torch, never a different network (issue 19 item 7).

Base files: TorchScript archives (scripted and traced ``nn.Sequential``, a
scripted ``PolyreluTorchNet`` with skips), a state dict (``.pth`` with
``arch``), torch.export programs (``.pt2``: an MLP with an input normalisation,
a small CNN read by TropEx).  Mutations: bit flips, byte overwrites,
truncations, insertions, deletions, zeroed and duplicated ranges, anywhere in
the file and, as often, in the zip directory at its end.  Every member of a
torch archive records a CRC-32, which the readers check before torch reads
the bytes; so a byte-level mutant either leaves every member's bytes as they
were (a flip in a header field nobody reads, in the padding of an extra
field: the same network) or is refused.

A second, weaker family rewrites a member *with a fresh CRC-32* (garbled
JSON of a ``.pt2`` program, garbled pickle of a state dict): such a file is a
valid archive with other contents, so it may legitimately load as another
network; it must still never end in a non-polyrelu exception.  (TorchScript
members are not garbled this way: their C++ reader is not ours to fuzz.)

Bounded in time: ``MUTANTS`` byte-level mutants per base file, stopping early
(with at least ``MIN_MUTANTS`` done) if ``TIME_LIMIT`` CPU seconds are exceeded.
The mutations are seeded, but the base files' bytes differ a little from run
to run (torch writes a random serialization id; TorchScript mangles class
names by what the process scripted before), so the mutants do too: the
property holds for every mutant, and a failure names the file, the mutation
and what was loaded.  (Runs of 4,900 and 10,500 further mutants with other
seeds found no misread after the checks of
:mod:`polyrelu.io.torch.archive`; two earlier finds are its directory-bit and
descriptor checks.)
"""

import io
import random
import time
import warnings
import zipfile
from collections import Counter

import numpy as np
import pytest

from polyrelu.exceptions import PolyreluError
from polyrelu.io import load
from polyrelu.network import random_network

torch = pytest.importorskip("torch")
nn = torch.nn

MUTANTS = 60            # byte-level mutants per base file
STRUCTURED = 10         # member rewrites (fresh CRC) per eligible base file
TIME_LIMIT = 150.0      # seconds for the whole fuzz (CPU time of this process)
MIN_MUTANTS = 150


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


class _Normalised(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.5, -0.25]))
        self.l1, self.l2 = nn.Linear(2, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.l2(torch.relu(self.l1((x - self.mean) * 4)))


def _cnn():
    torch.manual_seed(3)
    bn = nn.BatchNorm2d(2)
    m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), bn, nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8, 3))
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
    return m.eval()


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """name -> (file bytes, extension, load function, reference result)."""
    from polyrelu.io.torch import load_module
    from polyrelu.io.torch.writer import save_torchscript
    from polyrelu.tropex import model_outputs

    d = tmp_path_factory.mktemp("fuzz_torch")
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(),
                        nn.Linear(4, 2)).eval()
    x3 = torch.zeros(1, 3)
    X = np.random.default_rng(0).integers(-4, 5, size=(3, 1, 4, 4)) / 4.0
    skipnet = random_network([2, 3, 3, 2], seed=1, skips={3: [1]})
    norm, cnn = _Normalised().eval(), _cnn()
    files = {
        "script.pt": lambda p: torch.jit.save(torch.jit.script(seq), p),
        "trace.pt": lambda p: torch.jit.save(torch.jit.trace(seq, x3), p),
        "skips.pt": lambda p: save_torchscript(skipnet, p),
        "state.pth": lambda p: torch.save(seq.state_dict(), p),
        "mlp.pt2": lambda p: torch.export.save(
            torch.export.export(norm, (torch.zeros(1, 2),)), p),
        "cnn.pt2": lambda p: torch.export.save(
            torch.export.export(cnn, (torch.zeros(1, 1, 4, 4),)), p),
        "cnn.pt": lambda p: torch.jit.save(torch.jit.script(cnn), p),
    }
    from polyrelu.network import Network

    direct = {"script.pt": Network.from_torch(seq), "trace.pt": Network.from_torch(seq),
              "state.pth": Network.from_torch(seq), "skips.pt": skipnet,
              "mlp.pt2": Network.from_torch(norm), "cnn.pt2": model_outputs(cnn, X, "exact"),
              "cnn.pt": model_outputs(cnn, X, "exact")}
    out = {}
    for name, save in files.items():
        p = str(d / name)
        _quiet(lambda: save(p))
        data = open(p, "rb").read()
        if name.startswith("cnn"):
            def run(path):
                model, _ = load_module(path)
                return model_outputs(model, X, "exact")
        elif name == "state.pth":
            def run(path):
                return load(path, arch="3-4-4-2")
        else:
            def run(path):
                return load(path)
        out[name] = (data, run, run(p))
        # the base file reads as the model it was saved from (the skip network's
        # weights are dyadic: its float64 export is exact)
        assert out[name][2] == direct[name], name
    return out


def _mutate(data: bytes, rng: random.Random) -> tuple:
    """A mutant and a description of it; half of the positions fall in the
    last 2 KB (the zip central directory and its end record)."""
    n = len(data)

    def pos():
        if rng.random() < 0.5:
            return rng.randrange(max(0, n - 2048), n)
        return rng.randrange(n)

    kind = rng.choice(["flip", "flip", "flip", "byte", "truncate", "insert", "delete",
                       "zero", "duplicate"])
    b = bytearray(data)
    i = pos()
    if kind == "flip":
        bit = rng.randrange(8)
        b[i] ^= 1 << bit
        what = f"flip bit {bit} of byte {i}"
    elif kind == "byte":
        v = rng.randrange(256)
        b[i] = v
        what = f"byte {i} := {v}"
    elif kind == "truncate":
        del b[i:]
        what = f"truncate at {i}"
    elif kind == "insert":
        k = rng.randrange(1, 9)
        b[i:i] = bytes(rng.randrange(256) for _ in range(k))
        what = f"insert {k} bytes at {i}"
    elif kind == "delete":
        k = rng.randrange(1, 17)
        del b[i:i + k]
        what = f"delete {k} bytes at {i}"
    elif kind == "zero":
        k = rng.randrange(1, 33)
        b[i:i + k] = bytes(len(b[i:i + k]))
        what = f"zero {k} bytes at {i}"
    else:
        k = rng.randrange(1, 65)
        b[i:i] = data[i:i + k]
        what = f"duplicate {k} bytes at {i}"
    return bytes(b), what


def _rewrite_member(data: bytes, rng: random.Random) -> tuple | None:
    """The archive with one JSON / pickle member garbled and a fresh CRC-32."""
    z = zipfile.ZipFile(io.BytesIO(data))
    names = [i.filename for i in z.infolist()
             if i.filename.endswith((".json", "data.pkl")) and i.file_size > 0]
    if not names:
        return None
    name = rng.choice(names)
    body = bytearray(z.read(name))
    for _ in range(rng.randrange(1, 4)):
        j = rng.randrange(len(body))
        body[j] = rng.choice(b'{}[]",:0123456789-.eE x\x00\xff')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as w:
        for info in z.infolist():
            w.writestr(info.filename, bytes(body) if info.filename == name
                       else z.read(info.filename))
    return out.getvalue(), f"garble {name}"


def test_torch_file_mutants_load_the_same_network_or_fail_cleanly(bases, tmp_path):
    start = time.process_time()
    outcomes: Counter = Counter()
    bad = []
    done = 0
    for name, (data, run, ref) in sorted(bases.items()):
        ext = name[name.index("."):]
        for k in range(MUTANTS):
            if time.process_time() - start > TIME_LIMIT and done >= MIN_MUTANTS:
                break
            rng = random.Random(f"{name}-{k}")
            mutant, what = _mutate(data, rng)
            p = tmp_path / f"m{k}{ext}"
            p.write_bytes(mutant)
            done += 1
            try:
                res = _quiet(lambda: run(str(p)))
            except PolyreluError as e:
                outcomes[(name, type(e).__name__)] += 1
                continue
            except Exception as e:      # a traceback from deep inside
                bad.append(f"{name} #{k} ({what}): {type(e).__name__}: {e}"[:300])
                continue
            if res == ref:
                outcomes[(name, "same network")] += 1
            else:
                bad.append(f"{name} #{k} ({what}): loaded a DIFFERENT network")
    assert done >= MIN_MUTANTS
    assert not bad, "\n".join(bad)
    # the check is not vacuous: most mutants are refused, some load unchanged
    refused = sum(v for (n, o), v in outcomes.items() if o != "same network")
    assert refused > done // 2, outcomes
    print(f"\n{done} torch mutants: " + ", ".join(
        f"{n} {o}: {v}" for (n, o), v in sorted(outcomes.items())))


def test_torch_archives_with_garbled_members_fail_cleanly(bases, tmp_path):
    """Valid archives (fresh CRC-32s) with garbled JSON / pickle members:
    a network (possibly another: the file says so) or a PolyreluError."""
    bad = []
    n = 0
    for name, (data, run, _) in sorted(bases.items()):
        if name.endswith(".pt") and not name.startswith("state"):
            continue            # TorchScript members: a C++ reader, not ours to fuzz
        ext = name[name.index("."):]
        for k in range(STRUCTURED):
            rng = random.Random(f"garble-{name}-{k}")
            mutant = _rewrite_member(data, rng)
            if mutant is None:
                break
            p = tmp_path / f"g{k}{ext}"
            p.write_bytes(mutant[0])
            n += 1
            try:
                _quiet(lambda: run(str(p)))
            except PolyreluError:
                pass
            except Exception as e:
                bad.append(f"{name} #{k} ({mutant[1]}): {type(e).__name__}: {e}"[:300])
    assert n >= 20
    assert not bad, "\n".join(bad)
